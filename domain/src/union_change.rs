//! Reorganising the union tree: closing a union into a successor and moving a union under
//! another parent. Who may, and which places are allowed, decided on the unions' paths alone.
//!
//! - Only managers reorganise, and only inside their own subtree (outside it the union is not
//!   found at all, which the use cases answer before asking here).
//! - A root union (a province federation) is neither closed nor moved.
//! - A union moves under an open union that is neither itself nor one of its descendants (that
//!   would make a cycle).
//! - A union closes only without open child unions and bound admins; when open applications or
//!   live members remain, a successor is required: an open union of the caller's subtree outside
//!   the closed union's own subtree.

use crate::admin::{AdminRole, UnionPath};
use crate::error_code::ErrorCode;
use crate::region::{RegionCode, RegionLevel};
use crate::routing::UnionKind;

/// What the rules need to know of a union.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnionPlace {
    /// Where it is in the tree.
    pub path: UnionPath,
    /// Whether it was closed.
    pub closed: bool,
    /// Its kind (only federations have unions below them).
    pub kind: UnionKind,
    /// The region it serves.
    pub region: RegionCode,
}

/// Why a role may not reorganise the tree.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("只有管理员可以调整工会组织")]
pub struct MayNotReorganise;

impl MayNotReorganise {
    /// Stable machine code.
    pub fn code(&self) -> ErrorCode {
        ErrorCode::Forbidden
    }
}

/// Only managers close and move unions.
pub fn may_reorganise(role: AdminRole) -> Result<(), MayNotReorganise> {
    if role.can_manage() {
        Ok(())
    } else {
        Err(MayNotReorganise)
    }
}

/// Why a union may not move there.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoveUnionError {
    /// A root union has no parent to change.
    #[error("最上级工会不能调整隶属关系")]
    Root,
    /// The union is closed.
    #[error("该工会已撤销，不能调整隶属关系")]
    Closed,
    /// The new parent is the union itself or below it.
    #[error("不能把工会调整到其自身或其下级工会之下")]
    Cycle,
    /// The new parent is closed.
    #[error("新的上级工会已撤销")]
    ParentClosed,
    /// The new parent is not a federation: only federations have unions below them.
    #[error("上级工会必须是总工会")]
    ParentNotFederation,
    /// A township federation under something other than a county-level federation.
    #[error("乡镇（街道）总工会只能设在县级总工会之下")]
    TownshipFederationParent,
}

impl MoveUnionError {
    /// Stable machine code.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Root => ErrorCode::UnionIsRoot,
            Self::Closed => ErrorCode::UnionClosed,
            Self::Cycle => ErrorCode::UnionMoveCycle,
            Self::ParentClosed => ErrorCode::UnionClosed,
            Self::ParentNotFederation => ErrorCode::ParentNotFederation,
            Self::TownshipFederationParent => ErrorCode::FederationRegionLevel,
        }
    }
}

/// Whether `union` may move under `parent`: `Ok(false)` when it is already there (nothing to
/// do), `Ok(true)` when it moves.
pub fn check_move(union: &UnionPlace, parent: &UnionPlace) -> Result<bool, MoveUnionError> {
    let Some(current_parent) = union.path.parent() else {
        return Err(MoveUnionError::Root);
    };
    if union.closed {
        return Err(MoveUnionError::Closed);
    }
    if union.path.contains(&parent.path) {
        return Err(MoveUnionError::Cycle);
    }
    if parent.closed {
        return Err(MoveUnionError::ParentClosed);
    }
    if current_parent == parent.path {
        return Ok(false);
    }
    // Under a parent it could have been created under (`crate::union_admin::UnionDraft::
    // check_under`) — except for the region: a union moves to another county's federation when
    // the counties are redrawn, before its own region code is, and routing follows its region,
    // not its parent.
    if parent.kind != UnionKind::Federation {
        return Err(MoveUnionError::ParentNotFederation);
    }
    if union.kind == UnionKind::Federation
        && union.region.level() == RegionLevel::Township
        && parent.region.level() != RegionLevel::County
    {
        return Err(MoveUnionError::TownshipFederationParent);
    }
    Ok(true)
}

/// What a union still holds when it is to be closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Holdings {
    /// Child unions not closed.
    pub open_children: i64,
    /// Admins bound to it and not disabled.
    pub active_admins: i64,
    /// Applications pending review, returned for correction or pooled.
    pub open_applications: i64,
    /// Members active, transferring or retained.
    pub live_members: i64,
}

/// Why a union may not close (as asked).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CloseUnionError {
    /// A root union is never closed.
    #[error("最上级工会不能撤销")]
    Root,
    /// It is closed already.
    #[error("该工会已撤销")]
    Closed,
    /// Child unions are still open: move or close them first.
    #[error("该工会还有未撤销的下级工会，请先调整或撤销下级工会")]
    HasChildren,
    /// Admins are still bound to it: disable them or bind them elsewhere first.
    #[error("该工会还有在用的管理员账号，请先停用或调整到其他工会")]
    HasAdmins,
    /// Open applications or live members remain and no successor was named.
    #[error("该工会还有未办结的入会申请或会员，请指定承接工会")]
    SuccessorRequired,
    /// The successor is the union itself or below it.
    #[error("承接工会不能是被撤销的工会本身或其下级工会")]
    SuccessorInside,
    /// The successor is closed.
    #[error("承接工会已撤销")]
    SuccessorClosed,
}

impl CloseUnionError {
    /// Stable machine code.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Root => ErrorCode::UnionIsRoot,
            Self::Closed | Self::SuccessorClosed => ErrorCode::UnionClosed,
            Self::HasChildren => ErrorCode::UnionHasChildren,
            Self::HasAdmins => ErrorCode::UnionHasAdmins,
            Self::SuccessorRequired => ErrorCode::SuccessorRequired,
            Self::SuccessorInside => ErrorCode::SuccessorInsideClosedUnion,
        }
    }
}

/// Whether `union`, holding `holdings`, may close into `successor` (if any).
pub fn check_close(
    union: &UnionPlace,
    holdings: Holdings,
    successor: Option<&UnionPlace>,
) -> Result<(), CloseUnionError> {
    if union.path.parent().is_none() {
        return Err(CloseUnionError::Root);
    }
    if union.closed {
        return Err(CloseUnionError::Closed);
    }
    if let Some(successor) = successor {
        if union.path.contains(&successor.path) {
            return Err(CloseUnionError::SuccessorInside);
        }
        if successor.closed {
            return Err(CloseUnionError::SuccessorClosed);
        }
    }
    if holdings.open_children > 0 {
        return Err(CloseUnionError::HasChildren);
    }
    if holdings.active_admins > 0 {
        return Err(CloseUnionError::HasAdmins);
    }
    if successor.is_none() && (holdings.open_applications > 0 || holdings.live_members > 0) {
        return Err(CloseUnionError::SuccessorRequired);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn place(path: &str) -> UnionPlace {
        UnionPlace {
            path: UnionPath::parse(path).unwrap(),
            closed: false,
            kind: UnionKind::Federation,
            region: RegionCode::parse("500237").unwrap(),
        }
    }

    fn closed(path: &str) -> UnionPlace {
        UnionPlace {
            closed: true,
            ..place(path)
        }
    }

    #[test]
    fn only_managers_reorganise() {
        assert!(may_reorganise(AdminRole::Manager).is_ok());
        assert_eq!(may_reorganise(AdminRole::Reviewer), Err(MayNotReorganise));
        assert_eq!(may_reorganise(AdminRole::Viewer), Err(MayNotReorganise));
    }

    #[test]
    fn a_union_moves_under_another_branch() {
        assert_eq!(check_move(&place("/1/2/5/"), &place("/1/3/")), Ok(true));
        assert_eq!(check_move(&place("/1/2/5/"), &place("/1/3/9/")), Ok(true));
        // up to the root
        assert_eq!(check_move(&place("/1/2/5/"), &place("/1/")), Ok(true));
    }

    #[test]
    fn a_union_moves_only_where_it_could_have_been_created() {
        let at = |path: &str, kind, region: &str| UnionPlace {
            kind,
            region: RegionCode::parse(region).unwrap(),
            ..place(path)
        };
        let joint = at("/1/2/5/", UnionKind::Joint, "500237001");
        assert_eq!(
            check_move(&joint, &at("/1/3/", UnionKind::Enterprise, "500237001")),
            Err(MoveUnionError::ParentNotFederation)
        );
        assert_eq!(
            check_move(&joint, &at("/1/3/", UnionKind::Pool, "500237")),
            Err(MoveUnionError::ParentNotFederation)
        );
        assert_eq!(
            check_move(&joint, &at("/1/3/", UnionKind::Federation, "500238")),
            Ok(true)
        );
        let township = at("/1/2/5/", UnionKind::Federation, "500237001");
        assert_eq!(
            check_move(&township, &at("/1/3/", UnionKind::Federation, "50")),
            Err(MoveUnionError::TownshipFederationParent)
        );
        assert_eq!(
            check_move(&township, &at("/1/3/", UnionKind::Federation, "500237")),
            Ok(true)
        );
        assert_eq!(
            MoveUnionError::ParentNotFederation.code(),
            "parent_not_federation"
        );
    }

    #[test]
    fn moving_under_the_current_parent_changes_nothing() {
        assert_eq!(check_move(&place("/1/2/5/"), &place("/1/2/")), Ok(false));
    }

    #[test]
    fn a_cycle_is_refused() {
        assert_eq!(
            check_move(&place("/1/2/"), &place("/1/2/5/")),
            Err(MoveUnionError::Cycle)
        );
        assert_eq!(
            check_move(&place("/1/2/"), &place("/1/2/5/7/")),
            Err(MoveUnionError::Cycle)
        );
        assert_eq!(
            check_move(&place("/1/2/"), &place("/1/2/")),
            Err(MoveUnionError::Cycle)
        );
        assert_eq!(MoveUnionError::Cycle.code(), ErrorCode::UnionMoveCycle);
    }

    #[test]
    fn a_root_closed_union_or_closed_parent_is_refused() {
        assert_eq!(
            check_move(&place("/1/"), &place("/3/")),
            Err(MoveUnionError::Root)
        );
        assert_eq!(
            check_move(&closed("/1/2/"), &place("/1/3/")),
            Err(MoveUnionError::Closed)
        );
        assert_eq!(
            check_move(&place("/1/2/"), &closed("/1/3/")),
            Err(MoveUnionError::ParentClosed)
        );
        assert_eq!(MoveUnionError::Root.code(), ErrorCode::UnionIsRoot);
    }

    #[test]
    fn an_empty_union_closes_without_successor() {
        assert_eq!(
            check_close(&place("/1/2/"), Holdings::default(), None),
            Ok(())
        );
    }

    #[test]
    fn members_or_open_applications_need_a_successor() {
        let members = Holdings {
            live_members: 1,
            ..Holdings::default()
        };
        let applications = Holdings {
            open_applications: 3,
            ..Holdings::default()
        };
        for holdings in [members, applications] {
            assert_eq!(
                check_close(&place("/1/2/"), holdings, None),
                Err(CloseUnionError::SuccessorRequired)
            );
            assert_eq!(
                check_close(&place("/1/2/"), holdings, Some(&place("/1/3/"))),
                Ok(())
            );
        }
    }

    #[test]
    fn the_successor_lies_outside_the_closed_subtree_and_is_open() {
        let holdings = Holdings {
            live_members: 1,
            ..Holdings::default()
        };
        for inside in ["/1/2/", "/1/2/7/"] {
            assert_eq!(
                check_close(&place("/1/2/"), holdings, Some(&place(inside))),
                Err(CloseUnionError::SuccessorInside)
            );
        }
        assert_eq!(
            check_close(&place("/1/2/"), holdings, Some(&closed("/1/3/"))),
            Err(CloseUnionError::SuccessorClosed)
        );
        // the parent is a fine successor
        assert_eq!(
            check_close(&place("/1/2/"), holdings, Some(&place("/1/"))),
            Ok(())
        );
    }

    #[test]
    fn roots_children_and_admins_block_a_close() {
        assert_eq!(
            check_close(&place("/1/"), Holdings::default(), None),
            Err(CloseUnionError::Root)
        );
        assert_eq!(
            check_close(&closed("/1/2/"), Holdings::default(), None),
            Err(CloseUnionError::Closed)
        );
        let children = Holdings {
            open_children: 1,
            ..Holdings::default()
        };
        assert_eq!(
            check_close(&place("/1/2/"), children, Some(&place("/1/3/"))),
            Err(CloseUnionError::HasChildren)
        );
        let admins = Holdings {
            active_admins: 2,
            ..Holdings::default()
        };
        assert_eq!(
            check_close(&place("/1/2/"), admins, Some(&place("/1/3/"))),
            Err(CloseUnionError::HasAdmins)
        );
    }
}
