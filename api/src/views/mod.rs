//! Response types shared by several routes.

pub mod application;
pub mod member;
pub mod transfer;
pub mod union_change;
