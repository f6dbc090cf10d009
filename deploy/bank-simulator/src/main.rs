use std::net::SocketAddr;

use anyhow::Context;
use clap::Parser;

/// The paying-bank simulator: serves slrt.bank.v1.PayingBank and BankControl over gRPC.
#[derive(Debug, Parser)]
#[command(name = "slrt-bank-simulator", version)]
struct Args {
    /// Address to listen on.
    #[arg(long, env = "SLRT_BANK_GRPC_ADDR", default_value = "127.0.0.1:50060")]
    listen: SocketAddr,
    /// Log lines as JSON objects (json) or for people (pretty).
    #[arg(long, env = "SLRT_LOG_FORMAT", default_value = "json", value_parser = ["json", "pretty"])]
    log_format: String,
    /// Export traces over OTLP/gRPC to this endpoint.
    #[arg(long, env = "OTEL_EXPORTER_OTLP_ENDPOINT")]
    otlp_endpoint: Option<String>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let style = match args.log_format.as_str() {
        "pretty" => slrt_telemetry::LogStyle::Pretty,
        _ => slrt_telemetry::LogStyle::Json,
    };
    let _telemetry = slrt_telemetry::init("bank-simulator", args.otlp_endpoint.as_deref(), style)?;
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("SLRT_BANK_GRPC_ADDR: cannot listen on {}", args.listen))?;
    tracing::info!(grpc.addr = %listener.local_addr()?, "bank simulator listening");
    slrt_bank_simulator::serve(listener, terminate_signal()).await?;
    tracing::info!("bank simulator stopped");
    Ok(())
}

/// Resolves on SIGTERM or Ctrl-C.
async fn terminate_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = terminate => {}
    }
}
