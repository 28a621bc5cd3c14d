//! The member cancels an open transfer of theirs (requested or released) and stays where they
//! are.

use diesel::Connection;
use zhijian_domain::ids::{AccountId, TransferId};
use zhijian_domain::member::AbortTransferError;
use zhijian_domain::transfer::CancelTransferError;

use super::{MemberSide, abort_on_member, detail, store_errors};
use crate::db::{self, StoreError};
use crate::store::member_lifecycle::{MemberActor, Why};
use crate::store::transfers::{self, Step, TransferDetail};
use crate::usecases::Services;

/// Why the member could not cancel.
#[derive(Debug, thiserror::Error)]
pub enum CancelError {
    /// No such transfer of this member.
    #[error("not found")]
    NotFound,
    /// The transfer is already closed.
    #[error(transparent)]
    Cancel(CancelTransferError),
    /// The membership cannot abort the transfer.
    #[error(transparent)]
    Abort(AbortTransferError),
    /// Someone else changed the transfer first.
    #[error("stale version")]
    Stale,
    /// The storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

store_errors!(CancelError);

impl From<MemberSide> for CancelError {
    fn from(error: MemberSide) -> Self {
        match error {
            MemberSide::Abort(e) => Self::Abort(e),
            MemberSide::Stale => Self::Stale,
            MemberSide::Store(e) => Self::Store(e),
            MemberSide::Finish(e) => Self::Store(StoreError::broken(e.to_string())),
        }
    }
}

/// The member of `account` cancels transfer `id`.
pub async fn cancel(
    ctx: &Services,
    account: AccountId,
    id: TransferId,
) -> Result<TransferDetail, CancelError> {
    let now = ctx.now();
    let reference = ctx.reference.clone();
    db::run(&ctx.pool, move |conn| {
        conn.transaction(|conn| {
            let row = transfers::load_row(conn, id)?.ok_or(CancelError::NotFound)?;
            let member = transfers::load_member(conn, row.member_id)?;
            if member.account_id != Some(account.as_uuid()) {
                return Err(CancelError::NotFound);
            }
            let transition = row.domain()?.cancel().map_err(CancelError::Cancel)?;
            let updated = transfers::apply(conn, &row, transition, Step::Cancelled, now)?
                .ok_or(CancelError::Stale)?;
            let actor = MemberActor::Member(account);
            let why = Why {
                code: Some(transition.event.as_str()),
                text: None,
            };
            abort_on_member(conn, &updated, &member, &actor, &why, now)?;
            transfers::write_audit_and_outbox(conn, &updated, transition.event, &actor, None, now)?;
            Ok(detail(conn, &reference, updated)?)
        })
    })
    .await
}
