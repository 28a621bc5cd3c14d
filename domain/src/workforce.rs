//! Workforce estimates and targets (底数 and 目标): how many people of an occupation group work in
//! a union's area in a year, and how many of them the union means to have as members. Coverage
//! is active members ÷ estimate; over a subtree, the sums of both.

use crate::admin::AdminRole;
use crate::credit_code::CreditCode;
use crate::error_code::ErrorCode;
use crate::ids::UnionId;
use crate::occupation::OccupationGroup;
use crate::text::WorkforceSource;

/// A year estimates are kept for: 2000–2100.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct WorkforceYear(i32);

/// A year outside 2000–2100.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("年度应为2000至2100之间的年份")]
pub struct WorkforceYearError;

impl WorkforceYearError {
    /// Stable machine code.
    pub fn code(&self) -> ErrorCode {
        ErrorCode::WorkforceYearOutOfRange
    }
}

impl WorkforceYear {
    /// The first year.
    pub const FIRST: i32 = 2000;
    /// The last year.
    pub const LAST: i32 = 2100;

    /// The year, if within 2000–2100.
    pub fn new(year: i32) -> Result<Self, WorkforceYearError> {
        if (Self::FIRST..=Self::LAST).contains(&year) {
            Ok(Self(year))
        } else {
            Err(WorkforceYearError)
        }
    }

    /// Parses a year as text (a path or query segment, a CSV cell).
    pub fn parse(text: &str) -> Result<Self, WorkforceYearError> {
        text.trim()
            .parse::<i32>()
            .map_err(|_| WorkforceYearError)
            .and_then(Self::new)
    }

    /// The year.
    pub fn get(self) -> i32 {
        self.0
    }
}

/// Why an estimate or target was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FiguresError {
    /// The estimate is negative or absurd (more than [`Figures::MAX_ESTIMATE`]).
    #[error("底数应为0至10000000之间的整数")]
    EstimateOutOfRange,
    /// The target is negative or absurd.
    #[error("目标应为0至10000000之间的整数")]
    TargetOutOfRange,
    /// The target is above the estimate: more members than workers.
    #[error("目标不能大于底数")]
    TargetAboveEstimate,
}

impl FiguresError {
    /// Stable machine code.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::EstimateOutOfRange | Self::TargetOutOfRange => {
                ErrorCode::WorkforceEstimateOutOfRange
            }
            Self::TargetAboveEstimate => ErrorCode::WorkforceTargetAboveEstimate,
        }
    }

    /// Whether the fault is the target's (else the estimate's).
    pub fn is_target(&self) -> bool {
        matches!(self, Self::TargetOutOfRange | Self::TargetAboveEstimate)
    }
}

/// One union × group × year's figures: the estimate, the target within it, and their source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Figures {
    /// 底数: people of the group working in the union's area.
    pub estimate: i64,
    /// 目标: members the union means to have, at most the estimate; none when not set.
    pub target: Option<i64>,
    /// Where the estimate comes from.
    pub source: WorkforceSource,
}

impl Figures {
    /// The largest estimate one union may give one group: ten million, more than the delivery
    /// riders of the whole country's largest city — a bigger number is a typing error.
    pub const MAX_ESTIMATE: i64 = 10_000_000;

    /// Checks the figures: estimate and target 0–[`Self::MAX_ESTIMATE`], target ≤ estimate.
    pub fn new(
        estimate: i64,
        target: Option<i64>,
        source: WorkforceSource,
    ) -> Result<Self, FiguresError> {
        let range = 0..=Self::MAX_ESTIMATE;
        if !range.contains(&estimate) {
            return Err(FiguresError::EstimateOutOfRange);
        }
        if let Some(target) = target {
            if !range.contains(&target) {
                return Err(FiguresError::TargetOutOfRange);
            }
            if target > estimate {
                return Err(FiguresError::TargetAboveEstimate);
            }
        }
        Ok(Self {
            estimate,
            target,
            source,
        })
    }
}

/// One group's figures to set, and the version the manager saw (`None`: the group has none yet).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupFigures {
    /// The occupation group.
    pub group: OccupationGroup,
    /// Its figures.
    pub figures: Figures,
    /// The row's version as read; `None` to create it.
    pub version: Option<i32>,
}

/// The right to set estimates and targets in one's subtree: managers only. Only
/// [`WorkforcePlanner::authorize`] makes one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WorkforcePlanner(());

/// The role may not read or set estimates and targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("只有管理员可以查看或设置底数和目标")]
pub struct MayNotPlanWorkforce;

impl WorkforcePlanner {
    /// The manager's right, if `role` has it.
    pub fn authorize(role: AdminRole) -> Result<Self, MayNotPlanWorkforce> {
        if role.can_manage() {
            Ok(Self(()))
        } else {
            Err(MayNotPlanWorkforce)
        }
    }
}

/// Two entries for one group in one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("同一职业类别只能填写一次")]
pub struct DuplicateGroup(pub OccupationGroup);

impl DuplicateGroup {
    /// Stable machine code.
    pub fn code(&self) -> ErrorCode {
        ErrorCode::WorkforceDuplicateGroup
    }
}

/// Checks that no group is named twice.
pub fn distinct_groups(entries: &[GroupFigures]) -> Result<(), DuplicateGroup> {
    let mut seen = std::collections::BTreeSet::new();
    for entry in entries {
        if !seen.insert(entry.group.as_str()) {
            return Err(DuplicateGroup(entry.group));
        }
    }
    Ok(())
}

/// How a row of a sheet names its union: by id or by unified social credit code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SheetUnion {
    /// The union's id.
    Id(UnionId),
    /// The union's credit code (统一社会信用代码).
    CreditCode(CreditCode),
}

/// One valid row of a workforce sheet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SheetRow {
    /// The line of the file (the header is line 1).
    pub line: usize,
    /// The union.
    pub union: SheetUnion,
    /// The header of the column that named the union (for a problem found later).
    pub union_column: String,
    /// The group.
    pub group: OccupationGroup,
    /// The figures.
    pub figures: Figures,
}

/// One problem of a sheet: where (line and column as headed in the file) and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowProblem {
    /// The line of the file (the header is line 1).
    pub line: usize,
    /// The column's header as written in the file; `None` for the whole row.
    pub column: Option<String>,
    /// The stable code of the problem.
    pub code: ErrorCode,
    /// What is wrong, in Chinese.
    pub message: String,
}

/// Why a sheet cannot be read at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SheetError {
    /// Not UTF-8.
    #[error("CSV 文件必须是 UTF-8 编码（可带 BOM）")]
    NotUtf8,
    /// No header, or no rows under it.
    #[error("CSV 文件没有数据行")]
    Empty,
    /// The header names an unknown or repeated column, or misses a required one.
    #[error("CSV 表头有误：{0}")]
    Header(String),
    /// More rows than one import takes.
    #[error("一次最多导入 {max} 行", max = WorkforceSheet::MAX_ROWS)]
    TooManyRows,
    /// Some rows are wrong: each problem, by line and column. Nothing is imported.
    #[error("CSV 文件有 {} 处错误", .0.len())]
    Rows(Vec<RowProblem>),
}

impl SheetError {
    /// Stable machine code (of the file; each row problem has its own).
    pub fn code(&self) -> ErrorCode {
        ErrorCode::InvalidWorkforceCsv
    }
}

/// The columns of a sheet, each with the headers it may be written as (English or Chinese).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Column {
    UnionId,
    CreditCode,
    Occupation,
    Estimate,
    Target,
    Source,
}

impl Column {
    const ALL: [Column; 6] = [
        Column::UnionId,
        Column::CreditCode,
        Column::Occupation,
        Column::Estimate,
        Column::Target,
        Column::Source,
    ];

    fn headers(self) -> &'static [&'static str] {
        match self {
            Column::UnionId => &["union_id", "工会编号", "工会id"],
            Column::CreditCode => &["credit_code", "统一社会信用代码"],
            Column::Occupation => &["occupation", "group", "职业类别"],
            Column::Estimate => &["estimate", "底数"],
            Column::Target => &["target", "目标"],
            Column::Source => &["source", "数据来源", "来源"],
        }
    }

    fn of(header: &str) -> Option<Column> {
        let header = header.trim().to_lowercase();
        Column::ALL
            .into_iter()
            .find(|c| c.headers().contains(&header.as_str()))
    }
}

/// A CSV sheet of many unions' estimates and targets for one year (`POST /v1/admin/workforce`):
/// UTF-8 with or without a byte-order mark; a header naming the columns in English or Chinese,
/// in any order — `union_id`/`工会编号` or `credit_code`/`统一社会信用代码` (each row fills
/// one), `occupation`/`职业类别` (the code or its Chinese label), `estimate`/`底数`,
/// `target`/`目标` (optional), `source`/`数据来源`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkforceSheet {
    /// The rows, in file order.
    pub rows: Vec<SheetRow>,
    /// The header of the occupation group's column (for a problem found later).
    pub occupation_column: String,
}

impl WorkforceSheet {
    /// The most rows one import takes.
    pub const MAX_ROWS: usize = 20_000;

    /// Parses a sheet; every problem of every row is reported, by line and column.
    pub fn parse(bytes: &[u8]) -> Result<Self, SheetError> {
        let text = std::str::from_utf8(bytes).map_err(|_| SheetError::NotUtf8)?;
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut lines = text
            .split('\n')
            .map(|line| line.strip_suffix('\r').unwrap_or(line))
            .enumerate()
            .map(|(i, line)| (i + 1, line))
            .filter(|(_, line)| !line.trim().is_empty());
        let (_, header) = lines.next().ok_or(SheetError::Empty)?;
        let headers = crate::calendar_year::split_csv_line(header)
            .ok_or_else(|| SheetError::Header("引号不成对".to_owned()))?;
        let columns = header_columns(&headers)?;
        let mut rows = Vec::new();
        let mut problems = Vec::new();
        for (line, text) in lines {
            if rows.len() + problems.len() >= Self::MAX_ROWS {
                return Err(SheetError::TooManyRows);
            }
            match parse_row(line, text, &headers, &columns) {
                Ok(row) => rows.push(row),
                Err(mut found) => problems.append(&mut found),
            }
        }
        if !problems.is_empty() {
            return Err(SheetError::Rows(problems));
        }
        if rows.is_empty() {
            return Err(SheetError::Empty);
        }
        let occupation_column = columns
            .iter()
            .position(|c| *c == Column::Occupation)
            .map(|i| headers[i].trim().to_owned())
            .unwrap_or_default();
        Ok(Self {
            rows,
            occupation_column,
        })
    }
}

/// The column of each header; refused when one is unknown or repeated, or a required one is
/// missing.
fn header_columns(headers: &[String]) -> Result<Vec<Column>, SheetError> {
    let mut columns = Vec::with_capacity(headers.len());
    for header in headers {
        let column = Column::of(header)
            .ok_or_else(|| SheetError::Header(format!("不认识的列“{}”", header.trim())))?;
        if columns.contains(&column) {
            return Err(SheetError::Header(format!("列“{}”重复", header.trim())));
        }
        columns.push(column);
    }
    if !columns.contains(&Column::UnionId) && !columns.contains(&Column::CreditCode) {
        return Err(SheetError::Header(
            "缺少“工会编号”或“统一社会信用代码”列".to_owned(),
        ));
    }
    for (required, name) in [
        (Column::Occupation, "职业类别"),
        (Column::Estimate, "底数"),
        (Column::Source, "数据来源"),
    ] {
        if !columns.contains(&required) {
            return Err(SheetError::Header(format!("缺少“{name}”列")));
        }
    }
    Ok(columns)
}

/// One row, or every problem in it.
fn parse_row(
    line: usize,
    text: &str,
    headers: &[String],
    columns: &[Column],
) -> Result<SheetRow, Vec<RowProblem>> {
    let whole_row = |message: String| {
        vec![RowProblem {
            line,
            column: None,
            code: ErrorCode::InvalidWorkforceCsv,
            message,
        }]
    };
    let cells = crate::calendar_year::split_csv_line(text)
        .ok_or_else(|| whole_row("引号不成对".to_owned()))?;
    if cells.len() != columns.len() {
        return Err(whole_row(format!(
            "应有 {} 列，实有 {} 列",
            columns.len(),
            cells.len()
        )));
    }
    let mut problems = Vec::new();
    let cell = |column: Column| -> Option<(&str, &str)> {
        columns
            .iter()
            .position(|c| *c == column)
            .map(|i| (headers[i].trim(), cells[i].trim()))
    };
    let mut problem = |(header, _): (&str, &str), code: ErrorCode, message: String| {
        problems.push(RowProblem {
            line,
            column: Some(header.to_owned()),
            code,
            message,
        });
    };
    fn filled<'a>(c: Option<(&'a str, &'a str)>) -> Option<(&'a str, &'a str)> {
        c.filter(|(_, v)| !v.is_empty())
    }
    let union_cell = filled(cell(Column::UnionId)).or(filled(cell(Column::CreditCode)));
    let union_column = union_cell.map(|(h, _)| h.to_owned()).unwrap_or_default();
    let union = match (
        filled(cell(Column::UnionId)),
        filled(cell(Column::CreditCode)),
    ) {
        (Some(id), None) => match id.1.parse::<i64>() {
            Ok(n) if n > 0 => Some(SheetUnion::Id(UnionId::new(n))),
            _ => {
                problem(
                    id,
                    ErrorCode::InvalidUnionId,
                    "工会编号应为正整数".to_owned(),
                );
                None
            }
        },
        (None, Some(code)) => match CreditCode::parse(code.1) {
            Ok(code) => Some(SheetUnion::CreditCode(code)),
            Err(e) => {
                problem(code, e.code(), e.to_string());
                None
            }
        },
        (Some(id), Some(_)) => {
            problem(
                id,
                ErrorCode::InvalidWorkforceCsv,
                "工会编号和统一社会信用代码只填一个".to_owned(),
            );
            None
        }
        (None, None) => {
            let at = cell(Column::UnionId)
                .or(cell(Column::CreditCode))
                .unwrap_or(("", ""));
            problem(
                at,
                ErrorCode::Required,
                "请填写工会编号或统一社会信用代码".to_owned(),
            );
            None
        }
    };
    let group = cell(Column::Occupation).and_then(|at| {
        let found = OccupationGroup::parse(at.1).ok().or_else(|| {
            OccupationGroup::ALL
                .iter()
                .copied()
                .find(|g| g.label_zh() == at.1)
        });
        if found.is_none() {
            problem(
                at,
                ErrorCode::InvalidOccupationGroup,
                "职业类别不在可选范围内".to_owned(),
            );
        }
        found
    });
    let number = |at: (&str, &str)| at.1.parse::<i64>().ok();
    let estimate = cell(Column::Estimate).and_then(|at| {
        let n = number(at);
        if n.is_none() {
            problem(
                at,
                ErrorCode::WorkforceEstimateOutOfRange,
                FiguresError::EstimateOutOfRange.to_string(),
            );
        }
        n
    });
    let target = match filled(cell(Column::Target)) {
        None => Some(None),
        Some(at) => match number(at) {
            Some(n) => Some(Some(n)),
            None => {
                problem(
                    at,
                    ErrorCode::WorkforceEstimateOutOfRange,
                    FiguresError::TargetOutOfRange.to_string(),
                );
                None
            }
        },
    };
    let source = cell(Column::Source).and_then(|at| match WorkforceSource::parse(at.1) {
        Ok(source) => Some(source),
        Err(e) => {
            problem(at, e.code(), e.to_string());
            None
        }
    });
    if let (Some(estimate), Some(target), Some(source)) = (estimate, target, source) {
        match Figures::new(estimate, target, source) {
            Ok(figures) => {
                if let (Some(union), Some(group)) = (union, group) {
                    return Ok(SheetRow {
                        line,
                        union,
                        union_column,
                        group,
                        figures,
                    });
                }
            }
            Err(e) => {
                let column = if e.is_target() {
                    Column::Target
                } else {
                    Column::Estimate
                };
                let at = cell(column).unwrap_or(("", ""));
                problem(at, e.code(), e.to_string());
            }
        }
    }
    Err(problems)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source() -> WorkforceSource {
        WorkforceSource::parse("2026年县总工会摸底调查").unwrap()
    }

    #[test]
    fn years_are_2000_to_2100() {
        assert_eq!(
            WorkforceYear::parse("2026").map(WorkforceYear::get),
            Ok(2026)
        );
        assert!(WorkforceYear::new(2000).is_ok());
        assert!(WorkforceYear::new(2100).is_ok());
        assert_eq!(WorkforceYear::new(1999), Err(WorkforceYearError));
        assert_eq!(WorkforceYear::new(2101), Err(WorkforceYearError));
        assert_eq!(WorkforceYear::parse("二〇二六"), Err(WorkforceYearError));
        assert_eq!(
            WorkforceYearError.code(),
            ErrorCode::WorkforceYearOutOfRange
        );
    }

    #[test]
    fn an_estimate_is_zero_to_ten_million_and_bounds_its_target() {
        assert!(Figures::new(0, Some(0), source()).is_ok());
        assert!(Figures::new(Figures::MAX_ESTIMATE, None, source()).is_ok());
        assert_eq!(
            Figures::new(-1, None, source()),
            Err(FiguresError::EstimateOutOfRange)
        );
        assert_eq!(
            Figures::new(Figures::MAX_ESTIMATE + 1, None, source()),
            Err(FiguresError::EstimateOutOfRange)
        );
        assert_eq!(
            Figures::new(100, Some(-1), source()),
            Err(FiguresError::TargetOutOfRange)
        );
        let above = Figures::new(100, Some(101), source()).unwrap_err();
        assert_eq!(above, FiguresError::TargetAboveEstimate);
        assert!(above.is_target());
        assert_eq!(above.code(), ErrorCode::WorkforceTargetAboveEstimate);
        assert_eq!(above.to_string(), "目标不能大于底数");
    }

    #[test]
    fn only_managers_plan_the_workforce() {
        assert!(WorkforcePlanner::authorize(AdminRole::Manager).is_ok());
        assert_eq!(
            WorkforcePlanner::authorize(AdminRole::Reviewer),
            Err(MayNotPlanWorkforce)
        );
        assert_eq!(
            WorkforcePlanner::authorize(AdminRole::Viewer),
            Err(MayNotPlanWorkforce)
        );
    }

    #[test]
    fn a_group_is_named_once_per_request() {
        let entry = |group| GroupFigures {
            group,
            figures: Figures::new(10, None, source()).unwrap(),
            version: None,
        };
        let both = [
            entry(OccupationGroup::Courier),
            entry(OccupationGroup::DeliveryRider),
        ];
        assert_eq!(distinct_groups(&both), Ok(()));
        let twice = [
            entry(OccupationGroup::Courier),
            entry(OccupationGroup::Courier),
        ];
        assert_eq!(
            distinct_groups(&twice),
            Err(DuplicateGroup(OccupationGroup::Courier))
        );
    }

    #[test]
    fn a_sheet_reads_english_or_chinese_headers_with_or_without_a_bom() {
        let english = "union_id,occupation,estimate,target,source\n\
                       12,courier,1200,960,2026年摸底调查\n\
                       12,delivery_rider,800,,平台数据\n";
        let sheet = WorkforceSheet::parse(english.as_bytes()).unwrap();
        assert_eq!(sheet.rows.len(), 2);
        assert_eq!(sheet.rows[0].line, 2);
        assert_eq!(sheet.rows[0].union, SheetUnion::Id(UnionId::new(12)));
        assert_eq!(sheet.rows[0].figures.target, Some(960));
        assert_eq!(sheet.rows[1].figures.target, None);
        let chinese = "\u{feff}统一社会信用代码,职业类别,底数,目标,数据来源\r\n\
                       91500237MA60DEM01F,快递员,300,200,\"调查,2026\"\r\n";
        let sheet = WorkforceSheet::parse(chinese.as_bytes()).unwrap();
        assert_eq!(sheet.rows[0].group, OccupationGroup::Courier);
        assert_eq!(sheet.rows[0].figures.source.as_str(), "调查,2026");
        assert!(matches!(sheet.rows[0].union, SheetUnion::CreditCode(_)));
    }

    #[test]
    fn every_problem_is_reported_by_line_and_column() {
        let file = "工会编号,职业类别,底数,目标,数据来源\n\
                    12,骑手,-1,5,调查\n\
                    13,courier,100,101,调查\n\
                    x,courier,100,,\n\
                    14,courier\n\
                    15,courier,20000000,,调查\n";
        let Err(SheetError::Rows(problems)) = WorkforceSheet::parse(file.as_bytes()) else {
            panic!("expected row problems");
        };
        let found: Vec<(usize, Option<&str>, ErrorCode)> = problems
            .iter()
            .map(|p| (p.line, p.column.as_deref(), p.code))
            .collect();
        assert_eq!(
            found,
            [
                (2, Some("职业类别"), ErrorCode::InvalidOccupationGroup),
                (2, Some("底数"), ErrorCode::WorkforceEstimateOutOfRange),
                (3, Some("目标"), ErrorCode::WorkforceTargetAboveEstimate),
                (4, Some("工会编号"), ErrorCode::InvalidUnionId),
                (4, Some("数据来源"), ErrorCode::Required),
                (5, None, ErrorCode::InvalidWorkforceCsv),
                (6, Some("底数"), ErrorCode::WorkforceEstimateOutOfRange),
            ]
        );
    }

    #[test]
    fn a_bad_header_or_an_empty_file_is_refused_whole() {
        for (file, expected) in [
            ("", SheetError::Empty),
            ("union_id,occupation,estimate,source\n", SheetError::Empty),
        ] {
            assert_eq!(WorkforceSheet::parse(file.as_bytes()), Err(expected));
        }
        for file in [
            "union_id,occupation,estimate\n1,courier,1\n",
            "occupation,estimate,source\ncourier,1,x\n",
            "union_id,occupation,estimate,source,shoe_size\n1,courier,1,x,42\n",
            "union_id,union_id,occupation,estimate,source\n1,1,courier,1,x\n",
        ] {
            assert!(
                matches!(
                    WorkforceSheet::parse(file.as_bytes()),
                    Err(SheetError::Header(_))
                ),
                "{file}"
            );
        }
        assert_eq!(
            WorkforceSheet::parse(&[0xff, 0xfe, 0x00]),
            Err(SheetError::NotUtf8)
        );
    }
}
