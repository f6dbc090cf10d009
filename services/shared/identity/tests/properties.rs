//! Properties of the parsers over generated input, through the public API only.

use chrono::{Datelike, NaiveDate, TimeDelta};
use proptest::prelude::*;
use proptest::sample::select;
use slrt_identity::{KkNumber, Nik, RegionCode, RegionLevel, Regions, Sex};

/// Fixed, so that a failure can be replayed; the same date as the unit tests.
const TODAY: NaiveDate = date(2025, 6, 15);

const fn date(year: i32, month: u32, day: u32) -> NaiveDate {
    match NaiveDate::from_ymd_opt(year, month, day) {
        Some(date) => date,
        None => panic!("not a calendar date"),
    }
}

fn today() -> NaiveDate {
    TODAY
}

fn districts() -> Vec<RegionCode> {
    Regions::kemendagri()
        .iter()
        .filter(|region| region.level() == RegionLevel::District)
        .collect()
}

fn sex() -> impl Strategy<Value = Sex> {
    prop_oneof![Just(Sex::Male), Just(Sex::Female)]
}

/// `DDMMYY` with `DD` +40 for women.
fn ddmmyy(date: NaiveDate, sex: Sex) -> String {
    let offset = match sex {
        Sex::Male => 0,
        Sex::Female => 40,
    };
    format!(
        "{:02}{:02}{:02}",
        date.day() + offset,
        date.month(),
        date.year().rem_euclid(100)
    )
}

proptest! {
    #[test]
    fn parsing_arbitrary_text_never_panics(text in any::<String>()) {
        let _ = Nik::parse_at(&text, today());
        let _ = KkNumber::parse_at(&text, today());
        let _ = RegionCode::parse(&text);
        let _ = Regions::kemendagri().name_of(&text);
        let _ = Sex::parse(&text);
    }

    #[test]
    fn parsing_digit_and_dot_soup_never_panics(text in "[0-9. \u{663}-]{0,20}") {
        let _ = Nik::parse_at(&text, today());
        let _ = KkNumber::parse_at(&text, today());
        let _ = RegionCode::parse(&text);
    }

    #[test]
    fn any_sixteen_digits_parse_or_are_refused_with_a_code(text in "[0-9]{16}") {
        if let Err(error) = Nik::parse_at(&text, today()) {
            prop_assert!(["nik.region", "nik.date", "nik.serial"].contains(&error.code()));
        }
        if let Err(error) = KkNumber::parse_at(&text, today()) {
            prop_assert!(
                ["kk.region", "kk.date", "kk.date_future", "kk.serial"].contains(&error.code())
            );
        }
    }

    #[test]
    fn nik_built_from_a_real_district_date_and_serial_parses_and_round_trips(
        district in select(districts()),
        // Births in the hundred years up to today: the window a two-digit year can name.
        days_ago in 0_i64..36_500,
        sex in sex(),
        serial in 1_u16..=9999,
    ) {
        let birth_date = today() - TimeDelta::days(days_ago);
        let text = format!("{}{}{serial:04}", district.compact(), ddmmyy(birth_date, sex));

        let nik = Nik::parse_at(&text, today())?;

        prop_assert_eq!(nik.birth_date(), birth_date);
        prop_assert_eq!(nik.sex(), sex);
        prop_assert_eq!(nik.region(), district);
        prop_assert_eq!(nik.district_code(), district.dotted());
        prop_assert_eq!(nik.as_str(), text.as_str());
        prop_assert!(nik.check_declared(birth_date, sex).is_empty());
        let masked = nik.masked();
        prop_assert_eq!(&masked[..4], &text[..4]);
        prop_assert_eq!(&masked[12..], &text[12..]);
        prop_assert_eq!(&masked[4..12], "********");
    }

    #[test]
    fn kk_number_built_from_a_real_district_date_and_serial_parses_and_round_trips(
        district in select(districts()),
        // Recording dates from 1926-01-01 (`26`, the first two digits read as last century)
        // up to today.
        days_ago in 0_i64..=36_325,
        serial in 1_u16..=9999,
    ) {
        let recorded_on = today() - TimeDelta::days(days_ago);
        let text = format!("{}{}{serial:04}", district.compact(), ddmmyy(recorded_on, Sex::Male));

        let kk = KkNumber::parse_at(&text, today())?;

        prop_assert_eq!(kk.recorded_on(), recorded_on);
        prop_assert_eq!(kk.region(), district);
        prop_assert_eq!(kk.as_str(), text.as_str());
    }

    #[test]
    fn every_region_parses_back_from_its_dotted_and_compact_forms(
        region in select(Regions::kemendagri().iter().collect::<Vec<_>>()),
    ) {
        prop_assert_eq!(RegionCode::parse(&region.dotted())?, region);
        prop_assert_eq!(RegionCode::parse(&region.compact())?, region);
        prop_assert!(region.province().contains(&region));
        prop_assert_eq!(Regions::kemendagri().name_of(&region.dotted()), Some(region.name()));
    }
}

#[test]
fn kk_window_in_the_property_starts_on_the_first_of_january_1926() {
    assert_eq!(today() - TimeDelta::days(36_325), date(1926, 1, 1));
}
