//! Wiring: the platform, the use cases, the entitlements and lifecycle consumers, the
//! sender and both servers.

use actix_web::web;
use slrt_proto::disbursement::v1::disbursement_service_server::DisbursementServiceServer;
use slrt_runtime::platform::{Platform, RunningService};
use slrt_settings::Service;
use tonic::service::interceptor::InterceptedService;
use utoipa::OpenApi;

use crate::app::sender::bank_client;
use crate::app::{Disbursement, eligibility_client};
use crate::settings::Settings;
use crate::{grpc, http, kafka};

/// Builds and starts disbursement; the returned service runs until stopped.
pub async fn build(settings: Settings) -> anyhow::Result<RunningService> {
    let grpc_tls = settings.common.grpc_tls.clone();
    let mut platform = Platform::connect(
        settings.common,
        sqlx::migrate!("./migrations"),
        &[Service::Referral, Service::Eligibility],
    )
    .await?;
    slrt_audit::migrate(&platform.pool).await?;
    let disbursement = Disbursement {
        pool: platform.pool.clone(),
        store: platform.store.clone(),
        eligibility: eligibility_client(&settings.eligibility_url, &grpc_tls, settings.service_token)?,
        bank: bank_client(&settings.bank_url, &grpc_tls)?,
        bank_timeout: settings.bank_timeout,
        component_caps: std::sync::Arc::new(settings.component_caps),
        nik_tokens: settings.nik_tokens.clone(),
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
        .add_service(InterceptedService::new(
            DisbursementServiceServer::new(grpc::Payments {
                disbursement: disbursement.clone(),
            }),
            platform.grpc_guard(settings.verifier.clone()),
        ));
    let verifier = web::Data::from(settings.verifier);
    let audit_log = web::Data::new(slrt_audit::http::AuditLog {
        pool: disbursement.pool.clone(),
        nik_tokens: settings.nik_tokens,
    });
    let paying_bank = web::Data::new(http::PayingBank(settings.paying_bank));
    tracing::info!(paying_bank = %paying_bank.0, "reconciliations accepted from the paying bank's system");
    let routes = move |cfg: &mut web::ServiceConfig| {
        cfg.app_data(web::Data::new(disbursement.clone()))
            .app_data(verifier.clone())
            .app_data(audit_log.clone())
            .app_data(paying_bank.clone())
            .configure(http::configure)
            .configure(slrt_audit::http::configure);
    };
    platform.serve(routes, http::ApiDoc::openapi(), grpc_routes).await
}
