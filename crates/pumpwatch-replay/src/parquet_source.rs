//! Parquet files via polars, one row group (or slice of one) at a time so memory stays bounded
//! by the row group size, not the file size. Columns are downcast once per batch; rows are then
//! filled into a [`RawRecord`] cell by cell and validated like any other carrier, except the
//! rows of bulk per-type files, which `parquet_typed` reads from typed columns when it can.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::fs::File;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;

use polars::prelude::*;
use pumpwatch_model::raw::FIELD_NAMES;
use pumpwatch_model::{Decimal, EventType, Field as RawField, Timestamp};

use crate::error::ReplayError;
use crate::fields::{build_record, field_index};
use crate::naming::display_name;
use crate::parquet_typed::{Columns, TypedRows};
use crate::source::{InputFile, Progress, Quarantined, Record, Source, SourceInfo, SourceOptions};

/// The column the Parquet writer adds next to a timestamp `ts` column: the producer's UTC
/// offset in seconds, which a Parquet timestamp cannot hold. Honoured only with a timestamp
/// `ts`, and only when it is a plausible offset (less than a day); otherwise ignored, as any
/// unknown column is.
pub const TS_OFFSET_COLUMN: &str = "ts_offset";

const SECS_PER_DAY: i64 = 86_400;
/// The index of `ts` in `FIELD_NAMES` (a test checks it).
const TS_FIELD: usize = 1;

/// Where a contract field's values come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum FieldSource {
    Absent,
    /// The column at this position of the projection.
    Column(usize),
    /// A column of a type that cannot be decoded: the field is present but unusable.
    Unsupported(&'static str),
}

/// Where a projected column's values go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Target {
    /// The contract field at this index of `FIELD_NAMES`.
    Field(usize),
    TsOffset,
}

/// Where the fields of a per-type file of one of the bulk types (the tape, start-of-day
/// positions) are, for reading its rows without the generic record (see `parquet_typed`). A
/// row that reading cannot take is read the generic way, so an invalid row is reported
/// exactly as before. The positions are of the projection's columns; `None` for an absent
/// field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Direct {
    Trade {
        ts: Option<usize>,
        symbol: Option<usize>,
        qty: Option<usize>,
        price: Option<usize>,
        trade_id: Option<usize>,
        aggressor: Option<usize>,
    },
    Position {
        ts: Option<usize>,
        account_id: Option<usize>,
        symbol: Option<usize>,
        qty: Option<usize>,
    },
}

impl Direct {
    /// Where the fields of a file of `default_type` with these field sources are, if it is a
    /// bulk file read without the generic record: not with a `type` column (a row's own type
    /// wins over the file's), nor with a field of the type in a column of an unsupported type.
    fn of(
        default_type: Option<EventType>,
        sources: &[FieldSource; FIELD_NAMES.len()],
    ) -> Option<Direct> {
        let mut usable = true;
        let mut column = |name: &str| {
            let index = field_index(name).expect("a contract field");
            match sources[index] {
                FieldSource::Absent => None,
                FieldSource::Column(position) => Some(position),
                FieldSource::Unsupported(_) => {
                    usable = false;
                    None
                }
            }
        };
        if column("type").is_some() {
            return None;
        }
        let direct = match default_type? {
            EventType::Trade => Direct::Trade {
                ts: column("ts"),
                symbol: column("symbol"),
                qty: column("qty"),
                price: column("price"),
                trade_id: column("trade_id"),
                aggressor: column("aggressor"),
            },
            EventType::Position => Direct::Position {
                ts: column("ts"),
                account_id: column("account_id"),
                symbol: column("symbol"),
                qty: column("qty"),
            },
            _ => return None,
        };
        usable.then_some(direct)
    }
}

/// A slice of the file decoded at once: `len` rows of row group `group`, from its row
/// `offset_in_group` (file row `offset`); after it is read, `bytes_after` compressed bytes of
/// the file have been consumed.
#[derive(Clone, Copy, Debug)]
struct Slice {
    group: usize,
    offset_in_group: usize,
    offset: usize,
    len: usize,
    bytes_after: u64,
}

/// The decoded columns of the current slice, in projection order.
struct Decoded {
    columns: Vec<Series>,
    /// For columns of a type no field accepts: which rows are null.
    null_masks: Vec<Option<BooleanChunked>>,
    /// For each column, whether it holds a null.
    has_nulls: Vec<bool>,
    offset: usize,
    len: usize,
    next_row: usize,
}

impl Decoded {
    /// The columns downcast to their Arrow arrays.
    fn cols(&self) -> Vec<Col<'_>> {
        self.columns
            .iter()
            .zip(&self.null_masks)
            .map(|(series, mask)| Col::of(series, mask.as_ref()))
            .collect()
    }
}

/// Reads one Parquet file.
pub struct ParquetSource {
    info: SourceInfo,
    path: PathBuf,
    name: String,
    default_type: Option<EventType>,
    file: File,
    metadata: FileMetadataRef,
    /// The file's metadata without its row groups; with one row group added, the metadata of
    /// a file holding only that group, which is how each slice is read.
    metadata_without_groups: FileMetadata,
    /// The one-group metadata of the group being read (built once per group).
    group_metadata: Option<(usize, FileMetadataRef)>,
    /// File column indices to decode, and where each goes.
    projection: Vec<usize>,
    targets: Vec<Target>,
    /// Contract fields whose column has a type polars cannot read here (nested types, ...):
    /// every row gets the field as an unusable value, so validation names the field.
    unsupported: Vec<(usize, &'static str)>,
    /// For each contract field, where it comes from (derived from the two above).
    field_sources: [FieldSource; FIELD_NAMES.len()],
    /// Where the fields are, for per-type files of the bulk types (read by `parquet_typed`).
    direct: Option<Direct>,
    ts_offset_column: Option<usize>,
    slices: Vec<Slice>,
    next_slice: usize,
    batch: Option<Decoded>,
    bytes_read: u64,
    bytes_total: u64,
}

pub(crate) type StrArray = <StringType as PolarsDataType>::Array;
type BinArray = <BinaryType as PolarsDataType>::Array;
pub(crate) type I64Array = <Int64Type as PolarsDataType>::Array;
type U64Array = <UInt64Type as PolarsDataType>::Array;
type F32Array = <Float32Type as PolarsDataType>::Array;
type F64Array = <Float64Type as PolarsDataType>::Array;
type BoolArray = <BooleanType as PolarsDataType>::Array;
pub(crate) type I128Array = <Int128Type as PolarsDataType>::Array;

/// One column of the current batch, downcast to its Arrow array.
pub(crate) enum Col<'a> {
    Str(&'a StrArray),
    Bin(&'a BinArray),
    I64(&'a I64Array),
    U64(&'a U64Array),
    F32(&'a F32Array),
    F64(&'a F64Array),
    Bool(&'a BoolArray),
    Decimal(&'a I128Array, u32),
    /// Timestamps and the factor that turns their unit into nanoseconds.
    Timestamp(&'a I64Array, i64),
    /// A type no contract field accepts: present (unusable) unless null.
    Other(&'a BoolArray, &'static str),
    Null,
}

impl ParquetSource {
    pub fn open(file_info: &InputFile, options: &SourceOptions) -> Result<Self, ReplayError> {
        let path = &file_info.path;
        let mut file = File::open(path).map_err(|e| ReplayError::io(path, e))?;
        let bytes_total = file.metadata().map_err(|e| ReplayError::io(path, e))?.len();
        let (metadata, schema) = guard(path, || {
            let mut reader = ParquetReader::new(&mut file);
            let metadata = reader.get_metadata()?.clone();
            let schema = reader.schema()?;
            Ok((metadata, schema))
        })?;

        let mut projection = Vec::new();
        let mut targets = Vec::new();
        let mut unsupported = Vec::new();
        let mut seen = [false; FIELD_NAMES.len()];
        let mut ts_offset_seen = false;
        for (i, (name, field)) in schema.iter().enumerate() {
            let target = if name.as_str() == TS_OFFSET_COLUMN {
                if ts_offset_seen || !is_integer(&field.dtype) {
                    continue;
                }
                ts_offset_seen = true;
                Target::TsOffset
            } else {
                // Columns the contract does not name are not even decoded.
                let Some(index) = field_index(name.as_str()) else {
                    continue;
                };
                if std::mem::replace(&mut seen[index], true) {
                    continue;
                }
                Target::Field(index)
            };
            match supported(&field.dtype) {
                Ok(()) => {
                    projection.push(i);
                    targets.push(target);
                }
                Err(type_name) => {
                    if let Target::Field(index) = target {
                        unsupported.push((index, type_name));
                    }
                }
            }
        }

        let mut field_sources = [FieldSource::Absent; FIELD_NAMES.len()];
        let mut ts_offset_column = None;
        for (position, target) in targets.iter().enumerate() {
            match *target {
                Target::Field(index) => field_sources[index] = FieldSource::Column(position),
                Target::TsOffset => ts_offset_column = Some(position),
            }
        }
        for (index, what) in &unsupported {
            field_sources[*index] = FieldSource::Unsupported(what);
        }

        let batch_rows = options.parquet_batch_rows.max(1);
        let mut slices = Vec::new();
        let mut offset = 0;
        let mut bytes_after = 0u64;
        for (group_index, group) in metadata.row_groups.iter().enumerate() {
            let rows = group.num_rows();
            let group_bytes = group.compressed_size() as u64;
            let mut done = 0;
            while done < rows {
                let len = batch_rows.min(rows - done);
                done += len;
                slices.push(Slice {
                    group: group_index,
                    offset_in_group: done - len,
                    offset: offset + done - len,
                    len,
                    bytes_after: bytes_after + group_bytes * done as u64 / rows as u64,
                });
            }
            offset += rows;
            bytes_after += group_bytes;
        }

        Ok(ParquetSource {
            info: SourceInfo {
                files: vec![file_info.clone()],
                ignored: Vec::new(),
            },
            path: path.clone(),
            name: display_name(path),
            default_type: file_info.default_type,
            file,
            metadata_without_groups: FileMetadata {
                row_groups: Vec::new(),
                ..(*metadata).clone()
            },
            metadata,
            group_metadata: None,
            projection,
            targets,
            unsupported,
            direct: Direct::of(file_info.default_type, &field_sources),
            field_sources,
            ts_offset_column,
            slices,
            next_slice: 0,
            batch: None,
            bytes_read: 0,
            bytes_total,
        })
    }

    /// Decodes the next slice; `None` at the end of the file.
    fn load(&mut self) -> Result<Option<Decoded>, ReplayError> {
        let Some(slice) = self.slices.get(self.next_slice).copied() else {
            return Ok(None);
        };
        self.next_slice += 1;
        // The reader sees a file of this one row group: given the whole file and a slice,
        // polars re-reads the dictionary pages of every earlier row group, which made a
        // pyarrow-written day (dictionaries on every column) quadratic in the file's length.
        let group_metadata = match &self.group_metadata {
            Some((group, metadata)) if *group == slice.group => metadata.clone(),
            _ => {
                let row_group = self.metadata.row_groups[slice.group].clone();
                let metadata: FileMetadataRef = Arc::new(FileMetadata {
                    num_rows: row_group.num_rows(),
                    max_row_group_height: row_group.num_rows(),
                    row_groups: vec![row_group],
                    ..self.metadata_without_groups.clone()
                });
                self.group_metadata = Some((slice.group, metadata.clone()));
                metadata
            }
        };
        let (file, projection) = (&mut self.file, &self.projection);
        let df = guard(&self.path, || {
            let mut reader = ParquetReader::new(&mut *file)
                .with_projection(Some(projection.clone()))
                .with_slice(Some((slice.offset_in_group, slice.len)))
                // One thread: the caller decides how to use the cores.
                .read_parallel(ParallelStrategy::None);
            reader.set_metadata(group_metadata);
            reader.finish()
        })?;
        // The decoder's height, not the slice's: cells past the end would read as null anyway.
        let rows = df.height();
        let mut columns = Vec::with_capacity(projection.len());
        let mut null_masks = Vec::with_capacity(projection.len());
        let mut has_nulls = Vec::with_capacity(projection.len());
        for column in df.into_columns() {
            let series = column.take_materialized_series();
            let series = match series.dtype() {
                DataType::Int8
                | DataType::Int16
                | DataType::Int32
                | DataType::UInt8
                | DataType::UInt16
                | DataType::UInt32 => series.cast(&DataType::Int64),
                dt if dt.is_categorical() || dt.is_enum() => series.cast(&DataType::String),
                _ => Ok(series),
            }
            .map_err(|e| ReplayError::parquet(&self.path, e))?
            .rechunk();
            null_masks.push((!Col::decodes(series.dtype())).then(|| series.is_null()));
            has_nulls.push(series.null_count() > 0);
            columns.push(series);
        }
        self.bytes_read = slice.bytes_after;
        Ok(Some(Decoded {
            columns,
            null_masks,
            has_nulls,
            offset: slice.offset,
            len: rows,
            next_row: 0,
        }))
    }
}

/// Runs a polars call, turning both its errors and its panics (possible on corrupt pages)
/// into a [`ReplayError`] naming the file.
fn guard<T>(
    path: &std::path::Path,
    call: impl FnOnce() -> PolarsResult<T>,
) -> Result<T, ReplayError> {
    match catch_unwind(AssertUnwindSafe(call)) {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(error)) => Err(ReplayError::parquet(path, error)),
        Err(panic) => {
            let message = panic
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| panic.downcast_ref::<&str>().copied())
                .unwrap_or("the Parquet decoder failed");
            Err(ReplayError::parquet(
                path,
                format!("corrupt file: {message}"),
            ))
        }
    }
}

fn is_integer(dtype: &ArrowDataType) -> bool {
    matches!(
        dtype,
        ArrowDataType::Int8
            | ArrowDataType::Int16
            | ArrowDataType::Int32
            | ArrowDataType::Int64
            | ArrowDataType::UInt8
            | ArrowDataType::UInt16
            | ArrowDataType::UInt32
            | ArrowDataType::UInt64
    )
}

/// Whether a column of this Arrow type is decoded. Nested and exotic types are not: polars
/// would need more features for them, and no contract field can hold them anyway.
fn supported(dtype: &ArrowDataType) -> Result<(), &'static str> {
    use ArrowDataType as A;
    match dtype {
        A::Null
        | A::Boolean
        | A::Float16
        | A::Float32
        | A::Float64
        | A::Utf8
        | A::LargeUtf8
        | A::Utf8View
        | A::Binary
        | A::LargeBinary
        | A::BinaryView
        | A::Timestamp(..)
        | A::Date64
        | A::Decimal(..)
        | A::Decimal32(..)
        | A::Decimal64(..)
        | A::Decimal256(..) => Ok(()),
        dtype if is_integer(dtype) => Ok(()),
        A::Dictionary(_, values, _) => match values.as_ref() {
            A::Utf8 | A::LargeUtf8 | A::Utf8View => Ok(()),
            _ => Err("dictionary"),
        },
        A::Date32 => Err("date"),
        A::Time32(_) | A::Time64(_) => Err("time"),
        A::Duration(_) | A::Interval(_) => Err("duration"),
        A::List(_) | A::LargeList(_) | A::FixedSizeList(..) => Err("list"),
        A::Struct(_) => Err("struct"),
        A::Map(..) => Err("map"),
        _ => Err("unsupported type"),
    }
}

impl<'a> Col<'a> {
    /// Whether [`Col::of`] has a typed variant for columns of this type.
    fn decodes(dtype: &DataType) -> bool {
        matches!(
            dtype,
            DataType::String
                | DataType::Binary
                | DataType::Int64
                | DataType::UInt64
                | DataType::Float32
                | DataType::Float64
                | DataType::Boolean
                | DataType::Decimal(..)
                | DataType::Datetime(..)
                | DataType::Null
        )
    }

    /// Downcasts a single-chunk series. `mask` is the null mask for types no field accepts.
    fn of(series: &'a Series, mask: Option<&'a BooleanChunked>) -> Col<'a> {
        fn first<T: PolarsDataType>(ca: &ChunkedArray<T>) -> Option<&T::Array> {
            ca.downcast_get(0)
        }
        let col = match series.dtype() {
            DataType::String => series.str().ok().and_then(first).map(Col::Str),
            DataType::Binary => series.binary().ok().and_then(first).map(Col::Bin),
            DataType::Int64 => series.i64().ok().and_then(first).map(Col::I64),
            DataType::UInt64 => series.u64().ok().and_then(first).map(Col::U64),
            DataType::Float32 => series.f32().ok().and_then(first).map(Col::F32),
            DataType::Float64 => series.f64().ok().and_then(first).map(Col::F64),
            DataType::Boolean => series.bool().ok().and_then(first).map(Col::Bool),
            DataType::Decimal(_, _) => series.decimal().ok().and_then(|ca| {
                let scale = u32::try_from(ca.scale()).ok()?;
                first(ca.physical()).map(|a| Col::Decimal(a, scale))
            }),
            DataType::Datetime(unit, _) => {
                let factor = match unit {
                    TimeUnit::Nanoseconds => 1,
                    TimeUnit::Microseconds => 1_000,
                    TimeUnit::Milliseconds => 1_000_000,
                };
                series
                    .datetime()
                    .ok()
                    .and_then(|ca| first(ca.physical()))
                    .map(|a| Col::Timestamp(a, factor))
            }
            DataType::Null => Some(Col::Null),
            _ => None,
        };
        col.unwrap_or_else(|| match mask.and_then(|m| m.downcast_get(0)) {
            Some(mask) => Col::Other(mask, "unsupported type"),
            None => Col::Null,
        })
    }

    /// The cell at `row` as a contract field; `None` for null.
    fn field(&self, row: usize) -> Option<RawField<'a>> {
        Some(match self {
            Col::Str(a) => RawField::Text(Cow::Borrowed(a.get(row)?)),
            Col::Bin(a) => match std::str::from_utf8(a.get(row)?) {
                Ok(text) => RawField::Text(Cow::Borrowed(text)),
                Err(_) => RawField::Other("binary"),
            },
            Col::I64(a) => RawField::Int(a.get(row)?),
            Col::U64(a) => match i64::try_from(a.get(row)?) {
                Ok(v) => RawField::Int(v),
                Err(_) => RawField::Other("integer out of range"),
            },
            // An f32 widened to f64 would carry binary noise (112.3 becomes 112.30000305...);
            // going through its shortest decimal text keeps the literal the producer wrote.
            Col::F32(a) => RawField::Float(a.get(row)?.to_string().parse().unwrap_or(f64::NAN)),
            Col::F64(a) => RawField::Float(a.get(row)?),
            Col::Bool(a) => RawField::Bool(a.get(row)?),
            Col::Decimal(a, scale) => {
                match Decimal::try_from_i128_with_scale(a.get(row)?, *scale) {
                    Ok(d) => RawField::Decimal(d),
                    Err(_) => RawField::Other("decimal out of range"),
                }
            }
            Col::Timestamp(a, factor) => match a.get(row)?.checked_mul(*factor) {
                Some(nanos) => RawField::TimestampNanos(nanos),
                None => RawField::Other("timestamp out of range"),
            },
            Col::Other(mask, name) => {
                if mask.get(row)? {
                    return None;
                }
                RawField::Other(name)
            }
            Col::Null => return None,
        })
    }
}

/// The producer's UTC offset in the `ts_offset` cell, when it is a plausible one.
#[inline]
fn offset_secs(col: &Col<'_>, row: usize) -> Option<i32> {
    match col.field(row)? {
        RawField::Int(secs) if secs.abs() < SECS_PER_DAY => Some(secs as i32),
        _ => None,
    }
}

/// The row as a JSON object of its contract columns, for the quarantine.
fn render_row(
    cols: &[Col<'_>],
    names: &[&str],
    unsupported: &[(usize, &str)],
    row: usize,
) -> String {
    let mut out = String::from("{");
    let push_key = |out: &mut String, name: &str| {
        if out.len() > 1 {
            out.push(',');
        }
        out.push_str(&serde_json::Value::from(name).to_string());
        out.push(':');
    };
    for (col, name) in cols.iter().zip(names) {
        let Some(field) = col.field(row) else {
            continue;
        };
        push_key(&mut out, name);
        let value = match field {
            RawField::Text(text) => serde_json::Value::from(text.as_ref()).to_string(),
            RawField::Number(text) => text.to_string(),
            RawField::Int(v) => v.to_string(),
            RawField::Float(v) if v.is_finite() => v.to_string(),
            RawField::Float(v) => serde_json::Value::from(v.to_string()).to_string(),
            RawField::Bool(v) => v.to_string(),
            RawField::Decimal(d) => d.to_string(),
            RawField::TimestampNanos(n) => format!("\"{}\"", Timestamp::from_utc_nanos(n)),
            RawField::Other(what) => serde_json::Value::from(format!("<{what}>")).to_string(),
        };
        out.push_str(&value);
    }
    for (index, what) in unsupported {
        push_key(&mut out, FIELD_NAMES[*index]);
        let _ = write!(out, "\"<{what}>\"");
    }
    out.push('}');
    out
}

impl ParquetSource {
    /// Reads up to `max` rows into `out`.
    fn read(&mut self, out: &mut Vec<Record>, max: usize) -> Result<bool, ReplayError> {
        out.clear();
        let max = max.max(1);
        while out.len() < max {
            if !matches!(&self.batch, Some(batch) if batch.next_row < batch.len) {
                self.batch = self.load()?;
            }
            let Some(batch) = self.batch.as_mut() else {
                self.bytes_read = self.bytes_total;
                return Ok(false);
            };
            let cols = batch.cols();
            // A producer's offset applies only to an instant: a timestamp-typed `ts` column.
            let ts_is_instant = matches!(
                self.field_sources[TS_FIELD],
                FieldSource::Column(c) if matches!(cols[c], Col::Timestamp(..))
            );
            let typed = self.direct.as_ref().and_then(|direct| {
                let columns = Columns {
                    cols: &cols,
                    has_nulls: &batch.has_nulls,
                };
                TypedRows::of(direct, columns)
            });
            let ts_offsets = match self.ts_offset_column {
                Some(c) if ts_is_instant => Some(&cols[c]),
                _ => None,
            };
            let end = batch.len.min(batch.next_row + (max - out.len()));
            for row in batch.next_row..end {
                let typed_event = typed.as_ref().and_then(|t| t.event(row));
                let event = match typed_event {
                    Some(event) => Ok(event),
                    None => build_record(|index| match self.field_sources[index] {
                        FieldSource::Absent => None,
                        FieldSource::Column(position) => cols[position].field(row),
                        FieldSource::Unsupported(what) => Some(RawField::Other(what)),
                    })
                    .validate(self.default_type),
                };
                out.push(match event {
                    Ok(mut event) => {
                        if let Some(secs) = ts_offsets.and_then(|col| offset_secs(col, row)) {
                            event.ts = event.ts.with_offset(secs);
                        }
                        Record::Event(event)
                    }
                    Err(reason) => {
                        let names: Vec<&str> = self
                            .targets
                            .iter()
                            .map(|t| match t {
                                Target::Field(index) => FIELD_NAMES[*index],
                                Target::TsOffset => TS_OFFSET_COLUMN,
                            })
                            .collect();
                        Record::Invalid(Quarantined {
                            reason,
                            location: format!("{}:row {}", self.name, batch.offset + row),
                            original: render_row(&cols, &names, &self.unsupported, row),
                        })
                    }
                });
            }
            batch.next_row = end;
        }
        Ok(true)
    }
}

impl Source for ParquetSource {
    fn next_batch(&mut self, out: &mut Vec<Record>, max: usize) -> Result<bool, ReplayError> {
        self.read(out, max)
    }

    fn progress(&self) -> Progress {
        Progress {
            bytes_read: self.bytes_read,
            bytes_total: self.bytes_total,
        }
    }

    fn info(&self) -> &SourceInfo {
        &self.info
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::naming::{Compression, Format};
    use proptest::prelude::*;

    /// How a test reads a file.
    #[derive(Clone, Copy, PartialEq)]
    enum Reading {
        /// Every row cell by cell.
        Generic,
        /// Bulk rows typed, as events.
        Direct,
    }

    /// A per-type Parquet file of `event_type`.
    fn parquet_file(path: &std::path::Path, event_type: EventType) -> InputFile {
        InputFile {
            path: path.to_path_buf(),
            format: Format::Parquet,
            compression: Compression::None,
            default_type: Some(event_type),
        }
    }

    /// Every record of `path`, read the `reading` way.
    fn read_all(path: &std::path::Path, event_type: EventType, reading: Reading) -> Vec<Record> {
        let file = parquet_file(path, event_type);
        let options = SourceOptions {
            parquet_batch_rows: 7,
            ..SourceOptions::default()
        };
        let mut source = ParquetSource::open(&file, &options).unwrap();
        if reading == Reading::Generic {
            source.direct = None;
        } else {
            assert!(
                source.direct.is_some(),
                "{} is read directly",
                path.display()
            );
        }
        let mut all = Vec::new();
        loop {
            let mut records = Vec::new();
            let more = source.next_batch(&mut records, 5).unwrap();
            all.append(&mut records);
            if !more {
                return all;
            }
        }
    }

    fn write(path: &std::path::Path, columns: Vec<Column>) {
        let height = columns.first().map_or(0, |c| c.len());
        let mut df = DataFrame::new(height, columns).unwrap();
        ParquetWriter::new(File::create(path).unwrap())
            .finish(&mut df)
            .unwrap();
    }

    fn timestamps(name: &str, values: &[Option<i64>]) -> Column {
        Int64Chunked::from_iter_options(name.into(), values.iter().copied())
            .into_datetime(TimeUnit::Microseconds, None)
            .into_column()
    }

    fn texts(name: &str, values: &[Option<String>]) -> Column {
        Column::new(name.into(), values)
    }

    fn ints(name: &str, values: &[Option<i64>]) -> Column {
        Column::new(name.into(), values)
    }

    /// Cells that are valid, invalid in each way a check can reject, or null.
    fn id_cell() -> impl Strategy<Value = Option<String>> {
        prop_oneof![
            6 => "[A-Z0-9]{1,12}".prop_map(Some),
            1 => Just(Some(String::new())),
            1 => Just(Some("X".repeat(257))),
            1 => Just(None),
        ]
    }

    fn qty_cell() -> impl Strategy<Value = Option<i64>> {
        prop_oneof![
            6 => (1i64..1_000_000).prop_map(Some),
            1 => Just(Some(0)),
            1 => (-1_000i64..0).prop_map(Some),
            1 => Just(None),
        ]
    }

    fn price_cell() -> impl Strategy<Value = Option<String>> {
        prop_oneof![
            6 => (1u32..100_000, 0u32..3).prop_map(|(m, s)| Some(
                Decimal::new(i64::from(m), s).to_string()
            )),
            1 => prop::sample::select(vec!["0", "-5", "abc", "1e3", " 7 ", "", "+2", "1_0"])
                .prop_map(|s| Some(s.to_string())),
            1 => Just(None),
        ]
    }

    fn side_cell() -> impl Strategy<Value = Option<String>> {
        prop_oneof![
            3 => prop::sample::select(vec!["buy", "sell"]).prop_map(|s| Some(s.to_string())),
            1 => Just(Some("BUY".to_string())),
            1 => Just(None),
        ]
    }

    fn ts_cell() -> impl Strategy<Value = Option<i64>> {
        prop_oneof![
            8 => (1_742_169_600_000_000i64..1_742_256_000_000_000).prop_map(Some),
            1 => Just(None),
        ]
    }

    fn offset_cell() -> impl Strategy<Value = Option<i64>> {
        prop_oneof![
            Just(Some(32_400)),
            Just(Some(0)),
            Just(Some(90_000)),
            Just(None)
        ]
    }

    /// ts, symbol, qty, price, trade_id, aggressor, ts_offset.
    type TradeRow = (
        Option<i64>,
        Option<String>,
        Option<i64>,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<i64>,
    );

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// A trades file read directly gives exactly the records of the generic reading:
        /// the same events, and the same quarantined rows with the same reasons.
        #[test]
        fn direct_trades_match_the_generic_reading(
            rows in prop::collection::vec(
                (ts_cell(), id_cell(), qty_cell(), price_cell(), id_cell(), side_cell(), offset_cell()),
                1..40,
            ),
            with_offset in any::<bool>(),
            with_optional in any::<bool>(),
            decimal_price in any::<bool>(),
        ) {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("trades.parquet");
            let text_column = |pick: fn(&TradeRow) -> Option<String>| -> Vec<Option<String>> {
                rows.iter().map(pick).collect()
            };
            let mut columns = vec![
                timestamps("ts", &rows.iter().map(|r| r.0).collect::<Vec<_>>()),
                texts("symbol", &text_column(|r| r.1.clone())),
                ints("qty", &rows.iter().map(|r| r.2).collect::<Vec<_>>()),
                texts("price", &text_column(|r| r.3.clone())),
            ];
            if decimal_price {
                // Text that is not a decimal casts to null.
                columns[3] = columns[3].cast(&DataType::Decimal(18, 3)).unwrap();
            }
            if with_optional {
                columns.push(texts("trade_id", &text_column(|r| r.4.clone())));
                columns.push(texts("aggressor", &text_column(|r| r.5.clone())));
            }
            if with_offset {
                columns.push(ints(TS_OFFSET_COLUMN, &rows.iter().map(|r| r.6).collect::<Vec<_>>()));
            }
            write(&path, columns);
            let direct = read_all(&path, EventType::Trade, Reading::Direct);
            let generic = read_all(&path, EventType::Trade, Reading::Generic);
            prop_assert_eq!(direct.len(), rows.len());
            prop_assert_eq!(&direct, &generic);
        }

        /// The same for a start-of-day positions file.
        #[test]
        fn direct_positions_match_the_generic_reading(
            rows in prop::collection::vec(
                (ts_cell(), id_cell(), id_cell(), prop_oneof![qty_cell(), (-5_000i64..5_000).prop_map(Some)]),
                1..40,
            ),
        ) {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("positions.parquet");
            write(&path, vec![
                timestamps("ts", &rows.iter().map(|r| r.0).collect::<Vec<_>>()),
                texts("account_id", &rows.iter().map(|r| r.1.clone()).collect::<Vec<_>>()),
                texts("symbol", &rows.iter().map(|r| r.2.clone()).collect::<Vec<_>>()),
                ints("qty", &rows.iter().map(|r| r.3).collect::<Vec<_>>()),
            ]);
            let direct = read_all(&path, EventType::Position, Reading::Direct);
            let generic = read_all(&path, EventType::Position, Reading::Generic);
            prop_assert_eq!(direct.len(), rows.len());
            prop_assert_eq!(direct, generic);
        }
    }

    /// The typed reading is taken for the column types the converter writes (and a decimal
    /// price), so the differential tests above exercise it; other types are read cell by cell.
    #[test]
    fn bulk_files_of_the_usual_column_types_are_read_typed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("trades.parquet");
        let typed = |price: Column, qty: Column| {
            write(
                &path,
                vec![
                    timestamps("ts", &[Some(1_742_184_302_000_000)]),
                    texts("symbol", &[Some("7992".into())]),
                    qty,
                    price,
                    texts("trade_id", &[None]),
                ],
            );
            let file = parquet_file(&path, EventType::Trade);
            let mut source = ParquetSource::open(&file, &SourceOptions::default()).unwrap();
            let batch = source.load().unwrap().unwrap();
            let cols = batch.cols();
            let columns = Columns {
                cols: &cols,
                has_nulls: &batch.has_nulls,
            };
            let direct = source.direct.expect("read directly");
            TypedRows::of(&direct, columns).and_then(|rows| rows.event(0))
        };
        let text_price = texts("price", &[Some("112.30".into())]);
        let event = typed(text_price.clone(), ints("qty", &[Some(300)])).expect("typed");
        assert_eq!(event.ts.utc_nanos, 1_742_184_302_000_000_000);
        let decimal_price = text_price.cast(&DataType::Decimal(10, 2)).unwrap();
        assert_eq!(typed(decimal_price, ints("qty", &[Some(300)])), Some(event));
        let float_qty = Column::new("qty".into(), [300.0f64]);
        assert_eq!(typed(text_price, float_qty), None, "a float quantity");
    }

    #[test]
    fn ts_field_index_names_ts() {
        assert_eq!(FIELD_NAMES[TS_FIELD], "ts");
    }

    #[test]
    fn only_per_type_files_of_bulk_types_without_a_type_column_are_read_directly() {
        let dir = tempfile::tempdir().unwrap();
        let ts = || timestamps("ts", &[Some(1_742_184_302_000_000)]);
        let one = |name: &str, value: &str| texts(name, &[Some(value.to_string())]);
        let open = |name: &str, event_type: Option<EventType>, columns: Vec<Column>| {
            let path = dir.path().join(name);
            write(&path, columns);
            let file = InputFile {
                path,
                format: Format::Parquet,
                compression: Compression::None,
                default_type: event_type,
            };
            ParquetSource::open(&file, &SourceOptions::default())
                .unwrap()
                .direct
        };
        let trade = || {
            vec![
                ts(),
                one("symbol", "7992"),
                ints("qty", &[Some(100)]),
                one("price", "112"),
            ]
        };
        assert!(matches!(
            open("trades.parquet", Some(EventType::Trade), trade()),
            Some(Direct::Trade { .. })
        ));
        let mut typed = trade();
        typed.push(one("type", "trade"));
        assert_eq!(open("t2.parquet", Some(EventType::Trade), typed), None);
        assert_eq!(open("t3.parquet", None, trade()), None);
        assert_eq!(
            open("orders.parquet", Some(EventType::Order), trade()),
            None
        );
        let position = vec![
            ts(),
            one("account_id", "A1"),
            one("symbol", "7203"),
            ints("qty", &[Some(-5)]),
        ];
        assert!(matches!(
            open("positions.parquet", Some(EventType::Position), position),
            Some(Direct::Position { .. })
        ));
    }
}
