//! Referral's use cases: route a decided case ([`router`]), let an OPD act on its referrals
//! and re-route what it declines or passes on (load -> decide -> append, one transaction
//! with the read model), let supervisors revoke referrals and place needs nothing routes,
//! fire SLA timers ([`timers`]), and follow an OPD's referrals as they change ([`feed`]).

pub mod codec;
pub mod feed;
pub mod router;
pub mod timers;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use slrt_errors::{ApiError, ErrorCode};
use slrt_eventstore::{AppendError, EventStore, ExpectedVersion, RecordedEvent};
use slrt_runtime::clock::Clock;
use sqlx::{PgConnection, PgPool};
use tracing::Instrument as _;
use uuid::Uuid;

use crate::domain::{
    self, DecidedNeed, OpdCode, Referral, ReferralCommand, ReferralError, ReferralEvent, ReferralUnrouted,
    RequestReferral, RoutedBy, RoutingContext, RoutingDecision, RoutingTable, Sla,
};
use crate::projections::{self, ReferralRecord};

/// The metadata key naming the calling agency on the OPD gRPC API.
/// Largest page any list answers.
pub const MAX_PAGE: i64 = 500;

/// The stream holding one referral's events.
pub fn referral_stream(referral_id: Uuid) -> String {
    format!("referral-{referral_id}")
}

/// The stream holding the notices that no agency holds a need.
pub fn unrouted_stream(case_id: Uuid, need_id: Uuid) -> String {
    format!("unrouted-{case_id}-{need_id}")
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
    pub sla: Arc<Sla>,
    /// The time deadlines are set and judged by.
    pub clock: Clock,
    /// Keyed NIK tokens, for the audit log's subjects.
    pub nik_tokens: slrt_identity::NikTokenizer,
}

/// Recording failed: the store refused the append, or the read model could not follow.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error(transparent)]
    Append(#[from] AppendError),
    #[error("referral database: {0}")]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Codec(#[from] codec::CodecError),
    #[error(transparent)]
    History(#[from] domain::HistoryError),
    /// The domain refused a follow-up the service decided on itself (a re-routing); a bug.
    #[error("{0}")]
    Refused(String),
}

impl From<RecordError> for ApiError {
    fn from(error: RecordError) -> Self {
        match error {
            RecordError::Append(AppendError::Conflict { .. }) => {
                ApiError::conflict("the referral changed while this request was decided; retry")
            }
            RecordError::Append(AppendError::Database(error)) | RecordError::Database(error) => {
                if is_unique_violation(&error) {
                    ApiError::conflict("another change to this need was recorded at the same time; retry")
                } else {
                    ApiError::unavailable(error)
                }
            }
            other => ApiError::internal(other),
        }
    }
}

fn is_unique_violation(error: &sqlx::Error) -> bool {
    error
        .as_database_error()
        .is_some_and(|db| db.code().as_deref() == Some("23505"))
}

/// A referral's stream, folded.
pub struct Loaded {
    pub referral: Option<Referral>,
    pub version: i64,
    /// The trace context stored with the latest event: the case's trace.
    pub traceparent: Option<String>,
}

impl Referrals {
    /// An agency code a person typed (a transfer's target, a placement): one the routing
    /// table lists.
    pub fn known_opd(&self, field: &'static str, text: &str) -> Result<OpdCode, ApiError> {
        let code = OpdCode::parse(text.trim()).map_err(|error| ApiError::invalid(field, error.to_string()))?;
        if self.routing.opd_name(&code).is_none() {
            let known: Vec<&str> = self.routing.opds().map(|(code, _)| code.as_str()).collect();
            return Err(ApiError::invalid(
                field,
                format!(
                    "{code} is not an agency of routing table {} (one of: {})",
                    self.routing.version(),
                    known.join(", ")
                ),
            ));
        }
        Ok(code)
    }

    /// Loads and folds a referral's stream.
    pub async fn load(&self, conn: &mut PgConnection, referral_id: Uuid) -> Result<Loaded, RecordError> {
        let history = self.store.load(&mut *conn, &referral_stream(referral_id)).await?;
        let version = history.last().map_or(0, |event| event.stream_version);
        let traceparent = history.last().and_then(|event| event.traceparent.clone());
        let events = history.iter().map(codec::decode).collect::<Result<Vec<_>, _>>()?;
        Ok(Loaded {
            referral: Referral::from_history(&events)?,
            version,
            traceparent,
        })
    }

    /// Appends `events` to `stream` and brings the read models along, in `conn`'s
    /// transaction. Every event is stamped with `now` from the service clock.
    pub async fn record(
        &self,
        conn: &mut PgConnection,
        stream: &str,
        expected: ExpectedVersion,
        events: &[ReferralEvent],
        cause: Option<Uuid>,
        now: DateTime<Utc>,
    ) -> Result<Vec<RecordedEvent>, RecordError> {
        let new_events = events
            .iter()
            .map(|event| {
                let new = codec::encode(event, now);
                match cause {
                    Some(cause) => new.caused_by(cause),
                    None => new,
                }
            })
            .collect();
        let recorded = self.store.append(&mut *conn, stream, expected, new_events).await?;
        for (event, stored) in events.iter().zip(&recorded) {
            projections::apply(&mut *conn, &self.sla, event, stored.event_id, stored.occurred_at).await?;
        }
        Ok(recorded)
    }

    /// Records that no agency holds a need (again, after a round of rejections).
    pub async fn record_unrouted(
        &self,
        conn: &mut PgConnection,
        unrouted: &ReferralUnrouted,
        cause: Option<Uuid>,
        now: DateTime<Utc>,
    ) -> Result<(), RecordError> {
        let stream = unrouted_stream(unrouted.need.case_id, unrouted.need.need_id);
        let mut event = codec::encode_unrouted(unrouted, now);
        if let Some(cause) = cause {
            event = event.caused_by(cause);
        }
        let recorded = self
            .store
            .append(&mut *conn, &stream, ExpectedVersion::Any, vec![event])
            .await?;
        for stored in &recorded {
            projections::record_unrouted(&mut *conn, stored.event_id, unrouted, stored.occurred_at).await?;
        }
        Ok(())
    }

    /// Opens a new referral from a request, carrying `links` along.
    async fn open(
        &self,
        conn: &mut PgConnection,
        request: &RequestReferral,
        links: &[domain::LinkedNeed],
        cause: Option<Uuid>,
        now: DateTime<Utc>,
    ) -> Result<(), RecordError> {
        let events = domain::open_with_links(request, links);
        let stream = referral_stream(request.details.referral_id);
        self.record(conn, &stream, ExpectedVersion::NoStream, &events, cause, now)
            .await?;
        tracing::info!(
            case.id = %request.details.case_id,
            need.id = %request.details.need_id,
            referral.id = %request.details.referral_id,
            opd = %request.details.opd_code,
            attempt = request.details.attempt,
            routed_by = request.routed_by.as_str(),
            "need referred"
        );
        Ok(())
    }

    /// A command on one referral, by its agency or by the SLRT. Returns the referral as it
    /// stands afterwards; a repeat of what is already recorded answers the same without
    /// recording anything. A rejection or a transfer re-routes the need in the same
    /// transaction, so the need is never without an owner.
    ///
    /// When the caller brought no trace context of its own, the events are recorded in the
    /// case's trace (the one stored with the referral), so the case's timeline stays one
    /// trace whoever acts on it.
    pub async fn act(&self, command: ReferralCommand, caller_traced: bool) -> Result<ReferralRecord, ApiError> {
        if let ReferralCommand::Transfer(transfer) = &command {
            // The target must exist before the domain weighs the rest.
            self.known_opd("to_opd_code", transfer.to_opd.as_str())?;
        }
        let referral_id = command.referral_id();
        // One retry on a concurrent write: deciding again on the newer state either records
        // the command or refuses it for a reason the caller can read.
        for attempt in 0..2 {
            let mut tx = self.pool.begin().await.map_err(ApiError::unavailable)?;
            let loaded = self.load(&mut tx, referral_id).await?;
            let decided = match domain::handle(loaded.referral.as_ref(), &command) {
                Ok(decided) => decided,
                Err(ReferralError::AlreadyInState { .. }) => {
                    // Idempotent repeat: the effect is recorded; answer as the first time.
                    return current(&mut tx, referral_id).await;
                }
                Err(error) => return Err(refusal(referral_id, error)),
            };
            let case_trace = tracing::info_span!("referral_action", referral.id = %referral_id);
            if !caller_traced {
                slrt_telemetry::set_parent_from_traceparent(&case_trace, loaded.traceparent.as_deref());
            }
            let now = self.clock.now();
            let outcome = async {
                let stream = referral_stream(referral_id);
                let recorded = self
                    .record(
                        &mut tx,
                        &stream,
                        ExpectedVersion::Exact(loaded.version),
                        &decided,
                        None,
                        now,
                    )
                    .await?;
                let cause = recorded.last().map(|event| event.event_id);
                if let Some(before) = &loaded.referral {
                    self.follow_up(&mut tx, before, &decided, cause, now).await?;
                }
                Ok::<_, RecordError>(())
            }
            .instrument(case_trace)
            .await;
            match outcome {
                Ok(()) => {}
                Err(RecordError::Append(AppendError::Conflict { .. })) if attempt == 0 => continue,
                Err(error) => return Err(error.into()),
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

    /// What must happen after a rejection or a transfer: the need goes to its next agency,
    /// or to the supervisors' list when no agency is left.
    async fn follow_up(
        &self,
        conn: &mut PgConnection,
        before: &Referral,
        decided: &[ReferralEvent],
        cause: Option<Uuid>,
        now: DateTime<Utc>,
    ) -> Result<(), RecordError> {
        let details = before.details();
        let need = DecidedNeed::of(details);
        for event in decided {
            let (routed_by, note, target) = match event {
                ReferralEvent::Rejected(e) => (
                    RoutedBy::ReroutedAfterRejection,
                    format!("{} declined it: {}", e.opd_code, e.reason),
                    None,
                ),
                ReferralEvent::Transferred(e) => (
                    RoutedBy::Transferred,
                    format!("{} passed it on: {}", e.opd_code, e.reason),
                    Some(e.to_opd_code.clone()),
                ),
                _ => continue,
            };
            let (held_by, last_attempt) = projections::need_history(&mut *conn, need.case_id, need.need_id).await?;
            let context = RoutingContext {
                referral_id: Uuid::now_v7(),
                now,
                last_attempt: u32::try_from(last_attempt).unwrap_or(0),
                previous_referral_id: Some(details.referral_id),
                need_referred_at: Some(details.sla.need_referred_at),
                tried: held_by.iter().filter_map(|code| OpdCode::parse(code).ok()).collect(),
                routed_by,
                note,
            };
            match target {
                Some(to) => {
                    let request =
                        domain::route_to(&self.routing, &self.sla, context, need.clone(), &to, &details.service)
                            .ok_or_else(|| RecordError::Refused(format!("{to} cannot take need {}", need.need_id)))?;
                    self.open(conn, &request, before.links(), cause, now).await?;
                }
                None => match domain::route_need(&self.routing, &self.sla, context, need.clone()) {
                    RoutingDecision::Routed(request) => self.open(conn, &request, before.links(), cause, now).await?,
                    RoutingDecision::Unrouted(mut unrouted) => {
                        unrouted.linked = before.links().to_vec();
                        self.record_unrouted(conn, &unrouted, cause, now).await?;
                        tracing::warn!(
                            case.id = %need.case_id,
                            need.id = %need.need_id,
                            reason = %unrouted.reason,
                            "need has no agency left"
                        );
                    }
                },
            }
        }
        Ok(())
    }

    /// A supervisor sends a need that no agency holds to `opd`.
    pub async fn place(
        &self,
        case_id: Uuid,
        need_id: Uuid,
        opd: OpdCode,
        actor: &str,
        reason: &str,
    ) -> Result<ReferralRecord, ApiError> {
        let actor = required("actor", actor)?;
        let reason = required("reason", reason)?;
        let mut tx = self.pool.begin().await.map_err(ApiError::unavailable)?;
        let history = self
            .store
            .load(&mut *tx, &unrouted_stream(case_id, need_id))
            .await
            .map_err(ApiError::unavailable)?;
        let waiting = projections::take_unrouted(&mut tx, case_id, need_id)
            .await
            .map_err(ApiError::unavailable)?;
        let (Some(last), true) = (history.last(), waiting) else {
            return Err(ApiError::not_found(format!(
                "need {need_id} of case {case_id} is not waiting for placement"
            )));
        };
        let unrouted = codec::decode_unrouted(last).map_err(ApiError::internal)?;
        let now = self.clock.now();
        let referral_id = Uuid::now_v7();
        let context = RoutingContext {
            referral_id,
            now,
            last_attempt: unrouted.last_attempt,
            previous_referral_id: None,
            need_referred_at: unrouted.need_referred_at,
            tried: unrouted.tried.clone(),
            routed_by: RoutedBy::PlacedBySupervisor,
            note: format!("placed by {actor}: {reason}"),
        };
        let fallback_service = format!("{} (placed by the SLRT)", unrouted.need.category);
        let request = domain::route_to(
            &self.routing,
            &self.sla,
            context,
            unrouted.need.clone(),
            &opd,
            &fallback_service,
        )
        .ok_or_else(|| {
            ApiError::rejected(format!(
                "need {need_id} has category {:?}, which no agency can be given",
                unrouted.need.category
            ))
        })?;
        self.open(&mut tx, &request, &unrouted.linked, Some(last.event_id), now)
            .await?;
        let record = current(&mut tx, referral_id).await?;
        tx.commit().await.map_err(ApiError::unavailable)?;
        Ok(record)
    }

    /// The calling OPD's referrals that still wait for it, oldest first.
    pub async fn list_open(
        &self,
        opd: &OpdCode,
        after: Option<Uuid>,
        limit: i64,
    ) -> Result<Vec<ReferralRecord>, ApiError> {
        projections::list_open(&self.pool, opd.as_str(), after, limit)
            .await
            .map_err(ApiError::unavailable)
    }
}

fn required(field: &'static str, text: &str) -> Result<String, ApiError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(ApiError::invalid(field, "is required"));
    }
    Ok(text.to_owned())
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

async fn current(conn: &mut PgConnection, referral_id: Uuid) -> Result<ReferralRecord, ApiError> {
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
        ReferralError::InvalidTransition { .. } | ReferralError::ClockStopped { .. } => {
            ApiError::rejected(error.to_string())
        }
        ReferralError::Conflict { .. } | ReferralError::AlreadyExists | ReferralError::AlreadyInState { .. } => {
            ApiError::conflict(error.to_string())
        }
        ReferralError::ActorRequired
        | ReferralError::ReasonRequired(_)
        | ReferralError::OutcomeCodeRequired
        | ReferralError::UnknownOutcomeCode(_)
        | ReferralError::OutcomeCodeOnSuccess
        | ReferralError::TransferToSelf(_) => match error.field() {
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
        let reason = refusal(id, ReferralError::ReasonRequired("reject"));
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
