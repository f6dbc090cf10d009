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

// The import format: the seed's columns and the optional ones after them.
const FULL_HEADER: &str = "person_id,nik,full_name,birth_date,sex,household_id,kk_number,region_code,relationship_to_head,desil,deceased,enrolments,deceased_on,floor,wall,roof,owns_car,owns_motorbike,owns_land\n";
const SLAMET_FULL: &str = "P-1,3375011204810001,Slamet,1981-04-12,M,H-1,3375011503180007,33.75.01.1002,head,1,false,PKH;BPNT,,earth,bamboo,zinc,false,true,\n";
const SITI_FULL: &str = "P-2,3375014309840002,Siti Aminah,1984-09-03,F,H-1,3375011503180007,33.75.01.1002,spouse,1,false,PKH;BPNT,,earth,bamboo,zinc,false,true,\n";

/// Each row of `csv` through one validator, as `Ok(person_id)` or the refusal's message.
fn verdicts(csv: &str) -> Vec<Result<String, String>> {
    parse_registry_rows(csv, today())
        .expect("the header is fine")
        .into_iter()
        .map(|row| row.map(|r| r.person_id.to_string()).map_err(|e| e.to_string()))
        .collect()
}

fn only_refusal(csv: &str) -> String {
    match verdicts(csv).pop() {
        Some(Err(message)) => message,
        other => panic!("the last row should have been refused, got {other:?}"),
    }
}

#[test]
fn a_file_in_the_seed_format_has_no_dwelling_assets_or_death_date() {
    let rows = parse_registry_csv(&format!("{HEADER}{SLAMET}"), today()).expect("valid");

    assert_eq!(rows[0].housing, Housing::default());
    assert_eq!(rows[0].assets, Assets::default());
    assert_eq!(rows[0].deceased_on, None);
}

#[test]
fn the_optional_columns_are_read_when_present_and_an_empty_one_is_unknown() {
    let rasmi = "P-3,3375034905410001,Rasmi,1941-05-09,F,H-1,3375011503180007,33.75.01.1002,parent,1,true,PBI-JK,2025-11-03,earth,bamboo,zinc,false,true,\n";

    let rows = parse_registry_csv(&format!("{FULL_HEADER}{SLAMET_FULL}{rasmi}"), today()).expect("valid");

    assert_eq!(
        rows[0].housing,
        Housing {
            floor: Some(Floor::Earth),
            wall: Some(Wall::Bamboo),
            roof: Some(Roof::Zinc)
        }
    );
    assert_eq!(
        rows[0].assets,
        Assets {
            car: Some(false),
            motorbike: Some(true),
            land: None
        }
    );
    assert_eq!(rows[1].deceased_on, Some(date("2025-11-03")));
}

#[test]
fn the_shipped_seed_is_in_the_import_format_with_its_dwellings_and_a_date_of_death() {
    let rows = parse_registry_csv(REGISTRY_SEED_CSV, today()).expect("the seed parses");

    assert!(rows.iter().all(|r| r.housing.floor.is_some() && r.assets.car.is_some()));
    assert!(rows.iter().any(|r| r.deceased && r.deceased_on.is_some()));
}

#[test]
fn a_date_of_death_for_someone_not_deceased_is_refused() {
    let bad = SITI_FULL.replace(",PKH;BPNT,,", ",PKH;BPNT,2025-01-01,");

    assert_eq!(
        only_refusal(&format!("{FULL_HEADER}{SLAMET_FULL}{bad}")),
        "line 3, field `deceased_on`: a date of death is given but deceased is false"
    );
}

#[test]
fn a_date_of_death_after_today_or_before_birth_is_refused() {
    let later = SITI_FULL.replace(",false,PKH;BPNT,,", ",true,PKH;BPNT,2026-03-03,");
    let before_birth = SITI_FULL.replace(",false,PKH;BPNT,,", ",true,PKH;BPNT,1980-01-01,");

    assert_eq!(
        only_refusal(&format!("{FULL_HEADER}{SLAMET_FULL}{later}")),
        "line 3, field `deceased_on`: 2026-03-03 is after today"
    );
    assert_eq!(
        only_refusal(&format!("{FULL_HEADER}{SLAMET_FULL}{before_birth}")),
        "line 3, field `deceased_on`: 1980-01-01 is before the birth date 1984-09-03"
    );
}

#[test]
fn a_birth_date_after_today_is_refused() {
    let bad = SLAMET.replace("1981-04-12", "2026-03-03");

    assert_eq!(
        only_refusal(&format!("{HEADER}{bad}")),
        "line 2, field `birth_date`: 2026-03-03 is after today"
    );
}

#[test]
fn an_unknown_material_is_refused_listing_the_choices() {
    let bad = SLAMET_FULL.replace(",earth,", ",marble,");

    assert_eq!(
        only_refusal(&format!("{FULL_HEADER}{bad}")),
        "line 2, field `floor`: \"marble\" is not one of earth, bamboo, wood, cement, tile, other"
    );
}

#[test]
fn an_asset_other_than_true_false_or_empty_is_refused() {
    let bad = SLAMET_FULL.replace(",false,true,\n", ",false,ya,\n");

    assert_eq!(
        only_refusal(&format!("{FULL_HEADER}{bad}")),
        "line 2, field `owns_motorbike`: \"ya\" is not true or false"
    );
}

#[test]
fn members_of_one_household_must_share_its_dwelling_and_assets() {
    let tiled = SITI_FULL.replace(",earth,", ",tile,");
    let with_car = SITI_FULL.replace(",zinc,false,", ",zinc,true,");

    assert_eq!(
        only_refusal(&format!("{FULL_HEADER}{SLAMET_FULL}{tiled}")),
        "line 3, field `floor`: household H-1 has a different floor on line 2; every member's row must agree"
    );
    assert!(
        only_refusal(&format!("{FULL_HEADER}{SLAMET_FULL}{with_car}")).starts_with("line 3, field `owns_car`:"),
        "a car"
    );
}

#[test]
fn a_second_head_is_refused_on_its_own_line_and_the_household_keeps_the_first() {
    let second_head = SITI_FULL.replace(",spouse,", ",head,");

    let verdicts = verdicts(&format!("{FULL_HEADER}{SLAMET_FULL}{second_head}"));

    assert_eq!(verdicts[0], Ok("P-1".to_owned()));
    assert_eq!(
        verdicts[1],
        Err("line 3, field `relationship_to_head`: household H-1 already has its head on line 2; a household has exactly one head".to_owned())
    );
}

#[test]
fn a_duplicate_nik_is_refused_on_its_second_occurrence_naming_the_first() {
    let same_nik = SITI_FULL.replace("P-2,3375014309840002,", "P-2,3375011204810001,");

    let verdicts = verdicts(&format!("{FULL_HEADER}{SLAMET_FULL}{same_nik}"));

    assert_eq!(verdicts[0], Ok("P-1".to_owned()));
    assert_eq!(
        verdicts[1],
        Err("line 3, field `nik`: the same nik is already on line 2".to_owned())
    );
}

#[test]
fn a_refused_row_does_not_claim_its_nik_for_a_later_good_row() {
    let bad_desil = SLAMET_FULL.replace(",head,1,", ",head,0,");

    let verdicts = verdicts(&format!("{FULL_HEADER}{bad_desil}{SLAMET_FULL}"));

    assert!(verdicts[0].is_err());
    assert_eq!(verdicts[1], Ok("P-1".to_owned()));
}

#[test]
fn with_a_catalogue_a_programme_it_does_not_know_is_refused() {
    let csv = format!("{FULL_HEADER}{}", SLAMET_FULL.replace("PKH;BPNT", "PKH;KIS"));
    let mut reader = registry_csv_reader(csv.as_bytes());
    let header = reader.byte_headers().expect("a header").clone();
    let mut validator = RowValidator::new(&header, today())
        .expect("all columns")
        .with_catalogue(shipped_catalogue());
    let mut record = csv::ByteRecord::new();
    assert!(reader.read_byte_record(&mut record).expect("a row"));

    let refusal = validator.validate(&record).expect_err("KIS is not catalogued");

    assert_eq!(
        refusal.to_string(),
        "line 2, field `enrolments`: KIS is not a programme in catalogue 2026.1"
    );
}

#[test]
fn a_refusal_splits_into_the_line_field_and_reason_of_a_rejects_file() {
    let cases = [
        (
            SLAMET_FULL.replace(",M,", ",X,"),
            Some("sex"),
            "sex must be M or F (or L or P), found \"X\"",
        ),
        (
            SLAMET_FULL.replace(",zinc,false,true,\n", ",zinc,false\n"),
            None,
            "the row has 17 fields where the header has 19",
        ),
    ];
    for (row, field, reason) in cases {
        let refusal = parse_registry_rows(&format!("{FULL_HEADER}{row}"), today()).expect("header")[0]
            .clone()
            .expect_err("refused");

        assert_eq!(
            (refusal.line(), refusal.field(), refusal.reason().as_str()),
            (Some(2), field, reason)
        );
    }
}

#[test]
fn a_header_starting_with_a_byte_order_mark_is_read() {
    let rows = parse_registry_csv(&format!("\u{feff}{FULL_HEADER}{SLAMET_FULL}"), today()).expect("valid");

    assert_eq!(rows[0].person_id.as_str(), "P-1");
}

#[test]
fn a_field_that_is_not_utf8_is_refused_naming_the_field() {
    let mut bytes = format!("{FULL_HEADER}{SLAMET_FULL}").into_bytes();
    let at = bytes.windows(6).position(|w| w == b"Slamet").expect("the name");
    bytes[at + 1] = 0xFF;
    let mut reader = registry_csv_reader(&bytes[..]);
    let header = reader.byte_headers().expect("a header").clone();
    let mut validator = RowValidator::new(&header, today()).expect("all columns");
    let mut record = csv::ByteRecord::new();
    assert!(reader.read_byte_record(&mut record).expect("a row"));

    let refusal = validator.validate(&record).expect_err("not UTF-8");

    assert_eq!(
        refusal.to_string(),
        "line 2, field `full_name`: the value is not UTF-8 text"
    );
}

fn row(csv_row: &str) -> RegistryRow {
    parse_registry_rows(&format!("{FULL_HEADER}{csv_row}"), today())
        .expect("the header is fine")
        .remove(0)
        .expect("a valid row")
}

#[test]
fn the_fingerprint_ignores_the_order_of_programmes_but_not_a_changed_value() {
    let slamet = row(SLAMET_FULL);
    let reordered = row(&SLAMET_FULL.replace("PKH;BPNT", "BPNT;PKH"));
    let richer = row(&SLAMET_FULL.replace(",head,1,", ",head,2,"));
    let land_unknown_vs_false = row(&SLAMET_FULL.replace(",false,true,\n", ",false,true,false\n"));

    assert_eq!(slamet.content_hash(), reordered.content_hash());
    assert_ne!(slamet.content_hash(), richer.content_hash());
    assert_ne!(slamet.content_hash(), land_unknown_vs_false.content_hash());
}

fn stored(person_id: &str, nik: &str, hash: Option<[u8; 32]>) -> StoredPerson {
    StoredPerson {
        person_id: person_id.to_owned(),
        nik: nik.to_owned(),
        content_hash: hash.map(|h| h.to_vec()),
    }
}

fn plan(rows: &[RegistryRow], stored: &[StoredPerson]) -> Vec<RowChange> {
    let hashes: Vec<[u8; 32]> = rows.iter().map(RegistryRow::content_hash).collect();
    plan_changes(rows.iter().zip(&hashes), stored)
}

#[test]
fn a_new_person_is_inserted_an_unchanged_one_left_and_a_changed_one_updated() {
    let slamet = row(SLAMET_FULL);
    let siti = row(SITI_FULL);
    let siti_before = row(&SITI_FULL.replace("Siti Aminah", "Siti"));

    let changes = plan(
        &[slamet.clone(), siti.clone()],
        &[
            stored("P-1", "3375011204810001", Some(slamet.content_hash())),
            stored("P-2", "3375014309840002", Some(siti_before.content_hash())),
        ],
    );
    let fresh = plan(std::slice::from_ref(&slamet), &[]);

    assert_eq!(changes, [RowChange::Unchanged, RowChange::Update]);
    assert_eq!(fresh, [RowChange::Insert]);
}

#[test]
fn a_row_written_before_fingerprints_were_kept_is_updated() {
    let slamet = row(SLAMET_FULL);

    let changes = plan(&[slamet], &[stored("P-1", "3375011204810001", None)]);

    assert_eq!(changes, [RowChange::Update]);
}

#[test]
fn a_corrected_nik_of_the_same_person_is_an_update() {
    let slamet = row(SLAMET_FULL);

    let changes = plan(
        std::slice::from_ref(&slamet),
        &[stored("P-1", "3375011204810002", Some([0; 32]))],
    );

    assert_eq!(changes, [RowChange::Update]);
}

#[test]
fn a_nik_another_stored_person_holds_is_a_conflict_naming_them() {
    let slamet = row(SLAMET_FULL);

    let changes = plan(&[slamet], &[stored("P-9", "3375011204810001", Some([0; 32]))]);

    assert_eq!(
        changes,
        [RowChange::Conflict(StoredConflict::NikHeldByAnother {
            person_id: "P-9".to_owned()
        })]
    );
    let RowChange::Conflict(conflict) = &changes[0] else {
        unreachable!()
    };
    assert_eq!(conflict.field(), "nik");
    assert_eq!(
        conflict.to_string(),
        "this NIK is already registered to registry person P-9"
    );
}
