//! China's statistical division codes: import from the shipped CSV files, and look-ups for the
//! region pickers and for validating work regions.

use std::io::Read;
use std::path::Path;

use diesel::pg::{CopyFormat, PgConnection};
use diesel::prelude::*;

use crate::db::StoreError;
use crate::db::schema::regions;

/// One region as stored.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = regions)]
pub struct RegionRow {
    /// Statistical code, 2–12 digits.
    pub code: String,
    /// Official name.
    pub name: String,
    /// 1 province, 2 city, 3 county, 4 township/street, 5 village/community.
    pub level: i16,
    /// The region one level up; `None` for provinces.
    pub parent_code: Option<String>,
}

/// The files of `data/regions/`, top level first, with the column holding the parent code.
const FILES: [(&str, i16, Option<&str>); 5] = [
    ("provinces.csv.gz", 1, None),
    ("cities.csv.gz", 2, Some("provinceCode")),
    ("areas.csv.gz", 3, Some("cityCode")),
    ("streets.csv.gz", 4, Some("areaCode")),
    ("villages.csv.gz", 5, Some("streetCode")),
];

/// The result of an import.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImportReport {
    /// Rows read from the files.
    pub read: usize,
    /// Rows inserted or changed (0 when the table was already up to date).
    pub written: usize,
    /// Rows in the table afterwards.
    pub total: i64,
}

/// Why an import failed.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// A file is missing or unreadable.
    #[error("cannot read {file}: {source}")]
    Io {
        /// The file.
        file: String,
        /// The cause.
        source: std::io::Error,
    },
    /// A file does not have the expected shape.
    #[error("{file} line {line}: {message}")]
    Format {
        /// The file.
        file: String,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// The database refused the data.
    #[error(transparent)]
    Store(#[from] StoreError),
}

diesel::table! {
    /// Staging table for one import, dropped at commit.
    region_import (code) {
        code -> Varchar,
        name -> Text,
        level -> Int2,
        parent_code -> Nullable<Varchar>,
    }
}

/// Imports every region from the gzipped CSV files in `dir` with `COPY`, then merges them into
/// `regions` in one transaction. Idempotent: unchanged rows are not rewritten.
pub fn import_regions(conn: &mut PgConnection, dir: &Path) -> Result<ImportReport, ImportError> {
    let mut csv = String::new();
    let mut read = 0;
    for (file, level, parent_column) in FILES {
        read += append_file(&dir.join(file), level, parent_column, &mut csv)?;
    }
    conn.transaction(|conn| {
        diesel::sql_query(
            "CREATE TEMP TABLE region_import (code varchar(12), name text, level int2, \
             parent_code varchar(12)) ON COMMIT DROP",
        )
        .execute(conn)?;
        diesel::copy_from(region_import::table)
            .from_raw_data(region_import::table, |sink| {
                sink.write_all(csv.as_bytes())
                    .map_err(|e| diesel::result::Error::SerializationError(Box::new(e)))
            })
            .with_format(CopyFormat::Csv)
            .execute(conn)?;
        let written = diesel::sql_query(
            "INSERT INTO regions (code, name, level, parent_code) \
             SELECT code, name, level, parent_code FROM region_import \
             ON CONFLICT (code) DO UPDATE \
             SET name = EXCLUDED.name, level = EXCLUDED.level, parent_code = EXCLUDED.parent_code \
             WHERE (regions.name, regions.level, regions.parent_code) \
                   IS DISTINCT FROM (EXCLUDED.name, EXCLUDED.level, EXCLUDED.parent_code)",
        )
        .execute(conn)?;
        let total = regions::table.count().get_result::<i64>(conn)?;
        Ok::<_, diesel::result::Error>(ImportReport {
            read,
            written,
            total,
        })
    })
    .map_err(|e| ImportError::Store(e.into()))
}

/// Parses one file and appends `code,name,level,parent` CSV lines; returns the row count.
fn append_file(
    path: &Path,
    level: i16,
    parent_column: Option<&str>,
    out: &mut String,
) -> Result<usize, ImportError> {
    let file_name = path.display().to_string();
    let io_error = |source| ImportError::Io {
        file: file_name.clone(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io_error)?;
    let mut text = String::new();
    flate2::read::GzDecoder::new(file)
        .read_to_string(&mut text)
        .map_err(io_error)?;

    let format_error = |line: usize, message: String| ImportError::Format {
        file: file_name.clone(),
        line,
        message,
    };
    let mut lines = text.lines();
    let header = parse_csv_line(lines.next().unwrap_or_default());
    let column = |name: &str| header.iter().position(|h| h == name);
    let code_at = column("code").ok_or_else(|| format_error(1, "no `code` column".into()))?;
    let name_at = column("name").ok_or_else(|| format_error(1, "no `name` column".into()))?;
    let parent_at = match parent_column {
        Some(name) => {
            Some(column(name).ok_or_else(|| format_error(1, format!("no `{name}` column")))?)
        }
        None => None,
    };
    let expected_len = [0, 2, 4, 6, 9, 12][usize::try_from(level).unwrap_or(0)];

    let mut count = 0;
    for (index, line) in lines.enumerate() {
        if line.is_empty() {
            continue;
        }
        let fields = parse_csv_line(line);
        let field = |at: usize| fields.get(at).map(String::as_str).unwrap_or_default();
        let code = field(code_at);
        let name = field(name_at);
        if code.len() != expected_len || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format_error(index + 2, format!("bad code {code:?}")));
        }
        if name.is_empty() {
            return Err(format_error(index + 2, "empty name".into()));
        }
        let parent = parent_at.map(field).unwrap_or_default();
        out.push_str(code);
        out.push_str(",\"");
        out.push_str(&name.replace('"', "\"\""));
        out.push_str("\",");
        out.push_str(&level.to_string());
        out.push(',');
        out.push_str(parent);
        out.push('\n');
        count += 1;
    }
    Ok(count)
}

/// Splits one CSV line, honouring double quotes and `""` escapes.
fn parse_csv_line(line: &str) -> Vec<String> {
    let mut fields = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                current.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => fields.push(std::mem::take(&mut current)),
            _ => current.push(c),
        }
    }
    fields.push(current);
    fields
}

/// The region with this code, if it exists.
pub fn find(conn: &mut PgConnection, code: &str) -> Result<Option<RegionRow>, StoreError> {
    Ok(regions::table
        .find(code)
        .select(RegionRow::as_select())
        .first(conn)
        .optional()?)
}

/// The regions directly under `code`, ordered by code.
pub fn children(conn: &mut PgConnection, code: &str) -> Result<Vec<RegionRow>, StoreError> {
    Ok(regions::table
        .filter(regions::parent_code.eq(code))
        .order(regions::code.asc())
        .select(RegionRow::as_select())
        .load(conn)?)
}

#[cfg(test)]
mod tests {
    use super::parse_csv_line;

    #[test]
    fn quoted_fields_keep_commas_and_escaped_quotes() {
        assert_eq!(parse_csv_line(r#"1,"a,b",c"#), vec!["1", "a,b", "c"]);
        assert_eq!(parse_csv_line(r#"1,"say ""hi""""#), vec!["1", "say \"hi\""]);
        assert_eq!(parse_csv_line("1,,"), vec!["1", "", ""]);
    }
}
