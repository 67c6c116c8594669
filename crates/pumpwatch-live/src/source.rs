//! One Kafka topic-partition as a driver source: messages decoded into events (or quarantined
//! records naming their topic, partition and offset), with a ledger of what was handed out so
//! that a checkpoint knows the offset to go on from and a dead letter can carry the original
//! bytes.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use pumpwatch_model::{decode_json_line, EventType};
use pumpwatch_replay::{Progress, Quarantined, Record, ReplayError, Source, SourceInfo};
use rdkafka::consumer::Consumer;
use rdkafka::error::KafkaError;
use rdkafka::message::Message;
use rdkafka::TopicPartitionList;

use crate::kafka::LiveConsumer;

/// A topic-partition.
#[derive(
    Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct TopicPartition {
    pub topic: String,
    pub partition: i32,
}

impl std::fmt::Display for TopicPartition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.topic, self.partition)
    }
}

/// Where a message was read, as a quarantined record's location: `kafka:TOPIC/PARTITION@OFFSET`.
pub fn location(tp: &TopicPartition, offset: i64) -> String {
    format!("kafka:{}/{}@{offset}", tp.topic, tp.partition)
}

/// The topic-partition and offset of a [`location`].
pub fn parse_location(text: &str) -> Option<(TopicPartition, i64)> {
    let rest = text.strip_prefix("kafka:")?;
    let (tp, offset) = rest.rsplit_once('@')?;
    let (topic, partition) = tp.rsplit_once('/')?;
    Some((
        TopicPartition {
            topic: topic.to_string(),
            partition: partition.parse().ok()?,
        },
        offset.parse().ok()?,
    ))
}

/// What a partition source handed out and the merge has not yet passed on for good: the
/// offset and bytes of each record, from the `base`-th record of the source on.
#[derive(Debug, Default)]
pub struct Ledger {
    /// The source-order index of `entries[0]`.
    base: u64,
    entries: VecDeque<(i64, Vec<u8>)>,
    /// The offset after the last message handed out; the start offset before the first.
    next_offset: i64,
}

impl Ledger {
    pub fn starting_at(offset: i64) -> Self {
        Ledger {
            base: 0,
            entries: VecDeque::new(),
            next_offset: offset,
        }
    }

    /// The offset after the last message handed out.
    pub fn next_offset(&self) -> i64 {
        self.next_offset
    }

    fn push(&mut self, offset: i64, bytes: Vec<u8>) {
        self.entries.push_back((offset, bytes));
        self.next_offset = offset + 1;
    }

    /// The offset a consumer resumes from when the source's first `taken` records are done.
    pub fn resume_offset(&self, taken: u64) -> i64 {
        taken
            .checked_sub(self.base)
            .and_then(|i| self.entries.get(i as usize))
            .map_or(self.next_offset, |(offset, _)| *offset)
    }

    /// The offset and bytes of the source's `index`-th record, while it is held.
    pub fn get(&self, index: u64) -> Option<(i64, &[u8])> {
        let (offset, bytes) = self.entries.get(index.checked_sub(self.base)? as usize)?;
        Some((*offset, bytes))
    }

    /// The bytes of the record at `offset`, while it is held.
    pub fn bytes_at(&self, offset: i64) -> Option<&[u8]> {
        let i = self
            .entries
            .binary_search_by_key(&offset, |(o, _)| *o)
            .ok()?;
        Some(&self.entries[i].1)
    }

    /// Forgets the records before the `taken`-th: their outputs are out.
    pub fn trim(&mut self, taken: u64) {
        while self.base < taken && !self.entries.is_empty() {
            self.entries.pop_front();
            self.base += 1;
        }
    }
}

/// A ledger shared by a source and the sink that names what it read.
pub type SharedLedger = Arc<Mutex<Ledger>>;

pub fn lock(ledger: &SharedLedger) -> std::sync::MutexGuard<'_, Ledger> {
    ledger.lock().unwrap_or_else(PoisonError::into_inner)
}

/// When a partition's stream ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EndMode {
    /// Never: a live feed.
    Follow,
    /// At the partition's end (as the broker reports it): consume what is there, then stop.
    AtEnd,
}

/// What one partition of a topic has fetched and not yet handed out.
#[derive(Debug)]
struct Fetched {
    messages: VecDeque<(i64, Vec<u8>)>,
    /// The broker said the partition's end was reached after the last message queued.
    at_end: bool,
    /// Fetching is paused because `messages` is full.
    paused: bool,
    last_message: Instant,
}

/// One topic's consumer, its messages routed to a queue per partition. Every partition of a
/// topic shares the consumer's one queue, so a partition's messages and its end-of-partition
/// notice come in order, and nothing can be polled from a queue nobody reads. A partition
/// whose queue is full is paused until it drains (backpressure, bounded memory).
pub struct TopicFeed {
    consumer: Arc<LiveConsumer>,
    topic: String,
    partitions: Vec<Fetched>,
    buffer_max: usize,
    /// Errors the consumer reported (other than a partition's end).
    pub errors: u64,
}

impl TopicFeed {
    /// A feed of `partitions` partitions of `topic` from an assigned `consumer`.
    pub fn new(
        consumer: Arc<LiveConsumer>,
        topic: &str,
        partitions: usize,
        buffer_max: usize,
    ) -> Self {
        TopicFeed {
            consumer,
            topic: topic.to_string(),
            partitions: (0..partitions)
                .map(|_| Fetched {
                    messages: VecDeque::new(),
                    at_end: false,
                    paused: false,
                    last_message: Instant::now(),
                })
                .collect(),
            buffer_max: buffer_max.max(16),
            errors: 0,
        }
    }

    /// Moves what the consumer has fetched into the partitions' queues.
    fn pump(&mut self) {
        for _ in 0..self.buffer_max {
            match self.consumer.poll(Duration::ZERO) {
                None => break,
                Some(Err(KafkaError::PartitionEOF(p))) => {
                    if let Some(fetched) = self.partitions.get_mut(p as usize) {
                        fetched.at_end = true;
                    }
                }
                Some(Err(err)) => {
                    self.errors += 1;
                    tracing::warn!(topic = %self.topic, "consumer error: {err}");
                    break;
                }
                Some(Ok(message)) => {
                    let p = message.partition() as usize;
                    let Some(fetched) = self.partitions.get_mut(p) else {
                        continue;
                    };
                    fetched.at_end = false;
                    fetched.last_message = Instant::now();
                    fetched.messages.push_back((
                        message.offset(),
                        message.payload().unwrap_or_default().to_vec(),
                    ));
                    if fetched.messages.len() >= self.buffer_max && !fetched.paused {
                        fetched.paused = true;
                        self.set_paused(p as i32, true);
                    }
                }
            }
        }
    }

    fn set_paused(&self, partition: i32, pause: bool) {
        let mut list = TopicPartitionList::new();
        list.add_partition(&self.topic, partition);
        let result = if pause {
            self.consumer.pause(&list)
        } else {
            self.consumer.resume(&list)
        };
        if let Err(err) = result {
            tracing::warn!(topic = %self.topic, partition, "cannot pause or resume: {err}");
        }
    }

    /// Up to `max` messages of `partition`, oldest first.
    fn take(&mut self, partition: i32, max: usize, out: &mut Vec<(i64, Vec<u8>)>) {
        self.pump();
        let p = partition as usize;
        let Some(fetched) = self.partitions.get_mut(p) else {
            return;
        };
        let n = max.min(fetched.messages.len());
        out.extend(fetched.messages.drain(..n));
        if fetched.paused && fetched.messages.len() <= self.buffer_max / 2 {
            fetched.paused = false;
            self.set_paused(partition, false);
        }
    }

    /// `(at its end with nothing queued, when its last message came)`.
    fn state(&self, partition: i32) -> (bool, Instant) {
        self.partitions
            .get(partition as usize)
            .map_or((true, Instant::now()), |f| {
                (f.at_end && f.messages.is_empty(), f.last_message)
            })
    }
}

/// A topic feed shared by its partitions' sources.
pub type SharedFeed = Arc<Mutex<TopicFeed>>;

/// One topic-partition's messages as records.
pub struct PartitionSource {
    feed: SharedFeed,
    tp: TopicPartition,
    event_type: EventType,
    ledger: SharedLedger,
    end: EndMode,
    /// A valid event was handed out: the merge has a watermark for this partition.
    sent_event: bool,
    idle_timeout: Duration,
    info: SourceInfo,
    scratch: Vec<(i64, Vec<u8>)>,
    /// Stop before this offset (a catch-up to where the other shares are).
    stop_at: Option<i64>,
}

impl PartitionSource {
    pub fn new(
        feed: SharedFeed,
        tp: TopicPartition,
        event_type: EventType,
        ledger: SharedLedger,
        end: EndMode,
        idle_timeout: Duration,
    ) -> Self {
        PartitionSource {
            feed,
            tp,
            event_type,
            ledger,
            end,
            sent_event: false,
            idle_timeout,
            info: SourceInfo::default(),
            scratch: Vec::new(),
            stop_at: None,
        }
    }

    /// The same source, ending before `offset`.
    pub fn stopping_at(mut self, offset: i64) -> Self {
        self.stop_at = Some(offset);
        self
    }

    fn reached_stop(&self) -> bool {
        self.stop_at
            .is_some_and(|stop| lock(&self.ledger).next_offset() >= stop)
    }

    fn feed_state(&self) -> (bool, Instant) {
        self.feed
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .state(self.tp.partition)
    }
}

impl Source for PartitionSource {
    fn next_batch(&mut self, out: &mut Vec<Record>, max: usize) -> Result<bool, ReplayError> {
        out.clear();
        if self.reached_stop() {
            return Ok(false);
        }
        self.feed
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take(self.tp.partition, max.max(1), &mut self.scratch);
        let mut ledger = lock(&self.ledger);
        for (offset, bytes) in self.scratch.drain(..) {
            if self.stop_at.is_some_and(|stop| offset >= stop) {
                // Past the catch-up's end: the run that goes on from there reads it.
                ledger.next_offset = ledger.next_offset.max(offset);
                break;
            }
            out.push(match decode_json_line(&bytes, Some(self.event_type)) {
                Ok(event) => {
                    self.sent_event = true;
                    Record::Event(event)
                }
                Err(reason) => Record::Invalid(Quarantined {
                    reason,
                    location: location(&self.tp, offset),
                    original: String::from_utf8_lossy(&bytes).into_owned(),
                }),
            });
            ledger.push(offset, bytes);
        }
        drop(ledger);
        self.scratch.clear();
        if out.is_empty() && self.reached_stop() {
            return Ok(false);
        }
        let at_end = out.is_empty() && self.feed_state().0;
        Ok(!(self.end == EndMode::AtEnd && at_end))
    }

    fn progress(&self) -> Progress {
        Progress::default()
    }

    fn info(&self) -> &SourceInfo {
        &self.info
    }

    fn has_more_now(&self) -> bool {
        !self.reached_stop() && !self.feed_state().0
    }

    /// At its end, and either it never had an event (an empty partition holds nothing back)
    /// or it has been silent for the idle timeout.
    fn is_idle(&self) -> bool {
        let (at_end, last_message) = self.feed_state();
        at_end && (!self.sent_event || last_message.elapsed() >= self.idle_timeout)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_location_reads_back() {
        let tp = TopicPartition {
            topic: "pumpwatch.orders".into(),
            partition: 7,
        };
        let text = location(&tp, 1234);
        assert_eq!(text, "kafka:pumpwatch.orders/7@1234");
        assert_eq!(parse_location(&text), Some((tp, 1234)));
        assert_eq!(parse_location("orders.ndjson:12"), None);
    }

    #[test]
    fn the_ledger_names_the_offset_to_resume_from() {
        let mut ledger = Ledger::starting_at(100);
        assert_eq!(ledger.resume_offset(0), 100);
        // Offsets may have gaps (compaction, control records).
        ledger.push(100, b"a".to_vec());
        ledger.push(102, b"b".to_vec());
        ledger.push(103, b"c".to_vec());
        assert_eq!(ledger.resume_offset(0), 100);
        assert_eq!(ledger.resume_offset(1), 102);
        assert_eq!(ledger.resume_offset(3), 104);
        assert_eq!(ledger.get(1), Some((102, &b"b"[..])));
        assert_eq!(ledger.bytes_at(103), Some(&b"c"[..]));
        ledger.trim(2);
        assert_eq!(ledger.get(1), None);
        assert_eq!(ledger.get(2), Some((103, &b"c"[..])));
        assert_eq!(ledger.resume_offset(2), 103);
        assert_eq!(ledger.resume_offset(3), 104);
    }
}
