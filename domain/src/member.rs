//! Membership (会籍) status and its changes. The joined date and membership number never change;
//! the status moves as below, and each change is applied with a conditional update on the
//! `from` status.
//!
//! ```text
//! active ──retain (unemployed/retired/employer closed)──► retained ──reactivate──► active
//! active ──start_transfer──► transferring ──finish_transfer / abort_transfer──► active
//! active | retained ──member withdraws──► withdrawn
//! active | transferring | retained ──expel (reason)──► expelled
//! active | transferring | retained ──decease──► deceased
//! ```

use crate::error_code::ErrorCode;
use crate::reason::Reason;
use crate::vocab::string_enum;

string_enum! {
    /// Where a membership stands.
    pub enum MemberStatus {
        what = "会籍状态",
        code = InvalidMemberStatus,
        /// 正常.
        Active = "active" => "正常",
        /// 转接中: a transfer is open; still a member of the source union.
        Transferring = "transferring" => "转接中",
        /// 保留会籍: unemployed, retired, or the employer closed.
        Retained = "retained" => "保留会籍",
        /// 已退会.
        Withdrawn = "withdrawn" => "已退会",
        /// 已除名.
        Expelled = "expelled" => "已除名",
        /// 已故.
        Deceased = "deceased" => "已故",
    }
}

string_enum! {
    /// Why a membership is retained (保留会籍).
    pub enum RetainReason {
        what = "保留会籍原因",
        code = InvalidRetainReason,
        /// 失业.
        Unemployed = "unemployed" => "失业",
        /// 退休.
        Retired = "retired" => "退休",
        /// 用人单位关闭.
        EmployerClosed = "employer_closed" => "用人单位关闭",
    }
}

string_enum! {
    /// What happened to a membership: history entries and outbox event names.
    pub enum MemberEvent {
        what = "会籍事件",
        code = InvalidMemberEvent,
        /// 保留会籍.
        Retained = "retained" => "保留会籍",
        /// 恢复正常.
        Reactivated = "reactivated" => "恢复正常",
        /// 退会.
        Withdrawn = "withdrawn" => "退会",
        /// 除名.
        Expelled = "expelled" => "除名",
        /// 去世.
        Deceased = "deceased" => "去世",
        /// 开始转接.
        TransferStarted = "transfer_started" => "开始转接",
        /// 转接完成.
        TransferFinished = "transfer_finished" => "转接完成",
        /// 转接终止.
        TransferAborted = "transfer_aborted" => "转接终止",
    }
}

impl MemberStatus {
    /// Whether the person counts as a member already (active, transferring or retained): a new
    /// application is refused and the answer points to transfer or reactivation.
    pub const fn is_current(self) -> bool {
        matches!(self, Self::Active | Self::Transferring | Self::Retained)
    }

    fn to(self, to: Self, event: MemberEvent) -> MemberTransition {
        MemberTransition {
            from: self,
            to,
            event,
        }
    }

    /// Retain the membership: `active → retained`.
    pub fn retain(self, reason: RetainReason) -> Result<MemberTransition, RetainError> {
        let _ = reason; // Recorded by the caller with the transition.
        match self {
            Self::Active => Ok(self.to(Self::Retained, MemberEvent::Retained)),
            status => Err(RetainError::NotActive { status }),
        }
    }

    /// Back to work: `retained → active`.
    pub fn reactivate(self) -> Result<MemberTransition, ReactivateError> {
        match self {
            Self::Retained => Ok(self.to(Self::Active, MemberEvent::Reactivated)),
            status => Err(ReactivateError::NotRetained { status }),
        }
    }

    /// The member leaves (退会): `active | retained → withdrawn`; not while a transfer is open.
    pub fn withdraw(self) -> Result<MemberTransition, WithdrawMembershipError> {
        match self {
            Self::Active | Self::Retained => Ok(self.to(Self::Withdrawn, MemberEvent::Withdrawn)),
            Self::Transferring => Err(WithdrawMembershipError::TransferInProgress),
            status => Err(WithdrawMembershipError::NotMember { status }),
        }
    }

    /// An admin expels the member with a reason: any current status `→ expelled`.
    pub fn expel(self, reason: &Reason) -> Result<MemberTransition, ExpelError> {
        let _ = reason; // Validated by its type; recorded by the caller.
        if self.is_current() {
            Ok(self.to(Self::Expelled, MemberEvent::Expelled))
        } else {
            Err(ExpelError::NotMember { status: self })
        }
    }

    /// Record a death: any current status `→ deceased`.
    pub fn decease(self) -> Result<MemberTransition, DeceaseError> {
        if self.is_current() {
            Ok(self.to(Self::Deceased, MemberEvent::Deceased))
        } else {
            Err(DeceaseError::NotMember { status: self })
        }
    }

    /// Whether the member may show the electronic member card: only a current member.
    pub fn show_card(self) -> Result<(), ShowCardError> {
        if self.is_current() {
            Ok(())
        } else {
            Err(ShowCardError::MembershipEnded { status: self })
        }
    }

    /// A transfer is requested: `active → transferring`.
    pub fn start_transfer(self) -> Result<MemberTransition, StartTransferError> {
        match self {
            Self::Active => Ok(self.to(Self::Transferring, MemberEvent::TransferStarted)),
            Self::Transferring => Err(StartTransferError::AlreadyTransferring),
            status => Err(StartTransferError::NotActive { status }),
        }
    }

    /// The transfer completed (the affiliation moved): `transferring → active`.
    pub fn finish_transfer(self) -> Result<MemberTransition, FinishTransferError> {
        match self {
            Self::Transferring => Ok(self.to(Self::Active, MemberEvent::TransferFinished)),
            status => Err(FinishTransferError::NotTransferring { status }),
        }
    }

    /// The transfer was rejected or cancelled: `transferring → active`, union unchanged.
    pub fn abort_transfer(self) -> Result<MemberTransition, AbortTransferError> {
        match self {
            Self::Transferring => Ok(self.to(Self::Active, MemberEvent::TransferAborted)),
            status => Err(AbortTransferError::NotTransferring { status }),
        }
    }
}

/// A membership status change, applied with `UPDATE … SET status = to WHERE status = from`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemberTransition {
    /// Status before.
    pub from: MemberStatus,
    /// Status after.
    pub to: MemberStatus,
    /// What happened.
    pub event: MemberEvent,
}

/// Why a membership could not be retained.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RetainError {
    /// Only an active membership can be retained.
    #[error("会籍当前为“{}”状态，无法保留会籍", .status.label_zh())]
    NotActive {
        /// The current status.
        status: MemberStatus,
    },
}

impl RetainError {
    /// Stable machine code.
    pub fn code(&self) -> ErrorCode {
        ErrorCode::MemberNotActive
    }
}

/// Why a membership could not be reactivated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReactivateError {
    /// Only a retained membership is reactivated.
    #[error("会籍当前为“{}”状态，无需恢复", .status.label_zh())]
    NotRetained {
        /// The current status.
        status: MemberStatus,
    },
}

impl ReactivateError {
    /// Stable machine code.
    pub fn code(&self) -> ErrorCode {
        ErrorCode::MemberNotRetained
    }
}

/// Why a member could not withdraw.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WithdrawMembershipError {
    /// A transfer is open; cancel it first.
    #[error("会籍转接办理中，请先取消转接再申请退会")]
    TransferInProgress,
    /// The membership has already ended.
    #[error("会籍已终止（{}），无法退会", .status.label_zh())]
    NotMember {
        /// The current status.
        status: MemberStatus,
    },
}

impl WithdrawMembershipError {
    /// Stable machine code.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::TransferInProgress => ErrorCode::TransferInProgress,
            Self::NotMember { .. } => ErrorCode::MembershipEnded,
        }
    }
}

/// Why a member could not be expelled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExpelError {
    /// The membership has already ended.
    #[error("会籍已终止（{}），无法除名", .status.label_zh())]
    NotMember {
        /// The current status.
        status: MemberStatus,
    },
}

impl ExpelError {
    /// Stable machine code.
    pub fn code(&self) -> ErrorCode {
        ErrorCode::MembershipEnded
    }
}

/// Why a death could not be recorded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeceaseError {
    /// The membership has already ended.
    #[error("会籍已终止（{}）", .status.label_zh())]
    NotMember {
        /// The current status.
        status: MemberStatus,
    },
}

impl DeceaseError {
    /// Stable machine code.
    pub fn code(&self) -> ErrorCode {
        ErrorCode::MembershipEnded
    }
}

/// Why the member card is not shown.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShowCardError {
    /// The membership has ended.
    #[error("会籍已终止，无法出示会员卡")]
    MembershipEnded {
        /// The current status.
        status: MemberStatus,
    },
}

impl ShowCardError {
    /// Stable machine code.
    pub fn code(&self) -> ErrorCode {
        ErrorCode::MembershipEnded
    }
}

/// Why a transfer could not start.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StartTransferError {
    /// A transfer is already open (at most one per member).
    #[error("已有正在办理的会籍转接")]
    AlreadyTransferring,
    /// Only an active member can transfer.
    #[error("会籍当前为“{}”状态，无法办理转接", .status.label_zh())]
    NotActive {
        /// The current status.
        status: MemberStatus,
    },
}

impl StartTransferError {
    /// Stable machine code.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::AlreadyTransferring => ErrorCode::TransferInProgress,
            Self::NotActive { .. } => ErrorCode::MemberNotActive,
        }
    }
}

/// Why a transfer could not be finished on the membership.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FinishTransferError {
    /// No transfer is open.
    #[error("会籍当前为“{}”状态，没有正在办理的转接", .status.label_zh())]
    NotTransferring {
        /// The current status.
        status: MemberStatus,
    },
}

impl FinishTransferError {
    /// Stable machine code.
    pub fn code(&self) -> ErrorCode {
        ErrorCode::MemberNotTransferring
    }
}

/// Why a transfer could not be aborted on the membership.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AbortTransferError {
    /// No transfer is open.
    #[error("会籍当前为“{}”状态，没有正在办理的转接", .status.label_zh())]
    NotTransferring {
        /// The current status.
        status: MemberStatus,
    },
}

impl AbortTransferError {
    /// Stable machine code.
    pub fn code(&self) -> ErrorCode {
        ErrorCode::MemberNotTransferring
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use MemberStatus::*;

    fn reason() -> Reason {
        Reason::parse("严重违反工会章程").unwrap()
    }

    #[test]
    fn active_transferring_and_retained_members_are_current() {
        let current: Vec<_> = MemberStatus::ALL
            .iter()
            .copied()
            .filter(|s| s.is_current())
            .collect();
        assert_eq!(current, [Active, Transferring, Retained]);
    }

    #[test]
    fn an_unemployed_member_keeps_membership_and_is_reactivated_on_return_to_work() {
        let retained = Active.retain(RetainReason::Unemployed).unwrap();
        assert_eq!(
            retained,
            MemberTransition {
                from: Active,
                to: Retained,
                event: MemberEvent::Retained
            }
        );
        let back = Retained.reactivate().unwrap();
        assert_eq!((back.to, back.event), (Active, MemberEvent::Reactivated));
        assert_eq!(
            Retained.retain(RetainReason::Retired),
            Err(RetainError::NotActive { status: Retained })
        );
        assert_eq!(
            Active.reactivate(),
            Err(ReactivateError::NotRetained { status: Active })
        );
        assert_eq!(
            RetainError::NotActive { status: Retained }.code(),
            "member_not_active"
        );
    }

    #[test]
    fn a_member_may_withdraw_when_active_or_retained_but_not_mid_transfer() {
        assert_eq!(Active.withdraw().unwrap().to, Withdrawn);
        assert_eq!(Retained.withdraw().unwrap().to, Withdrawn);
        let error = Transferring.withdraw().unwrap_err();
        assert_eq!(error, WithdrawMembershipError::TransferInProgress);
        assert_eq!(error.code(), "transfer_in_progress");
        assert_eq!(
            Expelled.withdraw(),
            Err(WithdrawMembershipError::NotMember { status: Expelled })
        );
    }

    #[test]
    fn any_current_member_can_be_expelled_or_recorded_deceased_once() {
        for status in [Active, Transferring, Retained] {
            assert_eq!(status.expel(&reason()).unwrap().to, Expelled);
            assert_eq!(status.decease().unwrap().to, Deceased);
        }
        for status in [Withdrawn, Expelled, Deceased] {
            assert_eq!(
                status.expel(&reason()),
                Err(ExpelError::NotMember { status })
            );
            assert_eq!(status.decease(), Err(DeceaseError::NotMember { status }));
        }
        assert_eq!(
            Deceased.expel(&reason()).unwrap_err().to_string(),
            "会籍已终止（已故），无法除名"
        );
    }

    #[test]
    fn only_a_current_member_shows_the_card() {
        for status in [Active, Transferring, Retained] {
            assert_eq!(status.show_card(), Ok(()));
        }
        let error = Withdrawn.show_card().unwrap_err();
        assert_eq!(error.code(), "membership_ended");
        assert_eq!(error.to_string(), "会籍已终止，无法出示会员卡");
    }

    #[test]
    fn a_transfer_moves_an_active_member_to_transferring_and_back() {
        assert_eq!(Active.start_transfer().unwrap().to, Transferring);
        assert_eq!(
            Transferring.start_transfer(),
            Err(StartTransferError::AlreadyTransferring)
        );
        assert_eq!(
            Retained.start_transfer(),
            Err(StartTransferError::NotActive { status: Retained })
        );
        let finished = Transferring.finish_transfer().unwrap();
        assert_eq!(
            (finished.to, finished.event),
            (Active, MemberEvent::TransferFinished)
        );
        let aborted = Transferring.abort_transfer().unwrap();
        assert_eq!(
            (aborted.to, aborted.event),
            (Active, MemberEvent::TransferAborted)
        );
        assert_eq!(
            Active.finish_transfer(),
            Err(FinishTransferError::NotTransferring { status: Active })
        );
        assert_eq!(
            Active.abort_transfer(),
            Err(AbortTransferError::NotTransferring { status: Active })
        );
    }
}
