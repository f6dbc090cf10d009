//! The referral domain: where a decided need goes, and what an OPD does with it.
//!
//! Pure: no database, broker, clock or network here. Decisions are functions of
//! (state, command) -> events or a rejection ([`ReferralError`]); the app layer loads the
//! stream, calls [`handle`], and appends what it returns. Failures to load or record are the
//! app layer's, never this module's.
//!
//! - [`routing`] holds the routing table (data, `data/routing.toml`) from need category and
//!   programme, optionally per region, to the responsible OPD and its service.
//! - [`dispatch`] turns a decided need into a [`RequestReferral`] command or a
//!   [`ReferralUnrouted`] notice for supervisors.
//! - [`referral`] holds the referral aggregate and its lifecycle
//!   (requested -> acknowledged -> accepted | rejected; accepted -> completed).
//!
//! Glossary: an OPD (organisasi perangkat daerah) is a regional agency such as Dinas Sosial;
//! NIK is the national identity number; Kemendagri region codes are dotted, e.g.
//! `33.75.01.1002` (province.regency.district.village).

pub mod commands;
pub mod dispatch;
pub mod events;
pub mod opd;
pub mod referral;
pub mod routing;

pub use commands::{
    AcceptReferral, AcknowledgeReferral, CompleteReferral, ReferralCommand, RejectReferral, RequestReferral,
};
pub use dispatch::{DecidedNeed, ReferralUnrouted, RoutingDecision, route_need};
pub use events::{
    CashBenefit, Completion, Nik, OutcomeCode, ReferralAccepted, ReferralAcknowledged, ReferralCompleted,
    ReferralDetails, ReferralEvent, ReferralRejected, ReferralRequested, UnknownOutcomeCode,
};
pub use opd::{InvalidOpdCode, OpdCode};
pub use referral::{HistoryError, Referral, ReferralAction, ReferralError, ReferralStatus, handle};
pub use routing::{Route, RoutingTable, RoutingTableError};
pub use slrt_vocabulary::{NeedCategory, UnknownCategory};
