//! The local stack's own identity provider, in miniature: an Ed25519 key pair, its JWKS, and
//! tokens minted with it. For development, tests and training only; a deployment verifies
//! the regency's identity provider's tokens and holds no signing key at all.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::EncodePrivateKey;
use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::Serialize;

/// A generated key pair: the private key as PKCS#8 PEM, the public key as a JWKS document.
#[derive(Debug, Clone)]
pub struct DevKeys {
    pub kid: String,
    pub signing_key_pem: String,
    pub jwks_json: String,
}

impl DevKeys {
    /// A fresh key pair from the operating system's randomness.
    pub fn generate(kid: &str) -> Result<DevKeys, String> {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|error| format!("no randomness for a key: {error}"))?;
        let signing = SigningKey::from_bytes(&seed);
        let pem = signing
            .to_pkcs8_pem(LineEnding::LF)
            .map_err(|error| format!("cannot encode the key: {error}"))?;
        let public = URL_SAFE_NO_PAD.encode(signing.verifying_key().to_bytes());
        let jwks = serde_json::json!({
            "keys": [{ "kty": "OKP", "crv": "Ed25519", "x": public, "kid": kid, "alg": "EdDSA", "use": "sig" }]
        });
        Ok(DevKeys {
            kid: kid.to_string(),
            signing_key_pem: pem.to_string(),
            jwks_json: jwks.to_string(),
        })
    }
}

/// A fresh NIK token key (32 random bytes, hexadecimal), as `SLRT_PII_KEY_FILE` holds it.
pub fn pii_key_hex() -> Result<String, String> {
    let mut key = [0u8; 32];
    getrandom::fill(&mut key).map_err(|error| format!("no randomness for a key: {error}"))?;
    Ok(key.iter().map(|byte| format!("{byte:02x}")).collect())
}

/// The claims of a minted token. Every field is written as given, so tests can mint
/// expired, premature, foreign and malformed tokens as well as good ones.
#[derive(Debug, Clone, Serialize)]
pub struct TokenClaims {
    pub iss: String,
    pub aud: String,
    pub sub: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub name: String,
    pub roles: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub opd: Option<String>,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
}

/// Signs tokens with a development key.
pub struct Minter {
    kid: String,
    key: EncodingKey,
}

impl std::fmt::Debug for Minter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Minter").field("kid", &self.kid).finish_non_exhaustive()
    }
}

impl Minter {
    pub fn from_pem(kid: &str, signing_key_pem: &str) -> Result<Minter, String> {
        let key = EncodingKey::from_ed_pem(signing_key_pem.as_bytes())
            .map_err(|error| format!("not an Ed25519 PKCS#8 PEM key: {error}"))?;
        Ok(Minter {
            kid: kid.to_string(),
            key,
        })
    }

    /// Signs any claims: [`TokenClaims`] for real use, other shapes to test refusals.
    pub fn mint(&self, claims: &impl Serialize) -> Result<String, String> {
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.key).map_err(|error| format!("cannot sign the token: {error}"))
    }
}

/// A certificate with its private key, both PEM.
#[derive(Clone)]
pub struct DevCertificate {
    pub certificate_pem: String,
    pub key_pem: String,
}

impl std::fmt::Debug for DevCertificate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DevCertificate").finish_non_exhaustive()
    }
}

/// The local stack's own certificate authority, for mutual TLS on the gRPC ports: it issues
/// each service and each OPD system a certificate that serves both as a server's and as a
/// client's. A deployment's certificates come from the regency's own authority instead.
pub struct DevAuthority {
    issuer: rcgen::CertifiedIssuer<'static, rcgen::KeyPair>,
}

impl std::fmt::Debug for DevAuthority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DevAuthority").finish_non_exhaustive()
    }
}

impl DevAuthority {
    /// A new authority named `name`, with a fresh key.
    pub fn generate(name: &str) -> Result<Self, String> {
        let mut params = rcgen::CertificateParams::default();
        params.distinguished_name.push(rcgen::DnType::CommonName, name);
        params
            .distinguished_name
            .push(rcgen::DnType::OrganizationName, "SLRT development");
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Constrained(0));
        params.key_usages = vec![
            rcgen::KeyUsagePurpose::KeyCertSign,
            rcgen::KeyUsagePurpose::CrlSign,
            rcgen::KeyUsagePurpose::DigitalSignature,
        ];
        let key = rcgen::KeyPair::generate().map_err(|error| format!("cannot make the authority's key: {error}"))?;
        let issuer = rcgen::CertifiedIssuer::self_signed(params, key)
            .map_err(|error| format!("cannot sign the authority's certificate: {error}"))?;
        Ok(Self { issuer })
    }

    /// Writes the authority's certificate (`ca.pem`) and, for each of `names`, a certificate
    /// it issues (`NAME.pem`) with its key (`NAME-key.pem`, owner only) into `dir`. `ca.pem`
    /// comes last, so that a set cut short is made again by whoever looks for it.
    pub fn write_set(&self, dir: &std::path::Path, names: &[&str]) -> Result<(), String> {
        for name in names {
            let issued = self.issue(name)?;
            let certificate_path = dir.join(format!("{name}.pem"));
            std::fs::write(&certificate_path, &issued.certificate_pem)
                .map_err(|e| format!("{}: {e}", certificate_path.display()))?;
            write_private(&dir.join(format!("{name}-key.pem")), &issued.key_pem)?;
        }
        let authority_path = dir.join("ca.pem");
        std::fs::write(&authority_path, self.certificate_pem())
            .map_err(|e| format!("{}: {e}", authority_path.display()))
    }

    /// The authority's certificate, which servers and clients trust.
    pub fn certificate_pem(&self) -> String {
        self.issuer.pem()
    }

    /// A certificate for `name` (a service or an agency's system) valid for the local host
    /// names (`localhost`, `127.0.0.1`) and `name` itself, for serving and for calling.
    pub fn issue(&self, name: &str) -> Result<DevCertificate, String> {
        let mut params =
            rcgen::CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string(), name.to_string()])
                .map_err(|error| format!("{name:?} cannot name a certificate: {error}"))?;
        params.distinguished_name.push(rcgen::DnType::CommonName, name);
        params
            .distinguished_name
            .push(rcgen::DnType::OrganizationName, "SLRT development");
        params.key_usages = vec![
            rcgen::KeyUsagePurpose::DigitalSignature,
            rcgen::KeyUsagePurpose::KeyEncipherment,
        ];
        params.extended_key_usages = vec![
            rcgen::ExtendedKeyUsagePurpose::ServerAuth,
            rcgen::ExtendedKeyUsagePurpose::ClientAuth,
        ];
        let key = rcgen::KeyPair::generate().map_err(|error| format!("cannot make a key for {name}: {error}"))?;
        let certificate = params
            .signed_by(&key, &*self.issuer)
            .map_err(|error| format!("cannot sign the certificate of {name}: {error}"))?;
        Ok(DevCertificate {
            certificate_pem: certificate.pem(),
            key_pem: key.serialize_pem(),
        })
    }
}

/// Writes a secret file readable by its owner only.
#[cfg(unix)]
pub fn write_private(path: &std::path::Path, content: &str) -> Result<(), String> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    file.write_all(content.as_bytes())
        .map_err(|e| format!("{}: {e}", path.display()))
}
