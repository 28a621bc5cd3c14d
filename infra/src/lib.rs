//! Adapters for the ports of `zhijian-domain`: PostgreSQL through Diesel and r2d2, Redis,
//! the WeChat and SMS providers over HTTP, and encryption of personal data.

pub mod accounts;
pub mod admins;
pub mod applications;
pub mod audit;
pub mod audit_trail;
pub mod calendar;
pub mod db;
pub mod delivery;
pub mod demo;
pub mod escalation;
pub mod generator;
pub mod http_client;
pub mod idempotency;
pub mod log_context;
pub mod member_lifecycle;
pub mod members;
pub mod migrations;
pub mod notifications;
pub mod outbox;
pub mod password;
pub mod pii;
pub mod redis_store;
pub mod reference_cache;
pub mod regions;
pub mod review_stats;
pub mod schema;
pub mod secret;
pub mod sessions;
pub mod sms;
pub mod sms_codes;
mod subtree;
pub mod transfers;
pub mod unions;
pub mod wechat;
