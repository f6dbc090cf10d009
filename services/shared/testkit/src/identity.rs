//! The identity provider tests use: one development key set per test process, written to a
//! temporary folder, whose settings a service under test reads and whose tokens the test
//! presents, exactly as a deployment's provider and clients would.

use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

use slrt_auth::dev::{DevKeys, Minter, TokenClaims, pii_key_hex};
use slrt_auth::settings::{AUDIENCE, ISSUER, JWKS_FILE, PII_KEY_FILE, SERVICE_TOKEN_FILE};

pub const TEST_ISSUER: &str = "https://sso.slrt.test/realms/slrt";
pub const TEST_AUDIENCE: &str = "slrt-api";

#[derive(Debug)]
pub struct TestIdentity {
    pub dir: PathBuf,
    minter: Minter,
}

/// The process's test identity provider, made on first use.
pub fn identity() -> &'static TestIdentity {
    static IDENTITY: OnceLock<TestIdentity> = OnceLock::new();
    IDENTITY.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("slrt-test-identity-{}", uuid::Uuid::now_v7().simple()));
        std::fs::create_dir_all(&dir).expect("temporary folder for test keys");
        let keys = DevKeys::generate("test-1").expect("test key pair");
        std::fs::write(dir.join("jwks.json"), &keys.jwks_json).expect("write the test key set");
        std::fs::write(dir.join("pii-key.hex"), pii_key_hex().expect("test NIK key")).expect("write the NIK key");
        let minter = Minter::from_pem("test-1", &keys.signing_key_pem).expect("test signing key");
        let identity = TestIdentity { dir, minter };
        // The services' own token for calls to each other; a test process lives for less
        // than a day.
        let service_token = identity.token_for("service:slrt-test", &["service"], None, None, 24 * 3600);
        std::fs::write(identity.dir.join("service-token"), service_token).expect("write the service token");
        identity
    })
}

impl TestIdentity {
    /// The settings a service under test needs to verify this provider's tokens.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            (JWKS_FILE, self.dir.join("jwks.json").display().to_string()),
            (ISSUER, TEST_ISSUER.to_string()),
            (AUDIENCE, TEST_AUDIENCE.to_string()),
            (PII_KEY_FILE, self.dir.join("pii-key.hex").display().to_string()),
            (SERVICE_TOKEN_FILE, self.dir.join("service-token").display().to_string()),
        ]
    }

    /// A token valid for an hour for `subject` with `roles`, acting within `region` or for
    /// agency `opd`.
    pub fn token(&self, subject: &str, roles: &[&str], region: Option<&str>, opd: Option<&str>) -> String {
        self.token_for(subject, roles, region, opd, 3600)
    }

    /// A token valid for `seconds` (from five seconds ago).
    pub fn token_for(
        &self,
        subject: &str,
        roles: &[&str],
        region: Option<&str>,
        opd: Option<&str>,
        seconds: i64,
    ) -> String {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("clock after 1970")
            .as_secs() as i64;
        self.mint(&TokenClaims {
            iss: TEST_ISSUER.to_string(),
            aud: TEST_AUDIENCE.to_string(),
            sub: subject.to_string(),
            name: String::new(),
            roles: roles.iter().map(|role| role.to_string()).collect(),
            region: region.map(str::to_string),
            opd: opd.map(str::to_string),
            iat: now - 5,
            nbf: now - 5,
            exp: now + seconds,
        })
    }

    /// Signs any claims with the provider's key, to test refusals.
    pub fn mint(&self, claims: &impl serde::Serialize) -> String {
        self.minter.mint(claims).expect("sign a test token")
    }

    /// An HTTP client (as [`crate::http_client`]) that sends a token for `subject` with
    /// every request.
    pub fn http_client_as(
        &self,
        subject: &str,
        roles: &[&str],
        region: Option<&str>,
        opd: Option<&str>,
    ) -> reqwest::Client {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(
            reqwest::header::AUTHORIZATION,
            self.bearer(subject, roles, region, opd)
                .parse()
                .expect("a token is a valid header"),
        );
        reqwest::Client::builder()
            .default_headers(headers)
            .connect_timeout(std::time::Duration::from_secs(10))
            .timeout(2 * crate::SETUP_STEP_TIMEOUT)
            .build()
            .expect("an HTTP client")
    }

    /// `Bearer <token>`, for an Authorization header.
    pub fn bearer(&self, subject: &str, roles: &[&str], region: Option<&str>, opd: Option<&str>) -> String {
        format!("Bearer {}", self.token(subject, roles, region, opd))
    }
}

/// One way a token can be wrong, as a request would carry it.
#[derive(Debug, Clone)]
pub struct BadToken {
    /// What is wrong, for assertion messages.
    pub case: &'static str,
    /// The whole `Authorization` header value; empty means no header at all.
    pub header: String,
    /// A phrase the refusal must contain.
    pub refusal: &'static str,
}

impl TestIdentity {
    /// Every token failure a service must refuse, each otherwise valid for `roles` in
    /// `region` / `opd`: missing, malformed, expired, not yet valid, another audience,
    /// another issuer, unsigned (`alg: none`), an HMAC algorithm, signed by a key the key
    /// set does not hold, and signed by a known key id with another key.
    pub fn bad_tokens(&self, roles: &[&str], region: Option<&str>, opd: Option<&str>) -> Vec<BadToken> {
        use base64::Engine;
        use base64::engine::general_purpose::URL_SAFE_NO_PAD;

        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("clock after 1970")
            .as_secs() as i64;
        let claims = |iss: &str, aud: &str, nbf: i64, exp: i64| TokenClaims {
            iss: iss.to_string(),
            aud: aud.to_string(),
            sub: "bad-token-user".to_string(),
            name: String::new(),
            roles: roles.iter().map(|role| role.to_string()).collect(),
            region: region.map(str::to_string),
            opd: opd.map(str::to_string),
            iat: nbf,
            nbf,
            exp,
        };
        let good = claims(TEST_ISSUER, TEST_AUDIENCE, now - 5, now + 3600);
        let body = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&good).expect("claims as JSON"));
        let header_of = |json: &str| URL_SAFE_NO_PAD.encode(json.as_bytes());
        let stranger = DevKeys::generate("stranger").expect("a key pair nobody trusts");
        let impostor = DevKeys::generate("test-1").expect("a key pair under the trusted key id");
        let sign_with = |keys: &DevKeys, kid: &str| {
            Minter::from_pem(kid, &keys.signing_key_pem)
                .expect("signing key")
                .mint(&good)
                .expect("signed")
        };
        let bearer = |token: String| format!("Bearer {token}");
        vec![
            BadToken {
                case: "no Authorization header",
                header: String::new(),
                refusal: "bearer token is required",
            },
            BadToken {
                case: "not a bearer header",
                header: format!("Basic {}", URL_SAFE_NO_PAD.encode("desk:secret")),
                refusal: "Bearer <token>",
            },
            BadToken {
                case: "not a JWT",
                header: bearer("not-a-token".to_string()),
                refusal: "not a JWT",
            },
            BadToken {
                case: "expired",
                header: bearer(self.mint(&claims(TEST_ISSUER, TEST_AUDIENCE, now - 7200, now - 3600))),
                refusal: "expired",
            },
            BadToken {
                case: "not yet valid",
                header: bearer(self.mint(&claims(TEST_ISSUER, TEST_AUDIENCE, now + 3600, now + 7200))),
                refusal: "not valid yet",
            },
            BadToken {
                case: "another audience",
                header: bearer(self.mint(&claims(TEST_ISSUER, "another-app", now - 5, now + 3600))),
                refusal: "another audience",
            },
            BadToken {
                case: "another issuer",
                header: bearer(self.mint(&claims(
                    "https://sso.elsewhere.test/realms/x",
                    TEST_AUDIENCE,
                    now - 5,
                    now + 3600,
                ))),
                refusal: "another issuer",
            },
            BadToken {
                case: "unsigned (alg none)",
                header: bearer(format!("{}.{body}.", header_of(r#"{"alg":"none","typ":"JWT"}"#))),
                refusal: "unsigned",
            },
            BadToken {
                case: "HMAC algorithm",
                header: bearer(format!(
                    "{}.{body}.{}",
                    header_of(r#"{"alg":"HS256","typ":"JWT","kid":"test-1"}"#),
                    URL_SAFE_NO_PAD.encode([7u8; 32])
                )),
                refusal: "not accepted",
            },
            BadToken {
                case: "signed by an unknown key",
                header: bearer(sign_with(&stranger, "stranger")),
                refusal: "key set does not hold",
            },
            BadToken {
                case: "signed by another key under a trusted key id",
                header: bearer(sign_with(&impostor, "test-1")),
                refusal: "signature does not verify",
            },
        ]
    }
}
