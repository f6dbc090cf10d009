//! The authenticated caller: roles and the area or agency they act for.

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};

/// What a person does in the SLRT; one token may carry several.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Registers cases at a Puskesos or SLRT desk, within their area.
    DeskOperator,
    /// Verifies, adjudicates duplicates and prepares payments, within their area.
    BackOffice,
    /// Manager or coordinator (Koordinator Puskesos, Manajer SLRT): answers escalations and
    /// checks what the back office prepared, within their area.
    Coordinator,
    /// Reads every case of their area (a regency-wide supervisor has the regency's code).
    Supervisor,
    /// Works one agency's (OPD's) referrals, and only those.
    OpdOfficer,
    /// Reads the audit log and the access reports; changes nothing.
    Auditor,
    /// Operates the system (settings, keys, clocks); sees no personal data by this role.
    Administrator,
    /// An agency's own system integrating over gRPC (client credentials); acts for its OPD.
    OpdSystem,
    /// An evidence feed (civil registry, vehicle registry, payroll, the social registry);
    /// the token's `opd` names the supplying agency.
    DataFeed,
    /// One of this system's own services calling another.
    Service,
}

impl Role {
    pub const ALL: [Role; 10] = [
        Role::DeskOperator,
        Role::BackOffice,
        Role::Coordinator,
        Role::Supervisor,
        Role::OpdOfficer,
        Role::Auditor,
        Role::Administrator,
        Role::OpdSystem,
        Role::DataFeed,
        Role::Service,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Role::DeskOperator => "desk_operator",
            Role::BackOffice => "back_office",
            Role::Coordinator => "coordinator",
            Role::Supervisor => "supervisor",
            Role::OpdOfficer => "opd_officer",
            Role::Auditor => "auditor",
            Role::Administrator => "administrator",
            Role::OpdSystem => "opd_system",
            Role::DataFeed => "data_feed",
            Role::Service => "service",
        }
    }

    pub fn parse(code: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|role| role.code() == code)
    }

    /// Roles that act for one agency, and so need an `opd` in the token.
    fn needs_opd(self) -> bool {
        matches!(self, Role::OpdOfficer | Role::OpdSystem | Role::DataFeed)
    }

    /// Roles whose work is bounded by an area, and so need a region in the token.
    fn needs_region(self) -> bool {
        matches!(
            self,
            Role::DeskOperator | Role::BackOffice | Role::Coordinator | Role::Supervisor
        )
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// Why a token's claims do not make a usable principal.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScopeError {
    #[error("roles: the token carries no role")]
    NoRole,
    #[error("roles: {0:?} is not a role of this system")]
    UnknownRole(String),
    #[error("region: the {0} role acts within an area, and the token names none")]
    MissingRegion(Role),
    #[error("region: {0:?} is not a dotted Kemendagri code (e.g. \"33.75\" or \"33.75.01.1002\")")]
    BadRegion(String),
    #[error("opd: the {0} role acts for one agency, and the token names none")]
    MissingOpd(Role),
    #[error("opd: {0:?} is not an agency code (capital letters, digits and '-')")]
    BadOpd(String),
}

/// An authenticated person, as the token describes them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Principal {
    /// The identity provider's stable id for the person (`sub`).
    pub subject: String,
    /// Display name, for audit records and screens; may be empty.
    pub name: String,
    pub roles: BTreeSet<Role>,
    /// Kemendagri code of the area the person works in (province, regency, district or
    /// village, dotted); `None` for roles not bounded by an area.
    pub region: Option<String>,
    /// The agency an OPD officer works for.
    pub opd: Option<String>,
}

impl Principal {
    /// Builds a principal from the token's claims, refusing combinations no handler could
    /// scope: an area role without an area, an OPD officer without an agency.
    pub fn from_claims(
        subject: String,
        name: String,
        role_codes: &[String],
        region: Option<String>,
        opd: Option<String>,
    ) -> Result<Principal, ScopeError> {
        let mut roles = BTreeSet::new();
        for code in role_codes {
            roles.insert(Role::parse(code).ok_or_else(|| ScopeError::UnknownRole(code.clone()))?);
        }
        if roles.is_empty() {
            return Err(ScopeError::NoRole);
        }
        let region = region.filter(|code| !code.is_empty());
        if let Some(code) = &region
            && !is_region_code(code)
        {
            return Err(ScopeError::BadRegion(code.clone()));
        }
        if let Some(role) = roles.iter().copied().find(|role| role.needs_region())
            && region.is_none()
        {
            return Err(ScopeError::MissingRegion(role));
        }
        let opd = opd.filter(|code| !code.is_empty());
        if let Some(code) = &opd
            && !is_opd_code(code)
        {
            return Err(ScopeError::BadOpd(code.clone()));
        }
        if let Some(role) = roles.iter().copied().find(|role| role.needs_opd())
            && opd.is_none()
        {
            return Err(ScopeError::MissingOpd(role));
        }
        Ok(Principal {
            subject,
            name,
            roles,
            region,
            opd,
        })
    }

    pub fn has(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    pub fn has_any(&self, roles: &[Role]) -> bool {
        roles.iter().any(|role| self.has(*role))
    }

    /// Whether a record of region `code` (a village, usually) lies within the person's area.
    /// Codes compare by whole dotted segments, so "33.7" covers nothing and "33.75" does not
    /// cover "33.750".
    pub fn covers_region(&self, code: &str) -> bool {
        match &self.region {
            None => false,
            Some(area) => {
                code == area
                    || code
                        .strip_prefix(area.as_str())
                        .is_some_and(|rest| rest.starts_with('.'))
            }
        }
    }

    /// Whether the person works for agency `opd_code`.
    pub fn works_for(&self, opd_code: &str) -> bool {
        self.opd.as_deref() == Some(opd_code)
    }
}

/// A dotted Kemendagri code: 2-digit province, then optionally 2-digit regency, 2-digit
/// district and 4-digit village.
pub fn is_region_code(code: &str) -> bool {
    let widths = [2, 2, 2, 4];
    let segments: Vec<&str> = code.split('.').collect();
    !segments.is_empty()
        && segments.len() <= widths.len()
        && segments
            .iter()
            .zip(widths)
            .all(|(segment, width)| segment.len() == width && segment.bytes().all(|b| b.is_ascii_digit()))
}

fn is_opd_code(code: &str) -> bool {
    (2..=32).contains(&code.len())
        && code
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn principal(roles: &[&str], region: Option<&str>, opd: Option<&str>) -> Result<Principal, ScopeError> {
        Principal::from_claims(
            "user-1".to_string(),
            "Sri Wahyuni".to_string(),
            &roles.iter().map(|r| r.to_string()).collect::<Vec<_>>(),
            region.map(str::to_string),
            opd.map(str::to_string),
        )
    }

    #[test]
    fn an_area_is_covered_by_whole_segments_only() {
        let desk = principal(&["desk_operator"], Some("33.75.01"), None).expect("valid");

        assert!(desk.covers_region("33.75.01"));
        assert!(desk.covers_region("33.75.01.1002"));
        assert!(!desk.covers_region("33.75.02.1001"));
        assert!(!desk.covers_region("33.75"));
        assert!(!desk.covers_region("33.75.011"));
    }

    #[test]
    fn an_area_role_needs_an_area_and_an_opd_officer_an_agency() {
        assert_eq!(
            principal(&["desk_operator"], None, None),
            Err(ScopeError::MissingRegion(Role::DeskOperator))
        );
        assert_eq!(
            principal(&["opd_officer"], None, None),
            Err(ScopeError::MissingOpd(Role::OpdOfficer))
        );
        assert_eq!(
            principal(&["opd_system"], None, None),
            Err(ScopeError::MissingOpd(Role::OpdSystem))
        );
        assert!(principal(&["service"], None, None).is_ok());
        assert!(principal(&["opd_officer"], None, Some("DINSOS")).is_ok());
        assert!(principal(&["auditor"], None, None).is_ok());
    }

    #[test]
    fn unknown_roles_bad_areas_and_bad_agencies_are_refused_by_name() {
        assert_eq!(principal(&[], None, None), Err(ScopeError::NoRole));
        assert_eq!(
            principal(&["root"], None, None),
            Err(ScopeError::UnknownRole("root".to_string()))
        );
        assert_eq!(
            principal(&["supervisor"], Some("33.7"), None),
            Err(ScopeError::BadRegion("33.7".to_string()))
        );
        assert_eq!(
            principal(&["opd_officer"], None, Some("dinsos")),
            Err(ScopeError::BadOpd("dinsos".to_string()))
        );
    }

    #[test]
    fn an_officer_works_for_their_agency_only() {
        let officer = principal(&["opd_officer"], None, Some("DINKES")).expect("valid");

        assert!(officer.works_for("DINKES"));
        assert!(!officer.works_for("DINSOS"));
        assert!(!officer.covers_region("33"));
    }
}
