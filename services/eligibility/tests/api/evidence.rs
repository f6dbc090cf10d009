//! Evidence feeds and their effects, through the public interfaces: items over gRPC
//! (`EvidenceFeed`) and as a CSV file over HTTP, the ledger and verification tasks over
//! HTTP, the desk pre-screen and the release check over gRPC, the events on the service's own
//! topic, and intake's complaints through the broker.

use serde_json::{Value, json};
use slrt_eventstore::envelope::ReceivedEnvelope;
use slrt_proto::eligibility::v1 as eligibility;
use slrt_proto::intake::v1::{Complaint, ReportedSubject};

use super::{DECIDED_WITHIN, SLAMET, TestApp, bearer, case_id, case_opened, check_payment, feed_of, spawn_app};

// More people of the shipped registry seed (data/registry_seed.csv).
/// Tarmuji, head of H-000005 (PKH); personally on PBI-JK; his spouse is Khotimah (P-000017).
pub(super) const TARMUJI: &str = "3375030202660001";
/// Fitriani, grandchild in H-000005: personally on PBI-JK and PIP.
const FITRIANI: &str = "3375035209120002";
/// Sukardi, head of H-000008 (PKH, BPNT); every member on PBI-JK, two children on PIP.
pub(super) const SUKARDI: &str = "3324150707830001";
/// Dimas Saputra, child in H-000008, on PBI-JK and PIP.
const DIMAS: &str = "3324151010100001";
/// Wagiman, head of H-000009 (BLT-DD).
pub(super) const WAGIMAN: &str = "3324142005700001";
/// Sumiyati, head of H-000002 (BPNT, desil 2); her son Rizky is on PIP.
pub(super) const SUMIYATI: &str = "3375035806730002";
/// Budi Santoso, head of H-000004 (desil 8, on nothing).
pub(super) const BUDI: &str = "3375012803750003";
/// Budi's family card number.
const BUDI_KK: &str = "3375011006100002";

pub(super) fn item(
    kind: &str,
    nik: &str,
    source: &str,
    reference: &str,
    observed_on: &str,
) -> eligibility::SubmitEvidenceRequest {
    eligibility::SubmitEvidenceRequest {
        kind: kind.into(),
        nik: nik.into(),
        source: source.into(),
        reference: reference.into(),
        observed_on: observed_on.into(),
        ..Default::default()
    }
}

/// Submits `request` as the feed its source names would (a feed's token carries its agency,
/// which is the evidence's source).
pub(super) async fn submit(
    app: &TestApp,
    request: eligibility::SubmitEvidenceRequest,
) -> Result<eligibility::SubmitEvidenceResponse, tonic::Status> {
    app.feed_as(&feed_of(&request.source))
        .await
        .submit_evidence(request)
        .await
        .map(|r| r.into_inner())
}

async fn post(app: &TestApp, path: &str, body: Value) -> (u16, Value) {
    app.post(path, body).await
}

/// Sends an evidence file as the province's back office, relaying files agencies gave it.
async fn post_csv(app: &TestApp, csv: &str) -> (u16, Value) {
    post_csv_as(app, csv, &bearer("bo-33", &["back_office"], Some("33"), None)).await
}

pub(super) async fn post_csv_as(app: &TestApp, csv: &str, authorization: &str) -> (u16, Value) {
    let mut request = app
        .client
        .post(format!("{}/v1/evidence/file", app.http))
        .header("content-type", "text/csv")
        .body(csv.to_owned());
    if !authorization.is_empty() {
        request = request.header("Authorization", authorization);
    }
    let response = request.send().await.expect("HTTP request");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// Status of each enrolment of a beneficiary, by programme: (programme, status), sorted.
async fn statuses(app: &TestApp, beneficiary: &str) -> Vec<(String, String)> {
    let mut all: Vec<(String, String)> = app
        .enrolments(beneficiary)
        .await
        .iter()
        .map(|e| {
            (
                e["programme_code"].as_str().unwrap().to_owned(),
                e["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    all.sort();
    all
}

fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
    expected.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()
}

pub(super) async fn enrolment_id(app: &TestApp, beneficiary: &str, programme: &str, status: &str) -> String {
    app.enrolments(beneficiary)
        .await
        .iter()
        .find(|e| e["programme_code"] == programme && e["status"] == status)
        .unwrap_or_else(|| panic!("no {status} {programme} enrolment of {beneficiary}"))["enrolment_id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn screen(app: &TestApp, nik: &str) -> eligibility::ScreenPersonResponse {
    app.grpc()
        .await
        .screen_person(eligibility::ScreenPersonRequest { nik: nik.into() })
        .await
        .unwrap()
        .into_inner()
}

/// Reads the service's topic until `wanted` events of type `P` satisfy `done`.
async fn events_of<P: prost::Name + Default>(app: &TestApp, done: impl Fn(&[P]) -> bool) -> Vec<(ReceivedEnvelope, P)> {
    let decode = |events: &[ReceivedEnvelope]| -> Vec<(ReceivedEnvelope, P)> {
        events
            .iter()
            .filter(|e| e.is::<P>())
            .map(|e| (e.clone(), e.decode::<P>().unwrap()))
            .collect()
    };
    let events = app
        .own_events(|events| {
            let payloads: Vec<P> = decode(events).into_iter().map(|(_, p)| p).collect();
            done(&payloads)
        })
        .await;
    decode(&events)
}

#[tokio::test]
async fn a_provisional_death_of_a_head_holds_their_and_their_households_payments_with_the_reason() {
    let app = spawn_app().await;

    let answer = submit(
        &app,
        item("death_provisional", SLAMET, "3375011002", "LAPOR-DESA-17", "2026-10-20"),
    )
    .await
    .unwrap();

    assert!(answer.created);
    assert_eq!(answer.effects.len(), 2, "{:?}", answer.effects);
    assert_eq!(
        statuses(&app, "H-000001").await,
        pairs(&[("BPNT", "held"), ("PKH", "held")])
    );
    let (payable, reasons) = check_payment(&app, "PKH", "H-000001").await.unwrap();
    assert!(!payable);
    assert_eq!(reasons.len(), 1, "{reasons:?}");
    assert!(
        reasons[0].starts_with("the PKH enrolment of H-000001 is on hold: death_reported: death of P-000001 reported"),
        "{reasons:?}"
    );
    // The registry does not record the death on a village's word.
    let screened = screen(&app, SLAMET).await;
    assert!(!screened.deceased);
    assert_eq!(screened.date_of_death, "");
    let mut held: Vec<(&str, &str)> = screened
        .open_holds
        .iter()
        .map(|h| (h.programme_code.as_str(), h.reason_code.as_str()))
        .collect();
    held.sort();
    assert_eq!(held, [("BPNT", "death_reported"), ("PKH", "death_reported")]);
    assert!(screened.open_holds.iter().all(|h| h.held_from == "2026-10-20"));

    let holds = events_of::<eligibility::EnrolmentHeld>(&app, |held| held.len() >= 2).await;
    for (envelope, held) in &holds {
        assert_eq!(envelope.stream_id, format!("enrolment-{}", held.enrolment_id));
        assert_eq!(held.reason_code, "death_reported");
        assert_eq!(held.held_from, "2026-10-20");
        assert_eq!(held.evidence_id, answer.evidence_id);
        assert!(held.reason.contains("LAPOR-DESA-17"), "{}", held.reason);
    }
}

#[tokio::test]
async fn a_certificate_after_the_report_records_the_death_names_a_new_head_and_pays_the_household_its_arrears() {
    let app = spawn_app().await;
    submit(
        &app,
        item("death_provisional", SLAMET, "3375011002", "LAPOR-DESA-18", "2026-10-20"),
    )
    .await
    .unwrap();

    let certificate = submit(
        &app,
        item(
            "death_certificate",
            SLAMET,
            "DISDUKCAPIL",
            "AKTA-3375-2026-0901",
            "2026-10-19",
        ),
    )
    .await
    .unwrap();

    assert!(certificate.created);
    let screened = screen(&app, SLAMET).await;
    assert!(screened.deceased);
    assert_eq!(screened.date_of_death, "2026-10-19");
    assert_eq!(screened.open_holds, []);
    // The household stays entitled, paid to its new head.
    assert_eq!(
        statuses(&app, "H-000001").await,
        pairs(&[("BPNT", "active"), ("PKH", "active")])
    );
    assert_eq!(check_payment(&app, "PKH", "H-000001").await.unwrap(), (true, vec![]));

    let deceased = events_of::<eligibility::PersonDeceased>(&app, |e| !e.is_empty()).await;
    let (envelope, deceased) = &deceased[0];
    assert_eq!(envelope.stream_id, "person-P-000001");
    assert!(deceased.was_head);
    assert_eq!(deceased.date_of_death, "2026-10-19");
    assert_eq!(deceased.certificate_reference, "AKTA-3375-2026-0901");
    assert_eq!(deceased.evidence_id, certificate.evidence_id);
    let changed = events_of::<eligibility::HouseholdHeadChanged>(&app, |e| !e.is_empty()).await;
    let (envelope, changed) = &changed[0];
    assert_eq!(envelope.stream_id, "household-H-000001");
    assert_eq!(changed.previous_head_person_id, "P-000001");
    // Spouse first.
    assert_eq!(changed.new_head_person_id, "P-000002");
    assert_eq!(changed.new_head_name, "Siti Aminah");
    assert_eq!(changed.reason_code, "head_deceased");
    let released = events_of::<eligibility::EnrolmentHoldReleased>(&app, |e| e.len() >= 2).await;
    let mut programmes: Vec<&str> = released.iter().map(|(_, r)| r.programme_code.as_str()).collect();
    programmes.sort();
    assert_eq!(programmes, ["BPNT", "PKH"]);
    assert!(
        released
            .iter()
            .all(|(_, r)| r.arrears_due && r.held_from == "2026-10-20")
    );
    let recorded = events_of::<eligibility::EvidenceRecorded>(&app, |e| e.len() >= 2).await;
    let (_, cert) = recorded.iter().find(|(_, e)| e.kind == "death_certificate").unwrap();
    let rules: Vec<&str> = cert.effects.iter().map(|e| e.rule.as_str()).collect();
    assert!(rules.contains(&"household.head_changed"), "{rules:?}");
    assert!(rules.contains(&"release.new_head"), "{rules:?}");
}

#[tokio::test]
async fn a_certificate_without_a_report_ends_the_persons_own_enrolments_and_the_household_keeps_its_own() {
    let app = spawn_app().await;

    submit(
        &app,
        item(
            "death_certificate",
            TARMUJI,
            "DISDUKCAPIL",
            "AKTA-3375-2026-0777",
            "2026-09-30",
        ),
    )
    .await
    .unwrap();

    assert_eq!(statuses(&app, "P-000016").await, pairs(&[("PBI-JK", "ended")]));
    let ended = app.enrolments("P-000016").await;
    assert_eq!(ended[0]["ended_on"], "2026-09-30");
    assert_eq!(statuses(&app, "H-000005").await, pairs(&[("PKH", "active")]));
    assert_eq!(check_payment(&app, "PKH", "H-000005").await.unwrap(), (true, vec![]));
    let (payable, reasons) = check_payment(&app, "PBI-JK", "P-000016").await.unwrap();
    assert!(!payable);
    assert!(
        reasons.contains(&"no active PBI-JK enrolment for P-000016".to_string()),
        "{reasons:?}"
    );
    assert!(
        reasons.iter().any(|r| r.starts_with("beneficiary deceased")),
        "{reasons:?}"
    );
    let changed = events_of::<eligibility::HouseholdHeadChanged>(&app, |e| !e.is_empty()).await;
    assert_eq!(changed[0].1.new_head_person_id, "P-000017");
    let exits = events_of::<eligibility::EnrolmentEnded>(&app, |e| !e.is_empty()).await;
    assert_eq!(exits.len(), 1);
    assert_eq!(exits[0].1.reason_code, "deceased");
    assert_eq!(exits[0].1.ended_on, "2026-09-30");

    // A second certificate for the same death changes nothing and says why.
    let again = submit(
        &app,
        item(
            "death_certificate",
            TARMUJI,
            "DISDUKCAPIL",
            "AKTA-3375-2026-0778",
            "2026-09-30",
        ),
    )
    .await
    .unwrap_err();
    assert_eq!(again.code(), tonic::Code::FailedPrecondition);
    assert!(
        again
            .message()
            .starts_with("nik: a death certificate for this person is already recorded"),
        "{}",
        again.message()
    );
}

#[tokio::test]
async fn the_death_of_a_member_who_is_not_head_holds_only_their_own_and_the_household_is_still_paid() {
    let app = spawn_app().await;

    submit(
        &app,
        item(
            "death_provisional",
            FITRIANI,
            "3375031004",
            "LAPOR-DESA-9",
            "2026-11-01",
        ),
    )
    .await
    .unwrap();

    assert_eq!(
        statuses(&app, "P-000019").await,
        pairs(&[("PBI-JK", "held"), ("PIP", "held")])
    );
    assert_eq!(statuses(&app, "H-000005").await, pairs(&[("PKH", "active")]));
    assert_eq!(check_payment(&app, "PKH", "H-000005").await.unwrap(), (true, vec![]));
    let (payable, reasons) = check_payment(&app, "PIP", "P-000019").await.unwrap();
    assert!(!payable);
    assert!(reasons[0].contains("death_reported"), "{reasons:?}");

    submit(
        &app,
        item(
            "death_certificate",
            FITRIANI,
            "DISDUKCAPIL",
            "AKTA-3375-2026-1001",
            "2026-11-01",
        ),
    )
    .await
    .unwrap();
    assert_eq!(
        statuses(&app, "P-000019").await,
        pairs(&[("PBI-JK", "ended"), ("PIP", "ended")])
    );
    assert_eq!(check_payment(&app, "PKH", "H-000005").await.unwrap(), (true, vec![]));
}

#[tokio::test]
async fn a_retracted_report_releases_its_holds_with_arrears_due_and_a_second_retraction_is_refused() {
    let app = spawn_app().await;
    let report = submit(
        &app,
        item("death_provisional", SLAMET, "3375011002", "LAPOR-DESA-21", "2026-10-20"),
    )
    .await
    .unwrap();

    let retraction = submit(
        &app,
        eligibility::SubmitEvidenceRequest {
            retracts: "LAPOR-DESA-21".into(),
            ..item(
                "death_retraction",
                SLAMET,
                "3375011002",
                "LAPOR-DESA-21-RALAT",
                "2026-10-25",
            )
        },
    )
    .await
    .unwrap();

    assert_eq!(
        statuses(&app, "H-000001").await,
        pairs(&[("BPNT", "active"), ("PKH", "active")])
    );
    assert_eq!(check_payment(&app, "BPNT", "H-000001").await.unwrap(), (true, vec![]));
    let released = events_of::<eligibility::EnrolmentHoldReleased>(&app, |e| e.len() >= 2).await;
    for (_, release) in &released {
        assert!(release.arrears_due, "{release:?}");
        assert_eq!(release.held_from, "2026-10-20");
        assert_eq!(release.evidence_id, retraction.evidence_id);
        assert_eq!(release.actor, "evidence-feed");
    }
    let recorded = events_of::<eligibility::EvidenceRecorded>(&app, |e| e.len() >= 2).await;
    let (_, retracted) = recorded.iter().find(|(_, e)| e.kind == "death_retraction").unwrap();
    assert_eq!(retracted.retracts_evidence_id, report.evidence_id);

    let twice = submit(
        &app,
        eligibility::SubmitEvidenceRequest {
            retracts: report.evidence_id.clone(),
            ..item(
                "death_retraction",
                SLAMET,
                "3375011002",
                "LAPOR-DESA-21-RALAT-2",
                "2026-10-26",
            )
        },
    )
    .await
    .unwrap_err();
    assert_eq!(twice.code(), tonic::Code::FailedPrecondition);
    assert!(twice.message().starts_with("retracts: "), "{}", twice.message());
    assert!(twice.message().contains("already retracted"), "{}", twice.message());

    let car = submit(
        &app,
        eligibility::SubmitEvidenceRequest {
            plate: "G 1 AB".into(),
            ..item("vehicle", SLAMET, "SAMSAT", "G-1-AB", "2026-10-01")
        },
    )
    .await
    .unwrap();
    let not_a_report = submit(
        &app,
        eligibility::SubmitEvidenceRequest {
            retracts: car.evidence_id,
            ..item("death_retraction", SLAMET, "3375011002", "LAPOR-DESA-22", "2026-10-26")
        },
    )
    .await
    .unwrap_err();
    assert_eq!(not_a_report.code(), tonic::Code::FailedPrecondition);
    assert!(
        not_a_report.message().starts_with("retracts: "),
        "{}",
        not_a_report.message()
    );
    assert!(
        not_a_report.message().contains("not a provisional death report"),
        "{}",
        not_a_report.message()
    );
}

#[tokio::test]
async fn the_same_item_again_answers_with_the_original_and_a_changed_one_or_an_unknown_nik_is_refused() {
    let app = spawn_app().await;
    let request = eligibility::SubmitEvidenceRequest {
        employer_category: "civil_servant".into(),
        ..item("payroll", WAGIMAN, "BKN", "GAJI-2026-10-0042", "2026-10-01")
    };

    let first = submit(&app, request.clone()).await.unwrap();
    let again = submit(&app, request.clone()).await.unwrap();

    assert!(first.created);
    assert!(!again.created);
    assert_eq!(again.evidence_id, first.evidence_id);
    assert_eq!(again.effects, first.effects);
    let (_, page) = app.get("/v1/verification-tasks").await;
    assert_eq!(page["tasks"].as_array().unwrap().len(), 1, "{page:#}");

    let changed = submit(
        &app,
        eligibility::SubmitEvidenceRequest {
            employer_category: "police".into(),
            ..request.clone()
        },
    )
    .await
    .unwrap_err();
    assert_eq!(changed.code(), tonic::Code::AlreadyExists);
    assert!(
        changed.message().starts_with("employer_category: "),
        "{}",
        changed.message()
    );

    let stranger = submit(
        &app,
        eligibility::SubmitEvidenceRequest {
            nik: super::OUTSIDER.into(),
            reference: "GAJI-2026-10-0043".into(),
            ..request.clone()
        },
    )
    .await
    .unwrap_err();
    assert_eq!(stranger.code(), tonic::Code::InvalidArgument);
    assert_eq!(stranger.message(), "nik: no person in the registry has this NIK");

    let malformed = submit(
        &app,
        eligibility::SubmitEvidenceRequest {
            reference: "GAJI-2026-10-0044".into(),
            employer_category: "bank".into(),
            ..request
        },
    )
    .await
    .unwrap_err();
    assert_eq!(malformed.code(), tonic::Code::InvalidArgument);
    assert!(
        malformed.message().starts_with("employer_category: "),
        "{}",
        malformed.message()
    );
    let (_, page) = app.get("/v1/verification-tasks").await;
    assert_eq!(page["tasks"].as_array().unwrap().len(), 1, "{page:#}");
}

#[tokio::test]
async fn a_car_opens_a_task_holding_what_it_excludes_and_confirming_it_ends_them_until_a_reinstatement() {
    let app = spawn_app().await;

    let car = submit(
        &app,
        eligibility::SubmitEvidenceRequest {
            plate: "H 8123 KD".into(),
            ..item("vehicle", SUKARDI, "SAMSAT", "H-8123-KD", "2026-08-01")
        },
    )
    .await
    .unwrap();

    assert_eq!(
        statuses(&app, "H-000008").await,
        pairs(&[("BPNT", "held"), ("PKH", "held")])
    );
    // A car stops PBI-JK for every member; it is not grounds to stop a child's school aid.
    assert_eq!(
        statuses(&app, "P-000027").await,
        pairs(&[("PBI-JK", "held"), ("PIP", "active")])
    );
    let (_, page) = app
        .get("/v1/verification-tasks?open=true&ground=vehicle&region=33.24")
        .await;
    let tasks = page["tasks"].as_array().unwrap();
    assert_eq!(tasks.len(), 1, "{page:#}");
    let task_id = tasks[0]["task_id"].as_str().unwrap().to_owned();
    assert_eq!(tasks[0]["person_id"], "P-000025");
    assert_eq!(tasks[0]["evidence_id"], car.evidence_id.as_str());
    let (_, other_region) = app.get("/v1/verification-tasks?region=33.75").await;
    assert_eq!(other_region["tasks"], json!([]));
    let (status, detail) = app.get(&format!("/v1/verification-tasks/{task_id}")).await;
    assert_eq!(status, 200, "{detail}");
    assert_eq!(detail["evidence"]["kind"], "vehicle");
    assert_eq!(detail["held_enrolments"].as_array().unwrap().len(), 7, "{detail:#}");
    assert_eq!(detail["history"][0]["event"], "VerificationTaskOpened");
    let screened = screen(&app, DIMAS).await;
    assert_eq!(screened.open_verification_tasks.len(), 1);
    assert_eq!(screened.open_verification_tasks[0].ground, "vehicle");
    let (_, reasons) = check_payment(&app, "PKH", "H-000008").await.unwrap();
    assert!(
        reasons[0].contains("exclusion_evidence: exclusion evidence under verification"),
        "{reasons:?}"
    );

    let (status, body) = post(
        &app,
        &format!("/v1/verification-tasks/{task_id}/resolve"),
        json!({"outcome": "confirmed"}),
    )
    .await;
    assert_eq!((status, &body["error"]["field"]), (400, &json!("reason")), "{body}");
    let (status, body) = post(
        &app,
        &format!("/v1/verification-tasks/{task_id}/resolve"),
        json!({"outcome": "confirmed", "reason": "home visit: the family drives the car"}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "confirmed");
    assert_eq!(
        statuses(&app, "H-000008").await,
        pairs(&[("BPNT", "ended"), ("PKH", "ended")])
    );
    assert_eq!(
        statuses(&app, "P-000027").await,
        pairs(&[("PBI-JK", "ended"), ("PIP", "active")])
    );
    let (payable, _) = check_payment(&app, "PKH", "H-000008").await.unwrap();
    assert!(!payable);
    let (status, body) = post(
        &app,
        &format!("/v1/verification-tasks/{task_id}/resolve"),
        json!({"outcome": "rejected", "reason": "second thoughts"}),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    let resolved = events_of::<eligibility::VerificationTaskResolved>(&app, |e| !e.is_empty()).await;
    let mut ended = resolved[0].1.ended_programmes.clone();
    ended.sort();
    ended.dedup();
    assert_eq!(ended, ["BPNT", "PBI-JK", "PKH"]);
    let exits = events_of::<eligibility::EnrolmentEnded>(&app, |e| e.len() >= 7).await;
    assert!(
        exits
            .iter()
            .all(|(_, e)| e.reason_code == "excluded" && e.verification_task_id == task_id)
    );

    // The family appealed: PKH is reinstated as a new enrolment naming the one it replaces.
    let excluded_pkh = enrolment_id(&app, "H-000008", "PKH", "ended").await;
    let (status, body) = post(&app, &format!("/v1/enrolments/{excluded_pkh}/reinstate"), json!({})).await;
    assert_eq!((status, &body["error"]["field"]), (400, &json!("reason")), "{body}");
    let (status, body) = post(
        &app,
        &format!("/v1/enrolments/{excluded_pkh}/reinstate"),
        json!({"reason": "appeal accepted: the car is the employer's"}),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["reinstates_enrolment_id"], excluded_pkh.as_str());
    assert_eq!(check_payment(&app, "PKH", "H-000008").await.unwrap(), (true, vec![]));
    let started =
        events_of::<eligibility::EnrolmentStarted>(&app, |e| e.iter().any(|s| !s.reinstates_enrolment_id.is_empty()))
            .await;
    let (_, reinstated) = started
        .iter()
        .find(|(_, s)| !s.reinstates_enrolment_id.is_empty())
        .unwrap();
    assert_eq!(reinstated.reinstates_enrolment_id, excluded_pkh);
    assert_eq!(reinstated.enrolment_id, body["enrolment_id"].as_str().unwrap());
    // A second reinstatement of the same exclusion would overlap the first.
    let (status, body) = post(
        &app,
        &format!("/v1/enrolments/{excluded_pkh}/reinstate"),
        json!({"reason": "again"}),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("already holds a current PKH"),
        "{body}"
    );

    // Someone who has died since is not reinstated.
    let dimas_pbi = enrolment_id(&app, "P-000027", "PBI-JK", "ended").await;
    submit(
        &app,
        item(
            "death_certificate",
            DIMAS,
            "DISDUKCAPIL",
            "AKTA-3324-2026-0003",
            "2026-11-02",
        ),
    )
    .await
    .unwrap();
    let (status, body) = post(
        &app,
        &format!("/v1/enrolments/{dimas_pbi}/reinstate"),
        json!({"reason": "appeal"}),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert!(
        body["error"]["message"].as_str().unwrap().contains("deceased"),
        "{body}"
    );
    // An enrolment that did not end as excluded is not reinstated either.
    let (status, body) = post(
        &app,
        &format!(
            "/v1/enrolments/{}/reinstate",
            enrolment_id(&app, "P-000027", "PIP", "ended").await
        ),
        json!({"reason": "appeal"}),
    )
    .await;
    assert_eq!(status, 422, "{body}");
}

#[tokio::test]
async fn rejecting_a_salary_on_verification_releases_the_hold_with_arrears_due() {
    let app = spawn_app().await;
    submit(
        &app,
        eligibility::SubmitEvidenceRequest {
            employer_category: "state_enterprise".into(),
            ..item("payroll", WAGIMAN, "BUMN-PAYROLL", "2026-09-PLN-1177", "2026-09-01")
        },
    )
    .await
    .unwrap();
    assert_eq!(statuses(&app, "H-000009").await, pairs(&[("BLT-DD", "held")]));
    let (_, page) = app.get("/v1/verification-tasks?open=true&ground=payroll").await;
    let task_id = page["tasks"][0]["task_id"].as_str().unwrap().to_owned();

    let (status, body) = post(
        &app,
        &format!("/v1/verification-tasks/{task_id}/resolve"),
        json!({"outcome": "maybe", "reason": "x"}),
    )
    .await;
    assert_eq!((status, &body["error"]["field"]), (400, &json!("outcome")), "{body}");
    // The officer is the one the token names; a name in the body is not taken.
    let (status, body) = app
        .post_as(
            &format!("/v1/verification-tasks/{task_id}/resolve"),
            json!({"outcome": "rejected", "reason": "a namesake; Wagiman is a farm labourer", "actor": "someone.else"}),
            &bearer("bo.kendal.4", &["back_office"], Some("33.24"), None),
        )
        .await;

    assert_eq!(status, 200, "{body}");
    assert_eq!(body["resolved_by"], "bo.kendal.4");
    assert_eq!(statuses(&app, "H-000009").await, pairs(&[("BLT-DD", "active")]));
    assert_eq!(check_payment(&app, "BLT-DD", "H-000009").await.unwrap(), (true, vec![]));
    let released = events_of::<eligibility::EnrolmentHoldReleased>(&app, |e| !e.is_empty()).await;
    let (_, release) = &released[0];
    assert!(release.arrears_due);
    assert_eq!(release.verification_task_id, task_id);
    assert_eq!(release.actor, "bo.kendal.4");
    assert_eq!(release.held_from, "2026-09-01");
    let (_, open) = app.get("/v1/verification-tasks?open=true").await;
    assert_eq!(open["tasks"], json!([]));
    let (_, detail) = app.get(&format!("/v1/verification-tasks/{task_id}")).await;
    assert_eq!(detail["held_enrolments"][0]["hold_state"], "released");
    assert_eq!(detail["held_enrolments"][0]["arrears_due"], true);
    assert_eq!(detail["history"].as_array().unwrap().len(), 2, "{detail:#}");
    // Ended enrolments cannot be reinstated unless they were excluded; this one never ended.
    let active = enrolment_id(&app, "H-000009", "BLT-DD", "active").await;
    let (status, _) = post(
        &app,
        &format!("/v1/enrolments/{active}/reinstate"),
        json!({"reason": "r"}),
    )
    .await;
    assert_eq!(status, 422);
}

#[tokio::test]
async fn a_desil_above_the_cut_offs_updates_the_registry_and_holds_the_programmes_it_exceeds() {
    let app = spawn_app().await;

    let answer = submit(
        &app,
        eligibility::SubmitEvidenceRequest {
            desil: 6,
            ..item("desil_update", SUMIYATI, "DTSEN", "DTSEN-2026-Q3-33.75", "2026-10-01")
        },
    )
    .await
    .unwrap();

    assert!(
        answer.effects.iter().any(|e| e.contains("desil 2 -> 6")),
        "{:?}",
        answer.effects
    );
    assert_eq!(statuses(&app, "H-000002").await, pairs(&[("BPNT", "held")]));
    assert_eq!(statuses(&app, "P-000007").await, pairs(&[("PIP", "held")]));
    let screened = screen(&app, SUMIYATI).await;
    assert_eq!(screened.desil, 6);
    assert_eq!(screened.open_verification_tasks[0].ground, "desil");
    let opened = events_of::<eligibility::VerificationTaskOpened>(&app, |e| !e.is_empty()).await;
    assert_eq!(opened[0].1.ground, "desil");
    assert_eq!(opened[0].1.held_programmes, ["BPNT", "PIP"]);
    assert_eq!(opened[0].1.evidence_id, answer.evidence_id);

    // A desil within every cut-off only updates the registry.
    let calm = submit(
        &app,
        eligibility::SubmitEvidenceRequest {
            desil: 3,
            ..item("desil_update", BUDI, "DTSEN", "DTSEN-2026-Q3-33.75-B", "2026-10-01")
        },
    )
    .await
    .unwrap();
    assert!(
        calm.effects.iter().any(|e| e.contains("nothing to verify")),
        "{:?}",
        calm.effects
    );
    assert_eq!(screen(&app, BUDI).await.desil, 3);
    let (_, page) = app.get("/v1/verification-tasks").await;
    assert_eq!(page["tasks"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn an_evidence_file_applies_its_good_lines_reports_the_bad_ones_and_changes_nothing_when_sent_again() {
    let app = spawn_app().await;
    let csv = format!(
        "kind,nik,source,reference,observed_on,retracts,employer_category,plate,desil\n\
         # deaths reported by the village of Kalijaten\n\
         death_provisional,{FITRIANI},3375031004,LAPOR-88,2026-11-01,,,,\n\
         vehicle,{SUKARDI},SAMSAT,H-1-XY,2026-10-01,,,,\n\
         payroll,{WAGIMAN},BKN,GAJI-88,2026-10-01,,civil_servant,,\n\
         desil_update,{BUDI},DTSEN,DTSEN-88,2026-10-01,,,,11\n\
         death_provisional,{},3375031004,LAPOR-89,2026-11-01,,,,\n\
         death_retraction,{FITRIANI},3375031004,LAPOR-88-R,2026-11-02,LAPOR-88\n",
        super::OUTSIDER
    );

    let (status, report) = post_csv(&app, &csv).await;

    assert_eq!(status, 200, "{report}");
    assert_eq!(report["lines"], 6, "{report:#}");
    assert_eq!(report["recorded"], 2, "{report:#}");
    assert_eq!(report["rejected"], 4, "{report:#}");
    let rejects: Vec<(u64, &str)> = report["rejects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["line"].as_u64().unwrap(), r["field"].as_str().unwrap()))
        .collect();
    assert_eq!(rejects, [(4, "plate"), (6, "desil"), (7, "nik"), (8, "")]);
    assert_eq!(
        statuses(&app, "P-000019").await,
        pairs(&[("PBI-JK", "held"), ("PIP", "held")])
    );
    assert_eq!(statuses(&app, "H-000009").await, pairs(&[("BLT-DD", "held")]));

    let (status, again) = post_csv(&app, &csv).await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(
        (again["recorded"].as_u64(), again["unchanged"].as_u64()),
        (Some(0), Some(2)),
        "{again:#}"
    );
    let (_, page) = app.get("/v1/verification-tasks").await;
    assert_eq!(page["tasks"].as_array().unwrap().len(), 1);

    let (status, body) = post_csv(&app, "kind,nik,source\nvehicle,1,2\n").await;
    assert_eq!((status, &body["error"]["field"]), (400, &json!("header")), "{body}");
}

fn complaint(reported: ReportedSubject) -> slrt_proto::intake::v1::CaseOpened {
    let mut opened = case_opened(SLAMET, "Slamet", "33.75.01.1002", &[]);
    opened.kind = "complaint".into();
    opened.complaint = Some(Complaint {
        complaint_type: "grievance".into(),
        grievance_type: "inclusion_error".into(),
        statement: "he drives a new car and still gets aid".into(),
        reported: Some(reported),
    });
    opened
}

#[tokio::test]
async fn an_inclusion_complaint_opens_a_task_without_a_hold_and_a_report_about_nobody_is_resolved_not_found() {
    let app = spawn_app().await;
    let about_budi = complaint(ReportedSubject {
        nik: BUDI.into(),
        full_name: "Budi Santoso".into(),
        ground: "vehicle".into(),
        programme_code: "PBI-JK".into(),
        ..Default::default()
    });
    let about_nobody = complaint(ReportedSubject {
        nik: super::OUTSIDER.into(),
        kk_number: "3602040101200001".into(),
        ground: "wealth".into(),
        ..Default::default()
    });
    // A complaint is never decided, even one that (against intake's rules) lists a need, and
    // even one whose complainant gave no NIK, which the decider could not read.
    let mut about_budi = about_budi;
    about_budi.needs = case_opened(SLAMET, "Slamet", "33.75.01.1002", &["cash_assistance"]).needs;
    let mut about_nobody = about_nobody;
    if let Some(applicant) = about_nobody.applicant.as_mut() {
        applicant.nik = String::new();
    }
    let by_kk = complaint(ReportedSubject {
        kk_number: BUDI_KK.into(),
        ground: "wealth".into(),
        ..Default::default()
    });

    // The same event twice, and the same case again under another event id.
    let bytes = super::envelope_of(&about_budi, uuid::Uuid::now_v7());
    super::publish_bytes(&app.intake_topic(), &about_budi.case_id, &bytes).await;
    super::publish_bytes(&app.intake_topic(), &about_budi.case_id, &bytes).await;
    app.open_case(&about_budi).await;
    app.open_case(&about_nobody).await;
    app.open_case(&by_kk).await;

    let tasks: Vec<Value> = slrt_testkit::eventually(DECIDED_WITHIN, "three complaint tasks", || async {
        let (_, page) = app.get("/v1/verification-tasks?ground=inclusion_complaint").await;
        let tasks = page["tasks"].as_array().cloned().unwrap_or_default();
        (tasks.len() >= 3).then_some(tasks)
    })
    .await;
    let of_case = |opened: &slrt_proto::intake::v1::CaseOpened| {
        tasks
            .iter()
            .filter(|t| t["complaint_case_id"] == opened.case_id.as_str())
            .cloned()
            .collect::<Vec<Value>>()
    };
    let budi = of_case(&about_budi);
    assert_eq!(budi.len(), 1, "{tasks:#?}");
    assert_eq!(budi[0]["status"], "open");
    assert_eq!(budi[0]["person_id"], "P-000013");
    let nobody = of_case(&about_nobody);
    assert_eq!(nobody[0]["status"], "not_found", "{nobody:#?}");
    assert!(nobody[0]["person_id"].is_null());
    let household = of_case(&by_kk);
    assert_eq!(household[0]["household_id"], "H-000004");
    assert!(household[0]["person_id"].is_null());
    // A neighbour's word stops no payment, and a complaint is never decided.
    let (_, detail) = app
        .get(&format!(
            "/v1/verification-tasks/{}",
            budi[0]["task_id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(detail["held_enrolments"], json!([]));
    let (status, _) = app.get(&format!("/v1/decisions/{}", case_id(&about_budi))).await;
    assert_eq!(status, 404);

    let opened = events_of::<eligibility::VerificationTaskOpened>(&app, |e| e.len() >= 3).await;
    let (envelope, task) = opened
        .iter()
        .find(|(_, t)| t.complaint_case_id == about_budi.case_id)
        .unwrap();
    assert_eq!(envelope.case_id, Some(case_id(&about_budi)));
    assert_eq!(task.ground, "inclusion_complaint");
    assert_eq!(task.held_programmes, Vec::<String>::new());
    let resolved = events_of::<eligibility::VerificationTaskResolved>(&app, |e| !e.is_empty()).await;
    assert_eq!(resolved[0].1.outcome, "not_found");
    assert_eq!(resolved[0].0.case_id, Some(case_id(&about_nobody)));
}

/// Tasrip, 82, the only member of H-000006 (desil 1); personally on PBI-JK.
const TASRIP: &str = "3375043010440001";

#[tokio::test]
async fn when_the_last_living_member_dies_the_households_enrolments_end_as_well() {
    let app = spawn_app().await;
    let opened = case_opened(TASRIP, "Tasrip", "33.75.04.1006", &["cash_assistance"]);
    app.open_case(&opened).await;
    let decision = app.decision(case_id(&opened)).await;
    let household_programmes: Vec<String> = decision["enrolments_started"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["beneficiary_kind"] == "household")
        .map(|e| e["programme_code"].as_str().unwrap().to_owned())
        .collect();
    assert!(!household_programmes.is_empty(), "{decision:#}");

    submit(
        &app,
        item(
            "death_certificate",
            TASRIP,
            "DISDUKCAPIL",
            "AKTA-3375-2026-0404",
            "2026-11-10",
        ),
    )
    .await
    .unwrap();

    assert!(
        statuses(&app, "H-000006")
            .await
            .iter()
            .all(|(_, status)| status == "ended"),
        "{:?}",
        statuses(&app, "H-000006").await
    );
    assert_eq!(statuses(&app, "P-000020").await, pairs(&[("PBI-JK", "ended")]));
    let programme = &household_programmes[0];
    let (payable, reasons) = check_payment(&app, programme, "H-000006").await.unwrap();
    assert!(!payable);
    assert!(reasons.iter().any(|r| r.contains("no living member")), "{reasons:?}");
    let exits = events_of::<eligibility::EnrolmentEnded>(&app, |e| e.len() >= 2).await;
    let reasons: Vec<(&str, &str)> = exits
        .iter()
        .map(|(_, e)| (e.beneficiary_kind.as_str(), e.reason_code.as_str()))
        .collect();
    assert!(reasons.contains(&("person", "deceased")), "{reasons:?}");
    assert!(reasons.contains(&("household", "no_living_member")), "{reasons:?}");
    // Nobody is left to head the household.
    let recorded = events_of::<eligibility::EvidenceRecorded>(&app, |e| !e.is_empty()).await;
    let rules: Vec<&str> = recorded[0].1.effects.iter().map(|e| e.rule.as_str()).collect();
    assert!(rules.contains(&"end.no_living_member"), "{rules:?}");
    assert!(!rules.contains(&"household.head_changed"), "{rules:?}");
}

#[tokio::test]
async fn an_exclusions_file_naming_an_unknown_programme_stops_start_up_naming_the_file_and_line() {
    let path = super::temp_file(
        "exclusions.toml",
        "verification_days = 14\n[excludes]\nvehicle = [\"PKH\"]\npayroll = [\"PKH\", \"KIS\"]\n",
    );

    let error = super::settings(&[(
        slrt_eligibility::settings::EXCLUSIONS_VARIABLE,
        path.display().to_string(),
    )])
    .unwrap_err();

    assert_eq!(error.variable, "SLRT_ELIGIBILITY_EXCLUSIONS");
    assert!(
        error.reason.starts_with(&format!(
            "{}: line 4: field `excludes.payroll`: KIS is not a programme in any of catalogues 2026.1, 2026.2",
            path.display()
        )),
        "{}",
        error.reason
    );
    let _ = std::fs::remove_file(path);
}

#[tokio::test]
async fn the_evidence_and_verification_endpoints_are_documented_and_a_bad_item_changes_nothing() {
    let app = spawn_app().await;

    let (status, openapi) = app.get("/openapi.json").await;
    assert_eq!(status, 200);
    for (path, method) in [
        ("/v1/evidence/file", "post"),
        ("/v1/verification-tasks", "get"),
        ("/v1/verification-tasks/{task_id}", "get"),
        ("/v1/verification-tasks/{task_id}/resolve", "post"),
        ("/v1/enrolments/{enrolment_id}/reinstate", "post"),
    ] {
        assert!(
            openapi["paths"][path][method].is_object(),
            "{method} {path} is not documented"
        );
    }

    for (request, field) in [
        (item("car", SLAMET, "SAMSAT", "X-1", "2026-10-01"), "kind"),
        (
            item("vehicle", "3375011204810000", "SAMSAT", "X-2", "2026-10-01"),
            "nik",
        ),
        (
            item("death_provisional", SLAMET, "3375011002", "", "2026-10-01"),
            "reference",
        ),
        (
            item("death_provisional", SLAMET, "3375011002", "X-4", "20-10-2026"),
            "observed_on",
        ),
        (
            item("death_provisional", SLAMET, "3375011002", "X-5", "1970-01-01"),
            "observed_on",
        ),
        (
            eligibility::SubmitEvidenceRequest {
                desil: -1,
                ..item("desil_update", SLAMET, "DTSEN", "X-6", "2026-10-01")
            },
            "desil",
        ),
    ] {
        let status = submit(&app, request).await.unwrap_err();
        assert_eq!(
            status.code(),
            tonic::Code::InvalidArgument,
            "{field}: {}",
            status.message()
        );
        assert!(
            status.message().starts_with(&format!("{field}: ")),
            "{}",
            status.message()
        );
    }
    assert_eq!(
        statuses(&app, "H-000001").await,
        pairs(&[("BPNT", "active"), ("PKH", "active")])
    );
    let (status, body) = app.get("/v1/verification-tasks?ground=car").await;
    assert_eq!((status, &body["error"]["field"]), (400, &json!("ground")), "{body}");
    let (status, body) = app.get("/v1/verification-tasks?region=Pekalongan").await;
    assert_eq!((status, &body["error"]["field"]), (400, &json!("region")), "{body}");
    let (status, body) = app.get("/v1/verification-tasks/not-a-task").await;
    assert_eq!((status, &body["error"]["field"]), (400, &json!("task_id")), "{body}");
}
