//! Where a run's outputs go: alerts in firing order, records the sources rejected, events the
//! engine found too late, and a flush point after each batch.

use pumpwatch_core::FiringKey;
use pumpwatch_model::{Alert, Event, InvalidReason};
use pumpwatch_replay::Quarantined;

use crate::counts::RunCounts;
use crate::lanes::Origin;

/// Where a late event was read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LatePosition {
    /// Its place among the run's records (0-based).
    pub record: u64,
    /// Its source and place in it; `None` for an event the engines held when the input ended.
    pub origin: Option<Origin>,
}

/// A boxed error of a sink (an IO error of its file, a broker's refusal).
pub type SinkError = Box<dyn std::error::Error + Send + Sync>;

/// The outputs of a run. Calls come in the order one engine gives them, whatever the split.
pub trait Sink {
    /// An alert, with its place in the firing order.
    fn alert(&mut self, key: &FiringKey, alert: &Alert) -> Result<(), SinkError>;

    /// A record a source rejected, where it was read and as it was written.
    fn invalid(&mut self, record: &Quarantined) -> Result<(), SinkError>;

    /// A valid event that arrived too late to be processed in order, with where it was read:
    /// its place among the run's records and in its source, the way to find it in the input.
    fn late(
        &mut self,
        event: &Event,
        reason: &InvalidReason,
        at: &LatePosition,
    ) -> Result<(), SinkError>;

    /// Everything of a batch has been handed over: a reader of a pipe should see it now, and
    /// a checkpoint taken now covers it.
    fn flush(&mut self) -> Result<(), SinkError>;

    /// The run's counters after a batch (events read by type, rejected by reason), for a
    /// metrics exporter. Nothing by default.
    fn counters(&mut self, _counts: &RunCounts) -> Result<(), SinkError> {
        Ok(())
    }
}

/// A sink that keeps everything in memory (tests, and callers that want the outputs back).
#[derive(Debug, Default)]
pub struct Collected {
    pub alerts: Vec<(FiringKey, Alert)>,
    pub invalid: Vec<Quarantined>,
    pub late: Vec<(Event, InvalidReason, u64)>,
    pub flushes: u64,
    /// The counters of the last batch.
    pub counters: Option<RunCounts>,
    /// The kind of every alert, invalid and late call, in the order they came.
    pub calls: Vec<&'static str>,
}

impl Sink for Collected {
    fn alert(&mut self, key: &FiringKey, alert: &Alert) -> Result<(), SinkError> {
        self.alerts.push((*key, alert.clone()));
        self.calls.push("alert");
        Ok(())
    }

    fn invalid(&mut self, record: &Quarantined) -> Result<(), SinkError> {
        self.invalid.push(record.clone());
        self.calls.push("invalid");
        Ok(())
    }

    fn late(
        &mut self,
        event: &Event,
        reason: &InvalidReason,
        at: &LatePosition,
    ) -> Result<(), SinkError> {
        self.late.push((event.clone(), reason.clone(), at.record));
        self.calls.push("late");
        Ok(())
    }

    fn flush(&mut self) -> Result<(), SinkError> {
        self.flushes += 1;
        Ok(())
    }

    fn counters(&mut self, counts: &RunCounts) -> Result<(), SinkError> {
        self.counters = Some(counts.clone());
        Ok(())
    }
}
