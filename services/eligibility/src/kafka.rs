//! The decider: intake's `CaseOpened` events, each decided once.
//!
//! Two guards make a redelivery harmless: the inbox skips an event id seen before, and the
//! decision stream (`decision-{case_id}`) exists once a case is decided, so the same case
//! announced again under another event id is not decided twice.

use slrt_eventstore::envelope::ReceivedEnvelope;
use slrt_messaging::{EventHandler, HandlerError};
use slrt_proto::intake::v1::CaseOpened;
use sqlx::PgConnection;

use crate::app::Eligibility;
use crate::app::decider::{DecideError, Decided, decide_case_opened};
use crate::app::verification::open_for_complaint;

pub struct Decider {
    pub eligibility: Eligibility,
}

impl EventHandler for Decider {
    fn wants(&self, event_type: &str) -> bool {
        event_type == <CaseOpened as prost::Name>::full_name()
    }

    async fn handle(&self, conn: &mut PgConnection, event: &ReceivedEnvelope) -> Result<(), HandlerError> {
        if !event.is::<CaseOpened>() {
            return Ok(());
        }
        let opened: CaseOpened = event.decode()?;
        let eligibility = &self.eligibility;
        // A complaint asks for no programme, so it is not decided; an inclusion-error report
        // opens a verification task instead. The one exception is an exclusion-error grievance
        // ("I am eligible and receive nothing") that lists needs: the complainant asks to be
        // assessed, and those needs are decided as an application's would be, or the case
        // could never be resolved.
        if opened.kind == "complaint" {
            let task = open_for_complaint(
                conn,
                &eligibility.store,
                eligibility.exclusions.verification_days(),
                event,
                &opened,
            )
            .await?;
            let asks_to_be_assessed = opened
                .complaint
                .as_ref()
                .is_some_and(|complaint| complaint.grievance_type == "exclusion_error")
                && !opened.needs.is_empty();
            if !asks_to_be_assessed {
                tracing::info!(case.id = %opened.case_id, outcome = ?task, "complaint case: not decided");
                return Ok(());
            }
        }
        let decided = decide_case_opened(conn, &eligibility.store, &eligibility.catalogues, event, &opened)
            .await
            .map_err(|error| match error {
                DecideError::Contract { .. } => HandlerError::Permanent(error.to_string()),
                DecideError::Database(error) => HandlerError::from(error),
                DecideError::Append(error) => HandlerError::from(error),
            })?;
        match decided {
            Decided::Recorded {
                approved,
                rejected,
                enrolments,
            } => {
                tracing::info!(case.id = %opened.case_id, approved, rejected, enrolments, "case decided");
            }
            Decided::AlreadyDecided => {
                tracing::info!(case.id = %opened.case_id, "case already decided; the delivery changes nothing");
            }
            Decided::NoNeeds => tracing::info!(case.id = %opened.case_id, "case lists no needs; nothing to decide"),
        }
        Ok(())
    }
}
