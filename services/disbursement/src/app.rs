//! Disbursement's use cases: open an entitlement from an accepted cash referral (with the
//! release check and its first payment), and read payments and entitlements back, within
//! the caller's scope ([`scope`]).

pub mod batches;
pub mod entitlements;
pub mod lifecycle;
pub mod payments;
pub mod reconcile;
pub mod scope;
pub mod sender;

use slrt_auth::grpc::{AttachToken, TokenSource};
use slrt_eventstore::EventStore;
use slrt_identity::NikTokenizer;
use slrt_proto::eligibility::v1::eligibility_service_client::EligibilityServiceClient;
use slrt_runtime::grpc::PeerChannel;
use sqlx::PgPool;
use tonic::service::interceptor::InterceptedService;

pub type EligibilityClient = EligibilityServiceClient<InterceptedService<PeerChannel, AttachToken>>;

/// A client for eligibility's gRPC API, presenting this service's own token (role
/// `service`) with every call. It connects on first use, so disbursement starts (and answers
/// reads) while eligibility is down; payments wait for it.
pub fn eligibility_client(
    url: &str,
    tls: &slrt_settings::GrpcTls,
    token: TokenSource,
) -> anyhow::Result<EligibilityClient> {
    Ok(EligibilityServiceClient::new(InterceptedService::new(
        slrt_runtime::grpc::peer_channel(url, tls)?,
        AttachToken::new(token),
    )))
}

/// Disbursement's use cases.
#[derive(Clone)]
pub struct Disbursement {
    pub pool: PgPool,
    pub store: EventStore,
    pub eligibility: EligibilityClient,
    /// The paying bank; connects on first use.
    pub bank: sender::BankClient,
    /// How long a call to the bank may take before its outcome counts as unknown.
    pub bank_timeout: std::time::Duration,
    /// The most components of a programme one family may have open (PKH: 4).
    pub component_caps: std::sync::Arc<crate::settings::ComponentCaps>,
    /// Keyed NIK tokens: an entitlement keeps its client's, for the audit of its payments.
    pub nik_tokens: NikTokenizer,
}
