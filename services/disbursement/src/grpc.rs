//! Disbursement's gRPC API: payments as recorded, for this system's services and for the
//! agencies whose referrals they pay. Mounted behind the platform's guard (the caller's token
//! verified, then rate-limited), so every call here has a caller; who sees what is in
//! [`crate::access::grpc_scope`]. Every call is audited with the people it names.

use slrt_audit::Outcome;
use slrt_audit::access::Access;
use slrt_errors::ApiError;
use slrt_proto::disbursement::v1::disbursement_service_server::DisbursementService;
use slrt_proto::disbursement::v1::{ListPaymentsRequest, ListPaymentsResponse, Payment};
use tonic::{Request, Response, Status};

use crate::app::Disbursement;
use crate::app::payments::{self, PaymentQuery};
use crate::app::scope::{Concerned, MAX_LIMIT};

pub struct Payments {
    pub disbursement: Disbursement,
}

#[tonic::async_trait]
impl DisbursementService for Payments {
    /// The request has no page fields: at most [`MAX_LIMIT`] payments are answered, far more
    /// than one case or beneficiary has (one per period and component).
    async fn list_payments(
        &self,
        request: Request<ListPaymentsRequest>,
    ) -> Result<Response<ListPaymentsResponse>, Status> {
        let principal = slrt_auth::grpc::caller(&request)?.clone();
        let scope = crate::access::grpc_scope(&principal)?;
        let request = request.into_inner();
        // proto3 strings cannot be absent: empty means not given.
        let query = PaymentQuery::parse(Some(&request.case_id), Some(&request.beneficiary_id))?;
        let found = payments::list_payments(&self.disbursement.pool, &query, &scope, MAX_LIMIT, None)
            .await
            .map_err(ApiError::unavailable)?;
        let mut concerned = Concerned::default();
        for (payment, nik_token) in &found {
            concerned.add(nik_token.as_deref(), &payment.beneficiary_id);
        }
        let resource = match &query {
            PaymentQuery::Case(case_id) => format!("case/{case_id}/payments"),
            PaymentQuery::Beneficiary(beneficiary_id) => format!("beneficiary/{beneficiary_id}/payments"),
        };
        // A system's calls carry no purpose header and no grants: it acts for its agency.
        let access = Access {
            principal,
            purpose: None,
            grants: Vec::new(),
        };
        let outcome = if found.is_empty() {
            Outcome::NotFound
        } else {
            Outcome::Allowed
        };
        access
            .audit(
                &self.disbursement.pool,
                "payment.list",
                resource,
                concerned.nik_tokens.clone(),
                outcome,
                concerned.detail(serde_json::json!({ "returned": found.len(), "via": "grpc" })),
            )
            .await?;
        Ok(Response::new(ListPaymentsResponse {
            payments: found
                .into_iter()
                .map(|(payment, _)| Payment {
                    payment_id: payment.payment_id.to_string(),
                    payment_key: payment.payment_key,
                    programme_code: payment.programme_code,
                    period: payment.period,
                    beneficiary_id: payment.beneficiary_id,
                    component: payment.component,
                    amount_idr: payment.amount_idr,
                    status: payment.status,
                    case_id: payment.case_id.to_string(),
                    created_at: payment.created_at.to_rfc3339(),
                })
                .collect(),
        }))
    }
}
