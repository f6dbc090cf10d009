//! `slrt-intake-rebuild`: empties intake's case tracker and rebuilds it from the events it
//! was built from (see `app::rebuild` for where they come from and why).
//!
//! ```sh
//! slrt-intake-rebuild --database-url postgres://slrt@127.0.0.1:55432/slrt_intake
//! ```
//!
//! Safe while intake runs: supervisors keep reading the old model until the new one commits,
//! and the tracker's consumer and the desk wait for it.

use anyhow::Context;
use clap::Parser;
use sqlx::postgres::PgPoolOptions;

#[derive(Debug, Parser)]
#[command(
    name = "slrt-intake-rebuild",
    version,
    about = "Rebuild intake's case tracker from its events"
)]
struct Cli {
    /// Intake's database.
    #[arg(
        long,
        env = "SLRT_INTAKE_DATABASE_URL",
        default_value = "postgres://slrt@127.0.0.1:55432/slrt_intake"
    )]
    database_url: String,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let pool = PgPoolOptions::new()
        .max_connections(2)
        .connect(&cli.database_url)
        .await
        .context("cannot connect to intake's database")?;
    // The tables the rebuild reads and writes must exist in their latest shape.
    slrt_eventstore::migrate(&pool)
        .await
        .context("event store migrations")?;
    let mut migrator = sqlx::migrate!("./migrations");
    migrator.set_ignore_missing(true);
    migrator.run(&pool).await.context("intake migrations")?;
    let started = std::time::Instant::now();
    let report = slrt_intake::app::rebuild::rebuild_projections(&pool)
        .await
        .context("rebuild failed; the tracker is unchanged")?;
    println!(
        "rebuilt the case tracker in {:.1}s: {} cases from {} intake events and {} events of other services",
        started.elapsed().as_secs_f64(),
        report.cases,
        report.own_events,
        report.other_events
    );
    Ok(())
}
