//! Commands on a referral. Free-text fields arrive as the caller sent them (empty meaning
//! "not given"); [`handle`](super::referral::handle) decides whether they are acceptable, so
//! every refusal is a [`ReferralError`](super::referral::ReferralError) with the field named.

use uuid::Uuid;

use super::events::ReferralDetails;
use super::opd::OpdCode;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReferralCommand {
    Request(RequestReferral),
    Acknowledge(AcknowledgeReferral),
    Accept(AcceptReferral),
    Reject(RejectReferral),
    Complete(CompleteReferral),
}

/// Opens a referral stream; built by [`route_need`](super::dispatch::route_need).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestReferral {
    pub details: ReferralDetails,
}

/// The OPD has seen the referral. `opd` is the calling agency (the `x-slrt-opd` metadata),
/// never a value from the request body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcknowledgeReferral {
    pub referral_id: Uuid,
    pub opd: OpdCode,
    pub actor: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcceptReferral {
    pub referral_id: Uuid,
    pub opd: OpdCode,
    pub actor: String,
    pub note: String,
}

/// Declining requires a reason: a rejected referral is re-routed, and the next agency and
/// the supervisors need to know why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RejectReferral {
    pub referral_id: Uuid,
    pub opd: OpdCode,
    pub actor: String,
    pub reason: String,
}

/// `outcome_code` is required when `successful` is false and must be empty when it is true.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompleteReferral {
    pub referral_id: Uuid,
    pub opd: OpdCode,
    pub actor: String,
    pub successful: bool,
    pub outcome_code: String,
    pub note: String,
}

impl ReferralCommand {
    pub fn referral_id(&self) -> Uuid {
        match self {
            Self::Request(c) => c.details.referral_id,
            Self::Acknowledge(c) => c.referral_id,
            Self::Accept(c) => c.referral_id,
            Self::Reject(c) => c.referral_id,
            Self::Complete(c) => c.referral_id,
        }
    }
}
