//! The wire form of a stored event: a `slrt.common.v1.EventEnvelope`.

use chrono::{DateTime, Utc};
use prost::Message;
use slrt_proto::common::v1::EventEnvelope;
use uuid::Uuid;

use crate::RecordedEvent;

#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("expected event type {expected}, found {found}")]
    WrongType { expected: String, found: String },
    #[error("payload is not valid protobuf: {0}")]
    Payload(#[source] prost::DecodeError),
    #[error("envelope is not valid protobuf: {0}")]
    Envelope(#[source] prost::DecodeError),
    #[error("envelope field {field} is invalid: {reason}")]
    Field { field: &'static str, reason: String },
}

/// The envelope published for `event`, owned by `service`.
pub fn encode_envelope(event: &RecordedEvent, service: &str) -> Vec<u8> {
    EventEnvelope {
        event_id: event.event_id.to_string(),
        event_type: event.event_type.clone(),
        stream_id: event.stream_id.clone(),
        stream_version: event.stream_version,
        case_id: event.case_id.map(|id| id.to_string()).unwrap_or_default(),
        causation_id: event.causation_id.map(|id| id.to_string()).unwrap_or_default(),
        occurred_at: Some(prost_types::Timestamp {
            seconds: event.occurred_at.timestamp(),
            nanos: event.occurred_at.timestamp_subsec_nanos() as i32,
        }),
        source_service: service.to_string(),
        global_position: event.global_position,
        payload: event.payload.clone(),
    }
    .encode_to_vec()
}

/// An envelope received from the log, with its ids parsed.
#[derive(Debug, Clone)]
pub struct ReceivedEnvelope {
    pub event_id: Uuid,
    pub event_type: String,
    pub stream_id: String,
    pub stream_version: i64,
    pub case_id: Option<Uuid>,
    pub causation_id: Option<Uuid>,
    pub occurred_at: DateTime<Utc>,
    pub source_service: String,
    pub global_position: i64,
    pub payload: Vec<u8>,
}

impl ReceivedEnvelope {
    /// Decodes the payload as `P`, checking the event type first.
    pub fn decode<P: prost::Name + Default>(&self) -> Result<P, DecodeError> {
        if self.event_type != P::full_name() {
            return Err(DecodeError::WrongType {
                expected: P::full_name(),
                found: self.event_type.clone(),
            });
        }
        P::decode(self.payload.as_slice()).map_err(DecodeError::Payload)
    }

    pub fn is<P: prost::Name>(&self) -> bool {
        self.event_type == P::full_name()
    }
}

/// Parses the bytes of a Kafka message value.
pub fn decode_envelope(bytes: &[u8]) -> Result<ReceivedEnvelope, DecodeError> {
    let envelope = EventEnvelope::decode(bytes).map_err(DecodeError::Envelope)?;
    let uuid = |field: &'static str, text: &str| -> Result<Option<Uuid>, DecodeError> {
        if text.is_empty() {
            return Ok(None);
        }
        Uuid::parse_str(text).map(Some).map_err(|error| DecodeError::Field {
            field,
            reason: error.to_string(),
        })
    };
    let event_id = uuid("event_id", &envelope.event_id)?.ok_or(DecodeError::Field {
        field: "event_id",
        reason: "missing".into(),
    })?;
    let occurred_at = envelope
        .occurred_at
        .and_then(|ts| DateTime::from_timestamp(ts.seconds, ts.nanos.max(0) as u32))
        .ok_or(DecodeError::Field {
            field: "occurred_at",
            reason: "missing or out of range".into(),
        })?;
    Ok(ReceivedEnvelope {
        event_id,
        case_id: uuid("case_id", &envelope.case_id)?,
        causation_id: uuid("causation_id", &envelope.causation_id)?,
        event_type: envelope.event_type,
        stream_id: envelope.stream_id,
        stream_version: envelope.stream_version,
        occurred_at,
        source_service: envelope.source_service,
        global_position: envelope.global_position,
        payload: envelope.payload,
    })
}
