//! The event store every service keeps in its own PostgreSQL database.
//!
//! - [`EventStore::append`] adds events to a stream at an expected version (optimistic
//!   concurrency: a writer that lost the race gets [`AppendError::Conflict`] and may retry),
//!   and enqueues each event in the transactional outbox in the same transaction.
//! - [`EventStore::load`] reads one stream in version order.
//! - [`read_all`] walks every event of the store in commit order, safely: it never returns
//!   an event while an older, lower-positioned one may still commit.
//! - [`inbox::record_processed`] is the consumer side's deduplication.
//!
//! Everything runs inside a caller's transaction (`&mut PgConnection`), so a use case commits
//! its events, its outbox rows, its inbox row and its read-model updates atomically.

pub mod envelope;
pub mod inbox;

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgExecutor, PgPool, Row};
use uuid::Uuid;

pub use envelope::{DecodeError, decode_envelope, encode_envelope};

/// Runs this crate's migrations (the `es_*` tables). Services run their own migrations
/// beside these; both migrators ignore versions they do not own.
pub async fn migrate(pool: &PgPool) -> Result<(), sqlx::migrate::MigrateError> {
    let mut migrator = sqlx::migrate!("./migrations");
    migrator.set_ignore_missing(true);
    migrator.run(pool).await
}

/// An event about to be appended.
#[derive(Debug, Clone)]
pub struct NewEvent {
    pub event_id: Uuid,
    pub event_type: String,
    pub payload: Vec<u8>,
    pub case_id: Option<Uuid>,
    pub causation_id: Option<Uuid>,
    pub occurred_at: DateTime<Utc>,
    /// Defaults to the current span's trace context.
    pub traceparent: Option<String>,
}

impl NewEvent {
    /// A new event carrying `payload`, stamped with a UUIDv7, the current time and the
    /// current trace context.
    pub fn new<P: prost::Name>(payload: &P) -> Self {
        Self {
            event_id: Uuid::now_v7(),
            event_type: P::full_name(),
            payload: payload.encode_to_vec(),
            case_id: None,
            causation_id: None,
            occurred_at: Utc::now(),
            traceparent: slrt_telemetry::current_traceparent(),
        }
    }

    pub fn for_case(mut self, case_id: Uuid) -> Self {
        self.case_id = Some(case_id);
        self
    }

    pub fn caused_by(mut self, event_id: Uuid) -> Self {
        self.causation_id = Some(event_id);
        self
    }

    /// Stamps the event with the service's clock instead of the system's, so that a service
    /// run on a controlled clock (SLA tests, training environments) records consistent times.
    pub fn at(mut self, occurred_at: DateTime<Utc>) -> Self {
        self.occurred_at = occurred_at;
        self
    }
}

/// An event as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedEvent {
    pub global_position: i64,
    pub event_id: Uuid,
    pub stream_id: String,
    pub stream_version: i64,
    pub event_type: String,
    pub payload: Vec<u8>,
    pub case_id: Option<Uuid>,
    pub causation_id: Option<Uuid>,
    pub traceparent: Option<String>,
    pub occurred_at: DateTime<Utc>,
    /// Where this event stands in commit order; pass it back to [`read_all`] to continue.
    pub cursor: Cursor,
}

impl RecordedEvent {
    /// Decodes the payload as `P`, checking the event type first.
    pub fn decode<P: prost::Name + Default>(&self) -> Result<P, DecodeError> {
        if self.event_type != P::full_name() {
            return Err(DecodeError::WrongType {
                expected: P::full_name(),
                found: self.event_type.clone(),
            });
        }
        P::decode(self.payload.as_slice()).map_err(DecodeError::Payload)
    }
}

/// A point in a store's commit order: the writing transaction, then the position.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Cursor {
    pub transaction_id: i64,
    pub global_position: i64,
}

impl Cursor {
    /// The start of the store.
    pub const START: Cursor = Cursor {
        transaction_id: 0,
        global_position: 0,
    };
}

impl std::fmt::Display for Cursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.transaction_id, self.global_position)
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("cursor {0:?} is not of the form <transaction>.<position>")]
pub struct CursorParseError(pub String);

impl std::str::FromStr for Cursor {
    type Err = CursorParseError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = || CursorParseError(text.to_string());
        let (transaction, position) = text.split_once('.').ok_or_else(bad)?;
        let transaction_id: i64 = transaction.parse().map_err(|_| bad())?;
        let global_position: i64 = position.parse().map_err(|_| bad())?;
        if transaction_id < 0 || global_position < 0 {
            return Err(bad());
        }
        Ok(Cursor {
            transaction_id,
            global_position,
        })
    }
}

/// What the writer believes the stream's version to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpectedVersion {
    /// The stream must not exist yet.
    NoStream,
    /// The stream's last event has exactly this version.
    Exact(i64),
    /// Append whatever the version (for streams with a single writer by construction).
    Any,
}

#[derive(Debug, thiserror::Error)]
pub enum AppendError {
    /// Another writer appended first; reload the stream and decide again.
    #[error("stream {stream_id} is at version {actual}, expected {expected:?}")]
    Conflict {
        stream_id: String,
        expected: ExpectedVersion,
        actual: i64,
    },
    /// An event with this id is already stored (a replayed command).
    #[error("event {0} is already stored")]
    DuplicateEvent(Uuid),
    #[error("nothing to append")]
    Empty,
    #[error("event store: {0}")]
    Database(#[from] sqlx::Error),
}

/// One service's event store: which service owns it and which topic its outbox feeds.
#[derive(Debug, Clone)]
pub struct EventStore {
    service: &'static str,
    topic: String,
}

// The columns every read returns, as a literal so the queries stay static SQL.
macro_rules! event_columns {
    () => {
        "global_position, event_id, stream_id, stream_version, event_type, payload, \
         case_id, causation_id, traceparent, occurred_at, transaction_id::text::bigint AS transaction_id"
    };
}

impl EventStore {
    /// `service` names the owner in every envelope; `topic` is where the relay publishes.
    pub fn new(service: &'static str, topic: impl Into<String>) -> Self {
        Self {
            service,
            topic: topic.into(),
        }
    }

    pub fn service(&self) -> &'static str {
        self.service
    }

    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// Appends `events` to `stream_id` and enqueues them for publication, inside the
    /// caller's transaction. Nothing is visible to anyone until that transaction commits.
    pub async fn append(
        &self,
        conn: &mut PgConnection,
        stream_id: &str,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
    ) -> Result<Vec<RecordedEvent>, AppendError> {
        if events.is_empty() {
            return Err(AppendError::Empty);
        }
        let actual = stream_version(&mut *conn, stream_id).await?;
        let matches = match expected {
            ExpectedVersion::NoStream => actual == 0,
            ExpectedVersion::Exact(version) => actual == version,
            ExpectedVersion::Any => true,
        };
        if !matches {
            return Err(AppendError::Conflict {
                stream_id: stream_id.to_string(),
                expected,
                actual,
            });
        }

        let count = events.len();
        let mut ids = Vec::with_capacity(count);
        let mut versions = Vec::with_capacity(count);
        let mut types = Vec::with_capacity(count);
        let mut payloads = Vec::with_capacity(count);
        let mut cases = Vec::with_capacity(count);
        let mut causes = Vec::with_capacity(count);
        let mut traces = Vec::with_capacity(count);
        let mut times = Vec::with_capacity(count);
        for (offset, event) in events.iter().enumerate() {
            ids.push(event.event_id);
            versions.push(actual + 1 + offset as i64);
            types.push(event.event_type.clone());
            payloads.push(event.payload.clone());
            cases.push(event.case_id);
            causes.push(event.causation_id);
            traces.push(event.traceparent.clone());
            times.push(event.occurred_at);
        }

        // One round trip for the events and their outbox rows. A concurrent writer that
        // passed the version check too is stopped by UNIQUE (stream_id, stream_version).
        let rows = sqlx::query(
            "WITH inserted AS (
                 INSERT INTO es_events (event_id, stream_id, stream_version, event_type, payload,
                                        case_id, causation_id, traceparent, occurred_at)
                 SELECT e.id, $2, e.version, e.type, e.payload, e.case_id, e.cause, e.trace, e.at
                 FROM UNNEST($1::uuid[], $3::bigint[], $4::text[], $5::bytea[], $6::uuid[],
                             $7::uuid[], $8::text[], $9::timestamptz[])
                      AS e(id, version, type, payload, case_id, cause, trace, at)
                 RETURNING global_position, stream_version, case_id,
                           transaction_id::text::bigint AS transaction_id
             ), queued AS (
                 INSERT INTO es_outbox (global_position, topic, partition_key)
                 SELECT global_position, $10, COALESCE(case_id::text, $2) FROM inserted
             )
             SELECT global_position, stream_version, transaction_id FROM inserted ORDER BY stream_version",
        )
        .bind(&ids)
        .bind(stream_id)
        .bind(&versions)
        .bind(&types)
        .bind(&payloads)
        .bind(&cases)
        .bind(&causes)
        .bind(&traces)
        .bind(&times)
        .bind(&self.topic)
        .fetch_all(&mut *conn)
        .await
        .map_err(|error| classify_insert_error(error, stream_id, expected, actual, &ids))?;

        let mut recorded = Vec::with_capacity(count);
        for (event, row) in events.into_iter().zip(rows) {
            let global_position: i64 = row.try_get("global_position")?;
            let transaction_id: i64 = row.try_get("transaction_id")?;
            recorded.push(RecordedEvent {
                global_position,
                event_id: event.event_id,
                stream_id: stream_id.to_string(),
                stream_version: row.try_get("stream_version")?,
                event_type: event.event_type,
                payload: event.payload,
                case_id: event.case_id,
                causation_id: event.causation_id,
                traceparent: event.traceparent,
                occurred_at: event.occurred_at,
                cursor: Cursor {
                    transaction_id,
                    global_position,
                },
            });
        }
        Ok(recorded)
    }

    /// Every event of one stream, in version order; empty when the stream does not exist.
    pub async fn load(
        &self,
        executor: impl PgExecutor<'_>,
        stream_id: &str,
    ) -> Result<Vec<RecordedEvent>, sqlx::Error> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            event_columns!(),
            " FROM es_events WHERE stream_id = $1 ORDER BY stream_version"
        ))
        .bind(stream_id)
        .fetch_all(executor)
        .await?;
        rows.iter().map(recorded_from_row).collect()
    }
}

/// The version of the last event in `stream_id`, 0 when the stream does not exist.
pub async fn stream_version(executor: impl PgExecutor<'_>, stream_id: &str) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COALESCE(MAX(stream_version), 0) FROM es_events WHERE stream_id = $1")
        .bind(stream_id)
        .fetch_one(executor)
        .await
}

/// Up to `limit` events after `after`, in commit order.
///
/// Positions are handed out when a row is inserted, not when its transaction commits, so
/// "everything after position N" can skip an event whose transaction commits late. Instead,
/// only events of transactions older than the oldest transaction still in flight are
/// returned, ordered by (transaction, position): anything that commits later sorts after
/// everything returned so far.
pub async fn read_all(
    executor: impl PgExecutor<'_>,
    after: Cursor,
    limit: i64,
) -> Result<Vec<RecordedEvent>, sqlx::Error> {
    let rows = sqlx::query(concat!(
        "SELECT ",
        event_columns!(),
        " FROM es_events
         WHERE (transaction_id, global_position) > ($1::text::xid8, $2)
           AND transaction_id < pg_snapshot_xmin(pg_current_snapshot())
         ORDER BY transaction_id, global_position
         LIMIT $3"
    ))
    .bind(after.transaction_id.to_string())
    .bind(after.global_position)
    .bind(limit)
    .fetch_all(executor)
    .await?;
    rows.iter().map(recorded_from_row).collect()
}

/// Every event correlated with `case_id`, oldest first.
pub async fn load_case(executor: impl PgExecutor<'_>, case_id: Uuid) -> Result<Vec<RecordedEvent>, sqlx::Error> {
    let rows = sqlx::query(concat!(
        "SELECT ",
        event_columns!(),
        " FROM es_events WHERE case_id = $1 ORDER BY global_position"
    ))
    .bind(case_id)
    .fetch_all(executor)
    .await?;
    rows.iter().map(recorded_from_row).collect()
}

fn recorded_from_row(row: &sqlx::postgres::PgRow) -> Result<RecordedEvent, sqlx::Error> {
    let global_position = row.try_get("global_position")?;
    Ok(RecordedEvent {
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
    })
}

fn classify_insert_error(
    error: sqlx::Error,
    stream_id: &str,
    expected: ExpectedVersion,
    actual: i64,
    ids: &[Uuid],
) -> AppendError {
    if let sqlx::Error::Database(db) = &error
        && db.code().as_deref() == Some("23505")
    {
        match db.constraint() {
            Some("es_events_event_id_key") => {
                return AppendError::DuplicateEvent(ids.first().copied().unwrap_or_default());
            }
            Some("es_events_stream_id_stream_version_key") => {
                // The winner committed after our version check; the stream is now further on.
                return AppendError::Conflict {
                    stream_id: stream_id.to_string(),
                    expected,
                    actual: actual + 1,
                };
            }
            _ => {}
        }
    }
    AppendError::Database(error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trips_through_text() {
        let cursor = Cursor {
            transaction_id: 7412,
            global_position: 99,
        };
        assert_eq!(cursor.to_string().parse::<Cursor>(), Ok(cursor));
        assert!("12".parse::<Cursor>().is_err());
        assert!("-1.4".parse::<Cursor>().is_err());
    }

    #[test]
    fn cursors_order_by_transaction_first() {
        let early_tx_late_position = Cursor {
            transaction_id: 10,
            global_position: 500,
        };
        let late_tx_early_position = Cursor {
            transaction_id: 11,
            global_position: 3,
        };
        assert!(early_tx_late_position < late_tx_early_position);
    }
}
