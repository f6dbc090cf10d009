//! The audit log against a real PostgreSQL: append-only, gapless, and any edit found.

#![expect(clippy::expect_used, reason = "tests stop loudly on a broken fixture")]

use slrt_audit::{AuditQuery, AuditRecord, Outcome, access_report, migrate, query, record, record_alone, verify_chain};
use sqlx::PgPool;

async fn log() -> PgPool {
    let pool = slrt_testkit::fresh_database().await;
    migrate(&pool).await.expect("audit migration");
    pool
}

fn read_of(actor: &str, subject: Option<&str>, resource: &str) -> AuditRecord {
    AuditRecord {
        actor: actor.to_string(),
        actor_roles: vec!["supervisor".to_string()],
        action: "case.read".to_string(),
        resource: resource.to_string(),
        subjects: subject.map(str::to_string).into_iter().collect(),
        purpose: Some("monitoring overdue referrals".to_string()),
        outcome: Outcome::Allowed,
        detail: serde_json::json!({ "fields": ["timeline"] }),
    }
}

#[tokio::test]
async fn entries_chain_and_the_chain_verifies() {
    let pool = log().await;
    for n in 0..5 {
        record_alone(&pool, &read_of("sup-1", Some("tok-a"), &format!("case/{n}")))
            .await
            .expect("recorded");
    }

    let report = verify_chain(&pool).await.expect("verified");
    let entries = query(
        &pool,
        &AuditQuery {
            limit: 10,
            ..AuditQuery::default()
        },
    )
    .await
    .expect("queried");

    assert_eq!(report.entries, 5);
    assert_eq!(report.first_broken, None);
    assert_eq!(report.head_hash.as_deref(), Some(entries[4].hash.as_str()));
    for pair in entries.windows(2) {
        assert_eq!(pair[1].prev_hash, pair[0].hash);
        assert_eq!(pair[1].seq, pair[0].seq + 1);
    }
}

#[tokio::test]
async fn the_log_refuses_updates_deletes_and_truncation() {
    let pool = log().await;
    record_alone(&pool, &read_of("sup-1", None, "case/1"))
        .await
        .expect("recorded");

    for statement in [
        "UPDATE audit_log SET actor = 'someone-else'",
        "DELETE FROM audit_log",
        "TRUNCATE audit_log",
    ] {
        let error = sqlx::query(statement)
            .execute(&pool)
            .await
            .expect_err("the log is append-only");
        // TRUNCATE meets the subjects table's foreign key before the trigger; either refuses.
        let text = error.to_string();
        assert!(
            text.contains("append-only") || text.contains("cannot truncate"),
            "{statement}: {text}"
        );
    }
    assert_eq!(verify_chain(&pool).await.expect("verified").entries, 1);
}

#[tokio::test]
async fn an_edit_made_around_the_triggers_is_found_at_its_entry() {
    let pool = log().await;
    for n in 0..4 {
        record_alone(&pool, &read_of("sup-1", None, &format!("case/{n}")))
            .await
            .expect("recorded");
    }
    // Someone with the table owner's rights switches the guard off and rewrites entry 3.
    let mut conn = pool.acquire().await.expect("connection");
    sqlx::query("ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update_or_delete")
        .execute(&mut *conn)
        .await
        .expect("disable");
    sqlx::query("UPDATE audit_log SET purpose = 'nothing to see' WHERE seq = 3")
        .execute(&mut *conn)
        .await
        .expect("tamper");

    let report = verify_chain(&pool).await.expect("verified");
    let broken = report.first_broken.expect("the edit is found");
    assert_eq!(broken.seq, 3);
    assert!(
        broken.reason.contains("changed after it was written"),
        "{}",
        broken.reason
    );

    sqlx::query("DELETE FROM audit_log WHERE seq = 3")
        .execute(&mut *conn)
        .await
        .expect("remove");
    let broken = verify_chain(&pool)
        .await
        .expect("verified")
        .first_broken
        .expect("the gap is found");
    assert_eq!(broken.seq, 4);
    assert!(broken.reason.contains("entry 3 is missing"), "{}", broken.reason);
}

#[tokio::test]
async fn concurrent_appends_keep_one_gapless_chain() {
    let pool = log().await;
    let writers = (0..8).map(|writer| {
        let pool = pool.clone();
        tokio::spawn(async move {
            for n in 0..10 {
                record_alone(
                    &pool,
                    &read_of(&format!("w{writer}"), None, &format!("case/{writer}-{n}")),
                )
                .await
                .expect("recorded");
            }
        })
    });
    for writer in futures::future::join_all(writers).await {
        writer.expect("writer finished");
    }

    let report = verify_chain(&pool).await.expect("verified");
    assert_eq!(report.entries, 80);
    assert_eq!(report.first_broken, None);
}

#[tokio::test]
async fn a_change_rolled_back_leaves_no_record() {
    let pool = log().await;
    let mut tx = pool.begin().await.expect("transaction");
    record(&mut tx, &read_of("sup-1", None, "case/1"))
        .await
        .expect("recorded");
    tx.rollback().await.expect("rolled back");
    record_alone(&pool, &read_of("sup-1", None, "case/2"))
        .await
        .expect("recorded");

    let report = verify_chain(&pool).await.expect("verified");
    assert_eq!(report.entries, 1);
    assert_eq!(report.first_broken, None);
}

#[tokio::test]
async fn a_persons_access_report_lists_who_touched_their_data_and_why() {
    let pool = log().await;
    record_alone(&pool, &read_of("sup-1", Some("tok-siti"), "case/1"))
        .await
        .expect("recorded");
    record_alone(&pool, &read_of("sup-2", Some("tok-budi"), "case/2"))
        .await
        .expect("recorded");
    record_alone(
        &pool,
        &AuditRecord {
            actor: "opd-dinkes-7".to_string(),
            actor_roles: vec!["opd_officer".to_string()],
            action: "referral.read".to_string(),
            resource: "referral/9".to_string(),
            subjects: vec!["tok-siti".to_string(), "tok-budi".to_string()],
            purpose: Some("serving the referral".to_string()),
            outcome: Outcome::NotFound,
            detail: serde_json::json!({}),
        },
    )
    .await
    .expect("recorded");

    let report = access_report(&pool, "tok-siti").await.expect("report");

    assert_eq!(report.len(), 2);
    assert_eq!(access_report(&pool, "tok-budi").await.expect("report").len(), 2);
    assert_eq!(report[0].actor, "sup-1");
    assert_eq!(report[1].actor, "opd-dinkes-7");
    assert_eq!(report[1].outcome, Outcome::NotFound);
    assert_eq!(report[1].purpose.as_deref(), Some("serving the referral"));
}

#[tokio::test]
async fn auditors_filter_by_actor_and_resource_in_keyset_pages() {
    let pool = log().await;
    for n in 0..3 {
        record_alone(&pool, &read_of("sup-1", None, &format!("case/{n}")))
            .await
            .expect("recorded");
    }
    record_alone(&pool, &read_of("sup-2", None, "referral/1"))
        .await
        .expect("recorded");

    let by_actor = query(
        &pool,
        &AuditQuery {
            actor: Some("sup-2".to_string()),
            limit: 100,
            ..AuditQuery::default()
        },
    )
    .await
    .expect("queried");
    let cases = query(
        &pool,
        &AuditQuery {
            resource_prefix: Some("case".to_string()),
            limit: 2,
            ..AuditQuery::default()
        },
    )
    .await
    .expect("queried");
    let next = query(
        &pool,
        &AuditQuery {
            resource_prefix: Some("case/".to_string()),
            after_seq: Some(cases[1].seq),
            limit: 1_000_000,
            ..AuditQuery::default()
        },
    )
    .await
    .expect("queried");

    assert_eq!(by_actor.len(), 1);
    assert_eq!(cases.len(), 2);
    assert_eq!(next.len(), 1);
    assert_eq!(next[0].resource, "case/2");
}
