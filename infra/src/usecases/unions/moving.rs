//! 调整隶属关系: a manager moves a union of their subtree under another open union of it. Its
//! whole subtree goes along; applications, members, transfers and the audit trail follow.
//!
//! Bounded batches, so a subtree of 100 000 applications never holds one lock for long:
//!
//! 1. one small transaction locks the union, checks the rules, writes the union's new parent
//!    and version, rewrites the paths of its subtree (a prefix swap) and gives every union of
//!    it the anchor its new path gives it (migration `queue_anchor`'s rule), records the move in
//!    `union_moves` (with the unions whose anchor changed) and the audit row (`move`, object
//!    `union`, `parent A → parent B`);
//! 2. when anchors changed, the dependent rows of those unions — applications, members, audit
//!    reach — still carrying the old anchor are listed (`union_move_rows`, one transaction,
//!    reading them only), then re-anchored in batches of `batch_size` rows taken off the list,
//!    each batch its own transaction (so each costs its own size, not the subtree's), the
//!    progress (batches, rows, longest transaction) counted in the move's row; when the list is
//!    empty it is made once more, and the move is `done` when that finds nothing.
//!
//! Transfers and member history refer to unions by id: nothing to rewrite. An interrupted move
//! (a crash between batches) stays `running`; [`resume_moves`] finishes it (the server runs it
//! at start-up and every few seconds). Only one move runs at a time.
//!
//! What a listing shows meanwhile (the invariant; see the migration `union_moves`): every
//! union has its final path and anchor from step 1 on, so listings by union — any admin at or
//! below a township, the moved union's own admins — are exact throughout; every row written
//! since step 1 has its final anchor (the triggers read the union's). An older row carries its
//! old anchor until its batch: a county's listing by anchor shows it under exactly one of the
//! old and the new county, never both, never neither, and under the new one once the move is
//! `done`. A city or province that holds both counties sees every row throughout.

use std::time::Instant;

use diesel::Connection;
use zhijian_domain::union_change::{self, MayNotReorganise, MoveUnionError};

use crate::db::{self, StoreError};
use crate::store::applications::AdminActor;
use crate::store::audit::{self, AuditEntry};
use crate::store::union_changes::{self as store, MoveRow, Step, UnionState};
use crate::usecases::Services;

/// What to move where.
#[derive(Debug, Clone, Copy)]
pub struct MoveUnion {
    /// The union.
    pub union: i64,
    /// The version the manager saw.
    pub version: i32,
    /// Its new parent.
    pub parent: i64,
    /// Rows re-anchored per transaction.
    pub batch_size: i32,
}

/// The moved union and its move.
#[derive(Debug, Clone)]
pub struct Moved {
    /// The union after the move.
    pub union: UnionState,
    /// The move's record (`None` when the union already was there).
    pub record: Option<MoveRow>,
}

/// Why a move was refused.
#[derive(Debug, thiserror::Error)]
pub enum MoveError {
    /// The role may not reorganise.
    #[error(transparent)]
    Forbidden(MayNotReorganise),
    /// No such union in the manager's subtree.
    #[error("not found")]
    NotFound,
    /// No such parent in the manager's subtree.
    #[error("parent not found")]
    ParentNotFound,
    /// The union changed since the manager read it.
    #[error("stale version")]
    Stale,
    /// The rules refuse it.
    #[error(transparent)]
    Refused(MoveUnionError),
    /// Another move is running.
    #[error("a move is running")]
    MoveInProgress,
    /// The storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<diesel::result::Error> for MoveError {
    fn from(error: diesel::result::Error) -> Self {
        Self::Store(error.into())
    }
}

/// Moves a union under another parent and re-anchors its rows (see the module documentation).
pub async fn move_union(
    ctx: &Services,
    admin: AdminActor,
    input: MoveUnion,
) -> Result<Moved, MoveError> {
    super::may_reorganise(&admin).map_err(MoveError::Forbidden)?;
    let now = ctx.now();
    let started = db::run(&ctx.pool, move |conn| start_move(conn, &admin, input, now)).await?;
    let Some(record) = started.record else {
        return Ok(started);
    };
    let record = finish(ctx, record).await?;
    let id = record.union_id;
    let union = db::run(&ctx.pool, move |conn| store::load(conn, id, false))
        .await?
        .ok_or(StoreError::NotFound)?;
    Ok(Moved {
        union,
        record: Some(record),
    })
}

/// Step 1 of a move, in its own transaction on `conn`: checks, switches the subtree's place and
/// records the move. Public so that a test can stop a move after it.
pub fn start_move(
    conn: &mut diesel::pg::PgConnection,
    admin: &AdminActor,
    input: MoveUnion,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Moved, MoveError> {
    conn.transaction(|conn| {
        let scope = &admin.union_path;
        let visible = |u: &UnionState| u.union_path().is_ok_and(|p| scope.contains(&p));
        let union = store::load(conn, input.union, true)?
            .filter(visible)
            .ok_or(MoveError::NotFound)?;
        let parent = store::load(conn, input.parent, true)?
            .filter(visible)
            .ok_or(MoveError::ParentNotFound)?;
        if union.version != input.version {
            return Err(MoveError::Stale);
        }
        let moves = union_change::check_move(&union.place()?, &parent.place()?)
            .map_err(MoveError::Refused)?;
        if !moves {
            return Ok(Moved {
                union,
                record: None,
            });
        }
        if store::running(conn)?.is_some() {
            return Err(MoveError::MoveInProgress);
        }
        let new_path = parent
            .union_path()?
            .child(union.union_path()?.union())
            .map_err(|_| MoveError::Refused(MoveUnionError::Cycle))?;
        let ids = |p: &zhijian_domain::admin::UnionPath| -> Vec<i64> {
            p.ids().iter().map(|id| id.get()).collect()
        };
        let old_path = ids(&union.union_path()?);
        let (moved, record) = store::switch_place(
            conn,
            &union,
            &parent,
            &new_path,
            input.batch_size.max(1),
            Some(admin.admin_id),
            now,
        )
        .map_err(|e| match e {
            StoreError::Conflict(name) if name == "union_moves_one_running" => {
                MoveError::MoveInProgress
            }
            e => MoveError::Store(e),
        })?;
        // The subtree's figures leave the ancestors it left and join those it joined.
        crate::store::counters::move_subtree(conn, union.id, &old_path, &ids(&new_path))?;
        audit::record(
            conn,
            &AuditEntry {
                at: now,
                actor: &admin.audit_actor(),
                object_kind: "union",
                object_id: union.id.to_string(),
                action: "move",
                reason: Some(format!(
                    "parent {} → parent {}",
                    union.parent_id.unwrap_or_default(),
                    parent.id
                )),
            },
        )?;
        Ok(Moved {
            union: moved,
            record: Some(record),
        })
    })
}

/// Runs the batches of a move until it is done; each batch is its own transaction.
async fn finish(ctx: &Services, mut record: MoveRow) -> Result<MoveRow, StoreError> {
    while record.status == "running" {
        let current = record.clone();
        let now = ctx.now();
        record = db::run(&ctx.pool, move |conn| run_batch(conn, &current, now)).await?;
    }
    Ok(record)
}

/// One step of a running move in its own transaction on `conn` (nothing when another worker
/// finished it meanwhile), counted in the move's row
/// with its duration: first the list of the rows to re-anchor (one scan of the moved unions'
/// rows), then batches of at most `batch_size` of them; when the list is empty it is made once
/// more (a row written with the old anchor by a transaction that overlapped the first step is
/// caught there) and the move is `done` when that finds nothing.
pub fn run_batch(
    conn: &mut diesel::pg::PgConnection,
    record: &MoveRow,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<MoveRow, StoreError> {
    conn.transaction(|conn| {
        // The row as it is now, locked: another worker (the resume job, or the request that
        // started the move) may have run batches, or finished it, since `record` was read.
        let record = &store::lock_move(conn, record.id)?
            .ok_or_else(|| StoreError::broken(format!("union move {} vanished", record.id)))?;
        if record.status != "running" {
            return Ok(record.clone());
        }
        let started = Instant::now();
        let elapsed =
            |started: Instant| i32::try_from(started.elapsed().as_millis()).unwrap_or(i32::MAX);
        let step = if record.collected {
            let rows = store::reanchor_batch(conn, record)?;
            if rows > 0 {
                Step {
                    rows,
                    ms: elapsed(started),
                    collected: true,
                    done: false,
                }
            } else {
                let listed = store::collect(conn, record)?;
                Step {
                    rows: 0,
                    ms: elapsed(started),
                    collected: true,
                    done: listed == 0,
                }
            }
        } else {
            store::collect(conn, record)?;
            Step {
                rows: 0,
                ms: elapsed(started),
                collected: true,
                done: false,
            }
        };
        store::record_step(conn, record.id, step, now)
    })
}

/// Finishes the move left `running` by an interrupted server, if any; returns it once done.
pub async fn resume_moves(ctx: &Services) -> Result<Option<MoveRow>, StoreError> {
    let Some(record) = db::run(&ctx.pool, store::running).await? else {
        return Ok(None);
    };
    log::info!(union = record.union_id, batches = record.batches; "resuming a union move");
    finish(ctx, record).await.map(Some)
}
