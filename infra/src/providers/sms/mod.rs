//! SMS senders (`zhijian_domain::ports::SmsSender`): Tencent Cloud, Aliyun, and a `log`
//! sender for development, chosen by configuration. Wire formats: `shared/PROVIDERS.md`.

pub mod aliyun;
pub mod log;
pub mod tencent;

use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use zhijian_domain::ports::{SmsError, SmsSender};

use crate::crypto::secret::Secret;
use crate::providers::http_client::{build_client, describe_error};

/// Which provider sends SMS.
#[derive(Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum SmsProvider {
    /// Tencent Cloud SMS (`SendSms`, API 3.0).
    Tencent,
    /// Aliyun Dysmsapi (`SendSms`, 2017-05-25).
    Aliyun,
    /// Nothing is sent: the message is logged (development).
    #[default]
    Log,
}

/// Configuration of SMS (`[sms]` in the configuration files). Every key has a default, so
/// an empty section deserialises (to the `log` sender).
#[derive(Deserialize, Clone, Debug)]
#[serde(default)]
pub struct SmsConfig {
    /// `tencent`, `aliyun` or `log`.
    pub provider: SmsProvider,
    /// Tencent API root, `https://sms.tencentcloudapi.com`; may carry a path (a stub).
    pub tencent_base_url: String,
    /// Tencent region (`X-TC-Region`).
    pub tencent_region: String,
    /// Tencent API key id.
    pub tencent_secret_id: String,
    /// Tencent API key secret.
    pub tencent_secret_key: Secret,
    /// Tencent SMS application id (`SmsSdkAppId`).
    pub tencent_sdk_app_id: String,
    /// Approved signature shown in front of every message (both providers).
    pub sign_name: String,
    /// Tencent template id of verification codes (params: code, minutes).
    pub tencent_template_verification: String,
    /// Tencent template id of notifications.
    pub tencent_template_notification: String,
    /// Aliyun API root, `https://dysmsapi.aliyuncs.com`; may carry a path (a stub).
    pub aliyun_base_url: String,
    /// Aliyun AccessKey id.
    pub aliyun_access_key_id: String,
    /// Aliyun AccessKey secret.
    pub aliyun_access_key_secret: Secret,
    /// Aliyun template code of verification codes (`${code}`, `${minutes}`).
    pub aliyun_template_verification: String,
    /// Aliyun template code of notifications (`${p1}`, `${p2}` …).
    pub aliyun_template_notification: String,
    /// Timeout of one call, in milliseconds.
    pub timeout_ms: u64,
    /// `log` sender only: also log the masked phone and the parameters of verification codes,
    /// so a developer can read the code. Never set in production.
    pub log_codes: bool,
}

impl Default for SmsConfig {
    fn default() -> Self {
        Self {
            provider: SmsProvider::Log,
            tencent_base_url: "https://sms.tencentcloudapi.com".to_owned(),
            tencent_region: "ap-guangzhou".to_owned(),
            tencent_secret_id: String::new(),
            tencent_secret_key: Secret::default(),
            tencent_sdk_app_id: String::new(),
            sign_name: "指尖入会".to_owned(),
            tencent_template_verification: String::new(),
            tencent_template_notification: String::new(),
            aliyun_base_url: "https://dysmsapi.aliyuncs.com".to_owned(),
            aliyun_access_key_id: String::new(),
            aliyun_access_key_secret: Secret::default(),
            aliyun_template_verification: String::new(),
            aliyun_template_notification: String::new(),
            timeout_ms: 3000,
            log_codes: false,
        }
    }
}

/// Why an SMS sender could not be built: a configuration value to fix.
#[derive(Debug, thiserror::Error)]
pub enum SmsConfigError {
    /// A value the chosen provider needs is empty.
    #[error("sms.{key} is empty but sms.provider = \"{provider}\" needs it: set it in the configuration or with APP__SMS__{upper}", upper = .key.to_ascii_uppercase())]
    Missing {
        /// The configuration key.
        key: &'static str,
        /// The configured provider.
        provider: &'static str,
    },
    /// A base URL is not an http(s) URL.
    #[error("sms.{key} `{value}` is not an http:// or https:// URL")]
    BadBaseUrl {
        /// The configuration key.
        key: &'static str,
        /// The configured value.
        value: String,
    },
    /// The HTTP client could not be built.
    #[error("sms: cannot build the HTTP client: {0}")]
    Http(#[from] reqwest::Error),
}

/// The sender `config.provider` names, checked: a missing key fails here, at start-up.
pub fn build_sms_sender(config: &SmsConfig) -> Result<Arc<dyn SmsSender>, SmsConfigError> {
    Ok(match config.provider {
        SmsProvider::Tencent => Arc::new(tencent::TencentSms::new(config)?),
        SmsProvider::Aliyun => Arc::new(aliyun::AliyunSms::new(config)?),
        SmsProvider::Log => {
            if config.log_codes {
                ::log::warn!("sms.log_codes is on: verification codes are written to the log");
            }
            Arc::new(log::LogSmsSender::new(config.log_codes))
        }
    })
}

/// A phone number fit for a developer's log: `138****1234`.
pub fn mask_phone(phone: &str) -> String {
    let chars: Vec<char> = phone.chars().collect();
    if chars.len() < 7 {
        return "****".to_owned();
    }
    let head: String = chars[..3].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}****{tail}")
}

/// Fail with [`SmsConfigError::Missing`] when `value` is blank.
fn require(value: &str, key: &'static str, provider: &'static str) -> Result<(), SmsConfigError> {
    if value.trim().is_empty() {
        Err(SmsConfigError::Missing { key, provider })
    } else {
        Ok(())
    }
}

/// The endpoint `<base_url>/` (a base URL may carry a path, as a stub's does).
fn endpoint(base_url: &str, key: &'static str) -> Result<reqwest::Url, SmsConfigError> {
    let bad = || SmsConfigError::BadBaseUrl {
        key,
        value: base_url.to_owned(),
    };
    let trimmed = base_url.trim().trim_end_matches('/');
    if !(trimmed.starts_with("http://") || trimmed.starts_with("https://")) {
        return Err(bad());
    }
    let url = reqwest::Url::parse(&format!("{trimmed}/")).map_err(|_| bad())?;
    if url.host_str().is_none() {
        return Err(bad());
    }
    Ok(url)
}

fn http_client(config: &SmsConfig) -> Result<reqwest::Client, SmsConfigError> {
    let timeout = Duration::from_millis(config.timeout_ms.max(1));
    Ok(build_client(timeout, timeout)?)
}

/// A transport error as `Unavailable`, logged without the URL.
fn transport_error(provider: &str, out_id: &str, error: reqwest::Error) -> SmsError {
    let cause = describe_error(error);
    ::log::warn!("sms {provider}: out_id {out_id}: {cause}");
    SmsError::Unavailable(cause)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_section_deserialises_to_the_log_sender() {
        let config: SmsConfig = serde_json::from_str("{}").unwrap();
        assert_eq!(config.provider, SmsProvider::Log);
        assert_eq!(config.tencent_base_url, "https://sms.tencentcloudapi.com");
        assert_eq!(config.tencent_region, "ap-guangzhou");
        assert_eq!(config.aliyun_base_url, "https://dysmsapi.aliyuncs.com");
        assert_eq!(config.sign_name, "指尖入会");
        assert_eq!(config.timeout_ms, 3000);
        assert!(!config.log_codes);
        assert!(build_sms_sender(&config).is_ok());
    }

    #[test]
    fn providers_are_named_in_lowercase() {
        let config: SmsConfig = serde_json::from_str(r#"{"provider": "aliyun"}"#).unwrap();
        assert_eq!(config.provider, SmsProvider::Aliyun);
        assert!(serde_json::from_str::<SmsConfig>(r#"{"provider": "twilio"}"#).is_err());
    }

    #[test]
    fn secrets_do_not_print() {
        let config = SmsConfig {
            tencent_secret_key: Secret::new("tencent-key-value"),
            aliyun_access_key_secret: Secret::new("aliyun-secret-value"),
            ..SmsConfig::default()
        };
        let printed = format!("{config:?}");
        assert!(!printed.contains("tencent-key-value") && !printed.contains("aliyun-secret-value"));
    }

    #[test]
    fn a_provider_missing_a_key_fails_at_start_up_with_the_key_named() {
        let config = SmsConfig {
            provider: SmsProvider::Tencent,
            ..SmsConfig::default()
        };
        let Err(error) = build_sms_sender(&config) else {
            panic!("built without credentials")
        };
        assert_eq!(
            error.to_string(),
            "sms.tencent_secret_id is empty but sms.provider = \"tencent\" needs it: set it in the configuration or with APP__SMS__TENCENT_SECRET_ID"
        );
        let config = SmsConfig {
            provider: SmsProvider::Aliyun,
            ..SmsConfig::default()
        };
        assert!(matches!(
            build_sms_sender(&config),
            Err(SmsConfigError::Missing {
                key: "aliyun_access_key_id",
                ..
            })
        ));
    }

    #[test]
    fn a_bad_base_url_is_refused() {
        assert!(endpoint("ftp://x", "tencent_base_url").is_err());
        assert!(endpoint("not a url", "tencent_base_url").is_err());
        assert_eq!(
            endpoint("http://127.0.0.1:1/tencent", "k")
                .unwrap()
                .as_str(),
            "http://127.0.0.1:1/tencent/"
        );
        assert_eq!(
            endpoint("https://sms.tencentcloudapi.com/", "k")
                .unwrap()
                .as_str(),
            "https://sms.tencentcloudapi.com/"
        );
    }

    #[test]
    fn phones_are_masked_for_the_log() {
        assert_eq!(mask_phone("13812341234"), "138****1234");
        assert_eq!(mask_phone("123"), "****");
    }
}
