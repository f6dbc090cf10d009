#![expect(clippy::unwrap_used, clippy::expect_used, reason = "tests")]
//! Black-box tests of the eligibility service: the real application on port 0, a fresh
//! database and a unique topic prefix per test, driven by intake's events on the shared
//! broker and read back through its HTTP and gRPC APIs and its own topic. Every call carries
//! a token of the test identity provider, as a deployment's clients' would.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use rdkafka::Message;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::producer::{FutureProducer, FutureRecord};
use serde_json::Value;
use slrt_eligibility::settings::{CATALOGUE_VARIABLE, REGISTRY_SEED_VARIABLE, Settings};
use slrt_eligibility::startup;
use slrt_eventstore::envelope::ReceivedEnvelope;
use slrt_proto::eligibility::v1 as eligibility;
use slrt_proto::eligibility::v1::eligibility_service_client::EligibilityServiceClient;
use slrt_proto::eligibility::v1::evidence_feed_client::EvidenceFeedClient;
use slrt_proto::intake::v1::{Applicant, CaseOpened, Need};
use slrt_settings::SettingsError;
use slrt_testkit::{brokers, eventually, fresh_database_url, unique_prefix};
use tokio::sync::watch;
use tonic::metadata::{Ascii, MetadataValue};
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;
use uuid::Uuid;

#[path = "api/access.rs"]
mod access;
#[path = "api/registry_import.rs"]
mod registry_import;

const SHIPPED_CATALOGUE: &str = include_str!("../data/catalogue/2026.1.toml");
const SHIPPED_REGISTRY_SEED: &str = include_str!("../data/registry_seed.csv");

/// How long the consumer may take to join its group and decide the first case.
const DECIDED_WITHIN: Duration = Duration::from_secs(60);

// People of the shipped registry seed (data/registry_seed.csv).
/// Darto, head of H-000003: desil 3, on no programme.
const DARTO: &str = "3375021501780001";
/// Putri Anggraini, born 2019, child in H-000003.
const PUTRI: &str = "3375026510190001";
/// Slamet, head of H-000001: desil 1, on PKH and BPNT.
const SLAMET: &str = "3375011204810001";
/// Rasmi, parent in H-000005, recorded as deceased; personally on PBI-JK.
const RASMI: &str = "3375034905410001";
/// A valid NIK (Kab. Serang) that is not in the registry.
const OUTSIDER: &str = "3602041211870001";

struct TestApp {
    http: String,
    grpc_addr: String,
    prefix: String,
    client: reqwest::Client,
    stopper: watch::Sender<bool>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        let _ = self.stopper.send(true);
    }
}

/// The settings of `vars`, with the test identity provider's keys beneath them.
fn settings(vars: &[(&str, String)]) -> Result<Settings, SettingsError> {
    let mut env: HashMap<String, String> = slrt_testkit::identity()
        .env()
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    env.extend(vars.iter().map(|(k, v)| (k.to_string(), v.clone())));
    Settings::from_lookup(|name| env.get(name).cloned())
}

/// `Bearer <token>` for `subject` with `roles`, acting within `region` or for agency `opd`.
fn bearer(subject: &str, roles: &[&str], region: Option<&str>, opd: Option<&str>) -> String {
    slrt_testkit::identity().bearer(subject, roles, region, opd)
}

/// Whom most tests act as over HTTP: a coordinator of the whole province (Jawa Tengah, 33),
/// whose area holds every household of the seed, who reads and changes their records.
fn coordinator() -> String {
    bearer("coordinator-33", &["coordinator"], Some("33"), None)
}

/// Intake and disbursement calling over gRPC: this system's own services.
fn service() -> String {
    bearer("service:slrt-test", &["service"], None, None)
}

/// An agency's own system, for `opd`.
fn agency(opd: &str) -> String {
    bearer(&format!("system-{opd}"), &["opd_system"], None, Some(opd))
}

/// An evidence feed of agency `opd`.
fn feed_of(opd: &str) -> String {
    bearer(&format!("feed-{opd}"), &["data_feed"], None, Some(opd))
}

/// The auditors' view of the audit log.
fn auditor() -> String {
    bearer("inspektorat-1", &["auditor"], None, None)
}

/// The NIK token key the service under test keeps: the test identity provider's.
fn nik_tokens() -> slrt_identity::NikTokenizer {
    let env = slrt_testkit::identity().env();
    slrt_auth::settings::nik_tokenizer(|name| {
        env.iter()
            .find(|(variable, _)| *variable == name)
            .map(|(_, value)| value.clone())
    })
    .expect("the test NIK token key")
}

/// How the audit log names the person with `nik`.
fn token_of(nik: &str) -> String {
    nik_tokens().token_of_text(nik)
}

/// A client interceptor adding `authorization: <header>` to every call, as a client of the
/// service would (nothing at all when the header is empty, to test its absence).
#[derive(Clone)]
struct Authorization(Option<MetadataValue<Ascii>>);

impl Authorization {
    fn of(header: &str) -> Self {
        Self((!header.is_empty()).then(|| header.parse().expect("a header is valid metadata")))
    }
}

impl tonic::service::Interceptor for Authorization {
    fn call(&mut self, mut request: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
        if let Some(value) = &self.0 {
            request.metadata_mut().insert("authorization", value.clone());
        }
        Ok(request)
    }
}

type Grpc = EligibilityServiceClient<InterceptedService<Channel, Authorization>>;
type Feed = EvidenceFeedClient<InterceptedService<Channel, Authorization>>;

async fn spawn_app() -> TestApp {
    spawn_app_with(&fresh_database_url().await, &[]).await
}

/// Starts the service on `database_url` with extra settings.
async fn spawn_app_with(database_url: &str, extra: &[(&str, String)]) -> TestApp {
    let prefix = unique_prefix();
    let mut vars = vec![
        ("SLRT_ELIGIBILITY_HTTP_ADDR", "127.0.0.1:0".to_string()),
        ("SLRT_ELIGIBILITY_GRPC_ADDR", "127.0.0.1:0".to_string()),
        ("SLRT_ELIGIBILITY_DATABASE_URL", database_url.to_string()),
        ("SLRT_TOPIC_PREFIX", prefix.clone()),
        ("SLRT_KAFKA_BROKERS", brokers()),
    ];
    vars.extend(slrt_testkit::identity().env());
    vars.extend(extra.iter().cloned());
    let service = startup::build(settings(&vars).expect("valid settings"))
        .await
        .expect("the service starts");
    let app = TestApp {
        http: format!("http://{}", service.http_addr),
        grpc_addr: format!("http://{}", service.grpc_addr),
        prefix,
        client: slrt_testkit::http_client(),
        stopper: service.stopper(),
    };
    tokio::spawn(service.run_until_stopped());
    app
}

impl TestApp {
    /// GET as the province's coordinator.
    async fn get(&self, path: &str) -> (u16, Value) {
        self.get_as(path, &coordinator()).await
    }

    /// GET with `authorization` as the Authorization header; none when empty.
    async fn get_as(&self, path: &str, authorization: &str) -> (u16, Value) {
        let mut request = self.client.get(format!("{}{path}", self.http));
        if !authorization.is_empty() {
            request = request.header("Authorization", authorization);
        }
        let response = request.send().await.expect("HTTP request");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// The gRPC API as this system's own services call it.
    async fn grpc(&self) -> Grpc {
        self.grpc_as(&service()).await
    }

    /// The gRPC API with `authorization` on every call; none when empty.
    async fn grpc_as(&self, authorization: &str) -> Grpc {
        let channel = Channel::from_shared(self.grpc_addr.clone())
            .expect("a gRPC address")
            .connect()
            .await
            .expect("gRPC connection");
        EligibilityServiceClient::with_interceptor(channel, Authorization::of(authorization))
    }

    /// The evidence feed API with `authorization` on every call; none when empty.
    async fn feed_as(&self, authorization: &str) -> Feed {
        let channel = Channel::from_shared(self.grpc_addr.clone())
            .expect("a gRPC address")
            .connect()
            .await
            .expect("gRPC connection");
        EvidenceFeedClient::with_interceptor(channel, Authorization::of(authorization))
    }

    /// The audit log's entries for `action`, oldest first, as an auditor reads them.
    async fn audited(&self, action: &str) -> Vec<Value> {
        self.audit_entries(&format!("action={action}")).await
    }

    /// Every entry of the audit log that `filter` (a query string) matches, oldest first,
    /// read page by page as an auditor.
    async fn audit_entries(&self, filter: &str) -> Vec<Value> {
        let mut entries = Vec::new();
        let mut after = String::new();
        loop {
            let (status, page) = self
                .get_as(&format!("/v1/audit?{filter}&limit=500{after}"), &auditor())
                .await;
            assert_eq!(status, 200, "{page}");
            entries.extend(page["entries"].as_array().cloned().unwrap_or_default());
            match page["next_after"].as_i64() {
                Some(next) => after = format!("&after={next}"),
                None => return entries,
            }
        }
    }

    fn intake_topic(&self) -> String {
        format!("{}slrt.intake.events.v1", self.prefix)
    }

    /// Publishes `opened` as intake would, returning the event id.
    async fn open_case(&self, opened: &CaseOpened) -> Uuid {
        let case_id = Uuid::parse_str(&opened.case_id).unwrap();
        slrt_testkit::publish(&brokers(), &self.intake_topic(), "intake", Some(case_id), opened).await
    }

    /// The case's decision, once it exists.
    async fn decision(&self, case_id: Uuid) -> Value {
        eventually(DECIDED_WITHIN, "the case to be decided", || async move {
            let (status, body) = self.get(&format!("/v1/decisions/{case_id}")).await;
            (status == 200).then_some(body)
        })
        .await
    }

    async fn enrolments(&self, beneficiary_id: &str) -> Vec<Value> {
        let (status, body) = self
            .get(&format!("/v1/beneficiaries/{beneficiary_id}/enrolments"))
            .await;
        assert_eq!(status, 200, "{body}");
        body["enrolments"].as_array().cloned().unwrap_or_default()
    }

    /// Reads this service's own topic from the start until `done` holds for what was read.
    async fn own_events(&self, done: impl Fn(&[ReceivedEnvelope]) -> bool) -> Vec<ReceivedEnvelope> {
        let consumer: StreamConsumer = slrt_messaging::client_config(&brokers())
            .set("group.id", format!("{}test-reader-{}", self.prefix, Uuid::now_v7()))
            .set("auto.offset.reset", "earliest")
            .set("enable.auto.commit", "false")
            .set("fetch.wait.max.ms", "10")
            .create()
            .expect("a test consumer");
        consumer
            .subscribe(&[&format!("{}slrt.eligibility.events.v1", self.prefix)])
            .expect("subscribe");
        let deadline = Instant::now() + DECIDED_WITHIN;
        let mut events = Vec::new();
        while !done(&events) {
            assert!(
                Instant::now() < deadline,
                "timed out reading the eligibility topic; read {events:#?}"
            );
            if let Ok(Ok(message)) = tokio::time::timeout(Duration::from_secs(1), consumer.recv()).await {
                let envelope = slrt_eventstore::decode_envelope(message.payload().unwrap_or_default());
                events.push(envelope.expect("the service publishes envelopes"));
            }
        }
        events
    }
}

fn case_opened(nik: &str, full_name: &str, region_code: &str, categories: &[&str]) -> CaseOpened {
    CaseOpened {
        case_id: Uuid::now_v7().to_string(),
        case_number: "SLRT-3375-2026-000042".to_string(),
        kind: "application".to_string(),
        applicant: Some(Applicant {
            nik: nik.to_string(),
            full_name: full_name.to_string(),
            birth_date: "1978-01-15".to_string(),
            sex: "M".to_string(),
            region_code: region_code.to_string(),
            kk_number: "3375020409120011".to_string(),
        }),
        needs: categories
            .iter()
            .map(|category| Need {
                need_id: Uuid::now_v7().to_string(),
                category: category.to_string(),
                description: String::new(),
            })
            .collect(),
        desk_region_code: region_code.to_string(),
        opened_by: "fo-test".to_string(),
        warnings: vec![],
        screening: None,
        complaint: None,
    }
}

fn case_id(opened: &CaseOpened) -> Uuid {
    Uuid::parse_str(&opened.case_id).unwrap()
}

fn rules(need: &Value) -> Vec<&str> {
    need["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|reason| reason["rule"].as_str().unwrap())
        .collect()
}

fn need<'a>(decision: &'a Value, category: &str) -> &'a Value {
    decision["needs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|need| need["category"] == category)
        .unwrap_or_else(|| panic!("no {category} need in {decision:#}"))
}

#[tokio::test]
async fn a_poor_registry_household_asking_for_cash_gets_pkh_with_its_reasons_and_the_catalogue_version() {
    let app = spawn_app().await;
    let opened = case_opened(DARTO, "Darto", "33.75.02.1004", &["cash_assistance"]);

    app.open_case(&opened).await;
    let decision = app.decision(case_id(&opened)).await;

    // Opened today, so decided under the version in force today.
    assert_eq!(decision["catalogue_version"], "2026.2");
    assert_eq!(decision["applicant"]["person_id"], "P-000009");
    assert_eq!(decision["applicant"]["household_id"], "H-000003");
    assert_eq!(decision["applicant"]["nik_masked"], "3375********0001");
    let cash = need(&decision, "cash_assistance");
    assert_eq!(cash["outcome"], "approved", "{cash:#}");
    assert_eq!(cash["programme"]["code"], "PKH");
    assert_eq!(cash["programme"]["opd"], "DINSOS");
    assert_eq!(cash["benefit"]["kind"], "cash");
    // The component of the youngest child in one of PKH's bands: the SD rate for a child of
    // 7 (born 2019-10-25; SD until 2032), a quarter of Rp900,000 a year.
    assert_eq!(cash["benefit"]["component"], "sd", "{cash:#}");
    assert_eq!(cash["benefit"]["amount_per_period_idr"], 225_000);
    assert_eq!(cash["benefit"]["cadence"], "quarterly");
    assert_eq!(
        cash["beneficiary"],
        serde_json::json!({"kind": "household", "id": "H-000003"})
    );
    assert!(rules(cash).contains(&"PKH.desil"), "{cash:#}");
    let message = &cash["reasons"][0]["message"];
    assert_eq!(message, "The household is in desil 3, within PKH's cut-off of desil 4.");

    let enrolments = app.enrolments("H-000003").await;
    assert_eq!(enrolments.len(), 1, "{enrolments:#?}");
    assert_eq!(enrolments[0]["programme_code"], "PKH");
    assert_eq!(enrolments[0]["status"], "active");
    assert_eq!(enrolments[0]["source"], "decision");
    assert_eq!(enrolments[0]["case_id"], opened.case_id.as_str());
    assert_eq!(
        decision["enrolments_started"][0]["enrolment_id"],
        enrolments[0]["enrolment_id"]
    );
}

#[tokio::test]
async fn school_aid_for_a_child_of_a_registry_household_is_pip_paid_yearly() {
    let app = spawn_app().await;
    let opened = case_opened(PUTRI, "Putri Anggraini", "33.75.02.1004", &["school_aid"]);

    app.open_case(&opened).await;
    let decision = app.decision(case_id(&opened)).await;

    let school = need(&decision, "school_aid");
    assert_eq!(school["programme"]["code"], "PIP", "{school:#}");
    assert_eq!(school["benefit"]["cadence"], "yearly");
    assert_eq!(school["benefit"]["component"], "sd");
    assert_eq!(school["benefit"]["amount_per_period_idr"], 450_000);
    assert_eq!(
        school["beneficiary"],
        serde_json::json!({"kind": "person", "id": "P-000012"})
    );
}

#[tokio::test]
async fn a_deceased_person_is_refused_every_need_with_the_death_as_the_reason() {
    let app = spawn_app().await;
    let opened = case_opened(RASMI, "Rasmi", "33.75.03.1004", &["elderly_care", "civil_documents"]);

    app.open_case(&opened).await;
    let decision = app.decision(case_id(&opened)).await;

    for category in ["elderly_care", "civil_documents"] {
        let refused = need(&decision, category);
        assert_eq!(refused["outcome"], "rejected", "{refused:#}");
        assert_eq!(rules(refused), ["exclusion.deceased"]);
        assert!(refused["programme"].is_null());
    }
    assert_eq!(decision["enrolments_started"], serde_json::json!([]));
}

#[tokio::test]
async fn blt_dd_is_refused_to_a_household_on_pkh_and_bpnt_citing_the_overlap() {
    let app = spawn_app().await;
    let opened = case_opened(SLAMET, "Slamet", "33.75.01.1002", &["cash_assistance"]);

    app.open_case(&opened).await;
    let decision = app.decision(case_id(&opened)).await;

    let cash = need(&decision, "cash_assistance");
    assert_eq!(cash["outcome"], "rejected", "{cash:#}");
    let fired = rules(cash);
    assert!(fired.contains(&"PKH.already_enrolled"), "{fired:?}");
    assert!(fired.contains(&"overlap.BLT-DD.PKH"), "{fired:?}");
    assert!(fired.contains(&"overlap.BLT-DD.BPNT"), "{fired:?}");
    let overlap = cash["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["rule"] == "overlap.BLT-DD.PKH")
        .unwrap();
    assert_eq!(
        overlap["message"],
        "BLT-DD cannot be combined with PKH, which the household (H-000001) already receives."
    );
    let programmes: Vec<Value> = app
        .enrolments("H-000001")
        .await
        .iter()
        .map(|e| e["programme_code"].clone())
        .collect();
    assert!(!programmes.contains(&Value::from("BLT-DD")), "{programmes:?}");
}

#[tokio::test]
async fn someone_outside_the_registry_gets_adminduk_for_documents_but_no_cash() {
    let app = spawn_app().await;
    let opened = case_opened(
        OUTSIDER,
        "Joko Susilo",
        "33.75.01.1002",
        &["civil_documents", "cash_assistance"],
    );

    app.open_case(&opened).await;
    let decision = app.decision(case_id(&opened)).await;

    assert_eq!(decision["applicant"]["in_registry"], false);
    assert_eq!(decision["applicant"]["declared_name"], "Joko Susilo");
    let documents = need(&decision, "civil_documents");
    assert_eq!(documents["outcome"], "approved", "{documents:#}");
    assert_eq!(documents["programme"]["code"], "ADMINDUK");
    assert_eq!(documents["benefit"]["kind"], "service");
    assert!(documents["benefit"]["amount_per_period_idr"].is_null());
    assert_eq!(rules(documents), ["registry.not_required"]);
    let cash = need(&decision, "cash_assistance");
    assert_eq!(cash["outcome"], "rejected");
    assert!(rules(cash).contains(&"registry.unknown_person"), "{cash:#}");
    assert_eq!(decision["enrolments_started"], serde_json::json!([]));
}

/// Puts the same envelope bytes on the topic, as a redelivery after a crash would.
async fn publish_bytes(topic: &str, key: &str, bytes: &[u8]) {
    let producer: FutureProducer = slrt_messaging::client_config(&brokers())
        .create()
        .expect("test producer");
    producer
        .send(FutureRecord::to(topic).key(key).payload(bytes), Duration::from_secs(15))
        .await
        .map_err(|(error, _)| error)
        .expect("publish");
}

fn envelope_of(opened: &CaseOpened, event_id: Uuid) -> Vec<u8> {
    let now = chrono::Utc::now();
    prost::Message::encode_to_vec(&slrt_proto::common::v1::EventEnvelope {
        event_id: event_id.to_string(),
        event_type: "slrt.intake.v1.CaseOpened".to_string(),
        stream_id: format!("case-{}", opened.case_id),
        stream_version: 1,
        case_id: opened.case_id.clone(),
        causation_id: String::new(),
        occurred_at: Some(prost_types::Timestamp {
            seconds: now.timestamp(),
            nanos: 0,
        }),
        source_service: "intake".to_string(),
        global_position: 1,
        payload: prost::Message::encode_to_vec(opened),
    })
}

#[tokio::test]
async fn the_same_case_opened_delivered_twice_is_decided_once_with_one_enrolment() {
    // One partition, so that a case published after the duplicates is decided after them.
    let app = spawn_app_with(
        &fresh_database_url().await,
        &[("SLRT_TOPIC_PARTITIONS", "1".to_string())],
    )
    .await;
    let opened = case_opened(
        DARTO,
        "Darto",
        "33.75.02.1004",
        &["cash_assistance", "health_insurance"],
    );
    let event_id = Uuid::now_v7();
    let bytes = envelope_of(&opened, event_id);

    publish_bytes(&app.intake_topic(), &opened.case_id, &bytes).await;
    publish_bytes(&app.intake_topic(), &opened.case_id, &bytes).await;
    // The same case announced again under a new event id (a re-sent request, say).
    app.open_case(&opened).await;
    let later = case_opened(OUTSIDER, "Joko Susilo", "33.75.01.1002", &["civil_documents"]);
    app.open_case(&later).await;
    app.decision(case_id(&later)).await;

    let decision = app.decision(case_id(&opened)).await;
    assert_eq!(need(&decision, "cash_assistance")["programme"]["code"], "PKH");
    assert_eq!(need(&decision, "health_insurance")["programme"]["code"], "PBI-JK");
    let household = app.enrolments("H-000003").await;
    assert_eq!(household.len(), 1, "{household:#?}");
    let person = app.enrolments("P-000009").await;
    assert_eq!(person.len(), 1, "{person:#?}");

    let events = app
        .own_events(|events| events.iter().any(|e| e.case_id == Some(case_id(&later))))
        .await;
    let of_case: Vec<&ReceivedEnvelope> = events.iter().filter(|e| e.case_id == Some(case_id(&opened))).collect();
    let decided: Vec<&&ReceivedEnvelope> = of_case.iter().filter(|e| e.is::<eligibility::CaseDecided>()).collect();
    let started: Vec<&&ReceivedEnvelope> = of_case
        .iter()
        .filter(|e| e.is::<eligibility::EnrolmentStarted>())
        .collect();
    assert_eq!(decided.len(), 1, "{of_case:#?}");
    assert_eq!(started.len(), 2, "{of_case:#?}");
    assert!(of_case.iter().all(|e| e.causation_id == Some(event_id)), "{of_case:#?}");

    let payload: eligibility::CaseDecided = decided[0].decode().unwrap();
    assert_eq!(payload.case_id, opened.case_id);
    assert_eq!(payload.catalogue_version, "2026.2");
    assert_eq!(payload.person_id, "P-000009");
    assert_eq!(payload.household_id, "H-000003");
    assert_eq!(payload.beneficiary_name, "Darto");
    assert_eq!(payload.applicant_name, "Darto");
    assert_eq!(payload.applicant_nik, DARTO);
    assert_eq!(payload.region_code, "33.75.02.1004");
    let cash = payload
        .decisions
        .iter()
        .find(|d| d.category == "cash_assistance")
        .unwrap();
    assert_eq!(cash.outcome, eligibility::Outcome::Approved as i32);
    assert_eq!(cash.need_id, opened.needs[0].need_id);
    assert_eq!(cash.programme_code, "PKH");
    let benefit = cash.benefit.clone().unwrap();
    assert!(benefit.cash);
    assert_eq!(
        (benefit.amount_per_period_idr, benefit.cadence.as_str()),
        (225_000, "quarterly")
    );
    assert_eq!(benefit.component, "sd");
    assert!(cash.reasons.iter().any(|reason| reason.rule == "PKH.desil"));
    let health = payload
        .decisions
        .iter()
        .find(|d| d.category == "health_insurance")
        .unwrap();
    assert_eq!(health.benefit.clone().map(|b| b.cash), Some(false));

    let mut enrolled: Vec<(String, String, String)> = started
        .iter()
        .map(|e| {
            let started: eligibility::EnrolmentStarted = e.decode().unwrap();
            assert_eq!(started.case_id, opened.case_id);
            assert_eq!(e.stream_id, format!("enrolment-{}", started.enrolment_id));
            (started.programme_code, started.beneficiary_kind, started.beneficiary_id)
        })
        .collect();
    enrolled.sort();
    assert_eq!(
        enrolled,
        [
            ("PBI-JK".to_string(), "person".to_string(), "P-000009".to_string()),
            ("PKH".to_string(), "household".to_string(), "H-000003".to_string()),
        ]
    );
}

#[tokio::test]
async fn screening_a_known_person_shows_their_household_desil_and_programmes() {
    let app = spawn_app().await;

    let screened = app
        .grpc()
        .await
        .screen_person(eligibility::ScreenPersonRequest { nik: SLAMET.into() })
        .await
        .unwrap()
        .into_inner();

    assert!(screened.known_person);
    assert_eq!(screened.person_id, "P-000001");
    assert_eq!(screened.household_id, "H-000001");
    assert_eq!(screened.desil, 1);
    assert!(!screened.deceased);
    assert_eq!(screened.active_programmes, ["BPNT", "PKH"]);

    let deceased = app
        .grpc()
        .await
        .screen_person(eligibility::ScreenPersonRequest { nik: RASMI.into() })
        .await
        .unwrap()
        .into_inner();
    assert!(deceased.deceased);
    assert_eq!(deceased.active_programmes, ["PBI-JK", "PKH"]);
}

#[tokio::test]
async fn screening_an_unknown_person_answers_that_the_registry_does_not_know_them() {
    let app = spawn_app().await;

    let screened = app
        .grpc()
        .await
        .screen_person(eligibility::ScreenPersonRequest { nik: OUTSIDER.into() })
        .await
        .unwrap()
        .into_inner();

    assert_eq!(
        screened,
        eligibility::ScreenPersonResponse {
            known_person: false,
            ..Default::default()
        }
    );
}

#[tokio::test]
async fn screening_an_invalid_nik_is_refused_naming_the_field_without_repeating_the_number() {
    let app = spawn_app().await;

    for (nik, expected) in [
        ("3375021501780000", "nik: NIK serial 0000 is not valid"),
        ("33750215017800", "nik: NIK must have 16 digits, found 14"),
        ("", "nik: a 16-digit NIK is required"),
    ] {
        let status = app
            .grpc()
            .await
            .screen_person(eligibility::ScreenPersonRequest { nik: nik.into() })
            .await
            .unwrap_err();
        assert_eq!(status.code(), tonic::Code::InvalidArgument, "{nik:?}");
        assert_eq!(status.message(), expected);
    }
}

async fn check_payment(
    app: &TestApp,
    programme: &str,
    beneficiary: &str,
) -> Result<(bool, Vec<String>), tonic::Status> {
    let request = eligibility::CheckPaymentEligibilityRequest {
        programme_code: programme.into(),
        beneficiary_id: beneficiary.into(),
    };
    let response = app.grpc().await.check_payment_eligibility(request).await?.into_inner();
    Ok((response.payable, response.reasons))
}

#[tokio::test]
async fn a_payment_is_releasable_for_an_active_enrolment_of_a_living_beneficiary() {
    let app = spawn_app().await;

    assert_eq!(check_payment(&app, "PKH", "H-000001").await.unwrap(), (true, vec![]));
    // Rasmi died, but her household has living members to be paid.
    assert_eq!(check_payment(&app, "PKH", "H-000005").await.unwrap(), (true, vec![]));
}

#[tokio::test]
async fn a_payment_to_a_deceased_beneficiary_is_not_releasable() {
    let app = spawn_app().await;

    let (payable, reasons) = check_payment(&app, "PBI-JK", "P-000018").await.unwrap();

    assert!(!payable);
    assert_eq!(
        reasons,
        ["beneficiary deceased: the registry records P-000018 as deceased"]
    );
}

#[tokio::test]
async fn a_payment_without_an_active_enrolment_is_not_releasable() {
    let app = spawn_app().await;

    assert_eq!(
        check_payment(&app, "BLT-DD", "H-000001").await.unwrap(),
        (false, vec!["no active BLT-DD enrolment for H-000001".to_string()])
    );
    assert_eq!(
        check_payment(&app, "KIS", "H-000001").await.unwrap(),
        (false, vec!["KIS is not a programme in catalogue 2026.2".to_string()])
    );
}

#[tokio::test]
async fn a_payment_check_with_an_empty_or_oversized_field_is_refused_naming_it() {
    let app = spawn_app().await;

    for (programme, beneficiary, field) in [
        ("", "H-000001", "programme_code"),
        ("PKH", "", "beneficiary_id"),
        ("PKH", &"H".repeat(65), "beneficiary_id"),
        (&"P".repeat(33), "H-000001", "programme_code"),
        ("pkh", "H-000001", "programme_code"),
    ] {
        let status = check_payment(&app, programme, beneficiary).await.unwrap_err();
        assert_eq!(
            status.code(),
            tonic::Code::InvalidArgument,
            "{programme:?} {beneficiary:?}"
        );
        assert!(
            status.message().starts_with(&format!("{field}: ")),
            "{}",
            status.message()
        );
    }
}

#[tokio::test]
async fn a_decision_is_404_until_the_case_is_decided_and_a_malformed_case_id_is_400() {
    let app = spawn_app().await;

    let (status, body) = app.get(&format!("/v1/decisions/{}", Uuid::now_v7())).await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(body["error"]["code"], "not_found");

    let (status, body) = app.get("/v1/decisions/not-a-uuid").await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(
        body,
        serde_json::json!({"error": {"code": "invalid_input", "message": "a case id is a UUID", "field": "case_id"}})
    );
}

#[tokio::test]
async fn the_catalogue_is_served_as_data_with_its_version_targeting_and_overlap_rules() {
    let app = spawn_app().await;

    let (status, catalogue) = app.get("/v1/catalogue").await;

    assert_eq!(status, 200);
    assert_eq!(catalogue["version"], "2026.2");
    assert_eq!(catalogue["effective_from"], "2026-07-01");
    assert_eq!(
        catalogue["serves"]["cash_assistance"],
        serde_json::json!(["PKH", "BLT-DD", "BLT-KOTA", "PENA"])
    );
    let programme = |code: &str| {
        catalogue["programmes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["code"] == code)
            .cloned()
            .unwrap()
    };
    let blt_dd = programme("BLT-DD");
    assert_eq!(blt_dd["max_desil"], 4);
    assert_eq!(blt_dd["excludes"], serde_json::json!(["PKH", "BPNT", "BLT-KOTA"]));
    assert_eq!(blt_dd["cash"]["cadence"], "monthly");
    assert_eq!(blt_dd["cash"]["components"][0]["amount_per_period_idr"], 300_000);
    assert_eq!(
        programme("PKH")["excludes"],
        serde_json::json!(["BLT-DD", "PERMAKANAN", "PENA", "BLT-KOTA"])
    );
    assert_eq!(programme("PIP")["cash"]["cadence"], "yearly");
    assert!(programme("ADMINDUK")["cash"].is_null());
    let overlaps: Vec<&str> = catalogue["overlap_rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["rule"].as_str().unwrap())
        .collect();
    assert!(overlaps.contains(&"overlap.BLT-DD.PKH"), "{overlaps:?}");
}

#[tokio::test]
async fn the_registry_enrolments_are_in_the_ledger_and_a_restart_does_not_load_them_again() {
    let database_url = fresh_database_url().await;
    let first = spawn_app_with(&database_url, &[]).await;

    let before = first.enrolments("H-000001").await;
    let programmes: Vec<&str> = before.iter().map(|e| e["programme_code"].as_str().unwrap()).collect();
    assert_eq!(programmes.len(), 2, "{before:#?}");
    assert!(
        programmes.contains(&"PKH") && programmes.contains(&"BPNT"),
        "{programmes:?}"
    );
    assert!(
        before
            .iter()
            .all(|e| e["source"] == "registry" && e["case_id"].is_null()),
        "{before:#?}"
    );
    drop(first);

    let restarted = spawn_app_with(&database_url, &[]).await;
    assert_eq!(restarted.enrolments("H-000001").await, before);
    assert!(
        restarted
            .enrolments("P-000018")
            .await
            .iter()
            .any(|e| e["programme_code"] == "PBI-JK")
    );
}

#[tokio::test]
async fn a_beneficiary_id_with_spaces_is_refused_naming_the_field() {
    let app = spawn_app().await;

    let (status, body) = app.get("/v1/beneficiaries/H%20000001/enrolments").await;

    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["field"], "beneficiary_id");
}

fn temp_file(name: &str, text: &str) -> std::path::PathBuf {
    let path = std::env::temp_dir().join(format!("{}-{name}", Uuid::now_v7()));
    std::fs::write(&path, text).expect("write a temporary file");
    path
}

/// 1-based number of the first line of `text` containing `needle`.
fn line_of(text: &str, needle: &str) -> usize {
    text.lines()
        .position(|line| line.contains(needle))
        .expect("the line is in the file")
        + 1
}

#[tokio::test]
async fn a_bad_catalogue_file_stops_start_up_naming_the_file_and_line() {
    // The first in-kind personal programme in the file is PBI-JK.
    let broken = SHIPPED_CATALOGUE.replacen(
        "benefit = \"in_kind\"\nbeneficiary = \"person\"",
        "benefit = \"voucher\"\nbeneficiary = \"person\"",
        1,
    );
    let line = line_of(&broken, "benefit = \"voucher\"");
    let path = temp_file("catalogue.toml", &broken);

    let error = settings(&[(CATALOGUE_VARIABLE, path.display().to_string())]).unwrap_err();

    assert_eq!(error.variable, CATALOGUE_VARIABLE);
    assert_eq!(
        error.to_string(),
        format!(
            "setting SLRT_ELIGIBILITY_CATALOGUE is invalid: {}: line {line}: programme PBI-JK, field `benefit`: \
             \"voucher\" is not one of cash, in_kind, service",
            path.display()
        )
    );
    let _ = std::fs::remove_file(path);
}

#[tokio::test]
async fn a_bad_registry_file_stops_start_up_naming_the_file_and_line() {
    let broken = SHIPPED_REGISTRY_SEED.replace(",3375024404620001,", ",3375024404620000,");
    let line = line_of(&broken, "3375024404620000");
    let path = temp_file("registry.csv", &broken);

    let error = settings(&[(REGISTRY_SEED_VARIABLE, path.display().to_string())]).unwrap_err();

    assert_eq!(
        error.to_string(),
        format!(
            "setting SLRT_ELIGIBILITY_REGISTRY_SEED is invalid: {}: line {line}, field `nik`: NIK serial 0000 is not valid",
            path.display()
        )
    );
    let _ = std::fs::remove_file(path);
}

#[tokio::test]
async fn health_readiness_and_the_openapi_document_respond() {
    let app = spawn_app().await;

    // The operators' routes need no token.
    let (status, _) = app.get_as("/healthz", "").await;
    assert_eq!(status, 200);
    let (status, ready) = app.get_as("/readyz", "").await;
    assert_eq!(status, 200, "{ready}");
    assert_eq!(ready["service"], "eligibility");
    let (status, openapi) = app.get_as("/openapi.json", "").await;
    assert_eq!(status, 200);
    for path in [
        "/v1/decisions/{case_id}",
        "/v1/catalogue",
        "/v1/beneficiaries/{beneficiary_id}/enrolments",
    ] {
        assert!(openapi["paths"][path]["get"].is_object(), "{path} is not documented");
        assert!(
            openapi["paths"][path]["get"]["responses"]["401"].is_object(),
            "{path} does not document the refused token"
        );
    }
    for (path, method) in [
        ("/v1/decisions/{case_id}", "get"),
        ("/v1/verification-tasks/{task_id}/resolve", "post"),
        ("/v1/reports/violations", "get"),
    ] {
        let responses = &openapi["paths"][path][method]["responses"];
        assert!(responses["403"].is_object(), "{method} {path}: no 403");
    }
    assert!(openapi["components"]["schemas"]["DecisionView"].is_object());
    // Every route is documented as taking the identity provider's bearer token.
    assert_eq!(openapi["components"]["securitySchemes"]["bearer"]["scheme"], "bearer");
    assert_eq!(openapi["security"], serde_json::json!([{"bearer": []}]));
}

#[path = "api/evidence.rs"]
mod evidence;

// --- Catalogue versions, the ledger and its reports ----------------------------------------

#[path = "api/catalogue.rs"]
mod catalogue;
#[path = "api/ledger.rs"]
mod ledger;
#[path = "api/scenario.rs"]
mod scenario;

/// A household of a made-up registry file: its desil, the programmes the file lists for it,
/// and its members' birth dates (the first is the head).
struct TestFamily {
    desil: u8,
    enrolments: &'static str,
    born: Vec<&'static str>,
    /// Families with the same card share a KK number (a card not yet split).
    card: usize,
}

impl TestFamily {
    fn new(desil: u8, born: &[&'static str]) -> Self {
        Self {
            desil,
            enrolments: "",
            born: born.to_vec(),
            card: usize::MAX,
        }
    }
}

/// A registry file of `families`: household `T-H<i>` with people `T-P<i>-<j>`, everyone in
/// Kota Pekalongan with a structurally valid NIK (serials count up) and KK number (one per
/// family unless `card` says otherwise). Returns the file and every member's NIK by family.
fn registry_file(families: &[TestFamily]) -> (String, Vec<Vec<String>>) {
    let mut csv = String::from(
        "person_id,nik,full_name,birth_date,sex,household_id,kk_number,region_code,relationship_to_head,desil,\
         deceased,enrolments\n",
    );
    let mut niks = Vec::new();
    let mut serial = 0;
    for (i, family) in families.iter().enumerate() {
        let card = if family.card == usize::MAX { i } else { family.card };
        let kk = format!("337502010120{:04}", card + 1);
        let mut members = Vec::new();
        for (j, born) in family.born.iter().enumerate() {
            serial += 1;
            let date = chrono::NaiveDate::parse_from_str(born, "%Y-%m-%d").unwrap();
            let nik = format!("337502{}{serial:04}", date.format("%d%m%y"));
            let relationship = if j == 0 { "head" } else { "child" };
            csv.push_str(&format!(
                "T-P{i}-{j},{nik},Warga {i} {j},{born},M,T-H{i},{kk},33.75.02.1004,{relationship},{},false,{}\n",
                family.desil, family.enrolments
            ));
            members.push(nik);
        }
        niks.push(members);
    }
    (csv, niks)
}

/// The service on a fresh database with `families` as its registry.
async fn spawn_app_with_families(families: &[TestFamily]) -> (TestApp, Vec<Vec<String>>) {
    let (csv, niks) = registry_file(families);
    let path = temp_file("registry.csv", &csv);
    let app = spawn_app_with(
        &fresh_database_url().await,
        &[(REGISTRY_SEED_VARIABLE, path.display().to_string())],
    )
    .await;
    (app, niks)
}

impl TestApp {
    /// POST as the province's coordinator.
    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.post_as(path, body, &coordinator()).await
    }

    /// POST with `authorization` as the Authorization header; none when empty.
    async fn post_as(&self, path: &str, body: Value, authorization: &str) -> (u16, Value) {
        let mut request = self.client.post(format!("{}{path}", self.http)).json(&body);
        if !authorization.is_empty() {
            request = request.header("Authorization", authorization);
        }
        let response = request.send().await.expect("HTTP request");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// Reports an external enrolment by NIK, as agency `opd`'s own system would.
    async fn report_external(
        &self,
        programme: &str,
        nik: &str,
        opd: &str,
        reference: &str,
        started_on: &str,
    ) -> Result<eligibility::ReportExternalEnrolmentResponse, tonic::Status> {
        self.grpc_as(&agency(opd))
            .await
            .report_external_enrolment(eligibility::ReportExternalEnrolmentRequest {
                programme_code: programme.into(),
                nik: nik.into(),
                kk_number: String::new(),
                reporting_opd: opd.into(),
                reference: reference.into(),
                started_on: started_on.into(),
            })
            .await
            .map(tonic::Response::into_inner)
    }
}

/// Publishes `opened` as intake would, as if opened at `at`: the decision date is the
/// envelope's time, so this opens a case on a past day.
async fn open_case_at(app: &TestApp, opened: &CaseOpened, at: chrono::DateTime<chrono::Utc>) {
    let envelope = slrt_proto::common::v1::EventEnvelope {
        occurred_at: Some(prost_types::Timestamp {
            seconds: at.timestamp(),
            nanos: 0,
        }),
        ..prost::Message::decode(envelope_of(opened, Uuid::now_v7()).as_slice()).unwrap()
    };
    let bytes = prost::Message::encode_to_vec(&envelope);
    publish_bytes(&app.intake_topic(), &opened.case_id, &bytes).await;
}
