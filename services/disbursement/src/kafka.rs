//! The entitlements consumer: referral's events; an accepted cash referral opens an
//! entitlement and decides its first payment. Every other event is skipped.

use slrt_eventstore::envelope::ReceivedEnvelope;
use slrt_messaging::{EventHandler, HandlerError};
use slrt_proto::referral::v1::ReferralAccepted;
use sqlx::PgConnection;

use crate::app::Disbursement;
use crate::app::entitlements::AcceptedReferral;

/// The consumer's name: its inbox key and the suffix of its consumer group.
pub const ENTITLEMENTS: &str = "entitlements";

pub struct EntitlementsHandler {
    pub disbursement: Disbursement,
}

impl EventHandler for EntitlementsHandler {
    fn wants(&self, event_type: &str) -> bool {
        event_type == <ReferralAccepted as prost::Name>::full_name()
    }

    async fn handle(&self, conn: &mut PgConnection, event: &ReceivedEnvelope) -> Result<(), HandlerError> {
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
