use super::*;
use crate::domain::fixtures::{date, shipped_catalogue, shipped_versions, today};

const SHIPPED_EXCLUSIONS: &str = include_str!("../../../data/exclusions.toml");

fn member(id: &str, relationship: Relationship, born: &str, deceased: bool) -> Member {
    Member {
        person_id: PersonId::parse(id).expect("valid id"),
        full_name: format!("Member {id}"),
        relationship,
        birth_date: date(born),
        deceased,
    }
}

fn pid(id: &str) -> PersonId {
    PersonId::parse(id).expect("valid id")
}

fn enrolment(programme: &str, beneficiary: Beneficiary) -> CurrentEnrolment {
    CurrentEnrolment {
        enrolment_id: Uuid::now_v7(),
        programme: ProgrammeCode::parse(programme).expect("valid code"),
        beneficiary,
    }
}

fn raw(kind: &str) -> RawEvidence {
    RawEvidence {
        kind: kind.into(),
        nik: "3375011204810001".into(),
        source: "DISDUKCAPIL".into(),
        reference: "AKTA-1".into(),
        observed_on: "2026-02-20".into(),
        ..RawEvidence::default()
    }
}

#[test]
fn a_living_spouse_becomes_head_before_an_older_member() {
    let members = [
        member("P-1", Relationship::Head, "1970-01-01", false),
        member("P-2", Relationship::Parent, "1945-01-01", false),
        member("P-3", Relationship::Spouse, "1975-01-01", false),
    ];

    let head = next_head(&members, &pid("P-1"), today());

    assert_eq!(head.map(|m| m.person_id.as_str()), Some("P-3"));
}

#[test]
fn without_a_spouse_the_eldest_living_adult_becomes_head() {
    let members = [
        member("P-1", Relationship::Head, "1970-01-01", false),
        member("P-2", Relationship::Spouse, "1972-01-01", true),
        member("P-3", Relationship::Child, "2000-05-01", false),
        member("P-4", Relationship::Child, "1998-05-01", false),
        member("P-5", Relationship::Parent, "1940-01-01", true),
    ];

    let head = next_head(&members, &pid("P-1"), today());

    assert_eq!(head.map(|m| m.person_id.as_str()), Some("P-4"));
}

#[test]
fn with_only_children_left_the_eldest_child_becomes_head() {
    let members = [
        member("P-1", Relationship::Head, "1970-01-01", false),
        member("P-2", Relationship::Child, "2015-01-01", false),
        member("P-3", Relationship::Child, "2012-01-01", false),
    ];

    let head = next_head(&members, &pid("P-1"), today());

    assert_eq!(head.map(|m| m.person_id.as_str()), Some("P-3"));
}

#[test]
fn members_born_the_same_day_are_ordered_by_person_id() {
    let members = [
        member("P-1", Relationship::Head, "1970-01-01", false),
        member("P-9", Relationship::Child, "1999-01-01", false),
        member("P-4", Relationship::Child, "1999-01-01", false),
    ];

    assert_eq!(
        next_head(&members, &pid("P-1"), today()).map(|m| m.person_id.as_str()),
        Some("P-4")
    );
}

#[test]
fn nobody_becomes_head_when_no_member_is_alive() {
    let members = [
        member("P-1", Relationship::Head, "1970-01-01", false),
        member("P-2", Relationship::Spouse, "1972-01-01", true),
    ];

    assert_eq!(next_head(&members, &pid("P-1"), today()), None);
}

#[test]
fn a_death_report_about_a_member_holds_only_their_own_enrolments() {
    let household = HouseholdId::parse("H-1").expect("valid id");
    let enrolments = [
        enrolment("PKH", Beneficiary::Household(household.clone())),
        enrolment("PBI-JK", Beneficiary::Person(pid("P-2"))),
        enrolment("PBI-JK", Beneficiary::Person(pid("P-3"))),
    ];

    let held = death_holds(&enrolments, &pid("P-2"), &household, false);

    assert_eq!(held, [&enrolments[1]]);
}

#[test]
fn a_death_report_about_the_head_holds_the_households_enrolments_too() {
    let household = HouseholdId::parse("H-1").expect("valid id");
    let enrolments = [
        enrolment("PKH", Beneficiary::Household(household.clone())),
        enrolment("PBI-JK", Beneficiary::Person(pid("P-1"))),
        enrolment("PBI-JK", Beneficiary::Person(pid("P-3"))),
    ];

    let held = death_holds(&enrolments, &pid("P-1"), &household, true);

    assert_eq!(held, [&enrolments[0], &enrolments[1]]);
}

#[test]
fn a_desil_above_a_cut_off_excludes_exactly_the_programmes_it_exceeds() {
    let catalogue = shipped_catalogue();
    let rules = ExclusionRules::default();

    let five = excluded_programmes(
        EvidenceKind::DesilUpdate,
        &Detail::Desil(Desil::new(5).expect("valid")),
        &rules,
        &catalogue,
    );
    let codes: Vec<&str> = five.iter().map(ProgrammeCode::as_str).collect();

    // PBI-JK's cut-off is 5: still within it. ADMINDUK and PELATIHAN have none.
    assert_eq!(codes, ["BLT-DD", "BPNT", "PENA", "PERMAKANAN", "PIP", "PKH", "RTLH"]);
    let four = excluded_programmes(
        EvidenceKind::DesilUpdate,
        &Detail::Desil(Desil::new(4).expect("valid")),
        &rules,
        &catalogue,
    );
    assert!(four.is_empty(), "{four:?}");
}

#[test]
fn a_car_holds_the_listed_programmes_of_the_household_and_its_members() {
    let catalogue = shipped_catalogue();
    let rules = ExclusionRules::parse(SHIPPED_EXCLUSIONS, &shipped_versions()).expect("the shipped file parses");
    let household = HouseholdId::parse("H-1").expect("valid id");
    let enrolments = [
        enrolment("PKH", Beneficiary::Household(household.clone())),
        enrolment("PBI-JK", Beneficiary::Person(pid("P-3"))),
        enrolment("PIP", Beneficiary::Person(pid("P-4"))),
        enrolment("ADMINDUK", Beneficiary::Person(pid("P-4"))),
    ];

    let excluded = excluded_programmes(EvidenceKind::Vehicle, &Detail::None, &rules, &catalogue);
    let held = exclusion_holds(&enrolments, &excluded);

    assert_eq!(held, [&enrolments[0], &enrolments[1]]);
    let payroll = excluded_programmes(EvidenceKind::Payroll, &Detail::None, &rules, &catalogue);
    assert!(payroll.contains(&ProgrammeCode::parse("PIP").expect("valid")));
    assert_eq!(rules.verification_days(), 14);
}

#[test]
fn an_exclusions_file_naming_an_unknown_programme_is_refused_with_its_line() {
    let text = "verification_days = 10\n[excludes]\nvehicle = [\"PKH\",\n  \"KIS\"]\n";

    let error =
        ExclusionRules::parse(text, std::slice::from_ref(&shipped_catalogue())).expect_err("KIS is not catalogued");

    assert_eq!(
        error.to_string(),
        "line 4: field `excludes.vehicle`: KIS is not a programme in catalogue 2026.1"
    );
}

#[test]
fn an_exclusions_file_with_a_bad_day_count_or_kind_is_refused() {
    let catalogue = shipped_catalogue();

    let days =
        ExclusionRules::parse("verification_days = 0\n", std::slice::from_ref(&catalogue)).expect_err("zero days");
    assert_eq!(
        days.to_string(),
        "line 1: field `verification_days`: must be 1 to 365 days, found 0"
    );
    let kind = ExclusionRules::parse(
        "[excludes]\ndeath_certificate = [\"PKH\"]\n",
        std::slice::from_ref(&catalogue),
    )
    .expect_err("not listed");
    assert!(
        kind.to_string()
            .starts_with("line 2: field `excludes.death_certificate`: "),
        "{kind}"
    );
}

#[test]
fn each_missing_or_malformed_field_is_named() {
    let cases = [
        (
            RawEvidence {
                kind: "car".into(),
                ..raw("")
            },
            "kind",
        ),
        (
            RawEvidence {
                nik: "123".into(),
                ..raw("vehicle")
            },
            "nik",
        ),
        (
            RawEvidence {
                source: " ".into(),
                ..raw("vehicle")
            },
            "source",
        ),
        (
            RawEvidence {
                reference: String::new(),
                ..raw("vehicle")
            },
            "reference",
        ),
        (
            RawEvidence {
                observed_on: "2026-02-30".into(),
                ..raw("death_certificate")
            },
            "observed_on",
        ),
        (
            RawEvidence {
                observed_on: "2026-03-03".into(),
                ..raw("death_certificate")
            },
            "observed_on",
        ),
        (raw("vehicle"), "plate"),
        (raw("payroll"), "employer_category"),
        (
            RawEvidence {
                employer_category: "bank".into(),
                ..raw("payroll")
            },
            "employer_category",
        ),
        (
            RawEvidence {
                desil: "11".into(),
                ..raw("desil_update")
            },
            "desil",
        ),
        (raw("death_retraction"), "retracts"),
        (
            RawEvidence {
                plate: "G 1234 AB".into(),
                ..raw("death_certificate")
            },
            "plate",
        ),
    ];
    for (item, field) in cases {
        let error = EvidenceItem::parse(&item, today()).expect_err(field);
        assert_eq!(error.field, field, "{item:?}: {error}");
    }
}

#[test]
fn the_same_item_is_recognised_and_a_changed_field_is_named() {
    let first = EvidenceItem::parse(&raw("death_certificate"), today()).expect("valid");
    let again = EvidenceItem::parse(
        &RawEvidence {
            source: " DISDUKCAPIL ".into(),
            ..raw("death_certificate")
        },
        today(),
    )
    .expect("valid");
    let changed = EvidenceItem::parse(
        &RawEvidence {
            observed_on: "2026-02-21".into(),
            ..raw("death_certificate")
        },
        today(),
    )
    .expect("valid");

    assert_eq!(again.differs_from(&first.content()), None);
    assert_eq!(changed.differs_from(&first.content()), Some("observed_on"));
    let retraction = EvidenceItem::parse(
        &RawEvidence {
            retracts: "LAPOR-7".into(),
            ..raw("death_retraction")
        },
        today(),
    )
    .expect("valid");
    assert_eq!(
        retraction.detail,
        Detail::Retracts(RetractionTarget::Reference("LAPOR-7".into()))
    );
}
