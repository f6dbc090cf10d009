//! The layout NIK and KK numbers share: 16 digits, a `PP KK CC` region, a `DDMMYY` date and a
//! four-digit serial.

use std::fmt;

use serde::{Deserializer, de};

use crate::RegionCode;
use crate::region::{Key, Regions};

const LENGTH: usize = 16;

/// Sixteen decimal digits, each 0-9.
pub(crate) struct Digits([u8; LENGTH]);

/// Why a text is not sixteen digits.
pub(crate) enum ShapeError {
    /// `position` counts characters from 1.
    NotDigit {
        found: char,
        position: usize,
    },
    Length {
        found: usize,
    },
}

impl Digits {
    /// Expects the text already trimmed. A stray character is reported before a wrong length,
    /// since it is usually why the length is wrong (`3602-0412-...`).
    pub(crate) fn parse(s: &str) -> Result<Self, ShapeError> {
        let mut digits = [0; LENGTH];
        let mut count = 0;
        for (index, c) in s.chars().enumerate() {
            let Some(digit) = c.to_digit(10).and_then(|d| u8::try_from(d).ok()) else {
                return Err(ShapeError::NotDigit {
                    found: c,
                    position: index + 1,
                });
            };
            if let Some(slot) = digits.get_mut(index) {
                *slot = digit;
            }
            count += 1;
        }
        if count == LENGTH {
            Ok(Self(digits))
        } else {
            Err(ShapeError::Length { found: count })
        }
    }

    fn pair(&self, at: usize) -> u8 {
        self.0[at] * 10 + self.0[at + 1]
    }

    /// `PP.KK.CC`, as written, whether or not the table still has it.
    pub(crate) fn district_code(&self) -> String {
        format!("{:02}.{:02}.{:02}", self.pair(0), self.pair(2), self.pair(4))
    }

    /// The district where the number was issued; or, when the district code has since been
    /// split or renumbered, its regency.
    pub(crate) fn registered_region(&self) -> Option<RegionCode> {
        let (province, regency, district) = (self.pair(0), self.pair(2), self.pair(4));
        let regions = Regions::kemendagri();
        regions
            .find(Key::district(province, regency, district))
            .or_else(|| regions.find(Key::regency(province, regency)))
    }

    pub(crate) fn day(&self) -> u8 {
        self.pair(6)
    }

    pub(crate) fn month(&self) -> u8 {
        self.pair(8)
    }

    pub(crate) fn two_digit_year(&self) -> u8 {
        self.pair(10)
    }

    pub(crate) fn serial_is_zero(&self) -> bool {
        self.0[12..].iter().all(|&d| d == 0)
    }
}

/// The first four digits (the regency) and the last four (the serial), the rest starred:
/// enough to tell numbers apart in a log, not enough to use one.
pub(crate) fn mask(digits: &str) -> String {
    let head = digits.get(..4).unwrap_or_default();
    let tail = digits.get(digits.len().saturating_sub(4)..).unwrap_or_default();
    format!("{head}********{tail}")
}

/// Reads a NIK or KK number from a serde string. A number in place of the string is refused
/// without echoing it, since the message may end up in a log.
pub(crate) fn deserialize_text<'de, D: Deserializer<'de>>(
    deserializer: D,
    what: &'static str,
) -> Result<String, D::Error> {
    let visitor = TextVisitor { what };
    // Asked for a string, serde_json reports a number itself, value included. Asked for
    // anything, it hands the number to the visitor, which refuses it quietly. Binary formats
    // cannot be asked for anything; they are not human-readable and get the plain request.
    if deserializer.is_human_readable() {
        deserializer.deserialize_any(visitor)
    } else {
        deserializer.deserialize_str(visitor)
    }
}

struct TextVisitor {
    what: &'static str,
}

impl TextVisitor {
    fn not_a_string<E: de::Error>(&self) -> E {
        E::custom(format_args!("{} must be a string of 16 digits", self.what))
    }
}

impl de::Visitor<'_> for TextVisitor {
    type Value = String;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} as a string of 16 digits", self.what)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
        Ok(v.to_owned())
    }

    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<String, E> {
        std::str::from_utf8(v)
            .map(str::to_owned)
            .map_err(|_| self.not_a_string())
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<String, E> {
        Err(self.not_a_string())
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<String, E> {
        Err(self.not_a_string())
    }

    fn visit_u128<E: de::Error>(self, _: u128) -> Result<String, E> {
        Err(self.not_a_string())
    }

    fn visit_i128<E: de::Error>(self, _: i128) -> Result<String, E> {
        Err(self.not_a_string())
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<String, E> {
        Err(self.not_a_string())
    }
}
