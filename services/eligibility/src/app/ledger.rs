//! The enrolment ledger in the database: one row per enrolment, across every programme and
//! OPD.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, PgExecutor, Row};
use uuid::Uuid;

use super::corrupt;
use crate::domain::{
    Applicant, Beneficiary, BeneficiaryKind, Desil, EnrolmentStatus, Holding, Household, HouseholdId, LedgerEntry,
    LedgerView, Member, PersonId, PersonRecord, ProgrammeCode, RegistryFacts,
};

pub mod external;
pub mod graduation;

/// One ledger row, as the HTTP API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct EnrolmentView {
    pub enrolment_id: Uuid,
    #[schema(example = "PKH")]
    pub programme_code: String,
    /// household or person.
    #[schema(example = "household")]
    pub beneficiary_kind: String,
    #[schema(example = "H-000003")]
    pub beneficiary_id: String,
    /// active, held (payments paused) or ended.
    #[schema(example = "active")]
    pub status: String,
    /// registry (listed in the registry file), decision (started by a case decision),
    /// external (reported by another agency's system) or graduation (PENA on leaving PKH /
    /// BPNT).
    #[schema(example = "decision")]
    pub source: String,
    /// The case whose decision started the enrolment; absent for registry enrolments.
    pub case_id: Option<Uuid>,
    pub need_id: Option<String>,
    pub started_on: NaiveDate,
    pub ended_on: Option<NaiveDate>,
    /// For an external enrolment: the agency that reported it, and its own reference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "DINSOS-PROV")]
    pub reporting_opd: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_reference: Option<String>,
}

/// A new enrolment started by a case decision.
#[derive(Debug, Clone)]
pub struct NewEnrolment {
    pub enrolment_id: Uuid,
    pub programme: ProgrammeCode,
    pub beneficiary: Beneficiary,
    pub case_id: Uuid,
    pub need_id: String,
    pub started_on: NaiveDate,
}

/// The ledger entries of an applicant and their household, every status included (ended
/// ones tell a decision that a one-off programme was paid before).
pub async fn view_for(executor: impl PgExecutor<'_>, applicant: &Applicant) -> Result<LedgerView, sqlx::Error> {
    let Some(facts) = applicant.facts() else {
        return Ok(LedgerView::empty());
    };
    let rows = sqlx::query(
        "SELECT programme_code, beneficiary_kind, beneficiary_id, status FROM enrolments
         WHERE (beneficiary_kind = 'person' AND beneficiary_id = $1)
            OR (beneficiary_kind = 'household' AND beneficiary_id = $2)
         ORDER BY started_on, enrolment_id",
    )
    .bind(facts.person_id.as_str())
    .bind(facts.household_id.as_str())
    .fetch_all(executor)
    .await?;
    let entries = rows.iter().map(entry_from_row).collect::<Result<Vec<_>, _>>()?;
    Ok(LedgerView::for_applicant(applicant, entries))
}

/// The applicant's household members and the current enrolments of the others around them:
/// fellow members, holders of the same family card (KK number), and households filed under
/// that card.
pub async fn household_around(conn: &mut PgConnection, facts: &RegistryFacts) -> Result<Household, sqlx::Error> {
    let members: Vec<(String, NaiveDate, bool)> = sqlx::query_as(
        "SELECT person_id, birth_date, deceased FROM registry_people WHERE household_id = $1 ORDER BY person_id",
    )
    .bind(facts.household_id.as_str())
    .fetch_all(&mut *conn)
    .await?;
    let members = members
        .into_iter()
        .map(|(person_id, birth_date, deceased)| {
            Ok(Member {
                person_id: PersonId::parse(&person_id).map_err(|e| corrupt("person_id", e))?,
                birth_date,
                deceased,
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
    let rows = sqlx::query(
        "WITH card AS (SELECT kk_number FROM registry_people WHERE person_id = $1),
              around AS (SELECT person_id, household_id FROM registry_people
                         WHERE household_id = $2 OR kk_number = (SELECT kk_number FROM card))
         SELECT programme_code, beneficiary_kind, beneficiary_id, status FROM enrolments
         WHERE status <> 'ended'
           AND ((beneficiary_kind = 'person' AND beneficiary_id <> $1
                 AND beneficiary_id IN (SELECT person_id FROM around))
             OR (beneficiary_kind = 'household' AND beneficiary_id <> $2
                 AND beneficiary_id IN (SELECT household_id FROM around)))
         ORDER BY started_on, enrolment_id",
    )
    .bind(facts.person_id.as_str())
    .bind(facts.household_id.as_str())
    .fetch_all(&mut *conn)
    .await?;
    Ok(Household {
        members,
        others_enrolments: rows.iter().map(entry_from_row).collect::<Result<Vec<_>, _>>()?,
    })
}

/// Serialises decisions about the holders of one family card (the person's KK number) until
/// the end of the caller's transaction.
pub async fn lock_family_card(conn: &mut PgConnection, person_id: &PersonId) -> Result<(), sqlx::Error> {
    sqlx::query(
        "SELECT pg_advisory_xact_lock(hashtextextended('eligibility.kk.' || kk_number, 0))
         FROM registry_people WHERE person_id = $1",
    )
    .bind(person_id.as_str())
    .execute(conn)
    .await?;
    Ok(())
}

/// The status of the beneficiary's current (not ended) enrolment in a programme, if any.
pub async fn current_status(
    executor: impl PgExecutor<'_>,
    programme: &ProgrammeCode,
    kind: BeneficiaryKind,
    beneficiary_id: &str,
) -> Result<Option<EnrolmentStatus>, sqlx::Error> {
    let status: Option<String> = sqlx::query_scalar(
        "SELECT status FROM enrolments
         WHERE programme_code = $1 AND beneficiary_kind = $2 AND beneficiary_id = $3 AND status <> 'ended'",
    )
    .bind(programme.as_str())
    .bind(kind.as_str())
    .bind(beneficiary_id)
    .fetch_optional(executor)
    .await?;
    status.map(|code| parse_status(&code)).transpose()
}

/// Records an enrolment a decision started. The unique index on current enrolments refuses
/// a second one for the same programme and beneficiary.
pub async fn insert(conn: &mut PgConnection, enrolment: &NewEnrolment) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO enrolments (enrolment_id, programme_code, beneficiary_kind, beneficiary_id, status, source,
                                 case_id, need_id, started_on)
         VALUES ($1, $2, $3, $4, 'active', 'decision', $5, $6, $7)",
    )
    .bind(enrolment.enrolment_id)
    .bind(enrolment.programme.as_str())
    .bind(enrolment.beneficiary.kind().as_str())
    .bind(enrolment.beneficiary.id())
    .bind(enrolment.case_id)
    .bind(&enrolment.need_id)
    .bind(enrolment.started_on)
    .execute(conn)
    .await?;
    Ok(())
}

/// Every enrolment of a household or person, current ones first, then newest first.
pub async fn of_beneficiary(
    executor: impl PgExecutor<'_>,
    beneficiary_id: &str,
) -> Result<Vec<EnrolmentView>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT enrolment_id, programme_code, beneficiary_kind, beneficiary_id, status, source, case_id, need_id,
                started_on, ended_on, reporting_opd, external_reference
         FROM enrolments WHERE beneficiary_id = $1
         ORDER BY status = 'ended', started_on DESC, programme_code",
    )
    .bind(beneficiary_id)
    .fetch_all(executor)
    .await?;
    rows.iter().map(view_from_row).collect()
}

/// Every enrolment of any of these households or people (all sources and statuses), current
/// ones first, then newest first.
pub async fn of_beneficiaries(
    executor: impl PgExecutor<'_>,
    households: &[String],
    people: &[String],
) -> Result<Vec<EnrolmentView>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT enrolment_id, programme_code, beneficiary_kind, beneficiary_id, status, source, case_id, need_id,
                started_on, ended_on, reporting_opd, external_reference
         FROM enrolments
         WHERE (beneficiary_kind = 'household' AND beneficiary_id = ANY($1))
            OR (beneficiary_kind = 'person' AND beneficiary_id = ANY($2))
         ORDER BY status = 'ended', started_on DESC, programme_code, beneficiary_id",
    )
    .bind(households)
    .bind(people)
    .fetch_all(executor)
    .await?;
    rows.iter().map(view_from_row).collect()
}

fn view_from_row(row: &PgRow) -> Result<EnrolmentView, sqlx::Error> {
    Ok(EnrolmentView {
        enrolment_id: row.try_get("enrolment_id")?,
        programme_code: row.try_get("programme_code")?,
        beneficiary_kind: row.try_get("beneficiary_kind")?,
        beneficiary_id: row.try_get("beneficiary_id")?,
        status: row.try_get("status")?,
        source: row.try_get("source")?,
        case_id: row.try_get("case_id")?,
        need_id: row.try_get("need_id")?,
        started_on: row.try_get("started_on")?,
        ended_on: row.try_get("ended_on")?,
        reporting_opd: row.try_get("reporting_opd")?,
        external_reference: row.try_get("external_reference")?,
    })
}

/// Current enrolments as the reports see them: every one when `household` is `None`, else
/// those of the household and its members (ended ones too when `with_ended`).
pub async fn holdings(
    executor: impl PgExecutor<'_>,
    household: Option<&HouseholdId>,
    with_ended: bool,
) -> Result<Vec<Holding>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT enrolment_id, programme_code, beneficiary_kind, beneficiary_id, status, source, started_on
         FROM enrolments e
         WHERE ($2 OR status <> 'ended')
           AND ($1::text IS NULL
                OR (beneficiary_kind = 'household' AND beneficiary_id = $1)
                OR (beneficiary_kind = 'person'
                    AND beneficiary_id IN (SELECT person_id FROM registry_people WHERE household_id = $1)))
         ORDER BY started_on, enrolment_id",
    )
    .bind(household.map(HouseholdId::as_str))
    .bind(with_ended)
    .fetch_all(executor)
    .await?;
    rows.iter().map(holding_from_row).collect()
}

/// Current enrolments of beneficiaries whose household lives in one of the areas `patterns`
/// match (`LIKE` patterns; every enrolment when `None`), and, when `unplaced`, of
/// beneficiaries the registry does not know.
pub async fn current_holdings_within(
    executor: impl PgExecutor<'_>,
    patterns: Option<Vec<String>>,
    unplaced: bool,
) -> Result<Vec<Holding>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT enrolment_id, programme_code, beneficiary_kind, beneficiary_id, status, source, started_on
         FROM enrolments e
         WHERE status <> 'ended'
           AND ($1::text[] IS NULL
                OR CASE e.beneficiary_kind
                     WHEN 'household' THEN EXISTS (SELECT 1 FROM registry_people r
                                                   WHERE r.household_id = e.beneficiary_id
                                                     AND r.region_code LIKE ANY($1))
                     ELSE EXISTS (SELECT 1 FROM registry_people r
                                  WHERE r.person_id = e.beneficiary_id AND r.region_code LIKE ANY($1))
                   END
                OR ($2 AND NOT EXISTS (SELECT 1 FROM registry_people r
                                       WHERE r.household_id = e.beneficiary_id OR r.person_id = e.beneficiary_id)))
         ORDER BY started_on, enrolment_id",
    )
    .bind(patterns)
    .bind(unplaced)
    .fetch_all(executor)
    .await?;
    rows.iter().map(holding_from_row).collect()
}

fn holding_from_row(row: &PgRow) -> Result<Holding, sqlx::Error> {
    let entry = entry_from_row(row)?;
    let id: Uuid = row.try_get("enrolment_id")?;
    Ok(Holding {
        enrolment_id: id.to_string(),
        programme: entry.programme,
        beneficiary: entry.beneficiary,
        status: entry.status,
        source: row.try_get("source")?,
        started_on: row.try_get("started_on")?,
    })
}

/// The registry facts the ledger rules read: of everyone (`None`) or of one household.
pub async fn person_records(
    executor: impl PgExecutor<'_>,
    household: Option<&HouseholdId>,
) -> Result<Vec<PersonRecord>, sqlx::Error> {
    let rows: Vec<(String, String, String, bool, i16)> = sqlx::query_as(
        "SELECT person_id, household_id, kk_number, deceased, desil FROM registry_people
         WHERE $1::text IS NULL OR household_id = $1 ORDER BY person_id",
    )
    .bind(household.map(HouseholdId::as_str))
    .fetch_all(executor)
    .await?;
    rows.into_iter()
        .map(|(person_id, household_id, kk_number, deceased, desil)| {
            Ok(PersonRecord {
                person_id: PersonId::parse(&person_id).map_err(|e| corrupt("person_id", e))?,
                household_id: HouseholdId::parse(&household_id).map_err(|e| corrupt("household_id", e))?,
                kk_number,
                deceased,
                desil: Desil::new(i64::from(desil)).map_err(|e| corrupt("desil", e))?,
            })
        })
        .collect()
}

fn entry_from_row(row: &PgRow) -> Result<LedgerEntry, sqlx::Error> {
    let programme: String = row.try_get("programme_code")?;
    let kind: String = row.try_get("beneficiary_kind")?;
    let id: String = row.try_get("beneficiary_id")?;
    let status: String = row.try_get("status")?;
    let beneficiary = match BeneficiaryKind::parse(&kind) {
        Some(BeneficiaryKind::Household) => {
            Beneficiary::Household(HouseholdId::parse(&id).map_err(|e| corrupt("beneficiary_id", e))?)
        }
        Some(BeneficiaryKind::Person) => {
            Beneficiary::Person(PersonId::parse(&id).map_err(|e| corrupt("beneficiary_id", e))?)
        }
        None => return Err(corrupt("beneficiary_kind", format!("unknown kind {kind:?}"))),
    };
    Ok(LedgerEntry {
        programme: ProgrammeCode::parse(&programme).map_err(|e| corrupt("programme_code", e))?,
        beneficiary,
        status: parse_status(&status)?,
    })
}

fn parse_status(code: &str) -> Result<EnrolmentStatus, sqlx::Error> {
    EnrolmentStatus::parse(code).ok_or_else(|| corrupt("status", format!("unknown status {code:?}")))
}
