//! From TOML text to a [`Catalogue`] that can be trusted.
//!
//! Every field is read as optional and loosely typed, then checked here, so that whatever is
//! wrong is reported against the programme it belongs to rather than as a bare TOML type
//! error.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;

use chrono::NaiveDate;
use serde::Deserialize;
use toml::Spanned;

use super::{
    AgeRange, BeneficiaryKind, BenefitKind, Cadence, CashTerms, Catalogue, Component, Exclusion, HeaderLines, Limits,
    NeedCategory, Programme, ProgrammeBenefit, ProgrammeCode, ProgrammeCodeError,
};
use crate::domain::registry::Desil;

/// Why a catalogue file was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CatalogueError {
    #[error("{}the catalogue is not valid TOML: {message}", line_prefix(*.line))]
    Syntax { line: Option<usize>, message: String },
    #[error("{}catalogue field `{field}`: {problem}", line_prefix(*.line))]
    Catalogue {
        field: String,
        line: Option<usize>,
        problem: CatalogueProblem,
    },
    #[error("{}programme {programme}, field `{field}`: {problem}", line_prefix(*.line))]
    Programme {
        /// The programme's code, or its position in the file when it has none.
        programme: String,
        field: String,
        line: Option<usize>,
        problem: CatalogueProblem,
    },
}

fn line_prefix(line: Option<usize>) -> String {
    line.map(|l| format!("line {l}: ")).unwrap_or_default()
}

/// What is wrong with one field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CatalogueProblem {
    #[error("is required")]
    Missing,
    #[error("must not be empty")]
    Empty,
    #[error(transparent)]
    NotAProgrammeCode(#[from] ProgrammeCodeError),
    #[error("\"{0}\" is not an OPD code: use upper-case letters, digits, '-' or '_', e.g. DINSOS")]
    NotAnOpdCode(String),
    #[error("\"{value}\" is not one of {expected}")]
    NotOneOf { value: String, expected: &'static str },
    #[error("\"{0}\" is not a date in the form YYYY-MM-DD")]
    NotADate(String),
    #[error("{value} is outside the range {min} to {max}")]
    OutOfRange { value: i64, min: i64, max: i64 },
    #[error("the code is already used by the programme on line {first_line}")]
    DuplicateCode { first_line: usize },
    #[error("{0} is not a programme in this catalogue")]
    UnknownProgramme(String),
    #[error("a programme cannot exclude itself")]
    ExcludesItself,
    #[error("{0} is listed twice")]
    ListedTwice(String),
    #[error("a cash programme needs a [programme.cash] table with its cadence and amount")]
    MissingCashTerms,
    #[error("a cash programme needs an amount: `amount_per_period_idr`, or `components` with yearly amounts")]
    MissingAmount,
    #[error("give either `amount_per_period_idr` or `components`, not both")]
    TwoAmounts,
    #[error("only a cash programme is paid an amount; this one is {0}")]
    CashTermsOnNonCash(&'static str),
    #[error("Rp{0} is not a positive amount")]
    NotPositive(i64),
    #[error("Rp{yearly} a year does not divide into {stages} equal stages")]
    UnevenStages { yearly: i64, stages: u32 },
    #[error("a {cadence} programme pays {expected} stages a year, not {value}")]
    StagesDisagreeWithCadence {
        cadence: &'static str,
        expected: u32,
        value: i64,
    },
    #[error("a one-off payment has no yearly amount: give `amount_per_period_idr` instead")]
    YearlyAmountPaidOnce,
    #[error("\"{0}\" is not one of this programme's components")]
    UnknownComponent(String),
    #[error(
        "a {0} programme keeps an enrolment for a registry household or person, so it needs `requires_registry = true`"
    )]
    EnrolmentWithoutRegistry(&'static str),
    #[error("desil comes from the registry, so a programme with `max_desil` needs `requires_registry = true`")]
    DesilWithoutRegistry,
    #[error("`min_age` {min} is above `max_age` {max}")]
    AgesReversed { min: u32, max: u32 },
    #[error("a service keeps no enrolment, so it has no duration or review period")]
    LimitsOnService,
    #[error("a review every {review} months comes after the maximum duration of {max} months")]
    ReviewAfterEnd { review: u32, max: u32 },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCatalogue {
    version: Option<Spanned<String>>,
    effective_from: Option<Spanned<String>>,
    #[serde(default)]
    serves: BTreeMap<String, Spanned<Vec<Spanned<String>>>>,
    #[serde(default, rename = "programme")]
    programmes: Vec<Spanned<RawProgramme>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProgramme {
    code: Option<Spanned<String>>,
    name: Option<Spanned<String>>,
    opd: Option<Spanned<String>>,
    benefit: Option<Spanned<String>>,
    beneficiary: Option<Spanned<String>>,
    requires_registry: Option<Spanned<bool>>,
    max_desil: Option<Spanned<i64>>,
    min_age: Option<Spanned<i64>>,
    max_age: Option<Spanned<i64>>,
    #[serde(default)]
    excludes: Vec<Spanned<String>>,
    max_duration_months: Option<Spanned<i64>>,
    review_every_months: Option<Spanned<i64>>,
    one_recipient_per_kk: Option<Spanned<bool>>,
    cash: Option<Spanned<RawCash>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCash {
    cadence: Option<Spanned<String>>,
    amount_per_period_idr: Option<Spanned<i64>>,
    stages_per_year: Option<Spanned<i64>>,
    default_component: Option<Spanned<String>>,
    components: Option<Spanned<Vec<Spanned<RawComponent>>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawComponent {
    id: Option<Spanned<String>>,
    yearly_idr: Option<Spanned<i64>>,
    min_age: Option<Spanned<i64>>,
    max_age: Option<Spanned<i64>>,
}

/// Oldest age a catalogue may name; anything above is a typo.
const MAX_AGE: i64 = 130;
/// Longest duration or review period a catalogue may name, in months.
const MAX_MONTHS: i64 = 600;

pub(super) fn parse(text: &str) -> Result<Catalogue, CatalogueError> {
    let raw: RawCatalogue = toml::from_str(text).map_err(|err| CatalogueError::Syntax {
        line: err.span().map(|span| line_of(text, &span)),
        message: err.message().to_owned(),
    })?;
    let top = |field: &str, span: Option<Range<usize>>, problem| CatalogueError::Catalogue {
        field: field.to_owned(),
        line: span.map(|span| line_of(text, &span)),
        problem,
    };

    let version = raw
        .version
        .ok_or_else(|| top("version", None, CatalogueProblem::Missing))?;
    if version.get_ref().trim().is_empty() {
        return Err(top("version", Some(version.span()), CatalogueProblem::Empty));
    }
    let effective_from = raw
        .effective_from
        .ok_or_else(|| top("effective_from", None, CatalogueProblem::Missing))?;
    let effective_from_date = NaiveDate::parse_from_str(effective_from.get_ref(), "%Y-%m-%d").map_err(|_| {
        top(
            "effective_from",
            Some(effective_from.span()),
            CatalogueProblem::NotADate(effective_from.get_ref().clone()),
        )
    })?;
    if raw.programmes.is_empty() {
        return Err(top("programme", None, CatalogueProblem::Missing));
    }

    // Codes first: an exclusion may name a programme further down the file.
    let mut code_lines: BTreeMap<ProgrammeCode, usize> = BTreeMap::new();
    let mut codes = Vec::with_capacity(raw.programmes.len());
    for (position, programme) in raw.programmes.iter().enumerate() {
        let at = Site {
            text,
            programme: format!("number {} in the file", position + 1),
            table: programme.span(),
        };
        let code = at.required("code", &programme.get_ref().code)?;
        let parsed = ProgrammeCode::parse(code.get_ref()).map_err(|e| at.error("code", Some(code.span()), e.into()))?;
        let line = line_of(text, &code.span());
        if let Some(&first_line) = code_lines.get(&parsed) {
            let at = Site {
                programme: parsed.to_string(),
                ..at
            };
            return Err(at.error(
                "code",
                Some(code.span()),
                CatalogueProblem::DuplicateCode { first_line },
            ));
        }
        code_lines.insert(parsed.clone(), line);
        codes.push(parsed);
    }

    let mut programmes = Vec::with_capacity(codes.len());
    let mut exclusions: Vec<Exclusion> = Vec::new();
    for (code, programme) in codes.iter().zip(&raw.programmes) {
        let at = Site {
            text,
            programme: code.to_string(),
            table: programme.span(),
        };
        programmes.push(programme_from(&at, code.clone(), programme.get_ref())?);

        let mut listed = BTreeSet::new();
        for excluded in &programme.get_ref().excludes {
            let span = Some(excluded.span());
            let excluded =
                ProgrammeCode::parse(excluded.get_ref()).map_err(|e| at.error("excludes", span.clone(), e.into()))?;
            if !code_lines.contains_key(&excluded) {
                return Err(at.error(
                    "excludes",
                    span,
                    CatalogueProblem::UnknownProgramme(excluded.to_string()),
                ));
            }
            if &excluded == code {
                return Err(at.error("excludes", span, CatalogueProblem::ExcludesItself));
            }
            if !listed.insert(excluded.clone()) {
                return Err(at.error("excludes", span, CatalogueProblem::ListedTwice(excluded.to_string())));
            }
            // Saying it on both sides is harmless; keep the first as the rule's id.
            if !exclusions.iter().any(|e| e.involves(code, &excluded)) {
                exclusions.push(Exclusion {
                    declared_by: code.clone(),
                    excluded,
                });
            }
        }
    }

    let mut serves = BTreeMap::new();
    for (category, list) in &raw.serves {
        let field = format!("serves.{category}");
        let span = Some(list.span());
        let category = category.parse::<NeedCategory>().map_err(|_| {
            top(
                &field,
                span.clone(),
                CatalogueProblem::NotOneOf {
                    value: category.clone(),
                    expected: NEED_CATEGORIES,
                },
            )
        })?;
        let mut order: Vec<ProgrammeCode> = Vec::new();
        for code in list.get_ref() {
            let span = Some(code.span());
            let parsed = ProgrammeCode::parse(code.get_ref()).map_err(|e| top(&field, span.clone(), e.into()))?;
            if !code_lines.contains_key(&parsed) {
                return Err(top(
                    &field,
                    span,
                    CatalogueProblem::UnknownProgramme(parsed.to_string()),
                ));
            }
            if order.contains(&parsed) {
                return Err(top(&field, span, CatalogueProblem::ListedTwice(parsed.to_string())));
            }
            order.push(parsed);
        }
        serves.insert(category, order);
    }

    Ok(Catalogue {
        lines: HeaderLines {
            version: line_of(text, &version.span()),
            effective_from: line_of(text, &effective_from.span()),
        },
        version: version.into_inner(),
        effective_from: effective_from_date,
        programmes,
        serves,
        exclusions,
    })
}

const NEED_CATEGORIES: &str = "health_insurance, cash_assistance, food_assistance, school_aid, civil_documents, housing_repair, job_training, elderly_care";

fn programme_from(at: &Site<'_>, code: ProgrammeCode, raw: &RawProgramme) -> Result<Programme, CatalogueError> {
    let name = at.required("name", &raw.name)?;
    if name.get_ref().trim().is_empty() {
        return Err(at.error("name", Some(name.span()), CatalogueProblem::Empty));
    }
    let opd = at.required("opd", &raw.opd)?;
    if !is_opd_code(opd.get_ref()) {
        return Err(at.error(
            "opd",
            Some(opd.span()),
            CatalogueProblem::NotAnOpdCode(opd.get_ref().clone()),
        ));
    }
    let kind = at.one_of(
        "benefit",
        at.required("benefit", &raw.benefit)?,
        &[
            ("cash", BenefitKind::Cash),
            ("in_kind", BenefitKind::InKind),
            ("service", BenefitKind::Service),
        ],
        "cash, in_kind, service",
    )?;
    let beneficiary = at.one_of(
        "beneficiary",
        at.required("beneficiary", &raw.beneficiary)?,
        &[
            ("household", BeneficiaryKind::Household),
            ("person", BeneficiaryKind::Person),
        ],
        "household, person",
    )?;
    let requires_registry = at.required("requires_registry", &raw.requires_registry)?;
    let registry_span = Some(requires_registry.span());
    let requires_registry = *requires_registry.get_ref();

    let max_desil = match &raw.max_desil {
        None => None,
        Some(desil) => {
            let value = Desil::new(*desil.get_ref()).map_err(|_| {
                at.error(
                    "max_desil",
                    Some(desil.span()),
                    CatalogueProblem::OutOfRange {
                        value: *desil.get_ref(),
                        min: 1,
                        max: 10,
                    },
                )
            })?;
            if !requires_registry {
                return Err(at.error(
                    "requires_registry",
                    registry_span,
                    CatalogueProblem::DesilWithoutRegistry,
                ));
            }
            Some(value)
        }
    };
    if kind != BenefitKind::Service && !requires_registry {
        return Err(at.error(
            "requires_registry",
            registry_span,
            CatalogueProblem::EnrolmentWithoutRegistry(kind.as_str()),
        ));
    }
    let ages = at.age_range("", &raw.min_age, &raw.max_age)?;
    let limits = Limits {
        max_duration_months: at.months("max_duration_months", &raw.max_duration_months)?,
        review_every_months: at.months("review_every_months", &raw.review_every_months)?,
        one_recipient_per_kk: raw.one_recipient_per_kk.as_ref().is_some_and(|v| *v.get_ref()),
    };
    if kind == BenefitKind::Service
        && let Some((field, value)) = [
            ("max_duration_months", &raw.max_duration_months),
            ("review_every_months", &raw.review_every_months),
        ]
        .into_iter()
        .find_map(|(field, value)| value.as_ref().map(|v| (field, v)))
    {
        // A service keeps no enrolment, so there is nothing to review or to end.
        return Err(at.error(field, Some(value.span()), CatalogueProblem::LimitsOnService));
    }
    if let (Some(max), Some(review)) = (limits.max_duration_months, limits.review_every_months)
        && review > max
    {
        return Err(at.error(
            "review_every_months",
            raw.review_every_months.as_ref().map(Spanned::span),
            CatalogueProblem::ReviewAfterEnd { review, max },
        ));
    }

    let benefit = match (kind, &raw.cash) {
        (BenefitKind::Cash, None) => {
            return Err(at.error("cash", None, CatalogueProblem::MissingCashTerms));
        }
        (BenefitKind::Cash, Some(cash)) => ProgrammeBenefit::Cash(cash_terms(at, cash)?),
        (other, Some(cash)) => {
            return Err(at.error(
                "cash",
                Some(cash.span()),
                CatalogueProblem::CashTermsOnNonCash(other.as_str()),
            ));
        }
        (BenefitKind::InKind, None) => ProgrammeBenefit::InKind,
        (BenefitKind::Service, None) => ProgrammeBenefit::Service,
    };

    Ok(Programme {
        code,
        name: name.get_ref().trim().to_owned(),
        opd: opd.get_ref().clone(),
        benefit,
        beneficiary,
        requires_registry,
        max_desil,
        ages,
        limits,
    })
}

fn cash_terms(at: &Site<'_>, cash: &Spanned<RawCash>) -> Result<CashTerms, CatalogueError> {
    let table = Some(cash.span());
    let cash = cash.get_ref();
    let cadence = at.one_of(
        "cash.cadence",
        at.required_in("cash.cadence", &cash.cadence, table.clone())?,
        &[
            ("monthly", Cadence::Monthly),
            ("quarterly", Cadence::Quarterly),
            ("yearly", Cadence::Yearly),
            ("once", Cadence::Once),
        ],
        "monthly, quarterly, yearly, once",
    )?;

    match (&cash.amount_per_period_idr, &cash.components) {
        (None, None) => Err(at.error("cash.amount_per_period_idr", table, CatalogueProblem::MissingAmount)),
        (Some(_), Some(components)) => {
            Err(at.error("cash.components", Some(components.span()), CatalogueProblem::TwoAmounts))
        }
        (Some(amount), None) => {
            let amount_per_period_idr = at.positive("cash.amount_per_period_idr", amount)?;
            if let Some(stages) = &cash.stages_per_year {
                at.stages_agree(cadence, stages)?;
            }
            Ok(CashTerms {
                cadence,
                components: vec![Component {
                    id: "base".to_owned(),
                    amount_per_period_idr,
                    ages: None,
                }],
                default_component: 0,
            })
        }
        (None, Some(components)) => {
            if cadence == Cadence::Once {
                return Err(at.error(
                    "cash.components",
                    Some(components.span()),
                    CatalogueProblem::YearlyAmountPaidOnce,
                ));
            }
            let stages = at.required_in("cash.stages_per_year", &cash.stages_per_year, table.clone())?;
            let stages = at.stages_agree(cadence, stages)?;
            if components.get_ref().is_empty() {
                return Err(at.error("cash.components", Some(components.span()), CatalogueProblem::Empty));
            }
            let mut parsed: Vec<Component> = Vec::new();
            for (i, component) in components.get_ref().iter().enumerate() {
                let field = |name: &str| format!("cash.components[{i}].{name}");
                let span = Some(component.span());
                let component = component.get_ref();
                let id = at.required_in(&field("id"), &component.id, span.clone())?;
                if id.get_ref().trim().is_empty() {
                    return Err(at.error(&field("id"), Some(id.span()), CatalogueProblem::Empty));
                }
                if parsed.iter().any(|c| &c.id == id.get_ref()) {
                    return Err(at.error(
                        &field("id"),
                        Some(id.span()),
                        CatalogueProblem::ListedTwice(id.get_ref().clone()),
                    ));
                }
                let yearly = at.required_in(&field("yearly_idr"), &component.yearly_idr, span)?;
                let yearly_idr = at.positive(&field("yearly_idr"), yearly)?;
                // Money is never rounded quietly: a stage that is not a whole rupiah is a
                // mistake in the file, not something to round.
                if yearly_idr % i64::from(stages) != 0 {
                    return Err(at.error(
                        &field("yearly_idr"),
                        Some(yearly.span()),
                        CatalogueProblem::UnevenStages {
                            yearly: yearly_idr,
                            stages,
                        },
                    ));
                }
                parsed.push(Component {
                    id: id.get_ref().trim().to_owned(),
                    amount_per_period_idr: yearly_idr / i64::from(stages),
                    ages: at.age_range(
                        &format!("cash.components[{i}]."),
                        &component.min_age,
                        &component.max_age,
                    )?,
                });
            }
            let default = at.required_in("cash.default_component", &cash.default_component, table)?;
            let default_component = parsed.iter().position(|c| &c.id == default.get_ref()).ok_or_else(|| {
                at.error(
                    "cash.default_component",
                    Some(default.span()),
                    CatalogueProblem::UnknownComponent(default.get_ref().clone()),
                )
            })?;
            Ok(CashTerms {
                cadence,
                components: parsed,
                default_component,
            })
        }
    }
}

/// Where in the file a programme is, for its error messages.
struct Site<'a> {
    text: &'a str,
    programme: String,
    table: Range<usize>,
}

impl Site<'_> {
    fn error(&self, field: &str, span: Option<Range<usize>>, problem: CatalogueProblem) -> CatalogueError {
        let span = span.unwrap_or_else(|| self.table.clone());
        CatalogueError::Programme {
            programme: self.programme.clone(),
            field: field.to_owned(),
            line: Some(line_of(self.text, &span)),
            problem,
        }
    }

    fn required<'v, T>(&self, field: &str, value: &'v Option<Spanned<T>>) -> Result<&'v Spanned<T>, CatalogueError> {
        self.required_in(field, value, None)
    }

    /// A missing field is reported on the line of the table that should hold it.
    fn required_in<'v, T>(
        &self,
        field: &str,
        value: &'v Option<Spanned<T>>,
        table: Option<Range<usize>>,
    ) -> Result<&'v Spanned<T>, CatalogueError> {
        value
            .as_ref()
            .ok_or_else(|| self.error(field, table, CatalogueProblem::Missing))
    }

    fn one_of<T: Copy>(
        &self,
        field: &str,
        value: &Spanned<String>,
        choices: &[(&str, T)],
        expected: &'static str,
    ) -> Result<T, CatalogueError> {
        choices
            .iter()
            .find(|(name, _)| name == value.get_ref())
            .map(|(_, choice)| *choice)
            .ok_or_else(|| {
                self.error(
                    field,
                    Some(value.span()),
                    CatalogueProblem::NotOneOf {
                        value: value.get_ref().clone(),
                        expected,
                    },
                )
            })
    }

    fn positive(&self, field: &str, amount: &Spanned<i64>) -> Result<i64, CatalogueError> {
        let value = *amount.get_ref();
        if value > 0 {
            Ok(value)
        } else {
            Err(self.error(field, Some(amount.span()), CatalogueProblem::NotPositive(value)))
        }
    }

    fn stages_agree(&self, cadence: Cadence, stages: &Spanned<i64>) -> Result<u32, CatalogueError> {
        let value = *stages.get_ref();
        let expected = cadence.periods_per_year();
        match expected {
            Some(expected) if i64::from(expected) == value => Ok(expected),
            _ => Err(self.error(
                "cash.stages_per_year",
                Some(stages.span()),
                CatalogueProblem::StagesDisagreeWithCadence {
                    cadence: cadence.as_str(),
                    expected: expected.unwrap_or(1),
                    value,
                },
            )),
        }
    }

    /// A period in whole months, 1 to 600 (fifty years): anything else is a typo.
    fn months(&self, field: &str, value: &Option<Spanned<i64>>) -> Result<Option<u32>, CatalogueError> {
        let Some(value) = value else { return Ok(None) };
        u32::try_from(*value.get_ref())
            .ok()
            .filter(|months| (1..=MAX_MONTHS).contains(&i64::from(*months)))
            .map(Some)
            .ok_or_else(|| {
                self.error(
                    field,
                    Some(value.span()),
                    CatalogueProblem::OutOfRange {
                        value: *value.get_ref(),
                        min: 1,
                        max: MAX_MONTHS,
                    },
                )
            })
    }

    fn age_range(
        &self,
        prefix: &str,
        min: &Option<Spanned<i64>>,
        max: &Option<Spanned<i64>>,
    ) -> Result<Option<AgeRange>, CatalogueError> {
        let age = |name: &str, value: &Option<Spanned<i64>>| -> Result<Option<u32>, CatalogueError> {
            let Some(value) = value else { return Ok(None) };
            u32::try_from(*value.get_ref())
                .ok()
                .filter(|age| i64::from(*age) <= MAX_AGE)
                .map(Some)
                .ok_or_else(|| {
                    self.error(
                        &format!("{prefix}{name}"),
                        Some(value.span()),
                        CatalogueProblem::OutOfRange {
                            value: *value.get_ref(),
                            min: 0,
                            max: MAX_AGE,
                        },
                    )
                })
        };
        let range = AgeRange {
            min: age("min_age", min)?,
            max: age("max_age", max)?,
        };
        match range {
            AgeRange { min: None, max: None } => Ok(None),
            AgeRange {
                min: Some(lo),
                max: Some(hi),
            } if lo > hi => Err(self.error(
                &format!("{prefix}min_age"),
                min.as_ref().map(Spanned::span),
                CatalogueProblem::AgesReversed { min: lo, max: hi },
            )),
            range => Ok(Some(range)),
        }
    }
}

fn is_opd_code(code: &str) -> bool {
    !code.is_empty()
        && code.len() <= 32
        && code
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

fn line_of(text: &str, span: &Range<usize>) -> usize {
    let before = text.get(..span.start).unwrap_or(text);
    before.bytes().filter(|&b| b == b'\n').count() + 1
}
