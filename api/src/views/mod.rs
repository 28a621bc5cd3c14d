//! Response types shared by several routes.

pub mod application;
pub mod member;
pub mod station;
pub mod transfer;
