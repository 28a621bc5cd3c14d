//! Which union may be handed something by hand: an application forwarded or assigned to it,
//! or a member transferring into a union they chose.
//!
//! One rule for both: the union must exist, take newcomers (`accepting`), and not be a pool —
//! a pool only holds what routing could give to no one else, so it is never chosen by a
//! person. (Routing itself may still land in a pool; that is not this rule.)

use crate::admin::UnionPath;
use crate::error_code::ErrorCode;
use crate::routing::{UnionCandidate, UnionKind};

/// What the union is asked to receive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Receiving {
    /// An application, forwarded or assigned by an admin.
    Application,
    /// A member, transferring into a union they named.
    Transfer,
}

/// Why a union may not receive it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    /// No union has that id.
    #[error("目标工会不存在")]
    Unknown,
    /// The union is a pool or does not take applications now.
    #[error("目标工会暂不受理入会申请")]
    NotTakingApplications,
    /// The union is a pool or does not take transferring members now.
    #[error("目标工会暂不接收会员转入")]
    NotTakingTransfers,
    /// An assignment must stay in the admin's own subtree.
    #[error("只能分派给本级及下级工会")]
    OutsideSubtree,
}

impl TargetError {
    /// Stable machine code.
    pub fn code(&self) -> ErrorCode {
        ErrorCode::InvalidTargetUnion
    }
}

/// Whether `union` (`None`: no union has the id asked for) may receive what `receiving` names:
/// it exists, accepts, and is not a pool.
pub fn check_target(
    union: Option<&UnionCandidate>,
    receiving: Receiving,
) -> Result<(), TargetError> {
    let union = union.ok_or(TargetError::Unknown)?;
    if union.accepting && union.kind != UnionKind::Pool {
        return Ok(());
    }
    Err(match receiving {
        Receiving::Application => TargetError::NotTakingApplications,
        Receiving::Transfer => TargetError::NotTakingTransfers,
    })
}

/// An assignment's target must lie in the subtree of the admin's union `scope`.
pub fn check_within(scope: &UnionPath, target: &UnionPath) -> Result<(), TargetError> {
    if scope.contains(target) {
        Ok(())
    } else {
        Err(TargetError::OutsideSubtree)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::UnionId;
    use crate::region::RegionCode;

    fn union(kind: UnionKind, accepting: bool) -> UnionCandidate {
        UnionCandidate {
            id: UnionId::new(1),
            name: "净坛社区联合工会".to_owned(),
            kind,
            region: RegionCode::parse("500237001").unwrap(),
            coverage: Vec::new(),
            credit_code: None,
            occupations: Vec::new(),
            accepting,
            priority: 0,
        }
    }

    #[test]
    fn only_an_existing_accepting_union_that_is_not_a_pool_receives_by_hand() {
        for receiving in [Receiving::Application, Receiving::Transfer] {
            assert_eq!(
                check_target(Some(&union(UnionKind::Joint, true)), receiving),
                Ok(())
            );
            assert_eq!(check_target(None, receiving), Err(TargetError::Unknown));
        }
        assert_eq!(
            check_target(Some(&union(UnionKind::Pool, true)), Receiving::Transfer),
            Err(TargetError::NotTakingTransfers)
        );
        assert_eq!(
            check_target(
                Some(&union(UnionKind::Joint, false)),
                Receiving::Application
            ),
            Err(TargetError::NotTakingApplications)
        );
        assert_eq!(
            TargetError::NotTakingTransfers.to_string(),
            "目标工会暂不接收会员转入"
        );
        assert_eq!(TargetError::Unknown.code(), "invalid_target_union");
    }

    #[test]
    fn an_assignment_stays_in_the_admins_subtree() {
        let county = UnionPath::parse("/1/5/").unwrap();
        assert_eq!(
            check_within(&county, &UnionPath::parse("/1/5/12/").unwrap()),
            Ok(())
        );
        assert_eq!(
            check_within(&county, &UnionPath::parse("/1/6/").unwrap()),
            Err(TargetError::OutsideSubtree)
        );
    }
}
