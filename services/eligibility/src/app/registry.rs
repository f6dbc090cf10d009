//! Registry facts in the database: loading a registry file, and finding people in it.

use chrono::NaiveDate;
use slrt_identity::{Nik, Sex};
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, PgExecutor, PgPool, Row};

use super::corrupt;
use crate::domain::{
    Applicant, BeneficiaryKind, Desil, HouseholdId, LedgerEntry, PersonId, RegistryFacts, RegistryRow, Vitality,
};

/// What loading a registry file changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LoadReport {
    pub people_added: u64,
    pub people_changed: u64,
    pub enrolments_seeded: u64,
}

/// Loads registry rows and the enrolments they list, in one transaction. Loading the same
/// file again changes nothing.
///
/// A person already loaded is updated to what the file says, except that a recorded death
/// is never undone by a file: reinstating someone wrongly recorded as deceased is a
/// deliberate correction, not a side effect of a reload.
///
/// An enrolment is seeded only when the ledger has never held that programme for that
/// beneficiary, so an enrolment that has since ended is not started again by a reload.
/// `loaded_on` stands as its start date: the registry does not say when it began.
pub async fn load(
    pool: &PgPool,
    rows: &[RegistryRow],
    enrolments: &[LedgerEntry],
    loaded_on: NaiveDate,
) -> Result<LoadReport, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let mut report = upsert_people(&mut tx, rows).await?;
    report.enrolments_seeded = seed_enrolments(&mut tx, enrolments, loaded_on).await?;
    tx.commit().await?;
    Ok(report)
}

async fn upsert_people(conn: &mut PgConnection, rows: &[RegistryRow]) -> Result<LoadReport, sqlx::Error> {
    let column = |f: fn(&RegistryRow) -> String| rows.iter().map(f).collect::<Vec<_>>();
    let changed: Vec<bool> = sqlx::query_scalar(
        "INSERT INTO registry_people AS p (person_id, nik, full_name, birth_date, sex, household_id, kk_number,
                                          region_code, relationship_to_head, desil, deceased)
         SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::date[], $5::text[], $6::text[], $7::text[],
                              $8::text[], $9::text[], $10::smallint[], $11::bool[])
         ON CONFLICT (person_id) DO UPDATE SET
             nik = EXCLUDED.nik, full_name = EXCLUDED.full_name, birth_date = EXCLUDED.birth_date,
             sex = EXCLUDED.sex, household_id = EXCLUDED.household_id, kk_number = EXCLUDED.kk_number,
             region_code = EXCLUDED.region_code, relationship_to_head = EXCLUDED.relationship_to_head,
             desil = EXCLUDED.desil, deceased = p.deceased OR EXCLUDED.deceased, updated_at = now()
         WHERE (p.nik, p.full_name, p.birth_date, p.sex, p.household_id, p.kk_number, p.region_code,
                p.relationship_to_head, p.desil, p.deceased)
               IS DISTINCT FROM
               (EXCLUDED.nik, EXCLUDED.full_name, EXCLUDED.birth_date, EXCLUDED.sex, EXCLUDED.household_id,
                EXCLUDED.kk_number, EXCLUDED.region_code, EXCLUDED.relationship_to_head, EXCLUDED.desil,
                p.deceased OR EXCLUDED.deceased)
         RETURNING (xmax <> 0) AS updated",
    )
    .bind(column(|r| r.person_id.to_string()))
    .bind(column(|r| r.nik.as_str().to_string()))
    .bind(column(|r| r.full_name.clone()))
    .bind(rows.iter().map(|r| r.birth_date).collect::<Vec<_>>())
    .bind(column(|r| r.sex.as_str().to_string()))
    .bind(column(|r| r.household_id.to_string()))
    .bind(column(|r| r.kk_number.as_str().to_string()))
    .bind(column(|r| r.region_code.dotted()))
    .bind(column(|r| r.relationship_to_head.as_str().to_string()))
    .bind(rows.iter().map(|r| i16::from(r.desil.get())).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.deceased).collect::<Vec<_>>())
    .fetch_all(&mut *conn)
    .await?;
    let people_changed = changed.iter().filter(|updated| **updated).count() as u64;
    Ok(LoadReport {
        people_added: changed.len() as u64 - people_changed,
        people_changed,
        enrolments_seeded: 0,
    })
}

async fn seed_enrolments(
    conn: &mut PgConnection,
    enrolments: &[LedgerEntry],
    loaded_on: NaiveDate,
) -> Result<u64, sqlx::Error> {
    let ids: Vec<uuid::Uuid> = enrolments.iter().map(|_| uuid::Uuid::now_v7()).collect();
    let seeded = sqlx::query(
        "INSERT INTO enrolments (enrolment_id, programme_code, beneficiary_kind, beneficiary_id, status, source,
                                 started_on)
         SELECT e.id, e.programme, e.kind, e.beneficiary, 'active', 'registry', $5
         FROM UNNEST($1::uuid[], $2::text[], $3::text[], $4::text[]) AS e(id, programme, kind, beneficiary)
         WHERE NOT EXISTS (SELECT 1 FROM enrolments x
                           WHERE x.programme_code = e.programme AND x.beneficiary_kind = e.kind
                             AND x.beneficiary_id = e.beneficiary)
         ON CONFLICT DO NOTHING",
    )
    .bind(&ids)
    .bind(enrolments.iter().map(|e| e.programme.to_string()).collect::<Vec<_>>())
    .bind(
        enrolments
            .iter()
            .map(|e| e.beneficiary.kind().as_str())
            .collect::<Vec<_>>(),
    )
    .bind(
        enrolments
            .iter()
            .map(|e| e.beneficiary.id().to_string())
            .collect::<Vec<_>>(),
    )
    .bind(loaded_on)
    .execute(&mut *conn)
    .await?;
    Ok(seeded.rows_affected())
}

/// The applicant with this NIK as the registry knows them, or [`Applicant::NotInRegistry`].
pub async fn applicant_by_nik(executor: impl PgExecutor<'_>, nik: &Nik) -> Result<Applicant, sqlx::Error> {
    let row = sqlx::query(
        "SELECT person_id, household_id, full_name, birth_date, sex, desil, deceased
         FROM registry_people WHERE nik = $1",
    )
    .bind(nik.as_str())
    .fetch_optional(executor)
    .await?;
    match row {
        Some(row) => Ok(Applicant::InRegistry(facts_from_row(&row)?)),
        None => Ok(Applicant::NotInRegistry),
    }
}

/// Whether a beneficiary of this kind is alive: a person, or a household with a living member.
pub async fn vitality(
    executor: impl PgExecutor<'_>,
    kind: BeneficiaryKind,
    beneficiary_id: &str,
) -> Result<Vitality, sqlx::Error> {
    let (living, members): (i64, i64) =
        match kind {
            BeneficiaryKind::Person => {
                sqlx::query_as(
                    "SELECT COUNT(*) FILTER (WHERE NOT deceased), COUNT(*) FROM registry_people WHERE person_id = $1",
                )
                .bind(beneficiary_id)
                .fetch_one(executor)
                .await?
            }
            BeneficiaryKind::Household => sqlx::query_as(
                "SELECT COUNT(*) FILTER (WHERE NOT deceased), COUNT(*) FROM registry_people WHERE household_id = $1",
            )
            .bind(beneficiary_id)
            .fetch_one(executor)
            .await?,
        };
    Ok(match (kind, members) {
        (_, 0) => Vitality::Unknown,
        (BeneficiaryKind::Person, _) => Vitality::Person { deceased: living == 0 },
        (BeneficiaryKind::Household, _) => Vitality::Household {
            living_members: u32::try_from(living).unwrap_or(u32::MAX),
        },
    })
}

/// Serialises decisions about one household until the end of the caller's transaction.
///
/// Two cases of the same family decided at once would each see a ledger without the
/// other's grant, and could start programmes that exclude each other (BLT-DD beside PKH).
/// The unique index on the ledger only stops the same programme twice; this stops the rest.
pub async fn lock_household(conn: &mut PgConnection, household_id: &HouseholdId) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
        .bind(format!("eligibility.household.{household_id}"))
        .execute(conn)
        .await?;
    Ok(())
}

fn facts_from_row(row: &PgRow) -> Result<RegistryFacts, sqlx::Error> {
    let person_id: String = row.try_get("person_id")?;
    let household_id: String = row.try_get("household_id")?;
    let sex: String = row.try_get("sex")?;
    let desil: i16 = row.try_get("desil")?;
    Ok(RegistryFacts {
        person_id: PersonId::parse(&person_id).map_err(|e| corrupt("person_id", e))?,
        household_id: HouseholdId::parse(&household_id).map_err(|e| corrupt("household_id", e))?,
        full_name: row.try_get("full_name")?,
        birth_date: row.try_get("birth_date")?,
        sex: Sex::parse(&sex).map_err(|e| corrupt("sex", e))?,
        desil: Desil::new(i64::from(desil)).map_err(|e| corrupt("desil", e))?,
        deceased: row.try_get("deceased")?,
    })
}
