//! The member register (会员名册) a federation hands to the level above: its file formats, its
//! columns and their Chinese headers, and the rule that keeps a cell from being read as a
//! formula by a spreadsheet (CSV/formula injection).
//!
//! A cell that begins with `=`, `+`, `-` or `@` — or with a tab or a carriage return, which some
//! spreadsheets skip before looking for those — is a formula to Excel, LibreOffice and WPS when
//! the file is opened. A name or an employer typed by an applicant must never become one, so in
//! CSV such a cell is prefixed with `'` (which spreadsheets show as text and hide), and in XLSX
//! every cell is written as a string, never as a formula.

use std::borrow::Cow;

use chrono::NaiveDate;

use crate::member::MemberStatus;
use crate::occupation::OccupationGroup;
use crate::registry::Gender;
use crate::vocab::string_enum;

string_enum! {
    /// The file format of an export.
    pub enum ExportFormat {
        what = "导出格式",
        code = InvalidExportFormat,
        /// CSV, UTF-8 with a byte-order mark so that Excel shows Chinese.
        Csv = "csv" => "CSV",
        /// An Excel workbook.
        Xlsx = "xlsx" => "Excel",
    }
}

impl ExportFormat {
    /// The file name extension, without the dot.
    pub const fn extension(self) -> &'static str {
        self.as_str()
    }
}

/// The register's header row, in column order.
pub const REGISTER_HEADER: [&str; REGISTER_COLUMNS] = [
    "会员证号",
    "姓名",
    "身份证号",
    "手机号",
    "性别",
    "出生日期",
    "职业群体",
    "所属工会",
    "工会编号",
    "工会层级",
    "入会日期",
    "会籍状态",
    "工作单位",
    "平台",
];

/// Number of columns of the register.
pub const REGISTER_COLUMNS: usize = 14;

/// The first characters that make a spreadsheet read a cell as a formula.
const FORMULA_STARTS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// Whether a spreadsheet would read `cell` as a formula (or as the start of one).
pub fn looks_like_formula(cell: &str) -> bool {
    cell.starts_with(FORMULA_STARTS)
}

/// `cell` as a CSV cell no spreadsheet evaluates: prefixed with `'` when it looks like a
/// formula, unchanged (and not copied) otherwise.
pub fn neutralise_csv_cell(cell: &str) -> Cow<'_, str> {
    if looks_like_formula(cell) {
        Cow::Owned(format!("'{cell}"))
    } else {
        Cow::Borrowed(cell)
    }
}

/// One member's line of the register, personal data already masked or in clear as the
/// reader's role allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisterLine<'a> {
    /// The current membership number.
    pub membership_number: &'a str,
    /// Name.
    pub name: &'a str,
    /// Resident ID (masked or in clear).
    pub resident_id: &'a str,
    /// Phone (masked or in clear).
    pub phone: &'a str,
    /// Gender as stored (`male`, `female`).
    pub gender: &'a str,
    /// Birth date.
    pub birth_date: NaiveDate,
    /// Occupation group as stored (`courier`, …).
    pub occupation: &'a str,
    /// The member's union.
    pub union_name: &'a str,
    /// Its id.
    pub union_id: i64,
    /// The names from the root down to the union, joined with `/`.
    pub union_path_names: &'a str,
    /// The day the membership began.
    pub joined_on: NaiveDate,
    /// Status.
    pub status: MemberStatus,
    /// Employer.
    pub employer: &'a str,
    /// Platform, for platform workers.
    pub platform: Option<&'a str>,
}

impl<'a> RegisterLine<'a> {
    /// The cells in [`REGISTER_HEADER`] order, as people read them (Chinese labels, ISO
    /// dates). Not yet neutralised: each file format applies its own rule.
    pub fn cells(&self) -> [Cow<'a, str>; REGISTER_COLUMNS] {
        let gender: &'a str = Gender::parse(self.gender).map_or(self.gender, |g| g.label_zh());
        let occupation: &'a str =
            OccupationGroup::parse(self.occupation).map_or(self.occupation, |o| o.label_zh());
        [
            Cow::Borrowed(self.membership_number),
            Cow::Borrowed(self.name),
            Cow::Borrowed(self.resident_id),
            Cow::Borrowed(self.phone),
            Cow::Borrowed(gender),
            Cow::Owned(self.birth_date.format("%Y-%m-%d").to_string()),
            Cow::Borrowed(occupation),
            Cow::Borrowed(self.union_name),
            Cow::Owned(self.union_id.to_string()),
            Cow::Borrowed(self.union_path_names),
            Cow::Owned(self.joined_on.format("%Y-%m-%d").to_string()),
            Cow::Borrowed(self.status.label_zh()),
            Cow::Borrowed(self.employer),
            Cow::Borrowed(self.platform.unwrap_or("")),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_starting_like_a_formula_are_prefixed_with_a_quote() {
        for cell in ["=1+1", "+86 138", "-2", "@SUM(A1)", "\t=1", "\rx"] {
            assert!(looks_like_formula(cell), "{cell:?}");
            assert_eq!(neutralise_csv_cell(cell), format!("'{cell}"));
        }
    }

    #[test]
    fn ordinary_cells_are_left_alone_and_not_copied() {
        for cell in [
            "张三",
            "",
            "110105194912310029",
            "a=b",
            " =1",
            "'=1",
            "2026-01-01",
        ] {
            assert!(!looks_like_formula(cell), "{cell:?}");
            assert!(matches!(neutralise_csv_cell(cell), Cow::Borrowed(c) if c == cell));
        }
    }

    #[test]
    fn formats_parse_and_name_their_extension() {
        assert_eq!(ExportFormat::parse("csv"), Ok(ExportFormat::Csv));
        assert_eq!(
            ExportFormat::parse("xlsx").map(|f| f.extension()),
            Ok("xlsx")
        );
        let error = ExportFormat::parse("pdf").unwrap_err();
        assert_eq!(
            error.code(),
            crate::error_code::ErrorCode::InvalidExportFormat
        );
    }

    #[test]
    fn a_line_reads_in_chinese_in_header_order() {
        let day = |d| NaiveDate::from_ymd_opt(2026, 3, d).unwrap();
        let line = RegisterLine {
            membership_number: "3201152026000017",
            name: "王五",
            resident_id: "110105********002X",
            phone: "138****1234",
            gender: "female",
            birth_date: day(1),
            occupation: "courier",
            union_name: "江宁区快递行业工会",
            union_id: 12,
            union_path_names: "江苏省总工会/南京市总工会/江宁区快递行业工会",
            joined_on: day(5),
            status: MemberStatus::Active,
            employer: "=HYPERLINK(\"x\")",
            platform: None,
        };
        let cells = line.cells();
        assert_eq!(cells.len(), REGISTER_HEADER.len());
        assert_eq!(cells[4], "女");
        assert_eq!(cells[5], "2026-03-01");
        assert_eq!(cells[6], "快递员");
        assert_eq!(cells[8], "12");
        assert_eq!(cells[11], MemberStatus::Active.label_zh());
        // Neutralising is the format's job, not the line's.
        assert_eq!(cells[12], "=HYPERLINK(\"x\")");
        assert_eq!(cells[13], "");
    }
}
