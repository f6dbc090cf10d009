//! Support for black-box tests across the four services: [`Stack`] starts the real service
//! binaries as processes, each with a fresh database, on free ports, sharing one broker
//! under a topic prefix of their own, and stops them when dropped.
//!
//! The binaries are taken from `SLRT_BIN_DIR` (`make test` builds them into
//! `target/debug` first).
//!
//! [`population`] generates a synthetic population with injected duplicates, to measure the
//! desk's duplicate detection without any service running.

#![expect(clippy::expect_used, reason = "test support: failures should stop the test loudly")]

pub mod population;

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub const SERVICES: [&str; 4] = ["intake", "eligibility", "referral", "disbursement"];

/// Where the service binaries are.
pub fn bin_dir() -> PathBuf {
    match std::env::var("SLRT_BIN_DIR") {
        Ok(dir) => PathBuf::from(dir),
        Err(_) => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/debug"),
    }
}

pub struct ServiceProcess {
    pub name: &'static str,
    pub http_port: u16,
    pub grpc_port: u16,
    /// Whether the gRPC port speaks TLS.
    grpc_tls: bool,
    child: Option<Child>,
    log: PathBuf,
    env: Vec<(String, String)>,
}

impl ServiceProcess {
    pub fn http(&self) -> String {
        format!("http://127.0.0.1:{}", self.http_port)
    }

    /// The gRPC URL: `https://` when the stack requires mutual TLS.
    pub fn grpc(&self) -> String {
        let scheme = if self.grpc_tls { "https" } else { "http" };
        format!("{scheme}://127.0.0.1:{}", self.grpc_port)
    }

    /// The URL of the service's own database.
    pub fn database_url(&self) -> String {
        let variable = format!("SLRT_{}_DATABASE_URL", self.name.to_ascii_uppercase());
        self.env
            .iter()
            .find(|(key, _)| *key == variable)
            .map(|(_, url)| url.clone())
            .unwrap_or_default()
    }

    /// The service's whole log so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The end of the service's log, for failure messages.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }

    fn start(&mut self) {
        let binary = bin_dir().join(format!("slrt-{}", self.name));
        assert!(
            binary.exists(),
            "{} is missing: build the services first (`cargo build --workspace --bins`)",
            binary.display()
        );
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .expect("service log file");
        let child = Command::new(&binary)
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdout(log.try_clone().expect("log handle"))
            .stderr(log)
            .stdin(Stdio::null())
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start {}: {error}", binary.display()));
        self.child = Some(child);
    }

    /// Kills the process abruptly, as a crash would.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the process again with the same settings and waits until it is ready.
    pub async fn restart(&mut self) {
        self.kill();
        self.start();
        self.wait_ready().await;
    }

    async fn wait_ready(&mut self) {
        if let Err(failure) = self.ready().await {
            panic!("{}", failure.message);
        }
    }

    /// Waits until the service answers ready; a process that exits meanwhile is reported at
    /// once, with its log, instead of after the whole wait.
    async fn ready(&mut self) -> Result<(), StartFailure> {
        let url = format!("{}/readyz", self.http());
        let client = slrt_testkit::http_client();
        for _ in 0..600 {
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                self.child = None;
                let log = self.log_text();
                return Err(StartFailure {
                    port_taken: log.contains("Address already in use"),
                    message: format!(
                        "{} exited before it was ready ({status}):\n{}",
                        self.name,
                        self.log_tail()
                    ),
                });
            }
            if let Ok(response) = client.get(&url).send().await
                && response.status() == 200
            {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Err(StartFailure {
            port_taken: false,
            message: format!("{} did not become ready:\n{}", self.name, self.log_tail()),
        })
    }
}

/// Why a service of a stack did not come up.
struct StartFailure {
    /// Another process bound one of its ports between the pick and the bind.
    port_taken: bool,
    message: String,
}

impl Drop for ServiceProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The four services, running.
pub struct Stack {
    pub prefix: String,
    pub services: HashMap<&'static str, ServiceProcess>,
    pub logs: PathBuf,
}

impl Stack {
    /// Starts the four services, each with a fresh database, and waits until all are ready.
    /// A port picked free can still be taken before a service binds it; the stack then starts
    /// again on other ports, at most three times.
    pub async fn start() -> Stack {
        Self::start_with(None).await
    }

    /// Starts the four services with their gRPC ports requiring client certificates of
    /// `certificates`' authority, and calling each other over mutual TLS.
    pub async fn start_with_mutual_tls(certificates: &StackCertificates) -> Stack {
        Self::start_with(Some(certificates)).await
    }

    async fn start_with(certificates: Option<&StackCertificates>) -> Stack {
        slrt_testkit::init_telemetry();
        let mut attempt = 1;
        loop {
            match Self::start_once(certificates).await {
                Ok(stack) => return stack,
                Err(failure) if failure.port_taken && attempt < 3 => {
                    println!(
                        "a port was taken before its service bound it; starting again: {}",
                        failure.message
                    );
                    attempt += 1;
                }
                Err(failure) => panic!("{}", failure.message),
            }
        }
    }

    async fn start_once(certificates: Option<&StackCertificates>) -> Result<Stack, StartFailure> {
        let prefix = slrt_testkit::unique_prefix();
        let logs = std::env::temp_dir().join(format!("slrt-stack-{}", prefix.trim_end_matches('.')));
        std::fs::create_dir_all(&logs).expect("log folder");
        let mut ports = HashMap::new();
        for name in SERVICES {
            ports.insert(name, (slrt_testkit::free_port(), slrt_testkit::free_port()));
        }
        let mut services = HashMap::new();
        let eligibility_scheme = if certificates.is_some() { "https" } else { "http" };
        for name in SERVICES {
            let upper = name.to_ascii_uppercase();
            let (http_port, grpc_port) = ports[name];
            let mut env = vec![
                (format!("SLRT_{upper}_HTTP_ADDR"), format!("127.0.0.1:{http_port}")),
                (format!("SLRT_{upper}_GRPC_ADDR"), format!("127.0.0.1:{grpc_port}")),
                (
                    format!("SLRT_{upper}_DATABASE_URL"),
                    slrt_testkit::fresh_database_url().await,
                ),
                (
                    "SLRT_ELIGIBILITY_GRPC_URL".to_string(),
                    format!("{eligibility_scheme}://127.0.0.1:{}", ports["eligibility"].1),
                ),
                ("SLRT_KAFKA_BROKERS".to_string(), slrt_testkit::brokers()),
                ("SLRT_TOPIC_PREFIX".to_string(), prefix.clone()),
                ("SLRT_RELAY_POLL_MS".to_string(), "200".to_string()),
                ("SLRT_LOG_FORMAT".to_string(), "json".to_string()),
                // One test subject stands for many desks at once.
                ("SLRT_RATE_LIMIT_PER_MINUTE".to_string(), "60000".to_string()),
                ("SLRT_RATE_LIMIT_BURST".to_string(), "2000".to_string()),
            ];
            // Every service verifies tokens of the tests' identity provider.
            env.extend(
                slrt_testkit::identity()
                    .env()
                    .into_iter()
                    .map(|(name, value)| (name.to_string(), value)),
            );
            if let Some(certificates) = certificates {
                env.extend(certificates.service_env(name));
            }
            let mut process = ServiceProcess {
                name,
                http_port,
                grpc_port,
                grpc_tls: certificates.is_some(),
                child: None,
                log: logs.join(format!("{name}.log")),
                env,
            };
            process.start();
            services.insert(name, process);
        }
        // A failed start drops `services`, which stops the ones that did come up.
        for name in SERVICES {
            services.get_mut(name).expect("started").ready().await?;
        }
        Ok(Stack { prefix, services, logs })
    }

    pub fn service(&self, name: &str) -> &ServiceProcess {
        &self.services[name]
    }

    pub fn service_mut(&mut self, name: &str) -> &mut ServiceProcess {
        self.services.get_mut(name).expect("known service")
    }

    /// Every service's log tail, for a failure message.
    pub fn all_logs(&self) -> String {
        SERVICES
            .iter()
            .map(|name| format!("--- {name} ---\n{}", self.services[name].log_tail()))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// A certificate authority of the tests' own, with a certificate for each service and for
/// the systems the tests play, written to a folder of their own.
pub struct StackCertificates {
    pub dir: PathBuf,
}

impl StackCertificates {
    /// A new authority, issuing certificates to the four services and to `systems`.
    pub fn generate(systems: &[&str]) -> StackCertificates {
        let dir = std::env::temp_dir().join(format!(
            "slrt-certs-{}",
            slrt_testkit::unique_prefix().trim_end_matches('.')
        ));
        std::fs::create_dir_all(&dir).expect("certificate folder");
        let names: Vec<&str> = SERVICES.iter().chain(systems).copied().collect();
        slrt_auth::dev::DevAuthority::generate("SLRT test CA")
            .and_then(|authority| authority.write_set(&dir, &names))
            .expect("the test authority's certificates");
        StackCertificates { dir }
    }

    pub fn authority_pem(&self) -> String {
        std::fs::read_to_string(self.dir.join("ca.pem")).expect("authority file")
    }

    /// The certificate and key of `name`, PEM.
    pub fn identity_pem(&self, name: &str) -> (String, String) {
        (
            std::fs::read_to_string(self.dir.join(format!("{name}.pem"))).expect("certificate file"),
            std::fs::read_to_string(self.dir.join(format!("{name}-key.pem"))).expect("key file"),
        )
    }

    fn service_env(&self, name: &str) -> Vec<(String, String)> {
        let path = |file: String| self.dir.join(file).display().to_string();
        vec![
            ("SLRT_GRPC_TLS_CERT_FILE".to_string(), path(format!("{name}.pem"))),
            ("SLRT_GRPC_TLS_KEY_FILE".to_string(), path(format!("{name}-key.pem"))),
            ("SLRT_GRPC_TLS_CLIENT_CA_FILE".to_string(), path("ca.pem".to_string())),
            ("SLRT_GRPC_TLS_CA_FILE".to_string(), path("ca.pem".to_string())),
        ]
    }
}

impl Drop for StackCertificates {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
