//! Either union refuses at its own step, with a reason shown to the member: the source while
//! the transfer is requested, the target once released. The member stays where they are.

use chrono::{DateTime, Utc};
use diesel::pg::PgConnection;
use zhijian_domain::ids::TransferId;
use zhijian_domain::reason::Reason;
use zhijian_domain::transfer::{Transfer, TransferTransition};

use super::abort_on_member;
use super::decide::{DecideTransferError, UnionStep, decide};
use crate::store::applications::AdminActor;
use crate::store::member_lifecycle::{MemberActor, Why};
use crate::store::members::MemberRow;
use crate::store::transfers::{Sides, Step, TransferDetail, TransferRow};
use crate::usecases::Services;

struct Reject(Reason);

impl UnionStep for Reject {
    fn transition(
        &self,
        state: &Transfer,
        sides: Sides,
    ) -> Result<TransferTransition, DecideTransferError> {
        if state.refuses_as_source(sides.source, sides.target) {
            state
                .reject_by_source(&self.0)
                .map_err(DecideTransferError::RejectBySource)
        } else {
            state
                .reject_by_target(&self.0)
                .map_err(DecideTransferError::RejectByTarget)
        }
    }

    fn step(&self, admin: &AdminActor) -> Step<'_> {
        Step::Rejected {
            by: admin.admin_id,
            reason: self.0.as_str(),
        }
    }

    fn on_member(
        &self,
        conn: &mut PgConnection,
        updated: &TransferRow,
        member: &MemberRow,
        transition: TransferTransition,
        actor: &MemberActor,
        now: DateTime<Utc>,
    ) -> Result<(), DecideTransferError> {
        let why = Why {
            code: Some(transition.event.as_str()),
            text: self.reason(),
        };
        abort_on_member(conn, updated, member, actor, &why, now)?;
        Ok(())
    }

    fn reason(&self) -> Option<String> {
        Some(self.0.as_str().to_owned())
    }
}

/// The admin refuses transfer `id`, seen at `version`, for the side whose step it is.
pub async fn reject(
    ctx: &Services,
    admin: AdminActor,
    id: TransferId,
    version: i32,
    reason: Reason,
) -> Result<TransferDetail, DecideTransferError> {
    decide(ctx, admin, id, version, Reject(reason)).await
}
