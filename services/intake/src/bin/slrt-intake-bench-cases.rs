//! `slrt-intake-bench-cases`: latency of the supervisors' case list, search and counts at a
//! million cases, through intake's real HTTP handlers and PostgreSQL.
//!
//! ```sh
//! make bench-cases                                   # 1,000,000 cases, 100 timed runs per query
//! slrt-intake-bench-cases --cases 200000 --runs 50   # smaller
//! slrt-intake-bench-cases --reuse                    # time again on the database already loaded
//! ```
//!
//! The database `slrt_bench_cases` on the server of `--admin-url` is dropped and created
//! again, migrated, and loaded with bulk SQL straight into the tracker's tables, in the shape
//! the tracker writes from events (`projections::apply`): one `tracked_cases` row per case
//! with its status derived from its needs, one to three `tracked_needs` rows with the status,
//! programme, agency, escalation and overdue clock a need at that stage has, opening times
//! over two years, addresses over 40 regencies of Java. The timeline (`case_timeline`), which
//! no list or count reads, is not loaded. Then each query shape is sent through the actix
//! application (routing, extractors, handlers, JSON) that intake serves, a few times to warm
//! up and then `--runs` times, and p50 / p95 / p99 are printed and written as JSON.
//!
//! Every request carries a supervisor's token, as in service: the province supervisor of
//! Central Java (`33`) for most shapes, the city supervisor of Pekalongan (`33.75`) for the
//! shapes named so; the lists are filtered by their area and each page is audited (the
//! load makes no person records, so the records name nobody, but the look-up of the
//! applicants' NIKs is made and timed). The tokens come from a key set made for the run.

use std::time::{Duration, Instant};

use actix_web::{App, test, web};
use anyhow::Context;
use clap::Parser;
use slrt_auth::dev::{DevKeys, Minter, TokenClaims, pii_key_hex};
use slrt_auth::grpc::TokenSource;
use slrt_auth::{Verifier, VerifierSettings};
use slrt_eventstore::EventStore;
use slrt_identity::NikTokenizer;
use slrt_intake::app::{Intake, eligibility_client};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, Executor, PgPool};

#[derive(Debug, Parser)]
#[command(
    name = "slrt-intake-bench-cases",
    about = "Case list and counts latency at a million cases"
)]
struct Cli {
    /// A maintenance database of the server to create the benchmark database on.
    #[arg(
        long,
        env = "SLRT_TEST_DATABASE_URL",
        default_value = "postgres://slrt@127.0.0.1:55432/postgres"
    )]
    admin_url: String,
    /// Cases to load.
    #[arg(long, default_value_t = 1_000_000)]
    cases: i64,
    /// Timed runs per list query shape.
    #[arg(long, default_value_t = 100)]
    runs: usize,
    /// Timed runs per counts query shape (each reads every selected case).
    #[arg(long, default_value_t = 20)]
    count_runs: usize,
    /// Time the database loaded by an earlier run instead of loading it again.
    #[arg(long)]
    reuse: bool,
    /// Time only the query shapes whose name contains this.
    #[arg(long)]
    only: Option<String>,
    /// Where to write the figures as JSON.
    #[arg(long, default_value = ".state/bench/cases.json")]
    out: std::path::PathBuf,
}

const DATABASE: &str = "slrt_bench_cases";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let admin: PgConnectOptions = cli.admin_url.parse().context("--admin-url is not a PostgreSQL URL")?;
    if !cli.reuse {
        let mut conn = admin.connect().await.context("cannot reach PostgreSQL")?;
        conn.execute(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)"
        )))
        .await?;
        conn.execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {DATABASE}")))
            .await?;
    }
    let url = admin.database(DATABASE).to_url_lossy().to_string();
    let pool = PgPoolOptions::new().max_connections(4).connect(&url).await?;
    // Migrated on reuse too: a database loaded by an earlier version gains what the
    // handlers now need (the audit log, the applicant index) without a reload.
    slrt_eventstore::migrate(&pool).await?;
    slrt_audit::migrate(&pool).await?;
    let mut migrator = sqlx::migrate!("./migrations");
    migrator.set_ignore_missing(true);
    migrator.run(&pool).await?;
    if !cli.reuse {
        let started = Instant::now();
        load(&pool, cli.cases).await?;
        eprintln!("loaded {} cases in {:.1}s", cli.cases, started.elapsed().as_secs_f64());
    }
    let (cases, needs): (i64, i64) =
        sqlx::query_as("SELECT (SELECT count(*) FROM tracked_cases), (SELECT count(*) FROM tracked_needs)")
            .fetch_one(&pool)
            .await?;
    eprintln!(
        "timing over {cases} cases and {needs} needs, {} runs per query",
        cli.runs
    );

    let keys = DevKeys::generate("bench").map_err(anyhow::Error::msg)?;
    let minter = Minter::from_pem(&keys.kid, &keys.signing_key_pem).map_err(anyhow::Error::msg)?;
    let issuer = "https://sso.slrt.bench/realms/slrt";
    let verifier = Verifier::from_jwks(
        &keys.jwks_json,
        VerifierSettings {
            issuer: issuer.to_string(),
            audience: "slrt-api".to_string(),
            leeway_seconds: 30,
        },
    )?;
    let now = chrono::Utc::now().timestamp();
    let supervisor = |region: &str| -> anyhow::Result<String> {
        let token = minter
            .mint(&TokenClaims {
                iss: issuer.to_string(),
                aud: "slrt-api".to_string(),
                sub: format!("bench-supervisor-{region}"),
                name: String::new(),
                roles: vec!["supervisor".to_string()],
                region: Some(region.to_string()),
                opd: None,
                iat: now,
                nbf: now,
                exp: now + 24 * 3600,
            })
            .map_err(anyhow::Error::msg)?;
        Ok(format!("Bearer {token}"))
    };
    let (province, city) = (supervisor("33")?, supervisor("33.75")?);
    let nik_tokens = NikTokenizer::from_hex("bench", &pii_key_hex().map_err(anyhow::Error::msg)?)?;
    let intake = Intake {
        pool: pool.clone(),
        store: EventStore::new("intake", "slrt.intake.events.v1"),
        // Never called by the lists; it connects on first use only.
        eligibility: eligibility_client(
            "http://127.0.0.1:9",
            &Default::default(),
            TokenSource::Fixed(String::new()),
        )?,
        nik_tokens: nik_tokens.clone(),
    };
    let app = test::init_service(
        App::new()
            .app_data(web::Data::new(intake))
            .app_data(web::Data::new(verifier))
            .app_data(web::Data::new(slrt_audit::http::AuditLog {
                pool: pool.clone(),
                nik_tokens,
            }))
            .configure(slrt_intake::http::configure),
    )
    .await;

    let get = async |uri: &str, token: &str| -> anyhow::Result<serde_json::Value> {
        let request = test::TestRequest::get()
            .uri(uri)
            .insert_header(("Authorization", token))
            .insert_header(("x-slrt-purpose", "benchmark"))
            .to_request();
        let response = test::call_service(&app, request).await;
        let status = response.status();
        let body = test::read_body(response).await;
        anyhow::ensure!(
            status.is_success(),
            "{uri}: {status} {}",
            String::from_utf8_lossy(&body)
        );
        Ok(serde_json::from_slice(&body)?)
    };
    // The cursor of page 101 of the unfiltered list, walked to the way a client would.
    let mut later_page = String::new();
    for _ in 0..100 {
        let uri = if later_page.is_empty() {
            "/v1/cases?limit=100".to_string()
        } else {
            format!("/v1/cases?limit=100&next={later_page}")
        };
        later_page = get(&uri, &province).await?["next"]
            .as_str()
            .context("fewer cases than pages to walk")?
            .to_string();
    }
    let shapes: Vec<(&str, String)> = vec![
        ("no filter", "/v1/cases?limit=100".into()),
        ("status (common)", "/v1/cases?status=in_service&limit=100".into()),
        ("status (rare)", "/v1/cases?status=withdrawn&limit=100".into()),
        ("region: regency prefix", "/v1/cases?region=33.75&limit=100".into()),
        ("region: district prefix", "/v1/cases?region=33.75.04&limit=100".into()),
        ("region: village", "/v1/cases?region=33.75.04.1002&limit=100".into()),
        ("region: province prefix", "/v1/cases?region=33&limit=100".into()),
        ("city supervisor", "/v1/cases?limit=100".into()),
        (
            "city supervisor: district",
            "/v1/cases?region=33.75.04&limit=100".into(),
        ),
        ("OPD (common)", "/v1/cases?opd=DINSOS&limit=100".into()),
        ("OPD (rare)", "/v1/cases?opd=BAZNAS&limit=100".into()),
        ("programme (common)", "/v1/cases?programme=PKH&limit=100".into()),
        ("programme (rare)", "/v1/cases?programme=RTLH&limit=100".into()),
        ("overdue", "/v1/cases?overdue=true&limit=100".into()),
        (
            "opened between dates",
            "/v1/cases?opened_from=2026-03-01&opened_to=2026-04-01&limit=100".into(),
        ),
        (
            "status + region + OPD",
            "/v1/cases?status=referred&region=33.75&opd=DINSOS&limit=100".into(),
        ),
        ("keyset page 101", format!("/v1/cases?limit=100&next={later_page}")),
        ("counts (all)", "/v1/cases/counts".into()),
        ("counts (regency)", "/v1/cases/counts?region=33.75".into()),
        ("counts (OPD)", "/v1/cases/counts?opd=DINSOS".into()),
        ("counts (district)", "/v1/cases/counts?region=33.75.04".into()),
    ];
    let mut results = Vec::new();
    println!(
        "{:<26} {:>8} {:>9} {:>9} {:>9}",
        "query", "rows", "p50 ms", "p95 ms", "p99 ms"
    );
    for (name, uri) in &shapes {
        if cli.only.as_ref().is_some_and(|only| !name.contains(only.as_str())) {
            continue;
        }
        let mut times = Vec::new();
        let mut rows = 0;
        let runs = if uri.contains("/counts") {
            cli.count_runs
        } else {
            cli.runs
        };
        for run in 0..runs + 3 {
            let started = Instant::now();
            // The city supervisor for the shapes named so, the province supervisor for the rest.
            let token = if name.starts_with("city supervisor") {
                &city
            } else {
                &province
            };
            let body = get(uri, token).await?;
            let elapsed = started.elapsed();
            rows = body["cases"].as_array().map(Vec::len).unwrap_or(1);
            // The first runs warm the caches and the plan; they are not counted.
            if run >= 3 {
                times.push(elapsed);
            }
        }
        times.sort();
        let [p50, p95, p99] = [0.50, 0.95, 0.99].map(|q| millis(percentile(&times, q)));
        println!("{name:<26} {rows:>8} {p50:>9.2} {p95:>9.2} {p99:>9.2}");
        results.push(serde_json::json!({
            "query": name, "uri": uri, "rows": rows, "p50_ms": p50, "p95_ms": p95, "p99_ms": p99,
        }));
    }
    if let Some(parent) = cli.out.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let report = serde_json::json!({"cases": cases, "needs": needs, "runs": cli.runs, "queries": results});
    std::fs::write(&cli.out, serde_json::to_vec_pretty(&report)?)?;
    eprintln!("figures written to {}", cli.out.display());
    Ok(())
}

fn percentile(sorted: &[Duration], q: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let index = ((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[index]
}

fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

/// Loads `cases` cases in the tracker's shape (see the module documentation).
async fn load(pool: &PgPool, cases: i64) -> anyhow::Result<()> {
    // Stages, by share of cases, and the need status each stage gives its needs: a case's
    // status is the one `domain::lifecycle_status` derives from such needs.
    // Temporary tables live on one connection: every statement below runs on it.
    let mut conn = pool.acquire().await?;
    conn.execute(
        "CREATE TEMP TABLE stage (stage TEXT, low INT, high INT, need_status TEXT, with_referral BOOL);
         INSERT INTO stage VALUES
           ('open', 0, 10, 'open', false), ('assessed', 10, 15, 'approved', false),
           ('referred', 15, 50, 'referred', true), ('in_service', 50, 75, 'in_service', true),
           ('resolved', 75, 90, 'resolved', true), ('closed', 90, 97, 'resolved', true),
           ('withdrawn', 97, 100, 'withdrawn', true);
         CREATE TEMP TABLE need_kind (n INT, category TEXT, programme TEXT, opd TEXT);
         INSERT INTO need_kind VALUES
           (0, 'cash_assistance', 'PKH', 'DINSOS'), (1, 'health_insurance', 'PBI-JK', 'DINKES'),
           (2, 'civil_documents', 'ADMINDUK', 'DISDUKCAPIL'), (3, 'food_assistance', 'BPNT', 'DINSOS'),
           (4, 'school_aid', 'PIP', 'DISDIK'), (5, 'job_training', 'PELATIHAN', 'DINPERINAKER'),
           (6, 'elderly_care', 'PERMAKANAN', 'DINSOS'), (7, 'housing_repair', 'RTLH', 'BAZNAS');
         CREATE TEMP TABLE regency (n INT, code TEXT);
         INSERT INTO regency
           SELECT row_number() OVER () - 1, code FROM unnest(ARRAY[
             '33.01','33.02','33.03','33.04','33.05','33.06','33.07','33.08','33.09','33.10',
             '33.11','33.12','33.13','33.14','33.15','33.16','33.17','33.18','33.19','33.20',
             '33.21','33.22','33.23','33.24','33.25','33.26','33.27','33.28','33.29','33.71',
             '33.72','33.73','33.74','33.75','33.76','32.75','32.73','35.78','31.71','36.03']) AS code;",
    )
    .await?;
    // One statement per table, set-based. Pseudo-random but repeatable: every attribute is a
    // hash of the case's serial.
    sqlx::query(
        "INSERT INTO tracked_cases (case_id, case_number, kind, status, applicant_name, nik_masked, region_code,
                                    desk_region_code, opened_by, warnings, opened_at, updated_at,
                                    complaint_type, grievance_type, closed_at, withdrawn_at)
         SELECT c.case_id, 'SLRT-BENCH-' || lpad(c.i::text, 7, '0'),
                CASE WHEN c.h % 10 = 0 THEN 'complaint' ELSE 'application' END,
                s.stage, 'Warga ' || c.i, '3375********' || lpad((c.i % 10000)::text, 4, '0'),
                c.region, c.region, 'fo-bench-' || (c.h % 50),
                '[]', c.opened_at, c.opened_at + interval '3 days',
                CASE WHEN c.h % 10 = 0 THEN 'grievance' END,
                CASE WHEN c.h % 10 = 0 THEN 'exclusion_error' END,
                CASE WHEN s.stage = 'closed' THEN c.opened_at + interval '20 days' END,
                CASE WHEN s.stage = 'withdrawn' THEN c.opened_at + interval '5 days' END
         FROM (
             SELECT i, h,
                    -- UUIDv7-like: the opening time in front, so ids grow with time as intake's do.
                    (lpad(to_hex((extract(epoch FROM opened_at) * 1000)::bigint), 12, '0')
                     || '7' || substr(md5(i::text), 1, 3) || '8' || substr(md5(i::text), 4, 15))::uuid AS case_id,
                    opened_at,
                    r.code || '.' || lpad((1 + d % 20)::text, 2, '0') || '.' || (CASE WHEN d % 3 = 0 THEN '1' ELSE '2' END)
                        || lpad((1 + (d / 60) % 15)::text, 3, '0') AS region
             FROM (
                 SELECT i, abs(hashint8(i)) AS h, abs(hashint8(i + 7919)) AS d,
                        now() - (abs(hashint8(i * 31)) % (730 * 86400)) * interval '1 second' AS opened_at
                 FROM generate_series(1, $1) AS i
             ) g
             JOIN regency r ON r.n = (g.h / 11) % 40
         ) c
         JOIN stage s ON (c.h / 13) % 100 >= s.low AND (c.h / 13) % 100 < s.high",
    )
    .bind(cases)
    .execute(&mut *conn)
    .await?;
    // One to three needs per case; a referred or in-service need is overdue now and then,
    // and escalated a little more often (the flag stays after the agency answers).
    sqlx::query(
        "INSERT INTO tracked_needs (case_id, need_id, category, status, programme_code, opd_code, referral_id,
                                    updated_at, referral_attempt, escalation_level, overdue_clock)
         SELECT c.case_id, gen_random_uuid(), k.category, s.need_status,
                CASE WHEN s.need_status <> 'open' THEN k.programme END,
                CASE WHEN s.with_referral THEN k.opd END,
                CASE WHEN s.with_referral THEN gen_random_uuid() END,
                c.updated_at, CASE WHEN s.with_referral THEN 1 ELSE 0 END,
                CASE WHEN s.with_referral AND abs(hashint8(n.k + c.h)) % 25 = 0 THEN 1 ELSE 0 END,
                CASE WHEN s.need_status IN ('referred', 'in_service') AND abs(hashint8(n.k + c.h)) % 40 = 0
                     THEN 'resolution' END
         FROM (SELECT case_id, status, updated_at, abs(hashint8(hashtext(case_number))) AS h FROM tracked_cases) c
         JOIN stage s ON s.stage = c.status
         CROSS JOIN LATERAL generate_series(0, (c.h % 3)::int) AS n(k)
         JOIN need_kind k ON k.n = (c.h / 3 + n.k * 3) % 8",
    )
    .execute(&mut *conn)
    .await?;
    // The running totals took millions of updates in one statement; a desk's gradual writes
    // leave autovacuum time to keep them compact, which VACUUM FULL stands in for here.
    for table in ["case_count_cells", "case_marks", "case_mark_cells"] {
        conn.execute(sqlx::AssertSqlSafe(format!("VACUUM FULL {table}")))
            .await?;
    }
    for table in [
        "tracked_cases",
        "tracked_needs",
        "case_count_cells",
        "case_marks",
        "case_mark_cells",
    ] {
        conn.execute(sqlx::AssertSqlSafe(format!("VACUUM ANALYZE {table}")))
            .await?;
    }
    Ok(())
}
