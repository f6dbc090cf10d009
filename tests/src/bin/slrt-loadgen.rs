//! Load generator for the running stack (`make run`, then `make bench`).
//!
//! `registry` writes a synthetic registry of poor households for eligibility to load, so
//! every generated case can end in a payment. `run` then plays both ends of the system: the
//! desk (POST /v1/cases, cash assistance for one registry head each) and the OPD (Dinas
//! Sosial's system on the gRPC stream, acknowledging and accepting every referral), and reads
//! each case's timeline from the case tracker to see its first payment instruction. It
//! reports cases per second end to end and the latency from the case's opening to its
//! payment instruction, as stamped by the services, and writes the figures to a JSON file.
//!
//! `population` needs no stack: it generates a synthetic population with injected duplicates
//! (`slrt_system_tests::population`) and measures the desk's duplicate detection on it,
//! printing precision, recall per kind, false matches and the time taken. Run it in release
//! for the 100,000-person figure:
//! `cargo run --release -p slrt-system-tests --bin slrt-loadgen -- population --people 100000`.

use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use chrono::{Days, NaiveDate};
use clap::{Parser, Subcommand};
use futures::StreamExt;
use slrt_proto::referral::v1::opd_referral_service_client::OpdReferralServiceClient;
use slrt_proto::referral::v1::{AcceptRequest, AcknowledgeRequest, WatchReferralsRequest};
use slrt_system_tests::population::{Config, Population, evaluate};
use tokio::sync::{Mutex, Semaphore};
use tonic::metadata::MetadataValue;

#[derive(Parser)]
#[command(about = "Drives cases through the running SLRT stack and measures them")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Writes a synthetic registry CSV of poor households without any programme.
    Registry {
        #[arg(long, default_value_t = 2000)]
        households: usize,
        /// Index of the first household: each bench run takes fresh ones, because a household
        /// already enrolled in PKH is (rightly) not granted it again.
        #[arg(long, default_value_t = 0)]
        start: usize,
        #[arg(long)]
        out: PathBuf,
    },
    /// Opens one cash-assistance case per household of the registry file and follows each
    /// to its first payment instruction.
    Run {
        #[arg(long)]
        registry: PathBuf,
        /// How many cases; at most the registry's households.
        #[arg(long, default_value_t = 1000)]
        cases: usize,
        /// Requests in flight at once.
        #[arg(long, default_value_t = 32)]
        concurrency: usize,
        #[arg(long, default_value = "http://127.0.0.1:8081")]
        intake: String,
        #[arg(long, default_value = "http://127.0.0.1:50053")]
        referral_grpc: String,
        /// Dinas Sosial's bearer token, as the local stack writes it.
        #[arg(long, default_value = ".state/auth/tokens/dinsos-officer.token")]
        opd_token_file: PathBuf,
        /// The desk operator's bearer token (their area must hold the cases' village).
        #[arg(long, default_value = ".state/auth/tokens/desk-operator.token")]
        desk_token_file: PathBuf,
        /// Give up waiting for payments after this many seconds.
        #[arg(long, default_value_t = 600)]
        timeout_secs: u64,
        #[arg(long, default_value = "bench-results.json")]
        out: PathBuf,
    },
    /// Measures duplicate detection on a synthetic population with injected duplicates.
    Population {
        /// Known people, in households.
        #[arg(long, default_value_t = 100_000)]
        people: usize,
        /// Injected duplicates of each kind.
        #[arg(long, default_value_t = 1_000)]
        duplicates_per_kind: usize,
        /// New people, who must match nobody.
        #[arg(long, default_value_t = 5_000)]
        clean: usize,
        #[arg(long, default_value_t = 20_260_630)]
        seed: u64,
        /// The regency the households live in.
        #[arg(long, default_value = "33.26")]
        regency: String,
        /// Print this many misses and false matches (names as written, NIKs masked).
        #[arg(long, default_value_t = 0)]
        examples: usize,
    },
}

struct Household {
    nik: String,
    name: String,
    birth_date: NaiveDate,
    kk: String,
}

const VILLAGE: &str = "33.75.01.1002";
const DISTRICT_DIGITS: &str = "337501";

// NIK and KK numbers are unique by construction: the date moves on every 9,999 serials.
fn synthetic(index: usize) -> Household {
    let birth_base = NaiveDate::from_ymd_opt(1960, 1, 1).unwrap_or_default();
    let birth_date = birth_base
        .checked_add_days(Days::new((index / 9999) as u64))
        .unwrap_or(birth_base);
    let serial = index % 9999 + 1;
    let recorded_base = NaiveDate::from_ymd_opt(2010, 1, 1).unwrap_or_default();
    let recorded = recorded_base
        .checked_add_days(Days::new((index / 9999) as u64))
        .unwrap_or(recorded_base);
    Household {
        nik: format!("{DISTRICT_DIGITS}{}{serial:04}", birth_date.format("%d%m%y")),
        name: format!("Warga Uji {index}"),
        birth_date,
        kk: format!("{DISTRICT_DIGITS}{}{serial:04}", recorded.format("%d%m%y")),
    }
}

fn write_registry(households: usize, start: usize, out: &PathBuf) -> anyhow::Result<()> {
    if let Some(parent) = out.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let mut file =
        std::io::BufWriter::new(std::fs::File::create(out).with_context(|| format!("create {}", out.display()))?);
    writeln!(
        file,
        "# Synthetic registry for load tests: one poor household head per row, no programmes."
    )?;
    writeln!(
        file,
        "person_id,nik,full_name,birth_date,sex,household_id,kk_number,region_code,relationship_to_head,desil,deceased,enrolments"
    )?;
    for index in start..start + households {
        let h = synthetic(index);
        writeln!(
            file,
            "P-B{index:07},{},{},{},M,H-B{index:07},{},{VILLAGE},head,{},false,",
            h.nik,
            h.name,
            h.birth_date.format("%Y-%m-%d"),
            h.kk,
            index % 3 + 1
        )?;
    }
    file.flush()?;
    println!("wrote {households} households to {}", out.display());
    Ok(())
}

fn read_registry(path: &PathBuf) -> anyhow::Result<Vec<Household>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("read {}", path.display()))?;
    let mut households = Vec::new();
    for line in text.lines().filter(|l| !l.starts_with('#')).skip(1) {
        let fields: Vec<&str> = line.split(',').collect();
        if fields.len() < 12 || fields[8] != "head" {
            continue;
        }
        households.push(Household {
            nik: fields[1].to_string(),
            name: fields[2].to_string(),
            birth_date: NaiveDate::parse_from_str(fields[3], "%Y-%m-%d")?,
            kk: fields[6].to_string(),
        });
    }
    Ok(households)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * (sorted.len() as f64 - 1.0)).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

type Bearer = MetadataValue<tonic::metadata::Ascii>;

/// Where Dinas Sosial's system reaches the referral service, and with which token.
struct Agency {
    url: String,
    token: Bearer,
}

/// A request from Dinas Sosial (its token), continuing the referral's trace.
fn as_dinsos<T>(message: T, token: &Bearer, traceparent: Option<&Bearer>) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request.metadata_mut().insert("authorization", token.clone());
    if let Some(traceparent) = traceparent {
        request.metadata_mut().insert("traceparent", traceparent.clone());
    }
    request
}

/// Plays Dinas Sosial's system: acknowledges and accepts every referral routed to it.
async fn run_opd(url: String, token: Bearer, accepted: Arc<Mutex<usize>>) -> anyhow::Result<()> {
    let mut client = OpdReferralServiceClient::connect(url)
        .await
        .context("connect to referral gRPC")?;
    let watch = as_dinsos(
        WatchReferralsRequest {
            after_cursor: String::new(),
        },
        &token,
        None,
    );
    let mut stream = client.watch_referrals(watch).await?.into_inner();
    let permits = Arc::new(Semaphore::new(16));
    while let Some(update) = stream.next().await {
        let update = update?;
        if update.event_type != "slrt.referral.v1.ReferralRequested" {
            continue;
        }
        let Some(details) = update.referral.and_then(|r| r.details) else {
            continue;
        };
        let mut client = client.clone();
        let token = token.clone();
        let accepted = Arc::clone(&accepted);
        let permit = Arc::clone(&permits).acquire_owned().await?;
        tokio::spawn(async move {
            let _permit = permit;
            let traceparent = MetadataValue::try_from(update.traceparent.as_str()).ok();
            let actor = "loadgen-opd".to_string();
            let acknowledge = AcknowledgeRequest {
                referral_id: details.referral_id.clone(),
                actor: actor.clone(),
            };
            let _ = client
                .acknowledge(as_dinsos(acknowledge, &token, traceparent.as_ref()))
                .await;
            let accept = AcceptRequest {
                referral_id: details.referral_id,
                actor,
                note: String::new(),
            };
            if client
                .accept(as_dinsos(accept, &token, traceparent.as_ref()))
                .await
                .is_ok()
            {
                *accepted.lock().await += 1;
            }
        });
    }
    Ok(())
}

/// When the case was opened and when its first payment was instructed, from its timeline;
/// `None` while it has no payment yet.
async fn paid_interval(
    http: &reqwest::Client,
    url: &str,
) -> Option<(chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>)> {
    let case: serde_json::Value = http.get(url).send().await.ok()?.json().await.ok()?;
    let at = |event_type: &str| {
        case["timeline"]
            .as_array()?
            .iter()
            .find(|entry| entry["event_type"] == event_type)
            .and_then(|entry| {
                chrono::DateTime::parse_from_rfc3339(entry["occurred_at"].as_str()?)
                    .ok()
                    .map(|t| t.to_utc())
            })
    };
    Some((
        at("slrt.intake.v1.CaseOpened")?,
        at("slrt.disbursement.v1.PaymentInstructionCreated")?,
    ))
}

#[expect(
    clippy::too_many_arguments,
    reason = "one argument per command-line option, each named at the call site"
)]
async fn run(
    registry: PathBuf,
    cases: usize,
    concurrency: usize,
    intake: String,
    desk_token: String,
    agency: Agency,
    timeout_secs: u64,
    out: PathBuf,
) -> anyhow::Result<()> {
    let households = read_registry(&registry)?;
    if households.len() < cases {
        bail!(
            "the registry has {} households; {cases} cases need as many",
            households.len()
        );
    }

    let accepted = Arc::new(Mutex::new(0usize));
    let opd = tokio::spawn(run_opd(agency.url, agency.token, Arc::clone(&accepted)));

    let started: Arc<Mutex<HashMap<String, Instant>>> = Arc::new(Mutex::new(HashMap::new()));
    let post_latencies: Arc<Mutex<Vec<f64>>> = Arc::new(Mutex::new(Vec::new()));
    let failures = Arc::new(Mutex::new(0usize));
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::AUTHORIZATION,
        format!("Bearer {desk_token}")
            .parse()
            .context("the desk token is not a valid header")?,
    );
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .default_headers(headers)
        .build()?;
    let permits = Arc::new(Semaphore::new(concurrency));
    let begin = Instant::now();
    let mut posts = Vec::with_capacity(cases);
    for household in households.into_iter().take(cases) {
        let permit = Arc::clone(&permits).acquire_owned().await?;
        let http = http.clone();
        let url = format!("{intake}/v1/cases");
        let started = Arc::clone(&started);
        let post_latencies = Arc::clone(&post_latencies);
        let failures = Arc::clone(&failures);
        posts.push(tokio::spawn(async move {
            let _permit = permit;
            let body = serde_json::json!({
                "applicant": {
                    "nik": household.nik, "full_name": household.name,
                    "birth_date": household.birth_date.format("%Y-%m-%d").to_string(), "sex": "M",
                    "region_code": VILLAGE, "kk_number": household.kk
                },
                "needs": [{"category": "cash_assistance"}],
                "desk_region_code": VILLAGE,
                "opened_by": "loadgen"
            });
            let sent = Instant::now();
            match http.post(&url).json(&body).send().await {
                Ok(response) if response.status() == 201 => {
                    let created: serde_json::Value = response.json().await.unwrap_or_default();
                    if let Some(case_id) = created["case_id"].as_str() {
                        started.lock().await.insert(case_id.to_string(), sent);
                    }
                    post_latencies.lock().await.push(sent.elapsed().as_secs_f64() * 1000.0);
                }
                Ok(response) => {
                    eprintln!(
                        "POST failed: {} {}",
                        response.status(),
                        response.text().await.unwrap_or_default()
                    );
                    *failures.lock().await += 1;
                }
                Err(error) => {
                    eprintln!("POST failed: {error}");
                    *failures.lock().await += 1;
                }
            }
        }));
    }
    for post in posts {
        post.await?;
    }
    let posting_secs = begin.elapsed().as_secs_f64();
    let opened = started.lock().await.len();
    println!(
        "opened {opened} cases in {posting_secs:.1} s ({:.0}/s)",
        opened as f64 / posting_secs
    );

    // Each case's own timeline says when it was opened and when its payment was instructed,
    // stamped by the services themselves: that interval is the end-to-end latency.
    let mut pending: Vec<String> = started.lock().await.keys().cloned().collect();
    let mut end_to_end = Vec::with_capacity(opened);
    let mut first_opened: Option<chrono::DateTime<chrono::Utc>> = None;
    let mut last_paid: Option<chrono::DateTime<chrono::Utc>> = None;
    let deadline = Instant::now() + Duration::from_secs(timeout_secs);
    while !pending.is_empty() && Instant::now() < deadline {
        let checks = futures::stream::iter(pending.clone())
            .map(|case_id| {
                let http = http.clone();
                let url = format!("{intake}/v1/cases/{case_id}");
                async move { (case_id, paid_interval(&http, &url).await) }
            })
            .buffer_unordered(concurrency);
        let results: Vec<_> = checks.collect().await;
        pending.clear();
        for (case_id, interval) in results {
            match interval {
                Some((opened_at, paid_at)) => {
                    end_to_end.push((paid_at - opened_at).num_microseconds().unwrap_or_default() as f64 / 1000.0);
                    first_opened = Some(first_opened.map_or(opened_at, |t| t.min(opened_at)));
                    last_paid = Some(last_paid.map_or(paid_at, |t| t.max(paid_at)));
                }
                None => pending.push(case_id),
            }
        }
        println!("{} of {opened} cases paid so far", end_to_end.len());
        if !pending.is_empty() {
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
    }
    opd.abort();
    let system_secs = match (first_opened, last_paid) {
        (Some(first), Some(last)) => (last - first).num_milliseconds() as f64 / 1000.0,
        _ => 0.0,
    };

    end_to_end.sort_by(f64::total_cmp);
    let mut post = post_latencies.lock().await.clone();
    post.sort_by(f64::total_cmp);
    let completed = end_to_end.len();
    let results = serde_json::json!({
        "cases_requested": cases,
        "cases_opened": opened,
        "post_failures": *failures.lock().await,
        "referrals_accepted": *accepted.lock().await,
        "cases_paid": completed,
        "concurrency": concurrency,
        "first_case_opened_to_last_payment_seconds": system_secs,
        "posting_cases_per_second": opened as f64 / posting_secs,
        "end_to_end_cases_per_second": if system_secs > 0.0 { completed as f64 / system_secs } else { 0.0 },
        "post_latency_ms": {"p50": percentile(&post, 50.0), "p95": percentile(&post, 95.0), "p99": percentile(&post, 99.0)},
        "end_to_end_latency_ms": {
            "p50": percentile(&end_to_end, 50.0), "p95": percentile(&end_to_end, 95.0), "p99": percentile(&end_to_end, 99.0)
        },
    });
    std::fs::write(&out, serde_json::to_string_pretty(&results)?)?;
    println!("{}", serde_json::to_string_pretty(&results)?);
    println!("written to {}", out.display());
    if completed < opened {
        bail!("only {completed} of {opened} cases reached a payment instruction");
    }
    Ok(())
}

fn measure_duplicate_detection(config: Config, examples: usize) -> anyhow::Result<()> {
    let started = Instant::now();
    let population = Population::generate(&config);
    let generated = started.elapsed();
    let started = Instant::now();
    let index = population.index();
    let indexed = started.elapsed();
    println!(
        "{} people in {} households of {} ({}), seed {}; {} probes",
        population.people.len(),
        population.households.len(),
        config.regency,
        slrt_identity::Regions::kemendagri()
            .name_of(&config.regency)
            .unwrap_or("unknown"),
        config.seed,
        population.probes.len()
    );
    println!(
        "generated in {:.2} s, indexed in {:.2} s",
        generated.as_secs_f64(),
        indexed.as_secs_f64()
    );
    let evaluation = evaluate(&index, &population.probes, examples);
    print!("{}", evaluation.report());
    for mistake in &evaluation.mistakes {
        println!(
            "{} {} {}\n    applicant {}\n    known     {}",
            mistake.kind.code(),
            mistake.what,
            mistake.score.map(|s| format!("{s:.3}")).unwrap_or_default(),
            mistake.applicant,
            mistake.other
        );
    }
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Registry { households, start, out } => write_registry(households, start, &out),
        Command::Run {
            registry,
            cases,
            concurrency,
            intake,
            referral_grpc,
            opd_token_file,
            desk_token_file,
            timeout_secs,
            out,
        } => {
            let desk_token = std::fs::read_to_string(&desk_token_file)
                .with_context(|| {
                    format!(
                        "{}: the desk operator's token (the local stack writes it: make run)",
                        desk_token_file.display()
                    )
                })?
                .trim()
                .to_string();
            let token = std::fs::read_to_string(&opd_token_file).with_context(|| {
                format!(
                    "{}: Dinas Sosial's token (the local stack writes it: make run)",
                    opd_token_file.display()
                )
            })?;
            let token =
                Bearer::try_from(format!("Bearer {}", token.trim())).context("the token is not valid metadata")?;
            let agency = Agency {
                url: referral_grpc,
                token,
            };
            run(
                registry,
                cases,
                concurrency,
                intake,
                desk_token,
                agency,
                timeout_secs,
                out,
            )
            .await
        }
        Command::Population {
            people,
            duplicates_per_kind,
            clean,
            seed,
            regency,
            examples,
        } => measure_duplicate_detection(
            Config {
                seed,
                people,
                duplicates_per_kind,
                clean,
                regency,
            },
            examples,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn synthetic_niks_and_family_cards_are_valid_and_distinct() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 22).unwrap_or_default();
        let mut niks = std::collections::HashSet::new();
        for index in [0, 1, 9998, 9999, 10_000, 123_456] {
            let h = synthetic(index);
            let nik = slrt_identity::Nik::parse_at(&h.nik, today);
            assert!(nik.is_ok(), "{index}: {nik:?}");
            assert!(slrt_identity::KkNumber::parse_at(&h.kk, today).is_ok(), "{index}");
            assert!(niks.insert(h.nik));
        }
    }
}
