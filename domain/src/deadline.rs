//! Same-day review (当天审核): when an application is due, and whether it is late.
//!
//! A union reviews during its hours on working days (default 09:00–18:00, Beijing time) and
//! accepts same-day work until a cut-off (default 16:00). Submitted on a working day before the
//! cut-off, an application is due at closing time that day; otherwise at closing time on the
//! next working day. Time is always an argument.

use crate::error_code::ErrorCode;
use chrono::{DateTime, NaiveTime, TimeDelta, Utc};

use crate::calendar::{WorkingCalendar, from_local, to_local};

/// Why review hours were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReviewHoursError {
    /// Closing time is not after opening time (the day would end before it starts).
    #[error("下班时间必须晚于开始办公时间")]
    ClosesNotAfterOpening,
    /// The cut-off is not after opening time.
    #[error("当日受理截止时间必须晚于开始办公时间")]
    CutoffNotAfterOpening,
    /// The cut-off is after closing time.
    #[error("当日受理截止时间不能晚于下班时间")]
    CutoffAfterClosing,
}

impl ReviewHoursError {
    /// Stable machine code.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::ClosesNotAfterOpening => ErrorCode::ReviewHoursEndBeforeStart,
            Self::CutoffNotAfterOpening => ErrorCode::ReviewCutoffNotAfterOpening,
            Self::CutoffAfterClosing => ErrorCode::ReviewCutoffAfterClosing,
        }
    }
}

/// A union's review hours in Beijing local time, with `opens < cutoff <= closes`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReviewHours {
    opens: NaiveTime,
    closes: NaiveTime,
    cutoff: NaiveTime,
}

const fn time(hour: u32) -> NaiveTime {
    match NaiveTime::from_hms_opt(hour, 0, 0) {
        Some(t) => t,
        None => NaiveTime::MIN,
    }
}

impl ReviewHours {
    /// 09:00–18:00 with a 16:00 cut-off.
    pub const DEFAULT: Self = Self {
        opens: time(9),
        closes: time(18),
        cutoff: time(16),
    };

    /// Checks `opens < closes` first, then `opens < cutoff <= closes`.
    pub fn new(
        opens: NaiveTime,
        closes: NaiveTime,
        cutoff: NaiveTime,
    ) -> Result<Self, ReviewHoursError> {
        if closes <= opens {
            return Err(ReviewHoursError::ClosesNotAfterOpening);
        }
        if cutoff <= opens {
            return Err(ReviewHoursError::CutoffNotAfterOpening);
        }
        if cutoff > closes {
            return Err(ReviewHoursError::CutoffAfterClosing);
        }
        Ok(Self {
            opens,
            closes,
            cutoff,
        })
    }

    /// Opening time.
    pub fn opens(&self) -> NaiveTime {
        self.opens
    }

    /// Closing time: when applications fall due.
    pub fn closes(&self) -> NaiveTime {
        self.closes
    }

    /// Last time of day at which a submission is still due the same day (exclusive).
    pub fn cutoff(&self) -> NaiveTime {
        self.cutoff
    }

    /// Whether reviewers are at work at `instant`: a working day between opening and closing.
    pub fn is_open_at(&self, instant: DateTime<Utc>, calendar: &WorkingCalendar) -> bool {
        let local = to_local(instant);
        let time = local.time();
        calendar.is_working_day(local.date_naive()) && self.opens <= time && time < self.closes
    }
}

impl Default for ReviewHours {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// When an application submitted (or resubmitted, or forwarded) at `submitted_at` must be
/// decided: closing time the same day if that is a working day and it came in before the
/// cut-off (even before opening, e.g. at 07:00), otherwise closing time on the next working
/// day.
pub fn due_at(
    submitted_at: DateTime<Utc>,
    calendar: &WorkingCalendar,
    hours: &ReviewHours,
) -> DateTime<Utc> {
    let local = to_local(submitted_at);
    let date = local.date_naive();
    let day = if calendar.is_working_day(date) && local.time() < hours.cutoff {
        date
    } else {
        calendar.next_working_day(date)
    };
    from_local(day, hours.closes)
}

/// How late a decision is at `now`; `None` until `due_at` has passed.
pub fn lateness(due_at: DateTime<Utc>, now: DateTime<Utc>) -> Option<TimeDelta> {
    (now > due_at).then(|| now - due_at)
}

/// Whether `due_at` has passed at `now` (due exactly now is not yet overdue).
pub fn is_overdue(due_at: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    now > due_at
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::tests::{beijing, cn_2026};

    fn t(h: u32, m: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, 0).unwrap()
    }

    fn due(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        due_at(
            beijing(y, mo, d, h, mi),
            &cn_2026(),
            &ReviewHours::default(),
        )
    }

    #[test]
    fn a_morning_submission_on_a_working_day_is_due_at_six_that_evening() {
        assert_eq!(due(2026, 3, 10, 10, 15), beijing(2026, 3, 10, 18, 0));
    }

    #[test]
    fn a_submission_before_opening_is_still_due_the_same_day() {
        assert_eq!(due(2026, 3, 10, 7, 0), beijing(2026, 3, 10, 18, 0));
    }

    #[test]
    fn a_submission_at_or_after_the_cut_off_is_due_the_next_working_day() {
        assert_eq!(due(2026, 3, 10, 15, 59), beijing(2026, 3, 10, 18, 0));
        assert_eq!(due(2026, 3, 10, 16, 0), beijing(2026, 3, 11, 18, 0));
        assert_eq!(due(2026, 3, 13, 17, 0), beijing(2026, 3, 16, 18, 0)); // Friday → Monday
    }

    #[test]
    fn a_submission_on_the_eve_of_the_national_day_is_due_after_the_holiday() {
        assert_eq!(due(2026, 9, 30, 17, 0), beijing(2026, 10, 8, 18, 0));
    }

    #[test]
    fn a_holiday_saturday_is_rest_and_the_adjusted_sunday_is_a_working_day() {
        assert_eq!(due(2026, 1, 3, 10, 0), beijing(2026, 1, 4, 18, 0));
        assert_eq!(due(2026, 1, 4, 10, 0), beijing(2026, 1, 4, 18, 0));
    }

    #[test]
    fn the_deadline_is_computed_in_beijing_time_whatever_the_utc_date() {
        // 00:30 Beijing on Tue 10 Mar is 16:30 UTC on Mon 9 Mar.
        let submitted = beijing(2026, 3, 10, 0, 30);
        assert_eq!(submitted.to_rfc3339(), "2026-03-09T16:30:00+00:00");
        assert_eq!(
            due_at(submitted, &cn_2026(), &ReviewHours::default()),
            beijing(2026, 3, 10, 18, 0)
        );
    }

    #[test]
    fn custom_hours_move_the_cut_off_and_the_deadline() {
        let hours = ReviewHours::new(t(8, 30), t(17, 30), t(17, 0)).unwrap();
        let due = due_at(beijing(2026, 3, 10, 16, 30), &cn_2026(), &hours);
        assert_eq!(due, beijing(2026, 3, 10, 17, 30));
    }

    #[test]
    fn review_hours_need_the_cut_off_between_opening_and_closing() {
        assert_eq!(
            ReviewHours::new(t(9, 0), t(18, 0), t(9, 0)),
            Err(ReviewHoursError::CutoffNotAfterOpening)
        );
        assert_eq!(
            ReviewHours::new(t(9, 0), t(18, 0), t(18, 1)),
            Err(ReviewHoursError::CutoffAfterClosing)
        );
        assert!(ReviewHours::new(t(9, 0), t(18, 0), t(18, 0)).is_ok());
        assert_eq!(
            ReviewHoursError::CutoffAfterClosing.code(),
            "review_cutoff_after_closing"
        );
        let default = ReviewHours::default();
        assert_eq!(
            (default.opens(), default.cutoff(), default.closes()),
            (t(9, 0), t(16, 0), t(18, 0))
        );
    }

    #[test]
    fn reviewers_are_at_work_only_inside_hours_on_working_days() {
        let hours = ReviewHours::default();
        let calendar = cn_2026();
        assert!(hours.is_open_at(beijing(2026, 3, 10, 9, 0), &calendar));
        assert!(!hours.is_open_at(beijing(2026, 3, 10, 18, 0), &calendar));
        assert!(!hours.is_open_at(beijing(2026, 10, 5, 10, 0), &calendar));
    }

    #[test]
    fn an_application_is_overdue_only_after_its_deadline() {
        let due = beijing(2026, 3, 10, 18, 0);
        assert!(!is_overdue(due, due));
        assert_eq!(lateness(due, due), None);
        assert!(is_overdue(due, beijing(2026, 3, 10, 18, 1)));
        assert_eq!(
            lateness(due, beijing(2026, 3, 11, 9, 30)),
            Some(TimeDelta::minutes(15 * 60 + 30))
        );
    }
}
