//! The register as a file — CSV (UTF-8 with a byte-order mark) or XLSX — written in chunks
//! into a bounded channel that the HTTP layer drains, so that memory does not grow with the
//! number of rows: at most [`CHANNEL_CHUNKS`] chunks of about [`CHUNK_BYTES`] wait for a slow
//! client, and the writer blocks until it takes one.
//!
//! XLSX is written with `rust_xlsxwriter` in constant-memory mode: each row goes to the
//! worksheet's temporary file as soon as the next begins, with inline strings (no shared
//! string table); at the end the zip is assembled straight into the channel. Every cell is
//! written as a string, never as a formula. CSV cells that look like formulas are neutralised
//! ([`zhijian_domain::export::neutralise_csv_cell`]).

use std::borrow::Cow;
use std::io::{self, Write};

use rust_xlsxwriter::{Workbook, Worksheet, XlsxError};
use tokio::sync::mpsc;
use zhijian_domain::export::{
    ExportFormat, REGISTER_COLUMNS, REGISTER_HEADER, neutralise_csv_cell,
};

/// Bytes gathered before a chunk is handed to the channel.
pub const CHUNK_BYTES: usize = 64 * 1024;

/// Chunks the channel holds before the writer waits for the client.
pub const CHANNEL_CHUNKS: usize = 8;

/// The last data row of an XLSX worksheet (Excel's limit is 1,048,576 rows, the header
/// included); the register goes on in a new sheet.
const XLSX_LAST_ROW: u32 = 1_048_575;

/// A chunk of the file, or the news that it cannot be finished (the HTTP layer then cuts the
/// body, so the client sees an incomplete download rather than a short file).
pub type Chunk = Result<Vec<u8>, FileAborted>;

/// The file could not be finished.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("the export could not be finished")]
pub struct FileAborted;

/// Why writing stopped.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// The client went away (the channel's receiver was dropped).
    #[error("the client went away")]
    Disconnected,
    /// The XLSX writer failed (its temporary file).
    #[error("xlsx: {0}")]
    Xlsx(#[from] XlsxError),
    /// Writing CSV failed.
    #[error("csv: {0}")]
    Csv(#[from] csv::Error),
}

impl From<io::Error> for WriteError {
    fn from(_: io::Error) -> Self {
        // The only I/O of the writers that is not theirs is the channel.
        WriteError::Disconnected
    }
}

/// An [`io::Write`] that hands [`CHUNK_BYTES`]-sized chunks to a bounded channel, blocking
/// while it is full. Call from a blocking task only.
pub struct ChunkWriter {
    buffer: Vec<u8>,
    sender: mpsc::Sender<Chunk>,
    /// Bytes handed to the channel so far.
    sent: u64,
}

impl ChunkWriter {
    /// A writer into `sender`.
    pub fn new(sender: mpsc::Sender<Chunk>) -> Self {
        Self {
            buffer: Vec::with_capacity(CHUNK_BYTES),
            sender,
            sent: 0,
        }
    }

    fn send_buffer(&mut self) -> io::Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let chunk = std::mem::replace(&mut self.buffer, Vec::with_capacity(CHUNK_BYTES));
        self.sent += chunk.len() as u64;
        self.sender
            .blocking_send(Ok(chunk))
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "client gone"))
    }

    /// Bytes handed to the channel so far.
    pub fn sent(&self) -> u64 {
        self.sent
    }

    /// Whether the client went away.
    pub fn disconnected(&self) -> bool {
        self.sender.is_closed()
    }
}

impl Write for ChunkWriter {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.buffer.extend_from_slice(bytes);
        if self.buffer.len() >= CHUNK_BYTES {
            self.send_buffer()?;
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.send_buffer()
    }
}

/// A register file being written.
pub enum RegisterFile {
    /// CSV.
    Csv(Box<csv::Writer<ChunkWriter>>),
    /// XLSX.
    Xlsx(Box<XlsxRegister>),
}

/// The XLSX workbook being written: the current sheet and its next row.
pub struct XlsxRegister {
    workbook: Workbook,
    sheet: Worksheet,
    row: u32,
    out: ChunkWriter,
}

impl RegisterFile {
    /// Starts a file in `format` (the header row written) into `out`.
    pub fn start(format: ExportFormat, mut out: ChunkWriter) -> Result<Self, WriteError> {
        match format {
            ExportFormat::Csv => {
                // The byte-order mark: Excel reads UTF-8 only when it is there.
                out.write_all("\u{feff}".as_bytes())?;
                let mut writer = csv::WriterBuilder::new()
                    .buffer_capacity(CHUNK_BYTES)
                    .from_writer(out);
                writer.write_record(REGISTER_HEADER)?;
                Ok(Self::Csv(Box::new(writer)))
            }
            ExportFormat::Xlsx => {
                let mut workbook = Workbook::new();
                // The fastest deflate: the XML of a register compresses well at any level, and
                // the level's cost is paid while the client waits for the first byte.
                workbook.set_zip_compression_level(1);
                let sheet = new_sheet(&mut workbook)?;
                Ok(Self::Xlsx(Box::new(XlsxRegister {
                    workbook,
                    sheet,
                    row: 1,
                    out,
                })))
            }
        }
    }

    /// Appends one member's line.
    pub fn line(&mut self, cells: &[Cow<'_, str>; REGISTER_COLUMNS]) -> Result<(), WriteError> {
        match self {
            Self::Csv(writer) => {
                for cell in cells {
                    writer.write_field(neutralise_csv_cell(cell).as_bytes())?;
                }
                writer.write_record(std::iter::empty::<&[u8]>())?;
            }
            Self::Xlsx(xlsx) => {
                if xlsx.row > XLSX_LAST_ROW {
                    let full = std::mem::replace(&mut xlsx.sheet, new_sheet(&mut xlsx.workbook)?);
                    xlsx.workbook.push_worksheet(full);
                    xlsx.row = 1;
                }
                for (col, cell) in (0u16..).zip(cells.iter()) {
                    xlsx.sheet.write_string(xlsx.row, col, cell.as_ref())?;
                }
                xlsx.row += 1;
            }
        }
        Ok(())
    }

    /// After a batch: CSV hands what it holds to the channel (XLSX rows are already in the
    /// worksheet's temporary file). Also tells whether the client went away.
    pub fn end_batch(&mut self) -> Result<(), WriteError> {
        match self {
            Self::Csv(writer) => {
                writer.flush()?;
                if writer.get_ref().disconnected() {
                    return Err(WriteError::Disconnected);
                }
            }
            Self::Xlsx(xlsx) => {
                if xlsx.out.disconnected() {
                    return Err(WriteError::Disconnected);
                }
            }
        }
        Ok(())
    }

    /// Finishes the file (XLSX: assembles the zip into the channel); the bytes sent.
    pub fn finish(self) -> Result<u64, WriteError> {
        match self {
            Self::Csv(writer) => {
                let mut out = writer
                    .into_inner()
                    .map_err(|e| WriteError::from(e.into_error()))?;
                out.flush()?;
                Ok(out.sent())
            }
            Self::Xlsx(xlsx) => {
                let XlsxRegister {
                    mut workbook,
                    sheet,
                    mut out,
                    ..
                } = *xlsx;
                workbook.push_worksheet(sheet);
                workbook.save_to_writer(&mut out).map_err(|e| {
                    if out.disconnected() {
                        WriteError::Disconnected
                    } else {
                        WriteError::Xlsx(e)
                    }
                })?;
                out.flush()?;
                Ok(out.sent())
            }
        }
    }
}

/// A constant-memory sheet with the header row and readable column widths.
fn new_sheet(workbook: &mut Workbook) -> Result<Worksheet, XlsxError> {
    let mut sheet = workbook.new_worksheet_with_constant_memory()?;
    for (col, title) in (0u16..).zip(REGISTER_HEADER) {
        let width = match col {
            0 | 2 => 22,
            7 | 9 | 12 => 30,
            _ => 12,
        };
        sheet.set_column_width(col, width)?;
        sheet.write_string(0, col, title)?;
    }
    Ok(sheet)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_writer_sends_chunks_of_bounded_size_and_blocks_when_the_channel_is_full() {
        let (sender, mut receiver) = mpsc::channel(CHANNEL_CHUNKS);
        let writer = std::thread::spawn(move || {
            let mut out = ChunkWriter::new(sender);
            let line = vec![b'x'; 1000];
            for _ in 0..(CHANNEL_CHUNKS * CHUNK_BYTES * 3 / 1000) {
                out.write_all(&line).unwrap();
            }
            out.flush().unwrap();
            out.sent()
        });
        // Nobody reads: the writer fills the channel and waits.
        std::thread::sleep(std::time::Duration::from_millis(200));
        assert_eq!(receiver.len(), CHANNEL_CHUNKS);
        assert!(!writer.is_finished());
        let mut total = 0;
        while let Some(chunk) = receiver.blocking_recv() {
            let chunk = chunk.unwrap();
            assert!(chunk.len() < CHUNK_BYTES + 1000);
            total += chunk.len() as u64;
        }
        assert_eq!(writer.join().unwrap(), total);
    }

    #[test]
    fn a_dropped_receiver_stops_the_writer() {
        let (sender, receiver) = mpsc::channel(1);
        drop(receiver);
        let mut out = ChunkWriter::new(sender);
        assert!(out.write_all(&vec![0; CHUNK_BYTES]).is_err());
        assert!(out.disconnected());
    }
}
