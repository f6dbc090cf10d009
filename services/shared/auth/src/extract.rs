//! The actix-web side: a handler that takes a [`Principal`] argument gets the verified
//! caller, or the request is answered 401 before the handler runs.

use std::future::{Ready, ready};

use actix_web::dev::Payload;
use actix_web::http::header::AUTHORIZATION;
use actix_web::{FromRequest, HttpRequest, web};
use slrt_errors::{ApiError, ErrorCode};

use crate::principal::Principal;
use crate::verifier::Verifier;

impl FromRequest for Principal {
    type Error = ApiError;
    type Future = Ready<Result<Principal, ApiError>>;

    fn from_request(request: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        ready(authenticate(request))
    }
}

fn unauthenticated(message: String) -> ApiError {
    ApiError::new(ErrorCode::Unauthenticated, message).with_field("authorization")
}

fn authenticate(request: &HttpRequest) -> Result<Principal, ApiError> {
    let Some(verifier) = request.app_data::<web::Data<Verifier>>() else {
        // A wiring mistake, not the caller's: refuse rather than let anyone in.
        return Err(ApiError::internal("no token verifier is configured for this app"));
    };
    let header = request
        .headers()
        .get(AUTHORIZATION)
        .ok_or_else(|| unauthenticated("a bearer token is required (Authorization: Bearer <token>)".to_string()))?;
    let value = header
        .to_str()
        .map_err(|_| unauthenticated("the Authorization header is not text".to_string()))?;
    let token = value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))
        .map(str::trim)
        .filter(|token| !token.is_empty())
        .ok_or_else(|| unauthenticated("the Authorization header must be \"Bearer <token>\"".to_string()))?;
    verifier
        .verify(token)
        .map_err(|rejected| unauthenticated(format!("the token was refused: {rejected}")))
}
