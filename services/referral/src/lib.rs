//! The referral service.

pub mod domain;
