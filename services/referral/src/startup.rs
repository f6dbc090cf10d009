//! Wiring: the platform, the use cases, the router consumer and both servers.

use actix_web::web;
use slrt_proto::referral::v1::opd_referral_service_server::OpdReferralServiceServer;
use slrt_runtime::platform::{Platform, RunningService};
use slrt_settings::Service;
use utoipa::OpenApi;

use crate::app::Referrals;
use crate::settings::Settings;
use crate::{grpc, http, kafka};

/// Builds and starts referral; the returned service runs until stopped.
pub async fn build(settings: Settings) -> anyhow::Result<RunningService> {
    let mut platform =
        Platform::connect(settings.common, sqlx::migrate!("./migrations"), &[Service::Eligibility]).await?;
    tracing::info!(
        routing.version = settings.routing.version(),
        routing.source = %settings.routing_source,
        "routing table loaded"
    );
    let referrals = Referrals {
        pool: platform.pool.clone(),
        store: platform.store.clone(),
        routing: settings.routing,
    };
    platform.spawn_relay()?;
    platform.spawn_consumer(
        "router",
        &[Service::Eligibility],
        kafka::RouterHandler {
            referrals: referrals.clone(),
        },
    )?;

    let opd_service = grpc::OpdReferrals {
        referrals: referrals.clone(),
        stopped: platform.shutdown_signal(),
    };
    let grpc_routes = platform
        .grpc_routes(&["slrt.referral.v1.OpdReferralService"])
        .await?
        .add_service(OpdReferralServiceServer::new(opd_service));
    let routes = move |cfg: &mut web::ServiceConfig| {
        cfg.app_data(web::Data::new(referrals.clone()))
            .configure(http::configure);
    };
    platform.serve(routes, http::ApiDoc::openapi(), grpc_routes).await
}
