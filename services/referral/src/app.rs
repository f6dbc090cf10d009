//! Referral's use cases: route a decided case ([`router`]), let an OPD act on its referrals
//! (load -> decide -> append, one transaction with the read model), and follow an OPD's
//! referrals as they change ([`feed`]).

pub mod codec;
pub mod feed;
pub mod router;

use std::sync::Arc;

use slrt_errors::{ApiError, ErrorCode};
use slrt_eventstore::{AppendError, EventStore, ExpectedVersion};
use sqlx::PgPool;
use uuid::Uuid;

use crate::domain::{self, OpdCode, Referral, ReferralCommand, ReferralError, RoutingTable};
use crate::projections::{self, ReferralRecord};

/// The metadata key naming the calling agency on the OPD gRPC API.
pub const OPD_METADATA: &str = "x-slrt-opd";

/// Largest page any list answers.
pub const MAX_PAGE: i64 = 500;

/// The stream holding one referral's events.
pub fn referral_stream(referral_id: Uuid) -> String {
    format!("referral-{referral_id}")
}

/// The referral a stream belongs to, if it is a referral's stream.
pub fn referral_of_stream(stream_id: &str) -> Option<Uuid> {
    stream_id
        .strip_prefix("referral-")
        .and_then(|id| Uuid::parse_str(id).ok())
}

/// Referral's use cases.
#[derive(Clone)]
pub struct Referrals {
    pub pool: PgPool,
    pub store: EventStore,
    pub routing: Arc<RoutingTable>,
}

impl Referrals {
    /// The calling agency, from the `x-slrt-opd` value it sent: one the routing table lists.
    pub fn authenticate(&self, opd: Option<&str>) -> Result<OpdCode, ApiError> {
        let unauthenticated =
            |message: String| ApiError::new(ErrorCode::Unauthenticated, message).with_field(OPD_METADATA);
        let Some(text) = opd.map(str::trim).filter(|text| !text.is_empty()) else {
            return Err(unauthenticated(
                "the calling agency is required: send its OPD code, e.g. DINSOS, in this metadata".to_string(),
            ));
        };
        let code = OpdCode::parse(text).map_err(|error| unauthenticated(error.to_string()))?;
        if self.routing.opd_name(&code).is_none() {
            return Err(unauthenticated(format!(
                "{code} is not an agency of routing table {}",
                self.routing.version()
            )));
        }
        Ok(code)
    }

    /// An OPD acts on one of its referrals. Returns the referral as it stands afterwards; a
    /// repeat of what is already recorded answers the same without recording anything.
    ///
    /// When the caller brought no trace context of its own, the events are recorded in the
    /// case's trace (the one stored with the referral), so the case's timeline stays one
    /// trace whoever acts on it.
    pub async fn act(&self, command: ReferralCommand, caller_traced: bool) -> Result<ReferralRecord, ApiError> {
        let referral_id = command.referral_id();
        let stream = referral_stream(referral_id);
        // One retry on a concurrent write: deciding again on the newer state either records
        // the command or refuses it for a reason the caller can read.
        for attempt in 0..2 {
            let mut tx = self.pool.begin().await.map_err(ApiError::unavailable)?;
            let history = self
                .store
                .load(&mut *tx, &stream)
                .await
                .map_err(ApiError::unavailable)?;
            let version = history.last().map_or(0, |event| event.stream_version);
            let events = history
                .iter()
                .map(codec::decode)
                .collect::<Result<Vec<_>, _>>()
                .map_err(ApiError::internal)?;
            let referral = Referral::from_history(&events).map_err(ApiError::internal)?;

            let decided = match domain::handle(referral.as_ref(), &command) {
                Ok(decided) => decided,
                Err(ReferralError::AlreadyInState { .. }) => {
                    // Idempotent repeat: the effect is recorded; answer as the first time.
                    return current(&mut tx, referral_id).await;
                }
                Err(error) => return Err(refusal(referral_id, error)),
            };
            let case_trace = tracing::info_span!("opd_action", referral.id = %referral_id);
            if !caller_traced {
                let stored = history.last().and_then(|event| event.traceparent.as_deref());
                slrt_telemetry::set_parent_from_traceparent(&case_trace, stored);
            }
            // Events take their trace context from the span they are created in.
            let new_events = case_trace.in_scope(|| decided.iter().map(codec::encode).collect());
            let recorded = match self
                .store
                .append(&mut tx, &stream, ExpectedVersion::Exact(version), new_events)
                .await
            {
                Ok(recorded) => recorded,
                Err(AppendError::Conflict { .. }) if attempt == 0 => continue,
                Err(AppendError::Conflict { .. }) => {
                    return Err(ApiError::conflict(
                        "the referral changed while this request was decided; retry",
                    ));
                }
                Err(AppendError::Database(error)) => return Err(ApiError::unavailable(error)),
                Err(error) => return Err(ApiError::internal(error)),
            };
            for (event, stored) in decided.iter().zip(&recorded) {
                projections::apply(&mut tx, event, stored.occurred_at)
                    .await
                    .map_err(ApiError::unavailable)?;
            }
            let record = current(&mut tx, referral_id).await?;
            tx.commit().await.map_err(ApiError::unavailable)?;
            for event in &decided {
                tracing::info!(
                    referral.id = %referral_id,
                    case.id = %event.case_id(),
                    opd = %record.opd_code,
                    event.r#type = event.event_type(),
                    "referral changed"
                );
            }
            return Ok(record);
        }
        Err(ApiError::conflict(
            "the referral changed while this request was decided; retry",
        ))
    }

    /// The calling OPD's referrals that still wait for it, oldest first.
    pub async fn list_open(&self, opd: &OpdCode, limit: i64) -> Result<Vec<ReferralRecord>, ApiError> {
        projections::list_open(&self.pool, opd.as_str(), limit)
            .await
            .map_err(ApiError::unavailable)
    }
}

/// A page size as a client sent it: `0` (or none) means 100.
pub fn page_size(field: &str, limit: Option<i64>) -> Result<i64, ApiError> {
    match limit.unwrap_or(0) {
        0 => Ok(100),
        limit @ 1..=MAX_PAGE => Ok(limit),
        other => Err(ApiError::invalid(
            field,
            format!("must be between 1 and {MAX_PAGE}, found {other}"),
        )),
    }
}

async fn current(conn: &mut sqlx::PgConnection, referral_id: Uuid) -> Result<ReferralRecord, ApiError> {
    projections::find(&mut *conn, referral_id)
        .await
        .map_err(ApiError::unavailable)?
        .ok_or_else(|| ApiError::internal(format!("referral {referral_id} has events but no read-model row")))
}

/// The domain's "no", in the shared code table.
fn refusal(referral_id: Uuid, error: ReferralError) -> ApiError {
    match error {
        // The same words whether the referral does not exist or belongs to another agency.
        ReferralError::NotFound => ApiError::not_found(format!("referral {referral_id} not found")),
        ReferralError::InvalidTransition { .. } => ApiError::rejected(error.to_string()),
        ReferralError::Conflict { .. } | ReferralError::AlreadyExists | ReferralError::AlreadyInState { .. } => {
            ApiError::conflict(error.to_string())
        }
        ReferralError::ActorRequired
        | ReferralError::ReasonRequired
        | ReferralError::OutcomeCodeRequired
        | ReferralError::UnknownOutcomeCode(_)
        | ReferralError::OutcomeCodeOnSuccess => match error.field() {
            Some(field) => ApiError::invalid(field, error.to_string()),
            None => ApiError::new(ErrorCode::InvalidInput, error.to_string()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_referral_stream_names_its_referral_and_nothing_else_does() {
        let id = Uuid::now_v7();
        assert_eq!(referral_of_stream(&referral_stream(id)), Some(id));
        assert_eq!(referral_of_stream(&format!("unrouted-{id}-{id}")), None);
        assert_eq!(referral_of_stream("referral-not-a-uuid"), None);
    }

    #[test]
    fn page_sizes_default_to_100_and_stay_within_500() {
        assert_eq!(page_size("limit", None).ok(), Some(100));
        assert_eq!(page_size("limit", Some(0)).ok(), Some(100));
        assert_eq!(page_size("limit", Some(500)).ok(), Some(500));
        let error = page_size("limit", Some(501)).err();
        assert_eq!(
            error.map(|e| (e.field, e.message)),
            Some((Some("limit".into()), "must be between 1 and 500, found 501".into()))
        );
        assert!(page_size("limit", Some(-1)).is_err());
    }

    #[test]
    fn refusals_name_the_field_or_keep_the_domain_sentence() {
        let id = Uuid::nil();
        let reason = refusal(id, ReferralError::ReasonRequired);
        assert_eq!(
            (reason.code, reason.field.as_deref()),
            (ErrorCode::InvalidInput, Some("reason"))
        );
        let transition = refusal(
            id,
            ReferralError::InvalidTransition {
                status: domain::ReferralStatus::Requested,
                action: domain::ReferralAction::Complete,
            },
        );
        assert_eq!(transition.code, ErrorCode::Rejected);
        assert_eq!(
            transition.message,
            "referral is requested but not yet accepted; it cannot be completed"
        );
        assert_eq!(
            refusal(id, ReferralError::NotFound).message,
            format!("referral {id} not found")
        );
    }
}
