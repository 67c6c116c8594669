//! File sources for pumpwatch: NDJSON (plain, gzip, zstd), CSV and Parquet, one mixed file (alone
//! or as a directory's `events.*`) or a directory of per-type files merged by event time, with
//! invalid records quarantined.
//!
//! [`open`] turns a path into a [`Source`]; draining [`Source::next_batch`] yields
//! [`Record`]s, each a valid [`Event`](pumpwatch_model::Event) or a [`Quarantined`] record
//! with its reason, location and original text. Every carrier fills a
//! [`RawRecord`](pumpwatch_model::RawRecord) (JSON through
//! [`decode_json_line`](pumpwatch_model::decode_json_line)) and the model validates it, so
//! what is valid is decided in one place for every format.
//!
//! Invariants:
//! - A bad record is a [`Record::Invalid`], never an error, a panic or a silent drop. Only an
//!   input that cannot be read at all (missing, unknown type, unreadable) is a
//!   [`ReplayError`].
//! - Memory is bounded by the buffer and batch sizes in [`SourceOptions`] and the Parquet row
//!   group size, never by the file size.
//! - Reading uses the calling thread only.

mod columns;
mod convert;
mod csv_source;
mod error;
mod fields;
mod input;
mod merge;
mod naming;
mod ndjson_source;
mod output;
mod parquet_source;
mod parquet_typed;
mod quarantine;
mod source;

use std::path::Path;
use std::time::{Duration, Instant};

pub use convert::{
    write_ndjson_mixed, write_per_type, ConvertSummary, OutputFormat, PARQUET_ROWS_PER_GROUP,
};
pub use error::ReplayError;
pub use naming::{classify, Compression, Format};
pub use parquet_source::TS_OFFSET_COLUMN;
pub use quarantine::QuarantineWriter;
pub use source::{InputFile, Progress, Quarantined, Record, Source, SourceInfo, SourceOptions};

/// Opens a file or a directory of per-type files with default options.
pub fn open(input: &Path) -> Result<Box<dyn Source>, ReplayError> {
    open_with(input, &SourceOptions::default())
}

/// Opens a file, or a directory of per-type files (see the contract's "Carriage" section) or
/// of one file of every type (`events.*`).
pub fn open_with(input: &Path, options: &SourceOptions) -> Result<Box<dyn Source>, ReplayError> {
    let metadata = std::fs::metadata(input).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => ReplayError::NotFound {
            path: input.to_path_buf(),
        },
        _ => ReplayError::io(input, e),
    })?;
    if !metadata.is_dir() {
        return open_file(&naming::single_file(input)?, options);
    }
    let info = naming::scan_directory(input, options.ignore_misnamed)?;
    let sources = info
        .files
        .iter()
        .map(|file| open_file(file, options))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Box::new(merge::MergeSource::new(
        info,
        sources,
        options.merge_batch_records,
    )))
}

/// Opens standard input as one mixed NDJSON stream (plain, not compressed).
pub fn open_stdin(options: &SourceOptions) -> Box<dyn Source> {
    Box::new(ndjson_source::NdjsonSource::stdin(options))
}

/// Opens one event file as its format says.
pub fn open_file(
    file: &InputFile,
    options: &SourceOptions,
) -> Result<Box<dyn Source>, ReplayError> {
    Ok(match file.format {
        Format::Ndjson => Box::new(ndjson_source::NdjsonSource::open(file, options)?),
        Format::Csv => Box::new(csv_source::CsvSource::open(file, options)?),
        Format::Parquet => Box::new(parquet_source::ParquetSource::open(file, options)?),
    })
}

/// How many records an input holds, and how long reading them took.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RecordCounts {
    pub events: u64,
    pub invalid: u64,
    pub elapsed: Duration,
}

/// Reads the whole input and counts its records: the parse-only rate of a format is
/// `events / elapsed` (decoding and validation included, nothing downstream).
pub fn count_records(input: &Path) -> Result<RecordCounts, ReplayError> {
    let started = Instant::now();
    let mut source = open(input)?;
    let mut counts = RecordCounts::default();
    let mut batch = Vec::with_capacity(4096);
    loop {
        let more = source.next_batch(&mut batch, 4096)?;
        for record in &batch {
            match record {
                Record::Event(_) => counts.events += 1,
                Record::Invalid(_) => counts.invalid += 1,
            }
        }
        if !more {
            break;
        }
    }
    counts.elapsed = started.elapsed();
    Ok(counts)
}
