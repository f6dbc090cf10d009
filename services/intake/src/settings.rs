//! Intake's settings: the shared ones plus where eligibility's gRPC API is.

use slrt_settings::{CommonSettings, Service, SettingsError};

#[derive(Debug, Clone)]
pub struct Settings {
    pub common: CommonSettings,
    /// `SLRT_ELIGIBILITY_GRPC_URL`, for the desk pre-screen.
    pub eligibility_url: String,
}

impl Settings {
    pub fn from_env() -> Result<Self, SettingsError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, SettingsError> {
        Ok(Self {
            common: CommonSettings::from_lookup(Service::Intake, &lookup)?,
            eligibility_url: slrt_settings::peer_grpc_url(&lookup, Service::Eligibility)?,
        })
    }
}
