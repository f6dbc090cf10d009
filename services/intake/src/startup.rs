//! Wiring: the platform, the use cases, the tracker consumer and both servers, each behind
//! token verification.

use actix_web::web;
use slrt_proto::intake::v1::case_tracker_service_server::CaseTrackerServiceServer;
use slrt_runtime::platform::{Platform, RunningService};
use slrt_settings::Service;
use tonic::service::interceptor::InterceptedService;
use utoipa::OpenApi;

use crate::app::{Intake, eligibility_client};
use crate::settings::Settings;
use crate::{grpc, http, kafka};

/// Builds and starts intake; the returned service runs until stopped.
pub async fn build(settings: Settings) -> anyhow::Result<RunningService> {
    let grpc_tls = settings.common.grpc_tls.clone();
    let mut platform = Platform::connect(settings.common, sqlx::migrate!("./migrations"), &Service::ALL).await?;
    // The audit log and the temporary access grants.
    slrt_audit::migrate(&platform.pool).await?;
    let intake = Intake {
        pool: platform.pool.clone(),
        store: platform.store.clone(),
        eligibility: eligibility_client(&settings.eligibility_url, &grpc_tls, settings.service_token)?,
        nik_tokens: settings.nik_tokens,
    };
    platform.spawn_relay()?;
    // The tracker follows every service's events, its own included.
    platform.spawn_consumer("tracker", &Service::ALL, kafka::TrackerHandler)?;

    let grpc_routes = platform
        .grpc_routes(&["slrt.intake.v1.CaseTrackerService"])
        .await?
        .add_service(InterceptedService::new(
            CaseTrackerServiceServer::new(grpc::CaseTracker { intake: intake.clone() }),
            platform.grpc_guard(settings.verifier.clone()),
        ));
    let verifier = web::Data::from(settings.verifier);
    let audit_log = web::Data::new(slrt_audit::http::AuditLog {
        pool: intake.pool.clone(),
        nik_tokens: intake.nik_tokens.clone(),
    });
    let routes = move |cfg: &mut web::ServiceConfig| {
        cfg.app_data(web::Data::new(intake.clone()))
            .app_data(verifier.clone())
            .app_data(audit_log.clone())
            .configure(http::configure)
            .configure(slrt_audit::http::configure);
    };
    let openapi = http::with_security(http::openapi().merge_from(http::people::PeopleApi::openapi()));
    platform.serve(routes, openapi, grpc_routes).await
}
