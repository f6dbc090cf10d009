//! Disbursement's HTTP API for finance officers, supervisors and auditors: payment batches
//! (prepared by one person, released by another), payments by case or beneficiary, an
//! entitlement with its payments, and payment totals. Every route takes the caller's token
//! ([`Access`]); who may use which, and within which area, is in [`crate::access`]. Handlers
//! are thin: check the role, parse, call the use case or query, audit the read, map errors
//! through the shared code table.

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use slrt_audit::Outcome;
use slrt_audit::access::Access;
use slrt_auth::Role;
use slrt_errors::{ApiError, ErrorBody};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use uuid::Uuid;

use crate::access::{
    CHECKERS, DEATH_REPORT_READERS, FOLLOW_UPS, MAKERS, READERS, area_scope, require_reconciler, require_regency_wide,
};
use crate::app::Disbursement;
use crate::app::batches::{BatchPaymentView, BatchSummary, BatchView, ItemPage, Shown};
use crate::app::payments::{
    self, DeathCursor, EntitlementView, PaidAfterDeath, PaymentQuery, PaymentView, PaymentsReport, PeriodOutcomes,
    ReportQuery, StatusTotal, Totals,
};
use crate::app::reconcile::{ChangeView, DifferenceView, ReconciliationView, TotalView};
use crate::app::scope::{Concerned, Scope, page_limit};
use crate::domain::PaymentKey;

/// The agency code the paying bank's own system carries (`SLRT_DISBURSEMENT_PAYING_BANK`).
#[derive(Debug, Clone)]
pub struct PayingBank(pub String);

/// Every route but the operators' (`/healthz`, `/readyz`, `/metrics`, the docs) takes a
/// bearer token.
struct BearerToken;

impl Modify for BearerToken {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "A token of the regency's identity provider: `sub`, `roles`, and `region` (area roles) or \
                         `opd` (the paying bank's system, role data_feed)",
                    ))
                    .build(),
            ),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "SLRT disbursement",
        description = "Entitlements opened from accepted cash referrals, and the payment of each period under a \
                       deterministic key (programme:period:beneficiary:component) that no second payment can carry. \
                       Every route needs a bearer token; payments are shown within the caller's area, and every \
                       read and change of them is audited (the auditors' routes are /v1/audit*)."
    ),
    modifiers(&BearerToken),
    security(("bearer" = [])),
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
        BatchSummary,
        BatchPaymentView,
        BatchList,
        PrepareBatchBody,
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

/// The batch id as the path gives it, cut short in messages.
fn shown_id(text: &str) -> String {
    text.chars().take(64).collect()
}

/// Reconciles a released batch with the statement the paying bank gives over gRPC: records
/// what it changes (reversals, unknown outcomes the bank settled), lists what a person must
/// look at, and says whether both sides' totals per status agree. For the regency's back
/// office, or the paying bank's own system (`data_feed` whose `opd` is the paying bank).
#[utoipa::path(
    post,
    path = "/v1/batches/{batch_id}/reconcile",
    params(("batch_id" = String, Path, description = "e.g. PKH:2026-Q4:1")),
    responses(
        (status = 200, description = "The reconciliation", body = ReconciliationView),
        (status = 400, description = "A malformed batch id", body = ErrorBody),
        (status = 401, description = "No valid bearer token", body = ErrorBody),
        (status = 403, description = "Not the regency's back office, or another bank's system", body = ErrorBody),
        (status = 404, description = "No such batch", body = ErrorBody),
        (status = 422, description = "The batch is not released", body = ErrorBody),
        (status = 503, description = "The bank did not give its statement", body = ErrorBody),
    )
)]
async fn reconcile_with_bank(
    access: Access,
    disbursement: web::Data<Disbursement>,
    paying_bank: web::Data<PayingBank>,
    batch_id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let batch_id = batch_id.into_inner();
    require_reconciler(&access, &paying_bank.0, &disbursement.pool, &shown_id(&batch_id)).await?;
    Ok(HttpResponse::Ok().json(disbursement.reconcile_with_bank(&access, &batch_id).await?))
}

/// Reconciles a released batch with a statement file from the bank (the request body, CSV
/// with the header `idempotency_key,bank_reference,batch_id,amount_idr,status,reason,at,attempt`).
/// A malformed file is refused naming the line, and changes nothing. For the regency's back
/// office, or the paying bank's own system.
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
        (status = 401, description = "No valid bearer token", body = ErrorBody),
        (status = 403, description = "Not the regency's back office, or another bank's system", body = ErrorBody, example = json!({
            "error": {"code": "forbidden", "message": "BANK-DKI is not the paying bank (BANK-JATENG); only its statement reconciles our batches"}
        })),
        (status = 404, description = "No such batch", body = ErrorBody),
        (status = 422, description = "The batch is not released", body = ErrorBody),
    )
)]
async fn reconcile_with_file(
    access: Access,
    disbursement: web::Data<Disbursement>,
    paying_bank: web::Data<PayingBank>,
    batch_id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let batch_id = batch_id.into_inner();
    require_reconciler(&access, &paying_bank.0, &disbursement.pool, &shown_id(&batch_id)).await?;
    Ok(HttpResponse::Ok().json(disbursement.reconcile_with_file(&access, &batch_id, &body).await?))
}

/// A failed or reversed payment to pay again. The person ordering it is the caller the token
/// names; a body naming an `actor` is refused.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"payment_key": "PKH:2026-Q4:hh-3375-0042:child_0_6", "reason": "account corrected by the beneficiary"}))]
pub struct FollowUpBody {
    #[serde(default)]
    pub payment_key: String,
    /// Why; required, at most 500 characters.
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
/// original key, as the next attempt. Never a new key. Back office and coordinators, for
/// payments of their area.
#[utoipa::path(
    post,
    path = "/v1/payments/follow-up",
    request_body = FollowUpBody,
    responses(
        (status = 200, description = "The follow-up is on the sender's list", body = FollowUpOrdered),
        (status = 400, description = "A missing or too long key or reason, or a field that is not accepted (e.g. actor)", body = ErrorBody),
        (status = 401, description = "No valid bearer token", body = ErrorBody),
        (status = 403, description = "Neither back office nor coordinator", body = ErrorBody),
        (status = 404, description = "No such payment in the caller's area", body = ErrorBody),
        (status = 422, description = "The payment is not failed or reversed", body = ErrorBody),
    )
)]
async fn order_follow_up(
    access: Access,
    disbursement: web::Data<Disbursement>,
    body: slrt_errors::Json<FollowUpBody>,
) -> Result<HttpResponse, ApiError> {
    access.require(FOLLOW_UPS, "ordering a follow-up payment")?;
    let body = body.into_inner();
    let next_attempt = disbursement
        .order_follow_up(&access, &area_scope(&access), &body.payment_key, &body.reason)
        .await?;
    Ok(HttpResponse::Ok().json(FollowUpOrdered {
        payment_key: body.payment_key.trim().to_owned(),
        next_attempt,
    }))
}

/// What a maker asks to batch. The maker is the caller the token names; a body naming a
/// `prepared_by` is refused.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"programme_code": "PKH", "period": "2026-Q4"}))]
pub struct PrepareBatchBody {
    #[serde(default)]
    pub programme_code: String,
    /// `2026-11` (monthly), `2026-Q4` (quarterly), `2026` (yearly) or `once`.
    #[serde(default)]
    pub period: String,
}

/// Which page of a batch's payments to show.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct BatchPageParams {
    /// Payments per page, 1 to 1000 (default 100).
    pub limit: Option<String>,
    /// The `next_after` of the previous page (a payment key).
    pub after: Option<String>,
}

impl BatchPageParams {
    fn page(&self) -> Result<ItemPage, ApiError> {
        let limit = page_limit(self.limit.as_deref())?;
        let after = self
            .after
            .as_deref()
            .map(|text| {
                PaymentKey::parse(text.trim()).map(|key| key.to_string()).map_err(|_| {
                    ApiError::invalid(
                        "after",
                        format!("{:?} is not the next_after of a page (a payment key)", shown_id(text)),
                    )
                })
            })
            .transpose()?;
        Ok(ItemPage { limit, after })
    }
}

/// The batches of a programme and period, in sequence (totals only).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct BatchList {
    pub batches: Vec<BatchSummary>,
    /// Pass as `after` for the next page; absent on the last.
    pub next_after: Option<i32>,
}

/// Prepares the next payment batch of a programme and period (the maker's step). First the
/// period's payment of every entitlement due in it is instructed under its deterministic key
/// (recurring stages and months), then every instructed payment of that programme and period
/// that is in no batch yet goes into the batch. Nothing is paid until a second person
/// releases it. The regency's back office only; the maker is the caller. Answers the
/// batch's totals and the first page of its payments.
#[utoipa::path(
    post,
    path = "/v1/batches",
    params(BatchPageParams),
    request_body = PrepareBatchBody,
    responses(
        (status = 201, description = "The new batch", body = BatchView),
        (status = 400, description = "A bad programme, period or page, or a field that is not accepted (e.g. prepared_by); the error names it", body = ErrorBody),
        (status = 401, description = "No valid bearer token", body = ErrorBody),
        (status = 403, description = "Not back office, or not of the whole regency", body = ErrorBody),
        (status = 422, description = "Nothing left to batch for the programme and period", body = ErrorBody, example = json!({
            "error": {"code": "rejected", "message": "there is nothing to pay for PKH 2026-Q4: every instructed payment is in a batch already"}
        })),
    )
)]
async fn prepare_batch(
    access: Access,
    disbursement: web::Data<Disbursement>,
    params: web::Query<BatchPageParams>,
    body: slrt_errors::Json<PrepareBatchBody>,
) -> Result<HttpResponse, ApiError> {
    access.require(MAKERS, "preparing a payment batch")?;
    require_regency_wide(&access, "preparing a payment batch")?;
    let page = params.page()?;
    let scope = area_scope(&access);
    let body = body.into_inner();
    let batch = disbursement
        .prepare_batch(
            &access,
            &body.programme_code,
            &body.period,
            Shown {
                scope: &scope,
                page: &page,
            },
        )
        .await?;
    Ok(HttpResponse::Created().json(batch))
}

/// Fields a client may still send from before tokens named the checker: refused by name, so
/// that nobody believes the body chose who released.
fn refuse_body_fields(body: &[u8]) -> Result<(), ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(());
    }
    match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(serde_json::Value::Null) => Ok(()),
        Ok(serde_json::Value::Object(fields)) => match fields.keys().next() {
            None => Ok(()),
            Some(field) => Err(ApiError::invalid(
                field.chars().take(64).collect::<String>(),
                "not accepted: the checker is the person the bearer token names, and a release takes no fields",
            )),
        },
        _ => Err(ApiError::invalid("body", "must be empty or an empty JSON object")),
    }
}

/// Releases a prepared batch (the checker's step), after the release-time check with
/// eligibility for every beneficiary in it: payable payments are released to be sent to the
/// bank, the others are held with their reasons. The regency's coordinators only; the
/// checker is the caller, and never the person who prepared the batch. The body is empty.
#[utoipa::path(
    post,
    path = "/v1/batches/{batch_id}/release",
    params(("batch_id" = String, Path, description = "e.g. PKH:2026-Q4:1"), BatchPageParams),
    responses(
        (status = 200, description = "The batch, released (also when it already was)", body = BatchView),
        (status = 400, description = "A malformed batch id or page, or a body with fields (e.g. released_by)", body = ErrorBody),
        (status = 401, description = "No valid bearer token", body = ErrorBody),
        (status = 403, description = "Not a coordinator, or not of the whole regency", body = ErrorBody),
        (status = 404, description = "No such batch", body = ErrorBody),
        (status = 422, description = "The maker tried to release their own batch", body = ErrorBody, example = json!({
            "error": {"code": "rejected",
                      "message": "batch PKH:2026-Q4:1 was prepared by bo-pekalongan-1; a second person must release it"}
        })),
        (status = 503, description = "Eligibility did not answer the release check; try again", body = ErrorBody),
    )
)]
async fn release_batch(
    access: Access,
    disbursement: web::Data<Disbursement>,
    batch_id: web::Path<String>,
    params: web::Query<BatchPageParams>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    access.require(CHECKERS, "releasing a payment batch")?;
    require_regency_wide(&access, "releasing a payment batch")?;
    refuse_body_fields(&body)?;
    let page = params.page()?;
    let scope = area_scope(&access);
    let batch = disbursement
        .release_batch(
            &access,
            &batch_id.into_inner(),
            Shown {
                scope: &scope,
                page: &page,
            },
        )
        .await?;
    Ok(HttpResponse::Ok().json(batch))
}

/// One batch: its totals (the whole batch's) and a page of its payments within the caller's
/// area, in key order.
#[utoipa::path(
    get,
    path = "/v1/batches/{batch_id}",
    params(("batch_id" = String, Path, description = "e.g. PKH:2026-Q4:1"), BatchPageParams),
    responses(
        (status = 200, description = "The batch", body = BatchView),
        (status = 400, description = "A malformed batch id, limit or after", body = ErrorBody, example = json!({
            "error": {"code": "invalid_input", "field": "limit", "message": "\"5000\" is not a page size: a whole number from 1 to 1000"}
        })),
        (status = 401, description = "No valid bearer token", body = ErrorBody),
        (status = 403, description = "Not back office, coordinator or supervisor", body = ErrorBody),
        (status = 404, description = "No such batch", body = ErrorBody),
    )
)]
async fn get_batch(
    access: Access,
    disbursement: web::Data<Disbursement>,
    batch_id: web::Path<String>,
    params: web::Query<BatchPageParams>,
) -> Result<HttpResponse, ApiError> {
    access.require(READERS, "reading a payment batch")?;
    let page = params.page()?;
    let scope = area_scope(&access);
    let (view, concerned) = disbursement
        .batch(
            &batch_id.into_inner(),
            &Shown {
                scope: &scope,
                page: &page,
            },
        )
        .await?;
    access
        .audit(
            &disbursement.pool,
            "batch.read",
            format!("batch/{}", view.batch.batch_id),
            concerned.nik_tokens.clone(),
            Outcome::Allowed,
            concerned.detail(serde_json::json!({ "shown": view.payments.len(), "after": page.after })),
        )
        .await?;
    Ok(HttpResponse::Ok().json(view))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct BatchesParams {
    #[param(example = "PKH")]
    pub programme: Option<String>,
    #[param(example = "2026-Q4")]
    pub period: Option<String>,
    /// Batches per page, 1 to 1000 (default 100).
    pub limit: Option<String>,
    /// The `next_after` of the previous page (a sequence number).
    pub after: Option<String>,
}

/// The batches of a programme and period, in sequence: totals only, no payments.
#[utoipa::path(
    get,
    path = "/v1/batches",
    params(BatchesParams),
    responses(
        (status = 200, description = "In sequence", body = BatchList),
        (status = 400, description = "A missing or malformed programme, period, limit or after", body = ErrorBody),
        (status = 401, description = "No valid bearer token", body = ErrorBody),
        (status = 403, description = "Not back office, coordinator or supervisor", body = ErrorBody),
    )
)]
async fn list_batches(
    access: Access,
    disbursement: web::Data<Disbursement>,
    query: web::Query<BatchesParams>,
) -> Result<HttpResponse, ApiError> {
    access.require(READERS, "listing payment batches")?;
    let query = query.into_inner();
    let programme = query
        .programme
        .ok_or_else(|| ApiError::invalid("programme", "is required"))?;
    let period = query.period.ok_or_else(|| ApiError::invalid("period", "is required"))?;
    let limit = page_limit(query.limit.as_deref())?;
    let after = query
        .after
        .as_deref()
        .map(|text| {
            text.trim()
                .parse::<i32>()
                .ok()
                .filter(|sequence| *sequence > 0)
                .ok_or_else(|| {
                    ApiError::invalid(
                        "after",
                        format!(
                            "{:?} is not the next_after of a page (a sequence number)",
                            shown_id(text)
                        ),
                    )
                })
        })
        .transpose()?;
    let batches = disbursement.batches_of(&programme, &period, limit, after).await?;
    let next_after = (i64::try_from(batches.len()).unwrap_or(i64::MAX) >= limit)
        .then(|| batches.last().map(|batch| batch.sequence))
        .flatten();
    Ok(HttpResponse::Ok().json(BatchList { batches, next_after }))
}

/// Whose payments: give exactly one of `case_id` and `beneficiary_id`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PaymentsParams {
    /// The case the payments belong to (UUID).
    #[param(example = "01936f1e-7c1a-7b3e-9d5a-3f2b8c4d5e6f")]
    pub case_id: Option<String>,
    /// Registry id of the household or person paid.
    #[param(example = "hh-3375-0042")]
    pub beneficiary_id: Option<String>,
    /// Payments per page, 1 to 1000 (default 100).
    pub limit: Option<String>,
    /// The `next_after` of the previous page (a payment id).
    pub after: Option<String>,
}

/// Payments, oldest first.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PaymentList {
    pub payments: Vec<PaymentView>,
    /// Pass as `after` for the next page; absent on the last.
    pub next_after: Option<Uuid>,
}

/// Whom the payments read concern, for the reader's audit record.
fn concerned_by(payments: &[payments::SeenPayment]) -> Concerned {
    let mut concerned = Concerned::default();
    for (payment, nik_token) in payments {
        concerned.add(nik_token.as_deref(), &payment.beneficiary_id);
    }
    concerned
}

/// Payments of a case or a beneficiary, within the caller's area.
///
/// Every payment decided so far: `instructed` (sent on to the bank) or `held` (due, but the
/// beneficiary was not payable at the release check; the reasons say why). A case or
/// beneficiary outside the caller's area has no payments to show, as one that does not
/// exist.
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
            }],
            "next_after": null
        })),
        (status = 400, description = "Neither or both selectors, a malformed one, or a bad page; the error names the field",
            body = ErrorBody, example = json!({
                "error": {"code": "invalid_input", "message": "exactly one of case_id or beneficiary_id is required",
                          "field": "case_id"}
            })),
        (status = 401, description = "No valid bearer token", body = ErrorBody),
        (status = 403, description = "Not back office, coordinator or supervisor", body = ErrorBody),
    )
)]
async fn list_payments(
    access: Access,
    disbursement: web::Data<Disbursement>,
    params: web::Query<PaymentsParams>,
) -> Result<HttpResponse, ApiError> {
    access.require(READERS, "reading payments")?;
    let query = PaymentQuery::parse(params.case_id.as_deref(), params.beneficiary_id.as_deref())?;
    let limit = page_limit(params.limit.as_deref())?;
    let after = params
        .after
        .as_deref()
        .map(|text| {
            Uuid::parse_str(text.trim()).map_err(|_| {
                ApiError::invalid(
                    "after",
                    format!("{:?} is not the next_after of a page (a payment id)", shown_id(text)),
                )
            })
        })
        .transpose()?;
    let found = payments::list_payments(&disbursement.pool, &query, &area_scope(&access), limit, after)
        .await
        .map_err(ApiError::unavailable)?;
    let concerned = concerned_by(&found);
    let resource = match &query {
        PaymentQuery::Case(case_id) => format!("case/{case_id}/payments"),
        PaymentQuery::Beneficiary(beneficiary_id) => format!("beneficiary/{beneficiary_id}/payments"),
    };
    // Nothing shown is audited as "not found": a case of another area answers exactly so,
    // and guessing ids is what an auditor looks for.
    let outcome = if found.is_empty() && after.is_none() {
        Outcome::NotFound
    } else {
        Outcome::Allowed
    };
    access
        .audit(
            &disbursement.pool,
            "payment.list",
            resource,
            concerned.nik_tokens.clone(),
            outcome,
            concerned.detail(serde_json::json!({ "returned": found.len() })),
        )
        .await?;
    let next_after = (i64::try_from(found.len()).unwrap_or(i64::MAX) >= limit)
        .then(|| found.last().map(|(payment, _)| payment.payment_id))
        .flatten();
    Ok(HttpResponse::Ok().json(PaymentList {
        payments: found.into_iter().map(|(payment, _)| payment).collect(),
        next_after,
    }))
}

/// An entitlement with every payment decided under it, within the caller's area.
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
        (status = 401, description = "No valid bearer token", body = ErrorBody),
        (status = 403, description = "Not back office, coordinator or supervisor", body = ErrorBody),
        (status = 404, description = "No such entitlement in the caller's area", body = ErrorBody),
    )
)]
async fn get_entitlement(
    access: Access,
    disbursement: web::Data<Disbursement>,
    entitlement_id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    access.require(READERS, "reading an entitlement")?;
    let text = entitlement_id.into_inner();
    let entitlement_id = Uuid::parse_str(&text)
        .map_err(|_| ApiError::invalid("entitlement_id", format!("{:?} is not a UUID", shown_id(&text))))?;
    let found = payments::find_entitlement(&disbursement.pool, entitlement_id, &area_scope(&access))
        .await
        .map_err(ApiError::unavailable)?;
    let resource = format!("entitlement/{entitlement_id}");
    let Some((entitlement, nik_token)) = found else {
        access
            .audit(
                &disbursement.pool,
                "entitlement.read",
                resource,
                Vec::new(),
                Outcome::NotFound,
                serde_json::json!({}),
            )
            .await?;
        return Err(ApiError::not_found(format!("no entitlement {entitlement_id}")));
    };
    let mut concerned = Concerned::default();
    concerned.add(nik_token.as_deref(), &entitlement.beneficiary_id);
    access
        .audit(
            &disbursement.pool,
            "entitlement.read",
            resource,
            concerned.nik_tokens.clone(),
            Outcome::Allowed,
            concerned.detail(serde_json::json!({ "payments": entitlement.payments.len() })),
        )
        .await?;
    Ok(HttpResponse::Ok().json(entitlement))
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

/// Payment totals by status and by stage, over the payments of the caller's area.
///
/// How many payments were instructed and held, and for how much, for a programme and period;
/// and where they stand on their way to the beneficiary: batched or not, held at release,
/// sent, paid, failed, reversed, or of unknown outcome. Totals name nobody.
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
        (status = 401, description = "No valid bearer token", body = ErrorBody),
        (status = 403, description = "Not back office, coordinator or supervisor", body = ErrorBody),
    )
)]
async fn payments_report(
    access: Access,
    disbursement: web::Data<Disbursement>,
    params: web::Query<ReportParams>,
) -> Result<HttpResponse, ApiError> {
    access.require(READERS, "the payments report")?;
    let query = ReportQuery::parse(params.programme.as_deref(), params.period.as_deref())?;
    let report = payments::payments_report(&disbursement.pool, &query, &area_scope(&access))
        .await
        .map_err(ApiError::unavailable)?;
    Ok(HttpResponse::Ok().json(report))
}

/// The paid-after-death audit list.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PaidAfterDeathList {
    /// Empty in a healthy system.
    pub payments: Vec<PaidAfterDeath>,
    /// Pass as `after` for the next page; absent on the last.
    pub next_after: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PaidAfterDeathParams {
    /// Rows per page, 1 to 1000 (default 100).
    pub limit: Option<String>,
    /// The `next_after` of the previous page, as received.
    pub after: Option<String>,
}

/// Every payment settled (or sent, outcome unknown) after a confirmed date of death of its
/// payee: paid to the dead person, or to their household while they were still its payee
/// (no head change recorded before it was sent). Each row names the payment key, the death
/// and why it counts. Empty in a healthy system. Auditors see every row; coordinators and
/// supervisors those of their area.
#[utoipa::path(
    get,
    path = "/v1/reports/paid-after-death",
    params(PaidAfterDeathParams),
    responses(
        (status = 200, description = "The payments, oldest death first", body = PaidAfterDeathList, example = json!({
            "payments": [{
                "payment_key": "PKH:2026-Q4:hh-3375-0042:child_0_6",
                "case_id": "01936f1e-7c1a-7b3e-9d5a-3f2b8c4d5e6f", "amount_idr": 750000,
                "bank_status": "settled", "sent_at": "2026-11-23T03:00:00Z", "settled_at": "2026-11-23T03:00:01Z",
                "payee_name": "Darto", "person_id": "p-3375-0042-1", "household_id": "hh-3375-0042",
                "date_of_death": "2026-11-20", "was_head": true, "certificate_reference": "AKTA-3375-2026-001",
                "death_recorded_at": "2026-11-25T01:00:00Z", "why": "paid_to_household_of_deceased_payee"
            }],
            "next_after": null
        })),
        (status = 400, description = "A bad limit or after; the error names it", body = ErrorBody),
        (status = 401, description = "No valid bearer token", body = ErrorBody),
        (status = 403, description = "Not an auditor, coordinator or supervisor", body = ErrorBody),
    )
)]
async fn paid_after_death(
    access: Access,
    disbursement: web::Data<Disbursement>,
    params: web::Query<PaidAfterDeathParams>,
) -> Result<HttpResponse, ApiError> {
    access.require(DEATH_REPORT_READERS, "the paid-after-death report")?;
    let limit = page_limit(params.limit.as_deref())?;
    let after = params.after.as_deref().map(DeathCursor::parse).transpose()?;
    // Auditors check the whole regency's payments; staff their own area's.
    let scope = if access.principal.has(Role::Auditor) {
        Scope::Everything
    } else {
        area_scope(&access)
    };
    let rows = payments::paid_after_death(&disbursement.pool, &scope, limit, after.as_ref())
        .await
        .map_err(ApiError::unavailable)?;
    let mut concerned = Concerned::default();
    for (_, nik_token, beneficiary_id) in &rows {
        concerned.add(nik_token.as_deref(), beneficiary_id);
    }
    access
        .audit(
            &disbursement.pool,
            "report.paid_after_death",
            "reports/paid-after-death",
            concerned.nik_tokens.clone(),
            Outcome::Allowed,
            concerned.detail(serde_json::json!({ "returned": rows.len() })),
        )
        .await?;
    let next_after = (i64::try_from(rows.len()).unwrap_or(i64::MAX) >= limit)
        .then(|| {
            rows.last().map(|(row, _, _)| {
                DeathCursor {
                    date_of_death: row.date_of_death,
                    person_id: row.person_id.clone(),
                    payment_key: row.payment_key.clone(),
                }
                .encode()
            })
        })
        .flatten();
    Ok(HttpResponse::Ok().json(PaidAfterDeathList {
        payments: rows.into_iter().map(|(row, _, _)| row).collect(),
        next_after,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_release_body_may_be_empty_but_names_no_checker() {
        for empty in [&b""[..], b"  ", b"{}", b"null"] {
            assert!(refuse_body_fields(empty).is_ok(), "{empty:?}");
        }
        let named = refuse_body_fields(br#"{"released_by": "checker"}"#).err();
        assert_eq!(named.and_then(|e| e.field).as_deref(), Some("released_by"));
        let odd = refuse_body_fields(b"[1]").err();
        assert_eq!(odd.and_then(|e| e.field).as_deref(), Some("body"));
    }
}
