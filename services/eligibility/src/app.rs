//! Eligibility's use cases: decide a case opened at the desk, screen a person for the desk,
//! check a payment before its release, and read decisions, enrolments and the catalogue.

pub mod catalogue;
pub mod decider;
pub mod evidence;
pub mod ledger;
pub mod registry;
pub mod reports;
pub mod scope;
pub mod verification;

use std::sync::Arc;

use slrt_audit::AuditRecord;
use slrt_errors::ApiError;
use slrt_eventstore::EventStore;
use slrt_identity::{Nik, NikTokenizer};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use chrono::NaiveDate;

use crate::domain::{Catalogue, Catalogues, Household, LedgerView, PersonId, ProgrammeCode, Screening, screen};
use crate::projections::{self, DecisionView};
use catalogue::{CatalogueVersionView, CatalogueView};
use ledger::EnrolmentView;
use scope::{ChangeBy, Scope};

/// The service's use cases, shared by the consumer and both APIs.
#[derive(Clone)]
pub struct Eligibility {
    pub pool: PgPool,
    pub store: EventStore,
    /// Every catalogue version; each decision uses the one in force on its date.
    pub catalogues: Arc<Catalogues>,
    /// Which programmes a car or a salary stops (`data/exclusions.toml`).
    pub exclusions: Arc<crate::domain::evidence::ExclusionRules>,
    /// Keyed NIK tokens: how the audit log names the people a read or a change concerns.
    pub nik_tokens: NikTokenizer,
}

/// Whether a payment may be released, and if not, why not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentCheck {
    pub payable: bool,
    pub reasons: Vec<String>,
}

impl Eligibility {
    pub fn new(pool: PgPool, store: EventStore, catalogues: Catalogues, nik_tokens: NikTokenizer) -> Self {
        Self {
            pool,
            store,
            catalogues: Arc::new(catalogues),
            exclusions: Arc::default(),
            nik_tokens,
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
        let household = match applicant.facts() {
            Some(facts) => ledger::household_around(&mut conn, facts)
                .await
                .map_err(ApiError::unavailable)?,
            None => Household::default(),
        };
        let today = slrt_identity::today_in_indonesia();
        Ok(screen(self.catalogue_on(today), &applicant, &household, &ledger, today))
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

    /// A case's decision, with the keyed token of the applicant's NIK; not found while the
    /// case is not decided, or when the applicant's address lies outside `scope`.
    pub async fn decision(&self, case_id: Uuid, scope: &Scope) -> Result<(DecisionView, Vec<String>), ApiError> {
        let decision = projections::find_decision(&self.pool, case_id)
            .await
            .map_err(ApiError::unavailable)?
            .filter(|decision| scope.covers(&decision.applicant.region_code))
            .ok_or_else(|| ApiError::not_found(format!("no decision for case {case_id}; it may not be decided yet")))?;
        // The read model keeps the NIK masked; the decision's event has it whole, and an
        // applicant outside the registry has no other record of it here.
        let mut conn = self.pool.acquire().await.map_err(ApiError::unavailable)?;
        let events = self
            .store
            .load(&mut *conn, &format!("decision-{case_id}"))
            .await
            .map_err(ApiError::unavailable)?;
        let subjects = events
            .iter()
            .filter_map(|event| event.decode::<slrt_proto::eligibility::v1::CaseDecided>().ok())
            .filter(|decided| !decided.applicant_nik.is_empty())
            .map(|decided| self.nik_tokens.token_of_text(&decided.applicant_nik))
            .collect();
        Ok((decision, subjects))
    }

    /// Every enrolment in the ledger of a household or person of the registry, with the
    /// keyed NIK tokens of the people it concerns (a household's: every member). Not found
    /// for an id the registry does not know, or whose household lives outside `scope`.
    pub async fn enrolments(
        &self,
        beneficiary_id: &str,
        scope: &Scope,
    ) -> Result<(Vec<EnrolmentView>, Vec<String>), ApiError> {
        let mut conn = self.pool.acquire().await.map_err(ApiError::unavailable)?;
        let placed: Vec<(String, String)> = sqlx::query_as(
            "SELECT nik, region_code FROM registry_people WHERE person_id = $1 OR household_id = $1 ORDER BY nik",
        )
        .bind(beneficiary_id)
        .fetch_all(&mut *conn)
        .await
        .map_err(ApiError::unavailable)?;
        if placed.is_empty() || !placed.iter().all(|(_, region)| scope.covers(region)) {
            return Err(ApiError::not_found(format!(
                "no household or person {beneficiary_id} in the registry"
            )));
        }
        let enrolments = ledger::of_beneficiary(&mut *conn, beneficiary_id)
            .await
            .map_err(ApiError::unavailable)?;
        let niks: Vec<String> = placed.into_iter().map(|(nik, _)| nik).collect();
        Ok((enrolments, self.tokens_of(&niks)))
    }

    /// The keyed tokens of `niks`, as the audit log names people.
    pub fn tokens_of(&self, niks: &[String]) -> Vec<String> {
        niks.iter().map(|nik| self.nik_tokens.token_of_text(nik)).collect()
    }

    /// The keyed NIK tokens of the registry people named, and of every member of the
    /// households named.
    pub async fn subjects(&self, people: &[String], households: &[String]) -> Result<Vec<String>, ApiError> {
        let niks = scope::niks_of(&self.pool, people, households).await?;
        Ok(self.tokens_of(&niks))
    }

    /// Writes `by`'s audit record for a change that touched the people whose NIKs are
    /// `niks`, in the change's own transaction.
    pub(crate) async fn record_change(
        &self,
        conn: &mut PgConnection,
        by: &ChangeBy,
        niks: &[String],
        detail: serde_json::Value,
    ) -> Result<(), ApiError> {
        let record = by.audit_record(&self.nik_tokens, niks, detail);
        slrt_audit::record(conn, &record)
            .await
            .map(|_| ())
            .map_err(ApiError::unavailable)
    }

    /// Writes an audit record in a transaction of its own (an attempt that changed nothing).
    pub(crate) async fn record_alone(&self, record: &AuditRecord) -> Result<(), ApiError> {
        slrt_audit::record_alone(&self.pool, record)
            .await
            .map(|_| ())
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
