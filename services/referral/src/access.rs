//! Who may do what in referral, and the audit record of every access.
//!
//! - Agencies (an OPD officer with a person's token, or an OPD's system with client
//!   credentials) see and act on their own agency's referrals over gRPC, nothing else.
//! - Supervisors, coordinators and back-office staff read referrals of their area over HTTP;
//!   supervisors and coordinators revoke and place needs within it.
//! - Auditors read the audit log; administrators move the test clock.
//!
//! A referral outside the caller's area or agency answers "not found", exactly as a
//! referral that does not exist, and the attempt is audited: guessing ids is what an
//! auditor looks for. Every read or change of a client's data is audited with the keyed
//! token of the client's NIK, so the client's access report can find it.

use slrt_audit::{AuditRecord, Outcome};
use slrt_auth::{Principal, Role};
use slrt_errors::{ApiError, ErrorCode};

use crate::app::Referrals;
use crate::domain::OpdCode;

/// An HTTP caller: the verified principal, the purpose they declared, and the temporary
/// grants in force (shared with the other services: `slrt_audit::access`).
pub use slrt_audit::access::Access as Caller;

/// Who reads referrals of their area.
pub const AREA_READERS: &[Role] = &[Role::Supervisor, Role::Coordinator, Role::BackOffice];
/// Who revokes referrals and places unrouted needs in their area.
pub const AREA_DECIDERS: &[Role] = &[Role::Supervisor, Role::Coordinator];
/// Who acts for an agency over gRPC.
pub const AGENCIES: &[Role] = &[Role::OpdOfficer, Role::OpdSystem];
/// Who moves the service clock (test and training deployments only).
pub const OPERATORS: &[Role] = &[Role::Administrator];

pub use slrt_audit::access::require;

impl Referrals {
    /// The agency an agency caller acts for: one the routing table lists.
    pub fn agency_of(&self, principal: &Principal) -> Result<OpdCode, ApiError> {
        require(principal, AGENCIES, "the OPD interface")?;
        let unauthenticated = |message: String| ApiError::new(ErrorCode::Unauthenticated, message).with_field("opd");
        let text = principal.opd.as_deref().unwrap_or_default();
        let code = OpdCode::parse(text).map_err(|error| unauthenticated(error.to_string()))?;
        if self.routing.opd_name(&code).is_none() {
            return Err(unauthenticated(format!(
                "the token's agency {code} is not an agency of routing table {}",
                self.routing.version()
            )));
        }
        Ok(code)
    }

    /// Records an access in the audit log. A read whose record cannot be written is not
    /// answered: there is no access without its record.
    #[expect(
        clippy::too_many_arguments,
        reason = "one argument per field of the audit record, each visible at the call site"
    )]
    pub async fn audit(
        &self,
        principal: &Principal,
        purpose: Option<&str>,
        action: &str,
        resource: String,
        client_niks: &[&str],
        outcome: Outcome,
        detail: serde_json::Value,
    ) -> Result<(), ApiError> {
        let record = AuditRecord {
            actor: principal.subject.clone(),
            actor_roles: principal.roles.iter().map(|role| role.code().to_string()).collect(),
            action: action.to_string(),
            resource,
            subjects: client_niks
                .iter()
                .map(|nik| self.nik_tokens.token_of_text(nik))
                .collect(),
            purpose: purpose.map(str::to_string),
            outcome,
            detail,
        };
        slrt_audit::record_alone(&self.pool, &record)
            .await
            .map(|_| ())
            .map_err(ApiError::unavailable)
    }

    /// Records an HTTP caller's access; the record names the temporary grants in force.
    pub async fn audit_http(
        &self,
        caller: &Caller,
        action: &str,
        resource: String,
        client_niks: &[&str],
        outcome: Outcome,
        detail: serde_json::Value,
    ) -> Result<(), ApiError> {
        let subjects = client_niks
            .iter()
            .map(|nik| self.nik_tokens.token_of_text(nik))
            .collect();
        caller
            .audit(&self.pool, action, resource, subjects, outcome, detail)
            .await
    }
}
