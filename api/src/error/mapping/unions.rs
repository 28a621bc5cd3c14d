//! Union-tree use-case errors to HTTP: the codes come from the domain errors, the statuses from
//! the codes ([`crate::error::status`]); the request fields at fault are named here.

use zhijian_domain::error_code::ErrorCode;
use zhijian_domain::union_admin::{UnionFact, UnionRuleError};
use zhijian_infra::usecases::unions::{
    CreateUnionError, EditUnionError, UnionReadError, UnknownRegion,
};

use crate::error::ApiError;

/// The request field a rule of the union tree is about.
fn rule_field(error: &UnionRuleError) -> &'static str {
    match error {
        UnionRuleError::InvalidName => "name",
        UnionRuleError::InvalidReviewTime | UnionRuleError::Hours(_) => "review_hours",
        UnionRuleError::FederationRegionLevel
        | UnionRuleError::TownshipFederationParent
        | UnionRuleError::RegionOutsideParent
        | UnionRuleError::JointRegionLevel
        | UnionRuleError::PoolRegion => "region_code",
        UnionRuleError::CoverageOutsideParent | UnionRuleError::CoverageLevel => "coverage",
        UnionRuleError::OccupationsRequired => "occupations",
        UnionRuleError::CreditCodeRequired => "credit_code",
        UnionRuleError::NotApplicable(fact) => match fact {
            UnionFact::Coverage => "coverage",
            UnionFact::Occupations => "occupations",
            UnionFact::CreditCode => "credit_code",
        },
        UnionRuleError::ParentNotFederation => "parent_id",
    }
}

/// A refused rule: 400 with its code, message and field.
pub fn union_rule(error: UnionRuleError) -> ApiError {
    ApiError::invalid(error.code(), error.to_string(), rule_field(&error))
}

fn unknown_region(which: UnknownRegion) -> ApiError {
    let field = match which {
        UnknownRegion::Region => "region_code",
        UnknownRegion::Coverage => "coverage",
    };
    ApiError::invalid(
        ErrorCode::UnknownRegion,
        "地区代码不在统计用区划代码表中",
        field,
    )
}

fn forbidden(error: impl std::fmt::Display) -> ApiError {
    ApiError::new(ErrorCode::Forbidden, error.to_string())
}

impl From<CreateUnionError> for ApiError {
    fn from(error: CreateUnionError) -> Self {
        match error {
            CreateUnionError::Forbidden(e) => forbidden(e),
            CreateUnionError::NotFound => ApiError::not_found(),
            CreateUnionError::ParentClosed => {
                ApiError::new(ErrorCode::UnionClosed, "上级工会已撤销，不能在其下新建工会")
                    .with_field("parent_id")
            }
            CreateUnionError::Rule(e) => union_rule(e),
            CreateUnionError::UnknownRegion(which) => unknown_region(which),
            CreateUnionError::CreditCodeTaken => {
                ApiError::new(ErrorCode::CreditCodeTaken, "该统一社会信用代码已有企业工会")
                    .with_field("credit_code")
            }
            CreateUnionError::PoolExists => {
                ApiError::new(ErrorCode::PoolExists, "该县（区）已有临时库").with_field("kind")
            }
            CreateUnionError::KeyReused => crate::json::key_reused(),
            CreateUnionError::Store(e) => e.into(),
        }
    }
}

impl From<EditUnionError> for ApiError {
    fn from(error: EditUnionError) -> Self {
        match error {
            EditUnionError::Forbidden(e) => forbidden(e),
            EditUnionError::NotFound => ApiError::not_found(),
            EditUnionError::Closed => {
                ApiError::new(ErrorCode::UnionClosed, "该工会已撤销，不能再修改")
            }
            EditUnionError::Stale => {
                ApiError::new(ErrorCode::StaleVersion, "该工会已被他人修改，请刷新后重试")
            }
            EditUnionError::Rule(e) => union_rule(e),
            EditUnionError::UnknownRegion(which) => unknown_region(which),
            EditUnionError::Store(e) => e.into(),
        }
    }
}

impl From<UnionReadError> for ApiError {
    fn from(error: UnionReadError) -> Self {
        match error {
            UnionReadError::NotFound => ApiError::not_found(),
            UnionReadError::Store(e) => e.into(),
        }
    }
}
