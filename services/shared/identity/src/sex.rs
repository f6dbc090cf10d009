//! Sex as recorded on civil registration documents.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Sex as recorded on the KTP and KK. Serialized as `M` or `F`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Sex {
    /// Laki-laki.
    Male,
    /// Perempuan.
    Female,
}

/// The text is not one of the accepted letters.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("sex must be M or F (or L or P), found {found:?}")]
pub struct SexError {
    /// The text as given, trimmed.
    pub found: String,
}

impl SexError {
    /// A short, stable code for clients and logs.
    pub fn code(&self) -> &'static str {
        "sex.invalid"
    }
}

impl Sex {
    /// Parses `M`/`F`, or the Indonesian `L` (laki-laki) / `P` (perempuan), in either case.
    /// Surrounding whitespace is ignored.
    pub fn parse(s: &str) -> Result<Self, SexError> {
        match s.trim() {
            "M" | "m" | "L" | "l" => Ok(Self::Male),
            "F" | "f" | "P" | "p" => Ok(Self::Female),
            other => Err(SexError {
                found: other.to_owned(),
            }),
        }
    }

    /// `M` or `F`, as serialized.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Male => "M",
            Self::Female => "F",
        }
    }
}

impl fmt::Display for Sex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Sex {
    type Err = SexError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl Serialize for Sex {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Sex {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type TestResult = Result<(), Box<dyn std::error::Error>>;

    #[test]
    fn english_and_indonesian_letters_parse_in_either_case() -> TestResult {
        for text in ["M", "m", "L", "l", " L "] {
            assert_eq!(Sex::parse(text)?, Sex::Male, "{text:?}");
        }
        for text in ["F", "f", "P", "p"] {
            assert_eq!(Sex::parse(text)?, Sex::Female, "{text:?}");
        }
        Ok(())
    }

    #[test]
    fn other_text_is_rejected_with_what_was_found() {
        for text in ["", "X", "MF", "male", "Laki-laki"] {
            let error = Sex::parse(text).err();
            assert_eq!(error.as_ref().map(SexError::code), Some("sex.invalid"));
            assert!(error.is_some(), "{text:?}");
        }
        assert_eq!(
            Sex::parse("X").err().map(|e| e.to_string()),
            Some("sex must be M or F (or L or P), found \"X\"".to_owned())
        );
    }

    #[test]
    fn sex_serializes_as_m_or_f_and_deserializes_indonesian_letters_too() -> TestResult {
        assert_eq!(serde_json::to_string(&Sex::Male)?, "\"M\"");
        assert_eq!(serde_json::to_string(&Sex::Female)?, "\"F\"");
        assert_eq!(serde_json::from_str::<Sex>("\"P\"")?, Sex::Female);
        assert!(serde_json::from_str::<Sex>("\"X\"").is_err());
        Ok(())
    }
}
