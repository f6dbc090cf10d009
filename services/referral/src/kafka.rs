//! The router: eligibility's decisions, turned into referrals (or unrouted notices), once
//! per need however often a decision is delivered; and the desk's withdrawals, which revoke
//! the withdrawn needs' open referrals.

use slrt_errors::ErrorCode;
use slrt_eventstore::envelope::ReceivedEnvelope;
use slrt_messaging::{EventHandler, HandlerError};
use slrt_proto::eligibility::v1::CaseDecided;
use slrt_proto::intake::v1::CaseWithdrawn;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::app::router::RouteError;
use crate::app::{RecordError, Referrals};
use crate::domain::{ReferralCommand, ReferralStatus, RevokeReferral};
use crate::projections;

pub struct RouterHandler {
    pub referrals: Referrals,
}

impl EventHandler for RouterHandler {
    fn wants(&self, event_type: &str) -> bool {
        event_type == <CaseDecided as prost::Name>::full_name()
    }

    async fn handle(&self, conn: &mut PgConnection, event: &ReceivedEnvelope) -> Result<(), HandlerError> {
        // Eligibility's other events (enrolments and the like) are not referral's concern.
        if !event.is::<CaseDecided>() {
            return Ok(());
        }
        let decided: CaseDecided = event.decode()?;
        self.referrals
            .route_case(conn, event.event_id, event.case_id, &decided)
            .await
            .map(|_| ())
            .map_err(|error| match error {
                RouteError::Database(error) | RouteError::Record(RecordError::Database(error)) => {
                    HandlerError::from(error)
                }
                // A conflict or a duplicate means a concurrent delivery (or an agency acting on
                // the referral a need is linked to) got there first; the retry finds its work
                // in the read model and skips it, or decides again on the newer state.
                RouteError::Record(RecordError::Append(error)) => HandlerError::from(error),
                RouteError::Record(other) => HandlerError::Permanent(other.to_string()),
                invalid @ RouteError::Invalid { .. } => HandlerError::Permanent(invalid.to_string()),
            })
    }
}

/// The desk's withdrawals: when an applicant withdraws a case, the open referrals of its
/// withdrawn needs are revoked, so no agency keeps serving (or paying) what nobody asks for.
pub struct WithdrawalHandler {
    pub referrals: Referrals,
}

impl EventHandler for WithdrawalHandler {
    fn wants(&self, event_type: &str) -> bool {
        event_type == <CaseWithdrawn as prost::Name>::full_name()
    }

    async fn handle(&self, _conn: &mut PgConnection, event: &ReceivedEnvelope) -> Result<(), HandlerError> {
        if !event.is::<CaseWithdrawn>() {
            return Ok(());
        }
        let withdrawn: CaseWithdrawn = event.decode()?;
        let case_id = Uuid::parse_str(&withdrawn.case_id).map_err(|_| {
            HandlerError::Permanent(format!(
                "CaseWithdrawn case_id: {:?} is not a case id",
                withdrawn.case_id
            ))
        })?;
        let reason = format!(
            "the applicant withdrew the case at the desk: {}",
            withdrawn.reason.trim()
        );
        let actor = format!("desk:{}", withdrawn.actor.trim());
        for need in &withdrawn.withdrawn_need_ids {
            let need_id = Uuid::parse_str(need).map_err(|_| {
                HandlerError::Permanent(format!("CaseWithdrawn withdrawn_need_ids: {need:?} is not a need id"))
            })?;
            let chain = projections::need_referrals(&self.referrals.pool, case_id, need_id)
                .await
                .map_err(HandlerError::from)?;
            let open = chain
                .iter()
                .filter(|record| record.status().is_some_and(ReferralStatus::is_open));
            for record in open {
                // Each revocation commits on its own; a redelivery finds it recorded with the
                // same reason and records nothing more.
                let revoked = self
                    .referrals
                    .act(
                        ReferralCommand::Revoke(RevokeReferral {
                            referral_id: record.referral_id,
                            actor: actor.clone(),
                            reason: reason.clone(),
                        }),
                        false,
                    )
                    .await;
                match revoked {
                    Ok(_) => {}
                    // Finished meanwhile (completed by the agency): nothing left to revoke.
                    Err(error) if error.code == ErrorCode::Rejected => {}
                    Err(error) if error.code == ErrorCode::Conflict || error.code == ErrorCode::Unavailable => {
                        return Err(HandlerError::Transient(Box::new(error)));
                    }
                    Err(error) => return Err(HandlerError::Permanent(error.to_string())),
                }
            }
        }
        Ok(())
    }
}
