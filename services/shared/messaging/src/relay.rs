//! Publishes a service's outbox to Kafka.
//!
//! The relay does not track a "last published position": positions are assigned at insert,
//! not at commit, so a high-water mark would skip an event whose transaction committed after
//! a later one had already been published. It publishes whatever outbox rows exist, oldest
//! position first, and deletes them only after the broker acknowledged every one of the
//! batch. A crash in between publishes some events twice; consumers deduplicate on event id.

use std::time::Duration;

use futures::future::join_all;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use slrt_eventstore::{RecordedEvent, encode_envelope};
use sqlx::postgres::PgListener;
use sqlx::{PgPool, Row};
use tokio::sync::watch;
use tracing::Instrument;

use crate::metrics;

#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    #[error("outbox: {0}")]
    Database(#[from] sqlx::Error),
    #[error("broker did not acknowledge event at position {position}: {source}")]
    Delivery { position: i64, source: KafkaError },
    #[error("cannot create the producer: {0}")]
    Producer(#[source] KafkaError),
}

/// Builds the producer the relay uses: `acks=all`, lz4, and one of two ways of keeping a
/// partition's order when librdkafka retries a send:
///
/// - `idempotent`: the broker's idempotent producer (Apache Kafka): retries neither duplicate
///   nor reorder, with several requests in flight;
/// - otherwise one request in flight per connection, so a retry cannot overtake what follows;
///   a retried send may then arrive twice, which consumers absorb (their inbox keys on the
///   event id, ADR 3). The local and CI broker (tansu 0.6) runs this way: its idempotent path
///   panics in its storage task under load and leaves the broker unable to serve.
pub fn build_producer(brokers: &str, idempotent: bool) -> Result<FutureProducer, KafkaError> {
    let mut config = crate::client_config(brokers);
    if idempotent {
        config.set("enable.idempotence", "true");
    } else {
        config
            .set("enable.idempotence", "false")
            .set("max.in.flight.requests.per.connection", "1");
    }
    config
        .set("acks", "all")
        .set("linger.ms", "5")
        .set("compression.type", "lz4")
        // A send the broker cannot take within this time fails, the batch stays in the
        // outbox and is retried; much longer only delays noticing an outage.
        .set("message.timeout.ms", "15000")
        .create()
}

pub struct OutboxRelay {
    pool: PgPool,
    brokers: String,
    producer: FutureProducer,
    idempotent: bool,
    service: &'static str,
    poll_interval: Duration,
    batch_size: i64,
}

// Only one relay per database publishes at a time (several replicas of a service may run):
// a transaction-scoped advisory lock, keyed by this constant.
const RELAY_LOCK_KEY: i64 = 0x534c_5254_5245_4c59; // "SLRTRELY"

impl OutboxRelay {
    pub fn new(
        pool: PgPool,
        brokers: &str,
        service: &'static str,
        poll_interval: Duration,
    ) -> Result<Self, RelayError> {
        Ok(Self {
            pool,
            brokers: brokers.to_string(),
            producer: build_producer(brokers, false).map_err(RelayError::Producer)?,
            idempotent: false,
            service,
            poll_interval,
            batch_size: 500,
        })
    }

    /// Publishes with the broker's idempotent producer (`SLRT_KAFKA_IDEMPOTENT_PRODUCER`; see
    /// [`build_producer`]).
    pub fn idempotent(mut self, idempotent: bool) -> Result<Self, RelayError> {
        if idempotent != self.idempotent {
            self.producer = build_producer(&self.brokers, idempotent).map_err(RelayError::Producer)?;
            self.idempotent = idempotent;
        }
        Ok(self)
    }

    /// Publishes outbox batches until the outbox is empty. Returns how many were published.
    pub async fn drain(&mut self) -> Result<usize, RelayError> {
        let mut total = 0;
        loop {
            let published = self.publish_batch().await?;
            total += published;
            if published == 0 {
                return Ok(total);
            }
        }
    }

    /// Publishes at most one batch. Returns how many events were published.
    pub async fn publish_batch(&mut self) -> Result<usize, RelayError> {
        let mut tx = self.pool.begin().await?;
        let leader: bool = sqlx::query_scalar("SELECT pg_try_advisory_xact_lock($1)")
            .bind(RELAY_LOCK_KEY)
            .fetch_one(&mut *tx)
            .await?;
        if !leader {
            return Ok(0);
        }
        let rows = sqlx::query(
            "SELECT o.topic, o.partition_key, e.global_position, e.event_id, e.stream_id, e.stream_version,
                    e.event_type, e.payload, e.case_id, e.causation_id, e.traceparent, e.occurred_at
             FROM es_outbox o JOIN es_events e USING (global_position)
             ORDER BY o.global_position
             LIMIT $1",
        )
        .bind(self.batch_size)
        .fetch_all(&mut *tx)
        .await?;
        if rows.is_empty() {
            return Ok(0);
        }

        let mut deliveries = Vec::with_capacity(rows.len());
        let mut positions = Vec::with_capacity(rows.len());
        for row in &rows {
            let event = RecordedEvent {
                global_position: row.try_get("global_position")?,
                event_id: row.try_get("event_id")?,
                stream_id: row.try_get("stream_id")?,
                stream_version: row.try_get("stream_version")?,
                event_type: row.try_get("event_type")?,
                payload: row.try_get("payload")?,
                case_id: row.try_get("case_id")?,
                causation_id: row.try_get("causation_id")?,
                traceparent: row.try_get("traceparent")?,
                occurred_at: row.try_get("occurred_at")?,
                cursor: Default::default(),
            };
            let topic: String = row.try_get("topic")?;
            let key: String = row.try_get("partition_key")?;
            let value = encode_envelope(&event, self.service);
            let event_id = event.event_id.to_string();
            let mut headers = OwnedHeaders::new()
                .insert(Header {
                    key: "event_type",
                    value: Some(event.event_type.as_str()),
                })
                .insert(Header {
                    key: "event_id",
                    value: Some(event_id.as_str()),
                })
                .insert(Header {
                    key: "content-type",
                    value: Some("application/x-protobuf; proto=slrt.common.v1.EventEnvelope"),
                });
            if let Some(traceparent) = event.traceparent.as_deref() {
                headers = headers.insert(Header {
                    key: "traceparent",
                    value: Some(traceparent),
                });
            }
            positions.push(event.global_position);
            deliveries.push(
                self.enqueue(&topic, &key, &value, headers, event.global_position)
                    .await?,
            );
        }

        for (outcome, position) in join_all(deliveries).await.into_iter().zip(&positions) {
            match outcome {
                Ok(Ok(_)) => {}
                Ok(Err((source, _))) => {
                    return Err(RelayError::Delivery {
                        position: *position,
                        source,
                    });
                }
                Err(_canceled) => {
                    return Err(RelayError::Delivery {
                        position: *position,
                        source: KafkaError::Canceled,
                    });
                }
            }
        }

        sqlx::query("DELETE FROM es_outbox WHERE global_position = ANY($1)")
            .bind(&positions)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        metrics::OUTBOX_PUBLISHED
            .with_label_values(&[self.service])
            .inc_by(positions.len() as u64);
        Ok(positions.len())
    }

    async fn enqueue(
        &self,
        topic: &str,
        key: &str,
        value: &[u8],
        headers: OwnedHeaders,
        position: i64,
    ) -> Result<rdkafka::producer::DeliveryFuture, RelayError> {
        let mut record = FutureRecord::to(topic).key(key).payload(value).headers(headers);
        loop {
            match self.producer.send_result(record) {
                Ok(delivery) => return Ok(delivery),
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), returned)) => {
                    // The client's queue is full while the broker is slow: let it drain.
                    record = returned;
                    self.producer.poll(Duration::from_millis(50));
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                Err((source, _)) => return Err(RelayError::Delivery { position, source }),
            }
        }
    }

    async fn record_backlog(&self) {
        let backlog = sqlx::query(
            "SELECT count(*) AS pending,
                    COALESCE(EXTRACT(EPOCH FROM now() - min(enqueued_at)), 0)::bigint AS oldest
             FROM es_outbox",
        )
        .fetch_one(&self.pool)
        .await;
        if let Ok(row) = backlog {
            let pending: i64 = row.try_get("pending").unwrap_or_default();
            let oldest: i64 = row.try_get("oldest").unwrap_or_default();
            metrics::OUTBOX_PENDING.with_label_values(&[self.service]).set(pending);
            metrics::OUTBOX_OLDEST_AGE
                .with_label_values(&[self.service])
                .set(oldest);
        }
    }

    // After a fatal error an idempotent producer cannot be used again; a fresh one takes over
    // and the outbox rows it had not delivered are simply sent again.
    fn renew_producer_if_fatal(&mut self) {
        if let Some((code, reason)) = self.producer.client().fatal_error() {
            tracing::warn!(service = self.service, error.code = ?code, error.reason = reason, "producer hit a fatal error; renewing it");
            match build_producer(&self.brokers, self.idempotent) {
                Ok(producer) => self.producer = producer,
                Err(error) => tracing::error!(error = %error, "cannot renew the producer"),
            }
        }
    }

    /// Publishes until `shutdown` turns true: immediately when an outbox row commits (NOTIFY),
    /// and every poll interval in case a notification was missed.
    pub async fn run(mut self, mut shutdown: watch::Receiver<bool>) {
        let span = tracing::info_span!("outbox_relay", service = self.service);
        async move {
            let mut listener = match PgListener::connect_with(&self.pool).await {
                Ok(mut listener) => match listener.listen("es_outbox").await {
                    Ok(()) => Some(listener),
                    Err(error) => {
                        tracing::warn!(error = %error, "cannot LISTEN; relay falls back to polling");
                        None
                    }
                },
                Err(error) => {
                    tracing::warn!(error = %error, "cannot open a LISTEN connection; relay falls back to polling");
                    None
                }
            };
            let mut failures: u32 = 0;
            loop {
                if *shutdown.borrow() {
                    break;
                }
                match self.drain().await {
                    Ok(_) => failures = 0,
                    Err(error) => {
                        failures = failures.saturating_add(1);
                        metrics::RELAY_FAILURES.with_label_values(&[self.service]).inc();
                        // Logged once per outage, then every 20th attempt, not on every retry.
                        if failures == 1 || failures.is_multiple_of(20) {
                            tracing::warn!(error = %error, attempt = failures, "relay batch failed; events stay in the outbox");
                        }
                        self.renew_producer_if_fatal();
                    }
                }
                self.record_backlog().await;
                let pause = if failures > 0 {
                    Duration::from_millis(200 * u64::from(failures.min(25)))
                } else {
                    self.poll_interval
                };
                tokio::select! {
                    _ = shutdown.changed() => {}
                    _ = wait_for_notification(listener.as_mut(), pause) => {}
                }
            }
            // Whatever is still in the outbox is published by the next start.
            let _ = self.producer.flush(Duration::from_secs(5));
        }
        .instrument(span)
        .await
    }
}

async fn wait_for_notification(listener: Option<&mut PgListener>, timeout: Duration) {
    match listener {
        Some(listener) => {
            let _ = tokio::time::timeout(timeout, listener.recv()).await;
        }
        None => tokio::time::sleep(timeout).await,
    }
}
