//! The reports on the ledger (violations, years on benefit), each as far as the caller's
//! area reaches, and the graduation of a household from PKH / BPNT to PENA. Thin: check the
//! role, parse, call the use case, audit the read, map errors through the shared code table.

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use slrt_audit::Outcome;
use slrt_audit::access::Access;
use slrt_auth::Role;
use slrt_errors::{ApiError, ErrorBody};
use utoipa::OpenApi;

use super::resource;
use crate::access::{
    AREA_CHANGERS, BENEFIT_REPORT_READERS, VIOLATION_READERS, area_scope, audit_refusal, change_by, require_audited,
};
use crate::app::Eligibility;
use crate::app::ledger::graduation::{EndedEnrolment, Graduate, Graduated};
use crate::app::reports::{
    InvolvedEnrolment, ProgrammeTimeOnBenefit, VIOLATIONS_PAGE, ViolationView, ViolationsReport, YearsBucket,
    YearsOnBenefitReport,
};
use crate::app::scope::Scope;
use crate::domain::HouseholdId;

#[derive(OpenApi)]
#[openapi(
    paths(violations, years_on_benefit, graduate),
    components(schemas(
        ViolationsReport,
        ViolationView,
        InvolvedEnrolment,
        YearsOnBenefitReport,
        ProgrammeTimeOnBenefit,
        YearsBucket,
        GraduateRequest,
        Graduated,
        EndedEnrolment,
        ErrorBody
    ))
)]
pub struct ReportsApiDoc;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/reports/violations", web::get().to(violations))
        .route("/v1/reports/years-on-benefit", web::get().to(years_on_benefit))
        .route("/v1/households/{household_id}/graduate", web::post().to(graduate));
}

/// Which page of the violations report.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ViolationsQuery {
    /// Rows per page, 1 to 1000; default 1000.
    pub limit: Option<String>,
    /// The `next_after` of the previous page.
    pub after: Option<String>,
}

/// Every current breach of the rules in the ledger.
///
/// Overlaps the catalogue forbids (a household and its members), two recipients on one
/// family card of a one-per-KK programme, a programme held twice by one beneficiary, an
/// active enrolment of a person the registry records as deceased (or of a household with no
/// living member), and an active enrolment of a household above the programme's desil
/// cut-off. Each row names the rule, the enrolments and why. Empty in a healthy ledger.
///
/// Coordinators and supervisors see the rows of households in their area (rows naming no
/// registry household only when their area is the whole regency); auditors see every row.
#[utoipa::path(
    get,
    path = "/v1/reports/violations",
    params(ViolationsQuery),
    responses((status = 200, description = "The breaches", body = ViolationsReport, example = json!({
        "as_of": "2026-11-23", "catalogue_version": "2026.2",
        "violations": [{
            "rule": "overlap.BLT-DD.PKH", "household_id": "H-000009",
            "enrolments": [
                {"enrolment_id": "01936f1e-7d00-7000-8000-000000000004", "programme_code": "BLT-DD",
                 "beneficiary_kind": "household", "beneficiary_id": "H-000009", "status": "active",
                 "source": "registry", "started_on": "2026-01-05"},
                {"enrolment_id": "01936f1e-7d00-7000-8000-000000000005", "programme_code": "PKH",
                 "beneficiary_kind": "household", "beneficiary_id": "H-000009", "status": "active",
                 "source": "external", "started_on": "2026-02-01"}
            ],
            "why": "BLT-DD (household H-000009, registry) and PKH (household H-000009, external) may not be held together by one family."
        }],
        "next_after": null
    })),
    (status = 400, description = "`limit` or `after` is malformed, or `limit` is above 1000", body = ErrorBody),
    (status = 401, description = "No token, or one that is refused", body = ErrorBody),
    (status = 403, description = "Not a coordinator, supervisor or auditor", body = ErrorBody),
    )
)]
async fn violations(
    access: Access,
    eligibility: web::Data<Eligibility>,
    query: web::Query<ViolationsQuery>,
) -> Result<HttpResponse, ApiError> {
    let pool = &eligibility.pool;
    require_audited(
        &access,
        pool,
        VIOLATION_READERS,
        "the violations report",
        "report.violations",
        "reports/violations",
    )
    .await?;
    let limit = match query.limit.as_deref().map(str::trim) {
        None | Some("") => VIOLATIONS_PAGE,
        Some(text) => text
            .parse::<u64>()
            .ok()
            .filter(|limit| (1..=VIOLATIONS_PAGE).contains(limit))
            .ok_or_else(|| {
                let shown: String = text.chars().take(32).collect();
                ApiError::invalid(
                    "limit",
                    format!("{shown:?} is not a page size from 1 to {VIOLATIONS_PAGE}"),
                )
            })?,
    };
    let after = match query.after.as_deref().map(str::trim) {
        None | Some("") => 0,
        Some(text) => text
            .parse::<u64>()
            .map_err(|_| ApiError::invalid("after", "the next_after of a previous page"))?,
    };
    // An audit control: an auditor sees the whole regency's breaches.
    let scope = if access.principal.has(Role::Auditor) {
        Scope::Everything
    } else {
        area_scope(&access)
    };
    let (report, subjects) = eligibility.violations_report(&scope, after, limit).await?;
    access
        .audit(
            pool,
            "report.violations",
            "reports/violations",
            subjects,
            Outcome::Allowed,
            serde_json::json!({ "returned": report.violations.len(), "after": after }),
        )
        .await?;
    Ok(HttpResponse::Ok().json(report))
}

/// Current enrolments per programme by years on benefit.
///
/// For each programme: current enrolments counted by whole years on benefit, those past
/// their review date (the catalogue's `review_every_months`) and those past their maximum
/// duration (`max_duration_months`). Counts the enrolments of households in your area (and,
/// for an area that is the whole regency, of beneficiaries the registry does not know).
/// Counts name nobody, so reading them is not audited.
#[utoipa::path(
    get,
    path = "/v1/reports/years-on-benefit",
    responses(
        (status = 200, description = "The report", body = YearsOnBenefitReport, example = json!({
            "as_of": "2026-11-23", "catalogue_version": "2026.2",
            "programmes": [{
                "programme_code": "PKH", "current": 3, "by_years": [{"years": 0, "enrolments": 2}, {"years": 6, "enrolments": 1}],
                "review_every_months": 12, "past_review": 1, "max_duration_months": 60, "past_max_duration": 1
            }]
        })),
        (status = 401, description = "No token, or one that is refused", body = ErrorBody),
        (status = 403, description = "Not a coordinator or supervisor", body = ErrorBody),
    )
)]
async fn years_on_benefit(access: Access, eligibility: web::Data<Eligibility>) -> Result<HttpResponse, ApiError> {
    access.require(BENEFIT_REPORT_READERS, "the years-on-benefit report")?;
    Ok(HttpResponse::Ok().json(eligibility.years_on_benefit_report(&area_scope(&access)).await?))
}

/// Why a household graduates; who graduates it is the caller the token names.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct GraduateRequest {
    #[schema(example = "income above the minimum wage for six months; business plan approved")]
    pub reason: Option<String>,
}

/// Graduates a household: ends its PKH / BPNT and starts PENA.
///
/// In one transaction: the household's enrolments in the programmes PENA excludes (PKH and
/// BPNT) end with reason `graduated`, then PENA starts. Refused (422, naming the reason)
/// when the household holds neither, one of them is on hold or was reported by another
/// agency, or PENA was received before. Back office or a coordinator of the household's
/// area graduates it.
#[utoipa::path(
    post,
    path = "/v1/households/{household_id}/graduate",
    params(("household_id" = String, Path, description = "The registry household id, e.g. H-000001")),
    request_body = GraduateRequest,
    responses(
        (status = 201, description = "Graduated", body = Graduated),
        (status = 400, description = "A field is missing or malformed", body = ErrorBody, example = json!({
            "error": {"code": "invalid_input", "message": "why the household graduates is required", "field": "reason"}
        })),
        (status = 401, description = "No token, or one that is refused", body = ErrorBody),
        (status = 403, description = "Not back office or a coordinator", body = ErrorBody),
        (status = 404, description = "The household is not in the registry, or lives outside your area", body = ErrorBody),
        (status = 422, description = "The household cannot graduate now", body = ErrorBody, example = json!({
            "error": {"code": "rejected", "message": "household H-000003 holds none of PKH or BPNT, so there is nothing to graduate from", "field": "household_id"}
        })),
    )
)]
async fn graduate(
    access: Access,
    eligibility: web::Data<Eligibility>,
    household_id: web::Path<String>,
    body: slrt_errors::Json<GraduateRequest>,
) -> Result<HttpResponse, ApiError> {
    let pool = &eligibility.pool;
    let asked = resource("household", &household_id);
    require_audited(
        &access,
        pool,
        AREA_CHANGERS,
        "graduating a household",
        "household.graduate",
        &asked,
    )
    .await?;
    let household =
        HouseholdId::parse(&household_id).map_err(|error| ApiError::invalid("household_id", error.to_string()))?;
    let text = |field: &str, value: &Option<String>, what: &str| -> Result<String, ApiError> {
        let value = value.as_deref().map(str::trim).unwrap_or_default();
        if value.is_empty() {
            return Err(ApiError::invalid(field, format!("{what} is required")));
        }
        if value.chars().count() > 500 {
            return Err(ApiError::invalid(field, "at most 500 characters"));
        }
        Ok(value.to_owned())
    };
    let request = Graduate {
        household,
        reason: text("reason", &body.reason, "why the household graduates")?,
    };
    let by = change_by(&access, "household.graduate", &asked, area_scope(&access));
    match eligibility.graduate(&request, &by).await {
        Ok(graduated) => Ok(HttpResponse::Created().json(graduated)),
        Err(error) => Err(audit_refusal(&access, pool, "household.graduate", asked, error).await),
    }
}
