//! Who may see and do what, through the public interfaces: every token failure, every role
//! against every endpoint family (HTTP and gRPC), another area's records, another agency's
//! programmes, a temporary grant that ends, limits on lists and text, and the audit record
//! of each access with the keyed NIK token, never the NIK.

use std::collections::BTreeSet;

use serde_json::{Value, json};
use slrt_proto::eligibility::v1 as eligibility;
use slrt_proto::eligibility::v1::{
    CheckPaymentEligibilityRequest, ListEnrolmentsRequest, ReportExternalEnrolmentEndedRequest,
    ReportExternalEnrolmentRequest, ScreenPersonRequest, SubmitEvidenceRequest,
};

use super::evidence::{BUDI, SUKARDI, SUMIYATI, TARMUJI, WAGIMAN, enrolment_id, item, post_csv_as, submit};
use super::*;

/// Every role of the system, each with the scope its token must carry: area roles for the
/// province (33), agency roles for Dinas Sosial.
const ROLES: [(&str, Option<&str>, Option<&str>); 10] = [
    ("desk_operator", Some("33"), None),
    ("back_office", Some("33"), None),
    ("coordinator", Some("33"), None),
    ("supervisor", Some("33"), None),
    ("opd_officer", None, Some("DINSOS")),
    ("opd_system", None, Some("DINSOS")),
    ("data_feed", None, Some("DINSOS")),
    ("auditor", None, None),
    ("administrator", None, None),
    ("service", None, None),
];

/// The token of `role` (as [`ROLES`] scopes it), its subject `<role>-1`.
fn as_role(role: &str) -> String {
    let (_, region, opd) = ROLES
        .iter()
        .find(|(code, _, _)| *code == role)
        .copied()
        .unwrap_or_else(|| panic!("{role} is not a role"));
    bearer(&format!("{role}-1"), &[role], region, opd)
}

const AREA_READERS: &[&str] = &["back_office", "coordinator", "supervisor"];
const AREA_CHANGERS: &[&str] = &["back_office", "coordinator"];

/// The province's coordinator waits for the decision of a case for `nik`; its id.
async fn decided_case(app: &TestApp, nik: &str, region: &str) -> Uuid {
    let opened = case_opened(nik, "Warga", region, &["cash_assistance"]);
    app.open_case(&opened).await;
    app.decision(case_id(&opened)).await;
    case_id(&opened)
}

/// The open verification task about registry person `person_id`, once there is one.
async fn task_of(app: &TestApp, person_id: &str) -> String {
    let (status, page) = app.get("/v1/verification-tasks?open=true").await;
    assert_eq!(status, 200, "{page}");
    page["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|task| task["person_id"] == person_id)
        .unwrap_or_else(|| panic!("no open task about {person_id}: {page:#}"))["task_id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// A car for Sukardi (H-000008, Kendal) and a state-enterprise salary for Wagiman
/// (H-000009, Kendal): one task each.
async fn two_tasks(app: &TestApp) -> (String, String) {
    submit(
        app,
        SubmitEvidenceRequest {
            plate: "H 8123 KD".into(),
            ..item("vehicle", SUKARDI, "SAMSAT", "H-8123-KD", "2026-08-01")
        },
    )
    .await
    .unwrap();
    submit(
        app,
        SubmitEvidenceRequest {
            employer_category: "state_enterprise".into(),
            ..item("payroll", WAGIMAN, "BUMN-PAYROLL", "2026-09-PLN-1177", "2026-09-01")
        },
    )
    .await
    .unwrap();
    (task_of(app, "P-000025").await, task_of(app, "P-000030").await)
}

/// The detail of an audit entry, which the log keeps as JSON text.
fn detail(entry: &Value) -> Value {
    serde_json::from_str(entry["detail"].as_str().unwrap_or("null")).unwrap_or(Value::Null)
}

/// (actor, outcome) of each entry.
fn who_and_outcome(entries: &[Value]) -> Vec<(String, String)> {
    entries
        .iter()
        .map(|e| {
            (
                e["actor"].as_str().unwrap().to_owned(),
                e["outcome"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn subjects(entry: &Value) -> Vec<&str> {
    entry["subjects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect()
}

fn csv_header_only() -> &'static str {
    "kind,nik,source,reference,observed_on\n"
}

#[tokio::test]
async fn every_token_failure_is_refused_on_every_http_family_and_over_grpc_and_reads_nothing() {
    let app = spawn_app().await;
    let identity = slrt_testkit::identity();
    let reads = [
        "/v1/catalogue".to_string(),
        "/v1/catalogue/versions".to_string(),
        format!("/v1/decisions/{}", Uuid::now_v7()),
        "/v1/beneficiaries/H-000001/enrolments".to_string(),
        "/v1/verification-tasks".to_string(),
        format!("/v1/verification-tasks/{}", Uuid::now_v7()),
        "/v1/reports/violations".to_string(),
        "/v1/reports/years-on-benefit".to_string(),
        "/v1/audit".to_string(),
        "/v1/access-grants".to_string(),
    ];
    let changes = [
        format!("/v1/verification-tasks/{}/resolve", Uuid::now_v7()),
        format!("/v1/enrolments/{}/reinstate", Uuid::now_v7()),
        "/v1/households/H-000001/graduate".to_string(),
        "/v1/access-grants".to_string(),
    ];

    for bad in identity.bad_tokens(&["coordinator"], Some("33"), None) {
        for path in &reads {
            let (status, body) = app.get_as(path, &bad.header).await;
            assert_eq!(status, 401, "GET {path} with {}: {body}", bad.case);
            assert_eq!(body["error"]["code"], "unauthenticated", "{body}");
            let message = body["error"]["message"].as_str().unwrap_or_default();
            assert!(message.contains(bad.refusal), "{}: {message}", bad.case);
        }
        for path in &changes {
            let (status, body) = app
                .post_as(path, json!({"outcome": "confirmed", "reason": "a reason"}), &bad.header)
                .await;
            assert_eq!(status, 401, "POST {path} with {}: {body}", bad.case);
        }
        let (status, body) = post_csv_as(&app, csv_header_only(), &bad.header).await;
        assert_eq!(status, 401, "the evidence file with {}: {body}", bad.case);
    }

    for bad in identity.bad_tokens(&["service"], None, None) {
        let refused = [
            app.grpc_as(&bad.header)
                .await
                .screen_person(ScreenPersonRequest { nik: SLAMET.into() })
                .await
                .map(|_| ())
                .unwrap_err(),
            app.grpc_as(&bad.header)
                .await
                .check_payment_eligibility(CheckPaymentEligibilityRequest {
                    programme_code: "PKH".into(),
                    beneficiary_id: "H-000001".into(),
                })
                .await
                .map(|_| ())
                .unwrap_err(),
            app.grpc_as(&bad.header)
                .await
                .list_enrolments(ListEnrolmentsRequest {
                    nik: SLAMET.into(),
                    ..Default::default()
                })
                .await
                .map(|_| ())
                .unwrap_err(),
            app.grpc_as(&bad.header)
                .await
                .report_external_enrolment(ReportExternalEnrolmentRequest {
                    programme_code: "PKH".into(),
                    nik: SLAMET.into(),
                    reference: "X-1".into(),
                    started_on: "2026-01-01".into(),
                    ..Default::default()
                })
                .await
                .map(|_| ())
                .unwrap_err(),
            app.feed_as(&bad.header)
                .await
                .submit_evidence(item("death_provisional", SLAMET, "", "X-2", "2026-10-01"))
                .await
                .map(|_| ())
                .unwrap_err(),
        ];
        for status in refused {
            assert_eq!(status.code(), tonic::Code::Unauthenticated, "{}: {status:?}", bad.case);
            assert!(
                status.message().contains(bad.refusal),
                "{}: {}",
                bad.case,
                status.message()
            );
        }
    }

    // Nobody was let in: no read, no change, and Slamet's household is as it was.
    for action in ["person.screen", "enrolment.list", "decision.read", "evidence.submit"] {
        assert_eq!(app.audited(action).await, Vec::<Value>::new(), "{action}");
    }
    let (_, ledger) = app.get("/v1/beneficiaries/H-000001/enrolments").await;
    assert!(
        ledger["enrolments"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["status"] == "active"),
        "{ledger:#}"
    );
}

#[tokio::test]
async fn every_role_reaches_only_the_http_endpoints_it_serves() {
    let app = spawn_app().await;
    let decision = decided_case(&app, DARTO, "33.75.02.1004").await;
    let (car, salary) = two_tasks(&app).await;
    let all: Vec<&str> = ROLES.iter().map(|(role, _, _)| *role).collect();

    let reads: [(String, &[&str]); 9] = [
        ("/v1/catalogue".into(), &all[..]),
        ("/v1/catalogue/versions".into(), &all[..]),
        (format!("/v1/decisions/{decision}"), AREA_READERS),
        ("/v1/beneficiaries/H-000001/enrolments".into(), AREA_READERS),
        ("/v1/verification-tasks".into(), AREA_READERS),
        (format!("/v1/verification-tasks/{car}"), AREA_READERS),
        (
            "/v1/reports/violations".into(),
            &["coordinator", "supervisor", "auditor"],
        ),
        ("/v1/reports/years-on-benefit".into(), &["coordinator", "supervisor"]),
        ("/v1/audit".into(), &["auditor"]),
    ];
    for (path, allowed) in &reads {
        for role in &all {
            let (status, body) = app.get_as(path, &as_role(role)).await;
            if allowed.contains(role) {
                assert_eq!(status, 200, "GET {path} as {role}: {body}");
            } else {
                assert_eq!(status, 403, "GET {path} as {role}: {body}");
                assert_eq!(body["error"]["code"], "forbidden");
                let message = body["error"]["message"].as_str().unwrap();
                assert!(
                    allowed.iter().all(|may| message.contains(may)),
                    "the refusal names who may: {message}"
                );
            }
        }
    }

    // An evidence file: a feed's own, or one the back office relays.
    for role in &all {
        let (status, body) = post_csv_as(&app, csv_header_only(), &as_role(role)).await;
        let expected = if ["data_feed", "back_office"].contains(role) {
            200
        } else {
            403
        };
        assert_eq!(status, expected, "the evidence file as {role}: {body}");
    }

    // Changes: every role that may not is refused first, then each that may makes one.
    let refused_changers: Vec<&str> = all.iter().copied().filter(|r| !AREA_CHANGERS.contains(r)).collect();
    let resolve = |task: &str| format!("/v1/verification-tasks/{task}/resolve");
    for role in &refused_changers {
        let (status, body) = app
            .post_as(
                &resolve(&car),
                json!({"outcome": "confirmed", "reason": "home visit"}),
                &as_role(role),
            )
            .await;
        assert_eq!(status, 403, "resolving as {role}: {body}");
    }
    let (status, body) = app
        .post_as(
            &resolve(&car),
            json!({"outcome": "confirmed", "reason": "home visit: the family drives the car"}),
            &as_role("back_office"),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = app
        .post_as(
            &resolve(&salary),
            json!({"outcome": "rejected", "reason": "a namesake; Wagiman farms"}),
            &as_role("coordinator"),
        )
        .await;
    assert_eq!(status, 200, "{body}");

    let pkh = enrolment_id(&app, "H-000008", "PKH", "ended").await;
    let bpnt = enrolment_id(&app, "H-000008", "BPNT", "ended").await;
    let reinstate = |enrolment: &str| format!("/v1/enrolments/{enrolment}/reinstate");
    for role in &refused_changers {
        let (status, body) = app
            .post_as(&reinstate(&pkh), json!({"reason": "appeal accepted"}), &as_role(role))
            .await;
        assert_eq!(status, 403, "reinstating as {role}: {body}");
    }
    let (status, body) = app
        .post_as(
            &reinstate(&pkh),
            json!({"reason": "appeal accepted"}),
            &as_role("back_office"),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = app
        .post_as(
            &reinstate(&bpnt),
            json!({"reason": "appeal accepted"}),
            &as_role("coordinator"),
        )
        .await;
    assert_eq!(status, 201, "{body}");

    let graduate = |household: &str| format!("/v1/households/{household}/graduate");
    for role in &refused_changers {
        let (status, body) = app
            .post_as(
                &graduate("H-000002"),
                json!({"reason": "business plan approved"}),
                &as_role(role),
            )
            .await;
        assert_eq!(status, 403, "graduating as {role}: {body}");
    }
    let (status, body) = app
        .post_as(
            &graduate("H-000002"),
            json!({"reason": "business plan approved"}),
            &as_role("back_office"),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = app
        .post_as(
            &graduate("H-000001"),
            json!({"reason": "the warung earns above the minimum wage"}),
            &as_role("coordinator"),
        )
        .await;
    assert_eq!(status, 201, "{body}");

    // Temporary access to part of one's area: given by coordinators and supervisors.
    let until = (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339();
    for role in &all {
        let (status, body) = app
            .post_as(
                "/v1/access-grants",
                json!({"grantee": format!("colleague-of-{role}"), "region": "33.75.01",
                       "reason": "covering a colleague on leave", "valid_until": until}),
                &as_role(role),
            )
            .await;
        let expected = if ["coordinator", "supervisor"].contains(role) {
            201
        } else {
            403
        };
        assert_eq!(status, expected, "granting access as {role}: {body}");
    }

    // A refusal of a read of people's data is on the record too.
    let denied: Vec<(String, String)> = who_and_outcome(&app.audited("decision.read").await)
        .into_iter()
        .filter(|(_, outcome)| outcome == "denied")
        .collect();
    assert_eq!(denied.len(), all.len() - AREA_READERS.len(), "{denied:?}");
    assert!(
        denied.contains(&("desk_operator-1".into(), "denied".into())),
        "{denied:?}"
    );
}

#[tokio::test]
async fn every_role_reaches_only_the_grpc_methods_it_serves() {
    let app = spawn_app().await;
    let all: Vec<&str> = ROLES.iter().map(|(role, _, _)| *role).collect();
    let agencies = ["opd_officer", "opd_system"];

    for role in &all {
        let token = as_role(role);
        let screened = app
            .grpc_as(&token)
            .await
            .screen_person(ScreenPersonRequest { nik: SLAMET.into() })
            .await;
        let checked = app
            .grpc_as(&token)
            .await
            .check_payment_eligibility(CheckPaymentEligibilityRequest {
                programme_code: "PKH".into(),
                beneficiary_id: "H-000001".into(),
            })
            .await;
        if *role == "service" {
            assert!(screened.unwrap().into_inner().known_person);
            assert!(checked.unwrap().into_inner().payable);
        } else {
            for refused in [screened.map(|_| ()), checked.map(|_| ())] {
                let status = refused.unwrap_err();
                assert_eq!(status.code(), tonic::Code::PermissionDenied, "{role}: {status:?}");
                assert!(status.message().contains("service"), "{}", status.message());
            }
        }

        // Slamet's household holds PKH and BPNT, Dinas Sosial's programmes.
        let listed = app
            .grpc_as(&token)
            .await
            .list_enrolments(ListEnrolmentsRequest {
                nik: SLAMET.into(),
                ..Default::default()
            })
            .await;
        if [
            "service",
            "back_office",
            "coordinator",
            "supervisor",
            "opd_officer",
            "opd_system",
        ]
        .contains(role)
        {
            let listed = listed
                .unwrap_or_else(|status| panic!("{role}: {status:?}"))
                .into_inner();
            assert_eq!(listed.household_id, "H-000001", "{role}");
            assert_eq!(listed.enrolments.len(), 2, "{role}: {listed:?}");
        } else {
            assert_eq!(
                listed.unwrap_err().code(),
                tonic::Code::PermissionDenied,
                "listing as {role}"
            );
        }

        let reference = format!("KOTA-{role}");
        let reported = app
            .grpc_as(&token)
            .await
            .report_external_enrolment(ReportExternalEnrolmentRequest {
                programme_code: "BLT-KOTA".into(),
                nik: BUDI.into(),
                reference: reference.clone(),
                started_on: "2026-08-01".into(),
                ..Default::default()
            })
            .await;
        let ended = app
            .grpc_as(&token)
            .await
            .report_external_enrolment_ended(ReportExternalEnrolmentEndedRequest {
                reference: reference.clone(),
                ended_on: slrt_identity::today_in_indonesia().to_string(),
                reason: "the family moved".into(),
                ..Default::default()
            })
            .await;
        if agencies.contains(role) {
            let reported = reported
                .unwrap_or_else(|status| panic!("{role}: {status:?}"))
                .into_inner();
            assert!(reported.created);
            assert!(
                ended
                    .unwrap_or_else(|status| panic!("{role}: {status:?}"))
                    .into_inner()
                    .ended
            );
        } else {
            for refused in [reported.map(|_| ()), ended.map(|_| ())] {
                assert_eq!(
                    refused.unwrap_err().code(),
                    tonic::Code::PermissionDenied,
                    "reporting as {role}"
                );
            }
        }

        let submitted = app
            .feed_as(&token)
            .await
            .submit_evidence(SubmitEvidenceRequest {
                desil: 3,
                ..item("desil_update", BUDI, "", &format!("DESIL-{role}"), "2026-10-01")
            })
            .await;
        if *role == "data_feed" {
            assert!(submitted.unwrap().into_inner().created);
        } else {
            let status = submitted.unwrap_err();
            assert_eq!(status.code(), tonic::Code::PermissionDenied, "{role}: {status:?}");
            assert!(status.message().contains("data_feed"), "{}", status.message());
        }
    }
}

#[tokio::test]
async fn another_areas_staff_find_nothing_there_and_each_attempt_is_audited() {
    let app = spawn_app().await;
    // Darto lives in Pekalongan Utara (33.75.02); Slamet in Pekalongan Barat (33.75.01).
    let decision = decided_case(&app, DARTO, "33.75.02.1004").await;
    submit(
        &app,
        SubmitEvidenceRequest {
            plate: "G 1 AB".into(),
            ..item("vehicle", SLAMET, "SAMSAT", "G-1-AB", "2026-10-01")
        },
    )
    .await
    .unwrap();
    let task = task_of(&app, "P-000001").await;
    let slamet_pkh = enrolment_id(&app, "H-000001", "PKH", "held").await;
    // Kendal (33.24) is another regency of the province.
    let kendal_supervisor = bearer("supervisor-kendal", &["supervisor"], Some("33.24"), None);
    let kendal_office = bearer("bo-kendal", &["back_office"], Some("33.24"), None);

    let (status, body) = app
        .get_as(&format!("/v1/decisions/{decision}"), &kendal_supervisor)
        .await;
    assert_eq!(status, 404, "{body}");
    // The same answer as for a case that does not exist.
    let (_, missing) = app
        .get_as(&format!("/v1/decisions/{}", Uuid::now_v7()), &kendal_supervisor)
        .await;
    assert_eq!(
        body["error"]["message"],
        format!("no decision for case {decision}; it may not be decided yet")
    );
    assert_eq!(missing["error"]["code"], body["error"]["code"]);
    let (status, body) = app
        .get_as("/v1/beneficiaries/H-000001/enrolments", &kendal_supervisor)
        .await;
    assert_eq!(
        (status, body["error"]["message"].as_str()),
        (404, Some("no household or person H-000001 in the registry")),
        "{body}"
    );
    let (status, _) = app
        .get_as(&format!("/v1/verification-tasks/{task}"), &kendal_supervisor)
        .await;
    assert_eq!(status, 404);
    let (_, listed) = app.get_as("/v1/verification-tasks", &kendal_supervisor).await;
    assert_eq!(listed["tasks"], json!([]), "{listed:#}");
    let (status, _) = app
        .post_as(
            &format!("/v1/verification-tasks/{task}/resolve"),
            json!({"outcome": "confirmed", "reason": "guessing"}),
            &kendal_office,
        )
        .await;
    assert_eq!(status, 404);
    let (status, _) = app
        .post_as(
            &format!("/v1/enrolments/{slamet_pkh}/reinstate"),
            json!({"reason": "guessing"}),
            &kendal_office,
        )
        .await;
    assert_eq!(status, 404);
    let (status, _) = app
        .post_as(
            "/v1/households/H-000001/graduate",
            json!({"reason": "guessing"}),
            &kendal_office,
        )
        .await;
    assert_eq!(status, 404);
    // The seed's one breach is Rasmi's, in Pekalongan: Kendal's supervisor sees none of it.
    let (_, kendal_report) = app.get_as("/v1/reports/violations", &kendal_supervisor).await;
    assert_eq!(kendal_report["violations"], json!([]), "{kendal_report:#}");
    let (_, province_report) = app.get("/v1/reports/violations").await;
    assert!(
        !province_report["violations"].as_array().unwrap().is_empty(),
        "{province_report:#}"
    );
    // The years on benefit count Kendal's enrolments only (Sukardi's PKH, not Slamet's).
    let pkh_current = |report: &Value| {
        report["programmes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["programme_code"] == "PKH")
            .map(|p| p["current"].as_u64().unwrap())
            .unwrap_or(0)
    };
    let (_, kendal_years) = app.get_as("/v1/reports/years-on-benefit", &kendal_supervisor).await;
    let (_, province_years) = app.get("/v1/reports/years-on-benefit").await;
    assert_eq!(pkh_current(&kendal_years), 1, "{kendal_years:#}");
    assert!(pkh_current(&province_years) > 1, "{province_years:#}");
    // Evidence the back office relays may only be about people of its area.
    let file =
        format!("kind,nik,source,reference,observed_on\ndeath_provisional,{SLAMET},3375011002,LAPOR-9,2026-10-20\n");
    let (status, relayed) = post_csv_as(&app, &file, &kendal_office).await;
    assert_eq!(status, 200, "{relayed}");
    assert_eq!(
        (&relayed["rejected"], &relayed["rejects"][0]["field"]),
        (&json!(1), &json!("nik")),
        "{relayed:#}"
    );
    let not_found = app
        .grpc_as(&kendal_office)
        .await
        .list_enrolments(ListEnrolmentsRequest {
            nik: SLAMET.into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(not_found.code(), tonic::Code::NotFound);

    // Areas are whole segments: Pekalongan Barat's office sees Slamet, not Darto.
    let barat = bearer("bo-barat", &["back_office"], Some("33.75.01"), None);
    let (status, _) = app.get_as("/v1/beneficiaries/H-000001/enrolments", &barat).await;
    assert_eq!(status, 200);
    let (status, _) = app.get_as(&format!("/v1/decisions/{decision}"), &barat).await;
    assert_eq!(status, 404);
    let (_, tasks) = app.get_as("/v1/verification-tasks", &barat).await;
    assert_eq!(tasks["tasks"].as_array().unwrap().len(), 1, "{tasks:#}");

    for (action, actor) in [
        ("evidence.submit", "bo-kendal"),
        ("verification_task.read", "supervisor-kendal"),
        ("verification_task.resolve", "bo-kendal"),
        ("enrolment.reinstate", "bo-kendal"),
        ("household.graduate", "bo-kendal"),
    ] {
        let theirs: Vec<(String, String)> = who_and_outcome(&app.audited(action).await)
            .into_iter()
            .filter(|(who, _)| who == actor)
            .collect();
        assert_eq!(theirs, [(actor.to_string(), "not_found".to_string())], "{action}");
    }
    let reads = who_and_outcome(&app.audited("decision.read").await);
    assert!(
        reads.contains(&("supervisor-kendal".into(), "not_found".into())),
        "{reads:?}"
    );
    assert!(reads.contains(&("bo-barat".into(), "not_found".into())), "{reads:?}");
    let listings = app.audited("enrolment.list").await;
    let kendal_grpc = listings
        .iter()
        .find(|e| e["actor"] == "bo-kendal")
        .unwrap_or_else(|| panic!("{listings:#?}"));
    assert_eq!(kendal_grpc["outcome"], "not_found");
    assert_eq!(
        subjects(kendal_grpc),
        [token_of(SLAMET).as_str()],
        "whom they asked about"
    );
    // Nothing changed: the task is open, the enrolment held, the household not graduated.
    let (_, detail) = app.get(&format!("/v1/verification-tasks/{task}")).await;
    assert_eq!(detail["task"]["status"], "open");
}

#[tokio::test]
async fn an_agency_sees_only_its_own_programmes_and_reports_only_for_itself() {
    let app = spawn_app().await;
    let officer = |opd: &str| bearer(&format!("officer-{opd}"), &["opd_officer"], None, Some(opd));
    let list = |nik: &str| ListEnrolmentsRequest {
        nik: nik.into(),
        ..Default::default()
    };

    // Slamet's household holds Dinas Sosial's programmes only: Dinas Kesehatan finds nobody.
    let refused = app
        .grpc_as(&officer("DINKES"))
        .await
        .list_enrolments(list(SLAMET))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), tonic::Code::NotFound);
    let unknown = app
        .grpc_as(&officer("DINKES"))
        .await
        .list_enrolments(list(OUTSIDER))
        .await
        .unwrap_err();
    assert_eq!(refused.message(), unknown.message(), "the same answer as for nobody");
    // Rasmi holds PBI-JK (Dinas Kesehatan's); her household PKH (Dinas Sosial's).
    let codes = |response: eligibility::ListEnrolmentsResponse| -> Vec<String> {
        response.enrolments.into_iter().map(|e| e.programme_code).collect()
    };
    let health = app
        .grpc_as(&officer("DINKES"))
        .await
        .list_enrolments(list(RASMI))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(codes(health), ["PBI-JK"]);
    let social = app
        .grpc_as(&officer("DINSOS"))
        .await
        .list_enrolments(list(RASMI))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(codes(social), ["PKH"]);

    // A catalogued programme is reported by its owner only.
    let report = |programme: &str, reference: &str, reporting_opd: &str| ReportExternalEnrolmentRequest {
        programme_code: programme.into(),
        nik: TARMUJI.into(),
        reporting_opd: reporting_opd.into(),
        reference: reference.into(),
        started_on: "2026-03-01".into(),
        ..Default::default()
    };
    let not_theirs = app
        .grpc_as(&agency("DINSOS"))
        .await
        .report_external_enrolment(report("PBI-JK", "PBI-1", ""))
        .await
        .unwrap_err();
    assert_eq!(not_theirs.code(), tonic::Code::PermissionDenied);
    assert!(
        not_theirs
            .message()
            .starts_with("programme_code: PBI-JK is DINKES's programme"),
        "{}",
        not_theirs.message()
    );
    // An agency speaks for itself, whatever the request says.
    let posing = app
        .grpc_as(&agency("DINSOS"))
        .await
        .report_external_enrolment(report("PKH", "PKH-1", "DINKES"))
        .await
        .unwrap_err();
    assert_eq!(posing.code(), tonic::Code::PermissionDenied);
    assert!(posing.message().starts_with("reporting_opd: "), "{}", posing.message());
    // A programme the catalogue does not list is its first reporter's.
    let provincial = app
        .grpc_as(&agency("DINSOS-PROV"))
        .await
        .report_external_enrolment(report("BANSOS-PROV", "PROV-1", ""))
        .await
        .unwrap()
        .into_inner();
    assert!(provincial.created);
    let taken = app
        .grpc_as(&agency("BAZNAS"))
        .await
        .report_external_enrolment(report("BANSOS-PROV", "Z-1", "BAZNAS"))
        .await
        .unwrap_err();
    assert_eq!(taken.code(), tonic::Code::PermissionDenied, "{taken:?}");
    // And ends only what it reported: another agency's reference is unknown to it.
    let ended_by_other = app
        .grpc_as(&agency("BAZNAS"))
        .await
        .report_external_enrolment_ended(ReportExternalEnrolmentEndedRequest {
            reference: "PROV-1".into(),
            ended_on: slrt_identity::today_in_indonesia().to_string(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(ended_by_other.code(), tonic::Code::NotFound);
    let own = app
        .grpc_as(&agency("DINSOS-PROV"))
        .await
        .list_enrolments(list(TARMUJI))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(codes(own), ["BANSOS-PROV"], "what it reported itself");

    // A feed's evidence is its own: another source is refused, over gRPC and in a file.
    let posing_feed = app
        .feed_as(&feed_of("SAMSAT"))
        .await
        .submit_evidence(item("payroll", WAGIMAN, "BKN", "GAJI-1", "2026-10-01"))
        .await
        .unwrap_err();
    assert_eq!(posing_feed.code(), tonic::Code::PermissionDenied);
    assert!(
        posing_feed.message().starts_with("source: "),
        "{}",
        posing_feed.message()
    );
    let file = format!(
        "kind,nik,source,reference,observed_on,plate\n\
         vehicle,{SUKARDI},BKN,H-9-XY,2026-10-01,H 9 XY\n\
         vehicle,{SUKARDI},,H-8-XY,2026-10-01,H 8 XY\n"
    );
    let (status, applied) = post_csv_as(&app, &file, &feed_of("SAMSAT")).await;
    assert_eq!(status, 200, "{applied}");
    assert_eq!(applied["recorded"], 1, "{applied:#}");
    assert_eq!(applied["rejects"][0]["field"], "source", "{applied:#}");
    let task = task_of(&app, "P-000025").await;
    let (_, detail) = app.get(&format!("/v1/verification-tasks/{task}")).await;
    assert_eq!(detail["evidence"]["source"], "SAMSAT", "{detail:#}");

    let listings = who_and_outcome(&app.audited("enrolment.list").await);
    assert_eq!(listings[0], ("officer-DINKES".to_string(), "not_found".to_string()));
    let reports = who_and_outcome(&app.audited("external_enrolment.report").await);
    assert_eq!(
        reports,
        [
            ("system-DINSOS".to_string(), "denied".to_string()),
            ("system-DINSOS".to_string(), "denied".to_string()),
            ("system-DINSOS-PROV".to_string(), "allowed".to_string()),
            ("system-BAZNAS".to_string(), "denied".to_string()),
        ]
    );
}

#[tokio::test]
async fn a_temporary_grant_lets_another_areas_officer_in_until_it_ends() {
    let app = spawn_app().await;
    let visitor = bearer("bo-kendal", &["back_office"], Some("33.24"), None);
    let pekalongan = bearer("coordinator-3375", &["coordinator"], Some("33.75"), None);
    let slamet = "/v1/beneficiaries/H-000001/enrolments";
    let (status, _) = app.get_as(slamet, &visitor).await;
    assert_eq!(status, 404, "before the grant");

    // Someone else's area is not theirs to give.
    // Long enough for the reads below on a busy machine; the test waits it out.
    let until = chrono::Utc::now() + chrono::Duration::seconds(10);
    let grant = json!({
        "grantee": "bo-kendal", "region": "33.75.01",
        "reason": "covering Pekalongan Barat's back office during the audit week",
        "valid_until": until.to_rfc3339(),
    });
    let (status, _) = app
        .post_as(
            "/v1/access-grants",
            grant.clone(),
            &bearer("coordinator-kendal", &["coordinator"], Some("33.24"), None),
        )
        .await;
    assert_eq!(status, 403);
    let (status, granted) = app.post_as("/v1/access-grants", grant, &pekalongan).await;
    assert_eq!(status, 201, "{granted}");
    let grant_id = granted["id"].as_str().unwrap().to_owned();

    let (status, body) = app.get_as(slamet, &visitor).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["enrolments"].as_array().unwrap().len(), 2);
    let over_grpc = app
        .grpc_as(&visitor)
        .await
        .list_enrolments(ListEnrolmentsRequest {
            nik: SLAMET.into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(over_grpc.household_id, "H-000001");
    // Only the granted part: Darto's household is in another district.
    let (status, _) = app.get_as("/v1/beneficiaries/H-000003/enrolments", &visitor).await;
    assert_eq!(status, 404);

    let reads = app.audited("enrolment.list").await;
    let allowed: Vec<&Value> = reads
        .iter()
        .filter(|e| e["actor"] == "bo-kendal" && e["outcome"] == "allowed")
        .collect();
    assert_eq!(allowed.len(), 2, "{reads:#?}");
    for entry in allowed {
        assert_eq!(
            detail(entry)["grants_in_force"][0]["id"],
            grant_id.as_str(),
            "{entry:#}"
        );
    }

    let left = until - chrono::Utc::now() + chrono::Duration::milliseconds(500);
    tokio::time::sleep(left.to_std().unwrap_or_default()).await;
    let (status, _) = app.get_as(slamet, &visitor).await;
    assert_eq!(status, 404, "after the grant ended");
    let after = app
        .grpc_as(&visitor)
        .await
        .list_enrolments(ListEnrolmentsRequest {
            nik: SLAMET.into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(after.code(), tonic::Code::NotFound);
    let last = app.audited("enrolment.list").await;
    assert_eq!(last.last().unwrap()["outcome"], "not_found");
}

#[tokio::test]
async fn every_read_and_change_of_a_persons_data_is_audited_with_the_nik_token_never_the_nik() {
    let app = spawn_app().await;
    let decision = decided_case(&app, DARTO, "33.75.02.1004").await;
    let (car, _) = two_tasks(&app).await;

    // Reads over HTTP, one with a declared purpose.
    let response = app
        .client
        .get(format!("{}/v1/decisions/{decision}", app.http))
        .header("Authorization", coordinator())
        .header("x-slrt-purpose", "appeal hearing 2026-11-30")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    app.get("/v1/beneficiaries/H-000003/enrolments").await;
    app.get("/v1/verification-tasks").await;
    app.get(&format!("/v1/verification-tasks/{car}")).await;
    app.get("/v1/reports/violations").await;
    // Changes over HTTP.
    let (status, body) = app
        .post(
            &format!("/v1/verification-tasks/{car}/resolve"),
            json!({"outcome": "confirmed", "reason": "home visit"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let pkh = enrolment_id(&app, "H-000008", "PKH", "ended").await;
    let (status, body) = app
        .post(
            &format!("/v1/enrolments/{pkh}/reinstate"),
            json!({"reason": "appeal accepted"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = app
        .post(
            "/v1/households/H-000002/graduate",
            json!({"reason": "business plan approved"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    // Over gRPC: the services, an agency, a feed.
    app.grpc()
        .await
        .screen_person(ScreenPersonRequest { nik: SLAMET.into() })
        .await
        .unwrap();
    app.grpc()
        .await
        .check_payment_eligibility(CheckPaymentEligibilityRequest {
            programme_code: "PKH".into(),
            beneficiary_id: "H-000001".into(),
        })
        .await
        .unwrap();
    app.grpc()
        .await
        .list_enrolments(ListEnrolmentsRequest {
            nik: SUMIYATI.into(),
            ..Default::default()
        })
        .await
        .unwrap();
    app.report_external("BANSOS-PROV", BUDI, "DINSOS-PROV", "PROV-7", "2026-03-01")
        .await
        .unwrap();
    app.grpc_as(&agency("DINSOS-PROV"))
        .await
        .report_external_enrolment_ended(ReportExternalEnrolmentEndedRequest {
            reference: "PROV-7".into(),
            ended_on: slrt_identity::today_in_indonesia().to_string(),
            ..Default::default()
        })
        .await
        .unwrap();

    let entries = app.audit_entries("").await;
    // (action, actor, a person it must name)
    let expected = [
        ("decision.read", "coordinator-33", DARTO),
        ("enrolment.list", "coordinator-33", DARTO),
        ("verification_task.list", "coordinator-33", SUKARDI),
        ("verification_task.read", "coordinator-33", SUKARDI),
        ("report.violations", "coordinator-33", RASMI),
        ("verification_task.resolve", "coordinator-33", SUKARDI),
        ("enrolment.reinstate", "coordinator-33", SUKARDI),
        ("household.graduate", "coordinator-33", SUMIYATI),
        ("evidence.submit", "feed-SAMSAT", SUKARDI),
        ("evidence.submit", "feed-BUMN-PAYROLL", WAGIMAN),
        ("person.screen", "service:slrt-test", SLAMET),
        ("payment.check", "service:slrt-test", SLAMET),
        ("enrolment.list", "service:slrt-test", SUMIYATI),
        ("external_enrolment.report", "system-DINSOS-PROV", BUDI),
        ("external_enrolment.end", "system-DINSOS-PROV", BUDI),
    ];
    for (action, actor, nik) in expected {
        let token = token_of(nik);
        let found = entries.iter().any(|e| {
            e["action"] == action
                && e["actor"] == actor
                && e["outcome"] == "allowed"
                && subjects(e).contains(&token.as_str())
        });
        assert!(
            found,
            "no allowed {action} by {actor} naming the token of {nik}: {entries:#?}"
        );
    }
    let reinstated = entries.iter().find(|e| e["action"] == "enrolment.reinstate").unwrap();
    assert_eq!(reinstated["resource"], format!("enrolment/{pkh}"));
    // A household's record concerns every member: Sukardi's wife as well as Sukardi.
    assert!(subjects(reinstated).contains(&token_of("3324155402860002").as_str()));
    let read = entries.iter().rfind(|e| e["action"] == "decision.read").unwrap();
    assert_eq!(read["purpose"], "appeal hearing 2026-11-30");

    // The log names people only by keyed token.
    let log = Value::from(entries.clone()).to_string();
    for nik in [DARTO, SLAMET, SUKARDI, WAGIMAN, SUMIYATI, BUDI, RASMI] {
        assert!(!log.contains(nik), "a NIK in clear in the audit log");
    }
    let (_, chain) = app.get_as("/v1/audit/verify", &auditor()).await;
    assert_eq!(chain["first_broken"], Value::Null, "{chain}");
    assert!(chain["entries"].as_i64().unwrap() > expected.len() as i64, "{chain}");
    // A person's access report finds what was read about them.
    let (status, access_report) = app
        .post_as("/v1/audit/access-report", json!({"nik": DARTO}), &auditor())
        .await;
    assert_eq!(status, 200, "{access_report}");
    let about_darto: BTreeSet<&str> = access_report["accesses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|line| line["action"].as_str().unwrap())
        .collect();
    assert!(
        about_darto.contains("decision.read") && about_darto.contains("enrolment.list"),
        "{access_report:#}"
    );
}

#[tokio::test]
async fn lists_are_capped_text_is_bounded_and_an_oversized_evidence_file_is_refused_naming_the_limit() {
    let app = spawn_app_with(
        &fresh_database_url().await,
        &[(
            slrt_eligibility::settings::EVIDENCE_FILE_MAX_BYTES_VARIABLE,
            "1024".to_string(),
        )],
    )
    .await;

    for (path, field) in [
        ("/v1/verification-tasks?limit=201", "limit"),
        ("/v1/verification-tasks?limit=0", "limit"),
        ("/v1/reports/violations?limit=1001", "limit"),
        ("/v1/reports/violations?after=first", "after"),
    ] {
        let (status, body) = app.get(path).await;
        assert_eq!(
            (status, &body["error"]["field"]),
            (400, &json!(field)),
            "{path}: {body}"
        );
    }
    // The violations report in pages: the seed's breach and a second PKH for Slamet.
    app.report_external("PKH", SLAMET, "DINSOS", "PKH-DUP-1", "2026-01-01")
        .await
        .unwrap();
    let (_, whole) = app.get("/v1/reports/violations").await;
    let rows = whole["violations"].as_array().unwrap().clone();
    assert!(rows.len() >= 2, "{whole:#}");
    assert_eq!(whole["next_after"], Value::Null);
    let mut paged = Vec::new();
    let mut after = 0;
    loop {
        let (_, page) = app.get(&format!("/v1/reports/violations?limit=1&after={after}")).await;
        paged.extend(page["violations"].as_array().unwrap().iter().cloned());
        match page["next_after"].as_u64() {
            Some(next) => after = next,
            None => break,
        }
    }
    assert_eq!(paged, rows);

    let long = "x".repeat(501);
    let (status, body) = app
        .post(
            &format!("/v1/verification-tasks/{}/resolve", Uuid::now_v7()),
            json!({"outcome": "confirmed", "reason": long}),
        )
        .await;
    assert_eq!((status, &body["error"]["field"]), (400, &json!("reason")), "{body}");
    let (status, body) = app
        .post(
            &format!("/v1/enrolments/{}/reinstate", Uuid::now_v7()),
            json!({"reason": long}),
        )
        .await;
    assert_eq!((status, &body["error"]["field"]), (400, &json!("reason")), "{body}");
    for (request, field) in [
        (
            ReportExternalEnrolmentEndedRequest {
                reference: "PKH-DUP-1".into(),
                ended_on: "2026-02-01".into(),
                reason: long.clone(),
                ..Default::default()
            },
            "reason",
        ),
        (
            ReportExternalEnrolmentEndedRequest {
                reference: "R".repeat(101),
                ended_on: "2026-02-01".into(),
                ..Default::default()
            },
            "reference",
        ),
    ] {
        let status = app
            .grpc_as(&agency("DINSOS"))
            .await
            .report_external_enrolment_ended(request)
            .await
            .unwrap_err();
        assert_eq!(status.code(), tonic::Code::InvalidArgument);
        assert!(
            status.message().starts_with(&format!("{field}: ")),
            "{}",
            status.message()
        );
    }

    let mut file = String::from("kind,nik,source,reference,observed_on,plate\n");
    for i in 0..40 {
        file.push_str(&format!("vehicle,{SUKARDI},SAMSAT,H-{i}-XY,2026-10-01,H {i} XY\n"));
    }
    assert!(file.len() > 1024);
    let (status, body) = post_csv_as(&app, &file, &feed_of("SAMSAT")).await;
    assert_eq!(status, 413, "{body}");
    assert_eq!(body["error"]["code"], "payload_too_large");
    assert!(
        body["error"]["message"].as_str().unwrap().contains("1024 bytes"),
        "{body}"
    );
    // Nothing of it was applied.
    let (_, tasks) = app.get("/v1/verification-tasks").await;
    assert_eq!(tasks["tasks"], json!([]));
}
