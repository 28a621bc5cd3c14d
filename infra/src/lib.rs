//! Adapters for the ports of `zhijian-domain`: PostgreSQL through Diesel and r2d2, Redis,
//! the WeChat and SMS providers over HTTP, and encryption of personal data.

pub mod db;
pub mod http_client;
pub mod log_context;
pub mod migrations;
pub mod password;
pub mod pii;
pub mod redis_store;
pub mod regions;
pub mod schema;
pub mod secret;
pub mod sms;
pub mod wechat;
