//! The audit log: one append-only, hash-chained table per service database.
//!
//! Every read and change of a person's data is recorded with who, what, when and why
//! ([`AuditRecord`]). Each entry's hash covers its content and the previous entry's hash, so
//! the log can be checked end to end ([`verify_chain`]); the table's triggers refuse updates
//! and deletes, and an edit made around them breaks the chain where it was made. Publishing
//! the head hash elsewhere from time to time ([`ChainReport::head_hash`]) also exposes a
//! rewrite of the whole chain.
//!
//! A change is audited in the transaction that makes it ([`record`] takes the caller's
//! connection), so there is no change without its record and no record of a change that
//! rolled back. Appends are serialised by a transaction-scoped advisory lock, which keeps
//! the sequence gapless; the lock is held until the caller commits.

pub mod access;
pub mod grants;
pub mod http;
pub mod openapi;

use chrono::{DateTime, SubsecRound, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::{PgConnection, PgPool, Row};

/// Runs this crate's migration (the `audit_log` table). Services run their own migrations
/// beside it; each migrator ignores versions it does not own.
pub async fn migrate(pool: &PgPool) -> Result<(), sqlx::migrate::MigrateError> {
    let mut migrator = sqlx::migrate!("./migrations");
    migrator.set_ignore_missing(true);
    migrator.run(pool).await
}

/// Arbitrary key of the advisory lock that serialises appends (ASCII "SLRTAUDT").
const APPEND_LOCK: i64 = 0x534C_5254_4155_4454;

/// Hash of the (absent) entry before the first.
const GENESIS: [u8; 32] = [0; 32];

/// How a request ended, as far as access goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Allowed,
    /// Refused for lack of a role or scope.
    Denied,
    /// Answered "not found": the thing does not exist or lies outside the caller's scope.
    /// Recorded because guessing other areas' or agencies' ids is what an auditor looks for.
    NotFound,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Allowed => "allowed",
            Outcome::Denied => "denied",
            Outcome::NotFound => "not_found",
        }
    }

    fn parse(text: &str) -> Option<Outcome> {
        [Outcome::Allowed, Outcome::Denied, Outcome::NotFound]
            .into_iter()
            .find(|outcome| outcome.as_str() == text)
    }
}

/// One thing to record.
#[derive(Debug, Clone)]
pub struct AuditRecord {
    pub actor: String,
    pub actor_roles: Vec<String>,
    pub action: String,
    pub resource: String,
    /// Keyed tokens of the NIKs of the people whose data was read or changed (one for a
    /// case, one per person listed for a list); empty when no person is concerned.
    pub subjects: Vec<String>,
    pub purpose: Option<String>,
    pub outcome: Outcome,
    /// Anything else worth keeping (filters used, fields changed); never a NIK in clear.
    pub detail: serde_json::Value,
}

/// A recorded entry, as auditors read it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditEntry {
    pub seq: i64,
    pub recorded_at: DateTime<Utc>,
    pub actor: String,
    pub actor_roles: Vec<String>,
    pub action: String,
    pub resource: String,
    pub subjects: Vec<String>,
    pub purpose: Option<String>,
    pub outcome: Outcome,
    pub detail: String,
    pub prev_hash: String,
    pub hash: String,
}

/// Appends `record` in the caller's transaction and returns the entry.
pub async fn record(conn: &mut PgConnection, record: &AuditRecord) -> Result<AuditEntry, sqlx::Error> {
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(APPEND_LOCK)
        .execute(&mut *conn)
        .await?;
    let last: Option<(i64, Vec<u8>)> = sqlx::query_as("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")
        .fetch_optional(&mut *conn)
        .await?;
    let (seq, prev_hash) = match last {
        Some((seq, hash)) => (seq + 1, hash),
        None => (1, GENESIS.to_vec()),
    };
    // Microseconds: what PostgreSQL keeps, so the hash can be recomputed from the row.
    let recorded_at = Utc::now().trunc_subsecs(6);
    let roles = record.actor_roles.join(",");
    let mut subjects = record.subjects.clone();
    subjects.sort();
    subjects.dedup();
    let subjects_text = subjects.join(",");
    let detail = record.detail.to_string();
    let fields = Fields {
        seq,
        recorded_at,
        actor: &record.actor,
        actor_roles: &roles,
        action: &record.action,
        resource: &record.resource,
        subjects: &subjects_text,
        purpose: record.purpose.as_deref(),
        outcome: record.outcome.as_str(),
        detail: &detail,
    };
    let hash = fields.hash(&prev_hash);
    sqlx::query(
        "INSERT INTO audit_log (seq, recorded_at, actor, actor_roles, action, resource, subjects, purpose, \
         outcome, detail, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(seq)
    .bind(recorded_at)
    .bind(&record.actor)
    .bind(&roles)
    .bind(&record.action)
    .bind(&record.resource)
    .bind(&subjects_text)
    .bind(record.purpose.as_deref())
    .bind(record.outcome.as_str())
    .bind(&detail)
    .bind(&prev_hash)
    .bind(hash.as_slice())
    .execute(&mut *conn)
    .await?;
    if !subjects.is_empty() {
        sqlx::query("INSERT INTO audit_log_subjects (subject_token, seq) SELECT unnest($1::text[]), $2")
            .bind(&subjects)
            .bind(seq)
            .execute(&mut *conn)
            .await?;
    }
    Ok(AuditEntry {
        seq,
        recorded_at,
        actor: record.actor.clone(),
        actor_roles: record.actor_roles.clone(),
        action: record.action.clone(),
        resource: record.resource.clone(),
        subjects,
        purpose: record.purpose.clone(),
        outcome: record.outcome,
        detail,
        prev_hash: hex::encode(&prev_hash),
        hash: hex::encode(hash),
    })
}

/// Appends `record` in a transaction of its own (for reads, which change nothing else).
pub async fn record_alone(pool: &PgPool, entry: &AuditRecord) -> Result<AuditEntry, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let recorded = record(&mut tx, entry).await?;
    tx.commit().await?;
    Ok(recorded)
}

/// The content a hash covers, in a fixed, unambiguous encoding: every text field is
/// length-prefixed and absent values differ from empty ones.
struct Fields<'a> {
    seq: i64,
    recorded_at: DateTime<Utc>,
    actor: &'a str,
    actor_roles: &'a str,
    action: &'a str,
    resource: &'a str,
    subjects: &'a str,
    purpose: Option<&'a str>,
    outcome: &'a str,
    detail: &'a str,
}

impl Fields<'_> {
    fn hash(&self, prev_hash: &[u8]) -> [u8; 32] {
        let mut digest = Sha256::new();
        digest.update(prev_hash);
        digest.update(self.seq.to_be_bytes());
        digest.update(self.recorded_at.timestamp_micros().to_be_bytes());
        for text in [self.actor, self.actor_roles, self.action, self.resource, self.subjects] {
            put_text(&mut digest, Some(text));
        }
        put_text(&mut digest, self.purpose);
        put_text(&mut digest, Some(self.outcome));
        put_text(&mut digest, Some(self.detail));
        digest.finalize().into()
    }
}

fn put_text(digest: &mut Sha256, text: Option<&str>) {
    match text {
        None => digest.update([0u8]),
        Some(text) => {
            digest.update([1u8]);
            digest.update((text.len() as u64).to_be_bytes());
            digest.update(text.as_bytes());
        }
    }
}

/// The result of checking the chain from the first entry to the last.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChainReport {
    pub entries: i64,
    /// Hash of the last entry (hex); worth publishing outside the database.
    pub head_hash: Option<String>,
    /// The first entry whose content, link or sequence does not check, if any.
    pub first_broken: Option<BrokenLink>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BrokenLink {
    pub seq: i64,
    pub reason: String,
}

/// Recomputes every hash in order. Reads in pages, so a long log needs little memory.
pub async fn verify_chain(pool: &PgPool) -> Result<ChainReport, sqlx::Error> {
    const PAGE: i64 = 5_000;
    let mut expected_prev = GENESIS.to_vec();
    let mut expected_seq = 1_i64;
    let mut entries = 0_i64;
    let mut head = None;
    loop {
        let rows = sqlx::query(
            "SELECT seq, recorded_at, actor, actor_roles, action, resource, subjects, purpose, outcome, detail, \
             prev_hash, hash FROM audit_log WHERE seq >= $1 ORDER BY seq LIMIT $2",
        )
        .bind(expected_seq)
        .bind(PAGE)
        .fetch_all(pool)
        .await?;
        if rows.is_empty() {
            break;
        }
        for row in &rows {
            let seq: i64 = row.try_get("seq")?;
            let broken = |reason: &str| BrokenLink {
                seq,
                reason: reason.to_string(),
            };
            if seq != expected_seq {
                return Ok(report(
                    entries,
                    head,
                    Some(broken(&format!("entry {expected_seq} is missing"))),
                ));
            }
            let prev_hash: Vec<u8> = row.try_get("prev_hash")?;
            let hash: Vec<u8> = row.try_get("hash")?;
            if prev_hash != expected_prev {
                return Ok(report(
                    entries,
                    head,
                    Some(broken(
                        "its link to the previous entry does not match that entry's hash",
                    )),
                ));
            }
            let actor: String = row.try_get("actor")?;
            let actor_roles: String = row.try_get("actor_roles")?;
            let action: String = row.try_get("action")?;
            let resource: String = row.try_get("resource")?;
            let subjects: String = row.try_get("subjects")?;
            let purpose: Option<String> = row.try_get("purpose")?;
            let outcome: String = row.try_get("outcome")?;
            let detail: String = row.try_get("detail")?;
            let fields = Fields {
                seq,
                recorded_at: row.try_get("recorded_at")?,
                actor: &actor,
                actor_roles: &actor_roles,
                action: &action,
                resource: &resource,
                subjects: &subjects,
                purpose: purpose.as_deref(),
                outcome: &outcome,
                detail: &detail,
            };
            if fields.hash(&prev_hash).as_slice() != hash.as_slice() {
                return Ok(report(
                    entries,
                    head,
                    Some(broken(
                        "its content does not match its hash: it was changed after it was written",
                    )),
                ));
            }
            entries += 1;
            expected_seq = seq + 1;
            head = Some(hex::encode(&hash));
            expected_prev = hash;
        }
    }
    Ok(report(entries, head, None))
}

fn report(entries: i64, head_hash: Option<String>, first_broken: Option<BrokenLink>) -> ChainReport {
    ChainReport {
        entries,
        head_hash,
        first_broken,
    }
}

/// What auditors filter the log by. Pages run forward from `after_seq`.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    pub actor: Option<String>,
    pub subject_token: Option<String>,
    /// Matches resources equal to it or under it ("case/…").
    pub resource_prefix: Option<String>,
    pub action: Option<String>,
    pub outcome: Option<Outcome>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub after_seq: Option<i64>,
    pub limit: i64,
}

/// The most entries one page returns, whatever the caller asks for.
pub const MAX_PAGE: i64 = 500;

pub async fn query(pool: &PgPool, filter: &AuditQuery) -> Result<Vec<AuditEntry>, sqlx::Error> {
    let limit = filter.limit.clamp(1, MAX_PAGE);
    let rows = sqlx::query(
        "SELECT seq, recorded_at, actor, actor_roles, action, resource, subjects, purpose, outcome, detail, \
         prev_hash, hash FROM audit_log \
         WHERE ($1::text IS NULL OR actor = $1) \
           AND ($2::text IS NULL OR seq IN (SELECT seq FROM audit_log_subjects WHERE subject_token = $2)) \
           AND ($3::text IS NULL OR resource = $3 OR starts_with(resource, $3 || '/')) \
           AND ($4::text IS NULL OR action = $4) \
           AND ($5::text IS NULL OR outcome = $5) \
           AND ($6::timestamptz IS NULL OR recorded_at >= $6) \
           AND ($7::timestamptz IS NULL OR recorded_at < $7) \
           AND seq > $8 \
         ORDER BY seq LIMIT $9",
    )
    .bind(filter.actor.as_deref())
    .bind(filter.subject_token.as_deref())
    .bind(filter.resource_prefix.as_deref().map(|p| p.trim_end_matches('/')))
    .bind(filter.action.as_deref())
    .bind(filter.outcome.map(Outcome::as_str))
    .bind(filter.from)
    .bind(filter.to)
    .bind(filter.after_seq.unwrap_or(0))
    .bind(limit)
    .fetch_all(pool)
    .await?;
    rows.iter().map(entry_of).collect()
}

fn entry_of(row: &sqlx::postgres::PgRow) -> Result<AuditEntry, sqlx::Error> {
    let roles: String = row.try_get("actor_roles")?;
    let outcome: String = row.try_get("outcome")?;
    let prev_hash: Vec<u8> = row.try_get("prev_hash")?;
    let hash: Vec<u8> = row.try_get("hash")?;
    Ok(AuditEntry {
        seq: row.try_get("seq")?,
        recorded_at: row.try_get("recorded_at")?,
        actor: row.try_get("actor")?,
        actor_roles: roles.split(',').filter(|r| !r.is_empty()).map(str::to_string).collect(),
        action: row.try_get("action")?,
        resource: row.try_get("resource")?,
        subjects: {
            let text: String = row.try_get("subjects")?;
            text.split(',').filter(|s| !s.is_empty()).map(str::to_string).collect()
        },
        purpose: row.try_get("purpose")?,
        // The table's CHECK admits only the three values.
        outcome: Outcome::parse(&outcome).unwrap_or(Outcome::Denied),
        detail: row.try_get("detail")?,
        prev_hash: hex::encode(prev_hash),
        hash: hex::encode(hash),
    })
}

/// One line of the report a person may ask for under UU 27/2022: who processed their data,
/// when, what they did and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AccessLine {
    pub at: DateTime<Utc>,
    pub actor: String,
    pub actor_roles: Vec<String>,
    pub action: String,
    pub purpose: Option<String>,
    pub outcome: Outcome,
}

/// Every access to the data of the person with keyed token `subject_token`, oldest first.
pub async fn access_report(pool: &PgPool, subject_token: &str) -> Result<Vec<AccessLine>, sqlx::Error> {
    let mut lines = Vec::new();
    let mut after = 0;
    loop {
        let page = query(
            pool,
            &AuditQuery {
                subject_token: Some(subject_token.to_string()),
                after_seq: Some(after),
                limit: MAX_PAGE,
                ..AuditQuery::default()
            },
        )
        .await?;
        let Some(last) = page.last() else { break };
        after = last.seq;
        lines.extend(page.into_iter().map(|entry| AccessLine {
            at: entry.recorded_at,
            actor: entry.actor,
            actor_roles: entry.actor_roles,
            action: entry.action,
            purpose: entry.purpose,
            outcome: entry.outcome,
        }));
    }
    Ok(lines)
}
