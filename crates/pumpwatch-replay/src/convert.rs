//! Writing a source's valid events back out: per-type files in any input format (NDJSON, CSV,
//! Parquet) or one mixed NDJSON file, with invalid records sent to a quarantine. Used to
//! prepare benchmark inputs and by users converting their exports.
//!
//! Everything read back from these files is equal to what was written, `Event` for `Event`
//! (one exception: CSV cannot tell an empty string from an absent field, so an optional text
//! field that is present but empty, like `"name":""`, reads back as absent).

use std::fmt::Write as _;
use std::fs::File;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use polars::prelude::*;
use pumpwatch_model::{Event, EventType};

use crate::columns::{cells, columns, kind, Cell, Kind};
use crate::error::ReplayError;
use crate::naming::{classify, per_type_path, Compression, Format};
use crate::output::OutputFile;
use crate::parquet_source::TS_OFFSET_COLUMN;
use crate::quarantine::QuarantineWriter;
use crate::source::{Record, Source};

/// Rows per Parquet row group. It bounds the writer's memory (one group per type is buffered)
/// and matches the reader's default slice ([`SourceOptions::parquet_batch_rows`]), so each
/// group is decoded exactly once: about 10 MB decoded for order-sized events.
///
/// [`SourceOptions::parquet_batch_rows`]: crate::SourceOptions::parquet_batch_rows
pub const PARQUET_ROWS_PER_GROUP: usize = 64 * 1024;

/// LZ4 (the `LZ4_RAW` codec): decompressing it took 3% of the read time where zstd took 10%
/// and snappy 15%, for files about 40% larger than zstd's. Readers from Arrow 7, Spark 3.3
/// and DuckDB 0.8 on support it.
const PARQUET_COMPRESSION: ParquetCompression = ParquetCompression::Lz4Raw;

/// Records pulled from the source at a time.
const BATCH_RECORDS: usize = 8192;

/// The format of per-type output files.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutputFormat {
    Ndjson,
    Csv,
    /// `ts` is written as a `Datetime(ns, UTC)` column plus an Int32 `ts_offset` column (the
    /// producer's UTC offset in seconds), decimals as exact strings, quantities as Int64.
    Parquet,
}

impl OutputFormat {
    pub fn extension(self) -> &'static str {
        match self {
            OutputFormat::Ndjson => "ndjson",
            OutputFormat::Csv => "csv",
            OutputFormat::Parquet => "parquet",
        }
    }
}

/// What a conversion wrote.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConvertSummary {
    /// Valid events written, by [`EventType::index`].
    pub events_by_type: [u64; 7],
    /// Invalid records read (and quarantined, when a quarantine was given).
    pub invalid: u64,
    /// The files written, in type order for per-type output.
    pub files: Vec<PathBuf>,
}

impl ConvertSummary {
    pub fn events(&self) -> u64 {
        self.events_by_type.iter().sum()
    }
}

/// Drains `source`, handing each valid event to `write` and each invalid record to the
/// quarantine.
fn drain(
    source: &mut dyn Source,
    mut quarantine: Option<&mut QuarantineWriter>,
    summary: &mut ConvertSummary,
    mut write: impl FnMut(&Event) -> Result<(), ReplayError>,
) -> Result<(), ReplayError> {
    let mut batch = Vec::with_capacity(BATCH_RECORDS);
    loop {
        let more = source.next_batch(&mut batch, BATCH_RECORDS)?;
        for record in &batch {
            match record {
                Record::Event(event) => {
                    write(event)?;
                    summary.events_by_type[event.event_type().index()] += 1;
                }
                Record::Invalid(invalid) => {
                    summary.invalid += 1;
                    if let Some(q) = quarantine.as_deref_mut() {
                        q.write(invalid)?;
                    }
                }
            }
        }
        if !more {
            return Ok(());
        }
    }
}

/// Writes the valid events of `source` into `out_dir` (created if missing) as per-type files
/// named `<type stem>.<format extension>`, e.g. `orders.parquet`. Only types that occur get a
/// file. Existing files of those names are replaced.
pub fn write_per_type(
    source: &mut dyn Source,
    out_dir: &Path,
    format: OutputFormat,
    quarantine: Option<&mut QuarantineWriter>,
) -> Result<ConvertSummary, ReplayError> {
    std::fs::create_dir_all(out_dir).map_err(|e| ReplayError::io(out_dir, e))?;
    let mut sinks: [Option<Sink>; 7] = Default::default();
    let mut summary = ConvertSummary::default();
    drain(source, quarantine, &mut summary, |event| {
        let event_type = event.event_type();
        let sink = match &mut sinks[event_type.index()] {
            Some(sink) => sink,
            slot => slot.insert(Sink::create(
                &per_type_path(out_dir, event_type, format.extension()),
                event_type,
                format,
            )?),
        };
        sink.write(event)
    })?;
    for sink in sinks.into_iter().flatten() {
        summary.files.push(sink.finish()?);
    }
    Ok(summary)
}

/// Writes the valid events of `source` to one NDJSON file of mixed types, compressed when
/// `out` ends in `.gz` or `.zst`.
pub fn write_ndjson_mixed(
    source: &mut dyn Source,
    out: &Path,
    quarantine: Option<&mut QuarantineWriter>,
) -> Result<ConvertSummary, ReplayError> {
    let name = out.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let compression = match classify(name) {
        Some((_, Format::Ndjson, compression)) => compression,
        _ => {
            return Err(ReplayError::UnknownExtension {
                path: out.to_path_buf(),
            })
        }
    };
    let mut file = OutputFile::create(out, compression)?;
    let mut summary = ConvertSummary::default();
    drain(source, quarantine, &mut summary, |event| {
        write_json_line(&mut file, event)
    })?;
    file.finish()?;
    summary.files.push(out.to_path_buf());
    Ok(summary)
}

fn write_json_line(file: &mut OutputFile, event: &Event) -> Result<(), ReplayError> {
    serde_json::to_writer(&mut *file, event).map_err(|e| ReplayError::io(file.path(), e.into()))?;
    file.write_all(b"\n")
        .map_err(|e| ReplayError::io(file.path(), e))
}

/// The output file of one event type.
enum Sink {
    Ndjson(Box<OutputFile>),
    Csv(Box<CsvSink>),
    Parquet(Box<ParquetSink>),
}

impl Sink {
    fn create(
        path: &Path,
        event_type: EventType,
        format: OutputFormat,
    ) -> Result<Sink, ReplayError> {
        Ok(match format {
            OutputFormat::Ndjson => {
                Sink::Ndjson(Box::new(OutputFile::create(path, Compression::None)?))
            }
            OutputFormat::Csv => Sink::Csv(Box::new(CsvSink::create(path, event_type)?)),
            OutputFormat::Parquet => {
                Sink::Parquet(Box::new(ParquetSink::create(path, event_type)?))
            }
        })
    }

    fn write(&mut self, event: &Event) -> Result<(), ReplayError> {
        match self {
            Sink::Ndjson(file) => write_json_line(file, event),
            Sink::Csv(sink) => sink.write(event),
            Sink::Parquet(sink) => sink.write(event),
        }
    }

    fn finish(self) -> Result<PathBuf, ReplayError> {
        match self {
            Sink::Ndjson(file) => {
                let path = file.path().to_path_buf();
                (*file).finish()?;
                Ok(path)
            }
            Sink::Csv(sink) => sink.finish(),
            Sink::Parquet(sink) => sink.finish(),
        }
    }
}

struct CsvSink {
    path: PathBuf,
    writer: csv::Writer<OutputFile>,
    text: String,
}

impl CsvSink {
    fn create(path: &Path, event_type: EventType) -> Result<Self, ReplayError> {
        let mut writer = csv::WriterBuilder::new()
            .buffer_capacity(256 << 10)
            .from_writer(OutputFile::create(path, Compression::None)?);
        writer
            .write_record(columns(event_type))
            .map_err(|e| csv_write_error(path, e))?;
        Ok(CsvSink {
            path: path.to_path_buf(),
            writer,
            text: String::new(),
        })
    }

    fn write(&mut self, event: &Event) -> Result<(), ReplayError> {
        let mut row = Vec::with_capacity(16);
        cells(event, &mut row);
        for cell in &row {
            self.text.clear();
            // Writing into a String cannot fail.
            let _ = match cell {
                Cell::Null => Ok(()),
                Cell::Str(s) => {
                    self.text.push_str(s);
                    Ok(())
                }
                Cell::Decimal(d) => write!(self.text, "{d}"),
                Cell::Int(i) => write!(self.text, "{i}"),
                Cell::Bool(b) => write!(self.text, "{b}"),
                Cell::Ts(ts) => write!(self.text, "{ts}"),
            };
            self.writer
                .write_field(&self.text)
                .map_err(|e| csv_write_error(&self.path, e))?;
        }
        self.writer
            .write_record(None::<&[u8]>)
            .map_err(|e| csv_write_error(&self.path, e))
    }

    fn finish(self) -> Result<PathBuf, ReplayError> {
        let file = self
            .writer
            .into_inner()
            .map_err(|e| ReplayError::io(&self.path, std::io::Error::other(e.to_string())))?;
        file.finish()?;
        Ok(self.path)
    }
}

fn csv_write_error(path: &Path, error: csv::Error) -> ReplayError {
    match error.into_kind() {
        csv::ErrorKind::Io(e) => ReplayError::io(path, e),
        other => ReplayError::io(path, std::io::Error::other(format!("{other:?}"))),
    }
}

/// Builds one column of a row group.
enum ColumnBuilder {
    Str(StringChunkedBuilder),
    Int(PrimitiveChunkedBuilder<Int64Type>),
    Bool(BooleanChunkedBuilder),
    /// `ts` as UTC nanoseconds, and the offset that a Parquet timestamp cannot keep.
    Ts(
        PrimitiveChunkedBuilder<Int64Type>,
        PrimitiveChunkedBuilder<Int32Type>,
    ),
}

impl ColumnBuilder {
    fn new(name: &'static str, capacity: usize) -> Self {
        let pl_name = PlSmallStr::from_static(name);
        match kind(name) {
            Kind::Str | Kind::Decimal => {
                ColumnBuilder::Str(StringChunkedBuilder::new(pl_name, capacity))
            }
            Kind::Int => ColumnBuilder::Int(PrimitiveChunkedBuilder::new(pl_name, capacity)),
            Kind::Bool => ColumnBuilder::Bool(BooleanChunkedBuilder::new(pl_name, capacity)),
            Kind::Ts => ColumnBuilder::Ts(
                PrimitiveChunkedBuilder::new(pl_name, capacity),
                PrimitiveChunkedBuilder::new(PlSmallStr::from_static(TS_OFFSET_COLUMN), capacity),
            ),
        }
    }

    fn push(&mut self, cell: &Cell<'_>, text: &mut String) {
        match (self, cell) {
            (ColumnBuilder::Str(b), Cell::Str(s)) => b.append_value(s),
            (ColumnBuilder::Str(b), Cell::Decimal(d)) => {
                text.clear();
                let _ = write!(text, "{d}");
                b.append_value(&*text);
            }
            (ColumnBuilder::Int(b), Cell::Int(i)) => b.append_value(*i),
            (ColumnBuilder::Bool(b), Cell::Bool(v)) => b.append_value(*v),
            (ColumnBuilder::Ts(nanos, offset), Cell::Ts(ts)) => {
                nanos.append_value(ts.utc_nanos);
                offset.append_value(ts.offset_secs);
            }
            (ColumnBuilder::Str(b), _) => b.append_null(),
            (ColumnBuilder::Int(b), _) => b.append_null(),
            (ColumnBuilder::Bool(b), _) => b.append_null(),
            (ColumnBuilder::Ts(nanos, offset), _) => {
                nanos.append_null();
                offset.append_null();
            }
        }
    }

    fn finish(self, columns: &mut Vec<Column>) {
        match self {
            ColumnBuilder::Str(b) => columns.push(b.finish().into_column()),
            ColumnBuilder::Int(b) => columns.push(b.finish().into_column()),
            ColumnBuilder::Bool(b) => columns.push(b.finish().into_column()),
            ColumnBuilder::Ts(nanos, offset) => {
                let ts = nanos
                    .finish()
                    .into_datetime(TimeUnit::Nanoseconds, Some(TimeZone::UTC));
                columns.push(ts.into_column());
                columns.push(offset.finish().into_column());
            }
        }
    }
}

/// Buffers up to [`PARQUET_ROWS_PER_GROUP`] rows of one type, then writes them as a row group.
struct ParquetSink {
    path: PathBuf,
    names: &'static [&'static str],
    builders: Vec<ColumnBuilder>,
    rows: usize,
    file: Option<File>,
    writer: Option<BatchedWriter<File>>,
    text: String,
}

impl ParquetSink {
    fn create(path: &Path, event_type: EventType) -> Result<Self, ReplayError> {
        let file = File::create(path).map_err(|e| ReplayError::io(path, e))?;
        let names = columns(event_type);
        Ok(ParquetSink {
            path: path.to_path_buf(),
            names,
            builders: Self::builders(names),
            rows: 0,
            file: Some(file),
            writer: None,
            text: String::new(),
        })
    }

    fn builders(names: &'static [&'static str]) -> Vec<ColumnBuilder> {
        names
            .iter()
            .map(|name| ColumnBuilder::new(name, PARQUET_ROWS_PER_GROUP))
            .collect()
    }

    fn write(&mut self, event: &Event) -> Result<(), ReplayError> {
        let mut row = Vec::with_capacity(16);
        cells(event, &mut row);
        for (builder, cell) in self.builders.iter_mut().zip(&row) {
            builder.push(cell, &mut self.text);
        }
        self.rows += 1;
        if self.rows == PARQUET_ROWS_PER_GROUP {
            self.flush()?;
        }
        Ok(())
    }

    /// Writes the buffered rows as one row group.
    fn flush(&mut self) -> Result<(), ReplayError> {
        let builders = std::mem::replace(&mut self.builders, Self::builders(self.names));
        let mut columns = Vec::with_capacity(builders.len() + 1);
        for builder in builders {
            builder.finish(&mut columns);
        }
        let path = &self.path;
        let df =
            DataFrame::new(self.rows, columns).map_err(|e| ReplayError::parquet_write(path, e))?;
        self.rows = 0;
        let writer = match (&mut self.writer, self.file.take()) {
            (Some(writer), _) => writer,
            (None, Some(file)) => self.writer.insert(
                ParquetWriter::new(file)
                    .with_compression(PARQUET_COMPRESSION)
                    .batched(df.schema())
                    .map_err(|e| ReplayError::parquet_write(path, e))?,
            ),
            (None, None) => return Err(ReplayError::parquet_write(path, "writer already closed")),
        };
        writer
            .write_batch(&df)
            .map_err(|e| ReplayError::parquet_write(path, e))
    }

    fn finish(mut self) -> Result<PathBuf, ReplayError> {
        if self.rows > 0 || self.writer.is_none() {
            self.flush()?;
        }
        if let Some(writer) = &self.writer {
            writer
                .finish()
                .map_err(|e| ReplayError::parquet_write(&self.path, e))?;
        }
        Ok(self.path)
    }
}
