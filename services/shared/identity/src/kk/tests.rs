use super::*;

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// Every test parses as of this date, so that none depends on the clock.
fn today() -> Result<NaiveDate, chrono::ParseError> {
    "2025-06-15".parse()
}

fn parse(s: &str) -> Result<KkNumber, Box<dyn std::error::Error>> {
    Ok(KkNumber::parse_at(s, today()?)?)
}

fn error(s: &str) -> Result<KkNumberError, Box<dyn std::error::Error>> {
    match KkNumber::parse_at(s, today()?) {
        Ok(kk) => Err(format!("{kk:?} was accepted").into()),
        Err(error) => Ok(error),
    }
}

#[test]
fn kk_number_gives_its_issuing_district_and_recording_date() -> TestResult {
    let kk = parse("3273050101150004")?;
    assert_eq!(kk.district_code(), "32.73.05");
    assert_eq!(kk.region().name(), "Andir");
    assert_eq!(kk.recorded_on(), "2015-01-01".parse()?);
    assert_eq!(kk.as_str(), "3273050101150004");
    Ok(())
}

#[test]
fn kk_number_recorded_last_century_is_accepted() -> TestResult {
    assert_eq!(parse("3602041712980001")?.recorded_on(), "1998-12-17".parse()?);
    Ok(())
}

#[test]
fn kk_number_recorded_today_is_accepted() -> TestResult {
    assert_eq!(parse("3602041506250001")?.recorded_on(), today()?);
    Ok(())
}

#[test]
fn kk_number_with_fifteen_digits_is_rejected() -> TestResult {
    let error = error("327305010115000")?;
    assert_eq!(error, KkNumberError::Length { found: 15 });
    assert_eq!(error.to_string(), "KK number must have 16 digits, found 15");
    assert_eq!(error.code(), "kk.length");
    Ok(())
}

#[test]
fn kk_number_with_a_letter_is_rejected() -> TestResult {
    let error = error("32730501O1150004")?;
    assert_eq!(
        error,
        KkNumberError::NotDigits {
            found: 'O',
            position: 9
        }
    );
    assert_eq!(error.code(), "kk.digits");
    Ok(())
}

#[test]
fn kk_number_from_an_unknown_region_is_rejected() -> TestResult {
    let error = error("9999990101150004")?;
    assert_eq!(
        error.to_string(),
        "KK number region 99.99.99 is not a Kemendagri district"
    );
    assert_eq!(error.code(), "kk.region");
    Ok(())
}

#[test]
fn kk_number_from_a_retired_district_of_a_known_regency_is_accepted() -> TestResult {
    let kk = parse("3375990101150004")?;
    assert_eq!(kk.district_code(), "33.75.99");
    assert_eq!(kk.region().name(), "Kota Pekalongan");
    Ok(())
}

#[test]
fn kk_recording_day_plus_forty_is_not_a_real_date() -> TestResult {
    let error = error("3273054101150004")?;
    assert_eq!(
        error,
        KkNumberError::RecordingDate {
            day: 41,
            month: 1,
            year: 15
        }
    );
    assert_eq!(
        error.to_string(),
        "KK number recording date 41-01-15 is not a real date"
    );
    assert_eq!(error.code(), "kk.date");
    Ok(())
}

#[test]
fn kk_recording_dates_that_are_not_on_the_calendar_are_rejected() -> TestResult {
    for kk in [
        "3273053102150004",
        "3273050013150004",
        "3273050113150004",
        "3273052902150004",
    ] {
        assert!(matches!(error(kk)?, KkNumberError::RecordingDate { .. }), "{kk}");
    }
    Ok(())
}

#[test]
fn kk_recorded_after_today_is_rejected() -> TestResult {
    let error = error("3273051606250004")?;
    assert_eq!(
        error,
        KkNumberError::FutureRecordingDate {
            day: 16,
            month: 6,
            year: 25
        }
    );
    assert_eq!(error.to_string(), "KK number recording date 16-06-25 is in the future");
    assert_eq!(error.code(), "kk.date_future");
    Ok(())
}

#[test]
fn kk_serial_0000_is_rejected() -> TestResult {
    let error = error("3273050101150000")?;
    assert_eq!(error, KkNumberError::Serial);
    assert_eq!(error.to_string(), "KK number serial 0000 is not valid");
    assert_eq!(error.code(), "kk.serial");
    Ok(())
}

#[test]
fn kk_debug_is_masked_and_display_is_full() -> TestResult {
    let kk = parse("3273050101150004")?;
    assert_eq!(kk.masked(), "3273********0004");
    assert_eq!(format!("{kk:?}"), "KkNumber(3273********0004)");
    assert_eq!(kk.to_string(), "3273050101150004");
    Ok(())
}

#[test]
fn same_kk_digits_parsed_on_different_days_are_the_same_kk_number() -> TestResult {
    let earlier = KkNumber::parse_at("3273050101260004", "2025-06-15".parse()?)?;
    let later = KkNumber::parse_at("3273050101260004", "2026-06-15".parse()?)?;
    assert_ne!(earlier.recorded_on(), later.recorded_on());
    assert_eq!(earlier, later);
    Ok(())
}

#[test]
fn kk_number_serializes_as_its_digits_and_deserializes_through_parse() -> TestResult {
    let kk = parse("3273050101150004")?;
    assert_eq!(serde_json::to_string(&kk)?, "\"3273050101150004\"");
    assert_eq!(serde_json::from_str::<KkNumber>("\"3273050101150004\"")?, kk);
    assert!(serde_json::from_str::<KkNumber>("\"3273050101150000\"").is_err());
    let refused = serde_json::from_str::<KkNumber>("3273050101150004")
        .err()
        .map(|e| e.to_string());
    assert!(refused.as_deref().is_some_and(|m| !m.contains("050101")), "{refused:?}");
    Ok(())
}
