//! 撤销工会: a manager closes a union of their subtree. What it still holds — open
//! applications (pending, returned, pooled), live members (active, transferring, retained) and
//! open transfers into or out of it — moves to a successor in the same transaction, one audit
//! row per moved object (`reorganise`, reason `union A → union B`); each member's affiliation
//! period ends and one opens at the successor, both with reason `reorganised`. The union is
//! then closed (`closed_at`, `successor_id`, no longer accepting: routing passes it by).
//!
//! Choices: a union with open child unions is refused (`union_has_children`: move or close them
//! first); a union with admins not disabled is refused (`union_has_admins`: disable them or bind
//! them elsewhere first), so nobody keeps acting for a closed union. An open transfer between
//! the union and its successor cannot be redirected (it would go from a union to itself): the
//! close is refused (`transfer_in_progress`) until it is decided or cancelled. Other open
//! transfers are redirected: out of the successor instead, or into it. Applications keep
//! their status and deadline (deadlines already given never move).

use diesel::Connection;
use zhijian_domain::admin::UnionPath;
use zhijian_domain::reason::Reason;
use zhijian_domain::union_change::{self, CloseUnionError, MayNotReorganise};

use crate::db::{self, StoreError};
use crate::store::applications::AdminActor;
use crate::store::audit::{self, AuditEntry};
use crate::store::union_changes::{self as store, Moved, UnionState};
use crate::usecases::Services;

/// What to close and where its holdings go.
#[derive(Debug, Clone)]
pub struct CloseUnion {
    /// The union.
    pub union: i64,
    /// The version the manager saw.
    pub version: i32,
    /// The successor, required while the union holds anything.
    pub successor: Option<i64>,
    /// Why.
    pub reason: Option<Reason>,
}

/// The closed union and what moved.
#[derive(Debug, Clone)]
pub struct Closed {
    /// The union after the close.
    pub union: UnionState,
    /// What moved to the successor.
    pub moved: Moved,
}

/// Why a close was refused.
#[derive(Debug, thiserror::Error)]
pub enum CloseError {
    /// The role may not reorganise.
    #[error(transparent)]
    Forbidden(MayNotReorganise),
    /// No such union in the manager's subtree.
    #[error("not found")]
    NotFound,
    /// No such successor in the manager's subtree.
    #[error("successor not found")]
    SuccessorNotFound,
    /// The union changed since the manager read it.
    #[error("stale version")]
    Stale,
    /// The rules refuse it.
    #[error(transparent)]
    Refused(CloseUnionError),
    /// An open transfer between the union and the successor.
    #[error("an open transfer between the union and its successor")]
    TransferBetween,
    /// A move of the tree is running.
    #[error("a move is running")]
    MoveInProgress,
    /// The storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<diesel::result::Error> for CloseError {
    fn from(error: diesel::result::Error) -> Self {
        Self::Store(error.into())
    }
}

fn in_scope(scope: &UnionPath, union: &UnionState) -> Result<bool, StoreError> {
    Ok(scope.contains(&union.union_path()?))
}

/// Closes a union into its successor (see the module documentation).
pub async fn close_union(
    ctx: &Services,
    admin: AdminActor,
    input: CloseUnion,
) -> Result<Closed, CloseError> {
    super::may_reorganise(&admin).map_err(CloseError::Forbidden)?;
    let now = ctx.now();
    db::run(&ctx.pool, move |conn| {
        conn.transaction(|conn| {
            let scope = &admin.union_path;
            let union = store::load(conn, input.union, true)?
                .filter(|u| in_scope(scope, u).unwrap_or(false))
                .ok_or(CloseError::NotFound)?;
            let successor = match input.successor {
                Some(id) => Some(
                    store::load(conn, id, true)?
                        .filter(|u| in_scope(scope, u).unwrap_or(false))
                        .ok_or(CloseError::SuccessorNotFound)?,
                ),
                None => None,
            };
            if union.version != input.version {
                return Err(CloseError::Stale);
            }
            let holdings = store::holdings(conn, union.id)?;
            let successor_place = successor.as_ref().map(UnionState::place).transpose()?;
            union_change::check_close(&union.place()?, holdings, successor_place.as_ref())
                .map_err(CloseError::Refused)?;
            if store::running(conn)?.is_some() {
                return Err(CloseError::MoveInProgress);
            }
            let moved = match &successor {
                Some(successor) => {
                    if store::transfers_between(conn, union.id, successor.id)? > 0 {
                        return Err(CloseError::TransferBetween);
                    }
                    let moved = store::move_holdings(conn, union.id, successor.id, now)?;
                    // The active members follow their union; past flows stay where they
                    // happened (the closed union keeps its place in the tree).
                    crate::store::counters::shift_members(
                        conn,
                        &moved.members,
                        union.id,
                        successor.id,
                    )?;
                    crate::store::counters::shift_applications(
                        conn,
                        &moved.applications,
                        union.id,
                        successor.id,
                    )?;
                    let actor = admin.audit_actor();
                    let why = format!("union {} → union {}", union.id, successor.id);
                    let ids =
                        |v: &[uuid::Uuid]| v.iter().map(ToString::to_string).collect::<Vec<_>>();
                    store::audit_many(
                        conn,
                        &actor,
                        now,
                        "application",
                        &ids(&moved.applications),
                        "reorganise",
                        &why,
                    )?;
                    store::audit_many(
                        conn,
                        &actor,
                        now,
                        "member",
                        &ids(&moved.members),
                        "reorganise",
                        &why,
                    )?;
                    store::audit_many(
                        conn,
                        &actor,
                        now,
                        "transfer",
                        &ids(&moved.transfers),
                        "reorganise",
                        &why,
                    )?;
                    moved
                }
                None => Moved::default(),
            };
            let closed = store::close(
                conn,
                union.id,
                union.version,
                successor.as_ref().map(|s| s.id),
                now,
            )?
            .ok_or(CloseError::Stale)?;
            let reason = match (&successor, &input.reason) {
                (Some(s), Some(r)) => format!("successor {}: {}", s.id, r.as_str()),
                (Some(s), None) => format!("successor {}", s.id),
                (None, Some(r)) => r.as_str().to_owned(),
                (None, None) => "no successor".to_owned(),
            };
            audit::record(
                conn,
                &AuditEntry {
                    at: now,
                    actor: &admin.audit_actor(),
                    object_kind: "union",
                    object_id: union.id.to_string(),
                    action: "close",
                    reason: Some(reason),
                },
            )?;
            Ok(Closed {
                union: closed,
                moved,
            })
        })
    })
    .await
}
