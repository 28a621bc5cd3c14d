//! The source union lets the member go: `requested → released`.

use chrono::{DateTime, Utc};
use diesel::pg::PgConnection;
use zhijian_domain::ids::TransferId;
use zhijian_domain::transfer::{Transfer, TransferTransition};

use super::decide::{DecideTransferError, UnionStep, decide};
use crate::store::applications::AdminActor;
use crate::store::member_lifecycle::MemberActor;
use crate::store::members::MemberRow;
use crate::store::transfers::{Sides, Step, TransferDetail, TransferRow};
use crate::usecases::Services;

struct Release;

impl UnionStep for Release {
    fn transition(
        &self,
        state: &Transfer,
        sides: Sides,
    ) -> Result<TransferTransition, DecideTransferError> {
        if !sides.source {
            return Err(DecideTransferError::NotSourceUnion);
        }
        state.release().map_err(DecideTransferError::Release)
    }

    fn step(&self, admin: &AdminActor) -> Step<'_> {
        Step::Released {
            by: Some(admin.admin_id),
        }
    }

    fn on_member(
        &self,
        _: &mut PgConnection,
        _: &TransferRow,
        _: &MemberRow,
        _: TransferTransition,
        _: &MemberActor,
        _: DateTime<Utc>,
    ) -> Result<(), DecideTransferError> {
        Ok(())
    }

    fn reason(&self) -> Option<String> {
        None
    }
}

/// The source union releases transfer `id`, seen at `version`.
pub async fn release(
    ctx: &Services,
    admin: AdminActor,
    id: TransferId,
    version: i32,
) -> Result<TransferDetail, DecideTransferError> {
    decide(ctx, admin, id, version, Release).await
}
