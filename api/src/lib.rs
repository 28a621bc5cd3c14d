//! The HTTP API of zhijian: routes, extractors, request and response types, the mapping of
//! errors to HTTP, and the server's start-up. Business rules live in `zhijian-domain`; SQL and
//! provider calls in `zhijian-infra`.

pub mod auth;
pub mod card;
pub mod cli_admin;
pub mod cli_import;
pub mod cli_keys;
pub mod cli_partner;
pub mod cli_stats;
pub mod console;
pub mod error;
pub mod jobs;
pub mod json;
pub mod logging;
pub mod metrics;
pub mod no_store;
pub mod pagination;
pub mod partner_auth;
pub mod public_limits;
pub mod routes;
pub mod settings;
pub mod startup;
pub mod telemetry;
pub mod views;
