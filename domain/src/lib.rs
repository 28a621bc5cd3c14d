//! The zhijian domain: value types that cannot hold invalid values, the state machines of
//! application, membership and transfer, routing and deadline rules, and the ports the outside
//! world implements. No I/O, no clock reads: time comes in as a value.
//!
//! Every error type has a Chinese `Display` message a worker can read and a `code()` with a
//! stable snake_case machine code; the API turns them into `{code, message, field}`.

mod checksum;

pub mod admin;
pub mod admin_management;
pub mod application;
pub mod audit;
pub mod benefit;
pub mod calendar;
pub mod calendar_year;
pub mod credit_code;
pub mod deadline;
pub mod error_code;
pub mod export;
pub mod form;
pub mod ids;
pub mod import;
pub mod member;
pub mod membership_number;
pub mod notification;
pub mod notification_route;
pub mod occupation;
pub mod outbox_event;
pub mod partner;
pub mod phone;
pub mod ports;
pub mod privacy_consent;
pub mod reason;
pub mod referral;
pub mod region;
pub mod registry;
pub mod resident_id;
pub mod routing;
pub mod second_factor;
pub mod sign_in;
pub mod station;
pub mod stats;
pub mod target;
pub mod text;
pub mod transfer;
pub mod union_admin;
pub mod union_change;
pub mod vocab;
pub mod workforce;

pub use admin::{AdminRole, UnionPath};
pub use application::{
    Application, ApplicationEvent, ApplicationStatus, RejectCode, RejectReason,
    SubmittedApplication, Transition,
};
pub use calendar::{CHINA_TIME, DayKind, WorkingCalendar};
pub use credit_code::CreditCode;
pub use deadline::ReviewHours;
pub use ids::{AccountId, AdminId, ApplicationId, MemberId, TransferId, UnionId};
pub use member::{MemberStatus, RetainReason};
pub use membership_number::MembershipNumber;
pub use occupation::OccupationGroup;
pub use phone::PhoneNumber;
pub use reason::Reason;
pub use region::{RegionCode, RegionLevel};
pub use registry::{
    Education, EmploymentStatus, Ethnicity, Gender, HouseholdType, PoliticalStatus,
};
pub use resident_id::ResidentId;
pub use routing::{RoutingDecision, RoutingFacts, RoutingRule, UnionCandidate, UnionKind};
pub use transfer::{Transfer, TransferStatus};
pub use vocab::UnknownValue;
