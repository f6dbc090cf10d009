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
        database_url,
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
