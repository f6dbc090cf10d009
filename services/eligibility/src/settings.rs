//! Eligibility's settings: the shared ones plus the programme catalogue decisions are taken
//! under and the registry file loaded at start.
//!
//! Both files are read and checked here, so a bad one stops start-up before anything
//! connects, with a message naming the variable, the file and the line.

use std::path::Path;

use chrono::NaiveDate;
use slrt_settings::{CommonSettings, Service, SettingsError};

use crate::domain::{Catalogue, LedgerEntry, RegistryRow, parse_registry_csv, seed_ledger};

/// `SLRT_ELIGIBILITY_CATALOGUE`: path of the programme catalogue (TOML).
pub const CATALOGUE_VARIABLE: &str = "SLRT_ELIGIBILITY_CATALOGUE";
/// `SLRT_ELIGIBILITY_REGISTRY_SEED`: path of the registry file (CSV) loaded at start.
pub const REGISTRY_SEED_VARIABLE: &str = "SLRT_ELIGIBILITY_REGISTRY_SEED";

// Built into the binary, so that the service runs with the shipped policy and demo registry
// when no file is named.
const SHIPPED_CATALOGUE: &str = include_str!("../data/catalogue.toml");
const SHIPPED_REGISTRY_SEED: &str = include_str!("../data/registry_seed.csv");

#[derive(Debug, Clone)]
pub struct Settings {
    pub common: CommonSettings,
    /// The programme catalogue in force (`SLRT_ELIGIBILITY_CATALOGUE`).
    pub catalogue: Catalogue,
    /// Registry rows to load at start (`SLRT_ELIGIBILITY_REGISTRY_SEED`).
    pub registry_seed: Vec<RegistryRow>,
    /// The enrolments the registry file lists, to seed the ledger with.
    pub ledger_seed: Vec<LedgerEntry>,
}

impl Settings {
    pub fn from_env() -> Result<Self, SettingsError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, SettingsError> {
        Self::from_lookup_at(lookup, slrt_identity::today_in_indonesia())
    }

    /// As [`Settings::from_lookup`], reading the registry's NIK and KK dates as of `today`.
    pub fn from_lookup_at(lookup: impl Fn(&str) -> Option<String>, today: NaiveDate) -> Result<Self, SettingsError> {
        let common = CommonSettings::from_lookup(Service::Eligibility, &lookup)?;
        let catalogue = catalogue_from_lookup(&lookup)?;

        let file = DataFile::read(
            &lookup,
            REGISTRY_SEED_VARIABLE,
            "data/registry_seed.csv",
            SHIPPED_REGISTRY_SEED,
        )?;
        let registry_seed = parse_registry_csv(&file.text, today).map_err(|error| file.invalid(error))?;
        // A registry that lists a programme the catalogue does not know would seed a ledger
        // no decision can reason about.
        let ledger_seed = seed_ledger(&catalogue, &registry_seed).map_err(|error| file.invalid(error))?;

        Ok(Self {
            common,
            catalogue,
            registry_seed,
            ledger_seed,
        })
    }
}

/// The programme catalogue named by `SLRT_ELIGIBILITY_CATALOGUE`, or the shipped one: what a
/// registry import checks the rows' programmes against.
pub fn catalogue_from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Catalogue, SettingsError> {
    let file = DataFile::read(&lookup, CATALOGUE_VARIABLE, "data/catalogue.toml", SHIPPED_CATALOGUE)?;
    Catalogue::parse(&file.text).map_err(|error| file.invalid(error))
}

/// A data file named by a variable, or the copy built into the binary.
struct DataFile {
    variable: &'static str,
    /// The path as given, or a description of the built-in copy.
    origin: String,
    text: String,
}

impl DataFile {
    fn read(
        lookup: impl Fn(&str) -> Option<String>,
        variable: &'static str,
        shipped_name: &str,
        shipped: &str,
    ) -> Result<Self, SettingsError> {
        let Some(path) = lookup(variable) else {
            return Ok(Self {
                variable,
                origin: format!("the built-in {shipped_name}"),
                text: shipped.to_string(),
            });
        };
        if path.trim().is_empty() {
            return Err(SettingsError {
                variable: variable.into(),
                reason: "must be a file path, found nothing".into(),
            });
        }
        let text = std::fs::read_to_string(Path::new(&path)).map_err(|error| SettingsError {
            variable: variable.into(),
            reason: format!("cannot read {path}: {error}"),
        })?;
        Ok(Self {
            variable,
            origin: path,
            text,
        })
    }

    /// The file's own error (which names the line) prefixed with the file.
    fn invalid(&self, error: impl std::fmt::Display) -> SettingsError {
        SettingsError {
            variable: self.variable.into(),
            reason: format!("{}: {error}", self.origin),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn settings(vars: &[(&str, &str)]) -> Result<Settings, SettingsError> {
        let env: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Settings::from_lookup(|name| env.get(name).cloned())
    }

    #[test]
    fn defaults_are_the_documented_ports_and_the_shipped_data() {
        let s = settings(&[]).unwrap();
        assert_eq!(s.common.http_addr.port(), 8082);
        assert_eq!(s.common.grpc_addr.port(), 50052);
        assert_eq!(s.catalogue.version(), "2026.1");
        assert_eq!(s.registry_seed.len(), 40);
        assert!(!s.ledger_seed.is_empty());
    }

    #[test]
    fn a_missing_file_names_the_variable_and_the_path() {
        let error = settings(&[(CATALOGUE_VARIABLE, "/nonexistent/catalogue.toml")]).unwrap_err();
        assert_eq!(error.variable, CATALOGUE_VARIABLE);
        assert!(
            error.reason.starts_with("cannot read /nonexistent/catalogue.toml: "),
            "{}",
            error.reason
        );
    }

    #[test]
    fn an_empty_path_is_refused() {
        let error = settings(&[(REGISTRY_SEED_VARIABLE, " ")]).unwrap_err();
        assert_eq!(error.variable, REGISTRY_SEED_VARIABLE);
    }
}
