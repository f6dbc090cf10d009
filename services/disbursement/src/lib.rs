//! The disbursement service: from an OPD's acceptance of a cash referral to the payment
//! instruction for the bank.
//!
//! Owns: entitlements (a beneficiary's right to periodic payments under a programme), and
//! payment instructions and holds under deterministic payment keys, one per programme,
//! period, beneficiary and component, for ever. Does not own: whether someone is eligible or
//! alive (eligibility answers that, over gRPC, before every release), nor the referral's
//! lifecycle (referral's events tell us when an OPD accepted).
//!
//! Acts on what the others decide: eligibility's enrolment ends, holds and hold releases,
//! confirmed deaths and head changes, and referral's revocations and transfers, stop, hold,
//! re-owe (arrears) or re-address payments, never re-keying one ([`app::lifecycle`]).
//!
//! Every caller presents a bearer token; who may read and change what, within which area,
//! and the audit of each access are in [`access`].

pub mod access;
pub mod app;
pub mod bench;
pub mod domain;
pub mod grpc;
pub mod http;
pub mod kafka;
pub mod projections;
pub mod settings;
pub mod startup;
