//! What ends, holds and releases do to an entitlement's payments, and the component cap.
//!
//! Pure: the app reads the entitlement's payments, these functions say which keys change,
//! and the app records that. Two rules run through all of them:
//! - a payment released to the bank is out of reach: only the bank's answer changes it;
//! - a payment is never re-keyed: it is stopped, held or owed again under the key it has.

use chrono::NaiveDate;

use super::payment_key::PaymentKey;
use super::period::{Cadence, Period};

/// Where one of an entitlement's payments stands, as far as the lifecycle cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentState {
    pub key: PaymentKey,
    pub stage: Stage,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Instructed, not released yet (in a prepared batch or in none).
    Instructed,
    /// Held, when it was decided or at a batch's release; not paid.
    Held,
    /// Stopped for ever.
    Stopped,
    /// Released to the bank (sent or about to be): out of the lifecycle's reach.
    Released,
}

/// The keys an end stops: every payment not released yet whose period starts after
/// `ended_on`. The period holding `ended_on` is still owed: the enrolment covered part of it.
pub fn stopped_by_end(payments: &[PaymentState], ended_on: NaiveDate) -> Vec<PaymentKey> {
    payments
        .iter()
        .filter(|payment| matches!(payment.stage, Stage::Instructed | Stage::Held))
        .filter(|payment| payment.key.period().start().is_some_and(|start| start > ended_on))
        .map(|payment| payment.key.clone())
        .collect()
}

/// The keys a hold from `held_from` holds: every instructed payment not released yet whose
/// period has a day on or after `held_from`. A one-off payment has no dates and is held.
pub fn held_by_hold(payments: &[PaymentState], held_from: NaiveDate) -> Vec<PaymentKey> {
    payments
        .iter()
        .filter(|payment| payment.stage == Stage::Instructed)
        .filter(|payment| payment.key.period().end().is_none_or(|end| end >= held_from))
        .map(|payment| payment.key.clone())
        .collect()
}

/// What lifting a hold does.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HoldLifted {
    /// Held payments owed again under their keys (arrears).
    pub arrears: Vec<PaymentKey>,
    /// Held payments that will not be paid (the hold was right, nothing is owed).
    pub stopped: Vec<PaymentKey>,
    /// Periods of the hold the entitlement covered and that have no payment at all: to be
    /// instructed now, as arrears.
    pub to_instruct: Vec<Period>,
}

/// The entitlement's dates, for deciding which periods it covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Coverage {
    pub cadence: Cadence,
    pub first_period: Period,
    pub ended_on: Option<NaiveDate>,
}

impl Coverage {
    fn covers(&self, period: Period) -> bool {
        let Some(start) = period.start() else { return false };
        let from = self.first_period.start().is_none_or(|first| start >= first);
        let until = self.ended_on.is_none_or(|ended_on| start <= ended_on);
        from && until
    }
}

/// Lifting a hold of `held_from..=released_on`: with `arrears_due` every payment held for a
/// period of the hold is owed again and every period of the hold the entitlement covered but
/// never instructed is instructed; without, the held payments are stopped.
pub fn lift_hold(
    payments: &[PaymentState],
    coverage: Coverage,
    held_from: NaiveDate,
    released_on: NaiveDate,
    arrears_due: bool,
) -> HoldLifted {
    let in_hold = |period: Period| match (period.start(), period.end()) {
        (Some(start), Some(end)) => end >= held_from && start <= released_on,
        // A one-off payment held during the hold belongs to it.
        _ => true,
    };
    let held: Vec<PaymentKey> = payments
        .iter()
        .filter(|payment| payment.stage == Stage::Held && in_hold(payment.key.period()))
        .map(|payment| payment.key.clone())
        .collect();
    if !arrears_due {
        return HoldLifted {
            stopped: held,
            ..HoldLifted::default()
        };
    }
    let to_instruct = Period::overlapping(coverage.cadence, held_from, released_on)
        .into_iter()
        .filter(|period| coverage.covers(*period))
        .filter(|period| !payments.iter().any(|payment| payment.key.period() == *period))
        .collect();
    HoldLifted {
        arrears: held,
        stopped: Vec::new(),
        to_instruct,
    }
}

/// Why an accepted referral opens no entitlement.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{beneficiary_id} already has {cap} open {programme} components ({open}); a programme pays at most {cap} \
     components per family, so {component} is not opened"
)]
pub struct CapReached {
    pub programme: String,
    pub beneficiary_id: String,
    pub component: String,
    pub cap: u32,
    pub open: String,
}

/// Whether one more `component` fits under the programme's `cap` for a beneficiary whose
/// open components are `open`. A component the beneficiary already has is not a new one:
/// its payments share keys with the open one, and the key decides.
pub fn check_cap(
    programme: &str,
    beneficiary_id: &str,
    component: &str,
    open: &[String],
    cap: Option<u32>,
) -> Result<(), CapReached> {
    let Some(cap) = cap else { return Ok(()) };
    let mut distinct: Vec<&str> = open.iter().map(String::as_str).collect();
    distinct.sort_unstable();
    distinct.dedup();
    if distinct.contains(&component) || distinct.len() < usize::try_from(cap).unwrap_or(usize::MAX) {
        return Ok(());
    }
    Err(CapReached {
        programme: programme.to_owned(),
        beneficiary_id: beneficiary_id.to_owned(),
        component: component.to_owned(),
        cap,
        open: distinct.join(", "),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    fn payment(period: &str, stage: Stage) -> PaymentState {
        let key = PaymentKey::parse(&format!("PKH:{period}:hh-1:child_0_6")).unwrap_or_else(|e| panic!("{e}"));
        PaymentState { key, stage }
    }

    fn periods(keys: &[PaymentKey]) -> Vec<String> {
        keys.iter().map(|key| key.period().to_string()).collect()
    }

    fn quarter(text: &str) -> Period {
        Period::parse(text).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn an_end_stops_the_unreleased_periods_that_start_after_it_and_leaves_the_rest() {
        let payments = [
            payment("2026-Q3", Stage::Released),
            payment("2026-Q4", Stage::Instructed),
            payment("2027-Q1", Stage::Instructed),
            payment("2027-Q2", Stage::Held),
            payment("2027-Q3", Stage::Stopped),
        ];
        // Died in November: the fourth stage is still owed, the next ones are not.
        assert_eq!(
            periods(&stopped_by_end(&payments, date("2026-11-03"))),
            ["2027-Q1", "2027-Q2"]
        );
        // A released payment is the bank's business, whatever the date.
        assert!(stopped_by_end(&payments[..1], date("2026-01-01")).is_empty());
    }

    #[test]
    fn a_hold_holds_instructed_payments_of_periods_reaching_its_first_day() {
        let payments = [
            payment("2026-Q3", Stage::Instructed),
            payment("2026-Q4", Stage::Instructed),
            payment("2027-Q1", Stage::Released),
        ];
        assert_eq!(periods(&held_by_hold(&payments, date("2026-10-15"))), ["2026-Q4"]);
        assert_eq!(
            periods(&held_by_hold(&payments, date("2026-09-30"))),
            ["2026-Q3", "2026-Q4"]
        );
    }

    fn coverage(first: &str) -> Coverage {
        Coverage {
            cadence: Cadence::Quarterly,
            first_period: quarter(first),
            ended_on: None,
        }
    }

    #[test]
    fn a_hold_lifted_with_arrears_owes_every_held_period_and_instructs_the_missing_ones() {
        let payments = [
            payment("2026-Q3", Stage::Released),
            payment("2026-Q4", Stage::Held),
            payment("2027-Q2", Stage::Held),
        ];
        let lifted = lift_hold(
            &payments,
            coverage("2026-Q3"),
            date("2026-10-20"),
            date("2027-04-02"),
            true,
        );
        assert_eq!(periods(&lifted.arrears), ["2026-Q4", "2027-Q2"]);
        assert_eq!(
            lifted.to_instruct.iter().map(ToString::to_string).collect::<Vec<_>>(),
            ["2027-Q1"]
        );
        assert!(lifted.stopped.is_empty());
    }

    #[test]
    fn no_arrears_are_owed_for_periods_the_entitlement_never_covered() {
        let mut covered = coverage("2027-Q1");
        covered.ended_on = Some(date("2027-05-01"));
        let lifted = lift_hold(&[], covered, date("2026-07-01"), date("2027-12-31"), true);
        assert_eq!(
            lifted.to_instruct.iter().map(ToString::to_string).collect::<Vec<_>>(),
            ["2027-Q1", "2027-Q2"]
        );
    }

    #[test]
    fn a_hold_lifted_without_arrears_stops_the_held_payments() {
        let payments = [payment("2026-Q4", Stage::Held), payment("2027-Q3", Stage::Held)];
        let lifted = lift_hold(
            &payments,
            coverage("2026-Q4"),
            date("2026-10-20"),
            date("2027-02-01"),
            false,
        );
        assert_eq!(periods(&lifted.stopped), ["2026-Q4"]);
        assert!(lifted.arrears.is_empty() && lifted.to_instruct.is_empty());
    }

    #[test]
    fn a_fifth_distinct_component_is_refused_and_a_known_one_is_not_counted_twice() {
        let open: Vec<String> = ["child_0_6", "sd", "smp", "elderly"].map(String::from).to_vec();
        let refused = check_cap("PKH", "hh-1", "sma", &open, Some(4));
        assert_eq!(
            refused.map_err(|e| e.to_string()),
            Err(
                "hh-1 already has 4 open PKH components (child_0_6, elderly, sd, smp); a programme pays at most 4 \
                 components per family, so sma is not opened"
                    .to_owned()
            )
        );
        assert_eq!(check_cap("PKH", "hh-1", "sd", &open, Some(4)), Ok(()));
        assert_eq!(check_cap("PKH", "hh-1", "sma", &open[..3], Some(4)), Ok(()));
        assert_eq!(check_cap("BPNT", "hh-1", "sma", &open, None), Ok(()));
    }
}
