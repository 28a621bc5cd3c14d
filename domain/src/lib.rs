//! The zhijian domain: value types that cannot hold invalid values, the state machines of
//! application, membership and transfer, routing and deadline rules, and the ports the outside
//! world implements. No I/O, no clock reads: time comes in as a value.

mod checksum;
pub mod ids;
pub mod ports;
pub mod reason;
pub mod vocab;
pub mod region;
pub mod registry;
pub mod resident_id;
pub mod phone;
pub mod credit_code;
pub mod occupation;
pub mod calendar;
pub mod deadline;
pub mod routing;
