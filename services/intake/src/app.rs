//! Intake's use cases: open a case (validated, pre-screened, idempotent) and read a case
//! from the tracker. Every change is audited in its own transaction (`slrt_audit::record`
//! before the commit), with the caller the token names as its actor.

pub mod case_list;
pub mod duplicates;
pub mod idempotency;
pub mod people;
pub mod rebuild;
pub mod tracker;

use chrono::Utc;
use slrt_audit::Outcome;
use slrt_audit::access::Access;
use slrt_auth::grpc::{AttachToken, TokenSource};
use slrt_errors::ApiError;
use slrt_eventstore::{EventStore, ExpectedVersion, NewEvent};
use slrt_identity::NikTokenizer;
use slrt_proto::eligibility::v1::ScreenPersonRequest;
use slrt_proto::eligibility::v1::eligibility_service_client::EligibilityServiceClient;
use slrt_proto::intake::v1 as proto;
use slrt_runtime::grpc::PropagateTrace;
use sqlx::PgPool;
use tonic::service::Interceptor;
use tonic::service::interceptor::InterceptedService;
use uuid::Uuid;

use crate::access;
use crate::domain::OpenCase;
use crate::projections::{self, TrackedEvent};
use idempotency::{IdempotencyKey, Pending};

pub type EligibilityClient = EligibilityServiceClient<InterceptedService<tonic::transport::Channel, PeerCall>>;

/// What every call to a sister service carries: the current trace context, and this
/// service's own token (eligibility serves the pre-screen to the `service` role only). One
/// interceptor for both, since tonic's intercepted services do not nest.
#[derive(Debug, Clone)]
pub struct PeerCall {
    token: AttachToken,
}

impl Interceptor for PeerCall {
    fn call(&mut self, request: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
        let request = PropagateTrace.call(request)?;
        self.token.call(request)
    }
}

/// A client for eligibility's gRPC API. It connects on first use, so intake starts (and
/// serves the desk) while eligibility is down, and a call times out rather than hangs, as
/// `slrt_runtime::grpc::peer_channel` sets up a channel: the desk decides what a missing
/// answer means.
pub fn eligibility_client(
    url: &str,
    tls: &slrt_settings::GrpcTls,
    token: TokenSource,
) -> anyhow::Result<EligibilityClient> {
    let channel = slrt_runtime::grpc::endpoint(url, tls)?
        .connect_timeout(std::time::Duration::from_secs(2))
        .timeout(std::time::Duration::from_secs(3))
        .connect_lazy();
    Ok(EligibilityServiceClient::with_interceptor(
        channel,
        PeerCall {
            token: AttachToken::new(token),
        },
    ))
}

/// The front desk's use cases.
#[derive(Clone)]
pub struct Intake {
    pub pool: PgPool,
    pub store: EventStore,
    pub eligibility: EligibilityClient,
    /// Keys the NIKs of the audit log's records.
    pub nik_tokens: NikTokenizer,
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
    ///
    /// Keys are the caller's own: another operator's request with the same key is another
    /// request.
    pub async fn open_case(
        &self,
        access: &Access,
        command: OpenCase,
        idempotency: Option<(IdempotencyKey, String)>,
    ) -> Result<Created, ApiError> {
        let scope = format!("POST /v1/cases by {}", access.subject());
        idempotency::once(&self.pool, &scope, idempotency, |pending| async move {
            self.record_case(access, &command, pending.as_ref()).await
        })
        .await
    }

    async fn record_case(
        &self,
        access: &Access,
        command: &OpenCase,
        idempotency: Option<&Pending>,
    ) -> Result<Created, ApiError> {
        let mut screening = self.screen(command).await;
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

        // The applicant's person and household records and the duplicate check commit with
        // the case; suspects are reported, never a reason to refuse the case.
        let registration =
            people::register_applicant(&self.store, &mut tx, case_id, &command.applicant, &command.opened_by).await?;
        screening.duplicate_suspects = registration.suspects.clone();
        screening.person_id = registration.person_id.to_string();
        screening.household_id = registration.household_id.to_string();

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
            complaint: command.complaint.as_ref().map(complaint_payload),
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
            "kind": command.kind.code(),
            "status": "open",
            "person": registration.body(),
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
                "date_of_death": (!screening.date_of_death.is_empty()).then_some(&screening.date_of_death),
                "exclusion_evidence": screening.exclusion_evidence.iter().map(|item| serde_json::json!({
                    "kind": item.kind,
                    "programme_code": (!item.programme_code.is_empty()).then_some(&item.programme_code),
                    "reason_code": item.reason_code,
                    "reason": item.reason,
                    "since": item.since,
                })).collect::<Vec<_>>(),
                "unavailable_reason": (!screening.unavailable_reason.is_empty()).then_some(&screening.unavailable_reason),
            },
        });
        let created = Created { status: 201, body };
        if let Some(pending) = idempotency {
            pending.complete(&mut tx, &created).await?;
        }
        // The applicant, the person an inclusion report names, and the people the answer
        // shows as duplicate suspects.
        let mut niks = vec![applicant.nik.as_str().to_string()];
        if let Some(reported) = command
            .complaint
            .as_ref()
            .and_then(|complaint| complaint.reported.as_ref())
            && let Some(nik) = &reported.nik
        {
            niks.push(nik.as_str().to_string());
        }
        let suspect_ids: Vec<Uuid> = registration
            .suspects
            .iter()
            .filter_map(|suspect| Uuid::parse_str(&suspect.person_id).ok())
            .collect();
        niks.extend(people::niks_of(&mut tx, &suspect_ids).await?);
        let audit = access::record(
            access,
            "case.open",
            format!("case/{case_id}"),
            self.nik_tokens_of(niks.iter().map(String::as_str)),
            Outcome::Allowed,
            serde_json::json!({
                "case_number": case_number,
                "kind": command.kind.code(),
                "desk_region_code": command.desk_region.dotted(),
                "duplicate_suspects": registration.suspects.len(),
            }),
        );
        slrt_audit::record(&mut tx, &audit)
            .await
            .map_err(ApiError::unavailable)?;
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
                let holds = screened.open_holds.into_iter().map(|hold| proto::ExclusionEvidence {
                    kind: "hold".to_string(),
                    programme_code: hold.programme_code,
                    reason_code: hold.reason_code,
                    reason: hold.reason,
                    since: hold.held_from,
                });
                let tasks = screened
                    .open_verification_tasks
                    .into_iter()
                    .map(|task| proto::ExclusionEvidence {
                        kind: "verification".to_string(),
                        programme_code: String::new(),
                        reason: format!("verification {} open: {}", task.task_id, task.ground),
                        reason_code: task.ground,
                        since: task.opened_on,
                    });
                proto::DeskScreening {
                    performed: true,
                    known_person: screened.known_person,
                    deceased: screened.deceased,
                    active_programmes: screened.active_programmes,
                    unavailable_reason: String::new(),
                    date_of_death: screened.date_of_death,
                    exclusion_evidence: holds.chain(tasks).collect(),
                    ..Default::default()
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

/// The complaint as recorded in `CaseOpened`.
fn complaint_payload(complaint: &crate::domain::Complaint) -> proto::Complaint {
    proto::Complaint {
        complaint_type: complaint.complaint_type.code().to_string(),
        grievance_type: complaint
            .grievance_type
            .map(|grievance| grievance.code().to_string())
            .unwrap_or_default(),
        statement: complaint.statement.clone(),
        reported: complaint.reported.as_ref().map(|reported| proto::ReportedSubject {
            nik: reported
                .nik
                .as_ref()
                .map(|nik| nik.as_str().to_string())
                .unwrap_or_default(),
            kk_number: reported
                .kk
                .as_ref()
                .map(|kk| kk.as_str().to_string())
                .unwrap_or_default(),
            full_name: reported.full_name.clone(),
            region_code: reported.region.dotted(),
            programme_code: reported.programme_code.clone().unwrap_or_default(),
            ground: reported.ground.clone(),
        }),
    }
}
