//! The eligibility domain: who may get which programme, and why not.
//!
//! Pure: no database, broker, clock, file or network here. The app layer reads the files and
//! the ledger, passes them in, and records what comes back; "today" is an argument.
//!
//! - [`catalogue`]: the programme catalogue (data, `data/catalogue/<version>.toml`, several
//!   versions each in force from its date): benefits, owning OPD, targeting, the need
//!   categories each programme meets, the overlap rules and the limits.
//! - [`registry`]: registry facts about people and households (DTKS / DTSEN rows, seeded from
//!   `data/registry_seed.csv` or imported in bulk), the rules for each row of a registry file,
//!   and the applicant as the registry knows them.
//! - [`ledger`]: the enrolments a person and their household hold, as the decision sees them.
//! - [`decision`]: [`decide_case`], every need of a case against the catalogue, with the rules
//!   that fired and the enrolments to start.
//! - [`overlap`]: the whole ledger against the rules (the violations report), time on
//!   benefit, and the overlaps an agency's report of an external enrolment breaks.
//! - [`screening`]: what the desk sees before a case is opened.
//! - [`release`]: whether a payment may be released to a beneficiary now.
//! - [`evidence`]: evidence from the data feeds (deaths, vehicles, payroll, desil) and what
//!   it does to the ledger: holds, exits, a new head, verification tasks.
//!
//! Identity values (NIK, KK number, Kemendagri region code, sex) are `slrt_identity`'s, shared
//! with the other services.
//!
//! Glossary: DTKS / DTSEN are the national social registry (the latter replaced the former in
//! 2025); desil is the registry's welfare decile of a household, 1 poorest to 10 richest; an
//! OPD (organisasi perangkat daerah) is a regional agency such as Dinas Sosial; NIK is the
//! national identity number and KK the family card; Kemendagri region codes are dotted, e.g.
//! `33.75.01.1002` (province.regency.district.village).

pub mod catalogue;
pub mod decision;
pub mod evidence;
pub mod ledger;
pub mod overlap;
pub mod registry;
pub mod release;
pub mod screening;

#[cfg(test)]
mod fixtures;

pub use catalogue::{
    AgeRange, BeneficiaryKind, BenefitKind, Cadence, CashTerms, Catalogue, CatalogueError, CatalogueFile,
    CatalogueProblem, Catalogues, CataloguesError, Component, Exclusion, Limits, NeedCategory, Programme,
    ProgrammeBenefit, ProgrammeCode, ProgrammeCodeError, UnknownNeedCategory,
};
pub use decision::{
    Benefit, CaseDecision, ClosedProgramme, DecisionInputs, EnrolmentToStart, Grant, Household, Member, Need,
    NeedDecision, NeedId, NeedIdError, Outcome, Reason, closed_programmes, decide_case, decide_case_in_household,
};
pub use ledger::{
    Beneficiary, EnrolmentStatus, GraduationPlan, GraduationRefused, LedgerEntry, LedgerSeedError, LedgerView,
    plan_graduation, seed_ledger,
};
pub use overlap::{
    Holding, PersonRecord, Registry, TimeOnBenefit, Violation, overlaps_with, violations, years_on_benefit,
};
pub use registry::{
    Applicant, Assets, Column, Desil, DesilError, FileChecks, Floor, HouseholdId, Housing, IdError, PersonId,
    RegistryColumns, RegistryError, RegistryFacts, RegistryRow, Relationship, Roof, RowChange, RowValidator,
    StoredConflict, StoredPerson, Wall, parse_registry_csv, parse_registry_rows, plan_changes, registry_csv_reader,
};
pub use release::{Vitality, release_check};
pub use screening::{Screening, screen};
