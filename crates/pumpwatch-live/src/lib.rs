//! The live pipeline: Kafka topics in, through the one driver and the engines, alerts and dead
//! letters out.
//!
//! - [`publish`] puts a day (any replay input) onto the contract's topics.
//! - [`run`] consumes every input partition (each a driver source, merged by event time with
//!   a watermark per partition), steps the engines, produces alerts to the alert topic and
//!   rejected or late records to the dead-letter topic ([`sink`]), checkpoints engine state
//!   with input offsets and output ends ([`checkpoint`]), and exports Prometheus metrics
//!   ([`metrics`]).
//! - [`feed`] reads the alert topic back in firing order.
//! - [`drain`] only reads and decodes the input topics: the Kafka client's share of a run.
//!
//! Invariants:
//! - The alerts of a run equal `replay`'s on the same events when nothing is late: the
//!   engines are the replay's and see the same events; only the interleaving of partitions
//!   differs, and the engine's processing order does not depend on it.
//! - Each `alert_id` reaches the alert topic once across crashes and restarts: a checkpoint
//!   is written only when every output before it is acknowledged, and a restart does not
//!   produce again what it finds on the output topics past its checkpoint.
//! - Exactly-once does not rest on broker transactions.

pub mod checkpoint;
pub mod config;
pub mod drain;
pub mod feed;
pub mod inputs;
pub mod kafka;
pub mod membership;
pub mod metrics;
pub mod object_checkpoints;
pub mod publish;
pub mod run;
pub mod sink;
pub mod source;

pub use config::{LiveConfig, Topics};
pub use run::{run, RunOptions, RunReport};
