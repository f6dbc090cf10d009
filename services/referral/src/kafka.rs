//! The router: eligibility's decisions, turned into referrals (or unrouted notices), once
//! per need however often a decision is delivered.

use slrt_eventstore::envelope::ReceivedEnvelope;
use slrt_messaging::{EventHandler, HandlerError};
use slrt_proto::eligibility::v1::CaseDecided;
use sqlx::PgConnection;

use crate::app::Referrals;
use crate::app::router::{self, RouteError};

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
        let referrals = &self.referrals;
        router::route_case(
            conn,
            &referrals.store,
            &referrals.routing,
            event.event_id,
            event.case_id,
            &decided,
        )
        .await
        .map(|_| ())
        .map_err(|error| match error {
            RouteError::Database(error) => HandlerError::from(error),
            // A conflict or a duplicate means a concurrent delivery got there first; the
            // retry finds its work in the read model and skips it.
            RouteError::Append(error) => HandlerError::from(error),
            invalid @ RouteError::Invalid { .. } => HandlerError::Permanent(invalid.to_string()),
        })
    }
}
