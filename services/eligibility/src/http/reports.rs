//! The back office's reports on the whole ledger (violations, years on benefit) and the
//! graduation of a household from PKH / BPNT to PENA. Thin: parse, call the use case, map
//! errors through the shared code table.

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use slrt_errors::{ApiError, ErrorBody};
use utoipa::OpenApi;

use crate::app::Eligibility;
use crate::app::ledger::graduation::{EndedEnrolment, Graduate, Graduated};
use crate::app::reports::{
    InvolvedEnrolment, ProgrammeTimeOnBenefit, ViolationView, ViolationsReport, YearsBucket, YearsOnBenefitReport,
};
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

/// Every current breach of the rules in the ledger.
///
/// Overlaps the catalogue forbids (a household and its members), two recipients on one
/// family card of a one-per-KK programme, a programme held twice by one beneficiary, an
/// active enrolment of a person the registry records as deceased (or of a household with no
/// living member), and an active enrolment of a household above the programme's desil
/// cut-off. Each row names the rule, the enrolments and why. Empty in a healthy ledger.
#[utoipa::path(
    get,
    path = "/v1/reports/violations",
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
        }]
    })))
)]
async fn violations(eligibility: web::Data<Eligibility>) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(eligibility.violations_report().await?))
}

/// Current enrolments per programme by years on benefit.
///
/// For each programme: current enrolments counted by whole years on benefit, those past
/// their review date (the catalogue's `review_every_months`) and those past their maximum
/// duration (`max_duration_months`).
#[utoipa::path(
    get,
    path = "/v1/reports/years-on-benefit",
    responses((status = 200, description = "The report", body = YearsOnBenefitReport, example = json!({
        "as_of": "2026-11-23", "catalogue_version": "2026.2",
        "programmes": [{
            "programme_code": "PKH", "current": 3, "by_years": [{"years": 0, "enrolments": 2}, {"years": 6, "enrolments": 1}],
            "review_every_months": 12, "past_review": 1, "max_duration_months": 60, "past_max_duration": 1
        }]
    })))
)]
async fn years_on_benefit(eligibility: web::Data<Eligibility>) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(eligibility.years_on_benefit_report().await?))
}

/// Why and by whom a household graduates.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct GraduateRequest {
    #[schema(example = "income above the minimum wage for six months; business plan approved")]
    pub reason: Option<String>,
    #[schema(example = "manajer.slrt.1")]
    pub actor: Option<String>,
}

/// Graduates a household: ends its PKH / BPNT and starts PENA.
///
/// In one transaction: the household's enrolments in the programmes PENA excludes (PKH and
/// BPNT) end with reason `graduated`, then PENA starts. Refused (422, naming the reason)
/// when the household holds neither, one of them is on hold or was reported by another
/// agency, or PENA was received before.
#[utoipa::path(
    post,
    path = "/v1/households/{household_id}/graduate",
    params(("household_id" = String, Path, description = "The registry household id, e.g. H-000001")),
    request_body = GraduateRequest,
    responses(
        (status = 201, description = "Graduated", body = Graduated),
        (status = 400, description = "A field is missing or malformed", body = ErrorBody, example = json!({
            "error": {"code": "invalid_input", "message": "who graduates the household is required", "field": "actor"}
        })),
        (status = 404, description = "The household is not in the registry", body = ErrorBody),
        (status = 422, description = "The household cannot graduate now", body = ErrorBody, example = json!({
            "error": {"code": "rejected", "message": "household H-000003 holds none of PKH or BPNT, so there is nothing to graduate from", "field": "household_id"}
        })),
    )
)]
async fn graduate(
    eligibility: web::Data<Eligibility>,
    household_id: web::Path<String>,
    body: web::Json<GraduateRequest>,
) -> Result<HttpResponse, ApiError> {
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
        actor: text("actor", &body.actor, "who graduates the household")?,
    };
    Ok(HttpResponse::Created().json(eligibility.graduate(&request).await?))
}
