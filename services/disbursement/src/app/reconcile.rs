//! Reconciling a released batch with the paying bank's statement (asked over gRPC, or a
//! statement file the bank sent), and ordering follow-up payments for failed ones.
//!
//! Reconciliation records what the statement changes (a reversal, an unknown outcome the
//! bank settled) as `PaymentOutcomeRecorded`, lists what no recorded change can settle, and
//! records `PaymentBatchReconciled` with the totals of both sides. A follow-up pays a failed
//! or reversed payment again under its original key, with the next attempt number. Both are
//! audited in their transaction, naming the people whose payments changed.

use chrono::{DateTime, Utc};
use serde::Serialize;
use slrt_audit::Outcome;
use slrt_audit::access::Access;
use slrt_errors::ApiError;
use slrt_eventstore::{ExpectedVersion, NewEvent};
use slrt_proto::bank::v1 as bank;
use slrt_proto::disbursement::v1 as proto;
use uuid::Uuid;

use super::Disbursement;
use super::batches::batch_stream;
use super::entitlements::OpenEntitlementError;
use super::scope::{Concerned, Scope};
use super::sender::{BankOutcome, record_bank_outcome};
use crate::domain::reconciliation::{BankItem, OurPayment, reconcile};
use crate::domain::{BatchId, ReleaseCheck};

/// The statement file's columns, as the bank writes them (see `slrt.bank.v1.ExportStatement`).
const FILE_COLUMNS: [&str; 8] = [
    "idempotency_key",
    "bank_reference",
    "batch_id",
    "amount_idr",
    "status",
    "reason",
    "at",
    "attempt",
];

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TotalView {
    pub count: i64,
    pub amount_idr: i64,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ChangeView {
    pub payment_key: String,
    pub from: Option<String>,
    pub to: String,
    pub bank_reference: String,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DifferenceView {
    pub payment_key: String,
    pub problem: String,
}

/// The outcome of one reconciliation.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(example = json!({
    "batch_id": "PKH:2026-Q4:1", "source": "bank", "reconciled_at": "2026-11-24T02:00:00Z", "balanced": true,
    "changes": [{"payment_key": "PKH:2026-Q4:hh-3375-0042:child_0_6", "from": "settled", "to": "reversed",
                 "bank_reference": "SIMBANK-000000000042", "reason": "beneficiary account dormant"}],
    "differences": [],
    "ours": {"settled": {"count": 11, "amount_idr": 8250000}, "failed": {"count": 0, "amount_idr": 0},
             "reversed": {"count": 1, "amount_idr": 750000}},
    "bank": {"settled": {"count": 11, "amount_idr": 8250000}, "failed": {"count": 0, "amount_idr": 0},
             "reversed": {"count": 1, "amount_idr": 750000}}
}))]
pub struct ReconciliationView {
    pub batch_id: String,
    /// `bank` (asked over gRPC) or `file`.
    pub source: String,
    pub reconciled_at: DateTime<Utc>,
    /// Every released payment on the statement with the attempt sent, nothing else on it, and
    /// equal totals per status.
    pub balanced: bool,
    /// Outcomes the statement changed, now recorded.
    pub changes: Vec<ChangeView>,
    /// What a person must look at.
    pub differences: Vec<DifferenceView>,
    /// By status: `settled`, `failed`, `reversed`.
    pub ours: std::collections::BTreeMap<String, TotalView>,
    pub bank: std::collections::BTreeMap<String, TotalView>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
struct Released {
    payment_key: String,
    amount_idr: i64,
    bank_status: Option<String>,
    bank_attempt: i32,
    entitlement_id: Uuid,
    case_id: Uuid,
}

impl Disbursement {
    /// Reconciles a released batch with the statement the bank gives over gRPC, for the caller.
    pub async fn reconcile_with_bank(&self, access: &Access, batch_id: &str) -> Result<ReconciliationView, ApiError> {
        let id = BatchId::parse(batch_id.trim()).map_err(|e| ApiError::invalid("batch_id", e.to_string()))?;
        let mut request = tonic::Request::new(bank::StatementRequest {
            batch_id: id.to_string(),
            ..bank::StatementRequest::default()
        });
        // A statement is one long answer (minutes for a million transfers): the transfer
        // timeout is no measure of it.
        request.set_timeout(super::sender::STATEMENT_DEADLINE);
        let statement = self
            .bank
            .clone()
            .get_statement(request)
            .await
            .map_err(|status| {
                ApiError::unavailable(format!("the bank did not give its statement: {}", status.message()))
            })?
            .into_inner();
        let items = statement
            .items
            .iter()
            .filter_map(|item| {
                let status = match bank::TransferStatus::try_from(item.status).ok()? {
                    bank::TransferStatus::Settled => "settled",
                    bank::TransferStatus::Failed => "failed",
                    bank::TransferStatus::Reversed => "reversed",
                    _ => return None,
                };
                Some(BankItem {
                    key: item.idempotency_key.clone(),
                    attempt: item.attempt.max(1),
                    amount_idr: item.amount_idr,
                    status: status.to_owned(),
                    reference: item.bank_reference.clone(),
                    reason: item.reason.clone(),
                })
            })
            .collect::<Vec<_>>();
        self.reconcile_batch(access, &id, "bank", items).await
    }

    /// Reconciles a released batch with a statement file from the bank (CSV, columns as the
    /// bank's export). A malformed file is refused naming the line, and changes nothing.
    pub async fn reconcile_with_file(
        &self,
        access: &Access,
        batch_id: &str,
        file: &[u8],
    ) -> Result<ReconciliationView, ApiError> {
        let id = BatchId::parse(batch_id.trim()).map_err(|e| ApiError::invalid("batch_id", e.to_string()))?;
        let items = parse_statement_file(file, &id.to_string())?;
        self.reconcile_batch(access, &id, "file", items).await
    }

    async fn reconcile_batch(
        &self,
        access: &Access,
        id: &BatchId,
        source: &str,
        items: Vec<BankItem>,
    ) -> Result<ReconciliationView, ApiError> {
        let mut tx = self.pool.begin().await.map_err(ApiError::unavailable)?;
        let status: Option<String> =
            sqlx::query_scalar("SELECT status FROM payment_batches WHERE batch_id = $1 FOR UPDATE")
                .bind(id.to_string())
                .fetch_optional(&mut *tx)
                .await
                .map_err(ApiError::unavailable)?;
        match status.as_deref() {
            None => return Err(ApiError::not_found(format!("batch {id} not found"))),
            Some("released") => {}
            Some(other) => {
                return Err(ApiError::rejected(format!(
                    "batch {id} is {other}; only a released batch is reconciled"
                )));
            }
        }
        let released: Vec<Released> = sqlx::query_as(
            "SELECT payment_key, amount_idr, bank_status, bank_attempt, entitlement_id, case_id
             FROM payment_instructions WHERE batch_id = $1 AND release_status = 'released'
             ORDER BY payment_key FOR UPDATE",
        )
        .bind(id.to_string())
        .fetch_all(&mut *tx)
        .await
        .map_err(ApiError::unavailable)?;
        let ours: Vec<OurPayment> = released
            .iter()
            .map(|p| OurPayment {
                key: p.payment_key.clone(),
                amount_idr: p.amount_idr,
                bank_status: p.bank_status.clone(),
                attempt: p.bank_attempt,
            })
            .collect();
        let result = reconcile(&ours, &items);
        let now = Utc::now();
        for change in &result.changes {
            let Some(payment) = released.iter().find(|p| p.payment_key == change.key) else {
                continue;
            };
            record_bank_outcome(
                &self.store,
                &mut tx,
                &BankOutcome {
                    payment_key: &change.key,
                    entitlement_id: payment.entitlement_id,
                    case_id: payment.case_id,
                    attempt: change.attempt,
                    status: &change.to,
                    reference: &change.reference,
                    reason: &change.reason,
                },
            )
            .await
            .map_err(ApiError::unavailable)?;
        }
        let total = |map: &std::collections::BTreeMap<String, crate::domain::reconciliation::Total>, status: &str| {
            map.get(status).copied().unwrap_or_default()
        };
        let reconciled = NewEvent::new(&proto::PaymentBatchReconciled {
            batch_id: id.to_string(),
            source: source.to_owned(),
            balanced: result.balanced(),
            settled_count: total(&result.bank, "settled").count,
            settled_idr: total(&result.bank, "settled").amount_idr,
            failed_count: total(&result.bank, "failed").count,
            failed_idr: total(&result.bank, "failed").amount_idr,
            reversed_count: total(&result.bank, "reversed").count,
            reversed_idr: total(&result.bank, "reversed").amount_idr,
            changes: i32::try_from(result.changes.len()).unwrap_or(i32::MAX),
            differences: result
                .differences
                .iter()
                .map(|d| format!("{}: {}", d.key, d.problem))
                .collect(),
        });
        self.store
            .append(&mut tx, &batch_stream(id), ExpectedVersion::Any, vec![reconciled])
            .await
            .map_err(ApiError::internal)?;
        // The people whose payments the statement changed (a handful, however large the
        // batch): the record names them; the rest of the batch was only compared.
        let changed: Vec<Uuid> = result
            .changes
            .iter()
            .filter_map(|change| released.iter().find(|p| p.payment_key == change.key))
            .map(|payment| payment.entitlement_id)
            .collect();
        let owners: Vec<(Option<String>, String)> = sqlx::query_as(
            "SELECT nik_token, beneficiary_id FROM entitlements WHERE entitlement_id = ANY($1) ORDER BY entitlement_id",
        )
        .bind(&changed)
        .fetch_all(&mut *tx)
        .await
        .map_err(ApiError::unavailable)?;
        let mut concerned = Concerned::default();
        for (nik_token, beneficiary_id) in &owners {
            concerned.add(nik_token.as_deref(), beneficiary_id);
        }
        let record = access.record(
            "batch.reconcile",
            format!("batch/{id}"),
            concerned.nik_tokens.clone(),
            Outcome::Allowed,
            concerned.detail(serde_json::json!({
                "source": source,
                "balanced": result.balanced(),
                "changed_payment_keys": result.changes.iter().map(|c| c.key.as_str()).collect::<Vec<_>>(),
                "differences": result.differences.len(),
            })),
        );
        slrt_audit::record(&mut tx, &record)
            .await
            .map_err(ApiError::unavailable)?;
        tx.commit().await.map_err(ApiError::unavailable)?;
        tracing::info!(
            batch.id = %id,
            source,
            balanced = result.balanced(),
            changes = result.changes.len(),
            differences = result.differences.len(),
            "batch reconciled"
        );
        let totals = |map: &std::collections::BTreeMap<String, crate::domain::reconciliation::Total>| {
            map.iter()
                .map(|(status, t)| {
                    (
                        status.clone(),
                        TotalView {
                            count: t.count,
                            amount_idr: t.amount_idr,
                        },
                    )
                })
                .collect()
        };
        Ok(ReconciliationView {
            batch_id: id.to_string(),
            source: source.to_owned(),
            reconciled_at: now,
            balanced: result.balanced(),
            changes: result
                .changes
                .iter()
                .map(|c| ChangeView {
                    payment_key: c.key.clone(),
                    from: c.from.clone(),
                    to: c.to.clone(),
                    bank_reference: c.reference.clone(),
                    reason: c.reason.clone(),
                })
                .collect(),
            differences: result
                .differences
                .iter()
                .map(|d| DifferenceView {
                    payment_key: d.key.clone(),
                    problem: d.problem.clone(),
                })
                .collect(),
            ours: totals(&result.ours),
            bank: totals(&result.bank),
        })
    }

    /// Orders a follow-up of a failed or reversed payment within `scope`, by the caller: the
    /// sender pays it again under its original key, as the next attempt. Returns that attempt
    /// number. A payment outside the scope is "not found", and the attempt is audited.
    pub async fn order_follow_up(
        &self,
        access: &Access,
        scope: &Scope,
        payment_key: &str,
        reason: &str,
    ) -> Result<i32, ApiError> {
        let payment_key = payment_key.trim();
        if payment_key.is_empty() {
            return Err(ApiError::invalid("payment_key", "is required"));
        }
        if payment_key.chars().count() > MAX_KEY_CHARS {
            return Err(ApiError::invalid(
                "payment_key",
                format!("a payment key is at most {MAX_KEY_CHARS} characters"),
            ));
        }
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(ApiError::invalid("reason", "is required"));
        }
        let length = reason.chars().count();
        if length > MAX_REASON_CHARS {
            return Err(ApiError::invalid(
                "reason",
                format!("at most {MAX_REASON_CHARS} characters, found {length}"),
            ));
        }
        let actor = access.subject();
        let mut tx = self.pool.begin().await.map_err(ApiError::unavailable)?;
        let row: Option<FollowedUp> = sqlx::query_as(
            "SELECT p.bank_status, p.bank_attempt, p.entitlement_id, p.case_id, p.beneficiary_id,
                    p.programme_code, e.region_code, e.opd_code, e.nik_token, e.hold_reason
             FROM payment_instructions p JOIN entitlements e ON e.entitlement_id = p.entitlement_id
             WHERE p.payment_key = $1 FOR UPDATE OF p",
        )
        .bind(payment_key)
        .fetch_optional(&mut *tx)
        .await
        .map_err(ApiError::unavailable)?;
        let Some(payment) = row.filter(|p| scope.covers(p.region_code.as_deref(), p.opd_code.as_deref())) else {
            drop(tx);
            access
                .audit(
                    &self.pool,
                    "payment.follow_up",
                    format!("payment/{payment_key}"),
                    Vec::new(),
                    Outcome::NotFound,
                    serde_json::json!({}),
                )
                .await?;
            return Err(ApiError::not_found(format!("payment {payment_key} not found")));
        };
        let FollowedUp {
            bank_status: status,
            bank_attempt: attempt,
            entitlement_id,
            case_id,
            ..
        } = payment.clone();
        if !matches!(status.as_deref(), Some("failed" | "reversed")) {
            return Err(ApiError::rejected(format!(
                "payment {payment_key} is {}; only a failed or reversed payment is followed up",
                status.as_deref().unwrap_or("not sent")
            )));
        }
        // A follow-up pays again, so it is checked as a release is: what disbursement itself
        // knows (a hold on the entitlement), then eligibility (alive, enrolled, not held). A
        // death confirmed after the failed attempt must not be paid by its follow-up. The row
        // stays locked for the one call, bounded by the client's deadline, so that the sender
        // and a second follow-up wait rather than act on a payment being decided.
        if let Some(hold) = payment.hold_reason.as_deref() {
            return Err(ApiError::rejected(format!(
                "payment {payment_key} is not followed up: its entitlement is held ({hold})"
            )));
        }
        match self
            .release_check(&payment.programme_code, &payment.beneficiary_id)
            .await
        {
            Ok(ReleaseCheck::Payable) => {}
            Ok(ReleaseCheck::Held { reasons }) => {
                return Err(ApiError::rejected(format!(
                    "payment {payment_key} is not followed up: eligibility holds the beneficiary ({})",
                    reasons.join("; ")
                )));
            }
            Err(OpenEntitlementError::ReleaseCheckRefused { message, .. }) => {
                return Err(ApiError::rejected(format!(
                    "payment {payment_key} is not followed up: eligibility refused the check ({message})"
                )));
            }
            Err(error) => return Err(ApiError::unavailable(error)),
        }
        let next = attempt + 1;
        let event = NewEvent::new(&proto::PaymentFollowUpOrdered {
            payment_key: payment_key.to_owned(),
            next_attempt: next,
            actor: actor.to_owned(),
            reason: reason.to_owned(),
            entitlement_id: entitlement_id.to_string(),
            case_id: case_id.to_string(),
        })
        .for_case(case_id);
        self.store
            .append(
                &mut tx,
                &format!("entitlement-{entitlement_id}"),
                ExpectedVersion::Any,
                vec![event],
            )
            .await
            .map_err(ApiError::internal)?;
        // Back on the sender's list; it sends attempt `bank_attempt + 1`, same key.
        sqlx::query(
            "UPDATE payment_instructions SET bank_status = NULL, bank_reason = NULL, bank_updated_at = $2
             WHERE payment_key = $1",
        )
        .bind(payment_key)
        .bind(Utc::now())
        .execute(&mut *tx)
        .await
        .map_err(ApiError::unavailable)?;
        let mut concerned = Concerned::default();
        concerned.add(payment.nik_token.as_deref(), &payment.beneficiary_id);
        let record = access.record(
            "payment.follow_up",
            format!("payment/{payment_key}"),
            concerned.nik_tokens.clone(),
            Outcome::Allowed,
            concerned.detail(serde_json::json!({ "next_attempt": next, "reason": reason })),
        );
        slrt_audit::record(&mut tx, &record)
            .await
            .map_err(ApiError::unavailable)?;
        tx.commit().await.map_err(ApiError::unavailable)?;
        tracing::info!(payment.key = %payment_key, attempt = next, "follow-up payment ordered");
        Ok(next)
    }
}

/// The longest payment key looked up (the bank takes keys of at most 200 characters).
const MAX_KEY_CHARS: usize = 200;
/// The longest reason for a follow-up kept with it.
const MAX_REASON_CHARS: usize = 500;

/// A payment asked to be followed up, with the scope and the person of its entitlement.
#[derive(Debug, Clone, sqlx::FromRow)]
struct FollowedUp {
    bank_status: Option<String>,
    bank_attempt: i32,
    entitlement_id: Uuid,
    case_id: Uuid,
    beneficiary_id: String,
    programme_code: String,
    region_code: Option<String>,
    opd_code: Option<String>,
    nik_token: Option<String>,
    hold_reason: Option<String>,
}

/// The bank's statement file, for one batch; a malformed file is refused naming its line.
fn parse_statement_file(file: &[u8], batch_id: &str) -> Result<Vec<BankItem>, ApiError> {
    let mut reader = csv::ReaderBuilder::new().has_headers(true).from_reader(file);
    let headers = reader
        .headers()
        .map_err(|e| ApiError::invalid("file", format!("line 1: not a CSV header ({e})")))?
        .clone();
    if headers.iter().collect::<Vec<_>>() != FILE_COLUMNS {
        return Err(ApiError::invalid(
            "file",
            format!("line 1: the header must be {}", FILE_COLUMNS.join(",")),
        ));
    }
    let mut items = Vec::new();
    for (index, record) in reader.records().enumerate() {
        let line = index + 2;
        let bad = |what: &str| ApiError::invalid("file", format!("line {line}: {what}"));
        let record = record.map_err(|e| bad(&e.to_string()))?;
        let field = |n: usize| record.get(n).unwrap_or_default();
        if field(2) != batch_id {
            return Err(bad(&format!("batch_id {:?} is not batch {batch_id}", field(2))));
        }
        let amount_idr = field(3)
            .parse::<i64>()
            .map_err(|_| bad("amount_idr is not a whole number"))?;
        let status = match field(4) {
            "SETTLED" => "settled",
            "FAILED" => "failed",
            "REVERSED" => "reversed",
            other => return Err(bad(&format!("status {other:?} is not SETTLED, FAILED or REVERSED"))),
        };
        let attempt = field(7).parse::<i32>().map_err(|_| bad("attempt is not a number"))?;
        if field(0).is_empty() {
            return Err(bad("idempotency_key is empty"));
        }
        items.push(BankItem {
            key: field(0).to_owned(),
            attempt,
            amount_idr,
            status: status.to_owned(),
            reference: field(1).to_owned(),
            reason: field(5).to_owned(),
        });
    }
    Ok(items)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_statement_file_is_read_and_a_bad_line_is_named() {
        let good = b"idempotency_key,bank_reference,batch_id,amount_idr,status,reason,at,attempt\n\
                     PKH:2026-Q4:hh-1:base,SIMBANK-1,PKH:2026-Q4:1,750000,REVERSED,account dormant,2026-11-24T01:00:00Z,1\n";
        let items = parse_statement_file(good, "PKH:2026-Q4:1").unwrap_or_else(|e| panic!("{}", e.message));
        assert_eq!(
            (items[0].status.as_str(), items[0].reason.as_str()),
            ("reversed", "account dormant")
        );
        let wrong_batch = parse_statement_file(good, "PKH:2026-Q4:2").err().map(|e| e.message);
        assert_eq!(
            wrong_batch.as_deref(),
            Some("line 2: batch_id \"PKH:2026-Q4:1\" is not batch PKH:2026-Q4:2")
        );
        let header = parse_statement_file(b"key,amount\nx,1\n", "PKH:2026-Q4:1")
            .err()
            .map(|e| e.field);
        assert_eq!(header, Some(Some("file".to_owned())));
    }
}
