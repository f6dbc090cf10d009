//! The programme catalogue as data for clients: what each programme gives, to whom, and the
//! rules a decision applies, with the rule ids that decisions cite in their reasons.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::Serialize;

use crate::domain::{Catalogue, Catalogues, NeedCategory, Programme, ProgrammeBenefit};

/// One catalogue version, as data.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CatalogueView {
    #[schema(example = "2026.1")]
    pub version: String,
    pub effective_from: NaiveDate,
    /// The first day a later version replaces this one; absent while none is loaded.
    #[schema(example = "2026-07-01")]
    pub superseded_on: Option<NaiveDate>,
    /// Need category -> the programmes that can meet it, in the order they are tried.
    #[schema(example = json!({"cash_assistance": ["PKH", "BLT-DD", "PENA"], "civil_documents": ["ADMINDUK"]}))]
    pub serves: BTreeMap<String, Vec<String>>,
    pub programmes: Vec<ProgrammeView>,
    /// Pairs of programmes that may not be held together by the same person or household.
    pub overlap_rules: Vec<OverlapRule>,
    /// Rules that hold for every programme.
    pub general_rules: Vec<GeneralRule>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ProgrammeView {
    #[schema(example = "PKH")]
    pub code: String,
    pub name: String,
    /// The agency (OPD) that delivers it.
    #[schema(example = "DINSOS")]
    pub opd: String,
    /// cash, in_kind or service.
    #[schema(example = "cash")]
    pub benefit: String,
    /// household or person: who is enrolled, and paid.
    #[schema(example = "household")]
    pub beneficiary: String,
    /// Only for people in the social registry (rule `registry.unknown_person`).
    pub requires_registry: bool,
    /// Households above this desil are refused (rule `<code>.desil`).
    #[schema(example = 4)]
    pub max_desil: Option<u8>,
    /// Age limits in whole years, both included (rule `<code>.age`).
    pub min_age: Option<u32>,
    pub max_age: Option<u32>,
    /// Granting it starts an enrolment in the ledger; a service is delivered case by case.
    pub keeps_enrolment: bool,
    /// Programmes it may not be combined with (rules `overlap.*`).
    #[schema(example = json!(["PKH", "BPNT"]))]
    pub excludes: Vec<String>,
    /// The longest an enrolment may run, in months (the years-on-benefit report).
    #[schema(example = 60)]
    pub max_duration_months: Option<u32>,
    /// Holders are recertified every so many months (the years-on-benefit report).
    #[schema(example = 12)]
    pub review_every_months: Option<u32>,
    /// At most one current recipient per family card (rule `<code>.one_per_kk`).
    pub one_recipient_per_kk: bool,
    /// How a cash programme pays; absent for in-kind and service programmes.
    pub cash: Option<CashView>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CashView {
    /// monthly, quarterly, yearly or once.
    #[schema(example = "quarterly")]
    pub cadence: String,
    pub components: Vec<ComponentView>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ComponentView {
    #[schema(example = "elderly_70")]
    pub id: String,
    #[schema(example = 600000)]
    pub amount_per_period_idr: i64,
    /// The component is chosen for an applicant of these ages.
    pub min_age: Option<u32>,
    pub max_age: Option<u32>,
    /// Paid when no age band matches the applicant.
    pub default: bool,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct OverlapRule {
    #[schema(example = "overlap.BLT-DD.PKH")]
    pub rule: String,
    #[schema(example = json!(["BLT-DD", "PKH"]))]
    pub programmes: [String; 2],
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct GeneralRule {
    #[schema(example = "exclusion.deceased")]
    pub rule: String,
    pub description: String,
}

/// A catalogue version and when it is in force.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CatalogueVersionView {
    #[schema(example = "2026.1")]
    pub version: String,
    pub effective_from: NaiveDate,
    /// The first day the next version is in force; absent for the latest.
    #[schema(example = "2026-07-01")]
    pub superseded_on: Option<NaiveDate>,
    /// Whether this is the version decisions use today.
    pub in_force_today: bool,
    #[schema(example = 10)]
    pub programmes: usize,
}

impl CatalogueVersionView {
    pub fn all(catalogues: &Catalogues, today: NaiveDate) -> Vec<Self> {
        let current = catalogues.in_force(today).version();
        catalogues
            .versions()
            .iter()
            .map(|catalogue| Self {
                version: catalogue.version().to_owned(),
                effective_from: catalogue.effective_from(),
                superseded_on: catalogues.superseded_on(catalogue.version()),
                in_force_today: catalogue.version() == current,
                programmes: catalogue.programmes().len(),
            })
            .collect()
    }
}

impl CatalogueView {
    pub fn of(catalogue: &Catalogue, superseded_on: Option<NaiveDate>) -> Self {
        let serves = NeedCategory::ALL
            .into_iter()
            .map(|category| {
                let codes = catalogue
                    .programmes_for(category)
                    .map(|p| p.code().to_string())
                    .collect();
                (category.to_string(), codes)
            })
            .collect();
        let overlap_rules = catalogue
            .exclusions()
            .iter()
            .map(|exclusion| OverlapRule {
                rule: exclusion.rule_id(),
                programmes: [exclusion.declared_by.to_string(), exclusion.excluded.to_string()],
            })
            .collect();
        Self {
            version: catalogue.version().to_string(),
            effective_from: catalogue.effective_from(),
            superseded_on,
            serves,
            programmes: catalogue
                .programmes()
                .iter()
                .map(|p| ProgrammeView::of(catalogue, p))
                .collect(),
            overlap_rules,
            general_rules: general_rules(),
        }
    }
}

impl ProgrammeView {
    fn of(catalogue: &Catalogue, programme: &Programme) -> Self {
        let code = programme.code();
        let excludes = catalogue
            .exclusions()
            .iter()
            .filter_map(|exclusion| {
                if &exclusion.declared_by == code {
                    Some(exclusion.excluded.to_string())
                } else if &exclusion.excluded == code {
                    Some(exclusion.declared_by.to_string())
                } else {
                    None
                }
            })
            .collect();
        let cash = match programme.benefit() {
            ProgrammeBenefit::Cash(terms) => {
                let default_id = &terms.component_for(None).id;
                Some(CashView {
                    cadence: terms.cadence().as_str().to_string(),
                    components: terms
                        .components()
                        .iter()
                        .map(|component| ComponentView {
                            id: component.id.clone(),
                            amount_per_period_idr: component.amount_per_period_idr,
                            min_age: component.ages.and_then(|ages| ages.min),
                            max_age: component.ages.and_then(|ages| ages.max),
                            default: &component.id == default_id,
                        })
                        .collect(),
                })
            }
            ProgrammeBenefit::InKind | ProgrammeBenefit::Service => None,
        };
        Self {
            code: code.to_string(),
            name: programme.name().to_string(),
            opd: programme.opd().to_string(),
            benefit: programme.benefit().kind().as_str().to_string(),
            beneficiary: programme.beneficiary().as_str().to_string(),
            requires_registry: programme.requires_registry(),
            max_desil: programme.max_desil().map(|desil| desil.get()),
            min_age: programme.ages().and_then(|ages| ages.min),
            max_age: programme.ages().and_then(|ages| ages.max),
            keeps_enrolment: programme.keeps_enrolment(),
            excludes,
            max_duration_months: programme.limits().max_duration_months,
            review_every_months: programme.limits().review_every_months,
            one_recipient_per_kk: programme.limits().one_recipient_per_kk,
            cash,
        }
    }
}

// These are the decision's own rules (domain::decision), not catalogue data; they are
// listed so that every rule id a decision can cite is explained in one place.
fn general_rules() -> Vec<GeneralRule> {
    [
        (
            "exclusion.deceased",
            "A person the registry records as deceased is granted nothing.",
        ),
        (
            "registry.unknown_person",
            "A programme with requires_registry is only for people in the social registry (DTSEN).",
        ),
        (
            "<code>.already_enrolled",
            "A programme is not granted to a beneficiary who already holds it.",
        ),
        (
            "<code>.already_granted",
            "A programme is not granted twice in one case.",
        ),
        (
            "<code>.once",
            "A programme paid once is not paid again to a beneficiary who received it.",
        ),
        (
            "overlap.<a>.<b>",
            "Programmes that exclude each other are refused both ways round, against the person's and the \
             household's enrolments and what was granted earlier in the same case.",
        ),
        (
            "<code>.one_per_kk",
            "A programme with one_recipient_per_kk is refused to a person while another holder of the same family \
             card (KK number) receives it.",
        ),
        (
            "need.unserved",
            "A need no programme in the catalogue meets is refused.",
        ),
    ]
    .into_iter()
    .map(|(rule, description)| GeneralRule {
        rule: rule.to_string(),
        description: description.to_string(),
    })
    .collect()
}
