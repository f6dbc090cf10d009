use proptest::prelude::*;

use super::*;

fn date(year: i32, month: u32, day: u32) -> NaiveDate {
    match NaiveDate::from_ymd_opt(year, month, day) {
        Some(date) => date,
        None => panic!("not a date: {year}-{month}-{day}"),
    }
}

fn first(cadence: Cadence, on: NaiveDate) -> String {
    match Period::first_for(cadence, on) {
        Ok(period) => period.to_string(),
        Err(e) => panic!("no period for {on}: {e}"),
    }
}

#[test]
fn the_last_and_first_day_of_a_month_fall_in_their_own_months() {
    assert_eq!(first(Cadence::Monthly, date(2026, 10, 31)), "2026-10");
    assert_eq!(first(Cadence::Monthly, date(2026, 11, 1)), "2026-11");
    assert_eq!(first(Cadence::Monthly, date(2026, 11, 30)), "2026-11");
}

#[test]
fn new_years_eve_and_new_years_day_fall_in_different_years() {
    assert_eq!(first(Cadence::Monthly, date(2026, 12, 31)), "2026-12");
    assert_eq!(first(Cadence::Monthly, date(2027, 1, 1)), "2027-01");
    assert_eq!(first(Cadence::Quarterly, date(2026, 12, 31)), "2026-Q4");
    assert_eq!(first(Cadence::Quarterly, date(2027, 1, 1)), "2027-Q1");
}

#[test]
fn the_29th_of_february_is_in_february_and_the_first_quarter() {
    assert_eq!(first(Cadence::Monthly, date(2028, 2, 29)), "2028-02");
    assert_eq!(first(Cadence::Quarterly, date(2028, 2, 29)), "2028-Q1");
}

#[test]
fn each_quarter_starts_on_the_first_of_january_april_july_and_october() {
    let boundaries = [
        ((3, 31), "2026-Q1", (4, 1), "2026-Q2"),
        ((6, 30), "2026-Q2", (7, 1), "2026-Q3"),
        ((9, 30), "2026-Q3", (10, 1), "2026-Q4"),
    ];
    for ((m1, d1), before, (m2, d2), after) in boundaries {
        assert_eq!(first(Cadence::Quarterly, date(2026, m1, d1)), before);
        assert_eq!(first(Cadence::Quarterly, date(2026, m2, d2)), after);
    }
}

#[test]
fn a_yearly_period_is_the_calendar_year_from_the_first_of_january_to_new_years_eve() {
    assert_eq!(first(Cadence::Yearly, date(2026, 1, 1)), "2026");
    assert_eq!(first(Cadence::Yearly, date(2026, 7, 17)), "2026");
    assert_eq!(first(Cadence::Yearly, date(2026, 12, 31)), "2026");
    assert_eq!(first(Cadence::Yearly, date(2027, 1, 1)), "2027");
}

#[test]
fn a_yearly_period_is_written_with_four_digits() {
    assert_eq!(Period::yearly(2026).map(|p| p.to_string()), Ok("2026".to_owned()));
    assert_eq!(Period::yearly(7).map(|p| p.to_string()), Ok("0007".to_owned()));
    assert_eq!(Period::yearly(0), Err(PeriodError::YearOutOfRange(0)));
    assert_eq!(Period::yearly(10_000), Err(PeriodError::YearOutOfRange(10_000)));
}

#[test]
fn a_one_off_payment_has_the_single_period_once_whatever_the_date() {
    assert_eq!(first(Cadence::Once, date(2026, 11, 15)), "once");
    assert_eq!(first(Cadence::Once, date(1999, 1, 1)), "once");
}

#[test]
fn a_date_beyond_four_digit_years_has_no_period() {
    assert_eq!(
        Period::first_for(Cadence::Monthly, date(10_000, 1, 1)),
        Err(PeriodError::YearOutOfRange(10_000))
    );
}

#[test]
fn constructors_refuse_months_and_quarters_that_do_not_exist() {
    assert_eq!(Period::monthly(2026, 0), Err(PeriodError::MonthOutOfRange(0)));
    assert_eq!(Period::monthly(2026, 13), Err(PeriodError::MonthOutOfRange(13)));
    assert_eq!(Period::quarterly(2026, 5), Err(PeriodError::QuarterOutOfRange(5)));
    assert_eq!(Period::quarterly(0, 1), Err(PeriodError::YearOutOfRange(0)));
}

#[test]
fn each_period_knows_its_cadence() {
    assert_eq!(Period::parse("2026-11").map(Period::cadence), Ok(Cadence::Monthly));
    assert_eq!(Period::parse("2026-Q4").map(Period::cadence), Ok(Cadence::Quarterly));
    assert_eq!(Period::parse("2026").map(Period::cadence), Ok(Cadence::Yearly));
    assert_eq!(Period::parse("once").map(Period::cadence), Ok(Cadence::Once));
}

#[test]
fn only_the_canonical_spelling_of_a_period_parses() {
    for text in [
        "", "2026-1", "2026-011", "2026-13", "2026-00", "2026-q4", "2026-Q0", "2026-Q5", "2026-Q12", "26-11",
        "02026-11", "+026-11", "0000-01", "2026-11 ", " 2026-11", "ONCE", "Once", "2026/11", "2026-Q", "2026-", "26",
        "202", "02026", "0000", "+026", "2026 ", "2026-Y", "Y2026",
    ] {
        assert_eq!(
            Period::parse(text),
            Err(PeriodError::Malformed(text.to_owned())),
            "{text:?}"
        );
    }
}

#[test]
fn a_malformed_period_says_what_is_expected() {
    assert_eq!(
        Period::parse("2026-1").map_err(|e| e.to_string()),
        Err(
            "\"2026-1\" is not a payment period: use YYYY-MM (monthly), YYYY-Qn (quarterly), \
             YYYY (yearly) or once"
                .to_owned()
        )
    );
}

#[test]
fn cadences_parse_from_their_names_only() {
    for cadence in [Cadence::Monthly, Cadence::Quarterly, Cadence::Yearly, Cadence::Once] {
        assert_eq!(Cadence::parse(cadence.as_str()), Ok(cadence));
    }
    assert_eq!(
        Cadence::parse("weekly").map_err(|e| e.to_string()),
        Err("\"weekly\" is not a payment cadence (one of: monthly, quarterly, yearly, once)".to_owned())
    );
    assert_eq!(Cadence::parse("Monthly"), Err(UnknownCadence("Monthly".to_owned())));
}

proptest! {
    #[test]
    fn every_monthly_period_round_trips_through_its_text(year in 1..=9999i32, month in 1..=12u32) {
        let period = Period::monthly(year, month)?;
        prop_assert_eq!(Period::parse(&period.to_string()), Ok(period));
    }

    #[test]
    fn every_quarterly_period_round_trips_through_its_text(year in 1..=9999i32, quarter in 1..=4u32) {
        let period = Period::quarterly(year, quarter)?;
        prop_assert_eq!(Period::parse(&period.to_string()), Ok(period));
    }

    #[test]
    fn every_yearly_period_round_trips_through_its_text(year in 1..=9999i32) {
        let period = Period::yearly(year)?;
        prop_assert_eq!(Period::parse(&period.to_string()), Ok(period));
    }

    #[test]
    fn the_first_period_for_a_date_contains_that_date(days in 0..3_000_000i64) {
        let on = date(1, 1, 1) + chrono::Duration::days(days);
        prop_assume!(on.year() <= 9999);
        prop_assert_eq!(first(Cadence::Monthly, on), on.format("%Y-%m").to_string());
        let quarter = (on.month() - 1) / 3 + 1;
        prop_assert_eq!(
            first(Cadence::Quarterly, on),
            format!("{:04}-Q{quarter}", on.year())
        );
        prop_assert_eq!(first(Cadence::Yearly, on), format!("{:04}", on.year()));
    }
}

#[test]
fn a_quarter_runs_from_its_first_to_its_last_day_and_is_followed_by_the_next() -> Result<(), PeriodError> {
    let q4 = Period::quarterly(2026, 4)?;
    assert_eq!(q4.start(), Some(date(2026, 10, 1)));
    assert_eq!(q4.end(), Some(date(2026, 12, 31)));
    assert_eq!(q4.next().map(|p| p.to_string()).as_deref(), Some("2027-Q1"));
    let february = Period::monthly(2028, 2)?;
    assert_eq!(february.end(), Some(date(2028, 2, 29)));
    assert_eq!(Period::ONCE.start(), None);
    Ok(())
}

#[test]
fn the_periods_overlapping_a_span_include_both_partial_ends() {
    let names = |periods: Vec<Period>| periods.iter().map(ToString::to_string).collect::<Vec<_>>();
    assert_eq!(
        names(Period::overlapping(
            Cadence::Quarterly,
            date(2026, 9, 30),
            date(2027, 1, 1)
        )),
        ["2026-Q3", "2026-Q4", "2027-Q1"]
    );
    assert_eq!(
        names(Period::overlapping(
            Cadence::Monthly,
            date(2026, 11, 5),
            date(2026, 11, 6)
        )),
        ["2026-11"]
    );
    assert!(Period::overlapping(Cadence::Monthly, date(2026, 11, 6), date(2026, 11, 5)).is_empty());
    assert!(Period::overlapping(Cadence::Once, date(2026, 1, 1), date(2027, 1, 1)).is_empty());
}
