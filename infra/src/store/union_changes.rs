//! Reorganising the union tree as stored: a union's state as the reorganisation reads it, what
//! it still holds, the moves of its open applications, live members and open transfers to a
//! successor (close), and a move of a subtree under another parent with its progress
//! (`union_moves`, migration `union_moves`).

use chrono::{DateTime, Utc};
use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Text};
use zhijian_domain::admin::UnionPath;
use zhijian_domain::application::ApplicationStatus;
use zhijian_domain::member::MemberStatus;
use zhijian_domain::region::RegionCode;
use zhijian_domain::routing::UnionKind;
use zhijian_domain::union_change::{Holdings, UnionPlace};

use crate::db::StoreError;
use crate::db::schema::{
    admins, affiliations, applications, members, transfers, union_moves, unions,
};
use crate::db::sql::union_moves as sql;
use crate::store::audit::{self, Actor, AuditEntry};
use crate::store::member_lifecycle::OPEN_TRANSFER;

/// Application statuses still waiting for someone — the domain's `ApplicationStatus::is_open`
/// decides (a test keeps the two equal): they follow their union's successor.
pub const OPEN_APPLICATION: [&str; 3] = [
    ApplicationStatus::PendingReview.as_str(),
    ApplicationStatus::Pooled.as_str(),
    ApplicationStatus::Returned.as_str(),
];

/// Member statuses of a live membership — the domain's `MemberStatus::is_current` decides (a
/// test keeps the two equal): they follow their union's successor.
pub const LIVE_MEMBER: [&str; 3] = [
    MemberStatus::Active.as_str(),
    MemberStatus::Transferring.as_str(),
    MemberStatus::Retained.as_str(),
];

/// A union as a reorganisation reads it.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = unions)]
pub struct UnionState {
    /// Key.
    pub id: i64,
    /// Official name.
    pub name: String,
    /// Kind (as stored).
    pub kind: String,
    /// The union above.
    pub parent_id: Option<i64>,
    /// The region it serves.
    pub region_code: String,
    /// Materialised path.
    pub path: String,
    /// The anchor of its subtree listings.
    pub anchor_id: i64,
    /// Whether routing may send applications here.
    pub accepting: bool,
    /// Optimistic version.
    pub version: i32,
    /// Last change.
    pub updated_at: DateTime<Utc>,
    /// When it was closed.
    pub closed_at: Option<DateTime<Utc>>,
    /// The union that took its applications and members over.
    pub successor_id: Option<i64>,
}

impl UnionState {
    /// The parsed path.
    pub fn union_path(&self) -> Result<UnionPath, StoreError> {
        UnionPath::parse(&self.path)
            .map_err(|_| StoreError::broken(format!("union {} has a bad path", self.id)))
    }

    /// What the domain rules look at.
    pub fn place(&self) -> Result<UnionPlace, StoreError> {
        let broken = |what: &str| StoreError::broken(format!("union {} has a bad {what}", self.id));
        Ok(UnionPlace {
            path: self.union_path()?,
            closed: self.closed_at.is_some(),
            kind: UnionKind::parse(&self.kind).map_err(|_| broken("kind"))?,
            region: RegionCode::parse(&self.region_code).map_err(|_| broken("region"))?,
        })
    }
}

/// The union `id`, locked for the rest of the transaction when `lock`.
pub fn load(
    conn: &mut PgConnection,
    id: i64,
    lock: bool,
) -> Result<Option<UnionState>, StoreError> {
    let query = unions::table.find(id).select(UnionState::as_select());
    Ok(if lock {
        query.for_update().first(conn).optional()?
    } else {
        query.first(conn).optional()?
    })
}

/// What `union` still holds.
pub fn holdings(conn: &mut PgConnection, union: i64) -> Result<Holdings, StoreError> {
    Ok(Holdings {
        open_children: unions::table
            .filter(unions::parent_id.eq(union))
            .filter(unions::closed_at.is_null())
            .count()
            .get_result(conn)?,
        active_admins: admins::table
            .filter(admins::union_id.eq(union))
            .filter(admins::disabled_at.is_null())
            .count()
            .get_result(conn)?,
        open_applications: applications::table
            .filter(applications::union_id.eq(union))
            .filter(applications::status.eq_any(OPEN_APPLICATION))
            .count()
            .get_result(conn)?,
        live_members: members::table
            .filter(members::union_id.eq(union))
            .filter(members::status.eq_any(LIVE_MEMBER))
            .count()
            .get_result(conn)?,
    })
}

/// Open transfers between `union` and `successor` (either way): a close cannot redirect them.
pub fn transfers_between(
    conn: &mut PgConnection,
    union: i64,
    successor: i64,
) -> Result<i64, StoreError> {
    Ok(transfers::table
        .filter(transfers::status.eq_any(OPEN_TRANSFER))
        .filter(
            transfers::from_union_id
                .eq(union)
                .and(transfers::to_union_id.eq(successor))
                .or(transfers::from_union_id
                    .eq(successor)
                    .and(transfers::to_union_id.eq(union))),
        )
        .count()
        .get_result(conn)?)
}

/// One audit row per object moved by a reorganisation.
pub fn audit_many(
    conn: &mut PgConnection,
    actor: &Actor,
    at: DateTime<Utc>,
    object_kind: &'static str,
    ids: &[String],
    action: &'static str,
    reason: &str,
) -> Result<(), StoreError> {
    for id in ids {
        audit::record(
            conn,
            &AuditEntry {
                at,
                actor,
                object_kind,
                object_id: id.clone(),
                action,
                reason: Some(reason.to_owned()),
            },
        )?;
    }
    Ok(())
}

/// What a close moved.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Moved {
    /// Open applications, now at the successor.
    pub applications: Vec<uuid::Uuid>,
    /// Live members, now at the successor.
    pub members: Vec<uuid::Uuid>,
    /// Open transfers redirected to the successor.
    pub transfers: Vec<uuid::Uuid>,
}

/// Moves the open applications, live members (a `reorganised` affiliation period each) and
/// open transfers of `union` to `successor`; returns what moved.
pub fn move_holdings(
    conn: &mut PgConnection,
    union: i64,
    successor: i64,
    now: DateTime<Utc>,
) -> Result<Moved, StoreError> {
    let applications = diesel::update(
        applications::table
            .filter(applications::union_id.eq(union))
            .filter(applications::status.eq_any(OPEN_APPLICATION)),
    )
    .set((
        applications::union_id.eq(successor),
        applications::version.eq(applications::version + 1),
        applications::updated_at.eq(now),
    ))
    .returning(applications::id)
    .get_results::<uuid::Uuid>(conn)?;
    let moved_members = diesel::update(
        members::table
            .filter(members::union_id.eq(union))
            .filter(members::status.eq_any(LIVE_MEMBER)),
    )
    .set((
        members::union_id.eq(successor),
        members::version.eq(members::version + 1),
        members::updated_at.eq(now),
    ))
    .returning((members::id, members::membership_number))
    .get_results::<(uuid::Uuid, String)>(conn)?;
    let member_ids: Vec<uuid::Uuid> = moved_members.iter().map(|(id, _)| *id).collect();
    for chunk in member_ids.chunks(5000) {
        diesel::update(
            affiliations::table
                .filter(affiliations::member_id.eq_any(chunk))
                .filter(affiliations::ended_at.is_null()),
        )
        .set((
            affiliations::ended_at.eq(now),
            affiliations::end_reason.eq("reorganised"),
        ))
        .execute(conn)?;
    }
    for chunk in moved_members.chunks(1000) {
        let rows: Vec<_> = chunk
            .iter()
            .map(|(id, number)| {
                (
                    affiliations::member_id.eq(*id),
                    affiliations::union_id.eq(successor),
                    affiliations::started_at.eq(now),
                    affiliations::reason.eq("reorganised"),
                    affiliations::membership_number.eq(number.clone()),
                )
            })
            .collect();
        diesel::insert_into(affiliations::table)
            .values(&rows)
            .execute(conn)?;
    }
    let open = || transfers::status.eq_any(OPEN_TRANSFER);
    let mut moved_transfers = diesel::update(
        transfers::table
            .filter(open())
            .filter(transfers::from_union_id.eq(union)),
    )
    .set((
        transfers::from_union_id.eq(successor),
        transfers::version.eq(transfers::version + 1),
        transfers::updated_at.eq(now),
    ))
    .returning(transfers::id)
    .get_results::<uuid::Uuid>(conn)?;
    moved_transfers.extend(
        diesel::update(
            transfers::table
                .filter(open())
                .filter(transfers::to_union_id.eq(union)),
        )
        .set((
            transfers::to_union_id.eq(successor),
            transfers::version.eq(transfers::version + 1),
            transfers::updated_at.eq(now),
        ))
        .returning(transfers::id)
        .get_results::<uuid::Uuid>(conn)?,
    );
    Ok(Moved {
        applications,
        members: member_ids,
        transfers: moved_transfers,
    })
}

/// Marks `union` closed into `successor`; `None` when its version is no longer `version`.
pub fn close(
    conn: &mut PgConnection,
    union: i64,
    version: i32,
    successor: Option<i64>,
    now: DateTime<Utc>,
) -> Result<Option<UnionState>, StoreError> {
    Ok(diesel::update(
        unions::table
            .filter(unions::id.eq(union))
            .filter(unions::version.eq(version)),
    )
    .set((
        unions::closed_at.eq(Some(now)),
        unions::successor_id.eq(successor),
        unions::accepting.eq(false),
        unions::version.eq(version + 1),
        unions::updated_at.eq(now),
    ))
    .returning(UnionState::as_returning())
    .get_result(conn)
    .optional()?)
}

/// A move, as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = union_moves)]
pub struct MoveRow {
    /// Key.
    pub id: i64,
    /// The moved union.
    pub union_id: i64,
    /// Its parent before.
    pub from_parent_id: i64,
    /// Its parent after.
    pub to_parent_id: i64,
    /// The anchor its rows had.
    pub from_anchor_id: i64,
    /// The anchor its rows get.
    pub to_anchor_id: i64,
    /// The unions whose rows are re-anchored.
    pub reanchored: Vec<i64>,
    /// `running` or `done`.
    pub status: String,
    /// Rows per batch.
    pub batch_size: i32,
    /// Whether the rows to re-anchor are listed.
    pub collected: bool,
    /// Batches run so far.
    pub batches: i32,
    /// Rows re-anchored so far.
    pub rows_moved: i64,
    /// The longest batch's transaction, in milliseconds.
    pub longest_batch_ms: i32,
    /// Who asked.
    pub actor_id: Option<uuid::Uuid>,
    /// When the paths switched.
    pub started_at: DateTime<Utc>,
    /// When the last batch finished.
    pub finished_at: Option<DateTime<Utc>>,
}

/// The move still running, if any (one at a time).
pub fn running(conn: &mut PgConnection) -> Result<Option<MoveRow>, StoreError> {
    Ok(union_moves::table
        .filter(union_moves::status.eq("running"))
        .select(MoveRow::as_select())
        .first(conn)
        .optional()?)
}

/// The move `id`, its row locked for the rest of the transaction: one batch of a move at a
/// time, whoever runs it (the request that started it, or the resume job).
pub fn lock_move(conn: &mut PgConnection, id: i64) -> Result<Option<MoveRow>, StoreError> {
    Ok(union_moves::table
        .find(id)
        .select(MoveRow::as_select())
        .for_update()
        .first(conn)
        .optional()?)
}

#[derive(QueryableByName)]
struct Reanchored {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = BigInt)]
    anchor_id: i64,
}

/// Inside the move's first transaction: puts `union` (at `old_path`, anchored at
/// `old_anchor`) under `parent` (at `parent_path`) — its version, the paths of its subtree and
/// the anchors those paths give — and records the move (`running` when rows are to be
/// re-anchored, `done` otherwise).
#[allow(clippy::too_many_arguments)]
pub fn switch_place(
    conn: &mut PgConnection,
    union: &UnionState,
    parent: &UnionState,
    new_path: &UnionPath,
    batch_size: i32,
    actor: Option<uuid::Uuid>,
    now: DateTime<Utc>,
) -> Result<(UnionState, MoveRow), StoreError> {
    diesel::select(diesel::dsl::sql::<Text>(
        "set_config('zhijian.moving_union', 'on', true)",
    ))
    .get_result::<String>(conn)?;
    diesel::update(unions::table.find(union.id))
        .set((
            unions::parent_id.eq(Some(parent.id)),
            unions::version.eq(union.version + 1),
            unions::updated_at.eq(now),
        ))
        .execute(conn)?;
    let new_path = new_path.to_string();
    diesel::sql_query(sql::MOVE_PATHS)
        .bind::<Text, _>(&union.path)
        .bind::<Text, _>(&new_path)
        .execute(conn)?;
    let changed = diesel::sql_query(sql::REANCHOR_UNIONS)
        .bind::<Text, _>(&new_path)
        .load::<Reanchored>(conn)?;
    diesel::select(diesel::dsl::sql::<Text>(
        "set_config('zhijian.moving_union', 'off', true)",
    ))
    .get_result::<String>(conn)?;
    let moved = load(conn, union.id, false)?.ok_or(StoreError::NotFound)?;
    let to_anchor = changed
        .iter()
        .find(|c| c.id == union.id)
        .map_or(union.anchor_id, |c| c.anchor_id);
    // Every re-anchored union had the moved union's anchor (an anchor inside the subtree keeps
    // its own and its subtree's).
    let from_anchor = union.anchor_id;
    let reanchored: Vec<i64> = changed.iter().map(|c| c.id).collect();
    let status = if reanchored.is_empty() {
        "done"
    } else {
        "running"
    };
    let row = diesel::insert_into(union_moves::table)
        .values((
            union_moves::union_id.eq(union.id),
            union_moves::from_parent_id.eq(union.parent_id.unwrap_or(parent.id)),
            union_moves::to_parent_id.eq(parent.id),
            union_moves::from_anchor_id.eq(from_anchor),
            union_moves::to_anchor_id.eq(to_anchor),
            union_moves::reanchored.eq(&reanchored),
            union_moves::status.eq(status),
            union_moves::batch_size.eq(batch_size),
            union_moves::actor_id.eq(actor),
            union_moves::started_at.eq(now),
            union_moves::finished_at.eq((status == "done").then_some(now)),
        ))
        .returning(MoveRow::as_returning())
        .get_result(conn)?;
    Ok((moved, row))
}

#[derive(QueryableByName)]
struct Taken {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// Lists the rows of the move's unions that still carry another anchor (one scan of those
/// unions' rows); answers how many.
pub fn collect(conn: &mut PgConnection, row: &MoveRow) -> Result<usize, StoreError> {
    let mut listed = 0;
    for statement in [
        sql::COLLECT_APPLICATIONS,
        sql::COLLECT_MEMBERS,
        sql::COLLECT_AUDIT_REACH,
    ] {
        listed += diesel::sql_query(statement)
            .bind::<BigInt, _>(row.id)
            .bind::<Array<BigInt>, _>(&row.reanchored)
            .bind::<BigInt, _>(row.to_anchor_id)
            .execute(conn)?;
    }
    Ok(listed)
}

/// One batch of the move: takes at most `batch_size` listed rows and re-anchors them; `0` when
/// the list is empty.
pub fn reanchor_batch(conn: &mut PgConnection, row: &MoveRow) -> Result<usize, StoreError> {
    let taken = diesel::sql_query(sql::REANCHOR_BATCH)
        .bind::<BigInt, _>(row.id)
        .bind::<BigInt, _>(i64::from(row.batch_size))
        .get_result::<Taken>(conn)?;
    Ok(usize::try_from(taken.n).unwrap_or(0))
}

/// How one step of a move went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    /// Rows re-anchored (0 for a collection).
    pub rows: usize,
    /// The step's transaction, in milliseconds.
    pub ms: i32,
    /// Whether the rows to re-anchor are listed now.
    pub collected: bool,
    /// Whether the move is finished.
    pub done: bool,
}

/// Records one step of move `id`.
pub fn record_step(
    conn: &mut PgConnection,
    id: i64,
    step: Step,
    now: DateTime<Utc>,
) -> Result<MoveRow, StoreError> {
    let rows = i64::try_from(step.rows).unwrap_or(i64::MAX);
    let counted = i32::from(rows > 0);
    Ok(diesel::update(union_moves::table.find(id))
        .set((
            union_moves::batches.eq(union_moves::batches + counted),
            union_moves::rows_moved.eq(union_moves::rows_moved + rows),
            union_moves::longest_batch_ms.eq(diesel::dsl::sql::<diesel::sql_types::Integer>(
                "greatest(longest_batch_ms, ",
            )
            .bind::<diesel::sql_types::Integer, _>(step.ms)
            .sql(")")),
            union_moves::collected.eq(step.collected),
            union_moves::status.eq(if step.done { "done" } else { "running" }),
            union_moves::finished_at.eq(step.done.then_some(now)),
        ))
        .returning(MoveRow::as_returning())
        .get_result(conn)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_filters_list_exactly_the_statuses_the_domain_calls_open_and_current() {
        let open: Vec<&str> = ApplicationStatus::ALL
            .iter()
            .filter(|s| s.is_open())
            .map(|s| s.as_str())
            .collect();
        assert_eq!(open, OPEN_APPLICATION.to_vec());
        let live: Vec<&str> = MemberStatus::ALL
            .iter()
            .filter(|s| s.is_current())
            .map(|s| s.as_str())
            .collect();
        assert_eq!(live, LIVE_MEMBER.to_vec());
    }
}
