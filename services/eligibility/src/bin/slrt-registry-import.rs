//! `slrt-registry-import`: imports a registry file (CSV, the format in
//! `services/eligibility/README.md`) into eligibility's database, or writes a synthetic one.
//!
//! ```sh
//! slrt-registry-import registry.csv                       # rejects go to registry.csv.rejects.csv
//! slrt-registry-import registry.csv --batch-size 10000 --database-url postgres://…
//! slrt-registry-import generate --rows 1000000 --seed 7 --region 33.75 --out registry.csv
//! ```
//!
//! Runs eligibility's migrations first, shows progress on stderr and prints a summary on
//! stdout. Interrupted, it continues where it stopped when run again on the same file.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use slrt_eligibility::app::registry::import::{self, ImportOptions, ImportReport, Progress};
use slrt_eligibility::synthetic::{SyntheticRegistry, write_synthetic_registry};
use slrt_eligibility::{settings, startup};
use slrt_eventstore::EventStore;
use slrt_identity::RegionCode;
use slrt_settings::{CommonSettings, Service};
use sqlx::postgres::PgPoolOptions;

#[derive(Debug, Parser)]
#[command(
    name = "slrt-registry-import",
    version,
    about = "Import a registry file (DTKS / DTSEN rows) into the eligibility service's database",
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    import: ImportArgs,
}

#[derive(Debug, Args)]
struct ImportArgs {
    /// The registry file (CSV). Rejected rows are written to <FILE>.rejects.csv.
    #[arg(required = true)]
    file: Option<PathBuf>,
    /// Eligibility's database [default: SLRT_ELIGIBILITY_DATABASE_URL, else
    /// postgres://slrt@127.0.0.1:55432/slrt_eligibility]
    #[arg(long)]
    database_url: Option<String>,
    /// Data rows per transaction.
    #[arg(long, default_value_t = ImportOptions::DEFAULT_BATCH_SIZE as u64,
          value_parser = clap::value_parser!(u64).range(1..=100_000))]
    batch_size: u64,
    /// Start again from the first row even if an import of this file was interrupted.
    #[arg(long)]
    restart: bool,
    /// Stop, unfinished, after this many batches, as a crash would; run again to continue.
    #[arg(long, value_name = "N")]
    stop_after_batches: Option<u64>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Write a synthetic registry file: deterministic for a seed, with valid NIK and KK
    /// numbers in real villages.
    Generate {
        /// Data rows to write.
        #[arg(long)]
        rows: u64,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Kemendagri region the households live in (province, regency or district).
        #[arg(long, default_value = "33")]
        region: String,
        /// Prefix of every person and household id.
        #[arg(long, default_value = "SYN-")]
        id_prefix: String,
        /// Break every N-th row (a bad NIK, desil, region, duplicate NIK, ...).
        #[arg(long, value_name = "N")]
        bad_every: Option<u64>,
        #[arg(long)]
        out: PathBuf,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Generate {
            rows,
            seed,
            region,
            id_prefix,
            bad_every,
            out,
        }) => {
            let region = RegionCode::parse(&region).with_context(|| format!("--region {region}"))?;
            let spec = SyntheticRegistry {
                rows,
                seed,
                region,
                id_prefix,
                bad_every,
            };
            let file = std::fs::File::create(&out).with_context(|| format!("cannot create {}", out.display()))?;
            let summary = write_synthetic_registry(&spec, std::io::BufWriter::with_capacity(1 << 20, file))
                .with_context(|| format!("cannot write {}", out.display()))?;
            println!(
                "wrote {} rows ({} households, {} broken on purpose) to {}",
                summary.rows,
                summary.households,
                summary.broken_rows,
                out.display()
            );
            Ok(())
        }
        None => run_import(cli.import).await,
    }
}

async fn run_import(args: ImportArgs) -> anyhow::Result<()> {
    let Some(file) = args.file else {
        anyhow::bail!("name the registry file to import");
    };
    let common = CommonSettings::from_env(Service::Eligibility)?;
    let catalogue = settings::catalogue_from_lookup(|name| std::env::var(name).ok())?;
    let database_url = args.database_url.unwrap_or(common.database_url.clone());
    let pool = PgPoolOptions::new()
        .max_connections(2)
        .connect(&database_url)
        .await
        .context("cannot connect to eligibility's database")?;
    slrt_eventstore::migrate(&pool)
        .await
        .context("event store migrations")?;
    let mut migrations = startup::migrations();
    migrations.set_ignore_missing(true);
    migrations.run(&pool).await.context("eligibility migrations")?;

    let store = EventStore::new(Service::Eligibility.name(), common.own_topic());
    let options = ImportOptions {
        batch_size: usize::try_from(args.batch_size).unwrap_or(ImportOptions::DEFAULT_BATCH_SIZE),
        today: slrt_identity::today_in_indonesia(),
        restart: args.restart,
        stop_after_batches: args.stop_after_batches,
    };
    let started = Instant::now();
    let mut display = ProgressDisplay::new();
    let report = import::import_file(&pool, &store, &catalogue, &file, &options, |progress| {
        display.show(progress);
    })
    .await;
    display.finish();
    let report = report?;
    print_summary(&file, &report, started.elapsed());
    Ok(())
}

/// A progress bar on a terminal; elsewhere (a log, CI) a line every few seconds.
struct ProgressDisplay {
    bar: Option<ProgressBar>,
    started: Instant,
    last_line: Instant,
}

impl ProgressDisplay {
    const LINE_EVERY: Duration = Duration::from_secs(5);

    fn new() -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::new(0);
            bar.set_style(
                ProgressStyle::with_template(
                    "{elapsed_precise} [{wide_bar}] {percent:>3}% {binary_bytes}/{binary_total_bytes} {msg}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
            );
            bar
        });
        Self {
            bar,
            started: Instant::now(),
            last_line: Instant::now(),
        }
    }

    fn show(&mut self, progress: &Progress) {
        let rate = if progress.replaying {
            format!("{} rows an earlier run committed, read again", progress.rows)
        } else {
            // This run's own work, not the replay of a resumed one.
            let seconds = self.started.elapsed().as_secs_f64().max(0.001);
            format!(
                "{} rows, {:.0} rows/s",
                progress.rows,
                progress.rows_this_run as f64 / seconds
            )
        };
        match &self.bar {
            Some(bar) => {
                bar.set_length(progress.total_bytes);
                bar.set_position(progress.bytes_read);
                bar.set_message(rate);
            }
            None if self.last_line.elapsed() >= Self::LINE_EVERY => {
                self.last_line = Instant::now();
                let percent = progress.bytes_read as f64 * 100.0 / progress.total_bytes.max(1) as f64;
                eprintln!("{percent:5.1}% {rate}");
            }
            None => {}
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

fn print_summary(file: &Path, report: &ImportReport, elapsed: Duration) {
    let counts = &report.counts;
    let seconds = elapsed.as_secs_f64().max(0.001);
    println!("registry import of {} (sha256 {})", file.display(), report.file_sha256);
    match (report.completed, report.resumed_after_line) {
        (false, _) => println!(
            "  stopped after {} batches as asked; run again to continue",
            report.batches_this_run
        ),
        (true, Some(line)) => println!("  completed, continuing an interrupted import after line {line}"),
        (true, None) => println!("  completed"),
    }
    println!("  rows read          {:>10}", counts.rows);
    println!("  inserted           {:>10}", counts.inserted);
    println!("  updated            {:>10}", counts.updated);
    println!("  unchanged          {:>10}", counts.unchanged);
    println!(
        "  rejected           {:>10}   see {}",
        counts.rejected,
        report.rejects_path.display()
    );
    println!("  enrolments seeded  {:>10}", counts.enrolments_seeded);
    println!(
        "  NIK warnings       {:>10}   (NIK disagrees with the birth date or sex; imported)",
        counts.nik_warnings
    );
    if let Some((household, line)) = report.households_without_head.first() {
        println!(
            "  households without a head {} (imported; the first is {household}, line {line})",
            report.households_without_head.len()
        );
    }
    if report.recorded_event {
        println!(
            "  recorded RegistryImported on stream registry-import-{}",
            report.file_sha256
        );
    }
    println!(
        "  this run: {} rows in {seconds:.1} s, {:.0} rows/s",
        report.rows_this_run,
        report.rows_this_run as f64 / seconds
    );
}
