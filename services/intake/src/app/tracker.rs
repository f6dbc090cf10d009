//! Reading the case tracker.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::{PgPool, Row};
use uuid::Uuid;

/// A case as supervisors see it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CaseView {
    pub case_id: Uuid,
    #[schema(example = "SLRT-3375-2026-000042")]
    pub case_number: String,
    #[schema(example = "application")]
    pub kind: String,
    /// open, assessed, referred, in_service, resolved.
    #[schema(example = "in_service")]
    pub status: String,
    pub applicant: ApplicantView,
    pub desk_region_code: String,
    pub opened_by: String,
    pub warnings: Vec<String>,
    pub opened_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub needs: Vec<NeedView>,
    /// Every step of the case, from every service, oldest first.
    pub timeline: Vec<TimelineEntry>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ApplicantView {
    pub full_name: String,
    /// Only the first and last four digits.
    #[schema(example = "3375********0003")]
    pub nik_masked: String,
    pub region_code: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct NeedView {
    pub need_id: Uuid,
    #[schema(example = "cash_assistance")]
    pub category: String,
    /// open, approved, rejected (by eligibility; final), referred, linked (already referred
    /// under another case of the same person; follows that referral), unrouted (no agency
    /// left: a supervisor must place it), referral_rejected, in_service, resolved (final),
    /// withdrawn (the SLRT withdrew the referral; final).
    #[schema(example = "in_service")]
    pub status: String,
    pub programme_code: Option<String>,
    /// The agency of the referral the need follows (after re-routing, the latest one).
    pub opd_code: Option<String>,
    /// The referral the need follows: its own latest, or the other case's when linked.
    pub referral_id: Option<Uuid>,
    /// Highest SLA escalation step any of the need's referrals reached; 0 when never escalated.
    #[schema(example = 0)]
    pub escalation_level: i32,
    /// The SLA clock that ran out and has not been met since: response (the agency has not
    /// answered the referral) or resolution (the need is not resolved in time); absent
    /// while on time and once the need is finished.
    #[schema(example = "resolution")]
    pub overdue: Option<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TimelineEntry {
    pub event_id: Uuid,
    #[schema(example = "slrt.referral.v1.ReferralAccepted")]
    pub event_type: String,
    /// The service that recorded the step: intake, eligibility, referral, disbursement.
    #[schema(example = "referral")]
    pub service: String,
    pub occurred_at: DateTime<Utc>,
    #[schema(example = "DINSOS accepted the referral (officer-17)")]
    pub summary: String,
    /// The OpenTelemetry trace the step belongs to.
    pub trace_id: Option<String>,
}

/// A case by id (UUID) or by case number; `None` when there is no such case.
pub async fn find_case(pool: &PgPool, reference: &str) -> Result<Option<CaseView>, sqlx::Error> {
    // One snapshot for the case, its needs and its timeline: read apart, an event applied in
    // between would show on the timeline while the needs still stand where they were before it.
    let mut tx = pool.begin().await?;
    sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        .execute(&mut *tx)
        .await?;
    let row = match Uuid::parse_str(reference) {
        Ok(case_id) => {
            sqlx::query("SELECT * FROM tracked_cases WHERE case_id = $1")
                .bind(case_id)
                .fetch_optional(&mut *tx)
                .await?
        }
        Err(_) => {
            sqlx::query("SELECT * FROM tracked_cases WHERE case_number = $1")
                .bind(reference)
                .fetch_optional(&mut *tx)
                .await?
        }
    };
    let Some(row) = row else { return Ok(None) };
    let case_id: Uuid = row.try_get("case_id")?;
    let needs = sqlx::query(
        "SELECT need_id, category, status, programme_code, opd_code, referral_id, escalation_level, overdue_clock
         FROM tracked_needs WHERE case_id = $1 ORDER BY need_id",
    )
    .bind(case_id)
    .fetch_all(&mut *tx)
    .await?
    .iter()
    .map(|need| {
        Ok(NeedView {
            need_id: need.try_get("need_id")?,
            category: need.try_get("category")?,
            status: need.try_get("status")?,
            programme_code: need.try_get("programme_code")?,
            opd_code: need.try_get("opd_code")?,
            referral_id: need.try_get("referral_id")?,
            escalation_level: need.try_get("escalation_level")?,
            overdue: need.try_get("overdue_clock")?,
        })
    })
    .collect::<Result<Vec<_>, sqlx::Error>>()?;
    let timeline = sqlx::query(
        "SELECT event_id, event_type, service, occurred_at, summary, trace_id
         FROM case_timeline WHERE case_id = $1 ORDER BY occurred_at, event_id",
    )
    .bind(case_id)
    .fetch_all(&mut *tx)
    .await?
    .iter()
    .map(|entry| {
        Ok(TimelineEntry {
            event_id: entry.try_get("event_id")?,
            event_type: entry.try_get("event_type")?,
            service: entry.try_get("service")?,
            occurred_at: entry.try_get("occurred_at")?,
            summary: entry.try_get("summary")?,
            trace_id: entry.try_get("trace_id")?,
        })
    })
    .collect::<Result<Vec<_>, sqlx::Error>>()?;
    tx.commit().await?;
    let warnings: serde_json::Value = row.try_get("warnings")?;
    Ok(Some(CaseView {
        case_id,
        case_number: row.try_get("case_number")?,
        kind: row.try_get("kind")?,
        status: row.try_get("status")?,
        applicant: ApplicantView {
            full_name: row.try_get("applicant_name")?,
            nik_masked: row.try_get("nik_masked")?,
            region_code: row.try_get("region_code")?,
        },
        desk_region_code: row.try_get("desk_region_code")?,
        opened_by: row.try_get("opened_by")?,
        warnings: serde_json::from_value(warnings).unwrap_or_default(),
        opened_at: row.try_get("opened_at")?,
        updated_at: row.try_get("updated_at")?,
        needs,
        timeline,
    }))
}
