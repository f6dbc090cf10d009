//! Referral's read models: `referrals` (one row per referral, where it stands now) and
//! `unrouted_needs`. They are written in the transaction that appends the events they
//! follow, so a query never sees a referral whose events are not stored, and they can be
//! rebuilt by applying the referral streams again, oldest event first.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgExecutor};
use uuid::Uuid;

use crate::domain::{Nik, ReferralEvent, ReferralStatus, ReferralUnrouted};

/// A referral as the read model holds it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ReferralRecord {
    pub referral_id: Uuid,
    pub case_id: Uuid,
    pub need_id: Uuid,
    pub category: String,
    pub programme_code: Option<String>,
    pub opd_code: String,
    pub opd_name: String,
    pub service: String,
    pub region_code: String,
    pub client_name: String,
    // A `Nik`, so that debug output of a record never shows the number.
    #[sqlx(try_from = "String")]
    pub client_nik: Nik,
    pub beneficiary_id: Option<String>,
    pub cash: bool,
    pub amount_per_period_idr: i64,
    pub cadence: String,
    pub component: String,
    pub status: String,
    pub last_actor: Option<String>,
    pub rejection_reason: Option<String>,
    pub successful: Option<bool>,
    pub outcome_code: Option<String>,
    pub note: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// An approved need that no rule routes.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct UnroutedRecord {
    pub case_id: Uuid,
    pub need_id: Uuid,
    pub event_id: Uuid,
    pub category: String,
    pub programme_code: Option<String>,
    pub region_code: String,
    pub reason: String,
    pub at: DateTime<Utc>,
}

/// Applies one referral event, recorded at `at`. Events of one referral must come in stream
/// order; a `ReferralRequested` seen again changes nothing.
pub async fn apply(conn: &mut PgConnection, event: &ReferralEvent, at: DateTime<Utc>) -> Result<(), sqlx::Error> {
    match event {
        ReferralEvent::Requested(requested) => {
            let d = &requested.details;
            let benefit = d.benefit.as_ref();
            // Only a replay of the same referral is ignored; a second referral for the same
            // need violates UNIQUE (case_id, need_id) and fails the transaction.
            sqlx::query(
                "INSERT INTO referrals (referral_id, case_id, need_id, category, programme_code, opd_code, opd_name,
                                        service, region_code, client_name, client_nik, beneficiary_id, cash,
                                        amount_per_period_idr, cadence, component, status, created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $18)
                 ON CONFLICT (referral_id) DO NOTHING",
            )
            .bind(d.referral_id)
            .bind(d.case_id)
            .bind(d.need_id)
            .bind(d.category.as_str())
            .bind(&d.programme_code)
            .bind(d.opd_code.as_str())
            .bind(&d.opd_name)
            .bind(&d.service)
            .bind(&d.region_code)
            .bind(&d.client_name)
            .bind(d.client_nik.as_str())
            .bind(&d.beneficiary_id)
            .bind(benefit.is_some())
            .bind(benefit.map(|b| b.amount_per_period_idr).unwrap_or_default())
            .bind(benefit.map(|b| b.cadence.as_str()).unwrap_or_default())
            .bind(benefit.map(|b| b.component.as_str()).unwrap_or_default())
            .bind(ReferralStatus::Requested.as_str())
            .bind(at)
            .execute(&mut *conn)
            .await?;
        }
        ReferralEvent::Acknowledged(e) => {
            sqlx::query("UPDATE referrals SET status = $2, last_actor = $3, updated_at = $4 WHERE referral_id = $1")
                .bind(e.referral_id)
                .bind(ReferralStatus::Acknowledged.as_str())
                .bind(&e.actor)
                .bind(at)
                .execute(&mut *conn)
                .await?;
        }
        ReferralEvent::Accepted(e) => {
            sqlx::query(
                "UPDATE referrals SET status = $2, last_actor = $3, note = $4, updated_at = $5 WHERE referral_id = $1",
            )
            .bind(e.details.referral_id)
            .bind(ReferralStatus::Accepted.as_str())
            .bind(&e.actor)
            .bind(&e.note)
            .bind(at)
            .execute(&mut *conn)
            .await?;
        }
        ReferralEvent::Rejected(e) => {
            sqlx::query(
                "UPDATE referrals SET status = $2, last_actor = $3, rejection_reason = $4, updated_at = $5
                 WHERE referral_id = $1",
            )
            .bind(e.referral_id)
            .bind(ReferralStatus::Rejected.as_str())
            .bind(&e.actor)
            .bind(&e.reason)
            .bind(at)
            .execute(&mut *conn)
            .await?;
        }
        ReferralEvent::Completed(e) => {
            sqlx::query(
                "UPDATE referrals SET status = $2, last_actor = $3, successful = $4, outcome_code = $5,
                                      note = COALESCE($6, note), updated_at = $7
                 WHERE referral_id = $1",
            )
            .bind(e.referral_id)
            .bind(ReferralStatus::Completed.as_str())
            .bind(&e.actor)
            .bind(e.completion.successful())
            .bind(e.completion.outcome_code().map(|code| code.as_str()))
            .bind(&e.note)
            .bind(at)
            .execute(&mut *conn)
            .await?;
        }
    }
    Ok(())
}

/// Records an unrouted need; the same need recorded again changes nothing.
pub async fn record_unrouted(
    conn: &mut PgConnection,
    event_id: Uuid,
    unrouted: &ReferralUnrouted,
    at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO unrouted_needs (case_id, need_id, event_id, category, programme_code, region_code, reason, at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (case_id, need_id) DO NOTHING",
    )
    .bind(unrouted.case_id)
    .bind(unrouted.need_id)
    .bind(event_id)
    .bind(&unrouted.category)
    .bind(&unrouted.programme_code)
    .bind(&unrouted.region_code)
    .bind(&unrouted.reason)
    .bind(at)
    .execute(conn)
    .await?;
    Ok(())
}

/// Whether the need was handled before: routed to an OPD or recorded as unrouted.
pub async fn need_handled(conn: &mut PgConnection, case_id: Uuid, need_id: Uuid) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM referrals WHERE case_id = $1 AND need_id = $2)
             OR EXISTS (SELECT 1 FROM unrouted_needs WHERE case_id = $1 AND need_id = $2)",
    )
    .bind(case_id)
    .bind(need_id)
    .fetch_one(conn)
    .await
}

pub async fn find(executor: impl PgExecutor<'_>, referral_id: Uuid) -> Result<Option<ReferralRecord>, sqlx::Error> {
    sqlx::query_as("SELECT * FROM referrals WHERE referral_id = $1")
        .bind(referral_id)
        .fetch_optional(executor)
        .await
}

/// What a supervisor's list may be narrowed to.
#[derive(Debug, Clone, Default)]
pub struct ReferralFilter {
    pub opd_code: Option<String>,
    pub status: Option<ReferralStatus>,
    /// Only referrals after this one (referral ids are time-ordered UUIDv7).
    pub after: Option<Uuid>,
    pub limit: i64,
}

/// A page of referrals, oldest first.
pub async fn list(executor: impl PgExecutor<'_>, filter: &ReferralFilter) -> Result<Vec<ReferralRecord>, sqlx::Error> {
    sqlx::query_as(
        "SELECT * FROM referrals
         WHERE ($1::text IS NULL OR opd_code = $1)
           AND ($2::text IS NULL OR status = $2)
           AND ($3::uuid IS NULL OR referral_id > $3)
         ORDER BY referral_id
         LIMIT $4",
    )
    .bind(&filter.opd_code)
    .bind(filter.status.map(ReferralStatus::as_str))
    .bind(filter.after)
    .bind(filter.limit)
    .fetch_all(executor)
    .await
}

/// An OPD's referrals that still wait for it, oldest first.
pub async fn list_open(
    executor: impl PgExecutor<'_>,
    opd_code: &str,
    limit: i64,
) -> Result<Vec<ReferralRecord>, sqlx::Error> {
    let open: Vec<&str> = ReferralStatus::ALL
        .into_iter()
        .filter(|status| status.is_open())
        .map(ReferralStatus::as_str)
        .collect();
    sqlx::query_as("SELECT * FROM referrals WHERE opd_code = $1 AND status = ANY($2) ORDER BY referral_id LIMIT $3")
        .bind(opd_code)
        .bind(open)
        .bind(limit)
        .fetch_all(executor)
        .await
}

/// Those of `referral_ids` that are routed to `opd_code`.
pub async fn owned_by(
    executor: impl PgExecutor<'_>,
    opd_code: &str,
    referral_ids: &[Uuid],
) -> Result<Vec<ReferralRecord>, sqlx::Error> {
    sqlx::query_as("SELECT * FROM referrals WHERE opd_code = $1 AND referral_id = ANY($2)")
        .bind(opd_code)
        .bind(referral_ids)
        .fetch_all(executor)
        .await
}

/// A page of unrouted needs, oldest first.
pub async fn list_unrouted(
    executor: impl PgExecutor<'_>,
    after: Option<Uuid>,
    limit: i64,
) -> Result<Vec<UnroutedRecord>, sqlx::Error> {
    sqlx::query_as(
        "SELECT case_id, need_id, event_id, category, programme_code, region_code, reason, at
         FROM unrouted_needs WHERE ($1::uuid IS NULL OR event_id > $1) ORDER BY event_id LIMIT $2",
    )
    .bind(after)
    .bind(limit)
    .fetch_all(executor)
    .await
}
