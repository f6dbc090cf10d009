//! Rebuilding the case tracker from the events it was built from.
//!
//! Where the events come from: intake's own events are in its event store (`es_events`);
//! the other services' events reached the tracker only through Kafka, and the consumer's
//! inbox keeps their ids, not their content. Reading the topics again from offset 0 is not
//! a rebuild one can rely on: a production cluster deletes old segments after its retention
//! period, and the topics are not compacted. So the tracker keeps, in the transaction that
//! applies an event, a row in `tracker_applied`: the event's payload when another service
//! owns it, only its id when intake does. Replaying that table in its order gives back the
//! read model the live path built, event for event, in the order it built it.
//!
//! Intake's own events recorded before the tracker kept that table are replayed from the
//! event store first (they are older than anything in it). Other services' events consumed
//! before it existed cannot be recovered from this database.
//!
//! The people, household and duplicate read models (`app::people`) are built from intake's
//! own events only; they are emptied and rebuilt from the event store by that module's
//! `clear` and `rebuild`, in the same transaction.
//!
//! The rebuild runs in one transaction. It takes the tracker's tables in EXCLUSIVE mode:
//! readers keep seeing the old model until the commit, and writers (the consumer, the desk)
//! wait for the new one instead of writing into the old.

use slrt_eventstore::{Cursor, RecordedEvent};
use sqlx::{PgConnection, PgPool, Row};

use super::people;
use crate::projections::{self, TrackedEvent};

/// What a rebuild replayed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct RebuildReport {
    /// Intake's own events replayed from the event store.
    pub own_events: u64,
    /// Events of the other services replayed from the tracker's record of them.
    pub other_events: u64,
    /// Cases in the rebuilt tracker.
    pub cases: i64,
    /// Intake's events offered to the people and household read models.
    pub people_events: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum RebuildError {
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("event {event_id} cannot be replayed: {source}")]
    Event {
        event_id: uuid::Uuid,
        source: projections::ProjectionError,
    },
    #[error("event {0} is recorded as applied but its payload is neither kept nor in the event store")]
    Missing(uuid::Uuid),
    #[error("people read model: {0}")]
    People(#[from] people::PeopleProjectionError),
}

const BATCH: i64 = 2000;

/// Empties the tracker's read model and replays every event it was built from.
pub async fn rebuild_projections(pool: &PgPool) -> Result<RebuildReport, RebuildError> {
    let mut tx = pool.begin().await?;
    sqlx::query("LOCK TABLE tracked_cases, tracked_needs, case_timeline, tracker_applied IN EXCLUSIVE MODE")
        .execute(&mut *tx)
        .await?;
    // DELETE, not TRUNCATE: TRUNCATE would lock readers out for the whole rebuild.
    for table in ["case_timeline", "tracked_needs", "tracked_cases"] {
        sqlx::query(sqlx::AssertSqlSafe(format!("DELETE FROM {table}")))
            .execute(&mut *tx)
            .await?;
    }
    let mut report = RebuildReport {
        own_events: replay_unrecorded_own_events(&mut tx).await?,
        ..RebuildReport::default()
    };
    let (own, other) = replay_recorded(&mut tx).await?;
    report.own_events += own;
    report.other_events = other;
    people::clear(&mut tx).await?;
    report.people_events = replay_people(&mut tx).await?;
    report.cases = sqlx::query_scalar("SELECT count(*) FROM tracked_cases")
        .fetch_one(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(report)
}

/// Intake's own followed events that the tracker has no record of: those applied before it
/// kept one.
async fn replay_unrecorded_own_events(conn: &mut PgConnection) -> Result<u64, RebuildError> {
    let followed: Vec<&str> = projections::TRACKED_EVENT_TYPES
        .iter()
        .copied()
        .filter(|event_type| event_type.starts_with("slrt.intake."))
        .collect();
    let mut after = 0_i64;
    let mut replayed = 0;
    loop {
        let rows = sqlx::query(
            "SELECT e.global_position, e.event_id, e.event_type, e.case_id, e.occurred_at, e.traceparent, e.payload
             FROM es_events e
             WHERE e.global_position > $1 AND e.event_type = ANY($2) AND e.case_id IS NOT NULL
               AND NOT EXISTS (SELECT 1 FROM tracker_applied t WHERE t.event_id = e.event_id)
             ORDER BY e.global_position LIMIT $3",
        )
        .bind(after)
        .bind(&followed)
        .bind(BATCH)
        .fetch_all(&mut *conn)
        .await?;
        let Some(last) = rows.last() else { break };
        after = last.try_get("global_position")?;
        for row in &rows {
            replay_row(conn, row, "intake").await?;
            replayed += 1;
        }
    }
    Ok(replayed)
}

/// Everything the tracker recorded as applied, in the order it applied it; intake's own
/// events take their payload from the event store.
async fn replay_recorded(conn: &mut PgConnection) -> Result<(u64, u64), RebuildError> {
    let mut after = 0_i64;
    let (mut own, mut other) = (0, 0);
    loop {
        let rows = sqlx::query(
            "SELECT t.seq, t.event_id, t.event_type, t.service, t.case_id, t.occurred_at, t.traceparent,
                    COALESCE(t.payload, e.payload) AS payload, t.payload IS NULL AS own
             FROM tracker_applied t LEFT JOIN es_events e ON e.event_id = t.event_id
             WHERE t.seq > $1 ORDER BY t.seq LIMIT $2",
        )
        .bind(after)
        .bind(BATCH)
        .fetch_all(&mut *conn)
        .await?;
        let Some(last) = rows.last() else { break };
        after = last.try_get("seq")?;
        for row in &rows {
            let service: String = row.try_get("service")?;
            replay_row(conn, row, &service).await?;
            if row.try_get::<bool, _>("own")? {
                own += 1;
            } else {
                other += 1;
            }
        }
    }
    Ok((own, other))
}

/// Every event of intake's store, in commit order, through the people read models. Read
/// directly rather than with `read_all`, which stops short of events committed after a
/// transaction still in flight (such as a writer waiting for this rebuild): within this
/// transaction's snapshot every committed event is final.
async fn replay_people(conn: &mut PgConnection) -> Result<u64, RebuildError> {
    let mut after = Cursor::START;
    let mut replayed = 0;
    loop {
        let rows = sqlx::query(
            "SELECT global_position, event_id, stream_id, stream_version, event_type, payload, case_id,
                    causation_id, traceparent, occurred_at, transaction_id::text::bigint AS transaction_id
             FROM es_events
             WHERE (transaction_id, global_position) > ($1::text::xid8, $2) AND event_type = ANY($3)
             ORDER BY transaction_id, global_position LIMIT $4",
        )
        .bind(after.transaction_id.to_string())
        .bind(after.global_position)
        .bind(people::PEOPLE_EVENT_TYPES.as_slice())
        .bind(BATCH)
        .fetch_all(&mut *conn)
        .await?;
        if rows.is_empty() {
            break;
        }
        let mut events = Vec::with_capacity(rows.len());
        for row in &rows {
            let global_position = row.try_get("global_position")?;
            events.push(RecordedEvent {
                global_position,
                event_id: row.try_get("event_id")?,
                stream_id: row.try_get("stream_id")?,
                stream_version: row.try_get("stream_version")?,
                event_type: row.try_get("event_type")?,
                payload: row.try_get("payload")?,
                case_id: row.try_get("case_id")?,
                causation_id: row.try_get("causation_id")?,
                traceparent: row.try_get("traceparent")?,
                occurred_at: row.try_get("occurred_at")?,
                cursor: Cursor {
                    transaction_id: row.try_get("transaction_id")?,
                    global_position,
                },
            });
        }
        if let Some(last) = events.last() {
            after = last.cursor;
        }
        replayed += events.len() as u64;
        people::rebuild(conn, &events).await?;
    }
    Ok(replayed)
}

async fn replay_row(conn: &mut PgConnection, row: &sqlx::postgres::PgRow, service: &str) -> Result<(), RebuildError> {
    let event_id: uuid::Uuid = row.try_get("event_id")?;
    let event_type: String = row.try_get("event_type")?;
    let payload: Option<Vec<u8>> = row.try_get("payload")?;
    let payload = payload.ok_or(RebuildError::Missing(event_id))?;
    let traceparent: Option<String> = row.try_get("traceparent")?;
    let event = TrackedEvent {
        event_id,
        event_type: &event_type,
        case_id: row.try_get("case_id")?,
        occurred_at: row.try_get("occurred_at")?,
        service,
        payload: &payload,
        traceparent: traceparent.as_deref(),
    };
    projections::project(conn, &event)
        .await
        .map_err(|source| RebuildError::Event { event_id, source })?;
    Ok(())
}
