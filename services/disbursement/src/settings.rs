//! Disbursement's settings: the shared ones plus where eligibility's gRPC API and the paying
//! bank are, which agency code the paying bank's own system carries, how the sender paces
//! itself, and the key material of tokens (callers' and our own) and of NIK tokens.

use std::sync::Arc;
use std::time::Duration;

use slrt_auth::Verifier;
use slrt_auth::grpc::TokenSource;
use slrt_identity::NikTokenizer;
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
    /// `SLRT_DISBURSEMENT_PAYING_BANK` (default `SIMBANK`, the simulator): the agency code
    /// (`opd`) the paying bank's system carries in its `data_feed` token. Only that bank
    /// hands in a reconciliation; another bank's token is refused.
    pub paying_bank: String,
    /// Verifies callers' bearer tokens (`SLRT_AUTH_*`); required, never switched off.
    pub verifier: Arc<Verifier>,
    /// Keyed NIK tokens for the audit log (`SLRT_PII_KEY_FILE`).
    pub nik_tokens: NikTokenizer,
    /// This service's own token (`SLRT_SERVICE_TOKEN_FILE`), presented to eligibility with
    /// every release check.
    pub service_token: TokenSource,
}

/// Programme code to the most components a family may have open under it.
pub type ComponentCaps = std::collections::BTreeMap<String, u32>;

const COMPONENT_CAPS: &str = "SLRT_DISBURSEMENT_COMPONENT_CAPS";
const PAYING_BANK: &str = "SLRT_DISBURSEMENT_PAYING_BANK";

fn paying_bank(lookup: &impl Fn(&str) -> Option<String>) -> Result<String, SettingsError> {
    // The simulator by default: a deployment that forgets to name its bank refuses the real
    // bank's reconciliations (and says so) rather than accepting anyone's.
    let code = lookup(PAYING_BANK)
        .map(|text| text.trim().to_owned())
        .filter(|text| !text.is_empty())
        .unwrap_or_else(|| "SIMBANK".to_owned());
    let agency_code = (2..=32).contains(&code.len())
        && code
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-');
    if !agency_code {
        return Err(SettingsError {
            variable: PAYING_BANK.to_owned(),
            reason: format!(
                "{code:?} is not an agency code as tokens carry it (2 to 32 capital letters, digits and '-', e.g. BANK-JATENG)"
            ),
        });
    }
    Ok(code)
}

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
            paying_bank: paying_bank(&lookup)?,
            // Read last, so that a mistake in the service's own settings is reported first.
            verifier: slrt_auth::settings::verifier(&lookup)?,
            nik_tokens: slrt_auth::settings::nik_tokenizer(&lookup)?,
            service_token: slrt_auth::settings::service_token(&lookup)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The settings with the test identity provider's and `extra` on top.
    fn settings_with(extra: &[(&str, &str)]) -> Result<Settings, SettingsError> {
        let identity = slrt_testkit::identity().env();
        Settings::from_lookup(|name| {
            extra
                .iter()
                .find(|(variable, _)| *variable == name)
                .map(|(_, value)| (*value).to_owned())
                .or_else(|| {
                    identity
                        .iter()
                        .find(|(variable, _)| *variable == name)
                        .map(|(_, value)| value.clone())
                })
        })
    }

    #[test]
    fn the_service_does_not_start_without_the_identity_providers_key_set() {
        let error = Settings::from_lookup(|_| None).err().map(|e| e.variable);
        assert_eq!(error.as_deref(), Some(slrt_auth::settings::JWKS_FILE));
    }

    #[test]
    fn the_service_does_not_start_without_its_own_token_for_eligibility() {
        let identity = slrt_testkit::identity().env();
        let error = Settings::from_lookup(|name| {
            identity
                .iter()
                .find(|(variable, _)| *variable == name && *variable != slrt_auth::settings::SERVICE_TOKEN_FILE)
                .map(|(_, value)| value.clone())
        })
        .err()
        .map(|e| e.variable);
        assert_eq!(error.as_deref(), Some(slrt_auth::settings::SERVICE_TOKEN_FILE));
    }

    #[test]
    fn the_paying_bank_is_the_simulator_unless_named_and_must_be_an_agency_code() -> Result<(), SettingsError> {
        assert_eq!(settings_with(&[])?.paying_bank, "SIMBANK");
        assert_eq!(
            settings_with(&[(PAYING_BANK, " BANK-JATENG ")])?.paying_bank,
            "BANK-JATENG"
        );
        for bad in ["bank jateng", "B", "BANK_JATENG"] {
            let error = settings_with(&[(PAYING_BANK, bad)]).err().map(|e| e.variable);
            assert_eq!(error.as_deref(), Some(PAYING_BANK), "{bad}");
        }
        Ok(())
    }

    #[test]
    fn defaults_are_the_documented_ports_and_the_local_eligibility() -> Result<(), SettingsError> {
        let settings = settings_with(&[])?;
        assert_eq!(settings.common.http_addr.port(), 8084);
        assert_eq!(settings.common.grpc_addr.port(), 50054);
        assert_eq!(settings.eligibility_url, "http://127.0.0.1:50052");
        Ok(())
    }

    #[test]
    fn pkh_is_capped_at_four_components_unless_configured_otherwise() -> Result<(), SettingsError> {
        let settings = settings_with(&[])?;
        assert_eq!(settings.component_caps.get("PKH"), Some(&4));
        let settings = settings_with(&[(COMPONENT_CAPS, "PKH=3, PIP=2")])?;
        assert_eq!(
            settings.component_caps.into_iter().collect::<Vec<_>>(),
            [("PIP".to_owned(), 2), ("PKH".to_owned(), 3)]
        );
        for bad in ["PKH", "pkh=4", "PKH=0", "PKH=four"] {
            let result = settings_with(&[(COMPONENT_CAPS, bad)]);
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
        let result = settings_with(&[("SLRT_ELIGIBILITY_GRPC_URL", "127.0.0.1:1")]);
        assert_eq!(
            result.map_err(|e| e.variable).err().as_deref(),
            Some("SLRT_ELIGIBILITY_GRPC_URL")
        );
    }
}
