//! The time a service decides by.
//!
//! Deadlines (SLA clocks, payment periods) are durable timers compared with "now". In
//! production "now" is the system clock. A service may instead be started with an
//! adjustable clock (see each service's `_TEST_CLOCK` setting) that a test or a training
//! environment moves forward, so that a 60-working-day deadline can be seen to pass in a
//! second. The adjustable clock only ever adds an offset to the system clock: time keeps
//! flowing, and it never runs backwards.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, SubsecRound, TimeDelta, Utc};

#[derive(Debug, Clone)]
pub struct Clock {
    /// `None`: the system clock, which nothing can move.
    offset_us: Option<Arc<AtomicI64>>,
}

/// Why a clock was not moved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClockError {
    #[error("this service runs on the system clock, which cannot be moved")]
    NotAdjustable,
    #[error("the clock only moves forward: it is already {now}, after {requested}")]
    Backwards {
        now: DateTime<Utc>,
        requested: DateTime<Utc>,
    },
}

impl Clock {
    pub fn system() -> Self {
        Self { offset_us: None }
    }

    /// Starts equal to the system clock; [`Clock::advance_to`] moves it forward.
    pub fn adjustable() -> Self {
        Self {
            offset_us: Some(Arc::new(AtomicI64::new(0))),
        }
    }

    pub fn is_adjustable(&self) -> bool {
        self.offset_us.is_some()
    }

    /// Now, to the microsecond: the precision PostgreSQL keeps, so that a time read back
    /// from the database equals the time that was written.
    pub fn now(&self) -> DateTime<Utc> {
        let now = Utc::now().trunc_subsecs(6);
        match &self.offset_us {
            None => now,
            Some(offset) => now + TimeDelta::microseconds(offset.load(Ordering::Relaxed)),
        }
    }

    /// Moves an adjustable clock forward so that it reads `target` now.
    pub fn advance_to(&self, target: DateTime<Utc>) -> Result<DateTime<Utc>, ClockError> {
        let Some(offset) = &self.offset_us else {
            return Err(ClockError::NotAdjustable);
        };
        let now = self.now();
        if target < now {
            return Err(ClockError::Backwards { now, requested: target });
        }
        // Whole microseconds, rounded up, so that the clock reads at least `target`.
        let step = (target - now).num_microseconds().unwrap_or(i64::MAX - 1) + 1;
        offset.fetch_add(step, Ordering::Relaxed);
        Ok(self.now())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_system_clock_cannot_be_moved() {
        let clock = Clock::system();
        let later = Utc::now() + TimeDelta::days(3);
        assert_eq!(clock.advance_to(later), Err(ClockError::NotAdjustable));
        assert!(clock.now() < later);
    }

    #[test]
    fn an_adjustable_clock_moves_forward_and_keeps_running() {
        let clock = Clock::adjustable();
        let target = Utc::now() + TimeDelta::days(30);
        let moved = clock.advance_to(target).unwrap_or_else(|e| panic!("{e}"));
        assert!(moved >= target && moved - target < TimeDelta::seconds(5));
        assert!(clock.now() >= moved);
        // Clones share the clock: the timer worker and the HTTP API see the same time.
        assert!(clock.clone().now() >= target);
    }

    #[test]
    fn an_adjustable_clock_never_runs_backwards() {
        let clock = Clock::adjustable();
        let past = Utc::now() - TimeDelta::hours(1);
        assert!(matches!(clock.advance_to(past), Err(ClockError::Backwards { .. })));
    }
}
