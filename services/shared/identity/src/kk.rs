//! KK (Kartu Keluarga) number, the 16-digit family card number.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;

use chrono::NaiveDate;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::RegionCode;
use crate::calendar::{today_in_indonesia, year_from_two_digits};
use crate::card::{self, Digits, ShapeError};

/// A KK number: issuing region `PP KK CC`, recording date `DDMMYY` and a serial from 0001.
///
/// A family's KK number changes when it moves, when the head dies, on divorce, or when a member
/// splits off, so it identifies a card, not a household.
///
/// Equality, ordering and hashing go by the sixteen digits. `Display` prints them all;
/// `Debug` prints [`KkNumber::masked`].
#[derive(Clone)]
pub struct KkNumber {
    value: Box<str>,
    region: RegionCode,
    recorded_on: NaiveDate,
}

/// Why a text is not a KK number. The Display is the sentence for the person at the desk; it
/// never repeats the whole number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KkNumberError {
    /// A character other than 0-9.
    #[error("KK number must contain only digits, found {found:?} at position {position}")]
    NotDigits {
        /// The offending character.
        found: char,
        /// Its position, counting from 1.
        position: usize,
    },
    /// Not sixteen digits.
    #[error("KK number must have 16 digits, found {found}")]
    Length {
        /// How many digits there were.
        found: usize,
    },
    /// Neither the district `PP.KK.CC` nor its regency `PP.KK` is a Kemendagri region.
    #[error("KK number region {region} is not a Kemendagri district")]
    Region {
        /// `PP.KK.CC` as written.
        region: String,
    },
    /// `DDMMYY` is not a calendar date.
    #[error("KK number recording date {day:02}-{month:02}-{year:02} is not a real date")]
    RecordingDate {
        /// `DD` as written.
        day: u8,
        /// `MM` as written.
        month: u8,
        /// `YY` as written.
        year: u8,
    },
    /// `DDMMYY` is after today.
    #[error("KK number recording date {day:02}-{month:02}-{year:02} is in the future")]
    FutureRecordingDate {
        /// `DD` as written.
        day: u8,
        /// `MM` as written.
        month: u8,
        /// `YY` as written.
        year: u8,
    },
    /// `SSSS` is 0000; serials start at 0001.
    #[error("KK number serial 0000 is not valid")]
    Serial,
}

impl KkNumberError {
    /// A short, stable code for clients and logs.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotDigits { .. } => "kk.digits",
            Self::Length { .. } => "kk.length",
            Self::Region { .. } => "kk.region",
            Self::RecordingDate { .. } => "kk.date",
            Self::FutureRecordingDate { .. } => "kk.date_future",
            Self::Serial => "kk.serial",
        }
    }
}

impl KkNumber {
    /// [`KkNumber::parse_at`] as of [`today_in_indonesia`].
    pub fn parse(s: &str) -> Result<Self, KkNumberError> {
        Self::parse_at(s, today_in_indonesia())
    }

    /// Parses and validates a KK number, ignoring surrounding whitespace only.
    ///
    /// `YY` is this century when not past `today`'s two-digit year, else the last; a recording
    /// date after `today` is an error (unlike a NIK birth date, it is not moved back a century:
    /// no KK was recorded in the 1920s).
    pub fn parse_at(s: &str, today: NaiveDate) -> Result<Self, KkNumberError> {
        let text = s.trim();
        let digits = Digits::parse(text).map_err(|error| match error {
            ShapeError::NotDigit { found, position } => KkNumberError::NotDigits { found, position },
            ShapeError::Length { found } => KkNumberError::Length { found },
        })?;
        let region = digits.registered_region().ok_or_else(|| KkNumberError::Region {
            region: digits.district_code(),
        })?;
        let (day, month, year) = (digits.day(), digits.month(), digits.two_digit_year());
        let recorded_on = NaiveDate::from_ymd_opt(year_from_two_digits(year, today), month.into(), day.into())
            .ok_or(KkNumberError::RecordingDate { day, month, year })?;
        if recorded_on > today {
            return Err(KkNumberError::FutureRecordingDate { day, month, year });
        }
        if digits.serial_is_zero() {
            return Err(KkNumberError::Serial);
        }
        Ok(Self {
            value: text.into(),
            region,
            recorded_on,
        })
    }

    /// The sixteen digits.
    pub fn as_str(&self) -> &str {
        &self.value
    }

    /// `3273********0004`: the first four and last four digits, for logs.
    pub fn masked(&self) -> String {
        card::mask(&self.value)
    }

    /// `PP.KK.CC` as written: the issuing district, which may since have been split or
    /// renumbered; see [`KkNumber::region`].
    pub fn district_code(&self) -> String {
        format!("{}.{}.{}", &self.value[0..2], &self.value[2..4], &self.value[4..6])
    }

    /// The Kemendagri region of [`KkNumber::district_code`]: that district, or its regency
    /// when the district code is no longer in the table.
    pub fn region(&self) -> RegionCode {
        self.region
    }

    /// The date the card was recorded.
    pub fn recorded_on(&self) -> NaiveDate {
        self.recorded_on
    }
}

// By the digits alone: the recording date's century depends on the day the number was parsed.
impl PartialEq for KkNumber {
    fn eq(&self, other: &Self) -> bool {
        self.value == other.value
    }
}

impl Eq for KkNumber {}

impl Hash for KkNumber {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.value.hash(state);
    }
}

impl PartialOrd for KkNumber {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for KkNumber {
    fn cmp(&self, other: &Self) -> Ordering {
        self.value.cmp(&other.value)
    }
}

impl fmt::Display for KkNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.value)
    }
}

impl fmt::Debug for KkNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KkNumber({})", self.masked())
    }
}

impl FromStr for KkNumber {
    type Err = KkNumberError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl Serialize for KkNumber {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.value)
    }
}

impl<'de> Deserialize<'de> for KkNumber {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = card::deserialize_text(deserializer, "KK number")?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests;
