//! What every service offers its operators, checked on the four real processes: liveness,
//! readiness of database and broker, Prometheus metrics, the OpenAPI document and docs page,
//! the standard gRPC health service and gRPC reflection.

use serde_json::Value;
use slrt_system_tests::{SERVICES, Stack};
use tokio_stream::StreamExt;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_reflection::pb::v1::ServerReflectionRequest;
use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;

/// The gRPC service each process must expose by name.
fn own_grpc_service(name: &str) -> &'static str {
    match name {
        "intake" => "slrt.intake.v1.CaseTrackerService",
        "eligibility" => "slrt.eligibility.v1.EligibilityService",
        "referral" => "slrt.referral.v1.OpdReferralService",
        _ => "slrt.disbursement.v1.DisbursementService",
    }
}

#[tokio::test]
async fn every_service_answers_its_operators_over_http_and_grpc() {
    let stack = Stack::start().await;
    let http = slrt_testkit::http_client();
    for name in SERVICES {
        let service = stack.service(name);
        let get = |path: &str| http.get(format!("{}{path}", service.http())).send();

        assert_eq!(get("/healthz").await.unwrap().status(), 200, "{name}");
        let ready = get("/readyz").await.unwrap();
        assert_eq!(ready.status(), 200, "{name}");
        let ready: Value = ready.json().await.unwrap();
        assert_eq!(ready["database"]["ready"], true, "{name}: {ready}");
        assert_eq!(ready["broker"]["ready"], true, "{name}: {ready}");

        let metrics = get("/metrics").await.unwrap().text().await.unwrap();
        assert!(
            metrics.contains("slrt_http_request_duration_seconds"),
            "{name}: {metrics}"
        );
        assert!(metrics.contains("slrt_outbox_pending"), "{name} reports its outbox");

        let openapi: Value = get("/openapi.json").await.unwrap().json().await.unwrap();
        let paths = openapi["paths"].as_object().unwrap();
        assert!(
            paths.keys().any(|path| path.starts_with("/v1/")),
            "{name} documents its API: {paths:?}"
        );
        assert_eq!(
            get("/docs/").await.unwrap().status(),
            200,
            "{name} serves its docs page"
        );
        let nowhere = get("/v1/no-such-endpoint").await.unwrap();
        assert_eq!(nowhere.status(), 404, "{name}");
        let nowhere: Value = nowhere.json().await.expect("the error envelope, not an empty 404");
        assert_eq!(nowhere["error"]["code"], "not_found", "{name}: {nowhere}");

        let channel = tonic::transport::Channel::from_shared(service.grpc())
            .unwrap()
            .connect()
            .await
            .unwrap();
        let mut health = HealthClient::new(channel.clone());
        for grpc_service in ["", own_grpc_service(name)] {
            let status = health
                .check(HealthCheckRequest {
                    service: grpc_service.to_string(),
                })
                .await
                .unwrap()
                .into_inner()
                .status;
            assert_eq!(
                status,
                ServingStatus::Serving as i32,
                "{name} health of {grpc_service:?}"
            );
        }

        let mut reflection = ServerReflectionClient::new(channel);
        let request = ServerReflectionRequest {
            host: String::new(),
            message_request: Some(MessageRequest::ListServices(String::new())),
        };
        let mut responses = reflection
            .server_reflection_info(tokio_stream::iter(vec![request]))
            .await
            .unwrap()
            .into_inner();
        let response = responses.next().await.unwrap().unwrap();
        let Some(MessageResponse::ListServicesResponse(listed)) = response.message_response else {
            panic!("{name}: reflection did not list services");
        };
        let names: Vec<String> = listed.service.into_iter().map(|s| s.name).collect();
        assert!(
            names.iter().any(|s| s == own_grpc_service(name)),
            "{name} reflects {names:?}"
        );
    }
}

#[tokio::test]
async fn a_service_reports_not_ready_while_its_database_refuses_connections() {
    use sqlx::{ConnectOptions, Executor};
    let stack = Stack::start().await;
    let http = slrt_testkit::http_client();
    let referral = stack.service("referral");
    let url = format!("{}/readyz", referral.http());
    // Ready first. A readiness probe gives the database and the broker two seconds each, which
    // a machine busy with other tests can exceed now and then: wait for green, do not sample it.
    let ready = |http: reqwest::Client, url: String| async move {
        (http.get(&url).send().await.ok()?.status() == 200).then_some(())
    };
    slrt_testkit::eventually(std::time::Duration::from_secs(30), "readiness", || {
        ready(http.clone(), url.clone())
    })
    .await;

    let options: sqlx::postgres::PgConnectOptions = referral.database_url().parse().unwrap();
    let database = options.get_database().unwrap().to_string();
    let admin: sqlx::postgres::PgConnectOptions = slrt_testkit::admin_database_url().parse().unwrap();
    let mut admin = admin.connect().await.unwrap();
    let set_connections =
        |allow: bool| sqlx::AssertSqlSafe(format!(r#"ALTER DATABASE "{database}" WITH ALLOW_CONNECTIONS {allow}"#));
    admin.execute(set_connections(false)).await.unwrap();
    sqlx::query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1")
        .bind(&database)
        .execute(&mut admin)
        .await
        .unwrap();

    let red: Value = slrt_testkit::eventually(std::time::Duration::from_secs(30), "readiness to go red", || {
        let http = http.clone();
        let url = url.clone();
        async move {
            let response = http.get(&url).send().await.ok()?;
            (response.status() == 503).then_some(())?;
            let body: Value = response.json().await.ok()?;
            // Red for the database alone: a broker slow to answer a busy machine's probe
            // is another (passing) state, and is probed again.
            (body["database"]["ready"] == false && body["broker"]["ready"] == true).then_some(body)
        }
    })
    .await;
    assert!(red["database"]["reason"].is_string(), "the reason is given: {red}");
    assert_eq!(
        http.get(format!("{}/healthz", referral.http()))
            .send()
            .await
            .unwrap()
            .status(),
        200,
        "alive, not ready"
    );

    admin.execute(set_connections(true)).await.unwrap();
    slrt_testkit::eventually(std::time::Duration::from_secs(30), "readiness to recover", || {
        ready(http.clone(), url.clone())
    })
    .await;
}
