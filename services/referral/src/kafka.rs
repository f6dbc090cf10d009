//! The router: eligibility's decisions, turned into referrals (or unrouted notices), once
//! per need however often a decision is delivered.

use slrt_eventstore::envelope::ReceivedEnvelope;
use slrt_messaging::{EventHandler, HandlerError};
use slrt_proto::eligibility::v1::CaseDecided;
use sqlx::PgConnection;

use crate::app::router::RouteError;
use crate::app::{RecordError, Referrals};

pub struct RouterHandler {
    pub referrals: Referrals,
}

impl EventHandler for RouterHandler {
    fn wants(&self, event_type: &str) -> bool {
        event_type == <CaseDecided as prost::Name>::full_name()
    }

    async fn handle(&self, conn: &mut PgConnection, event: &ReceivedEnvelope) -> Result<(), HandlerError> {
        // Eligibility's other events (enrolments and the like) are not referral's concern.
        if !event.is::<CaseDecided>() {
            return Ok(());
        }
        let decided: CaseDecided = event.decode()?;
        self.referrals
            .route_case(conn, event.event_id, event.case_id, &decided)
            .await
            .map(|_| ())
            .map_err(|error| match error {
                RouteError::Database(error) | RouteError::Record(RecordError::Database(error)) => {
                    HandlerError::from(error)
                }
                // A conflict or a duplicate means a concurrent delivery (or an agency acting on
                // the referral a need is linked to) got there first; the retry finds its work
                // in the read model and skips it, or decides again on the newer state.
                RouteError::Record(RecordError::Append(error)) => HandlerError::from(error),
                RouteError::Record(other) => HandlerError::Permanent(other.to_string()),
                invalid @ RouteError::Invalid { .. } => HandlerError::Permanent(invalid.to_string()),
            })
    }
}
