//! gRPC plumbing shared by every service.

use anyhow::Context as _;
use opentelemetry::propagation::{Extractor, Injector};
use slrt_settings::{GrpcTls, grpc_tls};
use tonic::codegen::http;
use tonic::metadata::{MetadataKey, MetadataValue};
use tonic::service::Interceptor;
use tonic::transport::{Certificate, ClientTlsConfig, Endpoint, Identity, Server, ServerTlsConfig};

struct HttpHeaders<'a>(&'a http::HeaderMap);

impl Extractor for HttpHeaders<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|value| value.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(|name| name.as_str()).collect()
    }
}

/// A server builder whose request spans continue the caller's trace (`traceparent` metadata),
/// speaking TLS when the service has a certificate, and requiring a client certificate of
/// the configured authorities when it has them (mutual TLS). A certificate or key rustls
/// cannot use stops start-up naming its setting.
pub fn server(tls: &GrpcTls) -> anyhow::Result<Server> {
    let mut builder = Server::builder();
    if let Some(identity) = &tls.identity {
        let mut config = ServerTlsConfig::new().identity(Identity::from_pem(&identity.certificate, &identity.key));
        if let Some(authorities) = &tls.client_ca {
            config = config.client_ca_root(Certificate::from_pem(authorities));
        }
        builder = builder.tls_config(config).with_context(|| {
            format!(
                "setting {} / {} is invalid: the certificate and key cannot serve TLS",
                grpc_tls::CERT_FILE,
                grpc_tls::KEY_FILE
            )
        })?;
    }
    Ok(builder.trace_fn(|request: &http::Request<()>| {
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
    }))
}

/// An endpoint for `url`: over TLS for an `https://` URL, trusting the authorities of
/// `SLRT_GRPC_TLS_CA_FILE` and presenting this service's certificate when it has one. An
/// `https://` URL without authorities to trust is refused rather than trusted blindly.
pub fn endpoint(url: &str, tls: &GrpcTls) -> anyhow::Result<Endpoint> {
    let endpoint = Endpoint::from_shared(url.to_string()).with_context(|| format!("{url:?} is not a gRPC URL"))?;
    if !url.starts_with("https://") {
        return Ok(endpoint);
    }
    let authorities = tls.peer_ca.as_ref().with_context(|| {
        format!(
            "setting {} is required to call {url}: the authorities that sign its certificate",
            grpc_tls::CA_FILE
        )
    })?;
    let mut config = ClientTlsConfig::new().ca_certificate(Certificate::from_pem(authorities));
    if let Some(identity) = &tls.identity {
        config = config.identity(Identity::from_pem(&identity.certificate, &identity.key));
    }
    endpoint
        .tls_config(config)
        .with_context(|| format!("TLS for {url} cannot be set up from {}", grpc_tls::CA_FILE))
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
pub fn peer_channel(url: &str, tls: &GrpcTls) -> anyhow::Result<PeerChannel> {
    peer_channel_with_deadline(url, tls, std::time::Duration::from_secs(3))
}

/// [`peer_channel`] whose calls may last up to `deadline` (a call's own, shorter timeout
/// still applies): for peers with long answers, such as a bank's statement of a whole
/// period.
pub fn peer_channel_with_deadline(
    url: &str,
    tls: &GrpcTls,
    deadline: std::time::Duration,
) -> anyhow::Result<PeerChannel> {
    let channel = endpoint(url, tls)?
        .connect_timeout(std::time::Duration::from_secs(2))
        .timeout(deadline)
        .connect_lazy();
    Ok(tonic::service::interceptor::InterceptedService::new(
        channel,
        PropagateTrace,
    ))
}
