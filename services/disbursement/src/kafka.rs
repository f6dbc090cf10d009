//! Disbursement's consumers.
//!
//! - `entitlements` (referral's topic): an accepted cash referral opens an entitlement and
//!   decides its first payment; a revocation or transfer of an accepted referral ends the
//!   entitlement it opened. Both on one consumer, so that a referral's acceptance is always
//!   handled before its revocation (one case's events share a partition).
//! - `lifecycle` (eligibility's topic): enrolments ended, held and released, confirmed
//!   deaths and household head changes.
//!
//! Every other event is skipped.

use chrono::{NaiveDate, TimeDelta};
use slrt_eventstore::envelope::ReceivedEnvelope;
use slrt_messaging::{EventHandler, HandlerError};
use slrt_proto::eligibility::v1::{
    EnrolmentEnded, EnrolmentHeld, EnrolmentHoldReleased, HouseholdHeadChanged, PersonDeceased,
};
use slrt_proto::referral::v1::{ReferralAccepted, ReferralRevoked, ReferralTransferred};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::app::Disbursement;
use crate::app::entitlements::AcceptedReferral;
use crate::app::lifecycle::LifecycleError;

/// The consumer's name: its inbox key and the suffix of its consumer group.
pub const ENTITLEMENTS: &str = "entitlements";
/// The consumer of eligibility's enrolment and registry events.
pub const LIFECYCLE: &str = "lifecycle";

pub struct EntitlementsHandler {
    pub disbursement: Disbursement,
}

fn is_one_of(event_type: &str, names: &[String]) -> bool {
    names.iter().any(|name| name == event_type)
}

// The day something happened at the agency: Jakarta keeps WIB (UTC+7) all year.
fn day_in_jakarta(event: &ReceivedEnvelope) -> NaiveDate {
    (event.occurred_at + TimeDelta::hours(7)).date_naive()
}

fn referral_id(text: &str) -> Result<Uuid, HandlerError> {
    Uuid::parse_str(text).map_err(|_| {
        HandlerError::Permanent(format!(
            "the referral's entitlement cannot be ended: referral_id: {:?} is not a UUID",
            text.chars().take(40).collect::<String>()
        ))
    })
}

fn lifecycle_outcome<T>(result: Result<T, LifecycleError>) -> Result<(), HandlerError> {
    match result {
        Ok(_) => Ok(()),
        Err(error) if error.is_transient() => Err(HandlerError::Transient(Box::new(error))),
        // Dead-lettered with this sentence, which names the event and the field.
        Err(error) => Err(HandlerError::Permanent(error.to_string())),
    }
}

impl EventHandler for EntitlementsHandler {
    fn wants(&self, event_type: &str) -> bool {
        is_one_of(
            event_type,
            &[
                <ReferralAccepted as prost::Name>::full_name(),
                <ReferralRevoked as prost::Name>::full_name(),
                <ReferralTransferred as prost::Name>::full_name(),
            ],
        )
    }

    async fn handle(&self, conn: &mut PgConnection, event: &ReceivedEnvelope) -> Result<(), HandlerError> {
        if event.is::<ReferralRevoked>() {
            let revoked: ReferralRevoked = event.decode()?;
            let result = self
                .disbursement
                .end_referral(
                    conn,
                    event.event_id,
                    referral_id(&revoked.referral_id)?,
                    day_in_jakarta(event),
                    false,
                    &revoked.reason,
                )
                .await;
            return lifecycle_outcome(result);
        }
        if event.is::<ReferralTransferred>() {
            let transferred: ReferralTransferred = event.decode()?;
            let result = self
                .disbursement
                .end_referral(
                    conn,
                    event.event_id,
                    referral_id(&transferred.referral_id)?,
                    day_in_jakarta(event),
                    true,
                    &transferred.reason,
                )
                .await;
            return lifecycle_outcome(result);
        }
        if !event.is::<ReferralAccepted>() {
            return Ok(());
        }
        let accepted: ReferralAccepted = event.decode()?;
        let Some(referral) = accepted.referral.as_ref() else {
            return Err(HandlerError::Permanent(
                "the accepted referral cannot open an entitlement: referral: missing".to_string(),
            ));
        };
        // Referrals for services (documents, training, care) pay nothing.
        if !referral.cash {
            return Ok(());
        }
        let accepted = AcceptedReferral {
            event_id: event.event_id,
            occurred_at: event.occurred_at,
            referral,
        };
        match self.disbursement.open_entitlement(conn, accepted).await {
            Ok(_) => Ok(()),
            Err(error) if error.is_transient() => Err(HandlerError::Transient(Box::new(error))),
            // Dead-lettered with this sentence, for a person: a malformed acceptance, a release
            // check eligibility refuses to answer, or a payment key taken by another payment.
            Err(error) => Err(HandlerError::Permanent(error.to_string())),
        }
    }
}

pub struct LifecycleHandler {
    pub disbursement: Disbursement,
}

impl EventHandler for LifecycleHandler {
    fn wants(&self, event_type: &str) -> bool {
        is_one_of(
            event_type,
            &[
                <EnrolmentEnded as prost::Name>::full_name(),
                <EnrolmentHeld as prost::Name>::full_name(),
                <EnrolmentHoldReleased as prost::Name>::full_name(),
                <PersonDeceased as prost::Name>::full_name(),
                <HouseholdHeadChanged as prost::Name>::full_name(),
            ],
        )
    }

    async fn handle(&self, conn: &mut PgConnection, event: &ReceivedEnvelope) -> Result<(), HandlerError> {
        let disbursement = &self.disbursement;
        let cause = event.event_id;
        if event.is::<EnrolmentEnded>() {
            let ended: EnrolmentEnded = event.decode()?;
            lifecycle_outcome(disbursement.end_enrolment(conn, cause, &ended).await)
        } else if event.is::<EnrolmentHeld>() {
            let held: EnrolmentHeld = event.decode()?;
            lifecycle_outcome(disbursement.hold_enrolment(conn, cause, &held).await)
        } else if event.is::<EnrolmentHoldReleased>() {
            let released: EnrolmentHoldReleased = event.decode()?;
            lifecycle_outcome(disbursement.release_hold(conn, cause, &released).await)
        } else if event.is::<PersonDeceased>() {
            let deceased: PersonDeceased = event.decode()?;
            lifecycle_outcome(disbursement.record_death(conn, cause, &deceased).await)
        } else if event.is::<HouseholdHeadChanged>() {
            let changed: HouseholdHeadChanged = event.decode()?;
            lifecycle_outcome(disbursement.change_payee(conn, cause, &changed).await)
        } else {
            Ok(())
        }
    }
}
