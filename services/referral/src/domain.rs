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
//! - [`referral`] holds the referral aggregate and its lifecycle (requested, acknowledged,
//!   accepted, in progress, completed; rejected, transferred, revoked).
//! - [`sla`] holds the SLA clocks: working-day deadlines (policy and holiday calendar as
//!   data, `data/sla.toml` and `data/holidays.toml`) and the escalation chain.
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
pub mod sla;
#[cfg(test)]
pub mod testing;

pub use commands::{
    AcceptReferral, AcknowledgeReferral, CompleteReferral, EscalateReferral, LinkNeed, ReferralCommand, RejectReferral,
    RequestReferral, RevokeReferral, StartService, TransferReferral,
};
pub use dispatch::{DecidedNeed, ReferralUnrouted, RoutingContext, RoutingDecision, route_need, route_to};
pub use events::{
    CashBenefit, Completion, LinkedNeed, LinkedNeedClosed, Nik, OutcomeCode, ReferralAccepted, ReferralAcknowledged,
    ReferralCompleted, ReferralDetails, ReferralEscalated, ReferralEvent, ReferralInProgress, ReferralLinked,
    ReferralRejected, ReferralRequested, ReferralRevoked, ReferralTransferred, RoutedBy, UnknownOutcomeCode,
};
pub use opd::{InvalidOpdCode, OpdCode};
pub use referral::{HistoryError, Referral, ReferralAction, ReferralError, ReferralStatus, handle, open_with_links};
pub use routing::{Route, RoutingTable, RoutingTableError};
pub use sla::{EscalationStep, Sla, SlaClock, SlaConfigError, SlaPolicy, SlaState, SlaTerms, SlaTier, WorkingCalendar};
pub use slrt_vocabulary::{NeedCategory, UnknownCategory};
