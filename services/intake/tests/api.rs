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
    http: reqwest::Client,
    stop: tokio::sync::watch::Sender<bool>,
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
    env.insert("SLRT_INTAKE_DATABASE_URL", slrt_testkit::fresh_database_url().await);
    env.insert("SLRT_KAFKA_BROKERS", slrt_testkit::brokers());
    env.insert("SLRT_TOPIC_PREFIX", prefix.clone());
    env.insert("SLRT_RELAY_POLL_MS", "100".to_string());
    // Nobody listens here: the desk pre-screen is unavailable, and a case opens anyway.
    env.insert(
        "SLRT_ELIGIBILITY_GRPC_URL",
        format!("http://127.0.0.1:{}", slrt_testkit::free_port()),
    );
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
        http: reqwest::Client::new(),
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
        "desk_region_code": "33.75.01.1002",
        "opened_by": "fo-pekalongan-barat-1"
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
    assert_eq!(error["error"]["field"], "nik");

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
    let case = client
        .get_case(GetCaseRequest {
            case_ref: created["case_number"].as_str().unwrap().to_string(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(case.case_id, created["case_id"].as_str().unwrap());
    assert_eq!(case.status, "open");
    assert_eq!(case.timeline.len(), 1);
    let missing = client
        .get_case(GetCaseRequest {
            case_ref: Uuid::now_v7().to_string(),
        })
        .await
        .unwrap_err();
    assert_eq!(missing.code(), tonic::Code::NotFound);
    let empty = client
        .get_case(GetCaseRequest {
            case_ref: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(empty.code(), tonic::Code::InvalidArgument);
}

#[tokio::test]
async fn operational_endpoints_answer() {
    let app = spawn_app().await;
    let get = |path: &str| app.http.get(format!("{}{path}", app.base)).send();
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
    assert_eq!(get("/docs/").await.unwrap().status(), 200);
}
