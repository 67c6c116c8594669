//! The pull interface every file source implements, and what it hands out: valid events and
//! quarantined records, in batches the caller owns.

use std::path::PathBuf;

use pumpwatch_model::{Event, EventType, Id, InvalidEvent, Print, PrintExtras};

use crate::error::ReplayError;
use crate::naming::{Compression, Format};

/// One input record: a valid event, or a record that broke the contract.
#[derive(Clone, Debug, PartialEq)]
pub enum Record {
    Event(Event),
    Invalid(Quarantined),
}

/// An invalid record with what is needed to count it, find it and quarantine it.
#[derive(Clone, Debug, PartialEq)]
pub struct Quarantined {
    pub reason: InvalidEvent,
    /// Where it was read: `orders.ndjson:1234` (line), `orders.csv:17` (line the row starts on)
    /// or `orders.parquet:row 5` (0-based row in the file).
    pub location: String,
    /// The record as it was written: the line for NDJSON (invalid UTF-8 replaced by U+FFFD),
    /// the row text for CSV, the row rendered as a JSON object for Parquet.
    pub original: String,
}

/// A batch of input in read order: records, and the prints of a tape read in compact form
/// (see [`Source::next_tape`]). The order is kept as runs: so many records, then so many
/// prints, and so on, each run taken from the front of its vector.
#[derive(Debug, Default)]
pub struct Batch {
    pub records: Vec<Record>,
    pub prints: Vec<Print>,
    /// Beside each print, the fields the engine does not read.
    pub extras: Vec<PrintExtras>,
    pub runs: Vec<Run>,
}

/// A run of a [`Batch`]: this many records, or this many prints, in a row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Run {
    Records(usize),
    Prints(usize),
}

impl Batch {
    /// A batch of the records `records` already holds, in one run.
    pub fn of_records(records: Vec<Record>) -> Self {
        let runs = match records.len() {
            0 => Vec::new(),
            n => vec![Run::Records(n)],
        };
        Batch {
            records,
            runs,
            ..Batch::default()
        }
    }

    /// Runs `read` on a batch built around `out`'s buffer, for a source that reads into
    /// batches and is asked for records only: what it read is left in `out`.
    pub fn read_records(
        out: &mut Vec<Record>,
        read: impl FnOnce(&mut Batch) -> Result<bool, ReplayError>,
    ) -> Result<bool, ReplayError> {
        let mut batch = Batch::of_records(std::mem::take(out));
        let result = read(&mut batch);
        *out = batch.records;
        result
    }

    /// Clears the batch and fills it with the records `read` puts in its record buffer, in
    /// one run: how a source read for records only fills a batch.
    pub fn fill_records(
        &mut self,
        read: impl FnOnce(&mut Vec<Record>) -> Result<bool, ReplayError>,
    ) -> Result<bool, ReplayError> {
        self.clear();
        let result = read(&mut self.records);
        if !self.records.is_empty() {
            self.runs.push(Run::Records(self.records.len()));
        }
        result
    }

    pub fn clear(&mut self) {
        self.records.clear();
        self.prints.clear();
        self.extras.clear();
        self.runs.clear();
    }

    /// Records and prints together.
    pub fn len(&self) -> usize {
        self.records.len() + self.prints.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    #[inline]
    pub fn push_record(&mut self, record: Record) {
        self.records.push(record);
        match self.runs.last_mut() {
            Some(Run::Records(n)) => *n += 1,
            _ => self.runs.push(Run::Records(1)),
        }
    }

    #[inline]
    pub fn push_print(&mut self, print: Print, extras: PrintExtras) {
        self.prints.push(print);
        self.extras.push(extras);
        match self.runs.last_mut() {
            Some(Run::Prints(n)) => *n += 1,
            _ => self.runs.push(Run::Prints(1)),
        }
    }

    /// Every record and print in read order, the prints as full events; `symbols` is the
    /// symbol table of the source that read the prints.
    pub fn into_records(self, symbols: &[Id]) -> Vec<Record> {
        if self.prints.is_empty() {
            return self.records;
        }
        let mut out = Vec::with_capacity(self.len());
        let mut records = self.records.into_iter();
        let mut prints = self.prints.iter().zip(&self.extras);
        for run in self.runs {
            match run {
                Run::Records(n) => out.extend(records.by_ref().take(n)),
                Run::Prints(n) => out.extend(prints.by_ref().take(n).map(|(print, extras)| {
                    Record::Event(print.to_event(&symbols[print.symbol as usize], extras))
                })),
            }
        }
        out
    }
}

/// How far a source has read, for a progress bar. For compressed files both numbers count
/// compressed bytes, so the ratio is right even though events are counted after decompression.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Progress {
    pub bytes_read: u64,
    pub bytes_total: u64,
}

impl std::ops::Add for Progress {
    type Output = Progress;
    fn add(self, other: Progress) -> Progress {
        Progress {
            bytes_read: self.bytes_read + other.bytes_read,
            bytes_total: self.bytes_total + other.bytes_total,
        }
    }
}

/// One file a source reads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InputFile {
    pub path: PathBuf,
    pub format: Format,
    pub compression: Compression,
    /// The type implied by the file name (`orders.csv`), used for records without `type`.
    pub default_type: Option<EventType>,
}

/// What an input turned out to be: the files read and, for a directory, the files skipped
/// because their names are not per-type event files (so the CLI can mention them).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SourceInfo {
    pub files: Vec<InputFile>,
    pub ignored: Vec<PathBuf>,
}

/// Tuning knobs of the file readers. Every field has a limit so that one bad input cannot make
/// the process grow without bound.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceOptions {
    /// Size of the read buffer of the NDJSON reader (and of the CSV reader's buffer).
    pub read_buffer_bytes: usize,
    /// A longer NDJSON line is quarantined as malformed without being decoded.
    pub line_bytes_max: usize,
    /// Records each per-type file reads ahead in a directory merge.
    pub merge_batch_records: usize,
    /// Rows decoded from Parquet at once, per file: a row group larger than this is read in
    /// slices (pages outside a slice are skipped), so memory does not depend on how the
    /// producer sized its row groups.
    pub parquet_batch_rows: usize,
    /// In a directory, leave out files whose names resemble a per-type file's without being
    /// one (`orders_20250317.ndjson`, `execution.csv`) instead of refusing the input. They are
    /// listed in [`SourceInfo::ignored`] either way.
    pub ignore_misnamed: bool,
}

impl Default for SourceOptions {
    fn default() -> Self {
        SourceOptions {
            read_buffer_bytes: 4 << 20,
            line_bytes_max: 16 << 20,
            merge_batch_records: 1024,
            parquet_batch_rows: 64 * 1024,
            ignore_misnamed: false,
        }
    }
}

/// A stream of records from files. `Send` so a caller may read on one thread and run the
/// engine on another.
pub trait Source: Send {
    /// Clears `out` and fills it with up to `max` records (`max` of 0 is treated as 1).
    /// Returns `Ok(false)` once the input is exhausted; the records already in `out` are still
    /// to be processed. An `Err` means the input cannot be read any further (an IO error or a
    /// corrupt compressed stream); records read before it were returned by earlier calls.
    fn next_batch(&mut self, out: &mut Vec<Record>, max: usize) -> Result<bool, ReplayError>;

    /// As [`Source::next_batch`], but a source that reads a tape in bulk may hand its valid
    /// trades out as prints, whose symbol codes index [`Source::tape_symbols`]; `max` counts
    /// records and prints. By default, records only.
    fn next_tape(&mut self, out: &mut Batch, max: usize) -> Result<bool, ReplayError> {
        out.fill_records(|records| self.next_batch(records, max))
    }

    /// The symbol table of the prints this source hands out (append-only).
    fn tape_symbols(&self) -> &[Id] {
        &[]
    }

    /// Bytes read so far out of the total, for a progress bar.
    fn progress(&self) -> Progress;

    /// The files this source reads and the files it ignored.
    fn info(&self) -> &SourceInfo;
}
