//! The outbox relay and the inbox consumer against real PostgreSQL and a real broker.

#![expect(clippy::unwrap_used, reason = "tests")]

use std::collections::HashSet;
use std::time::Duration;

use chrono::Utc;
use rdkafka::Message;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::Headers;
use slrt_eventstore::envelope::ReceivedEnvelope;
use slrt_eventstore::{EventStore, ExpectedVersion, NewEvent, decode_envelope};
use slrt_messaging::consumer::apply_once;
use slrt_messaging::topics::ensure_topics;
use slrt_messaging::{EventHandler, HandlerError, InboxConsumer, OutboxRelay};
use sqlx::{PgConnection, PgPool};
use tokio::sync::watch;
use uuid::Uuid;

struct Setup {
    pool: PgPool,
    store: EventStore,
    topic: String,
}

async fn setup(brokers: &str) -> Setup {
    let pool = slrt_testkit::fresh_database().await;
    slrt_eventstore::migrate(&pool).await.unwrap();
    let topic = format!("{}slrt.test.events.v1", slrt_testkit::unique_prefix());
    ensure_topics(brokers, std::slice::from_ref(&topic), 2).await.unwrap();
    Setup {
        store: EventStore::new("test", topic.clone()),
        pool,
        topic,
    }
}

fn event(case_id: Uuid, label: &str) -> NewEvent {
    NewEvent {
        event_id: Uuid::now_v7(),
        event_type: "test.v1.Labelled".into(),
        payload: label.as_bytes().to_vec(),
        case_id: Some(case_id),
        causation_id: None,
        occurred_at: Utc::now(),
        traceparent: Some("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".into()),
    }
}

async fn append(setup: &Setup, stream: &str, new: NewEvent) -> Uuid {
    let id = new.event_id;
    let mut tx = setup.pool.begin().await.unwrap();
    setup
        .store
        .append(&mut tx, stream, ExpectedVersion::Any, vec![new])
        .await
        .unwrap();
    tx.commit().await.unwrap();
    id
}

/// Reads the topic from the beginning until `expected` distinct events arrived.
async fn read_topic(brokers: &str, topic: &str, expected: usize) -> Vec<(ReceivedEnvelope, Option<String>)> {
    let consumer: StreamConsumer = slrt_messaging::client_config(brokers)
        .set("group.id", format!("reader-{}", Uuid::now_v7()))
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .set("fetch.wait.max.ms", "10")
        .create()
        .unwrap();
    consumer.subscribe(&[topic]).unwrap();
    let mut seen = Vec::new();
    let mut ids = HashSet::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while ids.len() < expected {
        let message = tokio::time::timeout_at(deadline, consumer.recv())
            .await
            .unwrap_or_else(|_| panic!("only {} of {expected} events arrived on {topic}", ids.len()))
            .unwrap();
        let envelope = decode_envelope(message.payload().unwrap()).unwrap();
        let traceparent = message
            .headers()
            .and_then(|h| h.iter().find(|h| h.key == "traceparent"))
            .and_then(|h| h.value)
            .map(|v| String::from_utf8_lossy(v).to_string());
        ids.insert(envelope.event_id);
        seen.push((envelope, traceparent));
    }
    seen
}

async fn outbox_len(pool: &PgPool) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM es_outbox")
        .fetch_one(pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn relay_publishes_an_event_that_committed_after_a_later_one_was_published() {
    let brokers = slrt_testkit::brokers();
    let setup = setup(&brokers).await;
    let mut relay = OutboxRelay::new(setup.pool.clone(), &brokers, "test", Duration::from_millis(100)).unwrap();
    let case = Uuid::now_v7();

    // The slow writer holds the lower position; the fast one commits first and is published.
    let mut slow = setup.pool.begin().await.unwrap();
    let slow_event = event(case, "slow");
    let slow_id = slow_event.event_id;
    setup
        .store
        .append(&mut slow, "stream-slow", ExpectedVersion::Any, vec![slow_event])
        .await
        .unwrap();
    let fast_id = append(&setup, "stream-fast", event(case, "fast")).await;
    assert_eq!(relay.drain().await.unwrap(), 1);

    slow.commit().await.unwrap();
    assert_eq!(
        relay.drain().await.unwrap(),
        1,
        "the late-committing event must not be skipped"
    );
    assert_eq!(outbox_len(&setup.pool).await, 0);

    let received = read_topic(&brokers, &setup.topic, 2).await;
    let ids: HashSet<Uuid> = received.iter().map(|(e, _)| e.event_id).collect();
    assert_eq!(ids, HashSet::from([slow_id, fast_id]));
    for (envelope, traceparent) in &received {
        assert_eq!(envelope.case_id, Some(case));
        assert_eq!(envelope.source_service, "test");
        assert_eq!(
            traceparent.as_deref(),
            Some("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
        );
    }
}

#[tokio::test]
async fn one_cases_events_arrive_in_the_order_they_were_appended() {
    let brokers = slrt_testkit::brokers();
    let setup = setup(&brokers).await;
    let case = Uuid::now_v7();
    let mut expected = Vec::new();
    for n in 0..30 {
        expected.push(append(&setup, "case-stream", event(case, &n.to_string())).await);
    }
    let mut relay = OutboxRelay::new(setup.pool.clone(), &brokers, "test", Duration::from_millis(100)).unwrap();
    relay.drain().await.unwrap();
    let received: Vec<Uuid> = read_topic(&brokers, &setup.topic, 30)
        .await
        .into_iter()
        .map(|(e, _)| e.event_id)
        .collect();
    assert_eq!(received, expected);
}

#[tokio::test]
async fn events_written_while_the_broker_is_down_are_published_once_it_is_back() {
    let mut broker = slrt_testkit::PrivateBroker::start().await;
    let brokers = broker.address();
    let setup = setup(&brokers).await;
    let relay = OutboxRelay::new(setup.pool.clone(), &brokers, "test", Duration::from_millis(100)).unwrap();
    let (stop, stopped) = watch::channel(false);
    let relay_task = tokio::spawn(relay.run(stopped));

    let before = append(&setup, "s", event(Uuid::now_v7(), "before")).await;
    slrt_testkit::eventually(Duration::from_secs(30), "the first event to be published", || {
        let pool = setup.pool.clone();
        async move { (outbox_len(&pool).await == 0).then_some(()) }
    })
    .await;

    broker.kill();
    let mut during = Vec::new();
    for n in 0..5 {
        during.push(append(&setup, "s", event(Uuid::now_v7(), &format!("during {n}"))).await);
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        outbox_len(&setup.pool).await,
        5,
        "events written during the outage wait in the outbox"
    );

    broker.restart().await;
    slrt_testkit::eventually(
        Duration::from_secs(90),
        "the outbox to drain after the broker returned",
        || {
            let pool = setup.pool.clone();
            async move { (outbox_len(&pool).await == 0).then_some(()) }
        },
    )
    .await;
    let received: HashSet<Uuid> = read_topic(&brokers, &setup.topic, 6)
        .await
        .into_iter()
        .map(|(e, _)| e.event_id)
        .collect();
    assert!(received.contains(&before));
    for id in during {
        assert!(received.contains(&id), "event {id} written during the outage was lost");
    }
    stop.send(true).unwrap();
    relay_task.await.unwrap();
}

/// Counts how often each label was applied, in the consumer's own transaction.
struct CountingHandler;

impl EventHandler for CountingHandler {
    async fn handle(&self, conn: &mut PgConnection, event: &ReceivedEnvelope) -> Result<(), HandlerError> {
        let label = String::from_utf8(event.payload.clone()).map_err(|e| HandlerError::Permanent(e.to_string()))?;
        if label == "poison" {
            return Err(HandlerError::Permanent("poison cannot be applied".into()));
        }
        sqlx::query("INSERT INTO effects (label, applied) VALUES ($1, 1) ON CONFLICT (label) DO UPDATE SET applied = effects.applied + 1")
            .bind(label)
            .execute(conn)
            .await?;
        Ok(())
    }
}

async fn applied(pool: &PgPool, label: &str) -> i64 {
    sqlx::query_scalar("SELECT COALESCE((SELECT applied FROM effects WHERE label = $1), 0)")
        .bind(label)
        .fetch_one(pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn an_event_delivered_twice_has_one_effect() {
    let brokers = slrt_testkit::brokers();
    let setup = setup(&brokers).await;
    sqlx::query("CREATE TABLE effects (label TEXT PRIMARY KEY, applied BIGINT NOT NULL)")
        .execute(&setup.pool)
        .await
        .unwrap();
    let case = Uuid::now_v7();

    // Publish once, then put the outbox row back (a relay that crashed after sending but
    // before deleting) and publish again: the broker now holds the event twice.
    let twice = append(&setup, "s", event(case, "twice")).await;
    let mut relay = OutboxRelay::new(setup.pool.clone(), &brokers, "test", Duration::from_millis(100)).unwrap();
    relay.drain().await.unwrap();
    sqlx::query("INSERT INTO es_outbox (global_position, topic, partition_key) SELECT global_position, $1, $2 FROM es_events WHERE event_id = $3")
        .bind(&setup.topic)
        .bind(case.to_string())
        .bind(twice)
        .execute(&setup.pool)
        .await
        .unwrap();
    relay.drain().await.unwrap();
    // Same case key, so this marker arrives after both copies.
    append(&setup, "s", event(case, "marker")).await;
    relay.drain().await.unwrap();
    assert_eq!(
        read_topic(&brokers, &setup.topic, 2).await.len(),
        3,
        "the broker holds the duplicate"
    );

    let group = format!("{}consumer", slrt_testkit::unique_prefix());
    let consumer = InboxConsumer::new(
        "counting",
        setup.pool.clone(),
        &brokers,
        &group,
        std::slice::from_ref(&setup.topic),
        CountingHandler,
    )
    .unwrap();
    let (stop, stopped) = watch::channel(false);
    let task = tokio::spawn(consumer.run(stopped));
    slrt_testkit::eventually(Duration::from_secs(60), "the marker to be applied", || {
        let pool = setup.pool.clone();
        async move { (applied(&pool, "marker").await == 1).then_some(()) }
    })
    .await;
    assert_eq!(applied(&setup.pool, "twice").await, 1);
    stop.send(true).unwrap();
    task.await.unwrap();
}

#[tokio::test]
async fn applying_the_same_envelope_again_is_a_no_op() {
    let pool = slrt_testkit::fresh_database().await;
    slrt_eventstore::migrate(&pool).await.unwrap();
    sqlx::query("CREATE TABLE effects (label TEXT PRIMARY KEY, applied BIGINT NOT NULL)")
        .execute(&pool)
        .await
        .unwrap();
    let envelope = ReceivedEnvelope {
        event_id: Uuid::now_v7(),
        event_type: "test.v1.Labelled".into(),
        stream_id: "s".into(),
        stream_version: 1,
        case_id: None,
        causation_id: None,
        occurred_at: Utc::now(),
        source_service: "test".into(),
        global_position: 1,
        payload: b"once".to_vec(),
    };
    use slrt_messaging::consumer::Applied;
    assert_eq!(
        apply_once(&pool, "c", &CountingHandler, &envelope).await.unwrap(),
        Applied::Applied
    );
    assert_eq!(
        apply_once(&pool, "c", &CountingHandler, &envelope).await.unwrap(),
        Applied::Duplicate
    );
    assert_eq!(applied(&pool, "once").await, 1);
    // Another consumer in the same database has its own inbox.
    assert_eq!(
        apply_once(&pool, "other", &CountingHandler, &envelope).await.unwrap(),
        Applied::Applied
    );
}

#[tokio::test]
async fn a_poison_event_is_dead_lettered_and_the_partition_moves_on() {
    let brokers = slrt_testkit::brokers();
    let setup = setup(&brokers).await;
    sqlx::query("CREATE TABLE effects (label TEXT PRIMARY KEY, applied BIGINT NOT NULL)")
        .execute(&setup.pool)
        .await
        .unwrap();
    let case = Uuid::now_v7();
    let poison = append(&setup, "s", event(case, "poison")).await;
    append(&setup, "s", event(case, "after")).await;
    OutboxRelay::new(setup.pool.clone(), &brokers, "test", Duration::from_millis(100))
        .unwrap()
        .drain()
        .await
        .unwrap();

    let group = format!("{}consumer", slrt_testkit::unique_prefix());
    let consumer = InboxConsumer::new(
        "counting",
        setup.pool.clone(),
        &brokers,
        &group,
        std::slice::from_ref(&setup.topic),
        CountingHandler,
    )
    .unwrap();
    let (stop, stopped) = watch::channel(false);
    let task = tokio::spawn(consumer.run(stopped));
    slrt_testkit::eventually(
        Duration::from_secs(60),
        "the event after the poison to be applied",
        || {
            let pool = setup.pool.clone();
            async move { (applied(&pool, "after").await == 1).then_some(()) }
        },
    )
    .await;
    let (event_id, error): (Option<Uuid>, String) = sqlx::query_as("SELECT event_id, error FROM es_dead_letters")
        .fetch_one(&setup.pool)
        .await
        .unwrap();
    assert_eq!(event_id, Some(poison));
    assert!(error.contains("poison cannot be applied"), "{error}");
    stop.send(true).unwrap();
    task.await.unwrap();
}

/// Acts only on labelled events; a topic carries other types too.
struct LabelledOnly;

impl EventHandler for LabelledOnly {
    fn wants(&self, event_type: &str) -> bool {
        event_type == "test.v1.Labelled"
    }

    async fn handle(&self, conn: &mut PgConnection, event: &ReceivedEnvelope) -> Result<(), HandlerError> {
        CountingHandler.handle(conn, event).await
    }
}

#[tokio::test]
async fn events_a_consumer_does_not_act_on_are_passed_over_without_a_trace() {
    let brokers = slrt_testkit::brokers();
    let setup = setup(&brokers).await;
    sqlx::query("CREATE TABLE effects (label TEXT PRIMARY KEY, applied BIGINT NOT NULL)")
        .execute(&setup.pool)
        .await
        .unwrap();
    let case = Uuid::now_v7();
    let mut other = event(case, "other");
    other.event_type = "test.v1.SomethingElse".into();
    append(&setup, "s", other).await;
    let marker = append(&setup, "s", event(case, "marker")).await;
    OutboxRelay::new(setup.pool.clone(), &brokers, "test", Duration::from_millis(100))
        .unwrap()
        .drain()
        .await
        .unwrap();

    let group = format!("{}consumer", slrt_testkit::unique_prefix());
    let consumer = InboxConsumer::new(
        "labelled",
        setup.pool.clone(),
        &brokers,
        &group,
        std::slice::from_ref(&setup.topic),
        LabelledOnly,
    )
    .unwrap();
    let (stop, stopped) = watch::channel(false);
    let task = tokio::spawn(consumer.run(stopped));
    slrt_testkit::eventually(Duration::from_secs(60), "the marker to be applied", || {
        let pool = setup.pool.clone();
        async move { (applied(&pool, "marker").await == 1).then_some(()) }
    })
    .await;
    let inbox: Vec<Uuid> = sqlx::query_scalar("SELECT event_id FROM es_inbox")
        .fetch_all(&setup.pool)
        .await
        .unwrap();
    assert_eq!(inbox, [marker], "only the event acted on is recorded");
    assert_eq!(applied(&setup.pool, "other").await, 0);
    stop.send(true).unwrap();
    task.await.unwrap();
}
