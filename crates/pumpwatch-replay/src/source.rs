//! The pull interface every file source implements, and what it hands out: valid events and
//! quarantined records, in batches the caller owns.

use std::path::PathBuf;

use pumpwatch_model::{Event, EventType, InvalidEvent};

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

    /// Bytes read so far out of the total, for a progress bar.
    fn progress(&self) -> Progress;

    /// The files this source reads and the files it ignored.
    fn info(&self) -> &SourceInfo;

    /// Whether the source has had nothing to send for so long (a live partition without
    /// traffic) that it should stop holding back the merge of the other sources. A file is
    /// never idle: it blocks until it has read.
    fn is_idle(&self) -> bool {
        false
    }

    /// Whether the source knows it has more records than it has returned (a live partition
    /// behind its end): the merge then waits for them, whatever their time. A file blocks
    /// until it has read, so this never matters for one.
    fn has_more_now(&self) -> bool {
        false
    }
}
