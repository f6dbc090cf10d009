//! NIK (Nomor Induk Kependudukan), the 16-digit national identity number.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::calendar::{today_in_indonesia, year_from_two_digits};
use crate::card::{self, Digits, ShapeError};
use crate::{RegionCode, Sex};

/// A NIK, `PP KK CC DDMMYY SSSS`: the district where it was first registered, the birth date
/// (day +40 for women) and a serial from 0001. There is no check digit, so a valid NIK may
/// still be someone else's.
///
/// Equality, ordering and hashing go by the sixteen digits alone. `Display` prints them all
/// (payloads need the value); `Debug` prints [`Nik::masked`] so that `{:?}` cannot leak one into
/// a log.
#[derive(Clone)]
pub struct Nik {
    value: Box<str>,
    region: RegionCode,
    birth_date: NaiveDate,
    sex: Sex,
}

/// Why a text is not a NIK. The Display is the sentence for the person at the desk; it never
/// repeats the whole number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NikError {
    /// A character other than 0-9 (`position` counts from 1).
    #[error("NIK must contain only digits, found {found:?} at position {position}")]
    NotDigits {
        /// The offending character.
        found: char,
        /// Its position, counting from 1.
        position: usize,
    },
    /// Not sixteen digits.
    #[error("NIK must have 16 digits, found {found}")]
    Length {
        /// How many digits there were.
        found: usize,
    },
    /// Neither the district `PP.KK.CC` nor its regency `PP.KK` is a Kemendagri region.
    #[error("NIK region {region} is not a Kemendagri district")]
    Region {
        /// `PP.KK.CC` as written.
        region: String,
    },
    /// `DD` is neither 01-31 nor 41-71.
    #[error("NIK birth day {day:02} is not valid: 01-31 for a man, 41-71 for a woman")]
    BirthDay {
        /// `DD` as written.
        day: u8,
    },
    /// `MM` is not 01-12.
    #[error("NIK birth month {month:02} is not valid: 01-12")]
    BirthMonth {
        /// `MM` as written.
        month: u8,
    },
    /// Day and month are in range but make no date, e.g. 31 February.
    #[error("NIK birth date {day:02}-{month:02}-{year:02} is not a real date")]
    BirthDate {
        /// The day, with the 40 for women taken off.
        day: u8,
        /// `MM` as written.
        month: u8,
        /// `YY` as written.
        year: u8,
    },
    /// `SSSS` is 0000; serials start at 0001.
    #[error("NIK serial 0000 is not valid")]
    Serial,
}

impl NikError {
    /// A short, stable code for clients and logs.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotDigits { .. } => "nik.digits",
            Self::Length { .. } => "nik.length",
            Self::Region { .. } => "nik.region",
            Self::BirthDay { .. } | Self::BirthMonth { .. } | Self::BirthDate { .. } => "nik.date",
            Self::Serial => "nik.serial",
        }
    }
}

/// A NIK that disagrees with what its holder declares. Not a rejection: a NIK is never reissued
/// to correct a birth date, so the record goes ahead and the desk sees the warning.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NikWarning {
    /// The NIK's `DDMMYY` is not the declared birth date.
    BirthDateMismatch {
        /// The birth date the NIK encodes (its century inferred; see [`Nik::birth_date`]).
        on_nik: NaiveDate,
        /// The birth date the person declared.
        declared: NaiveDate,
    },
    /// The NIK's day (+40 or not) says one sex, the declaration the other.
    SexMismatch {
        /// The sex the NIK encodes.
        on_nik: Sex,
        /// The sex the person declared.
        declared: Sex,
    },
}

impl NikWarning {
    /// A short, stable code for clients and logs.
    pub fn code(&self) -> &'static str {
        match self {
            Self::BirthDateMismatch { .. } => "nik.birth_date_mismatch",
            Self::SexMismatch { .. } => "nik.sex_mismatch",
        }
    }
}

impl fmt::Display for NikWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            // Two-digit year for the NIK side: that is all the NIK says.
            Self::BirthDateMismatch { on_nik, declared } => write!(
                f,
                "NIK gives birth date {} but the declared birth date is {}",
                on_nik.format("%d-%m-%y"),
                declared.format("%d-%m-%Y"),
            ),
            Self::SexMismatch { on_nik, declared } => write!(
                f,
                "NIK is a {}'s but the declared sex is {}",
                match on_nik {
                    Sex::Male => "man",
                    Sex::Female => "woman",
                },
                match declared {
                    Sex::Male => "male",
                    Sex::Female => "female",
                },
            ),
        }
    }
}

impl Nik {
    /// [`Nik::parse_at`] as of [`today_in_indonesia`].
    pub fn parse(s: &str) -> Result<Self, NikError> {
        Self::parse_at(s, today_in_indonesia())
    }

    /// Parses and validates a NIK, ignoring surrounding whitespace (and nothing else: spaces or
    /// dashes inside are errors).
    ///
    /// `today` settles the century of `YY`: the latest one that puts the birth date on or
    /// before `today` (`87` is 1987; in 2025, `25` is 2025 up to today's date and 1925 after).
    pub fn parse_at(s: &str, today: NaiveDate) -> Result<Self, NikError> {
        let text = s.trim();
        let digits = Digits::parse(text).map_err(|error| match error {
            ShapeError::NotDigit { found, position } => NikError::NotDigits { found, position },
            ShapeError::Length { found } => NikError::Length { found },
        })?;
        let region = digits.registered_region().ok_or_else(|| NikError::Region {
            region: digits.district_code(),
        })?;
        let (day, sex) = match digits.day() {
            day @ 1..=31 => (day, Sex::Male),
            day @ 41..=71 => (day - 40, Sex::Female),
            day => return Err(NikError::BirthDay { day }),
        };
        let month = digits.month();
        if !(1..=12).contains(&month) {
            return Err(NikError::BirthMonth { month });
        }
        let yy = digits.two_digit_year();
        let birth_date = birth_date(day, month, yy, today).ok_or(NikError::BirthDate { day, month, year: yy })?;
        if digits.serial_is_zero() {
            return Err(NikError::Serial);
        }
        Ok(Self {
            value: text.into(),
            region,
            birth_date,
            sex,
        })
    }

    /// The sixteen digits.
    pub fn as_str(&self) -> &str {
        &self.value
    }

    /// `3602********0001`: the first four and last four digits, for logs and screens that only
    /// need to tell NIKs apart.
    pub fn masked(&self) -> String {
        card::mask(&self.value)
    }

    /// The birth date the NIK encodes. A NIK says only `YY`, so the century is the one
    /// inferred at parse time (see [`Nik::parse_at`]): someone born in 1920 reads as 2020.
    pub fn birth_date(&self) -> NaiveDate {
        self.birth_date
    }

    /// Female when the day is written +40.
    pub fn sex(&self) -> Sex {
        self.sex
    }

    /// `PP.KK.CC` as written: where the NIK was first registered, not where the person lives.
    /// It may be a code Kemendagri has since split or renumbered; see [`Nik::region`].
    pub fn district_code(&self) -> String {
        format!("{}.{}.{}", &self.value[0..2], &self.value[2..4], &self.value[4..6])
    }

    /// The Kemendagri region of [`Nik::district_code`]: that district, or its regency when the
    /// district code is no longer in the table.
    pub fn region(&self) -> RegionCode {
        self.region
    }

    /// Compares the NIK with what its holder declares. Each disagreement is a warning, not an
    /// error. Birth dates are compared on day, month and two-digit year, since the NIK cannot
    /// tell 1920 from 2020.
    pub fn check_declared(&self, birth_date: NaiveDate, sex: Sex) -> Vec<NikWarning> {
        let mut warnings = Vec::new();
        let ddmmyy = |date: NaiveDate| (date.day(), date.month(), date.year().rem_euclid(100));
        if ddmmyy(birth_date) != ddmmyy(self.birth_date) {
            warnings.push(NikWarning::BirthDateMismatch {
                on_nik: self.birth_date,
                declared: birth_date,
            });
        }
        if sex != self.sex {
            warnings.push(NikWarning::SexMismatch {
                on_nik: self.sex,
                declared: sex,
            });
        }
        warnings
    }
}

/// The latest date with this day, month and two-digit year that is not after `today`.
fn birth_date(day: u8, month: u8, yy: u8, today: NaiveDate) -> Option<NaiveDate> {
    let year = year_from_two_digits(yy, today);
    [year, year - 100]
        .into_iter()
        .filter_map(|year| NaiveDate::from_ymd_opt(year, month.into(), day.into()))
        .find(|date| *date <= today)
}

// By the digits alone: the birth date's century depends on the day the number was parsed.
impl PartialEq for Nik {
    fn eq(&self, other: &Self) -> bool {
        self.value == other.value
    }
}

impl Eq for Nik {}

impl Hash for Nik {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.value.hash(state);
    }
}

impl PartialOrd for Nik {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Nik {
    fn cmp(&self, other: &Self) -> Ordering {
        self.value.cmp(&other.value)
    }
}

impl fmt::Display for Nik {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.value)
    }
}

impl fmt::Debug for Nik {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Nik({})", self.masked())
    }
}

impl FromStr for Nik {
    type Err = NikError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl Serialize for Nik {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.value)
    }
}

impl<'de> Deserialize<'de> for Nik {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = card::deserialize_text(deserializer, "NIK")?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests;
