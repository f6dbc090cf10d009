//! Payment batches: the payments of one programme and period, prepared by one person (the
//! maker) and released by another (the checker) after the release-time check.
//!
//! ```text
//! (none) ──prepare (maker)──> prepared ──release (checker ≠ maker)──> released
//! ```
//!
//! Preparing takes every instructed payment of the programme and period that is in no batch
//! yet; a payment instructed later goes into the next batch (sequence + 1). Releasing splits
//! the batch by the release checks: payable payments are released to be sent, the others are
//! held with their reasons. Pure: the app passes the payments and the checks in.

use std::collections::HashMap;
use std::fmt;

use uuid::Uuid;

use super::payment::ReleaseCheck;
use super::payment_key::{PaymentKey, is_programme_code};
use super::period::{Period, PeriodError};

/// `<programme>:<period>:<sequence>`, e.g. `PKH:2026-Q4:1`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BatchId {
    pub programme_code: String,
    pub period: Period,
    pub sequence: u32,
}

impl fmt::Display for BatchId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.programme_code, self.period, self.sequence)
    }
}

impl BatchId {
    pub fn parse(text: &str) -> Result<Self, BatchError> {
        let malformed = || BatchError::MalformedId(text.to_owned());
        let mut parts = text.split(':');
        let (Some(programme), Some(period), Some(sequence), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(malformed());
        };
        if !is_programme_code(programme) {
            return Err(malformed());
        }
        let period = Period::parse(period).map_err(|_| malformed())?;
        let sequence = sequence
            .parse::<u32>()
            .ok()
            .filter(|n| *n > 0 && !sequence.starts_with('0'))
            .ok_or_else(malformed)?;
        Ok(Self {
            programme_code: programme.to_owned(),
            period,
            sequence,
        })
    }
}

/// One payment as it went into a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchItem {
    pub payment_id: Uuid,
    pub key: PaymentKey,
    pub amount_idr: i64,
    pub entitlement_id: Uuid,
    pub case_id: Uuid,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchPrepared {
    pub id: BatchId,
    pub prepared_by: String,
    pub items: Vec<BatchItem>,
}

impl BatchPrepared {
    pub fn total_idr(&self) -> i64 {
        self.items.iter().map(|item| item.amount_idr).sum()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchReleased {
    pub id: BatchId,
    pub released_by: String,
    pub released: Vec<PaymentKey>,
    /// Never with empty reasons.
    pub held: Vec<(PaymentKey, Vec<String>)>,
    pub released_total_idr: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BatchEvent {
    Prepared(BatchPrepared),
    Released(BatchReleased),
}

impl BatchEvent {
    pub fn event_type(&self) -> &'static str {
        match self {
            Self::Prepared(_) => "slrt.disbursement.v1.PaymentBatchPrepared",
            Self::Released(_) => "slrt.disbursement.v1.PaymentBatchReleased",
        }
    }
}

/// Why a batch command was refused; the Display is the sentence a person reads.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BatchError {
    #[error("\"{0}\" is not a batch id such as PKH:2026-Q4:1")]
    MalformedId(String),
    #[error(transparent)]
    Period(#[from] PeriodError),
    #[error("\"{0}\" is not a programme code: use upper-case letters, digits and '-', e.g. PBI-JK")]
    Programme(String),
    #[error("name the person acting")]
    ActorRequired,
    #[error("there is nothing to pay for {programme} {period}: every instructed payment is in a batch already")]
    NothingToPay { programme: String, period: Period },
    #[error("batch {id} was prepared by {maker}; a second person must release it")]
    SamePerson { id: BatchId, maker: String },
    #[error("batch {id} was already released by {by}")]
    AlreadyReleased { id: BatchId, by: String },
    #[error("batch {id} holds payment {key}, which no release check answered")]
    Unchecked { id: BatchId, key: PaymentKey },
}

impl BatchError {
    pub fn field(&self) -> Option<&'static str> {
        match self {
            Self::MalformedId(_) => Some("batch_id"),
            Self::Period(_) => Some("period"),
            Self::Programme(_) => Some("programme_code"),
            Self::ActorRequired => Some("actor"),
            Self::SamePerson { .. } => Some("released_by"),
            Self::NothingToPay { .. } | Self::AlreadyReleased { .. } | Self::Unchecked { .. } => None,
        }
    }
}

/// A batch as its events left it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch {
    pub prepared: BatchPrepared,
    pub released: Option<BatchReleased>,
}

impl Batch {
    pub fn from_events(events: &[BatchEvent]) -> Option<Self> {
        let mut batch: Option<Self> = None;
        for event in events {
            match event {
                BatchEvent::Prepared(prepared) => {
                    batch = Some(Self {
                        prepared: prepared.clone(),
                        released: None,
                    });
                }
                BatchEvent::Released(released) => {
                    if let Some(batch) = batch.as_mut() {
                        batch.released = Some(released.clone());
                    }
                }
            }
        }
        batch
    }
}

/// The next batch of a programme and period: every unbatched instructed payment, by `actor`.
pub fn prepare(id: BatchId, actor: &str, items: Vec<BatchItem>) -> Result<BatchEvent, BatchError> {
    let actor = actor.trim();
    if actor.is_empty() {
        return Err(BatchError::ActorRequired);
    }
    if items.is_empty() {
        return Err(BatchError::NothingToPay {
            programme: id.programme_code,
            period: id.period,
        });
    }
    Ok(BatchEvent::Prepared(BatchPrepared {
        id,
        prepared_by: actor.to_owned(),
        items,
    }))
}

/// Releases a prepared batch by `actor`, who must not be its maker. `checks` answers the
/// release check for every payment of the batch, by key.
pub fn release(
    batch: &Batch,
    actor: &str,
    checks: &HashMap<PaymentKey, ReleaseCheck>,
) -> Result<BatchEvent, BatchError> {
    let id = batch.prepared.id.clone();
    let actor = actor.trim();
    if actor.is_empty() {
        return Err(BatchError::ActorRequired);
    }
    if let Some(released) = &batch.released {
        return Err(BatchError::AlreadyReleased {
            id,
            by: released.released_by.clone(),
        });
    }
    // The same person under another capitalisation is still the same person.
    if actor.to_lowercase() == batch.prepared.prepared_by.to_lowercase() {
        return Err(BatchError::SamePerson {
            id,
            maker: batch.prepared.prepared_by.clone(),
        });
    }
    let mut released = Vec::new();
    let mut held = Vec::new();
    let mut released_total_idr = 0;
    for item in &batch.prepared.items {
        match checks.get(&item.key) {
            None => {
                return Err(BatchError::Unchecked {
                    id,
                    key: item.key.clone(),
                });
            }
            Some(ReleaseCheck::Payable) => {
                released.push(item.key.clone());
                released_total_idr += item.amount_idr;
            }
            Some(ReleaseCheck::Held { reasons }) => {
                let mut reasons: Vec<String> = reasons
                    .iter()
                    .map(|reason| reason.trim().to_owned())
                    .filter(|reason| !reason.is_empty())
                    .collect();
                if reasons.is_empty() {
                    // A hold never turns into a payment by omission.
                    reasons.push("the release check held the payment without stating a reason".to_owned());
                }
                held.push((item.key.clone(), reasons));
            }
        }
    }
    Ok(BatchEvent::Released(BatchReleased {
        id,
        released_by: actor.to_owned(),
        released,
        held,
        released_total_idr,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(beneficiary: &str) -> PaymentKey {
        PaymentKey::parse(&format!("PKH:2026-Q4:{beneficiary}:base")).unwrap_or_else(|e| panic!("{e}"))
    }

    fn id() -> BatchId {
        BatchId::parse("PKH:2026-Q4:1").unwrap_or_else(|e| panic!("{e}"))
    }

    fn item(beneficiary: &str, amount_idr: i64) -> BatchItem {
        BatchItem {
            payment_id: Uuid::now_v7(),
            key: key(beneficiary),
            amount_idr,
            entitlement_id: Uuid::now_v7(),
            case_id: Uuid::now_v7(),
        }
    }

    fn prepared(maker: &str) -> Batch {
        let Ok(BatchEvent::Prepared(prepared)) =
            prepare(id(), maker, vec![item("hh-1", 750_000), item("hh-2", 750_000)])
        else {
            panic!("prepare was refused");
        };
        Batch {
            prepared,
            released: None,
        }
    }

    fn payable_all(batch: &Batch) -> HashMap<PaymentKey, ReleaseCheck> {
        batch
            .prepared
            .items
            .iter()
            .map(|item| (item.key.clone(), ReleaseCheck::Payable))
            .collect()
    }

    #[test]
    fn a_batch_id_reads_back_as_written_and_a_bad_one_is_named() {
        assert_eq!(id().to_string(), "PKH:2026-Q4:1");
        for bad in [
            "PKH:2026-Q4",
            "pkh:2026-Q4:1",
            "PKH:2026-Q5:1",
            "PKH:2026-Q4:0",
            "PKH:2026-Q4:01",
            "PKH:2026-Q4:1:x",
        ] {
            assert_eq!(
                BatchId::parse(bad),
                Err(BatchError::MalformedId(bad.to_owned())),
                "{bad}"
            );
        }
    }

    #[test]
    fn a_batch_is_prepared_with_its_payments_and_their_total() {
        let batch = prepared("maker.dinsos");
        assert_eq!(batch.prepared.prepared_by, "maker.dinsos");
        assert_eq!(batch.prepared.total_idr(), 1_500_000);
        assert_eq!(
            prepare(id(), "maker", Vec::new()).map_err(|e| e.to_string()),
            Err("there is nothing to pay for PKH 2026-Q4: every instructed payment is in a batch already".to_owned())
        );
        assert_eq!(
            prepare(id(), " ", vec![item("hh-1", 1)]),
            Err(BatchError::ActorRequired)
        );
    }

    #[test]
    fn the_maker_cannot_release_their_own_batch_under_any_capitalisation() {
        let batch = prepared("Maker.Dinsos");
        for actor in ["Maker.Dinsos", "maker.dinsos", " MAKER.DINSOS "] {
            let refused = release(&batch, actor, &payable_all(&batch));
            assert_eq!(
                refused.clone().map_err(|e| e.to_string()),
                Err("batch PKH:2026-Q4:1 was prepared by Maker.Dinsos; a second person must release it".to_owned())
            );
            assert_eq!(refused.err().and_then(|e| e.field()), Some("released_by"));
        }
    }

    #[test]
    fn a_checker_releases_the_payable_and_holds_the_rest_with_reasons() {
        let batch = prepared("maker");
        let mut checks = payable_all(&batch);
        checks.insert(
            key("hh-2"),
            ReleaseCheck::Held {
                reasons: vec![" death certificate recorded on 2026-10-02 ".to_owned()],
            },
        );
        let Ok(BatchEvent::Released(released)) = release(&batch, "checker", &checks) else {
            panic!("release was refused");
        };
        assert_eq!(released.released, [key("hh-1")]);
        assert_eq!(
            released.held,
            [(key("hh-2"), vec!["death certificate recorded on 2026-10-02".to_owned()])]
        );
        assert_eq!(released.released_total_idr, 750_000);
    }

    #[test]
    fn a_hold_without_a_reason_stays_a_hold_and_says_so() {
        let batch = prepared("maker");
        let mut checks = payable_all(&batch);
        checks.insert(
            key("hh-1"),
            ReleaseCheck::Held {
                reasons: vec![" ".into()],
            },
        );
        let Ok(BatchEvent::Released(released)) = release(&batch, "checker", &checks) else {
            panic!("release was refused");
        };
        assert_eq!(released.held.len(), 1);
        assert!(released.held[0].1[0].contains("without stating a reason"));
    }

    #[test]
    fn a_released_batch_is_not_released_again_and_every_payment_needs_a_check() {
        let mut batch = prepared("maker");
        let mut partial = payable_all(&batch);
        partial.remove(&key("hh-2"));
        assert!(matches!(
            release(&batch, "checker", &partial),
            Err(BatchError::Unchecked { .. })
        ));
        let Ok(BatchEvent::Released(released)) = release(&batch, "checker", &payable_all(&batch)) else {
            panic!("release was refused");
        };
        batch.released = Some(released);
        assert_eq!(
            release(&batch, "another", &payable_all(&batch)),
            Err(BatchError::AlreadyReleased {
                id: id(),
                by: "checker".to_owned()
            })
        );
    }
}
