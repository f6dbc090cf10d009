//! Applies events from Kafka exactly once per consumer.
//!
//! For each message: decode the envelope, open a transaction, record the event id in the
//! inbox, apply the effect, commit; only then store the message's offset (committed to the
//! broker in the background). A crash anywhere before the commit redelivers the message and
//! the inbox turns the second delivery into a no-op.
//!
//! A transient failure (database down, a peer unavailable) is retried with backoff and holds
//! the partition, preserving order. A permanent one (a payload that can never be applied) is
//! written to `es_dead_letters` with its reason, so one bad message cannot stall a case
//! forever, and an operator can see it.

use std::future::Future;
use std::time::Duration;

use rdkafka::Message;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::{BorrowedMessage, Headers};
use slrt_eventstore::envelope::ReceivedEnvelope;
use slrt_eventstore::{decode_envelope, inbox};
use sqlx::{PgConnection, PgPool};
use tokio::sync::watch;
use tracing::Instrument;

use crate::metrics;

/// Why an event could not be applied.
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    /// Worth retrying: the same event may apply later.
    #[error("transient: {0}")]
    Transient(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// Never going to apply; the event is dead-lettered with this reason.
    #[error("permanent: {0}")]
    Permanent(String),
}

impl From<sqlx::Error> for HandlerError {
    fn from(error: sqlx::Error) -> Self {
        Self::Transient(Box::new(error))
    }
}

impl From<slrt_eventstore::DecodeError> for HandlerError {
    fn from(error: slrt_eventstore::DecodeError) -> Self {
        Self::Permanent(error.to_string())
    }
}

impl From<slrt_eventstore::AppendError> for HandlerError {
    fn from(error: slrt_eventstore::AppendError) -> Self {
        // A conflict means another writer got there first: reloading and retrying decides
        // again on the new state.
        Self::Transient(Box::new(error))
    }
}

/// What a consumer does with each event. Runs inside the transaction that also records the
/// event in the inbox; everything it writes through `conn` commits or rolls back with it.
pub trait EventHandler: Send + Sync + 'static {
    /// Whether this consumer acts on events of `event_type` at all. Others are passed over
    /// without a transaction: a topic carries every event its service publishes, and most
    /// consumers act on one or two of them.
    fn wants(&self, event_type: &str) -> bool {
        let _ = event_type;
        true
    }

    fn handle<'a>(
        &'a self,
        conn: &'a mut PgConnection,
        event: &'a ReceivedEnvelope,
    ) -> impl Future<Output = Result<(), HandlerError>> + Send + 'a;
}

/// Outcome of offering one event to a handler.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    Applied,
    /// Already in the inbox: the effect happened before.
    Duplicate,
}

pub struct InboxConsumer<H> {
    name: String,
    pool: PgPool,
    consumer: StreamConsumer,
    handler: H,
}

impl<H: EventHandler> InboxConsumer<H> {
    /// A consumer named `name` (its inbox key) in consumer group `group`, reading `topics`.
    pub fn new(
        name: impl Into<String>,
        pool: PgPool,
        brokers: &str,
        group: &str,
        topics: &[String],
        handler: H,
    ) -> Result<Self, rdkafka::error::KafkaError> {
        let consumer: StreamConsumer = crate::client_config(brokers)
            .set("group.id", group)
            .set("auto.offset.reset", "earliest")
            // Offsets are stored by hand after the inbox transaction commits; the client
            // only commits what was stored. Committing every few seconds is enough: the inbox
            // absorbs what a restart redelivers, and frequent commits slow the local broker.
            .set("enable.auto.commit", "true")
            .set("auto.commit.interval.ms", "5000")
            .set("enable.auto.offset.store", "false")
            // The local broker holds a fetch for most of this wait even when data is ready.
            .set("fetch.wait.max.ms", "10")
            // The local broker's group coordinator answers slowly under load; a short session
            // timeout turns that into rebalances, and every rebalance stalls consumption.
            .set("session.timeout.ms", "30000")
            .set("heartbeat.interval.ms", "3000")
            .set("topic.metadata.refresh.interval.ms", "5000")
            .create()?;
        let topic_refs: Vec<&str> = topics.iter().map(String::as_str).collect();
        consumer.subscribe(&topic_refs)?;
        Ok(Self {
            name: name.into(),
            pool,
            consumer,
            handler,
        })
    }

    /// Consumes until `shutdown` turns true.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        let mut receive_failures: u32 = 0;
        loop {
            let message = tokio::select! {
                _ = shutdown.changed() => break,
                message = self.consumer.recv() => message,
            };
            let message = match message {
                Ok(message) => {
                    receive_failures = 0;
                    message
                }
                Err(error) => {
                    receive_failures = receive_failures.saturating_add(1);
                    if receive_failures == 1 || receive_failures.is_multiple_of(50) {
                        tracing::warn!(consumer = %self.name, error = %error, "cannot receive from the broker");
                    }
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    continue;
                }
            };
            if !self.process_message(&message, &mut shutdown).await {
                break;
            }
            if let Err(error) = self.consumer.store_offset_from_message(&message) {
                // The event is applied; failing to store the offset only means a redelivery,
                // which the inbox absorbs.
                tracing::warn!(consumer = %self.name, error = %error, "cannot store the offset");
            }
        }
        // Commit what has been applied so a restart does not redeliver it needlessly.
        let _ = self.consumer.commit_consumer_state(rdkafka::consumer::CommitMode::Sync);
    }

    /// Returns false when shutdown interrupted the message (its offset must not be stored).
    async fn process_message(&self, message: &BorrowedMessage<'_>, shutdown: &mut watch::Receiver<bool>) -> bool {
        let bytes = message.payload().unwrap_or_default();
        let traceparent = message
            .headers()
            .and_then(|headers| headers.iter().find(|header| header.key == "traceparent"))
            .and_then(|header| header.value)
            .and_then(|value| std::str::from_utf8(value).ok());
        let envelope = match decode_envelope(bytes) {
            Ok(envelope) => envelope,
            Err(error) => {
                self.dead_letter_raw(message, None, None, &error.to_string()).await;
                return true;
            }
        };
        if !self.handler.wants(&envelope.event_type) {
            metrics::CONSUMED
                .with_label_values(&[self.name.as_str(), "passed_over"])
                .inc();
            return true;
        }
        let span = tracing::info_span!(
            "consume",
            otel.kind = "consumer",
            consumer = %self.name,
            messaging.destination = message.topic(),
            event.id = %envelope.event_id,
            event.r#type = %envelope.event_type,
            case.id = envelope.case_id.map(|id| id.to_string()),
            trace_id = tracing::field::Empty,
        );
        slrt_telemetry::set_parent_from_traceparent(&span, traceparent);
        slrt_telemetry::record_trace_id(&span);

        let mut attempt: u32 = 0;
        loop {
            let outcome = self.apply(&envelope).instrument(span.clone()).await;
            match outcome {
                Ok(applied) => {
                    let label = match applied {
                        Applied::Applied => "applied",
                        Applied::Duplicate => "duplicate",
                    };
                    metrics::CONSUMED.with_label_values(&[self.name.as_str(), label]).inc();
                    let lag = (chrono_now_seconds() - envelope.occurred_at.timestamp()).max(0);
                    metrics::CONSUMER_LAG.with_label_values(&[self.name.as_str()]).set(lag);
                    return true;
                }
                Err(HandlerError::Permanent(reason)) => {
                    let _guard = span.enter();
                    tracing::error!(consumer = %self.name, reason = %reason, "event cannot be applied; dead-lettered");
                    self.dead_letter_raw(message, Some(&envelope), None, &reason).await;
                    return true;
                }
                Err(HandlerError::Transient(error)) => {
                    attempt = attempt.saturating_add(1);
                    metrics::CONSUMER_RETRIES.with_label_values(&[self.name.as_str()]).inc();
                    if attempt == 1 || attempt.is_multiple_of(20) {
                        let _guard = span.enter();
                        tracing::warn!(consumer = %self.name, attempt, error = %error, "event not applied yet; retrying");
                    }
                    let pause = Duration::from_millis(100 * u64::from(attempt.min(50)));
                    tokio::select! {
                        _ = shutdown.changed() => return false,
                        _ = tokio::time::sleep(pause) => {}
                    }
                }
            }
        }
    }

    /// Applies one event in one transaction with its inbox row.
    pub async fn apply(&self, envelope: &ReceivedEnvelope) -> Result<Applied, HandlerError> {
        apply_once(&self.pool, &self.name, &self.handler, envelope).await
    }

    async fn dead_letter_raw(
        &self,
        message: &BorrowedMessage<'_>,
        envelope: Option<&ReceivedEnvelope>,
        _cause: Option<&str>,
        reason: &str,
    ) {
        metrics::CONSUMED
            .with_label_values(&[self.name.as_str(), "dead_letter"])
            .inc();
        let mut attempt: u32 = 0;
        loop {
            let result = dead_letter(&self.pool, &self.name, message, envelope, reason).await;
            match result {
                Ok(()) => return,
                Err(error) => {
                    attempt = attempt.saturating_add(1);
                    if attempt == 1 || attempt.is_multiple_of(20) {
                        tracing::warn!(consumer = %self.name, error = %error, "cannot record a dead letter; retrying");
                    }
                    tokio::time::sleep(Duration::from_millis(200 * u64::from(attempt.min(25)))).await;
                }
            }
        }
    }
}

/// Applies `envelope` through `handler` unless `consumer` applied it before; the effect and
/// the inbox row commit together.
pub async fn apply_once<H: EventHandler>(
    pool: &PgPool,
    consumer: &str,
    handler: &H,
    envelope: &ReceivedEnvelope,
) -> Result<Applied, HandlerError> {
    let mut tx = pool.begin().await?;
    if !inbox::record_processed(&mut tx, consumer, envelope.event_id).await? {
        return Ok(Applied::Duplicate);
    }
    handler.handle(&mut tx, envelope).await?;
    tx.commit().await?;
    Ok(Applied::Applied)
}

async fn dead_letter(
    pool: &PgPool,
    consumer: &str,
    message: &BorrowedMessage<'_>,
    envelope: Option<&ReceivedEnvelope>,
    reason: &str,
) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    if let Some(envelope) = envelope {
        // The dead letter stands in for the effect: a redelivery must not try again.
        inbox::record_processed(&mut tx, consumer, envelope.event_id).await?;
    }
    sqlx::query(
        "INSERT INTO es_dead_letters (consumer, topic, kafka_partition, kafka_offset, event_id, event_type, message, error)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (consumer, topic, kafka_partition, kafka_offset) DO NOTHING",
    )
    .bind(consumer)
    .bind(message.topic())
    .bind(message.partition())
    .bind(message.offset())
    .bind(envelope.map(|e| e.event_id))
    .bind(envelope.map(|e| e.event_type.clone()))
    .bind(message.payload())
    .bind(reason)
    .execute(&mut *tx)
    .await?;
    tx.commit().await
}

fn chrono_now_seconds() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.as_secs() as i64)
        .unwrap_or_default()
}
