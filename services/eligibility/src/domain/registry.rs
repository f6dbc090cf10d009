//! Registry facts: people and households as the social registry (DTKS / DTSEN) records them.
//!
//! A registry file has one row per person. [`parse_registry_csv`] takes a whole file or
//! nothing (the shipped seed); [`parse_registry_rows`] judges each row on its own, for a bulk
//! import that loads the good rows and writes the others to a rejects file.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use chrono::NaiveDate;
use slrt_identity::{KkNumber, Nik, RegionCode, RegionLevel, Sex};

use super::catalogue::ProgrammeCode;

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

/// Relationship to the head of the household, as on the family card.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Relationship {
    Head,
    Spouse,
    Child,
    ChildInLaw,
    Grandchild,
    Parent,
    ParentInLaw,
    OtherRelative,
    Other,
}

impl Relationship {
    const ALL: [Relationship; 9] = [
        Relationship::Head,
        Relationship::Spouse,
        Relationship::Child,
        Relationship::ChildInLaw,
        Relationship::Grandchild,
        Relationship::Parent,
        Relationship::ParentInLaw,
        Relationship::OtherRelative,
        Relationship::Other,
    ];

    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == code)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Relationship::Head => "head",
            Relationship::Spouse => "spouse",
            Relationship::Child => "child",
            Relationship::ChildInLaw => "child_in_law",
            Relationship::Grandchild => "grandchild",
            Relationship::Parent => "parent",
            Relationship::ParentInLaw => "parent_in_law",
            Relationship::OtherRelative => "other_relative",
            Relationship::Other => "other",
        }
    }
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
    /// Programmes the registry lists for this person, their household's included. Seed
    /// material for the enrolment ledger ([`seed_ledger`](super::ledger::seed_ledger)), which
    /// is what decisions read.
    pub enrolments: Vec<ProgrammeCode>,
}

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
        "household {household_id} has {heads} rows with relationship_to_head = head (line {first_line} is its first row); a household has exactly one head"
    )]
    NotOneHead {
        household_id: HouseholdId,
        heads: usize,
        first_line: u64,
    },
}

fn at_line(line: Option<u64>) -> String {
    line.map(|l| format!(" (line {l})")).unwrap_or_default()
}

const COLUMNS: [&str; 12] = [
    "person_id",
    "nik",
    "full_name",
    "birth_date",
    "sex",
    "household_id",
    "kk_number",
    "region_code",
    "relationship_to_head",
    "desil",
    "deceased",
    "enrolments",
];

/// Every row judged on its own. The outer error means the file cannot be read at all (no
/// header, a missing column); an inner error rejects one row. Columns other than the
/// registry's are ignored, since real exports carry many more. Lines starting with `#` are
/// comments.
///
/// `today` settles the century of the two-digit years in NIK and KK numbers, and refuses a
/// KK number recorded after it.
pub fn parse_registry_rows(
    csv_text: &str,
    today: NaiveDate,
) -> Result<Vec<Result<RegistryRow, RegistryError>>, RegistryError> {
    Ok(read_rows(csv_text, today)?.into_iter().map(|(_, row)| row).collect())
}

/// A whole registry file, or the first thing wrong with it. Beyond each row, the file must
/// be consistent: no person or NIK twice, one KK number, village and desil per household, and
/// one head per household.
pub fn parse_registry_csv(csv_text: &str, today: NaiveDate) -> Result<Vec<RegistryRow>, RegistryError> {
    let mut rows: Vec<RegistryRow> = Vec::new();
    let mut person_lines: HashMap<PersonId, u64> = HashMap::new();
    let mut nik_lines: HashMap<Nik, u64> = HashMap::new();
    let mut households: BTreeMap<HouseholdId, HouseholdSeen> = BTreeMap::new();

    for (line, row) in read_rows(csv_text, today)? {
        let row = row?;
        if let Some(&first_line) = person_lines.get(&row.person_id) {
            return Err(RegistryError::Duplicate {
                line,
                field: "person_id",
                first_line,
            });
        }
        person_lines.insert(row.person_id.clone(), line);
        if let Some(&first_line) = nik_lines.get(&row.nik) {
            return Err(RegistryError::Duplicate {
                line,
                field: "nik",
                first_line,
            });
        }
        nik_lines.insert(row.nik.clone(), line);

        let is_head = row.relationship_to_head == Relationship::Head;
        match households.get_mut(&row.household_id) {
            None => {
                households.insert(
                    row.household_id.clone(),
                    HouseholdSeen {
                        first_line: line,
                        first_row: rows.len(),
                        heads: usize::from(is_head),
                    },
                );
            }
            Some(seen) => {
                seen.heads += usize::from(is_head);
                if let Some(field) = household_disagreement(&rows[seen.first_row], &row) {
                    return Err(RegistryError::HouseholdDisagrees {
                        line,
                        field,
                        household_id: row.household_id,
                        first_line: seen.first_line,
                    });
                }
            }
        }
        rows.push(row);
    }

    if let Some((household_id, seen)) = households.iter().find(|(_, seen)| seen.heads != 1) {
        return Err(RegistryError::NotOneHead {
            household_id: household_id.clone(),
            heads: seen.heads,
            first_line: seen.first_line,
        });
    }
    Ok(rows)
}

struct HouseholdSeen {
    first_line: u64,
    first_row: usize,
    heads: usize,
}

/// The first field, if any, on which two members' rows describe their household differently.
fn household_disagreement(first: &RegistryRow, other: &RegistryRow) -> Option<&'static str> {
    if first.kk_number != other.kk_number {
        Some("kk_number")
    } else if first.region_code != other.region_code {
        Some("region_code")
    } else if first.desil != other.desil {
        Some("desil")
    } else {
        None
    }
}

type NumberedRow = (u64, Result<RegistryRow, RegistryError>);

fn read_rows(csv_text: &str, today: NaiveDate) -> Result<Vec<NumberedRow>, RegistryError> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .comment(Some(b'#'))
        .from_reader(csv_text.as_bytes());
    let headers = reader.headers().map_err(csv_error)?.clone();
    let mut index = [0usize; COLUMNS.len()];
    for (slot, column) in index.iter_mut().zip(COLUMNS) {
        *slot = headers
            .iter()
            .position(|h| h == column)
            .ok_or(RegistryError::MissingColumn { column })?;
    }

    let mut rows = Vec::new();
    for record in reader.records() {
        // A row with the wrong number of fields is refused; the rows after it still count.
        let row = match record {
            Ok(record) => {
                let line = record.position().map_or(0, csv::Position::line);
                let field = |name: &'static str| {
                    COLUMNS
                        .iter()
                        .position(|column| *column == name)
                        .and_then(|i| record.get(index[i]))
                        .unwrap_or("")
                };
                (line, parse_row(line, today, field))
            }
            Err(err) => {
                let line = err.position().map_or(0, csv::Position::line);
                (line, Err(csv_error(err)))
            }
        };
        rows.push(row);
    }
    Ok(rows)
}

fn csv_error(err: csv::Error) -> RegistryError {
    let line = err.position().map(csv::Position::line);
    let message = match err.kind() {
        csv::ErrorKind::UnequalLengths { expected_len, len, .. } => {
            format!("the row has {len} fields where the header has {expected_len}")
        }
        _ => err.to_string(),
    };
    RegistryError::Csv { line, message }
}

fn parse_row<'a>(
    line: u64,
    today: NaiveDate,
    field: impl Fn(&'static str) -> &'a str,
) -> Result<RegistryRow, RegistryError> {
    let bad = |field: &'static str, problem: String| RegistryError::Field { line, field, problem };
    let person_id = PersonId::parse(field("person_id")).map_err(|e| bad("person_id", e.to_string()))?;
    let nik = Nik::parse_at(field("nik"), today).map_err(|e| bad("nik", e.to_string()))?;
    let full_name = field("full_name");
    if full_name.is_empty() {
        return Err(bad("full_name", "a name is required".to_owned()));
    }
    let birth_date = field("birth_date");
    let birth_date = NaiveDate::parse_from_str(birth_date, "%Y-%m-%d").map_err(|_| {
        bad(
            "birth_date",
            format!("\"{birth_date}\" is not a date in the form YYYY-MM-DD"),
        )
    })?;
    let sex = Sex::parse(field("sex")).map_err(|e| bad("sex", e.to_string()))?;
    let household_id = HouseholdId::parse(field("household_id")).map_err(|e| bad("household_id", e.to_string()))?;
    let kk_number = KkNumber::parse_at(field("kk_number"), today).map_err(|e| bad("kk_number", e.to_string()))?;
    let region_code = RegionCode::parse(field("region_code")).map_err(|e| bad("region_code", e.to_string()))?;
    // The registry records where a household lives, which is always a village (desa or
    // kelurahan); a district or regency code is too coarse to route a referral by.
    if region_code.level() != RegionLevel::Village {
        return Err(bad(
            "region_code",
            format!(
                "{region_code} ({}) is not a village: expected PP.KK.CC.DDDD, e.g. 33.75.01.1002",
                region_code.name()
            ),
        ));
    }
    let relationship = field("relationship_to_head");
    let relationship_to_head = Relationship::parse(relationship).ok_or_else(|| {
        let expected: Vec<&str> = Relationship::ALL.iter().map(|r| r.as_str()).collect();
        bad(
            "relationship_to_head",
            format!("\"{relationship}\" is not one of {}", expected.join(", ")),
        )
    })?;
    let desil = field("desil")
        .parse::<i64>()
        .ok()
        .and_then(|d| Desil::new(d).ok())
        .ok_or_else(|| bad("desil", DesilError.to_string()))?;
    let deceased = match field("deceased") {
        "true" => true,
        "false" => false,
        other => return Err(bad("deceased", format!("\"{other}\" is not true or false"))),
    };
    let enrolments = field("enrolments")
        .split(';')
        .map(str::trim)
        .filter(|code| !code.is_empty())
        .map(|code| ProgrammeCode::parse(code).map_err(|e| bad("enrolments", e.to_string())))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(RegistryRow {
        person_id,
        nik,
        full_name: full_name.to_owned(),
        birth_date,
        sex,
        household_id,
        kk_number,
        region_code,
        relationship_to_head,
        desil,
        deceased,
        enrolments,
    })
}

#[cfg(test)]
mod tests;
