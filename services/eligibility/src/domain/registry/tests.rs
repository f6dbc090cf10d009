use std::collections::BTreeSet;

use proptest::prelude::*;
use slrt_identity::{NikError, RegionCode, Sex};

use super::*;
use crate::domain::fixtures::{REGISTRY_SEED_CSV, date, shipped_catalogue, today};

const HEADER: &str = "person_id,nik,full_name,birth_date,sex,household_id,kk_number,region_code,relationship_to_head,desil,deceased,enrolments\n";
const SLAMET: &str =
    "P-1,3375011204810001,Slamet,1981-04-12,M,H-1,3375011503180007,33.75.01.1002,head,1,false,PKH;BPNT\n";
const SITI: &str =
    "P-2,3375014309840002,Siti Aminah,1984-09-03,F,H-1,3375011503180007,33.75.01.1002,spouse,1,false,PKH;BPNT\n";

fn region(code: &str) -> RegionCode {
    RegionCode::parse(code).expect("a Kemendagri code")
}

fn refusal(csv: &str) -> RegistryError {
    match parse_registry_csv(csv, today()) {
        Ok(rows) => panic!("the file should have been refused, got {} rows", rows.len()),
        Err(err) => err,
    }
}

#[test]
fn shipped_registry_seed_parses() {
    let rows = parse_registry_csv(REGISTRY_SEED_CSV, today()).expect("the seed parses");

    let households: BTreeSet<&str> = rows.iter().map(|r| r.household_id.as_str()).collect();
    assert!((30..=60).contains(&rows.len()), "{} rows", rows.len());
    assert_eq!(households.len(), 12);
}

#[test]
fn seed_niks_encode_each_persons_birth_date_sex_and_district() {
    let rows = parse_registry_csv(REGISTRY_SEED_CSV, today()).expect("the seed parses");

    for row in &rows {
        assert_eq!(
            row.nik.check_declared(row.birth_date, row.sex),
            vec![],
            "{}: NIK disagrees with birth date or sex",
            row.person_id
        );
        let district = row.region_code.district().map(|d| d.dotted());
        assert_eq!(Some(row.nik.district_code()), district, "{}", row.person_id);
        assert_eq!(Some(row.kk_number.district_code()), district, "{}", row.person_id);
    }
}

#[test]
fn seed_covers_the_cases_the_desk_meets() {
    let rows = parse_registry_csv(REGISTRY_SEED_CSV, today()).expect("the seed parses");
    let catalogue = shipped_catalogue();
    let household_has = |code: &str| {
        rows.iter()
            .filter(|r| r.enrolments.iter().any(|e| e.as_str() == code))
            .map(|r| r.household_id.as_str())
            .collect::<BTreeSet<_>>()
    };

    assert!(rows.iter().any(|r| r.deceased), "a deceased person");
    assert!(
        rows.iter().any(|r| r.desil.get() >= 8),
        "a household above every cut-off"
    );
    assert!(
        household_has("PKH")
            .intersection(&household_has("BPNT"))
            .next()
            .is_some(),
        "a household on PKH and BPNT"
    );
    assert!(
        rows.iter().any(|r| r.desil.get() <= 3 && r.enrolments.is_empty()),
        "a poor household on nothing"
    );
    assert!(
        rows.iter().any(|r| region("33.75").contains(&r.region_code)),
        "Kota Pekalongan"
    );
    assert!(
        rows.iter().any(|r| region("33.24").contains(&r.region_code)),
        "Kabupaten Kendal"
    );
    for row in &rows {
        for code in &row.enrolments {
            assert!(
                catalogue.programme(code).is_some(),
                "{}: unknown programme {code}",
                row.person_id
            );
        }
    }
}

#[test]
fn a_valid_file_yields_typed_rows() {
    let rows = parse_registry_csv(&format!("{HEADER}{SLAMET}{SITI}"), today()).expect("valid");

    let siti = &rows[1];
    assert_eq!(siti.person_id.as_str(), "P-2");
    assert_eq!(siti.sex, Sex::Female);
    assert_eq!(siti.birth_date, date("1984-09-03"));
    assert_eq!(siti.relationship_to_head, Relationship::Spouse);
    assert_eq!(siti.desil.get(), 1);
    assert!(!siti.deceased);
    let enrolments: Vec<&str> = siti.enrolments.iter().map(ProgrammeCode::as_str).collect();
    assert_eq!(enrolments, ["PKH", "BPNT"]);
}

#[test]
fn a_bad_nik_is_refused_with_its_line_and_without_repeating_it() {
    let bad = SITI.replace("3375014309840002", "3375014309840000");

    let err = refusal(&format!("{HEADER}{SLAMET}{bad}"));

    assert_eq!(err.to_string(), "line 3, field `nik`: NIK serial 0000 is not valid");
}

#[test]
fn a_nik_with_an_impossible_birth_date_is_refused() {
    // Day 72 would be the 32nd for a woman.
    let bad = SITI.replace("3375014309840002", "3375017209840002");

    let err = refusal(&format!("{HEADER}{bad}"));

    assert!(
        matches!(
            err,
            RegistryError::Field {
                line: 2,
                field: "nik",
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn a_desil_outside_one_to_ten_is_refused_with_its_line() {
    let bad = SLAMET.replace(",head,1,", ",head,11,");

    let err = refusal(&format!("{HEADER}{bad}"));

    assert_eq!(
        err.to_string(),
        "line 2, field `desil`: a desil is a whole number from 1 (poorest) to 10 (richest)"
    );
}

#[test]
fn a_region_code_that_is_not_a_village_is_refused() {
    let bad = SLAMET.replace("33.75.01.1002", "33.75.01");

    let err = refusal(&format!("{HEADER}{bad}"));

    assert_eq!(
        err.to_string(),
        "line 2, field `region_code`: 33.75.01 (Pekalongan Barat) is not a village: expected PP.KK.CC.DDDD, e.g. 33.75.01.1002"
    );
}

#[test]
fn a_region_code_missing_from_the_kemendagri_table_is_refused() {
    let bad = SLAMET.replace("33.75.01.1002", "33.75.01.1999");

    let err = refusal(&format!("{HEADER}{bad}"));

    assert_eq!(
        err.to_string(),
        "line 2, field `region_code`: region code 33.75.01.1999 is not in the Kemendagri table"
    );
}

#[test]
fn an_unknown_relationship_is_refused_listing_the_choices() {
    let bad = SITI.replace(",spouse,", ",wife,");

    let err = refusal(&format!("{HEADER}{SLAMET}{bad}"));

    assert!(
        err.to_string()
            .starts_with("line 3, field `relationship_to_head`: \"wife\" is not one of head, spouse"),
        "{err}"
    );
}

#[test]
fn the_same_person_twice_is_refused() {
    let again = SITI.replace("P-2,", "P-1,");

    let err = refusal(&format!("{HEADER}{SLAMET}{again}"));

    assert_eq!(
        err.to_string(),
        "line 3, field `person_id`: the same person_id is already on line 2"
    );
}

#[test]
fn members_of_one_household_must_share_its_desil() {
    let richer = SITI.replace(",spouse,1,", ",spouse,2,");

    let err = refusal(&format!("{HEADER}{SLAMET}{richer}"));

    assert!(
        matches!(
            err,
            RegistryError::HouseholdDisagrees {
                line: 3,
                field: "desil",
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn a_household_without_a_head_is_refused() {
    let err = refusal(&format!("{HEADER}{SITI}"));

    assert_eq!(
        err.to_string(),
        "household H-1 has 0 rows with relationship_to_head = head (line 2 is its first row); a household has exactly one head"
    );
}

#[test]
fn a_missing_column_is_refused() {
    let header = HEADER.replace(",desil", "");

    let err = refusal(&header);

    assert_eq!(err, RegistryError::MissingColumn { column: "desil" });
}

#[test]
fn a_short_row_is_refused_with_its_line() {
    let err = refusal(&format!("{HEADER}{SLAMET}P-2,3375014309840002\n"));

    assert!(matches!(err, RegistryError::Csv { line: Some(3), .. }), "{err}");
}

#[test]
fn row_by_row_parsing_keeps_the_good_rows_around_a_bad_one() {
    let bad = SITI.replace(",F,", ",X,");

    let rows = parse_registry_rows(&format!("{HEADER}{SLAMET}{bad}"), today()).expect("the header is fine");

    assert!(rows[0].is_ok());
    assert_eq!(
        rows[1]
            .as_ref()
            .map(|r| r.person_id.as_str())
            .map_err(ToString::to_string),
        Err("line 3, field `sex`: sex must be M or F (or L or P), found \"X\"".to_owned())
    );
}

#[test]
fn a_logged_row_does_not_show_the_nik_or_kk_number() {
    let rows = parse_registry_csv(&format!("{HEADER}{SLAMET}"), today()).expect("valid");

    let logged = format!("{:?}", rows[0]);

    assert!(!logged.contains("3375011204810001"), "{logged}");
    assert!(!logged.contains("3375011503180007"), "{logged}");
    assert!(logged.contains("3375********0001"), "{logged}");
}

#[test]
fn age_is_counted_in_whole_years_to_today() {
    let rows = parse_registry_csv(&format!("{HEADER}{SLAMET}"), today()).expect("valid");
    let facts = RegistryFacts::from(&rows[0]);

    assert_eq!(facts.age_on(today()), Some(44));
    assert_eq!(facts.age_on(date("2026-04-12")), Some(45));
}

#[test]
fn nik_examples_from_the_domain_brief_are_accepted() {
    for (nik, sex) in [
        ("3602041211870001", Sex::Male),
        ("3273056010900009", Sex::Female),
        ("3515140508680001", Sex::Male),
        ("3515144508680002", Sex::Female),
    ] {
        let parsed = Nik::parse_at(nik, today()).expect("a valid NIK");
        assert_eq!(parsed.sex(), sex, "{nik}");
    }
}

proptest! {
    #[test]
    fn every_real_birth_date_makes_a_nik_that_agrees_with_it(
        days in 0i64..(100 * 366),
        female in any::<bool>(),
        serial in 1u32..=9999,
    ) {
        let birth = date("1926-01-01") + chrono::Days::new(u64::try_from(days).expect("non-negative"));
        let sex = if female { Sex::Female } else { Sex::Male };
        let day = chrono::Datelike::day(&birth) + if female { 40 } else { 0 };
        let text = format!(
            "337501{day:02}{:02}{:02}{serial:04}",
            chrono::Datelike::month(&birth),
            chrono::Datelike::year(&birth) % 100
        );

        let nik = Nik::parse_at(&text, today()).expect("a structurally valid NIK");

        prop_assert_eq!(nik.sex(), sex);
        prop_assert_eq!(nik.check_declared(birth, sex), vec![]);
    }

    #[test]
    fn no_string_other_than_sixteen_digits_is_a_nik(text in "[0-9]{0,15}|[0-9]{17,20}|[0-9]{8}[a-z][0-9]{7}") {
        let refused = Nik::parse_at(&text, today()).err();
        prop_assert!(
            matches!(refused, Some(NikError::Length { .. } | NikError::NotDigits { .. })),
            "{:?}",
            refused
        );
    }
}
