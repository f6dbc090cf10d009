//! Black-box tests of the referral service: the real application on port 0, a fresh
//! database and a unique topic prefix per test, the shared broker. Eligibility's decisions
//! are published as eligibility would; agencies act through the gRPC API.

#![expect(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

use std::collections::HashMap;
use std::time::Duration;

use prost::Message as _;
use rdkafka::Message as _;
use rdkafka::consumer::{Consumer, StreamConsumer};
use slrt_proto::eligibility::v1 as eligibility;
use slrt_proto::referral::v1 as referral;
use slrt_proto::referral::v1::opd_referral_service_client::OpdReferralServiceClient;
use slrt_referral::{settings::Settings, startup};
use slrt_testkit::{brokers, eventually, fresh_database_url, unique_prefix};
use sqlx::PgPool;
use tokio::sync::watch;
use tonic::transport::Channel;
use uuid::Uuid;

const WAIT: Duration = Duration::from_secs(60);
const APPLICANT_NIK: &str = "3375014506850003";

struct TestApp {
    database_url: String,
    http: String,
    grpc: String,
    prefix: String,
    db: PgPool,
    stop: watch::Sender<bool>,
    web: reqwest::Client,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

async fn spawn_app() -> TestApp {
    spawn_app_on(fresh_database_url().await, unique_prefix(), false, &[]).await
}

/// The app on an adjustable clock (`PUT /v1/test-clock`), its SLA timers checked often.
async fn spawn_app_with_test_clock() -> TestApp {
    spawn_app_on(fresh_database_url().await, unique_prefix(), true, &[]).await
}

/// The app with `extra` settings.
async fn spawn_app_with_settings(extra: &[(&'static str, String)]) -> TestApp {
    spawn_app_on(fresh_database_url().await, unique_prefix(), false, extra).await
}

async fn spawn_app_on(
    database_url: String,
    prefix: String,
    test_clock: bool,
    extra: &[(&'static str, String)],
) -> TestApp {
    let mut env: HashMap<&str, String> = HashMap::from([
        ("SLRT_REFERRAL_TEST_CLOCK", test_clock.to_string()),
        ("SLRT_REFERRAL_TIMER_POLL_MS", "100".to_string()),
        ("SLRT_REFERRAL_HTTP_ADDR", "127.0.0.1:0".to_string()),
        ("SLRT_REFERRAL_GRPC_ADDR", "127.0.0.1:0".to_string()),
        ("SLRT_REFERRAL_DATABASE_URL", database_url.clone()),
        ("SLRT_TOPIC_PREFIX", prefix.clone()),
        ("SLRT_KAFKA_BROKERS", brokers()),
        ("SLRT_RELAY_POLL_MS", "100".to_string()),
    ]);
    env.extend(slrt_testkit::identity().env());
    env.extend(extra.iter().cloned());
    let settings = Settings::from_lookup(|name| env.get(name).cloned()).expect("settings");
    let service = startup::build(settings).await.expect("referral starts");
    let app = TestApp {
        database_url: database_url.clone(),
        http: format!("http://127.0.0.1:{}", service.http_port()),
        grpc: format!("http://127.0.0.1:{}", service.grpc_port()),
        prefix,
        db: PgPool::connect(&database_url).await.expect("test pool"),
        stop: service.stopper(),
        web: slrt_testkit::http_client(),
    };
    tokio::spawn(service.run_until_stopped());
    app
}

impl TestApp {
    async fn client(&self) -> OpdReferralServiceClient<Channel> {
        OpdReferralServiceClient::connect(self.grpc.clone())
            .await
            .expect("gRPC connects")
    }

    /// Publishes a decision on eligibility's topic, as eligibility would; returns its event id.
    async fn publish(&self, decided: &eligibility::CaseDecided) -> Uuid {
        let topic = format!("{}slrt.eligibility.events.v1", self.prefix);
        let case_id = Uuid::parse_str(&decided.case_id).ok();
        slrt_testkit::publish(&brokers(), &topic, "eligibility", case_id, decided).await
    }

    /// GET as a regency supervisor who also operates the test clock.
    async fn get(&self, path: &str) -> (u16, serde_json::Value) {
        self.get_as(path, &supervisor()).await
    }

    /// GET with `bearer` as the Authorization header; none when empty.
    async fn get_as(&self, path: &str, bearer: &str) -> (u16, serde_json::Value) {
        let mut request = self.web.get(format!("{}{path}", self.http));
        if !bearer.is_empty() {
            request = request.header("Authorization", bearer);
        }
        let response = request.send().await.expect("HTTP answers");
        let status = response.status().as_u16();
        (status, response.json().await.expect("a JSON body"))
    }

    /// The agency's open referrals, once there are at least `count`.
    async fn open_referrals(&self, opd: &str, count: usize) -> Vec<referral::ReferralState> {
        eventually(WAIT, &format!("{count} open referral(s) for {opd}"), || async {
            let request = as_opd(
                opd,
                referral::ListOpenReferralsRequest {
                    limit: 0,
                    ..Default::default()
                },
            );
            let referrals = self
                .client()
                .await
                .list_open_referrals(request)
                .await
                .ok()?
                .into_inner()
                .referrals;
            (referrals.len() >= count).then_some(referrals)
        })
        .await
    }

    /// Routes one approved need of `category` under `programme` and returns its referral id.
    async fn referral_for(&self, opd: &str, category: &str, programme: &str) -> String {
        let decided = case_decided(&[approved(category, programme, None)]);
        self.publish(&decided).await;
        let need_id = decided.decisions[0].need_id.clone();
        let open = eventually(WAIT, "the referral", || async {
            let open = self
                .client()
                .await
                .list_open_referrals(as_opd(
                    opd,
                    referral::ListOpenReferralsRequest {
                        limit: 0,
                        ..Default::default()
                    },
                ))
                .await
                .ok()?;
            open.into_inner()
                .referrals
                .into_iter()
                .find(|r| details(r).need_id == need_id)
        })
        .await;
        details(&open).referral_id
    }

    async fn send(&self, method: reqwest::Method, path: &str, body: serde_json::Value) -> (u16, serde_json::Value) {
        self.send_as(method, path, body, &supervisor()).await
    }

    async fn send_as(
        &self,
        method: reqwest::Method,
        path: &str,
        body: serde_json::Value,
        bearer: &str,
    ) -> (u16, serde_json::Value) {
        let response = self
            .web
            .request(method, format!("{}{path}", self.http))
            .header("Authorization", bearer)
            .json(&body)
            .send()
            .await
            .expect("HTTP answers");
        let status = response.status().as_u16();
        (status, response.json().await.expect("a JSON body"))
    }

    /// Moves the service clock to `now` (RFC 3339).
    async fn set_clock(&self, now: &str) {
        let (status, body) = self
            .send(
                reqwest::Method::PUT,
                "/v1/test-clock",
                serde_json::json!({ "now": now }),
            )
            .await;
        assert_eq!(status, 200, "{body}");
    }

    /// Stops this instance and starts another on the same database and topics.
    async fn restart(self, test_clock: bool) -> TestApp {
        let (database_url, prefix) = (self.database_url.clone(), self.prefix.clone());
        let _ = self.stop.send(true);
        drop(self);
        tokio::time::sleep(Duration::from_millis(500)).await;
        spawn_app_on(database_url, prefix, test_clock, &[]).await
    }

    /// The referral as supervisors see it, once `check` holds.
    async fn referral_when(
        &self,
        id: &str,
        what: &str,
        check: impl Fn(&serde_json::Value) -> bool,
    ) -> serde_json::Value {
        eventually(WAIT, what, || async {
            let (status, body) = self.get(&format!("/v1/referrals/{id}")).await;
            (status == 200 && check(&body)).then_some(body)
        })
        .await
    }

    async fn count(&self, sql: &'static str, bind: &str) -> i64 {
        sqlx::query_scalar(sql).bind(bind).fetch_one(&self.db).await.unwrap()
    }
}

/// The request as an officer of agency `opd` sends it, with a token naming the agency.
fn as_opd<T>(opd: &str, message: T) -> tonic::Request<T> {
    let token = slrt_testkit::identity().token(&format!("officer-{opd}"), &["opd_officer"], None, Some(opd));
    let mut request = tonic::Request::new(message);
    request
        .metadata_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    request
}

/// The regency's (Kota Semarang, 33.74 / 33.75) supervisor, who also operates the test clock.
fn supervisor() -> String {
    slrt_testkit::identity().bearer("supervisor-33", &["supervisor", "administrator"], Some("33"), None)
}

fn details(state: &referral::ReferralState) -> referral::ReferralDetails {
    state.details.clone().expect("a referral carries its details")
}

fn approved(category: &str, programme: &str, benefit: Option<eligibility::Benefit>) -> eligibility::NeedDecision {
    eligibility::NeedDecision {
        need_id: Uuid::now_v7().to_string(),
        category: category.to_string(),
        outcome: eligibility::Outcome::Approved as i32,
        programme_code: programme.to_string(),
        programme_name: programme.to_string(),
        benefit,
        reasons: vec![eligibility::Reason {
            rule: format!("{programme}.desil"),
            message: "desil 1".into(),
        }],
    }
}

fn rejected(category: &str) -> eligibility::NeedDecision {
    eligibility::NeedDecision {
        need_id: Uuid::now_v7().to_string(),
        category: category.to_string(),
        outcome: eligibility::Outcome::Rejected as i32,
        reasons: vec![eligibility::Reason {
            rule: "overlap".into(),
            message: "already enrolled".into(),
        }],
        ..Default::default()
    }
}

fn pkh_benefit() -> Option<eligibility::Benefit> {
    Some(eligibility::Benefit {
        cash: true,
        amount_per_period_idr: 750_000,
        cadence: "quarterly".into(),
        component: "base".into(),
    })
}

fn case_decided(decisions: &[eligibility::NeedDecision]) -> eligibility::CaseDecided {
    eligibility::CaseDecided {
        case_id: Uuid::now_v7().to_string(),
        catalogue_version: "2026.1".into(),
        person_id: "p-3375-0001".into(),
        household_id: "hh-3375-0042".into(),
        beneficiary_name: "Siti Aminah".into(),
        decisions: decisions.to_vec(),
        applicant_name: "Siti Aminah".into(),
        applicant_nik: APPLICANT_NIK.into(),
        region_code: "33.75.01.1002".into(),
        ..Default::default()
    }
}

async fn next_update(stream: &mut tonic::Streaming<referral::ReferralUpdate>) -> referral::ReferralUpdate {
    tokio::time::timeout(WAIT, stream.message())
        .await
        .expect("an update within the wait")
        .expect("the stream stays healthy")
        .expect("the stream stays open")
}

async fn watch(app: &TestApp, opd: &str, after: &str) -> tonic::Streaming<referral::ReferralUpdate> {
    let request = as_opd(
        opd,
        referral::WatchReferralsRequest {
            after_cursor: after.to_string(),
        },
    );
    app.client()
        .await
        .watch_referrals(request)
        .await
        .expect("the watch opens")
        .into_inner()
}

fn acknowledge(id: &str) -> referral::AcknowledgeRequest {
    referral::AcknowledgeRequest {
        referral_id: id.to_string(),
        actor: "petugas.1".into(),
    }
}

fn accept(id: &str) -> referral::AcceptRequest {
    referral::AcceptRequest {
        referral_id: id.to_string(),
        actor: "petugas.1".into(),
        note: "home visit Monday".into(),
    }
}

fn complete(id: &str, successful: bool, outcome_code: &str) -> referral::CompleteRequest {
    referral::CompleteRequest {
        referral_id: id.to_string(),
        actor: "petugas.1".into(),
        successful,
        outcome_code: outcome_code.into(),
        note: String::new(),
    }
}

#[tokio::test]
async fn an_approved_need_becomes_a_referral_its_opd_sees_in_its_list_and_its_watch() {
    let app = spawn_app().await;
    let decided = case_decided(&[
        approved("cash_assistance", "PKH", pkh_benefit()),
        rejected("housing_repair"),
    ]);
    let decision_event = app.publish(&decided).await;

    let open = app.open_referrals("DINSOS", 1).await;
    assert_eq!(open.len(), 1, "one approved need, one referral");
    let d = details(&open[0]);
    assert_eq!(open[0].status, "requested");
    assert_eq!(
        (d.case_id.as_str(), d.need_id.as_str()),
        (decided.case_id.as_str(), decided.decisions[0].need_id.as_str())
    );
    assert_eq!(
        (d.opd_code.as_str(), d.service.as_str()),
        ("DINSOS", "Program Keluarga Harapan (PKH)")
    );
    assert_eq!(
        (d.client_name.as_str(), d.client_nik.as_str()),
        ("Siti Aminah", APPLICANT_NIK)
    );
    assert_eq!(
        (d.region_code.as_str(), d.beneficiary_id.as_str()),
        ("33.75.01.1002", "hh-3375-0042")
    );
    assert_eq!(
        (d.cash, d.amount_per_period_idr, d.cadence.as_str()),
        (true, 750_000, "quarterly")
    );

    let mut updates = watch(&app, "DINSOS", "").await;
    let first = next_update(&mut updates).await;
    assert_eq!(first.event_type, "slrt.referral.v1.ReferralRequested");
    assert_eq!(details(first.referral.as_ref().unwrap()).referral_id, d.referral_id);
    assert!(
        first.cursor.parse::<slrt_eventstore::Cursor>().is_ok(),
        "cursor {:?}",
        first.cursor
    );

    // The rejected need is neither referred nor reported unrouted.
    let (_, unrouted) = app.get("/v1/unrouted").await;
    assert_eq!(unrouted["unrouted"], serde_json::json!([]));
    let causes: i64 = sqlx::query_scalar("SELECT count(*) FROM es_events WHERE causation_id = $1")
        .bind(decision_event)
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(causes, 1, "the referral is caused by the decision");
}

#[tokio::test]
async fn an_opd_acknowledges_accepts_and_completes_its_referral() {
    let app = spawn_app().await;
    let id = app.referral_for("DINSOS", "cash_assistance", "PKH").await;
    let mut client = app.client().await;

    let acknowledged = client
        .acknowledge(as_opd("DINSOS", acknowledge(&id)))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(acknowledged.status, "acknowledged");
    let accepted = client.accept(as_opd("DINSOS", accept(&id))).await.unwrap().into_inner();
    assert_eq!(accepted.status, "accepted");
    let completed = client
        .complete(as_opd("DINSOS", complete(&id, true, "")))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(completed.status, "completed");

    let (status, body) = app.get(&format!("/v1/referrals/{id}")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "completed");
    assert_eq!(body["successful"], true);
    assert_eq!(body["last_actor"], "officer-DINSOS", "the officer the token names");
    assert_eq!(body["note"], "home visit Monday");
    assert_eq!(
        body["client"]["nik_masked"], "3375********0003",
        "supervisors see the NIK masked"
    );
    assert!(!body.to_string().contains(APPLICANT_NIK));

    let open = client
        .list_open_referrals(as_opd(
            "DINSOS",
            referral::ListOpenReferralsRequest {
                limit: 0,
                ..Default::default()
            },
        ))
        .await
        .unwrap();
    assert!(
        open.into_inner().referrals.is_empty(),
        "a completed referral is no longer open"
    );
}

#[tokio::test]
async fn rejecting_a_referral_requires_a_reason() {
    let app = spawn_app().await;
    let id = app.referral_for("DINSOS", "cash_assistance", "PKH").await;
    let mut client = app.client().await;

    let request = referral::RejectRequest {
        referral_id: id.clone(),
        actor: "petugas.1".into(),
        reason: "  ".into(),
    };
    let refused = client.reject(as_opd("DINSOS", request)).await.unwrap_err();
    assert_eq!(refused.code(), tonic::Code::InvalidArgument);
    assert_eq!(refused.message(), "reason: a reason is required to reject a referral");

    let request = referral::RejectRequest {
        referral_id: id.clone(),
        actor: "petugas.1".into(),
        reason: "client lives outside our area".into(),
    };
    let rejected = client.reject(as_opd("DINSOS", request)).await.unwrap().into_inner();
    assert_eq!(rejected.status, "rejected");
    let (_, body) = app.get(&format!("/v1/referrals/{id}")).await;
    assert_eq!(body["rejection_reason"], "client lives outside our area");
}

#[tokio::test]
async fn an_illegal_transition_is_refused_with_the_domains_sentence_and_changes_nothing() {
    let app = spawn_app().await;
    let id = app.referral_for("DINSOS", "cash_assistance", "PKH").await;
    let mut client = app.client().await;

    let refused = client
        .complete(as_opd("DINSOS", complete(&id, true, "")))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), tonic::Code::FailedPrecondition);
    assert_eq!(
        refused.message(),
        "referral is requested but not yet accepted; it cannot be completed"
    );

    let refused = client
        .complete(as_opd("DINSOS", complete(&id, false, "")))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), tonic::Code::InvalidArgument);
    assert!(
        refused
            .message()
            .starts_with("outcome_code: an outcome code is required"),
        "{}",
        refused.message()
    );

    let (_, body) = app.get(&format!("/v1/referrals/{id}")).await;
    assert_eq!(body["status"], "requested");
    assert_eq!(
        app.count(
            "SELECT count(*) FROM es_events WHERE stream_id = $1",
            &format!("referral-{id}")
        )
        .await,
        1
    );
}

#[tokio::test]
async fn another_opd_gets_not_found_and_does_not_see_the_referral_in_its_stream() {
    let app = spawn_app().await;
    let decided = case_decided(&[
        approved("cash_assistance", "PKH", pkh_benefit()),
        approved("health_insurance", "PBI-JK", None),
    ]);
    app.publish(&decided).await;
    let dinsos = details(&app.open_referrals("DINSOS", 1).await[0]).referral_id;
    let dinkes = details(&app.open_referrals("DINKES", 1).await[0]).referral_id;
    let mut client = app.client().await;

    let foreign = client.accept(as_opd("DINKES", accept(&dinsos))).await.unwrap_err();
    assert_eq!(foreign.code(), tonic::Code::NotFound);
    assert_eq!(foreign.message(), format!("referral {dinsos} not found"));
    let nowhere = Uuid::now_v7().to_string();
    let missing = client.accept(as_opd("DINKES", accept(&nowhere))).await.unwrap_err();
    assert_eq!(
        (missing.code(), missing.message()),
        (tonic::Code::NotFound, format!("referral {nowhere} not found").as_str())
    );

    let listed = client
        .list_open_referrals(as_opd(
            "DINKES",
            referral::ListOpenReferralsRequest {
                limit: 0,
                ..Default::default()
            },
        ))
        .await
        .unwrap();
    let ids: Vec<String> = listed
        .into_inner()
        .referrals
        .iter()
        .map(|r| details(r).referral_id)
        .collect();
    assert_eq!(ids, vec![dinkes.as_str()]);

    // Both referrals were requested in one transaction; the DINKES watch gets only its own,
    // and a change to the DINSOS referral in between does not reach it either.
    let mut updates = watch(&app, "DINKES", "").await;
    let first = next_update(&mut updates).await;
    assert_eq!(details(first.referral.as_ref().unwrap()).referral_id, dinkes);
    client.accept(as_opd("DINSOS", accept(&dinsos))).await.unwrap();
    client
        .acknowledge(as_opd("DINKES", acknowledge(&dinkes)))
        .await
        .unwrap();
    let second = next_update(&mut updates).await;
    assert_eq!(second.event_type, "slrt.referral.v1.ReferralAcknowledged");
    assert_eq!(details(second.referral.as_ref().unwrap()).referral_id, dinkes);
}

#[tokio::test]
async fn a_caller_without_a_known_agency_code_is_unauthenticated() {
    let app = spawn_app().await;
    let mut client = app.client().await;
    let anonymous = client
        .list_open_referrals(referral::ListOpenReferralsRequest {
            limit: 0,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(anonymous.code(), tonic::Code::Unauthenticated);
    assert!(
        anonymous.message().starts_with("authorization: "),
        "{}",
        anonymous.message()
    );
    for opd in ["DINAS_X", "dinsos"] {
        let refused = client
            .list_open_referrals(as_opd(
                opd,
                referral::ListOpenReferralsRequest {
                    limit: 0,
                    ..Default::default()
                },
            ))
            .await
            .unwrap_err();
        assert_eq!(refused.code(), tonic::Code::Unauthenticated, "{opd}");
        assert!(refused.message().contains(opd), "{}", refused.message());
    }
    // An agency no rule routes to yet may still connect.
    client
        .list_open_referrals(as_opd(
            "KEMENAG",
            referral::ListOpenReferralsRequest {
                limit: 0,
                ..Default::default()
            },
        ))
        .await
        .unwrap();
}

#[tokio::test]
async fn a_repeated_accept_answers_the_same_state_and_records_nothing_new() {
    let app = spawn_app().await;
    let id = app.referral_for("DINSOS", "cash_assistance", "PKH").await;
    let mut client = app.client().await;

    let first = client.accept(as_opd("DINSOS", accept(&id))).await.unwrap().into_inner();
    let again = client.accept(as_opd("DINSOS", accept(&id))).await.unwrap().into_inner();
    assert_eq!(first, again);
    assert_eq!(
        app.count(
            "SELECT count(*) FROM es_events WHERE stream_id = $1",
            &format!("referral-{id}")
        )
        .await,
        2
    );

    // The accepted event carries the whole referral: disbursement acts on it alone.
    let payload: Vec<u8> = sqlx::query_scalar(
        "SELECT payload FROM es_events WHERE stream_id = $1 AND event_type = 'slrt.referral.v1.ReferralAccepted'",
    )
    .bind(format!("referral-{id}"))
    .fetch_one(&app.db)
    .await
    .unwrap();
    let accepted = referral::ReferralAccepted::decode(payload.as_slice()).unwrap();
    assert_eq!(accepted.referral, first.details);
    assert_eq!(accepted.actor, "officer-DINSOS");
}

#[tokio::test]
async fn the_same_case_decided_delivered_twice_makes_one_referral() {
    let app = spawn_app().await;
    let decided = case_decided(&[
        approved("cash_assistance", "PKH", pkh_benefit()),
        approved("pet_care", "", None),
    ]);
    let first = app.publish(&decided).await;
    let second = app.publish(&decided).await;
    assert_ne!(first, second, "two deliveries under different event ids");

    eventually(WAIT, "both deliveries to be processed", || async {
        let processed: i64 = sqlx::query_scalar("SELECT count(*) FROM es_inbox WHERE consumer = 'router'")
            .fetch_one(&app.db)
            .await
            .ok()?;
        (processed == 2).then_some(())
    })
    .await;
    assert_eq!(
        app.count(
            "SELECT count(*) FROM referrals WHERE case_id::text = $1",
            &decided.case_id
        )
        .await,
        1
    );
    assert_eq!(
        app.count(
            "SELECT count(*) FROM unrouted_needs WHERE case_id::text = $1",
            &decided.case_id
        )
        .await,
        1
    );
    assert_eq!(
        app.count(
            "SELECT count(*) FROM es_events WHERE case_id::text = $1",
            &decided.case_id
        )
        .await,
        2
    );
}

#[tokio::test]
async fn an_unroutable_need_appears_in_the_unrouted_list() {
    let app = spawn_app().await;
    let decided = case_decided(&[approved("pet_care", "", None)]);
    app.publish(&decided).await;

    let unrouted = eventually(WAIT, "the unrouted need", || async {
        let (_, body) = app.get("/v1/unrouted").await;
        body["unrouted"].as_array().filter(|list| !list.is_empty()).cloned()
    })
    .await;
    assert_eq!(unrouted.len(), 1);
    assert_eq!(unrouted[0]["case_id"], decided.case_id);
    assert_eq!(unrouted[0]["need_id"], decided.decisions[0].need_id);
    assert_eq!(unrouted[0]["category"], "pet_care");
    assert!(
        unrouted[0]["reason"]
            .as_str()
            .unwrap()
            .starts_with("\"pet_care\" is not a need category"),
        "{}",
        unrouted[0]
    );
    let (_, referrals) = app.get("/v1/referrals").await;
    assert_eq!(referrals["referrals"], serde_json::json!([]));
}

#[tokio::test]
async fn a_watch_resumed_from_a_cursor_after_a_disconnect_delivers_only_what_came_after() {
    let app = spawn_app().await;
    let id = app.referral_for("DINSOS", "cash_assistance", "PKH").await;
    let mut client = app.client().await;

    let mut updates = watch(&app, "DINSOS", "").await;
    let requested = next_update(&mut updates).await;
    assert_eq!(requested.event_type, "slrt.referral.v1.ReferralRequested");
    drop(updates);

    client.acknowledge(as_opd("DINSOS", acknowledge(&id))).await.unwrap();
    client.accept(as_opd("DINSOS", accept(&id))).await.unwrap();

    let mut resumed = watch(&app, "DINSOS", &requested.cursor).await;
    let acknowledged = next_update(&mut resumed).await;
    assert_eq!(acknowledged.event_type, "slrt.referral.v1.ReferralAcknowledged");
    assert_eq!(
        acknowledged.referral.as_ref().unwrap().status,
        "acknowledged",
        "each update shows the referral as of its event"
    );
    let accepted = next_update(&mut resumed).await;
    assert_eq!(accepted.event_type, "slrt.referral.v1.ReferralAccepted");
    assert_eq!(accepted.referral.as_ref().unwrap().status, "accepted");

    // Live: what happens now arrives on the open stream.
    client
        .complete(as_opd("DINSOS", complete(&id, false, "unable_to_contact")))
        .await
        .unwrap();
    let completed = next_update(&mut resumed).await;
    assert_eq!(completed.event_type, "slrt.referral.v1.ReferralCompleted");

    let malformed = client
        .watch_referrals(as_opd(
            "DINSOS",
            referral::WatchReferralsRequest {
                after_cursor: "yesterday".into(),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(malformed.code(), tonic::Code::InvalidArgument);
    assert!(
        malformed.message().starts_with("after_cursor: "),
        "{}",
        malformed.message()
    );
}

#[tokio::test]
async fn referral_events_reach_the_referral_topic() {
    let app = spawn_app().await;
    let decided = case_decided(&[approved("cash_assistance", "PKH", pkh_benefit())]);
    let decision_event = app.publish(&decided).await;
    let id = details(&app.open_referrals("DINSOS", 1).await[0]).referral_id;
    app.client().await.accept(as_opd("DINSOS", accept(&id))).await.unwrap();

    let consumer: StreamConsumer = slrt_messaging::client_config(&brokers())
        .set("group.id", format!("{}test-reader", app.prefix))
        .set("auto.offset.reset", "earliest")
        .set("fetch.wait.max.ms", "10")
        .create()
        .unwrap();
    consumer
        .subscribe(&[&format!("{}slrt.referral.events.v1", app.prefix)])
        .unwrap();
    let mut seen = HashMap::new();
    tokio::time::timeout(WAIT, async {
        while seen.len() < 2 {
            let message = consumer.recv().await.unwrap();
            let envelope = slrt_eventstore::decode_envelope(message.payload().unwrap()).unwrap();
            assert_eq!(
                message.key(),
                Some(decided.case_id.as_bytes()),
                "keyed by case, so a case's events keep their order"
            );
            seen.insert(envelope.event_type.clone(), envelope);
        }
    })
    .await
    .expect("both events on the topic");

    let requested = &seen["slrt.referral.v1.ReferralRequested"];
    assert_eq!(requested.causation_id, Some(decision_event));
    assert_eq!(
        requested.case_id.map(|id| id.to_string()),
        Some(decided.case_id.clone())
    );
    assert_eq!(requested.source_service, "referral");
    let accepted: referral::ReferralAccepted = seen["slrt.referral.v1.ReferralAccepted"].decode().unwrap();
    let details = accepted.referral.unwrap();
    assert_eq!(
        (details.referral_id.as_str(), details.amount_per_period_idr),
        (id.as_str(), 750_000)
    );
    eventually(WAIT, "the outbox to drain", || async {
        let queued: i64 = sqlx::query_scalar("SELECT count(*) FROM es_outbox")
            .fetch_one(&app.db)
            .await
            .ok()?;
        (queued == 0).then_some(())
    })
    .await;
}

#[tokio::test]
async fn supervisors_list_referrals_by_agency_and_status_a_page_at_a_time() {
    let app = spawn_app().await;
    let decided = case_decided(&[
        approved("cash_assistance", "PKH", pkh_benefit()),
        approved("food_assistance", "BPNT", None),
        approved("health_insurance", "PBI-JK", None),
    ]);
    app.publish(&decided).await;
    let dinsos = app.open_referrals("DINSOS", 2).await;
    app.open_referrals("DINKES", 1).await;
    let first_id = details(&dinsos[0]).referral_id;
    app.client()
        .await
        .accept(as_opd("DINSOS", accept(&first_id)))
        .await
        .unwrap();

    let (status, page) = app.get("/v1/referrals?opd=DINSOS&limit=1").await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["referrals"].as_array().unwrap().len(), 1);
    let after = page["next_after"]
        .as_str()
        .expect("a full page says where the next begins")
        .to_string();
    let (_, rest) = app
        .get(&format!("/v1/referrals?opd=DINSOS&limit=1&after={after}"))
        .await;
    assert_eq!(rest["referrals"].as_array().unwrap().len(), 1);
    assert_ne!(rest["referrals"][0]["referral_id"], page["referrals"][0]["referral_id"]);

    let (_, accepted) = app.get("/v1/referrals?status=accepted").await;
    assert_eq!(accepted["referrals"].as_array().unwrap().len(), 1);
    assert_eq!(accepted["referrals"][0]["referral_id"], first_id);
    assert_eq!(accepted["next_after"], serde_json::Value::Null);
    let (_, everything) = app.get("/v1/referrals").await;
    assert_eq!(everything["referrals"].as_array().unwrap().len(), 3);

    for (query, field) in [
        ("status=done", "status"),
        ("limit=0", "limit"),
        ("limit=501", "limit"),
        ("opd=dinsos", "opd"),
        ("after=x", "after"),
    ] {
        let (status, body) = app.get(&format!("/v1/referrals?{query}")).await;
        assert_eq!(status, 400, "{query}: {body}");
        assert_eq!(body["error"]["field"], field, "{query}: {body}");
    }
    let (status, body) = app.get(&format!("/v1/referrals/{}", Uuid::now_v7())).await;
    assert_eq!((status, body["error"]["code"].as_str()), (404, Some("not_found")));
    let (status, body) = app.get("/v1/referrals/not-an-id").await;
    assert_eq!((status, body["error"]["field"].as_str()), (400, Some("referral_id")));
    let (status, openapi) = app.get("/openapi.json").await;
    assert_eq!(status, 200);
    for path in ["/v1/referrals", "/v1/referrals/{referral_id}", "/v1/unrouted"] {
        assert!(openapi["paths"].get(path).is_some(), "{path} is documented");
    }
}

/// The token an officer of agency `opd` logs in with.
fn officer_token(opd: &str) -> String {
    slrt_testkit::identity().token(&format!("officer-{opd}"), &["opd_officer"], None, Some(opd))
}

/// Runs `slrt-opd` against the app as an officer of agency `opd`; returns success, stdout
/// and stderr.
async fn slrt_opd(app: &TestApp, opd: &str, args: &[&str]) -> (bool, String, String) {
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_slrt-opd"))
        .args(["--url", &app.grpc, "--actor", "petugas.cli"])
        .env("SLRT_TOKEN", officer_token(opd))
        .args(args)
        .output()
        .await
        .expect("slrt-opd runs");
    let text = |bytes: Vec<u8>| String::from_utf8(bytes).expect("UTF-8 output");
    (output.status.success(), text(output.stdout), text(output.stderr))
}

#[tokio::test]
async fn an_agency_lists_watches_and_acts_with_the_command_line_client() {
    let app = spawn_app().await;
    let id = app.referral_for("DINSOS", "cash_assistance", "PKH").await;

    let (ok, listed, _) = slrt_opd(&app, "DINSOS", &["list"]).await;
    assert!(ok);
    assert!(listed.starts_with(&format!("{id}  requested")), "{listed}");
    assert!(listed.contains("Siti Aminah (NIK 3375********0003)"), "{listed}");
    let (_, revealed, _) = slrt_opd(&app, "DINSOS", &["--show-nik", "list"]).await;
    assert!(revealed.contains(APPLICANT_NIK), "{revealed}");

    let (ok, accepted, _) = slrt_opd(&app, "DINSOS", &["accept", &id, "--note", "visit Monday"]).await;
    assert!(ok && accepted.starts_with(&format!("{id}  accepted")), "{accepted}");
    let (_, body) = app.get(&format!("/v1/referrals/{id}")).await;
    assert_eq!(
        (body["last_actor"].as_str(), body["note"].as_str()),
        (Some("officer-DINSOS"), Some("visit Monday")),
        "an officer's own token names who acted, whatever --actor says"
    );

    let (ok, _, error) = slrt_opd(
        &app,
        "DINSOS",
        &["complete", &id, "--unsuccessful", "--outcome", "moved_away"],
    )
    .await;
    assert!(!ok);
    assert!(
        error.contains("outcome_code: \"moved_away\" is not an outcome code"),
        "{error}"
    );
    let (ok, _, error) = slrt_opd(&app, "DINKES", &["ack", &id]).await;
    assert!(!ok);
    assert_eq!(error.trim(), format!("slrt-opd: referral {id} not found (NotFound)"));

    let (ok, json, _) = slrt_opd(&app, "DINSOS", &["--json", "list"]).await;
    assert!(ok);
    let line: serde_json::Value = serde_json::from_str(json.trim()).expect("one JSON object");
    assert_eq!(
        (line["referral_id"].as_str(), line["status"].as_str()),
        (Some(id.as_str()), Some("accepted"))
    );

    let mut watcher = tokio::process::Command::new(env!("CARGO_BIN_EXE_slrt-opd"))
        .args(["--url", &app.grpc, "--json", "watch"])
        .env("SLRT_TOKEN", officer_token("DINSOS"))
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("slrt-opd watch runs");
    let stdout = watcher.stdout.take().unwrap();
    let mut lines = tokio::io::AsyncBufReadExt::lines(tokio::io::BufReader::new(stdout));
    let mut events = Vec::new();
    while events.len() < 2 {
        let line = tokio::time::timeout(WAIT, lines.next_line())
            .await
            .expect("a line")
            .unwrap()
            .expect("watch runs");
        let update: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(update["referral"]["referral_id"], id.as_str());
        events.push(update["event_type"].as_str().unwrap().to_string());
    }
    assert_eq!(
        events,
        [
            "slrt.referral.v1.ReferralRequested",
            "slrt.referral.v1.ReferralAccepted"
        ]
    );
    watcher.kill().await.unwrap();
}

// --- the full lifecycle ---------------------------------------------------------------------

fn reject(id: &str, reason: &str) -> referral::RejectRequest {
    referral::RejectRequest {
        referral_id: id.to_string(),
        actor: "petugas.1".into(),
        reason: reason.into(),
    }
}

fn transfer(id: &str, to: &str, reason: &str) -> referral::TransferRequest {
    referral::TransferRequest {
        referral_id: id.to_string(),
        actor: "petugas.1".into(),
        to_opd_code: to.into(),
        reason: reason.into(),
    }
}

fn start(id: &str) -> referral::StartServiceRequest {
    referral::StartServiceRequest {
        referral_id: id.to_string(),
        actor: "petugas.1".into(),
        note: "first visit done".into(),
    }
}

#[tokio::test]
async fn an_accepted_referral_goes_in_progress_then_completes_and_each_step_is_refused_out_of_order() {
    let app = spawn_app().await;
    let id = app.referral_for("DINSOS", "cash_assistance", "PKH").await;
    let mut client = app.client().await;

    let early = client.start_service(as_opd("DINSOS", start(&id))).await.unwrap_err();
    assert_eq!(early.code(), tonic::Code::FailedPrecondition);
    assert_eq!(
        early.message(),
        "referral is requested but not yet accepted; it cannot be put in progress"
    );
    client.accept(as_opd("DINSOS", accept(&id))).await.unwrap();
    let started = client
        .start_service(as_opd("DINSOS", start(&id)))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(started.status, "in_progress");
    let again = client
        .start_service(as_opd("DINSOS", start(&id)))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(again.status, "in_progress", "a repeat answers the same");
    let no_reject = client
        .reject(as_opd("DINSOS", reject(&id, "changed our mind")))
        .await
        .unwrap_err();
    assert_eq!(
        no_reject.message(),
        "referral is already in_progress; it cannot be rejected"
    );
    let done = client
        .complete(as_opd("DINSOS", complete(&id, true, "")))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(done.status, "completed");
    let (_, body) = app.get(&format!("/v1/referrals/{id}")).await;
    assert_eq!(body["sla"]["state"], "met", "{body}");
    assert!(
        body["first_response_at"].is_string() && body["closed_at"].is_string(),
        "{body}"
    );
    let no_transfer = client
        .transfer(as_opd("DINSOS", transfer(&id, "BAZNAS", "too late")))
        .await
        .unwrap_err();
    assert_eq!(
        no_transfer.message(),
        "referral is already completed, which is final; it cannot be transferred"
    );
    assert_eq!(
        app.count(
            "SELECT COUNT(*) FROM es_events WHERE stream_id = 'referral-' || $1",
            &id
        )
        .await,
        4,
        "requested, accepted, in progress, completed: refusals and repeats record nothing"
    );
}

#[tokio::test]
async fn a_rejected_referral_is_rerouted_to_the_next_agency_and_then_waits_for_a_supervisor() {
    let app = spawn_app().await;
    let first = app.referral_for("DISDIK", "school_aid", "PIP").await;
    let mut client = app.client().await;
    client
        .reject(as_opd("DISDIK", reject(&first, "the pupil attends a madrasah")))
        .await
        .unwrap();

    // The same transaction gave the need to Kemenag, the rule's alternate.
    let kemenag = app.open_referrals("KEMENAG", 1).await;
    let second = details(&kemenag[0]);
    assert_eq!(second.attempt, 2);
    assert_eq!(second.previous_referral_id, first);
    assert_eq!(second.service, "Program Indonesia Pintar (PIP) madrasah");
    let (_, journey) = app.get(&format!("/v1/referrals/{}", second.referral_id)).await;
    assert_eq!(journey["routed_by"], "rerouted_after_rejection");
    assert_eq!(
        journey["routing_note"],
        "DISDIK declined it: the pupil attends a madrasah"
    );
    let travelled: Vec<(&str, &str)> = journey["need_referrals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["opd_code"].as_str().unwrap(), r["status"].as_str().unwrap()))
        .collect();
    assert_eq!(travelled, [("DISDIK", "rejected"), ("KEMENAG", "requested")]);
    // The resolution clock kept the need's first referral date.
    let (_, original) = app.get(&format!("/v1/referrals/{first}")).await;
    assert_eq!(journey["sla"]["need_referred_at"], original["sla"]["need_referred_at"]);
    assert_eq!(
        journey["sla"]["resolution_due_at"],
        original["sla"]["resolution_due_at"]
    );

    // Kemenag declines too: no agency is left, and the need waits for a supervisor.
    client
        .reject(as_opd(
            "KEMENAG",
            reject(&second.referral_id, "not enrolled in any madrasah here"),
        ))
        .await
        .unwrap();
    let (_, unrouted) = app.get("/v1/unrouted").await;
    let waiting = &unrouted["unrouted"][0];
    assert_eq!(waiting["need_id"], second.need_id.as_str(), "{unrouted}");
    assert_eq!(waiting["tried_opd_codes"], serde_json::json!(["DISDIK", "KEMENAG"]));
    assert!(
        waiting["reason"]
            .as_str()
            .unwrap()
            .starts_with("every agency of its route declined it")
    );

    // A supervisor places it with Dinas Sosial; bad placements change nothing.
    let path = format!("/v1/unrouted/{}/{}/placement", second.case_id, second.need_id);
    for (body, field) in [
        (
            serde_json::json!({"opd_code": "NOPE", "actor": "manajer", "reason": "r"}),
            "opd_code",
        ),
        (
            serde_json::json!({"opd_code": "DINSOS", "actor": "manajer", "reason": " "}),
            "reason",
        ),
    ] {
        let (status, error) = app.send(reqwest::Method::POST, &path, body).await;
        assert_eq!(
            (status, error["error"]["field"].as_str()),
            (400, Some(field)),
            "{error}"
        );
    }
    let (status, placed) = app
        .send(
            reqwest::Method::POST,
            &path,
            serde_json::json!({"opd_code": "DINSOS", "actor": "manajer.slrt", "reason": "school fees from the social fund"}),
        )
        .await;
    assert_eq!(status, 201, "{placed}");
    assert_eq!(
        (placed["opd_code"].as_str(), placed["attempt"].as_i64()),
        (Some("DINSOS"), Some(3))
    );
    assert_eq!(placed["routed_by"], "placed_by_supervisor");
    assert_eq!(placed["sla"]["resolution_due_at"], original["sla"]["resolution_due_at"]);
    let (_, unrouted) = app.get("/v1/unrouted").await;
    assert_eq!(unrouted["unrouted"].as_array().unwrap().len(), 0);
    let (status, _) = app
        .send(
            reqwest::Method::POST,
            &path,
            serde_json::json!({"opd_code": "DINSOS", "actor": "manajer.slrt", "reason": "again"}),
        )
        .await;
    assert_eq!(status, 404, "placed once only");
}

#[tokio::test]
async fn a_transferred_referral_leaves_the_agency_and_reaches_the_named_one() {
    let app = spawn_app().await;
    let id = app.referral_for("DINSOS", "cash_assistance", "PKH").await;
    let mut client = app.client().await;
    client.acknowledge(as_opd("DINSOS", acknowledge(&id))).await.unwrap();

    for (request, field) in [
        (transfer(&id, "NOPE", "x"), "to_opd_code"),
        (transfer(&id, "DINSOS", "x"), "to_opd_code"),
        (transfer(&id, "BAZNAS", ""), "reason"),
    ] {
        let error = client.transfer(as_opd("DINSOS", request)).await.unwrap_err();
        assert_eq!(error.code(), tonic::Code::InvalidArgument, "{error:?}");
        assert!(error.message().starts_with(&format!("{field}: ")), "{error:?}");
    }
    let denied = client
        .transfer(as_opd("DINKES", transfer(&id, "BAZNAS", "not yours")))
        .await
        .unwrap_err();
    assert_eq!(denied.code(), tonic::Code::NotFound);

    let moved = client
        .transfer(as_opd(
            "DINSOS",
            transfer(&id, "BAZNAS", "zakat-funded help agreed with the family"),
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(moved.status, "transferred");
    let open = client
        .list_open_referrals(as_opd("DINSOS", referral::ListOpenReferralsRequest::default()))
        .await
        .unwrap()
        .into_inner();
    assert!(open.referrals.is_empty(), "no longer DINSOS's work");
    let baznas = app.open_referrals("BAZNAS", 1).await;
    let taken = details(&baznas[0]);
    assert_eq!((taken.attempt, taken.previous_referral_id.as_str()), (2, id.as_str()));
    // BAZNAS has no rule for PKH: the service stays the one the need was referred for.
    assert_eq!(taken.service, "Program Keluarga Harapan (PKH)");
    let (_, body) = app.get(&format!("/v1/referrals/{id}")).await;
    assert_eq!(body["transferred_to"], "BAZNAS");
    assert_eq!(body["sla"]["state"], "met");
}

#[tokio::test]
async fn supervisors_revoke_a_referral_and_cannot_revoke_a_finished_one() {
    let app = spawn_app().await;
    let id = app.referral_for("DINSOS", "cash_assistance", "PKH").await;
    let path = format!("/v1/referrals/{id}/revoke");
    let (status, error) = app
        .send(
            reqwest::Method::POST,
            &path,
            serde_json::json!({"actor": "manajer.slrt"}),
        )
        .await;
    assert_eq!(
        (status, error["error"]["field"].as_str()),
        (400, Some("reason")),
        "{error}"
    );
    let (status, error) = app.send(reqwest::Method::POST, &path, serde_json::json!([1, 2])).await;
    assert_eq!(status, 400, "{error}");
    let body = serde_json::json!({"actor": "manajer.slrt", "reason": "the applicant withdrew at the desk"});
    let (status, revoked) = app.send(reqwest::Method::POST, &path, body.clone()).await;
    assert_eq!(
        (status, revoked["status"].as_str()),
        (200, Some("revoked")),
        "{revoked}"
    );
    assert_eq!(revoked["revocation_reason"], "the applicant withdrew at the desk");
    let (status, again) = app.send(reqwest::Method::POST, &path, body).await;
    assert_eq!(
        (status, again["status"].as_str()),
        (200, Some("revoked")),
        "a repeat answers the same"
    );
    let error = app
        .client()
        .await
        .accept(as_opd("DINSOS", accept(&id)))
        .await
        .unwrap_err();
    assert_eq!(
        error.message(),
        "referral is already revoked, which is final; it cannot be accepted"
    );
    let (_, unrouted) = app.get("/v1/unrouted").await;
    assert_eq!(
        unrouted["unrouted"].as_array().unwrap().len(),
        0,
        "a revoked need is not re-routed"
    );

    let done = app.referral_for("DINKES", "health_insurance", "PBI-JK").await;
    let mut client = app.client().await;
    client.accept(as_opd("DINKES", accept(&done))).await.unwrap();
    client
        .complete(as_opd("DINKES", complete(&done, true, "")))
        .await
        .unwrap();
    let (status, error) = app
        .send(
            reqwest::Method::POST,
            &format!("/v1/referrals/{done}/revoke"),
            serde_json::json!({"actor": "manajer.slrt", "reason": "late"}),
        )
        .await;
    assert_eq!(
        (status, error["error"]["code"].as_str()),
        (422, Some("rejected")),
        "{error}"
    );
}

// --- SLA clocks and escalation ------------------------------------------------------------

#[tokio::test]
async fn a_missed_response_deadline_escalates_step_by_step_and_the_agency_sees_it() {
    let app = spawn_app_with_test_clock().await;
    let id = app.referral_for("DINSOS", "cash_assistance", "PKH").await;
    let (_, body) = app.get(&format!("/v1/referrals/{id}")).await;
    assert_eq!(body["sla"]["state"], "on_track");
    assert_eq!(body["sla"]["tier"], "field");
    let due: chrono::DateTime<chrono::Utc> = body["sla"]["response_due_at"].as_str().unwrap().parse().unwrap();
    let mut stream = watch(&app, "DINSOS", "").await;
    assert_eq!(
        next_update(&mut stream).await.event_type,
        "slrt.referral.v1.ReferralRequested"
    );

    // One minute past the response deadline: step 1, the Koordinator Puskesos.
    app.set_clock(&(due + chrono::TimeDelta::minutes(1)).to_rfc3339()).await;
    let body = app
        .referral_when(&id, "the first escalation", |r| r["escalation_level"] == 1)
        .await;
    assert_eq!(body["sla"]["state"], "response_overdue");
    assert_eq!(body["escalations"][0]["escalated_to"], "KOORDINATOR_PUSKESOS");
    assert_eq!(body["escalations"][0]["clock"], "response");
    let update = next_update(&mut stream).await;
    assert_eq!(update.event_type, "slrt.referral.v1.ReferralEscalated");
    let state = update.referral.unwrap();
    assert_eq!((state.status.as_str(), state.escalation_level), ("requested", 1));
    assert_eq!(state.sla_state, "response_overdue");

    // A week later, still no answer: Manajer SLRT (2 working days) and Kepala Dinas (5).
    app.set_clock(&(due + chrono::TimeDelta::days(8)).to_rfc3339()).await;
    let body = app
        .referral_when(&id, "three escalation steps", |r| r["escalation_level"] == 3)
        .await;
    let roles: Vec<&str> = body["escalations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["escalated_to"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["KOORDINATOR_PUSKESOS", "MANAJER_SLRT", "KEPALA_DINAS"]);
    assert!(body["sla"]["working_days_overdue"].as_u64().unwrap() >= 5, "{body}");
    let (_, overdue) = app.get("/v1/referrals?sla=overdue").await;
    assert_eq!(overdue["referrals"][0]["referral_id"], id.as_str());
    let (_, escalations) = app.get("/v1/escalations?role=MANAJER_SLRT&open=true").await;
    assert_eq!(escalations["escalations"].as_array().unwrap().len(), 1, "{escalations}");
    let (status, error) = app.get("/v1/escalations?role=BUPATI").await;
    assert_eq!((status, error["error"]["field"].as_str()), (400, Some("role")));
    let metrics = app
        .web
        .get(format!("{}/metrics", app.http))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("slrt_referral_escalations_total{clock=\"response\",level=\"3\"}"),
        "{metrics}"
    );
    assert!(metrics.contains("slrt_referral_overdue"), "{metrics}");

    // The answer stops the response clock: nothing more fires for it.
    app.client()
        .await
        .acknowledge(as_opd("DINSOS", acknowledge(&id)))
        .await
        .unwrap();
    app.set_clock(&(due + chrono::TimeDelta::days(30)).to_rfc3339()).await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(
        app.count(
            "SELECT COUNT(*) FROM escalations WHERE referral_id = $1::uuid AND clock = 'response'",
            &id
        )
        .await,
        3
    );
    let (_, body) = app.get(&format!("/v1/referrals/{id}")).await;
    assert_eq!(
        body["sla"]["state"], "on_track",
        "answered, and still inside the resolution deadline"
    );
    assert_eq!(
        app.count(
            "SELECT COUNT(*) FROM es_events WHERE event_type = $1",
            "slrt.referral.v1.ReferralEscalated"
        )
        .await,
        3
    );
}

#[tokio::test]
async fn the_clock_cannot_be_moved_on_a_service_without_a_test_clock_nor_backwards() {
    let app = spawn_app().await;
    let (status, body) = app
        .send(
            reqwest::Method::PUT,
            "/v1/test-clock",
            serde_json::json!({"now": "2030-01-01T00:00:00Z"}),
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (422, Some("rejected")),
        "{body}"
    );
    let (_, clock) = app.get("/v1/test-clock").await;
    assert_eq!(clock["adjustable"], false);

    let app = spawn_app_with_test_clock().await;
    for (now, field) in [("yesterday", "now"), ("2020-01-01T00:00:00Z", "now")] {
        let (status, body) = app
            .send(
                reqwest::Method::PUT,
                "/v1/test-clock",
                serde_json::json!({ "now": now }),
            )
            .await;
        assert_eq!((status, body["error"]["field"].as_str()), (400, Some(field)), "{body}");
    }
}

#[tokio::test]
async fn a_timer_set_before_a_restart_fires_after_it() {
    let app = spawn_app().await;
    let id = app.referral_for("DINKES", "health_insurance", "PBI-JK").await;
    let (_, body) = app.get(&format!("/v1/referrals/{id}")).await;
    let resolution_due: chrono::DateTime<chrono::Utc> =
        body["sla"]["resolution_due_at"].as_str().unwrap().parse().unwrap();
    app.client().await.accept(as_opd("DINKES", accept(&id))).await.unwrap();
    assert_eq!(
        app.count("SELECT COUNT(*) FROM sla_timers WHERE referral_id = $1::uuid", &id)
            .await,
        1,
        "the resolution timer is stored; the response clock stopped at the answer"
    );

    // The service goes down; while it is down the deadline passes (on the new instance's clock).
    let app = app.restart(true).await;
    app.set_clock(&(resolution_due + chrono::TimeDelta::hours(1)).to_rfc3339())
        .await;
    let body = app
        .referral_when(&id, "the escalation after the restart", |r| r["escalation_level"] == 1)
        .await;
    assert_eq!(body["escalations"][0]["clock"], "resolution");
    assert_eq!(body["sla"]["state"], "resolution_overdue");
}

// --- one open referral per person and need ------------------------------------------------

#[tokio::test]
async fn a_second_case_for_the_same_person_and_need_is_linked_to_the_open_referral() {
    let app = spawn_app().await;
    let id = app.referral_for("DINSOS", "cash_assistance", "PKH").await;
    // The same person comes to another desk with the same need: another case.
    let second = case_decided(&[approved("cash_assistance", "PKH", None)]);
    app.publish(&second).await;
    let body = app
        .referral_when(&id, "the second case linked", |r| r["linked_needs"] == 1)
        .await;
    assert_eq!(body["status"], "requested");
    let (_, all) = app.get("/v1/referrals").await;
    assert_eq!(
        all["referrals"].as_array().unwrap().len(),
        1,
        "not referred twice: {all}"
    );
    let open = app.open_referrals("DINSOS", 1).await;
    assert_eq!(open[0].linked_needs, 1);

    // Delivered again, still one link.
    app.publish(&second).await;
    let mut client = app.client().await;
    client.accept(as_opd("DINSOS", accept(&id))).await.unwrap();
    client
        .complete(as_opd("DINSOS", complete(&id, true, "")))
        .await
        .unwrap();
    assert_eq!(
        app.count(
            "SELECT COUNT(*) FROM referral_links WHERE referral_id = $1::uuid AND closed_at IS NOT NULL",
            &id
        )
        .await,
        1,
        "the linked need closed with the referral"
    );
    let closed = app
        .count(
            "SELECT COUNT(*) FROM es_events WHERE event_type = 'slrt.referral.v1.LinkedNeedClosed' AND case_id = $1::uuid",
            &second.case_id,
        )
        .await;
    assert_eq!(closed, 1, "recorded in the second case's timeline");

    // Once the first referral is closed, a new request for the same need is referred afresh.
    let third = case_decided(&[approved("cash_assistance", "PKH", None)]);
    app.publish(&third).await;
    let fresh = app.open_referrals("DINSOS", 1).await;
    assert_eq!(details(&fresh[0]).case_id, third.case_id);
}

#[tokio::test]
async fn per_agency_performance_counts_answers_and_resolutions() {
    let app = spawn_app().await;
    let done = app.referral_for("DINSOS", "cash_assistance", "PKH").await;
    app.referral_for("DINSOS", "food_assistance", "BPNT").await;
    let declined = app.referral_for("DINKES", "health_insurance", "PBI-JK").await;
    let mut client = app.client().await;
    client.accept(as_opd("DINSOS", accept(&done))).await.unwrap();
    client
        .complete(as_opd("DINSOS", complete(&done, true, "")))
        .await
        .unwrap();
    client
        .reject(as_opd(
            "DINKES",
            reject(&declined, "already insured through an employer"),
        ))
        .await
        .unwrap();

    let (status, report) = app.get("/v1/performance").await;
    assert_eq!(status, 200, "{report}");
    let row = |opd: &str| {
        report["opds"]
            .as_array()
            .unwrap()
            .iter()
            .find(|row| row["opd_code"] == opd)
            .cloned()
            .unwrap_or_else(|| panic!("{opd} in {report}"))
    };
    let dinsos = row("DINSOS");
    assert_eq!(
        (
            dinsos["referrals"].as_i64(),
            dinsos["open"].as_i64(),
            dinsos["completed"].as_i64()
        ),
        (Some(2), Some(1), Some(1))
    );
    assert_eq!(
        (dinsos["responded"].as_i64(), dinsos["responded_within_sla"].as_i64()),
        (Some(1), Some(1))
    );
    assert!(dinsos["median_hours_to_resolve"].as_f64().is_some(), "{dinsos}");
    let dinkes = row("DINKES");
    assert_eq!(
        (dinkes["rejected"].as_i64(), dinkes["open"].as_i64()),
        (Some(1), Some(0))
    );
    assert!(
        dinkes["median_hours_to_resolve"].is_null(),
        "nothing completed: {dinkes}"
    );

    let (status, empty) = app.get("/v1/performance?from=2030-01-01T00:00:00Z").await;
    assert_eq!((status, empty["opds"].as_array().map(Vec::len)), (200, Some(0)));
    for (query, field) in [
        ("from=yesterday", "from"),
        ("from=2026-12-01T00:00:00Z&to=2026-11-01T00:00:00Z", "to"),
    ] {
        let (status, body) = app.get(&format!("/v1/performance?{query}")).await;
        assert_eq!((status, body["error"]["field"].as_str()), (400, Some(field)), "{body}");
    }
}

#[tokio::test]
async fn an_agency_starts_and_transfers_with_the_command_line_client() {
    let app = spawn_app().await;
    let served = app.referral_for("DINSOS", "cash_assistance", "PKH").await;
    let (ok, _, _) = slrt_opd(&app, "DINSOS", &["accept", &served]).await;
    assert!(ok);
    let (ok, started, error) = slrt_opd(&app, "DINSOS", &["start", &served, "--note", "first visit"]).await;
    assert!(ok, "{error}");
    assert!(started.starts_with(&format!("{served}  in_progress")), "{started}");
    assert!(started.contains("on_track, resolve by "), "{started}");

    let passed = app.referral_for("DINSOS", "elderly_care", "PERMAKANAN").await;
    let (ok, _, error) = slrt_opd(&app, "DINSOS", &["transfer", &passed, "--to", "NOPE", "--reason", "x"]).await;
    assert!(!ok);
    assert!(
        error.contains("to_opd_code: NOPE is not an agency of routing table"),
        "{error}"
    );
    let (ok, moved, error) = slrt_opd(
        &app,
        "DINSOS",
        &[
            "transfer",
            &passed,
            "--to",
            "BAZNAS",
            "--reason",
            "meals from the zakat kitchen",
        ],
    )
    .await;
    assert!(ok, "{error}");
    assert!(moved.starts_with(&format!("{passed}  transferred")), "{moved}");
    let (ok, listed, _) = slrt_opd(&app, "BAZNAS", &["--json", "list", "--all"]).await;
    assert!(ok);
    let line: serde_json::Value = serde_json::from_str(listed.trim()).expect("one JSON object");
    assert_eq!(
        (line["attempt"].as_i64(), line["sla_state"].as_str()),
        (Some(2), Some("on_track"))
    );
}

// ---------------------------------------------------------------------------------------
// Who may see and do what: tokens, roles, areas, agencies, and the audit of each access.
// ---------------------------------------------------------------------------------------

fn bearer(subject: &str, roles: &[&str], region: Option<&str>, opd: Option<&str>) -> String {
    slrt_testkit::identity().bearer(subject, roles, region, opd)
}

/// The audit log's entries for `action`, oldest first: (actor, outcome, subjects, purpose).
async fn audited(app: &TestApp, action: &str) -> Vec<(String, String, String, Option<String>)> {
    sqlx::query_as("SELECT actor, outcome, subjects, purpose FROM audit_log WHERE action = $1 ORDER BY seq")
        .bind(action)
        .fetch_all(&app.db)
        .await
        .unwrap()
}

/// The keyed token the services record for the test applicant's NIK.
fn applicant_token() -> String {
    let key = std::fs::read_to_string(slrt_testkit::identity().dir.join("pii-key.hex")).unwrap();
    slrt_identity::NikTokenizer::from_hex("k1", &key)
        .unwrap()
        .token_of_text(APPLICANT_NIK)
}

#[tokio::test]
async fn every_endpoint_family_refuses_a_missing_or_bad_token_and_a_role_it_does_not_serve() {
    let app = spawn_app().await;
    let id = app.referral_for("DINSOS", "cash_assistance", "PKH").await;
    let reads = [
        "/v1/referrals".to_string(),
        format!("/v1/referrals/{id}"),
        "/v1/escalations".to_string(),
        "/v1/performance".to_string(),
        "/v1/unrouted".to_string(),
    ];
    let bad_tokens = slrt_testkit::identity().bad_tokens(&["supervisor"], Some("33"), None);
    assert!(bad_tokens.len() >= 10, "every failure the test identity knows");
    for path in &reads {
        for bad in &bad_tokens {
            let (status, body) = app.get_as(path, &bad.header).await;
            assert_eq!(status, 401, "{path} with {}: {body}", bad.case);
            assert_eq!(body["error"]["code"], "unauthenticated", "{body}");
            let message = body["error"]["message"].as_str().unwrap_or_default();
            assert!(message.contains(bad.refusal), "{path} with {}: {message}", bad.case);
        }
        for (roles, region, opd) in [
            (&["desk_operator"][..], Some("33"), None),
            (&["opd_officer"][..], None, Some("DINSOS")),
            (&["auditor"][..], None, None),
            (&["administrator"][..], None, None),
        ] {
            let (status, body) = app.get_as(path, &bearer("someone", roles, region, opd)).await;
            assert_eq!(status, 403, "{path} as {roles:?}: {body}");
        }
        for role in ["supervisor", "coordinator", "back_office"] {
            let (status, body) = app.get_as(path, &bearer("someone", &[role], Some("33.75"), None)).await;
            assert_eq!(status, 200, "{path} as {role}: {body}");
        }
    }

    // Changes: only supervisors and coordinators; the clock: only administrators.
    let revoke = format!("/v1/referrals/{id}/revoke");
    let (status, _) = app
        .send_as(
            reqwest::Method::POST,
            &revoke,
            serde_json::json!({"reason": "r"}),
            &bearer("bo", &["back_office"], Some("33"), None),
        )
        .await;
    assert_eq!(status, 403);
    let (status, _) = app
        .send_as(
            reqwest::Method::PUT,
            "/v1/test-clock",
            serde_json::json!({"now": "2030-01-01T00:00:00Z"}),
            &bearer("sup", &["supervisor"], Some("33"), None),
        )
        .await;
    assert_eq!(status, 403);
    let (status, _) = app
        .get_as("/v1/test-clock", &bearer("ops", &["administrator"], None, None))
        .await;
    assert_eq!(status, 200);
}

/// `message` with `header` as its `authorization` metadata; none when empty.
fn with_header<T>(header: &str, message: T) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    if !header.is_empty() {
        request
            .metadata_mut()
            .insert("authorization", header.parse().expect("an ASCII header"));
    }
    request
}

/// The agency interface over gRPC: every token failure is UNAUTHENTICATED naming why, on
/// every method, before anything is read or changed; staff roles and feeds are
/// PERMISSION_DENIED.
#[tokio::test]
async fn every_grpc_method_refuses_a_bad_token_and_a_role_it_does_not_serve() {
    let app = spawn_app().await;
    let id = app.referral_for("DINSOS", "cash_assistance", "PKH").await;
    let calls = |header: String| {
        let app = &app;
        let id = id.clone();
        async move {
            let mut client = app.client().await;
            vec![
                (
                    "ListOpenReferrals",
                    client
                        .list_open_referrals(with_header(&header, referral::ListOpenReferralsRequest::default()))
                        .await
                        .map(|_| ()),
                ),
                (
                    "WatchReferrals",
                    client
                        .watch_referrals(with_header(&header, referral::WatchReferralsRequest::default()))
                        .await
                        .map(|_| ()),
                ),
                (
                    "Acknowledge",
                    client
                        .acknowledge(with_header(
                            &header,
                            referral::AcknowledgeRequest {
                                referral_id: id.clone(),
                                ..Default::default()
                            },
                        ))
                        .await
                        .map(|_| ()),
                ),
                (
                    "Reject",
                    client
                        .reject(with_header(
                            &header,
                            referral::RejectRequest {
                                referral_id: id.clone(),
                                reason: "not ours".into(),
                                ..Default::default()
                            },
                        ))
                        .await
                        .map(|_| ()),
                ),
            ]
        }
    };

    let bad_tokens = slrt_testkit::identity().bad_tokens(&["opd_officer"], None, Some("DINSOS"));
    assert!(bad_tokens.len() >= 10, "every failure the test identity knows");
    for bad in &bad_tokens {
        for (method, answer) in calls(bad.header.clone()).await {
            let status = answer.expect_err(&format!("{method} with {}", bad.case));
            assert_eq!(
                status.code(),
                tonic::Code::Unauthenticated,
                "{method} with {}: {status:?}",
                bad.case
            );
            assert!(
                status.message().contains(bad.refusal),
                "{method} with {}: {}",
                bad.case,
                status.message()
            );
        }
    }
    for (roles, region, opd) in [
        (&["desk_operator"][..], Some("33"), None),
        (&["supervisor"][..], Some("33"), None),
        (&["auditor"][..], None, None),
        (&["data_feed"][..], None, Some("DUKCAPIL")),
    ] {
        for (method, answer) in calls(bearer("someone", roles, region, opd)).await {
            let status = answer.expect_err(&format!("{method} as {roles:?}"));
            assert_eq!(
                status.code(),
                tonic::Code::PermissionDenied,
                "{method} as {roles:?}: {status:?}"
            );
        }
    }

    // Nothing moved: the referral is still waiting for DINSOS, unacknowledged.
    let open = app.open_referrals("DINSOS", 1).await;
    let state = open.iter().find(|r| details(r).referral_id == id).expect("still open");
    assert_eq!(state.status, "requested", "{state:?}");
}

#[tokio::test]
async fn another_areas_supervisor_sees_nothing_and_the_attempt_is_audited() {
    let app = spawn_app().await;
    let id = app.referral_for("DINSOS", "cash_assistance", "PKH").await;
    // Sleman (34.04) is another regency in another province.
    let sleman = bearer("supervisor-sleman", &["supervisor"], Some("34.04"), None);
    let district = bearer("coordinator-3375-01", &["coordinator"], Some("33.75.01"), None);

    let (status, body) = app.get_as(&format!("/v1/referrals/{id}"), &sleman).await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(body["error"]["message"], format!("referral {id} not found"));
    let (_, listed) = app.get_as("/v1/referrals", &sleman).await;
    assert_eq!(listed["referrals"].as_array().unwrap().len(), 0, "{listed}");
    let (status, _) = app
        .send_as(
            reqwest::Method::POST,
            &format!("/v1/referrals/{id}/revoke"),
            serde_json::json!({"reason": "guessing"}),
            &sleman,
        )
        .await;
    assert_eq!(status, 404);
    let (_, performance) = app.get_as("/v1/performance", &sleman).await;
    assert_eq!(performance["opds"].as_array().unwrap().len(), 0, "{performance}");

    // Inside the area, by whole segments: the district coordinator of 33.75.01 sees it.
    let (status, _) = app.get_as(&format!("/v1/referrals/{id}"), &district).await;
    assert_eq!(status, 200);
    let (_, listed) = app.get_as("/v1/referrals", &district).await;
    assert_eq!(listed["referrals"].as_array().unwrap().len(), 1);

    let reads = audited(&app, "referral.read").await;
    assert_eq!(
        reads
            .iter()
            .map(|(actor, outcome, _, _)| (actor.as_str(), outcome.as_str()))
            .collect::<Vec<_>>(),
        [("supervisor-sleman", "not_found"), ("coordinator-3375-01", "allowed")]
    );
    assert_eq!(reads[1].2, applicant_token(), "the client's keyed token, never the NIK");
    let revokes = audited(&app, "referral.revoke").await;
    assert_eq!(revokes.len(), 1);
    assert_eq!(revokes[0].1, "not_found");
}

#[tokio::test]
async fn another_agencys_officer_gets_not_found_over_grpc_and_the_attempt_is_audited() {
    let app = spawn_app().await;
    let id = app.referral_for("DINSOS", "cash_assistance", "PKH").await;
    let mut client = app.client().await;

    let refused = client
        .acknowledge(as_opd("DINKES", acknowledge(&id)))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), tonic::Code::NotFound);
    let listed = client
        .list_open_referrals(as_opd(
            "DINKES",
            referral::ListOpenReferralsRequest {
                limit: 0,
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(listed.referrals.is_empty());

    // A person's token without the agency role cannot use the OPD interface at all.
    let mut request = tonic::Request::new(acknowledge(&id));
    request.metadata_mut().insert(
        "authorization",
        bearer("supervisor-33", &["supervisor"], Some("33"), None)
            .parse()
            .unwrap(),
    );
    let forbidden = client.acknowledge(request).await.unwrap_err();
    assert_eq!(
        forbidden.code(),
        tonic::Code::PermissionDenied,
        "{}",
        forbidden.message()
    );

    client.acknowledge(as_opd("DINSOS", acknowledge(&id))).await.unwrap();
    let acks = audited(&app, "referral.acknowledge").await;
    assert_eq!(
        acks.iter()
            .map(|(actor, outcome, _, _)| (actor.as_str(), outcome.as_str()))
            .collect::<Vec<_>>(),
        [("officer-DINKES", "not_found"), ("officer-DINSOS", "allowed")]
    );
    assert_eq!(acks[1].2, applicant_token());
}

#[tokio::test]
async fn a_declared_purpose_is_recorded_and_the_chain_verifies() {
    let app = spawn_app().await;
    let id = app.referral_for("DINSOS", "cash_assistance", "PKH").await;
    let response = app
        .web
        .get(format!("{}/v1/referrals/{id}", app.http))
        .header("Authorization", supervisor())
        .header("x-slrt-purpose", "monthly TKPKD review")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);

    let reads = audited(&app, "referral.read").await;
    assert_eq!(reads.last().unwrap().3.as_deref(), Some("monthly TKPKD review"));
    let report = slrt_audit::verify_chain(&app.db).await.unwrap();
    assert_eq!(report.first_broken, None);
    assert!(report.entries >= 2, "the agency's list and the supervisor's read");
}

#[tokio::test]
async fn an_auditor_reads_the_log_checks_the_chain_and_gives_a_client_their_access_report() {
    let app = spawn_app().await;
    let id = app.referral_for("DINSOS", "cash_assistance", "PKH").await;
    app.get(&format!("/v1/referrals/{id}")).await;
    let auditor = bearer("inspektorat-1", &["auditor"], None, None);

    let (status, _) = app.get("/v1/audit").await;
    assert_eq!(status, 403, "a supervisor does not read the audit log");
    let (status, page) = app.get_as("/v1/audit?action=referral.read", &auditor).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["entries"][0]["actor"], "supervisor-33");
    let (_, chain) = app.get_as("/v1/audit/verify", &auditor).await;
    assert_eq!(chain["first_broken"], serde_json::Value::Null, "{chain}");

    let (status, report) = app
        .send_as(
            reqwest::Method::POST,
            "/v1/audit/access-report",
            serde_json::json!({ "nik": APPLICANT_NIK }),
            &auditor,
        )
        .await;
    assert_eq!(status, 200, "{report}");
    let actors: Vec<&str> = report["accesses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|line| line["actor"].as_str().unwrap())
        .collect();
    assert!(actors.contains(&"officer-DINSOS"), "{report}");
    assert!(actors.contains(&"supervisor-33"), "{report}");
    assert_eq!(report["nik_masked"], "3375********0003");
    assert!(
        !report.to_string().contains(APPLICANT_NIK),
        "the report never echoes the NIK"
    );

    let (status, error) = app
        .send_as(
            reqwest::Method::POST,
            "/v1/audit/access-report",
            serde_json::json!({ "nik": "12345" }),
            &auditor,
        )
        .await;
    assert_eq!((status, error["error"]["field"].as_str()), (400, Some("nik")));
    // The auditor's own reading is on the record too.
    assert_eq!(audited(&app, "audit.access_report").await.len(), 1);
}

#[tokio::test]
async fn a_case_withdrawn_at_the_desk_revokes_the_open_referrals_of_its_withdrawn_needs() {
    let app = spawn_app().await;
    let decided = case_decided(&[
        approved("cash_assistance", "PKH", None),
        approved("civil_documents", "ADMINDUK", None),
    ]);
    app.publish(&decided).await;
    let dinsos = app.open_referrals("DINSOS", 1).await;
    let disdukcapil = app.open_referrals("DISDUKCAPIL", 1).await;
    let cash = details(&dinsos[0]);
    let documents = details(&disdukcapil[0]);
    // The documents are done before the withdrawal: a finished referral stays finished.
    let mut client = app.client().await;
    client
        .accept(as_opd("DISDUKCAPIL", accept(&documents.referral_id)))
        .await
        .unwrap();
    client
        .complete(as_opd("DISDUKCAPIL", complete(&documents.referral_id, true, "")))
        .await
        .unwrap();

    let withdrawn = slrt_proto::intake::v1::CaseWithdrawn {
        case_id: decided.case_id.clone(),
        reason: "the family moved to Batang".into(),
        actor: "fo-pekalongan-timur-2".into(),
        withdrawn_need_ids: vec![cash.need_id.clone(), documents.need_id.clone()],
    };
    let topic = format!("{}slrt.intake.events.v1", app.prefix);
    let case_id = Uuid::parse_str(&decided.case_id).ok();
    // Delivered twice: the second finds the revocation recorded and records nothing.
    slrt_testkit::publish(&brokers(), &topic, "intake", case_id, &withdrawn).await;
    slrt_testkit::publish(&brokers(), &topic, "intake", case_id, &withdrawn).await;

    let body = eventually(WAIT, "the cash referral revoked", || async {
        let (_, body) = app.get(&format!("/v1/referrals/{}", cash.referral_id)).await;
        (body["status"] == "revoked").then_some(body)
    })
    .await;
    assert_eq!(
        body["revocation_reason"],
        "the applicant withdrew the case at the desk: the family moved to Batang"
    );
    assert_eq!(body["last_actor"], "desk:fo-pekalongan-timur-2");
    let (_, documents_now) = app.get(&format!("/v1/referrals/{}", documents.referral_id)).await;
    assert_eq!(documents_now["status"], "completed");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        app.count(
            "SELECT count(*) FROM es_events WHERE event_type = $1",
            "slrt.referral.v1.ReferralRevoked"
        )
        .await,
        1
    );
}

#[tokio::test]
async fn a_temporary_grant_opens_another_area_until_it_ends_and_every_use_names_it() {
    let app = spawn_app().await;
    let id = app.referral_for("DINSOS", "cash_assistance", "PKH").await;
    let visitor = bearer("supervisor-sleman", &["supervisor"], Some("34.04"), None);
    let coordinator = bearer("coordinator-3375", &["coordinator"], Some("33.75"), None);
    let outsider = bearer("coordinator-3404", &["coordinator"], Some("34.04"), None);
    let grant = |region: &str, reason: &str, seconds: i64| {
        serde_json::json!({
            "grantee": "supervisor-sleman",
            "region": region,
            "reason": reason,
            "valid_until": (chrono::Utc::now() + chrono::Duration::seconds(seconds)).to_rfc3339(),
        })
    };
    let (status, _) = app.get_as(&format!("/v1/referrals/{id}"), &visitor).await;
    assert_eq!(status, 404);

    // A grant needs a reason, an end no more than 72 hours away, and a grantor whose own
    // area holds the region; nobody passes on access they were given.
    for (body, field) in [
        (grant("33.75.01", "", 60), "reason"),
        (grant("33.75.01", "help", 60), "reason"),
        (
            grant("33.75.01", "Covering the Pekalongan Barat desk during leave", -5),
            "valid_until",
        ),
        (
            grant("33.75.01", "Covering the Pekalongan Barat desk during leave", 73 * 3600),
            "valid_until",
        ),
        (
            grant("33.7", "Covering the Pekalongan Barat desk during leave", 60),
            "region",
        ),
    ] {
        let (status, answer) = app
            .send_as(reqwest::Method::POST, "/v1/access-grants", body, &coordinator)
            .await;
        assert_eq!(status, 400, "{answer}");
        assert_eq!(answer["error"]["field"], field, "{answer}");
    }
    let (status, answer) = app
        .send_as(
            reqwest::Method::POST,
            "/v1/access-grants",
            grant("33.75.01", "Covering the Pekalongan Barat desk during leave", 60),
            &outsider,
        )
        .await;
    assert_eq!(status, 403, "{answer}");
    let (status, answer) = app
        .send_as(
            reqwest::Method::POST,
            "/v1/access-grants",
            grant("33.75.01", "Covering the Pekalongan Barat desk during leave", 60),
            &visitor,
        )
        .await;
    assert_eq!(
        status, 403,
        "a supervisor of another area cannot let themselves in: {answer}"
    );

    let (status, granted) = app
        .send_as(
            reqwest::Method::POST,
            "/v1/access-grants",
            grant("33.75.01", "Covering the Pekalongan Barat desk during leave", 4),
            &coordinator,
        )
        .await;
    assert_eq!(status, 201, "{granted}");
    let grant_id = granted["id"].as_str().unwrap().to_string();

    let (status, body) = app.get_as(&format!("/v1/referrals/{id}"), &visitor).await;
    assert_eq!(status, 200, "{body}");
    let (_, listed) = app.get_as("/v1/referrals", &visitor).await;
    assert_eq!(listed["referrals"].as_array().unwrap().len(), 1, "{listed}");
    let (_, mine) = app.get_as("/v1/access-grants?active=true", &visitor).await;
    assert_eq!(mine["grants"][0]["id"], grant_id.as_str(), "{mine}");

    tokio::time::sleep(std::time::Duration::from_secs(5)).await;
    let (status, _) = app.get_as(&format!("/v1/referrals/{id}"), &visitor).await;
    assert_eq!(status, 404, "the grant has ended");
    let (_, listed) = app.get_as("/v1/referrals", &visitor).await;
    assert_eq!(listed["referrals"].as_array().unwrap().len(), 0, "{listed}");

    let reads: Vec<(String, String)> = sqlx::query_as(
        "SELECT outcome, detail FROM audit_log WHERE action = 'referral.read' AND actor = 'supervisor-sleman' ORDER BY seq",
    )
    .fetch_all(&app.db)
    .await
    .unwrap();
    let outcomes: Vec<&str> = reads.iter().map(|(outcome, _)| outcome.as_str()).collect();
    assert_eq!(outcomes, ["not_found", "allowed", "not_found"]);
    assert!(
        reads[1].1.contains(&grant_id),
        "the read under the grant names it: {}",
        reads[1].1
    );
    let created = audited(&app, "access_grant.create").await;
    assert_eq!(
        created
            .iter()
            .map(|(actor, outcome, _, _)| (actor.as_str(), outcome.as_str()))
            .collect::<Vec<_>>(),
        [
            ("coordinator-3404", "denied"),
            ("supervisor-sleman", "denied"),
            ("coordinator-3375", "allowed")
        ]
    );
}

#[tokio::test]
async fn a_grant_is_revoked_by_its_area_with_a_reason_and_stays_on_record() {
    let app = spawn_app().await;
    let id = app.referral_for("DINSOS", "cash_assistance", "PKH").await;
    let visitor = bearer("desk-visitor", &["coordinator"], Some("34.04"), None);
    let coordinator = bearer("coordinator-3375", &["coordinator"], Some("33.75"), None);
    let (status, granted) = app
        .send_as(
            reqwest::Method::POST,
            "/v1/access-grants",
            serde_json::json!({
                "grantee": "desk-visitor",
                "region": "33.75",
                "reason": "Joint verification visit with the regency team",
                "valid_until": (chrono::Utc::now() + chrono::Duration::hours(8)).to_rfc3339(),
            }),
            &coordinator,
        )
        .await;
    assert_eq!(status, 201, "{granted}");
    let grant_id = granted["id"].as_str().unwrap();
    let (status, _) = app.get_as(&format!("/v1/referrals/{id}"), &visitor).await;
    assert_eq!(status, 200);

    let revoke = format!("/v1/access-grants/{grant_id}/revoke");
    let (status, answer) = app
        .send_as(reqwest::Method::POST, &revoke, serde_json::json!({}), &coordinator)
        .await;
    assert_eq!((status, answer["error"]["field"].clone()), (400, "reason".into()));
    let (status, answer) = app
        .send_as(
            reqwest::Method::POST,
            &revoke,
            serde_json::json!({"reason": "Visit finished early"}),
            &visitor,
        )
        .await;
    assert_eq!(
        status, 404,
        "a grantee outside the area cannot see the grant to revoke it: {answer}"
    );
    let (status, revoked) = app
        .send_as(
            reqwest::Method::POST,
            &revoke,
            serde_json::json!({"reason": "Visit finished early"}),
            &coordinator,
        )
        .await;
    assert_eq!(status, 200, "{revoked}");
    assert_eq!(revoked["revoked_by"], "coordinator-3375");

    let (status, _) = app.get_as(&format!("/v1/referrals/{id}"), &visitor).await;
    assert_eq!(status, 404);
    let (_, all) = app
        .get_as("/v1/access-grants", &bearer("auditor-1", &["auditor"], None, None))
        .await;
    assert_eq!(all["grants"][0]["revoke_reason"], "Visit finished early", "{all}");
    let deleted = sqlx::query("DELETE FROM access_grants").execute(&app.db).await;
    assert!(deleted.is_err(), "grants are never deleted");
}

#[tokio::test]
async fn a_caller_over_their_rate_is_answered_429_and_others_are_not() {
    let app = spawn_app_with_settings(&[
        ("SLRT_RATE_LIMIT_PER_MINUTE", "60".to_string()),
        ("SLRT_RATE_LIMIT_BURST", "5".to_string()),
    ])
    .await;
    let busy = bearer("busy-supervisor", &["supervisor"], Some("33.75"), None);
    let calm = bearer("calm-supervisor", &["supervisor"], Some("33.75"), None);
    let mut statuses = Vec::new();
    for _ in 0..8 {
        statuses.push(app.get_as("/v1/referrals", &busy).await.0);
    }
    assert_eq!(
        statuses.iter().filter(|status| **status == 200).count(),
        5,
        "{statuses:?}"
    );
    let (status, body) = app.get_as("/v1/referrals", &busy).await;
    assert_eq!(status, 429, "{body}");
    assert_eq!(body["error"]["code"], "rate_limited");
    let (status, _) = app.get_as("/v1/referrals", &calm).await;
    assert_eq!(status, 200, "another caller has their own allowance");

    let mut client = app.client().await;
    let mut codes = Vec::new();
    for _ in 0..7 {
        let request = as_opd(
            "DINSOS",
            referral::ListOpenReferralsRequest {
                limit: 0,
                ..Default::default()
            },
        );
        codes.push(match client.list_open_referrals(request).await {
            Ok(_) => tonic::Code::Ok,
            Err(status) => status.code(),
        });
    }
    assert_eq!(
        codes.iter().filter(|code| **code == tonic::Code::Ok).count(),
        5,
        "{codes:?}"
    );
    assert_eq!(codes.last(), Some(&tonic::Code::ResourceExhausted));
}
