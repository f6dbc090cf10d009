//! The two gRPC services: `PayingBank` (what the disbursement service calls) and
//! `BankControl` (what tests and trainers call). Thin: requests are parsed into the
//! ledger's values, the ledger decides, and the delays it asks for are carried out here.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use slrt_proto::bank::v1 as pb;
use slrt_proto::bank::v1::bank_control_server::BankControl;
use slrt_proto::bank::v1::paying_bank_server::PayingBank;
use tonic::{Request, Response, Status};

use crate::export;
use crate::ledger::{
    Accepted, Booked, Epoch, FollowUp, Instruction, InvalidInput, Ledger, ReverseError, Statement, StatementFilter,
    Status as LedgerStatus, Total, Transfer, TransferError, parse_key,
};
use crate::scenario::{Kind, Rule, RuleSpec};
use crate::time::{now, parse_rfc3339, rfc3339};

/// The simulated bank: one ledger, shared by both services and the delayed work.
#[derive(Clone, Default)]
pub struct Bank {
    ledger: Arc<Mutex<Ledger>>,
}

impl Bank {
    fn ledger(&self) -> MutexGuard<'_, Ledger> {
        // The ledger is left consistent by every method (none panics half-way), so a
        // panic elsewhere while the lock was held is no reason to stop the bank.
        self.ledger.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Settles a pending transfer after `delay`, in a task of its own: the bank finishes
    /// the transfer whether or not the caller is still waiting for the answer.
    async fn settle_after(&self, key: String, epoch: Epoch, delay: Duration) -> Result<Transfer, Status> {
        let bank = self.clone();
        let settling = tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            let settled = bank.ledger().settle(&key, epoch, now());
            if let Some(transfer) = &settled {
                tracing::info!(
                    transfer.key = %key,
                    bank.reference = %transfer.reference,
                    amount_idr = transfer.instruction.amount_idr,
                    "slow transfer settled"
                );
            }
            settled
        });
        match settling.await {
            Ok(Some(transfer)) => Ok(transfer),
            Ok(None) => Err(Status::aborted(
                "the simulator was reset while the transfer was pending",
            )),
            Err(error) => {
                tracing::error!(%error, "settling a slow transfer failed");
                Err(Status::internal("the transfer could not be settled"))
            }
        }
    }

    fn reverse_after(&self, key: String, epoch: Epoch, delay: Duration, reason: String) {
        let bank = self.clone();
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            if let Some(transfer) = bank.ledger().reverse_later(&key, epoch, &reason, now()) {
                tracing::info!(
                    transfer.key = %key,
                    bank.reference = %transfer.reference,
                    amount_idr = transfer.instruction.amount_idr,
                    reason = %reason,
                    "transfer reversed as scheduled"
                );
            }
        });
    }
}

#[tonic::async_trait]
impl PayingBank for Bank {
    async fn transfer(&self, request: Request<pb::TransferRequest>) -> Result<Response<pb::TransferReceipt>, Status> {
        let request = request.into_inner();
        let instruction = pb_instruction(&request)?;
        let key = instruction.key.clone();
        let accepted = self
            .ledger()
            .transfer(instruction, now())
            .map_err(|error| match error {
                TransferError::KeyReused { .. } => {
                    tracing::warn!(transfer.key = %key, %error, "idempotency key reused with other content");
                    Status::already_exists(error.to_string())
                }
                TransferError::AttemptOutOfOrder { .. } | TransferError::EarlierAttemptStands { .. } => {
                    tracing::warn!(transfer.key = %key, %error, "follow-up attempt refused");
                    Status::failed_precondition(error.to_string())
                }
            })?;
        let (transfer, behaviour, follow_up, epoch) = match accepted {
            Accepted::Repeated(transfer) => {
                tracing::info!(
                    transfer.key = %key,
                    bank.reference = %transfer.reference,
                    status = transfer.status.name(),
                    "repeated transfer answered with its receipt"
                );
                return Ok(Response::new(receipt(&transfer)));
            }
            Accepted::New {
                transfer,
                behaviour,
                follow_up,
                epoch,
            } => (transfer, behaviour, follow_up, epoch),
        };
        tracing::info!(
            transfer.key = %key,
            batch.id = %transfer.instruction.batch_id,
            bank.reference = %transfer.reference,
            amount_idr = transfer.instruction.amount_idr,
            status = transfer.status.name(),
            scenario = behaviour.name(),
            "transfer received"
        );
        let answered = match follow_up {
            FollowUp::Answer => transfer,
            FollowUp::SettleThenAnswer(delay) => self.settle_after(key, epoch, delay).await?,
            FollowUp::AnswerAfter(delay) => {
                // The money has moved; only the answer is late. If the caller's deadline
                // is shorter, this future is dropped and the caller never hears of it.
                tokio::time::sleep(delay).await;
                self.ledger().get(&key).cloned().unwrap_or(transfer)
            }
            FollowUp::ReverseAfter { delay, reason } => {
                self.reverse_after(key, epoch, delay, reason);
                transfer
            }
        };
        Ok(Response::new(receipt(&answered)))
    }

    async fn get_transfer(
        &self,
        request: Request<pb::GetTransferRequest>,
    ) -> Result<Response<pb::TransferReceipt>, Status> {
        let key = parse_key(&request.into_inner().idempotency_key).map_err(invalid)?;
        match self.ledger().get(&key) {
            Some(transfer) => Ok(Response::new(receipt(transfer))),
            None => Err(Status::not_found(format!(
                "idempotency_key: the bank never received a transfer under {key}"
            ))),
        }
    }

    async fn get_statement(&self, request: Request<pb::StatementRequest>) -> Result<Response<pb::Statement>, Status> {
        let request = request.into_inner();
        let filter = StatementFilter {
            batch_id: non_empty(&request.batch_id),
            since: optional_time("since", &request.since)?,
            until: optional_time("until", &request.until)?,
        };
        if let (Some(since), Some(until)) = (filter.since, filter.until)
            && until <= since
        {
            return Err(Status::invalid_argument("until: must be after since"));
        }
        let statement = self.ledger().statement(&filter);
        Ok(Response::new(pb_statement(&statement)))
    }
}

#[tonic::async_trait]
impl BankControl for Bank {
    async fn set_scenario(
        &self,
        request: Request<pb::ScenarioRequest>,
    ) -> Result<Response<pb::ScenarioResponse>, Status> {
        let rules = request
            .into_inner()
            .rules
            .iter()
            .enumerate()
            .map(|(index, rule)| {
                Rule::parse(&RuleSpec {
                    beneficiary_id: &rule.beneficiary_id,
                    key_prefix: &rule.key_prefix,
                    kind: kind(rule.behaviour),
                    delay_ms: rule.delay_ms,
                    reason: &rule.reason,
                    times: rule.times,
                })
                .map_err(|error| Status::invalid_argument(format!("rules[{index}].{}: {}", error.field, error.message)))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let count = self.ledger().set_scenario(rules);
        tracing::info!(rules = count, "scenario set");
        Ok(Response::new(pb::ScenarioResponse {
            rules: u32::try_from(count).unwrap_or(u32::MAX),
        }))
    }

    async fn reverse(&self, request: Request<pb::ReverseRequest>) -> Result<Response<pb::TransferReceipt>, Status> {
        let request = request.into_inner();
        let key = parse_key(&request.idempotency_key).map_err(invalid)?;
        let reason = request.reason.trim();
        if reason.is_empty() {
            return Err(Status::invalid_argument("reason: is required"));
        }
        let transfer = self
            .ledger()
            .reverse(&key, reason, now())
            .map_err(|error| match error {
                ReverseError::NotFound(_) => Status::not_found(error.to_string()),
                ReverseError::NotSettled { .. } => Status::failed_precondition(error.to_string()),
            })?;
        tracing::info!(
            transfer.key = %key,
            bank.reference = %transfer.reference,
            amount_idr = transfer.instruction.amount_idr,
            reason = %reason,
            "transfer reversed on demand"
        );
        Ok(Response::new(receipt(&transfer)))
    }

    async fn reset(&self, _request: Request<pb::ResetRequest>) -> Result<Response<pb::ResetResponse>, Status> {
        self.ledger().reset();
        tracing::info!("simulator reset");
        Ok(Response::new(pb::ResetResponse {}))
    }

    async fn export_statement(
        &self,
        request: Request<pb::ExportRequest>,
    ) -> Result<Response<pb::ExportResponse>, Status> {
        let request = request.into_inner();
        let path = std::path::PathBuf::from(&request.path);
        if request.path.is_empty() || !path.is_absolute() {
            return Err(Status::invalid_argument("path: must be an absolute path"));
        }
        let statement = self.ledger().statement(&StatementFilter {
            batch_id: non_empty(&request.batch_id),
            ..StatementFilter::default()
        });
        let rows = statement.items.len() as u64;
        let totals = pb_totals(&statement.totals);
        let written = tokio::task::spawn_blocking({
            let path = path.clone();
            move || export::write_csv(&path, &statement)
        })
        .await
        .map_err(|error| {
            tracing::error!(%error, "writing the statement file failed");
            Status::internal("the statement file could not be written")
        })?;
        written
            .map_err(|error| Status::failed_precondition(format!("path: cannot write {}: {error}", path.display())))?;
        tracing::info!(path = %path.display(), rows, "statement exported");
        Ok(Response::new(pb::ExportResponse {
            path: request.path,
            rows,
            totals,
        }))
    }
}

fn pb_instruction(request: &pb::TransferRequest) -> Result<Instruction, Status> {
    Instruction::parse(
        &request.idempotency_key,
        &request.batch_id,
        &request.beneficiary_id,
        &request.beneficiary_name,
        &request.account,
        request.amount_idr,
        request.attempt,
    )
    .map_err(invalid)
}

fn invalid(error: InvalidInput) -> Status {
    Status::invalid_argument(error.to_string())
}

fn non_empty(value: &str) -> Option<String> {
    (!value.is_empty()).then(|| value.to_string())
}

fn optional_time(field: &str, value: &str) -> Result<Option<chrono::DateTime<chrono::Utc>>, Status> {
    if value.is_empty() {
        return Ok(None);
    }
    parse_rfc3339(value)
        .map(Some)
        .map_err(|error| Status::invalid_argument(format!("{field}: not an RFC 3339 time ({error}): {value}")))
}

fn kind(behaviour: i32) -> Option<Kind> {
    match pb::Behaviour::try_from(behaviour).ok()? {
        pb::Behaviour::Unspecified => None,
        pb::Behaviour::Succeed => Some(Kind::Succeed),
        pb::Behaviour::Fail => Some(Kind::Fail),
        pb::Behaviour::Slow => Some(Kind::Slow),
        pb::Behaviour::TimeoutAfterSuccess => Some(Kind::TimeoutAfterSuccess),
        pb::Behaviour::ReverseLater => Some(Kind::ReverseLater),
    }
}

fn receipt(transfer: &Transfer) -> pb::TransferReceipt {
    let mut receipt = pb::TransferReceipt {
        idempotency_key: transfer.instruction.key.clone(),
        bank_reference: transfer.reference.to_string(),
        amount_idr: transfer.instruction.amount_idr,
        batch_id: transfer.instruction.batch_id.clone(),
        received_at: rfc3339(transfer.received_at),
        attempt: i32::try_from(transfer.instruction.attempt).unwrap_or(i32::MAX),
        ..pb::TransferReceipt::default()
    };
    let status = match &transfer.status {
        LedgerStatus::Pending => pb::TransferStatus::Pending,
        LedgerStatus::Settled { at } => {
            receipt.settled_at = rfc3339(*at);
            pb::TransferStatus::Settled
        }
        LedgerStatus::Failed { reason, at } => {
            receipt.failure_reason = reason.clone();
            receipt.failed_at = rfc3339(*at);
            pb::TransferStatus::Failed
        }
        LedgerStatus::Reversed { settled_at, reason, at } => {
            receipt.settled_at = rfc3339(*settled_at);
            receipt.reversal_reason = reason.clone();
            receipt.reversed_at = rfc3339(*at);
            pb::TransferStatus::Reversed
        }
    };
    receipt.status = status.into();
    receipt
}

fn pb_status(status: Booked) -> pb::TransferStatus {
    match status {
        Booked::Settled => pb::TransferStatus::Settled,
        Booked::Failed => pb::TransferStatus::Failed,
        Booked::Reversed => pb::TransferStatus::Reversed,
    }
}

fn pb_totals(totals: &[(Booked, Total)]) -> Vec<pb::StatusTotal> {
    totals
        .iter()
        .map(|(status, total)| pb::StatusTotal {
            status: pb_status(*status).into(),
            count: total.count,
            amount_idr: total.amount_idr,
        })
        .collect()
}

fn pb_statement(statement: &Statement) -> pb::Statement {
    pb::Statement {
        items: statement
            .items
            .iter()
            .map(|item| pb::StatementItem {
                idempotency_key: item.key.clone(),
                bank_reference: item.reference.to_string(),
                batch_id: item.batch_id.clone(),
                amount_idr: item.amount_idr,
                status: pb_status(item.status).into(),
                reason: item.reason.clone(),
                at: rfc3339(item.at),
                attempt: i32::try_from(item.attempt).unwrap_or(i32::MAX),
            })
            .collect(),
        totals: pb_totals(&statement.totals),
    }
}
