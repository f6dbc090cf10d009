//! The stored and published form of referral events (`slrt.referral.v1` protobuf) and the
//! domain's typed events, mapped both ways. The schema on the wire changes only by
//! versioning; the domain types are free to change with the code.

use slrt_eventstore::{NewEvent, RecordedEvent};
use slrt_proto::referral::v1 as proto;
use uuid::Uuid;

use crate::domain::{
    CashBenefit, Completion, NeedCategory, Nik, OpdCode, OutcomeCode, ReferralAccepted, ReferralAcknowledged,
    ReferralCompleted, ReferralDetails, ReferralEvent, ReferralRejected, ReferralRequested, ReferralUnrouted,
};

/// A stored event that does not decode as a referral event: corruption or a bug, never the
/// caller's doing.
#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    #[error("event {event_id} ({event_type}): {source}")]
    Payload {
        event_id: Uuid,
        event_type: String,
        source: slrt_eventstore::DecodeError,
    },
    #[error("event {event_id} is of type {event_type}, which a referral stream never holds")]
    UnexpectedType { event_id: Uuid, event_type: String },
    #[error("event {event_id}: field {field} is invalid: {reason}")]
    Field {
        event_id: Uuid,
        field: &'static str,
        reason: String,
    },
}

/// The event ready to append, correlated with its case.
pub fn encode(event: &ReferralEvent) -> NewEvent {
    let new = match event {
        ReferralEvent::Requested(e) => NewEvent::new(&proto::ReferralRequested {
            referral: Some(details_to_proto(&e.details)),
        }),
        ReferralEvent::Acknowledged(e) => NewEvent::new(&proto::ReferralAcknowledged {
            referral_id: e.referral_id.to_string(),
            case_id: e.case_id.to_string(),
            opd_code: e.opd_code.to_string(),
            actor: e.actor.clone(),
        }),
        ReferralEvent::Accepted(e) => NewEvent::new(&proto::ReferralAccepted {
            referral: Some(details_to_proto(&e.details)),
            actor: e.actor.clone(),
            note: e.note.clone().unwrap_or_default(),
        }),
        ReferralEvent::Rejected(e) => NewEvent::new(&proto::ReferralRejected {
            referral_id: e.referral_id.to_string(),
            case_id: e.case_id.to_string(),
            opd_code: e.opd_code.to_string(),
            actor: e.actor.clone(),
            reason: e.reason.clone(),
        }),
        ReferralEvent::Completed(e) => NewEvent::new(&proto::ReferralCompleted {
            referral_id: e.referral_id.to_string(),
            case_id: e.case_id.to_string(),
            opd_code: e.opd_code.to_string(),
            actor: e.actor.clone(),
            successful: e.completion.successful(),
            outcome_code: e
                .completion
                .outcome_code()
                .map(|code| code.as_str().to_string())
                .unwrap_or_default(),
            note: e.note.clone().unwrap_or_default(),
        }),
    };
    new.for_case(event.case_id())
}

/// The notice for an approved need without a route, correlated with its case.
pub fn encode_unrouted(unrouted: &ReferralUnrouted) -> NewEvent {
    NewEvent::new(&proto::ReferralUnrouted {
        case_id: unrouted.case_id.to_string(),
        need_id: unrouted.need_id.to_string(),
        category: unrouted.category.clone(),
        programme_code: unrouted.programme_code.clone().unwrap_or_default(),
        region_code: unrouted.region_code.clone(),
        reason: unrouted.reason.clone(),
    })
    .for_case(unrouted.case_id)
}

/// A stored event of a referral stream, as the domain sees it.
pub fn decode(event: &RecordedEvent) -> Result<ReferralEvent, CodecError> {
    let payload = |source| CodecError::Payload {
        event_id: event.event_id,
        event_type: event.event_type.clone(),
        source,
    };
    let fields = Fields(event.event_id);
    Ok(match event.event_type.as_str() {
        "slrt.referral.v1.ReferralRequested" => {
            let requested: proto::ReferralRequested = event.decode().map_err(payload)?;
            ReferralEvent::Requested(ReferralRequested {
                details: fields.details(requested.referral)?,
            })
        }
        "slrt.referral.v1.ReferralAcknowledged" => {
            let e: proto::ReferralAcknowledged = event.decode().map_err(payload)?;
            ReferralEvent::Acknowledged(ReferralAcknowledged {
                referral_id: fields.uuid("referral_id", &e.referral_id)?,
                case_id: fields.uuid("case_id", &e.case_id)?,
                opd_code: fields.opd(&e.opd_code)?,
                actor: e.actor,
            })
        }
        "slrt.referral.v1.ReferralAccepted" => {
            let e: proto::ReferralAccepted = event.decode().map_err(payload)?;
            ReferralEvent::Accepted(ReferralAccepted {
                details: fields.details(e.referral)?,
                actor: e.actor,
                note: non_empty(e.note),
            })
        }
        "slrt.referral.v1.ReferralRejected" => {
            let e: proto::ReferralRejected = event.decode().map_err(payload)?;
            ReferralEvent::Rejected(ReferralRejected {
                referral_id: fields.uuid("referral_id", &e.referral_id)?,
                case_id: fields.uuid("case_id", &e.case_id)?,
                opd_code: fields.opd(&e.opd_code)?,
                actor: e.actor,
                reason: e.reason,
            })
        }
        "slrt.referral.v1.ReferralCompleted" => {
            let e: proto::ReferralCompleted = event.decode().map_err(payload)?;
            let completion = if e.successful {
                Completion::Successful
            } else {
                let code = OutcomeCode::parse(&e.outcome_code)
                    .map_err(|error| fields.invalid("outcome_code", error.to_string()))?;
                Completion::NotSuccessful(code)
            };
            ReferralEvent::Completed(ReferralCompleted {
                referral_id: fields.uuid("referral_id", &e.referral_id)?,
                case_id: fields.uuid("case_id", &e.case_id)?,
                opd_code: fields.opd(&e.opd_code)?,
                actor: e.actor,
                completion,
                note: non_empty(e.note),
            })
        }
        other => {
            return Err(CodecError::UnexpectedType {
                event_id: event.event_id,
                event_type: other.to_string(),
            });
        }
    })
}

pub fn details_to_proto(details: &ReferralDetails) -> proto::ReferralDetails {
    let benefit = details.benefit.as_ref();
    proto::ReferralDetails {
        referral_id: details.referral_id.to_string(),
        case_id: details.case_id.to_string(),
        need_id: details.need_id.to_string(),
        category: details.category.as_str().to_string(),
        programme_code: details.programme_code.clone().unwrap_or_default(),
        opd_code: details.opd_code.to_string(),
        opd_name: details.opd_name.clone(),
        service: details.service.clone(),
        region_code: details.region_code.clone(),
        client_name: details.client_name.clone(),
        client_nik: details.client_nik.as_str().to_string(),
        beneficiary_id: details.beneficiary_id.clone().unwrap_or_default(),
        cash: benefit.is_some(),
        amount_per_period_idr: benefit.map(|b| b.amount_per_period_idr).unwrap_or_default(),
        cadence: benefit.map(|b| b.cadence.clone()).unwrap_or_default(),
        component: benefit.map(|b| b.component.clone()).unwrap_or_default(),
    }
}

/// Proto strings are empty when absent.
fn non_empty(text: String) -> Option<String> {
    (!text.is_empty()).then_some(text)
}

// Field parsing that names the event and the field when stored data is not what it must be.
struct Fields(Uuid);

impl Fields {
    fn invalid(&self, field: &'static str, reason: String) -> CodecError {
        CodecError::Field {
            event_id: self.0,
            field,
            reason,
        }
    }

    fn uuid(&self, field: &'static str, text: &str) -> Result<Uuid, CodecError> {
        Uuid::parse_str(text).map_err(|error| self.invalid(field, error.to_string()))
    }

    fn opd(&self, text: &str) -> Result<OpdCode, CodecError> {
        OpdCode::parse(text).map_err(|error| self.invalid("opd_code", error.to_string()))
    }

    fn details(&self, details: Option<proto::ReferralDetails>) -> Result<ReferralDetails, CodecError> {
        let d = details.ok_or_else(|| self.invalid("referral", "missing".to_string()))?;
        Ok(ReferralDetails {
            referral_id: self.uuid("referral.referral_id", &d.referral_id)?,
            case_id: self.uuid("referral.case_id", &d.case_id)?,
            need_id: self.uuid("referral.need_id", &d.need_id)?,
            category: NeedCategory::parse(&d.category)
                .map_err(|error| self.invalid("referral.category", error.to_string()))?,
            programme_code: non_empty(d.programme_code),
            opd_code: self.opd(&d.opd_code)?,
            opd_name: d.opd_name,
            service: d.service,
            region_code: d.region_code,
            client_name: d.client_name,
            client_nik: Nik::new(d.client_nik),
            beneficiary_id: non_empty(d.beneficiary_id),
            benefit: d.cash.then_some(CashBenefit {
                amount_per_period_idr: d.amount_per_period_idr,
                cadence: d.cadence,
                component: d.component,
            }),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use slrt_eventstore::Cursor;

    fn details() -> ReferralDetails {
        ReferralDetails {
            referral_id: Uuid::from_u128(1),
            case_id: Uuid::from_u128(2),
            need_id: Uuid::from_u128(3),
            category: NeedCategory::CashAssistance,
            programme_code: Some("PKH".into()),
            opd_code: OpdCode::parse("DINSOS").unwrap_or_else(|e| panic!("{e}")),
            opd_name: "Dinas Sosial".into(),
            service: "PKH".into(),
            region_code: "33.75.01.1002".into(),
            client_name: "Siti Aminah".into(),
            client_nik: Nik::new("3375014107900001"),
            beneficiary_id: Some("hh-1".into()),
            benefit: Some(CashBenefit {
                amount_per_period_idr: 750_000,
                cadence: "quarterly".into(),
                component: "base".into(),
            }),
        }
    }

    fn stored(new: NewEvent) -> RecordedEvent {
        RecordedEvent {
            global_position: 1,
            event_id: new.event_id,
            stream_id: "referral-1".into(),
            stream_version: 1,
            event_type: new.event_type,
            payload: new.payload,
            case_id: new.case_id,
            causation_id: None,
            traceparent: None,
            occurred_at: new.occurred_at,
            cursor: Cursor::START,
        }
    }

    #[test]
    fn every_referral_event_survives_the_trip_through_its_stored_form() {
        let dinsos = details().opd_code;
        let events = [
            ReferralEvent::Requested(ReferralRequested { details: details() }),
            ReferralEvent::Requested(ReferralRequested {
                details: ReferralDetails {
                    programme_code: None,
                    beneficiary_id: None,
                    benefit: None,
                    ..details()
                },
            }),
            ReferralEvent::Acknowledged(ReferralAcknowledged {
                referral_id: Uuid::from_u128(1),
                case_id: Uuid::from_u128(2),
                opd_code: dinsos.clone(),
                actor: "petugas".into(),
            }),
            ReferralEvent::Accepted(ReferralAccepted {
                details: details(),
                actor: "petugas".into(),
                note: Some("ok".into()),
            }),
            ReferralEvent::Rejected(ReferralRejected {
                referral_id: Uuid::from_u128(1),
                case_id: Uuid::from_u128(2),
                opd_code: dinsos.clone(),
                actor: "petugas".into(),
                reason: "not ours".into(),
            }),
            ReferralEvent::Completed(ReferralCompleted {
                referral_id: Uuid::from_u128(1),
                case_id: Uuid::from_u128(2),
                opd_code: dinsos,
                actor: "petugas".into(),
                completion: Completion::NotSuccessful(OutcomeCode::UnableToContact),
                note: None,
            }),
        ];
        for event in events {
            let new = encode(&event);
            assert_eq!(new.event_type, event.event_type());
            assert_eq!(new.case_id, Some(Uuid::from_u128(2)));
            assert_eq!(decode(&stored(new)).ok(), Some(event));
        }
    }

    #[test]
    fn an_event_of_another_kind_is_not_taken_for_a_referral_event() {
        let unrouted = ReferralUnrouted {
            case_id: Uuid::from_u128(2),
            need_id: Uuid::from_u128(3),
            category: "pets".into(),
            programme_code: None,
            region_code: "33.75.01.1002".into(),
            reason: "no rule".into(),
        };
        let error = decode(&stored(encode_unrouted(&unrouted))).err();
        assert!(matches!(error, Some(CodecError::UnexpectedType { .. })), "{error:?}");
    }
}
