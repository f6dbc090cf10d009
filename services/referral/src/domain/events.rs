//! Domain events of the referral aggregate. They mirror `slrt.referral.v1` (events.proto)
//! with typed fields; the app layer maps them to and from the stored protobuf payloads.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::opd::OpdCode;
use super::referral::ReferralStatus;
use super::sla::{SlaClock, SlaTerms};
use slrt_vocabulary::NeedCategory;

/// A national identity number, carried for the OPD that serves the client. Its `Debug`
/// hides it, so that logging a referral never writes a NIK in clear.
#[derive(Clone, PartialEq, Eq)]
pub struct Nik(String);

impl Nik {
    /// Intake validated the NIK; a referral only carries it (and may carry none).
    pub fn new(nik: impl Into<String>) -> Self {
        Self(nik.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// For people who must recognise a client but not copy the number (supervisors): the
    /// first four digits (the regency) and the last four; every other character hidden.
    pub fn masked(&self) -> String {
        let count = self.0.chars().count();
        if count < 12 {
            return "*".repeat(count);
        }
        self.0
            .chars()
            .enumerate()
            .map(|(index, c)| if index < 4 || index >= count - 4 { c } else { '*' })
            .collect()
    }
}

impl From<String> for Nik {
    fn from(nik: String) -> Self {
        Self(nik)
    }
}

impl fmt::Debug for Nik {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Nik(<redacted>)")
    }
}

/// The cash benefit a need was granted, passed through to disbursement untouched: the
/// referral service neither checks nor pays it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CashBenefit {
    pub amount_per_period_idr: i64,
    /// "monthly", "quarterly" or "once", as eligibility decided.
    pub cadence: String,
    /// Payment component, e.g. "base" or "child_0_6".
    pub component: String,
}

/// What an OPD needs to act on a referral; fixed when the referral is requested.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReferralDetails {
    pub referral_id: Uuid,
    pub case_id: Uuid,
    pub need_id: Uuid,
    pub category: NeedCategory,
    pub programme_code: Option<String>,
    pub opd_code: OpdCode,
    pub opd_name: String,
    pub service: String,
    /// Kemendagri village code of the client's address.
    pub region_code: String,
    pub client_name: String,
    pub client_nik: Nik,
    /// Registry id of the household or person, for programmes that pay.
    pub beneficiary_id: Option<String>,
    /// `Some` for cash programmes only.
    pub benefit: Option<CashBenefit>,
    /// 1 for the need's first referral, one more for each re-routing or placement.
    pub attempt: u32,
    /// The referral this one replaces.
    pub previous_referral_id: Option<Uuid>,
    /// The deadlines, fixed at the request.
    pub sla: SlaTerms,
}

/// How a referral came to its agency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RoutedBy {
    /// The routing table chose the agency for a decided need.
    RoutingTable,
    /// The agency before declined; the next agency of the route took over.
    ReroutedAfterRejection,
    /// The agency before named this one.
    Transferred,
    /// A supervisor chose the agency for a need nothing routed.
    PlacedBySupervisor,
}

impl RoutedBy {
    pub const ALL: [Self; 4] = [
        Self::RoutingTable,
        Self::ReroutedAfterRejection,
        Self::Transferred,
        Self::PlacedBySupervisor,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::RoutingTable => "routing_table",
            Self::ReroutedAfterRejection => "rerouted_after_rejection",
            Self::Transferred => "transferred",
            Self::PlacedBySupervisor => "placed_by_supervisor",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|routed_by| routed_by.as_str() == code)
    }
}

/// A need of another case that waits on a referral for the same person and need.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LinkedNeed {
    pub case_id: Uuid,
    pub need_id: Uuid,
}

/// Why a referral that was accepted could not be completed successfully.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OutcomeCode {
    ClientRefused,
    LackOfCapacity,
    UnableToContact,
    NoLongerNeeded,
    Other,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("\"{0}\" is not an outcome code (one of: {list})", list = OutcomeCode::list())]
pub struct UnknownOutcomeCode(pub String);

impl OutcomeCode {
    pub const ALL: [Self; 5] = [
        Self::ClientRefused,
        Self::LackOfCapacity,
        Self::UnableToContact,
        Self::NoLongerNeeded,
        Self::Other,
    ];

    pub fn parse(code: &str) -> Result<Self, UnknownOutcomeCode> {
        Self::ALL
            .into_iter()
            .find(|outcome| outcome.as_str() == code)
            .ok_or_else(|| UnknownOutcomeCode(code.to_owned()))
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::ClientRefused => "client_refused",
            Self::LackOfCapacity => "lack_of_capacity",
            Self::UnableToContact => "unable_to_contact",
            Self::NoLongerNeeded => "no_longer_needed",
            Self::Other => "other",
        }
    }

    pub(crate) fn list() -> String {
        Self::ALL.map(Self::as_str).join(", ")
    }
}

impl FromStr for OutcomeCode {
    type Err = UnknownOutcomeCode;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl fmt::Display for OutcomeCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a referral ended. An unsuccessful end always says why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Completion {
    Successful,
    NotSuccessful(OutcomeCode),
}

impl Completion {
    pub fn successful(self) -> bool {
        matches!(self, Self::Successful)
    }

    /// The proto's `outcome_code`: `None` (empty) for a successful completion.
    pub fn outcome_code(self) -> Option<OutcomeCode> {
        match self {
            Self::Successful => None,
            Self::NotSuccessful(code) => Some(code),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReferralRequested {
    pub details: ReferralDetails,
    pub routed_by: RoutedBy,
    /// For people: the table version, who passed it on and why, or who placed it.
    pub note: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReferralAcknowledged {
    pub referral_id: Uuid,
    pub case_id: Uuid,
    pub opd_code: OpdCode,
    pub actor: String,
}

/// Carries the whole details: disbursement starts paying from this event alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReferralAccepted {
    pub details: ReferralDetails,
    pub actor: String,
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReferralRejected {
    pub referral_id: Uuid,
    pub case_id: Uuid,
    pub opd_code: OpdCode,
    pub actor: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReferralCompleted {
    pub referral_id: Uuid,
    pub case_id: Uuid,
    pub opd_code: OpdCode,
    pub actor: String,
    pub completion: Completion,
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReferralInProgress {
    pub referral_id: Uuid,
    pub case_id: Uuid,
    pub opd_code: OpdCode,
    pub actor: String,
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReferralTransferred {
    pub referral_id: Uuid,
    pub case_id: Uuid,
    pub opd_code: OpdCode,
    pub actor: String,
    pub to_opd_code: OpdCode,
    pub reason: String,
}

/// Withdrawn by the SLRT; `opd_code` is the agency that held it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReferralRevoked {
    pub referral_id: Uuid,
    pub case_id: Uuid,
    pub opd_code: OpdCode,
    pub actor: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReferralEscalated {
    pub referral_id: Uuid,
    pub case_id: Uuid,
    pub opd_code: OpdCode,
    pub clock: SlaClock,
    pub level: u32,
    pub escalated_to: String,
    pub escalated_to_name: String,
    pub due_at: DateTime<Utc>,
    pub escalated_at: DateTime<Utc>,
    pub working_days_overdue: u32,
}

/// Recorded on the open referral's stream; correlated with the linked case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReferralLinked {
    pub referral_id: Uuid,
    pub case_id: Uuid,
    pub opd_code: OpdCode,
    pub linked: LinkedNeed,
}

/// The referral ended (completed or revoked), and a need linked to it ends with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkedNeedClosed {
    pub referral_id: Uuid,
    pub linked: LinkedNeed,
    /// Completed or revoked.
    pub referral_status: ReferralStatus,
    /// `Some` when the referral was completed.
    pub completion: Option<Completion>,
}

/// Everything that can happen to one referral; its stream holds nothing else.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReferralEvent {
    Requested(ReferralRequested),
    Acknowledged(ReferralAcknowledged),
    Accepted(ReferralAccepted),
    Rejected(ReferralRejected),
    InProgress(ReferralInProgress),
    Completed(ReferralCompleted),
    Transferred(ReferralTransferred),
    Revoked(ReferralRevoked),
    Escalated(ReferralEscalated),
    Linked(ReferralLinked),
    LinkedNeedClosed(LinkedNeedClosed),
}

impl ReferralEvent {
    /// Full protobuf name of the payload, for the envelope's `event_type`.
    pub fn event_type(&self) -> &'static str {
        match self {
            Self::Requested(_) => "slrt.referral.v1.ReferralRequested",
            Self::Acknowledged(_) => "slrt.referral.v1.ReferralAcknowledged",
            Self::Accepted(_) => "slrt.referral.v1.ReferralAccepted",
            Self::Rejected(_) => "slrt.referral.v1.ReferralRejected",
            Self::InProgress(_) => "slrt.referral.v1.ReferralInProgress",
            Self::Completed(_) => "slrt.referral.v1.ReferralCompleted",
            Self::Transferred(_) => "slrt.referral.v1.ReferralTransferred",
            Self::Revoked(_) => "slrt.referral.v1.ReferralRevoked",
            Self::Escalated(_) => "slrt.referral.v1.ReferralEscalated",
            Self::Linked(_) => "slrt.referral.v1.ReferralLinked",
            Self::LinkedNeedClosed(_) => "slrt.referral.v1.LinkedNeedClosed",
        }
    }

    pub fn referral_id(&self) -> Uuid {
        match self {
            Self::Requested(e) => e.details.referral_id,
            Self::Accepted(e) => e.details.referral_id,
            Self::Acknowledged(e) => e.referral_id,
            Self::Rejected(e) => e.referral_id,
            Self::InProgress(e) => e.referral_id,
            Self::Completed(e) => e.referral_id,
            Self::Transferred(e) => e.referral_id,
            Self::Revoked(e) => e.referral_id,
            Self::Escalated(e) => e.referral_id,
            Self::Linked(e) => e.referral_id,
            Self::LinkedNeedClosed(e) => e.referral_id,
        }
    }

    /// The correlation id for the envelope: the case whose timeline shows the event. For
    /// the events about a linked need, that is the linked case.
    pub fn case_id(&self) -> Uuid {
        match self {
            Self::Requested(e) => e.details.case_id,
            Self::Accepted(e) => e.details.case_id,
            Self::Acknowledged(e) => e.case_id,
            Self::Rejected(e) => e.case_id,
            Self::InProgress(e) => e.case_id,
            Self::Completed(e) => e.case_id,
            Self::Transferred(e) => e.case_id,
            Self::Revoked(e) => e.case_id,
            Self::Escalated(e) => e.case_id,
            Self::Linked(e) => e.linked.case_id,
            Self::LinkedNeedClosed(e) => e.linked.case_id,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nik_never_shows_in_debug_output() {
        let nik = Nik::new("3375014107900001");
        assert_eq!(format!("{nik:?}"), "Nik(<redacted>)");
        assert_eq!(nik.as_str(), "3375014107900001");
    }

    #[test]
    fn a_masked_nik_keeps_only_the_regency_and_the_last_four_digits() {
        assert_eq!(Nik::new("3375014107900001").masked(), "3375********0001");
        assert_eq!(Nik::new("").masked(), "");
        assert_eq!(Nik::new("12345").masked(), "*****");
    }

    #[test]
    fn every_outcome_code_parses_back_and_unknown_ones_are_named() {
        for code in OutcomeCode::ALL {
            assert_eq!(OutcomeCode::parse(code.as_str()), Ok(code));
        }
        assert_eq!(
            OutcomeCode::parse("moved_away").map_err(|e| e.to_string()),
            Err("\"moved_away\" is not an outcome code (one of: client_refused, \
                 lack_of_capacity, unable_to_contact, no_longer_needed, other)"
                .to_owned())
        );
    }
}
