//! The desk pre-screen: what the registry and the ledger say about a person before a case
//! is opened, so that the operator sees a death record or an overlapping programme at once,
//! and which programmes the overlap matrix already closes to the person.

use chrono::NaiveDate;

use super::catalogue::{Catalogue, ProgrammeCode};
use super::decision::{ClosedProgramme, Household, closed_programmes};
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
    /// The catalogue version the closed programmes were read from (the one in force on the
    /// screening day).
    pub catalogue_version: String,
    /// Programmes of that version the person could not be granted because of what they or
    /// their household (for a household programme, any member) already receive: the overlap
    /// rules a decision applies, with the enrolment that closes each.
    pub closed_programmes: Vec<ClosedProgramme>,
}

/// `ledger` holds the entries of the person and their household
/// ([`LedgerView::for_applicant`]); `household` their fellow members and those members'
/// enrolments (`Household::default()` when unknown: only the person's and the household's
/// own enrolments then count).
pub fn screen(
    catalogue: &Catalogue,
    applicant: &Applicant,
    household: &Household,
    ledger: &LedgerView,
    today: NaiveDate,
) -> Screening {
    let facts = applicant.facts();
    Screening {
        catalogue_version: catalogue.version().to_owned(),
        closed_programmes: closed_programmes(catalogue, applicant, household, ledger, today),
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
    use crate::domain::decision::Member;
    use crate::domain::fixtures::{Seed, date, person, shipped_versions, today};
    use crate::domain::ledger::{Beneficiary, EnrolmentStatus, LedgerEntry};

    fn screen_in_seed(seed: &Seed, applicant: &Applicant) -> Screening {
        screen(
            &seed.catalogue,
            applicant,
            &Household::default(),
            &seed.ledger_for(applicant),
            today(),
        )
    }

    fn catalogue_2026_2() -> Catalogue {
        shipped_versions().pop().expect("two shipped versions")
    }

    fn closed(screening: &Screening) -> Vec<(&str, &str, &str)> {
        screening
            .closed_programmes
            .iter()
            .map(|c| (c.programme.as_str(), c.rule.as_str(), c.closed_by.programme.as_str()))
            .collect()
    }

    fn entry(code: &str, beneficiary: Beneficiary, status: EnrolmentStatus) -> LedgerEntry {
        LedgerEntry {
            programme: ProgrammeCode::parse(code).expect("valid code"),
            beneficiary,
            status,
        }
    }

    fn h_test() -> Beneficiary {
        Beneficiary::Household(HouseholdId::parse("H-TEST").expect("valid id"))
    }

    fn codes(screening: &Screening) -> Vec<&str> {
        screening.active_programmes.iter().map(ProgrammeCode::as_str).collect()
    }

    #[test]
    fn screening_a_registry_member_shows_their_desil_and_what_the_household_receives() {
        let seed = Seed::load();
        let applicant = seed.applicant("P-000001");

        let screening = screen_in_seed(&seed, &applicant);

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

        let screening = screen_in_seed(&seed, &applicant);

        assert!(screening.deceased);
        assert_eq!(codes(&screening), ["PBI-JK", "PKH"]);
    }

    #[test]
    fn screening_someone_outside_the_registry_knows_nothing_about_them() {
        let seed = Seed::load();

        let screening = screen_in_seed(&seed, &Applicant::NotInRegistry);

        assert_eq!(
            screening,
            Screening {
                known_person: false,
                person_id: None,
                household_id: None,
                deceased: false,
                desil: None,
                active_programmes: vec![],
                catalogue_version: "2026.1".to_owned(),
                closed_programmes: vec![],
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

        let screening = screen(&seed_catalogue(), &applicant, &Household::default(), &ledger, today());

        assert_eq!(codes(&screening), ["BPNT"]);
    }

    fn seed_catalogue() -> Catalogue {
        Seed::load().catalogue
    }

    #[test]
    fn a_person_whose_household_is_on_pkh_is_told_which_programmes_it_closes_and_by_which_rule() {
        let applicant = Applicant::InRegistry(person(2, "1980-01-01"));
        let ledger = LedgerView::new(vec![entry("PKH", h_test(), EnrolmentStatus::Active)]);

        let screening = screen(&catalogue_2026_2(), &applicant, &Household::default(), &ledger, today());

        assert_eq!(screening.catalogue_version, "2026.2");
        assert_eq!(
            closed(&screening),
            [
                ("BLT-DD", "overlap.BLT-DD.PKH", "PKH"),
                ("PERMAKANAN", "overlap.PERMAKANAN.PKH", "PKH"),
                ("PENA", "overlap.PENA.PKH", "PKH"),
                ("BLT-KOTA", "overlap.BLT-KOTA.PKH", "PKH"),
            ]
        );
        let blt_dd = &screening.closed_programmes[0];
        assert_eq!(blt_dd.closed_by.beneficiary, h_test());
        assert_eq!(
            blt_dd.message,
            "BLT-DD cannot be combined with PKH, which the household (H-TEST) already receives."
        );
    }

    #[test]
    fn a_person_on_nothing_has_no_programme_closed() {
        let applicant = Applicant::InRegistry(person(2, "1980-01-01"));
        let ledger = LedgerView::new(vec![entry("PKH", h_test(), EnrolmentStatus::Ended)]);

        let screening = screen(&catalogue_2026_2(), &applicant, &Household::default(), &ledger, today());

        assert_eq!(screening.closed_programmes, []);
    }

    #[test]
    fn a_held_enrolment_closes_as_an_active_one_and_each_rule_is_listed_once() {
        let applicant = Applicant::InRegistry(person(2, "1980-01-01"));
        let ledger = LedgerView::new(vec![
            entry("BPNT", h_test(), EnrolmentStatus::Held),
            entry(
                "PBI-JK",
                Beneficiary::Person(PersonId::parse("P-TEST").expect("id")),
                EnrolmentStatus::Active,
            ),
        ]);

        let screening = screen(&catalogue_2026_2(), &applicant, &Household::default(), &ledger, today());

        // BPNT closes what excludes it; PBI-JK combines with everything.
        assert_eq!(
            closed(&screening),
            [
                ("BLT-DD", "overlap.BLT-DD.BPNT", "BPNT"),
                ("PERMAKANAN", "overlap.PERMAKANAN.BPNT", "BPNT"),
                ("PENA", "overlap.PENA.BPNT", "BPNT"),
                ("BLT-KOTA", "overlap.BLT-KOTA.BPNT", "BPNT"),
            ]
        );
        assert!(
            screening
                .closed_programmes
                .iter()
                .all(|c| c.closed_by.status == EnrolmentStatus::Held)
        );
    }

    #[test]
    fn a_members_personal_programme_closes_household_programmes_but_not_the_persons_own() {
        // The grandmother receives PERMAKANAN: PKH and BPNT are closed to the household, and
        // so to the applicant asking for them; her meals close none of the applicant's
        // personal programmes.
        let applicant = Applicant::InRegistry(person(2, "1980-01-01"));
        let household = Household {
            members: vec![
                Member {
                    person_id: PersonId::parse("P-TEST").expect("id"),
                    birth_date: date("1980-01-01"),
                    deceased: false,
                },
                Member {
                    person_id: PersonId::parse("P-GRAN").expect("id"),
                    birth_date: date("1950-01-01"),
                    deceased: false,
                },
            ],
            others_enrolments: vec![entry(
                "PERMAKANAN",
                Beneficiary::Person(PersonId::parse("P-GRAN").expect("id")),
                EnrolmentStatus::Active,
            )],
        };

        let screening = screen(
            &catalogue_2026_2(),
            &applicant,
            &household,
            &LedgerView::empty(),
            today(),
        );

        assert_eq!(
            closed(&screening),
            [
                ("PKH", "overlap.PERMAKANAN.PKH", "PERMAKANAN"),
                ("BPNT", "overlap.PERMAKANAN.BPNT", "PERMAKANAN"),
            ]
        );
        assert_eq!(
            screening.closed_programmes[0].message,
            "PKH cannot be combined with PERMAKANAN, which household member P-GRAN already receives."
        );
    }
}
