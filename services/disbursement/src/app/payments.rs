//! Reading payments and entitlements back: by case, by beneficiary, by id, and totals per
//! programme and period, each within the caller's [`Scope`].

use chrono::{DateTime, Utc};
use serde::Serialize;
use slrt_errors::ApiError;
use sqlx::postgres::PgRow;
use sqlx::{PgExecutor, PgPool, Row};
use uuid::Uuid;

use super::scope::Scope;
use crate::domain::{Period, is_programme_code};
use crate::projections::{STATUS_HELD, STATUS_INSTRUCTED, STATUS_STOPPED};

/// One payment as recorded: instructed for the bank, or held with the reasons.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PaymentView {
    pub payment_id: Uuid,
    /// `<programme>:<period>:<beneficiary>:<component>`; never carried by a second payment.
    #[schema(example = "PKH:2026-Q4:hh-3375-0042:child_0_6")]
    pub payment_key: String,
    pub entitlement_id: Uuid,
    pub case_id: Uuid,
    #[schema(example = "PKH")]
    pub programme_code: String,
    /// `2026-11` (monthly), `2026-Q4` (quarterly), `2026` (yearly) or `once`.
    #[schema(example = "2026-Q4")]
    pub period: String,
    /// Registry id of the household or person paid.
    #[schema(example = "hh-3375-0042")]
    pub beneficiary_id: String,
    #[schema(example = "child_0_6")]
    pub component: String,
    /// Rupiah; for a held payment, the amount that was due.
    #[schema(example = 750000)]
    pub amount_idr: i64,
    /// `instructed`, `held` or `stopped`.
    #[schema(example = "instructed")]
    pub status: String,
    /// Why the payment is held; empty when instructed.
    #[schema(example = json!([]))]
    pub hold_reasons: Vec<String>,
    pub created_at: DateTime<Utc>,
    /// The batch it was put in, once a maker prepared one.
    #[schema(example = "PKH:2026-Q4:1")]
    pub batch_id: Option<String>,
    /// What the batch's release decided: `released` or `held`.
    pub release_status: Option<String>,
    /// What the paying bank did with it: `sending`, `settled`, `failed`, `reversed` or
    /// `unknown` (asked again until the bank says).
    pub bank_status: Option<String>,
    /// The bank's reference for the transfer.
    pub bank_reference: Option<String>,
    /// Why it failed or was reversed, or why the outcome is unknown.
    pub bank_reason: Option<String>,
    /// Why it was stopped, when `status` is `stopped`.
    pub stop_reason: Option<String>,
    /// Held, then owed again: paid by the programme's next batch whatever its period.
    pub arrears: bool,
    /// Who the bank was told to pay, once sent.
    pub payee_name: Option<String>,
}

/// An entitlement with every payment decided under it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct EntitlementView {
    pub entitlement_id: Uuid,
    /// The accepted referral that opened it.
    pub referral_id: Uuid,
    pub case_id: Uuid,
    #[schema(example = "PKH")]
    pub programme_code: String,
    #[schema(example = "hh-3375-0042")]
    pub beneficiary_id: String,
    #[schema(example = "Siti Aminah")]
    pub beneficiary_name: String,
    #[schema(example = "child_0_6")]
    pub component: String,
    #[schema(example = 750000)]
    pub amount_per_period_idr: i64,
    /// `monthly`, `quarterly`, `yearly` or `once`.
    #[schema(example = "quarterly")]
    pub cadence: String,
    #[schema(example = "2026-Q4")]
    pub first_period: String,
    pub created_at: DateTime<Utc>,
    /// The last day it covered, once ended; nothing is paid for a period starting later.
    pub ended_on: Option<chrono::NaiveDate>,
    pub end_reason: Option<String>,
    /// Payments for periods reaching this day on are held, while the hold lasts.
    pub held_from: Option<chrono::NaiveDate>,
    pub hold_reason: Option<String>,
    /// Who the bank pays: the beneficiary, or the household's head after a change.
    pub payee_name: String,
    /// Oldest first.
    pub payments: Vec<PaymentView>,
}

/// Whose payments to list: exactly one of a case or a beneficiary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PaymentQuery {
    Case(Uuid),
    Beneficiary(String),
}

impl PaymentQuery {
    /// Parses the two optional selectors; an empty value counts as absent.
    pub fn parse(case_id: Option<&str>, beneficiary_id: Option<&str>) -> Result<Self, ApiError> {
        let case_id = case_id.filter(|text| !text.is_empty());
        let beneficiary_id = beneficiary_id.filter(|text| !text.is_empty());
        match (case_id, beneficiary_id) {
            (Some(_), Some(_)) => Err(ApiError::invalid(
                "beneficiary_id",
                "give exactly one of case_id or beneficiary_id, not both",
            )),
            (None, None) => Err(ApiError::invalid(
                "case_id",
                "exactly one of case_id or beneficiary_id is required",
            )),
            (Some(text), None) => Uuid::parse_str(text)
                .map(Self::Case)
                .map_err(|_| ApiError::invalid("case_id", format!("{} is not a UUID", quoted(text)))),
            (None, Some(text)) => {
                if text.chars().count() > MAX_BENEFICIARY_ID_CHARS {
                    return Err(ApiError::invalid(
                        "beneficiary_id",
                        format!("a beneficiary id is at most {MAX_BENEFICIARY_ID_CHARS} characters"),
                    ));
                }
                Ok(Self::Beneficiary(text.to_string()))
            }
        }
    }
}

const MAX_BENEFICIARY_ID_CHARS: usize = 100;

// Echoes input in an error message, cut short so that a huge value cannot bloat the answer.
fn quoted(text: &str) -> String {
    let short: String = text.chars().take(64).collect();
    if short.len() < text.len() {
        format!("{short:?}...")
    } else {
        format!("{short:?}")
    }
}

// Qualified: `entitlements` shares some of these names when joined (as `e`) for the scope.
const PAYMENT_COLUMNS: &str = "p.payment_id, p.payment_key, p.entitlement_id, p.case_id, p.programme_code, p.period, \
                               p.beneficiary_id, p.component, p.amount_idr, p.status, p.hold_reasons, p.created_at, \
                               p.batch_id, p.release_status, p.bank_status, p.bank_reference, p.bank_reason, \
                               p.stop_reason, p.arrears, p.payee_name";

fn payment_from_row(row: &PgRow) -> Result<PaymentView, sqlx::Error> {
    let reasons: serde_json::Value = row.try_get("hold_reasons")?;
    Ok(PaymentView {
        payment_id: row.try_get("payment_id")?,
        payment_key: row.try_get("payment_key")?,
        entitlement_id: row.try_get("entitlement_id")?,
        case_id: row.try_get("case_id")?,
        programme_code: row.try_get("programme_code")?,
        period: row.try_get("period")?,
        beneficiary_id: row.try_get("beneficiary_id")?,
        component: row.try_get("component")?,
        amount_idr: row.try_get("amount_idr")?,
        status: row.try_get("status")?,
        hold_reasons: serde_json::from_value(reasons).map_err(|error| sqlx::Error::Decode(Box::new(error)))?,
        created_at: row.try_get("created_at")?,
        batch_id: row.try_get("batch_id")?,
        release_status: row.try_get("release_status")?,
        bank_status: row.try_get("bank_status")?,
        bank_reference: row.try_get("bank_reference")?,
        bank_reason: row.try_get("bank_reason")?,
        stop_reason: row.try_get("stop_reason")?,
        arrears: row.try_get("arrears")?,
        payee_name: row.try_get("payee_name")?,
    })
}

/// A payment as a reader sees it, with the keyed NIK token its entitlement keeps (for the
/// audit record of the read; never shown).
pub type SeenPayment = (PaymentView, Option<String>);

/// The payments of a case or a beneficiary within `scope`, oldest first: at most `limit`,
/// after the payment `after` (the last of the previous page).
pub async fn list_payments(
    pool: &PgPool,
    query: &PaymentQuery,
    scope: &Scope,
    limit: i64,
    after: Option<Uuid>,
) -> Result<Vec<SeenPayment>, sqlx::Error> {
    let selector = match query {
        PaymentQuery::Case(_) => "p.case_id = $1::uuid",
        PaymentQuery::Beneficiary(_) => "p.beneficiary_id = $1::text",
    };
    let sql = format!(
        "SELECT {PAYMENT_COLUMNS}, e.nik_token FROM payment_instructions p
         JOIN entitlements e ON e.entitlement_id = p.entitlement_id
         WHERE {selector} AND {scope}
           AND ($5::uuid IS NULL OR (p.created_at, p.payment_key) >
                (SELECT created_at, payment_key FROM payment_instructions WHERE payment_id = $5))
         ORDER BY p.created_at, p.payment_key LIMIT $6",
        scope = Scope::predicate("e", 2),
    );
    let (areas, unplaced, agency) = scope.values();
    let statement = sqlx::query(sqlx::AssertSqlSafe(sql));
    let statement = match query {
        PaymentQuery::Case(case_id) => statement.bind(*case_id),
        PaymentQuery::Beneficiary(beneficiary_id) => statement.bind(beneficiary_id.clone()),
    };
    let rows = statement
        .bind(areas)
        .bind(unplaced)
        .bind(agency)
        .bind(after)
        .bind(limit)
        .fetch_all(pool)
        .await?;
    rows.iter()
        .map(|row| Ok((payment_from_row(row)?, row.try_get("nik_token")?)))
        .collect()
}

/// The payment recorded under `payment_key`, if any.
pub async fn payment_by_key(
    executor: impl PgExecutor<'_>,
    payment_key: &str,
) -> Result<Option<PaymentView>, sqlx::Error> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {PAYMENT_COLUMNS} FROM payment_instructions p WHERE p.payment_key = $1"
    )))
    .bind(payment_key)
    .fetch_optional(executor)
    .await?;
    row.as_ref().map(payment_from_row).transpose()
}

/// An entitlement with its payments and the keyed NIK token it keeps; `None` when there is
/// no such entitlement within `scope`.
pub async fn find_entitlement(
    pool: &PgPool,
    entitlement_id: Uuid,
    scope: &Scope,
) -> Result<Option<(EntitlementView, Option<String>)>, sqlx::Error> {
    let (areas, unplaced, agency) = scope.values();
    let Some(row) = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT e.* FROM entitlements e WHERE e.entitlement_id = $1 AND {}",
        Scope::predicate("e", 2)
    )))
    .bind(entitlement_id)
    .bind(areas)
    .bind(unplaced)
    .bind(agency)
    .fetch_optional(pool)
    .await?
    else {
        return Ok(None);
    };
    let payments = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {PAYMENT_COLUMNS} FROM payment_instructions p WHERE p.entitlement_id = $1
         ORDER BY p.created_at, p.payment_key"
    )))
    .bind(entitlement_id)
    .fetch_all(pool)
    .await?
    .iter()
    .map(payment_from_row)
    .collect::<Result<Vec<_>, _>>()?;
    let view = EntitlementView {
        entitlement_id,
        referral_id: row.try_get("referral_id")?,
        case_id: row.try_get("case_id")?,
        programme_code: row.try_get("programme_code")?,
        beneficiary_id: row.try_get("beneficiary_id")?,
        beneficiary_name: row.try_get("beneficiary_name")?,
        component: row.try_get("component")?,
        amount_per_period_idr: row.try_get("amount_per_period_idr")?,
        cadence: row.try_get("cadence")?,
        first_period: row.try_get("first_period")?,
        created_at: row.try_get("created_at")?,
        ended_on: row.try_get("ended_on")?,
        end_reason: row.try_get("end_reason")?,
        held_from: row.try_get("held_from")?,
        hold_reason: row.try_get("hold_reason")?,
        payee_name: row
            .try_get::<Option<String>, _>("payee_name")?
            .map_or_else(|| row.try_get("beneficiary_name"), Ok)?,
        payments,
    };
    Ok(Some((view, row.try_get("nik_token")?)))
}

/// Which payments a report covers; an absent filter covers all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReportQuery {
    pub programme: Option<String>,
    pub period: Option<Period>,
}

impl ReportQuery {
    pub fn parse(programme: Option<&str>, period: Option<&str>) -> Result<Self, ApiError> {
        let programme = match programme.filter(|text| !text.is_empty()) {
            None => None,
            Some(text) if is_programme_code(text) && text.len() <= 32 => Some(text.to_string()),
            Some(text) => {
                return Err(ApiError::invalid(
                    "programme",
                    format!(
                        "{} is not a programme code: up to 32 upper-case letters, digits and '-', e.g. PKH or PBI-JK",
                        quoted(text)
                    ),
                ));
            }
        };
        let period = period
            .filter(|text| !text.is_empty())
            .map(|text| Period::parse(text).map_err(|_| ApiError::invalid("period", period_message(text))))
            .transpose()?;
        Ok(Self { programme, period })
    }
}

fn period_message(text: &str) -> String {
    format!(
        "{} is not a payment period: use YYYY-MM, YYYY-Qn, YYYY or once",
        quoted(text)
    )
}

/// Counts and amounts of payments by status.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PaymentsReport {
    /// The programme filter, or null for all programmes.
    #[schema(example = "PKH")]
    pub programme: Option<String>,
    /// The period filter, or null for all periods.
    #[schema(example = "2026-Q4")]
    pub period: Option<String>,
    /// One entry per status (`instructed`, `held`, `stopped`), zero counts included.
    pub by_status: Vec<StatusTotal>,
    /// Where each payment stands on its way to the beneficiary, zero counts included:
    /// `held` (not payable when it was decided, or held since), `stopped` (never to be paid),
    /// `unbatched`, `awaiting_release`,
    /// `held_at_release`, `released` (not sent yet), `sending`, `paid`, `failed`, `reversed`,
    /// `unknown` (asked of the bank until it says).
    pub by_stage: Vec<StatusTotal>,
    pub total: Totals,
    /// One row per programme and period covered, oldest period first: what became of its
    /// payments.
    pub by_period: Vec<PeriodOutcomes>,
}

/// What became of the payments of one programme and period. Every payment counts in exactly
/// one of the totals.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PeriodOutcomes {
    #[schema(example = "PKH")]
    pub programme: String,
    #[schema(example = "2026-Q4")]
    pub period: String,
    /// Settled by the bank.
    pub paid: Totals,
    /// Held when decided or at release (and not owed again since).
    pub held: Totals,
    /// Stopped for ever (an end, a revocation, a hold lifted without arrears).
    pub stopped: Totals,
    /// Failed or reversed at the bank (a follow-up pays it again under its key).
    pub failed: Totals,
    /// Sent, and the bank has not said what became of it yet.
    pub unknown: Totals,
    /// Not at the bank yet: unbatched, awaiting release, released and not sent, being sent.
    pub pending: Totals,
}

/// The stages of `PaymentsReport::by_stage`, in the order a payment passes them.
pub const STAGES: [&str; 11] = [
    "held",
    "stopped",
    "unbatched",
    "awaiting_release",
    "held_at_release",
    "released",
    "sending",
    "paid",
    "failed",
    "reversed",
    "unknown",
];

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct StatusTotal {
    #[schema(example = "instructed")]
    pub status: String,
    #[schema(example = 12)]
    pub count: i64,
    /// Rupiah.
    #[schema(example = 9000000)]
    pub amount_idr: i64,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Totals {
    #[schema(example = 13)]
    pub count: i64,
    #[schema(example = 9750000)]
    pub amount_idr: i64,
}

/// The payments a report counts: those of the programme and period asked for, within the
/// caller's scope. `$1` programme, `$2` period, `$3`-`$5` the scope.
fn reported_payments() -> String {
    format!(
        "payment_instructions p JOIN entitlements e ON e.entitlement_id = p.entitlement_id
         WHERE ($1::text IS NULL OR p.programme_code = $1) AND ($2::text IS NULL OR p.period = $2) AND {}",
        Scope::predicate("e", 3)
    )
}

/// Totals of the payments within `scope`: a district coordinator sees their district's.
pub async fn payments_report(pool: &PgPool, query: &ReportQuery, scope: &Scope) -> Result<PaymentsReport, sqlx::Error> {
    let period = query.period.map(|period| period.to_string());
    let (areas, unplaced, agency) = scope.values();
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT p.status, COUNT(*)::bigint AS count, COALESCE(SUM(p.amount_idr), 0)::bigint AS amount_idr
         FROM {}
         GROUP BY p.status",
        reported_payments()
    )))
    .bind(&query.programme)
    .bind(&period)
    .bind(&areas)
    .bind(unplaced)
    .bind(&agency)
    .fetch_all(pool)
    .await?;
    let mut by_status: Vec<StatusTotal> = [STATUS_INSTRUCTED, STATUS_HELD, STATUS_STOPPED]
        .into_iter()
        .map(|status| StatusTotal {
            status: status.to_string(),
            count: 0,
            amount_idr: 0,
        })
        .collect();
    for row in &rows {
        let status: String = row.try_get("status")?;
        if let Some(entry) = by_status.iter_mut().find(|entry| entry.status == status) {
            entry.count = row.try_get("count")?;
            entry.amount_idr = row.try_get("amount_idr")?;
        }
    }
    let stage_rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT CASE
                    WHEN p.status = 'held' THEN 'held'
                    WHEN p.status = 'stopped' THEN 'stopped'
                    WHEN p.batch_id IS NULL THEN 'unbatched'
                    WHEN p.release_status IS NULL THEN 'awaiting_release'
                    WHEN p.release_status = 'held' THEN 'held_at_release'
                    WHEN p.bank_status IS NULL THEN 'released'
                    WHEN p.bank_status = 'settled' THEN 'paid'
                    ELSE p.bank_status
                END AS stage,
                COUNT(*)::bigint AS count, COALESCE(SUM(p.amount_idr), 0)::bigint AS amount_idr
         FROM {}
         GROUP BY 1",
        reported_payments()
    )))
    .bind(&query.programme)
    .bind(&period)
    .bind(&areas)
    .bind(unplaced)
    .bind(&agency)
    .fetch_all(pool)
    .await?;
    let mut by_stage: Vec<StatusTotal> = STAGES
        .into_iter()
        .map(|stage| StatusTotal {
            status: stage.to_string(),
            count: 0,
            amount_idr: 0,
        })
        .collect();
    for row in &stage_rows {
        let stage: String = row.try_get("stage")?;
        if let Some(entry) = by_stage.iter_mut().find(|entry| entry.status == stage) {
            entry.count = row.try_get("count")?;
            entry.amount_idr = row.try_get("amount_idr")?;
        }
    }
    let total = Totals {
        count: by_status.iter().map(|entry| entry.count).sum(),
        amount_idr: by_status.iter().map(|entry| entry.amount_idr).sum(),
    };
    let period_rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT p.programme_code, p.period,
                CASE
                    WHEN p.status = 'stopped' THEN 'stopped'
                    WHEN p.status = 'held' OR p.release_status = 'held' THEN 'held'
                    WHEN p.bank_status = 'settled' THEN 'paid'
                    WHEN p.bank_status IN ('failed', 'reversed') THEN 'failed'
                    WHEN p.bank_status = 'unknown' THEN 'unknown'
                    ELSE 'pending'
                END AS outcome,
                COUNT(*)::bigint AS count, COALESCE(SUM(p.amount_idr), 0)::bigint AS amount_idr
         FROM {}
         GROUP BY 1, 2, 3
         ORDER BY 2, 1",
        reported_payments()
    )))
    .bind(&query.programme)
    .bind(&period)
    .bind(&areas)
    .bind(unplaced)
    .bind(&agency)
    .fetch_all(pool)
    .await?;
    let mut by_period: Vec<PeriodOutcomes> = Vec::new();
    for row in &period_rows {
        let programme: String = row.try_get("programme_code")?;
        let row_period: String = row.try_get("period")?;
        let outcome: String = row.try_get("outcome")?;
        let totals = Totals {
            count: row.try_get("count")?,
            amount_idr: row.try_get("amount_idr")?,
        };
        let entry = match by_period.last_mut() {
            Some(last) if last.programme == programme && last.period == row_period => last,
            _ => {
                let zero = || Totals {
                    count: 0,
                    amount_idr: 0,
                };
                by_period.push(PeriodOutcomes {
                    programme,
                    period: row_period,
                    paid: zero(),
                    held: zero(),
                    stopped: zero(),
                    failed: zero(),
                    unknown: zero(),
                    pending: zero(),
                });
                by_period.last_mut().ok_or(sqlx::Error::RowNotFound)?
            }
        };
        match outcome.as_str() {
            "paid" => entry.paid = totals,
            "held" => entry.held = totals,
            "stopped" => entry.stopped = totals,
            "failed" => entry.failed = totals,
            "unknown" => entry.unknown = totals,
            _ => entry.pending = totals,
        }
    }
    Ok(PaymentsReport {
        programme: query.programme.clone(),
        period,
        by_status,
        by_stage,
        total,
        by_period,
    })
}

/// A payment that reached (or may have reached) the bank after its payee had died.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PaidAfterDeath {
    #[schema(example = "PKH:2026-Q4:hh-3375-0042:child_0_6")]
    pub payment_key: String,
    pub case_id: Uuid,
    pub amount_idr: i64,
    /// `settled`, or `sending` / `unknown` (sent, outcome not known: the money may have moved).
    pub bank_status: String,
    pub sent_at: Option<DateTime<Utc>>,
    pub settled_at: Option<DateTime<Utc>>,
    /// The name the bank was told to pay.
    pub payee_name: Option<String>,
    /// The death: the registry person, their household, the date and the certificate.
    pub person_id: String,
    pub household_id: String,
    pub date_of_death: chrono::NaiveDate,
    pub was_head: bool,
    pub certificate_reference: String,
    /// When disbursement learnt of the death.
    pub death_recorded_at: DateTime<Utc>,
    /// `paid_to_the_deceased` (the payment's beneficiary is the dead person) or
    /// `paid_to_household_of_deceased_payee` (the household's head died and no head change
    /// was recorded before the payment was sent, so the dead head was still its payee).
    #[schema(example = "paid_to_household_of_deceased_payee")]
    pub why: String,
}

/// Where a page of the paid-after-death list ends: the last row's date of death, person and
/// payment key (the list's order). Given to clients as opaque text (hex of a JSON array),
/// because person ids and keys may hold any separator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeathCursor {
    pub date_of_death: chrono::NaiveDate,
    pub person_id: String,
    pub payment_key: String,
}

impl DeathCursor {
    pub fn encode(&self) -> String {
        hex::encode(serde_json::json!([self.date_of_death, self.person_id, self.payment_key]).to_string())
    }

    pub fn parse(text: &str) -> Result<Self, ApiError> {
        let refused = || ApiError::invalid("after", format!("{} is not the next_after of a page", quoted(text)));
        let bytes = hex::decode(text.trim()).map_err(|_| refused())?;
        let (date_of_death, person_id, payment_key): (chrono::NaiveDate, String, String) =
            serde_json::from_slice(&bytes).map_err(|_| refused())?;
        Ok(Self {
            date_of_death,
            person_id,
            payment_key,
        })
    }
}

/// One row of the paid-after-death list as a reader sees it, with the keyed NIK token and the
/// beneficiary id of the payment's entitlement (for the audit record of the read).
pub type SeenDeathPayment = (PaidAfterDeath, Option<String>, String);

/// Every payment settled, or sent without a known outcome, on a day (in Jakarta) after a
/// confirmed date of death of its payee: the person paid, or the head of the household paid
/// while no head change had been recorded. Empty in a healthy system; each row is a case for
/// recovery. Oldest death first, at most `limit` after `after`, within `scope`.
pub async fn paid_after_death(
    pool: &PgPool,
    scope: &Scope,
    limit: i64,
    after: Option<&DeathCursor>,
) -> Result<Vec<SeenDeathPayment>, sqlx::Error> {
    let (areas, unplaced, agency) = scope.values();
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT p.payment_key, p.case_id, p.amount_idr, p.bank_status, p.sent_at, p.settled_at, p.payee_name,
                p.beneficiary_id, e.nik_token,
                d.person_id, d.household_id, d.date_of_death, d.was_head, d.certificate_reference,
                d.recorded_at AS death_recorded_at,
                CASE WHEN p.beneficiary_id = d.person_id THEN 'paid_to_the_deceased'
                     ELSE 'paid_to_household_of_deceased_payee' END AS why
         FROM deaths d
         JOIN payment_instructions p
           ON p.beneficiary_id = d.person_id
           OR (d.was_head AND d.household_id <> '' AND p.beneficiary_id = d.household_id
               AND NOT EXISTS (SELECT 1 FROM household_head_changes h
                               WHERE h.household_id = d.household_id
                                 AND h.previous_head_person_id = d.person_id
                                 AND h.recorded_at <= p.sent_at))
         JOIN entitlements e ON e.entitlement_id = p.entitlement_id
         WHERE p.bank_status IN ('settled', 'sending', 'unknown')
           AND ((COALESCE(p.settled_at, p.sent_at) AT TIME ZONE 'UTC') + INTERVAL '7 hours')::date > d.date_of_death
           AND {scope}
           AND ($4::date IS NULL OR (d.date_of_death, d.person_id, p.payment_key) > ($4, $5::text, $6::text))
         ORDER BY d.date_of_death, d.person_id, p.payment_key
         LIMIT $7",
        scope = Scope::predicate("e", 1)
    )))
    .bind(areas)
    .bind(unplaced)
    .bind(agency)
    .bind(after.map(|cursor| cursor.date_of_death))
    .bind(after.map(|cursor| cursor.person_id.clone()))
    .bind(after.map(|cursor| cursor.payment_key.clone()))
    .bind(limit)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|row| {
            let payment = PaidAfterDeath {
                payment_key: row.try_get("payment_key")?,
                case_id: row.try_get("case_id")?,
                amount_idr: row.try_get("amount_idr")?,
                bank_status: row.try_get("bank_status")?,
                sent_at: row.try_get("sent_at")?,
                settled_at: row.try_get("settled_at")?,
                payee_name: row.try_get("payee_name")?,
                person_id: row.try_get("person_id")?,
                household_id: row.try_get("household_id")?,
                date_of_death: row.try_get("date_of_death")?,
                was_head: row.try_get("was_head")?,
                certificate_reference: row.try_get("certificate_reference")?,
                death_recorded_at: row.try_get("death_recorded_at")?,
                why: row.try_get("why")?,
            };
            Ok((payment, row.try_get("nik_token")?, row.try_get("beneficiary_id")?))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field_of(result: Result<impl std::fmt::Debug, ApiError>) -> Option<String> {
        result.err().and_then(|error| error.field)
    }

    #[test]
    fn payments_are_listed_by_exactly_one_of_case_or_beneficiary() {
        assert_eq!(field_of(PaymentQuery::parse(None, None)).as_deref(), Some("case_id"));
        assert_eq!(
            field_of(PaymentQuery::parse(Some(""), Some(""))).as_deref(),
            Some("case_id")
        );
        let both = PaymentQuery::parse(Some("01936f1e-7c1a-7b3e-9d5a-3f2b8c4d5e6f"), Some("hh-1"));
        assert_eq!(field_of(both).as_deref(), Some("beneficiary_id"));
        assert_eq!(
            PaymentQuery::parse(None, Some("hh-1")).ok(),
            Some(PaymentQuery::Beneficiary("hh-1".into()))
        );
    }

    #[test]
    fn a_case_id_that_is_not_a_uuid_is_refused_naming_the_field() {
        let error = PaymentQuery::parse(Some("SLRT-3375-2026-000042"), None).err();
        assert_eq!(error.as_ref().and_then(|e| e.field.as_deref()), Some("case_id"));
        assert_eq!(
            error.map(|e| e.message).as_deref(),
            Some("\"SLRT-3375-2026-000042\" is not a UUID")
        );
    }

    #[test]
    fn report_filters_are_checked_when_given() {
        assert_eq!(ReportQuery::parse(None, None).ok(), Some(ReportQuery::default()));
        assert_eq!(
            field_of(ReportQuery::parse(Some("pkh"), None)).as_deref(),
            Some("programme")
        );
        assert_eq!(
            field_of(ReportQuery::parse(None, Some("2026-4"))).as_deref(),
            Some("period")
        );
        let query = ReportQuery::parse(Some("PIP"), Some("2026")).ok();
        assert_eq!(
            query.and_then(|q| q.period).map(|p| p.to_string()).as_deref(),
            Some("2026")
        );
    }

    #[test]
    fn a_death_cursor_survives_the_trip_and_anything_else_names_after() {
        let cursor = DeathCursor {
            date_of_death: chrono::NaiveDate::from_ymd_opt(2026, 11, 20).unwrap_or_default(),
            person_id: "p|odd:id".into(),
            payment_key: "PKH:2026-Q4:hh-1:base".into(),
        };
        assert_eq!(DeathCursor::parse(&cursor.encode()).ok(), Some(cursor));
        assert_eq!(field_of(DeathCursor::parse("2026-11-20")).as_deref(), Some("after"));
    }

    #[test]
    fn long_input_is_cut_short_in_messages() {
        let long = "x".repeat(500);
        assert!(quoted(&long).len() < 80);
        assert_eq!(quoted("abc"), "\"abc\"");
    }
}
