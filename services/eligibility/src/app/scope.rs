//! Whose records a caller reaches, who makes a change, and whom a read or a change concerns
//! (for its audit record).
//!
//! A person's records are placed by the region of their household's address in the registry
//! (`registry_people.region_code`); a decision by the address declared at the desk; a
//! verification task by its household's region. Every use case that reads or changes them
//! takes a [`Scope`], so a record outside it is "not found", the same answer as one that
//! does not exist.

use slrt_audit::AuditRecord;
use slrt_errors::ApiError;
use slrt_identity::NikTokenizer;
use sqlx::PgExecutor;

/// Which people's records a caller may reach.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// This system's own services, the regency's evidence feeds and auditors: everyone.
    Everything,
    /// Area roles: people whose household lives within one of these areas (the caller's own
    /// and any granted to them).
    Areas(Vec<String>),
    /// An agency (an OPD officer or system): the enrolments in the programmes it owns (the
    /// catalogue names it) and those it reported itself.
    Agency(String),
}

/// Whether `code` lies in `area`, by whole dotted segments ("33.75" covers "33.75.01", not
/// "33.750").
pub fn within(area: &str, code: &str) -> bool {
    code == area || code.strip_prefix(area).is_some_and(|rest| rest.starts_with('.'))
}

/// Whether an area is a whole regency ("33.75") or wider (a province, "33").
pub fn is_regency_wide(area: &str) -> bool {
    area.split('.').count() <= 2
}

impl Scope {
    /// Whether a record placed in region `code` is within reach; an empty code is a record
    /// without a place ([`Scope::covers_unplaced`]). An agency's reach is by programme, never
    /// by place.
    pub fn covers(&self, code: &str) -> bool {
        match self {
            _ if code.is_empty() => self.covers_unplaced(),
            Scope::Everything => true,
            Scope::Areas(areas) => areas.iter().any(|area| within(area, code)),
            Scope::Agency(_) => false,
        }
    }

    /// Whether records that have no region (a ledger row of someone the registry does not
    /// know, a complaint about nobody it knows) are within reach: only of callers whose area
    /// holds the whole regency, since such a record could belong anywhere in it.
    pub fn covers_unplaced(&self) -> bool {
        match self {
            Scope::Everything => true,
            Scope::Areas(areas) => areas.iter().any(|area| is_regency_wide(area)),
            Scope::Agency(_) => false,
        }
    }

    /// `LIKE` patterns for a query's region filter (`region_code LIKE ANY($n)`); `None` when
    /// the scope filters nothing by place.
    pub fn area_patterns(&self) -> Option<Vec<String>> {
        match self {
            Scope::Everything => None,
            Scope::Areas(areas) => Some(slrt_audit::access::area_patterns(areas)),
            // No place is an agency's: a region filter finds nothing.
            Scope::Agency(_) => Some(Vec::new()),
        }
    }
}

/// Who makes a change, as the change's events and audit record name them, and where they
/// may make it.
#[derive(Debug, Clone)]
pub struct ChangeBy {
    /// The audit record of the change as the edge knows it (who, with which roles, what,
    /// on what, why, under which grants); the use case adds whom it touched and writes it
    /// in the change's own transaction, so there is no change without its record.
    pub record: AuditRecord,
    pub scope: Scope,
}

impl ChangeBy {
    /// The person or system making the change: the token's subject, never a name the
    /// request gives.
    pub fn actor(&self) -> &str {
        &self.record.actor
    }

    /// The record to write for a change that touched the people whose NIKs are `niks`,
    /// with `detail` added to what the edge put there.
    pub fn audit_record(&self, tokens: &NikTokenizer, niks: &[String], detail: serde_json::Value) -> AuditRecord {
        let mut record = self.record.clone();
        record.subjects = niks.iter().map(|nik| tokens.token_of_text(nik)).collect();
        merge_detail(&mut record.detail, detail);
        record
    }
}

/// `extra`'s fields added to `detail` (an object, or nothing yet).
pub fn merge_detail(detail: &mut serde_json::Value, extra: serde_json::Value) {
    match extra {
        serde_json::Value::Null => {}
        serde_json::Value::Object(from) if detail.is_object() => {
            if let Some(into) = detail.as_object_mut() {
                into.extend(from);
            }
        }
        extra if detail.is_null() => *detail = extra,
        extra => {
            let edge = detail.take();
            *detail = serde_json::json!({ "edge": edge, "change": extra });
        }
    }
}

/// The NIKs of the registry people named in `people`, and of every member of the households
/// named in `households`: whom a read or a change of their records concerns. Household
/// programmes are every member's data, so a household's record concerns all of them.
pub async fn niks_of(
    executor: impl PgExecutor<'_>,
    people: &[String],
    households: &[String],
) -> Result<Vec<String>, ApiError> {
    if people.is_empty() && households.is_empty() {
        return Ok(Vec::new());
    }
    sqlx::query_scalar(
        "SELECT DISTINCT nik FROM registry_people WHERE person_id = ANY($1) OR household_id = ANY($2) ORDER BY nik",
    )
    .bind(people)
    .bind(households)
    .fetch_all(executor)
    .await
    .map_err(ApiError::unavailable)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_area_reaches_its_own_villages_by_whole_segments() {
        let district = Scope::Areas(vec!["33.75.01".into(), "33.24.07.2003".into()]);

        assert!(district.covers("33.75.01.1002"));
        assert!(district.covers("33.24.07.2003"));
        assert!(!district.covers("33.24.07.2004"));
        assert!(!district.covers("33.75.011"));
        assert!(!district.covers(""));
        assert!(!district.covers_unplaced());
        assert!(Scope::Areas(vec!["33.75".into()]).covers_unplaced());
        assert!(Scope::Areas(vec!["33.75".into()]).covers(""));
        assert_eq!(
            district.area_patterns(),
            Some(vec![
                "33.75.01".to_string(),
                "33.75.01.%".to_string(),
                "33.24.07.2003".to_string(),
                "33.24.07.2003.%".to_string()
            ])
        );
    }

    #[test]
    fn everything_filters_nothing_and_an_agency_reaches_no_place() {
        assert!(Scope::Everything.covers("36.02.04.2002"));
        assert_eq!(Scope::Everything.area_patterns(), None);
        let agency = Scope::Agency("DINSOS".into());
        assert!(!agency.covers("33.75.01.1002"));
        assert_eq!(agency.area_patterns(), Some(vec![]));
    }

    #[test]
    fn a_changes_detail_is_added_to_the_edges() {
        let mut detail = serde_json::json!({ "grants_in_force": [] });
        merge_detail(&mut detail, serde_json::json!({ "outcome": "confirmed" }));
        assert_eq!(
            detail,
            serde_json::json!({ "grants_in_force": [], "outcome": "confirmed" })
        );

        let mut empty = serde_json::Value::Null;
        merge_detail(&mut empty, serde_json::json!({ "created": true }));
        assert_eq!(empty, serde_json::json!({ "created": true }));
    }
}
