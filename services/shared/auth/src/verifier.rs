//! Bearer-token verification against the identity provider's published key set.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;

use crate::principal::{Principal, ScopeError};

/// Where tokens come from and whom they are for.
#[derive(Debug, Clone)]
pub struct VerifierSettings {
    /// The identity provider's issuer URL (`iss`), compared exactly.
    pub issuer: String,
    /// This system's audience (`aud`) as the provider issues it.
    pub audience: String,
    /// Clock skew allowed on `exp` and `nbf`, in seconds.
    pub leeway_seconds: u64,
}

/// Why a key set cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum KeySetError {
    #[error("the key set is not a JWKS document: {0}")]
    NotAKeySet(String),
    #[error("the key set holds no key")]
    Empty,
    #[error("keys[{index}]: a symmetric (\"oct\") key is refused: whoever can verify with it could also mint tokens")]
    Symmetric { index: usize },
    #[error("keys[{index}]: {reason}")]
    Unusable { index: usize, reason: String },
}

/// Why a token was refused. The wording goes back to the caller: it names the check that
/// failed and never echoes the token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenRejected {
    #[error("the token is not a JWT (three base64url parts with a JSON header)")]
    Malformed,
    #[error("the token is unsigned (alg \"none\")")]
    Unsigned,
    #[error("the token's algorithm {0:?} is not accepted; accepted: RS256, ES256, EdDSA")]
    UnsupportedAlgorithm(String),
    #[error("the token names a signing key (kid) the key set does not hold")]
    UnknownKey,
    #[error("the token's algorithm does not match its signing key's")]
    AlgorithmMismatch,
    #[error("the token's signature does not verify")]
    BadSignature,
    #[error("the token has expired")]
    Expired,
    #[error("the token is not valid yet (nbf is in the future)")]
    NotYetValid,
    #[error("the token was issued by another issuer")]
    WrongIssuer,
    #[error("the token is meant for another audience")]
    WrongAudience,
    #[error("the token lacks the {0:?} claim")]
    MissingClaim(String),
    #[error("the token's claims are not usable: {0}")]
    BadClaims(String),
}

struct VerificationKey {
    kid: Option<String>,
    algorithm: Algorithm,
    key: DecodingKey,
}

/// Checks bearer tokens; built once at start from the key set and shared by every handler.
pub struct Verifier {
    keys: Vec<VerificationKey>,
    settings: VerifierSettings,
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verifier")
            .field(
                "keys",
                &self.keys.iter().map(|k| (&k.kid, k.algorithm)).collect::<Vec<_>>(),
            )
            .field("settings", &self.settings)
            .finish()
    }
}

/// The claims this system reads, beyond the registered ones jsonwebtoken checks.
#[derive(Deserialize)]
struct Claims {
    // Defaulted so that a missing subject is refused by name below, not as a parse error.
    #[serde(default)]
    sub: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    roles: Vec<String>,
    #[serde(default)]
    region: Option<String>,
    #[serde(default)]
    opd: Option<String>,
}

impl Verifier {
    /// Reads a JWKS document (as an OIDC provider publishes at its `jwks_uri`).
    pub fn from_jwks(jwks_json: &str, settings: VerifierSettings) -> Result<Verifier, KeySetError> {
        let set: JwkSet =
            serde_json::from_str(jwks_json).map_err(|error| KeySetError::NotAKeySet(error.to_string()))?;
        if set.keys.is_empty() {
            return Err(KeySetError::Empty);
        }
        let mut keys = Vec::with_capacity(set.keys.len());
        for (index, jwk) in set.keys.iter().enumerate() {
            let algorithm = match &jwk.algorithm {
                AlgorithmParameters::OctetKey(_) => return Err(KeySetError::Symmetric { index }),
                AlgorithmParameters::RSA(_) => Algorithm::RS256,
                AlgorithmParameters::EllipticCurve(curve) if curve.curve == EllipticCurve::P256 => Algorithm::ES256,
                AlgorithmParameters::OctetKeyPair(pair) if pair.curve == EllipticCurve::Ed25519 => Algorithm::EdDSA,
                _ => {
                    return Err(KeySetError::Unusable {
                        index,
                        reason: "only RSA, EC P-256 and Ed25519 keys are accepted".to_string(),
                    });
                }
            };
            let key = DecodingKey::from_jwk(jwk).map_err(|error| KeySetError::Unusable {
                index,
                reason: error.to_string(),
            })?;
            keys.push(VerificationKey {
                kid: jwk.common.key_id.clone(),
                algorithm,
                key,
            });
        }
        Ok(Verifier { keys, settings })
    }

    /// Verifies `token` and returns whom it describes.
    pub fn verify(&self, token: &str) -> Result<Principal, TokenRejected> {
        let (algorithm, kid) = header_of(token)?;
        let key = self.key_for(kid.as_deref())?;
        if key.algorithm != algorithm {
            return Err(TokenRejected::AlgorithmMismatch);
        }
        let mut validation = Validation::new(algorithm);
        validation.set_issuer(&[self.settings.issuer.as_str()]);
        validation.set_audience(&[self.settings.audience.as_str()]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.validate_nbf = true;
        validation.leeway = self.settings.leeway_seconds;
        let data =
            jsonwebtoken::decode::<Claims>(token, &key.key, &validation).map_err(|error| match error.kind() {
                ErrorKind::InvalidSignature => TokenRejected::BadSignature,
                ErrorKind::ExpiredSignature => TokenRejected::Expired,
                ErrorKind::ImmatureSignature => TokenRejected::NotYetValid,
                ErrorKind::InvalidIssuer => TokenRejected::WrongIssuer,
                ErrorKind::InvalidAudience => TokenRejected::WrongAudience,
                ErrorKind::MissingRequiredClaim(claim) => TokenRejected::MissingClaim(claim.clone()),
                ErrorKind::InvalidAlgorithm => TokenRejected::AlgorithmMismatch,
                ErrorKind::Json(error) => TokenRejected::BadClaims(error.to_string()),
                _ => TokenRejected::Malformed,
            })?;
        let claims = data.claims;
        if claims.sub.trim().is_empty() {
            return Err(TokenRejected::MissingClaim("sub".to_string()));
        }
        Principal::from_claims(claims.sub, claims.name, &claims.roles, claims.region, claims.opd)
            .map_err(|error: ScopeError| TokenRejected::BadClaims(error.to_string()))
    }

    fn key_for(&self, kid: Option<&str>) -> Result<&VerificationKey, TokenRejected> {
        match kid {
            Some(kid) => self
                .keys
                .iter()
                .find(|key| key.kid.as_deref() == Some(kid))
                .ok_or(TokenRejected::UnknownKey),
            // Without a kid, only an unambiguous key set can say which key signed.
            None if self.keys.len() == 1 => Ok(&self.keys[0]),
            None => Err(TokenRejected::UnknownKey),
        }
    }
}

/// The header's algorithm and key id, read before anything else so that an unsigned or
/// symmetric token is refused by name rather than as a parse failure.
fn header_of(token: &str) -> Result<(Algorithm, Option<String>), TokenRejected> {
    let mut parts = token.split('.');
    let (Some(header), Some(_), Some(_), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err(TokenRejected::Malformed);
    };
    let bytes = URL_SAFE_NO_PAD.decode(header).map_err(|_| TokenRejected::Malformed)?;
    let header: serde_json::Value = serde_json::from_slice(&bytes).map_err(|_| TokenRejected::Malformed)?;
    let alg = header
        .get("alg")
        .and_then(|alg| alg.as_str())
        .ok_or(TokenRejected::Malformed)?;
    let algorithm = match alg {
        "RS256" => Algorithm::RS256,
        "ES256" => Algorithm::ES256,
        "EdDSA" => Algorithm::EdDSA,
        other if other.eq_ignore_ascii_case("none") => return Err(TokenRejected::Unsigned),
        other => return Err(TokenRejected::UnsupportedAlgorithm(other.to_string())),
    };
    let kid = match header.get("kid") {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::String(kid)) => Some(kid.clone()),
        Some(_) => return Err(TokenRejected::Malformed),
    };
    Ok((algorithm, kid))
}
