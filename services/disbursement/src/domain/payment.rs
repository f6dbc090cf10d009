//! Payment decisions: for one entitlement and one period, instruct a payment or hold it.
//!
//! Before a payment is released the app checks the beneficiary (alive, enrolled, no hold)
//! and passes the outcome in as a [`ReleaseCheck`]; a held payment is recorded under the
//! same key it would have been paid under, so that a later release pays exactly that key.

use uuid::Uuid;

use super::entitlement::{Entitlement, EntitlementError, OpenEntitlement};
use super::events::DisbursementEvent;
use super::payment_key::PaymentKey;
use super::period::Period;

/// What the status check before release found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReleaseCheck {
    Payable,
    /// Not payable now, e.g. "death reported by the village on 2026-11-03" or "enrolment
    /// revoked".
    Held {
        reasons: Vec<String>,
    },
}

/// A payment to be sent to the bank. Its key is unique for ever.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentInstruction {
    pub payment_id: Uuid,
    /// Also carries the programme, period, beneficiary and component.
    pub key: PaymentKey,
    pub entitlement_id: Uuid,
    pub case_id: Uuid,
    /// Rupiah.
    pub amount_idr: i64,
}

/// A payment that was due but not instructed, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentHeld {
    pub key: PaymentKey,
    pub entitlement_id: Uuid,
    pub case_id: Uuid,
    /// Never empty.
    pub reasons: Vec<String>,
}

/// Used when a check says "held" but gives no reason: the payment is still held (a hold must
/// never turn into a payment by omission), and the record says the reason is missing.
const UNSTATED_REASON: &str = "the release check held the payment without stating a reason";

/// Decides the payment of `entitlement` for `period`: an instruction when the beneficiary is
/// payable, a hold otherwise. `payment_id` is chosen by the caller (UUIDv7).
pub fn decide_payment(
    entitlement: &Entitlement,
    period: Period,
    payment_id: Uuid,
    check: &ReleaseCheck,
) -> Result<DisbursementEvent, EntitlementError> {
    let key = entitlement.payment_key(period)?;
    Ok(match check {
        ReleaseCheck::Payable => DisbursementEvent::PaymentInstructionCreated(PaymentInstruction {
            payment_id,
            key,
            entitlement_id: entitlement.entitlement_id,
            case_id: entitlement.case_id,
            amount_idr: entitlement.amount_per_period_idr,
        }),
        ReleaseCheck::Held { reasons } => {
            let mut reasons: Vec<String> = reasons
                .iter()
                .map(|r| r.trim())
                .filter(|r| !r.is_empty())
                .map(str::to_owned)
                .collect();
            if reasons.is_empty() {
                reasons.push(UNSTATED_REASON.to_owned());
            }
            DisbursementEvent::PaymentHeld(PaymentHeld {
                key,
                entitlement_id: entitlement.entitlement_id,
                case_id: entitlement.case_id,
                reasons,
            })
        }
    })
}

/// Opens an entitlement from an accepted cash referral and decides its first payment, for
/// the period that contains the acceptance date. Returns `EntitlementCreated` followed by
/// `PaymentInstructionCreated` or `PaymentHeld`.
pub fn start_entitlement(
    request: OpenEntitlement,
    payment_id: Uuid,
    check: &ReleaseCheck,
) -> Result<Vec<DisbursementEvent>, EntitlementError> {
    let entitlement = Entitlement::open(request)?;
    let first = decide_payment(&entitlement, entitlement.first_period, payment_id, check)?;
    Ok(vec![DisbursementEvent::EntitlementCreated(entitlement), first])
}

/// Opens an entitlement for a component added to a programme the beneficiary already
/// receives (a second PKH child, an elderly member): it is paid from the period after the
/// acceptance, because the current period's stage was fixed when its first component was.
/// A one-off payment has no next period and is paid as usual.
pub fn start_added_component(
    request: OpenEntitlement,
    payment_id: Uuid,
    check: &ReleaseCheck,
) -> Result<Vec<DisbursementEvent>, EntitlementError> {
    let mut entitlement = Entitlement::open(request)?;
    if let Some(next) = entitlement.first_period.next() {
        entitlement.first_period = next;
    }
    let first = decide_payment(&entitlement, entitlement.first_period, payment_id, check)?;
    Ok(vec![DisbursementEvent::EntitlementCreated(entitlement), first])
}

/// How a new instruction relates to one already recorded under the same key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InstructionComparison {
    /// The same payment: answer with the existing one, send nothing.
    Same,
    /// A different payment under a key that is already taken: refuse it, never pay it.
    Conflict { field: &'static str },
}

/// Compares a new instruction with the one recorded under its key. The payment id is not
/// content: a retry mints a fresh id for what is the same payment. The first differing field
/// is reported: the key (callers should only compare instructions that share one), then the
/// amount, then where the payment came from.
pub fn compare_instruction(existing: &PaymentInstruction, new: &PaymentInstruction) -> InstructionComparison {
    let differs = [
        ("payment_key", existing.key != new.key),
        ("amount_idr", existing.amount_idr != new.amount_idr),
        ("entitlement_id", existing.entitlement_id != new.entitlement_id),
        ("case_id", existing.case_id != new.case_id),
    ];
    match differs.into_iter().find(|(_, differs)| *differs) {
        Some((field, _)) => InstructionComparison::Conflict { field },
        None => InstructionComparison::Same,
    }
}

#[cfg(test)]
mod tests;
