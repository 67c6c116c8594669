//! `pumpwatch run`: the input topics' partitions, each a driver source, through the driver and
//! the engines (one per share of the accounts), into the alert and dead-letter topics, with a
//! checkpoint every interval and a restart that goes on from the last one.
//!
//! Every share's engine reads every input partition: its own accounts' events in full, the
//! others' only for what they do to symbol state, as in a split replay (`pumpwatch_core::
//! partition`). The accounts are split into as many shares as the orders topic has partitions.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context as _};
use pumpwatch_core::EngineConfig;
use pumpwatch_driver::{engines, Driver, DriverOptions};
use rdkafka::consumer::{CommitMode, Consumer};
use rdkafka::producer::Producer;
use rdkafka::{Offset, TopicPartitionList};

use crate::checkpoint::{CheckpointDir, LiveCheckpoint, LIVE_CHECKPOINT_FORMAT};
use crate::config::LiveConfig;
use crate::kafka::{self, LiveConsumer, REQUEST_TIMEOUT};
use crate::metrics::{self, Health, LiveMetrics};
use crate::sink::{self, LiveSink};
use crate::source::{
    self, EndMode, Ledger, PartitionSource, SharedFeed, SharedLedger, TopicFeed, TopicPartition,
};

/// Time for a read of an output topic's tail at restart.
const TAIL_READ_TIMEOUT: Duration = Duration::from_secs(120);
/// Time for one partition's end when refreshing the lag gauges.
const LAG_QUERY_TIMEOUT: Duration = Duration::from_millis(500);
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
    /// The checkpoint was of a run that had already consumed its input to the end.
    pub already_finished: bool,
    pub records: u64,
    pub alerts: u64,
    pub alerts_already_produced: u64,
    pub checkpoints: u64,
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
    let consumer = kafka::consumer(&base, &config.kafka.group_id)?;
    let topics = &config.topics;
    let shares = kafka::partition_count(consumer.client(), &topics.orders)? as u32;
    for output in [&topics.alerts, &topics.dead_letter] {
        kafka::partition_count(consumer.client(), output)?;
    }
    let producer = Arc::new(sink::producer(&base, &metrics)?);
    let fresh = engines::shares(engine_config, shares)?;
    let config_version = fresh[0].config_version().to_string();

    let store = CheckpointDir::open(&config.checkpoint.dir)?;
    let restored = store.load()?;
    if let Some(cp) = &restored {
        if cp.config_version != config_version {
            bail!(
                "the checkpoint in {} was written with engine config {}, this run's is {}: \
                 remove it to start over",
                config.checkpoint.dir.display(),
                cp.config_version,
                config_version
            );
        }
        if cp.shares != shares {
            bail!(
                "the checkpoint splits the accounts into {} shares, but {} has {} partitions",
                cp.shares,
                topics.orders,
                shares
            );
        }
        if cp.finished {
            if options.until_end {
                return Ok(RunReport {
                    resumed: true,
                    already_finished: true,
                    ..RunReport::default()
                });
            }
            bail!(
                "the checkpoint in {} is of a run that consumed its input to the end and \
                 flushed its engines: remove it to start a live run",
                config.checkpoint.dir.display()
            );
        }
    }

    // Every input partition, seeked to where the checkpoint left it.
    let checkpointed: BTreeMap<&TopicPartition, i64> = restored
        .iter()
        .flat_map(|cp| cp.inputs.iter().map(|(tp, o)| (tp, *o)))
        .collect();
    let mut inputs: Vec<(pumpwatch_model::EventType, TopicPartition, i64)> = Vec::new();
    for (event_type, topic) in topics.inputs() {
        for partition in 0..kafka::partition_count(consumer.client(), topic)? {
            let tp = TopicPartition {
                topic: topic.to_string(),
                partition,
            };
            let (low, _) = consumer
                .fetch_watermarks(topic, partition, REQUEST_TIMEOUT)
                .with_context(|| format!("cannot read the offsets of {tp}"))?;
            let start = checkpointed.get(&tp).copied().unwrap_or(low).max(low);
            inputs.push((event_type, tp, start));
        }
    }
    // One consumer per input topic, its partitions routed to their sources.
    let end = if options.until_end {
        EndMode::AtEnd
    } else {
        EndMode::Follow
    };
    let idle_timeout = Duration::from_millis(config.stream.idle_timeout_ms);
    let mut feeds: BTreeMap<&str, SharedFeed> = BTreeMap::new();
    for (_, topic) in topics.inputs() {
        let on_topic: Vec<&(pumpwatch_model::EventType, TopicPartition, i64)> = inputs
            .iter()
            .filter(|(_, tp, _)| tp.topic == topic)
            .collect();
        let topic_consumer = kafka::consumer(&base, &config.kafka.group_id)?;
        let mut assignment = TopicPartitionList::new();
        for (_, tp, start) in &on_topic {
            assignment.add_partition_offset(&tp.topic, tp.partition, Offset::Offset(*start))?;
        }
        topic_consumer.assign(&assignment)?;
        feeds.insert(
            topic,
            Arc::new(std::sync::Mutex::new(TopicFeed::new(
                topic_consumer,
                topic,
                on_topic.len(),
                config.stream.partition_buffer_max,
            ))),
        );
    }
    let mut sources: Vec<Box<dyn pumpwatch_replay::Source>> = Vec::new();
    let mut ledgers: Vec<(TopicPartition, SharedLedger)> = Vec::new();
    for (event_type, tp, start) in &inputs {
        let ledger: SharedLedger = Arc::new(std::sync::Mutex::new(Ledger::starting_at(*start)));
        sources.push(Box::new(PartitionSource::new(
            feeds[tp.topic.as_str()].clone(),
            tp.clone(),
            *event_type,
            ledger.clone(),
            end,
            idle_timeout,
        )));
        ledgers.push((tp.clone(), ledger));
    }

    let mut sink = LiveSink::new(
        producer.clone(),
        topics.alerts.clone(),
        topics.dead_letter.clone(),
        ledgers.clone(),
        metrics.clone(),
        restored
            .as_ref()
            .map(|cp| cp.driver.counts.clone())
            .unwrap_or_default(),
    );
    let driver_options = DriverOptions {
        batch_records: config.stream.batch_records,
        threads: if shares > 1 { 2 } else { 1 },
        idle_bound_ms: config.stream.idle_bound_ms,
        read_ahead: false,
        flush_at_end: true,
    };
    let mut driver = match &restored {
        Some(cp) => {
            for (topic, from) in [
                (&topics.alerts, &cp.alerts_end),
                (&topics.dead_letter, &cp.dead_letter_end),
            ] {
                for message in kafka::read_to_end(&base, topic, from, TAIL_READ_TIMEOUT)? {
                    if let Some(key) = message.key {
                        sink.already_produced.insert(key);
                    }
                }
            }
            tracing::info!(
                already = sink.already_produced.len(),
                "restored from the checkpoint"
            );
            let mut driver_checkpoint = cp.driver.clone();
            driver_checkpoint.records_taken = vec![0; sources.len()];
            Driver::resume(engine_config, sources, &driver_options, &driver_checkpoint)?
        }
        None => Driver::from_engines(fresh, sources, &driver_options)?,
    };
    health.ready.store(true, Ordering::Relaxed);

    let context = CheckpointContext {
        store: &store,
        consumer: &consumer,
        admin: producer.client(),
        config,
        config_version: &config_version,
        shares,
        ledgers: &ledgers,
        metrics: &metrics,
    };
    let interval = Duration::from_secs_f64(config.checkpoint.interval_secs);
    let mut report = RunReport {
        resumed: restored.is_some(),
        ..RunReport::default()
    };
    if restored.is_none() {
        // Where the output topics end before this run produces anything: a crash before the
        // first periodic checkpoint must not make the restart produce its alerts again.
        context.write(&mut driver, &mut sink, false)?;
        report.checkpoints += 1;
    }
    let mut last_checkpoint = Instant::now();
    loop {
        health.beat();
        let taken_before: u64 = driver.taken().iter().sum();
        sink.batch_consumed_at = Instant::now();
        let more = driver.step(&mut sink).context("the live run stopped")?;
        let taken = driver.taken();
        for ((_, ledger), &count) in ledgers.iter().zip(&taken) {
            source::lock(ledger).trim(count);
        }
        report.records = taken.iter().sum();
        observe_watermark(&metrics, driver.watermark());
        if !more {
            tracing::info!(records = report.records, "input consumed to its end");
            context.write(&mut driver, &mut sink, true)?;
            report.checkpoints += 1;
            break;
        }
        if last_checkpoint.elapsed() >= interval {
            context.write(&mut driver, &mut sink, false)?;
            report.checkpoints += 1;
            last_checkpoint = Instant::now();
        }
        if report.records == taken_before {
            std::thread::sleep(IDLE_WAIT);
        }
    }
    report.alerts = sink.alerts_produced;
    report.alerts_already_produced = metrics.alerts_already_produced.get();
    Ok(report)
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

/// What writing a checkpoint needs.
struct CheckpointContext<'a> {
    store: &'a CheckpointDir,
    consumer: &'a LiveConsumer,
    /// A client for offset queries that do not wait behind the consumer's fetches.
    admin: &'a rdkafka::client::Client<sink::ProducerCtx>,
    config: &'a LiveConfig,
    config_version: &'a str,
    shares: u32,
    ledgers: &'a [(TopicPartition, SharedLedger)],
    metrics: &'a LiveMetrics,
}

impl CheckpointContext<'_> {
    /// Collects what is in flight, waits for the brokers to acknowledge every output, then
    /// writes the checkpoint and commits the offsets to the group.
    fn write(
        &self,
        driver: &mut Driver,
        sink: &mut LiveSink,
        finished: bool,
    ) -> anyhow::Result<()> {
        let started = Instant::now();
        let driver_checkpoint = driver
            .checkpoint(sink)
            .context("cannot checkpoint the engines")?;
        sink.flush_producer()
            .map_err(|e| anyhow::anyhow!("cannot deliver the outputs: {e}"))?;
        tracing::debug!(
            secs = started.elapsed().as_secs_f64(),
            "outputs acknowledged"
        );
        let topics = &self.config.topics;
        let alerts_end = self.ends_retrying(&topics.alerts);
        let dead_letter_end = self.ends_retrying(&topics.dead_letter);
        tracing::debug!(secs = started.elapsed().as_secs_f64(), "output ends read");
        let taken = driver.taken();
        let inputs: Vec<(TopicPartition, i64)> = self
            .ledgers
            .iter()
            .zip(&taken)
            .map(|((tp, ledger), &count)| (tp.clone(), source::lock(ledger).resume_offset(count)))
            .collect();
        let checkpoint = LiveCheckpoint {
            format: LIVE_CHECKPOINT_FORMAT,
            config_version: self.config_version.to_string(),
            shares: self.shares,
            driver: driver_checkpoint,
            inputs,
            alerts_end,
            dead_letter_end,
            finished,
        };
        let bytes = self.store.store(&checkpoint)?;
        tracing::info!(
            bytes,
            secs = started.elapsed().as_secs_f64(),
            "checkpoint written"
        );
        self.metrics.checkpoints.inc();
        self.metrics.checkpoint_bytes.set(bytes as i64);
        self.metrics
            .checkpoint_seconds
            .observe(started.elapsed().as_secs_f64());
        self.after_checkpoint(&checkpoint, driver);
        Ok(())
    }

    /// The ends of an output topic, asked again until the brokers answer (a broker restart
    /// pauses the run here; it does not end it).
    fn ends_retrying(&self, topic: &str) -> BTreeMap<i32, i64> {
        let mut wait = Duration::from_millis(100);
        loop {
            match kafka::ends(self.admin, topic) {
                Ok(ends) => return ends,
                Err(err) => {
                    tracing::warn!("cannot read where {topic} ends, trying again: {err:#}");
                    std::thread::sleep(wait);
                    wait = (wait * 2).min(Duration::from_secs(5));
                }
            }
        }
    }

    /// The offsets go to the group too (for lag tools), and the lag and state gauges are
    /// refreshed; failures here are reported, never fatal.
    fn after_checkpoint(&self, checkpoint: &LiveCheckpoint, driver: &mut Driver) {
        let mut offsets = TopicPartitionList::new();
        let mut brokers_answer = true;
        for (tp, offset) in &checkpoint.inputs {
            let _ = offsets.add_partition_offset(&tp.topic, tp.partition, Offset::Offset(*offset));
            if !brokers_answer {
                continue;
            }
            match self
                .admin
                .fetch_watermarks(&tp.topic, tp.partition, LAG_QUERY_TIMEOUT)
            {
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
        }
    }
}
