//! One OPD's referrals as they change: every event of its referrals after a cursor, in commit
//! order, then live.
//!
//! The feed polls the service's own event store with [`slrt_eventstore::read_all`], which
//! never returns an event while an older one may still commit; so a cursor handed to a
//! client is safe to resume from, and nothing that commits late is stepped over. Kafka is
//! not involved: the OPD sees a change as soon as its transaction commits, even while the
//! broker is down.

use std::collections::HashMap;
use std::time::Duration;

use slrt_errors::ApiError;
use slrt_eventstore::{Cursor, RecordedEvent};
use sqlx::PgPool;
use tokio::sync::{mpsc, watch};
use uuid::Uuid;

use super::{RecordError, Referrals, codec, referral_of_stream};
use crate::domain::{OpdCode, Referral, ReferralEvent, ReferralStatus};
use crate::projections::{self, ReferralRecord};

/// How often an idle feed looks for new events: an OPD sees a change within this long.
pub const POLL_INTERVAL: Duration = Duration::from_millis(200);

/// Events read per query; a full batch is followed at once by the next.
const BATCH: i64 = 500;

// Updates a slow client has not taken yet; beyond this the feed waits for it.
const BUFFER: usize = 64;

/// One change to one of the OPD's referrals.
#[derive(Debug, Clone)]
pub struct FeedUpdate {
    /// Pass back to resume after this update.
    pub cursor: Cursor,
    pub event_type: String,
    /// The referral as of this event: its details, and the status the event gave it.
    pub referral: ReferralRecord,
    /// The trace context stored with the event.
    pub traceparent: Option<String>,
}

impl Referrals {
    /// Follows `opd`'s referrals from `after` until the receiver is dropped (the client went
    /// away) or `stopped` turns true (the service shuts down). A failure ends the feed with
    /// one error; the client resumes from the last cursor it received.
    pub fn watch(
        &self,
        opd: OpdCode,
        after: Cursor,
        stopped: watch::Receiver<bool>,
    ) -> mpsc::Receiver<Result<FeedUpdate, ApiError>> {
        let (sender, receiver) = mpsc::channel(BUFFER);
        let referrals = self.clone();
        tokio::spawn(async move {
            tokio::select! {
                _ = slrt_runtime::shutdown::stopped(stopped) => {}
                _ = sender.closed() => {}
                _ = follow(&referrals, &opd, after, &sender) => {}
            }
        });
        receiver
    }
}

async fn follow(
    referrals: &Referrals,
    opd: &OpdCode,
    mut cursor: Cursor,
    sender: &mpsc::Sender<Result<FeedUpdate, ApiError>>,
) {
    let pool = &referrals.pool;
    loop {
        let batch = match slrt_eventstore::read_all(pool, cursor, BATCH).await {
            Ok(batch) => batch,
            Err(error) => {
                let _ = sender.send(Err(ApiError::unavailable(error))).await;
                return;
            }
        };
        let full = batch.len() as i64 == BATCH;
        let owned = match owned_referrals(pool, opd, &batch).await {
            Ok(owned) => owned,
            Err(error) => {
                let _ = sender.send(Err(ApiError::unavailable(error))).await;
                return;
            }
        };
        for event in batch {
            cursor = event.cursor;
            let Some(record) = referral_of_stream(&event.stream_id).and_then(|id| owned.get(&id)) else {
                // Another agency's referral, or not a referral at all (an unrouted notice).
                continue;
            };
            let update = match as_of(referrals, record, &event).await {
                Ok(referral) => FeedUpdate {
                    cursor: event.cursor,
                    event_type: event.event_type,
                    referral,
                    traceparent: event.traceparent,
                },
                Err(error) => {
                    let _ = sender.send(Err(ApiError::internal(error))).await;
                    return;
                }
            };
            if sender.send(Ok(update)).await.is_err() {
                return;
            }
        }
        if !full {
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }
}

/// The batch's referrals that belong to `opd`. Every referral event in the batch has its
/// read-model row: the row commits with the referral's first event.
async fn owned_referrals(
    pool: &PgPool,
    opd: &OpdCode,
    batch: &[RecordedEvent],
) -> Result<HashMap<Uuid, ReferralRecord>, sqlx::Error> {
    let mut ids: Vec<Uuid> = batch
        .iter()
        .filter_map(|event| referral_of_stream(&event.stream_id))
        .collect();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    ids.sort_unstable();
    ids.dedup();
    let records = projections::owned_by(pool, opd.as_str(), &ids).await?;
    Ok(records.into_iter().map(|record| (record.referral_id, record)).collect())
}

// The read model holds the referral as it is now; an update replayed from an old cursor
// describes the referral as that event left it. The details never change after the
// request, and most events set exactly one status, so the two together are exact. The
// events that leave the status alone (escalations, links) take it from the stream as it
// stood at that event.
async fn as_of(
    referrals: &Referrals,
    record: &ReferralRecord,
    event: &RecordedEvent,
) -> Result<ReferralRecord, RecordError> {
    let status = match codec::decode(event)? {
        ReferralEvent::Requested(_) => ReferralStatus::Requested,
        ReferralEvent::Acknowledged(_) => ReferralStatus::Acknowledged,
        ReferralEvent::Accepted(_) => ReferralStatus::Accepted,
        ReferralEvent::InProgress(_) => ReferralStatus::InProgress,
        ReferralEvent::Rejected(_) => ReferralStatus::Rejected,
        ReferralEvent::Completed(_) => ReferralStatus::Completed,
        ReferralEvent::Transferred(_) => ReferralStatus::Transferred,
        ReferralEvent::Revoked(_) => ReferralStatus::Revoked,
        ReferralEvent::Escalated(_) | ReferralEvent::Linked(_) | ReferralEvent::LinkedNeedClosed(_) => {
            let history = referrals.store.load(&referrals.pool, &event.stream_id).await?;
            let events = history
                .iter()
                .take_while(|stored| stored.stream_version <= event.stream_version)
                .map(codec::decode)
                .collect::<Result<Vec<_>, _>>()?;
            Referral::from_history(&events)?.map_or(ReferralStatus::Requested, |referral| referral.status())
        }
    };
    let mut referral = record.clone();
    referral.status = status.as_str().to_string();
    referral.updated_at = event.occurred_at;
    Ok(referral)
}
