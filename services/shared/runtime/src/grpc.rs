//! gRPC plumbing shared by every service.

use opentelemetry::propagation::{Extractor, Injector};
use tonic::codegen::http;
use tonic::metadata::{MetadataKey, MetadataValue};
use tonic::service::Interceptor;
use tonic::transport::Server;

struct HttpHeaders<'a>(&'a http::HeaderMap);

impl Extractor for HttpHeaders<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|value| value.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(|name| name.as_str()).collect()
    }
}

/// A server builder whose request spans continue the caller's trace (`traceparent` metadata).
pub fn server() -> Server {
    Server::builder().trace_fn(|request: &http::Request<()>| {
        let span = tracing::info_span!(
            "grpc",
            otel.name = %request.uri().path(),
            otel.kind = "server",
            rpc.method = %request.uri().path(),
            trace_id = tracing::field::Empty,
        );
        slrt_telemetry::set_parent_from(&span, &HttpHeaders(request.headers()));
        slrt_telemetry::record_trace_id(&span);
        span
    })
}

/// The standard gRPC health service (reporting every service as serving while the process
/// runs) and the reflection service over every SLRT proto.
pub async fn health_and_reflection(
    served: &[&'static str],
) -> Result<
    (
        tonic_health::pb::health_server::HealthServer<impl tonic_health::pb::health_server::Health>,
        tonic_reflection::server::v1::ServerReflectionServer<impl tonic_reflection::server::v1::ServerReflection>,
    ),
    tonic_reflection::server::Error,
> {
    let (reporter, health) = tonic_health::server::health_reporter();
    reporter
        .set_service_status("", tonic_health::ServingStatus::Serving)
        .await;
    for name in served {
        reporter
            .set_service_status(*name, tonic_health::ServingStatus::Serving)
            .await;
    }
    let reflection = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(slrt_proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()?;
    Ok((health, reflection))
}

/// Client interceptor: sends the current span's trace context with every call.
#[derive(Debug, Clone, Copy, Default)]
pub struct PropagateTrace;

struct MetadataInjector<'a>(&'a mut tonic::metadata::MetadataMap);

impl Injector for MetadataInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        if let (Ok(key), Ok(value)) = (MetadataKey::from_bytes(key.as_bytes()), MetadataValue::try_from(value)) {
            self.0.insert(key, value);
        }
    }
}

impl Interceptor for PropagateTrace {
    fn call(&mut self, mut request: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
        slrt_telemetry::inject_current(&mut MetadataInjector(request.metadata_mut()));
        Ok(request)
    }
}

/// A client channel to another service of ours, carrying the current trace with every call.
pub type PeerChannel = tonic::service::interceptor::InterceptedService<tonic::transport::Channel, PropagateTrace>;

/// A channel to a peer service's gRPC endpoint that connects on first use, so a service
/// starts (and serves what does not need the peer) while the peer is down. Calls time out
/// rather than hang: a caller decides what a missing answer means.
pub fn peer_channel(url: &str) -> Result<PeerChannel, tonic::codegen::http::uri::InvalidUri> {
    peer_channel_with_deadline(url, std::time::Duration::from_secs(3))
}

/// [`peer_channel`] whose calls may last up to `deadline` (a call's own, shorter timeout
/// still applies): for peers with long answers, such as a bank's statement of a whole
/// period.
pub fn peer_channel_with_deadline(
    url: &str,
    deadline: std::time::Duration,
) -> Result<PeerChannel, tonic::codegen::http::uri::InvalidUri> {
    let channel = tonic::transport::Channel::from_shared(url.to_string())?
        .connect_timeout(std::time::Duration::from_secs(2))
        .timeout(deadline)
        .connect_lazy();
    Ok(tonic::service::interceptor::InterceptedService::new(
        channel,
        PropagateTrace,
    ))
}
