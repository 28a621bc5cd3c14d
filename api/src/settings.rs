//! Configuration, loaded in layers and checked once at start-up.
//!
//! `config/default.toml`, then `config/$APP_ENV.toml`, then the git-ignored `config/local.toml`,
//! then `APP__SECTION__KEY` environment variables. Every value is checked before the server
//! starts, with a message that says what to fix.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use zhijian_infra::crypto::secret::Secret;
use zhijian_infra::db::DatabaseConfig;
use zhijian_infra::providers::sms::SmsConfig;
use zhijian_infra::providers::wechat::WeChatConfig;
use zhijian_infra::redis::RedisConfig;

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
    /// `[auth]`
    pub auth: AuthConfig,
    /// `[pii]`
    pub pii: PiiConfig,
    /// `[card]`
    pub card: CardConfig,
    /// `[wechat]`
    #[serde(default)]
    pub wechat: WeChatConfig,
    /// `[sms]`
    #[serde(default)]
    pub sms: SmsConfig,
    /// `[sms_policy]`: verification codes and their sending caps.
    #[serde(default)]
    pub sms_policy: zhijian_infra::redis::sms_codes::SmsPolicyConfig,
    /// `[demo]`
    #[serde(default)]
    pub demo: DemoConfig,
    /// `[jobs]`: background jobs in the server process.
    #[serde(default)]
    pub jobs: JobsConfig,
    /// `[outbox]`: the dispatcher of notifications and the deadline scan.
    #[serde(default)]
    pub outbox: zhijian_infra::usecases::delivery::OutboxConfig,
    /// `[notifications]`: the words of every notification.
    #[serde(default)]
    pub notifications: zhijian_infra::usecases::notifications::NotificationsConfig,
    /// `[log]`: the format of the log lines.
    #[serde(default)]
    pub log: crate::logging::LogConfig,
    /// `[stations]`: the cap of the public "near me" search.
    #[serde(default)]
    pub stations: zhijian_infra::usecases::stations::StationsConfig,
}

/// `[jobs]` settings.
#[derive(Debug, Clone, Deserialize)]
pub struct JobsConfig {
    /// How often the transfer auto-release job looks for transfers whose source union has been
    /// silent for three working days.
    #[serde(default = "default_transfer_auto_release_interval_ms")]
    pub transfer_auto_release_interval_ms: u64,
    /// How often the server recounts the years the working-day calendar misses (the
    /// `zhijian_calendar_missing_years` gauge): another server's replacement of a year, or a
    /// new month making next year due, shows within this time.
    #[serde(default = "default_calendar_status_interval_ms")]
    pub calendar_status_interval_ms: u64,
    /// Rows re-anchored per transaction when a union moves to another anchor (county): each
    /// batch is its own transaction, so no lock is held for long.
    #[serde(default = "default_union_move_batch_size")]
    pub union_move_batch_size: i32,
    /// How often the server looks for a union move an interrupted server left unfinished (it
    /// also looks at start-up).
    #[serde(default = "default_union_move_resume_interval_ms")]
    pub union_move_resume_interval_ms: u64,
}

impl Default for JobsConfig {
    fn default() -> Self {
        Self {
            transfer_auto_release_interval_ms: default_transfer_auto_release_interval_ms(),
            calendar_status_interval_ms: default_calendar_status_interval_ms(),
            union_move_batch_size: default_union_move_batch_size(),
            union_move_resume_interval_ms: default_union_move_resume_interval_ms(),
        }
    }
}

fn default_transfer_auto_release_interval_ms() -> u64 {
    60_000
}

fn default_calendar_status_interval_ms() -> u64 {
    300_000
}

fn default_union_move_batch_size() -> i32 {
    5_000
}

fn default_union_move_resume_interval_ms() -> u64 {
    30_000
}

impl JobsConfig {
    /// Checks the values and says what to fix.
    pub fn validate(&self) -> Result<(), String> {
        if !(10..=86_400_000).contains(&self.transfer_auto_release_interval_ms) {
            return Err(
                "jobs.transfer_auto_release_interval_ms must be between 10 and 86400000".into(),
            );
        }
        if !(10..=86_400_000).contains(&self.calendar_status_interval_ms) {
            return Err("jobs.calendar_status_interval_ms must be between 10 and 86400000".into());
        }
        if !(1..=100_000).contains(&self.union_move_batch_size) {
            return Err("jobs.union_move_batch_size must be between 1 and 100000".into());
        }
        if !(10..=86_400_000).contains(&self.union_move_resume_interval_ms) {
            return Err(
                "jobs.union_move_resume_interval_ms must be between 10 and 86400000".into(),
            );
        }
        Ok(())
    }
}

/// `[demo]` settings: the demo county of `zhijian seed-demo` (development only).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct DemoConfig {
    /// The shared password of the demo admin accounts, written to config/local.toml by
    /// `make secrets`; when empty, `seed-demo` generates one and prints it once.
    #[serde(default)]
    pub admin_password: Secret,
}

/// `[auth]` settings: worker and admin tokens.
#[derive(Debug, Clone, Deserialize)]
pub struct AuthConfig {
    /// HMAC key of access tokens (HS256); at least 32 bytes. Secret: environment or local file.
    #[serde(default)]
    pub jwt_secret: Secret,
    /// `iss` of issued tokens.
    #[serde(default = "default_issuer")]
    pub issuer: String,
    /// `aud` of issued tokens.
    #[serde(default = "default_audience")]
    pub audience: String,
    /// Lifetime of an access token.
    #[serde(default = "default_access_ttl")]
    pub access_ttl_secs: u64,
    /// Lifetime of a refresh token family.
    #[serde(default = "default_refresh_ttl")]
    pub refresh_ttl_secs: u64,
    /// How long a spent refresh token may come back (a flaky phone retrying, two requests
    /// racing) and get the same answer as its first use instead of counting as reuse; after
    /// it, a spent token revokes the whole sign-in. 0 turns the grace off.
    #[serde(default = "default_refresh_reuse_grace")]
    pub refresh_reuse_grace_secs: u64,
}

fn default_issuer() -> String {
    "zhijian".into()
}

fn default_audience() -> String {
    "zhijian-api".into()
}

fn default_access_ttl() -> u64 {
    900
}

fn default_refresh_ttl() -> u64 {
    30 * 24 * 3600
}

fn default_refresh_reuse_grace() -> u64 {
    10
}

/// `[pii]` settings: encryption of resident ID and phone numbers at rest.
#[derive(Debug, Clone, Deserialize)]
pub struct PiiConfig {
    /// `id:base64key` pairs, comma separated; the first encrypts, all decrypt (rotation).
    #[serde(default)]
    pub encryption_keys: Secret,
    /// HMAC key of the blind indexes (base64, at least 32 bytes).
    #[serde(default)]
    pub blind_index_key: Secret,
}

/// `[card]` settings: the signed payload of the electronic member card.
#[derive(Debug, Clone, Deserialize)]
pub struct CardConfig {
    /// HMAC key of card payloads; at least 32 bytes.
    #[serde(default)]
    pub signing_key: Secret,
    /// How long a card QR code stays valid.
    #[serde(default = "default_card_ttl")]
    pub ttl_secs: u64,
}

fn default_card_ttl() -> u64 {
    300
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
    /// Threads of the blocking pool, where every database call runs (shared among the
    /// workers); 0 means `database.pool_size` + 4. More threads than connections only wait for
    /// one, and short-lived surplus threads fragment the heap.
    #[serde(default)]
    pub max_blocking_threads: usize,
    /// Largest accepted JSON body in bytes.
    #[serde(default = "default_json_limit")]
    pub json_limit_bytes: usize,
    /// Take the client address from `Forwarded` / `X-Forwarded-For` (per-IP caps). Only when
    /// every request comes through a trusted reverse proxy that sets it; off by default.
    #[serde(default)]
    pub trust_forwarded_for: bool,
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
        Self {
            dir: PathBuf::from("data/regions"),
        }
    }
}

/// Configuration could not be loaded or is invalid; the message says what to fix.
#[derive(Debug, thiserror::Error)]
#[error("configuration error: {0}")]
pub struct SettingsError(pub String);

impl ServerConfig {
    /// The number of HTTP workers: `workers`, or one per core.
    pub fn worker_count(&self) -> usize {
        if self.workers > 0 {
            self.workers
        } else {
            std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get)
        }
    }
}

impl Settings {
    /// The blocking threads the whole process may use: `server.max_blocking_threads`, or the
    /// database pool plus a small margin (every blocking task takes a connection).
    pub fn blocking_threads(&self) -> usize {
        if self.server.max_blocking_threads > 0 {
            self.server.max_blocking_threads
        } else {
            self.database.pool_size as usize + 4
        }
    }

    /// [`Settings::load`] from the folder the command line uses: `$ZHIJIAN_CONFIG_DIR`, else
    /// `config` (the `zhijian` and `zhijian-dev` commands).
    pub fn load_for_command() -> Result<Self, SettingsError> {
        let dir = std::env::var_os("ZHIJIAN_CONFIG_DIR")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| "config".into());
        Self::load(&dir)
    }

    /// Loads the layers from `dir` (normally `config/`) and the process environment, and
    /// checks every value.
    pub fn load(dir: &Path) -> Result<Self, SettingsError> {
        let settings = Self::load_unchecked(dir)?;
        settings.validate()?;
        Ok(settings)
    }

    /// Loads the layers without checking the values (tests fill in secrets, then validate).
    pub fn load_unchecked(dir: &Path) -> Result<Self, SettingsError> {
        let env = std::env::var("APP_ENV").unwrap_or_else(|_| "local".into());
        if !env
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(SettingsError(format!(
                "APP_ENV={env:?} must be a plain name such as `local` or `production`"
            )));
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
        let settings: Settings = built.try_deserialize().map_err(|e| {
            SettingsError(format!(
                "{e}; see config/default.toml for the expected keys"
            ))
        })?;
        Ok(settings)
    }

    /// Checks every value; the first problem found is reported.
    pub fn validate(&self) -> Result<(), SettingsError> {
        if self.server.host.is_empty() {
            return Err(SettingsError(
                "server.host must not be empty (e.g. 127.0.0.1)".into(),
            ));
        }
        if self.server.json_limit_bytes < 1024 {
            return Err(SettingsError(
                "server.json_limit_bytes must be at least 1024".into(),
            ));
        }
        self.database.validate().map_err(SettingsError)?;
        self.redis.validate().map_err(SettingsError)?;
        self.sms_policy.validate().map_err(SettingsError)?;
        self.jobs.validate().map_err(SettingsError)?;
        self.outbox.validate().map_err(SettingsError)?;
        self.notifications.validate().map_err(SettingsError)?;
        self.stations.validate().map_err(SettingsError)?;
        require_key(
            "auth.jwt_secret",
            "APP__AUTH__JWT_SECRET",
            &self.auth.jwt_secret,
        )?;
        require_key(
            "card.signing_key",
            "APP__CARD__SIGNING_KEY",
            &self.card.signing_key,
        )?;
        if self.auth.access_ttl_secs < 60 || self.auth.access_ttl_secs > 3600 {
            return Err(SettingsError(
                "auth.access_ttl_secs must be between 60 and 3600".into(),
            ));
        }
        if self.auth.refresh_ttl_secs < self.auth.access_ttl_secs {
            return Err(SettingsError(
                "auth.refresh_ttl_secs must not be shorter than auth.access_ttl_secs".into(),
            ));
        }
        if self.auth.refresh_reuse_grace_secs > 60 {
            return Err(SettingsError(
                "auth.refresh_reuse_grace_secs must be between 0 and 60".into(),
            ));
        }
        if self.card.ttl_secs < 30 || self.card.ttl_secs > 3600 {
            return Err(SettingsError(
                "card.ttl_secs must be between 30 and 3600".into(),
            ));
        }
        zhijian_infra::crypto::pii::PiiCipher::from_config(
            &self.pii.encryption_keys,
            &self.pii.blind_index_key,
        )
        .map_err(|e| SettingsError(format!("{e} (generate keys with `make secrets`)")))?;
        Ok(())
    }
}

fn require_key(name: &str, env: &str, value: &Secret) -> Result<(), SettingsError> {
    if value.expose().len() < 32 {
        return Err(SettingsError(format!(
            "{name} must be at least 32 characters of random data: set {env} or run `make secrets` \
             to generate config/local.toml"
        )));
    }
    Ok(())
}
