//! The case tracker's consumer: every service's events, applied to the tracker read model.

use slrt_eventstore::envelope::ReceivedEnvelope;
use slrt_messaging::{EventHandler, HandlerError};
use sqlx::PgConnection;

use crate::projections::{self, ProjectionError, TrackedEvent};

pub struct TrackerHandler;

impl EventHandler for TrackerHandler {
    fn wants(&self, event_type: &str) -> bool {
        projections::follows(event_type)
    }

    async fn handle(&self, conn: &mut PgConnection, event: &ReceivedEnvelope) -> Result<(), HandlerError> {
        let traceparent = slrt_telemetry::current_traceparent();
        let tracked = TrackedEvent {
            event_id: event.event_id,
            event_type: &event.event_type,
            case_id: event.case_id,
            occurred_at: event.occurred_at,
            service: &event.source_service,
            payload: &event.payload,
            traceparent: traceparent.as_deref(),
        };
        projections::apply(conn, &tracked).await.map_err(|error| match error {
            ProjectionError::Database(error) => HandlerError::from(error),
            other => HandlerError::Permanent(other.to_string()),
        })
    }
}
