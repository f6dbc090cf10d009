//! Referral's read models: `referrals` (one row per referral, where it stands now, with its
//! deadlines), `sla_timers` (the next escalation of each running clock), `escalations`,
//! `referral_links` and `unrouted_needs`. They are written in the transaction that appends
//! the events they follow, so a query never sees a referral whose events are not stored,
//! and they can be rebuilt by applying the referral streams again, oldest event first.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgExecutor};
use uuid::Uuid;

use crate::domain::{Nik, ReferralEvent, ReferralStatus, ReferralUnrouted, Sla, SlaClock};

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
    pub attempt: i32,
    pub previous_referral_id: Option<Uuid>,
    pub routed_by: String,
    pub routing_note: String,
    pub sla_tier: String,
    pub need_referred_at: DateTime<Utc>,
    pub response_due_at: DateTime<Utc>,
    pub resolution_due_at: DateTime<Utc>,
    pub first_response_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    pub transferred_to: Option<String>,
    pub revocation_reason: Option<String>,
    pub escalation_level: i32,
    pub linked_needs: i32,
}

impl ReferralRecord {
    pub fn status(&self) -> Option<ReferralStatus> {
        ReferralStatus::parse(&self.status)
    }
}

/// A need no agency holds.
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
    pub tried_opd_codes: Vec<String>,
    pub linked_needs: i32,
}

/// One escalation, as supervisors list them.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EscalationRecord {
    pub event_id: Uuid,
    pub referral_id: Uuid,
    pub case_id: Uuid,
    pub opd_code: String,
    pub clock: String,
    pub level: i32,
    pub escalated_to: String,
    pub escalated_to_name: String,
    pub due_at: DateTime<Utc>,
    pub escalated_at: DateTime<Utc>,
    pub working_days_overdue: i32,
    /// The referral's status now.
    pub status: String,
}

/// Applies one referral event (`event_id`, recorded at `at`). Events of one referral must
/// come in stream order; applying an event again changes nothing.
pub async fn apply(
    conn: &mut PgConnection,
    sla: &Sla,
    event: &ReferralEvent,
    event_id: Uuid,
    at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    match event {
        ReferralEvent::Requested(requested) => {
            let d = &requested.details;
            let benefit = d.benefit.as_ref();
            // Only a replay of the same referral is ignored; a second open referral for the
            // same need or person violates a unique index and fails the transaction.
            let inserted = sqlx::query(
                "INSERT INTO referrals (referral_id, case_id, need_id, category, programme_code, opd_code, opd_name,
                                        service, region_code, client_name, client_nik, beneficiary_id, cash,
                                        amount_per_period_idr, cadence, component, status, created_at, updated_at,
                                        attempt, previous_referral_id, routed_by, routing_note, sla_tier,
                                        need_referred_at, response_due_at, resolution_due_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $18,
                         $19, $20, $21, $22, $23, $24, $25, $26)
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
            .bind(i32::try_from(d.attempt).unwrap_or(i32::MAX))
            .bind(d.previous_referral_id)
            .bind(requested.routed_by.as_str())
            .bind(&requested.note)
            .bind(d.sla.tier.as_str())
            .bind(d.sla.need_referred_at)
            .bind(d.sla.response_due_at)
            .bind(d.sla.resolution_due_at)
            .execute(&mut *conn)
            .await?
            .rows_affected();
            if inserted == 1 {
                for clock in SlaClock::ALL {
                    set_timer(conn, sla, d.referral_id, clock, d.sla.due_at(clock), 1).await?;
                }
            }
        }
        ReferralEvent::Acknowledged(e) => {
            status_change(conn, e.referral_id, ReferralStatus::Acknowledged, &e.actor, at).await?;
        }
        ReferralEvent::Accepted(e) => {
            status_change(conn, e.details.referral_id, ReferralStatus::Accepted, &e.actor, at).await?;
            set_note(conn, e.details.referral_id, e.note.as_deref()).await?;
        }
        ReferralEvent::InProgress(e) => {
            status_change(conn, e.referral_id, ReferralStatus::InProgress, &e.actor, at).await?;
            set_note(conn, e.referral_id, e.note.as_deref()).await?;
        }
        ReferralEvent::Rejected(e) => {
            status_change(conn, e.referral_id, ReferralStatus::Rejected, &e.actor, at).await?;
            sqlx::query("UPDATE referrals SET rejection_reason = $2 WHERE referral_id = $1")
                .bind(e.referral_id)
                .bind(&e.reason)
                .execute(&mut *conn)
                .await?;
        }
        ReferralEvent::Completed(e) => {
            status_change(conn, e.referral_id, ReferralStatus::Completed, &e.actor, at).await?;
            sqlx::query("UPDATE referrals SET successful = $2, outcome_code = $3 WHERE referral_id = $1")
                .bind(e.referral_id)
                .bind(e.completion.successful())
                .bind(e.completion.outcome_code().map(|code| code.as_str()))
                .execute(&mut *conn)
                .await?;
            set_note(conn, e.referral_id, e.note.as_deref()).await?;
        }
        ReferralEvent::Transferred(e) => {
            status_change(conn, e.referral_id, ReferralStatus::Transferred, &e.actor, at).await?;
            sqlx::query("UPDATE referrals SET transferred_to = $2, note = $3 WHERE referral_id = $1")
                .bind(e.referral_id)
                .bind(e.to_opd_code.as_str())
                .bind(&e.reason)
                .execute(&mut *conn)
                .await?;
        }
        ReferralEvent::Revoked(e) => {
            status_change(conn, e.referral_id, ReferralStatus::Revoked, &e.actor, at).await?;
            sqlx::query("UPDATE referrals SET revocation_reason = $2 WHERE referral_id = $1")
                .bind(e.referral_id)
                .bind(&e.reason)
                .execute(&mut *conn)
                .await?;
        }
        ReferralEvent::Escalated(e) => {
            let level = i32::try_from(e.level).unwrap_or(i32::MAX);
            let inserted = sqlx::query(
                "INSERT INTO escalations (event_id, referral_id, case_id, opd_code, clock, level, escalated_to,
                                          escalated_to_name, due_at, escalated_at, working_days_overdue)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
                 ON CONFLICT DO NOTHING",
            )
            .bind(event_id)
            .bind(e.referral_id)
            .bind(e.case_id)
            .bind(e.opd_code.as_str())
            .bind(e.clock.as_str())
            .bind(level)
            .bind(&e.escalated_to)
            .bind(&e.escalated_to_name)
            .bind(e.due_at)
            .bind(e.escalated_at)
            .bind(i32::try_from(e.working_days_overdue).unwrap_or(i32::MAX))
            .execute(&mut *conn)
            .await?
            .rows_affected();
            if inserted == 1 {
                sqlx::query(
                    "UPDATE referrals SET escalation_level = GREATEST(escalation_level, $2), updated_at = $3
                     WHERE referral_id = $1",
                )
                .bind(e.referral_id)
                .bind(level)
                .bind(at)
                .execute(&mut *conn)
                .await?;
                set_timer(conn, sla, e.referral_id, e.clock, e.due_at, e.level + 1).await?;
            }
        }
        ReferralEvent::Linked(e) => {
            let inserted = sqlx::query(
                "INSERT INTO referral_links (referral_id, linked_case_id, linked_need_id, linked_at)
                 VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
            )
            .bind(e.referral_id)
            .bind(e.linked.case_id)
            .bind(e.linked.need_id)
            .bind(at)
            .execute(&mut *conn)
            .await?
            .rows_affected();
            if inserted == 1 {
                sqlx::query("UPDATE referrals SET linked_needs = linked_needs + 1 WHERE referral_id = $1")
                    .bind(e.referral_id)
                    .execute(&mut *conn)
                    .await?;
            }
        }
        ReferralEvent::LinkedNeedClosed(e) => {
            sqlx::query(
                "UPDATE referral_links SET closed_at = $4
                 WHERE referral_id = $1 AND linked_case_id = $2 AND linked_need_id = $3 AND closed_at IS NULL",
            )
            .bind(e.referral_id)
            .bind(e.linked.case_id)
            .bind(e.linked.need_id)
            .bind(at)
            .execute(&mut *conn)
            .await?;
        }
    }
    Ok(())
}

// A status change also stops the clocks that no longer run in the new status, and
// records when the agency first answered and when the referral ended.
async fn status_change(
    conn: &mut PgConnection,
    referral_id: Uuid,
    status: ReferralStatus,
    actor: &str,
    at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let answers = status != ReferralStatus::InProgress && status != ReferralStatus::Revoked;
    sqlx::query(
        "UPDATE referrals SET status = $2, last_actor = $3, updated_at = $4,
                first_response_at = CASE WHEN $5 THEN COALESCE(first_response_at, $4) ELSE first_response_at END,
                closed_at = CASE WHEN $6 THEN COALESCE(closed_at, $4) ELSE closed_at END
         WHERE referral_id = $1",
    )
    .bind(referral_id)
    .bind(status.as_str())
    .bind(actor)
    .bind(at)
    .bind(answers)
    .bind(!status.is_open())
    .execute(&mut *conn)
    .await?;
    let stopped: Vec<&str> = SlaClock::ALL
        .into_iter()
        .filter(|clock| !status.runs(*clock))
        .map(SlaClock::as_str)
        .collect();
    sqlx::query("DELETE FROM sla_timers WHERE referral_id = $1 AND clock = ANY($2)")
        .bind(referral_id)
        .bind(stopped)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

async fn set_note(conn: &mut PgConnection, referral_id: Uuid, note: Option<&str>) -> Result<(), sqlx::Error> {
    if let Some(note) = note {
        sqlx::query("UPDATE referrals SET note = $2 WHERE referral_id = $1")
            .bind(referral_id)
            .bind(note)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Schedules step `level` of a clock due at `due_at`, or ends the timer past the chain.
/// Never moves a timer back to a step already passed (an event applied again).
async fn set_timer(
    conn: &mut PgConnection,
    sla: &Sla,
    referral_id: Uuid,
    clock: SlaClock,
    due_at: DateTime<Utc>,
    level: u32,
) -> Result<(), sqlx::Error> {
    let level_i32 = i32::try_from(level).unwrap_or(i32::MAX);
    match sla.escalation_time(due_at, level) {
        Some(fire_at) => {
            sqlx::query(
                "INSERT INTO sla_timers (referral_id, clock, due_at, next_level, fire_at)
                 VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (referral_id, clock) DO UPDATE
                    SET next_level = EXCLUDED.next_level, fire_at = EXCLUDED.fire_at, due_at = EXCLUDED.due_at
                    WHERE sla_timers.next_level < EXCLUDED.next_level",
            )
            .bind(referral_id)
            .bind(clock.as_str())
            .bind(due_at)
            .bind(level_i32)
            .bind(fire_at)
            .execute(&mut *conn)
            .await?;
        }
        None => {
            sqlx::query("DELETE FROM sla_timers WHERE referral_id = $1 AND clock = $2 AND next_level < $3")
                .bind(referral_id)
                .bind(clock.as_str())
                .bind(level_i32)
                .execute(&mut *conn)
                .await?;
        }
    }
    Ok(())
}

/// A timer whose step is due.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DueTimer {
    pub referral_id: Uuid,
    pub clock: String,
    pub due_at: DateTime<Utc>,
    pub next_level: i32,
}

/// Takes one timer due at `now`, locked until the transaction ends; others running the
/// worker skip it.
pub async fn take_due_timer(conn: &mut PgConnection, now: DateTime<Utc>) -> Result<Option<DueTimer>, sqlx::Error> {
    sqlx::query_as(
        "SELECT referral_id, clock, due_at, next_level FROM sla_timers
         WHERE fire_at <= $1 ORDER BY fire_at LIMIT 1 FOR UPDATE SKIP LOCKED",
    )
    .bind(now)
    .fetch_optional(conn)
    .await
}

/// Ends a timer that has nothing left to do (its clock stopped).
pub async fn drop_timer(conn: &mut PgConnection, referral_id: Uuid, clock: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM sla_timers WHERE referral_id = $1 AND clock = $2")
        .bind(referral_id)
        .bind(clock)
        .execute(conn)
        .await?;
    Ok(())
}

/// Records a need no agency holds; recorded again (after a later round of rejections) it
/// replaces the earlier notice.
pub async fn record_unrouted(
    conn: &mut PgConnection,
    event_id: Uuid,
    unrouted: &ReferralUnrouted,
    at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let need = &unrouted.need;
    let tried: Vec<&str> = unrouted.tried.iter().map(|code| code.as_str()).collect();
    sqlx::query(
        "INSERT INTO unrouted_needs (case_id, need_id, event_id, category, programme_code, region_code, reason, at,
                                     tried_opd_codes, linked_needs)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
         ON CONFLICT (case_id, need_id) DO UPDATE
            SET event_id = EXCLUDED.event_id, reason = EXCLUDED.reason, at = EXCLUDED.at,
                tried_opd_codes = EXCLUDED.tried_opd_codes, linked_needs = EXCLUDED.linked_needs
            WHERE unrouted_needs.event_id < EXCLUDED.event_id",
    )
    .bind(need.case_id)
    .bind(need.need_id)
    .bind(event_id)
    .bind(&need.category)
    .bind(&need.programme_code)
    .bind(&need.region_code)
    .bind(&unrouted.reason)
    .bind(at)
    .bind(tried)
    .bind(i32::try_from(unrouted.linked.len()).unwrap_or(i32::MAX))
    .execute(conn)
    .await?;
    Ok(())
}

/// Removes a need from the unrouted list because it was placed. `false` when it was not
/// there (never unrouted, or placed already).
pub async fn take_unrouted(conn: &mut PgConnection, case_id: Uuid, need_id: Uuid) -> Result<bool, sqlx::Error> {
    let removed = sqlx::query("DELETE FROM unrouted_needs WHERE case_id = $1 AND need_id = $2")
        .bind(case_id)
        .bind(need_id)
        .execute(conn)
        .await?
        .rows_affected();
    Ok(removed == 1)
}

/// Whether the need was handled before: routed to an OPD, linked to another case's open
/// referral, or recorded as unrouted.
pub async fn need_handled(conn: &mut PgConnection, case_id: Uuid, need_id: Uuid) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM referrals WHERE case_id = $1 AND need_id = $2)
             OR EXISTS (SELECT 1 FROM unrouted_needs WHERE case_id = $1 AND need_id = $2)
             OR EXISTS (SELECT 1 FROM referral_links WHERE linked_case_id = $1 AND linked_need_id = $2)",
    )
    .bind(case_id)
    .bind(need_id)
    .fetch_one(conn)
    .await
}

/// The open referral for the same person and need, if any (another case's, usually).
pub async fn open_for_person(
    conn: &mut PgConnection,
    client_nik: &str,
    category: &str,
    programme_code: Option<&str>,
    component: &str,
) -> Result<Option<Uuid>, sqlx::Error> {
    if client_nik.is_empty() {
        return Ok(None);
    }
    sqlx::query_scalar(
        "SELECT referral_id FROM referrals
         WHERE client_nik = $1 AND category = $2 AND COALESCE(programme_code, '') = COALESCE($3, '')
           AND component = $4 AND status = ANY($5)",
    )
    .bind(client_nik)
    .bind(category)
    .bind(programme_code)
    .bind(component)
    .bind(ReferralStatus::open())
    .fetch_optional(conn)
    .await
}

/// The agencies that held the need before (declined it or passed it on), oldest first,
/// and its highest attempt.
pub async fn need_history(
    conn: &mut PgConnection,
    case_id: Uuid,
    need_id: Uuid,
) -> Result<(Vec<String>, i32), sqlx::Error> {
    let rows: Vec<(String, i32)> =
        sqlx::query_as("SELECT opd_code, attempt FROM referrals WHERE case_id = $1 AND need_id = $2 ORDER BY attempt")
            .bind(case_id)
            .bind(need_id)
            .fetch_all(conn)
            .await?;
    let last = rows.iter().map(|(_, attempt)| *attempt).max().unwrap_or(0);
    Ok((rows.into_iter().map(|(opd, _)| opd).collect(), last))
}

pub async fn find(executor: impl PgExecutor<'_>, referral_id: Uuid) -> Result<Option<ReferralRecord>, sqlx::Error> {
    sqlx::query_as("SELECT * FROM referrals WHERE referral_id = $1")
        .bind(referral_id)
        .fetch_optional(executor)
        .await
}

/// Every referral of one need, first attempt first: how it travelled between agencies.
pub async fn need_referrals(
    executor: impl PgExecutor<'_>,
    case_id: Uuid,
    need_id: Uuid,
) -> Result<Vec<ReferralRecord>, sqlx::Error> {
    sqlx::query_as("SELECT * FROM referrals WHERE case_id = $1 AND need_id = $2 ORDER BY attempt")
        .bind(case_id)
        .bind(need_id)
        .fetch_all(executor)
        .await
}

/// What a supervisor's list may be narrowed to.
#[derive(Debug, Clone, Default)]
pub struct ReferralFilter {
    /// Only referrals whose client lives in these areas, as `LIKE` patterns
    /// (`slrt_audit::access::area_patterns`): the caller's own area and granted ones.
    pub areas: Option<Vec<String>>,
    pub opd_code: Option<String>,
    pub status: Option<ReferralStatus>,
    pub case_id: Option<Uuid>,
    /// Only open referrals past a deadline at this time (the service clock's now).
    pub overdue_at: Option<DateTime<Utc>>,
    /// Only referrals escalated at least once.
    pub escalated: bool,
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
           AND ($5::uuid IS NULL OR case_id = $5)
           AND ($6::timestamptz IS NULL OR (status = ANY($8)
                AND ((status = 'requested' AND response_due_at <= $6) OR resolution_due_at <= $6)))
           AND (NOT $7 OR escalation_level > 0)
           AND ($9::text[] IS NULL OR region_code LIKE ANY($9))
         ORDER BY referral_id
         LIMIT $4",
    )
    .bind(&filter.opd_code)
    .bind(filter.status.map(ReferralStatus::as_str))
    .bind(filter.after)
    .bind(filter.limit)
    .bind(filter.case_id)
    .bind(filter.overdue_at)
    .bind(filter.escalated)
    .bind(ReferralStatus::open())
    .bind(&filter.areas)
    .fetch_all(executor)
    .await
}

/// An OPD's referrals that still wait for it, oldest first, after `after`.
pub async fn list_open(
    executor: impl PgExecutor<'_>,
    opd_code: &str,
    after: Option<Uuid>,
    limit: i64,
) -> Result<Vec<ReferralRecord>, sqlx::Error> {
    sqlx::query_as(
        "SELECT * FROM referrals
         WHERE opd_code = $1 AND status = ANY($2) AND ($3::uuid IS NULL OR referral_id > $3)
         ORDER BY referral_id LIMIT $4",
    )
    .bind(opd_code)
    .bind(ReferralStatus::open())
    .bind(after)
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
    areas: Option<&[String]>,
    after: Option<Uuid>,
    limit: i64,
) -> Result<Vec<UnroutedRecord>, sqlx::Error> {
    sqlx::query_as(
        "SELECT case_id, need_id, event_id, category, programme_code, region_code, reason, at, tried_opd_codes,
                linked_needs
         FROM unrouted_needs
         WHERE ($1::uuid IS NULL OR event_id > $1)
           AND ($3::text[] IS NULL OR region_code LIKE ANY($3))
         ORDER BY event_id LIMIT $2",
    )
    .bind(after)
    .bind(limit)
    .bind(areas)
    .fetch_all(executor)
    .await
}

/// What the escalation list may be narrowed to.
#[derive(Debug, Clone, Default)]
pub struct EscalationFilter {
    /// Only escalations of referrals whose client lives in these areas (`LIKE` patterns).
    pub areas: Option<Vec<String>>,
    pub opd_code: Option<String>,
    pub role: Option<String>,
    pub referral_id: Option<Uuid>,
    /// Only escalations of referrals still open.
    pub open_only: bool,
    pub after: Option<Uuid>,
    pub limit: i64,
}

/// A page of escalations, oldest first.
pub async fn list_escalations(
    executor: impl PgExecutor<'_>,
    filter: &EscalationFilter,
) -> Result<Vec<EscalationRecord>, sqlx::Error> {
    sqlx::query_as(
        "SELECT e.event_id, e.referral_id, e.case_id, e.opd_code, e.clock, e.level, e.escalated_to,
                e.escalated_to_name, e.due_at, e.escalated_at, e.working_days_overdue, r.status
         FROM escalations e JOIN referrals r USING (referral_id)
         WHERE ($1::text IS NULL OR e.opd_code = $1)
           AND ($2::text IS NULL OR e.escalated_to = $2)
           AND ($3::uuid IS NULL OR e.referral_id = $3)
           AND (NOT $4 OR r.status = ANY($5))
           AND ($6::uuid IS NULL OR e.event_id > $6)
           AND ($8::text[] IS NULL OR r.region_code LIKE ANY($8))
         ORDER BY e.event_id
         LIMIT $7",
    )
    .bind(&filter.opd_code)
    .bind(&filter.role)
    .bind(filter.referral_id)
    .bind(filter.open_only)
    .bind(ReferralStatus::open())
    .bind(filter.after)
    .bind(filter.limit)
    .bind(&filter.areas)
    .fetch_all(executor)
    .await
}

/// How one agency handles its referrals.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OpdPerformance {
    pub opd_code: String,
    pub opd_name: String,
    pub referrals: i64,
    pub open: i64,
    pub overdue: i64,
    pub escalated: i64,
    pub rejected: i64,
    pub transferred: i64,
    pub completed: i64,
    pub completed_within_sla: i64,
    pub responded_within_sla: i64,
    pub responded: i64,
    /// Median seconds from request to first answer, over referrals answered.
    pub median_seconds_to_respond: Option<f64>,
    /// Median seconds from request to completion, over referrals completed.
    pub median_seconds_to_resolve: Option<f64>,
}

/// Per-agency figures over referrals requested in `[from, to)`, judged at `now`.
pub async fn performance(
    executor: impl PgExecutor<'_>,
    areas: Option<&[String]>,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<Vec<OpdPerformance>, sqlx::Error> {
    sqlx::query_as(
        "SELECT opd_code, MAX(opd_name) AS opd_name,
                COUNT(*) AS referrals,
                COUNT(*) FILTER (WHERE status = ANY($4)) AS open,
                COUNT(*) FILTER (WHERE status = ANY($4)
                    AND ((status = 'requested' AND response_due_at <= $3) OR resolution_due_at <= $3)) AS overdue,
                COUNT(*) FILTER (WHERE escalation_level > 0) AS escalated,
                COUNT(*) FILTER (WHERE status = 'rejected') AS rejected,
                COUNT(*) FILTER (WHERE status = 'transferred') AS transferred,
                COUNT(*) FILTER (WHERE status = 'completed') AS completed,
                COUNT(*) FILTER (WHERE status = 'completed' AND closed_at <= resolution_due_at) AS completed_within_sla,
                COUNT(*) FILTER (WHERE first_response_at IS NOT NULL AND first_response_at <= response_due_at)
                    AS responded_within_sla,
                COUNT(*) FILTER (WHERE first_response_at IS NOT NULL) AS responded,
                (percentile_cont(0.5) WITHIN GROUP (ORDER BY EXTRACT(EPOCH FROM first_response_at - created_at))
                    FILTER (WHERE first_response_at IS NOT NULL))::float8 AS median_seconds_to_respond,
                (percentile_cont(0.5) WITHIN GROUP (ORDER BY EXTRACT(EPOCH FROM closed_at - created_at))
                    FILTER (WHERE status = 'completed'))::float8 AS median_seconds_to_resolve
         FROM referrals
         WHERE ($1::timestamptz IS NULL OR created_at >= $1) AND ($2::timestamptz IS NULL OR created_at < $2)
           AND ($5::text[] IS NULL OR region_code LIKE ANY($5))
         GROUP BY opd_code
         ORDER BY opd_code",
    )
    .bind(from)
    .bind(to)
    .bind(now)
    .bind(ReferralStatus::open())
    .bind(areas)
    .fetch_all(executor)
    .await
}

/// The area an unrouted need's client lives in, while it waits for placement.
pub async fn unrouted_region(
    executor: impl PgExecutor<'_>,
    case_id: Uuid,
    need_id: Uuid,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT region_code FROM unrouted_needs WHERE case_id = $1 AND need_id = $2")
        .bind(case_id)
        .bind(need_id)
        .fetch_optional(executor)
        .await
}

/// Open referrals past a deadline at `now`: the `slrt_referral_overdue` gauge.
pub async fn count_overdue(executor: impl PgExecutor<'_>, now: DateTime<Utc>) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT COUNT(*) FROM referrals
         WHERE status = ANY($2) AND ((status = 'requested' AND response_due_at <= $1) OR resolution_due_at <= $1)",
    )
    .bind(now)
    .bind(ReferralStatus::open())
    .fetch_one(executor)
    .await
}
