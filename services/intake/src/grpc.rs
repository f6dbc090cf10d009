//! Intake's gRPC API: case status for intake's sister services, the agencies' systems and
//! the SLRT's own staff, each within their scope (see `access`). The server's guard has
//! verified the caller's token before a handler runs.

use slrt_audit::Outcome;
use slrt_audit::access::{Access, PURPOSE_HEADER, active_grants};
use slrt_auth::{Principal, Role};
use slrt_errors::ApiError;
use slrt_proto::intake::v1::case_tracker_service_server::CaseTrackerService;
use slrt_proto::intake::v1::{CaseView, GetCaseRequest, TimelineEntry};
use tonic::{Request, Response, Status};

use crate::access::GRPC_READERS;
use crate::app::{Intake, tracker};

pub struct CaseTracker {
    pub intake: Intake,
}

impl CaseTracker {
    /// The caller as the audit log and the area checks know them: their token, the purpose
    /// they declared in the metadata, and the temporary grants in force for them.
    async fn access_of<T>(&self, request: &Request<T>) -> Result<Access, Status> {
        let principal: Principal = slrt_auth::grpc::caller(request)?.clone();
        let purpose = request
            .metadata()
            .get(PURPOSE_HEADER)
            .and_then(|value| value.to_str().ok())
            .map(|text| text.trim().chars().take(200).collect::<String>())
            .filter(|text| !text.is_empty());
        let grants = if principal.region.is_some() {
            active_grants(&self.intake.pool, &principal.subject)
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

    /// Whether the caller may see this case: a sister service any, an agency one with a
    /// need at it, a person of the SLRT one of their area.
    async fn may_see(&self, access: &Access, case: &tracker::CaseView) -> Result<bool, ApiError> {
        if access.principal.has(Role::Service) {
            return Ok(true);
        }
        if access.has_any(&[Role::OpdOfficer, Role::OpdSystem])
            && let Some(opd) = &access.principal.opd
            && case
                .needs
                .iter()
                .any(|need| need.opd_code.as_deref() == Some(opd.as_str()))
        {
            return Ok(true);
        }
        Ok(access.covers(&case.applicant.region_code))
    }
}

#[tonic::async_trait]
impl CaseTrackerService for CaseTracker {
    async fn get_case(&self, request: Request<GetCaseRequest>) -> Result<Response<CaseView>, Status> {
        let access = self.access_of(&request).await?;
        let reference = request.into_inner().case_ref;
        let intake = &self.intake;
        intake
            .permit(
                &access,
                GRPC_READERS,
                "reading a case",
                "case.read",
                format!("case/{reference}"),
            )
            .await?;
        if reference.is_empty() || reference.len() > 64 {
            return Err(
                ApiError::invalid("case_ref", "a case id or case number of 1 to 64 characters is required").into(),
            );
        }
        let found = tracker::find_case(&intake.pool, &reference)
            .await
            .map_err(ApiError::unavailable)?;
        let case = match found {
            Some(case) if self.may_see(&access, &case).await? => case,
            _ => {
                let refusal = intake
                    .not_found(
                        &access,
                        "case.read",
                        format!("case/{reference}"),
                        format!("no case {reference}"),
                    )
                    .await;
                return Err(refusal.into());
            }
        };
        let mut conn = intake.pool.acquire().await.map_err(ApiError::unavailable)?;
        let niks: Vec<String> = tracker::applicant_niks(&mut conn, &[case.case_id])
            .await
            .map_err(ApiError::unavailable)?
            .into_values()
            .collect();
        drop(conn);
        intake
            .audit(
                &access,
                "case.read",
                format!("case/{}", case.case_id),
                &niks,
                Outcome::Allowed,
                serde_json::json!({ "case_number": case.case_number, "over": "grpc" }),
            )
            .await?;
        Ok(Response::new(CaseView {
            case_id: case.case_id.to_string(),
            case_number: case.case_number,
            status: case.status,
            timeline: case
                .timeline
                .into_iter()
                .map(|entry| TimelineEntry {
                    event_id: entry.event_id.to_string(),
                    event_type: entry.event_type,
                    service: entry.service,
                    occurred_at: entry.occurred_at.to_rfc3339(),
                    summary: entry.summary,
                })
                .collect(),
        }))
    }
}
