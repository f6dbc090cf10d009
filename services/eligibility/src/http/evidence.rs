//! The back office's side of the evidence feeds: the CSV evidence file, verification tasks
//! and their decisions, and the reinstatement of an excluded enrolment. Thin: check the
//! role, parse, call the use case, audit the read, map errors through the shared code table.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use slrt_audit::Outcome;
use slrt_audit::access::Access;
use slrt_auth::Role;
use slrt_errors::{ApiError, ErrorBody, ErrorCode};
use utoipa::OpenApi;
use uuid::Uuid;

use super::resource;
use crate::access::{
    AREA_CHANGERS, AREA_READERS, EVIDENCE_FILE_SENDERS, area_scope, audit_refusal, change_by, own_agency,
    require_audited,
};
use crate::app::Eligibility;
use crate::app::evidence::file::{FileReject, FileReport};
use crate::app::scope::Scope;
use crate::app::verification::{
    EvidenceView, HeldEnrolment, HistoryEntry, Reinstate, Reinstated, ResolveTask, TaskDetail, TaskFilter, TaskPage,
    TaskSummary,
};
use crate::domain::evidence::Ground;

/// The largest evidence file accepted in one request (`SLRT_ELIGIBILITY_EVIDENCE_FILE_MAX_BYTES`).
#[derive(Debug, Clone, Copy)]
pub struct EvidenceFileLimit(pub usize);

/// The most tasks one page holds, and how many when the caller names no `limit`.
const MAX_TASK_PAGE: u32 = 200;
const DEFAULT_TASK_PAGE: u32 = 50;

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
    cfg.route("/v1/evidence/file", web::post().to(import_file))
        .route("/v1/verification-tasks", web::get().to(list_tasks))
        .route("/v1/verification-tasks/{task_id}", web::get().to(get_task))
        .route("/v1/verification-tasks/{task_id}/resolve", web::post().to(resolve_task))
        .route("/v1/enrolments/{enrolment_id}/reinstate", web::post().to(reinstate));
}

/// An evidence file.
///
/// CSV, one item per line (header and columns in the service's README): deaths, vehicles,
/// payroll, desil updates. Every line is checked and applied on its own, and audited; refused
/// lines are listed with their line, field and reason and the others are applied. Sending the
/// same file again changes nothing.
///
/// An evidence feed (role data_feed) sends its own evidence: a line naming another source is
/// refused, and an empty source is the feed's. The back office relays a file an agency gave
/// it; its lines may only be about people of its area (others are refused as unknown).
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
        (status = 401, description = "No token, or one that is refused", body = ErrorBody),
        (status = 403, description = "Not an evidence feed or back office", body = ErrorBody),
        (status = 413, description = "The file is larger than the service accepts; the error names the limit", body = ErrorBody, example = json!({
            "error": {"code": "payload_too_large", "message": "an evidence file is at most 33554432 bytes; split it and send the parts", "field": "body"}
        })),
    )
)]
async fn import_file(
    access: Access,
    eligibility: web::Data<Eligibility>,
    limit: web::Data<EvidenceFileLimit>,
    request: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let pool = &eligibility.pool;
    require_audited(
        &access,
        pool,
        EVIDENCE_FILE_SENDERS,
        "sending an evidence file",
        "evidence.submit",
        "evidence",
    )
    .await?;
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
    // Read only after the caller is known, and never past the limit: the body is held whole.
    let too_large = || {
        ApiError::new(
            ErrorCode::PayloadTooLarge,
            format!(
                "an evidence file is at most {} bytes; split it and send the parts",
                limit.0
            ),
        )
        .with_field("body")
    };
    let body = payload
        .to_bytes_limited(limit.0)
        .await
        .map_err(|_| too_large())?
        .map_err(|error| ApiError::invalid("body", format!("the file could not be read: {error}")))?;
    // A feed speaks for its own agency over the whole regency; the back office for the
    // people of its area, whoever supplied the evidence.
    let (scope, feed_agency) = if access.principal.has(Role::DataFeed) {
        (Scope::Everything, Some(own_agency(&access, "source", "")?))
    } else {
        (area_scope(&access), None)
    };
    let by = change_by(&access, "evidence.submit", "evidence", scope);
    let report = eligibility
        .import_evidence_file(&body, &by, feed_agency.as_deref())
        .await?;
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
#[into_params(parameter_in = Query)]
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
/// Only tasks of households in your area (and areas granted to you) are listed.
#[utoipa::path(
    get,
    path = "/v1/verification-tasks",
    params(TaskQuery),
    responses(
        (status = 200, description = "A page of tasks", body = TaskPage),
        (status = 400, description = "A filter is malformed, or `limit` is above 200", body = ErrorBody),
        (status = 401, description = "No token, or one that is refused", body = ErrorBody),
        (status = 403, description = "Not back office, a coordinator or a supervisor", body = ErrorBody),
    )
)]
async fn list_tasks(
    access: Access,
    eligibility: web::Data<Eligibility>,
    query: web::Query<TaskQuery>,
) -> Result<HttpResponse, ApiError> {
    let pool = &eligibility.pool;
    require_audited(
        &access,
        pool,
        AREA_READERS,
        "listing verification tasks",
        "verification_task.list",
        "verification_tasks",
    )
    .await?;
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
        None | Some("") => DEFAULT_TASK_PAGE,
        Some(text) => text
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=MAX_TASK_PAGE).contains(n))
            .ok_or_else(|| {
                let shown: String = text.chars().take(32).collect();
                ApiError::invalid(
                    "limit",
                    format!("{shown:?} is not a page size from 1 to {MAX_TASK_PAGE}"),
                )
            })?,
    };
    let page = eligibility
        .verification_tasks(&TaskFilter {
            open,
            ground,
            region_prefix: region_prefix.clone(),
            scope: area_scope(&access),
            after,
            limit,
        })
        .await?;
    let people: Vec<String> = page.tasks.iter().filter_map(|task| task.person_id.clone()).collect();
    let households: Vec<String> = page.tasks.iter().filter_map(|task| task.household_id.clone()).collect();
    let subjects = eligibility.subjects(&people, &households).await?;
    access
        .audit(
            pool,
            "verification_task.list",
            "verification_tasks",
            subjects,
            Outcome::Allowed,
            serde_json::json!({ "returned": page.tasks.len(), "region": region_prefix, "open": open }),
        )
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
        (status = 401, description = "No token, or one that is refused", body = ErrorBody),
        (status = 403, description = "Not back office, a coordinator or a supervisor", body = ErrorBody),
        (status = 404, description = "No such task, or one outside your area", body = ErrorBody),
    )
)]
async fn get_task(
    access: Access,
    eligibility: web::Data<Eligibility>,
    task_id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let pool = &eligibility.pool;
    let asked = resource("verification_task", &task_id);
    require_audited(
        &access,
        pool,
        AREA_READERS,
        "reading a verification task",
        "verification_task.read",
        &asked,
    )
    .await?;
    let task_id = parse_id("task_id", &task_id)?;
    match eligibility.verification_task(task_id, &area_scope(&access)).await {
        Ok(detail) => {
            let subjects = eligibility
                .subjects(
                    &detail.task.person_id.iter().cloned().collect::<Vec<_>>(),
                    &detail.task.household_id.iter().cloned().collect::<Vec<_>>(),
                )
                .await?;
            access
                .audit(
                    pool,
                    "verification_task.read",
                    asked,
                    subjects,
                    Outcome::Allowed,
                    serde_json::json!({}),
                )
                .await?;
            Ok(HttpResponse::Ok().json(detail))
        }
        Err(error) => Err(audit_refusal(&access, pool, "verification_task.read", asked, error).await),
    }
}

/// An officer's decision on a verification task.
///
/// confirmed: the exclusion holds, and the enrolments held for the task end (reason
/// excluded). rejected: it does not, and the holds are released with the periods held owed
/// (arrears). A task is decided once, by the officer the token names (back office or a
/// coordinator of the household's area).
#[utoipa::path(
    post,
    path = "/v1/verification-tasks/{task_id}/resolve",
    params(("task_id" = String, Path, description = "The task id (UUID)")),
    request_body = ResolveTask,
    responses(
        (status = 200, description = "The task as decided", body = TaskSummary),
        (status = 400, description = "outcome or reason missing or malformed (a reason is at most 500 characters)", body = ErrorBody, example = json!({
            "error": {"code": "invalid_input", "message": "the reason for the decision is required", "field": "reason"}
        })),
        (status = 401, description = "No token, or one that is refused", body = ErrorBody),
        (status = 403, description = "Not back office or a coordinator", body = ErrorBody),
        (status = 404, description = "No such task, or one outside your area", body = ErrorBody),
        (status = 422, description = "The task was already resolved", body = ErrorBody),
    )
)]
async fn resolve_task(
    access: Access,
    eligibility: web::Data<Eligibility>,
    task_id: web::Path<String>,
    body: slrt_errors::Json<ResolveTask>,
) -> Result<HttpResponse, ApiError> {
    let pool = &eligibility.pool;
    let asked = resource("verification_task", &task_id);
    require_audited(
        &access,
        pool,
        AREA_CHANGERS,
        "resolving a verification task",
        "verification_task.resolve",
        &asked,
    )
    .await?;
    let task_id = parse_id("task_id", &task_id)?;
    let by = change_by(&access, "verification_task.resolve", &asked, area_scope(&access));
    match eligibility.resolve_verification_task(task_id, &body, &by).await {
        Ok(resolved) => {
            tracing::info!(task.id = %task_id, outcome = %resolved.status, "verification task resolved");
            Ok(HttpResponse::Ok().json(resolved))
        }
        Err(error) => Err(audit_refusal(&access, pool, "verification_task.resolve", asked, error).await),
    }
}

/// Reinstates an enrolment ended as excluded.
///
/// Starts a new enrolment of the same programme and beneficiary (its `EnrolmentStarted`
/// names the one it reinstates), after the checks a decision makes: the beneficiary is
/// alive, holds no current enrolment in the programme, and holds nothing it excludes. The
/// officer is the one the token names (back office or a coordinator of the beneficiary's
/// area).
#[utoipa::path(
    post,
    path = "/v1/enrolments/{enrolment_id}/reinstate",
    params(("enrolment_id" = String, Path, description = "The ended enrolment (UUID)")),
    request_body = Reinstate,
    responses(
        (status = 201, description = "The new enrolment", body = Reinstated),
        (status = 400, description = "reason missing, or longer than 500 characters", body = ErrorBody),
        (status = 401, description = "No token, or one that is refused", body = ErrorBody),
        (status = 403, description = "Not back office or a coordinator", body = ErrorBody),
        (status = 404, description = "No such enrolment, or one of a beneficiary outside your area", body = ErrorBody),
        (status = 422, description = "Not an excluded enrolment, a deceased beneficiary, or an overlap", body = ErrorBody),
    )
)]
async fn reinstate(
    access: Access,
    eligibility: web::Data<Eligibility>,
    enrolment_id: web::Path<String>,
    body: slrt_errors::Json<Reinstate>,
) -> Result<HttpResponse, ApiError> {
    let pool = &eligibility.pool;
    let asked = resource("enrolment", &enrolment_id);
    require_audited(
        &access,
        pool,
        AREA_CHANGERS,
        "reinstating an enrolment",
        "enrolment.reinstate",
        &asked,
    )
    .await?;
    let enrolment_id = parse_id("enrolment_id", &enrolment_id)?;
    let by = change_by(&access, "enrolment.reinstate", &asked, area_scope(&access));
    match eligibility.reinstate(enrolment_id, &body, &by).await {
        Ok(reinstated) => Ok(HttpResponse::Created().json(reinstated)),
        Err(error) => Err(audit_refusal(&access, pool, "enrolment.reinstate", asked, error).await),
    }
}
