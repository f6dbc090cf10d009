//! Intake's events of the merge review (maker/checker), which
//! `proto/slrt/intake/v1/events.proto` does not define yet.
//!
//! They are declared here with the same field numbers and types the .proto messages below
//! must have, so the payloads on the log and in the event store keep their encoding when
//! the messages move to `proto/` (the generated types then replace these, and this module
//! goes):
//!
//! ```proto
//! message DuplicateMergeProposed {
//!   string duplicate_id = 1;
//!   string survivor_person_id = 2;
//!   // The record to be merged into the survivor; empty for member_of_another_household.
//!   string merged_person_id = 3;
//!   // For member_of_another_household: the household the person moves to; empty otherwise.
//!   string declared_household_id = 4;
//!   string reason = 5;
//!   string proposed_by = 6;
//! }
//! message DuplicateMergeConfirmed {
//!   string duplicate_id = 1;
//!   string survivor_person_id = 2;
//!   string merged_person_id = 3;
//!   string declared_household_id = 4;
//!   string proposed_by = 5;
//!   string confirmed_by = 6;
//!   string note = 7;
//! }
//! message DuplicateMergeRejected {
//!   string duplicate_id = 1;
//!   string proposed_by = 2;
//!   string rejected_by = 3;
//!   string reason = 4;
//! }
//! ```
//!
//! All three go on the pair's stream (`duplicate-<id>`). A confirmation is followed, in the
//! same transaction, by the `DuplicateAdjudicated` (`same_person`) and `PeopleMerged` events
//! a merge has always made.

/// One person proposed that the two records of a pair are one person.
#[derive(Clone, PartialEq, prost::Message)]
pub struct DuplicateMergeProposed {
    #[prost(string, tag = "1")]
    pub duplicate_id: String,
    #[prost(string, tag = "2")]
    pub survivor_person_id: String,
    #[prost(string, tag = "3")]
    pub merged_person_id: String,
    #[prost(string, tag = "4")]
    pub declared_household_id: String,
    #[prost(string, tag = "5")]
    pub reason: String,
    #[prost(string, tag = "6")]
    pub proposed_by: String,
}

/// Another person, a coordinator, checked the proposal and confirmed it.
#[derive(Clone, PartialEq, prost::Message)]
pub struct DuplicateMergeConfirmed {
    #[prost(string, tag = "1")]
    pub duplicate_id: String,
    #[prost(string, tag = "2")]
    pub survivor_person_id: String,
    #[prost(string, tag = "3")]
    pub merged_person_id: String,
    #[prost(string, tag = "4")]
    pub declared_household_id: String,
    #[prost(string, tag = "5")]
    pub proposed_by: String,
    #[prost(string, tag = "6")]
    pub confirmed_by: String,
    #[prost(string, tag = "7")]
    pub note: String,
}

/// A coordinator checked the proposal and rejected it: the pair is open again.
#[derive(Clone, PartialEq, prost::Message)]
pub struct DuplicateMergeRejected {
    #[prost(string, tag = "1")]
    pub duplicate_id: String,
    #[prost(string, tag = "2")]
    pub proposed_by: String,
    #[prost(string, tag = "3")]
    pub rejected_by: String,
    #[prost(string, tag = "4")]
    pub reason: String,
}

const PACKAGE: &str = "slrt.intake.v1";

impl prost::Name for DuplicateMergeProposed {
    const NAME: &'static str = "DuplicateMergeProposed";
    const PACKAGE: &'static str = PACKAGE;
}

impl prost::Name for DuplicateMergeConfirmed {
    const NAME: &'static str = "DuplicateMergeConfirmed";
    const PACKAGE: &'static str = PACKAGE;
}

impl prost::Name for DuplicateMergeRejected {
    const NAME: &'static str = "DuplicateMergeRejected";
    const PACKAGE: &'static str = PACKAGE;
}

#[cfg(test)]
mod tests {
    use prost::{Message, Name};

    use super::*;

    #[test]
    fn the_events_are_named_in_intakes_package_and_round_trip() {
        assert_eq!(
            DuplicateMergeProposed::full_name(),
            "slrt.intake.v1.DuplicateMergeProposed"
        );
        assert_eq!(
            DuplicateMergeConfirmed::full_name(),
            "slrt.intake.v1.DuplicateMergeConfirmed"
        );
        assert_eq!(
            DuplicateMergeRejected::full_name(),
            "slrt.intake.v1.DuplicateMergeRejected"
        );
        let proposed = DuplicateMergeProposed {
            duplicate_id: "d".into(),
            survivor_person_id: "s".into(),
            merged_person_id: "m".into(),
            declared_household_id: String::new(),
            reason: "same KTP".into(),
            proposed_by: "bo-1".into(),
        };
        let decoded = DuplicateMergeProposed::decode(proposed.encode_to_vec().as_slice());
        assert_eq!(decoded.ok(), Some(proposed));
    }
}
