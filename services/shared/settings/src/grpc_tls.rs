//! Transport security of the gRPC interfaces: this service's certificate, the authorities
//! whose client certificates it requires (mutual TLS), and the authorities it trusts when it
//! calls another service or an outside system over `https://`.
//!
//! Every value is a file, so that a deployment mounts them from its secret store. Tokens
//! still say who a caller is and what it may do; the certificates make sure that only the
//! regency's own systems reach a gRPC port at all, over an encrypted connection.

use std::fmt;

use crate::SettingsError;

pub const CERT_FILE: &str = "SLRT_GRPC_TLS_CERT_FILE";
pub const KEY_FILE: &str = "SLRT_GRPC_TLS_KEY_FILE";
pub const CLIENT_CA_FILE: &str = "SLRT_GRPC_TLS_CLIENT_CA_FILE";
pub const CA_FILE: &str = "SLRT_GRPC_TLS_CA_FILE";

/// A certificate chain and its private key, both PEM.
#[derive(Clone)]
pub struct PemIdentity {
    pub certificate: String,
    pub key: String,
}

/// How gRPC connections are secured. The default (nothing set) is plain HTTP/2, for a
/// deployment that terminates TLS in front of the services.
#[derive(Clone, Default)]
pub struct GrpcTls {
    /// This service's certificate and key (`SLRT_GRPC_TLS_CERT_FILE`, `SLRT_GRPC_TLS_KEY_FILE`).
    /// When set, the gRPC server speaks TLS only, and calls to `https://` peers present it as
    /// the client certificate.
    pub identity: Option<PemIdentity>,
    /// The authorities whose client certificates the server requires
    /// (`SLRT_GRPC_TLS_CLIENT_CA_FILE`): a client without one is refused in the handshake.
    pub client_ca: Option<String>,
    /// The authorities trusted for the server certificates of `https://` peers
    /// (`SLRT_GRPC_TLS_CA_FILE`).
    pub peer_ca: Option<String>,
}

impl fmt::Debug for GrpcTls {
    // Says what is configured, never the key.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GrpcTls")
            .field("identity", &self.identity.is_some())
            .field("client_ca", &self.client_ca.is_some())
            .field("peer_ca", &self.peer_ca.is_some())
            .finish()
    }
}

impl GrpcTls {
    /// Reads the four settings through `lookup`; each file must hold what its name says.
    pub fn from_lookup(lookup: &impl Fn(&str) -> Option<String>) -> Result<Self, SettingsError> {
        let path = |variable: &str| {
            lookup(variable)
                .map(|value| value.trim().to_string())
                .filter(|value| !value.is_empty())
        };
        let certificate = path(CERT_FILE)
            .map(|file| read_pem(CERT_FILE, &file, "CERTIFICATE", "a PEM certificate"))
            .transpose()?;
        let key = path(KEY_FILE)
            .map(|file| read_pem(KEY_FILE, &file, "PRIVATE KEY", "a PEM private key"))
            .transpose()?;
        let identity = match (certificate, key) {
            (Some(certificate), Some(key)) => Some(PemIdentity { certificate, key }),
            (None, None) => None,
            (Some(_), None) => return Err(invalid(KEY_FILE, format!("required when {CERT_FILE} is set"))),
            (None, Some(_)) => return Err(invalid(CERT_FILE, format!("required when {KEY_FILE} is set"))),
        };
        let client_ca = path(CLIENT_CA_FILE)
            .map(|file| read_pem(CLIENT_CA_FILE, &file, "CERTIFICATE", "PEM certificates of authorities"))
            .transpose()?;
        if client_ca.is_some() && identity.is_none() {
            return Err(invalid(
                CLIENT_CA_FILE,
                format!(
                    "requiring client certificates needs the service's own certificate: set {CERT_FILE} and {KEY_FILE}"
                ),
            ));
        }
        let peer_ca = path(CA_FILE)
            .map(|file| read_pem(CA_FILE, &file, "CERTIFICATE", "PEM certificates of authorities"))
            .transpose()?;
        Ok(Self {
            identity,
            client_ca,
            peer_ca,
        })
    }
}

fn invalid(variable: &str, reason: impl Into<String>) -> SettingsError {
    SettingsError {
        variable: variable.to_string(),
        reason: reason.into(),
    }
}

/// Reads a PEM file, refusing one without a block of `label` (a key given for a
/// certificate, an empty file) by the variable's name.
fn read_pem(variable: &str, path: &str, label: &str, what: &str) -> Result<String, SettingsError> {
    let text =
        std::fs::read_to_string(path).map_err(|error| invalid(variable, format!("cannot read {path}: {error}")))?;
    let begins = text
        .lines()
        .any(|line| line.starts_with("-----BEGIN ") && line.trim_end().ends_with(&format!("{label}-----")));
    if !begins {
        return Err(invalid(variable, format!("{path} does not hold {what}")));
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    const CERT: &str = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
    const KEY: &str = "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n";

    struct Files(std::path::PathBuf);

    impl Files {
        fn new(name: &str) -> Self {
            let dir = std::env::temp_dir().join(format!("slrt-grpc-tls-{name}-{}", std::process::id()));
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(dir.join("cert.pem"), CERT).unwrap();
            std::fs::write(dir.join("key.pem"), KEY).unwrap();
            Self(dir)
        }

        fn path(&self, file: &str) -> String {
            self.0.join(file).display().to_string()
        }
    }

    impl Drop for Files {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn read(vars: &[(&str, String)]) -> Result<GrpcTls, SettingsError> {
        let env: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.clone())).collect();
        GrpcTls::from_lookup(&|name: &str| env.get(name).cloned())
    }

    #[test]
    fn nothing_set_is_plain_http2() {
        let tls = read(&[]).unwrap();
        assert!(tls.identity.is_none() && tls.client_ca.is_none() && tls.peer_ca.is_none());
    }

    #[test]
    fn a_certificate_key_and_authorities_are_read() {
        let files = Files::new("full");
        let tls = read(&[
            (CERT_FILE, files.path("cert.pem")),
            (KEY_FILE, files.path("key.pem")),
            (CLIENT_CA_FILE, files.path("cert.pem")),
            (CA_FILE, files.path("cert.pem")),
        ])
        .unwrap();
        assert_eq!(tls.identity.as_ref().map(|identity| identity.key.as_str()), Some(KEY));
        assert_eq!(tls.client_ca.as_deref(), Some(CERT));
        assert!(!format!("{tls:?}").contains("MIIE"), "the key never shows in Debug");
    }

    #[test]
    fn a_half_configured_or_wrong_file_is_refused_naming_the_variable() {
        let files = Files::new("bad");
        let refused = |vars: &[(&str, String)]| read(vars).err().map(|error| error.variable);
        assert_eq!(
            refused(&[(CERT_FILE, files.path("cert.pem"))]),
            Some(KEY_FILE.to_string())
        );
        assert_eq!(
            refused(&[(KEY_FILE, files.path("key.pem"))]),
            Some(CERT_FILE.to_string())
        );
        assert_eq!(
            refused(&[(CERT_FILE, files.path("key.pem")), (KEY_FILE, files.path("key.pem"))]),
            Some(CERT_FILE.to_string())
        );
        assert_eq!(
            refused(&[(CERT_FILE, files.path("cert.pem")), (KEY_FILE, files.path("cert.pem"))]),
            Some(KEY_FILE.to_string())
        );
        assert_eq!(
            refused(&[(CLIENT_CA_FILE, files.path("cert.pem"))]),
            Some(CLIENT_CA_FILE.to_string())
        );
        assert_eq!(
            refused(&[(CA_FILE, files.path("missing.pem"))]),
            Some(CA_FILE.to_string())
        );
    }
}
