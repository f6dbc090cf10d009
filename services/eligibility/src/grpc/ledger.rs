//! The ledger over gRPC: enrolments other agencies report, and a person's or household's
//! enrolments. Checks the caller's role and agency and every field at the edge, naming it.

use chrono::NaiveDate;
use slrt_audit::Outcome;
use slrt_audit::access::Access;
use slrt_errors::ApiError;
use slrt_identity::KkNumber;
use slrt_proto::eligibility::v1::{
    LedgerEnrolment, ListEnrolmentsRequest, ListEnrolmentsResponse, ReportExternalEnrolmentEndedRequest,
    ReportExternalEnrolmentEndedResponse, ReportExternalEnrolmentRequest, ReportExternalEnrolmentResponse,
};

use super::{parse_nik, parse_programme_code};
use crate::access::{AGENCIES, audit_refusal, change_by, ledger_scope, own_agency};
use crate::app::Eligibility;
use crate::app::ledger::EnrolmentView;
use crate::app::ledger::external::{ExternalEnd, ExternalReport, ReportedBeneficiary};
use crate::app::scope::Scope;

/// The reporting agency: the caller's own, whatever the request says (a different one is
/// refused, naming `reporting_opd`; an empty one means the caller's). A refusal is audited:
/// the request is about a person, and an agency speaking for another is what an auditor
/// looks for.
async fn reporting_agency(
    eligibility: &Eligibility,
    access: &Access,
    action: &str,
    named: &str,
) -> Result<String, ApiError> {
    let agency = access
        .require(AGENCIES, "reporting external enrolments")
        .and_then(|()| own_agency(access, "reporting_opd", named));
    match agency {
        Ok(agency) => opd(&agency),
        Err(refused) => {
            let named: String = named.chars().take(40).collect();
            access
                .audit(
                    &eligibility.pool,
                    action,
                    "external_enrolment",
                    Vec::new(),
                    Outcome::Denied,
                    serde_json::json!({ "reporting_opd": named }),
                )
                .await?;
            Err(refused)
        }
    }
}

pub(super) async fn report(
    eligibility: &Eligibility,
    access: &Access,
    request: ReportExternalEnrolmentRequest,
) -> Result<ReportExternalEnrolmentResponse, ApiError> {
    let today = slrt_identity::today_in_indonesia();
    let reporting_opd =
        reporting_agency(eligibility, access, "external_enrolment.report", &request.reporting_opd).await?;
    let report = ExternalReport {
        programme: parse_programme_code(&request.programme_code)?,
        beneficiary: beneficiary(&request.nik, &request.kk_number)?,
        reporting_opd,
        reference: reference(&request.reference)?,
        started_on: date("started_on", &request.started_on, today)?,
    };
    let resource = format!("external_enrolment/{}/{}", report.reporting_opd, report.reference);
    let by = change_by(access, "external_enrolment.report", &resource, Scope::Everything);
    let reported = match eligibility.report_external_enrolment(&report, &by).await {
        Ok(reported) => reported,
        Err(error) => {
            return Err(audit_refusal(access, &eligibility.pool, "external_enrolment.report", resource, error).await);
        }
    };
    tracing::info!(
        enrolment.id = %reported.enrolment_id, programme = %report.programme, opd = %report.reporting_opd,
        created = reported.created, violations = reported.violations.len(), "external enrolment reported"
    );
    Ok(ReportExternalEnrolmentResponse {
        enrolment_id: reported.enrolment_id.to_string(),
        created: reported.created,
        beneficiary_kind: reported.beneficiary.kind().as_str().to_string(),
        beneficiary_id: reported.beneficiary.id().to_string(),
        violations: reported
            .violations
            .iter()
            .map(|v| format!("{}: {}", v.rule, v.message))
            .collect(),
    })
}

pub(super) async fn report_ended(
    eligibility: &Eligibility,
    access: &Access,
    request: ReportExternalEnrolmentEndedRequest,
) -> Result<ReportExternalEnrolmentEndedResponse, ApiError> {
    let today = slrt_identity::today_in_indonesia();
    let reporting_opd = reporting_agency(eligibility, access, "external_enrolment.end", &request.reporting_opd).await?;
    let reason = request.reason.trim();
    if reason.chars().count() > 500 {
        return Err(ApiError::invalid("reason", "a reason is at most 500 characters"));
    }
    let end = ExternalEnd {
        reporting_opd,
        reference: reference(&request.reference)?,
        ended_on: date("ended_on", &request.ended_on, today)?,
        reason: reason.to_owned(),
    };
    let resource = format!("external_enrolment/{}/{}", end.reporting_opd, end.reference);
    let by = change_by(access, "external_enrolment.end", &resource, Scope::Everything);
    let (enrolment_id, ended) = match eligibility.end_external_enrolment(&end, &by).await {
        Ok(ended) => ended,
        Err(error) => {
            return Err(audit_refusal(access, &eligibility.pool, "external_enrolment.end", resource, error).await);
        }
    };
    Ok(ReportExternalEnrolmentEndedResponse {
        enrolment_id: enrolment_id.to_string(),
        ended,
    })
}

pub(super) async fn list(
    eligibility: &Eligibility,
    access: &Access,
    request: ListEnrolmentsRequest,
) -> Result<ListEnrolmentsResponse, ApiError> {
    let pool = &eligibility.pool;
    let scope = match ledger_scope(access) {
        Ok(scope) => scope,
        Err(refused) => {
            access
                .audit(
                    pool,
                    "enrolment.list",
                    "ledger",
                    Vec::new(),
                    Outcome::Denied,
                    serde_json::json!({}),
                )
                .await?;
            return Err(refused);
        }
    };
    let who = beneficiary(&request.nik, &request.kk_number)?;
    // Whom the caller asked about, by NIK: their access report shows the attempt, found or
    // not. A KK number names no one person.
    let asked: Vec<String> = match &who {
        ReportedBeneficiary::Nik(nik) => eligibility.tokens_of(&[nik.as_str().to_owned()]),
        ReportedBeneficiary::Kk(_) => Vec::new(),
    };
    let ledger = match eligibility.ledger_of(&who, &scope).await {
        Ok(ledger) => ledger,
        Err(error) if error.code == slrt_errors::ErrorCode::NotFound => {
            access
                .audit(
                    pool,
                    "enrolment.list",
                    "ledger",
                    asked,
                    Outcome::NotFound,
                    serde_json::json!({}),
                )
                .await?;
            return Err(error);
        }
        Err(error) => return Err(error),
    };
    access
        .audit(
            pool,
            "enrolment.list",
            format!("household/{}", ledger.household),
            eligibility.tokens_of(&ledger.niks),
            Outcome::Allowed,
            serde_json::json!({ "returned": ledger.enrolments.len() }),
        )
        .await?;
    Ok(ListEnrolmentsResponse {
        person_id: ledger.person.map(|p| p.to_string()).unwrap_or_default(),
        household_id: ledger.household.to_string(),
        enrolments: ledger.enrolments.into_iter().map(ledger_enrolment).collect(),
    })
}

fn ledger_enrolment(view: EnrolmentView) -> LedgerEnrolment {
    LedgerEnrolment {
        enrolment_id: view.enrolment_id.to_string(),
        programme_code: view.programme_code,
        beneficiary_kind: view.beneficiary_kind,
        beneficiary_id: view.beneficiary_id,
        status: view.status,
        source: view.source,
        started_on: view.started_on.to_string(),
        ended_on: view.ended_on.map(|d| d.to_string()).unwrap_or_default(),
        case_id: view.case_id.map(|id| id.to_string()).unwrap_or_default(),
        reporting_opd: view.reporting_opd.unwrap_or_default(),
        external_reference: view.external_reference.unwrap_or_default(),
    }
}

/// Exactly one of a NIK and a KK number.
fn beneficiary(nik: &str, kk_number: &str) -> Result<ReportedBeneficiary, ApiError> {
    match (nik.trim().is_empty(), kk_number.trim().is_empty()) {
        (false, true) => Ok(ReportedBeneficiary::Nik(parse_nik(nik)?)),
        (true, false) => KkNumber::parse(kk_number)
            .map(ReportedBeneficiary::Kk)
            .map_err(|error| ApiError::invalid("kk_number", error.to_string())),
        (true, true) => Err(ApiError::invalid(
            "nik",
            "name the beneficiary by NIK (a person) or by KK number (a household)",
        )),
        (false, false) => Err(ApiError::invalid(
            "kk_number",
            "give a NIK or a KK number, not both: they could name different families",
        )),
    }
}

fn opd(text: &str) -> Result<String, ApiError> {
    let well_formed = !text.is_empty()
        && text.len() <= 32
        && text
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if well_formed {
        Ok(text.to_owned())
    } else if text.is_empty() {
        Err(ApiError::invalid(
            "reporting_opd",
            "the reporting agency's code is required, e.g. DINSOS-PROV",
        ))
    } else {
        Err(ApiError::invalid(
            "reporting_opd",
            "an agency code is 1 to 32 upper-case letters, digits, '-' or '_', e.g. DINSOS-PROV",
        ))
    }
}

fn reference(text: &str) -> Result<String, ApiError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(ApiError::invalid("reference", "the agency's own reference is required"));
    }
    if text.chars().count() > 100 {
        return Err(ApiError::invalid("reference", "a reference is at most 100 characters"));
    }
    Ok(text.to_owned())
}

fn date(field: &str, text: &str, today: NaiveDate) -> Result<NaiveDate, ApiError> {
    if text.trim().is_empty() {
        return Err(ApiError::invalid(field, "a date (YYYY-MM-DD) is required"));
    }
    let day = NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
        .map_err(|_| ApiError::invalid(field, format!("{text:?} is not a date in the form YYYY-MM-DD")))?;
    if day > today {
        return Err(ApiError::invalid(field, format!("{day} is after today ({today})")));
    }
    Ok(day)
}
