//! From a need that eligibility approved to a referral request, or to a notice that no
//! agency is responsible for it. Unrouted needs are never dropped: supervisors see them.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::commands::RequestReferral;
use super::events::{CashBenefit, LinkedNeed, Nik, ReferralDetails, RoutedBy};
use super::opd::OpdCode;
use super::routing::{Route, RoutingTable};
use super::sla::Sla;
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

/// An approved need that no agency holds (`slrt.referral.v1.ReferralUnrouted`): no rule
/// routes it, or every agency of its route declined it. Not part of any referral's stream:
/// there is no referral. Supervisors place it by hand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReferralUnrouted {
    pub need: DecidedNeed,
    /// For the supervisor: what was looked for, so the table or the need can be fixed.
    pub reason: String,
    /// Agencies that declined or passed on the need, oldest first.
    pub tried: Vec<OpdCode>,
    /// Needs of other cases that wait on this one.
    pub linked: Vec<LinkedNeed>,
    /// When the need was first referred, if it ever was; the resolution clock keeps it.
    pub need_referred_at: Option<DateTime<Utc>>,
    /// The attempt the need's last referral was; 0 if it never had one.
    pub last_attempt: u32,
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

/// Where a need stands when it is routed: first time, or again after agencies declined it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoutingContext {
    /// The id the new referral will have; the caller chooses it so the decision stays pure.
    pub referral_id: Uuid,
    /// The service clock's time: the new referral's response clock starts here.
    pub now: DateTime<Utc>,
    /// 0 for a need never referred; otherwise the attempt of its last referral.
    pub last_attempt: u32,
    pub previous_referral_id: Option<Uuid>,
    /// When the need was first referred, if it was.
    pub need_referred_at: Option<DateTime<Utc>>,
    /// Agencies that already declined or passed on the need; they are not asked again.
    pub tried: Vec<OpdCode>,
    pub routed_by: RoutedBy,
    /// Why the need moves, for the people who read the new referral.
    pub note: String,
}

impl RoutingContext {
    /// A need routed for the first time.
    pub fn first(referral_id: Uuid, now: DateTime<Utc>, table: &RoutingTable) -> Self {
        Self {
            referral_id,
            now,
            last_attempt: 0,
            previous_referral_id: None,
            need_referred_at: None,
            tried: Vec::new(),
            routed_by: RoutedBy::RoutingTable,
            note: format!("routing table {}", table.version()),
        }
    }
}

/// Routes one decided need to the first agency of its route that has not declined it.
pub fn route_need(table: &RoutingTable, sla: &Sla, context: RoutingContext, need: DecidedNeed) -> RoutingDecision {
    let programme = need
        .programme_code
        .as_deref()
        .filter(|p| !p.is_empty())
        .map(str::to_owned);
    let category = match NeedCategory::parse(&need.category) {
        Ok(category) => category,
        Err(unknown) => {
            let reason = unknown.to_string();
            return unrouted(need, reason, context);
        }
    };
    let chain = table.chain(category, programme.as_deref(), &need.region_code);
    let Some(route) = chain
        .iter()
        .find(|route| !context.tried.contains(&route.opd_code))
        .cloned()
    else {
        let reason = if chain.is_empty() {
            format!(
                "no rule of routing table {version} routes category {category}{programme} in region {region}",
                version = table.version(),
                category = need.category,
                programme = programme
                    .as_deref()
                    .map_or(String::new(), |p| format!(" (programme {p})")),
                region = if need.region_code.is_empty() {
                    "(none given)"
                } else {
                    need.region_code.as_str()
                },
            )
        } else {
            format!(
                "every agency of its route declined it or passed it on ({}); a supervisor must place it",
                context.tried.iter().map(OpdCode::as_str).collect::<Vec<_>>().join(", ")
            )
        };
        return unrouted(need, reason, context);
    };
    RoutingDecision::Routed(request(category, programme, route, sla, context, need))
}

/// Sends a need to an agency a person chose: a transfer's target, or a supervisor's
/// placement. The service is the one the route gives that agency, else `fallback_service`.
pub fn route_to(
    table: &RoutingTable,
    sla: &Sla,
    context: RoutingContext,
    need: DecidedNeed,
    opd: &OpdCode,
    fallback_service: &str,
) -> Option<RequestReferral> {
    let category = NeedCategory::parse(&need.category).ok()?;
    let programme = need
        .programme_code
        .as_deref()
        .filter(|p| !p.is_empty())
        .map(str::to_owned);
    let chain = table.chain(category, programme.as_deref(), &need.region_code);
    let tier = chain.first().map(|route| route.sla_tier)?;
    let route = match chain.into_iter().find(|route| &route.opd_code == opd) {
        Some(route) => route,
        None => Route {
            opd_code: opd.clone(),
            opd_name: table.opd_name(opd)?.to_owned(),
            service: fallback_service.to_owned(),
            sla_tier: tier,
        },
    };
    Some(request(category, programme, route, sla, context, need))
}

fn request(
    category: NeedCategory,
    programme: Option<String>,
    route: Route,
    sla: &Sla,
    context: RoutingContext,
    need: DecidedNeed,
) -> RequestReferral {
    RequestReferral {
        details: ReferralDetails {
            referral_id: context.referral_id,
            case_id: need.case_id,
            need_id: need.need_id,
            category,
            programme_code: programme,
            opd_code: route.opd_code,
            opd_name: route.opd_name,
            service: route.service,
            region_code: need.region_code,
            client_name: need.client_name,
            client_nik: need.client_nik,
            beneficiary_id: need.beneficiary_id,
            benefit: need.benefit,
            attempt: context.last_attempt + 1,
            previous_referral_id: context.previous_referral_id,
            sla: sla.terms(route.sla_tier, context.now, context.need_referred_at),
        },
        routed_by: context.routed_by,
        note: context.note,
    }
}

fn unrouted(need: DecidedNeed, reason: String, context: RoutingContext) -> RoutingDecision {
    RoutingDecision::Unrouted(ReferralUnrouted {
        need,
        reason,
        tried: context.tried,
        linked: Vec::new(),
        need_referred_at: context.need_referred_at,
        last_attempt: context.last_attempt,
    })
}

impl DecidedNeed {
    /// The need a referral was made for, to route it again.
    pub fn of(details: &ReferralDetails) -> Self {
        Self {
            case_id: details.case_id,
            need_id: details.need_id,
            category: details.category.as_str().to_owned(),
            programme_code: details.programme_code.clone(),
            region_code: details.region_code.clone(),
            client_name: details.client_name.clone(),
            client_nik: details.client_nik.clone(),
            beneficiary_id: details.beneficiary_id.clone(),
            benefit: details.benefit.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::routing::RoutingTableError;
    use crate::domain::sla::SlaTier;
    use crate::domain::testing::{monday, sla};

    const TABLE: &str = r#"
        version = "t1"
        [opds]
        PEMDES = { name = "Pemerintah Desa" }
        DISDIK = { name = "Dinas Pendidikan" }
        KEMENAG = { name = "Kantor Kementerian Agama" }
        BAZNAS = { name = "BAZNAS" }

        [[rules]]
        programme = "BLT-DD"
        opd = "PEMDES"
        service = "BLT Dana Desa"
        sla = "field"

        [[rules]]
        programme = "PIP"
        opd = "DISDIK"
        service = "PIP"
        sla = "dispute"
        [[rules.alternates]]
        opd = "KEMENAG"
        service = "PIP madrasah"
    "#;

    fn table() -> RoutingTable {
        RoutingTable::parse(TABLE).unwrap_or_else(|e| panic!("{e}"))
    }

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

    fn first() -> RoutingContext {
        RoutingContext::first(Uuid::from_u128(9), monday(), &table())
    }

    fn opd(code: &str) -> OpdCode {
        OpdCode::parse(code).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn a_routed_need_becomes_a_request_to_the_routed_opd_with_its_deadlines() {
        let decision = route_need(&table(), &sla(), first(), need("cash_assistance", Some("BLT-DD")));
        let RoutingDecision::Routed(RequestReferral {
            details,
            routed_by,
            note,
        }) = decision
        else {
            panic!("expected a route, got {decision:?}");
        };
        assert_eq!(details.referral_id, Uuid::from_u128(9));
        assert_eq!(details.opd_code.as_str(), "PEMDES");
        assert_eq!(details.opd_name, "Pemerintah Desa");
        assert_eq!(details.service, "BLT Dana Desa");
        assert_eq!(details.category, NeedCategory::CashAssistance);
        assert_eq!(details.programme_code.as_deref(), Some("BLT-DD"));
        assert_eq!(details.benefit.map(|b| b.amount_per_period_idr), Some(300_000));
        assert_eq!((details.attempt, details.previous_referral_id), (1, None));
        assert_eq!(details.sla, sla().terms(SlaTier::Field, monday(), None));
        assert_eq!((routed_by, note.as_str()), (RoutedBy::RoutingTable, "routing table t1"));
    }

    #[test]
    fn a_need_without_a_route_is_reported_unrouted_with_what_was_looked_for() {
        let decision = route_need(&table(), &sla(), first(), need("cash_assistance", Some("PKH")));
        let RoutingDecision::Unrouted(unrouted) = decision else {
            panic!("expected unrouted, got {decision:?}");
        };
        assert_eq!(unrouted.need, need("cash_assistance", Some("PKH")));
        assert_eq!(
            unrouted.reason,
            "no rule of routing table t1 routes category cash_assistance (programme PKH) in region 33.24.05.2003"
        );
        assert!(unrouted.tried.is_empty());
    }

    #[test]
    fn a_need_of_an_unknown_category_is_reported_unrouted() {
        let decision = route_need(&table(), &sla(), first(), need("pets", Some("BLT-DD")));
        let RoutingDecision::Unrouted(unrouted) = decision else {
            panic!("expected unrouted, got {decision:?}");
        };
        assert!(unrouted.reason.starts_with("\"pets\" is not a need category"));
    }

    #[test]
    fn an_empty_programme_code_counts_as_none() {
        let decision = route_need(&table(), &sla(), first(), need("cash_assistance", Some("")));
        let RoutingDecision::Unrouted(unrouted) = decision else {
            panic!("expected unrouted, got {decision:?}");
        };
        assert_eq!(
            unrouted.reason,
            "no rule of routing table t1 routes category cash_assistance in region 33.24.05.2003"
        );
    }

    #[test]
    fn a_declined_need_goes_to_the_next_agency_keeping_its_first_referral_date() {
        let first_referred = monday() - chrono::TimeDelta::days(10);
        let context = RoutingContext {
            referral_id: Uuid::from_u128(10),
            now: monday(),
            last_attempt: 1,
            previous_referral_id: Some(Uuid::from_u128(9)),
            need_referred_at: Some(first_referred),
            tried: vec![opd("DISDIK")],
            routed_by: RoutedBy::ReroutedAfterRejection,
            note: "DISDIK declined it: madrasah pupil".to_owned(),
        };
        let decision = route_need(&table(), &sla(), context.clone(), need("school_aid", Some("PIP")));
        let RoutingDecision::Routed(request) = decision else {
            panic!("expected a route, got {decision:?}");
        };
        assert_eq!(request.details.opd_code.as_str(), "KEMENAG");
        assert_eq!(request.details.service, "PIP madrasah");
        assert_eq!(request.details.attempt, 2);
        assert_eq!(request.details.previous_referral_id, Some(Uuid::from_u128(9)));
        assert_eq!(request.details.sla.need_referred_at, first_referred);
        assert_eq!(
            request.details.sla.resolution_due_at,
            sla().terms(SlaTier::Dispute, first_referred, None).resolution_due_at
        );
        assert_eq!(request.routed_by, RoutedBy::ReroutedAfterRejection);

        // Once Kemenag declined too, no agency is left: supervisors must place it.
        let exhausted = RoutingContext {
            tried: vec![opd("DISDIK"), opd("KEMENAG")],
            last_attempt: 2,
            ..context
        };
        let decision = route_need(&table(), &sla(), exhausted, need("school_aid", Some("PIP")));
        let RoutingDecision::Unrouted(unrouted) = decision else {
            panic!("expected unrouted, got {decision:?}");
        };
        assert_eq!(
            unrouted.reason,
            "every agency of its route declined it or passed it on (DISDIK, KEMENAG); a supervisor must place it"
        );
        assert_eq!(unrouted.tried, [opd("DISDIK"), opd("KEMENAG")]);
        assert_eq!(
            (unrouted.last_attempt, unrouted.need_referred_at),
            (2, Some(first_referred))
        );
    }

    #[test]
    fn a_transfer_or_placement_takes_the_routes_service_or_the_fallback() {
        let to_kemenag = route_to(
            &table(),
            &sla(),
            first(),
            need("school_aid", Some("PIP")),
            &opd("KEMENAG"),
            "x",
        );
        assert_eq!(to_kemenag.map(|r| r.details.service), Some("PIP madrasah".to_owned()));
        let to_baznas = route_to(
            &table(),
            &sla(),
            first(),
            need("school_aid", Some("PIP")),
            &opd("BAZNAS"),
            "PIP (passed on)",
        );
        let Some(to_baznas) = to_baznas else {
            panic!("BAZNAS is an agency of the table");
        };
        assert_eq!(to_baznas.details.service, "PIP (passed on)");
        assert_eq!(to_baznas.details.opd_name, "BAZNAS");
        assert_eq!(to_baznas.details.sla.tier, SlaTier::Dispute);
        let unknown = route_to(
            &table(),
            &sla(),
            first(),
            need("school_aid", Some("PIP")),
            &opd("NOPE"),
            "x",
        );
        assert_eq!(unknown, None);
    }

    #[test]
    fn a_table_with_an_alternate_outside_the_agencies_is_refused() {
        let table = TABLE.replace("opd = \"KEMENAG\"", "opd = \"KEMENDAG\"");
        assert_eq!(
            RoutingTable::parse(&table).err(),
            Some(RoutingTableError::Rule {
                index: 1,
                problem: "alternates[0]: opd: \"KEMENDAG\" is not listed under [opds]".to_owned()
            })
        );
    }
}
