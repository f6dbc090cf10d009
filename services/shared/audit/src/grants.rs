//! Temporary access outside one's area: given, listed and revoked over HTTP, the same in
//! every service that scopes by area.
//!
//! - `POST /v1/access-grants`: a coordinator or supervisor lets one person act in part of
//!   their own area until `valid_until` (at most 72 hours ahead), for a reason.
//! - `GET /v1/access-grants`: the grants of the caller's area (coordinators, supervisors),
//!   every grant (auditors), or the caller's own.
//! - `POST /v1/access-grants/{id}/revoke`: ends a grant early, with a reason.
//!
//! Each is recorded in the audit log; each use of a grant is recorded by the handler that
//! used it ([`crate::access::Access::record`]).

use actix_web::{HttpResponse, web};
use chrono::{DateTime, SubsecRound, Utc};
use serde::{Deserialize, Serialize};
use slrt_auth::Role;
use slrt_errors::ApiError;
use uuid::Uuid;

use crate::Outcome;
use crate::access::{Access, MAX_GRANT};
use crate::http::AuditLog;

/// Who gives and revokes grants for their area.
pub const GRANTORS: &[Role] = &[Role::Coordinator, Role::Supervisor];

const REASON_MIN: usize = 10;
const REASON_MAX: usize = 500;
const SUBJECT_MAX: usize = 200;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/access-grants", web::post().to(create))
        .route("/v1/access-grants", web::get().to(list))
        .route("/v1/access-grants/{id}/revoke", web::post().to(revoke));
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct GrantBody {
    grantee: Option<String>,
    region: Option<String>,
    reason: Option<String>,
    valid_until: Option<String>,
}

/// A grant as the API shows it.
#[derive(Debug, Serialize, sqlx::FromRow)]
struct Grant {
    id: Uuid,
    grantee: String,
    region: String,
    reason: String,
    granted_by: String,
    granted_at: DateTime<Utc>,
    valid_until: DateTime<Utc>,
    revoked_at: Option<DateTime<Utc>>,
    revoked_by: Option<String>,
    revoke_reason: Option<String>,
}

fn text_field(field: &str, value: Option<String>, min: usize, max: usize) -> Result<String, ApiError> {
    let text = value
        .map(|text| text.trim().to_string())
        .filter(|text| !text.is_empty())
        .ok_or_else(|| ApiError::invalid(field, "is required"))?;
    let length = text.chars().count();
    if length < min || length > max {
        return Err(ApiError::invalid(
            field,
            format!("must be {min} to {max} characters, found {length}"),
        ));
    }
    Ok(text)
}

fn reason(value: Option<String>) -> Result<String, ApiError> {
    text_field("reason", value, REASON_MIN, REASON_MAX)
        .map_err(|error| ApiError::invalid("reason", format!("{} (say why the access is needed)", error.message)))
}

async fn create(
    access: Access,
    log: web::Data<AuditLog>,
    body: slrt_errors::Json<GrantBody>,
) -> Result<HttpResponse, ApiError> {
    access.require(GRANTORS, "giving temporary access")?;
    let body = body.into_inner();
    let grantee = text_field("grantee", body.grantee, 1, SUBJECT_MAX)?;
    let region = text_field("region", body.region, 2, 13)?;
    if !slrt_auth::is_region_code(&region) {
        return Err(ApiError::invalid(
            "region",
            format!("{region:?} is not a dotted Kemendagri code (e.g. \"33.75.02\" or \"33.75.02.1003\")"),
        ));
    }
    let reason = reason(body.reason)?;
    let until_text = text_field("valid_until", body.valid_until, 1, 64)?;
    let valid_until = DateTime::parse_from_rfc3339(&until_text)
        .map(|time| time.to_utc().trunc_subsecs(6))
        .map_err(|_| ApiError::invalid("valid_until", format!("{until_text:?} is not an RFC 3339 time")))?;
    let now = Utc::now().trunc_subsecs(6);
    if valid_until <= now {
        return Err(ApiError::invalid("valid_until", "must be in the future"));
    }
    if valid_until > now + MAX_GRANT {
        return Err(ApiError::invalid(
            "valid_until",
            format!("a grant lasts at most {} hours", MAX_GRANT.num_hours()),
        ));
    }
    // Only the area's own people let others in: a grant is never passed on.
    if !access.principal.covers_region(&region) {
        access
            .audit(
                &log.pool,
                "access_grant.create",
                format!("region/{region}"),
                vec![],
                Outcome::Denied,
                serde_json::json!({ "grantee": grantee, "region": region }),
            )
            .await?;
        return Err(ApiError::new(
            slrt_errors::ErrorCode::Forbidden,
            format!("region {region} is outside your area; its own coordinator or supervisor gives access to it"),
        ));
    }
    if grantee == access.principal.subject {
        return Err(ApiError::invalid("grantee", "nobody grants access to themselves"));
    }
    let id = Uuid::now_v7();
    let mut tx = log.pool.begin().await.map_err(ApiError::unavailable)?;
    let grant: Grant = sqlx::query_as(
        "INSERT INTO access_grants (id, grantee, region, reason, granted_by, granted_at, valid_until)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         RETURNING id, grantee, region, reason, granted_by, granted_at, valid_until, revoked_at, revoked_by, revoke_reason",
    )
    .bind(id)
    .bind(&grantee)
    .bind(&region)
    .bind(&reason)
    .bind(&access.principal.subject)
    .bind(now)
    .bind(valid_until)
    .fetch_one(&mut *tx)
    .await
    .map_err(ApiError::unavailable)?;
    crate::record(
        &mut tx,
        &access.record(
            "access_grant.create",
            format!("access_grant/{id}"),
            vec![],
            Outcome::Allowed,
            serde_json::json!({
                "grantee": grantee,
                "region": region,
                "reason": reason,
                "valid_until": valid_until,
            }),
        ),
    )
    .await
    .map_err(ApiError::unavailable)?;
    tx.commit().await.map_err(ApiError::unavailable)?;
    Ok(HttpResponse::Created().json(grant))
}

#[derive(Debug, Deserialize)]
struct ListQuery {
    grantee: Option<String>,
    active: Option<String>,
}

#[derive(Debug, Serialize)]
struct GrantList {
    grants: Vec<Grant>,
}

/// At most this many grants are listed, newest first.
const LIST_CAP: i64 = 500;

async fn list(
    access: Access,
    log: web::Data<AuditLog>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    let active_only = match query.active.as_deref() {
        None | Some("false") => false,
        Some("true") => true,
        Some(other) => {
            return Err(ApiError::invalid("active", format!("{other:?} is not true or false")));
        }
    };
    // Auditors see every grant; grantors those of their area and their own; anyone else
    // their own.
    let everything = access.principal.has(Role::Auditor);
    let area = (!everything && access.has_any(GRANTORS))
        .then(|| access.principal.region.clone())
        .flatten();
    let grants: Vec<Grant> = sqlx::query_as(
        "SELECT id, grantee, region, reason, granted_by, granted_at, valid_until, revoked_at, revoked_by, revoke_reason
         FROM access_grants
         WHERE ($1 OR grantee = $2 OR ($3::text IS NOT NULL AND (region = $3 OR region LIKE $3 || '.%')))
           AND ($4::text IS NULL OR grantee = $4)
           AND (NOT $5 OR (revoked_at IS NULL AND valid_until > now()))
         ORDER BY granted_at DESC
         LIMIT $6",
    )
    .bind(everything)
    .bind(&access.principal.subject)
    .bind(area)
    .bind(query.grantee)
    .bind(active_only)
    .bind(LIST_CAP)
    .fetch_all(&log.pool)
    .await
    .map_err(ApiError::unavailable)?;
    access
        .audit(
            &log.pool,
            "access_grant.list",
            "access_grants",
            vec![],
            Outcome::Allowed,
            serde_json::json!({ "returned": grants.len() }),
        )
        .await?;
    Ok(HttpResponse::Ok().json(GrantList { grants }))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RevokeBody {
    reason: Option<String>,
}

async fn revoke(
    access: Access,
    log: web::Data<AuditLog>,
    path: web::Path<String>,
    body: slrt_errors::Json<RevokeBody>,
) -> Result<HttpResponse, ApiError> {
    access.require(GRANTORS, "revoking temporary access")?;
    let id = Uuid::parse_str(path.trim())
        .map_err(|_| ApiError::invalid("id", format!("{:?} is not a grant id", path.as_str())))?;
    let reason = reason(body.into_inner().reason)?;
    let mut tx = log.pool.begin().await.map_err(ApiError::unavailable)?;
    let region: Option<String> = sqlx::query_scalar("SELECT region FROM access_grants WHERE id = $1 FOR UPDATE")
        .bind(id)
        .fetch_optional(&mut *tx)
        .await
        .map_err(ApiError::unavailable)?;
    let Some(region) = region.filter(|region| access.principal.covers_region(region)) else {
        drop(tx);
        access
            .audit(
                &log.pool,
                "access_grant.revoke",
                format!("access_grant/{id}"),
                vec![],
                Outcome::NotFound,
                serde_json::json!({}),
            )
            .await?;
        return Err(ApiError::not_found(format!("no grant {id} in your area")));
    };
    let grant: Grant = sqlx::query_as(
        "UPDATE access_grants
         SET revoked_at = coalesce(revoked_at, now()),
             revoked_by = coalesce(revoked_by, $2),
             revoke_reason = coalesce(revoke_reason, $3)
         WHERE id = $1
         RETURNING id, grantee, region, reason, granted_by, granted_at, valid_until, revoked_at, revoked_by, revoke_reason",
    )
    .bind(id)
    .bind(&access.principal.subject)
    .bind(&reason)
    .fetch_one(&mut *tx)
    .await
    .map_err(ApiError::unavailable)?;
    crate::record(
        &mut tx,
        &access.record(
            "access_grant.revoke",
            format!("access_grant/{id}"),
            vec![],
            Outcome::Allowed,
            serde_json::json!({ "region": region, "reason": reason }),
        ),
    )
    .await
    .map_err(ApiError::unavailable)?;
    tx.commit().await.map_err(ApiError::unavailable)?;
    Ok(HttpResponse::Ok().json(grant))
}
