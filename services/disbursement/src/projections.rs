//! Disbursement's read models, `entitlements` and `payment_instructions`, built from its own
//! events. The use case applies each event in the transaction that appends it, so a payment
//! is visible the moment it is recorded; the same functions rebuild the tables from the store.
//!
//! Inserting never overwrites: a row already present under the same id, referral or payment
//! key is left as it is and reported as [`Applied::AlreadyRecorded`], for the caller to judge.

use chrono::NaiveDate;
use prost::Message;
use slrt_eventstore::RecordedEvent;
use slrt_proto::disbursement::v1 as proto;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::domain::PaymentKey;

/// What applying one event did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    Inserted,
    /// A row with the same identity was already there: the entitlement of the same referral,
    /// or a payment under the same key. Nothing was changed.
    AlreadyRecorded,
    /// Not an event these tables follow.
    Ignored,
}

#[derive(Debug, thiserror::Error)]
pub enum ProjectionError {
    #[error("disbursement read model: {0}")]
    Database(#[from] sqlx::Error),
    #[error("{event_type} payload cannot be decoded: {source}")]
    Payload {
        event_type: String,
        source: prost::DecodeError,
    },
    #[error("{event_type} carries an invalid {field}: {reason}")]
    Field {
        event_type: String,
        field: &'static str,
        reason: String,
    },
}

pub const STATUS_INSTRUCTED: &str = "instructed";
pub const STATUS_HELD: &str = "held";
pub const STATUS_STOPPED: &str = "stopped";

fn decode<M: Message + Default>(event: &RecordedEvent) -> Result<M, ProjectionError> {
    M::decode(event.payload.as_slice()).map_err(|source| ProjectionError::Payload {
        event_type: event.event_type.clone(),
        source,
    })
}

fn field_error(event: &RecordedEvent, field: &'static str, reason: impl ToString) -> ProjectionError {
    ProjectionError::Field {
        event_type: event.event_type.clone(),
        field,
        reason: reason.to_string(),
    }
}

fn uuid_field(event: &RecordedEvent, field: &'static str, text: &str) -> Result<Uuid, ProjectionError> {
    Uuid::parse_str(text).map_err(|error| field_error(event, field, error))
}

fn key_field(event: &RecordedEvent, text: &str) -> Result<PaymentKey, ProjectionError> {
    PaymentKey::parse(text).map_err(|error| field_error(event, "payment_key", error))
}

/// Applies one of disbursement's own events to the read models.
pub async fn apply(conn: &mut PgConnection, event: &RecordedEvent) -> Result<Applied, ProjectionError> {
    match event.event_type.as_str() {
        "slrt.disbursement.v1.EntitlementCreated" => {
            let created: proto::EntitlementCreated = decode(event)?;
            let inserted = sqlx::query(
                "INSERT INTO entitlements (entitlement_id, referral_id, case_id, programme_code, beneficiary_id,
                                           beneficiary_name, component, amount_per_period_idr, cadence, first_period,
                                           created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
                 ON CONFLICT DO NOTHING",
            )
            .bind(uuid_field(event, "entitlement_id", &created.entitlement_id)?)
            .bind(uuid_field(event, "referral_id", &created.referral_id)?)
            .bind(uuid_field(event, "case_id", &created.case_id)?)
            .bind(&created.programme_code)
            .bind(&created.beneficiary_id)
            .bind(&created.beneficiary_name)
            .bind(&created.component)
            .bind(created.amount_per_period_idr)
            .bind(&created.cadence)
            .bind(&created.first_period)
            .bind(event.occurred_at)
            .execute(&mut *conn)
            .await?;
            Ok(inserted_or_not(inserted.rows_affected()))
        }
        "slrt.disbursement.v1.PaymentInstructionCreated" => {
            let instructed: proto::PaymentInstructionCreated = decode(event)?;
            let key = key_field(event, &instructed.payment_key)?;
            let row = PaymentRow {
                payment_id: uuid_field(event, "payment_id", &instructed.payment_id)?,
                key,
                entitlement_id: uuid_field(event, "entitlement_id", &instructed.entitlement_id)?,
                case_id: uuid_field(event, "case_id", &instructed.case_id)?,
                amount_idr: instructed.amount_idr,
                status: STATUS_INSTRUCTED,
                hold_reasons: Vec::new(),
                arrears: instructed.arrears,
            };
            insert_payment(conn, event, &row).await
        }
        "slrt.disbursement.v1.PaymentHeld" => {
            let held: proto::PaymentHeld = decode(event)?;
            let entitlement_id = uuid_field(event, "entitlement_id", &held.entitlement_id)?;
            // A hold names no amount of its own: what was due is the entitlement's amount.
            let amount: Option<i64> =
                sqlx::query_scalar("SELECT amount_per_period_idr FROM entitlements WHERE entitlement_id = $1")
                    .bind(entitlement_id)
                    .fetch_optional(&mut *conn)
                    .await?;
            let amount_idr = amount.ok_or_else(|| field_error(event, "entitlement_id", "no such entitlement"))?;
            let row = PaymentRow {
                // A hold has no payment id in its event; the id of the event that recorded it
                // is stable, so a rebuild from the store gives the same row.
                payment_id: event.event_id,
                key: key_field(event, &held.payment_key)?,
                entitlement_id,
                case_id: uuid_field(event, "case_id", &held.case_id)?,
                amount_idr,
                status: STATUS_HELD,
                hold_reasons: held.reasons,
                arrears: false,
            };
            insert_payment(conn, event, &row).await
        }
        "slrt.disbursement.v1.EntitlementRefused" => {
            let refused: proto::EntitlementRefused = decode(event)?;
            let inserted = sqlx::query(
                "INSERT INTO refused_entitlements (referral_id, case_id, programme_code, beneficiary_id, component,
                                                   reason_code, reason, refused_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                 ON CONFLICT DO NOTHING",
            )
            .bind(uuid_field(event, "referral_id", &refused.referral_id)?)
            .bind(uuid_field(event, "case_id", &refused.case_id)?)
            .bind(&refused.programme_code)
            .bind(&refused.beneficiary_id)
            .bind(&refused.component)
            .bind(&refused.reason_code)
            .bind(&refused.reason)
            .bind(event.occurred_at)
            .execute(&mut *conn)
            .await?;
            Ok(inserted_or_not(inserted.rows_affected()))
        }
        "slrt.disbursement.v1.EntitlementEnded" => {
            let ended: proto::EntitlementEnded = decode(event)?;
            // An earlier end wins: a later one can only stop less.
            let updated = sqlx::query(
                "UPDATE entitlements SET ended_on = $2, end_reason = $3
                 WHERE entitlement_id = $1 AND (ended_on IS NULL OR ended_on > $2)",
            )
            .bind(uuid_field(event, "entitlement_id", &ended.entitlement_id)?)
            .bind(date_field(event, "ended_on", &ended.ended_on)?)
            .bind(&ended.reason)
            .execute(&mut *conn)
            .await?;
            Ok(updated_or_not(updated.rows_affected()))
        }
        "slrt.disbursement.v1.PaymentStopped" => {
            let stopped: proto::PaymentStopped = decode(event)?;
            // Never a payment released to the bank: only the bank's answer changes that.
            let updated = sqlx::query(
                "UPDATE payment_instructions SET status = 'stopped', stop_reason = $2
                 WHERE payment_key = $1 AND status <> 'stopped' AND release_status IS DISTINCT FROM 'released'",
            )
            .bind(key_field(event, &stopped.payment_key)?.to_string())
            .bind(&stopped.reason)
            .execute(&mut *conn)
            .await?;
            Ok(updated_or_not(updated.rows_affected()))
        }
        "slrt.disbursement.v1.EntitlementHeld" => {
            let held: proto::EntitlementHeld = decode(event)?;
            let entitlement_id = uuid_field(event, "entitlement_id", &held.entitlement_id)?;
            sqlx::query("UPDATE entitlements SET held_from = $2, hold_reason = $3 WHERE entitlement_id = $1")
                .bind(entitlement_id)
                .bind(date_field(event, "held_from", &held.held_from)?)
                .bind(&held.reason)
                .execute(&mut *conn)
                .await?;
            let keys = keys_field(event, &held.held_keys)?;
            sqlx::query(
                "UPDATE payment_instructions SET status = 'held', hold_reasons = $3
                 WHERE entitlement_id = $1 AND payment_key = ANY($2) AND status = 'instructed'
                   AND release_status IS NULL",
            )
            .bind(entitlement_id)
            .bind(keys)
            .bind(serde_json::json!([held.reason]))
            .execute(&mut *conn)
            .await?;
            Ok(Applied::Inserted)
        }
        "slrt.disbursement.v1.EntitlementHoldReleased" => {
            let lifted: proto::EntitlementHoldReleased = decode(event)?;
            let entitlement_id = uuid_field(event, "entitlement_id", &lifted.entitlement_id)?;
            sqlx::query("UPDATE entitlements SET held_from = NULL, hold_reason = NULL WHERE entitlement_id = $1")
                .bind(entitlement_id)
                .execute(&mut *conn)
                .await?;
            // Owed again under the same key. One held at a batch's release leaves that batch
            // (which remembers it in `arrears_from_batch_id`) for the programme's next one.
            sqlx::query(
                "UPDATE payment_instructions
                 SET status = 'instructed', hold_reasons = '[]', arrears = true,
                     arrears_from_batch_id = CASE WHEN release_status = 'held' THEN batch_id ELSE arrears_from_batch_id END,
                     batch_id = CASE WHEN release_status = 'held' THEN NULL ELSE batch_id END,
                     release_status = CASE WHEN release_status = 'held' THEN NULL ELSE release_status END
                 WHERE entitlement_id = $1 AND payment_key = ANY($2) AND status <> 'stopped'
                   AND release_status IS DISTINCT FROM 'released'",
            )
            .bind(entitlement_id)
            .bind(keys_field(event, &lifted.arrears_keys)?)
            .execute(&mut *conn)
            .await?;
            Ok(Applied::Inserted)
        }
        "slrt.disbursement.v1.EntitlementPayeeChanged" => {
            let changed: proto::EntitlementPayeeChanged = decode(event)?;
            sqlx::query("UPDATE entitlements SET payee_name = $2, payee_person_id = $3 WHERE entitlement_id = $1")
                .bind(uuid_field(event, "entitlement_id", &changed.entitlement_id)?)
                .bind(&changed.payee_name)
                .bind(&changed.new_head_person_id)
                .execute(&mut *conn)
                .await?;
            sqlx::query(
                "INSERT INTO household_head_changes (household_id, previous_head_person_id, new_head_person_id,
                                                     new_head_name, changed_on, recorded_at)
                 VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT DO NOTHING",
            )
            .bind(&changed.household_id)
            .bind(&changed.previous_head_person_id)
            .bind(&changed.new_head_person_id)
            .bind(&changed.payee_name)
            .bind(date_field(event, "changed_on", &changed.changed_on)?)
            .bind(event.occurred_at)
            .execute(&mut *conn)
            .await?;
            Ok(Applied::Inserted)
        }
        "slrt.disbursement.v1.PersonDeathRecorded" => {
            let death: proto::PersonDeathRecorded = decode(event)?;
            let inserted = sqlx::query(
                "INSERT INTO deaths (person_id, household_id, date_of_death, was_head, certificate_reference, source,
                                     recorded_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)
                 ON CONFLICT DO NOTHING",
            )
            .bind(&death.person_id)
            .bind(&death.household_id)
            .bind(date_field(event, "date_of_death", &death.date_of_death)?)
            .bind(death.was_head)
            .bind(&death.certificate_reference)
            .bind(&death.source)
            .bind(event.occurred_at)
            .execute(&mut *conn)
            .await?;
            Ok(inserted_or_not(inserted.rows_affected()))
        }
        _ => Ok(Applied::Ignored),
    }
}

fn updated_or_not(rows: u64) -> Applied {
    if rows == 0 {
        Applied::AlreadyRecorded
    } else {
        Applied::Inserted
    }
}

fn date_field(event: &RecordedEvent, field: &'static str, text: &str) -> Result<NaiveDate, ProjectionError> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|error| field_error(event, field, error))
}

fn keys_field(event: &RecordedEvent, keys: &[String]) -> Result<Vec<String>, ProjectionError> {
    keys.iter()
        .map(|text| key_field(event, text).map(|key| key.to_string()))
        .collect()
}

fn inserted_or_not(rows: u64) -> Applied {
    if rows == 1 {
        Applied::Inserted
    } else {
        Applied::AlreadyRecorded
    }
}

struct PaymentRow {
    payment_id: Uuid,
    key: PaymentKey,
    entitlement_id: Uuid,
    case_id: Uuid,
    amount_idr: i64,
    status: &'static str,
    hold_reasons: Vec<String>,
    arrears: bool,
}

async fn insert_payment(
    conn: &mut PgConnection,
    event: &RecordedEvent,
    row: &PaymentRow,
) -> Result<Applied, ProjectionError> {
    // ON CONFLICT waits for a concurrent transaction holding the same key to finish, then
    // inserts nothing if it committed: of two racing payments, exactly one row remains.
    let inserted = sqlx::query(
        "INSERT INTO payment_instructions (payment_id, payment_key, entitlement_id, case_id, programme_code, period,
                                           beneficiary_id, component, amount_idr, status, hold_reasons, created_at,
                                           arrears)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
         ON CONFLICT DO NOTHING",
    )
    .bind(row.payment_id)
    .bind(row.key.to_string())
    .bind(row.entitlement_id)
    .bind(row.case_id)
    .bind(row.key.programme())
    .bind(row.key.period().to_string())
    .bind(row.key.beneficiary_id())
    .bind(row.key.component())
    .bind(row.amount_idr)
    .bind(row.status)
    .bind(serde_json::json!(row.hold_reasons))
    .bind(event.occurred_at)
    .bind(row.arrears)
    .execute(&mut *conn)
    .await?;
    Ok(inserted_or_not(inserted.rows_affected()))
}
