//! Eligibility's gRPC API: the desk pre-screen (intake), the payment release check
//! (disbursement), the ledger for agencies and the back office, and the evidence feeds.
//! Mounted behind the platform's guard, so every call here has a verified caller; each
//! handler checks the caller's role and reach ([`crate::access`]) and audits what it read or
//! changed. Thin otherwise: validate, call the use case, map errors through the shared table.

use slrt_audit::Outcome;
use slrt_audit::access::Access;
use slrt_errors::ApiError;
use slrt_identity::Nik;
use slrt_proto::eligibility::v1::eligibility_service_server::EligibilityService;
use slrt_proto::eligibility::v1::evidence_feed_server::EvidenceFeed;
use slrt_proto::eligibility::v1::{
    CheckPaymentEligibilityRequest, CheckPaymentEligibilityResponse, ScreenPersonRequest, ScreenPersonResponse,
};
use slrt_proto::eligibility::v1::{
    ClosedProgramme, ScreenedHold, ScreenedVerificationTask, SubmitEvidenceRequest, SubmitEvidenceResponse,
};
use slrt_proto::eligibility::v1::{
    ListEnrolmentsRequest, ListEnrolmentsResponse, ReportExternalEnrolmentEndedRequest,
    ReportExternalEnrolmentEndedResponse, ReportExternalEnrolmentRequest, ReportExternalEnrolmentResponse,
};
use tonic::{Request, Response, Status};

use crate::access::{FEEDS, SERVICES, change_by, grpc_access, own_agency};
use crate::app::evidence::{ExclusionScreen, SubmitError};
use crate::app::scope::Scope;
use crate::app::{Eligibility, parse_beneficiary_id};
use crate::domain::ProgrammeCode;
use crate::domain::evidence::RawEvidence;

mod ledger;

pub struct EligibilityApi {
    pub eligibility: Eligibility,
}

/// The caller, refused (and the refusal audited, since what it asked concerns people's
/// data) unless it holds one of `roles`.
async fn caller_with<T>(
    eligibility: &Eligibility,
    request: &Request<T>,
    roles: &[slrt_auth::Role],
    what: &str,
    action: &str,
    resource: &str,
) -> Result<Access, Status> {
    let access = grpc_access(request, &eligibility.pool).await?;
    crate::access::require_audited(&access, &eligibility.pool, roles, what, action, resource).await?;
    Ok(access)
}

#[tonic::async_trait]
impl EligibilityService for EligibilityApi {
    async fn screen_person(
        &self,
        request: Request<ScreenPersonRequest>,
    ) -> Result<Response<ScreenPersonResponse>, Status> {
        let access = caller_with(
            &self.eligibility,
            &request,
            SERVICES,
            "screening a person",
            "person.screen",
            "person",
        )
        .await?;
        let nik = parse_nik(&request.into_inner().nik)?;
        let screening = self.eligibility.screen_person(&nik).await?;
        // Asked about by NIK, known or not: the person's access report shows the screening.
        access
            .audit(
                &self.eligibility.pool,
                "person.screen",
                screening
                    .person_id
                    .as_ref()
                    .map(|id| format!("person/{id}"))
                    .unwrap_or_else(|| "person".to_owned()),
                self.eligibility.tokens_of(&[nik.as_str().to_owned()]),
                Outcome::Allowed,
                serde_json::json!({ "known_person": screening.known_person }),
            )
            .await?;
        let exclusion = match (&screening.person_id, &screening.household_id) {
            (Some(person), Some(household)) => {
                self.eligibility
                    .exclusion_screen(person.as_str(), household.as_str())
                    .await?
            }
            _ => ExclusionScreen::default(),
        };
        let closed_programmes = screening
            .closed_programmes
            .iter()
            .map(|closed| ClosedProgramme {
                programme_code: closed.programme.to_string(),
                rule: closed.rule.clone(),
                closed_by_programme_code: closed.closed_by.programme.to_string(),
                closed_by_beneficiary_kind: closed.closed_by.beneficiary.kind().as_str().to_owned(),
                closed_by_beneficiary_id: closed.closed_by.beneficiary.id().to_owned(),
                closed_by_status: closed.closed_by.status.as_str().to_owned(),
                reason: closed.message.clone(),
            })
            .collect();
        Ok(Response::new(ScreenPersonResponse {
            // Someone outside the registry has nothing the catalogue could close.
            catalogue_version: if screening.known_person {
                screening.catalogue_version.clone()
            } else {
                String::new()
            },
            closed_programmes,
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
        let access = caller_with(
            &self.eligibility,
            &request,
            SERVICES,
            "checking a payment",
            "payment.check",
            "beneficiary",
        )
        .await?;
        let request = request.into_inner();
        let programme = parse_programme_code(&request.programme_code)?;
        let beneficiary_id = parse_beneficiary_id(&request.beneficiary_id)?;
        let check = self.eligibility.check_payment(&programme, &beneficiary_id).await?;
        // A person's id or a household's: the read concerns the person, or every member.
        let id = std::slice::from_ref(&beneficiary_id);
        let subjects = self.eligibility.subjects(id, id).await?;
        access
            .audit(
                &self.eligibility.pool,
                "payment.check",
                format!("beneficiary/{beneficiary_id}"),
                subjects,
                Outcome::Allowed,
                serde_json::json!({ "programme_code": programme.as_str(), "payable": check.payable }),
            )
            .await?;
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
        let access = grpc_access(&request, &self.eligibility.pool).await?;
        let response = ledger::report(&self.eligibility, &access, request.into_inner()).await?;
        Ok(Response::new(response))
    }

    async fn report_external_enrolment_ended(
        &self,
        request: Request<ReportExternalEnrolmentEndedRequest>,
    ) -> Result<Response<ReportExternalEnrolmentEndedResponse>, Status> {
        let access = grpc_access(&request, &self.eligibility.pool).await?;
        let response = ledger::report_ended(&self.eligibility, &access, request.into_inner()).await?;
        Ok(Response::new(response))
    }

    async fn list_enrolments(
        &self,
        request: Request<ListEnrolmentsRequest>,
    ) -> Result<Response<ListEnrolmentsResponse>, Status> {
        let access = grpc_access(&request, &self.eligibility.pool).await?;
        let response = ledger::list(&self.eligibility, &access, request.into_inner()).await?;
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
        let access = caller_with(
            &self.eligibility,
            &request,
            FEEDS,
            "submitting evidence",
            "evidence.submit",
            "evidence",
        )
        .await?;
        let request = request.into_inner();
        // A feed supplies its own evidence: the source is the token's agency.
        let source = own_agency(&access, "source", &request.source)?;
        let raw = RawEvidence {
            kind: request.kind,
            nik: request.nik,
            source,
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
        let by = change_by(&access, "evidence.submit", "evidence", Scope::Everything);
        match self.eligibility.submit_evidence(&raw, &by).await {
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
