//! Logs, traces and metrics for every service.
//!
//! - Logs: `tracing`, one JSON object per line by default, filtered by `SLRT_LOG` (an
//!   `EnvFilter` directive, default `info`). The filter governs log output only; which spans
//!   are traced is `SLRT_TRACE` (default `info`), so a quiet service still propagates traces.
//! - Traces: OpenTelemetry spans bridged from `tracing`; the W3C `traceparent` is carried in
//!   HTTP headers, gRPC metadata, Kafka headers and stored with every event, so one case's
//!   trace spans the desk request, every Kafka hop and every gRPC call. Spans are exported
//!   over OTLP only when an endpoint is configured; without one they still get real ids, so
//!   propagation works the same.
//! - Metrics: the process-wide Prometheus registry (`prometheus::default_registry`), served
//!   at `/metrics` by `slrt-runtime`.

use std::collections::HashMap;

use opentelemetry::propagation::{Extractor, Injector};
use opentelemetry::trace::{TraceContextExt, TracerProvider as _};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

pub use prometheus;

#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    #[error("cannot build the OTLP exporter for {endpoint}: {reason}")]
    Exporter { endpoint: String, reason: String },
    #[error("bad SLRT_LOG or SLRT_TRACE filter: {0}")]
    Filter(String),
}

/// Keeps the tracer provider alive; flushes pending spans when dropped.
pub struct TelemetryGuard {
    provider: SdkTracerProvider,
}

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        // Shutdown flushes the batch exporter; a failure here has nowhere better to go.
        if let Err(error) = self.provider.shutdown() {
            eprintln!("telemetry shutdown: {error}");
        }
    }
}

/// How a process wants its logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogStyle {
    Json,
    Pretty,
}

/// Installs the global subscriber, tracer provider and W3C propagator. Call once, in `main`.
/// A second call (tests spawning several applications in one process) only builds a
/// provider and leaves the global subscriber as it is.
pub fn init(
    service: &'static str,
    otlp_endpoint: Option<&str>,
    style: LogStyle,
) -> Result<TelemetryGuard, TelemetryError> {
    init_with_filter(
        service,
        otlp_endpoint,
        style,
        "info,sqlx=warn,rdkafka=warn,h2=warn,tower=warn,hyper=warn",
    )
}

/// As [`init`], with `default_filter` used when `SLRT_LOG` is not set.
pub fn init_with_filter(
    service: &'static str,
    otlp_endpoint: Option<&str>,
    style: LogStyle,
    default_filter: &str,
) -> Result<TelemetryGuard, TelemetryError> {
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());

    let resource = opentelemetry_sdk::Resource::builder()
        .with_service_name(service)
        .build();
    let mut builder = SdkTracerProvider::builder().with_resource(resource);
    if let Some(endpoint) = otlp_endpoint {
        use opentelemetry_otlp::WithExportConfig;
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_tonic()
            .with_endpoint(endpoint)
            .build()
            .map_err(|error| TelemetryError::Exporter {
                endpoint: endpoint.to_string(),
                reason: error.to_string(),
            })?;
        builder = builder.with_batch_exporter(exporter);
    }
    let provider = builder.build();
    opentelemetry::global::set_tracer_provider(provider.clone());
    let tracer = provider.tracer(service);

    let filter = EnvFilter::try_from_env("SLRT_LOG")
        .or_else(|_| EnvFilter::try_new(default_filter))
        .map_err(|error| TelemetryError::Filter(error.to_string()))?;
    let fmt_layer = match style {
        LogStyle::Json => tracing_subscriber::fmt::layer()
            .json()
            .flatten_event(true)
            .with_current_span(false)
            // The request, call or event span carries the trace id; listing the spans puts it
            // on every line logged inside them.
            .with_span_list(true)
            .boxed(),
        LogStyle::Pretty => tracing_subscriber::fmt::layer().compact().boxed(),
    };
    // Ignored when a subscriber is already installed (several applications in one test).
    // The log filter applies to log output only: spans must exist whatever the log level,
    // or a quiet service would stop propagating trace context.
    let trace_filter = EnvFilter::try_from_env("SLRT_TRACE")
        .or_else(|_| EnvFilter::try_new("info"))
        .map_err(|error| TelemetryError::Filter(error.to_string()))?;
    let _ = tracing_subscriber::registry()
        .with(fmt_layer.with_filter(filter))
        .with(
            tracing_opentelemetry::layer()
                .with_tracer(tracer)
                .with_filter(trace_filter),
        )
        .try_init();
    Ok(TelemetryGuard { provider })
}

/// Records the span's trace id in its `trace_id` field (declared `tracing::field::Empty` at
/// creation), so every log line inside the span names its trace.
pub fn record_trace_id(span: &tracing::Span) {
    let context = span.context();
    let span_context = context.span().span_context().clone();
    if span_context.is_valid() {
        span.record("trace_id", tracing::field::display(span_context.trace_id()));
    }
}

/// The W3C `traceparent` of the current span, if it has a valid trace context.
pub fn current_traceparent() -> Option<String> {
    traceparent_of(&tracing::Span::current())
}

/// The W3C `traceparent` of `span`, if it has a valid trace context.
pub fn traceparent_of(span: &tracing::Span) -> Option<String> {
    let context = span.context();
    if !context.span().span_context().is_valid() {
        return None;
    }
    let mut carrier = HashMap::new();
    opentelemetry::global::get_text_map_propagator(|propagator| propagator.inject_context(&context, &mut carrier));
    carrier.remove("traceparent")
}

/// The trace id (32 hex digits) of the current span, for logs and responses.
pub fn current_trace_id() -> Option<String> {
    let context = tracing::Span::current().context();
    let span_context = context.span().span_context().clone();
    span_context.is_valid().then(|| span_context.trace_id().to_string())
}

/// Makes the trace context in `traceparent` the parent of `span`; an absent or malformed
/// value leaves `span` as the root of a new trace.
pub fn set_parent_from_traceparent(span: &tracing::Span, traceparent: Option<&str>) {
    let Some(traceparent) = traceparent else { return };
    let carrier = SingleHeader(traceparent);
    let context = opentelemetry::global::get_text_map_propagator(|propagator| propagator.extract(&carrier));
    if context.span().span_context().is_valid() {
        let _ = span.set_parent(context);
    }
}

/// Writes the current trace context into any header-like carrier (HTTP, gRPC metadata).
pub fn inject_current(carrier: &mut dyn Injector) {
    let context = tracing::Span::current().context();
    opentelemetry::global::get_text_map_propagator(|propagator| propagator.inject_context(&context, carrier));
}

/// Reads a trace context out of a header-like carrier and makes it the parent of `span`.
pub fn set_parent_from(span: &tracing::Span, carrier: &dyn Extractor) {
    let context = opentelemetry::global::get_text_map_propagator(|propagator| propagator.extract(carrier));
    if context.span().span_context().is_valid() {
        let _ = span.set_parent(context);
    }
}

struct SingleHeader<'a>(&'a str);

impl Extractor for SingleHeader<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        (key == "traceparent").then_some(self.0)
    }

    fn keys(&self) -> Vec<&str> {
        vec!["traceparent"]
    }
}

/// The trace id inside a `traceparent` value (`00-<trace id>-<span id>-<flags>`).
pub fn trace_id_of(traceparent: &str) -> Option<&str> {
    let mut parts = traceparent.split('-');
    let _version = parts.next()?;
    let trace_id = parts.next()?;
    (trace_id.len() == 32).then_some(trace_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trace_id_is_read_from_a_traceparent() {
        assert_eq!(
            trace_id_of("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
            Some("4bf92f3577b34da6a3ce929d0e0e4736")
        );
        assert_eq!(trace_id_of("garbage"), None);
    }

    #[test]
    fn a_child_span_continues_the_trace_of_its_traceparent_even_when_logs_are_quiet() {
        let _guard = init_with_filter("telemetry-test", None, LogStyle::Pretty, "error");
        let parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let span = tracing::info_span!("child");
        set_parent_from_traceparent(&span, Some(parent));
        let child = traceparent_of(&span).unwrap_or_default();
        assert_eq!(trace_id_of(&child), Some("4bf92f3577b34da6a3ce929d0e0e4736"), "{child}");
        assert_ne!(child, parent, "the child has its own span id");
    }
}
