//! The payments benchmark: one period for N beneficiaries (1,000,000 by default) prepared,
//! released, sent to the bank and reconciled by the real disbursement service, with the time
//! of each step, the peak memory (RSS) of this process (the service runs in it) and of the
//! bank simulator, and a check that no payment key was paid twice.
//!
//! What is real: the service as `startup::build` makes it (its database, migrations, relay
//! to the broker, consumers), its use cases (the ones the HTTP API calls), the bank
//! simulator's binary over gRPC. What is not: eligibility, whose release check is answered
//! "payable" by a small gRPC server in this process, so that the figures are disbursement's
//! own; and the entitlements, seeded in bulk in the live path's shape (see `bench.rs`).
//!
//! The service verifies tokens as it does in production: the run makes a key set of its own
//! (`slrt_auth::dev`, in a temporary folder it removes), the service's own token for the
//! release checks, and acts as a maker and a checker of the regency (Kota Pekalongan, 33.75).
//! The database it creates (several GB at 1,000,000 beneficiaries) is dropped at the end,
//! whatever the outcome, unless `--keep-database` asks to keep it for inspection.
//!
//! `make bench-payments` builds it in release mode and runs it; see `--help`.

use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Parser;
use slrt_audit::access::Access;
use slrt_auth::Principal;
use slrt_auth::dev::{DevKeys, Minter, TokenClaims, pii_key_hex};
use slrt_disbursement::app::batches::{ItemPage, Shown};
use slrt_disbursement::app::scope::Scope;
use slrt_disbursement::app::{Disbursement, eligibility_client, sender::bank_client};
use slrt_disbursement::bench::{Seed, seed_period};
use slrt_disbursement::domain::Period;
use slrt_disbursement::settings::Settings;
use slrt_proto::bank::v1 as bank;
use slrt_proto::eligibility::v1 as eligibility;
use slrt_proto::eligibility::v1::eligibility_service_server::{EligibilityService, EligibilityServiceServer};
use sqlx::{Connection, PgPool};
use tokio::net::TcpListener;

#[derive(Debug, Parser)]
#[command(name = "slrt-payments-bench")]
struct Args {
    /// Beneficiaries (one entitlement and one payment each).
    #[arg(long, default_value_t = 1_000_000)]
    beneficiaries: usize,
    /// The period paid.
    #[arg(long, default_value = "2026-Q4")]
    period: String,
    /// Senders working at once, each on its own shard of the payments.
    #[arg(long, default_value_t = 16)]
    senders: u32,
    /// The bank simulator's binary, started on a free port for the run.
    #[arg(long, default_value = "target/release/slrt-bank-simulator")]
    bank_simulator: String,
    /// A PostgreSQL URL to an administrative database: the run creates a fresh database of
    /// its own next to it.
    #[arg(
        long,
        env = "SLRT_BENCH_ADMIN_URL",
        default_value = "postgres://slrt@127.0.0.1:55432/postgres"
    )]
    admin_url: String,
    #[arg(long, env = "SLRT_KAFKA_BROKERS", default_value = "127.0.0.1:19092")]
    brokers: String,
    /// Where the figures are written (JSON).
    #[arg(long, default_value = ".state/bench/payments.json")]
    out: String,
    /// Keep the run's database (several GB at 1,000,000 beneficiaries) for inspection; by
    /// default it is dropped at the end.
    #[arg(long)]
    keep_database: bool,
}

/// The issuer of the run's own tokens.
const BENCH_ISSUER: &str = "https://sso.slrt.bench/realms/slrt";
/// The regency the run's maker and checker work for.
const REGENCY: &str = "33.75";

/// The run's identity provider: a key set, the NIK token key and the service's own token, in
/// a folder removed when the run ends.
struct BenchIdentity {
    dir: std::path::PathBuf,
    minter: Minter,
}

impl BenchIdentity {
    fn create(run: &str) -> anyhow::Result<Self> {
        let dir = std::env::temp_dir().join(format!("{run}-identity"));
        std::fs::create_dir_all(&dir)?;
        let keys = DevKeys::generate("bench-1").map_err(anyhow::Error::msg)?;
        std::fs::write(dir.join("jwks.json"), &keys.jwks_json)?;
        std::fs::write(dir.join("pii-key.hex"), pii_key_hex().map_err(anyhow::Error::msg)?)?;
        let minter = Minter::from_pem("bench-1", &keys.signing_key_pem).map_err(anyhow::Error::msg)?;
        let identity = Self { dir, minter };
        let service_token = identity.token("service:slrt-payments-bench", &["service"], None)?;
        std::fs::write(identity.dir.join("service-token"), service_token)?;
        Ok(identity)
    }

    /// A token valid for a day: a run of 1,000,000 takes well under that.
    fn token(&self, subject: &str, roles: &[&str], region: Option<&str>) -> anyhow::Result<String> {
        let now = chrono::Utc::now().timestamp();
        self.minter
            .mint(&TokenClaims {
                iss: BENCH_ISSUER.to_owned(),
                aud: slrt_auth::settings::DEFAULT_AUDIENCE.to_owned(),
                sub: subject.to_owned(),
                name: String::new(),
                roles: roles.iter().map(|role| (*role).to_owned()).collect(),
                region: region.map(str::to_owned),
                opd: None,
                iat: now - 5,
                nbf: now - 5,
                exp: now + 24 * 3600,
            })
            .map_err(anyhow::Error::msg)
    }

    fn env(&self) -> [(&'static str, String); 4] {
        [
            (
                slrt_auth::settings::JWKS_FILE,
                self.dir.join("jwks.json").display().to_string(),
            ),
            (slrt_auth::settings::ISSUER, BENCH_ISSUER.to_owned()),
            (
                slrt_auth::settings::PII_KEY_FILE,
                self.dir.join("pii-key.hex").display().to_string(),
            ),
            (
                slrt_auth::settings::SERVICE_TOKEN_FILE,
                self.dir.join("service-token").display().to_string(),
            ),
        ]
    }

    /// A person of the regency acting through the use cases, as the HTTP API would pass them
    /// on after verifying their token.
    fn person(&self, subject: &str, role: &str) -> anyhow::Result<Access> {
        Ok(Access {
            principal: Principal::from_claims(
                subject.to_owned(),
                String::new(),
                &[role.to_owned()],
                Some(REGENCY.to_owned()),
                None,
            )?,
            purpose: Some("payments benchmark".to_owned()),
            grants: Vec::new(),
        })
    }
}

impl Drop for BenchIdentity {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Eligibility as this benchmark plays it: everyone is payable.
struct Payable;

#[tonic::async_trait]
impl EligibilityService for Payable {
    async fn screen_person(
        &self,
        _request: tonic::Request<eligibility::ScreenPersonRequest>,
    ) -> Result<tonic::Response<eligibility::ScreenPersonResponse>, tonic::Status> {
        Err(tonic::Status::unimplemented("not part of the benchmark"))
    }

    async fn check_payment_eligibility(
        &self,
        _request: tonic::Request<eligibility::CheckPaymentEligibilityRequest>,
    ) -> Result<tonic::Response<eligibility::CheckPaymentEligibilityResponse>, tonic::Status> {
        Ok(tonic::Response::new(eligibility::CheckPaymentEligibilityResponse {
            payable: true,
            reasons: Vec::new(),
        }))
    }

    async fn report_external_enrolment(
        &self,
        _request: tonic::Request<eligibility::ReportExternalEnrolmentRequest>,
    ) -> Result<tonic::Response<eligibility::ReportExternalEnrolmentResponse>, tonic::Status> {
        Err(tonic::Status::unimplemented("not part of the benchmark"))
    }

    async fn report_external_enrolment_ended(
        &self,
        _request: tonic::Request<eligibility::ReportExternalEnrolmentEndedRequest>,
    ) -> Result<tonic::Response<eligibility::ReportExternalEnrolmentEndedResponse>, tonic::Status> {
        Err(tonic::Status::unimplemented("not part of the benchmark"))
    }

    async fn list_enrolments(
        &self,
        _request: tonic::Request<eligibility::ListEnrolmentsRequest>,
    ) -> Result<tonic::Response<eligibility::ListEnrolmentsResponse>, tonic::Status> {
        Err(tonic::Status::unimplemented("not part of the benchmark"))
    }
}

/// The bank simulator's process; stopped when dropped.
struct BankProcess(Child);

impl Drop for BankProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Peak resident memory of a process, in MiB (`VmHWM`).
fn peak_rss_mib(pid: &str) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

struct Steps(Vec<(&'static str, f64)>);

impl Steps {
    fn record(&mut self, step: &'static str, started: Instant, what: &str) {
        let seconds = started.elapsed().as_secs_f64();
        println!("{step:<10} {seconds:>9.1} s  {what}");
        self.0.push((step, seconds));
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let period = Period::parse(&args.period).context("--period")?;
    let run = format!("slrt_bench_payments_{}", chrono::Utc::now().format("%Y%m%d%H%M%S"));

    let mut admin = sqlx::PgConnection::connect(&args.admin_url)
        .await
        .context("--admin-url: PostgreSQL is not reachable (make infra-up)")?;
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {run}")))
        .execute(&mut admin)
        .await?;
    // Not held open through the run: an idle session may be ended by the server.
    admin.close().await?;
    let database_url = match args.admin_url.rsplit_once('/') {
        Some((server, _)) => format!("{server}/{run}"),
        None => bail!("--admin-url must end in /<database>"),
    };

    let outcome = measure(&args, period, &run, &database_url).await;
    if args.keep_database {
        println!("database {run} kept (--keep-database); drop it with: DROP DATABASE {run}");
    } else {
        // Dropped whatever the outcome: a failed run of 1,000,000 leaves as many GB behind.
        let dropped = async {
            let mut admin = sqlx::PgConnection::connect(&args.admin_url).await?;
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {run} WITH (FORCE)"
            )))
            .execute(&mut admin)
            .await?;
            admin.close().await
        }
        .await;
        match dropped {
            Ok(()) => println!("database {run} dropped"),
            Err(error) => eprintln!("database {run} could not be dropped ({error}); drop it by hand"),
        }
    }
    outcome
}

/// The run itself, on the database `run` made for it.
async fn measure(args: &Args, period: Period, run: &str, database_url: &str) -> anyhow::Result<()> {
    let identity = BenchIdentity::create(run)?;
    let bank_port = free_port()?;
    let bank_process = BankProcess(
        Command::new(&args.bank_simulator)
            .args(["--listen", &format!("127.0.0.1:{bank_port}")])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| {
                format!(
                    "starting {} (cargo build --release -p slrt-bank-simulator)",
                    args.bank_simulator
                )
            })?,
    );
    let bank_url = format!("http://127.0.0.1:{bank_port}");

    let eligibility_listener = TcpListener::bind("127.0.0.1:0").await?;
    let eligibility_url = format!("http://{}", eligibility_listener.local_addr()?);
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(EligibilityServiceServer::new(Payable))
            .serve_with_incoming(tokio_stream_of(eligibility_listener)),
    );

    let mut env: HashMap<&str, String> = HashMap::from([
        ("SLRT_DISBURSEMENT_HTTP_ADDR", "127.0.0.1:0".to_owned()),
        ("SLRT_DISBURSEMENT_GRPC_ADDR", "127.0.0.1:0".to_owned()),
        ("SLRT_DISBURSEMENT_DATABASE_URL", database_url.to_owned()),
        ("SLRT_TOPIC_PREFIX", format!("{run}.")),
        ("SLRT_KAFKA_BROKERS", args.brokers.clone()),
        ("SLRT_ELIGIBILITY_GRPC_URL", eligibility_url.clone()),
        ("SLRT_BANK_GRPC_URL", bank_url.clone()),
        // The benchmark drives the senders itself, several at once.
        ("SLRT_DISBURSEMENT_SEND_POLL_MS", "600000".to_owned()),
        ("SLRT_LOG", "warn".to_owned()),
    ]);
    env.extend(identity.env());
    let settings = Settings::from_lookup(|name| env.get(name).cloned())?;
    let running = slrt_disbursement::startup::build(settings.clone()).await?;
    let stop = running.stopper();
    let service = tokio::spawn(running.run_until_stopped());
    let pool = PgPool::connect(database_url).await?;
    let disbursement = Disbursement {
        pool: pool.clone(),
        store: slrt_eventstore::EventStore::new("disbursement", settings.common.own_topic()),
        eligibility: eligibility_client(
            &eligibility_url,
            &settings.common.grpc_tls,
            settings.service_token.clone(),
        )?,
        bank: bank_client(&bank_url, &settings.common.grpc_tls)?,
        bank_timeout: Duration::from_secs(30),
        component_caps: std::sync::Arc::new(settings.component_caps.clone()),
        nik_tokens: settings.nik_tokens.clone(),
    };
    let maker = identity.person("bo-bench", "back_office")?;
    let checker = identity.person("koordinator-bench", "coordinator")?;
    // What the maker and the checker are shown: the totals and the first page, as over HTTP.
    let regency = Scope::Areas {
        areas: vec![REGENCY.to_owned()],
        unplaced: true,
    };
    let first_page = ItemPage::default();

    println!("database {run}, {} beneficiaries, period {period}", args.beneficiaries);
    let mut steps = Steps(Vec::new());
    let n = args.beneficiaries;

    let started = Instant::now();
    let seeded = seed_period(
        &pool,
        &Seed {
            count: n,
            prefix: "bench-hh".to_owned(),
            region_code: Some(format!("{REGENCY}.01.1002")),
            programme: "PKH".to_owned(),
            component: "child_0_6".to_owned(),
            cadence: period.cadence().to_string(),
            period,
            amount_idr: 750_000,
        },
    )
    .await?;
    steps.record(
        "seed",
        started,
        &format!("{seeded} entitlements with their first payment"),
    );

    let started = Instant::now();
    let batch = disbursement
        .prepare_batch(
            &maker,
            "PKH",
            &period.to_string(),
            Shown {
                scope: &regency,
                page: &first_page,
            },
        )
        .await
        .map_err(|e| anyhow::anyhow!("prepare: {}", e.message))?;
    steps.record(
        "prepare",
        started,
        &format!(
            "{} payments, Rp{} in {} ({} shown)",
            batch.batch.payment_count,
            batch.batch.total_idr,
            batch.batch.batch_id,
            batch.payments.len()
        ),
    );
    let batch_id = batch.batch.batch_id.clone();
    drop(batch);

    let started = Instant::now();
    let released = disbursement
        .release_batch(
            &checker,
            &batch_id,
            Shown {
                scope: &regency,
                page: &first_page,
            },
        )
        .await
        .map_err(|e| anyhow::anyhow!("release: {}", e.message))?;
    steps.record(
        "release",
        started,
        &format!(
            "{} released, {} held",
            released.batch.released_count.unwrap_or_default(),
            released.batch.held_count.unwrap_or_default()
        ),
    );
    drop(released);

    let started = Instant::now();
    let mut senders = Vec::new();
    for shard in 0..args.senders {
        let sender = disbursement.clone();
        let shards = args.senders;
        senders.push(tokio::spawn(async move {
            let mut total = 0;
            loop {
                let pass = sender.send_released_shard(shard, shards).await?;
                total += pass.sent;
                if pass.sent + pass.resolved + pass.unknown == 0 {
                    return Ok::<usize, sqlx::Error>(total);
                }
            }
        }));
    }
    let mut sent = 0;
    for sender in senders {
        sent += sender.await??;
    }
    steps.record(
        "send",
        started,
        &format!("{sent} transfers by {} senders", args.senders),
    );

    let started = Instant::now();
    // The statement of a whole period is one long answer: the transfer timeout is no measure
    // of how long it may take.
    let reconciler = Disbursement {
        bank_timeout: Duration::from_secs(900),
        ..disbursement.clone()
    };
    let reconciled = reconciler
        .reconcile_with_bank(&maker, &batch_id)
        .await
        .map_err(|e| anyhow::anyhow!("reconcile: {} ({:?})", e.message, e.cause))?;
    steps.record(
        "reconcile",
        started,
        &format!(
            "balanced {}, {} changes, {} differences",
            reconciled.balanced,
            reconciled.changes.len(),
            reconciled.differences.len()
        ),
    );

    // No key twice: in the service's table (its unique constraint), among the settled
    // payments, and at the bank.
    let duplicate_keys: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM (SELECT payment_key FROM payment_instructions GROUP BY payment_key
                               HAVING COUNT(*) > 1) AS twice",
    )
    .fetch_one(&pool)
    .await?;
    let settled: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM payment_instructions WHERE bank_status = 'settled'")
        .fetch_one(&pool)
        .await?;
    let statement = slrt_proto::bank::v1::paying_bank_client::PayingBankClient::connect(bank_url.clone())
        .await?
        .max_decoding_message_size(512 * 1024 * 1024)
        .get_statement(bank::StatementRequest {
            batch_id: batch_id.clone(),
            ..bank::StatementRequest::default()
        })
        .await?
        .into_inner();
    let mut at_bank: HashMap<&str, usize> = HashMap::with_capacity(statement.items.len());
    for item in &statement.items {
        *at_bank.entry(item.idempotency_key.as_str()).or_default() += 1;
    }
    let paid_twice_at_bank = at_bank.values().filter(|times| **times > 1).count();
    println!(
        "check      duplicate keys in payment_instructions: {duplicate_keys}; settled: {settled}; transfers at the \
         bank: {}; keys paid twice at the bank: {paid_twice_at_bank}",
        statement.items.len()
    );
    drop(at_bank);

    let own_rss = peak_rss_mib("self").unwrap_or_default();
    let bank_rss = peak_rss_mib(&bank_process.0.id().to_string()).unwrap_or_default();
    println!("peak RSS   benchmark process (service inside) {own_rss:.0} MiB; bank simulator {bank_rss:.0} MiB");

    let figures = serde_json::json!({
        "beneficiaries": n,
        "period": period.to_string(),
        "senders": args.senders,
        "seconds": steps.0.iter().map(|(step, s)| ((*step).to_owned(), serde_json::json!(s))).collect::<serde_json::Map<_, _>>(),
        "settled": settled,
        "duplicate_keys": duplicate_keys,
        "bank_transfers": statement.items.len(),
        "keys_paid_twice_at_bank": paid_twice_at_bank,
        "reconciliation_balanced": reconciled.balanced,
        "peak_rss_mib": {"benchmark_process": own_rss, "bank_simulator": bank_rss},
        "database": run,
        "database_kept": args.keep_database,
    });
    if let Some(dir) = std::path::Path::new(&args.out).parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&args.out, serde_json::to_vec_pretty(&figures)?)?;
    println!("figures in {}", args.out);

    let _ = stop.send(true);
    let _ = service.await;
    pool.close().await;
    if duplicate_keys != 0 || paid_twice_at_bank != 0 || usize::try_from(settled).ok() != Some(n) {
        bail!("the run paid a key twice or left payments unpaid");
    }
    Ok(())
}

fn tokio_stream_of(
    listener: TcpListener,
) -> impl futures::Stream<Item = Result<tokio::net::TcpStream, std::io::Error>> {
    futures::stream::unfold(listener, |listener| async move {
        let accepted = listener.accept().await.map(|(stream, _)| stream);
        Some((accepted, listener))
    })
}
