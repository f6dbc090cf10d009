//! Routing a decided case: each approved need becomes a referral to the responsible OPD, or
//! an unrouted notice for supervisors. Runs inside the consumer's inbox transaction.

use slrt_eventstore::{AppendError, EventStore, ExpectedVersion};
use slrt_proto::eligibility::v1 as eligibility;
use sqlx::PgConnection;
use uuid::Uuid;

use super::{codec, referral_stream};
use crate::domain::{
    self, CashBenefit, DecidedNeed, Nik, ReferralCommand, ReferralUnrouted, RoutingDecision, RoutingTable, route_need,
};
use crate::projections;

#[derive(Debug, thiserror::Error)]
pub enum RouteError {
    #[error("referral database: {0}")]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Append(#[from] AppendError),
    /// The event can never be routed as it is; it names the offending field.
    #[error("CaseDecided {field} is invalid: {reason}")]
    Invalid { field: String, reason: String },
}

/// What became of one approved need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NeedOutcome {
    Referred {
        need_id: Uuid,
        referral_id: Uuid,
    },
    Unrouted {
        need_id: Uuid,
    },
    /// Routed or reported by an earlier delivery of the decision.
    AlreadyHandled {
        need_id: Uuid,
    },
}

/// Routes every approved need of `decided`. `cause` is the id of the incoming event;
/// `envelope_case` the case id of its envelope, used when the payload carries none.
pub async fn route_case(
    conn: &mut PgConnection,
    store: &EventStore,
    routing: &RoutingTable,
    cause: Uuid,
    envelope_case: Option<Uuid>,
    decided: &eligibility::CaseDecided,
) -> Result<Vec<NeedOutcome>, RouteError> {
    let case_id = match (decided.case_id.as_str(), envelope_case) {
        ("", Some(case_id)) => case_id,
        (text, _) => Uuid::parse_str(text).map_err(|error| invalid("case_id", error.to_string()))?,
    };
    // Household programmes pay the household; the catalogue's beneficiary kind does not
    // travel with the decision, so the household wins whenever the registry knows one.
    let beneficiary_id = [&decided.household_id, &decided.person_id]
        .into_iter()
        .find(|id| !id.is_empty())
        .cloned();

    let mut outcomes = Vec::new();
    for (index, decision) in decided.decisions.iter().enumerate() {
        if decision.outcome != eligibility::Outcome::Approved as i32 {
            continue;
        }
        let need_id = Uuid::parse_str(&decision.need_id)
            .map_err(|error| invalid(format!("decisions[{index}].need_id"), error.to_string()))?;
        // A decision delivered again, even under another event id, must not route twice.
        if projections::need_handled(&mut *conn, case_id, need_id).await? {
            outcomes.push(NeedOutcome::AlreadyHandled { need_id });
            continue;
        }
        let need = DecidedNeed {
            case_id,
            need_id,
            category: decision.category.clone(),
            programme_code: Some(decision.programme_code.clone()).filter(|code| !code.is_empty()),
            region_code: decided.region_code.clone(),
            client_name: decided.applicant_name.clone(),
            client_nik: Nik::new(decided.applicant_nik.clone()),
            beneficiary_id: beneficiary_id.clone(),
            benefit: decision
                .benefit
                .as_ref()
                .filter(|benefit| benefit.cash)
                .map(|benefit| CashBenefit {
                    amount_per_period_idr: benefit.amount_per_period_idr,
                    cadence: benefit.cadence.clone(),
                    component: benefit.component.clone(),
                }),
        };
        let outcome = match route_need(routing, Uuid::now_v7(), need) {
            RoutingDecision::Routed(request) => {
                let referral_id = request.details.referral_id;
                let opd = request.details.opd_code.clone();
                refer(conn, store, cause, ReferralCommand::Request(request)).await?;
                tracing::info!(case.id = %case_id, need.id = %need_id, referral.id = %referral_id, opd = %opd, "need referred");
                NeedOutcome::Referred { need_id, referral_id }
            }
            RoutingDecision::Unrouted(unrouted) => {
                report_unrouted(conn, store, cause, &unrouted).await?;
                tracing::warn!(case.id = %case_id, need.id = %need_id, reason = %unrouted.reason, "need has no route");
                NeedOutcome::Unrouted { need_id }
            }
        };
        outcomes.push(outcome);
    }
    Ok(outcomes)
}

async fn refer(
    conn: &mut PgConnection,
    store: &EventStore,
    cause: Uuid,
    command: ReferralCommand,
) -> Result<(), RouteError> {
    // A new stream: the domain decides on no state, which always yields the request.
    let events =
        domain::handle(None, &command).map_err(|error| invalid("decisions", format!("cannot be referred: {error}")))?;
    let new_events = events
        .iter()
        .map(|event| codec::encode(event).caused_by(cause))
        .collect();
    let stream = referral_stream(command.referral_id());
    let recorded = store
        .append(&mut *conn, &stream, ExpectedVersion::NoStream, new_events)
        .await?;
    for (event, stored) in events.iter().zip(&recorded) {
        projections::apply(&mut *conn, event, stored.occurred_at).await?;
    }
    Ok(())
}

async fn report_unrouted(
    conn: &mut PgConnection,
    store: &EventStore,
    cause: Uuid,
    unrouted: &ReferralUnrouted,
) -> Result<(), RouteError> {
    let stream = format!("unrouted-{}-{}", unrouted.case_id, unrouted.need_id);
    let event = codec::encode_unrouted(unrouted).caused_by(cause);
    let recorded = store
        .append(&mut *conn, &stream, ExpectedVersion::NoStream, vec![event])
        .await?;
    for stored in &recorded {
        projections::record_unrouted(&mut *conn, stored.event_id, unrouted, stored.occurred_at).await?;
    }
    Ok(())
}

fn invalid(field: impl Into<String>, reason: String) -> RouteError {
    RouteError::Invalid {
        field: field.into(),
        reason,
    }
}
