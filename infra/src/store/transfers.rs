//! Membership transfers (会籍转接: 一次入会、动态接转): request, release, accept, reject,
//! cancel, auto-release, and completion into a pool — each one transaction with the member's
//! status change, history event, audit row and outbox event.
//!
//! Transitions are decided by `zhijian_domain::transfer::Transfer`; this module loads the
//! state, asks the domain, and writes the answer with one conditional update on status and
//! version, so a lost race changes nothing. The member stays in the source union
//! (`members.union_id`) until completion, when the affiliation period there is closed and a new
//! one opens in the target union; the joined date and membership number never change.

use std::collections::HashMap;
use zhijian_domain::error_code::ErrorCode;

use chrono::{DateTime, TimeDelta, Utc};
use diesel::pg::PgConnection;
use diesel::prelude::*;
use serde_json::json;
use zhijian_domain::admin::UnionPath;
use zhijian_domain::calendar::WorkingCalendar;
use zhijian_domain::ids::{AccountId, MemberId, TransferId, UnionId};
use zhijian_domain::member::{MemberStatus, MemberTransition};
use zhijian_domain::reason::Reason;
use zhijian_domain::routing::{RoutingDecision, RoutingFacts, UnionKind};
use zhijian_domain::transfer::{
    SOURCE_SILENCE_WORKING_DAYS, Transfer, TransferEvent, TransferStatus, TransferTransition,
};

use crate::db::StoreError;
use crate::db::schema::{members as members_table, transfers, unions};
use crate::store::applications::{AdminActor, RegionProblem, SubmitFacts};
use crate::store::audit::{self, AuditEntry};
use crate::store::idempotency::{self, Answer, IdempotencyKey, KeyReused};
use crate::store::member_lifecycle::{
    MemberActor, MembershipError, OPEN_TRANSFER, Why, apply_status, move_affiliation, record_event,
};
use crate::store::members::{self, MemberRow};
use crate::store::outbox;
use crate::store::reference_cache::ReferenceCache;
use crate::store::unions::UnionRow;

/// A transfer as stored.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = transfers)]
pub struct TransferRow {
    pub id: uuid::Uuid,
    pub member_id: uuid::Uuid,
    pub from_union_id: i64,
    pub to_union_id: i64,
    pub status: String,
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
            status: self.status()?,
            requested_at: self.requested_at,
        })
    }

    /// The parsed status.
    pub fn status(&self) -> Result<TransferStatus, StoreError> {
        TransferStatus::parse(&self.status).map_err(|_| {
            StoreError::Internal(format!("transfer {} has status {:?}", self.id, self.status))
        })
    }
}

/// Where the member wants to go.
#[derive(Debug, Clone)]
pub enum TransferTarget {
    /// A union the member chose.
    Union(UnionId),
    /// The facts of the new job; routing chooses the union (a pool when none covers it).
    Facts(SubmitFacts),
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
}

fn invalid(code: ErrorCode, message: &str, field: Option<&'static str>) -> MembershipError {
    MembershipError::Invalid {
        code,
        message: message.to_owned(),
        field,
    }
}

/// Resolves the target union: a named union must exist, take members and not be a pool;
/// facts are routed over the union tree like an application.
fn resolve_target(
    conn: &mut PgConnection,
    cache: &ReferenceCache,
    target: &TransferTarget,
) -> Result<(UnionRow, Option<RoutingDecision>), MembershipError> {
    match target {
        TransferTarget::Union(id) => {
            let field = Some("to_union_id");
            let union = crate::store::unions::find(conn, *id)?
                .ok_or_else(|| invalid(ErrorCode::InvalidTargetUnion, "目标工会不存在", field))?;
            if union.kind == UnionKind::Pool.as_str() || !union.accepting {
                return Err(invalid(
                    ErrorCode::InvalidTargetUnion,
                    "目标工会暂不接收会员转入",
                    field,
                ));
            }
            Ok((union, None))
        }
        TransferTarget::Facts(facts) => {
            match crate::store::applications::check_work_region(conn, cache, &facts.work_region)? {
                Ok(()) => {}
                Err(RegionProblem::TooCoarse) => {
                    return Err(invalid(
                        ErrorCode::WorkRegionTooCoarse,
                        "工作地点请选择到乡镇（街道）或村（社区）",
                        Some("work_region"),
                    ));
                }
                Err(RegionProblem::Unknown) => {
                    return Err(invalid(
                        ErrorCode::UnknownRegion,
                        "所选工作地点不存在",
                        Some("work_region"),
                    ));
                }
            }
            let (decision, union) = crate::store::unions::route(
                conn,
                &RoutingFacts {
                    work_region: facts.work_region.clone(),
                    occupation: facts.occupation,
                    employer_credit_code: facts.employer.clone(),
                },
            )?
            .map_err(|e| MembershipError::conflict(e.code(), e.to_string()))?;
            Ok((union, Some(decision)))
        }
    }
}

fn member_status(member: &MemberRow) -> Result<MemberStatus, StoreError> {
    MemberStatus::parse(&member.status).map_err(|_| {
        StoreError::Internal(format!(
            "member {} has status {:?}",
            member.id, member.status
        ))
    })
}

/// The member asks to move: one transaction with the idempotency claim, the member's move to
/// `transferring`, the transfer, its history, audit and outbox. When routing finds no union
/// for the new job, the transfer completes into the county pool at once (membership kept).
/// `render` builds the response that a retry with the same key gets back.
#[expect(
    clippy::too_many_arguments,
    reason = "the request, its idempotency key, the clock and caches it reads, and its renderer"
)]
pub fn request(
    conn: &mut PgConnection,
    cache: &ReferenceCache,
    account: AccountId,
    target: &TransferTarget,
    reason: Option<&Reason>,
    key: Option<&IdempotencyKey>,
    now: DateTime<Utc>,
    render: impl FnOnce(&mut PgConnection, &TransferRow) -> Result<Answer, StoreError>,
) -> Result<Result<Answer, KeyReused>, MembershipError> {
    conn.transaction(|conn| {
        if let Some(key) = key {
            match idempotency::claim(conn, key)? {
                Err(reused) => return Ok(Err(reused)),
                Ok(Some(replay)) => return Ok(Ok(replay)),
                Ok(None) => {}
            }
        }
        let (member, _) =
            members::find_for_account(conn, account)?.ok_or(MembershipError::NotAMember)?;
        // Racing requests of one member queue here: the loser then reads `transferring` and
        // answers `transfer_in_progress` (one open transfer per member), not a lost race.
        let member = members::lock(conn, member.id)?;
        let (to, decision) = resolve_target(conn, cache, target)?;
        let id = TransferId::from_uuid(uuid::Uuid::now_v7());
        let transfer = Transfer::request(
            id,
            MemberId::from_uuid(member.id),
            UnionId::new(member.union_id),
            to.union_id(),
            now,
        )
        .map_err(|e| {
            let field = match target {
                TransferTarget::Union(_) => "to_union_id",
                TransferTarget::Facts(_) => "work_region",
            };
            invalid(e.code(), &e.to_string(), Some(field))
        })?;
        let started = member_status(&member)?
            .start_transfer()
            .map_err(|e| MembershipError::conflict(e.code(), e.to_string()))?;
        let member = apply_status(conn, &member, started, None, now)?;
        let facts = match target {
            TransferTarget::Facts(facts) => Some(facts),
            TransferTarget::Union(_) => None,
        };
        let row = TransferRow {
            id: id.as_uuid(),
            member_id: member.id,
            from_union_id: member.union_id,
            to_union_id: to.id,
            status: transfer.status.as_str().to_owned(),
            version: 1,
            routing_rule: decision.as_ref().map(|d| d.rule.as_str().to_owned()),
            routing_explanation: decision.as_ref().map(|d| d.explanation.clone()),
            work_region: facts.map(|f| f.work_region.as_str().to_owned()),
            occupation: facts.map(|f| f.occupation.as_str().to_owned()),
            employer_credit_code: facts
                .and_then(|f| f.employer.as_ref())
                .map(|c| c.as_str().to_owned()),
            reason: reason.map(|r| r.as_str().to_owned()),
            requested_at: now,
            released_at: None,
            released_by: None,
            auto_released: false,
            decided_at: None,
            decided_by: None,
            completed_at: None,
            cancelled_at: None,
            rejected_by: None,
            reject_reason: None,
            updated_at: now,
        };
        match diesel::insert_into(transfers::table)
            .values(&row)
            .execute(conn)
        {
            Ok(_) => {}
            Err(diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                info,
            )) if info.constraint_name() == Some("transfers_one_open_per_member") => {
                return Err(MembershipError::conflict(
                    ErrorCode::TransferInProgress,
                    "已有正在办理的会籍转接",
                ));
            }
            Err(e) => return Err(e.into()),
        }
        let actor = MemberActor::Member(account);
        let why = Why {
            code: None,
            text: row.reason.clone(),
        };
        record_event(conn, &member, started, Some(row.id), &actor, &why, now)?;
        write_audit_and_outbox(
            conn,
            &row,
            TransferEvent::Requested,
            &actor,
            row.reason.clone(),
            now,
        )?;
        let row = if decision.as_ref().is_some_and(RoutingDecision::is_pooled) {
            complete_into_pool(conn, &transfer, &row, &member, now)?
        } else {
            row
        };
        let rendered = render(conn, &row)?;
        if let Some(key) = key {
            idempotency::store_response(conn, key, rendered.0, &rendered.1)?;
        }
        Ok(Ok(rendered))
    })
}

/// No union covers the new job: the pool has no one to accept, so the transfer completes at
/// once and the membership moves into the county pool.
fn complete_into_pool(
    conn: &mut PgConnection,
    transfer: &Transfer,
    row: &TransferRow,
    member: &MemberRow,
    now: DateTime<Utc>,
) -> Result<TransferRow, MembershipError> {
    let transition = transfer
        .complete_into_pool()
        .map_err(|e| MembershipError::conflict(e.code(), e.to_string()))?;
    let updated = diesel::update(conditional(row, transition))
        .set((
            transfers::status.eq(transition.to.as_str()),
            transfers::version.eq(row.version + 1),
            transfers::decided_at.eq(now),
            transfers::completed_at.eq(now),
            transfers::updated_at.eq(now),
        ))
        .returning(TransferRow::as_returning())
        .get_result(conn)
        .optional()?
        .ok_or_else(MembershipError::stale)?;
    finish_on_member(conn, &updated, member, &MemberActor::System, now)?;
    write_audit_and_outbox(
        conn,
        &updated,
        transition.event,
        &MemberActor::System,
        None,
        now,
    )?;
    Ok(updated)
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

/// Completion on the member's side: the affiliation moves, the union changes, the member is
/// active again. Joined date and number stay.
fn finish_on_member(
    conn: &mut PgConnection,
    transfer: &TransferRow,
    member: &MemberRow,
    actor: &MemberActor,
    now: DateTime<Utc>,
) -> Result<MemberRow, MembershipError> {
    let transition = member_status(member)?
        .finish_transfer()
        .map_err(|e| MembershipError::conflict(e.code(), e.to_string()))?;
    let moved = apply_status(conn, member, transition, Some(transfer.to_union_id), now)?;
    move_affiliation(
        conn,
        member,
        "transfer",
        Some((transfer.to_union_id, "transfer")),
        now,
    )?;
    record_event(
        conn,
        &moved,
        transition,
        Some(transfer.id),
        actor,
        &Why::default(),
        now,
    )?;
    Ok(moved)
}

/// Rejection or cancellation on the member's side: back to active in the source union.
fn abort_on_member(
    conn: &mut PgConnection,
    transfer: &TransferRow,
    member: &MemberRow,
    actor: &MemberActor,
    why: &Why,
    now: DateTime<Utc>,
) -> Result<MemberRow, MembershipError> {
    let transition: MemberTransition = member_status(member)?
        .abort_transfer()
        .map_err(|e| MembershipError::conflict(e.code(), e.to_string()))?;
    let back = apply_status(conn, member, transition, None, now)?;
    record_event(conn, &back, transition, Some(transfer.id), actor, why, now)?;
    Ok(back)
}

fn write_audit_and_outbox(
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
        &format!("transfer.{}", event.as_str()),
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
    Ok(())
}

/// What a union decides about a transfer.
#[derive(Debug, Clone)]
pub enum TransferDecision {
    /// The source lets the member go.
    Release,
    /// The target takes the member in.
    Accept,
    /// Either side refuses at its own step, with a reason: the source while requested, the
    /// target once released.
    Reject(Reason),
}

/// Which side of a transfer an admin's subtree holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sides {
    /// The source union is in the subtree.
    pub source: bool,
    /// The target union is in the subtree.
    pub target: bool,
}

fn sides(from: &UnionRow, to: &UnionRow, scope: &UnionPath) -> Result<Sides, StoreError> {
    Ok(Sides {
        source: scope.contains(&from.union_path()?),
        target: scope.contains(&to.union_path()?),
    })
}

fn load_row(conn: &mut PgConnection, id: TransferId) -> Result<Option<TransferRow>, StoreError> {
    Ok(transfers::table
        .find(id.as_uuid())
        .select(TransferRow::as_select())
        .first(conn)
        .optional()?)
}

fn load_member(conn: &mut PgConnection, id: uuid::Uuid) -> Result<MemberRow, StoreError> {
    Ok(members_table::table
        .find(id)
        .select(MemberRow::as_select())
        .first(conn)?)
}

fn load_union(conn: &mut PgConnection, id: i64) -> Result<UnionRow, StoreError> {
    crate::store::unions::find(conn, UnionId::new(id))?
        .ok_or_else(|| StoreError::Internal(format!("transfer names missing union {id}")))
}

/// An admin releases, accepts or rejects transfer `id` if their subtree holds the side whose
/// step it is and the transfer is still at `expected_version`. Someone who sees neither side
/// gets `NotFound`; the other side gets `Forbidden`.
pub fn decide(
    conn: &mut PgConnection,
    id: TransferId,
    expected_version: i32,
    admin: &AdminActor,
    decision: &TransferDecision,
    now: DateTime<Utc>,
) -> Result<TransferDetail, MembershipError> {
    conn.transaction(|conn| {
        let row = load_row(conn, id)?.ok_or(MembershipError::NotFound)?;
        let from = load_union(conn, row.from_union_id)?;
        let to = load_union(conn, row.to_union_id)?;
        let sides = sides(&from, &to, &admin.union_path)?;
        if !sides.source && !sides.target {
            return Err(MembershipError::NotFound);
        }
        let state = row.domain()?;
        let conflict = MembershipError::conflict;
        let not_source = || MembershipError::Forbidden {
            code: ErrorCode::NotSourceUnion,
            message: "该转接只能由会员原所在工会办理转出".to_owned(),
        };
        let not_target = || MembershipError::Forbidden {
            code: ErrorCode::NotTargetUnion,
            message: "该转接只能由转入工会办理接收".to_owned(),
        };
        let transition = match decision {
            TransferDecision::Release if !sides.source => return Err(not_source()),
            TransferDecision::Release => state
                .release()
                .map_err(|e| conflict(e.code(), e.to_string()))?,
            TransferDecision::Accept if !sides.target => return Err(not_target()),
            TransferDecision::Accept => state
                .accept()
                .map_err(|e| conflict(e.code(), e.to_string()))?,
            TransferDecision::Reject(reason) => {
                if state.refuses_as_source(sides.source, sides.target) {
                    state
                        .reject_by_source(reason)
                        .map_err(|e| conflict(e.code(), e.to_string()))?
                } else {
                    state
                        .reject_by_target(reason)
                        .map_err(|e| conflict(e.code(), e.to_string()))?
                }
            }
        };
        if row.version != expected_version {
            return Err(MembershipError::stale());
        }
        let target = diesel::update(conditional(&row, transition));
        let common = (
            transfers::status.eq(transition.to.as_str()),
            transfers::version.eq(row.version + 1),
            transfers::updated_at.eq(now),
        );
        let result = match (decision, transition.event) {
            (TransferDecision::Release, _) => target
                .set((
                    common,
                    transfers::released_at.eq(now),
                    transfers::released_by.eq(admin.admin_id),
                ))
                .returning(TransferRow::as_returning())
                .get_result(conn),
            (TransferDecision::Accept, _) => target
                .set((
                    common,
                    transfers::decided_at.eq(now),
                    transfers::decided_by.eq(admin.admin_id),
                    transfers::completed_at.eq(now),
                ))
                .returning(TransferRow::as_returning())
                .get_result(conn),
            (TransferDecision::Reject(reason), event) => target
                .set((
                    common,
                    transfers::decided_at.eq(now),
                    transfers::decided_by.eq(admin.admin_id),
                    transfers::rejected_by.eq(if event == TransferEvent::RejectedBySource {
                        "source"
                    } else {
                        "target"
                    }),
                    transfers::reject_reason.eq(reason.as_str()),
                ))
                .returning(TransferRow::as_returning())
                .get_result(conn),
        };
        let updated = result.optional()?.ok_or_else(MembershipError::stale)?;
        let actor = MemberActor::Admin(admin.clone());
        let member = load_member(conn, row.member_id)?;
        let reason = match decision {
            TransferDecision::Reject(reason) => Some(reason.as_str().to_owned()),
            _ => None,
        };
        let member = match decision {
            TransferDecision::Release => member,
            TransferDecision::Accept => finish_on_member(conn, &updated, &member, &actor, now)?,
            TransferDecision::Reject(_) => {
                let why = Why {
                    code: Some(transition.event.as_str()),
                    text: reason.clone(),
                };
                abort_on_member(conn, &updated, &member, &actor, &why, now)?
            }
        };
        write_audit_and_outbox(conn, &updated, transition.event, &actor, reason, now)?;
        Ok(TransferDetail {
            transfer: updated,
            member,
            from,
            to,
        })
    })
}

/// The member cancels an open transfer of theirs (requested or released).
pub fn cancel(
    conn: &mut PgConnection,
    id: TransferId,
    account: AccountId,
    now: DateTime<Utc>,
) -> Result<TransferDetail, MembershipError> {
    conn.transaction(|conn| {
        let row = load_row(conn, id)?.ok_or(MembershipError::NotFound)?;
        let member = load_member(conn, row.member_id)?;
        if member.account_id != account.as_uuid() {
            return Err(MembershipError::NotFound);
        }
        let transition = row
            .domain()?
            .cancel()
            .map_err(|e| MembershipError::conflict(e.code(), e.to_string()))?;
        let updated = diesel::update(conditional(&row, transition))
            .set((
                transfers::status.eq(transition.to.as_str()),
                transfers::version.eq(row.version + 1),
                transfers::cancelled_at.eq(now),
                transfers::updated_at.eq(now),
            ))
            .returning(TransferRow::as_returning())
            .get_result(conn)
            .optional()?
            .ok_or_else(MembershipError::stale)?;
        let actor = MemberActor::Member(account);
        let why = Why {
            code: Some(transition.event.as_str()),
            text: None,
        };
        let member = abort_on_member(conn, &updated, &member, &actor, &why, now)?;
        write_audit_and_outbox(conn, &updated, transition.event, &actor, None, now)?;
        let from = load_union(conn, updated.from_union_id)?;
        let to = load_union(conn, updated.to_union_id)?;
        Ok(TransferDetail {
            transfer: updated,
            member,
            from,
            to,
        })
    })
}

/// Transfers whose source union has been silent for [`SOURCE_SILENCE_WORKING_DAYS`] working
/// days by `now`, oldest first, at most `limit`.
///
/// Three working days are at least three calendar days, so only transfers requested that long
/// ago are read (an index range); the calendar then decides which of them are due.
pub fn due_for_auto_release(
    conn: &mut PgConnection,
    calendar: &WorkingCalendar,
    now: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<TransferId>, StoreError> {
    let earliest_due = now - TimeDelta::days(i64::from(SOURCE_SILENCE_WORKING_DAYS));
    let candidates: Vec<TransferRow> = transfers::table
        .filter(transfers::status.eq(TransferStatus::Requested.as_str()))
        .filter(transfers::requested_at.le(earliest_due))
        .order((transfers::requested_at.asc(), transfers::id.asc()))
        .limit(limit)
        .select(TransferRow::as_select())
        .load(conn)?;
    let mut due = Vec::new();
    for row in candidates {
        if row.domain()?.auto_release(now, calendar).is_ok() {
            due.push(TransferId::from_uuid(row.id));
        }
    }
    Ok(due)
}

/// Releases transfer `id` on behalf of its silent source union, in its own transaction. The
/// row is locked with `SKIP LOCKED`, so when several servers run the job only one takes it;
/// `None` when another has it, or it is no longer due (answered, cancelled, calendar changed).
pub fn auto_release(
    conn: &mut PgConnection,
    id: TransferId,
    calendar: &WorkingCalendar,
    now: DateTime<Utc>,
) -> Result<Option<TransferRow>, MembershipError> {
    conn.transaction(|conn| {
        let row: Option<TransferRow> = transfers::table
            .find(id.as_uuid())
            .filter(transfers::status.eq(TransferStatus::Requested.as_str()))
            .select(TransferRow::as_select())
            .for_update()
            .skip_locked()
            .first(conn)
            .optional()?;
        let Some(row) = row else {
            return Ok(None);
        };
        let Ok(transition) = row.domain()?.auto_release(now, calendar) else {
            return Ok(None);
        };
        let updated = diesel::update(conditional(&row, transition))
            .set((
                transfers::status.eq(transition.to.as_str()),
                transfers::version.eq(row.version + 1),
                transfers::released_at.eq(now),
                transfers::auto_released.eq(true),
                transfers::updated_at.eq(now),
            ))
            .returning(TransferRow::as_returning())
            .get_result(conn)
            .optional()?
            .ok_or_else(MembershipError::stale)?;
        let reason = Some(format!(
            "原工会{SOURCE_SILENCE_WORKING_DAYS}个工作日内未办理，自动转出"
        ));
        write_audit_and_outbox(
            conn,
            &updated,
            transition.event,
            &MemberActor::System,
            reason,
            now,
        )?;
        Ok(Some(updated))
    })
}

/// One run of the auto-release job: every due transfer, each in its own transaction. Returns
/// how many were released.
pub fn auto_release_due(
    conn: &mut PgConnection,
    now: DateTime<Utc>,
    batch: i64,
) -> Result<usize, MembershipError> {
    let calendar = crate::store::calendar::load(conn)?;
    let mut released = 0;
    loop {
        let due = due_for_auto_release(conn, &calendar, now, batch)?;
        let mut this_round = 0;
        for id in &due {
            match auto_release(conn, *id, &calendar, now) {
                Ok(Some(row)) => {
                    log::info!(
                        "transfer auto-released: transfer_id={} from_union_id={}",
                        row.id,
                        row.from_union_id
                    );
                    this_round += 1;
                }
                Ok(None) | Err(MembershipError::Conflict { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        released += this_round;
        // A full page that released nothing means the rest is locked by another server or
        // not yet due: stop until the next tick.
        if i64::try_from(due.len()).unwrap_or(i64::MAX) < batch || this_round == 0 {
            return Ok(released);
        }
    }
}

/// Loads the members and unions of `rows`, in order.
pub fn details(
    conn: &mut PgConnection,
    rows: Vec<TransferRow>,
) -> Result<Vec<TransferDetail>, StoreError> {
    let union_ids: Vec<i64> = rows
        .iter()
        .flat_map(|r| [r.from_union_id, r.to_union_id])
        .collect();
    let member_ids: Vec<uuid::Uuid> = rows.iter().map(|r| r.member_id).collect();
    let unions: HashMap<i64, UnionRow> = unions::table
        .filter(unions::id.eq_any(union_ids))
        .select(UnionRow::as_select())
        .load::<UnionRow>(conn)?
        .into_iter()
        .map(|u| (u.id, u))
        .collect();
    let members: HashMap<uuid::Uuid, MemberRow> = members_table::table
        .filter(members_table::id.eq_any(member_ids))
        .select(MemberRow::as_select())
        .load::<MemberRow>(conn)?
        .into_iter()
        .map(|m| (m.id, m))
        .collect();
    rows.into_iter()
        .map(|transfer| {
            let missing =
                || StoreError::Internal(format!("transfer {} lost a reference", transfer.id));
            let from = unions
                .get(&transfer.from_union_id)
                .cloned()
                .ok_or_else(missing)?;
            let to = unions
                .get(&transfer.to_union_id)
                .cloned()
                .ok_or_else(missing)?;
            let member = members
                .get(&transfer.member_id)
                .cloned()
                .ok_or_else(missing)?;
            Ok(TransferDetail {
                transfer,
                member,
                from,
                to,
            })
        })
        .collect()
}

/// The transfers of an account's member, newest first.
pub fn list_for_account(
    conn: &mut PgConnection,
    account: AccountId,
) -> Result<Vec<TransferDetail>, StoreError> {
    let rows = transfers::table
        .inner_join(members_table::table)
        .filter(members_table::account_id.eq(account.as_uuid()))
        .order((transfers::requested_at.desc(), transfers::id.desc()))
        .select(TransferRow::as_select())
        .limit(100)
        .load(conn)?;
    details(conn, rows)
}

/// One transfer of an account's member.
pub fn find_for_account(
    conn: &mut PgConnection,
    id: TransferId,
    account: AccountId,
) -> Result<Option<TransferDetail>, StoreError> {
    let row = transfers::table
        .inner_join(members_table::table)
        .filter(transfers::id.eq(id.as_uuid()))
        .filter(members_table::account_id.eq(account.as_uuid()))
        .select(TransferRow::as_select())
        .first(conn)
        .optional()?;
    Ok(details(conn, row.into_iter().collect())?.pop())
}

/// One transfer, if the admin's subtree holds either side.
pub fn find_for_admin(
    conn: &mut PgConnection,
    id: TransferId,
    scope: &UnionPath,
) -> Result<Option<TransferDetail>, StoreError> {
    let Some(row) = load_row(conn, id)? else {
        return Ok(None);
    };
    let Some(detail) = details(conn, vec![row])?.pop() else {
        return Ok(None);
    };
    let sides = sides(&detail.from, &detail.to, scope)?;
    Ok((sides.source || sides.target).then_some(detail))
}

/// Which transfers an admin lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Leaving unions of the subtree (to release or refuse).
    Out,
    /// Arriving at unions of the subtree (to accept or refuse).
    In,
}

/// The admin's list: filters and the keyset position after which to continue.
#[derive(Debug, Clone)]
pub struct ListFilter {
    /// Out of or into the subtree.
    pub direction: Direction,
    /// Only this status (default: every status).
    pub status: Option<TransferStatus>,
    /// Continue after this `(requested_at, id)`.
    pub after: Option<(DateTime<Utc>, uuid::Uuid)>,
    /// Page size.
    pub limit: i64,
}

/// Transfers out of or into the subtree under `scope`, oldest request first (the source's
/// deadline runs from the request), keyset-paginated.
pub fn list_for_admin(
    conn: &mut PgConnection,
    scope: &UnionPath,
    filter: &ListFilter,
) -> Result<Vec<TransferDetail>, StoreError> {
    let subtree = unions::table
        .filter(unions::path.like(format!("{scope}%")))
        .select(unions::id);
    let mut query = transfers::table
        .select(TransferRow::as_select())
        .into_boxed();
    query = match filter.direction {
        Direction::Out => query.filter(transfers::from_union_id.eq_any(subtree)),
        Direction::In => query.filter(transfers::to_union_id.eq_any(subtree)),
    };
    if let Some(status) = filter.status {
        query = query.filter(transfers::status.eq(status.as_str()));
    }
    if let Some((at, id)) = filter.after {
        query = query.filter(
            transfers::requested_at
                .gt(at)
                .or(transfers::requested_at.eq(at).and(transfers::id.gt(id))),
        );
    }
    let rows = query
        .order((transfers::requested_at.asc(), transfers::id.asc()))
        .limit(filter.limit)
        .load(conn)?;
    details(conn, rows)
}

/// The open transfer of a member, if any.
pub fn open_for_member(
    conn: &mut PgConnection,
    member: uuid::Uuid,
) -> Result<Option<TransferRow>, StoreError> {
    Ok(transfers::table
        .filter(transfers::member_id.eq(member))
        .filter(transfers::status.eq_any(OPEN_TRANSFER))
        .select(TransferRow::as_select())
        .first(conn)
        .optional()?)
}
