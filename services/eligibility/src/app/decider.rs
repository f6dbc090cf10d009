//! Deciding a case opened at the desk: load the registry facts and the ledger, decide every
//! need against the catalogue, and record the decision and the enrolments it starts.

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use slrt_eventstore::envelope::ReceivedEnvelope;
use slrt_eventstore::{AppendError, EventStore, ExpectedVersion, NewEvent};
use slrt_identity::Nik;
use slrt_proto::eligibility::v1 as proto;
use slrt_proto::intake::v1::CaseOpened;
use sqlx::PgConnection;
use uuid::Uuid;

use super::ledger::{self, EnrolmentView, NewEnrolment};
use super::registry;
use crate::domain::{
    Applicant, CaseDecision, Catalogues, DecisionInputs, Household, Need, NeedCategory, NeedDecision, NeedId, Outcome,
    decide_case_in_household,
};
use crate::projections::{self, DecidedApplicant, DecisionView, InputsView, NeedOutcome};

/// Why a case could not be decided.
#[derive(Debug, thiserror::Error)]
pub enum DecideError {
    /// The event breaks intake's contract; deciding it again will not help.
    #[error("CaseOpened {case_id}: {problem}")]
    Contract { case_id: String, problem: String },
    #[error("eligibility database: {0}")]
    Database(#[from] sqlx::Error),
    /// Another writer recorded events for the case or an enrolment first; deciding again
    /// sees what it wrote.
    #[error(transparent)]
    Append(#[from] AppendError),
}

/// What happened to a `CaseOpened`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decided {
    /// The decision and its enrolments were recorded.
    Recorded {
        approved: usize,
        rejected: usize,
        enrolments: usize,
    },
    /// The case had been decided before (the same case delivered again).
    AlreadyDecided,
    /// Nothing to decide: the case lists no needs.
    NoNeeds,
}

/// The case as eligibility needs it, checked.
struct CaseToDecide {
    case_id: Uuid,
    case_number: String,
    nik: Nik,
    applicant_name: String,
    region_code: String,
    needs: Vec<Need>,
}

/// Decides the case `opened` announces, inside the caller's transaction: the `CaseDecided`
/// event on stream `decision-{case_id}`, an `EnrolmentStarted` on `enrolment-{id}` for each
/// enrolment to start, their ledger rows and the decision's read-model row all commit
/// together. A case already decided is left alone.
pub async fn decide_case_opened(
    conn: &mut PgConnection,
    store: &EventStore,
    catalogues: &Catalogues,
    event: &ReceivedEnvelope,
    opened: &CaseOpened,
) -> Result<Decided, DecideError> {
    // Ages are reckoned on the day the case was opened, so a decision replayed later, or
    // made after a backlog, is the one the applicant would have had at the desk.
    let decided_on = date_in_indonesia(event.occurred_at);
    let case = CaseToDecide::check(opened, decided_on)?;
    if case.needs.is_empty() {
        return Ok(Decided::NoNeeds);
    }
    let stream = format!("decision-{}", case.case_id);
    if slrt_eventstore::stream_version(&mut *conn, &stream).await? > 0 {
        return Ok(Decided::AlreadyDecided);
    }

    // The policy in force on the day the case was opened, whatever day it is decided.
    let catalogue = catalogues.in_force(decided_on);
    let applicant = registry::applicant_by_nik(&mut *conn, &case.nik).await?;
    let household = match applicant.facts() {
        Some(facts) => {
            registry::lock_household(conn, &facts.household_id).await?;
            // Two people on one family card but filed in different households would each
            // pass a one-recipient-per-KK rule if decided at once.
            ledger::lock_family_card(conn, &facts.person_id).await?;
            ledger::household_around(&mut *conn, facts).await?
        }
        None => Household::default(),
    };
    let ledger = ledger::view_for(&mut *conn, &applicant).await?;
    let decision = decide_case_in_household(catalogue, &applicant, &household, &case.needs, &ledger, decided_on);

    let decided = case_decided(&case, &applicant, &decision);
    let decided_event = NewEvent::new(&decided).for_case(case.case_id).caused_by(event.event_id);
    let decided_at = decided_event.occurred_at;
    let decided_event_id = decided_event.event_id;
    store
        .append(conn, &stream, ExpectedVersion::NoStream, vec![decided_event])
        .await?;

    let mut started = Vec::with_capacity(decision.enrolments_to_start.len());
    for to_start in &decision.enrolments_to_start {
        let enrolment = NewEnrolment {
            enrolment_id: Uuid::now_v7(),
            programme: to_start.programme.clone(),
            beneficiary: to_start.beneficiary.clone(),
            case_id: case.case_id,
            need_id: to_start.need_id.to_string(),
            started_on: to_start.started_on,
        };
        let payload = proto::EnrolmentStarted {
            enrolment_id: enrolment.enrolment_id.to_string(),
            case_id: case.case_id.to_string(),
            programme_code: enrolment.programme.to_string(),
            beneficiary_id: enrolment.beneficiary.id().to_string(),
            beneficiary_kind: enrolment.beneficiary.kind().as_str().to_string(),
            started_on: enrolment.started_on.format("%Y-%m-%d").to_string(),
            reinstates_enrolment_id: String::new(),
        };
        let event = NewEvent::new(&payload).for_case(case.case_id).caused_by(event.event_id);
        store
            .append(
                conn,
                &format!("enrolment-{}", enrolment.enrolment_id),
                ExpectedVersion::NoStream,
                vec![event],
            )
            .await?;
        ledger::insert(conn, &enrolment).await?;
        started.push(EnrolmentView {
            enrolment_id: enrolment.enrolment_id,
            programme_code: payload.programme_code,
            beneficiary_kind: payload.beneficiary_kind,
            beneficiary_id: payload.beneficiary_id,
            status: "active".to_string(),
            source: "decision".to_string(),
            case_id: Some(case.case_id),
            need_id: Some(enrolment.need_id),
            started_on: enrolment.started_on,
            ended_on: None,
            reporting_opd: None,
            external_reference: None,
        });
    }

    let view = DecisionView {
        case_id: case.case_id,
        case_number: case.case_number.clone(),
        catalogue_version: decision.catalogue_version.clone(),
        decided_at,
        decided_on,
        inputs: Some(InputsView::of(&decision.inputs)),
        event_id: decided_event_id,
        applicant: DecidedApplicant::of(&decision, &case.applicant_name, case.nik.masked(), &case.region_code),
        needs: decision.decisions.iter().map(NeedOutcome::of).collect(),
        enrolments_started: started,
    };
    projections::record_decision(conn, &view).await?;

    let approved = decision.decisions.iter().filter(|need| need.grant().is_some()).count();
    Ok(Decided::Recorded {
        approved,
        rejected: decision.decisions.len() - approved,
        enrolments: view.enrolments_started.len(),
    })
}

impl CaseToDecide {
    fn check(opened: &CaseOpened, today: NaiveDate) -> Result<Self, DecideError> {
        let broken = |problem: String| DecideError::Contract {
            case_id: opened.case_id.clone(),
            problem,
        };
        let case_id = Uuid::parse_str(&opened.case_id).map_err(|_| broken("case_id is not a UUID".into()))?;
        let applicant = opened
            .applicant
            .as_ref()
            .ok_or_else(|| broken("applicant is missing".into()))?;
        // The NIK error never repeats the number, so it can be logged and dead-lettered.
        let nik = Nik::parse_at(&applicant.nik, today).map_err(|error| broken(format!("applicant.nik: {error}")))?;
        let needs = opened
            .needs
            .iter()
            .enumerate()
            .map(|(index, need)| {
                let id =
                    NeedId::parse(&need.need_id).map_err(|error| broken(format!("needs[{index}].need_id: {error}")))?;
                let category = need
                    .category
                    .parse::<NeedCategory>()
                    .map_err(|error| broken(format!("needs[{index}].category: {error}")))?;
                Ok(Need { id, category })
            })
            .collect::<Result<Vec<_>, DecideError>>()?;
        Ok(Self {
            case_id,
            case_number: opened.case_number.clone(),
            nik,
            applicant_name: applicant.full_name.clone(),
            region_code: applicant.region_code.clone(),
            needs,
        })
    }
}

fn case_decided(case: &CaseToDecide, applicant: &Applicant, decision: &CaseDecision) -> proto::CaseDecided {
    proto::CaseDecided {
        case_id: case.case_id.to_string(),
        catalogue_version: decision.catalogue_version.clone(),
        person_id: decision.person_id.as_ref().map(ToString::to_string).unwrap_or_default(),
        household_id: decision
            .household_id
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default(),
        // Whom the OPD serves: the registry's spelling when the registry knows the person,
        // else the name given at the desk (someone asking for documents is often not in it).
        beneficiary_name: match applicant {
            Applicant::InRegistry(facts) => facts.full_name.clone(),
            Applicant::NotInRegistry => case.applicant_name.clone(),
        },
        decisions: decision.decisions.iter().map(need_decision).collect(),
        applicant_name: case.applicant_name.clone(),
        applicant_nik: case.nik.as_str().to_string(),
        region_code: case.region_code.clone(),
        inputs: Some(decision_inputs(&decision.inputs)),
    }
}

fn decision_inputs(inputs: &DecisionInputs) -> proto::DecisionInputs {
    let count = |n: u32| i32::try_from(n).unwrap_or(i32::MAX);
    proto::DecisionInputs {
        decided_on: inputs.decided_on.to_string(),
        catalogue_effective_from: inputs.catalogue_effective_from.to_string(),
        desil: inputs.desil.map(i32::from).unwrap_or_default(),
        age: inputs.age.map_or(-1, count),
        deceased: inputs.deceased,
        household_members: count(inputs.household_members),
        living_members: count(inputs.living_members),
        children_under_18: count(inputs.children_under_18),
        elderly_70_plus: count(inputs.elderly_70_plus),
        enrolments_considered: inputs
            .enrolments_considered
            .iter()
            .map(|entry| proto::ConsideredEnrolment {
                programme_code: entry.programme.to_string(),
                beneficiary_kind: entry.beneficiary.kind().as_str().to_string(),
                beneficiary_id: entry.beneficiary.id().to_string(),
                status: entry.status.as_str().to_string(),
            })
            .collect(),
    }
}

fn need_decision(decision: &NeedDecision) -> proto::NeedDecision {
    let grant = decision.grant();
    proto::NeedDecision {
        need_id: decision.need_id.to_string(),
        category: decision.category.to_string(),
        outcome: match decision.outcome {
            Outcome::Approved(_) => proto::Outcome::Approved,
            Outcome::Rejected => proto::Outcome::Rejected,
        } as i32,
        programme_code: grant.map(|grant| grant.programme.to_string()).unwrap_or_default(),
        programme_name: grant.map(|grant| grant.programme_name.clone()).unwrap_or_default(),
        benefit: grant.map(|grant| proto::Benefit {
            cash: grant.benefit.is_cash(),
            amount_per_period_idr: grant.benefit.amount_per_period_idr(),
            cadence: grant
                .benefit
                .cadence()
                .map(|cadence| cadence.as_str().to_string())
                .unwrap_or_default(),
            component: grant.benefit.component().map(str::to_string).unwrap_or_default(),
        }),
        reasons: decision
            .reasons
            .iter()
            .map(|reason| proto::Reason {
                rule: reason.rule.clone(),
                message: reason.message.clone(),
            })
            .collect(),
    }
}

/// The calendar date at `at` at the eastern end of Indonesia (WIT, UTC+9), as
/// `slrt_identity::today_in_indonesia` reckons today.
fn date_in_indonesia(at: DateTime<Utc>) -> NaiveDate {
    (at + TimeDelta::hours(9)).date_naive()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_decision_date_is_the_date_in_eastern_indonesia() {
        let late_evening_utc = DateTime::parse_from_rfc3339("2026-03-01T16:30:00Z").map(|at| at.to_utc());
        assert_eq!(
            late_evening_utc.map(date_in_indonesia).ok(),
            NaiveDate::from_ymd_opt(2026, 3, 2)
        );
    }
}
