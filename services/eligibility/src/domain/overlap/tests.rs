use super::*;
use crate::domain::catalogue::{CatalogueFile, Catalogues};
use crate::domain::fixtures::date;

const CATALOGUE_2026_2: &str = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/data/catalogue/2026.2.toml"));

fn catalogue() -> Catalogue {
    let files = [CatalogueFile {
        origin: "2026.2".into(),
        text: CATALOGUE_2026_2.into(),
    }];
    Catalogues::parse(&files).expect("the shipped 2026.2").versions()[0].clone()
}

fn person(id: &str, household: &str, kk: &str, desil: i64, deceased: bool) -> PersonRecord {
    PersonRecord {
        person_id: PersonId::parse(id).expect("id"),
        household_id: HouseholdId::parse(household).expect("id"),
        kk_number: kk.to_owned(),
        deceased,
        desil: Desil::new(desil).expect("desil"),
    }
}

fn holding(id: &str, programme: &str, beneficiary: &str, status: EnrolmentStatus, source: &str) -> Holding {
    let beneficiary = if beneficiary.starts_with('H') {
        Beneficiary::Household(HouseholdId::parse(beneficiary).expect("id"))
    } else {
        Beneficiary::Person(PersonId::parse(beneficiary).expect("id"))
    };
    Holding {
        enrolment_id: id.to_owned(),
        programme: ProgrammeCode::parse(programme).expect("code"),
        beneficiary,
        status,
        source: source.to_owned(),
        started_on: date("2026-01-05"),
    }
}

use EnrolmentStatus::{Active, Ended, Held};

/// Two households: H-1 (two members, desil 2) and H-2 (one member, desil 3, on the same KK
/// as H-1 since the card was never split), and H-3 (desil 8).
fn people() -> Vec<PersonRecord> {
    vec![
        person("P-1", "H-1", "KK-A", 2, false),
        person("P-2", "H-1", "KK-A", 2, false),
        person("P-3", "H-2", "KK-A", 3, false),
        person("P-4", "H-3", "KK-B", 8, false),
    ]
}

fn rules(found: &[Violation]) -> Vec<&str> {
    found.iter().map(|v| v.rule.as_str()).collect()
}

#[test]
fn a_healthy_ledger_has_no_violations() {
    let ledger = [
        holding("e1", "PKH", "H-1", Active, "registry"),
        holding("e2", "BPNT", "H-1", Active, "registry"),
        holding("e3", "PBI-JK", "P-1", Active, "decision"),
        holding("e4", "BLT-KOTA", "P-3", Active, "decision"),
        holding("e5", "BLT-DD", "H-1", Ended, "registry"),
    ];

    assert_eq!(violations(&catalogue(), &people(), &ledger), vec![]);
}

#[test]
fn every_forbidden_pair_is_found_for_a_household_and_for_a_member() {
    let catalogue = catalogue();
    for exclusion in catalogue.exclusions() {
        let (a, b) = (exclusion.declared_by.as_str(), exclusion.excluded.as_str());
        let kind = |code: &str| {
            catalogue
                .programme(&ProgrammeCode::parse(code).expect("code"))
                .map(|p| p.beneficiary())
        };
        let holder = |code: &str, person: &str| match kind(code) {
            Some(crate::domain::BeneficiaryKind::Household) => "H-1".to_owned(),
            _ => person.to_owned(),
        };
        // One member's personal programme against the household's, or the same person's.
        let ledger = [
            holding("x", a, &holder(a, "P-1"), Active, "decision"),
            holding("y", b, &holder(b, "P-1"), Held, "external"),
        ];

        let found = violations(&catalogue, &people(), &ledger);

        assert_eq!(rules(&found), [exclusion.rule_id().as_str()], "{a} + {b}");
        assert_eq!(found[0].enrolments.len(), 2);
        assert_eq!(found[0].household_id.as_ref().map(HouseholdId::as_str), Some("H-1"));
    }
}

#[test]
fn pairs_the_matrix_allows_are_not_violations() {
    let ledger = [
        holding("a", "PKH", "H-1", Active, "registry"),
        holding("b", "BPNT", "H-1", Active, "registry"),
        holding("c", "PBI-JK", "P-1", Active, "registry"),
        holding("d", "PIP", "P-2", Active, "registry"),
        holding("e", "RTLH", "H-1", Active, "decision"),
    ];

    assert_eq!(violations(&catalogue(), &people(), &ledger), vec![]);
}

#[test]
fn two_members_personal_programmes_do_not_overlap_each_other() {
    // PERMAKANAN excludes PKH for the family, but P-1's meals and P-2's BLT-KOTA are personal.
    let ledger = [
        holding("a", "PERMAKANAN", "P-1", Active, "decision"),
        holding("b", "BLT-KOTA", "P-2", Active, "decision"),
    ];

    assert_eq!(violations(&catalogue(), &people(), &ledger), vec![]);
}

#[test]
fn a_second_recipient_on_one_family_card_breaks_one_per_kk_across_households() {
    let ledger = [
        holding("a", "BLT-KOTA", "P-2", Active, "decision"),
        holding("b", "BLT-KOTA", "P-3", Active, "external"),
    ];

    let found = violations(&catalogue(), &people(), &ledger);

    assert_eq!(rules(&found), ["BLT-KOTA.one_per_kk"]);
    assert!(found[0].why.contains("P-2, P-3"), "{}", found[0].why);
}

#[test]
fn the_same_programme_twice_for_one_household_is_a_duplicate() {
    let ledger = [
        holding("a", "PKH", "H-1", Active, "registry"),
        holding("b", "PKH", "H-1", Active, "external"),
    ];

    let found = violations(&catalogue(), &people(), &ledger);

    assert_eq!(rules(&found), ["PKH.duplicate"]);
}

#[test]
fn an_active_enrolment_of_a_deceased_person_is_a_violation_and_a_held_one_is_not() {
    let mut people = people();
    people[0].deceased = true;

    let active = violations(
        &catalogue(),
        &people,
        &[holding("a", "PBI-JK", "P-1", Active, "registry")],
    );
    let held = violations(
        &catalogue(),
        &people,
        &[holding("a", "PBI-JK", "P-1", Held, "registry")],
    );
    // The household still has a living member, so its own programme goes on.
    let household = violations(&catalogue(), &people, &[holding("b", "PKH", "H-1", Active, "registry")]);

    assert_eq!(rules(&active), ["PBI-JK.deceased"]);
    assert_eq!(held, vec![]);
    assert_eq!(household, vec![]);
}

#[test]
fn a_household_whose_members_all_died_is_a_violation_while_its_enrolment_is_active() {
    let mut people = people();
    people[3].deceased = true;

    let found = violations(
        &catalogue(),
        &people,
        &[holding("a", "PBI-JK", "H-3", Active, "registry")],
    );

    assert!(rules(&found).contains(&"PBI-JK.deceased"), "{found:?}");
}

#[test]
fn a_household_above_the_cut_off_without_a_hold_is_a_violation() {
    let active = violations(
        &catalogue(),
        &people(),
        &[holding("a", "BPNT", "H-3", Active, "registry")],
    );
    let held = violations(
        &catalogue(),
        &people(),
        &[holding("a", "BPNT", "H-3", Held, "registry")],
    );

    assert_eq!(rules(&active), ["BPNT.desil"]);
    assert_eq!(held, vec![]);
}

#[test]
fn a_programme_outside_the_catalogue_is_checked_for_duplicates_and_deaths_only() {
    let ledger = [
        holding("a", "BANSOS-PROV", "H-3", Active, "external"),
        holding("b", "BANSOS-PROV", "H-3", Active, "external"),
    ];

    assert_eq!(
        rules(&violations(&catalogue(), &people(), &ledger)),
        ["BANSOS-PROV.duplicate"]
    );
}

#[test]
fn an_external_report_is_told_the_overlaps_it_breaks() {
    let people = people();
    let registry = Registry::new(&people);
    let held = [
        holding("a", "PKH", "H-1", Active, "registry"),
        holding("b", "BPNT", "H-1", Active, "registry"),
    ];

    let reasons = overlaps_with(
        &catalogue(),
        &registry,
        &holding("n", "BLT-DD", "H-1", Active, "external"),
        &held,
    );

    let rules: Vec<&str> = reasons.iter().map(|r| r.rule.as_str()).collect();
    assert_eq!(rules, ["overlap.BLT-DD.PKH", "overlap.BLT-DD.BPNT"]);
}

#[test]
fn time_on_benefit_counts_whole_years_and_what_is_past_review_and_duration() {
    let mut old = holding("a", "PKH", "H-1", Active, "registry");
    old.started_on = date("2020-03-01");
    let mut recent = holding("b", "PKH", "H-2", Held, "decision");
    recent.started_on = date("2026-06-01");
    let ended = holding("c", "PKH", "H-3", Ended, "decision");

    let report = years_on_benefit(&catalogue(), &[old, recent, ended], date("2026-11-23"));

    assert_eq!(report.len(), 1);
    let pkh = &report[0];
    assert_eq!(pkh.current, 2);
    assert_eq!(pkh.by_years, [1, 0, 0, 0, 0, 0, 1]);
    assert_eq!((pkh.review_every_months, pkh.past_review), (Some(12), 1));
    assert_eq!((pkh.max_duration_months, pkh.past_max_duration), (Some(60), 1));
}
