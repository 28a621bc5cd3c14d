//! What the unions' three steps share: the transfer is loaded with both unions, the admin must
//! hold the side whose step it is, the version must be the one they saw, and the step is
//! written with its member side, audit row and outbox event in one transaction.

use chrono::{DateTime, Utc};
use diesel::Connection;
use diesel::pg::PgConnection;
use zhijian_domain::ids::TransferId;
use zhijian_domain::member::{AbortTransferError, FinishTransferError};
use zhijian_domain::transfer::{
    AcceptTransferError, RejectBySourceError, RejectByTargetError, ReleaseError, Transfer,
    TransferTransition,
};

use super::{MemberSide, detail, store_errors};
use crate::db::{self, StoreError};
use crate::store::applications::AdminActor;
use crate::store::member_lifecycle::MemberActor;
use crate::store::members::MemberRow;
use crate::store::transfers::{self, Sides, Step, TransferDetail, TransferRow};
use crate::usecases::Services;

/// Why a union's step on a transfer (release, accept, reject) was refused.
#[derive(Debug, thiserror::Error)]
pub enum DecideTransferError {
    /// No such transfer, or neither side is in the admin's subtree.
    #[error("not found")]
    NotFound,
    /// Releasing belongs to the source union.
    #[error("not the source union")]
    NotSourceUnion,
    /// Accepting belongs to the target union.
    #[error("not the target union")]
    NotTargetUnion,
    /// The transfer or the member changed since the admin read it.
    #[error("stale version")]
    Stale,
    /// Not releasable in this status.
    #[error(transparent)]
    Release(ReleaseError),
    /// Not acceptable in this status.
    #[error(transparent)]
    Accept(AcceptTransferError),
    /// The source cannot refuse in this status.
    #[error(transparent)]
    RejectBySource(RejectBySourceError),
    /// The target cannot refuse in this status.
    #[error(transparent)]
    RejectByTarget(RejectByTargetError),
    /// The membership cannot finish the transfer.
    #[error(transparent)]
    Finish(FinishTransferError),
    /// The membership cannot abort the transfer.
    #[error(transparent)]
    Abort(AbortTransferError),
    /// The storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

store_errors!(DecideTransferError);

impl From<MemberSide> for DecideTransferError {
    fn from(error: MemberSide) -> Self {
        match error {
            MemberSide::Finish(e) => Self::Finish(e),
            MemberSide::Abort(e) => Self::Abort(e),
            MemberSide::Stale => Self::Stale,
            MemberSide::Store(e) => Self::Store(e),
        }
    }
}

/// One union step: which transition the domain allows for this admin, what the row records,
/// and what happens to the member.
pub(super) trait UnionStep: Send + 'static {
    /// The transition, given the sides the admin holds.
    fn transition(
        &self,
        state: &Transfer,
        sides: Sides,
    ) -> Result<TransferTransition, DecideTransferError>;
    /// What the row records besides the status.
    fn step(&self, admin: &AdminActor) -> Step<'_>;
    /// The member's side, inside the transaction.
    fn on_member(
        &self,
        conn: &mut PgConnection,
        updated: &TransferRow,
        member: &MemberRow,
        transition: TransferTransition,
        actor: &MemberActor,
        now: DateTime<Utc>,
    ) -> Result<(), DecideTransferError>;
    /// The reason for the audit trail and outbox.
    fn reason(&self) -> Option<String>;
}

/// Runs `step` on transfer `id` for `admin` if the transfer is still at `version`. Someone
/// who sees neither side gets `NotFound`; the other side gets `NotSourceUnion` /
/// `NotTargetUnion`.
pub(super) async fn decide(
    ctx: &Services,
    admin: AdminActor,
    id: TransferId,
    version: i32,
    step: impl UnionStep,
) -> Result<TransferDetail, DecideTransferError> {
    let now = ctx.now();
    let reference = ctx.reference.clone();
    db::run(&ctx.pool, move |conn| {
        conn.transaction(|conn| {
            let row = transfers::load_row(conn, id)?.ok_or(DecideTransferError::NotFound)?;
            let from = transfers::load_union(conn, row.from_union_id)?;
            let to = transfers::load_union(conn, row.to_union_id)?;
            let sides = transfers::sides(&from, &to, &admin.union_path)?;
            if !sides.source && !sides.target {
                return Err(DecideTransferError::NotFound);
            }
            let transition = step.transition(&row.domain()?, sides)?;
            if row.version != version {
                return Err(DecideTransferError::Stale);
            }
            let updated = transfers::apply(conn, &row, transition, step.step(&admin), now)?
                .ok_or(DecideTransferError::Stale)?;
            let actor = MemberActor::Admin(admin.clone());
            let member = transfers::load_member(conn, row.member_id)?;
            step.on_member(conn, &updated, &member, transition, &actor, now)?;
            let reason = step.reason();
            transfers::write_audit_and_outbox(
                conn,
                &updated,
                transition.event,
                &actor,
                reason,
                now,
            )?;
            Ok(detail(conn, &reference, updated)?)
        })
    })
    .await
}
