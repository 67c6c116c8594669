//! A driver's checkpoint: what a run had read from each source, its counters, and every
//! engine's snapshot, taken at a batch boundary when nothing is in flight. Restored, the run
//! goes on exactly where it was (the sources skip what was read).

use serde::{Deserialize, Serialize};

use crate::counts::RunCounts;

/// The checkpoint format this build writes and reads.
pub const CHECKPOINT_FORMAT: u32 = 1;

/// See the module documentation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Checkpoint {
    pub format: u32,
    /// Records taken from each source, in source order.
    pub records_taken: Vec<u64>,
    /// Events stepped by the engines (the step number of the next; invalid records are not
    /// stepped).
    pub records_stepped: u64,
    pub counts: RunCounts,
    /// Each engine's snapshot, in share order (one for an unsplit run).
    pub engines: Vec<Vec<u8>>,
}

impl Checkpoint {
    pub fn to_bytes(&self) -> Vec<u8> {
        // Sized for the snapshots it carries, so they are not copied into a buffer that
        // doubles as it fills.
        let room = self.engines.iter().map(Vec::len).sum::<usize>() + 4096;
        postcard::to_extend(self, Vec::with_capacity(room))
            .expect("a checkpoint of plain data serializes")
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self, String> {
        let checkpoint: Checkpoint =
            postcard::from_bytes(bytes).map_err(|e| format!("not a readable checkpoint: {e}"))?;
        if checkpoint.format != CHECKPOINT_FORMAT {
            return Err(format!(
                "checkpoint format {} cannot be read by this build (it reads {CHECKPOINT_FORMAT})",
                checkpoint.format
            ));
        }
        Ok(checkpoint)
    }
}
