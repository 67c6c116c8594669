//! `pumpwatch publish`: a day (any replay input) onto the contract's topics, as a broker's
//! systems would send it: one topic per type, key = `account_id` (or `symbol` for instruments
//! and trades), Kafka's default key partitioning (murmur2), an idempotent producer, in the
//! input's merged order, optionally at a set rate.
//!
//! Valid events go out as contract JSON lines. Records the reader rejected go out as they were
//! written to the topic of the type they claim (so the live run dead-letters them as replay
//! quarantines them); those that claim no type cannot be routed and are counted.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use anyhow::bail;
use pumpwatch_replay::{Record, Source};
use rdkafka::config::ClientConfig;
use rdkafka::error::KafkaError;
use rdkafka::producer::{BaseProducer, BaseRecord, DeliveryResult, Producer, ProducerContext};
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::ClientContext;

use crate::config::Topics;

/// Counts refusals.
#[derive(Default)]
struct PublishCtx {
    refused: AtomicU64,
    first: Mutex<Option<String>>,
}

impl ClientContext for PublishCtx {}

impl ProducerContext for PublishCtx {
    type DeliveryOpaque = ();

    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        if let Err((err, _)) = result {
            self.refused.fetch_add(1, Ordering::Relaxed);
            self.first
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .get_or_insert_with(|| err.to_string());
        }
    }
}

/// What was published.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PublishReport {
    pub events: u64,
    /// Rejected records sent to their type's topic as written.
    pub invalid_published: u64,
    /// Rejected records that claim no type: not sent.
    pub invalid_unroutable: u64,
}

/// Publishes every record of `source`. `rate`: events per second at most.
pub fn publish(
    base: &ClientConfig,
    topics: &Topics,
    mut source: Box<dyn Source>,
    rate: Option<f64>,
) -> anyhow::Result<PublishReport> {
    let mut config = base.clone();
    config
        .set("enable.idempotence", "true")
        .set("acks", "all")
        .set("linger.ms", "10")
        .set("partitioner", "murmur2_random")
        .set("queue.buffering.max.messages", "200000");
    let producer: BaseProducer<PublishCtx> = config.create_with_context(PublishCtx::default())?;
    let started = Instant::now();
    let mut report = PublishReport::default();
    let mut batch = Vec::new();
    let mut sent: u64 = 0;
    loop {
        let more = source.next_batch(&mut batch, 4_096)?;
        for record in batch.drain(..) {
            let (topic, key, value) = match &record {
                Record::Event(event) => {
                    report.events += 1;
                    (
                        topics.for_type(event.event_type()),
                        event.partition_key().to_string(),
                        event.to_json_line().into_bytes(),
                    )
                }
                Record::Invalid(bad) => match bad.reason.event_type {
                    Some(t) => {
                        report.invalid_published += 1;
                        (
                            topics.for_type(t),
                            String::new(),
                            bad.original.clone().into_bytes(),
                        )
                    }
                    None => {
                        report.invalid_unroutable += 1;
                        continue;
                    }
                },
            };
            let mut message = BaseRecord::to(topic).payload(&value);
            if !key.is_empty() {
                message = message.key(&key);
            }
            loop {
                match producer.send(message) {
                    Ok(()) => break,
                    Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                        message = back;
                        producer.poll(Duration::from_millis(20));
                    }
                    Err((err, _)) => bail!("cannot publish to {topic}: {err}"),
                }
            }
            sent += 1;
            if let Some(rate) = rate {
                let due = Duration::from_secs_f64(sent as f64 / rate);
                let elapsed = started.elapsed();
                if due > elapsed {
                    producer.poll(due - elapsed);
                    std::thread::sleep(due.saturating_sub(started.elapsed()));
                }
            }
        }
        producer.poll(Duration::ZERO);
        if !more {
            break;
        }
    }
    producer.flush(Duration::from_secs(120))?;
    let context = producer.context();
    let refused = context.refused.load(Ordering::Relaxed);
    if refused > 0 {
        let first = context
            .first
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
            .unwrap_or_default();
        bail!("the brokers refused {refused} message(s), first: {first}");
    }
    Ok(report)
}
