//! The back office's reports on the whole ledger: every current breach of the rules, and
//! how long enrolments have run against their review and maximum duration.

use chrono::NaiveDate;
use serde::Serialize;
use slrt_errors::ApiError;

use super::Eligibility;
use super::ledger::{holdings, person_records};
use crate::domain::{Holding, violations, years_on_benefit};

/// Every current breach found in the ledger.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ViolationsReport {
    /// The day the ledger was read on, and the catalogue version whose rules applied.
    pub as_of: NaiveDate,
    #[schema(example = "2026.2")]
    pub catalogue_version: String,
    /// Empty in a healthy ledger.
    pub violations: Vec<ViolationView>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ViolationView {
    /// overlap.<a>.<b>, <code>.one_per_kk, <code>.duplicate, <code>.deceased or <code>.desil.
    #[schema(example = "overlap.BLT-DD.PKH")]
    pub rule: String,
    #[schema(example = "H-000009")]
    pub household_id: Option<String>,
    pub enrolments: Vec<InvolvedEnrolment>,
    /// Why it is a breach, in words.
    pub why: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct InvolvedEnrolment {
    pub enrolment_id: String,
    #[schema(example = "PKH")]
    pub programme_code: String,
    #[schema(example = "household")]
    pub beneficiary_kind: String,
    #[schema(example = "H-000009")]
    pub beneficiary_id: String,
    /// active or held.
    pub status: String,
    /// registry, decision, external or graduation.
    #[schema(example = "external")]
    pub source: String,
    pub started_on: NaiveDate,
}

/// Current enrolments by time on benefit, per programme.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct YearsOnBenefitReport {
    pub as_of: NaiveDate,
    #[schema(example = "2026.2")]
    pub catalogue_version: String,
    pub programmes: Vec<ProgrammeTimeOnBenefit>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ProgrammeTimeOnBenefit {
    #[schema(example = "PKH")]
    pub programme_code: String,
    /// Current (active and held) enrolments.
    pub current: u64,
    /// Enrolments by whole years on benefit: `years` 0 is less than a year.
    pub by_years: Vec<YearsBucket>,
    /// The catalogue's review period; absent when it sets none.
    pub review_every_months: Option<u32>,
    /// Enrolments whose first review date has passed (the ledger records no
    /// recertification yet, so every one of them is due).
    pub past_review: u64,
    pub max_duration_months: Option<u32>,
    /// Enrolments that have run longer than the programme allows.
    pub past_max_duration: u64,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct YearsBucket {
    pub years: u32,
    pub enrolments: u64,
}

impl InvolvedEnrolment {
    fn of(holding: &Holding) -> Self {
        Self {
            enrolment_id: holding.enrolment_id.clone(),
            programme_code: holding.programme.to_string(),
            beneficiary_kind: holding.beneficiary.kind().as_str().to_string(),
            beneficiary_id: holding.beneficiary.id().to_string(),
            status: holding.status.as_str().to_string(),
            source: holding.source.clone(),
            started_on: holding.started_on,
        }
    }
}

impl Eligibility {
    /// Every current breach of the overlap matrix, one-recipient-per-KK, one enrolment per
    /// programme and beneficiary, the death record and the desil cut-off, under the
    /// catalogue in force today. Read in one snapshot, so the ledger and the registry agree.
    pub async fn violations_report(&self) -> Result<ViolationsReport, ApiError> {
        let today = slrt_identity::today_in_indonesia();
        let catalogue = self.catalogue_on(today);
        let mut tx = self.pool.begin().await.map_err(ApiError::unavailable)?;
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            .execute(&mut *tx)
            .await
            .map_err(ApiError::unavailable)?;
        let people = person_records(&mut *tx, None).await.map_err(ApiError::unavailable)?;
        let current = holdings(&mut *tx, None, false).await.map_err(ApiError::unavailable)?;
        tx.commit().await.map_err(ApiError::unavailable)?;
        Ok(ViolationsReport {
            as_of: today,
            catalogue_version: catalogue.version().to_string(),
            violations: violations(catalogue, &people, &current)
                .into_iter()
                .map(|violation| ViolationView {
                    rule: violation.rule,
                    household_id: violation.household_id.map(|h| h.to_string()),
                    enrolments: violation.enrolments.iter().map(InvolvedEnrolment::of).collect(),
                    why: violation.why,
                })
                .collect(),
        })
    }

    /// Current enrolments per programme by whole years on benefit, with those past their
    /// review date and past their maximum duration under the catalogue in force today.
    pub async fn years_on_benefit_report(&self) -> Result<YearsOnBenefitReport, ApiError> {
        let today = slrt_identity::today_in_indonesia();
        let catalogue = self.catalogue_on(today);
        let current = holdings(&self.pool, None, false).await.map_err(ApiError::unavailable)?;
        Ok(YearsOnBenefitReport {
            as_of: today,
            catalogue_version: catalogue.version().to_string(),
            programmes: years_on_benefit(catalogue, &current, today)
                .into_iter()
                .map(|row| ProgrammeTimeOnBenefit {
                    programme_code: row.programme.to_string(),
                    current: row.current,
                    by_years: row
                        .by_years
                        .iter()
                        .enumerate()
                        .filter(|(_, count)| **count > 0)
                        .map(|(years, count)| YearsBucket {
                            years: years as u32,
                            enrolments: *count,
                        })
                        .collect(),
                    review_every_months: row.review_every_months,
                    past_review: row.past_review,
                    max_duration_months: row.max_duration_months,
                    past_max_duration: row.past_max_duration,
                })
                .collect(),
        })
    }
}
