//! Disbursement's settings: the shared ones plus where eligibility's gRPC API and the paying
//! bank are, and how the sender paces itself.

use std::time::Duration;

use slrt_settings::{CommonSettings, Service, SettingsError};

#[derive(Debug, Clone)]
pub struct Settings {
    pub common: CommonSettings,
    /// `SLRT_ELIGIBILITY_GRPC_URL`, for the status check before a payment is released.
    pub eligibility_url: String,
    /// `SLRT_BANK_GRPC_URL`: the paying bank (the simulator's default port locally).
    pub bank_url: String,
    /// `SLRT_BANK_TIMEOUT_MS` (default 5000): past it, a transfer's outcome is unknown and is
    /// resolved by asking the bank about the key.
    pub bank_timeout: Duration,
    /// `SLRT_DISBURSEMENT_SEND_POLL_MS` (default 1000): how often released payments are sent.
    pub send_poll: Duration,
    /// `SLRT_DISBURSEMENT_COMPONENT_CAPS` (default `PKH=4`): the most components of a
    /// programme one beneficiary (family) may have open, as `CODE=N` pairs separated by commas.
    /// The accepted referral does not carry the cap, so it is configured here, as data.
    pub component_caps: ComponentCaps,
}

/// Programme code to the most components a family may have open under it.
pub type ComponentCaps = std::collections::BTreeMap<String, u32>;

const COMPONENT_CAPS: &str = "SLRT_DISBURSEMENT_COMPONENT_CAPS";

fn component_caps(lookup: &impl Fn(&str) -> Option<String>) -> Result<ComponentCaps, SettingsError> {
    // DOMAIN.md: PKH pays at most four components per family.
    let text = lookup(COMPONENT_CAPS).unwrap_or_else(|| "PKH=4".to_owned());
    let invalid = |reason: String| SettingsError {
        variable: COMPONENT_CAPS.to_owned(),
        reason,
    };
    let mut caps = ComponentCaps::new();
    for pair in text.split(',').map(str::trim).filter(|pair| !pair.is_empty()) {
        let Some((code, cap)) = pair.split_once('=') else {
            return Err(invalid(format!("{pair:?} is not CODE=N, e.g. PKH=4")));
        };
        let code = code.trim();
        if !crate::domain::is_programme_code(code) {
            return Err(invalid(format!("{code:?} is not a programme code, e.g. PKH")));
        }
        let cap: u32 = cap.trim().parse().ok().filter(|cap| *cap > 0).ok_or_else(|| {
            invalid(format!(
                "the cap of {code} must be a whole number above 0, found {cap:?}"
            ))
        })?;
        caps.insert(code.to_owned(), cap);
    }
    Ok(caps)
}

impl Settings {
    pub fn from_env() -> Result<Self, SettingsError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, SettingsError> {
        Ok(Self {
            common: CommonSettings::from_lookup(Service::Disbursement, &lookup)?,
            eligibility_url: slrt_settings::peer_grpc_url(&lookup, Service::Eligibility)?,
            bank_url: slrt_settings::grpc_url(&lookup, "SLRT_BANK_GRPC_URL", "http://127.0.0.1:50060")?,
            bank_timeout: slrt_settings::millis_between(&lookup, "SLRT_BANK_TIMEOUT_MS", 5_000, 10..=600_000)?,
            send_poll: slrt_settings::millis_between(&lookup, "SLRT_DISBURSEMENT_SEND_POLL_MS", 1_000, 10..=600_000)?,
            component_caps: component_caps(&lookup)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_documented_ports_and_the_local_eligibility() -> Result<(), SettingsError> {
        let settings = Settings::from_lookup(|_| None)?;
        assert_eq!(settings.common.http_addr.port(), 8084);
        assert_eq!(settings.common.grpc_addr.port(), 50054);
        assert_eq!(settings.eligibility_url, "http://127.0.0.1:50052");
        Ok(())
    }

    #[test]
    fn pkh_is_capped_at_four_components_unless_configured_otherwise() -> Result<(), SettingsError> {
        let settings = Settings::from_lookup(|_| None)?;
        assert_eq!(settings.component_caps.get("PKH"), Some(&4));
        let settings = Settings::from_lookup(|name| (name == COMPONENT_CAPS).then(|| "PKH=3, PIP=2".to_owned()))?;
        assert_eq!(
            settings.component_caps.into_iter().collect::<Vec<_>>(),
            [("PIP".to_owned(), 2), ("PKH".to_owned(), 3)]
        );
        for bad in ["PKH", "pkh=4", "PKH=0", "PKH=four"] {
            let result = Settings::from_lookup(|name| (name == COMPONENT_CAPS).then(|| bad.to_owned()));
            assert_eq!(
                result.map_err(|e| e.variable).err().as_deref(),
                Some(COMPONENT_CAPS),
                "{bad}"
            );
        }
        Ok(())
    }

    #[test]
    fn an_eligibility_url_without_a_scheme_names_the_variable() {
        let result =
            Settings::from_lookup(|name| (name == "SLRT_ELIGIBILITY_GRPC_URL").then(|| "127.0.0.1:1".to_owned()));
        assert_eq!(
            result.map_err(|e| e.variable).err().as_deref(),
            Some("SLRT_ELIGIBILITY_GRPC_URL")
        );
    }
}
