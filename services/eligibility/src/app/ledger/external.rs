//! Enrolments other agencies report: a programme this system does not decide (a
//! province's aid, BAZNAS zakat), or one it does but granted elsewhere. They are facts about
//! the family, so they count in overlap checks and the desk pre-screen like any other
//! enrolment; and since they are facts, one that breaks the overlap rules is recorded all
//! the same (with the rules it breaks) and shows in the violations report, rather than
//! refused.
//!
//! Who may report what: the reporting agency is the caller's own (the token's `opd`). A
//! programme the catalogue lists is reported only by the agency the catalogue names as its
//! owner; a programme it does not list (a province's aid, zakat) belongs to the agency that
//! first reported it, and only that agency reports it after. An agency ends only what it
//! reported itself, since a report is found by the agency and its own reference.

use chrono::NaiveDate;
use slrt_errors::ApiError;
use slrt_eventstore::{ExpectedVersion, NewEvent};
use slrt_identity::{KkNumber, Nik};
use slrt_proto::eligibility::v1 as proto;
use sqlx::{PgConnection, Row};
use uuid::Uuid;

use super::{holdings, person_records};
use crate::app::scope::{ChangeBy, Scope};
use crate::app::{Eligibility, registry};
use crate::domain::{
    Beneficiary, BeneficiaryKind, EnrolmentStatus, Holding, HouseholdId, PersonId, ProgrammeCode, Reason, Registry,
    overlaps_with,
};

/// Who the report is about, as the agency identifies them.
#[derive(Debug, Clone)]
pub enum ReportedBeneficiary {
    Nik(Nik),
    Kk(KkNumber),
}

/// An agency's report of an enrolment, checked.
#[derive(Debug, Clone)]
pub struct ExternalReport {
    pub programme: ProgrammeCode,
    pub beneficiary: ReportedBeneficiary,
    pub reporting_opd: String,
    pub reference: String,
    pub started_on: NaiveDate,
}

/// What recording a report did.
#[derive(Debug, Clone)]
pub struct Reported {
    pub enrolment_id: Uuid,
    /// False when the same report was recorded before.
    pub created: bool,
    pub beneficiary: Beneficiary,
    /// The overlap rules it breaks now.
    pub violations: Vec<Reason>,
}

/// The end of a reported enrolment, checked.
#[derive(Debug, Clone)]
pub struct ExternalEnd {
    pub reporting_opd: String,
    pub reference: String,
    pub ended_on: NaiveDate,
    pub reason: String,
}

impl Eligibility {
    /// The agency owning a programme the catalogue lists: the one the newest version
    /// listing it names.
    pub fn owner_of(&self, programme: &ProgrammeCode) -> Option<&str> {
        self.catalogues
            .versions()
            .iter()
            .rev()
            .find_map(|catalogue| catalogue.programme(programme))
            .map(|known| known.opd())
    }

    /// Refuses an agency reporting a programme it does not own (see the module's notes).
    async fn check_reporter(&self, conn: &mut PgConnection, report: &ExternalReport) -> Result<(), ApiError> {
        let agency = report.reporting_opd.as_str();
        let forbidden =
            |message: String| ApiError::new(slrt_errors::ErrorCode::Forbidden, message).with_field("programme_code");
        if let Some(owner) = self.owner_of(&report.programme) {
            return if owner == agency {
                Ok(())
            } else {
                Err(forbidden(format!(
                    "{} is {owner}'s programme in the catalogue; only {owner} reports its enrolments",
                    report.programme
                )))
            };
        }
        // Two agencies reporting one new programme at once would each find no earlier reporter.
        sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
            .bind(format!("eligibility.external-programme.{}", report.programme))
            .execute(&mut *conn)
            .await
            .map_err(ApiError::unavailable)?;
        let other: Option<String> = sqlx::query_scalar(
            "SELECT reporting_opd FROM enrolments
             WHERE source = 'external' AND programme_code = $1 AND reporting_opd <> $2 LIMIT 1",
        )
        .bind(report.programme.as_str())
        .bind(agency)
        .fetch_optional(&mut *conn)
        .await
        .map_err(ApiError::unavailable)?;
        match other {
            None => Ok(()),
            Some(other) => Err(forbidden(format!(
                "{} is reported by {other}; only the agency that runs a programme reports its enrolments",
                report.programme
            ))),
        }
    }

    /// Records an agency's report, once per (agency, reference): the same report again
    /// answers as the first time; the same reference with other content is a conflict.
    /// Audited in its transaction, naming the beneficiary (a household: every member).
    pub async fn report_external_enrolment(
        &self,
        report: &ExternalReport,
        by: &ChangeBy,
    ) -> Result<Reported, ApiError> {
        let mut tx = self.pool.begin().await.map_err(ApiError::unavailable)?;
        self.check_reporter(&mut tx, report).await?;
        lock_report(&mut tx, &report.reporting_opd, &report.reference).await?;
        let catalogue = self.catalogue();
        let kind = catalogue.programme(&report.programme).map(|p| p.beneficiary());
        let (beneficiary, household) = resolve(&mut tx, &report.beneficiary, kind).await?;
        let niks = beneficiary_niks(&mut tx, &beneficiary).await?;
        registry::lock_household(&mut tx, &household)
            .await
            .map_err(ApiError::unavailable)?;
        let people = person_records(&mut *tx, Some(&household))
            .await
            .map_err(ApiError::unavailable)?;
        let around = holdings(&mut *tx, Some(&household), false)
            .await
            .map_err(ApiError::unavailable)?;

        let existing = sqlx::query(
            "SELECT enrolment_id, programme_code, beneficiary_kind, beneficiary_id, started_on FROM enrolments
             WHERE source = 'external' AND reporting_opd = $1 AND external_reference = $2",
        )
        .bind(&report.reporting_opd)
        .bind(&report.reference)
        .fetch_optional(&mut *tx)
        .await
        .map_err(ApiError::unavailable)?;
        if let Some(row) = existing {
            let enrolment_id: Uuid = row.try_get("enrolment_id").map_err(ApiError::unavailable)?;
            let same = row.try_get::<String, _>("programme_code").ok().as_deref() == Some(report.programme.as_str())
                && row.try_get::<String, _>("beneficiary_kind").ok().as_deref() == Some(beneficiary.kind().as_str())
                && row.try_get::<String, _>("beneficiary_id").ok().as_deref() == Some(beneficiary.id())
                && row.try_get::<NaiveDate, _>("started_on").ok() == Some(report.started_on);
            if !same {
                return Err(ApiError::conflict(format!(
                    "{} already reported reference {} for another enrolment ({}); a reference names one enrolment",
                    report.reporting_opd, report.reference, enrolment_id
                ))
                .with_field("reference"));
            }
            let this = around.iter().find(|h| h.enrolment_id == enrolment_id.to_string());
            let violations = this
                .map(|h| overlaps_with(catalogue, &Registry::new(&people), h, &around))
                .unwrap_or_default();
            self.record_change(
                &mut tx,
                by,
                &niks,
                serde_json::json!({ "enrolment_id": enrolment_id, "created": false }),
            )
            .await?;
            tx.commit().await.map_err(ApiError::unavailable)?;
            return Ok(Reported {
                enrolment_id,
                created: false,
                beneficiary,
                violations,
            });
        }

        let enrolment_id = Uuid::now_v7();
        let holding = Holding {
            enrolment_id: enrolment_id.to_string(),
            programme: report.programme.clone(),
            beneficiary: beneficiary.clone(),
            status: EnrolmentStatus::Active,
            source: "external".to_owned(),
            started_on: report.started_on,
        };
        let violations = overlaps_with(catalogue, &Registry::new(&people), &holding, &around);
        sqlx::query(
            "INSERT INTO enrolments (enrolment_id, programme_code, beneficiary_kind, beneficiary_id, status, source,
                                     started_on, reporting_opd, external_reference)
             VALUES ($1, $2, $3, $4, 'active', 'external', $5, $6, $7)",
        )
        .bind(enrolment_id)
        .bind(report.programme.as_str())
        .bind(beneficiary.kind().as_str())
        .bind(beneficiary.id())
        .bind(report.started_on)
        .bind(&report.reporting_opd)
        .bind(&report.reference)
        .execute(&mut *tx)
        .await
        .map_err(ApiError::unavailable)?;
        let event = proto::ExternalEnrolmentReported {
            enrolment_id: enrolment_id.to_string(),
            programme_code: report.programme.to_string(),
            beneficiary_id: beneficiary.id().to_string(),
            beneficiary_kind: beneficiary.kind().as_str().to_string(),
            reporting_opd: report.reporting_opd.clone(),
            reference: report.reference.clone(),
            started_on: report.started_on.to_string(),
            catalogued: kind.is_some(),
            violations: violations
                .iter()
                .map(|v| proto::Reason {
                    rule: v.rule.clone(),
                    message: v.message.clone(),
                })
                .collect(),
        };
        self.store
            .append(
                &mut tx,
                &format!("enrolment-{enrolment_id}"),
                ExpectedVersion::NoStream,
                vec![NewEvent::new(&event)],
            )
            .await
            .map_err(ApiError::unavailable)?;
        self.record_change(
            &mut tx,
            by,
            &niks,
            serde_json::json!({
                "enrolment_id": enrolment_id, "created": true, "programme_code": report.programme.as_str(),
                "violations": violations.iter().map(|v| v.rule.as_str()).collect::<Vec<_>>(),
            }),
        )
        .await?;
        tx.commit().await.map_err(ApiError::unavailable)?;
        if !violations.is_empty() {
            tracing::warn!(
                enrolment.id = %enrolment_id, programme = %report.programme, opd = %report.reporting_opd,
                rules = ?violations.iter().map(|v| v.rule.as_str()).collect::<Vec<_>>(),
                "external enrolment recorded in breach of the overlap rules"
            );
        }
        Ok(Reported {
            enrolment_id,
            created: true,
            beneficiary,
            violations,
        })
    }

    /// Ends an enrolment the same agency reported. Ending it again on the same date changes
    /// nothing; on another date it is a conflict. Audited in its transaction.
    pub async fn end_external_enrolment(&self, end: &ExternalEnd, by: &ChangeBy) -> Result<(Uuid, bool), ApiError> {
        let mut tx = self.pool.begin().await.map_err(ApiError::unavailable)?;
        lock_report(&mut tx, &end.reporting_opd, &end.reference).await?;
        let row = sqlx::query(
            "SELECT enrolment_id, programme_code, beneficiary_kind, beneficiary_id, status, started_on, ended_on
             FROM enrolments WHERE source = 'external' AND reporting_opd = $1 AND external_reference = $2",
        )
        .bind(&end.reporting_opd)
        .bind(&end.reference)
        .fetch_optional(&mut *tx)
        .await
        .map_err(ApiError::unavailable)?
        .ok_or_else(|| {
            ApiError::not_found(format!(
                "{} has reported no enrolment with reference {}",
                end.reporting_opd, end.reference
            ))
            .with_field("reference")
        })?;
        let get = |column: &str| row.try_get::<String, _>(column).map_err(ApiError::unavailable);
        let enrolment_id: Uuid = row.try_get("enrolment_id").map_err(ApiError::unavailable)?;
        let started_on: NaiveDate = row.try_get("started_on").map_err(ApiError::unavailable)?;
        let ended_on: Option<NaiveDate> = row.try_get("ended_on").map_err(ApiError::unavailable)?;
        let beneficiary = match get("beneficiary_kind")?.as_str() {
            "household" => Beneficiary::Household(
                HouseholdId::parse(&get("beneficiary_id")?).map_err(|e| ApiError::internal(e.to_string()))?,
            ),
            _ => Beneficiary::Person(
                PersonId::parse(&get("beneficiary_id")?).map_err(|e| ApiError::internal(e.to_string()))?,
            ),
        };
        let niks = beneficiary_niks(&mut tx, &beneficiary).await?;
        if get("status")? == "ended" {
            return match ended_on {
                Some(day) if day == end.ended_on => {
                    self.record_change(
                        &mut tx,
                        by,
                        &niks,
                        serde_json::json!({ "enrolment_id": enrolment_id, "ended": false }),
                    )
                    .await?;
                    tx.commit().await.map_err(ApiError::unavailable)?;
                    Ok((enrolment_id, false))
                }
                other => Err(ApiError::conflict(format!(
                    "the enrolment already ended on {}",
                    other
                        .map(|d| d.to_string())
                        .unwrap_or_else(|| "an unrecorded date".into())
                ))
                .with_field("ended_on")),
            };
        }
        if end.ended_on < started_on {
            return Err(ApiError::invalid(
                "ended_on",
                format!("{} is before the enrolment started ({started_on})", end.ended_on),
            ));
        }
        sqlx::query(
            "UPDATE enrolments SET status = 'ended', ended_on = $2, ended_reason_code = 'reported_ended',
                                   updated_at = now()
             WHERE enrolment_id = $1",
        )
        .bind(enrolment_id)
        .bind(end.ended_on)
        .execute(&mut *tx)
        .await
        .map_err(ApiError::unavailable)?;
        // An open hold ends with its enrolment: there is nothing left to pay or release.
        sqlx::query("UPDATE enrolment_holds SET state = 'ended' WHERE enrolment_id = $1 AND state = 'open'")
            .bind(enrolment_id)
            .execute(&mut *tx)
            .await
            .map_err(ApiError::unavailable)?;
        let event = proto::ExternalEnrolmentEnded {
            enrolment_id: enrolment_id.to_string(),
            programme_code: get("programme_code")?,
            beneficiary_id: get("beneficiary_id")?,
            beneficiary_kind: get("beneficiary_kind")?,
            reporting_opd: end.reporting_opd.clone(),
            reference: end.reference.clone(),
            ended_on: end.ended_on.to_string(),
            reason: end.reason.clone(),
        };
        self.store
            .append(
                &mut tx,
                &format!("enrolment-{enrolment_id}"),
                ExpectedVersion::Any,
                vec![NewEvent::new(&event)],
            )
            .await
            .map_err(ApiError::unavailable)?;
        self.record_change(
            &mut tx,
            by,
            &niks,
            serde_json::json!({ "enrolment_id": enrolment_id, "ended": true, "ended_on": end.ended_on }),
        )
        .await?;
        tx.commit().await.map_err(ApiError::unavailable)?;
        Ok((enrolment_id, true))
    }

    /// A person's enrolments and their household's (by NIK), or a household's and every
    /// member's (by KK number): every source and status, as far as `scope` reaches. Someone
    /// whose household lives outside an area's reach, or who holds nothing an agency may see,
    /// is not found, as someone the registry does not know. The NIKs of the people concerned
    /// come with the answer, for its audit record.
    pub async fn ledger_of(&self, who: &ReportedBeneficiary, scope: &Scope) -> Result<LedgerOf, ApiError> {
        let mut conn = self.pool.acquire().await.map_err(ApiError::unavailable)?;
        let (person, household) = match who {
            ReportedBeneficiary::Nik(_) => match resolve(&mut conn, who, Some(BeneficiaryKind::Person)).await? {
                (Beneficiary::Person(id), household) => (Some(id), household),
                (Beneficiary::Household(_), household) => (None, household),
            },
            ReportedBeneficiary::Kk(_) => (None, resolve(&mut conn, who, Some(BeneficiaryKind::Household)).await?.1),
        };
        let not_found = || match who {
            ReportedBeneficiary::Nik(_) => not_in_registry_by_nik(),
            ReportedBeneficiary::Kk(_) => not_in_registry_by_kk(),
        };
        let placed: Vec<(String, String)> =
            sqlx::query_as("SELECT nik, region_code FROM registry_people WHERE household_id = $1 ORDER BY nik")
                .bind(household.as_str())
                .fetch_all(&mut *conn)
                .await
                .map_err(ApiError::unavailable)?;
        if let Scope::Areas(_) = scope
            && !placed.iter().all(|(_, region)| scope.covers(region))
        {
            return Err(not_found());
        }
        let people: Vec<String> = match &person {
            Some(id) => vec![id.to_string()],
            None => person_records(&mut *conn, Some(&household))
                .await
                .map_err(ApiError::unavailable)?
                .into_iter()
                .map(|p| p.person_id.to_string())
                .collect(),
        };
        let mut enrolments = super::of_beneficiaries(&mut *conn, &[household.to_string()], &people)
            .await
            .map_err(ApiError::unavailable)?;
        if let Scope::Agency(agency) = scope {
            enrolments.retain(|enrolment| {
                enrolment.reporting_opd.as_deref() == Some(agency.as_str())
                    || ProgrammeCode::parse(&enrolment.programme_code)
                        .ok()
                        .and_then(|code| self.owner_of(&code))
                        == Some(agency.as_str())
            });
            if enrolments.is_empty() {
                return Err(not_found());
            }
        }
        // The person asked about, or, for a household, every member; a household programme
        // of a person's household is theirs too, so the members come along for a NIK as well.
        let niks = placed.into_iter().map(|(nik, _)| nik).collect();
        Ok(LedgerOf {
            person,
            household,
            enrolments,
            niks,
        })
    }
}

/// A person's or household's part of the ledger, as a caller may see it.
#[derive(Debug, Clone)]
pub struct LedgerOf {
    pub person: Option<PersonId>,
    pub household: HouseholdId,
    pub enrolments: Vec<super::EnrolmentView>,
    /// The NIKs of the people it concerns: the household's members.
    pub niks: Vec<String>,
}

/// The NIKs of the people an enrolment of `beneficiary` concerns: the person, or every member
/// of the household.
async fn beneficiary_niks(conn: &mut PgConnection, beneficiary: &Beneficiary) -> Result<Vec<String>, ApiError> {
    let id = beneficiary.id().to_string();
    match beneficiary.kind() {
        BeneficiaryKind::Person => crate::app::scope::niks_of(&mut *conn, &[id], &[]).await,
        BeneficiaryKind::Household => crate::app::scope::niks_of(&mut *conn, &[], &[id]).await,
    }
}

fn not_in_registry_by_nik() -> ApiError {
    ApiError::not_found("no person in the registry has this NIK; a report must name a registry member")
        .with_field("nik")
}

fn not_in_registry_by_kk() -> ApiError {
    ApiError::not_found("no household in the registry has this KK number; a report must name a registry household")
        .with_field("kk_number")
}

/// Two reports under one reference, handled at once, would both find none recorded.
async fn lock_report(conn: &mut PgConnection, opd: &str, reference: &str) -> Result<(), ApiError> {
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
        .bind(format!("eligibility.external.{opd}/{reference}"))
        .execute(conn)
        .await
        .map_err(ApiError::unavailable)?;
    Ok(())
}

/// The registry beneficiary a report names, and their household. A catalogued programme's
/// own kind decides between the person and their household; for a programme this system
/// does not decide, a NIK names the person and a KK number the household.
async fn resolve(
    conn: &mut PgConnection,
    who: &ReportedBeneficiary,
    kind: Option<BeneficiaryKind>,
) -> Result<(Beneficiary, HouseholdId), ApiError> {
    match who {
        ReportedBeneficiary::Nik(nik) => {
            let applicant = registry::applicant_by_nik(&mut *conn, nik)
                .await
                .map_err(ApiError::unavailable)?;
            let facts = applicant.facts().ok_or_else(not_in_registry_by_nik)?;
            let beneficiary = match kind {
                Some(BeneficiaryKind::Household) => Beneficiary::Household(facts.household_id.clone()),
                Some(BeneficiaryKind::Person) | None => Beneficiary::Person(facts.person_id.clone()),
            };
            Ok((beneficiary, facts.household_id.clone()))
        }
        ReportedBeneficiary::Kk(kk) => {
            if kind == Some(BeneficiaryKind::Person) {
                return Err(ApiError::invalid(
                    "kk_number",
                    "the programme is held by a person, not a household: name the person by NIK",
                ));
            }
            let households: Vec<String> =
                sqlx::query_scalar("SELECT DISTINCT household_id FROM registry_people WHERE kk_number = $1")
                    .bind(kk.as_str())
                    .fetch_all(&mut *conn)
                    .await
                    .map_err(ApiError::unavailable)?;
            match households.as_slice() {
                [] => Err(not_in_registry_by_kk()),
                [one] => {
                    let id = HouseholdId::parse(one).map_err(|e| ApiError::internal(e.to_string()))?;
                    Ok((Beneficiary::Household(id.clone()), id))
                }
                _ => Err(ApiError::rejected(
                    "the registry files more than one household under this KK number; name a member by NIK instead",
                )
                .with_field("kk_number")),
            }
        }
    }
}
