use super::*;

type TestResult = Result<(), Box<dyn std::error::Error>>;

#[test]
fn kota_pekalongan_is_33_75() -> TestResult {
    let region = RegionCode::parse("33.75")?;
    assert_eq!(region.name(), "Kota Pekalongan");
    assert_eq!(region.level(), RegionLevel::Regency);
    assert!(region.is_kota());
    Ok(())
}

#[test]
fn kabupaten_kendal_is_33_24_and_not_a_kota() -> TestResult {
    let region = RegionCode::parse("33.24")?;
    assert_eq!(region.name(), "Kabupaten Kendal");
    assert!(!region.is_kota());
    Ok(())
}

#[test]
fn kota_bekasi_is_32_75() -> TestResult {
    let region = RegionCode::parse("32.75")?;
    assert_eq!(region.name(), "Kota Bekasi");
    assert!(region.is_kota());
    Ok(())
}

#[test]
fn village_code_names_the_village_and_its_ancestors() -> TestResult {
    let village = RegionCode::parse("33.75.01.1002")?;
    assert_eq!(village.level(), RegionLevel::Village);
    assert_eq!(village.name(), "Medono");
    assert_eq!(village.district().map(|d| d.name()), Some("Pekalongan Barat"));
    assert_eq!(village.regency().map(|r| r.dotted()), Some("33.75".to_owned()));
    assert_eq!(village.province().name(), "Jawa Tengah");
    assert!(village.is_kota(), "a village in a kota is in a kota");
    Ok(())
}

#[test]
fn compact_and_dotted_forms_name_the_same_region() -> TestResult {
    let compact = RegionCode::parse("3375011002")?;
    let dotted = RegionCode::parse("33.75.01.1002")?;
    assert_eq!(compact, dotted);
    assert_eq!(compact.dotted(), "33.75.01.1002");
    assert_eq!(dotted.compact(), "3375011002");
    assert_eq!(dotted.to_string(), "33.75.01.1002");
    Ok(())
}

#[test]
fn surrounding_whitespace_is_ignored() -> TestResult {
    assert_eq!(RegionCode::parse("  33.75\n")?, RegionCode::parse("33.75")?);
    Ok(())
}

#[test]
fn each_level_parses_in_both_forms() -> TestResult {
    for (dotted, compact, level) in [
        ("33", "33", RegionLevel::Province),
        ("33.75", "3375", RegionLevel::Regency),
        ("33.75.01", "337501", RegionLevel::District),
        ("33.75.01.1002", "3375011002", RegionLevel::Village),
    ] {
        assert_eq!(RegionCode::parse(dotted)?.level(), level);
        assert_eq!(RegionCode::parse(compact)?.dotted(), dotted);
    }
    Ok(())
}

#[test]
fn a_province_has_no_regency_or_district_and_is_its_own_province() -> TestResult {
    let province = RegionCode::parse("33")?;
    assert_eq!(province.regency(), None);
    assert_eq!(province.district(), None);
    assert_eq!(province.parent(), None);
    assert_eq!(province.province(), province);
    assert!(!province.is_kota());
    Ok(())
}

#[test]
fn a_regency_contains_its_villages_and_itself_but_not_its_neighbours() -> TestResult {
    let pekalongan = RegionCode::parse("33.75")?;
    let medono = RegionCode::parse("33.75.01.1002")?;
    let kendal = RegionCode::parse("33.24")?;
    let central_java = RegionCode::parse("33")?;
    assert!(pekalongan.contains(&medono));
    assert!(pekalongan.contains(&pekalongan));
    assert!(!pekalongan.contains(&kendal));
    assert!(!medono.contains(&pekalongan));
    assert!(central_java.contains(&kendal));
    assert!(!central_java.contains(&RegionCode::parse("32.75")?));
    Ok(())
}

#[test]
fn malformed_codes_are_syntax_errors() {
    for text in [
        "",
        "3",
        "333",
        "33.7",
        "33.75.1",
        "33.75.01.102",
        "33..75",
        "33.75.",
        ".33",
        "33.75.01.1002.1",
        "33-75",
        "337",
        "33750110021",
        "3375011",
        "٣٣",
        "Kota Bekasi",
    ] {
        let error = RegionCode::parse(text).err();
        assert!(
            matches!(error, Some(RegionCodeError::Syntax)),
            "{text:?} gave {error:?}"
        );
        assert_eq!(error.map(|e| e.code()), Some("region.syntax"));
    }
}

#[test]
fn well_formed_code_missing_from_the_table_is_unknown() {
    let error = RegionCode::parse("9999").err();
    assert_eq!(
        error,
        Some(RegionCodeError::Unknown {
            code: "99.99".to_owned()
        })
    );
    assert_eq!(
        error.map(|e| e.to_string()),
        Some("region code 99.99 is not in the Kemendagri table".to_owned())
    );
}

#[test]
fn syntax_error_reads_as_a_sentence_without_repeating_the_text() {
    assert_eq!(
        RegionCode::parse("3602041211870001").err().map(|e| e.to_string()),
        Some("region code must look like 33, 33.75, 33.75.01 or 33.75.01.1002".to_owned())
    );
}

#[test]
fn regions_look_up_names_and_existence_by_code() {
    let regions = Regions::kemendagri();
    assert_eq!(regions.name_of("33.24"), Some("Kabupaten Kendal"));
    assert_eq!(regions.name_of("3275"), Some("Kota Bekasi"));
    assert_eq!(regions.name_of("32.73.05.1003"), Some("Ciroyom"));
    assert_eq!(regions.name_of("99.99"), None);
    assert_eq!(regions.name_of("not a code"), None);
    assert!(regions.exists("33.75.01"));
    assert!(!regions.exists("33.75.99"));
}

#[test]
fn region_serializes_as_its_dotted_code_and_deserializes_from_either_form() -> TestResult {
    let region = RegionCode::parse("33.75")?;
    assert_eq!(serde_json::to_string(&region)?, "\"33.75\"");
    assert_eq!(serde_json::from_str::<RegionCode>("\"3375\"")?, region);
    assert!(serde_json::from_str::<RegionCode>("\"99.99\"").is_err());
    Ok(())
}

#[test]
fn debug_shows_code_and_name() -> TestResult {
    assert_eq!(
        format!("{:?}", RegionCode::parse("33.75")?),
        "RegionCode(33.75 Kota Pekalongan)"
    );
    Ok(())
}

#[test]
fn regions_sort_in_code_order() -> TestResult {
    let mut codes = [
        RegionCode::parse("33.75.01")?,
        RegionCode::parse("33.24")?,
        RegionCode::parse("33.75")?,
        RegionCode::parse("32.75")?,
    ];
    codes.sort();
    let dotted: Vec<String> = codes.iter().map(RegionCode::dotted).collect();
    assert_eq!(dotted, ["32.75", "33.24", "33.75", "33.75.01"]);
    Ok(())
}
