//! Disbursement's settings: the shared ones plus where eligibility's gRPC API is.

use slrt_settings::{CommonSettings, Service, SettingsError};

#[derive(Debug, Clone)]
pub struct Settings {
    pub common: CommonSettings,
    /// `SLRT_ELIGIBILITY_GRPC_URL`, for the status check before a payment is released.
    pub eligibility_url: String,
}

impl Settings {
    pub fn from_env() -> Result<Self, SettingsError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, SettingsError> {
        Ok(Self {
            common: CommonSettings::from_lookup(Service::Disbursement, &lookup)?,
            eligibility_url: slrt_settings::peer_grpc_url(&lookup, Service::Eligibility)?,
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
    fn an_eligibility_url_without_a_scheme_names_the_variable() {
        let result =
            Settings::from_lookup(|name| (name == "SLRT_ELIGIBILITY_GRPC_URL").then(|| "127.0.0.1:1".to_owned()));
        assert_eq!(
            result.map_err(|e| e.variable).err().as_deref(),
            Some("SLRT_ELIGIBILITY_GRPC_URL")
        );
    }
}
