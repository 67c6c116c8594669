//! The engines of a run: one on the calling thread, or engines on worker threads while the
//! calling thread reads — one engine of every account, or a split of the accounts, each
//! engine fed every event (see `pumpwatch_core::partition`).
//!
//! Work is handed out a batch at a time; a split's workers queue the batches they are given
//! and answer each in turn, so the caller reads on while they run and collects the oldest
//! batch's outputs first. Outputs come back tagged with the
//! position of the event whose step produced them, so the outputs of a split merge into the
//! order one engine gives: by that position, late events before alerts, alerts by firing key.

use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::Arc;
use std::thread::JoinHandle;

use pumpwatch_core::{Engine, EngineConfig, EngineStats, FiringKey, Input, Output, Partition};
use pumpwatch_model::{Alert, Event, InvalidReason};
use pumpwatch_replay::Record;

use crate::DriverError;

/// One output with where it falls in one engine's sequence.
#[derive(Debug)]
pub enum Tagged {
    Alert {
        step: u64,
        key: FiringKey,
        alert: Alert,
    },
    Late {
        step: u64,
        event: Event,
        reason: InvalidReason,
    },
}

impl Tagged {
    /// The merge order: step, then late events before alerts, then firing key and alert id.
    fn order(&self) -> (u64, u8, Option<(FiringKey, &str)>) {
        match self {
            Tagged::Late { step, .. } => (*step, 0, None),
            Tagged::Alert { step, key, alert } => (*step, 1, Some((*key, alert.alert_id.as_str()))),
        }
    }
}

/// What a worker is asked to do.
enum Work {
    /// Step the events of these records (the first has step number `first`; invalid records
    /// are skipped, the driver has them), then the watermark.
    Batch {
        records: Arc<Vec<Record>>,
        first: u64,
        watermark: Option<i64>,
    },
    Flush {
        step: u64,
    },
    Snapshot,
    Stats,
}

/// What a worker answers.
enum Done {
    Outputs(Vec<Tagged>),
    Snapshot(Vec<u8>),
    Stats(Box<EngineStats>),
}

struct Worker {
    work: Sender<Work>,
    done: Receiver<Done>,
    thread: Option<JoinHandle<()>>,
}

/// One engine, or the engines of a split on threads.
pub struct Engines(Inner);

enum Inner {
    One {
        engine: Box<Engine>,
        pending: Vec<Tagged>,
    },
    Split {
        workers: Vec<Worker>,
        /// Batches (and flushes) handed out whose outputs are not collected yet.
        in_flight: usize,
    },
}

impl std::fmt::Debug for Engines {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            Inner::One { .. } => f.write_str("Engines(one)"),
            Inner::Split { workers, .. } => write!(f, "Engines(split into {})", workers.len()),
        }
    }
}

/// Steps `engine` over the events of records it shares with other engines, tagging each
/// output with its step number (events only are numbered).
fn step_all(
    engine: &mut Engine,
    records: &[Record],
    first: u64,
    watermark: Option<i64>,
    tagged: &mut Vec<Tagged>,
) {
    let mut out = Vec::new();
    let mut step = first;
    for record in records {
        if let Record::Event(event) = record {
            engine.step_shared(event, &mut out);
            tag(&mut out, step, tagged);
            step += 1;
        }
    }
    step_watermark(engine, step, watermark, tagged);
}

/// As [`step_all`], for the only engine: the events move into it (the batch the reader
/// made, with no copy into a batch of events first).
fn step_owned(
    engine: &mut Engine,
    records: Vec<Record>,
    first: u64,
    watermark: Option<i64>,
    tagged: &mut Vec<Tagged>,
) {
    let mut out = Vec::new();
    let mut step = first;
    for record in records {
        if let Record::Event(event) = record {
            engine.step(Input::Event(event), &mut out);
            tag(&mut out, step, tagged);
            step += 1;
        }
    }
    step_watermark(engine, step, watermark, tagged);
}

fn step_watermark(
    engine: &mut Engine,
    step: u64,
    watermark: Option<i64>,
    tagged: &mut Vec<Tagged>,
) {
    let mut out = Vec::new();
    if let Some(w) = watermark {
        engine.step(
            Input::Watermark(pumpwatch_model::Timestamp::from_utc_nanos(w)),
            &mut out,
        );
        tag(&mut out, step, tagged);
    }
}

fn tag(out: &mut Vec<Output>, step: u64, tagged: &mut Vec<Tagged>) {
    tagged.extend(out.drain(..).map(|o| match o {
        Output::Alert { alert, key } => Tagged::Alert { step, key, alert },
        Output::Late { event, reason } => Tagged::Late {
            step,
            event,
            reason,
        },
    }));
}

impl Engines {
    /// `engines` are the engines to run, each on a thread of its own when `on_threads` (they
    /// must be the shares of one split), else the one engine on the calling thread.
    pub fn new(mut engines: Vec<Engine>, on_threads: bool) -> Result<Self, DriverError> {
        if engines.len() == 1 && !on_threads {
            let engine = engines.pop().expect("one engine");
            return Ok(Engines(Inner::One {
                engine: Box::new(engine),
                pending: Vec::new(),
            }));
        }
        let workers = engines
            .into_iter()
            .map(|mut engine| {
                let (work_tx, work_rx) = channel::<Work>();
                let (done_tx, done_rx) = channel::<Done>();
                let name = format!("engine-{}", engine.partition());
                let thread = std::thread::Builder::new()
                    .name(name)
                    .spawn(move || {
                        for work in work_rx {
                            let done = match work {
                                Work::Batch {
                                    records,
                                    first,
                                    watermark,
                                } => {
                                    let mut tagged = Vec::new();
                                    // The only engine gets the batch to itself: no copies.
                                    match Arc::try_unwrap(records) {
                                        Ok(records) => step_owned(
                                            &mut engine,
                                            records,
                                            first,
                                            watermark,
                                            &mut tagged,
                                        ),
                                        Err(records) => step_all(
                                            &mut engine,
                                            &records,
                                            first,
                                            watermark,
                                            &mut tagged,
                                        ),
                                    }
                                    Done::Outputs(tagged)
                                }
                                Work::Flush { step } => {
                                    let mut out = Vec::new();
                                    let mut tagged = Vec::new();
                                    engine.step(Input::Flush, &mut out);
                                    tag(&mut out, step, &mut tagged);
                                    Done::Outputs(tagged)
                                }
                                Work::Snapshot => Done::Snapshot(engine.snapshot()),
                                Work::Stats => Done::Stats(Box::new(engine.stats())),
                            };
                            if done_tx.send(done).is_err() {
                                return;
                            }
                        }
                    })
                    .map_err(|e| {
                        DriverError::Engine(format!("cannot start an engine thread: {e}"))
                    })?;
                Ok(Worker {
                    work: work_tx,
                    done: done_rx,
                    thread: Some(thread),
                })
            })
            .collect::<Result<Vec<_>, DriverError>>()?;
        Ok(Engines(Inner::Split {
            workers,
            in_flight: 0,
        }))
    }

    /// The engines for `threads` threads: 1, one engine on the calling thread; more, the
    /// calling thread reads while `threads - 1` engines, each a share of the accounts, run on
    /// threads of their own (2: one engine of every account beside the reader).
    pub fn for_threads(config: &EngineConfig, threads: u32) -> Result<Self, DriverError> {
        let threads = threads.max(1);
        if threads == 1 {
            return Engines::new(shares(config, 1)?, false);
        }
        Engines::new(shares(config, threads - 1)?, true)
    }

    /// Whether this is one engine on the calling thread.
    pub fn is_one(&self) -> bool {
        matches!(self.0, Inner::One { .. })
    }

    /// Hands out a batch of records, whose events the engines step (the invalid ones are the
    /// caller's to report); its outputs are read with [`Engines::collect`].
    pub fn submit(
        &mut self,
        records: Vec<Record>,
        first: u64,
        watermark: Option<i64>,
    ) -> Result<(), DriverError> {
        match &mut self.0 {
            Inner::One { engine, pending } => {
                step_owned(engine, records, first, watermark, pending);
                Ok(())
            }
            Inner::Split { workers, in_flight } => {
                let mut records = Some(Arc::new(records));
                let last = workers.len().saturating_sub(1);
                for (i, worker) in workers.iter().enumerate() {
                    // The last worker takes the caller's handle, so a lone worker holds the
                    // only one and can take the events without copying them.
                    let batch = if i == last {
                        records.take()
                    } else {
                        records.as_ref().map(Arc::clone)
                    };
                    let Some(batch) = batch else { break };
                    worker
                        .work
                        .send(Work::Batch {
                            records: batch,
                            first,
                            watermark,
                        })
                        .map_err(|_| worker_gone())?;
                }
                *in_flight += 1;
                Ok(())
            }
        }
    }

    /// Every engine has reached the end of its input.
    pub fn flush(&mut self, step: u64) -> Result<(), DriverError> {
        match &mut self.0 {
            Inner::One { engine, pending } => {
                let mut out = Vec::new();
                engine.step(Input::Flush, &mut out);
                tag(&mut out, step, pending);
                Ok(())
            }
            Inner::Split { workers, in_flight } => {
                for worker in workers.iter() {
                    worker
                        .work
                        .send(Work::Flush { step })
                        .map_err(|_| worker_gone())?;
                }
                *in_flight += 1;
                Ok(())
            }
        }
    }

    /// The outputs of the oldest batch (or flush) not collected yet, in one engine's order.
    /// One engine has run what it was given already: all of it comes out.
    pub fn collect(&mut self) -> Result<Vec<Tagged>, DriverError> {
        match &mut self.0 {
            Inner::One { pending, .. } => Ok(std::mem::take(pending)),
            Inner::Split { workers, in_flight } => {
                if *in_flight == 0 {
                    return Ok(Vec::new());
                }
                *in_flight -= 1;
                let mut all = Vec::new();
                for worker in workers.iter() {
                    match worker.done.recv().map_err(|_| worker_gone())? {
                        Done::Outputs(tagged) => all.extend(tagged),
                        _ => {
                            return Err(DriverError::Engine(
                                "an engine answered out of turn".into(),
                            ))
                        }
                    }
                }
                // Each worker's outputs are already in order: a stable sort merges them.
                all.sort_by(|a, b| a.order().cmp(&b.order()));
                Ok(all)
            }
        }
    }

    /// A worker answers in turn: a question behind batches in flight would be answered with
    /// their outputs.
    fn nothing_in_flight(&self, what: &str) -> Result<(), DriverError> {
        match &self.0 {
            Inner::Split { in_flight, .. } if *in_flight > 0 => Err(DriverError::Engine(format!(
                "{what} asked of the engines with {in_flight} batches in flight: collect them first"
            ))),
            _ => Ok(()),
        }
    }

    /// Every engine's snapshot, in share order. Call with nothing in flight.
    pub fn snapshots(&mut self) -> Result<Vec<Vec<u8>>, DriverError> {
        self.nothing_in_flight("a snapshot")?;
        match &mut self.0 {
            Inner::One { engine, .. } => Ok(vec![engine.snapshot()]),
            Inner::Split { workers, .. } => ask(workers, || Work::Snapshot)?
                .into_iter()
                .map(|done| match done {
                    Done::Snapshot(bytes) => Ok(bytes),
                    _ => Err(DriverError::Engine("an engine answered out of turn".into())),
                })
                .collect(),
        }
    }

    /// The counters of all engines together (see `Engine::stats` for how a split adds up).
    /// Call with nothing in flight.
    pub fn stats(&mut self) -> Result<EngineStats, DriverError> {
        self.nothing_in_flight("the counters")?;
        let all: Vec<EngineStats> = match &mut self.0 {
            Inner::One { engine, .. } => vec![engine.stats()],
            Inner::Split { workers, .. } => ask(workers, || Work::Stats)?
                .into_iter()
                .map(|done| match done {
                    Done::Stats(stats) => Ok(*stats),
                    _ => Err(DriverError::Engine("an engine answered out of turn".into())),
                })
                .collect::<Result<_, _>>()?,
        };
        Ok(add_up(all))
    }
}

/// The engines of `count` shares of the accounts.
pub fn shares(config: &EngineConfig, count: u32) -> Result<Vec<Engine>, DriverError> {
    (0..count.max(1))
        .map(|index| {
            let partition = Partition::new(index, count.max(1))
                .map_err(|e| DriverError::Engine(e.to_string()))?;
            Engine::for_partition(config.clone(), partition).map_err(DriverError::from)
        })
        .collect()
}

fn ask(workers: &[Worker], work: impl Fn() -> Work) -> Result<Vec<Done>, DriverError> {
    for worker in workers {
        worker.work.send(work()).map_err(|_| worker_gone())?;
    }
    workers
        .iter()
        .map(|worker| worker.done.recv().map_err(|_| worker_gone()))
        .collect()
}

fn worker_gone() -> DriverError {
    DriverError::Engine("an engine thread stopped (it panicked: see above)".into())
}

/// The counters of a split as one engine's: sums, but the maxima and what every engine has.
pub fn add_up(all: Vec<EngineStats>) -> EngineStats {
    let mut iter = all.into_iter();
    let mut total = iter.next().unwrap_or_default();
    for s in iter {
        for (t, v) in total.processed_by_type.iter_mut().zip(s.processed_by_type) {
            *t += v;
        }
        total.late += s.late;
        for (rule, n) in s.alerts_by_rule {
            *total.alerts_by_rule.entry(rule).or_default() += n;
        }
        total.reorder_forced += s.reorder_forced;
        total.reorder_depth_max = total.reorder_depth_max.max(s.reorder_depth_max);
        total.accounts_tracked += s.accounts_tracked;
        total.accounts_evicted += s.accounts_evicted;
        total.symbols_tracked = total.symbols_tracked.max(s.symbols_tracked);
        total.symbols_over_limit += s.symbols_over_limit;
        total.holdings_dropped += s.holdings_dropped;
        total.window_items_dropped += s.window_items_dropped;
        total.buyers_dropped += s.buyers_dropped;
        total.shared_login_keys = total.shared_login_keys.max(s.shared_login_keys);
        total.shared_login_keys_dropped += s.shared_login_keys_dropped;
    }
    total
}

impl Drop for Engines {
    fn drop(&mut self) {
        if let Inner::Split { workers, .. } = &mut self.0 {
            for worker in workers.iter_mut() {
                // Closing the work channel ends the worker's loop.
                let (closed, _) = channel();
                worker.work = closed;
                if let Some(thread) = worker.thread.take() {
                    let _ = thread.join();
                }
            }
        }
    }
}

/// Restores engines from their snapshots, each into the partition its snapshot names.
pub fn restore(config: &EngineConfig, snapshots: &[Vec<u8>]) -> Result<Vec<Engine>, DriverError> {
    snapshots
        .iter()
        .map(|bytes| {
            let header = pumpwatch_core::snapshot::read_header(bytes)
                .map_err(pumpwatch_core::RestoreError::from)?;
            let partition: Partition = header.partition.parse().map_err(
                |e: pumpwatch_core::partition::BadPartition| DriverError::Checkpoint(e.to_string()),
            )?;
            Engine::restore(config.clone(), partition, bytes).map_err(DriverError::from)
        })
        .collect()
}
