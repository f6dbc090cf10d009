//! Intake's settings: the shared ones, where eligibility's gRPC API is, and the keys of
//! access control: the identity provider's key set, the NIK token key of the audit log, and
//! this service's own token for its calls to eligibility.

use std::sync::Arc;

use slrt_auth::Verifier;
use slrt_auth::grpc::TokenSource;
use slrt_identity::NikTokenizer;
use slrt_settings::{CommonSettings, Service, SettingsError};

#[derive(Debug, Clone)]
pub struct Settings {
    pub common: CommonSettings,
    /// `SLRT_ELIGIBILITY_GRPC_URL`, for the desk pre-screen.
    pub eligibility_url: String,
    /// Verifies callers' bearer tokens (`SLRT_AUTH_*`); required, never switched off.
    pub verifier: Arc<Verifier>,
    /// Keyed NIK tokens for the audit log (`SLRT_PII_KEY_FILE`).
    pub nik_tokens: NikTokenizer,
    /// This service's own token (`SLRT_SERVICE_TOKEN_FILE`), sent with the pre-screen to
    /// eligibility, which serves only callers with the `service` role.
    pub service_token: TokenSource,
}

impl Settings {
    pub fn from_env() -> Result<Self, SettingsError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, SettingsError> {
        Ok(Self {
            common: CommonSettings::from_lookup(Service::Intake, &lookup)?,
            eligibility_url: slrt_settings::peer_grpc_url(&lookup, Service::Eligibility)?,
            verifier: slrt_auth::settings::verifier(&lookup)?,
            nik_tokens: slrt_auth::settings::nik_tokenizer(&lookup)?,
            service_token: slrt_auth::settings::service_token(&lookup)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity_lookup(missing: &'static str) -> impl Fn(&str) -> Option<String> {
        let identity = slrt_testkit::identity().env();
        move |name| {
            identity
                .iter()
                .find(|(variable, _)| *variable == name && *variable != missing)
                .map(|(_, value)| value.clone())
        }
    }

    #[test]
    fn the_service_does_not_start_without_the_identity_providers_key_set() {
        let error = Settings::from_lookup(|_| None).err().map(|e| e.variable);
        assert_eq!(error.as_deref(), Some(slrt_auth::settings::JWKS_FILE));
    }

    #[test]
    fn the_service_does_not_start_without_its_own_token_for_eligibility() {
        let error = Settings::from_lookup(identity_lookup(slrt_auth::settings::SERVICE_TOKEN_FILE))
            .err()
            .map(|e| e.variable);
        assert_eq!(error.as_deref(), Some(slrt_auth::settings::SERVICE_TOKEN_FILE));
    }

    #[test]
    fn with_every_key_the_settings_load_on_the_documented_ports() -> Result<(), SettingsError> {
        let settings = Settings::from_lookup(identity_lookup(""))?;
        assert_eq!(settings.common.http_addr.port(), 8081);
        assert!(matches!(settings.service_token, TokenSource::File { .. }));
        Ok(())
    }
}
