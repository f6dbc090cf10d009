use super::*;
use crate::domain::ReferralStatus;

const CALENDAR: &str = r#"
    name = "test"
    utc_offset = "+07:00"
    years = [2026]
    [[days]]
    date = "2026-12-24"
    name = "Cuti bersama Natal"
    [[days]]
    date = "2026-12-25"
    name = "Natal"
"#;

const POLICY: &str = r#"
    version = "t1"
    first_response_working_days = 3
    [resolution_working_days]
    information = 5
    dispute = 14
    field = 60
    [[escalation]]
    role = "KOORDINATOR_PUSKESOS"
    name = "Koordinator Puskesos"
    after_working_days = 0
    [[escalation]]
    role = "MANAJER_SLRT"
    name = "Manajer SLRT"
    after_working_days = 2
"#;

fn sla() -> Sla {
    Sla {
        policy: SlaPolicy::parse(POLICY).unwrap_or_else(|e| panic!("{e}")),
        calendar: WorkingCalendar::parse(CALENDAR).unwrap_or_else(|e| panic!("{e}")),
    }
}

/// A local (UTC+7) time.
fn wib(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_str(&format!("{text} +0700"), "%Y-%m-%d %H:%M %z")
        .unwrap_or_else(|e| panic!("{text}: {e}"))
        .to_utc()
}

#[test]
fn three_working_days_from_a_monday_end_with_thursday() {
    // Monday 23 November 2026, mid-morning: Tue, Wed, Thu count; due at Friday 00:00 WIB.
    let terms = sla().terms(SlaTier::Information, wib("2026-11-23 10:00"), None);
    assert_eq!(terms.response_due_at, wib("2026-11-27 00:00"));
    // Five working days: Tue..Fri, then Monday 30th.
    assert_eq!(terms.resolution_due_at, wib("2026-12-01 00:00"));
}

#[test]
fn weekends_and_holidays_do_not_count() {
    // Requested Wednesday 23 December: Thu 24 (cuti bersama) and Fri 25 (Christmas) are
    // holidays, Sat/Sun are weekend; Mon 28, Tue 29, Wed 30 count.
    let terms = sla().terms(SlaTier::Information, wib("2026-12-23 16:00"), None);
    assert_eq!(terms.response_due_at, wib("2026-12-31 00:00"));
}

#[test]
fn a_request_late_on_friday_night_local_time_counts_from_friday() {
    // 23:30 WIB on Friday is 16:30 UTC the same Friday; the local day decides.
    let terms = sla().terms(SlaTier::Information, wib("2026-11-27 23:30"), None);
    assert_eq!(terms.response_due_at, wib("2026-12-03 00:00"));
}

#[test]
fn a_rerouted_need_keeps_its_first_resolution_date() {
    let first = wib("2026-11-02 09:00");
    let terms = sla().terms(SlaTier::Dispute, wib("2026-11-23 09:00"), Some(first));
    assert_eq!(terms.need_referred_at, first);
    assert_eq!(
        terms.resolution_due_at,
        sla().terms(SlaTier::Dispute, first, None).resolution_due_at
    );
    // The response clock is the new agency's own.
    assert_eq!(terms.response_due_at, wib("2026-11-27 00:00"));
}

#[test]
fn the_tiers_take_5_14_and_60_working_days() {
    let sla = sla();
    let start = wib("2026-01-05 08:00");
    for (tier, days) in [(SlaTier::Information, 5), (SlaTier::Dispute, 14), (SlaTier::Field, 60)] {
        let due = sla.terms(tier, start, None).resolution_due_at;
        assert_eq!(sla.calendar.working_days_between(start, due), days, "{tier}");
    }
}

#[test]
fn lateness_is_counted_in_working_days_past_the_deadline() {
    let calendar = sla().calendar;
    let due = wib("2026-11-27 00:00"); // the end of Thursday 26th
    assert_eq!(calendar.working_days_late(due, wib("2026-11-26 23:59")), 0);
    assert_eq!(calendar.working_days_late(due, wib("2026-11-27 12:00")), 0);
    assert_eq!(calendar.working_days_late(due, wib("2026-11-28 00:00")), 1); // Friday ended
    assert_eq!(calendar.working_days_late(due, wib("2026-11-30 09:00")), 1); // the weekend does not count
    assert_eq!(calendar.working_days_late(due, wib("2026-12-01 00:00")), 2);
}

#[test]
fn escalation_steps_follow_the_deadline_by_their_working_days() {
    let sla = sla();
    let due = wib("2026-11-27 00:00");
    assert_eq!(sla.escalation_time(due, 1), Some(due));
    // Two working days after Thursday: Friday and Monday, so at Tuesday 00:00.
    assert_eq!(sla.escalation_time(due, 2), Some(wib("2026-12-01 00:00")));
    assert_eq!(sla.escalation_time(due, 3), None);
}

#[test]
fn a_calendar_with_a_mistake_is_refused_naming_the_entry() {
    let bad_date = CALENDAR.replace("2026-12-24", "2026-13-01");
    assert_eq!(
        WorkingCalendar::parse(&bad_date).err().map(|e| e.0),
        Some("days[0].date: \"2026-13-01\" is not a date YYYY-MM-DD".into())
    );
    let other_year = CALENDAR.replace("2026-12-24", "2027-01-01");
    assert_eq!(
        WorkingCalendar::parse(&other_year).err().map(|e| e.0),
        Some("days[0].date: 2027-01-01 is outside the calendar's years".into())
    );
    let twice = CALENDAR.replace("2026-12-25", "2026-12-24");
    assert_eq!(
        WorkingCalendar::parse(&twice).err().map(|e| e.0),
        Some("days[1].date: 2026-12-24 is listed twice".into())
    );
    let zone = CALENDAR.replace("+07:00", "WIB");
    assert_eq!(
        WorkingCalendar::parse(&zone).err().map(|e| e.0),
        Some("utc_offset: \"WIB\" is not an offset such as +07:00".into())
    );
}

#[test]
fn a_policy_with_a_mistake_is_refused_naming_the_entry() {
    let missing_tier = POLICY.replace("field = 60\n", "");
    assert_eq!(
        SlaPolicy::parse(&missing_tier).err().map(|e| e.0),
        Some("resolution_working_days.field: is missing".into())
    );
    let unknown_tier = POLICY.replace("field = 60", "field = 60\n    urgent = 1");
    assert_eq!(
        SlaPolicy::parse(&unknown_tier).err().map(|e| e.0),
        Some(
            "resolution_working_days.urgent: \"urgent\" is not an SLA tier (one of: information, dispute, field)"
                .into()
        )
    );
    let out_of_order = POLICY.replace("after_working_days = 2", "after_working_days = 0");
    assert_eq!(
        SlaPolicy::parse(&out_of_order).err().map(|e| e.0),
        Some("escalation[1].after_working_days: must be later than the step before (0)".into())
    );
}

#[test]
fn the_shipped_policy_and_calendar_load() {
    let policy = SlaPolicy::parse(include_str!("../../../data/sla.toml")).unwrap_or_else(|e| panic!("{e}"));
    let roles: Vec<&str> = policy.chain().iter().map(|step| step.role.as_str()).collect();
    assert_eq!(roles, ["KOORDINATOR_PUSKESOS", "MANAJER_SLRT", "KEPALA_DINAS", "TKPKD"]);
    assert_eq!(policy.resolution_working_days(SlaTier::Field), 60);
    let calendar =
        WorkingCalendar::parse(include_str!("../../../data/holidays.toml")).unwrap_or_else(|e| panic!("{e}"));
    // Idul Fitri 1447 H: cuti bersama on Friday 20 March 2026.
    assert!(!calendar.is_working_day(NaiveDate::from_ymd_opt(2026, 3, 20).unwrap_or_default()));
    assert!(calendar.is_working_day(NaiveDate::from_ymd_opt(2026, 3, 25).unwrap_or_default()));
    assert!(calendar.covers(2026));
}

#[test]
fn an_open_referral_is_overdue_on_the_clock_that_ran_out() {
    let response = wib("2026-11-27 00:00");
    let resolution = wib("2026-12-01 00:00");
    let judge = |status, now| SlaState::of(status, response, resolution, None, wib(now));
    assert_eq!(judge(ReferralStatus::Requested, "2026-11-26 23:00"), SlaState::OnTrack);
    assert_eq!(
        judge(ReferralStatus::Requested, "2026-11-27 00:00"),
        SlaState::ResponseOverdue
    );
    // An answer stops the response clock; only the resolution deadline is left.
    assert_eq!(
        judge(ReferralStatus::Acknowledged, "2026-11-27 09:00"),
        SlaState::OnTrack
    );
    assert_eq!(
        judge(ReferralStatus::InProgress, "2026-12-01 09:00"),
        SlaState::ResolutionOverdue
    );
}

#[test]
fn a_closed_referral_met_or_missed_the_deadline_of_how_it_closed() {
    let response = wib("2026-11-27 00:00");
    let resolution = wib("2026-12-01 00:00");
    let judge = |status, closed| SlaState::of(status, response, resolution, Some(wib(closed)), wib("2027-01-01 00:00"));
    assert_eq!(judge(ReferralStatus::Completed, "2026-11-30 15:00"), SlaState::Met);
    assert_eq!(judge(ReferralStatus::Completed, "2026-12-01 08:00"), SlaState::Missed);
    assert_eq!(judge(ReferralStatus::Rejected, "2026-11-26 08:00"), SlaState::Met);
    assert_eq!(judge(ReferralStatus::Transferred, "2026-11-30 08:00"), SlaState::Missed);
}
