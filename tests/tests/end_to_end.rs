//! One case end to end, through the public interfaces of the four services running as real
//! processes: the desk opens it over HTTP, eligibility decides it from its registry, referral
//! routes it to the OPD, the OPD acts over gRPC, disbursement instructs the first payment,
//! and the case tracker shows every step in one trace.

#![expect(clippy::unwrap_used, reason = "tests")]

use std::time::Duration;

use serde_json::{Value, json};
use slrt_proto::referral::v1::opd_referral_service_client::OpdReferralServiceClient;
use slrt_proto::referral::v1::{AcceptRequest, AcknowledgeRequest, ReferralUpdate, WatchReferralsRequest};
use slrt_system_tests::Stack;
use tokio_stream::StreamExt;
use tonic::metadata::MetadataValue;

/// Darto, desil 3, no enrolments, in Kota Pekalongan: the registry seed's poor household
/// without any programme yet.
fn darto_asks_for_cash_and_documents() -> Value {
    json!({
        "applicant": {
            "nik": "3375021501780001",
            "full_name": "Darto",
            "birth_date": "1978-01-15",
            "sex": "M",
            "region_code": "33.75.02.1004",
            "kk_number": "3375020409120011"
        },
        "needs": [
            {"category": "cash_assistance", "description": "lost his job at the batik workshop"},
            {"category": "civil_documents", "description": "new family card after his mother moved in"}
        ],
        "desk_region_code": "33.75.02.1004",
        "opened_by": "fo-pekalongan-timur-2"
    })
}

/// The request as an officer of agency `opd` sends it: with a token naming the agency.
fn with_opd<T>(opd: &str, traceparent: Option<&str>, message: T) -> tonic::Request<T> {
    let token = slrt_testkit::identity().token(&format!("officer-{opd}"), &["opd_officer"], None, Some(opd));
    let mut request = tonic::Request::new(message);
    request.metadata_mut().insert(
        "authorization",
        MetadataValue::try_from(format!("Bearer {token}")).unwrap(),
    );
    if let Some(traceparent) = traceparent {
        request
            .metadata_mut()
            .insert("traceparent", MetadataValue::try_from(traceparent).unwrap());
    }
    request
}

/// The regency's staff as the walk-through needs them: a desk operator who registers, a
/// back-office verifier, a coordinator and a supervisor, all of Jawa Tengah (33).
fn staff_client() -> reqwest::Client {
    slrt_testkit::identity().http_client_as(
        "staff-jateng",
        &["desk_operator", "back_office", "coordinator", "supervisor"],
        Some("33"),
        None,
    )
}

async fn case_timeline(http: &reqwest::Client, intake: &str, case_id: &str) -> Value {
    http.get(format!("{intake}/v1/cases/{case_id}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

fn event_types(case: &Value) -> Vec<String> {
    case["timeline"]
        .as_array()
        .map(|t| {
            t.iter()
                .map(|e| e["event_type"].as_str().unwrap_or("").to_string())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn a_case_flows_from_the_desk_to_the_first_payment_in_one_trace() {
    let stack = Stack::start().await;
    let http = staff_client();
    let intake = stack.service("intake").http();

    // 1. The desk opens the case.
    let response = http
        .post(format!("{intake}/v1/cases"))
        .json(&darto_asks_for_cash_and_documents())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201, "{}", stack.all_logs());
    let traceparent = response.headers()["traceparent"].to_str().unwrap().to_string();
    let trace_id = slrt_telemetry::trace_id_of(&traceparent).unwrap().to_string();
    let created: Value = response.json().await.unwrap();
    let case_id = created["case_id"].as_str().unwrap().to_string();
    assert_eq!(
        created["screening"]["performed"], true,
        "the desk pre-screen reached eligibility"
    );
    assert_eq!(created["screening"]["known_person"], true);

    // 2-3. Eligibility decides, referral routes the cash need to Dinas Sosial; the OPD's
    // system receives it on its stream.
    let mut opd = OpdReferralServiceClient::connect(stack.service("referral").grpc())
        .await
        .unwrap();
    let mut updates = opd
        .watch_referrals(with_opd(
            "DINSOS",
            None,
            WatchReferralsRequest {
                after_cursor: String::new(),
            },
        ))
        .await
        .unwrap()
        .into_inner();
    let update: ReferralUpdate = tokio::time::timeout(Duration::from_secs(60), async {
        loop {
            let update = updates.next().await.expect("stream open").expect("update");
            let details = update
                .referral
                .as_ref()
                .and_then(|r| r.details.as_ref())
                .expect("details");
            if details.case_id == case_id {
                return update;
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no referral reached DINSOS:\n{}", stack.all_logs()));
    let details = update.referral.as_ref().unwrap().details.clone().unwrap();
    assert_eq!(details.programme_code, "PKH");
    assert_eq!(details.opd_code, "DINSOS");
    assert!(details.cash);
    assert!(details.amount_per_period_idr > 0);
    assert_eq!(
        slrt_telemetry::trace_id_of(&update.traceparent),
        Some(trace_id.as_str()),
        "the referral carries the case's trace"
    );

    // The OPD's system acknowledges, continuing the trace it was handed; an officer at the
    // command line accepts, with no trace of their own: both land in the case's trace.
    let actor = "officer-dinsos-7".to_string();
    opd.acknowledge(with_opd(
        "DINSOS",
        Some(&update.traceparent),
        AcknowledgeRequest {
            referral_id: details.referral_id.clone(),
            actor: actor.clone(),
        },
    ))
    .await
    .unwrap();
    let accepted = opd
        .accept(with_opd(
            "DINSOS",
            None,
            AcceptRequest {
                referral_id: details.referral_id.clone(),
                actor,
                note: "verified at home visit".into(),
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(accepted.status, "accepted");

    // 4-5. Disbursement instructs the first payment; the tracker shows every step. It reads
    // each service's topic on its own, so the payment may be shown before the acceptance
    // that caused it: wait for both.
    let case = slrt_testkit::eventually(
        Duration::from_secs(90),
        "the acceptance and the payment instruction in the case timeline",
        || {
            let http = http.clone();
            let intake = intake.clone();
            let case_id = case_id.clone();
            async move {
                let case = case_timeline(&http, &intake, &case_id).await;
                let types = event_types(&case);
                let shown = |wanted: &str| types.iter().any(|t| t == wanted);
                (shown("slrt.disbursement.v1.PaymentInstructionCreated") && shown("slrt.referral.v1.ReferralAccepted"))
                    .then_some(case)
            }
        },
    )
    .await;

    let types = event_types(&case);
    for expected in [
        "slrt.intake.v1.CaseOpened",
        "slrt.eligibility.v1.CaseDecided",
        "slrt.eligibility.v1.EnrolmentStarted",
        "slrt.referral.v1.ReferralRequested",
        "slrt.referral.v1.ReferralAcknowledged",
        "slrt.referral.v1.ReferralAccepted",
        "slrt.disbursement.v1.EntitlementCreated",
        "slrt.disbursement.v1.PaymentInstructionCreated",
    ] {
        assert!(
            types.iter().any(|t| t == expected),
            "{expected} missing from the timeline: {types:?}"
        );
    }
    let timeline = case["timeline"].as_array().unwrap();
    let services: std::collections::BTreeSet<&str> = timeline.iter().map(|e| e["service"].as_str().unwrap()).collect();
    assert_eq!(
        services,
        ["disbursement", "eligibility", "intake", "referral"]
            .into_iter()
            .collect()
    );
    for entry in timeline {
        assert!(entry["occurred_at"].is_string());
        assert_eq!(
            entry["trace_id"].as_str(),
            Some(trace_id.as_str()),
            "every step is in the case's trace: {entry}"
        );
    }
    assert_eq!(case["status"], "in_service", "{case}");
    let cash = case["needs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["category"] == "cash_assistance")
        .unwrap();
    assert_eq!(cash["status"], "in_service");
    assert_eq!(cash["programme_code"], "PKH");

    // The payment is recorded once, under its deterministic key.
    let payments: Value = http
        .get(format!(
            "{}/v1/payments?case_id={case_id}",
            stack.service("disbursement").http()
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let payments = payments["payments"]
        .as_array()
        .cloned()
        .unwrap_or_else(|| payments.as_array().cloned().unwrap_or_default());
    assert_eq!(payments.len(), 1, "{payments:?}");
    let key = payments[0]["payment_key"].as_str().unwrap();
    assert!(key.starts_with("PKH:"), "{key}");

    // Logs name the case's trace and never the applicant's NIK in clear.
    let mut traced = 0;
    for name in slrt_system_tests::SERVICES {
        let log = stack.service(name).log_text();
        assert!(!log.contains("3375021501780001"), "{name}'s log carries a NIK in clear");
        if log.contains(&trace_id) {
            traced += 1;
        }
    }
    assert!(
        traced >= 2,
        "the case's trace id appears in the logs of {traced} services"
    );
}

#[tokio::test]
async fn a_dead_applicant_is_refused_and_the_case_is_resolved_without_a_referral() {
    let stack = Stack::start().await;
    let http = staff_client();
    let intake = stack.service("intake").http();
    // Rasmi is recorded as deceased in the registry.
    let body = json!({
        "applicant": {
            "nik": "3375034905410001", "full_name": "Rasmi", "birth_date": "1941-05-09", "sex": "F",
            "region_code": "33.75.03.1004", "kk_number": "3375031812160005"
        },
        "needs": [{"category": "cash_assistance"}],
        "desk_region_code": "33.75.03.1004",
        "opened_by": "fo-pekalongan-utara-1"
    });
    let created: Value = http
        .post(format!("{intake}/v1/cases"))
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        created["screening"]["deceased"], true,
        "the desk is warned at registration"
    );
    assert_eq!(created["screening"]["date_of_death"], "2025-11-03");
    let case_id = created["case_id"].as_str().unwrap().to_string();
    let case = slrt_testkit::eventually(Duration::from_secs(60), "the decision", || {
        let http = http.clone();
        let intake = intake.clone();
        let case_id = case_id.clone();
        async move {
            let case = case_timeline(&http, &intake, &case_id).await;
            (case["status"] == "resolved").then_some(case)
        }
    })
    .await;
    let decided = case["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["event_type"] == "slrt.eligibility.v1.CaseDecided")
        .unwrap();
    assert!(decided["summary"].as_str().unwrap().contains("rejected"), "{decided}");
    assert_eq!(case["needs"][0]["status"], "rejected");
    assert!(
        !event_types(&case).iter().any(|t| t.starts_with("slrt.referral")),
        "no referral for a refused need"
    );
}

/// "I am eligible and receive nothing": an exclusion-error grievance that asks for a need is
/// assessed like an application. Eligibility decides the need, the referral service routes
/// it, and the complaint moves on instead of waiting for ever with an undecided need.
#[tokio::test]
async fn an_exclusion_error_grievance_with_a_need_is_decided_and_referred() {
    let stack = Stack::start().await;
    let http = staff_client();
    let intake = stack.service("intake").http();
    let body = json!({
        "kind": "complaint",
        "applicant": {
            "nik": "3375024407850003", "full_name": "Sumini", "birth_date": "1985-07-04", "sex": "F",
            "region_code": "33.75.02.1004", "kk_number": "3375020409120027"
        },
        "needs": [{"category": "civil_documents", "description": "her KK was never updated, so she is left out"}],
        "complaint": {
            "complaint_type": "grievance",
            "grievance_type": "exclusion_error",
            "statement": "Saya berhak tetapi tidak pernah menerima apa pun."
        },
        "desk_region_code": "33.75.02.1004"
    });
    let response = http
        .post(format!("{intake}/v1/cases"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let created: Value = response.json().await.unwrap();
    let case_id = created["case_id"].as_str().unwrap().to_string();

    let case = slrt_testkit::eventually(
        Duration::from_secs(60),
        "the grievance's need decided and referred",
        || {
            let (http, intake, case_id) = (http.clone(), intake.clone(), case_id.clone());
            async move {
                let case = case_timeline(&http, &intake, &case_id).await;
                let types = event_types(&case);
                (types.iter().any(|t| t == "slrt.eligibility.v1.CaseDecided")
                    && types.iter().any(|t| t == "slrt.referral.v1.ReferralRequested"))
                .then_some(case)
            }
        },
    )
    .await;
    assert_eq!(case["kind"], "complaint", "{case:#}");
    assert_ne!(case["needs"][0]["status"], "open", "the need moved on: {case:#}");
}

/// A neighbour reports at the desk that Slamet (on PKH and BPNT in the registry seed) owns a
/// car: the complaint reaches eligibility, which opens a verification task without stopping
/// anything; the task shows in the complaint's timeline; the officer finds the report wrong,
/// and the complaint is resolved with that outcome.
#[tokio::test]
async fn an_inclusion_error_complaint_reaches_eligibility_and_its_verification_resolves_it() {
    let stack = Stack::start().await;
    let http = staff_client();
    let intake = stack.service("intake").http();
    let eligibility = stack.service("eligibility").http();
    let body = json!({
        "kind": "complaint",
        "applicant": {
            "nik": "3375021501780001", "full_name": "Darto", "birth_date": "1978-01-15", "sex": "M",
            "region_code": "33.75.02.1004", "kk_number": "3375020409120011"
        },
        "needs": [],
        "complaint": {
            "complaint_type": "grievance",
            "grievance_type": "inclusion_error",
            "statement": "Slamet drives his own car to the market and still receives PKH.",
            "reported": {
                "nik": "3375011204810001", "full_name": "Slamet", "region_code": "33.75.01.1002",
                "programme_code": "PKH", "ground": "vehicle"
            }
        },
        "desk_region_code": "33.75.02.1004",
        "opened_by": "fo-pekalongan-timur-2"
    });
    let response = http
        .post(format!("{intake}/v1/cases"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let created: Value = response.json().await.unwrap();
    let case_id = created["case_id"].as_str().unwrap().to_string();

    let case = slrt_testkit::eventually(Duration::from_secs(60), "the verification task in the timeline", || {
        let (http, intake, case_id) = (http.clone(), intake.clone(), case_id.clone());
        async move {
            let case = case_timeline(&http, &intake, &case_id).await;
            event_types(&case)
                .iter()
                .any(|t| t == "slrt.eligibility.v1.VerificationTaskOpened")
                .then_some(case)
        }
    })
    .await;
    assert_eq!(case["status"], "open", "{case:#}");

    let tasks: Value = http
        .get(format!("{eligibility}/v1/verification-tasks?open=true"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let task = tasks["tasks"]
        .as_array()
        .and_then(|tasks| tasks.iter().find(|task| task["complaint_case_id"] == case_id.as_str()))
        .unwrap_or_else(|| panic!("a task for the complaint: {tasks:#}"))
        .clone();
    assert_eq!(task["ground"], "inclusion_complaint");
    assert_eq!(task["status"], "open");

    // While it is open, the desk sees it when Slamet himself comes in.
    let slamet = json!({
        "applicant": {
            "nik": "3375011204810001", "full_name": "Slamet", "birth_date": "1981-04-12", "sex": "M",
            "region_code": "33.75.01.1002", "kk_number": "3375011503180007"
        },
        "needs": [{"category": "civil_documents", "description": "new family card"}],
        "desk_region_code": "33.75.01.1002",
        "opened_by": "fo-pekalongan-barat-1"
    });
    let screened: Value = http
        .post(format!("{intake}/v1/cases"))
        .json(&slamet)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let evidence = screened["screening"]["exclusion_evidence"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(
        evidence
            .iter()
            .any(|item| item["kind"] == "verification" && item["reason_code"] == "inclusion_complaint"),
        "{screened:#}"
    );
    let task_id = task["task_id"].as_str().unwrap();
    let resolved = http
        .post(format!("{eligibility}/v1/verification-tasks/{task_id}/resolve"))
        .json(&json!({"outcome": "rejected", "reason": "the car belongs to his employer", "actor": "verifikator.1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resolved.status(), 200, "{}", resolved.text().await.unwrap());

    let case = slrt_testkit::eventually(Duration::from_secs(60), "the complaint resolved", || {
        let (http, intake, case_id) = (http.clone(), intake.clone(), case_id.clone());
        async move {
            let case = case_timeline(&http, &intake, &case_id).await;
            (case["status"] == "resolved").then_some(case)
        }
    })
    .await;
    assert!(
        event_types(&case)
            .iter()
            .any(|t| t == "slrt.eligibility.v1.VerificationTaskResolved"),
        "{case:#}"
    );
}
