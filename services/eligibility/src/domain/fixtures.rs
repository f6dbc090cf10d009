//! Test material: the shipped data files, and builders for the facts a test is about.
use chrono::NaiveDate;
use slrt_identity::Sex;

use super::catalogue::{Catalogue, NeedCategory};
use super::decision::{CaseDecision, Household, Member, Need, NeedDecision, NeedId, Outcome, decide_case_in_household};
use super::ledger::{LedgerEntry, LedgerView, seed_ledger};
use super::registry::{Applicant, Desil, HouseholdId, PersonId, RegistryFacts, RegistryRow, parse_registry_csv};

pub const CATALOGUE_TOML: &str = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/data/catalogue/2026.1.toml"));
pub const REGISTRY_SEED_CSV: &str = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/data/registry_seed.csv"));

/// The day the tests decide on; ages in the seed are reckoned from it.
pub fn today() -> NaiveDate {
    date("2026-03-02")
}

pub fn date(iso: &str) -> NaiveDate {
    NaiveDate::parse_from_str(iso, "%Y-%m-%d").expect("test dates are ISO dates")
}

pub fn shipped_catalogue() -> Catalogue {
    Catalogue::parse(CATALOGUE_TOML).expect("the shipped catalogue parses")
}

/// Every shipped version, oldest first.
pub fn shipped_versions() -> Vec<Catalogue> {
    let later = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/data/catalogue/2026.2.toml"));
    vec![
        shipped_catalogue(),
        Catalogue::parse(later).expect("the shipped 2026.2 catalogue parses"),
    ]
}

/// Needs with ids `N1`, `N2`, ... in the order given.
pub fn needs(categories: &[NeedCategory]) -> Vec<Need> {
    categories
        .iter()
        .enumerate()
        .map(|(i, category)| Need {
            id: NeedId::parse(&format!("N{}", i + 1)).expect("need ids are not empty"),
            category: *category,
        })
        .collect()
}

/// A registry person made up for one test: alive, in household `H-TEST`.
pub fn person(desil: i64, birth_date: &str) -> RegistryFacts {
    RegistryFacts {
        person_id: PersonId::parse("P-TEST").expect("valid id"),
        household_id: HouseholdId::parse("H-TEST").expect("valid id"),
        full_name: "Test Person".to_owned(),
        birth_date: date(birth_date),
        sex: Sex::Female,
        desil: Desil::new(desil).expect("tests use desil 1 to 10"),
        deceased: false,
    }
}

/// The shipped catalogue, the seed registry and the ledger the seed implies.
pub struct Seed {
    pub catalogue: Catalogue,
    pub rows: Vec<RegistryRow>,
    pub ledger: Vec<LedgerEntry>,
}

impl Seed {
    pub fn load() -> Self {
        let catalogue = shipped_catalogue();
        let rows = parse_registry_csv(REGISTRY_SEED_CSV, today()).expect("the seed registry parses");
        let ledger = seed_ledger(&catalogue, &rows).expect("the seed names catalogue programmes");
        Self {
            catalogue,
            rows,
            ledger,
        }
    }

    pub fn applicant(&self, person_id: &str) -> Applicant {
        let row = self
            .rows
            .iter()
            .find(|r| r.person_id.as_str() == person_id)
            .expect("the person is in the seed");
        Applicant::InRegistry(row.into())
    }

    pub fn ledger_for(&self, applicant: &Applicant) -> LedgerView {
        LedgerView::for_applicant(applicant, self.ledger.clone())
    }

    /// A case for a seed person (or for someone outside the registry when `person_id` is
    /// `None`), decided on [`today`].
    pub fn decide(&self, person_id: Option<&str>, categories: &[NeedCategory]) -> CaseDecision {
        let applicant = person_id.map_or(Applicant::NotInRegistry, |id| self.applicant(id));
        let ledger = self.ledger_for(&applicant);
        let household = self.household_of(&applicant);
        decide_case_in_household(
            &self.catalogue,
            &applicant,
            &household,
            &needs(categories),
            &ledger,
            today(),
        )
    }

    /// The members the seed lists in the applicant's household (none for someone outside
    /// the registry), without the others' enrolments.
    pub fn household_of(&self, applicant: &Applicant) -> Household {
        let Some(facts) = applicant.facts() else {
            return Household::default();
        };
        Household {
            members: self
                .rows
                .iter()
                .filter(|row| row.household_id == facts.household_id)
                .map(|row| Member {
                    person_id: row.person_id.clone(),
                    birth_date: row.birth_date,
                    deceased: row.deceased,
                })
                .collect(),
            others_enrolments: Vec::new(),
        }
    }
}

/// The programme a need was granted under, or `None` when it was refused.
pub fn granted(decision: &NeedDecision) -> Option<&str> {
    match &decision.outcome {
        Outcome::Approved(grant) => Some(grant.programme.as_str()),
        Outcome::Rejected => None,
    }
}

pub fn rules(decision: &NeedDecision) -> Vec<&str> {
    decision.reasons.iter().map(|r| r.rule.as_str()).collect()
}
