//! The supervisors' HTTP API: referrals by agency and status, one referral, and the needs no
//! rule routes. Read-only: agencies act over gRPC. Handlers are thin: parse, query, map
//! errors through the shared code table.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use slrt_errors::{ApiError, ErrorBody};
use utoipa::OpenApi;
use uuid::Uuid;

use crate::app::{Referrals, page_size};
use crate::domain::{OpdCode, ReferralStatus};
use crate::projections::{self, ReferralFilter, ReferralRecord, UnroutedRecord};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "SLRT referral",
        description = "Referrals of decided needs to the responsible regional agency (OPD), as supervisors see \
                       them: where each referral stands, and which approved needs no rule routes. Agencies \
                       receive and act on referrals over gRPC (slrt.referral.v1.OpdReferralService)."
    ),
    paths(list_referrals, get_referral, list_unrouted),
    components(schemas(
        ReferralView,
        ClientView,
        BenefitView,
        ReferralPage,
        UnroutedNeedView,
        UnroutedPage,
        ErrorBody
    ))
)]
pub struct ApiDoc;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/referrals", web::get().to(list_referrals))
        .route("/v1/referrals/{referral_id}", web::get().to(get_referral))
        .route("/v1/unrouted", web::get().to(list_unrouted));
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
    "created_at": "2026-11-22T03:14:07Z", "updated_at": "2026-11-23T01:02:03Z"
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

impl From<ReferralRecord> for ReferralView {
    fn from(record: ReferralRecord) -> Self {
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
        }
    }
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
    /// What was looked for, so the routing table or the need can be fixed.
    pub reason: String,
    pub at: DateTime<Utc>,
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
    /// Only referrals in this status: requested, acknowledged, accepted, rejected, completed.
    pub status: Option<String>,
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
    referrals: web::Data<Referrals>,
    query: web::Query<ListReferralsQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    // Only the form of the code is checked: referrals routed under an earlier routing table
    // may name an agency the current table no longer lists.
    let opd_code = query
        .opd
        .map(|code| {
            OpdCode::parse(&code)
                .map(|code| code.to_string())
                .map_err(|e| ApiError::invalid("opd", e.to_string()))
        })
        .transpose()?;
    let status = query.status.map(|code| parse_status(&code)).transpose()?;
    let limit = parse_limit(query.limit.as_deref())?;
    let after = parse_after(query.after.as_deref())?;
    let filter = ReferralFilter {
        opd_code,
        status,
        after,
        limit,
    };
    let page = projections::list(&referrals.pool, &filter)
        .await
        .map_err(ApiError::unavailable)?;
    let next_after = (page.len() as i64 == limit)
        .then(|| page.last().map(|r| r.referral_id))
        .flatten();
    Ok(HttpResponse::Ok().json(ReferralPage {
        referrals: page.into_iter().map(ReferralView::from).collect(),
        next_after,
    }))
}

/// One referral.
#[utoipa::path(
    get,
    path = "/v1/referrals/{referral_id}",
    params(("referral_id" = Uuid, Path, description = "The referral's id")),
    responses(
        (status = 200, description = "The referral", body = ReferralView),
        (status = 400, description = "Not a referral id", body = ErrorBody),
        (status = 404, description = "No such referral", body = ErrorBody),
    )
)]
async fn get_referral(
    referrals: web::Data<Referrals>,
    referral_id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let text = referral_id.into_inner();
    let referral_id = Uuid::parse_str(&text)
        .map_err(|_| ApiError::invalid("referral_id", format!("{text:?} is not a referral id (a UUID)")))?;
    match projections::find(&referrals.pool, referral_id)
        .await
        .map_err(ApiError::unavailable)?
    {
        Some(record) => Ok(HttpResponse::Ok().json(ReferralView::from(record))),
        None => Err(ApiError::not_found(format!("referral {referral_id} not found"))),
    }
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
    referrals: web::Data<Referrals>,
    query: web::Query<ListUnroutedQuery>,
) -> Result<HttpResponse, ApiError> {
    let limit = parse_limit(query.limit.as_deref())?;
    let after = parse_after(query.after.as_deref())?;
    let page = projections::list_unrouted(&referrals.pool, after, limit)
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
