//! SLA clocks: how long an agency has to respond to a referral and to resolve the need, in
//! working days, and who hears about it when it is late.
//!
//! Two clocks run for every referral (DOMAIN.md §3, after SP4N-LAPOR!):
//! - **response**: from the referral's request until the agency acknowledges, accepts,
//!   rejects or transfers it; 3 working days.
//! - **resolution**: from the need's *first* referral until it is completed; 5, 14 or 60
//!   working days by the service's [`SlaTier`]. A re-routed need keeps its first date, so
//!   passing a need on never buys time.
//!
//! A deadline of N working days is the end of the Nth working day after the day the clock
//! started (that day does not count), in the calendar's time zone. Working days are Monday
//! to Friday minus the holidays of the [`WorkingCalendar`] (national holidays and cuti
//! bersama, kept as data).
//!
//! A missed deadline climbs the [`SlaPolicy`]'s escalation chain: step 1 when it is missed,
//! each further step a configured number of working days later.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, TimeDelta, TimeZone, Utc, Weekday};
use serde::Deserialize;

use super::referral::ReferralStatus;

/// How long a service may take to resolve a need (DOMAIN.md §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SlaTier {
    /// Information or a simple complaint: 5 working days.
    Information,
    /// A dispute settled without a field check: 14 working days.
    Dispute,
    /// A field investigation (a home visit, a survey): 60 working days.
    Field,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("\"{0}\" is not an SLA tier (one of: information, dispute, field)")]
pub struct UnknownSlaTier(pub String);

impl SlaTier {
    pub const ALL: [Self; 3] = [Self::Information, Self::Dispute, Self::Field];

    pub fn parse(code: &str) -> Result<Self, UnknownSlaTier> {
        Self::ALL
            .into_iter()
            .find(|tier| tier.as_str() == code)
            .ok_or_else(|| UnknownSlaTier(code.to_owned()))
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Information => "information",
            Self::Dispute => "dispute",
            Self::Field => "field",
        }
    }
}

impl fmt::Display for SlaTier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which of a referral's two clocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SlaClock {
    Response,
    Resolution,
}

impl SlaClock {
    pub const ALL: [Self; 2] = [Self::Response, Self::Resolution];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Response => "response",
            Self::Resolution => "resolution",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|clock| clock.as_str() == code)
    }
}

impl fmt::Display for SlaClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The deadlines a referral was given when it was requested. Fixed then, so that a later
/// change of calendar or policy never moves a promise already made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlaTerms {
    pub tier: SlaTier,
    /// When this referral was requested: the response clock starts here.
    pub requested_at: DateTime<Utc>,
    /// When the need was first referred: the resolution clock starts here.
    pub need_referred_at: DateTime<Utc>,
    pub response_due_at: DateTime<Utc>,
    pub resolution_due_at: DateTime<Utc>,
}

impl SlaTerms {
    pub fn due_at(&self, clock: SlaClock) -> DateTime<Utc> {
        match clock {
            SlaClock::Response => self.response_due_at,
            SlaClock::Resolution => self.resolution_due_at,
        }
    }
}

/// Working days and holidays of the region, in its time zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkingCalendar {
    name: String,
    zone: FixedOffset,
    /// The years whose holidays the calendar lists; outside them only weekends are known.
    years: BTreeSet<i32>,
    holidays: BTreeMap<NaiveDate, String>,
}

/// Why a calendar or a policy file was refused; the message names the entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SlaConfigError(pub String);

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCalendar {
    name: String,
    utc_offset: String,
    years: Vec<i32>,
    #[serde(default)]
    days: Vec<RawHoliday>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHoliday {
    date: String,
    name: String,
}

// Far enough for any deadline (60 working days) and any age a supervisor asks about; a
// bound so that a nonsense date cannot spin a loop for ever.
const MAX_DAYS_COUNTED: u32 = 20 * 366;

impl WorkingCalendar {
    pub fn parse(text: &str) -> Result<Self, SlaConfigError> {
        let raw: RawCalendar =
            toml::from_str(text).map_err(|e| SlaConfigError(format!("calendar is not valid: {e}")))?;
        let name = raw.name.trim().to_owned();
        if name.is_empty() {
            return Err(SlaConfigError("name: must not be empty".into()));
        }
        let zone = parse_offset(&raw.utc_offset).ok_or_else(|| {
            SlaConfigError(format!(
                "utc_offset: \"{}\" is not an offset such as +07:00",
                raw.utc_offset
            ))
        })?;
        if raw.years.is_empty() {
            return Err(SlaConfigError("years: name the years whose holidays are listed".into()));
        }
        let years: BTreeSet<i32> = raw.years.into_iter().collect();
        let mut holidays = BTreeMap::new();
        for (index, day) in raw.days.into_iter().enumerate() {
            let date = NaiveDate::parse_from_str(&day.date, "%Y-%m-%d").map_err(|_| {
                SlaConfigError(format!("days[{index}].date: \"{}\" is not a date YYYY-MM-DD", day.date))
            })?;
            if !years.contains(&date.year()) {
                return Err(SlaConfigError(format!(
                    "days[{index}].date: {date} is outside the calendar's years"
                )));
            }
            let day_name = day.name.trim();
            if day_name.is_empty() {
                return Err(SlaConfigError(format!("days[{index}].name: must not be empty")));
            }
            if holidays.insert(date, day_name.to_owned()).is_some() {
                return Err(SlaConfigError(format!("days[{index}].date: {date} is listed twice")));
            }
        }
        Ok(Self {
            name,
            zone,
            years,
            holidays,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn zone(&self) -> FixedOffset {
        self.zone
    }

    /// Whether the calendar knows the holidays of `year`; deadlines in other years count
    /// weekends only, which start-up reports.
    pub fn covers(&self, year: i32) -> bool {
        self.years.contains(&year)
    }

    pub fn is_working_day(&self, date: NaiveDate) -> bool {
        !matches!(date.weekday(), Weekday::Sat | Weekday::Sun) && !self.holidays.contains_key(&date)
    }

    pub fn local_date(&self, time: DateTime<Utc>) -> NaiveDate {
        time.with_timezone(&self.zone).date_naive()
    }

    /// The first instant of `date` in the calendar's zone.
    fn start_of(&self, date: NaiveDate) -> DateTime<Utc> {
        // A fixed offset has no gaps or folds: every local midnight exists exactly once.
        self.zone
            .from_local_datetime(&date.and_time(chrono::NaiveTime::MIN))
            .single()
            .map_or_else(|| date.and_time(chrono::NaiveTime::MIN).and_utc(), |time| time.to_utc())
    }

    /// The end of the `working_days`th working day after the day of `from` (which does not
    /// count); with 0, the end of the day of `from` itself.
    pub fn deadline(&self, from: DateTime<Utc>, working_days: u32) -> DateTime<Utc> {
        let mut date = self.local_date(from);
        let mut left = working_days;
        let mut counted = 0;
        while left > 0 && counted < MAX_DAYS_COUNTED {
            date = date.succ_opt().unwrap_or(date);
            counted += 1;
            if self.is_working_day(date) {
                left -= 1;
            }
        }
        self.start_of(date.succ_opt().unwrap_or(date))
    }

    /// Working days after the day of `from` that have ended by `to`: a referral's age, or
    /// (from a deadline) how late it is.
    pub fn working_days_between(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> u32 {
        let mut date = self.local_date(from);
        let mut count = 0;
        for _ in 0..MAX_DAYS_COUNTED {
            let Some(next) = date.succ_opt() else { break };
            date = next;
            let Some(end) = date.succ_opt().map(|after| self.start_of(after)) else {
                break;
            };
            if end > to {
                break;
            }
            if self.is_working_day(date) {
                count += 1;
            }
        }
        count
    }

    /// Working days a deadline has been missed by at `now` (0 when it has not).
    pub fn working_days_late(&self, due_at: DateTime<Utc>, now: DateTime<Utc>) -> u32 {
        // A deadline is the first instant of the day after the last allowed one.
        self.working_days_between(due_at - TimeDelta::microseconds(1), now)
    }
}

fn parse_offset(text: &str) -> Option<FixedOffset> {
    let (sign, rest) = match text.as_bytes().first()? {
        b'+' => (1, &text[1..]),
        b'-' => (-1, &text[1..]),
        _ => return None,
    };
    let (hours, minutes) = rest.split_once(':')?;
    if hours.len() != 2 || minutes.len() != 2 {
        return None;
    }
    let seconds = hours.parse::<i32>().ok()? * 3600 + minutes.parse::<i32>().ok()? * 60;
    FixedOffset::east_opt(sign * seconds)
}

/// One step of the escalation chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EscalationStep {
    /// 1 for the first step.
    pub level: u32,
    /// A role code, e.g. MANAJER_SLRT.
    pub role: String,
    /// The role as people call it, e.g. "Manajer SLRT".
    pub name: String,
    /// Working days after the missed deadline at which this step is reached.
    pub after_working_days: u32,
}

/// How long each clock runs and who is told when it runs out (data: `data/sla.toml`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlaPolicy {
    version: String,
    response_working_days: u32,
    resolution_working_days: BTreeMap<SlaTier, u32>,
    chain: Vec<EscalationStep>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    version: String,
    first_response_working_days: u32,
    resolution_working_days: BTreeMap<String, u32>,
    escalation: Vec<RawStep>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStep {
    role: String,
    name: String,
    after_working_days: u32,
}

impl SlaPolicy {
    pub fn parse(text: &str) -> Result<Self, SlaConfigError> {
        let raw: RawPolicy =
            toml::from_str(text).map_err(|e| SlaConfigError(format!("SLA policy is not valid: {e}")))?;
        let version = raw.version.trim().to_owned();
        if version.is_empty() {
            return Err(SlaConfigError("version: must not be empty".into()));
        }
        if raw.first_response_working_days == 0 {
            return Err(SlaConfigError("first_response_working_days: must be at least 1".into()));
        }
        let mut resolution_working_days = BTreeMap::new();
        for (code, days) in raw.resolution_working_days {
            let tier =
                SlaTier::parse(&code).map_err(|e| SlaConfigError(format!("resolution_working_days.{code}: {e}")))?;
            if days == 0 {
                return Err(SlaConfigError(format!(
                    "resolution_working_days.{code}: must be at least 1"
                )));
            }
            resolution_working_days.insert(tier, days);
        }
        if let Some(missing) = SlaTier::ALL
            .into_iter()
            .find(|tier| !resolution_working_days.contains_key(tier))
        {
            return Err(SlaConfigError(format!("resolution_working_days.{missing}: is missing")));
        }
        if raw.escalation.is_empty() {
            return Err(SlaConfigError("escalation: the chain needs at least one step".into()));
        }
        let mut chain: Vec<EscalationStep> = Vec::with_capacity(raw.escalation.len());
        for (index, step) in raw.escalation.into_iter().enumerate() {
            let role = step.role.trim();
            let well_formed = !role.is_empty()
                && role
                    .bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
            if !well_formed {
                return Err(SlaConfigError(format!(
                    "escalation[{index}].role: \"{role}\" is not a role code such as MANAJER_SLRT"
                )));
            }
            if step.name.trim().is_empty() {
                return Err(SlaConfigError(format!("escalation[{index}].name: must not be empty")));
            }
            if let Some(before) = chain.last()
                && step.after_working_days <= before.after_working_days
            {
                return Err(SlaConfigError(format!(
                    "escalation[{index}].after_working_days: must be later than the step before ({})",
                    before.after_working_days
                )));
            }
            chain.push(EscalationStep {
                level: u32::try_from(index + 1).unwrap_or(u32::MAX),
                role: role.to_owned(),
                name: step.name.trim().to_owned(),
                after_working_days: step.after_working_days,
            });
        }
        Ok(Self {
            version,
            response_working_days: raw.first_response_working_days,
            resolution_working_days,
            chain,
        })
    }

    pub fn version(&self) -> &str {
        &self.version
    }

    pub fn chain(&self) -> &[EscalationStep] {
        &self.chain
    }

    pub fn step(&self, level: u32) -> Option<&EscalationStep> {
        self.chain.iter().find(|step| step.level == level)
    }

    pub fn resolution_working_days(&self, tier: SlaTier) -> u32 {
        self.resolution_working_days.get(&tier).copied().unwrap_or(60)
    }
}

/// Where a referral stands against its deadlines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SlaState {
    /// Open, no deadline passed.
    OnTrack,
    /// Still waiting for the agency's first answer after the response deadline.
    ResponseOverdue,
    /// Open after the resolution deadline.
    ResolutionOverdue,
    /// Closed within its deadline: completed or revoked before the resolution deadline, or
    /// declined or passed on before the response deadline.
    Met,
    /// Closed after it.
    Missed,
}

impl SlaState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::OnTrack => "on_track",
            Self::ResponseOverdue => "response_overdue",
            Self::ResolutionOverdue => "resolution_overdue",
            Self::Met => "met",
            Self::Missed => "missed",
        }
    }

    /// Judges a referral at `now` (the service clock).
    pub fn of(
        status: ReferralStatus,
        response_due_at: DateTime<Utc>,
        resolution_due_at: DateTime<Utc>,
        closed_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Self {
        if status.is_open() {
            return if status.runs(SlaClock::Response) && now >= response_due_at {
                Self::ResponseOverdue
            } else if now >= resolution_due_at {
                Self::ResolutionOverdue
            } else {
                Self::OnTrack
            };
        }
        let deadline = match status {
            // Declining or passing on is the agency's answer: judged by the response clock.
            ReferralStatus::Rejected | ReferralStatus::Transferred => response_due_at,
            _ => resolution_due_at,
        };
        match closed_at {
            Some(closed) if closed >= deadline => Self::Missed,
            _ => Self::Met,
        }
    }
}

/// The policy and the calendar together: everything needed to set and follow deadlines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sla {
    pub policy: SlaPolicy,
    pub calendar: WorkingCalendar,
}

impl Sla {
    /// Deadlines for a referral requested at `requested_at`, for a need first referred at
    /// `need_referred_at` (`None`: this is the first referral).
    pub fn terms(
        &self,
        tier: SlaTier,
        requested_at: DateTime<Utc>,
        need_referred_at: Option<DateTime<Utc>>,
    ) -> SlaTerms {
        let need_referred_at = need_referred_at.unwrap_or(requested_at);
        SlaTerms {
            tier,
            requested_at,
            need_referred_at,
            response_due_at: self.calendar.deadline(requested_at, self.policy.response_working_days),
            resolution_due_at: self
                .calendar
                .deadline(need_referred_at, self.policy.resolution_working_days(tier)),
        }
    }

    /// When escalation step `level` of a clock due at `due_at` is reached; `None` past the
    /// end of the chain.
    pub fn escalation_time(&self, due_at: DateTime<Utc>, level: u32) -> Option<DateTime<Utc>> {
        let step = self.policy.step(level)?;
        // The deadline is the start of a day; counting starts from the last day allowed.
        Some(
            self.calendar
                .deadline(due_at - TimeDelta::microseconds(1), step.after_working_days),
        )
    }
}

#[cfg(test)]
mod tests;
