//! Registry facts in the database: writing registry rows (the seed at start, a bulk import in
//! [`import`]), and finding people in them.

pub mod import;

use chrono::NaiveDate;
use slrt_identity::{Nik, Sex};
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, PgExecutor, PgPool, Row};

use super::corrupt;
use crate::domain::{
    Applicant, BeneficiaryKind, Desil, Floor, HouseholdId, LedgerEntry, PersonId, RegistryFacts, RegistryRow, Roof,
    RowChange, StoredConflict, StoredPerson, Vitality, Wall, plan_changes,
};

/// What loading a registry file changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LoadReport {
    pub people_added: u64,
    pub people_changed: u64,
    pub enrolments_seeded: u64,
}

/// Why a registry file could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("registry person {person_id}: {conflict}")]
    Conflict {
        person_id: PersonId,
        conflict: StoredConflict,
    },
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// Loads registry rows and the enrolments they list, in one transaction. Loading the same
/// file again changes nothing.
///
/// A person already loaded is updated to what the file says (see [`write_people`]). An
/// enrolment is seeded only when the ledger has never held that programme for that
/// beneficiary, so an enrolment that has since ended is not started again by a reload.
/// `loaded_on` stands as its start date: the registry does not say when it began.
pub async fn load(
    pool: &PgPool,
    rows: &[RegistryRow],
    enrolments: &[LedgerEntry],
    loaded_on: NaiveDate,
) -> Result<LoadReport, LoadError> {
    let mut tx = pool.begin().await?;
    let written = write_people(&mut tx, rows).await?;
    if let Some((index, conflict)) = written.conflicts.into_iter().next() {
        return Err(LoadError::Conflict {
            person_id: rows[index].person_id.clone(),
            conflict,
        });
    }
    let enrolments_seeded = seed_enrolments(&mut tx, enrolments, loaded_on).await?;
    tx.commit().await?;
    Ok(LoadReport {
        people_added: written.inserted.len() as u64,
        people_changed: written.updated.len() as u64,
        enrolments_seeded,
    })
}

/// What [`write_people`] did with each row, by its index in the rows given.
#[derive(Debug, Default)]
pub(crate) struct Written {
    pub inserted: Vec<usize>,
    pub updated: Vec<usize>,
    pub unchanged: usize,
    /// Rows not written, and why.
    pub conflicts: Vec<(usize, StoredConflict)>,
}

/// Writes registry rows inside the caller's transaction: a person the registry did not have
/// is inserted, one whose row changed is updated, an unchanged one (same fingerprint) is not
/// touched, and a row whose NIK another stored person holds is left out and reported.
///
/// A recorded death is never undone by a file: reinstating someone wrongly recorded as
/// deceased is a deliberate correction, not a side effect of a reload.
///
/// Each person id and NIK must appear at most once in `rows`.
pub(crate) async fn write_people(conn: &mut PgConnection, rows: &[RegistryRow]) -> Result<Written, sqlx::Error> {
    // Two writers planning against the same stored rows would both insert the same person;
    // the seed at start and an import take turns, one batch at a time.
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended('eligibility.registry.write', 0))")
        .execute(&mut *conn)
        .await?;
    let hashes: Vec<[u8; 32]> = rows.iter().map(RegistryRow::content_hash).collect();
    let stored = stored_people(&mut *conn, rows).await?;
    let mut written = Written::default();
    for (index, change) in plan_changes(rows.iter().zip(&hashes), &stored).into_iter().enumerate() {
        match change {
            RowChange::Insert => written.inserted.push(index),
            RowChange::Update => written.updated.push(index),
            RowChange::Unchanged => written.unchanged += 1,
            RowChange::Conflict(conflict) => written.conflicts.push((index, conflict)),
        }
    }
    if !written.inserted.is_empty() {
        let people = PeopleColumns::of(rows, &hashes, &written.inserted);
        people
            .bind(sqlx::query(
                "INSERT INTO registry_people (person_id, nik, full_name, birth_date, sex, household_id, kk_number,
                                              region_code, relationship_to_head, desil, deceased, deceased_on,
                                              floor, wall, roof, owns_car, owns_motorbike, owns_land, content_hash)
                 SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::date[], $5::text[], $6::text[],
                                      $7::text[], $8::text[], $9::text[], $10::smallint[], $11::bool[], $12::date[],
                                      $13::text[], $14::text[], $15::text[], $16::bool[], $17::bool[], $18::bool[],
                                      $19::bytea[])",
            ))
            .execute(&mut *conn)
            .await?;
    }
    if !written.updated.is_empty() {
        let people = PeopleColumns::of(rows, &hashes, &written.updated);
        people
            .bind(sqlx::query(
                "UPDATE registry_people AS p SET
                     nik = u.nik, full_name = u.full_name, birth_date = u.birth_date, sex = u.sex,
                     household_id = u.household_id, kk_number = u.kk_number, region_code = u.region_code,
                     relationship_to_head = u.relationship_to_head, desil = u.desil,
                     deceased = p.deceased OR u.deceased,
                     deceased_on = CASE WHEN u.deceased THEN COALESCE(u.deceased_on, p.deceased_on)
                                        ELSE p.deceased_on END,
                     floor = u.floor, wall = u.wall, roof = u.roof, owns_car = u.owns_car,
                     owns_motorbike = u.owns_motorbike, owns_land = u.owns_land, content_hash = u.content_hash,
                     updated_at = now()
                 FROM UNNEST($1::text[], $2::text[], $3::text[], $4::date[], $5::text[], $6::text[], $7::text[],
                             $8::text[], $9::text[], $10::smallint[], $11::bool[], $12::date[], $13::text[],
                             $14::text[], $15::text[], $16::bool[], $17::bool[], $18::bool[], $19::bytea[])
                      AS u(person_id, nik, full_name, birth_date, sex, household_id, kk_number, region_code,
                           relationship_to_head, desil, deceased, deceased_on, floor, wall, roof, owns_car,
                           owns_motorbike, owns_land, content_hash)
                 WHERE p.person_id = u.person_id",
            ))
            .execute(&mut *conn)
            .await?;
    }
    Ok(written)
}

/// The stored people any of `rows` could be: the same person id or the same NIK.
async fn stored_people(conn: &mut PgConnection, rows: &[RegistryRow]) -> Result<Vec<StoredPerson>, sqlx::Error> {
    let person_ids: Vec<&str> = rows.iter().map(|r| r.person_id.as_str()).collect();
    let niks: Vec<&str> = rows.iter().map(|r| r.nik.as_str()).collect();
    let stored: Vec<(String, String, Option<Vec<u8>>)> = sqlx::query_as(
        "SELECT person_id, nik, content_hash FROM registry_people
         WHERE person_id = ANY($1::text[]) OR nik = ANY($2::text[])",
    )
    .bind(&person_ids)
    .bind(&niks)
    .fetch_all(conn)
    .await?;
    Ok(stored
        .into_iter()
        .map(|(person_id, nik, content_hash)| StoredPerson {
            person_id,
            nik,
            content_hash,
        })
        .collect())
}

/// Some rows, column by column, as the UNNEST of an insert or update takes them.
struct PeopleColumns {
    person_id: Vec<String>,
    nik: Vec<String>,
    full_name: Vec<String>,
    birth_date: Vec<NaiveDate>,
    sex: Vec<&'static str>,
    household_id: Vec<String>,
    kk_number: Vec<String>,
    region_code: Vec<String>,
    relationship_to_head: Vec<&'static str>,
    desil: Vec<i16>,
    deceased: Vec<bool>,
    deceased_on: Vec<Option<NaiveDate>>,
    floor: Vec<Option<&'static str>>,
    wall: Vec<Option<&'static str>>,
    roof: Vec<Option<&'static str>>,
    owns_car: Vec<Option<bool>>,
    owns_motorbike: Vec<Option<bool>>,
    owns_land: Vec<Option<bool>>,
    content_hash: Vec<Vec<u8>>,
}

impl PeopleColumns {
    fn of(rows: &[RegistryRow], hashes: &[[u8; 32]], picked: &[usize]) -> Self {
        let column = |f: &dyn Fn(&RegistryRow) -> String| picked.iter().map(|&i| f(&rows[i])).collect::<Vec<_>>();
        Self {
            person_id: column(&|r| r.person_id.to_string()),
            nik: column(&|r| r.nik.as_str().to_owned()),
            full_name: column(&|r| r.full_name.clone()),
            birth_date: picked.iter().map(|&i| rows[i].birth_date).collect(),
            sex: picked.iter().map(|&i| rows[i].sex.as_str()).collect(),
            household_id: column(&|r| r.household_id.to_string()),
            kk_number: column(&|r| r.kk_number.as_str().to_owned()),
            region_code: column(&|r| r.region_code.dotted()),
            relationship_to_head: picked.iter().map(|&i| rows[i].relationship_to_head.as_str()).collect(),
            desil: picked.iter().map(|&i| i16::from(rows[i].desil.get())).collect(),
            deceased: picked.iter().map(|&i| rows[i].deceased).collect(),
            deceased_on: picked.iter().map(|&i| rows[i].deceased_on).collect(),
            floor: picked
                .iter()
                .map(|&i| rows[i].housing.floor.map(Floor::as_str))
                .collect(),
            wall: picked.iter().map(|&i| rows[i].housing.wall.map(Wall::as_str)).collect(),
            roof: picked.iter().map(|&i| rows[i].housing.roof.map(Roof::as_str)).collect(),
            owns_car: picked.iter().map(|&i| rows[i].assets.car).collect(),
            owns_motorbike: picked.iter().map(|&i| rows[i].assets.motorbike).collect(),
            owns_land: picked.iter().map(|&i| rows[i].assets.land).collect(),
            content_hash: picked.iter().map(|&i| hashes[i].to_vec()).collect(),
        }
    }

    /// Binds the columns as `$1` to `$19`, in the order of the table.
    fn bind(
        self,
        query: sqlx::query::Query<'_, sqlx::Postgres, sqlx::postgres::PgArguments>,
    ) -> sqlx::query::Query<'_, sqlx::Postgres, sqlx::postgres::PgArguments> {
        query
            .bind(self.person_id)
            .bind(self.nik)
            .bind(self.full_name)
            .bind(self.birth_date)
            .bind(self.sex)
            .bind(self.household_id)
            .bind(self.kk_number)
            .bind(self.region_code)
            .bind(self.relationship_to_head)
            .bind(self.desil)
            .bind(self.deceased)
            .bind(self.deceased_on)
            .bind(self.floor)
            .bind(self.wall)
            .bind(self.roof)
            .bind(self.owns_car)
            .bind(self.owns_motorbike)
            .bind(self.owns_land)
            .bind(self.content_hash)
    }
}

pub(crate) async fn seed_enrolments(
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
