//! `zhijian-provider-stub`: the WeChat and SMS provider stub as a standalone dev server, for
//! `make run` and manual testing. Verification codes sent by SMS appear in its log and at
//! `GET /__stub/sms?phone=<11 digits>`.
//!
//! ```text
//! zhijian-provider-stub [--host 127.0.0.1] [--port 18089] [--wechat-appid ID] [--wechat-secret S]
//!     [--tencent-secret-id ID] [--tencent-secret-key K] [--tencent-sdk-app-id ID]
//!     [--aliyun-access-key-id ID] [--aliyun-access-key-secret S]
//! ```
//!
//! Every flag can also be set through the environment as `PROVIDER_STUB_<FLAG>` (upper case,
//! `-` → `_`, e.g. `PROVIDER_STUB_PORT`, `PROVIDER_STUB_WECHAT_SECRET`); flags win.

use std::process::ExitCode;

use zhijian_integration_tests::stub::{ProviderStub, StubConfig};

const USAGE: &str = "usage: zhijian-provider-stub [--host HOST] [--port PORT] \
[--wechat-appid ID] [--wechat-secret SECRET] [--tencent-secret-id ID] [--tencent-secret-key KEY] \
[--tencent-sdk-app-id ID] [--aliyun-access-key-id ID] [--aliyun-access-key-secret SECRET]\n\
Each flag may also come from PROVIDER_STUB_<FLAG> (e.g. PROVIDER_STUB_PORT).";

/// Where to listen and which credentials to accept.
struct Options {
    host: String,
    port: u16,
    config: StubConfig,
}

/// The options, or `None` when only the usage was asked for.
fn parse_options() -> Result<Option<Options>, String> {
    let mut host = env_or("host", "127.0.0.1");
    let mut port = env_or("port", "18089");
    let defaults = StubConfig::default();
    let mut config = StubConfig {
        wechat_appid: env_or("wechat-appid", &defaults.wechat_appid),
        wechat_secret: env_or("wechat-secret", &defaults.wechat_secret),
        tencent_secret_id: env_or("tencent-secret-id", &defaults.tencent_secret_id),
        tencent_secret_key: env_or("tencent-secret-key", &defaults.tencent_secret_key),
        tencent_sdk_app_id: env_or("tencent-sdk-app-id", &defaults.tencent_sdk_app_id),
        aliyun_access_key_id: env_or("aliyun-access-key-id", &defaults.aliyun_access_key_id),
        aliyun_access_key_secret: env_or(
            "aliyun-access-key-secret",
            &defaults.aliyun_access_key_secret,
        ),
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "-h" || arg == "--help" {
            return Ok(None);
        }
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) => (flag.to_owned(), Some(value.to_owned())),
            None => (arg, None),
        };
        let Some(value) = inline.or_else(|| args.next()) else {
            return Err(format!("{flag} needs a value\n{USAGE}"));
        };
        let slot = match flag.as_str() {
            "--host" => &mut host,
            "--port" => &mut port,
            "--wechat-appid" => &mut config.wechat_appid,
            "--wechat-secret" => &mut config.wechat_secret,
            "--tencent-secret-id" => &mut config.tencent_secret_id,
            "--tencent-secret-key" => &mut config.tencent_secret_key,
            "--tencent-sdk-app-id" => &mut config.tencent_sdk_app_id,
            "--aliyun-access-key-id" => &mut config.aliyun_access_key_id,
            "--aliyun-access-key-secret" => &mut config.aliyun_access_key_secret,
            other => return Err(format!("unknown flag {other}\n{USAGE}")),
        };
        *slot = value;
    }
    let port = port
        .parse()
        .map_err(|_| format!("--port must be a number from 0 to 65535, not {port:?}"))?;
    Ok(Some(Options { host, port, config }))
}

/// `PROVIDER_STUB_<NAME>` when set, else the default.
fn env_or(name: &str, default: &str) -> String {
    let var = format!("PROVIDER_STUB_{}", name.to_uppercase().replace('-', "_"));
    std::env::var(var).unwrap_or_else(|_| default.to_owned())
}

/// Resolves when the process is asked to stop (Ctrl-C, or SIGTERM on Unix).
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(err) => {
                log::warn!("cannot listen for SIGTERM ({err}); stop with Ctrl-C");
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    let options = match parse_options() {
        Ok(Some(options)) => options,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    let stub =
        match ProviderStub::start_at(options.config, (options.host.as_str(), options.port)).await {
            Ok(stub) => stub,
            Err(err) => {
                eprintln!(
                    "provider stub cannot listen on {}:{}: {err}",
                    options.host, options.port
                );
                return ExitCode::FAILURE;
            }
        };
    println!("provider stub listening on {}", stub.base_url);
    log::info!(
        "wechat at {}, tencent sms at {}, aliyun sms at {}, control at {}/__stub/",
        stub.wechat_base_url(),
        stub.tencent_base_url(),
        stub.aliyun_base_url(),
        stub.base_url
    );
    shutdown_signal().await;
    log::info!("provider stub stopping");
    stub.stop().await;
    ExitCode::SUCCESS
}
