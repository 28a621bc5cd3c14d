//! Coverage statistics (issue 16): which counters each event moves, the periods and intervals
//! an overview is asked for, and the quarters of the new-members report (新会员季报).
//!
//! Counting rules (the infra recount, `union_stats_recount()`, is their SQL form):
//! - every flow counts where and when the event happened: a submission at the union that
//!   received it, a decision at the deciding union, on the Beijing day of the event;
//! - forwarding, assigning and resubmitting move no flow counter (a forwarded application's
//!   submission stays with the union that received it; its decision counts at the union that
//!   decides it); what is waiting now is read from the queue, not from counters;
//! - a completed transfer counts `transferred_out` at each union the member left and
//!   `transferred_in` at each it entered — a union holding both sides (a common ancestor)
//!   counts neither, so a subtree's flows are what crossed its border;
//! - a member's group is the occupation of the application that made them a member;
//! - active members (active or transferring) are a gauge per union × group.

use chrono::{Datelike, Duration, NaiveDate};

use crate::application::ApplicationEvent;
use crate::error_code::ErrorCode;
use crate::member::{MemberEvent, MemberStatus};

macro_rules! counters {
    ($($variant:ident => $column:literal,)+) => {
        /// One daily counter of a union × group × day.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Counter {
            $(
                #[doc = concat!("`", $column, "`")]
                $variant,
            )+
        }

        impl Counter {
            /// Every counter, in storage order.
            pub const ALL: &'static [Counter] = &[$(Counter::$variant),+];

            /// Its column name (and JSON field).
            pub const fn column(self) -> &'static str {
                match self {
                    $(Counter::$variant => $column,)+
                }
            }
        }
    };
}

counters! {
    Submitted => "submitted",
    Approved => "approved",
    ApprovedOnTime => "approved_on_time",
    Rejected => "rejected",
    RejectedOnTime => "rejected_on_time",
    Returned => "returned",
    ApplicationsWithdrawn => "applications_withdrawn",
    Joined => "joined",
    TransferredIn => "transferred_in",
    TransferredOut => "transferred_out",
    Retained => "retained",
    Reactivated => "reactivated",
    Withdrawn => "withdrawn",
    Expelled => "expelled",
    Deceased => "deceased",
    Referrals => "referrals",
}

/// How much one event adds to each counter, in [`Counter::ALL`] order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Deltas([i32; Counter::ALL.len()]);

impl Deltas {
    /// One of each of `counters`.
    pub fn of(counters: &[Counter]) -> Self {
        let mut deltas = Self::default();
        for counter in counters {
            deltas.0[*counter as usize] += 1;
        }
        deltas
    }

    /// Whether nothing changes.
    pub fn is_empty(&self) -> bool {
        self.0.iter().all(|d| *d == 0)
    }

    /// The deltas in [`Counter::ALL`] order.
    pub fn values(&self) -> &[i32] {
        &self.0
    }

    /// The delta of one counter.
    pub fn get(&self, counter: Counter) -> i32 {
        self.0[counter as usize]
    }
}

/// The counters an admin's or applicant's step on an application moves at the union it
/// happens in; `on_time` says whether a decision met its deadline. Submissions are counted by
/// the submission's own statement; forwarding, assigning and resubmitting move nothing.
pub fn application_deltas(event: ApplicationEvent, on_time: bool) -> Deltas {
    use Counter as C;
    match event {
        ApplicationEvent::Approved if on_time => {
            Deltas::of(&[C::Approved, C::ApprovedOnTime, C::Joined])
        }
        ApplicationEvent::Approved => Deltas::of(&[C::Approved, C::Joined]),
        ApplicationEvent::Rejected if on_time => Deltas::of(&[C::Rejected, C::RejectedOnTime]),
        ApplicationEvent::Rejected => Deltas::of(&[C::Rejected]),
        ApplicationEvent::Returned => Deltas::of(&[C::Returned]),
        ApplicationEvent::Withdrawn => Deltas::of(&[C::ApplicationsWithdrawn]),
        ApplicationEvent::Submitted
        | ApplicationEvent::Pooled
        | ApplicationEvent::Resubmitted
        | ApplicationEvent::Forwarded
        | ApplicationEvent::Assigned
        | ApplicationEvent::Expired => Deltas::default(),
    }
}

/// The counters a membership event moves at the member's union (transfers are counted on
/// both sides by the transfer's completion, see the module documentation).
pub fn member_deltas(event: MemberEvent) -> Deltas {
    use Counter as C;
    match event {
        MemberEvent::Retained => Deltas::of(&[C::Retained]),
        MemberEvent::Reactivated => Deltas::of(&[C::Reactivated]),
        MemberEvent::Withdrawn => Deltas::of(&[C::Withdrawn]),
        MemberEvent::Expelled => Deltas::of(&[C::Expelled]),
        MemberEvent::Deceased => Deltas::of(&[C::Deceased]),
        MemberEvent::TransferStarted
        | MemberEvent::TransferFinished
        | MemberEvent::TransferAborted => Deltas::default(),
    }
}

/// Whether a member in `status` counts as an active member (coverage's numerator): active, or
/// active in the source union while a transfer runs.
pub fn counts_as_active(status: MemberStatus) -> bool {
    matches!(status, MemberStatus::Active | MemberStatus::Transferring)
}

/// Whether an application in `status` waits for a union's decision (what can be overdue):
/// pending review, or in a pool.
pub fn counts_as_waiting(status: crate::application::ApplicationStatus) -> bool {
    use crate::application::ApplicationStatus as S;
    matches!(status, S::PendingReview | S::Pooled)
}

/// The change of the active-member gauge when a member goes from `from` to `to`.
pub fn active_delta(from: MemberStatus, to: MemberStatus) -> i32 {
    i32::from(counts_as_active(to)) - i32::from(counts_as_active(from))
}

/// The longest period an overview may cover: three years.
pub const MAX_PERIOD_DAYS: i64 = 3 * 366;

/// Why a period was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PeriodError {
    /// `from` after `to`.
    #[error("开始日期不能晚于结束日期")]
    Reversed,
    /// More than three years.
    #[error("统计区间不能超过三年")]
    TooLong,
}

impl PeriodError {
    /// The machine code.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Reversed => ErrorCode::InvalidDateRange,
            Self::TooLong => ErrorCode::DateRangeTooLong,
        }
    }
}

/// A period of Beijing days, `from..=to`, at most three years.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    from: NaiveDate,
    to: NaiveDate,
}

impl Period {
    /// The period `from..=to`.
    pub fn new(from: NaiveDate, to: NaiveDate) -> Result<Self, PeriodError> {
        if from > to {
            return Err(PeriodError::Reversed);
        }
        if (to - from).num_days() >= MAX_PERIOD_DAYS {
            return Err(PeriodError::TooLong);
        }
        Ok(Self { from, to })
    }

    /// First day.
    pub fn from(&self) -> NaiveDate {
        self.from
    }

    /// Last day (included).
    pub fn to(&self) -> NaiveDate {
        self.to
    }
}

crate::vocab::string_enum! {
    /// The buckets of an overview's time series.
    pub enum Interval {
        what = "统计粒度",
        code = InvalidInterval,
        /// 按日.
        Day = "day" => "按日",
        /// 按周 (weeks start on Monday).
        Week = "week" => "按周",
        /// 按月.
        Month = "month" => "按月",
    }
}

impl Interval {
    /// The first day of the bucket holding `day`.
    pub fn bucket(self, day: NaiveDate) -> NaiveDate {
        match self {
            Self::Day => day,
            Self::Week => day - Duration::days(i64::from(day.weekday().num_days_from_monday())),
            Self::Month => day.with_day(1).unwrap_or(day),
        }
    }
}

/// Why a quarter was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum QuarterError {
    /// Not 1–4, or a year out of range.
    #[error("季度应为 1 至 4，年份应在 2000 至 2999 之间")]
    Invalid,
    /// A snapshot of a quarter that has not ended.
    #[error("该季度尚未结束，没有季末快照")]
    NotEnded,
}

impl QuarterError {
    /// The machine code.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Invalid => ErrorCode::InvalidQuarter,
            Self::NotEnded => ErrorCode::QuarterNotEnded,
        }
    }
}

/// A calendar quarter of a year (Beijing dates).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Quarter {
    year: i32,
    quarter: u8,
}

impl Quarter {
    /// Quarter `quarter` (1–4) of `year` (2000–2999).
    pub fn new(year: i32, quarter: u8) -> Result<Self, QuarterError> {
        if !(1..=4).contains(&quarter) || !(2000..=2999).contains(&year) {
            return Err(QuarterError::Invalid);
        }
        Ok(Self { year, quarter })
    }

    /// The quarter holding `day`.
    pub fn of(day: NaiveDate) -> Self {
        let quarter = u8::try_from(day.month0() / 3 + 1).unwrap_or(1);
        Self {
            year: day.year(),
            quarter,
        }
    }

    /// The year.
    pub fn year(&self) -> i32 {
        self.year
    }

    /// 1–4.
    pub fn quarter(&self) -> u8 {
        self.quarter
    }

    /// Its first day.
    pub fn first_day(&self) -> NaiveDate {
        let month = u32::from(self.quarter) * 3 - 2;
        NaiveDate::from_ymd_opt(self.year, month, 1).unwrap_or(NaiveDate::MIN)
    }

    /// Its last day.
    pub fn last_day(&self) -> NaiveDate {
        self.next().first_day() - Duration::days(1)
    }

    /// The quarter after it.
    pub fn next(&self) -> Self {
        if self.quarter == 4 {
            Self {
                year: self.year + 1,
                quarter: 1,
            }
        } else {
            Self {
                year: self.year,
                quarter: self.quarter + 1,
            }
        }
    }

    /// The quarter before it.
    pub fn previous(&self) -> Self {
        if self.quarter == 1 {
            Self {
                year: self.year - 1,
                quarter: 4,
            }
        } else {
            Self {
                year: self.year,
                quarter: self.quarter - 1,
            }
        }
    }

    /// Whether it has ended on Beijing day `today`.
    pub fn ended(&self, today: NaiveDate) -> bool {
        today > self.last_day()
    }

    /// Whether a snapshot may be asked for on `today`.
    pub fn check_snapshot(&self, today: NaiveDate) -> Result<(), QuarterError> {
        if self.ended(today) {
            Ok(())
        } else {
            Err(QuarterError::NotEnded)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn an_approval_counts_a_new_member_and_its_punctuality() {
        let on_time = application_deltas(ApplicationEvent::Approved, true);
        assert_eq!(on_time.get(Counter::Approved), 1);
        assert_eq!(on_time.get(Counter::ApprovedOnTime), 1);
        assert_eq!(on_time.get(Counter::Joined), 1);
        let late = application_deltas(ApplicationEvent::Approved, false);
        assert_eq!(late.get(Counter::ApprovedOnTime), 0);
        assert!(application_deltas(ApplicationEvent::Forwarded, true).is_empty());
    }

    #[test]
    fn a_transfer_keeps_the_member_active_and_a_retention_does_not() {
        assert_eq!(
            active_delta(MemberStatus::Active, MemberStatus::Transferring),
            0
        );
        assert_eq!(
            active_delta(MemberStatus::Active, MemberStatus::Retained),
            -1
        );
        assert_eq!(
            active_delta(MemberStatus::Retained, MemberStatus::Active),
            1
        );
        assert_eq!(
            active_delta(MemberStatus::Retained, MemberStatus::Withdrawn),
            0
        );
        assert!(member_deltas(MemberEvent::TransferFinished).is_empty());
    }

    #[test]
    fn a_period_is_ordered_and_at_most_three_years() {
        assert_eq!(
            Period::new(d(2026, 2, 1), d(2026, 1, 1)),
            Err(PeriodError::Reversed)
        );
        assert!(Period::new(d(2024, 1, 1), d(2026, 12, 31)).is_ok());
        assert_eq!(
            Period::new(d(2023, 1, 1), d(2026, 12, 31)),
            Err(PeriodError::TooLong)
        );
    }

    #[test]
    fn buckets_start_on_monday_and_on_the_first_of_the_month() {
        assert_eq!(Interval::Week.bucket(d(2026, 12, 6)), d(2026, 11, 30));
        assert_eq!(Interval::Month.bucket(d(2026, 12, 6)), d(2026, 12, 1));
        assert_eq!(Interval::Day.bucket(d(2026, 12, 6)), d(2026, 12, 6));
    }

    #[test]
    fn a_quarter_ends_after_its_last_day() {
        let q4 = Quarter::new(2026, 4).unwrap();
        assert_eq!(q4.first_day(), d(2026, 10, 1));
        assert_eq!(q4.last_day(), d(2026, 12, 31));
        assert!(!q4.ended(d(2026, 12, 31)));
        assert!(q4.ended(d(2027, 1, 1)));
        assert_eq!(
            q4.check_snapshot(d(2026, 12, 5)),
            Err(QuarterError::NotEnded)
        );
        assert_eq!(Quarter::of(d(2026, 12, 5)), q4);
        assert_eq!(q4.next(), Quarter::new(2027, 1).unwrap());
        assert_eq!(Quarter::new(2027, 1).unwrap().previous(), q4);
        assert_eq!(Quarter::new(2026, 5), Err(QuarterError::Invalid));
    }
}
