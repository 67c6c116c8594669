//! The driver: reads a batch from the merged sources, hands it to the engines, and pushes
//! what comes back into the sink, reading the next batch while the engines work.

use std::collections::VecDeque;

use pumpwatch_core::{EngineConfig, EngineStats};
use pumpwatch_replay::{Quarantined, Record, Source};

use crate::checkpoint::{Checkpoint, CHECKPOINT_FORMAT};
use crate::counts::RunCounts;
use crate::engines::{self, Engines, Tagged};
use crate::lanes::{Lanes, Origin, ReadState};
use crate::sink::{LatePosition, Sink};
use crate::DriverError;

/// How a run is driven.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DriverOptions {
    /// Records handed to the engines at a time (and between two flushes of the sink).
    pub batch_records: usize,
    /// Threads: 1 runs one engine on the calling thread; N > 1 reads on the calling thread
    /// while N - 1 engines, each a share of the accounts, run on threads of their own.
    pub threads: u32,
    /// How far (ms of event time) the other sources may run ahead of one that has nothing to
    /// send before it stops holding them back (see [`crate::lanes`]).
    pub idle_bound_ms: u64,
    /// Read on while a split's engines work (up to [`READ_AHEAD_BATCHES`] batches ahead).
    /// Only for sources whose reads return at once (files): a read that waits for input (a
    /// pipe, a live feed) would hold back the outputs of the batches before it.
    pub read_ahead: bool,
    /// At the end of the input, release what the engines still hold (the end of a day). Off
    /// for a run that stops at a point of a stream another run goes on from (a live
    /// partition's catch-up to where the others are).
    pub flush_at_end: bool,
}

impl Default for DriverOptions {
    fn default() -> Self {
        DriverOptions {
            batch_records: 4_096,
            threads: 1,
            idle_bound_ms: 2_000,
            read_ahead: true,
            flush_at_end: true,
        }
    }
}

/// Batches a split's engines may have queued while the next is read: enough to ride out
/// batches that are quick to read and slow to step (a start-of-day snapshot) or the reverse.
pub const READ_AHEAD_BATCHES: usize = 8;

/// A batch handed to the engines whose outputs are not collected yet.
#[derive(Default)]
struct InFlight {
    first_step: u64,
    /// The record position and origin of each event of the batch.
    positions: Vec<(u64, Origin)>,
    /// Its invalid records: they go to the sink with the batch's outputs, just before them,
    /// so the sink's calls come in the same order whatever the read-ahead.
    invalid: Vec<Quarantined>,
    /// What it read, added to the run's counts when it is collected.
    counts: RunCounts,
}

/// One run: sources in, engines stepped, outputs into a sink. See the crate documentation.
pub struct Driver {
    lanes: Lanes,
    engines: Engines,
    counts: RunCounts,
    batch_records: usize,
    read_ahead: bool,
    flush_at_end: bool,
    /// Events handed to the engines so far (the step number of the next).
    steps: u64,
    /// Records (valid or not) taken from the sources so far.
    records: u64,
    /// Batches handed to the engines whose outputs are not collected yet, oldest first.
    in_flight: VecDeque<InFlight>,
    exhausted: bool,
    finished: bool,
}

impl std::fmt::Debug for Driver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Driver")
            .field("engines", &self.engines)
            .field("steps", &self.steps)
            .field("records", &self.records)
            .field("exhausted", &self.exhausted)
            .finish_non_exhaustive()
    }
}

impl Driver {
    /// A run from the start of `sources` through engines of `config`.
    pub fn new(
        config: &EngineConfig,
        sources: Vec<Box<dyn Source>>,
        options: &DriverOptions,
    ) -> Result<Self, DriverError> {
        let engines = Engines::for_threads(config, options.threads)?;
        Ok(Driver::with_engines(sources, engines, options))
    }

    /// A run through the given engines: one, or every share of one split (or one share of a
    /// split across processes).
    pub fn from_engines(
        engines: Vec<pumpwatch_core::Engine>,
        sources: Vec<Box<dyn Source>>,
        options: &DriverOptions,
    ) -> Result<Self, DriverError> {
        let on_threads = options.threads > 1;
        Ok(Driver::with_engines(
            sources,
            Engines::new(engines, on_threads)?,
            options,
        ))
    }

    /// A run that goes on from `checkpoint`: its engines restored, `sources` (the same
    /// inputs, from their start) skipping what it had read. The checkpoint's split wins over
    /// `options.threads`.
    pub fn resume(
        config: &EngineConfig,
        sources: Vec<Box<dyn Source>>,
        options: &DriverOptions,
        checkpoint: &Checkpoint,
    ) -> Result<Self, DriverError> {
        if checkpoint.records_taken.len() != sources.len() {
            return Err(DriverError::Checkpoint(format!(
                "the checkpoint is of {} sources, the input has {}",
                checkpoint.records_taken.len(),
                sources.len()
            )));
        }
        let restored = engines::restore(config, &checkpoint.engines)?;
        let on_threads = options.threads > 1 || restored.len() > 1;
        let engines = Engines::new(restored, on_threads)?;
        let mut driver = Driver::with_engines(sources, engines, options);
        driver.lanes.skip(&checkpoint.records_taken)?;
        if driver.lanes.taken() != checkpoint.records_taken {
            return Err(DriverError::Checkpoint(
                "the input is shorter than what the checkpoint had read: not the same input".into(),
            ));
        }
        driver.counts = checkpoint.counts.clone();
        driver.steps = checkpoint.records_stepped;
        driver.records = checkpoint.records_taken.iter().sum();
        Ok(driver)
    }

    fn with_engines(
        sources: Vec<Box<dyn Source>>,
        engines: Engines,
        options: &DriverOptions,
    ) -> Self {
        Driver {
            lanes: Lanes::new(sources, options.idle_bound_ms),
            engines,
            counts: RunCounts::default(),
            batch_records: options.batch_records.max(1),
            read_ahead: options.read_ahead,
            flush_at_end: options.flush_at_end,
            steps: 0,
            records: 0,
            in_flight: VecDeque::new(),
            exhausted: false,
            finished: false,
        }
    }

    pub fn sources(&self) -> impl Iterator<Item = &dyn Source> {
        self.lanes.sources()
    }

    /// Records taken from each source so far, in source order.
    pub fn taken(&self) -> Vec<u64> {
        self.lanes.taken()
    }

    /// The merged event-time watermark (UTC nanos): see [`Lanes::watermark`].
    pub fn watermark(&self) -> i64 {
        self.lanes.watermark()
    }

    pub fn counts(&self) -> &RunCounts {
        &self.counts
    }

    /// The engines' counters, added up over a split. Ask when nothing is in flight: after
    /// the run, after a checkpoint, or at any step without read-ahead.
    pub fn engine_stats(&mut self) -> Result<EngineStats, DriverError> {
        self.engines.stats()
    }

    /// Runs one batch; `Ok(false)` once the input is exhausted and every output is out.
    pub fn step(&mut self, sink: &mut dyn Sink) -> Result<bool, DriverError> {
        if self.finished {
            return Ok(false);
        }
        let next = if self.exhausted {
            None
        } else {
            let mut records = Vec::with_capacity(self.batch_records);
            if self.lanes.read(&mut records, self.batch_records)? == ReadState::Exhausted {
                self.exhausted = true;
            }
            Some(records)
        };
        if let Some(records) = next {
            // The batches before this one ran on the engines while this one was read; the
            // oldest go out once `READ_AHEAD_BATCHES` are in flight.
            while self.in_flight.len() >= READ_AHEAD_BATCHES {
                self.collect_oldest(sink)?;
            }
            self.submit(records)?;
            if !self.read_ahead || self.engines.is_one() {
                // One engine has already run; without read-ahead the outputs go out now.
                self.collect_all(sink)?;
            }
        }
        if self.exhausted {
            self.collect_all(sink)?;
            if self.flush_at_end {
                self.engines.flush(self.steps)?;
                self.in_flight.push_back(InFlight {
                    first_step: self.steps,
                    ..InFlight::default()
                });
                self.collect_all(sink)?;
            }
            self.finished = true;
            return Ok(false);
        }
        Ok(true)
    }

    /// Runs to the end of the input.
    pub fn run(&mut self, sink: &mut dyn Sink) -> Result<(), DriverError> {
        while self.step(sink)? {}
        Ok(())
    }

    /// Collects what is in flight, flushes the sink and snapshots every engine: a run resumed
    /// from it goes on exactly from here.
    pub fn checkpoint(&mut self, sink: &mut dyn Sink) -> Result<Checkpoint, DriverError> {
        self.collect_all(sink)?;
        Ok(Checkpoint {
            format: CHECKPOINT_FORMAT,
            records_taken: self.lanes.taken(),
            records_stepped: self.steps,
            counts: self.counts.clone(),
            engines: self.engines.snapshots()?,
        })
    }

    /// Sends a batch's records to the engines, which step its events; the rest (its invalid
    /// records, counts and positions) waits with it until it is collected.
    fn submit(&mut self, records: Vec<Record>) -> Result<(), DriverError> {
        let mut batch = InFlight {
            first_step: self.steps,
            positions: Vec::with_capacity(records.len()),
            ..InFlight::default()
        };
        let origins = self.lanes.origins();
        for (i, record) in records.iter().enumerate() {
            match record {
                Record::Event(event) => {
                    batch.counts.count_event(event.event_type());
                    let origin = origins.get(i).copied().unwrap_or(Origin {
                        source: 0,
                        index: 0,
                    });
                    batch.positions.push((self.records, origin));
                }
                // The engines skip it; the sink gets this copy when the batch is collected.
                Record::Invalid(invalid) => {
                    batch.counts.count_invalid(invalid.reason.reason.label());
                    batch.invalid.push(invalid.clone());
                }
            }
            self.records += 1;
        }
        self.steps += batch.positions.len() as u64;
        self.engines.submit(records, batch.first_step, None)?;
        self.in_flight.push_back(batch);
        Ok(())
    }

    /// Collects every batch in flight.
    fn collect_all(&mut self, sink: &mut dyn Sink) -> Result<(), DriverError> {
        while !self.in_flight.is_empty() {
            self.collect_oldest(sink)?;
        }
        Ok(())
    }

    /// Pushes the outputs of the oldest batch in flight into the sink, then flushes it.
    fn collect_oldest(&mut self, sink: &mut dyn Sink) -> Result<(), DriverError> {
        let Some(in_flight) = self.in_flight.pop_front() else {
            return Ok(());
        };
        self.counts.add(in_flight.counts);
        for invalid in &in_flight.invalid {
            sink.invalid(invalid).map_err(DriverError::Sink)?;
        }
        for tagged in self.engines.collect()? {
            match tagged {
                Tagged::Alert { key, alert, .. } => {
                    sink.alert(&key, &alert).map_err(DriverError::Sink)?;
                }
                Tagged::Late {
                    step,
                    event,
                    reason,
                } => {
                    self.counts.count_invalid(reason.label());
                    let at = match step
                        .checked_sub(in_flight.first_step)
                        .and_then(|i| in_flight.positions.get(i as usize).copied())
                    {
                        Some((record, origin)) => LatePosition {
                            record,
                            origin: Some(origin),
                        },
                        None => LatePosition {
                            record: self.records,
                            origin: None,
                        },
                    };
                    sink.late(&event, &reason, &at).map_err(DriverError::Sink)?;
                }
            }
        }
        sink.flush().map_err(DriverError::Sink)?;
        sink.counters(&self.counts).map_err(DriverError::Sink)
    }
}
