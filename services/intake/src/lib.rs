//! The intake service: the front desk (Puskesos / SLRT) and the case tracker.
//!
//! Owns: cases as registered at the desk (`CaseOpened`), human case numbers, idempotency of
//! desk requests, and the tracker read model that follows every case across all four
//! services. Does not own: eligibility decisions, referrals or payments; it only reads their
//! events.
//!
//! Every caller is authenticated by a bearer token and acts within their area; every read
//! and change of a person's data is recorded in the service's audit log ([`access`]).
//! Merging two person records takes two people: one proposes, a coordinator confirms
//! ([`domain::duplicate`]).

pub mod access;
pub mod app;
pub mod domain;
pub mod grpc;
pub mod http;
pub mod kafka;
pub mod projections;
pub mod settings;
pub mod startup;
