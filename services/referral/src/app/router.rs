//! Routing a decided case: each approved need becomes a referral to the responsible OPD, a
//! link to the open referral another case already has for the same person and need, or an
//! unrouted notice for supervisors. Runs inside the consumer's inbox transaction.

use slrt_eventstore::ExpectedVersion;
use slrt_proto::eligibility::v1 as eligibility;
use sqlx::PgConnection;
use uuid::Uuid;

use super::{RecordError, Referrals, referral_stream};
use crate::domain::{
    self, CashBenefit, DecidedNeed, LinkNeed, LinkedNeed, Nik, ReferralCommand, ReferralError, RoutingContext,
    RoutingDecision, route_need,
};
use crate::projections;

#[derive(Debug, thiserror::Error)]
pub enum RouteError {
    #[error(transparent)]
    Record(#[from] RecordError),
    #[error("referral database: {0}")]
    Database(#[from] sqlx::Error),
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
    /// The same person already has an open referral for this need (another case's).
    Linked {
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

impl Referrals {
    /// Routes every approved need of `decided`. `cause` is the id of the incoming event;
    /// `envelope_case` the case id of its envelope, used when the payload carries none.
    pub async fn route_case(
        &self,
        conn: &mut PgConnection,
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
            let outcome = self.route_one(conn, cause, need).await?;
            outcomes.push(outcome);
        }
        Ok(outcomes)
    }

    async fn route_one(
        &self,
        conn: &mut PgConnection,
        cause: Uuid,
        need: DecidedNeed,
    ) -> Result<NeedOutcome, RouteError> {
        let need_id = need.need_id;
        let component = need.benefit.as_ref().map(|b| b.component.as_str()).unwrap_or_default();
        let open = projections::open_for_person(
            &mut *conn,
            need.client_nik.as_str(),
            &need.category,
            need.programme_code.as_deref(),
            component,
        )
        .await?;
        if let Some(referral_id) = open {
            self.link(conn, cause, referral_id, &need).await?;
            return Ok(NeedOutcome::Linked { need_id, referral_id });
        }
        let now = self.clock.now();
        let context = RoutingContext::first(Uuid::now_v7(), now, &self.routing);
        match route_need(&self.routing, &self.sla, context, need) {
            RoutingDecision::Routed(request) => {
                let referral_id = request.details.referral_id;
                self.open(conn, &request, &[], Some(cause), now).await?;
                Ok(NeedOutcome::Referred { need_id, referral_id })
            }
            RoutingDecision::Unrouted(unrouted) => {
                self.record_unrouted(conn, &unrouted, Some(cause), now).await?;
                tracing::warn!(
                    case.id = %unrouted.need.case_id,
                    need.id = %need_id,
                    reason = %unrouted.reason,
                    "need has no route"
                );
                Ok(NeedOutcome::Unrouted { need_id })
            }
        }
    }

    async fn link(
        &self,
        conn: &mut PgConnection,
        cause: Uuid,
        referral_id: Uuid,
        need: &DecidedNeed,
    ) -> Result<(), RouteError> {
        let loaded = self.load(&mut *conn, referral_id).await?;
        let command = ReferralCommand::Link(LinkNeed {
            referral_id,
            linked: LinkedNeed {
                case_id: need.case_id,
                need_id: need.need_id,
            },
        });
        let events = match domain::handle(loaded.referral.as_ref(), &command) {
            Ok(events) => events,
            Err(ReferralError::AlreadyInState { .. }) => return Ok(()),
            Err(error) => {
                return Err(invalid(
                    "decisions",
                    format!("cannot be linked to referral {referral_id}: {error}"),
                ));
            }
        };
        let now = self.clock.now();
        self.record(
            conn,
            &referral_stream(referral_id),
            ExpectedVersion::Exact(loaded.version),
            &events,
            Some(cause),
            now,
        )
        .await?;
        tracing::info!(
            case.id = %need.case_id,
            need.id = %need.need_id,
            referral.id = %referral_id,
            "need linked to the open referral for the same person"
        );
        Ok(())
    }
}

fn invalid(field: impl Into<String>, reason: String) -> RouteError {
    RouteError::Invalid {
        field: field.into(),
        reason,
    }
}
