//! Domain events of the referral aggregate. They mirror `slrt.referral.v1` (events.proto)
//! with typed fields; the app layer maps them to and from the stored protobuf payloads.

use std::fmt;
use std::str::FromStr;

use uuid::Uuid;

use super::opd::OpdCode;
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

/// Everything that can happen to one referral; its stream holds nothing else.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReferralEvent {
    Requested(ReferralRequested),
    Acknowledged(ReferralAcknowledged),
    Accepted(ReferralAccepted),
    Rejected(ReferralRejected),
    Completed(ReferralCompleted),
}

impl ReferralEvent {
    /// Full protobuf name of the payload, for the envelope's `event_type`.
    pub fn event_type(&self) -> &'static str {
        match self {
            Self::Requested(_) => "slrt.referral.v1.ReferralRequested",
            Self::Acknowledged(_) => "slrt.referral.v1.ReferralAcknowledged",
            Self::Accepted(_) => "slrt.referral.v1.ReferralAccepted",
            Self::Rejected(_) => "slrt.referral.v1.ReferralRejected",
            Self::Completed(_) => "slrt.referral.v1.ReferralCompleted",
        }
    }

    pub fn referral_id(&self) -> Uuid {
        match self {
            Self::Requested(e) => e.details.referral_id,
            Self::Accepted(e) => e.details.referral_id,
            Self::Acknowledged(e) => e.referral_id,
            Self::Rejected(e) => e.referral_id,
            Self::Completed(e) => e.referral_id,
        }
    }

    /// The correlation id for the envelope.
    pub fn case_id(&self) -> Uuid {
        match self {
            Self::Requested(e) => e.details.case_id,
            Self::Accepted(e) => e.details.case_id,
            Self::Acknowledged(e) => e.case_id,
            Self::Rejected(e) => e.case_id,
            Self::Completed(e) => e.case_id,
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
