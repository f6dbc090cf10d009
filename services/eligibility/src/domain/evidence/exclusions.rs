//! `data/exclusions.toml`: which programmes a car or a salary stops, and how long an officer
//! has to verify the evidence. Checked against the catalogue in force when read.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;
use toml::Spanned;

use super::EvidenceKind;
use crate::domain::catalogue::{Catalogue, ProgrammeCode};

/// The exclusion rules in force.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExclusionRules {
    vehicle: BTreeSet<ProgrammeCode>,
    payroll: BTreeSet<ProgrammeCode>,
    verification_days: u32,
}

impl Default for ExclusionRules {
    /// Nothing excluded, 14 days to verify: what applies until a file is loaded.
    fn default() -> Self {
        Self {
            vehicle: BTreeSet::new(),
            payroll: BTreeSet::new(),
            verification_days: 14,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExclusionRulesError {
    #[error("{}the exclusions file is not valid TOML: {message}", line_prefix(*.line))]
    Syntax { line: Option<usize>, message: String },
    #[error("{}field `{field}`: {problem}", line_prefix(*.line))]
    Field {
        line: Option<usize>,
        field: String,
        problem: String,
    },
}

fn line_prefix(line: Option<usize>) -> String {
    line.map(|l| format!("line {l}: ")).unwrap_or_default()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRules {
    verification_days: Option<Spanned<i64>>,
    #[serde(default)]
    excludes: BTreeMap<String, Spanned<Vec<Spanned<String>>>>,
}

impl ExclusionRules {
    /// Parses the file and checks every programme code against the loaded catalogue
    /// versions: a code any version lists is accepted, so that the file can name a
    /// programme a later version introduces (it stops nothing while that version is not in
    /// force).
    pub fn parse(text: &str, catalogues: &[Catalogue]) -> Result<Self, ExclusionRulesError> {
        let line_at = |offset: usize| {
            // A span starting at a line's first character counts that line.
            let before = &text[..offset.min(text.len())];
            Some(before.matches('\n').count() + 1)
        };
        let raw: RawRules = toml::from_str(text).map_err(|error| ExclusionRulesError::Syntax {
            line: error.span().and_then(|span| line_at(span.start)),
            message: error.message().to_owned(),
        })?;
        let verification_days = match raw.verification_days {
            None => 14,
            Some(days) => {
                let value = *days.get_ref();
                u32::try_from(value)
                    .ok()
                    .filter(|days| (1..=365).contains(days))
                    .ok_or_else(|| ExclusionRulesError::Field {
                        line: line_at(days.span().start),
                        field: "verification_days".into(),
                        problem: format!("must be 1 to 365 days, found {value}"),
                    })?
            }
        };
        let mut rules = Self {
            verification_days,
            ..Self::default()
        };
        for (kind, codes) in raw.excludes {
            let field = format!("excludes.{kind}");
            let target = match EvidenceKind::parse(&kind) {
                Some(EvidenceKind::Vehicle) => &mut rules.vehicle,
                Some(EvidenceKind::Payroll) => &mut rules.payroll,
                _ => {
                    return Err(ExclusionRulesError::Field {
                        line: line_at(codes.span().start),
                        field,
                        problem: "only vehicle and payroll evidence are listed here (desil uses the catalogue's \
                                  max_desil; deaths have their own rules)"
                            .into(),
                    });
                }
            };
            for code in codes.into_inner() {
                let line = line_at(code.span().start);
                let programme = ProgrammeCode::parse(code.get_ref()).map_err(|error| ExclusionRulesError::Field {
                    line,
                    field: field.clone(),
                    problem: error.to_string(),
                })?;
                if !catalogues
                    .iter()
                    .any(|catalogue| catalogue.programme(&programme).is_some())
                {
                    let versions: Vec<&str> = catalogues.iter().map(|catalogue| catalogue.version()).collect();
                    let noun = if versions.len() == 1 {
                        "catalogue"
                    } else {
                        "any of catalogues"
                    };
                    return Err(ExclusionRulesError::Field {
                        line,
                        field: field.clone(),
                        problem: format!("{programme} is not a programme in {noun} {}", versions.join(", ")),
                    });
                }
                target.insert(programme);
            }
        }
        Ok(rules)
    }

    /// The programmes evidence of this kind stops (empty for kinds not listed).
    pub fn excluded_by(&self, kind: EvidenceKind) -> &BTreeSet<ProgrammeCode> {
        match kind {
            EvidenceKind::Vehicle => &self.vehicle,
            EvidenceKind::Payroll => &self.payroll,
            _ => &NOTHING,
        }
    }

    /// Calendar days from opening a verification task to its due date.
    pub fn verification_days(&self) -> u32 {
        self.verification_days
    }
}

// Kinds other than vehicle and payroll exclude nothing by list.
static NOTHING: BTreeSet<ProgrammeCode> = BTreeSet::new();
