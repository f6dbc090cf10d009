//! The eligibility domain: who may get which programme, and why not.
//!
//! Pure: no database, broker, clock, file or network here. The app layer reads the files and
//! the ledger, passes them in, and records what comes back; "today" is an argument.
//!
//! - [`catalogue`]: the programme catalogue (data, `data/catalogue.toml`): benefits, owning
//!   OPD, targeting, the need categories each programme meets, and the overlap rules.
//! - [`registry`]: registry facts about people and households (DTKS / DTSEN rows, seeded from
//!   `data/registry_seed.csv` or imported in bulk), the rules for each row of a registry file,
//!   and the applicant as the registry knows them.
//! - [`ledger`]: the enrolments a person and their household hold, as the decision sees them.
//! - [`decision`]: [`decide_case`], every need of a case against the catalogue, with the rules
//!   that fired and the enrolments to start.
//! - [`screening`]: what the desk sees before a case is opened.
//! - [`release`]: whether a payment may be released to a beneficiary now.
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
pub mod ledger;
pub mod registry;
pub mod release;
pub mod screening;

#[cfg(test)]
mod fixtures;

pub use catalogue::{
    AgeRange, BeneficiaryKind, BenefitKind, Cadence, CashTerms, Catalogue, CatalogueError, CatalogueProblem, Component,
    Exclusion, NeedCategory, Programme, ProgrammeBenefit, ProgrammeCode, ProgrammeCodeError, UnknownNeedCategory,
};
pub use decision::{
    Benefit, CaseDecision, EnrolmentToStart, Grant, Need, NeedDecision, NeedId, NeedIdError, Outcome, Reason,
    decide_case,
};
pub use ledger::{Beneficiary, EnrolmentStatus, LedgerEntry, LedgerSeedError, LedgerView, seed_ledger};
pub use registry::{
    Applicant, Assets, Column, Desil, DesilError, FileChecks, Floor, HouseholdId, Housing, IdError, PersonId,
    RegistryColumns, RegistryError, RegistryFacts, RegistryRow, Relationship, Roof, RowChange, RowValidator,
    StoredConflict, StoredPerson, Wall, parse_registry_csv, parse_registry_rows, plan_changes, registry_csv_reader,
};
pub use release::{Vitality, release_check};
pub use screening::{Screening, screen};
