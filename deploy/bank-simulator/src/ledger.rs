//! The bank's books: transfers by idempotency key and attempt, and the statement read from
//! them. A key holds a first attempt and, only after that one failed or was reversed, a
//! follow-up: never two transfers standing under one key.
//!
//! Pure and synchronous: the caller passes the time, and carries out the delays that the
//! ledger asks for ([`FollowUp`]). Work that runs after a delay names the ledger's
//! [`Epoch`], so that a [`Ledger::reset`] in between is not undone by it.

use std::collections::HashMap;
use std::fmt;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::scenario::{Behaviour, Rule, Scenario};

const MAX_KEY_CHARS: usize = 200;

/// A bad field in a request, named.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct InvalidInput {
    pub field: &'static str,
    pub message: String,
}

impl InvalidInput {
    fn new(field: &'static str, message: impl Into<String>) -> Self {
        Self {
            field,
            message: message.into(),
        }
    }
}

/// One credit transfer as the disbursement service asked for it.
#[derive(Clone, PartialEq, Eq)]
pub struct Instruction {
    pub key: String,
    pub batch_id: String,
    pub beneficiary_id: String,
    pub beneficiary_name: String,
    /// Empty: the account the bank holds for the beneficiary.
    pub account: String,
    pub amount_idr: i64,
    /// 1 for the first transfer under the key.
    pub attempt: u32,
}

// The name and account are personal data; whatever prints an instruction does not show them.
impl fmt::Debug for Instruction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Instruction")
            .field("key", &self.key)
            .field("batch_id", &self.batch_id)
            .field("amount_idr", &self.amount_idr)
            .field("attempt", &self.attempt)
            .finish_non_exhaustive()
    }
}

impl Instruction {
    pub fn parse(
        key: &str,
        batch_id: &str,
        beneficiary_id: &str,
        beneficiary_name: &str,
        account: &str,
        amount_idr: i64,
        attempt: i32,
    ) -> Result<Self, InvalidInput> {
        let key = parse_key(key)?;
        let batch_id = required("batch_id", batch_id)?;
        let beneficiary_id = required("beneficiary_id", beneficiary_id)?;
        let beneficiary_name = required("beneficiary_name", beneficiary_name)?;
        if amount_idr <= 0 {
            return Err(InvalidInput::new(
                "amount_idr",
                format!("must be more than 0 (got {amount_idr})"),
            ));
        }
        let attempt = match attempt {
            0 => 1,
            n => u32::try_from(n).map_err(|_| InvalidInput::new("attempt", format!("must be 1 or more (got {n})")))?,
        };
        Ok(Self {
            key,
            batch_id,
            beneficiary_id,
            beneficiary_name,
            account: account.trim().to_string(),
            amount_idr,
            attempt,
        })
    }

    /// The first field in which `other` differs from this instruction, for the conflict
    /// message. Amount first: it is the difference that matters most.
    fn first_difference(&self, other: &Self) -> Option<(&'static str, String)> {
        if self.amount_idr != other.amount_idr {
            return Some((
                "amount_idr",
                format!("recorded {}, this request {}", self.amount_idr, other.amount_idr),
            ));
        }
        if self.beneficiary_id != other.beneficiary_id {
            return Some(("beneficiary_id", "differs from the one recorded".into()));
        }
        if self.account != other.account {
            return Some(("account", "differs from the one recorded".into()));
        }
        if self.beneficiary_name != other.beneficiary_name {
            return Some(("beneficiary_name", "differs from the one recorded".into()));
        }
        if self.batch_id != other.batch_id {
            return Some((
                "batch_id",
                format!("recorded {}, this request {}", self.batch_id, other.batch_id),
            ));
        }
        None
    }
}

/// An idempotency key is also how an unknown outcome is looked up later: invisible
/// differences would make two keys for one payment.
pub fn parse_key(key: &str) -> Result<String, InvalidInput> {
    const FIELD: &str = "idempotency_key";
    if key.is_empty() {
        return Err(InvalidInput::new(FIELD, "is required"));
    }
    if key.chars().count() > MAX_KEY_CHARS {
        return Err(InvalidInput::new(
            FIELD,
            format!("must be at most {MAX_KEY_CHARS} characters"),
        ));
    }
    if key.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(InvalidInput::new(
            FIELD,
            "must not contain spaces or control characters",
        ));
    }
    Ok(key.to_string())
}

fn required(field: &'static str, value: &str) -> Result<String, InvalidInput> {
    let value = value.trim();
    if value.is_empty() {
        return Err(InvalidInput::new(field, "is required"));
    }
    Ok(value.to_string())
}

/// The bank's reference for a transfer: a counter that only goes up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BankReference(u64);

impl fmt::Display for BankReference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SIMBANK-{:012}", self.0)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    Pending,
    Settled {
        at: DateTime<Utc>,
    },
    Failed {
        reason: String,
        at: DateTime<Utc>,
    },
    Reversed {
        settled_at: DateTime<Utc>,
        reason: String,
        at: DateTime<Utc>,
    },
}

impl Status {
    pub fn name(&self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Settled { .. } => "settled",
            Self::Failed { .. } => "failed",
            Self::Reversed { .. } => "reversed",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transfer {
    pub instruction: Instruction,
    pub reference: BankReference,
    pub received_at: DateTime<Utc>,
    pub status: Status,
}

/// Generation of the ledger's contents; [`Ledger::reset`] starts a new one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Epoch(u64);

/// What the edge does after recording a new transfer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FollowUp {
    /// Answer the receipt now.
    Answer,
    /// The transfer is pending: settle it ([`Ledger::settle`]) after the delay, then answer.
    SettleThenAnswer(Duration),
    /// The transfer is settled: hold the answer for the delay.
    AnswerAfter(Duration),
    /// Answer now; reverse ([`Ledger::reverse_later`]) after the delay.
    ReverseAfter { delay: Duration, reason: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Accepted {
    /// The key was known and the content the same: the transfer as it stands, nothing new.
    Repeated(Transfer),
    New {
        transfer: Transfer,
        behaviour: Behaviour,
        follow_up: FollowUp,
        epoch: Epoch,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransferError {
    #[error("{field}: idempotency key {key} was already used for another transfer: {detail}")]
    KeyReused {
        key: String,
        field: &'static str,
        detail: String,
    },
    #[error("attempt: the next attempt under {key} is {expected}, not {found}")]
    AttemptOutOfOrder { key: String, expected: u32, found: u32 },
    #[error(
        "attempt: attempt {standing} under {key} is {status}; a follow-up is taken only after a failed or \
         reversed attempt, so that one key never pays twice"
    )]
    EarlierAttemptStands {
        key: String,
        standing: u32,
        status: &'static str,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReverseError {
    #[error("idempotency_key: the bank has no transfer under {0}")]
    NotFound(String),
    #[error("idempotency_key: the transfer under {key} is {status}; only a settled transfer can be reversed")]
    NotSettled { key: String, status: &'static str },
}

/// A status that appears in statements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Booked {
    Settled,
    Failed,
    Reversed,
}

impl Booked {
    pub const ALL: [Self; 3] = [Self::Settled, Self::Failed, Self::Reversed];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Settled => "SETTLED",
            Self::Failed => "FAILED",
            Self::Reversed => "REVERSED",
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatementFilter {
    pub batch_id: Option<String>,
    /// Included.
    pub since: Option<DateTime<Utc>>,
    /// Excluded.
    pub until: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementItem {
    pub key: String,
    pub reference: BankReference,
    pub batch_id: String,
    pub amount_idr: i64,
    pub status: Booked,
    /// Empty when settled.
    pub reason: String,
    pub at: DateTime<Utc>,
    pub attempt: u32,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Total {
    pub count: u64,
    pub amount_idr: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    pub items: Vec<StatementItem>,
    /// One per [`Booked::ALL`], in that order.
    pub totals: Vec<(Booked, Total)>,
}

#[derive(Debug)]
pub struct Ledger {
    /// Every attempt under each key, first first.
    transfers: HashMap<String, Vec<Transfer>>,
    last_reference: u64,
    scenario: Scenario,
    epoch: Epoch,
}

impl Default for Ledger {
    fn default() -> Self {
        Self::new()
    }
}

impl Ledger {
    pub fn new() -> Self {
        Self {
            transfers: HashMap::new(),
            last_reference: 0,
            scenario: Scenario::default(),
            epoch: Epoch(0),
        }
    }

    /// Records a new transfer under its key and attempt as the scenario says, or answers
    /// the one recorded under them. A follow-up attempt is taken only when the attempt
    /// before it failed or was reversed: never two transfers standing under one key.
    pub fn transfer(&mut self, instruction: Instruction, now: DateTime<Utc>) -> Result<Accepted, TransferError> {
        let attempts = self
            .transfers
            .get(&instruction.key)
            .map(Vec::as_slice)
            .unwrap_or_default();
        if let Some(existing) = attempts
            .iter()
            .find(|transfer| transfer.instruction.attempt == instruction.attempt)
        {
            return match existing.instruction.first_difference(&instruction) {
                None => Ok(Accepted::Repeated(existing.clone())),
                Some((field, detail)) => Err(TransferError::KeyReused {
                    key: instruction.key,
                    field,
                    detail,
                }),
            };
        }
        let latest = attempts.last();
        let expected = latest.map_or(1, |transfer| transfer.instruction.attempt + 1);
        if instruction.attempt != expected {
            return Err(TransferError::AttemptOutOfOrder {
                key: instruction.key,
                expected,
                found: instruction.attempt,
            });
        }
        if let Some(latest) = latest
            && !matches!(latest.status, Status::Failed { .. } | Status::Reversed { .. })
        {
            return Err(TransferError::EarlierAttemptStands {
                key: instruction.key,
                standing: latest.instruction.attempt,
                status: latest.status.name(),
            });
        }
        let behaviour = self.scenario.next_for(&instruction.key, &instruction.beneficiary_id);
        let (status, follow_up) = match &behaviour {
            Behaviour::Succeed => (Status::Settled { at: now }, FollowUp::Answer),
            Behaviour::Fail { reason } => (
                Status::Failed {
                    reason: reason.clone(),
                    at: now,
                },
                FollowUp::Answer,
            ),
            Behaviour::Slow { delay } => (Status::Pending, FollowUp::SettleThenAnswer(*delay)),
            Behaviour::TimeoutAfterSuccess { delay } => (Status::Settled { at: now }, FollowUp::AnswerAfter(*delay)),
            Behaviour::ReverseLater { delay, reason } => (
                Status::Settled { at: now },
                FollowUp::ReverseAfter {
                    delay: *delay,
                    reason: reason.clone(),
                },
            ),
        };
        self.last_reference += 1;
        let transfer = Transfer {
            reference: BankReference(self.last_reference),
            received_at: now,
            status,
            instruction,
        };
        self.transfers
            .entry(transfer.instruction.key.clone())
            .or_default()
            .push(transfer.clone());
        Ok(Accepted::New {
            transfer,
            behaviour,
            follow_up,
            epoch: self.epoch,
        })
    }

    /// The latest attempt under `key`.
    pub fn get(&self, key: &str) -> Option<&Transfer> {
        self.transfers.get(key).and_then(|attempts| attempts.last())
    }

    // Only the latest attempt can be pending or settled: a follow-up is taken only after
    // the attempt before it failed or was reversed.
    fn latest_mut(&mut self, key: &str) -> Option<&mut Transfer> {
        self.transfers.get_mut(key).and_then(|attempts| attempts.last_mut())
    }

    /// Settles a pending transfer. `None` when the ledger was reset since `epoch`.
    pub fn settle(&mut self, key: &str, epoch: Epoch, now: DateTime<Utc>) -> Option<Transfer> {
        if epoch != self.epoch {
            return None;
        }
        let transfer = self.latest_mut(key)?;
        if transfer.status == Status::Pending {
            transfer.status = Status::Settled { at: now };
        }
        Some(transfer.clone())
    }

    /// Reverses a settled transfer now. Reversing a reversed transfer answers it as it is.
    pub fn reverse(&mut self, key: &str, reason: &str, now: DateTime<Utc>) -> Result<Transfer, ReverseError> {
        let transfer = self
            .latest_mut(key)
            .ok_or_else(|| ReverseError::NotFound(key.to_string()))?;
        match &transfer.status {
            Status::Settled { at } => {
                transfer.status = Status::Reversed {
                    settled_at: *at,
                    reason: reason.to_string(),
                    at: now,
                };
                Ok(transfer.clone())
            }
            Status::Reversed { .. } => Ok(transfer.clone()),
            other => Err(ReverseError::NotSettled {
                key: key.to_string(),
                status: other.name(),
            }),
        }
    }

    /// A reversal scheduled at `epoch`: it happens only if the ledger was not reset since
    /// and the transfer is still settled (nobody reversed it on demand meanwhile).
    pub fn reverse_later(&mut self, key: &str, epoch: Epoch, reason: &str, now: DateTime<Utc>) -> Option<Transfer> {
        if epoch != self.epoch {
            return None;
        }
        match self.get(key)?.status {
            Status::Settled { .. } => self.reverse(key, reason, now).ok(),
            _ => None,
        }
    }

    pub fn set_scenario(&mut self, rules: Vec<Rule>) -> usize {
        self.scenario = Scenario::new(rules);
        self.scenario.len()
    }

    /// Forgets every transfer and rule. References keep counting, so none is given twice.
    pub fn reset(&mut self) {
        self.transfers.clear();
        self.scenario = Scenario::default();
        self.epoch = Epoch(self.epoch.0 + 1);
    }

    pub fn statement(&self, filter: &StatementFilter) -> Statement {
        let mut items: Vec<StatementItem> = self
            .transfers
            .values()
            .flatten()
            .filter(|transfer| {
                filter
                    .batch_id
                    .as_ref()
                    .is_none_or(|batch| *batch == transfer.instruction.batch_id)
            })
            .filter_map(booked)
            .filter(|item| filter.since.is_none_or(|since| item.at >= since))
            .filter(|item| filter.until.is_none_or(|until| item.at < until))
            .collect();
        items.sort_by_key(|item| (item.at, item.reference));
        let totals = Booked::ALL
            .into_iter()
            .map(|status| {
                let total = items
                    .iter()
                    .filter(|item| item.status == status)
                    .fold(Total::default(), |total, item| Total {
                        count: total.count + 1,
                        amount_idr: total.amount_idr + item.amount_idr,
                    });
                (status, total)
            })
            .collect();
        Statement { items, totals }
    }
}

fn booked(transfer: &Transfer) -> Option<StatementItem> {
    let (status, reason, at) = match &transfer.status {
        Status::Pending => return None,
        Status::Settled { at } => (Booked::Settled, String::new(), *at),
        Status::Failed { reason, at } => (Booked::Failed, reason.clone(), *at),
        Status::Reversed { reason, at, .. } => (Booked::Reversed, reason.clone(), *at),
    };
    Some(StatementItem {
        key: transfer.instruction.key.clone(),
        reference: transfer.reference,
        batch_id: transfer.instruction.batch_id.clone(),
        amount_idr: transfer.instruction.amount_idr,
        status,
        reason,
        at,
        attempt: transfer.instruction.attempt,
    })
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::scenario::{Kind, RuleSpec};

    fn at(second: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 10, 1, 9, 0, second).unwrap()
    }

    fn instruction(key: &str, amount_idr: i64) -> Instruction {
        Instruction::parse(key, "PKH-2026-Q4-001", "hh-3375-0042", "Siti Aminah", "", amount_idr, 1).unwrap()
    }

    fn new_transfer(accepted: Accepted) -> Transfer {
        match accepted {
            Accepted::New { transfer, .. } => transfer,
            Accepted::Repeated(transfer) => panic!("expected a new transfer, got a repeat of {transfer:?}"),
        }
    }

    #[test]
    fn an_instruction_is_refused_naming_the_bad_field() {
        let error = |key, amount| {
            Instruction::parse(key, "b", "hh-1", "Siti", "", amount, 0)
                .unwrap_err()
                .field
        };
        assert_eq!(error("PKH:a", 0), "amount_idr");
        assert_eq!(error("PKH:a", -5), "amount_idr");
        assert_eq!(error("", 1), "idempotency_key");
        assert_eq!(error("PKH: a", 1), "idempotency_key");
        let no_name = Instruction::parse("k", "b", "hh-1", " ", "", 1, 1).unwrap_err();
        assert_eq!(no_name.field, "beneficiary_name");
        let bad_attempt = Instruction::parse("k", "b", "hh-1", "Siti", "", 1, -1).unwrap_err();
        assert_eq!(bad_attempt.field, "attempt");
        assert_eq!(
            Instruction::parse("k", "b", "hh-1", "Siti", "", 1, 0).unwrap().attempt,
            1
        );
    }

    #[test]
    fn an_instruction_does_not_print_the_name_or_account() {
        let mut instruction = instruction("PKH:2026-Q4:hh-3375-0042:base", 750_000);
        instruction.account = "1234567890".into();
        let printed = format!("{instruction:?}");
        assert!(!printed.contains("Siti"), "{printed}");
        assert!(!printed.contains("1234567890"), "{printed}");
        assert!(printed.contains("PKH:2026-Q4:hh-3375-0042:base"), "{printed}");
    }

    #[test]
    fn the_same_key_and_content_answers_the_recorded_transfer_and_records_nothing_new() {
        let mut ledger = Ledger::new();
        let first = new_transfer(ledger.transfer(instruction("k", 750_000), at(0)).unwrap());
        let again = ledger.transfer(instruction("k", 750_000), at(5)).unwrap();
        assert_eq!(again, Accepted::Repeated(first));
        assert_eq!(ledger.statement(&StatementFilter::default()).items.len(), 1);
    }

    #[test]
    fn the_same_key_with_another_amount_is_refused_naming_amount() {
        let mut ledger = Ledger::new();
        ledger.transfer(instruction("k", 750_000), at(0)).unwrap();
        let error = ledger.transfer(instruction("k", 800_000), at(1)).unwrap_err();
        assert!(
            matches!(
                error,
                TransferError::KeyReused {
                    field: "amount_idr",
                    ..
                }
            ),
            "{error:?}"
        );
        assert!(error.to_string().starts_with("amount_idr: "), "{error}");
    }

    #[test]
    fn references_increase_and_are_not_reused_after_a_reset() {
        let mut ledger = Ledger::new();
        let first = new_transfer(ledger.transfer(instruction("a", 1), at(0)).unwrap());
        let second = new_transfer(ledger.transfer(instruction("b", 1), at(0)).unwrap());
        ledger.reset();
        let third = new_transfer(ledger.transfer(instruction("a", 1), at(0)).unwrap());
        assert!(first.reference < second.reference && second.reference < third.reference);
        assert_eq!(first.reference.to_string(), "SIMBANK-000000000001");
    }

    #[test]
    fn work_scheduled_before_a_reset_changes_nothing_after_it() {
        let mut ledger = Ledger::new();
        let rule = crate::scenario::Rule::parse(&RuleSpec {
            kind: Some(Kind::Slow),
            delay_ms: 10,
            ..RuleSpec::default()
        })
        .unwrap();
        ledger.set_scenario(vec![rule]);
        let Accepted::New { epoch, .. } = ledger.transfer(instruction("k", 1), at(0)).unwrap() else {
            panic!("expected a new transfer");
        };
        ledger.reset();
        ledger.transfer(instruction("k", 1), at(1)).unwrap();
        assert_eq!(ledger.settle("k", epoch, at(2)), None);
        assert_eq!(ledger.reverse_later("k", epoch, "late", at(2)), None);
        assert!(matches!(ledger.get("k").unwrap().status, Status::Settled { .. }));
    }

    #[test]
    fn only_a_settled_transfer_can_be_reversed() {
        let mut ledger = Ledger::new();
        let rule = crate::scenario::Rule::parse(&RuleSpec {
            kind: Some(Kind::Fail),
            reason: "account closed",
            times: 1,
            ..RuleSpec::default()
        })
        .unwrap();
        ledger.set_scenario(vec![rule]);
        ledger.transfer(instruction("failed", 1), at(0)).unwrap();
        ledger.transfer(instruction("settled", 1), at(0)).unwrap();
        assert!(matches!(
            ledger.reverse("failed", "x", at(1)),
            Err(ReverseError::NotSettled { status: "failed", .. })
        ));
        assert!(matches!(
            ledger.reverse("nobody", "x", at(1)),
            Err(ReverseError::NotFound(_))
        ));
        let reversed = ledger.reverse("settled", "dormant account", at(2)).unwrap();
        let again = ledger.reverse("settled", "another reason", at(3)).unwrap();
        assert_eq!(again, reversed, "a second reversal changes nothing");
    }

    #[test]
    fn a_statement_window_selects_by_the_time_of_the_current_status() {
        let mut ledger = Ledger::new();
        ledger.transfer(instruction("early", 100), at(0)).unwrap();
        ledger.transfer(instruction("later", 200), at(10)).unwrap();
        ledger.reverse("early", "returned", at(20)).unwrap();
        let window = |since, until| {
            ledger
                .statement(&StatementFilter {
                    batch_id: None,
                    since: Some(at(since)),
                    until: Some(at(until)),
                })
                .items
                .into_iter()
                .map(|item| (item.key, item.status))
                .collect::<Vec<_>>()
        };
        assert_eq!(window(0, 10), vec![]);
        assert_eq!(window(10, 11), vec![("later".to_string(), Booked::Settled)]);
        assert_eq!(
            window(10, 21),
            vec![
                ("later".to_string(), Booked::Settled),
                ("early".to_string(), Booked::Reversed)
            ]
        );
    }

    fn attempt(key: &str, attempt: i32) -> Instruction {
        Instruction::parse(
            key,
            "PKH-2026-Q4-002",
            "hh-3375-0042",
            "Siti Aminah",
            "",
            750_000,
            attempt,
        )
        .unwrap()
    }

    #[test]
    fn a_follow_up_is_taken_only_after_the_attempt_before_failed_or_was_reversed() {
        let key = "PKH:2026-Q4:hh-3375-0042:base";
        let mut ledger = Ledger::new();
        ledger.set_scenario(vec![
            Rule::parse(&RuleSpec {
                beneficiary_id: "",
                key_prefix: "",
                kind: Some(Kind::Fail),
                delay_ms: 0,
                reason: "account closed",
                times: 1,
            })
            .unwrap(),
        ]);
        let first = new_transfer(ledger.transfer(attempt(key, 1), at(0)).unwrap());
        assert_eq!(first.status.name(), "failed");
        // Attempt 3 before 2, or attempt 1 again with other content, is refused.
        assert_eq!(
            ledger.transfer(attempt(key, 3), at(1)).unwrap_err(),
            TransferError::AttemptOutOfOrder {
                key: key.into(),
                expected: 2,
                found: 3
            }
        );
        let second = new_transfer(ledger.transfer(attempt(key, 2), at(2)).unwrap());
        assert_eq!((second.status.name(), second.instruction.attempt), ("settled", 2));
        assert_eq!(ledger.get(key).map(|t| t.instruction.attempt), Some(2));
        // A settled attempt stands: a third would pay twice.
        assert_eq!(
            ledger.transfer(attempt(key, 3), at(3)).unwrap_err(),
            TransferError::EarlierAttemptStands {
                key: key.into(),
                standing: 2,
                status: "settled"
            }
        );
        // Once it is reversed, the key may be paid again under attempt 3.
        ledger.reverse(key, "returned by the receiving bank", at(4)).unwrap();
        let third = new_transfer(ledger.transfer(attempt(key, 3), at(5)).unwrap());
        assert_eq!(third.status.name(), "settled");
        let items: Vec<(u32, Booked)> = ledger
            .statement(&StatementFilter::default())
            .items
            .iter()
            .map(|item| (item.attempt, item.status))
            .collect();
        assert_eq!(
            items,
            [(1, Booked::Failed), (2, Booked::Reversed), (3, Booked::Settled)]
        );
    }
}
