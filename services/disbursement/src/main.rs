use slrt_disbursement::{settings::Settings, startup};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let settings = Settings::from_env()?;
    let _telemetry = slrt_runtime::telemetry_for(&settings.common)?;
    startup::build(settings).await?.run_until_stopped().await
}
