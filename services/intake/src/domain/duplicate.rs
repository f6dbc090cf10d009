//! A suspected pair in the adjudication queue, under maker/checker for merges.
//!
//! `distinct` is one person's decision. `same_person` merges two records for good (their
//! cases and households answer under one), so one person only proposes it and another,
//! with the coordinator role, checks it: the proposer never confirms their own proposal. A
//! rejected proposal sends the pair back to the queue, undecided: the checker found the
//! evidence short of a merge, which does not make the two records two people.

use std::fmt;

/// Where a pair stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PairStatus {
    /// In the queue, undecided.
    Open,
    /// One person proposed to merge the records; a checker confirms or rejects it.
    MergeProposed,
    /// Decided: distinct, or merged once a checker confirmed it.
    Decided,
}

impl PairStatus {
    pub const ALL: [Self; 3] = [Self::Open, Self::MergeProposed, Self::Decided];

    pub fn code(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::MergeProposed => "merge_proposed",
            Self::Decided => "decided",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|status| status.code() == code)
    }
}

impl fmt::Display for PairStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// A pair as the adjudication rules see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pair {
    pub status: PairStatus,
    /// Who proposed the merge now awaiting a checker.
    pub proposed_by: Option<String>,
}

/// Why a decision on a pair is refused; the Display is the sentence the adjudicator reads.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PairError {
    #[error("the pair is already decided")]
    AlreadyDecided,
    #[error("{proposed_by} proposed to merge this pair; a coordinator confirms or rejects that first")]
    MergePending { proposed_by: String },
    #[error("no merge of this pair is proposed")]
    NoProposal,
    #[error("you proposed this merge; another person with the coordinator role checks it (maker/checker)")]
    OwnProposal,
}

impl Pair {
    /// Whether the pair takes a decision now (`distinct`, or a merge proposal): only while
    /// it is open.
    pub fn decide(&self) -> Result<(), PairError> {
        match self.status {
            PairStatus::Open => Ok(()),
            PairStatus::MergeProposed => Err(PairError::MergePending {
                proposed_by: self.proposed_by.clone().unwrap_or_default(),
            }),
            PairStatus::Decided => Err(PairError::AlreadyDecided),
        }
    }

    /// Whether `checker` may confirm or reject the proposed merge: one is proposed, and
    /// they did not propose it.
    pub fn review(&self, checker: &str) -> Result<(), PairError> {
        match self.status {
            PairStatus::Open => Err(PairError::NoProposal),
            PairStatus::Decided => Err(PairError::AlreadyDecided),
            PairStatus::MergeProposed if self.proposed_by.as_deref() == Some(checker) => Err(PairError::OwnProposal),
            PairStatus::MergeProposed => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proposed_by(proposer: &str) -> Pair {
        Pair {
            status: PairStatus::MergeProposed,
            proposed_by: Some(proposer.to_string()),
        }
    }

    const OPEN: Pair = Pair {
        status: PairStatus::Open,
        proposed_by: None,
    };

    #[test]
    fn an_open_pair_takes_a_decision_and_nothing_to_review() {
        assert_eq!(OPEN.decide(), Ok(()));
        assert_eq!(OPEN.review("coordinator-1"), Err(PairError::NoProposal));
    }

    #[test]
    fn a_proposed_merge_waits_for_another_person_to_check_it() {
        let pair = proposed_by("bo-1");
        assert_eq!(
            pair.decide(),
            Err(PairError::MergePending {
                proposed_by: "bo-1".to_string()
            })
        );
        assert_eq!(pair.review("bo-1"), Err(PairError::OwnProposal));
        assert_eq!(pair.review("coordinator-1"), Ok(()));
    }

    #[test]
    fn a_decided_pair_takes_nothing_more() {
        let pair = Pair {
            status: PairStatus::Decided,
            proposed_by: Some("bo-1".to_string()),
        };
        assert_eq!(pair.decide(), Err(PairError::AlreadyDecided));
        assert_eq!(pair.review("coordinator-1"), Err(PairError::AlreadyDecided));
    }

    #[test]
    fn statuses_round_trip_through_their_codes() {
        for status in PairStatus::ALL {
            assert_eq!(PairStatus::parse(status.code()), Some(status));
        }
        assert_eq!(PairStatus::parse("pending"), None);
    }
}
