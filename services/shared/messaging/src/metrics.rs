//! Prometheus metrics of the event log, labelled by service and consumer.

use std::sync::LazyLock;

use prometheus::{IntCounterVec, IntGaugeVec, Opts};

fn register<T: prometheus::core::Collector + Clone + 'static>(collector: T) -> T {
    // Registering twice only happens when one process hosts several services (tests); the
    // first registration already exports the shared collector.
    let _ = prometheus::register(Box::new(collector.clone()));
    collector
}

pub static OUTBOX_PUBLISHED: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register(
        IntCounterVec::new(
            Opts::new(
                "slrt_outbox_published_total",
                "Events the relay published and deleted from the outbox",
            ),
            &["service"],
        )
        .unwrap_or_else(|_| unreachable_metric()),
    )
});

pub static OUTBOX_PENDING: LazyLock<IntGaugeVec> = LazyLock::new(|| {
    register(
        IntGaugeVec::new(
            Opts::new(
                "slrt_outbox_pending",
                "Events in the outbox not yet acknowledged by the broker",
            ),
            &["service"],
        )
        .unwrap_or_else(|_| unreachable_gauge()),
    )
});

pub static OUTBOX_OLDEST_AGE: LazyLock<IntGaugeVec> = LazyLock::new(|| {
    register(
        IntGaugeVec::new(
            Opts::new(
                "slrt_outbox_oldest_age_seconds",
                "Age of the oldest unpublished outbox event",
            ),
            &["service"],
        )
        .unwrap_or_else(|_| unreachable_gauge()),
    )
});

pub static RELAY_FAILURES: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register(
        IntCounterVec::new(
            Opts::new(
                "slrt_relay_failures_total",
                "Relay batches that failed and will be retried",
            ),
            &["service"],
        )
        .unwrap_or_else(|_| unreachable_metric()),
    )
});

pub static CONSUMED: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register(
        IntCounterVec::new(
            Opts::new(
                "slrt_events_consumed_total",
                "Events a consumer received, by outcome (applied, duplicate, dead_letter, passed_over)",
            ),
            &["consumer", "outcome"],
        )
        .unwrap_or_else(|_| unreachable_metric()),
    )
});

pub static CONSUMER_RETRIES: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register(
        IntCounterVec::new(
            Opts::new("slrt_consumer_retries_total", "Transient failures a consumer retried"),
            &["consumer"],
        )
        .unwrap_or_else(|_| unreachable_metric()),
    )
});

pub static CONSUMER_LAG: LazyLock<IntGaugeVec> = LazyLock::new(|| {
    register(
        IntGaugeVec::new(
            Opts::new(
                "slrt_consumer_lag_seconds",
                "Seconds between an event's occurrence and its application, last seen",
            ),
            &["consumer"],
        )
        .unwrap_or_else(|_| unreachable_gauge()),
    )
});

// The option names above are static and valid; prometheus only fails construction on bad
// names, which would be caught by the first test that touches a metric.
fn unreachable_metric() -> IntCounterVec {
    panic!("invalid static metric definition")
}

fn unreachable_gauge() -> IntGaugeVec {
    panic!("invalid static metric definition")
}
