//! The disbursement service.

pub mod domain;
