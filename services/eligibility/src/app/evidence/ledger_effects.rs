//! What evidence and verification do to the ledger, one enrolment at a time: hold, release,
//! end. Each writes the ledger row, the hold rows and the enrolment's event together, inside
//! the caller's transaction (which holds the household lock).

use std::collections::BTreeMap;

use chrono::NaiveDate;
use slrt_eventstore::{EventStore, ExpectedVersion, NewEvent};
use slrt_proto::eligibility::v1 as proto;
use sqlx::{PgConnection, Row};
use uuid::Uuid;

use super::WriteError;
use crate::domain::evidence::CurrentEnrolment;
use crate::domain::{Beneficiary, HouseholdId, PersonId, ProgrammeCode};

/// What a change to the ledger is caused by.
#[derive(Debug, Clone)]
pub(crate) struct Cause {
    /// The event the changes are caused by (the evidence's or the task's).
    pub event_id: Uuid,
    pub evidence_id: Option<Uuid>,
    pub task_id: Option<Uuid>,
    /// An officer's id, or [`super::FEED_ACTOR`].
    pub actor: String,
    /// The day the change is made (a release's `released_on`).
    pub on: NaiveDate,
}

/// What applying evidence did, rule by rule, as `EvidenceRecorded.effects`.
#[derive(Debug, Clone, Default)]
pub(crate) struct Effects {
    pub reasons: Vec<proto::Reason>,
}

impl Effects {
    pub fn push(&mut self, rule: &str, message: String) {
        self.reasons.push(proto::Reason {
            rule: rule.to_owned(),
            message,
        });
    }

    pub fn is_empty(&self) -> bool {
        self.reasons.is_empty()
    }

    pub fn messages(&self) -> Vec<String> {
        self.reasons.iter().map(|r| r.message.clone()).collect()
    }

    pub fn as_json(&self) -> serde_json::Value {
        serde_json::Value::Array(
            self.reasons
                .iter()
                .map(|r| serde_json::json!({"rule": r.rule, "message": r.message}))
                .collect(),
        )
    }
}

/// One ledger row, as the effects need it.
#[derive(Debug, Clone)]
pub(crate) struct EnrolmentRow {
    pub enrolment_id: Uuid,
    pub programme_code: String,
    pub beneficiary_kind: String,
    pub beneficiary_id: String,
    pub case_id: Option<Uuid>,
}

impl EnrolmentRow {
    /// "PKH of household H-000001", for effects and reasons.
    pub fn describe(&self) -> String {
        format!(
            "{} of {} {} (enrolment {})",
            self.programme_code, self.beneficiary_kind, self.beneficiary_id, self.enrolment_id
        )
    }

    fn from_row(row: &sqlx::postgres::PgRow) -> Result<Self, sqlx::Error> {
        Ok(Self {
            enrolment_id: row.try_get("enrolment_id")?,
            programme_code: row.try_get("programme_code")?,
            beneficiary_kind: row.try_get("beneficiary_kind")?,
            beneficiary_id: row.try_get("beneficiary_id")?,
            case_id: row.try_get("case_id")?,
        })
    }

    fn event(&self, payload: &impl prost::Name, cause: &Cause) -> NewEvent {
        let event = NewEvent::new(payload).caused_by(cause.event_id);
        // The case that started the enrolment sees what happened to it in its timeline.
        match self.case_id {
            Some(case_id) => event.for_case(case_id),
            None => event,
        }
    }
}

/// An open hold and its enrolment.
#[derive(Debug, Clone)]
pub(crate) struct HoldRow {
    pub hold_id: Uuid,
    pub held_from: NaiveDate,
    pub evidence_id: Option<Uuid>,
    pub task_id: Option<Uuid>,
    pub enrolment: EnrolmentRow,
}

/// Which open holds to read.
#[derive(Debug, Clone, Copy)]
pub(crate) enum HoldFilter<'a> {
    /// Those an item of evidence caused.
    Evidence(Uuid),
    /// Those held for a verification task.
    Task(Uuid),
    /// A household's holds for a reported death of this member.
    HouseholdDeathReport { household: &'a str, person: &'a str },
}

/// The current (active or held) enrolments of a household and of each of its members, locked
/// for update: by id, and as the domain rules see them.
pub(crate) async fn current_enrolments(
    conn: &mut PgConnection,
    household: &HouseholdId,
) -> Result<(BTreeMap<Uuid, EnrolmentRow>, Vec<CurrentEnrolment>), sqlx::Error> {
    let rows = sqlx::query(
        "SELECT enrolment_id, programme_code, beneficiary_kind, beneficiary_id, case_id FROM enrolments
         WHERE status <> 'ended'
           AND ((beneficiary_kind = 'household' AND beneficiary_id = $1)
             OR (beneficiary_kind = 'person'
                 AND beneficiary_id IN (SELECT person_id FROM registry_people WHERE household_id = $1)))
         ORDER BY programme_code, beneficiary_id
         FOR UPDATE",
    )
    .bind(household.as_str())
    .fetch_all(&mut *conn)
    .await?;
    let mut by_id = BTreeMap::new();
    let mut current = Vec::with_capacity(rows.len());
    for row in &rows {
        let row = EnrolmentRow::from_row(row)?;
        let beneficiary = match row.beneficiary_kind.as_str() {
            "household" => Beneficiary::Household(
                HouseholdId::parse(&row.beneficiary_id).map_err(|e| crate::app::corrupt("beneficiary_id", e))?,
            ),
            _ => Beneficiary::Person(
                PersonId::parse(&row.beneficiary_id).map_err(|e| crate::app::corrupt("beneficiary_id", e))?,
            ),
        };
        current.push(CurrentEnrolment {
            enrolment_id: row.enrolment_id,
            programme: ProgrammeCode::parse(&row.programme_code)
                .map_err(|e| crate::app::corrupt("programme_code", e))?,
            beneficiary,
        });
        by_id.insert(row.enrolment_id, row);
    }
    Ok((by_id, current))
}

/// Holds an enrolment's payments from `held_from` (`EnrolmentHeld`).
pub(crate) async fn hold_enrolment(
    store: &EventStore,
    conn: &mut PgConnection,
    cause: &Cause,
    row: &EnrolmentRow,
    reason_code: &str,
    reason: &str,
    held_from: NaiveDate,
) -> Result<(), WriteError> {
    sqlx::query(
        "INSERT INTO enrolment_holds (hold_id, enrolment_id, reason_code, reason, held_from, evidence_id, task_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(Uuid::now_v7())
    .bind(row.enrolment_id)
    .bind(reason_code)
    .bind(reason)
    .bind(held_from)
    .bind(cause.evidence_id)
    .bind(cause.task_id)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "UPDATE enrolments SET status = 'held', updated_at = now() WHERE enrolment_id = $1 AND status = 'active'",
    )
    .bind(row.enrolment_id)
    .execute(&mut *conn)
    .await?;
    let payload = proto::EnrolmentHeld {
        enrolment_id: row.enrolment_id.to_string(),
        programme_code: row.programme_code.clone(),
        beneficiary_id: row.beneficiary_id.clone(),
        beneficiary_kind: row.beneficiary_kind.clone(),
        held_from: held_from.to_string(),
        reason_code: reason_code.to_owned(),
        reason: reason.to_owned(),
        evidence_id: id_text(cause.evidence_id),
        verification_task_id: id_text(cause.task_id),
    };
    append(store, conn, row, row.event(&payload, cause)).await
}

/// Lifts one hold (`EnrolmentHoldReleased`). The enrolment is active again once no other hold
/// is open on it. `evidence_id` and `verification_task_id` name what released it, else what
/// had held it.
pub(crate) async fn release_hold(
    store: &EventStore,
    conn: &mut PgConnection,
    cause: &Cause,
    hold: &HoldRow,
    arrears_due: bool,
    reason: &str,
) -> Result<(), WriteError> {
    sqlx::query(
        "UPDATE enrolment_holds SET state = 'released', released_on = $2, arrears_due = $3
         WHERE hold_id = $1 AND state = 'open'",
    )
    .bind(hold.hold_id)
    .bind(cause.on)
    .bind(arrears_due)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "UPDATE enrolments SET status = 'active', updated_at = now()
         WHERE enrolment_id = $1 AND status = 'held'
           AND NOT EXISTS (SELECT 1 FROM enrolment_holds WHERE enrolment_id = $1 AND state = 'open')",
    )
    .bind(hold.enrolment.enrolment_id)
    .execute(&mut *conn)
    .await?;
    let row = &hold.enrolment;
    let payload = proto::EnrolmentHoldReleased {
        enrolment_id: row.enrolment_id.to_string(),
        programme_code: row.programme_code.clone(),
        beneficiary_id: row.beneficiary_id.clone(),
        beneficiary_kind: row.beneficiary_kind.clone(),
        held_from: hold.held_from.to_string(),
        released_on: cause.on.to_string(),
        arrears_due,
        reason: reason.to_owned(),
        evidence_id: id_text(cause.evidence_id.or(hold.evidence_id)),
        verification_task_id: id_text(cause.task_id.or(hold.task_id)),
        actor: cause.actor.clone(),
    };
    append(store, conn, row, row.event(&payload, cause)).await
}

/// Ends an enrolment on `ended_on` (`EnrolmentEnded`); its open holds close with it.
pub(crate) async fn end_enrolment(
    store: &EventStore,
    conn: &mut PgConnection,
    cause: &Cause,
    row: &EnrolmentRow,
    ended_on: NaiveDate,
    reason_code: &str,
    reason: &str,
) -> Result<(), WriteError> {
    sqlx::query(
        "UPDATE enrolments SET status = 'ended', ended_on = $2, ended_reason_code = $3, updated_at = now()
         WHERE enrolment_id = $1 AND status <> 'ended'",
    )
    .bind(row.enrolment_id)
    .bind(ended_on)
    .bind(reason_code)
    .execute(&mut *conn)
    .await?;
    sqlx::query("UPDATE enrolment_holds SET state = 'ended' WHERE enrolment_id = $1 AND state = 'open'")
        .bind(row.enrolment_id)
        .execute(&mut *conn)
        .await?;
    let payload = proto::EnrolmentEnded {
        enrolment_id: row.enrolment_id.to_string(),
        programme_code: row.programme_code.clone(),
        beneficiary_id: row.beneficiary_id.clone(),
        beneficiary_kind: row.beneficiary_kind.clone(),
        ended_on: ended_on.to_string(),
        reason_code: reason_code.to_owned(),
        reason: reason.to_owned(),
        evidence_id: id_text(cause.evidence_id),
        verification_task_id: id_text(cause.task_id),
        actor: cause.actor.clone(),
    };
    append(store, conn, row, row.event(&payload, cause)).await
}

/// Open holds, locked, with their enrolments.
pub(crate) async fn open_holds(conn: &mut PgConnection, filter: HoldFilter<'_>) -> Result<Vec<HoldRow>, sqlx::Error> {
    const SELECT: &str = "SELECT h.hold_id, h.held_from, h.evidence_id, h.task_id, e.enrolment_id, e.programme_code,
                                 e.beneficiary_kind, e.beneficiary_id, e.case_id
                          FROM enrolment_holds h
                          JOIN enrolments e ON e.enrolment_id = h.enrolment_id
                          LEFT JOIN evidence v ON v.evidence_id = h.evidence_id
                          WHERE h.state = 'open' AND ";
    const ORDER: &str = " ORDER BY e.programme_code, e.beneficiary_id, h.hold_id FOR UPDATE OF h";
    let rows = match filter {
        HoldFilter::Evidence(id) => {
            sqlx::query(sqlx::AssertSqlSafe(format!("{SELECT}h.evidence_id = $1{ORDER}")))
                .bind(id)
                .fetch_all(&mut *conn)
                .await?
        }
        HoldFilter::Task(id) => {
            sqlx::query(sqlx::AssertSqlSafe(format!("{SELECT}h.task_id = $1{ORDER}")))
                .bind(id)
                .fetch_all(&mut *conn)
                .await?
        }
        HoldFilter::HouseholdDeathReport { household, person } => {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "{SELECT}h.reason_code = 'death_reported' AND e.beneficiary_kind = 'household'
                 AND e.beneficiary_id = $1 AND v.person_id = $2{ORDER}"
            )))
            .bind(household)
            .bind(person)
            .fetch_all(&mut *conn)
            .await?
        }
    };
    rows.iter()
        .map(|row| {
            Ok(HoldRow {
                hold_id: row.try_get("hold_id")?,
                held_from: row.try_get("held_from")?,
                evidence_id: row.try_get("evidence_id")?,
                task_id: row.try_get("task_id")?,
                enrolment: EnrolmentRow::from_row(row)?,
            })
        })
        .collect()
}

async fn append(
    store: &EventStore,
    conn: &mut PgConnection,
    row: &EnrolmentRow,
    event: NewEvent,
) -> Result<(), WriteError> {
    // Registry enrolments have no stream until their first event; the household lock makes
    // this the only writer of the stream, so its version need not be checked.
    store
        .append(
            conn,
            &format!("enrolment-{}", row.enrolment_id),
            ExpectedVersion::Any,
            vec![event],
        )
        .await?;
    Ok(())
}

fn id_text(id: Option<Uuid>) -> String {
    id.map(|id| id.to_string()).unwrap_or_default()
}
