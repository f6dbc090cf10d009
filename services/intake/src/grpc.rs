//! Intake's gRPC API: case status for OPD systems and other services.

use slrt_errors::ApiError;
use slrt_proto::intake::v1::case_tracker_service_server::CaseTrackerService;
use slrt_proto::intake::v1::{CaseView, GetCaseRequest, TimelineEntry};
use tonic::{Request, Response, Status};

use crate::app::{Intake, tracker};

pub struct CaseTracker {
    pub intake: Intake,
}

#[tonic::async_trait]
impl CaseTrackerService for CaseTracker {
    async fn get_case(&self, request: Request<GetCaseRequest>) -> Result<Response<CaseView>, Status> {
        let reference = request.into_inner().case_ref;
        if reference.is_empty() || reference.len() > 64 {
            return Err(
                ApiError::invalid("case_ref", "a case id or case number of 1 to 64 characters is required").into(),
            );
        }
        let case = tracker::find_case(&self.intake.pool, &reference)
            .await
            .map_err(ApiError::unavailable)?
            .ok_or_else(|| ApiError::not_found(format!("no case {reference}")))?;
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
