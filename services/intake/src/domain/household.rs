//! A household (keluarga): a stable id, the KK numbers it held over time, its members with
//! their relationship to the head, and its head.
//!
//! The KK number is not the household's identity: Disdukcapil issues a new card when the
//! family moves, when the head dies, on a divorce, or when members split off (DOMAIN.md §4),
//! and the family is still the same family, with the same history of cases and aid.
//! Decisions are pure: the state folded from the household's events, and a command, give
//! new events or a rejection.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use slrt_identity::KkNumber;
use uuid::Uuid;

/// A member's relationship to the head, as on the family card.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Relationship {
    Head,
    Spouse,
    Child,
    Parent,
    Grandchild,
    ChildInLaw,
    Sibling,
    Other,
}

impl Relationship {
    pub const ALL: [Self; 8] = [
        Self::Head,
        Self::Spouse,
        Self::Child,
        Self::Parent,
        Self::Grandchild,
        Self::ChildInLaw,
        Self::Sibling,
        Self::Other,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Self::Head => "head",
            Self::Spouse => "spouse",
            Self::Child => "child",
            Self::Parent => "parent",
            Self::Grandchild => "grandchild",
            Self::ChildInLaw => "child_in_law",
            Self::Sibling => "sibling",
            Self::Other => "other",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|relationship| relationship.code() == text.trim())
    }
}

/// Why a household's family card was replaced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KkChangeReason {
    Move,
    HeadDeath,
    Divorce,
    Split,
    /// The number on record was wrong.
    Correction,
}

impl KkChangeReason {
    pub const ALL: [Self; 5] = [
        Self::Move,
        Self::HeadDeath,
        Self::Divorce,
        Self::Split,
        Self::Correction,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Self::Move => "move",
            Self::HeadDeath => "head_death",
            Self::Divorce => "divorce",
            Self::Split => "split",
            Self::Correction => "correction",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|reason| reason.code() == text.trim())
    }
}

/// What happened to a household.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HouseholdEvent {
    Registered {
        kk_number: String,
    },
    MemberJoined {
        person_id: Uuid,
        relationship: Relationship,
    },
    MemberLeft {
        person_id: Uuid,
        reason: String,
    },
    KkChanged {
        previous_kk_number: String,
        kk_number: String,
        reason: KkChangeReason,
        effective_on: NaiveDate,
    },
    HeadChanged {
        previous_head: Option<Uuid>,
        new_head: Uuid,
        reason: String,
        /// The relationship the previous head keeps, when still a member.
        previous_head_relationship: Relationship,
    },
}

/// A household as its events left it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Household {
    pub kk_number: String,
    /// When the current KK took effect; `None` for the one the household was registered with.
    pub kk_effective_on: Option<NaiveDate>,
    pub head: Option<Uuid>,
    pub members: BTreeMap<Uuid, Relationship>,
}

/// Why the domain refuses a change; the Display is the sentence the back office reads, and
/// `field` names the input it is about.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct HouseholdError {
    pub field: &'static str,
    pub message: String,
}

fn refuse(field: &'static str, message: impl Into<String>) -> HouseholdError {
    HouseholdError {
        field,
        message: message.into(),
    }
}

impl Household {
    /// Folds a household's events, oldest first.
    pub fn from_events<'a>(events: impl IntoIterator<Item = &'a HouseholdEvent>) -> Self {
        let mut household = Self::default();
        for event in events {
            household.apply(event);
        }
        household
    }

    pub fn apply(&mut self, event: &HouseholdEvent) {
        match event {
            HouseholdEvent::Registered { kk_number } => self.kk_number.clone_from(kk_number),
            HouseholdEvent::MemberJoined {
                person_id,
                relationship,
            } => {
                self.members.insert(*person_id, *relationship);
                if *relationship == Relationship::Head {
                    self.head = Some(*person_id);
                }
            }
            HouseholdEvent::MemberLeft { person_id, .. } => {
                self.members.remove(person_id);
                if self.head == Some(*person_id) {
                    self.head = None;
                }
            }
            HouseholdEvent::KkChanged {
                kk_number,
                effective_on,
                ..
            } => {
                self.kk_number.clone_from(kk_number);
                self.kk_effective_on = Some(*effective_on);
            }
            HouseholdEvent::HeadChanged {
                previous_head,
                new_head,
                previous_head_relationship,
                ..
            } => {
                if let Some(previous) = previous_head
                    && let Some(relationship) = self.members.get_mut(previous)
                {
                    *relationship = *previous_head_relationship;
                }
                self.members.insert(*new_head, Relationship::Head);
                self.head = Some(*new_head);
            }
        }
    }

    /// The family card is replaced. The new number must differ, and a change takes effect
    /// neither in the future nor before the one it replaces.
    pub fn change_kk(
        &self,
        kk: &KkNumber,
        reason: KkChangeReason,
        effective_on: NaiveDate,
        today: NaiveDate,
    ) -> Result<Vec<HouseholdEvent>, HouseholdError> {
        if kk.as_str() == self.kk_number {
            return Err(refuse("kk_number", "this is already the household's KK number"));
        }
        if effective_on > today {
            return Err(refuse("effective_on", "a KK change cannot take effect in the future"));
        }
        if let Some(previous) = self.kk_effective_on
            && effective_on < previous
        {
            return Err(refuse(
                "effective_on",
                format!("the current KK took effect on {previous}; a later card cannot take effect before it"),
            ));
        }
        Ok(vec![HouseholdEvent::KkChanged {
            previous_kk_number: self.kk_number.clone(),
            kk_number: kk.as_str().to_string(),
            reason,
            effective_on,
        }])
    }

    /// Another member becomes the head; the previous head, if still a member, is recorded
    /// with the relationship given (the card says what they are to the new head).
    pub fn change_head(
        &self,
        person_id: Uuid,
        reason: &str,
        previous_head_relationship: Relationship,
    ) -> Result<Vec<HouseholdEvent>, HouseholdError> {
        if !self.members.contains_key(&person_id) {
            return Err(refuse(
                "person_id",
                "the new head must be a member of the household; add them first",
            ));
        }
        if self.head == Some(person_id) {
            return Err(refuse("person_id", "this person is already the head"));
        }
        if previous_head_relationship == Relationship::Head {
            return Err(refuse(
                "previous_head_relationship",
                "a household has one head; give the previous head's other relationship",
            ));
        }
        Ok(vec![HouseholdEvent::HeadChanged {
            previous_head: self.head,
            new_head: person_id,
            reason: reason.to_string(),
            previous_head_relationship,
        }])
    }

    /// A person joins. Only the first member of a household without a head can join as its
    /// head; otherwise the head is changed with [`Household::change_head`].
    pub fn add_member(
        &self,
        person_id: Uuid,
        relationship: Relationship,
    ) -> Result<Vec<HouseholdEvent>, HouseholdError> {
        if self.members.contains_key(&person_id) {
            return Err(refuse("person_id", "this person is already a member of the household"));
        }
        if relationship == Relationship::Head && self.head.is_some() {
            return Err(refuse(
                "relationship",
                "the household already has a head; change the head instead",
            ));
        }
        Ok(vec![HouseholdEvent::MemberJoined {
            person_id,
            relationship,
        }])
    }

    /// A person leaves. The head can leave only as the last member: otherwise another member
    /// must become head first, so that the family is never left without one by mistake.
    pub fn remove_member(&self, person_id: Uuid, reason: &str) -> Result<Vec<HouseholdEvent>, HouseholdError> {
        if !self.members.contains_key(&person_id) {
            return Err(refuse("person_id", "this person is not a member of the household"));
        }
        if self.head == Some(person_id) && self.members.len() > 1 {
            return Err(refuse(
                "person_id",
                "the head cannot leave while others remain; change the head first",
            ));
        }
        Ok(vec![HouseholdEvent::MemberLeft {
            person_id,
            reason: reason.to_string(),
        }])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    fn date(text: &str) -> NaiveDate {
        text.parse().unwrap_or_default()
    }

    fn family() -> Household {
        Household::from_events(&[
            HouseholdEvent::Registered {
                kk_number: "3375011203150004".into(),
            },
            HouseholdEvent::MemberJoined {
                person_id: id(1),
                relationship: Relationship::Head,
            },
            HouseholdEvent::MemberJoined {
                person_id: id(2),
                relationship: Relationship::Spouse,
            },
        ])
    }

    fn kk(digits: &str) -> KkNumber {
        KkNumber::parse_at(digits, date("2026-11-22")).unwrap_or_else(|error| panic!("{error}"))
    }

    #[test]
    fn the_first_member_as_head_becomes_the_head() {
        assert_eq!(family().head, Some(id(1)));
    }

    #[test]
    fn a_change_of_head_records_the_previous_heads_new_relationship() {
        let mut household = family();
        let events = household.change_head(id(2), "head died", Relationship::Other);
        let Ok(events) = events else { panic!("{events:?}") };
        for event in &events {
            household.apply(event);
        }
        assert_eq!(household.head, Some(id(2)));
        assert_eq!(household.members.get(&id(1)), Some(&Relationship::Other));
        assert_eq!(household.members.get(&id(2)), Some(&Relationship::Head));
    }

    #[test]
    fn only_a_member_can_become_head() {
        let refused = family().change_head(id(9), "x", Relationship::Other);
        assert_eq!(refused.map_err(|error| error.field), Err("person_id"));
    }

    #[test]
    fn the_head_leaves_only_as_the_last_member() {
        assert!(family().remove_member(id(1), "moved").is_err());
        assert!(family().remove_member(id(2), "moved").is_ok());
    }

    #[test]
    fn a_second_head_is_refused() {
        let refused = family().add_member(id(3), Relationship::Head);
        assert_eq!(refused.map_err(|error| error.field), Err("relationship"));
    }

    #[test]
    fn a_kk_change_cannot_precede_the_last_one_or_repeat_the_number() {
        let mut household = family();
        let today = date("2026-11-22");
        let first = household.change_kk(&kk("3375010101200001"), KkChangeReason::Move, date("2026-01-10"), today);
        let Ok(first) = first else { panic!("{first:?}") };
        household.apply(&first[0]);
        let earlier = household.change_kk(
            &kk("3375010101200002"),
            KkChangeReason::Split,
            date("2025-12-31"),
            today,
        );
        assert_eq!(earlier.map_err(|error| error.field), Err("effective_on"));
        let same = household.change_kk(&kk("3375010101200001"), KkChangeReason::Correction, today, today);
        assert_eq!(same.map_err(|error| error.field), Err("kk_number"));
        let future = household.change_kk(
            &kk("3375010101200002"),
            KkChangeReason::Split,
            date("2027-01-01"),
            today,
        );
        assert_eq!(future.map_err(|error| error.field), Err("effective_on"));
    }
}
