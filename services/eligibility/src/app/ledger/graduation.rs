//! Graduation: a household leaves PKH / BPNT and enters PENA, the one-off business grant,
//! in one transaction. PENA may not be combined with PKH or BPNT, so the old enrolments end
//! before PENA starts; were the two steps separate, a crash between them would leave the
//! family either on both (a breach) or on neither (a family dropped).

use slrt_errors::ApiError;
use slrt_eventstore::{ExpectedVersion, NewEvent};
use slrt_proto::eligibility::v1 as proto;
use uuid::Uuid;

use super::{holdings, person_records};
use crate::app::scope::ChangeBy;
use crate::app::{Eligibility, registry};
use crate::domain::{HouseholdId, plan_graduation};

/// What the back office asks for; who asks is the caller the token names.
#[derive(Debug, Clone)]
pub struct Graduate {
    pub household: HouseholdId,
    pub reason: String,
}

/// What graduation did.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Graduated {
    pub graduation_id: Uuid,
    #[schema(example = "H-000001")]
    pub household_id: String,
    /// The enrolments ended (reason `graduated`), by programme.
    pub ended: Vec<EndedEnrolment>,
    /// The PENA enrolment started.
    pub pena_enrolment_id: Uuid,
    pub graduated_on: chrono::NaiveDate,
    #[schema(example = "2026.2")]
    pub catalogue_version: String,
}

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct EndedEnrolment {
    pub enrolment_id: Uuid,
    #[schema(example = "PKH")]
    pub programme_code: String,
}

impl Eligibility {
    /// Ends the household's programmes that PENA excludes (reason `graduated`) and starts
    /// PENA, with `EnrolmentEnded`, `EnrolmentStarted` and `HouseholdGraduated` appended in the
    /// same transaction, with the audit record naming every member. Refused, naming why,
    /// when the household holds none of them, one is on hold or was reported by another
    /// agency, or PENA was received before; not found when it lives outside `by`'s area.
    pub async fn graduate(&self, request: &Graduate, by: &ChangeBy) -> Result<Graduated, ApiError> {
        let today = slrt_identity::today_in_indonesia();
        let catalogue = self.catalogue_on(today);
        let actor = by.actor().to_owned();
        let mut tx = self.pool.begin().await.map_err(ApiError::unavailable)?;
        let placed: Vec<(String, String)> =
            sqlx::query_as("SELECT nik, region_code FROM registry_people WHERE household_id = $1 ORDER BY nik")
                .bind(request.household.as_str())
                .fetch_all(&mut *tx)
                .await
                .map_err(ApiError::unavailable)?;
        if placed.is_empty() || !placed.iter().all(|(_, region)| by.scope.covers(region)) {
            return Err(
                ApiError::not_found(format!("household {} is not in the registry", request.household))
                    .with_field("household_id"),
            );
        }
        registry::lock_household(&mut tx, &request.household)
            .await
            .map_err(ApiError::unavailable)?;
        let people = person_records(&mut *tx, Some(&request.household))
            .await
            .map_err(ApiError::unavailable)?;
        let living = people.iter().filter(|p| !p.deceased).count() as u32;
        let all = holdings(&mut *tx, Some(&request.household), true)
            .await
            .map_err(ApiError::unavailable)?;
        let reporters: Vec<(String, Option<String>)> = sqlx::query_as(
            "SELECT enrolment_id::text, reporting_opd FROM enrolments
             WHERE beneficiary_kind = 'household' AND beneficiary_id = $1 AND source = 'external'",
        )
        .bind(request.household.as_str())
        .fetch_all(&mut *tx)
        .await
        .map_err(ApiError::unavailable)?;
        let plan = plan_graduation(catalogue, &request.household, &all, living, |holding| {
            reporters
                .iter()
                .find(|(id, _)| id == &holding.enrolment_id)
                .and_then(|(_, opd)| opd.clone())
        })
        .map_err(|refused| ApiError::rejected(refused.to_string()).with_field("household_id"))?;

        let graduation_id = Uuid::now_v7();
        let reason = format!("graduated: {}", request.reason);
        let mut ended = Vec::with_capacity(plan.end.len());
        for holding in &plan.end {
            let enrolment_id =
                Uuid::parse_str(&holding.enrolment_id).map_err(|error| ApiError::internal(error.to_string()))?;
            sqlx::query(
                "UPDATE enrolments SET status = 'ended', ended_on = $2, ended_reason_code = 'graduated',
                                       updated_at = now()
                 WHERE enrolment_id = $1",
            )
            .bind(enrolment_id)
            .bind(today)
            .execute(&mut *tx)
            .await
            .map_err(ApiError::unavailable)?;
            let event = proto::EnrolmentEnded {
                enrolment_id: holding.enrolment_id.clone(),
                programme_code: holding.programme.to_string(),
                beneficiary_id: holding.beneficiary.id().to_string(),
                beneficiary_kind: holding.beneficiary.kind().as_str().to_string(),
                ended_on: today.to_string(),
                reason_code: "graduated".to_string(),
                reason: reason.clone(),
                evidence_id: String::new(),
                verification_task_id: String::new(),
                actor: actor.clone(),
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
            ended.push(EndedEnrolment {
                enrolment_id,
                programme_code: holding.programme.to_string(),
            });
        }

        let pena_enrolment_id = Uuid::now_v7();
        sqlx::query(
            "INSERT INTO enrolments (enrolment_id, programme_code, beneficiary_kind, beneficiary_id, status, source,
                                     started_on)
             VALUES ($1, $2, $3, $4, 'active', 'graduation', $5)",
        )
        .bind(pena_enrolment_id)
        .bind(plan.pena.as_str())
        .bind(plan.household.kind().as_str())
        .bind(plan.household.id())
        .bind(today)
        .execute(&mut *tx)
        .await
        .map_err(ApiError::unavailable)?;
        let started = proto::EnrolmentStarted {
            enrolment_id: pena_enrolment_id.to_string(),
            // No case: the back office graduates a household on its own record.
            case_id: String::new(),
            programme_code: plan.pena.to_string(),
            beneficiary_id: plan.household.id().to_string(),
            beneficiary_kind: plan.household.kind().as_str().to_string(),
            started_on: today.to_string(),
            reinstates_enrolment_id: String::new(),
        };
        let graduated = proto::HouseholdGraduated {
            graduation_id: graduation_id.to_string(),
            household_id: request.household.to_string(),
            ended_enrolment_ids: ended.iter().map(|e| e.enrolment_id.to_string()).collect(),
            ended_programmes: ended.iter().map(|e| e.programme_code.clone()).collect(),
            pena_enrolment_id: pena_enrolment_id.to_string(),
            graduated_on: today.to_string(),
            reason: request.reason.clone(),
            actor: actor.clone(),
            catalogue_version: catalogue.version().to_string(),
        };
        self.store
            .append(
                &mut tx,
                &format!("enrolment-{pena_enrolment_id}"),
                ExpectedVersion::NoStream,
                vec![NewEvent::new(&started)],
            )
            .await
            .map_err(ApiError::unavailable)?;
        self.store
            .append(
                &mut tx,
                &format!("graduation-{graduation_id}"),
                ExpectedVersion::NoStream,
                vec![NewEvent::new(&graduated)],
            )
            .await
            .map_err(ApiError::unavailable)?;
        let niks: Vec<String> = placed.into_iter().map(|(nik, _)| nik).collect();
        self.record_change(
            &mut tx,
            by,
            &niks,
            serde_json::json!({
                "graduation_id": graduation_id,
                "ended_programmes": ended.iter().map(|e| e.programme_code.as_str()).collect::<Vec<_>>(),
                "pena_enrolment_id": pena_enrolment_id,
            }),
        )
        .await?;
        tx.commit().await.map_err(ApiError::unavailable)?;
        tracing::info!(
            household.id = %request.household, graduation.id = %graduation_id, ended = ended.len(),
            "household graduated to PENA"
        );
        Ok(Graduated {
            graduation_id,
            household_id: request.household.to_string(),
            ended,
            pena_enrolment_id,
            graduated_on: today,
            catalogue_version: catalogue.version().to_string(),
        })
    }
}
