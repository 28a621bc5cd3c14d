//! The membership lifecycle (会籍管理) as stored: the pieces every change of a membership
//! shares with transfers — the conditional status update, the append-only history
//! (`member_events`), closing or opening affiliation periods, the audit row and outbox event —
//! and the reads of a member's record.
//!
//! The changes themselves (retain, reactivate, withdraw, expel, decease) are use cases in
//! `crate::usecases::membership::lifecycle`: each is decided by
//! `zhijian_domain::member::MemberStatus` and applied here with one conditional update on
//! status and version, so a lost race changes nothing.

use chrono::{DateTime, Utc};
use diesel::pg::PgConnection;
use diesel::prelude::*;
use serde_json::json;
use zhijian_domain::admin::UnionPath;
use zhijian_domain::ids::{AccountId, MemberId};
use zhijian_domain::member::{MemberEvent, MemberStatus, MemberTransition};
use zhijian_domain::transfer::TransferStatus;

use crate::db::StoreError;
use crate::db::schema::{affiliations, member_events, members as members_table, transfers, unions};
use crate::store::applications::AdminActor;
use crate::store::audit::{self, Actor, AuditEntry};
use crate::store::members::{self, AffiliationRow, MemberRow};
use crate::store::outbox;
use crate::store::unions::UnionRow;

/// Who changed a membership.
#[derive(Debug, Clone)]
pub enum MemberActor {
    /// The member (by their account).
    Member(AccountId),
    /// A union admin.
    Admin(AdminActor),
    /// The server itself (the auto-release job).
    System,
}

impl MemberActor {
    /// The actor as written to the audit trail.
    pub fn audit_actor(&self) -> Actor {
        match self {
            Self::Member(account) => Actor {
                kind: "member",
                id: Some(account.to_string()),
                role: None,
                union_id: None,
            },
            Self::Admin(admin) => Actor {
                kind: "admin",
                id: Some(admin.admin_id.to_string()),
                role: Some(admin.role),
                union_id: Some(admin.union_path.union().get()),
            },
            Self::System => Actor::system(),
        }
    }

    fn kind_and_id(&self) -> (&'static str, Option<uuid::Uuid>) {
        match self {
            Self::Member(account) => ("member", Some(account.as_uuid())),
            Self::Admin(admin) => ("admin", Some(admin.admin_id)),
            Self::System => ("system", None),
        }
    }
}

/// One entry of a membership's history, as stored.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = member_events)]
pub struct MemberEventRow {
    pub id: i64,
    pub member_id: uuid::Uuid,
    #[diesel(deserialize_as = crate::db::types::Stored<zhijian_domain::member::MemberEvent>)]
    pub event: zhijian_domain::member::MemberEvent,
    #[diesel(deserialize_as = crate::db::types::Stored<zhijian_domain::member::MemberStatus>)]
    pub from_status: zhijian_domain::member::MemberStatus,
    #[diesel(deserialize_as = crate::db::types::Stored<zhijian_domain::member::MemberStatus>)]
    pub to_status: zhijian_domain::member::MemberStatus,
    pub union_id: i64,
    pub membership_number: String,
    pub transfer_id: Option<uuid::Uuid>,
    pub actor_kind: String,
    pub actor_id: Option<uuid::Uuid>,
    pub reason_code: Option<String>,
    pub reason: Option<String>,
    pub at: DateTime<Utc>,
}

/// Why a status changed: a code from a controlled list and/or free text.
#[derive(Debug, Clone, Default)]
pub struct Why {
    /// A code (`unemployed`, `retired`, `employer_closed`, …).
    pub code: Option<&'static str>,
    /// Free text.
    pub text: Option<String>,
}

impl Why {
    /// The reason as one line for the audit trail and outbox.
    pub fn line(&self) -> Option<String> {
        match (self.code, &self.text) {
            (Some(code), Some(text)) => Some(format!("{code}：{text}")),
            (Some(code), None) => Some(code.to_owned()),
            (None, Some(text)) => Some(text.clone()),
            (None, None) => None,
        }
    }
}

/// Inside an open transaction: applies `transition` to `member` if its status and version are
/// still what was read, optionally moving it to another union; `None` when the race was lost.
pub fn apply_status(
    conn: &mut PgConnection,
    member: &MemberRow,
    transition: MemberTransition,
    new_union: Option<i64>,
    now: DateTime<Utc>,
) -> Result<Option<MemberRow>, StoreError> {
    let target = members_table::table
        .filter(members_table::id.eq(member.id))
        .filter(members_table::status.eq(transition.from.as_str()))
        .filter(members_table::version.eq(member.version));
    Ok(diesel::update(target)
        .set((
            members_table::status.eq(transition.to.as_str()),
            members_table::version.eq(member.version + 1),
            members_table::union_id.eq(new_union.unwrap_or(member.union_id)),
            members_table::updated_at.eq(now),
        ))
        .returning(MemberRow::as_returning())
        .get_result(conn)
        .optional()?)
}

/// Inside an open transaction: appends one history entry for a status change of `member`
/// (the row after the change).
pub fn record_event(
    conn: &mut PgConnection,
    member: &MemberRow,
    transition: MemberTransition,
    transfer: Option<uuid::Uuid>,
    actor: &MemberActor,
    why: &Why,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let (actor_kind, actor_id) = actor.kind_and_id();
    diesel::insert_into(member_events::table)
        .values((
            member_events::member_id.eq(member.id),
            member_events::event.eq(transition.event.as_str()),
            member_events::from_status.eq(transition.from.as_str()),
            member_events::to_status.eq(transition.to.as_str()),
            member_events::union_id.eq(member.union_id),
            member_events::membership_number.eq(&member.membership_number),
            member_events::transfer_id.eq(transfer),
            member_events::actor_kind.eq(actor_kind),
            member_events::actor_id.eq(actor_id),
            member_events::reason_code.eq(why.code),
            member_events::reason.eq(why.text.as_deref()),
            member_events::at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// Inside an open transaction: ends the member's open affiliation period (kept, never
/// deleted) and, when `next` names a union, opens the next one there.
pub fn move_affiliation(
    conn: &mut PgConnection,
    member: &MemberRow,
    end_reason: &str,
    next: Option<(i64, &str)>,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    diesel::update(
        affiliations::table
            .filter(affiliations::member_id.eq(member.id))
            .filter(affiliations::ended_at.is_null()),
    )
    .set((
        affiliations::ended_at.eq(now),
        affiliations::end_reason.eq(end_reason),
    ))
    .execute(conn)?;
    if let Some((union, reason)) = next {
        diesel::insert_into(affiliations::table)
            .values((
                affiliations::member_id.eq(member.id),
                affiliations::union_id.eq(union),
                affiliations::started_at.eq(now),
                affiliations::reason.eq(reason),
                affiliations::membership_number.eq(&member.membership_number),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// How far an admin reaches a member.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// The member's current union is in the admin's subtree: they may act.
    Current,
    /// A past union of the member, or the target of an open transfer, is in the subtree: they
    /// may look.
    History,
    /// Neither: 404.
    None,
}

/// How far the admin with subtree `scope` reaches `member` (currently in `union`).
pub fn reach(
    conn: &mut PgConnection,
    member: &MemberRow,
    union: &UnionRow,
    scope: &UnionPath,
) -> Result<Reach, StoreError> {
    if scope.contains(&union.union_path()?) {
        return Ok(Reach::Current);
    }
    let prefix = format!("{scope}%");
    let past: i64 = affiliations::table
        .inner_join(unions::table)
        .filter(affiliations::member_id.eq(member.id))
        .filter(unions::path.like(&prefix))
        .count()
        .get_result(conn)?;
    let incoming: i64 = transfers::table
        .inner_join(unions::table.on(unions::id.eq(transfers::to_union_id)))
        .filter(transfers::member_id.eq(member.id))
        .filter(transfers::status.eq_any(OPEN_TRANSFER))
        .filter(unions::path.like(&prefix))
        .count()
        .get_result(conn)?;
    Ok(if past + incoming > 0 {
        Reach::History
    } else {
        Reach::None
    })
}

/// The statuses of an open transfer, as text for the filters: the domain's
/// `TransferStatus::is_open` decides (a test keeps the two equal).
pub const OPEN_TRANSFER: [&str; 2] = [
    TransferStatus::Requested.as_str(),
    TransferStatus::Released.as_str(),
];

/// A membership with its union, periods and history: what admins and the member see.
#[derive(Debug, Clone)]
pub struct MemberRecord {
    /// The member.
    pub member: MemberRow,
    /// Its current union.
    pub union: UnionRow,
    /// Affiliation periods, oldest first, with union names.
    pub affiliations: Vec<(AffiliationRow, String)>,
    /// Status changes, oldest first, with union names.
    pub events: Vec<(MemberEventRow, String)>,
}

/// Loads the member with its union, periods and history.
pub fn record(
    conn: &mut PgConnection,
    member: uuid::Uuid,
) -> Result<Option<MemberRecord>, StoreError> {
    let Some((member, union)) = members::find(conn, member)? else {
        return Ok(None);
    };
    let affiliations = members::affiliations_of(conn, member.id)?;
    let events = member_events::table
        .inner_join(unions::table)
        .filter(member_events::member_id.eq(member.id))
        .order(member_events::id.asc())
        .select((MemberEventRow::as_select(), unions::name))
        .load(conn)?;
    Ok(Some(MemberRecord {
        member,
        union,
        affiliations,
        events,
    }))
}

/// The member record of `id` if the admin reaches it (current union or history), else `None`.
pub fn record_for_admin(
    conn: &mut PgConnection,
    id: MemberId,
    scope: &UnionPath,
) -> Result<Option<MemberRecord>, StoreError> {
    let Some((member, union)) = members::find(conn, id.as_uuid())? else {
        return Ok(None);
    };
    if reach(conn, &member, &union, scope)? == Reach::None {
        return Ok(None);
    }
    record(conn, member.id)
}

/// The worker's membership with its periods and history.
pub fn record_for_account(
    conn: &mut PgConnection,
    account: AccountId,
) -> Result<Option<MemberRecord>, StoreError> {
    match members::find_for_account(conn, account)? {
        Some((member, _)) => record(conn, member.id),
        None => Ok(None),
    }
}

/// Members whose current union lies in the subtree under `scope`, by id (keyset: after
/// `after`), with their unions.
///
/// The ids come from [`crate::db::sql::subtree::SubtreePage`] — for each status listed, one range of
/// `members_anchor_idx (anchor_id, status, id)` per anchor of the subtree (a county admin's list
/// is six ranges, whatever the size of the table), or of `members_union_idx (union_id, status,
/// id)` per union below a county — then the rows are loaded with their unions. (It was a join
/// on `unions.path LIKE` ordered by id: a scan of the members table until a page of the
/// subtree's turned up, or a sort of all of the subtree's members.)
pub fn list(
    conn: &mut PgConnection,
    scope: &UnionPath,
    status: Option<MemberStatus>,
    after: Option<uuid::Uuid>,
    limit: i64,
) -> Result<Vec<(MemberRow, UnionRow)>, StoreError> {
    use crate::db::sql::subtree::{MEMBERS, Param, SubtreePage};
    let conditions = MEMBERS.conditions(&[after.map(|_| 0)]);
    let ids: Vec<uuid::Uuid> = SubtreePage {
        part_values: match status {
            Some(status) => vec![status.as_str()],
            None => MemberStatus::ALL.iter().map(|s| s.as_str()).collect(),
        },
        limit,
        extra: vec![after.map(Param::Uuid)],
        ..MEMBERS.page(scope, conditions)
    }
    .load_ids(conn)?;
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut rows: Vec<(MemberRow, UnionRow)> = members_table::table
        .inner_join(unions::table)
        .filter(members_table::id.eq_any(&ids))
        .select((MemberRow::as_select(), UnionRow::as_select()))
        .load(conn)?;
    rows.sort_by_key(|(member, _)| member.id);
    Ok(rows)
}

/// Inside an open transaction: the open transfer of member `id` (id and version), locked.
/// Transfer steps lock the transfer before the member; a lifecycle change does the same, so
/// the two never wait on each other in opposite order.
pub fn lock_open_transfer(
    conn: &mut PgConnection,
    id: MemberId,
) -> Result<Option<(uuid::Uuid, i32)>, StoreError> {
    Ok(transfers::table
        .filter(transfers::member_id.eq(id.as_uuid()))
        .filter(transfers::status.eq_any(OPEN_TRANSFER))
        .select((transfers::id, transfers::version))
        .for_update()
        .first(conn)
        .optional()?)
}

/// Inside an open transaction: the audit row and outbox event of a change of `member` (the
/// row after the change).
pub fn write_audit_and_outbox(
    conn: &mut PgConnection,
    member: &MemberRow,
    transition: MemberTransition,
    action: &'static str,
    actor: &MemberActor,
    why: &Why,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    audit::record(
        conn,
        &AuditEntry {
            at: now,
            actor: &actor.audit_actor(),
            object_kind: "member",
            object_id: member.id.to_string(),
            action,
            reason: why.line(),
        },
    )?;
    outbox::enqueue(
        conn,
        transition.event.into(),
        &member.id.to_string(),
        &json!({
            "member_id": member.id,
            "account_id": member.account_id,
            "union_id": member.union_id,
            "membership_number": member.membership_number,
            "status": transition.to.as_str(),
            "reason_code": why.code,
            "reason": why.text,
        }),
        now,
    )?;
    if transition.to == zhijian_domain::member::MemberStatus::Withdrawn {
        crate::store::partners::emit_for_account(
            conn,
            member.account_id,
            zhijian_domain::partner::Purpose::ALL,
            "member.withdrawn",
            &json!({ "member_id": member.id, "status": transition.to.as_str() }),
            now,
        )?;
    }
    Ok(())
}

/// Whether [`close_transfer_for_ended_membership`] closed the transfer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Closed {
    /// Closed as cancelled.
    Yes,
    /// It changed since it was read.
    Stale,
}

/// Inside an open transaction: the membership ended mid-transfer, so the open transfer is
/// closed as cancelled, with the reason in its record and the audit trail.
pub fn close_transfer_for_ended_membership(
    conn: &mut PgConnection,
    transfer: uuid::Uuid,
    version: i32,
    actor: &MemberActor,
    event: MemberEvent,
    now: DateTime<Utc>,
) -> Result<Closed, StoreError> {
    let closed = diesel::update(
        transfers::table
            .filter(transfers::id.eq(transfer))
            .filter(transfers::version.eq(version))
            .filter(transfers::status.eq_any(OPEN_TRANSFER)),
    )
    .set((
        transfers::status.eq(TransferStatus::Cancelled.as_str()),
        transfers::version.eq(version + 1),
        transfers::cancelled_at.eq(now),
        transfers::updated_at.eq(now),
    ))
    .execute(conn)?;
    if closed != 1 {
        return Ok(Closed::Stale);
    }
    let reason = format!("会籍终止（{}）", event.label_zh());
    audit::record(
        conn,
        &AuditEntry {
            at: now,
            actor: &actor.audit_actor(),
            object_kind: "transfer",
            object_id: transfer.to_string(),
            action: "cancelled",
            reason: Some(reason.clone()),
        },
    )?;
    outbox::enqueue(
        conn,
        zhijian_domain::outbox_event::OutboxEvent::TransferCancelled,
        &transfer.to_string(),
        &json!({"transfer_id": transfer, "status": "cancelled", "reason": reason}),
        now,
    )?;
    Ok(Closed::Yes)
}

#[cfg(test)]
mod open_transfer_tests {
    use zhijian_domain::transfer::TransferStatus;

    #[test]
    fn the_filter_lists_exactly_the_statuses_the_domain_calls_open() {
        let open: Vec<&str> = TransferStatus::ALL
            .iter()
            .filter(|s| s.is_open())
            .map(|s| s.as_str())
            .collect();
        assert_eq!(open, super::OPEN_TRANSFER.to_vec());
    }
}
