//! The referral aggregate: one need handed to one OPD, and what became of it.
//!
//! ```text
//! requested ──> acknowledged ──> accepted ──> in_progress ──> completed (successful | not, with outcome code)
//!     │              │               └──────────────────────────^
//!     ├──────────────┴──> rejected (reason required; the app re-routes the need)
//!     └─ any open status ──> transferred (to a named agency; the app re-routes the need there)
//!                        ──> revoked (by the SLRT; terminal)
//! ```
//!
//! Acknowledging and starting the service are optional steps. Only the owning OPD may act;
//! to anyone else the referral does not exist. The SLRT may revoke any open referral. SLA
//! timers record escalations while the clock they belong to still runs, and needs of other
//! cases may be linked to an open referral; both leave the status as it is. Repeating a
//! command whose effect is already recorded is reported as [`ReferralError::AlreadyInState`],
//! so the app can answer it like the first time.

use std::fmt;

use uuid::Uuid;

use super::commands::{
    AcceptReferral, AcknowledgeReferral, CompleteReferral, EscalateReferral, LinkNeed, ReferralCommand, RejectReferral,
    RequestReferral, RevokeReferral, StartService, TransferReferral,
};
use super::events::{
    Completion, LinkedNeed, LinkedNeedClosed, OutcomeCode, ReferralAccepted, ReferralAcknowledged, ReferralCompleted,
    ReferralDetails, ReferralEscalated, ReferralEvent, ReferralInProgress, ReferralLinked, ReferralRejected,
    ReferralRequested, ReferralRevoked, ReferralTransferred, UnknownOutcomeCode,
};
use super::opd::OpdCode;
use super::sla::SlaClock;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReferralStatus {
    Requested,
    Acknowledged,
    Accepted,
    InProgress,
    Completed,
    Rejected,
    Transferred,
    Revoked,
}

impl ReferralStatus {
    pub const ALL: [Self; 8] = [
        Self::Requested,
        Self::Acknowledged,
        Self::Accepted,
        Self::InProgress,
        Self::Completed,
        Self::Rejected,
        Self::Transferred,
        Self::Revoked,
    ];

    /// The status named `code` (as [`ReferralStatus::as_str`] spells it).
    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|status| status.as_str() == code)
    }

    /// As `ReferralState.status` in opd.proto.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Requested => "requested",
            Self::Acknowledged => "acknowledged",
            Self::Accepted => "accepted",
            Self::InProgress => "in_progress",
            Self::Completed => "completed",
            Self::Rejected => "rejected",
            Self::Transferred => "transferred",
            Self::Revoked => "revoked",
        }
    }

    /// Still in the agency's hands: what `ListOpenReferrals` and the SLA clocks care about.
    pub fn is_open(self) -> bool {
        matches!(
            self,
            Self::Requested | Self::Acknowledged | Self::Accepted | Self::InProgress
        )
    }

    /// The open statuses, for queries.
    pub fn open() -> Vec<&'static str> {
        Self::ALL
            .into_iter()
            .filter(|status| status.is_open())
            .map(Self::as_str)
            .collect()
    }

    /// Whether the SLA clock `clock` runs in this status: the response clock until the
    /// agency first answers, the resolution clock while the referral is open.
    pub fn runs(self, clock: SlaClock) -> bool {
        match clock {
            SlaClock::Response => self == Self::Requested,
            SlaClock::Resolution => self.is_open(),
        }
    }
}

impl fmt::Display for ReferralStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a command tries to do, for messages that say what was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReferralAction {
    Request,
    Acknowledge,
    Accept,
    Reject,
    StartService,
    Complete,
    Transfer,
    Revoke,
    Link,
}

impl ReferralAction {
    fn phrase(self) -> &'static str {
        match self {
            Self::Request => "requested",
            Self::Acknowledge => "acknowledged",
            Self::Accept => "accepted",
            Self::Reject => "rejected",
            Self::StartService => "put in progress",
            Self::Complete => "completed",
            Self::Transfer => "transferred",
            Self::Revoke => "revoked",
            Self::Link => "linked to",
        }
    }
}

/// Why the domain said no. The Display is the sentence the caller reads.
///
/// For the app layer: `NotFound` is not-found; `AlreadyInState` is an idempotent repeat
/// (answer with the current state); `Conflict` and `AlreadyExists` are conflicts;
/// `ClockStopped` tells a timer it has nothing to do; everything else is a rejection, with
/// [`ReferralError::field`] naming the offending input if any.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReferralError {
    /// No such referral, or one routed to another OPD: the two are deliberately the same
    /// answer, so that an agency cannot learn another agency's referral ids.
    #[error("referral not found")]
    NotFound,
    #[error("actor is required: name the officer acting")]
    ActorRequired,
    #[error("a reason is required to {0} a referral")]
    ReasonRequired(&'static str),
    #[error(
        "an outcome code is required when a referral is completed without success \
         (one of: {list})",
        list = OutcomeCode::list()
    )]
    OutcomeCodeRequired,
    #[error(transparent)]
    UnknownOutcomeCode(#[from] UnknownOutcomeCode),
    #[error("a successful completion takes no outcome code")]
    OutcomeCodeOnSuccess,
    #[error("a referral cannot be transferred to the agency that holds it ({0})")]
    TransferToSelf(OpdCode),
    #[error("{}", refusal(*.status, *.action))]
    InvalidTransition {
        status: ReferralStatus,
        action: ReferralAction,
    },
    #[error("referral is already {status}")]
    AlreadyInState { status: ReferralStatus },
    #[error("referral is already {status} with a different {field}")]
    Conflict {
        status: ReferralStatus,
        field: &'static str,
    },
    #[error("a referral with this id already exists with different details")]
    AlreadyExists,
    #[error("the {clock} clock no longer runs: the referral is {status}")]
    ClockStopped { clock: SlaClock, status: ReferralStatus },
}

fn refusal(status: ReferralStatus, action: ReferralAction) -> String {
    let action = action.phrase();
    match status {
        ReferralStatus::Requested | ReferralStatus::Acknowledged => {
            format!("referral is {status} but not yet accepted; it cannot be {action}")
        }
        ReferralStatus::Accepted | ReferralStatus::InProgress => {
            format!("referral is already {status}; it cannot be {action}")
        }
        ReferralStatus::Completed
        | ReferralStatus::Rejected
        | ReferralStatus::Transferred
        | ReferralStatus::Revoked => {
            format!("referral is already {status}, which is final; it cannot be {action}")
        }
    }
}

impl ReferralError {
    /// The command field a rejection is about, for structured error bodies.
    pub fn field(&self) -> Option<&'static str> {
        match self {
            Self::ActorRequired => Some("actor"),
            Self::ReasonRequired(_) => Some("reason"),
            Self::OutcomeCodeRequired | Self::UnknownOutcomeCode(_) | Self::OutcomeCodeOnSuccess => {
                Some("outcome_code")
            }
            Self::TransferToSelf(_) => Some("to_opd_code"),
            Self::NotFound
            | Self::InvalidTransition { .. }
            | Self::AlreadyInState { .. }
            | Self::Conflict { .. }
            | Self::AlreadyExists
            | Self::ClockStopped { .. } => None,
        }
    }
}

/// A stored stream that cannot be a referral's history: a bug or corruption, never
/// something a caller did. The app layer treats it as an internal failure.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HistoryError {
    #[error("referral stream begins with {first}, not ReferralRequested")]
    NotStartedByRequest { first: &'static str },
    #[error("referral stream has a second ReferralRequested at position {position}")]
    RequestedAgain { position: usize },
    #[error("referral stream for {expected} holds an event of referral {found} at position {position}")]
    ForeignEvent {
        expected: Uuid,
        found: Uuid,
        position: usize,
    },
}

/// A referral's current state, rebuilt from its events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Referral {
    details: ReferralDetails,
    status: ReferralStatus,
    rejection_reason: Option<String>,
    completion: Option<Completion>,
    transferred_to: Option<OpdCode>,
    revocation_reason: Option<String>,
    /// Escalation steps recorded, per clock.
    escalations: Vec<(SlaClock, u32)>,
    /// Needs of other cases that wait on this referral, in the order they were linked.
    links: Vec<LinkedNeed>,
}

impl Referral {
    /// Folds a stream, oldest first. An empty stream is no referral (`Ok(None)`).
    pub fn from_history<'a>(events: impl IntoIterator<Item = &'a ReferralEvent>) -> Result<Option<Self>, HistoryError> {
        let mut events = events.into_iter();
        let Some(first) = events.next() else {
            return Ok(None);
        };
        let ReferralEvent::Requested(requested) = first else {
            return Err(HistoryError::NotStartedByRequest {
                first: first.event_type(),
            });
        };
        let mut referral = Self::requested(requested);
        for (offset, event) in events.enumerate() {
            // Positions are 1-based like stream versions; the first event was position 1.
            let position = offset + 2;
            if matches!(event, ReferralEvent::Requested(_)) {
                return Err(HistoryError::RequestedAgain { position });
            }
            if event.referral_id() != referral.id() {
                return Err(HistoryError::ForeignEvent {
                    expected: referral.id(),
                    found: event.referral_id(),
                    position,
                });
            }
            referral.apply(event);
        }
        Ok(Some(referral))
    }

    fn requested(event: &ReferralRequested) -> Self {
        Self {
            details: event.details.clone(),
            status: ReferralStatus::Requested,
            rejection_reason: None,
            completion: None,
            transferred_to: None,
            revocation_reason: None,
            escalations: Vec::new(),
            links: Vec::new(),
        }
    }

    /// Applies one recorded event. Events are facts, so this never refuses; a stream that
    /// should not exist is caught by [`Referral::from_history`]. A `Requested` event only
    /// ever starts a stream and changes nothing here.
    pub fn apply(&mut self, event: &ReferralEvent) {
        match event {
            ReferralEvent::Requested(_) | ReferralEvent::LinkedNeedClosed(_) => {}
            ReferralEvent::Acknowledged(_) => self.status = ReferralStatus::Acknowledged,
            ReferralEvent::Accepted(_) => self.status = ReferralStatus::Accepted,
            ReferralEvent::InProgress(_) => self.status = ReferralStatus::InProgress,
            ReferralEvent::Rejected(e) => {
                self.status = ReferralStatus::Rejected;
                self.rejection_reason = Some(e.reason.clone());
            }
            ReferralEvent::Completed(e) => {
                self.status = ReferralStatus::Completed;
                self.completion = Some(e.completion);
            }
            ReferralEvent::Transferred(e) => {
                self.status = ReferralStatus::Transferred;
                self.transferred_to = Some(e.to_opd_code.clone());
            }
            ReferralEvent::Revoked(e) => {
                self.status = ReferralStatus::Revoked;
                self.revocation_reason = Some(e.reason.clone());
            }
            ReferralEvent::Escalated(e) => self.escalations.push((e.clock, e.level)),
            ReferralEvent::Linked(e) => {
                if !self.links.contains(&e.linked) {
                    self.links.push(e.linked);
                }
            }
        }
    }

    pub fn id(&self) -> Uuid {
        self.details.referral_id
    }

    pub fn details(&self) -> &ReferralDetails {
        &self.details
    }

    /// The OPD the referral was routed to: the only one that may see or act on it.
    pub fn owner(&self) -> &OpdCode {
        &self.details.opd_code
    }

    pub fn status(&self) -> ReferralStatus {
        self.status
    }

    pub fn rejection_reason(&self) -> Option<&str> {
        self.rejection_reason.as_deref()
    }

    pub fn completion(&self) -> Option<Completion> {
        self.completion
    }

    pub fn transferred_to(&self) -> Option<&OpdCode> {
        self.transferred_to.as_ref()
    }

    /// Needs of other cases waiting on this referral; they follow the need when it is
    /// re-routed.
    pub fn links(&self) -> &[LinkedNeed] {
        &self.links
    }

    /// The highest escalation step recorded for `clock`; 0 when none.
    pub fn escalation_level(&self, clock: SlaClock) -> u32 {
        self.escalations
            .iter()
            .filter(|(c, _)| *c == clock)
            .map(|(_, level)| *level)
            .max()
            .unwrap_or(0)
    }

    /// Whether `opd` may see this referral; queries use it as well as commands.
    pub fn is_visible_to(&self, opd: &OpdCode) -> bool {
        self.owner() == opd
    }

    fn closes_links(&self, completion: Option<Completion>, status: ReferralStatus) -> Vec<ReferralEvent> {
        self.links
            .iter()
            .map(|linked| {
                ReferralEvent::LinkedNeedClosed(LinkedNeedClosed {
                    referral_id: self.id(),
                    linked: *linked,
                    referral_status: status,
                    completion,
                })
            })
            .collect()
    }
}

/// Decides a command against the current state (`None`: no such stream yet).
///
/// Takes the command by reference so that the app can decide again, unchanged, after an
/// optimistic-concurrency conflict.
pub fn handle(state: Option<&Referral>, command: &ReferralCommand) -> Result<Vec<ReferralEvent>, ReferralError> {
    match command {
        ReferralCommand::Request(cmd) => request(state, cmd),
        ReferralCommand::Acknowledge(cmd) => acknowledge(owned(state, cmd.referral_id, &cmd.opd)?, cmd),
        ReferralCommand::Accept(cmd) => accept(owned(state, cmd.referral_id, &cmd.opd)?, cmd),
        ReferralCommand::Reject(cmd) => reject(owned(state, cmd.referral_id, &cmd.opd)?, cmd),
        ReferralCommand::StartService(cmd) => start_service(owned(state, cmd.referral_id, &cmd.opd)?, cmd),
        ReferralCommand::Complete(cmd) => complete(owned(state, cmd.referral_id, &cmd.opd)?, cmd),
        ReferralCommand::Transfer(cmd) => transfer(owned(state, cmd.referral_id, &cmd.opd)?, cmd),
        ReferralCommand::Revoke(cmd) => revoke(existing(state, cmd.referral_id)?, cmd),
        ReferralCommand::Escalate(cmd) => escalate(existing(state, cmd.referral_id)?, cmd),
        ReferralCommand::Link(cmd) => link(existing(state, cmd.referral_id)?, cmd),
    }
}

fn owned<'a>(state: Option<&'a Referral>, referral_id: Uuid, opd: &OpdCode) -> Result<&'a Referral, ReferralError> {
    existing(state, referral_id).and_then(|r| r.is_visible_to(opd).then_some(r).ok_or(ReferralError::NotFound))
}

/// For the SLRT's own commands (revoke, timers, links), which any agency's referral takes.
fn existing(state: Option<&Referral>, referral_id: Uuid) -> Result<&Referral, ReferralError> {
    state.filter(|r| r.id() == referral_id).ok_or(ReferralError::NotFound)
}

fn request(state: Option<&Referral>, cmd: &RequestReferral) -> Result<Vec<ReferralEvent>, ReferralError> {
    match state {
        None => Ok(vec![ReferralEvent::Requested(ReferralRequested {
            details: cmd.details.clone(),
            routed_by: cmd.routed_by,
            note: cmd.note.clone(),
        })]),
        Some(existing) if existing.details == cmd.details => Err(ReferralError::AlreadyInState {
            status: existing.status,
        }),
        Some(_) => Err(ReferralError::AlreadyExists),
    }
}

fn invalid(status: ReferralStatus, action: ReferralAction) -> ReferralError {
    ReferralError::InvalidTransition { status, action }
}

fn acknowledge(referral: &Referral, cmd: &AcknowledgeReferral) -> Result<Vec<ReferralEvent>, ReferralError> {
    let actor = required_actor(&cmd.actor)?;
    match referral.status {
        ReferralStatus::Requested => Ok(vec![ReferralEvent::Acknowledged(ReferralAcknowledged {
            referral_id: referral.id(),
            case_id: referral.details.case_id,
            opd_code: cmd.opd.clone(),
            actor,
        })]),
        ReferralStatus::Acknowledged => Err(ReferralError::AlreadyInState {
            status: referral.status,
        }),
        status => Err(invalid(status, ReferralAction::Acknowledge)),
    }
}

fn accept(referral: &Referral, cmd: &AcceptReferral) -> Result<Vec<ReferralEvent>, ReferralError> {
    let actor = required_actor(&cmd.actor)?;
    match referral.status {
        ReferralStatus::Requested | ReferralStatus::Acknowledged => {
            Ok(vec![ReferralEvent::Accepted(ReferralAccepted {
                details: referral.details.clone(),
                actor,
                note: optional(&cmd.note),
            })])
        }
        ReferralStatus::Accepted => Err(ReferralError::AlreadyInState {
            status: referral.status,
        }),
        status => Err(invalid(status, ReferralAction::Accept)),
    }
}

fn reject(referral: &Referral, cmd: &RejectReferral) -> Result<Vec<ReferralEvent>, ReferralError> {
    let actor = required_actor(&cmd.actor)?;
    let reason = optional(&cmd.reason).ok_or(ReferralError::ReasonRequired("reject"))?;
    match referral.status {
        ReferralStatus::Requested | ReferralStatus::Acknowledged => {
            Ok(vec![ReferralEvent::Rejected(ReferralRejected {
                referral_id: referral.id(),
                case_id: referral.details.case_id,
                opd_code: cmd.opd.clone(),
                actor,
                reason,
            })])
        }
        ReferralStatus::Rejected if referral.rejection_reason() == Some(reason.as_str()) => {
            Err(ReferralError::AlreadyInState {
                status: referral.status,
            })
        }
        ReferralStatus::Rejected => Err(ReferralError::Conflict {
            status: referral.status,
            field: "reason",
        }),
        status => Err(invalid(status, ReferralAction::Reject)),
    }
}

fn start_service(referral: &Referral, cmd: &StartService) -> Result<Vec<ReferralEvent>, ReferralError> {
    let actor = required_actor(&cmd.actor)?;
    match referral.status {
        ReferralStatus::Accepted => Ok(vec![ReferralEvent::InProgress(ReferralInProgress {
            referral_id: referral.id(),
            case_id: referral.details.case_id,
            opd_code: cmd.opd.clone(),
            actor,
            note: optional(&cmd.note),
        })]),
        ReferralStatus::InProgress => Err(ReferralError::AlreadyInState {
            status: referral.status,
        }),
        status => Err(invalid(status, ReferralAction::StartService)),
    }
}

fn complete(referral: &Referral, cmd: &CompleteReferral) -> Result<Vec<ReferralEvent>, ReferralError> {
    let actor = required_actor(&cmd.actor)?;
    let completion = completion(cmd.successful, &cmd.outcome_code)?;
    match referral.status {
        ReferralStatus::Accepted | ReferralStatus::InProgress => {
            let mut events = vec![ReferralEvent::Completed(ReferralCompleted {
                referral_id: referral.id(),
                case_id: referral.details.case_id,
                opd_code: cmd.opd.clone(),
                actor,
                completion,
                note: optional(&cmd.note),
            })];
            events.extend(referral.closes_links(Some(completion), ReferralStatus::Completed));
            Ok(events)
        }
        ReferralStatus::Completed if referral.completion == Some(completion) => Err(ReferralError::AlreadyInState {
            status: referral.status,
        }),
        ReferralStatus::Completed => Err(ReferralError::Conflict {
            status: referral.status,
            field: "outcome",
        }),
        status => Err(invalid(status, ReferralAction::Complete)),
    }
}

fn transfer(referral: &Referral, cmd: &TransferReferral) -> Result<Vec<ReferralEvent>, ReferralError> {
    let actor = required_actor(&cmd.actor)?;
    let reason = optional(&cmd.reason).ok_or(ReferralError::ReasonRequired("transfer"))?;
    match referral.status {
        _ if &cmd.to_opd == referral.owner() => Err(ReferralError::TransferToSelf(cmd.to_opd.clone())),
        status if status.is_open() => Ok(vec![ReferralEvent::Transferred(ReferralTransferred {
            referral_id: referral.id(),
            case_id: referral.details.case_id,
            opd_code: cmd.opd.clone(),
            actor,
            to_opd_code: cmd.to_opd.clone(),
            reason,
        })]),
        ReferralStatus::Transferred if referral.transferred_to() == Some(&cmd.to_opd) => {
            Err(ReferralError::AlreadyInState {
                status: referral.status,
            })
        }
        ReferralStatus::Transferred => Err(ReferralError::Conflict {
            status: referral.status,
            field: "to_opd_code",
        }),
        status => Err(invalid(status, ReferralAction::Transfer)),
    }
}

fn revoke(referral: &Referral, cmd: &RevokeReferral) -> Result<Vec<ReferralEvent>, ReferralError> {
    let actor = required_actor(&cmd.actor)?;
    let reason = optional(&cmd.reason).ok_or(ReferralError::ReasonRequired("revoke"))?;
    match referral.status {
        status if status.is_open() => {
            let mut events = vec![ReferralEvent::Revoked(ReferralRevoked {
                referral_id: referral.id(),
                case_id: referral.details.case_id,
                opd_code: referral.owner().clone(),
                actor,
                reason,
            })];
            events.extend(referral.closes_links(None, ReferralStatus::Revoked));
            Ok(events)
        }
        ReferralStatus::Revoked if referral.revocation_reason.as_deref() == Some(reason.as_str()) => {
            Err(ReferralError::AlreadyInState {
                status: referral.status,
            })
        }
        ReferralStatus::Revoked => Err(ReferralError::Conflict {
            status: referral.status,
            field: "reason",
        }),
        status => Err(invalid(status, ReferralAction::Revoke)),
    }
}

fn escalate(referral: &Referral, cmd: &EscalateReferral) -> Result<Vec<ReferralEvent>, ReferralError> {
    if !referral.status.runs(cmd.clock) {
        return Err(ReferralError::ClockStopped {
            clock: cmd.clock,
            status: referral.status,
        });
    }
    if referral.escalation_level(cmd.clock) >= cmd.step.level {
        return Err(ReferralError::AlreadyInState {
            status: referral.status,
        });
    }
    Ok(vec![ReferralEvent::Escalated(ReferralEscalated {
        referral_id: referral.id(),
        case_id: referral.details.case_id,
        opd_code: referral.owner().clone(),
        clock: cmd.clock,
        level: cmd.step.level,
        escalated_to: cmd.step.role.clone(),
        escalated_to_name: cmd.step.name.clone(),
        due_at: referral.details.sla.due_at(cmd.clock),
        escalated_at: cmd.now,
        working_days_overdue: cmd.working_days_overdue,
    })])
}

fn link(referral: &Referral, cmd: &LinkNeed) -> Result<Vec<ReferralEvent>, ReferralError> {
    if referral.links.contains(&cmd.linked) {
        return Err(ReferralError::AlreadyInState {
            status: referral.status,
        });
    }
    if !referral.status.is_open() {
        return Err(invalid(referral.status, ReferralAction::Link));
    }
    Ok(vec![ReferralEvent::Linked(ReferralLinked {
        referral_id: referral.id(),
        case_id: referral.details.case_id,
        opd_code: referral.owner().clone(),
        linked: cmd.linked,
    })])
}

/// The events that open a re-routed referral: the request, then a link for each need of
/// another case that waited on the referral before it, so that they follow the need.
pub fn open_with_links(request: &RequestReferral, links: &[LinkedNeed]) -> Vec<ReferralEvent> {
    let details = &request.details;
    std::iter::once(ReferralEvent::Requested(ReferralRequested {
        details: details.clone(),
        routed_by: request.routed_by,
        note: request.note.clone(),
    }))
    .chain(links.iter().map(|linked| {
        ReferralEvent::Linked(ReferralLinked {
            referral_id: details.referral_id,
            case_id: details.case_id,
            opd_code: details.opd_code.clone(),
            linked: *linked,
        })
    }))
    .collect()
}

fn completion(successful: bool, outcome_code: &str) -> Result<Completion, ReferralError> {
    match (successful, optional(outcome_code)) {
        (true, None) => Ok(Completion::Successful),
        (true, Some(_)) => Err(ReferralError::OutcomeCodeOnSuccess),
        (false, None) => Err(ReferralError::OutcomeCodeRequired),
        (false, Some(code)) => Ok(Completion::NotSuccessful(OutcomeCode::parse(&code)?)),
    }
}

fn required_actor(actor: &str) -> Result<String, ReferralError> {
    optional(actor).ok_or(ReferralError::ActorRequired)
}

/// Proto strings are empty when absent; blank text says nothing either.
fn optional(text: &str) -> Option<String> {
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_owned())
}

#[cfg(test)]
mod tests;
