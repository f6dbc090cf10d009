//! The bank's clock and how its times are written.

use chrono::{DateTime, SecondsFormat, SubsecRound, Utc};

/// Now, to the microsecond: the precision times are written with, so that a time read
/// from a receipt or statement and passed back (a statement's `since`) is exactly the time
/// recorded.
pub fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

/// RFC 3339 in UTC with microseconds, e.g. `2026-10-01T09:00:00.123456Z`.
pub fn rfc3339(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// Reads an RFC 3339 time in any offset.
pub fn parse_rfc3339(value: &str) -> Result<DateTime<Utc>, chrono::ParseError> {
    DateTime::parse_from_rfc3339(value).map(|time| time.with_timezone(&Utc))
}
