//! Disbursement's use cases: open an entitlement from an accepted cash referral (with the
//! release check and its first payment), and read payments and entitlements back.

pub mod batches;
pub mod entitlements;
pub mod lifecycle;
pub mod payments;
pub mod reconcile;
pub mod sender;

use slrt_eventstore::EventStore;
use slrt_proto::eligibility::v1::eligibility_service_client::EligibilityServiceClient;
use slrt_runtime::grpc::PeerChannel;
use sqlx::PgPool;

pub type EligibilityClient = EligibilityServiceClient<PeerChannel>;

/// A client for eligibility's gRPC API. It connects on first use, so disbursement starts
/// (and answers reads) while eligibility is down; payments wait for it.
pub fn eligibility_client(url: &str) -> Result<EligibilityClient, tonic::codegen::http::uri::InvalidUri> {
    Ok(EligibilityServiceClient::new(slrt_runtime::grpc::peer_channel(url)?))
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
}
