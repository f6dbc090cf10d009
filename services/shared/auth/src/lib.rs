//! Who is calling, and what they may do.
//!
//! People (desk operators, back-office staff, supervisors, OPD officers, auditors,
//! administrators) present a bearer token issued by the regency's identity provider: a JWT
//! signed with one of the provider's published keys (its JWKS), naming the person, their
//! roles, and the area or agency they work for. [`Verifier`] checks it and yields a
//! [`Principal`]; everything a handler decides about access starts from that.
//!
//! Only public keys are accepted in the key set, and only asymmetric algorithms in tokens:
//! with a shared secret, every service able to verify a token could also mint one.
//!
//! [`dev`] makes a development key set and mints tokens for the local stack and the tests;
//! production keys never come from it.

pub mod dev;
mod extract;
pub mod grpc;
mod principal;
pub mod settings;
mod verifier;

pub use principal::{Principal, Role, ScopeError, is_region_code};
pub use verifier::{KeySetError, TokenRejected, Verifier, VerifierSettings};
