//! Wiring: the platform, the registry seed, the decider consumer and both servers.

use actix_web::web;
use anyhow::Context;
use slrt_proto::eligibility::v1::eligibility_service_server::EligibilityServiceServer;
use slrt_proto::eligibility::v1::evidence_feed_server::EvidenceFeedServer;
use slrt_runtime::platform::{Platform, RunningService};
use slrt_settings::Service;
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
    } = settings;
    let mut platform = Platform::connect(common, migrations(), &[Service::Intake]).await?;
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
    let eligibility =
        Eligibility::new(platform.pool.clone(), platform.store.clone(), catalogues).with_exclusions(exclusions);
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
        .add_service(EligibilityServiceServer::new(grpc::EligibilityApi {
            eligibility: eligibility.clone(),
        }))
        .add_service(EvidenceFeedServer::new(grpc::EvidenceFeedApi {
            eligibility: eligibility.clone(),
        }));
    let routes = move |cfg: &mut web::ServiceConfig| {
        cfg.app_data(web::Data::new(eligibility.clone()))
            .configure(http::configure)
            .configure(http::evidence::configure)
            .configure(http::reports::configure);
    };
    let mut openapi = http::ApiDoc::openapi();
    openapi.merge(http::evidence::EvidenceApiDoc::openapi());
    openapi.merge(http::reports::ReportsApiDoc::openapi());
    platform.serve(routes, openapi, grpc_routes).await
}
