//! Who may do what at intake, within which area, and the audit record of every access.
//!
//! Callers are people of the regency with a bearer token (`slrt_audit::access::Access`
//! over HTTP); over gRPC, also intake's sister services and the agencies' systems. A
//! person's area is the token's `region`, widened by any temporary grant in force.
//!
//! | what | who |
//! |---|---|
//! | register a case or complaint (the desk's region in the area) | desk_operator |
//! | withdraw, close, answer a case of the area | desk_operator |
//! | read a case, list cases, count cases of the area | desk_operator, back_office, coordinator, supervisor |
//! | export the cases of the area as CSV | supervisor |
//! | pre-screen a person (`POST /v1/people/check`) | desk_operator, back_office, coordinator |
//! | read a person or household of the area | desk_operator, back_office, coordinator, supervisor |
//! | change a household of the area (KK, head, members) | back_office, coordinator |
//! | the duplicates queue of the area, `distinct`, propose a merge | back_office, coordinator |
//! | confirm or reject a proposed merge (not one's own) | coordinator |
//! | the audit log (`slrt_audit::http`) | auditor |
//! | a case's status over gRPC | the area roles (their area), opd_officer / opd_system (cases with a need at their agency), service (any) |
//!
//! Everyone else is refused (403, naming the roles that may), administrators included:
//! they run the service and see no personal data. Where the refused request is about a
//! person's data, the refusal is audited (`denied`).
//!
//! Areas: a case's is its applicant's address region (what the supervisors' lists filter
//! by), a person's and a household's their address region, a duplicate pair's either of its
//! two records' regions. A record outside the caller's areas answers 404 exactly as one
//! that does not exist, and the attempt is audited (`not_found`): guessing ids is what an
//! auditor looks for.
//!
//! Audit records name people only by the keyed tokens of their NIKs; the purpose is the
//! `x-slrt-purpose` header or, without one, the action itself.

use slrt_audit::access::Access;
use slrt_audit::{AuditRecord, Outcome};
use slrt_auth::Role;
use slrt_errors::{ApiError, ErrorCode};
use sqlx::{Postgres, QueryBuilder};

use crate::app::Intake;

/// Who registers cases and acts on them at the desk.
pub const DESK: &[Role] = &[Role::DeskOperator];
/// Who reads cases, people and households of their area.
pub const AREA_READERS: &[Role] = &[
    Role::DeskOperator,
    Role::BackOffice,
    Role::Coordinator,
    Role::Supervisor,
];
/// Who exports the cases of their area.
pub const EXPORTERS: &[Role] = &[Role::Supervisor];
/// Who runs the desk's duplicate pre-screen.
pub const PRE_SCREENERS: &[Role] = &[Role::DeskOperator, Role::BackOffice, Role::Coordinator];
/// Who changes households and works the duplicates queue (the makers of merges).
pub const BACK_OFFICE: &[Role] = &[Role::BackOffice, Role::Coordinator];
/// Who confirms or rejects a proposed merge (the checkers).
pub const CHECKERS: &[Role] = &[Role::Coordinator];
/// Who reads a case's status over gRPC besides the area roles: intake's sister services
/// and, for cases with a need at their agency, the agencies.
pub const GRPC_READERS: &[Role] = &[
    Role::DeskOperator,
    Role::BackOffice,
    Role::Coordinator,
    Role::Supervisor,
    Role::Service,
    Role::OpdOfficer,
    Role::OpdSystem,
];

/// What a caller said a request is for, or, when they said nothing, what it does.
fn purpose_or_action(access: &Access, action: &str) -> Option<String> {
    Some(access.purpose.clone().unwrap_or_else(|| action.to_string()))
}

/// The audit record of `access` doing `action` to `resource`, touching the people whose
/// keyed NIK tokens are `subjects`.
pub fn record(
    access: &Access,
    action: &str,
    resource: impl Into<String>,
    subjects: Vec<String>,
    outcome: Outcome,
    detail: serde_json::Value,
) -> AuditRecord {
    let mut record = access.record(action, resource, subjects, outcome, detail);
    record.purpose = purpose_or_action(access, action);
    record
}

impl Intake {
    /// The keyed tokens of NIKs, for audit records; a NIK never goes there in clear.
    pub fn nik_tokens_of<'a>(&self, niks: impl IntoIterator<Item = &'a str>) -> Vec<String> {
        niks.into_iter().map(|nik| self.nik_tokens.token_of_text(nik)).collect()
    }

    /// Writes an audit record in a transaction of its own (reads, refusals). A read whose
    /// record cannot be written is not answered: there is no access without its record.
    pub async fn audit(
        &self,
        access: &Access,
        action: &str,
        resource: impl Into<String>,
        niks: &[String],
        outcome: Outcome,
        detail: serde_json::Value,
    ) -> Result<(), ApiError> {
        let subjects = self.nik_tokens_of(niks.iter().map(String::as_str));
        slrt_audit::record_alone(&self.pool, &record(access, action, resource, subjects, outcome, detail))
            .await
            .map(|_| ())
            .map_err(ApiError::unavailable)
    }

    /// Refuses a caller holding none of `roles` (403, naming who may), with the refusal
    /// audited: every endpoint this guards is about people's data.
    pub async fn permit(
        &self,
        access: &Access,
        roles: &[Role],
        what: &str,
        action: &str,
        resource: impl Into<String>,
    ) -> Result<(), ApiError> {
        let Err(refusal) = access.require(roles, what) else {
            return Ok(());
        };
        self.audit(
            access,
            action,
            resource,
            &[],
            Outcome::Denied,
            serde_json::json!({ "reason": refusal.message }),
        )
        .await?;
        Err(refusal)
    }

    /// The answer for a record that does not exist or lies outside the caller's areas (the
    /// same either way), after auditing the attempt.
    pub async fn not_found(
        &self,
        access: &Access,
        action: &str,
        resource: impl Into<String>,
        message: String,
    ) -> ApiError {
        match self
            .audit(access, action, resource, &[], Outcome::NotFound, serde_json::json!({}))
            .await
        {
            Ok(()) => ApiError::not_found(message),
            Err(failure) => failure,
        }
    }

    /// Refuses an action at a place outside the caller's areas (403 naming `field`), audited.
    pub async fn outside_area(
        &self,
        access: &Access,
        action: &str,
        resource: impl Into<String>,
        field: &str,
        region: &str,
    ) -> ApiError {
        let message = format!("{field} {region} is outside your area ({})", access.areas().join(", "));
        let audited = self
            .audit(
                access,
                action,
                resource,
                &[],
                Outcome::Denied,
                serde_json::json!({ "reason": message }),
            )
            .await;
        match audited {
            Ok(()) => ApiError::new(ErrorCode::Forbidden, message).with_field(field),
            Err(failure) => failure,
        }
    }
}

/// Whether region `code` lies in `area`, by whole dotted segments.
pub fn within(area: &str, code: &str) -> bool {
    code == area || code.strip_prefix(area).is_some_and(|rest| rest.starts_with('.'))
}

/// The fewest regions covering exactly what both `areas` and, when given, `requested`
/// cover: each area narrowed to the requested region where that lies inside it, the
/// requested region widened to nothing. Regions inside another listed one are dropped.
/// Empty when they do not meet, or when there are no areas.
pub fn effective_regions(areas: &[String], requested: Option<&str>) -> Vec<String> {
    let mut regions: Vec<String> = areas
        .iter()
        .filter_map(|area| match requested {
            None => Some(area.clone()),
            Some(requested) if within(area, requested) => Some(requested.to_string()),
            Some(requested) if within(requested, area) => Some(area.clone()),
            Some(_) => None,
        })
        .collect();
    regions.sort();
    regions.dedup();
    let all = regions.clone();
    regions.retain(|region| !all.iter().any(|other| other != region && within(other, region)));
    regions
}

/// `AND (column lies in any of regions)`, as byte ranges under the pattern operators that
/// a `text_pattern_ops` index serves with bound values (a bound `LIKE` pattern would not be
/// served in a generic plan): everything under `33.75` lies in ['33.75.', '33.75/'), '/'
/// being the byte after '.'. No regions selects nothing.
pub fn push_regions(query: &mut QueryBuilder<Postgres>, columns: &[&str], regions: &[String]) {
    if regions.is_empty() || columns.is_empty() {
        query.push(" AND FALSE");
        return;
    }
    query.push(" AND (");
    let mut first = true;
    for column in columns {
        for region in regions {
            if !first {
                query.push(" OR ");
            }
            first = false;
            query
                .push(format!("{column} = "))
                .push_bind(region.clone())
                .push(format!(" OR ({column} ~>=~ "))
                .push_bind(format!("{region}."))
                .push(format!(" AND {column} ~<~ "))
                .push_bind(format!("{region}/"))
                .push(")");
        }
    }
    query.push(")");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|item| item.to_string()).collect()
    }

    #[test]
    fn a_requested_region_is_narrowed_to_the_callers_areas() {
        let areas = strings(&["33.75"]);
        assert_eq!(effective_regions(&areas, None), ["33.75"]);
        assert_eq!(effective_regions(&areas, Some("33.75.01")), ["33.75.01"]);
        assert_eq!(effective_regions(&areas, Some("33")), ["33.75"]);
        assert!(effective_regions(&areas, Some("34.04")).is_empty());
        assert!(effective_regions(&[], None).is_empty());
    }

    #[test]
    fn a_grant_inside_the_own_area_adds_nothing_and_one_outside_it_adds_itself() {
        assert_eq!(
            effective_regions(&strings(&["33.75", "33.75.02.1004"]), None),
            ["33.75"]
        );
        assert_eq!(
            effective_regions(&strings(&["33.75.01", "33.75.02.1004"]), None),
            ["33.75.01", "33.75.02.1004"]
        );
        assert_eq!(
            effective_regions(&strings(&["33.75.01", "33.75.02.1004"]), Some("33.75")),
            ["33.75.01", "33.75.02.1004"]
        );
    }

    #[test]
    fn regions_compare_by_whole_segments() {
        assert!(within("33.75", "33.75.01.1002"));
        assert!(within("33.75", "33.75"));
        assert!(!within("33.7", "33.75"));
        assert!(!within("33.75.01", "33.75.011"));
    }
}
