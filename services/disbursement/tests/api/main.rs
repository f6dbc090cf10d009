#![expect(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

//! Disbursement, black-box: the real service built by `startup::build` on port 0, with a
//! fresh PostgreSQL database and a unique topic prefix on the real broker per test, driven by
//! `ReferralAccepted` events on referral's topic.
//!
//! Eligibility is the one peer played by the test: a small gRPC server whose release-check
//! answers the test controls (payable, deceased, slow, unreachable), and which, as the real
//! one, answers only a caller presenting a valid token of role `service`. The end-to-end
//! scenarios in `tests/` use the real eligibility service.
//!
//! Every request carries a token of the test identity provider: a regency supervisor reads,
//! the regency's back office prepares and reconciles, its coordinator releases. Who may do
//! what, and the audit of it, is tested in [`access`].

mod access;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{Datelike, TimeDelta, Utc};
use prost::Message;
use rdkafka::Message as _;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::producer::{FutureProducer, FutureRecord};
use serde_json::Value;
use slrt_disbursement::app::{Disbursement, eligibility_client};
use slrt_disbursement::kafka::{ENTITLEMENTS, EntitlementsHandler};
use slrt_disbursement::settings::Settings;
use slrt_disbursement::startup;
use slrt_eventstore::EventStore;
use slrt_eventstore::envelope::ReceivedEnvelope;
use slrt_messaging::HandlerError;
use slrt_messaging::consumer::{Applied, apply_once};
use slrt_proto::common::v1::EventEnvelope;
use slrt_proto::disbursement::v1 as disbursement;
use slrt_proto::disbursement::v1::disbursement_service_client::DisbursementServiceClient;
use slrt_proto::eligibility::v1 as eligibility;
use slrt_proto::eligibility::v1::eligibility_service_server::{EligibilityService, EligibilityServiceServer};
use slrt_proto::eligibility::v1::{
    CheckPaymentEligibilityRequest, CheckPaymentEligibilityResponse, ScreenPersonRequest, ScreenPersonResponse,
};
use slrt_proto::referral::v1::{ReferralAccepted, ReferralDetails, ReferralRevoked, ReferralTransferred};
use sqlx::PgPool;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use uuid::Uuid;

const WAIT: Duration = Duration::from_secs(40);
/// The paying bank the test service is set up with; its system reconciles.
const PAYING_BANK: &str = "BANK-JATENG";
/// The client NIK of every test acceptance (Siti Aminah of Pekalongan Barat).
const CLIENT_NIK: &str = "3375014506850003";

/// `Bearer <token>` of the test identity provider.
fn bearer(subject: &str, roles: &[&str], region: Option<&str>, opd: Option<&str>) -> String {
    slrt_testkit::identity().bearer(subject, roles, region, opd)
}

/// The supervisor of Kota Pekalongan: reads everything of the regency.
fn supervisor() -> String {
    bearer("supervisor-3375", &["supervisor"], Some("33.75"), None)
}

/// The regency's back office: prepares batches (the maker), reconciles, orders follow-ups.
fn maker() -> String {
    bearer("bo-3375-1", &["back_office"], Some("33.75"), None)
}

/// The regency's coordinator: releases batches (the checker).
fn checker() -> String {
    bearer("koordinator-3375", &["coordinator"], Some("33.75"), None)
}

// ---------------------------------------------------------------------------------------
// Eligibility, as played by the test.

/// Answers the release check: payable unless the test said otherwise for a beneficiary.
#[derive(Clone)]
struct FakeEligibility {
    state: Arc<Mutex<FakeState>>,
    /// The test identity provider's verifier: eligibility answers disbursement's own token
    /// (role `service`) and nothing else.
    verifier: Arc<slrt_auth::Verifier>,
}

impl Default for FakeEligibility {
    fn default() -> Self {
        let env = slrt_testkit::identity().env();
        let verifier = slrt_auth::settings::verifier(|name| {
            env.iter()
                .find(|(variable, _)| *variable == name)
                .map(|(_, value)| value.clone())
        })
        .expect("the test identity's verifier");
        Self {
            state: Arc::default(),
            verifier,
        }
    }
}

#[derive(Default)]
struct FakeState {
    not_payable: HashMap<String, Vec<String>>,
    /// (programme, beneficiary) of every release check asked.
    asked: Vec<(String, String)>,
    /// The subject of the token of every release check asked.
    callers: Vec<String>,
    /// Why each refused call was refused.
    refused: Vec<String>,
    /// How long each answer takes, to keep two checks in flight together.
    delay: Duration,
}

impl FakeEligibility {
    fn not_payable(&self, beneficiary_id: &str, reasons: &[&str]) {
        let reasons = reasons.iter().map(|reason| reason.to_string()).collect();
        self.state
            .lock()
            .unwrap()
            .not_payable
            .insert(beneficiary_id.to_string(), reasons);
    }

    fn answer_after(&self, delay: Duration) {
        self.state.lock().unwrap().delay = delay;
    }

    fn checks_for(&self, beneficiary_id: &str) -> usize {
        self.state
            .lock()
            .unwrap()
            .asked
            .iter()
            .filter(|(_, asked)| asked == beneficiary_id)
            .count()
    }

    fn asked(&self) -> Vec<(String, String)> {
        self.state.lock().unwrap().asked.clone()
    }

    fn callers(&self) -> Vec<String> {
        self.state.lock().unwrap().callers.clone()
    }

    fn refused(&self) -> Vec<String> {
        self.state.lock().unwrap().refused.clone()
    }

    /// The caller of a release check, as eligibility checks it: a valid token of role
    /// `service`.
    fn caller_of<T>(&self, request: &tonic::Request<T>) -> Result<String, tonic::Status> {
        let refuse = |why: String| {
            self.state.lock().unwrap().refused.push(why.clone());
            tonic::Status::unauthenticated(why)
        };
        let header = request
            .metadata()
            .get("authorization")
            .and_then(|value| value.to_str().ok())
            .ok_or_else(|| refuse("no bearer token".to_string()))?;
        let token = header
            .strip_prefix("Bearer ")
            .ok_or_else(|| refuse(format!("not a bearer token: {header}")))?;
        let principal = self
            .verifier
            .verify(token)
            .map_err(|rejected| refuse(format!("the token was refused: {rejected}")))?;
        if !principal.has(slrt_auth::Role::Service) {
            let roles: Vec<&str> = principal.roles.iter().map(|role| role.code()).collect();
            return Err(refuse(format!("role service required, the token has {roles:?}")));
        }
        Ok(principal.subject)
    }

    /// Serves on `listener` until the test ends.
    fn serve(&self, listener: TcpListener) -> JoinHandle<()> {
        let service = EligibilityServiceServer::new(self.clone());
        tokio::spawn(async move {
            tonic::transport::Server::builder()
                .add_service(service)
                .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener))
                .await
                .expect("the test's eligibility server stopped");
        })
    }

    /// Serves on a fresh port; returns the URL to give disbursement.
    async fn start(&self) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        self.serve(listener);
        url
    }
}

#[tonic::async_trait]
impl EligibilityService for FakeEligibility {
    async fn screen_person(
        &self,
        _request: tonic::Request<ScreenPersonRequest>,
    ) -> Result<tonic::Response<ScreenPersonResponse>, tonic::Status> {
        Err(tonic::Status::unimplemented("disbursement never screens a person"))
    }

    async fn report_external_enrolment(
        &self,
        _request: tonic::Request<eligibility::ReportExternalEnrolmentRequest>,
    ) -> Result<tonic::Response<eligibility::ReportExternalEnrolmentResponse>, tonic::Status> {
        Err(tonic::Status::unimplemented("disbursement never reports enrolments"))
    }

    async fn report_external_enrolment_ended(
        &self,
        _request: tonic::Request<eligibility::ReportExternalEnrolmentEndedRequest>,
    ) -> Result<tonic::Response<eligibility::ReportExternalEnrolmentEndedResponse>, tonic::Status> {
        Err(tonic::Status::unimplemented("disbursement never reports enrolments"))
    }

    async fn list_enrolments(
        &self,
        _request: tonic::Request<eligibility::ListEnrolmentsRequest>,
    ) -> Result<tonic::Response<eligibility::ListEnrolmentsResponse>, tonic::Status> {
        Err(tonic::Status::unimplemented("disbursement never lists enrolments"))
    }

    async fn check_payment_eligibility(
        &self,
        request: tonic::Request<CheckPaymentEligibilityRequest>,
    ) -> Result<tonic::Response<CheckPaymentEligibilityResponse>, tonic::Status> {
        let caller = self.caller_of(&request)?;
        let request = request.into_inner();
        let (reasons, delay) = {
            let mut state = self.state.lock().unwrap();
            state.callers.push(caller);
            state
                .asked
                .push((request.programme_code.clone(), request.beneficiary_id.clone()));
            (state.not_payable.get(&request.beneficiary_id).cloned(), state.delay)
        };
        tokio::time::sleep(delay).await;
        Ok(tonic::Response::new(match reasons {
            None => CheckPaymentEligibilityResponse {
                payable: true,
                reasons: vec![],
            },
            Some(reasons) => CheckPaymentEligibilityResponse {
                payable: false,
                reasons,
            },
        }))
    }
}

/// A port where eligibility "is down": every connection is accepted and dropped at once,
/// and counted, so the test can see disbursement trying again.
struct Unreachable {
    url: String,
    attempts: Arc<AtomicUsize>,
    stop: oneshot::Sender<()>,
    task: JoinHandle<TcpListener>,
}

impl Unreachable {
    async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let attempts = Arc::new(AtomicUsize::new(0));
        let (stop, mut stopped) = oneshot::channel();
        let counted = attempts.clone();
        let task = tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = &mut stopped => return listener,
                    accepted = listener.accept() => {
                        if let Ok((socket, _)) = accepted {
                            counted.fetch_add(1, Ordering::SeqCst);
                            drop(socket);
                        }
                    }
                }
            }
        });
        Self {
            url,
            attempts,
            stop,
            task,
        }
    }

    /// Eligibility comes back on the same address.
    async fn come_back_as(self, eligibility: &FakeEligibility) {
        self.stop.send(()).unwrap();
        let listener = self.task.await.unwrap();
        eligibility.serve(listener);
    }
}

// ---------------------------------------------------------------------------------------
// The service under test.

struct TestApp {
    http: String,
    grpc_addr: SocketAddr,
    prefix: String,
    database_url: String,
    pool: PgPool,
    client: reqwest::Client,
    stop: tokio::sync::watch::Sender<bool>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

async fn spawn_app(eligibility_url: &str) -> TestApp {
    spawn_app_with(eligibility_url, &[]).await
}

/// The app with settings of its own on top of the usual ones (e.g. the paying bank).
async fn spawn_app_with(eligibility_url: &str, extra: &[(&'static str, String)]) -> TestApp {
    slrt_testkit::init_telemetry();
    let database_url = slrt_testkit::fresh_database_url().await;
    let prefix = slrt_testkit::unique_prefix();
    let env: HashMap<&str, String> = HashMap::from([
        ("SLRT_DISBURSEMENT_HTTP_ADDR", "127.0.0.1:0".to_string()),
        ("SLRT_DISBURSEMENT_GRPC_ADDR", "127.0.0.1:0".to_string()),
        ("SLRT_DISBURSEMENT_DATABASE_URL", database_url.clone()),
        ("SLRT_TOPIC_PREFIX", prefix.clone()),
        ("SLRT_KAFKA_BROKERS", slrt_testkit::brokers()),
        ("SLRT_ELIGIBILITY_GRPC_URL", eligibility_url.to_string()),
        ("SLRT_RELAY_POLL_MS", "100".to_string()),
        // One partition: events published one after another are handled in that order.
        ("SLRT_TOPIC_PARTITIONS", "1".to_string()),
        // No bank unless a test brings one: nothing listens on the discard port.
        ("SLRT_BANK_GRPC_URL", "http://127.0.0.1:9".to_string()),
    ]);
    let mut env = env;
    env.extend(slrt_testkit::identity().env());
    env.insert("SLRT_DISBURSEMENT_PAYING_BANK", PAYING_BANK.to_string());
    env.extend(extra.iter().cloned());
    let settings = Settings::from_lookup(|name| env.get(name).cloned()).expect("test settings");
    let running = startup::build(settings).await.expect("disbursement starts");
    let (http_addr, grpc_addr, stop) = (running.http_addr, running.grpc_addr, running.stopper());
    tokio::spawn(running.run_until_stopped());
    let pool = PgPool::connect(&database_url).await.unwrap();
    TestApp {
        http: format!("http://{http_addr}"),
        grpc_addr,
        prefix,
        database_url,
        pool,
        client: slrt_testkit::http_client(),
        stop,
    }
}

impl TestApp {
    fn referral_topic(&self) -> String {
        format!("{}slrt.referral.events.v1", self.prefix)
    }

    /// Publishes an acceptance as referral would; returns the event id.
    async fn accept(&self, accepted: &ReferralAccepted) -> Uuid {
        let case_id = accepted
            .referral
            .as_ref()
            .and_then(|r| Uuid::parse_str(&r.case_id).ok());
        slrt_testkit::publish(
            &slrt_testkit::brokers(),
            &self.referral_topic(),
            "referral",
            case_id,
            accepted,
        )
        .await
    }

    /// Publishes exactly this envelope: a redelivery of an event already sent.
    async fn publish_envelope(&self, envelope: &EventEnvelope) {
        let producer: FutureProducer = rdkafka::ClientConfig::new()
            .set("bootstrap.servers", slrt_testkit::brokers())
            .set("broker.address.family", "v4")
            .create()
            .unwrap();
        let value = envelope.encode_to_vec();
        producer
            .send(
                FutureRecord::to(&self.referral_topic())
                    .key(&envelope.case_id)
                    .payload(&value),
                Duration::from_secs(15),
            )
            .await
            .map_err(|(error, _)| error)
            .unwrap();
    }

    /// GET as the regency's supervisor.
    async fn get(&self, path: &str) -> (u16, Value) {
        self.get_as(path, &supervisor()).await
    }

    /// GET with `bearer` as the Authorization header; none when empty.
    async fn get_as(&self, path: &str, bearer: &str) -> (u16, Value) {
        let mut request = self.client.get(format!("{}{path}", self.http));
        if !bearer.is_empty() {
            request = request.header("Authorization", bearer);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn payments_of_case(&self, case_id: Uuid) -> Vec<Value> {
        let (status, body) = self.get(&format!("/v1/payments?case_id={case_id}")).await;
        assert_eq!(status, 200, "{body}");
        body["payments"].as_array().cloned().unwrap_or_default()
    }

    async fn payments_of_beneficiary(&self, beneficiary_id: &str) -> Vec<Value> {
        let (status, body) = self.get(&format!("/v1/payments?beneficiary_id={beneficiary_id}")).await;
        assert_eq!(status, 200, "{body}");
        body["payments"].as_array().cloned().unwrap_or_default()
    }

    /// Waits until `beneficiary_id` has at least one payment, and returns the first.
    async fn first_payment_of(&self, beneficiary_id: &str) -> Value {
        slrt_testkit::eventually(WAIT, &format!("a payment for {beneficiary_id}"), || async {
            self.payments_of_beneficiary(beneficiary_id).await.into_iter().next()
        })
        .await
    }

    async fn dead_letters(&self) -> Vec<String> {
        sqlx::query_scalar("SELECT error FROM es_dead_letters WHERE consumer = $1 ORDER BY id")
            .bind(ENTITLEMENTS)
            .fetch_all(&self.pool)
            .await
            .unwrap()
    }

    async fn entitlement_count(&self) -> i64 {
        sqlx::query_scalar("SELECT COUNT(*) FROM entitlements")
            .fetch_one(&self.pool)
            .await
            .unwrap()
    }

    async fn grpc(&self) -> DisbursementServiceClient<tonic::transport::Channel> {
        DisbursementServiceClient::connect(format!("http://{}", self.grpc_addr))
            .await
            .unwrap()
    }

    /// Settings as the app's, for use cases a test drives itself.
    fn settings(&self) -> Settings {
        let env = slrt_testkit::identity().env();
        Settings::from_lookup(|name| {
            env.iter()
                .find(|(variable, _)| *variable == name)
                .map(|(_, value)| value.clone())
        })
        .unwrap()
    }
}

/// An OPD's acceptance of a PKH referral for a child under six: Rp3,000,000 a year, paid in
/// four quarterly stages of Rp750,000.
fn pkh_acceptance(case_id: Uuid, beneficiary_id: &str) -> ReferralAccepted {
    ReferralAccepted {
        referral: Some(ReferralDetails {
            referral_id: Uuid::now_v7().to_string(),
            case_id: case_id.to_string(),
            need_id: Uuid::now_v7().to_string(),
            category: "cash_assistance".into(),
            programme_code: "PKH".into(),
            opd_code: "DINSOS".into(),
            opd_name: "Dinas Sosial Kota Pekalongan".into(),
            service: "PKH enrolment".into(),
            region_code: "33.75.01.1002".into(),
            client_name: "Siti Aminah".into(),
            client_nik: "3375014506850003".into(),
            beneficiary_id: beneficiary_id.into(),
            cash: true,
            amount_per_period_idr: 750_000,
            cadence: "quarterly".into(),
            component: "child_0_6".into(),
            attempt: 1,
            sla_tier: "field".into(),
            ..Default::default()
        }),
        actor: "dinsos-officer-17".into(),
        note: String::new(),
    }
}

fn details_mut(accepted: &mut ReferralAccepted) -> &mut ReferralDetails {
    accepted.referral.as_mut().unwrap()
}

/// The PKH stage (quarter) of today in Jakarta.
fn current_quarter_in_jakarta() -> String {
    let today = (Utc::now() + TimeDelta::hours(7)).date_naive();
    format!("{}-Q{}", today.year(), today.month().div_ceil(3))
}

/// An acceptance published after everything before it (the test topics have one partition,
/// and it goes on the same case too) whose payment shows that every earlier event has been
/// handled.
async fn handled_up_to_here(app: &TestApp, case_id: Uuid) {
    let marker = format!("hh-marker-{}", Uuid::now_v7().simple());
    app.accept(&pkh_acceptance(case_id, &marker)).await;
    app.first_payment_of(&marker).await;
}

// ---------------------------------------------------------------------------------------
// Opening entitlements and their first payment.

#[tokio::test]
async fn an_accepted_pkh_referral_opens_one_entitlement_and_instructs_its_first_payment() {
    let eligibility = FakeEligibility::default();
    let app = spawn_app(&eligibility.start().await).await;
    let case_id = Uuid::now_v7();
    let accepted = pkh_acceptance(case_id, "hh-3375-0042");

    let quarter_before = current_quarter_in_jakarta();
    let event_id = app.accept(&accepted).await;
    let quarter_after = current_quarter_in_jakarta();
    let payment = app.first_payment_of("hh-3375-0042").await;

    let period = payment["period"].as_str().unwrap().to_string();
    assert!(period == quarter_before || period == quarter_after, "period {period}");
    assert_eq!(payment["payment_key"], format!("PKH:{period}:hh-3375-0042:child_0_6"));
    assert_eq!(payment["amount_idr"], 750_000);
    assert_eq!(payment["status"], "instructed");
    assert_eq!(payment["hold_reasons"], serde_json::json!([]));
    assert_eq!(payment["case_id"], case_id.to_string());
    assert_eq!(app.payments_of_case(case_id).await.len(), 1);
    assert_eq!(
        eligibility.asked(),
        vec![("PKH".to_string(), "hh-3375-0042".to_string())]
    );

    let entitlement_id = payment["entitlement_id"].as_str().unwrap();
    let (status, entitlement) = app.get(&format!("/v1/entitlements/{entitlement_id}")).await;
    assert_eq!(status, 200, "{entitlement}");
    assert_eq!(
        entitlement["referral_id"],
        accepted.referral.as_ref().unwrap().referral_id
    );
    assert_eq!(entitlement["beneficiary_name"], "Siti Aminah");
    assert_eq!(entitlement["amount_per_period_idr"], 750_000);
    assert_eq!(entitlement["cadence"], "quarterly");
    assert_eq!(entitlement["first_period"], period);
    assert_eq!(entitlement["payments"].as_array().map(Vec::len), Some(1));

    // Eligibility was asked with disbursement's own token, nothing else.
    assert_eq!(eligibility.callers(), ["service:slrt-test"]);
    assert_eq!(eligibility.refused(), Vec::<String>::new());

    // The same payment over gRPC, for another of this system's services.
    let listed = app
        .grpc()
        .await
        .list_payments(with_token(
            disbursement::ListPaymentsRequest {
                case_id: case_id.to_string(),
                beneficiary_id: String::new(),
            },
            &bearer("service:slrt-intake", &["service"], None, None),
        ))
        .await
        .unwrap()
        .into_inner()
        .payments;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].payment_key, payment["payment_key"].as_str().unwrap());
    assert_eq!(
        (listed[0].amount_idr, listed[0].status.as_str()),
        (750_000, "instructed")
    );

    // Both events reach disbursement's topic, correlated with the case and caused by the
    // acceptance.
    let published = read_own_events(&app, 2).await;
    let types: Vec<&str> = published.iter().map(|envelope| envelope.event_type.as_str()).collect();
    assert_eq!(
        types,
        [
            "slrt.disbursement.v1.EntitlementCreated",
            "slrt.disbursement.v1.PaymentInstructionCreated"
        ]
    );
    for envelope in &published {
        assert_eq!(envelope.case_id, case_id.to_string());
        assert_eq!(envelope.causation_id, event_id.to_string());
        assert_eq!(envelope.stream_id, format!("entitlement-{entitlement_id}"));
    }
    let instructed = disbursement::PaymentInstructionCreated::decode(published[1].payload.as_slice()).unwrap();
    assert_eq!(instructed.payment_key, payment["payment_key"].as_str().unwrap());
    assert_eq!(instructed.amount_idr, 750_000);
}

/// A gRPC request carrying `bearer` as its authorization.
fn with_token<T>(message: T, bearer: &str) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request.metadata_mut().insert("authorization", bearer.parse().unwrap());
    request
}

/// Reads the first `count` events from disbursement's own topic.
async fn read_own_events(app: &TestApp, count: usize) -> Vec<EventEnvelope> {
    let consumer: StreamConsumer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", slrt_testkit::brokers())
        .set("broker.address.family", "v4")
        .set("group.id", format!("{}test-reader", app.prefix))
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .set("fetch.wait.max.ms", "10")
        .create()
        .unwrap();
    consumer
        .subscribe(&[&format!("{}slrt.disbursement.events.v1", app.prefix)])
        .unwrap();
    let mut envelopes = Vec::new();
    while envelopes.len() < count {
        let message = tokio::time::timeout(WAIT, consumer.recv())
            .await
            .expect("disbursement's events on its topic")
            .unwrap();
        envelopes.push(EventEnvelope::decode(message.payload().unwrap_or_default()).unwrap());
    }
    envelopes.sort_by_key(|envelope| envelope.stream_version);
    envelopes
}

#[tokio::test]
async fn the_same_acceptance_delivered_twice_even_under_a_new_event_id_pays_once() {
    let eligibility = FakeEligibility::default();
    let app = spawn_app(&eligibility.start().await).await;
    let case_id = Uuid::now_v7();
    let accepted = pkh_acceptance(case_id, "hh-3375-0042");

    let event_id = app.accept(&accepted).await;
    // The broker redelivers the very same event...
    let mut redelivered = EventEnvelope {
        event_id: event_id.to_string(),
        event_type: "slrt.referral.v1.ReferralAccepted".into(),
        stream_id: format!("referral-{}", accepted.referral.as_ref().unwrap().referral_id),
        stream_version: 3,
        case_id: case_id.to_string(),
        causation_id: String::new(),
        occurred_at: Some(prost_types::Timestamp {
            seconds: Utc::now().timestamp(),
            nanos: 0,
        }),
        source_service: "referral".into(),
        global_position: 0,
        payload: accepted.encode_to_vec(),
    };
    app.publish_envelope(&redelivered).await;
    // ...and referral re-sends the acceptance as a new event.
    app.accept(&accepted).await;
    redelivered.event_id = Uuid::now_v7().to_string();
    app.publish_envelope(&redelivered).await;
    handled_up_to_here(&app, case_id).await;

    assert_eq!(app.payments_of_beneficiary("hh-3375-0042").await.len(), 1);
    assert_eq!(app.entitlement_count().await, 2, "the acceptance's and the marker's");
    // Once the entitlement exists, a repeat does not even ask eligibility again.
    assert_eq!(eligibility.checks_for("hh-3375-0042"), 1);
    assert_eq!(app.dead_letters().await, Vec::<String>::new());
}

#[tokio::test]
async fn a_beneficiary_reported_deceased_gets_a_held_payment_with_the_reason_and_no_instruction() {
    let eligibility = FakeEligibility::default();
    eligibility.not_payable(
        "hh-3375-0077",
        &["beneficiary deceased (Disdukcapil death certificate, 2026-11-03)"],
    );
    let app = spawn_app(&eligibility.start().await).await;
    let case_id = Uuid::now_v7();

    app.accept(&pkh_acceptance(case_id, "hh-3375-0077")).await;
    let payment = app.first_payment_of("hh-3375-0077").await;

    assert_eq!(payment["status"], "held");
    assert_eq!(
        payment["hold_reasons"],
        serde_json::json!(["beneficiary deceased (Disdukcapil death certificate, 2026-11-03)"])
    );
    // Held under the key it would have been paid under, for the amount that was due.
    let period = payment["period"].as_str().unwrap();
    assert_eq!(payment["payment_key"], format!("PKH:{period}:hh-3375-0077:child_0_6"));
    assert_eq!(payment["amount_idr"], 750_000);

    let (_, report) = app
        .get(&format!("/v1/reports/payments?programme=PKH&period={period}"))
        .await;
    assert_eq!(
        report["by_status"][0],
        serde_json::json!({"status": "instructed", "count": 0, "amount_idr": 0})
    );
    assert_eq!(
        report["by_status"][1],
        serde_json::json!({"status": "held", "count": 1, "amount_idr": 750_000})
    );

    let published = read_own_events(&app, 2).await;
    assert_eq!(published[1].event_type, "slrt.disbursement.v1.PaymentHeld");
}

#[tokio::test]
async fn a_non_cash_acceptance_creates_nothing_and_asks_nothing() {
    let eligibility = FakeEligibility::default();
    let app = spawn_app(&eligibility.start().await).await;
    let case_id = Uuid::now_v7();
    let mut documents = pkh_acceptance(case_id, "hh-3375-0042");
    let details = details_mut(&mut documents);
    details.category = "civil_documents".into();
    details.programme_code = "ADMINDUK".into();
    details.opd_code = "DISDUKCAPIL".into();
    details.cash = false;
    details.amount_per_period_idr = 0;
    details.cadence = String::new();

    app.accept(&documents).await;
    handled_up_to_here(&app, case_id).await;

    assert_eq!(app.payments_of_beneficiary("hh-3375-0042").await, Vec::<Value>::new());
    assert_eq!(eligibility.checks_for("hh-3375-0042"), 0);
    assert_eq!(app.entitlement_count().await, 1, "only the marker's");
    assert_eq!(app.dead_letters().await, Vec::<String>::new());
}

#[tokio::test]
async fn an_accepted_pip_referral_is_paid_for_the_calendar_year() {
    let eligibility = FakeEligibility::default();
    let app = spawn_app(&eligibility.start().await).await;
    let mut accepted = pkh_acceptance(Uuid::now_v7(), "p-3375-0042-03");
    let details = details_mut(&mut accepted);
    details.category = "school_aid".into();
    details.programme_code = "PIP".into();
    details.opd_code = "DISDIK".into();
    details.cadence = "yearly".into();
    details.component = "sd".into();
    details.amount_per_period_idr = 450_000;

    app.accept(&accepted).await;
    let payment = app.first_payment_of("p-3375-0042-03").await;

    let year = payment["period"].as_str().unwrap().to_string();
    assert_eq!(year.len(), 4, "a calendar year: {year}");
    assert_eq!(payment["payment_key"], format!("PIP:{year}:p-3375-0042-03:sd"));
    assert_eq!(payment["amount_idr"], 450_000);
}

#[tokio::test]
async fn while_eligibility_is_unreachable_nothing_is_recorded_and_once_it_answers_exactly_one_payment_is() {
    let down = Unreachable::start().await;
    let app = spawn_app(&down.url).await;
    let case_id = Uuid::now_v7();

    app.accept(&pkh_acceptance(case_id, "hh-3375-0042")).await;
    let attempts = down.attempts.clone();
    slrt_testkit::eventually(WAIT, "disbursement to try eligibility more than once", || {
        let attempts = attempts.clone();
        async move { (attempts.load(Ordering::SeqCst) >= 3).then_some(()) }
    })
    .await;
    assert_eq!(app.payments_of_case(case_id).await, Vec::<Value>::new());
    assert_eq!(app.entitlement_count().await, 0);
    assert_eq!(
        app.dead_letters().await,
        Vec::<String>::new(),
        "an outage is waited out, never dead-lettered"
    );

    let eligibility = FakeEligibility::default();
    down.come_back_as(&eligibility).await;
    let payment = app.first_payment_of("hh-3375-0042").await;
    assert_eq!(payment["status"], "instructed");
    handled_up_to_here(&app, case_id).await;
    assert_eq!(app.payments_of_beneficiary("hh-3375-0042").await.len(), 1);
    assert_eq!(eligibility.checks_for("hh-3375-0042"), 1);
}

// ---------------------------------------------------------------------------------------
// Refusals: dead-lettered for a person, nothing recorded.

#[tokio::test]
async fn malformed_cash_acceptances_are_dead_lettered_naming_the_field_and_record_nothing() {
    let eligibility = FakeEligibility::default();
    let app = spawn_app(&eligibility.start().await).await;
    let case_id = Uuid::now_v7();

    let mut no_beneficiary = pkh_acceptance(case_id, "");
    app.accept(&no_beneficiary).await;
    details_mut(&mut no_beneficiary).beneficiary_id = "hh-3375-0001".into();
    details_mut(&mut no_beneficiary).amount_per_period_idr = 0;
    app.accept(&no_beneficiary).await;
    details_mut(&mut no_beneficiary).beneficiary_id = "hh-3375-0002".into();
    details_mut(&mut no_beneficiary).amount_per_period_idr = 750_000;
    details_mut(&mut no_beneficiary).cadence = "weekly".into();
    app.accept(&no_beneficiary).await;
    handled_up_to_here(&app, case_id).await;

    let dead_letters = app.dead_letters().await;
    assert_eq!(dead_letters.len(), 3, "{dead_letters:#?}");
    assert!(
        dead_letters[0].contains("referral.beneficiary_id: payment key beneficiary must not be empty"),
        "{dead_letters:#?}"
    );
    assert!(
        dead_letters[1].contains("referral.amount_per_period_idr: amount per period must be more than Rp0"),
        "{dead_letters:#?}"
    );
    assert!(
        dead_letters[2].contains("referral.cadence: \"weekly\" is not a payment cadence"),
        "{dead_letters:#?}"
    );
    assert_eq!(app.entitlement_count().await, 1, "only the marker's");
    assert_eq!(
        eligibility.asked().len(),
        1,
        "only the marker was checked: {:?}",
        eligibility.asked()
    );
}

#[tokio::test]
async fn a_referral_without_details_is_dead_lettered_naming_the_field() {
    let eligibility = FakeEligibility::default();
    let app = spawn_app(&eligibility.start().await).await;
    let case_id = Uuid::now_v7();
    let empty = ReferralAccepted {
        referral: None,
        actor: "dinsos-officer-17".into(),
        note: String::new(),
    };
    slrt_testkit::publish(
        &slrt_testkit::brokers(),
        &app.referral_topic(),
        "referral",
        Some(case_id),
        &empty,
    )
    .await;
    handled_up_to_here(&app, case_id).await;

    let dead_letters = app.dead_letters().await;
    assert_eq!(dead_letters.len(), 1, "{dead_letters:#?}");
    assert!(dead_letters[0].contains("referral: missing"), "{dead_letters:#?}");
}

#[tokio::test]
async fn a_second_referral_for_an_already_paid_key_is_dead_lettered_as_a_conflict_and_records_nothing() {
    let eligibility = FakeEligibility::default();
    let app = spawn_app(&eligibility.start().await).await;
    let first_case = Uuid::now_v7();
    app.accept(&pkh_acceptance(first_case, "hh-3375-0042")).await;
    let paid = app.first_payment_of("hh-3375-0042").await;

    // Another case for the same household, programme and component, accepted in the same
    // stage: the key is taken by the first case's payment.
    let second_case = Uuid::now_v7();
    app.accept(&pkh_acceptance(second_case, "hh-3375-0042")).await;
    handled_up_to_here(&app, second_case).await;

    let payments = app.payments_of_beneficiary("hh-3375-0042").await;
    assert_eq!(payments, vec![paid.clone()]);
    let dead_letters = app.dead_letters().await;
    assert_eq!(dead_letters.len(), 1, "{dead_letters:#?}");
    let key = paid["payment_key"].as_str().unwrap();
    assert!(
        dead_letters[0].contains(&format!("payment key {key} is already taken")),
        "{dead_letters:#?}"
    );
    assert!(
        dead_letters[0].contains("a person must resolve the conflict"),
        "{dead_letters:#?}"
    );
    assert_eq!(app.payments_of_case(second_case).await.len(), 1, "only the marker's");
    assert_eq!(app.entitlement_count().await, 2, "the first case's and the marker's");
}

// ---------------------------------------------------------------------------------------
// The payment key under concurrency.

#[tokio::test]
async fn two_transactions_inserting_the_same_payment_key_leave_one_row() {
    let eligibility = FakeEligibility::default();
    let app = spawn_app(&eligibility.start().await).await;
    let entitlement_id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO entitlements (entitlement_id, referral_id, case_id, programme_code, beneficiary_id,
                                   beneficiary_name, component, amount_per_period_idr, cadence, first_period, created_at)
         VALUES ($1, $2, $3, 'PKH', 'hh-1', 'Siti Aminah', 'child_0_6', 750000, 'quarterly', '2026-Q4', now())",
    )
    .bind(entitlement_id)
    .bind(Uuid::now_v7())
    .bind(Uuid::now_v7())
    .execute(&app.pool)
    .await
    .unwrap();
    let insert = move |payment_id: Uuid| {
        sqlx::query(
            "INSERT INTO payment_instructions (payment_id, payment_key, entitlement_id, case_id, programme_code,
                                               period, beneficiary_id, component, amount_idr, status, created_at)
             VALUES ($1, 'PKH:2026-Q4:hh-1:child_0_6', $2, $3, 'PKH', '2026-Q4', 'hh-1', 'child_0_6', 750000,
                     'instructed', now())",
        )
        .bind(payment_id)
        .bind(entitlement_id)
        .bind(Uuid::now_v7())
    };

    let mut first = app.pool.begin().await.unwrap();
    insert(Uuid::now_v7()).execute(&mut *first).await.unwrap();
    // The second writer waits on the first's uncommitted key...
    let second_pool = PgPool::connect(&app.database_url).await.unwrap();
    let second = tokio::spawn(async move { insert(Uuid::now_v7()).execute(&second_pool).await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !second.is_finished(),
        "the second insert must wait for the first transaction"
    );
    first.commit().await.unwrap();
    // ...and fails on the unique key once it commits.
    let error = second.await.unwrap().expect_err("a second row under the same key");
    let database_error = error.as_database_error().expect("a database error");
    assert_eq!(database_error.code().as_deref(), Some("23505"));
    assert_eq!(
        database_error.constraint(),
        Some("payment_instructions_payment_key_key")
    );

    let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM payment_instructions")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(rows, 1);
}

fn envelope_of(accepted: &ReferralAccepted) -> ReceivedEnvelope {
    ReceivedEnvelope {
        event_id: Uuid::now_v7(),
        event_type: "slrt.referral.v1.ReferralAccepted".into(),
        stream_id: "referral-test".into(),
        stream_version: 3,
        case_id: accepted
            .referral
            .as_ref()
            .and_then(|r| Uuid::parse_str(&r.case_id).ok()),
        causation_id: None,
        occurred_at: Utc::now(),
        source_service: "referral".into(),
        global_position: 0,
        payload: accepted.encode_to_vec(),
    }
}

#[tokio::test]
async fn two_consumers_handling_the_same_payment_at_once_record_it_once() {
    let eligibility = FakeEligibility::default();
    let url = eligibility.start().await;
    let app = spawn_app(&url).await;
    // Both release checks are in flight together, so both handlers pass the "already
    // entitled?" look before either commits: only the database can stop the second.
    eligibility.answer_after(Duration::from_millis(500));
    let pool = PgPool::connect(&app.database_url).await.unwrap();
    let handler = EntitlementsHandler {
        disbursement: Disbursement {
            pool: pool.clone(),
            ..app.use_cases(&url, "http://127.0.0.1:9", Duration::from_secs(1))
        },
    };

    // The same acceptance under two event ids.
    let accepted = pkh_acceptance(Uuid::now_v7(), "hh-3375-0042");
    let (once, again) = (envelope_of(&accepted), envelope_of(&accepted));
    let (a, b) = tokio::join!(
        apply_once(&pool, ENTITLEMENTS, &handler, &once),
        apply_once(&pool, ENTITLEMENTS, &handler, &again),
    );
    assert!(
        matches!((&a, &b), (Ok(Applied::Applied), Ok(Applied::Applied))),
        "{a:?} {b:?}"
    );
    assert_eq!(app.payments_of_beneficiary("hh-3375-0042").await.len(), 1);
    assert_eq!(app.entitlement_count().await, 1);
    assert_eq!(
        eligibility.checks_for("hh-3375-0042"),
        2,
        "both were in flight together"
    );

    // Two different referrals racing for the same key: one payment, one conflict.
    let first = pkh_acceptance(Uuid::now_v7(), "hh-3375-0099");
    let second = pkh_acceptance(Uuid::now_v7(), "hh-3375-0099");
    let (first, second) = (envelope_of(&first), envelope_of(&second));
    let (a, b) = tokio::join!(
        apply_once(&pool, ENTITLEMENTS, &handler, &first),
        apply_once(&pool, ENTITLEMENTS, &handler, &second),
    );
    let outcomes = [&a, &b];
    assert_eq!(
        outcomes
            .iter()
            .filter(|outcome| matches!(outcome, Ok(Applied::Applied)))
            .count(),
        1,
        "{a:?} {b:?}"
    );
    assert!(
        outcomes
            .iter()
            .any(|outcome| matches!(outcome, Err(HandlerError::Permanent(reason)) if reason.contains("already taken"))),
        "{a:?} {b:?}"
    );
    assert_eq!(app.payments_of_beneficiary("hh-3375-0099").await.len(), 1);
    assert_eq!(app.entitlement_count().await, 2);
}

// ---------------------------------------------------------------------------------------
// Reading payments.

#[tokio::test]
async fn listing_payments_needs_exactly_one_of_case_or_beneficiary() {
    let eligibility = FakeEligibility::default();
    let app = spawn_app(&eligibility.start().await).await;
    let mut grpc = app.grpc().await;
    let intake = bearer("service:slrt-intake", &["service"], None, None);
    let request = |case_id: &str, beneficiary_id: &str| {
        with_token(
            disbursement::ListPaymentsRequest {
                case_id: case_id.into(),
                beneficiary_id: beneficiary_id.into(),
            },
            &intake,
        )
    };

    let neither = grpc.list_payments(request("", "")).await.unwrap_err();
    assert_eq!(neither.code(), tonic::Code::InvalidArgument);
    assert_eq!(
        neither.message(),
        "case_id: exactly one of case_id or beneficiary_id is required"
    );
    let both = grpc
        .list_payments(request(&Uuid::now_v7().to_string(), "hh-1"))
        .await
        .unwrap_err();
    assert_eq!(both.code(), tonic::Code::InvalidArgument);
    assert!(both.message().starts_with("beneficiary_id: "), "{}", both.message());
    let malformed = grpc
        .list_payments(request("SLRT-3375-2026-000042", ""))
        .await
        .unwrap_err();
    assert_eq!(malformed.code(), tonic::Code::InvalidArgument);
    assert_eq!(malformed.message(), "case_id: \"SLRT-3375-2026-000042\" is not a UUID");
    let none_yet = grpc.list_payments(request("", "hh-1")).await.unwrap().into_inner();
    assert_eq!(none_yet.payments, vec![]);

    let (status, body) = app.get("/v1/payments").await;
    assert_eq!(status, 400);
    assert_eq!(
        body,
        serde_json::json!({"error": {"code": "invalid_input", "field": "case_id",
                                     "message": "exactly one of case_id or beneficiary_id is required"}})
    );
    let (status, body) = app.get("/v1/payments?case_id=42").await;
    assert_eq!(
        (status, &body["error"]["field"]),
        (400, &Value::from("case_id")),
        "{body}"
    );
    let (status, body) = app
        .get(&format!("/v1/payments?case_id={}&beneficiary_id=hh-1", Uuid::now_v7()))
        .await;
    assert_eq!(
        (status, &body["error"]["field"]),
        (400, &Value::from("beneficiary_id")),
        "{body}"
    );

    let (status, body) = app.get("/v1/entitlements/42").await;
    assert_eq!(
        (status, &body["error"]["field"]),
        (400, &Value::from("entitlement_id")),
        "{body}"
    );
    let (status, body) = app.get(&format!("/v1/entitlements/{}", Uuid::now_v7())).await;
    assert_eq!(
        (status, &body["error"]["code"]),
        (404, &Value::from("not_found")),
        "{body}"
    );
}

#[tokio::test]
async fn the_payments_report_counts_and_sums_by_status_for_a_programme_and_period() {
    let eligibility = FakeEligibility::default();
    eligibility.not_payable("hh-3", &["beneficiary deceased"]);
    let app = spawn_app(&eligibility.start().await).await;
    let case_id = Uuid::now_v7();
    for beneficiary in ["hh-1", "hh-2", "hh-3"] {
        app.accept(&pkh_acceptance(case_id, beneficiary)).await;
    }
    let mut food = pkh_acceptance(case_id, "hh-4");
    let details = details_mut(&mut food);
    details.programme_code = "BPNT".into();
    details.cadence = "monthly".into();
    details.component = "base".into();
    details.amount_per_period_idr = 200_000;
    app.accept(&food).await;
    for beneficiary in ["hh-1", "hh-2", "hh-3", "hh-4"] {
        app.first_payment_of(beneficiary).await;
    }
    let period = app.first_payment_of("hh-1").await["period"]
        .as_str()
        .unwrap()
        .to_string();

    let (status, report) = app
        .get(&format!("/v1/reports/payments?programme=PKH&period={period}"))
        .await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(
        report,
        serde_json::json!({
            "programme": "PKH", "period": period,
            "by_status": [
                {"status": "instructed", "count": 2, "amount_idr": 1_500_000},
                {"status": "held", "count": 1, "amount_idr": 750_000},
                {"status": "stopped", "count": 0, "amount_idr": 0}
            ],
            "by_stage": [
                {"status": "held", "count": 1, "amount_idr": 750_000},
                {"status": "stopped", "count": 0, "amount_idr": 0},
                {"status": "unbatched", "count": 2, "amount_idr": 1_500_000},
                {"status": "awaiting_release", "count": 0, "amount_idr": 0},
                {"status": "held_at_release", "count": 0, "amount_idr": 0},
                {"status": "released", "count": 0, "amount_idr": 0},
                {"status": "sending", "count": 0, "amount_idr": 0},
                {"status": "paid", "count": 0, "amount_idr": 0},
                {"status": "failed", "count": 0, "amount_idr": 0},
                {"status": "reversed", "count": 0, "amount_idr": 0},
                {"status": "unknown", "count": 0, "amount_idr": 0}
            ],
            "total": {"count": 3, "amount_idr": 2_250_000},
            "by_period": [{
                "programme": "PKH", "period": period,
                "paid": {"count": 0, "amount_idr": 0},
                "held": {"count": 1, "amount_idr": 750_000},
                "stopped": {"count": 0, "amount_idr": 0},
                "failed": {"count": 0, "amount_idr": 0},
                "unknown": {"count": 0, "amount_idr": 0},
                "pending": {"count": 2, "amount_idr": 1_500_000}
            }]
        })
    );
    let (_, everything) = app.get("/v1/reports/payments").await;
    assert_eq!(
        everything["total"],
        serde_json::json!({"count": 4, "amount_idr": 2_450_000})
    );
    let (_, other_period) = app.get("/v1/reports/payments?programme=PKH&period=1999-Q1").await;
    assert_eq!(other_period["total"], serde_json::json!({"count": 0, "amount_idr": 0}));

    let (status, body) = app.get("/v1/reports/payments?programme=PKH&period=2026-4").await;
    assert_eq!(
        (status, &body["error"]["field"]),
        (400, &Value::from("period")),
        "{body}"
    );
    let (status, body) = app.get("/v1/reports/payments?programme=pkh").await;
    assert_eq!(
        (status, &body["error"]["field"]),
        (400, &Value::from("programme")),
        "{body}"
    );
}

#[tokio::test]
async fn the_openapi_document_lists_every_endpoint() {
    let eligibility = FakeEligibility::default();
    let app = spawn_app(&eligibility.start().await).await;
    let (status, document) = app.get("/openapi.json").await;
    assert_eq!(status, 200);
    for path in [
        "/v1/payments",
        "/v1/entitlements/{entitlement_id}",
        "/v1/reports/payments",
        "/v1/reports/paid-after-death",
    ] {
        assert!(
            document["paths"][path]["get"].is_object(),
            "{path} missing from {}",
            document["paths"]
        );
        for refusal in ["401", "403"] {
            assert!(
                document["paths"][path]["get"]["responses"][refusal].is_object(),
                "{path} documents {refusal}"
            );
        }
    }
    assert_eq!(
        document["components"]["securitySchemes"]["bearer"]["scheme"], "bearer",
        "{}",
        document["components"]
    );
    assert_eq!(document["security"][0]["bearer"], serde_json::json!([]));
}

// ---------------------------------------------------------------------------------------
// Payment batches: maker and checker.

impl TestApp {
    /// POST as the person whose step it is: the coordinator releases, the back office does
    /// the rest.
    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        let bearer = if path.ends_with("/release") { checker() } else { maker() };
        self.post_as(path, body, &bearer).await
    }

    /// POST with `bearer` as the Authorization header; none when empty.
    async fn post_as(&self, path: &str, body: Value, bearer: &str) -> (u16, Value) {
        let mut request = self.client.post(format!("{}{path}", self.http)).json(&body);
        if !bearer.is_empty() {
            request = request.header("Authorization", bearer);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// Accepted PKH referrals for `households`, each with its first payment instructed.
    async fn instructed_payments(&self, households: &[&str]) -> String {
        let mut period = String::new();
        for household in households {
            self.accept(&pkh_acceptance(Uuid::now_v7(), household)).await;
            let payment = self.first_payment_of(household).await;
            period = payment["period"].as_str().unwrap().to_string();
        }
        period
    }
}

fn batch_path(batch_id: &str) -> String {
    format!("/v1/batches/{}", batch_id.replace(':', "%3A"))
}

#[tokio::test]
async fn a_batch_is_prepared_by_one_person_and_released_only_by_another() {
    let eligibility = FakeEligibility::default();
    let app = spawn_app(&eligibility.start().await).await;
    let period = app.instructed_payments(&["hh-3375-0101", "hh-3375-0102"]).await;
    // One person of the regency holding both roles: the maker's and the checker's.
    let both_roles = |subject: &str| bearer(subject, &["back_office", "coordinator"], Some("33.75"), None);

    for (body, field) in [
        (
            serde_json::json!({"programme_code": "pkh", "period": period}),
            "programme_code",
        ),
        (
            serde_json::json!({"programme_code": "PKH", "period": "2026-Q5"}),
            "period",
        ),
        // The maker is the token's subject; a body naming one is refused, not ignored.
        (
            serde_json::json!({"programme_code": "PKH", "period": period, "prepared_by": "someone.else"}),
            "prepared_by",
        ),
    ] {
        let (status, error) = app.post("/v1/batches", body).await;
        assert_eq!(
            (status, error["error"]["field"].as_str()),
            (400, Some(field)),
            "{error}"
        );
    }
    let (status, batch) = app
        .post_as(
            "/v1/batches",
            serde_json::json!({"programme_code": "PKH", "period": period}),
            &both_roles("Maker.Dinsos"),
        )
        .await;
    assert_eq!(status, 201, "{batch}");
    let batch_id = batch["batch_id"].as_str().unwrap().to_string();
    assert_eq!(batch_id, format!("PKH:{period}:1"));
    assert_eq!(batch["prepared_by"], "Maker.Dinsos");
    assert_eq!(
        (batch["payment_count"].as_i64(), batch["total_idr"].as_i64()),
        (Some(2), Some(1_500_000))
    );
    assert_eq!(batch["status"], "prepared");

    // Nothing left to batch: refused, nothing recorded.
    let (status, error) = app
        .post(
            "/v1/batches",
            serde_json::json!({"programme_code": "PKH", "period": period}),
        )
        .await;
    assert_eq!(
        (status, error["error"]["code"].as_str()),
        (422, Some("rejected")),
        "{error}"
    );

    // The maker, under any capitalisation of their token's subject, cannot release, even
    // holding the coordinator's role; nothing is asked of eligibility.
    let release = format!("{}/release", batch_path(&batch_id));
    let (status, error) = app
        .post_as(&release, serde_json::json!({}), &both_roles("maker.dinsos"))
        .await;
    assert_eq!(
        (status, error["error"]["code"].as_str()),
        (422, Some("rejected")),
        "{error}"
    );
    assert_eq!(
        error["error"]["message"],
        format!("batch {batch_id} was prepared by Maker.Dinsos; a second person must release it")
    );
    // The back office cannot release at all, and a district's coordinator cannot release the
    // regency's batch.
    let (status, error) = app
        .post_as(
            &release,
            serde_json::json!({}),
            &bearer("bo-3375-2", &["back_office"], Some("33.75"), None),
        )
        .await;
    assert_eq!(status, 403, "{error}");
    assert!(
        error["error"]["message"].as_str().unwrap().contains("coordinator"),
        "{error}"
    );
    let (status, error) = app
        .post_as(
            &release,
            serde_json::json!({}),
            &bearer("koordinator-3375-01", &["coordinator"], Some("33.75.01"), None),
        )
        .await;
    assert_eq!(status, 403, "{error}");
    // The checker is the token's subject; a body naming one is refused.
    let (status, error) = app
        .post_as(
            &release,
            serde_json::json!({"released_by": "checker.dinsos"}),
            &checker(),
        )
        .await;
    assert_eq!(
        (status, error["error"]["field"].as_str()),
        (400, Some("released_by")),
        "{error}"
    );
    assert_eq!(
        eligibility.checks_for("hh-3375-0101"),
        1,
        "only the check at the first payment"
    );

    let (status, released) = app
        .post_as(&release, serde_json::json!({}), &both_roles("checker.dinsos"))
        .await;
    assert_eq!(status, 200, "{released}");
    assert_eq!(released["status"], "released");
    assert_eq!(released["released_by"], "checker.dinsos");
    assert_eq!(
        (released["released_count"].as_i64(), released["held_count"].as_i64()),
        (Some(2), Some(0))
    );
    assert_eq!(eligibility.checks_for("hh-3375-0101"), 2, "checked again at release");
    let (status, again) = app
        .post_as(&release, serde_json::json!({}), &both_roles("checker.dinsos"))
        .await;
    assert_eq!((status, again["released_by"].as_str()), (200, Some("checker.dinsos")));
    let (_, listed) = app.get(&format!("/v1/batches?programme=PKH&period={period}")).await;
    assert_eq!(listed["batches"].as_array().map(Vec::len), Some(1));
    assert_eq!(listed["batches"][0]["released_by"], "checker.dinsos");
    assert!(
        listed["batches"][0].get("payments").is_none(),
        "a list carries totals only"
    );

    // A payment instructed after the batch goes into the next one.
    app.instructed_payments(&["hh-3375-0103"]).await;
    let (status, next) = app
        .post(
            "/v1/batches",
            serde_json::json!({"programme_code": "PKH", "period": period}),
        )
        .await;
    assert_eq!(
        (status, next["sequence"].as_i64(), next["payment_count"].as_i64()),
        (201, Some(2), Some(1))
    );
    assert_eq!(next["prepared_by"], "bo-3375-1");
}

#[tokio::test]
async fn a_beneficiary_who_died_before_release_is_held_with_the_reason_and_not_released() {
    let eligibility = FakeEligibility::default();
    let app = spawn_app(&eligibility.start().await).await;
    let period = app.instructed_payments(&["hh-3375-0201", "hh-3375-0202"]).await;
    let (_, batch) = app
        .post(
            "/v1/batches",
            serde_json::json!({"programme_code": "PKH", "period": period}),
        )
        .await;
    // The death certificate arrives between preparing and releasing.
    eligibility.not_payable(
        "hh-3375-0202",
        &["beneficiary deceased (death certificate, 2026-11-20)"],
    );
    let (status, released) = app
        .post(
            &format!("{}/release", batch_path(batch["batch_id"].as_str().unwrap())),
            serde_json::json!({}),
        )
        .await;
    assert_eq!(status, 200, "{released}");
    assert_eq!(
        (released["released_count"].as_i64(), released["held_count"].as_i64()),
        (Some(1), Some(1))
    );
    assert_eq!(released["released_total_idr"], 750_000);
    let held: Vec<&Value> = released["payments"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|payment| payment["release_status"] == "held")
        .collect();
    assert_eq!(held.len(), 1);
    assert_eq!(held[0]["payment_key"], format!("PKH:{period}:hh-3375-0202:child_0_6"));
    assert_eq!(
        held[0]["hold_reasons"],
        serde_json::json!(["beneficiary deceased (death certificate, 2026-11-20)"])
    );
}

#[tokio::test]
async fn two_checkers_releasing_at_once_record_one_release() {
    let eligibility = FakeEligibility::default();
    let app = spawn_app(&eligibility.start().await).await;
    let period = app.instructed_payments(&["hh-3375-0301"]).await;
    let (_, batch) = app
        .post(
            "/v1/batches",
            serde_json::json!({"programme_code": "PKH", "period": period}),
        )
        .await;
    let release = format!("{}/release", batch_path(batch["batch_id"].as_str().unwrap()));
    let (checker_a, checker_b) = (
        bearer("checker.a", &["coordinator"], Some("33.75"), None),
        bearer("checker.b", &["coordinator"], Some("33.75"), None),
    );
    let (first, second) = tokio::join!(
        app.post_as(&release, serde_json::json!({}), &checker_a),
        app.post_as(&release, serde_json::json!({}), &checker_b),
    );
    assert_eq!((first.0, second.0), (200, 200), "{first:?} {second:?}");
    assert_eq!(
        first.1["released_by"], second.1["released_by"],
        "both answer the one release"
    );
    let releases: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM es_events WHERE event_type = 'slrt.disbursement.v1.PaymentBatchReleased'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(releases, 1);
}

// ---------------------------------------------------------------------------------------
// Sending to the paying bank (the bank simulator, over real gRPC).

use slrt_proto::bank::v1 as bank;
use slrt_proto::bank::v1::bank_control_client::BankControlClient;
use slrt_proto::bank::v1::paying_bank_client::PayingBankClient;

struct Bank {
    url: String,
    _shutdown: slrt_bank_simulator::ShutdownHandle,
}

impl Bank {
    async fn start() -> Self {
        let (addr, shutdown) = slrt_bank_simulator::spawn("127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
        Self {
            url: format!("http://{addr}"),
            _shutdown: shutdown,
        }
    }

    async fn scenario(&self, behaviour: bank::Behaviour, delay_ms: u32, reason: &str) {
        let rule = bank::ScenarioRule {
            behaviour: behaviour.into(),
            delay_ms,
            reason: reason.into(),
            ..bank::ScenarioRule::default()
        };
        BankControlClient::connect(self.url.clone())
            .await
            .unwrap()
            .set_scenario(bank::ScenarioRequest { rules: vec![rule] })
            .await
            .unwrap();
    }

    /// Every transfer the bank holds under `key`, as its statement lists them.
    async fn transfers_under(&self, key: &str) -> Vec<bank::StatementItem> {
        PayingBankClient::connect(self.url.clone())
            .await
            .unwrap()
            .get_statement(bank::StatementRequest::default())
            .await
            .unwrap()
            .into_inner()
            .items
            .into_iter()
            .filter(|item| item.idempotency_key == key)
            .collect()
    }
}

impl TestApp {
    /// Prepares and releases (by two people) the batch of `households`' first payments;
    /// returns their payment keys.
    async fn released_batch(&self, households: &[&str]) -> Vec<String> {
        let period = self.instructed_payments(households).await;
        let (status, batch) = self
            .post(
                "/v1/batches",
                serde_json::json!({"programme_code": "PKH", "period": period}),
            )
            .await;
        assert_eq!(status, 201, "{batch}");
        let (status, released) = self
            .post(
                &format!("{}/release", batch_path(batch["batch_id"].as_str().unwrap())),
                serde_json::json!({}),
            )
            .await;
        assert_eq!(status, 200, "{released}");
        households
            .iter()
            .map(|household| format!("PKH:{period}:{household}:child_0_6"))
            .collect()
    }

    async fn bank_status(&self, key: &str) -> Option<String> {
        sqlx::query_scalar("SELECT bank_status FROM payment_instructions WHERE payment_key = $1")
            .bind(key)
            .fetch_one(&self.pool)
            .await
            .unwrap()
    }

    async fn outcomes_recorded(&self, key: &str) -> Vec<String> {
        let payloads: Vec<Vec<u8>> = sqlx::query_scalar(
            "SELECT payload FROM es_events WHERE event_type = 'slrt.disbursement.v1.PaymentOutcomeRecorded'
             ORDER BY global_position",
        )
        .fetch_all(&self.pool)
        .await
        .unwrap();
        payloads
            .iter()
            .map(|payload| disbursement::PaymentOutcomeRecorded::decode(payload.as_slice()).unwrap())
            .filter(|outcome| outcome.payment_key == key)
            .map(|outcome| outcome.outcome)
            .collect()
    }

    /// The use cases on the app's database, driven by the test instead of the app's sender.
    fn use_cases(&self, eligibility_url: &str, bank_url: &str, bank_timeout: Duration) -> Disbursement {
        let settings = self.settings();
        Disbursement {
            pool: self.pool.clone(),
            store: EventStore::new("disbursement", format!("{}slrt.disbursement.events.v1", self.prefix)),
            eligibility: eligibility_client(eligibility_url, &settings.common.grpc_tls, settings.service_token)
                .unwrap(),
            bank: slrt_disbursement::app::sender::bank_client(bank_url, &settings.common.grpc_tls).unwrap(),
            bank_timeout,
            component_caps: std::sync::Arc::new(settings.component_caps),
            nik_tokens: settings.nik_tokens,
        }
    }
}

#[tokio::test]
async fn released_payments_are_sent_to_the_bank_under_their_key_and_settle() {
    let eligibility = FakeEligibility::default();
    let bank = Bank::start().await;
    let app = spawn_app_with(
        &eligibility.start().await,
        &[
            ("SLRT_BANK_GRPC_URL", bank.url.clone()),
            ("SLRT_DISBURSEMENT_SEND_POLL_MS", "100".into()),
        ],
    )
    .await;
    let keys = app.released_batch(&["hh-3375-0401", "hh-3375-0402"]).await;
    for key in &keys {
        slrt_testkit::eventually(WAIT, &format!("{key} settled"), || async {
            (app.bank_status(key).await.as_deref() == Some("settled")).then_some(())
        })
        .await;
        assert_eq!(bank.transfers_under(key).await.len(), 1, "{key}");
    }
    let payment = app.first_payment_of("hh-3375-0401").await;
    assert_eq!(payment["bank_status"], "settled");
    assert!(
        payment["bank_reference"].as_str().unwrap().starts_with("SIMBANK-"),
        "{payment}"
    );
    assert_eq!(payment["release_status"], "released");
}

#[tokio::test]
async fn a_payment_the_bank_refuses_is_recorded_failed_with_the_banks_reason() {
    let eligibility = FakeEligibility::default();
    let bank = Bank::start().await;
    bank.scenario(bank::Behaviour::Fail, 0, "account closed").await;
    let app = spawn_app_with(
        &eligibility.start().await,
        &[
            ("SLRT_BANK_GRPC_URL", bank.url.clone()),
            ("SLRT_DISBURSEMENT_SEND_POLL_MS", "100".into()),
        ],
    )
    .await;
    let keys = app.released_batch(&["hh-3375-0501"]).await;
    slrt_testkit::eventually(WAIT, "the failure recorded", || async {
        (app.bank_status(&keys[0]).await.as_deref() == Some("failed")).then_some(())
    })
    .await;
    let payment = app.first_payment_of("hh-3375-0501").await;
    assert_eq!(payment["bank_reason"], "account closed");
}

#[tokio::test]
async fn an_ambiguous_timeout_is_resolved_by_asking_the_bank_and_never_paid_twice() {
    let eligibility = FakeEligibility::default();
    let eligibility_url = eligibility.start().await;
    let bank = Bank::start().await;
    // The bank moves the money, then answers after the service has stopped waiting.
    bank.scenario(bank::Behaviour::TimeoutAfterSuccess, 1_500, "").await;
    // The app's own sender waits ten minutes between passes: the test drives the sender.
    let app = spawn_app_with(
        &eligibility_url,
        &[
            ("SLRT_BANK_GRPC_URL", bank.url.clone()),
            ("SLRT_DISBURSEMENT_SEND_POLL_MS", "600000".into()),
        ],
    )
    .await;
    let keys = app.released_batch(&["hh-3375-0601"]).await;
    let sender = app.use_cases(&eligibility_url, &bank.url, Duration::from_millis(300));

    let first = sender.send_released().await.unwrap();
    assert_eq!((first.sent, first.unknown), (1, 1));
    assert_eq!(app.bank_status(&keys[0]).await.as_deref(), Some("unknown"));
    let second = sender.send_released().await.unwrap();
    assert_eq!(second.resolved, 1);
    assert_eq!(app.bank_status(&keys[0]).await.as_deref(), Some("settled"));
    assert_eq!(app.outcomes_recorded(&keys[0]).await, ["unknown", "settled"]);
    assert_eq!(
        bank.transfers_under(&keys[0]).await.len(),
        1,
        "one transfer, under the one key"
    );
}

#[tokio::test]
async fn a_payment_in_flight_when_the_sender_dies_is_resolved_after_a_restart_without_paying_twice() {
    let eligibility = FakeEligibility::default();
    let eligibility_url = eligibility.start().await;
    let bank = Bank::start().await;
    bank.scenario(bank::Behaviour::TimeoutAfterSuccess, 5_000, "").await;
    let app = spawn_app_with(
        &eligibility_url,
        &[
            ("SLRT_BANK_GRPC_URL", bank.url.clone()),
            ("SLRT_DISBURSEMENT_SEND_POLL_MS", "600000".into()),
        ],
    )
    .await;
    let keys = app.released_batch(&["hh-3375-0701"]).await;

    // The sender marks the payment as sending, calls the bank, and dies mid-call.
    let doomed = app.use_cases(&eligibility_url, &bank.url, Duration::from_secs(30));
    let running = tokio::spawn(async move { doomed.send_released().await });
    slrt_testkit::eventually(WAIT, "the bank holds the transfer", || async {
        (!bank.transfers_under(&keys[0]).await.is_empty()).then_some(())
    })
    .await;
    running.abort();
    assert!(running.await.unwrap_err().is_cancelled());
    assert_eq!(
        app.bank_status(&keys[0]).await.as_deref(),
        Some("sending"),
        "nothing recorded after the call"
    );

    // The restarted sender asks the bank about the key instead of sending it again.
    bank.scenario(bank::Behaviour::Succeed, 0, "").await;
    let restarted = app.use_cases(&eligibility_url, &bank.url, Duration::from_secs(2));
    let pass = restarted.send_released().await.unwrap();
    assert_eq!((pass.sent, pass.resolved), (0, 1));
    assert_eq!(app.bank_status(&keys[0]).await.as_deref(), Some("settled"));
    assert_eq!(bank.transfers_under(&keys[0]).await.len(), 1, "paid once");
}

impl Bank {
    async fn fail_next(&self, reason: &str) {
        let rule = bank::ScenarioRule {
            behaviour: bank::Behaviour::Fail.into(),
            reason: reason.into(),
            times: 1,
            ..bank::ScenarioRule::default()
        };
        BankControlClient::connect(self.url.clone())
            .await
            .unwrap()
            .set_scenario(bank::ScenarioRequest { rules: vec![rule] })
            .await
            .unwrap();
    }

    async fn reverse(&self, key: &str, reason: &str) {
        BankControlClient::connect(self.url.clone())
            .await
            .unwrap()
            .reverse(bank::ReverseRequest {
                idempotency_key: key.into(),
                reason: reason.into(),
            })
            .await
            .unwrap();
    }
}

impl TestApp {
    async fn settled(&self, key: &str, status: &str) {
        slrt_testkit::eventually(WAIT, &format!("{key} {status}"), || async {
            (self.bank_status(key).await.as_deref() == Some(status)).then_some(())
        })
        .await;
    }

    /// POST a file as the back office.
    async fn post_raw(&self, path: &str, body: Vec<u8>) -> (u16, Value) {
        self.post_raw_as(path, body, &maker()).await
    }

    async fn post_raw_as(&self, path: &str, body: Vec<u8>, bearer: &str) -> (u16, Value) {
        let response = self
            .client
            .post(format!("{}{path}", self.http))
            .header("content-type", "text/csv")
            .header("Authorization", bearer)
            .body(body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }
}

async fn app_with_bank(bank: &Bank) -> (TestApp, FakeEligibility) {
    let eligibility = FakeEligibility::default();
    let app = spawn_app_with(
        &eligibility.start().await,
        &[
            ("SLRT_BANK_GRPC_URL", bank.url.clone()),
            ("SLRT_DISBURSEMENT_SEND_POLL_MS", "100".into()),
        ],
    )
    .await;
    (app, eligibility)
}

fn batch_of(key: &str) -> String {
    let mut parts = key.split(':');
    format!("{}:{}:1", parts.next().unwrap(), parts.next().unwrap())
}

#[tokio::test]
async fn a_reversal_on_the_banks_statement_is_recorded_and_the_batch_balances() {
    let bank = Bank::start().await;
    let (app, _eligibility) = app_with_bank(&bank).await;
    let keys = app.released_batch(&["hh-3375-0801", "hh-3375-0802"]).await;
    for key in &keys {
        app.settled(key, "settled").await;
    }
    bank.reverse(&keys[0], "beneficiary account dormant").await;

    let path = format!("{}/reconcile", batch_path(&batch_of(&keys[0])));
    let (status, report) = app.post(&path, Value::Null).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["balanced"], true, "{report}");
    assert_eq!(report["changes"][0]["payment_key"], keys[0].as_str());
    assert_eq!(
        (
            report["changes"][0]["from"].as_str(),
            report["changes"][0]["to"].as_str()
        ),
        (Some("settled"), Some("reversed"))
    );
    assert_eq!(
        report["bank"]["reversed"],
        serde_json::json!({"count": 1, "amount_idr": 750_000})
    );
    assert_eq!(report["ours"], report["bank"]);
    let payment = app.first_payment_of("hh-3375-0801").await;
    assert_eq!(
        (payment["bank_status"].as_str(), payment["bank_reason"].as_str()),
        (Some("reversed"), Some("beneficiary account dormant"))
    );
    // Reconciling again finds nothing new.
    let (_, again) = app.post(&path, Value::Null).await;
    assert_eq!(
        (again["balanced"].as_bool(), again["changes"].as_array().map(Vec::len)),
        (Some(true), Some(0))
    );
}

#[tokio::test]
async fn a_failed_payment_is_followed_up_under_its_original_key_and_never_paid_twice() {
    let bank = Bank::start().await;
    bank.fail_next("account closed").await;
    let (app, _eligibility) = app_with_bank(&bank).await;
    let keys = app.released_batch(&["hh-3375-0901"]).await;
    let key = &keys[0];
    app.settled(key, "failed").await;

    let (status, error) = app
        .post("/v1/payments/follow-up", serde_json::json!({"payment_key": key}))
        .await;
    assert_eq!(
        (status, error["error"]["field"].as_str()),
        (400, Some("reason")),
        "{error}"
    );
    let (status, ordered) = app
        .post(
            "/v1/payments/follow-up",
            serde_json::json!({"payment_key": key, "reason": "account corrected"}),
        )
        .await;
    assert_eq!((status, ordered["next_attempt"].as_i64()), (200, Some(2)), "{ordered}");
    app.settled(key, "settled").await;
    let transfers: Vec<(i32, i32)> = bank
        .transfers_under(key)
        .await
        .iter()
        .map(|item| (item.attempt, item.status))
        .collect();
    assert_eq!(
        transfers,
        [
            (1, bank::TransferStatus::Failed as i32),
            (2, bank::TransferStatus::Settled as i32)
        ],
        "one key, a failed attempt and its follow-up"
    );
    // A settled payment is not followed up.
    let (status, _) = app
        .post(
            "/v1/payments/follow-up",
            serde_json::json!({"payment_key": key, "reason": "again"}),
        )
        .await;
    assert_eq!(status, 422);
    let (_, report) = app
        .post(&format!("{}/reconcile", batch_path(&batch_of(key))), Value::Null)
        .await;
    assert_eq!(report["balanced"], true, "{report}");
    assert_eq!(report["ours"]["settled"]["count"], 1);
}

/// A follow-up pays again, so it is checked as a release is: a beneficiary who died after the
/// failed attempt is not paid by the follow-up, the refusal says why, and nothing moves.
#[tokio::test]
async fn a_follow_up_of_a_beneficiary_no_longer_payable_is_refused_with_the_reason_and_nothing_moves() {
    let bank = Bank::start().await;
    bank.fail_next("account closed").await;
    let (app, eligibility) = app_with_bank(&bank).await;
    let keys = app.released_batch(&["hh-3375-0911"]).await;
    let key = &keys[0];
    app.settled(key, "failed").await;
    eligibility.not_payable("hh-3375-0911", &["death certificate recorded on 2026-10-20"]);

    let (status, refused) = app
        .post(
            "/v1/payments/follow-up",
            serde_json::json!({"payment_key": key, "reason": "account corrected"}),
        )
        .await;
    assert_eq!(status, 422, "{refused}");
    let message = refused["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("death certificate recorded on 2026-10-20"),
        "{message}"
    );
    assert_eq!(
        app.bank_status(key).await.as_deref(),
        Some("failed"),
        "still failed, not back on the sender's list"
    );
    let ordered: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM es_events WHERE event_type = 'slrt.disbursement.v1.PaymentFollowUpOrdered'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(ordered, 0, "no follow-up recorded");
    let transfers = bank.transfers_under(key).await;
    assert_eq!(
        transfers.len(),
        1,
        "the bank saw the failed attempt only: {transfers:?}"
    );
}

#[tokio::test]
async fn the_banks_statement_file_reconciles_like_its_answer_and_a_bad_file_changes_nothing() {
    let bank = Bank::start().await;
    let (app, _eligibility) = app_with_bank(&bank).await;
    let keys = app.released_batch(&["hh-3375-1001"]).await;
    app.settled(&keys[0], "settled").await;
    bank.reverse(&keys[0], "returned by the receiving bank").await;
    let batch_id = batch_of(&keys[0]);
    let file = std::env::temp_dir().join(format!("statement-{}.csv", Uuid::now_v7()));
    BankControlClient::connect(bank.url.clone())
        .await
        .unwrap()
        .export_statement(bank::ExportRequest {
            path: file.to_string_lossy().into_owned(),
            batch_id: batch_id.clone(),
        })
        .await
        .unwrap();
    let bytes = std::fs::read(&file).unwrap();
    std::fs::remove_file(&file).unwrap();

    let path = format!("{}/reconcile-file", batch_path(&batch_id));
    let broken = String::from_utf8(bytes.clone()).unwrap().replace("REVERSED", "PAID");
    let (status, error) = app.post_raw(&path, broken.into_bytes()).await;
    assert_eq!(
        (status, error["error"]["field"].as_str()),
        (400, Some("file")),
        "{error}"
    );
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("line 2: status \"PAID\""),
        "{error}"
    );
    assert_eq!(
        app.bank_status(&keys[0]).await.as_deref(),
        Some("settled"),
        "a bad file changes nothing"
    );

    let (status, report) = app.post_raw(&path, bytes).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(
        (report["source"].as_str(), report["balanced"].as_bool()),
        (Some("file"), Some(true))
    );
    assert_eq!(app.bank_status(&keys[0]).await.as_deref(), Some("reversed"));
}

fn next_quarter(quarter: &str) -> String {
    let (year, q) = quarter.split_once("-Q").unwrap();
    let (year, q): (i32, u32) = (year.parse().unwrap(), q.parse().unwrap());
    if q == 4 {
        format!("{}-Q1", year + 1)
    } else {
        format!("{year}-Q{}", q + 1)
    }
}

#[tokio::test]
async fn preparing_a_later_period_instructs_each_due_entitlements_payment_under_its_own_key() {
    let eligibility = FakeEligibility::default();
    let app = spawn_app(&eligibility.start().await).await;
    let first = app.instructed_payments(&["hh-3375-1101", "hh-3375-1102"]).await;
    let next = next_quarter(&first);

    let (status, batch) = app
        .post(
            "/v1/batches",
            serde_json::json!({"programme_code": "PKH", "period": next}),
        )
        .await;
    assert_eq!(status, 201, "{batch}");
    let keys: Vec<&str> = batch["payments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["payment_key"].as_str().unwrap())
        .collect();
    assert_eq!(
        keys,
        [
            format!("PKH:{next}:hh-3375-1101:child_0_6"),
            format!("PKH:{next}:hh-3375-1102:child_0_6")
        ]
    );
    assert_eq!(batch["total_idr"], 1_500_000);
    // Each entitlement now has two payments, one per quarter, and no more.
    assert_eq!(app.payments_of_beneficiary("hh-3375-1101").await.len(), 2);
    let (status, _) = app
        .post(
            "/v1/batches",
            serde_json::json!({"programme_code": "PKH", "period": next}),
        )
        .await;
    assert_eq!(status, 422, "nothing new is due in that quarter");
    // A quarter before the entitlements began owes nothing.
    let (status, _) = app
        .post(
            "/v1/batches",
            serde_json::json!({"programme_code": "PKH", "period": "2020-Q1"}),
        )
        .await;
    assert_eq!(status, 422);
    assert_eq!(app.payments_of_beneficiary("hh-3375-1101").await.len(), 2);
}

// ---------------------------------------------------------------------------------------
// The entitlement lifecycle: eligibility's enrolment and registry events (published on its
// topic as eligibility would), referral's revocations and transfers, and the audit of
// payments made after a death.

use chrono::NaiveDate;

/// The first and last day of a quarter such as `2026-Q4`.
fn quarter_days(quarter: &str) -> (NaiveDate, NaiveDate) {
    let (year, q) = quarter.split_once("-Q").unwrap();
    let (year, q): (i32, u32) = (year.parse().unwrap(), q.parse().unwrap());
    let start = NaiveDate::from_ymd_opt(year, q * 3 - 2, 1).unwrap();
    let (next_year, next_q) = if q == 4 { (year + 1, 1) } else { (year, q + 1) };
    let end = NaiveDate::from_ymd_opt(next_year, next_q * 3 - 2, 1)
        .unwrap()
        .pred_opt()
        .unwrap();
    (start, end)
}

fn today_in_jakarta() -> NaiveDate {
    (Utc::now() + TimeDelta::hours(7)).date_naive()
}

fn death_certificate(person: &str, household: &str, died_on: NaiveDate, was_head: bool) -> eligibility::PersonDeceased {
    eligibility::PersonDeceased {
        person_id: person.into(),
        household_id: household.into(),
        date_of_death: died_on.to_string(),
        was_head,
        source: "DISDUKCAPIL".into(),
        certificate_reference: format!("AKTA-3375-{person}"),
        evidence_id: Uuid::now_v7().to_string(),
    }
}

fn enrolment_ended(beneficiary: &str, ended_on: NaiveDate, reason: &str) -> eligibility::EnrolmentEnded {
    eligibility::EnrolmentEnded {
        enrolment_id: Uuid::now_v7().to_string(),
        programme_code: "PKH".into(),
        beneficiary_id: beneficiary.into(),
        beneficiary_kind: "household".into(),
        ended_on: ended_on.to_string(),
        reason_code: "deceased".into(),
        reason: reason.into(),
        actor: "evidence-feed".into(),
        ..Default::default()
    }
}

impl TestApp {
    fn eligibility_topic(&self) -> String {
        format!("{}slrt.eligibility.events.v1", self.prefix)
    }

    /// Publishes an event on eligibility's topic, as eligibility would.
    async fn publish_as_eligibility<P: prost::Name>(&self, payload: &P) -> Uuid {
        slrt_testkit::publish(
            &slrt_testkit::brokers(),
            &self.eligibility_topic(),
            "eligibility",
            None,
            payload,
        )
        .await
    }

    /// Publishes one envelope twice on eligibility's topic: a redelivery.
    async fn publish_as_eligibility_twice<P: prost::Name>(&self, payload: &P) {
        let event_id = Uuid::now_v7();
        let envelope = EventEnvelope {
            event_id: event_id.to_string(),
            event_type: P::full_name(),
            stream_id: format!("test-{event_id}"),
            stream_version: 1,
            occurred_at: Some(prost_types::Timestamp {
                seconds: Utc::now().timestamp(),
                nanos: 0,
            }),
            source_service: "eligibility".into(),
            payload: payload.encode_to_vec(),
            ..Default::default()
        };
        let producer: FutureProducer = rdkafka::ClientConfig::new()
            .set("bootstrap.servers", slrt_testkit::brokers())
            .set("broker.address.family", "v4")
            .create()
            .unwrap();
        let value = envelope.encode_to_vec();
        for _ in 0..2 {
            producer
                .send(
                    FutureRecord::to(&self.eligibility_topic())
                        .key(&envelope.event_id)
                        .payload(&value),
                    Duration::from_secs(15),
                )
                .await
                .map_err(|(error, _)| error)
                .unwrap();
        }
    }

    /// A death published after everything before it on eligibility's topic (one partition),
    /// seen recorded: every earlier eligibility event has been handled.
    async fn eligibility_handled_up_to_here(&self) {
        let marker = format!("p-marker-{}", Uuid::now_v7().simple());
        self.publish_as_eligibility(&death_certificate(&marker, "", today_in_jakarta(), false))
            .await;
        slrt_testkit::eventually(WAIT, "the marker death recorded", || async {
            let known: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM deaths WHERE person_id = $1)")
                .bind(&marker)
                .fetch_one(&self.pool)
                .await
                .unwrap();
            known.then_some(())
        })
        .await;
    }

    async fn payment(&self, key: &str) -> Value {
        let beneficiary = key.split(':').nth(2).unwrap();
        self.payments_of_beneficiary(beneficiary)
            .await
            .into_iter()
            .find(|payment| payment["payment_key"] == key)
            .unwrap_or(Value::Null)
    }

    async fn wait_for_status(&self, key: &str, status: &str) -> Value {
        slrt_testkit::eventually(WAIT, &format!("{key} {status}"), || async {
            let payment = self.payment(key).await;
            (payment["status"] == status).then_some(payment)
        })
        .await
    }

    async fn paid_after_death(&self) -> Vec<Value> {
        let (status, body) = self.get("/v1/reports/paid-after-death").await;
        assert_eq!(status, 200, "{body}");
        body["payments"].as_array().cloned().unwrap()
    }

    async fn prepare(&self, period: &str) -> (u16, Value) {
        self.post(
            "/v1/batches",
            serde_json::json!({"programme_code": "PKH", "period": period}),
        )
        .await
    }

    async fn release(&self, batch_id: &str) -> Value {
        let (status, released) = self
            .post(&format!("{}/release", batch_path(batch_id)), serde_json::json!({}))
            .await;
        assert_eq!(status, 200, "{released}");
        released
    }

    async fn events_of_type(&self, event_type: &str) -> Vec<Vec<u8>> {
        sqlx::query_scalar("SELECT payload FROM es_events WHERE event_type = $1 ORDER BY global_position")
            .bind(format!("slrt.disbursement.v1.{event_type}"))
            .fetch_all(&self.pool)
            .await
            .unwrap()
    }
}

#[tokio::test]
async fn a_death_confirmed_before_release_stops_the_batched_payment_and_the_bank_never_sees_it() {
    let bank = Bank::start().await;
    let (app, _eligibility) = app_with_bank(&bank).await;
    let period = app.instructed_payments(&["hh-3375-2001", "hh-3375-2002"]).await;
    let (status, batch) = app.prepare(&period).await;
    assert_eq!(status, 201, "{batch}");
    let dead_key = format!("PKH:{period}:hh-3375-2001:child_0_6");
    let living_key = format!("PKH:{period}:hh-3375-2002:child_0_6");

    // The head died the day before the stage began; the certificate arrives after the maker.
    let died_on = quarter_days(&period).0.pred_opt().unwrap();
    app.publish_as_eligibility(&death_certificate("p-3375-2001-1", "hh-3375-2001", died_on, true))
        .await;
    app.publish_as_eligibility(&enrolment_ended(
        "hh-3375-2001",
        died_on,
        "death certificate AKTA-3375-p-3375-2001-1",
    ))
    .await;
    let stopped = app.wait_for_status(&dead_key, "stopped").await;
    assert_eq!(
        stopped["stop_reason"],
        "enrolment ended: death certificate AKTA-3375-p-3375-2001-1"
    );

    // Eligibility's fake answers "payable" for everyone: what stops the payment at release is
    // disbursement's own record of the end.
    let released = app.release(batch["batch_id"].as_str().unwrap()).await;
    assert_eq!(
        (released["released_count"].as_i64(), released["held_count"].as_i64()),
        (Some(1), Some(1)),
        "{released}"
    );
    let held = released["payments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|payment| payment["payment_key"] == dead_key.as_str())
        .cloned()
        .unwrap();
    assert_eq!(held["release_status"], "held");
    assert_eq!(
        held["hold_reasons"],
        serde_json::json!(["payment stopped: enrolment ended: death certificate AKTA-3375-p-3375-2001-1"])
    );
    app.settled(&living_key, "settled").await;
    assert!(bank.transfers_under(&dead_key).await.is_empty(), "never sent");
    assert_eq!(app.payment(&dead_key).await["status"], "stopped");
    assert!(app.paid_after_death().await.is_empty());

    let (_, report) = app
        .get(&format!("/v1/reports/payments?programme=PKH&period={period}"))
        .await;
    assert_eq!(
        report["by_period"][0]["stopped"],
        serde_json::json!({"count": 1, "amount_idr": 750_000})
    );
    assert_eq!(report["by_period"][0]["paid"]["count"], 1);
}

#[tokio::test]
async fn arrears_after_a_retracted_death_report_pay_both_held_periods_once_in_the_next_batch() {
    let bank = Bank::start().await;
    let (app, _eligibility) = app_with_bank(&bank).await;
    let first = app.instructed_payments(&["hh-3375-2101", "hh-3375-2102"]).await;
    let next = next_quarter(&first);
    let key_first = format!("PKH:{first}:hh-3375-2101:child_0_6");
    let key_next = format!("PKH:{next}:hh-3375-2101:child_0_6");
    let (_, batch) = app.prepare(&first).await;

    // The village reports a death: the enrolment is held from today.
    let held_from = today_in_jakarta();
    app.publish_as_eligibility(&eligibility::EnrolmentHeld {
        enrolment_id: Uuid::now_v7().to_string(),
        programme_code: "PKH".into(),
        beneficiary_id: "hh-3375-2101".into(),
        beneficiary_kind: "household".into(),
        held_from: held_from.to_string(),
        reason_code: "death_reported".into(),
        reason: "death reported by the village".into(),
        ..Default::default()
    })
    .await;
    let held = app.wait_for_status(&key_first, "held").await;
    assert_eq!(
        held["hold_reasons"],
        serde_json::json!(["enrolment held: death reported by the village"])
    );
    // Held at release, in the first stage's batch; the other household is paid.
    let released = app.release(batch["batch_id"].as_str().unwrap()).await;
    assert_eq!(released["held_count"], 1, "{released}");
    app.settled(&format!("PKH:{first}:hh-3375-2102:child_0_6"), "settled")
        .await;
    // The next stage is held when it is instructed.
    let (status, next_batch) = app.prepare(&next).await;
    assert_eq!(status, 201, "{next_batch}");
    assert_eq!(
        next_batch["payment_count"], 1,
        "only the living household: {next_batch}"
    );
    assert_eq!(app.payment(&key_next).await["status"], "held");
    app.release(next_batch["batch_id"].as_str().unwrap()).await;

    // The report was wrong: retracted, the hold is released with arrears due.
    let released_on = quarter_days(&next).0 + TimeDelta::days(10);
    let retraction = eligibility::EnrolmentHoldReleased {
        enrolment_id: Uuid::now_v7().to_string(),
        programme_code: "PKH".into(),
        beneficiary_id: "hh-3375-2101".into(),
        beneficiary_kind: "household".into(),
        held_from: held_from.to_string(),
        released_on: released_on.to_string(),
        arrears_due: true,
        reason: "death report retracted by the village".into(),
        actor: "evidence-feed".into(),
        ..Default::default()
    };
    app.publish_as_eligibility_twice(&retraction).await;
    for key in [&key_first, &key_next] {
        let owed = app.wait_for_status(key, "instructed").await;
        assert_eq!(owed["arrears"], true, "{owed}");
    }
    app.eligibility_handled_up_to_here().await;
    assert_eq!(
        app.events_of_type("EntitlementHoldReleased").await.len(),
        1,
        "the redelivery changed nothing"
    );

    // Both stages go into the next batch under their original keys, and are paid once.
    let (status, arrears) = app.prepare(&next).await;
    assert_eq!(status, 201, "{arrears}");
    let keys: Vec<&str> = arrears["payments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|payment| payment["payment_key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, [key_first.as_str(), key_next.as_str()]);
    assert_eq!(arrears["total_idr"], 1_500_000);
    app.release(arrears["batch_id"].as_str().unwrap()).await;
    for key in [&key_first, &key_next] {
        app.settled(key, "settled").await;
        assert_eq!(bank.transfers_under(key).await.len(), 1, "{key} paid once");
    }
    assert_eq!(app.payments_of_beneficiary("hh-3375-2101").await.len(), 2);
    // The first stage's batch still shows what its release decided.
    let (_, original) = app.get(&batch_path(batch["batch_id"].as_str().unwrap())).await;
    let shown = original["payments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|payment| payment["payment_key"] == key_first.as_str())
        .cloned()
        .unwrap();
    assert_eq!(shown["release_status"], "held");
    let (status, _) = app.prepare(&next).await;
    assert_eq!(status, 422, "nothing is left to pay");
    assert!(app.paid_after_death().await.is_empty());
}

#[tokio::test]
async fn a_hold_released_without_arrears_stops_the_held_payment_with_the_reason() {
    let eligibility = FakeEligibility::default();
    let app = spawn_app(&eligibility.start().await).await;
    let period = app.instructed_payments(&["hh-3375-2151"]).await;
    let key = format!("PKH:{period}:hh-3375-2151:child_0_6");
    let held_from = today_in_jakarta();
    let hold = eligibility::EnrolmentHeld {
        programme_code: "PKH".into(),
        beneficiary_id: "hh-3375-2151".into(),
        held_from: held_from.to_string(),
        reason_code: "exclusion_evidence".into(),
        reason: "car registered to the household (SAMSAT)".into(),
        ..Default::default()
    };
    app.publish_as_eligibility(&hold).await;
    app.wait_for_status(&key, "held").await;
    app.publish_as_eligibility(&eligibility::EnrolmentHoldReleased {
        programme_code: "PKH".into(),
        beneficiary_id: "hh-3375-2151".into(),
        held_from: held_from.to_string(),
        released_on: held_from.to_string(),
        arrears_due: false,
        reason: "exclusion confirmed on verification".into(),
        ..Default::default()
    })
    .await;
    let stopped = app.wait_for_status(&key, "stopped").await;
    assert_eq!(
        stopped["stop_reason"],
        "hold lifted without arrears: exclusion confirmed on verification"
    );
    let (status, _) = app.prepare(&period).await;
    assert_eq!(status, 422, "a stopped payment is never batched");
}

#[tokio::test]
async fn a_death_certificate_ends_the_entitlement_and_no_later_period_is_paid() {
    let eligibility = FakeEligibility::default();
    let app = spawn_app(&eligibility.start().await).await;
    let first = app.instructed_payments(&["hh-3375-2201"]).await;
    let next = next_quarter(&first);
    // The maker has already put the next stage in a batch.
    let (status, next_batch) = app.prepare(&next).await;
    assert_eq!(status, 201, "{next_batch}");

    let died_on = today_in_jakarta();
    app.publish_as_eligibility(&death_certificate("p-3375-2201-1", "hh-3375-2201", died_on, true))
        .await;
    let ended = enrolment_ended("hh-3375-2201", died_on, "died; certificate AKTA-3375-2201");
    app.publish_as_eligibility_twice(&ended).await;
    let key_next = format!("PKH:{next}:hh-3375-2201:child_0_6");
    let stopped = app.wait_for_status(&key_next, "stopped").await;
    assert_eq!(
        stopped["stop_reason"],
        "enrolment ended: died; certificate AKTA-3375-2201"
    );
    // The stage in which the person died is still owed; it was covered in part.
    let key_first = format!("PKH:{first}:hh-3375-2201:child_0_6");
    assert_eq!(app.payment(&key_first).await["status"], "instructed");
    app.eligibility_handled_up_to_here().await;
    assert_eq!(app.events_of_type("EntitlementEnded").await.len(), 1);
    assert_eq!(app.events_of_type("PaymentStopped").await.len(), 1);

    let entitlement_id = stopped["entitlement_id"].as_str().unwrap();
    let (_, entitlement) = app.get(&format!("/v1/entitlements/{entitlement_id}")).await;
    assert_eq!(entitlement["ended_on"], died_on.to_string());
    // No period after the end is ever instructed.
    let (status, _) = app.prepare(&next_quarter(&next)).await;
    assert_eq!(status, 422);
    assert_eq!(app.payments_of_beneficiary("hh-3375-2201").await.len(), 2);
    let released = app.release(next_batch["batch_id"].as_str().unwrap()).await;
    assert_eq!(
        (released["released_count"].as_i64(), released["held_count"].as_i64()),
        (Some(0), Some(1))
    );
    // A stopped payment keeps its key and its reason.
    let after = app.payment(&key_next).await;
    assert_eq!(
        (after["status"].as_str(), after["stop_reason"].as_str()),
        (
            Some("stopped"),
            Some("enrolment ended: died; certificate AKTA-3375-2201")
        )
    );
}

#[tokio::test]
async fn a_new_household_head_is_paid_from_the_next_payment_not_yet_sent() {
    let bank = Bank::start().await;
    let (app, _eligibility) = app_with_bank(&bank).await;
    let period = app.instructed_payments(&["hh-3375-2301"]).await;
    let key = format!("PKH:{period}:hh-3375-2301:child_0_6");
    let died_on = today_in_jakarta() - TimeDelta::days(1);
    app.publish_as_eligibility(&death_certificate("p-3375-2301-1", "hh-3375-2301", died_on, true))
        .await;
    app.publish_as_eligibility(&eligibility::HouseholdHeadChanged {
        household_id: "hh-3375-2301".into(),
        previous_head_person_id: "p-3375-2301-1".into(),
        new_head_person_id: "p-3375-2301-2".into(),
        new_head_name: "Rudi Hartono".into(),
        changed_on: today_in_jakarta().to_string(),
        reason_code: "head_deceased".into(),
        reason: "the head died; the eldest son heads the family".into(),
        evidence_id: Uuid::now_v7().to_string(),
    })
    .await;
    let entitlement_id = app.payment(&key).await["entitlement_id"].as_str().unwrap().to_string();
    slrt_testkit::eventually(WAIT, "the payee changed", || async {
        let (_, entitlement) = app.get(&format!("/v1/entitlements/{entitlement_id}")).await;
        (entitlement["payee_name"] == "Rudi Hartono").then_some(())
    })
    .await;

    let (_, batch) = app.prepare(&period).await;
    app.release(batch["batch_id"].as_str().unwrap()).await;
    app.settled(&key, "settled").await;
    assert_eq!(app.payment(&key).await["payee_name"], "Rudi Hartono");
    let sent: Vec<disbursement::PaymentSent> = app
        .events_of_type("PaymentSent")
        .await
        .iter()
        .map(|payload| disbursement::PaymentSent::decode(payload.as_slice()).unwrap())
        .collect();
    assert_eq!(sent.len(), 1);
    assert_eq!(
        (sent[0].payment_key.as_str(), sent[0].payee_name.as_str()),
        (key.as_str(), "Rudi Hartono")
    );
    // Paid after the head's death, but to the new head: not on the audit list.
    assert!(app.paid_after_death().await.is_empty());
}

#[tokio::test]
async fn a_familys_fifth_pkh_component_is_refused_and_an_added_one_starts_next_stage() {
    let eligibility = FakeEligibility::default();
    let app = spawn_app(&eligibility.start().await).await;
    let first = app.instructed_payments(&["hh-3375-2401"]).await;
    let next = next_quarter(&first);
    for component in ["sd", "smp", "elderly_70"] {
        let mut accepted = pkh_acceptance(Uuid::now_v7(), "hh-3375-2401");
        details_mut(&mut accepted).component = component.into();
        app.accept(&accepted).await;
        let key = format!("PKH:{next}:hh-3375-2401:{component}");
        slrt_testkit::eventually(WAIT, &format!("{key} instructed"), || async {
            (app.payment(&key).await["status"] == "instructed").then_some(())
        })
        .await;
    }
    let case_id = Uuid::now_v7();
    let mut fifth = pkh_acceptance(case_id, "hh-3375-2401");
    details_mut(&mut fifth).component = "sma".into();
    app.accept(&fifth).await;
    app.accept(&fifth).await;
    handled_up_to_here(&app, case_id).await;

    let payments = app.payments_of_beneficiary("hh-3375-2401").await;
    let mut keys: Vec<&str> = payments.iter().map(|p| p["payment_key"].as_str().unwrap()).collect();
    keys.sort_unstable();
    assert_eq!(keys.len(), 4, "{keys:?}");
    assert!(!keys.iter().any(|key| key.ends_with(":sma")), "{keys:?}");
    let refusals: Vec<disbursement::EntitlementRefused> = app
        .events_of_type("EntitlementRefused")
        .await
        .iter()
        .map(|payload| disbursement::EntitlementRefused::decode(payload.as_slice()).unwrap())
        .collect();
    assert_eq!(refusals.len(), 1, "refused once, however often it arrives");
    assert_eq!(
        (
            refusals[0].reason_code.as_str(),
            refusals[0].cap,
            refusals[0].component.as_str()
        ),
        ("component_cap", 4, "sma")
    );
    assert_eq!(
        refusals[0].reason,
        "hh-3375-2401 already has 4 open PKH components (child_0_6, elderly_70, sd, smp); a programme pays at most \
         4 components per family, so sma is not opened"
    );
    assert_eq!(refusals[0].case_id, case_id.to_string());
    assert!(app.dead_letters().await.is_empty());
}

#[tokio::test]
async fn revoking_or_transferring_an_accepted_referral_ends_its_entitlement_from_the_next_period() {
    let eligibility = FakeEligibility::default();
    let app = spawn_app(&eligibility.start().await).await;
    let first = app.instructed_payments(&["hh-3375-2501"]).await;
    let next = next_quarter(&first);
    let mut transferred = pkh_acceptance(Uuid::now_v7(), "hh-3375-2502");
    app.accept(&transferred).await;
    app.first_payment_of("hh-3375-2502").await;
    let (status, _) = app.prepare(&next).await;
    assert_eq!(status, 201);

    let revoked_referral = app.payments_of_beneficiary("hh-3375-2501").await[0]["entitlement_id"]
        .as_str()
        .unwrap()
        .to_string();
    let (_, entitlement) = app.get(&format!("/v1/entitlements/{revoked_referral}")).await;
    let revoke = ReferralRevoked {
        referral_id: entitlement["referral_id"].as_str().unwrap().into(),
        case_id: entitlement["case_id"].as_str().unwrap().into(),
        opd_code: "DINSOS".into(),
        actor: "manajer.slrt".into(),
        reason: "the family moved out of the regency".into(),
    };
    let case_id = Uuid::parse_str(&revoke.case_id).unwrap();
    slrt_testkit::publish(
        &slrt_testkit::brokers(),
        &app.referral_topic(),
        "referral",
        Some(case_id),
        &revoke,
    )
    .await;
    let details = details_mut(&mut transferred);
    let transfer = ReferralTransferred {
        referral_id: details.referral_id.clone(),
        case_id: details.case_id.clone(),
        opd_code: "DINSOS".into(),
        actor: "dinsos-officer-17".into(),
        to_opd_code: "BAZNAS".into(),
        reason: "zakat-funded support agreed with the family".into(),
    };
    let transfer_case = Uuid::parse_str(&transfer.case_id).unwrap();
    slrt_testkit::publish(
        &slrt_testkit::brokers(),
        &app.referral_topic(),
        "referral",
        Some(transfer_case),
        &transfer,
    )
    .await;

    let stopped = app
        .wait_for_status(&format!("PKH:{next}:hh-3375-2501:child_0_6"), "stopped")
        .await;
    assert_eq!(
        stopped["stop_reason"],
        "referral revoked: the family moved out of the regency"
    );
    let stopped = app
        .wait_for_status(&format!("PKH:{next}:hh-3375-2502:child_0_6"), "stopped")
        .await;
    assert_eq!(
        stopped["stop_reason"],
        "referral transferred to another agency: zakat-funded support agreed with the family"
    );
    // The stage in which it was revoked stays owed.
    assert_eq!(
        app.payment(&format!("PKH:{first}:hh-3375-2501:child_0_6")).await["status"],
        "instructed"
    );
    let (status, _) = app.prepare(&next_quarter(&next)).await;
    assert_eq!(status, 422, "nothing is due after the end");
}

#[tokio::test]
async fn a_payment_the_bank_settled_after_a_death_learnt_later_is_on_the_paid_after_death_list() {
    let bank = Bank::start().await;
    let (app, _eligibility) = app_with_bank(&bank).await;
    // A household paid through its head, and a person paid in their own name.
    let period = app.instructed_payments(&["hh-3375-2601"]).await;
    let mut personal = pkh_acceptance(Uuid::now_v7(), "p-3375-2602-1");
    details_mut(&mut personal).component = "elderly_70".into();
    app.accept(&personal).await;
    app.first_payment_of("p-3375-2602-1").await;
    let (_, batch) = app.prepare(&period).await;
    app.release(batch["batch_id"].as_str().unwrap()).await;
    let household_key = format!("PKH:{period}:hh-3375-2601:child_0_6");
    let personal_key = format!("PKH:{period}:p-3375-2602-1:elderly_70");
    app.settled(&household_key, "settled").await;
    app.settled(&personal_key, "settled").await;
    assert!(app.paid_after_death().await.is_empty());

    // Days later the civil registry reports both deaths, dated before the payment.
    let died_on = today_in_jakarta() - TimeDelta::days(3);
    app.publish_as_eligibility(&death_certificate("p-3375-2601-1", "hh-3375-2601", died_on, true))
        .await;
    app.publish_as_eligibility(&death_certificate("p-3375-2602-1", "hh-3375-2602", died_on, false))
        .await;
    let listed = slrt_testkit::eventually(WAIT, "both payments listed", || async {
        let listed = app.paid_after_death().await;
        (listed.len() == 2).then_some(listed)
    })
    .await;
    let by_key = |key: &str| listed.iter().find(|row| row["payment_key"] == key).cloned().unwrap();
    let household = by_key(&household_key);
    assert_eq!(
        (
            household["why"].as_str(),
            household["person_id"].as_str(),
            household["was_head"].as_bool()
        ),
        (
            Some("paid_to_household_of_deceased_payee"),
            Some("p-3375-2601-1"),
            Some(true)
        )
    );
    assert_eq!(household["date_of_death"], died_on.to_string());
    assert_eq!(household["certificate_reference"], "AKTA-3375-p-3375-2601-1");
    assert_eq!(household["bank_status"], "settled");
    let person = by_key(&personal_key);
    assert_eq!(person["why"], "paid_to_the_deceased");
    assert_eq!(person["amount_idr"], 750_000);
}

#[tokio::test]
async fn malformed_lifecycle_events_are_dead_lettered_naming_the_field_and_change_nothing() {
    let eligibility = FakeEligibility::default();
    let app = spawn_app(&eligibility.start().await).await;
    let period = app.instructed_payments(&["hh-3375-2701"]).await;
    app.publish_as_eligibility(&enrolment_ended("hh-3375-2701", today_in_jakarta(), "x"))
        .await;
    let mut bad = enrolment_ended("hh-3375-2701", today_in_jakarta(), "x");
    bad.ended_on = "31-12-2026".into();
    app.publish_as_eligibility(&bad).await;
    app.eligibility_handled_up_to_here().await;
    let errors: Vec<String> = sqlx::query_scalar("SELECT error FROM es_dead_letters WHERE consumer = 'lifecycle'")
        .fetch_all(&app.pool)
        .await
        .unwrap();
    assert_eq!(
        errors,
        ["EnrolmentEnded: ended_on: \"31-12-2026\" is not a date (YYYY-MM-DD)"]
    );
    assert_eq!(
        app.payment(&format!("PKH:{period}:hh-3375-2701:child_0_6")).await["status"],
        "instructed"
    );
}

#[tokio::test]
async fn a_batch_larger_than_one_event_is_recorded_in_chunks_with_its_digest_and_paid_once_per_key() {
    let bank = Bank::start().await;
    let (app, _eligibility) = app_with_bank(&bank).await;
    let count = slrt_disbursement::app::batches::CHUNK * 2 + 500;
    let period = "2026-Q4";
    let seeded = slrt_disbursement::bench::seed_period(
        &app.pool,
        &slrt_disbursement::bench::Seed {
            count,
            // As entitlements opened before regions were kept: the regency's staff see them.
            region_code: None,
            prefix: "hh-chunk".into(),
            programme: "PKH".into(),
            component: "child_0_6".into(),
            cadence: "quarterly".into(),
            period: slrt_disbursement::domain::Period::parse(period).unwrap(),
            amount_idr: 750_000,
        },
    )
    .await
    .unwrap();
    assert_eq!(seeded, count);
    let (status, batch) = app.prepare(period).await;
    assert_eq!(status, 201);
    assert_eq!(batch["payment_count"], count);
    let prepared: Vec<disbursement::PaymentBatchPrepared> = app
        .events_of_type("PaymentBatchPrepared")
        .await
        .iter()
        .map(|payload| disbursement::PaymentBatchPrepared::decode(payload.as_slice()).unwrap())
        .collect();
    assert_eq!(prepared.len(), 1);
    assert!(prepared[0].items.is_empty(), "the items travel in chunks");
    assert_eq!(
        (
            prepared[0].item_count,
            prepared[0].chunk_count,
            prepared[0].items_digest.len()
        ),
        (i64::try_from(count).unwrap(), 3, 64)
    );
    let chunks = app.events_of_type("PaymentBatchItems").await;
    assert_eq!(chunks.len(), 3);
    assert!(
        chunks.iter().all(|chunk| chunk.len() < 1_000_000),
        "each chunk fits a Kafka message"
    );

    // Releasing reads the chunks back (checked against the digest) and releases every item.
    let released = app.release(batch["batch_id"].as_str().unwrap()).await;
    assert_eq!(released["released_count"], count);
    let release_events = app.events_of_type("PaymentBatchReleased").await;
    let release = disbursement::PaymentBatchReleased::decode(release_events[0].as_slice()).unwrap();
    assert!(release.released_all_but_held && release.released_keys.is_empty());
    assert_eq!(release.released_count, i64::try_from(count).unwrap());

    slrt_testkit::eventually(WAIT, "every payment settled", || async {
        let settled: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM payment_instructions WHERE bank_status = 'settled'")
                .fetch_one(&app.pool)
                .await
                .unwrap();
        (settled == i64::try_from(count).unwrap()).then_some(())
    })
    .await;
    let (status, report) = app
        .post(
            &format!("{}/reconcile", batch_path(batch["batch_id"].as_str().unwrap())),
            Value::Null,
        )
        .await;
    assert_eq!((status, report["balanced"].as_bool()), (200, Some(true)), "{report}");
    assert_eq!(report["bank"]["settled"]["count"], count);
    let statement = PayingBankClient::connect(bank.url.clone())
        .await
        .unwrap()
        .get_statement(bank::StatementRequest::default())
        .await
        .unwrap()
        .into_inner();
    let keys: std::collections::HashSet<&str> = statement
        .items
        .iter()
        .map(|item| item.idempotency_key.as_str())
        .collect();
    assert_eq!(
        (statement.items.len(), keys.len()),
        (count, count),
        "one transfer per key"
    );
}
