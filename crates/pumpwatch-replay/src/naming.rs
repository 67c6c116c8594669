//! What a path is: the file format and compression from its extension, and for a directory
//! which files are the per-type event files of the contract's "Carriage" section (or its one
//! file of every type, `events.*`).

use std::path::{Path, PathBuf};

use pumpwatch_model::EventType;

use crate::error::{ReplayError, EVERY_TYPE};
use crate::source::{InputFile, SourceInfo};

/// The format of an event file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Format {
    /// One JSON object per line (`.ndjson`, `.jsonl`, `.json`).
    Ndjson,
    /// A header row of field names, then one event per row.
    Csv,
    Parquet,
}

/// The compression of a line-oriented file, from its last extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Compression {
    #[default]
    None,
    Gzip,
    Zstd,
}

/// A file name split into its stem, format and compression (`orders.ndjson.gz` is
/// `("orders", Ndjson, Gzip)`). Extensions are matched without regard to case.
pub fn classify(file_name: &str) -> Option<(&str, Format, Compression)> {
    let (rest, compression) = match file_name.rsplit_once('.') {
        Some((rest, ext)) if ext.eq_ignore_ascii_case("gz") => (rest, Compression::Gzip),
        Some((rest, ext)) if ext.eq_ignore_ascii_case("zst") => (rest, Compression::Zstd),
        _ => (file_name, Compression::None),
    };
    let (stem, ext) = rest.rsplit_once('.')?;
    let format = match ext.to_ascii_lowercase().as_str() {
        "ndjson" | "jsonl" | "json" => Format::Ndjson,
        "csv" => Format::Csv,
        // Parquet compresses its pages itself; a compressed Parquet file cannot be read by
        // offset, so it is not accepted.
        "parquet" if compression == Compression::None => Format::Parquet,
        _ => return None,
    };
    Some((stem, format, compression))
}

/// The one file of a single-file input. A file named like a per-type file (`orders.ndjson`)
/// implies its type for records without `type`.
pub fn single_file(path: &Path) -> Result<InputFile, ReplayError> {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let (stem, format, compression) =
        classify(name).ok_or_else(|| ReplayError::UnknownExtension {
            path: path.to_path_buf(),
        })?;
    Ok(InputFile {
        path: path.to_path_buf(),
        format,
        compression,
        default_type: EventType::from_file_stem(stem),
    })
}

/// The type a file stem seems meant for without being its per-type name (`orders_20250317`,
/// `execution`, `Trades`): the stem starts with a type's name, singular, in any case.
fn resembled_type(stem: &str) -> Option<EventType> {
    let lower = stem.to_ascii_lowercase();
    EventType::ALL
        .into_iter()
        .find(|t| lower.starts_with(t.as_str()) && t.file_stem() != stem)
}

/// What a misnamed file's stem seems meant for, as the errors name it, and the stem it should
/// have: a type's (see [`resembled_type`]), or the file of every type's (`event`, `Events`,
/// `events_20250317`).
fn resembled(stem: &str) -> Option<(&'static str, &'static str)> {
    if let Some(event_type) = resembled_type(stem) {
        return Some((event_type.as_str(), event_type.file_stem()));
    }
    (stem.to_ascii_lowercase().starts_with("event") && stem != MIXED_STEM)
        .then_some((EVERY_TYPE, MIXED_STEM))
}

/// The stem of a directory's one file of events of every type (`events.ndjson`, as
/// `pumpwatch simulate --layout mixed` writes it).
pub const MIXED_STEM: &str = "events";

/// The per-type files of a directory input, in the contract's type order, and the other
/// entries of the directory (ignored); or its one file of every type, `events.*`. Two files
/// for one type are an error: which one is meant cannot be guessed; so are per-type files
/// beside an `events.*` file, and two `events.*` files. So is a data file whose name resembles
/// a type's without being it, unless `ignore_misnamed`: its events would otherwise be lost
/// without a word.
pub fn scan_directory(dir: &Path, ignore_misnamed: bool) -> Result<SourceInfo, ReplayError> {
    let entries = std::fs::read_dir(dir).map_err(|e| ReplayError::io(dir, e))?;
    let mut by_type: [Option<InputFile>; 7] = Default::default();
    let mut mixed: Option<InputFile> = None;
    let mut ignored = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| ReplayError::io(dir, e))?;
        let path = entry.path();
        let is_file = std::fs::metadata(&path)
            .map(|m| m.is_file())
            .unwrap_or(false);
        let name = entry.file_name();
        let parts = name.to_str().and_then(classify);
        let mixed_file = parts
            .filter(|(stem, ..)| *stem == MIXED_STEM && is_file)
            .map(|(_, format, compression)| (format, compression));
        if let Some((format, compression)) = mixed_file {
            if let Some(first) = &mixed {
                return Err(duplicate(dir, EVERY_TYPE, &first.path, path));
            }
            mixed = Some(InputFile {
                path,
                format,
                compression,
                default_type: None,
            });
            continue;
        }
        let classified = parts.and_then(|(stem, format, compression)| {
            Some((EventType::from_file_stem(stem)?, format, compression))
        });
        let Some((event_type, format, compression)) = classified.filter(|_| is_file) else {
            let looks_like = parts.and_then(|(stem, ..)| resembled(stem));
            if let Some((event_type, expected)) = looks_like.filter(|_| is_file && !ignore_misnamed)
            {
                return Err(ReplayError::MisnamedTypeFile {
                    path,
                    event_type,
                    expected,
                });
            }
            ignored.push(path);
            continue;
        };
        let slot = &mut by_type[event_type.index()];
        if let Some(first) = slot {
            return Err(duplicate(dir, event_type.as_str(), &first.path, path));
        }
        *slot = Some(InputFile {
            path,
            format,
            compression,
            default_type: Some(event_type),
        });
    }
    let mut files: Vec<InputFile> = by_type.into_iter().flatten().collect();
    if let Some(mixed) = mixed {
        if let Some(typed) = files.first() {
            return Err(ReplayError::MixedBesideTypeFiles {
                mixed: mixed.path,
                typed: typed.path.clone(),
            });
        }
        files.push(mixed);
    }
    if files.is_empty() {
        return Err(ReplayError::NoTypeFiles {
            dir: dir.to_path_buf(),
        });
    }
    ignored.sort();
    Ok(SourceInfo { files, ignored })
}

/// Two files for one type, named in a stable order whatever order the directory listed them in.
fn duplicate(dir: &Path, event_type: &'static str, first: &Path, second: PathBuf) -> ReplayError {
    let (first, second) = if first <= second.as_path() {
        (first.to_path_buf(), second)
    } else {
        (second, first.to_path_buf())
    };
    ReplayError::DuplicateType {
        dir: dir.to_path_buf(),
        event_type,
        first,
        second,
    }
}

/// The file name used in record locations (`orders.ndjson:12`).
pub fn display_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

/// The file name of a per-type output file.
pub fn per_type_path(dir: &Path, event_type: EventType, extension: &str) -> PathBuf {
    dir.join(format!("{}.{extension}", event_type.file_stem()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_extensions_and_compression() {
        assert_eq!(
            classify("orders.ndjson.gz"),
            Some(("orders", Format::Ndjson, Compression::Gzip))
        );
        assert_eq!(
            classify("day.JSONL.zst"),
            Some(("day", Format::Ndjson, Compression::Zstd))
        );
        assert_eq!(
            classify("trades.parquet"),
            Some(("trades", Format::Parquet, Compression::None))
        );
        assert_eq!(
            classify("a.b.csv"),
            Some(("a.b", Format::Csv, Compression::None))
        );
        assert_eq!(classify("trades.parquet.gz"), None);
        assert_eq!(classify("README.md"), None);
        assert_eq!(classify("ndjson"), None);
        assert_eq!(classify("x.gz"), None);
    }

    #[test]
    fn names_that_resemble_a_type_are_recognised() {
        assert_eq!(resembled_type("orders_20250317"), Some(EventType::Order));
        assert_eq!(resembled_type("execution"), Some(EventType::Execution));
        assert_eq!(resembled_type("Trades"), Some(EventType::Trade));
        assert_eq!(resembled_type("cash-eod"), Some(EventType::Cash));
        assert_eq!(resembled_type("orders"), None);
        assert_eq!(resembled_type("labels"), None);
        assert_eq!(resembled_type("events"), None);
        assert_eq!(resembled("events"), None);
        assert_eq!(resembled("Events"), Some(("every type", "events")));
        assert_eq!(resembled("events_20250317"), Some(("every type", "events")));
        assert_eq!(resembled("orders_1"), Some(("order", "orders")));
    }
}
