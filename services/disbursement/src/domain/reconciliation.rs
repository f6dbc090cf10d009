//! Reconciling a released batch with the paying bank's statement.
//!
//! The statement lists every transfer the bank holds for the batch, one item per attempt.
//! For each payment the latest attempt is what the bank says now; the batch is balanced when
//! every released payment appears with the attempt the service sent, nothing else appears,
//! and the counts and amounts of settled, failed and reversed payments agree on both sides.
//! Pure: the app passes both sides in and records the changes it is told to.

use std::collections::{BTreeMap, BTreeSet};

/// What the service knows of one released payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OurPayment {
    pub key: String,
    pub amount_idr: i64,
    /// `None` (not sent yet), `sending`, `settled`, `failed`, `reversed` or `unknown`.
    pub bank_status: Option<String>,
    pub attempt: i32,
}

/// One item of the bank's statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BankItem {
    pub key: String,
    pub attempt: i32,
    pub amount_idr: i64,
    /// `settled`, `failed` or `reversed`.
    pub status: String,
    pub reference: String,
    pub reason: String,
}

/// A payment whose outcome the statement changes: record `to` for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub key: String,
    pub from: Option<String>,
    pub to: String,
    pub attempt: i32,
    pub reference: String,
    pub reason: String,
}

/// Something the two sides disagree on that no recorded change can settle: a person must
/// look at it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    pub key: String,
    pub problem: String,
}

/// Count and amount of one status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Total {
    pub count: i64,
    pub amount_idr: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reconciliation {
    pub changes: Vec<Change>,
    pub differences: Vec<Difference>,
    /// By status (`settled`, `failed`, `reversed`): ours after the changes, and the bank's.
    pub ours: BTreeMap<String, Total>,
    pub bank: BTreeMap<String, Total>,
}

impl Reconciliation {
    pub fn balanced(&self) -> bool {
        self.differences.is_empty() && self.ours == self.bank
    }
}

pub const BOOKED: [&str; 3] = ["settled", "failed", "reversed"];

/// Compares the released payments of a batch with the bank's statement for it.
pub fn reconcile(ours: &[OurPayment], statement: &[BankItem]) -> Reconciliation {
    let latest = latest_attempts(statement);
    let mut unmatched: BTreeSet<&str> = latest.keys().copied().collect();
    let mut changes = Vec::new();
    let mut differences = Vec::new();
    let mut our_totals: BTreeMap<String, Total> = BOOKED.iter().map(|s| ((*s).to_owned(), Total::default())).collect();
    for payment in ours {
        let mut status = payment.bank_status.clone();
        unmatched.remove(payment.key.as_str());
        match latest.get(payment.key.as_str()).copied() {
            None => {
                let problem = match payment.bank_status.as_deref() {
                    None => "not sent to the bank yet".to_owned(),
                    Some("sending" | "unknown") => {
                        "sent, but the bank's statement does not list it; its outcome is still unknown".to_owned()
                    }
                    Some(recorded) => format!("recorded as {recorded}, but the bank's statement does not list it"),
                };
                differences.push(Difference {
                    key: payment.key.clone(),
                    problem,
                });
            }
            Some(item) if item.attempt != payment.attempt => differences.push(Difference {
                key: payment.key.clone(),
                problem: format!(
                    "the bank's latest attempt is {}, the service sent attempt {}",
                    item.attempt, payment.attempt
                ),
            }),
            Some(item) if item.amount_idr != payment.amount_idr => differences.push(Difference {
                key: payment.key.clone(),
                problem: format!(
                    "the bank moved Rp{} for a payment of Rp{}",
                    item.amount_idr, payment.amount_idr
                ),
            }),
            Some(item) => {
                if payment.bank_status.as_deref() != Some(item.status.as_str()) {
                    changes.push(Change {
                        key: payment.key.clone(),
                        from: payment.bank_status.clone(),
                        to: item.status.clone(),
                        attempt: item.attempt,
                        reference: item.reference.clone(),
                        reason: item.reason.clone(),
                    });
                    status = Some(item.status.clone());
                }
            }
        }
        if let Some(total) = status.as_deref().and_then(|s| our_totals.get_mut(s)) {
            total.count += 1;
            total.amount_idr += payment.amount_idr;
        }
    }
    // What is left the bank moved under a key this batch does not hold.
    for key in unmatched {
        if let Some(item) = latest.get(key) {
            differences.push(Difference {
                key: item.key.clone(),
                problem: format!("the bank lists a {} transfer the batch does not hold", item.status),
            });
        }
    }
    let mut bank_totals: BTreeMap<String, Total> = BOOKED.iter().map(|s| ((*s).to_owned(), Total::default())).collect();
    for item in latest.values() {
        if let Some(total) = bank_totals.get_mut(&item.status) {
            total.count += 1;
            total.amount_idr += item.amount_idr;
        }
    }
    Reconciliation {
        changes,
        differences,
        ours: our_totals,
        bank: bank_totals,
    }
}

/// The bank's word on each key: its latest attempt.
fn latest_attempts(statement: &[BankItem]) -> BTreeMap<&str, &BankItem> {
    let mut latest: BTreeMap<&str, &BankItem> = BTreeMap::new();
    for item in statement {
        if latest
            .get(item.key.as_str())
            .is_none_or(|seen| item.attempt > seen.attempt)
        {
            latest.insert(item.key.as_str(), item);
        }
    }
    latest
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ours(key: &str, status: Option<&str>, attempt: i32) -> OurPayment {
        OurPayment {
            key: key.into(),
            amount_idr: 750_000,
            bank_status: status.map(str::to_owned),
            attempt,
        }
    }

    fn item(key: &str, status: &str, attempt: i32) -> BankItem {
        BankItem {
            key: key.into(),
            attempt,
            amount_idr: 750_000,
            status: status.into(),
            reference: format!("REF-{key}-{attempt}"),
            reason: String::new(),
        }
    }

    #[test]
    fn a_statement_that_agrees_balances_with_no_changes() {
        let result = reconcile(
            &[ours("a", Some("settled"), 1), ours("b", Some("failed"), 1)],
            &[item("a", "settled", 1), item("b", "failed", 1)],
        );
        assert!(result.balanced(), "{result:?}");
        assert!(result.changes.is_empty());
        assert_eq!(
            result.ours["settled"],
            Total {
                count: 1,
                amount_idr: 750_000
            }
        );
    }

    #[test]
    fn a_reversal_or_a_resolved_unknown_is_a_change_to_record() {
        let result = reconcile(
            &[ours("a", Some("settled"), 1), ours("b", Some("unknown"), 1)],
            &[item("a", "reversed", 1), item("b", "settled", 1)],
        );
        let changes: Vec<(&str, Option<&str>, &str)> = result
            .changes
            .iter()
            .map(|c| (c.key.as_str(), c.from.as_deref(), c.to.as_str()))
            .collect();
        assert_eq!(
            changes,
            [("a", Some("settled"), "reversed"), ("b", Some("unknown"), "settled")]
        );
        assert!(result.balanced(), "after the changes both sides agree: {result:?}");
    }

    #[test]
    fn a_follow_up_counts_by_its_latest_attempt() {
        let result = reconcile(
            &[ours("a", Some("settled"), 2)],
            &[item("a", "failed", 1), item("a", "settled", 2)],
        );
        assert!(result.balanced(), "{result:?}");
        assert_eq!(result.bank["failed"], Total::default());
    }

    #[test]
    fn what_only_one_side_knows_is_a_difference_and_unbalances_the_batch() {
        let result = reconcile(
            &[ours("a", Some("settled"), 1), ours("b", None, 0)],
            &[item("a", "settled", 1), item("z", "settled", 1)],
        );
        let problems: Vec<(&str, &str)> = result
            .differences
            .iter()
            .map(|d| (d.key.as_str(), d.problem.as_str()))
            .collect();
        assert_eq!(
            problems,
            [
                ("b", "not sent to the bank yet"),
                ("z", "the bank lists a settled transfer the batch does not hold")
            ]
        );
        assert!(!result.balanced());
    }

    #[test]
    fn another_attempt_or_another_amount_at_the_bank_is_a_difference() {
        let mut wrong_amount = item("b", "settled", 1);
        wrong_amount.amount_idr = 7_500_000;
        let result = reconcile(
            &[ours("a", Some("settled"), 1), ours("b", Some("settled"), 1)],
            &[item("a", "settled", 2), wrong_amount],
        );
        assert_eq!(result.differences.len(), 2, "{result:?}");
        assert!(
            result.differences[1]
                .problem
                .contains("Rp7500000 for a payment of Rp750000")
        );
        assert!(!result.balanced());
    }
}
