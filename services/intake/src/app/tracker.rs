//! Reading the case tracker, and the desk's steps that are decided on what it knows of a
//! case: withdrawing, closing, answering.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::Serialize;
use slrt_audit::Outcome;
use slrt_audit::access::Access;
use slrt_errors::ApiError;
use slrt_eventstore::{AppendError, ExpectedVersion, NewEvent};
use slrt_proto::intake::v1 as proto;
use sqlx::{PgConnection, PgPool, Row};
use uuid::Uuid;

use super::idempotency::{self, IdempotencyKey, Pending};
use super::{Created, Intake};
use crate::access;
use crate::domain::{CaseLifecycle, DeskCase, DeskNeed, LifecycleError, NeedStatus};
use crate::projections::{self, TrackedEvent};

/// A case as supervisors see it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CaseView {
    pub case_id: Uuid,
    #[schema(example = "SLRT-3375-2026-000042")]
    pub case_number: String,
    #[schema(example = "application")]
    pub kind: String,
    /// open, assessed, referred, in_service, resolved, closed, withdrawn.
    #[schema(example = "in_service")]
    pub status: String,
    pub applicant: ApplicantView,
    /// What a complaint case is about and how it was settled; absent for applications.
    pub complaint: Option<ComplaintView>,
    /// When the applicant withdrew the case.
    pub withdrawn_at: Option<DateTime<Utc>>,
    /// When the desk closed the case (or answered the question or suggestion).
    pub closed_at: Option<DateTime<Utc>>,
    pub desk_region_code: String,
    pub opened_by: String,
    pub warnings: Vec<String>,
    pub opened_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub needs: Vec<NeedView>,
    /// Every step of the case, from every service, oldest first.
    pub timeline: Vec<TimelineEntry>,
}

/// A complaint as the tracker follows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ComplaintView {
    /// question, suggestion, grievance.
    #[schema(example = "grievance")]
    pub complaint_type: String,
    /// exclusion_error, inclusion_error, service, other; grievances only.
    #[schema(example = "inclusion_error")]
    pub grievance_type: Option<String>,
    /// answered (question, suggestion), or the outcome of eligibility's verification of an
    /// inclusion report: confirmed, rejected, not_found. Absent while pending.
    #[schema(example = "confirmed")]
    pub outcome: Option<String>,
    /// Eligibility's verification task for an inclusion report, once opened.
    pub verification_task_id: Option<String>,
    /// The verification task is open.
    pub verification_open: bool,
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
    let complaint_type: Option<String> = row.try_get("complaint_type")?;
    let complaint = match complaint_type {
        Some(complaint_type) => Some(ComplaintView {
            complaint_type,
            grievance_type: row.try_get("grievance_type")?,
            outcome: row.try_get("complaint_outcome")?,
            verification_task_id: row.try_get("verification_task_id")?,
            verification_open: row.try_get("verification_open")?,
        }),
        None => None,
    };
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
        complaint,
        withdrawn_at: row.try_get("withdrawn_at")?,
        closed_at: row.try_get("closed_at")?,
        desk_region_code: row.try_get("desk_region_code")?,
        opened_by: row.try_get("opened_by")?,
        warnings: serde_json::from_value(warnings).unwrap_or_default(),
        opened_at: row.try_get("opened_at")?,
        updated_at: row.try_get("updated_at")?,
        needs,
        timeline,
    }))
}

/// A step the desk records on an existing case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeskAction {
    /// The applicant withdraws the case.
    Withdraw { reason: String, actor: String },
    /// The desk closes the case once every need is finished.
    Close { actor: String, note: String },
    /// The desk answers a question or a suggestion, which closes it.
    Answer { answer: String, actor: String },
}

impl DeskAction {
    /// The last segment of the action's path, naming it in its idempotency scope.
    pub fn verb(&self) -> &'static str {
        match self {
            Self::Withdraw { .. } => "withdraw",
            Self::Close { .. } => "close",
            Self::Answer { .. } => "answer",
        }
    }
}

/// The NIKs of the applicants of `case_ids`, by case, for the audit records of reads; a
/// case without a person record (opened before intake kept them) has none.
pub async fn applicant_niks(conn: &mut PgConnection, case_ids: &[Uuid]) -> Result<HashMap<Uuid, String>, sqlx::Error> {
    if case_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<(Uuid, String)> = sqlx::query_as(
        "SELECT pc.case_id, p.nik FROM person_cases pc JOIN people p USING (person_id) WHERE pc.case_id = ANY($1)",
    )
    .bind(case_ids)
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().collect())
}

/// The case id and area (the applicant's address region) of a case id or case number;
/// `None` when there is no such case.
pub async fn resolve_case(pool: &PgPool, reference: &str) -> Result<Option<(Uuid, String)>, sqlx::Error> {
    match Uuid::parse_str(reference) {
        Ok(case_id) => {
            sqlx::query_as("SELECT case_id, region_code FROM tracked_cases WHERE case_id = $1")
                .bind(case_id)
                .fetch_optional(pool)
                .await
        }
        Err(_) => {
            sqlx::query_as("SELECT case_id, region_code FROM tracked_cases WHERE case_number = $1")
                .bind(reference)
                .fetch_optional(pool)
                .await
        }
    }
}

impl Intake {
    /// Records a desk step on a case of the caller's area, decided on the tracker's view of
    /// it: the case's needs and lifecycle are locked, the step is decided, its event appended
    /// to the case's stream at the version read, applied to the tracker and audited, all in
    /// one transaction. A case outside the area is "not found", as a missing one.
    pub async fn record_desk_action(
        &self,
        access: &Access,
        case_ref: &str,
        action: DeskAction,
        idempotency: Option<(IdempotencyKey, String)>,
    ) -> Result<Created, ApiError> {
        let audit_action = format!("case.{}", action.verb());
        let case_id = match resolve_case(&self.pool, case_ref)
            .await
            .map_err(ApiError::unavailable)?
        {
            Some((case_id, region)) if access.covers(&region) => case_id,
            _ => {
                return Err(self
                    .not_found(
                        access,
                        &audit_action,
                        format!("case/{case_ref}"),
                        format!("no case {case_ref}"),
                    )
                    .await);
            }
        };
        let scope = format!("POST /v1/cases/{case_id}/{} by {}", action.verb(), access.subject());
        idempotency::once(&self.pool, &scope, idempotency, |pending| async move {
            self.decide_desk_action(access, case_id, &action, pending.as_ref())
                .await
        })
        .await
    }

    async fn decide_desk_action(
        &self,
        access: &Access,
        case_id: Uuid,
        action: &DeskAction,
        idempotency: Option<&Pending>,
    ) -> Result<Created, ApiError> {
        let mut tx = self.pool.begin().await.map_err(ApiError::unavailable)?;
        let case = load_desk_case(&mut tx, case_id).await.map_err(ApiError::unavailable)?;
        let rejected = |error: LifecycleError| {
            let field = match &error {
                LifecycleError::NeedsOpen(_) => Some("needs"),
                LifecycleError::NotAnswerable(_) => Some("kind"),
                _ => None,
            };
            let api = ApiError::rejected(error.to_string());
            match field {
                Some(field) => api.with_field(field),
                None => api,
            }
        };
        let event = match action {
            DeskAction::Withdraw { reason, actor } => {
                let withdrawn = case.withdraw().map_err(rejected)?;
                NewEvent::new(&proto::CaseWithdrawn {
                    case_id: case_id.to_string(),
                    reason: reason.clone(),
                    actor: actor.clone(),
                    withdrawn_need_ids: withdrawn.iter().map(Uuid::to_string).collect(),
                })
            }
            DeskAction::Close { actor, note } => {
                case.close().map_err(rejected)?;
                NewEvent::new(&proto::CaseClosed {
                    case_id: case_id.to_string(),
                    actor: actor.clone(),
                    note: note.clone(),
                })
            }
            DeskAction::Answer { answer, actor } => {
                case.answer().map_err(rejected)?;
                NewEvent::new(&proto::ComplaintAnswered {
                    case_id: case_id.to_string(),
                    answer: answer.clone(),
                    actor: actor.clone(),
                })
            }
        }
        .for_case(case_id);
        let stream = format!("case-{case_id}");
        let version = slrt_eventstore::stream_version(&mut *tx, &stream)
            .await
            .map_err(ApiError::unavailable)?;
        let recorded = self
            .store
            .append(&mut tx, &stream, ExpectedVersion::Exact(version), vec![event])
            .await
            .map_err(|error| match error {
                AppendError::Conflict { .. } => {
                    ApiError::conflict("the case changed while this step was decided; retry")
                }
                other => ApiError::internal(other),
            })?;
        for event in &recorded {
            projections::apply(
                &mut tx,
                &TrackedEvent {
                    event_id: event.event_id,
                    event_type: &event.event_type,
                    case_id: event.case_id,
                    occurred_at: event.occurred_at,
                    service: self.store.service(),
                    payload: &event.payload,
                    traceparent: event.traceparent.as_deref(),
                },
            )
            .await
            .map_err(ApiError::internal)?;
        }
        let status: String = sqlx::query_scalar("SELECT status FROM tracked_cases WHERE case_id = $1")
            .bind(case_id)
            .fetch_one(&mut *tx)
            .await
            .map_err(ApiError::unavailable)?;
        let body = serde_json::json!({
            "case_id": case_id,
            "status": status,
            "event_id": recorded.first().map(|event| event.event_id),
        });
        let created = Created { status: 200, body };
        if let Some(pending) = idempotency {
            pending.complete(&mut tx, &created).await?;
        }
        let niks = applicant_niks(&mut tx, &[case_id])
            .await
            .map_err(ApiError::unavailable)?;
        let audit = access::record(
            access,
            &format!("case.{}", action.verb()),
            format!("case/{case_id}"),
            self.nik_tokens_of(niks.values().map(String::as_str)),
            Outcome::Allowed,
            serde_json::json!({ "status": status }),
        );
        slrt_audit::record(&mut tx, &audit)
            .await
            .map_err(ApiError::unavailable)?;
        tx.commit().await.map_err(ApiError::unavailable)?;
        tracing::info!(case.id = %case_id, action = action.verb(), "desk step recorded");
        Ok(created)
    }
}

/// The case as the desk's decisions see it, locked for the rest of the transaction: the
/// needs first and then the case, the order in which the tracker's consumer takes them, so
/// the two never wait on each other in a circle.
async fn load_desk_case(conn: &mut PgConnection, case_id: Uuid) -> Result<DeskCase, sqlx::Error> {
    let needs = sqlx::query(
        "SELECT need_id, category, status FROM tracked_needs WHERE case_id = $1 ORDER BY need_id FOR UPDATE",
    )
    .bind(case_id)
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(|row| {
        let status: String = row.try_get("status")?;
        Ok(DeskNeed {
            need_id: row.try_get("need_id")?,
            category: row.try_get("category")?,
            // Only the tracker writes these codes; an unknown one is treated as still open.
            status: NeedStatus::parse(&status).unwrap_or(NeedStatus::Open),
        })
    })
    .collect::<Result<Vec<_>, sqlx::Error>>()?;
    let row = sqlx::query(
        "SELECT complaint_type, withdrawn_at IS NOT NULL AS withdrawn, closed_at IS NOT NULL AS closed,
                complaint_settled, verification_open
         FROM tracked_cases WHERE case_id = $1 FOR UPDATE",
    )
    .bind(case_id)
    .fetch_one(&mut *conn)
    .await?;
    Ok(DeskCase {
        complaint_type: row.try_get("complaint_type")?,
        needs,
        lifecycle: CaseLifecycle {
            withdrawn: row.try_get("withdrawn")?,
            closed: row.try_get("closed")?,
            complaint_settled: row.try_get("complaint_settled")?,
        },
        verification_open: row.try_get("verification_open")?,
    })
}
