//! Client credentials over a real gRPC socket: the server interceptor lets a valid token in
//! with its principal and refuses everything else; the client interceptor attaches a token
//! from a file an agent keeps fresh.

#![expect(clippy::expect_used, reason = "tests stop loudly on a broken fixture")]

use std::sync::Arc;
use std::time::Duration;

use slrt_auth::dev::{DevKeys, Minter, TokenClaims};
use slrt_auth::grpc::{AttachToken, TokenSource, authenticate};
use slrt_auth::{Verifier, VerifierSettings};
use tokio_stream::wrappers::TcpListenerStream;
use tonic::Code;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Channel, Server};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

const ISSUER: &str = "https://sso.example.go.id/realms/slrt";
const AUDIENCE: &str = "slrt-api";

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs() as i64
}

fn client_credentials(client: &str, roles: &[&str], opd: Option<&str>, exp: i64) -> TokenClaims {
    TokenClaims {
        iss: ISSUER.to_string(),
        aud: AUDIENCE.to_string(),
        sub: client.to_string(),
        name: String::new(),
        roles: roles.iter().map(|r| r.to_string()).collect(),
        region: None,
        opd: opd.map(str::to_string),
        iat: now() - 10,
        nbf: now() - 10,
        exp,
    }
}

/// A health service behind the interceptor on a real socket; returns its address.
async fn serve(keys: &DevKeys) -> String {
    let verifier = Arc::new(
        Verifier::from_jwks(
            &keys.jwks_json,
            VerifierSettings {
                issuer: ISSUER.to_string(),
                audience: AUDIENCE.to_string(),
                leeway_seconds: 0,
            },
        )
        .expect("key set"),
    );
    let (_reporter, health) = tonic_health::server::health_reporter();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address");
    tokio::spawn(async move {
        Server::builder()
            .add_service(InterceptedService::new(health, authenticate(verifier)))
            .serve_with_incoming(TcpListenerStream::new(listener))
            .await
            .expect("server");
    });
    format!("http://{address}")
}

async fn channel(url: &str) -> Channel {
    Channel::from_shared(url.to_string())
        .expect("url")
        .connect()
        .await
        .expect("connect")
}

#[tokio::test]
async fn a_system_with_a_valid_token_is_let_in_and_others_are_refused_by_name() {
    let keys = DevKeys::generate("k1").expect("keys");
    let minter = Minter::from_pem("k1", &keys.signing_key_pem).expect("minter");
    let url = serve(&keys).await;
    let channel = channel(&url).await;

    let good = minter
        .mint(&client_credentials(
            "dinkes-simpus",
            &["opd_system"],
            Some("DINKES"),
            now() + 600,
        ))
        .expect("token");
    let mut client = HealthClient::with_interceptor(channel.clone(), AttachToken::new(TokenSource::Fixed(good)));
    let answer = client.check(HealthCheckRequest::default()).await.expect("let in");
    assert_eq!(answer.into_inner().status, 1, "SERVING");

    let mut anonymous = HealthClient::new(channel.clone());
    let refused = anonymous
        .check(HealthCheckRequest::default())
        .await
        .expect_err("no token");
    assert_eq!(refused.code(), Code::Unauthenticated);
    assert!(
        refused.message().contains("bearer token is required"),
        "{}",
        refused.message()
    );

    let expired = minter
        .mint(&client_credentials(
            "dinkes-simpus",
            &["opd_system"],
            Some("DINKES"),
            now() - 60,
        ))
        .expect("token");
    let mut late = HealthClient::with_interceptor(channel.clone(), AttachToken::new(TokenSource::Fixed(expired)));
    let refused = late.check(HealthCheckRequest::default()).await.expect_err("expired");
    assert_eq!(refused.code(), Code::Unauthenticated);
    assert!(refused.message().contains("expired"), "{}", refused.message());

    // An agency system's token without its agency cannot be scoped, so it is refused.
    let unscoped = minter
        .mint(&client_credentials(
            "unknown-system",
            &["opd_system"],
            None,
            now() + 600,
        ))
        .expect("token");
    let mut unscoped = HealthClient::with_interceptor(channel, AttachToken::new(TokenSource::Fixed(unscoped)));
    let refused = unscoped
        .check(HealthCheckRequest::default())
        .await
        .expect_err("unscoped");
    assert_eq!(refused.code(), Code::Unauthenticated);
    assert!(refused.message().contains("opd"), "{}", refused.message());
}

#[tokio::test]
async fn the_client_reads_its_token_from_a_file_an_agent_keeps_fresh() {
    let keys = DevKeys::generate("k1").expect("keys");
    let minter = Minter::from_pem("k1", &keys.signing_key_pem).expect("minter");
    let url = serve(&keys).await;
    let channel = channel(&url).await;
    let dir = std::env::temp_dir().join(format!("slrt-auth-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let file = dir.join("intake.token");
    std::fs::write(&file, "not-a-token\n").expect("write");
    let attach = AttachToken::new(TokenSource::File {
        path: file.clone(),
        refresh: Duration::ZERO,
    });
    let mut client = HealthClient::with_interceptor(channel, attach);

    let refused = client
        .check(HealthCheckRequest::default())
        .await
        .expect_err("bad token");
    assert_eq!(refused.code(), Code::Unauthenticated);

    let fresh = minter
        .mint(&client_credentials("slrt-intake", &["service"], None, now() + 600))
        .expect("token");
    std::fs::write(&file, format!("{fresh}\n")).expect("rewrite");
    client
        .check(HealthCheckRequest::default())
        .await
        .expect("the rewritten token is used");
    std::fs::remove_dir_all(&dir).ok();
}
