//! Commands on a referral. Free-text fields arrive as the caller sent them (empty meaning
//! "not given"); [`handle`](super::referral::handle) decides whether they are acceptable, so
//! every refusal is a [`ReferralError`](super::referral::ReferralError) with the field named.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::events::{LinkedNeed, ReferralDetails, RoutedBy};
use super::opd::OpdCode;
use super::sla::{EscalationStep, SlaClock};

#[derive(Debug, Clone, PartialEq, Eq)]
#[expect(
    clippy::large_enum_variant,
    reason = "one command lives for one request; boxing the request would buy nothing"
)]
pub enum ReferralCommand {
    Request(RequestReferral),
    Acknowledge(AcknowledgeReferral),
    Accept(AcceptReferral),
    Reject(RejectReferral),
    StartService(StartService),
    Complete(CompleteReferral),
    Transfer(TransferReferral),
    Revoke(RevokeReferral),
    Escalate(EscalateReferral),
    Link(LinkNeed),
}

/// Opens a referral stream; built by [`route_need`](super::dispatch::route_need).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestReferral {
    pub details: ReferralDetails,
    pub routed_by: RoutedBy,
    pub note: String,
}

/// The OPD has seen the referral. `opd` is the calling agency (its verified token's), never
/// a value from the request body.
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

/// The OPD started serving an accepted referral.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartService {
    pub referral_id: Uuid,
    pub opd: OpdCode,
    pub actor: String,
    pub note: String,
}

/// The OPD passes the referral to another agency. The app checks that `to_opd` is an
/// agency of the routing table before it gets here; the domain refuses the caller itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferReferral {
    pub referral_id: Uuid,
    pub opd: OpdCode,
    pub actor: String,
    pub to_opd: OpdCode,
    pub reason: String,
}

/// The SLRT (a supervisor) withdraws a referral, whichever agency holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevokeReferral {
    pub referral_id: Uuid,
    pub actor: String,
    pub reason: String,
}

/// A durable SLA timer fired: record step `step` of `clock`, if that clock still runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EscalateReferral {
    pub referral_id: Uuid,
    pub clock: SlaClock,
    pub step: EscalationStep,
    /// The service clock's time when the timer fired.
    pub now: DateTime<Utc>,
    pub working_days_overdue: u32,
}

/// Another case asks for the same person and need while this referral is open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkNeed {
    pub referral_id: Uuid,
    pub linked: LinkedNeed,
}

impl ReferralCommand {
    /// The command's name, as audit records and logs spell it.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Request(_) => "request",
            Self::Acknowledge(_) => "acknowledge",
            Self::Accept(_) => "accept",
            Self::Reject(_) => "reject",
            Self::StartService(_) => "start_service",
            Self::Complete(_) => "complete",
            Self::Transfer(_) => "transfer",
            Self::Revoke(_) => "revoke",
            Self::Escalate(_) => "escalate",
            Self::Link(_) => "link",
        }
    }

    pub fn referral_id(&self) -> Uuid {
        match self {
            Self::Request(c) => c.details.referral_id,
            Self::Acknowledge(c) => c.referral_id,
            Self::Accept(c) => c.referral_id,
            Self::Reject(c) => c.referral_id,
            Self::StartService(c) => c.referral_id,
            Self::Complete(c) => c.referral_id,
            Self::Transfer(c) => c.referral_id,
            Self::Revoke(c) => c.referral_id,
            Self::Escalate(c) => c.referral_id,
            Self::Link(c) => c.referral_id,
        }
    }
}
