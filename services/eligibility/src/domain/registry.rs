//! Registry facts: people and households as the social registry (DTKS / DTSEN) records them.
//!
//! A registry file has one row per person, its household's columns repeated on every
//! member's row (the format is documented in `services/eligibility/README.md`).
//!
//! - [`parse_registry_csv`] takes a whole file or nothing (the shipped seed, read at start).
//! - [`RowValidator`] judges one row at a time, on its own and against the rows before it,
//!   for a bulk import that loads the good rows and writes the others to a rejects file
//!   ([`parse_registry_rows`] does the same for a file in memory).
//! - [`plan_changes`] decides, for rows that passed, what an import does with each against
//!   what is stored: insert, update, leave alone, or refuse.

mod changes;
mod columns;
mod file_checks;

use std::fmt;

use chrono::NaiveDate;
use sha2::{Digest, Sha256};
use slrt_identity::{KkNumber, Nik, RegionCode, Sex};

use super::catalogue::{Catalogue, ProgrammeCode};

pub use changes::{RowChange, StoredConflict, StoredPerson, plan_changes};
pub use columns::{Column, RegistryColumns, registry_csv_reader};
pub use file_checks::FileChecks;

/// The registry's id of a person. Stable across KK changes, unlike the family card.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PersonId(String);

/// The registry's id of a household. Stable while the family's KK number changes (a move, a
/// new head, a split).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct HouseholdId(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("an id is 1 to 64 characters with no spaces")]
pub struct IdError;

fn check_id(value: &str) -> Result<String, IdError> {
    let ok = !value.is_empty() && value.len() <= 64 && !value.chars().any(char::is_whitespace);
    if ok { Ok(value.to_owned()) } else { Err(IdError) }
}

impl PersonId {
    pub fn parse(value: &str) -> Result<Self, IdError> {
        check_id(value).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl HouseholdId {
    pub fn parse(value: &str) -> Result<Self, IdError> {
        check_id(value).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PersonId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for HouseholdId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Welfare decile of a household in the registry: 1 poorest .. 10 richest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Desil(u8);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a desil is a whole number from 1 (poorest) to 10 (richest)")]
pub struct DesilError;

impl Desil {
    pub fn new(value: i64) -> Result<Self, DesilError> {
        u8::try_from(value)
            .ok()
            .filter(|d| (1..=10).contains(d))
            .map(Self)
            .ok_or(DesilError)
    }

    pub fn get(self) -> u8 {
        self.0
    }
}

impl fmt::Display for Desil {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Declares a closed set of codes as they are written in a registry file.
macro_rules! codes {
    ($(#[$meta:meta])* $name:ident { $($(#[$variant_meta:meta])* $variant:ident = $code:literal,)+ }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$variant_meta])* $variant,)+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];

            pub fn parse(code: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|value| value.as_str() == code)
            }

            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $code,)+
                }
            }

            /// The codes, for a message that lists the choices.
            pub fn choices() -> String {
                Self::ALL.iter().map(|value| value.as_str()).collect::<Vec<_>>().join(", ")
            }
        }
    };
}

codes! {
    /// Relationship to the head of the household, as on the family card.
    Relationship {
        Head = "head",
        Spouse = "spouse",
        Child = "child",
        ChildInLaw = "child_in_law",
        Grandchild = "grandchild",
        Parent = "parent",
        ParentInLaw = "parent_in_law",
        OtherRelative = "other_relative",
        Other = "other",
    }
}

codes! {
    /// Material of most of the floor (DTKS *jenis lantai terluas*).
    Floor {
        /// Tanah.
        Earth = "earth",
        /// Bambu.
        Bamboo = "bamboo",
        /// Kayu or papan.
        Wood = "wood",
        /// Semen or bata merah.
        Cement = "cement",
        /// Keramik, ubin, tegel, teraso, marmer, granit.
        Tile = "tile",
        Other = "other",
    }
}

codes! {
    /// Material of most of the walls (DTKS *jenis dinding terluas*).
    Wall {
        /// Bambu or anyaman bambu.
        Bamboo = "bamboo",
        /// Kayu, papan or batang kayu.
        Wood = "wood",
        /// Tembok (brick or block, plastered or not).
        Brick = "brick",
        Other = "other",
    }
}

codes! {
    /// Material of most of the roof (DTKS *jenis atap terluas*).
    Roof {
        /// Jerami, ijuk, daun or rumbia.
        Thatch = "thatch",
        Bamboo = "bamboo",
        /// Sirap.
        Wood = "wood",
        /// Seng.
        Zinc = "zinc",
        /// Asbes.
        Asbestos = "asbestos",
        /// Genteng (clay, ceramic or metal).
        Tile = "tile",
        /// Beton.
        Concrete = "concrete",
        Other = "other",
    }
}

/// The household's dwelling as the registry surveyed it; `None` where the file does not say.
/// Home repair (RTLH) targets houses with an earth floor, bamboo walls or a thatch roof.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Housing {
    pub floor: Option<Floor>,
    pub wall: Option<Wall>,
    pub roof: Option<Roof>,
}

/// What the household owns, as the registry surveyed it; `None` where the file does not say.
/// A car is exclusion evidence (PBI-JK); a motorbike or land is not on its own.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Assets {
    pub car: Option<bool>,
    pub motorbike: Option<bool>,
    pub land: Option<bool>,
}

/// One registry row: a person, their household, and what the registry says they receive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryRow {
    pub person_id: PersonId,
    pub nik: Nik,
    pub full_name: String,
    pub birth_date: NaiveDate,
    pub sex: Sex,
    pub household_id: HouseholdId,
    pub kk_number: KkNumber,
    pub region_code: RegionCode,
    pub relationship_to_head: Relationship,
    /// Desil is ranked per household; every member's row carries it.
    pub desil: Desil,
    pub deceased: bool,
    /// The date of death when the registry knows it; only ever set when `deceased`.
    pub deceased_on: Option<NaiveDate>,
    /// Household columns, the same on every member's row.
    pub housing: Housing,
    pub assets: Assets,
    /// Programmes the registry lists for this person, their household's included, each once.
    /// Seed material for the enrolment ledger ([`seed_ledger`](super::ledger::seed_ledger)),
    /// which is what decisions read.
    pub enrolments: Vec<ProgrammeCode>,
}

impl RegistryRow {
    /// A fingerprint of everything the row says, so that an import can tell an unchanged row
    /// without comparing column by column. The order of `enrolments` does not count.
    pub fn content_hash(&self) -> [u8; 32] {
        let mut hash = Sha256::new();
        // Each value is length-prefixed, so no two different rows run together the same way.
        let mut put = |value: &str| {
            hash.update((value.len() as u64).to_le_bytes());
            hash.update(value.as_bytes());
        };
        let flag = |value: Option<bool>| match value {
            None => "",
            Some(true) => "true",
            Some(false) => "false",
        };
        put("registry-row-v1");
        put(self.person_id.as_str());
        put(self.nik.as_str());
        put(&self.full_name);
        put(&self.birth_date.to_string());
        put(self.sex.as_str());
        put(self.household_id.as_str());
        put(self.kk_number.as_str());
        put(&self.region_code.dotted());
        put(self.relationship_to_head.as_str());
        put(&self.desil.to_string());
        put(flag(Some(self.deceased)));
        put(&self.deceased_on.map(|d| d.to_string()).unwrap_or_default());
        put(self.housing.floor.map_or("", Floor::as_str));
        put(self.housing.wall.map_or("", Wall::as_str));
        put(self.housing.roof.map_or("", Roof::as_str));
        put(flag(self.assets.car));
        put(flag(self.assets.motorbike));
        put(flag(self.assets.land));
        let mut enrolments: Vec<&str> = self.enrolments.iter().map(ProgrammeCode::as_str).collect();
        enrolments.sort_unstable();
        for code in enrolments {
            put(code);
        }
        hash.finalize().into()
    }

    /// Whether the NIK encodes another birth date or sex than the row declares: a warning,
    /// never a rejection, since a NIK is not reissued to correct a birth date.
    pub fn nik_disagrees(&self) -> bool {
        !self.nik.check_declared(self.birth_date, self.sex).is_empty()
    }
}

/// What a decision needs to know about an applicant the registry knows.
/// What a decision needs to know about an applicant the registry knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryFacts {
    pub person_id: PersonId,
    pub household_id: HouseholdId,
    pub full_name: String,
    pub birth_date: NaiveDate,
    pub sex: Sex,
    pub desil: Desil,
    pub deceased: bool,
}

impl From<&RegistryRow> for RegistryFacts {
    fn from(row: &RegistryRow) -> Self {
        Self {
            person_id: row.person_id.clone(),
            household_id: row.household_id.clone(),
            full_name: row.full_name.clone(),
            birth_date: row.birth_date,
            sex: row.sex,
            desil: row.desil,
            deceased: row.deceased,
        }
    }
}

impl RegistryFacts {
    /// Whole years on `today`; `None` when the recorded birth date is after it.
    pub fn age_on(&self, today: NaiveDate) -> Option<u32> {
        today.years_since(self.birth_date)
    }
}

/// The person a case is about, as the registry sees them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applicant {
    InRegistry(RegistryFacts),
    /// Not found by NIK. Still served: services such as ADMINDUK need no registry membership.
    NotInRegistry,
}

impl Applicant {
    pub fn facts(&self) -> Option<&RegistryFacts> {
        match self {
            Applicant::InRegistry(facts) => Some(facts),
            Applicant::NotInRegistry => None,
        }
    }
}

/// Why a registry file or row was refused. Messages name the line and field and never repeat
/// a NIK or KK number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistryError {
    #[error("the registry file is not readable CSV{}: {message}", at_line(*line))]
    Csv { line: Option<u64>, message: String },
    #[error("the registry file has no `{column}` column in its header")]
    MissingColumn { column: &'static str },
    #[error("line {line}, field `{field}`: {problem}")]
    Field {
        line: u64,
        field: &'static str,
        problem: String,
    },
    #[error("line {line}, field `{field}`: the same {field} is already on line {first_line}")]
    Duplicate {
        line: u64,
        field: &'static str,
        first_line: u64,
    },
    #[error(
        "line {line}, field `{field}`: household {household_id} has a different {field} on line {first_line}; every member's row must agree"
    )]
    HouseholdDisagrees {
        line: u64,
        field: &'static str,
        household_id: HouseholdId,
        first_line: u64,
    },
    #[error(
        "line {line}, field `relationship_to_head`: household {household_id} already has its head on line {first_line}; a household has exactly one head"
    )]
    SecondHead {
        line: u64,
        household_id: HouseholdId,
        first_line: u64,
    },
    #[error(
        "household {household_id} has {heads} rows with relationship_to_head = head (line {first_line} is its first row); a household has exactly one head"
    )]
    NotOneHead {
        household_id: HouseholdId,
        heads: usize,
        first_line: u64,
    },
}

impl RegistryError {
    /// The line of the row refused; `None` for a problem of the whole file.
    pub fn line(&self) -> Option<u64> {
        match self {
            RegistryError::Csv { line, .. } => *line,
            RegistryError::Field { line, .. }
            | RegistryError::Duplicate { line, .. }
            | RegistryError::HouseholdDisagrees { line, .. }
            | RegistryError::SecondHead { line, .. } => Some(*line),
            RegistryError::MissingColumn { .. } | RegistryError::NotOneHead { .. } => None,
        }
    }

    /// The column at fault; `None` when the row as a whole is (a wrong number of fields).
    pub fn field(&self) -> Option<&'static str> {
        match self {
            RegistryError::Field { field, .. }
            | RegistryError::Duplicate { field, .. }
            | RegistryError::HouseholdDisagrees { field, .. } => Some(field),
            RegistryError::SecondHead { .. } => Some("relationship_to_head"),
            RegistryError::MissingColumn { column } => Some(column),
            RegistryError::Csv { .. } | RegistryError::NotOneHead { .. } => None,
        }
    }

    /// What is wrong, without the line and field the message starts with: the reason column
    /// of a rejects file.
    pub fn reason(&self) -> String {
        match self {
            RegistryError::Csv { message, .. } => message.clone(),
            RegistryError::Field { problem, .. } => problem.clone(),
            RegistryError::Duplicate { field, first_line, .. } => {
                format!("the same {field} is already on line {first_line}")
            }
            RegistryError::HouseholdDisagrees {
                field,
                household_id,
                first_line,
                ..
            } => format!(
                "household {household_id} has a different {field} on line {first_line}; every member's row must agree"
            ),
            RegistryError::SecondHead {
                household_id,
                first_line,
                ..
            } => format!(
                "household {household_id} already has its head on line {first_line}; a household has exactly one head"
            ),
            RegistryError::MissingColumn { .. } | RegistryError::NotOneHead { .. } => self.to_string(),
        }
    }
}

fn at_line(line: Option<u64>) -> String {
    line.map(|l| format!(" (line {l})")).unwrap_or_default()
}

/// Judges the rows of one registry file in order: each on its own ([`RegistryColumns`]), then
/// against the rows accepted before it ([`FileChecks`]), and, when given a catalogue, its
/// programmes against the catalogue.
///
/// Holds what the file-wide rules need (every accepted person id and NIK, and a summary of
/// each household), not the rows: a million-row file needs some tens of megabytes.
#[derive(Debug)]
pub struct RowValidator {
    columns: RegistryColumns,
    checks: FileChecks,
    catalogue: Option<Catalogue>,
    today: NaiveDate,
}

impl RowValidator {
    /// A validator for the file with this header. A header without one of the required
    /// columns refuses the whole file.
    ///
    /// `today` settles the century of the two-digit years in NIK and KK numbers, and refuses
    /// a KK number recorded, a birth or a death after it.
    pub fn new(header: &csv::ByteRecord, today: NaiveDate) -> Result<Self, RegistryError> {
        Ok(Self {
            columns: RegistryColumns::locate(header)?,
            checks: FileChecks::default(),
            catalogue: None,
            today,
        })
    }

    /// Also refuses a row that lists a programme this catalogue does not know.
    pub fn with_catalogue(mut self, catalogue: Catalogue) -> Self {
        self.catalogue = Some(catalogue);
        self
    }

    pub fn columns(&self) -> &RegistryColumns {
        &self.columns
    }

    /// The row if it is good; else why not. A refused row leaves no trace in the file-wide
    /// checks, so a later good row with the same NIK is accepted.
    pub fn validate(&mut self, record: &csv::ByteRecord) -> Result<RegistryRow, RegistryError> {
        let line = record.position().map_or(0, csv::Position::line);
        let row = self.columns.parse_row(line, record, self.today)?;
        if let Some(catalogue) = &self.catalogue
            && let Some(unknown) = row.enrolments.iter().find(|code| catalogue.programme(code).is_none())
        {
            return Err(RegistryError::Field {
                line,
                field: "enrolments",
                problem: format!("{unknown} is not a programme in catalogue {}", catalogue.version()),
            });
        }
        self.checks.check(line, &row)?;
        Ok(row)
    }

    /// Households seen without a head, with the line of their first row, in file order. Known
    /// only at the end of the file.
    pub fn households_without_head(&self) -> Vec<(HouseholdId, u64)> {
        self.checks.households_without_head()
    }
}

/// Every row judged on its own and against the rows before it. The outer error means the
/// file cannot be read at all (no header, a missing column); an inner error rejects one row.
/// Columns other than the registry's are ignored, since real exports carry many more. Lines
/// starting with `#` are comments.
pub fn parse_registry_rows(
    csv_text: &str,
    today: NaiveDate,
) -> Result<Vec<Result<RegistryRow, RegistryError>>, RegistryError> {
    let mut reader = registry_csv_reader(csv_text.as_bytes());
    let header = reader.byte_headers().map_err(csv_error)?.clone();
    let mut validator = RowValidator::new(&header, today)?;
    let mut rows = Vec::new();
    let mut record = csv::ByteRecord::new();
    while reader.read_byte_record(&mut record).map_err(csv_error)? {
        rows.push(validator.validate(&record));
    }
    Ok(rows)
}

/// A whole registry file, or the first thing wrong with it. Beyond each row, the file must
/// be consistent: no person or NIK twice, one KK number, village, desil, dwelling and assets
/// per household, and one head per household.
pub fn parse_registry_csv(csv_text: &str, today: NaiveDate) -> Result<Vec<RegistryRow>, RegistryError> {
    let mut reader = registry_csv_reader(csv_text.as_bytes());
    let header = reader.byte_headers().map_err(csv_error)?.clone();
    let mut validator = RowValidator::new(&header, today)?;
    let mut rows = Vec::new();
    let mut record = csv::ByteRecord::new();
    while reader.read_byte_record(&mut record).map_err(csv_error)? {
        rows.push(validator.validate(&record)?);
    }
    if let Some((household_id, first_line)) = validator.households_without_head().into_iter().next() {
        return Err(RegistryError::NotOneHead {
            household_id,
            heads: 0,
            first_line,
        });
    }
    Ok(rows)
}

fn csv_error(err: csv::Error) -> RegistryError {
    let line = err.position().map(csv::Position::line);
    RegistryError::Csv {
        line,
        message: err.to_string(),
    }
}

#[cfg(test)]
mod tests;
