//! Referral's settings: the shared ones plus the routing table.

use std::sync::Arc;

use slrt_settings::{CommonSettings, Service, SettingsError};

use crate::domain::RoutingTable;

/// The routing table shipped with the service, used when `SLRT_REFERRAL_ROUTING` is unset.
pub const EMBEDDED_ROUTING: &str = include_str!("../data/routing.toml");

const ROUTING_VARIABLE: &str = "SLRT_REFERRAL_ROUTING";

#[derive(Debug, Clone)]
pub struct Settings {
    pub common: CommonSettings,
    /// Which agency serves which need: the file named by `SLRT_REFERRAL_ROUTING`, or the
    /// embedded `data/routing.toml`.
    pub routing: Arc<RoutingTable>,
    /// Where the routing table came from, for the start-up log.
    pub routing_source: String,
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
        Ok(Self {
            common,
            routing: Arc::new(routing),
            routing_source,
        })
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
        Settings::from_lookup(|name| {
            if name == ROUTING_VARIABLE {
                routing.clone()
            } else {
                None
            }
        })
    }

    #[test]
    fn the_embedded_routing_table_is_used_by_default_on_the_documented_ports() -> Result<(), SettingsError> {
        let settings = settings(None)?;
        assert_eq!(settings.routing_source, "embedded");
        assert_eq!(settings.routing.version(), "2026.1");
        assert_eq!(settings.common.http_addr.port(), 8083);
        assert_eq!(settings.common.grpc_addr.port(), 50053);
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
             [[rules]]\ncategory = \"cash_assistance\"\nopd = \"DINKES\"\nservice = \"s\"\n",
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
