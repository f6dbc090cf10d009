//! Evidence about people and households from the data feeds (death notices, the vehicle
//! registry, payroll, DTSEN desil updates), and the pure rules of what each item does to the
//! ledger: which enrolments it holds, who becomes head of a household whose head died, and
//! which programmes exclusion evidence stops.
//!
//! The app layer reads the registry and the ledger, asks these rules, and records what they
//! say; nothing here touches a database.

mod exclusions;
#[cfg(test)]
mod tests;

use std::collections::BTreeSet;

use chrono::NaiveDate;
use serde_json::json;
use slrt_identity::Nik;
use uuid::Uuid;

use super::catalogue::{Catalogue, ProgrammeCode};
use super::ledger::Beneficiary;
use super::registry::{Desil, HouseholdId, PersonId, Relationship};

pub use exclusions::{ExclusionRules, ExclusionRulesError};

/// A closed set of codes, as the feeds write them.
macro_rules! feed_codes {
    ($(#[$meta:meta])* $name:ident { $($variant:ident = $code:literal,)+ }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $($variant,)+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];

            pub fn parse(code: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|value| value.as_str() == code)
            }

            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $code,)+
                }
            }

            pub fn choices() -> String {
                Self::ALL.iter().map(|value| value.as_str()).collect::<Vec<_>>().join(", ")
            }
        }
    };
}

feed_codes! {
    /// What an item of evidence says.
    EvidenceKind {
        DeathProvisional = "death_provisional",
        DeathCertificate = "death_certificate",
        DeathRetraction = "death_retraction",
        Vehicle = "vehicle",
        Payroll = "payroll",
        DesilUpdate = "desil_update",
    }
}

feed_codes! {
    /// Whose payroll a salary comes from.
    EmployerCategory {
        CivilServant = "civil_servant",
        Military = "military",
        Police = "police",
        StateEnterprise = "state_enterprise",
    }
}

feed_codes! {
    /// Why a verification task was opened.
    Ground {
        Vehicle = "vehicle",
        Payroll = "payroll",
        Desil = "desil",
        InclusionComplaint = "inclusion_complaint",
    }
}

/// A field of a feed item that is wrong, and why, in words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct FieldError {
    pub field: &'static str,
    pub reason: String,
}

impl FieldError {
    pub fn new(field: &'static str, reason: impl Into<String>) -> Self {
        Self {
            field,
            reason: reason.into(),
        }
    }
}

/// An item as a feed sends it (gRPC message or CSV line), not yet checked. Empty strings
/// and a zero desil mean "not given".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RawEvidence {
    pub kind: String,
    pub nik: String,
    pub source: String,
    pub reference: String,
    pub observed_on: String,
    pub retracts: String,
    pub employer_category: String,
    pub plate: String,
    pub desil: String,
}

/// What only some kinds carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Detail {
    None,
    /// The provisional report withdrawn: its evidence id, or its reference under the same
    /// source.
    Retracts(RetractionTarget),
    Vehicle {
        plate: String,
    },
    Payroll {
        employer: EmployerCategory,
    },
    Desil(Desil),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RetractionTarget {
    EvidenceId(Uuid),
    Reference(String),
}

/// A checked item of evidence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvidenceItem {
    pub kind: EvidenceKind,
    pub nik: Nik,
    pub source: String,
    pub reference: String,
    pub observed_on: NaiveDate,
    pub detail: Detail,
}

impl EvidenceItem {
    /// Checks every field, the first thing wrong refusing the item. `today` bounds the date:
    /// a feed cannot know a fact from the future.
    pub fn parse(raw: &RawEvidence, today: NaiveDate) -> Result<Self, FieldError> {
        let kind_text = raw.kind.trim();
        if kind_text.is_empty() {
            return Err(FieldError::new(
                "kind",
                format!("the kind of evidence is required: one of {}", EvidenceKind::choices()),
            ));
        }
        let kind = EvidenceKind::parse(kind_text).ok_or_else(|| {
            FieldError::new(
                "kind",
                format!("{kind_text:?} is not one of {}", EvidenceKind::choices()),
            )
        })?;
        let nik_text = raw.nik.trim();
        if nik_text.is_empty() {
            return Err(FieldError::new("nik", "the NIK of the person is required"));
        }
        // The identity error never repeats the number.
        let nik = Nik::parse(nik_text).map_err(|error| FieldError::new("nik", error.to_string()))?;
        let source = feed_text("source", &raw.source)?;
        let reference = feed_text("reference", &raw.reference)?;
        let observed_text = raw.observed_on.trim();
        if observed_text.is_empty() {
            return Err(FieldError::new(
                "observed_on",
                "the date the fact holds from is required (YYYY-MM-DD)",
            ));
        }
        let observed_on = NaiveDate::parse_from_str(observed_text, "%Y-%m-%d")
            .map_err(|_| FieldError::new("observed_on", format!("{observed_text:?} is not a date (YYYY-MM-DD)")))?;
        if observed_on > today {
            return Err(FieldError::new(
                "observed_on",
                format!("{observed_on} is after today ({today})"),
            ));
        }

        let only_for = |field: &'static str, value: &str, wanted: EvidenceKind| {
            if !value.trim().is_empty() && kind != wanted {
                Err(FieldError::new(
                    field,
                    format!("only {} evidence carries {field}", wanted.as_str()),
                ))
            } else {
                Ok(())
            }
        };
        only_for("retracts", &raw.retracts, EvidenceKind::DeathRetraction)?;
        only_for("employer_category", &raw.employer_category, EvidenceKind::Payroll)?;
        only_for("plate", &raw.plate, EvidenceKind::Vehicle)?;
        only_for("desil", &raw.desil, EvidenceKind::DesilUpdate)?;

        let detail = match kind {
            EvidenceKind::DeathProvisional | EvidenceKind::DeathCertificate => Detail::None,
            EvidenceKind::DeathRetraction => {
                let target = raw.retracts.trim();
                if target.is_empty() {
                    return Err(FieldError::new(
                        "retracts",
                        "a retraction names the provisional report it withdraws (its evidence id or reference)",
                    ));
                }
                Detail::Retracts(match Uuid::parse_str(target) {
                    Ok(id) => RetractionTarget::EvidenceId(id),
                    Err(_) => RetractionTarget::Reference(feed_text("retracts", target)?),
                })
            }
            EvidenceKind::Vehicle => Detail::Vehicle {
                plate: feed_text("plate", &raw.plate)?,
            },
            EvidenceKind::Payroll => {
                let text = raw.employer_category.trim();
                if text.is_empty() {
                    return Err(FieldError::new(
                        "employer_category",
                        format!(
                            "payroll evidence names the employer: one of {}",
                            EmployerCategory::choices()
                        ),
                    ));
                }
                Detail::Payroll {
                    employer: EmployerCategory::parse(text).ok_or_else(|| {
                        FieldError::new(
                            "employer_category",
                            format!("{text:?} is not one of {}", EmployerCategory::choices()),
                        )
                    })?,
                }
            }
            EvidenceKind::DesilUpdate => {
                let text = raw.desil.trim();
                let value: i64 = text.parse().map_err(|_| {
                    FieldError::new(
                        "desil",
                        format!("the new desil is a number from 1 to 10, found {text:?}"),
                    )
                })?;
                Detail::Desil(
                    Desil::new(value)
                        .map_err(|_| FieldError::new("desil", format!("desil is 1 to 10, found {value}")))?,
                )
            }
        };
        Ok(Self {
            kind,
            nik,
            source,
            reference,
            observed_on,
            detail,
        })
    }

    /// The item field by field, as stored to tell a re-submission from a conflicting one.
    pub fn content(&self) -> serde_json::Value {
        let mut content = json!({
            "kind": self.kind.as_str(),
            "nik": self.nik.as_str(),
            "observed_on": self.observed_on.to_string(),
        });
        let extra = match &self.detail {
            Detail::None => None,
            Detail::Retracts(RetractionTarget::EvidenceId(id)) => Some(("retracts", id.to_string())),
            Detail::Retracts(RetractionTarget::Reference(reference)) => Some(("retracts", reference.clone())),
            Detail::Vehicle { plate } => Some(("plate", plate.clone())),
            Detail::Payroll { employer } => Some(("employer_category", employer.as_str().to_owned())),
            Detail::Desil(desil) => Some(("desil", desil.to_string())),
        };
        if let (Some((field, value)), Some(object)) = (extra, content.as_object_mut()) {
            object.insert(field.to_owned(), serde_json::Value::String(value));
        }
        content
    }

    /// The first field in which this item differs from `stored` (an earlier item under the
    /// same source and reference), or `None` when it is the same item.
    pub fn differs_from(&self, stored: &serde_json::Value) -> Option<&'static str> {
        let mine = self.content();
        [
            "kind",
            "nik",
            "observed_on",
            "retracts",
            "plate",
            "employer_category",
            "desil",
        ]
        .into_iter()
        .find(|field| mine.get(field) != stored.get(field))
    }
}

/// Source, reference and the like: 1 to 100 characters without control characters.
fn feed_text(field: &'static str, text: &str) -> Result<String, FieldError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(FieldError::new(field, format!("{field} is required")));
    }
    if text.chars().count() > 100 {
        return Err(FieldError::new(field, "at most 100 characters"));
    }
    if text.chars().any(char::is_control) {
        return Err(FieldError::new(field, "control characters are not allowed"));
    }
    Ok(text.to_owned())
}

/// A member of a household as the registry records them, for choosing a new head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub person_id: PersonId,
    pub full_name: String,
    pub relationship: Relationship,
    pub birth_date: NaiveDate,
    pub deceased: bool,
}

/// Age from which a member counts as an adult (the age of the KTP, Indonesia's identity card).
pub const ADULT_AGE: u32 = 17;

/// Who heads the household after `former_head` died on `on`: a living spouse first (the
/// eldest, should the registry list two), then the eldest living adult member, then the
/// eldest living member. Ties in age go to the lower person id, so the choice does not depend
/// on the order rows are read in. `None` when no member is left alive.
pub fn next_head<'a>(members: &'a [Member], former_head: &PersonId, on: NaiveDate) -> Option<&'a Member> {
    let living: Vec<&Member> = members
        .iter()
        .filter(|m| !m.deceased && &m.person_id != former_head)
        .collect();
    let eldest = |candidates: Vec<&'a Member>| {
        candidates.into_iter().min_by(|a, b| {
            a.birth_date
                .cmp(&b.birth_date)
                .then_with(|| a.person_id.cmp(&b.person_id))
        })
    };
    let spouses: Vec<&Member> = living
        .iter()
        .copied()
        .filter(|m| m.relationship == Relationship::Spouse)
        .collect();
    if let Some(spouse) = eldest(spouses) {
        return Some(spouse);
    }
    let adults: Vec<&Member> = living
        .iter()
        .copied()
        .filter(|m| on.years_since(m.birth_date).is_some_and(|age| age >= ADULT_AGE))
        .collect();
    eldest(adults).or_else(|| eldest(living))
}

/// A current (active or held) enrolment, as the rules see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CurrentEnrolment {
    pub enrolment_id: Uuid,
    pub programme: ProgrammeCode,
    pub beneficiary: Beneficiary,
}

/// The enrolments a provisional death report holds: the person's own, and, when the person
/// heads the household (and so is the payee of its programmes), the household's.
pub fn death_holds<'a>(
    enrolments: &'a [CurrentEnrolment],
    person: &PersonId,
    household: &HouseholdId,
    is_head: bool,
) -> Vec<&'a CurrentEnrolment> {
    enrolments
        .iter()
        .filter(|e| match &e.beneficiary {
            Beneficiary::Person(id) => id == person,
            Beneficiary::Household(id) => is_head && id == household,
        })
        .collect()
}

/// The programmes a piece of exclusion evidence stops: the configured list for a vehicle or
/// a salary, and for a new desil every programme whose cut-off it exceeds. Death evidence
/// stops nothing here (its rules are the death rules).
pub fn excluded_programmes(
    kind: EvidenceKind,
    detail: &Detail,
    rules: &ExclusionRules,
    catalogue: &Catalogue,
) -> BTreeSet<ProgrammeCode> {
    match (kind, detail) {
        (EvidenceKind::Vehicle, _) | (EvidenceKind::Payroll, _) => rules.excluded_by(kind).clone(),
        (EvidenceKind::DesilUpdate, Detail::Desil(desil)) => catalogue
            .programmes()
            .iter()
            .filter(|p| p.max_desil().is_some_and(|max| desil.get() > max.get()))
            .map(|p| p.code().clone())
            .collect(),
        _ => BTreeSet::new(),
    }
}

/// The enrolments exclusion evidence holds: of `enrolments` (the household's and its
/// members'), those in an excluded programme.
pub fn exclusion_holds<'a>(
    enrolments: &'a [CurrentEnrolment],
    excluded: &BTreeSet<ProgrammeCode>,
) -> Vec<&'a CurrentEnrolment> {
    enrolments.iter().filter(|e| excluded.contains(&e.programme)).collect()
}

/// The ground of the verification task exclusion evidence opens.
pub fn ground_of(kind: EvidenceKind) -> Option<Ground> {
    match kind {
        EvidenceKind::Vehicle => Some(Ground::Vehicle),
        EvidenceKind::Payroll => Some(Ground::Payroll),
        EvidenceKind::DesilUpdate => Some(Ground::Desil),
        EvidenceKind::DeathProvisional | EvidenceKind::DeathCertificate | EvidenceKind::DeathRetraction => None,
    }
}
