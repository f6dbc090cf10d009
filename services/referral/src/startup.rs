//! Wiring: the platform, the use cases, the router consumer and both servers.

use actix_web::web;
use chrono::Datelike;
use slrt_proto::referral::v1::opd_referral_service_server::OpdReferralServiceServer;
use slrt_runtime::clock::Clock;
use slrt_runtime::platform::{Platform, RunningService};
use slrt_settings::Service;
use tonic::service::interceptor::InterceptedService;
use utoipa::OpenApi;

use crate::app::Referrals;
use crate::settings::Settings;
use crate::{grpc, http, kafka};

/// Builds and starts referral; the returned service runs until stopped.
pub async fn build(settings: Settings) -> anyhow::Result<RunningService> {
    let mut platform = Platform::connect(
        settings.common,
        sqlx::migrate!("./migrations"),
        &[Service::Eligibility, Service::Intake],
    )
    .await?;
    slrt_audit::migrate(&platform.pool).await?;
    tracing::info!(
        routing.version = settings.routing.version(),
        routing.source = %settings.routing_source,
        "routing table loaded"
    );
    let clock = if settings.test_clock {
        tracing::warn!(
            "SLRT_REFERRAL_TEST_CLOCK is set: PUT /v1/test-clock moves this service's clock; never in production"
        );
        Clock::adjustable()
    } else {
        Clock::system()
    };
    let calendar = &settings.sla.calendar;
    let next_year = clock.now().with_timezone(&calendar.zone()).year() + 1;
    if !calendar.covers(next_year) {
        // Deadlines reaching into next year would count its holidays as working days.
        tracing::warn!(
            calendar = calendar.name(),
            year = next_year,
            "the holiday calendar does not list next year's holidays; add them to keep SLA deadlines right"
        );
    }
    tracing::info!(
        sla.version = settings.sla.policy.version(),
        calendar = calendar.name(),
        "SLA policy loaded"
    );
    let referrals = Referrals {
        pool: platform.pool.clone(),
        store: platform.store.clone(),
        routing: settings.routing,
        sla: settings.sla,
        clock,
        nik_tokens: settings.nik_tokens,
    };
    platform.spawn_relay()?;
    let timers = referrals.clone();
    let poll = settings.timer_poll;
    platform.spawn(move |stopped| timers.run_timers(poll, stopped));
    platform.spawn_consumer(
        "router",
        &[Service::Eligibility],
        kafka::RouterHandler {
            referrals: referrals.clone(),
        },
    )?;
    platform.spawn_consumer(
        "withdrawals",
        &[Service::Intake],
        kafka::WithdrawalHandler {
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
        .add_service(InterceptedService::new(
            OpdReferralServiceServer::new(opd_service),
            platform.grpc_guard(settings.verifier.clone()),
        ));
    let verifier = web::Data::from(settings.verifier);
    let audit_log = web::Data::new(slrt_audit::http::AuditLog {
        pool: referrals.pool.clone(),
        nik_tokens: referrals.nik_tokens.clone(),
    });
    let routes = move |cfg: &mut web::ServiceConfig| {
        cfg.app_data(web::Data::new(referrals.clone()))
            .app_data(verifier.clone())
            .app_data(audit_log.clone())
            .configure(http::configure)
            .configure(slrt_audit::http::configure);
    };
    platform.serve(routes, http::ApiDoc::openapi(), grpc_routes).await
}
