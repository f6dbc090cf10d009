//! The desk's and supervisors' HTTP API. Handlers are thin: check who asks (`access`),
//! parse, call the use case, audit the read, map errors through the shared code table.
//! Every `/v1` route needs a bearer token; the operational routes do not.

pub mod people;

use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use slrt_audit::Outcome;
use slrt_audit::access::Access;
use slrt_errors::{ApiError, ErrorBody};
use utoipa::OpenApi;

use crate::access::{AREA_READERS, DESK, EXPORTERS};
use crate::app::Intake;
use crate::app::case_list::{self, CaseCounts, CaseFilter, CaseSummary, Cursor, RawCaseFilter};
use crate::app::idempotency;
use crate::app::tracker::{self, ApplicantView, CaseView, ComplaintView, DeskAction, NeedView, TimelineEntry};
use crate::domain::OpenCase;
use crate::domain::case::OpenCaseInput;
use crate::domain::complaint::{ComplaintInput, ReportedInput};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "SLRT intake",
        description = "The front desk of the integrated social service and referral system: open cases for \
                       applicants, and follow each case across eligibility, referral and disbursement."
    ),
    paths(
        open_case,
        list_cases,
        case_counts,
        export_cases,
        get_case,
        withdraw_case,
        close_case,
        answer_complaint
    ),
    components(schemas(
        ComplaintRequest,
        ReportedRequest,
        ComplaintView,
        WithdrawRequest,
        CloseRequest,
        AnswerRequest,
        DeskStepAnswer,
        CasePage,
        CaseSummary,
        CaseCounts,
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

/// Intake's OpenAPI document: its own API, and the operational endpoints every service
/// serves from the shared runtime (documented here so that the document lists everything a
/// client can call on intake's port).
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut document = ApiDoc::openapi();
    let operational = serde_json::json!({
        "/healthz": {"get": {
            "tags": ["operations"], "summary": "Liveness: the process answers.",
            "operationId": "healthz",
            "responses": {"200": {"description": "Alive", "content": {"application/json": {
                "example": {"status": "alive"}}}}}
        }},
        "/readyz": {"get": {
            "tags": ["operations"], "summary": "Readiness: the database and the broker are reachable.",
            "operationId": "readyz",
            "responses": {
                "200": {"description": "Ready", "content": {"application/json": {"example": {
                    "service": "intake", "database": {"ready": true}, "broker": {"ready": true}}}}},
                "503": {"description": "Not ready; the reason is given", "content": {"application/json": {"example": {
                    "service": "intake", "database": {"ready": true},
                    "broker": {"ready": false, "reason": "no answer within 2 s"}}}}}
            }
        }},
        "/metrics": {"get": {
            "tags": ["operations"], "summary": "Prometheus metrics (HTTP latency, consumer lag, outbox age).",
            "operationId": "metrics",
            "responses": {"200": {"description": "Prometheus text format", "content": {"text/plain": {
                "example": "slrt_http_request_duration_seconds_count{method=\"GET\",route=\"/v1/cases\",status=\"200\"} 42\n"}}}}
        }},
        "/openapi.json": {"get": {
            "tags": ["operations"], "summary": "This document. The interactive docs page is at /docs/.",
            "operationId": "openapi",
            "responses": {"200": {"description": "OpenAPI 3.1 document", "content": {"application/json": {}}}}
        }}
    });
    let extra: Result<utoipa::openapi::path::Paths, _> = serde_json::from_value(serde_json::json!({
        "paths": operational
    }))
    .and_then(|wrapped: serde_json::Value| serde_json::from_value(wrapped["paths"].clone()));
    match extra {
        Ok(paths) => document.paths.paths.extend(paths.paths),
        // The literal above is fixed; a failure is a bug found by the test of the document.
        Err(error) => tracing::error!(error = %error, "operational paths left out of the OpenAPI document"),
    }
    document
}

/// The document with the bearer scheme every `/v1` route requires, and the answers every
/// such route may give for it: 401 (no valid token), 403 (a role that may not), and, for a
/// route naming a record, 404 (none, or none in the caller's area). Also lists the audit
/// and temporary-access routes `slrt_audit::http` serves on this port.
pub fn with_security(document: utoipa::openapi::OpenApi) -> utoipa::openapi::OpenApi {
    let Ok(mut value) = serde_json::to_value(&document) else {
        return document;
    };
    secure(&mut value);
    match serde_json::from_value(value) {
        Ok(secured) => secured,
        // Built from the document itself; a failure is a bug found by the test of the document.
        Err(error) => {
            tracing::error!(error = %error, "the security scheme left out of the OpenAPI document");
            document
        }
    }
}

fn secure(document: &mut serde_json::Value) {
    let error = |description: &str| {
        serde_json::json!({
            "description": description,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}
        })
    };
    let audit_paths = slrt_audit::openapi::paths();
    if let (Some(paths), Some(extra)) = (document["paths"].as_object_mut(), audit_paths.as_object()) {
        for (path, item) in extra {
            paths.entry(path.clone()).or_insert_with(|| item.clone());
        }
    }
    if let Some(paths) = document["paths"].as_object_mut() {
        for (path, item) in paths.iter_mut() {
            if !path.starts_with("/v1/") {
                continue;
            }
            let names_a_record = path.contains('{');
            let Some(operations) = item.as_object_mut() else {
                continue;
            };
            for operation in operations.values_mut() {
                let Some(operation) = operation.as_object_mut() else {
                    continue;
                };
                operation.insert("security".to_string(), serde_json::json!([{"bearer": []}]));
                // Anything a caller sends (a path, a query, a body) may be refused, naming
                // the field and the reason.
                let takes_input = operation.contains_key("requestBody")
                    || operation
                        .get("parameters")
                        .and_then(|parameters| parameters.as_array())
                        .is_some_and(|parameters| !parameters.is_empty());
                let responses = operation.entry("responses").or_insert_with(|| serde_json::json!({}));
                if let Some(responses) = responses.as_object_mut() {
                    responses
                        .entry("401")
                        .or_insert_with(|| error("No bearer token, or the token was refused (the message says why)"));
                    responses.entry("403").or_insert_with(|| {
                        error("The caller's roles do not allow this (the message names those that do)")
                    });
                    if takes_input {
                        responses
                            .entry("400")
                            .or_insert_with(|| error("Malformed input; the message names the field and the reason"));
                    }
                    if names_a_record {
                        responses
                            .entry("404")
                            .or_insert_with(|| error("No such record, or none in the caller's area"));
                    }
                }
            }
        }
    }
    let components = document
        .as_object_mut()
        .map(|root| root.entry("components").or_insert_with(|| serde_json::json!({})));
    if let Some(components) = components.and_then(|components| components.as_object_mut()) {
        let schemes = components
            .entry("securitySchemes")
            .or_insert_with(|| serde_json::json!({}));
        if let Some(schemes) = schemes.as_object_mut() {
            schemes.insert(
                "bearer".to_string(),
                serde_json::json!({
                    "type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                    "description": "A token of the regency's identity provider (roles, and the region or agency the caller works for). Send x-slrt-purpose to say why you read; it is recorded in the audit log."
                }),
            );
        }
    }
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.configure(people::configure);
    // The fixed paths go before `{case_ref}`, which would otherwise take them; no case id
    // (a UUID) or case number (SLRT-…) is ever spelled like them.
    cfg.route("/v1/cases", web::post().to(open_case))
        .route("/v1/cases", web::get().to(list_cases))
        .route("/v1/cases/counts", web::get().to(case_counts))
        .route("/v1/cases/export.csv", web::get().to(export_cases))
        .route("/v1/cases/{case_ref}", web::get().to(get_case))
        .route("/v1/cases/{case_ref}/withdraw", web::post().to(withdraw_case))
        .route("/v1/cases/{case_ref}/close", web::post().to(close_case))
        .route("/v1/cases/{case_ref}/answer", web::post().to(answer_complaint));
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
    "desk_region_code": "33.75.01.1002"
}))]
pub struct OpenCaseRequest {
    /// `application` (the default) or `complaint`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "application")]
    pub kind: Option<String>,
    /// The applicant; for a complaint, the complainant.
    pub applicant: ApplicantRequest,
    /// Required (at least one) for an application; none for a complaint, except an
    /// exclusion-error grievance, which may ask for needs to be assessed.
    #[serde(default)]
    pub needs: Vec<NeedRequest>,
    /// Required when `kind` is `complaint`, refused otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub complaint: Option<ComplaintRequest>,
    /// Kemendagri code of the desk (Puskesos village code, or the SLRT's regency code); it
    /// must lie in the caller's area (403 naming `desk_region_code` otherwise).
    pub desk_region_code: String,
    /// Ignored: the operator recorded is the caller the token names. Still accepted so that
    /// clients written before tokens keep working; leave it out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(deprecated)]
    pub opened_by: Option<String>,
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

/// What a complaint is about.
#[derive(Debug, Deserialize, serde::Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "complaint_type": "grievance", "grievance_type": "inclusion_error",
    "statement": "My neighbour owns two cars and still receives PKH.",
    "reported": {"nik": "3375021501780001", "full_name": "Darto", "region_code": "33.75.02.1004",
                 "programme_code": "PKH", "ground": "vehicle"}
}))]
pub struct ComplaintRequest {
    /// question, suggestion, grievance.
    pub complaint_type: String,
    /// For a grievance (required then, refused otherwise): exclusion_error (I am eligible and
    /// receive nothing), inclusion_error (this person should not receive aid), service, other.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grievance_type: Option<String>,
    /// The complainant's words, up to 4000 characters.
    pub statement: String,
    /// The person an inclusion-error report names: required for inclusion_error, refused
    /// otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reported: Option<ReportedRequest>,
}

/// The person an inclusion-error report names: the NIK and/or the KK, validated as the
/// applicant's are.
#[derive(Debug, Deserialize, serde::Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportedRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nik: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kk_number: Option<String>,
    pub full_name: String,
    /// Kemendagri village code, e.g. 33.75.02.1004.
    pub region_code: String,
    /// The programme the reporter says the person receives, e.g. PKH; optional.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub programme_code: Option<String>,
    /// deceased, vehicle, payroll, wealth, other.
    pub ground: String,
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

/// Open a case: an application or a complaint.
///
/// Validates the applicant's NIK, KK and address against the Kemendagri region table, asks
/// eligibility what it knows about the applicant (the desk pre-screen), and records the case.
/// A complaint (`kind: complaint`) carries `complaint`: a question, a suggestion or a
/// grievance; an inclusion-error grievance names the reported person (NIK and/or KK, name,
/// village, ground), whom eligibility then verifies; an exclusion-error grievance may ask for
/// needs to be assessed; other complaints have no needs.
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
            "kind": "application", "status": "open", "needs": [{"need_id": "01936f1e-7c1a-7b3e-9d5a-3f2b8c4d5e70", "category": "cash_assistance"}],
            "warnings": [], "screening": {"performed": true, "known_person": true, "deceased": false, "active_programmes": []}
        })),
        (status = 400, description = "Malformed input; the error names the field", body = ErrorBody, example = json!({
            "error": {"code": "invalid_input", "message": "NIK must have 16 digits, found 15", "field": "applicant.nik"}
        })),
        (status = 403, description = "Not a desk operator, or a desk outside the caller's area", body = ErrorBody, example = json!({
            "error": {"code": "forbidden", "message": "desk_region_code 33.24.01.2001 is outside your area (33.75)", "field": "desk_region_code"}
        })),
        (status = 409, description = "A request with this Idempotency-Key is in flight", body = ErrorBody),
        (status = 422, description = "The Idempotency-Key was used with another body", body = ErrorBody),
    )
)]
async fn open_case(
    access: Access,
    intake: web::Data<Intake>,
    request: HttpRequest,
    body: slrt_errors::Json<OpenCaseRequest>,
) -> Result<HttpResponse, ApiError> {
    intake
        .permit(&access, DESK, "registering a case", "case.open", "cases")
        .await?;
    let idempotency = idempotency::from_header(request.headers().get("Idempotency-Key"), &*body)?;
    let body = body.into_inner();
    let input = OpenCaseInput {
        kind: body.kind.unwrap_or_default(),
        complaint: body.complaint.map(|complaint| ComplaintInput {
            complaint_type: complaint.complaint_type,
            grievance_type: complaint.grievance_type,
            statement: complaint.statement,
            reported: complaint.reported.map(|reported| ReportedInput {
                nik: reported.nik,
                kk_number: reported.kk_number,
                full_name: reported.full_name,
                region_code: reported.region_code,
                programme_code: reported.programme_code,
                ground: reported.ground,
            }),
        }),
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
        opened_by: access.subject().to_string(),
    };
    let command = OpenCase::parse(input, slrt_identity::today_in_indonesia())
        .map_err(|error| ApiError::invalid(error.field, error.message))?;
    let desk_region = command.desk_region.dotted();
    if !access.covers(&desk_region) {
        return Err(intake
            .outside_area(&access, "case.open", "cases", "desk_region_code", &desk_region)
            .await);
    }
    let created = intake.open_case(&access, command, idempotency).await?;
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
        (status = 404, description = "No such case in the caller's area", body = ErrorBody),
    )
)]
async fn get_case(
    access: Access,
    intake: web::Data<Intake>,
    case_ref: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let reference = case_ref.into_inner();
    intake
        .permit(
            &access,
            AREA_READERS,
            "reading a case",
            "case.read",
            format!("case/{reference}"),
        )
        .await?;
    if reference.len() > 64 {
        return Err(ApiError::invalid(
            "case_ref",
            "a case id or case number is at most 64 characters",
        ));
    }
    let found = tracker::find_case(&intake.pool, &reference)
        .await
        .map_err(ApiError::unavailable)?;
    let Some(case) = found.filter(|case| access.covers(&case.applicant.region_code)) else {
        return Err(intake
            .not_found(
                &access,
                "case.read",
                format!("case/{reference}"),
                format!("no case {reference}"),
            )
            .await);
    };
    let niks = applicant_niks(&intake, &[case.case_id]).await?;
    intake
        .audit(
            &access,
            "case.read",
            format!("case/{}", case.case_id),
            &niks,
            Outcome::Allowed,
            serde_json::json!({ "case_number": case.case_number }),
        )
        .await?;
    Ok(HttpResponse::Ok().json(case))
}

/// The NIKs of the applicants of `case_ids`, for the audit record of their read.
async fn applicant_niks(intake: &Intake, case_ids: &[uuid::Uuid]) -> Result<Vec<String>, ApiError> {
    let mut conn = intake.pool.acquire().await.map_err(ApiError::unavailable)?;
    let niks = tracker::applicant_niks(&mut conn, case_ids)
        .await
        .map_err(ApiError::unavailable)?;
    Ok(niks.into_values().collect())
}

// Query values arrive as text and are parsed in `case_list`, so that a bad one is answered
// naming it; an unknown parameter (a typo such as `regoin`) is refused rather than ignored.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct CaseListQuery {
    /// Only cases in this status: open, assessed, referred, in_service, resolved, closed,
    /// withdrawn.
    #[param(example = "referred")]
    pub status: Option<String>,
    /// Only cases whose applicant lives in this Kemendagri region, at any level: province
    /// `33`, regency or city `33.75`, district `33.75.01`, village `33.75.01.1002`. Whole
    /// segments only (`33.7` is refused).
    #[param(example = "33.75")]
    pub region: Option<String>,
    /// Only cases with a need referred to this agency (its latest referral), e.g. DINSOS.
    #[param(example = "DINSOS")]
    pub opd: Option<String>,
    /// Only cases with a need granted under this programme, e.g. PKH.
    #[param(example = "PKH")]
    pub programme: Option<String>,
    /// `true`: only cases with an overdue need (an SLA clock ran out, or the need was ever
    /// escalated); `false`: only cases with none.
    #[param(example = "true")]
    pub overdue: Option<String>,
    /// Opened at or after: RFC 3339, or a date meaning 00:00 WIB (UTC+7) that day.
    #[param(example = "2026-03-01")]
    pub opened_from: Option<String>,
    /// Opened before (exclusive): RFC 3339, or a date meaning 00:00 WIB that day.
    #[param(example = "2026-04-01T00:00:00+07:00")]
    pub opened_to: Option<String>,
    /// Page size, 1 to 500 (default 100). Ignored by the counts and the export.
    #[param(example = "100")]
    pub limit: Option<String>,
    /// The `next` of the previous page. Ignored by the counts and the export.
    pub next: Option<String>,
}

impl CaseListQuery {
    /// The filter asked for, within the caller's areas.
    fn filter(&self, access: &Access) -> Result<CaseFilter, ApiError> {
        CaseFilter::parse(&RawCaseFilter {
            status: self.status.as_deref(),
            region: self.region.as_deref(),
            opd: self.opd.as_deref(),
            programme: self.programme.as_deref(),
            overdue: self.overdue.as_deref(),
            opened_from: self.opened_from.as_deref(),
            opened_to: self.opened_to.as_deref(),
        })
        .map(|filter| filter.within(access.areas()))
    }

    /// The filters as the audit record keeps them.
    fn detail(&self) -> serde_json::Value {
        serde_json::json!({
            "status": self.status, "region": self.region, "opd": self.opd, "programme": self.programme,
            "overdue": self.overdue, "opened_from": self.opened_from, "opened_to": self.opened_to,
        })
    }
}

/// One page of cases, newest first.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CasePage {
    pub cases: Vec<CaseSummary>,
    /// Pass as `next` (with the same filters) for the following page; absent on the last page.
    #[schema(
        example = "313737323430393630303132333435362f30313933366631652d376331612d376233652d396435612d336632623863346435653666"
    )]
    pub next: Option<String>,
}

/// The supervisors' list of cases.
///
/// Newest first: by opening time, then case id. Pages are keyset-paginated: pass the answer's
/// `next` to get the following page; cases opened meanwhile do not shift it. Filters combine
/// (AND). Served from the case tracker, which follows the other services' events within
/// moments.
#[utoipa::path(
    get,
    path = "/v1/cases",
    params(CaseListQuery),
    responses(
        (status = 200, description = "A page of cases, newest first", body = CasePage, example = json!({
            "cases": [{
                "case_id": "01936f1e-7c1a-7b3e-9d5a-3f2b8c4d5e6f", "case_number": "SLRT-3375-2026-000042",
                "kind": "application", "status": "referred",
                "applicant": {"full_name": "Siti Aminah", "nik_masked": "3375********0003", "region_code": "33.75.01.1002"},
                "opened_at": "2026-03-02T02:00:00Z", "updated_at": "2026-03-09T01:00:00Z",
                "need_count": 2, "open_need_count": 1, "max_escalation_level": 1, "overdue": true,
                "opd_codes": ["DINSOS"]
            }],
            "next": null
        })),
        (status = 400, description = "A bad query value; the error names it", body = ErrorBody, example = json!({
            "error": {"code": "invalid_input", "message": "\"done\" is not a case status (one of: open, assessed, referred, in_service, resolved, closed, withdrawn)", "field": "status"}
        })),
    )
)]
async fn list_cases(
    access: Access,
    intake: web::Data<Intake>,
    query: web::Query<CaseListQuery>,
) -> Result<HttpResponse, ApiError> {
    intake
        .permit(&access, AREA_READERS, "listing cases", "case.list", "cases")
        .await?;
    let filter = query.filter(&access)?;
    let limit = case_list::page_size(query.limit.as_deref())?;
    let after = query.next.as_deref().map(Cursor::parse).transpose()?;
    let (cases, next) = case_list::list(&intake.pool, &filter, after, limit)
        .await
        .map_err(ApiError::unavailable)?;
    let case_ids: Vec<uuid::Uuid> = cases.iter().map(|case| case.case_id).collect();
    let niks = applicant_niks(&intake, &case_ids).await?;
    let mut detail = query.detail();
    detail["returned"] = serde_json::json!(cases.len());
    intake
        .audit(&access, "case.list", "cases", &niks, Outcome::Allowed, detail)
        .await?;
    Ok(HttpResponse::Ok().json(CasePage {
        cases,
        next: next.map(|cursor| cursor.encode()),
    }))
}

/// Case counts for a dashboard.
///
/// The same filters as the list (`limit` and `next` are ignored); every count is over the
/// selected cases, from one snapshot. `by_opd` and `by_programme` count cases, so a case with
/// needs at two agencies counts under both.
#[utoipa::path(
    get,
    path = "/v1/cases/counts",
    params(CaseListQuery),
    responses(
        (status = 200, description = "The counts", body = CaseCounts, example = json!({
            "total": 42,
            "by_status": {"open": 3, "assessed": 1, "referred": 20, "in_service": 8, "resolved": 6, "closed": 3, "withdrawn": 1},
            "by_regency": {"33.75": 42},
            "by_district": {"33.75.01": 30, "33.75.02": 12},
            "by_opd": {"DINSOS": 25, "DISDUKCAPIL": 6},
            "by_programme": {"PKH": 20, "ADMINDUK": 6},
            "overdue": 4
        })),
        (status = 400, description = "A bad query value; the error names it", body = ErrorBody, example = json!({
            "error": {"code": "invalid_input", "message": "region code must look like 33, 33.75, 33.75.01 or 33.75.01.1002", "field": "region"}
        })),
    )
)]
async fn case_counts(
    access: Access,
    intake: web::Data<Intake>,
    query: web::Query<CaseListQuery>,
) -> Result<HttpResponse, ApiError> {
    // Counts name nobody, so they are not audited; the roles are those of the list.
    access.require(AREA_READERS, "counting cases")?;
    let filter = query.filter(&access)?;
    let counts = case_list::counts(&intake.pool, &filter)
        .await
        .map_err(ApiError::unavailable)?;
    Ok(HttpResponse::Ok().json(counts))
}

/// The applicant withdraws the case. The operator recorded is the caller the token names.
#[derive(Debug, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"reason": "found work and no longer needs the aid"}))]
pub struct WithdrawRequest {
    /// Why, in the applicant's words; required, up to 4000 characters.
    pub reason: String,
}

/// The desk closes the case. The operator recorded is the caller the token names.
#[derive(Debug, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"note": "PKH paid, family card issued"}))]
pub struct CloseRequest {
    /// Up to 4000 characters.
    #[serde(default)]
    pub note: String,
}

/// The desk's answer to a question or a suggestion. The operator recorded is the caller
/// the token names.
#[derive(Debug, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"answer": "The fourth BPNT stage is paid from 10 December at PT Pos."}))]
pub struct AnswerRequest {
    /// The answer given; required, up to 4000 characters.
    pub answer: String,
}

/// A desk step recorded on a case.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DeskStepAnswer {
    pub case_id: uuid::Uuid,
    /// The case's status after the step.
    #[schema(example = "withdrawn")]
    pub status: String,
    /// The event that records the step.
    pub event_id: uuid::Uuid,
}

const MAX_TEXT_CHARS: usize = 4000;

/// A required free-text field, trimmed; empty or too long is refused naming it.
fn required_text(field: &str, text: &str, max: usize) -> Result<String, ApiError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(ApiError::invalid(field, format!("{field} is required")));
    }
    if text.chars().count() > max {
        return Err(ApiError::invalid(
            field,
            format!("{field} is longer than {max} characters"),
        ));
    }
    Ok(text.to_string())
}

fn case_reference(case_ref: &str) -> Result<(), ApiError> {
    if case_ref.is_empty() || case_ref.len() > 64 {
        return Err(ApiError::invalid(
            "case_ref",
            "a case id or case number of 1 to 64 characters is required",
        ));
    }
    Ok(())
}

async fn desk_step(
    access: &Access,
    intake: &Intake,
    request: &HttpRequest,
    case_ref: &str,
    action: DeskAction,
    body: &impl Serialize,
) -> Result<HttpResponse, ApiError> {
    case_reference(case_ref)?;
    let idempotency = idempotency::from_header(request.headers().get("Idempotency-Key"), body)?;
    let done = intake.record_desk_action(access, case_ref, action, idempotency).await?;
    answer(done)
}

/// The stored answer of a request that may be a replay of an earlier one with the same
/// Idempotency-Key.
fn answer(done: crate::app::Created) -> Result<HttpResponse, ApiError> {
    let status = actix_web::http::StatusCode::from_u16(done.status).map_err(ApiError::internal)?;
    Ok(HttpResponse::build(status).json(done.body))
}

/// The applicant withdraws the case.
///
/// The case becomes `withdrawn` and every need not finished yet is withdrawn with it; what
/// agencies report afterwards shows on the timeline and moves nothing. Refused (422) when the
/// case is already withdrawn or closed. Send an `Idempotency-Key` to make retries safe.
#[utoipa::path(
    post,
    path = "/v1/cases/{case_ref}/withdraw",
    request_body = WithdrawRequest,
    params(
        ("case_ref" = String, Path, description = "Case id (UUID) or case number"),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes the request safe to retry")
    ),
    responses(
        (status = 200, description = "Withdrawn", body = DeskStepAnswer, example = json!({
            "case_id": "01936f1e-7c1a-7b3e-9d5a-3f2b8c4d5e6f", "status": "withdrawn",
            "event_id": "01936f2a-1111-7b3e-9d5a-3f2b8c4d5e6f"
        })),
        (status = 400, description = "A missing or bad field, named", body = ErrorBody, example = json!({
            "error": {"code": "invalid_input", "message": "reason is required", "field": "reason"}
        })),
        (status = 404, description = "No such case in the caller's area", body = ErrorBody),
        (status = 409, description = "The case changed meanwhile, or the Idempotency-Key is in flight", body = ErrorBody),
        (status = 422, description = "Already withdrawn or closed; or the Idempotency-Key was used with another body", body = ErrorBody, example = json!({
            "error": {"code": "rejected", "message": "the case is already closed"}
        })),
    )
)]
async fn withdraw_case(
    access: Access,
    intake: web::Data<Intake>,
    request: HttpRequest,
    case_ref: web::Path<String>,
    body: slrt_errors::Json<WithdrawRequest>,
) -> Result<HttpResponse, ApiError> {
    intake
        .permit(
            &access,
            DESK,
            "withdrawing a case",
            "case.withdraw",
            format!("case/{case_ref}"),
        )
        .await?;
    let action = DeskAction::Withdraw {
        reason: required_text("reason", &body.reason, MAX_TEXT_CHARS)?,
        actor: access.subject().to_string(),
    };
    desk_step(&access, &intake, &request, &case_ref, action, &*body).await
}

/// The desk closes the case.
///
/// Only when every need is finished: resolved, withdrawn, or refused by eligibility; the
/// refusal (422, field `needs`) names each open need with its status. An inclusion-error
/// complaint is not closed while eligibility's verification is open. Send an
/// `Idempotency-Key` to make retries safe.
#[utoipa::path(
    post,
    path = "/v1/cases/{case_ref}/close",
    request_body = CloseRequest,
    params(
        ("case_ref" = String, Path, description = "Case id (UUID) or case number"),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes the request safe to retry")
    ),
    responses(
        (status = 200, description = "Closed", body = DeskStepAnswer, example = json!({
            "case_id": "01936f1e-7c1a-7b3e-9d5a-3f2b8c4d5e6f", "status": "closed",
            "event_id": "01936f2a-1111-7b3e-9d5a-3f2b8c4d5e6f"
        })),
        (status = 400, description = "A missing or bad field, named", body = ErrorBody),
        (status = 404, description = "No such case in the caller's area", body = ErrorBody),
        (status = 409, description = "The case changed meanwhile, or the Idempotency-Key is in flight", body = ErrorBody),
        (status = 422, description = "Needs still open (named), a verification open, already closed or withdrawn", body = ErrorBody, example = json!({
            "error": {"code": "rejected", "field": "needs",
                      "message": "the case cannot be closed while needs are open: cash_assistance (01936f1e-7c1a-7b3e-9d5a-3f2b8c4d5e70, in_service)"}
        })),
    )
)]
async fn close_case(
    access: Access,
    intake: web::Data<Intake>,
    request: HttpRequest,
    case_ref: web::Path<String>,
    body: slrt_errors::Json<CloseRequest>,
) -> Result<HttpResponse, ApiError> {
    intake
        .permit(
            &access,
            DESK,
            "closing a case",
            "case.close",
            format!("case/{case_ref}"),
        )
        .await?;
    let note = body.note.trim();
    if note.chars().count() > MAX_TEXT_CHARS {
        return Err(ApiError::invalid(
            "note",
            format!("note is longer than {MAX_TEXT_CHARS} characters"),
        ));
    }
    let action = DeskAction::Close {
        actor: access.subject().to_string(),
        note: note.to_string(),
    };
    desk_step(&access, &intake, &request, &case_ref, action, &*body).await
}

/// The desk answers a question or a suggestion, which closes it.
///
/// Refused (422, field `kind`) for applications and grievances. Send an `Idempotency-Key` to
/// make retries safe.
#[utoipa::path(
    post,
    path = "/v1/cases/{case_ref}/answer",
    request_body = AnswerRequest,
    params(
        ("case_ref" = String, Path, description = "Case id (UUID) or case number"),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes the request safe to retry")
    ),
    responses(
        (status = 200, description = "Answered and closed", body = DeskStepAnswer, example = json!({
            "case_id": "01936f1e-7c1a-7b3e-9d5a-3f2b8c4d5e6f", "status": "closed",
            "event_id": "01936f2a-1111-7b3e-9d5a-3f2b8c4d5e6f"
        })),
        (status = 400, description = "A missing or bad field, named", body = ErrorBody),
        (status = 404, description = "No such case in the caller's area", body = ErrorBody),
        (status = 409, description = "The case changed meanwhile, or the Idempotency-Key is in flight", body = ErrorBody),
        (status = 422, description = "Not a question or suggestion, or already closed or withdrawn", body = ErrorBody, example = json!({
            "error": {"code": "rejected", "field": "kind",
                      "message": "only a question or a suggestion is answered this way; this case is a grievance"}
        })),
    )
)]
async fn answer_complaint(
    access: Access,
    intake: web::Data<Intake>,
    request: HttpRequest,
    case_ref: web::Path<String>,
    body: slrt_errors::Json<AnswerRequest>,
) -> Result<HttpResponse, ApiError> {
    intake
        .permit(
            &access,
            DESK,
            "answering a complaint",
            "case.answer",
            format!("case/{case_ref}"),
        )
        .await?;
    let action = DeskAction::Answer {
        answer: required_text("answer", &body.answer, MAX_TEXT_CHARS)?,
        actor: access.subject().to_string(),
    };
    desk_step(&access, &intake, &request, &case_ref, action, &*body).await
}

/// Rows per database round trip while exporting: memory stays bounded by one page whatever
/// the number of cases.
const EXPORT_PAGE: i64 = 1000;

const CSV_HEADER: &str = "case_id,case_number,kind,status,applicant_name,nik_masked,region_code,opened_at,updated_at,\
                          need_count,open_need_count,max_escalation_level,overdue,opd_codes\r\n";

/// The selected cases as CSV.
///
/// The same filters as the list (`limit` and `next` are ignored), newest first, every
/// selected case: streamed page by page, so the size of the export is not bounded by memory.
/// RFC 4180 (comma, CRLF, double quotes doubled), UTF-8, with a header row; the NIK masked;
/// OPD codes separated by `;`. Each page is read on its own, so a case that changes during a
/// long export shows as it was when its page was read.
#[utoipa::path(
    get,
    path = "/v1/cases/export.csv",
    params(CaseListQuery),
    responses(
        (status = 200, description = "The cases, as CSV", content_type = "text/csv",
         body = String, example = "case_id,case_number,kind,status,applicant_name,nik_masked,region_code,opened_at,updated_at,need_count,open_need_count,max_escalation_level,overdue,opd_codes\r\n01936f1e-7c1a-7b3e-9d5a-3f2b8c4d5e6f,SLRT-3375-2026-000042,application,referred,Siti Aminah,3375********0003,33.75.01.1002,2026-03-02T02:00:00Z,2026-03-09T01:00:00Z,2,1,1,true,DINSOS\r\n"),
        (status = 400, description = "A bad query value; the error names it", body = ErrorBody),
    )
)]
async fn export_cases(
    access: Access,
    intake: web::Data<Intake>,
    query: web::Query<CaseListQuery>,
) -> Result<HttpResponse, ApiError> {
    intake
        .permit(&access, EXPORTERS, "exporting cases", "case.export", "cases")
        .await?;
    // Checked before the first byte goes out: once streaming, a status can no longer change.
    let filter = query.filter(&access)?;
    let filters = query.detail();
    let intake = intake.into_inner();
    let header = futures::stream::once(async { Ok::<_, ApiError>(web::Bytes::from_static(CSV_HEADER.as_bytes())) });
    // The page to read next (`None` once the last page has been sent), and its number.
    let start: Option<(Option<Cursor>, u64)> = Some((None, 1));
    let rows = futures::stream::try_unfold(start, move |state| {
        let (intake, access, filter, filters) = (intake.clone(), access.clone(), filter.clone(), filters.clone());
        async move {
            let Some((after, page)) = state else { return Ok(None) };
            let (cases, next) = case_list::list(&intake.pool, &filter, after, EXPORT_PAGE)
                .await
                .map_err(|error| {
                    tracing::error!(error = %error, "case export stopped: the tracker cannot be read");
                    ApiError::unavailable(error)
                })?;
            // Each page is audited, with the people on it, before it goes out; a page whose
            // record cannot be written ends the export there.
            let case_ids: Vec<uuid::Uuid> = cases.iter().map(|case| case.case_id).collect();
            let niks = applicant_niks(&intake, &case_ids).await?;
            let mut detail = filters;
            detail["page"] = serde_json::json!(page);
            detail["rows"] = serde_json::json!(cases.len());
            intake
                .audit(&access, "case.export", "cases", &niks, Outcome::Allowed, detail)
                .await
                .inspect_err(|_| tracing::error!("case export stopped: its audit record cannot be written"))?;
            let mut chunk = String::with_capacity(cases.len() * 192);
            for case in &cases {
                csv_row(&mut chunk, case);
            }
            Ok(Some((
                web::Bytes::from(chunk),
                next.map(|cursor| (Some(cursor), page + 1)),
            )))
        }
    });
    use futures::StreamExt;
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header(("Content-Disposition", "attachment; filename=\"cases.csv\""))
        .streaming(header.chain(rows)))
}

fn csv_row(out: &mut String, case: &CaseSummary) {
    let fields = [
        case.case_id.to_string(),
        case.case_number.clone(),
        case.kind.clone(),
        case.status.clone(),
        defuse_formula(&case.applicant.full_name),
        case.applicant.nik_masked.clone(),
        case.applicant.region_code.clone(),
        case.opened_at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        case.updated_at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        case.need_count.to_string(),
        case.open_need_count.to_string(),
        case.max_escalation_level.to_string(),
        case.overdue.to_string(),
        case.opd_codes.join(";"),
    ];
    for (index, field) in fields.iter().enumerate() {
        if index > 0 {
            out.push(',');
        }
        csv_field(out, field);
    }
    out.push_str("\r\n");
}

/// RFC 4180: a field with a comma, a double quote or a line break is quoted, its quotes doubled.
fn csv_field(out: &mut String, field: &str) {
    if field.contains([',', '"', '\r', '\n']) {
        out.push('"');
        out.push_str(&field.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(field);
    }
}

/// A name typed at a desk that starts like a spreadsheet formula (`=`, `+`, `-`, `@`) would
/// run as one where the supervisor opens the file; a leading apostrophe keeps it text.
fn defuse_formula(text: &str) -> String {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_as_rfc_4180_says() {
        let mut out = String::new();
        for field in ["plain", "Aminah, Siti", "say \"hi\"", "two\nlines", ""] {
            csv_field(&mut out, field);
            out.push('|');
        }
        assert_eq!(out, "plain|\"Aminah, Siti\"|\"say \"\"hi\"\"\"|\"two\nlines\"||");
        assert_eq!(defuse_formula("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(defuse_formula("Siti"), "Siti");
    }
}
