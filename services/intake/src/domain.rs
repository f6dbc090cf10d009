//! The front desk's rules, free of I/O: what makes a valid case, what a case's status is
//! given what has happened to its needs, and whether an applicant is someone already known.

pub mod case;
pub mod complaint;
pub mod duplicate;
pub mod household;
pub mod matching;
pub mod person;
pub mod status;

pub use case::{Applicant, CaseKind, NeedCategory, NewNeed, OpenCase, OpenCaseError};
pub use complaint::{Complaint, ComplaintType, GrievanceType, ReportedSubject};
pub use status::{
    CaseLifecycle, CaseStatus, DeskCase, DeskNeed, LifecycleError, NeedStatus, NeedStep, SlaClock, TrackedNeed,
    case_status, lifecycle_status,
};
