//! Payment batches with maker/checker: prepare the next batch of a programme and period,
//! release it by a second person after the release-time check, and read batches back.
//!
//! Preparing first instructs the period's payment of every entitlement of the programme that
//! is due in it and has none yet (same cadence, first period not later), under its
//! deterministic key: recurring payments (PKH's quarterly stages, BPNT's months) come into
//! being here, and the release check decides at release whether each is paid.
//!
//! A batch's events live on its own stream (`batch-<batch id>`) and carry every payment they
//! concern, so the read model (`payment_batches`, and `batch_id` / `release_status` on each
//! payment) can be rebuilt from them. Preparing holds a transaction-scoped advisory lock on
//! the programme and period, so two makers cannot put the same payment into two batches; a
//! payment's `batch_id` is written once. Releasing appends at the batch's expected version,
//! so of two checkers releasing at once exactly one release is recorded.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::Serialize;
use slrt_errors::ApiError;
use slrt_eventstore::{AppendError, ExpectedVersion, NewEvent, RecordedEvent};
use slrt_proto::disbursement::v1 as proto;
use sqlx::PgConnection;
use uuid::Uuid;

use super::Disbursement;
use super::entitlements::OpenEntitlementError;
use crate::domain::{
    Batch, BatchError, BatchEvent, BatchId, BatchItem, BatchPrepared, BatchReleased, PaymentKey, Period, ReleaseCheck,
    is_programme_code,
};

/// The stream of one batch.
pub fn batch_stream(id: &BatchId) -> String {
    format!("batch-{id}")
}

/// A batch as finance officers and auditors see it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(example = json!({
    "batch_id": "PKH:2026-Q4:1", "programme_code": "PKH", "period": "2026-Q4", "sequence": 1,
    "status": "released", "prepared_by": "maker.dinsos", "prepared_at": "2026-11-23T02:00:00Z",
    "payment_count": 2, "total_idr": 1500000, "released_by": "checker.dinsos",
    "released_at": "2026-11-23T03:00:00Z", "released_count": 1, "released_total_idr": 750000, "held_count": 1,
    "payments": [
        {"payment_key": "PKH:2026-Q4:hh-3375-0042:child_0_6", "amount_idr": 750000, "release_status": "released", "hold_reasons": []},
        {"payment_key": "PKH:2026-Q4:hh-3375-0043:base", "amount_idr": 750000, "release_status": "held",
         "hold_reasons": ["death certificate recorded on 2026-10-02"]}
    ]
}))]
pub struct BatchView {
    pub batch_id: String,
    pub programme_code: String,
    pub period: String,
    pub sequence: i32,
    /// `prepared` or `released`.
    pub status: String,
    pub prepared_by: String,
    pub prepared_at: DateTime<Utc>,
    pub payment_count: i32,
    pub total_idr: i64,
    pub released_by: Option<String>,
    pub released_at: Option<DateTime<Utc>>,
    pub released_count: Option<i32>,
    pub released_total_idr: Option<i64>,
    pub held_count: Option<i32>,
    /// Oldest key first.
    pub payments: Vec<BatchPaymentView>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct BatchPaymentView {
    pub payment_key: String,
    pub amount_idr: i64,
    /// Empty until the batch is released; then `released` or `held`.
    pub release_status: Option<String>,
    pub hold_reasons: Vec<String>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
struct BatchRow {
    batch_id: String,
    programme_code: String,
    period: String,
    sequence: i32,
    status: String,
    prepared_by: String,
    prepared_at: DateTime<Utc>,
    payment_count: i32,
    total_idr: i64,
    released_by: Option<String>,
    released_at: Option<DateTime<Utc>>,
    released_count: Option<i32>,
    released_total_idr: Option<i64>,
    held_count: Option<i32>,
}

fn refusal(error: BatchError) -> ApiError {
    match (&error, error.field()) {
        (BatchError::NothingToPay { .. }, _) => ApiError::rejected(error.to_string()),
        (BatchError::SamePerson { .. }, Some(field)) => ApiError::rejected(error.to_string()).with_field(field),
        (BatchError::Unchecked { .. }, _) => ApiError::internal(error.to_string()),
        (_, Some(field)) => ApiError::invalid(field, error.to_string()),
        (_, None) => ApiError::rejected(error.to_string()),
    }
}

impl Disbursement {
    /// Prepares the next batch of `programme` and `period`: every instructed payment not in a
    /// batch yet. Refused when there is none.
    pub async fn prepare_batch(&self, programme: &str, period: &str, actor: &str) -> Result<BatchView, ApiError> {
        let programme = programme.trim();
        if !is_programme_code(programme) {
            return Err(refusal(BatchError::Programme(programme.to_owned())));
        }
        let period = Period::parse(period.trim()).map_err(|error| refusal(BatchError::Period(error)))?;
        let mut tx = self.pool.begin().await.map_err(ApiError::unavailable)?;
        // One maker at a time per programme and period: the unbatched payments read below
        // stay unbatched until this transaction ends.
        sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
            .bind(format!("batch:{programme}:{period}"))
            .execute(&mut *tx)
            .await
            .map_err(ApiError::unavailable)?;
        let instructed = self.instruct_due(&mut tx, programme, period).await?;
        if instructed > 0 {
            tracing::info!(programme, period = %period, instructed, "period payments instructed");
        }
        let items = unbatched(&mut tx, programme, period)
            .await
            .map_err(ApiError::unavailable)?;
        let sequence: i32 = sqlx::query_scalar(
            "SELECT COALESCE(MAX(sequence), 0) + 1 FROM payment_batches WHERE programme_code = $1 AND period = $2",
        )
        .bind(programme)
        .bind(period.to_string())
        .fetch_one(&mut *tx)
        .await
        .map_err(ApiError::unavailable)?;
        let id = BatchId {
            programme_code: programme.to_owned(),
            period,
            sequence: u32::try_from(sequence).unwrap_or(1),
        };
        let event = crate::domain::batch::prepare(id.clone(), actor, items).map_err(refusal)?;
        let recorded = self
            .store
            .append(
                &mut tx,
                &batch_stream(&id),
                ExpectedVersion::NoStream,
                vec![encode(&event)],
            )
            .await
            .map_err(append_error)?;
        for stored in &recorded {
            apply(&mut tx, &event, stored.occurred_at)
                .await
                .map_err(ApiError::unavailable)?;
        }
        let view = view(&mut tx, &id.to_string()).await?;
        tx.commit().await.map_err(ApiError::unavailable)?;
        tracing::info!(batch.id = %id, payments = view.payment_count, total_idr = view.total_idr, "payment batch prepared");
        Ok(view)
    }

    /// Releases a prepared batch by a second person, after asking eligibility about every
    /// beneficiary in it. A batch released already answers as it stands.
    pub async fn release_batch(&self, batch_id: &str, actor: &str) -> Result<BatchView, ApiError> {
        let id = BatchId::parse(batch_id.trim()).map_err(refusal)?;
        let (batch, _) = self.load_batch(&id).await?;
        if let Some(released) = &batch.released
            && released.released_by.trim().to_lowercase() == actor.trim().to_lowercase()
        {
            // The same checker asking again: the release is recorded; answer it.
            return view_pooled(&self.pool, &id.to_string()).await;
        }
        // Refuse the maker and a second release before asking anyone anything.
        crate::domain::batch::release(&batch, actor, &self.all_payable(&batch)).map_err(refusal)?;

        // Asked outside the transaction: one answer per beneficiary, each bounded by the
        // client's timeouts. No answer means no release; the checker tries again later.
        let mut checks = HashMap::new();
        let mut answers: HashMap<String, ReleaseCheck> = HashMap::new();
        for item in &batch.prepared.items {
            let beneficiary = item.key.beneficiary_id().to_owned();
            let check = match answers.get(&beneficiary) {
                Some(check) => check.clone(),
                None => {
                    let check = match self.release_check(&id.programme_code, &beneficiary).await {
                        Ok(check) => check,
                        Err(OpenEntitlementError::ReleaseCheckRefused { message, .. }) => ReleaseCheck::Held {
                            reasons: vec![format!("eligibility refused the release check: {message}")],
                        },
                        Err(error) => return Err(ApiError::unavailable(error)),
                    };
                    answers.insert(beneficiary, check.clone());
                    check
                }
            };
            checks.insert(item.key.clone(), check);
        }

        let mut tx = self.pool.begin().await.map_err(ApiError::unavailable)?;
        let (batch, version) = load(&self.store, &mut tx, &id).await?;
        let event = match crate::domain::batch::release(&batch, actor, &checks) {
            Ok(event) => event,
            // Another checker released it while the checks were asked.
            Err(BatchError::AlreadyReleased { .. }) => return view(&mut tx, &id.to_string()).await,
            Err(error) => return Err(refusal(error)),
        };
        let recorded = match self
            .store
            .append(
                &mut tx,
                &batch_stream(&id),
                ExpectedVersion::Exact(version),
                vec![encode(&event)],
            )
            .await
        {
            Ok(recorded) => recorded,
            Err(AppendError::Conflict { .. }) => {
                drop(tx);
                return view_pooled(&self.pool, &id.to_string()).await;
            }
            Err(error) => return Err(append_error(error)),
        };
        for stored in &recorded {
            apply(&mut tx, &event, stored.occurred_at)
                .await
                .map_err(ApiError::unavailable)?;
        }
        let view = view(&mut tx, &id.to_string()).await?;
        tx.commit().await.map_err(ApiError::unavailable)?;
        tracing::info!(
            batch.id = %id,
            released = view.released_count.unwrap_or_default(),
            held = view.held_count.unwrap_or_default(),
            "payment batch released"
        );
        Ok(view)
    }

    /// One batch with its payments.
    pub async fn batch(&self, batch_id: &str) -> Result<BatchView, ApiError> {
        let id = BatchId::parse(batch_id.trim()).map_err(refusal)?;
        view_pooled(&self.pool, &id.to_string()).await
    }

    /// The batches of a programme and period, in sequence.
    pub async fn batches_of(&self, programme: &str, period: &str) -> Result<Vec<BatchView>, ApiError> {
        if !is_programme_code(programme) {
            return Err(refusal(BatchError::Programme(programme.to_owned())));
        }
        let period = Period::parse(period).map_err(|error| refusal(BatchError::Period(error)))?;
        let ids: Vec<String> = sqlx::query_scalar(
            "SELECT batch_id FROM payment_batches WHERE programme_code = $1 AND period = $2 ORDER BY sequence",
        )
        .bind(programme)
        .bind(period.to_string())
        .fetch_all(&self.pool)
        .await
        .map_err(ApiError::unavailable)?;
        let mut views = Vec::with_capacity(ids.len());
        for id in ids {
            views.push(view_pooled(&self.pool, &id).await?);
        }
        Ok(views)
    }

    /// Instructs `period`'s payment of every entitlement of `programme` due in it that has
    /// none yet. A key already taken by another payment is left alone and logged: paying it
    /// would pay twice.
    async fn instruct_due(&self, conn: &mut PgConnection, programme: &str, period: Period) -> Result<usize, ApiError> {
        let due: Vec<DueEntitlement> = sqlx::query_as(
            "SELECT e.entitlement_id, e.case_id, e.referral_id, e.programme_code, e.beneficiary_id, e.beneficiary_name,
                    e.component, e.amount_per_period_idr, e.cadence, e.first_period
             FROM entitlements e
             WHERE e.programme_code = $1 AND e.cadence = $2 AND e.first_period <= $3
               AND NOT EXISTS (SELECT 1 FROM payment_instructions p
                               WHERE p.entitlement_id = e.entitlement_id AND p.period = $3)
             ORDER BY e.entitlement_id",
        )
        .bind(programme)
        .bind(period.cadence().as_str())
        .bind(period.to_string())
        .fetch_all(&mut *conn)
        .await
        .map_err(ApiError::unavailable)?;
        let mut instructed = 0;
        for row in due {
            let entitlement = match row.entitlement() {
                Ok(entitlement) => entitlement,
                Err(error) => {
                    tracing::error!(entitlement.id = %row.entitlement_id, %error, "stored entitlement cannot be paid");
                    continue;
                }
            };
            // The release check happens when the batch is released, for every payment in it.
            let event = crate::domain::decide_payment(&entitlement, period, Uuid::now_v7(), &ReleaseCheck::Payable)
                .map_err(ApiError::internal)?;
            let new_event = super::entitlements::payload_of(&event).for_case(entitlement.case_id);
            let recorded = self
                .store
                .append(
                    &mut *conn,
                    &format!("entitlement-{}", entitlement.entitlement_id),
                    ExpectedVersion::Any,
                    vec![new_event],
                )
                .await
                .map_err(append_error)?;
            for stored in &recorded {
                match crate::projections::apply(&mut *conn, stored)
                    .await
                    .map_err(ApiError::internal)?
                {
                    crate::projections::Applied::AlreadyRecorded => {
                        tracing::warn!(entitlement.id = %entitlement.entitlement_id, period = %period,
                                       "the period's payment key is taken by another payment; not instructed again");
                    }
                    _ => instructed += 1,
                }
            }
        }
        Ok(instructed)
    }

    async fn load_batch(&self, id: &BatchId) -> Result<(Batch, i64), ApiError> {
        let mut conn = self.pool.acquire().await.map_err(ApiError::unavailable)?;
        load(&self.store, &mut conn, id).await
    }

    // Every payment payable: used only to let the domain refuse the maker or a second
    // release before eligibility is asked anything.
    fn all_payable(&self, batch: &Batch) -> HashMap<PaymentKey, ReleaseCheck> {
        batch
            .prepared
            .items
            .iter()
            .map(|item| (item.key.clone(), ReleaseCheck::Payable))
            .collect()
    }
}

#[derive(Debug, Clone, sqlx::FromRow)]
struct DueEntitlement {
    entitlement_id: Uuid,
    case_id: Uuid,
    referral_id: Uuid,
    programme_code: String,
    beneficiary_id: String,
    beneficiary_name: String,
    component: String,
    amount_per_period_idr: i64,
    cadence: String,
    first_period: String,
}

impl DueEntitlement {
    fn entitlement(&self) -> Result<crate::domain::Entitlement, String> {
        Ok(crate::domain::Entitlement {
            entitlement_id: self.entitlement_id,
            case_id: self.case_id,
            referral_id: self.referral_id,
            programme_code: self.programme_code.clone(),
            beneficiary_id: self.beneficiary_id.clone(),
            beneficiary_name: self.beneficiary_name.clone(),
            component: self.component.clone(),
            amount_per_period_idr: self.amount_per_period_idr,
            cadence: crate::domain::Cadence::parse(&self.cadence).map_err(|e| e.to_string())?,
            first_period: Period::parse(&self.first_period).map_err(|e| e.to_string())?,
        })
    }
}

fn append_error(error: AppendError) -> ApiError {
    match error {
        AppendError::Conflict { .. } => ApiError::conflict("the batch changed while this request was decided; retry"),
        AppendError::Database(error) => ApiError::unavailable(error),
        other => ApiError::internal(other),
    }
}

async fn load(
    store: &slrt_eventstore::EventStore,
    conn: &mut PgConnection,
    id: &BatchId,
) -> Result<(Batch, i64), ApiError> {
    let history = store
        .load(&mut *conn, &batch_stream(id))
        .await
        .map_err(ApiError::unavailable)?;
    let version = history.last().map_or(0, |event| event.stream_version);
    let events = history
        .iter()
        .map(decode)
        .collect::<Result<Vec<_>, _>>()
        .map_err(ApiError::internal)?;
    let batch = Batch::from_events(&events).ok_or_else(|| ApiError::not_found(format!("batch {id} not found")))?;
    Ok((batch, version))
}

async fn unbatched(conn: &mut PgConnection, programme: &str, period: Period) -> Result<Vec<BatchItem>, sqlx::Error> {
    let rows: Vec<(Uuid, String, i64, Uuid, Uuid)> = sqlx::query_as(
        "SELECT payment_id, payment_key, amount_idr, entitlement_id, case_id FROM payment_instructions
         WHERE programme_code = $1 AND period = $2 AND status = 'instructed' AND batch_id IS NULL
         ORDER BY payment_key",
    )
    .bind(programme)
    .bind(period.to_string())
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(payment_id, key, amount_idr, entitlement_id, case_id)| {
            // Rows are written from keys that parsed, and a CHECK keeps them whole.
            PaymentKey::parse(&key).ok().map(|key| BatchItem {
                payment_id,
                key,
                amount_idr,
                entitlement_id,
                case_id,
            })
        })
        .collect())
}

/// Applies one batch event to the read model, in the transaction that records it.
async fn apply(conn: &mut PgConnection, event: &BatchEvent, at: DateTime<Utc>) -> Result<(), sqlx::Error> {
    match event {
        BatchEvent::Prepared(prepared) => {
            let id = &prepared.id;
            sqlx::query(
                "INSERT INTO payment_batches (batch_id, programme_code, period, sequence, status, prepared_by,
                                              prepared_at, payment_count, total_idr)
                 VALUES ($1, $2, $3, $4, 'prepared', $5, $6, $7, $8)
                 ON CONFLICT (batch_id) DO NOTHING",
            )
            .bind(id.to_string())
            .bind(&id.programme_code)
            .bind(id.period.to_string())
            .bind(i32::try_from(id.sequence).unwrap_or(i32::MAX))
            .bind(&prepared.prepared_by)
            .bind(at)
            .bind(i32::try_from(prepared.items.len()).unwrap_or(i32::MAX))
            .bind(prepared.total_idr())
            .execute(&mut *conn)
            .await?;
            let keys: Vec<String> = prepared.items.iter().map(|item| item.key.to_string()).collect();
            // A payment joins one batch, once.
            sqlx::query(
                "UPDATE payment_instructions SET batch_id = $1 WHERE payment_key = ANY($2) AND batch_id IS NULL",
            )
            .bind(id.to_string())
            .bind(keys)
            .execute(&mut *conn)
            .await?;
        }
        BatchEvent::Released(released) => {
            let id = released.id.to_string();
            sqlx::query(
                "UPDATE payment_batches SET status = 'released', released_by = $2, released_at = $3,
                        released_count = $4, released_total_idr = $5, held_count = $6
                 WHERE batch_id = $1 AND status = 'prepared'",
            )
            .bind(&id)
            .bind(&released.released_by)
            .bind(at)
            .bind(i32::try_from(released.released.len()).unwrap_or(i32::MAX))
            .bind(released.released_total_idr)
            .bind(i32::try_from(released.held.len()).unwrap_or(i32::MAX))
            .execute(&mut *conn)
            .await?;
            let keys: Vec<String> = released.released.iter().map(ToString::to_string).collect();
            sqlx::query(
                "UPDATE payment_instructions SET release_status = 'released'
                 WHERE batch_id = $1 AND payment_key = ANY($2)",
            )
            .bind(&id)
            .bind(keys)
            .execute(&mut *conn)
            .await?;
            for (key, reasons) in &released.held {
                sqlx::query(
                    "UPDATE payment_instructions SET release_status = 'held', release_hold_reasons = $3
                     WHERE batch_id = $1 AND payment_key = $2",
                )
                .bind(&id)
                .bind(key.to_string())
                .bind(serde_json::json!(reasons))
                .execute(&mut *conn)
                .await?;
            }
        }
    }
    Ok(())
}

async fn view_pooled(pool: &sqlx::PgPool, batch_id: &str) -> Result<BatchView, ApiError> {
    let mut conn = pool.acquire().await.map_err(ApiError::unavailable)?;
    view(&mut conn, batch_id).await
}

async fn view(conn: &mut PgConnection, batch_id: &str) -> Result<BatchView, ApiError> {
    let row: Option<BatchRow> = sqlx::query_as("SELECT * FROM payment_batches WHERE batch_id = $1")
        .bind(batch_id)
        .fetch_optional(&mut *conn)
        .await
        .map_err(ApiError::unavailable)?;
    let row = row.ok_or_else(|| ApiError::not_found(format!("batch {batch_id} not found")))?;
    let payments: Vec<(String, i64, Option<String>, serde_json::Value)> = sqlx::query_as(
        "SELECT payment_key, amount_idr, release_status, release_hold_reasons FROM payment_instructions
         WHERE batch_id = $1 ORDER BY payment_key",
    )
    .bind(batch_id)
    .fetch_all(&mut *conn)
    .await
    .map_err(ApiError::unavailable)?;
    Ok(BatchView {
        batch_id: row.batch_id,
        programme_code: row.programme_code,
        period: row.period,
        sequence: row.sequence,
        status: row.status,
        prepared_by: row.prepared_by,
        prepared_at: row.prepared_at,
        payment_count: row.payment_count,
        total_idr: row.total_idr,
        released_by: row.released_by,
        released_at: row.released_at,
        released_count: row.released_count,
        released_total_idr: row.released_total_idr,
        held_count: row.held_count,
        payments: payments
            .into_iter()
            .map(|(payment_key, amount_idr, release_status, reasons)| BatchPaymentView {
                payment_key,
                amount_idr,
                release_status,
                hold_reasons: serde_json::from_value(reasons).unwrap_or_default(),
            })
            .collect(),
    })
}

fn encode(event: &BatchEvent) -> NewEvent {
    match event {
        BatchEvent::Prepared(prepared) => NewEvent::new(&proto::PaymentBatchPrepared {
            batch_id: prepared.id.to_string(),
            programme_code: prepared.id.programme_code.clone(),
            period: prepared.id.period.to_string(),
            sequence: i32::try_from(prepared.id.sequence).unwrap_or(i32::MAX),
            prepared_by: prepared.prepared_by.clone(),
            items: prepared
                .items
                .iter()
                .map(|item| proto::BatchItem {
                    payment_id: item.payment_id.to_string(),
                    payment_key: item.key.to_string(),
                    amount_idr: item.amount_idr,
                    entitlement_id: item.entitlement_id.to_string(),
                    case_id: item.case_id.to_string(),
                })
                .collect(),
            total_idr: prepared.total_idr(),
        }),
        BatchEvent::Released(released) => NewEvent::new(&proto::PaymentBatchReleased {
            batch_id: released.id.to_string(),
            released_by: released.released_by.clone(),
            released_keys: released.released.iter().map(ToString::to_string).collect(),
            held: released
                .held
                .iter()
                .map(|(key, reasons)| proto::HeldAtRelease {
                    payment_key: key.to_string(),
                    reasons: reasons.clone(),
                })
                .collect(),
            released_total_idr: released.released_total_idr,
        }),
    }
}

/// A stored batch event that does not decode: corruption or a bug.
#[derive(Debug, thiserror::Error)]
#[error("batch event {event_id} ({event_type}): {reason}")]
pub struct BatchDecodeError {
    event_id: Uuid,
    event_type: String,
    reason: String,
}

fn decode(event: &RecordedEvent) -> Result<BatchEvent, BatchDecodeError> {
    let failed = |reason: String| BatchDecodeError {
        event_id: event.event_id,
        event_type: event.event_type.clone(),
        reason,
    };
    let key = |text: &str| PaymentKey::parse(text).map_err(|error| failed(error.to_string()));
    let uuid = |text: &str| Uuid::parse_str(text).map_err(|error| failed(error.to_string()));
    let batch_id = |text: &str| BatchId::parse(text).map_err(|error| failed(error.to_string()));
    match event.event_type.as_str() {
        "slrt.disbursement.v1.PaymentBatchPrepared" => {
            let e: proto::PaymentBatchPrepared = event.decode().map_err(|error| failed(error.to_string()))?;
            let items = e
                .items
                .iter()
                .map(|item| {
                    Ok(BatchItem {
                        payment_id: uuid(&item.payment_id)?,
                        key: key(&item.payment_key)?,
                        amount_idr: item.amount_idr,
                        entitlement_id: uuid(&item.entitlement_id)?,
                        case_id: uuid(&item.case_id)?,
                    })
                })
                .collect::<Result<Vec<_>, BatchDecodeError>>()?;
            Ok(BatchEvent::Prepared(BatchPrepared {
                id: batch_id(&e.batch_id)?,
                prepared_by: e.prepared_by,
                items,
            }))
        }
        "slrt.disbursement.v1.PaymentBatchReleased" => {
            let e: proto::PaymentBatchReleased = event.decode().map_err(|error| failed(error.to_string()))?;
            Ok(BatchEvent::Released(BatchReleased {
                id: batch_id(&e.batch_id)?,
                released_by: e.released_by,
                released: e.released_keys.iter().map(|k| key(k)).collect::<Result<_, _>>()?,
                held: e
                    .held
                    .iter()
                    .map(|held| Ok((key(&held.payment_key)?, held.reasons.clone())))
                    .collect::<Result<_, BatchDecodeError>>()?,
                released_total_idr: e.released_total_idr,
            }))
        }
        other => Err(failed(format!("{other} is not a batch event"))),
    }
}
