//! Welcome benefits (入会礼遇): what a union gives a member on approval — accident insurance
//! with its insurer and cover period, a gift package collected at a station, a health check —
//! with its validity and stock; and the rules of a member's benefit record: its state and its
//! redemption, once.
//!
//! Who receives what (the rule the grant statement implements):
//! - A benefit is granted when an application is approved into membership — by its union, or
//!   out of the pool — one record of each open, in-stock benefit of the member's union and its
//!   ancestors, while stock lasts.
//! - A member holds at most one record of a benefit, ever ([`BENEFIT_GRANTED_ONCE`]).
//! - A transfer is not a new joining: the member keeps every record already received (used or
//!   not, redeemable at a station of the giving union's subtree as before, whatever their
//!   union now), and the new union's benefits are not granted retroactively — a shared
//!   ancestor's benefit is not granted a second time either.

use std::fmt;

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use crate::error_code::ErrorCode;
use crate::vocab::string_enum;

/// One record per member and benefit, granted at approval only — never again on a transfer
/// (see the module's rule; the store's unique constraint `member_benefits_once` keeps it).
pub const BENEFIT_GRANTED_ONCE: bool = true;

/// A configured benefit's key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct BenefitId(i64);

impl BenefitId {
    /// Wraps a database key.
    pub const fn new(id: i64) -> Self {
        Self(id)
    }

    /// The database key.
    pub const fn get(self) -> i64 {
        self.0
    }
}

impl fmt::Display for BenefitId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

string_enum! {
    /// What a benefit is.
    pub enum BenefitKind {
        what = "权益类型",
        code = InvalidBenefitKind,
        /// 意外伤害保险, with an insurer and a cover period.
        AccidentInsurance = "accident_insurance" => "意外伤害保险",
        /// 入会礼包, collected at a station.
        GiftPackage = "gift_package" => "入会礼包",
        /// 健康体检.
        HealthCheck = "health_check" => "健康体检",
        /// Anything else.
        Other = "other" => "其他权益",
    }
}

string_enum! {
    /// Where a member's benefit record stands.
    pub enum BenefitState {
        what = "权益状态",
        code = InvalidFilter,
        /// May be used.
        Available = "available" => "可使用",
        /// Used (redeemed at a station).
        Used = "used" => "已使用",
        /// Not used before its validity ended.
        Expired = "expired" => "已过期",
    }
}

/// A benefit configuration that does not make sense.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BenefitSpecError {
    /// Accident insurance without its insurer or cover period.
    #[error("意外伤害保险须填写承保机构和保障期限")]
    InsurerRequired,
    /// A cover period outside 1–60 months.
    #[error("保障期限应为1至60个月")]
    CoverPeriod,
    /// A validity outside 1–3660 days.
    #[error("有效期应为1至3660天")]
    Validity,
    /// A stock below zero or above 10 000 000.
    #[error("库存应为0至10000000之间的整数")]
    Stock,
    /// A restock that would withdraw more than remains ungranted, or pass 10 000 000.
    #[error("调整后的剩余库存应为0至10000000：已发放的权益不能收回，最多只能减去尚未发放的数量")]
    Restock,
}

impl BenefitSpecError {
    /// Stable machine code.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::InsurerRequired => ErrorCode::BenefitInsurerRequired,
            Self::CoverPeriod => ErrorCode::InvalidCoverPeriod,
            Self::Validity => ErrorCode::InvalidValidity,
            Self::Stock | Self::Restock => ErrorCode::InvalidStock,
        }
    }

    /// The request field at fault.
    pub fn field(&self) -> &'static str {
        match self {
            Self::InsurerRequired => "insurer",
            Self::CoverPeriod => "cover_months",
            Self::Validity => "valid_days",
            Self::Stock => "stock",
            Self::Restock => "add_stock",
        }
    }
}

/// The checked numbers of a benefit: validity after the grant, stock, cover period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BenefitTerms {
    /// Days a granted record stays usable.
    pub valid_days: i32,
    /// How many may still be granted.
    pub stock: i32,
    /// Months of insurance cover (insurance only).
    pub cover_months: Option<i32>,
}

impl BenefitTerms {
    /// The largest stock.
    pub const MAX_STOCK: i64 = 10_000_000;

    /// Checks the numbers for a benefit of `kind` (insurance needs its insurer and cover).
    pub fn parse(
        kind: BenefitKind,
        has_insurer: bool,
        valid_days: i64,
        stock: i64,
        cover_months: Option<i64>,
    ) -> Result<Self, BenefitSpecError> {
        let insurance = kind == BenefitKind::AccidentInsurance;
        if insurance && (!has_insurer || cover_months.is_none()) {
            return Err(BenefitSpecError::InsurerRequired);
        }
        let cover_months = match cover_months {
            Some(m) if (1..=60).contains(&m) => Some(m),
            Some(_) => return Err(BenefitSpecError::CoverPeriod),
            None => None,
        };
        if !(1..=3660).contains(&valid_days) {
            return Err(BenefitSpecError::Validity);
        }
        if !(0..=Self::MAX_STOCK).contains(&stock) {
            return Err(BenefitSpecError::Stock);
        }
        let small = |n: i64| i32::try_from(n).unwrap_or(i32::MAX);
        Ok(Self {
            valid_days: small(valid_days),
            stock: small(stock),
            cover_months: cover_months.map(small),
        })
    }

    /// A validity of 1–3660 days.
    pub fn validity(valid_days: i64) -> Result<i32, BenefitSpecError> {
        if !(1..=3660).contains(&valid_days) {
            return Err(BenefitSpecError::Validity);
        }
        i32::try_from(valid_days).map_err(|_| BenefitSpecError::Validity)
    }

    /// The remaining stock after adding `add` to `remaining` (补充库存; negative: unused stock
    /// withdrawn). What was granted stays granted: the remaining stock never goes below zero,
    /// so the total never drops below what members already received.
    pub fn restock(remaining: i32, add: i64) -> Result<i32, BenefitSpecError> {
        let after = i64::from(remaining)
            .checked_add(add)
            .ok_or(BenefitSpecError::Restock)?;
        if !(0..=Self::MAX_STOCK).contains(&after) {
            return Err(BenefitSpecError::Restock);
        }
        i32::try_from(after).map_err(|_| BenefitSpecError::Restock)
    }

    /// When a record granted at `at` stops being usable.
    pub fn expires_at(&self, at: DateTime<Utc>) -> DateTime<Utc> {
        at + TimeDelta::days(i64::from(self.valid_days))
    }
}

/// A member's benefit record as stored: when it was used and when it expires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BenefitRecord {
    /// When it was used, if it was.
    pub used_at: Option<DateTime<Utc>>,
    /// When it stops being usable.
    pub expires_at: DateTime<Utc>,
}

/// Why a benefit record cannot be used now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RedeemRefusal {
    /// Used already, at this time.
    AlreadyUsed(DateTime<Utc>),
    /// Its validity ended.
    Expired,
}

impl RedeemRefusal {
    /// Stable machine code.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::AlreadyUsed(_) => ErrorCode::BenefitAlreadyUsed,
            Self::Expired => ErrorCode::BenefitExpired,
        }
    }
}

impl BenefitRecord {
    /// Its state at `now`: used wins over expired.
    pub fn state(&self, now: DateTime<Utc>) -> BenefitState {
        match self.used_at {
            Some(_) => BenefitState::Used,
            None if now >= self.expires_at => BenefitState::Expired,
            None => BenefitState::Available,
        }
    }

    /// Whether it may be used at `now`.
    pub fn redeem(&self, now: DateTime<Utc>) -> Result<(), RedeemRefusal> {
        match self.used_at {
            Some(at) => Err(RedeemRefusal::AlreadyUsed(at)),
            None if now >= self.expires_at => Err(RedeemRefusal::Expired),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::tests::beijing;

    #[test]
    fn insurance_needs_its_insurer_and_cover_period() {
        let parse =
            |has, cover| BenefitTerms::parse(BenefitKind::AccidentInsurance, has, 365, 10, cover);
        assert_eq!(
            parse(false, Some(12)),
            Err(BenefitSpecError::InsurerRequired)
        );
        assert_eq!(parse(true, None), Err(BenefitSpecError::InsurerRequired));
        assert_eq!(parse(true, Some(0)), Err(BenefitSpecError::CoverPeriod));
        assert_eq!(parse(true, Some(12)).unwrap().cover_months, Some(12));
        assert!(BenefitTerms::parse(BenefitKind::GiftPackage, false, 90, 0, None).is_ok());
    }

    #[test]
    fn stock_and_validity_are_bounded() {
        let gift =
            |days, stock| BenefitTerms::parse(BenefitKind::GiftPackage, false, days, stock, None);
        assert_eq!(gift(90, -1), Err(BenefitSpecError::Stock));
        assert_eq!(gift(90, 10_000_001), Err(BenefitSpecError::Stock));
        assert_eq!(gift(0, 5), Err(BenefitSpecError::Validity));
        assert_eq!(gift(90, 0).unwrap().stock, 0);
        assert_eq!(BenefitSpecError::Stock.code(), "invalid_stock");
    }

    #[test]
    fn a_record_is_available_until_used_or_expired() {
        let granted = beijing(2026, 12, 5, 10, 0);
        let terms = BenefitTerms::parse(BenefitKind::GiftPackage, false, 30, 1, None).unwrap();
        let record = BenefitRecord {
            used_at: None,
            expires_at: terms.expires_at(granted),
        };
        assert_eq!(record.state(granted), BenefitState::Available);
        assert_eq!(record.redeem(granted), Ok(()));
        let late = beijing(2027, 1, 4, 10, 0);
        assert_eq!(record.state(late), BenefitState::Expired);
        assert_eq!(record.redeem(late), Err(RedeemRefusal::Expired));
        let used = BenefitRecord {
            used_at: Some(granted),
            ..record
        };
        assert_eq!(used.state(late), BenefitState::Used);
        assert_eq!(
            used.redeem(granted),
            Err(RedeemRefusal::AlreadyUsed(granted))
        );
        assert_eq!(
            RedeemRefusal::AlreadyUsed(granted).code(),
            "benefit_already_used"
        );
    }

    #[test]
    fn a_restock_never_withdraws_what_was_granted() {
        assert_eq!(BenefitTerms::restock(3, 10), Ok(13));
        assert_eq!(BenefitTerms::restock(3, -3), Ok(0));
        assert_eq!(BenefitTerms::restock(3, -4), Err(BenefitSpecError::Restock));
        assert_eq!(
            BenefitTerms::restock(0, BenefitTerms::MAX_STOCK + 1),
            Err(BenefitSpecError::Restock)
        );
        assert_eq!(
            BenefitTerms::restock(1, i64::MAX),
            Err(BenefitSpecError::Restock)
        );
        assert_eq!(BenefitSpecError::Restock.field(), "add_stock");
        assert_eq!(BenefitSpecError::Restock.code(), ErrorCode::InvalidStock);
        assert_eq!(BenefitTerms::validity(0), Err(BenefitSpecError::Validity));
        assert_eq!(BenefitTerms::validity(30), Ok(30));
    }
}
