//! Reading an import file that is an Excel workbook (XLSX): the first sheet is written out as a
//! UTF-8 CSV in a temporary file, one line per sheet row (so the report's line numbers are the
//! sheet's row numbers), and the CSV path reads it as it reads any CSV — one code path for the
//! checks, whatever the format.
//!
//! An XLSX is a zip archive. Before `calamine` opens it, every entry is decompressed once into
//! nothing with a running count: an archive that expands beyond [`MAX_UNCOMPRESSED_BYTES`], or
//! beyond [`MAX_RATIO`] times its own size (and past [`RATIO_FLOOR_BYTES`]), or that holds more
//! than [`MAX_ENTRIES`] entries, is refused — a zip bomb costs the bounded work of counting up
//! to the limit, never the memory or disk of its expansion. The sheet is then streamed cell by
//! cell (`worksheet_cells_reader`): memory holds the shared strings and one row.

use std::io::{self, BufWriter, Read, Seek, Write};
use std::sync::Arc;

use calamine::{DataRef, Reader, Xlsx};

use super::file::{Charset, FileError, Source};

/// What the entries of one workbook may expand to, together.
pub const MAX_UNCOMPRESSED_BYTES: u64 = 1 << 30;
/// Expansion beyond this many times the archive's size is refused …
pub const MAX_RATIO: u64 = 100;
/// … once the expansion is past this size (small files compress well and are harmless).
pub const RATIO_FLOOR_BYTES: u64 = 16 << 20;
/// Entries in one workbook (a register has a dozen).
pub const MAX_ENTRIES: usize = 10_000;

/// Columns of a sheet (a register has nine).
const MAX_COLUMNS: usize = 256;

/// The four bytes every zip archive (and so every XLSX) begins with.
const ZIP_MAGIC: [u8; 4] = [0x50, 0x4B, 0x03, 0x04];

/// True when the content is a zip archive (an XLSX, or a file posing as one).
pub fn is_zip(source: &Source) -> Result<bool, FileError> {
    let mut head = [0u8; 4];
    let mut reader = source.open()?;
    let mut filled = 0;
    while filled < head.len() {
        let n = reader.read(&mut head[filled..])?;
        if n == 0 {
            return Ok(false);
        }
        filled += n;
    }
    Ok(head == ZIP_MAGIC)
}

/// The file as the CSV path reads it: a workbook becomes a UTF-8 CSV in a temporary file (the
/// charset given for it is meaningless and ignored); any other file is answered unchanged.
pub fn as_csv(
    source: Source,
    charset: Option<Charset>,
) -> Result<(Source, Option<Charset>), FileError> {
    if !is_zip(&source)? {
        return Ok((source, charset));
    }
    let size = source.len()?;
    check_expansion(open_seekable(&source)?, size)?;
    let temp = tempfile::Builder::new()
        .prefix("zhijian-import-")
        .suffix(".csv")
        .tempfile()
        .map_err(|e| FileError::Io(e.to_string()))?;
    {
        let mut out = BufWriter::with_capacity(64 * 1024, temp.as_file());
        write_first_sheet(open_seekable(&source)?, &mut out)?;
        out.flush()?;
    }
    Ok((
        Source::Temporary(Arc::new(temp.into_temp_path())),
        Some(Charset::Utf8),
    ))
}

trait ReadSeek: Read + Seek + Send {}
impl<T: Read + Seek + Send> ReadSeek for T {}

fn open_seekable(source: &Source) -> Result<Box<dyn ReadSeek>, FileError> {
    Ok(match source {
        Source::Memory(bytes) => Box::new(io::Cursor::new(Arc::clone(bytes))),
        Source::Path(path) => Box::new(io::BufReader::new(std::fs::File::open(path)?)),
        Source::Temporary(path) => Box::new(io::BufReader::new(std::fs::File::open(&**path)?)),
    })
}

fn bad(reason: impl std::fmt::Display) -> FileError {
    FileError::Spreadsheet(reason.to_string())
}

/// Decompresses every entry into nothing, counting; refuses an archive past the limits.
fn check_expansion<R: Read + Seek>(reader: R, archive_size: u64) -> Result<(), FileError> {
    let mut archive = zip::ZipArchive::new(reader).map_err(bad)?;
    if archive.len() > MAX_ENTRIES {
        return Err(FileError::SpreadsheetTooLarge);
    }
    let ratio_limit = archive_size
        .saturating_mul(MAX_RATIO)
        .max(RATIO_FLOOR_BYTES);
    let limit = MAX_UNCOMPRESSED_BYTES.min(ratio_limit);
    let mut total: u64 = 0;
    let mut buffer = vec![0u8; 64 * 1024];
    for index in 0..archive.len() {
        let mut entry = archive.by_index(index).map_err(bad)?;
        loop {
            let n = entry.read(&mut buffer).map_err(|e| bad(e.to_string()))?;
            if n == 0 {
                break;
            }
            total += n as u64;
            if total > limit {
                return Err(FileError::SpreadsheetTooLarge);
            }
        }
    }
    Ok(())
}

/// Writes the first sheet as CSV: one record per row from row 1 to the last used one (empty
/// rows as a record of one empty cell, which the reader skips while counting the line).
fn write_first_sheet<R: Read + Seek, W: Write>(reader: R, out: W) -> Result<(), FileError> {
    let mut workbook: Xlsx<R> = Xlsx::new(reader).map_err(bad)?;
    let name = workbook
        .sheet_names()
        .into_iter()
        .next()
        .ok_or_else(|| bad("工作簿中没有工作表"))?;
    let mut cells = workbook.worksheet_cells_reader(&name).map_err(bad)?;
    let mut writer = csv::WriterBuilder::new().flexible(true).from_writer(out);
    let mut row: Vec<String> = Vec::new();
    // The sheet row being filled, and how many rows are written.
    let mut pending: Option<u32> = None;
    let mut written: u32 = 0;
    // Excel stores no trailing empty cell: a row is padded to the header's width.
    let mut width: usize = 0;
    let mut flush = |writer: &mut csv::Writer<W>, row: &mut Vec<String>| -> Result<(), FileError> {
        if row.is_empty() {
            writer.write_record([""]).map_err(csv_error)?;
        } else {
            if width == 0 {
                width = row.len();
            } else if row.len() < width {
                row.resize(width, String::new());
            }
            writer.write_record(row.iter()).map_err(csv_error)?;
        }
        row.clear();
        Ok(())
    };
    while let Some(cell) = cells.next_cell().map_err(bad)? {
        let (r, c) = cell.get_position();
        if pending != Some(r) {
            if let Some(p) = pending {
                if r < p {
                    return Err(bad("工作表的行顺序错乱"));
                }
                flush(&mut writer, &mut row)?;
                written = p + 1;
            }
            while written < r {
                flush(&mut writer, &mut row)?;
                written += 1;
            }
            pending = Some(r);
        }
        let c = c as usize;
        if c >= MAX_COLUMNS {
            return Err(bad(format!("列数过多（超过{MAX_COLUMNS}列）")));
        }
        if row.len() <= c {
            row.resize(c + 1, String::new());
        }
        row[c] = text(cell.get_value());
    }
    if pending.is_some() {
        flush(&mut writer, &mut row)?;
    }
    writer.flush()?;
    Ok(())
}

fn csv_error(error: csv::Error) -> FileError {
    FileError::Io(error.to_string())
}

/// A cell as the text a CSV export of Excel would hold: integers without `.0` (phones and
/// 15-digit IDs typed as numbers), dates as `YYYY-MM-DD`.
fn text(value: &DataRef<'_>) -> String {
    match value {
        DataRef::Empty => String::new(),
        DataRef::String(s) | DataRef::DateTimeIso(s) | DataRef::DurationIso(s) => s.clone(),
        DataRef::SharedString(s) => (*s).to_owned(),
        DataRef::Int(i) => i.to_string(),
        DataRef::Float(f) => {
            if f.fract() == 0.0 && f.abs() < 1e17 {
                format!("{f:.0}")
            } else {
                f.to_string()
            }
        }
        DataRef::Bool(b) => if *b { "TRUE" } else { "FALSE" }.to_owned(),
        DataRef::DateTime(d) => {
            let (y, m, day, ..) = d.to_ymd_hms_milli();
            format!("{y:04}-{m:02}-{day:02}")
        }
        DataRef::Error(e) => format!("#{e:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn workbook(rows: &[&[&str]]) -> Vec<u8> {
        let mut book = rust_xlsxwriter::Workbook::new();
        let sheet = book.add_worksheet();
        for (r, row) in rows.iter().enumerate() {
            for (c, value) in row.iter().enumerate() {
                if !value.is_empty() {
                    sheet
                        .write_string(r as u32, c as u16, *value)
                        .expect("cell");
                }
            }
        }
        book.save_to_buffer().expect("xlsx")
    }

    fn csv_of(bytes: Vec<u8>) -> String {
        let (source, charset) = as_csv(Source::Memory(bytes.into()), None).expect("converted");
        assert_eq!(charset, Some(Charset::Utf8));
        let mut out = String::new();
        source.open().unwrap().read_to_string(&mut out).unwrap();
        out
    }

    #[test]
    fn rows_keep_their_sheet_line_numbers() {
        let csv = csv_of(workbook(&[
            &["姓名", "身份证号"],
            &["张三", "500237199001010019"],
            &[],
            &["", "x,y"],
            &["李四"],
        ]));
        assert_eq!(
            csv,
            "姓名,身份证号\n张三,500237199001010019\n\"\"\n,\"x,y\"\n李四,\n"
        );
    }

    #[test]
    fn numbers_and_dates_read_as_excel_shows_them() {
        let mut book = rust_xlsxwriter::Workbook::new();
        let sheet = book.add_worksheet();
        let date = rust_xlsxwriter::ExcelDateTime::from_ymd(2021, 3, 1).unwrap();
        let format = rust_xlsxwriter::Format::new().set_num_format("yyyy-mm-dd");
        sheet.write_number(0, 0, 13800138000.0).unwrap();
        sheet
            .write_datetime_with_format(0, 1, &date, &format)
            .unwrap();
        sheet.write_number(0, 2, 1.5).unwrap();
        let csv = csv_of(book.save_to_buffer().unwrap());
        assert_eq!(csv, "13800138000,2021-03-01,1.5\n");
    }

    #[test]
    fn a_csv_is_answered_unchanged() {
        let source = Source::Memory(b"a,b\n".to_vec().into());
        let (out, charset) = as_csv(source, Some(Charset::Gb18030)).unwrap();
        assert!(matches!(out, Source::Memory(_)));
        assert_eq!(charset, Some(Charset::Gb18030));
    }

    /// A zip of one entry of `size` zero bytes: deflate shrinks it about a thousand times.
    fn bomb(size: usize) -> Vec<u8> {
        let mut buffer = io::Cursor::new(Vec::new());
        let mut zip = zip::ZipWriter::new(&mut buffer);
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .large_file(size as u64 > u32::MAX as u64);
        zip.start_file("xl/worksheets/sheet1.xml", options).unwrap();
        let chunk = vec![0u8; 1 << 20];
        let mut left = size;
        while left > 0 {
            let n = left.min(chunk.len());
            zip.write_all(&chunk[..n]).unwrap();
            left -= n;
        }
        zip.finish().unwrap();
        buffer.into_inner()
    }

    #[test]
    fn a_zip_bomb_is_refused_after_bounded_work() {
        let bytes = bomb(64 << 20);
        assert!(bytes.len() < 1 << 20, "the bomb is small: {}", bytes.len());
        let result = as_csv(Source::Memory(bytes.into()), None);
        assert!(matches!(result, Err(FileError::SpreadsheetTooLarge)));
    }

    #[test]
    fn a_zip_that_is_no_workbook_is_a_bad_spreadsheet() {
        let mut buffer = io::Cursor::new(Vec::new());
        let mut zip = zip::ZipWriter::new(&mut buffer);
        zip.start_file("hello.txt", zip::write::SimpleFileOptions::default())
            .unwrap();
        zip.write_all(b"hello").unwrap();
        zip.finish().unwrap();
        let result = as_csv(Source::Memory(buffer.into_inner().into()), None);
        assert!(matches!(result, Err(FileError::Spreadsheet(_))));
        let truncated = {
            let mut b = workbook(&[&["a"]]);
            b.truncate(b.len() / 2);
            b
        };
        let result = as_csv(Source::Memory(truncated.into()), None);
        assert!(matches!(result, Err(FileError::Spreadsheet(_))));
    }
}
