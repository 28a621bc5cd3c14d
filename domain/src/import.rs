//! Bulk import of a register (批量导入): the rules of a member sheet, pure. Which header names
//! mean which column (Chinese or English), how each row is read with the domain's own types,
//! and how the union column names a union of the importer's subtree (an id, a credit code, or
//! a name path such as `高唐街道总工会/圣泉社区工会`).
//!
//! Checks that need the database (a person already a member, an open application, a number
//! taken, the same person twice in one file) are done by `infra` over the staged rows; their
//! codes and messages are here ([`Problem`]) so the report speaks one language.

use std::collections::HashMap;

use chrono::NaiveDate;

use crate::admin::UnionPath;
use crate::credit_code::CreditCode;
use crate::ids::UnionId;
use crate::membership_number::MembershipNumber;
use crate::occupation::OccupationGroup;
use crate::phone::PhoneNumber;
use crate::region::RegionCode;
use crate::resident_id::ResidentId;
use crate::text::{EmployerName, PersonName, Platform};

crate::vocab::string_enum! {
    /// What a sheet holds.
    pub enum ImportKind {
        what = "导入类型",
        code = InvalidField,
        /// 会员名册.
        Members = "members" => "会员",
        /// 工会组织.
        Unions = "unions" => "工会组织",
    }
}

crate::vocab::string_enum! {
    /// What the commit writes: every row or nothing, or only the rows without errors.
    pub enum ImportMode {
        what = "导入方式",
        code = InvalidField,
        /// All or nothing (the default).
        All = "all" => "全部导入（有错误则不导入）",
        /// Only the rows without errors.
        ValidOnly = "valid_only" => "仅导入无误的行",
    }
}

crate::vocab::string_enum! {
    /// Where an import stands.
    pub enum ImportStatus {
        what = "导入状态",
        code = InvalidField,
        /// Phase one: reading and checking the rows.
        Validating = "validating" => "校验中",
        /// Checked; the report can be read and the import committed.
        Validated = "validated" => "已校验",
        /// Phase two: writing.
        Committing = "committing" => "导入中",
        /// Written.
        Committed = "committed" => "已导入",
        /// Stopped (unreadable file, interrupted by a restart): send the file again.
        Failed = "failed" => "失败",
    }
}

/// The rows a file may hold at most (a county's register fits many times over).
pub const MAX_ROWS: usize = 2_000_000;

/// The longest cell accepted, in bytes (a 10 MB line is refused long before).
pub const MAX_CELL_BYTES: usize = 1024;

/// How many problems are kept per import (the counts stay exact beyond).
pub const MAX_PROBLEMS_KEPT: usize = 10_000;

/// A column of the member sheet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MemberColumn {
    /// 姓名.
    Name,
    /// 身份证号.
    ResidentId,
    /// 手机号.
    Phone,
    /// 工会 (id, credit code or name path).
    Union,
    /// 入会日期.
    JoinedOn,
    /// 会员编号 (optional).
    MembershipNumber,
    /// 职业 (occupation group, code or Chinese label).
    Occupation,
    /// 工作单位 (optional).
    Employer,
    /// 平台 (optional).
    Platform,
}

/// A column of a sheet: its headers and whether rows must fill it.
pub trait Column: Copy + Eq + std::hash::Hash + 'static {
    /// Every column, in the template's order.
    const COLUMNS: &'static [Self];
    /// The Chinese header.
    fn chinese(self) -> &'static str;
    /// The English header.
    fn english(self) -> &'static str;
    /// Other spellings.
    fn aliases(self) -> &'static [&'static str];
    /// Whether every row must fill it.
    fn required(self) -> bool;

    /// The column a header names.
    fn named(header: &str) -> Option<Self> {
        let h = header.trim().trim_start_matches('\u{feff}').trim();
        let lower = h.to_ascii_lowercase();
        Self::COLUMNS
            .iter()
            .copied()
            .find(|c| c.chinese() == h || c.english() == lower || c.aliases().contains(&h))
    }
}

impl Column for MemberColumn {
    const COLUMNS: &'static [Self] = &Self::ALL;
    fn chinese(self) -> &'static str {
        MemberColumn::chinese(self)
    }
    fn english(self) -> &'static str {
        MemberColumn::english(self)
    }
    fn aliases(self) -> &'static [&'static str] {
        MemberColumn::aliases(self)
    }
    fn required(self) -> bool {
        MemberColumn::required(self)
    }
}

impl MemberColumn {
    /// Every column, in the template's order.
    pub const ALL: [Self; 9] = [
        Self::Name,
        Self::ResidentId,
        Self::Phone,
        Self::Union,
        Self::JoinedOn,
        Self::MembershipNumber,
        Self::Occupation,
        Self::Employer,
        Self::Platform,
    ];

    /// The Chinese header (the template's, and the report's column name).
    pub const fn chinese(self) -> &'static str {
        match self {
            Self::Name => "姓名",
            Self::ResidentId => "身份证号",
            Self::Phone => "手机号",
            Self::Union => "工会",
            Self::JoinedOn => "入会日期",
            Self::MembershipNumber => "会员编号",
            Self::Occupation => "职业",
            Self::Employer => "工作单位",
            Self::Platform => "平台",
        }
    }

    /// The English header.
    pub const fn english(self) -> &'static str {
        match self {
            Self::Name => "name",
            Self::ResidentId => "resident_id",
            Self::Phone => "phone",
            Self::Union => "union",
            Self::JoinedOn => "joined_on",
            Self::MembershipNumber => "membership_number",
            Self::Occupation => "occupation",
            Self::Employer => "employer",
            Self::Platform => "platform",
        }
    }

    /// Other spellings seen in registers.
    const fn aliases(self) -> &'static [&'static str] {
        match self {
            Self::Name => &["会员姓名"],
            Self::ResidentId => &["身份证号码", "公民身份号码", "身份证"],
            Self::Phone => &["手机号码", "联系电话", "手机"],
            Self::Union => &["所属工会", "工会组织"],
            Self::JoinedOn => &["入会时间"],
            Self::MembershipNumber => &["会员证号"],
            Self::Occupation => &["职业类别", "职业群体"],
            Self::Employer => &["单位", "工作单位名称"],
            Self::Platform => &["所在平台"],
        }
    }

    /// Whether every row must fill it.
    pub const fn required(self) -> bool {
        !matches!(
            self,
            Self::MembershipNumber | Self::Employer | Self::Platform
        )
    }
}

/// Why a header line was refused: the whole file is, before any row is read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    /// No header line at all.
    #[error("文件为空，请使用导入模板填写后再上传")]
    Empty,
    /// A required column is absent.
    #[error("缺少必填列：{}", .0.join("、"))]
    Missing(Vec<&'static str>),
    /// A column nobody knows.
    #[error("无法识别的列：{}（请使用导入模板的列名）", .0.join("、"))]
    Unknown(Vec<String>),
    /// A column named twice.
    #[error("列“{0}”重复出现")]
    Repeated(&'static str),
}

/// Which cell of a row holds which column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header<C: Column> {
    positions: HashMap<C, usize>,
    width: usize,
}

/// The header of a member sheet.
pub type MemberHeader = Header<MemberColumn>;

impl<C: Column> Header<C> {
    /// Reads the header line (a leading BOM, surrounding spaces and English case are ignored).
    pub fn parse<S: AsRef<str>>(cells: &[S]) -> Result<Self, HeaderError> {
        if cells.iter().all(|c| c.as_ref().trim().is_empty()) {
            return Err(HeaderError::Empty);
        }
        let mut positions = HashMap::new();
        let mut unknown = Vec::new();
        for (i, cell) in cells.iter().enumerate() {
            match C::named(cell.as_ref()) {
                Some(column) => {
                    if positions.insert(column, i).is_some() {
                        return Err(HeaderError::Repeated(column.chinese()));
                    }
                }
                None => unknown.push(cell.as_ref().trim().to_owned()),
            }
        }
        if !unknown.is_empty() {
            return Err(HeaderError::Unknown(unknown));
        }
        let missing: Vec<&'static str> = C::COLUMNS
            .iter()
            .copied()
            .filter(|c| c.required() && !positions.contains_key(c))
            .map(C::chinese)
            .collect();
        if !missing.is_empty() {
            return Err(HeaderError::Missing(missing));
        }
        Ok(Self {
            positions,
            width: cells.len(),
        })
    }

    /// How many cells every row must have.
    pub fn width(&self) -> usize {
        self.width
    }

    /// The trimmed, non-empty cell of `column` in `cells`.
    pub fn cell<'a, S: AsRef<str>>(&self, cells: &'a [S], column: C) -> Option<&'a str> {
        self.positions
            .get(&column)
            .and_then(|&i| cells.get(i))
            .map(|c| c.as_ref().trim())
            .filter(|c| !c.is_empty())
    }
}

/// How bad a problem is: an error keeps the row out; a warning is information (a number that
/// was replaced).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// The row is not imported.
    Error,
    /// The row is imported; the report says what changed.
    Warning,
}

impl Severity {
    /// As stored and shown.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Error => "error",
            Self::Warning => "warning",
        }
    }
}

/// One problem of one row: which column, a stable code, a Chinese message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The column's Chinese header (empty for the row as a whole).
    pub column: &'static str,
    /// Stable snake_case code.
    pub code: &'static str,
    /// What the officer reads.
    pub message: String,
    /// Error or warning.
    pub severity: Severity,
}

impl Problem {
    fn error(column: MemberColumn, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            column: column.chinese(),
            code,
            message: message.into(),
            severity: Severity::Error,
        }
    }

    /// An error in `column` of any sheet.
    pub fn at<C: Column>(column: C, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            column: column.chinese(),
            code,
            message: message.into(),
            severity: Severity::Error,
        }
    }

    /// A row whose number of cells differs from the header's.
    pub fn cell_count(expected: usize, found: usize) -> Self {
        Self {
            column: "",
            code: "import_cell_count",
            message: format!("本行有{found}个单元格，表头有{expected}列"),
            severity: Severity::Error,
        }
    }

    /// A line the CSV reader could not read (an open quote, a cell too long).
    pub fn unreadable(detail: &str) -> Self {
        Self {
            column: "",
            code: "import_unreadable_line",
            message: format!("无法读取本行：{detail}"),
            severity: Severity::Error,
        }
    }

    /// The same person (resident ID) on an earlier line.
    pub fn duplicate_person(first_line: i32) -> Self {
        Self::error(
            MemberColumn::ResidentId,
            "import_duplicate_in_file",
            format!("与第{first_line}行是同一人（身份证号重复）"),
        )
    }

    /// Already a member, of union `union`, under `masked_name`.
    pub fn already_member(union: &str, masked_name: &str) -> Self {
        Self::error(
            MemberColumn::ResidentId,
            "import_already_member",
            format!("此人已是会员（{masked_name}，{union}），不能重复入会"),
        )
    }

    /// An open application of the same person.
    pub fn open_application(union: &str) -> Self {
        Self::error(
            MemberColumn::ResidentId,
            "import_open_application",
            format!("此人有正在办理的入会申请（{union}），请先办结该申请"),
        )
    }

    /// The given membership number is taken (by someone else, or an earlier line): a new one
    /// is issued and the old one kept in the member's history.
    pub fn number_taken(number: &str) -> Self {
        Self {
            column: MemberColumn::MembershipNumber.chinese(),
            code: "import_number_replaced",
            message: format!("会员编号{number}已被占用，将换发新编号，原编号记入会员历史"),
            severity: Severity::Warning,
        }
    }

    /// The given membership number is malformed: a new one is issued.
    fn number_invalid(number: &str, why: &str) -> Self {
        Self {
            column: MemberColumn::MembershipNumber.chinese(),
            code: "import_number_replaced",
            message: format!("会员编号{number}无效（{why}），将换发新编号，原编号记入会员历史"),
            severity: Severity::Warning,
        }
    }

    /// Whether it keeps the row out.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// How the union column names a union.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UnionRef {
    /// Its id.
    Id(i64),
    /// Its unified social credit code.
    CreditCode(String),
    /// Names from the importer's union down (the importer's own name may lead).
    Path(Vec<String>),
}

impl UnionRef {
    /// Reads a cell: digits are an id, 18 characters that parse are a credit code, anything
    /// else a `/`-separated name path.
    pub fn parse(cell: &str) -> Self {
        let cell = cell.trim();
        if let Ok(id) = cell.parse::<i64>() {
            return Self::Id(id);
        }
        if let Ok(code) = CreditCode::parse(cell) {
            return Self::CreditCode(code.as_str().to_owned());
        }
        Self::Path(
            cell.split(['/', '／'])
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
        )
    }
}

/// One union of the importer's subtree, as the union column may name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnionEntry {
    /// Its id.
    pub id: UnionId,
    /// Its name.
    pub name: String,
    /// Its parent's id.
    pub parent: Option<UnionId>,
    /// Its credit code.
    pub credit_code: Option<String>,
    /// Its region.
    pub region: RegionCode,
    /// Whether it takes members (not closed, not a pool).
    pub takes_members: bool,
}

/// The unions of the importer's subtree, by id, credit code and name path.
#[derive(Debug, Clone)]
pub struct UnionDirectory {
    root: UnionId,
    by_id: HashMap<i64, UnionEntry>,
    by_credit_code: HashMap<String, i64>,
    children: HashMap<(i64, String), i64>,
}

/// Why the union column names no union the importer may fill.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UnionRefError {
    /// Unknown, or outside the importer's subtree (one answer for both).
    #[error("工会“{0}”不存在或不在本工会管辖范围内")]
    Unknown(String),
    /// A pool or a closed union.
    #[error("工会“{0}”不接收会员（临时库或已撤销）")]
    NotTaking(String),
    /// Its region is above county level, so no county numbers its members.
    #[error("工会“{0}”在县级以上，无法编发会员编号，请填写县级或以下的工会")]
    AboveCounty(String),
}

impl UnionDirectory {
    /// The directory of the subtree rooted at `root` (`entries` must be that subtree).
    pub fn new(root: &UnionPath, entries: Vec<UnionEntry>) -> Self {
        let mut by_id = HashMap::new();
        let mut by_credit_code = HashMap::new();
        let mut children = HashMap::new();
        for entry in entries {
            if let Some(code) = &entry.credit_code {
                by_credit_code.insert(code.clone(), entry.id.get());
            }
            if let Some(parent) = entry.parent {
                children.insert((parent.get(), entry.name.clone()), entry.id.get());
            }
            by_id.insert(entry.id.get(), entry);
        }
        Self {
            root: root.union(),
            by_id,
            by_credit_code,
            children,
        }
    }

    /// The union `reference` names, if the importer may put members in it; with its county.
    pub fn resolve(
        &self,
        reference: &UnionRef,
    ) -> Result<(&UnionEntry, RegionCode), UnionRefError> {
        let shown = match reference {
            UnionRef::Id(id) => id.to_string(),
            UnionRef::CreditCode(code) => code.clone(),
            UnionRef::Path(names) => names.join("/"),
        };
        let id = match reference {
            UnionRef::Id(id) => Some(*id),
            UnionRef::CreditCode(code) => self.by_credit_code.get(code).copied(),
            UnionRef::Path(names) => self.walk(names),
        };
        let entry = id
            .and_then(|id| self.by_id.get(&id))
            .ok_or_else(|| UnionRefError::Unknown(shown.clone()))?;
        if !entry.takes_members {
            return Err(UnionRefError::NotTaking(entry.name.clone()));
        }
        let county = entry
            .region
            .county()
            .ok_or_else(|| UnionRefError::AboveCounty(entry.name.clone()))?;
        Ok((entry, county))
    }

    fn walk(&self, names: &[String]) -> Option<i64> {
        let root = self.by_id.get(&self.root.get())?;
        let mut names = names.iter().peekable();
        if names.peek().is_some_and(|n| **n == root.name) {
            names.next();
        }
        let mut at = root.id.get();
        for name in names {
            at = *self.children.get(&(at, name.clone()))?;
        }
        Some(at)
    }
}

/// A member row, read.
#[derive(Debug, Clone)]
pub struct MemberRowInput {
    /// 姓名.
    pub name: PersonName,
    /// 身份证号.
    pub resident_id: ResidentId,
    /// 手机号.
    pub phone: PhoneNumber,
    /// The union's id.
    pub union: UnionId,
    /// The union's county (numbers the member).
    pub county: RegionCode,
    /// The union's region (the member's work region).
    pub region: RegionCode,
    /// 入会日期.
    pub joined_on: NaiveDate,
    /// A valid membership number to keep (if not taken).
    pub number: Option<MembershipNumber>,
    /// The number as written when it was malformed (kept in the history).
    pub unusable_number: Option<String>,
    /// 职业.
    pub occupation: OccupationGroup,
    /// 工作单位.
    pub employer: Option<EmployerName>,
    /// 平台.
    pub platform: Option<Platform>,
}

/// Reads one member row (cells as the CSV or sheet gave them) against the header, the union
/// directory and today (Beijing). Errors and warnings of the row; `None` when any is an error.
pub fn parse_member_row<S: AsRef<str>>(
    header: &MemberHeader,
    cells: &[S],
    unions: &UnionDirectory,
    today: NaiveDate,
) -> (Option<MemberRowInput>, Vec<Problem>) {
    let mut problems = Vec::new();
    if cells.len() != header.width() {
        return (None, vec![Problem::cell_count(header.width(), cells.len())]);
    }
    let mut required = |column: MemberColumn| {
        let value = header.cell(cells, column);
        if value.is_none() {
            problems.push(Problem::error(
                column,
                "import_missing_value",
                format!("请填写{}", column.chinese()),
            ));
        }
        value
    };
    let name = required(MemberColumn::Name);
    let resident_id = required(MemberColumn::ResidentId);
    let phone = required(MemberColumn::Phone);
    let union = required(MemberColumn::Union);
    let joined_on = required(MemberColumn::JoinedOn);
    let occupation = required(MemberColumn::Occupation);

    let name = name.and_then(|v| {
        PersonName::parse(v)
            .map_err(|e| {
                problems.push(Problem::error(
                    MemberColumn::Name,
                    e.code().as_str(),
                    e.to_string(),
                ));
            })
            .ok()
    });
    let resident_id = resident_id.and_then(|v| {
        ResidentId::parse_for_applicant(v, today)
            .map_err(|e| {
                problems.push(Problem::error(
                    MemberColumn::ResidentId,
                    e.code().as_str(),
                    e.to_string(),
                ));
            })
            .ok()
    });
    let phone = phone.and_then(|v| {
        PhoneNumber::parse(v)
            .map_err(|e| {
                problems.push(Problem::error(
                    MemberColumn::Phone,
                    e.code().as_str(),
                    e.to_string(),
                ));
            })
            .ok()
    });
    let union = union.and_then(|v| {
        unions
            .resolve(&UnionRef::parse(v))
            .map(|(entry, county)| (entry.id, county, entry.region.clone()))
            .map_err(|e| {
                problems.push(Problem::error(
                    MemberColumn::Union,
                    "import_union_unknown",
                    e.to_string(),
                ));
            })
            .ok()
    });
    let joined_on = joined_on.and_then(|v| match parse_date(v) {
        Some(date) if date <= today => Some(date),
        Some(_) => {
            problems.push(Problem::error(
                MemberColumn::JoinedOn,
                "import_bad_date",
                "入会日期晚于今天",
            ));
            None
        }
        None => {
            problems.push(Problem::error(
                MemberColumn::JoinedOn,
                "import_bad_date",
                format!("入会日期“{v}”无法识别，请写作 2024-03-01"),
            ));
            None
        }
    });
    let occupation = occupation.and_then(|v| {
        OccupationGroup::parse(v)
            .ok()
            .or_else(|| {
                OccupationGroup::ALL
                    .iter()
                    .copied()
                    .find(|o| o.label_zh() == v)
            })
            .or_else(|| {
                problems.push(Problem::error(
                    MemberColumn::Occupation,
                    "invalid_occupation_group",
                    format!("职业“{v}”不在职业类别中"),
                ));
                None
            })
    });
    let employer = EmployerName::parse_optional(header.cell(cells, MemberColumn::Employer))
        .map_err(|e| {
            problems.push(Problem::error(
                MemberColumn::Employer,
                e.code().as_str(),
                e.to_string(),
            ));
        })
        .ok()
        .flatten();
    let platform = Platform::parse_optional(header.cell(cells, MemberColumn::Platform))
        .map_err(|e| {
            problems.push(Problem::error(
                MemberColumn::Platform,
                e.code().as_str(),
                e.to_string(),
            ));
        })
        .ok()
        .flatten();
    let (number, unusable_number) = match header.cell(cells, MemberColumn::MembershipNumber) {
        None => (None, None),
        Some(raw) => match MembershipNumber::parse(raw) {
            Ok(number) => (Some(number), None),
            Err(e) => {
                problems.push(Problem::number_invalid(raw, &e.to_string()));
                (None, Some(raw.chars().take(32).collect()))
            }
        },
    };
    if problems.iter().any(Problem::is_error) {
        return (None, problems);
    }
    match (name, resident_id, phone, union, joined_on, occupation) {
        (
            Some(name),
            Some(resident_id),
            Some(phone),
            Some((union, county, region)),
            Some(joined_on),
            Some(occupation),
        ) => {
            if joined_on < resident_id.birth_date() {
                problems.push(Problem::error(
                    MemberColumn::JoinedOn,
                    "import_bad_date",
                    "入会日期早于出生日期",
                ));
                return (None, problems);
            }
            (
                Some(MemberRowInput {
                    name,
                    resident_id,
                    phone,
                    union,
                    county,
                    region,
                    joined_on,
                    number,
                    unusable_number,
                    occupation,
                    employer,
                    platform,
                }),
                problems,
            )
        }
        _ => (None, problems),
    }
}

/// `2024-03-01`, `2024/3/1`, `2024.03.01`, `20240301` or `2024年3月1日`.
pub fn parse_date(value: &str) -> Option<NaiveDate> {
    let v = value.trim();
    if v.len() == 8 && v.bytes().all(|b| b.is_ascii_digit()) {
        return NaiveDate::parse_from_str(v, "%Y%m%d").ok();
    }
    let normalised: String = v
        .replace(['年', '月'], "-")
        .replace('日', "")
        .chars()
        .map(|c| if c == '/' || c == '.' { '-' } else { c })
        .collect();
    NaiveDate::parse_from_str(&normalised, "%Y-%m-%d").ok()
}

/// The template's header line.
pub fn member_template_header() -> Vec<&'static str> {
    MemberColumn::ALL.iter().map(|c| c.chinese()).collect()
}

/// Masks a name for reports: the first character and `*` for the rest.
pub fn mask_name(name: &str) -> String {
    let mut chars = name.chars();
    match chars.next() {
        Some(first) => std::iter::once(first).chain(chars.map(|_| '*')).collect(),
        None => String::new(),
    }
}

/// A column of the union sheet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UnionColumn {
    /// 上级工会 (id, credit code, or name path; may name a union of an earlier line).
    Parent,
    /// 名称.
    Name,
    /// 类型 (code or Chinese label).
    Kind,
    /// 地区 (region code).
    Region,
    /// 覆盖范围 (region codes separated by `;`, `、` or spaces; optional).
    Coverage,
    /// 服务职业 (occupation groups of an industry federation; optional).
    Occupations,
    /// 统一社会信用代码 (enterprise unions).
    CreditCode,
}

impl Column for UnionColumn {
    const COLUMNS: &'static [Self] = &[
        Self::Parent,
        Self::Name,
        Self::Kind,
        Self::Region,
        Self::Coverage,
        Self::Occupations,
        Self::CreditCode,
    ];
    fn chinese(self) -> &'static str {
        match self {
            Self::Parent => "上级工会",
            Self::Name => "名称",
            Self::Kind => "类型",
            Self::Region => "地区",
            Self::Coverage => "覆盖范围",
            Self::Occupations => "服务职业",
            Self::CreditCode => "统一社会信用代码",
        }
    }
    fn english(self) -> &'static str {
        match self {
            Self::Parent => "parent",
            Self::Name => "name",
            Self::Kind => "kind",
            Self::Region => "region",
            Self::Coverage => "coverage",
            Self::Occupations => "occupations",
            Self::CreditCode => "credit_code",
        }
    }
    fn aliases(self) -> &'static [&'static str] {
        match self {
            Self::Name => &["工会名称"],
            Self::Kind => &["工会类型"],
            Self::Region => &["地区代码", "行政区划代码"],
            Self::CreditCode => &["信用代码"],
            _ => &[],
        }
    }
    fn required(self) -> bool {
        matches!(self, Self::Parent | Self::Name | Self::Kind | Self::Region)
    }
}

/// The header of a union sheet.
pub type UnionHeader = Header<UnionColumn>;

/// A union row, read (the tree rules are checked when it is created under its parent).
#[derive(Debug, Clone)]
pub struct UnionRowInput {
    /// The parent, as named.
    pub parent: UnionRef,
    /// What to create.
    pub draft: crate::union_admin::UnionDraft,
}

fn list(cell: Option<&str>) -> impl Iterator<Item = &str> {
    cell.unwrap_or("")
        .split([';', '；', '、', ',', '，', ' '])
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// Reads one union row against the header.
pub fn parse_union_row<S: AsRef<str>>(
    header: &UnionHeader,
    cells: &[S],
) -> Result<UnionRowInput, Vec<Problem>> {
    use crate::routing::UnionKind;
    use crate::union_admin::{UnionDraft, UnionName};
    if cells.len() != header.width() {
        return Err(vec![Problem::cell_count(header.width(), cells.len())]);
    }
    let mut problems = Vec::new();
    let mut required = |column: UnionColumn| {
        let value = header.cell(cells, column);
        if value.is_none() {
            problems.push(Problem::at(
                column,
                "import_missing_value",
                format!("请填写{}", column.chinese()),
            ));
        }
        value
    };
    let parent = required(UnionColumn::Parent).map(UnionRef::parse);
    let name = required(UnionColumn::Name);
    let kind = required(UnionColumn::Kind);
    let region = required(UnionColumn::Region);
    let name = name.and_then(|v| {
        UnionName::parse(v)
            .map_err(|e| {
                problems.push(Problem::at(
                    UnionColumn::Name,
                    e.code().as_str(),
                    e.to_string(),
                ))
            })
            .ok()
    });
    let kind = kind.and_then(|v| {
        UnionKind::parse(v)
            .ok()
            .or_else(|| UnionKind::ALL.iter().copied().find(|k| k.label_zh() == v))
            .or_else(|| {
                problems.push(Problem::at(
                    UnionColumn::Kind,
                    "invalid_union_kind",
                    format!(
                        "工会类型“{v}”不正确（总工会、企业工会、行业工会联合会、联合工会、临时库）"
                    ),
                ));
                None
            })
    });
    let region = region.and_then(|v| {
        RegionCode::parse(v)
            .map_err(|e| {
                problems.push(Problem::at(
                    UnionColumn::Region,
                    e.code().as_str(),
                    e.to_string(),
                ))
            })
            .ok()
    });
    let mut coverage = Vec::new();
    for code in list(header.cell(cells, UnionColumn::Coverage)) {
        match RegionCode::parse(code) {
            Ok(c) => coverage.push(c),
            Err(e) => problems.push(Problem::at(
                UnionColumn::Coverage,
                e.code().as_str(),
                e.to_string(),
            )),
        }
    }
    let mut occupations = Vec::new();
    for o in list(header.cell(cells, UnionColumn::Occupations)) {
        match OccupationGroup::parse(o).ok().or_else(|| {
            OccupationGroup::ALL
                .iter()
                .copied()
                .find(|g| g.label_zh() == o)
        }) {
            Some(g) => occupations.push(g),
            None => problems.push(Problem::at(
                UnionColumn::Occupations,
                "invalid_occupation_group",
                format!("职业“{o}”不在职业类别中"),
            )),
        }
    }
    let credit_code = header.cell(cells, UnionColumn::CreditCode).and_then(|v| {
        CreditCode::parse(v)
            .map_err(|e| {
                problems.push(Problem::at(
                    UnionColumn::CreditCode,
                    e.code().as_str(),
                    e.to_string(),
                ))
            })
            .ok()
    });
    match (parent, name, kind, region) {
        (Some(parent), Some(name), Some(kind), Some(region)) if problems.is_empty() => {
            Ok(UnionRowInput {
                parent,
                draft: UnionDraft {
                    name,
                    kind,
                    region,
                    coverage,
                    occupations,
                    credit_code,
                    review_hours: crate::deadline::ReviewHours::default(),
                },
            })
        }
        _ => Err(problems),
    }
}

impl UnionDirectory {
    /// Adds a union created by an earlier line, so later lines may name it.
    pub fn add(&mut self, entry: UnionEntry) {
        if let Some(code) = &entry.credit_code {
            self.by_credit_code.insert(code.clone(), entry.id.get());
        }
        if let Some(parent) = entry.parent {
            self.children
                .insert((parent.get(), entry.name.clone()), entry.id.get());
        }
        self.by_id.insert(entry.id.get(), entry);
    }

    /// The union `reference` names in the subtree, whatever it takes.
    pub fn find(&self, reference: &UnionRef) -> Option<&UnionEntry> {
        let id = match reference {
            UnionRef::Id(id) => Some(*id),
            UnionRef::CreditCode(code) => self.by_credit_code.get(code).copied(),
            UnionRef::Path(names) => self.walk(names),
        };
        id.and_then(|id| self.by_id.get(&id))
    }
}

/// The union template's header line.
pub fn union_template_header() -> Vec<&'static str> {
    UnionColumn::COLUMNS.iter().map(|c| c.chinese()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 12, 5).unwrap()
    }

    fn rid(body17: &str) -> String {
        const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
        let sum: u32 = body17
            .chars()
            .zip(WEIGHTS)
            .map(|(c, w)| c.to_digit(10).unwrap() * w)
            .sum();
        format!("{body17}{}", b"10X98765432"[(sum % 11) as usize] as char)
    }

    fn directory() -> UnionDirectory {
        let entry = |id: i64, parent: Option<i64>, name: &str, region: &str| UnionEntry {
            id: UnionId::new(id),
            name: name.to_owned(),
            parent: parent.map(UnionId::new),
            credit_code: None,
            region: RegionCode::parse(region).unwrap(),
            takes_members: true,
        };
        UnionDirectory::new(
            &UnionPath::parse("/1/").unwrap(),
            vec![
                entry(1, None, "巫山县总工会", "500237"),
                entry(2, Some(1), "高唐街道总工会", "500237001"),
                entry(3, Some(2), "圣泉社区工会", "500237001009"),
            ],
        )
    }

    fn header() -> MemberHeader {
        MemberHeader::parse(&[
            "姓名",
            "resident_id",
            "手机号码",
            "工会",
            "入会日期",
            "会员编号",
            "职业",
        ])
        .unwrap()
    }

    #[test]
    fn headers_in_chinese_or_english_with_a_bom_are_read() {
        let h = MemberHeader::parse(&[
            "\u{feff}name",
            "Resident_ID",
            "phone",
            "union",
            "joined_on",
            "occupation",
        ])
        .unwrap();
        assert_eq!(h.width(), 6);
    }

    #[test]
    fn missing_unknown_repeated_and_empty_headers_are_refused() {
        assert_eq!(MemberHeader::parse(&["", " "]), Err(HeaderError::Empty));
        assert!(matches!(
            MemberHeader::parse(&["姓名", "身份证号"]),
            Err(HeaderError::Missing(m)) if m.contains(&"手机号")
        ));
        assert!(matches!(
            MemberHeader::parse(&["姓名", "身份证号", "手机号", "工会", "入会日期", "职业", "血型"]),
            Err(HeaderError::Unknown(u)) if u == vec!["血型".to_owned()]
        ));
        assert_eq!(
            MemberHeader::parse(&["姓名", "name"]),
            Err(HeaderError::Repeated("姓名"))
        );
    }

    #[test]
    fn a_good_row_is_read_with_a_name_path_union() {
        let id = rid("50023719900101001");
        let (row, problems) = parse_member_row(
            &header(),
            &[
                "张三",
                &id,
                "13800138000",
                "巫山县总工会/高唐街道总工会/圣泉社区工会",
                "2020/3/1",
                "",
                "快递员",
            ],
            &directory(),
            today(),
        );
        assert!(problems.is_empty(), "{problems:?}");
        let row = row.unwrap();
        assert_eq!(row.union, UnionId::new(3));
        assert_eq!(row.county.as_str(), "500237");
        assert_eq!(row.occupation, OccupationGroup::Courier);
    }

    #[test]
    fn a_bad_check_character_a_foreign_union_and_a_formula_are_reported_per_column() {
        let mut id = rid("50023719900101001");
        let last = if id.ends_with('0') { '1' } else { '0' };
        id.pop();
        id.push(last);
        let (row, problems) = parse_member_row(
            &header(),
            &[
                "=cmd|' /C calc'!A0",
                &id,
                "13800138000",
                "99",
                "2020-03-01",
                "",
                "courier",
            ],
            &directory(),
            today(),
        );
        assert!(row.is_none());
        let codes: Vec<_> = problems.iter().map(|p| (p.column, p.code)).collect();
        assert!(codes.contains(&("姓名", "invalid_name")));
        assert!(codes.contains(&("身份证号", "resident_id_bad_check_character")));
        assert!(codes.contains(&("工会", "import_union_unknown")));
    }

    #[test]
    fn a_short_row_and_a_bad_number_are_reported() {
        let (row, problems) = parse_member_row(&header(), &["张三"], &directory(), today());
        assert!(row.is_none());
        assert_eq!(problems[0].code, "import_cell_count");
        let id = rid("50023719900101001");
        let (row, problems) = parse_member_row(
            &header(),
            &[
                "张三",
                &id,
                "13800138000",
                "2",
                "20200301",
                "5002372000000011",
                "courier",
            ],
            &directory(),
            today(),
        );
        assert!(row.is_some());
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].severity, Severity::Warning);
    }

    #[test]
    fn a_union_above_county_cannot_number_members() {
        let dir = UnionDirectory::new(
            &UnionPath::parse("/1/").unwrap(),
            vec![UnionEntry {
                id: UnionId::new(1),
                name: "重庆市总工会".into(),
                parent: None,
                credit_code: None,
                region: RegionCode::parse("50").unwrap(),
                takes_members: true,
            }],
        );
        assert!(matches!(
            dir.resolve(&UnionRef::Id(1)),
            Err(UnionRefError::AboveCounty(_))
        ));
    }

    #[test]
    fn dates_in_common_spellings_are_read() {
        let d = NaiveDate::from_ymd_opt(2024, 3, 1);
        for s in [
            "2024-03-01",
            "2024/3/1",
            "2024.03.01",
            "20240301",
            "2024年3月1日",
        ] {
            assert_eq!(parse_date(s), d, "{s}");
        }
        assert_eq!(parse_date("01/03/2024"), None);
    }

    #[test]
    fn a_union_row_is_read_with_labels_and_lists() {
        let header = UnionHeader::parse(&[
            "上级工会",
            "名称",
            "类型",
            "地区",
            "覆盖范围",
            "服务职业",
            "统一社会信用代码",
        ])
        .unwrap();
        let row = parse_union_row(
            &header,
            &[
                "高唐街道总工会",
                "圣泉社区联合工会",
                "联合工会",
                "500237001009",
                "500237001009;500237001004",
                "",
                "",
            ],
        )
        .unwrap();
        assert_eq!(row.parent, UnionRef::Path(vec!["高唐街道总工会".into()]));
        assert_eq!(row.draft.coverage.len(), 2);
        let bad = parse_union_row(&header, &["1", "", "帮派", "5002", "", "", ""]).unwrap_err();
        let codes: Vec<_> = bad.iter().map(|p| p.code).collect();
        assert!(
            codes.contains(&"import_missing_value") && codes.contains(&"invalid_union_kind"),
            "{codes:?}"
        );
    }

    #[test]
    fn names_are_masked() {
        assert_eq!(mask_name("张三丰"), "张**");
    }
}
