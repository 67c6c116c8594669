//! One driver for every mode of pumpwatch: a replay of files, a live feed, a share of a
//! split run.
//!
//! A [`Driver`] takes sources (anything that implements `pumpwatch_replay::Source`: a file, a
//! directory of per-type files, standard input, a Kafka partition), merges them by event time
//! with a watermark per source ([`lanes`]), steps the engines in batches — one engine, or the
//! engines of a split of the accounts on threads ([`engines`]) — and pushes alerts, rejected
//! records and late events into a [`Sink`], flushing it after every batch. At any batch
//! boundary it writes a [`Checkpoint`] from which [`Driver::resume`] goes on exactly.
//!
//! Invariants:
//! - What reaches the sink, and in which order, is the same for any number of threads and any
//!   batch size: the outputs of a split are merged into the order one engine gives.
//! - A run resumed from a checkpoint hands the sink exactly what the uninterrupted run would
//!   have handed it after that checkpoint.
//! - The driver owns no clock: what it does depends only on the records its sources return.

pub mod checkpoint;
pub mod counts;
mod driver;
pub mod engines;
pub mod lanes;
pub mod sink;

pub use checkpoint::Checkpoint;
pub use counts::RunCounts;
pub use driver::{Driver, DriverOptions, READ_AHEAD_BATCHES};
pub use lanes::Origin;
pub use sink::{Collected, LatePosition, Sink, SinkError};

/// Why a run stopped.
#[derive(Debug, thiserror::Error)]
pub enum DriverError {
    #[error(transparent)]
    Source(#[from] pumpwatch_replay::ReplayError),
    #[error("cannot write the run's output: {0}")]
    Sink(SinkError),
    #[error("{0}")]
    Engine(String),
    #[error(transparent)]
    Config(#[from] pumpwatch_core::ConfigError),
    #[error("cannot restore the checkpoint: {0}")]
    Restore(#[from] pumpwatch_core::RestoreError),
    #[error("cannot resume from the checkpoint: {0}")]
    Checkpoint(String),
}
