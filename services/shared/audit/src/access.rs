//! The caller of an HTTP request as a handler sees it: who they are, why they ask, and
//! which areas they may act in right now, their own and any temporary grant.
//!
//! A handler takes an [`Access`] argument; the request is answered 401 before the handler
//! runs when the token is missing or refused. Everything the handler decides about scope
//! goes through [`Access::covers`] (one record) or [`Access::areas`] (a query filter), so a
//! temporary grant widens both, until it ends, without a handler knowing grants exist.
//!
//! Temporary grants (`access_grants`) are given by a coordinator or supervisor of an area
//! to one named person, with a reason and an end no more than [`MAX_GRANT`] away. Every
//! audit record written while a grant is in force names it ([`Access::record`]).

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};
use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use slrt_auth::{Principal, Role};
use slrt_errors::{ApiError, ErrorCode};
use sqlx::PgPool;
use uuid::Uuid;

use crate::http::AuditLog;
use crate::{AuditRecord, Outcome};

/// The header a caller names the purpose of a request in; recorded in the audit log.
pub const PURPOSE_HEADER: &str = "x-slrt-purpose";

/// The longest a temporary grant may last.
pub const MAX_GRANT: Duration = Duration::hours(72);

/// A temporary grant in force for the caller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ActiveGrant {
    pub id: Uuid,
    pub region: String,
    pub valid_until: DateTime<Utc>,
}

/// An authenticated HTTP caller.
#[derive(Debug, Clone)]
pub struct Access {
    pub principal: Principal,
    /// What the caller said the request is for (the `x-slrt-purpose` header).
    pub purpose: Option<String>,
    /// Temporary grants in force when the request arrived.
    pub grants: Vec<ActiveGrant>,
}

impl FromRequest for Access {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Access, ApiError>>>>;

    fn from_request(request: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let principal = Principal::from_request(request, payload).into_inner();
        let purpose = purpose_of(request);
        let pool = request.app_data::<web::Data<AuditLog>>().map(|log| log.pool.clone());
        Box::pin(async move {
            let principal = principal?;
            let Some(pool) = pool else {
                // A wiring mistake, not the caller's: refuse rather than guess the scope.
                return Err(ApiError::internal("no audit log is configured for this app"));
            };
            // Only area roles have areas a grant could widen.
            let grants = if principal.region.is_some() {
                active_grants(&pool, &principal.subject)
                    .await
                    .map_err(ApiError::unavailable)?
            } else {
                Vec::new()
            };
            Ok(Access {
                principal,
                purpose,
                grants,
            })
        })
    }
}

fn purpose_of(request: &HttpRequest) -> Option<String> {
    request
        .headers()
        .get(PURPOSE_HEADER)
        .and_then(|value| value.to_str().ok())
        .map(|text| text.trim().chars().take(200).collect::<String>())
        .filter(|text| !text.is_empty())
}

/// The grants in force for `subject` now.
pub async fn active_grants(pool: &PgPool, subject: &str) -> Result<Vec<ActiveGrant>, sqlx::Error> {
    let rows: Vec<(Uuid, String, DateTime<Utc>)> = sqlx::query_as(
        "SELECT id, region, valid_until FROM access_grants
         WHERE grantee = $1 AND revoked_at IS NULL AND valid_until > now()
         ORDER BY granted_at",
    )
    .bind(subject)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, region, valid_until)| ActiveGrant {
            id,
            region,
            valid_until,
        })
        .collect())
}

/// Refuses a caller holding none of `roles`, naming what they asked for and who may.
pub fn require(principal: &Principal, roles: &[Role], what: &str) -> Result<(), ApiError> {
    if principal.has_any(roles) {
        return Ok(());
    }
    let allowed: Vec<&str> = roles.iter().map(|role| role.code()).collect();
    Err(ApiError::new(
        ErrorCode::Forbidden,
        format!("{what} needs one of the roles: {}", allowed.join(", ")),
    ))
}

/// Whether `code` lies in `area`, by whole dotted segments.
fn within(area: &str, code: &str) -> bool {
    code == area || code.strip_prefix(area).is_some_and(|rest| rest.starts_with('.'))
}

impl Access {
    pub fn subject(&self) -> &str {
        &self.principal.subject
    }

    pub fn has_any(&self, roles: &[Role]) -> bool {
        self.principal.has_any(roles)
    }

    /// Refuses a caller holding none of `roles`.
    pub fn require(&self, roles: &[Role], what: &str) -> Result<(), ApiError> {
        require(&self.principal, roles, what)
    }

    /// Whether a record of region `code` lies in the caller's own area or a granted one.
    pub fn covers(&self, code: &str) -> bool {
        self.principal.covers_region(code) || self.grants.iter().any(|grant| within(&grant.region, code))
    }

    /// The areas the caller may act in now: their own first, then the granted ones. Empty
    /// for a caller without an area (an agency, a system, an auditor).
    pub fn areas(&self) -> Vec<String> {
        self.principal
            .region
            .iter()
            .cloned()
            .chain(self.grants.iter().map(|grant| grant.region.clone()))
            .collect()
    }

    /// `LIKE` patterns matching every region code in [`Access::areas`], for a query
    /// (`region_code LIKE ANY($1)`): each area itself and everything below it.
    pub fn area_patterns(&self) -> Vec<String> {
        area_patterns(&self.areas())
    }

    /// The grant, if any, that lets the caller act on a record of region `code` that their
    /// own area does not cover.
    pub fn grant_for(&self, code: &str) -> Option<&ActiveGrant> {
        if self.principal.covers_region(code) {
            return None;
        }
        self.grants.iter().find(|grant| within(&grant.region, code))
    }

    /// The audit record of this caller doing `action` to `resource`, touching the people
    /// whose NIK tokens are `subjects`. The grants in force are added to the detail.
    pub fn record(
        &self,
        action: &str,
        resource: impl Into<String>,
        subjects: Vec<String>,
        outcome: Outcome,
        mut detail: serde_json::Value,
    ) -> AuditRecord {
        if !self.grants.is_empty() {
            let grants = serde_json::json!(
                self.grants
                    .iter()
                    .map(|grant| serde_json::json!({ "id": grant.id, "region": grant.region }))
                    .collect::<Vec<_>>()
            );
            match &mut detail {
                serde_json::Value::Object(map) => {
                    map.insert("grants_in_force".to_string(), grants);
                }
                serde_json::Value::Null => detail = serde_json::json!({ "grants_in_force": grants }),
                other => {
                    *other = serde_json::json!({ "detail": other.clone(), "grants_in_force": grants });
                }
            }
        }
        AuditRecord {
            actor: self.principal.subject.clone(),
            actor_roles: self
                .principal
                .roles
                .iter()
                .map(|role| role.code().to_string())
                .collect(),
            action: action.to_string(),
            resource: resource.into(),
            subjects,
            purpose: self.purpose.clone(),
            outcome,
            detail,
        }
    }

    /// Writes [`Access::record`] in a transaction of its own. A read whose record cannot be
    /// written is not answered: there is no access without its record.
    pub async fn audit(
        &self,
        pool: &PgPool,
        action: &str,
        resource: impl Into<String>,
        subjects: Vec<String>,
        outcome: Outcome,
        detail: serde_json::Value,
    ) -> Result<(), ApiError> {
        crate::record_alone(pool, &self.record(action, resource, subjects, outcome, detail))
            .await
            .map(|_| ())
            .map_err(ApiError::unavailable)
    }
}

/// `LIKE` patterns for region codes in any of `areas` (the area and everything below it).
pub fn area_patterns(areas: &[String]) -> Vec<String> {
    areas
        .iter()
        .flat_map(|area| [area.clone(), format!("{area}.%")])
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn desk(region: &str, grants: &[&str]) -> Access {
        Access {
            principal: Principal::from_claims(
                "desk-1".to_string(),
                String::new(),
                &["desk_operator".to_string()],
                Some(region.to_string()),
                None,
            )
            .expect("valid"),
            purpose: None,
            grants: grants
                .iter()
                .map(|region| ActiveGrant {
                    id: Uuid::nil(),
                    region: region.to_string(),
                    valid_until: Utc::now(),
                })
                .collect(),
        }
    }

    #[test]
    fn a_grant_widens_the_area_by_whole_segments() {
        let access = desk("33.75.01", &["33.75.02.1003"]);

        assert!(access.covers("33.75.01.1001"));
        assert!(access.covers("33.75.02.1003"));
        assert!(!access.covers("33.75.02.1004"));
        assert!(!access.covers("33.75.02"));
        assert_eq!(access.grant_for("33.75.01.1001"), None);
        assert_eq!(
            access.grant_for("33.75.02.1003").map(|grant| grant.region.as_str()),
            Some("33.75.02.1003")
        );
        assert_eq!(access.areas(), vec!["33.75.01", "33.75.02.1003"]);
        assert_eq!(
            access.area_patterns(),
            vec!["33.75.01", "33.75.01.%", "33.75.02.1003", "33.75.02.1003.%"]
        );
    }

    #[test]
    fn records_made_under_a_grant_name_it() {
        let record = desk("33.75.01", &["33.75.02"]).record(
            "case.read",
            "case/1",
            vec![],
            Outcome::Allowed,
            serde_json::json!({ "case": 1 }),
        );
        assert_eq!(record.detail["case"], 1);
        assert_eq!(record.detail["grants_in_force"][0]["region"], "33.75.02");

        let plain =
            desk("33.75.01", &[]).record("case.read", "case/1", vec![], Outcome::Allowed, serde_json::json!({}));
        assert!(plain.detail.get("grants_in_force").is_none());
    }
}
