//! The desk's and supervisors' HTTP API. Handlers are thin: parse, call the use case, map
//! errors through the shared code table.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use slrt_errors::{ApiError, ErrorBody};
use utoipa::OpenApi;

use crate::app::Intake;
use crate::app::case_list::{self, CaseCounts, CaseFilter, CaseSummary, Cursor, RawCaseFilter};
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
    paths(open_case, list_cases, case_counts, export_cases, get_case),
    components(schemas(
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

pub fn configure(cfg: &mut web::ServiceConfig) {
    // The fixed paths go before `{case_ref}`, which would otherwise take them; no case id
    // (a UUID) or case number (SLRT-…) is ever spelled like them.
    cfg.route("/v1/cases", web::post().to(open_case))
        .route("/v1/cases", web::get().to(list_cases))
        .route("/v1/cases/counts", web::get().to(case_counts))
        .route("/v1/cases/export.csv", web::get().to(export_cases))
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

// Query values arrive as text and are parsed in `case_list`, so that a bad one is answered
// naming it; an unknown parameter (a typo such as `regoin`) is refused rather than ignored.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct CaseListQuery {
    /// Only cases in this status: open, assessed, referred, in_service, resolved.
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
    fn filter(&self) -> Result<CaseFilter, ApiError> {
        CaseFilter::parse(&RawCaseFilter {
            status: self.status.as_deref(),
            region: self.region.as_deref(),
            opd: self.opd.as_deref(),
            programme: self.programme.as_deref(),
            overdue: self.overdue.as_deref(),
            opened_from: self.opened_from.as_deref(),
            opened_to: self.opened_to.as_deref(),
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
            "error": {"code": "invalid_input", "message": "\"done\" is not a case status (one of: open, assessed, referred, in_service, resolved)", "field": "status"}
        })),
    )
)]
async fn list_cases(intake: web::Data<Intake>, query: web::Query<CaseListQuery>) -> Result<HttpResponse, ApiError> {
    let filter = query.filter()?;
    let limit = case_list::page_size(query.limit.as_deref())?;
    let after = query.next.as_deref().map(Cursor::parse).transpose()?;
    let (cases, next) = case_list::list(&intake.pool, &filter, after, limit)
        .await
        .map_err(ApiError::unavailable)?;
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
            "by_status": {"open": 3, "assessed": 1, "referred": 20, "in_service": 8, "resolved": 10},
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
async fn case_counts(intake: web::Data<Intake>, query: web::Query<CaseListQuery>) -> Result<HttpResponse, ApiError> {
    let filter = query.filter()?;
    let counts = case_list::counts(&intake.pool, &filter)
        .await
        .map_err(ApiError::unavailable)?;
    Ok(HttpResponse::Ok().json(counts))
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
async fn export_cases(intake: web::Data<Intake>, query: web::Query<CaseListQuery>) -> Result<HttpResponse, ApiError> {
    // Checked before the first byte goes out: once streaming, a status can no longer change.
    let filter = query.filter()?;
    let pool = intake.pool.clone();
    let header = futures::stream::once(async { Ok::<_, sqlx::Error>(web::Bytes::from_static(CSV_HEADER.as_bytes())) });
    // `None` once the last page has been sent.
    let start: Option<Option<Cursor>> = Some(None);
    let rows = futures::stream::try_unfold(start, move |state| {
        let pool = pool.clone();
        let filter = filter.clone();
        async move {
            let Some(after) = state else { return Ok(None) };
            let (cases, next) = case_list::list(&pool, &filter, after, EXPORT_PAGE).await.inspect_err(
                |error| tracing::error!(error = %error, "case export stopped: the tracker cannot be read"),
            )?;
            let mut chunk = String::with_capacity(cases.len() * 192);
            for case in &cases {
                csv_row(&mut chunk, case);
            }
            Ok(Some((web::Bytes::from(chunk), next.map(Some))))
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
