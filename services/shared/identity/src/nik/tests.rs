use super::*;
use crate::Regions;

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// Every test parses as of this date, so that none depends on the clock.
fn today() -> Result<NaiveDate, chrono::ParseError> {
    "2025-06-15".parse()
}

fn parse(s: &str) -> Result<Nik, Box<dyn std::error::Error>> {
    Ok(Nik::parse_at(s, today()?)?)
}

fn error(s: &str) -> Result<NikError, Box<dyn std::error::Error>> {
    match Nik::parse_at(s, today()?) {
        Ok(nik) => Err(format!("{nik:?} was accepted").into()),
        Err(error) => Ok(error),
    }
}

#[test]
fn man_born_12_november_1987_registered_in_36_02_04() -> TestResult {
    let nik = parse("3602041211870001")?;
    assert_eq!(nik.birth_date(), "1987-11-12".parse()?);
    assert_eq!(nik.sex(), Sex::Male);
    assert_eq!(nik.district_code(), "36.02.04");
    assert_eq!(nik.region().dotted(), "36.02.04");
    // DOMAIN.md calls this NIK Kab. Serang; in Kepmendagri 2025, 36.02 is Kabupaten Lebak and
    // Kabupaten Serang is 36.04.
    assert_eq!(nik.region().regency().map(|r| r.name()), Some("Kabupaten Lebak"));
    Ok(())
}

#[test]
fn woman_born_20_october_1990_in_kota_bandung_has_day_plus_forty() -> TestResult {
    let nik = parse("3273056010900009")?;
    assert_eq!(nik.birth_date(), "1990-10-20".parse()?);
    assert_eq!(nik.sex(), Sex::Female);
    assert_eq!(nik.region().name(), "Andir");
    assert_eq!(nik.region().regency().map(|r| r.name()), Some("Kota Bandung"));
    assert!(nik.region().is_kota());
    Ok(())
}

#[test]
fn man_and_woman_born_the_same_day_differ_only_by_forty_on_the_day() -> TestResult {
    let man = parse("3515140508680001")?;
    let woman = parse("3515144508680002")?;
    assert_eq!(man.birth_date(), "1968-08-05".parse()?);
    assert_eq!(woman.birth_date(), man.birth_date());
    assert_eq!(man.sex(), Sex::Male);
    assert_eq!(woman.sex(), Sex::Female);
    assert_eq!(man.region(), woman.region());
    assert_eq!(man.region().regency().map(|r| r.name()), Some("Kabupaten Sidoarjo"));
    Ok(())
}

#[test]
fn parse_without_a_date_uses_today_and_accepts_the_examples() -> TestResult {
    assert_eq!(Nik::parse("3602041211870001")?.birth_date(), "1987-11-12".parse()?);
    assert_eq!("3273056010900009".parse::<Nik>()?.sex(), Sex::Female);
    Ok(())
}

#[test]
fn surrounding_whitespace_is_ignored() -> TestResult {
    let nik = parse(" \t3602041211870001\n")?;
    assert_eq!(nik.as_str(), "3602041211870001");
    Ok(())
}

#[test]
fn nik_with_fifteen_digits_is_rejected() -> TestResult {
    let error = error("360204121187000")?;
    assert_eq!(error, NikError::Length { found: 15 });
    assert_eq!(error.to_string(), "NIK must have 16 digits, found 15");
    assert_eq!(error.code(), "nik.length");
    Ok(())
}

#[test]
fn nik_with_seventeen_digits_is_rejected() -> TestResult {
    assert_eq!(error("36020412118700011")?, NikError::Length { found: 17 });
    Ok(())
}

#[test]
fn empty_nik_is_rejected() -> TestResult {
    assert_eq!(error("")?, NikError::Length { found: 0 });
    assert_eq!(error("   ")?, NikError::Length { found: 0 });
    Ok(())
}

#[test]
fn nik_with_dashes_is_rejected_at_the_first_dash() -> TestResult {
    let error = error("3602-0412-1187-0001")?;
    assert_eq!(
        error,
        NikError::NotDigits {
            found: '-',
            position: 5
        }
    );
    assert_eq!(
        error.to_string(),
        "NIK must contain only digits, found '-' at position 5"
    );
    assert_eq!(error.code(), "nik.digits");
    Ok(())
}

#[test]
fn nik_with_inner_spaces_is_rejected() -> TestResult {
    assert!(matches!(
        error("3602 0412 1187 0001")?,
        NikError::NotDigits { found: ' ', .. }
    ));
    Ok(())
}

#[test]
fn nik_with_non_ascii_digits_is_rejected() -> TestResult {
    // Arabic-Indic three, a digit to Unicode but not to Dukcapil.
    assert!(matches!(
        error("٣602041211870001")?,
        NikError::NotDigits {
            found: '٣',
            position: 1
        }
    ));
    Ok(())
}

#[test]
fn nik_from_an_unknown_region_is_rejected() -> TestResult {
    let error = error("9999991211870001")?;
    assert_eq!(
        error,
        NikError::Region {
            region: "99.99.99".to_owned()
        }
    );
    assert_eq!(error.to_string(), "NIK region 99.99.99 is not a Kemendagri district");
    assert_eq!(error.code(), "nik.region");
    Ok(())
}

#[test]
fn nik_from_a_retired_district_of_a_known_regency_is_accepted_at_regency_level() -> TestResult {
    // Kota Pekalongan has districts 01-04 only; 99 stands for one since split or renumbered.
    assert!(!Regions::kemendagri().exists("33.75.99"));
    let nik = parse("3375991211870001")?;
    assert_eq!(nik.district_code(), "33.75.99");
    assert_eq!(nik.region().dotted(), "33.75");
    assert_eq!(nik.region().name(), "Kota Pekalongan");
    Ok(())
}

#[test]
fn nik_from_a_known_province_but_unknown_regency_is_rejected() -> TestResult {
    assert!(matches!(error("3399011211870001")?, NikError::Region { .. }));
    Ok(())
}

#[test]
fn birth_day_outside_both_ranges_is_rejected() -> TestResult {
    for (nik, day) in [
        ("3602040011870001", 0),
        ("3602043211870001", 32),
        ("3602044011870001", 40),
        ("3602047211870001", 72),
        ("3602049911870001", 99),
    ] {
        let error = error(nik)?;
        assert_eq!(error, NikError::BirthDay { day }, "{nik}");
        assert_eq!(error.code(), "nik.date");
    }
    assert_eq!(
        error("3602043211870001")?.to_string(),
        "NIK birth day 32 is not valid: 01-31 for a man, 41-71 for a woman"
    );
    Ok(())
}

#[test]
fn birth_month_outside_01_to_12_is_rejected() -> TestResult {
    assert_eq!(error("3602041200870001")?, NikError::BirthMonth { month: 0 });
    let error = error("3602041213870001")?;
    assert_eq!(error, NikError::BirthMonth { month: 13 });
    assert_eq!(error.to_string(), "NIK birth month 13 is not valid: 01-12");
    assert_eq!(error.code(), "nik.date");
    Ok(())
}

#[test]
fn thirty_first_of_february_is_not_a_real_date() -> TestResult {
    let error = error("3602043102870001")?;
    assert_eq!(
        error,
        NikError::BirthDate {
            day: 31,
            month: 2,
            year: 87
        }
    );
    assert_eq!(error.to_string(), "NIK birth date 31-02-87 is not a real date");
    assert_eq!(error.code(), "nik.date");
    Ok(())
}

#[test]
fn a_womans_impossible_date_is_reported_without_the_forty() -> TestResult {
    assert_eq!(
        error("3602047102870001")?.to_string(),
        "NIK birth date 31-02-87 is not a real date"
    );
    Ok(())
}

#[test]
fn twenty_ninth_of_february_is_real_only_in_a_leap_year() -> TestResult {
    assert_eq!(parse("3602042902960001")?.birth_date(), "1996-02-29".parse()?);
    assert_eq!(parse("3602046902000002")?.birth_date(), "2000-02-29".parse()?);
    assert!(matches!(error("3602042902970001")?, NikError::BirthDate { .. }));
    Ok(())
}

#[test]
fn serial_0000_is_rejected() -> TestResult {
    let error = error("3602041211870000")?;
    assert_eq!(error, NikError::Serial);
    assert_eq!(error.to_string(), "NIK serial 0000 is not valid");
    assert_eq!(error.code(), "nik.serial");
    Ok(())
}

#[test]
fn rules_are_checked_in_the_order_of_the_digits() -> TestResult {
    // Unknown region, impossible date and zero serial at once: the region is reported.
    assert!(matches!(error("9999993102870000")?, NikError::Region { .. }));
    // Impossible date and zero serial: the date is reported.
    assert!(matches!(error("3602043102870000")?, NikError::BirthDate { .. }));
    Ok(())
}

#[test]
fn two_digit_year_up_to_this_year_is_this_century() -> TestResult {
    assert_eq!(parse("3602040101000001")?.birth_date(), "2000-01-01".parse()?);
    assert_eq!(parse("3602040106250001")?.birth_date(), "2025-06-01".parse()?);
    assert_eq!(parse("3602041506250001")?.birth_date(), "2025-06-15".parse()?);
    Ok(())
}

#[test]
fn two_digit_year_after_this_year_is_last_century() -> TestResult {
    assert_eq!(parse("3602040101260001")?.birth_date(), "1926-01-01".parse()?);
    assert_eq!(parse("3602043112990001")?.birth_date(), "1999-12-31".parse()?);
    Ok(())
}

#[test]
fn birth_date_later_this_year_is_read_as_a_century_ago_not_in_the_future() -> TestResult {
    assert_eq!(parse("3602041606250001")?.birth_date(), "1925-06-16".parse()?);
    assert_eq!(parse("3602040112250001")?.birth_date(), "1925-12-01".parse()?);
    Ok(())
}

#[test]
fn same_digits_parsed_on_different_days_are_the_same_nik() -> TestResult {
    let before = Nik::parse_at("3602040112250001", "2025-06-15".parse()?)?;
    let after = Nik::parse_at("3602040112250001", "2026-01-01".parse()?)?;
    assert_ne!(before.birth_date(), after.birth_date());
    assert_eq!(before, after);
    Ok(())
}

#[test]
fn masked_nik_shows_only_first_four_and_last_four_digits() -> TestResult {
    assert_eq!(parse("3602041211870001")?.masked(), "3602********0001");
    assert_eq!(parse("3273056010900009")?.masked(), "3273********0009");
    Ok(())
}

#[test]
fn debug_output_is_masked_so_logs_never_hold_a_full_nik() -> TestResult {
    let nik = parse("3602041211870001")?;
    let debug = format!("{nik:?}");
    assert_eq!(debug, "Nik(3602********0001)");
    assert!(!debug.contains("041211"));
    assert!(!format!("{:?}", Some(&nik)).contains("3602041211870001"));
    Ok(())
}

#[test]
fn display_prints_the_full_nik_for_payloads() -> TestResult {
    assert_eq!(parse("3602041211870001")?.to_string(), "3602041211870001");
    Ok(())
}

#[test]
fn declared_values_that_agree_with_the_nik_give_no_warning() -> TestResult {
    let nik = parse("3273056010900009")?;
    assert_eq!(nik.check_declared("1990-10-20".parse()?, Sex::Female), []);
    Ok(())
}

#[test]
fn declared_birth_date_that_differs_from_the_nik_is_a_warning() -> TestResult {
    let nik = parse("3602041211870001")?;
    let warnings = nik.check_declared("1987-11-13".parse()?, Sex::Male);
    assert_eq!(
        warnings,
        [NikWarning::BirthDateMismatch {
            on_nik: "1987-11-12".parse()?,
            declared: "1987-11-13".parse()?,
        }]
    );
    assert_eq!(warnings[0].code(), "nik.birth_date_mismatch");
    assert_eq!(
        warnings[0].to_string(),
        "NIK gives birth date 12-11-87 but the declared birth date is 13-11-1987"
    );
    Ok(())
}

#[test]
fn declared_sex_that_differs_from_the_nik_is_a_warning() -> TestResult {
    let nik = parse("3273056010900009")?;
    let warnings = nik.check_declared("1990-10-20".parse()?, Sex::Male);
    assert_eq!(
        warnings,
        [NikWarning::SexMismatch {
            on_nik: Sex::Female,
            declared: Sex::Male,
        }]
    );
    assert_eq!(warnings[0].code(), "nik.sex_mismatch");
    assert_eq!(warnings[0].to_string(), "NIK is a woman's but the declared sex is male");
    Ok(())
}

#[test]
fn declared_date_and_sex_both_wrong_give_two_warnings() -> TestResult {
    let nik = parse("3515140508680001")?;
    let warnings = nik.check_declared("1968-05-08".parse()?, Sex::Female);
    let codes: Vec<_> = warnings.iter().map(NikWarning::code).collect();
    assert_eq!(codes, ["nik.birth_date_mismatch", "nik.sex_mismatch"]);
    Ok(())
}

#[test]
fn declared_birth_date_a_century_from_the_nik_reading_gives_no_warning() -> TestResult {
    // The NIK says only `20`; read in 2025 that is 2020, but 1920 is just as consistent.
    let nik = parse("3602040101200001")?;
    assert_eq!(nik.birth_date(), "2020-01-01".parse()?);
    assert_eq!(nik.check_declared("1920-01-01".parse()?, Sex::Male), []);
    Ok(())
}

#[test]
fn nik_serializes_as_its_full_digits_and_deserializes_through_parse() -> TestResult {
    let nik = parse("3602041211870001")?;
    assert_eq!(serde_json::to_string(&nik)?, "\"3602041211870001\"");
    assert_eq!(serde_json::from_str::<Nik>("\"3602041211870001\"")?, nik);
    let invalid = serde_json::from_str::<Nik>("\"3602041211870000\"")
        .err()
        .map(|e| e.to_string());
    assert!(
        invalid
            .as_deref()
            .is_some_and(|m| m.starts_with("NIK serial 0000 is not valid")),
        "{invalid:?}"
    );
    Ok(())
}

#[test]
fn nik_sent_as_a_json_number_is_refused_without_echoing_it() {
    let refused = serde_json::from_str::<Nik>("3602041211870001")
        .err()
        .map(|e| e.to_string());
    assert!(
        refused
            .as_deref()
            .is_some_and(|m| m.starts_with("NIK must be a string") && !m.contains("041211")),
        "{refused:?}"
    );
}
