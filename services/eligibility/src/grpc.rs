//! Eligibility's gRPC API: the desk pre-screen (intake) and the payment release check
//! (disbursement). Thin: validate, call the use case, map errors through the shared table.

use slrt_errors::ApiError;
use slrt_identity::Nik;
use slrt_proto::eligibility::v1::eligibility_service_server::EligibilityService;
use slrt_proto::eligibility::v1::{
    CheckPaymentEligibilityRequest, CheckPaymentEligibilityResponse, ScreenPersonRequest, ScreenPersonResponse,
};
use tonic::{Request, Response, Status};

use crate::app::{Eligibility, parse_beneficiary_id};
use crate::domain::ProgrammeCode;

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
        Ok(Response::new(ScreenPersonResponse {
            known_person: screening.known_person,
            person_id: screening.person_id.map(|id| id.to_string()).unwrap_or_default(),
            household_id: screening.household_id.map(|id| id.to_string()).unwrap_or_default(),
            deceased: screening.deceased,
            desil: screening.desil.map(|desil| i32::from(desil.get())).unwrap_or_default(),
            active_programmes: screening.active_programmes.iter().map(ToString::to_string).collect(),
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
