//! Wiring: the gRPC server with the bank's two services, the standard health service and
//! reflection, on a listener of the caller's choosing.

use std::future::Future;
use std::net::SocketAddr;

use anyhow::Context;
use slrt_proto::bank::v1::bank_control_server::BankControlServer;
use slrt_proto::bank::v1::paying_bank_server::PayingBankServer;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tonic::codegen::http;
use tonic::transport::Server;
use tonic::transport::server::TcpIncoming;

use crate::grpc::Bank;

/// The services the health service reports as serving (besides the whole server, "").
const SERVED: [&str; 2] = ["slrt.bank.v1.PayingBank", "slrt.bank.v1.BankControl"];

/// Serves the simulator on `listener` until `signal` resolves, then lets the calls in
/// flight finish.
pub async fn serve(listener: TcpListener, signal: impl Future<Output = ()>) -> anyhow::Result<()> {
    let (reporter, health) = tonic_health::server::health_reporter();
    reporter
        .set_service_status("", tonic_health::ServingStatus::Serving)
        .await;
    for name in SERVED {
        reporter
            .set_service_status(name, tonic_health::ServingStatus::Serving)
            .await;
    }
    let reflection = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(slrt_proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()
        .context("building gRPC reflection")?;
    let bank = Bank::default();
    Server::builder()
        .trace_fn(|request: &http::Request<()>| tracing::info_span!("grpc", rpc.method = %request.uri().path()))
        .add_service(health)
        .add_service(reflection)
        .add_service(PayingBankServer::new(bank.clone()))
        .add_service(BankControlServer::new(bank))
        // Answers are a few hundred bytes: without NODELAY, small HTTP/2 frames can wait
        // for delayed ACKs and add tens of milliseconds that no scenario asked for.
        .serve_with_incoming_shutdown(TcpIncoming::from(listener).with_nodelay(Some(true)), signal)
        .await
        .context("serving gRPC")
}

/// Stops a simulator started with [`spawn`]. Dropping it stops the simulator too, without
/// waiting.
#[derive(Debug)]
pub struct ShutdownHandle {
    signal: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<anyhow::Result<()>>>,
}

impl ShutdownHandle {
    /// Stops accepting calls, waits for those in flight (a held answer included) and for
    /// the server to stop.
    pub async fn shutdown(mut self) -> anyhow::Result<()> {
        if let Some(signal) = self.signal.take() {
            let _ = signal.send(());
        }
        match self.server.take() {
            Some(server) => server.await.context("the simulator's server task")?,
            None => Ok(()),
        }
    }
}

impl Drop for ShutdownHandle {
    fn drop(&mut self) {
        if let Some(signal) = self.signal.take() {
            let _ = signal.send(());
        }
    }
}

/// Starts a simulator in this process, on `addr` (port 0 for any free port), with an empty
/// ledger and no scenario. Answers the address it listens on.
///
/// ```no_run
/// # async fn example() -> anyhow::Result<()> {
/// let (addr, bank) = slrt_bank_simulator::spawn("127.0.0.1:0".parse()?).await?;
/// let url = format!("http://{addr}"); // for PayingBankClient::connect and BankControlClient::connect
/// # let _ = url;
/// bank.shutdown().await
/// # }
/// ```
pub async fn spawn(addr: SocketAddr) -> anyhow::Result<(SocketAddr, ShutdownHandle)> {
    let listener = TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding the bank simulator to {addr}"))?;
    let local = listener.local_addr().context("reading the simulator's address")?;
    let (signal, stop) = oneshot::channel::<()>();
    let server = tokio::spawn(serve(listener, async {
        // A dropped handle stops the server as a sent signal does.
        let _ = stop.await;
    }));
    Ok((
        local,
        ShutdownHandle {
            signal: Some(signal),
            server: Some(server),
        },
    ))
}
