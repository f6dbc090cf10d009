//! The deterministic payment key: `<programme>:<period>:<beneficiary>:<component>`.
//!
//! At most one payment per programme, period, beneficiary and component, ever: the key is
//! that sentence made into a string, and a unique constraint on it makes a second payment
//! impossible. A key is also how an unknown (timed-out) payment is reconciled with the bank,
//! so the same facts must always give the same key and different facts different keys.

use std::fmt;
use std::str::FromStr;

use super::period::{Period, PeriodError};

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PaymentKey {
    programme: String,
    period: Period,
    beneficiary_id: String,
    component: String,
}

/// A part of a payment key, for errors that say which one is wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyPart {
    Programme,
    Period,
    Beneficiary,
    Component,
}

impl KeyPart {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Programme => "programme",
            Self::Period => "period",
            Self::Beneficiary => "beneficiary",
            Self::Component => "component",
        }
    }
}

impl fmt::Display for KeyPart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PaymentKeyError {
    #[error("payment key {part} must not be empty")]
    Empty { part: KeyPart },
    /// ':' separates the parts; inside one it would let two different payments share a key.
    #[error("payment key {part} must not contain ':' (got \"{value}\")")]
    Colon { part: KeyPart, value: String },
    /// Invisible differences ("PKH" and "PKH ") would make two keys for one payment.
    #[error("payment key {part} must not contain spaces or control characters (got {value:?})")]
    Whitespace { part: KeyPart, value: String },
    /// Case differences ("pkh" and "PKH") would make two keys for one payment.
    #[error(
        "payment key programme \"{0}\" is not a programme code: use upper-case letters, \
         digits and '-', e.g. PBI-JK"
    )]
    ProgrammeCode(String),
    #[error("payment key period: {0}")]
    Period(#[from] PeriodError),
    #[error("\"{0}\" is not a payment key: expected <programme>:<period>:<beneficiary>:<component>")]
    Malformed(String),
}

impl PaymentKeyError {
    /// The part at fault, when it is one part.
    pub fn part(&self) -> Option<KeyPart> {
        match self {
            Self::Empty { part } | Self::Colon { part, .. } | Self::Whitespace { part, .. } => Some(*part),
            Self::ProgrammeCode(_) => Some(KeyPart::Programme),
            Self::Period(_) => Some(KeyPart::Period),
            Self::Malformed(_) => None,
        }
    }
}

impl PaymentKey {
    pub fn new(
        programme: &str,
        period: Period,
        beneficiary_id: &str,
        component: &str,
    ) -> Result<Self, PaymentKeyError> {
        check_part(KeyPart::Programme, programme)?;
        if !is_programme_code(programme) {
            return Err(PaymentKeyError::ProgrammeCode(programme.to_owned()));
        }
        check_part(KeyPart::Beneficiary, beneficiary_id)?;
        check_part(KeyPart::Component, component)?;
        Ok(Self {
            programme: programme.to_owned(),
            period,
            beneficiary_id: beneficiary_id.to_owned(),
            component: component.to_owned(),
        })
    }

    /// Reads a key back, e.g. from a bank statement; the inverse of `Display`.
    pub fn parse(key: &str) -> Result<Self, PaymentKeyError> {
        let parts: Vec<&str> = key.split(':').collect();
        let [programme, period, beneficiary_id, component] = parts[..] else {
            return Err(PaymentKeyError::Malformed(key.to_owned()));
        };
        Self::new(programme, Period::parse(period)?, beneficiary_id, component)
    }

    pub fn programme(&self) -> &str {
        &self.programme
    }

    pub fn period(&self) -> Period {
        self.period
    }

    pub fn beneficiary_id(&self) -> &str {
        &self.beneficiary_id
    }

    pub fn component(&self) -> &str {
        &self.component
    }
}

/// Whether `text` is spelled as a programme code: upper-case letters, digits and '-', e.g.
/// `PBI-JK`. One spelling per programme, so that case differences cannot make two keys.
pub fn is_programme_code(text: &str) -> bool {
    !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-')
}

fn check_part(part: KeyPart, value: &str) -> Result<(), PaymentKeyError> {
    if value.is_empty() {
        Err(PaymentKeyError::Empty { part })
    } else if value.contains(':') {
        Err(PaymentKeyError::Colon {
            part,
            value: value.to_owned(),
        })
    } else if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        Err(PaymentKeyError::Whitespace {
            part,
            value: value.to_owned(),
        })
    } else {
        Ok(())
    }
}

impl FromStr for PaymentKey {
    type Err = PaymentKeyError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl fmt::Display for PaymentKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}:{}",
            self.programme, self.period, self.beneficiary_id, self.component
        )
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn q4_2026() -> Period {
        match Period::quarterly(2026, 4) {
            Ok(period) => period,
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn a_key_renders_programme_period_beneficiary_and_component_in_that_order() {
        let key = PaymentKey::new("PKH", q4_2026(), "hh-3375-0042", "child_0_6");
        assert_eq!(
            key.map(|k| k.to_string()),
            Ok("PKH:2026-Q4:hh-3375-0042:child_0_6".to_owned())
        );
        let once = PaymentKey::new("PENA", Period::ONCE, "hh-1", "base");
        assert_eq!(once.map(|k| k.to_string()), Ok("PENA:once:hh-1:base".to_owned()));
    }

    #[test]
    fn the_same_facts_always_give_the_same_key() {
        let a = PaymentKey::new("BLT-DD", q4_2026(), "hh-9", "base");
        let b = PaymentKey::new("BLT-DD", q4_2026(), "hh-9", "base");
        assert_eq!(a, b);
        assert!(a.is_ok());
    }

    #[test]
    fn an_empty_part_is_refused_naming_the_part() {
        let cases = [
            (PaymentKey::new("", q4_2026(), "hh-1", "base"), KeyPart::Programme),
            (PaymentKey::new("PKH", q4_2026(), "", "base"), KeyPart::Beneficiary),
            (PaymentKey::new("PKH", q4_2026(), "hh-1", ""), KeyPart::Component),
        ];
        for (result, part) in cases {
            assert_eq!(result, Err(PaymentKeyError::Empty { part }));
        }
    }

    #[test]
    fn a_colon_in_any_part_is_refused_because_it_would_make_keys_ambiguous() {
        // Without the rule these two would both render "PKH:2026-Q4:a:b:c".
        let first = PaymentKey::new("PKH", q4_2026(), "a:b", "c");
        let second = PaymentKey::new("PKH", q4_2026(), "a", "b:c");
        assert_eq!(
            first.map_err(|e| e.to_string()),
            Err("payment key beneficiary must not contain ':' (got \"a:b\")".to_owned())
        );
        assert_eq!(second.map_err(|e| e.part()), Err(Some(KeyPart::Component)));
        assert_eq!(
            PaymentKey::new("P:KH", q4_2026(), "a", "b").map_err(|e| e.part()),
            Err(Some(KeyPart::Programme))
        );
    }

    #[test]
    fn spaces_and_control_characters_are_refused_in_every_part() {
        for (programme, beneficiary, component, part) in [
            ("PKH ", "hh-1", "base", KeyPart::Programme),
            ("PKH", " hh-1", "base", KeyPart::Beneficiary),
            ("PKH", "hh 1", "base", KeyPart::Beneficiary),
            ("PKH", "hh-1", "base\n", KeyPart::Component),
            ("PKH", "hh-1", "ba\u{0}se", KeyPart::Component),
        ] {
            assert_eq!(
                PaymentKey::new(programme, q4_2026(), beneficiary, component).map_err(|e| e.part()),
                Err(Some(part)),
                "{programme:?} {beneficiary:?} {component:?}"
            );
        }
    }

    #[test]
    fn a_programme_code_in_lower_case_is_refused() {
        assert_eq!(
            PaymentKey::new("pkh", q4_2026(), "hh-1", "base"),
            Err(PaymentKeyError::ProgrammeCode("pkh".to_owned()))
        );
    }

    #[test]
    fn a_key_with_the_wrong_number_of_parts_or_a_bad_period_does_not_parse() {
        for text in ["PKH:2026-Q4:hh-1", "PKH:2026-Q4:hh-1:base:extra", "", "PKH"] {
            assert_eq!(
                PaymentKey::parse(text),
                Err(PaymentKeyError::Malformed(text.to_owned()))
            );
        }
        assert_eq!(
            PaymentKey::parse("PKH:2026-4:hh-1:base").map_err(|e| e.part()),
            Err(Some(KeyPart::Period))
        );
    }

    proptest! {
        #[test]
        fn every_valid_key_parses_back_to_itself(
            programme in "[A-Z][A-Z0-9-]{0,11}",
            year in 1..=9999i32,
            month in 1..=12u32,
            beneficiary in "[a-zA-Z0-9_.-]{1,24}",
            component in "[a-z0-9_]{1,16}",
        ) {
            let key = PaymentKey::new(&programme, Period::monthly(year, month)?, &beneficiary, &component)?;
            prop_assert_eq!(PaymentKey::parse(&key.to_string()), Ok(key));
        }
    }
}
