//! The member asks to move: to a union they name, or to wherever the new job's facts route.
//! One transaction with the idempotency claim, the member's move to `transferring`, the
//! transfer, its history, audit and outbox. When routing finds no union for the new job, the
//! transfer completes into the county pool at once (membership kept).

use chrono::{DateTime, Utc};
use diesel::Connection;
use diesel::pg::PgConnection;
use zhijian_domain::ids::{AccountId, MemberId, TransferId, UnionId};
use zhijian_domain::member::{FinishTransferError, StartTransferError};
use zhijian_domain::reason::Reason;
use zhijian_domain::routing::{RoutingDecision, RoutingError, RoutingFacts};
use zhijian_domain::target::{Receiving, TargetError, check_target};
use zhijian_domain::transfer::{CompleteIntoPoolError, RequestTransferError, Transfer};

use super::{MemberSide, detail, finish_on_member, store_errors};
use crate::db::{self, StoreError};
use crate::store::applications::{RegionProblem, SubmitFacts};
use crate::store::idempotency::{self, Answer, IdempotencyKey};
use crate::store::member_lifecycle::{MemberActor, Why, apply_status, record_event};
use crate::store::members::{self, MemberRow};
use crate::store::reference_cache::ReferenceCache;
use crate::store::transfers::{self, Inserted, Step, TransferDetail, TransferRow};
use crate::store::unions::UnionRow;
use crate::usecases::Services;

/// Where the member wants to go.
#[derive(Debug, Clone)]
pub enum TransferTarget {
    /// A union the member chose.
    Union(UnionId),
    /// The facts of the new job; routing chooses the union (a pool when none covers it).
    Facts(SubmitFacts),
}

impl TransferTarget {
    /// How the target was given.
    pub fn via(&self) -> Via {
        match self {
            Self::Union(_) => Via::Union,
            Self::Facts(_) => Via::Facts,
        }
    }
}

/// How the member gave the target: the part of the request a refusal of the target is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// A union they named.
    Union,
    /// The facts of the new job.
    Facts,
}

/// Why a transfer could not be requested.
#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    /// The idempotency key was used before with another request.
    #[error("idempotency key reused")]
    KeyReused,
    /// The worker holds no membership.
    #[error("not a member")]
    NotAMember,
    /// The named union may not receive the member.
    #[error(transparent)]
    Target(TargetError),
    /// The new work region is unknown or too coarse.
    #[error("work region refused: {0:?}")]
    Region(RegionProblem),
    /// Routing found no union, not even a pool.
    #[error(transparent)]
    Routing(RoutingError),
    /// The target is the member's own union (named, or where the facts route).
    #[error("{error}")]
    SameUnion {
        /// The domain's refusal.
        error: RequestTransferError,
        /// How the target was given.
        via: Via,
    },
    /// The membership cannot start a transfer (one is open, or it is not active).
    #[error(transparent)]
    Start(StartTransferError),
    /// The transfer could not complete into the pool.
    #[error(transparent)]
    CompleteIntoPool(CompleteIntoPoolError),
    /// The membership could not finish the transfer into the pool.
    #[error(transparent)]
    Finish(FinishTransferError),
    /// The member changed meanwhile.
    #[error("stale version")]
    Stale,
    /// The storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

store_errors!(RequestError);

impl From<MemberSide> for RequestError {
    fn from(error: MemberSide) -> Self {
        match error {
            MemberSide::Finish(e) => Self::Finish(e),
            MemberSide::Stale => Self::Stale,
            MemberSide::Store(e) => Self::Store(e),
            MemberSide::Abort(e) => Self::Store(StoreError::broken(e.to_string())),
        }
    }
}

/// The member of `account` asks to move to `target`. `render` builds the answer — the one a
/// retry with the same `key` gets back — from the transfer as requested (already completed
/// when it went into a pool).
pub async fn request(
    ctx: &Services,
    account: AccountId,
    target: TransferTarget,
    reason: Option<Reason>,
    key: Option<IdempotencyKey>,
    render: impl FnOnce(&TransferDetail) -> Result<Answer, String> + Send + 'static,
) -> Result<Answer, RequestError> {
    let now = ctx.now();
    let reference = ctx.reference.clone();
    db::run(&ctx.pool, move |conn| {
        conn.transaction(|conn| {
            if let Some(key) = &key {
                match idempotency::claim(conn, key)? {
                    Err(_) => return Err(RequestError::KeyReused),
                    Ok(Some(replay)) => return Ok(replay),
                    Ok(None) => {}
                }
            }
            let row = open(conn, &reference, account, &target, reason.as_ref(), now)?;
            let detail = detail(conn, &reference, row)?;
            let answer = render(&detail).map_err(StoreError::broken)?;
            if let Some(key) = &key {
                idempotency::store_response(conn, key, answer.0, &answer.1)?;
            }
            Ok(answer)
        })
    })
    .await
}

/// Inside the transaction: the member's row is locked first, so racing requests of one member
/// queue and the losers find it `transferring` (one open transfer per member).
fn open(
    conn: &mut PgConnection,
    reference: &ReferenceCache,
    account: AccountId,
    target: &TransferTarget,
    reason: Option<&Reason>,
    now: DateTime<Utc>,
) -> Result<TransferRow, RequestError> {
    let (member, _) = members::find_for_account(conn, account)?.ok_or(RequestError::NotAMember)?;
    let member = members::lock(conn, member.id)?;
    let (to, decision) = resolve_target(conn, reference, target)?;
    let id = TransferId::from_uuid(uuid::Uuid::now_v7());
    let transfer = Transfer::request(
        id,
        MemberId::from_uuid(member.id),
        UnionId::new(member.union_id),
        to.union_id(),
        now,
    )
    .map_err(|error| RequestError::SameUnion {
        error,
        via: target.via(),
    })?;
    let started = member
        .status
        .start_transfer()
        .map_err(RequestError::Start)?;
    let member = apply_status(conn, &member, started, None, now)?.ok_or(RequestError::Stale)?;
    let facts = match target {
        TransferTarget::Facts(facts) => Some(facts),
        TransferTarget::Union(_) => None,
    };
    let row = TransferRow {
        id: id.as_uuid(),
        member_id: member.id,
        from_union_id: member.union_id,
        to_union_id: to.id,
        status: transfer.status,
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
    if transfers::insert(conn, &row)? == Inserted::OneAlreadyOpen {
        return Err(RequestError::Start(StartTransferError::AlreadyTransferring));
    }
    let actor = MemberActor::Member(account);
    let why = Why {
        code: None,
        text: row.reason.clone(),
    };
    record_event(conn, &member, started, Some(row.id), &actor, &why, now)?;
    let event = zhijian_domain::transfer::TransferEvent::Requested;
    transfers::write_audit_and_outbox(conn, &row, event, &actor, row.reason.clone(), now)?;
    if decision.as_ref().is_some_and(RoutingDecision::is_pooled) {
        complete_into_pool(conn, &transfer, &row, &member, now)
    } else {
        Ok(row)
    }
}

/// The target union: a named one must be able to receive a transfer
/// ([`check_target`]); facts are routed over the union tree like an application.
fn resolve_target(
    conn: &mut PgConnection,
    reference: &ReferenceCache,
    target: &TransferTarget,
) -> Result<(UnionRow, Option<RoutingDecision>), RequestError> {
    match target {
        TransferTarget::Union(id) => {
            let union = crate::store::unions::find(conn, *id)?;
            let candidate = union.as_ref().map(UnionRow::candidate).transpose()?;
            check_target(candidate.as_ref(), Receiving::Transfer).map_err(RequestError::Target)?;
            let union = union.ok_or(RequestError::Target(TargetError::Unknown))?;
            Ok((union, None))
        }
        TransferTarget::Facts(facts) => {
            crate::store::applications::check_work_region(conn, reference, &facts.work_region)?
                .map_err(RequestError::Region)?;
            let routing = RoutingFacts {
                work_region: facts.work_region.clone(),
                occupation: facts.occupation,
                employer_credit_code: facts.employer.clone(),
            };
            let (decision, union) =
                crate::store::unions::route(conn, &routing)?.map_err(RequestError::Routing)?;
            Ok((union, Some(decision)))
        }
    }
}

/// No union covers the new job: the pool has no one to accept, so the transfer completes at
/// once and the membership moves into the county pool.
fn complete_into_pool(
    conn: &mut PgConnection,
    transfer: &Transfer,
    row: &TransferRow,
    member: &MemberRow,
    now: DateTime<Utc>,
) -> Result<TransferRow, RequestError> {
    let transition = transfer
        .complete_into_pool()
        .map_err(RequestError::CompleteIntoPool)?;
    let updated = transfers::apply(conn, row, transition, Step::CompletedIntoPool, now)?
        .ok_or(RequestError::Stale)?;
    finish_on_member(conn, &updated, member, &MemberActor::System, now)?;
    transfers::write_audit_and_outbox(
        conn,
        &updated,
        transition.event,
        &MemberActor::System,
        None,
        now,
    )?;
    Ok(updated)
}
