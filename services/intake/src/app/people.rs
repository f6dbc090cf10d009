//! People and households: registering the applicant of a case (in the case's transaction),
//! the back office's changes to a household, and the read models of both.
//!
//! Every change is an event on `person-<id>` or `household-<id>`, appended in the same
//! transaction as the read-model rows [`apply`] derives from it. [`apply`] is the one place
//! those rows are written, live and in a replay: [`rebuild`] clears the tables and applies a
//! store's events again, oldest first.

use chrono::{DateTime, NaiveDate, Utc};
use prost::Message;
use serde::Serialize;
use slrt_audit::Outcome;
use slrt_audit::access::Access;
use slrt_errors::ApiError;
use slrt_eventstore::{AppendError, EventStore, ExpectedVersion, NewEvent, RecordedEvent};
use slrt_identity::{KkNumber, Nik};
use slrt_proto::intake::v1 as proto;
use sqlx::{PgConnection, Row};
use uuid::Uuid;

use super::duplicates;
use super::idempotency::{self, IdempotencyKey, Pending};
use super::{Created, Intake};
use crate::access;
use crate::domain::Applicant;
use crate::domain::household::{Household, HouseholdError, HouseholdEvent, KkChangeReason, Relationship};
use crate::domain::matching::{self, Identity};

/// The event types [`apply`] derives rows from; every other event is passed over.
pub const PEOPLE_EVENT_TYPES: [&str; 12] = [
    "slrt.intake.v1.PersonRegistered",
    "slrt.intake.v1.HouseholdRegistered",
    "slrt.intake.v1.HouseholdMemberJoined",
    "slrt.intake.v1.HouseholdMemberLeft",
    "slrt.intake.v1.HouseholdKkChanged",
    "slrt.intake.v1.HouseholdHeadChanged",
    "slrt.intake.v1.PeopleMerged",
    "slrt.intake.v1.DuplicateSuspected",
    "slrt.intake.v1.DuplicateAdjudicated",
    "slrt.intake.v1.DuplicateMergeProposed",
    "slrt.intake.v1.DuplicateMergeRejected",
    // For the cases each person record was registered with (screening.person_id).
    "slrt.intake.v1.CaseOpened",
];

#[derive(Debug, thiserror::Error)]
pub enum PeopleProjectionError {
    #[error("people read model: {0}")]
    Database(#[from] sqlx::Error),
    #[error("{event_type} payload cannot be decoded: {source}")]
    Payload {
        event_type: String,
        source: prost::DecodeError,
    },
    #[error("{event_type} carries an invalid {field}")]
    Field { event_type: String, field: &'static str },
}

impl From<PeopleProjectionError> for ApiError {
    fn from(error: PeopleProjectionError) -> Self {
        match error {
            PeopleProjectionError::Database(error) => ApiError::unavailable(error),
            other => ApiError::internal(other),
        }
    }
}

fn decode<M: Message + Default>(event: &RecordedEvent) -> Result<M, PeopleProjectionError> {
    M::decode(event.payload.as_slice()).map_err(|source| PeopleProjectionError::Payload {
        event_type: event.event_type.clone(),
        source,
    })
}

fn id_of(event: &RecordedEvent, field: &'static str, text: &str) -> Result<Uuid, PeopleProjectionError> {
    Uuid::parse_str(text).map_err(|_| PeopleProjectionError::Field {
        event_type: event.event_type.clone(),
        field,
    })
}

fn optional_id(text: &str) -> Option<Uuid> {
    Uuid::parse_str(text).ok()
}

/// The people, household and duplicate read models.
const TABLES: [&str; 7] = [
    "people",
    "person_blocking_keys",
    "person_cases",
    "households",
    "household_kk_history",
    "household_members",
    "duplicate_suspects",
];

/// Empties the people, household and duplicate read models, before a [`rebuild`] in the
/// same transaction. The tables are locked in EXCLUSIVE mode and emptied with DELETE, not
/// TRUNCATE: readers keep seeing the old model until the commit, writers (the desk, the
/// back office) wait for the new one.
pub async fn clear(conn: &mut PgConnection) -> Result<(), sqlx::Error> {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "LOCK TABLE {} IN EXCLUSIVE MODE",
        TABLES.join(", ")
    )))
    .execute(&mut *conn)
    .await?;
    for table in TABLES {
        sqlx::query(sqlx::AssertSqlSafe(format!("DELETE FROM {table}")))
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Rebuilds the people, household and duplicate read models from intake's own events, given
/// oldest first (e.g. pages of `slrt_eventstore::read_all`, in one transaction with
/// [`clear`] before the first). Events of other types are skipped.
pub async fn rebuild<'a>(
    conn: &mut PgConnection,
    events: impl IntoIterator<Item = &'a RecordedEvent>,
) -> Result<(), PeopleProjectionError> {
    for event in events {
        apply(conn, event).await?;
    }
    Ok(())
}

/// Applies one of intake's own events to the people, household and duplicate read models.
/// Used by every use case right after its append, and by [`rebuild`].
pub async fn apply(conn: &mut PgConnection, event: &RecordedEvent) -> Result<(), PeopleProjectionError> {
    let at = event.occurred_at;
    match event.event_type.as_str() {
        "slrt.intake.v1.PersonRegistered" => {
            let registered: proto::PersonRegistered = decode(event)?;
            let person_id = id_of(event, "person_id", &registered.person_id)?;
            let birth_date = NaiveDate::parse_from_str(&registered.birth_date, "%Y-%m-%d").map_err(|_| {
                PeopleProjectionError::Field {
                    event_type: event.event_type.clone(),
                    field: "birth_date",
                }
            })?;
            sqlx::query(
                "INSERT INTO people (person_id, nik, full_name, birth_date, sex, region_code, registered_by,
                                     registered_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)
                 ON CONFLICT (person_id) DO NOTHING",
            )
            .bind(person_id)
            .bind(&registered.nik)
            .bind(&registered.full_name)
            .bind(birth_date)
            .bind(&registered.sex)
            .bind(&registered.region_code)
            .bind(&registered.registered_by)
            .bind(at)
            .execute(&mut *conn)
            .await?;
            if let Some(identity) = identity_of(&registered, birth_date) {
                let keys = matching::blocking_keys(&identity);
                sqlx::query(
                    "INSERT INTO person_blocking_keys (key, person_id)
                     SELECT key, $2 FROM UNNEST($1::text[]) AS k(key)
                     ON CONFLICT DO NOTHING",
                )
                .bind(&keys)
                .bind(person_id)
                .execute(&mut *conn)
                .await?;
            }
        }
        "slrt.intake.v1.HouseholdRegistered" => {
            let registered: proto::HouseholdRegistered = decode(event)?;
            let household_id = id_of(event, "household_id", &registered.household_id)?;
            sqlx::query(
                "INSERT INTO households (household_id, kk_number, region_code, registered_at, updated_at)
                 VALUES ($1, $2, $3, $4, $4)
                 ON CONFLICT (household_id) DO NOTHING",
            )
            .bind(household_id)
            .bind(&registered.kk_number)
            .bind(&registered.region_code)
            .bind(at)
            .execute(&mut *conn)
            .await?;
            record_kk(
                conn,
                household_id,
                &registered.kk_number,
                "registered",
                None,
                &registered.registered_by,
                at,
            )
            .await?;
        }
        "slrt.intake.v1.HouseholdMemberJoined" => {
            let joined: proto::HouseholdMemberJoined = decode(event)?;
            let household_id = id_of(event, "household_id", &joined.household_id)?;
            let person_id = id_of(event, "person_id", &joined.person_id)?;
            sqlx::query(
                "INSERT INTO household_members (household_id, person_id, relationship, joined_at)
                 VALUES ($1, $2, $3, $4)
                 ON CONFLICT (household_id, person_id) DO UPDATE SET relationship = EXCLUDED.relationship",
            )
            .bind(household_id)
            .bind(person_id)
            .bind(&joined.relationship)
            .bind(at)
            .execute(&mut *conn)
            .await?;
            sqlx::query("UPDATE people SET household_id = $2, relationship = $3, updated_at = $4 WHERE person_id = $1")
                .bind(person_id)
                .bind(household_id)
                .bind(&joined.relationship)
                .bind(at)
                .execute(&mut *conn)
                .await?;
            if joined.relationship == Relationship::Head.code() {
                set_head(conn, household_id, Some(person_id), at).await?;
            } else {
                touch_household(conn, household_id, at).await?;
            }
        }
        "slrt.intake.v1.HouseholdMemberLeft" => {
            let left: proto::HouseholdMemberLeft = decode(event)?;
            let household_id = id_of(event, "household_id", &left.household_id)?;
            let person_id = id_of(event, "person_id", &left.person_id)?;
            sqlx::query("DELETE FROM household_members WHERE household_id = $1 AND person_id = $2")
                .bind(household_id)
                .bind(person_id)
                .execute(&mut *conn)
                .await?;
            sqlx::query(
                "UPDATE people SET household_id = NULL, relationship = NULL, updated_at = $3
                 WHERE person_id = $1 AND household_id = $2",
            )
            .bind(person_id)
            .bind(household_id)
            .bind(at)
            .execute(&mut *conn)
            .await?;
            sqlx::query(
                "UPDATE households SET head_person_id = NULL, updated_at = $3
                 WHERE household_id = $1 AND head_person_id = $2",
            )
            .bind(household_id)
            .bind(person_id)
            .bind(at)
            .execute(&mut *conn)
            .await?;
            touch_household(conn, household_id, at).await?;
        }
        "slrt.intake.v1.HouseholdKkChanged" => {
            let changed: proto::HouseholdKkChanged = decode(event)?;
            let household_id = id_of(event, "household_id", &changed.household_id)?;
            let effective_on = NaiveDate::parse_from_str(&changed.effective_on, "%Y-%m-%d").ok();
            sqlx::query("UPDATE households SET kk_number = $2, updated_at = $3 WHERE household_id = $1")
                .bind(household_id)
                .bind(&changed.kk_number)
                .bind(at)
                .execute(&mut *conn)
                .await?;
            record_kk(
                conn,
                household_id,
                &changed.kk_number,
                &changed.reason,
                effective_on,
                &changed.actor,
                at,
            )
            .await?;
        }
        "slrt.intake.v1.HouseholdHeadChanged" => {
            let changed: proto::HouseholdHeadChanged = decode(event)?;
            let household_id = id_of(event, "household_id", &changed.household_id)?;
            let new_head = id_of(event, "new_head_person_id", &changed.new_head_person_id)?;
            if let Some(previous) = optional_id(&changed.previous_head_person_id) {
                set_relationship(conn, household_id, previous, &changed.previous_head_relationship).await?;
            }
            set_relationship(conn, household_id, new_head, Relationship::Head.code()).await?;
            set_head(conn, household_id, Some(new_head), at).await?;
        }
        "slrt.intake.v1.PeopleMerged" => {
            let merged: proto::PeopleMerged = decode(event)?;
            let merged_id = id_of(event, "merged_person_id", &merged.merged_person_id)?;
            let survivor = id_of(event, "survivor_person_id", &merged.survivor_person_id)?;
            sqlx::query("UPDATE people SET merged_into = $2, updated_at = $3 WHERE person_id = $1")
                .bind(merged_id)
                .bind(survivor)
                .bind(at)
                .execute(&mut *conn)
                .await?;
        }
        "slrt.intake.v1.DuplicateSuspected" => {
            let suspected: proto::DuplicateSuspected = decode(event)?;
            duplicates::project_suspected(conn, event, &suspected).await?;
        }
        "slrt.intake.v1.DuplicateAdjudicated" => {
            let decided: proto::DuplicateAdjudicated = decode(event)?;
            duplicates::project_adjudicated(conn, event, &decided).await?;
        }
        "slrt.intake.v1.DuplicateMergeProposed" => {
            let proposed: slrt_proto::intake::v1::DuplicateMergeProposed = decode(event)?;
            duplicates::project_merge_proposed(conn, event, &proposed).await?;
        }
        "slrt.intake.v1.DuplicateMergeRejected" => {
            let rejected: slrt_proto::intake::v1::DuplicateMergeRejected = decode(event)?;
            duplicates::project_merge_rejected(conn, event, &rejected).await?;
        }
        "slrt.intake.v1.CaseOpened" => {
            let opened: proto::CaseOpened = decode(event)?;
            let person = opened
                .screening
                .as_ref()
                .and_then(|screening| optional_id(&screening.person_id));
            if let (Some(person_id), Ok(case_id)) = (person, Uuid::parse_str(&opened.case_id)) {
                link_case(conn, person_id, case_id).await?;
            }
        }
        _ => {}
    }
    Ok(())
}

fn identity_of(registered: &proto::PersonRegistered, birth_date: NaiveDate) -> Option<Identity> {
    Some(Identity {
        nik: Nik::parse(&registered.nik).ok()?,
        full_name: registered.full_name.clone(),
        birth_date,
        sex: slrt_identity::Sex::parse(&registered.sex).ok()?,
        region: slrt_identity::RegionCode::parse(&registered.region_code).ok()?,
    })
}

async fn record_kk(
    conn: &mut PgConnection,
    household_id: Uuid,
    kk_number: &str,
    reason: &str,
    effective_on: Option<NaiveDate>,
    actor: &str,
    at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO household_kk_history (household_id, seq, kk_number, reason, effective_on, actor, recorded_at)
         SELECT $1, COALESCE(MAX(seq), 0) + 1, $2, $3, $4, $5, $6
         FROM household_kk_history WHERE household_id = $1",
    )
    .bind(household_id)
    .bind(kk_number)
    .bind(reason)
    .bind(effective_on)
    .bind(actor)
    .bind(at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

async fn set_head(
    conn: &mut PgConnection,
    household_id: Uuid,
    head: Option<Uuid>,
    at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE households SET head_person_id = $2, updated_at = $3 WHERE household_id = $1")
        .bind(household_id)
        .bind(head)
        .bind(at)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

async fn touch_household(conn: &mut PgConnection, household_id: Uuid, at: DateTime<Utc>) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE households SET updated_at = $2 WHERE household_id = $1")
        .bind(household_id)
        .bind(at)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

async fn set_relationship(
    conn: &mut PgConnection,
    household_id: Uuid,
    person_id: Uuid,
    relationship: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE household_members SET relationship = $3 WHERE household_id = $1 AND person_id = $2")
        .bind(household_id)
        .bind(person_id)
        .bind(relationship)
        .execute(&mut *conn)
        .await?;
    sqlx::query("UPDATE people SET relationship = $3 WHERE person_id = $2 AND household_id = $1")
        .bind(household_id)
        .bind(person_id)
        .bind(relationship)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Records that a case is about a person record (its CaseOpened says so too; this is the
/// same row, written when the case is registered so the person reads back at once).
pub async fn link_case(conn: &mut PgConnection, person_id: Uuid, case_id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO person_cases (person_id, case_id) VALUES ($1, $2)
         ON CONFLICT (person_id, case_id) DO NOTHING",
    )
    .bind(person_id)
    .bind(case_id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

// --- writing ---

/// Appends events to one stream at the version the decision was taken on, and applies them
/// to the read models in the same transaction. A concurrent writer makes it a conflict the
/// caller can retry.
pub(crate) async fn append_and_apply(
    store: &EventStore,
    conn: &mut PgConnection,
    stream_id: &str,
    expected: ExpectedVersion,
    events: Vec<NewEvent>,
) -> Result<Vec<RecordedEvent>, ApiError> {
    if events.is_empty() {
        return Ok(Vec::new());
    }
    let recorded = store
        .append(conn, stream_id, expected, events)
        .await
        .map_err(|error| match error {
            AppendError::Conflict { .. } => {
                ApiError::conflict("the record changed while this request was processed; retry it")
            }
            AppendError::Database(error) => ApiError::unavailable(error),
            other => ApiError::internal(other),
        })?;
    for event in &recorded {
        apply(conn, event).await?;
    }
    Ok(recorded)
}

/// The stream of a household.
pub fn household_stream(household_id: Uuid) -> String {
    format!("household-{household_id}")
}

/// The stream of a person record.
pub fn person_stream(person_id: Uuid) -> String {
    format!("person-{person_id}")
}

/// A household's state from its stream, and the stream's version; `None` if it has none.
pub(crate) async fn load_household(
    store: &EventStore,
    conn: &mut PgConnection,
    household_id: Uuid,
) -> Result<Option<(Household, i64)>, ApiError> {
    let recorded = store
        .load(&mut *conn, &household_stream(household_id))
        .await
        .map_err(ApiError::unavailable)?;
    let Some(last) = recorded.last() else { return Ok(None) };
    let version = last.stream_version;
    let mut household = Household::default();
    for event in &recorded {
        if let Some(domain) = household_event_of(event)? {
            household.apply(&domain);
        }
    }
    Ok(Some((household, version)))
}

fn household_event_of(event: &RecordedEvent) -> Result<Option<HouseholdEvent>, ApiError> {
    let relationship = |code: &str| Relationship::parse(code).unwrap_or(Relationship::Other);
    let id = |field: &'static str, text: &str| id_of(event, field, text).map_err(ApiError::internal);
    Ok(Some(match event.event_type.as_str() {
        "slrt.intake.v1.HouseholdRegistered" => {
            let registered: proto::HouseholdRegistered = decode(event).map_err(ApiError::internal)?;
            HouseholdEvent::Registered {
                kk_number: registered.kk_number,
            }
        }
        "slrt.intake.v1.HouseholdMemberJoined" => {
            let joined: proto::HouseholdMemberJoined = decode(event).map_err(ApiError::internal)?;
            HouseholdEvent::MemberJoined {
                person_id: id("person_id", &joined.person_id)?,
                relationship: relationship(&joined.relationship),
            }
        }
        "slrt.intake.v1.HouseholdMemberLeft" => {
            let left: proto::HouseholdMemberLeft = decode(event).map_err(ApiError::internal)?;
            HouseholdEvent::MemberLeft {
                person_id: id("person_id", &left.person_id)?,
                reason: left.reason,
            }
        }
        "slrt.intake.v1.HouseholdKkChanged" => {
            let changed: proto::HouseholdKkChanged = decode(event).map_err(ApiError::internal)?;
            HouseholdEvent::KkChanged {
                previous_kk_number: changed.previous_kk_number,
                kk_number: changed.kk_number,
                reason: KkChangeReason::parse(&changed.reason).unwrap_or(KkChangeReason::Correction),
                effective_on: NaiveDate::parse_from_str(&changed.effective_on, "%Y-%m-%d").unwrap_or_default(),
            }
        }
        "slrt.intake.v1.HouseholdHeadChanged" => {
            let changed: proto::HouseholdHeadChanged = decode(event).map_err(ApiError::internal)?;
            HouseholdEvent::HeadChanged {
                previous_head: optional_id(&changed.previous_head_person_id),
                new_head: id("new_head_person_id", &changed.new_head_person_id)?,
                reason: changed.reason,
                previous_head_relationship: relationship(&changed.previous_head_relationship),
            }
        }
        _ => return Ok(None),
    }))
}

/// Who did it and where, stamped on every event a household change makes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Stamp<'a> {
    pub actor: &'a str,
    pub case_id: Option<Uuid>,
    /// Why a member joined: registration, added, moved, merged.
    pub join_reason: &'a str,
    pub cause: Option<Uuid>,
}

/// The stored form of a household's domain events.
pub(crate) fn household_events(household_id: Uuid, events: &[HouseholdEvent], stamp: Stamp<'_>) -> Vec<NewEvent> {
    let household = household_id.to_string();
    let case = stamp.case_id.map(|id| id.to_string()).unwrap_or_default();
    events
        .iter()
        .map(|event| {
            let new = match event {
                HouseholdEvent::Registered { kk_number } => NewEvent::new(&proto::HouseholdRegistered {
                    household_id: household.clone(),
                    kk_number: kk_number.clone(),
                    region_code: String::new(),
                    registered_by: stamp.actor.to_string(),
                    case_id: case.clone(),
                }),
                HouseholdEvent::MemberJoined {
                    person_id,
                    relationship,
                } => NewEvent::new(&proto::HouseholdMemberJoined {
                    household_id: household.clone(),
                    person_id: person_id.to_string(),
                    relationship: relationship.code().to_string(),
                    actor: stamp.actor.to_string(),
                    case_id: case.clone(),
                    reason: stamp.join_reason.to_string(),
                }),
                HouseholdEvent::MemberLeft { person_id, reason } => NewEvent::new(&proto::HouseholdMemberLeft {
                    household_id: household.clone(),
                    person_id: person_id.to_string(),
                    reason: reason.clone(),
                    actor: stamp.actor.to_string(),
                }),
                HouseholdEvent::KkChanged {
                    previous_kk_number,
                    kk_number,
                    reason,
                    effective_on,
                } => NewEvent::new(&proto::HouseholdKkChanged {
                    household_id: household.clone(),
                    previous_kk_number: previous_kk_number.clone(),
                    kk_number: kk_number.clone(),
                    reason: reason.code().to_string(),
                    effective_on: effective_on.format("%Y-%m-%d").to_string(),
                    actor: stamp.actor.to_string(),
                }),
                HouseholdEvent::HeadChanged {
                    previous_head,
                    new_head,
                    reason,
                    previous_head_relationship,
                } => NewEvent::new(&proto::HouseholdHeadChanged {
                    household_id: household.clone(),
                    previous_head_person_id: previous_head.map(|id| id.to_string()).unwrap_or_default(),
                    new_head_person_id: new_head.to_string(),
                    reason: reason.clone(),
                    actor: stamp.actor.to_string(),
                    previous_head_relationship: previous_head_relationship.code().to_string(),
                }),
            };
            let new = match stamp.case_id {
                Some(case_id) => new.for_case(case_id),
                None => new,
            };
            match stamp.cause {
                Some(cause) => new.caused_by(cause),
                None => new,
            }
        })
        .collect()
}

/// Decides household changes one after the other on the folded state, so that a later one
/// sees what an earlier one did (a member joins, then becomes head).
pub(crate) struct HouseholdChange {
    pub household_id: Uuid,
    pub state: Household,
    pub version: i64,
    pub events: Vec<HouseholdEvent>,
}

impl HouseholdChange {
    pub(crate) async fn load(
        store: &EventStore,
        conn: &mut PgConnection,
        household_id: Uuid,
    ) -> Result<Self, ApiError> {
        let (state, version) = load_household(store, conn, household_id)
            .await?
            .ok_or_else(|| ApiError::not_found(format!("no household {household_id}")))?;
        Ok(Self {
            household_id,
            state,
            version,
            events: Vec::new(),
        })
    }

    pub(crate) fn then(
        &mut self,
        decide: impl FnOnce(&Household) -> Result<Vec<HouseholdEvent>, HouseholdError>,
    ) -> Result<(), ApiError> {
        let events = decide(&self.state).map_err(|error| ApiError::rejected(error.message).with_field(error.field))?;
        for event in &events {
            self.state.apply(event);
        }
        self.events.extend(events);
        Ok(())
    }

    pub(crate) async fn commit(
        self,
        store: &EventStore,
        conn: &mut PgConnection,
        stamp: Stamp<'_>,
    ) -> Result<Vec<RecordedEvent>, ApiError> {
        let events = household_events(self.household_id, &self.events, stamp);
        append_and_apply(
            store,
            conn,
            &household_stream(self.household_id),
            ExpectedVersion::Exact(self.version),
            events,
        )
        .await
    }
}

/// Serialises registrations of one NIK and of one KK number: two desks registering the same
/// family at the same moment must not make two households or two person records. The KK is
/// locked before the NIK everywhere, so two such transactions cannot wait on each other.
pub(crate) async fn lock_identity(
    conn: &mut PgConnection,
    kk: Option<&str>,
    nik: Option<&str>,
) -> Result<(), ApiError> {
    for key in [kk.map(|kk| format!("kk:{kk}")), nik.map(|nik| format!("nik:{nik}"))]
        .into_iter()
        .flatten()
    {
        sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 104))")
            .bind(key)
            .execute(&mut *conn)
            .await
            .map_err(ApiError::unavailable)?;
    }
    Ok(())
}

/// The household holding a KK number now, or, failing that, the one that held it last.
pub(crate) async fn household_of_kk(conn: &mut PgConnection, kk: &str) -> Result<Option<Uuid>, ApiError> {
    sqlx::query_scalar(
        "SELECT household_id FROM (
             SELECT household_id, 0 AS rank, registered_at AS at FROM households WHERE kk_number = $1
             UNION ALL
             SELECT household_id, 1, recorded_at FROM household_kk_history WHERE kk_number = $1
         ) AS found ORDER BY rank, at DESC LIMIT 1",
    )
    .bind(kk)
    .fetch_optional(&mut *conn)
    .await
    .map_err(ApiError::unavailable)
}

/// What registering a case's applicant did.
#[derive(Debug, Clone)]
pub struct Registration {
    pub person_id: Uuid,
    pub household_id: Uuid,
    /// A person record was made at this registration.
    pub new_person: bool,
    /// The applicant's household was registered at this registration.
    pub new_household: bool,
    /// Pairs that may be one person, each in the adjudication queue (once).
    pub suspects: Vec<proto::DuplicateSuspect>,
}

impl Registration {
    /// The part of the desk's answer about the person and the duplicate check.
    pub fn body(&self) -> serde_json::Value {
        serde_json::json!({
            "person_id": self.person_id,
            "household_id": self.household_id,
            "new_person": self.new_person,
            "new_household": self.new_household,
            "duplicate_suspects": self.suspects.iter().map(duplicates::suspect_body).collect::<Vec<_>>(),
        })
    }
}

/// Registers or finds a case's applicant and their household, in the case's transaction:
/// the household of the declared KK (registered when new), the person (the known record of
/// this NIK when it is the same person, else a new record, made a member of the household),
/// and the duplicate suspects, each queued for adjudication once. The desk is never
/// blocked: whatever the suspects, the case opens.
pub async fn register_applicant(
    store: &EventStore,
    conn: &mut PgConnection,
    case_id: Uuid,
    applicant: &Applicant,
    actor: &str,
) -> Result<Registration, ApiError> {
    lock_identity(conn, Some(applicant.kk.as_str()), Some(applicant.nik.as_str())).await?;
    let stamp = Stamp {
        actor,
        case_id: Some(case_id),
        join_reason: "registration",
        cause: None,
    };

    let (household_id, new_household) = match household_of_kk(conn, applicant.kk.as_str()).await? {
        Some(id) => (id, false),
        None => {
            let household_id = Uuid::now_v7();
            let registered = proto::HouseholdRegistered {
                household_id: household_id.to_string(),
                kk_number: applicant.kk.as_str().to_string(),
                region_code: applicant.region.dotted(),
                registered_by: actor.to_string(),
                case_id: case_id.to_string(),
            };
            append_and_apply(
                store,
                conn,
                &household_stream(household_id),
                ExpectedVersion::NoStream,
                vec![NewEvent::new(&registered).for_case(case_id)],
            )
            .await?;
            (household_id, true)
        }
    };

    let assessment = duplicates::assess(conn, applicant, household_id).await?;
    let (person_id, new_person, joins) = match &assessment.known {
        Some(known) => {
            let in_household: Option<Uuid> = sqlx::query_scalar("SELECT household_id FROM people WHERE person_id = $1")
                .bind(known.person_id)
                .fetch_optional(&mut *conn)
                .await
                .map_err(ApiError::unavailable)?
                .flatten();
            // A known person without a household joins the declared one; one in another
            // household stays there until an adjudicator says they moved.
            (known.person_id, false, in_household.is_none())
        }
        None => {
            let person_id = Uuid::now_v7();
            let registered = proto::PersonRegistered {
                person_id: person_id.to_string(),
                nik: applicant.nik.as_str().to_string(),
                full_name: applicant.full_name.clone(),
                birth_date: applicant.birth_date.format("%Y-%m-%d").to_string(),
                sex: applicant.sex.as_str().to_string(),
                region_code: applicant.region.dotted(),
                registered_by: actor.to_string(),
                case_id: case_id.to_string(),
            };
            append_and_apply(
                store,
                conn,
                &person_stream(person_id),
                ExpectedVersion::NoStream,
                vec![NewEvent::new(&registered).for_case(case_id)],
            )
            .await?;
            (person_id, true, true)
        }
    };
    if joins {
        let mut change = HouseholdChange::load(store, conn, household_id).await?;
        // The applicant of a new household is taken for its head; one joining a known
        // household is "other" until the back office records the relationship.
        let relationship = if change.state.head.is_none() && change.state.members.is_empty() {
            Relationship::Head
        } else {
            Relationship::Other
        };
        change.then(|household| household.add_member(person_id, relationship))?;
        change.commit(store, conn, stamp).await?;
    }
    link_case(conn, person_id, case_id)
        .await
        .map_err(ApiError::unavailable)?;

    let suspects = duplicates::queue(store, conn, person_id, &assessment, Some(case_id)).await?;
    Ok(Registration {
        person_id,
        household_id,
        new_person,
        new_household,
        suspects,
    })
}

// --- household commands ---

/// A replacement family card.
#[derive(Debug, Clone)]
pub struct ChangeKk {
    pub kk: KkNumber,
    pub reason: KkChangeReason,
    pub effective_on: NaiveDate,
}

/// A new head of the household.
#[derive(Debug, Clone)]
pub struct ChangeHead {
    pub person_id: Uuid,
    pub reason: String,
    pub previous_head_relationship: Relationship,
}

/// A person joining a household.
#[derive(Debug, Clone)]
pub struct AddMember {
    pub person_id: Uuid,
    pub relationship: Relationship,
}

/// A person leaving a household.
#[derive(Debug, Clone)]
pub struct RemoveMember {
    pub person_id: Uuid,
    pub reason: String,
}

/// A person record that can take part in a household change: it exists and was not merged.
async fn live_person(conn: &mut PgConnection, person_id: Uuid) -> Result<Option<Uuid>, ApiError> {
    let row = sqlx::query("SELECT household_id, merged_into FROM people WHERE person_id = $1")
        .bind(person_id)
        .fetch_optional(&mut *conn)
        .await
        .map_err(ApiError::unavailable)?
        .ok_or_else(|| no_person(person_id))?;
    let merged_into: Option<Uuid> = row.try_get("merged_into").map_err(ApiError::internal)?;
    if let Some(survivor) = merged_into {
        return Err(ApiError::rejected(format!(
            "person {person_id} was merged into {survivor}; use that record"
        ))
        .with_field("person_id"));
    }
    row.try_get("household_id").map_err(ApiError::internal)
}

fn no_person(person_id: Uuid) -> ApiError {
    ApiError::invalid("person_id", format!("no person {person_id}"))
}

/// The NIKs of person records, for audit records (in clear only on their way to the
/// tokenizer).
pub async fn niks_of(conn: &mut PgConnection, person_ids: &[Uuid]) -> Result<Vec<String>, ApiError> {
    if person_ids.is_empty() {
        return Ok(Vec::new());
    }
    sqlx::query_scalar("SELECT nik FROM people WHERE person_id = ANY($1)")
        .bind(person_ids)
        .fetch_all(conn)
        .await
        .map_err(ApiError::unavailable)
}

/// The NIKs of a household's members now, and of `also` (a member who just left).
async fn household_niks(
    conn: &mut PgConnection,
    household_id: Uuid,
    also: Option<Uuid>,
) -> Result<Vec<String>, ApiError> {
    let mut people: Vec<Uuid> = sqlx::query_scalar("SELECT person_id FROM household_members WHERE household_id = $1")
        .bind(household_id)
        .fetch_all(&mut *conn)
        .await
        .map_err(ApiError::unavailable)?;
    people.extend(also);
    niks_of(conn, &people).await
}

impl Intake {
    /// Goes on with a change to a household of the caller's area; one outside it is "no
    /// household", as a missing one, and the attempt is audited.
    async fn household_in_area(
        &self,
        access: &Access,
        conn: &mut PgConnection,
        household_id: Uuid,
        action: &str,
    ) -> Result<(), ApiError> {
        let region: Option<String> = sqlx::query_scalar("SELECT region_code FROM households WHERE household_id = $1")
            .bind(household_id)
            .fetch_optional(&mut *conn)
            .await
            .map_err(ApiError::unavailable)?;
        match region {
            Some(region) if access.covers(&region) => Ok(()),
            _ => Err(self
                .not_found(
                    access,
                    action,
                    format!("household/{household_id}"),
                    format!("no household {household_id}"),
                )
                .await),
        }
    }

    pub async fn change_household_kk(
        &self,
        access: &Access,
        household_id: Uuid,
        command: ChangeKk,
        idempotency: Option<(IdempotencyKey, String)>,
    ) -> Result<Created, ApiError> {
        let scope = household_scope(access, household_id, "kk");
        idempotency::once(&self.pool, &scope, idempotency, |pending| async move {
            let action = "household.change_kk";
            let mut tx = self.pool.begin().await.map_err(ApiError::unavailable)?;
            self.household_in_area(access, &mut tx, household_id, action).await?;
            lock_identity(&mut tx, Some(command.kk.as_str()), None).await?;
            let mut change = HouseholdChange::load(&self.store, &mut tx, household_id).await?;
            if let Some(holder) = household_of_kk(&mut tx, command.kk.as_str()).await?
                && holder != household_id
            {
                return Err(
                    ApiError::conflict(format!("this KK number is held by household {holder}")).with_field("kk_number"),
                );
            }
            let today = slrt_identity::today_in_indonesia();
            change.then(|household| household.change_kk(&command.kk, command.reason, command.effective_on, today))?;
            let detail = serde_json::json!({ "reason": command.reason.code(), "effective_on": command.effective_on });
            let done = self
                .finish_household_change(access, tx, change, action, None, detail, pending.as_ref())
                .await?;
            tracing::info!(household.id = %household_id, reason = command.reason.code(), "household KK changed");
            Ok(done)
        })
        .await
    }

    pub async fn change_household_head(
        &self,
        access: &Access,
        household_id: Uuid,
        command: ChangeHead,
        idempotency: Option<(IdempotencyKey, String)>,
    ) -> Result<Created, ApiError> {
        let scope = household_scope(access, household_id, "head");
        idempotency::once(&self.pool, &scope, idempotency, |pending| async move {
            let action = "household.change_head";
            let mut tx = self.pool.begin().await.map_err(ApiError::unavailable)?;
            self.household_in_area(access, &mut tx, household_id, action).await?;
            let mut change = HouseholdChange::load(&self.store, &mut tx, household_id).await?;
            live_person(&mut tx, command.person_id).await?;
            change.then(|household| {
                household.change_head(command.person_id, &command.reason, command.previous_head_relationship)
            })?;
            let detail = serde_json::json!({ "new_head_person_id": command.person_id });
            let done = self
                .finish_household_change(access, tx, change, action, None, detail, pending.as_ref())
                .await?;
            tracing::info!(household.id = %household_id, person.id = %command.person_id, "household head changed");
            Ok(done)
        })
        .await
    }

    /// Records a back-office change to a household (the caller stamped as its actor, no
    /// case) with its audit record, stores the answer (the household after the change) with
    /// the idempotency key if one was sent, and commits. `left` is a member who left with it.
    #[allow(clippy::too_many_arguments)]
    async fn finish_household_change(
        &self,
        access: &Access,
        mut tx: sqlx::Transaction<'static, sqlx::Postgres>,
        change: HouseholdChange,
        action: &str,
        left: Option<Uuid>,
        detail: serde_json::Value,
        pending: Option<&Pending>,
    ) -> Result<Created, ApiError> {
        let household_id = change.household_id;
        let stamp = Stamp {
            actor: access.subject(),
            case_id: None,
            join_reason: "added",
            cause: None,
        };
        change.commit(&self.store, &mut tx, stamp).await?;
        let niks = household_niks(&mut tx, household_id, left).await?;
        let audit = access::record(
            access,
            action,
            format!("household/{household_id}"),
            self.nik_tokens_of(niks.iter().map(String::as_str)),
            Outcome::Allowed,
            detail,
        );
        slrt_audit::record(&mut tx, &audit)
            .await
            .map_err(ApiError::unavailable)?;
        let view = find_household(&mut tx, household_id)
            .await?
            .ok_or_else(|| ApiError::internal(format!("household {household_id} vanished inside its own change")))?;
        let done = Created {
            status: 200,
            body: serde_json::to_value(&view).map_err(ApiError::internal)?,
        };
        if let Some(pending) = pending {
            pending.complete(&mut tx, &done).await?;
        }
        tx.commit().await.map_err(ApiError::unavailable)?;
        Ok(done)
    }

    pub async fn add_household_member(
        &self,
        access: &Access,
        household_id: Uuid,
        command: AddMember,
        idempotency: Option<(IdempotencyKey, String)>,
    ) -> Result<Created, ApiError> {
        let scope = household_scope(access, household_id, "members");
        idempotency::once(&self.pool, &scope, idempotency, |pending| async move {
            let action = "household.add_member";
            let mut tx = self.pool.begin().await.map_err(ApiError::unavailable)?;
            self.household_in_area(access, &mut tx, household_id, action).await?;
            // The person comes into the household from wherever they are known: a record of
            // another area is "no person", as a missing one.
            let region: Option<String> = sqlx::query_scalar("SELECT region_code FROM people WHERE person_id = $1")
                .bind(command.person_id)
                .fetch_optional(&mut *tx)
                .await
                .map_err(ApiError::unavailable)?;
            if !region.is_some_and(|region| access.covers(&region)) {
                drop(tx);
                self.audit(
                    access,
                    action,
                    format!("person/{}", command.person_id),
                    &[],
                    Outcome::NotFound,
                    serde_json::json!({ "household_id": household_id }),
                )
                .await?;
                return Err(no_person(command.person_id));
            }
            let mut change = HouseholdChange::load(&self.store, &mut tx, household_id).await?;
            if let Some(other) = live_person(&mut tx, command.person_id).await?
                && other != household_id
            {
                return Err(ApiError::rejected(format!(
                    "person {} is a member of household {other}; remove them there first",
                    command.person_id
                ))
                .with_field("person_id"));
            }
            change.then(|household| household.add_member(command.person_id, command.relationship))?;
            let detail = serde_json::json!({
                "person_id": command.person_id,
                "relationship": command.relationship.code(),
            });
            let done = self
                .finish_household_change(access, tx, change, action, None, detail, pending.as_ref())
                .await?;
            tracing::info!(household.id = %household_id, person.id = %command.person_id, "household member added");
            Ok(done)
        })
        .await
    }

    pub async fn remove_household_member(
        &self,
        access: &Access,
        household_id: Uuid,
        command: RemoveMember,
        idempotency: Option<(IdempotencyKey, String)>,
    ) -> Result<Created, ApiError> {
        let scope = household_scope(access, household_id, &format!("members/{}/removal", command.person_id));
        idempotency::once(&self.pool, &scope, idempotency, |pending| async move {
            let action = "household.remove_member";
            let mut tx = self.pool.begin().await.map_err(ApiError::unavailable)?;
            self.household_in_area(access, &mut tx, household_id, action).await?;
            let mut change = HouseholdChange::load(&self.store, &mut tx, household_id).await?;
            change.then(|household| household.remove_member(command.person_id, &command.reason))?;
            let detail = serde_json::json!({ "person_id": command.person_id });
            let done = self
                .finish_household_change(
                    access,
                    tx,
                    change,
                    action,
                    Some(command.person_id),
                    detail,
                    pending.as_ref(),
                )
                .await?;
            tracing::info!(household.id = %household_id, person.id = %command.person_id, "household member removed");
            Ok(done)
        })
        .await
    }

    /// A household with its members, head and KK history, and its members' NIKs (for the
    /// audit record of the read); `None` when there is no such household.
    pub async fn household(&self, household_id: Uuid) -> Result<Option<(HouseholdView, Vec<String>)>, ApiError> {
        let mut conn = self.pool.acquire().await.map_err(ApiError::unavailable)?;
        let Some(view) = find_household(&mut conn, household_id).await? else {
            return Ok(None);
        };
        let members: Vec<Uuid> = view.members.iter().map(|member| member.person_id).collect();
        let niks = niks_of(&mut conn, &members).await?;
        Ok(Some((view, niks)))
    }

    /// A person record with its household, cases and history; a merged record says which
    /// record it answers under, and a survivor gathers the cases, households and history of
    /// every record merged into it. With the NIKs of the records shown (for the audit record
    /// of the read); `None` when there is no such person.
    pub async fn person(&self, person_id: Uuid) -> Result<Option<(PersonView, Vec<String>)>, ApiError> {
        let mut conn = self.pool.acquire().await.map_err(ApiError::unavailable)?;
        let Some(view) = find_person(&mut conn, person_id).await? else {
            return Ok(None);
        };
        let mut records = vec![person_id];
        records.extend(&view.merged_from);
        let niks = niks_of(&mut conn, &records).await?;
        Ok(Some((view, niks)))
    }
}

// --- reading ---

/// `3375********0003`; text that is no NIK or KK is hidden whole.
pub fn mask_number(digits: &str) -> String {
    if digits.len() == 16 && digits.bytes().all(|b| b.is_ascii_digit()) {
        format!("{}********{}", &digits[..4], &digits[12..])
    } else {
        "****************".to_string()
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct HouseholdView {
    pub household_id: Uuid,
    /// The current KK number, first and last four digits.
    #[schema(example = "3375********0004")]
    pub kk_number_masked: String,
    pub region_code: String,
    pub head_person_id: Option<Uuid>,
    pub members: Vec<MemberView>,
    /// Every KK number the household held, oldest first.
    pub kk_history: Vec<KkHistoryEntry>,
    pub registered_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MemberView {
    pub person_id: Uuid,
    pub full_name: String,
    #[schema(example = "3375********0003")]
    pub nik_masked: String,
    /// head, spouse, child, parent, grandchild, child_in_law, sibling, other.
    #[schema(example = "head")]
    pub relationship: String,
    pub joined_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct KkHistoryEntry {
    #[schema(example = "3375********0004")]
    pub kk_number_masked: String,
    /// registered (the first), move, head_death, divorce, split, correction.
    #[schema(example = "move")]
    pub reason: String,
    pub effective_on: Option<NaiveDate>,
    pub actor: String,
    pub recorded_at: DateTime<Utc>,
}

/// The idempotency scope of a back-office household change: the operation, its target and
/// the caller (keys are the caller's own).
fn household_scope(access: &Access, household_id: Uuid, operation: &str) -> String {
    format!("POST /v1/households/{household_id}/{operation} by {}", access.subject())
}

async fn find_household(conn: &mut PgConnection, household_id: Uuid) -> Result<Option<HouseholdView>, ApiError> {
    let Some(row) = sqlx::query(
        "SELECT kk_number, region_code, head_person_id, registered_at, updated_at
         FROM households WHERE household_id = $1",
    )
    .bind(household_id)
    .fetch_optional(&mut *conn)
    .await
    .map_err(ApiError::unavailable)?
    else {
        return Ok(None);
    };
    let members = sqlx::query(
        "SELECT m.person_id, p.full_name, p.nik, m.relationship, m.joined_at
         FROM household_members m JOIN people p USING (person_id)
         WHERE m.household_id = $1 ORDER BY m.relationship <> 'head', m.joined_at, m.person_id",
    )
    .bind(household_id)
    .fetch_all(&mut *conn)
    .await
    .map_err(ApiError::unavailable)?;
    let history = sqlx::query(
        "SELECT kk_number, reason, effective_on, actor, recorded_at FROM household_kk_history
         WHERE household_id = $1 ORDER BY seq",
    )
    .bind(household_id)
    .fetch_all(&mut *conn)
    .await
    .map_err(ApiError::unavailable)?;
    let read = |error: sqlx::Error| ApiError::internal(error);
    Ok(Some(HouseholdView {
        household_id,
        kk_number_masked: mask_number(&row.try_get::<String, _>("kk_number").map_err(read)?),
        region_code: row.try_get("region_code").map_err(read)?,
        head_person_id: row.try_get("head_person_id").map_err(read)?,
        members: members
            .iter()
            .map(|member| {
                Ok(MemberView {
                    person_id: member.try_get("person_id")?,
                    full_name: member.try_get("full_name")?,
                    nik_masked: mask_number(&member.try_get::<String, _>("nik")?),
                    relationship: member.try_get("relationship")?,
                    joined_at: member.try_get("joined_at")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(read)?,
        kk_history: history
            .iter()
            .map(|entry| {
                Ok(KkHistoryEntry {
                    kk_number_masked: mask_number(&entry.try_get::<String, _>("kk_number")?),
                    reason: entry.try_get("reason")?,
                    effective_on: entry.try_get("effective_on")?,
                    actor: entry.try_get("actor")?,
                    recorded_at: entry.try_get("recorded_at")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(read)?,
        registered_at: row.try_get("registered_at").map_err(read)?,
        updated_at: row.try_get("updated_at").map_err(read)?,
    }))
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PersonView {
    pub person_id: Uuid,
    #[schema(example = "3375********0003")]
    pub nik_masked: String,
    pub full_name: String,
    pub birth_date: NaiveDate,
    #[schema(example = "F")]
    pub sex: String,
    pub region_code: String,
    /// active, or merged (this record answers under `merged_into`).
    #[schema(example = "active")]
    pub status: String,
    pub merged_into: Option<Uuid>,
    /// Records merged into this one, at any depth.
    pub merged_from: Vec<Uuid>,
    /// This record's own household and relationship to its head.
    pub household_id: Option<Uuid>,
    pub relationship: Option<String>,
    /// Every household membership of this record and of those merged into it.
    pub households: Vec<PersonHousehold>,
    /// Every case of this record and of those merged into it, oldest first.
    pub cases: Vec<PersonCase>,
    /// Every event of this record's stream and of those merged into it, in the order they
    /// were recorded.
    pub history: Vec<PersonHistoryEntry>,
    pub registered_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PersonHousehold {
    pub household_id: Uuid,
    pub relationship: String,
    /// The record that is the member (this one, or one merged into it).
    pub person_id: Uuid,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PersonCase {
    pub case_id: Uuid,
    pub case_number: Option<String>,
    pub status: Option<String>,
    /// The record the case was registered under.
    pub person_id: Uuid,
    /// From the case tracker; absent until it knows the case.
    pub opened_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PersonHistoryEntry {
    pub stream_id: String,
    pub stream_version: i64,
    #[schema(example = "slrt.intake.v1.PersonRegistered")]
    pub event_type: String,
    pub occurred_at: DateTime<Utc>,
    pub case_id: Option<Uuid>,
}

async fn find_person(conn: &mut PgConnection, person_id: Uuid) -> Result<Option<PersonView>, ApiError> {
    let read = |error: sqlx::Error| ApiError::internal(error);
    let Some(row) = sqlx::query(
        "SELECT nik, full_name, birth_date, sex, region_code, household_id, relationship, merged_into, registered_at
         FROM people WHERE person_id = $1",
    )
    .bind(person_id)
    .fetch_optional(&mut *conn)
    .await
    .map_err(ApiError::unavailable)?
    else {
        return Ok(None);
    };
    // The records merged into this one, through chains of merges.
    let merged_from: Vec<Uuid> = sqlx::query_scalar(
        "WITH RECURSIVE absorbed(person_id) AS (
             SELECT person_id FROM people WHERE merged_into = $1
             UNION
             SELECT p.person_id FROM people p JOIN absorbed a ON p.merged_into = a.person_id
         )
         SELECT person_id FROM absorbed ORDER BY person_id",
    )
    .bind(person_id)
    .fetch_all(&mut *conn)
    .await
    .map_err(ApiError::unavailable)?;
    let mut records = vec![person_id];
    records.extend(&merged_from);

    let households = sqlx::query(
        "SELECT household_id, relationship, person_id FROM household_members
         WHERE person_id = ANY($1) ORDER BY joined_at, household_id",
    )
    .bind(&records)
    .fetch_all(&mut *conn)
    .await
    .map_err(ApiError::unavailable)?
    .iter()
    .map(|row| {
        Ok(PersonHousehold {
            household_id: row.try_get("household_id")?,
            relationship: row.try_get("relationship")?,
            person_id: row.try_get("person_id")?,
        })
    })
    .collect::<Result<Vec<_>, sqlx::Error>>()
    .map_err(read)?;
    let cases = sqlx::query(
        "SELECT pc.case_id, pc.person_id, t.opened_at, t.case_number, t.status
         FROM person_cases pc LEFT JOIN tracked_cases t USING (case_id)
         WHERE pc.person_id = ANY($1) ORDER BY pc.case_id",
    )
    .bind(&records)
    .fetch_all(&mut *conn)
    .await
    .map_err(ApiError::unavailable)?
    .iter()
    .map(|row| {
        Ok(PersonCase {
            case_id: row.try_get("case_id")?,
            case_number: row.try_get("case_number")?,
            status: row.try_get("status")?,
            person_id: row.try_get("person_id")?,
            opened_at: row.try_get("opened_at")?,
        })
    })
    .collect::<Result<Vec<_>, sqlx::Error>>()
    .map_err(read)?;
    let streams: Vec<String> = records.iter().map(|id| person_stream(*id)).collect();
    let history = sqlx::query(
        "SELECT stream_id, stream_version, event_type, occurred_at, case_id FROM es_events
         WHERE stream_id = ANY($1) ORDER BY global_position",
    )
    .bind(&streams)
    .fetch_all(&mut *conn)
    .await
    .map_err(ApiError::unavailable)?
    .iter()
    .map(|row| {
        Ok(PersonHistoryEntry {
            stream_id: row.try_get("stream_id")?,
            stream_version: row.try_get("stream_version")?,
            event_type: row.try_get("event_type")?,
            occurred_at: row.try_get("occurred_at")?,
            case_id: row.try_get("case_id")?,
        })
    })
    .collect::<Result<Vec<_>, sqlx::Error>>()
    .map_err(read)?;

    let merged_into: Option<Uuid> = row.try_get("merged_into").map_err(read)?;
    Ok(Some(PersonView {
        person_id,
        nik_masked: mask_number(&row.try_get::<String, _>("nik").map_err(read)?),
        full_name: row.try_get("full_name").map_err(read)?,
        birth_date: row.try_get("birth_date").map_err(read)?,
        sex: row.try_get("sex").map_err(read)?,
        region_code: row.try_get("region_code").map_err(read)?,
        status: if merged_into.is_some() { "merged" } else { "active" }.to_string(),
        merged_into,
        merged_from,
        household_id: row.try_get("household_id").map_err(read)?,
        relationship: row.try_get("relationship").map_err(read)?,
        households,
        cases,
        history,
        registered_at: row.try_get("registered_at").map_err(read)?,
    }))
}
