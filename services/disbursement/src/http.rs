//! Disbursement's HTTP API for finance officers, supervisors and auditors: payment batches
//! (prepared by one person, released by another), payments by case or beneficiary, an
//! entitlement with its payments, and payment totals. Handlers are thin: parse, query, map
//! errors through the shared code table.

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use slrt_errors::{ApiError, ErrorBody};
use utoipa::OpenApi;
use uuid::Uuid;

use crate::app::Disbursement;
use crate::app::batches::{BatchPaymentView, BatchView};
use crate::app::payments::{
    self, EntitlementView, PaidAfterDeath, PaymentQuery, PaymentView, PaymentsReport, PeriodOutcomes, ReportQuery,
    StatusTotal, Totals,
};
use crate::app::reconcile::{ChangeView, DifferenceView, ReconciliationView, TotalView};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "SLRT disbursement",
        description = "Entitlements opened from accepted cash referrals, and the payment of each period under a \
                       deterministic key (programme:period:beneficiary:component) that no second payment can carry."
    ),
    paths(
        list_payments,
        get_entitlement,
        payments_report,
        paid_after_death,
        prepare_batch,
        release_batch,
        get_batch,
        list_batches,
        reconcile_with_bank,
        reconcile_with_file,
        order_follow_up
    ),
    components(schemas(
        ReconciliationView,
        ChangeView,
        DifferenceView,
        TotalView,
        FollowUpBody,
        FollowUpOrdered,
        BatchView,
        BatchPaymentView,
        BatchList,
        PrepareBatchBody,
        ReleaseBatchBody,
        PaymentList,
        PaymentView,
        EntitlementView,
        PaymentsReport,
        PeriodOutcomes,
        PaidAfterDeath,
        PaidAfterDeathList,
        StatusTotal,
        Totals,
        ErrorBody
    ))
)]
pub struct ApiDoc;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/payments", web::get().to(list_payments))
        .route("/v1/entitlements/{entitlement_id}", web::get().to(get_entitlement))
        .route("/v1/reports/payments", web::get().to(payments_report))
        .route("/v1/reports/paid-after-death", web::get().to(paid_after_death))
        .route("/v1/batches", web::post().to(prepare_batch))
        .route("/v1/batches", web::get().to(list_batches))
        .route("/v1/batches/{batch_id}", web::get().to(get_batch))
        .route("/v1/batches/{batch_id}/release", web::post().to(release_batch))
        .route("/v1/batches/{batch_id}/reconcile", web::post().to(reconcile_with_bank))
        .route(
            "/v1/batches/{batch_id}/reconcile-file",
            web::post().to(reconcile_with_file),
        )
        .route("/v1/payments/follow-up", web::post().to(order_follow_up));
}

/// Reconciles a released batch with the statement the paying bank gives over gRPC: records
/// what it changes (reversals, unknown outcomes the bank settled), lists what a person must
/// look at, and says whether both sides' totals per status agree.
#[utoipa::path(
    post,
    path = "/v1/batches/{batch_id}/reconcile",
    params(("batch_id" = String, Path, description = "e.g. PKH:2026-Q4:1")),
    responses(
        (status = 200, description = "The reconciliation", body = ReconciliationView),
        (status = 400, description = "A malformed batch id", body = ErrorBody),
        (status = 404, description = "No such batch", body = ErrorBody),
        (status = 422, description = "The batch is not released", body = ErrorBody),
        (status = 503, description = "The bank did not give its statement", body = ErrorBody),
    )
)]
async fn reconcile_with_bank(
    disbursement: web::Data<Disbursement>,
    batch_id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(disbursement.reconcile_with_bank(&batch_id.into_inner()).await?))
}

/// Reconciles a released batch with a statement file from the bank (the request body, CSV
/// with the header `idempotency_key,bank_reference,batch_id,amount_idr,status,reason,at,attempt`).
/// A malformed file is refused naming the line, and changes nothing.
#[utoipa::path(
    post,
    path = "/v1/batches/{batch_id}/reconcile-file",
    params(("batch_id" = String, Path, description = "e.g. PKH:2026-Q4:1")),
    request_body(content = String, content_type = "text/csv"),
    responses(
        (status = 200, description = "The reconciliation", body = ReconciliationView),
        (status = 400, description = "A malformed file; the error names the line", body = ErrorBody, example = json!({
            "error": {"code": "invalid_input", "field": "file", "message": "line 3: status \"PAID\" is not SETTLED, FAILED or REVERSED"}
        })),
        (status = 404, description = "No such batch", body = ErrorBody),
        (status = 422, description = "The batch is not released", body = ErrorBody),
    )
)]
async fn reconcile_with_file(
    disbursement: web::Data<Disbursement>,
    batch_id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(disbursement.reconcile_with_file(&batch_id.into_inner(), &body).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[schema(example = json!({"payment_key": "PKH:2026-Q4:hh-3375-0042:child_0_6", "actor": "finance.dinsos", "reason": "account corrected by the beneficiary"}))]
pub struct FollowUpBody {
    #[serde(default)]
    pub payment_key: String,
    #[serde(default)]
    pub actor: String,
    #[serde(default)]
    pub reason: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FollowUpOrdered {
    pub payment_key: String,
    /// The attempt the sender pays next, under the same key.
    pub next_attempt: i32,
}

/// Orders a follow-up payment for a failed or reversed payment: paid again under its
/// original key, as the next attempt. Never a new key.
#[utoipa::path(
    post,
    path = "/v1/payments/follow-up",
    request_body = FollowUpBody,
    responses(
        (status = 200, description = "The follow-up is on the sender's list", body = FollowUpOrdered),
        (status = 400, description = "A missing actor or reason", body = ErrorBody),
        (status = 404, description = "No such payment", body = ErrorBody),
        (status = 422, description = "The payment is not failed or reversed", body = ErrorBody),
    )
)]
async fn order_follow_up(
    disbursement: web::Data<Disbursement>,
    body: web::Json<FollowUpBody>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let next_attempt = disbursement
        .order_follow_up(&body.payment_key, &body.actor, &body.reason)
        .await?;
    Ok(HttpResponse::Ok().json(FollowUpOrdered {
        payment_key: body.payment_key,
        next_attempt,
    }))
}

/// What a maker asks to batch.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[schema(example = json!({"programme_code": "PKH", "period": "2026-Q4", "prepared_by": "maker.dinsos"}))]
pub struct PrepareBatchBody {
    #[serde(default)]
    pub programme_code: String,
    /// `2026-11` (monthly), `2026-Q4` (quarterly), `2026` (yearly) or `once`.
    #[serde(default)]
    pub period: String,
    /// The finance officer preparing the batch (the maker).
    #[serde(default)]
    pub prepared_by: String,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[schema(example = json!({"released_by": "checker.dinsos"}))]
pub struct ReleaseBatchBody {
    /// The officer releasing it (the checker); never the one who prepared it.
    #[serde(default)]
    pub released_by: String,
}

/// The batches of a programme and period, in sequence.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct BatchList {
    pub batches: Vec<BatchView>,
}

/// Prepares the next payment batch of a programme and period (the maker's step). First the
/// period's payment of every entitlement due in it is instructed under its deterministic key
/// (recurring stages and months), then every instructed payment of that programme and period
/// that is in no batch yet goes into the batch. Nothing is paid until a second person
/// releases it.
#[utoipa::path(
    post,
    path = "/v1/batches",
    request_body = PrepareBatchBody,
    responses(
        (status = 201, description = "The new batch", body = BatchView),
        (status = 400, description = "A bad programme, period or a missing actor; the error names it", body = ErrorBody),
        (status = 422, description = "Nothing left to batch for the programme and period", body = ErrorBody, example = json!({
            "error": {"code": "rejected", "message": "there is nothing to pay for PKH 2026-Q4: every instructed payment is in a batch already"}
        })),
    )
)]
async fn prepare_batch(
    disbursement: web::Data<Disbursement>,
    body: web::Json<PrepareBatchBody>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let batch = disbursement
        .prepare_batch(&body.programme_code, &body.period, &body.prepared_by)
        .await?;
    Ok(HttpResponse::Created().json(batch))
}

/// Releases a prepared batch (the checker's step), after the release-time check with
/// eligibility for every beneficiary in it: payable payments are released to be sent to the
/// bank, the others are held with their reasons. The maker cannot release their own batch.
#[utoipa::path(
    post,
    path = "/v1/batches/{batch_id}/release",
    params(("batch_id" = String, Path, description = "e.g. PKH:2026-Q4:1")),
    request_body = ReleaseBatchBody,
    responses(
        (status = 200, description = "The batch, released (also when it already was)", body = BatchView),
        (status = 400, description = "A malformed batch id or a missing actor", body = ErrorBody),
        (status = 404, description = "No such batch", body = ErrorBody),
        (status = 422, description = "The maker tried to release their own batch", body = ErrorBody, example = json!({
            "error": {"code": "rejected", "field": "released_by",
                      "message": "batch PKH:2026-Q4:1 was prepared by maker.dinsos; a second person must release it"}
        })),
        (status = 503, description = "Eligibility did not answer the release check; try again", body = ErrorBody),
    )
)]
async fn release_batch(
    disbursement: web::Data<Disbursement>,
    batch_id: web::Path<String>,
    body: web::Json<ReleaseBatchBody>,
) -> Result<HttpResponse, ApiError> {
    let batch = disbursement
        .release_batch(&batch_id.into_inner(), &body.released_by)
        .await?;
    Ok(HttpResponse::Ok().json(batch))
}

/// One batch with its payments.
#[utoipa::path(
    get,
    path = "/v1/batches/{batch_id}",
    params(("batch_id" = String, Path, description = "e.g. PKH:2026-Q4:1")),
    responses(
        (status = 200, description = "The batch", body = BatchView),
        (status = 400, description = "A malformed batch id", body = ErrorBody),
        (status = 404, description = "No such batch", body = ErrorBody),
    )
)]
async fn get_batch(
    disbursement: web::Data<Disbursement>,
    batch_id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(disbursement.batch(&batch_id.into_inner()).await?))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct BatchesParams {
    #[param(example = "PKH")]
    pub programme: Option<String>,
    #[param(example = "2026-Q4")]
    pub period: Option<String>,
}

/// The batches of a programme and period.
#[utoipa::path(
    get,
    path = "/v1/batches",
    params(BatchesParams),
    responses(
        (status = 200, description = "In sequence", body = BatchList),
        (status = 400, description = "A missing or malformed programme or period", body = ErrorBody),
    )
)]
async fn list_batches(
    disbursement: web::Data<Disbursement>,
    query: web::Query<BatchesParams>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    let programme = query
        .programme
        .ok_or_else(|| ApiError::invalid("programme", "is required"))?;
    let period = query.period.ok_or_else(|| ApiError::invalid("period", "is required"))?;
    let batches = disbursement.batches_of(&programme, &period).await?;
    Ok(HttpResponse::Ok().json(BatchList { batches }))
}

/// Whose payments: give exactly one.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PaymentsParams {
    /// The case the payments belong to (UUID).
    #[param(example = "01936f1e-7c1a-7b3e-9d5a-3f2b8c4d5e6f")]
    pub case_id: Option<String>,
    /// Registry id of the household or person paid.
    #[param(example = "hh-3375-0042")]
    pub beneficiary_id: Option<String>,
}

/// Payments, oldest first.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PaymentList {
    pub payments: Vec<PaymentView>,
}

/// Payments of a case or a beneficiary.
///
/// Every payment decided so far: `instructed` (sent on to the bank) or `held` (due, but the
/// beneficiary was not payable at the release check; the reasons say why).
#[utoipa::path(
    get,
    path = "/v1/payments",
    params(PaymentsParams),
    responses(
        (status = 200, description = "The payments, oldest first", body = PaymentList, example = json!({
            "payments": [{
                "payment_id": "01936f1e-9a00-7c3e-8d5a-3f2b8c4d5e71",
                "payment_key": "PKH:2026-Q4:hh-3375-0042:child_0_6",
                "entitlement_id": "01936f1e-9a00-7c3e-8d5a-3f2b8c4d5e70",
                "case_id": "01936f1e-7c1a-7b3e-9d5a-3f2b8c4d5e6f",
                "programme_code": "PKH", "period": "2026-Q4", "beneficiary_id": "hh-3375-0042",
                "component": "child_0_6", "amount_idr": 750000, "status": "instructed", "hold_reasons": [],
                "created_at": "2026-11-23T02:15:00Z"
            }]
        })),
        (status = 400, description = "Neither or both selectors, or a malformed one; the error names the field",
            body = ErrorBody, example = json!({
                "error": {"code": "invalid_input", "message": "exactly one of case_id or beneficiary_id is required",
                          "field": "case_id"}
            })),
    )
)]
async fn list_payments(
    disbursement: web::Data<Disbursement>,
    params: web::Query<PaymentsParams>,
) -> Result<HttpResponse, ApiError> {
    let query = PaymentQuery::parse(params.case_id.as_deref(), params.beneficiary_id.as_deref())?;
    let payments = payments::list_payments(&disbursement.pool, &query)
        .await
        .map_err(ApiError::unavailable)?;
    Ok(HttpResponse::Ok().json(PaymentList { payments }))
}

/// An entitlement with every payment decided under it.
#[utoipa::path(
    get,
    path = "/v1/entitlements/{entitlement_id}",
    params(("entitlement_id" = String, Path, description = "Entitlement id (UUID)",
            example = "01936f1e-9a00-7c3e-8d5a-3f2b8c4d5e70")),
    responses(
        (status = 200, description = "The entitlement", body = EntitlementView, example = json!({
            "entitlement_id": "01936f1e-9a00-7c3e-8d5a-3f2b8c4d5e70",
            "referral_id": "01936f1e-8b00-7c3e-8d5a-3f2b8c4d5e60",
            "case_id": "01936f1e-7c1a-7b3e-9d5a-3f2b8c4d5e6f",
            "programme_code": "PKH", "beneficiary_id": "hh-3375-0042", "beneficiary_name": "Siti Aminah",
            "component": "child_0_6", "amount_per_period_idr": 750000, "cadence": "quarterly",
            "first_period": "2026-Q4", "created_at": "2026-11-23T02:15:00Z",
            "payments": [{
                "payment_id": "01936f1e-9a00-7c3e-8d5a-3f2b8c4d5e71",
                "payment_key": "PKH:2026-Q4:hh-3375-0042:child_0_6",
                "entitlement_id": "01936f1e-9a00-7c3e-8d5a-3f2b8c4d5e70",
                "case_id": "01936f1e-7c1a-7b3e-9d5a-3f2b8c4d5e6f",
                "programme_code": "PKH", "period": "2026-Q4", "beneficiary_id": "hh-3375-0042",
                "component": "child_0_6", "amount_idr": 750000, "status": "held",
                "hold_reasons": ["beneficiary deceased"], "created_at": "2026-11-23T02:15:00Z"
            }]
        })),
        (status = 400, description = "The id is not a UUID", body = ErrorBody, example = json!({
            "error": {"code": "invalid_input", "message": "\"42\" is not a UUID", "field": "entitlement_id"}
        })),
        (status = 404, description = "No such entitlement", body = ErrorBody),
    )
)]
async fn get_entitlement(
    disbursement: web::Data<Disbursement>,
    entitlement_id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let text = entitlement_id.into_inner();
    let entitlement_id = Uuid::parse_str(&text).map_err(|_| {
        let shown: String = text.chars().take(64).collect();
        ApiError::invalid("entitlement_id", format!("{shown:?} is not a UUID"))
    })?;
    match payments::find_entitlement(&disbursement.pool, entitlement_id)
        .await
        .map_err(ApiError::unavailable)?
    {
        Some(entitlement) => Ok(HttpResponse::Ok().json(entitlement)),
        None => Err(ApiError::not_found(format!("no entitlement {entitlement_id}"))),
    }
}

/// Which payments to total; both optional.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReportParams {
    /// Programme code; all programmes when absent.
    #[param(example = "PKH")]
    pub programme: Option<String>,
    /// Payment period (`2026-11`, `2026-Q4`, `2026` or `once`); all periods when absent.
    #[param(example = "2026-Q4")]
    pub period: Option<String>,
}

/// Payment totals by status and by stage.
///
/// How many payments were instructed and held, and for how much, for a programme and period;
/// and where they stand on their way to the beneficiary: batched or not, held at release,
/// sent, paid, failed, reversed, or of unknown outcome.
#[utoipa::path(
    get,
    path = "/v1/reports/payments",
    params(ReportParams),
    responses(
        (status = 200, description = "Counts and amounts by status", body = PaymentsReport, example = json!({
            "programme": "PKH", "period": "2026-Q4",
            "by_status": [
                {"status": "instructed", "count": 12, "amount_idr": 9000000},
                {"status": "held", "count": 1, "amount_idr": 750000}
            ],
            "by_stage": [
                {"status": "held", "count": 1, "amount_idr": 750000},
                {"status": "unbatched", "count": 0, "amount_idr": 0},
                {"status": "awaiting_release", "count": 0, "amount_idr": 0},
                {"status": "held_at_release", "count": 1, "amount_idr": 750000},
                {"status": "released", "count": 0, "amount_idr": 0},
                {"status": "sending", "count": 0, "amount_idr": 0},
                {"status": "paid", "count": 10, "amount_idr": 7500000},
                {"status": "failed", "count": 1, "amount_idr": 750000},
                {"status": "reversed", "count": 0, "amount_idr": 0},
                {"status": "unknown", "count": 0, "amount_idr": 0}
            ],
            "total": {"count": 13, "amount_idr": 9750000}
        })),
        (status = 400, description = "A malformed filter; the error names it", body = ErrorBody, example = json!({
            "error": {"code": "invalid_input",
                      "message": "\"2026-4\" is not a payment period: use YYYY-MM, YYYY-Qn, YYYY or once",
                      "field": "period"}
        })),
    )
)]
async fn payments_report(
    disbursement: web::Data<Disbursement>,
    params: web::Query<ReportParams>,
) -> Result<HttpResponse, ApiError> {
    let query = ReportQuery::parse(params.programme.as_deref(), params.period.as_deref())?;
    let report = payments::payments_report(&disbursement.pool, &query)
        .await
        .map_err(ApiError::unavailable)?;
    Ok(HttpResponse::Ok().json(report))
}

/// The paid-after-death audit list.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PaidAfterDeathList {
    /// Empty in a healthy system.
    pub payments: Vec<PaidAfterDeath>,
}

/// Every payment settled (or sent, outcome unknown) after a confirmed date of death of its
/// payee: paid to the dead person, or to their household while they were still its payee
/// (no head change recorded before it was sent). Each row names the payment key, the death
/// and why it counts. Empty in a healthy system.
#[utoipa::path(
    get,
    path = "/v1/reports/paid-after-death",
    responses(
        (status = 200, description = "The payments, oldest death first", body = PaidAfterDeathList, example = json!({
            "payments": [{
                "payment_key": "PKH:2026-Q4:hh-3375-0042:child_0_6",
                "case_id": "01936f1e-7c1a-7b3e-9d5a-3f2b8c4d5e6f", "amount_idr": 750000,
                "bank_status": "settled", "sent_at": "2026-11-23T03:00:00Z", "settled_at": "2026-11-23T03:00:01Z",
                "payee_name": "Darto", "person_id": "p-3375-0042-1", "household_id": "hh-3375-0042",
                "date_of_death": "2026-11-20", "was_head": true, "certificate_reference": "AKTA-3375-2026-001",
                "death_recorded_at": "2026-11-25T01:00:00Z", "why": "paid_to_household_of_deceased_payee"
            }]
        })),
    )
)]
async fn paid_after_death(disbursement: web::Data<Disbursement>) -> Result<HttpResponse, ApiError> {
    let payments = payments::paid_after_death(&disbursement.pool)
        .await
        .map_err(ApiError::unavailable)?;
    Ok(HttpResponse::Ok().json(PaidAfterDeathList { payments }))
}
