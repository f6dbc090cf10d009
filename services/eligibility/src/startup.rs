//! Wiring: the platform, the registry seed, the decider consumer and both servers.

use actix_web::web;
use anyhow::Context;
use slrt_proto::eligibility::v1::eligibility_service_server::EligibilityServiceServer;
use slrt_proto::eligibility::v1::evidence_feed_server::EvidenceFeedServer;
use slrt_runtime::platform::{Platform, RunningService};
use slrt_settings::Service;
use tonic::service::interceptor::InterceptedService;
use utoipa::OpenApi;

use crate::app::{Eligibility, registry};
use crate::settings::Settings;
use crate::{grpc, http, kafka};

/// Eligibility's own migrations (the event store's come with `slrt_eventstore::migrate`).
pub fn migrations() -> sqlx::migrate::Migrator {
    sqlx::migrate!("./migrations")
}

/// Builds and starts eligibility; the returned service runs until stopped.
pub async fn build(settings: Settings) -> anyhow::Result<RunningService> {
    let Settings {
        common,
        catalogues,
        registry_seed,
        ledger_seed,
        exclusions,
        verifier,
        nik_tokens,
        evidence_file_max_bytes,
    } = settings;
    let mut platform = Platform::connect(common, migrations(), &[Service::Intake]).await?;
    slrt_audit::migrate(&platform.pool)
        .await
        .context("eligibility: audit log migrations")?;
    // Before the decider starts: a case decided against a half-loaded registry would miss
    // people and enrolments.
    let loaded = registry::load(
        &platform.pool,
        &registry_seed,
        &ledger_seed,
        slrt_identity::today_in_indonesia(),
    )
    .await
    .context("eligibility: cannot load the registry seed")?;
    tracing::info!(
        people.added = loaded.people_added,
        people.changed = loaded.people_changed,
        enrolments.seeded = loaded.enrolments_seeded,
        catalogue.version = catalogues.in_force(slrt_identity::today_in_indonesia()).version(),
        catalogue.versions = catalogues.versions().len(),
        "registry loaded"
    );
    let eligibility = Eligibility::new(
        platform.pool.clone(),
        platform.store.clone(),
        catalogues,
        nik_tokens.clone(),
    )
    .with_exclusions(exclusions);
    platform.spawn_relay()?;
    platform.spawn_consumer(
        "decider",
        &[Service::Intake],
        kafka::Decider {
            eligibility: eligibility.clone(),
        },
    )?;

    let grpc_routes = platform
        .grpc_routes(&[
            "slrt.eligibility.v1.EligibilityService",
            "slrt.eligibility.v1.EvidenceFeed",
        ])
        .await?
        .add_service(InterceptedService::new(
            EligibilityServiceServer::new(grpc::EligibilityApi {
                eligibility: eligibility.clone(),
            }),
            platform.grpc_guard(verifier.clone()),
        ))
        .add_service(InterceptedService::new(
            EvidenceFeedServer::new(grpc::EvidenceFeedApi {
                eligibility: eligibility.clone(),
            }),
            platform.grpc_guard(verifier.clone()),
        ));
    let verifier = web::Data::from(verifier);
    let audit_log = web::Data::new(slrt_audit::http::AuditLog {
        pool: eligibility.pool.clone(),
        nik_tokens,
    });
    let file_limit = web::Data::new(http::evidence::EvidenceFileLimit(evidence_file_max_bytes));
    let routes = move |cfg: &mut web::ServiceConfig| {
        cfg.app_data(web::Data::new(eligibility.clone()))
            .app_data(verifier.clone())
            .app_data(audit_log.clone())
            .app_data(file_limit.clone())
            .configure(http::configure)
            .configure(http::evidence::configure)
            .configure(http::reports::configure)
            .configure(slrt_audit::http::configure);
    };
    let mut openapi = http::ApiDoc::openapi();
    openapi.merge(http::evidence::EvidenceApiDoc::openapi());
    openapi.merge(http::reports::ReportsApiDoc::openapi());
    platform.serve(routes, openapi, grpc_routes).await
}
