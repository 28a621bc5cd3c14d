//! Adapters for the ports of `zhijian-domain` and the use cases that drive them.
//!
//! - [`db`]: the PostgreSQL pool, its errors, the migrations, the Diesel schema and the few
//!   hand-written statements.
//! - [`store`]: one module per aggregate — the rows, their reads and their writes.
//! - [`usecases`]: one function per operation, each owning its transaction, encryption and
//!   outbox; the API calls these and nothing below them.
//! - [`providers`]: the WeChat and SMS providers over HTTP.
//! - [`redis`]: sessions, verification codes, rate limits and caches.
//! - [`crypto`]: encryption of personal data, password hashing, secrets.

pub mod crypto;
pub mod db;
pub mod log_context;
pub mod providers;
pub mod redis;
pub mod register_file;
pub mod store;
pub mod usecases;
pub mod webhooks;
