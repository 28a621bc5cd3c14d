//! Values of signing in: the one-time code a WeChat client hands over.

/// Longest WeChat code accepted (they are 32 characters today).
pub const MAX_WECHAT_CODE_LEN: usize = 128;

/// A one-time code from `wx.login` (sign-in) or from the `getPhoneNumber` button (phone):
/// trimmed, non-empty, at most [`MAX_WECHAT_CODE_LEN`] printable ASCII characters. Anything else
/// (control characters, NUL) is refused before it reaches the provider or the database.
#[derive(Clone, PartialEq, Eq)]
pub struct WeChatCode(String);

/// The code is empty, too long or not printable ASCII.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("微信授权凭证无效，请重试")]
pub struct InvalidWeChatCode;

impl WeChatCode {
    /// Parses a code as the client sent it.
    pub fn parse(raw: &str) -> Result<Self, InvalidWeChatCode> {
        let code = raw.trim();
        let printable = code.bytes().all(|b| b.is_ascii_graphic());
        if code.is_empty() || code.len() > MAX_WECHAT_CODE_LEN || !printable {
            return Err(InvalidWeChatCode);
        }
        Ok(Self(code.to_owned()))
    }

    /// The code, for the provider call.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for WeChatCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WeChatCode(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wechat_code_is_short_printable_ascii() {
        assert_eq!(WeChatCode::parse(" abc.1 ").unwrap().as_str(), "abc.1");
        for bad in ["", "  ", "a\0b", "a b", "码", &"a".repeat(129)] {
            assert_eq!(WeChatCode::parse(bad), Err(InvalidWeChatCode), "{bad:?}");
        }
        assert!(WeChatCode::parse(&"a".repeat(128)).is_ok());
    }
}
