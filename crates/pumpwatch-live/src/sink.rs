//! Where the live pipeline's outputs go: alerts to the alert topic (key = `alert_id`, value =
//! the contract's JSON, the same line `replay` prints, with the firing order in a header) and
//! rejected or late records to the dead-letter topic (value = the original bytes, headers =
//! reason, source topic, partition and offset), through one idempotent producer.
//!
//! Nothing is dropped: a full producer queue blocks the sink (and so consumption) until the
//! brokers take more; a message the brokers refuse for good stops the run before the next
//! checkpoint, so a restart produces it again. What a restart finds already on the topics
//! past its checkpoint (keys in [`LiveSink::already_produced`]) is not produced twice.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use pumpwatch_core::FiringKey;
use pumpwatch_driver::{LatePosition, RunCounts, Sink, SinkError};
use pumpwatch_model::{Alert, Event, EventType, InvalidReason};
use pumpwatch_replay::Quarantined;
use rdkafka::config::ClientConfig;
use rdkafka::error::KafkaError;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{BaseProducer, BaseRecord, DeliveryResult, Producer, ProducerContext};
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::ClientContext;

use crate::feed::{firing_header, FIRING_HEADER};
use crate::metrics::LiveMetrics;
use crate::source::{self, parse_location, SharedLedger, TopicPartition};

/// What a produced message was, for its delivery report.
#[derive(Debug)]
pub struct Delivery {
    alert: bool,
    /// When the batch whose processing produced it was consumed.
    consumed_at: Instant,
}

/// The producer's context: counts deliveries and keeps refusals for the run loop.
pub struct ProducerCtx {
    metrics: LiveMetrics,
    refused: Mutex<Vec<String>>,
}

impl ClientContext for ProducerCtx {}

impl ProducerContext for ProducerCtx {
    type DeliveryOpaque = Box<Delivery>;

    fn delivery(&self, result: &DeliveryResult<'_>, delivery: Box<Delivery>) {
        match result {
            Ok(_) => {
                if delivery.alert {
                    self.metrics
                        .event_to_alert_seconds
                        .observe(delivery.consumed_at.elapsed().as_secs_f64());
                }
            }
            Err((err, message)) => {
                use rdkafka::message::Message;
                let topic = message.topic().to_string();
                self.metrics
                    .produce_errors
                    .with_label_values(&[&topic])
                    .inc();
                self.refused
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push(format!("{topic}: {err}"));
            }
        }
    }
}

pub type LiveProducer = BaseProducer<ProducerCtx>;

/// The idempotent producer of alerts and dead letters.
pub fn producer(base: &ClientConfig, metrics: &LiveMetrics) -> anyhow::Result<LiveProducer> {
    let mut config = base.clone();
    config
        .set("enable.idempotence", "true")
        .set("acks", "all")
        // Retry for as long as it takes: an unavailable topic slows the run, never drops.
        .set("message.timeout.ms", "0")
        .set("linger.ms", "5")
        .set("queue.buffering.max.messages", "100000")
        .set("partitioner", "murmur2_random");
    let context = ProducerCtx {
        metrics: metrics.clone(),
        refused: Mutex::new(Vec::new()),
    };
    Ok(config.create_with_context(context)?)
}

/// The live outputs. See the module documentation.
pub struct LiveSink {
    producer: Arc<LiveProducer>,
    alerts_topic: String,
    dead_letter_topic: String,
    /// Keys (alert ids, dead-letter locations) found on the topics past the checkpoint.
    pub already_produced: HashSet<Vec<u8>>,
    /// Each source's topic-partition and ledger, in source order.
    ledgers: Vec<(TopicPartition, SharedLedger)>,
    metrics: LiveMetrics,
    /// When the batch being processed was consumed.
    pub batch_consumed_at: Instant,
    /// The shares this sink's engines own, of how many: a rejected record goes to the
    /// dead-letter topic from the owner of the share its partition number falls in, so an
    /// instance of a group sends only its part (`None`: every record).
    pub owned: Option<(std::collections::BTreeSet<u32>, u32)>,
    /// Alerts this process produced (not counting those it found already produced).
    pub alerts_produced: u64,
    /// The counters as last exported (the metrics count what this process did).
    exported: RunCounts,
}

impl LiveSink {
    pub fn new(
        producer: Arc<LiveProducer>,
        alerts_topic: String,
        dead_letter_topic: String,
        ledgers: Vec<(TopicPartition, SharedLedger)>,
        metrics: LiveMetrics,
    ) -> Self {
        LiveSink {
            producer,
            alerts_topic,
            dead_letter_topic,
            already_produced: HashSet::new(),
            ledgers,
            metrics,
            batch_consumed_at: Instant::now(),
            alerts_produced: 0,
            owned: None,
            exported: RunCounts::default(),
        }
    }

    /// Sends one message, waiting while the producer's queue is full; `false` when it was
    /// on the topic already (found past the checkpoint).
    fn send(
        &mut self,
        dead_letter: bool,
        key: &[u8],
        value: &[u8],
        headers: OwnedHeaders,
    ) -> Result<bool, SinkError> {
        if self.already_produced.remove(key) {
            if !dead_letter {
                self.metrics.alerts_already_produced.inc();
            }
            return Ok(false);
        }
        let topic = if dead_letter {
            &self.dead_letter_topic
        } else {
            &self.alerts_topic
        };
        let delivery = Box::new(Delivery {
            alert: !dead_letter,
            consumed_at: self.batch_consumed_at,
        });
        let mut record = BaseRecord::with_opaque_to(topic, delivery)
            .key(key)
            .payload(value)
            .headers(headers);
        loop {
            match self.producer.send(record) {
                Ok(()) => return Ok(true),
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                    // Backpressure: wait for the brokers to acknowledge what is queued.
                    record = back;
                    self.producer.poll(Duration::from_millis(50));
                    self.check_refusals()?;
                }
                Err((err, _)) => return Err(format!("cannot produce to {topic}: {err}").into()),
            }
        }
    }

    /// Fails when the brokers refused a message for good.
    fn check_refusals(&self) -> Result<(), SinkError> {
        let refused = self
            .producer
            .context()
            .refused
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        match refused.first() {
            Some(first) => Err(format!(
                "the brokers refused {} message(s), first: {first}",
                refused.len()
            )
            .into()),
            None => Ok(()),
        }
    }

    /// Waits until every message sent is acknowledged (a checkpoint's precondition).
    pub fn flush_producer(&mut self) -> Result<(), SinkError> {
        loop {
            match self.producer.flush(Duration::from_millis(500)) {
                Ok(()) => break,
                Err(KafkaError::Flush(RDKafkaErrorCode::OperationTimedOut)) => {
                    self.check_refusals()?;
                    tracing::info!(
                        waiting = self.producer.in_flight_count(),
                        "waiting for the brokers to acknowledge"
                    );
                }
                Err(err) => return Err(err.into()),
            }
        }
        self.check_refusals()?;
        self.metrics
            .produce_queue
            .set(i64::from(self.producer.in_flight_count()));
        Ok(())
    }

    fn dead_letter(
        &mut self,
        reason: &InvalidReason,
        event_type: Option<EventType>,
        place: Option<(&TopicPartition, i64)>,
        fallback_location: &str,
        value: &[u8],
    ) -> Result<(), SinkError> {
        let key = match place {
            Some((tp, offset)) => source::location(tp, offset),
            None => fallback_location.to_string(),
        };
        let label = reason.label();
        let detail = reason.to_string();
        let mut headers = OwnedHeaders::new()
            .insert(header("pumpwatch.reason", label.as_bytes()))
            .insert(header("pumpwatch.detail", detail.as_bytes()));
        if let Some(t) = event_type {
            headers = headers.insert(header("pumpwatch.type", t.as_str().as_bytes()));
        }
        if let Some((tp, offset)) = place {
            headers = headers
                .insert(header("pumpwatch.source.topic", tp.topic.as_bytes()))
                .insert(header(
                    "pumpwatch.source.partition",
                    tp.partition.to_string().as_bytes(),
                ))
                .insert(header(
                    "pumpwatch.source.offset",
                    offset.to_string().as_bytes(),
                ));
        }
        self.metrics.dead_letters.inc();
        self.send(true, key.as_bytes(), value, headers).map(drop)
    }
}

fn header<'a>(key: &'a str, value: &'a [u8]) -> Header<'a, &'a [u8]> {
    Header {
        key,
        value: Some(value),
    }
}

impl Sink for LiveSink {
    fn alert(&mut self, key: &FiringKey, alert: &Alert) -> Result<(), SinkError> {
        let line = alert.to_json_line();
        let firing = firing_header(key);
        let headers = OwnedHeaders::new().insert(header(FIRING_HEADER, firing.as_bytes()));
        if self.send(false, alert.alert_id.as_bytes(), line.as_bytes(), headers)? {
            self.alerts_produced += 1;
            self.metrics
                .alerts
                .with_label_values(&[&alert.rule, alert.severity.as_str()])
                .inc();
        }
        Ok(())
    }

    fn invalid(&mut self, record: &Quarantined) -> Result<(), SinkError> {
        let place = parse_location(&record.location);
        if let Some((owned, shares)) = &self.owned {
            let share = place
                .as_ref()
                .map_or(0, |(tp, _)| tp.partition.unsigned_abs() % shares.max(&1));
            if !owned.contains(&share) {
                return Ok(());
            }
        }
        let original = place.as_ref().and_then(|(tp, offset)| {
            let (_, ledger) = self.ledgers.iter().find(|(t, _)| t == tp)?;
            source::lock(ledger).bytes_at(*offset).map(<[u8]>::to_vec)
        });
        let value = original.unwrap_or_else(|| record.original.clone().into_bytes());
        self.dead_letter(
            &record.reason.reason,
            record.reason.event_type,
            place.as_ref().map(|(tp, offset)| (tp, *offset)),
            &record.location,
            &value,
        )
    }

    fn late(
        &mut self,
        event: &Event,
        reason: &InvalidReason,
        at: &LatePosition,
    ) -> Result<(), SinkError> {
        self.metrics.late.inc();
        let found = at.origin.and_then(|origin| {
            let (tp, ledger) = self.ledgers.get(origin.source as usize)?;
            let ledger = source::lock(ledger);
            let (offset, bytes) = ledger.get(origin.index)?;
            Some((tp.clone(), offset, bytes.to_vec()))
        });
        match found {
            Some((tp, offset, bytes)) => self.dead_letter(
                reason,
                Some(event.event_type()),
                Some((&tp, offset)),
                "",
                &bytes,
            ),
            None => self.dead_letter(
                reason,
                Some(event.event_type()),
                None,
                &format!("record {}", at.record),
                event.to_json_line().as_bytes(),
            ),
        }
    }

    fn flush(&mut self) -> Result<(), SinkError> {
        self.producer.poll(Duration::ZERO);
        self.metrics
            .produce_queue
            .set(i64::from(self.producer.in_flight_count()));
        self.check_refusals()
    }

    fn counters(&mut self, counts: &RunCounts) -> Result<(), SinkError> {
        for t in EventType::ALL {
            let i = t.index();
            let delta = counts.read_by_type[i].saturating_sub(self.exported.read_by_type[i]);
            if delta > 0 {
                self.metrics
                    .events_in
                    .with_label_values(&[t.as_str()])
                    .inc_by(delta);
            }
        }
        for (label, &count) in &counts.invalid_by_label {
            let before = self
                .exported
                .invalid_by_label
                .get(label)
                .copied()
                .unwrap_or(0);
            if count > before {
                self.metrics
                    .invalid
                    .with_label_values(&[label])
                    .inc_by(count - before);
            }
        }
        self.exported = counts.clone();
        Ok(())
    }
}
