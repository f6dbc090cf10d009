//! The supervisors' HTTP API: referrals by agency, status and SLA state, one referral with
//! its journey between agencies, escalations, per-agency performance, and the needs no
//! agency holds. Supervisors revoke referrals and place unrouted needs here; agencies act
//! over gRPC. Handlers are thin: parse, call the use case or query, map errors through the
//! shared code table.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use slrt_errors::{ApiError, ErrorBody};
use utoipa::OpenApi;
use uuid::Uuid;

use slrt_audit::Outcome;

use crate::access::{AREA_DECIDERS, AREA_READERS, Caller, OPERATORS, require};
use crate::app::{Referrals, page_size};
use crate::domain::{OpdCode, ReferralCommand, ReferralStatus, RevokeReferral};
use crate::grpc::sla_state;
use crate::projections::{
    self, EscalationFilter, EscalationRecord, OpdPerformance, ReferralFilter, ReferralRecord, UnroutedRecord,
};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "SLRT referral",
        description = "Referrals of decided needs to the responsible regional agency (OPD), as supervisors see \
                       them: where each referral stands, and which approved needs no rule routes. Agencies \
                       receive and act on referrals over gRPC (slrt.referral.v1.OpdReferralService)."
    ),
    paths(
        list_referrals,
        get_referral,
        revoke_referral,
        list_unrouted,
        place_need,
        list_escalations,
        opd_performance,
        get_test_clock,
        set_test_clock
    ),
    components(schemas(
        ReferralView,
        ReferralJourney,
        ClientView,
        BenefitView,
        SlaView,
        ReferralPage,
        UnroutedNeedView,
        UnroutedPage,
        EscalationView,
        EscalationPage,
        PerformanceView,
        PerformanceReport,
        RevokeBody,
        PlacementBody,
        ClockView,
        ClockBody,
        ErrorBody
    ))
)]
pub struct ApiDoc;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/referrals", web::get().to(list_referrals))
        .route("/v1/referrals/{referral_id}", web::get().to(get_referral))
        .route("/v1/referrals/{referral_id}/revoke", web::post().to(revoke_referral))
        .route("/v1/unrouted", web::get().to(list_unrouted))
        .route("/v1/unrouted/{case_id}/{need_id}/placement", web::post().to(place_need))
        .route("/v1/escalations", web::get().to(list_escalations))
        .route("/v1/performance", web::get().to(opd_performance))
        .route("/v1/test-clock", web::get().to(get_test_clock))
        .route("/v1/test-clock", web::put().to(set_test_clock));
}

/// A referral as supervisors see it. The client's NIK is masked: supervisors follow the
/// referral, the agency serves the client.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(example = json!({
    "referral_id": "01936f1e-8a00-7c3e-9d5a-3f2b8c4d5e6f", "case_id": "01936f1e-7c1a-7b3e-9d5a-3f2b8c4d5e6f",
    "need_id": "01936f1e-7c1a-7b3e-9d5a-3f2b8c4d5e70", "category": "cash_assistance", "programme_code": "PKH",
    "opd_code": "DINSOS", "opd_name": "Dinas Sosial", "service": "Program Keluarga Harapan (PKH)",
    "region_code": "33.75.01.1002", "client": {"name": "Siti Aminah", "nik_masked": "3375********0003"},
    "beneficiary_id": "hh-3375-0042",
    "benefit": {"amount_per_period_idr": 750000, "cadence": "quarterly", "component": "base"},
    "status": "accepted", "last_actor": "petugas.dinsos.1", "note": "home visit on Monday",
    "created_at": "2026-11-22T03:14:07Z", "updated_at": "2026-11-23T01:02:03Z",
    "attempt": 1, "routed_by": "routing_table", "routing_note": "routing table 2026.1",
    "sla": {"tier": "field", "state": "on_track", "requested_at": "2026-11-22T03:14:07Z",
            "need_referred_at": "2026-11-22T03:14:07Z", "response_due_at": "2026-11-25T17:00:00Z",
            "resolution_due_at": "2027-02-18T17:00:00Z", "age_working_days": 1, "working_days_overdue": 0},
    "escalation_level": 0, "linked_needs": 0, "first_response_at": "2026-11-23T01:02:03Z"
}))]
pub struct ReferralView {
    pub referral_id: Uuid,
    pub case_id: Uuid,
    pub need_id: Uuid,
    #[schema(example = "cash_assistance")]
    pub category: String,
    #[schema(example = "PKH")]
    pub programme_code: Option<String>,
    #[schema(example = "DINSOS")]
    pub opd_code: String,
    pub opd_name: String,
    /// The agency's service the need was routed to.
    pub service: String,
    /// Kemendagri village code of the client's address.
    #[schema(example = "33.75.01.1002")]
    pub region_code: String,
    pub client: ClientView,
    /// Registry id of the household or person, for programmes that pay.
    pub beneficiary_id: Option<String>,
    /// Present for cash programmes only.
    pub benefit: Option<BenefitView>,
    /// requested, acknowledged, accepted, rejected, completed.
    #[schema(example = "accepted")]
    pub status: String,
    /// The officer who acted last for the agency.
    pub last_actor: Option<String>,
    /// Why the agency declined (status rejected).
    pub rejection_reason: Option<String>,
    /// Whether the service succeeded (status completed).
    pub successful: Option<bool>,
    /// Why it did not: client_refused, lack_of_capacity, unable_to_contact, no_longer_needed, other.
    pub outcome_code: Option<String>,
    pub note: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// 1 for the need's first referral; one more per re-routing or placement.
    pub attempt: i32,
    /// The referral this one replaced.
    pub previous_referral_id: Option<Uuid>,
    /// routing_table, rerouted_after_rejection, transferred, placed_by_supervisor.
    pub routed_by: String,
    /// Why it came to this agency.
    pub routing_note: String,
    /// The agency it was passed to (status transferred).
    pub transferred_to: Option<String>,
    /// Why the SLRT withdrew it (status revoked).
    pub revocation_reason: Option<String>,
    pub sla: SlaView,
    /// Highest escalation step reached; 0 when never escalated.
    pub escalation_level: i32,
    /// Other cases' needs for the same person waiting on this referral.
    pub linked_needs: i32,
    /// The agency's first answer (acknowledge, accept, reject, transfer).
    pub first_response_at: Option<DateTime<Utc>>,
    /// When it ended (completed, rejected, transferred, revoked).
    pub closed_at: Option<DateTime<Utc>>,
}

/// The referral against its deadlines, judged at the service clock's now.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SlaView {
    /// information (5 working days), dispute (14) or field (60).
    #[schema(example = "field")]
    pub tier: String,
    /// on_track, response_overdue, resolution_overdue (open); met, missed (closed).
    #[schema(example = "on_track")]
    pub state: String,
    pub requested_at: DateTime<Utc>,
    /// The resolution clock runs from the need's first referral, through re-routings.
    pub need_referred_at: DateTime<Utc>,
    pub response_due_at: DateTime<Utc>,
    pub resolution_due_at: DateTime<Utc>,
    /// Working days since the request that have ended (until it closed, if closed).
    pub age_working_days: u32,
    /// Working days past the deadline of the clock that is overdue; 0 when none is.
    pub working_days_overdue: u32,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ClientView {
    #[schema(example = "Siti Aminah")]
    pub name: String,
    /// Only the first and last four digits.
    #[schema(example = "3375********0003")]
    pub nik_masked: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct BenefitView {
    #[schema(example = 750000)]
    pub amount_per_period_idr: i64,
    #[schema(example = "quarterly")]
    pub cadence: String,
    #[schema(example = "base")]
    pub component: String,
}

impl ReferralView {
    fn of(record: ReferralRecord, referrals: &Referrals, now: DateTime<Utc>) -> Self {
        let calendar = &referrals.sla.calendar;
        let state = sla_state(&record, now);
        let until = record.closed_at.unwrap_or(now);
        let working_days_overdue = match state {
            crate::domain::SlaState::ResponseOverdue => calendar.working_days_late(record.response_due_at, now),
            crate::domain::SlaState::ResolutionOverdue => calendar.working_days_late(record.resolution_due_at, now),
            _ => 0,
        };
        let sla = SlaView {
            tier: record.sla_tier.clone(),
            state: state.as_str().to_string(),
            requested_at: record.created_at,
            need_referred_at: record.need_referred_at,
            response_due_at: record.response_due_at,
            resolution_due_at: record.resolution_due_at,
            age_working_days: calendar.working_days_between(record.created_at, until),
            working_days_overdue,
        };
        let benefit = record.cash.then(|| BenefitView {
            amount_per_period_idr: record.amount_per_period_idr,
            cadence: record.cadence.clone(),
            component: record.component.clone(),
        });
        Self {
            referral_id: record.referral_id,
            case_id: record.case_id,
            need_id: record.need_id,
            category: record.category,
            programme_code: record.programme_code,
            opd_code: record.opd_code,
            opd_name: record.opd_name,
            service: record.service,
            region_code: record.region_code,
            client: ClientView {
                name: record.client_name,
                nik_masked: record.client_nik.masked(),
            },
            beneficiary_id: record.beneficiary_id,
            benefit,
            status: record.status,
            last_actor: record.last_actor,
            rejection_reason: record.rejection_reason,
            successful: record.successful,
            outcome_code: record.outcome_code,
            note: record.note,
            created_at: record.created_at,
            updated_at: record.updated_at,
            attempt: record.attempt,
            previous_referral_id: record.previous_referral_id,
            routed_by: record.routed_by,
            routing_note: record.routing_note,
            transferred_to: record.transferred_to,
            revocation_reason: record.revocation_reason,
            sla,
            escalation_level: record.escalation_level,
            linked_needs: record.linked_needs,
            first_response_at: record.first_response_at,
            closed_at: record.closed_at,
        }
    }
}

/// One referral, with every referral of the same need (how the need travelled between
/// agencies) and the referral's escalations.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ReferralJourney {
    #[serde(flatten)]
    pub referral: ReferralView,
    /// Every referral of this need, first attempt first; this one included.
    pub need_referrals: Vec<ReferralView>,
    pub escalations: Vec<EscalationView>,
}

/// One page of referrals, oldest first.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ReferralPage {
    pub referrals: Vec<ReferralView>,
    /// Pass as `after` for the next page; absent on the last page.
    pub next_after: Option<Uuid>,
}

/// An approved need that no rule of the routing table routes.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(example = json!({
    "case_id": "01936f1e-7c1a-7b3e-9d5a-3f2b8c4d5e6f", "need_id": "01936f1e-7c1a-7b3e-9d5a-3f2b8c4d5e71",
    "event_id": "01936f1e-8a00-7c3e-9d5a-3f2b8c4d5e99", "category": "cash_assistance", "programme_code": "ASPD",
    "region_code": "33.75.01.1002",
    "reason": "no rule of routing table 2026.1 routes category cash_assistance (programme ASPD) in region 33.75.01.1002",
    "at": "2026-11-22T03:14:07Z"
}))]
pub struct UnroutedNeedView {
    pub case_id: Uuid,
    pub need_id: Uuid,
    /// The ReferralUnrouted event; pages follow it.
    pub event_id: Uuid,
    pub category: String,
    pub programme_code: Option<String>,
    pub region_code: String,
    /// What was looked for, or which agencies declined it.
    pub reason: String,
    pub at: DateTime<Utc>,
    /// Agencies that declined it or passed it on, oldest first.
    pub tried_opd_codes: Vec<String>,
    /// Other cases' needs that wait on this one.
    pub linked_needs: i32,
}

impl From<UnroutedRecord> for UnroutedNeedView {
    fn from(record: UnroutedRecord) -> Self {
        Self {
            case_id: record.case_id,
            need_id: record.need_id,
            event_id: record.event_id,
            category: record.category,
            programme_code: record.programme_code,
            region_code: record.region_code,
            reason: record.reason,
            at: record.at,
            tried_opd_codes: record.tried_opd_codes,
            linked_needs: record.linked_needs,
        }
    }
}

/// One page of unrouted needs, oldest first.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct UnroutedPage {
    pub unrouted: Vec<UnroutedNeedView>,
    /// Pass as `after` for the next page; absent on the last page.
    pub next_after: Option<Uuid>,
}

// Query values arrive as text and are parsed here, so that a bad one is answered naming it.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListReferralsQuery {
    /// Only this agency's referrals, e.g. DINSOS.
    pub opd: Option<String>,
    /// Only referrals in this status: requested, acknowledged, accepted, in_progress,
    /// completed, rejected, transferred, revoked.
    pub status: Option<String>,
    /// Only the referrals of this case.
    pub case_id: Option<String>,
    /// `overdue`: only open referrals past their response or resolution deadline.
    pub sla: Option<String>,
    /// `true`: only referrals escalated at least once.
    pub escalated: Option<String>,
    /// Page size, 1 to 500 (default 100).
    pub limit: Option<String>,
    /// The `next_after` of the previous page.
    pub after: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListUnroutedQuery {
    /// Page size, 1 to 500 (default 100).
    pub limit: Option<String>,
    /// The `next_after` of the previous page.
    pub after: Option<String>,
}

/// Referrals, narrowed by agency and status.
#[utoipa::path(
    get,
    path = "/v1/referrals",
    params(ListReferralsQuery),
    responses(
        (status = 200, description = "A page of referrals, oldest first", body = ReferralPage),
        (status = 400, description = "A bad query value; the error names it", body = ErrorBody, example = json!({
            "error": {"code": "invalid_input", "message": "\"done\" is not a referral status (one of: requested, acknowledged, accepted, rejected, completed)", "field": "status"}
        })),
    )
)]
async fn list_referrals(
    caller: Caller,
    referrals: web::Data<Referrals>,
    query: web::Query<ListReferralsQuery>,
) -> Result<HttpResponse, ApiError> {
    require(&caller.principal, AREA_READERS, "listing referrals")?;
    let query = query.into_inner();
    let opd_code = parse_opd_filter(query.opd.as_deref())?;
    let status = query.status.map(|code| parse_status(&code)).transpose()?;
    let case_id = parse_uuid("case_id", "a case id", query.case_id.as_deref())?;
    let now = referrals.clock.now();
    let overdue_at = match query.sla.as_deref() {
        None => None,
        Some("overdue") => Some(now),
        Some(other) => {
            return Err(ApiError::invalid(
                "sla",
                format!("{other:?} is not an SLA filter (only: overdue)"),
            ));
        }
    };
    let escalated = parse_bool("escalated", query.escalated.as_deref())?;
    let limit = parse_limit(query.limit.as_deref())?;
    let after = parse_after(query.after.as_deref())?;
    let filter = ReferralFilter {
        areas: Some(caller.area_patterns()),
        opd_code,
        status,
        case_id,
        overdue_at,
        escalated,
        after,
        limit,
    };
    let page = projections::list(&referrals.pool, &filter)
        .await
        .map_err(ApiError::unavailable)?;
    let niks: Vec<&str> = page.iter().map(|record| record.client_nik.as_str()).collect();
    referrals
        .audit_http(
            &caller,
            "referral.list",
            "referrals".to_string(),
            &niks,
            Outcome::Allowed,
            serde_json::json!({ "returned": page.len(), "opd": filter.opd_code, "case_id": filter.case_id }),
        )
        .await?;
    let next_after = (page.len() as i64 == limit)
        .then(|| page.last().map(|r| r.referral_id))
        .flatten();
    Ok(HttpResponse::Ok().json(ReferralPage {
        referrals: page
            .into_iter()
            .map(|record| ReferralView::of(record, &referrals, now))
            .collect(),
        next_after,
    }))
}

/// One referral, with the journey of its need between agencies and its escalations.
#[utoipa::path(
    get,
    path = "/v1/referrals/{referral_id}",
    params(("referral_id" = Uuid, Path, description = "The referral's id")),
    responses(
        (status = 200, description = "The referral", body = ReferralJourney),
        (status = 400, description = "Not a referral id", body = ErrorBody),
        (status = 404, description = "No such referral", body = ErrorBody),
    )
)]
async fn get_referral(
    caller: Caller,
    referrals: web::Data<Referrals>,
    referral_id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    require(&caller.principal, AREA_READERS, "reading a referral")?;
    let referral_id = parse_referral_id(&referral_id.into_inner())?;
    let record = find_in_area(&caller, &referrals, referral_id, "referral.read").await?;
    referrals
        .audit_http(
            &caller,
            "referral.read",
            format!("referral/{referral_id}"),
            &[record.client_nik.as_str()],
            Outcome::Allowed,
            serde_json::json!({}),
        )
        .await?;
    let now = referrals.clock.now();
    let need_referrals = projections::need_referrals(&referrals.pool, record.case_id, record.need_id)
        .await
        .map_err(ApiError::unavailable)?;
    let escalations = projections::list_escalations(
        &referrals.pool,
        &EscalationFilter {
            referral_id: Some(referral_id),
            limit: crate::app::MAX_PAGE,
            ..EscalationFilter::default()
        },
    )
    .await
    .map_err(ApiError::unavailable)?;
    Ok(HttpResponse::Ok().json(ReferralJourney {
        referral: ReferralView::of(record, &referrals, now),
        need_referrals: need_referrals
            .into_iter()
            .map(|record| ReferralView::of(record, &referrals, now))
            .collect(),
        escalations: escalations.into_iter().map(EscalationView::from).collect(),
    }))
}

/// The referral, if it exists and its client lives in the caller's area; otherwise "not
/// found", the same answer either way, with the attempt audited.
async fn find_in_area(
    caller: &Caller,
    referrals: &Referrals,
    referral_id: Uuid,
    action: &str,
) -> Result<ReferralRecord, ApiError> {
    let record = projections::find(&referrals.pool, referral_id)
        .await
        .map_err(ApiError::unavailable)?;
    match record {
        Some(record) if caller.covers(&record.region_code) => Ok(record),
        _ => {
            referrals
                .audit_http(
                    caller,
                    action,
                    format!("referral/{referral_id}"),
                    &[],
                    Outcome::NotFound,
                    serde_json::json!({}),
                )
                .await?;
            Err(ApiError::not_found(format!("referral {referral_id} not found")))
        }
    }
}

fn parse_referral_id(text: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(text)
        .map_err(|_| ApiError::invalid("referral_id", format!("{text:?} is not a referral id (a UUID)")))
}

/// Why the SLRT withdraws a referral.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[schema(example = json!({"reason": "the applicant withdrew the request at the desk"}))]
pub struct RevokeBody {
    /// Ignored: the person recorded is the caller the token names.
    #[serde(default)]
    pub actor: String,
    /// Why; required.
    #[serde(default)]
    pub reason: String,
}

/// The SLRT withdraws a referral, whichever agency holds it. Terminal: the need is not
/// re-routed, and needs of other cases linked to it are closed with it.
#[utoipa::path(
    post,
    path = "/v1/referrals/{referral_id}/revoke",
    params(("referral_id" = Uuid, Path, description = "The referral's id")),
    request_body = RevokeBody,
    responses(
        (status = 200, description = "The referral, revoked (also when it already was, for the same reason)", body = ReferralView),
        (status = 400, description = "A missing actor or reason; the error names it", body = ErrorBody, example = json!({
            "error": {"code": "invalid_input", "message": "a reason is required to revoke a referral", "field": "reason"}
        })),
        (status = 404, description = "No such referral", body = ErrorBody),
        (status = 409, description = "Already revoked for another reason", body = ErrorBody),
        (status = 422, description = "The referral is closed already", body = ErrorBody, example = json!({
            "error": {"code": "rejected", "message": "referral is already completed, which is final; it cannot be revoked"}
        })),
    )
)]
async fn revoke_referral(
    caller: Caller,
    referrals: web::Data<Referrals>,
    referral_id: web::Path<String>,
    body: slrt_errors::Json<RevokeBody>,
) -> Result<HttpResponse, ApiError> {
    require(&caller.principal, AREA_DECIDERS, "revoking a referral")?;
    let referral_id = parse_referral_id(&referral_id.into_inner())?;
    let body = body.into_inner();
    find_in_area(&caller, &referrals, referral_id, "referral.revoke").await?;
    let record = referrals
        .act(
            ReferralCommand::Revoke(RevokeReferral {
                referral_id,
                actor: caller.principal.subject.clone(),
                reason: body.reason.clone(),
            }),
            true,
        )
        .await?;
    referrals
        .audit_http(
            &caller,
            "referral.revoke",
            format!("referral/{referral_id}"),
            &[record.client_nik.as_str()],
            Outcome::Allowed,
            serde_json::json!({ "reason": body.reason }),
        )
        .await?;
    let now = referrals.clock.now();
    Ok(HttpResponse::Ok().json(ReferralView::of(record, &referrals, now)))
}

/// A supervisor's choice of agency for a need no agency holds.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[schema(example = json!({"opd_code": "BAZNAS", "reason": "zakat-funded home repair agreed by phone"}))]
pub struct PlacementBody {
    /// The agency that takes the need, e.g. BAZNAS.
    #[serde(default)]
    pub opd_code: String,
    /// Ignored: the person recorded is the caller the token names.
    #[serde(default)]
    pub actor: String,
    /// Why this agency; required.
    #[serde(default)]
    pub reason: String,
}

/// A supervisor places a need that no agency holds (nothing routed it, or every agency of
/// its route declined it) with an agency. The need keeps its first referral date, so its
/// resolution deadline does not move.
#[utoipa::path(
    post,
    path = "/v1/unrouted/{case_id}/{need_id}/placement",
    params(
        ("case_id" = Uuid, Path, description = "The case"),
        ("need_id" = Uuid, Path, description = "The need, as in the unrouted list"),
    ),
    request_body = PlacementBody,
    responses(
        (status = 201, description = "The new referral", body = ReferralView),
        (status = 400, description = "A bad agency code, or a missing actor or reason; the error names it", body = ErrorBody),
        (status = 404, description = "The need is not waiting for placement (never unrouted, or placed already)", body = ErrorBody),
    )
)]
async fn place_need(
    caller: Caller,
    referrals: web::Data<Referrals>,
    path: web::Path<(String, String)>,
    body: slrt_errors::Json<PlacementBody>,
) -> Result<HttpResponse, ApiError> {
    require(&caller.principal, AREA_DECIDERS, "placing a need")?;
    let (case_id, need_id) = path.into_inner();
    let case_id = parse_uuid("case_id", "a case id", Some(&case_id))?.unwrap_or_default();
    let need_id = parse_uuid("need_id", "a need id", Some(&need_id))?.unwrap_or_default();
    let body = body.into_inner();
    let opd = referrals.known_opd("opd_code", &body.opd_code)?;
    let region = projections::unrouted_region(&referrals.pool, case_id, need_id)
        .await
        .map_err(ApiError::unavailable)?;
    // Outside the area, the need is as absent as one never unrouted; the use case answers
    // "not found" for those.
    if let Some(region) = region
        && !caller.covers(&region)
    {
        referrals
            .audit_http(
                &caller,
                "unrouted.place",
                format!("case/{case_id}/need/{need_id}"),
                &[],
                Outcome::NotFound,
                serde_json::json!({}),
            )
            .await?;
        return Err(ApiError::not_found(format!(
            "need {need_id} of case {case_id} is not waiting for placement"
        )));
    }
    let record = referrals
        .place(case_id, need_id, opd, &caller.principal.subject, &body.reason)
        .await?;
    referrals
        .audit_http(
            &caller,
            "unrouted.place",
            format!("case/{case_id}/need/{need_id}"),
            &[record.client_nik.as_str()],
            Outcome::Allowed,
            serde_json::json!({ "opd_code": record.opd_code, "reason": body.reason }),
        )
        .await?;
    let now = referrals.clock.now();
    Ok(HttpResponse::Created().json(ReferralView::of(record, &referrals, now)))
}

/// One step of the escalation chain, reached by one referral.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(example = json!({
    "event_id": "01936f1e-8a00-7c3e-9d5a-3f2b8c4d5eaa", "referral_id": "01936f1e-8a00-7c3e-9d5a-3f2b8c4d5e6f",
    "case_id": "01936f1e-7c1a-7b3e-9d5a-3f2b8c4d5e6f", "opd_code": "DINSOS", "clock": "response", "level": 2,
    "escalated_to": "MANAJER_SLRT", "escalated_to_name": "Manajer SLRT",
    "due_at": "2026-11-25T17:00:00Z", "escalated_at": "2026-11-27T17:00:00Z", "working_days_overdue": 2,
    "referral_status": "requested"
}))]
pub struct EscalationView {
    pub event_id: Uuid,
    pub referral_id: Uuid,
    pub case_id: Uuid,
    pub opd_code: String,
    /// response or resolution.
    pub clock: String,
    /// 1 is the first step of the chain.
    pub level: i32,
    /// Role code: KOORDINATOR_PUSKESOS, MANAJER_SLRT, KEPALA_DINAS, TKPKD.
    pub escalated_to: String,
    pub escalated_to_name: String,
    /// The deadline that was missed.
    pub due_at: DateTime<Utc>,
    pub escalated_at: DateTime<Utc>,
    pub working_days_overdue: i32,
    /// The referral's status now.
    pub referral_status: String,
}

impl From<EscalationRecord> for EscalationView {
    fn from(record: EscalationRecord) -> Self {
        Self {
            event_id: record.event_id,
            referral_id: record.referral_id,
            case_id: record.case_id,
            opd_code: record.opd_code,
            clock: record.clock,
            level: record.level,
            escalated_to: record.escalated_to,
            escalated_to_name: record.escalated_to_name,
            due_at: record.due_at,
            escalated_at: record.escalated_at,
            working_days_overdue: record.working_days_overdue,
            referral_status: record.status,
        }
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct EscalationPage {
    pub escalations: Vec<EscalationView>,
    /// Pass as `after` for the next page; absent on the last page.
    pub next_after: Option<Uuid>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListEscalationsQuery {
    /// Only this agency's referrals, e.g. DINSOS.
    pub opd: Option<String>,
    /// Only escalations to this role, e.g. MANAJER_SLRT.
    pub role: Option<String>,
    /// `true`: only escalations of referrals still open.
    pub open: Option<String>,
    /// Page size, 1 to 500 (default 100).
    pub limit: Option<String>,
    /// The `next_after` of the previous page.
    pub after: Option<String>,
}

/// Escalations, oldest first: who was told about which late referral.
#[utoipa::path(
    get,
    path = "/v1/escalations",
    params(ListEscalationsQuery),
    responses(
        (status = 200, description = "A page of escalations", body = EscalationPage),
        (status = 400, description = "A bad query value; the error names it", body = ErrorBody),
    )
)]
async fn list_escalations(
    caller: Caller,
    referrals: web::Data<Referrals>,
    query: web::Query<ListEscalationsQuery>,
) -> Result<HttpResponse, ApiError> {
    require(&caller.principal, AREA_READERS, "listing escalations")?;
    let query = query.into_inner();
    let opd_code = parse_opd_filter(query.opd.as_deref())?;
    let role = query
        .role
        .map(|role| role.trim().to_string())
        .filter(|role| !role.is_empty());
    if let Some(role) = &role
        && !referrals.sla.policy.chain().iter().any(|step| &step.role == role)
    {
        let known: Vec<&str> = referrals
            .sla
            .policy
            .chain()
            .iter()
            .map(|step| step.role.as_str())
            .collect();
        return Err(ApiError::invalid(
            "role",
            format!(
                "{role:?} is not a role of the escalation chain (one of: {})",
                known.join(", ")
            ),
        ));
    }
    let limit = parse_limit(query.limit.as_deref())?;
    let filter = EscalationFilter {
        areas: Some(caller.area_patterns()),
        opd_code,
        role,
        referral_id: None,
        open_only: parse_bool("open", query.open.as_deref())?,
        after: parse_after(query.after.as_deref())?,
        limit,
    };
    let page = projections::list_escalations(&referrals.pool, &filter)
        .await
        .map_err(ApiError::unavailable)?;
    let next_after = (page.len() as i64 == limit)
        .then(|| page.last().map(|e| e.event_id))
        .flatten();
    Ok(HttpResponse::Ok().json(EscalationPage {
        escalations: page.into_iter().map(EscalationView::from).collect(),
        next_after,
    }))
}

/// How one agency handles the referrals it was sent.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(example = json!({
    "opd_code": "DINSOS", "opd_name": "Dinas Sosial", "referrals": 120, "open": 31, "overdue": 4, "escalated": 6,
    "rejected": 3, "transferred": 2, "completed": 84, "completed_within_sla": 79, "responded": 117,
    "responded_within_sla": 110, "median_hours_to_respond": 20.5, "median_hours_to_resolve": 212.0
}))]
pub struct PerformanceView {
    pub opd_code: String,
    pub opd_name: String,
    /// Referrals requested in the period.
    pub referrals: i64,
    pub open: i64,
    /// Open and past a deadline now.
    pub overdue: i64,
    /// Escalated at least once.
    pub escalated: i64,
    pub rejected: i64,
    pub transferred: i64,
    pub completed: i64,
    pub completed_within_sla: i64,
    /// Answered at all (acknowledged, accepted, rejected or transferred).
    pub responded: i64,
    pub responded_within_sla: i64,
    /// Median hours from request to first answer; absent when none answered.
    pub median_hours_to_respond: Option<f64>,
    /// Median hours from request to completion; absent when none completed.
    pub median_hours_to_resolve: Option<f64>,
}

impl From<OpdPerformance> for PerformanceView {
    fn from(row: OpdPerformance) -> Self {
        let hours = |seconds: Option<f64>| seconds.map(|s| (s / 36.0).round() / 100.0);
        Self {
            opd_code: row.opd_code,
            opd_name: row.opd_name,
            referrals: row.referrals,
            open: row.open,
            overdue: row.overdue,
            escalated: row.escalated,
            rejected: row.rejected,
            transferred: row.transferred,
            completed: row.completed,
            completed_within_sla: row.completed_within_sla,
            responded: row.responded,
            responded_within_sla: row.responded_within_sla,
            median_hours_to_respond: hours(row.median_seconds_to_respond),
            median_hours_to_resolve: hours(row.median_seconds_to_resolve),
        }
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PerformanceReport {
    /// The period's start, if one was asked for.
    pub from: Option<DateTime<Utc>>,
    /// The period's end (exclusive), if one was asked for.
    pub to: Option<DateTime<Utc>>,
    /// When open referrals were judged overdue (the service clock).
    pub as_of: DateTime<Utc>,
    pub opds: Vec<PerformanceView>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PerformanceQuery {
    /// Only referrals requested at or after this time (RFC 3339).
    pub from: Option<String>,
    /// Only referrals requested before this time (RFC 3339).
    pub to: Option<String>,
}

/// Per-agency performance: volume, open and overdue work, escalations, answers within the
/// SLA, and the median time to respond and to resolve.
#[utoipa::path(
    get,
    path = "/v1/performance",
    params(PerformanceQuery),
    responses(
        (status = 200, description = "One row per agency that received referrals in the period", body = PerformanceReport),
        (status = 400, description = "A bad time; the error names it", body = ErrorBody),
    )
)]
async fn opd_performance(
    caller: Caller,
    referrals: web::Data<Referrals>,
    query: web::Query<PerformanceQuery>,
) -> Result<HttpResponse, ApiError> {
    require(&caller.principal, AREA_READERS, "agency performance")?;
    let from = parse_time("from", query.from.as_deref())?;
    let to = parse_time("to", query.to.as_deref())?;
    if let (Some(from), Some(to)) = (from, to)
        && to <= from
    {
        return Err(ApiError::invalid("to", "must be after from"));
    }
    let as_of = referrals.clock.now();
    let rows = projections::performance(
        &referrals.pool,
        Some(caller.area_patterns().as_slice()),
        from,
        to,
        as_of,
    )
    .await
    .map_err(ApiError::unavailable)?;
    Ok(HttpResponse::Ok().json(PerformanceReport {
        from,
        to,
        as_of,
        opds: rows.into_iter().map(PerformanceView::from).collect(),
    }))
}

/// The service clock.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ClockView {
    pub now: DateTime<Utc>,
    /// Whether PUT /v1/test-clock may move it (SLRT_REFERRAL_TEST_CLOCK).
    pub adjustable: bool,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[schema(example = json!({"now": "2026-12-10T09:00:00+07:00"}))]
pub struct ClockBody {
    /// The time the clock should read (RFC 3339); never earlier than it reads now.
    #[serde(default)]
    pub now: String,
}

/// The time this service sets and judges deadlines by.
#[utoipa::path(
    get,
    path = "/v1/test-clock",
    responses((status = 200, description = "The service clock", body = ClockView))
)]
async fn get_test_clock(caller: Caller, referrals: web::Data<Referrals>) -> Result<HttpResponse, ApiError> {
    require(&caller.principal, OPERATORS, "the service clock")?;
    Ok(HttpResponse::Ok().json(ClockView {
        now: referrals.clock.now(),
        adjustable: referrals.clock.is_adjustable(),
    }))
}

/// Moves the service clock forward, so that deadlines can be seen to pass (tests and
/// training only: refused unless the service was started with SLRT_REFERRAL_TEST_CLOCK).
/// Due SLA timers fire at the worker's next pass.
#[utoipa::path(
    put,
    path = "/v1/test-clock",
    request_body = ClockBody,
    responses(
        (status = 200, description = "The clock, moved", body = ClockView),
        (status = 400, description = "Not a time, or earlier than the clock reads", body = ErrorBody),
        (status = 422, description = "This service runs on the system clock", body = ErrorBody),
    )
)]
async fn set_test_clock(
    caller: Caller,
    referrals: web::Data<Referrals>,
    body: slrt_errors::Json<ClockBody>,
) -> Result<HttpResponse, ApiError> {
    require(&caller.principal, OPERATORS, "moving the service clock")?;
    if !referrals.clock.is_adjustable() {
        return Err(ApiError::rejected(
            "this service runs on the system clock; start it with SLRT_REFERRAL_TEST_CLOCK=true to move it",
        ));
    }
    let target = parse_time("now", Some(&body.now))?.unwrap_or_default();
    let now = referrals
        .clock
        .advance_to(target)
        .map_err(|error| ApiError::invalid("now", error.to_string()))?;
    Ok(HttpResponse::Ok().json(ClockView { now, adjustable: true }))
}

/// Approved needs that no rule routes: they wait for a supervisor.
#[utoipa::path(
    get,
    path = "/v1/unrouted",
    params(ListUnroutedQuery),
    responses(
        (status = 200, description = "A page of unrouted needs, oldest first", body = UnroutedPage),
        (status = 400, description = "A bad query value; the error names it", body = ErrorBody),
    )
)]
async fn list_unrouted(
    caller: Caller,
    referrals: web::Data<Referrals>,
    query: web::Query<ListUnroutedQuery>,
) -> Result<HttpResponse, ApiError> {
    require(&caller.principal, AREA_READERS, "listing unrouted needs")?;
    let limit = parse_limit(query.limit.as_deref())?;
    let after = parse_after(query.after.as_deref())?;
    let page = projections::list_unrouted(&referrals.pool, Some(caller.area_patterns().as_slice()), after, limit)
        .await
        .map_err(ApiError::unavailable)?;
    let next_after = (page.len() as i64 == limit)
        .then(|| page.last().map(|r| r.event_id))
        .flatten();
    Ok(HttpResponse::Ok().json(UnroutedPage {
        unrouted: page.into_iter().map(UnroutedNeedView::from).collect(),
        next_after,
    }))
}

// Only the form of the code is checked: referrals routed under an earlier routing table may
// name an agency the current table no longer lists.
fn parse_opd_filter(code: Option<&str>) -> Result<Option<String>, ApiError> {
    code.map(|code| {
        OpdCode::parse(code)
            .map(|code| code.to_string())
            .map_err(|e| ApiError::invalid("opd", e.to_string()))
    })
    .transpose()
}

fn parse_uuid(field: &'static str, what: &str, text: Option<&str>) -> Result<Option<Uuid>, ApiError> {
    text.map(|text| {
        Uuid::parse_str(text).map_err(|_| ApiError::invalid(field, format!("{text:?} is not {what} (a UUID)")))
    })
    .transpose()
}

fn parse_bool(field: &'static str, text: Option<&str>) -> Result<bool, ApiError> {
    match text {
        None | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(other) => Err(ApiError::invalid(field, format!("{other:?} is not true or false"))),
    }
}

fn parse_time(field: &'static str, text: Option<&str>) -> Result<Option<DateTime<Utc>>, ApiError> {
    text.map(|text| {
        DateTime::parse_from_rfc3339(text.trim())
            .map(|time| time.to_utc())
            .map_err(|_| {
                ApiError::invalid(
                    field,
                    format!("{text:?} is not an RFC 3339 time such as 2026-12-01T09:00:00+07:00"),
                )
            })
    })
    .transpose()
}

fn parse_status(code: &str) -> Result<ReferralStatus, ApiError> {
    ReferralStatus::parse(code).ok_or_else(|| {
        let known: Vec<&str> = ReferralStatus::ALL.map(ReferralStatus::as_str).to_vec();
        ApiError::invalid(
            "status",
            format!("{code:?} is not a referral status (one of: {})", known.join(", ")),
        )
    })
}

fn parse_limit(text: Option<&str>) -> Result<i64, ApiError> {
    let limit = text
        .map(|text| {
            text.parse::<i64>()
                .map_err(|_| ApiError::invalid("limit", format!("{text:?} is not a number")))
        })
        .transpose()?;
    match limit {
        // An explicit 0 is a mistake here; only an absent limit means the default.
        Some(0) => Err(ApiError::invalid("limit", "must be between 1 and 500, found 0")),
        limit => page_size("limit", limit),
    }
}

fn parse_after(text: Option<&str>) -> Result<Option<Uuid>, ApiError> {
    text.map(|text| {
        Uuid::parse_str(text)
            .map_err(|_| ApiError::invalid("after", format!("{text:?} is not the next_after of a page")))
    })
    .transpose()
}
