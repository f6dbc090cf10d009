//! The auditors' HTTP API, the same in every service: the log filtered and paged, the
//! chain's check, and a person's access report. Only the `auditor` role may use it, and
//! every use is itself recorded.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use slrt_auth::{Principal, Role};
use slrt_errors::{ApiError, ErrorCode};
use slrt_identity::NikTokenizer;
use sqlx::PgPool;

use crate::{AuditQuery, AuditRecord, MAX_PAGE, Outcome};

/// What the auditors' routes need: the service's database and its NIK token key.
#[derive(Clone)]
pub struct AuditLog {
    pub pool: PgPool,
    pub nik_tokens: NikTokenizer,
}

impl std::fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditLog").finish_non_exhaustive()
    }
}

/// The auditors' routes and the temporary-access routes ([`crate::grants`]).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/audit", web::get().to(list))
        .route("/v1/audit/verify", web::get().to(verify))
        .route("/v1/audit/access-report", web::post().to(access_report))
        .configure(crate::grants::configure);
}

fn require_auditor(principal: &Principal) -> Result<(), ApiError> {
    if principal.has(Role::Auditor) {
        Ok(())
    } else {
        Err(ApiError::new(
            ErrorCode::Forbidden,
            "the audit log needs the role: auditor",
        ))
    }
}

async fn note(
    log: &AuditLog,
    principal: &Principal,
    action: &str,
    subjects: Vec<String>,
    detail: serde_json::Value,
) -> Result<(), ApiError> {
    crate::record_alone(
        &log.pool,
        &AuditRecord {
            actor: principal.subject.clone(),
            actor_roles: principal.roles.iter().map(|role| role.code().to_string()).collect(),
            action: action.to_string(),
            resource: "audit_log".to_string(),
            subjects,
            purpose: Some("audit".to_string()),
            outcome: Outcome::Allowed,
            detail,
        },
    )
    .await
    .map(|_| ())
    .map_err(ApiError::unavailable)
}

#[derive(Debug, Deserialize)]
struct ListQuery {
    actor: Option<String>,
    action: Option<String>,
    resource: Option<String>,
    outcome: Option<String>,
    from: Option<String>,
    to: Option<String>,
    after: Option<String>,
    limit: Option<String>,
}

#[derive(Debug, Serialize)]
struct Page {
    entries: Vec<crate::AuditEntry>,
    /// Pass as `after` for the next page; absent on the last.
    next_after: Option<i64>,
}

fn time(field: &str, text: Option<&str>) -> Result<Option<DateTime<Utc>>, ApiError> {
    text.map(|text| {
        DateTime::parse_from_rfc3339(text.trim())
            .map(|time| time.to_utc())
            .map_err(|_| ApiError::invalid(field, format!("{text:?} is not an RFC 3339 time")))
    })
    .transpose()
}

async fn list(
    principal: Principal,
    log: web::Data<AuditLog>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    require_auditor(&principal)?;
    let query = query.into_inner();
    let outcome = match query.outcome.as_deref() {
        None => None,
        Some("allowed") => Some(Outcome::Allowed),
        Some("denied") => Some(Outcome::Denied),
        Some("not_found") => Some(Outcome::NotFound),
        Some(other) => {
            return Err(ApiError::invalid(
                "outcome",
                format!("{other:?} is not an outcome (allowed, denied, not_found)"),
            ));
        }
    };
    let limit = match query.limit.as_deref() {
        None => 100,
        Some(text) => text
            .parse::<i64>()
            .ok()
            .filter(|limit| (1..=MAX_PAGE).contains(limit))
            .ok_or_else(|| ApiError::invalid("limit", format!("{text:?} is not a number from 1 to {MAX_PAGE}")))?,
    };
    let after = query
        .after
        .as_deref()
        .map(|text| {
            text.parse::<i64>()
                .map_err(|_| ApiError::invalid("after", format!("{text:?} is not the next_after of a page")))
        })
        .transpose()?;
    let filter = AuditQuery {
        actor: query.actor,
        subject_token: None,
        resource_prefix: query.resource,
        action: query.action,
        outcome,
        from: time("from", query.from.as_deref())?,
        to: time("to", query.to.as_deref())?,
        after_seq: after,
        limit,
    };
    let entries = crate::query(&log.pool, &filter).await.map_err(ApiError::unavailable)?;
    note(
        &log,
        &principal,
        "audit.list",
        vec![],
        serde_json::json!({ "returned": entries.len() }),
    )
    .await?;
    let next_after = (entries.len() as i64 == limit)
        .then(|| entries.last().map(|e| e.seq))
        .flatten();
    Ok(HttpResponse::Ok().json(Page { entries, next_after }))
}

async fn verify(principal: Principal, log: web::Data<AuditLog>) -> Result<HttpResponse, ApiError> {
    require_auditor(&principal)?;
    let report = crate::verify_chain(&log.pool).await.map_err(ApiError::unavailable)?;
    note(
        &log,
        &principal,
        "audit.verify",
        vec![],
        serde_json::json!({ "entries": report.entries }),
    )
    .await?;
    Ok(HttpResponse::Ok().json(report))
}

#[derive(Debug, Deserialize)]
struct AccessReportBody {
    #[serde(default)]
    nik: String,
}

#[derive(Debug, Serialize)]
struct AccessReport {
    /// The person's NIK, masked.
    nik_masked: String,
    accesses: Vec<crate::AccessLine>,
}

/// The NIK travels in the body, never in a URL that proxies and logs keep.
async fn access_report(
    principal: Principal,
    log: web::Data<AuditLog>,
    body: slrt_errors::Json<AccessReportBody>,
) -> Result<HttpResponse, ApiError> {
    require_auditor(&principal)?;
    let nik = body.nik.trim();
    if nik.len() != 16 || !nik.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ApiError::invalid(
            "nik",
            format!("must be 16 digits, found {} characters", nik.chars().count()),
        ));
    }
    let token = log.nik_tokens.token_of_text(nik);
    let accesses = crate::access_report(&log.pool, &token)
        .await
        .map_err(ApiError::unavailable)?;
    note(
        &log,
        &principal,
        "audit.access_report",
        vec![token],
        serde_json::json!({ "lines": accesses.len() }),
    )
    .await?;
    Ok(HttpResponse::Ok().json(AccessReport {
        nik_masked: format!("{}********{}", &nik[..4], &nik[12..]),
        accesses,
    }))
}
