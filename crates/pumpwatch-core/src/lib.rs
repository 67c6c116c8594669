//! The pumpwatch engine: a pure, deterministic function from events and watermarks to alerts.
//!
//! Invariant: nothing in this crate reads a clock, touches a file or socket, spawns a thread or
//! draws a random number. Time arrives as event time; the caller owns every buffer. That is what
//! makes a replay of a day produce byte-for-byte the alerts the live feed produced.
//!
//! The flow of one input through [`Engine::step`]:
//! [`reorder`] (event-time order within a lateness bound) → [`market`] and [`account`] state
//! updates → the [`detect`] rules → alerts pushed into the caller's buffer.

pub mod account;
pub mod chunked;
pub mod config;
pub mod crowd;
pub mod detect;
pub mod engine;
pub mod intern;
pub mod market;
pub mod partition;
pub mod reorder;
pub mod snapshot;
pub mod stats;
pub mod window;

pub use config::{ConfigError, EngineConfig};
pub use engine::{Engine, FiringKey, Input, Output, RestoreError};
pub use partition::Partition;
pub use snapshot::SnapshotError;
pub use stats::EngineStats;
