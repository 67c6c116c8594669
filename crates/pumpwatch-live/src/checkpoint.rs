//! The live pipeline's checkpoints, one per share of the accounts: the share's engine state,
//! the offset each input partition goes on from, and how far the alert and dead-letter topics
//! had got, taken when every output before it is acknowledged by the brokers. Written
//! atomically to a [`CheckpointStore`] that every instance of a group shares (a directory on
//! a shared volume, or an object store): a share's state moves with it when the group gives
//! it to another instance.
//!
//! A restart restores the engines, seeks every input partition to its offset, and reads the
//! output topics past their checkpointed ends: what it finds there was produced after the
//! checkpoint by the run that died, and is not produced again.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::source::TopicPartition;

/// The format this build writes and reads.
pub const LIVE_CHECKPOINT_FORMAT: u32 = 2;

const MAGIC: &[u8; 8] = b"PWLIVE\x00\x01";

/// See the module documentation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LiveCheckpoint {
    pub format: u32,
    /// The engine config's version: a checkpoint of another config is refused.
    pub config_version: String,
    /// How many shares the accounts are split into, and which one this is.
    pub shares: u32,
    pub share: u32,
    /// The share's engine snapshot.
    pub engine: Vec<u8>,
    /// The offset each input partition goes on from.
    pub inputs: Vec<(TopicPartition, i64)>,
    /// The end of each alert topic partition when the checkpoint was taken.
    pub alerts_end: BTreeMap<i32, i64>,
    /// The same for the dead-letter topic.
    pub dead_letter_end: BTreeMap<i32, i64>,
    /// The run consumed its input to the end and flushed the engine (`run --until-end`).
    pub finished: bool,
}

impl LiveCheckpoint {
    pub fn to_bytes(&self) -> Vec<u8> {
        // The body is encoded in place after the magic and room for its checksum, into a
        // buffer sized for the engine's snapshot: the state is not held twice.
        let mut bytes = Vec::with_capacity(self.engine.len() + 4096);
        bytes.extend_from_slice(MAGIC);
        bytes.extend_from_slice(&[0; 32]);
        let mut bytes =
            postcard::to_extend(self, bytes).expect("a checkpoint of plain data serializes");
        let checksum = Sha256::digest(&bytes[40..]);
        bytes[8..40].copy_from_slice(&checksum);
        bytes
    }

    pub fn from_bytes(bytes: &[u8]) -> anyhow::Result<Self> {
        if bytes.len() < 40 || &bytes[..8] != MAGIC {
            bail!("not a pumpwatch live checkpoint");
        }
        let (digest, body) = bytes[8..].split_at(32);
        if Sha256::digest(body).as_slice() != digest {
            bail!("the checkpoint is damaged (its checksum does not match)");
        }
        let checkpoint: LiveCheckpoint =
            postcard::from_bytes(body).context("the checkpoint cannot be decoded")?;
        if checkpoint.format != LIVE_CHECKPOINT_FORMAT {
            bail!(
                "checkpoint format {} cannot be read by this build (it reads {LIVE_CHECKPOINT_FORMAT})",
                checkpoint.format
            );
        }
        Ok(checkpoint)
    }
}

/// A directory holding the latest checkpoint of each share.
#[derive(Clone, Debug)]
pub struct CheckpointDir {
    dir: PathBuf,
}

impl CheckpointDir {
    pub fn open(dir: &Path) -> anyhow::Result<Self> {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create the checkpoint directory {}", dir.display()))?;
        Ok(CheckpointDir {
            dir: dir.to_path_buf(),
        })
    }

    fn path(&self, share: u32, shares: u32) -> PathBuf {
        self.dir.join(checkpoint_name(share, shares))
    }

    /// The latest checkpoint of a share, if one was written.
    pub fn load(&self, share: u32, shares: u32) -> anyhow::Result<Option<LiveCheckpoint>> {
        let path = self.path(share, shares);
        match std::fs::read(&path) {
            Ok(bytes) => {
                // Which share it holds is checked by [`CheckpointStore::load`].
                LiveCheckpoint::from_bytes(&bytes)
                    .with_context(|| format!("cannot read {}", path.display()))
                    .map(Some)
            }
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(err) => Err(err).with_context(|| format!("cannot read {}", path.display())),
        }
    }

    /// How long ago a share's checkpoint was last written (`None`: never).
    pub fn age(&self, share: u32, shares: u32) -> Option<std::time::Duration> {
        let modified = std::fs::metadata(self.path(share, shares))
            .ok()?
            .modified()
            .ok()?;
        Some(modified.elapsed().unwrap_or_default())
    }

    /// Replaces the checkpoint atomically (a crash leaves the old one or the new one); returns
    /// its size.
    pub fn store(&self, checkpoint: &LiveCheckpoint) -> anyhow::Result<u64> {
        let bytes = checkpoint.to_bytes();
        let path = self.path(checkpoint.share, checkpoint.shares);
        let tmp = path.with_extension("tmp");
        let write = || -> std::io::Result<()> {
            let mut file = std::fs::File::create(&tmp)?;
            file.write_all(&bytes)?;
            file.sync_all()?;
            std::fs::rename(&tmp, &path)?;
            std::fs::File::open(&self.dir)?.sync_all()
        };
        write().with_context(|| format!("cannot write the checkpoint {}", path.display()))?;
        Ok(bytes.len() as u64)
    }
}

/// Where a group keeps its checkpoints: one object per share, replaced whole.
#[derive(Debug)]
pub enum CheckpointStore {
    Dir(CheckpointDir),
    Object(crate::object_checkpoints::ObjectCheckpoints),
}

impl CheckpointStore {
    /// Opens the store the config names (creating a directory when missing).
    pub fn open(config: &crate::config::CheckpointConfig) -> anyhow::Result<Self> {
        match (&config.dir, &config.url) {
            (_, Some(url)) => Ok(CheckpointStore::Object(
                crate::object_checkpoints::ObjectCheckpoints::open(url, &config.options)?,
            )),
            (Some(dir), None) => Ok(CheckpointStore::Dir(CheckpointDir::open(dir)?)),
            (None, None) => {
                bail!("no checkpoint store configured (checkpoint.dir or checkpoint.url)")
            }
        }
    }

    /// The latest checkpoint of a share, if one was written.
    pub fn load(&self, share: u32, shares: u32) -> anyhow::Result<Option<LiveCheckpoint>> {
        let checkpoint = match self {
            CheckpointStore::Dir(dir) => dir.load(share, shares)?,
            CheckpointStore::Object(store) => store.load(share, shares)?,
        };
        if let Some(checkpoint) = &checkpoint {
            if (checkpoint.share, checkpoint.shares) != (share, shares) {
                bail!(
                    "the checkpoint of share {share} of {shares} holds share {} of {}",
                    checkpoint.share,
                    checkpoint.shares
                );
            }
        }
        Ok(checkpoint)
    }

    /// How long ago a share's checkpoint was last written (`None`: never, or unknown).
    pub fn age(&self, share: u32, shares: u32) -> Option<std::time::Duration> {
        match self {
            CheckpointStore::Dir(dir) => dir.age(share, shares),
            CheckpointStore::Object(store) => store.age(share, shares),
        }
    }

    /// Replaces a share's checkpoint atomically (a crash leaves the old one or the new one);
    /// returns its size.
    pub fn store(&self, checkpoint: &LiveCheckpoint) -> anyhow::Result<u64> {
        match self {
            CheckpointStore::Dir(dir) => dir.store(checkpoint),
            CheckpointStore::Object(store) => store.store(checkpoint),
        }
    }
}

/// The name of a share's checkpoint, in a directory or under an object store's prefix.
pub fn checkpoint_name(share: u32, shares: u32) -> String {
    format!("share-{share}-of-{shares}.checkpoint")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> LiveCheckpoint {
        LiveCheckpoint {
            format: LIVE_CHECKPOINT_FORMAT,
            config_version: "v1".into(),
            shares: 3,
            share: 1,
            engine: vec![1, 2, 3],
            inputs: vec![(
                TopicPartition {
                    topic: "pumpwatch.orders".into(),
                    partition: 1,
                },
                17,
            )],
            alerts_end: BTreeMap::from([(0, 5), (1, 9)]),
            dead_letter_end: BTreeMap::new(),
            finished: false,
        }
    }

    #[test]
    fn a_stored_checkpoint_loads_back_and_damage_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let store = CheckpointDir::open(dir.path()).unwrap();
        assert!(store.load(1, 3).unwrap().is_none());
        store.store(&sample()).unwrap();
        assert_eq!(store.load(1, 3).unwrap(), Some(sample()));
        assert!(
            store.load(0, 3).unwrap().is_none(),
            "each share has its own"
        );
        let file = dir.path().join("share-1-of-3.checkpoint");
        let mut bytes = std::fs::read(&file).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        std::fs::write(&file, &bytes).unwrap();
        let err = format!("{:#}", store.load(1, 3).unwrap_err());
        assert!(err.contains("damaged"), "{err}");
    }
}
