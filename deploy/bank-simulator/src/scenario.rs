//! How the simulator treats the next new transfers: rules chosen by beneficiary or key
//! prefix, each optionally for a limited number of transfers.
//!
//! Pure: no clock, no I/O. The delays are carried out by the gRPC edge.

use std::time::Duration;

/// The longest delay a rule may ask for; anything longer is a typo, not a scenario.
pub const MAX_DELAY: Duration = Duration::from_secs(600);

/// What happens to one new transfer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Behaviour {
    Succeed,
    Fail { reason: String },
    Slow { delay: Duration },
    TimeoutAfterSuccess { delay: Duration },
    ReverseLater { delay: Duration, reason: String },
}

impl Behaviour {
    /// For logs.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Succeed => "succeed",
            Self::Fail { .. } => "fail",
            Self::Slow { .. } => "slow",
            Self::TimeoutAfterSuccess { .. } => "timeout_after_success",
            Self::ReverseLater { .. } => "reverse_later",
        }
    }
}

/// The kinds of behaviour a rule names, before its delay and reason are checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Succeed,
    Fail,
    Slow,
    TimeoutAfterSuccess,
    ReverseLater,
}

/// Which transfers a rule applies to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selector {
    Beneficiary(String),
    /// The empty prefix is the default rule: it matches every transfer, and loses to any
    /// other rule that matches.
    KeyPrefix(String),
}

impl Selector {
    fn matches(&self, key: &str, beneficiary_id: &str) -> bool {
        match self {
            Self::Beneficiary(id) => id == beneficiary_id,
            Self::KeyPrefix(prefix) => key.starts_with(prefix.as_str()),
        }
    }

    /// Higher is more specific.
    fn specificity(&self) -> (u8, usize) {
        match self {
            Self::Beneficiary(_) => (2, 0),
            Self::KeyPrefix(prefix) => (1, prefix.len()),
        }
    }
}

/// A rule as received, before it is checked.
#[derive(Debug, Clone, Default)]
pub struct RuleSpec<'a> {
    pub beneficiary_id: &'a str,
    pub key_prefix: &'a str,
    pub kind: Option<Kind>,
    pub delay_ms: u32,
    pub reason: &'a str,
    pub times: u32,
}

/// A rule that does not make sense, naming the field at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct RuleError {
    pub field: &'static str,
    pub message: String,
}

impl RuleError {
    fn new(field: &'static str, message: impl Into<String>) -> Self {
        Self {
            field,
            message: message.into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    selector: Selector,
    behaviour: Behaviour,
    /// Transfers the rule still applies to; `None` for every one.
    remaining: Option<u32>,
}

impl Rule {
    pub fn parse(spec: &RuleSpec<'_>) -> Result<Self, RuleError> {
        let selector = match (spec.beneficiary_id.trim(), spec.key_prefix) {
            ("", prefix) => Selector::KeyPrefix(prefix.to_string()),
            (id, "") => Selector::Beneficiary(id.to_string()),
            _ => {
                return Err(RuleError::new(
                    "key_prefix",
                    "a rule selects by beneficiary_id or by key_prefix, not both",
                ));
            }
        };
        let kind = spec.kind.ok_or_else(|| {
            RuleError::new(
                "behaviour",
                "must be one of SUCCEED, FAIL, SLOW, TIMEOUT_AFTER_SUCCESS, REVERSE_LATER",
            )
        })?;
        let delay = Duration::from_millis(u64::from(spec.delay_ms));
        if delay > MAX_DELAY {
            return Err(RuleError::new(
                "delay_ms",
                format!("must be at most {} (got {})", MAX_DELAY.as_millis(), spec.delay_ms),
            ));
        }
        let reason = spec.reason.trim();
        let behaviour = match kind {
            Kind::Succeed => Behaviour::Succeed,
            Kind::Fail => Behaviour::Fail {
                reason: required_reason(reason, "FAIL")?,
            },
            Kind::Slow => Behaviour::Slow {
                delay: required_delay(delay, "SLOW")?,
            },
            Kind::TimeoutAfterSuccess => Behaviour::TimeoutAfterSuccess {
                delay: required_delay(delay, "TIMEOUT_AFTER_SUCCESS")?,
            },
            Kind::ReverseLater => Behaviour::ReverseLater {
                delay,
                reason: required_reason(reason, "REVERSE_LATER")?,
            },
        };
        Ok(Self {
            selector,
            behaviour,
            remaining: (spec.times > 0).then_some(spec.times),
        })
    }

    fn applies_to(&self, key: &str, beneficiary_id: &str) -> bool {
        self.remaining != Some(0) && self.selector.matches(key, beneficiary_id)
    }
}

fn required_reason(reason: &str, kind: &str) -> Result<String, RuleError> {
    if reason.is_empty() {
        return Err(RuleError::new("reason", format!("is required for {kind}")));
    }
    Ok(reason.to_string())
}

fn required_delay(delay: Duration, kind: &str) -> Result<Duration, RuleError> {
    if delay.is_zero() {
        return Err(RuleError::new("delay_ms", format!("must be more than 0 for {kind}")));
    }
    Ok(delay)
}

/// The rules in force.
#[derive(Debug, Clone, Default)]
pub struct Scenario {
    rules: Vec<Rule>,
}

impl Scenario {
    pub fn new(rules: Vec<Rule>) -> Self {
        Self { rules }
    }

    pub fn len(&self) -> usize {
        self.rules.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// The behaviour for a new transfer, using up one of the chosen rule's `times`. The
    /// most specific rule that still applies wins; among equals, the first given.
    pub fn next_for(&mut self, key: &str, beneficiary_id: &str) -> Behaviour {
        let mut chosen: Option<&mut Rule> = None;
        for rule in self
            .rules
            .iter_mut()
            .filter(|rule| rule.applies_to(key, beneficiary_id))
        {
            if chosen
                .as_ref()
                .is_none_or(|best| rule.selector.specificity() > best.selector.specificity())
            {
                chosen = Some(rule);
            }
        }
        match chosen {
            Some(rule) => {
                if let Some(remaining) = rule.remaining.as_mut() {
                    *remaining -= 1;
                }
                rule.behaviour.clone()
            }
            None => Behaviour::Succeed,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(spec: RuleSpec<'_>) -> Rule {
        Rule::parse(&spec).unwrap()
    }

    fn fail(reason: &'static str) -> RuleSpec<'static> {
        RuleSpec {
            kind: Some(Kind::Fail),
            reason,
            ..RuleSpec::default()
        }
    }

    #[test]
    fn without_rules_every_transfer_succeeds() {
        let mut scenario = Scenario::default();
        assert_eq!(scenario.next_for("PKH:2026-Q4:hh-1:base", "hh-1"), Behaviour::Succeed);
    }

    #[test]
    fn a_beneficiary_rule_beats_a_key_prefix_rule_which_beats_the_default() {
        let mut scenario = Scenario::new(vec![
            rule(fail("default")),
            rule(RuleSpec {
                key_prefix: "PKH:",
                ..fail("prefix")
            }),
            rule(RuleSpec {
                key_prefix: "PKH:2026-Q4:",
                ..fail("longer prefix")
            }),
            rule(RuleSpec {
                beneficiary_id: "hh-7",
                ..fail("beneficiary")
            }),
        ]);
        let reason = |behaviour: Behaviour| match behaviour {
            Behaviour::Fail { reason } => reason,
            other => panic!("expected a failure, got {other:?}"),
        };
        assert_eq!(
            reason(scenario.next_for("PKH:2026-Q4:hh-7:base", "hh-7")),
            "beneficiary"
        );
        assert_eq!(
            reason(scenario.next_for("PKH:2026-Q4:hh-1:base", "hh-1")),
            "longer prefix"
        );
        assert_eq!(reason(scenario.next_for("PKH:2026-Q3:hh-1:base", "hh-1")), "prefix");
        assert_eq!(reason(scenario.next_for("BPNT:2026-10:hh-1:base", "hh-1")), "default");
    }

    #[test]
    fn a_rule_with_times_applies_that_often_then_stands_aside() {
        let mut scenario = Scenario::new(vec![
            rule(RuleSpec {
                key_prefix: "PKH:",
                times: 2,
                ..fail("twice")
            }),
            rule(fail("after")),
        ]);
        let first = scenario.next_for("PKH:a", "hh-1");
        let second = scenario.next_for("PKH:b", "hh-1");
        let third = scenario.next_for("PKH:c", "hh-1");
        assert_eq!(first, Behaviour::Fail { reason: "twice".into() });
        assert_eq!(second, first);
        assert_eq!(third, Behaviour::Fail { reason: "after".into() });
    }

    #[test]
    fn among_equally_specific_rules_the_first_wins() {
        let mut scenario = Scenario::new(vec![rule(fail("first")), rule(fail("second"))]);
        assert_eq!(scenario.next_for("k", "b"), Behaviour::Fail { reason: "first".into() });
    }

    #[test]
    fn a_rule_missing_what_its_behaviour_needs_is_refused_naming_the_field() {
        let no_reason = Rule::parse(&fail("  ")).unwrap_err();
        assert_eq!(no_reason.field, "reason");
        let no_delay = Rule::parse(&RuleSpec {
            kind: Some(Kind::Slow),
            ..RuleSpec::default()
        })
        .unwrap_err();
        assert_eq!(no_delay.field, "delay_ms");
        let too_long = Rule::parse(&RuleSpec {
            kind: Some(Kind::Slow),
            delay_ms: 600_001,
            ..RuleSpec::default()
        })
        .unwrap_err();
        assert_eq!(too_long.field, "delay_ms");
        let both = Rule::parse(&RuleSpec {
            beneficiary_id: "hh-1",
            key_prefix: "PKH:",
            kind: Some(Kind::Succeed),
            ..RuleSpec::default()
        })
        .unwrap_err();
        assert_eq!(both.field, "key_prefix");
        let no_behaviour = Rule::parse(&RuleSpec::default()).unwrap_err();
        assert_eq!(no_behaviour.field, "behaviour");
    }
}
