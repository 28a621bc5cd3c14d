//! Reading an import file: its character set (UTF-8 with or without BOM, or GB18030, detected
//! or given), decoded as a stream, and split into records by the `csv` crate. Nothing here
//! holds the whole file decoded: memory stays flat whatever the number of rows.

use std::io::{self, BufRead, BufReader, Read};
use std::path::PathBuf;
use std::sync::Arc;

use encoding_rs::{Decoder, DecoderResult, Encoding, GB18030, UTF_8};
use sha2::{Digest, Sha256};
use zhijian_domain::import::{Column, Header, HeaderError, MAX_CELL_BYTES, MemberHeader};

/// Where the bytes are: in memory (an HTTP body) or in a file (the command line).
#[derive(Debug, Clone)]
pub enum Source {
    /// A request body.
    Memory(Arc<[u8]>),
    /// A file on disk.
    Path(PathBuf),
    /// A file this process wrote (an XLSX's sheet as CSV), deleted with its last handle.
    Temporary(Arc<tempfile::TempPath>),
}

impl Source {
    /// A fresh reader over the bytes.
    pub fn open(&self) -> io::Result<Box<dyn Read + Send>> {
        Ok(match self {
            Self::Memory(bytes) => Box::new(io::Cursor::new(Arc::clone(bytes))),
            Self::Path(path) => Box::new(std::fs::File::open(path)?),
            Self::Temporary(path) => Box::new(std::fs::File::open(&**path)?),
        })
    }

    /// The size in bytes.
    pub fn len(&self) -> io::Result<u64> {
        Ok(match self {
            Self::Memory(bytes) => bytes.len() as u64,
            Self::Path(path) => std::fs::metadata(path)?.len(),
            Self::Temporary(path) => std::fs::metadata(&**path)?.len(),
        })
    }

    /// True when there are no bytes.
    pub fn is_empty(&self) -> io::Result<bool> {
        Ok(self.len()? == 0)
    }

    /// SHA-256 of the content, hex.
    pub fn sha256(&self) -> io::Result<String> {
        let mut hasher = Sha256::new();
        let mut reader = self.open()?;
        let mut buffer = vec![0u8; 64 * 1024];
        loop {
            let n = reader.read(&mut buffer)?;
            if n == 0 {
                break;
            }
            hasher.update(&buffer[..n]);
        }
        Ok(hex::encode(hasher.finalize()))
    }
}

/// The character set of a CSV file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Charset {
    /// UTF-8 (a BOM is skipped).
    Utf8,
    /// GB18030 (and so GBK and GB2312), what Excel writes on Chinese Windows.
    Gb18030,
}

impl Charset {
    /// `utf-8`, `utf8`, `gb18030`, `gbk`, `gb2312` (any case).
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "utf-8" | "utf8" => Some(Self::Utf8),
            "gb18030" | "gbk" | "gb2312" => Some(Self::Gb18030),
            _ => None,
        }
    }

    /// As stored.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Utf8 => "utf-8",
            Self::Gb18030 => "gb18030",
        }
    }

    fn encoding(self) -> &'static Encoding {
        match self {
            Self::Utf8 => UTF_8,
            Self::Gb18030 => GB18030,
        }
    }
}

/// Why a file cannot be read at all.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// Some lines are UTF-8 and others are not: two encodings in one file.
    #[error("文件中混有不同的字符编码，请用 Excel 另存为“CSV UTF-8”后重新上传")]
    MixedEncoding,
    /// Not decodable in the charset (given or detected).
    #[error("文件不是 UTF-8 或 GB18030 编码的文本，请用 Excel 另存为“CSV UTF-8”后重新上传")]
    BadEncoding,
    /// The header line.
    #[error(transparent)]
    Header(#[from] HeaderError),
    /// A header and no row.
    #[error("文件只有表头，没有数据行")]
    NoRows,
    /// More rows than one import takes (the sheet's limit is named).
    #[error("文件超过{0}行，请分批导入")]
    TooManyRows(usize),
    #[error("无法读取该 Excel 文件（{0}），请确认是 .xlsx 格式，或另存为“CSV UTF-8”后上传")]
    Spreadsheet(String),
    #[error("该 Excel 文件解压后过大（疑似压缩炸弹），请分批导入或另存为 CSV 后上传")]
    SpreadsheetTooLarge,
    /// The file could not be read.
    #[error("文件无法读取：{0}")]
    Io(String),
}

impl From<io::Error> for FileError {
    fn from(error: io::Error) -> Self {
        if error.kind() == io::ErrorKind::InvalidData {
            Self::BadEncoding
        } else {
            Self::Io(error.to_string())
        }
    }
}

/// The charset of the file: every line valid UTF-8 → UTF-8; no non-ASCII line valid UTF-8 →
/// GB18030; both kinds → mixed.
pub fn detect(source: &Source) -> Result<Charset, FileError> {
    let mut reader = BufReader::with_capacity(64 * 1024, source.open()?);
    let (mut utf8, mut other) = (false, false);
    let mut line = Vec::new();
    loop {
        line.clear();
        // Lines are bounded by the reader's own growth; a 10 MB line is read once and checked.
        let n = reader.read_until(b'\n', &mut line)?;
        if n == 0 {
            break;
        }
        if line.is_ascii() {
            continue;
        }
        if std::str::from_utf8(&line).is_ok() {
            utf8 = true;
        } else {
            other = true;
        }
        if utf8 && other {
            return Err(FileError::MixedEncoding);
        }
    }
    Ok(if other {
        Charset::Gb18030
    } else {
        Charset::Utf8
    })
}

/// A reader that decodes `inner` from `charset` to UTF-8 (BOM removed); malformed input is an
/// `InvalidData` error, never a replacement character.
pub struct Decoding {
    inner: Box<dyn Read + Send>,
    decoder: Decoder,
    input: Vec<u8>,
    start: usize,
    end: usize,
    output: Vec<u8>,
    out_start: usize,
    out_end: usize,
    eof: bool,
    finished: bool,
}

impl Decoding {
    /// Decodes `inner`.
    pub fn new(inner: Box<dyn Read + Send>, charset: Charset) -> Self {
        Self {
            inner,
            decoder: charset.encoding().new_decoder_with_bom_removal(),
            input: vec![0; 64 * 1024],
            start: 0,
            end: 0,
            output: vec![0; 3 * 64 * 1024 + 16],
            out_start: 0,
            out_end: 0,
            eof: false,
            finished: false,
        }
    }
}

impl Read for Decoding {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.out_start == self.out_end {
            if self.start == self.end && !self.eof {
                let n = self.inner.read(&mut self.input)?;
                self.start = 0;
                self.end = n;
                self.eof = n == 0;
            }
            if self.eof && self.start == self.end {
                if self.finished {
                    return Ok(0);
                }
                self.finished = true;
                // Flush whatever the decoder holds (an incomplete sequence is malformed).
                let (result, _, written) =
                    self.decoder
                        .decode_to_utf8_without_replacement(&[], &mut self.output, true);
                if let DecoderResult::Malformed(..) = result {
                    return Err(io::Error::new(io::ErrorKind::InvalidData, "malformed"));
                }
                if written == 0 {
                    return Ok(0);
                }
                self.out_start = 0;
                self.out_end = written;
                self.eof = true;
                break;
            }
            let (result, read, written) = self.decoder.decode_to_utf8_without_replacement(
                &self.input[self.start..self.end],
                &mut self.output,
                false,
            );
            if let DecoderResult::Malformed(..) = result {
                return Err(io::Error::new(io::ErrorKind::InvalidData, "malformed"));
            }
            self.start += read;
            self.out_start = 0;
            self.out_end = written;
        }
        let n = buf.len().min(self.out_end - self.out_start);
        buf[..n].copy_from_slice(&self.output[self.out_start..self.out_start + n]);
        self.out_start += n;
        Ok(n)
    }
}

/// The records of a CSV file, decoded.
pub struct Records {
    reader: csv::Reader<Decoding>,
    record: csv::StringRecord,
}

/// One data record: its line, and its cells or why it could not be read.
pub enum Record<'a> {
    /// Cells as read.
    Cells(u64, &'a csv::StringRecord),
    /// Unreadable (a cell too long, a quote left open).
    Unreadable(u64, &'static str),
}

impl Records {
    /// Opens `source` in `charset`, positioned before the header.
    pub fn open(source: &Source, charset: Charset) -> Result<Self, FileError> {
        let reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(Decoding::new(source.open()?, charset));
        Ok(Self {
            reader,
            record: csv::StringRecord::new(),
        })
    }

    /// The header line of a member sheet, read with the domain's rules.
    pub fn member_header(&mut self) -> Result<MemberHeader, FileError> {
        Ok(self.header()?.0)
    }

    /// The header line, read with the domain's rules, and its cells as written.
    pub fn header<C: Column>(&mut self) -> Result<(Header<C>, Vec<String>), FileError> {
        if !self.advance()? {
            return Err(HeaderError::Empty.into());
        }
        let cells: Vec<String> = self.record.iter().map(str::to_owned).collect();
        Ok((Header::parse(&cells)?, cells))
    }

    fn advance(&mut self) -> Result<bool, FileError> {
        match self.reader.read_record(&mut self.record) {
            Ok(more) => Ok(more),
            Err(e) => match e.into_kind() {
                csv::ErrorKind::Io(io) => Err(io.into()),
                csv::ErrorKind::Utf8 { .. } => Err(FileError::BadEncoding),
                other => Err(FileError::Io(format!("{other:?}"))),
            },
        }
    }

    /// The next data record, or `None` at the end.
    pub fn next_record(&mut self) -> Result<Option<Record<'_>>, FileError> {
        if !self.advance()? {
            return Ok(None);
        }
        let line = self.record.position().map_or(0, csv::Position::line);
        if self
            .record
            .iter()
            .any(|c| c.contains('\n') || c.contains('\r'))
        {
            return Ok(Some(Record::Unreadable(line, "引号未闭合或单元格内有换行")));
        }
        if self.record.iter().any(|c| c.len() > MAX_CELL_BYTES) {
            return Ok(Some(Record::Unreadable(line, "单元格内容过长")));
        }
        // A blank line between rows is not a row.
        if self.record.iter().all(|c| c.trim().is_empty()) {
            return self.next_record();
        }
        Ok(Some(Record::Cells(line, &self.record)))
    }
}

/// Checks what can be checked before answering: the charset (detected unless given), the whole
/// file decodes, the header is right and at least one row follows.
pub fn open_members(
    source: &Source,
    charset: Option<Charset>,
) -> Result<(Charset, MemberHeader), FileError> {
    let charset = match charset {
        Some(c) => c,
        None => detect(source)?,
    };
    io::copy(&mut Decoding::new(source.open()?, charset), &mut io::sink())?;
    let mut records = Records::open(source, charset)?;
    let header = records.member_header()?;
    if records.next_record()?.is_none() {
        return Err(FileError::NoRows);
    }
    Ok((charset, header))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn memory(bytes: &[u8]) -> Source {
        Source::Memory(Arc::from(bytes))
    }

    #[test]
    fn utf8_with_a_bom_and_gb18030_are_told_apart_and_decoded() {
        let text = "姓名,工会\n张三,1\n";
        let (gbk, _, _) = GB18030.encode(text);
        assert_eq!(detect(&memory(gbk.as_ref())).unwrap(), Charset::Gb18030);
        let mut bom = vec![0xEF, 0xBB, 0xBF];
        bom.extend_from_slice(text.as_bytes());
        assert_eq!(detect(&memory(&bom)).unwrap(), Charset::Utf8);
        for (bytes, charset) in [(gbk.to_vec(), Charset::Gb18030), (bom, Charset::Utf8)] {
            let mut out = String::new();
            Decoding::new(memory(&bytes).open().unwrap(), charset)
                .read_to_string(&mut out)
                .unwrap();
            assert_eq!(out, text);
        }
    }

    #[test]
    fn two_encodings_in_one_file_are_refused() {
        let (gbk, _, _) = GB18030.encode("李四,1\n");
        let mut bytes = "张三,1\n".as_bytes().to_vec();
        bytes.extend_from_slice(&gbk);
        assert!(matches!(
            detect(&memory(&bytes)),
            Err(FileError::MixedEncoding)
        ));
    }

    #[test]
    fn malformed_gb18030_is_an_error_not_a_replacement() {
        let mut out = String::new();
        let result = Decoding::new(
            memory(&[0x81, 0x20, 0x41]).open().unwrap(),
            Charset::Gb18030,
        )
        .read_to_string(&mut out);
        assert!(result.is_err());
    }
}
