//! Intake through its public interfaces: the real application on port 0, a fresh database,
//! the real broker under a unique topic prefix.

#![expect(clippy::unwrap_used, reason = "tests")]

use std::collections::HashMap;
use std::time::Duration;

use serde_json::{Value, json};
use slrt_intake::settings::Settings;
use slrt_intake::startup;
use slrt_proto::eligibility::v1 as eligibility;
use slrt_proto::intake::v1::GetCaseRequest;
use slrt_proto::intake::v1::case_tracker_service_client::CaseTrackerServiceClient;
use slrt_proto::referral::v1 as referral;
use uuid::Uuid;

struct TestApp {
    base: String,
    grpc: String,
    prefix: String,
    database_url: String,
    /// The service's database, to read its audit log.
    db: sqlx::PgPool,
    /// Sends [`ACTOR`]'s token with every request that names no other.
    http: reqwest::Client,
    stop: tokio::sync::watch::Sender<bool>,
}

/// Who the suites act as unless a test says otherwise: a desk operator who also supervises
/// Kota Pekalongan (`33.75`), where the test applicants live.
const ACTOR: &str = "fo-spv-pekalongan-1";
const AREA: &str = "33.75";

/// `Bearer <token>` for `subject` with `roles` in `region`.
fn bearer(subject: &str, roles: &[&str], region: Option<&str>) -> String {
    slrt_testkit::identity().bearer(subject, roles, region, None)
}

/// A test client that sends `authorization` with every request that names none.
fn client_as(authorization: &str) -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(reqwest::header::AUTHORIZATION, authorization.parse().unwrap());
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .timeout(2 * slrt_testkit::SETUP_STEP_TIMEOUT)
        .default_headers(headers)
        .build()
        .unwrap()
}

impl Drop for TestApp {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

async fn spawn_app() -> TestApp {
    slrt_testkit::init_telemetry();
    let prefix = slrt_testkit::unique_prefix();
    let mut env = HashMap::new();
    env.insert("SLRT_INTAKE_HTTP_ADDR", "127.0.0.1:0".to_string());
    env.insert("SLRT_INTAKE_GRPC_ADDR", "127.0.0.1:0".to_string());
    let database_url = slrt_testkit::fresh_database_url().await;
    env.insert("SLRT_INTAKE_DATABASE_URL", database_url.clone());
    env.insert("SLRT_KAFKA_BROKERS", slrt_testkit::brokers());
    env.insert("SLRT_TOPIC_PREFIX", prefix.clone());
    env.insert("SLRT_RELAY_POLL_MS", "100".to_string());
    // Nobody listens here: the desk pre-screen is unavailable, and a case opens anyway.
    env.insert(
        "SLRT_ELIGIBILITY_GRPC_URL",
        format!("http://127.0.0.1:{}", slrt_testkit::free_port()),
    );
    env.extend(slrt_testkit::identity().env());
    let settings = Settings::from_lookup(|name| env.get(name).cloned()).unwrap();
    let app = startup::build(settings).await.unwrap();
    let base = format!("http://127.0.0.1:{}", app.http_port());
    let grpc = format!("http://127.0.0.1:{}", app.grpc_port());
    let stop = app.stopper();
    tokio::spawn(app.run_until_stopped());
    TestApp {
        base,
        grpc,
        prefix,
        db: sqlx::PgPool::connect(&database_url).await.unwrap(),
        database_url,
        http: client_as(&bearer(ACTOR, &["desk_operator", "supervisor"], Some(AREA))),
        stop,
    }
}

fn application() -> Value {
    json!({
        "applicant": {
            "nik": "3375014506850003",
            "full_name": "Siti Aminah",
            "birth_date": "1985-06-05",
            "sex": "F",
            "region_code": "33.75.01.1002",
            "kk_number": "3375011203150004"
        },
        "needs": [
            {"category": "cash_assistance", "description": "lost her job in October"},
            {"category": "school_aid"}
        ],
        "desk_region_code": "33.75.01.1002"
    })
}

impl TestApp {
    async fn post_case(&self, body: &Value, key: Option<&str>) -> reqwest::Response {
        let mut request = self.http.post(format!("{}/v1/cases", self.base)).json(body);
        if let Some(key) = key {
            request = request.header("Idempotency-Key", key);
        }
        request.send().await.unwrap()
    }

    async fn get_case(&self, reference: &str) -> reqwest::Response {
        self.http
            .get(format!("{}/v1/cases/{reference}", self.base))
            .send()
            .await
            .unwrap()
    }

    async fn case_count(&self) -> usize {
        // Counted through the public API: every case number issued so far is readable.
        let mut count = 0;
        for serial in 1..=20 {
            let number = format!("SLRT-3375-{}-{serial:06}", chrono_year());
            if self.get_case(&number).await.status() == 200 {
                count += 1;
            }
        }
        count
    }
}

fn chrono_year() -> String {
    chrono::Utc::now().format("%Y").to_string()
}

/// The NIK encodes a birth date and a sex; when the declared ones disagree, the case opens all
/// the same (the KTP may be wrong, or the form), with a warning for each disagreement that the
/// desk sees at once and the supervisor sees on the case.
#[tokio::test]
async fn a_nik_disagreeing_with_the_declared_birth_date_and_sex_opens_the_case_with_a_warning_for_each() {
    let app = spawn_app().await;
    let mut body = application();
    // 3375014506850003 is a woman born on 5 June 1985.
    body["applicant"]["birth_date"] = json!("1985-06-15");
    body["applicant"]["sex"] = json!("M");
    let response = app.post_case(&body, None).await;
    assert_eq!(response.status(), 201);
    let created: Value = response.json().await.unwrap();
    let warnings: Vec<&str> = created["warnings"]
        .as_array()
        .unwrap_or_else(|| panic!("warnings in the answer: {created}"))
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("05-06-85") && w.contains("15-06-1985")),
        "{warnings:?}"
    );
    assert!(warnings.iter().any(|w| w.contains("woman")), "{warnings:?}");

    let case: Value = app
        .get_case(created["case_id"].as_str().unwrap())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(case["warnings"], created["warnings"], "{case}");

    // A NIK that agrees gives none.
    let mut agreeing = application();
    agreeing["applicant"]["nik"] = json!("3375014506850011");
    let created: Value = app.post_case(&agreeing, None).await.json().await.unwrap();
    assert_eq!(created["warnings"], json!([]), "{created}");
}

#[tokio::test]
async fn a_valid_application_opens_a_case_that_reads_back_with_its_timeline() {
    let app = spawn_app().await;
    let response = app.post_case(&application(), None).await;
    assert_eq!(response.status(), 201);
    let traceparent = response
        .headers()
        .get("traceparent")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    let location = response
        .headers()
        .get("location")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    let created: Value = response.json().await.unwrap();
    let case_id = created["case_id"].as_str().unwrap();
    assert_eq!(location, format!("/v1/cases/{case_id}"));
    assert!(created["case_number"].as_str().unwrap().starts_with("SLRT-3375-"));
    assert_eq!(
        created["screening"]["performed"], false,
        "eligibility is down in this test"
    );

    let case: Value = app.get_case(case_id).await.json().await.unwrap();
    assert_eq!(case["status"], "open");
    assert_eq!(case["applicant"]["full_name"], "Siti Aminah");
    assert_eq!(case["applicant"]["nik_masked"], "3375********0003");
    assert_eq!(case["needs"].as_array().unwrap().len(), 2);
    let timeline = case["timeline"].as_array().unwrap();
    assert_eq!(timeline.len(), 1);
    assert_eq!(timeline[0]["service"], "intake");
    assert_eq!(timeline[0]["event_type"], "slrt.intake.v1.CaseOpened");
    assert_eq!(
        timeline[0]["trace_id"].as_str(),
        slrt_telemetry::trace_id_of(&traceparent)
    );

    let by_number: Value = app
        .get_case(created["case_number"].as_str().unwrap())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(by_number["case_id"], created["case_id"]);
}

#[tokio::test]
async fn malformed_input_is_refused_naming_the_field_and_records_nothing() {
    let app = spawn_app().await;
    let spoilers: Vec<(&str, Value)> = vec![
        ("applicant.nik", json!("337501450685000")),
        ("applicant.nik", json!("9999014506850003")),
        ("applicant.kk_number", json!("3375011303150000")),
        ("applicant.region_code", json!("33.75")),
        ("applicant.birth_date", json!("05/06/1985")),
        ("applicant.sex", json!("X")),
    ];
    for (field, value) in spoilers {
        let mut body = application();
        let key = field.trim_start_matches("applicant.");
        body["applicant"][key] = value;
        let response = app.post_case(&body, None).await;
        assert_eq!(response.status(), 400, "{field}");
        let error: Value = response.json().await.unwrap();
        assert_eq!(error["error"]["field"], field, "{error}");
        assert_eq!(error["error"]["code"], "invalid_input");
    }

    let mut unknown_need = application();
    unknown_need["needs"] = json!([{"category": "spaceship"}]);
    let error: Value = app.post_case(&unknown_need, None).await.json().await.unwrap();
    assert_eq!(error["error"]["field"], "needs[0].category");

    let mut missing = application();
    missing["applicant"].as_object_mut().unwrap().remove("nik");
    let response = app.post_case(&missing, None).await;
    assert_eq!(response.status(), 400);
    let error: Value = response.json().await.unwrap();
    assert_eq!(error["error"]["field"], "applicant.nik", "named by its whole path");

    let not_json = app
        .http
        .post(format!("{}/v1/cases", app.base))
        .header("content-type", "application/json")
        .body("{\"applicant\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(not_json.status(), 400);
    let wrong_type = app
        .http
        .post(format!("{}/v1/cases", app.base))
        .body("nik=1")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_type.status(), 400);

    assert_eq!(app.case_count().await, 0, "a refused request must change nothing");
}

#[tokio::test]
async fn a_retried_request_with_the_same_idempotency_key_returns_the_same_case() {
    let app = spawn_app().await;
    let first: Value = app
        .post_case(&application(), Some("desk-7-0001"))
        .await
        .json()
        .await
        .unwrap();
    let retry = app.post_case(&application(), Some("desk-7-0001")).await;
    assert_eq!(retry.status(), 201);
    let retry: Value = retry.json().await.unwrap();
    assert_eq!(first["case_id"], retry["case_id"]);
    assert_eq!(first["case_number"], retry["case_number"]);

    let mut other = application();
    other["applicant"]["full_name"] = json!("Someone Else");
    let reused = app.post_case(&other, Some("desk-7-0001")).await;
    assert_eq!(reused.status(), 422);
    let error: Value = reused.json().await.unwrap();
    assert_eq!(error["error"]["code"], "idempotency_key_reused");
    assert_eq!(app.case_count().await, 1);
}

#[tokio::test]
async fn concurrent_requests_with_one_idempotency_key_open_one_case() {
    let app = spawn_app().await;
    let body = application();
    let attempts = futures_join(&app, &body, "desk-9-race").await;
    let mut case_ids = std::collections::HashSet::new();
    for (status, value) in &attempts {
        match status {
            201 => {
                case_ids.insert(value["case_id"].as_str().unwrap().to_string());
            }
            409 => assert_eq!(value["error"]["code"], "conflict"),
            other => panic!("unexpected status {other}: {value}"),
        }
    }
    assert_eq!(case_ids.len(), 1, "{attempts:?}");
    assert_eq!(app.case_count().await, 1);
}

async fn futures_join(app: &TestApp, body: &Value, key: &str) -> Vec<(u16, Value)> {
    let mut handles = Vec::new();
    for _ in 0..6 {
        let client = app.http.clone();
        let url = format!("{}/v1/cases", app.base);
        let body = body.clone();
        let key = key.to_string();
        handles.push(tokio::spawn(async move {
            let response = client
                .post(url)
                .header("Idempotency-Key", key)
                .json(&body)
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            (status, response.json::<Value>().await.unwrap())
        }));
    }
    let mut results = Vec::new();
    for handle in handles {
        results.push(handle.await.unwrap());
    }
    results
}

#[tokio::test]
async fn an_unknown_case_is_not_found() {
    let app = spawn_app().await;
    let response = app.get_case(&Uuid::now_v7().to_string()).await;
    assert_eq!(response.status(), 404);
    let error: Value = response.json().await.unwrap();
    assert_eq!(error["error"]["code"], "not_found");
    assert_eq!(app.get_case("SLRT-0000-2026-999999").await.status(), 404);
}

#[tokio::test]
async fn the_tracker_follows_a_case_through_the_other_services_events() {
    let app = spawn_app().await;
    let created: Value = app.post_case(&application(), None).await.json().await.unwrap();
    let case_id = Uuid::parse_str(created["case_id"].as_str().unwrap()).unwrap();
    let cash_need = created["needs"][0]["need_id"].as_str().unwrap().to_string();
    let school_need = created["needs"][1]["need_id"].as_str().unwrap().to_string();
    let brokers = slrt_testkit::brokers();

    let decided = eligibility::CaseDecided {
        case_id: case_id.to_string(),
        catalogue_version: "2026.1".into(),
        decisions: vec![
            eligibility::NeedDecision {
                need_id: cash_need.clone(),
                category: "cash_assistance".into(),
                outcome: eligibility::Outcome::Approved as i32,
                programme_code: "PKH".into(),
                reasons: vec![eligibility::Reason {
                    rule: "PKH.desil".into(),
                    message: "desil 2 is within 1-4".into(),
                }],
                ..Default::default()
            },
            eligibility::NeedDecision {
                need_id: school_need.clone(),
                category: "school_aid".into(),
                outcome: eligibility::Outcome::Rejected as i32,
                reasons: vec![eligibility::Reason {
                    rule: "PIP.age".into(),
                    message: "no school-age child".into(),
                }],
                ..Default::default()
            },
        ],
        ..Default::default()
    };
    let topic = |service: &str| format!("{}slrt.{service}.events.v1", app.prefix);
    slrt_testkit::publish(&brokers, &topic("eligibility"), "eligibility", Some(case_id), &decided).await;
    let referral_id = Uuid::now_v7().to_string();
    let details = referral::ReferralDetails {
        referral_id: referral_id.clone(),
        case_id: case_id.to_string(),
        need_id: cash_need.clone(),
        category: "cash_assistance".into(),
        programme_code: "PKH".into(),
        opd_code: "DINSOS".into(),
        opd_name: "Dinas Sosial".into(),
        service: "PKH".into(),
        ..Default::default()
    };
    slrt_testkit::publish(
        &brokers,
        &topic("referral"),
        "referral",
        Some(case_id),
        &referral::ReferralRequested {
            referral: Some(details.clone()),
            routed_by: "routing_table".into(),
            routing_note: String::new(),
        },
    )
    .await;
    slrt_testkit::publish(
        &brokers,
        &topic("referral"),
        "referral",
        Some(case_id),
        &referral::ReferralAccepted {
            referral: Some(details),
            actor: "officer-17".into(),
            note: String::new(),
        },
    )
    .await;

    let case = slrt_testkit::eventually(Duration::from_secs(60), "the tracker to reach in_service", || {
        let app = &app;
        async move {
            let case: Value = app.get_case(&case_id.to_string()).await.json().await.ok()?;
            (case["status"] == "in_service" && case["timeline"].as_array()?.len() == 4).then_some(case)
        }
    })
    .await;
    let services: Vec<&str> = case["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["service"].as_str().unwrap())
        .collect();
    assert_eq!(services, ["intake", "eligibility", "referral", "referral"]);
    let needs = case["needs"].as_array().unwrap();
    let cash = needs.iter().find(|n| n["need_id"] == cash_need.as_str()).unwrap();
    assert_eq!(cash["status"], "in_service");
    assert_eq!(cash["programme_code"], "PKH");
    assert_eq!(cash["opd_code"], "DINSOS");
    let school = needs.iter().find(|n| n["need_id"] == school_need.as_str()).unwrap();
    assert_eq!(school["status"], "rejected");

    let completed = referral::ReferralCompleted {
        referral_id,
        case_id: case_id.to_string(),
        opd_code: "DINSOS".into(),
        actor: "officer-17".into(),
        successful: true,
        ..Default::default()
    };
    slrt_testkit::publish(&brokers, &topic("referral"), "referral", Some(case_id), &completed).await;
    slrt_testkit::eventually(Duration::from_secs(60), "the case to be resolved", || {
        let app = &app;
        async move {
            let case: Value = app.get_case(&case_id.to_string()).await.json().await.ok()?;
            (case["status"] == "resolved").then_some(())
        }
    })
    .await;
}

#[tokio::test]
async fn the_case_tracker_answers_over_grpc() {
    let app = spawn_app().await;
    let created: Value = app.post_case(&application(), None).await.json().await.unwrap();
    let mut client = CaseTrackerServiceClient::connect(app.grpc.clone()).await.unwrap();
    let supervisor = bearer(ACTOR, &["supervisor"], Some(AREA));
    let case = client
        .get_case(as_caller(&supervisor, created["case_number"].as_str().unwrap()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(case.case_id, created["case_id"].as_str().unwrap());
    assert_eq!(case.status, "open");
    assert_eq!(case.timeline.len(), 1);
    let missing = client
        .get_case(as_caller(&supervisor, &Uuid::now_v7().to_string()))
        .await
        .unwrap_err();
    assert_eq!(missing.code(), tonic::Code::NotFound);
    let empty = client.get_case(as_caller(&supervisor, "")).await.unwrap_err();
    assert_eq!(empty.code(), tonic::Code::InvalidArgument);
}

/// A `GetCase` call carrying `authorization`.
fn as_caller(authorization: &str, case_ref: &str) -> tonic::Request<GetCaseRequest> {
    let mut request = tonic::Request::new(GetCaseRequest {
        case_ref: case_ref.to_string(),
    });
    request
        .metadata_mut()
        .insert("authorization", authorization.parse().unwrap());
    request
}

#[tokio::test]
async fn operational_endpoints_answer() {
    let app = spawn_app().await;
    // The operational endpoints need no token.
    let anonymous = slrt_testkit::http_client();
    let get = |path: &str| anonymous.get(format!("{}{path}", app.base)).send();
    assert_eq!(get("/healthz").await.unwrap().status(), 200);
    let ready: Value = get("/readyz").await.unwrap().json().await.unwrap();
    assert_eq!(ready["database"]["ready"], true, "{ready}");
    assert_eq!(ready["broker"]["ready"], true, "{ready}");
    app.post_case(&application(), None).await;
    let metrics = get("/metrics").await.unwrap().text().await.unwrap();
    assert!(metrics.contains("slrt_http_request_duration_seconds"), "{metrics}");
    let openapi: Value = get("/openapi.json").await.unwrap().json().await.unwrap();
    assert!(openapi["paths"]["/v1/cases"]["post"].is_object());
    assert!(openapi["paths"]["/v1/cases/{case_ref}"]["get"].is_object());
    assert!(openapi["paths"]["/v1/cases"]["get"].is_object());
    assert!(openapi["paths"]["/v1/cases/counts"]["get"].is_object());
    assert!(openapi["paths"]["/v1/cases/export.csv"]["get"].is_object());
    for path in ["/healthz", "/readyz", "/metrics", "/openapi.json"] {
        assert!(openapi["paths"][path]["get"].is_object(), "{path} is documented");
    }
    for action in ["withdraw", "close", "answer"] {
        assert!(
            openapi["paths"][format!("/v1/cases/{{case_ref}}/{action}")]["post"].is_object(),
            "{action}"
        );
    }
    // Every /v1 route asks for the bearer token and says what a refusal looks like; the
    // operational ones ask for nothing.
    assert_eq!(openapi["components"]["securitySchemes"]["bearer"]["scheme"], "bearer");
    let paths = openapi["paths"].as_object().unwrap();
    for (path, item) in paths {
        for (method, operation) in item.as_object().unwrap() {
            if path.starts_with("/v1/") {
                assert_eq!(operation["security"], json!([{"bearer": []}]), "{method} {path}");
                for status in ["401", "403"] {
                    assert!(operation["responses"][status].is_object(), "{method} {path} {status}");
                }
                // Whatever takes input may refuse it with a 400 naming the field.
                let takes_input = operation.get("requestBody").is_some()
                    || operation["parameters"].as_array().is_some_and(|list| !list.is_empty());
                if takes_input {
                    assert!(operation["responses"]["400"].is_object(), "{method} {path} 400");
                }
                // Every parameter a path names is declared.
                for name in path.split('/').filter_map(|s| s.strip_prefix('{')?.strip_suffix('}')) {
                    let declared = operation["parameters"]
                        .as_array()
                        .is_some_and(|list| list.iter().any(|p| p["in"] == "path" && p["name"] == name));
                    assert!(declared, "{method} {path} declares {name}");
                }
            } else {
                assert!(operation.get("security").is_none(), "{method} {path}");
            }
        }
    }
    assert!(openapi["paths"]["/v1/cases/{case_ref}"]["get"]["responses"]["404"].is_object());
    assert!(paths.contains_key("/v1/audit"), "the auditors' routes are listed");
    assert_eq!(get("/docs/").await.unwrap().status(), 200);
}

// The tracker through re-routing, linking, escalation and withdrawal: events published on the
// topics as eligibility and referral would, the case read back over HTTP.

impl TestApp {
    fn topic(&self, service: &str) -> String {
        format!("{}slrt.{service}.events.v1", self.prefix)
    }

    async fn publish<P: prost::Name>(&self, service: &str, case_id: Uuid, payload: &P) -> Uuid {
        slrt_testkit::publish(
            &slrt_testkit::brokers(),
            &self.topic(service),
            service,
            Some(case_id),
            payload,
        )
        .await
    }

    /// Opens a case with one need per category; its id and the need ids, in order.
    async fn open_case_for(&self, categories: &[&str]) -> (Uuid, Vec<String>) {
        let mut body = application();
        body["needs"] = json!(
            categories
                .iter()
                .map(|category| json!({"category": category}))
                .collect::<Vec<_>>()
        );
        let created: Value = self.post_case(&body, None).await.json().await.unwrap();
        let case_id = Uuid::parse_str(created["case_id"].as_str().unwrap()).unwrap();
        let needs = created["needs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|need| need["need_id"].as_str().unwrap().to_string())
            .collect();
        (case_id, needs)
    }

    /// The case once its timeline has `entries` lines, that is once every event published so
    /// far has been applied, whatever order the topics delivered them in.
    async fn case_after(&self, case_id: Uuid, entries: usize) -> Value {
        slrt_testkit::eventually(
            Duration::from_secs(60),
            &format!("{entries} timeline entries on case {case_id}"),
            || async move {
                let case: Value = self.get_case(&case_id.to_string()).await.json().await.ok()?;
                (case["timeline"].as_array()?.len() >= entries).then_some(case)
            },
        )
        .await
    }
}

fn need_of<'a>(case: &'a Value, need_id: &str) -> &'a Value {
    case["needs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|need| need["need_id"] == need_id)
        .unwrap_or_else(|| panic!("no need {need_id} in {case:#}"))
}

fn summaries(case: &Value) -> Vec<String> {
    case["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| entry["summary"].as_str().unwrap().to_string())
        .collect()
}

/// Eligibility approving each (need id, category, programme).
fn approved(case_id: Uuid, needs: &[(&str, &str, &str)]) -> eligibility::CaseDecided {
    eligibility::CaseDecided {
        case_id: case_id.to_string(),
        catalogue_version: "2026.1".into(),
        decisions: needs
            .iter()
            .map(|(need_id, category, programme)| eligibility::NeedDecision {
                need_id: need_id.to_string(),
                category: category.to_string(),
                outcome: eligibility::Outcome::Approved as i32,
                programme_code: programme.to_string(),
                reasons: vec![eligibility::Reason {
                    rule: format!("{programme}.desil"),
                    message: "desil 2 is within 1-4".into(),
                }],
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    }
}

fn opd_name(opd_code: &str) -> &'static str {
    match opd_code {
        "DINSOS" => "Dinas Sosial",
        "BAZNAS" => "BAZNAS Kota Pekalongan",
        "DINKES" => "Dinas Kesehatan",
        "DISDIK" => "Dinas Pendidikan",
        _ => "Perangkat Daerah",
    }
}

/// A referral of `need_id` to `opd_code`, the `attempt`th for the need.
fn details(case_id: Uuid, need_id: &str, referral_id: Uuid, opd_code: &str, attempt: i32) -> referral::ReferralDetails {
    referral::ReferralDetails {
        referral_id: referral_id.to_string(),
        case_id: case_id.to_string(),
        need_id: need_id.to_string(),
        category: "cash_assistance".into(),
        programme_code: "PKH".into(),
        opd_code: opd_code.into(),
        opd_name: opd_name(opd_code).into(),
        service: "PKH".into(),
        region_code: "33.75.01.1002".into(),
        client_name: "Siti Aminah".into(),
        attempt,
        sla_tier: "dispute".into(),
        need_referred_at: "2026-03-02T09:00:00+07:00".into(),
        response_due_at: "2026-03-05T23:59:59+07:00".into(),
        resolution_due_at: "2026-03-20T23:59:59+07:00".into(),
        ..Default::default()
    }
}

fn requested(details: &referral::ReferralDetails, routed_by: &str, note: &str) -> referral::ReferralRequested {
    referral::ReferralRequested {
        referral: Some(details.clone()),
        routed_by: routed_by.into(),
        routing_note: note.into(),
    }
}

fn rerouted(previous: &referral::ReferralDetails, referral_id: Uuid, opd_code: &str) -> referral::ReferralDetails {
    referral::ReferralDetails {
        referral_id: referral_id.to_string(),
        opd_code: opd_code.into(),
        opd_name: opd_name(opd_code).into(),
        attempt: previous.attempt + 1,
        previous_referral_id: previous.referral_id.clone(),
        ..previous.clone()
    }
}

fn rejected(details: &referral::ReferralDetails, reason: &str) -> referral::ReferralRejected {
    referral::ReferralRejected {
        referral_id: details.referral_id.clone(),
        case_id: details.case_id.clone(),
        opd_code: details.opd_code.clone(),
        actor: "officer-3".into(),
        reason: reason.into(),
    }
}

fn completed(details: &referral::ReferralDetails) -> referral::ReferralCompleted {
    referral::ReferralCompleted {
        referral_id: details.referral_id.clone(),
        case_id: details.case_id.clone(),
        opd_code: details.opd_code.clone(),
        actor: "officer-17".into(),
        successful: true,
        ..Default::default()
    }
}

fn accepted(details: &referral::ReferralDetails) -> referral::ReferralAccepted {
    referral::ReferralAccepted {
        referral: Some(details.clone()),
        actor: "officer-17".into(),
        note: "verified at home visit".into(),
    }
}

#[tokio::test]
async fn a_need_rejected_by_one_agency_follows_its_re_routed_referral_to_resolution() {
    let app = spawn_app().await;
    let (case_id, needs) = app.open_case_for(&["cash_assistance"]).await;
    let need = needs[0].as_str();
    app.publish(
        "eligibility",
        case_id,
        &approved(case_id, &[(need, "cash_assistance", "PKH")]),
    )
    .await;
    let first = details(case_id, need, Uuid::now_v7(), "DINSOS", 1);
    app.publish(
        "referral",
        case_id,
        &requested(&first, "routing_table", "routing table 2026.1"),
    )
    .await;
    app.publish(
        "referral",
        case_id,
        &rejected(&first, "PKH quota for 2026 is exhausted"),
    )
    .await;
    let second = rerouted(&first, Uuid::now_v7(), "BAZNAS");
    app.publish(
        "referral",
        case_id,
        &requested(
            &second,
            "rerouted_after_rejection",
            "DINSOS rejected: PKH quota for 2026 is exhausted",
        ),
    )
    .await;

    let case = app.case_after(case_id, 5).await;
    let cash = need_of(&case, need);
    assert_eq!(cash["status"], "referred", "{case:#}");
    assert_eq!(cash["opd_code"], "BAZNAS");
    assert_eq!(cash["referral_id"], second.referral_id.as_str());
    assert_eq!(cash["programme_code"], "PKH");
    assert_eq!(case["status"], "referred");
    assert!(
        summaries(&case).contains(
            &"Re-routed cash_assistance to BAZNAS Kota Pekalongan (BAZNAS) after a rejection, attempt 2: PKH \
              (DINSOS rejected: PKH quota for 2026 is exhausted)"
                .to_string()
        ),
        "{:#?}",
        summaries(&case)
    );

    app.publish(
        "referral",
        case_id,
        &referral::ReferralAcknowledged {
            referral_id: second.referral_id.clone(),
            case_id: case_id.to_string(),
            opd_code: "BAZNAS".into(),
            actor: "amil-2".into(),
        },
    )
    .await;
    app.publish("referral", case_id, &accepted(&second)).await;
    app.publish(
        "referral",
        case_id,
        &referral::ReferralInProgress {
            referral_id: second.referral_id.clone(),
            case_id: case_id.to_string(),
            opd_code: "BAZNAS".into(),
            actor: "amil-2".into(),
            note: "first instalment scheduled".into(),
        },
    )
    .await;
    let case = app.case_after(case_id, 8).await;
    assert_eq!(need_of(&case, need)["status"], "in_service", "{case:#}");
    assert_eq!(case["status"], "in_service");
    assert_eq!(
        summaries(&case).last().unwrap(),
        "BAZNAS started serving the referral (amil-2): first instalment scheduled"
    );

    app.publish("referral", case_id, &completed(&second)).await;
    let case = app.case_after(case_id, 9).await;
    assert_eq!(need_of(&case, need)["status"], "resolved", "{case:#}");
    assert_eq!(need_of(&case, need)["opd_code"], "BAZNAS");
    assert_eq!(case["status"], "resolved");
}

#[tokio::test]
async fn a_need_no_agency_will_take_is_unrouted_until_a_supervisor_places_it() {
    let app = spawn_app().await;
    let (case_id, needs) = app.open_case_for(&["cash_assistance"]).await;
    let need = needs[0].as_str();
    app.publish(
        "eligibility",
        case_id,
        &approved(case_id, &[(need, "cash_assistance", "PKH")]),
    )
    .await;
    let first = details(case_id, need, Uuid::now_v7(), "DINSOS", 1);
    app.publish("referral", case_id, &requested(&first, "routing_table", ""))
        .await;
    app.publish("referral", case_id, &rejected(&first, "outside our service area"))
        .await;
    let pending = referral::ReferralDetails {
        referral_id: String::new(),
        opd_code: String::new(),
        opd_name: String::new(),
        service: String::new(),
        attempt: 2,
        previous_referral_id: first.referral_id.clone(),
        ..first.clone()
    };
    app.publish(
        "referral",
        case_id,
        &referral::ReferralUnrouted {
            case_id: case_id.to_string(),
            need_id: need.to_string(),
            category: "cash_assistance".into(),
            programme_code: "PKH".into(),
            region_code: "33.75.01.1002".into(),
            reason: "no other agency serves cash_assistance in 33.75.01".into(),
            pending: Some(pending),
            tried_opd_codes: vec!["DINSOS".into()],
            ..Default::default()
        },
    )
    .await;

    let case = app.case_after(case_id, 5).await;
    let cash = need_of(&case, need);
    assert_eq!(cash["status"], "unrouted", "{case:#}");
    assert_eq!(cash["referral_id"], Value::Null);
    assert_eq!(cash["opd_code"], Value::Null);
    assert_eq!(case["status"], "assessed");
    assert_eq!(
        summaries(&case).last().unwrap(),
        "No agency route for cash_assistance in 33.75.01.1002: no other agency serves cash_assistance in \
         33.75.01 (already tried: DINSOS)"
    );

    let placed = rerouted(&first, Uuid::now_v7(), "DINKES");
    app.publish(
        "referral",
        case_id,
        &requested(&placed, "placed_by_supervisor", "placed by spv-pekalongan-1"),
    )
    .await;
    let case = app.case_after(case_id, 6).await;
    let cash = need_of(&case, need);
    assert_eq!(cash["status"], "referred", "{case:#}");
    assert_eq!(cash["referral_id"], placed.referral_id.as_str());
    assert_eq!(cash["opd_code"], "DINKES");
    assert_eq!(case["status"], "referred");
}

#[tokio::test]
async fn an_overdue_referral_shows_its_escalation_level_and_line() {
    let app = spawn_app().await;
    let (case_id, needs) = app.open_case_for(&["cash_assistance"]).await;
    let need = needs[0].as_str();
    app.publish(
        "eligibility",
        case_id,
        &approved(case_id, &[(need, "cash_assistance", "PKH")]),
    )
    .await;
    let referral = details(case_id, need, Uuid::now_v7(), "DINSOS", 1);
    app.publish("referral", case_id, &requested(&referral, "routing_table", ""))
        .await;
    let escalated = |level: i32, to: &str, to_name: &str, days: i32| referral::ReferralEscalated {
        referral_id: referral.referral_id.clone(),
        case_id: case_id.to_string(),
        opd_code: "DINSOS".into(),
        clock: "response".into(),
        level,
        escalated_to: to.into(),
        escalated_to_name: to_name.into(),
        due_at: "2026-03-05T23:59:59+07:00".into(),
        escalated_at: "2026-03-09T08:00:00+07:00".into(),
        working_days_overdue: days,
    };
    app.publish(
        "referral",
        case_id,
        &escalated(1, "KOORDINATOR_PUSKESOS", "Koordinator Puskesos", 1),
    )
    .await;
    app.publish("referral", case_id, &escalated(2, "MANAJER_SLRT", "Manajer SLRT", 2))
        .await;

    let case = app.case_after(case_id, 5).await;
    let cash = need_of(&case, need);
    assert_eq!(cash["escalation_level"], 2, "{case:#}");
    assert_eq!(cash["overdue"], "response");
    assert_eq!(cash["status"], "referred");
    assert_eq!(
        summaries(&case).last().unwrap(),
        "Response from DINSOS overdue by 2 working day(s): escalated to Manajer SLRT (level 2)"
    );

    app.publish(
        "referral",
        case_id,
        &referral::ReferralAcknowledged {
            referral_id: referral.referral_id.clone(),
            case_id: case_id.to_string(),
            opd_code: "DINSOS".into(),
            actor: "officer-17".into(),
        },
    )
    .await;
    let case = app.case_after(case_id, 6).await;
    let cash = need_of(&case, need);
    assert_eq!(cash["overdue"], Value::Null, "the agency answered: {case:#}");
    assert_eq!(cash["escalation_level"], 2, "the highest step stays on record");
}

#[tokio::test]
async fn a_need_linked_to_another_case_referral_follows_it_to_resolution() {
    let app = spawn_app().await;
    let (first_case, first_needs) = app.open_case_for(&["cash_assistance"]).await;
    let (second_case, second_needs) = app.open_case_for(&["cash_assistance"]).await;
    let open_referral = details(first_case, &first_needs[0], Uuid::now_v7(), "DINSOS", 1);
    app.publish(
        "eligibility",
        first_case,
        &approved(first_case, &[(&first_needs[0], "cash_assistance", "PKH")]),
    )
    .await;
    app.publish("referral", first_case, &requested(&open_referral, "routing_table", ""))
        .await;

    // Referral links the second case's need before the tracker has seen eligibility's
    // decision about it: the decision, arriving later, must not pull it back to approved.
    let linked_need = second_needs[0].as_str();
    app.publish(
        "referral",
        second_case,
        &referral::ReferralLinked {
            referral_id: open_referral.referral_id.clone(),
            case_id: first_case.to_string(),
            opd_code: "DINSOS".into(),
            linked_case_id: second_case.to_string(),
            linked_need_id: linked_need.to_string(),
        },
    )
    .await;
    let case = app.case_after(second_case, 2).await;
    assert_eq!(need_of(&case, linked_need)["status"], "linked", "{case:#}");
    app.publish(
        "eligibility",
        second_case,
        &approved(second_case, &[(linked_need, "cash_assistance", "PKH")]),
    )
    .await;

    let case = app.case_after(second_case, 3).await;
    let linked = need_of(&case, linked_need);
    assert_eq!(linked["status"], "linked", "{case:#}");
    assert_eq!(linked["referral_id"], open_referral.referral_id.as_str());
    assert_eq!(linked["opd_code"], "DINSOS");
    assert_eq!(case["status"], "referred");
    assert!(
        summaries(&case).contains(
            &"Already referred to DINSOS under another case: linked to the open referral instead of referring twice"
                .to_string()
        ),
        "{:#?}",
        summaries(&case)
    );

    app.publish("referral", first_case, &completed(&open_referral)).await;
    app.publish(
        "referral",
        second_case,
        &referral::LinkedNeedClosed {
            referral_id: open_referral.referral_id.clone(),
            linked_case_id: second_case.to_string(),
            linked_need_id: linked_need.to_string(),
            referral_status: "completed".into(),
            successful: true,
            outcome_code: String::new(),
        },
    )
    .await;
    let case = app.case_after(second_case, 4).await;
    assert_eq!(need_of(&case, linked_need)["status"], "resolved", "{case:#}");
    assert_eq!(case["status"], "resolved");
    let first = app.case_after(first_case, 4).await;
    assert_eq!(need_of(&first, &first_needs[0])["status"], "resolved", "{first:#}");
}

#[tokio::test]
async fn a_revoked_referral_withdraws_the_need_and_the_case_resolves_once_every_need_is_finished() {
    let app = spawn_app().await;
    let (case_id, needs) = app.open_case_for(&["cash_assistance", "school_aid"]).await;
    let (cash, school) = (needs[0].as_str(), needs[1].as_str());
    app.publish(
        "eligibility",
        case_id,
        &approved(
            case_id,
            &[(cash, "cash_assistance", "PKH"), (school, "school_aid", "PIP")],
        ),
    )
    .await;
    let cash_referral = details(case_id, cash, Uuid::now_v7(), "DINSOS", 1);
    let school_referral = referral::ReferralDetails {
        category: "school_aid".into(),
        programme_code: "PIP".into(),
        service: "PIP".into(),
        ..details(case_id, school, Uuid::now_v7(), "DISDIK", 1)
    };
    app.publish("referral", case_id, &requested(&cash_referral, "routing_table", ""))
        .await;
    app.publish("referral", case_id, &requested(&school_referral, "routing_table", ""))
        .await;
    app.publish(
        "referral",
        case_id,
        &referral::ReferralRevoked {
            referral_id: cash_referral.referral_id.clone(),
            case_id: case_id.to_string(),
            opd_code: "DINSOS".into(),
            actor: "spv-pekalongan-1".into(),
            reason: "the applicant found work and withdrew the request".into(),
        },
    )
    .await;

    let case = app.case_after(case_id, 5).await;
    assert_eq!(need_of(&case, cash)["status"], "withdrawn", "{case:#}");
    assert_eq!(need_of(&case, school)["status"], "referred");
    assert_eq!(case["status"], "referred", "one need is still open");
    assert_eq!(
        summaries(&case).last().unwrap(),
        "The SLRT withdrew the referral to DINSOS (spv-pekalongan-1): the applicant found work and withdrew the request"
    );

    app.publish("referral", case_id, &completed(&school_referral)).await;
    let case = app.case_after(case_id, 6).await;
    assert_eq!(need_of(&case, school)["status"], "resolved", "{case:#}");
    assert_eq!(need_of(&case, cash)["status"], "withdrawn");
    assert_eq!(case["status"], "resolved");
}

#[tokio::test]
async fn a_late_event_of_a_superseded_referral_does_not_move_the_need_back() {
    let app = spawn_app().await;
    let (case_id, needs) = app.open_case_for(&["cash_assistance"]).await;
    let need = needs[0].as_str();
    app.publish(
        "eligibility",
        case_id,
        &approved(case_id, &[(need, "cash_assistance", "PKH")]),
    )
    .await;
    let first = details(case_id, need, Uuid::now_v7(), "DINSOS", 1);
    app.publish("referral", case_id, &requested(&first, "routing_table", ""))
        .await;
    app.publish(
        "referral",
        case_id,
        &referral::ReferralTransferred {
            referral_id: first.referral_id.clone(),
            case_id: case_id.to_string(),
            opd_code: "DINSOS".into(),
            actor: "officer-17".into(),
            to_opd_code: "BAZNAS".into(),
            reason: "zakat-funded cash for this household".into(),
        },
    )
    .await;
    let second = rerouted(&first, Uuid::now_v7(), "BAZNAS");
    app.publish("referral", case_id, &requested(&second, "transferred", "from DINSOS"))
        .await;
    let case = app.case_after(case_id, 5).await;
    assert_eq!(
        need_of(&case, need)["referral_id"],
        second.referral_id.as_str(),
        "{case:#}"
    );
    assert!(
        summaries(&case)
            .contains(&"DINSOS transferred the referral to BAZNAS: zakat-funded cash for this household".into()),
        "{:#?}",
        summaries(&case)
    );

    // The superseded referral speaks again: its request once more, an acceptance, a
    // completion and an escalation. All are history; none moves the need.
    app.publish("referral", case_id, &requested(&first, "routing_table", ""))
        .await;
    app.publish("referral", case_id, &accepted(&first)).await;
    app.publish("referral", case_id, &completed(&first)).await;
    app.publish(
        "referral",
        case_id,
        &referral::ReferralEscalated {
            referral_id: first.referral_id.clone(),
            case_id: case_id.to_string(),
            opd_code: "DINSOS".into(),
            clock: "resolution".into(),
            level: 3,
            escalated_to: "KEPALA_DINAS".into(),
            escalated_to_name: "Kepala Dinas Sosial".into(),
            working_days_overdue: 4,
            ..Default::default()
        },
    )
    .await;
    let case = app.case_after(case_id, 9).await;
    let cash = need_of(&case, need);
    assert_eq!(cash["status"], "referred", "{case:#}");
    assert_eq!(cash["referral_id"], second.referral_id.as_str());
    assert_eq!(cash["opd_code"], "BAZNAS");
    assert_eq!(cash["escalation_level"], 0);
    assert_eq!(cash["overdue"], Value::Null);
    assert_eq!(case["status"], "referred");
}

#[tokio::test]
async fn an_event_applied_again_after_later_ones_changes_nothing() {
    use prost::Message;
    let app = spawn_app().await;
    let (case_id, needs) = app.open_case_for(&["cash_assistance"]).await;
    let need = needs[0].as_str();
    app.publish(
        "eligibility",
        case_id,
        &approved(case_id, &[(need, "cash_assistance", "PKH")]),
    )
    .await;
    let referral = details(case_id, need, Uuid::now_v7(), "DINSOS", 1);
    app.publish("referral", case_id, &requested(&referral, "routing_table", ""))
        .await;
    let acceptance = accepted(&referral);
    let acceptance_id = app.publish("referral", case_id, &acceptance).await;
    app.publish("referral", case_id, &completed(&referral)).await;
    let before = app.case_after(case_id, 5).await;
    assert_eq!(need_of(&before, need)["status"], "resolved", "{before:#}");

    // The consumer's inbox turns a broker redelivery into nothing; the tracker must too, for
    // the copies it gets another way (its own events inline and from Kafka, a rebuild).
    let pool = sqlx::PgPool::connect(&app.database_url).await.unwrap();
    let mut conn = pool.acquire().await.unwrap();
    let payload = acceptance.encode_to_vec();
    slrt_intake::projections::apply(
        &mut conn,
        &slrt_intake::projections::TrackedEvent {
            event_id: acceptance_id,
            event_type: "slrt.referral.v1.ReferralAccepted",
            case_id: Some(case_id),
            occurred_at: chrono::Utc::now(),
            service: "referral",
            payload: &payload,
            traceparent: None,
        },
    )
    .await
    .unwrap();

    let after: Value = app.get_case(&case_id.to_string()).await.json().await.unwrap();
    assert_eq!(need_of(&after, need)["status"], "resolved", "{after:#}");
    assert_eq!(after["status"], "resolved");
    assert_eq!(after["timeline"], before["timeline"]);
}

// The supervisors' view: lists, counts and the export, over cases whose tracker state is built
// from events published as eligibility and referral would.

fn darto() -> Value {
    json!({
        "applicant": {
            "nik": "3375021501780001",
            "full_name": "Darto",
            "birth_date": "1978-01-15",
            "sex": "M",
            "region_code": "33.75.02.1004",
            "kk_number": "3375020409120011"
        },
        "needs": [],
        "desk_region_code": "33.75.02.1004"
    })
}

/// Five cases, opened in this order:
/// - `a`: Siti (33.75.01), cash under PKH referred to DINSOS and escalated once: referred, overdue;
/// - `b`: Darto (33.75.02), documents under ADMINDUK accepted by DISDUKCAPIL: in service;
/// - `c`: Siti, school aid not decided yet: open;
/// - `d`: Darto, cash under PKH referred to DINSOS, school aid rejected: referred;
/// - `e`: Siti, housing repair not decided yet: open.
struct Supervised {
    a: String,
    b: String,
    c: String,
    d: String,
    e: String,
}

impl Supervised {
    fn all(&self) -> Vec<&str> {
        vec![&self.a, &self.b, &self.c, &self.d, &self.e]
    }
}

impl TestApp {
    async fn open_case_as(&self, mut body: Value, categories: &[&str]) -> (Uuid, Vec<String>) {
        body["needs"] = json!(
            categories
                .iter()
                .map(|category| json!({"category": category}))
                .collect::<Vec<_>>()
        );
        let response = self.post_case(&body, None).await;
        assert_eq!(response.status(), 201);
        let created: Value = response.json().await.unwrap();
        let case_id = Uuid::parse_str(created["case_id"].as_str().unwrap()).unwrap();
        let needs = created["needs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|need| need["need_id"].as_str().unwrap().to_string())
            .collect();
        (case_id, needs)
    }

    async fn supervised_cases(&self) -> Supervised {
        let (a, a_needs) = self.open_case_as(application(), &["cash_assistance"]).await;
        let (b, b_needs) = self.open_case_as(darto(), &["civil_documents"]).await;
        let (c, _) = self.open_case_as(application(), &["school_aid"]).await;
        let (d, d_needs) = self.open_case_as(darto(), &["cash_assistance", "school_aid"]).await;
        let (e, _) = self.open_case_as(application(), &["housing_repair"]).await;

        let a_need = a_needs[0].as_str();
        self.publish("eligibility", a, &approved(a, &[(a_need, "cash_assistance", "PKH")]))
            .await;
        let a_referral = details(a, a_need, Uuid::now_v7(), "DINSOS", 1);
        self.publish("referral", a, &requested(&a_referral, "routing_table", ""))
            .await;
        self.publish(
            "referral",
            a,
            &referral::ReferralEscalated {
                referral_id: a_referral.referral_id.clone(),
                case_id: a.to_string(),
                opd_code: "DINSOS".into(),
                clock: "response".into(),
                level: 1,
                escalated_to: "KOORDINATOR_PUSKESOS".into(),
                escalated_to_name: "Koordinator Puskesos".into(),
                due_at: "2026-03-05T23:59:59+07:00".into(),
                escalated_at: "2026-03-09T08:00:00+07:00".into(),
                working_days_overdue: 1,
            },
        )
        .await;

        let b_need = b_needs[0].as_str();
        self.publish(
            "eligibility",
            b,
            &approved(b, &[(b_need, "civil_documents", "ADMINDUK")]),
        )
        .await;
        let b_referral = referral::ReferralDetails {
            category: "civil_documents".into(),
            programme_code: "ADMINDUK".into(),
            region_code: "33.75.02.1004".into(),
            client_name: "Darto".into(),
            ..details(b, b_need, Uuid::now_v7(), "DISDUKCAPIL", 1)
        };
        self.publish("referral", b, &requested(&b_referral, "routing_table", ""))
            .await;
        self.publish("referral", b, &accepted(&b_referral)).await;

        let (d_cash, d_school) = (d_needs[0].as_str(), d_needs[1].as_str());
        let mut decided = approved(d, &[(d_cash, "cash_assistance", "PKH")]);
        decided.decisions.push(eligibility::NeedDecision {
            need_id: d_school.to_string(),
            category: "school_aid".into(),
            outcome: eligibility::Outcome::Rejected as i32,
            reasons: vec![eligibility::Reason {
                rule: "PIP.age".into(),
                message: "no school-age child".into(),
            }],
            ..Default::default()
        });
        self.publish("eligibility", d, &decided).await;
        let d_referral = details(d, d_cash, Uuid::now_v7(), "DINSOS", 1);
        self.publish("referral", d, &requested(&d_referral, "routing_table", ""))
            .await;

        // Every published event applied: the lists below read a settled tracker.
        self.case_after(a, 4).await;
        self.case_after(b, 4).await;
        self.case_after(d, 3).await;
        Supervised {
            a: a.to_string(),
            b: b.to_string(),
            c: c.to_string(),
            d: d.to_string(),
            e: e.to_string(),
        }
    }

    async fn get_query(&self, path: &str, query: &str) -> reqwest::Response {
        self.http
            .get(format!("{}{path}?{query}", self.base))
            .send()
            .await
            .unwrap()
    }

    /// The dashboard counts for `query`. Counts a status or an area can answer come from the
    /// running totals (migration 0106); each is checked here against the same counts read
    /// from the cases (an opening date before any case sends them that way), so every test
    /// that counts also proves the totals right after whatever it did.
    async fn counts(&self, query: &str) -> Value {
        let response = self.get_query("/v1/cases/counts", query).await;
        assert_eq!(response.status(), 200, "counts for {query:?}");
        let counts: Value = response.json().await.unwrap();
        if !query.contains("opened_from") {
            let joined = if query.is_empty() { "" } else { "&" };
            let from_cases = format!("{query}{joined}opened_from=2000-01-01");
            let recounted: Value = self
                .get_query("/v1/cases/counts", &from_cases)
                .await
                .json()
                .await
                .unwrap();
            assert_eq!(counts, recounted, "running totals and cases disagree for {query:?}");
        }
        counts
    }

    /// Every case the list selects, following `next` across pages of `limit`.
    async fn list_all(&self, query: &str, limit: usize) -> Vec<Value> {
        let mut cases = Vec::new();
        let mut next: Option<String> = None;
        for _ in 0..100 {
            let mut page_query = format!("{query}&limit={limit}");
            if let Some(next) = &next {
                page_query.push_str(&format!("&next={next}"));
            }
            let response = self.get_query("/v1/cases", &page_query).await;
            assert_eq!(response.status(), 200, "{page_query}");
            let page: Value = response.json().await.unwrap();
            let items = page["cases"].as_array().unwrap();
            assert!(items.len() <= limit, "{page}");
            cases.extend(items.iter().cloned());
            match page["next"].as_str() {
                Some(cursor) => {
                    assert_eq!(items.len(), limit, "only a full page has a next: {page}");
                    next = Some(cursor.to_string());
                }
                None => return cases,
            }
        }
        panic!("more than 100 pages for {query}");
    }

    async fn ids(&self, query: &str) -> Vec<String> {
        self.list_all(query, 500)
            .await
            .iter()
            .map(|case| case["case_id"].as_str().unwrap().to_string())
            .collect()
    }
}

fn sorted(ids: &[&str]) -> Vec<String> {
    let mut ids: Vec<String> = ids.iter().map(|id| id.to_string()).collect();
    ids.sort();
    ids
}

fn sorted_owned(mut ids: Vec<String>) -> Vec<String> {
    ids.sort();
    ids
}

#[tokio::test]
async fn the_supervisors_list_filters_cases_by_each_value_and_by_several_at_once() {
    let app = spawn_app().await;
    let s = app.supervised_cases().await;

    let everything = app.list_all("", 500).await;
    let newest_first: Vec<&str> = everything
        .iter()
        .map(|case| case["case_id"].as_str().unwrap())
        .collect();
    assert_eq!(newest_first, [&s.e, &s.d, &s.c, &s.b, &s.a], "newest first");

    let expectations: Vec<(&str, Vec<&str>)> = vec![
        ("status=open", vec![&s.c, &s.e]),
        ("status=referred", vec![&s.a, &s.d]),
        ("status=in_service", vec![&s.b]),
        ("status=resolved", vec![]),
        ("region=33", s.all()),
        ("region=33.75", s.all()),
        ("region=3375", s.all()),
        ("region=33.75.01", vec![&s.a, &s.c, &s.e]),
        ("region=33.75.02.1004", vec![&s.b, &s.d]),
        ("region=33.24", vec![]),
        ("opd=DINSOS", vec![&s.a, &s.d]),
        ("opd=DISDUKCAPIL", vec![&s.b]),
        ("opd=BAZNAS", vec![]),
        ("programme=PKH", vec![&s.a, &s.d]),
        ("programme=ADMINDUK", vec![&s.b]),
        ("overdue=true", vec![&s.a]),
        ("overdue=false", vec![&s.b, &s.c, &s.d, &s.e]),
        ("region=33.75.02&opd=DINSOS", vec![&s.d]),
        ("status=referred&overdue=true&programme=PKH", vec![&s.a]),
        ("region=33.75.01&status=open", vec![&s.c, &s.e]),
        ("region=33.75.01&programme=ADMINDUK", vec![]),
    ];
    for (query, expected) in expectations {
        assert_eq!(sorted_owned(app.ids(query).await), sorted(&expected), "{query}");
    }

    // opened_from is inclusive, opened_to exclusive: split at c, c goes to the later half.
    let c_opened = everything.iter().find(|case| case["case_id"] == s.c.as_str()).unwrap()["opened_at"]
        .as_str()
        .unwrap()
        .to_string();
    let at = c_opened.replace('+', "%2B");
    assert_eq!(
        sorted_owned(app.ids(&format!("opened_from={at}")).await),
        sorted(&[&s.c, &s.d, &s.e])
    );
    assert_eq!(
        sorted_owned(app.ids(&format!("opened_to={at}")).await),
        sorted(&[&s.a, &s.b])
    );
    assert_eq!(
        app.ids(&format!("opened_from={at}&status=open&region=33.75.01"))
            .await
            .len(),
        2
    );
    // Dates: yesterday in WIB is before every case; nothing was opened before it.
    let yesterday = (chrono::Utc::now() + chrono::TimeDelta::hours(7) - chrono::TimeDelta::days(1))
        .format("%Y-%m-%d")
        .to_string();
    assert_eq!(app.ids(&format!("opened_from={yesterday}")).await.len(), 5);
    assert_eq!(app.ids(&format!("opened_to={yesterday}")).await.len(), 0);

    let item = |id: &str| everything.iter().find(|case| case["case_id"] == id).unwrap().clone();
    let a = item(&s.a);
    assert_eq!(a["status"], "referred");
    assert_eq!(a["kind"], "application");
    assert_eq!(a["applicant"]["full_name"], "Siti Aminah");
    assert_eq!(a["applicant"]["nik_masked"], "3375********0003");
    assert_eq!(a["applicant"]["region_code"], "33.75.01.1002");
    assert_eq!(a["need_count"], 1);
    assert_eq!(a["open_need_count"], 1);
    assert_eq!(a["max_escalation_level"], 1);
    assert_eq!(a["overdue"], true);
    assert_eq!(a["opd_codes"], json!(["DINSOS"]));
    assert!(a["case_number"].as_str().unwrap().starts_with("SLRT-3375-"));
    let d = item(&s.d);
    assert_eq!(d["need_count"], 2);
    assert_eq!(d["open_need_count"], 1, "the rejected school aid is finished: {d}");
    assert_eq!(d["overdue"], false);
    assert_eq!(d["max_escalation_level"], 0);
    let c = item(&s.c);
    assert_eq!(c["opd_codes"], json!([]));
    let body = serde_json::to_string(&everything).unwrap();
    assert!(!body.contains("3375014506850003") && !body.contains("3375021501780001"));
}

#[tokio::test]
async fn pages_of_the_case_list_cover_every_case_once_even_while_cases_are_opened() {
    let app = spawn_app().await;
    let s = app.supervised_cases().await;
    let whole: Vec<Value> = app.list_all("", 500).await;

    for limit in [1, 2, 3, 4, 5, 6] {
        let paged = app.list_all("", limit).await;
        let ids: Vec<&str> = paged.iter().map(|case| case["case_id"].as_str().unwrap()).collect();
        let whole_ids: Vec<&str> = whole.iter().map(|case| case["case_id"].as_str().unwrap()).collect();
        assert_eq!(ids, whole_ids, "limit {limit}");
    }
    assert_eq!(
        app.list_all("region=33.75.01", 1).await.len(),
        3,
        "a filtered list pages too"
    );
    let default_page: Value = app.get_query("/v1/cases", "").await.json().await.unwrap();
    assert_eq!(default_page["cases"].as_array().unwrap().len(), 5);
    assert_eq!(default_page["next"], Value::Null);

    // A case opened between two pages neither repeats one already read nor pushes one off.
    let first: Value = app.get_query("/v1/cases", "limit=2").await.json().await.unwrap();
    let (newcomer, _) = app.open_case_as(application(), &["elderly_care"]).await;
    let mut seen: Vec<String> = first["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|case| case["case_id"].as_str().unwrap().to_string())
        .collect();
    let mut next = first["next"].as_str().map(str::to_string);
    while let Some(cursor) = next {
        let page: Value = app
            .get_query("/v1/cases", &format!("limit=2&next={cursor}"))
            .await
            .json()
            .await
            .unwrap();
        seen.extend(
            page["cases"]
                .as_array()
                .unwrap()
                .iter()
                .map(|case| case["case_id"].as_str().unwrap().to_string()),
        );
        next = page["next"].as_str().map(str::to_string);
    }
    assert_eq!(sorted_owned(seen), sorted(&s.all()));
    let newest: Value = app.get_query("/v1/cases", "limit=1").await.json().await.unwrap();
    assert_eq!(newest["cases"][0]["case_id"], newcomer.to_string());
}

#[tokio::test]
async fn the_counts_agree_with_the_list_for_every_filter() {
    let app = spawn_app().await;
    app.supervised_cases().await;

    let counts = app.counts("").await;
    assert_eq!(
        counts,
        json!({
            "total": 5,
            "by_status": {"open": 2, "assessed": 0, "referred": 2, "in_service": 1, "resolved": 0, "closed": 0, "withdrawn": 0},
            "by_regency": {"33.75": 5},
            "by_district": {"33.75.01": 3, "33.75.02": 2},
            "by_opd": {"DINSOS": 2, "DISDUKCAPIL": 1},
            "by_programme": {"PKH": 2, "ADMINDUK": 1},
            "overdue": 1
        })
    );

    for query in [
        "",
        "status=referred",
        "region=33.75.02",
        "opd=DINSOS",
        "programme=ADMINDUK",
        "overdue=true",
        "overdue=false",
        "region=33.75.01&status=open",
        "region=33.24",
    ] {
        let list = app.list_all(query, 2).await;
        let counts = app.counts(query).await;
        assert_eq!(counts["total"], list.len(), "{query}: {counts}");
        let per_status: i64 = counts["by_status"]
            .as_object()
            .unwrap()
            .values()
            .map(|n| n.as_i64().unwrap())
            .sum();
        assert_eq!(per_status as usize, list.len(), "{query}");
        for (status, n) in counts["by_status"].as_object().unwrap() {
            let listed = list.iter().filter(|case| case["status"] == status.as_str()).count();
            assert_eq!(n.as_u64().unwrap() as usize, listed, "{query}: {status}");
        }
        let overdue = list.iter().filter(|case| case["overdue"] == true).count();
        assert_eq!(counts["overdue"], overdue, "{query}");
        for (opd, n) in counts["by_opd"].as_object().unwrap() {
            let listed = list
                .iter()
                .filter(|case| case["opd_codes"].as_array().unwrap().contains(&json!(opd)))
                .count();
            assert_eq!(n.as_u64().unwrap() as usize, listed, "{query}: {opd}");
        }
        for (district, n) in counts["by_district"].as_object().unwrap() {
            let listed = list
                .iter()
                .filter(|case| {
                    case["applicant"]["region_code"]
                        .as_str()
                        .unwrap()
                        .starts_with(district.as_str())
                })
                .count();
            assert_eq!(n.as_u64().unwrap() as usize, listed, "{query}: {district}");
        }
    }
}

#[tokio::test]
async fn the_export_is_csv_with_a_header_row_and_masked_niks() {
    let app = spawn_app().await;
    let s = app.supervised_cases().await;

    let response = app.get_query("/v1/cases/export.csv", "").await;
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv"),
    );
    let csv = response.text().await.unwrap();
    let lines: Vec<&str> = csv.split_terminator("\r\n").collect();
    assert_eq!(
        lines[0],
        "case_id,case_number,kind,status,applicant_name,nik_masked,region_code,opened_at,updated_at,\
         need_count,open_need_count,max_escalation_level,overdue,opd_codes"
    );
    assert_eq!(lines.len(), 6, "{csv}");
    let a_line = lines.iter().find(|line| line.starts_with(s.a.as_str())).unwrap();
    let a: Vec<&str> = a_line.split(',').collect();
    assert_eq!(a[3], "referred");
    assert_eq!(a[4], "Siti Aminah");
    assert_eq!(a[5], "3375********0003");
    assert_eq!(a[6], "33.75.01.1002");
    assert_eq!(&a[9..], ["1", "1", "1", "true", "DINSOS"]);
    assert!(csv.contains("3375********0001"), "Darto, masked");
    assert!(!csv.contains("3375014506850003") && !csv.contains("3375021501780001"));

    let filtered = app
        .get_query("/v1/cases/export.csv", "region=33.75.02&programme=PKH")
        .await
        .text()
        .await
        .unwrap();
    let rows: Vec<&str> = filtered.split_terminator("\r\n").skip(1).collect();
    assert_eq!(rows.len(), 1, "{filtered}");
    assert!(rows[0].starts_with(s.d.as_str()));
}

#[tokio::test]
async fn bad_query_values_are_refused_naming_the_field() {
    let app = spawn_app().await;
    app.open_case_as(application(), &["cash_assistance"]).await;
    let spoilers = [
        ("status=done", "status"),
        ("region=3", "region"),
        ("region=33.7", "region"),
        ("region=99.99", "region"),
        ("limit=0", "limit"),
        ("limit=501", "limit"),
        ("limit=many", "limit"),
        ("opened_from=yesterday", "opened_from"),
        ("opened_to=2026-02-30", "opened_to"),
        ("opened_from=2026-03-02&opened_to=2026-03-01", "opened_to"),
        ("next=garbage", "next"),
        ("overdue=maybe", "overdue"),
        ("opd=dinsos", "opd"),
        ("programme=P%20KH", "programme"),
    ];
    for (query, field) in spoilers {
        let response = app.get_query("/v1/cases", query).await;
        assert_eq!(response.status(), 400, "{query}");
        let error: Value = response.json().await.unwrap();
        assert_eq!(error["error"]["code"], "invalid_input", "{query}: {error}");
        assert_eq!(error["error"]["field"], field, "{query}: {error}");
    }
    // The counts and the export share the filters, and refuse before anything is streamed.
    for path in ["/v1/cases/counts", "/v1/cases/export.csv"] {
        for (query, field) in [
            ("status=done", "status"),
            ("region=33.7", "region"),
            ("opened_from=yesterday", "opened_from"),
        ] {
            let response = app.get_query(path, query).await;
            assert_eq!(response.status(), 400, "{path}?{query}");
            let error: Value = response.json().await.unwrap();
            assert_eq!(error["error"]["field"], field, "{path}?{query}: {error}");
        }
    }
    // A misspelt parameter is not silently ignored (which would answer every case).
    let response = app.get_query("/v1/cases", "regoin=33.75").await;
    assert_eq!(response.status(), 400);
    let error: Value = response.json().await.unwrap();
    assert_eq!(error["error"]["code"], "invalid_input", "{error}");
}

// Complaints, the desk's lifecycle steps, idempotency of every create and the rebuild.
#[path = "api/lifecycle.rs"]
mod lifecycle;

#[path = "api/access.rs"]
mod access;
