//! Test support shared by every test suite: real PostgreSQL and a real Kafka-protocol broker,
//! isolated per test.
//!
//! - [`fresh_database`]: a new, empty database per test on the server named by
//!   `SLRT_TEST_DATABASE_URL` (the local stack's cluster by default).
//! - [`unique_prefix`]: a topic and consumer-group prefix per test, so tests share a broker
//!   without seeing each other's messages.
//! - [`PrivateBroker`]: a broker process of the test's own (the `tansu` binary named by
//!   `SLRT_TANSU_BIN`, else found on PATH), which the test may stop and start again.
//!
//! - [`publish`]: puts an event on a topic as another service would, to drive a consumer.
//! - [`identity`]: a development identity provider whose tokens the services under test
//!   verify, and the settings that point them at it.
//!
//! `make test` starts the shared PostgreSQL and broker before running the suites.

#![expect(
    clippy::expect_used,
    reason = "test support: a failure here should stop the test loudly"
)]

pub mod identity;

pub use identity::identity;

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, Executor, PgPool};

/// URL of the server's maintenance database that tests create their databases from.
pub fn admin_database_url() -> String {
    std::env::var("SLRT_TEST_DATABASE_URL").unwrap_or_else(|_| "postgres://slrt@127.0.0.1:55432/postgres".to_string())
}

/// How long a test waits on one step of its set-up (a connection, a database, a request)
/// before failing with a message that names the step, instead of hanging the run.
pub const SETUP_STEP_TIMEOUT: Duration = Duration::from_secs(60);

/// Creates an empty database with a unique name and returns its URL.
pub async fn fresh_database_url() -> String {
    let admin: PgConnectOptions = admin_database_url()
        .parse()
        .expect("SLRT_TEST_DATABASE_URL is not a PostgreSQL URL");
    let name = format!("slrt_test_{}", uuid::Uuid::now_v7().simple());
    let mut conn = tokio::time::timeout(SETUP_STEP_TIMEOUT, admin.connect())
        .await
        .unwrap_or_else(|_| {
            panic!(
                "no connection to PostgreSQL at {} within a minute",
                admin_database_url()
            )
        })
        .unwrap_or_else(|error| {
            panic!(
                "cannot reach PostgreSQL at {} ({error}); run `make test` or `deploy/local/infra.sh up`",
                admin_database_url()
            )
        });
    // The name is generated above from a UUID, never from input.
    tokio::time::timeout(
        SETUP_STEP_TIMEOUT,
        conn.execute(sqlx::AssertSqlSafe(format!(r#"CREATE DATABASE "{name}""#))),
    )
    .await
    .unwrap_or_else(|_| panic!("CREATE DATABASE {name} did not finish within a minute"))
    .expect("create test database");
    admin.database(&name).to_url_lossy().to_string()
}

/// An HTTP client for tests: a request the service never answers fails the test after two
/// minutes with the URL in the message, instead of hanging it.
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .timeout(2 * SETUP_STEP_TIMEOUT)
        .build()
        .expect("an HTTP client")
}

/// A pool on a fresh, empty database.
pub async fn fresh_database() -> PgPool {
    let url = fresh_database_url().await;
    PgPoolOptions::new()
        .max_connections(10)
        .connect(&url)
        .await
        .expect("connect to the test database")
}

/// Address of the shared broker started by the local stack.
pub fn brokers() -> String {
    std::env::var("SLRT_KAFKA_BROKERS").unwrap_or_else(|_| "127.0.0.1:19092".to_string())
}

/// A prefix for topics and consumer groups that no other test uses.
pub fn unique_prefix() -> String {
    format!("t{}.", &uuid::Uuid::now_v7().simple().to_string()[20..])
}

/// A port nobody listens on right now.
///
/// The port is taken from below Linux's ephemeral range (32768 and up): a port the kernel
/// handed out for `:0` goes back to that pool once released, and any outgoing connection
/// (to PostgreSQL, to the broker) may take it before the service it was meant for binds it.
/// Below the range only another test's pick can collide, and the random start makes that
/// rare; a caller that starts processes still checks that they bound.
pub fn free_port() -> u16 {
    const LOW: u16 = 20_000;
    const HIGH: u16 = 32_000;
    let span = u32::from(HIGH - LOW);
    // The low bits of a v7 id are random.
    let start = uuid::Uuid::now_v7().as_u128() as u32 % span;
    (0..span)
        .map(|offset| LOW + ((start + offset) % span) as u16)
        .find(|port| TcpListener::bind(("127.0.0.1", *port)).is_ok())
        .expect("a free port between 20000 and 32000")
}

/// Polls `check` until it returns `Some`, or panics with `what` after `timeout`.
pub async fn eventually<T, F, Fut>(timeout: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        if Instant::now() > deadline {
            panic!("timed out after {timeout:?} waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A broker process owned by one test, with durable storage that outlives a stop.
pub struct PrivateBroker {
    port: u16,
    storage: PathBuf,
    child: Option<Child>,
}

impl PrivateBroker {
    /// Starts a broker on a free port with storage in a fresh folder.
    pub async fn start() -> Self {
        let storage = std::env::temp_dir().join(format!("slrt-broker-{}", uuid::Uuid::now_v7().simple()));
        std::fs::create_dir_all(&storage).expect("create broker storage folder");
        let mut broker = Self {
            port: free_port(),
            storage,
            child: None,
        };
        broker.restart().await;
        broker
    }

    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Kills the broker abruptly, as a crash would.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the broker again on the same port and storage, and waits until it listens.
    pub async fn restart(&mut self) {
        self.kill();
        let bin = std::env::var("SLRT_TANSU_BIN").unwrap_or_else(|_| "tansu".to_string());
        let url = format!("tcp://127.0.0.1:{}", self.port);
        let log = std::fs::File::create(self.storage.join("broker.log")).expect("broker log file");
        let child = Command::new(&bin)
            .args([
                "broker",
                "--listener-url",
                &url,
                "--advertised-listener-url",
                &url,
                "--storage-engine",
            ])
            // tansu resolves the SQLite path against its working directory, even with a
            // leading slash, so it runs inside its storage folder with a relative path.
            .arg("sqlite://tansu.db")
            .current_dir(&self.storage)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start the broker {bin:?} ({error}); set SLRT_TANSU_BIN"));
        self.child = Some(child);
        let address = self.address();
        eventually(Duration::from_secs(30), "the private broker to listen", || {
            let address = address.clone();
            async move { tokio::net::TcpStream::connect(&address).await.ok().map(|_| ()) }
        })
        .await;
    }
}

impl Drop for PrivateBroker {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.storage);
    }
}

/// Publishes `payload` on `topic` inside an envelope, as the service `source` would, and
/// returns the envelope's event id. For driving a service's consumers from a test.
pub async fn publish<P: prost::Name>(
    brokers: &str,
    topic: &str,
    source: &str,
    case_id: Option<uuid::Uuid>,
    payload: &P,
) -> uuid::Uuid {
    use rdkafka::producer::{FutureProducer, FutureRecord};
    let event_id = uuid::Uuid::now_v7();
    let now = chrono::Utc::now();
    let envelope = slrt_proto::common::v1::EventEnvelope {
        event_id: event_id.to_string(),
        event_type: P::full_name(),
        stream_id: format!("test-{event_id}"),
        stream_version: 1,
        case_id: case_id.map(|id| id.to_string()).unwrap_or_default(),
        causation_id: String::new(),
        occurred_at: Some(prost_types_timestamp(now)),
        source_service: source.to_string(),
        global_position: 0,
        payload: payload.encode_to_vec(),
    };
    let producer: FutureProducer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("broker.address.family", "v4")
        .create()
        .expect("test producer");
    let key = case_id.map(|id| id.to_string()).unwrap_or_else(|| event_id.to_string());
    let value = prost::Message::encode_to_vec(&envelope);
    producer
        .send(
            FutureRecord::to(topic).key(&key).payload(&value),
            Duration::from_secs(15),
        )
        .await
        .map_err(|(error, _)| error)
        .expect("publish test event");
    event_id
}

fn prost_types_timestamp(at: chrono::DateTime<chrono::Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: at.timestamp(),
        nanos: at.timestamp_subsec_nanos() as i32,
    }
}

/// Installs tracing and the W3C propagator once per test process, as `main` does in the
/// services, so spans get real trace ids and trace context flows as in production.
/// Only warnings are logged unless `SLRT_LOG` says otherwise.
pub fn init_telemetry() {
    static GUARD: std::sync::OnceLock<Option<slrt_telemetry::TelemetryGuard>> = std::sync::OnceLock::new();
    GUARD.get_or_init(|| {
        slrt_telemetry::init_with_filter("slrt-test", None, slrt_telemetry::LogStyle::Pretty, "warn").ok()
    });
}
