//! The enrolment ledger as a decision sees it: which programmes an applicant and their
//! household hold.
//!
//! The ledger itself (one row per enrolment, across every programme and OPD) lives in the app
//! layer's store; decisions read a [`LedgerView`] of it.

use std::collections::BTreeSet;

use super::catalogue::{BeneficiaryKind, Catalogue, ProgrammeCode};
use super::overlap::Holding;
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

/// What a household's graduation does: the enrolments it ends, and PENA to start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GraduationPlan {
    pub end: Vec<Holding>,
    pub pena: ProgrammeCode,
    pub household: Beneficiary,
}

/// Why a household cannot graduate now.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GraduationRefused {
    #[error("catalogue {0} has no PENA programme to graduate into")]
    NoPena(String),
    #[error("household {household} holds none of {leaves}, so there is nothing to graduate from")]
    NothingToLeave { household: String, leaves: String },
    #[error(
        "the {programme} enrolment of household {household} is on hold; its verification must be resolved before \
         the household can graduate"
    )]
    Held {
        programme: ProgrammeCode,
        household: String,
    },
    #[error(
        "household {household}'s {programme} was reported by {opd} (granted outside this system); that agency must \
         end it before the household can graduate"
    )]
    External {
        programme: ProgrammeCode,
        household: String,
        opd: String,
    },
    #[error("household {0} has received PENA before, and it is paid once")]
    PenaBefore(String),
    #[error("the registry records no living member of household {0}")]
    NoLivingMember(String),
}

/// Graduation: the household leaves the programmes PENA may not be combined with (PKH and
/// BPNT in the shipped catalogue) and enters PENA, in that order, since PENA excludes them.
/// `holdings` are all the household's enrolments, ended ones included (PENA is paid once);
/// `reporting_opd` names the agency of an external enrolment.
pub fn plan_graduation(
    catalogue: &Catalogue,
    household: &HouseholdId,
    holdings: &[Holding],
    living_members: u32,
    reporting_opd: impl Fn(&Holding) -> Option<String>,
) -> Result<GraduationPlan, GraduationRefused> {
    let pena = ProgrammeCode::parse("PENA").map_err(|_| GraduationRefused::NoPena(catalogue.version().to_owned()))?;
    if catalogue.programme(&pena).is_none() {
        return Err(GraduationRefused::NoPena(catalogue.version().to_owned()));
    }
    let leaves: Vec<&ProgrammeCode> = catalogue
        .exclusions()
        .iter()
        .filter_map(|e| {
            if e.declared_by == pena {
                Some(&e.excluded)
            } else if e.excluded == pena {
                Some(&e.declared_by)
            } else {
                None
            }
        })
        .collect();
    let id = household.to_string();
    let beneficiary = Beneficiary::Household(household.clone());
    if living_members == 0 {
        return Err(GraduationRefused::NoLivingMember(id));
    }
    let mine = |h: &&Holding| h.beneficiary == beneficiary;
    if holdings.iter().filter(mine).any(|h| h.programme == pena) {
        return Err(GraduationRefused::PenaBefore(id));
    }
    let end: Vec<Holding> = holdings
        .iter()
        .filter(mine)
        .filter(|h| h.status.is_current() && leaves.contains(&&h.programme))
        .cloned()
        .collect();
    if end.is_empty() {
        return Err(GraduationRefused::NothingToLeave {
            household: id,
            leaves: leaves.iter().map(|c| c.as_str()).collect::<Vec<_>>().join(" or "),
        });
    }
    if let Some(held) = end.iter().find(|h| h.status == EnrolmentStatus::Held) {
        return Err(GraduationRefused::Held {
            programme: held.programme.clone(),
            household: id,
        });
    }
    if let Some((external, opd)) = end.iter().find_map(|h| reporting_opd(h).map(|opd| (h, opd))) {
        return Err(GraduationRefused::External {
            programme: external.programme.clone(),
            household: id,
            opd,
        });
    }
    Ok(GraduationPlan {
        end,
        pena,
        household: beneficiary,
    })
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

    fn holding(id: &str, programme: &str, status: EnrolmentStatus) -> Holding {
        Holding {
            enrolment_id: id.to_owned(),
            programme: ProgrammeCode::parse(programme).expect("code"),
            beneficiary: Beneficiary::Household(HouseholdId::parse("H-1").expect("id")),
            status,
            source: "registry".to_owned(),
            started_on: today(),
        }
    }

    fn plan(holdings: &[Holding]) -> Result<GraduationPlan, GraduationRefused> {
        let household = HouseholdId::parse("H-1").expect("id");
        plan_graduation(&shipped_catalogue(), &household, holdings, 3, |_| None)
    }

    #[test]
    fn graduation_ends_pkh_and_bpnt_and_starts_pena() {
        let holdings = [
            holding("a", "PKH", EnrolmentStatus::Active),
            holding("b", "BPNT", EnrolmentStatus::Active),
            holding("c", "PBI-JK", EnrolmentStatus::Active),
        ];

        let plan = plan(&holdings).expect("the household graduates");

        let ended: Vec<&str> = plan.end.iter().map(|h| h.programme.as_str()).collect();
        assert_eq!(ended, ["PKH", "BPNT"]);
        assert_eq!(plan.pena.as_str(), "PENA");
    }

    #[test]
    fn graduation_is_refused_to_a_household_on_neither_pkh_nor_bpnt() {
        let refused = plan(&[
            holding("c", "PBI-JK", EnrolmentStatus::Active),
            holding("a", "PKH", EnrolmentStatus::Ended),
        ]);

        assert_eq!(
            refused.map_err(|e| e.to_string()),
            Err("household H-1 holds none of PKH or BPNT, so there is nothing to graduate from".to_owned())
        );
    }

    #[test]
    fn graduation_waits_for_a_hold_to_be_resolved() {
        let refused = plan(&[
            holding("a", "PKH", EnrolmentStatus::Held),
            holding("b", "BPNT", EnrolmentStatus::Active),
        ]);

        assert!(matches!(refused, Err(GraduationRefused::Held { ref programme, .. }) if programme.as_str() == "PKH"));
    }

    #[test]
    fn a_household_that_had_pena_cannot_graduate_into_it_again() {
        let refused = plan(&[
            holding("a", "PKH", EnrolmentStatus::Active),
            holding("p", "PENA", EnrolmentStatus::Ended),
        ]);

        assert_eq!(refused, Err(GraduationRefused::PenaBefore("H-1".to_owned())));
    }

    #[test]
    fn an_external_pkh_must_be_ended_by_the_agency_that_reported_it() {
        let household = HouseholdId::parse("H-1").expect("id");
        let holdings = [holding("a", "PKH", EnrolmentStatus::Active)];

        let refused = plan_graduation(&shipped_catalogue(), &household, &holdings, 3, |_| {
            Some("DINSOS-PROV".into())
        });

        assert!(matches!(refused, Err(GraduationRefused::External { ref opd, .. }) if opd == "DINSOS-PROV"));
    }
}
