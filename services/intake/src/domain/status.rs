//! A case's status, derived from the status of its needs.

/// Where one need stands, as the tracker learns it from the services' events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NeedStatus {
    /// Registered, not decided yet.
    Open,
    /// Eligibility granted it under a programme.
    Approved,
    /// Eligibility refused it (terminal).
    Rejected,
    /// Routed to an OPD.
    Referred,
    /// Approved but no OPD route matched: supervisors must act.
    Unrouted,
    /// The OPD declined the referral.
    ReferralRejected,
    /// The OPD is serving it.
    InService,
    /// The OPD finished (terminal).
    Resolved,
}

impl NeedStatus {
    pub fn code(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Approved => "approved",
            Self::Rejected => "rejected",
            Self::Referred => "referred",
            Self::Unrouted => "unrouted",
            Self::ReferralRejected => "referral_rejected",
            Self::InService => "in_service",
            Self::Resolved => "resolved",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        [
            Self::Open,
            Self::Approved,
            Self::Rejected,
            Self::Referred,
            Self::Unrouted,
            Self::ReferralRejected,
            Self::InService,
            Self::Resolved,
        ]
        .into_iter()
        .find(|status| status.code() == code)
    }

    pub fn is_terminal(self) -> bool {
        matches!(self, Self::Rejected | Self::Resolved)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaseStatus {
    Open,
    Assessed,
    Referred,
    InService,
    Resolved,
}

impl CaseStatus {
    pub fn code(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Assessed => "assessed",
            Self::Referred => "referred",
            Self::InService => "in_service",
            Self::Resolved => "resolved",
        }
    }
}

/// The case is as far along as its least advanced open need lets it claim to be: resolved
/// only when every need is finished; in service once any need is being served.
pub fn case_status(needs: &[NeedStatus]) -> CaseStatus {
    if needs.is_empty() {
        return CaseStatus::Open;
    }
    if needs.iter().all(|need| need.is_terminal()) {
        return CaseStatus::Resolved;
    }
    if needs.contains(&NeedStatus::InService) {
        return CaseStatus::InService;
    }
    if needs
        .iter()
        .any(|need| matches!(need, NeedStatus::Referred | NeedStatus::ReferralRejected))
    {
        return CaseStatus::Referred;
    }
    if needs.contains(&NeedStatus::Open) {
        return CaseStatus::Open;
    }
    CaseStatus::Assessed
}

#[cfg(test)]
mod tests {
    use super::NeedStatus::*;
    use super::*;

    #[test]
    fn a_case_is_resolved_only_when_every_need_is_finished() {
        assert_eq!(case_status(&[Resolved, Rejected]), CaseStatus::Resolved);
        assert_eq!(case_status(&[Resolved, InService]), CaseStatus::InService);
        assert_eq!(case_status(&[Resolved, Unrouted]), CaseStatus::Assessed);
    }

    #[test]
    fn a_case_moves_forward_with_its_needs() {
        assert_eq!(case_status(&[Open, Open]), CaseStatus::Open);
        assert_eq!(case_status(&[Approved, Rejected]), CaseStatus::Assessed);
        assert_eq!(case_status(&[Referred, Approved]), CaseStatus::Referred);
        assert_eq!(case_status(&[InService, Referred]), CaseStatus::InService);
    }

    #[test]
    fn status_codes_round_trip() {
        for status in [
            Open,
            Approved,
            Rejected,
            Referred,
            Unrouted,
            ReferralRejected,
            InService,
            Resolved,
        ] {
            assert_eq!(NeedStatus::parse(status.code()), Some(status));
        }
    }
}
