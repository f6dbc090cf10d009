//! Reading the key material a service needs from its settings: the identity provider's key
//! set and the NIK token key. Both are files, so that a deployment mounts them from its
//! secret store and nothing secret sits in an environment listing.

use std::sync::Arc;

use slrt_identity::NikTokenizer;
use slrt_settings::SettingsError;

use crate::verifier::{Verifier, VerifierSettings};

pub const JWKS_FILE: &str = "SLRT_AUTH_JWKS_FILE";
pub const ISSUER: &str = "SLRT_AUTH_ISSUER";
pub const AUDIENCE: &str = "SLRT_AUTH_AUDIENCE";
pub const LEEWAY_SECONDS: &str = "SLRT_AUTH_LEEWAY_SECONDS";
pub const PII_KEY_FILE: &str = "SLRT_PII_KEY_FILE";
pub const PII_KEY_ID: &str = "SLRT_PII_KEY_ID";

/// The audience tokens must name when `SLRT_AUTH_AUDIENCE` is unset.
pub const DEFAULT_AUDIENCE: &str = "slrt-api";

fn invalid(variable: &str, reason: impl Into<String>) -> SettingsError {
    SettingsError {
        variable: variable.to_string(),
        reason: reason.into(),
    }
}

fn required(lookup: &impl Fn(&str) -> Option<String>, variable: &str, what: &str) -> Result<String, SettingsError> {
    lookup(variable)
        .map(|value| value.trim().to_string())
        .filter(|value| !value.is_empty())
        .ok_or_else(|| invalid(variable, format!("required: {what}")))
}

/// The token verifier: `SLRT_AUTH_JWKS_FILE` (the provider's JWKS document), `SLRT_AUTH_ISSUER`,
/// `SLRT_AUTH_AUDIENCE` (default `slrt-api`) and `SLRT_AUTH_LEEWAY_SECONDS` (default 30).
/// There is no setting that turns verification off.
pub fn verifier(lookup: impl Fn(&str) -> Option<String>) -> Result<Arc<Verifier>, SettingsError> {
    let path = required(&lookup, JWKS_FILE, "the path of the identity provider's key set (JWKS)")?;
    let jwks =
        std::fs::read_to_string(&path).map_err(|error| invalid(JWKS_FILE, format!("cannot read {path}: {error}")))?;
    let issuer = required(
        &lookup,
        ISSUER,
        "the identity provider's issuer URL, as tokens carry it",
    )?;
    let audience = lookup(AUDIENCE)
        .map(|value| value.trim().to_string())
        .filter(|value| !value.is_empty())
        .unwrap_or_else(|| DEFAULT_AUDIENCE.to_string());
    let leeway_seconds = match lookup(LEEWAY_SECONDS).map(|value| value.trim().to_string()) {
        None => 30,
        Some(text) if text.is_empty() => 30,
        Some(text) => text
            .parse::<u64>()
            .ok()
            .filter(|seconds| *seconds <= 300)
            .ok_or_else(|| {
                invalid(
                    LEEWAY_SECONDS,
                    format!("{text:?} is not a whole number of seconds from 0 to 300"),
                )
            })?,
    };
    let verifier = Verifier::from_jwks(
        &jwks,
        VerifierSettings {
            issuer,
            audience,
            leeway_seconds,
        },
    )
    .map_err(|error| invalid(JWKS_FILE, format!("{path}: {error}")))?;
    Ok(Arc::new(verifier))
}

/// The NIK token key: `SLRT_PII_KEY_FILE` (hexadecimal, at least 32 bytes) and its id
/// `SLRT_PII_KEY_ID` (default `k1`). Every service of one deployment must use the same key.
pub fn nik_tokenizer(lookup: impl Fn(&str) -> Option<String>) -> Result<NikTokenizer, SettingsError> {
    let path = required(&lookup, PII_KEY_FILE, "the path of the NIK token key (hexadecimal)")?;
    let key = std::fs::read_to_string(&path)
        .map_err(|error| invalid(PII_KEY_FILE, format!("cannot read {path}: {error}")))?;
    let key_id = lookup(PII_KEY_ID)
        .map(|value| value.trim().to_string())
        .filter(|value| !value.is_empty())
        .unwrap_or_else(|| "k1".to_string());
    NikTokenizer::from_hex(&key_id, &key).map_err(|error| invalid(PII_KEY_FILE, format!("{path}: {error}")))
}

pub const SERVICE_TOKEN_FILE: &str = "SLRT_SERVICE_TOKEN_FILE";

/// This service's own token for calls to the others: `SLRT_SERVICE_TOKEN_FILE`, a file an
/// agent outside the service keeps fresh from the identity provider (client credentials,
/// role `service`). Re-read every minute, so a renewed token is picked up without a restart.
pub fn service_token(lookup: impl Fn(&str) -> Option<String>) -> Result<crate::grpc::TokenSource, SettingsError> {
    let path = required(
        &lookup,
        SERVICE_TOKEN_FILE,
        "the path of this service's own token (client credentials, role service) for calls to the other services",
    )?;
    let path = std::path::PathBuf::from(path);
    if !path.is_file() {
        return Err(invalid(
            SERVICE_TOKEN_FILE,
            format!("{} is not a readable file", path.display()),
        ));
    }
    Ok(crate::grpc::TokenSource::File {
        path,
        refresh: std::time::Duration::from_secs(60),
    })
}
