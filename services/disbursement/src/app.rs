//! Disbursement's use cases: open an entitlement from an accepted cash referral (with the
//! release check and its first payment), and read payments and entitlements back.

pub mod entitlements;
pub mod payments;

use std::time::Duration;

use slrt_eventstore::EventStore;
use slrt_proto::eligibility::v1::eligibility_service_client::EligibilityServiceClient;
use slrt_runtime::grpc::PropagateTrace;
use sqlx::PgPool;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

pub type EligibilityClient = EligibilityServiceClient<InterceptedService<Channel, PropagateTrace>>;

/// A client for eligibility's gRPC API. The connection is made on first use, so
/// disbursement starts (and answers reads) while eligibility is down; payments wait for it.
pub fn eligibility_client(url: &str) -> Result<EligibilityClient, tonic::codegen::http::uri::InvalidUri> {
    let channel = Channel::from_shared(url.to_string())?
        .connect_timeout(Duration::from_secs(2))
        .timeout(Duration::from_secs(3))
        .connect_lazy();
    Ok(EligibilityServiceClient::with_interceptor(channel, PropagateTrace))
}

/// Disbursement's use cases.
#[derive(Clone)]
pub struct Disbursement {
    pub pool: PgPool,
    pub store: EventStore,
    pub eligibility: EligibilityClient,
}
