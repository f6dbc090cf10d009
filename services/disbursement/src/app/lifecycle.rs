//! The entitlement lifecycle: what eligibility's enrolment events (ended, held, hold
//! released), its registry events (a confirmed death, a new household head) and referral's
//! revocations and transfers do to entitlements and their payments.
//!
//! Each use case runs in the consumer's transaction (with its inbox row): it locks the
//! entitlements concerned and their payments (`FOR UPDATE`, the same rows a batch release
//! locks, so a payment is either released or stopped, never both), asks the pure
//! [`lifecycle`](crate::domain::lifecycle) functions which keys change, appends the events on
//! each entitlement's stream and applies them to the read model.

use chrono::NaiveDate;
use slrt_eventstore::{AppendError, ExpectedVersion, NewEvent};
use slrt_proto::disbursement::v1 as proto;
use slrt_proto::eligibility::v1::{
    EnrolmentEnded, EnrolmentHeld, EnrolmentHoldReleased, HouseholdHeadChanged, PersonDeceased,
};
use sqlx::PgConnection;
use uuid::Uuid;

use super::Disbursement;
use crate::domain::lifecycle::{Coverage, PaymentState, Stage, held_by_hold, lift_hold, stopped_by_end};
use crate::domain::{Cadence, PaymentKey, Period};
use crate::projections::{self, ProjectionError};

#[derive(Debug, thiserror::Error)]
pub enum LifecycleError {
    /// The event can never be applied; `field` names where in it.
    #[error("{event}: {field}: {message}")]
    Malformed {
        event: &'static str,
        field: &'static str,
        message: String,
    },
    #[error(transparent)]
    Store(#[from] AppendError),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Projection(#[from] ProjectionError),
}

impl LifecycleError {
    /// Whether applying the same event later may succeed.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Store(_) | Self::Database(_) | Self::Projection(ProjectionError::Database(_)) => true,
            Self::Malformed { .. } | Self::Projection(_) => false,
        }
    }
}

fn date(event: &'static str, field: &'static str, text: &str) -> Result<NaiveDate, LifecycleError> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| LifecycleError::Malformed {
        event,
        field,
        message: format!(
            "{:?} is not a date (YYYY-MM-DD)",
            text.chars().take(40).collect::<String>()
        ),
    })
}

fn required<'a>(event: &'static str, field: &'static str, text: &'a str) -> Result<&'a str, LifecycleError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(LifecycleError::Malformed {
            event,
            field,
            message: "missing".to_owned(),
        });
    }
    Ok(text)
}

/// An entitlement as the lifecycle needs it.
#[derive(Debug, Clone, sqlx::FromRow)]
struct Held {
    entitlement_id: Uuid,
    case_id: Uuid,
    programme_code: String,
    beneficiary_id: String,
    component: String,
    cadence: String,
    first_period: String,
    ended_on: Option<NaiveDate>,
    amount_per_period_idr: i64,
}

const ENTITLEMENT_COLUMNS: &str = "entitlement_id, case_id, programme_code, beneficiary_id, component, cadence, \
                                   first_period, ended_on, amount_per_period_idr";

/// What ending an entitlement says about itself.
struct Ending<'a> {
    ended_on: NaiveDate,
    cause: &'static str,
    reason_code: &'a str,
    reason: &'a str,
}

impl Disbursement {
    /// `EnrolmentEnded`: the beneficiary's entitlements under the programme end on `ended_on`.
    pub async fn end_enrolment(
        &self,
        conn: &mut PgConnection,
        cause: Uuid,
        ended: &EnrolmentEnded,
    ) -> Result<usize, LifecycleError> {
        const EVENT: &str = "EnrolmentEnded";
        let programme = required(EVENT, "programme_code", &ended.programme_code)?;
        let beneficiary = required(EVENT, "beneficiary_id", &ended.beneficiary_id)?;
        let ended_on = date(EVENT, "ended_on", &ended.ended_on)?;
        let reason = if ended.reason.trim().is_empty() {
            format!("enrolment ended ({})", ended.reason_code)
        } else {
            format!("enrolment ended: {}", ended.reason.trim())
        };
        let entitlements = entitlements_of(conn, programme, beneficiary).await?;
        let ending = Ending {
            ended_on,
            cause: "enrolment_ended",
            reason_code: &ended.reason_code,
            reason: &reason,
        };
        let mut stopped = 0;
        for entitlement in &entitlements {
            stopped += self.end_one(conn, cause, entitlement, &ending).await?;
        }
        Ok(stopped)
    }

    /// `ReferralRevoked` / `ReferralTransferred`: the entitlement the referral's acceptance
    /// opened, if any, ends on the day it happened (in Jakarta).
    pub async fn end_referral(
        &self,
        conn: &mut PgConnection,
        cause: Uuid,
        referral_id: Uuid,
        on: NaiveDate,
        transferred: bool,
        reason: &str,
    ) -> Result<usize, LifecycleError> {
        let entitlement: Option<Held> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {ENTITLEMENT_COLUMNS} FROM entitlements WHERE referral_id = $1 FOR UPDATE"
        )))
        .bind(referral_id)
        .fetch_optional(&mut *conn)
        .await?;
        let Some(entitlement) = entitlement else { return Ok(0) };
        let (cause_code, what) = if transferred {
            ("referral_transferred", "referral transferred to another agency")
        } else {
            ("referral_revoked", "referral revoked")
        };
        let reason = if reason.trim().is_empty() {
            what.to_owned()
        } else {
            format!("{what}: {}", reason.trim())
        };
        let ending = Ending {
            ended_on: on,
            cause: cause_code,
            reason_code: cause_code,
            reason: &reason,
        };
        self.end_one(conn, cause, &entitlement, &ending).await
    }

    async fn end_one(
        &self,
        conn: &mut PgConnection,
        cause: Uuid,
        entitlement: &Held,
        ending: &Ending<'_>,
    ) -> Result<usize, LifecycleError> {
        // Already ended on or before this date: a later end stops nothing more.
        if entitlement.ended_on.is_some_and(|ended_on| ended_on <= ending.ended_on) {
            return Ok(0);
        }
        let payments = payment_states(conn, entitlement.entitlement_id).await?;
        let stopped = stopped_by_end(&payments, ending.ended_on);
        let mut events = vec![NewEvent::new(&proto::EntitlementEnded {
            entitlement_id: entitlement.entitlement_id.to_string(),
            case_id: entitlement.case_id.to_string(),
            programme_code: entitlement.programme_code.clone(),
            beneficiary_id: entitlement.beneficiary_id.clone(),
            component: entitlement.component.clone(),
            ended_on: ending.ended_on.to_string(),
            cause: ending.cause.to_owned(),
            reason_code: ending.reason_code.to_owned(),
            reason: ending.reason.to_owned(),
        })];
        events.extend(stopped.iter().map(|key| stop_event(entitlement, key, ending.reason)));
        self.record(conn, entitlement, cause, events).await?;
        tracing::info!(
            entitlement.id = %entitlement.entitlement_id,
            ended_on = %ending.ended_on,
            cause = ending.cause,
            stopped = stopped.len(),
            "entitlement ended"
        );
        Ok(stopped.len())
    }

    /// `EnrolmentHeld`: payments for periods from `held_from` on are held, now, with the
    /// reason, so that reports show them held before any batch is released.
    pub async fn hold_enrolment(
        &self,
        conn: &mut PgConnection,
        cause: Uuid,
        held: &EnrolmentHeld,
    ) -> Result<usize, LifecycleError> {
        const EVENT: &str = "EnrolmentHeld";
        let programme = required(EVENT, "programme_code", &held.programme_code)?;
        let beneficiary = required(EVENT, "beneficiary_id", &held.beneficiary_id)?;
        let held_from = date(EVENT, "held_from", &held.held_from)?;
        let reason = if held.reason.trim().is_empty() {
            format!("enrolment held ({})", held.reason_code)
        } else {
            format!("enrolment held: {}", held.reason.trim())
        };
        let mut count = 0;
        for entitlement in entitlements_of(conn, programme, beneficiary).await? {
            let payments = payment_states(conn, entitlement.entitlement_id).await?;
            let keys = held_by_hold(&payments, held_from);
            count += keys.len();
            let event = NewEvent::new(&proto::EntitlementHeld {
                entitlement_id: entitlement.entitlement_id.to_string(),
                case_id: entitlement.case_id.to_string(),
                held_from: held_from.to_string(),
                reason_code: held.reason_code.clone(),
                reason: reason.clone(),
                held_keys: keys.iter().map(ToString::to_string).collect(),
            });
            self.record(conn, &entitlement, cause, vec![event]).await?;
        }
        Ok(count)
    }

    /// `EnrolmentHoldReleased`: with arrears due, every payment held for a period of the
    /// hold is owed again under its key and periods never instructed are instructed (all
    /// into the programme's next batch); without, the held payments are stopped.
    pub async fn release_hold(
        &self,
        conn: &mut PgConnection,
        cause: Uuid,
        released: &EnrolmentHoldReleased,
    ) -> Result<usize, LifecycleError> {
        const EVENT: &str = "EnrolmentHoldReleased";
        let programme = required(EVENT, "programme_code", &released.programme_code)?;
        let beneficiary = required(EVENT, "beneficiary_id", &released.beneficiary_id)?;
        let held_from = date(EVENT, "held_from", &released.held_from)?;
        let released_on = date(EVENT, "released_on", &released.released_on)?;
        if released_on < held_from {
            return Err(LifecycleError::Malformed {
                event: EVENT,
                field: "released_on",
                message: format!("{released_on} is before held_from {held_from}"),
            });
        }
        let mut changed = 0;
        for entitlement in entitlements_of(conn, programme, beneficiary).await? {
            let coverage = Coverage {
                cadence: Cadence::parse(&entitlement.cadence).map_err(|e| stored(&entitlement, e))?,
                first_period: Period::parse(&entitlement.first_period).map_err(|e| stored(&entitlement, e))?,
                ended_on: entitlement.ended_on,
            };
            let payments = payment_states(conn, entitlement.entitlement_id).await?;
            let lifted = lift_hold(&payments, coverage, held_from, released_on, released.arrears_due);
            let reason = if released.arrears_due {
                format!("hold lifted with arrears due: {}", released.reason.trim())
            } else {
                format!("hold lifted without arrears: {}", released.reason.trim())
            };
            let mut events = vec![NewEvent::new(&proto::EntitlementHoldReleased {
                entitlement_id: entitlement.entitlement_id.to_string(),
                case_id: entitlement.case_id.to_string(),
                held_from: held_from.to_string(),
                released_on: released_on.to_string(),
                arrears_due: released.arrears_due,
                reason: released.reason.clone(),
                arrears_keys: lifted.arrears.iter().map(ToString::to_string).collect(),
            })];
            events.extend(lifted.stopped.iter().map(|key| stop_event(&entitlement, key, &reason)));
            for period in &lifted.to_instruct {
                let key = PaymentKey::new(programme, *period, beneficiary, &entitlement.component)
                    .map_err(|e| stored(&entitlement, e))?;
                events.push(NewEvent::new(&proto::PaymentInstructionCreated {
                    payment_id: Uuid::now_v7().to_string(),
                    payment_key: key.to_string(),
                    entitlement_id: entitlement.entitlement_id.to_string(),
                    case_id: entitlement.case_id.to_string(),
                    programme_code: programme.to_owned(),
                    period: period.to_string(),
                    beneficiary_id: beneficiary.to_owned(),
                    component: entitlement.component.clone(),
                    amount_idr: entitlement.amount_per_period_idr,
                    arrears: true,
                }));
            }
            changed += lifted.arrears.len() + lifted.stopped.len() + lifted.to_instruct.len();
            self.record(conn, &entitlement, cause, events).await?;
            tracing::info!(
                entitlement.id = %entitlement.entitlement_id,
                arrears = lifted.arrears.len() + lifted.to_instruct.len(),
                stopped = lifted.stopped.len(),
                "hold released"
            );
        }
        Ok(changed)
    }

    /// `PersonDeceased`: the confirmed death, kept for the paid-after-death audit. What it
    /// stops comes with eligibility's `EnrolmentEnded`.
    pub async fn record_death(
        &self,
        conn: &mut PgConnection,
        cause: Uuid,
        deceased: &PersonDeceased,
    ) -> Result<bool, LifecycleError> {
        const EVENT: &str = "PersonDeceased";
        let person = required(EVENT, "person_id", &deceased.person_id)?;
        let date_of_death = date(EVENT, "date_of_death", &deceased.date_of_death)?;
        let known: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM deaths WHERE person_id = $1)")
            .bind(person)
            .fetch_one(&mut *conn)
            .await?;
        if known {
            return Ok(false);
        }
        let event = NewEvent::new(&proto::PersonDeathRecorded {
            person_id: person.to_owned(),
            household_id: deceased.household_id.trim().to_owned(),
            date_of_death: date_of_death.to_string(),
            was_head: deceased.was_head,
            certificate_reference: deceased.certificate_reference.clone(),
            source: deceased.source.clone(),
        })
        .caused_by(cause);
        let recorded = self
            .store
            .append(
                &mut *conn,
                &format!("death-{person}"),
                ExpectedVersion::Any,
                vec![event],
            )
            .await?;
        for stored in &recorded {
            projections::apply(&mut *conn, stored).await?;
        }
        Ok(true)
    }

    /// `HouseholdHeadChanged`: every entitlement of the household pays the new head from
    /// the next payment not sent yet (the sender names the payee when it sends).
    pub async fn change_payee(
        &self,
        conn: &mut PgConnection,
        cause: Uuid,
        changed: &HouseholdHeadChanged,
    ) -> Result<usize, LifecycleError> {
        const EVENT: &str = "HouseholdHeadChanged";
        let household = required(EVENT, "household_id", &changed.household_id)?;
        let new_head = required(EVENT, "new_head_person_id", &changed.new_head_person_id)?;
        let name = required(EVENT, "new_head_name", &changed.new_head_name)?;
        let changed_on = date(EVENT, "changed_on", &changed.changed_on)?;
        let entitlements: Vec<Held> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {ENTITLEMENT_COLUMNS} FROM entitlements WHERE beneficiary_id = $1
             ORDER BY entitlement_id FOR UPDATE"
        )))
        .bind(household)
        .fetch_all(&mut *conn)
        .await?;
        for entitlement in &entitlements {
            let event = NewEvent::new(&proto::EntitlementPayeeChanged {
                entitlement_id: entitlement.entitlement_id.to_string(),
                case_id: entitlement.case_id.to_string(),
                household_id: household.to_owned(),
                previous_head_person_id: changed.previous_head_person_id.clone(),
                new_head_person_id: new_head.to_owned(),
                payee_name: name.to_owned(),
                changed_on: changed_on.to_string(),
                reason: changed.reason.clone(),
            });
            self.record(conn, entitlement, cause, vec![event]).await?;
        }
        Ok(entitlements.len())
    }

    async fn record(
        &self,
        conn: &mut PgConnection,
        entitlement: &Held,
        cause: Uuid,
        events: Vec<NewEvent>,
    ) -> Result<(), LifecycleError> {
        let events = events
            .into_iter()
            .map(|event| event.for_case(entitlement.case_id).caused_by(cause))
            .collect();
        let recorded = self
            .store
            .append(
                &mut *conn,
                &format!("entitlement-{}", entitlement.entitlement_id),
                ExpectedVersion::Any,
                events,
            )
            .await?;
        for stored in &recorded {
            projections::apply(&mut *conn, stored).await?;
        }
        Ok(())
    }
}

fn stop_event(entitlement: &Held, key: &PaymentKey, reason: &str) -> NewEvent {
    NewEvent::new(&proto::PaymentStopped {
        payment_key: key.to_string(),
        entitlement_id: entitlement.entitlement_id.to_string(),
        case_id: entitlement.case_id.to_string(),
        reason: reason.to_owned(),
    })
}

// A stored entitlement whose fields no longer parse: corruption or a bug, never input.
fn stored(entitlement: &Held, error: impl std::fmt::Display) -> LifecycleError {
    LifecycleError::Database(sqlx::Error::Protocol(format!(
        "stored entitlement {} cannot be read: {error}",
        entitlement.entitlement_id
    )))
}

async fn entitlements_of(
    conn: &mut PgConnection,
    programme: &str,
    beneficiary: &str,
) -> Result<Vec<Held>, sqlx::Error> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {ENTITLEMENT_COLUMNS} FROM entitlements WHERE programme_code = $1 AND beneficiary_id = $2
         ORDER BY entitlement_id FOR UPDATE"
    )))
    .bind(programme)
    .bind(beneficiary)
    .fetch_all(conn)
    .await
}

/// The entitlement's payments, locked until the transaction ends.
async fn payment_states(conn: &mut PgConnection, entitlement_id: Uuid) -> Result<Vec<PaymentState>, sqlx::Error> {
    let rows: Vec<(String, String, Option<String>)> = sqlx::query_as(
        "SELECT payment_key, status, release_status FROM payment_instructions
         WHERE entitlement_id = $1 ORDER BY payment_key FOR UPDATE",
    )
    .bind(entitlement_id)
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(key, status, release_status)| {
            let stage = match (status.as_str(), release_status.as_deref()) {
                ("stopped", _) => Stage::Stopped,
                (_, Some("released")) => Stage::Released,
                ("held", _) | (_, Some("held")) => Stage::Held,
                _ => Stage::Instructed,
            };
            // Rows are written from keys that parsed, and a CHECK keeps them whole.
            PaymentKey::parse(&key).ok().map(|key| PaymentState { key, stage })
        })
        .collect())
}
