//! Complaints, the desk's steps on a case (withdraw, close, answer), idempotency of every
//! create, and the tracker's rebuild: through the HTTP API of the real application, events
//! published on the broker as eligibility and referral would.

use super::*;

fn question() -> Value {
    let mut body = application();
    body["kind"] = json!("complaint");
    body["needs"] = json!([]);
    body["complaint"] = json!({
        "complaint_type": "question",
        "statement": "When is the fourth BPNT stage paid?"
    });
    body
}

fn inclusion_report() -> Value {
    let mut body = application();
    body["kind"] = json!("complaint");
    body["needs"] = json!([]);
    body["complaint"] = json!({
        "complaint_type": "grievance",
        "grievance_type": "inclusion_error",
        "statement": "My neighbour owns two cars and still receives PKH.",
        "reported": {
            "nik": "3375021501780001",
            "full_name": "Darto",
            "region_code": "33.75.02.1004",
            "programme_code": "PKH",
            "ground": "vehicle"
        }
    });
    body
}

fn exclusion_grievance() -> Value {
    let mut body = application();
    body["kind"] = json!("complaint");
    body["needs"] = json!([{"category": "cash_assistance", "description": "asks to be assessed"}]);
    body["complaint"] = json!({
        "complaint_type": "grievance",
        "grievance_type": "exclusion_error",
        "statement": "We are poor and receive nothing."
    });
    body
}

impl TestApp {
    async fn post_json(&self, path: &str, body: &Value, key: Option<&str>) -> reqwest::Response {
        let mut request = self.http.post(format!("{}{path}", self.base)).json(body);
        if let Some(key) = key {
            request = request.header("Idempotency-Key", key);
        }
        request.send().await.unwrap()
    }

    async fn created(&self, body: &Value) -> Uuid {
        let response = self.post_case(body, None).await;
        assert_eq!(response.status(), 201);
        let created: Value = response.json().await.unwrap();
        Uuid::parse_str(created["case_id"].as_str().unwrap()).unwrap()
    }

    async fn step(&self, case_id: Uuid, action: &str, body: Value) -> (u16, Value) {
        let response = self
            .post_json(&format!("/v1/cases/{case_id}/{action}"), &body, None)
            .await;
        let status = response.status().as_u16();
        (status, response.json().await.unwrap())
    }

    async fn case(&self, case_id: Uuid) -> Value {
        self.get_case(&case_id.to_string()).await.json().await.unwrap()
    }
}

#[tokio::test]
async fn each_kind_of_complaint_opens_a_case_that_records_the_complaint() {
    let app = spawn_app().await;
    let asked = app.created(&question()).await;
    let case = app.case(asked).await;
    assert_eq!(case["kind"], "complaint");
    assert_eq!(case["status"], "open");
    assert_eq!(case["complaint"]["complaint_type"], "question");
    assert_eq!(case["complaint"]["grievance_type"], Value::Null);
    assert_eq!(case["needs"], json!([]));
    assert_eq!(
        summaries(&case)[0],
        format!(
            "Complaint {} taken at desk 33.75.01.1002 by fo-spv-pekalongan-1 from Siti Aminah: question: \
             When is the fourth BPNT stage paid?",
            case["case_number"].as_str().unwrap()
        )
    );

    let reported = app.created(&inclusion_report()).await;
    let case = app.case(reported).await;
    assert_eq!(case["complaint"]["grievance_type"], "inclusion_error");
    assert!(
        summaries(&case)[0].ends_with("reports Darto of 33.75.02.1004 (ground: vehicle)"),
        "{:?}",
        summaries(&case)
    );
    assert!(
        !serde_json::to_string(&case).unwrap().contains("3375021501780001"),
        "the reported NIK is not shown to supervisors"
    );
    // What eligibility receives: the complaint with the reported person, in CaseOpened.
    let pool = sqlx::PgPool::connect(&app.database_url).await.unwrap();
    let events = slrt_eventstore::load_case(&pool, reported).await.unwrap();
    let opened: slrt_proto::intake::v1::CaseOpened = events[0].decode().unwrap();
    assert_eq!(opened.kind, "complaint");
    let complaint = opened.complaint.unwrap();
    assert_eq!(complaint.complaint_type, "grievance");
    assert_eq!(complaint.grievance_type, "inclusion_error");
    let subject = complaint.reported.unwrap();
    assert_eq!(subject.nik, "3375021501780001");
    assert_eq!(subject.kk_number, "");
    assert_eq!(subject.region_code, "33.75.02.1004");
    assert_eq!(
        (subject.programme_code.as_str(), subject.ground.as_str()),
        ("PKH", "vehicle")
    );

    let excluded = app.created(&exclusion_grievance()).await;
    let case = app.case(excluded).await;
    assert_eq!(case["complaint"]["grievance_type"], "exclusion_error");
    assert_eq!(case["needs"].as_array().unwrap().len(), 1, "{case:#}");
    let events = slrt_eventstore::load_case(&pool, excluded).await.unwrap();
    let opened: slrt_proto::intake::v1::CaseOpened = events[0].decode().unwrap();
    assert_eq!(opened.needs[0].category, "cash_assistance");

    let application_events = slrt_eventstore::load_case(&pool, app.created(&application()).await)
        .await
        .unwrap();
    let opened: slrt_proto::intake::v1::CaseOpened = application_events[0].decode().unwrap();
    assert_eq!(opened.complaint, None);
}

#[tokio::test]
async fn a_bad_complaint_field_is_refused_naming_it_and_records_nothing() {
    let app = spawn_app().await;
    type Spoiler = fn(&mut Value);
    let spoilers: Vec<(Spoiler, &str)> = vec![
        (|b| b["kind"] = json!("petition"), "kind"),
        (
            |b| {
                b.as_object_mut().unwrap().remove("complaint");
            },
            "complaint",
        ),
        (
            |b| b["complaint"]["complaint_type"] = json!("rant"),
            "complaint.complaint_type",
        ),
        (
            |b| {
                b["complaint"].as_object_mut().unwrap().remove("grievance_type");
            },
            "complaint.grievance_type",
        ),
        (
            |b| b["complaint"]["grievance_type"] = json!("fraud"),
            "complaint.grievance_type",
        ),
        (|b| b["complaint"]["statement"] = json!("   "), "complaint.statement"),
        (
            |b| {
                b["complaint"].as_object_mut().unwrap().remove("reported");
            },
            "complaint.reported",
        ),
        (
            |b| b["complaint"]["reported"]["nik"] = json!("337502150178000"),
            "complaint.reported.nik",
        ),
        (
            |b| {
                b["complaint"]["reported"].as_object_mut().unwrap().remove("nik");
            },
            "complaint.reported.nik",
        ),
        (
            |b| b["complaint"]["reported"]["kk_number"] = json!("3375020000000000"),
            "complaint.reported.kk_number",
        ),
        (
            |b| b["complaint"]["reported"]["full_name"] = json!(""),
            "complaint.reported.full_name",
        ),
        (
            |b| b["complaint"]["reported"]["region_code"] = json!("33.75.02"),
            "complaint.reported.region_code",
        ),
        (
            |b| b["complaint"]["reported"]["region_code"] = json!("99.99.99.9999"),
            "complaint.reported.region_code",
        ),
        (
            |b| b["complaint"]["reported"]["programme_code"] = json!("pkh"),
            "complaint.reported.programme_code",
        ),
        (
            |b| b["complaint"]["reported"]["ground"] = json!("envy"),
            "complaint.reported.ground",
        ),
        (|b| b["needs"] = json!([{"category": "cash_assistance"}]), "needs"),
        (|b| b["complaint"]["mood"] = json!("angry"), "complaint.mood"),
        // A value of the wrong type is named by its path like any other bad value.
        (|b| b["complaint"]["statement"] = json!(42), "complaint.statement"),
        (
            |b| b["complaint"]["reported"]["nik"] = json!(3375021501780001_u64),
            "complaint.reported.nik",
        ),
        (|b| b["needs"] = json!("cash_assistance"), "needs"),
        (
            |b| b["complaint"]["reported"] = json!(["a", "list"]),
            "complaint.reported",
        ),
    ];
    for (spoil, field) in spoilers {
        let mut body = inclusion_report();
        spoil(&mut body);
        let response = app.post_case(&body, None).await;
        assert_eq!(response.status(), 400, "{field}");
        let error: Value = response.json().await.unwrap();
        assert_eq!(error["error"]["field"], field, "{error}");
    }
    let mut question_with_reported = question();
    question_with_reported["complaint"]["reported"] = inclusion_report()["complaint"]["reported"].clone();
    let error: Value = app.post_case(&question_with_reported, None).await.json().await.unwrap();
    assert_eq!(error["error"]["field"], "complaint.reported");
    let mut application_with_complaint = application();
    application_with_complaint["complaint"] = question()["complaint"].clone();
    let error: Value = app
        .post_case(&application_with_complaint, None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(error["error"]["field"], "complaint");

    assert_eq!(app.counts("").await["total"], 0, "a refused request changes nothing");
}

fn task_opened(case_id: Uuid) -> eligibility::VerificationTaskOpened {
    eligibility::VerificationTaskOpened {
        task_id: "vt-0001".into(),
        person_id: Uuid::now_v7().to_string(),
        household_id: Uuid::now_v7().to_string(),
        ground: "inclusion_complaint".into(),
        complaint_case_id: case_id.to_string(),
        held_programmes: vec!["PKH".into()],
        opened_on: "2026-11-23".into(),
        due_on: "2026-12-07".into(),
        summary: "reported: owns two cars".into(),
        ..Default::default()
    }
}

fn task_resolved(case_id: Uuid, outcome: &str) -> eligibility::VerificationTaskResolved {
    eligibility::VerificationTaskResolved {
        task_id: "vt-0001".into(),
        outcome: outcome.into(),
        reason: "two cars registered to him at Samsat".into(),
        actor: "bo-dinsos-3".into(),
        complaint_case_id: case_id.to_string(),
        ended_programmes: vec!["PKH".into()],
        released_programmes: vec![],
        resolved_on: "2026-11-30".into(),
    }
}

#[tokio::test]
async fn a_verification_task_shows_on_the_complaint_and_its_decision_resolves_it() {
    use prost::Message;
    let app = spawn_app().await;
    let case_id = app.created(&inclusion_report()).await;
    app.publish("eligibility", case_id, &task_opened(case_id)).await;
    let case = app.case_after(case_id, 2).await;
    assert_eq!(case["complaint"]["verification_open"], true, "{case:#}");
    assert_eq!(case["complaint"]["verification_task_id"], "vt-0001");
    assert_eq!(case["status"], "open");
    assert_eq!(
        summaries(&case)[1],
        "Eligibility opened verification task vt-0001 (inclusion_complaint), due 2026-12-07; held meanwhile: PKH: \
         reported: owns two cars"
    );
    let (status, error) = app.step(case_id, "close", json!({})).await;
    assert_eq!(status, 422, "{error}");
    assert!(
        error["error"]["message"].as_str().unwrap().contains("verification"),
        "{error}"
    );

    let resolved = task_resolved(case_id, "confirmed");
    let resolved_id = app.publish("eligibility", case_id, &resolved).await;
    let case = app.case_after(case_id, 3).await;
    assert_eq!(case["status"], "resolved", "{case:#}");
    assert_eq!(case["complaint"]["outcome"], "confirmed");
    assert_eq!(case["complaint"]["verification_open"], false);
    assert_eq!(
        summaries(&case)[2],
        "Verification task vt-0001 decided by bo-dinsos-3: confirmed (two cars registered to him at Samsat); ended: PKH"
    );

    // The same event once more (a redelivery, or a copy arriving another way): nothing moves.
    let pool = sqlx::PgPool::connect(&app.database_url).await.unwrap();
    let mut conn = pool.acquire().await.unwrap();
    let opened_again = task_opened(case_id).encode_to_vec();
    let resolved_again = resolved.encode_to_vec();
    for (event_id, event_type, payload) in [
        (
            resolved_id,
            "slrt.eligibility.v1.VerificationTaskResolved",
            &resolved_again,
        ),
        (
            Uuid::now_v7(),
            "slrt.eligibility.v1.VerificationTaskOpened",
            &opened_again,
        ),
    ] {
        slrt_intake::projections::apply(
            &mut conn,
            &slrt_intake::projections::TrackedEvent {
                event_id,
                event_type,
                case_id: Some(case_id),
                occurred_at: chrono::Utc::now(),
                service: "eligibility",
                payload,
                traceparent: None,
            },
        )
        .await
        .unwrap();
    }
    let after = app.case(case_id).await;
    assert_eq!(after["status"], "resolved", "{after:#}");
    assert_eq!(
        after["complaint"]["verification_open"], false,
        "a late copy of the opening does not reopen a decided task"
    );

    let (status, closed) = app
        .step(case_id, "close", json!({"note": "PKH ended after the check"}))
        .await;
    assert_eq!(status, 200, "{closed}");
    assert_eq!(closed["status"], "closed");
    assert_eq!(app.case(case_id).await["complaint"]["outcome"], "confirmed");
}

#[tokio::test]
async fn a_withdrawn_case_withdraws_its_open_needs_and_later_agency_steps_move_nothing() {
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
    app.publish("referral", case_id, &requested(&cash_referral, "routing_table", ""))
        .await;
    app.case_after(case_id, 3).await;

    let (status, answer) = app
        .step(case_id, "withdraw", json!({"reason": "found work in Batang"}))
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["status"], "withdrawn");
    let case = app.case(case_id).await;
    assert_eq!(case["status"], "withdrawn");
    assert!(case["withdrawn_at"].is_string());
    assert_eq!(need_of(&case, cash)["status"], "withdrawn");
    assert_eq!(need_of(&case, school)["status"], "withdrawn");
    assert_eq!(
        summaries(&case).last().unwrap(),
        "The applicant withdrew the case (fo-spv-pekalongan-1): found work in Batang; 2 open need(s) withdrawn"
    );

    // DINSOS accepts before it learns of the withdrawal: history, not news.
    app.publish("referral", case_id, &accepted(&cash_referral)).await;
    let case = app.case_after(case_id, 5).await;
    assert_eq!(need_of(&case, cash)["status"], "withdrawn", "{case:#}");
    assert_eq!(case["status"], "withdrawn");

    for (action, body) in [("withdraw", json!({"reason": "again"})), ("close", json!({}))] {
        let (status, error) = app.step(case_id, action, body).await;
        assert_eq!(status, 422, "{action}: {error}");
        assert_eq!(error["error"]["code"], "rejected");
    }
    assert_eq!(app.case(case_id).await["timeline"].as_array().unwrap().len(), 5);
    assert_eq!(app.ids("status=withdrawn").await, [case_id.to_string()]);
    assert_eq!(app.counts("").await["by_status"]["withdrawn"], 1);
}

#[tokio::test]
async fn a_case_closes_only_once_every_need_is_finished_and_the_refusal_names_the_open_ones() {
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
        ..details(case_id, school, Uuid::now_v7(), "DISDIK", 1)
    };
    app.publish("referral", case_id, &requested(&cash_referral, "routing_table", ""))
        .await;
    app.publish("referral", case_id, &requested(&school_referral, "routing_table", ""))
        .await;
    app.publish("referral", case_id, &completed(&school_referral)).await;
    app.case_after(case_id, 5).await;

    let (status, error) = app.step(case_id, "close", json!({})).await;
    assert_eq!(status, 422, "{error}");
    assert_eq!(error["error"]["field"], "needs");
    let message = error["error"]["message"].as_str().unwrap();
    assert!(
        message.contains(&format!("cash_assistance ({cash}, referred)")),
        "{message}"
    );
    assert!(!message.contains(school), "the resolved need is not named: {message}");

    app.publish("referral", case_id, &completed(&cash_referral)).await;
    let case = app.case_after(case_id, 6).await;
    assert_eq!(case["status"], "resolved");
    let (status, answer) = app
        .step(case_id, "close", json!({"note": "PKH granted, PIP paid"}))
        .await;
    assert_eq!(status, 200, "{answer}");
    let case = app.case(case_id).await;
    assert_eq!(case["status"], "closed");
    assert!(case["closed_at"].is_string());
    assert_eq!(
        summaries(&case).last().unwrap(),
        "The desk closed the case (fo-spv-pekalongan-1): PKH granted, PIP paid"
    );
    assert_eq!(app.ids("status=closed").await, [case_id.to_string()]);
    let counts = app.counts("").await;
    assert_eq!(counts["by_status"]["closed"], 1, "{counts}");
    assert_eq!(counts["by_status"]["resolved"], 0, "{counts}");
    let (status, _) = app.step(case_id, "close", json!({})).await;
    assert_eq!(status, 422, "closing twice");
}

#[tokio::test]
async fn a_question_is_answered_and_closed_and_nothing_else_is_answered() {
    let app = spawn_app().await;
    let asked = app.created(&question()).await;
    let (status, answer) = app
        .step(
            asked,
            "answer",
            json!({"answer": "From 10 December at the post office."}),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["status"], "closed");
    let case = app.case(asked).await;
    assert_eq!(case["complaint"]["outcome"], "answered");
    assert_eq!(
        summaries(&case).last().unwrap(),
        "The desk answered (fo-spv-pekalongan-1): From 10 December at the post office."
    );
    let (status, _) = app.step(asked, "answer", json!({"answer": "again"})).await;
    assert_eq!(status, 422, "answering a closed question");

    for body in [inclusion_report(), application()] {
        let case_id = app.created(&body).await;
        let (status, error) = app.step(case_id, "answer", json!({"answer": "noted"})).await;
        assert_eq!(status, 422, "{error}");
        assert_eq!(error["error"]["field"], "kind");
    }
}

#[tokio::test]
async fn bad_desk_step_input_is_refused_naming_the_field() {
    let app = spawn_app().await;
    let case_id = app.created(&question()).await;
    let cases = [
        ("withdraw", json!({}), 400, "reason"),
        ("withdraw", json!({"reason": "  "}), 400, "reason"),
        ("withdraw", json!({"reason": "x".repeat(4001)}), 400, "reason"),
        // The actor is the caller the token names; a body naming one is refused.
        ("withdraw", json!({"reason": "moved", "actor": "fo-1"}), 400, "actor"),
        ("close", json!({"note": "done", "actor": "spv-1"}), 400, "actor"),
        ("close", json!({"note": "x".repeat(4001)}), 400, "note"),
        ("answer", json!({"answer": ""}), 400, "answer"),
        ("answer", json!({"answer": "x".repeat(4001)}), 400, "answer"),
        ("answer", json!({"answer": "yes", "cc": "x"}), 400, "cc"),
    ];
    for (action, body, status, field) in cases {
        let (got, error) = app.step(case_id, action, body).await;
        assert_eq!(got, status, "{action}: {error}");
        assert_eq!(error["error"]["field"], field, "{action}: {error}");
    }
    let response = app
        .post_json(&format!("/v1/cases/{}/close", Uuid::now_v7()), &json!({}), None)
        .await;
    assert_eq!(response.status(), 404);
    let response = app
        .post_json(
            "/v1/cases/SLRT-3375-2026-999999/withdraw",
            &json!({"reason": "moved"}),
            None,
        )
        .await;
    assert_eq!(response.status(), 404);
    let case = app.case(case_id).await;
    assert_eq!(case["status"], "open");
    assert_eq!(case["timeline"].as_array().unwrap().len(), 1, "nothing was recorded");
}

/// Sends `body` to `path` from several clients at once with one key.
async fn at_once(app: &TestApp, path: &str, body: &Value, key: &str) -> Vec<(u16, Value)> {
    let mut handles = Vec::new();
    for _ in 0..6 {
        let request = app
            .http
            .post(format!("{}{path}", app.base))
            .header("Idempotency-Key", key)
            .json(body);
        handles.push(tokio::spawn(async move {
            let response = request.send().await.unwrap();
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
async fn every_create_answers_a_retry_once_refuses_a_reused_key_and_a_request_in_flight() {
    let app = spawn_app().await;
    let pool = sqlx::PgPool::connect(&app.database_url).await.unwrap();
    let withdrawable = app.created(&application()).await;
    let closable = app.created(&inclusion_report()).await;
    let answerable = app.created(&question()).await;
    let creates: Vec<(String, Value, Value)> = vec![
        ("/v1/cases".into(), question(), exclusion_grievance()),
        (
            format!("/v1/cases/{withdrawable}/withdraw"),
            json!({"reason": "moved to Batang"}),
            json!({"reason": "moved to Kendal"}),
        ),
        (
            format!("/v1/cases/{closable}/close"),
            json!({"note": "nothing found"}),
            json!({}),
        ),
        (
            format!("/v1/cases/{answerable}/answer"),
            json!({"answer": "From 10 December."}),
            json!({"answer": "From 11 December."}),
        ),
    ];
    for (index, (path, body, other_body)) in creates.iter().enumerate() {
        let key = format!("desk-7-{index}");
        let first = app.post_json(path, body, Some(&key)).await;
        let first_status = first.status().as_u16();
        assert!(first_status == 200 || first_status == 201, "{path}: {first_status}");
        let first: Value = first.json().await.unwrap();
        let retry = app.post_json(path, body, Some(&key)).await;
        assert_eq!(retry.status().as_u16(), first_status, "{path}");
        assert_eq!(retry.json::<Value>().await.unwrap(), first, "{path}: the same answer");

        let reused = app.post_json(path, other_body, Some(&key)).await;
        assert_eq!(reused.status(), 422, "{path}");
        let error: Value = reused.json().await.unwrap();
        assert_eq!(error["error"]["code"], "idempotency_key_reused", "{path}");
        assert_eq!(error["error"]["field"], "Idempotency-Key", "{path}");
    }
    // One event per step however often it was sent.
    for case_id in [withdrawable, closable, answerable] {
        assert_eq!(
            app.case(case_id).await["timeline"].as_array().unwrap().len(),
            2,
            "{case_id}"
        );
    }
    assert_eq!(
        app.counts("").await["total"],
        4,
        "one complaint opened by the retried create"
    );

    // A request whose first attempt is still in flight: its claim is made and not answered.
    let in_flight = app.created(&application()).await;
    let body = json!({"reason": "moved"});
    let request: slrt_intake::http::WithdrawRequest = serde_json::from_value(body.clone()).unwrap();
    let hash = slrt_intake::app::idempotency::request_hash(&serde_json::to_value(&request).unwrap());
    sqlx::query("INSERT INTO idempotency_keys (scope, key, request_hash) VALUES ($1, 'desk-7-flight', $2)")
        .bind(format!("POST /v1/cases/{in_flight}/withdraw by {ACTOR}"))
        .bind(hash)
        .execute(&pool)
        .await
        .unwrap();
    let response = app
        .post_json(&format!("/v1/cases/{in_flight}/withdraw"), &body, Some("desk-7-flight"))
        .await;
    assert_eq!(response.status(), 409);
    let error: Value = response.json().await.unwrap();
    assert_eq!(error["error"]["code"], "conflict");
    assert_eq!(app.case(in_flight).await["status"], "open", "nothing was done");

    // Clients racing with one key: one step is recorded, every answer is it or a 409.
    let raced = app.created(&application()).await;
    let results = at_once(
        &app,
        &format!("/v1/cases/{raced}/withdraw"),
        &json!({"reason": "moved"}),
        "desk-7-race",
    )
    .await;
    let mut events = std::collections::HashSet::new();
    for (status, value) in &results {
        match status {
            200 => {
                events.insert(value["event_id"].as_str().unwrap().to_string());
            }
            409 => assert_eq!(value["error"]["code"], "conflict"),
            other => panic!("unexpected {other}: {value}"),
        }
    }
    assert_eq!(events.len(), 1, "{results:?}");
    assert_eq!(app.case(raced).await["timeline"].as_array().unwrap().len(), 2);
}

/// What supervisors see: the lists under several filters, the counts, and every case.
async fn supervisors_view(app: &TestApp, cases: &[Uuid]) -> Vec<Value> {
    let mut answers = Vec::new();
    for query in [
        "",
        "status=referred",
        "status=withdrawn",
        "status=closed",
        "status=resolved",
        "region=33.75.02",
        "opd=DINSOS",
        "programme=PKH",
        "overdue=true",
        "opened_from=2020-01-01",
    ] {
        answers.push(json!({"list": query, "cases": app.list_all(query, 2).await}));
        answers.push(json!({"counts": query, "answer": app.counts(query).await}));
    }
    for case_id in cases {
        answers.push(app.case(*case_id).await);
    }
    answers
}

#[tokio::test]
async fn a_rebuilt_tracker_answers_exactly_as_the_live_one_did() {
    let app = spawn_app().await;
    let s = app.supervised_cases().await;
    let mut cases: Vec<Uuid> = s.all().iter().map(|id| Uuid::parse_str(id).unwrap()).collect();

    let reported = app.created(&inclusion_report()).await;
    app.publish("eligibility", reported, &task_opened(reported)).await;
    app.publish("eligibility", reported, &task_resolved(reported, "rejected"))
        .await;
    app.case_after(reported, 3).await;
    let asked = app.created(&question()).await;
    app.step(asked, "answer", json!({"answer": "From 10 December."})).await;
    let (withdrawn, needs) = app.open_case_for(&["cash_assistance"]).await;
    let referral = details(withdrawn, &needs[0], Uuid::now_v7(), "DINSOS", 1);
    app.publish("referral", withdrawn, &requested(&referral, "routing_table", ""))
        .await;
    app.case_after(withdrawn, 2).await;
    app.step(withdrawn, "withdraw", json!({"reason": "moved"})).await;
    app.publish("referral", withdrawn, &accepted(&referral)).await;
    app.case_after(withdrawn, 4).await;
    let (closed, needs) = app.open_case_for(&["civil_documents"]).await;
    let referral = referral::ReferralDetails {
        category: "civil_documents".into(),
        programme_code: "ADMINDUK".into(),
        ..details(closed, &needs[0], Uuid::now_v7(), "DISDUKCAPIL", 1)
    };
    app.publish(
        "eligibility",
        closed,
        &approved(closed, &[(&needs[0], "civil_documents", "ADMINDUK")]),
    )
    .await;
    app.publish("referral", closed, &requested(&referral, "routing_table", ""))
        .await;
    app.publish("referral", closed, &completed(&referral)).await;
    app.case_after(closed, 4).await;
    let (status, _) = app.step(closed, "close", json!({})).await;
    assert_eq!(status, 200);
    cases.extend([reported, asked, withdrawn, closed]);

    let before = supervisors_view(&app, &cases).await;
    assert_eq!(before[1]["answer"]["total"], 9, "{:#}", before[1]);

    // The read model goes wrong (a lost table, a bad migration): the rebuild restores it.
    let pool = sqlx::PgPool::connect(&app.database_url).await.unwrap();
    sqlx::query("DELETE FROM case_timeline WHERE service <> 'intake'")
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query("UPDATE tracked_needs SET status = 'open', opd_code = NULL, escalation_level = 0")
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query("UPDATE tracked_cases SET status = 'open', withdrawn_at = NULL")
        .execute(&pool)
        .await
        .unwrap();
    assert_ne!(supervisors_view(&app, &cases).await, before, "the damage shows");

    let output = std::process::Command::new(env!("CARGO_BIN_EXE_slrt-intake-rebuild"))
        .args(["--database-url", &app.database_url])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("9 cases"), "{stdout}");

    let after = supervisors_view(&app, &cases).await;
    for (was, is) in before.iter().zip(&after) {
        assert_eq!(was, is);
    }
    assert_eq!(before.len(), after.len());

    // Rebuilding twice gives the same again.
    let report = slrt_intake::app::rebuild::rebuild_projections(&pool).await.unwrap();
    assert_eq!(report.cases, 9);
    assert!(report.other_events >= 15, "{report:?}");
    assert_eq!(supervisors_view(&app, &cases).await, before);
}
