//! Resumable replay: `replay --out FILE --checkpoint-dir DIR` keeps its last checkpoint in
//! DIR; the same command after a crash goes on from it, and FILE ends as an uninterrupted
//! run's. The checkpoint names the run it belongs to (input, alert file, config, split), so
//! another run is never resumed from it by mistake.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _};
use serde::{Deserialize, Serialize};

const FILE_NAME: &str = "replay.checkpoint";
const MAGIC: &[u8; 8] = b"PWRUN01\n";

/// Which run a checkpoint belongs to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunIdentity {
    pub input: String,
    pub out: String,
    pub config_version: String,
    /// `threads N` or `partition I/N`.
    pub split: String,
}

/// A run's checkpoint: the driver's, and how far the output files had got.
#[derive(Debug, Serialize, Deserialize)]
pub struct RunCheckpoint {
    pub run: RunIdentity,
    pub alerts_bytes: u64,
    pub quarantine_bytes: u64,
    pub quarantine_records: u64,
    /// `pumpwatch_driver::Checkpoint::to_bytes`.
    pub driver: Vec<u8>,
}

pub fn path(dir: &Path) -> PathBuf {
    dir.join(FILE_NAME)
}

/// The checkpoint in `dir` of the run `run`, if there is one; a checkpoint of another run
/// is an error, not a silent fresh start.
pub fn load(dir: &Path, run: &RunIdentity) -> anyhow::Result<Option<RunCheckpoint>> {
    let file = path(dir);
    let bytes = match std::fs::read(&file) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", file.display())),
    };
    let body = bytes
        .strip_prefix(MAGIC.as_slice())
        .with_context(|| format!("{} is not a pumpwatch replay checkpoint", file.display()))?;
    let checkpoint: RunCheckpoint =
        postcard::from_bytes(body).with_context(|| format!("{} is damaged", file.display()))?;
    if checkpoint.run != *run {
        bail!(
            "{} belongs to another run ({} → {}, config {}, {}); remove it or use another --checkpoint-dir",
            file.display(),
            checkpoint.run.input,
            checkpoint.run.out,
            checkpoint.run.config_version,
            checkpoint.run.split
        );
    }
    Ok(Some(checkpoint))
}

/// Writes the checkpoint so that a crash at any moment leaves either the previous one or this
/// one: a temporary file, synced, renamed over the old, the directory synced.
pub fn save(dir: &Path, checkpoint: &RunCheckpoint) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let file = path(dir);
    let tmp = dir.join(format!("{FILE_NAME}.tmp"));
    let cannot_write = || format!("cannot write {}", tmp.display());
    let created = File::create(&tmp).with_context(cannot_write)?;
    // Encoded straight into the file: the engines' state is not copied once more in memory.
    let mut out = BufWriter::with_capacity(1 << 20, created);
    out.write_all(MAGIC).with_context(cannot_write)?;
    let out = postcard::to_io(checkpoint, out).with_context(cannot_write)?;
    out.into_inner()
        .map_err(|e| e.into_error())
        .and_then(|written| written.sync_all())
        .with_context(cannot_write)?;
    std::fs::rename(&tmp, &file).with_context(|| format!("cannot replace {}", file.display()))?;
    if let Ok(dir) = File::open(dir) {
        let _ = dir.sync_all();
    }
    Ok(())
}

/// Removes the checkpoint of a run that finished.
pub fn clear(dir: &Path) -> anyhow::Result<()> {
    let file = path(dir);
    match std::fs::remove_file(&file) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e).with_context(|| format!("cannot remove {}", file.display())),
    }
}

/// Syncs a file written so far to disk, so that a checkpoint never counts bytes a crash of
/// the machine could lose.
pub fn sync(path: &Path) -> anyhow::Result<()> {
    if path.is_file() {
        File::open(path)
            .and_then(|f| f.sync_data())
            .with_context(|| format!("cannot sync {}", path.display()))?;
    }
    Ok(())
}
