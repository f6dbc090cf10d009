//! The OPD gRPC API (`slrt.referral.v1.OpdReferralService`). Thin: who is calling (the
//! verified token's agency), parse, call the use case, audit, map errors through the shared
//! table. Mounted behind `slrt_auth::grpc::authenticate`, so every call here has a caller.

use std::pin::Pin;

use chrono::{DateTime, Utc};
use slrt_errors::{ApiError, ErrorCode};
use slrt_eventstore::Cursor;
use slrt_proto::referral::v1::opd_referral_service_server::OpdReferralService;
use slrt_proto::referral::v1::{
    AcceptRequest, AcknowledgeRequest, CompleteRequest, ListOpenReferralsRequest, ListOpenReferralsResponse,
    ReferralDetails, ReferralState, ReferralUpdate, RejectRequest, StartServiceRequest, TransferRequest,
    WatchReferralsRequest,
};
use tokio::sync::watch;
use tokio_stream::{Stream, StreamExt};
use tonic::{Request, Response, Status};
use uuid::Uuid;

use slrt_audit::Outcome;
use slrt_auth::Principal;

use crate::app::feed::FeedUpdate;
use crate::app::{Referrals, page_size};
use crate::domain::{
    AcceptReferral, AcknowledgeReferral, CompleteReferral, OpdCode, ReferralCommand, ReferralStatus, RejectReferral,
    SlaState, StartService, TransferReferral,
};
use crate::projections::ReferralRecord;

pub struct OpdReferrals {
    pub referrals: Referrals,
    /// Ends open watch streams when the service stops, so shutdown does not wait on them.
    pub stopped: watch::Receiver<bool>,
}

impl OpdReferrals {
    /// The verified caller and the agency it acts for.
    fn caller<T>(&self, request: &Request<T>) -> Result<(Principal, OpdCode), Status> {
        let principal = slrt_auth::grpc::caller(request)?.clone();
        let opd = self.referrals.agency_of(&principal)?;
        Ok((principal, opd))
    }

    /// Carries out an agency's command and audits it: the client's data was read and
    /// changed, or an id outside the agency was tried.
    async fn act(
        &self,
        principal: &Principal,
        caller_traced: bool,
        command: ReferralCommand,
    ) -> Result<Response<ReferralState>, Status> {
        let action = format!("referral.{}", command.name());
        let resource = format!("referral/{}", command.referral_id());
        match self.referrals.act(command, caller_traced).await {
            Ok(record) => {
                self.referrals
                    .audit(
                        principal,
                        Some("serving the referral"),
                        &action,
                        resource,
                        &[record.client_nik.as_str()],
                        Outcome::Allowed,
                        serde_json::json!({ "status": record.status }),
                    )
                    .await?;
                Ok(Response::new(state(record, self.referrals.clock.now())))
            }
            Err(error) => {
                if error.code == ErrorCode::NotFound {
                    self.referrals
                        .audit(
                            principal,
                            None,
                            &action,
                            resource,
                            &[],
                            Outcome::NotFound,
                            serde_json::json!({}),
                        )
                        .await?;
                }
                Err(error.into())
            }
        }
    }
}

/// The officer recorded with an agency's action: an officer's own identity; for an
/// agency's system, the person it names in `actor` (the system vouches for its users),
/// qualified by the system's client id.
fn actor_of(principal: &Principal, requested: String) -> String {
    if principal.has(slrt_auth::Role::OpdOfficer) {
        return principal.subject.clone();
    }
    let requested = requested.trim();
    if requested.is_empty() {
        principal.subject.clone()
    } else {
        format!("{}/{requested}", principal.subject)
    }
}

type UpdateStream = Pin<Box<dyn Stream<Item = Result<ReferralUpdate, Status>> + Send>>;

#[tonic::async_trait]
impl OpdReferralService for OpdReferrals {
    type WatchReferralsStream = UpdateStream;

    async fn watch_referrals(
        &self,
        request: Request<WatchReferralsRequest>,
    ) -> Result<Response<Self::WatchReferralsStream>, Status> {
        let (principal, opd) = self.caller(&request)?;
        let after = request.into_inner().after_cursor;
        let cursor = if after.is_empty() {
            Cursor::START
        } else {
            after.parse::<Cursor>().map_err(|_| {
                ApiError::invalid(
                    "after_cursor",
                    format!(
                        "{after:?} is not a cursor; pass the cursor of an update as received, or nothing to start over"
                    ),
                )
            })?
        };
        // One record for the stream; each update carries the agency's own referrals only.
        self.referrals
            .audit(
                &principal,
                Some("serving referrals"),
                "referral.watch",
                format!("opd/{opd}"),
                &[],
                Outcome::Allowed,
                serde_json::json!({ "after_cursor": after }),
            )
            .await?;
        let clock = self.referrals.clock.clone();
        let updates =
            tokio_stream::wrappers::ReceiverStream::new(self.referrals.watch(opd, cursor, self.stopped.clone())).map(
                move |update| {
                    update
                        .map(|update| referral_update(update, clock.now()))
                        .map_err(Status::from)
                },
            );
        Ok(Response::new(Box::pin(updates)))
    }

    async fn list_open_referrals(
        &self,
        request: Request<ListOpenReferralsRequest>,
    ) -> Result<Response<ListOpenReferralsResponse>, Status> {
        let (principal, opd) = self.caller(&request)?;
        let request = request.into_inner();
        let limit = page_size("limit", Some(i64::from(request.limit)))?;
        let after = match request.page_token.as_str() {
            "" => None,
            token => Some(Uuid::parse_str(token).map_err(|_| {
                ApiError::invalid(
                    "page_token",
                    format!("{token:?} is not a page token; pass next_page_token as received"),
                )
            })?),
        };
        let records = self.referrals.list_open(&opd, after, limit).await?;
        let niks: Vec<&str> = records.iter().map(|record| record.client_nik.as_str()).collect();
        self.referrals
            .audit(
                &principal,
                Some("serving referrals"),
                "referral.list_open",
                format!("opd/{opd}"),
                &niks,
                Outcome::Allowed,
                serde_json::json!({ "returned": records.len() }),
            )
            .await?;
        let next_page_token = if records.len() as i64 == limit {
            records.last().map(|r| r.referral_id.to_string()).unwrap_or_default()
        } else {
            String::new()
        };
        let now = self.referrals.clock.now();
        Ok(Response::new(ListOpenReferralsResponse {
            referrals: records.into_iter().map(|record| state(record, now)).collect(),
            next_page_token,
        }))
    }

    async fn acknowledge(&self, request: Request<AcknowledgeRequest>) -> Result<Response<ReferralState>, Status> {
        let (principal, opd) = self.caller(&request)?;
        let traced = carries_trace(&request);
        let request = request.into_inner();
        self.act(
            &principal,
            traced,
            ReferralCommand::Acknowledge(AcknowledgeReferral {
                referral_id: referral_id(&request.referral_id)?,
                opd,
                actor: actor_of(&principal, request.actor),
            }),
        )
        .await
    }

    async fn accept(&self, request: Request<AcceptRequest>) -> Result<Response<ReferralState>, Status> {
        let (principal, opd) = self.caller(&request)?;
        let traced = carries_trace(&request);
        let request = request.into_inner();
        self.act(
            &principal,
            traced,
            ReferralCommand::Accept(AcceptReferral {
                referral_id: referral_id(&request.referral_id)?,
                opd,
                actor: actor_of(&principal, request.actor),
                note: request.note,
            }),
        )
        .await
    }

    async fn reject(&self, request: Request<RejectRequest>) -> Result<Response<ReferralState>, Status> {
        let (principal, opd) = self.caller(&request)?;
        let traced = carries_trace(&request);
        let request = request.into_inner();
        self.act(
            &principal,
            traced,
            ReferralCommand::Reject(RejectReferral {
                referral_id: referral_id(&request.referral_id)?,
                opd,
                actor: actor_of(&principal, request.actor),
                reason: request.reason,
            }),
        )
        .await
    }

    async fn start_service(&self, request: Request<StartServiceRequest>) -> Result<Response<ReferralState>, Status> {
        let (principal, opd) = self.caller(&request)?;
        let traced = carries_trace(&request);
        let request = request.into_inner();
        self.act(
            &principal,
            traced,
            ReferralCommand::StartService(StartService {
                referral_id: referral_id(&request.referral_id)?,
                opd,
                actor: actor_of(&principal, request.actor),
                note: request.note,
            }),
        )
        .await
    }

    async fn transfer(&self, request: Request<TransferRequest>) -> Result<Response<ReferralState>, Status> {
        let (principal, opd) = self.caller(&request)?;
        let traced = carries_trace(&request);
        let request = request.into_inner();
        let referral_id = referral_id(&request.referral_id)?;
        let to_opd = self.referrals.known_opd("to_opd_code", &request.to_opd_code)?;
        self.act(
            &principal,
            traced,
            ReferralCommand::Transfer(TransferReferral {
                referral_id,
                opd,
                actor: actor_of(&principal, request.actor),
                to_opd,
                reason: request.reason,
            }),
        )
        .await
    }

    async fn complete(&self, request: Request<CompleteRequest>) -> Result<Response<ReferralState>, Status> {
        let (principal, opd) = self.caller(&request)?;
        let traced = carries_trace(&request);
        let request = request.into_inner();
        self.act(
            &principal,
            traced,
            ReferralCommand::Complete(CompleteReferral {
                referral_id: referral_id(&request.referral_id)?,
                opd,
                actor: actor_of(&principal, request.actor),
                successful: request.successful,
                outcome_code: request.outcome_code,
                note: request.note,
            }),
        )
        .await
    }
}

/// Whether the OPD's system sent a trace context of its own (as one that follows the
/// `traceparent` of each `ReferralUpdate` does). A person at the command line sends none.
fn carries_trace<T>(request: &Request<T>) -> bool {
    request.metadata().contains_key("traceparent")
}

fn referral_id(text: &str) -> Result<Uuid, ApiError> {
    if text.is_empty() {
        return Err(ApiError::invalid("referral_id", "is required"));
    }
    Uuid::parse_str(text)
        .map_err(|_| ApiError::invalid("referral_id", format!("{text:?} is not a referral id (a UUID)")))
}

fn referral_update(update: FeedUpdate, now: DateTime<Utc>) -> ReferralUpdate {
    ReferralUpdate {
        cursor: update.cursor.to_string(),
        event_type: update.event_type,
        referral: Some(state(update.referral, now)),
        traceparent: update.traceparent.unwrap_or_default(),
    }
}

/// Where the referral stands against its deadlines at `now`.
pub fn sla_state(record: &ReferralRecord, now: DateTime<Utc>) -> SlaState {
    let status = record.status().unwrap_or(ReferralStatus::Requested);
    SlaState::of(
        status,
        record.response_due_at,
        record.resolution_due_at,
        record.closed_at,
        now,
    )
}

/// The OPD's view: everything it needs to serve the client, the NIK included.
fn state(record: ReferralRecord, now: DateTime<Utc>) -> ReferralState {
    let sla_state = sla_state(&record, now).as_str().to_string();
    ReferralState {
        sla_state,
        escalation_level: record.escalation_level,
        linked_needs: record.linked_needs,
        details: Some(ReferralDetails {
            referral_id: record.referral_id.to_string(),
            case_id: record.case_id.to_string(),
            need_id: record.need_id.to_string(),
            category: record.category,
            programme_code: record.programme_code.unwrap_or_default(),
            opd_code: record.opd_code,
            opd_name: record.opd_name,
            service: record.service,
            region_code: record.region_code,
            client_name: record.client_name,
            client_nik: record.client_nik.as_str().to_string(),
            beneficiary_id: record.beneficiary_id.unwrap_or_default(),
            cash: record.cash,
            amount_per_period_idr: record.amount_per_period_idr,
            cadence: record.cadence,
            component: record.component,
            attempt: record.attempt,
            previous_referral_id: record.previous_referral_id.map(|id| id.to_string()).unwrap_or_default(),
            sla_tier: record.sla_tier,
            need_referred_at: record.need_referred_at.to_rfc3339(),
            response_due_at: record.response_due_at.to_rfc3339(),
            resolution_due_at: record.resolution_due_at.to_rfc3339(),
            requested_at: record.created_at.to_rfc3339(),
        }),
        status: record.status,
        updated_at: record.updated_at.to_rfc3339(),
    }
}
