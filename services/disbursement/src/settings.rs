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
}

impl Settings {
    pub fn from_env() -> Result<Self, SettingsError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, SettingsError> {
        let bank_url = match lookup("SLRT_BANK_GRPC_URL") {
            None => "http://127.0.0.1:50060".to_string(),
            Some(url) if url.starts_with("http://") || url.starts_with("https://") => url,
            Some(url) => {
                return Err(SettingsError {
                    variable: "SLRT_BANK_GRPC_URL".into(),
                    reason: format!("expected an http:// or https:// URL, found {url:?}"),
                });
            }
        };
        Ok(Self {
            common: CommonSettings::from_lookup(Service::Disbursement, &lookup)?,
            eligibility_url: slrt_settings::peer_grpc_url(&lookup, Service::Eligibility)?,
            bank_url,
            bank_timeout: millis(&lookup, "SLRT_BANK_TIMEOUT_MS", 5_000)?,
            send_poll: millis(&lookup, "SLRT_DISBURSEMENT_SEND_POLL_MS", 1_000)?,
        })
    }
}

fn millis(lookup: &impl Fn(&str) -> Option<String>, variable: &str, default: u64) -> Result<Duration, SettingsError> {
    match lookup(variable).filter(|text| !text.trim().is_empty()) {
        None => Ok(Duration::from_millis(default)),
        Some(text) => match text.trim().parse::<u64>() {
            Ok(ms @ 10..=600_000) => Ok(Duration::from_millis(ms)),
            _ => Err(SettingsError {
                variable: variable.into(),
                reason: format!("{text:?} is not a number of milliseconds between 10 and 600000"),
            }),
        },
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
    fn an_eligibility_url_without_a_scheme_names_the_variable() {
        let result =
            Settings::from_lookup(|name| (name == "SLRT_ELIGIBILITY_GRPC_URL").then(|| "127.0.0.1:1".to_owned()));
        assert_eq!(
            result.map_err(|e| e.variable).err().as_deref(),
            Some("SLRT_ELIGIBILITY_GRPC_URL")
        );
    }
}
