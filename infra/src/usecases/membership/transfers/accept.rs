//! The target union takes the member in: `released → completed`; the affiliation moves.

use chrono::{DateTime, Utc};
use diesel::pg::PgConnection;
use zhijian_domain::ids::TransferId;
use zhijian_domain::transfer::{Transfer, TransferTransition};

use super::decide::{DecideTransferError, UnionStep, decide};
use super::finish_on_member;
use crate::store::applications::AdminActor;
use crate::store::member_lifecycle::MemberActor;
use crate::store::members::MemberRow;
use crate::store::transfers::{Sides, Step, TransferDetail, TransferRow};
use crate::usecases::Services;

struct Accept;

impl UnionStep for Accept {
    fn transition(
        &self,
        state: &Transfer,
        sides: Sides,
    ) -> Result<TransferTransition, DecideTransferError> {
        if !sides.target {
            return Err(DecideTransferError::NotTargetUnion);
        }
        state.accept().map_err(DecideTransferError::Accept)
    }

    fn step(&self, admin: &AdminActor) -> Step<'_> {
        Step::Accepted { by: admin.admin_id }
    }

    fn on_member(
        &self,
        conn: &mut PgConnection,
        updated: &TransferRow,
        member: &MemberRow,
        _: TransferTransition,
        actor: &MemberActor,
        now: DateTime<Utc>,
    ) -> Result<(), DecideTransferError> {
        finish_on_member(conn, updated, member, actor, now)?;
        Ok(())
    }

    fn reason(&self) -> Option<String> {
        None
    }
}

/// The target union accepts transfer `id`, seen at `version` (only once released).
pub async fn accept(
    ctx: &Services,
    admin: AdminActor,
    id: TransferId,
    version: i32,
) -> Result<TransferDetail, DecideTransferError> {
    decide(ctx, admin, id, version, Accept).await
}
