//! The desk pre-screen: what the registry and the ledger say about a person before a case
//! is opened, so that the operator sees a death record or an overlapping programme at once.

use super::catalogue::ProgrammeCode;
use super::ledger::LedgerView;
use super::registry::{Applicant, Desil, HouseholdId, PersonId};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Screening {
    pub known_person: bool,
    pub person_id: Option<PersonId>,
    pub household_id: Option<HouseholdId>,
    pub deceased: bool,
    pub desil: Option<Desil>,
    /// Programmes the person or their household holds now (held ones included: a payment
    /// pause does not make room for an overlapping programme), sorted.
    pub active_programmes: Vec<ProgrammeCode>,
}

/// `ledger` holds the entries of the person and their household
/// ([`LedgerView::for_applicant`]).
pub fn screen(applicant: &Applicant, ledger: &LedgerView) -> Screening {
    let facts = applicant.facts();
    Screening {
        known_person: facts.is_some(),
        person_id: facts.map(|f| f.person_id.clone()),
        household_id: facts.map(|f| f.household_id.clone()),
        deceased: facts.is_some_and(|f| f.deceased),
        desil: facts.map(|f| f.desil),
        active_programmes: ledger.current_programmes(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::catalogue::ProgrammeCode;
    use crate::domain::fixtures::{Seed, person};
    use crate::domain::ledger::{Beneficiary, EnrolmentStatus, LedgerEntry};

    fn codes(screening: &Screening) -> Vec<&str> {
        screening.active_programmes.iter().map(ProgrammeCode::as_str).collect()
    }

    #[test]
    fn screening_a_registry_member_shows_their_desil_and_what_the_household_receives() {
        let seed = Seed::load();
        let applicant = seed.applicant("P-000001");

        let screening = screen(&applicant, &seed.ledger_for(&applicant));

        assert!(screening.known_person);
        assert!(!screening.deceased);
        assert_eq!(
            screening.household_id.as_ref().map(HouseholdId::as_str),
            Some("H-000001")
        );
        assert_eq!(screening.desil.map(Desil::get), Some(1));
        assert_eq!(codes(&screening), ["BPNT", "PKH"]);
    }

    #[test]
    fn screening_a_deceased_person_shows_the_death_and_the_programmes_still_running() {
        let seed = Seed::load();
        let applicant = seed.applicant("P-000018");

        let screening = screen(&applicant, &seed.ledger_for(&applicant));

        assert!(screening.deceased);
        assert_eq!(codes(&screening), ["PBI-JK", "PKH"]);
    }

    #[test]
    fn screening_someone_outside_the_registry_knows_nothing_about_them() {
        let seed = Seed::load();

        let screening = screen(&Applicant::NotInRegistry, &seed.ledger_for(&Applicant::NotInRegistry));

        assert_eq!(
            screening,
            Screening {
                known_person: false,
                person_id: None,
                household_id: None,
                deceased: false,
                desil: None,
                active_programmes: vec![],
            }
        );
    }

    #[test]
    fn screening_lists_held_enrolments_and_leaves_out_ended_ones() {
        let applicant = Applicant::InRegistry(person(2, "1980-01-01"));
        let entry = |code: &str, status| LedgerEntry {
            programme: ProgrammeCode::parse(code).expect("valid code"),
            beneficiary: Beneficiary::Household(HouseholdId::parse("H-TEST").expect("valid id")),
            status,
        };
        let ledger = LedgerView::new(vec![
            entry("BPNT", EnrolmentStatus::Held),
            entry("BLT-DD", EnrolmentStatus::Ended),
        ]);

        let screening = screen(&applicant, &ledger);

        assert_eq!(codes(&screening), ["BPNT"]);
    }
}
