//! The wire: reply shapes, `errcode` to [`WeChatError`], and the length limits of
//! subscribe-message values.

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use zhijian_domain::ports::WeChatError;

/// Cut a subscribe-message value to the length WeChat accepts for its field type, read from
/// the key's prefix: `thing` ≤ 20 characters (an ellipsis marks the cut), `phrase` ≤ 5,
/// `name` ≤ 10, `character_string` and `number` ≤ 32. Characters, not bytes, are counted.
/// Other types (`time`, `date`, `amount` …) pass unchanged.
pub fn truncate_value(key: &str, value: &str) -> String {
    let kind = key.trim_end_matches(|c: char| c.is_ascii_digit());
    let (limit, ellipsis) = match kind {
        "thing" => (20, true),
        "phrase" => (5, false),
        "name" => (10, false),
        "character_string" | "number" => (32, false),
        _ => return value.to_owned(),
    };
    if value.chars().count() <= limit {
        return value.to_owned();
    }
    if ellipsis {
        let mut cut: String = value.chars().take(limit - 1).collect();
        cut.push('…');
        cut
    } else {
        value.chars().take(limit).collect()
    }
}

/// `errcode` and `errmsg` of a reply; a reply without `errcode` is a success.
pub(super) fn errcode(reply: &Value) -> (i64, &str) {
    let code = reply.get("errcode").and_then(Value::as_i64).unwrap_or(0);
    let message = reply.get("errmsg").and_then(Value::as_str).unwrap_or("");
    (code, message)
}

/// Translate a WeChat `errcode` into what callers act on.
pub(super) fn map_errcode(call: &str, code: i64, message: &str) -> WeChatError {
    match code {
        40029 | 40163 => WeChatError::InvalidCode,
        45011 | -1 => {
            log::warn!("wechat {call}: errcode {code} ({message})");
            WeChatError::RateLimited
        }
        40226 => WeChatError::UserBlocked,
        43101 => WeChatError::NotSubscribed,
        // Our configuration is wrong (appid, secret, IP whitelist) or the token was refused
        // again right after a refresh: nothing the user can fix.
        40001 | 42001 | 40013 | 40125 | 40164 | 41002 | 41004 => {
            log::error!(
                "wechat {call}: errcode {code} ({message}); check the wechat configuration"
            );
            WeChatError::Unavailable(format!("errcode {code}"))
        }
        _ => {
            log::warn!("wechat {call}: errcode {code} ({message})");
            WeChatError::Other {
                code,
                message: message.to_owned(),
            }
        }
    }
}

pub(super) fn parse<T: DeserializeOwned>(reply: Value, call: &str) -> Result<T, WeChatError> {
    serde_json::from_value(reply).map_err(|e| {
        log::warn!("wechat {call}: unexpected reply shape: {e}");
        WeChatError::Unavailable("unexpected reply".to_owned())
    })
}

#[derive(Deserialize)]
pub(super) struct TokenReply {
    pub(super) access_token: String,
    pub(super) expires_in: u64,
}

#[derive(Deserialize)]
pub(super) struct SessionReply {
    pub(super) openid: String,
    pub(super) session_key: String,
    #[serde(default)]
    pub(super) unionid: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct PhoneReply {
    pub(super) phone_info: PhoneInfo,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct PhoneInfo {
    #[serde(default)]
    pub(super) pure_phone_number: String,
    /// A number in some replies, a string in others.
    #[serde(default)]
    pub(super) country_code: Value,
    pub(super) watermark: Watermark,
}

#[derive(Deserialize)]
pub(super) struct Watermark {
    pub(super) appid: String,
}
