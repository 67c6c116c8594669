//! Why an input (or an output of a conversion) cannot be read or written at all.
//!
//! Anything wrong with a single record is not an error here: it becomes a
//! [`Record::Invalid`](crate::Record::Invalid) and the stream goes on.

use std::path::{Path, PathBuf};

/// An input that cannot be read, or an output that cannot be written. Each message is one line
/// that names the path, for the `pumpwatch replay` exit message.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error("{}: no such file or directory", .path.display())]
    NotFound { path: PathBuf },

    #[error(
        "{}: unknown file type (expected .ndjson, .jsonl, .json or .csv, optionally .gz or .zst, or .parquet)",
        .path.display()
    )]
    UnknownExtension { path: PathBuf },

    #[error(
        "{}: no per-type event files (instruments, positions, cash, auth, orders, executions, trades with extension .ndjson, .jsonl, .json, .csv or .parquet) and no file of every type (events.ndjson, ...)",
        .dir.display()
    )]
    NoTypeFiles { dir: PathBuf },

    #[error(
        "{}: a file of events of every type beside per-type files (such as {}): which is meant cannot be guessed; give that file itself as the input, or move it out of the directory to read the per-type files",
        .mixed.display(),
        .typed.display()
    )]
    MixedBesideTypeFiles { mixed: PathBuf, typed: PathBuf },

    #[error("{}: two files for {}: {} and {}", .dir.display(), events_of(.event_type), .first.display(), .second.display())]
    DuplicateType {
        dir: PathBuf,
        event_type: &'static str,
        first: PathBuf,
        second: PathBuf,
    },

    #[error("{}: cannot read Parquet: {message}", .path.display())]
    Parquet { path: PathBuf, message: String },

    #[error("{}: cannot write Parquet: {message}", .path.display())]
    ParquetWrite { path: PathBuf, message: String },

    #[error(
        "{}: looks like a file of {} but is not named {expected}.EXT, so it would not be read; rename it, or pass --ignore-misnamed to leave it out",
        .path.display(),
        events_of(.event_type)
    )]
    MisnamedTypeFile {
        path: PathBuf,
        event_type: &'static str,
        expected: &'static str,
    },

    /// A stream that breaks partway (a corrupt or truncated compressed file): where it broke.
    #[error(
        "{}: unreadable after line {last_line} ({bytes_read} bytes of the file read): {error}",
        .path.display()
    )]
    Unreadable {
        path: PathBuf,
        error: std::io::Error,
        /// The last line read whole, all of which were handed out.
        last_line: u64,
        /// Bytes of the file (compressed, if it is) consumed when it broke.
        bytes_read: u64,
    },

    /// The I/O error's text is part of the message (and not a separate cause), so the
    /// one-line exit reason says it once.
    #[error("{}: {error}", .path.display())]
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
}

impl ReplayError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        ReplayError::Io {
            path: path.to_path_buf(),
            error: source,
        }
    }

    pub(crate) fn parquet(path: &Path, message: impl std::fmt::Display) -> Self {
        ReplayError::Parquet {
            path: path.to_path_buf(),
            message: one_line(&message.to_string()),
        }
    }

    pub(crate) fn parquet_write(path: &Path, message: impl std::fmt::Display) -> Self {
        ReplayError::ParquetWrite {
            path: path.to_path_buf(),
            message: one_line(&message.to_string()),
        }
    }
}

/// polars errors can span several lines; the CLI promises a one-line reason.
fn one_line(message: &str) -> String {
    let mut out: String = message.split_whitespace().collect::<Vec<_>>().join(" ");
    if out.len() > 300 {
        let mut cut = 300;
        while !out.is_char_boundary(cut) {
            cut -= 1;
        }
        out.truncate(cut);
        out.push('…');
    }
    out
}

/// The `event_type` of a directory's file of events of every type (`events.*`) in the errors
/// that name a type.
pub(crate) const EVERY_TYPE: &str = "every type";

/// How an error names the events of a file: "`order` events", or "events of every type".
fn events_of(event_type: &str) -> String {
    if event_type == EVERY_TYPE {
        "events of every type".to_string()
    } else {
        format!("`{event_type}` events")
    }
}
