//! Domain events of disbursement. They mirror `slrt.disbursement.v1` (events.proto) with
//! typed fields; the app layer maps them to and from the stored protobuf payloads.

use uuid::Uuid;

use super::entitlement::Entitlement;
use super::payment::{PaymentHeld, PaymentInstruction};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DisbursementEvent {
    EntitlementCreated(Entitlement),
    PaymentInstructionCreated(PaymentInstruction),
    PaymentHeld(PaymentHeld),
}

impl DisbursementEvent {
    /// Full protobuf name of the payload, for the envelope's `event_type`.
    pub fn event_type(&self) -> &'static str {
        match self {
            Self::EntitlementCreated(_) => "slrt.disbursement.v1.EntitlementCreated",
            Self::PaymentInstructionCreated(_) => "slrt.disbursement.v1.PaymentInstructionCreated",
            Self::PaymentHeld(_) => "slrt.disbursement.v1.PaymentHeld",
        }
    }

    /// The entitlement whose stream the event belongs to.
    pub fn entitlement_id(&self) -> Uuid {
        match self {
            Self::EntitlementCreated(e) => e.entitlement_id,
            Self::PaymentInstructionCreated(p) => p.entitlement_id,
            Self::PaymentHeld(h) => h.entitlement_id,
        }
    }

    /// The correlation id for the envelope.
    pub fn case_id(&self) -> Uuid {
        match self {
            Self::EntitlementCreated(e) => e.case_id,
            Self::PaymentInstructionCreated(p) => p.case_id,
            Self::PaymentHeld(h) => h.case_id,
        }
    }
}
