//! Consent to the privacy notice by purpose and version (PIPL art. 14, 15; GB/T 35273-2020
//! 5.4, 5.6): a worker's consent names the version of the notice they read and the purposes
//! they agreed to. `membership` is required (no membership without it); the others are
//! optional and can be withdrawn at any time without losing the service. When the notice
//! changes (a new version in `privacy.notice_version`), a consent to an older version no
//! longer counts: the worker consents again before any write.

use std::fmt;

/// A purpose personal data is processed for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Purpose {
    /// 入会与会籍管理: the application, its review, the register, transfers, the card.
    Membership,
    /// 推荐统计: counting the members this worker referred (their own referral code).
    ReferralStats,
    /// 合作平台核验: telling partner platforms this worker is a member (for member benefits).
    PartnerSharing,
    /// 服务通知: notices of union services and activities beyond the application's own.
    ServiceNotices,
}

impl Purpose {
    /// Every purpose, required first.
    pub const ALL: [Purpose; 4] = [
        Purpose::Membership,
        Purpose::ReferralStats,
        Purpose::PartnerSharing,
        Purpose::ServiceNotices,
    ];

    /// The purpose as it travels and is stored.
    pub const fn as_str(self) -> &'static str {
        match self {
            Purpose::Membership => "membership",
            Purpose::ReferralStats => "referral_stats",
            Purpose::PartnerSharing => "partner_sharing",
            Purpose::ServiceNotices => "service_notices",
        }
    }

    /// The purpose named `s`.
    pub fn parse(s: &str) -> Result<Self, UnknownPurpose> {
        Purpose::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| UnknownPurpose(s.chars().take(40).collect()))
    }

    /// Whether consent to this purpose is a condition of the service.
    pub const fn is_required(self) -> bool {
        matches!(self, Purpose::Membership)
    }

    /// What the worker reads.
    pub const fn label_zh(self) -> &'static str {
        match self {
            Purpose::Membership => "入会申请、审核、会籍管理与电子会员证",
            Purpose::ReferralStats => "统计我推荐入会的人数",
            Purpose::PartnerSharing => "向合作平台核验我的会员身份（用于会员权益）",
            Purpose::ServiceNotices => "接收工会服务与活动通知",
        }
    }
}

impl fmt::Display for Purpose {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A purpose name outside the catalogue.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown purpose `{0}`")]
pub struct UnknownPurpose(pub String);

/// Why a consent was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConsentError {
    /// The worker consented to another version than the current notice.
    #[error("the notice version consented to is not the current one ({current})")]
    OutdatedVersion {
        /// The current version.
        current: String,
    },
    /// A required purpose is missing.
    #[error("purpose {0} is required")]
    RequiredMissing(Purpose),
}

/// A consent as given: to `notice_version`, for `purposes` (sorted, without repeats).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Consent {
    notice_version: String,
    purposes: Vec<Purpose>,
}

impl Consent {
    /// Checks a consent to `given_version` for `purposes` against the `current` notice
    /// version: the version must be the current one, and every required purpose included.
    pub fn give(
        current: &str,
        given_version: &str,
        purposes: impl IntoIterator<Item = Purpose>,
    ) -> Result<Self, ConsentError> {
        if given_version != current {
            return Err(ConsentError::OutdatedVersion {
                current: current.to_owned(),
            });
        }
        let mut purposes: Vec<Purpose> = purposes.into_iter().collect();
        purposes.sort();
        purposes.dedup();
        if let Some(missing) = Purpose::ALL
            .into_iter()
            .find(|p| p.is_required() && !purposes.contains(p))
        {
            return Err(ConsentError::RequiredMissing(missing));
        }
        Ok(Self {
            notice_version: given_version.to_owned(),
            purposes,
        })
    }

    /// The consent an application's own consent block gives (its notice version, the
    /// required purposes only), when that version is the current one.
    pub fn with_application(current: &str, application_version: &str) -> Option<Self> {
        Self::give(
            current,
            application_version,
            Purpose::ALL.into_iter().filter(|p| p.is_required()),
        )
        .ok()
    }

    /// The notice version.
    pub fn notice_version(&self) -> &str {
        &self.notice_version
    }

    /// The purposes, sorted.
    pub fn purposes(&self) -> &[Purpose] {
        &self.purposes
    }

    /// What changes from `before` to this consent: `(granted, withdrawn)`.
    pub fn changes_from(&self, before: &[Purpose]) -> (Vec<Purpose>, Vec<Purpose>) {
        let granted = self
            .purposes
            .iter()
            .copied()
            .filter(|p| !before.contains(p))
            .collect();
        let withdrawn = before
            .iter()
            .copied()
            .filter(|p| !self.purposes.contains(p))
            .collect();
        (granted, withdrawn)
    }
}

/// Where a worker stands against the current notice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    /// No consent recorded yet: it is given with the first application (its consent block)
    /// or at `PUT /v1/me/privacy-consent`; nothing was processed on an older notice.
    NotYetGiven,
    /// Consent to the current notice.
    Current,
    /// Consent to an older notice: consent again before any write.
    Outdated,
}

impl Standing {
    /// The standing of a worker whose recorded consent names `recorded` (`None`: none yet).
    pub fn of(current: &str, recorded: Option<&str>) -> Self {
        match recorded {
            None => Standing::NotYetGiven,
            Some(version) if version == current => Standing::Current,
            Some(_) => Standing::Outdated,
        }
    }

    /// Whether the worker must consent again before writing.
    pub fn blocks_writes(self) -> bool {
        self == Standing::Outdated
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_consent_needs_the_current_version_and_every_required_purpose() {
        let ok = Consent::give(
            "2026-06",
            "2026-06",
            [
                Purpose::PartnerSharing,
                Purpose::Membership,
                Purpose::Membership,
            ],
        )
        .unwrap();
        assert_eq!(
            ok.purposes(),
            &[Purpose::Membership, Purpose::PartnerSharing]
        );
        assert_eq!(
            Consent::give("2026-06", "2026-01", [Purpose::Membership]),
            Err(ConsentError::OutdatedVersion {
                current: "2026-06".into()
            })
        );
        assert_eq!(
            Consent::give("2026-06", "2026-06", [Purpose::ReferralStats]),
            Err(ConsentError::RequiredMissing(Purpose::Membership))
        );
    }

    #[test]
    fn changes_name_what_was_granted_and_withdrawn() {
        let now = Consent::give("v", "v", [Purpose::Membership, Purpose::ServiceNotices]).unwrap();
        let (granted, withdrawn) =
            now.changes_from(&[Purpose::Membership, Purpose::PartnerSharing]);
        assert_eq!(granted, vec![Purpose::ServiceNotices]);
        assert_eq!(withdrawn, vec![Purpose::PartnerSharing]);
    }

    #[test]
    fn only_an_outdated_consent_blocks_writes() {
        assert!(!Standing::of("v2", None).blocks_writes());
        assert!(!Standing::of("v2", Some("v2")).blocks_writes());
        assert!(Standing::of("v2", Some("v1")).blocks_writes());
    }

    #[test]
    fn purposes_round_trip_and_unknown_ones_are_refused() {
        for p in Purpose::ALL {
            assert_eq!(Purpose::parse(p.as_str()), Ok(p));
        }
        assert!(Purpose::parse("marketing").is_err());
        assert_eq!(Purpose::ALL.iter().filter(|p| p.is_required()).count(), 1);
    }
}
