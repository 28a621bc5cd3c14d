//! Join-flow use-case errors to HTTP: the status comes from the code, the field named here.

use zhijian_domain::application::{AssignError, ForwardError, ReturnError};
use zhijian_domain::error_code::ErrorCode;
use zhijian_infra::store::applications::RegionProblem;
use zhijian_infra::usecases::applications::{
    CorrectError, DecideError, FormRefusal, ReadError, StatsError, SubmitError, WithdrawalError,
};

use crate::error::ApiError;

const ALREADY_MEMBER: &str = "您已是工会会员，无需重复入会；工作地变动请申请会籍转接";
const OPEN_APPLICATION_EXISTS: &str = "您已有一份正在办理的入会申请，请勿重复提交";
const STALE: &str = "该申请已被他人处理，请刷新后重试";

fn stale() -> ApiError {
    ApiError::new(ErrorCode::StaleVersion, STALE)
}

/// A form (submitted or corrected) that cannot go to review.
pub fn form_refusal(refusal: FormRefusal) -> ApiError {
    match refusal {
        FormRefusal::WorkRegion(RegionProblem::TooCoarse) => ApiError::invalid(
            ErrorCode::WorkRegionTooCoarse,
            "工作地点请选择到乡镇（街道）或村（社区）",
            "work_region",
        ),
        FormRefusal::WorkRegion(RegionProblem::Unknown) => ApiError::invalid(
            ErrorCode::UnknownRegion,
            "所选工作地点不存在",
            "work_region",
        ),
        FormRefusal::UnknownHouseholdRegion => ApiError::invalid(
            ErrorCode::UnknownRegion,
            "所选户籍地不存在",
            "household_region",
        ),
        FormRefusal::Routing(e) => ApiError::new(e.code(), e.to_string()),
        FormRefusal::AlreadyMember => ApiError::new(ErrorCode::AlreadyMember, ALREADY_MEMBER),
        FormRefusal::OpenApplicationExists => {
            ApiError::new(ErrorCode::ApplicationExists, OPEN_APPLICATION_EXISTS)
        }
        FormRefusal::Referral(e) => ApiError::invalid(e.code(), e.to_string(), "referral_code"),
    }
}

/// `submit_application`.
pub fn submit_error(error: SubmitError) -> ApiError {
    match error {
        SubmitError::Refused(refusal) => form_refusal(refusal),
        SubmitError::KeyReused(_) => crate::json::key_reused(),
        SubmitError::Store(e) => e.into(),
    }
}

/// `correct_application`.
pub fn correct_error(error: CorrectError) -> ApiError {
    match error {
        CorrectError::NotFound => ApiError::not_found(),
        CorrectError::Resubmit(e) => ApiError::new(e.code(), e.to_string()),
        CorrectError::Refused(refusal) => form_refusal(refusal),
        CorrectError::Stale => stale(),
        CorrectError::Store(e) => e.into(),
    }
}

/// `withdraw_application`.
pub fn withdrawal_error(error: WithdrawalError) -> ApiError {
    match error {
        WithdrawalError::NotFound => ApiError::not_found(),
        WithdrawalError::Withdraw(e) => ApiError::new(e.code(), e.to_string()),
        WithdrawalError::Stale => stale(),
        WithdrawalError::Store(e) => e.into(),
    }
}

/// `my_application`, `admin_application`.
pub fn read_error(error: ReadError) -> ApiError {
    match error {
        ReadError::NotFound => ApiError::not_found(),
        ReadError::TooManyReveals { retry_after_secs } => ApiError::new(
            ErrorCode::TooManyReveals,
            "一小时内查看个人信息次数过多，请稍后再试；上级工会管理员已收到提醒",
        )
        .with_retry_after(retry_after_secs),
        ReadError::Store(e) => e.into(),
    }
}

/// The admin's decisions.
pub fn decide_error(error: DecideError) -> ApiError {
    let fields = |e: ReturnError| ApiError::invalid(e.code(), e.to_string(), "fields");
    match error {
        DecideError::NotFound => ApiError::not_found(),
        DecideError::Approve(e) => ApiError::new(e.code(), e.to_string()),
        DecideError::Reject(e) => ApiError::new(e.code(), e.to_string()),
        DecideError::Return(e @ (ReturnError::NoFieldsToFix | ReturnError::BlankField)) => {
            fields(e)
        }
        DecideError::Return(e) => ApiError::new(e.code(), e.to_string()),
        DecideError::Forward(e @ ForwardError::SameUnion) => {
            ApiError::invalid(e.code(), e.to_string(), "union_id")
        }
        DecideError::Forward(e) => ApiError::new(e.code(), e.to_string()),
        DecideError::Assign(e @ AssignError::SameUnion) => {
            ApiError::invalid(e.code(), e.to_string(), "union_id")
        }
        DecideError::Assign(e) => ApiError::new(e.code(), e.to_string()),
        DecideError::Target(e) => ApiError::invalid(e.code(), e.to_string(), "union_id"),
        DecideError::AlreadyMember => ApiError::new(ErrorCode::AlreadyMember, ALREADY_MEMBER),
        DecideError::Stale => stale(),
        DecideError::Store(e) => e.into(),
    }
}

/// `review_stats`.
pub fn stats_error(error: StatsError) -> ApiError {
    match error {
        StatsError::NotFound => ApiError::not_found(),
        StatsError::Store(e) => e.into(),
    }
}
