//! The quarantine file: one JSON object per rejected record, with the reason, its counter
//! label, where it came from and the record as it was written.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use pumpwatch_model::{Event, InvalidEvent, InvalidReason};
use serde::Serialize;

use crate::error::ReplayError;
use crate::source::Quarantined;

/// One line of the quarantine file.
#[derive(Serialize)]
struct Line<'a> {
    reason: String,
    label: String,
    #[serde(rename = "type")]
    event_type: Option<&'static str>,
    /// Where the record was read: `file:line` or `file:row N`; for a late event, `input
    /// record N`, its place (0-based) in the input as the run read it (a directory's files
    /// merged by time).
    location: Option<&'a str>,
    original: &'a str,
}

/// Writes quarantined records to a file. The file is created on the first record, so a clean
/// run leaves no empty file behind.
pub struct QuarantineWriter {
    path: PathBuf,
    out: Option<BufWriter<File>>,
    written: u64,
}

impl QuarantineWriter {
    /// A writer for `path`; nothing is created until something is written.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        QuarantineWriter {
            path: path.into(),
            out: None,
            written: 0,
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Records written so far.
    pub fn written(&self) -> u64 {
        self.written
    }

    /// Quarantines a record a source rejected.
    pub fn write(&mut self, record: &Quarantined) -> Result<(), ReplayError> {
        self.write_line(&record.reason, Some(&record.location), &record.original)
    }

    /// A writer that goes on with the file an interrupted run left: cut back to `bytes`
    /// (what the run had written at its checkpoint), holding `records` records.
    pub fn resume(path: impl Into<PathBuf>, bytes: u64, records: u64) -> Result<Self, ReplayError> {
        let path = path.into();
        let mut writer = QuarantineWriter::new(path.clone());
        writer.written = records;
        if bytes == 0 {
            // Nothing was written before the checkpoint: a file there is not this run's.
            if path.is_file() {
                std::fs::remove_file(&path).map_err(|e| ReplayError::io(&path, e))?;
            }
            return Ok(writer);
        }
        let file = std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .map_err(|e| ReplayError::io(&path, e))?;
        file.set_len(bytes).map_err(|e| ReplayError::io(&path, e))?;
        let mut file = file;
        std::io::Seek::seek(&mut file, std::io::SeekFrom::End(0))
            .map_err(|e| ReplayError::io(&path, e))?;
        writer.out = Some(BufWriter::with_capacity(256 << 10, file));
        Ok(writer)
    }

    /// Flushes what is buffered; returns the file's length (0: no file yet).
    pub fn flush(&mut self) -> Result<u64, ReplayError> {
        match &mut self.out {
            None => Ok(0),
            Some(out) => {
                out.flush().map_err(|e| ReplayError::io(&self.path, e))?;
                let len = out
                    .get_ref()
                    .metadata()
                    .map_err(|e| ReplayError::io(&self.path, e))?
                    .len();
                Ok(len)
            }
        }
    }

    /// Quarantines a valid event the engine rejected (typically [`InvalidReason::Late`]); its
    /// original is the event in the contract's JSON form, its location `input record N`, its
    /// place (0-based) in the input as the run read it.
    pub fn write_late(
        &mut self,
        event: &Event,
        reason: &InvalidReason,
        position: u64,
    ) -> Result<(), ReplayError> {
        let invalid = InvalidEvent::new(reason.clone(), Some(event.event_type()));
        let location = format!("input record {position}");
        self.write_line(&invalid, Some(&location), &event.to_json_line())
    }

    fn write_line(
        &mut self,
        invalid: &InvalidEvent,
        location: Option<&str>,
        original: &str,
    ) -> Result<(), ReplayError> {
        let out = match &mut self.out {
            Some(out) => out,
            None => {
                let file = File::create(&self.path).map_err(|e| ReplayError::io(&self.path, e))?;
                self.out.insert(BufWriter::with_capacity(256 << 10, file))
            }
        };
        let line = Line {
            reason: invalid.reason.to_string(),
            label: invalid.reason.label(),
            event_type: invalid.event_type.map(|t| t.as_str()),
            location,
            original,
        };
        serde_json::to_writer(&mut *out, &line)
            .map_err(|e| ReplayError::io(&self.path, e.into()))?;
        out.write_all(b"\n")
            .map_err(|e| ReplayError::io(&self.path, e))?;
        self.written += 1;
        Ok(())
    }

    /// Flushes the file and returns how many records were written (0: no file was created).
    pub fn finish(mut self) -> Result<u64, ReplayError> {
        if let Some(out) = self.out.take() {
            out.into_inner()
                .map_err(|e| ReplayError::io(&self.path, e.into_error()))?;
        }
        Ok(self.written)
    }
}
