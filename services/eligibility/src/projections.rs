//! The decisions read model: one row per decided case, holding the decision as supervisors
//! read it (every need's outcome, programme, benefit and reasons, and the catalogue
//! version). Written in the transaction that records the `CaseDecided` event.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sqlx::{PgConnection, PgExecutor, Row};
use uuid::Uuid;

use crate::app::ledger::EnrolmentView;
use crate::domain::{Beneficiary, Benefit, CaseDecision, DecisionInputs, NeedDecision, Outcome};

/// A case's decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DecisionView {
    pub case_id: Uuid,
    #[schema(example = "SLRT-3375-2026-000042")]
    pub case_number: String,
    /// The programme catalogue version the rules came from.
    #[schema(example = "2026.1")]
    pub catalogue_version: String,
    pub decided_at: DateTime<Utc>,
    /// The day the rules were applied on (ages are reckoned on it): the day the case was
    /// opened, in Indonesia. The catalogue version is the one in force on it.
    pub decided_on: NaiveDate,
    /// What the rules were applied to; absent on decisions recorded before inputs were kept.
    #[serde(default)]
    pub inputs: Option<InputsView>,
    /// The `CaseDecided` event that recorded the decision.
    pub event_id: Uuid,
    pub applicant: DecidedApplicant,
    /// One per need, in the order the desk listed them.
    pub needs: Vec<NeedOutcome>,
    /// The ledger rows the decision started.
    pub enrolments_started: Vec<EnrolmentView>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DecidedApplicant {
    /// Whether the registry knows the applicant (found by NIK).
    pub in_registry: bool,
    #[schema(example = "P-000009")]
    pub person_id: Option<String>,
    #[schema(example = "H-000003")]
    pub household_id: Option<String>,
    /// The name as the registry records it.
    pub registry_name: Option<String>,
    /// The name as declared at the desk.
    pub declared_name: String,
    /// Only the first and last four digits.
    #[schema(example = "3375********0001")]
    pub nik_masked: String,
    /// Kemendagri village code of the address declared at the desk.
    #[schema(example = "33.75.02.1004")]
    pub region_code: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct NeedOutcome {
    pub need_id: String,
    #[schema(example = "cash_assistance")]
    pub category: String,
    /// approved or rejected.
    #[schema(example = "approved")]
    pub outcome: String,
    /// The programme granting the need; absent when rejected.
    pub programme: Option<ProgrammeRef>,
    pub benefit: Option<BenefitView>,
    /// Who the grant is for; absent when rejected, and for a service to someone the registry
    /// does not know yet.
    pub beneficiary: Option<BeneficiaryView>,
    /// Every rule that fired, approving or rejecting, in the order the programmes were tried.
    pub reasons: Vec<ReasonView>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ProgrammeRef {
    #[schema(example = "PKH")]
    pub code: String,
    pub name: String,
    /// The agency (OPD) that delivers it.
    #[schema(example = "DINSOS")]
    pub opd: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct BenefitView {
    /// cash, in_kind or service.
    #[schema(example = "cash")]
    pub kind: String,
    /// Rupiah per payment period; cash only.
    #[schema(example = 750000)]
    pub amount_per_period_idr: Option<i64>,
    /// monthly, quarterly, yearly or once; cash only.
    #[schema(example = "quarterly")]
    pub cadence: Option<String>,
    /// The payment component, e.g. base, or a PKH component such as child_0_6; cash only.
    #[schema(example = "child_0_6")]
    pub component: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct BeneficiaryView {
    /// household or person.
    pub kind: String,
    pub id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ReasonView {
    /// Stable rule id, e.g. PKH.desil, overlap.BLT-DD.PKH, exclusion.deceased.
    #[schema(example = "PKH.desil")]
    pub rule: String,
    #[schema(example = "The household is in desil 3, within PKH's cut-off of desil 4.")]
    pub message: String,
}

/// The facts a decision was taken on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct InputsView {
    #[schema(example = "2026-01-01")]
    pub catalogue_effective_from: NaiveDate,
    /// The household's desil in the registry; absent outside the registry.
    #[schema(example = 3)]
    pub desil: Option<u8>,
    /// Whole years on the decision date.
    #[schema(example = 48)]
    pub age: Option<u32>,
    pub deceased: bool,
    #[schema(example = 4)]
    pub household_members: u32,
    pub living_members: u32,
    pub children_under_18: u32,
    pub elderly_70_plus: u32,
    /// Current enrolments the rules saw: the applicant's, the household's and those of the
    /// others on the household or family card.
    pub enrolments_considered: Vec<ConsideredEnrolmentView>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ConsideredEnrolmentView {
    #[schema(example = "BPNT")]
    pub programme_code: String,
    pub beneficiary: BeneficiaryView,
    /// active or held.
    pub status: String,
}

impl InputsView {
    pub fn of(inputs: &DecisionInputs) -> Self {
        Self {
            catalogue_effective_from: inputs.catalogue_effective_from,
            desil: inputs.desil,
            age: inputs.age,
            deceased: inputs.deceased,
            household_members: inputs.household_members,
            living_members: inputs.living_members,
            children_under_18: inputs.children_under_18,
            elderly_70_plus: inputs.elderly_70_plus,
            enrolments_considered: inputs
                .enrolments_considered
                .iter()
                .map(|entry| ConsideredEnrolmentView {
                    programme_code: entry.programme.to_string(),
                    beneficiary: BeneficiaryView::of(&entry.beneficiary),
                    status: entry.status.as_str().to_string(),
                })
                .collect(),
        }
    }
}

impl NeedOutcome {
    pub fn of(decision: &NeedDecision) -> Self {
        let grant = decision.grant();
        Self {
            need_id: decision.need_id.to_string(),
            category: decision.category.to_string(),
            outcome: match decision.outcome {
                Outcome::Approved(_) => "approved",
                Outcome::Rejected => "rejected",
            }
            .to_string(),
            programme: grant.map(|grant| ProgrammeRef {
                code: grant.programme.to_string(),
                name: grant.programme_name.clone(),
                opd: grant.opd.clone(),
            }),
            benefit: grant.map(|grant| BenefitView::of(&grant.benefit)),
            beneficiary: grant
                .and_then(|grant| grant.beneficiary.as_ref())
                .map(BeneficiaryView::of),
            reasons: decision
                .reasons
                .iter()
                .map(|reason| ReasonView {
                    rule: reason.rule.clone(),
                    message: reason.message.clone(),
                })
                .collect(),
        }
    }
}

impl BenefitView {
    pub fn of(benefit: &Benefit) -> Self {
        let kind = match benefit {
            Benefit::Cash { .. } => "cash",
            Benefit::InKind => "in_kind",
            Benefit::Service => "service",
        };
        Self {
            kind: kind.to_string(),
            amount_per_period_idr: benefit.is_cash().then(|| benefit.amount_per_period_idr()),
            cadence: benefit.cadence().map(|cadence| cadence.as_str().to_string()),
            component: benefit.component().map(str::to_string),
        }
    }
}

impl BeneficiaryView {
    pub fn of(beneficiary: &Beneficiary) -> Self {
        Self {
            kind: beneficiary.kind().as_str().to_string(),
            id: beneficiary.id().to_string(),
        }
    }
}

impl DecidedApplicant {
    pub fn of(decision: &CaseDecision, declared_name: &str, nik_masked: String, region_code: &str) -> Self {
        Self {
            in_registry: decision.person_id.is_some(),
            person_id: decision.person_id.as_ref().map(ToString::to_string),
            household_id: decision.household_id.as_ref().map(ToString::to_string),
            registry_name: decision.beneficiary_name.clone(),
            declared_name: declared_name.to_string(),
            nik_masked,
            region_code: region_code.to_string(),
        }
    }
}

/// Stores a case's decision. A case is decided once, so a second row for it is an error.
pub async fn record_decision(conn: &mut PgConnection, view: &DecisionView) -> Result<(), sqlx::Error> {
    let document = serde_json::to_value(view).map_err(|error| sqlx::Error::Encode(Box::new(error)))?;
    sqlx::query(
        "INSERT INTO decisions (case_id, case_number, catalogue_version, decided_at, event_id, decision)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(view.case_id)
    .bind(&view.case_number)
    .bind(&view.catalogue_version)
    .bind(view.decided_at)
    .bind(view.event_id)
    .bind(document)
    .execute(conn)
    .await?;
    Ok(())
}

/// The decision of a case, or `None` when the case has not been decided (yet).
pub async fn find_decision(executor: impl PgExecutor<'_>, case_id: Uuid) -> Result<Option<DecisionView>, sqlx::Error> {
    let row = sqlx::query("SELECT decision FROM decisions WHERE case_id = $1")
        .bind(case_id)
        .fetch_optional(executor)
        .await?;
    let Some(row) = row else { return Ok(None) };
    let document: serde_json::Value = row.try_get("decision")?;
    serde_json::from_value(document)
        .map(Some)
        .map_err(|error| sqlx::Error::ColumnDecode {
            index: "decision".into(),
            source: Box::new(error),
        })
}
