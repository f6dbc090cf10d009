//! Eligibility's HTTP API for the back office and supervisors: decisions with their reasons,
//! the catalogue in force, and the enrolment ledger. Every route takes the caller's token
//! ([`Access`]); who may use which, and within which area, is in [`crate::access`]. Handlers
//! are thin: check the role, parse, call the use case, audit the read, map errors through
//! the shared code table.

pub mod evidence;
pub mod reports;

use actix_web::{HttpResponse, web};
use serde::Serialize;
use slrt_audit::Outcome;
use slrt_audit::access::Access;
use slrt_auth::Principal;
use slrt_errors::{ApiError, ErrorBody};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use uuid::Uuid;

use crate::access::{AREA_READERS, area_scope, audit_refusal, require_audited};

use crate::app::catalogue::{
    CashView, CatalogueVersionView, CatalogueView, ComponentView, GeneralRule, OverlapRule, ProgrammeView,
};
use crate::app::ledger::EnrolmentView;
use crate::app::{Eligibility, parse_beneficiary_id};
use crate::projections::{
    BeneficiaryView, BenefitView, ConsideredEnrolmentView, DecidedApplicant, DecisionView, InputsView, NeedOutcome,
    ProgrammeRef, ReasonView,
};

/// Every route but the operators' (`/healthz`, `/readyz`, `/metrics`, the docs) takes a
/// bearer token.
struct BearerToken;

impl Modify for BearerToken {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "A token of the regency's identity provider: `sub`, `roles`, and `region` (area roles) or \
                         `opd` (an evidence feed, role data_feed)",
                    ))
                    .build(),
            ),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "SLRT eligibility",
        description = "Decides every need of a case against the versioned programme catalogue, with the rules \
                       that fired, and keeps the enrolment ledger across all programmes and agencies. Every route \
                       needs a bearer token; people's records are shown within the caller's area (a record outside \
                       it is 404, as one that does not exist), and every read and change of them is audited (the \
                       auditors' routes are /v1/audit*; temporary access to another area is granted at \
                       /v1/access-grants)."
    ),
    modifiers(&BearerToken),
    security(("bearer" = [])),
    paths(get_decision, get_catalogue, list_catalogue_versions, list_enrolments),
    components(schemas(
        DecisionView,
        InputsView,
        ConsideredEnrolmentView,
        DecidedApplicant,
        NeedOutcome,
        ProgrammeRef,
        BenefitView,
        BeneficiaryView,
        ReasonView,
        CatalogueView,
        CatalogueVersionList,
        CatalogueVersionView,
        ProgrammeView,
        CashView,
        ComponentView,
        OverlapRule,
        GeneralRule,
        EnrolmentList,
        EnrolmentView,
        ErrorBody
    ))
)]
pub struct ApiDoc;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/decisions/{case_id}", web::get().to(get_decision))
        .route("/v1/catalogue", web::get().to(get_catalogue))
        .route("/v1/catalogue/versions", web::get().to(list_catalogue_versions))
        .route(
            "/v1/beneficiaries/{beneficiary_id}/enrolments",
            web::get().to(list_enrolments),
        );
}

/// The decision of a case.
///
/// Every need with its outcome, the programme and benefit granted, and every rule that
/// fired (approving or rejecting) with its id, under the catalogue version named. A case is
/// decided shortly after it is opened; until then the answer is 404.
#[utoipa::path(
    get,
    path = "/v1/decisions/{case_id}",
    params(("case_id" = String, Path, description = "The case id (UUID)")),
    responses(
        (status = 200, description = "The decision", body = DecisionView, example = json!({
            "case_id": "01936f1e-7c1a-7b3e-9d5a-3f2b8c4d5e6f", "case_number": "SLRT-3375-2026-000042",
            "catalogue_version": "2026.1", "decided_at": "2026-03-02T03:04:05Z", "decided_on": "2026-03-02",
            "event_id": "01936f1e-7d00-7000-8000-000000000001",
            "applicant": {
                "in_registry": true, "person_id": "P-000009", "household_id": "H-000003", "registry_name": "Darto",
                "declared_name": "Darto", "nik_masked": "3375********0001", "region_code": "33.75.02.1004"
            },
            "needs": [{
                "need_id": "01936f1e-7c1a-7b3e-9d5a-3f2b8c4d5e70", "category": "cash_assistance", "outcome": "approved",
                "programme": {"code": "PKH", "name": "Program Keluarga Harapan (conditional cash transfer)", "opd": "DINSOS"},
                "benefit": {"kind": "cash", "amount_per_period_idr": 750000, "cadence": "quarterly", "component": "child_0_6"},
                "beneficiary": {"kind": "household", "id": "H-000003"},
                "reasons": [{"rule": "PKH.desil", "message": "The household is in desil 3, within PKH's cut-off of desil 4."}]
            }],
            "enrolments_started": [{
                "enrolment_id": "01936f1e-7d00-7000-8000-000000000002", "programme_code": "PKH",
                "beneficiary_kind": "household", "beneficiary_id": "H-000003", "status": "active", "source": "decision",
                "case_id": "01936f1e-7c1a-7b3e-9d5a-3f2b8c4d5e6f", "need_id": "01936f1e-7c1a-7b3e-9d5a-3f2b8c4d5e70",
                "started_on": "2026-03-02", "ended_on": null
            }]
        })),
        (status = 400, description = "The case id is not a UUID", body = ErrorBody, example = json!({
            "error": {"code": "invalid_input", "message": "a case id is a UUID", "field": "case_id"}
        })),
        (status = 401, description = "No token, or one that is refused", body = ErrorBody),
        (status = 403, description = "Not back office, a coordinator or a supervisor", body = ErrorBody),
        (status = 404, description = "The case is not decided (yet), or the applicant lives outside your area", body = ErrorBody),
    )
)]
async fn get_decision(
    access: Access,
    eligibility: web::Data<Eligibility>,
    case_id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let pool = &eligibility.pool;
    let asked = resource("decision", &case_id);
    require_audited(
        &access,
        pool,
        AREA_READERS,
        "reading a decision",
        "decision.read",
        &asked,
    )
    .await?;
    let case_id = Uuid::parse_str(&case_id).map_err(|_| ApiError::invalid("case_id", "a case id is a UUID"))?;
    match eligibility.decision(case_id, &area_scope(&access)).await {
        Ok((decision, subjects)) => {
            access
                .audit(
                    pool,
                    "decision.read",
                    asked,
                    subjects,
                    Outcome::Allowed,
                    serde_json::json!({}),
                )
                .await?;
            Ok(HttpResponse::Ok().json(decision))
        }
        Err(error) => Err(audit_refusal(&access, pool, "decision.read", asked, error).await),
    }
}

/// The audit log's name for a record asked for by id: the kind and the id as sent, cut short
/// (a path segment is the caller's text).
pub(crate) fn resource(kind: &str, id: &str) -> String {
    format!("{kind}/{}", id.chars().take(64).collect::<String>())
}

/// Which day's catalogue to show.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CatalogueQuery {
    /// A day (YYYY-MM-DD); the version in force on it is shown. Default: today in Indonesia.
    #[param(example = "2026-03-02")]
    pub on: Option<String>,
}

/// The programme catalogue in force today, or on the day given.
///
/// Version, effective date (and the day a later version replaces it), the programmes each
/// need can be met by, and every programme with its benefit, targeting (registry
/// membership, desil cut-off, ages), overlap rules, limits (maximum duration, review period,
/// one recipient per family card) and cash terms. The rule ids here are the ones decisions
/// cite.
#[utoipa::path(
    get,
    path = "/v1/catalogue",
    params(CatalogueQuery),
    responses(
        (status = 200, description = "The catalogue", body = CatalogueView, example = json!({
            "version": "2026.1", "effective_from": "2026-01-01", "superseded_on": "2026-07-01",
            "serves": {"cash_assistance": ["PKH", "BLT-DD", "PENA"], "civil_documents": ["ADMINDUK"]},
            "programmes": [{
                "code": "BLT-DD", "name": "Bantuan Langsung Tunai Dana Desa (village cash transfer)", "opd": "PEMDES",
                "benefit": "cash", "beneficiary": "household", "requires_registry": true, "max_desil": 4,
                "min_age": null, "max_age": null, "keeps_enrolment": true, "excludes": ["PKH", "BPNT"],
                "max_duration_months": 12, "review_every_months": 12, "one_recipient_per_kk": false,
                "cash": {"cadence": "monthly", "components": [
                    {"id": "base", "amount_per_period_idr": 300000, "min_age": null, "max_age": null, "default": true}
                ]}
            }],
            "overlap_rules": [{"rule": "overlap.BLT-DD.PKH", "programmes": ["BLT-DD", "PKH"]}],
            "general_rules": [{"rule": "exclusion.deceased", "description": "A person the registry records as deceased is granted nothing."}]
        })),
        (status = 400, description = "`on` is not a date", body = ErrorBody, example = json!({
            "error": {"code": "invalid_input", "message": "\"2026-13-01\" is not a date in the form YYYY-MM-DD", "field": "on"}
        })),
        (status = 401, description = "No token, or one that is refused", body = ErrorBody),
    )
)]
async fn get_catalogue(
    // Policy, not personal data: any authenticated caller reads it.
    _caller: Principal,
    eligibility: web::Data<Eligibility>,
    query: web::Query<CatalogueQuery>,
) -> Result<HttpResponse, ApiError> {
    let day = match &query.on {
        None => slrt_identity::today_in_indonesia(),
        Some(text) => chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .map_err(|_| ApiError::invalid("on", format!("{text:?} is not a date in the form YYYY-MM-DD")))?,
    };
    Ok(HttpResponse::Ok().json(eligibility.catalogue_view(day)))
}

/// Every catalogue version loaded.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CatalogueVersionList {
    /// Oldest first.
    pub versions: Vec<CatalogueVersionView>,
}

/// The catalogue versions, each with the days it is in force.
///
/// A decision uses the version in force on the day its case was opened and names it; this
/// list says which days each version governs.
#[utoipa::path(
    get,
    path = "/v1/catalogue/versions",
    responses(
        (status = 200, description = "The versions", body = CatalogueVersionList, example = json!({
            "versions": [
                {"version": "2026.1", "effective_from": "2026-01-01", "superseded_on": "2026-07-01", "in_force_today": false, "programmes": 10},
                {"version": "2026.2", "effective_from": "2026-07-01", "superseded_on": null, "in_force_today": true, "programmes": 11}
            ]
        })),
        (status = 401, description = "No token, or one that is refused", body = ErrorBody),
    )
)]
async fn list_catalogue_versions(_caller: Principal, eligibility: web::Data<Eligibility>) -> HttpResponse {
    HttpResponse::Ok().json(CatalogueVersionList {
        versions: eligibility.catalogue_versions(),
    })
}

/// A household's or person's enrolments.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EnrolmentList {
    #[schema(example = "H-000001")]
    pub beneficiary_id: String,
    /// Current enrolments (active, held) first, then ended ones; newest first within each.
    pub enrolments: Vec<EnrolmentView>,
}

/// The enrolment ledger of a household or person.
///
/// Every enrolment the ledger holds for the id, from the registry file or started by a case
/// decision, with its status. A registry id with no enrolments gets an empty list; an id the
/// registry does not know, or of a household outside your area, is 404. The list is not
/// paginated: a beneficiary holds at most one current enrolment per catalogue programme.
#[utoipa::path(
    get,
    path = "/v1/beneficiaries/{beneficiary_id}/enrolments",
    params(("beneficiary_id" = String, Path, description = "A household id (H-000001) or person id (P-000001)")),
    responses(
        (status = 200, description = "The enrolments", body = EnrolmentList, example = json!({
            "beneficiary_id": "H-000001",
            "enrolments": [{
                "enrolment_id": "01936f1e-7d00-7000-8000-000000000003", "programme_code": "PKH",
                "beneficiary_kind": "household", "beneficiary_id": "H-000001", "status": "active", "source": "registry",
                "case_id": null, "need_id": null, "started_on": "2026-01-05", "ended_on": null
            }]
        })),
        (status = 400, description = "The id is empty, too long or has spaces", body = ErrorBody),
        (status = 401, description = "No token, or one that is refused", body = ErrorBody),
        (status = 403, description = "Not back office, a coordinator or a supervisor", body = ErrorBody),
        (status = 404, description = "Not a registry id, or one of a household outside your area", body = ErrorBody),
    )
)]
async fn list_enrolments(
    access: Access,
    eligibility: web::Data<Eligibility>,
    beneficiary_id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let pool = &eligibility.pool;
    let asked = resource("beneficiary", &beneficiary_id);
    require_audited(
        &access,
        pool,
        AREA_READERS,
        "reading enrolments",
        "enrolment.list",
        &asked,
    )
    .await?;
    let beneficiary_id = parse_beneficiary_id(&beneficiary_id)?;
    match eligibility.enrolments(&beneficiary_id, &area_scope(&access)).await {
        Ok((enrolments, subjects)) => {
            access
                .audit(
                    pool,
                    "enrolment.list",
                    asked,
                    subjects,
                    Outcome::Allowed,
                    serde_json::json!({ "returned": enrolments.len() }),
                )
                .await?;
            Ok(HttpResponse::Ok().json(EnrolmentList {
                beneficiary_id,
                enrolments,
            }))
        }
        Err(error) => Err(audit_refusal(&access, pool, "enrolment.list", asked, error).await),
    }
}
