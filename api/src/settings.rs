//! Configuration, loaded in layers and checked once at start-up.
//!
//! `config/default.toml`, then `config/$APP_ENV.toml`, then the git-ignored `config/local.toml`,
//! then `APP__SECTION__KEY` environment variables. Every value is checked before the server
//! starts, with a message that says what to fix.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use zhijian_infra::db::DatabaseConfig;
use zhijian_infra::redis_store::RedisConfig;

/// Everything the server needs to run.
#[derive(Debug, Clone, Deserialize)]
pub struct Settings {
    /// `[server]`
    pub server: ServerConfig,
    /// `[database]`
    pub database: DatabaseConfig,
    /// `[redis]`
    pub redis: RedisConfig,
    /// `[regions]`
    #[serde(default)]
    pub regions: RegionsConfig,
}

/// `[server]` settings.
#[derive(Debug, Clone, Deserialize)]
pub struct ServerConfig {
    /// Address to bind; loopback by default.
    pub host: String,
    /// Port to bind; 0 picks a free one (tests).
    pub port: u16,
    /// Worker threads; 0 means one per core.
    #[serde(default)]
    pub workers: usize,
    /// Largest accepted JSON body in bytes.
    #[serde(default = "default_json_limit")]
    pub json_limit_bytes: usize,
}

fn default_json_limit() -> usize {
    64 * 1024
}

/// `[regions]` settings.
#[derive(Debug, Clone, Deserialize)]
pub struct RegionsConfig {
    /// Folder holding the gzipped division CSV files.
    pub dir: PathBuf,
}

impl Default for RegionsConfig {
    fn default() -> Self {
        Self { dir: PathBuf::from("data/regions") }
    }
}

/// Configuration could not be loaded or is invalid; the message says what to fix.
#[derive(Debug, thiserror::Error)]
#[error("configuration error: {0}")]
pub struct SettingsError(pub String);

impl Settings {
    /// Loads the layers from `dir` (normally `config/`) and the process environment.
    pub fn load(dir: &Path) -> Result<Self, SettingsError> {
        let env = std::env::var("APP_ENV").unwrap_or_else(|_| "local".into());
        if !env.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
            return Err(SettingsError(format!("APP_ENV={env:?} must be a plain name such as `local` or `production`")));
        }
        let built = config::Config::builder()
            .add_source(config::File::from(dir.join("default.toml")).required(true))
            .add_source(config::File::from(dir.join(format!("{env}.toml"))).required(false))
            .add_source(config::File::from(dir.join("local.toml")).required(false))
            .add_source(
                config::Environment::with_prefix("APP")
                    .prefix_separator("__")
                    .separator("__")
                    .try_parsing(true),
            )
            .build()
            .map_err(|e| SettingsError(format!("{e} (looked in {})", dir.display())))?;
        let settings: Settings = built
            .try_deserialize()
            .map_err(|e| SettingsError(format!("{e}; see config/default.toml for the expected keys")))?;
        settings.validate()?;
        Ok(settings)
    }

    /// Checks every value; the first problem found is reported.
    pub fn validate(&self) -> Result<(), SettingsError> {
        if self.server.host.is_empty() {
            return Err(SettingsError("server.host must not be empty (e.g. 127.0.0.1)".into()));
        }
        if self.server.json_limit_bytes < 1024 {
            return Err(SettingsError("server.json_limit_bytes must be at least 1024".into()));
        }
        self.database.validate().map_err(SettingsError)?;
        self.redis.validate().map_err(SettingsError)?;
        Ok(())
    }
}
