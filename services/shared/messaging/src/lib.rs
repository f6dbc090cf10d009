//! The Kafka side of the event log.
//!
//! - [`topics::ensure_topics`] creates the topics a service needs (the broker does not create
//!   them on first use).
//! - [`relay::OutboxRelay`] publishes a service's outbox to its topic: idempotent producer or
//!   one request in flight (`relay::build_producer`),
//!   `acks=all`, keyed by case so one case's events keep their order, rows deleted only
//!   after the broker acknowledged them. A broker outage delays events; it never loses them.
//! - [`consumer::InboxConsumer`] applies events at least once and their effects exactly once:
//!   the effect and the inbox row commit in one transaction, and the offset is stored only
//!   after that commit.

pub mod consumer;
pub mod metrics;
pub mod relay;
pub mod topics;

use std::time::Duration;

use rdkafka::ClientConfig;

pub use consumer::{EventHandler, HandlerError, InboxConsumer};
pub use relay::OutboxRelay;

/// Client settings every connection of ours shares.
pub fn client_config(brokers: &str) -> ClientConfig {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", brokers)
        // The local broker advertises 127.0.0.1; resolving "localhost" to ::1 first costs
        // a failed connection on every reconnect.
        .set("broker.address.family", "v4")
        .set("socket.keepalive.enable", "true");
    config
}

/// Whether the broker answers a metadata request within `timeout` (readiness probes).
pub async fn broker_reachable(brokers: &str, timeout: Duration) -> bool {
    let config = client_config(brokers);
    tokio::task::spawn_blocking(move || {
        let Ok(consumer) = config.create::<rdkafka::consumer::BaseConsumer>() else {
            return false;
        };
        rdkafka::consumer::Consumer::fetch_metadata(&consumer, None, timeout).is_ok()
    })
    .await
    .unwrap_or(false)
}
