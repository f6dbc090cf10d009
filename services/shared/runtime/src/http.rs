//! HTTP plumbing shared by every service: request tracing and metrics, and extractor
//! settings that answer malformed input in the common error envelope.

use std::sync::LazyLock;
use std::time::Instant;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::error::PayloadError;
use actix_web::http::header::{CONTENT_TYPE, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::web::BytesMut;
use actix_web::{HttpMessage, ResponseError, web};
use opentelemetry::propagation::Extractor;
use prometheus::{HistogramOpts, HistogramVec};
use slrt_errors::ApiError;
use tokio_stream::StreamExt;
use tracing::Instrument;

/// Largest JSON body accepted; a desk form is a few kilobytes.
pub const JSON_LIMIT_BYTES: usize = slrt_errors::body::JSON_LIMIT_BYTES;

/// Path and query extractors that reject bad input with a 400 in the error envelope. JSON
/// bodies are read by [`slrt_errors::Json`], which does the same and names the field.
pub fn configure_extractors(cfg: &mut web::ServiceConfig) {
    cfg.app_data(web::PathConfig::default().error_handler(slrt_errors::path_error_handler))
        .app_data(web::QueryConfig::default().error_handler(slrt_errors::query_error_handler));
}

/// What a request for no route gets: the error envelope naming what was asked for, where
/// actix would answer an empty 404 that a client cannot tell from a missing record.
pub async fn no_such_route(request: actix_web::HttpRequest) -> Result<actix_web::HttpResponse, ApiError> {
    let path: String = request.path().chars().take(200).collect();
    Err(ApiError::not_found(format!(
        "no endpoint {} {path}; every endpoint is listed in /openapi.json",
        request.method()
    )))
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

/// Middleware (`actix_web::middleware::from_fn(refuse_nul_text)`): text with the NUL
/// character (U+0000) is refused at the door with a 400 naming where it is, before any
/// handler runs. PostgreSQL cannot store NUL in text, so such input would otherwise fail
/// deep in a write, as a server error, after validation had passed it.
pub async fn refuse_nul_text(
    mut request: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let refuse = |request: ServiceRequest, field: String| {
        let error = ApiError::invalid(field, "text may not contain the NUL character (U+0000)");
        Ok(request.into_response(error.error_response()).map_into_right_body())
    };
    if contains_encoded_nul(request.path()) {
        return refuse(request, "path".to_string());
    }
    if contains_encoded_nul(request.query_string()) {
        return refuse(request, "query".to_string());
    }
    let is_json = request
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.to_ascii_lowercase().contains("json"));
    if is_json {
        // Read what the JSON extractor would read (and a byte more, so it still sees an
        // oversized body as one), look, and hand the same bytes on.
        let mut payload = request.take_payload();
        let mut body = BytesMut::new();
        while let Some(chunk) = payload.next().await {
            let chunk = chunk?;
            body.extend_from_slice(&chunk);
            if body.len() > JSON_LIMIT_BYTES {
                break;
            }
        }
        let body = body.freeze();
        let field = if body.len() <= JSON_LIMIT_BYTES && contains_escaped_nul(&body) {
            serde_json::from_slice::<serde_json::Value>(&body)
                .ok()
                .and_then(|value| nul_field(&value, String::new()))
        } else {
            None
        };
        let rest: BoxedBody = Box::pin(tokio_stream::once(Ok::<_, PayloadError>(body)).chain(payload));
        request.set_payload(Payload::from(rest));
        if let Some(field) = field {
            return refuse(request, field);
        }
    }
    next.call(request).await.map(ServiceResponse::map_into_left_body)
}

type BoxedBody = std::pin::Pin<Box<dyn tokio_stream::Stream<Item = Result<actix_web::web::Bytes, PayloadError>>>>;

fn contains_encoded_nul(text: &str) -> bool {
    text.as_bytes().windows(3).any(|window| window == b"%00")
}

/// JSON spells NUL inside a string as `\u0000`; a raw NUL byte is not JSON at all.
fn contains_escaped_nul(body: &[u8]) -> bool {
    body.windows(6)
        .any(|window| window[..2] == *b"\\u" && window[2..].iter().all(|b| *b == b'0'))
}

/// The dotted path of the first string (or key) holding NUL, e.g. `needs[1].description`.
fn nul_field(value: &serde_json::Value, path: String) -> Option<String> {
    let here = |path: &String| {
        if path.is_empty() {
            "body".to_string()
        } else {
            path.clone()
        }
    };
    match value {
        serde_json::Value::String(text) => text.contains('\0').then(|| here(&path)),
        serde_json::Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(index, item)| nul_field(item, format!("{path}[{index}]"))),
        serde_json::Value::Object(fields) => fields.iter().find_map(|(key, item)| {
            let inner = if path.is_empty() {
                key.clone()
            } else {
                format!("{path}.{key}")
            };
            if key.contains('\0') {
                Some(here(&path))
            } else {
                nul_field(item, inner)
            }
        }),
        _ => None,
    }
}

#[cfg(test)]
mod nul_tests {
    use super::*;

    #[test]
    fn nul_is_found_where_it_is() {
        let body =
            serde_json::json!({"applicant": {"full_name": "Siti\u{0}Aminah"}, "needs": [{"d": "x"}, {"d": "\u{0}"}]});
        assert_eq!(nul_field(&body, String::new()).as_deref(), Some("applicant.full_name"));
        let needs = serde_json::json!({"needs": [{"d": "x"}, {"d": "\u{0}"}]});
        assert_eq!(nul_field(&needs, String::new()).as_deref(), Some("needs[1].d"));
        assert_eq!(
            nul_field(&serde_json::json!("\u{0}"), String::new()).as_deref(),
            Some("body")
        );
        assert_eq!(nul_field(&serde_json::json!({"a": "fine"}), String::new()), None);
        assert!(contains_escaped_nul(br#"{"a":"x\u0000y"}"#));
        assert!(!contains_escaped_nul(br#"{"a":"x\u0041y"}"#));
        assert!(contains_encoded_nul("/v1/cases/x%00y"));
        assert!(!contains_encoded_nul("/v1/cases/x%20y"));
    }
}
