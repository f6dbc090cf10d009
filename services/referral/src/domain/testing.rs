//! Fixtures shared by the domain's unit tests.

use chrono::{DateTime, Utc};

use super::sla::{Sla, SlaPolicy, SlaTerms, SlaTier, WorkingCalendar};

/// The shipped policy and calendar.
pub fn sla() -> Sla {
    Sla {
        policy: SlaPolicy::parse(include_str!("../../data/sla.toml")).unwrap_or_else(|e| panic!("{e}")),
        calendar: WorkingCalendar::parse(include_str!("../../data/holidays.toml")).unwrap_or_else(|e| panic!("{e}")),
    }
}

/// Monday 23 November 2026, 10:00 WIB.
pub fn monday() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-23T10:00:00+07:00")
        .unwrap_or_else(|e| panic!("{e}"))
        .to_utc()
}

/// Field-tier deadlines for a referral requested on [`monday`].
pub fn terms() -> SlaTerms {
    sla().terms(SlaTier::Field, monday(), None)
}
