//! The back office's side of the evidence feeds: the CSV evidence file, verification tasks
//! and their decisions, and the reinstatement of an excluded enrolment. Thin: parse, call
//! the use case, map errors through the shared code table.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use slrt_errors::{ApiError, ErrorBody};
use utoipa::OpenApi;
use uuid::Uuid;

use crate::app::Eligibility;
use crate::app::evidence::file::{FileReject, FileReport};
use crate::app::verification::{
    EvidenceView, HeldEnrolment, HistoryEntry, Reinstate, Reinstated, ResolveTask, TaskDetail, TaskFilter, TaskPage,
    TaskSummary,
};
use crate::domain::evidence::Ground;

/// The largest evidence file accepted in one request.
const MAX_FILE_BYTES: usize = 32 * 1024 * 1024;

#[derive(OpenApi)]
#[openapi(
    paths(import_file, list_tasks, get_task, resolve_task, reinstate),
    components(schemas(
        FileReport,
        FileReject,
        TaskPage,
        TaskSummary,
        TaskDetail,
        EvidenceView,
        HeldEnrolment,
        HistoryEntry,
        ResolveTask,
        Reinstate,
        Reinstated,
        ErrorBody
    ))
)]
pub struct EvidenceApiDoc;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/v1/evidence/file")
            .app_data(web::PayloadConfig::new(MAX_FILE_BYTES))
            .route(web::post().to(import_file)),
    )
    .route("/v1/verification-tasks", web::get().to(list_tasks))
    .route("/v1/verification-tasks/{task_id}", web::get().to(get_task))
    .route("/v1/verification-tasks/{task_id}/resolve", web::post().to(resolve_task))
    .route("/v1/enrolments/{enrolment_id}/reinstate", web::post().to(reinstate));
}

/// An evidence file.
///
/// CSV, one item per line (header and columns in the service's README): deaths, vehicles,
/// payroll, desil updates. Every line is checked and applied on its own; refused lines are
/// listed with their line, field and reason and the others are applied. Sending the same file
/// again changes nothing.
#[utoipa::path(
    post,
    path = "/v1/evidence/file",
    request_body(content = String, content_type = "text/csv", example = "kind,nik,source,reference,observed_on,retracts,employer_category,plate,desil\nvehicle,3375012803750003,SAMSAT,G-1234-AB,2026-02-01,,,G 1234 AB,\n"),
    responses(
        (status = 200, description = "What became of each line", body = FileReport, example = json!({
            "lines": 2, "recorded": 1, "unchanged": 0, "rejected": 1,
            "rejects": [{"line": 3, "field": "nik", "reason": "no person in the registry has this NIK"}]
        })),
        (status = 400, description = "The body is not CSV with the required columns", body = ErrorBody),
    )
)]
async fn import_file(
    eligibility: web::Data<Eligibility>,
    request: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let content_type = request
        .headers()
        .get(actix_web::http::header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    if !content_type.starts_with("text/csv") {
        return Err(ApiError::invalid(
            "content-type",
            "an evidence file is sent as text/csv",
        ));
    }
    let report = eligibility.import_evidence_file(&body).await?;
    tracing::info!(
        lines = report.lines,
        recorded = report.recorded,
        unchanged = report.unchanged,
        rejected = report.rejected,
        "evidence file applied"
    );
    Ok(HttpResponse::Ok().json(report))
}

/// Filters of the task list, as sent.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct TaskQuery {
    /// true: open tasks only; false: resolved ones only. Default: both.
    pub open: Option<String>,
    /// vehicle, payroll, desil or inclusion_complaint.
    pub ground: Option<String>,
    /// A Kemendagri region code prefix, dotted (33.75, 33.75.01, 33.75.01.1002).
    pub region: Option<String>,
    /// The `next_after` of the previous page.
    pub after: Option<String>,
    /// Page size, 1 to 200; default 50.
    pub limit: Option<String>,
}

/// Verification tasks.
///
/// Oldest first, in keyset pages: pass the answer's `next_after` as `after` for the next.
#[utoipa::path(
    get,
    path = "/v1/verification-tasks",
    params(TaskQuery),
    responses(
        (status = 200, description = "A page of tasks", body = TaskPage),
        (status = 400, description = "A filter is malformed", body = ErrorBody),
    )
)]
async fn list_tasks(
    eligibility: web::Data<Eligibility>,
    query: web::Query<TaskQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    let open = match query.open.as_deref() {
        None | Some("") => None,
        Some("true") => Some(true),
        Some("false") => Some(false),
        Some(other) => return Err(ApiError::invalid("open", format!("{other:?} is not true or false"))),
    };
    let ground = match query.ground.as_deref() {
        None | Some("") => None,
        Some(text) => Some(
            Ground::parse(text)
                .ok_or_else(|| ApiError::invalid("ground", format!("{text:?} is not one of {}", Ground::choices())))?,
        ),
    };
    let region_prefix = match query.region.as_deref() {
        None | Some("") => None,
        Some(text) => {
            let parts: Vec<&str> = text.split('.').collect();
            let well_formed = parts.len() <= 4
                && parts.iter().enumerate().all(|(index, part)| {
                    let width = if index == 3 { 4 } else { 2 };
                    part.len() == width && part.bytes().all(|b| b.is_ascii_digit())
                });
            if !well_formed {
                return Err(ApiError::invalid(
                    "region",
                    format!("{text:?} is not a dotted Kemendagri code or prefix such as 33.75 or 33.75.01.1002"),
                ));
            }
            Some(text.to_owned())
        }
    };
    let after = match query.after.as_deref() {
        None | Some("") => None,
        Some(text) => {
            Some(Uuid::parse_str(text).map_err(|_| ApiError::invalid("after", "the next_after of a previous page"))?)
        }
    };
    let limit = match query.limit.as_deref() {
        None | Some("") => 50,
        Some(text) => text
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=200).contains(n))
            .ok_or_else(|| ApiError::invalid("limit", format!("{text:?} is not a page size from 1 to 200")))?,
    };
    let page = eligibility
        .verification_tasks(&TaskFilter {
            open,
            ground,
            region_prefix,
            after,
            limit,
        })
        .await?;
    Ok(HttpResponse::Ok().json(page))
}

fn parse_id(field: &str, text: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(text).map_err(|_| ApiError::invalid(field, format!("{field} is a UUID")))
}

/// A verification task.
///
/// The task, the evidence that opened it, the enrolments held for it (and what became of
/// each hold), and its history.
#[utoipa::path(
    get,
    path = "/v1/verification-tasks/{task_id}",
    params(("task_id" = String, Path, description = "The task id (UUID)")),
    responses(
        (status = 200, description = "The task", body = TaskDetail),
        (status = 400, description = "The id is not a UUID", body = ErrorBody),
        (status = 404, description = "No such task", body = ErrorBody),
    )
)]
async fn get_task(eligibility: web::Data<Eligibility>, task_id: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let task_id = parse_id("task_id", &task_id)?;
    Ok(HttpResponse::Ok().json(eligibility.verification_task(task_id).await?))
}

/// An officer's decision on a verification task.
///
/// confirmed: the exclusion holds, and the enrolments held for the task end (reason
/// excluded). rejected: it does not, and the holds are released with the periods held owed
/// (arrears). A task is decided once.
#[utoipa::path(
    post,
    path = "/v1/verification-tasks/{task_id}/resolve",
    params(("task_id" = String, Path, description = "The task id (UUID)")),
    request_body = ResolveTask,
    responses(
        (status = 200, description = "The task as decided", body = TaskSummary),
        (status = 400, description = "outcome, reason or actor missing or malformed", body = ErrorBody, example = json!({
            "error": {"code": "invalid_input", "message": "the reason for the decision is required", "field": "reason"}
        })),
        (status = 404, description = "No such task", body = ErrorBody),
        (status = 422, description = "The task was already resolved", body = ErrorBody),
    )
)]
async fn resolve_task(
    eligibility: web::Data<Eligibility>,
    task_id: web::Path<String>,
    body: web::Json<ResolveTask>,
) -> Result<HttpResponse, ApiError> {
    let task_id = parse_id("task_id", &task_id)?;
    let resolved = eligibility.resolve_verification_task(task_id, &body).await?;
    tracing::info!(task.id = %task_id, outcome = %resolved.status, "verification task resolved");
    Ok(HttpResponse::Ok().json(resolved))
}

/// Reinstates an enrolment ended as excluded.
///
/// Starts a new enrolment of the same programme and beneficiary (its `EnrolmentStarted`
/// names the one it reinstates), after the checks a decision makes: the beneficiary is
/// alive, holds no current enrolment in the programme, and holds nothing it excludes.
#[utoipa::path(
    post,
    path = "/v1/enrolments/{enrolment_id}/reinstate",
    params(("enrolment_id" = String, Path, description = "The ended enrolment (UUID)")),
    request_body = Reinstate,
    responses(
        (status = 201, description = "The new enrolment", body = Reinstated),
        (status = 400, description = "reason or actor missing", body = ErrorBody),
        (status = 404, description = "No such enrolment", body = ErrorBody),
        (status = 422, description = "Not an excluded enrolment, a deceased beneficiary, or an overlap", body = ErrorBody),
    )
)]
async fn reinstate(
    eligibility: web::Data<Eligibility>,
    enrolment_id: web::Path<String>,
    body: web::Json<Reinstate>,
) -> Result<HttpResponse, ApiError> {
    let enrolment_id = parse_id("enrolment_id", &enrolment_id)?;
    let reinstated = eligibility.reinstate(enrolment_id, &body).await?;
    Ok(HttpResponse::Created().json(reinstated))
}
