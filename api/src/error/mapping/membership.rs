//! Membership, member card and transfer use-case errors to HTTP: the codes come from the
//! domain errors, the statuses from the codes ([`crate::error::status`]); the request fields
//! at fault are named here.

use zhijian_domain::error_code::ErrorCode;
use zhijian_infra::store::applications::RegionProblem;
use zhijian_infra::usecases::membership::card::{CardError, MembershipReadError};
use zhijian_infra::usecases::membership::export::ExportError;
use zhijian_infra::usecases::membership::lifecycle::{LifecycleError, WithdrawError};
use zhijian_infra::usecases::membership::members::MemberReadError;
use zhijian_infra::usecases::membership::transfers::{
    CancelError, DecideTransferError, RequestError, TransferReadError, Via,
};

use crate::error::ApiError;

/// The answer to a lost race: someone else changed the object first.
fn stale() -> ApiError {
    ApiError::new(ErrorCode::StaleVersion, "该记录已被他人处理，请刷新后重试")
}

fn not_a_member() -> ApiError {
    ApiError::new(ErrorCode::NotAMember, "您还不是工会会员，请先提交入会申请")
}

/// A domain error as a 4xx without a field: its code and its message.
macro_rules! domain {
    ($error:expr) => {{
        let error = $error;
        ApiError::new(error.code(), error.to_string())
    }};
}

impl From<MembershipReadError> for ApiError {
    fn from(error: MembershipReadError) -> Self {
        match error {
            MembershipReadError::NotAMember => not_a_member(),
            MembershipReadError::Store(e) => e.into(),
        }
    }
}

impl From<CardError> for ApiError {
    fn from(error: CardError) -> Self {
        match error {
            CardError::NotAMember => not_a_member(),
            CardError::Refused(e) => domain!(e),
            CardError::Store(e) => e.into(),
        }
    }
}

impl From<ExportError> for ApiError {
    fn from(error: ExportError) -> Self {
        match error {
            ExportError::NotFound => ApiError::not_found(),
            ExportError::Store(e) => e.into(),
        }
    }
}

impl From<MemberReadError> for ApiError {
    fn from(error: MemberReadError) -> Self {
        match error {
            MemberReadError::NotFound => ApiError::not_found(),
            MemberReadError::Store(e) => e.into(),
        }
    }
}

impl From<LifecycleError> for ApiError {
    fn from(error: LifecycleError) -> Self {
        match error {
            LifecycleError::NotFound => ApiError::not_found(),
            LifecycleError::NotCurrentUnion => ApiError::new(
                ErrorCode::NotCurrentUnion,
                "该会员现不在本工会，会籍事项由其所在工会办理",
            ),
            LifecycleError::Stale => stale(),
            LifecycleError::Retain(e) => domain!(e),
            LifecycleError::Reactivate(e) => domain!(e),
            LifecycleError::Expel(e) => domain!(e),
            LifecycleError::Decease(e) => domain!(e),
            LifecycleError::Store(e) => e.into(),
        }
    }
}

impl From<WithdrawError> for ApiError {
    fn from(error: WithdrawError) -> Self {
        match error {
            WithdrawError::NotAMember => not_a_member(),
            WithdrawError::Rejected(e) => domain!(e),
            WithdrawError::Stale => stale(),
            WithdrawError::Store(e) => e.into(),
        }
    }
}

impl From<TransferReadError> for ApiError {
    fn from(error: TransferReadError) -> Self {
        match error {
            TransferReadError::NotFound => ApiError::not_found(),
            TransferReadError::Store(e) => e.into(),
        }
    }
}

impl From<RequestError> for ApiError {
    fn from(error: RequestError) -> Self {
        match error {
            RequestError::KeyReused => crate::json::key_reused(),
            RequestError::NotAMember => not_a_member(),
            RequestError::Target(e) => ApiError::invalid(e.code(), e.to_string(), "to_union_id"),
            RequestError::Region(RegionProblem::TooCoarse) => ApiError::invalid(
                ErrorCode::WorkRegionTooCoarse,
                "工作地点请选择到乡镇（街道）或村（社区）",
                "work_region",
            ),
            RequestError::Region(RegionProblem::Unknown) => ApiError::invalid(
                ErrorCode::UnknownRegion,
                "所选工作地点不存在",
                "work_region",
            ),
            RequestError::Routing(e) => domain!(e),
            RequestError::SameUnion { error, via } => {
                let field = match via {
                    Via::Union => "to_union_id",
                    Via::Facts => "work_region",
                };
                ApiError::invalid(error.code(), error.to_string(), field)
            }
            RequestError::Start(e) => domain!(e),
            RequestError::CompleteIntoPool(e) => domain!(e),
            RequestError::Finish(e) => domain!(e),
            RequestError::Stale => stale(),
            RequestError::Store(e) => e.into(),
        }
    }
}

impl From<DecideTransferError> for ApiError {
    fn from(error: DecideTransferError) -> Self {
        match error {
            DecideTransferError::NotFound => ApiError::not_found(),
            DecideTransferError::NotSourceUnion => ApiError::new(
                ErrorCode::NotSourceUnion,
                "该转接只能由会员原所在工会办理转出",
            ),
            DecideTransferError::NotTargetUnion => {
                ApiError::new(ErrorCode::NotTargetUnion, "该转接只能由转入工会办理接收")
            }
            DecideTransferError::Stale => stale(),
            DecideTransferError::Release(e) => domain!(e),
            DecideTransferError::Accept(e) => domain!(e),
            DecideTransferError::RejectBySource(e) => domain!(e),
            DecideTransferError::RejectByTarget(e) => domain!(e),
            DecideTransferError::Finish(e) => domain!(e),
            DecideTransferError::Abort(e) => domain!(e),
            DecideTransferError::Store(e) => e.into(),
        }
    }
}

impl From<CancelError> for ApiError {
    fn from(error: CancelError) -> Self {
        match error {
            CancelError::NotFound => ApiError::not_found(),
            CancelError::Cancel(e) => domain!(e),
            CancelError::Abort(e) => domain!(e),
            CancelError::Stale => stale(),
            CancelError::Store(e) => e.into(),
        }
    }
}
