//! Verification tasks: exclusion evidence (a car, a salary, a new desil) or an
//! inclusion-error complaint waiting for an officer. An officer confirms (the held enrolments
//! end as excluded) or rejects (the holds are released and the periods held are owed); an
//! enrolment ended as excluded can later be reinstated, as a new, audited enrolment.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use slrt_errors::ApiError;
use slrt_eventstore::envelope::ReceivedEnvelope;
use slrt_eventstore::{EventStore, ExpectedVersion, NewEvent};
use slrt_identity::{KkNumber, Nik};
use slrt_proto::eligibility::v1 as proto;
use slrt_proto::intake::v1::CaseOpened;
use sqlx::{PgConnection, Row};
use uuid::Uuid;

use super::Eligibility;
use super::evidence::WriteError;
use super::evidence::ledger_effects::{Cause, HoldFilter, end_enrolment, open_holds, release_hold};
use super::registry::lock_household;
use super::scope::{ChangeBy, Scope};
use crate::domain::evidence::Ground;
use crate::domain::{BeneficiaryKind, HouseholdId, ProgrammeCode};

/// A task to open.
#[derive(Debug, Clone)]
pub(crate) struct NewTask {
    pub task_id: Uuid,
    pub ground: Ground,
    pub person_id: Option<String>,
    pub household_id: Option<String>,
    pub region_code: String,
    pub evidence_id: Option<Uuid>,
    pub complaint_case_id: Option<Uuid>,
    pub held_programmes: Vec<String>,
    pub summary: String,
    pub opened_on: NaiveDate,
    pub due_on: NaiveDate,
}

/// Records a new task (`VerificationTaskOpened` on `verification-<task id>`), inside the
/// caller's transaction. A complaint's task carries the complaint case as its envelope case.
pub(crate) async fn open_task(
    store: &EventStore,
    conn: &mut PgConnection,
    task: &NewTask,
    caused_by: Uuid,
) -> Result<Uuid, WriteError> {
    sqlx::query(
        "INSERT INTO verification_tasks (task_id, ground, person_id, household_id, region_code, evidence_id,
                                         complaint_case_id, summary, opened_on, due_on)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(task.task_id)
    .bind(task.ground.as_str())
    .bind(&task.person_id)
    .bind(&task.household_id)
    .bind(&task.region_code)
    .bind(task.evidence_id)
    .bind(task.complaint_case_id)
    .bind(&task.summary)
    .bind(task.opened_on)
    .bind(task.due_on)
    .execute(&mut *conn)
    .await?;
    let payload = proto::VerificationTaskOpened {
        task_id: task.task_id.to_string(),
        person_id: task.person_id.clone().unwrap_or_default(),
        household_id: task.household_id.clone().unwrap_or_default(),
        ground: task.ground.as_str().to_owned(),
        evidence_id: task.evidence_id.map(|id| id.to_string()).unwrap_or_default(),
        complaint_case_id: task.complaint_case_id.map(|id| id.to_string()).unwrap_or_default(),
        held_programmes: task.held_programmes.clone(),
        opened_on: task.opened_on.to_string(),
        due_on: task.due_on.to_string(),
        summary: task.summary.clone(),
    };
    let mut event = NewEvent::new(&payload).caused_by(caused_by);
    if let Some(case_id) = task.complaint_case_id {
        event = event.for_case(case_id);
    }
    let recorded = store
        .append(
            conn,
            &format!("verification-{}", task.task_id),
            ExpectedVersion::NoStream,
            vec![event],
        )
        .await?;
    Ok(recorded.first().map(|e| e.event_id).unwrap_or(caused_by))
}

/// One task in a list.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TaskSummary {
    pub task_id: Uuid,
    /// vehicle, payroll, desil or inclusion_complaint.
    #[schema(example = "vehicle")]
    pub ground: String,
    #[schema(example = "P-000013")]
    pub person_id: Option<String>,
    #[schema(example = "H-000004")]
    pub household_id: Option<String>,
    /// Kemendagri village code of the household.
    #[schema(example = "33.75.01.1003")]
    pub region_code: String,
    pub evidence_id: Option<Uuid>,
    /// The complaint case that asked for it, if a complaint did.
    pub complaint_case_id: Option<Uuid>,
    pub summary: String,
    pub opened_on: NaiveDate,
    pub due_on: NaiveDate,
    /// open, or the outcome: confirmed, rejected, not_found.
    #[schema(example = "open")]
    pub status: String,
    pub resolution_reason: Option<String>,
    pub resolved_by: Option<String>,
    pub resolved_on: Option<NaiveDate>,
}

/// A page of tasks, oldest first.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TaskPage {
    pub tasks: Vec<TaskSummary>,
    /// Pass as `after` for the next page; absent on the last page.
    pub next_after: Option<Uuid>,
}

/// What the back office filters tasks by.
#[derive(Debug, Clone)]
pub struct TaskFilter {
    pub open: Option<bool>,
    pub ground: Option<Ground>,
    /// A Kemendagri code prefix, dotted: `33.75` (a city), `33.75.01` (a district).
    pub region_prefix: Option<String>,
    /// Where the caller may look: tasks elsewhere are not listed, whatever the prefix.
    pub scope: Scope,
    pub after: Option<Uuid>,
    pub limit: u32,
}

/// A task with what it is about.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TaskDetail {
    pub task: TaskSummary,
    pub evidence: Option<EvidenceView>,
    /// The enrolments held for the task, and what became of each hold.
    pub held_enrolments: Vec<HeldEnrolment>,
    /// The task's events, oldest first.
    pub history: Vec<HistoryEntry>,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct EvidenceView {
    pub evidence_id: Uuid,
    #[schema(example = "vehicle")]
    pub kind: String,
    #[schema(example = "SAMSAT")]
    pub source: String,
    pub reference: String,
    pub observed_on: NaiveDate,
    pub recorded_at: DateTime<Utc>,
    /// What applying it did, in words.
    pub effects: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct HeldEnrolment {
    pub enrolment_id: Uuid,
    #[schema(example = "PKH")]
    pub programme_code: String,
    pub beneficiary_kind: String,
    pub beneficiary_id: String,
    /// The enrolment's status now: active, held or ended.
    pub enrolment_status: String,
    /// The hold's state: open, released or ended (with the enrolment).
    pub hold_state: String,
    pub held_from: NaiveDate,
    pub released_on: Option<NaiveDate>,
    pub arrears_due: Option<bool>,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct HistoryEntry {
    pub at: DateTime<Utc>,
    /// The event's name, e.g. VerificationTaskOpened.
    pub event: String,
    pub detail: String,
}

/// An officer's decision on a task, as sent. The officer is the one the token names.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct ResolveTask {
    /// confirmed (the exclusion holds: the held enrolments end) or rejected (it does not:
    /// the holds are released and the periods held are owed).
    #[schema(example = "confirmed")]
    pub outcome: Option<String>,
    #[schema(example = "home visit: the car belongs to the employer")]
    pub reason: Option<String>,
}

/// An officer's reinstatement of an excluded enrolment, as sent. The officer is the one
/// the token names.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct Reinstate {
    #[schema(example = "appeal accepted: the salary was a one-off honorarium")]
    pub reason: Option<String>,
}

/// What a reinstatement started.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Reinstated {
    pub enrolment_id: Uuid,
    pub reinstates_enrolment_id: Uuid,
    pub programme_code: String,
    pub beneficiary_kind: String,
    pub beneficiary_id: String,
    pub started_on: NaiveDate,
}

const TASK_COLUMNS: &str = "task_id, ground, person_id, household_id, region_code, evidence_id, complaint_case_id,
                            summary, opened_on, due_on, outcome, resolution_reason, resolved_by, resolved_on";

fn task_from_row(row: &sqlx::postgres::PgRow) -> Result<TaskSummary, sqlx::Error> {
    let outcome: Option<String> = row.try_get("outcome")?;
    Ok(TaskSummary {
        task_id: row.try_get("task_id")?,
        ground: row.try_get("ground")?,
        person_id: row.try_get("person_id")?,
        household_id: row.try_get("household_id")?,
        region_code: row.try_get("region_code")?,
        evidence_id: row.try_get("evidence_id")?,
        complaint_case_id: row.try_get("complaint_case_id")?,
        summary: row.try_get("summary")?,
        opened_on: row.try_get("opened_on")?,
        due_on: row.try_get("due_on")?,
        status: outcome.unwrap_or_else(|| "open".to_owned()),
        resolution_reason: row.try_get("resolution_reason")?,
        resolved_by: row.try_get("resolved_by")?,
        resolved_on: row.try_get("resolved_on")?,
    })
}

/// A required text field of a request body: present, trimmed, at most 500 characters.
fn required(field: &str, value: Option<&str>, what: &str) -> Result<String, ApiError> {
    let text = value.map(str::trim).unwrap_or_default();
    if text.is_empty() {
        return Err(ApiError::invalid(field, format!("{what} is required")));
    }
    if text.chars().count() > 500 {
        return Err(ApiError::invalid(field, "at most 500 characters"));
    }
    Ok(text.to_owned())
}

impl Eligibility {
    /// Tasks matching `filter`, oldest first (task ids are UUIDv7, so in order of opening).
    pub async fn verification_tasks(&self, filter: &TaskFilter) -> Result<TaskPage, ApiError> {
        let limit = i64::from(filter.limit.clamp(1, 200));
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {TASK_COLUMNS} FROM verification_tasks
             WHERE ($1::bool IS NULL OR (outcome IS NULL) = $1)
               AND ($2::text IS NULL OR ground = $2)
               AND ($3::text IS NULL OR region_code = $3 OR region_code LIKE $3 || '.%')
               AND ($4::uuid IS NULL OR task_id > $4)
               AND ($6::text[] IS NULL OR region_code LIKE ANY($6) OR ($7 AND region_code = ''))
             ORDER BY task_id LIMIT $5"
        )))
        .bind(filter.open)
        .bind(filter.ground.map(Ground::as_str))
        .bind(filter.region_prefix.as_deref())
        .bind(filter.after)
        .bind(limit + 1)
        .bind(filter.scope.area_patterns())
        .bind(filter.scope.covers_unplaced())
        .fetch_all(&self.pool)
        .await
        .map_err(ApiError::unavailable)?;
        let mut tasks = rows
            .iter()
            .map(task_from_row)
            .collect::<Result<Vec<_>, _>>()
            .map_err(ApiError::internal)?;
        let more = tasks.len() as i64 > limit;
        tasks.truncate(limit as usize);
        let next_after = if more { tasks.last().map(|t| t.task_id) } else { None };
        Ok(TaskPage { tasks, next_after })
    }

    /// A task with its evidence, the enrolments held for it and its history; not found when
    /// its household lives outside `scope`.
    pub async fn verification_task(&self, task_id: Uuid, scope: &Scope) -> Result<TaskDetail, ApiError> {
        let mut conn = self.pool.acquire().await.map_err(ApiError::unavailable)?;
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {TASK_COLUMNS} FROM verification_tasks WHERE task_id = $1"
        )))
        .bind(task_id)
        .fetch_optional(&mut *conn)
        .await
        .map_err(ApiError::unavailable)?
        .ok_or_else(|| no_task(task_id))?;
        let task = task_from_row(&row).map_err(ApiError::internal)?;
        if !scope.covers(&task.region_code) {
            return Err(no_task(task_id));
        }
        let evidence = match task.evidence_id {
            Some(id) => evidence_view(&mut conn, id).await.map_err(ApiError::unavailable)?,
            None => None,
        };
        let held = sqlx::query(
            "SELECT e.enrolment_id, e.programme_code, e.beneficiary_kind, e.beneficiary_id, e.status, h.state,
                    h.held_from, h.released_on, h.arrears_due
             FROM enrolment_holds h JOIN enrolments e ON e.enrolment_id = h.enrolment_id
             WHERE h.task_id = $1 ORDER BY e.programme_code, e.beneficiary_id",
        )
        .bind(task_id)
        .fetch_all(&mut *conn)
        .await
        .map_err(ApiError::unavailable)?;
        let held_enrolments = held
            .iter()
            .map(|row| {
                Ok(HeldEnrolment {
                    enrolment_id: row.try_get("enrolment_id")?,
                    programme_code: row.try_get("programme_code")?,
                    beneficiary_kind: row.try_get("beneficiary_kind")?,
                    beneficiary_id: row.try_get("beneficiary_id")?,
                    enrolment_status: row.try_get("status")?,
                    hold_state: row.try_get("state")?,
                    held_from: row.try_get("held_from")?,
                    released_on: row.try_get("released_on")?,
                    arrears_due: row.try_get("arrears_due")?,
                })
            })
            .collect::<Result<Vec<_>, sqlx::Error>>()
            .map_err(ApiError::internal)?;
        let events = self
            .store
            .load(&mut *conn, &format!("verification-{task_id}"))
            .await
            .map_err(ApiError::unavailable)?;
        let mut history = Vec::with_capacity(events.len());
        for event in &events {
            let name = event.event_type.rsplit('.').next().unwrap_or_default().to_owned();
            let detail = if let Ok(opened) = event.decode::<proto::VerificationTaskOpened>() {
                opened.summary
            } else if let Ok(resolved) = event.decode::<proto::VerificationTaskResolved>() {
                format!("{} by {}: {}", resolved.outcome, resolved.actor, resolved.reason)
            } else {
                String::new()
            };
            history.push(HistoryEntry {
                at: event.occurred_at,
                event: name,
                detail,
            });
        }
        Ok(TaskDetail {
            task,
            evidence,
            held_enrolments,
            history,
        })
    }

    /// An officer's decision on an open task of their area, audited in its transaction.
    pub async fn resolve_verification_task(
        &self,
        task_id: Uuid,
        request: &ResolveTask,
        by: &ChangeBy,
    ) -> Result<TaskSummary, ApiError> {
        let outcome = required(
            "outcome",
            request.outcome.as_deref(),
            "the outcome (confirmed or rejected)",
        )?;
        if outcome != "confirmed" && outcome != "rejected" {
            return Err(ApiError::invalid(
                "outcome",
                format!("{outcome:?} is not one of confirmed, rejected"),
            ));
        }
        let reason = required("reason", request.reason.as_deref(), "the reason for the decision")?;
        let actor = by.actor().to_owned();
        let mut tx = self.pool.begin().await.map_err(ApiError::unavailable)?;
        let placed: Option<(Option<String>, String)> =
            sqlx::query_as("SELECT household_id, region_code FROM verification_tasks WHERE task_id = $1")
                .bind(task_id)
                .fetch_optional(&mut *tx)
                .await
                .map_err(ApiError::unavailable)?;
        let Some((household, _)) = placed.filter(|(_, region)| by.scope.covers(region)) else {
            return Err(no_task(task_id));
        };
        if let Some(household) = household.as_deref().and_then(|h| HouseholdId::parse(h).ok()) {
            lock_household(&mut tx, &household)
                .await
                .map_err(ApiError::unavailable)?;
        }
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {TASK_COLUMNS} FROM verification_tasks WHERE task_id = $1 FOR UPDATE"
        )))
        .bind(task_id)
        .fetch_one(&mut *tx)
        .await
        .map_err(ApiError::unavailable)?;
        let task = task_from_row(&row).map_err(ApiError::internal)?;
        if task.status != "open" {
            return Err(ApiError::rejected(format!(
                "verification task {task_id} was already resolved ({}, on {})",
                task.status,
                task.resolved_on.map(|d| d.to_string()).unwrap_or_default()
            ))
            .with_field("outcome"));
        }
        let today = slrt_identity::today_in_indonesia();
        let resolved = self
            .record_resolution(&mut tx, &task, &outcome, &reason, &actor, today)
            .await?;
        let niks = super::scope::niks_of(
            &mut *tx,
            &task.person_id.iter().cloned().collect::<Vec<_>>(),
            &task.household_id.iter().cloned().collect::<Vec<_>>(),
        )
        .await?;
        self.record_change(&mut tx, by, &niks, serde_json::json!({ "outcome": outcome }))
            .await?;
        tx.commit().await.map_err(ApiError::unavailable)?;
        Ok(resolved)
    }

    async fn record_resolution(
        &self,
        conn: &mut PgConnection,
        task: &TaskSummary,
        outcome: &str,
        reason: &str,
        actor: &str,
        today: NaiveDate,
    ) -> Result<TaskSummary, ApiError> {
        let stream = format!("verification-{}", task.task_id);
        let version = slrt_eventstore::stream_version(&mut *conn, &stream)
            .await
            .map_err(ApiError::unavailable)?;
        let resolved_event_id = Uuid::now_v7();
        let cause = Cause {
            event_id: resolved_event_id,
            evidence_id: None,
            task_id: Some(task.task_id),
            actor: actor.to_owned(),
            on: today,
        };
        let holds = open_holds(conn, HoldFilter::Task(task.task_id))
            .await
            .map_err(ApiError::unavailable)?;
        let mut ended = Vec::new();
        let mut released = Vec::new();
        for hold in &holds {
            if outcome == "confirmed" {
                let why = format!("exclusion confirmed on verification (task {}): {reason}", task.task_id);
                end_enrolment(&self.store, conn, &cause, &hold.enrolment, today, "excluded", &why).await?;
                ended.push(hold.enrolment.programme_code.clone());
            } else {
                let why = format!(
                    "exclusion evidence rejected on verification (task {}): {reason}",
                    task.task_id
                );
                release_hold(&self.store, conn, &cause, hold, true, &why).await?;
                released.push(hold.enrolment.programme_code.clone());
            }
        }
        // One entry per programme, however many members' enrolments it covered.
        for programmes in [&mut ended, &mut released] {
            programmes.sort();
            programmes.dedup();
        }
        sqlx::query(
            "UPDATE verification_tasks SET outcome = $2, resolution_reason = $3, resolved_by = $4, resolved_on = $5
             WHERE task_id = $1",
        )
        .bind(task.task_id)
        .bind(outcome)
        .bind(reason)
        .bind(actor)
        .bind(today)
        .execute(&mut *conn)
        .await
        .map_err(ApiError::unavailable)?;
        let payload = proto::VerificationTaskResolved {
            task_id: task.task_id.to_string(),
            outcome: outcome.to_owned(),
            reason: reason.to_owned(),
            actor: actor.to_owned(),
            complaint_case_id: task.complaint_case_id.map(|id| id.to_string()).unwrap_or_default(),
            ended_programmes: ended,
            released_programmes: released,
            resolved_on: today.to_string(),
        };
        let mut event = NewEvent::new(&payload);
        event.event_id = resolved_event_id;
        if let Some(case_id) = task.complaint_case_id {
            event = event.for_case(case_id);
        }
        self.store
            .append(conn, &stream, ExpectedVersion::Exact(version), vec![event])
            .await
            .map_err(WriteError::from)?;
        Ok(TaskSummary {
            status: outcome.to_owned(),
            resolution_reason: Some(reason.to_owned()),
            resolved_by: Some(actor.to_owned()),
            resolved_on: Some(today),
            ..task.clone()
        })
    }

    /// Starts a new enrolment in place of one ended as excluded, after the checks a decision
    /// makes: the beneficiary is alive, holds no current enrolment in the programme, and
    /// nothing they hold excludes it.
    /// Audited in its transaction; an enrolment of a beneficiary outside `by`'s area is not
    /// found.
    pub async fn reinstate(
        &self,
        enrolment_id: Uuid,
        request: &Reinstate,
        by: &ChangeBy,
    ) -> Result<Reinstated, ApiError> {
        let reason = required("reason", request.reason.as_deref(), "the reason for the reinstatement")?;
        let actor = by.actor().to_owned();
        let mut tx = self.pool.begin().await.map_err(ApiError::unavailable)?;
        let row = sqlx::query(
            "SELECT enrolment_id, programme_code, beneficiary_kind, beneficiary_id, status, source, case_id, need_id,
                    ended_reason_code
             FROM enrolments WHERE enrolment_id = $1",
        )
        .bind(enrolment_id)
        .fetch_optional(&mut *tx)
        .await
        .map_err(ApiError::unavailable)?
        .ok_or_else(|| no_enrolment(enrolment_id))?;
        let get =
            |column: &str| -> Result<Option<String>, ApiError> { row.try_get(column).map_err(ApiError::internal) };
        let programme_code = get("programme_code")?.unwrap_or_default();
        let kind_text = get("beneficiary_kind")?.unwrap_or_default();
        let beneficiary_id = get("beneficiary_id")?.unwrap_or_default();
        let status = get("status")?.unwrap_or_default();
        let ended_reason = get("ended_reason_code")?;
        let source = get("source")?.unwrap_or_default();
        let need_id = get("need_id")?;
        let case_id: Option<Uuid> = row.try_get("case_id").map_err(ApiError::internal)?;
        let kind = BeneficiaryKind::parse(&kind_text)
            .ok_or_else(|| ApiError::internal(crate::app::corrupt("beneficiary_kind", &kind_text)))?;

        // Lock the household first, as every other writer of its ledger does.
        let household: Option<String> = match kind {
            BeneficiaryKind::Household => Some(beneficiary_id.clone()),
            BeneficiaryKind::Person => {
                sqlx::query_scalar("SELECT household_id FROM registry_people WHERE person_id = $1")
                    .bind(&beneficiary_id)
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(ApiError::unavailable)?
            }
        };
        let regions: Vec<String> =
            sqlx::query_scalar("SELECT region_code FROM registry_people WHERE household_id = $1")
                .bind(household.as_deref().unwrap_or_default())
                .fetch_all(&mut *tx)
                .await
                .map_err(ApiError::unavailable)?;
        // A beneficiary the registry does not know has no place: only the regency's staff
        // reach it.
        let placed = if regions.is_empty() {
            by.scope.covers_unplaced()
        } else {
            regions.iter().all(|region| by.scope.covers(region))
        };
        if !placed {
            return Err(no_enrolment(enrolment_id));
        }
        if let Some(household) = household.as_deref().and_then(|h| HouseholdId::parse(h).ok()) {
            lock_household(&mut tx, &household)
                .await
                .map_err(ApiError::unavailable)?;
        }
        if status != "ended" || ended_reason.as_deref() != Some("excluded") {
            return Err(ApiError::rejected(format!(
                "enrolment {enrolment_id} is {status}{}; only an enrolment ended as excluded can be reinstated",
                ended_reason.map(|r| format!(" ({r})")).unwrap_or_default()
            ))
            .with_field("enrolment_id"));
        }
        if source == "external" {
            // The agency that reported it owns it: it reports the enrolment again if it stands.
            return Err(ApiError::rejected(format!(
                "enrolment {enrolment_id} was reported by another agency; that agency reports it again to reinstate it"
            ))
            .with_field("enrolment_id"));
        }
        let vitality = super::registry::vitality(&mut *tx, kind, &beneficiary_id)
            .await
            .map_err(ApiError::unavailable)?;
        match vitality {
            crate::domain::Vitality::Person { deceased: true } => {
                return Err(ApiError::rejected(format!(
                    "{beneficiary_id} is recorded as deceased; a deceased person cannot be reinstated"
                ))
                .with_field("enrolment_id"));
            }
            crate::domain::Vitality::Household { living_members: 0 } => {
                return Err(ApiError::rejected(format!(
                    "household {beneficiary_id} has no living member; it cannot be reinstated"
                ))
                .with_field("enrolment_id"));
            }
            _ => {}
        }
        let programme = ProgrammeCode::parse(&programme_code)
            .map_err(|e| ApiError::internal(crate::app::corrupt("programme_code", e)))?;
        let current: Vec<String> = sqlx::query_scalar(
            "SELECT programme_code FROM enrolments
             WHERE status <> 'ended'
               AND ((beneficiary_kind = 'household' AND beneficiary_id = $1)
                 OR (beneficiary_kind = 'person' AND beneficiary_id = $2))",
        )
        .bind(household.as_deref().unwrap_or_default())
        .bind(if kind == BeneficiaryKind::Person {
            beneficiary_id.as_str()
        } else {
            ""
        })
        .fetch_all(&mut *tx)
        .await
        .map_err(ApiError::unavailable)?;
        let catalogue = self.catalogue();
        for held in &current {
            if held == &programme_code {
                return Err(ApiError::rejected(format!(
                    "{beneficiary_id} already holds a current {programme_code} enrolment"
                ))
                .with_field("enrolment_id"));
            }
            let Ok(other) = ProgrammeCode::parse(held) else {
                continue;
            };
            if let Some(rule) = catalogue.exclusion_between(&programme, &other) {
                return Err(ApiError::rejected(format!(
                    "{programme_code} cannot be combined with {held}, which is held now ({})",
                    rule.rule_id()
                ))
                .with_field("enrolment_id"));
            }
        }

        let today = slrt_identity::today_in_indonesia();
        let new_id = Uuid::now_v7();
        sqlx::query(
            "INSERT INTO enrolments (enrolment_id, programme_code, beneficiary_kind, beneficiary_id, status, source,
                                     case_id, need_id, started_on, reinstates_enrolment_id)
             VALUES ($1, $2, $3, $4, 'active', $5, $6, $7, $8, $9)",
        )
        .bind(new_id)
        .bind(&programme_code)
        .bind(&kind_text)
        .bind(&beneficiary_id)
        .bind(&source)
        .bind(case_id)
        .bind(&need_id)
        .bind(today)
        .bind(enrolment_id)
        .execute(&mut *tx)
        .await
        .map_err(ApiError::unavailable)?;
        let payload = proto::EnrolmentStarted {
            enrolment_id: new_id.to_string(),
            case_id: case_id.map(|id| id.to_string()).unwrap_or_default(),
            programme_code: programme_code.clone(),
            beneficiary_id: beneficiary_id.clone(),
            beneficiary_kind: kind_text.clone(),
            started_on: today.to_string(),
            reinstates_enrolment_id: enrolment_id.to_string(),
        };
        let mut event = NewEvent::new(&payload);
        if let Some(case_id) = case_id {
            event = event.for_case(case_id);
        }
        self.store
            .append(
                &mut tx,
                &format!("enrolment-{new_id}"),
                ExpectedVersion::NoStream,
                vec![event],
            )
            .await
            .map_err(WriteError::from)?;
        let (people, households) = match kind {
            BeneficiaryKind::Person => (vec![beneficiary_id.clone()], vec![]),
            BeneficiaryKind::Household => (vec![], vec![beneficiary_id.clone()]),
        };
        let niks = super::scope::niks_of(&mut *tx, &people, &households).await?;
        self.record_change(
            &mut tx,
            by,
            &niks,
            serde_json::json!({ "enrolment_id": new_id, "programme_code": programme_code, "reason": reason }),
        )
        .await?;
        tx.commit().await.map_err(ApiError::unavailable)?;
        tracing::info!(
            enrolment.id = %new_id, reinstates = %enrolment_id, actor = %actor,
            "enrolment reinstated"
        );
        Ok(Reinstated {
            enrolment_id: new_id,
            reinstates_enrolment_id: enrolment_id,
            programme_code,
            beneficiary_kind: kind_text,
            beneficiary_id,
            started_on: today,
        })
    }
}

/// The answer for a task that does not exist or lies outside the caller's area: the same.
fn no_task(task_id: Uuid) -> ApiError {
    ApiError::not_found(format!("no verification task {task_id}"))
}

fn no_enrolment(enrolment_id: Uuid) -> ApiError {
    ApiError::not_found(format!("no enrolment {enrolment_id}"))
}

async fn evidence_view(conn: &mut PgConnection, evidence_id: Uuid) -> Result<Option<EvidenceView>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT evidence_id, kind, source, reference, observed_on, recorded_at, effects FROM evidence
         WHERE evidence_id = $1",
    )
    .bind(evidence_id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let effects: serde_json::Value = row.try_get("effects")?;
    Ok(Some(EvidenceView {
        evidence_id: row.try_get("evidence_id")?,
        kind: row.try_get("kind")?,
        source: row.try_get("source")?,
        reference: row.try_get("reference")?,
        observed_on: row.try_get("observed_on")?,
        recorded_at: row.try_get("recorded_at")?,
        effects: effects
            .as_array()
            .map(|all| {
                all.iter()
                    .filter_map(|e| e.get("message").and_then(serde_json::Value::as_str).map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default(),
    }))
}

/// What an inclusion-error complaint led to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ComplaintTask {
    /// A task was opened about a registry person or household.
    Opened(Uuid),
    /// The report named nobody the registry knows: the task was opened and resolved not_found.
    NotFound(Uuid),
    /// The complaint case already has its task (the same case delivered again).
    AlreadyOpened,
    /// Not an inclusion-error grievance: nothing for eligibility to verify.
    NotInclusionError,
}

/// Opens the verification task an inclusion-error complaint asks for, inside the consumer's
/// transaction. A neighbour's report alone holds no payment: the task is opened without a
/// hold. The reported person is found by NIK, else the household by KK number.
pub async fn open_for_complaint(
    conn: &mut PgConnection,
    store: &EventStore,
    verification_days: u32,
    event: &ReceivedEnvelope,
    opened: &CaseOpened,
) -> Result<ComplaintTask, WriteError> {
    let Some(complaint) = opened.complaint.as_ref() else {
        return Ok(ComplaintTask::NotInclusionError);
    };
    if complaint.grievance_type != "inclusion_error" {
        return Ok(ComplaintTask::NotInclusionError);
    }
    let Ok(case_id) = Uuid::parse_str(&opened.case_id) else {
        return Ok(ComplaintTask::NotInclusionError);
    };
    let existing: Option<Uuid> =
        sqlx::query_scalar("SELECT task_id FROM verification_tasks WHERE complaint_case_id = $1")
            .bind(case_id)
            .fetch_optional(&mut *conn)
            .await?;
    if existing.is_some() {
        return Ok(ComplaintTask::AlreadyOpened);
    }
    let reported = complaint.reported.clone().unwrap_or_default();
    let today = slrt_identity::today_in_indonesia();
    let by_nik = match Nik::parse(reported.nik.trim()) {
        Ok(nik) => sqlx::query("SELECT person_id, household_id, region_code FROM registry_people WHERE nik = $1")
            .bind(nik.as_str())
            .fetch_optional(&mut *conn)
            .await?
            .map(|row| -> Result<_, sqlx::Error> {
                Ok((
                    Some(row.try_get::<String, _>("person_id")?),
                    row.try_get::<String, _>("household_id")?,
                    row.try_get::<String, _>("region_code")?,
                ))
            })
            .transpose()?,
        Err(_) => None,
    };
    let found = match by_nik {
        Some(found) => Some(found),
        None => match KkNumber::parse(reported.kk_number.trim()) {
            Ok(kk) => sqlx::query(
                "SELECT household_id, region_code FROM registry_people WHERE kk_number = $1 ORDER BY person_id LIMIT 1",
            )
            .bind(kk.as_str())
            .fetch_optional(&mut *conn)
            .await?
            .map(|row| -> Result<_, sqlx::Error> {
                Ok((
                    None,
                    row.try_get::<String, _>("household_id")?,
                    row.try_get::<String, _>("region_code")?,
                ))
            })
            .transpose()?,
            Err(_) => None,
        },
    };
    let ground_said = if reported.ground.is_empty() {
        "unspecified"
    } else {
        reported.ground.as_str()
    };
    let programme_said = if reported.programme_code.is_empty() {
        String::new()
    } else {
        format!(" about {}", reported.programme_code)
    };
    let task_id = Uuid::now_v7();
    let (person_id, household_id, region_code) = match &found {
        Some((person, household, region)) => (person.clone(), Some(household.clone()), region.clone()),
        None => (None, None, reported.region_code.clone()),
    };
    let summary = match (&person_id, &household_id) {
        (Some(person), _) => format!(
            "inclusion-error complaint (case {}){programme_said}: {person} should not receive aid (ground: {ground_said}); \
             verify before anything is stopped",
            opened.case_number
        ),
        (None, Some(household)) => format!(
            "inclusion-error complaint (case {}){programme_said}: household {household} should not receive aid \
             (ground: {ground_said}); verify before anything is stopped",
            opened.case_number
        ),
        (None, None) => format!(
            "inclusion-error complaint (case {}){programme_said}: the registry knows nobody by the NIK or KK reported",
            opened.case_number
        ),
    };
    let task = NewTask {
        task_id,
        ground: Ground::InclusionComplaint,
        person_id: person_id.clone(),
        household_id: household_id.clone(),
        region_code,
        evidence_id: None,
        complaint_case_id: Some(case_id),
        held_programmes: vec![],
        summary,
        opened_on: today,
        due_on: today + chrono::Days::new(u64::from(verification_days)),
    };
    open_task(store, conn, &task, event.event_id).await?;
    if found.is_some() {
        return Ok(ComplaintTask::Opened(task_id));
    }
    let reason = "the report names nobody the registry knows by NIK or KK number".to_owned();
    sqlx::query(
        "UPDATE verification_tasks SET outcome = 'not_found', resolution_reason = $2, resolved_by = $3, resolved_on = $4
         WHERE task_id = $1",
    )
    .bind(task_id)
    .bind(&reason)
    .bind(super::evidence::FEED_ACTOR)
    .bind(today)
    .execute(&mut *conn)
    .await?;
    let resolved = proto::VerificationTaskResolved {
        task_id: task_id.to_string(),
        outcome: "not_found".to_owned(),
        reason,
        actor: super::evidence::FEED_ACTOR.to_owned(),
        complaint_case_id: case_id.to_string(),
        ended_programmes: vec![],
        released_programmes: vec![],
        resolved_on: today.to_string(),
    };
    store
        .append(
            conn,
            &format!("verification-{task_id}"),
            ExpectedVersion::Exact(1),
            vec![NewEvent::new(&resolved).for_case(case_id).caused_by(event.event_id)],
        )
        .await?;
    Ok(ComplaintTask::NotFound(task_id))
}
