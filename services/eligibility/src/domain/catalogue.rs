//! The programme catalogue: what each programme gives, to whom, which needs it meets, and
//! which programmes it may not be combined with.
//!
//! Policy is data (`data/catalogue/<version>.toml`), versioned and effective-dated
//! ([`Catalogues`]); every decision records the version it was taken under. [`Catalogue::parse`] refuses a file with anything wrong in it, naming the
//! programme, the field and, where the TOML says, the line.

mod parse;

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use chrono::NaiveDate;

use super::registry::Desil;

pub use parse::{CatalogueError, CatalogueProblem};
pub use versions::{CatalogueFile, Catalogues, CataloguesError};

mod versions;

/// A programme's code, e.g. `PKH`, `BLT-DD`: upper-case letters, digits and single hyphens.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ProgrammeCode(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("\"{0}\" is not a programme code: use upper-case letters, digits and single hyphens, e.g. BLT-DD")]
pub struct ProgrammeCodeError(pub String);

impl ProgrammeCode {
    pub fn parse(value: &str) -> Result<Self, ProgrammeCodeError> {
        let well_formed = value.len() <= 32
            && value
                .split('-')
                .all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()));
        if well_formed {
            Ok(Self(value.to_owned()))
        } else {
            Err(ProgrammeCodeError(value.to_owned()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for ProgrammeCode {
    type Err = ProgrammeCodeError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl fmt::Display for ProgrammeCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

pub use slrt_vocabulary::{NeedCategory, UnknownCategory as UnknownNeedCategory};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BenefitKind {
    /// Money, paid per period by disbursement.
    Cash,
    /// Goods or works (meals, house repair, an insurance premium paid on the person's behalf).
    InKind,
    /// Something an agency does for the person case by case (documents, training).
    Service,
}

impl BenefitKind {
    pub fn as_str(self) -> &'static str {
        match self {
            BenefitKind::Cash => "cash",
            BenefitKind::InKind => "in_kind",
            BenefitKind::Service => "service",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Cadence {
    Monthly,
    Quarterly,
    Yearly,
    /// A single payment, ever, per beneficiary.
    Once,
}

impl Cadence {
    pub fn as_str(self) -> &'static str {
        match self {
            Cadence::Monthly => "monthly",
            Cadence::Quarterly => "quarterly",
            Cadence::Yearly => "yearly",
            Cadence::Once => "once",
        }
    }

    /// Payment periods in a year; `None` for a one-off payment.
    pub fn periods_per_year(self) -> Option<u32> {
        match self {
            Cadence::Monthly => Some(12),
            Cadence::Quarterly => Some(4),
            Cadence::Yearly => Some(1),
            Cadence::Once => None,
        }
    }
}

/// Who an enrolment belongs to, and so who is paid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BeneficiaryKind {
    Household,
    Person,
}

impl BeneficiaryKind {
    pub fn as_str(self) -> &'static str {
        match self {
            BeneficiaryKind::Household => "household",
            BeneficiaryKind::Person => "person",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        [BeneficiaryKind::Household, BeneficiaryKind::Person]
            .into_iter()
            .find(|kind| kind.as_str() == code)
    }
}

/// Ages in whole years, both ends included; an open end is `None`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AgeRange {
    pub min: Option<u32>,
    pub max: Option<u32>,
}

impl AgeRange {
    pub fn contains(self, age: u32) -> bool {
        self.min.is_none_or(|min| age >= min) && self.max.is_none_or(|max| age <= max)
    }
}

impl fmt::Display for AgeRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.min, self.max) {
            (Some(min), Some(max)) => write!(f, "aged {min} to {max}"),
            (Some(min), None) => write!(f, "aged {min} and over"),
            (None, Some(max)) => write!(f, "aged {max} or under"),
            (None, None) => f.write_str("of any age"),
        }
    }
}

/// One payable part of a cash benefit, e.g. PKH's `elderly_70`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Component {
    pub id: String,
    pub amount_per_period_idr: i64,
    /// When set, the component is chosen for an applicant of these ages.
    pub ages: Option<AgeRange>,
}

/// How a cash programme pays.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CashTerms {
    cadence: Cadence,
    components: Vec<Component>,
    default_component: usize,
}

impl CashTerms {
    pub fn cadence(&self) -> Cadence {
        self.cadence
    }

    pub fn components(&self) -> &[Component] {
        &self.components
    }

    /// Whether some component is chosen by age (PKH's child, school and elderly bands).
    pub fn has_age_bands(&self) -> bool {
        self.components.iter().any(|c| c.ages.is_some())
    }

    /// The first component whose age band holds `age`; none when no band does.
    pub fn component_at_age(&self, age: u32) -> Option<&Component> {
        self.components
            .iter()
            .find(|c| c.ages.is_some_and(|ages| ages.contains(age)))
    }

    /// The component paid for an applicant of this age: the first whose age band holds it,
    /// else the programme's default. Until the registry records pregnancy, disability and
    /// school enrolment, age is the one fact that picks a component.
    pub fn component_for(&self, age: Option<u32>) -> &Component {
        age.and_then(|age| self.component_at_age(age))
            .unwrap_or(&self.components[self.default_component])
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProgrammeBenefit {
    Cash(CashTerms),
    InKind,
    Service,
}

impl ProgrammeBenefit {
    pub fn kind(&self) -> BenefitKind {
        match self {
            ProgrammeBenefit::Cash(_) => BenefitKind::Cash,
            ProgrammeBenefit::InKind => BenefitKind::InKind,
            ProgrammeBenefit::Service => BenefitKind::Service,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Programme {
    code: ProgrammeCode,
    name: String,
    opd: String,
    benefit: ProgrammeBenefit,
    beneficiary: BeneficiaryKind,
    requires_registry: bool,
    max_desil: Option<Desil>,
    ages: Option<AgeRange>,
    limits: Limits,
}

/// How long a programme may be held and how often its holders are reviewed, and how many
/// recipients one family card may have. All optional: a programme without them is held
/// until something ends it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Limits {
    /// The longest an enrolment may run, in months (e.g. PKH's graduation horizon).
    pub max_duration_months: Option<u32>,
    /// Recertification: holders are reviewed every so many months.
    pub review_every_months: Option<u32>,
    /// One recipient per family card (KK): a second member of the same KK is refused.
    pub one_recipient_per_kk: bool,
}

impl Programme {
    pub fn code(&self) -> &ProgrammeCode {
        &self.code
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Code of the regional agency (OPD) that owns the programme, e.g. `DINSOS`.
    pub fn opd(&self) -> &str {
        &self.opd
    }

    pub fn benefit(&self) -> &ProgrammeBenefit {
        &self.benefit
    }

    pub fn beneficiary(&self) -> BeneficiaryKind {
        self.beneficiary
    }

    pub fn requires_registry(&self) -> bool {
        self.requires_registry
    }

    /// The poorest desil is 1; a household above this desil is not eligible.
    pub fn max_desil(&self) -> Option<Desil> {
        self.max_desil
    }

    pub fn ages(&self) -> Option<AgeRange> {
        self.ages
    }

    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Whether granting it starts an enrolment in the ledger. A service is delivered case by
    /// case through a referral: there is no membership to keep, and asking again is normal.
    pub fn keeps_enrolment(&self) -> bool {
        self.benefit.kind() != BenefitKind::Service
    }
}

/// Two programmes that may not be held together by the same person or household. Declared
/// one way round (`BLT-DD` excludes `PKH`), applied both ways.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exclusion {
    pub declared_by: ProgrammeCode,
    pub excluded: ProgrammeCode,
}

impl Exclusion {
    /// Stable rule id, the same whichever of the two programmes is being decided, so that
    /// one overlap rule is counted as one rule.
    pub fn rule_id(&self) -> String {
        format!("overlap.{}.{}", self.declared_by, self.excluded)
    }

    pub fn involves(&self, a: &ProgrammeCode, b: &ProgrammeCode) -> bool {
        (&self.declared_by == a && &self.excluded == b) || (&self.declared_by == b && &self.excluded == a)
    }
}

/// Lines of the file's `version` and `effective_from` (1-based).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct HeaderLines {
    version: usize,
    effective_from: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Catalogue {
    version: String,
    effective_from: NaiveDate,
    /// Where the header fields are, for messages about the set of versions.
    lines: HeaderLines,
    programmes: Vec<Programme>,
    serves: BTreeMap<NeedCategory, Vec<ProgrammeCode>>,
    exclusions: Vec<Exclusion>,
}

impl Catalogue {
    pub fn parse(toml_text: &str) -> Result<Self, CatalogueError> {
        parse::parse(toml_text)
    }

    pub fn version(&self) -> &str {
        &self.version
    }

    pub fn effective_from(&self) -> NaiveDate {
        self.effective_from
    }

    /// In the order the file lists them.
    pub fn programmes(&self) -> &[Programme] {
        &self.programmes
    }

    pub fn programme(&self, code: &ProgrammeCode) -> Option<&Programme> {
        self.programmes.iter().find(|p| &p.code == code)
    }

    /// The programmes that can meet a need, in the order they are tried.
    pub fn programmes_for(&self, category: NeedCategory) -> impl Iterator<Item = &Programme> {
        self.serves
            .get(&category)
            .into_iter()
            .flatten()
            .filter_map(|code| self.programme(code))
    }

    pub fn exclusions(&self) -> &[Exclusion] {
        &self.exclusions
    }

    /// The rule forbidding `a` together with `b`, checked both ways round.
    pub fn exclusion_between(&self, a: &ProgrammeCode, b: &ProgrammeCode) -> Option<&Exclusion> {
        self.exclusions.iter().find(|e| e.involves(a, b))
    }
}

#[cfg(test)]
mod tests;
