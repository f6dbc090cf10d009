//! Sending released payments to the paying bank, and learning their outcome.
//!
//! For each released payment, in this order:
//! 1. mark it `sending` and record `PaymentSent` in a transaction of its own, committed
//!    before the bank is called: whatever happens next, the payment is known to be in flight;
//! 2. call the bank's `Transfer` with the payment key as the idempotency key;
//! 3. record the outcome (`PaymentOutcomeRecorded`): settled or failed; a timeout, a cut
//!    connection or a refusal the service cannot explain is `unknown`.
//!
//! A payment left `sending` (the service stopped between 1 and 3) or `unknown` is resolved by
//! asking the bank about its key (`GetTransfer`): the bank's answer is recorded; only when the
//! bank never received it is it sent again, under the same key and attempt, which the bank
//! treats as the same transfer. A payment is never sent under a new key. Each payment is
//! worked under a row lock (`SKIP LOCKED`), so replicas never work on the same one.

use std::time::Duration;

use chrono::Utc;
use futures::StreamExt;
use slrt_eventstore::{ExpectedVersion, NewEvent};
use slrt_proto::bank::v1 as bank;
use slrt_proto::bank::v1::paying_bank_client::PayingBankClient;
use slrt_proto::disbursement::v1 as proto;
use slrt_runtime::grpc::PeerChannel;
use sqlx::PgConnection;
use tokio::sync::watch;
use uuid::Uuid;

use super::Disbursement;

pub type BankClient = PayingBankClient<PeerChannel>;

/// Payments sent per group, and bank calls in flight at once within a group.
const SEND_GROUP: i64 = 500;
const SEND_GROUP_IN_FLIGHT: usize = 16;

/// The largest answer taken from the bank.
const STATEMENT_LIMIT: usize = 512 * 1024 * 1024;
/// The longest any call to the bank may take (a statement of a whole period).
pub(crate) const STATEMENT_DEADLINE: std::time::Duration = std::time::Duration::from_secs(900);

/// A client for the paying bank's gRPC API; it connects on first use.
pub fn bank_client(url: &str, tls: &slrt_settings::GrpcTls) -> anyhow::Result<BankClient> {
    // A statement of a large batch (a million transfers is ~100 MB) is one answer, and takes
    // minutes: the channel allows it, and every call sets its own, shorter deadline (a
    // transfer's is `SLRT_BANK_TIMEOUT_MS`).
    let channel = slrt_runtime::grpc::peer_channel_with_deadline(url, tls, STATEMENT_DEADLINE)?;
    Ok(PayingBankClient::new(channel).max_decoding_message_size(STATEMENT_LIMIT))
}

/// One released payment on the sender's list.
#[derive(Debug, Clone, sqlx::FromRow)]
struct Outgoing {
    payment_key: String,
    entitlement_id: Uuid,
    case_id: Uuid,
    beneficiary_id: String,
    amount_idr: i64,
    batch_id: String,
    bank_status: Option<String>,
    bank_attempt: i32,
    beneficiary_name: String,
}

/// What the bank said, as the service records it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Outcome {
    status: &'static str,
    reference: String,
    reason: String,
}

impl Outcome {
    fn unknown(reason: String) -> Self {
        Self {
            status: "unknown",
            reference: String::new(),
            reason,
        }
    }

    fn of(receipt: &bank::TransferReceipt) -> Option<Self> {
        let (status, reason) = match bank::TransferStatus::try_from(receipt.status).ok()? {
            bank::TransferStatus::Settled => ("settled", String::new()),
            bank::TransferStatus::Failed => ("failed", receipt.failure_reason.clone()),
            bank::TransferStatus::Reversed => ("reversed", receipt.reversal_reason.clone()),
            // Still moving: ask again on the next pass.
            bank::TransferStatus::Pending | bank::TransferStatus::Unspecified => return None,
        };
        Some(Self {
            status,
            reference: receipt.bank_reference.clone(),
            reason,
        })
    }
}

/// What one pass of the sender did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SendPass {
    pub sent: usize,
    pub resolved: usize,
    pub unknown: usize,
}

impl Disbursement {
    /// Runs the sender until shutdown.
    pub async fn run_sender(self, every: Duration, stopped: watch::Receiver<bool>) {
        loop {
            match self.send_released().await {
                Ok(pass) if pass.sent + pass.resolved > 0 => {
                    tracing::info!(
                        sent = pass.sent,
                        resolved = pass.resolved,
                        unknown = pass.unknown,
                        "payments sent"
                    );
                }
                Ok(_) => {}
                Err(error) => tracing::warn!(error = %error, "payments could not be sent; retrying"),
            }
            tokio::select! {
                _ = slrt_runtime::shutdown::stopped(stopped.clone()) => return,
                _ = tokio::time::sleep(every) => {}
            }
        }
    }

    /// Works through every released payment that is not settled, failed or reversed yet.
    pub async fn send_released(&self) -> Result<SendPass, sqlx::Error> {
        self.send_released_shard(0, 1).await
    }

    /// Works through the released payments of one shard of `shards` (by a hash of the key):
    /// several senders, each on its own shard, never pick the same payment, so one is never
    /// resolved by one sender while another is sending it.
    pub async fn send_released_shard(&self, shard: u32, shards: u32) -> Result<SendPass, sqlx::Error> {
        let shards = i32::try_from(shards.max(1)).unwrap_or(i32::MAX);
        let shard = i32::try_from(shard).unwrap_or(0) % shards;
        let mut pass = SendPass::default();
        let started = Utc::now();
        // Payments never sent go in groups; what is left (in flight after a crash, or of
        // unknown outcome) is worked one by one below.
        loop {
            let group = self.send_group(shard, shards).await?;
            pass.sent += group.sent;
            pass.unknown += group.unknown;
            if group.sent == 0 {
                break;
            }
        }
        let mut after = String::new();
        loop {
            let mut tx = self.pool.begin().await?;
            let next: Option<Outgoing> = sqlx::query_as(
                "SELECT p.payment_key, p.entitlement_id, p.case_id, p.beneficiary_id, p.amount_idr, p.batch_id,
                        p.bank_status, p.bank_attempt, COALESCE(e.payee_name, e.beneficiary_name) AS beneficiary_name
                 FROM payment_instructions p JOIN entitlements e USING (entitlement_id)
                 WHERE p.release_status = 'released' AND (p.bank_status IS NULL OR p.bank_status IN ('sending', 'unknown'))
                   AND p.status = 'instructed'
                   AND p.payment_key > $1
                   AND ($2 = 1 OR mod(abs(hashtext(p.payment_key)), $2) = $3)
                   -- Sent or asked about in this pass already: the next pass asks again.
                   AND (p.bank_updated_at IS NULL OR p.bank_updated_at < $4)
                 ORDER BY p.payment_key LIMIT 1
                 FOR UPDATE OF p SKIP LOCKED",
            )
            .bind(&after)
            .bind(shards)
            .bind(shard)
            .bind(started)
            .fetch_optional(&mut *tx)
            .await?;
            let Some(payment) = next else { return Ok(pass) };
            after.clone_from(&payment.payment_key);
            // Which attempt this pass works on: the next one for a payment not sent yet, the
            // one in flight otherwise.
            let (outcome, attempt) = match payment.bank_status.as_deref() {
                None => {
                    // Step 1 commits on its own, then the row is worked again under a new lock.
                    let attempt = payment.bank_attempt.max(0) + 1;
                    self.mark_sending(&mut tx, &payment, attempt).await?;
                    tx.commit().await?;
                    tx = self.pool.begin().await?;
                    let locked: Option<String> = sqlx::query_scalar(
                        "SELECT bank_status FROM payment_instructions WHERE payment_key = $1 FOR UPDATE SKIP LOCKED",
                    )
                    .bind(&payment.payment_key)
                    .fetch_optional(&mut *tx)
                    .await?;
                    if locked.as_deref() != Some("sending") {
                        continue;
                    }
                    pass.sent += 1;
                    (self.transfer(&payment, attempt).await, attempt)
                }
                Some(_) => {
                    let resolved = self.resolve(&payment).await;
                    if resolved.is_some() {
                        pass.resolved += 1;
                    }
                    (resolved, payment.bank_attempt)
                }
            };
            let Some(outcome) = outcome else { continue };
            if outcome.status == "unknown" {
                pass.unknown += 1;
                // An unknown outcome already recorded is not recorded again on every pass.
                if payment.bank_status.as_deref() == Some("unknown") {
                    continue;
                }
            }
            record_bank_outcome(
                &self.store,
                &mut tx,
                &BankOutcome {
                    payment_key: &payment.payment_key,
                    entitlement_id: payment.entitlement_id,
                    case_id: payment.case_id,
                    attempt,
                    status: outcome.status,
                    reference: &outcome.reference,
                    reason: &outcome.reason,
                },
            )
            .await?;
            tx.commit().await?;
        }
    }

    /// Sends up to SEND_GROUP payments never sent before, in the same three steps as one:
    /// all marked `sending` in one committed transaction, then locked again and sent to the
    /// bank (SEND_GROUP_IN_FLIGHT calls at a time) while the lock is held, and their outcomes
    /// recorded in a second transaction. Two commits for the group instead of two per
    /// payment: a million payments would otherwise wait on the disk two million times.
    async fn send_group(&self, shard: i32, shards: i32) -> Result<SendPass, sqlx::Error> {
        let mut pass = SendPass::default();
        let mut tx = self.pool.begin().await?;
        let group: Vec<Outgoing> = sqlx::query_as(
            "SELECT p.payment_key, p.entitlement_id, p.case_id, p.beneficiary_id, p.amount_idr, p.batch_id,
                    p.bank_status, p.bank_attempt, COALESCE(e.payee_name, e.beneficiary_name) AS beneficiary_name
             FROM payment_instructions p JOIN entitlements e USING (entitlement_id)
             WHERE p.release_status = 'released' AND p.bank_status IS NULL AND p.status = 'instructed'
               AND ($1 = 1 OR mod(abs(hashtext(p.payment_key)), $1) = $2)
             ORDER BY p.payment_key LIMIT $3
             FOR UPDATE OF p SKIP LOCKED",
        )
        .bind(shards)
        .bind(shard)
        .bind(SEND_GROUP)
        .fetch_all(&mut *tx)
        .await?;
        if group.is_empty() {
            return Ok(pass);
        }
        let mut attempts = Vec::with_capacity(group.len());
        for payment in &group {
            let attempt = payment.bank_attempt.max(0) + 1;
            self.mark_sending(&mut tx, payment, attempt).await?;
            attempts.push(attempt);
        }
        tx.commit().await?;

        let mut tx = self.pool.begin().await?;
        let keys: Vec<&str> = group.iter().map(|payment| payment.payment_key.as_str()).collect();
        let locked: Vec<String> = sqlx::query_scalar(
            "SELECT payment_key FROM payment_instructions
             WHERE payment_key = ANY($1) AND bank_status = 'sending' FOR UPDATE SKIP LOCKED",
        )
        .bind(&keys)
        .fetch_all(&mut *tx)
        .await?;
        let locked: std::collections::HashSet<String> = locked.into_iter().collect();
        // Another sender took a row between the two transactions: it resolves it.
        let to_send: Vec<(Outgoing, i32)> = group
            .into_iter()
            .zip(attempts)
            .filter(|(payment, _)| locked.contains(&payment.payment_key))
            .collect();
        // Owned, so that the calls in flight borrow nothing across the await.
        let outcomes: Vec<(Outgoing, i32, Option<Outcome>)> = futures::stream::iter(to_send)
            .map(|(payment, attempt)| {
                let sender = self.clone();
                async move {
                    let outcome = sender.transfer(&payment, attempt).await;
                    (payment, attempt, outcome)
                }
            })
            .buffer_unordered(SEND_GROUP_IN_FLIGHT)
            .collect()
            .await;
        for (payment, attempt, outcome) in outcomes {
            pass.sent += 1;
            // Still moving at the bank: left `sending`, resolved by asking about the key.
            let Some(outcome) = outcome else { continue };
            if outcome.status == "unknown" {
                pass.unknown += 1;
            }
            record_bank_outcome(
                &self.store,
                &mut tx,
                &BankOutcome {
                    payment_key: &payment.payment_key,
                    entitlement_id: payment.entitlement_id,
                    case_id: payment.case_id,
                    attempt,
                    status: outcome.status,
                    reference: &outcome.reference,
                    reason: &outcome.reason,
                },
            )
            .await?;
        }
        tx.commit().await?;
        Ok(pass)
    }

    async fn mark_sending(&self, conn: &mut PgConnection, payment: &Outgoing, attempt: i32) -> Result<(), sqlx::Error> {
        let event = NewEvent::new(&proto::PaymentSent {
            payment_key: payment.payment_key.clone(),
            batch_id: payment.batch_id.clone(),
            attempt,
            entitlement_id: payment.entitlement_id.to_string(),
            case_id: payment.case_id.to_string(),
            payee_name: payment.beneficiary_name.clone(),
        })
        .for_case(payment.case_id);
        self.store
            .append(
                &mut *conn,
                &format!("entitlement-{}", payment.entitlement_id),
                ExpectedVersion::Any,
                vec![event],
            )
            .await
            .map_err(store_error)?;
        sqlx::query(
            "UPDATE payment_instructions SET bank_status = 'sending', bank_attempt = $2, bank_updated_at = $3,
                    sent_at = $3, payee_name = $4
             WHERE payment_key = $1 AND bank_status IS NULL",
        )
        .bind(&payment.payment_key)
        .bind(attempt)
        .bind(Utc::now())
        .bind(&payment.beneficiary_name)
        .execute(&mut *conn)
        .await?;
        Ok(())
    }

    /// Calls the bank. Anything but a clear answer is an unknown outcome.
    async fn transfer(&self, payment: &Outgoing, attempt: i32) -> Option<Outcome> {
        let mut request = tonic::Request::new(bank::TransferRequest {
            idempotency_key: payment.payment_key.clone(),
            batch_id: payment.batch_id.clone(),
            beneficiary_id: payment.beneficiary_id.clone(),
            beneficiary_name: payment.beneficiary_name.clone(),
            account: String::new(),
            amount_idr: payment.amount_idr,
            attempt,
        });
        request.set_timeout(self.bank_timeout);
        match self.bank.clone().transfer(request).await {
            Ok(receipt) => Outcome::of(&receipt.into_inner()),
            // A client-side deadline shows as CANCELLED ("Timeout expired"), a server-side one
            // as DEADLINE_EXCEEDED; a cut connection as UNAVAILABLE or UNKNOWN. The bank may
            // have moved the money in every one of these cases.
            Err(status) => {
                tracing::warn!(payment.key = %payment.payment_key, code = ?status.code(), "bank outcome unknown");
                Some(Outcome::unknown(format!(
                    "the bank did not answer clearly ({:?}: {})",
                    status.code(),
                    status.message()
                )))
            }
        }
    }

    /// Asks the bank what became of a payment in flight or of unknown outcome; sends it
    /// again, same key and attempt, only when the bank never received it.
    async fn resolve(&self, payment: &Outgoing) -> Option<Outcome> {
        let mut request = tonic::Request::new(bank::GetTransferRequest {
            idempotency_key: payment.payment_key.clone(),
        });
        request.set_timeout(self.bank_timeout);
        match self.bank.clone().get_transfer(request).await {
            Ok(receipt) => {
                let receipt = receipt.into_inner();
                // The bank's latest attempt under the key is the one the service sent.
                if receipt.attempt != payment.bank_attempt {
                    return Some(Outcome::unknown(format!(
                        "the bank holds attempt {} under this key, the service sent attempt {}",
                        receipt.attempt, payment.bank_attempt
                    )));
                }
                Outcome::of(&receipt)
            }
            Err(status) if status.code() == tonic::Code::NotFound => self.transfer(payment, payment.bank_attempt).await,
            Err(_) => None,
        }
    }
}

/// A payment's outcome at the bank, as the sender or a reconciliation learnt it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BankOutcome<'a> {
    pub payment_key: &'a str,
    pub entitlement_id: Uuid,
    pub case_id: Uuid,
    pub attempt: i32,
    /// `settled`, `failed`, `reversed` or `unknown`.
    pub status: &'a str,
    pub reference: &'a str,
    pub reason: &'a str,
}

/// Records a payment's outcome at the bank: `PaymentOutcomeRecorded` on its entitlement's
/// stream and the payment's bank columns, in `conn`'s transaction.
pub(crate) async fn record_bank_outcome(
    store: &slrt_eventstore::EventStore,
    conn: &mut PgConnection,
    outcome: &BankOutcome<'_>,
) -> Result<(), sqlx::Error> {
    let event = NewEvent::new(&proto::PaymentOutcomeRecorded {
        payment_key: outcome.payment_key.to_string(),
        attempt: outcome.attempt,
        outcome: outcome.status.to_string(),
        bank_reference: outcome.reference.to_string(),
        reason: outcome.reason.to_string(),
        entitlement_id: outcome.entitlement_id.to_string(),
        case_id: outcome.case_id.to_string(),
    })
    .for_case(outcome.case_id);
    store
        .append(
            &mut *conn,
            &format!("entitlement-{}", outcome.entitlement_id),
            ExpectedVersion::Any,
            vec![event],
        )
        .await
        .map_err(store_error)?;
    sqlx::query(
        "UPDATE payment_instructions
         SET bank_status = $2, bank_reference = NULLIF($3, ''), bank_reason = NULLIF($4, ''), bank_updated_at = $5,
             settled_at = CASE WHEN $2 = 'settled' THEN COALESCE(settled_at, $5) ELSE settled_at END
         WHERE payment_key = $1",
    )
    .bind(outcome.payment_key)
    .bind(outcome.status)
    .bind(outcome.reference)
    .bind(outcome.reason)
    .bind(Utc::now())
    .execute(&mut *conn)
    .await?;
    tracing::info!(
        payment.key = %outcome.payment_key,
        attempt = outcome.attempt,
        outcome = outcome.status,
        bank.reference = %outcome.reference,
        "payment outcome recorded"
    );
    Ok(())
}

fn store_error(error: slrt_eventstore::AppendError) -> sqlx::Error {
    match error {
        slrt_eventstore::AppendError::Database(error) => error,
        other => sqlx::Error::Protocol(other.to_string()),
    }
}
