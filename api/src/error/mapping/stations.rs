//! Stations, benefits and redemption use-case errors to HTTP.

use zhijian_domain::calendar::to_local;
use zhijian_domain::error_code::ErrorCode;
use zhijian_infra::usecases::stations::benefits::{
    BenefitWriteError, MyBenefitsError, RedeemError, RedemptionsError,
};
use zhijian_infra::usecases::stations::{NearbyError, StationReadError, StationWriteError};

use crate::error::ApiError;

impl From<StationWriteError> for ApiError {
    fn from(error: StationWriteError) -> Self {
        match error {
            StationWriteError::NotFound => ApiError::not_found(),
            StationWriteError::Stale => {
                ApiError::new(ErrorCode::StaleVersion, "该站点已被他人修改，请刷新后重试")
            }
            StationWriteError::Closed => ApiError::new(ErrorCode::StationClosed, "该站点已关闭"),
            StationWriteError::HasBenefits { benefits } => ApiError::new(
                ErrorCode::StationHasBenefits,
                format!(
                    "有{benefits}项入会礼遇在该站点领取且尚未领完，请指定接替站点（successor_id）后再关闭"
                ),
            ),
            StationWriteError::BadSuccessor => ApiError::invalid(
                ErrorCode::InvalidField,
                "接替站点应为同一工会另一个在用的站点",
                "successor_id",
            ),
            StationWriteError::KeyReused => crate::json::key_reused(),
            StationWriteError::Store(e) => e.into(),
        }
    }
}

impl From<StationReadError> for ApiError {
    fn from(error: StationReadError) -> Self {
        match error {
            StationReadError::NotFound => ApiError::not_found(),
            StationReadError::Store(e) => e.into(),
        }
    }
}

impl From<NearbyError> for ApiError {
    fn from(error: NearbyError) -> Self {
        match error {
            NearbyError::Limited { retry_after_secs } => {
                ApiError::new(ErrorCode::TooManyRequests, "查询过于频繁，请稍后再试")
                    .with_retry_after(retry_after_secs)
            }
            NearbyError::Store(e) => e.into(),
        }
    }
}

impl From<BenefitWriteError> for ApiError {
    fn from(error: BenefitWriteError) -> Self {
        match error {
            BenefitWriteError::NotFound => ApiError::not_found(),
            BenefitWriteError::UnknownStation => ApiError::invalid(
                ErrorCode::InvalidField,
                "领取站点不存在、已关闭或不在该工会范围内",
                "station_id",
            ),
            BenefitWriteError::Stale => {
                ApiError::new(ErrorCode::StaleVersion, "该权益已被他人修改，请刷新后重试")
            }
            BenefitWriteError::Spec(e) => ApiError::invalid(e.code(), e.to_string(), e.field()),
            BenefitWriteError::KeyReused => crate::json::key_reused(),
            BenefitWriteError::Store(e) => e.into(),
        }
    }
}

impl From<MyBenefitsError> for ApiError {
    fn from(error: MyBenefitsError) -> Self {
        match error {
            MyBenefitsError::NotAMember => {
                ApiError::new(ErrorCode::NotAMember, "您还不是工会会员，请先提交入会申请")
            }
            MyBenefitsError::Store(e) => e.into(),
        }
    }
}

impl From<RedeemError> for ApiError {
    fn from(error: RedeemError) -> Self {
        match error {
            RedeemError::NotStationStaff => {
                ApiError::new(ErrorCode::Forbidden, "只有站点管理员可以核销会员权益")
            }
            RedeemError::UnknownMember => {
                ApiError::invalid(ErrorCode::InvalidCardPayload, "会员卡二维码无效", "payload")
            }
            RedeemError::MembershipEnded(e) => ApiError::new(
                e.code(),
                "该会员卡持有人已不是工会会员（已退会或会籍终止），不能核销",
            ),
            RedeemError::NotHeld => ApiError::invalid(
                ErrorCode::BenefitNotHeld,
                "该会员没有这项权益",
                "benefit_id",
            ),
            RedeemError::AlreadyUsed { at, station } => ApiError::new(
                ErrorCode::BenefitAlreadyUsed,
                format!(
                    "该权益已于{}在{}核销，不能重复使用",
                    to_local(at).format("%Y-%m-%d %H:%M"),
                    if station.is_empty() {
                        "其他站点".to_owned()
                    } else {
                        station
                    }
                ),
            ),
            RedeemError::Expired => ApiError::new(ErrorCode::BenefitExpired, "该权益已过有效期"),
            RedeemError::OtherStation => ApiError::new(
                ErrorCode::BenefitOtherStation,
                "该权益不在本站点领取，请到指定站点核销",
            ),
            RedeemError::StationClosed => {
                ApiError::new(ErrorCode::StationClosed, "本站点已关闭，不能核销")
            }
            RedeemError::Store(e) => e.into(),
        }
    }
}

impl From<RedemptionsError> for ApiError {
    fn from(error: RedemptionsError) -> Self {
        match error {
            RedemptionsError::NotFound => ApiError::not_found(),
            RedemptionsError::Store(e) => e.into(),
        }
    }
}
