//! The SSRF guard: a partner names a URL, and we are about to make a request to it from inside
//! our network. Only a public address is acceptable.
//!
//! - The URL must be `https://` (plain `http://` only under [`GuardPolicy::allow_http`]), with
//!   no userinfo (`https://user:pw@host/`: a classic way to make a URL read as another host).
//! - A numeric host must be written as a plain dotted quad or a bracketed IPv6 address. The
//!   URL standard reads `0x7f000001`, `2130706433`, `017700000001`, `127.1` and `0177.0.0.1` all
//!   as 127.0.0.1; such spellings are refused as such (they only serve to slip past filters).
//! - The host is resolved once; every address it resolves to must be public — not loopback,
//!   private (RFC 1918, fc00::/7, fec0::/10), link-local (169.254/16, fe80::/10), shared/CGNAT
//!   (100.64/10), multicast, unspecified, broadcast, documentation, benchmarking or otherwise
//!   reserved; IPv4-mapped (`::ffff:a.b.c.d`) and other IPv6 forms that carry an IPv4 address
//!   (`::a.b.c.d`, NAT64 `64:ff9b::/96`, 6to4 `2002::/16`, Teredo) are refused outright.
//! - The checked address is handed to the request ([`CheckedTarget::addr`]), so the request
//!   cannot go to another address by a second DNS answer (DNS rebinding).
//!
//! Loopback (127.0.0.0/8, ::1) is accepted only under [`GuardPolicy::allow_loopback`], a
//! development setting (`[webhooks] allow_insecure_targets`) refused in production.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use url::{Host, Url};

/// How long resolving a host may take.
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(5);

/// What the guard lets through beyond public `https://` targets. Both `false` in production.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GuardPolicy {
    /// Accept `http://` URLs.
    pub allow_http: bool,
    /// Accept loopback addresses (127.0.0.0/8, ::1) — a receiver on the developer's machine.
    pub allow_loopback: bool,
}

impl GuardPolicy {
    /// The production policy: public `https://` targets only.
    pub const STRICT: Self = Self {
        allow_http: false,
        allow_loopback: false,
    };

    /// The development policy (`[webhooks] allow_insecure_targets = true`): also `http://`
    /// and loopback, never private or link-local addresses.
    pub const DEVELOPMENT: Self = Self {
        allow_http: true,
        allow_loopback: true,
    };

    /// The policy of the `[webhooks] allow_insecure_targets` setting.
    pub const fn from_allow_insecure_targets(allow: bool) -> Self {
        if allow {
            Self::DEVELOPMENT
        } else {
            Self::STRICT
        }
    }
}

/// Why a webhook URL or its target is refused. Each reason has a stable [`code`](Self::code).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GuardError {
    /// Not an absolute URL, or one without a host.
    #[error("not an absolute URL with a host")]
    InvalidUrl,
    /// A scheme other than `https` (or `http` where allowed).
    #[error("the scheme must be https")]
    Scheme,
    /// `http://` where only `https://` is accepted.
    #[error("plain http is not accepted; use https")]
    InsecureScheme,
    /// `user:password@` in the URL.
    #[error("the URL must not carry a user name or password")]
    Userinfo,
    /// A numeric host in another spelling than a dotted quad (hex, octal, one number, short).
    #[error("a numeric host must be written as a dotted quad (a.b.c.d)")]
    NumericHostForm,
    /// An IPv6 address that carries an IPv4 address (mapped, compatible, NAT64, 6to4, Teredo).
    #[error("IPv6 addresses that embed an IPv4 address are not accepted")]
    EmbeddedIpv4,
    /// 127.0.0.0/8 or ::1.
    #[error("the target is a loopback address")]
    Loopback,
    /// RFC 1918, fc00::/7 or fec0::/10.
    #[error("the target is a private address")]
    Private,
    /// 169.254.0.0/16 or fe80::/10 (cloud metadata services live here).
    #[error("the target is a link-local address")]
    LinkLocal,
    /// 100.64.0.0/10, carrier-grade NAT.
    #[error("the target is a shared (CGNAT) address")]
    SharedAddress,
    /// 224.0.0.0/4 or ff00::/8.
    #[error("the target is a multicast address")]
    Multicast,
    /// 0.0.0.0/8 or ::.
    #[error("the target is an unspecified address")]
    Unspecified,
    /// 255.255.255.255.
    #[error("the target is the broadcast address")]
    Broadcast,
    /// Documentation, benchmarking, protocol-assignment or future-use ranges.
    #[error("the target is a reserved address")]
    Reserved,
    /// The host did not resolve (in time): may pass later.
    #[error("the host does not resolve")]
    Unresolvable,
}

impl GuardError {
    /// The stable code of the reason (for logs, delivery records and API answers).
    pub const fn code(&self) -> &'static str {
        match self {
            Self::InvalidUrl => "url_invalid",
            Self::Scheme => "url_scheme",
            Self::InsecureScheme => "url_insecure_scheme",
            Self::Userinfo => "url_userinfo",
            Self::NumericHostForm => "url_numeric_host_form",
            Self::EmbeddedIpv4 => "target_embedded_ipv4",
            Self::Loopback => "target_loopback",
            Self::Private => "target_private",
            Self::LinkLocal => "target_link_local",
            Self::SharedAddress => "target_shared_address",
            Self::Multicast => "target_multicast",
            Self::Unspecified => "target_unspecified",
            Self::Broadcast => "target_broadcast",
            Self::Reserved => "target_reserved",
            Self::Unresolvable => "target_unresolvable",
        }
    }

    /// Whether the same URL may pass later (DNS failed), as opposed to a refusal for good.
    pub const fn is_transient(&self) -> bool {
        matches!(self, Self::Unresolvable)
    }
}

/// A URL that passed the guard, and the one address the request must go to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedTarget {
    /// The URL as parsed.
    pub url: Url,
    /// The checked address (and port) to connect to.
    pub addr: SocketAddr,
}

impl CheckedTarget {
    /// The host name of the URL as it goes in the `Host` header and the TLS SNI (an IPv6
    /// address without brackets).
    pub fn host(&self) -> String {
        match self.url.host() {
            Some(Host::Ipv6(ip)) => ip.to_string(),
            Some(host) => host.to_string(),
            None => String::new(),
        }
    }
}

/// The synchronous checks, used when an endpoint is registered: scheme, userinfo, the host's
/// spelling and, for an address literal, its range. A host name is not resolved here.
pub fn validate_url_syntax(url: &str, policy: &GuardPolicy) -> Result<Url, GuardError> {
    let parsed = Url::parse(url.trim()).map_err(|_| GuardError::InvalidUrl)?;
    match parsed.scheme() {
        "https" => {}
        "http" if policy.allow_http => {}
        "http" => return Err(GuardError::InsecureScheme),
        _ => return Err(GuardError::Scheme),
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(GuardError::Userinfo);
    }
    match parsed.host() {
        None => Err(GuardError::InvalidUrl),
        Some(Host::Ipv4(ip)) => {
            if raw_host(url.trim()) != Some(ip.to_string()) {
                return Err(GuardError::NumericHostForm);
            }
            check_ip(IpAddr::V4(ip), policy)?;
            Ok(parsed)
        }
        Some(Host::Ipv6(ip)) => {
            check_ip(IpAddr::V6(ip), policy)?;
            Ok(parsed)
        }
        Some(Host::Domain(_)) => Ok(parsed),
    }
}

/// Parses and checks `url` ([`validate_url_syntax`]), resolves its host once and checks every
/// address it resolves to ([`check_ip`]); the target is the first address.
pub async fn resolve_checked(url: &str, policy: &GuardPolicy) -> Result<CheckedTarget, GuardError> {
    let parsed = validate_url_syntax(url, policy)?;
    let port = parsed
        .port_or_known_default()
        .ok_or(GuardError::InvalidUrl)?;
    let addrs: Vec<SocketAddr> = match parsed.host() {
        Some(Host::Ipv4(ip)) => vec![SocketAddr::new(IpAddr::V4(ip), port)],
        Some(Host::Ipv6(ip)) => vec![SocketAddr::new(IpAddr::V6(ip), port)],
        Some(Host::Domain(name)) => {
            let lookup = tokio::net::lookup_host((name.to_owned(), port));
            match tokio::time::timeout(RESOLVE_TIMEOUT, lookup).await {
                Ok(Ok(addrs)) => addrs.collect(),
                Ok(Err(_)) | Err(_) => return Err(GuardError::Unresolvable),
            }
        }
        None => return Err(GuardError::InvalidUrl),
    };
    let first = *addrs.first().ok_or(GuardError::Unresolvable)?;
    for addr in &addrs {
        check_ip(addr.ip(), policy)?;
    }
    Ok(CheckedTarget {
        url: parsed,
        addr: first,
    })
}

/// Why `ip` may not be a webhook target under `policy`, if it may not.
pub fn check_ip(ip: IpAddr, policy: &GuardPolicy) -> Result<(), GuardError> {
    match ip {
        IpAddr::V4(v4) => check_v4(v4, policy),
        IpAddr::V6(v6) => check_v6(v6, policy),
    }
}

fn check_v4(ip: Ipv4Addr, policy: &GuardPolicy) -> Result<(), GuardError> {
    let [a, b, c, _] = ip.octets();
    let refused = if ip.is_loopback() {
        if policy.allow_loopback {
            return Ok(());
        }
        GuardError::Loopback
    } else if a == 0 {
        GuardError::Unspecified
    } else if ip.is_private() {
        GuardError::Private
    } else if ip.is_link_local() {
        GuardError::LinkLocal
    } else if a == 100 && (64..128).contains(&b) {
        GuardError::SharedAddress
    } else if ip.is_multicast() {
        GuardError::Multicast
    } else if ip.is_broadcast() {
        GuardError::Broadcast
    } else if ip.is_documentation()
        || (a == 198 && (b == 18 || b == 19))
        || (a == 192 && b == 0 && c == 0)
        || (a == 192 && b == 88 && c == 99)
        || a >= 240
    {
        GuardError::Reserved
    } else {
        return Ok(());
    };
    Err(refused)
}

fn check_v6(ip: Ipv6Addr, policy: &GuardPolicy) -> Result<(), GuardError> {
    let segments = ip.segments();
    let refused = if ip.is_loopback() {
        if policy.allow_loopback {
            return Ok(());
        }
        GuardError::Loopback
    } else if ip.is_unspecified() {
        GuardError::Unspecified
    } else if ip.to_ipv4_mapped().is_some()
        // ::a.b.c.d (deprecated IPv4-compatible), NAT64 64:ff9b::/96 and 64:ff9b:1::/48,
        // 6to4 2002::/16, Teredo 2001:0::/32: each carries an IPv4 address inside.
        || segments[..6].iter().all(|s| *s == 0)
        || (segments[0] == 0x64 && segments[1] == 0xff9b)
        || segments[0] == 0x2002
        || (segments[0] == 0x2001 && segments[1] == 0)
    {
        GuardError::EmbeddedIpv4
    } else if segments[0] & 0xfe00 == 0xfc00 || segments[0] & 0xffc0 == 0xfec0 {
        GuardError::Private
    } else if segments[0] & 0xffc0 == 0xfe80 {
        GuardError::LinkLocal
    } else if ip.is_multicast() {
        GuardError::Multicast
    } else if (segments[0] == 0x2001 && segments[1] == 0x0db8)
        || (segments[0] == 0x3fff && segments[1] < 0x1000)
        || (segments[0] == 0x0100 && segments[1..4].iter().all(|s| *s == 0))
        || (segments[0] == 0x2001 && segments[1] < 0x0200)
        || segments[0] & 0xe000 != 0x2000
    {
        // Documentation (2001:db8::/32, 3fff::/20), discard (100::/64), IETF protocol
        // assignments (2001::/23) and everything outside global unicast 2000::/3.
        GuardError::Reserved
    } else {
        return Ok(());
    };
    Err(refused)
}

/// The host of `url` exactly as written (after the scheme and any userinfo, before the port
/// and path), lower-cased; `None` when it cannot be found.
fn raw_host(url: &str) -> Option<String> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split(['/', '?', '#', '\\']).next()?;
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = if host_port.starts_with('[') {
        host_port.split_inclusive(']').next()?
    } else {
        host_port.split(':').next()?
    };
    Some(host.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(url: &str, policy: GuardPolicy) -> GuardError {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        match runtime.block_on(resolve_checked(url, &policy)) {
            Ok(target) => panic!("{url} passed the guard: {target:?}"),
            Err(e) => e,
        }
    }

    #[test]
    fn every_form_of_an_internal_target_is_refused() {
        let strict = GuardPolicy::STRICT;
        let cases: &[(&str, GuardError)] = &[
            ("http://example.com/hook", GuardError::InsecureScheme),
            ("ftp://example.com/hook", GuardError::Scheme),
            ("file:///etc/passwd", GuardError::Scheme),
            ("https://127.0.0.1/hook", GuardError::Loopback),
            ("https://127.8.9.10:8443/hook", GuardError::Loopback),
            ("https://[::1]/hook", GuardError::Loopback),
            (
                "https://169.254.169.254/latest/meta-data",
                GuardError::LinkLocal,
            ),
            ("https://[fe80::1]/", GuardError::LinkLocal),
            ("https://10.0.0.1/hook", GuardError::Private),
            ("https://172.16.5.4/hook", GuardError::Private),
            ("https://192.168.1.1/hook", GuardError::Private),
            ("https://[fd12:3456::1]/hook", GuardError::Private),
            ("https://0x7f000001/hook", GuardError::NumericHostForm),
            ("https://0X7F000001/hook", GuardError::NumericHostForm),
            ("https://2130706433/hook", GuardError::NumericHostForm),
            ("https://017700000001/hook", GuardError::NumericHostForm),
            ("https://0177.0.0.1/hook", GuardError::NumericHostForm),
            ("https://0x7f.0.0.1/hook", GuardError::NumericHostForm),
            ("https://127.1/hook", GuardError::NumericHostForm),
            ("https://012.0.0.1/hook", GuardError::NumericHostForm),
            ("https://[::ffff:127.0.0.1]/hook", GuardError::EmbeddedIpv4),
            ("https://[::ffff:7f00:1]/hook", GuardError::EmbeddedIpv4),
            ("https://[::ffff:8.8.8.8]/hook", GuardError::EmbeddedIpv4),
            ("https://[::127.0.0.1]/hook", GuardError::EmbeddedIpv4),
            ("https://[64:ff9b::a00:1]/hook", GuardError::EmbeddedIpv4),
            ("https://[2002:a00:1::]/hook", GuardError::EmbeddedIpv4),
            ("https://100.64.0.1/hook", GuardError::SharedAddress),
            ("https://100.127.255.254/hook", GuardError::SharedAddress),
            ("https://224.0.0.1/hook", GuardError::Multicast),
            ("https://239.255.255.250/hook", GuardError::Multicast),
            ("https://[ff02::1]/hook", GuardError::Multicast),
            ("https://0.0.0.0/hook", GuardError::Unspecified),
            ("https://0.1.2.3/hook", GuardError::Unspecified),
            ("https://[::]/hook", GuardError::Unspecified),
            ("https://255.255.255.255/hook", GuardError::Broadcast),
            ("https://192.0.2.1/hook", GuardError::Reserved),
            ("https://198.18.0.1/hook", GuardError::Reserved),
            ("https://240.0.0.1/hook", GuardError::Reserved),
            ("https://[2001:db8::1]/hook", GuardError::Reserved),
            ("https://localhost/hook", GuardError::Loopback),
            ("https://LocalHost:8443/hook", GuardError::Loopback),
            ("https://user:pw@example.com/hook", GuardError::Userinfo),
            ("https://user@example.com/hook", GuardError::Userinfo),
            ("https://example.com@127.0.0.1/hook", GuardError::Userinfo),
            ("not a url", GuardError::InvalidUrl),
            ("/relative/hook", GuardError::InvalidUrl),
            ("https://name.invalid/hook", GuardError::Unresolvable),
        ];
        for (url, reason) in cases {
            assert_eq!(&refused(url, strict), reason, "{url}");
        }
    }

    #[test]
    fn the_development_policy_admits_loopback_and_http_but_nothing_else_internal() {
        let dev = GuardPolicy::DEVELOPMENT;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        for url in [
            "http://127.0.0.1:9000/hook",
            "https://[::1]:9000/hook",
            "http://localhost:9000/hook",
        ] {
            let target = runtime.block_on(resolve_checked(url, &dev)).unwrap();
            assert!(target.addr.ip().is_loopback(), "{url}");
            assert_eq!(target.addr.port(), 9000);
        }
        for (url, reason) in [
            ("http://10.0.0.1/hook", GuardError::Private),
            ("http://169.254.169.254/", GuardError::LinkLocal),
            ("http://0x7f000001/hook", GuardError::NumericHostForm),
            ("http://[::ffff:127.0.0.1]/hook", GuardError::EmbeddedIpv4),
            ("http://0.0.0.0:9000/hook", GuardError::Unspecified),
            ("http://u:p@127.0.0.1/hook", GuardError::Userinfo),
        ] {
            assert_eq!(refused(url, dev), reason, "{url}");
        }
        // The strict policy refuses the loopback receiver the development policy accepts.
        assert_eq!(
            refused("https://127.0.0.1:9000/hook", GuardPolicy::STRICT),
            GuardError::Loopback
        );
    }

    #[test]
    fn public_addresses_pass_and_are_the_address_connected_to() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        for (url, addr) in [
            ("https://8.8.8.8/hook", "8.8.8.8:443"),
            ("https://1.1.1.1:8443/x?y=1", "1.1.1.1:8443"),
            (
                "https://[2606:4700:4700::1111]/hook",
                "[2606:4700:4700::1111]:443",
            ),
        ] {
            let target = runtime
                .block_on(resolve_checked(url, &GuardPolicy::STRICT))
                .unwrap();
            assert_eq!(target.addr, addr.parse::<SocketAddr>().unwrap(), "{url}");
        }
        assert_eq!(
            validate_url_syntax("https://hooks.example.com/x", &GuardPolicy::STRICT)
                .unwrap()
                .as_str(),
            "https://hooks.example.com/x"
        );
    }

    #[test]
    fn every_reason_has_its_own_code() {
        let all = [
            GuardError::InvalidUrl,
            GuardError::Scheme,
            GuardError::InsecureScheme,
            GuardError::Userinfo,
            GuardError::NumericHostForm,
            GuardError::EmbeddedIpv4,
            GuardError::Loopback,
            GuardError::Private,
            GuardError::LinkLocal,
            GuardError::SharedAddress,
            GuardError::Multicast,
            GuardError::Unspecified,
            GuardError::Broadcast,
            GuardError::Reserved,
            GuardError::Unresolvable,
        ];
        let codes: std::collections::BTreeSet<_> = all.iter().map(GuardError::code).collect();
        assert_eq!(codes.len(), all.len());
        assert!(all.iter().filter(|e| e.is_transient()).count() == 1);
    }
}
