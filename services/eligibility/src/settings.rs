//! Eligibility's settings: the shared ones plus the programme catalogue decisions are taken
//! under, the registry file loaded at start, the identity provider's keys and the NIK token
//! key, and the largest evidence file accepted.
//!
//! Every file is read and checked here, so a bad one stops start-up before anything
//! connects, with a message naming the variable, the file and the line.

use std::path::Path;
use std::sync::Arc;

use chrono::NaiveDate;
use slrt_auth::Verifier;
use slrt_identity::NikTokenizer;
use slrt_settings::{CommonSettings, Service, SettingsError};

use crate::domain::{Catalogue, CatalogueFile, Catalogues, LedgerEntry, RegistryRow, parse_registry_csv, seed_ledger};

/// `SLRT_ELIGIBILITY_CATALOGUE`: the programme catalogue (TOML): one file, or a directory
/// whose `*.toml` files are its versions.
pub const CATALOGUE_VARIABLE: &str = "SLRT_ELIGIBILITY_CATALOGUE";
/// `SLRT_ELIGIBILITY_REGISTRY_SEED`: path of the registry file (CSV) loaded at start.
pub const REGISTRY_SEED_VARIABLE: &str = "SLRT_ELIGIBILITY_REGISTRY_SEED";

// Built into the binary, so that the service runs with the shipped policy and demo registry
// when no file is named.
const SHIPPED_CATALOGUES: [(&str, &str); 2] = [
    (
        "data/catalogue/2026.1.toml",
        include_str!("../data/catalogue/2026.1.toml"),
    ),
    (
        "data/catalogue/2026.2.toml",
        include_str!("../data/catalogue/2026.2.toml"),
    ),
];
const SHIPPED_REGISTRY_SEED: &str = include_str!("../data/registry_seed.csv");
/// `SLRT_ELIGIBILITY_EXCLUSIONS`: path of the exclusion rules (TOML): which programmes a car
/// or a salary stops, and the days an officer has to verify such evidence.
pub const EXCLUSIONS_VARIABLE: &str = "SLRT_ELIGIBILITY_EXCLUSIONS";
const SHIPPED_EXCLUSIONS: &str = include_str!("../data/exclusions.toml");
/// `SLRT_ELIGIBILITY_EVIDENCE_FILE_MAX_BYTES`: the largest evidence file `POST
/// /v1/evidence/file` accepts, in bytes (default 32 MiB).
pub const EVIDENCE_FILE_MAX_BYTES_VARIABLE: &str = "SLRT_ELIGIBILITY_EVIDENCE_FILE_MAX_BYTES";
const DEFAULT_EVIDENCE_FILE_MAX_BYTES: usize = 32 * 1024 * 1024;
// A feed's file of a month is a few megabytes; a gigabyte held in memory at once is a mistake.
const MOST_EVIDENCE_FILE_MAX_BYTES: usize = 1024 * 1024 * 1024;

#[derive(Debug, Clone)]
pub struct Settings {
    pub common: CommonSettings,
    /// Every programme catalogue version (`SLRT_ELIGIBILITY_CATALOGUE`); a decision uses the
    /// one in force on its date.
    pub catalogues: Catalogues,
    /// Registry rows to load at start (`SLRT_ELIGIBILITY_REGISTRY_SEED`).
    pub registry_seed: Vec<RegistryRow>,
    /// The enrolments the registry file lists, to seed the ledger with.
    pub ledger_seed: Vec<LedgerEntry>,
    /// Which programmes exclusion evidence stops (`SLRT_ELIGIBILITY_EXCLUSIONS`), checked
    /// against the catalogue in force at start.
    pub exclusions: crate::domain::evidence::ExclusionRules,
    /// Verifies callers' bearer tokens (`SLRT_AUTH_*`); required, never switched off.
    pub verifier: Arc<Verifier>,
    /// Keyed NIK tokens for the audit log (`SLRT_PII_KEY_FILE`).
    pub nik_tokens: NikTokenizer,
    /// The largest evidence file accepted over HTTP, in bytes
    /// (`SLRT_ELIGIBILITY_EVIDENCE_FILE_MAX_BYTES`).
    pub evidence_file_max_bytes: usize,
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
        let catalogues = catalogues_from_lookup(&lookup)?;
        let catalogue = catalogues.in_force(today);

        let file = DataFile::read(
            &lookup,
            REGISTRY_SEED_VARIABLE,
            "data/registry_seed.csv",
            SHIPPED_REGISTRY_SEED,
        )?;
        let registry_seed = parse_registry_csv(&file.text, today).map_err(|error| file.invalid(error))?;
        // A registry that lists a programme the catalogue does not know would seed a ledger
        // no decision can reason about.
        let ledger_seed = seed_ledger(catalogue, &registry_seed).map_err(|error| file.invalid(error))?;
        let exclusions_file = DataFile::read(&lookup, EXCLUSIONS_VARIABLE, "data/exclusions.toml", SHIPPED_EXCLUSIONS)?;
        let exclusions = crate::domain::evidence::ExclusionRules::parse(&exclusions_file.text, catalogues.versions())
            .map_err(|error| exclusions_file.invalid(error))?;
        let evidence_file_max_bytes = evidence_file_max_bytes(&lookup)?;
        // Read last, so that a mistake in the policy files is reported first.
        let verifier = slrt_auth::settings::verifier(&lookup)?;
        let nik_tokens = slrt_auth::settings::nik_tokenizer(&lookup)?;

        Ok(Self {
            common,
            catalogues,
            registry_seed,
            ledger_seed,
            exclusions,
            verifier,
            nik_tokens,
            evidence_file_max_bytes,
        })
    }
}

fn evidence_file_max_bytes(lookup: &impl Fn(&str) -> Option<String>) -> Result<usize, SettingsError> {
    let Some(text) = lookup(EVIDENCE_FILE_MAX_BYTES_VARIABLE).filter(|text| !text.trim().is_empty()) else {
        return Ok(DEFAULT_EVIDENCE_FILE_MAX_BYTES);
    };
    text.trim()
        .parse::<usize>()
        .ok()
        .filter(|bytes| (1..=MOST_EVIDENCE_FILE_MAX_BYTES).contains(bytes))
        .ok_or_else(|| SettingsError {
            variable: EVIDENCE_FILE_MAX_BYTES_VARIABLE.into(),
            reason: format!("{text:?} is not a number of bytes from 1 to {MOST_EVIDENCE_FILE_MAX_BYTES}"),
        })
}

/// The programme catalogue in force today, from `SLRT_ELIGIBILITY_CATALOGUE` or the shipped
/// versions: what a registry import checks the rows' programmes against.
pub fn catalogue_from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Catalogue, SettingsError> {
    let catalogues = catalogues_from_lookup(lookup)?;
    Ok(catalogues.in_force(slrt_identity::today_in_indonesia()).clone())
}

/// Every catalogue version: the file `SLRT_ELIGIBILITY_CATALOGUE` names, each `*.toml` file
/// of the directory it names, or the versions built into the binary.
pub fn catalogues_from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Catalogues, SettingsError> {
    let invalid = |reason: String| SettingsError {
        variable: CATALOGUE_VARIABLE.into(),
        reason,
    };
    let files = match lookup(CATALOGUE_VARIABLE) {
        None => SHIPPED_CATALOGUES
            .iter()
            .map(|(name, text)| CatalogueFile {
                origin: format!("the built-in {name}"),
                text: (*text).to_owned(),
            })
            .collect(),
        Some(path) if path.trim().is_empty() => {
            return Err(invalid("must be a file or directory path, found nothing".into()));
        }
        Some(path) if Path::new(&path).is_dir() => {
            let entries = std::fs::read_dir(&path).map_err(|error| invalid(format!("cannot read {path}: {error}")))?;
            let mut paths = Vec::new();
            for entry in entries {
                let entry = entry.map_err(|error| invalid(format!("cannot read {path}: {error}")))?;
                if entry.path().extension().is_some_and(|ext| ext == "toml") {
                    paths.push(entry.path());
                }
            }
            if paths.is_empty() {
                return Err(invalid(format!("{path} holds no .toml catalogue file")));
            }
            // Sorted, so that which of two clashing files is named first does not depend on
            // the directory's order.
            paths.sort();
            paths
                .into_iter()
                .map(|file| {
                    let origin = file.display().to_string();
                    std::fs::read_to_string(&file)
                        .map(|text| CatalogueFile {
                            origin: origin.clone(),
                            text,
                        })
                        .map_err(|error| invalid(format!("cannot read {origin}: {error}")))
                })
                .collect::<Result<Vec<_>, _>>()?
        }
        Some(path) => {
            let text = std::fs::read_to_string(Path::new(&path))
                .map_err(|error| invalid(format!("cannot read {path}: {error}")))?;
            vec![CatalogueFile { origin: path, text }]
        }
    };
    Catalogues::parse(&files).map_err(|error| invalid(error.to_string()))
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
        let mut env: HashMap<String, String> = slrt_testkit::identity()
            .env()
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
        env.extend(vars.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        Settings::from_lookup(|name| env.get(name).cloned())
    }

    #[test]
    fn defaults_are_the_documented_ports_and_the_shipped_data() {
        let s = settings(&[]).unwrap();
        assert_eq!(s.common.http_addr.port(), 8082);
        assert_eq!(s.common.grpc_addr.port(), 50052);
        let versions: Vec<&str> = s.catalogues.versions().iter().map(Catalogue::version).collect();
        assert_eq!(versions, ["2026.1", "2026.2"]);
        assert_eq!(s.registry_seed.len(), 40);
        assert!(!s.ledger_seed.is_empty());
        assert_eq!(s.evidence_file_max_bytes, 32 * 1024 * 1024);
    }

    #[test]
    fn the_service_does_not_start_without_the_identity_providers_key_set() {
        let error = Settings::from_lookup(|_| None).err().map(|e| e.variable);
        assert_eq!(error.as_deref(), Some(slrt_auth::settings::JWKS_FILE));
    }

    #[test]
    fn an_evidence_file_limit_that_is_not_a_size_is_refused() {
        for text in ["0", "lots", "2147483648"] {
            let error = settings(&[(EVIDENCE_FILE_MAX_BYTES_VARIABLE, text)]).unwrap_err();
            assert_eq!(error.variable, EVIDENCE_FILE_MAX_BYTES_VARIABLE, "{text}");
        }
        let small = settings(&[(EVIDENCE_FILE_MAX_BYTES_VARIABLE, "4096")]).unwrap();
        assert_eq!(small.evidence_file_max_bytes, 4096);
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
