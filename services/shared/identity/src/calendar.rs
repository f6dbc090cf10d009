//! Dates as NIK and KK numbers write them: `DDMMYY`, with the century left to the reader.

use chrono::{Datelike, NaiveDate, TimeDelta, Utc};

/// Today's date at the eastern end of Indonesia (WIT, UTC+9).
///
/// The latest calendar date anywhere in the country, so that a KK recorded today in Jayapura
/// is not "in the future" for a server running on UTC or WIB.
pub fn today_in_indonesia() -> NaiveDate {
    (Utc::now() + TimeDelta::hours(9)).date_naive()
}

/// The year a two-digit `yy` stands for, seen from `today`: in the current century when `yy`
/// is not past this year's two digits, else in the previous one (`87` in 2025 is 1987, `25`
/// is 2025).
pub(crate) fn year_from_two_digits(yy: u8, today: NaiveDate) -> i32 {
    let century = today.year().div_euclid(100) * 100;
    let this_yy = today.year().rem_euclid(100);
    let yy = i32::from(yy);
    if yy <= this_yy {
        century + yy
    } else {
        century - 100 + yy
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type TestResult = Result<(), Box<dyn std::error::Error>>;

    #[test]
    fn a_two_digit_year_up_to_this_year_is_in_this_century() -> TestResult {
        let today: NaiveDate = "2025-06-15".parse()?;
        assert_eq!(year_from_two_digits(0, today), 2000);
        assert_eq!(year_from_two_digits(25, today), 2025);
        Ok(())
    }

    #[test]
    fn a_two_digit_year_after_this_year_is_in_the_last_century() -> TestResult {
        let today: NaiveDate = "2025-06-15".parse()?;
        assert_eq!(year_from_two_digits(26, today), 1926);
        assert_eq!(year_from_two_digits(87, today), 1987);
        assert_eq!(year_from_two_digits(99, today), 1999);
        Ok(())
    }
}
