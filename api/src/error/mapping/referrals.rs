//! Referral use-case errors to HTTP.

use zhijian_domain::error_code::ErrorCode;
use zhijian_infra::usecases::membership::referrals::ReferralReadError;

use crate::error::ApiError;

impl From<ReferralReadError> for ApiError {
    fn from(error: ReferralReadError) -> Self {
        match error {
            ReferralReadError::NotAMember => {
                ApiError::new(ErrorCode::NotAMember, "您还不是工会会员，入会后才有推荐码")
            }
            ReferralReadError::Store(e) => e.into(),
        }
    }
}
