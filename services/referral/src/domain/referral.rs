//! The referral aggregate: one need handed to one OPD, and what that OPD did with it.
//!
//! ```text
//! requested ──> acknowledged ──> accepted ──> completed (successful | not, with outcome code)
//!     │              │
//!     └──────────────┴─────────> rejected (with reason)
//! ```
//!
//! Acknowledging is optional. Only the owning OPD may act; to anyone else the referral does
//! not exist. Repeating a command whose effect is already recorded is reported as
//! [`ReferralError::AlreadyInState`], so the app can answer it like the first time.

use std::fmt;

use uuid::Uuid;

use super::commands::{
    AcceptReferral, AcknowledgeReferral, CompleteReferral, ReferralCommand, RejectReferral, RequestReferral,
};
use super::events::{
    Completion, OutcomeCode, ReferralAccepted, ReferralAcknowledged, ReferralCompleted, ReferralDetails, ReferralEvent,
    ReferralRejected, ReferralRequested, UnknownOutcomeCode,
};
use super::opd::OpdCode;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReferralStatus {
    Requested,
    Acknowledged,
    Accepted,
    Rejected,
    Completed,
}

impl ReferralStatus {
    pub const ALL: [Self; 5] = [
        Self::Requested,
        Self::Acknowledged,
        Self::Accepted,
        Self::Rejected,
        Self::Completed,
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
            Self::Rejected => "rejected",
            Self::Completed => "completed",
        }
    }

    /// Still waiting for the OPD: what `ListOpenReferrals` and the SLA clocks care about.
    pub fn is_open(self) -> bool {
        !matches!(self, Self::Rejected | Self::Completed)
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
    Complete,
}

impl ReferralAction {
    fn participle(self) -> &'static str {
        match self {
            Self::Request => "requested",
            Self::Acknowledge => "acknowledged",
            Self::Accept => "accepted",
            Self::Reject => "rejected",
            Self::Complete => "completed",
        }
    }
}

/// Why the domain said no. The Display is the sentence the caller reads.
///
/// For the app layer: `NotFound` is not-found; `AlreadyInState` is an idempotent repeat
/// (answer with the current state); `Conflict` and `AlreadyExists` are conflicts; everything
/// else is a rejection, with [`ReferralError::field`] naming the offending input if any.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReferralError {
    /// No such referral, or one routed to another OPD: the two are deliberately the same
    /// answer, so that an agency cannot learn another agency's referral ids.
    #[error("referral not found")]
    NotFound,
    #[error("actor is required: name the officer acting for the OPD")]
    ActorRequired,
    #[error("a reason is required to reject a referral")]
    ReasonRequired,
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
}

fn refusal(status: ReferralStatus, action: ReferralAction) -> String {
    let action = action.participle();
    match status {
        ReferralStatus::Requested | ReferralStatus::Acknowledged => {
            format!("referral is {status} but not yet accepted; it cannot be {action}")
        }
        ReferralStatus::Accepted | ReferralStatus::Rejected | ReferralStatus::Completed => {
            format!("referral is already {status}; it cannot be {action}")
        }
    }
}

impl ReferralError {
    /// The command field a rejection is about, for structured error bodies.
    pub fn field(&self) -> Option<&'static str> {
        match self {
            Self::ActorRequired => Some("actor"),
            Self::ReasonRequired => Some("reason"),
            Self::OutcomeCodeRequired | Self::UnknownOutcomeCode(_) | Self::OutcomeCodeOnSuccess => {
                Some("outcome_code")
            }
            Self::NotFound
            | Self::InvalidTransition { .. }
            | Self::AlreadyInState { .. }
            | Self::Conflict { .. }
            | Self::AlreadyExists => None,
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
        }
    }

    /// Applies one recorded event. Events are facts, so this never refuses; a stream that
    /// should not exist is caught by [`Referral::from_history`]. A `Requested` event only
    /// ever starts a stream and changes nothing here.
    pub fn apply(&mut self, event: &ReferralEvent) {
        match event {
            ReferralEvent::Requested(_) => {}
            ReferralEvent::Acknowledged(_) => self.status = ReferralStatus::Acknowledged,
            ReferralEvent::Accepted(_) => self.status = ReferralStatus::Accepted,
            ReferralEvent::Rejected(e) => {
                self.status = ReferralStatus::Rejected;
                self.rejection_reason = Some(e.reason.clone());
            }
            ReferralEvent::Completed(e) => {
                self.status = ReferralStatus::Completed;
                self.completion = Some(e.completion);
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

    /// Whether `opd` may see this referral; queries use it as well as commands.
    pub fn is_visible_to(&self, opd: &OpdCode) -> bool {
        self.owner() == opd
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
        ReferralCommand::Complete(cmd) => complete(owned(state, cmd.referral_id, &cmd.opd)?, cmd),
    }
}

fn owned<'a>(state: Option<&'a Referral>, referral_id: Uuid, opd: &OpdCode) -> Result<&'a Referral, ReferralError> {
    state
        .filter(|r| r.id() == referral_id && r.is_visible_to(opd))
        .ok_or(ReferralError::NotFound)
}

fn request(state: Option<&Referral>, cmd: &RequestReferral) -> Result<Vec<ReferralEvent>, ReferralError> {
    match state {
        None => Ok(vec![ReferralEvent::Requested(ReferralRequested {
            details: cmd.details.clone(),
        })]),
        Some(existing) if existing.details == cmd.details => Err(ReferralError::AlreadyInState {
            status: existing.status,
        }),
        Some(_) => Err(ReferralError::AlreadyExists),
    }
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
        status @ (ReferralStatus::Accepted | ReferralStatus::Rejected | ReferralStatus::Completed) => {
            Err(ReferralError::InvalidTransition {
                status,
                action: ReferralAction::Acknowledge,
            })
        }
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
        status @ (ReferralStatus::Rejected | ReferralStatus::Completed) => Err(ReferralError::InvalidTransition {
            status,
            action: ReferralAction::Accept,
        }),
    }
}

fn reject(referral: &Referral, cmd: &RejectReferral) -> Result<Vec<ReferralEvent>, ReferralError> {
    let actor = required_actor(&cmd.actor)?;
    let reason = optional(&cmd.reason).ok_or(ReferralError::ReasonRequired)?;
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
        status @ (ReferralStatus::Accepted | ReferralStatus::Completed) => Err(ReferralError::InvalidTransition {
            status,
            action: ReferralAction::Reject,
        }),
    }
}

fn complete(referral: &Referral, cmd: &CompleteReferral) -> Result<Vec<ReferralEvent>, ReferralError> {
    let actor = required_actor(&cmd.actor)?;
    let completion = completion(cmd.successful, &cmd.outcome_code)?;
    match referral.status {
        ReferralStatus::Accepted => Ok(vec![ReferralEvent::Completed(ReferralCompleted {
            referral_id: referral.id(),
            case_id: referral.details.case_id,
            opd_code: cmd.opd.clone(),
            actor,
            completion,
            note: optional(&cmd.note),
        })]),
        ReferralStatus::Completed if referral.completion == Some(completion) => Err(ReferralError::AlreadyInState {
            status: referral.status,
        }),
        ReferralStatus::Completed => Err(ReferralError::Conflict {
            status: referral.status,
            field: "outcome",
        }),
        status @ (ReferralStatus::Requested | ReferralStatus::Acknowledged | ReferralStatus::Rejected) => {
            Err(ReferralError::InvalidTransition {
                status,
                action: ReferralAction::Complete,
            })
        }
    }
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
