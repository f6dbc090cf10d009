//! The disbursement domain: entitlements, payment periods, and payment instructions with
//! deterministic keys.
//!
//! Pure: no database, broker, clock or network here. The app layer supplies what the world
//! says (the acceptance date, the beneficiary's release check, fresh ids) and records what
//! these functions decide. The rule that matters most, "no payment key is paid twice", is
//! enforced by a unique constraint in the app's store; this module makes the key
//! deterministic ([`PaymentKey`]) and says whether a second instruction under the same key is
//! the same payment or a conflict ([`compare_instruction`]).
//!
//! - [`period`] holds payment cadences and periods (`2026-11`, `2026-Q4`, `2026`, `once`).
//! - [`payment_key`] renders and checks `<programme>:<period>:<beneficiary>:<component>`.
//! - [`entitlement`] holds a beneficiary's right to periodic payments, opened from an
//!   accepted cash referral.
//! - [`payment`] decides each period's payment: instruct or hold.

pub mod batch;
pub mod entitlement;
pub mod events;
pub mod lifecycle;
pub mod payment;
pub mod payment_key;
pub mod period;
pub mod reconciliation;

pub use batch::{Batch, BatchError, BatchEvent, BatchId, BatchItem, BatchPrepared, BatchReleased};
pub use entitlement::{Entitlement, EntitlementError, OpenEntitlement};
pub use events::DisbursementEvent;
pub use payment::{
    InstructionComparison, PaymentHeld, PaymentInstruction, ReleaseCheck, compare_instruction, decide_payment,
    start_entitlement,
};
pub use payment_key::{KeyPart, PaymentKey, PaymentKeyError, is_programme_code};
pub use period::{Cadence, Period, PeriodError, UnknownCadence};
