//! HTTP plumbing shared by every service: request tracing and metrics, and extractor
//! settings that answer malformed input in the common error envelope.

use std::sync::LazyLock;
use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::web;
use opentelemetry::propagation::Extractor;
use prometheus::{HistogramOpts, HistogramVec};
use tracing::Instrument;

/// Largest JSON body accepted; a desk form is a few kilobytes.
pub const JSON_LIMIT_BYTES: usize = 256 * 1024;

/// JSON, path and query extractors that reject bad input with a 400 in the error envelope.
pub fn configure_extractors(cfg: &mut web::ServiceConfig) {
    cfg.app_data(
        web::JsonConfig::default()
            .limit(JSON_LIMIT_BYTES)
            .error_handler(slrt_errors::json_error_handler),
    )
    .app_data(web::PathConfig::default().error_handler(slrt_errors::path_error_handler))
    .app_data(web::QueryConfig::default().error_handler(slrt_errors::query_error_handler));
}

static REQUEST_DURATION: LazyLock<Option<HistogramVec>> = LazyLock::new(|| {
    let histogram = HistogramVec::new(
        HistogramOpts::new(
            "slrt_http_request_duration_seconds",
            "HTTP requests by route, method and status",
        ),
        &["method", "route", "status"],
    )
    .ok()?;
    let _ = prometheus::register(Box::new(histogram.clone()));
    Some(histogram)
});

struct ActixHeaders<'a>(&'a actix_web::http::header::HeaderMap);

impl Extractor for ActixHeaders<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|value| value.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(|name| name.as_str()).collect()
    }
}

/// Middleware (`actix_web::middleware::from_fn(trace_requests)`): one server span per
/// request, child of the caller's `traceparent` when there is one; the response carries the
/// request's own `traceparent`, so a client can find the trace of what it started.
pub async fn trace_requests(
    request: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let method = request.method().to_string();
    let route = request.match_pattern().unwrap_or_else(|| "unmatched".to_string());
    let span = tracing::info_span!(
        "http",
        otel.name = %format!("{method} {route}"),
        otel.kind = "server",
        http.method = %method,
        http.route = %route,
        http.status_code = tracing::field::Empty,
        trace_id = tracing::field::Empty,
    );
    slrt_telemetry::set_parent_from(&span, &ActixHeaders(request.headers()));
    slrt_telemetry::record_trace_id(&span);
    let traceparent = slrt_telemetry::traceparent_of(&span);

    let mut response = next.call(request).instrument(span.clone()).await?;
    let status = response.status();
    span.record("http.status_code", status.as_u16());
    if let Some(value) = traceparent.and_then(|tp| HeaderValue::from_str(&tp).ok()) {
        response
            .headers_mut()
            .insert(HeaderName::from_static("traceparent"), value);
    }
    if let Some(histogram) = REQUEST_DURATION.as_ref() {
        histogram
            .with_label_values(&[method.as_str(), route.as_str(), status.as_str()])
            .observe(started.elapsed().as_secs_f64());
    }
    Ok(response)
}
