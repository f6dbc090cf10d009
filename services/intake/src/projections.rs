//! The case tracker's read model: every case with its needs and a timeline of every step,
//! built from the events of all four services. Applying the same event twice changes
//! nothing (the timeline is keyed by event id, and an event already on it is not applied
//! again), so the model can be rebuilt from the log at any time. How each event moves a
//! need is decided in `domain::status`.

use chrono::{DateTime, Utc};
use prost::Message;
use slrt_proto::disbursement::v1 as disbursement;
use slrt_proto::eligibility::v1 as eligibility;
use slrt_proto::intake::v1 as intake;
use slrt_proto::referral::v1 as referral;
use sqlx::{PgConnection, Row};
use uuid::Uuid;

use crate::domain::{CaseLifecycle, NeedStatus, NeedStep, SlaClock, TrackedNeed, lifecycle_status};

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

/// The event types the tracker follows; every other event is passed over.
pub const TRACKED_EVENT_TYPES: [&str; 23] = [
    "slrt.intake.v1.CaseOpened",
    "slrt.intake.v1.CaseWithdrawn",
    "slrt.intake.v1.CaseClosed",
    "slrt.intake.v1.ComplaintAnswered",
    "slrt.eligibility.v1.VerificationTaskOpened",
    "slrt.eligibility.v1.VerificationTaskResolved",
    "slrt.eligibility.v1.CaseDecided",
    "slrt.eligibility.v1.EnrolmentStarted",
    "slrt.referral.v1.ReferralRequested",
    "slrt.referral.v1.ReferralUnrouted",
    "slrt.referral.v1.ReferralAcknowledged",
    "slrt.referral.v1.ReferralAccepted",
    "slrt.referral.v1.ReferralRejected",
    "slrt.referral.v1.ReferralInProgress",
    "slrt.referral.v1.ReferralCompleted",
    "slrt.referral.v1.ReferralTransferred",
    "slrt.referral.v1.ReferralRevoked",
    "slrt.referral.v1.ReferralEscalated",
    "slrt.referral.v1.ReferralLinked",
    "slrt.referral.v1.LinkedNeedClosed",
    "slrt.disbursement.v1.EntitlementCreated",
    "slrt.disbursement.v1.PaymentInstructionCreated",
    "slrt.disbursement.v1.PaymentHeld",
];

pub fn follows(event_type: &str) -> bool {
    TRACKED_EVENT_TYPES.contains(&event_type)
}

/// What an event changes in the tracker besides its timeline line.
enum Change {
    Nothing,
    OpenCase(Box<intake::CaseOpened>),
    Decide(Vec<Decision>),
    Need {
        need: NeedRef,
        step: NeedStep,
    },
    /// The applicant withdrew the case; its unfinished needs are withdrawn with it.
    Withdraw,
    /// The desk closed the case, or answered the question or suggestion (`outcome`).
    Close {
        outcome: Option<&'static str>,
    },
    VerificationOpened {
        task_id: String,
    },
    VerificationResolved {
        outcome: String,
    },
}

struct Decision {
    need_id: Uuid,
    approved: bool,
    programme_code: String,
}

/// How an event names the need it is about: by id, or only by the referral the need follows.
enum NeedRef {
    Id(Uuid),
    Referral(Uuid),
}

/// Applies one event to the tracker, as the live path does, and records it for a rebuild
/// (`app::rebuild`). Events of types the tracker does not follow, or not about a case, are
/// ignored.
pub async fn apply(conn: &mut PgConnection, event: &TrackedEvent<'_>) -> Result<(), ProjectionError> {
    if project(conn, event).await? {
        record_applied(conn, event).await?;
    }
    Ok(())
}

/// Keeps what a rebuild needs to apply `event` again: its payload when another service
/// owns it (intake's own events are kept in its event store).
async fn record_applied(conn: &mut PgConnection, event: &TrackedEvent<'_>) -> Result<(), sqlx::Error> {
    let own = event.event_type.starts_with("slrt.intake.");
    sqlx::query(
        "INSERT INTO tracker_applied (event_id, event_type, service, case_id, occurred_at, traceparent, payload)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (event_id) DO NOTHING",
    )
    .bind(event.event_id)
    .bind(event.event_type)
    .bind(event.service)
    .bind(event.case_id)
    .bind(event.occurred_at)
    .bind(event.traceparent)
    .bind((!own).then_some(event.payload))
    .execute(conn)
    .await?;
    Ok(())
}

/// Applies one event to the read model only; true when it was new to the tracker. The
/// rebuild replays through this, the live path through [`apply`].
pub async fn project(conn: &mut PgConnection, event: &TrackedEvent<'_>) -> Result<bool, ProjectionError> {
    let Some(case_id) = event.case_id else { return Ok(false) };
    let Some((summary, change)) = interpret(event)? else {
        return Ok(false);
    };

    // The line goes first: its key is the event id, so an event delivered again finds its line
    // and changes nothing else either, however much has happened to the need since.
    let recorded = sqlx::query(
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
    .await?
    .rows_affected();
    if recorded == 0 {
        return Ok(false);
    }

    // After the applicant withdrew, what the agencies still report is history: it shows on
    // the timeline and moves no need.
    let withdrawn: bool = sqlx::query_scalar("SELECT withdrawn_at IS NOT NULL FROM tracked_cases WHERE case_id = $1")
        .bind(case_id)
        .fetch_optional(&mut *conn)
        .await?
        .unwrap_or(false);
    if withdrawn && matches!(change, Change::Decide(_) | Change::Need { .. }) {
        return Ok(true);
    }

    match change {
        Change::Nothing => {}
        Change::OpenCase(opened) => open_case(conn, event, case_id, &opened).await?,
        Change::Decide(decisions) => {
            for decision in decisions {
                if decision.approved {
                    sqlx::query("UPDATE tracked_needs SET programme_code = $3 WHERE case_id = $1 AND need_id = $2")
                        .bind(case_id)
                        .bind(decision.need_id)
                        .bind(&decision.programme_code)
                        .execute(&mut *conn)
                        .await?;
                }
                let step = NeedStep::Decided {
                    approved: decision.approved,
                };
                step_need(conn, case_id, NeedRef::Id(decision.need_id), &step, event.occurred_at).await?;
            }
        }
        Change::Need { need, step } => step_need(conn, case_id, need, &step, event.occurred_at).await?,
        Change::Withdraw => {
            sqlx::query(
                "UPDATE tracked_needs SET status = $2, overdue_clock = NULL, updated_at = $3
                 WHERE case_id = $1 AND NOT (status = ANY($4))",
            )
            .bind(case_id)
            .bind(NeedStatus::Withdrawn.code())
            .bind(event.occurred_at)
            .bind(
                NeedStatus::ALL
                    .iter()
                    .filter(|status| status.is_terminal())
                    .map(|status| status.code())
                    .collect::<Vec<_>>(),
            )
            .execute(&mut *conn)
            .await?;
            sqlx::query("UPDATE tracked_cases SET withdrawn_at = $2, verification_open = false WHERE case_id = $1")
                .bind(case_id)
                .bind(event.occurred_at)
                .execute(&mut *conn)
                .await?;
        }
        Change::Close { outcome } => {
            sqlx::query(
                "UPDATE tracked_cases SET closed_at = $2, complaint_outcome = COALESCE($3, complaint_outcome)
                 WHERE case_id = $1",
            )
            .bind(case_id)
            .bind(event.occurred_at)
            .bind(outcome)
            .execute(&mut *conn)
            .await?;
        }
        Change::VerificationOpened { task_id } => {
            // A task resolved already (its events redelivered out of turn) stays resolved.
            sqlx::query(
                "UPDATE tracked_cases SET verification_task_id = $2, verification_open = NOT complaint_settled
                 WHERE case_id = $1",
            )
            .bind(case_id)
            .bind(task_id)
            .execute(&mut *conn)
            .await?;
        }
        Change::VerificationResolved { outcome } => {
            sqlx::query(
                "UPDATE tracked_cases SET verification_open = false, complaint_settled = true, complaint_outcome = $2
                 WHERE case_id = $1",
            )
            .bind(case_id)
            .bind(outcome)
            .execute(&mut *conn)
            .await?;
        }
    }
    refresh_case_status(conn, case_id, event.occurred_at).await?;
    Ok(true)
}

/// The event's timeline line and what it changes; `None` for events the tracker does not
/// follow.
fn interpret(event: &TrackedEvent<'_>) -> Result<Option<(String, Change)>, ProjectionError> {
    let interpreted = match event.event_type {
        "slrt.intake.v1.CaseOpened" => {
            let opened: intake::CaseOpened = decode(event)?;
            let applicant = opened.applicant.clone().unwrap_or_default();
            let mut summary = format!(
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
            );
            if let Some(complaint) = &opened.complaint {
                let kind = if complaint.grievance_type.is_empty() {
                    complaint.complaint_type.clone()
                } else {
                    format!("{} ({})", complaint.complaint_type, complaint.grievance_type)
                };
                summary = format!(
                    "Complaint {} taken at desk {} by {} from {}: {kind}: {}",
                    opened.case_number,
                    opened.desk_region_code,
                    opened.opened_by,
                    applicant.full_name,
                    complaint.statement
                );
                if let Some(reported) = &complaint.reported {
                    summary.push_str(&format!(
                        "; reports {} of {} (ground: {})",
                        reported.full_name, reported.region_code, reported.ground
                    ));
                }
                if !opened.needs.is_empty() {
                    summary.push_str(&format!(
                        "; asks to be assessed for: {}",
                        opened
                            .needs
                            .iter()
                            .map(|need| need.category.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ));
                }
            }
            (summary, Change::OpenCase(Box::new(opened)))
        }
        "slrt.intake.v1.CaseWithdrawn" => {
            let withdrawn: intake::CaseWithdrawn = decode(event)?;
            let summary = format!(
                "The applicant withdrew the case ({}): {}; {} open need(s) withdrawn",
                withdrawn.actor,
                withdrawn.reason,
                withdrawn.withdrawn_need_ids.len()
            );
            (summary, Change::Withdraw)
        }
        "slrt.intake.v1.CaseClosed" => {
            let closed: intake::CaseClosed = decode(event)?;
            let mut summary = format!("The desk closed the case ({})", closed.actor);
            if !closed.note.is_empty() {
                summary.push_str(&format!(": {}", closed.note));
            }
            (summary, Change::Close { outcome: None })
        }
        "slrt.intake.v1.ComplaintAnswered" => {
            let answered: intake::ComplaintAnswered = decode(event)?;
            let summary = format!("The desk answered ({}): {}", answered.actor, answered.answer);
            (
                summary,
                Change::Close {
                    outcome: Some("answered"),
                },
            )
        }
        "slrt.eligibility.v1.VerificationTaskOpened" => {
            let opened: eligibility::VerificationTaskOpened = decode(event)?;
            let mut summary = format!(
                "Eligibility opened verification task {} ({}), due {}",
                opened.task_id, opened.ground, opened.due_on
            );
            if !opened.held_programmes.is_empty() {
                summary.push_str(&format!("; held meanwhile: {}", opened.held_programmes.join(", ")));
            }
            if !opened.summary.is_empty() {
                summary.push_str(&format!(": {}", opened.summary));
            }
            (
                summary,
                Change::VerificationOpened {
                    task_id: opened.task_id,
                },
            )
        }
        "slrt.eligibility.v1.VerificationTaskResolved" => {
            let resolved: eligibility::VerificationTaskResolved = decode(event)?;
            let outcome = match resolved.outcome.as_str() {
                "confirmed" | "rejected" | "not_found" => resolved.outcome.clone(),
                _ => {
                    return Err(ProjectionError::Field {
                        event_type: event.event_type.to_string(),
                        field: "outcome",
                    });
                }
            };
            let mut summary = format!(
                "Verification task {} decided by {}: {}",
                resolved.task_id, resolved.actor, resolved.outcome
            );
            if !resolved.reason.is_empty() {
                summary.push_str(&format!(" ({})", resolved.reason));
            }
            if !resolved.ended_programmes.is_empty() {
                summary.push_str(&format!("; ended: {}", resolved.ended_programmes.join(", ")));
            }
            if !resolved.released_programmes.is_empty() {
                summary.push_str(&format!("; released: {}", resolved.released_programmes.join(", ")));
            }
            (summary, Change::VerificationResolved { outcome })
        }
        "slrt.eligibility.v1.CaseDecided" => {
            let decided: eligibility::CaseDecided = decode(event)?;
            let mut parts = Vec::new();
            let mut decisions = Vec::new();
            for decision in &decided.decisions {
                let approved = decision.outcome == eligibility::Outcome::Approved as i32;
                decisions.push(Decision {
                    need_id: uuid_field(event, "need_id", &decision.need_id)?,
                    approved,
                    programme_code: decision.programme_code.clone(),
                });
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
            let summary = format!(
                "Eligibility decided under catalogue {}: {}",
                decided.catalogue_version,
                parts.join(". ")
            );
            (summary, Change::Decide(decisions))
        }
        "slrt.eligibility.v1.EnrolmentStarted" => {
            let started: eligibility::EnrolmentStarted = decode(event)?;
            let summary = format!(
                "Enrolled in {} ({} {})",
                started.programme_code, started.beneficiary_kind, started.beneficiary_id
            );
            (summary, Change::Nothing)
        }
        "slrt.referral.v1.ReferralRequested" => {
            let requested: referral::ReferralRequested = decode(event)?;
            let details = requested.referral.clone().unwrap_or_default();
            let step = NeedStep::Referred {
                referral_id: uuid_field(event, "referral.referral_id", &details.referral_id)?,
                opd_code: details.opd_code.clone(),
                attempt: details.attempt,
            };
            let need = NeedRef::Id(uuid_field(event, "referral.need_id", &details.need_id)?);
            (requested_summary(&requested), Change::Need { need, step })
        }
        "slrt.referral.v1.ReferralUnrouted" => {
            let unrouted: referral::ReferralUnrouted = decode(event)?;
            let mut summary = format!(
                "No agency route for {} in {}: {}",
                unrouted.category, unrouted.region_code, unrouted.reason
            );
            if !unrouted.tried_opd_codes.is_empty() {
                summary.push_str(&format!(" (already tried: {})", unrouted.tried_opd_codes.join(", ")));
            }
            if !unrouted.linked.is_empty() {
                summary.push_str(&format!(
                    "; {} need(s) of other cases wait on it",
                    unrouted.linked.len()
                ));
            }
            let need = NeedRef::Id(uuid_field(event, "need_id", &unrouted.need_id)?);
            (
                summary,
                Change::Need {
                    need,
                    step: NeedStep::Unrouted,
                },
            )
        }
        "slrt.referral.v1.ReferralAcknowledged" => {
            let acknowledged: referral::ReferralAcknowledged = decode(event)?;
            let referral_id = uuid_field(event, "referral_id", &acknowledged.referral_id)?;
            let summary = format!(
                "{} acknowledged the referral ({})",
                acknowledged.opd_code, acknowledged.actor
            );
            (summary, referral_step(referral_id, None))
        }
        "slrt.referral.v1.ReferralAccepted" => {
            let accepted: referral::ReferralAccepted = decode(event)?;
            let details = accepted.referral.unwrap_or_default();
            let step = NeedStep::ReferralStep {
                referral_id: uuid_field(event, "referral.referral_id", &details.referral_id)?,
                status: Some(NeedStatus::InService),
            };
            let need = NeedRef::Id(uuid_field(event, "referral.need_id", &details.need_id)?);
            let summary = format!("{} accepted the referral ({})", details.opd_code, accepted.actor);
            (summary, Change::Need { need, step })
        }
        "slrt.referral.v1.ReferralRejected" => {
            let rejected: referral::ReferralRejected = decode(event)?;
            let referral_id = uuid_field(event, "referral_id", &rejected.referral_id)?;
            let summary = format!("{} rejected the referral: {}", rejected.opd_code, rejected.reason);
            (summary, referral_step(referral_id, Some(NeedStatus::ReferralRejected)))
        }
        "slrt.referral.v1.ReferralInProgress" => {
            let started: referral::ReferralInProgress = decode(event)?;
            let referral_id = uuid_field(event, "referral_id", &started.referral_id)?;
            let mut summary = format!("{} started serving the referral ({})", started.opd_code, started.actor);
            if !started.note.is_empty() {
                summary.push_str(&format!(": {}", started.note));
            }
            (summary, referral_step(referral_id, Some(NeedStatus::InService)))
        }
        "slrt.referral.v1.ReferralCompleted" => {
            let completed: referral::ReferralCompleted = decode(event)?;
            let referral_id = uuid_field(event, "referral_id", &completed.referral_id)?;
            let summary = if completed.successful {
                format!("{} completed the referral successfully", completed.opd_code)
            } else {
                format!(
                    "{} closed the referral without success: {}",
                    completed.opd_code, completed.outcome_code
                )
            };
            (summary, referral_step(referral_id, Some(NeedStatus::Resolved)))
        }
        "slrt.referral.v1.ReferralTransferred" => {
            let transferred: referral::ReferralTransferred = decode(event)?;
            let referral_id = uuid_field(event, "referral_id", &transferred.referral_id)?;
            let summary = format!(
                "{} transferred the referral to {}: {}",
                transferred.opd_code, transferred.to_opd_code, transferred.reason
            );
            // The need stays where it is: the ReferralRequested recorded with the transfer
            // moves it to the new agency.
            (summary, referral_step(referral_id, None))
        }
        "slrt.referral.v1.ReferralRevoked" => {
            let revoked: referral::ReferralRevoked = decode(event)?;
            let referral_id = uuid_field(event, "referral_id", &revoked.referral_id)?;
            let summary = format!(
                "The SLRT withdrew the referral to {} ({}): {}",
                revoked.opd_code, revoked.actor, revoked.reason
            );
            (summary, referral_step(referral_id, Some(NeedStatus::Withdrawn)))
        }
        "slrt.referral.v1.ReferralEscalated" => {
            let escalated: referral::ReferralEscalated = decode(event)?;
            let referral_id = uuid_field(event, "referral_id", &escalated.referral_id)?;
            let clock = SlaClock::parse(&escalated.clock).ok_or_else(|| ProjectionError::Field {
                event_type: event.event_type.to_string(),
                field: "clock",
            })?;
            let step = NeedStep::Escalated {
                referral_id,
                clock,
                level: escalated.level,
            };
            (
                escalated_summary(&escalated, clock),
                Change::Need {
                    need: NeedRef::Referral(referral_id),
                    step,
                },
            )
        }
        "slrt.referral.v1.ReferralLinked" => {
            // Recorded on the open referral's stream, but the envelope names the linked case:
            // the need that moves is the linked one.
            let linked: referral::ReferralLinked = decode(event)?;
            let step = NeedStep::Linked {
                referral_id: uuid_field(event, "referral_id", &linked.referral_id)?,
                opd_code: linked.opd_code.clone(),
            };
            let need = NeedRef::Id(uuid_field(event, "linked_need_id", &linked.linked_need_id)?);
            let summary = format!(
                "Already referred to {} under another case: linked to the open referral instead of referring twice",
                linked.opd_code
            );
            (summary, Change::Need { need, step })
        }
        "slrt.referral.v1.LinkedNeedClosed" => {
            let closed: referral::LinkedNeedClosed = decode(event)?;
            let (status, summary) = match closed.referral_status.as_str() {
                "completed" if closed.successful => (
                    NeedStatus::Resolved,
                    "The referral this need was linked to was completed successfully".to_string(),
                ),
                "completed" => (
                    NeedStatus::Resolved,
                    format!(
                        "The referral this need was linked to was closed without success: {}",
                        closed.outcome_code
                    ),
                ),
                "revoked" => (
                    NeedStatus::Withdrawn,
                    "The referral this need was linked to was revoked: the need is withdrawn".to_string(),
                ),
                _ => {
                    return Err(ProjectionError::Field {
                        event_type: event.event_type.to_string(),
                        field: "referral_status",
                    });
                }
            };
            let step = NeedStep::LinkClosed {
                referral_id: uuid_field(event, "referral_id", &closed.referral_id)?,
                status,
            };
            let need = NeedRef::Id(uuid_field(event, "linked_need_id", &closed.linked_need_id)?);
            (summary, Change::Need { need, step })
        }
        "slrt.disbursement.v1.EntitlementCreated" => {
            let created: disbursement::EntitlementCreated = decode(event)?;
            let summary = format!(
                "Entitled to {} ({}): {} {} from {}",
                created.programme_code,
                created.component,
                rupiah(created.amount_per_period_idr),
                created.cadence,
                created.first_period
            );
            (summary, Change::Nothing)
        }
        "slrt.disbursement.v1.PaymentInstructionCreated" => {
            let instructed: disbursement::PaymentInstructionCreated = decode(event)?;
            let summary = format!(
                "Payment instructed: {} for {}",
                instructed.payment_key,
                rupiah(instructed.amount_idr)
            );
            (summary, Change::Nothing)
        }
        "slrt.disbursement.v1.PaymentHeld" => {
            let held: disbursement::PaymentHeld = decode(event)?;
            let summary = format!("Payment {} held: {}", held.payment_key, held.reasons.join("; "));
            (summary, Change::Nothing)
        }
        _ => return Ok(None),
    };
    Ok(Some(interpreted))
}

fn referral_step(referral_id: Uuid, status: Option<NeedStatus>) -> Change {
    Change::Need {
        need: NeedRef::Referral(referral_id),
        step: NeedStep::ReferralStep { referral_id, status },
    }
}

/// "Referred …", "Re-routed …" or "Placed …", saying why when it was not the routing table.
fn requested_summary(requested: &referral::ReferralRequested) -> String {
    let details = requested.referral.clone().unwrap_or_default();
    let agency = format!("{} ({})", details.opd_name, details.opd_code);
    let how = match requested.routed_by.as_str() {
        "rerouted_after_rejection" => format!(
            "Re-routed {} to {agency} after a rejection, attempt {}",
            details.category, details.attempt
        ),
        "transferred" => format!(
            "Re-routed {} to {agency} by transfer, attempt {}",
            details.category, details.attempt
        ),
        "placed_by_supervisor" => format!(
            "A supervisor placed {} with {agency}, attempt {}",
            details.category, details.attempt
        ),
        _ => format!("Referred {} to {agency}", details.category),
    };
    let mut summary = format!("{how}: {}", details.service);
    if !requested.routing_note.is_empty() {
        summary.push_str(&format!(" ({})", requested.routing_note));
    }
    summary
}

/// "Response from DINSOS overdue by 2 working day(s): escalated to Manajer SLRT (level 2)".
fn escalated_summary(escalated: &referral::ReferralEscalated, clock: SlaClock) -> String {
    let clock = match clock {
        SlaClock::Response => "Response from",
        SlaClock::Resolution => "Resolution by",
    };
    let to = if escalated.escalated_to_name.is_empty() {
        &escalated.escalated_to
    } else {
        &escalated.escalated_to_name
    };
    format!(
        "{clock} {} overdue by {} working day(s): escalated to {to} (level {})",
        escalated.opd_code, escalated.working_days_overdue, escalated.level
    )
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
                                    desk_region_code, opened_by, warnings, opened_at, updated_at,
                                    complaint_type, grievance_type)
         VALUES ($1, $2, $3, 'open', $4, $5, $6, $7, $8, $9, $10, $10, $11, $12)
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
    .bind(
        opened
            .complaint
            .as_ref()
            .map(|complaint| complaint.complaint_type.clone()),
    )
    .bind(
        opened
            .complaint
            .as_ref()
            .map(|complaint| complaint.grievance_type.clone())
            .filter(|grievance| !grievance.is_empty()),
    )
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

/// Moves one need of the case as `step` says; a need the tracker does not know, or no need
/// following the referral (a superseded one), stays as it is.
async fn step_need(
    conn: &mut PgConnection,
    case_id: Uuid,
    need: NeedRef,
    step: &NeedStep,
    at: DateTime<Utc>,
) -> Result<(), ProjectionError> {
    let row = match need {
        NeedRef::Id(need_id) => {
            sqlx::query(
                "SELECT need_id, status, referral_id, opd_code, referral_attempt, escalation_level, overdue_clock
                 FROM tracked_needs WHERE case_id = $1 AND need_id = $2 FOR UPDATE",
            )
            .bind(case_id)
            .bind(need_id)
            .fetch_optional(&mut *conn)
            .await?
        }
        NeedRef::Referral(referral_id) => {
            sqlx::query(
                "SELECT need_id, status, referral_id, opd_code, referral_attempt, escalation_level, overdue_clock
                 FROM tracked_needs WHERE case_id = $1 AND referral_id = $2 FOR UPDATE",
            )
            .bind(case_id)
            .bind(referral_id)
            .fetch_optional(&mut *conn)
            .await?
        }
    };
    let Some(row) = row else { return Ok(()) };
    let need_id: Uuid = row.try_get("need_id")?;
    let status: String = row.try_get("status")?;
    let overdue: Option<String> = row.try_get("overdue_clock")?;
    // Only this module writes these columns, with codes that parse.
    let Some(status) = NeedStatus::parse(&status) else {
        return Ok(());
    };
    let current = TrackedNeed {
        status,
        referral_id: row.try_get("referral_id")?,
        opd_code: row.try_get("opd_code")?,
        attempt: row.try_get("referral_attempt")?,
        escalation_level: row.try_get("escalation_level")?,
        overdue: overdue.as_deref().and_then(SlaClock::parse),
    };
    let Some(next) = current.after(step) else { return Ok(()) };
    sqlx::query(
        "UPDATE tracked_needs
         SET status = $3, referral_id = $4, opd_code = $5, referral_attempt = $6, escalation_level = $7,
             overdue_clock = $8, updated_at = $9
         WHERE case_id = $1 AND need_id = $2",
    )
    .bind(case_id)
    .bind(need_id)
    .bind(next.status.code())
    .bind(next.referral_id)
    .bind(&next.opd_code)
    .bind(next.attempt)
    .bind(next.escalation_level)
    .bind(next.overdue.map(SlaClock::code))
    .bind(at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

async fn refresh_case_status(conn: &mut PgConnection, case_id: Uuid, at: DateTime<Utc>) -> Result<(), ProjectionError> {
    let needs: Vec<String> = sqlx::query_scalar("SELECT status FROM tracked_needs WHERE case_id = $1")
        .bind(case_id)
        .fetch_all(&mut *conn)
        .await?;
    let needs: Vec<NeedStatus> = needs.iter().filter_map(|code| NeedStatus::parse(code)).collect();
    let Some(row) = sqlx::query(
        "SELECT withdrawn_at IS NOT NULL AS withdrawn, closed_at IS NOT NULL AS closed, complaint_settled
         FROM tracked_cases WHERE case_id = $1",
    )
    .bind(case_id)
    .fetch_optional(&mut *conn)
    .await?
    else {
        return Ok(());
    };
    let lifecycle = CaseLifecycle {
        withdrawn: row.try_get("withdrawn")?,
        closed: row.try_get("closed")?,
        complaint_settled: row.try_get("complaint_settled")?,
    };
    sqlx::query("UPDATE tracked_cases SET status = $2, updated_at = GREATEST(updated_at, $3) WHERE case_id = $1")
        .bind(case_id)
        .bind(lifecycle_status(&needs, lifecycle).code())
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

    #[test]
    fn the_tracker_follows_every_event_type_it_summarises_under_its_proto_name() {
        use prost::Name;
        let names = [
            intake::CaseOpened::full_name(),
            intake::CaseWithdrawn::full_name(),
            intake::CaseClosed::full_name(),
            intake::ComplaintAnswered::full_name(),
            eligibility::VerificationTaskOpened::full_name(),
            eligibility::VerificationTaskResolved::full_name(),
            eligibility::CaseDecided::full_name(),
            eligibility::EnrolmentStarted::full_name(),
            referral::ReferralRequested::full_name(),
            referral::ReferralUnrouted::full_name(),
            referral::ReferralAcknowledged::full_name(),
            referral::ReferralAccepted::full_name(),
            referral::ReferralRejected::full_name(),
            referral::ReferralInProgress::full_name(),
            referral::ReferralCompleted::full_name(),
            referral::ReferralTransferred::full_name(),
            referral::ReferralRevoked::full_name(),
            referral::ReferralEscalated::full_name(),
            referral::ReferralLinked::full_name(),
            referral::LinkedNeedClosed::full_name(),
            disbursement::EntitlementCreated::full_name(),
            disbursement::PaymentInstructionCreated::full_name(),
            disbursement::PaymentHeld::full_name(),
        ];
        assert_eq!(names.len(), TRACKED_EVENT_TYPES.len());
        for name in names {
            assert!(follows(&name), "{name}");
            let event = TrackedEvent {
                event_id: Uuid::nil(),
                event_type: &name,
                case_id: Some(Uuid::nil()),
                occurred_at: Utc::now(),
                service: "test",
                payload: &[],
                traceparent: None,
            };
            // An empty payload decodes to defaults; what matters is that the type is
            // interpreted at all, not passed over as unknown.
            assert!(!matches!(interpret(&event), Ok(None)), "{name} is not interpreted");
        }
        assert!(!follows("slrt.referral.v1.SomethingElse"));
    }

    fn requested(routed_by: &str, attempt: i32, note: &str) -> referral::ReferralRequested {
        referral::ReferralRequested {
            referral: Some(referral::ReferralDetails {
                category: "cash_assistance".into(),
                opd_code: "BAZNAS".into(),
                opd_name: "BAZNAS Kota Pekalongan".into(),
                service: "Zakat produktif".into(),
                attempt,
                ..Default::default()
            }),
            routed_by: routed_by.into(),
            routing_note: note.into(),
        }
    }

    #[test]
    fn a_request_line_says_how_the_need_was_routed() {
        assert_eq!(
            requested_summary(&requested("routing_table", 1, "")),
            "Referred cash_assistance to BAZNAS Kota Pekalongan (BAZNAS): Zakat produktif"
        );
        assert_eq!(
            requested_summary(&requested("rerouted_after_rejection", 2, "DINSOS: quota exhausted")),
            "Re-routed cash_assistance to BAZNAS Kota Pekalongan (BAZNAS) after a rejection, attempt 2: \
             Zakat produktif (DINSOS: quota exhausted)"
        );
        assert_eq!(
            requested_summary(&requested("transferred", 3, "")),
            "Re-routed cash_assistance to BAZNAS Kota Pekalongan (BAZNAS) by transfer, attempt 3: Zakat produktif"
        );
        assert_eq!(
            requested_summary(&requested("placed_by_supervisor", 2, "placed by spv-kota-1")),
            "A supervisor placed cash_assistance with BAZNAS Kota Pekalongan (BAZNAS), attempt 2: \
             Zakat produktif (placed by spv-kota-1)"
        );
    }

    #[test]
    fn an_escalation_line_names_the_clock_the_agency_and_who_it_went_to() {
        let escalated = referral::ReferralEscalated {
            opd_code: "DINSOS".into(),
            clock: "response".into(),
            level: 2,
            escalated_to: "MANAJER_SLRT".into(),
            escalated_to_name: "Manajer SLRT".into(),
            working_days_overdue: 2,
            ..Default::default()
        };
        assert_eq!(
            escalated_summary(&escalated, SlaClock::Response),
            "Response from DINSOS overdue by 2 working day(s): escalated to Manajer SLRT (level 2)"
        );
        let unnamed = referral::ReferralEscalated {
            escalated_to_name: String::new(),
            ..escalated
        };
        assert_eq!(
            escalated_summary(&unnamed, SlaClock::Resolution),
            "Resolution by DINSOS overdue by 2 working day(s): escalated to MANAJER_SLRT (level 2)"
        );
    }
}
