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
//! `make bench-payments` builds it in release mode and runs it; see `--help`.

use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Parser;
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
    let database_url = match args.admin_url.rsplit_once('/') {
        Some((server, _)) => format!("{server}/{run}"),
        None => bail!("--admin-url must end in /<database>"),
    };

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

    let env: HashMap<&str, String> = HashMap::from([
        ("SLRT_DISBURSEMENT_HTTP_ADDR", "127.0.0.1:0".to_owned()),
        ("SLRT_DISBURSEMENT_GRPC_ADDR", "127.0.0.1:0".to_owned()),
        ("SLRT_DISBURSEMENT_DATABASE_URL", database_url.clone()),
        ("SLRT_TOPIC_PREFIX", format!("{run}.")),
        ("SLRT_KAFKA_BROKERS", args.brokers.clone()),
        ("SLRT_ELIGIBILITY_GRPC_URL", eligibility_url.clone()),
        ("SLRT_BANK_GRPC_URL", bank_url.clone()),
        // The benchmark drives the senders itself, several at once.
        ("SLRT_DISBURSEMENT_SEND_POLL_MS", "600000".to_owned()),
        ("SLRT_LOG", "warn".to_owned()),
    ]);
    let settings = Settings::from_lookup(|name| env.get(name).cloned())?;
    let running = slrt_disbursement::startup::build(settings.clone()).await?;
    let stop = running.stopper();
    let service = tokio::spawn(running.run_until_stopped());
    let pool = PgPool::connect(&database_url).await?;
    let disbursement = Disbursement {
        pool: pool.clone(),
        store: slrt_eventstore::EventStore::new("disbursement", settings.common.own_topic()),
        eligibility: eligibility_client(&eligibility_url)?,
        bank: bank_client(&bank_url)?,
        bank_timeout: Duration::from_secs(30),
        component_caps: std::sync::Arc::new(settings.component_caps.clone()),
    };

    println!("database {run}, {} beneficiaries, period {period}", args.beneficiaries);
    let mut steps = Steps(Vec::new());
    let n = args.beneficiaries;

    let started = Instant::now();
    let seeded = seed_period(
        &pool,
        &Seed {
            count: n,
            prefix: "bench-hh".to_owned(),
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
        .prepare_batch("PKH", &period.to_string(), "maker.bench")
        .await
        .map_err(|e| anyhow::anyhow!("prepare: {}", e.message))?;
    steps.record(
        "prepare",
        started,
        &format!(
            "{} payments, Rp{} in {}",
            batch.payment_count, batch.total_idr, batch.batch_id
        ),
    );
    let batch_id = batch.batch_id.clone();
    drop(batch);

    let started = Instant::now();
    let released = disbursement
        .release_batch(&batch_id, "checker.bench")
        .await
        .map_err(|e| anyhow::anyhow!("release: {}", e.message))?;
    steps.record(
        "release",
        started,
        &format!(
            "{} released, {} held",
            released.released_count.unwrap_or_default(),
            released.held_count.unwrap_or_default()
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
        .reconcile_with_bank(&batch_id)
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
    });
    if let Some(dir) = std::path::Path::new(&args.out).parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&args.out, serde_json::to_vec_pretty(&figures)?)?;
    println!("figures in {}", args.out);

    let _ = stop.send(true);
    let _ = service.await;
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
