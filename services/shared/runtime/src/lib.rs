//! What every service process runs besides its own logic:
//!
//! - [`ops`]: `/healthz`, `/readyz` (database and broker), `/metrics`, `/openapi.json` and
//!   the interactive docs page at `/docs/`.
//! - [`http`]: request tracing (W3C trace context in and out), request metrics, and the
//!   extractor settings that answer malformed input in the common error envelope.
//! - [`grpc`]: a tonic server builder that continues the caller's trace, the standard health
//!   service, reflection, and a client interceptor that passes the trace on.
//! - [`shutdown`]: one signal that stops servers, consumers and relays together.
//! - [`platform`]: the wiring every service shares, from database pool to running servers.
//! - [`clock`]: the time a service decides by; the system's, or one a test moves on.

pub mod clock;
pub mod grpc;
pub mod http;
pub mod limits;
pub mod ops;
pub mod platform;
pub mod shutdown;

/// Starts logs and traces for a service from its settings.
pub fn telemetry_for(
    settings: &slrt_settings::CommonSettings,
) -> Result<slrt_telemetry::TelemetryGuard, slrt_telemetry::TelemetryError> {
    let style = match settings.log_format {
        slrt_settings::LogFormat::Json => slrt_telemetry::LogStyle::Json,
        slrt_settings::LogFormat::Pretty => slrt_telemetry::LogStyle::Pretty,
    };
    slrt_telemetry::init(settings.service.name(), settings.otlp_endpoint.as_deref(), style)
}
