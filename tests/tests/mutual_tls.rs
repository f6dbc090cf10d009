//! Mutual TLS on the gRPC ports: with the `SLRT_GRPC_TLS_*` settings, every gRPC port
//! speaks TLS only and admits only a client presenting a certificate of the regency's
//! authority, and the services call each other the same way. Tokens still decide who the
//! caller is and what it may do; the certificate decides whether it may connect at all.

#![expect(clippy::unwrap_used, reason = "tests")]

use std::time::Duration;

use serde_json::json;
use slrt_proto::referral::v1::ListOpenReferralsRequest;
use slrt_proto::referral::v1::opd_referral_service_client::OpdReferralServiceClient;
use slrt_system_tests::{Stack, StackCertificates};
use tonic::metadata::MetadataValue;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Identity};

/// The Dinas Sosial system's request: a client-credentials token naming the agency.
fn as_dinsos_system<T>(message: T) -> tonic::Request<T> {
    let token = slrt_testkit::identity().token("dinsos-system", &["opd_system"], None, Some("DINSOS"));
    let mut request = tonic::Request::new(message);
    request.metadata_mut().insert(
        "authorization",
        MetadataValue::try_from(format!("Bearer {token}")).unwrap(),
    );
    request
}

/// A channel to `url` trusting `authority`, presenting `identity` if given.
async fn channel(url: &str, authority: &str, identity: Option<(String, String)>) -> Result<Channel, String> {
    let mut tls = ClientTlsConfig::new().ca_certificate(Certificate::from_pem(authority));
    if let Some((certificate, key)) = identity {
        tls = tls.identity(Identity::from_pem(certificate, key));
    }
    Channel::from_shared(url.to_string())
        .unwrap()
        .tls_config(tls)
        .map_err(|error| error.to_string())?
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(10))
        .connect()
        .await
        .map_err(|error| format!("{error:?}"))
}

/// What listing Dinas Sosial's open referrals over `channel` answers: the case ids, or why not.
async fn list_open(channel: Result<Channel, String>) -> Result<Vec<String>, String> {
    let mut client = OpdReferralServiceClient::new(channel?);
    let listed = client
        .list_open_referrals(as_dinsos_system(ListOpenReferralsRequest {
            limit: 100,
            page_token: String::new(),
        }))
        .await
        .map_err(|status| format!("{status:?}"))?;
    Ok(listed
        .into_inner()
        .referrals
        .iter()
        .filter_map(|referral| referral.details.as_ref().map(|details| details.case_id.clone()))
        .collect())
}

#[tokio::test]
async fn with_mutual_tls_the_services_work_together_and_only_holders_of_the_regencys_certificates_connect() {
    let certificates = StackCertificates::generate(&["dinsos-system"]);
    let stack = Stack::start_with_mutual_tls(&certificates).await;
    let authority = certificates.authority_pem();
    let referral = stack.service("referral").grpc();
    assert!(referral.starts_with("https://"), "{referral}");

    // The desk's pre-screen is intake calling eligibility over mutual TLS.
    let staff = slrt_testkit::identity().http_client_as(
        "staff-jateng",
        &["desk_operator", "back_office", "coordinator", "supervisor"],
        Some("33"),
        None,
    );
    let response = staff
        .post(format!("{}/v1/cases", stack.service("intake").http()))
        .json(&json!({
            "applicant": {
                "nik": "3375021501780001", "full_name": "Darto", "birth_date": "1978-01-15",
                "sex": "M", "region_code": "33.75.02.1004", "kk_number": "3375020409120011"
            },
            "needs": [{"category": "cash_assistance", "description": "lost his job"}],
            "desk_region_code": "33.75.02.1004"
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201, "{}", stack.all_logs());
    let created: serde_json::Value = response.json().await.unwrap();
    assert_eq!(
        created["screening"]["performed"],
        true,
        "the pre-screen reached eligibility over mutual TLS: {created}\n{}",
        stack.all_logs()
    );
    let case_id = created["case_id"].as_str().unwrap().to_string();

    // Dinas Sosial's system, with its certificate and its token, sees the referral that
    // eligibility's decision and referral's routing produced.
    let dinsos = certificates.identity_pem("dinsos-system");
    slrt_testkit::eventually(
        Duration::from_secs(60),
        "the referral reaches Dinas Sosial over mutual TLS",
        || {
            let (authority, dinsos, referral, case_id) =
                (authority.clone(), dinsos.clone(), referral.clone(), case_id.clone());
            async move {
                match list_open(channel(&referral, &authority, Some(dinsos)).await).await {
                    Ok(cases) if cases.contains(&case_id) => Some(()),
                    _ => None,
                }
            }
        },
    )
    .await;

    // Without a client certificate, with one of another authority, or in plain text, the
    // port admits nobody, token or not.
    let no_certificate = list_open(channel(&referral, &authority, None).await).await;
    assert!(no_certificate.is_err(), "no client certificate: {no_certificate:?}");

    let strangers = slrt_auth::dev::DevAuthority::generate("another authority").unwrap();
    let stranger = strangers.issue("dinsos-system").unwrap();
    let foreign = list_open(
        channel(
            &referral,
            &authority,
            Some((stranger.certificate_pem, stranger.key_pem)),
        )
        .await,
    )
    .await;
    assert!(foreign.is_err(), "a certificate of another authority: {foreign:?}");

    let plain_url = referral.replacen("https://", "http://", 1);
    let plain = list_open(
        Channel::from_shared(plain_url)
            .unwrap()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(10))
            .connect()
            .await
            .map_err(|error| format!("{error:?}")),
    )
    .await;
    assert!(plain.is_err(), "plain text: {plain:?}");

    // And a client that trusts only another authority does not take the service's word.
    let impostor_check = list_open(
        channel(
            &referral,
            &strangers.certificate_pem(),
            Some(certificates.identity_pem("dinsos-system")),
        )
        .await,
    )
    .await;
    assert!(
        impostor_check.is_err(),
        "a server certificate of an untrusted authority: {impostor_check:?}"
    );
}
