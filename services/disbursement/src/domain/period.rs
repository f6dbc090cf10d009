//! Payment cadences and the periods (stages) a payment is for.
//!
//! A period's text is part of the payment key, so there is exactly one spelling of each
//! period: `2026-01`, never `2026-1`; `2026-Q4`, never `2026-q4`; `2026` for a year, never
//! `26` or `2026-Y`. Parsing refuses every other spelling, otherwise two keys could name the
//! same period and pay it twice.

use std::fmt;
use std::str::FromStr;

use chrono::{Datelike, NaiveDate};

/// How often a programme pays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Cadence {
    Monthly,
    Quarterly,
    /// Once per calendar year, e.g. PIP school aid.
    Yearly,
    /// A single payment, e.g. the PENA business grant.
    Once,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("\"{0}\" is not a payment cadence (one of: monthly, quarterly, yearly, once)")]
pub struct UnknownCadence(pub String);

impl Cadence {
    pub fn parse(text: &str) -> Result<Self, UnknownCadence> {
        match text {
            "monthly" => Ok(Self::Monthly),
            "quarterly" => Ok(Self::Quarterly),
            "yearly" => Ok(Self::Yearly),
            "once" => Ok(Self::Once),
            other => Err(UnknownCadence(other.to_owned())),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Monthly => "monthly",
            Self::Quarterly => "quarterly",
            Self::Yearly => "yearly",
            Self::Once => "once",
        }
    }
}

impl FromStr for Cadence {
    type Err = UnknownCadence;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl fmt::Display for Cadence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One payment period: a month, a quarter (a PKH tahap), a calendar year, or the single
/// period of a one-off payment. Always valid: built only by the constructors,
/// [`Period::first_for`] and [`Period::parse`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Period(Kind);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    Month { year: u16, month: u8 },
    Quarter { year: u16, quarter: u8 },
    Year { year: u16 },
    Once,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PeriodError {
    #[error("\"{0}\" is not a payment period: use YYYY-MM (monthly), YYYY-Qn (quarterly), YYYY (yearly) or once")]
    Malformed(String),
    /// Four-digit years only, so that every period has one spelling.
    #[error("year {0} is outside the years a payment period can name (0001 to 9999)")]
    YearOutOfRange(i32),
    #[error("month {0} is not a month (1 to 12)")]
    MonthOutOfRange(u32),
    #[error("quarter {0} is not a quarter (1 to 4)")]
    QuarterOutOfRange(u32),
}

impl Period {
    pub const ONCE: Self = Self(Kind::Once);

    pub fn monthly(year: i32, month: u32) -> Result<Self, PeriodError> {
        let year = checked_year(year)?;
        let month = u8::try_from(month)
            .ok()
            .filter(|m| (1..=12).contains(m))
            .ok_or(PeriodError::MonthOutOfRange(month))?;
        Ok(Self(Kind::Month { year, month }))
    }

    pub fn quarterly(year: i32, quarter: u32) -> Result<Self, PeriodError> {
        let year = checked_year(year)?;
        let quarter = u8::try_from(quarter)
            .ok()
            .filter(|q| (1..=4).contains(q))
            .ok_or(PeriodError::QuarterOutOfRange(quarter))?;
        Ok(Self(Kind::Quarter { year, quarter }))
    }

    pub fn yearly(year: i32) -> Result<Self, PeriodError> {
        Ok(Self(Kind::Year {
            year: checked_year(year)?,
        }))
    }

    /// The period of `cadence` that contains `date`.
    pub fn first_for(cadence: Cadence, date: NaiveDate) -> Result<Self, PeriodError> {
        match cadence {
            Cadence::Monthly => Self::monthly(date.year(), date.month()),
            Cadence::Quarterly => Self::quarterly(date.year(), date.month().div_ceil(3)),
            Cadence::Yearly => Self::yearly(date.year()),
            Cadence::Once => Ok(Self::ONCE),
        }
    }

    /// Parses the one canonical spelling of a period, as [`Display`](fmt::Display) writes it.
    pub fn parse(text: &str) -> Result<Self, PeriodError> {
        let malformed = || PeriodError::Malformed(text.to_owned());
        if text == "once" {
            return Ok(Self::ONCE);
        }
        let Some((year, rest)) = text.split_once('-') else {
            // A year on its own is the period of a yearly payment.
            let year = digits(text, 4).ok_or_else(malformed)?;
            let year = i32::try_from(year).map_err(|_| malformed())?;
            return Self::yearly(year).map_err(|_| malformed());
        };
        let year = digits(year, 4).ok_or_else(malformed)?;
        let year = i32::try_from(year).map_err(|_| malformed())?;
        if let Some(quarter) = rest.strip_prefix('Q') {
            let quarter = digits(quarter, 1).ok_or_else(malformed)?;
            Self::quarterly(year, quarter).map_err(|_| malformed())
        } else {
            let month = digits(rest, 2).ok_or_else(malformed)?;
            Self::monthly(year, month).map_err(|_| malformed())
        }
    }

    /// The first day of the period; `None` for a one-off payment, which has no dates.
    pub fn start(self) -> Option<NaiveDate> {
        match self.0 {
            Kind::Month { year, month } => NaiveDate::from_ymd_opt(i32::from(year), u32::from(month), 1),
            Kind::Quarter { year, quarter } => NaiveDate::from_ymd_opt(i32::from(year), u32::from(quarter) * 3 - 2, 1),
            Kind::Year { year } => NaiveDate::from_ymd_opt(i32::from(year), 1, 1),
            Kind::Once => None,
        }
    }

    /// The last day of the period; `None` for a one-off payment.
    pub fn end(self) -> Option<NaiveDate> {
        self.next().and_then(Self::start).and_then(|next| next.pred_opt())
    }

    /// The period after this one, of the same cadence; `None` after 9999 and for a one-off.
    pub fn next(self) -> Option<Self> {
        match self.0 {
            Kind::Month { year, month: 12 } => Self::monthly(i32::from(year) + 1, 1).ok(),
            Kind::Month { year, month } => Self::monthly(i32::from(year), u32::from(month) + 1).ok(),
            Kind::Quarter { year, quarter: 4 } => Self::quarterly(i32::from(year) + 1, 1).ok(),
            Kind::Quarter { year, quarter } => Self::quarterly(i32::from(year), u32::from(quarter) + 1).ok(),
            Kind::Year { year } => Self::yearly(i32::from(year) + 1).ok(),
            Kind::Once => None,
        }
    }

    /// Every period of `cadence` that has at least one day in `from..=to`, oldest first.
    /// Empty for a one-off cadence or when `to` is before `from`.
    pub fn overlapping(cadence: Cadence, from: NaiveDate, to: NaiveDate) -> Vec<Self> {
        let mut periods = Vec::new();
        if cadence == Cadence::Once || to < from {
            return periods;
        }
        let mut current = Self::first_for(cadence, from).ok();
        while let Some(period) = current {
            match period.start() {
                Some(start) if start <= to => periods.push(period),
                _ => break,
            }
            current = period.next();
        }
        periods
    }

    pub fn cadence(self) -> Cadence {
        match self.0 {
            Kind::Month { .. } => Cadence::Monthly,
            Kind::Quarter { .. } => Cadence::Quarterly,
            Kind::Year { .. } => Cadence::Yearly,
            Kind::Once => Cadence::Once,
        }
    }
}

fn checked_year(year: i32) -> Result<u16, PeriodError> {
    u16::try_from(year)
        .ok()
        .filter(|y| (1..=9999).contains(y))
        .ok_or(PeriodError::YearOutOfRange(year))
}

/// Exactly `width` ASCII digits (no sign, no spaces), as a number.
fn digits(text: &str, width: usize) -> Option<u32> {
    if text.len() == width && text.bytes().all(|b| b.is_ascii_digit()) {
        text.parse().ok()
    } else {
        None
    }
}

impl FromStr for Period {
    type Err = PeriodError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Kind::Month { year, month } => write!(f, "{year:04}-{month:02}"),
            Kind::Quarter { year, quarter } => write!(f, "{year:04}-Q{quarter}"),
            Kind::Year { year } => write!(f, "{year:04}"),
            Kind::Once => f.write_str("once"),
        }
    }
}

#[cfg(test)]
mod tests;
