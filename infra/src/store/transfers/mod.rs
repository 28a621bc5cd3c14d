//! Membership transfers as stored (会籍转接: 一次入会、动态接转): the row, its conditional
//! writes, the audit and outbox entries of each step, and the reads the views need
//! ([`queries`]).
//!
//! The steps themselves (request, release, accept, reject, cancel, auto-release, completion
//! into a pool) are use cases in `crate::usecases::membership::transfers`: they ask the domain
//! (`zhijian_domain::transfer::Transfer`) and write its answer here with one conditional update
//! on status and version, so a lost race changes nothing.

pub mod queries;

use chrono::{DateTime, Utc};
use diesel::pg::PgConnection;
use diesel::prelude::*;
use serde_json::json;
use zhijian_domain::admin::UnionPath;
use zhijian_domain::ids::{MemberId, TransferId, UnionId};
use zhijian_domain::transfer::{Transfer, TransferEvent, TransferStatus, TransferTransition};

use crate::db::StoreError;
use crate::db::schema::{members as members_table, transfers};
use crate::store::audit::{self, AuditEntry};
use crate::store::member_lifecycle::MemberActor;
use crate::store::members::MemberRow;
use crate::store::outbox;
use crate::store::unions::UnionRow;

pub use queries::{
    Direction, ListFilter, details, due_for_auto_release, find_for_account, find_for_admin,
    list_for_account, list_for_admin, open_for_member,
};

/// A transfer as stored.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = transfers)]
pub struct TransferRow {
    pub id: uuid::Uuid,
    pub member_id: uuid::Uuid,
    pub from_union_id: i64,
    pub to_union_id: i64,
    #[diesel(
        deserialize_as = crate::db::types::Stored<zhijian_domain::transfer::TransferStatus>,
        serialize_as = crate::db::types::Stored<zhijian_domain::transfer::TransferStatus>
    )]
    pub status: zhijian_domain::transfer::TransferStatus,
    pub version: i32,
    pub routing_rule: Option<String>,
    pub routing_explanation: Option<String>,
    pub work_region: Option<String>,
    pub occupation: Option<String>,
    pub employer_credit_code: Option<String>,
    pub reason: Option<String>,
    pub requested_at: DateTime<Utc>,
    pub released_at: Option<DateTime<Utc>>,
    pub released_by: Option<uuid::Uuid>,
    pub auto_released: bool,
    pub decided_at: Option<DateTime<Utc>>,
    pub decided_by: Option<uuid::Uuid>,
    pub completed_at: Option<DateTime<Utc>>,
    pub cancelled_at: Option<DateTime<Utc>>,
    pub rejected_by: Option<String>,
    pub reject_reason: Option<String>,
    pub updated_at: DateTime<Utc>,
}

impl TransferRow {
    /// The state the domain decides on.
    pub fn domain(&self) -> Result<Transfer, StoreError> {
        Ok(Transfer {
            id: TransferId::from_uuid(self.id),
            member: MemberId::from_uuid(self.member_id),
            from_union: UnionId::new(self.from_union_id),
            to_union: UnionId::new(self.to_union_id),
            status: self.status,
            requested_at: self.requested_at,
        })
    }

    /// The status.
    pub fn status(&self) -> TransferStatus {
        self.status
    }
}

/// A transfer with the member and both unions, as views need it.
#[derive(Debug, Clone)]
pub struct TransferDetail {
    /// The transfer.
    pub transfer: TransferRow,
    /// The member moving.
    pub member: MemberRow,
    /// The source union.
    pub from: UnionRow,
    /// The target union.
    pub to: UnionRow,
    /// While waiting for the source: when it is released without it (on the working-day
    /// calendar).
    pub release_due_at: Option<DateTime<Utc>>,
}

/// Which side of a transfer an admin's subtree holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sides {
    /// The source union is in the subtree.
    pub source: bool,
    /// The target union is in the subtree.
    pub target: bool,
}

/// Which sides of the transfer from `from` to `to` the subtree under `scope` holds.
pub fn sides(from: &UnionRow, to: &UnionRow, scope: &UnionPath) -> Result<Sides, StoreError> {
    Ok(Sides {
        source: scope.contains(&from.union_path()?),
        target: scope.contains(&to.union_path()?),
    })
}

/// Whether a new transfer was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inserted {
    /// Written.
    Yes,
    /// The member already has an open transfer (`transfers_one_open_per_member`).
    OneAlreadyOpen,
}

/// Inside an open transaction: writes a new transfer.
pub fn insert(conn: &mut PgConnection, row: &TransferRow) -> Result<Inserted, StoreError> {
    match diesel::insert_into(transfers::table)
        .values(row.clone())
        .execute(conn)
    {
        Ok(_) => Ok(Inserted::Yes),
        Err(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            info,
        )) if info.constraint_name() == Some("transfers_one_open_per_member") => {
            Ok(Inserted::OneAlreadyOpen)
        }
        Err(e) => Err(e.into()),
    }
}

/// What a step writes besides the new status.
#[derive(Debug, Clone, Copy)]
pub enum Step<'a> {
    /// The source released (`by` the admin), or its silence did (`by` none, automatic).
    Released {
        /// The admin who released; `None` for the auto-release.
        by: Option<uuid::Uuid>,
    },
    /// The target accepted.
    Accepted {
        /// The admin.
        by: uuid::Uuid,
    },
    /// A side refused.
    Rejected {
        /// The admin.
        by: uuid::Uuid,
        /// Why.
        reason: &'a str,
    },
    /// The member cancelled.
    Cancelled,
    /// Completed at once into a pool.
    CompletedIntoPool,
}

/// The rows a conditional update of a transfer touches: this id, still at the status and
/// version that were read (none when someone else got there first).
type StillAsRead = diesel::dsl::Filter<
    diesel::dsl::Filter<
        diesel::dsl::Filter<transfers::table, diesel::dsl::Eq<transfers::id, uuid::Uuid>>,
        diesel::dsl::Eq<transfers::status, &'static str>,
    >,
    diesel::dsl::Eq<transfers::version, i32>,
>;

/// The row filter of a conditional update: still at the status and version that were read.
fn conditional(row: &TransferRow, transition: TransferTransition) -> StillAsRead {
    transfers::table
        .filter(transfers::id.eq(row.id))
        .filter(transfers::status.eq(transition.from.as_str()))
        .filter(transfers::version.eq(row.version))
}

/// Inside an open transaction: applies `transition` with what `step` records, if the row is
/// still at the status and version that were read; `None` when someone else got there first.
pub fn apply(
    conn: &mut PgConnection,
    row: &TransferRow,
    transition: TransferTransition,
    step: Step<'_>,
    now: DateTime<Utc>,
) -> Result<Option<TransferRow>, StoreError> {
    let target = diesel::update(conditional(row, transition));
    let common = (
        transfers::status.eq(transition.to.as_str()),
        transfers::version.eq(row.version + 1),
        transfers::updated_at.eq(now),
    );
    let result = match step {
        Step::Released { by } => target
            .set((
                common,
                transfers::released_at.eq(now),
                transfers::released_by.eq(by),
                transfers::auto_released.eq(by.is_none()),
            ))
            .returning(TransferRow::as_returning())
            .get_result(conn),
        Step::Accepted { by } => target
            .set((
                common,
                transfers::decided_at.eq(now),
                transfers::decided_by.eq(by),
                transfers::completed_at.eq(now),
            ))
            .returning(TransferRow::as_returning())
            .get_result(conn),
        Step::Rejected { by, reason } => target
            .set((
                common,
                transfers::decided_at.eq(now),
                transfers::decided_by.eq(by),
                transfers::rejected_by.eq(if transition.event == TransferEvent::RejectedBySource {
                    "source"
                } else {
                    "target"
                }),
                transfers::reject_reason.eq(reason),
            ))
            .returning(TransferRow::as_returning())
            .get_result(conn),
        Step::Cancelled => target
            .set((common, transfers::cancelled_at.eq(now)))
            .returning(TransferRow::as_returning())
            .get_result(conn),
        Step::CompletedIntoPool => target
            .set((
                common,
                transfers::decided_at.eq(now),
                transfers::completed_at.eq(now),
            ))
            .returning(TransferRow::as_returning())
            .get_result(conn),
    };
    Ok(result.optional()?)
}

/// Inside an open transaction: the audit row and outbox event of a step.
pub fn write_audit_and_outbox(
    conn: &mut PgConnection,
    row: &TransferRow,
    event: TransferEvent,
    actor: &MemberActor,
    reason: Option<String>,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    audit::record(
        conn,
        &AuditEntry {
            at: now,
            actor: &actor.audit_actor(),
            object_kind: "transfer",
            object_id: row.id.to_string(),
            action: event.as_str(),
            reason: reason.clone(),
        },
    )?;
    outbox::enqueue(
        conn,
        event.into(),
        &row.id.to_string(),
        &json!({
            "transfer_id": row.id,
            "member_id": row.member_id,
            "from_union_id": row.from_union_id,
            "to_union_id": row.to_union_id,
            "status": row.status,
            "reason": reason,
        }),
        now,
    )?;
    if row.status == zhijian_domain::transfer::TransferStatus::Completed {
        let account = crate::store::partners::account_of_member(conn, row.member_id)?;
        crate::store::partners::emit_for_account(
            conn,
            account,
            zhijian_domain::partner::Purpose::ALL,
            "member.transferred",
            &json!({
                "member_id": row.member_id,
                "status": "active",
                "to_union_id": row.to_union_id,
            }),
            now,
        )?;
    }
    Ok(())
}

/// The transfer with this id.
pub fn load_row(
    conn: &mut PgConnection,
    id: TransferId,
) -> Result<Option<TransferRow>, StoreError> {
    Ok(transfers::table
        .find(id.as_uuid())
        .select(TransferRow::as_select())
        .first(conn)
        .optional()?)
}

/// Inside an open transaction: transfer `id` if it is still `requested`, locked with `SKIP
/// LOCKED` — `None` when another server holds it or it was answered meanwhile.
pub fn lock_requested(
    conn: &mut PgConnection,
    id: TransferId,
) -> Result<Option<TransferRow>, StoreError> {
    Ok(transfers::table
        .find(id.as_uuid())
        .filter(transfers::status.eq(TransferStatus::Requested.as_str()))
        .select(TransferRow::as_select())
        .for_update()
        .skip_locked()
        .first(conn)
        .optional()?)
}

/// The member a transfer moves (it must exist: a foreign key).
pub fn load_member(conn: &mut PgConnection, id: uuid::Uuid) -> Result<MemberRow, StoreError> {
    Ok(members_table::table
        .find(id)
        .select(MemberRow::as_select())
        .first(conn)?)
}

/// A union a transfer names (it must exist: a foreign key).
pub fn load_union(conn: &mut PgConnection, id: i64) -> Result<UnionRow, StoreError> {
    crate::store::unions::find(conn, UnionId::new(id))?
        .ok_or_else(|| StoreError::broken(format!("transfer names missing union {id}")))
}
