//! Duplicates caught at the desk, and the back office's adjudication queue.
//!
//! The desk's check is the pure matcher (`domain::matching`) run over the people who share a
//! blocking key with the applicant, found through the `person_blocking_keys` table rather
//! than an index in memory, so that every instance of the service sees every registration
//! as soon as it commits. Each suspected pair is queued once (`duplicate-<id>`); a pair
//! decided `distinct` is never suggested again. A merge is proposed by one person and
//! confirmed or rejected by another (`domain::duplicate`).

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use slrt_audit::Outcome;
use slrt_audit::access::Access;
use slrt_errors::{ApiError, ErrorCode};
use slrt_eventstore::{EventStore, ExpectedVersion, NewEvent, RecordedEvent};
use slrt_identity::{Nik, RegionCode, Sex};
use slrt_proto::intake::v1 as proto;
use sqlx::{PgConnection, Postgres, QueryBuilder, Row};
use uuid::Uuid;

use super::Intake;
use super::people::{
    self, HouseholdChange, PeopleProjectionError, Stamp, append_and_apply, mask_number, niks_of, person_stream,
};
use crate::access;
use crate::domain::Applicant;
use crate::domain::duplicate::{Pair, PairError, PairStatus};
use crate::domain::household::Relationship;
use crate::domain::matching::{self, ExactKind, FieldValue, Identity, KnownPerson, Match, MatchKind, PersonIndex};
use crate::domain::person::{Adjudication, Person};

/// What the desk's check found for an applicant.
#[derive(Debug, Clone)]
pub struct Assessment {
    /// The applicant is this known person (their NIK, name, birth date and sex agree):
    /// `Exact(SamePerson)`, or `Exact(MemberOfAnotherHousehold)` when they belong to another
    /// household than the declared one.
    pub known: Option<Match>,
    /// Pairs to adjudicate: the NIK held by someone else, probable second records, and the
    /// known person's membership of another household.
    pub suspects: Vec<Match>,
    /// The household the applicant was checked against.
    pub household_id: Uuid,
}

fn identity(applicant: &Applicant) -> Identity {
    Identity::from(applicant)
}

/// The people who share a blocking key with the applicant, each with the record it was
/// merged into, if it was.
async fn sharing_a_key(
    conn: &mut PgConnection,
    identity: &Identity,
) -> Result<Vec<(KnownPerson, Option<Uuid>)>, ApiError> {
    let keys = matching::blocking_keys(identity);
    let rows = sqlx::query(
        "SELECT p.person_id, p.household_id, p.nik, p.full_name, p.birth_date, p.sex, p.region_code, p.merged_into
         FROM people p
         WHERE p.person_id IN (SELECT person_id FROM person_blocking_keys WHERE key = ANY($1))",
    )
    .bind(&keys)
    .fetch_all(&mut *conn)
    .await
    .map_err(ApiError::unavailable)?;
    let mut known = Vec::with_capacity(rows.len());
    for row in &rows {
        let read = |error: sqlx::Error| ApiError::internal(error);
        let nik: String = row.try_get("nik").map_err(read)?;
        let sex: String = row.try_get("sex").map_err(read)?;
        let region: String = row.try_get("region_code").map_err(read)?;
        // Every stored value was validated when registered; one that no longer parses (a
        // region code since retired) leaves that person out of the comparison.
        let (Ok(nik), Ok(sex), Ok(region)) = (Nik::parse(&nik), Sex::parse(&sex), RegionCode::parse(&region)) else {
            continue;
        };
        let person = KnownPerson {
            person_id: row.try_get("person_id").map_err(read)?,
            household_id: row.try_get("household_id").map_err(read)?,
            identity: Identity {
                nik,
                full_name: row.try_get("full_name").map_err(read)?,
                birth_date: row.try_get::<NaiveDate, _>("birth_date").map_err(read)?,
                sex,
                region,
            },
        };
        known.push((person, row.try_get("merged_into").map_err(read)?));
    }
    Ok(known)
}

/// The record a merged record answers under now, through chains of merges.
async fn final_survivor(conn: &mut PgConnection, person_id: Uuid) -> Result<Option<(Uuid, Option<Uuid>)>, ApiError> {
    let row = sqlx::query(
        "WITH RECURSIVE chain(person_id, merged_into, household_id, depth) AS (
             SELECT person_id, merged_into, household_id, 0 FROM people WHERE person_id = $1
             UNION ALL
             SELECT p.person_id, p.merged_into, p.household_id, c.depth + 1
             FROM people p JOIN chain c ON p.person_id = c.merged_into
             WHERE c.depth < 64
         )
         SELECT person_id, household_id FROM chain WHERE merged_into IS NULL LIMIT 1",
    )
    .bind(person_id)
    .fetch_optional(&mut *conn)
    .await
    .map_err(ApiError::unavailable)?;
    row.map(|row| Ok((row.try_get("person_id")?, row.try_get("household_id")?)))
        .transpose()
        .map_err(|error: sqlx::Error| ApiError::internal(error))
}

fn is_known(found: &Match) -> bool {
    matches!(
        found.kind,
        MatchKind::Exact(ExactKind::SamePerson | ExactKind::MemberOfAnotherHousehold)
    )
}

/// Checks an applicant being registered into `household_id` against everyone known.
pub async fn assess(
    conn: &mut PgConnection,
    applicant: &Applicant,
    household_id: Uuid,
) -> Result<Assessment, ApiError> {
    let identity = identity(applicant);
    let mut index = PersonIndex::new();
    let mut retired = std::collections::HashSet::new();
    for (person, merged_into) in sharing_a_key(conn, &identity).await? {
        if merged_into.is_some() {
            retired.insert(person.person_id);
        }
        index.insert(person);
    }
    let (mut live, merged): (Vec<Match>, Vec<Match>) = index
        .candidates(&identity, Some(household_id))
        .into_iter()
        .partition(|found| !retired.contains(&found.person_id));
    // Exact matches come first, best first: the first same-person one is the applicant.
    let mut known = live.iter().position(is_known).map(|at| live.remove(at));
    if known.is_none()
        && let Some(found) = merged.into_iter().find(is_known)
        && let Some((survivor, survivor_household)) = final_survivor(conn, found.person_id).await?
    {
        // The applicant is a record an adjudicator merged away: they are its survivor now.
        let elsewhere = survivor_household.is_some_and(|their| their != household_id);
        live.retain(|other| other.person_id != survivor);
        known = Some(Match {
            person_id: survivor,
            household_id: survivor_household,
            kind: MatchKind::Exact(if elsewhere {
                ExactKind::MemberOfAnotherHousehold
            } else {
                ExactKind::SamePerson
            }),
            ..found
        });
    }
    let mut suspects: Vec<Match> = Vec::with_capacity(live.len() + 1);
    if let Some(known) = &known
        && known.kind == MatchKind::Exact(ExactKind::MemberOfAnotherHousehold)
    {
        suspects.push(known.clone());
    }
    suspects.extend(live);
    Ok(Assessment {
        known,
        suspects,
        household_id,
    })
}

fn kind_of(found: &Match) -> &'static str {
    match found.kind {
        MatchKind::Exact(_) => "exact",
        _ => "probable",
    }
}

/// A field's value as the back office may see it: NIKs masked.
fn shown(value: &FieldValue) -> String {
    match value {
        FieldValue::Nik(nik) => nik.masked(),
        other => other.to_string(),
    }
}

fn fields_of(found: &Match) -> Vec<proto::FieldComparison> {
    found
        .fields
        .iter()
        .map(|field| proto::FieldComparison {
            field: field.field().code().to_string(),
            agreement: field.agreement.code().to_string(),
            left: shown(&field.left),
            right: shown(&field.right),
            weight: field.weight,
        })
        .collect()
}

/// The pair a match makes with the applicant's record: two person records, or, for a
/// membership of another household, the person and the household the desk declared.
fn pair_of(person_id: Uuid, found: &Match, declared_household: Uuid) -> (Uuid, Option<Uuid>, Option<Uuid>) {
    if found.kind == MatchKind::Exact(ExactKind::MemberOfAnotherHousehold) {
        (found.person_id, None, Some(declared_household))
    } else {
        (person_id, Some(found.person_id), None)
    }
}

fn ordered(a: Uuid, b: Uuid) -> (Uuid, Uuid) {
    if a <= b { (a, b) } else { (b, a) }
}

/// The queue entry of a pair, and whether it was decided.
async fn entry_of(conn: &mut PgConnection, a: Uuid, b: Uuid) -> Result<Option<(Uuid, bool)>, ApiError> {
    let (low, high) = ordered(a, b);
    let row = sqlx::query("SELECT duplicate_id, status FROM duplicate_suspects WHERE pair_low = $1 AND pair_high = $2")
        .bind(low)
        .bind(high)
        .fetch_optional(&mut *conn)
        .await
        .map_err(ApiError::unavailable)?;
    row.map(|row| {
        let id: Uuid = row.try_get("duplicate_id")?;
        let status: String = row.try_get("status")?;
        Ok((id, status == "decided"))
    })
    .transpose()
    .map_err(|error: sqlx::Error| ApiError::internal(error))
}

/// Queues each suspect of an assessment as a pair with `person_id` (the applicant's record),
/// once per pair: a pair already open is reported with its entry, a decided pair is neither
/// queued nor reported again.
pub async fn queue(
    store: &EventStore,
    conn: &mut PgConnection,
    person_id: Uuid,
    assessment: &Assessment,
    case_id: Option<Uuid>,
) -> Result<Vec<proto::DuplicateSuspect>, ApiError> {
    let mut reported = Vec::with_capacity(assessment.suspects.len());
    for found in &assessment.suspects {
        let (subject, other_person, declared) = pair_of(person_id, found, assessment.household_id);
        let Some(other) = other_person.or(declared) else {
            continue;
        };
        if subject == other {
            continue;
        }
        // Both desks see each other's pair once it commits; in between, two registrations
        // racing to queue the same pair are serialised here.
        let (low, high) = ordered(subject, other);
        sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 104))")
            .bind(format!("pair:{low}:{high}"))
            .execute(&mut *conn)
            .await
            .map_err(ApiError::unavailable)?;
        let duplicate_id = match entry_of(conn, subject, other).await? {
            Some((_, true)) => continue,
            Some((id, false)) => id,
            None => {
                let duplicate_id = Uuid::now_v7();
                let suspected = proto::DuplicateSuspected {
                    duplicate_id: duplicate_id.to_string(),
                    kind: kind_of(found).to_string(),
                    reason: found.kind.code().to_string(),
                    person_id: subject.to_string(),
                    other_person_id: other_person.map(|id| id.to_string()).unwrap_or_default(),
                    declared_household_id: declared.map(|id| id.to_string()).unwrap_or_default(),
                    score: found.score,
                    fields: fields_of(found),
                    case_id: case_id.map(|id| id.to_string()).unwrap_or_default(),
                };
                let event = NewEvent::new(&suspected);
                let event = match case_id {
                    Some(case_id) => event.for_case(case_id),
                    None => event,
                };
                append_and_apply(
                    store,
                    conn,
                    &duplicate_stream(duplicate_id),
                    ExpectedVersion::NoStream,
                    vec![event],
                )
                .await?;
                tracing::info!(duplicate.id = %duplicate_id, duplicate.kind = found.kind.code(), "duplicate suspected");
                duplicate_id
            }
        };
        reported.push(suspect_of(found, duplicate_id.to_string()));
    }
    Ok(reported)
}

fn suspect_of(found: &Match, duplicate_id: String) -> proto::DuplicateSuspect {
    proto::DuplicateSuspect {
        duplicate_id,
        kind: kind_of(found).to_string(),
        reason: found.kind.code().to_string(),
        person_id: found.person_id.to_string(),
        household_id: found.household_id.map(|id| id.to_string()).unwrap_or_default(),
        score: found.score,
        fields: fields_of(found),
    }
}

pub fn duplicate_stream(duplicate_id: Uuid) -> String {
    format!("duplicate-{duplicate_id}")
}

/// A suspect as the desk's JSON shows it.
pub fn suspect_body(suspect: &proto::DuplicateSuspect) -> serde_json::Value {
    let fields = |wanted: fn(f64) -> bool| {
        suspect
            .fields
            .iter()
            .filter(|field| wanted(field.weight))
            .map(|field| field.field.clone())
            .collect::<Vec<_>>()
    };
    serde_json::json!({
        "duplicate_id": (!suspect.duplicate_id.is_empty()).then_some(&suspect.duplicate_id),
        "kind": suspect.kind,
        "reason": suspect.reason,
        "person_id": suspect.person_id,
        "household_id": (!suspect.household_id.is_empty()).then_some(&suspect.household_id),
        "score": suspect.score,
        "agreeing_fields": fields(|weight| weight > 0.0),
        "differing_fields": fields(|weight| weight < 0.0),
        "fields": suspect.fields.iter().map(field_body).collect::<Vec<_>>(),
    })
}

fn field_body(field: &proto::FieldComparison) -> serde_json::Value {
    serde_json::json!({
        "field": field.field,
        "agreement": field.agreement,
        "left": field.left,
        "right": field.right,
        "weight": field.weight,
        "agrees": field.weight > 0.0,
        "differs": field.weight < 0.0,
    })
}

// --- projection ---

fn projected_id(event: &RecordedEvent, field: &'static str, text: &str) -> Result<Uuid, PeopleProjectionError> {
    Uuid::parse_str(text).map_err(|_| PeopleProjectionError::Field {
        event_type: event.event_type.clone(),
        field,
    })
}

pub(crate) async fn project_suspected(
    conn: &mut PgConnection,
    event: &RecordedEvent,
    suspected: &proto::DuplicateSuspected,
) -> Result<(), PeopleProjectionError> {
    let duplicate_id = projected_id(event, "duplicate_id", &suspected.duplicate_id)?;
    let person_id = projected_id(event, "person_id", &suspected.person_id)?;
    let other_person = Uuid::parse_str(&suspected.other_person_id).ok();
    let declared = Uuid::parse_str(&suspected.declared_household_id).ok();
    let other = other_person.or(declared).ok_or_else(|| PeopleProjectionError::Field {
        event_type: event.event_type.clone(),
        field: "other_person_id",
    })?;
    let (low, high) = ordered(person_id, other);
    let fields = serde_json::Value::Array(suspected.fields.iter().map(field_body).collect());
    // The pair's areas are its records' address regions, as known when it was queued
    // (both records are registered by then, live and in a replay).
    sqlx::query(
        "INSERT INTO duplicate_suspects (duplicate_id, kind, reason, person_id, other_person_id, declared_household_id,
                                         pair_low, pair_high, score, fields, case_id, status, suspected_at,
                                         region_code, other_region_code)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'open', $12,
                 (SELECT region_code FROM people WHERE person_id = $4),
                 COALESCE((SELECT region_code FROM people WHERE person_id = $5),
                          (SELECT region_code FROM households WHERE household_id = $6)))
         ON CONFLICT DO NOTHING",
    )
    .bind(duplicate_id)
    .bind(&suspected.kind)
    .bind(&suspected.reason)
    .bind(person_id)
    .bind(other_person)
    .bind(declared)
    .bind(low)
    .bind(high)
    .bind(suspected.score)
    .bind(fields)
    .bind(Uuid::parse_str(&suspected.case_id).ok())
    .bind(event.occurred_at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub(crate) async fn project_adjudicated(
    conn: &mut PgConnection,
    event: &RecordedEvent,
    decided: &proto::DuplicateAdjudicated,
) -> Result<(), PeopleProjectionError> {
    let duplicate_id = projected_id(event, "duplicate_id", &decided.duplicate_id)?;
    sqlx::query(
        "UPDATE duplicate_suspects
         SET status = 'decided', decision = $2, survivor_person_id = $3, decision_reason = $4, decided_by = $5,
             decided_at = $6
         WHERE duplicate_id = $1",
    )
    .bind(duplicate_id)
    .bind(&decided.decision)
    .bind(Uuid::parse_str(&decided.survivor_person_id).ok())
    .bind(&decided.reason)
    .bind(&decided.actor)
    .bind(event.occurred_at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub(crate) async fn project_merge_proposed(
    conn: &mut PgConnection,
    event: &RecordedEvent,
    proposed: &proto::DuplicateMergeProposed,
) -> Result<(), PeopleProjectionError> {
    let duplicate_id = projected_id(event, "duplicate_id", &proposed.duplicate_id)?;
    sqlx::query(
        "UPDATE duplicate_suspects
         SET status = 'merge_proposed', proposed_survivor_person_id = $2, proposed_by = $3, proposal_reason = $4,
             proposed_at = $5
         WHERE duplicate_id = $1",
    )
    .bind(duplicate_id)
    .bind(Uuid::parse_str(&proposed.survivor_person_id).ok())
    .bind(&proposed.proposed_by)
    .bind(&proposed.reason)
    .bind(event.occurred_at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub(crate) async fn project_merge_rejected(
    conn: &mut PgConnection,
    event: &RecordedEvent,
    rejected: &proto::DuplicateMergeRejected,
) -> Result<(), PeopleProjectionError> {
    let duplicate_id = projected_id(event, "duplicate_id", &rejected.duplicate_id)?;
    sqlx::query(
        "UPDATE duplicate_suspects
         SET status = 'open', rejected_by = $2, rejection_reason = $3, rejected_at = $4,
             proposed_survivor_person_id = NULL, proposed_by = NULL, proposal_reason = NULL, proposed_at = NULL
         WHERE duplicate_id = $1",
    )
    .bind(duplicate_id)
    .bind(&rejected.rejected_by)
    .bind(&rejected.reason)
    .bind(event.occurred_at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

// --- the desk's pre-screen ---

/// The answer to `POST /v1/people/check`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PersonCheck {
    /// known (the NIK's holder is this person) or new.
    #[schema(example = "known")]
    pub status: String,
    /// The known person record, when known.
    pub person_id: Option<Uuid>,
    /// The household holding (or last holding) the declared KK, when there is one.
    pub household_id: Option<Uuid>,
    /// Pairs that may be one person; `duplicate_id` is set when the pair is already queued.
    #[schema(value_type = Vec<Object>)]
    pub duplicate_suspects: Vec<serde_json::Value>,
}

impl Intake {
    /// The desk's duplicate check without registering anyone: the same assessment a case
    /// registration makes, read-only. With the NIKs of the people the answer shows (for the
    /// audit record of the check).
    pub async fn check_person(&self, applicant: &Applicant) -> Result<(PersonCheck, Vec<String>), ApiError> {
        let mut conn = self.pool.acquire().await.map_err(ApiError::unavailable)?;
        let household = people::household_of_kk(&mut conn, applicant.kk.as_str()).await?;
        // A household not yet registered gets a placeholder id, as registration would give
        // it a new one: a known person elsewhere is then in another household.
        let assessment = assess(&mut conn, applicant, household.unwrap_or_else(Uuid::now_v7)).await?;
        let mut suspects = Vec::with_capacity(assessment.suspects.len());
        for found in &assessment.suspects {
            let subject = assessment.known.as_ref().map(|known| known.person_id);
            let entry = match subject {
                Some(person_id) => {
                    let (a, other_person, declared) = pair_of(person_id, found, assessment.household_id);
                    match other_person.or(declared) {
                        Some(b) if household.is_some() || other_person.is_some() => entry_of(&mut conn, a, b).await?,
                        _ => None,
                    }
                }
                None => None,
            };
            match entry {
                Some((_, true)) => continue,
                Some((id, false)) => suspects.push(suspect_body(&suspect_of(found, id.to_string()))),
                None => suspects.push(suspect_body(&suspect_of(found, String::new()))),
            }
        }
        let shown: Vec<Uuid> = assessment
            .known
            .iter()
            .chain(&assessment.suspects)
            .map(|found| found.person_id)
            .collect();
        let mut niks = vec![applicant.nik.as_str().to_string()];
        niks.extend(niks_of(&mut conn, &shown).await?);
        let check = PersonCheck {
            status: if assessment.known.is_some() { "known" } else { "new" }.to_string(),
            person_id: assessment.known.as_ref().map(|known| known.person_id),
            household_id: household,
            duplicate_suspects: suspects,
        };
        Ok((check, niks))
    }
}

// --- the queue ---

/// Which entries a page lists.
#[derive(Debug, Clone, Default)]
pub struct QueueFilter {
    pub status: Option<PairStatus>,
    /// exact or probable.
    pub kind: Option<String>,
    /// The caller's areas: pairs with a record in one of them.
    pub areas: Vec<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DuplicateSummary {
    pub duplicate_id: Uuid,
    /// exact or probable.
    #[schema(example = "probable")]
    pub kind: String,
    /// nik_held_by_another, member_of_another_household, probable.
    #[schema(example = "probable")]
    pub reason: String,
    /// open, merge_proposed (awaiting a coordinator's check) or decided.
    #[schema(example = "open")]
    pub status: String,
    pub person_id: Uuid,
    pub other_person_id: Option<Uuid>,
    pub declared_household_id: Option<Uuid>,
    pub score: f64,
    pub case_id: Option<Uuid>,
    pub suspected_at: DateTime<Utc>,
    /// distinct or same_person, once decided.
    pub decision: Option<String>,
}

fn summary_of(row: &sqlx::postgres::PgRow) -> Result<DuplicateSummary, sqlx::Error> {
    Ok(DuplicateSummary {
        duplicate_id: row.try_get("duplicate_id")?,
        kind: row.try_get("kind")?,
        reason: row.try_get("reason")?,
        status: row.try_get("status")?,
        person_id: row.try_get("person_id")?,
        other_person_id: row.try_get("other_person_id")?,
        declared_household_id: row.try_get("declared_household_id")?,
        score: row.try_get("score")?,
        case_id: row.try_get("case_id")?,
        suspected_at: row.try_get("suspected_at")?,
        decision: row.try_get("decision")?,
    })
}

const SUMMARY_COLUMNS: &str = "duplicate_id, kind, reason, status, person_id, other_person_id, declared_household_id, \
                               score, case_id, suspected_at, decision";

/// One page of the queue, oldest first (ids are UUIDv7), after `after`, within the
/// filter's areas; the cursor of the next page when there is one; and the NIKs of the
/// records on the page (for the audit record of the read).
pub async fn list(
    conn: &mut PgConnection,
    filter: &QueueFilter,
    after: Option<Uuid>,
    limit: i64,
) -> Result<(Vec<DuplicateSummary>, Option<Uuid>, Vec<String>), ApiError> {
    let mut query =
        QueryBuilder::<Postgres>::new(format!("SELECT {SUMMARY_COLUMNS} FROM duplicate_suspects WHERE TRUE"));
    if let Some(status) = filter.status {
        query.push(" AND status = ").push_bind(status.code());
    }
    if let Some(kind) = &filter.kind {
        query.push(" AND kind = ").push_bind(kind.clone());
    }
    if let Some(after) = after {
        query.push(" AND duplicate_id > ").push_bind(after);
    }
    access::push_regions(
        &mut query,
        &["region_code", "other_region_code"],
        &access::effective_regions(&filter.areas, None),
    );
    query.push(" ORDER BY duplicate_id LIMIT ").push_bind(limit + 1);
    let rows = query
        .build()
        .fetch_all(&mut *conn)
        .await
        .map_err(ApiError::unavailable)?;
    let mut page = rows
        .iter()
        .map(summary_of)
        .collect::<Result<Vec<_>, _>>()
        .map_err(ApiError::internal)?;
    let next = if page.len() as i64 > limit {
        page.truncate(limit as usize);
        page.last().map(|last| last.duplicate_id)
    } else {
        None
    };
    let records: Vec<Uuid> = page
        .iter()
        .flat_map(|pair| std::iter::once(pair.person_id).chain(pair.other_person_id))
        .collect();
    let niks = niks_of(conn, &records).await?;
    Ok((page, next, niks))
}

/// A record of a pair, as the adjudicator sees it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SideView {
    pub person_id: Option<Uuid>,
    pub household_id: Option<Uuid>,
    #[schema(example = "3375********0003")]
    pub nik_masked: Option<String>,
    pub full_name: Option<String>,
    pub birth_date: Option<NaiveDate>,
    pub sex: Option<String>,
    pub region_code: Option<String>,
    pub merged_into: Option<Uuid>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DuplicateView {
    #[serde(flatten)]
    pub summary: DuplicateSummary,
    /// The record made or used at the desk.
    pub left: SideView,
    /// The known person it may be; for member_of_another_household, the household declared.
    pub right: SideView,
    /// Each field side by side, as compared when the pair was found (NIKs masked).
    #[schema(value_type = Vec<Object>)]
    pub fields: serde_json::Value,
    pub agreeing_fields: Vec<String>,
    pub differing_fields: Vec<String>,
    pub survivor_person_id: Option<Uuid>,
    pub decision_reason: Option<String>,
    /// Who decided: for `distinct`, the adjudicator; for a merge, the coordinator who
    /// confirmed it.
    pub decided_by: Option<String>,
    pub decided_at: Option<DateTime<Utc>>,
    /// The merge proposed (awaiting a checker while `merge_proposed`, or the one confirmed):
    /// the record to stay, who proposed it, why and when.
    pub proposed_survivor_person_id: Option<Uuid>,
    pub proposed_by: Option<String>,
    pub proposal_reason: Option<String>,
    pub proposed_at: Option<DateTime<Utc>>,
    /// The last proposal a checker rejected, which sent the pair back to the queue.
    pub rejected_by: Option<String>,
    pub rejection_reason: Option<String>,
    pub rejected_at: Option<DateTime<Utc>>,
}

async fn side_of_person(conn: &mut PgConnection, person_id: Uuid) -> Result<SideView, ApiError> {
    let row = sqlx::query(
        "SELECT nik, full_name, birth_date, sex, region_code, household_id, merged_into FROM people WHERE person_id = $1",
    )
    .bind(person_id)
    .fetch_optional(&mut *conn)
    .await
    .map_err(ApiError::unavailable)?;
    let read = |error: sqlx::Error| ApiError::internal(error);
    Ok(match row {
        None => SideView {
            person_id: Some(person_id),
            household_id: None,
            nik_masked: None,
            full_name: None,
            birth_date: None,
            sex: None,
            region_code: None,
            merged_into: None,
        },
        Some(row) => SideView {
            person_id: Some(person_id),
            household_id: row.try_get("household_id").map_err(read)?,
            nik_masked: Some(mask_number(&row.try_get::<String, _>("nik").map_err(read)?)),
            full_name: Some(row.try_get("full_name").map_err(read)?),
            birth_date: Some(row.try_get("birth_date").map_err(read)?),
            sex: Some(row.try_get("sex").map_err(read)?),
            region_code: Some(row.try_get("region_code").map_err(read)?),
            merged_into: row.try_get("merged_into").map_err(read)?,
        },
    })
}

/// One queue entry with both records side by side.
pub async fn find(conn: &mut PgConnection, duplicate_id: Uuid) -> Result<Option<DuplicateView>, ApiError> {
    let sql = format!(
        "SELECT {SUMMARY_COLUMNS}, fields, survivor_person_id, decision_reason, decided_by, decided_at,
                proposed_survivor_person_id, proposed_by, proposal_reason, proposed_at,
                rejected_by, rejection_reason, rejected_at
         FROM duplicate_suspects WHERE duplicate_id = $1"
    );
    let Some(row) = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(duplicate_id)
        .fetch_optional(&mut *conn)
        .await
        .map_err(ApiError::unavailable)?
    else {
        return Ok(None);
    };
    let read = |error: sqlx::Error| ApiError::internal(error);
    let summary = summary_of(&row).map_err(read)?;
    let fields: serde_json::Value = row.try_get("fields").map_err(read)?;
    let named = |flag: &str| -> Vec<String> {
        fields
            .as_array()
            .into_iter()
            .flatten()
            .filter(|field| field[flag] == serde_json::Value::Bool(true))
            .filter_map(|field| field["field"].as_str().map(str::to_string))
            .collect()
    };
    let (agreeing_fields, differing_fields) = (named("agrees"), named("differs"));
    let left = side_of_person(conn, summary.person_id).await?;
    let right = match (summary.other_person_id, summary.declared_household_id) {
        (Some(other), _) => side_of_person(conn, other).await?,
        (None, household_id) => SideView {
            person_id: None,
            household_id,
            nik_masked: None,
            full_name: None,
            birth_date: None,
            sex: None,
            region_code: None,
            merged_into: None,
        },
    };
    Ok(Some(DuplicateView {
        left,
        right,
        fields,
        agreeing_fields,
        differing_fields,
        survivor_person_id: row.try_get("survivor_person_id").map_err(read)?,
        decision_reason: row.try_get("decision_reason").map_err(read)?,
        decided_by: row.try_get("decided_by").map_err(read)?,
        decided_at: row.try_get("decided_at").map_err(read)?,
        proposed_survivor_person_id: row.try_get("proposed_survivor_person_id").map_err(read)?,
        proposed_by: row.try_get("proposed_by").map_err(read)?,
        proposal_reason: row.try_get("proposal_reason").map_err(read)?,
        proposed_at: row.try_get("proposed_at").map_err(read)?,
        rejected_by: row.try_get("rejected_by").map_err(read)?,
        rejection_reason: row.try_get("rejection_reason").map_err(read)?,
        rejected_at: row.try_get("rejected_at").map_err(read)?,
        summary,
    }))
}

impl Intake {
    /// Decides a queued pair of the caller's area. `distinct`: recorded, never suggested
    /// again. `same_person`: proposed, for another person to confirm or reject
    /// ([`Intake::confirm_merge`], [`Intake::reject_merge`]). A pair decided or awaiting a
    /// checker takes no decision (a conflict).
    pub async fn decide_duplicate(
        &self,
        access: &Access,
        duplicate_id: Uuid,
        adjudication: Adjudication,
    ) -> Result<DuplicateView, ApiError> {
        let action = match adjudication {
            Adjudication::Distinct { .. } => "duplicate.decide",
            Adjudication::SamePerson { .. } => "duplicate.propose_merge",
        };
        let mut tx = self.pool.begin().await.map_err(ApiError::unavailable)?;
        let pair = self.pair_in_area(access, &mut tx, duplicate_id, action).await?;
        pair.rules()
            .decide()
            .map_err(|error| pair_refusal(duplicate_id, error))?;
        let event = match &adjudication {
            Adjudication::Distinct { reason } => NewEvent::new(&proto::DuplicateAdjudicated {
                duplicate_id: duplicate_id.to_string(),
                decision: adjudication.code().to_string(),
                survivor_person_id: String::new(),
                merged_person_id: String::new(),
                reason: reason.clone(),
                actor: access.subject().to_string(),
            }),
            Adjudication::SamePerson { survivor, reason } => {
                let (merged, declared) = pair.merge_of(*survivor)?;
                NewEvent::new(&proto::DuplicateMergeProposed {
                    duplicate_id: duplicate_id.to_string(),
                    survivor_person_id: survivor.to_string(),
                    merged_person_id: merged.map(|id| id.to_string()).unwrap_or_default(),
                    declared_household_id: declared.map(|id| id.to_string()).unwrap_or_default(),
                    reason: reason.clone(),
                    proposed_by: access.subject().to_string(),
                })
            }
        };
        self.append_to_pair(&mut tx, duplicate_id, vec![event]).await?;
        let detail = serde_json::json!({ "decision": adjudication.code(), "reason": adjudication.reason() });
        self.finish_pair_change(access, tx, &pair, action, detail).await?;
        tracing::info!(duplicate.id = %duplicate_id, decision = adjudication.code(), "duplicate adjudicated");
        self.pair_view(duplicate_id).await
    }

    /// A coordinator other than the proposer confirms a proposed merge: the other record is
    /// merged into the survivor (its stream and cases are kept and answer under the
    /// survivor; its household membership passes to the survivor when the survivor has
    /// none, or ends when both were in one household); for a member of another household,
    /// the person moves to the household the desk declared.
    pub async fn confirm_merge(
        &self,
        access: &Access,
        duplicate_id: Uuid,
        note: String,
    ) -> Result<DuplicateView, ApiError> {
        let action = "duplicate.confirm_merge";
        let mut tx = self.pool.begin().await.map_err(ApiError::unavailable)?;
        let pair = self.pair_in_area(access, &mut tx, duplicate_id, action).await?;
        if let Err(error) = pair.rules().review(access.subject()) {
            drop(tx);
            return Err(self.refuse_review(access, duplicate_id, action, error).await);
        }
        let (Some(survivor), Some(proposed_by)) = (pair.proposed_survivor, pair.proposed_by.clone()) else {
            return Err(ApiError::internal(std::io::Error::other(
                "a proposed merge without its survivor or proposer",
            )));
        };
        let reason = pair.proposal_reason.clone().unwrap_or_default();
        let (merged, declared) = pair.merge_of(survivor)?;
        let cause = Uuid::now_v7();
        let stamp = Stamp {
            actor: access.subject(),
            case_id: None,
            join_reason: "merged",
            cause: Some(cause),
        };
        match (merged, declared) {
            (Some(merged), _) => {
                self.merge(&mut tx, survivor, merged, duplicate_id, &reason, cause, stamp)
                    .await?
            }
            (None, Some(household_id)) => self.move_person(&mut tx, survivor, household_id, stamp).await?,
            (None, None) => {
                return Err(ApiError::internal(std::io::Error::other(
                    "a queued pair without a second record",
                )));
            }
        }
        let optional = |id: Option<Uuid>| id.map(|id| id.to_string()).unwrap_or_default();
        let confirmed = NewEvent::new(&proto::DuplicateMergeConfirmed {
            duplicate_id: duplicate_id.to_string(),
            survivor_person_id: survivor.to_string(),
            merged_person_id: optional(merged),
            declared_household_id: optional(declared),
            proposed_by: proposed_by.clone(),
            confirmed_by: access.subject().to_string(),
            note: note.clone(),
        });
        let mut decided = NewEvent::new(&proto::DuplicateAdjudicated {
            duplicate_id: duplicate_id.to_string(),
            decision: "same_person".to_string(),
            survivor_person_id: survivor.to_string(),
            merged_person_id: optional(merged),
            reason,
            actor: access.subject().to_string(),
        });
        // The merge's events name this decision as their cause.
        decided.event_id = cause;
        self.append_to_pair(&mut tx, duplicate_id, vec![confirmed, decided])
            .await?;
        let detail = serde_json::json!({
            "survivor_person_id": survivor,
            "merged_person_id": merged,
            "declared_household_id": declared,
            "proposed_by": proposed_by,
            "note": note,
        });
        self.finish_pair_change(access, tx, &pair, action, detail).await?;
        tracing::info!(duplicate.id = %duplicate_id, "merge confirmed");
        self.pair_view(duplicate_id).await
    }

    /// A coordinator other than the proposer rejects a proposed merge: the pair goes back
    /// to the queue, undecided (the evidence fell short of a merge, which does not make the
    /// records two people), for another proposal or a `distinct`.
    pub async fn reject_merge(
        &self,
        access: &Access,
        duplicate_id: Uuid,
        reason: String,
    ) -> Result<DuplicateView, ApiError> {
        let action = "duplicate.reject_merge";
        let mut tx = self.pool.begin().await.map_err(ApiError::unavailable)?;
        let pair = self.pair_in_area(access, &mut tx, duplicate_id, action).await?;
        if let Err(error) = pair.rules().review(access.subject()) {
            drop(tx);
            return Err(self.refuse_review(access, duplicate_id, action, error).await);
        }
        let proposed_by = pair.proposed_by.clone().unwrap_or_default();
        let rejected = NewEvent::new(&proto::DuplicateMergeRejected {
            duplicate_id: duplicate_id.to_string(),
            proposed_by: proposed_by.clone(),
            rejected_by: access.subject().to_string(),
            reason: reason.clone(),
        });
        self.append_to_pair(&mut tx, duplicate_id, vec![rejected]).await?;
        let detail = serde_json::json!({ "proposed_by": proposed_by, "reason": reason });
        self.finish_pair_change(access, tx, &pair, action, detail).await?;
        tracing::info!(duplicate.id = %duplicate_id, "merge rejected");
        self.pair_view(duplicate_id).await
    }

    /// A pair of the caller's area, locked for the decision; one outside it is "no
    /// duplicate", as a missing one, and the attempt is audited.
    async fn pair_in_area(
        &self,
        access: &Access,
        conn: &mut PgConnection,
        duplicate_id: Uuid,
        action: &str,
    ) -> Result<LockedPair, ApiError> {
        match lock_pair(conn, duplicate_id).await? {
            Some(pair) if pair.covered_by(access) => Ok(pair),
            _ => Err(self
                .not_found(
                    access,
                    action,
                    format!("duplicate/{duplicate_id}"),
                    format!("no duplicate {duplicate_id}"),
                )
                .await),
        }
    }

    /// The refusal of a review, audited as denied when it is the proposer's own.
    async fn refuse_review(&self, access: &Access, duplicate_id: Uuid, action: &str, error: PairError) -> ApiError {
        if error == PairError::OwnProposal {
            let audited = self
                .audit(
                    access,
                    action,
                    format!("duplicate/{duplicate_id}"),
                    &[],
                    Outcome::Denied,
                    serde_json::json!({ "reason": error.to_string() }),
                )
                .await;
            if let Err(failure) = audited {
                return failure;
            }
        }
        pair_refusal(duplicate_id, error)
    }

    /// Appends to the pair's stream at the version read under the pair's lock.
    async fn append_to_pair(
        &self,
        conn: &mut PgConnection,
        duplicate_id: Uuid,
        events: Vec<NewEvent>,
    ) -> Result<(), ApiError> {
        let stream = duplicate_stream(duplicate_id);
        let version = slrt_eventstore::stream_version(&mut *conn, &stream)
            .await
            .map_err(ApiError::unavailable)?;
        append_and_apply(&self.store, conn, &stream, ExpectedVersion::Exact(version), events).await?;
        Ok(())
    }

    /// Audits a decision on a pair in its transaction, naming both records, and commits.
    async fn finish_pair_change(
        &self,
        access: &Access,
        mut tx: sqlx::Transaction<'static, sqlx::Postgres>,
        pair: &LockedPair,
        action: &str,
        detail: serde_json::Value,
    ) -> Result<(), ApiError> {
        let records: Vec<Uuid> = std::iter::once(pair.person_id).chain(pair.other_person).collect();
        let niks = niks_of(&mut tx, &records).await?;
        let audit = access::record(
            access,
            action,
            format!("duplicate/{}", pair.duplicate_id),
            self.nik_tokens_of(niks.iter().map(String::as_str)),
            Outcome::Allowed,
            detail,
        );
        slrt_audit::record(&mut tx, &audit)
            .await
            .map_err(ApiError::unavailable)?;
        tx.commit().await.map_err(ApiError::unavailable)
    }

    async fn pair_view(&self, duplicate_id: Uuid) -> Result<DuplicateView, ApiError> {
        let mut conn = self.pool.acquire().await.map_err(ApiError::unavailable)?;
        find(&mut conn, duplicate_id)
            .await?
            .ok_or_else(|| ApiError::not_found(format!("no duplicate {duplicate_id}")))
    }

    /// One pair of the caller's area with both records side by side, and the NIKs of its
    /// records (for the audit record of the read); `None` when there is none.
    pub async fn duplicate_in_area(
        &self,
        access: &Access,
        duplicate_id: Uuid,
    ) -> Result<Option<(DuplicateView, Vec<String>)>, ApiError> {
        let mut conn = self.pool.acquire().await.map_err(ApiError::unavailable)?;
        let regions: Option<(Option<String>, Option<String>)> =
            sqlx::query_as("SELECT region_code, other_region_code FROM duplicate_suspects WHERE duplicate_id = $1")
                .bind(duplicate_id)
                .fetch_optional(&mut *conn)
                .await
                .map_err(ApiError::unavailable)?;
        let Some((region, other_region)) = regions else {
            return Ok(None);
        };
        if ![region, other_region]
            .iter()
            .flatten()
            .any(|region| access.covers(region))
        {
            return Ok(None);
        }
        let Some(view) = find(&mut conn, duplicate_id).await? else {
            return Ok(None);
        };
        let records: Vec<Uuid> = std::iter::once(view.summary.person_id)
            .chain(view.summary.other_person_id)
            .collect();
        let niks = niks_of(&mut conn, &records).await?;
        Ok(Some((view, niks)))
    }

    #[expect(clippy::too_many_arguments, reason = "one merge's facts, passed once")]
    async fn merge(
        &self,
        tx: &mut PgConnection,
        survivor: Uuid,
        merged: Uuid,
        duplicate_id: Uuid,
        reason: &str,
        cause: Uuid,
        stamp: Stamp<'_>,
    ) -> Result<(), ApiError> {
        let state = |row: Option<sqlx::postgres::PgRow>, id: Uuid| -> Result<(Person, Option<Uuid>), ApiError> {
            let row = row.ok_or_else(|| ApiError::rejected(format!("person {id} is not known")))?;
            let read = |error: sqlx::Error| ApiError::internal(error);
            Ok((
                Person {
                    merged_into: row.try_get("merged_into").map_err(read)?,
                },
                row.try_get("household_id").map_err(read)?,
            ))
        };
        let fetch = "SELECT merged_into, household_id FROM people WHERE person_id = $1 FOR UPDATE";
        let survivor_row = sqlx::query(fetch)
            .bind(survivor)
            .fetch_optional(&mut *tx)
            .await
            .map_err(ApiError::unavailable)?;
        let merged_row = sqlx::query(fetch)
            .bind(merged)
            .fetch_optional(&mut *tx)
            .await
            .map_err(ApiError::unavailable)?;
        let (survivor_state, survivor_household) = state(survivor_row, survivor)?;
        let (merged_state, merged_household) = state(merged_row, merged)?;
        if let Some(already) = survivor_state.merged_into {
            return Err(ApiError::rejected(format!(
                "the survivor {survivor} was itself merged into {already}; decide with that record"
            ))
            .with_field("survivor_person_id"));
        }
        merged_state
            .merge_into(merged, survivor)
            .map_err(|error| ApiError::rejected(error.message).with_field(error.field))?;

        let version = slrt_eventstore::stream_version(&mut *tx, &person_stream(merged))
            .await
            .map_err(ApiError::unavailable)?;
        let event = NewEvent::new(&proto::PeopleMerged {
            survivor_person_id: survivor.to_string(),
            merged_person_id: merged.to_string(),
            duplicate_id: duplicate_id.to_string(),
            reason: reason.to_string(),
            actor: stamp.actor.to_string(),
        })
        .caused_by(cause);
        append_and_apply(
            &self.store,
            tx,
            &person_stream(merged),
            ExpectedVersion::Exact(version),
            vec![event],
        )
        .await?;

        // The merged record's membership answers under the survivor: passed on when the
        // survivor has no household, ended when both are in the same one. When they are in
        // two households, both memberships stay for the back office to settle (the person
        // view shows both under the survivor).
        if let Some(household_id) = merged_household
            && (survivor_household.is_none() || survivor_household == Some(household_id))
        {
            let mut change = HouseholdChange::load(&self.store, tx, household_id).await?;
            let relationship = change
                .state
                .members
                .get(&merged)
                .copied()
                .unwrap_or(Relationship::Other);
            let was_head = change.state.head == Some(merged);
            if survivor_household.is_none() {
                let joining = if was_head { Relationship::Other } else { relationship };
                change.then(|household| household.add_member(survivor, joining))?;
            }
            if was_head {
                change.then(|household| household.change_head(survivor, "merged", Relationship::Other))?;
            }
            change.then(|household| household.remove_member(merged, "merged"))?;
            change.commit(&self.store, tx, stamp).await?;
        }
        tracing::info!(person.survivor = %survivor, person.merged = %merged, "people merged");
        Ok(())
    }

    /// The person lives in the household the desk declared now: they leave their household
    /// and join that one.
    async fn move_person(
        &self,
        tx: &mut PgConnection,
        person_id: Uuid,
        household_id: Uuid,
        stamp: Stamp<'_>,
    ) -> Result<(), ApiError> {
        let current: Option<Uuid> = sqlx::query_scalar("SELECT household_id FROM people WHERE person_id = $1")
            .bind(person_id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(ApiError::unavailable)?
            .flatten();
        let stamp = Stamp {
            join_reason: "moved",
            ..stamp
        };
        if let Some(current) = current.filter(|current| *current != household_id) {
            let mut leaving = HouseholdChange::load(&self.store, tx, current).await?;
            leaving.then(|household| household.remove_member(person_id, "moved"))?;
            leaving.commit(&self.store, tx, stamp).await?;
        }
        if current != Some(household_id) {
            let mut joining = HouseholdChange::load(&self.store, tx, household_id).await?;
            let relationship = if joining.state.head.is_none() && joining.state.members.is_empty() {
                Relationship::Head
            } else {
                Relationship::Other
            };
            joining.then(|household| household.add_member(person_id, relationship))?;
            joining.commit(&self.store, tx, stamp).await?;
        }
        Ok(())
    }
}

/// A queued pair, locked for a decision, with what the rules and the scope need.
struct LockedPair {
    duplicate_id: Uuid,
    status: PairStatus,
    person_id: Uuid,
    other_person: Option<Uuid>,
    declared: Option<Uuid>,
    region: Option<String>,
    other_region: Option<String>,
    proposed_survivor: Option<Uuid>,
    proposed_by: Option<String>,
    proposal_reason: Option<String>,
}

async fn lock_pair(conn: &mut PgConnection, duplicate_id: Uuid) -> Result<Option<LockedPair>, ApiError> {
    let row = sqlx::query(
        "SELECT status, person_id, other_person_id, declared_household_id, region_code, other_region_code,
                proposed_survivor_person_id, proposed_by, proposal_reason
         FROM duplicate_suspects WHERE duplicate_id = $1 FOR UPDATE",
    )
    .bind(duplicate_id)
    .fetch_optional(&mut *conn)
    .await
    .map_err(ApiError::unavailable)?;
    let Some(row) = row else { return Ok(None) };
    let read = |error: sqlx::Error| ApiError::internal(error);
    let status: String = row.try_get("status").map_err(read)?;
    Ok(Some(LockedPair {
        duplicate_id,
        // The table's CHECK admits only the three codes.
        status: PairStatus::parse(&status).unwrap_or(PairStatus::Decided),
        person_id: row.try_get("person_id").map_err(read)?,
        other_person: row.try_get("other_person_id").map_err(read)?,
        declared: row.try_get("declared_household_id").map_err(read)?,
        region: row.try_get("region_code").map_err(read)?,
        other_region: row.try_get("other_region_code").map_err(read)?,
        proposed_survivor: row.try_get("proposed_survivor_person_id").map_err(read)?,
        proposed_by: row.try_get("proposed_by").map_err(read)?,
        proposal_reason: row.try_get("proposal_reason").map_err(read)?,
    }))
}

impl LockedPair {
    fn rules(&self) -> Pair {
        Pair {
            status: self.status,
            proposed_by: self.proposed_by.clone(),
        }
    }

    /// Either record lies in the caller's areas.
    fn covered_by(&self, access: &Access) -> bool {
        [&self.region, &self.other_region]
            .into_iter()
            .flatten()
            .any(|region| access.covers(region))
    }

    /// What merging with `survivor` staying means: the record merged into it, or, for a
    /// member of another household, the household the person moves to. A survivor outside
    /// the pair is refused, naming the field.
    fn merge_of(&self, survivor: Uuid) -> Result<(Option<Uuid>, Option<Uuid>), ApiError> {
        let person_id = self.person_id;
        match (self.other_person, self.declared) {
            (Some(other), _) if survivor == person_id => Ok((Some(other), None)),
            (Some(other), _) if survivor == other => Ok((Some(person_id), None)),
            (Some(other), _) => Err(ApiError::invalid(
                "survivor_person_id",
                format!("the survivor must be one of the pair: {person_id} or {other}"),
            )),
            (None, Some(household_id)) if survivor == person_id => Ok((None, Some(household_id))),
            (None, Some(_)) => Err(ApiError::invalid(
                "survivor_person_id",
                format!("this pair is one person ({person_id}) and a household; name that person"),
            )),
            (None, None) => Err(ApiError::internal(std::io::Error::other(
                "a queued pair without a second record",
            ))),
        }
    }
}

/// A decision the pair's state refuses: deciding twice, or while a merge awaits its
/// checker, is a conflict; the proposer checking their own merge is forbidden.
fn pair_refusal(duplicate_id: Uuid, error: PairError) -> ApiError {
    match error {
        PairError::OwnProposal => ApiError::new(ErrorCode::Forbidden, error.to_string()),
        PairError::AlreadyDecided => ApiError::conflict(format!("duplicate {duplicate_id} is already decided")),
        PairError::MergePending { .. } | PairError::NoProposal => {
            ApiError::conflict(format!("duplicate {duplicate_id}: {error}"))
        }
    }
}
