//! Referral's settings: the shared ones plus the routing table, the SLA policy and its
//! working-day calendar, the timer worker's pace, and whether the clock may be moved.

use std::sync::Arc;
use std::time::Duration;

use slrt_auth::Verifier;
use slrt_identity::NikTokenizer;
use slrt_settings::{CommonSettings, Service, SettingsError};

use crate::domain::{RoutingTable, Sla, SlaPolicy, WorkingCalendar};

/// The routing table shipped with the service, used when `SLRT_REFERRAL_ROUTING` is unset.
pub const EMBEDDED_ROUTING: &str = include_str!("../data/routing.toml");
/// The SLA policy shipped with the service, used when `SLRT_REFERRAL_SLA` is unset.
pub const EMBEDDED_SLA: &str = include_str!("../data/sla.toml");
/// The national holiday calendar shipped with the service (`SLRT_REFERRAL_HOLIDAYS`).
pub const EMBEDDED_HOLIDAYS: &str = include_str!("../data/holidays.toml");

const ROUTING_VARIABLE: &str = "SLRT_REFERRAL_ROUTING";
const SLA_VARIABLE: &str = "SLRT_REFERRAL_SLA";
const HOLIDAYS_VARIABLE: &str = "SLRT_REFERRAL_HOLIDAYS";
const TIMER_POLL_VARIABLE: &str = "SLRT_REFERRAL_TIMER_POLL_MS";
const TEST_CLOCK_VARIABLE: &str = "SLRT_REFERRAL_TEST_CLOCK";

#[derive(Debug, Clone)]
pub struct Settings {
    pub common: CommonSettings,
    /// Which agency serves which need: the file named by `SLRT_REFERRAL_ROUTING`, or the
    /// embedded `data/routing.toml`.
    pub routing: Arc<RoutingTable>,
    /// Where the routing table came from, for the start-up log.
    pub routing_source: String,
    /// Deadlines and escalation: `SLRT_REFERRAL_SLA` and `SLRT_REFERRAL_HOLIDAYS`, or the
    /// embedded `data/sla.toml` and `data/holidays.toml`.
    pub sla: Arc<Sla>,
    /// How often the timer worker looks for SLA timers that are due (default 1 s).
    pub timer_poll: Duration,
    /// `SLRT_REFERRAL_TEST_CLOCK=true` starts the service on a clock that `PUT
    /// /v1/test-clock` moves forward: for tests and training environments, never production.
    pub test_clock: bool,
    /// Verifies callers' bearer tokens (`SLRT_AUTH_*`); required, never switched off.
    pub verifier: Arc<Verifier>,
    /// Keyed NIK tokens for the audit log (`SLRT_PII_KEY_FILE`).
    pub nik_tokens: NikTokenizer,
}

impl Settings {
    pub fn from_env() -> Result<Self, SettingsError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, SettingsError> {
        let common = CommonSettings::from_lookup(Service::Referral, &lookup)?;
        let (routing, routing_source) = match lookup(ROUTING_VARIABLE).filter(|path| !path.trim().is_empty()) {
            None => (
                parse_routing(EMBEDDED_ROUTING, "the embedded data/routing.toml")?,
                "embedded".to_string(),
            ),
            Some(path) => {
                let text = std::fs::read_to_string(&path).map_err(|error| SettingsError {
                    variable: ROUTING_VARIABLE.into(),
                    reason: format!("cannot read {path}: {error}"),
                })?;
                (parse_routing(&text, &path)?, path)
            }
        };
        let policy = load(&lookup, SLA_VARIABLE, EMBEDDED_SLA, SlaPolicy::parse)?;
        let calendar = load(&lookup, HOLIDAYS_VARIABLE, EMBEDDED_HOLIDAYS, WorkingCalendar::parse)?;
        let timer_poll = slrt_settings::millis_between(&lookup, TIMER_POLL_VARIABLE, 1_000, 10..=60_000)?;
        let test_clock = match lookup(TEST_CLOCK_VARIABLE).as_deref().map(str::trim) {
            None | Some("" | "false" | "0") => false,
            Some("true" | "1") => true,
            Some(other) => {
                return Err(SettingsError {
                    variable: TEST_CLOCK_VARIABLE.into(),
                    reason: format!("{other:?} is not true or false"),
                });
            }
        };
        // Read last, so that a mistake in the policy files is reported first.
        let verifier = slrt_auth::settings::verifier(&lookup)?;
        let nik_tokens = slrt_auth::settings::nik_tokenizer(&lookup)?;
        Ok(Self {
            common,
            verifier,
            nik_tokens,
            routing: Arc::new(routing),
            routing_source,
            sla: Arc::new(Sla { policy, calendar }),
            timer_poll,
            test_clock,
        })
    }
}

// A policy or calendar with a mistake would set wrong deadlines for every referral, so the
// service refuses to start with it and says where the mistake is.
fn load<T>(
    lookup: &impl Fn(&str) -> Option<String>,
    variable: &str,
    embedded: &str,
    parse: impl Fn(&str) -> Result<T, crate::domain::SlaConfigError>,
) -> Result<T, SettingsError> {
    let failed = |reason: String| SettingsError {
        variable: variable.into(),
        reason,
    };
    match lookup(variable).filter(|path| !path.trim().is_empty()) {
        None => parse(embedded).map_err(|error| failed(format!("the embedded file: {error}"))),
        Some(path) => {
            let text =
                std::fs::read_to_string(&path).map_err(|error| failed(format!("cannot read {path}: {error}")))?;
            parse(&text).map_err(|error| failed(format!("{path}: {error}")))
        }
    }
}

// A routing table with a mistake would send needs to the wrong agency or to none, so the
// service refuses to start with it and says where the mistake is.
fn parse_routing(text: &str, source: &str) -> Result<RoutingTable, SettingsError> {
    RoutingTable::parse(text).map_err(|error| SettingsError {
        variable: ROUTING_VARIABLE.into(),
        reason: format!("{source}: {error}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(routing: Option<&str>) -> Result<Settings, SettingsError> {
        let routing = routing.map(str::to_owned);
        let identity = slrt_testkit::identity().env();
        Settings::from_lookup(|name| {
            if name == ROUTING_VARIABLE {
                routing.clone()
            } else {
                identity
                    .iter()
                    .find(|(variable, _)| *variable == name)
                    .map(|(_, value)| value.clone())
            }
        })
    }

    #[test]
    fn the_service_does_not_start_without_the_identity_providers_key_set() {
        let error = Settings::from_lookup(|_| None).err().map(|e| e.variable);
        assert_eq!(error.as_deref(), Some(slrt_auth::settings::JWKS_FILE));
    }

    #[test]
    fn the_embedded_routing_table_is_used_by_default_on_the_documented_ports() -> Result<(), SettingsError> {
        let settings = settings(None)?;
        assert_eq!(settings.routing_source, "embedded");
        assert_eq!(settings.routing.version(), "2026.2");
        assert_eq!(settings.common.http_addr.port(), 8083);
        assert_eq!(settings.common.grpc_addr.port(), 50053);
        assert_eq!(settings.sla.policy.version(), "2026.1");
        assert!(!settings.test_clock);
        Ok(())
    }

    #[test]
    fn a_holiday_file_with_a_mistake_stops_start_up_naming_the_entry() -> std::io::Result<()> {
        let path = std::env::temp_dir().join(format!("holidays-{}.toml", uuid::Uuid::now_v7()));
        std::fs::write(
            &path,
            "name = \"x\"\nutc_offset = \"+07:00\"\nyears = [2026]\n[[days]]\ndate = \"2026-02-30\"\nname = \"n\"\n",
        )?;
        let text = path.to_string_lossy().into_owned();
        let error = Settings::from_lookup(|name| (name == HOLIDAYS_VARIABLE).then(|| text.clone())).err();
        std::fs::remove_file(&path)?;
        assert_eq!(
            error.map(|e| (e.variable, e.reason)),
            Some((
                HOLIDAYS_VARIABLE.to_string(),
                format!("{text}: days[0].date: \"2026-02-30\" is not a date YYYY-MM-DD")
            ))
        );
        Ok(())
    }

    #[test]
    fn a_missing_routing_file_stops_start_up_naming_the_variable_and_the_path() {
        let path = std::env::temp_dir().join(format!("no-such-routing-{}.toml", uuid::Uuid::now_v7()));
        let error = settings(path.to_str()).err();
        let error = error.map(|e| {
            (
                e.variable,
                e.reason.starts_with(&format!("cannot read {}", path.display())),
            )
        });
        assert_eq!(error, Some((ROUTING_VARIABLE.to_string(), true)));
    }

    #[test]
    fn a_routing_file_with_a_mistake_stops_start_up_naming_the_rule() -> std::io::Result<()> {
        let path = std::env::temp_dir().join(format!("routing-{}.toml", uuid::Uuid::now_v7()));
        std::fs::write(
            &path,
            "version = \"x\"\n[opds]\nDINSOS = { name = \"Dinas Sosial\" }\n\
             [[rules]]\ncategory = \"cash_assistance\"\nopd = \"DINKES\"\nservice = \"s\"\nsla = \"field\"\n",
        )?;
        let error = settings(path.to_str()).err();
        std::fs::remove_file(&path)?;
        let reason = error.map(|e| e.reason).unwrap_or_default();
        assert_eq!(
            reason,
            format!(
                "{}: rules[0].opd: \"DINKES\" is not listed under [opds]",
                path.display()
            )
        );
        Ok(())
    }
}
