//! Response types shared by several routes.

pub mod admin;
pub mod application;
pub mod member;
pub mod partner;
pub mod privacy;
pub mod station;
pub mod transfer;
pub mod union;
pub mod union_change;
