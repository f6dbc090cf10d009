//! Who may do what in eligibility, what they reach, and the audit of every access (ADR 7).
//!
//! | what | who | reach |
//! |---|---|---|
//! | the catalogue and its versions (HTTP) | any authenticated caller | no personal data |
//! | a decision, a beneficiary's enrolments, verification tasks (HTTP, read) | back office, coordinators, supervisors | their area (own and granted) |
//! | resolving a task, reinstating an enrolment, graduating a household (HTTP) | back office, coordinators | their area |
//! | the violations report (HTTP) | coordinators, supervisors (their area); auditors (everything: it is an audit control) | by each row's household |
//! | the years-on-benefit report (HTTP) | coordinators, supervisors | enrolments of their area |
//! | an evidence file (HTTP) | an evidence feed (its own lines only); the back office (people of its area) | |
//! | `ScreenPerson`, `CheckPaymentEligibility` (gRPC) | this system's services | everyone |
//! | `ListEnrolments` (gRPC) | services (everything); back office, coordinators, supervisors (their area); OPD officers and systems (enrolments in the programmes their agency owns or reported) | |
//! | `ReportExternalEnrolment`, `ReportExternalEnrolmentEnded` (gRPC) | OPD officers and systems, for their own agency | the programmes it owns or reports |
//! | `EvidenceFeed.SubmitEvidence` (gRPC) | evidence feeds, for their own agency | everyone |
//! | the audit log, its chain check, access reports (`/v1/audit*`) | auditors | |
//! | temporary access grants (`/v1/access-grants`) | coordinators and supervisors of the area | |
//!
//! Administrators operate the system and see no personal data: the catalogue only. Desk
//! operators work in intake, which asks this service on their behalf with its own token.
//!
//! A record outside the caller's reach is "not found", exactly as one that does not exist,
//! and the attempt is audited: guessing ids is what an auditor looks for. A refusal for lack
//! of a role is audited when the request concerns people's data. Every read and change of a
//! person's data is audited with the keyed tokens of the NIKs concerned; a change in the
//! transaction that makes it.

use slrt_audit::Outcome;
use slrt_audit::access::{Access, PURPOSE_HEADER};
use slrt_auth::Role;
use slrt_errors::{ApiError, ErrorCode};
use sqlx::PgPool;
use tonic::{Request, Status};

use crate::app::scope::{ChangeBy, Scope};

/// Who reads decisions, enrolments and verification tasks of their area.
pub const AREA_READERS: &[Role] = &[Role::BackOffice, Role::Coordinator, Role::Supervisor];
/// Who changes them (supervisors read only).
pub const AREA_CHANGERS: &[Role] = &[Role::BackOffice, Role::Coordinator];
/// Who reads the violations report: an audit control as much as a work list.
pub const VIOLATION_READERS: &[Role] = &[Role::Coordinator, Role::Supervisor, Role::Auditor];
/// Who reads the years-on-benefit report.
pub const BENEFIT_REPORT_READERS: &[Role] = &[Role::Coordinator, Role::Supervisor];
/// Who sends an evidence file: a feed, or the back office relaying one an agency gave it.
pub const EVIDENCE_FILE_SENDERS: &[Role] = &[Role::DataFeed, Role::BackOffice];
/// Who submits evidence over gRPC.
pub const FEEDS: &[Role] = &[Role::DataFeed];
/// Who reports enrolments granted outside this system.
pub const AGENCIES: &[Role] = &[Role::OpdSystem, Role::OpdOfficer];
/// Who screens a person and checks a payment: intake and disbursement.
pub const SERVICES: &[Role] = &[Role::Service];
/// Who lists a person's or household's enrolments over gRPC.
pub const LEDGER_READERS: &[Role] = &[
    Role::Service,
    Role::BackOffice,
    Role::Coordinator,
    Role::Supervisor,
    Role::OpdOfficer,
    Role::OpdSystem,
];

/// Refuses a caller holding none of `roles`, naming who may; the refusal is audited
/// (`Denied`), since what was asked concerns people's data.
pub async fn require_audited(
    access: &Access,
    pool: &PgPool,
    roles: &[Role],
    what: &str,
    action: &str,
    resource: impl Into<String>,
) -> Result<(), ApiError> {
    let Err(refused) = access.require(roles, what) else {
        return Ok(());
    };
    access
        .audit(
            pool,
            action,
            resource,
            Vec::new(),
            Outcome::Denied,
            serde_json::json!({ "needs": roles.iter().map(|role| role.code()).collect::<Vec<_>>() }),
        )
        .await?;
    Err(refused)
}

/// Audits a refusal by the use case and hands the error back: "not found" (the record does
/// not exist, or lies outside the caller's reach: the same answer either way) as `NotFound`,
/// "forbidden" (an agency reporting another's programme) as `Denied`. Any other error passes
/// as it is.
pub async fn audit_refusal(
    access: &Access,
    pool: &PgPool,
    action: &str,
    resource: impl Into<String>,
    error: ApiError,
) -> ApiError {
    let outcome = match error.code {
        ErrorCode::NotFound => Outcome::NotFound,
        ErrorCode::Forbidden => Outcome::Denied,
        _ => return error,
    };
    match access
        .audit(pool, action, resource, Vec::new(), outcome, serde_json::json!({}))
        .await
    {
        Ok(()) => error,
        Err(unrecorded) => unrecorded,
    }
}

/// The reach of an area role: their own area and any granted to them.
pub fn area_scope(access: &Access) -> Scope {
    Scope::Areas(access.areas())
}

/// The caller of a change, for the use case to act and audit as.
pub fn change_by(access: &Access, action: &str, resource: impl Into<String>, scope: Scope) -> ChangeBy {
    ChangeBy {
        record: access.record(action, resource, Vec::new(), Outcome::Allowed, serde_json::json!({})),
        scope,
    }
}

/// A gRPC caller as an HTTP handler sees one: the principal the guard verified, the purpose
/// named in the `x-slrt-purpose` metadata, and, for an area role, the temporary grants in
/// force.
pub async fn grpc_access<T>(request: &Request<T>, pool: &PgPool) -> Result<Access, Status> {
    let principal = slrt_auth::grpc::caller(request)?.clone();
    let purpose = request
        .metadata()
        .get(PURPOSE_HEADER)
        .and_then(|value| value.to_str().ok())
        .map(|text| text.trim().chars().take(200).collect::<String>())
        .filter(|text| !text.is_empty());
    let grants = if principal.region.is_some() {
        slrt_audit::access::active_grants(pool, &principal.subject)
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
}

/// The agency a caller acts for, when a request names one: it must be the token's own (an
/// empty value means the token's). `field` names the request's field in the refusal.
pub fn own_agency(access: &Access, field: &str, named: &str) -> Result<String, ApiError> {
    // The verifier refuses an agency role's token without an agency; this is for a token
    // that holds several roles.
    let agency = access.principal.opd.clone().ok_or_else(|| {
        ApiError::new(
            ErrorCode::Forbidden,
            "the token names no agency (opd); an agency's own token is needed",
        )
        .with_field(field)
    })?;
    let named = named.trim();
    if named.is_empty() || named == agency {
        return Ok(agency);
    }
    let shown: String = named.chars().take(40).collect();
    Err(ApiError::new(
        ErrorCode::Forbidden,
        format!("{shown:?} is not the agency your token acts for ({agency}); an agency acts only for itself"),
    )
    .with_field(field))
}

/// The reach of a `ListEnrolments` caller: a service everything, an area role its area, an
/// agency its programmes.
pub fn ledger_scope(access: &Access) -> Result<Scope, ApiError> {
    access.require(LEDGER_READERS, "listing enrolments")?;
    if access.has_any(SERVICES) {
        Ok(Scope::Everything)
    } else if access.has_any(AREA_READERS) {
        Ok(area_scope(access))
    } else {
        Ok(Scope::Agency(own_agency(access, "opd", "")?))
    }
}
