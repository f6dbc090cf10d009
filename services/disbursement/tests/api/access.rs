//! Who may see and do what: tokens, roles, areas, the paying bank, temporary grants, pages of
//! a batch, and the audit record of every read and change (ADR 7).

use super::*;

/// An audit entry as the tests look at it: (actor, outcome, subjects, purpose, detail).
type Audited = (String, String, String, Option<String>, String);

/// The audit log's entries for `action`, oldest first.
async fn audited(app: &TestApp, action: &str) -> Vec<Audited> {
    sqlx::query_as("SELECT actor, outcome, subjects, purpose, detail FROM audit_log WHERE action = $1 ORDER BY seq")
        .bind(action)
        .fetch_all(&app.pool)
        .await
        .unwrap()
}

fn actors_and_outcomes(entries: &[Audited]) -> Vec<(&str, &str)> {
    entries
        .iter()
        .map(|(actor, outcome, ..)| (actor.as_str(), outcome.as_str()))
        .collect()
}

/// The keyed token the services record for the test client's NIK.
fn client_token() -> String {
    let key = std::fs::read_to_string(slrt_testkit::identity().dir.join("pii-key.hex")).unwrap();
    slrt_identity::NikTokenizer::from_hex("k1", &key)
        .unwrap()
        .token_of_text(CLIENT_NIK)
}

/// A statement file of the bank with its header and no transfers: enough to reconcile a
/// batch nothing of which was sent.
fn empty_statement() -> Vec<u8> {
    b"idempotency_key,bank_reference,batch_id,amount_idr,status,reason,at,attempt\n".to_vec()
}

/// Every role of the system, each with the area or agency its token must carry.
const ROLES: [(&str, Option<&str>, Option<&str>); 10] = [
    ("desk_operator", Some("33.75"), None),
    ("back_office", Some("33.75"), None),
    ("coordinator", Some("33.75"), None),
    ("supervisor", Some("33.75"), None),
    ("opd_officer", None, Some("DINSOS")),
    ("opd_system", None, Some("DINSOS")),
    ("data_feed", None, Some(PAYING_BANK)),
    ("auditor", None, None),
    ("administrator", None, None),
    ("service", None, None),
];

fn as_role(role: &str) -> String {
    let (_, region, opd) = ROLES.iter().find(|(code, ..)| *code == role).unwrap();
    bearer(&format!("{role}-1"), &[role], *region, *opd)
}

/// One accepted PKH referral in Pekalongan Barat (33.75.01.1002), prepared into a batch by
/// the regency's back office: (case, entitlement, payment key, batch id).
async fn one_batched_payment(app: &TestApp, household: &str) -> (Uuid, String, String, String) {
    let case_id = Uuid::now_v7();
    app.accept(&pkh_acceptance(case_id, household)).await;
    let payment = app.first_payment_of(household).await;
    let period = payment["period"].as_str().unwrap();
    let (status, batch) = app
        .post(
            "/v1/batches",
            serde_json::json!({"programme_code": "PKH", "period": period}),
        )
        .await;
    assert_eq!(status, 201, "{batch}");
    (
        case_id,
        payment["entitlement_id"].as_str().unwrap().to_string(),
        payment["payment_key"].as_str().unwrap().to_string(),
        batch["batch_id"].as_str().unwrap().to_string(),
    )
}

#[tokio::test]
async fn every_endpoint_family_refuses_every_bad_token_over_http_and_grpc() {
    let eligibility = FakeEligibility::default();
    let app = spawn_app(&eligibility.start().await).await;
    let case_id = Uuid::now_v7();
    app.accept(&pkh_acceptance(case_id, "hh-3375-4001")).await;
    let payment = app.first_payment_of("hh-3375-4001").await;
    let period = payment["period"].as_str().unwrap().to_string();
    let batch = batch_path(&format!("PKH:{period}:1"));
    let reads = [
        format!("/v1/payments?case_id={case_id}"),
        format!("/v1/entitlements/{}", payment["entitlement_id"].as_str().unwrap()),
        "/v1/reports/payments".to_string(),
        "/v1/reports/paid-after-death".to_string(),
        format!("/v1/batches?programme=PKH&period={period}"),
        batch.clone(),
        "/v1/audit".to_string(),
        "/v1/access-grants".to_string(),
    ];
    let changes = [
        (
            "/v1/batches".to_string(),
            serde_json::json!({"programme_code": "PKH", "period": period}),
        ),
        (format!("{batch}/release"), serde_json::json!({})),
        (format!("{batch}/reconcile"), Value::Null),
        (format!("{batch}/reconcile-file"), Value::Null),
        (
            "/v1/payments/follow-up".to_string(),
            serde_json::json!({"payment_key": payment["payment_key"], "reason": "account corrected"}),
        ),
    ];
    let mut client = app.grpc().await;
    let audit_entries = || async {
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM audit_log")
            .fetch_one(&app.pool)
            .await
            .unwrap()
    };
    let entries_before = audit_entries().await;
    let bad_tokens = slrt_testkit::identity().bad_tokens(
        &["back_office", "coordinator", "supervisor", "service"],
        Some("33.75"),
        None,
    );
    assert!(bad_tokens.len() >= 10, "every failure the test identity knows");
    for bad in &bad_tokens {
        for path in &reads {
            let (status, body) = app.get_as(path, &bad.header).await;
            assert_eq!(status, 401, "GET {path}, {}: {body}", bad.case);
            let message = body["error"]["message"].as_str().unwrap_or_default();
            assert!(message.contains(bad.refusal), "GET {path}, {}: {body}", bad.case);
        }
        for (path, body) in &changes {
            let (status, answer) = app.post_as(path, body.clone(), &bad.header).await;
            assert_eq!(status, 401, "POST {path}, {}: {answer}", bad.case);
            let message = answer["error"]["message"].as_str().unwrap_or_default();
            assert!(message.contains(bad.refusal), "POST {path}, {}: {answer}", bad.case);
        }
        let mut request = tonic::Request::new(disbursement::ListPaymentsRequest {
            case_id: case_id.to_string(),
            beneficiary_id: String::new(),
        });
        if !bad.header.is_empty() {
            request
                .metadata_mut()
                .insert("authorization", bad.header.parse().unwrap());
        }
        let refused = client.list_payments(request).await.unwrap_err();
        assert_eq!(refused.code(), tonic::Code::Unauthenticated, "gRPC, {}", bad.case);
        assert!(
            refused.message().contains(bad.refusal),
            "gRPC, {}: {}",
            bad.case,
            refused.message()
        );
    }
    // None of them changed anything or read anything.
    let batches: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM payment_batches")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(batches, 0);
    assert_eq!(
        audit_entries().await,
        entries_before,
        "a refused token reaches no handler"
    );
}

#[tokio::test]
async fn every_role_gets_what_its_work_needs_and_403_elsewhere() {
    let eligibility = FakeEligibility::default();
    let app = spawn_app(&eligibility.start().await).await;
    let case_id = Uuid::now_v7();
    app.accept(&pkh_acceptance(case_id, "hh-3375-4101")).await;
    let payment = app.first_payment_of("hh-3375-4101").await;
    let period = payment["period"].as_str().unwrap().to_string();
    let batch_id = format!("PKH:{period}:1");
    let staff = ["back_office", "coordinator", "supervisor"];

    let reads: [(String, &[&str]); 7] = [
        (format!("/v1/payments?case_id={case_id}"), &staff),
        (
            format!("/v1/entitlements/{}", payment["entitlement_id"].as_str().unwrap()),
            &staff,
        ),
        ("/v1/reports/payments".to_string(), &staff),
        (format!("/v1/batches?programme=PKH&period={period}"), &staff),
        (
            "/v1/reports/paid-after-death".to_string(),
            &["auditor", "coordinator", "supervisor"],
        ),
        ("/v1/audit".to_string(), &["auditor"]),
        ("/v1/audit/verify".to_string(), &["auditor"]),
    ];
    for (path, allowed) in &reads {
        for (role, ..) in ROLES {
            let (status, body) = app.get_as(path, &as_role(role)).await;
            let expected = if allowed.contains(&role) { 200 } else { 403 };
            assert_eq!(status, expected, "GET {path} as {role}: {body}");
        }
    }

    // Preparing: the regency's back office only.
    let prepare = serde_json::json!({"programme_code": "PKH", "period": period});
    for (role, ..) in ROLES.iter().filter(|(role, ..)| *role != "back_office") {
        let (status, body) = app.post_as("/v1/batches", prepare.clone(), &as_role(role)).await;
        assert_eq!(status, 403, "prepare as {role}: {body}");
    }
    let (status, body) = app.post_as("/v1/batches", prepare, &as_role("back_office")).await;
    assert_eq!(status, 201, "{body}");
    // Reading the batch: staff.
    for (role, ..) in ROLES {
        let (status, body) = app.get_as(&batch_path(&batch_id), &as_role(role)).await;
        let expected = if staff.contains(&role) { 200 } else { 403 };
        assert_eq!(status, expected, "GET the batch as {role}: {body}");
    }
    // Releasing: the regency's coordinators only.
    let release = format!("{}/release", batch_path(&batch_id));
    for (role, ..) in ROLES.iter().filter(|(role, ..)| *role != "coordinator") {
        let (status, body) = app.post_as(&release, serde_json::json!({}), &as_role(role)).await;
        assert_eq!(status, 403, "release as {role}: {body}");
    }
    let (status, body) = app
        .post_as(&release, serde_json::json!({}), &as_role("coordinator"))
        .await;
    assert_eq!(status, 200, "{body}");
    // Reconciling: the regency's back office and the paying bank's system.
    let reconcile = format!("{}/reconcile-file", batch_path(&batch_id));
    for (role, ..) in ROLES {
        let (status, body) = app.post_raw_as(&reconcile, empty_statement(), &as_role(role)).await;
        let expected = if ["back_office", "data_feed"].contains(&role) {
            200
        } else {
            403
        };
        assert_eq!(status, expected, "reconcile as {role}: {body}");
    }
    // A follow-up: back office and coordinators. The payment was never sent, so those let
    // through hear the domain's answer; everyone else is refused before it.
    let follow_up = serde_json::json!({"payment_key": payment["payment_key"], "reason": "account corrected"});
    for (role, ..) in ROLES {
        let (status, body) = app
            .post_as("/v1/payments/follow-up", follow_up.clone(), &as_role(role))
            .await;
        let expected = if ["back_office", "coordinator"].contains(&role) {
            422
        } else {
            403
        };
        assert_eq!(status, expected, "follow-up as {role}: {body}");
    }

    // gRPC: this system's services and the agency that accepted the referral.
    let mut client = app.grpc().await;
    for (role, ..) in ROLES {
        let answer = client
            .list_payments(with_token(
                disbursement::ListPaymentsRequest {
                    case_id: case_id.to_string(),
                    beneficiary_id: String::new(),
                },
                &as_role(role),
            ))
            .await;
        if ["service", "opd_system", "opd_officer"].contains(&role) {
            let payments = answer.unwrap().into_inner().payments;
            assert_eq!(payments.len(), 1, "ListPayments as {role}");
        } else {
            let refused = answer.unwrap_err();
            assert_eq!(refused.code(), tonic::Code::PermissionDenied, "ListPayments as {role}");
        }
    }
}

#[tokio::test]
async fn another_areas_staff_see_none_of_its_payments_and_every_attempt_is_audited() {
    let eligibility = FakeEligibility::default();
    let app = spawn_app(&eligibility.start().await).await;
    let (case_id, entitlement, key, batch_id) = one_batched_payment(&app, "hh-3375-4201").await;
    let token = client_token();
    // Pekalongan Timur (33.75.02) is the next district; Sleman (34.04) another province's
    // regency. The payment's client lives in Pekalongan Barat (33.75.01).
    let next_district = bearer("koordinator-3375-02", &["coordinator"], Some("33.75.02"), None);
    let sleman = bearer("supervisor-sleman", &["supervisor"], Some("34.04"), None);
    let own_district = bearer("supervisor-3375-01", &["supervisor"], Some("33.75.01"), None);

    for outsider in [&next_district, &sleman] {
        let (status, body) = app.get_as(&format!("/v1/entitlements/{entitlement}"), outsider).await;
        assert_eq!(status, 404, "{body}");
        assert_eq!(body["error"]["message"], format!("no entitlement {entitlement}"));
        let (status, body) = app.get_as(&format!("/v1/payments?case_id={case_id}"), outsider).await;
        assert_eq!(
            (status, body["payments"].as_array().map(Vec::len)),
            (200, Some(0)),
            "{body}"
        );
        let (_, batch) = app.get_as(&batch_path(&batch_id), outsider).await;
        assert_eq!(
            batch["payment_count"], 1,
            "the batch's totals are the regency's: {batch}"
        );
        assert_eq!(batch["payments"], serde_json::json!([]), "but none of its payments");
        let (_, report) = app.get_as("/v1/reports/payments", outsider).await;
        assert_eq!(report["total"]["count"], 0, "{report}");
    }
    let (status, body) = app
        .post_as(
            "/v1/payments/follow-up",
            serde_json::json!({"payment_key": key, "reason": "guessing another district's key"}),
            &next_district,
        )
        .await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(body["error"]["message"], format!("payment {key} not found"));

    // Inside the area, by whole segments: Pekalongan Barat's supervisor sees it.
    let (status, _) = app
        .get_as(&format!("/v1/entitlements/{entitlement}"), &own_district)
        .await;
    assert_eq!(status, 200);
    let (_, listed) = app
        .get_as(&format!("/v1/payments?case_id={case_id}"), &own_district)
        .await;
    assert_eq!(listed["payments"].as_array().map(Vec::len), Some(1));
    let (_, batch) = app.get_as(&batch_path(&batch_id), &own_district).await;
    assert_eq!(batch["payments"][0]["payment_key"], key.as_str());

    let reads = audited(&app, "entitlement.read").await;
    assert_eq!(
        actors_and_outcomes(&reads),
        [
            ("koordinator-3375-02", "not_found"),
            ("supervisor-sleman", "not_found"),
            ("supervisor-3375-01", "allowed")
        ]
    );
    assert_eq!(reads[0].2, "", "nobody is named to an outsider's record");
    assert_eq!(reads[2].2, token, "the client's keyed token, never the NIK");
    let lists = audited(&app, "payment.list").await;
    let outcomes: Vec<(&str, &str)> = actors_and_outcomes(&lists)
        .into_iter()
        .filter(|(actor, _)| actor.contains("3375-0") || actor.contains("sleman"))
        .collect();
    assert_eq!(
        outcomes,
        [
            ("koordinator-3375-02", "not_found"),
            ("supervisor-sleman", "not_found"),
            ("supervisor-3375-01", "allowed")
        ]
    );
    let follow_ups = audited(&app, "payment.follow_up").await;
    assert_eq!(actors_and_outcomes(&follow_ups), [("koordinator-3375-02", "not_found")]);

    // Agencies over gRPC: Dinas Sosial accepted the referral; Dinas Kesehatan did not.
    let mut client = app.grpc().await;
    let request = |opd: &str| {
        with_token(
            disbursement::ListPaymentsRequest {
                case_id: case_id.to_string(),
                beneficiary_id: String::new(),
            },
            &bearer(&format!("system-{opd}"), &["opd_system"], None, Some(opd)),
        )
    };
    let dinkes = client.list_payments(request("DINKES")).await.unwrap().into_inner();
    assert!(dinkes.payments.is_empty());
    let dinsos = client.list_payments(request("DINSOS")).await.unwrap().into_inner();
    assert_eq!(dinsos.payments.len(), 1);
    let grpc_lists: Vec<Audited> = audited(&app, "payment.list")
        .await
        .into_iter()
        .filter(|(actor, ..)| actor.starts_with("system-"))
        .collect();
    assert_eq!(
        actors_and_outcomes(&grpc_lists),
        [("system-DINKES", "not_found"), ("system-DINSOS", "allowed")]
    );
    assert_eq!(grpc_lists[1].2, token);
}

#[tokio::test]
async fn a_temporary_grant_opens_another_district_until_it_ends_and_every_read_names_it() {
    let eligibility = FakeEligibility::default();
    let app = spawn_app(&eligibility.start().await).await;
    let case_id = Uuid::now_v7();
    app.accept(&pkh_acceptance(case_id, "hh-3375-4301")).await;
    let entitlement = app.first_payment_of("hh-3375-4301").await["entitlement_id"]
        .as_str()
        .unwrap()
        .to_string();
    let path = format!("/v1/entitlements/{entitlement}");
    // The back office of Pekalongan Timur covers Pekalongan Barat's desk for a moment.
    let visitor = bearer("bo-3375-02", &["back_office"], Some("33.75.02"), None);
    let (status, _) = app.get_as(&path, &visitor).await;
    assert_eq!(status, 404);

    let (status, granted) = app
        .post_as(
            "/v1/access-grants",
            serde_json::json!({
                "grantee": "bo-3375-02",
                "region": "33.75.01",
                "reason": "Covering the Pekalongan Barat payments desk during leave",
                "valid_until": (Utc::now() + chrono::Duration::seconds(4)).to_rfc3339(),
            }),
            &checker(),
        )
        .await;
    assert_eq!(status, 201, "{granted}");
    let grant_id = granted["id"].as_str().unwrap().to_string();

    let (status, body) = app.get_as(&path, &visitor).await;
    assert_eq!(status, 200, "{body}");
    let (_, listed) = app.get_as(&format!("/v1/payments?case_id={case_id}"), &visitor).await;
    assert_eq!(listed["payments"].as_array().map(Vec::len), Some(1), "{listed}");

    tokio::time::sleep(Duration::from_secs(5)).await;
    let (status, _) = app.get_as(&path, &visitor).await;
    assert_eq!(status, 404, "the grant has ended");
    let (_, listed) = app.get_as(&format!("/v1/payments?case_id={case_id}"), &visitor).await;
    assert_eq!(listed["payments"].as_array().map(Vec::len), Some(0), "{listed}");

    let reads = audited(&app, "entitlement.read").await;
    assert_eq!(
        reads
            .iter()
            .map(|(_, outcome, ..)| outcome.as_str())
            .collect::<Vec<_>>(),
        ["not_found", "allowed", "not_found"]
    );
    assert!(
        reads[1].4.contains(&grant_id),
        "the read under the grant names it: {}",
        reads[1].4
    );
    assert_eq!(reads[1].2, client_token());
    assert!(!reads[2].4.contains(&grant_id), "an ended grant is named no more");
}

#[tokio::test]
async fn reads_and_changes_are_audited_with_the_clients_nik_token_and_never_the_nik() {
    let eligibility = FakeEligibility::default();
    let app = spawn_app(&eligibility.start().await).await;
    let (case_id, entitlement, _, batch_id) = one_batched_payment(&app, "hh-3375-4401").await;
    let token = client_token();
    let response = app
        .client
        .get(format!("{}{}", app.http, batch_path(&batch_id)))
        .header("Authorization", supervisor())
        .header("x-slrt-purpose", "quarterly payment review")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let (status, _) = app
        .post(&format!("{}/release", batch_path(&batch_id)), serde_json::json!({}))
        .await;
    assert_eq!(status, 200);
    app.get(&format!("/v1/payments?case_id={case_id}")).await;
    app.get(&format!("/v1/entitlements/{entitlement}")).await;
    let (status, _) = app
        .post_raw(&format!("{}/reconcile-file", batch_path(&batch_id)), empty_statement())
        .await;
    assert_eq!(status, 200);
    let auditor = bearer("inspektorat-1", &["auditor"], None, None);
    let (status, _) = app.get_as("/v1/reports/paid-after-death", &auditor).await;
    assert_eq!(status, 200);

    for (action, actor) in [
        ("batch.prepare", "bo-3375-1"),
        ("batch.read", "supervisor-3375"),
        ("batch.release", "koordinator-3375"),
        ("payment.list", "supervisor-3375"),
        ("entitlement.read", "supervisor-3375"),
    ] {
        // The last by that actor: the waits above polled the payments list until it showed.
        let entries = audited(&app, action).await;
        let entry = entries
            .iter()
            .rfind(|(who, ..)| who == actor)
            .unwrap_or_else(|| panic!("{action} by {actor} audited: {entries:?}"));
        assert_eq!(
            (entry.1.as_str(), entry.2.as_str()),
            ("allowed", token.as_str()),
            "{action}"
        );
    }
    let reads = audited(&app, "batch.read").await;
    assert_eq!(reads[0].3.as_deref(), Some("quarterly payment review"));
    let reconciled = audited(&app, "batch.reconcile").await;
    assert_eq!(actors_and_outcomes(&reconciled), [("bo-3375-1", "allowed")]);
    assert_eq!(
        actors_and_outcomes(&audited(&app, "report.paid_after_death").await),
        [("inspektorat-1", "allowed")]
    );
    let in_clear: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_log
         WHERE concat_ws('|', actor, action, resource, subjects, purpose, detail) LIKE '%' || $1 || '%'",
    )
    .bind(CLIENT_NIK)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(in_clear, 0, "no NIK in clear in the audit log");

    // The auditor checks the chain and gives the client their access report.
    let (_, chain) = app.get_as("/v1/audit/verify", &auditor).await;
    assert_eq!(chain["first_broken"], Value::Null, "{chain}");
    let (status, report) = app
        .post_as(
            "/v1/audit/access-report",
            serde_json::json!({ "nik": CLIENT_NIK }),
            &auditor,
        )
        .await;
    assert_eq!(status, 200, "{report}");
    let actions: Vec<&str> = report["accesses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|line| line["action"].as_str().unwrap())
        .collect();
    for action in [
        "batch.prepare",
        "batch.read",
        "batch.release",
        "payment.list",
        "entitlement.read",
    ] {
        assert!(actions.contains(&action), "{action} in {report}");
    }
}

#[tokio::test]
async fn only_the_paying_banks_system_hands_in_a_statement_and_another_banks_attempt_is_audited() {
    let eligibility = FakeEligibility::default();
    let app = spawn_app(&eligibility.start().await).await;
    let (_, _, _, batch_id) = one_batched_payment(&app, "hh-3375-4501").await;
    let (status, _) = app
        .post(&format!("{}/release", batch_path(&batch_id)), serde_json::json!({}))
        .await;
    assert_eq!(status, 200);
    let file = format!("{}/reconcile-file", batch_path(&batch_id));
    let pull = format!("{}/reconcile", batch_path(&batch_id));
    let bank = |opd: &str| bearer(&format!("feed-{opd}"), &["data_feed"], None, Some(opd));

    let (status, report) = app.post_raw_as(&file, empty_statement(), &bank(PAYING_BANK)).await;
    assert_eq!((status, report["source"].as_str()), (200, Some("file")), "{report}");
    for path in [&file, &pull] {
        let (status, error) = app.post_raw_as(path, empty_statement(), &bank("BANK-DKI")).await;
        assert_eq!(status, 403, "{error}");
        assert_eq!(
            error["error"]["message"],
            format!("BANK-DKI is not the paying bank ({PAYING_BANK}); only its statement reconciles our batches")
        );
    }
    // A district's back office does not reconcile the regency's batch either.
    let district = bearer("bo-3375-01", &["back_office"], Some("33.75.01"), None);
    let (status, _) = app.post_raw_as(&file, empty_statement(), &district).await;
    assert_eq!(status, 403);

    let entries = audited(&app, "batch.reconcile").await;
    assert_eq!(
        actors_and_outcomes(&entries),
        [
            ("feed-BANK-JATENG", "allowed"),
            ("feed-BANK-DKI", "denied"),
            ("feed-BANK-DKI", "denied")
        ]
    );
    assert!(entries[1].4.contains("BANK-DKI"), "{}", entries[1].4);
}

#[tokio::test]
async fn a_batch_is_shown_a_page_at_a_time_within_the_readers_area_and_bad_pages_name_the_field() {
    let eligibility = FakeEligibility::default();
    let app = spawn_app(&eligibility.start().await).await;
    let period = "2026-Q4";
    for (prefix, region) in [("hh-barat", "33.75.01.1002"), ("hh-timur", "33.75.02.1001")] {
        let seeded = slrt_disbursement::bench::seed_period(
            &app.pool,
            &slrt_disbursement::bench::Seed {
                count: 130,
                region_code: Some(region.to_string()),
                prefix: prefix.to_string(),
                programme: "PKH".into(),
                component: "child_0_6".into(),
                cadence: "quarterly".into(),
                period: slrt_disbursement::domain::Period::parse(period).unwrap(),
                amount_idr: 750_000,
            },
        )
        .await
        .unwrap();
        assert_eq!(seeded, 130);
    }
    let (status, batch) = app
        .post(
            "/v1/batches",
            serde_json::json!({"programme_code": "PKH", "period": period}),
        )
        .await;
    assert_eq!(status, 201, "{batch}");
    assert_eq!(batch["payment_count"], 260);
    assert_eq!(batch["payments"].as_array().map(Vec::len), Some(100), "the first page");
    let batch_id = batch["batch_id"].as_str().unwrap().to_string();

    // The regency's supervisor pages through all of it, in key order, each payment once.
    let mut keys: Vec<String> = Vec::new();
    let mut sizes = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let path = match &after {
            None => format!("{}?limit=100", batch_path(&batch_id)),
            Some(key) => format!("{}?limit=100&after={}", batch_path(&batch_id), key.replace(':', "%3A")),
        };
        let (status, page) = app.get(&path).await;
        assert_eq!(status, 200, "{page}");
        let page_keys: Vec<String> = page["payments"]
            .as_array()
            .unwrap()
            .iter()
            .map(|payment| payment["payment_key"].as_str().unwrap().to_string())
            .collect();
        sizes.push(page_keys.len());
        keys.extend(page_keys);
        match page["next_after"].as_str() {
            Some(next) => after = Some(next.to_string()),
            None => break,
        }
        assert!(sizes.len() < 10, "paging ends");
    }
    assert_eq!(sizes, [100, 100, 60]);
    let mut sorted = keys.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted, keys, "in key order, each once");
    assert_eq!(keys.len(), 260);

    // Pekalongan Barat's coordinator sees its own 130, against the whole batch's totals.
    let barat = bearer("koordinator-3375-01", &["coordinator"], Some("33.75.01"), None);
    let (_, page) = app
        .get_as(&format!("{}?limit=1000", batch_path(&batch_id)), &barat)
        .await;
    let shown = page["payments"].as_array().unwrap();
    assert_eq!((shown.len(), page["payment_count"].as_i64()), (130, Some(260)));
    assert!(
        shown
            .iter()
            .all(|payment| payment["payment_key"].as_str().unwrap().contains(":hh-barat-"))
    );
    // The seeded entitlements keep no NIK token: the read names their beneficiaries by id.
    let reads = audited(&app, "batch.read").await;
    let detail: Value = serde_json::from_str(&reads.last().unwrap().4).unwrap();
    assert_eq!(
        detail["beneficiaries_without_nik_token"].as_array().map(Vec::len),
        Some(130)
    );

    for (query, field) in [
        ("limit=0", "limit"),
        ("limit=1001", "limit"),
        ("limit=ten", "limit"),
        ("after=not%20a%20key", "after"),
    ] {
        let (status, error) = app.get(&format!("{}?{query}", batch_path(&batch_id))).await;
        assert_eq!(
            (status, error["error"]["field"].as_str()),
            (400, Some(field)),
            "{query}: {error}"
        );
    }
    for path in [
        format!("/v1/batches?programme=PKH&period={period}&limit=5000"),
        "/v1/payments?beneficiary_id=hh-barat-0000001&limit=0".to_string(),
        "/v1/reports/paid-after-death?limit=1001".to_string(),
    ] {
        let (status, error) = app.get_as(&path, &checker()).await;
        assert_eq!(
            (status, error["error"]["field"].as_str()),
            (400, Some("limit")),
            "{path}: {error}"
        );
    }
    for path in [
        format!("/v1/batches?programme=PKH&period={period}&after=first"),
        "/v1/payments?beneficiary_id=hh-barat-0000001&after=42".to_string(),
        "/v1/reports/paid-after-death?after=zz".to_string(),
    ] {
        let (status, error) = app.get_as(&path, &checker()).await;
        assert_eq!(
            (status, error["error"]["field"].as_str()),
            (400, Some("after")),
            "{path}: {error}"
        );
    }

    // The release answers its totals and the first page too.
    let released = app.release(&batch_id).await;
    assert_eq!(released["released_count"], 260);
    assert_eq!(released["payments"].as_array().map(Vec::len), Some(100));
    assert!(released["next_after"].is_string());
}

#[tokio::test]
async fn a_beneficiarys_payments_are_listed_a_page_at_a_time() {
    let eligibility = FakeEligibility::default();
    let app = spawn_app(&eligibility.start().await).await;
    let first = app.instructed_payments(&["hh-3375-4601"]).await;
    let (status, _) = app.prepare(&next_quarter(&first)).await;
    assert_eq!(status, 201, "the next quarter's payment instructed");

    let (_, page) = app.get("/v1/payments?beneficiary_id=hh-3375-4601&limit=1").await;
    let payments = page["payments"].as_array().unwrap();
    assert_eq!(payments.len(), 1, "{page}");
    assert_eq!(payments[0]["period"], first.as_str(), "oldest first");
    let after = page["next_after"].as_str().unwrap();
    let (_, rest) = app
        .get(&format!(
            "/v1/payments?beneficiary_id=hh-3375-4601&limit=1&after={after}"
        ))
        .await;
    assert_eq!(rest["payments"][0]["period"], next_quarter(&first).as_str(), "{rest}");
    let after = rest["next_after"].as_str().unwrap();
    let (_, end) = app
        .get(&format!(
            "/v1/payments?beneficiary_id=hh-3375-4601&limit=1&after={after}"
        ))
        .await;
    assert_eq!(end["payments"], serde_json::json!([]));
    assert_eq!(end["next_after"], Value::Null);
}
