//! From a need that eligibility approved to a referral request, or to a notice that no
//! agency is responsible for it. Unrouted needs are never dropped: supervisors see them.

use uuid::Uuid;

use super::commands::RequestReferral;
use super::events::{CashBenefit, Nik, ReferralDetails};
use super::routing::RoutingTable;
use slrt_vocabulary::NeedCategory;

/// One approved need of a `CaseDecided` event, with the client it is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecidedNeed {
    pub case_id: Uuid,
    pub need_id: Uuid,
    /// As eligibility sent it; an unknown category is reported as unrouted.
    pub category: String,
    pub programme_code: Option<String>,
    /// Kemendagri village code of the client's address.
    pub region_code: String,
    pub client_name: String,
    pub client_nik: Nik,
    pub beneficiary_id: Option<String>,
    pub benefit: Option<CashBenefit>,
}

/// An approved need that matched no route (`slrt.referral.v1.ReferralUnrouted`). Not part of
/// any referral's stream: there is no referral.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReferralUnrouted {
    pub case_id: Uuid,
    pub need_id: Uuid,
    pub category: String,
    pub programme_code: Option<String>,
    pub region_code: String,
    /// For the supervisor: what was looked for, so the table or the need can be fixed.
    pub reason: String,
}

impl ReferralUnrouted {
    pub const EVENT_TYPE: &str = "slrt.referral.v1.ReferralUnrouted";
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoutingDecision {
    /// Handle this command on the new referral's (empty) stream.
    Routed(RequestReferral),
    Unrouted(ReferralUnrouted),
}

/// Routes one decided need. `referral_id` is the id the new referral will have; the caller
/// chooses it so that the decision stays pure.
pub fn route_need(table: &RoutingTable, referral_id: Uuid, need: DecidedNeed) -> RoutingDecision {
    let programme = need.programme_code.as_deref().filter(|p| !p.is_empty());
    let route = match NeedCategory::parse(&need.category) {
        Ok(category) => table
            .route(category, programme, &need.region_code)
            .map(|route| (category, route)),
        Err(unknown) => return unrouted(need, unknown.to_string()),
    };
    let Some((category, route)) = route else {
        let reason = format!(
            "no rule of routing table {version} routes category {category}{programme} \
             in region {region}",
            version = table.version(),
            category = need.category,
            programme = programme.map_or(String::new(), |p| format!(" (programme {p})")),
            region = if need.region_code.is_empty() {
                "(none given)"
            } else {
                need.region_code.as_str()
            },
        );
        return unrouted(need, reason);
    };
    RoutingDecision::Routed(RequestReferral {
        details: ReferralDetails {
            referral_id,
            case_id: need.case_id,
            need_id: need.need_id,
            category,
            programme_code: programme.map(str::to_owned),
            opd_code: route.opd_code,
            opd_name: route.opd_name,
            service: route.service,
            region_code: need.region_code,
            client_name: need.client_name,
            client_nik: need.client_nik,
            beneficiary_id: need.beneficiary_id,
            benefit: need.benefit,
        },
    })
}

fn unrouted(need: DecidedNeed, reason: String) -> RoutingDecision {
    RoutingDecision::Unrouted(ReferralUnrouted {
        case_id: need.case_id,
        need_id: need.need_id,
        category: need.category,
        programme_code: need.programme_code,
        region_code: need.region_code,
        reason,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::routing::RoutingTableError;

    const TABLE: &str = r#"
        version = "t1"
        [opds]
        PEMDES = { name = "Pemerintah Desa" }
        [[rules]]
        programme = "BLT-DD"
        opd = "PEMDES"
        service = "BLT Dana Desa"
    "#;

    fn need(category: &str, programme: Option<&str>) -> DecidedNeed {
        DecidedNeed {
            case_id: Uuid::from_u128(1),
            need_id: Uuid::from_u128(2),
            category: category.to_owned(),
            programme_code: programme.map(str::to_owned),
            region_code: "33.24.05.2003".to_owned(),
            client_name: "Siti Aminah".to_owned(),
            client_nik: Nik::new("3324054107900001"),
            beneficiary_id: Some("hh-17".to_owned()),
            benefit: Some(CashBenefit {
                amount_per_period_idr: 300_000,
                cadence: "monthly".to_owned(),
                component: "base".to_owned(),
            }),
        }
    }

    #[test]
    fn a_routed_need_becomes_a_request_to_the_routed_opd() -> Result<(), RoutingTableError> {
        let table = RoutingTable::parse(TABLE)?;
        let decision = route_need(&table, Uuid::from_u128(9), need("cash_assistance", Some("BLT-DD")));
        let RoutingDecision::Routed(RequestReferral { details }) = decision else {
            panic!("expected a route, got {decision:?}");
        };
        assert_eq!(details.referral_id, Uuid::from_u128(9));
        assert_eq!(details.opd_code.as_str(), "PEMDES");
        assert_eq!(details.opd_name, "Pemerintah Desa");
        assert_eq!(details.service, "BLT Dana Desa");
        assert_eq!(details.category, NeedCategory::CashAssistance);
        assert_eq!(details.programme_code.as_deref(), Some("BLT-DD"));
        assert_eq!(details.benefit.map(|b| b.amount_per_period_idr), Some(300_000));
        Ok(())
    }

    #[test]
    fn a_need_without_a_route_is_reported_unrouted_with_what_was_looked_for() -> Result<(), RoutingTableError> {
        let table = RoutingTable::parse(TABLE)?;
        let decision = route_need(&table, Uuid::from_u128(9), need("cash_assistance", Some("PKH")));
        assert_eq!(
            decision,
            RoutingDecision::Unrouted(ReferralUnrouted {
                case_id: Uuid::from_u128(1),
                need_id: Uuid::from_u128(2),
                category: "cash_assistance".to_owned(),
                programme_code: Some("PKH".to_owned()),
                region_code: "33.24.05.2003".to_owned(),
                reason: "no rule of routing table t1 routes category cash_assistance \
                         (programme PKH) in region 33.24.05.2003"
                    .to_owned(),
            })
        );
        Ok(())
    }

    #[test]
    fn a_need_of_an_unknown_category_is_reported_unrouted() -> Result<(), RoutingTableError> {
        let table = RoutingTable::parse(TABLE)?;
        let decision = route_need(&table, Uuid::from_u128(9), need("pets", Some("BLT-DD")));
        let RoutingDecision::Unrouted(unrouted) = decision else {
            panic!("expected unrouted, got {decision:?}");
        };
        assert!(unrouted.reason.starts_with("\"pets\" is not a need category"));
        Ok(())
    }

    #[test]
    fn an_empty_programme_code_counts_as_none() -> Result<(), RoutingTableError> {
        let table = RoutingTable::parse(TABLE)?;
        let decision = route_need(&table, Uuid::from_u128(9), need("cash_assistance", Some("")));
        let RoutingDecision::Unrouted(unrouted) = decision else {
            panic!("expected unrouted, got {decision:?}");
        };
        assert_eq!(
            unrouted.reason,
            "no rule of routing table t1 routes category cash_assistance in region 33.24.05.2003"
        );
        Ok(())
    }
}
