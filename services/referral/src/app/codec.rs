//! The stored and published form of referral events (`slrt.referral.v1` protobuf) and the
//! domain's typed events, mapped both ways. The schema on the wire changes only by
//! versioning; the domain types are free to change with the code.

use chrono::{DateTime, Utc};
use slrt_eventstore::{NewEvent, RecordedEvent};
use slrt_proto::referral::v1 as proto;
use uuid::Uuid;

use crate::domain::{
    CashBenefit, Completion, DecidedNeed, LinkedNeed, LinkedNeedClosed, NeedCategory, Nik, OpdCode, OutcomeCode,
    ReferralAccepted, ReferralAcknowledged, ReferralCompleted, ReferralDetails, ReferralEscalated, ReferralEvent,
    ReferralInProgress, ReferralLinked, ReferralRejected, ReferralRequested, ReferralRevoked, ReferralStatus,
    ReferralTransferred, ReferralUnrouted, RoutedBy, SlaClock, SlaTerms, SlaTier,
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

/// The event ready to append, correlated with its case and stamped with `at` (the
/// service clock).
pub fn encode(event: &ReferralEvent, at: DateTime<Utc>) -> NewEvent {
    let new = match event {
        ReferralEvent::Requested(e) => NewEvent::new(&proto::ReferralRequested {
            referral: Some(details_to_proto(&e.details)),
            routed_by: e.routed_by.as_str().to_string(),
            routing_note: e.note.clone(),
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
        ReferralEvent::InProgress(e) => NewEvent::new(&proto::ReferralInProgress {
            referral_id: e.referral_id.to_string(),
            case_id: e.case_id.to_string(),
            opd_code: e.opd_code.to_string(),
            actor: e.actor.clone(),
            note: e.note.clone().unwrap_or_default(),
        }),
        ReferralEvent::Completed(e) => NewEvent::new(&proto::ReferralCompleted {
            referral_id: e.referral_id.to_string(),
            case_id: e.case_id.to_string(),
            opd_code: e.opd_code.to_string(),
            actor: e.actor.clone(),
            successful: e.completion.successful(),
            outcome_code: outcome_code(Some(e.completion)),
            note: e.note.clone().unwrap_or_default(),
        }),
        ReferralEvent::Transferred(e) => NewEvent::new(&proto::ReferralTransferred {
            referral_id: e.referral_id.to_string(),
            case_id: e.case_id.to_string(),
            opd_code: e.opd_code.to_string(),
            actor: e.actor.clone(),
            to_opd_code: e.to_opd_code.to_string(),
            reason: e.reason.clone(),
        }),
        ReferralEvent::Revoked(e) => NewEvent::new(&proto::ReferralRevoked {
            referral_id: e.referral_id.to_string(),
            case_id: e.case_id.to_string(),
            opd_code: e.opd_code.to_string(),
            actor: e.actor.clone(),
            reason: e.reason.clone(),
        }),
        ReferralEvent::Escalated(e) => NewEvent::new(&proto::ReferralEscalated {
            referral_id: e.referral_id.to_string(),
            case_id: e.case_id.to_string(),
            opd_code: e.opd_code.to_string(),
            clock: e.clock.as_str().to_string(),
            level: i32::try_from(e.level).unwrap_or(i32::MAX),
            escalated_to: e.escalated_to.clone(),
            escalated_to_name: e.escalated_to_name.clone(),
            due_at: e.due_at.to_rfc3339(),
            escalated_at: e.escalated_at.to_rfc3339(),
            working_days_overdue: i32::try_from(e.working_days_overdue).unwrap_or(i32::MAX),
        }),
        ReferralEvent::Linked(e) => NewEvent::new(&proto::ReferralLinked {
            referral_id: e.referral_id.to_string(),
            case_id: e.case_id.to_string(),
            opd_code: e.opd_code.to_string(),
            linked_case_id: e.linked.case_id.to_string(),
            linked_need_id: e.linked.need_id.to_string(),
        }),
        ReferralEvent::LinkedNeedClosed(e) => NewEvent::new(&proto::LinkedNeedClosed {
            referral_id: e.referral_id.to_string(),
            linked_case_id: e.linked.case_id.to_string(),
            linked_need_id: e.linked.need_id.to_string(),
            referral_status: e.referral_status.as_str().to_string(),
            successful: e.completion.is_some_and(Completion::successful),
            outcome_code: outcome_code(e.completion),
        }),
    };
    new.for_case(event.case_id()).at(at)
}

fn outcome_code(completion: Option<Completion>) -> String {
    completion
        .and_then(Completion::outcome_code)
        .map(|code| code.as_str().to_string())
        .unwrap_or_default()
}

/// The notice for an approved need no agency holds, correlated with its case.
pub fn encode_unrouted(unrouted: &ReferralUnrouted, at: DateTime<Utc>) -> NewEvent {
    NewEvent::new(&unrouted_to_proto(unrouted))
        .for_case(unrouted.need.case_id)
        .at(at)
}

pub fn unrouted_to_proto(unrouted: &ReferralUnrouted) -> proto::ReferralUnrouted {
    let need = &unrouted.need;
    let benefit = need.benefit.as_ref();
    proto::ReferralUnrouted {
        case_id: need.case_id.to_string(),
        need_id: need.need_id.to_string(),
        category: need.category.clone(),
        programme_code: need.programme_code.clone().unwrap_or_default(),
        region_code: need.region_code.clone(),
        reason: unrouted.reason.clone(),
        pending: Some(proto::ReferralDetails {
            case_id: need.case_id.to_string(),
            need_id: need.need_id.to_string(),
            category: need.category.clone(),
            programme_code: need.programme_code.clone().unwrap_or_default(),
            region_code: need.region_code.clone(),
            client_name: need.client_name.clone(),
            client_nik: need.client_nik.as_str().to_string(),
            beneficiary_id: need.beneficiary_id.clone().unwrap_or_default(),
            cash: benefit.is_some(),
            amount_per_period_idr: benefit.map(|b| b.amount_per_period_idr).unwrap_or_default(),
            cadence: benefit.map(|b| b.cadence.clone()).unwrap_or_default(),
            component: benefit.map(|b| b.component.clone()).unwrap_or_default(),
            attempt: i32::try_from(unrouted.last_attempt).unwrap_or(i32::MAX),
            need_referred_at: unrouted.need_referred_at.map(|at| at.to_rfc3339()).unwrap_or_default(),
            ..Default::default()
        }),
        tried_opd_codes: unrouted.tried.iter().map(ToString::to_string).collect(),
        linked: unrouted
            .linked
            .iter()
            .map(|linked| proto::LinkedNeed {
                case_id: linked.case_id.to_string(),
                need_id: linked.need_id.to_string(),
            })
            .collect(),
    }
}

/// A stored `ReferralUnrouted`, as the domain sees it.
pub fn decode_unrouted(event: &RecordedEvent) -> Result<ReferralUnrouted, CodecError> {
    let fields = Fields(event.event_id);
    let e: proto::ReferralUnrouted = event.decode().map_err(|source| CodecError::Payload {
        event_id: event.event_id,
        event_type: event.event_type.clone(),
        source,
    })?;
    let pending = e.pending.unwrap_or_default();
    Ok(ReferralUnrouted {
        need: DecidedNeed {
            case_id: fields.uuid("case_id", &e.case_id)?,
            need_id: fields.uuid("need_id", &e.need_id)?,
            category: e.category,
            programme_code: non_empty(e.programme_code),
            region_code: e.region_code,
            client_name: pending.client_name,
            client_nik: Nik::new(pending.client_nik),
            beneficiary_id: non_empty(pending.beneficiary_id),
            benefit: pending.cash.then_some(CashBenefit {
                amount_per_period_idr: pending.amount_per_period_idr,
                cadence: pending.cadence,
                component: pending.component,
            }),
        },
        reason: e.reason,
        tried: e
            .tried_opd_codes
            .iter()
            .map(|code| fields.opd(code))
            .collect::<Result<_, _>>()?,
        linked: e
            .linked
            .iter()
            .map(|linked| {
                Ok(LinkedNeed {
                    case_id: fields.uuid("linked.case_id", &linked.case_id)?,
                    need_id: fields.uuid("linked.need_id", &linked.need_id)?,
                })
            })
            .collect::<Result<_, CodecError>>()?,
        need_referred_at: if pending.need_referred_at.is_empty() {
            None
        } else {
            Some(fields.time("pending.need_referred_at", &pending.need_referred_at)?)
        },
        last_attempt: u32::try_from(pending.attempt).unwrap_or(0),
    })
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
                routed_by: RoutedBy::parse(&requested.routed_by)
                    .ok_or_else(|| fields.invalid("routed_by", format!("{:?} is not known", requested.routed_by)))?,
                note: requested.routing_note,
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
        "slrt.referral.v1.ReferralInProgress" => {
            let e: proto::ReferralInProgress = event.decode().map_err(payload)?;
            ReferralEvent::InProgress(ReferralInProgress {
                referral_id: fields.uuid("referral_id", &e.referral_id)?,
                case_id: fields.uuid("case_id", &e.case_id)?,
                opd_code: fields.opd(&e.opd_code)?,
                actor: e.actor,
                note: non_empty(e.note),
            })
        }
        "slrt.referral.v1.ReferralCompleted" => {
            let e: proto::ReferralCompleted = event.decode().map_err(payload)?;
            ReferralEvent::Completed(ReferralCompleted {
                referral_id: fields.uuid("referral_id", &e.referral_id)?,
                case_id: fields.uuid("case_id", &e.case_id)?,
                opd_code: fields.opd(&e.opd_code)?,
                actor: e.actor,
                completion: fields.completion(e.successful, &e.outcome_code)?,
                note: non_empty(e.note),
            })
        }
        "slrt.referral.v1.ReferralTransferred" => {
            let e: proto::ReferralTransferred = event.decode().map_err(payload)?;
            ReferralEvent::Transferred(ReferralTransferred {
                referral_id: fields.uuid("referral_id", &e.referral_id)?,
                case_id: fields.uuid("case_id", &e.case_id)?,
                opd_code: fields.opd(&e.opd_code)?,
                actor: e.actor,
                to_opd_code: fields.opd(&e.to_opd_code)?,
                reason: e.reason,
            })
        }
        "slrt.referral.v1.ReferralRevoked" => {
            let e: proto::ReferralRevoked = event.decode().map_err(payload)?;
            ReferralEvent::Revoked(ReferralRevoked {
                referral_id: fields.uuid("referral_id", &e.referral_id)?,
                case_id: fields.uuid("case_id", &e.case_id)?,
                opd_code: fields.opd(&e.opd_code)?,
                actor: e.actor,
                reason: e.reason,
            })
        }
        "slrt.referral.v1.ReferralEscalated" => {
            let e: proto::ReferralEscalated = event.decode().map_err(payload)?;
            ReferralEvent::Escalated(ReferralEscalated {
                referral_id: fields.uuid("referral_id", &e.referral_id)?,
                case_id: fields.uuid("case_id", &e.case_id)?,
                opd_code: fields.opd(&e.opd_code)?,
                clock: SlaClock::parse(&e.clock)
                    .ok_or_else(|| fields.invalid("clock", format!("{:?} is not an SLA clock", e.clock)))?,
                level: u32::try_from(e.level).map_err(|error| fields.invalid("level", error.to_string()))?,
                escalated_to: e.escalated_to,
                escalated_to_name: e.escalated_to_name,
                due_at: fields.time("due_at", &e.due_at)?,
                escalated_at: fields.time("escalated_at", &e.escalated_at)?,
                working_days_overdue: u32::try_from(e.working_days_overdue)
                    .map_err(|error| fields.invalid("working_days_overdue", error.to_string()))?,
            })
        }
        "slrt.referral.v1.ReferralLinked" => {
            let e: proto::ReferralLinked = event.decode().map_err(payload)?;
            ReferralEvent::Linked(ReferralLinked {
                referral_id: fields.uuid("referral_id", &e.referral_id)?,
                case_id: fields.uuid("case_id", &e.case_id)?,
                opd_code: fields.opd(&e.opd_code)?,
                linked: LinkedNeed {
                    case_id: fields.uuid("linked_case_id", &e.linked_case_id)?,
                    need_id: fields.uuid("linked_need_id", &e.linked_need_id)?,
                },
            })
        }
        "slrt.referral.v1.LinkedNeedClosed" => {
            let e: proto::LinkedNeedClosed = event.decode().map_err(payload)?;
            let referral_status = ReferralStatus::parse(&e.referral_status)
                .filter(|status| matches!(status, ReferralStatus::Completed | ReferralStatus::Revoked))
                .ok_or_else(|| fields.invalid("referral_status", format!("{:?} does not close", e.referral_status)))?;
            let completion = match referral_status {
                ReferralStatus::Completed => Some(fields.completion(e.successful, &e.outcome_code)?),
                _ => None,
            };
            ReferralEvent::LinkedNeedClosed(LinkedNeedClosed {
                referral_id: fields.uuid("referral_id", &e.referral_id)?,
                linked: LinkedNeed {
                    case_id: fields.uuid("linked_case_id", &e.linked_case_id)?,
                    need_id: fields.uuid("linked_need_id", &e.linked_need_id)?,
                },
                referral_status,
                completion,
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
        attempt: i32::try_from(details.attempt).unwrap_or(i32::MAX),
        previous_referral_id: details
            .previous_referral_id
            .map(|id| id.to_string())
            .unwrap_or_default(),
        sla_tier: details.sla.tier.as_str().to_string(),
        need_referred_at: details.sla.need_referred_at.to_rfc3339(),
        response_due_at: details.sla.response_due_at.to_rfc3339(),
        resolution_due_at: details.sla.resolution_due_at.to_rfc3339(),
        requested_at: details.sla.requested_at.to_rfc3339(),
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

    fn time(&self, field: &'static str, text: &str) -> Result<DateTime<Utc>, CodecError> {
        DateTime::parse_from_rfc3339(text)
            .map(|time| time.to_utc())
            .map_err(|error| self.invalid(field, error.to_string()))
    }

    fn completion(&self, successful: bool, outcome_code: &str) -> Result<Completion, CodecError> {
        if successful {
            return Ok(Completion::Successful);
        }
        OutcomeCode::parse(outcome_code)
            .map(Completion::NotSuccessful)
            .map_err(|error| self.invalid("outcome_code", error.to_string()))
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
            attempt: u32::try_from(d.attempt).map_err(|error| self.invalid("referral.attempt", error.to_string()))?,
            previous_referral_id: match d.previous_referral_id.as_str() {
                "" => None,
                text => Some(self.uuid("referral.previous_referral_id", text)?),
            },
            sla: SlaTerms {
                tier: SlaTier::parse(&d.sla_tier)
                    .map_err(|error| self.invalid("referral.sla_tier", error.to_string()))?,
                requested_at: self.time("referral.requested_at", &d.requested_at)?,
                need_referred_at: self.time("referral.need_referred_at", &d.need_referred_at)?,
                response_due_at: self.time("referral.response_due_at", &d.response_due_at)?,
                resolution_due_at: self.time("referral.resolution_due_at", &d.resolution_due_at)?,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::testing::{monday, terms};
    use crate::domain::{DecidedNeed, SlaClock};
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
            attempt: 2,
            previous_referral_id: Some(Uuid::from_u128(9)),
            sla: terms(),
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
            ReferralEvent::Requested(ReferralRequested {
                details: details(),
                routed_by: RoutedBy::ReroutedAfterRejection,
                note: "DISDIK declined it: madrasah pupil".into(),
            }),
            ReferralEvent::Requested(ReferralRequested {
                details: ReferralDetails {
                    programme_code: None,
                    beneficiary_id: None,
                    benefit: None,
                    previous_referral_id: None,
                    attempt: 1,
                    ..details()
                },
                routed_by: RoutedBy::RoutingTable,
                note: String::new(),
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
            ReferralEvent::InProgress(ReferralInProgress {
                referral_id: Uuid::from_u128(1),
                case_id: Uuid::from_u128(2),
                opd_code: dinsos.clone(),
                actor: "petugas".into(),
                note: Some("visit on Monday".into()),
            }),
            ReferralEvent::Completed(ReferralCompleted {
                referral_id: Uuid::from_u128(1),
                case_id: Uuid::from_u128(2),
                opd_code: dinsos.clone(),
                actor: "petugas".into(),
                completion: Completion::NotSuccessful(OutcomeCode::UnableToContact),
                note: None,
            }),
            ReferralEvent::Transferred(ReferralTransferred {
                referral_id: Uuid::from_u128(1),
                case_id: Uuid::from_u128(2),
                opd_code: dinsos.clone(),
                actor: "petugas".into(),
                to_opd_code: OpdCode::parse("BAZNAS").unwrap_or_else(|e| panic!("{e}")),
                reason: "charity".into(),
            }),
            ReferralEvent::Revoked(ReferralRevoked {
                referral_id: Uuid::from_u128(1),
                case_id: Uuid::from_u128(2),
                opd_code: dinsos.clone(),
                actor: "manajer".into(),
                reason: "withdrawn".into(),
            }),
            ReferralEvent::Escalated(ReferralEscalated {
                referral_id: Uuid::from_u128(1),
                case_id: Uuid::from_u128(2),
                opd_code: dinsos.clone(),
                clock: SlaClock::Resolution,
                level: 3,
                escalated_to: "KEPALA_DINAS".into(),
                escalated_to_name: "Kepala Dinas".into(),
                due_at: terms().resolution_due_at,
                escalated_at: monday(),
                working_days_overdue: 5,
            }),
        ];
        for event in events {
            let new = encode(&event, monday());
            assert_eq!(new.event_type, event.event_type());
            assert_eq!(new.case_id, Some(Uuid::from_u128(2)));
            assert_eq!(new.occurred_at, monday());
            assert_eq!(decode(&stored(new)).ok(), Some(event));
        }
        // Events about a linked need are correlated with the linked case.
        let linked = LinkedNeed {
            case_id: Uuid::from_u128(7),
            need_id: Uuid::from_u128(8),
        };
        for event in [
            ReferralEvent::Linked(ReferralLinked {
                referral_id: Uuid::from_u128(1),
                case_id: Uuid::from_u128(2),
                opd_code: dinsos,
                linked,
            }),
            ReferralEvent::LinkedNeedClosed(LinkedNeedClosed {
                referral_id: Uuid::from_u128(1),
                linked,
                referral_status: ReferralStatus::Completed,
                completion: Some(Completion::Successful),
            }),
            ReferralEvent::LinkedNeedClosed(LinkedNeedClosed {
                referral_id: Uuid::from_u128(1),
                linked,
                referral_status: ReferralStatus::Revoked,
                completion: None,
            }),
        ] {
            let new = encode(&event, monday());
            assert_eq!(new.case_id, Some(Uuid::from_u128(7)));
            assert_eq!(decode(&stored(new)).ok(), Some(event));
        }
    }

    #[test]
    fn an_event_of_another_kind_is_not_taken_for_a_referral_event() {
        let unrouted = unrouted();
        let error = decode(&stored(encode_unrouted(&unrouted, monday()))).err();
        assert!(matches!(error, Some(CodecError::UnexpectedType { .. })), "{error:?}");
    }

    fn unrouted() -> ReferralUnrouted {
        ReferralUnrouted {
            need: DecidedNeed::of(&details()),
            reason: "every agency of its route declined it".into(),
            tried: vec![OpdCode::parse("DINSOS").unwrap_or_else(|e| panic!("{e}"))],
            linked: vec![LinkedNeed {
                case_id: Uuid::from_u128(7),
                need_id: Uuid::from_u128(8),
            }],
            need_referred_at: Some(monday()),
            last_attempt: 2,
        }
    }

    #[test]
    fn an_unrouted_notice_keeps_everything_a_placement_needs() {
        let unrouted = unrouted();
        let decoded = decode_unrouted(&stored(encode_unrouted(&unrouted, monday()))).ok();
        assert_eq!(decoded, Some(unrouted));
    }
}
