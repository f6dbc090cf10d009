//! The event store contract, against real PostgreSQL (a fresh database per test).

#![expect(clippy::unwrap_used, reason = "tests")]

use std::time::Duration;

use chrono::Utc;
use slrt_eventstore::{AppendError, Cursor, EventStore, ExpectedVersion, NewEvent, read_all};
use sqlx::PgPool;
use uuid::Uuid;

async fn store() -> (PgPool, EventStore) {
    let pool = slrt_testkit::fresh_database().await;
    slrt_eventstore::migrate(&pool).await.unwrap();
    (pool, EventStore::new("test", "test.events"))
}

fn event(label: &str) -> NewEvent {
    NewEvent {
        event_id: Uuid::now_v7(),
        event_type: "test.v1.Something".into(),
        payload: label.as_bytes().to_vec(),
        case_id: None,
        causation_id: None,
        occurred_at: Utc::now(),
        traceparent: None,
    }
}

fn labels(events: &[slrt_eventstore::RecordedEvent]) -> Vec<String> {
    events
        .iter()
        .map(|e| String::from_utf8(e.payload.clone()).unwrap())
        .collect()
}

#[tokio::test]
async fn appended_events_load_back_in_version_order() {
    let (pool, store) = store().await;
    let mut tx = pool.begin().await.unwrap();
    store
        .append(
            &mut tx,
            "case-1",
            ExpectedVersion::NoStream,
            vec![event("a"), event("b")],
        )
        .await
        .unwrap();
    store
        .append(&mut tx, "case-1", ExpectedVersion::Exact(2), vec![event("c")])
        .await
        .unwrap();
    tx.commit().await.unwrap();

    let loaded = store.load(&pool, "case-1").await.unwrap();
    assert_eq!(labels(&loaded), ["a", "b", "c"]);
    assert_eq!(loaded.iter().map(|e| e.stream_version).collect::<Vec<_>>(), [1, 2, 3]);
    assert!(store.load(&pool, "case-2").await.unwrap().is_empty());
}

#[tokio::test]
async fn appending_at_a_stale_version_is_a_conflict() {
    let (pool, store) = store().await;
    let mut tx = pool.begin().await.unwrap();
    store
        .append(&mut tx, "s", ExpectedVersion::NoStream, vec![event("a")])
        .await
        .unwrap();
    let error = store
        .append(&mut tx, "s", ExpectedVersion::NoStream, vec![event("b")])
        .await
        .unwrap_err();
    assert!(matches!(error, AppendError::Conflict { actual: 1, .. }), "{error:?}");
    let error = store
        .append(&mut tx, "s", ExpectedVersion::Exact(5), vec![event("b")])
        .await
        .unwrap_err();
    assert!(matches!(error, AppendError::Conflict { actual: 1, .. }), "{error:?}");
}

#[tokio::test]
async fn concurrent_appends_at_the_same_version_let_exactly_one_win() {
    let (pool, store) = store().await;
    let mut setup = pool.begin().await.unwrap();
    store
        .append(&mut setup, "s", ExpectedVersion::NoStream, vec![event("first")])
        .await
        .unwrap();
    setup.commit().await.unwrap();

    // Both writers pass the version check before either commits; the unique constraint
    // decides, and the loser is told to retry.
    let mut writer_a = pool.begin().await.unwrap();
    let mut writer_b = pool.begin().await.unwrap();
    store
        .append(&mut writer_a, "s", ExpectedVersion::Exact(1), vec![event("from a")])
        .await
        .unwrap();
    let b = {
        let store = store.clone();
        tokio::spawn(async move {
            let result = store
                .append(&mut writer_b, "s", ExpectedVersion::Exact(1), vec![event("from b")])
                .await;
            (result, writer_b)
        })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    writer_a.commit().await.unwrap();
    let (result, _writer_b) = b.await.unwrap();
    assert!(matches!(result, Err(AppendError::Conflict { .. })), "{result:?}");
    assert_eq!(labels(&store.load(&pool, "s").await.unwrap()), ["first", "from a"]);
}

#[tokio::test]
async fn the_same_event_id_cannot_be_stored_twice() {
    let (pool, store) = store().await;
    let once = event("a");
    let mut tx = pool.begin().await.unwrap();
    store
        .append(&mut tx, "s1", ExpectedVersion::Any, vec![once.clone()])
        .await
        .unwrap();
    let error = store
        .append(&mut tx, "s2", ExpectedVersion::Any, vec![once])
        .await
        .unwrap_err();
    assert!(matches!(error, AppendError::DuplicateEvent(_)), "{error:?}");
}

#[tokio::test]
async fn read_all_walks_every_stream_in_commit_order() {
    let (pool, store) = store().await;
    for (stream, label) in [("x", "1"), ("y", "2"), ("x", "3")] {
        let mut tx = pool.begin().await.unwrap();
        store
            .append(&mut tx, stream, ExpectedVersion::Any, vec![event(label)])
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }
    // The horizon is cluster-wide: a transaction open in another database (another test)
    // holds readers back for a moment. It delays; it never reorders or skips.
    let all = slrt_testkit::eventually(Duration::from_secs(10), "all three events", || {
        let pool = pool.clone();
        async move {
            let all = read_all(&pool, Cursor::START, 100).await.unwrap();
            (all.len() == 3).then_some(all)
        }
    })
    .await;
    assert_eq!(labels(&all), ["1", "2", "3"]);
    let rest = read_all(&pool, all[0].cursor, 100).await.unwrap();
    assert_eq!(labels(&rest), ["2", "3"]);
    let page = read_all(&pool, Cursor::START, 2).await.unwrap();
    assert_eq!(labels(&page), ["1", "2"]);
}

#[tokio::test]
async fn read_all_never_passes_an_event_that_commits_late() {
    let (pool, store) = store().await;
    // The slow writer takes the lower position first and commits last.
    let mut slow = pool.begin().await.unwrap();
    store
        .append(&mut slow, "slow", ExpectedVersion::Any, vec![event("slow")])
        .await
        .unwrap();
    let mut fast = pool.begin().await.unwrap();
    store
        .append(&mut fast, "fast", ExpectedVersion::Any, vec![event("fast")])
        .await
        .unwrap();
    fast.commit().await.unwrap();

    // While the slow writer is in flight, the reader is held back rather than allowed past it.
    let seen = read_all(&pool, Cursor::START, 100).await.unwrap();
    assert!(
        seen.is_empty(),
        "reader ran ahead of an in-flight transaction: {:?}",
        labels(&seen)
    );
    slow.commit().await.unwrap();

    let mut cursor = Cursor::START;
    let mut collected = Vec::new();
    let visible = slrt_testkit::eventually(Duration::from_secs(10), "both events", || {
        let pool = pool.clone();
        async move {
            let all = read_all(&pool, Cursor::START, 100).await.unwrap();
            (all.len() == 2).then_some(all)
        }
    })
    .await;
    for event in visible {
        cursor = event.cursor;
        collected.push(String::from_utf8(event.payload).unwrap());
    }
    collected.sort();
    assert_eq!(collected, ["fast", "slow"]);
    assert!(read_all(&pool, cursor, 100).await.unwrap().is_empty());
}

#[tokio::test]
async fn every_appended_event_is_queued_in_the_outbox_with_its_case_as_key() {
    let (pool, store) = store().await;
    let case_id = Uuid::now_v7();
    let mut tx = pool.begin().await.unwrap();
    store
        .append(
            &mut tx,
            "case-a",
            ExpectedVersion::Any,
            vec![event("a").for_case(case_id), event("b")],
        )
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let keys: Vec<(String, String)> =
        sqlx::query_as("SELECT topic, partition_key FROM es_outbox ORDER BY global_position")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(
        keys,
        [
            ("test.events".to_string(), case_id.to_string()),
            ("test.events".to_string(), "case-a".to_string())
        ]
    );
}

#[tokio::test]
async fn a_rolled_back_append_leaves_nothing_behind() {
    let (pool, store) = store().await;
    let mut tx = pool.begin().await.unwrap();
    store
        .append(&mut tx, "s", ExpectedVersion::Any, vec![event("a")])
        .await
        .unwrap();
    tx.rollback().await.unwrap();
    assert!(store.load(&pool, "s").await.unwrap().is_empty());
    let queued: i64 = sqlx::query_scalar("SELECT count(*) FROM es_outbox")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(queued, 0);
}
