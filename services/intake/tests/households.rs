//! People and households through the HTTP API: registration with a case, KK history,
//! change of head, members joining and leaving, bad input, and the read models rebuilt from
//! the events alone. The real application on port 0, a fresh database, the real broker.

#![expect(clippy::unwrap_used, reason = "tests")]

use std::collections::HashMap;
use std::time::Duration;

use serde_json::{Value, json};
use slrt_intake::settings::Settings;
use slrt_intake::startup;

struct TestApp {
    base: String,
    database_url: String,
    /// Sends the desk and back office's token with every request that names none.
    http: reqwest::Client,
    stop: tokio::sync::watch::Sender<bool>,
}

/// The desk and back office of Kota Pekalongan (`33.75`), where the test families live.
fn back_office() -> String {
    slrt_testkit::identity().bearer(
        "bo-desk-pekalongan-1",
        &["desk_operator", "back_office"],
        Some("33.75"),
        None,
    )
}

/// A test client that sends `authorization` with every request.
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
    let mut env = HashMap::new();
    let database_url = slrt_testkit::fresh_database_url().await;
    env.insert("SLRT_INTAKE_HTTP_ADDR", "127.0.0.1:0".to_string());
    env.insert("SLRT_INTAKE_GRPC_ADDR", "127.0.0.1:0".to_string());
    env.insert("SLRT_INTAKE_DATABASE_URL", database_url.clone());
    env.insert("SLRT_KAFKA_BROKERS", slrt_testkit::brokers());
    env.insert("SLRT_TOPIC_PREFIX", slrt_testkit::unique_prefix());
    env.insert("SLRT_RELAY_POLL_MS", "100".to_string());
    env.insert(
        "SLRT_ELIGIBILITY_GRPC_URL",
        format!("http://127.0.0.1:{}", slrt_testkit::free_port()),
    );
    env.extend(slrt_testkit::identity().env());
    let settings = Settings::from_lookup(|name| env.get(name).cloned()).unwrap();
    let app = startup::build(settings).await.unwrap();
    let base = format!("http://127.0.0.1:{}", app.http_port());
    let stop = app.stopper();
    tokio::spawn(app.run_until_stopped());
    TestApp {
        base,
        database_url,
        http: client_as(&back_office()),
        stop,
    }
}

fn case(nik: &str, name: &str, born: &str, sex: &str, kk: &str) -> Value {
    json!({
        "applicant": {
            "nik": nik, "full_name": name, "birth_date": born, "sex": sex,
            "region_code": "33.75.01.1002", "kk_number": kk
        },
        "needs": [{"category": "cash_assistance"}],
        "desk_region_code": "33.75.01.1002"
    })
}

const FAMILY_KK: &str = "3375011203150004";
const OTHER_KK: &str = "3375011203150005";

/// Slamet, the head; Sumiati, his wife; Rina, their daughter.
fn slamet() -> Value {
    case("3375010705700001", "Slamet", "1970-05-07", "M", FAMILY_KK)
}
fn sumiati() -> Value {
    case("3375015208720002", "Sumiati", "1972-08-12", "F", FAMILY_KK)
}
fn rina() -> Value {
    case("3375016101990001", "Rina Wulandari", "1999-01-21", "F", FAMILY_KK)
}
/// Darto, of another family.
fn darto() -> Value {
    case("3375011501780003", "Darto", "1978-01-15", "M", OTHER_KK)
}

impl TestApp {
    async fn open(&self, body: &Value) -> Value {
        let (status, created) = self.post("/v1/cases", body).await;
        assert_eq!(status, 201, "{created}");
        created
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        let response = self.http.get(format!("{}{path}", self.base)).send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .json(body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn post_keyed(&self, path: &str, key: &str, body: &Value) -> (u16, Value) {
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .header("Idempotency-Key", key)
            .json(body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn household(&self, id: &str) -> Value {
        let (status, household) = self.get(&format!("/v1/households/{id}")).await;
        assert_eq!(status, 200, "{household}");
        household
    }

    async fn person(&self, id: &str) -> Value {
        let (status, person) = self.get(&format!("/v1/people/{id}")).await;
        assert_eq!(status, 200, "{person}");
        person
    }
}

fn ids(created: &Value) -> (String, String) {
    (
        created["person"]["person_id"].as_str().unwrap().to_string(),
        created["person"]["household_id"].as_str().unwrap().to_string(),
    )
}

fn members(household: &Value) -> Vec<(String, String)> {
    household["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["person_id"].as_str().unwrap().to_string(),
                m["relationship"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_case_registers_its_applicant_as_the_head_of_a_new_household_and_family_members_join_it() {
    let app = spawn_app().await;
    let first = app.open(&slamet()).await;
    assert_eq!(first["person"]["new_household"], true);
    let (slamet_id, household_id) = ids(&first);

    let household = app.household(&household_id).await;
    assert_eq!(household["head_person_id"].as_str().unwrap(), slamet_id);
    assert_eq!(household["kk_number_masked"], "3375********0004");
    assert_eq!(members(&household), [(slamet_id.clone(), "head".to_string())]);
    assert_eq!(household["kk_history"].as_array().unwrap().len(), 1);
    assert_eq!(household["kk_history"][0]["reason"], "registered");

    let person = app.person(&slamet_id).await;
    assert_eq!(person["nik_masked"], "3375********0001");
    assert_eq!(person["full_name"], "Slamet");
    assert_eq!(person["status"], "active");
    assert_eq!(person["household_id"].as_str().unwrap(), household_id);
    assert_eq!(person["relationship"], "head");
    assert_eq!(person["cases"][0]["case_id"], first["case_id"]);
    assert_eq!(person["cases"][0]["case_number"], first["case_number"]);
    assert!(!person.to_string().contains("3375010705700001"), "no NIK in clear");

    let wife = app.open(&sumiati()).await;
    assert_eq!(wife["person"]["new_household"], false);
    assert_eq!(ids(&wife).1, household_id, "the same KK: the same household");
    let household = app.household(&household_id).await;
    assert_eq!(
        members(&household),
        [
            (slamet_id.clone(), "head".to_string()),
            (ids(&wife).0, "other".to_string())
        ]
    );
}

#[tokio::test]
async fn a_new_kk_keeps_the_household_and_its_history_and_either_number_finds_it() {
    let app = spawn_app().await;
    let (_, household_id) = ids(&app.open(&slamet()).await);
    let (_, other_household) = ids(&app.open(&darto()).await);

    let (status, moved) = app
        .post(
            &format!("/v1/households/{household_id}/kk"),
            &json!({"kk_number": "3375020409240011", "reason": "move", "effective_on": "2024-09-04"}),
        )
        .await;
    assert_eq!(status, 200, "{moved}");
    assert_eq!(moved["kk_number_masked"], "3375********0011");
    let (status, split) = app
        .post(
            &format!("/v1/households/{household_id}/kk"),
            &json!({"kk_number": "3375021011250002", "reason": "head_death", "effective_on": "2025-11-10"}),
        )
        .await;
    assert_eq!(status, 200, "{split}");
    let history: Vec<(String, String, Value)> = split["kk_history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| {
            (
                entry["kk_number_masked"].as_str().unwrap().to_string(),
                entry["reason"].as_str().unwrap().to_string(),
                entry["effective_on"].clone(),
            )
        })
        .collect();
    assert_eq!(
        history,
        [
            ("3375********0004".to_string(), "registered".to_string(), Value::Null),
            ("3375********0011".to_string(), "move".to_string(), json!("2024-09-04")),
            (
                "3375********0002".to_string(),
                "head_death".to_string(),
                json!("2025-11-10")
            ),
        ]
    );

    // The old card and the new one both lead to the same family.
    let by_old = app.open(&sumiati()).await;
    assert_eq!(ids(&by_old).1, household_id);
    let mut by_new = rina();
    by_new["applicant"]["kk_number"] = json!("3375021011250002");
    assert_eq!(ids(&app.open(&by_new).await).1, household_id);

    let refusals = [
        (
            json!({"kk_number": "3375021011250002", "reason": "correction", "effective_on": "2025-12-01"}),
            422,
            "kk_number",
        ),
        (
            json!({"kk_number": "3375021011250003", "reason": "split", "effective_on": "2025-01-01"}),
            422,
            "effective_on",
        ),
        (
            json!({"kk_number": "3375021011250003", "reason": "split", "effective_on": "2099-01-01"}),
            422,
            "effective_on",
        ),
        (
            json!({"kk_number": OTHER_KK, "reason": "correction", "effective_on": "2025-12-01"}),
            409,
            "kk_number",
        ),
    ];
    for (body, status, field) in refusals {
        let (got, error) = app.post(&format!("/v1/households/{household_id}/kk"), &body).await;
        assert_eq!(got, status, "{body}: {error}");
        assert_eq!(error["error"]["field"], field, "{body}: {error}");
    }
    assert_eq!(
        app.household(&household_id).await["kk_history"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    assert_eq!(
        app.household(&other_household).await["kk_number_masked"],
        "3375********0005"
    );
}

#[tokio::test]
async fn the_head_changes_to_another_member_and_the_previous_head_keeps_a_relationship() {
    let app = spawn_app().await;
    let (slamet_id, household_id) = ids(&app.open(&slamet()).await);
    let (sumiati_id, _) = ids(&app.open(&sumiati()).await);

    let (status, changed) = app
        .post(
            &format!("/v1/households/{household_id}/head"),
            &json!({"person_id": sumiati_id, "reason": "Slamet works in Malaysia; Sumiati heads the family", "previous_head_relationship": "spouse"}),
        )
        .await;
    assert_eq!(status, 200, "{changed}");
    assert_eq!(changed["head_person_id"].as_str().unwrap(), sumiati_id);
    let mut got = members(&changed);
    got.sort();
    let mut want = vec![
        (slamet_id.clone(), "spouse".to_string()),
        (sumiati_id.clone(), "head".to_string()),
    ];
    want.sort();
    assert_eq!(got, want);
    assert_eq!(app.person(&sumiati_id).await["relationship"], "head");
    assert_eq!(app.person(&slamet_id).await["relationship"], "spouse");

    let (status, error) = app
        .post(
            &format!("/v1/households/{household_id}/head"),
            &json!({"person_id": sumiati_id, "reason": "again"}),
        )
        .await;
    assert_eq!(status, 422, "{error}");
    assert_eq!(error["error"]["field"], "person_id");

    let (outsider, _) = ids(&app.open(&darto()).await);
    let (status, error) = app
        .post(
            &format!("/v1/households/{household_id}/head"),
            &json!({"person_id": outsider, "reason": "not a member"}),
        )
        .await;
    assert_eq!(status, 422, "{error}");
    assert_eq!(error["error"]["field"], "person_id");
}

#[tokio::test]
async fn members_leave_and_join_one_household_at_a_time() {
    let app = spawn_app().await;
    let (slamet_id, family) = ids(&app.open(&slamet()).await);
    let (rina_id, _) = ids(&app.open(&rina()).await);
    let (darto_id, darto_family) = ids(&app.open(&darto()).await);

    // Rina marries Darto: she leaves her parents' family and joins his.
    let (status, error) = app
        .post(
            &format!("/v1/households/{darto_family}/members"),
            &json!({"person_id": rina_id, "relationship": "spouse"}),
        )
        .await;
    assert_eq!(status, 422, "still a member of her parents' household: {error}");
    assert_eq!(error["error"]["field"], "person_id");

    let (status, left) = app
        .post(
            &format!("/v1/households/{family}/members/{rina_id}/removal"),
            &json!({"reason": "married Darto"}),
        )
        .await;
    assert_eq!(status, 200, "{left}");
    assert_eq!(members(&left), [(slamet_id.clone(), "head".to_string())]);
    assert!(app.person(&rina_id).await["household_id"].is_null());

    let (status, joined) = app
        .post(
            &format!("/v1/households/{darto_family}/members"),
            &json!({"person_id": rina_id, "relationship": "spouse"}),
        )
        .await;
    assert_eq!(status, 200, "{joined}");
    assert_eq!(
        members(&joined),
        [
            (darto_id.clone(), "head".to_string()),
            (rina_id.clone(), "spouse".to_string())
        ]
    );
    assert_eq!(
        app.person(&rina_id).await["households"][0]["household_id"]
            .as_str()
            .unwrap(),
        darto_family
    );

    let refusals = [
        (
            format!("/v1/households/{darto_family}/members"),
            json!({"person_id": rina_id, "relationship": "child"}),
            "person_id",
        ),
        (
            format!("/v1/households/{darto_family}/members/{darto_id}/removal"),
            json!({"reason": "moved"}),
            "person_id",
        ),
        (
            format!("/v1/households/{family}/members/{darto_id}/removal"),
            json!({"reason": "not here"}),
            "person_id",
        ),
    ];
    for (path, body, field) in refusals {
        let (status, error) = app.post(&path, &body).await;
        assert_eq!(status, 422, "{path}: {error}");
        assert_eq!(error["error"]["field"], field, "{path}: {error}");
    }
    assert_eq!(members(&app.household(&darto_family).await).len(), 2);
}

#[tokio::test]
async fn a_retried_household_change_with_its_idempotency_key_answers_as_the_first_and_changes_nothing_more() {
    let app = spawn_app().await;
    let (slamet_id, family) = ids(&app.open(&slamet()).await);
    let (rina_id, _) = ids(&app.open(&rina()).await);
    let (_, darto_family) = ids(&app.open(&darto()).await);

    let pool = sqlx::PgPool::connect(&app.database_url).await.unwrap();
    let recorded = || {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM es_events WHERE stream_id IN ($1, $2)")
            .bind(format!("household-{family}"))
            .bind(format!("household-{darto_family}"))
            .fetch_one(&pool)
    };
    let before = recorded().await.unwrap();

    // The back office's connection drops after Rina's removal was recorded; the client sends
    // it again with the same key and gets the first answer, not "not a member".
    let removal = format!("/v1/households/{family}/members/{rina_id}/removal");
    let body = json!({"reason": "married Darto"});
    let (status, first) = app.post_keyed(&removal, "removal-rina-1", &body).await;
    assert_eq!(status, 200, "{first}");
    let (status, again) = app.post_keyed(&removal, "removal-rina-1", &body).await;
    assert_eq!((status, &again), (200, &first), "the replay is the first answer");
    let (status, error) = app
        .post_keyed(&removal, "removal-rina-1", &json!({"reason": "another reason"}))
        .await;
    assert_eq!(status, 422, "{error}");
    assert_eq!(error["error"]["code"], "idempotency_key_reused", "{error}");

    let join = format!("/v1/households/{darto_family}/members");
    let body = json!({"person_id": rina_id, "relationship": "spouse"});
    let (status, first) = app.post_keyed(&join, "join-rina-1", &body).await;
    assert_eq!(status, 200, "{first}");
    let (status, again) = app.post_keyed(&join, "join-rina-1", &body).await;
    assert_eq!((status, &again), (200, &first));
    assert_eq!(members(&app.household(&darto_family).await).len(), 2, "she joined once");

    let kk = format!("/v1/households/{family}/kk");
    let body = json!({"kk_number": "3375020409240011", "reason": "split", "effective_on": "2024-09-04"});
    let (status, first) = app.post_keyed(&kk, "kk-1", &body).await;
    assert_eq!(status, 200, "{first}");
    let (status, again) = app.post_keyed(&kk, "kk-1", &body).await;
    assert_eq!((status, &again), (200, &first), "not refused as the same number");
    assert_eq!(app.household(&family).await["kk_history"].as_array().unwrap().len(), 2);

    // A key is the caller's own per operation and target: the same key on another household
    // is another request.
    let head = format!("/v1/households/{family}/head");
    let (status, answer) = app
        .post_keyed(
            &head,
            "kk-1",
            &json!({"person_id": slamet_id, "reason": "already the head"}),
        )
        .await;
    assert_eq!(status, 422, "a fresh request, refused on its merits: {answer}");
    assert_eq!(answer["error"]["code"], "rejected", "{answer}");

    // Only the changes themselves were recorded, each once.
    assert_eq!(recorded().await.unwrap() - before, 3, "a removal, a join and a new KK");
}

#[tokio::test]
async fn bad_input_to_every_people_and_household_endpoint_is_refused_naming_the_field_and_changes_nothing() {
    let app = spawn_app().await;
    let (slamet_id, family) = ids(&app.open(&slamet()).await);
    let before = app.household(&family).await;
    let unknown = "0193a1b2-0000-7000-8000-000000000001";

    for (path, field) in [
        ("/v1/people/42".to_string(), "person_id"),
        ("/v1/households/abc".to_string(), "household_id"),
    ] {
        let (status, error) = app.get(&path).await;
        assert_eq!(status, 400, "{path}");
        assert_eq!(error["error"]["field"], field);
    }
    assert_eq!(app.get(&format!("/v1/people/{unknown}")).await.0, 404);
    assert_eq!(app.get(&format!("/v1/households/{unknown}")).await.0, 404);

    let kk = format!("/v1/households/{family}/kk");
    let head = format!("/v1/households/{family}/head");
    let add = format!("/v1/households/{family}/members");
    let remove = format!("/v1/households/{family}/members/{slamet_id}/removal");
    let good_kk = json!({"kk_number": "3375020409240011", "reason": "move", "effective_on": "2024-09-04"});
    let with = |base: &Value, key: &str, value: Value| {
        let mut body = base.clone();
        body[key] = value;
        body
    };
    let without = |base: &Value, key: &str| {
        let mut body = base.clone();
        body.as_object_mut().unwrap().remove(key);
        body
    };
    let good_head = json!({"person_id": slamet_id, "reason": "r"});
    let good_add = json!({"person_id": slamet_id, "relationship": "child"});
    let good_remove = json!({"reason": "moved"});
    let cases: Vec<(&str, Value, &str)> = vec![
        (&kk, with(&good_kk, "kk_number", json!("123")), "kk_number"),
        (&kk, with(&good_kk, "kk_number", json!("3375011303150000")), "kk_number"),
        (&kk, with(&good_kk, "reason", json!("wedding")), "reason"),
        (&kk, with(&good_kk, "effective_on", json!("04-09-2024")), "effective_on"),
        // The actor is the caller the token names; a body naming one is refused.
        (&kk, with(&good_kk, "actor", json!("bo")), "actor"),
        (&kk, without(&good_kk, "reason"), "reason"),
        (&kk, with(&good_kk, "colour", json!("blue")), "colour"),
        (&head, with(&good_head, "person_id", json!("slamet")), "person_id"),
        (&head, with(&good_head, "reason", json!("")), "reason"),
        (&head, with(&good_head, "reason", json!("x".repeat(1001))), "reason"),
        (
            &head,
            with(&good_head, "previous_head_relationship", json!("boss")),
            "previous_head_relationship",
        ),
        (&add, with(&good_add, "relationship", json!("cousin")), "relationship"),
        (&add, with(&good_add, "person_id", json!(unknown)), "person_id"),
        (&add, with(&good_add, "person_id", json!("x")), "person_id"),
        (&add, with(&good_add, "actor", json!("bo")), "actor"),
        (&remove, with(&good_remove, "reason", json!(" ")), "reason"),
        (&remove, with(&good_remove, "reason", json!("x".repeat(1001))), "reason"),
    ];
    for (path, body, field) in cases {
        let (status, error) = app.post(path, &body).await;
        assert_eq!(status, 400, "{path} {body}: {error}");
        assert_eq!(error["error"]["code"], "invalid_input");
        assert_eq!(error["error"]["field"], field, "{path} {body}: {error}");
    }
    let (status, error) = app
        .post(&format!("/v1/households/{family}/members/nope/removal"), &good_remove)
        .await;
    assert_eq!(status, 400);
    assert_eq!(error["error"]["field"], "person_id");
    let (status, _) = app.post(&format!("/v1/households/{unknown}/kk"), &good_kk).await;
    assert_eq!(status, 404);

    assert_eq!(app.household(&family).await, before, "nothing changed");
}

#[tokio::test]
async fn the_people_read_models_rebuild_from_the_events_alone() {
    let app = spawn_app().await;
    let (slamet_id, family) = ids(&app.open(&slamet()).await);
    let (sumiati_id, _) = ids(&app.open(&sumiati()).await);
    app.open(&darto()).await;
    let copy = app
        .open(&case("3375010705700007", "Selamet", "1970-05-07", "M", FAMILY_KK))
        .await;
    let (status, _) = app
        .post(
            &format!("/v1/households/{family}/kk"),
            &json!({"kk_number": "3375020409240011", "reason": "move", "effective_on": "2024-09-04"}),
        )
        .await;
    assert_eq!(status, 200);
    let (status, _) = app
        .post(
            &format!("/v1/households/{family}/head"),
            &json!({"person_id": sumiati_id, "reason": "r"}),
        )
        .await;
    assert_eq!(status, 200);
    let suspects = copy["person"]["duplicate_suspects"].as_array().unwrap();
    assert_eq!(suspects.len(), 1, "{copy}");
    let duplicate_id = suspects[0]["duplicate_id"].as_str().unwrap();
    let (status, _) = app
        .post(
            &format!("/v1/duplicates/{duplicate_id}/decision"),
            &json!({"decision": "same_person", "survivor_person_id": slamet_id, "reason": "r"}),
        )
        .await;
    assert_eq!(status, 200);
    // Another person, a coordinator, confirms the merge.
    let checker = slrt_testkit::identity().bearer("coordinator-pekalongan-1", &["coordinator"], Some("33.75"), None);
    let confirmed = slrt_testkit::http_client()
        .post(format!("{}/v1/duplicates/{duplicate_id}/confirmation", app.base))
        .header("Authorization", checker)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(confirmed.status(), 200);
    // And a second pair, proposed and rejected, so its rejection is rebuilt too.
    let other = app
        .open(&case("3375011501780004", "Darto", "1978-01-15", "M", OTHER_KK))
        .await;
    let other_pair = other["person"]["duplicate_suspects"][0]["duplicate_id"]
        .as_str()
        .unwrap_or_else(|| panic!("a suspect: {other}"))
        .to_string();
    let (status, _) = app
        .post(
            &format!("/v1/duplicates/{other_pair}/decision"),
            &json!({"decision": "same_person", "survivor_person_id": ids(&other).0, "reason": "r"}),
        )
        .await;
    assert_eq!(status, 200);
    let rejected = slrt_testkit::http_client()
        .post(format!("{}/v1/duplicates/{other_pair}/rejection", app.base))
        .header(
            "Authorization",
            slrt_testkit::identity().bearer("coordinator-pekalongan-1", &["coordinator"], Some("33.75"), None),
        )
        .json(&json!({"reason": "two people"}))
        .send()
        .await
        .unwrap();
    assert_eq!(rejected.status(), 200);

    let before = (
        app.household(&family).await,
        app.person(&slamet_id).await,
        app.person(&ids(&copy).0).await,
        app.get(&format!("/v1/duplicates/{duplicate_id}")).await.1,
        app.get("/v1/duplicates").await.1,
        app.get(&format!("/v1/duplicates/{other_pair}")).await.1,
    );

    let pool = sqlx::PgPool::connect(&app.database_url).await.unwrap();
    let mut events = Vec::new();
    let mut after = slrt_eventstore::Cursor::START;
    loop {
        let page = slrt_eventstore::read_all(&pool, after, 100).await.unwrap();
        let Some(last) = page.last() else { break };
        after = last.cursor;
        events.extend(page);
    }
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM es_events")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(events.len() as i64, stored, "every event read");
    let mut tx = pool.begin().await.unwrap();
    slrt_intake::app::people::clear(&mut tx).await.unwrap();
    slrt_intake::app::people::rebuild(&mut tx, &events).await.unwrap();
    tx.commit().await.unwrap();

    let rebuilt = (
        app.household(&family).await,
        app.person(&slamet_id).await,
        app.person(&ids(&copy).0).await,
        app.get(&format!("/v1/duplicates/{duplicate_id}")).await.1,
        app.get("/v1/duplicates").await.1,
        app.get(&format!("/v1/duplicates/{other_pair}")).await.1,
    );
    assert_eq!(rebuilt, before);
    assert_eq!(before.5["status"], "open", "{}", before.5);
    assert_eq!(before.5["rejected_by"], "coordinator-pekalongan-1");
}

#[tokio::test]
async fn the_openapi_document_lists_the_people_household_and_duplicate_paths_beside_the_cases() {
    let app = spawn_app().await;
    let (status, document) = app.get("/openapi.json").await;
    assert_eq!(status, 200);
    for path in [
        "/v1/cases",
        "/v1/people/check",
        "/v1/people/{person_id}",
        "/v1/households/{household_id}",
        "/v1/households/{household_id}/kk",
        "/v1/households/{household_id}/head",
        "/v1/households/{household_id}/members",
        "/v1/households/{household_id}/members/{person_id}/removal",
        "/v1/duplicates",
        "/v1/duplicates/{duplicate_id}",
        "/v1/duplicates/{duplicate_id}/decision",
        "/v1/duplicates/{duplicate_id}/confirmation",
        "/v1/duplicates/{duplicate_id}/rejection",
    ] {
        assert!(
            document["paths"].get(path).is_some(),
            "{path} missing from the OpenAPI document"
        );
    }
}
