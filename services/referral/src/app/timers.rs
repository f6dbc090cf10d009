//! The SLA timer worker: fires the escalation steps whose time has come on the service
//! clock. Timers live in `sla_timers` (written with the referral's events), so a step due
//! while the service was down fires as soon as it is back.
//!
//! Each timer fires in its own transaction: lock the row (`SKIP LOCKED`, so several
//! replicas share the work), decide on the referral's current state, append the
//! escalation, move the timer to the next step. A clock that has stopped meanwhile ends
//! its timer without an event.

use std::sync::LazyLock;
use std::time::Duration;

use prometheus::{IntCounterVec, IntGauge, Opts};
use slrt_eventstore::ExpectedVersion;
use tokio::sync::watch;
use tracing::Instrument as _;

use super::{RecordError, Referrals, referral_stream};
use crate::domain::{self, EscalateReferral, ReferralCommand, ReferralError, SlaClock};
use crate::projections;

static OVERDUE: LazyLock<IntGauge> = LazyLock::new(|| {
    let gauge = IntGauge::new(
        "slrt_referral_overdue",
        "Open referrals past their response or resolution deadline",
    )
    .unwrap_or_else(|error| panic!("metric definition: {error}"));
    // Registered once per process; a second service instance in the same process (tests)
    // shares it.
    let _ = prometheus::register(Box::new(gauge.clone()));
    gauge
});

static ESCALATIONS: LazyLock<IntCounterVec> = LazyLock::new(|| {
    let counter = IntCounterVec::new(
        Opts::new("slrt_referral_escalations_total", "Escalation steps fired"),
        &["clock", "level"],
    )
    .unwrap_or_else(|error| panic!("metric definition: {error}"));
    let _ = prometheus::register(Box::new(counter.clone()));
    counter
});

/// What one pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Pass {
    pub escalated: usize,
    /// Timers ended because their clock had stopped or their step was recorded.
    pub retired: usize,
}

impl Referrals {
    /// Runs the timer worker until shutdown.
    pub async fn run_timers(self, every: Duration, stopped: watch::Receiver<bool>) {
        loop {
            match self.fire_due_timers().await {
                Ok(pass) if pass.escalated > 0 => tracing::info!(escalated = pass.escalated, "SLA timers fired"),
                Ok(_) => {}
                Err(error) => tracing::warn!(error = %error, "SLA timers could not fire; retrying"),
            }
            match projections::count_overdue(&self.pool, self.clock.now()).await {
                Ok(count) => OVERDUE.set(count),
                Err(error) => tracing::warn!(error = %error, "overdue referrals could not be counted"),
            }
            tokio::select! {
                _ = slrt_runtime::shutdown::stopped(stopped.clone()) => return,
                _ = tokio::time::sleep(every) => {}
            }
        }
    }

    /// Fires every timer due now, one transaction each.
    pub async fn fire_due_timers(&self) -> Result<Pass, RecordError> {
        let mut pass = Pass::default();
        loop {
            let now = self.clock.now();
            let mut tx = self.pool.begin().await?;
            let Some(timer) = projections::take_due_timer(&mut tx, now).await? else {
                return Ok(pass);
            };
            let (clock, step) = match (
                SlaClock::parse(&timer.clock),
                u32::try_from(timer.next_level)
                    .ok()
                    .and_then(|level| self.sla.policy.step(level)),
            ) {
                (Some(clock), Some(step)) => (clock, step.clone()),
                // A clock or step the policy no longer knows: nothing left to fire.
                _ => {
                    projections::drop_timer(&mut tx, timer.referral_id, &timer.clock).await?;
                    tx.commit().await?;
                    pass.retired += 1;
                    continue;
                }
            };
            let loaded = self.load(&mut tx, timer.referral_id).await?;
            let command = ReferralCommand::Escalate(EscalateReferral {
                referral_id: timer.referral_id,
                clock,
                step: step.clone(),
                now,
                working_days_overdue: self.sla.calendar.working_days_late(timer.due_at, now),
            });
            match domain::handle(loaded.referral.as_ref(), &command) {
                Ok(events) => {
                    // The escalation belongs to the case's trace, like everything else about it.
                    let span = tracing::info_span!("sla_escalation", referral.id = %timer.referral_id);
                    slrt_telemetry::set_parent_from_traceparent(&span, loaded.traceparent.as_deref());
                    self.record(
                        &mut tx,
                        &referral_stream(timer.referral_id),
                        ExpectedVersion::Exact(loaded.version),
                        &events,
                        None,
                        now,
                    )
                    .instrument(span)
                    .await?;
                    tx.commit().await?;
                    ESCALATIONS
                        .with_label_values(&[clock.as_str(), &step.level.to_string()])
                        .inc();
                    tracing::info!(
                        referral.id = %timer.referral_id,
                        clock = clock.as_str(),
                        level = step.level,
                        escalated_to = %step.role,
                        "referral escalated"
                    );
                    pass.escalated += 1;
                }
                // The clock stopped since the timer was set (the timer row is normally removed
                // with the event that stops it), or the step is already recorded.
                Err(
                    ReferralError::AlreadyInState { .. } | ReferralError::ClockStopped { .. } | ReferralError::NotFound,
                ) => {
                    projections::drop_timer(&mut tx, timer.referral_id, &timer.clock).await?;
                    tx.commit().await?;
                    pass.retired += 1;
                }
                Err(error) => return Err(RecordError::Refused(error.to_string())),
            }
        }
    }
}
