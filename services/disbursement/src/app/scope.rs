//! Whose payments a caller sees, how much of a list comes at once, and whom a read or a
//! change concerns (for its audit record).
//!
//! A payment is seen through its entitlement, which keeps the region of the client's address,
//! the agency that accepted the referral and the keyed token of the client's NIK (migration
//! 0104). Every query of payments that names people takes a [`Scope`] as a filter, so a
//! payment outside it is "not found", the same answer as a payment that does not exist.

use slrt_errors::ApiError;

/// Which entitlements' payments a caller may see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// This system's own services, auditors and the regency's finance work on whole batches:
    /// every payment.
    Everything,
    /// Area roles: entitlements whose client lives within one of `areas` (the caller's own
    /// and any granted to them). Entitlements without a recorded region only when
    /// `unplaced`: the caller's area is the whole regency or wider, and so holds them too.
    Areas { areas: Vec<String>, unplaced: bool },
    /// An agency: the entitlements of referrals it accepted.
    Agency(String),
}

/// Whether `code` lies in `area`, by whole dotted segments ("33.75" covers "33.75.01", not
/// "33.750").
fn within(area: &str, code: &str) -> bool {
    code == area || code.strip_prefix(area).is_some_and(|rest| rest.starts_with('.'))
}

/// Whether an area is a whole regency ("33.75") or wider (a province, "33").
pub fn is_regency_wide(area: &str) -> bool {
    area.split('.').count() <= 2
}

impl Scope {
    /// Whether an entitlement of `region` accepted by `opd` is within the scope.
    pub fn covers(&self, region: Option<&str>, opd: Option<&str>) -> bool {
        match self {
            Scope::Everything => true,
            Scope::Areas { areas, unplaced } => match region {
                Some(region) => areas.iter().any(|area| within(area, region)),
                None => *unplaced,
            },
            Scope::Agency(agency) => opd == Some(agency.as_str()),
        }
    }

    /// The SQL condition on the entitlement aliased `alias`, taking three parameters from
    /// `$first` on; bind [`Scope::values`] to them in order.
    pub fn predicate(alias: &str, first: usize) -> String {
        let (areas, unplaced, agency) = (first, first + 1, first + 2);
        format!(
            "(${areas}::text[] IS NULL OR {alias}.region_code LIKE ANY(${areas}::text[]) \
               OR ({alias}.region_code IS NULL AND ${unplaced}::boolean)) \
             AND (${agency}::text IS NULL OR {alias}.opd_code = ${agency}::text)"
        )
    }

    /// The values of [`Scope::predicate`]'s parameters: `LIKE` patterns of the areas (each
    /// area and everything below it; none for no area filter), whether entitlements without
    /// a region are seen, and the agency.
    pub fn values(&self) -> (Option<Vec<String>>, bool, Option<String>) {
        match self {
            Scope::Everything => (None, true, None),
            Scope::Areas { areas, unplaced } => (Some(slrt_audit::access::area_patterns(areas)), *unplaced, None),
            Scope::Agency(agency) => (None, true, Some(agency.clone())),
        }
    }
}

/// Items per page when the caller names no `limit`.
pub const DEFAULT_LIMIT: i64 = 100;
/// The most items one page holds, whatever the caller asks for.
pub const MAX_LIMIT: i64 = 1_000;

/// A page size from the `limit` query value: 1 to [`MAX_LIMIT`], [`DEFAULT_LIMIT`] when
/// absent.
pub fn page_limit(text: Option<&str>) -> Result<i64, ApiError> {
    let Some(text) = text.map(str::trim) else {
        return Ok(DEFAULT_LIMIT);
    };
    text.parse::<i64>()
        .ok()
        .filter(|limit| (1..=MAX_LIMIT).contains(limit))
        .ok_or_else(|| {
            let shown: String = text.chars().take(32).collect();
            ApiError::invalid(
                "limit",
                format!("{shown:?} is not a page size: a whole number from 1 to {MAX_LIMIT}"),
            )
        })
}

/// Whom a read or a change concerns, for its audit record: the keyed NIK tokens of the
/// clients whose entitlements keep one, and the beneficiary ids of those that do not
/// (entitlements opened before tokens were kept).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Concerned {
    pub nik_tokens: Vec<String>,
    pub without_token: Vec<String>,
}

impl Concerned {
    pub fn add(&mut self, nik_token: Option<&str>, beneficiary_id: &str) {
        match nik_token {
            Some(token) if !self.nik_tokens.iter().any(|known| known == token) => {
                self.nik_tokens.push(token.to_owned());
            }
            Some(_) => {}
            None if !self.without_token.iter().any(|known| known == beneficiary_id) => {
                self.without_token.push(beneficiary_id.to_owned());
            }
            None => {}
        }
    }

    /// `detail` with the beneficiaries known only by id, when there are any.
    pub fn detail(&self, mut detail: serde_json::Value) -> serde_json::Value {
        if !self.without_token.is_empty()
            && let serde_json::Value::Object(map) = &mut detail
        {
            map.insert(
                "beneficiaries_without_nik_token".to_owned(),
                serde_json::json!(self.without_token),
            );
        }
        detail
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn areas_cover_their_villages_by_whole_segments_and_the_regency_its_unplaced_entitlements() {
        let district = Scope::Areas {
            areas: vec!["33.75.01".into()],
            unplaced: false,
        };
        assert!(district.covers(Some("33.75.01.1002"), None));
        assert!(!district.covers(Some("33.75.02.1001"), None));
        assert!(!district.covers(Some("33.75.011"), None));
        assert!(
            !district.covers(None, None),
            "only the regency holds what has no region"
        );
        let regency = Scope::Areas {
            areas: vec!["33.75".into()],
            unplaced: true,
        };
        assert!(regency.covers(None, None));
        assert!(!regency.covers(Some("34.04.01.2001"), None));
        assert_eq!(
            regency.values(),
            (Some(vec!["33.75".to_owned(), "33.75.%".to_owned()]), true, None)
        );
    }

    #[test]
    fn an_agency_sees_its_own_referrals_payments_only() {
        let dinsos = Scope::Agency("DINSOS".into());
        assert!(dinsos.covers(Some("33.75.01.1002"), Some("DINSOS")));
        assert!(!dinsos.covers(Some("33.75.01.1002"), Some("DINKES")));
        assert!(!dinsos.covers(None, None));
        assert!(Scope::Everything.covers(None, None));
    }

    #[test]
    fn regency_wide_areas_have_at_most_two_segments() {
        assert!(is_regency_wide("33.75"));
        assert!(is_regency_wide("33"));
        assert!(!is_regency_wide("33.75.01"));
    }

    #[test]
    fn page_sizes_run_from_one_to_the_cap_and_anything_else_names_limit() {
        assert_eq!(page_limit(None).ok(), Some(DEFAULT_LIMIT));
        assert_eq!(page_limit(Some("1000")).ok(), Some(1000));
        for bad in ["0", "1001", "-1", "ten", ""] {
            let error = page_limit(Some(bad)).err();
            assert_eq!(error.and_then(|e| e.field).as_deref(), Some("limit"), "{bad}");
        }
    }

    #[test]
    fn the_concerned_are_named_once_and_those_without_a_token_by_id_in_the_detail() {
        let mut concerned = Concerned::default();
        concerned.add(Some("k1.aa"), "hh-1");
        concerned.add(Some("k1.aa"), "hh-1");
        concerned.add(None, "hh-2");
        concerned.add(None, "hh-2");
        assert_eq!(concerned.nik_tokens, ["k1.aa"]);
        let detail = concerned.detail(serde_json::json!({"batch_id": "PKH:2026-Q4:1"}));
        assert_eq!(detail["beneficiaries_without_nik_token"], serde_json::json!(["hh-2"]));
        assert_eq!(
            Concerned::default().detail(serde_json::json!({})),
            serde_json::json!({})
        );
    }
}
