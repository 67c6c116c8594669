//! `pumpwatch run`: the input topics' partitions, each a driver source, through the driver and
//! the engines of the shares this instance owns, into the alert and dead-letter topics, with
//! a checkpoint per share every interval.
//!
//! The accounts are split into as many shares as the orders topic has partitions; the
//! consumer group gives each instance some of them ([`crate::membership`]). Every share's
//! engine reads every input partition: its own accounts' events in full, the others' only
//! for what they do to symbol state, as in a split replay (`pumpwatch_core::partition`).
//!
//! Each assignment starts a generation: load the owned shares' checkpoints; bring every share
//! whose checkpoint is behind up to the furthest one (a catch-up run over exactly the records
//! between, producing only what is not on the output topics already); then run all of them
//! from there. When the group takes the shares back, they are checkpointed first.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context as _};
use pumpwatch_core::{Engine, EngineConfig, Partition};
use pumpwatch_driver::{Driver, DriverOptions};
use pumpwatch_model::EventType;
use rdkafka::client::Client;
use rdkafka::consumer::{CommitMode, Consumer};
use rdkafka::producer::Producer;
use rdkafka::{ClientConfig, Offset, TopicPartitionList};

use crate::checkpoint::{CheckpointStore, LiveCheckpoint, LIVE_CHECKPOINT_FORMAT};
use crate::config::LiveConfig;
use crate::kafka::{self, LiveConsumer};
use crate::membership::Membership;
use crate::metrics::{self, Health, LiveMetrics};
use crate::sink::{self, LiveProducer, LiveSink, ProducerCtx};
use crate::source::{self, EndMode, SharedLedger, TopicPartition};

/// Time for a read of an output topic's tail at restart.
const TAIL_READ_TIMEOUT: Duration = Duration::from_secs(120);
/// Time for one partition's end when refreshing the lag gauges.
const LAG_QUERY_TIMEOUT: Duration = Duration::from_millis(500);
/// How long an instance whose shares are done waits for the others' before it makes the
/// group look again (a dead instance's shares move).
const STANDBY_REJOIN: Duration = Duration::from_secs(15);
/// How long the loop waits for input when a batch brought nothing.
const IDLE_WAIT: Duration = Duration::from_millis(20);

/// How a run goes.
#[derive(Clone, Debug, Default)]
pub struct RunOptions {
    /// Stop once every input partition is consumed to its end, flushing the engines as a
    /// replay does at the end of its input (demos, tests, catching up on a closed day).
    pub until_end: bool,
}

/// What a run did.
#[derive(Clone, Debug, Default)]
pub struct RunReport {
    /// It went on from a checkpoint.
    pub resumed: bool,
    /// Every share it was given had already consumed its input to the end.
    pub already_finished: bool,
    pub records: u64,
    pub alerts: u64,
    pub alerts_already_produced: u64,
    pub checkpoints: u64,
    /// Assignments the group gave this instance.
    pub generations: u64,
}

/// What every generation of a run shares.
struct Run<'a> {
    config: &'a LiveConfig,
    engine_config: &'a EngineConfig,
    options: &'a RunOptions,
    base: ClientConfig,
    metrics: LiveMetrics,
    health: Arc<Health>,
    /// Metadata, offsets and group commits (it fetches nothing).
    consumer: Arc<LiveConsumer>,
    producer: Arc<LiveProducer>,
    store: CheckpointStore,
    shares: u32,
    config_version: String,
    report: RunReport,
}

/// How a generation ended.
enum Outcome {
    /// Every owned share consumed its input to the end (`--until-end`).
    Finished,
    /// The group took the shares back; they are checkpointed.
    Released,
    /// Shares owned elsewhere stopped moving (their instance died and the group kept it):
    /// this instance's shares are checkpointed; it joins the group again.
    Rejoin,
}

/// Runs the live pipeline. See the module documentation.
pub fn run(
    config: &LiveConfig,
    engine_config: &EngineConfig,
    options: &RunOptions,
) -> anyhow::Result<RunReport> {
    let metrics = LiveMetrics::new();
    let health = Arc::new(Health::default());
    health.beat();
    if !config.metrics.listen.is_empty() {
        let addr = metrics::serve(
            config.metrics.listen.parse()?,
            metrics.clone(),
            health.clone(),
        )
        .with_context(|| format!("cannot serve metrics on {}", config.metrics.listen))?;
        eprintln!("pumpwatch: metrics on http://{addr}/metrics");
    }
    let base = kafka::client_config(
        &config.kafka.brokers,
        &config.kafka.client_id,
        &config.kafka.properties,
    );
    let consumer = kafka::consumer(
        &base,
        &config.kafka.group_id,
        config.stream.fetch_wait_max_ms,
    )?;
    let topics = &config.topics;
    let shares = kafka::partition_count(consumer.client(), &topics.orders)? as u32;
    for output in [&topics.alerts, &topics.dead_letter] {
        kafka::partition_count(consumer.client(), output)?;
    }
    let producer = Arc::new(sink::producer(&base, &metrics)?);
    let config_version = Engine::new(engine_config.clone())?
        .config_version()
        .to_string();
    let membership = Membership::join(&base, &config.kafka.group_id, &topics.orders)?;
    let mut run = Run {
        config,
        engine_config,
        options,
        base,
        metrics,
        health,
        consumer,
        producer,
        store: CheckpointStore::open(&config.checkpoint)?,
        shares,
        config_version,
        report: RunReport::default(),
    };
    // After its shares finish (`--until-end`), an instance stays in the group until every
    // share has: the shares of an instance that died move to it.
    let mut standing_by: Option<Instant> = None;
    let mut waiting: Option<Instant> = None;
    let mut idle_member: Option<Instant> = None;
    loop {
        run.health.beat();
        membership.poll(IDLE_WAIT);
        if membership.revoking() {
            membership.release();
            standing_by = None;
            continue;
        }
        if let Some(since) = standing_by {
            if run.all_finished()? {
                break;
            }
            if since.elapsed() >= STANDBY_REJOIN && run.others_stalled(&BTreeSet::new()) {
                // The shares still running may belong to an instance that died: make the
                // group look again.
                tracing::info!("other shares are not finishing; joining the group again");
                membership.rejoin()?;
                standing_by = None;
            }
            continue;
        }
        let Some(owned) = membership.assignment() else {
            // The test broker can wait for members that died before the group formed: after
            // a while without an answer, join again.
            let since = *waiting.get_or_insert_with(Instant::now);
            if since.elapsed() >= STANDBY_REJOIN {
                tracing::info!("no assignment yet; joining the group again");
                membership.rejoin()?;
                waiting = None;
            }
            continue;
        };
        waiting = None;
        if owned.is_empty() {
            // More instances than shares: this one stands by, unless the shares stopped
            // moving (their owners died and the group kept them).
            let since = *idle_member.get_or_insert_with(Instant::now);
            if since.elapsed() >= STANDBY_REJOIN && run.others_stalled(&owned) {
                tracing::info!("no shares here and the others' stopped moving; joining again");
                membership.rejoin()?;
                idle_member = None;
            }
            continue;
        }
        idle_member = None;
        run.report.generations += 1;
        match run.generation(&owned, &membership)? {
            Outcome::Finished if run.all_finished()? => break,
            Outcome::Finished => {
                tracing::info!("this instance's shares are done; waiting for the others'");
                standing_by = Some(Instant::now());
            }
            Outcome::Released => membership.release(),
            Outcome::Rejoin => {
                tracing::info!("other shares stopped moving; joining the group again");
                membership.release();
                membership.rejoin()?;
            }
        }
    }
    run.health.ready.store(false, Ordering::Relaxed);
    Ok(run.report)
}

/// A share's starting point in a generation.
struct ShareStart {
    share: u32,
    engine: Vec<u8>,
    offsets: BTreeMap<TopicPartition, i64>,
}

impl Run<'_> {
    /// A share this instance does not own, not finished, has had no checkpoint for longer
    /// than [`STANDBY_REJOIN`] (its owner writes one every interval).
    fn others_stalled(&self, owned: &BTreeSet<u32>) -> bool {
        let limit = STANDBY_REJOIN.max(Duration::from_secs_f64(
            3.0 * self.config.checkpoint.interval_secs,
        ));
        (0..self.shares)
            .filter(|s| !owned.contains(s))
            .any(|share| {
                let finished =
                    matches!(self.store.load(share, self.shares), Ok(Some(cp)) if cp.finished);
                !finished
                    && self
                        .store
                        .age(share, self.shares)
                        .is_none_or(|age| age > limit)
            })
    }

    /// Every share has consumed its input to the end.
    fn all_finished(&self) -> anyhow::Result<bool> {
        for share in 0..self.shares {
            match self.store.load(share, self.shares)? {
                Some(cp) if cp.finished => {}
                _ => return Ok(false),
            }
        }
        Ok(true)
    }

    /// Runs the owned shares until they finish or the group takes them back.
    fn generation(
        &mut self,
        owned: &BTreeSet<u32>,
        membership: &Membership,
    ) -> anyhow::Result<Outcome> {
        let inputs = crate::inputs::input_partitions(self.config, self.producer.client())?;
        let mut starts = Vec::new();
        let mut alerts_from: BTreeMap<i32, i64> = BTreeMap::new();
        let mut dead_letter_from: BTreeMap<i32, i64> = BTreeMap::new();
        let mut finished = 0;
        for &share in owned {
            match self.store.load(share, self.shares)? {
                Some(cp) => {
                    self.check(&cp)?;
                    self.report.resumed = true;
                    if cp.finished {
                        finished += 1;
                        continue;
                    }
                    merge_min(&mut alerts_from, &cp.alerts_end);
                    merge_min(&mut dead_letter_from, &cp.dead_letter_end);
                    starts.push(ShareStart {
                        share,
                        engine: cp.engine,
                        offsets: cp.inputs.into_iter().collect(),
                    });
                }
                None => {
                    let mut engine = Engine::for_partition(
                        self.engine_config.clone(),
                        Partition::new(share, self.shares)?,
                    )?;
                    starts.push(ShareStart {
                        share,
                        engine: engine.snapshot(),
                        offsets: inputs
                            .iter()
                            .map(|(_, tp, low)| (tp.clone(), *low))
                            .collect(),
                    });
                }
            }
        }
        if finished > 0 && !self.options.until_end {
            bail!(
                "the checkpoints in {} are of a run that consumed its input to the end and \
                 flushed its engines: remove them to start a live run",
                self.config.checkpoint.location()
            );
        }
        if starts.is_empty() {
            self.report.already_finished = true;
            return Ok(Outcome::Finished);
        }
        // What is on the output topics past the oldest checkpoint: not produced again.
        let mut already = HashSet::new();
        let topics = &self.config.topics;
        for (topic, from) in [
            (&topics.alerts, &alerts_from),
            (&topics.dead_letter, &dead_letter_from),
        ] {
            if from.is_empty() {
                continue;
            }
            for message in kafka::read_to_end(&self.base, topic, from, TAIL_READ_TIMEOUT)? {
                if let Some(key) = message.key {
                    already.insert(key);
                }
            }
        }
        tracing::info!(shares = ?owned, found = already.len(), "generation starts");

        // Bring every share up to the furthest one.
        let mut target: BTreeMap<TopicPartition, i64> = BTreeMap::new();
        for start in &starts {
            for (tp, &offset) in &start.offsets {
                let t = target.entry(tp.clone()).or_insert(offset);
                *t = (*t).max(offset);
            }
        }
        let mut cohorts: BTreeMap<Vec<i64>, Vec<usize>> = BTreeMap::new();
        for (i, start) in starts.iter().enumerate() {
            let key = target
                .keys()
                .map(|tp| start.offsets.get(tp).copied().unwrap_or(0))
                .collect();
            cohorts.entry(key).or_default().push(i);
        }
        for members in cohorts.values() {
            let offsets = &starts[members[0]].offsets;
            if target.iter().all(|(tp, t)| offsets.get(tp) == Some(t)) {
                continue;
            }
            let engines: Vec<Vec<u8>> = members.iter().map(|&i| starts[i].engine.clone()).collect();
            let shares: BTreeSet<u32> = members.iter().map(|&i| starts[i].share).collect();
            tracing::info!(?shares, "catching up to the other shares");
            let caught_up = self.catch_up(
                &inputs,
                offsets,
                &target,
                engines,
                &shares,
                &mut already,
                membership,
            )?;
            for (&i, engine) in members.iter().zip(caught_up) {
                starts[i].engine = engine;
                starts[i].offsets = target.clone();
            }
        }

        // All shares from the target on.
        let active: BTreeSet<u32> = starts.iter().map(|s| s.share).collect();
        let engines = starts.into_iter().map(|s| s.engine).collect();
        let end = if self.options.until_end {
            EndMode::AtEnd
        } else {
            EndMode::Follow
        };
        let (sources, ledgers) =
            crate::inputs::sources(self.config, &self.base, &inputs, &target, None, end)?;
        let mut sink = self.sink(&ledgers, &active, already);
        let mut driver = self.driver(sources, engines, true)?;
        self.write_checkpoints(&mut driver, &mut sink, &ledgers, &active, false)?;
        self.health.ready.store(true, Ordering::Relaxed);
        let interval = Duration::from_secs_f64(self.config.checkpoint.interval_secs);
        let mut last_checkpoint = Instant::now();
        let mut last_look = Instant::now();
        let started = Instant::now();
        let mut records: u64 = 0;
        let outcome = loop {
            self.health.beat();
            membership.poll(Duration::ZERO);
            if membership.revoking() {
                self.write_checkpoints(&mut driver, &mut sink, &ledgers, &active, false)?;
                break Outcome::Released;
            }
            sink.batch_consumed_at = Instant::now();
            let more = driver.step(&mut sink).context("the live run stopped")?;
            let taken = driver.taken();
            for ((_, ledger), &count) in ledgers.iter().zip(&taken) {
                source::lock(ledger).trim(count);
            }
            let now: u64 = taken.iter().sum();
            observe_watermark(&self.metrics, driver.watermark());
            if !more {
                tracing::info!(records = now, "input consumed to its end");
                self.write_checkpoints(&mut driver, &mut sink, &ledgers, &active, true)?;
                break Outcome::Finished;
            }
            if last_checkpoint.elapsed() >= interval {
                self.write_checkpoints(&mut driver, &mut sink, &ledgers, &active, false)?;
                last_checkpoint = Instant::now();
            }
            if last_look.elapsed() >= STANDBY_REJOIN / 3 {
                last_look = Instant::now();
                if started.elapsed() >= STANDBY_REJOIN && self.others_stalled(owned) {
                    self.write_checkpoints(&mut driver, &mut sink, &ledgers, &active, false)?;
                    break Outcome::Rejoin;
                }
            }
            if now == records {
                std::thread::sleep(IDLE_WAIT);
            }
            records = now;
        };
        self.health.ready.store(false, Ordering::Relaxed);
        self.report.records += records;
        self.report.alerts += sink.alerts_produced;
        self.report.alerts_already_produced = self.metrics.alerts_already_produced.get();
        Ok(outcome)
    }

    /// Runs the engines of `shares` (snapshots at `from`) over exactly the records between
    /// `from` and `to`; returns their snapshots at `to`.
    #[allow(clippy::too_many_arguments)] // each is one thing the catch-up reads or updates
    fn catch_up(
        &mut self,
        inputs: &[(EventType, TopicPartition, i64)],
        from: &BTreeMap<TopicPartition, i64>,
        to: &BTreeMap<TopicPartition, i64>,
        engines: Vec<Vec<u8>>,
        shares: &BTreeSet<u32>,
        already: &mut HashSet<Vec<u8>>,
        membership: &Membership,
    ) -> anyhow::Result<Vec<Vec<u8>>> {
        let (sources, ledgers) = crate::inputs::sources(
            self.config,
            &self.base,
            inputs,
            from,
            Some(to),
            EndMode::Follow,
        )?;
        let mut sink = self.sink(&ledgers, shares, std::mem::take(already));
        let mut driver = self.driver(sources, engines, false)?;
        while driver.step(&mut sink).context("the catch-up stopped")? {
            self.health.beat();
            membership.poll(Duration::ZERO);
            let taken = driver.taken();
            for ((_, ledger), &count) in ledgers.iter().zip(&taken) {
                source::lock(ledger).trim(count);
            }
        }
        let checkpoint = driver
            .checkpoint(&mut sink)
            .context("cannot snapshot the catch-up")?;
        sink.flush_producer()
            .map_err(|e| anyhow::anyhow!("cannot deliver the outputs: {e}"))?;
        self.report.alerts += sink.alerts_produced;
        *already = std::mem::take(&mut sink.already_produced);
        Ok(checkpoint.engines)
    }

    fn sink(
        &self,
        ledgers: &[(TopicPartition, SharedLedger)],
        owned: &BTreeSet<u32>,
        already: HashSet<Vec<u8>>,
    ) -> LiveSink {
        let mut sink = LiveSink::new(
            self.producer.clone(),
            self.config.topics.alerts.clone(),
            self.config.topics.dead_letter.clone(),
            ledgers.to_vec(),
            self.metrics.clone(),
        );
        sink.owned = Some((owned.clone(), self.shares));
        sink.already_produced = already;
        sink
    }

    fn driver(
        &self,
        sources: Vec<Box<dyn pumpwatch_replay::Source>>,
        engines: Vec<Vec<u8>>,
        flush_at_end: bool,
    ) -> anyhow::Result<Driver> {
        let options = DriverOptions {
            batch_records: self.config.stream.batch_records,
            threads: if engines.len() > 1 { 2 } else { 1 },
            idle_bound_ms: self.config.stream.idle_bound_ms,
            read_ahead: false,
            flush_at_end,
        };
        let checkpoint = pumpwatch_driver::Checkpoint {
            format: pumpwatch_driver::checkpoint::CHECKPOINT_FORMAT,
            records_taken: vec![0; sources.len()],
            records_stepped: 0,
            counts: Default::default(),
            engines,
        };
        Ok(Driver::resume(
            self.engine_config,
            sources,
            &options,
            &checkpoint,
        )?)
    }

    fn check(&self, cp: &LiveCheckpoint) -> anyhow::Result<()> {
        if cp.config_version != self.config_version {
            bail!(
                "the checkpoints in {} were written with engine config {}, this run's is {}: \
                 remove them to start over",
                self.config.checkpoint.location(),
                cp.config_version,
                self.config_version
            );
        }
        Ok(())
    }

    /// Collects what is in flight, waits for the brokers to acknowledge every output, then
    /// writes each share's checkpoint and commits the offsets to the group.
    fn write_checkpoints(
        &mut self,
        driver: &mut Driver,
        sink: &mut LiveSink,
        ledgers: &[(TopicPartition, SharedLedger)],
        shares: &BTreeSet<u32>,
        finished: bool,
    ) -> anyhow::Result<()> {
        let started = Instant::now();
        let driver_checkpoint = driver
            .checkpoint(sink)
            .context("cannot checkpoint the engines")?;
        sink.flush_producer()
            .map_err(|e| anyhow::anyhow!("cannot deliver the outputs: {e}"))?;
        let topics = &self.config.topics;
        let admin = self.producer.client();
        let alerts_end = ends_retrying(admin, &topics.alerts);
        let dead_letter_end = ends_retrying(admin, &topics.dead_letter);
        let taken = driver.taken();
        let inputs: Vec<(TopicPartition, i64)> = ledgers
            .iter()
            .zip(&taken)
            .map(|((tp, ledger), &count)| (tp.clone(), source::lock(ledger).resume_offset(count)))
            .collect();
        let mut bytes = 0;
        for (&share, engine) in shares.iter().zip(driver_checkpoint.engines) {
            bytes += self.store.store(&LiveCheckpoint {
                format: LIVE_CHECKPOINT_FORMAT,
                config_version: self.config_version.clone(),
                shares: self.shares,
                share,
                engine,
                inputs: inputs.clone(),
                alerts_end: alerts_end.clone(),
                dead_letter_end: dead_letter_end.clone(),
                finished,
            })?;
        }
        tracing::debug!(
            bytes,
            secs = started.elapsed().as_secs_f64(),
            "checkpoints written"
        );
        self.report.checkpoints += 1;
        self.metrics.checkpoints.inc();
        self.metrics.checkpoint_bytes.set(bytes as i64);
        self.metrics.last_checkpoint_timestamp_seconds.set(
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_secs_f64())
                .unwrap_or_default(),
        );
        self.metrics
            .checkpoint_seconds
            .observe(started.elapsed().as_secs_f64());
        self.after_checkpoint(&inputs, driver);
        Ok(())
    }

    /// The offsets go to the group too (for lag tools), and the lag and state gauges are
    /// refreshed; failures here are reported, never fatal.
    fn after_checkpoint(&self, inputs: &[(TopicPartition, i64)], driver: &mut Driver) {
        let mut offsets = TopicPartitionList::new();
        let mut brokers_answer = true;
        for (tp, offset) in inputs {
            let _ = offsets.add_partition_offset(&tp.topic, tp.partition, Offset::Offset(*offset));
            if !brokers_answer {
                continue;
            }
            match self.producer.client().fetch_watermarks(
                &tp.topic,
                tp.partition,
                LAG_QUERY_TIMEOUT,
            ) {
                Ok((_, high)) => self
                    .metrics
                    .consumer_lag
                    .with_label_values(&[&tp.topic, &tp.partition.to_string()])
                    .set(high - offset),
                // Unreachable brokers: the lag waits for the next checkpoint.
                Err(_) => brokers_answer = false,
            }
        }
        if let Err(err) = self.consumer.commit(&offsets, CommitMode::Async) {
            tracing::warn!("cannot commit offsets to the group: {err}");
        }
        if let Ok(stats) = driver.engine_stats() {
            let state = &self.metrics.state;
            state
                .with_label_values(&["accounts"])
                .set(stats.accounts_tracked as i64);
            state
                .with_label_values(&["symbols"])
                .set(stats.symbols_tracked as i64);
            state
                .with_label_values(&["reorder_depth_max"])
                .set(stats.reorder_depth_max as i64);
            state
                .with_label_values(&["shared_login_keys"])
                .set(stats.shared_login_keys as i64);
            for l in stats.limit_hits() {
                self.metrics
                    .limit_hits
                    .with_label_values(&[l.limit])
                    .set(i64::try_from(l.hits).unwrap_or(i64::MAX));
            }
        }
    }
}

/// Keeps the smaller offset per partition.
fn merge_min(into: &mut BTreeMap<i32, i64>, from: &BTreeMap<i32, i64>) {
    for (&p, &o) in from {
        let e = into.entry(p).or_insert(o);
        *e = (*e).min(o);
    }
}

/// The ends of an output topic, asked again until the brokers answer (a broker restart
/// pauses the run here; it does not end it).
fn ends_retrying(admin: &Client<ProducerCtx>, topic: &str) -> BTreeMap<i32, i64> {
    let mut wait = Duration::from_millis(100);
    loop {
        match kafka::ends(admin, topic) {
            Ok(ends) => return ends,
            Err(err) => {
                tracing::warn!("cannot read where {topic} ends, trying again: {err:#}");
                std::thread::sleep(wait);
                wait = (wait * 2).min(Duration::from_secs(5));
            }
        }
    }
}

fn observe_watermark(metrics: &LiveMetrics, watermark: i64) {
    if watermark == i64::MIN || watermark == i64::MAX {
        return;
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as i64)
        .unwrap_or_default();
    metrics
        .watermark_delay_seconds
        .set((now - watermark) as f64 / 1e9);
}
