//! Who may do what in disbursement, and the scope of what they see (ADR 7).
//!
//! | what | who | scope |
//! |---|---|---|
//! | payments of a case or beneficiary, an entitlement, the payments report | back office, coordinators, supervisors | their area (own and granted) |
//! | batches: list, one batch with a page of its payments | back office, coordinators, supervisors | totals of the whole batch; payments of their area |
//! | prepare a batch (maker) | back office of the whole regency | the regency |
//! | release a batch (checker), never its maker | coordinators of the whole regency | the regency |
//! | reconcile a batch with the bank's statement (asked of the bank, or its file) | back office of the whole regency; the paying bank's own system (`data_feed` whose `opd` is the paying bank) | the batch |
//! | order a follow-up of a failed payment | back office, coordinators | their area |
//! | the paid-after-death report | auditors (everything), coordinators and supervisors (their area) | |
//! | payments over gRPC (`ListPayments`) | this system's services (everything), an agency's system or officer (its own referrals' payments) | |
//! | the audit log, chain check, access report | auditors | |
//!
//! A batch pays a programme's period across the whole regency, so only staff whose area is
//! the regency (or wider) make or check one: a district's back office cannot put the rest of
//! the regency's payments into a batch, nor a district coordinator release payments they
//! cannot see. Administrators operate the system and see no payment.
//!
//! A payment outside the caller's scope is "not found", as one that does not exist, and the
//! attempt is audited. Every read of payments naming people, and every change, is audited
//! with the keyed NIK tokens of the people concerned.

use slrt_audit::Outcome;
use slrt_audit::access::Access;
use slrt_auth::{Principal, Role};
use slrt_errors::{ApiError, ErrorCode};
use sqlx::PgPool;

use crate::app::scope::{Scope, is_regency_wide};

/// Who reads payments, entitlements, batches and the payments report, within their area.
pub const READERS: &[Role] = &[Role::BackOffice, Role::Coordinator, Role::Supervisor];
/// Who prepares batches (the maker).
pub const MAKERS: &[Role] = &[Role::BackOffice];
/// Who releases batches (the checker).
pub const CHECKERS: &[Role] = &[Role::Coordinator];
/// Who orders a failed payment paid again.
pub const FOLLOW_UPS: &[Role] = &[Role::BackOffice, Role::Coordinator];
/// Who reads the paid-after-death report.
pub const DEATH_REPORT_READERS: &[Role] = &[Role::Auditor, Role::Coordinator, Role::Supervisor];
/// Who reconciles a batch with the bank's statement: the back office, or the bank's system.
pub const RECONCILERS: &[Role] = &[Role::BackOffice, Role::DataFeed];
/// Who lists payments over gRPC.
pub const GRPC_READERS: &[Role] = &[Role::Service, Role::OpdSystem, Role::OpdOfficer];

/// The scope of an area caller: their own area and any granted to them; entitlements without
/// a region when one of those areas is the whole regency or wider.
pub fn area_scope(access: &Access) -> Scope {
    let areas = access.areas();
    let unplaced = areas.iter().any(|area| is_regency_wide(area));
    Scope::Areas { areas, unplaced }
}

/// Refuses a caller none of whose areas is a whole regency: `what` pays the regency.
pub fn require_regency_wide(access: &Access, what: &str) -> Result<(), ApiError> {
    if access.areas().iter().any(|area| is_regency_wide(area)) {
        return Ok(());
    }
    Err(ApiError::new(
        ErrorCode::Forbidden,
        format!(
            "{what} concerns the whole regency: it needs an area of a regency or wider (e.g. 33.75), and yours is {}",
            access.principal.region.as_deref().unwrap_or("none")
        ),
    ))
}

/// Lets through the back office of the whole regency, and the paying bank's own system;
/// refuses another bank's system (audited: a bank handing in statements for our batches is
/// what an auditor looks for) and everyone else.
pub async fn require_reconciler(
    access: &Access,
    paying_bank: &str,
    pool: &PgPool,
    batch_id: &str,
) -> Result<(), ApiError> {
    access.require(RECONCILERS, "reconciling a batch")?;
    if access.has_any(&[Role::BackOffice]) && require_regency_wide(access, "reconciling a batch").is_ok() {
        return Ok(());
    }
    if access.principal.has(Role::DataFeed) {
        if access.principal.works_for(paying_bank) {
            return Ok(());
        }
        let agency = access.principal.opd.clone().unwrap_or_default();
        access
            .audit(
                pool,
                "batch.reconcile",
                format!("batch/{batch_id}"),
                Vec::new(),
                Outcome::Denied,
                serde_json::json!({ "agency": agency, "paying_bank": paying_bank }),
            )
            .await?;
        return Err(ApiError::new(
            ErrorCode::Forbidden,
            format!("{agency} is not the paying bank ({paying_bank}); only its statement reconciles our batches"),
        ));
    }
    require_regency_wide(access, "reconciling a batch")
}

/// The scope of a gRPC caller: this system's services see every payment, an agency the
/// payments of the referrals it accepted.
pub fn grpc_scope(principal: &Principal) -> Result<Scope, ApiError> {
    slrt_audit::access::require(principal, GRPC_READERS, "listing payments")?;
    if principal.has(Role::Service) {
        return Ok(Scope::Everything);
    }
    // An agency role always carries its agency: the verifier refuses the token otherwise.
    let agency = principal
        .opd
        .clone()
        .ok_or_else(|| ApiError::new(ErrorCode::Unauthenticated, "the token names no agency").with_field("opd"))?;
    Ok(Scope::Agency(agency))
}
