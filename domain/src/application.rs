//! The membership application (入会申请) and its state machine.
//!
//! ```text
//! submit ──► pending_review (union U, due_at) ──approve──► approved
//!    │            │   │  └──reject (reason)──► rejected
//!    │            │   └──return (what to fix)──► returned ──resubmit──► pending_review
//!    │            └──forward (to union V, reason)──► pending_review (union V)
//!    └─► pooled ──assign (by the pool's owner)──► pending_review
//! any open state ──applicant withdraws──► withdrawn
//! returned for 30 days ──► expired
//! ```
//!
//! Each operation checks the current state and returns a [`Transition`]; the caller applies it
//! with one conditional update (`WHERE id = $1 AND status = <from> AND version = <version>`) and
//! writes the audit row and outbox event in the same transaction. A handler never compares a
//! status itself.

use crate::error_code::ErrorCode;
use chrono::{DateTime, TimeDelta, Utc};

use crate::ids::{ApplicationId, UnionId};
use crate::reason::Reason;
use crate::routing::{RoutingDecision, RoutingRule};
use crate::vocab::string_enum;

string_enum! {
    /// Where an application stands.
    pub enum ApplicationStatus {
        what = "申请状态",
        code = InvalidApplicationStatus,
        /// 待审核: waiting for a union's decision, with a deadline.
        PendingReview = "pending_review" => "待审核",
        /// 待分派: in a county pool, waiting to be assigned to a union.
        Pooled = "pooled" => "待分派",
        /// 退回修改: sent back to the applicant to correct.
        Returned = "returned" => "退回修改",
        /// 已通过: the applicant is a member.
        Approved = "approved" => "已通过",
        /// 未通过.
        Rejected = "rejected" => "未通过",
        /// 已撤回 by the applicant.
        Withdrawn = "withdrawn" => "已撤回",
        /// 已失效: returned and not corrected within 30 days.
        Expired = "expired" => "已失效",
    }
}

impl ApplicationStatus {
    /// Whether the application is still in progress (pending review, pooled or returned); a
    /// person has at most one open application nationwide.
    pub const fn is_open(self) -> bool {
        matches!(self, Self::PendingReview | Self::Pooled | Self::Returned)
    }
}

string_enum! {
    /// What happened to an application: the timeline entries and outbox event names.
    pub enum ApplicationEvent {
        what = "申请事件",
        code = InvalidApplicationEvent,
        /// 提交申请.
        Submitted = "submitted" => "提交申请",
        /// 进入临时库.
        Pooled = "pooled" => "进入临时库",
        /// 审核通过.
        Approved = "approved" => "审核通过",
        /// 审核未通过.
        Rejected = "rejected" => "审核未通过",
        /// 退回修改.
        Returned = "returned" => "退回修改",
        /// 重新提交.
        Resubmitted = "resubmitted" => "重新提交",
        /// 转交其他工会.
        Forwarded = "forwarded" => "转交其他工会",
        /// 从临时库分派.
        Assigned = "assigned" => "从临时库分派",
        /// 申请人撤回.
        Withdrawn = "withdrawn" => "申请人撤回",
        /// 逾期失效.
        Expired = "expired" => "逾期失效",
    }
}

string_enum! {
    /// Why an application was rejected.
    pub enum RejectCode {
        what = "不通过原因",
        code = InvalidRejectCode,
        /// 信息不完整.
        IncompleteInformation = "incomplete_information" => "信息不完整",
        /// 不符合入会条件.
        NotEligible = "not_eligible" => "不符合入会条件",
        /// 重复申请.
        Duplicate = "duplicate" => "重复申请",
        /// 信息不实.
        FalseInformation = "false_information" => "信息不实",
        /// 其他原因 (a note is required).
        Other = "other" => "其他原因",
    }
}

/// Why a reject reason was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RejectReasonError {
    /// `other` was chosen without a note.
    #[error("选择“其他原因”时请填写说明")]
    NoteRequired,
}

impl RejectReasonError {
    /// Stable machine code.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::NoteRequired => ErrorCode::RejectNoteRequired,
        }
    }
}

/// A reject reason: a code, and a note that is required for [`RejectCode::Other`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RejectReason {
    code: RejectCode,
    note: Option<Reason>,
}

impl RejectReason {
    /// Combines a code and an optional note (parse the note with [`Reason::parse_optional`]).
    pub fn new(code: RejectCode, note: Option<Reason>) -> Result<Self, RejectReasonError> {
        if code == RejectCode::Other && note.is_none() {
            return Err(RejectReasonError::NoteRequired);
        }
        Ok(Self { code, note })
    }

    /// The reason code.
    pub fn code(&self) -> RejectCode {
        self.code
    }

    /// The admin's note, if any.
    pub fn note(&self) -> Option<&Reason> {
        self.note.as_ref()
    }
}

impl std::fmt::Display for RejectReason {
    /// What the applicant reads: `信息不实：身份证照片与本人不符`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.note {
            Some(note) => write!(f, "{}：{}", self.code.label_zh(), note),
            None => f.write_str(self.code.label_zh()),
        }
    }
}

/// How long a returned application waits for the applicant before it expires.
pub const RETURNED_LIFETIME_DAYS: i64 = 30;

/// An application as far as its state machine is concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Application {
    /// The application.
    pub id: ApplicationId,
    /// Current status.
    pub status: ApplicationStatus,
    /// The union that holds it (the pool while pooled).
    pub union: UnionId,
    /// Optimistic-lock version, incremented by every transition.
    pub version: i32,
    /// When the current holder must decide.
    pub due_at: Option<DateTime<Utc>>,
    /// When it was last returned for correction.
    pub returned_at: Option<DateTime<Utc>>,
}

/// A state change the caller must apply atomically
/// (`UPDATE … SET status = to, version = new_version, union_id = union WHERE status = from AND
/// version = new_version - 1`), with an audit row and an outbox event named `event`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transition {
    /// Status before.
    pub from: ApplicationStatus,
    /// Status after.
    pub to: ApplicationStatus,
    /// What happened.
    pub event: ApplicationEvent,
    /// The version after the change.
    pub new_version: i32,
    /// The union holding the application after the change.
    pub union: UnionId,
}

/// The outcome of a submission: where it goes and in which status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubmittedApplication {
    /// `pending_review`, or `pooled` when routing fell through to a pool.
    pub status: ApplicationStatus,
    /// The routed union (or pool).
    pub union: UnionId,
    /// When the holder must act (assign, for a pool).
    pub due_at: DateTime<Utc>,
    /// The rule that chose the union.
    pub rule: RoutingRule,
}

/// One timeline step of a submission: the event, the status before it (none at first), the
/// status after it.
pub type SubmissionStep = (
    ApplicationEvent,
    Option<ApplicationStatus>,
    ApplicationStatus,
);

/// Decides the initial status of an application routed by `decision`, due at `due_at`
/// (see [`crate::deadline::due_at`]).
pub fn submit(decision: &RoutingDecision, due_at: DateTime<Utc>) -> SubmittedApplication {
    let status = if decision.is_pooled() {
        ApplicationStatus::Pooled
    } else {
        ApplicationStatus::PendingReview
    };
    SubmittedApplication {
        status,
        union: decision.union,
        due_at,
        rule: decision.rule,
    }
}

impl SubmittedApplication {
    /// Timeline steps of the submission, each `(event, from, to)`: `submitted` into
    /// `pending_review`, then `pooled` from there if it went to a pool.
    pub fn steps(&self) -> &'static [SubmissionStep] {
        const SUBMITTED: SubmissionStep = (
            ApplicationEvent::Submitted,
            None,
            ApplicationStatus::PendingReview,
        );
        match self.status {
            ApplicationStatus::Pooled => &[
                SUBMITTED,
                (
                    ApplicationEvent::Pooled,
                    Some(ApplicationStatus::PendingReview),
                    ApplicationStatus::Pooled,
                ),
            ],
            _ => &[SUBMITTED],
        }
    }

    /// The application as stored, at [`Application::INITIAL_VERSION`].
    pub fn into_application(self, id: ApplicationId) -> Application {
        Application {
            id,
            status: self.status,
            union: self.union,
            version: Application::INITIAL_VERSION,
            due_at: Some(self.due_at),
            returned_at: None,
        }
    }
}

/// Why an application could not be approved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApproveError {
    /// It is already approved; approving again changes nothing (the API answers as if it had).
    #[error("该申请已审核通过")]
    AlreadyApproved,
    /// It is not waiting for review.
    #[error("该申请当前状态为“{}”，无法审核", .status.label_zh())]
    NotPending {
        /// The current status.
        status: ApplicationStatus,
    },
    /// Someone else changed it since the admin loaded it.
    #[error("该申请已被他人处理，请刷新后重试")]
    StaleVersion {
        /// The version the admin saw.
        expected: i32,
        /// The current version.
        actual: i32,
    },
}

impl ApproveError {
    /// Stable machine code.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::AlreadyApproved => ErrorCode::AlreadyApproved,
            Self::NotPending { .. } => ErrorCode::ApplicationNotPending,
            Self::StaleVersion { .. } => ErrorCode::StaleVersion,
        }
    }
}

/// Why an application could not be rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RejectError {
    /// It is not waiting for review.
    #[error("该申请当前状态为“{}”，无法审核", .status.label_zh())]
    NotPending {
        /// The current status.
        status: ApplicationStatus,
    },
    /// Someone else changed it since the admin loaded it.
    #[error("该申请已被他人处理，请刷新后重试")]
    StaleVersion {
        /// The version the admin saw.
        expected: i32,
        /// The current version.
        actual: i32,
    },
}

impl RejectError {
    /// Stable machine code.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::NotPending { .. } => ErrorCode::ApplicationNotPending,
            Self::StaleVersion { .. } => ErrorCode::StaleVersion,
        }
    }
}

/// Why an application could not be returned for correction.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReturnError {
    /// It is not waiting for review.
    #[error("该申请当前状态为“{}”，无法退回", .status.label_zh())]
    NotPending {
        /// The current status.
        status: ApplicationStatus,
    },
    /// Someone else changed it since the admin loaded it.
    #[error("该申请已被他人处理，请刷新后重试")]
    StaleVersion {
        /// The version the admin saw.
        expected: i32,
        /// The current version.
        actual: i32,
    },
    /// No field to correct was named.
    #[error("请指明需要修改的内容")]
    NoFieldsToFix,
    /// A field name is blank.
    #[error("需要修改的内容不能为空")]
    BlankField,
}

impl ReturnError {
    /// Stable machine code.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::NotPending { .. } => ErrorCode::ApplicationNotPending,
            Self::StaleVersion { .. } => ErrorCode::StaleVersion,
            Self::NoFieldsToFix => ErrorCode::NoFieldsToFix,
            Self::BlankField => ErrorCode::BlankFieldToFix,
        }
    }
}

/// Why an application could not be forwarded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ForwardError {
    /// It is not waiting for review.
    #[error("该申请当前状态为“{}”，无法转交", .status.label_zh())]
    NotPending {
        /// The current status.
        status: ApplicationStatus,
    },
    /// Someone else changed it since the admin loaded it.
    #[error("该申请已被他人处理，请刷新后重试")]
    StaleVersion {
        /// The version the admin saw.
        expected: i32,
        /// The current version.
        actual: i32,
    },
    /// The target is the union that already holds it.
    #[error("不能转交给当前受理的工会")]
    SameUnion,
}

impl ForwardError {
    /// Stable machine code.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::NotPending { .. } => ErrorCode::ApplicationNotPending,
            Self::StaleVersion { .. } => ErrorCode::StaleVersion,
            Self::SameUnion => ErrorCode::ForwardToSameUnion,
        }
    }
}

/// Why a pooled application could not be assigned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AssignError {
    /// It is not in a pool.
    #[error("该申请当前状态为“{}”，无需分派", .status.label_zh())]
    NotPooled {
        /// The current status.
        status: ApplicationStatus,
    },
    /// Someone else changed it since the admin loaded it.
    #[error("该申请已被他人处理，请刷新后重试")]
    StaleVersion {
        /// The version the admin saw.
        expected: i32,
        /// The current version.
        actual: i32,
    },
    /// The target is the pool itself.
    #[error("请分派给具体的工会")]
    SameUnion,
}

impl AssignError {
    /// Stable machine code.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::NotPooled { .. } => ErrorCode::ApplicationNotPooled,
            Self::StaleVersion { .. } => ErrorCode::StaleVersion,
            Self::SameUnion => ErrorCode::AssignToSameUnion,
        }
    }
}

/// Why an application could not be resubmitted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResubmitError {
    /// Only a returned application can be corrected and resubmitted.
    #[error("该申请当前状态为“{}”，不能修改后重新提交", .status.label_zh())]
    NotReturned {
        /// The current status.
        status: ApplicationStatus,
    },
}

impl ResubmitError {
    /// Stable machine code.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::NotReturned { .. } => ErrorCode::ApplicationNotReturned,
        }
    }
}

/// Why an application could not be withdrawn.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WithdrawError {
    /// It is already closed.
    #[error("该申请已办结（{}），无法撤回", .status.label_zh())]
    NotOpen {
        /// The current status.
        status: ApplicationStatus,
    },
}

impl WithdrawError {
    /// Stable machine code.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::NotOpen { .. } => ErrorCode::ApplicationNotOpen,
        }
    }
}

/// Why an application could not be expired.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExpireError {
    /// Only a returned application expires.
    #[error("该申请当前状态为“{}”，不会过期", .status.label_zh())]
    NotReturned {
        /// The current status.
        status: ApplicationStatus,
    },
    /// The 30 days are not over.
    #[error("该申请尚未到期")]
    NotYetExpired {
        /// When it will expire.
        expires_at: DateTime<Utc>,
    },
    /// The record has no return time (a data error).
    #[error("该申请缺少退回时间")]
    UnknownReturnTime,
}

impl ExpireError {
    /// Stable machine code.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::NotReturned { .. } => ErrorCode::ApplicationNotReturned,
            Self::NotYetExpired { .. } => ErrorCode::ApplicationNotYetExpired,
            Self::UnknownReturnTime => ErrorCode::ApplicationMissingReturnedAt,
        }
    }
}

impl Application {
    /// The version of a freshly submitted application.
    pub const INITIAL_VERSION: i32 = 1;

    fn transition(
        &self,
        to: ApplicationStatus,
        event: ApplicationEvent,
        union: UnionId,
    ) -> Transition {
        Transition {
            from: self.status,
            to,
            event,
            new_version: self.version.saturating_add(1),
            union,
        }
    }

    /// Checks the application is pending review at the version the admin saw.
    fn pending_at(&self, expected: i32) -> Result<(), (ApplicationStatus, Option<i32>)> {
        if self.status != ApplicationStatus::PendingReview {
            return Err((self.status, None));
        }
        if self.version != expected {
            return Err((self.status, Some(self.version)));
        }
        Ok(())
    }

    /// Approve: `pending_review → approved`. The caller creates the member in the same
    /// transaction.
    pub fn approve(&self, expected_version: i32) -> Result<Transition, ApproveError> {
        if self.status == ApplicationStatus::Approved {
            return Err(ApproveError::AlreadyApproved);
        }
        self.pending_at(expected_version)
            .map_err(|(status, actual)| match actual {
                None => ApproveError::NotPending { status },
                Some(actual) => ApproveError::StaleVersion {
                    expected: expected_version,
                    actual,
                },
            })?;
        Ok(self.transition(
            ApplicationStatus::Approved,
            ApplicationEvent::Approved,
            self.union,
        ))
    }

    /// Reject with a reason: `pending_review → rejected`.
    pub fn reject(
        &self,
        expected_version: i32,
        reason: &RejectReason,
    ) -> Result<Transition, RejectError> {
        let _ = reason; // Validated by its type; the caller stores it with the transition.
        self.pending_at(expected_version)
            .map_err(|(status, actual)| match actual {
                None => RejectError::NotPending { status },
                Some(actual) => RejectError::StaleVersion {
                    expected: expected_version,
                    actual,
                },
            })?;
        Ok(self.transition(
            ApplicationStatus::Rejected,
            ApplicationEvent::Rejected,
            self.union,
        ))
    }

    /// Return for correction, naming the fields to fix: `pending_review → returned`. The caller
    /// sets `returned_at = now`; the application expires [`RETURNED_LIFETIME_DAYS`] later.
    pub fn return_for_correction(
        &self,
        expected_version: i32,
        fields_to_fix: &[String],
        note: Option<&Reason>,
    ) -> Result<Transition, ReturnError> {
        let _ = note; // Optional and validated by its type.
        self.pending_at(expected_version)
            .map_err(|(status, actual)| match actual {
                None => ReturnError::NotPending { status },
                Some(actual) => ReturnError::StaleVersion {
                    expected: expected_version,
                    actual,
                },
            })?;
        if fields_to_fix.is_empty() {
            return Err(ReturnError::NoFieldsToFix);
        }
        if fields_to_fix.iter().any(|field| field.trim().is_empty()) {
            return Err(ReturnError::BlankField);
        }
        Ok(self.transition(
            ApplicationStatus::Returned,
            ApplicationEvent::Returned,
            self.union,
        ))
    }

    /// Forward to another union with a reason: `pending_review → pending_review` at `to`. The
    /// caller recomputes `due_at` for the new union.
    pub fn forward(
        &self,
        expected_version: i32,
        to: UnionId,
        reason: &Reason,
    ) -> Result<Transition, ForwardError> {
        let _ = reason; // Validated by its type.
        self.pending_at(expected_version)
            .map_err(|(status, actual)| match actual {
                None => ForwardError::NotPending { status },
                Some(actual) => ForwardError::StaleVersion {
                    expected: expected_version,
                    actual,
                },
            })?;
        if to == self.union {
            return Err(ForwardError::SameUnion);
        }
        Ok(self.transition(
            ApplicationStatus::PendingReview,
            ApplicationEvent::Forwarded,
            to,
        ))
    }

    /// Assign a pooled application to a union: `pooled → pending_review` at `to`. The caller
    /// recomputes `due_at` for the new union.
    pub fn assign(&self, expected_version: i32, to: UnionId) -> Result<Transition, AssignError> {
        if self.status != ApplicationStatus::Pooled {
            return Err(AssignError::NotPooled {
                status: self.status,
            });
        }
        if self.version != expected_version {
            return Err(AssignError::StaleVersion {
                expected: expected_version,
                actual: self.version,
            });
        }
        if to == self.union {
            return Err(AssignError::SameUnion);
        }
        Ok(self.transition(
            ApplicationStatus::PendingReview,
            ApplicationEvent::Assigned,
            to,
        ))
    }

    /// The applicant resubmits corrected data: `returned → pending_review` at the same union.
    /// The caller computes a new `due_at` and clears `returned_at`.
    pub fn resubmit(&self) -> Result<Transition, ResubmitError> {
        if self.status != ApplicationStatus::Returned {
            return Err(ResubmitError::NotReturned {
                status: self.status,
            });
        }
        Ok(self.transition(
            ApplicationStatus::PendingReview,
            ApplicationEvent::Resubmitted,
            self.union,
        ))
    }

    /// The applicant withdraws: any open state `→ withdrawn`.
    pub fn withdraw(&self) -> Result<Transition, WithdrawError> {
        if !self.status.is_open() {
            return Err(WithdrawError::NotOpen {
                status: self.status,
            });
        }
        Ok(self.transition(
            ApplicationStatus::Withdrawn,
            ApplicationEvent::Withdrawn,
            self.union,
        ))
    }

    /// When a returned application expires; `None` unless it is returned with a known time.
    pub fn expires_at(&self) -> Option<DateTime<Utc>> {
        match (self.status, self.returned_at) {
            (ApplicationStatus::Returned, Some(at)) => {
                Some(at + TimeDelta::days(RETURNED_LIFETIME_DAYS))
            }
            _ => None,
        }
    }

    /// Expire an application returned at least 30 days before `now`: `returned → expired`.
    pub fn expire(&self, now: DateTime<Utc>) -> Result<Transition, ExpireError> {
        if self.status != ApplicationStatus::Returned {
            return Err(ExpireError::NotReturned {
                status: self.status,
            });
        }
        let expires_at = self.expires_at().ok_or(ExpireError::UnknownReturnTime)?;
        if now < expires_at {
            return Err(ExpireError::NotYetExpired { expires_at });
        }
        Ok(self.transition(
            ApplicationStatus::Expired,
            ApplicationEvent::Expired,
            self.union,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::tests::beijing;

    const U: UnionId = UnionId::new(7);
    const V: UnionId = UnionId::new(8);

    fn application(status: ApplicationStatus) -> Application {
        Application {
            id: ApplicationId::from_uuid(uuid::Uuid::nil()),
            status,
            union: U,
            version: 3,
            due_at: Some(beijing(2026, 3, 10, 18, 0)),
            returned_at: None,
        }
    }

    fn pending() -> Application {
        application(ApplicationStatus::PendingReview)
    }

    fn reason(text: &str) -> Reason {
        Reason::parse(text).unwrap()
    }

    fn decision(rule: RoutingRule) -> RoutingDecision {
        RoutingDecision {
            union: U,
            rule,
            explanation: String::new(),
        }
    }

    #[test]
    fn a_routed_application_starts_pending_review_and_a_pooled_one_starts_pooled() {
        let due = beijing(2026, 3, 10, 18, 0);
        let routed = submit(&decision(RoutingRule::JointUnion), due);
        assert_eq!(routed.status, ApplicationStatus::PendingReview);
        assert_eq!(
            routed.steps(),
            &[(
                ApplicationEvent::Submitted,
                None,
                ApplicationStatus::PendingReview
            )]
        );
        let pooled = submit(&decision(RoutingRule::Pool), due);
        assert_eq!(pooled.status, ApplicationStatus::Pooled);
        assert_eq!(
            pooled.steps(),
            &[
                (
                    ApplicationEvent::Submitted,
                    None,
                    ApplicationStatus::PendingReview
                ),
                (
                    ApplicationEvent::Pooled,
                    Some(ApplicationStatus::PendingReview),
                    ApplicationStatus::Pooled
                ),
            ]
        );
        // Each step starts where the one before ended.
        assert_eq!(pooled.steps()[1].1, Some(pooled.steps()[0].2));
        let stored = pooled.into_application(ApplicationId::from_uuid(uuid::Uuid::nil()));
        assert_eq!(
            (stored.version, stored.union, stored.due_at),
            (1, U, Some(due))
        );
    }

    #[test]
    fn a_pending_application_is_approved_at_the_expected_version() {
        let transition = pending().approve(3).unwrap();
        assert_eq!(
            transition,
            Transition {
                from: ApplicationStatus::PendingReview,
                to: ApplicationStatus::Approved,
                event: ApplicationEvent::Approved,
                new_version: 4,
                union: U,
            }
        );
    }

    #[test]
    fn approving_with_an_old_version_is_a_stale_version() {
        let error = pending().approve(2).unwrap_err();
        assert_eq!(
            error,
            ApproveError::StaleVersion {
                expected: 2,
                actual: 3
            }
        );
        assert_eq!(error.code(), "stale_version");
        assert_eq!(error.to_string(), "该申请已被他人处理，请刷新后重试");
    }

    #[test]
    fn approving_twice_is_recognised_as_already_approved() {
        let error = application(ApplicationStatus::Approved)
            .approve(3)
            .unwrap_err();
        assert_eq!(error, ApproveError::AlreadyApproved);
        assert_eq!(error.code(), "already_approved");
    }

    #[test]
    fn only_a_pending_application_can_be_decided() {
        for status in [
            ApplicationStatus::Pooled,
            ApplicationStatus::Returned,
            ApplicationStatus::Rejected,
        ] {
            let app = application(status);
            assert_eq!(app.approve(3), Err(ApproveError::NotPending { status }));
            let other = RejectReason::new(RejectCode::Duplicate, None).unwrap();
            assert_eq!(
                app.reject(3, &other),
                Err(RejectError::NotPending { status })
            );
            assert_eq!(
                app.return_for_correction(3, &["name".to_owned()], None),
                Err(ReturnError::NotPending { status })
            );
            assert_eq!(
                app.forward(3, V, &reason("属地不符")),
                Err(ForwardError::NotPending { status })
            );
        }
        let error = application(ApplicationStatus::Withdrawn)
            .approve(3)
            .unwrap_err();
        assert_eq!(error.to_string(), "该申请当前状态为“已撤回”，无法审核");
        assert_eq!(error.code(), "application_not_pending");
    }

    #[test]
    fn a_rejection_needs_a_note_only_for_other() {
        assert_eq!(
            RejectReason::new(RejectCode::Other, None),
            Err(RejectReasonError::NoteRequired)
        );
        assert_eq!(
            RejectReasonError::NoteRequired.code(),
            "reject_note_required"
        );
        let other = RejectReason::new(RejectCode::Other, Some(reason("非本地区务工"))).unwrap();
        assert_eq!(other.to_string(), "其他原因：非本地区务工");
        let duplicate = RejectReason::new(RejectCode::Duplicate, None).unwrap();
        assert_eq!(duplicate.to_string(), "重复申请");
        let transition = pending().reject(3, &duplicate).unwrap();
        assert_eq!(
            (transition.to, transition.event),
            (ApplicationStatus::Rejected, ApplicationEvent::Rejected)
        );
        assert_eq!(
            pending().reject(4, &duplicate),
            Err(RejectError::StaleVersion {
                expected: 4,
                actual: 3
            })
        );
    }

    #[test]
    fn a_return_must_name_what_to_fix() {
        let app = pending();
        assert_eq!(
            app.return_for_correction(3, &[], None),
            Err(ReturnError::NoFieldsToFix)
        );
        assert_eq!(
            app.return_for_correction(3, &["name".to_owned(), " ".to_owned()], None),
            Err(ReturnError::BlankField)
        );
        let transition = app
            .return_for_correction(
                3,
                &["work_region".to_owned()],
                Some(&reason("请填写到街道")),
            )
            .unwrap();
        assert_eq!(
            (transition.to, transition.event),
            (ApplicationStatus::Returned, ApplicationEvent::Returned)
        );
        assert_eq!(ReturnError::NoFieldsToFix.code(), "no_fields_to_fix");
    }

    #[test]
    fn a_returned_application_can_be_resubmitted_to_the_same_union() {
        let transition = application(ApplicationStatus::Returned).resubmit().unwrap();
        assert_eq!(
            (
                transition.from,
                transition.to,
                transition.event,
                transition.union
            ),
            (
                ApplicationStatus::Returned,
                ApplicationStatus::PendingReview,
                ApplicationEvent::Resubmitted,
                U
            )
        );
        let error = pending().resubmit().unwrap_err();
        assert_eq!(
            error,
            ResubmitError::NotReturned {
                status: ApplicationStatus::PendingReview
            }
        );
        assert_eq!(error.code(), "application_not_returned");
    }

    #[test]
    fn forwarding_moves_the_application_to_another_union_but_never_to_its_own() {
        let transition = pending()
            .forward(3, V, &reason("应由快递行业工会受理"))
            .unwrap();
        assert_eq!(
            (
                transition.to,
                transition.event,
                transition.union,
                transition.new_version
            ),
            (
                ApplicationStatus::PendingReview,
                ApplicationEvent::Forwarded,
                V,
                4
            )
        );
        assert_eq!(
            pending().forward(3, U, &reason("x")),
            Err(ForwardError::SameUnion)
        );
        assert_eq!(
            pending().forward(1, V, &reason("x")),
            Err(ForwardError::StaleVersion {
                expected: 1,
                actual: 3
            })
        );
        assert_eq!(ForwardError::SameUnion.code(), "forward_to_same_union");
    }

    #[test]
    fn only_a_pooled_application_is_assigned() {
        let pooled = application(ApplicationStatus::Pooled);
        let transition = pooled.assign(3, V).unwrap();
        assert_eq!(
            (
                transition.from,
                transition.to,
                transition.event,
                transition.union
            ),
            (
                ApplicationStatus::Pooled,
                ApplicationStatus::PendingReview,
                ApplicationEvent::Assigned,
                V
            )
        );
        assert_eq!(pooled.assign(3, U), Err(AssignError::SameUnion));
        assert_eq!(
            pooled.assign(2, V),
            Err(AssignError::StaleVersion {
                expected: 2,
                actual: 3
            })
        );
        assert_eq!(
            pending().assign(3, V),
            Err(AssignError::NotPooled {
                status: ApplicationStatus::PendingReview
            })
        );
        assert_eq!(
            AssignError::NotPooled {
                status: ApplicationStatus::Approved
            }
            .code(),
            "application_not_pooled"
        );
    }

    #[test]
    fn the_applicant_can_withdraw_any_open_application_and_nothing_else() {
        for status in ApplicationStatus::ALL.iter().copied() {
            let result = application(status).withdraw();
            if status.is_open() {
                assert_eq!(result.unwrap().to, ApplicationStatus::Withdrawn);
            } else {
                assert_eq!(result, Err(WithdrawError::NotOpen { status }));
            }
        }
        let open: Vec<_> = ApplicationStatus::ALL
            .iter()
            .filter(|s| s.is_open())
            .collect();
        assert_eq!(
            open,
            [
                &ApplicationStatus::PendingReview,
                &ApplicationStatus::Pooled,
                &ApplicationStatus::Returned
            ]
        );
    }

    #[test]
    fn a_returned_application_expires_after_thirty_days() {
        let returned_at = beijing(2026, 3, 10, 11, 0);
        let app = Application {
            returned_at: Some(returned_at),
            ..application(ApplicationStatus::Returned)
        };
        let expires_at = beijing(2026, 4, 9, 11, 0);
        assert_eq!(app.expires_at(), Some(expires_at));
        assert_eq!(
            app.expire(beijing(2026, 4, 9, 10, 59)),
            Err(ExpireError::NotYetExpired { expires_at })
        );
        let transition = app.expire(expires_at).unwrap();
        assert_eq!(
            (transition.to, transition.event),
            (ApplicationStatus::Expired, ApplicationEvent::Expired)
        );
    }

    #[test]
    fn only_a_returned_application_expires() {
        let now = beijing(2027, 1, 1, 0, 0);
        assert_eq!(
            pending().expire(now),
            Err(ExpireError::NotReturned {
                status: ApplicationStatus::PendingReview
            })
        );
        assert_eq!(
            application(ApplicationStatus::Returned).expire(now),
            Err(ExpireError::UnknownReturnTime)
        );
        assert_eq!(pending().expires_at(), None);
    }

    #[test]
    fn statuses_and_events_travel_as_snake_case() {
        assert_eq!(
            serde_json::to_string(&ApplicationStatus::PendingReview).unwrap(),
            "\"pending_review\""
        );
        let names: Vec<_> = ApplicationEvent::ALL.iter().map(|e| e.as_str()).collect();
        assert_eq!(
            names,
            [
                "submitted",
                "pooled",
                "approved",
                "rejected",
                "returned",
                "resubmitted",
                "forwarded",
                "assigned",
                "withdrawn",
                "expired"
            ]
        );
        assert_eq!(
            RejectCode::parse("false_information"),
            Ok(RejectCode::FalseInformation)
        );
    }
}
