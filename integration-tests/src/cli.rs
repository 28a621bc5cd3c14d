//! The `zhijian` command of this build, for tests that run it as an operator would.

use std::path::PathBuf;

/// The `zhijian` binary of this build: built on demand (a no-op when it is fresh). Blocking:
/// call it from `spawn_blocking` in async tests.
pub fn zhijian_binary() -> PathBuf {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let status = std::process::Command::new(cargo)
        .args([
            "build",
            "--offline",
            "--quiet",
            "-p",
            "zhijian-api",
            "--bin",
            "zhijian",
        ])
        .current_dir(crate::database::repo_root())
        .status()
        .expect("cargo runs");
    assert!(status.success(), "cargo build --bin zhijian");
    // The test binary is target/<profile>/deps/<name>-…; the command sits in target/<profile>.
    let exe = std::env::current_exe().expect("the test binary's path");
    let dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target/<profile>");
    dir.join("zhijian")
}

/// `binary` set up as an operator runs it against `app`'s database and Redis: the repository's
/// config folder, `APP_ENV=cli-test`, the app's URLs and keys, the `log` SMS sender.
pub fn zhijian_command(app: &crate::TestApp, binary: &std::path::Path) -> std::process::Command {
    let settings = &app.settings;
    let mut command = std::process::Command::new(binary);
    command
        .env(
            "ZHIJIAN_CONFIG_DIR",
            crate::database::repo_root().join("config"),
        )
        .env("APP_ENV", "cli-test")
        .env("APP__DATABASE__URL", settings.database.url.expose())
        .env("APP__REDIS__URL", settings.redis.url.expose())
        .env("APP__AUTH__JWT_SECRET", settings.auth.jwt_secret.expose())
        .env(
            "APP__PII__ENCRYPTION_KEYS",
            settings.pii.encryption_keys.expose(),
        )
        .env(
            "APP__PII__BLIND_INDEX_KEY",
            settings.pii.blind_index_key.expose(),
        )
        .env("APP__CARD__SIGNING_KEY", settings.card.signing_key.expose())
        .env("APP__WECHAT__SECRET", settings.wechat.secret.expose())
        .env("APP__SMS__PROVIDER", "log");
    if let Some(keyring) = &settings.pii.keyring_file {
        command.env("APP__PII__KEYRING_FILE", keyring);
    }
    command
}
