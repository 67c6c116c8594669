//! The event and alert contract of pumpwatch (`shared/spec/events.md`, v1) as Rust types.
//!
//! Every source (NDJSON, CSV, Parquet, Kafka) fills a format-neutral [`RawRecord`] and calls
//! [`RawRecord::validate`], so the rules for what makes an event valid live in one place.
//! Prices and money are exact [`Decimal`]s; event time is a [`Timestamp`] that keeps the
//! producer's UTC offset so alerts can be printed in the market's local time.

pub mod alert;
pub mod decimal;
pub mod event;
pub mod invalid;
pub mod json;
mod json_scan;
pub mod raw;
pub mod time;
pub mod wire;

pub use alert::{Action, Alert, Evidence, Feature, Severity};
pub use decimal::Decimal;
pub use event::{
    Auth, AuthAction, Cash, Event, EventBody, EventType, Execution, Id, Instrument, Order,
    OrderAction, OrderType, Position, Side, Trade,
};
pub use invalid::{InvalidEvent, InvalidReason};
pub use json::decode_json_line;
pub use raw::{Field, RawRecord};
pub use time::Timestamp;
