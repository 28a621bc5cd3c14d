//! Response types shared by several routes.

pub mod application;
