//! One Kafka topic-partition as a driver source: messages decoded into events (or quarantined
//! records naming their topic, partition and offset), with a ledger of what was handed out so
//! that a checkpoint knows the offset to go on from and a dead letter can carry the original
//! bytes.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use pumpwatch_model::{decode_json_line, EventType};
use pumpwatch_replay::{Progress, Quarantined, Record, ReplayError, Source, SourceInfo};
use rdkafka::error::KafkaError;
use rdkafka::message::Message;

use crate::kafka::PartitionQueue;

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

/// One topic-partition's messages as records.
pub struct PartitionSource {
    queue: PartitionQueue,
    tp: TopicPartition,
    event_type: EventType,
    ledger: SharedLedger,
    end: EndMode,
    /// The broker said the partition's end was reached, and nothing came since.
    at_end: bool,
    last_message: Instant,
    /// A valid event was handed out: the merge has a watermark for this partition.
    sent_event: bool,
    idle_timeout: Duration,
    info: SourceInfo,
    /// Errors the consumer reported on this partition (other than its end).
    pub errors: u64,
}

impl PartitionSource {
    pub fn new(
        queue: PartitionQueue,
        tp: TopicPartition,
        event_type: EventType,
        ledger: SharedLedger,
        end: EndMode,
        idle_timeout: Duration,
    ) -> Self {
        PartitionSource {
            queue,
            tp,
            event_type,
            ledger,
            end,
            at_end: false,
            last_message: Instant::now(),
            sent_event: false,
            idle_timeout,
            info: SourceInfo::default(),
            errors: 0,
        }
    }
}

impl Source for PartitionSource {
    fn next_batch(&mut self, out: &mut Vec<Record>, max: usize) -> Result<bool, ReplayError> {
        out.clear();
        let max = max.max(1);
        let mut ledger = lock(&self.ledger);
        while out.len() < max {
            match self.queue.poll(Duration::ZERO) {
                None => break,
                Some(Err(KafkaError::PartitionEOF(_))) => {
                    tracing::debug!(partition = %self.tp, "at the partition's end");
                    self.at_end = true;
                    break;
                }
                Some(Err(err)) => {
                    self.errors += 1;
                    tracing::warn!(partition = %self.tp, "consumer error: {err}");
                    break;
                }
                Some(Ok(message)) => {
                    self.at_end = false;
                    self.last_message = Instant::now();
                    let offset = message.offset();
                    let bytes = message.payload().unwrap_or_default();
                    out.push(match decode_json_line(bytes, Some(self.event_type)) {
                        Ok(event) => {
                            self.sent_event = true;
                            Record::Event(event)
                        }
                        Err(reason) => Record::Invalid(Quarantined {
                            reason,
                            location: location(&self.tp, offset),
                            original: String::from_utf8_lossy(bytes).into_owned(),
                        }),
                    });
                    ledger.push(offset, bytes.to_vec());
                }
            }
        }
        Ok(!(self.end == EndMode::AtEnd && self.at_end && out.is_empty()))
    }

    fn progress(&self) -> Progress {
        Progress::default()
    }

    fn info(&self) -> &SourceInfo {
        &self.info
    }

    fn has_more_now(&self) -> bool {
        !self.at_end
    }

    /// At its end, and either it never had an event (an empty partition holds nothing back)
    /// or it has been silent for the idle timeout.
    fn is_idle(&self) -> bool {
        self.at_end && (!self.sent_event || self.last_message.elapsed() >= self.idle_timeout)
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
