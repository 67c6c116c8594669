//! CSV files (plain, gzip or zstd): the header row names the fields, every cell is text and
//! an empty cell is an absent field. Rows are read into one reused `ByteRecord`.

use std::borrow::Cow;
use std::io::{self, Read};
use std::path::PathBuf;

use pumpwatch_model::raw::FIELD_NAMES;
use pumpwatch_model::{EventType, Field, InvalidEvent, InvalidReason, RawRecord};

use crate::error::ReplayError;
use crate::fields::{build_record, field_index};
use crate::input::{open_stream, ByteCounter};
use crate::naming::display_name;
use crate::source::{InputFile, Progress, Quarantined, Record, Source, SourceInfo, SourceOptions};

/// The raw bytes are kept until this much has accumulated, then trimmed to the current row.
const TAPE_TRIM_BYTES: usize = 4 << 20;

/// The bytes the CSV parser has pulled from the file since `base`, so that an invalid row can
/// be quarantined as it was written rather than re-quoted from its parsed cells.
struct Tape {
    inner: Box<dyn Read + Send>,
    bytes: Vec<u8>,
    /// Stream offset of `bytes[0]`.
    base: u64,
    /// Stream offset where the row being parsed starts.
    row_start: u64,
    /// More bytes than this read ahead of `row_start` means one row never ends.
    ahead_bytes_max: u64,
}

impl Read for Tape {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let ahead = self.base + self.bytes.len() as u64 - self.row_start;
        if ahead > self.ahead_bytes_max {
            // The CSV parser would otherwise buffer the rest of the file as one row. An
            // unclosed quote spoils everything after it anyway, so this ends the file.
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "a CSV row longer than {} bytes (an unclosed quote?)",
                    self.ahead_bytes_max
                ),
            ));
        }
        let n = self.inner.read(buf)?;
        self.bytes.extend_from_slice(&buf[..n]);
        Ok(n)
    }
}

impl Tape {
    /// The row at stream bytes `from..to` as written, without the line breaks around it, and
    /// the line it starts on. The parser's position can sit before line breaks that precede
    /// the row (the `\n` of a CRLF, blank lines), so those are counted here.
    fn row(&self, from: u64, to: u64, line: u64) -> (u64, String) {
        let from = from.saturating_sub(self.base) as usize;
        let to = (to.saturating_sub(self.base) as usize).min(self.bytes.len());
        let raw = self.bytes.get(from..to).unwrap_or_default();
        let is_break = |b: &u8| *b == b'\r' || *b == b'\n';
        let lead = raw.iter().take_while(|b| is_break(b)).count();
        let line = line + raw[..lead].iter().filter(|b| **b == b'\n').count() as u64;
        let raw = &raw[lead..];
        let tail = raw.iter().rev().take_while(|b| is_break(b)).count();
        (
            line,
            String::from_utf8_lossy(&raw[..raw.len() - tail]).into_owned(),
        )
    }

    /// The rows before `offset` are done with.
    fn trim_to(&mut self, offset: u64) {
        self.row_start = offset;
        if self.bytes.len() > TAPE_TRIM_BYTES {
            let cut = (offset.saturating_sub(self.base) as usize).min(self.bytes.len());
            self.bytes.drain(..cut);
            self.base += cut as u64;
        }
    }
}

/// Reads one CSV file.
pub struct CsvSource {
    info: SourceInfo,
    path: PathBuf,
    name: String,
    default_type: Option<EventType>,
    reader: csv::Reader<Tape>,
    counter: ByteCounter,
    /// For each contract field, the header column that fills it.
    field_columns: [Option<usize>; FIELD_NAMES.len()],
    /// Header names, for messages about a cell.
    header: Vec<String>,
    row: csv::ByteRecord,
    done: bool,
    error: Option<ReplayError>,
}

impl CsvSource {
    pub fn open(file: &InputFile, options: &SourceOptions) -> Result<Self, ReplayError> {
        let (stream, counter) = open_stream(&file.path, file.compression)?;
        let buffer_bytes = options.read_buffer_bytes.clamp(64, 1 << 20);
        let tape = Tape {
            inner: stream,
            bytes: Vec::new(),
            base: 0,
            row_start: 0,
            ahead_bytes_max: (options.line_bytes_max.max(1024) + buffer_bytes) as u64,
        };
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            // Rows with the wrong number of cells are quarantined, not fatal.
            .flexible(true)
            .buffer_capacity(buffer_bytes)
            .from_reader(tape);
        let mut header_row = csv::ByteRecord::new();
        let has_header = reader
            .read_byte_record(&mut header_row)
            .map_err(|e| csv_error(&file.path, e))?;
        let first_row = reader.position().byte();
        reader.get_mut().trim_to(first_row);
        let header: Vec<String> = if has_header {
            header_row
                .iter()
                .enumerate()
                .map(|(i, cell)| {
                    let cell = if i == 0 {
                        cell.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(cell)
                    } else {
                        cell
                    };
                    String::from_utf8_lossy(cell).trim().to_string()
                })
                .collect()
        } else {
            Vec::new()
        };
        let mut field_columns = [None; FIELD_NAMES.len()];
        // Going backwards, so of a repeated column name the first one counts.
        for (column, name) in header.iter().enumerate().rev() {
            if let Some(index) = field_index(name) {
                field_columns[index] = Some(column);
            }
        }
        Ok(CsvSource {
            info: SourceInfo {
                files: vec![file.clone()],
                ignored: Vec::new(),
            },
            path: file.path.clone(),
            name: display_name(&file.path),
            default_type: file.default_type,
            reader,
            counter,
            field_columns,
            header,
            row: csv::ByteRecord::new(),
            done: !has_header,
            error: None,
        })
    }

    fn push_row(&mut self, out: &mut Vec<Record>) {
        let row = &self.row;
        let (start, line) = row
            .position()
            .map(|p| (p.byte(), p.line()))
            .unwrap_or_default();
        if row.len() == 1 && self.header.len() != 1 && row[0].iter().all(u8::is_ascii_whitespace) {
            // A line of only spaces is blank, as in NDJSON.
            return;
        }
        let result = if row.len() != self.header.len() {
            Err(InvalidEvent::new(
                InvalidReason::Malformed(format!(
                    "row has {} cells, the header has {}",
                    row.len(),
                    self.header.len()
                )),
                self.default_type,
            ))
        } else {
            record_of(row, &self.field_columns, &self.header, self.default_type)
                .and_then(|record| record.validate(self.default_type))
        };
        out.push(match result {
            Ok(event) => Record::Event(event),
            Err(reason) => {
                let end = self.reader.position().byte();
                let (line, original) = self.reader.get_ref().row(start, end, line);
                Record::Invalid(Quarantined {
                    reason,
                    location: format!("{}:{line}", self.name),
                    original,
                })
            }
        });
    }
}

/// The row's cells as contract fields: every cell is text, an empty cell is absent.
fn record_of<'r>(
    row: &'r csv::ByteRecord,
    field_columns: &[Option<usize>; FIELD_NAMES.len()],
    header: &[String],
    default_type: Option<EventType>,
) -> Result<RawRecord<'r>, InvalidEvent> {
    let mut not_utf8 = None;
    let record = build_record(|index| {
        let column = field_columns[index]?;
        let cell = row.get(column).filter(|cell| !cell.is_empty())?;
        match std::str::from_utf8(cell) {
            Ok(text) => Some(Field::Text(Cow::Borrowed(text))),
            Err(_) => {
                not_utf8 = Some(column);
                None
            }
        }
    });
    match not_utf8 {
        None => Ok(record),
        Some(column) => Err(InvalidEvent::new(
            InvalidReason::Malformed(format!("column `{}` is not UTF-8", header[column])),
            default_type,
        )),
    }
}

fn csv_error(path: &std::path::Path, error: csv::Error) -> ReplayError {
    match error.into_kind() {
        csv::ErrorKind::Io(e) => ReplayError::io(path, e),
        other => ReplayError::io(path, io::Error::other(format!("{other:?}"))),
    }
}

impl Source for CsvSource {
    fn next_batch(&mut self, out: &mut Vec<Record>, max: usize) -> Result<bool, ReplayError> {
        out.clear();
        let max = max.max(1);
        if let Some(error) = self.error.take() {
            return Err(error);
        }
        while out.len() < max && !self.done {
            match self.reader.read_byte_record(&mut self.row) {
                Ok(true) => {
                    self.push_row(out);
                    let next = self.reader.position().byte();
                    self.reader.get_mut().trim_to(next);
                }
                Ok(false) => self.done = true,
                Err(e) => {
                    self.done = true;
                    let error = csv_error(&self.path, e);
                    if out.is_empty() {
                        return Err(error);
                    }
                    self.error = Some(error);
                    return Ok(true);
                }
            }
        }
        Ok(!self.done)
    }

    fn progress(&self) -> Progress {
        self.counter.progress()
    }

    fn info(&self) -> &SourceInfo {
        &self.info
    }
}
