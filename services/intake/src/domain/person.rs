//! A person as intake knows them: a stable id, who they said they were when registered, and,
//! once an adjudicator found two records to be one person, which record they were merged
//! into. Also the back office's inputs about people, validated at the boundary.

use chrono::NaiveDate;
use slrt_identity::{KkNumber, Nik, RegionCode, RegionLevel, Sex};
use uuid::Uuid;

use super::case::Applicant;

/// Why an input is refused; `field` is its JSON name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct InputError {
    pub field: String,
    pub message: String,
}

pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> InputError {
    InputError {
        field: field.into(),
        message: message.into(),
    }
}

/// Free text a person must give (an actor, a reason): trimmed, not empty, at most `max`
/// characters.
pub fn required_text(field: &str, text: &str, max: usize) -> Result<String, InputError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(invalid(field, format!("{field} is required")));
    }
    if text.chars().count() > max {
        return Err(invalid(field, format!("{field} is longer than {max} characters")));
    }
    Ok(text.to_string())
}

/// A UUID given as text.
pub fn parse_id(field: &str, text: &str) -> Result<Uuid, InputError> {
    Uuid::parse_str(text.trim()).map_err(|_| invalid(field, format!("{field} must be a UUID")))
}

/// Who a person says they are, as the desk types it for a pre-screen.
#[derive(Debug, Clone, Default)]
pub struct PersonInput {
    pub nik: String,
    pub full_name: String,
    pub birth_date: String,
    pub sex: String,
    pub region_code: String,
    pub kk_number: String,
}

const MAX_NAME_CHARS: usize = 120;

impl PersonInput {
    /// Validates as the case registration does, naming fields without the `applicant.`
    /// prefix. A NIK that disagrees with the declared birth date or sex is accepted (the
    /// NIK is never reissued to fix it), as at registration.
    pub fn parse(&self, today: NaiveDate) -> Result<Applicant, InputError> {
        let nik = Nik::parse_at(&self.nik, today).map_err(|error| invalid("nik", error.to_string()))?;
        let full_name = self.full_name.split_whitespace().collect::<Vec<_>>().join(" ");
        if full_name.is_empty() {
            return Err(invalid("full_name", "full name is required"));
        }
        if full_name.chars().count() > MAX_NAME_CHARS {
            return Err(invalid(
                "full_name",
                format!("full name is longer than {MAX_NAME_CHARS} characters"),
            ));
        }
        let birth_date = NaiveDate::parse_from_str(self.birth_date.trim(), "%Y-%m-%d")
            .map_err(|_| invalid("birth_date", "birth date must be a real date written YYYY-MM-DD"))?;
        if birth_date > today {
            return Err(invalid("birth_date", "birth date is in the future"));
        }
        let sex = Sex::parse(&self.sex).map_err(|_| invalid("sex", "sex must be M or F (L or P)"))?;
        let region = RegionCode::parse(&self.region_code).map_err(|error| invalid("region_code", error.to_string()))?;
        if region.level() != RegionLevel::Village {
            return Err(invalid(
                "region_code",
                "an address needs a village (desa/kelurahan) code such as 33.75.01.1002",
            ));
        }
        let kk = KkNumber::parse_at(&self.kk_number, today).map_err(|error| invalid("kk_number", error.to_string()))?;
        Ok(Applicant {
            nik,
            full_name,
            birth_date,
            sex,
            region,
            kk,
        })
    }
}

/// A person record's state for decisions: whether it was merged away.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Person {
    pub merged_into: Option<Uuid>,
}

/// What an adjudicator decided about a suspected pair. Who decided is the caller the
/// token names, never part of the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Adjudication {
    /// Two people: the pair is never suggested again.
    Distinct { reason: String },
    /// One person: `survivor` stays, the other record answers under it (once a checker
    /// confirms the merge; see `domain::duplicate`).
    SamePerson { survivor: Uuid, reason: String },
}

impl Adjudication {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Distinct { .. } => "distinct",
            Self::SamePerson { .. } => "same_person",
        }
    }

    pub fn reason(&self) -> &str {
        match self {
            Self::Distinct { reason } | Self::SamePerson { reason, .. } => reason,
        }
    }

    /// Validates a decision as typed: `decision` and `reason` always, the survivor for
    /// `same_person` (and only then).
    pub fn parse(decision: &str, survivor: Option<&str>, reason: &str) -> Result<Self, InputError> {
        let survivor = survivor.map(str::trim).filter(|text| !text.is_empty());
        let kind = decision.trim();
        if kind.is_empty() {
            return Err(invalid("decision", "decision is required: distinct or same_person"));
        }
        if kind != "distinct" && kind != "same_person" {
            return Err(invalid(
                "decision",
                format!("\"{kind}\" is not a decision (one of: distinct, same_person)"),
            ));
        }
        let survivor = match (kind, survivor) {
            ("same_person", None) => {
                return Err(invalid(
                    "survivor_person_id",
                    "survivor_person_id is required for same_person: the record that stays",
                ));
            }
            ("same_person", Some(text)) => Some(parse_id("survivor_person_id", text)?),
            (_, Some(_)) => {
                return Err(invalid(
                    "survivor_person_id",
                    "survivor_person_id is only for same_person; two distinct people both stay",
                ));
            }
            (_, None) => None,
        };
        let reason = required_text("reason", reason, MAX_REASON_CHARS)?;
        Ok(match survivor {
            Some(survivor) => Self::SamePerson { survivor, reason },
            None => Self::Distinct { reason },
        })
    }
}

/// The longest reason an adjudicator or the back office may give.
pub const MAX_REASON_CHARS: usize = 1000;

impl Person {
    /// This record is merged into `survivor`. A record is merged once, and never into itself.
    pub fn merge_into(&self, me: Uuid, survivor: Uuid) -> Result<(), InputError> {
        if me == survivor {
            return Err(invalid("survivor_person_id", "a record cannot be merged into itself"));
        }
        if let Some(already) = self.merged_into {
            return Err(invalid(
                "survivor_person_id",
                format!("person {me} was already merged into {already}"),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field_of(result: Result<Adjudication, InputError>) -> String {
        result
            .map(|_| "accepted".to_string())
            .unwrap_or_else(|error| error.field)
    }

    #[test]
    fn every_part_of_a_decision_is_named_when_missing_or_wrong() {
        let id = "0193a1b2-0000-7000-8000-000000000001";
        assert_eq!(field_of(Adjudication::parse("", None, "r")), "decision");
        assert_eq!(field_of(Adjudication::parse("maybe", None, "r")), "decision");
        assert_eq!(
            field_of(Adjudication::parse("same_person", None, "r")),
            "survivor_person_id"
        );
        assert_eq!(
            field_of(Adjudication::parse("same_person", Some("x"), "r")),
            "survivor_person_id"
        );
        assert_eq!(
            field_of(Adjudication::parse("distinct", Some(id), "r")),
            "survivor_person_id"
        );
        assert_eq!(field_of(Adjudication::parse("distinct", None, " ")), "reason");
        assert_eq!(
            field_of(Adjudication::parse("distinct", None, &"x".repeat(MAX_REASON_CHARS + 1))),
            "reason"
        );
        assert_eq!(field_of(Adjudication::parse("same_person", Some(id), "r")), "accepted");
    }

    #[test]
    fn a_record_is_merged_once_and_never_into_itself() {
        let (me, other) = (Uuid::from_u128(1), Uuid::from_u128(2));
        assert!(Person::default().merge_into(me, other).is_ok());
        assert!(Person::default().merge_into(me, me).is_err());
        assert!(
            Person {
                merged_into: Some(other)
            }
            .merge_into(me, Uuid::from_u128(3))
            .is_err()
        );
    }
}
