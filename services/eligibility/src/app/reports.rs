//! The back office's reports on the ledger: every current breach of the rules, and how long
//! enrolments have run against their review and maximum duration; each as far as the
//! caller's scope reaches.

use std::collections::{BTreeSet, HashMap};

use chrono::NaiveDate;
use serde::Serialize;
use slrt_errors::ApiError;

use super::Eligibility;
use super::ledger::{current_holdings_within, holdings, person_records};
use super::scope::{Scope, niks_of};
use crate::domain::{Holding, violations, years_on_benefit};

/// Rows of the violations report in one answer when the caller names no `limit`, and at most.
pub const VIOLATIONS_PAGE: u64 = 1_000;

/// Every current breach found in the ledger.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ViolationsReport {
    /// The day the ledger was read on, and the catalogue version whose rules applied.
    pub as_of: NaiveDate,
    #[schema(example = "2026.2")]
    pub catalogue_version: String,
    /// Empty in a healthy ledger.
    pub violations: Vec<ViolationView>,
    /// Pass as `after` for the next page; absent on the last. Pages are cut from the report
    /// as computed at each request, so a ledger that changes between two pages can shift
    /// rows across the cut.
    pub next_after: Option<u64>,
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
    ///
    /// The rules are checked across the whole ledger (one family card can span households);
    /// a row is shown when its household lives within `scope` (rows without a household only
    /// to callers whose area is the whole regency). One page of at most `limit` rows after
    /// the first `after`, with the keyed NIK tokens of the people the page names (every
    /// member of each household shown, and each person listed).
    pub async fn violations_report(
        &self,
        scope: &Scope,
        after: u64,
        limit: u64,
    ) -> Result<(ViolationsReport, Vec<String>), ApiError> {
        let today = slrt_identity::today_in_indonesia();
        let catalogue = self.catalogue_on(today);
        let mut tx = self.pool.begin().await.map_err(ApiError::unavailable)?;
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            .execute(&mut *tx)
            .await
            .map_err(ApiError::unavailable)?;
        let people = person_records(&mut *tx, None).await.map_err(ApiError::unavailable)?;
        let current = holdings(&mut *tx, None, false).await.map_err(ApiError::unavailable)?;
        let found = violations(catalogue, &people, &current);
        let households: Vec<String> = found
            .iter()
            .filter_map(|violation| violation.household_id.as_ref().map(ToString::to_string))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let regions: HashMap<String, String> = sqlx::query_as(
            "SELECT DISTINCT ON (household_id) household_id, region_code FROM registry_people
             WHERE household_id = ANY($1) ORDER BY household_id, person_id",
        )
        .bind(&households)
        .fetch_all(&mut *tx)
        .await
        .map_err(ApiError::unavailable)?
        .into_iter()
        .collect();
        let visible: Vec<ViolationView> = found
            .into_iter()
            .filter(|violation| match &violation.household_id {
                Some(household) => regions
                    .get(household.as_str())
                    .is_some_and(|region| scope.covers(region)),
                None => scope.covers_unplaced(),
            })
            .map(|violation| ViolationView {
                rule: violation.rule,
                household_id: violation.household_id.map(|h| h.to_string()),
                enrolments: violation.enrolments.iter().map(InvolvedEnrolment::of).collect(),
                why: violation.why,
            })
            .collect();
        let total = visible.len() as u64;
        let page: Vec<ViolationView> = visible
            .into_iter()
            .skip(usize::try_from(after).unwrap_or(usize::MAX))
            .take(usize::try_from(limit).unwrap_or(usize::MAX))
            .collect();
        let shown = after.saturating_add(page.len() as u64);
        let mut named_people = BTreeSet::new();
        let mut named_households = BTreeSet::new();
        for row in &page {
            named_households.extend(row.household_id.clone());
            for enrolment in &row.enrolments {
                match enrolment.beneficiary_kind.as_str() {
                    "household" => named_households.insert(enrolment.beneficiary_id.clone()),
                    _ => named_people.insert(enrolment.beneficiary_id.clone()),
                };
            }
        }
        let niks = niks_of(
            &mut *tx,
            &named_people.into_iter().collect::<Vec<_>>(),
            &named_households.into_iter().collect::<Vec<_>>(),
        )
        .await?;
        tx.commit().await.map_err(ApiError::unavailable)?;
        let report = ViolationsReport {
            as_of: today,
            catalogue_version: catalogue.version().to_string(),
            violations: page,
            next_after: (shown < total).then_some(shown),
        };
        Ok((report, self.tokens_of(&niks)))
    }

    /// Current enrolments per programme by whole years on benefit, with those past their
    /// review date and past their maximum duration under the catalogue in force today;
    /// counting the enrolments of households within `scope` (and of beneficiaries the
    /// registry does not know, for callers whose area is the whole regency).
    pub async fn years_on_benefit_report(&self, scope: &Scope) -> Result<YearsOnBenefitReport, ApiError> {
        let today = slrt_identity::today_in_indonesia();
        let catalogue = self.catalogue_on(today);
        let current = current_holdings_within(&self.pool, scope.area_patterns(), scope.covers_unplaced())
            .await
            .map_err(ApiError::unavailable)?;
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
