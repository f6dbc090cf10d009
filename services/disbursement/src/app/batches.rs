//! Payment batches with maker/checker: prepare the next batch of a programme and period,
//! release it by a second person after the release-time check, and read batches back.
//!
//! The maker and the checker are the subjects of their tokens: a person holding both roles
//! cannot release what they prepared. Both changes are audited in their transaction. A
//! batch is answered as its totals and one page of its payments (those within the reader's
//! scope, in key order, `limit` at a time after `after`): a batch of 1,000,000 payments is
//! never one answer of 100 MB.
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
use futures::{StreamExt, TryStreamExt};
use serde::Serialize;
use slrt_audit::Outcome;
use slrt_audit::access::Access;
use slrt_errors::ApiError;
use slrt_eventstore::{AppendError, ExpectedVersion, NewEvent, RecordedEvent};
use slrt_proto::disbursement::v1 as proto;
use sqlx::PgConnection;
use uuid::Uuid;

use super::Disbursement;
use super::entitlements::OpenEntitlementError;
use super::scope::{Concerned, Scope};
use crate::domain::{
    Batch, BatchError, BatchEvent, BatchId, BatchItem, BatchPrepared, BatchReleased, PaymentKey, Period, ReleaseCheck,
    is_programme_code,
};

/// How many release checks a release keeps in flight with eligibility at once.
const RELEASE_CHECKS_IN_FLIGHT: usize = 32;

/// The stream of one batch.
pub fn batch_stream(id: &BatchId) -> String {
    format!("batch-{id}")
}

/// A batch as finance officers see it in a list: who prepared and released it, and its
/// totals.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(example = json!({
    "batch_id": "PKH:2026-Q4:1", "programme_code": "PKH", "period": "2026-Q4", "sequence": 1,
    "status": "released", "prepared_by": "bo-pekalongan-1", "prepared_at": "2026-11-23T02:00:00Z",
    "payment_count": 2, "total_idr": 1500000, "released_by": "koordinator-pekalongan",
    "released_at": "2026-11-23T03:00:00Z", "released_count": 1, "released_total_idr": 750000, "held_count": 1
}))]
pub struct BatchSummary {
    pub batch_id: String,
    pub programme_code: String,
    pub period: String,
    pub sequence: i32,
    /// `prepared` or `released`.
    pub status: String,
    /// The maker: the subject of the token that prepared it.
    pub prepared_by: String,
    pub prepared_at: DateTime<Utc>,
    /// Every payment of the batch, the whole regency's.
    pub payment_count: i32,
    pub total_idr: i64,
    /// The checker: the subject of the token that released it, never the maker.
    pub released_by: Option<String>,
    pub released_at: Option<DateTime<Utc>>,
    pub released_count: Option<i32>,
    pub released_total_idr: Option<i64>,
    pub held_count: Option<i32>,
}

/// A batch with one page of its payments.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(example = json!({
    "batch_id": "PKH:2026-Q4:1", "programme_code": "PKH", "period": "2026-Q4", "sequence": 1,
    "status": "released", "prepared_by": "bo-pekalongan-1", "prepared_at": "2026-11-23T02:00:00Z",
    "payment_count": 2, "total_idr": 1500000, "released_by": "koordinator-pekalongan",
    "released_at": "2026-11-23T03:00:00Z", "released_count": 1, "released_total_idr": 750000, "held_count": 1,
    "payments": [
        {"payment_key": "PKH:2026-Q4:hh-3375-0042:child_0_6", "amount_idr": 750000, "release_status": "released", "hold_reasons": []},
        {"payment_key": "PKH:2026-Q4:hh-3375-0043:base", "amount_idr": 750000, "release_status": "held",
         "hold_reasons": ["death certificate recorded on 2026-10-02"]}
    ],
    "next_after": null
}))]
pub struct BatchView {
    #[serde(flatten)]
    pub batch: BatchSummary,
    /// One page of the batch's payments within the reader's area, by key (the totals above
    /// are the whole batch's).
    pub payments: Vec<BatchPaymentView>,
    /// Pass as `after` for the next page; absent on the last.
    pub next_after: Option<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct BatchPaymentView {
    pub payment_key: String,
    pub amount_idr: i64,
    /// Empty until the batch is released; then `released` or `held`.
    pub release_status: Option<String>,
    pub hold_reasons: Vec<String>,
}

/// Which page of a batch's payments to show: at most `limit` after the key `after`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemPage {
    pub limit: i64,
    pub after: Option<String>,
}

impl Default for ItemPage {
    fn default() -> Self {
        Self {
            limit: super::scope::DEFAULT_LIMIT,
            after: None,
        }
    }
}

/// What a reader or the batch's maker or checker is shown of it: the scope of the payments
/// they may see and the page asked for.
#[derive(Debug, Clone)]
pub struct Shown<'a> {
    pub scope: &'a Scope,
    pub page: &'a ItemPage,
}

/// The audit record of `action` on a batch by `access`, naming the people on the page shown.
fn batch_record(
    access: &Access,
    action: &str,
    view: &BatchView,
    concerned: &Concerned,
    outcome: Outcome,
    detail: serde_json::Value,
) -> slrt_audit::AuditRecord {
    let mut detail = concerned.detail(detail);
    if let serde_json::Value::Object(map) = &mut detail {
        map.insert("shown".to_owned(), serde_json::json!(view.payments.len()));
        map.insert("payment_count".to_owned(), serde_json::json!(view.batch.payment_count));
        map.insert("total_idr".to_owned(), serde_json::json!(view.batch.total_idr));
    }
    access.record(
        action,
        format!("batch/{}", view.batch.batch_id),
        concerned.nik_tokens.clone(),
        outcome,
        detail,
    )
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
        // The checker is the caller, named by their token: no request field to point at.
        (BatchError::SamePerson { .. }, _) => ApiError::rejected(error.to_string()),
        (BatchError::Unchecked { .. }, _) => ApiError::internal(error.to_string()),
        (_, Some(field)) => ApiError::invalid(field, error.to_string()),
        (_, None) => ApiError::rejected(error.to_string()),
    }
}

impl Disbursement {
    /// Prepares the next batch of `programme` and `period`: every instructed payment not in a
    /// batch yet, by the caller (the maker). Refused when there is none. Audited in its
    /// transaction, naming the people on the page shown; the batch's items are in its events.
    pub async fn prepare_batch(
        &self,
        access: &Access,
        programme: &str,
        period: &str,
        shown: Shown<'_>,
    ) -> Result<BatchView, ApiError> {
        let actor = access.subject();
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
            .append(&mut tx, &batch_stream(&id), ExpectedVersion::NoStream, encode(&event))
            .await
            .map_err(append_error)?;
        // The domain event is applied once, however many stored events (chunks) carry it.
        if let Some(stored) = recorded.first() {
            apply(&mut tx, &event, stored.occurred_at)
                .await
                .map_err(ApiError::unavailable)?;
        }
        let (view, concerned) = view(&mut tx, &id.to_string(), &shown).await?;
        let record = batch_record(
            access,
            "batch.prepare",
            &view,
            &concerned,
            Outcome::Allowed,
            serde_json::json!({ "programme_code": programme, "period": period.to_string(), "instructed": instructed }),
        );
        slrt_audit::record(&mut tx, &record)
            .await
            .map_err(ApiError::unavailable)?;
        tx.commit().await.map_err(ApiError::unavailable)?;
        tracing::info!(batch.id = %id, payments = view.batch.payment_count, total_idr = view.batch.total_idr, "payment batch prepared");
        Ok(view)
    }

    /// Releases a prepared batch by a second person (the caller, the checker), after asking
    /// eligibility about every beneficiary in it. A batch released already answers as it
    /// stands. Audited in its transaction; the maker's attempt is audited as denied.
    pub async fn release_batch(
        &self,
        access: &Access,
        batch_id: &str,
        shown: Shown<'_>,
    ) -> Result<BatchView, ApiError> {
        let actor = access.subject();
        let id = BatchId::parse(batch_id.trim()).map_err(refusal)?;
        let (batch, _) = self.load_batch(&id).await?;
        if let Some(released) = &batch.released
            && released.released_by.trim().to_lowercase() == actor.trim().to_lowercase()
        {
            // The same checker asking again: the release is recorded; answer it.
            return self.answer_as_it_stands(access, &id, &shown).await;
        }
        // Refuse the maker before asking anyone anything. A batch another checker released
        // meanwhile answers as it stands, as it does when that is found further on.
        match crate::domain::batch::release(&batch, actor, &self.all_payable(&batch)) {
            Ok(_) => {}
            Err(BatchError::AlreadyReleased { .. }) => return self.answer_as_it_stands(access, &id, &shown).await,
            Err(error) => {
                // The maker trying to release their own batch is what an auditor looks for.
                access
                    .audit(
                        &self.pool,
                        "batch.release",
                        format!("batch/{id}"),
                        Vec::new(),
                        Outcome::Denied,
                        serde_json::json!({ "reason": error.to_string() }),
                    )
                    .await?;
                return Err(refusal(error));
            }
        }

        // Asked outside the transaction: one answer per beneficiary, each bounded by the
        // client's timeouts, up to RELEASE_CHECKS_IN_FLIGHT at a time (a batch of a million
        // asked one by one would take the checker's afternoon). No answer means no release;
        // the checker tries again later.
        let mut beneficiaries: Vec<String> = batch
            .prepared
            .items
            .iter()
            .map(|item| item.key.beneficiary_id().to_owned())
            .collect();
        beneficiaries.sort_unstable();
        beneficiaries.dedup();
        let programme = id.programme_code.clone();
        let answers: HashMap<String, ReleaseCheck> = futures::stream::iter(beneficiaries)
            .map(|beneficiary| {
                let programme = programme.clone();
                async move {
                    let check = match self.release_check(&programme, &beneficiary).await {
                        Ok(check) => check,
                        Err(OpenEntitlementError::ReleaseCheckRefused { message, .. }) => ReleaseCheck::Held {
                            reasons: vec![format!("eligibility refused the release check: {message}")],
                        },
                        Err(error) => return Err(ApiError::unavailable(error)),
                    };
                    Ok((beneficiary, check))
                }
            })
            .buffer_unordered(RELEASE_CHECKS_IN_FLIGHT)
            .try_collect()
            .await?;
        let mut checks = HashMap::with_capacity(batch.prepared.items.len());
        for item in &batch.prepared.items {
            // Every beneficiary of the batch was answered above, or the release stopped.
            if let Some(check) = answers.get(item.key.beneficiary_id()) {
                checks.insert(item.key.clone(), check.clone());
            }
        }
        drop(answers);

        let mut tx = self.pool.begin().await.map_err(ApiError::unavailable)?;
        let (batch, version) = load(&self.store, &mut tx, &id).await?;
        // What disbursement itself knows wins over a payable answer: a payment stopped or held
        // since it was batched (an end, a hold) is held at release with its reason. The rows
        // stay locked until the release commits, so a stop waits for it and then sees the
        // payment released (and leaves it alone) rather than both happening.
        let local: Vec<(String, String, serde_json::Value, Option<String>)> = sqlx::query_as(
            "SELECT payment_key, status, hold_reasons, stop_reason FROM payment_instructions
             WHERE batch_id = $1 ORDER BY payment_key FOR UPDATE",
        )
        .bind(id.to_string())
        .fetch_all(&mut *tx)
        .await
        .map_err(ApiError::unavailable)?;
        for (key, status, hold_reasons, stop_reason) in local {
            let reasons: Vec<String> = match status.as_str() {
                "stopped" => vec![format!("payment stopped: {}", stop_reason.unwrap_or_default())],
                "held" => serde_json::from_value(hold_reasons).unwrap_or_default(),
                _ => continue,
            };
            if let Ok(key) = PaymentKey::parse(&key) {
                checks.insert(key, ReleaseCheck::Held { reasons });
            }
        }
        let event = match crate::domain::batch::release(&batch, actor, &checks) {
            Ok(event) => event,
            // Another checker released it while the checks were asked.
            Err(BatchError::AlreadyReleased { .. }) => {
                drop(tx);
                return self.answer_as_it_stands(access, &id, &shown).await;
            }
            Err(error) => return Err(refusal(error)),
        };
        let recorded = match self
            .store
            .append(
                &mut tx,
                &batch_stream(&id),
                ExpectedVersion::Exact(version),
                encode(&event),
            )
            .await
        {
            Ok(recorded) => recorded,
            Err(AppendError::Conflict { .. }) => {
                drop(tx);
                return self.answer_as_it_stands(access, &id, &shown).await;
            }
            Err(error) => return Err(append_error(error)),
        };
        // The domain event is applied once, however many stored events (chunks) carry it.
        if let Some(stored) = recorded.first() {
            apply(&mut tx, &event, stored.occurred_at)
                .await
                .map_err(ApiError::unavailable)?;
        }
        let (view, concerned) = view(&mut tx, &id.to_string(), &shown).await?;
        let record = batch_record(
            access,
            "batch.release",
            &view,
            &concerned,
            Outcome::Allowed,
            serde_json::json!({
                "prepared_by": view.batch.prepared_by,
                "released_count": view.batch.released_count,
                "held_count": view.batch.held_count,
            }),
        );
        slrt_audit::record(&mut tx, &record)
            .await
            .map_err(ApiError::unavailable)?;
        tx.commit().await.map_err(ApiError::unavailable)?;
        tracing::info!(
            batch.id = %id,
            released = view.batch.released_count.unwrap_or_default(),
            held = view.batch.held_count.unwrap_or_default(),
            "payment batch released"
        );
        Ok(view)
    }

    /// A release asked of a batch released already: nothing changes, and the answer is a read
    /// of the batch, audited as one.
    async fn answer_as_it_stands(
        &self,
        access: &Access,
        id: &BatchId,
        shown: &Shown<'_>,
    ) -> Result<BatchView, ApiError> {
        let (view, concerned) = self.batch(&id.to_string(), shown).await?;
        slrt_audit::record_alone(
            &self.pool,
            &batch_record(
                access,
                "batch.release",
                &view,
                &concerned,
                Outcome::Allowed,
                serde_json::json!({ "already_released_by": view.batch.released_by }),
            ),
        )
        .await
        .map_err(ApiError::unavailable)?;
        Ok(view)
    }

    /// One batch with a page of its payments within `shown.scope`, and whom that page
    /// concerns (for the reader's audit record).
    pub async fn batch(&self, batch_id: &str, shown: &Shown<'_>) -> Result<(BatchView, Concerned), ApiError> {
        let id = BatchId::parse(batch_id.trim()).map_err(refusal)?;
        let mut conn = self.pool.acquire().await.map_err(ApiError::unavailable)?;
        view(&mut conn, &id.to_string(), shown).await
    }

    /// The batches of a programme and period, in sequence: at most `limit` after the sequence
    /// number `after`. Totals only; a batch's payments are read a page at a time.
    pub async fn batches_of(
        &self,
        programme: &str,
        period: &str,
        limit: i64,
        after: Option<i32>,
    ) -> Result<Vec<BatchSummary>, ApiError> {
        if !is_programme_code(programme) {
            return Err(refusal(BatchError::Programme(programme.to_owned())));
        }
        let period = Period::parse(period).map_err(|error| refusal(BatchError::Period(error)))?;
        let rows: Vec<BatchRow> = sqlx::query_as(
            "SELECT * FROM payment_batches WHERE programme_code = $1 AND period = $2 AND sequence > $3
             ORDER BY sequence LIMIT $4",
        )
        .bind(programme)
        .bind(period.to_string())
        .bind(after.unwrap_or(0))
        .bind(limit)
        .fetch_all(&self.pool)
        .await
        .map_err(ApiError::unavailable)?;
        Ok(rows.into_iter().map(BatchSummary::from).collect())
    }

    /// Instructs `period`'s payment of every entitlement of `programme` due in it that has
    /// none yet. A key already taken by another payment is left alone and logged: paying it
    /// would pay twice.
    async fn instruct_due(&self, conn: &mut PgConnection, programme: &str, period: Period) -> Result<usize, ApiError> {
        let due: Vec<DueEntitlement> = sqlx::query_as(
            "SELECT e.entitlement_id, e.case_id, e.referral_id, e.programme_code, e.beneficiary_id, e.beneficiary_name,
                    e.component, e.amount_per_period_idr, e.cadence, e.first_period, e.held_from, e.hold_reason
             FROM entitlements e
             WHERE e.programme_code = $1 AND e.cadence = $2 AND e.first_period <= $3
               -- An ended entitlement owes nothing for a period that starts after its end.
               AND (e.ended_on IS NULL OR ($4::date IS NOT NULL AND $4 <= e.ended_on))
               AND NOT EXISTS (SELECT 1 FROM payment_instructions p
                               WHERE p.entitlement_id = e.entitlement_id AND p.period = $3)
             ORDER BY e.entitlement_id",
        )
        .bind(programme)
        .bind(period.cadence().as_str())
        .bind(period.to_string())
        .bind(period.start())
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
            // The release check happens when the batch is released, for every payment in it;
            // a hold eligibility already announced is recorded now, so reports show it.
            let check = match (&row.held_from, &row.hold_reason) {
                (Some(held_from), reason) if period.end().is_none_or(|end| end >= *held_from) => ReleaseCheck::Held {
                    reasons: vec![
                        reason
                            .clone()
                            .unwrap_or_else(|| format!("enrolment held from {held_from}")),
                    ],
                },
                _ => ReleaseCheck::Payable,
            };
            let event = crate::domain::decide_payment(&entitlement, period, Uuid::now_v7(), &check)
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
    held_from: Option<chrono::NaiveDate>,
    hold_reason: Option<String>,
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
    let events = decode_stream(&history).map_err(ApiError::internal)?;
    let batch = Batch::from_events(&events).ok_or_else(|| ApiError::not_found(format!("batch {id} not found")))?;
    Ok((batch, version))
}

async fn unbatched(conn: &mut PgConnection, programme: &str, period: Period) -> Result<Vec<BatchItem>, sqlx::Error> {
    let rows: Vec<(Uuid, String, i64, Uuid, Uuid)> = sqlx::query_as(
        "SELECT payment_id, payment_key, amount_idr, entitlement_id, case_id FROM payment_instructions
         WHERE programme_code = $1 AND status = 'instructed' AND batch_id IS NULL
           -- Arrears (payments held and owed again) go into the programme's next batch,
           -- whatever its period: they are due now.
           AND (period = $2 OR arrears)
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
            // A payment joins one batch, once. In chunks, so that a large batch binds no
            // array of a million keys.
            for chunk in prepared.items.chunks(CHUNK * 10) {
                let keys: Vec<String> = chunk.iter().map(|item| item.key.to_string()).collect();
                sqlx::query(
                    "UPDATE payment_instructions SET batch_id = $1 WHERE payment_key = ANY($2) AND batch_id IS NULL",
                )
                .bind(id.to_string())
                .bind(keys)
                .execute(&mut *conn)
                .await?;
            }
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
            for chunk in released.released.chunks(CHUNK * 10) {
                let keys: Vec<String> = chunk.iter().map(ToString::to_string).collect();
                sqlx::query(
                    "UPDATE payment_instructions SET release_status = 'released'
                     WHERE batch_id = $1 AND payment_key = ANY($2)",
                )
                .bind(&id)
                .bind(keys)
                .execute(&mut *conn)
                .await?;
            }
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

impl From<BatchRow> for BatchSummary {
    fn from(row: BatchRow) -> Self {
        Self {
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
        }
    }
}

/// One payment of a batch as a page shows it, with whom it concerns.
#[derive(Debug, sqlx::FromRow)]
struct ShownItem {
    payment_key: String,
    beneficiary_id: String,
    amount_idr: i64,
    release_status: Option<String>,
    release_hold_reasons: serde_json::Value,
    nik_token: Option<String>,
}

async fn view(conn: &mut PgConnection, batch_id: &str, shown: &Shown<'_>) -> Result<(BatchView, Concerned), ApiError> {
    let row: Option<BatchRow> = sqlx::query_as("SELECT * FROM payment_batches WHERE batch_id = $1")
        .bind(batch_id)
        .fetch_optional(&mut *conn)
        .await
        .map_err(ApiError::unavailable)?;
    let row = row.ok_or_else(|| ApiError::not_found(format!("batch {batch_id} not found")))?;
    let (areas, unplaced, agency) = shown.scope.values();
    // Two keyset scans in key order, each stopping after a page: the batch's own payments,
    // and those it held at release that a later batch pays (arrears), which it still shows
    // as it released them: held, with the reasons.
    let payments: Vec<ShownItem> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "(SELECT p.payment_key, p.beneficiary_id, p.amount_idr, p.release_status, p.release_hold_reasons, e.nik_token
              FROM payment_instructions p JOIN entitlements e ON e.entitlement_id = p.entitlement_id
              WHERE p.batch_id = $1 AND p.payment_key > $2 AND {scope}
              ORDER BY p.payment_key LIMIT $6)
             UNION ALL
             (SELECT p.payment_key, p.beneficiary_id, p.amount_idr, 'held', p.release_hold_reasons, e.nik_token
              FROM payment_instructions p JOIN entitlements e ON e.entitlement_id = p.entitlement_id
              WHERE p.arrears_from_batch_id = $1 AND p.batch_id IS DISTINCT FROM $1 AND p.payment_key > $2 AND {scope}
              ORDER BY p.payment_key LIMIT $6)
             ORDER BY payment_key LIMIT $6",
        scope = Scope::predicate("e", 3)
    )))
    .bind(batch_id)
    .bind(shown.page.after.as_deref().unwrap_or_default())
    .bind(areas)
    .bind(unplaced)
    .bind(agency)
    .bind(shown.page.limit)
    .fetch_all(&mut *conn)
    .await
    .map_err(ApiError::unavailable)?;
    let next_after = (i64::try_from(payments.len()).unwrap_or(i64::MAX) >= shown.page.limit)
        .then(|| payments.last().map(|item| item.payment_key.clone()))
        .flatten();
    let mut concerned = Concerned::default();
    let payments = payments
        .into_iter()
        .map(|item| {
            concerned.add(item.nik_token.as_deref(), &item.beneficiary_id);
            BatchPaymentView {
                payment_key: item.payment_key,
                amount_idr: item.amount_idr,
                release_status: item.release_status,
                hold_reasons: serde_json::from_value(item.release_hold_reasons).unwrap_or_default(),
            }
        })
        .collect();
    let view = BatchView {
        batch: BatchSummary::from(row),
        payments,
        next_after,
    };
    Ok((view, concerned))
}

/// Items (or held payments) per event of a large batch: a chunk of 1,000 items is about
/// 150 kB, well under Kafka's default 1 MB message limit, and a 1,000,000-payment batch is
/// 1,000 chunks rather than one event of 150 MB.
pub const CHUNK: usize = 1_000;

/// The SHA-256 (hex) of a batch's items in order, one `<payment_key>\t<amount_idr>\n` line
/// each: recorded with the batch, checked whenever its chunks are read back.
pub fn items_digest(items: &[BatchItem]) -> String {
    use sha2::Digest;
    let mut hasher = sha2::Sha256::new();
    for item in items {
        hasher.update(format!("{}\t{}\n", item.key, item.amount_idr).as_bytes());
    }
    hex::encode(hasher.finalize())
}

fn proto_item(item: &BatchItem) -> proto::BatchItem {
    proto::BatchItem {
        payment_id: item.payment_id.to_string(),
        payment_key: item.key.to_string(),
        amount_idr: item.amount_idr,
        entitlement_id: item.entitlement_id.to_string(),
        case_id: item.case_id.to_string(),
    }
}

fn proto_held((key, reasons): &(PaymentKey, Vec<String>)) -> proto::HeldAtRelease {
    proto::HeldAtRelease {
        payment_key: key.to_string(),
        reasons: reasons.clone(),
    }
}

fn count(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn chunks_of(n: usize) -> i32 {
    i32::try_from(n.div_ceil(CHUNK)).unwrap_or(i32::MAX)
}

/// The stored events of one domain event: small batches in one event, as they always were;
/// large ones as a head event with counts, totals and the digest, and chunks.
fn encode(event: &BatchEvent) -> Vec<NewEvent> {
    match event {
        BatchEvent::Prepared(prepared) => {
            let large = prepared.items.len() > CHUNK;
            let batch_id = prepared.id.to_string();
            let mut events = vec![NewEvent::new(&proto::PaymentBatchPrepared {
                batch_id: batch_id.clone(),
                programme_code: prepared.id.programme_code.clone(),
                period: prepared.id.period.to_string(),
                sequence: i32::try_from(prepared.id.sequence).unwrap_or(i32::MAX),
                prepared_by: prepared.prepared_by.clone(),
                items: if large {
                    Vec::new()
                } else {
                    prepared.items.iter().map(proto_item).collect()
                },
                total_idr: prepared.total_idr(),
                item_count: count(prepared.items.len()),
                items_digest: items_digest(&prepared.items),
                chunk_count: if large { chunks_of(prepared.items.len()) } else { 0 },
            })];
            if large {
                events.extend(prepared.items.chunks(CHUNK).enumerate().map(|(index, chunk)| {
                    NewEvent::new(&proto::PaymentBatchItems {
                        batch_id: batch_id.clone(),
                        chunk_index: i32::try_from(index).unwrap_or(i32::MAX),
                        items: chunk.iter().map(proto_item).collect(),
                    })
                }));
            }
            events
        }
        BatchEvent::Released(released) => {
            let all_but_held = released.released.len() > CHUNK;
            let held_large = released.held.len() > CHUNK;
            let batch_id = released.id.to_string();
            let mut events = vec![NewEvent::new(&proto::PaymentBatchReleased {
                batch_id: batch_id.clone(),
                released_by: released.released_by.clone(),
                released_keys: if all_but_held {
                    Vec::new()
                } else {
                    released.released.iter().map(ToString::to_string).collect()
                },
                held: if held_large {
                    Vec::new()
                } else {
                    released.held.iter().map(proto_held).collect()
                },
                released_total_idr: released.released_total_idr,
                released_count: count(released.released.len()),
                held_count: count(released.held.len()),
                released_all_but_held: all_but_held,
                held_chunk_count: if held_large { chunks_of(released.held.len()) } else { 0 },
            })];
            if held_large {
                events.extend(released.held.chunks(CHUNK).enumerate().map(|(index, chunk)| {
                    NewEvent::new(&proto::PaymentBatchHeldItems {
                        batch_id: batch_id.clone(),
                        chunk_index: i32::try_from(index).unwrap_or(i32::MAX),
                        held: chunk.iter().map(proto_held).collect(),
                    })
                }));
            }
            events
        }
    }
}

/// A stored batch event that does not decode, or chunks that do not add up: corruption or
/// a bug.
#[derive(Debug, thiserror::Error)]
#[error("batch event {event_id} ({event_type}): {reason}")]
pub struct BatchDecodeError {
    event_id: Uuid,
    event_type: String,
    reason: String,
}

/// A release read back, before its released keys are known for a large batch.
struct StoredRelease {
    released: BatchReleased,
    all_but_held: bool,
    held_count: usize,
}

/// Folds a batch stream back into domain events: chunks join the event they follow, and a
/// large batch's items are checked against the count and the digest it was recorded with.
fn decode_stream(history: &[RecordedEvent]) -> Result<Vec<BatchEvent>, BatchDecodeError> {
    let mut prepared: Option<(BatchPrepared, usize, String, &RecordedEvent)> = None;
    let mut release: Option<(StoredRelease, &RecordedEvent)> = None;
    for event in history {
        let failed = |reason: String| BatchDecodeError {
            event_id: event.event_id,
            event_type: event.event_type.clone(),
            reason,
        };
        let key = |text: &str| PaymentKey::parse(text).map_err(|error| failed(error.to_string()));
        let uuid = |text: &str| Uuid::parse_str(text).map_err(|error| failed(error.to_string()));
        let batch_id = |text: &str| BatchId::parse(text).map_err(|error| failed(error.to_string()));
        let item = |item: &proto::BatchItem| {
            Ok(BatchItem {
                payment_id: uuid(&item.payment_id)?,
                key: key(&item.payment_key)?,
                amount_idr: item.amount_idr,
                entitlement_id: uuid(&item.entitlement_id)?,
                case_id: uuid(&item.case_id)?,
            })
        };
        let held = |held: &proto::HeldAtRelease| Ok((key(&held.payment_key)?, held.reasons.clone()));
        match event.event_type.as_str() {
            "slrt.disbursement.v1.PaymentBatchPrepared" => {
                let e: proto::PaymentBatchPrepared = event.decode().map_err(|error| failed(error.to_string()))?;
                let items = e.items.iter().map(item).collect::<Result<Vec<_>, BatchDecodeError>>()?;
                // Events recorded before counts existed carry their items and nothing else.
                let expected = if e.item_count == 0 {
                    items.len()
                } else {
                    usize::try_from(e.item_count).map_err(|error| failed(error.to_string()))?
                };
                let batch = BatchPrepared {
                    id: batch_id(&e.batch_id)?,
                    prepared_by: e.prepared_by,
                    items,
                };
                prepared = Some((batch, expected, e.items_digest, event));
            }
            "slrt.disbursement.v1.PaymentBatchItems" => {
                let e: proto::PaymentBatchItems = event.decode().map_err(|error| failed(error.to_string()))?;
                let (batch, _, _, _) = prepared
                    .as_mut()
                    .ok_or_else(|| failed("items before the batch was prepared".to_owned()))?;
                for chunk_item in &e.items {
                    batch.items.push(item(chunk_item)?);
                }
            }
            "slrt.disbursement.v1.PaymentBatchReleased" => {
                let e: proto::PaymentBatchReleased = event.decode().map_err(|error| failed(error.to_string()))?;
                let stored = StoredRelease {
                    released: BatchReleased {
                        id: batch_id(&e.batch_id)?,
                        released_by: e.released_by,
                        released: e.released_keys.iter().map(|k| key(k)).collect::<Result<_, _>>()?,
                        held: e.held.iter().map(held).collect::<Result<_, BatchDecodeError>>()?,
                        released_total_idr: e.released_total_idr,
                    },
                    all_but_held: e.released_all_but_held,
                    held_count: usize::try_from(e.held_count).map_err(|error| failed(error.to_string()))?,
                };
                release = Some((stored, event));
            }
            "slrt.disbursement.v1.PaymentBatchHeldItems" => {
                let e: proto::PaymentBatchHeldItems = event.decode().map_err(|error| failed(error.to_string()))?;
                let (stored, _) = release
                    .as_mut()
                    .ok_or_else(|| failed("held items before the batch was released".to_owned()))?;
                for entry in &e.held {
                    stored.released.held.push(held(entry)?);
                }
            }
            other => return Err(failed(format!("{other} is not a batch event"))),
        }
    }
    let mut events = Vec::new();
    let Some((batch, expected, digest, head)) = prepared else {
        return Ok(events);
    };
    let failed = |event: &RecordedEvent, reason: String| BatchDecodeError {
        event_id: event.event_id,
        event_type: event.event_type.clone(),
        reason,
    };
    if batch.items.len() != expected {
        return Err(failed(
            head,
            format!("{} items recorded, {expected} announced", batch.items.len()),
        ));
    }
    if !digest.is_empty() && items_digest(&batch.items) != digest {
        return Err(failed(head, "the items do not match the recorded digest".to_owned()));
    }
    if let Some((mut stored, head)) = release {
        if stored.all_but_held {
            if stored.released.held.len() != stored.held_count {
                return Err(failed(
                    head,
                    format!(
                        "{} held payments recorded, {} announced",
                        stored.released.held.len(),
                        stored.held_count
                    ),
                ));
            }
            let held: std::collections::HashSet<&PaymentKey> = stored.released.held.iter().map(|(k, _)| k).collect();
            stored.released.released = batch
                .items
                .iter()
                .filter(|item| !held.contains(&item.key))
                .map(|item| item.key.clone())
                .collect();
        }
        events.push(BatchEvent::Prepared(batch));
        events.push(BatchEvent::Released(stored.released));
    } else {
        events.push(BatchEvent::Prepared(batch));
    }
    Ok(events)
}
