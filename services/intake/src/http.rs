//! The desk's and supervisors' HTTP API. Handlers are thin: parse, call the use case, map
//! errors through the shared code table.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use slrt_errors::{ApiError, ErrorBody};
use utoipa::OpenApi;

use crate::app::Intake;
use crate::app::idempotency::{IdempotencyKey, request_hash};
use crate::app::tracker::{self, ApplicantView, CaseView, NeedView, TimelineEntry};
use crate::domain::OpenCase;
use crate::domain::case::OpenCaseInput;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "SLRT intake",
        description = "The front desk of the integrated social service and referral system: open cases for \
                       applicants, and follow each case across eligibility, referral and disbursement."
    ),
    paths(open_case, get_case),
    components(schemas(
        OpenCaseRequest,
        ApplicantRequest,
        NeedRequest,
        CaseView,
        ApplicantView,
        NeedView,
        TimelineEntry,
        ErrorBody
    ))
)]
pub struct ApiDoc;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/cases", web::post().to(open_case))
        .route("/v1/cases/{case_ref}", web::get().to(get_case));
}

/// A desk registration.
#[derive(Debug, Deserialize, serde::Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "applicant": {
        "nik": "3375014506850003", "full_name": "Siti Aminah", "birth_date": "1985-06-05", "sex": "F",
        "region_code": "33.75.01.1002", "kk_number": "3375011203150004"
    },
    "needs": [{"category": "cash_assistance", "description": "lost her job in October"}],
    "desk_region_code": "33.75.01.1002",
    "opened_by": "fo-pekalongan-barat-1"
}))]
pub struct OpenCaseRequest {
    pub applicant: ApplicantRequest,
    pub needs: Vec<NeedRequest>,
    /// Kemendagri code of the desk (Puskesos village code, or the SLRT's regency code).
    pub desk_region_code: String,
    /// The operator registering the case.
    pub opened_by: String,
}

#[derive(Debug, Deserialize, serde::Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApplicantRequest {
    /// 16-digit NIK.
    pub nik: String,
    pub full_name: String,
    /// YYYY-MM-DD.
    pub birth_date: String,
    /// M or F (L or P accepted).
    pub sex: String,
    /// Kemendagri village code of the current address, e.g. 33.75.01.1002.
    pub region_code: String,
    /// 16-digit family card number.
    pub kk_number: String,
}

#[derive(Debug, Deserialize, serde::Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NeedRequest {
    /// health_insurance, cash_assistance, food_assistance, school_aid, civil_documents,
    /// housing_repair, job_training, elderly_care.
    pub category: String,
    #[serde(default)]
    pub description: String,
}

/// Open a case.
///
/// Validates the applicant's NIK, KK and address against the Kemendagri region table, asks
/// eligibility what it knows about the applicant (the desk pre-screen), and records the case.
/// Send an `Idempotency-Key` header to make retries safe: the same key and body return the
/// same case; the same key with another body is refused (422); a retry while the first
/// request is in flight gets 409.
#[utoipa::path(
    post,
    path = "/v1/cases",
    request_body = OpenCaseRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes the request safe to retry")),
    responses(
        (status = 201, description = "The case is opened", example = json!({
            "case_id": "01936f1e-7c1a-7b3e-9d5a-3f2b8c4d5e6f", "case_number": "SLRT-3375-2026-000042",
            "status": "open", "needs": [{"need_id": "01936f1e-7c1a-7b3e-9d5a-3f2b8c4d5e70", "category": "cash_assistance"}],
            "warnings": [], "screening": {"performed": true, "known_person": true, "deceased": false, "active_programmes": []}
        })),
        (status = 400, description = "Malformed input; the error names the field", body = ErrorBody, example = json!({
            "error": {"code": "invalid_input", "message": "NIK must have 16 digits, found 15", "field": "applicant.nik"}
        })),
        (status = 409, description = "A request with this Idempotency-Key is in flight", body = ErrorBody),
        (status = 422, description = "The Idempotency-Key was used with another body", body = ErrorBody),
    )
)]
async fn open_case(
    intake: web::Data<Intake>,
    request: HttpRequest,
    body: web::Json<OpenCaseRequest>,
) -> Result<HttpResponse, ApiError> {
    let idempotency = match request.headers().get("Idempotency-Key") {
        None => None,
        Some(value) => {
            let text = value
                .to_str()
                .map_err(|_| ApiError::invalid("Idempotency-Key", "must be visible ASCII"))?;
            let key = IdempotencyKey::parse(text).map_err(|reason| ApiError::invalid("Idempotency-Key", reason))?;
            let canonical = serde_json::to_value(&*body).map_err(ApiError::internal)?;
            Some((key, request_hash(&canonical)))
        }
    };
    let body = body.into_inner();
    let input = OpenCaseInput {
        nik: body.applicant.nik,
        full_name: body.applicant.full_name,
        birth_date: body.applicant.birth_date,
        sex: body.applicant.sex,
        region_code: body.applicant.region_code,
        kk_number: body.applicant.kk_number,
        needs: body
            .needs
            .into_iter()
            .map(|need| (need.category, need.description))
            .collect(),
        desk_region_code: body.desk_region_code,
        opened_by: body.opened_by,
    };
    let command = OpenCase::parse(input, slrt_identity::today_in_indonesia())
        .map_err(|error| ApiError::invalid(error.field, error.message))?;
    let created = intake.open_case(command, idempotency).await?;
    let status = actix_web::http::StatusCode::from_u16(created.status).map_err(ApiError::internal)?;
    let location = created
        .body
        .get("case_id")
        .and_then(|id| id.as_str())
        .map(|id| format!("/v1/cases/{id}"));
    let mut response = HttpResponse::build(status);
    if let Some(location) = location {
        response.insert_header(("Location", location));
    }
    Ok(response.json(created.body))
}

/// A case with its needs and full cross-service timeline.
#[utoipa::path(
    get,
    path = "/v1/cases/{case_ref}",
    params(("case_ref" = String, Path, description = "Case id (UUID) or case number (SLRT-3375-2026-000042)")),
    responses(
        (status = 200, description = "The case", body = CaseView),
        (status = 404, description = "No such case", body = ErrorBody),
    )
)]
async fn get_case(intake: web::Data<Intake>, case_ref: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let reference = case_ref.into_inner();
    if reference.len() > 64 {
        return Err(ApiError::invalid(
            "case_ref",
            "a case id or case number is at most 64 characters",
        ));
    }
    match tracker::find_case(&intake.pool, &reference)
        .await
        .map_err(ApiError::unavailable)?
    {
        Some(case) => Ok(HttpResponse::Ok().json(case)),
        None => Err(ApiError::not_found(format!("no case {reference}"))),
    }
}
