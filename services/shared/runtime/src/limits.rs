//! Rate limits per caller, over HTTP and gRPC together.
//!
//! A caller is the subject of a verified bearer token when the request carries one, and the
//! client's address otherwise, so one user's script cannot starve the desks of a district,
//! and someone without a token cannot flood the verifier. Each caller has a token bucket:
//! `burst` requests at once, refilled at `per_minute` a minute. A refused request is
//! answered 429 (`rate_limited`, with `Retry-After`) or RESOURCE_EXHAUSTED, and runs no
//! handler.
//!
//! The buckets live in the process: with several replicas behind a balancer, each allows
//! the full rate, which the deployment's replica count bounds.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{AUTHORIZATION, HeaderValue, RETRY_AFTER};
use actix_web::middleware::Next;
use actix_web::{ResponseError, web};
use slrt_auth::Verifier;
use slrt_errors::{ApiError, ErrorCode};
use tonic::{Request, Status};

/// Buckets not touched for this long are full again and can be forgotten.
const IDLE_BUCKET: Duration = Duration::from_secs(600);
/// How many buckets may exist before idle ones are swept.
const SWEEP_ABOVE: usize = 10_000;

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// Token buckets keyed by caller.
#[derive(Debug)]
pub struct RateLimiter {
    per_second: f64,
    burst: f64,
    buckets: Mutex<HashMap<String, Bucket>>,
}

impl RateLimiter {
    pub fn new(per_minute: u32, burst: u32) -> RateLimiter {
        RateLimiter {
            per_second: f64::from(per_minute.max(1)) / 60.0,
            burst: f64::from(burst.max(1)),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one request from `caller`'s bucket, or says how long until one is available.
    pub fn check(&self, caller: &str) -> Result<(), Duration> {
        self.check_at(caller, Instant::now())
    }

    fn check_at(&self, caller: &str, now: Instant) -> Result<(), Duration> {
        // A poisoned lock means a panic while holding it; the map is still usable.
        let mut buckets = self.buckets.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if buckets.len() > SWEEP_ABOVE {
            buckets.retain(|_, bucket| now.saturating_duration_since(bucket.at) < IDLE_BUCKET);
        }
        let bucket = buckets.entry(caller.to_string()).or_insert(Bucket {
            tokens: self.burst,
            at: now,
        });
        let elapsed = now.saturating_duration_since(bucket.at).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * self.per_second).min(self.burst);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - bucket.tokens) / self.per_second))
        }
    }
}

fn refusal(wait: Duration) -> ApiError {
    ApiError::new(
        ErrorCode::RateLimited,
        format!(
            "too many requests from this caller; retry in {} s",
            wait.as_secs().max(1)
        ),
    )
}

/// The caller an HTTP request counts against: the verified token's subject, else the peer.
fn http_caller(request: &ServiceRequest) -> String {
    let subject = request
        .app_data::<web::Data<Verifier>>()
        .and_then(|verifier| {
            let value = request.headers().get(AUTHORIZATION)?.to_str().ok()?;
            let token = value
                .strip_prefix("Bearer ")
                .or_else(|| value.strip_prefix("bearer "))?;
            verifier.verify(token.trim()).ok()
        })
        .map(|principal| principal.subject);
    match subject {
        Some(subject) => format!("sub:{subject}"),
        None => format!(
            "addr:{}",
            request
                .peer_addr()
                .map(|addr| addr.ip().to_string())
                .unwrap_or_default()
        ),
    }
}

/// Middleware (`actix_web::middleware::from_fn(rate_limit)`), with the service's
/// [`RateLimiter`] in the app data.
pub async fn rate_limit(
    request: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let verdict = request
        .app_data::<web::Data<RateLimiter>>()
        .map(|limiter| limiter.check(&http_caller(&request)));
    if let Some(Err(wait)) = verdict {
        let mut response = refusal(wait).error_response();
        if let Ok(value) = HeaderValue::from_str(&wait.as_secs().max(1).to_string()) {
            response.headers_mut().insert(RETRY_AFTER, value);
        }
        return Ok(request.into_response(response).map_into_right_body());
    }
    next.call(request).await.map(ServiceResponse::map_into_left_body)
}

/// The gRPC guard of a service: verifies the caller's token (as
/// [`slrt_auth::grpc::authenticate`]) and then counts the call against the caller's bucket.
pub fn grpc_guard(
    verifier: Arc<Verifier>,
    limiter: Arc<RateLimiter>,
) -> impl FnMut(Request<()>) -> Result<Request<()>, Status> + Clone {
    let mut authenticate = slrt_auth::grpc::authenticate(verifier);
    move |request: Request<()>| {
        let request = authenticate(request)?;
        let caller = slrt_auth::grpc::caller(&request)?;
        limiter
            .check(&format!("sub:{}", caller.subject))
            .map_err(|wait| Status::from(refusal(wait)))?;
        Ok(request)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_caller_gets_the_burst_then_the_sustained_rate() {
        let limiter = RateLimiter::new(60, 3);
        let start = Instant::now();

        for _ in 0..3 {
            assert_eq!(limiter.check_at("sub:desk-1", start), Ok(()));
        }
        let wait = limiter.check_at("sub:desk-1", start).expect_err("the fourth at once");
        assert!(wait <= Duration::from_secs(1), "{wait:?}");

        assert_eq!(limiter.check_at("sub:desk-1", start + Duration::from_secs(1)), Ok(()));
        assert!(limiter.check_at("sub:desk-1", start + Duration::from_secs(1)).is_err());
    }

    #[test]
    fn callers_do_not_share_a_bucket() {
        let limiter = RateLimiter::new(60, 1);
        let now = Instant::now();

        assert_eq!(limiter.check_at("sub:desk-1", now), Ok(()));
        assert!(limiter.check_at("sub:desk-1", now).is_err());
        assert_eq!(limiter.check_at("sub:desk-2", now), Ok(()));
        assert_eq!(limiter.check_at("addr:10.0.0.7", now), Ok(()));
    }

    #[test]
    fn a_bucket_refills_no_further_than_the_burst() {
        let limiter = RateLimiter::new(600, 2);
        let now = Instant::now();
        assert_eq!(limiter.check_at("c", now), Ok(()));

        let later = now + Duration::from_secs(3600);
        assert_eq!(limiter.check_at("c", later), Ok(()));
        assert_eq!(limiter.check_at("c", later), Ok(()));
        assert!(limiter.check_at("c", later).is_err());
    }
}
