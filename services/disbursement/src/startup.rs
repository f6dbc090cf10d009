//! Wiring: the platform, the use cases, the entitlements and lifecycle consumers, the
//! sender and both servers.

use actix_web::web;
use slrt_proto::disbursement::v1::disbursement_service_server::DisbursementServiceServer;
use slrt_runtime::platform::{Platform, RunningService};
use slrt_settings::Service;
use utoipa::OpenApi;

use crate::app::sender::bank_client;
use crate::app::{Disbursement, eligibility_client};
use crate::settings::Settings;
use crate::{grpc, http, kafka};

/// Builds and starts disbursement; the returned service runs until stopped.
pub async fn build(settings: Settings) -> anyhow::Result<RunningService> {
    let mut platform = Platform::connect(
        settings.common,
        sqlx::migrate!("./migrations"),
        &[Service::Referral, Service::Eligibility],
    )
    .await?;
    let disbursement = Disbursement {
        pool: platform.pool.clone(),
        store: platform.store.clone(),
        eligibility: eligibility_client(&settings.eligibility_url)?,
        bank: bank_client(&settings.bank_url)?,
        bank_timeout: settings.bank_timeout,
        component_caps: std::sync::Arc::new(settings.component_caps),
    };
    platform.spawn_relay()?;
    let sender = disbursement.clone();
    let every = settings.send_poll;
    platform.spawn(move |stopped| sender.run_sender(every, stopped));
    platform.spawn_consumer(
        kafka::ENTITLEMENTS,
        &[Service::Referral],
        kafka::EntitlementsHandler {
            disbursement: disbursement.clone(),
        },
    )?;
    platform.spawn_consumer(
        kafka::LIFECYCLE,
        &[Service::Eligibility],
        kafka::LifecycleHandler {
            disbursement: disbursement.clone(),
        },
    )?;

    let grpc_routes = platform
        .grpc_routes(&["slrt.disbursement.v1.DisbursementService"])
        .await?
        .add_service(DisbursementServiceServer::new(grpc::Payments {
            disbursement: disbursement.clone(),
        }));
    let routes = move |cfg: &mut web::ServiceConfig| {
        cfg.app_data(web::Data::new(disbursement.clone()))
            .configure(http::configure);
    };
    platform.serve(routes, http::ApiDoc::openapi(), grpc_routes).await
}
