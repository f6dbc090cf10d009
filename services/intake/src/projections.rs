//! The case tracker's read model: every case with its needs and a timeline of every step,
//! built from the events of all four services. Applying the same event twice changes
//! nothing (the timeline is keyed by event id, and each step only moves a need forward),
//! so the model can be rebuilt from the log at any time.

use chrono::{DateTime, Utc};
use prost::Message;
use slrt_proto::disbursement::v1 as disbursement;
use slrt_proto::eligibility::v1 as eligibility;
use slrt_proto::intake::v1 as intake;
use slrt_proto::referral::v1 as referral;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::domain::{NeedStatus, case_status};

/// One event as the tracker sees it, whichever service it came from.
#[derive(Debug, Clone, Copy)]
pub struct TrackedEvent<'a> {
    pub event_id: Uuid,
    pub event_type: &'a str,
    pub case_id: Option<Uuid>,
    pub occurred_at: DateTime<Utc>,
    pub service: &'a str,
    pub payload: &'a [u8],
    pub traceparent: Option<&'a str>,
}

#[derive(Debug, thiserror::Error)]
pub enum ProjectionError {
    #[error("tracker database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("{event_type} payload cannot be decoded: {source}")]
    Payload {
        event_type: String,
        source: prost::DecodeError,
    },
    #[error("{event_type} carries an invalid {field}")]
    Field { event_type: String, field: &'static str },
}

fn decode<M: Message + Default>(event: &TrackedEvent<'_>) -> Result<M, ProjectionError> {
    M::decode(event.payload).map_err(|source| ProjectionError::Payload {
        event_type: event.event_type.to_string(),
        source,
    })
}

fn uuid_field(event: &TrackedEvent<'_>, field: &'static str, text: &str) -> Result<Uuid, ProjectionError> {
    Uuid::parse_str(text).map_err(|_| ProjectionError::Field {
        event_type: event.event_type.to_string(),
        field,
    })
}

/// Rupiah with Indonesian digit grouping: `Rp 2.700.000`.
pub fn rupiah(amount: i64) -> String {
    let digits = amount.unsigned_abs().to_string();
    let mut grouped = String::new();
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            grouped.push('.');
        }
        grouped.push(digit);
    }
    let sign = if amount < 0 { "-" } else { "" };
    format!("Rp {sign}{grouped}")
}

/// Applies one event to the tracker. Events of types the tracker does not follow, or not
/// about a case, are ignored.
pub async fn apply(conn: &mut PgConnection, event: &TrackedEvent<'_>) -> Result<(), ProjectionError> {
    let Some(case_id) = event.case_id else { return Ok(()) };
    let summary = match event.event_type {
        "slrt.intake.v1.CaseOpened" => {
            let opened: intake::CaseOpened = decode(event)?;
            open_case(conn, event, case_id, &opened).await?;
            let applicant = opened.applicant.unwrap_or_default();
            format!(
                "Case {} opened at desk {} by {} for {} with {} need(s): {}",
                opened.case_number,
                opened.desk_region_code,
                opened.opened_by,
                applicant.full_name,
                opened.needs.len(),
                opened
                    .needs
                    .iter()
                    .map(|need| need.category.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        }
        "slrt.eligibility.v1.CaseDecided" => {
            let decided: eligibility::CaseDecided = decode(event)?;
            let mut parts = Vec::new();
            for decision in &decided.decisions {
                let need_id = uuid_field(event, "need_id", &decision.need_id)?;
                let approved = decision.outcome == eligibility::Outcome::Approved as i32;
                let status = if approved {
                    NeedStatus::Approved
                } else {
                    NeedStatus::Rejected
                };
                advance_need(conn, case_id, need_id, status, event.occurred_at).await?;
                if approved {
                    sqlx::query("UPDATE tracked_needs SET programme_code = $3 WHERE case_id = $1 AND need_id = $2")
                        .bind(case_id)
                        .bind(need_id)
                        .bind(&decision.programme_code)
                        .execute(&mut *conn)
                        .await?;
                }
                let reasons: Vec<&str> = decision.reasons.iter().map(|reason| reason.message.as_str()).collect();
                parts.push(if approved {
                    format!(
                        "{} approved under {} ({})",
                        decision.category,
                        decision.programme_code,
                        reasons.join("; ")
                    )
                } else {
                    format!("{} rejected ({})", decision.category, reasons.join("; "))
                });
            }
            format!(
                "Eligibility decided under catalogue {}: {}",
                decided.catalogue_version,
                parts.join(". ")
            )
        }
        "slrt.eligibility.v1.EnrolmentStarted" => {
            let started: eligibility::EnrolmentStarted = decode(event)?;
            format!(
                "Enrolled in {} ({} {})",
                started.programme_code, started.beneficiary_kind, started.beneficiary_id
            )
        }
        "slrt.referral.v1.ReferralRequested" => {
            let requested: referral::ReferralRequested = decode(event)?;
            let details = requested.referral.unwrap_or_default();
            let need_id = uuid_field(event, "need_id", &details.need_id)?;
            let referral_id = uuid_field(event, "referral_id", &details.referral_id)?;
            advance_need(conn, case_id, need_id, NeedStatus::Referred, event.occurred_at).await?;
            sqlx::query("UPDATE tracked_needs SET opd_code = $3, referral_id = $4 WHERE case_id = $1 AND need_id = $2")
                .bind(case_id)
                .bind(need_id)
                .bind(&details.opd_code)
                .bind(referral_id)
                .execute(&mut *conn)
                .await?;
            format!(
                "Referred {} to {} ({}): {}",
                details.category, details.opd_name, details.opd_code, details.service
            )
        }
        "slrt.referral.v1.ReferralUnrouted" => {
            let unrouted: referral::ReferralUnrouted = decode(event)?;
            let need_id = uuid_field(event, "need_id", &unrouted.need_id)?;
            advance_need(conn, case_id, need_id, NeedStatus::Unrouted, event.occurred_at).await?;
            format!(
                "No agency route for {} in {}: {}",
                unrouted.category, unrouted.region_code, unrouted.reason
            )
        }
        "slrt.referral.v1.ReferralAcknowledged" => {
            let acknowledged: referral::ReferralAcknowledged = decode(event)?;
            format!(
                "{} acknowledged the referral ({})",
                acknowledged.opd_code, acknowledged.actor
            )
        }
        "slrt.referral.v1.ReferralAccepted" => {
            let accepted: referral::ReferralAccepted = decode(event)?;
            let details = accepted.referral.unwrap_or_default();
            let need_id = uuid_field(event, "need_id", &details.need_id)?;
            advance_need(conn, case_id, need_id, NeedStatus::InService, event.occurred_at).await?;
            format!("{} accepted the referral ({})", details.opd_code, accepted.actor)
        }
        "slrt.referral.v1.ReferralRejected" => {
            let rejected: referral::ReferralRejected = decode(event)?;
            let referral_id = uuid_field(event, "referral_id", &rejected.referral_id)?;
            advance_referred_need(
                conn,
                case_id,
                referral_id,
                NeedStatus::ReferralRejected,
                event.occurred_at,
            )
            .await?;
            format!("{} rejected the referral: {}", rejected.opd_code, rejected.reason)
        }
        "slrt.referral.v1.ReferralCompleted" => {
            let completed: referral::ReferralCompleted = decode(event)?;
            let referral_id = uuid_field(event, "referral_id", &completed.referral_id)?;
            advance_referred_need(conn, case_id, referral_id, NeedStatus::Resolved, event.occurred_at).await?;
            if completed.successful {
                format!("{} completed the referral successfully", completed.opd_code)
            } else {
                format!(
                    "{} closed the referral without success: {}",
                    completed.opd_code, completed.outcome_code
                )
            }
        }
        "slrt.disbursement.v1.EntitlementCreated" => {
            let created: disbursement::EntitlementCreated = decode(event)?;
            format!(
                "Entitled to {} ({}): {} {} from {}",
                created.programme_code,
                created.component,
                rupiah(created.amount_per_period_idr),
                created.cadence,
                created.first_period
            )
        }
        "slrt.disbursement.v1.PaymentInstructionCreated" => {
            let instructed: disbursement::PaymentInstructionCreated = decode(event)?;
            format!(
                "Payment instructed: {} for {}",
                instructed.payment_key,
                rupiah(instructed.amount_idr)
            )
        }
        "slrt.disbursement.v1.PaymentHeld" => {
            let held: disbursement::PaymentHeld = decode(event)?;
            format!("Payment {} held: {}", held.payment_key, held.reasons.join("; "))
        }
        _ => return Ok(()),
    };

    sqlx::query(
        "INSERT INTO case_timeline (event_id, case_id, event_type, service, occurred_at, summary, trace_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (event_id) DO NOTHING",
    )
    .bind(event.event_id)
    .bind(case_id)
    .bind(event.event_type)
    .bind(event.service)
    .bind(event.occurred_at)
    .bind(summary)
    .bind(event.traceparent.and_then(slrt_telemetry::trace_id_of))
    .execute(&mut *conn)
    .await?;
    refresh_case_status(conn, case_id, event.occurred_at).await
}

async fn open_case(
    conn: &mut PgConnection,
    event: &TrackedEvent<'_>,
    case_id: Uuid,
    opened: &intake::CaseOpened,
) -> Result<(), ProjectionError> {
    let applicant = opened.applicant.clone().unwrap_or_default();
    let nik_masked = slrt_identity::Nik::parse(&applicant.nik)
        .map(|nik| nik.masked())
        .unwrap_or_else(|_| "****************".to_string());
    sqlx::query(
        "INSERT INTO tracked_cases (case_id, case_number, kind, status, applicant_name, nik_masked, region_code,
                                    desk_region_code, opened_by, warnings, opened_at, updated_at)
         VALUES ($1, $2, $3, 'open', $4, $5, $6, $7, $8, $9, $10, $10)
         ON CONFLICT (case_id) DO NOTHING",
    )
    .bind(case_id)
    .bind(&opened.case_number)
    .bind(&opened.kind)
    .bind(&applicant.full_name)
    .bind(nik_masked)
    .bind(&applicant.region_code)
    .bind(&opened.desk_region_code)
    .bind(&opened.opened_by)
    .bind(serde_json::json!(opened.warnings))
    .bind(event.occurred_at)
    .execute(&mut *conn)
    .await?;
    for need in &opened.needs {
        sqlx::query(
            "INSERT INTO tracked_needs (case_id, need_id, category, status, updated_at)
             VALUES ($1, $2, $3, 'open', $4)
             ON CONFLICT (case_id, need_id) DO NOTHING",
        )
        .bind(case_id)
        .bind(uuid_field(event, "need_id", &need.need_id)?)
        .bind(&need.category)
        .bind(event.occurred_at)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

// Events from different services can arrive in any order relative to each other (they
// travel on different topics), so a need only ever moves forward: a late "approved" never
// overwrites "in service".
fn rank(status: NeedStatus) -> u8 {
    match status {
        NeedStatus::Open => 0,
        NeedStatus::Approved | NeedStatus::Rejected => 1,
        NeedStatus::Referred | NeedStatus::Unrouted => 2,
        NeedStatus::ReferralRejected => 3,
        NeedStatus::InService => 4,
        NeedStatus::Resolved => 5,
    }
}

async fn advance_need(
    conn: &mut PgConnection,
    case_id: Uuid,
    need_id: Uuid,
    status: NeedStatus,
    at: DateTime<Utc>,
) -> Result<(), ProjectionError> {
    let current: Option<String> =
        sqlx::query_scalar("SELECT status FROM tracked_needs WHERE case_id = $1 AND need_id = $2 FOR UPDATE")
            .bind(case_id)
            .bind(need_id)
            .fetch_optional(&mut *conn)
            .await?;
    let Some(current) = current.as_deref().and_then(NeedStatus::parse) else {
        return Ok(());
    };
    if rank(status) >= rank(current) {
        sqlx::query("UPDATE tracked_needs SET status = $3, updated_at = $4 WHERE case_id = $1 AND need_id = $2")
            .bind(case_id)
            .bind(need_id)
            .bind(status.code())
            .bind(at)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

async fn advance_referred_need(
    conn: &mut PgConnection,
    case_id: Uuid,
    referral_id: Uuid,
    status: NeedStatus,
    at: DateTime<Utc>,
) -> Result<(), ProjectionError> {
    let need_id: Option<Uuid> =
        sqlx::query_scalar("SELECT need_id FROM tracked_needs WHERE case_id = $1 AND referral_id = $2")
            .bind(case_id)
            .bind(referral_id)
            .fetch_optional(&mut *conn)
            .await?;
    match need_id {
        Some(need_id) => advance_need(conn, case_id, need_id, status, at).await,
        None => Ok(()),
    }
}

async fn refresh_case_status(conn: &mut PgConnection, case_id: Uuid, at: DateTime<Utc>) -> Result<(), ProjectionError> {
    let needs: Vec<String> = sqlx::query_scalar("SELECT status FROM tracked_needs WHERE case_id = $1")
        .bind(case_id)
        .fetch_all(&mut *conn)
        .await?;
    let needs: Vec<NeedStatus> = needs.iter().filter_map(|code| NeedStatus::parse(code)).collect();
    sqlx::query("UPDATE tracked_cases SET status = $2, updated_at = GREATEST(updated_at, $3) WHERE case_id = $1")
        .bind(case_id)
        .bind(case_status(&needs).code())
        .bind(at)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rupiah_groups_thousands_with_dots() {
        assert_eq!(rupiah(2_700_000), "Rp 2.700.000");
        assert_eq!(rupiah(300_000), "Rp 300.000");
        assert_eq!(rupiah(0), "Rp 0");
        assert_eq!(rupiah(-1500), "Rp -1.500");
    }
}
