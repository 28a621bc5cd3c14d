//! The membership lifecycle (会籍管理): an admin retains, reactivates, expels a member or
//! records a death; the member withdraws (退会). Each change is decided by
//! [`MemberStatus`], applied with one conditional update on status and version, and written in
//! one transaction with its history event, audit row and outbox event, so a lost race changes
//! nothing and answers [`LifecycleError::Stale`].

use chrono::{DateTime, Utc};
use diesel::Connection;
use diesel::pg::PgConnection;
use zhijian_domain::ids::{AccountId, MemberId};
use zhijian_domain::member::{
    DeceaseError, ExpelError, MemberStatus, MemberTransition, ReactivateError, RetainError,
    RetainReason, WithdrawMembershipError,
};
use zhijian_domain::reason::Reason;

use super::store_errors;
use crate::db::{self, StoreError};
use crate::store::applications::AdminActor;
use crate::store::member_lifecycle::{
    self, Closed, MemberActor, MemberRecord, Reach, Why, apply_status, move_affiliation,
    record_event,
};
use crate::store::members::{self, MemberRow};
use crate::usecases::Services;

/// Why an admin's change of a membership was refused.
#[derive(Debug, thiserror::Error)]
pub enum LifecycleError {
    /// No such member, or outside the admin's reach.
    #[error("not found")]
    NotFound,
    /// The admin sees the member through its history, but the member is now in another union,
    /// whose admins decide.
    #[error("not the member's current union")]
    NotCurrentUnion,
    /// The member changed since the admin read it.
    #[error("stale version")]
    Stale,
    /// Retaining is not allowed in this status.
    #[error(transparent)]
    Retain(RetainError),
    /// Reactivating is not allowed in this status.
    #[error(transparent)]
    Reactivate(ReactivateError),
    /// Expelling is not allowed in this status.
    #[error(transparent)]
    Expel(ExpelError),
    /// Recording a death is not allowed in this status.
    #[error(transparent)]
    Decease(DeceaseError),
    /// The storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why the member could not withdraw.
#[derive(Debug, thiserror::Error)]
pub enum WithdrawError {
    /// The worker holds no membership.
    #[error("not a member")]
    NotAMember,
    /// Withdrawing is not allowed in this status.
    #[error(transparent)]
    Rejected(WithdrawMembershipError),
    /// The member changed meanwhile.
    #[error("stale version")]
    Stale,
    /// The storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

store_errors!(LifecycleError, WithdrawError);

/// What an admin decides about a membership.
#[derive(Debug, Clone)]
enum Decision {
    Retain(RetainReason, Option<Reason>),
    Reactivate,
    Expel(Reason),
    Decease(Option<Reason>),
}

impl Decision {
    fn action(&self) -> &'static str {
        match self {
            Self::Retain(..) => "retain",
            Self::Reactivate => "reactivate",
            Self::Expel(_) => "expel",
            Self::Decease(_) => "decease",
        }
    }

    fn why(&self) -> Why {
        let text = |r: &Reason| r.as_str().to_owned();
        match self {
            Self::Retain(code, note) => Why {
                code: Some(code.as_str()),
                text: note.as_ref().map(text),
            },
            Self::Reactivate => Why::default(),
            Self::Expel(reason) => Why {
                code: None,
                text: Some(text(reason)),
            },
            Self::Decease(note) => Why {
                code: None,
                text: note.as_ref().map(text),
            },
        }
    }

    fn transition(&self, status: MemberStatus) -> Result<MemberTransition, LifecycleError> {
        match self {
            Self::Retain(reason, _) => status.retain(*reason).map_err(LifecycleError::Retain),
            Self::Reactivate => status.reactivate().map_err(LifecycleError::Reactivate),
            Self::Expel(reason) => status.expel(reason).map_err(LifecycleError::Expel),
            Self::Decease(_) => status.decease().map_err(LifecycleError::Decease),
        }
    }
}

/// 保留会籍: an active member is unemployed, retired, or their employer closed.
pub async fn retain(
    ctx: &Services,
    admin: AdminActor,
    id: MemberId,
    version: i32,
    reason: RetainReason,
    note: Option<Reason>,
) -> Result<MemberRecord, LifecycleError> {
    decide(ctx, admin, id, version, Decision::Retain(reason, note)).await
}

/// A retained member is back at work: `retained → active`.
pub async fn reactivate(
    ctx: &Services,
    admin: AdminActor,
    id: MemberId,
    version: i32,
) -> Result<MemberRecord, LifecycleError> {
    decide(ctx, admin, id, version, Decision::Reactivate).await
}

/// 除名, with a reason; an open transfer is closed as cancelled.
pub async fn expel(
    ctx: &Services,
    admin: AdminActor,
    id: MemberId,
    version: i32,
    reason: Reason,
) -> Result<MemberRecord, LifecycleError> {
    decide(ctx, admin, id, version, Decision::Expel(reason)).await
}

/// Records the member's death, with an optional note; an open transfer is closed as
/// cancelled.
pub async fn decease(
    ctx: &Services,
    admin: AdminActor,
    id: MemberId,
    version: i32,
    note: Option<Reason>,
) -> Result<MemberRecord, LifecycleError> {
    decide(ctx, admin, id, version, Decision::Decease(note)).await
}

/// Only admins whose subtree holds the member's current union act (a past union's admins see
/// the member but get [`LifecycleError::NotCurrentUnion`]). Expelling or recording the death
/// of a member mid-transfer also closes the open transfer.
async fn decide(
    ctx: &Services,
    admin: AdminActor,
    id: MemberId,
    version: i32,
    decision: Decision,
) -> Result<MemberRecord, LifecycleError> {
    let now = ctx.now();
    db::run(&ctx.pool, move |conn| {
        conn.transaction(|conn| {
            let open_transfer = member_lifecycle::lock_open_transfer(conn, id)?;
            let (member, union) =
                members::find(conn, id.as_uuid())?.ok_or(LifecycleError::NotFound)?;
            match member_lifecycle::reach(conn, &member, &union, &admin.union_path)? {
                Reach::Current => {}
                Reach::History => return Err(LifecycleError::NotCurrentUnion),
                Reach::None => return Err(LifecycleError::NotFound),
            }
            if member.version != version {
                return Err(LifecycleError::Stale);
            }
            let transition = decision.transition(member.status)?;
            let why = decision.why();
            let actor = MemberActor::Admin(admin.clone());
            let updated =
                apply_status(conn, &member, transition, None, now)?.ok_or(LifecycleError::Stale)?;
            let closed_transfer = match open_transfer {
                Some((transfer, version)) if transition.from == MemberStatus::Transferring => {
                    let closed = member_lifecycle::close_transfer_for_ended_membership(
                        conn,
                        transfer,
                        version,
                        &actor,
                        transition.event,
                        now,
                    )?;
                    if closed == Closed::Stale {
                        return Err(LifecycleError::Stale);
                    }
                    Some(transfer)
                }
                _ => None,
            };
            if !transition.to.is_current() {
                move_affiliation(conn, &updated, transition.event.as_str(), None, now)?;
            }
            let change = Change {
                transition,
                transfer: closed_transfer,
                actor: &actor,
                why: &why,
                action: decision.action(),
            };
            change.record(conn, &updated, now)?;
            member_lifecycle::record(conn, updated.id)?.ok_or(LifecycleError::NotFound)
        })
    })
    .await
}

/// A change of a membership, as its history event, audit row and outbox event record it.
struct Change<'a> {
    transition: MemberTransition,
    transfer: Option<uuid::Uuid>,
    actor: &'a MemberActor,
    why: &'a Why,
    action: &'static str,
}

impl Change<'_> {
    /// Inside the transaction: writes the history event, audit row and outbox event of the
    /// change of `member` (the row after it).
    fn record(
        &self,
        conn: &mut PgConnection,
        member: &MemberRow,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let Self {
            transition,
            transfer,
            actor,
            why,
            action,
        } = *self;
        record_event(conn, member, transition, transfer, actor, why, now)?;
        count_change(conn, member, transition, now)?;
        member_lifecycle::write_audit_and_outbox(conn, member, transition, action, actor, why, now)
    }
}

/// The coverage counters of a membership change at the member's union and its ancestors: the
/// event's counter and the active-member gauge (`zhijian_domain::stats`).
fn count_change(
    conn: &mut PgConnection,
    member: &MemberRow,
    transition: MemberTransition,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    use crate::store::counters;
    let group = counters::member_group(conn, member.id)?;
    let day = zhijian_domain::calendar::local_date(now);
    let deltas = zhijian_domain::stats::member_deltas(transition.event);
    counters::count(conn, member.union_id, &group, day, &deltas)?;
    let active = zhijian_domain::stats::active_delta(transition.from, transition.to);
    counters::shift_active(conn, member.union_id, None, &group, active)
}

/// The member leaves the union (退会), having confirmed it: `active | retained → withdrawn`.
/// The affiliation period ends; the row, number and history stay, so a later application
/// starts a new membership beside the old one.
pub async fn withdraw(
    ctx: &Services,
    account: AccountId,
    reason: Option<Reason>,
) -> Result<MemberRecord, WithdrawError> {
    let now = ctx.now();
    db::run(&ctx.pool, move |conn| {
        conn.transaction(|conn| {
            let (member, _) =
                members::find_for_account(conn, account)?.ok_or(WithdrawError::NotAMember)?;
            let transition = member.status.withdraw().map_err(WithdrawError::Rejected)?;
            let why = Why {
                code: None,
                text: reason.as_ref().map(|r| r.as_str().to_owned()),
            };
            let actor = MemberActor::Member(account);
            let updated =
                apply_status(conn, &member, transition, None, now)?.ok_or(WithdrawError::Stale)?;
            move_affiliation(conn, &updated, transition.event.as_str(), None, now)?;
            let change = Change {
                transition,
                transfer: None,
                actor: &actor,
                why: &why,
                action: "withdraw",
            };
            change.record(conn, &updated, now)?;
            member_lifecycle::record(conn, updated.id)?
                .ok_or(WithdrawError::Store(StoreError::NotFound))
        })
    })
    .await
}
