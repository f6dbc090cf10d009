//! A paying bank for tests and training.
//!
//! The bank that pays social-aid benefits is another organisation's system. This crate
//! stands in for it over the interface in `proto/slrt/bank/v1/bank.proto`: credit transfers
//! keyed by the payment's idempotency key (never two under one key), the status of a
//! transfer whose answer was lost, and the bank's statement, as a call or a CSV file. A
//! control interface makes transfers fail, slow, settle without an answer reaching the
//! caller in time (the ambiguous outcome), or come back reversed later.
//!
//! State is in memory: the simulator plays a bank that does not restart during a test.
//!
//! - [`ledger`]: the books, pure; [`scenario`]: which behaviour the next transfer gets.
//! - `grpc`: the two services, thin; [`export`]: the statement file.
//! - [`spawn`]: start one in-process, e.g. in another crate's tests, on port 0.

pub mod export;
mod grpc;
pub mod ledger;
pub mod scenario;
mod startup;
mod time;

pub use startup::{ShutdownHandle, serve, spawn};
