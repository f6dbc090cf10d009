//! The code that names a regional agency (OPD).

use std::fmt;
use std::str::FromStr;

/// Code of a regional agency (OPD) as the routing table and OPD systems spell it, e.g.
/// `DINSOS`. Compared exactly: it decides which agency may see a referral, so `dinsos` is
/// refused rather than quietly treated as `DINSOS`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OpdCode(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("\"{0}\" is not an OPD code: use 1 to 32 upper-case letters, digits, '-' or '_', e.g. DINSOS")]
pub struct InvalidOpdCode(pub String);

impl OpdCode {
    const MAX_LEN: usize = 32;

    pub fn parse(code: &str) -> Result<Self, InvalidOpdCode> {
        let well_formed = !code.is_empty()
            && code.len() <= Self::MAX_LEN
            && code
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
        if well_formed {
            Ok(Self(code.to_owned()))
        } else {
            Err(InvalidOpdCode(code.to_owned()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for OpdCode {
    type Err = InvalidOpdCode;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl fmt::Display for OpdCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agency_codes_from_the_routing_table_parse() {
        for code in ["DINSOS", "DINKES", "DISDUKCAPIL", "PEMDES", "BAZNAS", "LKS_01", "X-1"] {
            assert_eq!(OpdCode::parse(code).map(|c| c.to_string()), Ok(code.to_owned()));
        }
    }

    #[test]
    fn lower_case_empty_or_spaced_codes_are_refused() {
        for code in ["", "dinsos", "DIN SOS", " DINSOS", "DINSOS:1", &"A".repeat(33)] {
            assert_eq!(OpdCode::parse(code), Err(InvalidOpdCode(code.to_owned())));
        }
    }
}
