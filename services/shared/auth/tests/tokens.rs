//! Every way a bearer token can be wrong, through the public API: the verifier and the
//! actix-web extractor a handler uses.

#![expect(clippy::expect_used, reason = "tests stop loudly on a broken fixture")]

use actix_web::{App, HttpResponse, test as web_test, web};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use slrt_auth::dev::{DevKeys, Minter, TokenClaims};
use slrt_auth::{KeySetError, Principal, Role, TokenRejected, Verifier, VerifierSettings};

const ISSUER: &str = "https://sso.example.go.id/realms/slrt";
const AUDIENCE: &str = "slrt-api";
const NOW: i64 = 1_790_000_000;

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs() as i64
}

struct Provider {
    keys: DevKeys,
    minter: Minter,
}

fn provider(kid: &str) -> Provider {
    let keys = DevKeys::generate(kid).expect("key pair");
    let minter = Minter::from_pem(kid, &keys.signing_key_pem).expect("signing key");
    Provider { keys, minter }
}

fn verifier(keys: &DevKeys) -> Verifier {
    Verifier::from_jwks(
        &keys.jwks_json,
        VerifierSettings {
            issuer: ISSUER.to_string(),
            audience: AUDIENCE.to_string(),
            leeway_seconds: 30,
        },
    )
    .expect("key set")
}

fn claims() -> TokenClaims {
    let now = now();
    TokenClaims {
        iss: ISSUER.to_string(),
        aud: AUDIENCE.to_string(),
        sub: "fo-3375-01".to_string(),
        name: "Sri Wahyuni".to_string(),
        roles: vec!["desk_operator".to_string()],
        region: Some("33.75.01".to_string()),
        opd: None,
        iat: now,
        nbf: now,
        exp: now + 3600,
    }
}

/// A token with the given header and payload and a made-up signature.
fn forged(header: serde_json::Value, payload: serde_json::Value, signature: &str) -> String {
    format!(
        "{}.{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(payload.to_string()),
        signature
    )
}

#[test]
fn a_good_token_yields_the_person_their_roles_and_their_area() {
    let idp = provider("k1");
    let token = idp.minter.mint(&claims()).expect("token");

    let principal = verifier(&idp.keys).verify(&token).expect("accepted");

    assert_eq!(principal.subject, "fo-3375-01");
    assert!(principal.has(Role::DeskOperator));
    assert!(principal.covers_region("33.75.01.1002"));
    assert!(!principal.covers_region("33.75.02.1001"));
}

#[test]
fn expired_and_not_yet_valid_tokens_are_refused_beyond_the_leeway() {
    let idp = provider("k1");
    let verifier = verifier(&idp.keys);
    let now = now();

    let expired = TokenClaims {
        iat: now - 7200,
        nbf: now - 7200,
        exp: now - 120,
        ..claims()
    };
    let premature = TokenClaims {
        nbf: now + 600,
        exp: now + 3600,
        ..claims()
    };
    let within_leeway = TokenClaims {
        exp: now - 5,
        ..claims()
    };

    assert_eq!(
        verifier.verify(&idp.minter.mint(&expired).expect("token")),
        Err(TokenRejected::Expired)
    );
    assert_eq!(
        verifier.verify(&idp.minter.mint(&premature).expect("token")),
        Err(TokenRejected::NotYetValid)
    );
    assert!(
        verifier
            .verify(&idp.minter.mint(&within_leeway).expect("token"))
            .is_ok()
    );
}

#[test]
fn another_issuer_or_audience_is_refused() {
    let idp = provider("k1");
    let verifier = verifier(&idp.keys);

    let foreign_issuer = TokenClaims {
        iss: "https://sso.other-regency.go.id/realms/slrt".to_string(),
        ..claims()
    };
    let foreign_audience = TokenClaims {
        aud: "simpeg".to_string(),
        ..claims()
    };

    assert_eq!(
        verifier.verify(&idp.minter.mint(&foreign_issuer).expect("token")),
        Err(TokenRejected::WrongIssuer)
    );
    assert_eq!(
        verifier.verify(&idp.minter.mint(&foreign_audience).expect("token")),
        Err(TokenRejected::WrongAudience)
    );
}

#[test]
fn an_unsigned_token_is_refused_whatever_the_spelling_of_none() {
    let idp = provider("k1");
    let verifier = verifier(&idp.keys);
    let payload = serde_json::to_value(claims()).expect("claims");

    for alg in ["none", "None", "NONE"] {
        let token = forged(serde_json::json!({ "alg": alg, "typ": "JWT" }), payload.clone(), "");
        assert_eq!(verifier.verify(&token), Err(TokenRejected::Unsigned), "alg {alg}");
    }
}

#[test]
fn a_symmetric_algorithm_is_refused_so_the_public_key_cannot_be_used_as_a_secret() {
    let idp = provider("k1");
    let payload = serde_json::to_value(claims()).expect("claims");
    let token = forged(
        serde_json::json!({ "alg": "HS256", "kid": "k1" }),
        payload,
        "c2lnbmF0dXJl",
    );

    assert_eq!(
        verifier(&idp.keys).verify(&token),
        Err(TokenRejected::UnsupportedAlgorithm("HS256".to_string()))
    );
}

#[test]
fn a_token_signed_by_another_key_is_refused() {
    let ours = provider("k1");
    // Someone else's key under our key id: the signature cannot verify.
    let impostor = provider("k1");
    let token = impostor.minter.mint(&claims()).expect("token");

    assert_eq!(verifier(&ours.keys).verify(&token), Err(TokenRejected::BadSignature));
}

#[test]
fn a_tampered_payload_is_refused() {
    let idp = provider("k1");
    let token = idp.minter.mint(&claims()).expect("token");
    let parts: Vec<&str> = token.split('.').collect();
    let mut payload = serde_json::to_value(claims()).expect("claims");
    payload["roles"] = serde_json::json!(["administrator"]);
    let tampered = format!(
        "{}.{}.{}",
        parts[0],
        URL_SAFE_NO_PAD.encode(payload.to_string()),
        parts[2]
    );

    assert_eq!(verifier(&idp.keys).verify(&tampered), Err(TokenRejected::BadSignature));
}

#[test]
fn an_unknown_key_id_a_missing_subject_and_garbage_are_refused_by_name() {
    let idp = provider("k1");
    let other = provider("k2");
    let verifier = verifier(&idp.keys);

    assert_eq!(
        verifier.verify(&other.minter.mint(&claims()).expect("token")),
        Err(TokenRejected::UnknownKey)
    );

    let mut payload = serde_json::to_value(claims()).expect("claims");
    payload.as_object_mut().expect("object").remove("sub");
    let no_subject = idp.minter.mint(&payload).expect("token");
    assert_eq!(
        verifier.verify(&no_subject),
        Err(TokenRejected::MissingClaim("sub".to_string()))
    );

    for garbage in ["", "abc", "a.b", "a.b.c.d", "!!!.???.***"] {
        assert_eq!(verifier.verify(garbage), Err(TokenRejected::Malformed), "{garbage:?}");
    }
}

#[test]
fn claims_that_cannot_be_scoped_are_refused() {
    let idp = provider("k1");
    let verifier = verifier(&idp.keys);
    let no_area = TokenClaims {
        region: None,
        ..claims()
    };
    let unknown_role = TokenClaims {
        roles: vec!["superuser".to_string()],
        ..claims()
    };

    assert!(matches!(
        verifier.verify(&idp.minter.mint(&no_area).expect("token")),
        Err(TokenRejected::BadClaims(message)) if message.contains("region")
    ));
    assert!(matches!(
        verifier.verify(&idp.minter.mint(&unknown_role).expect("token")),
        Err(TokenRejected::BadClaims(message)) if message.contains("superuser")
    ));
}

#[test]
fn a_key_set_of_shared_secrets_or_nothing_is_refused_at_start() {
    let settings = VerifierSettings {
        issuer: ISSUER.to_string(),
        audience: AUDIENCE.to_string(),
        leeway_seconds: 30,
    };
    let secret = r#"{"keys":[{"kty":"oct","k":"c2VjcmV0","kid":"s1","alg":"HS256"}]}"#;

    assert!(matches!(
        Verifier::from_jwks(secret, settings.clone()),
        Err(KeySetError::Symmetric { index: 0 })
    ));
    assert!(matches!(
        Verifier::from_jwks(r#"{"keys":[]}"#, settings.clone()),
        Err(KeySetError::Empty)
    ));
    assert!(matches!(
        Verifier::from_jwks("not json", settings),
        Err(KeySetError::NotAKeySet(_))
    ));
}

async fn whoami(principal: Principal) -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({ "subject": principal.subject }))
}

#[actix_web::test]
async fn a_handler_sees_the_verified_caller_or_the_request_is_answered_401() {
    let idp = provider("k1");
    let app = web_test::init_service(
        App::new()
            .app_data(web::Data::new(verifier(&idp.keys)))
            .route("/whoami", web::get().to(whoami)),
    )
    .await;
    let good = idp.minter.mint(&claims()).expect("token");
    let expired = idp
        .minter
        .mint(&TokenClaims {
            exp: NOW,
            nbf: NOW - 10,
            iat: NOW - 10,
            ..claims()
        })
        .expect("token");

    let ok = web_test::call_service(
        &app,
        web_test::TestRequest::get()
            .uri("/whoami")
            .insert_header(("Authorization", format!("Bearer {good}")))
            .to_request(),
    )
    .await;
    assert_eq!(ok.status(), 200);

    for (header, reason) in [
        (None, "bearer token is required"),
        (Some("Basic Zm86YmFy".to_string()), "Bearer <token>"),
        (Some(format!("Bearer {expired}")), "expired"),
    ] {
        let mut request = web_test::TestRequest::get().uri("/whoami");
        if let Some(header) = header {
            request = request.insert_header(("Authorization", header));
        }
        let response = web_test::call_service(&app, request.to_request()).await;
        assert_eq!(response.status(), 401);
        let body: serde_json::Value = web_test::read_body_json(response).await;
        let text = body.to_string();
        assert!(text.contains(reason), "{text}");
        assert!(text.contains("authorization"), "{text}");
    }
}
