//! Eligibility's gRPC API: the desk pre-screen (intake) and the payment release check
//! (disbursement). Thin: validate, call the use case, map errors through the shared table.

use slrt_errors::ApiError;
use slrt_identity::Nik;
use slrt_proto::eligibility::v1::eligibility_service_server::EligibilityService;
use slrt_proto::eligibility::v1::evidence_feed_server::EvidenceFeed;
use slrt_proto::eligibility::v1::{
    CheckPaymentEligibilityRequest, CheckPaymentEligibilityResponse, ScreenPersonRequest, ScreenPersonResponse,
};
use slrt_proto::eligibility::v1::{
    ListEnrolmentsRequest, ListEnrolmentsResponse, ReportExternalEnrolmentEndedRequest,
    ReportExternalEnrolmentEndedResponse, ReportExternalEnrolmentRequest, ReportExternalEnrolmentResponse,
};
use slrt_proto::eligibility::v1::{
    ScreenedHold, ScreenedVerificationTask, SubmitEvidenceRequest, SubmitEvidenceResponse,
};
use tonic::{Request, Response, Status};

use crate::app::evidence::{ExclusionScreen, SubmitError};
use crate::app::{Eligibility, parse_beneficiary_id};
use crate::domain::ProgrammeCode;
use crate::domain::evidence::RawEvidence;

mod ledger;

pub struct EligibilityApi {
    pub eligibility: Eligibility,
}

#[tonic::async_trait]
impl EligibilityService for EligibilityApi {
    async fn screen_person(
        &self,
        request: Request<ScreenPersonRequest>,
    ) -> Result<Response<ScreenPersonResponse>, Status> {
        let nik = parse_nik(&request.into_inner().nik)?;
        let screening = self.eligibility.screen_person(&nik).await?;
        let exclusion = match (&screening.person_id, &screening.household_id) {
            (Some(person), Some(household)) => {
                self.eligibility
                    .exclusion_screen(person.as_str(), household.as_str())
                    .await?
            }
            _ => ExclusionScreen::default(),
        };
        Ok(Response::new(ScreenPersonResponse {
            known_person: screening.known_person,
            person_id: screening.person_id.map(|id| id.to_string()).unwrap_or_default(),
            household_id: screening.household_id.map(|id| id.to_string()).unwrap_or_default(),
            deceased: screening.deceased,
            desil: screening.desil.map(|desil| i32::from(desil.get())).unwrap_or_default(),
            active_programmes: screening.active_programmes.iter().map(ToString::to_string).collect(),
            date_of_death: exclusion.date_of_death.map(|d| d.to_string()).unwrap_or_default(),
            open_holds: exclusion
                .open_holds
                .into_iter()
                .map(|hold| ScreenedHold {
                    programme_code: hold.programme_code,
                    reason_code: hold.reason_code,
                    reason: hold.reason,
                    held_from: hold.held_from.to_string(),
                })
                .collect(),
            open_verification_tasks: exclusion
                .open_tasks
                .into_iter()
                .map(|(task_id, ground, opened_on)| ScreenedVerificationTask {
                    task_id: task_id.to_string(),
                    ground,
                    opened_on: opened_on.to_string(),
                })
                .collect(),
        }))
    }

    async fn check_payment_eligibility(
        &self,
        request: Request<CheckPaymentEligibilityRequest>,
    ) -> Result<Response<CheckPaymentEligibilityResponse>, Status> {
        let request = request.into_inner();
        let programme = parse_programme_code(&request.programme_code)?;
        let beneficiary_id = parse_beneficiary_id(&request.beneficiary_id)?;
        let check = self.eligibility.check_payment(&programme, &beneficiary_id).await?;
        if !check.payable {
            tracing::info!(
                programme = %programme, beneficiary.id = %beneficiary_id, reasons = ?check.reasons,
                "payment not releasable"
            );
        }
        Ok(Response::new(CheckPaymentEligibilityResponse {
            payable: check.payable,
            reasons: check.reasons,
        }))
    }
    async fn report_external_enrolment(
        &self,
        request: Request<ReportExternalEnrolmentRequest>,
    ) -> Result<Response<ReportExternalEnrolmentResponse>, Status> {
        let response = ledger::report(&self.eligibility, request.into_inner()).await?;
        Ok(Response::new(response))
    }

    async fn report_external_enrolment_ended(
        &self,
        request: Request<ReportExternalEnrolmentEndedRequest>,
    ) -> Result<Response<ReportExternalEnrolmentEndedResponse>, Status> {
        let response = ledger::report_ended(&self.eligibility, request.into_inner()).await?;
        Ok(Response::new(response))
    }

    async fn list_enrolments(
        &self,
        request: Request<ListEnrolmentsRequest>,
    ) -> Result<Response<ListEnrolmentsResponse>, Status> {
        let response = ledger::list(&self.eligibility, request.into_inner()).await?;
        Ok(Response::new(response))
    }
}

fn parse_nik(text: &str) -> Result<Nik, ApiError> {
    if text.trim().is_empty() {
        return Err(ApiError::invalid("nik", "a 16-digit NIK is required"));
    }
    // The error names what is wrong without repeating the number.
    Nik::parse(text).map_err(|error| ApiError::invalid("nik", error.to_string()))
}

fn parse_programme_code(text: &str) -> Result<ProgrammeCode, ApiError> {
    if text.is_empty() {
        return Err(ApiError::invalid(
            "programme_code",
            "a programme code such as PKH is required",
        ));
    }
    if text.len() > 32 {
        return Err(ApiError::invalid(
            "programme_code",
            "a programme code is at most 32 characters",
        ));
    }
    ProgrammeCode::parse(text).map_err(|error| ApiError::invalid("programme_code", error.to_string()))
}

/// The evidence feeds (Disdukcapil, villages, the vehicle registry, payroll, DTSEN).
pub struct EvidenceFeedApi {
    pub eligibility: Eligibility,
}

#[tonic::async_trait]
impl EvidenceFeed for EvidenceFeedApi {
    async fn submit_evidence(
        &self,
        request: Request<SubmitEvidenceRequest>,
    ) -> Result<Response<SubmitEvidenceResponse>, Status> {
        let request = request.into_inner();
        let raw = RawEvidence {
            kind: request.kind,
            nik: request.nik,
            source: request.source,
            reference: request.reference,
            observed_on: request.observed_on,
            retracts: request.retracts,
            employer_category: request.employer_category,
            plate: request.plate,
            // 0 is proto3's "not set".
            desil: if request.desil == 0 {
                String::new()
            } else {
                request.desil.to_string()
            },
        };
        match self.eligibility.submit_evidence(&raw).await {
            Ok(submitted) => {
                tracing::info!(
                    evidence.id = %submitted.evidence_id, evidence.kind = %raw.kind, created = submitted.created,
                    "evidence submitted"
                );
                Ok(Response::new(SubmitEvidenceResponse {
                    evidence_id: submitted.evidence_id.to_string(),
                    created: submitted.created,
                    effects: submitted.effects,
                }))
            }
            // The shared code table has no "already exists"; this is the one place it applies.
            Err(SubmitError::AlreadyExists(error)) => Err(Status::already_exists(error.to_string())),
            Err(SubmitError::Api(error)) => Err(error.into()),
        }
    }
}
