//! One table of error codes for the whole system, mapped once to an HTTP status and a gRPC
//! code, and the JSON error envelope every HTTP API answers with:
//!
//! ```json
//! {"error": {"code": "invalid_input", "message": "NIK must have 16 digits, found 15", "field": "applicant.nik"}}
//! ```
//!
//! Handlers turn their use-case errors into an [`ApiError`]; the edge does the rest. A 5xx
//! body says nothing internal: the cause is logged once, here, and the client gets a generic
//! sentence.

use actix_web::{HttpResponse, ResponseError, http::StatusCode};
use serde::Serialize;

pub mod body;
pub use body::Json;

/// What went wrong, in terms a client can act on. Each code has exactly one HTTP status and
/// one gRPC code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The request is malformed: bad JSON, a missing or badly shaped field.
    InvalidInput,
    /// The request is well formed but the domain refused it (e.g. an illegal transition).
    Rejected,
    /// No such resource, or none the caller may see.
    NotFound,
    /// The resource changed concurrently, or the same idempotency key is in flight.
    Conflict,
    /// An idempotency key was reused with a different request body.
    IdempotencyKeyReused,
    /// The caller is not authenticated.
    Unauthenticated,
    /// The caller may not do this.
    Forbidden,
    /// The request body is larger than accepted.
    PayloadTooLarge,
    /// The caller sent more requests than their rate allows; retry after the time given.
    RateLimited,
    /// A dependency (database, broker, another service) is unavailable; retry later.
    Unavailable,
    /// A bug or an unexpected failure; the details are in the service's log.
    Internal,
}

impl ErrorCode {
    pub fn http_status(self) -> StatusCode {
        match self {
            Self::InvalidInput => StatusCode::BAD_REQUEST,
            Self::Rejected | Self::IdempotencyKeyReused => StatusCode::UNPROCESSABLE_ENTITY,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::Conflict => StatusCode::CONFLICT,
            Self::Unauthenticated => StatusCode::UNAUTHORIZED,
            Self::Forbidden => StatusCode::FORBIDDEN,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn grpc_code(self) -> tonic::Code {
        match self {
            Self::InvalidInput => tonic::Code::InvalidArgument,
            Self::Rejected | Self::IdempotencyKeyReused => tonic::Code::FailedPrecondition,
            Self::NotFound => tonic::Code::NotFound,
            Self::Conflict => tonic::Code::Aborted,
            Self::Unauthenticated => tonic::Code::Unauthenticated,
            Self::Forbidden => tonic::Code::PermissionDenied,
            Self::PayloadTooLarge | Self::RateLimited => tonic::Code::ResourceExhausted,
            Self::Unavailable => tonic::Code::Unavailable,
            Self::Internal => tonic::Code::Internal,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidInput => "invalid_input",
            Self::Rejected => "rejected",
            Self::NotFound => "not_found",
            Self::Conflict => "conflict",
            Self::IdempotencyKeyReused => "idempotency_key_reused",
            Self::Unauthenticated => "unauthenticated",
            Self::Forbidden => "forbidden",
            Self::PayloadTooLarge => "payload_too_large",
            Self::RateLimited => "rate_limited",
            Self::Unavailable => "unavailable",
            Self::Internal => "internal",
        }
    }

    fn is_server_fault(self) -> bool {
        matches!(self, Self::Unavailable | Self::Internal)
    }
}

/// An error on its way to a client: a code, the sentence a person reads, and the field it is
/// about, if any. The optional cause is logged, never sent.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
    pub field: Option<String>,
    #[source]
    pub cause: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            field: None,
            cause: None,
        }
    }

    /// A malformed field: `field` is its JSON path, e.g. `applicant.nik` or `needs[1].category`.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidInput, message).with_field(field)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::NotFound, message)
    }

    pub fn rejected(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Rejected, message)
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Conflict, message)
    }

    /// A dependency failed; the client is told to retry, the cause goes to the log.
    pub fn unavailable(cause: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self {
            code: ErrorCode::Unavailable,
            message: "a service this request depends on is unavailable; retry later".into(),
            field: None,
            cause: Some(cause.into()),
        }
    }

    /// Unexpected failure; the client gets a generic sentence, the cause goes to the log.
    pub fn internal(cause: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self {
            code: ErrorCode::Internal,
            message: "internal error; it has been logged".into(),
            field: None,
            cause: Some(cause.into()),
        }
    }

    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            error: ErrorDetail {
                code: self.code,
                message: self.message.clone(),
                field: self.field.clone(),
            },
        }
    }

    // Log a failure once, at the boundary where it leaves the service.
    fn log(&self) {
        if self.code.is_server_fault() {
            let cause = self.cause.as_ref().map(|c| error_chain(c.as_ref()));
            tracing::error!(error.code = self.code.as_str(), error.cause = cause, "{}", self.message);
        }
    }
}

/// The JSON error envelope.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    pub code: ErrorCode,
    /// A sentence a person can read.
    pub message: String,
    /// JSON path of the offending field, when the error is about one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

/// `a: b: c` from an error and its sources.
pub fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.code.http_status()
    }

    fn error_response(&self) -> HttpResponse {
        self.log();
        HttpResponse::build(self.status_code()).json(self.body())
    }
}

impl From<ApiError> for tonic::Status {
    fn from(error: ApiError) -> Self {
        error.log();
        let message = match &error.field {
            Some(field) => format!("{field}: {}", error.message),
            None => error.message.clone(),
        };
        tonic::Status::new(error.code.grpc_code(), message)
    }
}

/// Path extractor failures in the same envelope.
pub fn path_error_handler(error: actix_web::error::PathError, _request: &actix_web::HttpRequest) -> actix_web::Error {
    let api = ApiError::new(ErrorCode::InvalidInput, format!("bad path parameter: {error}"));
    actix_web::error::InternalError::from_response(error, api.error_response()).into()
}

/// Query-string extractor failures in the same envelope.
pub fn query_error_handler(
    error: actix_web::error::QueryPayloadError,
    _request: &actix_web::HttpRequest,
) -> actix_web::Error {
    let api = ApiError::new(ErrorCode::InvalidInput, format!("bad query parameter: {error}"));
    actix_web::error::InternalError::from_response(error, api.error_response()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_maps_to_a_client_or_server_status_consistently() {
        for code in [
            ErrorCode::InvalidInput,
            ErrorCode::Rejected,
            ErrorCode::NotFound,
            ErrorCode::Conflict,
            ErrorCode::IdempotencyKeyReused,
            ErrorCode::Unauthenticated,
            ErrorCode::Forbidden,
            ErrorCode::PayloadTooLarge,
            ErrorCode::RateLimited,
        ] {
            assert!(code.http_status().is_client_error(), "{code:?}");
            assert_ne!(code.grpc_code(), tonic::Code::Internal, "{code:?}");
        }
        assert!(ErrorCode::Internal.http_status().is_server_error());
        assert!(ErrorCode::Unavailable.http_status().is_server_error());
    }

    #[test]
    fn internal_errors_do_not_leak_their_cause_to_the_client() {
        let error = ApiError::internal(std::io::Error::other("password=hunter2"));
        let body = serde_json::to_string(&error.body()).unwrap_or_default();
        assert!(!body.contains("hunter2"), "{body}");
        assert!(body.contains("\"code\":\"internal\""), "{body}");
    }
}
