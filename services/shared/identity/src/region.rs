//! Kemendagri region codes: `PP.KK.CC.DDDD` (province, regency or city, district, village).

mod table;

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

pub use table::Regions;

/// How deep a region code goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RegionLevel {
    /// Provinsi, `PP`.
    Province,
    /// Kabupaten (01-69) or kota (71 and up), `PP.KK`.
    Regency,
    /// Kecamatan, `PP.KK.CC`.
    District,
    /// Kelurahan or desa, `PP.KK.CC.DDDD`.
    Village,
}

/// A region code that exists in the embedded Kemendagri table.
///
/// Only [`RegionCode::parse`], [`Regions`] and the NIK/KK parsers make one, so a value always
/// names a real region. Ordering follows the table: a region sorts just before its children.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RegionCode {
    // Position in the embedded table, which is sorted by code.
    index: u32,
}

/// Why a text is not a region code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegionCodeError {
    /// Not shaped like `PP`, `PP.KK`, `PP.KK.CC` or `PP.KK.CC.DDDD` (dots optional). The text
    /// is not repeated: a NIK typed into the wrong field would otherwise end up in a log.
    #[error("region code must look like 33, 33.75, 33.75.01 or 33.75.01.1002")]
    Syntax,
    /// Well formed, but the Kemendagri table has no such region.
    #[error("region code {code} is not in the Kemendagri table")]
    Unknown {
        /// The code, dotted.
        code: String,
    },
}

impl RegionCodeError {
    /// A short, stable code for clients and logs.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Syntax => "region.syntax",
            Self::Unknown { .. } => "region.unknown",
        }
    }
}

impl RegionCode {
    /// Parses a dotted (`33.75.01.1002`) or compact (`3375011002`) code at any level, and checks
    /// that the region exists. Surrounding whitespace is ignored.
    pub fn parse(s: &str) -> Result<Self, RegionCodeError> {
        let key = Key::parse(s.trim()).ok_or(RegionCodeError::Syntax)?;
        Regions::kemendagri()
            .find(key)
            .ok_or_else(|| RegionCodeError::Unknown { code: key.dotted() })
    }

    /// Province, regency, district or village.
    pub fn level(&self) -> RegionLevel {
        self.key().level()
    }

    /// The official name, e.g. `Kota Pekalongan` for `33.75`.
    pub fn name(&self) -> &'static str {
        &Regions::kemendagri().entry(self.index).name
    }

    /// The dotted form, e.g. `33.75.01.1002`.
    pub fn dotted(&self) -> String {
        self.key().dotted()
    }

    /// The digits alone, e.g. `3375011002`.
    pub fn compact(&self) -> String {
        self.key().compact()
    }

    /// The region one level up; `None` for a province.
    pub fn parent(&self) -> Option<RegionCode> {
        Regions::kemendagri()
            .entry(self.index)
            .parent
            .map(|index| RegionCode { index })
    }

    /// The province this region lies in (itself, for a province).
    pub fn province(&self) -> RegionCode {
        let mut region = *self;
        while let Some(parent) = region.parent() {
            region = parent;
        }
        region
    }

    /// The regency or city (`33.75`) this region lies in; `None` for a province.
    pub fn regency(&self) -> Option<RegionCode> {
        self.ancestor_at(RegionLevel::Regency)
    }

    /// The district (`33.75.01`) this region lies in; `None` above district level.
    pub fn district(&self) -> Option<RegionCode> {
        self.ancestor_at(RegionLevel::District)
    }

    /// Whether this is, or lies in, a kota (city) rather than a kabupaten: regency part 71 and
    /// up. `false` for a province.
    pub fn is_kota(&self) -> bool {
        self.key().regency.is_some_and(|regency| regency >= 71)
    }

    /// Whether `other` is this region or lies within it: `33.75` contains `33.75.01.1002` and
    /// itself, but not `33.24`.
    pub fn contains(&self, other: &RegionCode) -> bool {
        self.key().contains(&other.key())
    }

    fn key(&self) -> Key {
        Regions::kemendagri().entry(self.index).key
    }

    fn ancestor_at(&self, level: RegionLevel) -> Option<RegionCode> {
        let mut region = *self;
        while region.level() > level {
            region = region.parent()?;
        }
        (region.level() == level).then_some(region)
    }
}

impl fmt::Display for RegionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.key(), f)
    }
}

impl fmt::Debug for RegionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RegionCode({} {})", self.key(), self.name())
    }
}

impl FromStr for RegionCode {
    type Err = RegionCodeError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl Serialize for RegionCode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for RegionCode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// The parts of a region code, whether or not the table has it. A part that is `None` is
/// absent, and only a prefix of the parts is ever present, so the derived order puts a region
/// just before everything inside it.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct Key {
    province: u8,
    regency: Option<u8>,
    district: Option<u8>,
    village: Option<u16>,
}

/// Width in digits of each part: `PP`, `KK`, `CC`, `DDDD`.
const WIDTHS: [usize; 4] = [2, 2, 2, 4];

impl Key {
    pub(crate) fn regency(province: u8, regency: u8) -> Self {
        Self {
            province,
            regency: Some(regency),
            district: None,
            village: None,
        }
    }

    pub(crate) fn district(province: u8, regency: u8, district: u8) -> Self {
        Self {
            district: Some(district),
            ..Self::regency(province, regency)
        }
    }

    /// `PP`, `PP.KK`, `PP.KK.CC` or `PP.KK.CC.DDDD`, or the same digits without dots.
    pub(crate) fn parse(s: &str) -> Option<Self> {
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
            return None;
        }
        // ASCII from here on, so byte offsets are character boundaries.
        let parts: Vec<&str> = if s.contains('.') {
            s.split('.').collect()
        } else {
            let mut parts = Vec::with_capacity(WIDTHS.len());
            let mut start = 0;
            for width in WIDTHS {
                if start == s.len() {
                    break;
                }
                parts.push(s.get(start..start + width)?);
                start += width;
            }
            if start != s.len() {
                return None;
            }
            parts
        };
        if parts.len() > WIDTHS.len()
            || parts
                .iter()
                .zip(WIDTHS)
                .any(|(part, width)| part.len() != width || !part.bytes().all(|b| b.is_ascii_digit()))
        {
            return None;
        }
        let number = |i: usize| -> Option<u16> {
            parts
                .get(i)
                .map(|part| part.bytes().fold(0, |n, b| n * 10 + u16::from(b - b'0')))
        };
        let two_digits = |i: usize| number(i).and_then(|n| u8::try_from(n).ok());
        Some(Self {
            province: two_digits(0)?,
            regency: two_digits(1),
            district: two_digits(2),
            village: number(3),
        })
    }

    pub(crate) fn level(&self) -> RegionLevel {
        match (self.regency, self.district, self.village) {
            (None, _, _) => RegionLevel::Province,
            (Some(_), None, _) => RegionLevel::Regency,
            (Some(_), Some(_), None) => RegionLevel::District,
            (Some(_), Some(_), Some(_)) => RegionLevel::Village,
        }
    }

    /// The key one level up.
    pub(crate) fn parent(&self) -> Option<Self> {
        let mut parent = *self;
        if parent.village.take().is_some() || parent.district.take().is_some() || parent.regency.take().is_some() {
            Some(parent)
        } else {
            None
        }
    }

    fn contains(&self, other: &Self) -> bool {
        fn within<T: PartialEq>(outer: Option<T>, inner: Option<T>) -> bool {
            outer.is_none() || outer == inner
        }
        self.province == other.province
            && within(self.regency, other.regency)
            && within(self.district, other.district)
            && within(self.village, other.village)
    }

    pub(crate) fn dotted(&self) -> String {
        self.to_string()
    }

    fn compact(&self) -> String {
        self.to_string().replace('.', "")
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}", self.province)?;
        if let Some(regency) = self.regency {
            write!(f, ".{regency:02}")?;
        }
        if let Some(district) = self.district {
            write!(f, ".{district:02}")?;
        }
        if let Some(village) = self.village {
            write!(f, ".{village:04}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Key({self})")
    }
}

#[cfg(test)]
mod tests;
