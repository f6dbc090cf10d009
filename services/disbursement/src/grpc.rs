//! Disbursement's gRPC API: payments as recorded, for OPD systems and auditors.

use slrt_errors::ApiError;
use slrt_proto::disbursement::v1::disbursement_service_server::DisbursementService;
use slrt_proto::disbursement::v1::{ListPaymentsRequest, ListPaymentsResponse, Payment};
use tonic::{Request, Response, Status};

use crate::app::Disbursement;
use crate::app::payments::{self, PaymentQuery};

pub struct Payments {
    pub disbursement: Disbursement,
}

#[tonic::async_trait]
impl DisbursementService for Payments {
    async fn list_payments(
        &self,
        request: Request<ListPaymentsRequest>,
    ) -> Result<Response<ListPaymentsResponse>, Status> {
        let request = request.into_inner();
        // proto3 strings cannot be absent: empty means not given.
        let query = PaymentQuery::parse(Some(&request.case_id), Some(&request.beneficiary_id))?;
        let found = payments::list_payments(&self.disbursement.pool, &query)
            .await
            .map_err(ApiError::unavailable)?;
        Ok(Response::new(ListPaymentsResponse {
            payments: found
                .into_iter()
                .map(|payment| Payment {
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
