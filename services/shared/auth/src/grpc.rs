//! The gRPC side: a server interceptor that verifies the caller's bearer token (client
//! credentials for OPD systems, feeds and our own services; a person's token for the OPD
//! command-line client) and leaves the [`Principal`] in the request's extensions, and a
//! client interceptor that attaches this service's own token to outgoing calls.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tonic::metadata::MetadataValue;
use tonic::{Request, Status};

use crate::principal::Principal;
use crate::verifier::Verifier;

/// A server interceptor: every call without a valid token is answered UNAUTHENTICATED
/// before any handler runs.
pub fn authenticate(verifier: Arc<Verifier>) -> impl FnMut(Request<()>) -> Result<Request<()>, Status> + Clone {
    move |mut request: Request<()>| {
        let value = request
            .metadata()
            .get("authorization")
            .ok_or_else(|| Status::unauthenticated("authorization: a bearer token is required"))?;
        let text = value
            .to_str()
            .map_err(|_| Status::unauthenticated("authorization: the metadata value is not text"))?;
        let token = text
            .strip_prefix("Bearer ")
            .or_else(|| text.strip_prefix("bearer "))
            .map(str::trim)
            .filter(|token| !token.is_empty())
            .ok_or_else(|| Status::unauthenticated("authorization: must be \"Bearer <token>\""))?;
        let principal = verifier
            .verify(token)
            .map_err(|rejected| Status::unauthenticated(format!("authorization: the token was refused: {rejected}")))?;
        request.extensions_mut().insert(principal);
        Ok(request)
    }
}

/// The caller of a request that passed [`authenticate`].
pub fn caller<T>(request: &Request<T>) -> Result<&Principal, Status> {
    request
        .extensions()
        .get::<Principal>()
        // Only reachable when a service is mounted without the interceptor: refuse.
        .ok_or_else(|| Status::unauthenticated("authorization: the call was not authenticated"))
}

/// Where this service's own token comes from.
#[derive(Debug, Clone)]
pub enum TokenSource {
    /// A fixed token (tests).
    Fixed(String),
    /// A file that an agent outside the service keeps fresh (the client-credentials grant
    /// is the identity provider's business, not each service's); re-read at most every
    /// `refresh`.
    File { path: PathBuf, refresh: Duration },
}

#[derive(Debug)]
struct Cached {
    token: String,
    read_at: Option<Instant>,
}

/// A client interceptor attaching `authorization: Bearer <token>` from a [`TokenSource`].
#[derive(Debug, Clone)]
pub struct AttachToken {
    source: Arc<TokenSource>,
    cached: Arc<Mutex<Cached>>,
}

impl AttachToken {
    pub fn new(source: TokenSource) -> AttachToken {
        let token = match &source {
            TokenSource::Fixed(token) => token.clone(),
            TokenSource::File { .. } => String::new(),
        };
        AttachToken {
            source: Arc::new(source),
            cached: Arc::new(Mutex::new(Cached { token, read_at: None })),
        }
    }

    fn current(&self) -> Result<String, Status> {
        let TokenSource::File { path, refresh } = self.source.as_ref() else {
            let cached = self
                .cached
                .lock()
                .map_err(|_| Status::internal("token cache poisoned"))?;
            return Ok(cached.token.clone());
        };
        let mut cached = self
            .cached
            .lock()
            .map_err(|_| Status::internal("token cache poisoned"))?;
        let stale = cached.read_at.is_none_or(|at| at.elapsed() >= *refresh);
        if stale {
            match std::fs::read_to_string(path) {
                Ok(text) => {
                    cached.token = text.trim().to_string();
                    cached.read_at = Some(Instant::now());
                }
                // Keep the last good token (the agent may be rewriting the file); the
                // server refuses it by name once it has expired.
                Err(_) if !cached.token.is_empty() => {}
                Err(error) => {
                    return Err(Status::unauthenticated(format!(
                        "this service's token file {} cannot be read: {error}",
                        path.display()
                    )));
                }
            }
        }
        Ok(cached.token.clone())
    }
}

impl tonic::service::Interceptor for AttachToken {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        let token = self.current()?;
        let value = MetadataValue::try_from(format!("Bearer {token}"))
            .map_err(|_| Status::unauthenticated("this service's token is not valid metadata"))?;
        request.metadata_mut().insert("authorization", value);
        Ok(request)
    }
}
