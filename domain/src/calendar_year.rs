//! One year of the working-day calendar as a federation loads it: the State Council's yearly
//! arrangements (国务院办公厅关于某年部分节假日安排的通知) as a list of overrides of the ordinary
//! week, checked as a whole before it replaces the year.
//!
//! The rules of a year's list, decided here once:
//!
//! - every date lies inside the year, and no date is listed twice;
//! - `kind` is `work` or `rest`;
//! - a `work` entry must fall on a Saturday or Sunday: it is an adjusted working day (调休上班).
//!   Monday to Friday are worked anyway, so `work` on a weekday is meaningless and refused;
//! - a `rest` entry on a weekday is a public holiday or a bridged day off (名称 optional); a
//!   `rest` entry on a weekend changes nothing about the day and is only meaningful as part of a
//!   holiday period (the Saturday of a three-day 元旦 holiday), so it must name its holiday;
//! - the holiday name is trimmed, at most [`HolidayName::MAX_CHARS`] characters, without
//!   control characters;
//! - the list is not empty: a loaded year always has some holiday.
//!
//! The CSV format of `data/calendar/` (`date,kind,holiday`, UTF-8, a byte-order mark tolerated,
//! LF or CRLF, blank lines ignored, a field may be double-quoted) is parsed into the same list;
//! its errors carry the line number in the file (the header is line 1).
//!
//! Which years a deployment needs is [`years_due`]: the current Beijing year always, and the
//! next one from November on (the State Council publishes it in late October or November), so
//! that monitoring does not alarm for ten months of every year about a notice that cannot exist
//! yet.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{Datelike, NaiveDate, Weekday};

use crate::admin::AdminRole;
use crate::calendar::DayKind;
use crate::error_code::ErrorCode;

/// The first month in which next year's arrangements are due.
pub const NEXT_YEAR_DUE_FROM_MONTH: u32 = 11;

/// The years whose arrangements should be loaded on `today` (a Beijing date): this year, and
/// next year from November on.
pub fn years_due(today: NaiveDate) -> Vec<i32> {
    let mut due = vec![today.year()];
    if today.month() >= NEXT_YEAR_DUE_FROM_MONTH {
        due.push(today.year() + 1);
    }
    due
}

/// The years due on `today` that are not loaded.
pub fn missing_years(today: NaiveDate, is_loaded: impl Fn(i32) -> bool) -> Vec<i32> {
    years_due(today)
        .into_iter()
        .filter(|year| !is_loaded(*year))
        .collect()
}

/// Why an admin may not replace a year of the calendar.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("工作日历全国统一，只能由顶级工会（没有上级工会）的管理员修改")]
pub struct MayNotEditCalendar;

impl MayNotEditCalendar {
    /// Stable machine code.
    pub fn code(&self) -> ErrorCode {
        ErrorCode::Forbidden
    }
}

/// The calendar is national: only a manager of a root union (one without a parent) replaces
/// a year. Every admin may read it.
pub fn may_edit_calendar(role: AdminRole, union_is_root: bool) -> Result<(), MayNotEditCalendar> {
    if role.can_manage() && union_is_root {
        Ok(())
    } else {
        Err(MayNotEditCalendar)
    }
}

/// A year outside the range the calendar accepts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("年份必须在{min}到{max}之间", min = CalendarYear::MIN, max = CalendarYear::MAX)]
pub struct CalendarYearError;

impl CalendarYearError {
    /// Stable machine code.
    pub fn code(&self) -> ErrorCode {
        ErrorCode::InvalidCalendarYear
    }
}

/// A calendar year, 2000–2099.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CalendarYear(i32);

impl CalendarYear {
    /// The first year accepted.
    pub const MIN: i32 = 2000;
    /// The last year accepted.
    pub const MAX: i32 = 2099;

    /// Checks the range.
    pub fn new(year: i64) -> Result<Self, CalendarYearError> {
        i32::try_from(year)
            .ok()
            .filter(|y| (Self::MIN..=Self::MAX).contains(y))
            .map(Self)
            .ok_or(CalendarYearError)
    }

    /// The year number.
    pub fn get(self) -> i32 {
        self.0
    }

    /// 1 January.
    pub fn first_day(self) -> NaiveDate {
        NaiveDate::from_ymd_opt(self.0, 1, 1).unwrap_or(NaiveDate::MIN)
    }

    /// 31 December.
    pub fn last_day(self) -> NaiveDate {
        NaiveDate::from_ymd_opt(self.0, 12, 31).unwrap_or(NaiveDate::MAX)
    }

    /// Whether `date` lies in this year.
    pub fn contains(self, date: NaiveDate) -> bool {
        date.year() == self.0
    }
}

impl fmt::Display for CalendarYear {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Why a holiday name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HolidayNameError {
    /// Longer than the limit.
    #[error("节日名称不能超过{max}个字", max = HolidayName::MAX_CHARS)]
    TooLong,
    /// Holds a control character.
    #[error("节日名称中不能包含控制字符")]
    ControlCharacter,
}

/// The festival a day belongs to (元旦, 春节, 国庆节 …), trimmed; may be empty.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct HolidayName(String);

impl HolidayName {
    /// The longest name accepted, in characters ("中秋节、国庆节" is 7).
    pub const MAX_CHARS: usize = 20;

    /// Trims and checks a name.
    pub fn parse(s: &str) -> Result<Self, HolidayNameError> {
        let name = s.trim();
        if name.chars().any(char::is_control) {
            return Err(HolidayNameError::ControlCharacter);
        }
        if name.chars().count() > Self::MAX_CHARS {
            return Err(HolidayNameError::TooLong);
        }
        Ok(Self(name.to_owned()))
    }

    /// The name as stored.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether no name was given.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// One override of the ordinary week.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CalendarDay {
    /// The Beijing date.
    pub date: NaiveDate,
    /// Worked or not.
    pub kind: DayKind,
    /// The festival it belongs to.
    pub holiday: HolidayName,
}

/// One entry as received, before checking (a JSON item or a CSV row).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DayInput {
    /// `YYYY-MM-DD`.
    pub date: String,
    /// `work` or `rest`.
    pub kind: String,
    /// The festival, if any.
    pub holiday: Option<String>,
}

/// The column of an entry at fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DayColumn {
    /// `date`.
    Date,
    /// `kind`.
    Kind,
    /// `holiday`.
    Holiday,
}

impl DayColumn {
    /// The field name as it travels.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Date => "date",
            Self::Kind => "kind",
            Self::Holiday => "holiday",
        }
    }
}

/// What is wrong with one entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DayProblem {
    /// Not a real `YYYY-MM-DD` date.
    #[error("日期格式不正确，应为 YYYY-MM-DD 格式的真实日期")]
    InvalidDate,
    /// Neither `work` nor `rest`.
    #[error("日期类型只能是 work（调休上班）或 rest（休息）")]
    InvalidKind,
    /// A date of another year.
    #[error("{date} 不在{year}年内")]
    OutsideYear {
        /// The date.
        date: NaiveDate,
        /// The year being replaced.
        year: i32,
    },
    /// The same date again.
    #[error("{date} 重复出现")]
    Duplicate {
        /// The date.
        date: NaiveDate,
    },
    /// `work` on Monday–Friday: those days are worked anyway.
    #[error("{date} 是周一至周五，本来就是工作日；调休上班（work）只能设在周六或周日")]
    WorkOnWeekday {
        /// The date.
        date: NaiveDate,
    },
    /// `rest` on a weekend without the holiday it belongs to.
    #[error("{date} 是周末，本来就休息；列为休息日时须注明所属节日")]
    UnnamedWeekendRest {
        /// The date.
        date: NaiveDate,
    },
    /// A bad holiday name.
    #[error("{0}")]
    HolidayName(HolidayNameError),
}

impl DayProblem {
    /// Stable machine code.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::InvalidDate => ErrorCode::InvalidDate,
            Self::InvalidKind => ErrorCode::InvalidDayKind,
            Self::OutsideYear { .. } => ErrorCode::CalendarDayOutsideYear,
            Self::Duplicate { .. } => ErrorCode::CalendarDayDuplicate,
            Self::WorkOnWeekday { .. } => ErrorCode::CalendarWorkOnWeekday,
            Self::UnnamedWeekendRest { .. } => ErrorCode::CalendarWeekendRestUnnamed,
            Self::HolidayName(_) => ErrorCode::InvalidHolidayName,
        }
    }

    /// The column at fault.
    pub fn column(&self) -> DayColumn {
        match self {
            Self::InvalidDate
            | Self::OutsideYear { .. }
            | Self::Duplicate { .. }
            | Self::WorkOnWeekday { .. } => DayColumn::Date,
            Self::InvalidKind => DayColumn::Kind,
            Self::UnnamedWeekendRest { .. } | Self::HolidayName(_) => DayColumn::Holiday,
        }
    }
}

/// Where an entry was: its index in a JSON list (from 0) or its line in a CSV file (from 1,
/// the header being line 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Position {
    /// Index in the list.
    Item(usize),
    /// Line of the file.
    Line(usize),
}

/// Why a year's list was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarInputError {
    /// No entry at all.
    #[error("请至少列出一天：每年都有法定节假日")]
    Empty,
    /// The CSV file is not UTF-8.
    #[error("CSV 文件必须是 UTF-8 编码")]
    NotUtf8,
    /// The first line is not `date,kind,holiday`.
    #[error("CSV 第 1 行必须是表头 date,kind,holiday")]
    Header,
    /// A line without exactly three fields, or with a broken quote.
    #[error("CSV 第 {line} 行应有 3 列（date,kind,holiday）")]
    Row {
        /// The line.
        line: usize,
    },
    /// One entry is wrong.
    #[error("{}：{problem}", position_zh(*at))]
    Day {
        /// Where.
        at: Position,
        /// What.
        problem: DayProblem,
    },
}

fn position_zh(at: Position) -> String {
    match at {
        Position::Item(i) => format!("第 {} 项", i + 1),
        Position::Line(n) => format!("CSV 第 {n} 行"),
    }
}

impl CalendarInputError {
    /// Stable machine code.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Empty => ErrorCode::CalendarYearEmpty,
            Self::NotUtf8 => ErrorCode::CalendarCsvNotUtf8,
            Self::Header => ErrorCode::CalendarCsvHeader,
            Self::Row { .. } => ErrorCode::CalendarCsvRow,
            Self::Day { problem, .. } => problem.code(),
        }
    }
}

/// A year's overrides, checked (see the module documentation), in date order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YearCalendar {
    year: CalendarYear,
    days: Vec<CalendarDay>,
}

impl YearCalendar {
    /// Checks `entries` (positions are their indexes) as the whole list of `year`.
    pub fn parse(
        year: CalendarYear,
        entries: impl IntoIterator<Item = DayInput>,
    ) -> Result<Self, CalendarInputError> {
        Self::check(
            year,
            entries
                .into_iter()
                .enumerate()
                .map(|(i, e)| (Position::Item(i), e)),
        )
    }

    /// Parses the CSV format of `data/calendar/` as the whole list of `year`.
    pub fn from_csv(year: CalendarYear, bytes: &[u8]) -> Result<Self, CalendarInputError> {
        let text = std::str::from_utf8(bytes).map_err(|_| CalendarInputError::NotUtf8)?;
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut lines = text
            .split('\n')
            .map(|line| line.strip_suffix('\r').unwrap_or(line))
            .enumerate()
            .map(|(i, line)| (i + 1, line))
            .filter(|(_, line)| !line.trim().is_empty());
        let header = lines.next().ok_or(CalendarInputError::Empty)?;
        let header_fields = split_csv_line(header.1);
        let expected = ["date", "kind", "holiday"];
        let header_ok = header.0 == 1
            && header_fields.as_ref().is_some_and(|fields| {
                fields.len() == 3 && fields.iter().zip(expected).all(|(f, e)| f.trim() == e)
            });
        if !header_ok {
            return Err(CalendarInputError::Header);
        }
        let mut entries = Vec::new();
        for (line, text) in lines {
            let fields = split_csv_line(text)
                .filter(|fields| fields.len() == 3)
                .ok_or(CalendarInputError::Row { line })?;
            let [date, kind, holiday]: [String; 3] = fields
                .try_into()
                .map_err(|_| CalendarInputError::Row { line })?;
            entries.push((
                Position::Line(line),
                DayInput {
                    date,
                    kind,
                    holiday: Some(holiday),
                },
            ));
        }
        Self::check(year, entries)
    }

    fn check(
        year: CalendarYear,
        entries: impl IntoIterator<Item = (Position, DayInput)>,
    ) -> Result<Self, CalendarInputError> {
        let mut days: BTreeMap<NaiveDate, CalendarDay> = BTreeMap::new();
        for (at, entry) in entries {
            let fail = |problem| CalendarInputError::Day { at, problem };
            let day = check_day(year, &entry).map_err(fail)?;
            if days.contains_key(&day.date) {
                return Err(fail(DayProblem::Duplicate { date: day.date }));
            }
            days.insert(day.date, day);
        }
        if days.is_empty() {
            return Err(CalendarInputError::Empty);
        }
        Ok(Self {
            year,
            days: days.into_values().collect(),
        })
    }

    /// The year.
    pub fn year(&self) -> CalendarYear {
        self.year
    }

    /// The overrides, in date order.
    pub fn days(&self) -> &[CalendarDay] {
        &self.days
    }

    /// The list as the CSV format of `data/calendar/` (header, LF line ends).
    pub fn to_csv(&self) -> String {
        to_csv(&self.days)
    }
}

/// `days` as the CSV format of `data/calendar/`.
pub fn to_csv(days: &[CalendarDay]) -> String {
    let mut out = String::from("date,kind,holiday\n");
    for day in days {
        let name = day.holiday.as_str();
        let name = if name.contains([',', '"']) {
            format!("\"{}\"", name.replace('"', "\"\""))
        } else {
            name.to_owned()
        };
        out.push_str(&format!("{},{},{}\n", day.date, day.kind.as_str(), name));
    }
    out
}

fn check_day(year: CalendarYear, entry: &DayInput) -> Result<CalendarDay, DayProblem> {
    let date = NaiveDate::parse_from_str(entry.date.trim(), "%Y-%m-%d")
        .ok()
        .filter(|_| entry.date.trim().len() == 10)
        .ok_or(DayProblem::InvalidDate)?;
    if !year.contains(date) {
        return Err(DayProblem::OutsideYear {
            date,
            year: year.get(),
        });
    }
    let kind = DayKind::parse(entry.kind.trim()).map_err(|_| DayProblem::InvalidKind)?;
    let holiday = HolidayName::parse(entry.holiday.as_deref().unwrap_or(""))
        .map_err(DayProblem::HolidayName)?;
    let weekend = matches!(date.weekday(), Weekday::Sat | Weekday::Sun);
    match kind {
        DayKind::Work if !weekend => return Err(DayProblem::WorkOnWeekday { date }),
        DayKind::Rest if weekend && holiday.is_empty() => {
            return Err(DayProblem::UnnamedWeekendRest { date });
        }
        _ => {}
    }
    Ok(CalendarDay {
        date,
        kind,
        holiday,
    })
}

/// Splits one CSV line into fields: commas separate, a field may be double-quoted (`""` is a
/// quote inside). `None` when a quote is left open or text follows a closing quote.
pub(crate) fn split_csv_line(line: &str) -> Option<Vec<String>> {
    let mut fields = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        let mut field = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            loop {
                match chars.next()? {
                    '"' if chars.peek() == Some(&'"') => {
                        chars.next();
                        field.push('"');
                    }
                    '"' => break,
                    c => field.push(c),
                }
            }
            match chars.next() {
                None => {
                    fields.push(field);
                    return Some(fields);
                }
                Some(',') => fields.push(field),
                Some(_) => return None,
            }
        } else {
            loop {
                match chars.next() {
                    None => {
                        fields.push(field);
                        return Some(fields);
                    }
                    Some(',') => break,
                    Some('"') => return None,
                    Some(c) => field.push(c),
                }
            }
            fields.push(field);
        }
    }
}

/// What a replacement changes, for the audit trail.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CalendarDiff {
    /// Dates listed now and not before.
    pub added: Vec<CalendarDay>,
    /// Dates listed before and not now.
    pub removed: Vec<CalendarDay>,
    /// Dates listed in both, with another kind or holiday: (before, after).
    pub changed: Vec<(CalendarDay, CalendarDay)>,
}

impl CalendarDiff {
    /// The changes from `before` to `after`.
    pub fn between(before: &[CalendarDay], after: &[CalendarDay]) -> Self {
        let old: BTreeMap<NaiveDate, &CalendarDay> = before.iter().map(|d| (d.date, d)).collect();
        let new: BTreeMap<NaiveDate, &CalendarDay> = after.iter().map(|d| (d.date, d)).collect();
        let mut diff = Self::default();
        for (date, day) in &new {
            match old.get(date) {
                None => diff.added.push((*day).clone()),
                Some(was) if was != day => diff.changed.push(((*was).clone(), (*day).clone())),
                Some(_) => {}
            }
        }
        diff.removed = old
            .iter()
            .filter(|(date, _)| !new.contains_key(date))
            .map(|(_, day)| (*day).clone())
            .collect();
        diff
    }

    /// Whether nothing changes.
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty() && self.changed.is_empty()
    }

    /// A line for the audit trail: counts before → after, then each change (at most
    /// `max_listed` of them, then how many more).
    pub fn describe(
        &self,
        year: CalendarYear,
        before: usize,
        after: usize,
        max_listed: usize,
    ) -> String {
        let mut text = format!(
            "{year}年：{before} → {after} 天（新增 {}，删除 {}，修改 {}）",
            self.added.len(),
            self.removed.len(),
            self.changed.len()
        );
        let show = |day: &CalendarDay| {
            format!(
                "{} {} {}",
                day.date,
                day.kind.as_str(),
                day.holiday.as_str()
            )
        };
        let items: Vec<String> = self
            .added
            .iter()
            .map(|d| format!("+{}", show(d)))
            .chain(self.removed.iter().map(|d| format!("-{}", show(d))))
            .chain(
                self.changed
                    .iter()
                    .map(|(was, now)| format!("~{} → {}", show(was), show(now))),
            )
            .collect();
        if !items.is_empty() {
            text.push('；');
            let listed: Vec<&str> = items
                .iter()
                .take(max_listed)
                .map(|s| s.trim_end())
                .collect();
            text.push_str(&listed.join("；"));
            if items.len() > max_listed {
                text.push_str(&format!("；另有 {} 项", items.len() - max_listed));
            }
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::tests::{CN_2026, date};

    fn year(y: i64) -> CalendarYear {
        CalendarYear::new(y).unwrap()
    }

    fn input(date: &str, kind: &str, holiday: &str) -> DayInput {
        DayInput {
            date: date.into(),
            kind: kind.into(),
            holiday: Some(holiday.into()),
        }
    }

    fn refused(entries: Vec<DayInput>) -> CalendarInputError {
        YearCalendar::parse(year(2027), entries).unwrap_err()
    }

    #[test]
    fn the_shipped_2026_file_parses_and_round_trips() {
        let file = format!("date,kind,holiday\n{CN_2026}\n");
        let calendar = YearCalendar::from_csv(year(2026), file.as_bytes()).unwrap();
        assert_eq!(calendar.days().len(), 39);
        assert_eq!(calendar.to_csv(), file);
        let shipped = include_str!("../../data/calendar/cn-2026.csv");
        assert_eq!(
            YearCalendar::from_csv(year(2026), shipped.as_bytes()).unwrap(),
            calendar
        );
    }

    #[test]
    fn a_byte_order_mark_crlf_quotes_and_blank_lines_are_tolerated() {
        let file = "\u{feff}date,kind,holiday\r\n2027-10-01,rest,\"中秋节、国庆节\"\r\n\r\n2027-10-09,work,\"say \"\"hi\"\"\"\r\n";
        let calendar = YearCalendar::from_csv(year(2027), file.as_bytes()).unwrap();
        assert_eq!(calendar.days()[0].holiday.as_str(), "中秋节、国庆节");
        assert_eq!(calendar.days()[1].holiday.as_str(), "say \"hi\"");
        let again = YearCalendar::from_csv(year(2027), calendar.to_csv().as_bytes()).unwrap();
        assert_eq!(again, calendar);
    }

    #[test]
    fn csv_errors_name_their_line() {
        let bad_header = "day,kind,holiday\n2027-10-01,rest,国庆节\n";
        assert_eq!(
            YearCalendar::from_csv(year(2027), bad_header.as_bytes()),
            Err(CalendarInputError::Header)
        );
        let two_fields = "date,kind,holiday\n2027-10-01,rest,国庆节\n\n2027-10-02,rest\n";
        assert_eq!(
            YearCalendar::from_csv(year(2027), two_fields.as_bytes()),
            Err(CalendarInputError::Row { line: 4 })
        );
        let open_quote = "date,kind,holiday\n2027-10-01,rest,\"国庆节\n";
        assert_eq!(
            YearCalendar::from_csv(year(2027), open_quote.as_bytes()),
            Err(CalendarInputError::Row { line: 2 })
        );
        let bad_kind = "date,kind,holiday\n2027-10-01,rest,国庆节\n2027-10-02,holiday,国庆节\n";
        assert_eq!(
            YearCalendar::from_csv(year(2027), bad_kind.as_bytes()),
            Err(CalendarInputError::Day {
                at: Position::Line(3),
                problem: DayProblem::InvalidKind
            })
        );
        assert_eq!(
            YearCalendar::from_csv(year(2027), b"date,kind,holiday\n\xff,rest,x\n"),
            Err(CalendarInputError::NotUtf8)
        );
        assert_eq!(
            YearCalendar::from_csv(year(2027), b"date,kind,holiday\n"),
            Err(CalendarInputError::Empty)
        );
        assert_eq!(
            YearCalendar::from_csv(year(2027), b""),
            Err(CalendarInputError::Empty)
        );
    }

    #[test]
    fn a_day_listed_twice_is_refused_at_its_second_place() {
        let error = refused(vec![
            input("2027-10-01", "rest", "国庆节"),
            input("2027-10-04", "rest", "国庆节"),
            input("2027-10-01", "rest", "国庆节"),
        ]);
        assert_eq!(
            error,
            CalendarInputError::Day {
                at: Position::Item(2),
                problem: DayProblem::Duplicate {
                    date: date(2027, 10, 1)
                }
            }
        );
        assert_eq!(error.code(), ErrorCode::CalendarDayDuplicate);
    }

    #[test]
    fn a_date_outside_the_year_or_not_a_date_is_refused() {
        let outside = refused(vec![input("2026-12-31", "rest", "元旦")]);
        assert_eq!(outside.code(), ErrorCode::CalendarDayOutsideYear);
        for bad in ["2027-02-30", "2027-1-1", "20270101", "", "2027-01-01T00:00"] {
            let error = refused(vec![input(bad, "rest", "元旦")]);
            assert_eq!(error.code(), ErrorCode::InvalidDate, "{bad}");
        }
        assert_eq!(
            refused(vec![input("2027-01-01", "holiday", "元旦")]).code(),
            ErrorCode::InvalidDayKind
        );
    }

    #[test]
    fn work_must_fall_on_a_weekend_and_a_weekend_rest_must_name_its_holiday() {
        // 2027-03-05 is a Friday, 2027-03-06 a Saturday.
        let error = refused(vec![input("2027-03-05", "work", "")]);
        assert_eq!(error.code(), ErrorCode::CalendarWorkOnWeekday);
        let error = refused(vec![input("2027-03-06", "rest", " ")]);
        assert_eq!(error.code(), ErrorCode::CalendarWeekendRestUnnamed);
        let ok = YearCalendar::parse(
            year(2027),
            [
                input("2027-03-06", "work", ""),
                input("2027-03-05", "rest", ""),
                input("2027-03-07", "rest", "  某节  "),
            ],
        )
        .unwrap();
        assert_eq!(
            ok.days().iter().map(|d| d.date).collect::<Vec<_>>(),
            [date(2027, 3, 5), date(2027, 3, 6), date(2027, 3, 7)]
        );
        assert_eq!(ok.days()[2].holiday.as_str(), "某节");
    }

    #[test]
    fn holiday_names_are_short_and_printable() {
        assert_eq!(
            refused(vec![input("2027-03-05", "rest", &"节".repeat(21))]).code(),
            ErrorCode::InvalidHolidayName
        );
        assert_eq!(
            refused(vec![input("2027-03-05", "rest", "国庆\u{7}")]).code(),
            ErrorCode::InvalidHolidayName
        );
        assert!(HolidayName::parse(&"节".repeat(20)).is_ok());
    }

    #[test]
    fn an_empty_list_and_years_out_of_range_are_refused() {
        assert_eq!(refused(vec![]), CalendarInputError::Empty);
        assert!(CalendarYear::new(1999).is_err());
        assert!(CalendarYear::new(2100).is_err());
        assert!(CalendarYear::new(i64::MAX).is_err());
        assert_eq!(year(2027).first_day(), date(2027, 1, 1));
        assert_eq!(year(2027).last_day(), date(2027, 12, 31));
    }

    #[test]
    fn only_a_manager_of_a_root_union_edits_the_calendar() {
        assert!(may_edit_calendar(AdminRole::Manager, true).is_ok());
        assert!(may_edit_calendar(AdminRole::Manager, false).is_err());
        assert!(may_edit_calendar(AdminRole::Reviewer, true).is_err());
        assert!(may_edit_calendar(AdminRole::Viewer, true).is_err());
    }

    #[test]
    fn next_year_is_due_from_november_and_missing_when_not_loaded() {
        assert_eq!(years_due(date(2026, 10, 31)), vec![2026]);
        assert_eq!(years_due(date(2026, 11, 1)), vec![2026, 2027]);
        assert_eq!(missing_years(date(2026, 12, 4), |y| y == 2026), vec![2027]);
        assert_eq!(missing_years(date(2027, 1, 1), |y| y == 2026), vec![2027]);
        assert!(missing_years(date(2026, 12, 4), |_| true).is_empty());
    }

    #[test]
    fn the_diff_counts_and_lists_what_changes() {
        let before = YearCalendar::parse(
            year(2027),
            [
                input("2027-03-05", "rest", "甲"),
                input("2027-03-08", "rest", "乙"),
            ],
        )
        .unwrap();
        let after = YearCalendar::parse(
            year(2027),
            [
                input("2027-03-05", "rest", "丙"),
                input("2027-03-09", "rest", "丁"),
                input("2027-03-10", "rest", "戊"),
            ],
        )
        .unwrap();
        let diff = CalendarDiff::between(before.days(), after.days());
        assert_eq!(
            (diff.added.len(), diff.removed.len(), diff.changed.len()),
            (2, 1, 1)
        );
        assert_eq!(
            diff.describe(year(2027), 2, 3, 2),
            "2027年：2 → 3 天（新增 2，删除 1，修改 1）；+2027-03-09 rest 丁；+2027-03-10 rest 戊；另有 2 项"
        );
        assert!(CalendarDiff::between(after.days(), after.days()).is_empty());
    }
}
