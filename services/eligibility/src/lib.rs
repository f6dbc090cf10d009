//! The eligibility service: who may get which programme, and why not.
//!
//! Owns: the registry facts it decides on (people and households as the social registry
//! records them, loaded from a registry file at start or imported in bulk with
//! `slrt-registry-import`; see README.md), the programme catalogue in force, the decision
//! on every need of a case (`CaseDecided`, with the rules that fired and the catalogue
//! version), and the enrolment ledger across all programmes and OPDs (`EnrolmentStarted`).
//! Records enrolments other agencies report (`ReportExternalEnrolment`), reports every
//! current breach of the rules in the ledger and time on benefit, and graduates households
//! from PKH / BPNT to PENA.
//! Answers the desk pre-screen and the payment release check over gRPC. Does not own: cases
//! (intake), routing to agencies (referral) or payments (disbursement).
//!
//! Every HTTP and gRPC call carries a token of the regency's identity provider; who may do
//! what, within which area or agency, and the audit of every access to a person's data are
//! in [`access`].

pub mod access;
pub mod app;
pub mod domain;
pub mod grpc;
pub mod http;
pub mod kafka;
pub mod projections;
pub mod settings;
pub mod startup;
pub mod synthetic;
