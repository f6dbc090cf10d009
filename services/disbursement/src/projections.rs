//! Disbursement's read models, `entitlements` and `payment_instructions`, built from its own
//! events. The use case applies each event in the transaction that appends it, so a payment
//! is visible the moment it is recorded; the same functions rebuild the tables from the store.
//!
//! Inserting never overwrites: a row already present under the same id, referral or payment
//! key is left as it is and reported as [`Applied::AlreadyRecorded`], for the caller to judge.

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
            };
            insert_payment(conn, event, &row).await
        }
        _ => Ok(Applied::Ignored),
    }
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
                                           beneficiary_id, component, amount_idr, status, hold_reasons, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
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
    .execute(&mut *conn)
    .await?;
    Ok(inserted_or_not(inserted.rows_affected()))
}
