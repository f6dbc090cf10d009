//! Intake's use cases: open a case (validated, pre-screened, idempotent) and read a case
//! from the tracker.

pub mod case_list;
pub mod idempotency;
pub mod tracker;

use chrono::Utc;
use slrt_errors::ApiError;
use slrt_eventstore::{EventStore, ExpectedVersion, NewEvent};
use slrt_proto::eligibility::v1::ScreenPersonRequest;
use slrt_proto::eligibility::v1::eligibility_service_client::EligibilityServiceClient;
use slrt_proto::intake::v1 as proto;
use slrt_runtime::grpc::PeerChannel;
use sqlx::PgPool;
use uuid::Uuid;

use crate::domain::OpenCase;
use crate::projections::{self, TrackedEvent};
use idempotency::{Claim, IdempotencyKey};

pub type EligibilityClient = EligibilityServiceClient<PeerChannel>;

/// A client for eligibility's gRPC API. It connects on first use, so intake starts (and
/// serves the desk) while eligibility is down.
pub fn eligibility_client(url: &str) -> Result<EligibilityClient, tonic::codegen::http::uri::InvalidUri> {
    Ok(EligibilityServiceClient::new(slrt_runtime::grpc::peer_channel(url)?))
}

/// The front desk's use cases.
#[derive(Clone)]
pub struct Intake {
    pub pool: PgPool,
    pub store: EventStore,
    pub eligibility: EligibilityClient,
}

/// The answer to a create: the HTTP status and body, stored with the idempotency key.
#[derive(Debug, Clone)]
pub struct Created {
    pub status: u16,
    pub body: serde_json::Value,
}

impl Intake {
    /// Opens a case. With an idempotency key, a retry with the same body returns the first
    /// answer; the same key with another body is refused; a retry while the first is still
    /// in flight is a conflict.
    pub async fn open_case(
        &self,
        command: OpenCase,
        idempotency: Option<(IdempotencyKey, String)>,
    ) -> Result<Created, ApiError> {
        const SCOPE: &str = "POST /v1/cases";
        if let Some((key, request_hash)) = &idempotency {
            match idempotency::claim(&self.pool, SCOPE, key, request_hash)
                .await
                .map_err(ApiError::unavailable)?
            {
                Claim::New => {}
                Claim::Replay(created) => return Ok(created),
                Claim::InProgress => {
                    return Err(ApiError::conflict(
                        "a request with this Idempotency-Key is still being processed; retry shortly",
                    )
                    .with_field("Idempotency-Key"));
                }
                Claim::Mismatch => {
                    return Err(ApiError::new(
                        slrt_errors::ErrorCode::IdempotencyKeyReused,
                        "this Idempotency-Key was used for a different request body",
                    )
                    .with_field("Idempotency-Key"));
                }
            }
        }
        let result = self
            .record_case(&command, idempotency.as_ref().map(|(key, _)| (SCOPE, key)))
            .await;
        if result.is_err()
            && let Some((key, _)) = &idempotency
        {
            // Let the client retry with the same key after a failure.
            let _ = idempotency::release(&self.pool, SCOPE, key).await;
        }
        result
    }

    async fn record_case(
        &self,
        command: &OpenCase,
        idempotency: Option<(&str, &IdempotencyKey)>,
    ) -> Result<Created, ApiError> {
        let screening = self.screen(command).await;
        let case_id = Uuid::now_v7();
        let mut tx = self.pool.begin().await.map_err(ApiError::unavailable)?;
        let serial: i64 = sqlx::query_scalar("SELECT nextval('case_number_serial')")
            .fetch_one(&mut *tx)
            .await
            .map_err(ApiError::unavailable)?;
        let regency = command
            .desk_region
            .regency()
            .map(|r| r.compact())
            .unwrap_or_else(|| command.desk_region.compact());
        let case_number = format!("SLRT-{regency}-{}-{serial:06}", Utc::now().format("%Y"));

        let applicant = &command.applicant;
        let opened = proto::CaseOpened {
            case_id: case_id.to_string(),
            case_number: case_number.clone(),
            kind: command.kind.code().to_string(),
            applicant: Some(proto::Applicant {
                nik: applicant.nik.as_str().to_string(),
                full_name: applicant.full_name.clone(),
                birth_date: applicant.birth_date.format("%Y-%m-%d").to_string(),
                sex: applicant.sex.as_str().to_string(),
                region_code: applicant.region.dotted(),
                kk_number: applicant.kk.as_str().to_string(),
            }),
            needs: command
                .needs
                .iter()
                .map(|need| proto::Need {
                    need_id: Uuid::now_v7().to_string(),
                    category: need.category.as_str().to_string(),
                    description: need.description.clone(),
                })
                .collect(),
            desk_region_code: command.desk_region.dotted(),
            opened_by: command.opened_by.clone(),
            warnings: command.warnings.clone(),
            screening: Some(screening.clone()),
            // Complaints are not taken yet: every case is an application.
            complaint: None,
        };
        let event = NewEvent::new(&opened).for_case(case_id);
        let recorded = self
            .store
            .append(
                &mut tx,
                &format!("case-{case_id}"),
                ExpectedVersion::NoStream,
                vec![event],
            )
            .await
            .map_err(ApiError::internal)?;
        // The tracker learns of its own service's events inline, so the desk can read the
        // case back at once; the copy arriving from Kafka later changes nothing.
        for event in &recorded {
            projections::apply(
                &mut tx,
                &TrackedEvent {
                    event_id: event.event_id,
                    event_type: &event.event_type,
                    case_id: event.case_id,
                    occurred_at: event.occurred_at,
                    service: self.store.service(),
                    payload: &event.payload,
                    traceparent: event.traceparent.as_deref(),
                },
            )
            .await
            .map_err(ApiError::internal)?;
        }

        let body = serde_json::json!({
            "case_id": case_id,
            "case_number": case_number,
            "status": "open",
            "needs": opened.needs.iter().map(|need| serde_json::json!({
                "need_id": need.need_id,
                "category": need.category,
            })).collect::<Vec<_>>(),
            "warnings": command.warnings,
            "screening": {
                "performed": screening.performed,
                "known_person": screening.known_person,
                "deceased": screening.deceased,
                "active_programmes": screening.active_programmes,
                "unavailable_reason": (!screening.unavailable_reason.is_empty()).then_some(&screening.unavailable_reason),
            },
        });
        let created = Created { status: 201, body };
        if let Some((scope, key)) = idempotency {
            idempotency::complete(&mut tx, scope, key, &created)
                .await
                .map_err(ApiError::unavailable)?;
        }
        tx.commit().await.map_err(ApiError::unavailable)?;
        tracing::info!(case.id = %case_id, case.number = %case_number, needs = command.needs.len(), "case opened");
        Ok(created)
    }

    // The desk pre-screen: what eligibility knows about the applicant. A case is never
    // refused because eligibility is down; the case records that the screen did not happen.
    async fn screen(&self, command: &OpenCase) -> proto::DeskScreening {
        let request = ScreenPersonRequest {
            nik: command.applicant.nik.as_str().to_string(),
        };
        match self.eligibility.clone().screen_person(request).await {
            Ok(response) => {
                let screened = response.into_inner();
                proto::DeskScreening {
                    performed: true,
                    known_person: screened.known_person,
                    deceased: screened.deceased,
                    active_programmes: screened.active_programmes,
                    unavailable_reason: String::new(),
                }
            }
            Err(status) => {
                tracing::warn!(grpc.code = ?status.code(), "desk pre-screen unavailable: {}", status.message());
                proto::DeskScreening {
                    performed: false,
                    unavailable_reason: format!("eligibility did not answer: {}", status.code()),
                    ..Default::default()
                }
            }
        }
    }
}
