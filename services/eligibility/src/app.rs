//! Eligibility's use cases: decide a case opened at the desk, screen a person for the desk,
//! check a payment before its release, and read decisions, enrolments and the catalogue.

pub mod catalogue;
pub mod decider;
pub mod evidence;
pub mod ledger;
pub mod registry;
pub mod reports;
pub mod verification;

use std::sync::Arc;

use slrt_errors::ApiError;
use slrt_eventstore::EventStore;
use slrt_identity::Nik;
use sqlx::PgPool;
use uuid::Uuid;

use chrono::NaiveDate;

use crate::domain::{Catalogue, Catalogues, LedgerView, PersonId, ProgrammeCode, Screening, screen};
use crate::projections::{self, DecisionView};
use catalogue::{CatalogueVersionView, CatalogueView};
use ledger::EnrolmentView;

/// The service's use cases, shared by the consumer and both APIs.
#[derive(Clone)]
pub struct Eligibility {
    pub pool: PgPool,
    pub store: EventStore,
    /// Every catalogue version; each decision uses the one in force on its date.
    pub catalogues: Arc<Catalogues>,
    /// Which programmes a car or a salary stops (`data/exclusions.toml`).
    pub exclusions: Arc<crate::domain::evidence::ExclusionRules>,
}

/// Whether a payment may be released, and if not, why not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentCheck {
    pub payable: bool,
    pub reasons: Vec<String>,
}

impl Eligibility {
    pub fn new(pool: PgPool, store: EventStore, catalogues: Catalogues) -> Self {
        Self {
            pool,
            store,
            catalogues: Arc::new(catalogues),
            exclusions: Arc::default(),
        }
    }

    /// With these exclusion rules in place of none.
    pub fn with_exclusions(mut self, exclusions: crate::domain::evidence::ExclusionRules) -> Self {
        self.exclusions = Arc::new(exclusions);
        self
    }

    /// The catalogue version in force on `day`.
    pub fn catalogue_on(&self, day: NaiveDate) -> &Catalogue {
        self.catalogues.in_force(day)
    }

    /// The catalogue version in force today (in Indonesia).
    pub fn catalogue(&self) -> &Catalogue {
        self.catalogue_on(slrt_identity::today_in_indonesia())
    }

    /// What the registry and the ledger say about a person; an unknown NIK is an answer
    /// (`known_person = false`), not an error.
    pub async fn screen_person(&self, nik: &Nik) -> Result<Screening, ApiError> {
        let mut conn = self.pool.acquire().await.map_err(ApiError::unavailable)?;
        let applicant = registry::applicant_by_nik(&mut *conn, nik)
            .await
            .map_err(ApiError::unavailable)?;
        let ledger: LedgerView = ledger::view_for(&mut *conn, &applicant)
            .await
            .map_err(ApiError::unavailable)?;
        Ok(screen(&applicant, &ledger))
    }

    /// Whether a payment to `beneficiary_id` under `programme` may be released now: only for
    /// an active enrolment of a beneficiary who is alive (a household: one with a living
    /// member).
    pub async fn check_payment(
        &self,
        programme: &ProgrammeCode,
        beneficiary_id: &str,
    ) -> Result<PaymentCheck, ApiError> {
        let catalogue = self.catalogue();
        let Some(known) = catalogue.programme(programme) else {
            return Ok(PaymentCheck {
                payable: false,
                reasons: vec![format!(
                    "{programme} is not a programme in catalogue {}",
                    catalogue.version()
                )],
            });
        };
        let kind = known.beneficiary();
        let mut conn = self.pool.acquire().await.map_err(ApiError::unavailable)?;
        let status = ledger::current_status(&mut *conn, programme, kind, beneficiary_id)
            .await
            .map_err(ApiError::unavailable)?;
        let vitality = registry::vitality(&mut *conn, kind, beneficiary_id)
            .await
            .map_err(ApiError::unavailable)?;
        let holds = evidence::hold_reasons(&mut *conn, programme.as_str(), kind.as_str(), beneficiary_id)
            .await
            .map_err(ApiError::unavailable)?;
        let reasons =
            crate::domain::release::release_check_with_holds(programme, beneficiary_id, status, vitality, &holds);
        Ok(PaymentCheck {
            payable: reasons.is_empty(),
            reasons,
        })
    }

    /// A case's decision; `None` while the case is not decided.
    pub async fn decision(&self, case_id: Uuid) -> Result<Option<DecisionView>, ApiError> {
        projections::find_decision(&self.pool, case_id)
            .await
            .map_err(ApiError::unavailable)
    }

    /// Every enrolment in the ledger of a household or person.
    pub async fn enrolments(&self, beneficiary_id: &str) -> Result<Vec<EnrolmentView>, ApiError> {
        ledger::of_beneficiary(&self.pool, beneficiary_id)
            .await
            .map_err(ApiError::unavailable)
    }

    /// The catalogue in force on `day`, as data.
    pub fn catalogue_view(&self, day: NaiveDate) -> CatalogueView {
        let catalogue = self.catalogue_on(day);
        CatalogueView::of(catalogue, self.catalogues.superseded_on(catalogue.version()))
    }

    /// Every catalogue version with the days it is in force, oldest first.
    pub fn catalogue_versions(&self) -> Vec<CatalogueVersionView> {
        CatalogueVersionView::all(&self.catalogues, slrt_identity::today_in_indonesia())
    }
}

/// A household or person id as a client sends it; both follow the registry's id rule.
pub fn parse_beneficiary_id(text: &str) -> Result<String, ApiError> {
    if text.is_empty() {
        return Err(ApiError::invalid(
            "beneficiary_id",
            "a household or person id is required",
        ));
    }
    PersonId::parse(text)
        .map(|id| id.to_string())
        .map_err(|error| ApiError::invalid("beneficiary_id", error.to_string()))
}

// Stored values that break the tables' own rules can only come from a hand edit; a read
// that meets one fails loudly rather than deciding on a guess.
pub(crate) fn corrupt(column: &str, problem: impl ToString) -> sqlx::Error {
    sqlx::Error::ColumnDecode {
        index: column.to_string(),
        source: problem.to_string().into(),
    }
}
