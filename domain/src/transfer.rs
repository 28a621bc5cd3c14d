//! Membership transfer (会籍转接: 一次入会、动态接转) between unions.
//!
//! ```text
//! requested ──source releases──► released ──target accepts──► completed (affiliation moves)
//!    │                              └──target rejects (reason)──► rejected
//!    ├──source silent for 3 working days──► released (auto; "流动不流失")
//!    ├──source rejects (reason)──► rejected
//!    └──member cancels (also from released)──► cancelled
//! target has no union ──► completed into the target county's pool (membership kept)
//! ```
//!
//! The member stays active in the source union until completion, so there is never a gap.
//! Statuses never repeat along a transfer's life, so a conditional update on the `from` status
//! is a sufficient lock. Completion, rejection and cancellation also move the member back from
//! `transferring` ([`crate::member::MemberStatus::finish_transfer`] / `abort_transfer`).

use crate::error_code::ErrorCode;
use chrono::{DateTime, Utc};

use crate::calendar::WorkingCalendar;
use crate::ids::{MemberId, TransferId, UnionId};
use crate::reason::Reason;
use crate::vocab::string_enum;

/// Working days the source union has to answer before the transfer is released without it.
pub const SOURCE_SILENCE_WORKING_DAYS: u32 = 3;

string_enum! {
    /// Where a transfer stands.
    pub enum TransferStatus {
        what = "转接状态",
        code = InvalidTransferStatus,
        /// 待转出: waiting for the source union.
        Requested = "requested" => "待转出",
        /// 待接收: released by the source, waiting for the target union.
        Released = "released" => "待接收",
        /// 已完成.
        Completed = "completed" => "已完成",
        /// 未通过.
        Rejected = "rejected" => "未通过",
        /// 已取消 by the member.
        Cancelled = "cancelled" => "已取消",
    }
}

impl TransferStatus {
    /// Whether the transfer is in progress (a member has at most one open transfer).
    pub const fn is_open(self) -> bool {
        matches!(self, Self::Requested | Self::Released)
    }
}

string_enum! {
    /// What happened to a transfer: history entries and outbox event names.
    pub enum TransferEvent {
        what = "转接事件",
        code = InvalidTransferEvent,
        /// 申请转接.
        Requested = "requested" => "申请转接",
        /// 原工会同意转出.
        Released = "released" => "原工会同意转出",
        /// 原工会逾期未处理，自动转出.
        AutoReleased = "auto_released" => "逾期自动转出",
        /// 新工会接收.
        Accepted = "accepted" => "新工会接收",
        /// 转入临时库.
        CompletedIntoPool = "completed_into_pool" => "转入临时库",
        /// 原工会不同意转出.
        RejectedBySource = "rejected_by_source" => "原工会不同意转出",
        /// 新工会不予接收.
        RejectedByTarget = "rejected_by_target" => "新工会不予接收",
        /// 会员取消.
        Cancelled = "cancelled" => "会员取消",
    }
}

/// A transfer of one member from one union to another.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transfer {
    /// The transfer.
    pub id: TransferId,
    /// The member moving.
    pub member: MemberId,
    /// The union the member leaves.
    pub from_union: UnionId,
    /// The union the member joins (a county pool when no union covers the new job).
    pub to_union: UnionId,
    /// Current status.
    pub status: TransferStatus,
    /// When the member asked; the source's 3 working days count from here.
    pub requested_at: DateTime<Utc>,
}

/// A transfer status change, applied with `UPDATE … SET status = to WHERE status = from`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TransferTransition {
    /// Status before.
    pub from: TransferStatus,
    /// Status after.
    pub to: TransferStatus,
    /// What happened.
    pub event: TransferEvent,
}

/// When a transfer requested at `requested_at` is released if the source stays silent.
pub fn auto_release_at(requested_at: DateTime<Utc>, calendar: &WorkingCalendar) -> DateTime<Utc> {
    calendar.add_working_days(requested_at, SOURCE_SILENCE_WORKING_DAYS)
}

/// Why a transfer could not be requested.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestTransferError {
    /// The target is the member's own union.
    #[error("新工会与当前所在工会相同，无需转接")]
    SameUnion,
}

impl RequestTransferError {
    /// Stable machine code.
    pub fn code(&self) -> ErrorCode {
        ErrorCode::TransferSameUnion
    }
}

/// Why the source could not release a transfer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReleaseError {
    /// Only a requested transfer is released.
    #[error("该转接当前为“{}”状态，无法转出", .status.label_zh())]
    NotRequested {
        /// The current status.
        status: TransferStatus,
    },
}

impl ReleaseError {
    /// Stable machine code.
    pub fn code(&self) -> ErrorCode {
        ErrorCode::TransferNotRequested
    }
}

/// Why a transfer could not be released automatically.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AutoReleaseError {
    /// Only a requested transfer is released.
    #[error("该转接当前为“{}”状态，无法转出", .status.label_zh())]
    NotRequested {
        /// The current status.
        status: TransferStatus,
    },
    /// The source union's 3 working days are not over.
    #[error("原工会办理期限未满")]
    TooEarly {
        /// When the transfer may be released automatically.
        release_at: DateTime<Utc>,
    },
}

impl AutoReleaseError {
    /// Stable machine code.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::NotRequested { .. } => ErrorCode::TransferNotRequested,
            Self::TooEarly { .. } => ErrorCode::TransferAutoReleaseTooEarly,
        }
    }
}

/// Why the target could not accept a transfer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AcceptTransferError {
    /// Not released (yet, or any more). From `requested` the API answers 409.
    #[error("该转接当前为“{}”状态，暂不能接收", .status.label_zh())]
    NotReleased {
        /// The current status.
        status: TransferStatus,
    },
}

impl AcceptTransferError {
    /// Stable machine code.
    pub fn code(&self) -> ErrorCode {
        ErrorCode::TransferNotReleased
    }
}

/// Why a transfer could not be completed into a pool.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CompleteIntoPoolError {
    /// The transfer is already closed.
    #[error("该转接已办结（{}）", .status.label_zh())]
    NotOpen {
        /// The current status.
        status: TransferStatus,
    },
}

impl CompleteIntoPoolError {
    /// Stable machine code.
    pub fn code(&self) -> ErrorCode {
        ErrorCode::TransferNotOpen
    }
}

/// Why the source could not reject a transfer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RejectBySourceError {
    /// Only a requested transfer can be refused by the source.
    #[error("该转接当前为“{}”状态，无法拒绝转出", .status.label_zh())]
    NotRequested {
        /// The current status.
        status: TransferStatus,
    },
}

impl RejectBySourceError {
    /// Stable machine code.
    pub fn code(&self) -> ErrorCode {
        ErrorCode::TransferNotRequested
    }
}

/// Why the target could not reject a transfer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RejectByTargetError {
    /// Only a released transfer can be refused by the target.
    #[error("该转接当前为“{}”状态，无法拒绝接收", .status.label_zh())]
    NotReleased {
        /// The current status.
        status: TransferStatus,
    },
}

impl RejectByTargetError {
    /// Stable machine code.
    pub fn code(&self) -> ErrorCode {
        ErrorCode::TransferNotReleased
    }
}

/// Why a member could not cancel a transfer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CancelTransferError {
    /// The transfer is already closed.
    #[error("该转接已办结（{}），无法取消", .status.label_zh())]
    NotOpen {
        /// The current status.
        status: TransferStatus,
    },
}

impl CancelTransferError {
    /// Stable machine code.
    pub fn code(&self) -> ErrorCode {
        ErrorCode::TransferNotOpen
    }
}

impl Transfer {
    /// A new transfer in `requested`; refused when the target is the member's own union. The
    /// caller also moves the member to `transferring`
    /// ([`crate::member::MemberStatus::start_transfer`]).
    pub fn request(
        id: TransferId,
        member: MemberId,
        from_union: UnionId,
        to_union: UnionId,
        requested_at: DateTime<Utc>,
    ) -> Result<Self, RequestTransferError> {
        if from_union == to_union {
            return Err(RequestTransferError::SameUnion);
        }
        Ok(Self {
            id,
            member,
            from_union,
            to_union,
            status: TransferStatus::Requested,
            requested_at,
        })
    }

    fn to(&self, to: TransferStatus, event: TransferEvent) -> TransferTransition {
        TransferTransition {
            from: self.status,
            to,
            event,
        }
    }

    /// The source union lets the member go: `requested → released`.
    pub fn release(&self) -> Result<TransferTransition, ReleaseError> {
        match self.status {
            TransferStatus::Requested => {
                Ok(self.to(TransferStatus::Released, TransferEvent::Released))
            }
            status => Err(ReleaseError::NotRequested { status }),
        }
    }

    /// When the source stays silent past [`SOURCE_SILENCE_WORKING_DAYS`] working days:
    /// `requested → released` without it.
    pub fn auto_release(
        &self,
        now: DateTime<Utc>,
        calendar: &WorkingCalendar,
    ) -> Result<TransferTransition, AutoReleaseError> {
        if self.status != TransferStatus::Requested {
            return Err(AutoReleaseError::NotRequested {
                status: self.status,
            });
        }
        let release_at = self.auto_release_at(calendar);
        if now < release_at {
            return Err(AutoReleaseError::TooEarly { release_at });
        }
        Ok(self.to(TransferStatus::Released, TransferEvent::AutoReleased))
    }

    /// When this transfer is released if the source stays silent.
    pub fn auto_release_at(&self, calendar: &WorkingCalendar) -> DateTime<Utc> {
        auto_release_at(self.requested_at, calendar)
    }

    /// The target union takes the member in: `released → completed`. The caller moves the
    /// affiliation and finishes the member's transfer in the same transaction.
    pub fn accept(&self) -> Result<TransferTransition, AcceptTransferError> {
        match self.status {
            TransferStatus::Released => {
                Ok(self.to(TransferStatus::Completed, TransferEvent::Accepted))
            }
            status => Err(AcceptTransferError::NotReleased { status }),
        }
    }

    /// No union covers the new job: the membership moves into the target county's pool at once
    /// (`requested | released → completed`), since a pool has no one to accept it.
    pub fn complete_into_pool(&self) -> Result<TransferTransition, CompleteIntoPoolError> {
        if !self.status.is_open() {
            return Err(CompleteIntoPoolError::NotOpen {
                status: self.status,
            });
        }
        Ok(self.to(TransferStatus::Completed, TransferEvent::CompletedIntoPool))
    }

    /// Whether an admin who refuses this transfer refuses for the source union, given which
    /// sides their subtree holds: the source refuses while the transfer waits for its release,
    /// the target once released. An admin above both acts for the side whose step it is.
    pub fn refuses_as_source(&self, holds_source: bool, holds_target: bool) -> bool {
        holds_source && (self.status == TransferStatus::Requested || !holds_target)
    }

    /// The source union refuses, with a reason: `requested → rejected`.
    pub fn reject_by_source(
        &self,
        reason: &Reason,
    ) -> Result<TransferTransition, RejectBySourceError> {
        let _ = reason; // Validated by its type; recorded by the caller.
        match self.status {
            TransferStatus::Requested => {
                Ok(self.to(TransferStatus::Rejected, TransferEvent::RejectedBySource))
            }
            status => Err(RejectBySourceError::NotRequested { status }),
        }
    }

    /// The target union refuses, with a reason: `released → rejected`. The member stays in the
    /// source union.
    pub fn reject_by_target(
        &self,
        reason: &Reason,
    ) -> Result<TransferTransition, RejectByTargetError> {
        let _ = reason; // Validated by its type; recorded by the caller.
        match self.status {
            TransferStatus::Released => {
                Ok(self.to(TransferStatus::Rejected, TransferEvent::RejectedByTarget))
            }
            status => Err(RejectByTargetError::NotReleased { status }),
        }
    }

    /// The member changes their mind: `requested | released → cancelled`.
    pub fn cancel(&self) -> Result<TransferTransition, CancelTransferError> {
        if !self.status.is_open() {
            return Err(CancelTransferError::NotOpen {
                status: self.status,
            });
        }
        Ok(self.to(TransferStatus::Cancelled, TransferEvent::Cancelled))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::tests::{beijing, cn_2026};
    use TransferStatus::*;

    const SOURCE: UnionId = UnionId::new(10);
    const TARGET: UnionId = UnionId::new(20);

    #[test]
    fn an_admin_of_both_sides_refuses_for_the_side_whose_step_it_is() {
        let requested = transfer(TransferStatus::Requested);
        let released = transfer(TransferStatus::Released);
        assert!(requested.refuses_as_source(true, true));
        assert!(!released.refuses_as_source(true, true));
        assert!(released.refuses_as_source(true, false));
        assert!(!requested.refuses_as_source(false, true));
    }

    fn transfer(status: TransferStatus) -> Transfer {
        Transfer {
            status,
            ..Transfer::request(
                TransferId::from_uuid(uuid::Uuid::nil()),
                MemberId::from_uuid(uuid::Uuid::nil()),
                SOURCE,
                TARGET,
                beijing(2026, 9, 18, 15, 0),
            )
            .unwrap()
        }
    }

    fn reason() -> Reason {
        Reason::parse("会费未结清").unwrap()
    }

    #[test]
    fn a_transfer_to_the_members_own_union_is_refused() {
        let error = Transfer::request(
            TransferId::from_uuid(uuid::Uuid::nil()),
            MemberId::from_uuid(uuid::Uuid::nil()),
            SOURCE,
            SOURCE,
            beijing(2026, 9, 18, 15, 0),
        )
        .unwrap_err();
        assert_eq!(error, RequestTransferError::SameUnion);
        assert_eq!(error.code(), "transfer_same_union");
        assert_eq!(transfer(Requested).status, Requested);
    }

    #[test]
    fn the_source_releases_and_the_target_accepts() {
        let released = transfer(Requested).release().unwrap();
        assert_eq!(
            released,
            TransferTransition {
                from: Requested,
                to: Released,
                event: TransferEvent::Released
            }
        );
        let completed = transfer(Released).accept().unwrap();
        assert_eq!(
            (completed.to, completed.event),
            (Completed, TransferEvent::Accepted)
        );
        assert_eq!(
            transfer(Released).release(),
            Err(ReleaseError::NotRequested { status: Released })
        );
    }

    #[test]
    fn the_target_cannot_accept_before_the_source_has_released() {
        let error = transfer(Requested).accept().unwrap_err();
        assert_eq!(
            error,
            AcceptTransferError::NotReleased { status: Requested }
        );
        assert_eq!(error.code(), "transfer_not_released");
        assert_eq!(error.to_string(), "该转接当前为“待转出”状态，暂不能接收");
    }

    #[test]
    fn a_silent_source_is_bypassed_after_three_working_days() {
        // Requested Fri 18 Sep 15:00; Sun 20 Sep is a working day (调休), so the source's three
        // working days end on Tue 22 Sep 15:00.
        let calendar = cn_2026();
        let t = transfer(Requested);
        let release_at = beijing(2026, 9, 22, 15, 0);
        assert_eq!(t.auto_release_at(&calendar), release_at);
        assert_eq!(
            t.auto_release(beijing(2026, 9, 22, 14, 59), &calendar),
            Err(AutoReleaseError::TooEarly { release_at })
        );
        let transition = t.auto_release(release_at, &calendar).unwrap();
        assert_eq!(
            (transition.to, transition.event),
            (Released, TransferEvent::AutoReleased)
        );
        assert_eq!(
            transfer(Released).auto_release(release_at, &calendar),
            Err(AutoReleaseError::NotRequested { status: Released })
        );
    }

    #[test]
    fn the_national_day_holiday_does_not_count_towards_the_three_days() {
        let calendar = cn_2026();
        let t = Transfer {
            requested_at: beijing(2026, 9, 30, 10, 0),
            ..transfer(Requested)
        };
        // Wed 30 Sep → Thu 8, Fri 9, Sat 10 Oct (调休上班).
        assert_eq!(t.auto_release_at(&calendar), beijing(2026, 10, 10, 10, 0));
        assert!(
            t.auto_release(beijing(2026, 10, 7, 23, 0), &calendar)
                .is_err()
        );
    }

    #[test]
    fn either_union_may_refuse_at_its_own_step() {
        let by_source = transfer(Requested).reject_by_source(&reason()).unwrap();
        assert_eq!(
            (by_source.to, by_source.event),
            (Rejected, TransferEvent::RejectedBySource)
        );
        let by_target = transfer(Released).reject_by_target(&reason()).unwrap();
        assert_eq!(
            (by_target.to, by_target.event),
            (Rejected, TransferEvent::RejectedByTarget)
        );
        assert_eq!(
            transfer(Released).reject_by_source(&reason()),
            Err(RejectBySourceError::NotRequested { status: Released })
        );
        assert_eq!(
            transfer(Requested).reject_by_target(&reason()),
            Err(RejectByTargetError::NotReleased { status: Requested })
        );
    }

    #[test]
    fn the_member_may_cancel_only_while_the_transfer_is_open() {
        for status in TransferStatus::ALL.iter().copied() {
            let result = transfer(status).cancel();
            if matches!(status, Requested | Released) {
                assert_eq!(result.unwrap().to, Cancelled);
            } else {
                assert_eq!(result, Err(CancelTransferError::NotOpen { status }));
            }
        }
    }

    #[test]
    fn a_transfer_to_a_pool_completes_at_once() {
        let transition = transfer(Requested).complete_into_pool().unwrap();
        assert_eq!(
            (transition.to, transition.event),
            (Completed, TransferEvent::CompletedIntoPool)
        );
        assert_eq!(
            transfer(Completed).complete_into_pool(),
            Err(CompleteIntoPoolError::NotOpen { status: Completed })
        );
    }
}
