//! The enrolment ledger as a decision sees it: which programmes an applicant and their
//! household hold.
//!
//! The ledger itself (one row per enrolment, across every programme and OPD) lives in the app
//! layer's store; decisions read a [`LedgerView`] of it.

use std::collections::BTreeSet;

use super::catalogue::{BeneficiaryKind, Catalogue, ProgrammeCode};
use super::registry::{Applicant, HouseholdId, PersonId, RegistryRow};

/// Who an enrolment belongs to: a household for household programmes, else a person.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Beneficiary {
    Household(HouseholdId),
    Person(PersonId),
}

impl Beneficiary {
    pub fn kind(&self) -> BeneficiaryKind {
        match self {
            Beneficiary::Household(_) => BeneficiaryKind::Household,
            Beneficiary::Person(_) => BeneficiaryKind::Person,
        }
    }

    /// The household or person id, as `EnrolmentStarted.beneficiary_id` carries it.
    pub fn id(&self) -> &str {
        match self {
            Beneficiary::Household(id) => id.as_str(),
            Beneficiary::Person(id) => id.as_str(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EnrolmentStatus {
    Active,
    /// Payments paused (a provisional death report, evidence under verification). Still an
    /// enrolment: it blocks overlapping programmes as an active one does.
    Held,
    Ended,
}

impl EnrolmentStatus {
    const ALL: [EnrolmentStatus; 3] = [EnrolmentStatus::Active, EnrolmentStatus::Held, EnrolmentStatus::Ended];

    pub fn is_current(self) -> bool {
        matches!(self, EnrolmentStatus::Active | EnrolmentStatus::Held)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            EnrolmentStatus::Active => "active",
            EnrolmentStatus::Held => "held",
            EnrolmentStatus::Ended => "ended",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|status| status.as_str() == code)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerEntry {
    pub programme: ProgrammeCode,
    pub beneficiary: Beneficiary,
    pub status: EnrolmentStatus,
}

/// The ledger entries that bear on one applicant: those of the person and of their
/// household. Ended entries matter only to one-off programmes (paid once, ever).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LedgerView {
    entries: Vec<LedgerEntry>,
}

impl LedgerView {
    /// Entries the caller has already selected for the applicant.
    pub fn new(entries: Vec<LedgerEntry>) -> Self {
        Self { entries }
    }

    pub fn empty() -> Self {
        Self::default()
    }

    /// Keeps, out of any set of entries, those of the applicant and their household. An
    /// applicant outside the registry has no ids, so nothing in the ledger is theirs.
    pub fn for_applicant(applicant: &Applicant, entries: impl IntoIterator<Item = LedgerEntry>) -> Self {
        let Some(facts) = applicant.facts() else {
            return Self::empty();
        };
        let person = Beneficiary::Person(facts.person_id.clone());
        let household = Beneficiary::Household(facts.household_id.clone());
        Self::new(
            entries
                .into_iter()
                .filter(|e| e.beneficiary == person || e.beneficiary == household)
                .collect(),
        )
    }

    pub fn entries(&self) -> &[LedgerEntry] {
        &self.entries
    }

    /// Active and held entries.
    pub fn current(&self) -> impl Iterator<Item = &LedgerEntry> {
        self.entries.iter().filter(|e| e.status.is_current())
    }

    /// Codes of the programmes currently held, sorted, each once.
    pub fn current_programmes(&self) -> Vec<ProgrammeCode> {
        let codes: BTreeSet<&ProgrammeCode> = self.current().map(|e| &e.programme).collect();
        codes.into_iter().cloned().collect()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "registry person {person_id} is listed as enrolled in {programme}, which is not in catalogue {catalogue_version}"
)]
pub struct LedgerSeedError {
    pub person_id: PersonId,
    pub programme: ProgrammeCode,
    pub catalogue_version: String,
}

/// The active enrolments a registry file lists, as ledger entries: a household programme
/// once per household however many members' rows name it, a personal one per person.
pub fn seed_ledger<'a>(
    catalogue: &Catalogue,
    rows: impl IntoIterator<Item = &'a RegistryRow>,
) -> Result<Vec<LedgerEntry>, LedgerSeedError> {
    let mut seen = BTreeSet::new();
    let mut entries = Vec::new();
    for row in rows {
        for code in &row.enrolments {
            let programme = catalogue.programme(code).ok_or_else(|| LedgerSeedError {
                person_id: row.person_id.clone(),
                programme: code.clone(),
                catalogue_version: catalogue.version().to_owned(),
            })?;
            let beneficiary = match programme.beneficiary() {
                BeneficiaryKind::Household => Beneficiary::Household(row.household_id.clone()),
                BeneficiaryKind::Person => Beneficiary::Person(row.person_id.clone()),
            };
            if seen.insert((code.clone(), beneficiary.clone())) {
                entries.push(LedgerEntry {
                    programme: code.clone(),
                    beneficiary,
                    status: EnrolmentStatus::Active,
                });
            }
        }
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::fixtures::{Seed, shipped_catalogue, today};
    use crate::domain::registry::parse_registry_csv;

    #[test]
    fn a_household_programme_listed_on_every_members_row_is_one_enrolment() {
        let seed = Seed::load();

        let household = Beneficiary::Household(HouseholdId::parse("H-000001").expect("valid id"));
        let of_household: Vec<&str> = seed
            .ledger
            .iter()
            .filter(|e| e.beneficiary == household)
            .map(|e| e.programme.as_str())
            .collect();

        assert_eq!(of_household, ["PKH", "BPNT"]);
    }

    #[test]
    fn a_personal_programme_is_an_enrolment_of_each_person_listed() {
        let seed = Seed::load();

        let pbi_jk_in_household_5 = seed
            .ledger
            .iter()
            .filter(|e| e.programme.as_str() == "PBI-JK")
            .filter(|e| matches!(&e.beneficiary, Beneficiary::Person(id) if ["P-000016", "P-000017", "P-000018", "P-000019"].contains(&id.as_str())))
            .count();

        assert_eq!(pbi_jk_in_household_5, 4);
    }

    #[test]
    fn the_view_of_an_applicant_keeps_only_their_own_and_their_households_entries() {
        let seed = Seed::load();
        let applicant = seed.applicant("P-000007");

        let view = seed.ledger_for(&applicant);

        let beneficiaries: Vec<&str> = view.entries().iter().map(|e| e.beneficiary.id()).collect();
        assert_eq!(beneficiaries, ["H-000002", "P-000007"]);
    }

    #[test]
    fn seeding_refuses_a_programme_the_catalogue_does_not_know() {
        let csv = "person_id,nik,full_name,birth_date,sex,household_id,kk_number,region_code,relationship_to_head,desil,deceased,enrolments\n\
                   P-1,3375011204810001,Slamet,1981-04-12,M,H-1,3375011503180007,33.75.01.1002,head,1,false,PKH;KIS\n";
        let rows = parse_registry_csv(csv, today()).expect("the row is well formed");

        let err = seed_ledger(&shipped_catalogue(), &rows).expect_err("KIS is not catalogued");

        assert_eq!(
            err.to_string(),
            "registry person P-1 is listed as enrolled in KIS, which is not in catalogue 2026.1"
        );
    }
}
