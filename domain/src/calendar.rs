//! The working-day calendar (工作日历) of mainland China in local time.
//!
//! China observes one time zone, UTC+08:00 (Asia/Shanghai), without daylight saving, so a
//! fixed offset is exact. Days follow the ordinary week (Monday–Friday work) unless an override
//! says otherwise: public holidays and bridged days off are `rest`, weekend days worked in
//! exchange (调休上班) are `work`. Overrides come from the calendar table, seeded from the State
//! Council's yearly notice and editable by admins.

use std::collections::BTreeMap;

use chrono::{
    DateTime, Datelike, Days, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta, Utc,
    Weekday,
};

use crate::vocab::string_enum;

/// China Standard Time, UTC+08:00 (Asia/Shanghai; no daylight saving since 1991).
pub const CHINA_TIME: FixedOffset = match FixedOffset::east_opt(8 * 3600) {
    Some(offset) => offset,
    None => panic!("UTC+08:00 is a valid offset"),
};

/// An instant as Beijing local time.
pub fn to_local(instant: DateTime<Utc>) -> DateTime<FixedOffset> {
    instant.with_timezone(&CHINA_TIME)
}

/// The Beijing local date of an instant (the day statistics and deadlines are counted in).
pub fn local_date(instant: DateTime<Utc>) -> NaiveDate {
    to_local(instant).date_naive()
}

/// The instant of a Beijing local date and time.
pub fn from_local(date: NaiveDate, time: NaiveTime) -> DateTime<Utc> {
    from_local_datetime(date.and_time(time))
}

fn from_local_datetime(local: NaiveDateTime) -> DateTime<Utc> {
    (local - TimeDelta::seconds(i64::from(CHINA_TIME.local_minus_utc()))).and_utc()
}

string_enum! {
    /// Whether a day is worked.
    pub enum DayKind {
        what = "日期类型",
        code = InvalidDayKind,
        /// 工作日 (including a weekend worked in exchange, 调休上班).
        Work = "work" => "工作日",
        /// 休息日 (weekend, public holiday or bridged day off).
        Rest = "rest" => "休息日",
    }
}

/// Working days: the ordinary week plus dated overrides.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WorkingCalendar {
    overrides: BTreeMap<NaiveDate, DayKind>,
}

impl WorkingCalendar {
    /// A calendar with these overrides; a later entry for the same date wins.
    pub fn new(overrides: impl IntoIterator<Item = (NaiveDate, DayKind)>) -> Self {
        Self {
            overrides: overrides.into_iter().collect(),
        }
    }

    /// The ordinary week only (Monday–Friday work), for a year with no published arrangements.
    pub fn ordinary_week() -> Self {
        Self::default()
    }

    /// The overrides, in date order.
    pub fn overrides(&self) -> impl Iterator<Item = (NaiveDate, DayKind)> + '_ {
        self.overrides.iter().map(|(date, kind)| (*date, *kind))
    }

    /// What kind of day `date` is.
    pub fn kind_of(&self, date: NaiveDate) -> DayKind {
        match self.overrides.get(&date) {
            Some(kind) => *kind,
            None if matches!(date.weekday(), Weekday::Sat | Weekday::Sun) => DayKind::Rest,
            None => DayKind::Work,
        }
    }

    /// Whether `date` is a working day.
    pub fn is_working_day(&self, date: NaiveDate) -> bool {
        self.kind_of(date) == DayKind::Work
    }

    /// The first working day strictly after `date`.
    ///
    /// Always terminates: past the last override the ordinary week has five working days in
    /// seven. Panics only beyond chrono's last representable date (year 262 142).
    pub fn next_working_day(&self, date: NaiveDate) -> NaiveDate {
        let mut day = date + Days::new(1);
        while !self.is_working_day(day) {
            day = day + Days::new(1);
        }
        day
    }

    /// The instant `n` working days after `start`, counted in Beijing local time.
    ///
    /// From a working day the result is the same time of day on the `n`-th following working day
    /// (Friday 15:00 + 3 → Wednesday 15:00 in an ordinary week). From a rest day the count starts
    /// with the next working day and the result is the end (24:00) of the `n`-th one, so the
    /// party waited on always gets `n` whole working days. `n = 0` is `start`.
    pub fn add_working_days(&self, start: DateTime<Utc>, n: u32) -> DateTime<Utc> {
        if n == 0 {
            return start;
        }
        let local = to_local(start).naive_local();
        let mut day = local.date();
        for _ in 0..n {
            day = self.next_working_day(day);
        }
        if self.is_working_day(local.date()) {
            from_local_datetime(day.and_time(local.time()))
        } else {
            from_local(day + Days::new(1), NaiveTime::MIN)
        }
    }

    /// Whether any override is recorded for `year`: when the coming year has none, its holiday
    /// arrangements have not been loaded and admins should be warned.
    pub fn has_entries_for_year(&self, year: i32) -> bool {
        let (Some(first), Some(last)) = (
            NaiveDate::from_ymd_opt(year, 1, 1),
            NaiveDate::from_ymd_opt(year, 12, 31),
        ) else {
            return false;
        };
        self.overrides.range(first..=last).next().is_some()
    }

    /// The years whose holidays should be loaded by `today` but are not: this year always, and
    /// next year from November on (the State Council publishes it late in the year).
    /// ([`crate::calendar_year::years_due`] decides which years are due.)
    pub fn years_missing_holidays(&self, today: NaiveDate) -> Vec<i32> {
        crate::calendar_year::missing_years(today, |year| self.has_entries_for_year(year))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    #[test]
    fn next_years_holidays_are_due_from_november() {
        let with_2026 = WorkingCalendar::new([(date(2026, 1, 1), DayKind::Rest)]);
        assert_eq!(
            with_2026.years_missing_holidays(date(2026, 10, 31)),
            Vec::<i32>::new()
        );
        assert_eq!(
            with_2026.years_missing_holidays(date(2026, 11, 1)),
            vec![2027]
        );
        assert_eq!(
            WorkingCalendar::ordinary_week().years_missing_holidays(date(2026, 3, 1)),
            vec![2026]
        );
    }

    /// The 2026 arrangements (国务院办公厅 2025-11-04), as in `data/calendar/cn-2026.csv`.
    pub(crate) const CN_2026: &str = "\
2026-01-01,rest,元旦
2026-01-02,rest,元旦
2026-01-03,rest,元旦
2026-01-04,work,元旦
2026-02-14,work,春节
2026-02-15,rest,春节
2026-02-16,rest,春节
2026-02-17,rest,春节
2026-02-18,rest,春节
2026-02-19,rest,春节
2026-02-20,rest,春节
2026-02-21,rest,春节
2026-02-22,rest,春节
2026-02-23,rest,春节
2026-02-28,work,春节
2026-04-04,rest,清明节
2026-04-05,rest,清明节
2026-04-06,rest,清明节
2026-05-01,rest,劳动节
2026-05-02,rest,劳动节
2026-05-03,rest,劳动节
2026-05-04,rest,劳动节
2026-05-05,rest,劳动节
2026-05-09,work,劳动节
2026-06-19,rest,端午节
2026-06-20,rest,端午节
2026-06-21,rest,端午节
2026-09-20,work,国庆节
2026-09-25,rest,中秋节
2026-09-26,rest,中秋节
2026-09-27,rest,中秋节
2026-10-01,rest,国庆节
2026-10-02,rest,国庆节
2026-10-03,rest,国庆节
2026-10-04,rest,国庆节
2026-10-05,rest,国庆节
2026-10-06,rest,国庆节
2026-10-07,rest,国庆节
2026-10-10,work,国庆节";

    pub(crate) fn cn_2026() -> WorkingCalendar {
        WorkingCalendar::new(CN_2026.lines().map(|line| {
            let mut fields = line.split(',');
            let date = fields.next().unwrap().parse().unwrap();
            let kind = DayKind::parse(fields.next().unwrap()).unwrap();
            (date, kind)
        }))
    }

    pub(crate) fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    /// A Beijing local time as an instant.
    pub(crate) fn beijing(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        from_local(date(y, m, d), NaiveTime::from_hms_opt(h, min, 0).unwrap())
    }

    #[test]
    fn beijing_time_is_eight_hours_ahead_of_utc() {
        let instant = beijing(2026, 1, 5, 7, 30);
        assert_eq!(instant.to_rfc3339(), "2026-01-04T23:30:00+00:00");
        assert_eq!(local_date(instant), date(2026, 1, 5));
        assert_eq!(to_local(instant).to_rfc3339(), "2026-01-05T07:30:00+08:00");
    }

    #[test]
    fn the_ordinary_week_works_monday_to_friday() {
        let calendar = WorkingCalendar::ordinary_week();
        assert!(calendar.is_working_day(date(2027, 3, 5))); // Friday
        assert!(!calendar.is_working_day(date(2027, 3, 6))); // Saturday
        assert_eq!(
            calendar.next_working_day(date(2027, 3, 5)),
            date(2027, 3, 8)
        );
    }

    #[test]
    fn new_year_2026_is_three_days_off_and_sunday_the_fourth_is_worked() {
        let calendar = cn_2026();
        assert!(!calendar.is_working_day(date(2026, 1, 1)));
        assert!(!calendar.is_working_day(date(2026, 1, 2)));
        assert_eq!(calendar.kind_of(date(2026, 1, 3)), DayKind::Rest); // Saturday
        assert_eq!(calendar.kind_of(date(2026, 1, 4)), DayKind::Work); // Sunday, 调休
        assert_eq!(
            calendar.next_working_day(date(2025, 12, 31)),
            date(2026, 1, 4)
        );
    }

    #[test]
    fn the_day_after_the_national_day_holiday_is_the_eighth_of_october() {
        let calendar = cn_2026();
        assert_eq!(
            calendar.next_working_day(date(2026, 9, 30)),
            date(2026, 10, 8)
        );
        assert_eq!(
            calendar.next_working_day(date(2026, 10, 9)),
            date(2026, 10, 10)
        ); // Saturday, 调休
    }

    #[test]
    fn three_working_days_from_a_friday_skip_the_weekend_but_count_an_adjusted_sunday() {
        let calendar = cn_2026();
        // Fri 18 Sep → Sun 20 (调休上班), Mon 21, Tue 22.
        assert_eq!(
            calendar.add_working_days(beijing(2026, 9, 18, 15, 0), 3),
            beijing(2026, 9, 22, 15, 0)
        );
        assert_eq!(
            WorkingCalendar::ordinary_week().add_working_days(beijing(2027, 3, 5, 15, 0), 3),
            beijing(2027, 3, 10, 15, 0)
        );
    }

    #[test]
    fn counting_from_a_holiday_gives_whole_working_days() {
        let calendar = cn_2026();
        // Sat 3 Oct (国庆) → Thu 8, Fri 9, Sat 10 (调休上班) → end of the 10th.
        assert_eq!(
            calendar.add_working_days(beijing(2026, 10, 3, 10, 0), 3),
            beijing(2026, 10, 11, 0, 0)
        );
        assert_eq!(
            calendar.add_working_days(beijing(2026, 10, 3, 10, 0), 0),
            beijing(2026, 10, 3, 10, 0)
        );
    }

    #[test]
    fn a_late_evening_instant_counts_from_its_beijing_date_not_its_utc_date() {
        let calendar = cn_2026();
        // 23:30 on Wed 30 Sep in Beijing is still 15:30 UTC on the 30th; 00:30 on Thu 1 Oct
        // Beijing is 16:30 UTC on the 30th but a holiday in Beijing.
        assert_eq!(
            calendar.add_working_days(beijing(2026, 9, 30, 23, 30), 1),
            beijing(2026, 10, 8, 23, 30)
        );
        assert_eq!(
            calendar.add_working_days(beijing(2026, 10, 1, 0, 30), 1),
            beijing(2026, 10, 9, 0, 0)
        );
    }

    #[test]
    fn a_year_without_overrides_is_reported_as_missing() {
        let calendar = cn_2026();
        assert!(calendar.has_entries_for_year(2026));
        assert!(!calendar.has_entries_for_year(2027));
        assert!(!calendar.has_entries_for_year(2025));
    }

    #[test]
    fn a_later_override_for_the_same_date_wins() {
        let calendar = WorkingCalendar::new([
            (date(2027, 3, 5), DayKind::Rest),
            (date(2027, 3, 5), DayKind::Work),
        ]);
        assert!(calendar.is_working_day(date(2027, 3, 5)));
        assert_eq!(calendar.overrides().count(), 1);
    }
}
