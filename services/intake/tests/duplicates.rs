//! Duplicates caught at the desk and the back office's adjudication queue, through the HTTP
//! API: the real application on port 0, a fresh database, the real broker under a unique
//! topic prefix.

#![expect(clippy::unwrap_used, reason = "tests")]

use std::collections::HashMap;
use std::time::Duration;

use prost::Message;
use rdkafka::consumer::{Consumer, StreamConsumer};
use serde_json::{Value, json};
use slrt_intake::settings::Settings;
use slrt_intake::startup;
use slrt_proto::intake::v1 as proto;

struct TestApp {
    base: String,
    prefix: String,
    /// The service's database, to read its events and audit log.
    db: sqlx::PgPool,
    /// Sends [`ACTOR`]'s token with every request that names no other.
    http: reqwest::Client,
    stop: tokio::sync::watch::Sender<bool>,
}

/// Who the suite acts as unless a test says otherwise: the desk and back office of Kota
/// Pekalongan (`33.75`), where the test people live.
const ACTOR: &str = "bo-desk-pekalongan-1";
const AREA: &str = "33.75";
/// The checker of merges.
const COORDINATOR: &str = "coordinator-pekalongan-1";

fn bearer(subject: &str, roles: &[&str]) -> String {
    slrt_testkit::identity().bearer(subject, roles, Some(AREA), None)
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
    // Nobody listens here: eligibility's pre-screen is unavailable; intake's own duplicate
    // check does not depend on it.
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
        prefix,
        db: sqlx::PgPool::connect(&database_url).await.unwrap(),
        http: client_as(&bearer(ACTOR, &["desk_operator", "back_office"])),
        stop,
    }
}

/// A person as the desk types them.
#[derive(Clone)]
struct Desk {
    nik: &'static str,
    name: &'static str,
    born: &'static str,
    sex: &'static str,
    region: &'static str,
    kk: &'static str,
}

impl Desk {
    fn person(&self) -> Value {
        json!({
            "nik": self.nik, "full_name": self.name, "birth_date": self.born, "sex": self.sex,
            "region_code": self.region, "kk_number": self.kk
        })
    }

    fn case(&self) -> Value {
        json!({
            "applicant": self.person(),
            "needs": [{"category": "cash_assistance"}],
            "desk_region_code": "33.75.01.1002"
        })
    }
}

/// Muhammad Rizki, born 15 March 1990 in Pekalongan Barat, living in Medono.
const RIZKI: Desk = Desk {
    nik: "3375011503900002",
    name: "Muhammad Rizki",
    born: "1990-03-15",
    sex: "M",
    region: "33.75.01.1002",
    kk: "3375011203150004",
};

/// Siti Aminah, born 5 June 1985, in another family of the same village.
const AMINAH: Desk = Desk {
    nik: "3375014506850003",
    name: "Siti Aminah",
    born: "1985-06-05",
    sex: "F",
    region: "33.75.01.1002",
    kk: "3375011203150005",
};

/// Darto, in Pekalongan Timur: shares nothing with the others.
const DARTO: Desk = Desk {
    nik: "3375021501780001",
    name: "Darto",
    born: "1978-01-15",
    sex: "M",
    region: "33.75.02.1004",
    kk: "3375020409120011",
};

impl TestApp {
    /// Opens a case; the answer must be 201.
    async fn open(&self, desk: &Desk) -> Value {
        let response = self
            .http
            .post(format!("{}/v1/cases", self.base))
            .json(&desk.case())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201, "the desk is never blocked");
        response.json().await.unwrap()
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

    async fn queue(&self, query: &str) -> Vec<Value> {
        let (status, page) = self.get(&format!("/v1/duplicates?{query}")).await;
        assert_eq!(status, 200, "{page}");
        page["duplicates"].as_array().unwrap().clone()
    }

    async fn decide(&self, duplicate_id: &str, body: Value) -> (u16, Value) {
        self.post(&format!("/v1/duplicates/{duplicate_id}/decision"), &body)
            .await
    }

    /// Sends `body` to `path` as `authorization`.
    async fn post_as(&self, path: &str, authorization: &str, body: &Value) -> (u16, Value) {
        let response = slrt_testkit::http_client()
            .post(format!("{}{path}", self.base))
            .header("Authorization", authorization)
            .json(body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// The checker's confirmation of a proposed merge.
    async fn confirm(&self, duplicate_id: &str, authorization: &str) -> (u16, Value) {
        self.post_as(
            &format!("/v1/duplicates/{duplicate_id}/confirmation"),
            authorization,
            &json!({"note": "KTP copies compared"}),
        )
        .await
    }

    /// A merge as the SLRT makes one: proposed by the back office, confirmed by a
    /// coordinator; the confirmed pair.
    async fn merge(&self, duplicate_id: &str, survivor: &str, reason: &str) -> Value {
        let (status, proposed) = self
            .decide(
                duplicate_id,
                json!({"decision": "same_person", "survivor_person_id": survivor, "reason": reason}),
            )
            .await;
        assert_eq!(status, 200, "{proposed}");
        assert_eq!(proposed["status"], "merge_proposed", "{proposed}");
        let (status, confirmed) = self.confirm(duplicate_id, &bearer(COORDINATOR, &["coordinator"])).await;
        assert_eq!(status, 200, "{confirmed}");
        confirmed
    }

    /// The types of the events on a pair's stream, in order.
    async fn pair_events(&self, duplicate_id: &str) -> Vec<String> {
        sqlx::query_scalar("SELECT event_type FROM es_events WHERE stream_id = $1 ORDER BY stream_version")
            .bind(format!("duplicate-{duplicate_id}"))
            .fetch_all(&self.db)
            .await
            .unwrap()
    }

    /// (actor, outcome) of the audit log's entries for `action`, oldest first.
    async fn audited(&self, action: &str) -> Vec<(String, String)> {
        sqlx::query_as("SELECT actor, outcome FROM audit_log WHERE action = $1 ORDER BY seq")
            .bind(action)
            .fetch_all(&self.db)
            .await
            .unwrap()
    }
}

fn suspects(created: &Value) -> Vec<Value> {
    created["person"]["duplicate_suspects"].as_array().unwrap().clone()
}

fn person_id(created: &Value) -> String {
    created["person"]["person_id"].as_str().unwrap().to_string()
}

fn names(values: &Value) -> Vec<String> {
    let mut names: Vec<String> = values
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn a_clean_newcomer_gets_no_suspect() {
    let app = spawn_app().await;
    let rizki = app.open(&RIZKI).await;
    assert_eq!(rizki["person"]["new_person"], true);
    assert!(suspects(&rizki).is_empty());
    for desk in [&AMINAH, &DARTO] {
        let created = app.open(desk).await;
        assert_eq!(created["person"]["new_person"], true);
        assert!(suspects(&created).is_empty(), "{created}");
        assert_ne!(person_id(&created), person_id(&rizki));
    }
    assert!(app.queue("").await.is_empty());
}

#[tokio::test]
async fn a_nik_held_by_someone_with_another_name_is_an_exact_suspect_and_the_case_still_opens() {
    let app = spawn_app().await;
    let aminah = app.open(&AMINAH).await;
    let other = Desk {
        name: "Dewi Lestari",
        kk: "3375011203150009",
        ..AMINAH
    };
    let created = app.open(&other).await;
    assert_eq!(created["status"], "open");
    assert_eq!(
        created["person"]["new_person"], true,
        "another person: a record of her own"
    );
    let found = suspects(&created);
    assert_eq!(found.len(), 1, "{created}");
    assert_eq!(found[0]["kind"], "exact");
    assert_eq!(found[0]["reason"], "nik_held_by_another");
    assert_eq!(found[0]["person_id"].as_str().unwrap(), person_id(&aminah));
    assert!(names(&found[0]["differing_fields"]).contains(&"name".to_string()));
    assert!(names(&found[0]["agreeing_fields"]).contains(&"nik".to_string()));
    // The desk sees NIKs masked.
    let nik_field = found[0]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["field"] == "nik")
        .unwrap()
        .clone();
    assert_eq!(nik_field["left"], "3375********0003");
    assert!(!created.to_string().contains(AMINAH.nik));

    let queued = app.queue("status=open&kind=exact").await;
    assert_eq!(queued.len(), 1);
    assert_eq!(queued[0]["duplicate_id"], found[0]["duplicate_id"]);
}

#[tokio::test]
async fn a_nik_held_by_someone_with_another_birth_date_is_an_exact_suspect() {
    let app = spawn_app().await;
    let aminah = app.open(&AMINAH).await;
    let older = Desk {
        born: "1979-02-11",
        kk: "3375011203150009",
        ..AMINAH
    };
    let created = app.open(&older).await;
    let found = suspects(&created);
    assert_eq!(found.len(), 1, "{created}");
    assert_eq!(found[0]["reason"], "nik_held_by_another");
    assert_eq!(found[0]["person_id"].as_str().unwrap(), person_id(&aminah));
    assert!(names(&found[0]["differing_fields"]).contains(&"birth_date".to_string()));
    assert!(names(&found[0]["agreeing_fields"]).contains(&"name".to_string()));
}

#[tokio::test]
async fn a_person_already_in_another_household_is_an_exact_suspect_and_stays_where_they_are() {
    let app = spawn_app().await;
    let first = app.open(&AMINAH).await;
    let elsewhere = Desk {
        kk: "3375011203150009",
        ..AMINAH
    };
    let created = app.open(&elsewhere).await;
    assert_eq!(
        created["person"]["new_person"], false,
        "the same person: her known record"
    );
    assert_eq!(person_id(&created), person_id(&first));
    let found = suspects(&created);
    assert_eq!(found.len(), 1, "{created}");
    assert_eq!(found[0]["kind"], "exact");
    assert_eq!(found[0]["reason"], "member_of_another_household");
    assert_eq!(found[0]["household_id"], first["person"]["household_id"]);

    let declared = created["person"]["household_id"].as_str().unwrap();
    assert_ne!(declared, first["person"]["household_id"].as_str().unwrap());
    let (_, household) = app.get(&format!("/v1/households/{declared}")).await;
    assert!(household["members"].as_array().unwrap().is_empty(), "{household}");

    // Once an adjudicator says she lives there now, she moves.
    let duplicate_id = found[0]["duplicate_id"].as_str().unwrap();
    let decided = app
        .merge(
            duplicate_id,
            &person_id(&first),
            "moved in with her sister, new KK seen",
        )
        .await;
    assert_eq!(decided["status"], "decided", "{decided}");
    let (_, person) = app.get(&format!("/v1/people/{}", person_id(&first))).await;
    assert_eq!(person["household_id"].as_str().unwrap(), declared);
    let (_, old) = app
        .get(&format!(
            "/v1/households/{}",
            first["person"]["household_id"].as_str().unwrap()
        ))
        .await;
    assert!(old["members"].as_array().unwrap().is_empty(), "{old}");
}

#[tokio::test]
async fn a_mistyped_nik_digit_is_a_probable_suspect() {
    let app = spawn_app().await;
    let rizki = app.open(&RIZKI).await;
    let typo = Desk {
        nik: "3375011503900008",
        ..RIZKI
    };
    let created = app.open(&typo).await;
    assert_eq!(created["person"]["new_person"], true);
    let found = suspects(&created);
    assert_eq!(found.len(), 1, "{created}");
    assert_eq!(found[0]["kind"], "probable");
    assert_eq!(found[0]["person_id"].as_str().unwrap(), person_id(&rizki));
    assert!(found[0]["score"].as_f64().unwrap() >= 0.5);
    let nik = found[0]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["field"] == "nik")
        .unwrap()
        .clone();
    assert_eq!(nik["agreement"], "nik.one_digit");
}

#[tokio::test]
async fn transposed_nik_digits_under_a_name_variant_are_a_probable_suspect() {
    let app = spawn_app().await;
    let rizki = app.open(&RIZKI).await;
    let swapped = Desk {
        nik: "3375015103900002",
        name: "M. Rizky",
        ..RIZKI
    };
    let created = app.open(&swapped).await;
    let found = suspects(&created);
    assert_eq!(found.len(), 1, "{created}");
    assert_eq!(found[0]["kind"], "probable");
    assert_eq!(found[0]["person_id"].as_str().unwrap(), person_id(&rizki));
    let nik = found[0]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["field"] == "nik")
        .unwrap()
        .clone();
    assert_eq!(nik["agreement"], "nik.transposed");
}

#[tokio::test]
async fn a_second_nik_under_a_title_is_a_probable_suspect() {
    let app = spawn_app().await;
    let aminah = app.open(&AMINAH).await;
    let second = Desk {
        nik: "3326014506850001",
        name: "Hj. Siti Aminah",
        region: "33.75.02.1004",
        kk: "3375020409120012",
        ..AMINAH
    };
    let created = app.open(&second).await;
    let found = suspects(&created);
    assert_eq!(found.len(), 1, "{created}");
    assert_eq!(found[0]["kind"], "probable");
    assert_eq!(found[0]["person_id"].as_str().unwrap(), person_id(&aminah));
}

#[tokio::test]
async fn name_variants_titles_and_bin_under_the_same_nik_are_the_known_person_not_a_duplicate() {
    let app = spawn_app().await;
    let rizki = app.open(&RIZKI).await;
    for name in [
        "Muhamad Rizki",
        "Moh. Rizki",
        "M. Rizki",
        "H. Muhammad Rizki, S.Pd.",
        "Muhammad Rizki bin Slamet",
    ] {
        let created = app.open(&Desk { name, ..RIZKI }).await;
        assert_eq!(person_id(&created), person_id(&rizki), "{name}");
        assert_eq!(created["person"]["new_person"], false, "{name}");
        assert!(suspects(&created).is_empty(), "{name}: {created}");
    }
    let aminah = app.open(&AMINAH).await;
    let binti = app
        .open(&Desk {
            name: "Siti Aminah binti Slamet",
            ..AMINAH
        })
        .await;
    assert_eq!(person_id(&binti), person_id(&aminah));
    assert!(app.queue("").await.is_empty());

    let (_, person) = app.get(&format!("/v1/people/{}", person_id(&rizki))).await;
    assert_eq!(
        person["cases"].as_array().unwrap().len(),
        6,
        "every case answers under one person"
    );
}

#[tokio::test]
async fn each_suspected_pair_is_queued_once() {
    let app = spawn_app().await;
    app.open(&RIZKI).await;
    let typo = Desk {
        nik: "3375011503900008",
        ..RIZKI
    };
    let first = app.open(&typo).await;
    let again = app.open(&typo).await;
    assert_eq!(person_id(&first), person_id(&again), "the typo record is reused");
    assert_eq!(suspects(&again).len(), 1);
    assert_eq!(suspects(&again)[0]["duplicate_id"], suspects(&first)[0]["duplicate_id"]);
    assert_eq!(app.queue("").await.len(), 1);
}

#[tokio::test]
async fn a_pair_decided_distinct_is_never_suggested_again() {
    let app = spawn_app().await;
    app.open(&RIZKI).await;
    let twin_like = Desk {
        nik: "3375011503900008",
        ..RIZKI
    };
    let created = app.open(&twin_like).await;
    let duplicate_id = suspects(&created)[0]["duplicate_id"].as_str().unwrap().to_string();
    let (status, decided) = app
        .decide(
            &duplicate_id,
            json!({"decision": "distinct", "reason": "two cousins, both KTP seen"}),
        )
        .await;
    assert_eq!(status, 200, "{decided}");
    assert_eq!(decided["status"], "decided");
    assert_eq!(decided["decision"], "distinct");

    let later = app.open(&twin_like).await;
    assert!(suspects(&later).is_empty(), "{later}");
    assert!(app.queue("status=open").await.is_empty());
    assert_eq!(app.queue("status=decided").await.len(), 1);

    let (status, again) = app
        .decide(&duplicate_id, json!({"decision": "distinct", "reason": "again"}))
        .await;
    assert_eq!(status, 409, "{again}");
}

#[tokio::test]
async fn a_merge_keeps_both_histories_and_the_cases_answer_under_the_survivor() {
    let app = spawn_app().await;
    let original = app.open(&RIZKI).await;
    let typo = Desk {
        nik: "3375011503900008",
        name: "Muhamad Rizky",
        ..RIZKI
    };
    let copy = app.open(&typo).await;
    let (survivor, merged) = (person_id(&original), person_id(&copy));
    let household = original["person"]["household_id"].as_str().unwrap().to_string();
    let (_, before) = app.get(&format!("/v1/households/{household}")).await;
    assert_eq!(before["members"].as_array().unwrap().len(), 2, "{before}");

    let duplicate_id = suspects(&copy)[0]["duplicate_id"].as_str().unwrap().to_string();
    let (_, side_by_side) = app.get(&format!("/v1/duplicates/{duplicate_id}")).await;
    assert_eq!(side_by_side["left"]["person_id"].as_str().unwrap(), merged);
    assert_eq!(side_by_side["right"]["person_id"].as_str().unwrap(), survivor);
    assert_eq!(side_by_side["left"]["nik_masked"], "3375********0008");
    assert!(names(&side_by_side["agreeing_fields"]).contains(&"birth_date".to_string()));

    let decided = app
        .merge(&duplicate_id, &survivor, "NIK mistyped at the desk; KTP checked")
        .await;
    assert_eq!(decided["survivor_person_id"].as_str().unwrap(), survivor);

    let (_, gone) = app.get(&format!("/v1/people/{merged}")).await;
    assert_eq!(gone["status"], "merged");
    assert_eq!(gone["merged_into"].as_str().unwrap(), survivor);
    assert_eq!(gone["full_name"], "Muhamad Rizky", "the merged record stays readable");

    let (_, kept) = app.get(&format!("/v1/people/{survivor}")).await;
    assert_eq!(kept["merged_from"], json!([merged]));
    let cases: Vec<&str> = kept["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["case_id"].as_str().unwrap())
        .collect();
    assert_eq!(
        cases,
        [original["case_id"].as_str().unwrap(), copy["case_id"].as_str().unwrap()]
    );
    let history: Vec<(String, String)> = kept["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (
                h["stream_id"].as_str().unwrap().to_string(),
                h["event_type"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        history,
        [
            (
                format!("person-{survivor}"),
                "slrt.intake.v1.PersonRegistered".to_string()
            ),
            (
                format!("person-{merged}"),
                "slrt.intake.v1.PersonRegistered".to_string()
            ),
            (format!("person-{merged}"), "slrt.intake.v1.PeopleMerged".to_string()),
        ]
    );

    let (_, after) = app.get(&format!("/v1/households/{household}")).await;
    let members: Vec<&str> = after["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["person_id"].as_str().unwrap())
        .collect();
    assert_eq!(members, [survivor.as_str()]);

    // The typo at the desk again: the merged record answers under the survivor, and
    // nothing new is queued.
    let third = app.open(&typo).await;
    assert_eq!(person_id(&third), survivor);
    assert!(suspects(&third).is_empty(), "{third}");
    assert!(app.queue("status=open").await.is_empty());
    let (_, kept) = app.get(&format!("/v1/people/{survivor}")).await;
    assert_eq!(kept["cases"].as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn the_queue_filters_by_status_and_kind_in_keyset_pages() {
    let app = spawn_app().await;
    app.open(&RIZKI).await;
    app.open(&AMINAH).await;
    app.open(&Desk {
        nik: "3375011503900008",
        ..RIZKI
    })
    .await;
    app.open(&Desk {
        nik: "3375015103900002",
        name: "M. Rizky",
        kk: "3375011203150007",
        ..RIZKI
    })
    .await;
    app.open(&Desk {
        name: "Dewi Lestari",
        kk: "3375011203150009",
        ..AMINAH
    })
    .await;

    let all = app.queue("").await;
    assert!(all.len() >= 3, "{all:?}");
    let probable = app.queue("kind=probable").await;
    let exact = app.queue("kind=exact").await;
    assert_eq!(probable.len() + exact.len(), all.len());
    assert!(probable.iter().all(|d| d["kind"] == "probable"));
    assert_eq!(exact.len(), 1);

    let mut seen = Vec::new();
    let mut next: Option<String> = None;
    loop {
        let query = match &next {
            Some(cursor) => format!("/v1/duplicates?limit=1&next={cursor}"),
            None => "/v1/duplicates?limit=1".to_string(),
        };
        let (_, page) = app.get(&query).await;
        let entries = page["duplicates"].as_array().unwrap();
        assert!(entries.len() <= 1);
        seen.extend(entries.iter().map(|d| d["duplicate_id"].as_str().unwrap().to_string()));
        match page["next"].as_str() {
            Some(cursor) => next = Some(cursor.to_string()),
            None => break,
        }
    }
    let ids: Vec<String> = all
        .iter()
        .map(|d| d["duplicate_id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(seen, ids, "pages cover the queue once, in order");

    let first = ids[0].clone();
    let (status, _) = app
        .decide(&first, json!({"decision": "distinct", "reason": "checked"}))
        .await;
    assert_eq!(status, 200);
    assert_eq!(app.queue("status=decided").await.len(), 1);
    assert_eq!(app.queue("status=open").await.len(), all.len() - 1);
}

#[tokio::test]
async fn the_desk_pre_screen_answers_known_or_new_with_suspects_and_records_nothing() {
    let app = spawn_app().await;
    let rizki = app.open(&RIZKI).await;

    let (status, known) = app
        .post(
            "/v1/people/check",
            &Desk {
                name: "Moh. Rizki",
                ..RIZKI
            }
            .person(),
        )
        .await;
    assert_eq!(status, 200, "{known}");
    assert_eq!(known["status"], "known");
    assert_eq!(known["person_id"].as_str().unwrap(), person_id(&rizki));
    assert!(known["duplicate_suspects"].as_array().unwrap().is_empty());

    let typo = Desk {
        nik: "3375011503900008",
        ..RIZKI
    };
    let (_, new) = app.post("/v1/people/check", &typo.person()).await;
    assert_eq!(new["status"], "new");
    let found = new["duplicate_suspects"].as_array().unwrap();
    assert_eq!(found.len(), 1, "{new}");
    assert_eq!(found[0]["kind"], "probable");
    assert_eq!(found[0]["person_id"].as_str().unwrap(), person_id(&rizki));

    let (_, clean) = app.post("/v1/people/check", &DARTO.person()).await;
    assert_eq!(clean["status"], "new");
    assert!(clean["duplicate_suspects"].as_array().unwrap().is_empty());
    assert!(clean["household_id"].is_null());

    assert!(app.queue("").await.is_empty(), "a check queues nothing");

    for (field, value) in [
        ("nik", json!("337501150390000")),
        ("full_name", json!("  ")),
        ("birth_date", json!("15/03/1990")),
        ("sex", json!("X")),
        ("region_code", json!("33.75")),
        ("kk_number", json!("3375011203150000")),
    ] {
        let mut body = RIZKI.person();
        body[field] = value;
        let (status, error) = app.post("/v1/people/check", &body).await;
        assert_eq!(status, 400, "{field}");
        assert_eq!(error["error"]["field"], field, "{error}");
    }
    let mut missing = RIZKI.person();
    missing.as_object_mut().unwrap().remove("nik");
    let (status, error) = app.post("/v1/people/check", &missing).await;
    assert_eq!(status, 400);
    assert_eq!(error["error"]["field"], "nik");
}

#[tokio::test]
async fn bad_decisions_and_queue_queries_are_refused_naming_the_field_and_change_nothing() {
    let app = spawn_app().await;
    let rizki = app.open(&RIZKI).await;
    let copy = app
        .open(&Desk {
            nik: "3375011503900008",
            ..RIZKI
        })
        .await;
    let duplicate_id = suspects(&copy)[0]["duplicate_id"].as_str().unwrap().to_string();
    let outsider = person_id(&app.open(&DARTO).await);
    let cases = [
        (json!({"reason": "r"}), "decision"),
        (json!({"decision": "maybe", "reason": "r"}), "decision"),
        (json!({"decision": "same_person", "reason": "r"}), "survivor_person_id"),
        (
            json!({"decision": "same_person", "survivor_person_id": "nope", "reason": "r"}),
            "survivor_person_id",
        ),
        (
            json!({"decision": "same_person", "survivor_person_id": outsider, "reason": "r"}),
            "survivor_person_id",
        ),
        (
            json!({"decision": "distinct", "survivor_person_id": person_id(&rizki), "reason": "r"}),
            "survivor_person_id",
        ),
        (json!({"decision": "distinct"}), "reason"),
        (json!({"decision": "distinct", "reason": "x".repeat(1001)}), "reason"),
        // The adjudicator is the caller the token names; a body naming one is refused.
        (json!({"decision": "distinct", "reason": "r", "actor": "a"}), "actor"),
    ];
    for (body, field) in cases {
        let (status, error) = app.decide(&duplicate_id, body.clone()).await;
        assert_eq!(status, 400, "{body}: {error}");
        assert_eq!(error["error"]["field"], field, "{body}: {error}");
    }
    assert_eq!(app.queue("status=open").await.len(), 1, "nothing was decided");

    let (status, error) = app.decide("not-a-uuid", json!({})).await;
    assert_eq!(status, 400, "{error}");
    assert_eq!(error["error"]["field"], "duplicate_id");
    let (status, _) = app
        .decide(
            "0193a1b2-0000-7000-8000-000000000001",
            json!({"decision": "distinct", "reason": "r"}),
        )
        .await;
    assert_eq!(status, 404);
    let (status, _) = app.get("/v1/duplicates/0193a1b2-0000-7000-8000-000000000001").await;
    assert_eq!(status, 404);

    for (query, field) in [
        ("status=pending", "status"),
        ("kind=fuzzy", "kind"),
        ("limit=0", "limit"),
        ("limit=501", "limit"),
        ("limit=many", "limit"),
        ("next=zzz", "next"),
    ] {
        let (status, error) = app.get(&format!("/v1/duplicates?{query}")).await;
        assert_eq!(status, 400, "{query}");
        assert_eq!(error["error"]["field"], field, "{query}: {error}");
    }
}

#[tokio::test]
async fn case_opened_on_the_log_carries_the_suspects_and_the_person() {
    let app = spawn_app().await;
    app.open(&RIZKI).await;
    let created = app
        .open(&Desk {
            nik: "3375011503900008",
            ..RIZKI
        })
        .await;
    let case_id = created["case_id"].as_str().unwrap().to_string();

    let consumer: StreamConsumer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", slrt_testkit::brokers())
        .set("broker.address.family", "v4")
        .set("group.id", format!("{}reader", app.prefix))
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .set("fetch.wait.max.ms", "10")
        .create()
        .unwrap();
    consumer
        .subscribe(&[&format!("{}slrt.intake.events.v1", app.prefix)])
        .unwrap();
    let opened = tokio::time::timeout(Duration::from_secs(60), async {
        loop {
            let message = consumer.recv().await.unwrap();
            let Some(bytes) = rdkafka::Message::payload(&message) else {
                continue;
            };
            let envelope = slrt_eventstore::decode_envelope(bytes).unwrap();
            if envelope.event_type == "slrt.intake.v1.CaseOpened"
                && envelope.case_id.map(|id| id.to_string()) == Some(case_id.clone())
            {
                return proto::CaseOpened::decode(envelope.payload.as_slice()).unwrap();
            }
        }
    })
    .await
    .expect("CaseOpened on the intake topic");
    let screening = opened.screening.unwrap();
    assert_eq!(screening.person_id, person_id(&created));
    assert_eq!(
        screening.household_id,
        created["person"]["household_id"].as_str().unwrap()
    );
    assert_eq!(screening.duplicate_suspects.len(), 1);
    let suspect = &screening.duplicate_suspects[0];
    assert_eq!(suspect.kind, "probable");
    assert_eq!(
        suspect.duplicate_id,
        suspects(&created)[0]["duplicate_id"].as_str().unwrap()
    );
    assert!(suspect.score >= 0.5);
    assert!(
        suspect
            .fields
            .iter()
            .any(|f| f.field == "nik" && f.agreement == "nik.one_digit")
    );
}

// ---------------------------------------------------------------------------------------
// Maker/checker: one person proposes a merge, another (a coordinator) confirms or rejects it.
// ---------------------------------------------------------------------------------------

/// Rizki and a record of his under a mistyped NIK: the pair's id, the original record and
/// the copy.
async fn rizki_and_a_typo(app: &TestApp) -> (String, String, String) {
    let original = person_id(&app.open(&RIZKI).await);
    let copy = app
        .open(&Desk {
            nik: "3375011503900008",
            ..RIZKI
        })
        .await;
    let duplicate_id = suspects(&copy)[0]["duplicate_id"].as_str().unwrap().to_string();
    (duplicate_id, original, person_id(&copy))
}

#[tokio::test]
async fn a_same_person_decision_only_proposes_the_merge_and_another_coordinator_confirms_it() {
    let app = spawn_app().await;
    let (duplicate_id, original, copy) = rizki_and_a_typo(&app).await;
    // A coordinator may propose too; then another coordinator checks it.
    let proposer = bearer("coordinator-a", &["coordinator"]);
    let (status, proposed) = app
        .post_as(
            &format!("/v1/duplicates/{duplicate_id}/decision"),
            &proposer,
            &json!({"decision": "same_person", "survivor_person_id": original, "reason": "one KTP, NIK mistyped"}),
        )
        .await;
    assert_eq!(status, 200, "{proposed}");
    assert_eq!(proposed["status"], "merge_proposed");
    assert_eq!(proposed["proposed_by"], "coordinator-a");
    assert_eq!(proposed["proposal_reason"], "one KTP, NIK mistyped");
    assert_eq!(proposed["proposed_survivor_person_id"].as_str().unwrap(), original);
    assert!(proposed["proposed_at"].is_string(), "{proposed}");
    assert!(proposed["decided_by"].is_null());
    // Nothing is merged yet.
    let (_, person) = app.get(&format!("/v1/people/{copy}")).await;
    assert_eq!(person["status"], "active");
    assert_eq!(app.queue("status=merge_proposed").await.len(), 1);

    // The proposer cannot check their own proposal, and the back office cannot check at all.
    let (status, refused) = app.confirm(&duplicate_id, &proposer).await;
    assert_eq!(status, 403, "{refused}");
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("you proposed this merge"),
        "{refused}"
    );
    let (status, refused) = app.confirm(&duplicate_id, &bearer(ACTOR, &["back_office"])).await;
    assert_eq!(status, 403, "{refused}");
    assert!(refused["error"]["message"].as_str().unwrap().contains("coordinator"));
    // While it awaits its checker, the pair takes no other decision.
    let (status, _) = app
        .decide(
            &duplicate_id,
            json!({"decision": "distinct", "reason": "changed my mind"}),
        )
        .await;
    assert_eq!(status, 409);
    let (_, person) = app.get(&format!("/v1/people/{copy}")).await;
    assert_eq!(person["status"], "active", "still nothing merged");

    let (status, confirmed) = app
        .confirm(&duplicate_id, &bearer("coordinator-b", &["coordinator"]))
        .await;
    assert_eq!(status, 200, "{confirmed}");
    assert_eq!(confirmed["status"], "decided");
    assert_eq!(confirmed["decision"], "same_person");
    assert_eq!(confirmed["decided_by"], "coordinator-b");
    assert_eq!(confirmed["proposed_by"], "coordinator-a");
    assert_eq!(confirmed["survivor_person_id"].as_str().unwrap(), original);
    let (_, person) = app.get(&format!("/v1/people/{copy}")).await;
    assert_eq!(person["status"], "merged");
    assert_eq!(person["merged_into"].as_str().unwrap(), original);
    let (status, _) = app
        .confirm(&duplicate_id, &bearer("coordinator-c", &["coordinator"]))
        .await;
    assert_eq!(status, 409, "confirmed once");

    assert_eq!(
        app.pair_events(&duplicate_id).await,
        [
            "slrt.intake.v1.DuplicateSuspected",
            "slrt.intake.v1.DuplicateMergeProposed",
            "slrt.intake.v1.DuplicateMergeConfirmed",
            "slrt.intake.v1.DuplicateAdjudicated",
        ]
    );
    let merged: Vec<String> =
        sqlx::query_scalar("SELECT event_type FROM es_events WHERE stream_id = $1 ORDER BY stream_version")
            .bind(format!("person-{copy}"))
            .fetch_all(&app.db)
            .await
            .unwrap();
    assert_eq!(merged.last().map(String::as_str), Some("slrt.intake.v1.PeopleMerged"));
    assert_eq!(
        app.audited("duplicate.propose_merge").await,
        [("coordinator-a".to_string(), "allowed".to_string())]
    );
    assert_eq!(
        app.audited("duplicate.confirm_merge").await,
        [
            ("coordinator-a", "denied"),
            (ACTOR, "denied"),
            ("coordinator-b", "allowed"),
        ]
        .map(|(actor, outcome)| (actor.to_string(), outcome.to_string()))
    );
}

#[tokio::test]
async fn a_rejected_merge_goes_back_to_the_queue_undecided() {
    let app = spawn_app().await;
    let (duplicate_id, _, copy) = rizki_and_a_typo(&app).await;
    let (status, _) = app
        .decide(
            &duplicate_id,
            json!({"decision": "same_person", "survivor_person_id": copy, "reason": "same face"}),
        )
        .await;
    assert_eq!(status, 200);
    let checker = bearer(COORDINATOR, &["coordinator"]);
    let rejection = format!("/v1/duplicates/{duplicate_id}/rejection");
    for (body, field) in [
        (json!({}), "reason"),
        (json!({"reason": "  "}), "reason"),
        (json!({"reason": "x".repeat(1001)}), "reason"),
    ] {
        let (status, error) = app.post_as(&rejection, &checker, &body).await;
        assert_eq!((status, error["error"]["field"].as_str()), (400, Some(field)), "{body}");
    }
    let (status, refused) = app
        .post_as(
            &rejection,
            &bearer(ACTOR, &["back_office", "coordinator"]),
            &json!({"reason": "no"}),
        )
        .await;
    assert_eq!(status, 403, "the proposer does not check their own proposal: {refused}");

    let (status, rejected) = app
        .post_as(
            &rejection,
            &checker,
            &json!({"reason": "the birth dates differ on the KTP copies"}),
        )
        .await;
    assert_eq!(status, 200, "{rejected}");
    assert_eq!(rejected["status"], "open");
    assert_eq!(rejected["rejected_by"], COORDINATOR);
    assert_eq!(rejected["rejection_reason"], "the birth dates differ on the KTP copies");
    assert!(rejected["proposed_by"].is_null(), "{rejected}");
    let (_, person) = app.get(&format!("/v1/people/{copy}")).await;
    assert_eq!(person["status"], "active");
    assert_eq!(app.queue("status=open").await.len(), 1);
    let (status, _) = app.confirm(&duplicate_id, &checker).await;
    assert_eq!(status, 409, "nothing is proposed any more");

    // Back in the queue it takes a decision again: another proposal, or distinct.
    let (status, decided) = app
        .decide(
            &duplicate_id,
            json!({"decision": "distinct", "reason": "brothers, both KTP seen"}),
        )
        .await;
    assert_eq!(status, 200, "{decided}");
    assert_eq!(decided["decision"], "distinct");
    assert_eq!(decided["decided_by"], ACTOR, "distinct stays one person's decision");
    assert_eq!(
        app.pair_events(&duplicate_id).await,
        [
            "slrt.intake.v1.DuplicateSuspected",
            "slrt.intake.v1.DuplicateMergeProposed",
            "slrt.intake.v1.DuplicateMergeRejected",
            "slrt.intake.v1.DuplicateAdjudicated",
        ]
    );
    let rejections = app.audited("duplicate.reject_merge").await;
    assert_eq!(
        rejections.last().unwrap(),
        &(COORDINATOR.to_string(), "allowed".to_string())
    );
}
