//! Where `replay` writes: alerts (standard output or `--out FILE`), one alert per line or,
//! for one partition of a split run, each with its firing key for `merge-alerts`; rejected and
//! late records to the quarantine file.

use std::fs::File;
use std::io::{BufWriter, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use pumpwatch_core::{FiringKey, Partition};
use pumpwatch_driver::{LatePosition, Sink, SinkError};
use pumpwatch_model::{Alert, Event, InvalidReason};
use pumpwatch_replay::{QuarantineWriter, Quarantined};
use serde::{Deserialize, Serialize};

/// The first line of a partition's alert file.
#[derive(Debug, Serialize, Deserialize)]
pub struct PartitionHeader {
    pub partition: String,
    pub config_version: String,
}

/// One alert line of a partition's alert file: the alert as a whole run prints it, with its
/// place in the firing order.
#[derive(Serialize)]
struct KeyedLine<'a> {
    firing: &'a FiringKey,
    alert: &'a serde_json::value::RawValue,
}

/// Where alert lines go.
pub enum AlertsOut {
    Stdout(BufWriter<std::io::Stdout>),
    File { path: PathBuf, out: BufWriter<File> },
}

impl AlertsOut {
    pub fn stdout() -> Self {
        AlertsOut::Stdout(BufWriter::with_capacity(1 << 16, std::io::stdout()))
    }

    /// `path`, created (or cut back to `keep` bytes when a run resumes).
    pub fn file(path: &Path, keep: Option<u64>) -> anyhow::Result<Self> {
        let file = match keep {
            None => File::create(path),
            Some(len) => std::fs::OpenOptions::new()
                .write(true)
                .open(path)
                .and_then(|mut f| {
                    f.set_len(len)?;
                    f.seek(SeekFrom::End(0))?;
                    Ok(f)
                }),
        }
        .with_context(|| format!("cannot write alerts to {}", path.display()))?;
        Ok(AlertsOut::File {
            path: path.to_path_buf(),
            out: BufWriter::with_capacity(1 << 16, file),
        })
    }

    fn writer(&mut self) -> &mut dyn Write {
        match self {
            AlertsOut::Stdout(out) => out,
            AlertsOut::File { out, .. } => out,
        }
    }

    fn describe(&self) -> String {
        match self {
            AlertsOut::Stdout(_) => "standard output".to_string(),
            AlertsOut::File { path, .. } => path.display().to_string(),
        }
    }

    /// Flushes; the file's length (0 for standard output).
    pub fn flush(&mut self) -> anyhow::Result<u64> {
        let what = self.describe();
        self.writer()
            .flush()
            .with_context(|| format!("cannot write alerts to {what}"))?;
        Ok(match self {
            AlertsOut::Stdout(_) => 0,
            AlertsOut::File { out, path } => out
                .get_ref()
                .metadata()
                .with_context(|| format!("cannot read {}", path.display()))?
                .len(),
        })
    }
}

/// The sink of a replay: see the module documentation.
pub struct ReplaySink {
    pub alerts: AlertsOut,
    pub quarantine: QuarantineWriter,
    /// Some for one partition of a split run: alerts go out keyed, and records the sources
    /// rejected are quarantined by the first partition only (every partition reads them).
    pub partition: Option<Partition>,
    /// Whether an alert was written since the last flush.
    unflushed: bool,
    /// Alert lines kept for the alert store (replay --store without --out).
    pub kept: Option<Vec<String>>,
}

impl ReplaySink {
    pub fn new(
        alerts: AlertsOut,
        quarantine: QuarantineWriter,
        partition: Option<Partition>,
    ) -> Self {
        ReplaySink {
            alerts,
            quarantine,
            partition,
            unflushed: false,
            kept: None,
        }
    }

    /// Writes a partition file's header line.
    pub fn write_header(&mut self, header: &PartitionHeader) -> anyhow::Result<()> {
        let line = serde_json::to_string(header)?;
        writeln!(self.alerts.writer(), "{line}").context("cannot write alerts")?;
        Ok(())
    }
}

impl Sink for ReplaySink {
    fn alert(&mut self, key: &FiringKey, alert: &Alert) -> Result<(), SinkError> {
        let line = alert.to_json_line();
        if let Some(kept) = &mut self.kept {
            kept.push(line.clone());
        }
        match self.partition {
            None => writeln!(self.alerts.writer(), "{line}")?,
            Some(_) => {
                let raw = serde_json::value::RawValue::from_string(line)?;
                let keyed = serde_json::to_string(&KeyedLine {
                    firing: key,
                    alert: &raw,
                })?;
                writeln!(self.alerts.writer(), "{keyed}")?;
            }
        }
        self.unflushed = true;
        Ok(())
    }

    fn invalid(&mut self, record: &Quarantined) -> Result<(), SinkError> {
        if self.partition.is_none_or(Partition::reports_market) {
            self.quarantine.write(record)?;
        }
        Ok(())
    }

    fn late(
        &mut self,
        event: &Event,
        reason: &InvalidReason,
        at: &LatePosition,
    ) -> Result<(), SinkError> {
        self.quarantine.write_late(event, reason, at.record)?;
        Ok(())
    }

    /// Each alert reaches a pipe when it fires, not when the buffer fills.
    fn flush(&mut self) -> Result<(), SinkError> {
        if self.unflushed {
            self.alerts.flush().map_err(|e| -> SinkError { e.into() })?;
            self.unflushed = false;
        }
        Ok(())
    }
}
