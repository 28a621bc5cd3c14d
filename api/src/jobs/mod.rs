//! Background jobs that run inside the server process, next to the HTTP workers.

pub mod calendar;
pub mod escalation;
pub mod imports;
pub mod key_rotation;
pub mod outbox;
pub mod quarterly;
pub mod retention;
pub mod transfers;
pub mod union_moves;
