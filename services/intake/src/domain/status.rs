//! Where a need stands, how the services' events move it, and a case's status derived from
//! the status of its needs.
//!
//! Events reach the tracker on four topics. Those of one topic about one case arrive in the
//! order they were recorded (they share the case id as key), but the topics interleave
//! freely: eligibility's decision can arrive after referral has already routed the need. So
//! the rules below never let a decision overwrite what referral reported, apply referral's
//! events in arrival order, and let a referral move the need only while it is the referral
//! the need follows: a superseded referral's late event is history, not news.

use uuid::Uuid;

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
    /// Already referred under another case of the same person: it follows that referral.
    Linked,
    /// Approved but no OPD (left) to route it to: supervisors must act.
    Unrouted,
    /// The OPD declined the referral; re-routing follows.
    ReferralRejected,
    /// The OPD is serving it.
    InService,
    /// The OPD finished (terminal).
    Resolved,
    /// The SLRT withdrew the referral (terminal).
    Withdrawn,
}

impl NeedStatus {
    pub const ALL: [Self; 10] = [
        Self::Open,
        Self::Approved,
        Self::Rejected,
        Self::Referred,
        Self::Linked,
        Self::Unrouted,
        Self::ReferralRejected,
        Self::InService,
        Self::Resolved,
        Self::Withdrawn,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Approved => "approved",
            Self::Rejected => "rejected",
            Self::Referred => "referred",
            Self::Linked => "linked",
            Self::Unrouted => "unrouted",
            Self::ReferralRejected => "referral_rejected",
            Self::InService => "in_service",
            Self::Resolved => "resolved",
            Self::Withdrawn => "withdrawn",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|status| status.code() == code)
    }

    pub fn is_terminal(self) -> bool {
        matches!(self, Self::Rejected | Self::Resolved | Self::Withdrawn)
    }

    /// Set by eligibility's decision, before referral has said anything about the need.
    pub fn is_decision_level(self) -> bool {
        matches!(self, Self::Open | Self::Approved | Self::Rejected)
    }
}

/// An SLA clock of a referral: the OPD's first response, or the need's resolution.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum SlaClock {
    // Declared in this order so that the later, graver clock compares greater.
    Response,
    Resolution,
}

impl SlaClock {
    pub fn code(self) -> &'static str {
        match self {
            Self::Response => "response",
            Self::Resolution => "resolution",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        [Self::Response, Self::Resolution]
            .into_iter()
            .find(|clock| clock.code() == code)
    }
}

/// What the tracker keeps about one need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackedNeed {
    pub status: NeedStatus,
    /// The referral the need follows: its own, or the other case's one it is linked to.
    pub referral_id: Option<Uuid>,
    pub opd_code: Option<String>,
    /// Attempt number of the need's latest referral of its own; 0 before the first.
    pub attempt: i32,
    /// Highest escalation step any of the need's referrals reached; 0 when never escalated.
    pub escalation_level: i32,
    /// The SLA clock that has run out and not been met since; `None` while on time.
    pub overdue: Option<SlaClock>,
}

impl TrackedNeed {
    pub fn new() -> Self {
        Self {
            status: NeedStatus::Open,
            referral_id: None,
            opd_code: None,
            attempt: 0,
            escalation_level: 0,
            overdue: None,
        }
    }
}

impl Default for TrackedNeed {
    fn default() -> Self {
        Self::new()
    }
}

/// One event, as far as it concerns one need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NeedStep {
    /// Eligibility decided the need.
    Decided { approved: bool },
    /// A referral was requested for the need: routed by the table, re-routed after a
    /// rejection or transfer, or placed by a supervisor.
    Referred {
        referral_id: Uuid,
        opd_code: String,
        attempt: i32,
    },
    /// The same person's need is already referred under another case; this need follows
    /// that referral instead of getting its own.
    Linked { referral_id: Uuid, opd_code: String },
    /// No agency (left) to route the need to.
    Unrouted,
    /// A step of a referral; `status` is where it leaves the need, `None` when the need stays
    /// where it is (acknowledged, transferred: the re-routing that follows moves it).
    ReferralStep {
        referral_id: Uuid,
        status: Option<NeedStatus>,
    },
    /// The referral a linked need waited on ended, and the need ends with it.
    LinkClosed { referral_id: Uuid, status: NeedStatus },
    /// An SLA clock of a referral ran out, or stayed out long enough to climb a step.
    Escalated {
        referral_id: Uuid,
        clock: SlaClock,
        level: i32,
    },
}

impl TrackedNeed {
    /// The need after `step`, or `None` when the step does not move it: a decision arriving
    /// after referral has spoken, a step of a referral the need no longer follows, a
    /// referral it already follows.
    pub fn after(&self, step: &NeedStep) -> Option<Self> {
        let mut next = self.clone();
        match step {
            NeedStep::Decided { approved } => {
                if !self.status.is_decision_level() {
                    return None;
                }
                next.status = if *approved {
                    NeedStatus::Approved
                } else {
                    NeedStatus::Rejected
                };
            }
            NeedStep::Referred {
                referral_id,
                opd_code,
                attempt,
            } => {
                // Referrals recorded before attempts were numbered carry 0: they were first ones.
                let attempt = (*attempt).max(1);
                if self.referral_id == Some(*referral_id) || attempt < self.attempt {
                    return None;
                }
                next.status = NeedStatus::Referred;
                next.referral_id = Some(*referral_id);
                next.opd_code = Some(opd_code.clone());
                next.attempt = attempt;
                next.overdue = next.overdue.filter(|clock| *clock == SlaClock::Resolution);
            }
            NeedStep::Linked { referral_id, opd_code } => {
                if self.referral_id == Some(*referral_id) {
                    return None;
                }
                next.status = NeedStatus::Linked;
                next.referral_id = Some(*referral_id);
                next.opd_code = Some(opd_code.clone());
            }
            NeedStep::Unrouted => {
                // Only a need without a live referral can be unrouted; anything else is a
                // late copy of an earlier routing failure.
                if !matches!(
                    self.status,
                    NeedStatus::Open | NeedStatus::Approved | NeedStatus::ReferralRejected | NeedStatus::Unrouted
                ) {
                    return None;
                }
                next.status = NeedStatus::Unrouted;
                next.referral_id = None;
                next.opd_code = None;
                next.overdue = next.overdue.filter(|clock| *clock == SlaClock::Resolution);
            }
            NeedStep::ReferralStep { referral_id, status } => {
                if self.referral_id != Some(*referral_id) {
                    return None;
                }
                if let Some(status) = status {
                    next.status = *status;
                }
                // Every step of the referral after its request answers the OPD's response clock.
                next.overdue = next.overdue.filter(|clock| *clock == SlaClock::Resolution);
            }
            NeedStep::LinkClosed { referral_id, status } => {
                // Links follow their referral when it is re-routed, so the referral named
                // here may be a later one than the need was linked to; the event names the
                // need itself, and only a need still linked can close this way.
                if self.status != NeedStatus::Linked {
                    return None;
                }
                next.status = *status;
                next.referral_id = Some(*referral_id);
            }
            NeedStep::Escalated {
                referral_id,
                clock,
                level,
            } => {
                if self.referral_id != Some(*referral_id) {
                    return None;
                }
                next.escalation_level = next.escalation_level.max(*level);
                next.overdue = next.overdue.max(Some(*clock));
            }
        }
        if next.status.is_terminal() {
            next.overdue = None;
        }
        (next != *self).then_some(next)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaseStatus {
    Open,
    Assessed,
    Referred,
    InService,
    Resolved,
    /// The desk closed it (every need finished), or answered the question or suggestion.
    Closed,
    /// The applicant withdrew it.
    Withdrawn,
}

impl CaseStatus {
    pub const ALL: [Self; 7] = [
        Self::Open,
        Self::Assessed,
        Self::Referred,
        Self::InService,
        Self::Resolved,
        Self::Closed,
        Self::Withdrawn,
    ];

    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|status| status.code() == code)
    }

    pub fn code(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Assessed => "assessed",
            Self::Referred => "referred",
            Self::InService => "in_service",
            Self::Resolved => "resolved",
            Self::Closed => "closed",
            Self::Withdrawn => "withdrawn",
        }
    }
}

/// What the desk and the complaint's handling say about a case, beside its needs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CaseLifecycle {
    /// The applicant withdrew the case.
    pub withdrawn: bool,
    /// The desk closed it, or answered the question or suggestion.
    pub closed: bool,
    /// The complaint itself was settled: an inclusion report's verification was decided.
    pub complaint_settled: bool,
}

/// The case's status from its needs and its lifecycle: a withdrawal or a closure is final
/// whatever the needs say; a complaint without needs is open until it is settled; otherwise
/// the needs decide (`case_status`).
pub fn lifecycle_status(needs: &[NeedStatus], lifecycle: CaseLifecycle) -> CaseStatus {
    if lifecycle.withdrawn {
        return CaseStatus::Withdrawn;
    }
    if lifecycle.closed {
        return CaseStatus::Closed;
    }
    if needs.is_empty() {
        return if lifecycle.complaint_settled {
            CaseStatus::Resolved
        } else {
            CaseStatus::Open
        };
    }
    case_status(needs)
}

/// One need as the desk's decisions see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeskNeed {
    pub need_id: Uuid,
    pub category: String,
    pub status: NeedStatus,
}

/// What the desk's actions on a case are decided on: the tracker's view of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeskCase {
    /// "question", "suggestion", "grievance"; `None` for an application.
    pub complaint_type: Option<String>,
    pub needs: Vec<DeskNeed>,
    pub lifecycle: CaseLifecycle,
    /// An inclusion report's verification task is open at eligibility.
    pub verification_open: bool,
}

/// Why the desk cannot do what it asked; the Display is the sentence the operator reads.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LifecycleError {
    #[error("the case was withdrawn by the applicant; nothing more can be recorded on it")]
    AlreadyWithdrawn,
    #[error("the case is already closed")]
    AlreadyClosed,
    #[error("the case cannot be closed while needs are open: {}", describe(.0))]
    NeedsOpen(Vec<DeskNeed>),
    #[error("the case cannot be closed while eligibility's verification of the reported person is open")]
    VerificationOpen,
    #[error("only a question or a suggestion is answered this way; this case is {0}")]
    NotAnswerable(String),
}

fn describe(needs: &[DeskNeed]) -> String {
    needs
        .iter()
        .map(|need| format!("{} ({}, {})", need.category, need.need_id, need.status.code()))
        .collect::<Vec<_>>()
        .join(", ")
}

impl DeskCase {
    fn still_recordable(&self) -> Result<(), LifecycleError> {
        if self.lifecycle.withdrawn {
            return Err(LifecycleError::AlreadyWithdrawn);
        }
        if self.lifecycle.closed {
            return Err(LifecycleError::AlreadyClosed);
        }
        Ok(())
    }

    /// The applicant withdraws: the needs not finished yet are withdrawn with the case.
    pub fn withdraw(&self) -> Result<Vec<Uuid>, LifecycleError> {
        self.still_recordable()?;
        Ok(self
            .needs
            .iter()
            .filter(|need| !need.status.is_terminal())
            .map(|need| need.need_id)
            .collect())
    }

    /// The desk closes the case: only once every need is finished (resolved, withdrawn, or
    /// refused by eligibility) and no verification the complaint started is pending.
    pub fn close(&self) -> Result<(), LifecycleError> {
        self.still_recordable()?;
        let open: Vec<DeskNeed> = self
            .needs
            .iter()
            .filter(|need| !need.status.is_terminal())
            .cloned()
            .collect();
        if !open.is_empty() {
            return Err(LifecycleError::NeedsOpen(open));
        }
        if self.verification_open {
            return Err(LifecycleError::VerificationOpen);
        }
        Ok(())
    }

    /// The desk answers a question or a suggestion, which closes it.
    pub fn answer(&self) -> Result<(), LifecycleError> {
        self.still_recordable()?;
        match self.complaint_type.as_deref() {
            Some("question" | "suggestion") => Ok(()),
            Some(other) => Err(LifecycleError::NotAnswerable(format!("a {other}"))),
            None => Err(LifecycleError::NotAnswerable("an application".into())),
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
    // A linked need waits on an open referral just as a referred one does.
    if needs.iter().any(|need| {
        matches!(
            need,
            NeedStatus::Referred | NeedStatus::Linked | NeedStatus::ReferralRejected
        )
    }) {
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
        assert_eq!(case_status(&[Resolved, Withdrawn]), CaseStatus::Resolved);
        assert_eq!(case_status(&[Withdrawn]), CaseStatus::Resolved);
        assert_eq!(case_status(&[Resolved, InService]), CaseStatus::InService);
        assert_eq!(case_status(&[Resolved, Unrouted]), CaseStatus::Assessed);
        assert_eq!(case_status(&[Withdrawn, Linked]), CaseStatus::Referred);
    }

    #[test]
    fn a_case_moves_forward_with_its_needs() {
        assert_eq!(case_status(&[Open, Open]), CaseStatus::Open);
        assert_eq!(case_status(&[Approved, Rejected]), CaseStatus::Assessed);
        assert_eq!(case_status(&[Referred, Approved]), CaseStatus::Referred);
        assert_eq!(case_status(&[Linked, Approved]), CaseStatus::Referred);
        assert_eq!(case_status(&[Linked, Open]), CaseStatus::Referred);
        assert_eq!(case_status(&[InService, Referred]), CaseStatus::InService);
        assert_eq!(case_status(&[InService, Linked]), CaseStatus::InService);
    }

    #[test]
    fn a_withdrawal_or_a_closure_is_final_whatever_the_needs_say() {
        let withdrawn = CaseLifecycle {
            withdrawn: true,
            ..CaseLifecycle::default()
        };
        assert_eq!(lifecycle_status(&[InService], withdrawn), CaseStatus::Withdrawn);
        let closed = CaseLifecycle {
            closed: true,
            ..CaseLifecycle::default()
        };
        assert_eq!(lifecycle_status(&[Resolved], closed), CaseStatus::Closed);
        assert_eq!(lifecycle_status(&[], closed), CaseStatus::Closed);
        assert_eq!(
            lifecycle_status(&[Referred], CaseLifecycle::default()),
            CaseStatus::Referred
        );
    }

    #[test]
    fn a_complaint_without_needs_is_open_until_settled() {
        assert_eq!(lifecycle_status(&[], CaseLifecycle::default()), CaseStatus::Open);
        let settled = CaseLifecycle {
            complaint_settled: true,
            ..CaseLifecycle::default()
        };
        assert_eq!(lifecycle_status(&[], settled), CaseStatus::Resolved);
    }

    fn desk(complaint_type: Option<&str>, needs: &[NeedStatus]) -> DeskCase {
        DeskCase {
            complaint_type: complaint_type.map(str::to_string),
            needs: needs
                .iter()
                .enumerate()
                .map(|(index, status)| DeskNeed {
                    need_id: Uuid::from_u128(index as u128 + 1),
                    category: "cash_assistance".into(),
                    status: *status,
                })
                .collect(),
            lifecycle: CaseLifecycle::default(),
            verification_open: false,
        }
    }

    #[test]
    fn a_case_closes_only_when_every_need_is_finished_and_names_those_that_are_not() {
        assert_eq!(desk(None, &[Resolved, Withdrawn, Rejected]).close(), Ok(()));
        let Err(LifecycleError::NeedsOpen(open)) = desk(None, &[Resolved, InService, Referred]).close() else {
            panic!("closed with open needs")
        };
        assert_eq!(open.len(), 2);
        let message = LifecycleError::NeedsOpen(open).to_string();
        assert!(
            message.contains("in_service") && message.contains("referred"),
            "{message}"
        );
        let mut reported = desk(Some("grievance"), &[]);
        reported.verification_open = true;
        assert_eq!(reported.close(), Err(LifecycleError::VerificationOpen));
    }

    #[test]
    fn a_withdrawal_takes_the_open_needs_with_it_and_ends_the_case() {
        let case = desk(None, &[Resolved, Referred, Open]);
        assert_eq!(case.withdraw(), Ok(vec![Uuid::from_u128(2), Uuid::from_u128(3)]));
        let mut withdrawn = case.clone();
        withdrawn.lifecycle.withdrawn = true;
        assert_eq!(withdrawn.withdraw(), Err(LifecycleError::AlreadyWithdrawn));
        assert_eq!(withdrawn.close(), Err(LifecycleError::AlreadyWithdrawn));
        let mut closed = desk(None, &[Resolved]);
        closed.lifecycle.closed = true;
        assert_eq!(closed.withdraw(), Err(LifecycleError::AlreadyClosed));
    }

    #[test]
    fn only_questions_and_suggestions_are_answered() {
        assert_eq!(desk(Some("question"), &[]).answer(), Ok(()));
        assert_eq!(desk(Some("suggestion"), &[]).answer(), Ok(()));
        assert!(desk(Some("grievance"), &[]).answer().is_err());
        assert!(desk(None, &[Open]).answer().is_err());
    }

    #[test]
    fn status_codes_round_trip() {
        for status in CaseStatus::ALL {
            assert_eq!(CaseStatus::parse(status.code()), Some(status));
        }
        for status in NeedStatus::ALL {
            assert_eq!(NeedStatus::parse(status.code()), Some(status));
        }
        assert_eq!(NeedStatus::parse("transferred"), None);
    }

    fn referral(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    fn given(steps: &[NeedStep]) -> TrackedNeed {
        steps
            .iter()
            .fold(TrackedNeed::new(), |need, step| need.after(step).unwrap_or(need))
    }

    fn referred(n: u128, opd: &str, attempt: i32) -> NeedStep {
        NeedStep::Referred {
            referral_id: referral(n),
            opd_code: opd.into(),
            attempt,
        }
    }

    fn step(n: u128, status: Option<NeedStatus>) -> NeedStep {
        NeedStep::ReferralStep {
            referral_id: referral(n),
            status,
        }
    }

    #[test]
    fn a_rejected_need_re_routed_to_another_opd_follows_the_new_referral() {
        let need = given(&[
            NeedStep::Decided { approved: true },
            referred(1, "DINSOS", 1),
            step(1, Some(ReferralRejected)),
            referred(2, "BAZNAS", 2),
        ]);
        assert_eq!(need.status, Referred);
        assert_eq!(need.referral_id, Some(referral(2)));
        assert_eq!(need.opd_code.as_deref(), Some("BAZNAS"));
        assert_eq!(need.attempt, 2);

        let need = given(&[
            referred(1, "DINSOS", 1),
            step(1, Some(ReferralRejected)),
            referred(2, "BAZNAS", 2),
            step(2, Some(InService)),
            step(2, Some(Resolved)),
        ]);
        assert_eq!(need.status, Resolved);
    }

    #[test]
    fn a_late_step_of_a_superseded_referral_does_not_move_the_need() {
        let need = given(&[
            referred(1, "DINSOS", 1),
            step(1, Some(ReferralRejected)),
            referred(2, "BAZNAS", 2),
        ]);
        assert_eq!(need.after(&step(1, Some(Resolved))), None);
        assert_eq!(need.after(&step(1, Some(InService))), None);
        assert_eq!(need.after(&referred(1, "DINSOS", 1)), None, "the old request again");
        assert_eq!(
            need.after(&NeedStep::Escalated {
                referral_id: referral(1),
                clock: SlaClock::Response,
                level: 3
            }),
            None
        );
    }

    #[test]
    fn a_decision_never_overwrites_what_referral_reported() {
        let need = given(&[referred(1, "DINSOS", 1), step(1, Some(InService))]);
        assert_eq!(need.after(&NeedStep::Decided { approved: true }), None);
        let linked = given(&[NeedStep::Linked {
            referral_id: referral(9),
            opd_code: "DINSOS".into(),
        }]);
        assert_eq!(linked.after(&NeedStep::Decided { approved: true }), None);
        let unrouted = given(&[NeedStep::Unrouted]);
        assert_eq!(unrouted.after(&NeedStep::Decided { approved: true }), None);
        assert_eq!(given(&[NeedStep::Decided { approved: false }]).status, Rejected);
    }

    #[test]
    fn a_rejection_with_no_agency_left_leaves_the_need_unrouted_until_a_supervisor_places_it() {
        let need = given(&[
            NeedStep::Decided { approved: true },
            referred(1, "DINSOS", 1),
            step(1, Some(ReferralRejected)),
            NeedStep::Unrouted,
        ]);
        assert_eq!(need.status, Unrouted);
        assert_eq!(need.referral_id, None);
        assert_eq!(need.opd_code, None);

        let placed = need.after(&referred(2, "DINKES", 2)).unwrap();
        assert_eq!(placed.status, Referred);
        assert_eq!(placed.referral_id, Some(referral(2)));
        assert_eq!(
            placed.after(&NeedStep::Unrouted),
            None,
            "a late copy of the routing failure"
        );
    }

    #[test]
    fn a_transfer_keeps_the_need_where_it_is_until_the_new_referral_arrives() {
        let need = given(&[referred(1, "DINSOS", 1), step(1, Some(InService))]);
        let transferred = need.after(&step(1, None));
        assert_eq!(transferred, None);
        let rerouted = need.after(&referred(2, "BAZNAS", 2)).unwrap();
        assert_eq!(rerouted.status, Referred);
        assert_eq!(rerouted.opd_code.as_deref(), Some("BAZNAS"));
    }

    #[test]
    fn a_revoked_referral_withdraws_the_need() {
        let need = given(&[referred(1, "DINSOS", 1), step(1, Some(Withdrawn))]);
        assert_eq!(need.status, Withdrawn);
        assert!(need.status.is_terminal());
    }

    #[test]
    fn a_linked_need_follows_the_other_case_referral_to_its_end() {
        let linked = given(&[
            NeedStep::Decided { approved: true },
            NeedStep::Linked {
                referral_id: referral(7),
                opd_code: "DINSOS".into(),
            },
        ]);
        assert_eq!(linked.status, Linked);
        assert_eq!(linked.referral_id, Some(referral(7)));
        let closed = |n, status| NeedStep::LinkClosed {
            referral_id: referral(n),
            status,
        };
        assert_eq!(linked.after(&closed(7, Resolved)).unwrap().status, Resolved);
        assert_eq!(linked.after(&closed(7, Withdrawn)).unwrap().status, Withdrawn);
        assert_eq!(
            linked.after(&closed(8, Resolved)).unwrap().referral_id,
            Some(referral(8)),
            "the referral it waited on was re-routed"
        );
        let resolved = linked.after(&closed(7, Resolved)).unwrap();
        assert_eq!(
            resolved.after(&closed(7, Withdrawn)),
            None,
            "only a linked need closes with its link"
        );

        let relinked = linked
            .after(&NeedStep::Linked {
                referral_id: referral(8),
                opd_code: "BAZNAS".into(),
            })
            .unwrap();
        assert_eq!(relinked.status, Linked);
        assert_eq!(
            relinked.opd_code.as_deref(),
            Some("BAZNAS"),
            "the link followed a re-routing"
        );
    }

    #[test]
    fn escalations_keep_the_highest_level_and_the_graver_clock_until_met() {
        let escalated = |level, clock| NeedStep::Escalated {
            referral_id: referral(1),
            clock,
            level,
        };
        let need = given(&[
            referred(1, "DINSOS", 1),
            escalated(1, SlaClock::Response),
            escalated(2, SlaClock::Response),
        ]);
        assert_eq!(need.escalation_level, 2);
        assert_eq!(need.overdue, Some(SlaClock::Response));
        assert_eq!(
            need.after(&escalated(1, SlaClock::Response)),
            None,
            "a lower step again"
        );

        let acknowledged = need.after(&step(1, None)).unwrap();
        assert_eq!(acknowledged.overdue, None, "the OPD responded");
        assert_eq!(acknowledged.escalation_level, 2, "the highest level stays on record");

        let late = given(&[
            referred(1, "DINSOS", 1),
            escalated(1, SlaClock::Response),
            escalated(2, SlaClock::Resolution),
            step(1, Some(ReferralRejected)),
            referred(2, "BAZNAS", 2),
        ]);
        assert_eq!(late.escalation_level, 2);
        assert_eq!(
            late.overdue,
            Some(SlaClock::Resolution),
            "re-routing does not restart the need's clock"
        );
        assert_eq!(late.after(&step(2, Some(Resolved))).unwrap().overdue, None);
    }

    #[test]
    fn every_step_applied_twice_has_the_effect_of_once() {
        let steps = [
            NeedStep::Decided { approved: true },
            referred(1, "DINSOS", 1),
            step(1, None),
            NeedStep::Escalated {
                referral_id: referral(1),
                clock: SlaClock::Resolution,
                level: 1,
            },
            step(1, Some(InService)),
            step(1, Some(ReferralRejected)),
            NeedStep::Unrouted,
            referred(2, "DINKES", 2),
            step(2, Some(Resolved)),
        ];
        let mut need = TrackedNeed::new();
        for step in &steps {
            need = need.after(step).unwrap_or(need);
            assert_eq!(need.after(step), None, "{step:?} again");
        }
    }
}
