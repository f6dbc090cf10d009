//! The supervisors' lists of cases, from the case tracker's read model only: a filtered,
//! keyset-paginated page (newest first), the counts a dashboard shows, and the pages an
//! export streams. Query values are parsed here, so that a bad one is answered naming it.

use std::collections::BTreeMap;

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveTime, TimeZone, Utc};
use serde::Serialize;
use slrt_errors::ApiError;
use slrt_identity::RegionCode;
use sqlx::{PgPool, Postgres, QueryBuilder, Row};
use uuid::Uuid;

use crate::app::tracker::ApplicantView;
use crate::domain::{CaseStatus, NeedStatus};

/// Largest page a client may ask for.
pub const MAX_PAGE: i64 = 500;
/// Page size when the client names none.
pub const DEFAULT_PAGE: i64 = 100;

/// Which cases a supervisor asks for; every part is optional and they combine with AND.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CaseFilter {
    pub status: Option<CaseStatus>,
    /// A dotted Kemendagri code at any level; matches whole segments only.
    pub region: Option<String>,
    /// Cases with a need whose referral is (now) with this agency.
    pub opd_code: Option<String>,
    /// Cases with a need granted under this programme.
    pub programme_code: Option<String>,
    /// `true`: cases with an overdue need; `false`: cases with none.
    pub overdue: Option<bool>,
    /// Opened at or after (inclusive).
    pub opened_from: Option<DateTime<Utc>>,
    /// Opened before (exclusive).
    pub opened_to: Option<DateTime<Utc>>,
    /// The caller's areas (`slrt_audit::access::Access::areas`): only cases whose applicant
    /// lives in one of them. `None` only for the service's own tools (the benchmark), never
    /// for a caller; `Some` of nothing selects nothing.
    pub areas: Option<Vec<String>>,
}

/// The query values as they arrive, still text.
#[derive(Debug, Clone, Default)]
pub struct RawCaseFilter<'a> {
    pub status: Option<&'a str>,
    pub region: Option<&'a str>,
    pub opd: Option<&'a str>,
    pub programme: Option<&'a str>,
    pub overdue: Option<&'a str>,
    pub opened_from: Option<&'a str>,
    pub opened_to: Option<&'a str>,
}

impl CaseFilter {
    pub fn parse(raw: &RawCaseFilter<'_>) -> Result<Self, ApiError> {
        let status = raw
            .status
            .map(|text| {
                CaseStatus::parse(text).ok_or_else(|| {
                    let known: Vec<&str> = CaseStatus::ALL.iter().map(|status| status.code()).collect();
                    ApiError::invalid(
                        "status",
                        format!("{text:?} is not a case status (one of: {})", known.join(", ")),
                    )
                })
            })
            .transpose()?;
        // The shared region table both checks the shape (whole segments: `33.7` is refused)
        // and catches a typo that names no region; the dotted form is what the tracker stores.
        let region = raw
            .region
            .map(|text| {
                RegionCode::parse(text)
                    .map(|region| region.dotted())
                    .map_err(|error| ApiError::invalid("region", error.to_string()))
            })
            .transpose()?;
        let opd_code = raw.opd.map(|text| agency_code("opd", text)).transpose()?;
        let programme_code = raw.programme.map(|text| agency_code("programme", text)).transpose()?;
        let overdue = raw
            .overdue
            .map(|text| match text {
                "true" => Ok(true),
                "false" => Ok(false),
                other => Err(ApiError::invalid("overdue", format!("{other:?} is not true or false"))),
            })
            .transpose()?;
        let opened_from = raw.opened_from.map(|text| instant("opened_from", text)).transpose()?;
        let opened_to = raw.opened_to.map(|text| instant("opened_to", text)).transpose()?;
        if let (Some(from), Some(to)) = (opened_from, opened_to)
            && to <= from
        {
            return Err(ApiError::invalid(
                "opened_to",
                "must be later than opened_from (the interval is half-open: from inclusive, to exclusive)",
            ));
        }
        Ok(Self {
            status,
            region,
            opd_code,
            programme_code,
            overdue,
            opened_from,
            opened_to,
            areas: None,
        })
    }

    /// The same filter, within `areas` (the caller's).
    pub fn within(self, areas: Vec<String>) -> Self {
        Self {
            areas: Some(areas),
            ..self
        }
    }
}

/// An OPD or programme code: the shape referral and eligibility give them (`DINSOS`, `BLT-DD`).
/// Only the shape is checked: a case routed under an earlier table may name a retired code.
fn agency_code(field: &str, text: &str) -> Result<String, ApiError> {
    let well_formed = !text.is_empty()
        && text.len() <= 32
        && text
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if well_formed {
        Ok(text.to_string())
    } else {
        Err(ApiError::invalid(
            field,
            "must be an upper-case code of at most 32 letters, digits, '-' or '_', e.g. DINSOS or PKH",
        ))
    }
}

/// Western Indonesia Time (WIB, UTC+7): a bare date is a day at the SLRT desks of Java and
/// Sumatra, where most regencies are; a supervisor elsewhere sends RFC 3339 with an offset.
const WIB_SECONDS: i32 = 7 * 3600;

/// RFC 3339 (`2026-03-02T09:00:00+07:00`), or a date (`2026-03-02`) meaning its first
/// instant in WIB.
fn instant(field: &str, text: &str) -> Result<DateTime<Utc>, ApiError> {
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Ok(at.with_timezone(&Utc));
    }
    let invalid = || {
        ApiError::invalid(
            field,
            format!("{text:?} is neither an RFC 3339 time (2026-03-02T09:00:00+07:00) nor a date (2026-03-02)"),
        )
    };
    let date = NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| invalid())?;
    let wib = FixedOffset::east_opt(WIB_SECONDS).ok_or_else(invalid)?;
    wib.from_local_datetime(&date.and_time(NaiveTime::MIN))
        .single()
        .map(|at| at.with_timezone(&Utc))
        .ok_or_else(invalid)
}

/// `limit`: 1 to 500; absent means 100.
pub fn page_size(text: Option<&str>) -> Result<i64, ApiError> {
    let Some(text) = text else { return Ok(DEFAULT_PAGE) };
    match text.parse::<i64>() {
        Ok(limit) if (1..=MAX_PAGE).contains(&limit) => Ok(limit),
        _ => Err(ApiError::invalid(
            "limit",
            format!("must be a whole number from 1 to {MAX_PAGE}, found {text:?}"),
        )),
    }
}

/// Where the previous page ended: the last case's `(opened_at, case_id)`. Opaque to clients;
/// the position, not an offset, so cases opened meanwhile neither repeat nor push others
/// off the page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    opened_at: DateTime<Utc>,
    case_id: Uuid,
}

impl Cursor {
    pub fn encode(&self) -> String {
        // Microseconds: the precision PostgreSQL keeps, so the position round-trips exactly.
        hex::encode(format!("{}/{}", self.opened_at.timestamp_micros(), self.case_id))
    }

    pub fn parse(text: &str) -> Result<Self, ApiError> {
        let invalid = || ApiError::invalid("next", "not a cursor this API returned; pass the previous page's next");
        let bytes = hex::decode(text).map_err(|_| invalid())?;
        let text = String::from_utf8(bytes).map_err(|_| invalid())?;
        let (micros, case_id) = text.split_once('/').ok_or_else(invalid)?;
        let micros: i64 = micros.parse().map_err(|_| invalid())?;
        Ok(Self {
            opened_at: DateTime::from_timestamp_micros(micros).ok_or_else(invalid)?,
            case_id: Uuid::parse_str(case_id).map_err(|_| invalid())?,
        })
    }
}

/// One case in a supervisor's list.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CaseSummary {
    pub case_id: Uuid,
    #[schema(example = "SLRT-3375-2026-000042")]
    pub case_number: String,
    #[schema(example = "application")]
    pub kind: String,
    /// open, assessed, referred, in_service, resolved, closed, withdrawn.
    #[schema(example = "referred")]
    pub status: String,
    pub applicant: ApplicantView,
    pub opened_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[schema(example = 2)]
    pub need_count: i64,
    /// Needs not finished yet (finished: rejected by eligibility, resolved, withdrawn).
    #[schema(example = 1)]
    pub open_need_count: i64,
    /// Highest SLA escalation step any need reached; 0 when never escalated.
    #[schema(example = 1)]
    pub max_escalation_level: i32,
    /// A need has an SLA clock run out, or was escalated at least once.
    pub overdue: bool,
    /// The agencies the needs are (last) referred to, sorted.
    #[schema(example = json!(["DINSOS"]))]
    pub opd_codes: Vec<String>,
}

/// Counts for a dashboard, over the cases the filter selects.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct CaseCounts {
    #[schema(example = 42)]
    pub total: i64,
    /// Every case status, zeros included.
    #[schema(example = json!({"open": 3, "assessed": 1, "referred": 20, "in_service": 8, "resolved": 6, "closed": 3, "withdrawn": 1}))]
    pub by_status: BTreeMap<String, i64>,
    /// By the regency or city of the applicant's address (`33.75`).
    #[schema(example = json!({"33.75": 42}))]
    pub by_regency: BTreeMap<String, i64>,
    /// By district (`33.75.01`).
    #[schema(example = json!({"33.75.01": 30, "33.75.02": 12}))]
    pub by_district: BTreeMap<String, i64>,
    /// Cases with at least one need referred to the agency; a case with needs at two
    /// agencies counts under both.
    #[schema(example = json!({"DINSOS": 25, "DISDUKCAPIL": 6}))]
    pub by_opd: BTreeMap<String, i64>,
    /// Cases with at least one need granted under the programme; same rule as `by_opd`.
    #[schema(example = json!({"PKH": 20, "ADMINDUK": 6}))]
    pub by_programme: BTreeMap<String, i64>,
    /// Cases with an overdue need (as `overdue=true` selects).
    #[schema(example = 4)]
    pub overdue: i64,
}

// A need is overdue while an SLA clock has run out, and stays flagged once it was escalated:
// supervisors follow up on a case that went up the chain even after the agency answered.
const OVERDUE_NEED: &str = "(n.overdue_clock IS NOT NULL OR n.escalation_level > 0)";

/// `c.region_code` lies in `region` (a dotted code at any level, whole segments).
fn push_region(query: &mut QueryBuilder<Postgres>, region: &str) {
    // Addresses are village codes with fixed-width segments, so the regency and district
    // of one are its first 5 and 8 characters. At those levels (the usual ones) and for
    // a village, an equality on the expression the migration 0103 indexes together with
    // the page order serves the newest-first page straight from an index at any size of
    // region; scanning the page order and filtering cost 25 ms at p95 for a regency of
    // 25,000 among a million cases, and grows as the region shrinks.
    match region.matches('.').count() {
        1 => {
            query
                .push("substr(c.region_code, 1, 5) = ")
                .push_bind(region.to_string());
        }
        2 => {
            query
                .push("substr(c.region_code, 1, 8) = ")
                .push_bind(region.to_string());
        }
        3 => {
            query.push("c.region_code = ").push_bind(region.to_string());
        }
        _ => {
            // A province: the pattern operators compare bytes, as the text_pattern_ops
            // index orders them, and take bound values in a generic plan too (a bound
            // LIKE pattern would not): every code under `33` lies in ['33.', '33/'), '/'
            // being the byte after '.'.
            query
                .push("(c.region_code = ")
                .push_bind(region.to_string())
                .push(" OR (c.region_code ~>=~ ")
                .push_bind(format!("{region}."))
                .push(" AND c.region_code ~<~ ")
                .push_bind(format!("{region}/"))
                .push("))");
        }
    }
}

fn push_filter(query: &mut QueryBuilder<Postgres>, filter: &CaseFilter) {
    query.push(" WHERE TRUE");
    if let Some(status) = filter.status {
        query.push(" AND c.status = ").push_bind(status.code());
    }
    // The caller's areas and the region asked for meet in the fewest regions covering
    // both; for a caller with one area (everyone without a temporary grant) that is one
    // region, filtered exactly as a region asked for, so the same indexes serve it. A
    // `region_code LIKE ANY($1)` over the areas' patterns would select the same cases,
    // but an array of bound patterns is served by no index.
    let regions = filter.regions();
    match regions.as_slice() {
        [] if filter.areas.is_some() => {
            query.push(" AND FALSE");
        }
        [] => {}
        [region] => {
            query.push(" AND ");
            push_region(query, region);
        }
        several => {
            query.push(" AND (");
            for (index, region) in several.iter().enumerate() {
                if index > 0 {
                    query.push(" OR ");
                }
                push_region(query, region);
            }
            query.push(")");
        }
    }
    if let Some(opd) = &filter.opd_code {
        query
            .push(" AND EXISTS (SELECT 1 FROM tracked_needs n WHERE n.case_id = c.case_id AND n.opd_code = ")
            .push_bind(opd.clone())
            .push(")");
    }
    if let Some(programme) = &filter.programme_code {
        query
            .push(" AND EXISTS (SELECT 1 FROM tracked_needs n WHERE n.case_id = c.case_id AND n.programme_code = ")
            .push_bind(programme.clone())
            .push(")");
    }
    if let Some(overdue) = filter.overdue {
        query
            .push(if overdue { " AND EXISTS" } else { " AND NOT EXISTS" })
            .push(" (SELECT 1 FROM tracked_needs n WHERE n.case_id = c.case_id AND ")
            .push(OVERDUE_NEED)
            .push(")");
    }
    if let Some(from) = filter.opened_from {
        query.push(" AND c.opened_at >= ").push_bind(from);
    }
    if let Some(to) = filter.opened_to {
        query.push(" AND c.opened_at < ").push_bind(to);
    }
}

fn terminal_need_statuses() -> Vec<String> {
    NeedStatus::ALL
        .into_iter()
        .filter(|status| status.is_terminal())
        .map(|status| status.code().to_string())
        .collect()
}

/// One page of cases, newest first (by opening time, then case id), and the cursor of the
/// next page when there is one.
pub async fn list(
    pool: &PgPool,
    filter: &CaseFilter,
    after: Option<Cursor>,
    limit: i64,
) -> Result<(Vec<CaseSummary>, Option<Cursor>), sqlx::Error> {
    let mut query = QueryBuilder::<Postgres>::new(
        "SELECT c.case_id, c.case_number, c.kind, c.status, c.applicant_name, c.nik_masked, c.region_code,
                c.opened_at, c.updated_at, s.need_count, s.open_need_count, s.max_escalation_level, s.overdue,
                s.opd_codes
         FROM tracked_cases c
         CROSS JOIN LATERAL (
             SELECT count(*) AS need_count,
                    count(*) FILTER (WHERE NOT (n.status = ANY(",
    );
    query.push_bind(terminal_need_statuses()).push(
        "))) AS open_need_count,
                    COALESCE(max(n.escalation_level), 0) AS max_escalation_level,
                    COALESCE(bool_or",
    );
    query.push(OVERDUE_NEED).push(
        ", false) AS overdue,
                    COALESCE(array_agg(DISTINCT n.opd_code ORDER BY n.opd_code)
                             FILTER (WHERE n.opd_code IS NOT NULL), '{}') AS opd_codes
             FROM tracked_needs n WHERE n.case_id = c.case_id
         ) s",
    );
    push_filter(&mut query, filter);
    if let Some(after) = after {
        query
            .push(" AND (c.opened_at, c.case_id) < (")
            .push_bind(after.opened_at)
            .push(", ")
            .push_bind(after.case_id)
            .push(")");
    }
    // One more than asked: whether it exists says if there is a next page, so the last page
    // carries no cursor and no client fetches an empty page.
    query
        .push(" ORDER BY c.opened_at DESC, c.case_id DESC LIMIT ")
        .push_bind(limit + 1);
    let rows = query.build().fetch_all(pool).await?;
    let mut cases = rows
        .iter()
        .map(|row| {
            Ok(CaseSummary {
                case_id: row.try_get("case_id")?,
                case_number: row.try_get("case_number")?,
                kind: row.try_get("kind")?,
                status: row.try_get("status")?,
                applicant: ApplicantView {
                    full_name: row.try_get("applicant_name")?,
                    nik_masked: row.try_get("nik_masked")?,
                    region_code: row.try_get("region_code")?,
                },
                opened_at: row.try_get("opened_at")?,
                updated_at: row.try_get("updated_at")?,
                need_count: row.try_get("need_count")?,
                open_need_count: row.try_get("open_need_count")?,
                max_escalation_level: row.try_get("max_escalation_level")?,
                overdue: row.try_get("overdue")?,
                opd_codes: row.try_get("opd_codes")?,
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    let next = if cases.len() > limit {
        cases.truncate(limit);
        cases.last().map(|case| Cursor {
            opened_at: case.opened_at,
            case_id: case.case_id,
        })
    } else {
        None
    };
    Ok((cases, next))
}

/// The dashboard counts over the cases `filter` selects, from one snapshot so that they add up.
pub async fn counts(pool: &PgPool, filter: &CaseFilter) -> Result<CaseCounts, sqlx::Error> {
    let mut tx = pool.begin().await?;
    sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        .execute(&mut *tx)
        .await?;
    let mut counts = CaseCounts {
        by_status: CaseStatus::ALL
            .iter()
            .map(|status| (status.code().to_string(), 0))
            .collect(),
        ..CaseCounts::default()
    };
    if let Some(mark) = filter.running_totals_mark() {
        running_totals(&mut tx, filter.status, &filter.regions(), mark, &mut counts).await?;
    } else {
        counted_from_cases(&mut tx, filter, &mut counts).await?;
    }
    tx.commit().await?;
    Ok(counts)
}

impl CaseFilter {
    /// The regions selected: the region asked for within the caller's areas (the fewest
    /// regions covering both), or the region alone for the service's own tools. Empty with
    /// areas means nothing is selected; empty without means everything is.
    fn regions(&self) -> Vec<String> {
        match &self.areas {
            Some(areas) => crate::access::effective_regions(areas, self.region.as_deref()),
            None => self.region.iter().cloned().collect(),
        }
    }

    /// Whether the running totals of migration 0106 answer these counts, and for which
    /// mark: `Some(None)` for the dashboard's usual questions (a status, a district or wider
    /// area, the caller's areas), `Some(Some(mark))` for the same about one agency,
    /// programme or the overdue cases. Two marks at once, "not overdue", dates or a village
    /// (the totals are kept per district) need the cases: `None`.
    fn running_totals_mark(&self) -> Option<Option<Mark>> {
        let regions = self.regions();
        // A caller whose areas meet nothing asked for is answered by the cases' query,
        // which selects nothing.
        let selects_nothing = self.areas.is_some() && regions.is_empty();
        if selects_nothing
            || self.opened_from.is_some()
            || self.opened_to.is_some()
            || self.overdue == Some(false)
            || regions.iter().any(|region| region.matches('.').count() > 2)
        {
            return None;
        }
        let mut marks = self
            .opd_code
            .iter()
            .map(|code| Mark {
                kind: "opd",
                code: code.clone(),
            })
            .chain(self.programme_code.iter().map(|code| Mark {
                kind: "programme",
                code: code.clone(),
            }))
            .chain((self.overdue == Some(true)).then(|| Mark {
                kind: "overdue",
                code: String::new(),
            }));
        match (marks.next(), marks.next()) {
            (None, _) => Some(None),
            (Some(mark), None) => Some(Some(mark)),
            (Some(_), Some(_)) => None,
        }
    }
}

/// A mark a need gives its case in the running totals: the agency it is referred to, the
/// programme it was granted under, or being overdue (code "").
#[derive(Debug, Clone, PartialEq, Eq)]
struct Mark {
    kind: &'static str,
    code: String,
}

/// Sums the running totals of the selected status and districts, of every case or of the
/// cases carrying `mark`: a row per status and district, and one per mark (agency,
/// programme, overdue) paired with `mark` (or with itself).
async fn running_totals(
    tx: &mut sqlx::PgConnection,
    status: Option<CaseStatus>,
    regions: &[String],
    mark: Option<Mark>,
    counts: &mut CaseCounts,
) -> Result<(), sqlx::Error> {
    // Every region here is a district or wider: a district lies in it when it is the region
    // or its code lies in ['<region>.', '<region>/'), the range the indexes of migration 0106
    // (text_pattern_ops, byte order) serve; '/' is the byte after '.'.
    let filter = |query: &mut QueryBuilder<Postgres>| {
        query.push(" WHERE TRUE");
        if let Some(status) = status {
            query.push(" AND c.status = ").push_bind(status.code());
        }
        if !regions.is_empty() {
            query.push(" AND (");
            for (index, region) in regions.iter().enumerate() {
                if index > 0 {
                    query.push(" OR ");
                }
                query
                    .push("c.district_code = ")
                    .push_bind(region.clone())
                    .push(" OR (c.district_code ~>=~ ")
                    .push_bind(format!("{region}."))
                    .push(" AND c.district_code ~<~ ")
                    .push_bind(format!("{region}/"))
                    .push(")");
            }
            query.push(")");
        }
    };
    // The cells of pairs with `mark`.
    let with_mark = |query: &mut QueryBuilder<Postgres>, mark: &Mark| {
        query
            .push(" AND c.with_kind = ")
            .push_bind(mark.kind)
            .push(" AND c.with_code = ")
            .push_bind(mark.code.clone());
    };
    let mut query = match &mark {
        None => QueryBuilder::<Postgres>::new(
            "SELECT c.status, c.district_code, sum(c.cases)::bigint AS cases FROM case_count_cells c",
        ),
        Some(_) => QueryBuilder::<Postgres>::new(
            "SELECT c.status, c.district_code, sum(c.cases)::bigint AS cases FROM case_mark_cells c",
        ),
    };
    filter(&mut query);
    if let Some(mark) = &mark {
        query.push(" AND c.kind = c.with_kind AND c.code = c.with_code");
        with_mark(&mut query, mark);
    }
    query.push(" GROUP BY 1, 2 HAVING sum(c.cases) <> 0");
    for row in query.build().fetch_all(&mut *tx).await? {
        let cases: i64 = row.try_get("cases")?;
        let status: String = row.try_get("status")?;
        let district: String = row.try_get("district_code")?;
        counts.total += cases;
        *counts.by_status.entry(status).or_default() += cases;
        let regency: String = district.chars().take(5).collect();
        *counts.by_regency.entry(regency).or_default() += cases;
        *counts.by_district.entry(district).or_default() += cases;
    }
    let mut query =
        QueryBuilder::<Postgres>::new("SELECT c.kind, c.code, sum(c.cases)::bigint AS cases FROM case_mark_cells c");
    filter(&mut query);
    match &mark {
        None => {
            // As the partial index case_mark_cells_own states it, for the planner to use it.
            query.push(" AND c.kind = c.with_kind AND c.code = c.with_code");
        }
        Some(mark) => with_mark(&mut query, mark),
    }
    query.push(" GROUP BY 1, 2 HAVING sum(c.cases) <> 0");
    for row in query.build().fetch_all(&mut *tx).await? {
        let cases: i64 = row.try_get("cases")?;
        let code: String = row.try_get("code")?;
        match row.try_get::<String, _>("kind")?.as_str() {
            "opd" => {
                counts.by_opd.insert(code, cases);
            }
            "programme" => {
                counts.by_programme.insert(code, cases);
            }
            _ => counts.overdue += cases,
        }
    }
    Ok(())
}

/// Counts read from every selected case and need.
async fn counted_from_cases(
    tx: &mut sqlx::PgConnection,
    filter: &CaseFilter,
    counts: &mut CaseCounts,
) -> Result<(), sqlx::Error> {
    // Counting reads every selected case and need, so the plan is known to be large: JIT
    // compilation cost more than it saved (2.3 s of a 12 s count over a million cases), and
    // the grouping of cases needs more than the default work_mem to hash in memory rather
    // than sort on disk.
    sqlx::query("SET LOCAL jit = off").execute(&mut *tx).await?;
    sqlx::query("SET LOCAL work_mem = '64MB'").execute(&mut *tx).await?;

    // One scan of the selected cases, grouped by status and district; the total, the
    // regencies and the statuses are sums of those groups (a district code starts with its
    // regency's), which one hash aggregate computes faster than grouping sets would.
    let mut query = QueryBuilder::<Postgres>::new(
        "SELECT c.status, substr(c.region_code, 1, 8) AS district, count(*) AS cases,
                count(*) FILTER (WHERE EXISTS (SELECT 1 FROM tracked_needs n WHERE n.case_id = c.case_id AND ",
    );
    query.push(OVERDUE_NEED).push(")) AS overdue FROM tracked_cases c");
    push_filter(&mut query, filter);
    query.push(" GROUP BY 1, 2");
    for row in query.build().fetch_all(&mut *tx).await? {
        let cases: i64 = row.try_get("cases")?;
        let overdue: i64 = row.try_get("overdue")?;
        let status: String = row.try_get("status")?;
        let district: String = row.try_get("district")?;
        counts.total += cases;
        counts.overdue += overdue;
        *counts.by_status.entry(status).or_default() += cases;
        let regency: String = district.chars().take(5).collect();
        *counts.by_regency.entry(regency).or_default() += cases;
        *counts.by_district.entry(district).or_default() += cases;
    }

    // Cases per agency and per programme: each (code, case) pair once, read in the order of
    // the (code, case_id) index, then counted per code. With the larger work_mem the planner
    // hashes the pairs instead, which measured 2.6 times slower at a million cases.
    sqlx::query("RESET work_mem").execute(&mut *tx).await?;
    for (column, map) in [
        ("opd_code", &mut counts.by_opd),
        ("programme_code", &mut counts.by_programme),
    ] {
        let mut query = QueryBuilder::<Postgres>::new(format!(
            "SELECT code, count(*) AS cases FROM (SELECT DISTINCT n.{column} AS code, n.case_id FROM tracked_needs n
             WHERE n.{column} IS NOT NULL"
        ));
        if *filter != CaseFilter::default() {
            query.push(" AND EXISTS (SELECT 1 FROM tracked_cases c");
            push_filter(&mut query, filter);
            query.push(" AND c.case_id = n.case_id)");
        }
        query.push(") pairs GROUP BY code");
        for row in query.build().fetch_all(&mut *tx).await? {
            map.insert(row.try_get("code")?, row.try_get("cases")?);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field_of(error: ApiError) -> String {
        error.field.unwrap_or_default()
    }

    #[test]
    fn a_cursor_round_trips_and_garbage_is_refused_naming_next() {
        let cursor = Cursor {
            opened_at: DateTime::from_timestamp_micros(1_772_409_600_123_456).unwrap(),
            case_id: Uuid::now_v7(),
        };
        assert_eq!(Cursor::parse(&cursor.encode()).unwrap(), cursor);
        for garbage in ["garbage", "", "zz", &hex::encode("12/not-a-uuid"), &hex::encode("x/y")] {
            assert_eq!(field_of(Cursor::parse(garbage).unwrap_err()), "next", "{garbage}");
        }
    }

    #[test]
    fn a_region_filter_takes_whole_segments_at_any_level() {
        for (text, expected) in [
            ("33", "33"),
            ("33.75", "33.75"),
            ("33.75.01", "33.75.01"),
            ("33.75.01.1002", "33.75.01.1002"),
            ("3375", "33.75"),
        ] {
            let raw = RawCaseFilter {
                region: Some(text),
                ..RawCaseFilter::default()
            };
            assert_eq!(CaseFilter::parse(&raw).unwrap().region.as_deref(), Some(expected));
        }
        for bad in ["3", "33.7", "33.75.1", "33.75.01.10", "99.99", "33..75", "33.75."] {
            let raw = RawCaseFilter {
                region: Some(bad),
                ..RawCaseFilter::default()
            };
            assert_eq!(field_of(CaseFilter::parse(&raw).unwrap_err()), "region", "{bad}");
        }
    }

    #[test]
    fn a_bare_date_is_midnight_in_wib_and_rfc_3339_keeps_its_offset() {
        let raw = RawCaseFilter {
            opened_from: Some("2026-03-02"),
            opened_to: Some("2026-03-02T09:00:00+07:00"),
            ..RawCaseFilter::default()
        };
        let filter = CaseFilter::parse(&raw).unwrap();
        assert_eq!(filter.opened_from.unwrap().to_rfc3339(), "2026-03-01T17:00:00+00:00");
        assert_eq!(filter.opened_to.unwrap().to_rfc3339(), "2026-03-02T02:00:00+00:00");
        for (field, raw) in [
            (
                "opened_from",
                RawCaseFilter {
                    opened_from: Some("yesterday"),
                    ..RawCaseFilter::default()
                },
            ),
            (
                "opened_to",
                RawCaseFilter {
                    opened_to: Some("2026-02-30"),
                    ..RawCaseFilter::default()
                },
            ),
            (
                "opened_to",
                RawCaseFilter {
                    opened_from: Some("2026-03-02"),
                    opened_to: Some("2026-03-02"),
                    ..RawCaseFilter::default()
                },
            ),
        ] {
            assert_eq!(field_of(CaseFilter::parse(&raw).unwrap_err()), field);
        }
    }

    #[test]
    fn other_bad_values_are_refused_naming_their_field() {
        let cases = [
            (
                "status",
                RawCaseFilter {
                    status: Some("done"),
                    ..RawCaseFilter::default()
                },
            ),
            (
                "opd",
                RawCaseFilter {
                    opd: Some("dinsos"),
                    ..RawCaseFilter::default()
                },
            ),
            (
                "programme",
                RawCaseFilter {
                    programme: Some(""),
                    ..RawCaseFilter::default()
                },
            ),
            (
                "overdue",
                RawCaseFilter {
                    overdue: Some("yes"),
                    ..RawCaseFilter::default()
                },
            ),
        ];
        for (field, raw) in cases {
            assert_eq!(field_of(CaseFilter::parse(&raw).unwrap_err()), field);
        }
        for bad in ["0", "501", "-1", "ten", ""] {
            assert_eq!(field_of(page_size(Some(bad)).unwrap_err()), "limit", "{bad}");
        }
        assert_eq!(page_size(None).unwrap(), DEFAULT_PAGE);
        assert_eq!(page_size(Some("500")).unwrap(), 500);
    }
}
