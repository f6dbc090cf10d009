//! The columns of a registry file and the rules for each field of a row.

use chrono::NaiveDate;
use slrt_identity::{KkNumber, Nik, RegionCode, RegionLevel, Sex};

use super::{
    Assets, Desil, DesilError, Floor, HouseholdId, Housing, PersonId, RegistryError, RegistryRow, Relationship, Roof,
    Wall,
};
use crate::domain::catalogue::ProgrammeCode;

/// A column of a registry file. The first twelve are required (the columns of the original
/// seed format); the others may be left out, and a file without them says nothing about a
/// death date, the dwelling or the assets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Column {
    PersonId,
    Nik,
    FullName,
    BirthDate,
    Sex,
    HouseholdId,
    KkNumber,
    RegionCode,
    RelationshipToHead,
    Desil,
    Deceased,
    Enrolments,
    DeceasedOn,
    Floor,
    Wall,
    Roof,
    OwnsCar,
    OwnsMotorbike,
    OwnsLand,
}

impl Column {
    pub const ALL: [Column; 19] = [
        Column::PersonId,
        Column::Nik,
        Column::FullName,
        Column::BirthDate,
        Column::Sex,
        Column::HouseholdId,
        Column::KkNumber,
        Column::RegionCode,
        Column::RelationshipToHead,
        Column::Desil,
        Column::Deceased,
        Column::Enrolments,
        Column::DeceasedOn,
        Column::Floor,
        Column::Wall,
        Column::Roof,
        Column::OwnsCar,
        Column::OwnsMotorbike,
        Column::OwnsLand,
    ];

    /// The header name.
    pub fn name(self) -> &'static str {
        match self {
            Column::PersonId => "person_id",
            Column::Nik => "nik",
            Column::FullName => "full_name",
            Column::BirthDate => "birth_date",
            Column::Sex => "sex",
            Column::HouseholdId => "household_id",
            Column::KkNumber => "kk_number",
            Column::RegionCode => "region_code",
            Column::RelationshipToHead => "relationship_to_head",
            Column::Desil => "desil",
            Column::Deceased => "deceased",
            Column::Enrolments => "enrolments",
            Column::DeceasedOn => "deceased_on",
            Column::Floor => "floor",
            Column::Wall => "wall",
            Column::Roof => "roof",
            Column::OwnsCar => "owns_car",
            Column::OwnsMotorbike => "owns_motorbike",
            Column::OwnsLand => "owns_land",
        }
    }

    pub fn is_required(self) -> bool {
        (self as usize) <= (Column::Enrolments as usize)
    }
}

/// How every registry file is read: a header row, fields trimmed, `#` lines as comments, and
/// rows of any length (a short or long row is refused by its own line, not the whole file).
pub fn registry_csv_reader<R: std::io::Read>(input: R) -> csv::Reader<R> {
    csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .comment(Some(b'#'))
        .flexible(true)
        .from_reader(input)
}

/// Where each column is in one file. Columns other than the registry's are ignored, since
/// real exports carry many more.
#[derive(Debug, Clone)]
pub struct RegistryColumns {
    at: [Option<usize>; Column::ALL.len()],
    width: usize,
}

impl RegistryColumns {
    pub fn locate(header: &csv::ByteRecord) -> Result<Self, RegistryError> {
        let names: Vec<&[u8]> = header
            .iter()
            .enumerate()
            // A spreadsheet's UTF-8 export starts with a byte order mark.
            .map(|(i, name)| {
                if i == 0 {
                    name.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(name)
                } else {
                    name
                }
            })
            .collect();
        let mut at = [None; Column::ALL.len()];
        for column in Column::ALL {
            at[column as usize] = names.iter().position(|name| *name == column.name().as_bytes());
            if at[column as usize].is_none() && column.is_required() {
                return Err(RegistryError::MissingColumn { column: column.name() });
            }
        }
        Ok(Self {
            at,
            width: header.len(),
        })
    }

    /// Whether the header has this column.
    pub fn has(&self, column: Column) -> bool {
        self.at[column as usize].is_some()
    }

    /// One row on its own, or the first thing wrong with it.
    pub fn parse_row(
        &self,
        line: u64,
        record: &csv::ByteRecord,
        today: NaiveDate,
    ) -> Result<RegistryRow, RegistryError> {
        if record.len() != self.width {
            return Err(RegistryError::Csv {
                line: Some(line),
                message: format!(
                    "the row has {} fields where the header has {}",
                    record.len(),
                    self.width
                ),
            });
        }
        let bad = |column: Column, problem: String| RegistryError::Field {
            line,
            field: column.name(),
            problem,
        };
        let field = |column: Column| -> Result<&str, RegistryError> {
            let bytes = self.at[column as usize].and_then(|i| record.get(i)).unwrap_or_default();
            std::str::from_utf8(bytes).map_err(|_| bad(column, "the value is not UTF-8 text".to_owned()))
        };

        let person_id = PersonId::parse(field(Column::PersonId)?).map_err(|e| bad(Column::PersonId, e.to_string()))?;
        let nik = Nik::parse_at(field(Column::Nik)?, today).map_err(|e| bad(Column::Nik, e.to_string()))?;
        let full_name = field(Column::FullName)?;
        if full_name.is_empty() {
            return Err(bad(Column::FullName, "a name is required".to_owned()));
        }
        let birth_date = date(field(Column::BirthDate)?).map_err(|problem| bad(Column::BirthDate, problem))?;
        if birth_date > today {
            return Err(bad(Column::BirthDate, format!("{birth_date} is after today")));
        }
        let sex = Sex::parse(field(Column::Sex)?).map_err(|e| bad(Column::Sex, e.to_string()))?;
        let household_id =
            HouseholdId::parse(field(Column::HouseholdId)?).map_err(|e| bad(Column::HouseholdId, e.to_string()))?;
        let kk_number =
            KkNumber::parse_at(field(Column::KkNumber)?, today).map_err(|e| bad(Column::KkNumber, e.to_string()))?;
        let region_code =
            RegionCode::parse(field(Column::RegionCode)?).map_err(|e| bad(Column::RegionCode, e.to_string()))?;
        // The registry records where a household lives, which is always a village (desa or
        // kelurahan); a district or regency code is too coarse to route a referral by.
        if region_code.level() != RegionLevel::Village {
            return Err(bad(
                Column::RegionCode,
                format!(
                    "{region_code} ({}) is not a village: expected PP.KK.CC.DDDD, e.g. 33.75.01.1002",
                    region_code.name()
                ),
            ));
        }
        let relationship = field(Column::RelationshipToHead)?;
        let relationship_to_head = Relationship::parse(relationship).ok_or_else(|| {
            bad(
                Column::RelationshipToHead,
                format!("\"{relationship}\" is not one of {}", Relationship::choices()),
            )
        })?;
        let desil = field(Column::Desil)?
            .parse::<i64>()
            .ok()
            .and_then(|d| Desil::new(d).ok())
            .ok_or_else(|| bad(Column::Desil, DesilError.to_string()))?;
        let deceased = flag(field(Column::Deceased)?)
            .and_then(|value| value.ok_or_else(|| "a value is required: true or false".to_owned()))
            .map_err(|problem| bad(Column::Deceased, problem))?;
        let deceased_on =
            optional(field(Column::DeceasedOn)?, date).map_err(|problem| bad(Column::DeceasedOn, problem))?;
        if let Some(died) = deceased_on {
            let problem = if !deceased {
                Some("a date of death is given but deceased is false".to_owned())
            } else if died > today {
                Some(format!("{died} is after today"))
            } else if died < birth_date {
                Some(format!("{died} is before the birth date {birth_date}"))
            } else {
                None
            };
            if let Some(problem) = problem {
                return Err(bad(Column::DeceasedOn, problem));
            }
        }
        let housing = Housing {
            floor: optional(field(Column::Floor)?, |code| choice(code, Floor::parse, Floor::choices))
                .map_err(|problem| bad(Column::Floor, problem))?,
            wall: optional(field(Column::Wall)?, |code| choice(code, Wall::parse, Wall::choices))
                .map_err(|problem| bad(Column::Wall, problem))?,
            roof: optional(field(Column::Roof)?, |code| choice(code, Roof::parse, Roof::choices))
                .map_err(|problem| bad(Column::Roof, problem))?,
        };
        let assets = Assets {
            car: flag(field(Column::OwnsCar)?).map_err(|problem| bad(Column::OwnsCar, problem))?,
            motorbike: flag(field(Column::OwnsMotorbike)?).map_err(|problem| bad(Column::OwnsMotorbike, problem))?,
            land: flag(field(Column::OwnsLand)?).map_err(|problem| bad(Column::OwnsLand, problem))?,
        };
        let mut enrolments: Vec<ProgrammeCode> = Vec::new();
        for code in field(Column::Enrolments)?
            .split(';')
            .map(str::trim)
            .filter(|code| !code.is_empty())
        {
            let code = ProgrammeCode::parse(code).map_err(|e| bad(Column::Enrolments, e.to_string()))?;
            if !enrolments.contains(&code) {
                enrolments.push(code);
            }
        }
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
            deceased_on,
            housing,
            assets,
            enrolments,
        })
    }
}

fn date(text: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| format!("\"{text}\" is not a date in the form YYYY-MM-DD"))
}

/// `true` or `false`, or nothing (unknown).
fn flag(text: &str) -> Result<Option<bool>, String> {
    match text {
        "" => Ok(None),
        "true" => Ok(Some(true)),
        "false" => Ok(Some(false)),
        other => Err(format!("\"{other}\" is not true or false")),
    }
}

/// An empty field is unknown; anything else must parse.
fn optional<T>(text: &str, parse: impl Fn(&str) -> Result<T, String>) -> Result<Option<T>, String> {
    if text.is_empty() {
        Ok(None)
    } else {
        parse(text).map(Some)
    }
}

fn choice<T>(code: &str, parse: fn(&str) -> Option<T>, choices: fn() -> String) -> Result<T, String> {
    parse(code).ok_or_else(|| format!("\"{code}\" is not one of {}", choices()))
}
