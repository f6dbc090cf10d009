//! Typed settings every service shares, read from the environment and validated at start.
//!
//! Per-service values are prefixed with the service name (`SLRT_INTAKE_HTTP_ADDR`), values all
//! services share are not (`SLRT_KAFKA_BROKERS`). A bad value stops start-up with a message
//! naming the variable; nothing is silently defaulted over a value that was given.

use std::net::SocketAddr;
use std::time::Duration;

pub mod grpc_tls;

pub use grpc_tls::GrpcTls;

/// The four services, with their default ports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    Intake,
    Eligibility,
    Referral,
    Disbursement,
}

impl Service {
    pub const ALL: [Service; 4] = [Self::Intake, Self::Eligibility, Self::Referral, Self::Disbursement];

    pub fn name(self) -> &'static str {
        match self {
            Self::Intake => "intake",
            Self::Eligibility => "eligibility",
            Self::Referral => "referral",
            Self::Disbursement => "disbursement",
        }
    }

    fn env_prefix(self) -> String {
        format!("SLRT_{}_", self.name().to_ascii_uppercase())
    }

    pub fn default_http_port(self) -> u16 {
        match self {
            Self::Intake => 8081,
            Self::Eligibility => 8082,
            Self::Referral => 8083,
            Self::Disbursement => 8084,
        }
    }

    pub fn default_grpc_port(self) -> u16 {
        match self {
            Self::Intake => 50051,
            Self::Eligibility => 50052,
            Self::Referral => 50053,
            Self::Disbursement => 50054,
        }
    }

    /// The Kafka topic this service publishes its events on (before any test prefix).
    pub fn topic(self) -> String {
        format!("slrt.{}.events.v1", self.name())
    }
}

#[derive(Debug, thiserror::Error)]
#[error("setting {variable} is invalid: {reason}")]
pub struct SettingsError {
    pub variable: String,
    pub reason: String,
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// One JSON object per line, for machines (the default).
    Json,
    /// Human-readable, for a developer's terminal.
    Pretty,
}

/// What every service needs to run.
#[derive(Debug, Clone)]
pub struct CommonSettings {
    pub service: Service,
    pub http_addr: SocketAddr,
    pub grpc_addr: SocketAddr,
    pub database_url: String,
    pub database_max_connections: u32,
    /// Comma-separated `host:port` list.
    pub kafka_brokers: String,
    /// Whether the outbox relay uses the broker's idempotent producer
    /// (`SLRT_KAFKA_IDEMPOTENT_PRODUCER`, default false): true against Apache Kafka; false
    /// (one request in flight, consumers absorbing a repeated send) against tansu, whose
    /// idempotent path fails under load.
    pub kafka_idempotent_producer: bool,
    /// Prepended to every topic name and consumer group; lets tests share one broker.
    pub topic_prefix: String,
    /// Partitions of the topics this service creates when they are missing.
    pub topic_partitions: i32,
    /// OTLP/gRPC collector endpoint; traces are exported only when set.
    pub otlp_endpoint: Option<String>,
    pub log_format: LogFormat,
    /// How long the relay sleeps when no notification arrives; bounds publish latency after a
    /// missed notification.
    pub relay_poll_interval: Duration,
    /// Requests one caller (a token's subject, else a client address) may make per minute,
    /// over HTTP and gRPC together, sustained.
    pub rate_limit_per_minute: u32,
    /// Requests one caller may make at once above the sustained rate.
    pub rate_limit_burst: u32,
    /// TLS of the gRPC server and of calls to `https://` peers (`SLRT_GRPC_TLS_*`).
    pub grpc_tls: GrpcTls,
}

impl CommonSettings {
    /// Reads the settings from the process environment.
    pub fn from_env(service: Service) -> Result<Self, SettingsError> {
        Self::from_lookup(service, |name| std::env::var(name).ok())
    }

    /// Reads the settings through `lookup`, so tests can supply their own environment.
    pub fn from_lookup(service: Service, lookup: impl Fn(&str) -> Option<String>) -> Result<Self, SettingsError> {
        let prefix = service.env_prefix();
        let own = |suffix: &str| -> (String, Option<String>) {
            let name = format!("{prefix}{suffix}");
            let value = lookup(&name);
            (name, value)
        };
        let shared = |name: &str| -> (String, Option<String>) { (name.to_string(), lookup(name)) };

        let http_addr = parse_addr(own("HTTP_ADDR"), service.default_http_port())?;
        let grpc_addr = parse_addr(own("GRPC_ADDR"), service.default_grpc_port())?;
        let (_, database_url) = own("DATABASE_URL");
        let database_url =
            database_url.unwrap_or_else(|| format!("postgres://slrt@127.0.0.1:55432/slrt_{}", service.name()));
        let database_max_connections = parse_number(own("DATABASE_MAX_CONNECTIONS"), 16u32)?;
        let (_, brokers) = shared("SLRT_KAFKA_BROKERS");
        let kafka_brokers = brokers.unwrap_or_else(|| "127.0.0.1:19092".to_string());
        if kafka_brokers.trim().is_empty() {
            return Err(SettingsError {
                variable: "SLRT_KAFKA_BROKERS".into(),
                reason: "must not be empty".into(),
            });
        }
        let kafka_idempotent_producer = match shared("SLRT_KAFKA_IDEMPOTENT_PRODUCER") {
            (_, None) => false,
            (_, Some(value)) if value == "true" => true,
            (_, Some(value)) if value == "false" => false,
            (variable, Some(value)) => {
                return Err(SettingsError {
                    variable,
                    reason: format!("expected true or false, found {value:?}"),
                });
            }
        };
        let (_, topic_prefix) = shared("SLRT_TOPIC_PREFIX");
        let topic_partitions = parse_number(shared("SLRT_TOPIC_PARTITIONS"), 4i32)?;
        let (_, otlp_endpoint) = shared("OTEL_EXPORTER_OTLP_ENDPOINT");
        let log_format = match shared("SLRT_LOG_FORMAT") {
            (_, None) => LogFormat::Json,
            (_, Some(value)) if value == "json" => LogFormat::Json,
            (_, Some(value)) if value == "pretty" => LogFormat::Pretty,
            (variable, Some(value)) => {
                return Err(SettingsError {
                    variable,
                    reason: format!("expected json or pretty, found {value:?}"),
                });
            }
        };
        let relay_poll_ms = parse_number(shared("SLRT_RELAY_POLL_MS"), 500u64)?;
        let rate_limit_per_minute = parse_number(shared("SLRT_RATE_LIMIT_PER_MINUTE"), 6000u32)?;
        let rate_limit_burst = parse_number(shared("SLRT_RATE_LIMIT_BURST"), 300u32)?;
        for (variable, value) in [
            ("SLRT_RATE_LIMIT_PER_MINUTE", rate_limit_per_minute),
            ("SLRT_RATE_LIMIT_BURST", rate_limit_burst),
        ] {
            if value == 0 {
                return Err(SettingsError {
                    variable: variable.into(),
                    reason: "must be at least 1 (there is no setting that turns the limit off)".into(),
                });
            }
        }

        let grpc_tls = GrpcTls::from_lookup(&lookup)?;

        Ok(Self {
            service,
            http_addr,
            grpc_addr,
            database_url,
            database_max_connections,
            kafka_brokers,
            kafka_idempotent_producer,
            topic_prefix: topic_prefix.unwrap_or_default(),
            topic_partitions,
            otlp_endpoint: otlp_endpoint.filter(|endpoint| !endpoint.is_empty()),
            log_format,
            relay_poll_interval: Duration::from_millis(relay_poll_ms),
            rate_limit_per_minute,
            rate_limit_burst,
            grpc_tls,
        })
    }

    /// The full topic name of a service's events, with this deployment's prefix.
    pub fn topic_of(&self, service: Service) -> String {
        format!("{}{}", self.topic_prefix, service.topic())
    }

    /// This service's own topic.
    pub fn own_topic(&self) -> String {
        self.topic_of(self.service)
    }

    /// Consumer group id for one of this service's consumers.
    pub fn consumer_group(&self, consumer: &str) -> String {
        format!("{}slrt.{}.{}", self.topic_prefix, self.service.name(), consumer)
    }
}

/// Reads an optional URL of another service's gRPC endpoint, e.g. `SLRT_ELIGIBILITY_GRPC_URL`.
pub fn peer_grpc_url(lookup: impl Fn(&str) -> Option<String>, peer: Service) -> Result<String, SettingsError> {
    let variable = format!("{}GRPC_URL", peer.env_prefix());
    grpc_url(
        &lookup,
        &variable,
        &format!("http://127.0.0.1:{}", peer.default_grpc_port()),
    )
}

/// Reads an optional gRPC endpoint URL from `variable` (another service's, or an outside
/// system's such as the paying bank), `default` when unset.
pub fn grpc_url(
    lookup: &impl Fn(&str) -> Option<String>,
    variable: &str,
    default: &str,
) -> Result<String, SettingsError> {
    match lookup(variable) {
        None => Ok(default.to_string()),
        Some(url) if url.starts_with("http://") || url.starts_with("https://") => Ok(url),
        Some(url) => Err(SettingsError {
            variable: variable.to_string(),
            reason: format!("expected an http:// or https:// URL, found {url:?}"),
        }),
    }
}

/// Reads an optional duration in whole milliseconds from `variable`, within `range`;
/// `default_ms` when unset or blank.
pub fn millis_between(
    lookup: &impl Fn(&str) -> Option<String>,
    variable: &str,
    default_ms: u64,
    range: std::ops::RangeInclusive<u64>,
) -> Result<Duration, SettingsError> {
    match lookup(variable).filter(|text| !text.trim().is_empty()) {
        None => Ok(Duration::from_millis(default_ms)),
        Some(text) => match text.trim().parse::<u64>() {
            Ok(ms) if range.contains(&ms) => Ok(Duration::from_millis(ms)),
            _ => Err(SettingsError {
                variable: variable.to_string(),
                reason: format!(
                    "{text:?} is not a number of milliseconds between {} and {}",
                    range.start(),
                    range.end()
                ),
            }),
        },
    }
}

fn parse_addr((variable, value): (String, Option<String>), default_port: u16) -> Result<SocketAddr, SettingsError> {
    match value {
        None => Ok(SocketAddr::from(([0, 0, 0, 0], default_port))),
        Some(text) => text.parse().map_err(|_| SettingsError {
            variable,
            reason: format!("expected host:port such as 0.0.0.0:{default_port}, found {text:?}"),
        }),
    }
}

fn parse_number<T: std::str::FromStr>(
    (variable, value): (String, Option<String>),
    default: T,
) -> Result<T, SettingsError> {
    match value {
        None => Ok(default),
        Some(text) => text.parse().map_err(|_| SettingsError {
            variable,
            reason: format!("expected a number, found {text:?}"),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn settings(vars: &[(&str, &str)]) -> Result<CommonSettings, SettingsError> {
        let env: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        CommonSettings::from_lookup(Service::Referral, |name| env.get(name).cloned())
    }

    #[test]
    fn a_duration_in_milliseconds_is_read_within_its_range_or_refused_naming_the_variable() {
        let lookup = |value: &'static str| move |_: &str| Some(value.to_string());
        assert_eq!(
            millis_between(&lookup("250"), "X_MS", 1000, 10..=60_000).ok(),
            Some(Duration::from_millis(250))
        );
        assert_eq!(
            millis_between(&lookup(" "), "X_MS", 1000, 10..=60_000).ok(),
            Some(Duration::from_millis(1000))
        );
        let error = millis_between(&lookup("5"), "X_MS", 1000, 10..=60_000).err();
        assert_eq!(
            error.map(|e| (e.variable, e.reason)),
            Some((
                "X_MS".to_string(),
                "\"5\" is not a number of milliseconds between 10 and 60000".to_string()
            ))
        );
    }

    #[test]
    fn defaults_use_the_documented_ports() {
        let s = settings(&[]).unwrap();
        assert_eq!(s.http_addr.port(), 8083);
        assert_eq!(s.grpc_addr.port(), 50053);
        assert_eq!(s.own_topic(), "slrt.referral.events.v1");
    }

    #[test]
    fn service_specific_variables_override_defaults() {
        let s = settings(&[("SLRT_REFERRAL_HTTP_ADDR", "127.0.0.1:0"), ("SLRT_TOPIC_PREFIX", "t1.")]).unwrap();
        assert_eq!(s.http_addr.port(), 0);
        assert_eq!(s.topic_of(Service::Intake), "t1.slrt.intake.events.v1");
        assert_eq!(s.consumer_group("tracker"), "t1.slrt.referral.tracker");
    }

    #[test]
    fn the_idempotent_producer_is_chosen_explicitly_and_a_bad_value_is_named() {
        assert!(!settings(&[]).unwrap().kafka_idempotent_producer);
        let on = settings(&[("SLRT_KAFKA_IDEMPOTENT_PRODUCER", "true")]).unwrap();
        assert!(on.kafka_idempotent_producer);
        let error = settings(&[("SLRT_KAFKA_IDEMPOTENT_PRODUCER", "yes")]).unwrap_err();
        assert_eq!(error.variable, "SLRT_KAFKA_IDEMPOTENT_PRODUCER");
    }

    #[test]
    fn a_bad_address_names_the_variable() {
        let error = settings(&[("SLRT_REFERRAL_GRPC_ADDR", "nowhere")]).unwrap_err();
        assert_eq!(error.variable, "SLRT_REFERRAL_GRPC_ADDR");
    }
}
