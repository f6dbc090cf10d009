use proptest::prelude::*;

use super::*;
use crate::domain::catalogue::NeedCategory::{
    CashAssistance, CivilDocuments, ElderlyCare, FoodAssistance, HealthInsurance, HousingRepair, SchoolAid,
};
use crate::domain::fixtures::{Seed, granted, needs, person, rules, shipped_catalogue, today};
use crate::domain::ledger::{EnrolmentStatus, LedgerEntry};

fn code(value: &str) -> ProgrammeCode {
    ProgrammeCode::parse(value).expect("test codes are valid")
}

fn household(id: &str) -> Beneficiary {
    Beneficiary::Household(HouseholdId::parse(id).expect("valid id"))
}

fn person_id(id: &str) -> Beneficiary {
    Beneficiary::Person(PersonId::parse(id).expect("valid id"))
}

fn only(decision: &CaseDecision) -> &NeedDecision {
    assert_eq!(decision.decisions.len(), 1, "{decision:#?}");
    &decision.decisions[0]
}

fn the_grant(decision: &NeedDecision) -> &Grant {
    decision
        .grant()
        .unwrap_or_else(|| panic!("{} should be approved: {:#?}", decision.need_id, decision.reasons))
}

/// Only BLT-DD meets a cash need here, so that its own rules are what the test sees.
const BLT_DD_ONLY: &str = r#"
version = "test-blt-dd"
effective_from = "2026-01-01"

[serves]
cash_assistance = ["BLT-DD"]

[[programme]]
code = "PKH"
name = "Program Keluarga Harapan"
opd = "DINSOS"
benefit = "cash"
beneficiary = "household"
requires_registry = true
max_desil = 4
[programme.cash]
cadence = "quarterly"
amount_per_period_idr = 750_000

[[programme]]
code = "BPNT"
name = "Sembako"
opd = "DINSOS"
benefit = "cash"
beneficiary = "household"
requires_registry = true
max_desil = 4
[programme.cash]
cadence = "monthly"
amount_per_period_idr = 200_000

[[programme]]
code = "BLT-DD"
name = "BLT Dana Desa"
opd = "PEMDES"
benefit = "cash"
beneficiary = "household"
requires_registry = true
max_desil = 4
excludes = ["PKH", "BPNT"]
[programme.cash]
cadence = "monthly"
amount_per_period_idr = 300_000
"#;

fn decide_blt_dd_for_household_on(programmes: &[(&str, EnrolmentStatus)]) -> CaseDecision {
    let catalogue = Catalogue::parse(BLT_DD_ONLY).expect("the test catalogue parses");
    let applicant = Applicant::InRegistry(person(2, "1980-01-01"));
    let ledger = LedgerView::new(
        programmes
            .iter()
            .map(|(programme, status)| LedgerEntry {
                programme: code(programme),
                beneficiary: household("H-TEST"),
                status: *status,
            })
            .collect(),
    );
    decide_case(&catalogue, &applicant, &needs(&[CashAssistance]), &ledger, today())
}

// --- Targeting, programme by programme ---------------------------------------------------

#[test]
fn pkh_is_granted_to_a_poor_household_not_yet_on_it() {
    let seed = Seed::load();

    let decision = seed.decide(Some("P-000009"), &[CashAssistance]);

    let need = only(&decision);
    let grant = the_grant(need);
    assert_eq!(grant.programme.as_str(), "PKH");
    assert_eq!(grant.opd, "DINSOS");
    assert_eq!(grant.beneficiary, Some(household("H-000003")));
    assert_eq!(
        grant.benefit,
        Benefit::Cash {
            amount_per_period_idr: 750_000,
            cadence: Cadence::Quarterly,
            component: "child_0_6".to_owned(),
        }
    );
    // H-000003's children are 12 and 6: the youngest's component.
    assert_eq!(rules(need), ["PKH.desil", "PKH.component"]);
    assert_eq!(
        need.reasons[1].message,
        "PKH pays the child_0_6 component: household member P-000012, aged 6, is the youngest member in one of \
         PKH's age bands."
    );
    assert_eq!(
        decision.enrolments_to_start,
        [EnrolmentToStart {
            need_id: need.need_id.clone(),
            programme: code("PKH"),
            beneficiary: household("H-000003"),
            started_on: today(),
        }]
    );
}

#[test]
fn pkh_pays_the_elderly_component_to_an_applicant_over_seventy() {
    let seed = Seed::load();

    let decision = seed.decide(Some("P-000020"), &[CashAssistance]);

    let grant = the_grant(only(&decision));
    assert_eq!(grant.benefit.component(), Some("elderly_70"));
    assert_eq!(grant.benefit.amount_per_period_idr(), 600_000);
}

#[test]
fn a_household_in_desil_8_is_refused_every_cash_programme_for_its_desil() {
    let seed = Seed::load();

    let decision = seed.decide(Some("P-000013"), &[CashAssistance]);

    let need = only(&decision);
    assert_eq!(granted(need), None);
    // PENA's age rule passes and is recorded too: every rule that fired is listed.
    assert_eq!(
        rules(need),
        ["PKH.desil", "PKH.component", "BLT-DD.desil", "PENA.desil", "PENA.age"]
    );
    assert_eq!(
        need.reasons[0].message,
        "PKH is for households in desil 1 to 4; this household is in desil 8."
    );
    assert!(decision.enrolments_to_start.is_empty());
}

#[test]
fn bpnt_is_granted_up_to_desil_4_and_refused_at_desil_5() {
    let seed = Seed::load();

    let poor = seed.decide(Some("P-000009"), &[FoodAssistance]);
    let desil_5 = seed.decide(Some("P-000038"), &[FoodAssistance]);

    let grant = the_grant(only(&poor));
    assert_eq!(grant.programme.as_str(), "BPNT");
    assert_eq!(grant.benefit.amount_per_period_idr(), 200_000);
    assert_eq!(grant.benefit.cadence(), Some(Cadence::Monthly));
    let refused = only(&desil_5);
    assert_eq!(granted(refused), None);
    assert!(rules(refused).contains(&"BPNT.desil"), "{:#?}", refused.reasons);
}

#[test]
fn pbi_jk_is_granted_up_to_desil_5_and_refused_at_desil_6() {
    let catalogue = shipped_catalogue();
    let decide = |desil| {
        let applicant = Applicant::InRegistry(person(desil, "1970-01-01"));
        decide_case(
            &catalogue,
            &applicant,
            &needs(&[HealthInsurance]),
            &LedgerView::empty(),
            today(),
        )
    };

    let desil_5 = decide(5);
    let desil_6 = decide(6);

    let grant = the_grant(only(&desil_5));
    assert_eq!(grant.programme.as_str(), "PBI-JK");
    assert_eq!(grant.benefit, Benefit::InKind);
    assert_eq!(grant.beneficiary, Some(person_id("P-TEST")));
    assert_eq!(granted(only(&desil_6)), None);
    assert_eq!(rules(only(&desil_6)), ["PBI-JK.desil"]);
}

#[test]
fn pip_is_granted_to_a_school_age_child_at_the_rate_for_their_age() {
    let seed = Seed::load();

    let primary = seed.decide(Some("P-000011"), &[SchoolAid]);
    let secondary = seed.decide(Some("P-000008"), &[SchoolAid]);

    let grant = the_grant(only(&primary));
    assert_eq!(grant.programme.as_str(), "PIP");
    assert_eq!(grant.beneficiary, Some(person_id("P-000011")));
    assert_eq!(
        grant.benefit,
        Benefit::Cash {
            amount_per_period_idr: 450_000,
            cadence: Cadence::Yearly,
            component: "sd".to_owned(),
        }
    );
    assert_eq!(the_grant(only(&secondary)).benefit.amount_per_period_idr(), 1_800_000);
}

#[test]
fn pip_is_refused_to_an_adult() {
    let seed = Seed::load();

    let decision = seed.decide(Some("P-000009"), &[SchoolAid]);

    let need = only(&decision);
    assert_eq!(granted(need), None);
    assert!(rules(need).contains(&"PIP.age"));
    let age = need
        .reasons
        .iter()
        .find(|r| r.rule == "PIP.age")
        .map(|r| r.message.as_str());
    assert_eq!(age, Some("PIP is for people aged 6 to 21; the applicant is 48."));
}

#[test]
fn permakanan_is_granted_to_a_poor_person_over_sixty() {
    let seed = Seed::load();

    let decision = seed.decide(Some("P-000020"), &[ElderlyCare]);

    let grant = the_grant(only(&decision));
    assert_eq!(grant.programme.as_str(), "PERMAKANAN");
    assert_eq!(grant.benefit, Benefit::InKind);
    assert_eq!(grant.beneficiary, Some(person_id("P-000020")));
}

#[test]
fn permakanan_is_refused_to_a_younger_applicant_who_gets_pkh_instead() {
    let seed = Seed::load();

    let decision = seed.decide(Some("P-000009"), &[ElderlyCare]);

    let need = only(&decision);
    assert_eq!(granted(need), Some("PKH"));
    assert_eq!(
        rules(need),
        ["PERMAKANAN.desil", "PERMAKANAN.age", "PKH.desil", "PKH.component"]
    );
}

#[test]
fn pena_is_granted_once_to_a_blt_dd_household_asking_for_cash() {
    let seed = Seed::load();

    let decision = seed.decide(Some("P-000030"), &[CashAssistance]);

    let need = only(&decision);
    let grant = the_grant(need);
    assert_eq!(grant.programme.as_str(), "PENA");
    assert_eq!(
        grant.benefit,
        Benefit::Cash {
            amount_per_period_idr: 2_700_000,
            cadence: Cadence::Once,
            component: "base".to_owned(),
        }
    );
    // PKH is refused because the household holds BLT-DD: the rule works both ways round.
    assert!(rules(need).contains(&"overlap.BLT-DD.PKH"), "{:#?}", need.reasons);
    assert!(rules(need).contains(&"BLT-DD.already_enrolled"), "{:#?}", need.reasons);
}

#[test]
fn pena_is_not_paid_again_to_a_household_that_received_it() {
    let catalogue = shipped_catalogue();
    let applicant = Applicant::InRegistry(person(3, "1975-01-01"));
    let ledger = LedgerView::new(vec![
        LedgerEntry {
            programme: code("BLT-DD"),
            beneficiary: household("H-TEST"),
            status: EnrolmentStatus::Active,
        },
        LedgerEntry {
            programme: code("PENA"),
            beneficiary: household("H-TEST"),
            status: EnrolmentStatus::Ended,
        },
    ]);

    let decision = decide_case(&catalogue, &applicant, &needs(&[CashAssistance]), &ledger, today());

    let need = only(&decision);
    assert_eq!(granted(need), None);
    assert!(rules(need).contains(&"PENA.once"), "{:#?}", need.reasons);
}

#[test]
fn adminduk_is_granted_to_anyone_alive_with_no_enrolment_to_start() {
    let seed = Seed::load();

    let decision = seed.decide(Some("P-000013"), &[CivilDocuments]);

    let grant = the_grant(only(&decision));
    assert_eq!(grant.programme.as_str(), "ADMINDUK");
    assert_eq!(grant.opd, "DISDUKCAPIL");
    assert_eq!(grant.benefit, Benefit::Service);
    assert!(decision.enrolments_to_start.is_empty());
}

// --- BLT-DD and the overlap rules --------------------------------------------------------

#[test]
fn blt_dd_is_refused_to_a_pkh_household() {
    let decision = decide_blt_dd_for_household_on(&[("PKH", EnrolmentStatus::Active)]);

    let need = only(&decision);
    assert_eq!(granted(need), None);
    assert_eq!(rules(need), ["BLT-DD.desil", "overlap.BLT-DD.PKH"]);
    assert_eq!(
        need.reasons[1].message,
        "BLT-DD cannot be combined with PKH, which the household (H-TEST) already receives."
    );
}

#[test]
fn blt_dd_is_refused_to_a_bpnt_household() {
    let decision = decide_blt_dd_for_household_on(&[("BPNT", EnrolmentStatus::Active)]);

    let need = only(&decision);
    assert_eq!(granted(need), None);
    assert_eq!(rules(need), ["BLT-DD.desil", "overlap.BLT-DD.BPNT"]);
}

#[test]
fn blt_dd_is_refused_while_a_bpnt_enrolment_is_on_hold() {
    let decision = decide_blt_dd_for_household_on(&[("BPNT", EnrolmentStatus::Held)]);

    assert_eq!(granted(only(&decision)), None);
}

#[test]
fn blt_dd_is_granted_to_a_poor_household_on_neither_pkh_nor_bpnt() {
    let decision = decide_blt_dd_for_household_on(&[("PKH", EnrolmentStatus::Ended), ("BPNT", EnrolmentStatus::Ended)]);

    let grant = the_grant(only(&decision));
    assert_eq!(grant.programme.as_str(), "BLT-DD");
    assert_eq!(grant.opd, "PEMDES");
    assert_eq!(
        grant.benefit,
        Benefit::Cash {
            amount_per_period_idr: 300_000,
            cadence: Cadence::Monthly,
            component: "base".to_owned(),
        }
    );
    assert_eq!(grant.beneficiary, Some(household("H-TEST")));
}

#[test]
fn a_pkh_and_bpnt_household_asking_for_cash_is_told_why_each_programme_is_refused() {
    let seed = Seed::load();

    let decision = seed.decide(Some("P-000001"), &[CashAssistance]);

    let need = only(&decision);
    assert_eq!(granted(need), None);
    assert_eq!(
        rules(need),
        [
            "PKH.desil",
            "PKH.component",
            "PKH.already_enrolled",
            "BLT-DD.desil",
            "overlap.BLT-DD.PKH",
            "overlap.BLT-DD.BPNT",
            "PENA.desil",
            "PENA.age",
            "overlap.PENA.PKH",
            "overlap.PENA.BPNT",
        ]
    );
    assert_eq!(
        need.reasons[2].message,
        "The household (H-000001) is already enrolled in PKH."
    );
}

#[test]
fn pbi_jk_is_granted_to_a_member_of_a_pkh_household() {
    let seed = Seed::load();

    let decision = seed.decide(Some("P-000001"), &[HealthInsurance]);

    let need = only(&decision);
    assert_eq!(granted(need), Some("PBI-JK"));
    assert_eq!(rules(need), ["PBI-JK.desil"]);
    assert_eq!(decision.enrolments_to_start[0].beneficiary, person_id("P-000001"));
}

#[test]
fn a_second_need_cannot_be_met_by_a_programme_excluded_by_the_first() {
    let seed = Seed::load();

    let decision = seed.decide(Some("P-000020"), &[CashAssistance, FoodAssistance, ElderlyCare]);

    let [cash, food, elderly] = &decision.decisions[..] else {
        panic!("three needs, three decisions: {decision:#?}");
    };
    assert_eq!(granted(cash), Some("PKH"));
    assert_eq!(granted(food), Some("BPNT"));
    assert_eq!(granted(elderly), None);
    assert_eq!(
        rules(elderly),
        [
            "PERMAKANAN.desil",
            "PERMAKANAN.age",
            "overlap.PERMAKANAN.PKH",
            "overlap.PERMAKANAN.BPNT",
            "PKH.desil",
            "PKH.component",
            "PKH.already_granted",
        ]
    );
    assert_eq!(
        elderly.reasons[2].message,
        "PERMAKANAN cannot be combined with PKH, which was granted earlier in this case, for need N1."
    );
    let started: Vec<&str> = decision
        .enrolments_to_start
        .iter()
        .map(|e| e.programme.as_str())
        .collect();
    assert_eq!(started, ["PKH", "BPNT"]);
}

#[test]
fn a_need_decided_after_permakanan_is_granted_falls_through_to_blt_dd() {
    let seed = Seed::load();

    let decision = seed.decide(Some("P-000020"), &[ElderlyCare, CashAssistance]);

    assert_eq!(granted(&decision.decisions[0]), Some("PERMAKANAN"));
    let cash = &decision.decisions[1];
    assert_eq!(granted(cash), Some("BLT-DD"));
    assert!(rules(cash).contains(&"overlap.PERMAKANAN.PKH"), "{:#?}", cash.reasons);
}

#[test]
fn a_programme_the_applicant_already_holds_is_not_granted_again() {
    let seed = Seed::load();

    let decision = seed.decide(Some("P-000007"), &[SchoolAid]);

    let need = only(&decision);
    assert_eq!(granted(need), None);
    assert!(rules(need).contains(&"PIP.already_enrolled"), "{:#?}", need.reasons);
    assert_eq!(
        need.reasons.last().map(|r| r.message.as_str()),
        Some("The applicant (P-000007) is already enrolled in PIP.")
    );
}

// --- Who the applicant is ----------------------------------------------------------------

#[test]
fn a_deceased_person_is_refused_every_need_for_that_reason_alone() {
    let seed = Seed::load();

    let decision = seed.decide(Some("P-000018"), &[HealthInsurance, CashAssistance, CivilDocuments]);

    assert_eq!(decision.decisions.len(), 3);
    for need in &decision.decisions {
        assert_eq!(granted(need), None);
        assert_eq!(rules(need), ["exclusion.deceased"]);
    }
    assert!(decision.enrolments_to_start.is_empty());
}

#[test]
fn a_person_outside_the_registry_gets_adminduk_but_no_cash() {
    let seed = Seed::load();

    let decision = seed.decide(None, &[CivilDocuments, CashAssistance]);

    let [documents, cash] = &decision.decisions[..] else {
        panic!("two needs, two decisions: {decision:#?}");
    };
    let grant = the_grant(documents);
    assert_eq!(grant.programme.as_str(), "ADMINDUK");
    assert_eq!(grant.beneficiary, None);
    assert_eq!(rules(documents), ["registry.not_required"]);
    assert_eq!(granted(cash), None);
    let registry_reasons: Vec<&Reason> = cash
        .reasons
        .iter()
        .filter(|r| r.rule == "registry.unknown_person")
        .collect();
    assert_eq!(registry_reasons.len(), 3, "one per cash programme tried");
    assert_eq!(
        registry_reasons[0].message,
        "PKH is only for people in the social registry (DTSEN), and the applicant is not in it."
    );
    assert_eq!(decision.person_id, None);
    assert!(decision.enrolments_to_start.is_empty());
}

#[test]
fn a_service_may_be_asked_for_twice_in_one_case() {
    let seed = Seed::load();

    let decision = seed.decide(None, &[CivilDocuments, CivilDocuments]);

    assert!(decision.decisions.iter().all(|d| granted(d) == Some("ADMINDUK")));
}

#[test]
fn a_need_no_programme_meets_is_refused_saying_so() {
    let catalogue = Catalogue::parse(BLT_DD_ONLY).expect("the test catalogue parses");
    let applicant = Applicant::InRegistry(person(1, "1980-01-01"));

    let decision = decide_case(
        &catalogue,
        &applicant,
        &needs(&[HousingRepair]),
        &LedgerView::empty(),
        today(),
    );

    let need = only(&decision);
    assert_eq!(granted(need), None);
    assert_eq!(need.reasons[0].rule, "need.unserved");
    assert_eq!(
        need.reasons[0].message,
        "No programme in catalogue test-blt-dd meets the need housing_repair."
    );
}

#[test]
fn the_decision_names_the_catalogue_version_and_the_applicant() {
    let seed = Seed::load();

    let decision = seed.decide(Some("P-000021"), &[HealthInsurance]);

    assert_eq!(decision.catalogue_version, "2026.1");
    assert_eq!(decision.person_id, PersonId::parse("P-000021").ok());
    assert_eq!(decision.household_id, HouseholdId::parse("H-000007").ok());
    assert_eq!(decision.beneficiary_name.as_deref(), Some("Hj. Maesaroh"));
}

// --- Invariants over any case ------------------------------------------------------------

fn any_category() -> impl Strategy<Value = NeedCategory> {
    proptest::sample::select(NeedCategory::ALL.to_vec())
}

fn any_status() -> impl Strategy<Value = EnrolmentStatus> {
    prop_oneof![
        Just(EnrolmentStatus::Active),
        Just(EnrolmentStatus::Held),
        Just(EnrolmentStatus::Ended),
    ]
}

proptest! {
    /// Invariant 4 of the design: no forbidden overlap is held by the same person or family,
    /// whatever they ask for, in whatever order, whatever they hold already.
    #[test]
    fn no_case_ever_leaves_an_applicant_holding_programmes_that_exclude_each_other(
        desil in 1i64..=10,
        birth_year in 1930i32..=2024,
        categories in proptest::collection::vec(any_category(), 0..8),
        held in proptest::collection::vec(
            (0usize..10, any::<bool>(), any_status()),
            0..5,
        ),
    ) {
        let catalogue = shipped_catalogue();
        // Services are delivered case by case and never sit in the ledger.
        let enrolling: Vec<&Programme> =
            catalogue.programmes().iter().filter(|p| p.keeps_enrolment()).collect();
        let facts = person(desil, &format!("{birth_year}-06-15"));
        let ledger = LedgerView::new(
            held.iter()
                .map(|(index, for_household, status)| {
                    let programme = enrolling[index % enrolling.len()];
                    LedgerEntry {
                        programme: programme.code().clone(),
                        beneficiary: if *for_household { household("H-TEST") } else { person_id("P-TEST") },
                        status: *status,
                    }
                })
                .collect(),
        );
        let applicant = Applicant::InRegistry(facts);

        let decision = decide_case(&catalogue, &applicant, &needs(&categories), &ledger, today());

        let held_now = ledger.current_programmes();
        let mut grants: Vec<&Grant> = Vec::new();
        for grant in decision.decisions.iter().filter_map(NeedDecision::grant) {
            prop_assert!(
                !ledger.current().any(|e| e.programme == grant.programme
                    && Some(&e.beneficiary) == grant.beneficiary.as_ref()),
                "{} granted again to a beneficiary who holds it", grant.programme
            );
            // The ledger may hold a forbidden pair already (that is for the registry feeds to
            // clear); what a case grants must not add one.
            for other in held_now.iter().chain(grants.iter().map(|g| &g.programme)) {
                prop_assert!(
                    catalogue.exclusion_between(&grant.programme, other).is_none(),
                    "{} granted alongside {other} after {categories:?}", grant.programme
                );
            }
            grants.push(grant);
        }
        let started: Vec<&ProgrammeCode> = decision.enrolments_to_start.iter().map(|e| &e.programme).collect();
        let mut distinct = started.clone();
        distinct.sort();
        distinct.dedup();
        prop_assert_eq!(started.len(), distinct.len(), "an enrolment started twice");
    }
}

#[test]
fn no_decision_is_recorded_without_its_reasons() {
    let seed = Seed::load();
    let mut people: Vec<Option<String>> = seed
        .rows
        .iter()
        .map(|row| Some(row.person_id.as_str().to_owned()))
        .collect();
    people.push(None);
    for person in &people {
        for category in NeedCategory::ALL {
            let decision = seed.decide(person.as_deref(), &[category]);
            for need in &decision.decisions {
                assert!(!need.reasons.is_empty(), "{person:?} / {category}: {need:#?}");
            }
        }
    }
}

#[test]
fn a_service_open_to_everyone_says_so() {
    let seed = Seed::load();
    let decision = seed.decide(Some("P-000009"), &[CivilDocuments]);
    assert_eq!(granted(only(&decision)), Some("ADMINDUK"));
    assert_eq!(rules(only(&decision)), ["ADMINDUK.open"]);
}

// --- Household, family card and the inputs recorded --------------------------------------

const CATALOGUE_2026_2: &str = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/data/catalogue/2026.2.toml"));

fn catalogue_2026_2() -> Catalogue {
    Catalogue::parse(CATALOGUE_2026_2).expect("the shipped 2026.2")
}

fn member(id: &str, born: &str, deceased: bool) -> Member {
    Member {
        person_id: PersonId::parse(id).expect("id"),
        birth_date: crate::domain::fixtures::date(born),
        deceased,
    }
}

/// P-TEST (desil 5, so above PKH's cut-off) in H-TEST with a spouse, a child and a
/// grandmother who has died; `others` are the enrolments around them.
fn near_poor_family(others: Vec<LedgerEntry>) -> (Applicant, Household) {
    let applicant = Applicant::InRegistry(person(5, "1980-01-01"));
    let household = Household {
        members: vec![
            member("P-TEST", "1980-01-01", false),
            member("P-SPOUSE", "1982-05-05", false),
            member("P-CHILD", "2015-07-07", false),
            member("P-GRAN", "1950-02-02", true),
        ],
        others_enrolments: others,
    };
    (applicant, household)
}

#[test]
fn blt_kota_goes_to_a_near_poor_family_outside_pkh_and_bpnt() {
    let (applicant, household) = near_poor_family(vec![]);

    let decision = decide_case_in_household(
        &catalogue_2026_2(),
        &applicant,
        &household,
        &needs(&[CashAssistance]),
        &LedgerView::empty(),
        today(),
    );

    let need = only(&decision);
    assert_eq!(granted(need), Some("BLT-KOTA"), "{:#?}", need.reasons);
    assert!(rules(need).contains(&"PKH.desil"));
    assert!(rules(need).contains(&"BLT-KOTA.desil"));
    assert_eq!(the_grant(need).beneficiary, Some(person_id("P-TEST")));
}

#[test]
fn blt_kota_is_refused_while_another_holder_of_the_family_card_receives_it() {
    let spouse = LedgerEntry {
        programme: code("BLT-KOTA"),
        beneficiary: person_id("P-SPOUSE"),
        status: EnrolmentStatus::Active,
    };
    let (applicant, household) = near_poor_family(vec![spouse]);

    let decision = decide_case_in_household(
        &catalogue_2026_2(),
        &applicant,
        &household,
        &needs(&[CashAssistance]),
        &LedgerView::empty(),
        today(),
    );

    let need = only(&decision);
    assert_eq!(granted(need), None, "{:#?}", need.reasons);
    let reason = need
        .reasons
        .iter()
        .find(|r| r.rule == "BLT-KOTA.one_per_kk")
        .expect("the per-card rule fired");
    assert_eq!(
        reason.message,
        "BLT-KOTA has one recipient per family card (KK), and household member P-SPOUSE on the same card already \
         receives it."
    );
}

#[test]
fn a_household_programme_is_refused_while_a_member_holds_a_personal_one_it_excludes() {
    let grandmother = LedgerEntry {
        programme: code("PERMAKANAN"),
        beneficiary: person_id("P-SPOUSE"),
        status: EnrolmentStatus::Active,
    };
    let applicant = Applicant::InRegistry(person(2, "1980-01-01"));
    let household = Household {
        members: vec![
            member("P-TEST", "1980-01-01", false),
            member("P-SPOUSE", "1950-05-05", false),
        ],
        others_enrolments: vec![grandmother],
    };

    let decision = decide_case_in_household(
        &catalogue_2026_2(),
        &applicant,
        &household,
        &needs(&[FoodAssistance]),
        &LedgerView::empty(),
        today(),
    );

    let need = only(&decision);
    assert_eq!(granted(need), None);
    assert!(rules(need).contains(&"overlap.PERMAKANAN.BPNT"), "{:#?}", need.reasons);
}

#[test]
fn the_decision_records_the_facts_it_was_taken_on() {
    let spouse = LedgerEntry {
        programme: code("PBI-JK"),
        beneficiary: person_id("P-SPOUSE"),
        status: EnrolmentStatus::Held,
    };
    let own = LedgerEntry {
        programme: code("RTLH"),
        beneficiary: household("H-TEST"),
        status: EnrolmentStatus::Active,
    };
    let (applicant, household) = near_poor_family(vec![spouse.clone()]);
    let catalogue = catalogue_2026_2();

    let decision = decide_case_in_household(
        &catalogue,
        &applicant,
        &household,
        &needs(&[CashAssistance]),
        &LedgerView::new(vec![own.clone()]),
        today(),
    );

    assert_eq!(
        decision.inputs,
        DecisionInputs {
            decided_on: today(),
            catalogue_version: "2026.2".into(),
            catalogue_effective_from: crate::domain::fixtures::date("2026-07-01"),
            desil: Some(5),
            age: Some(46),
            deceased: false,
            household_members: 4,
            living_members: 3,
            children_under_18: 1,
            elderly_70_plus: 0,
            enrolments_considered: vec![own, spouse],
        }
    );
}

#[test]
fn an_applicant_outside_the_registry_is_recorded_with_no_registry_facts() {
    let decision = Seed::load().decide(None, &[CivilDocuments]);

    assert_eq!(decision.inputs.desil, None);
    assert_eq!(decision.inputs.age, None);
    assert_eq!(decision.inputs.household_members, 0);
    assert_eq!(decision.inputs.catalogue_version, "2026.1");
}

// --- PKH by household composition ---------------------------------------------------------

/// A poor household (desil 2) of a 40-year-old applicant and the given other members.
fn poor_household_with(others: &[(&str, &str, bool)]) -> (Applicant, Household) {
    let applicant = Applicant::InRegistry(person(2, "1985-06-01"));
    let mut members = vec![member("P-TEST", "1985-06-01", false)];
    members.extend(others.iter().map(|(id, born, deceased)| member(id, born, *deceased)));
    (
        applicant,
        Household {
            members,
            others_enrolments: vec![],
        },
    )
}

fn decide_cash(applicant: &Applicant, household: &Household) -> CaseDecision {
    decide_case_in_household(
        &shipped_catalogue(),
        applicant,
        household,
        &needs(&[CashAssistance]),
        &LedgerView::empty(),
        today(),
    )
}

#[test]
fn pkh_pays_the_component_of_a_school_child_in_the_household_not_of_the_applicants_age() {
    // A 40-year-old head with a 14-year-old child: the SMP component, not child_0_6.
    let (applicant, household) = poor_household_with(&[("P-CHILD", "2011-09-01", false)]);

    let decision = decide_cash(&applicant, &household);

    let need = only(&decision);
    let grant = the_grant(need);
    assert_eq!(grant.programme.as_str(), "PKH");
    assert_eq!(grant.benefit.component(), Some("smp"));
    assert_eq!(grant.benefit.amount_per_period_idr(), 375_000);
    let component = need
        .reasons
        .iter()
        .find(|r| r.rule == "PKH.component")
        .expect("the component rule");
    assert_eq!(
        component.message,
        "PKH pays the smp component: household member P-CHILD, aged 14, is the youngest member in one of PKH's \
         age bands."
    );
}

#[test]
fn pkh_picks_the_youngest_eligible_living_member() {
    let (applicant, household) = poor_household_with(&[
        ("P-GRAN", "1950-01-01", false),  // 76: elderly_70
        ("P-PUPIL", "2017-01-01", false), // 9: sd
        ("P-BABY", "2025-01-01", true),   // died: not counted
        ("P-ADULT", "2005-01-01", false), // 21: no band
    ]);

    let decision = decide_cash(&applicant, &household);

    assert_eq!(the_grant(only(&decision)).benefit.component(), Some("sd"));
}

#[test]
fn pkh_is_refused_to_a_household_with_no_member_in_a_component_and_blt_dd_meets_the_need() {
    let (applicant, household) =
        poor_household_with(&[("P-SPOUSE", "1987-01-01", false), ("P-SON", "2005-02-02", false)]);

    let decision = decide_cash(&applicant, &household);

    let need = only(&decision);
    assert_eq!(granted(need), Some("BLT-DD"));
    let refusal = need
        .reasons
        .iter()
        .find(|r| r.rule == "PKH.component")
        .expect("the component rule");
    assert_eq!(
        refusal.message,
        "No member of the household is in a PKH component: PKH pays for members in its age bands, child_0_6 \
         (aged 0 to 6), sd (aged 7 to 12), smp (aged 13 to 15), sma (aged 16 to 18), elderly_70 (aged 70 and \
         over). The registry records nothing that would place a member in the other components (pregnancy, \
         severe_disability), so those components cannot be chosen here."
    );
}

#[test]
fn the_component_rule_is_data_a_programme_without_age_bands_is_not_targeted_by_members() {
    // BPNT and BLT-DD pay one amount: no component rule fires for them.
    let (applicant, household) = poor_household_with(&[]);

    let decision = decide_case_in_household(
        &shipped_catalogue(),
        &applicant,
        &household,
        &needs(&[FoodAssistance]),
        &LedgerView::empty(),
        today(),
    );

    let need = only(&decision);
    assert_eq!(granted(need), Some("BPNT"));
    assert_eq!(rules(need), ["BPNT.desil"]);
}
