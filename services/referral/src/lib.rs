//! The referral service: hands each approved need to the regional agency (OPD) responsible
//! for it, and follows what the agency does with it.
//!
//! Owns: the routing table (`data/routing.toml`, or `SLRT_REFERRAL_ROUTING`), referrals and
//! their lifecycle (requested, acknowledged, accepted or rejected, completed), unrouted
//! needs, and the OPD gRPC API agencies receive and act on referrals through (`slrt-opd` is
//! its command-line client). Does not own: cases (intake), decisions and enrolments
//! (eligibility) or payments (disbursement); it reads eligibility's `CaseDecided` and
//! publishes its own events for the others.

pub mod access;
pub mod app;
pub mod domain;
pub mod grpc;
pub mod http;
pub mod kafka;
pub mod projections;
pub mod settings;
pub mod startup;
