//! The input partitions of a run and a driver source for each: one consumer per input topic,
//! assigned the topic's partitions from given offsets, its messages routed to per-partition
//! sources ([`crate::source`]).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context as _;
use pumpwatch_model::EventType;
use rdkafka::client::{Client, ClientContext};
use rdkafka::consumer::Consumer;
use rdkafka::{ClientConfig, Offset, TopicPartitionList};

use crate::config::LiveConfig;
use crate::kafka::{self, REQUEST_TIMEOUT};
use crate::source::{
    EndMode, Ledger, PartitionSource, SharedFeed, SharedLedger, TopicFeed, TopicPartition,
};

/// An input partition: the event type its topic carries, and its first offset.
pub type InputPartition = (EventType, TopicPartition, i64);

/// Every input partition with its first offset, asked through `admin` (a client that does
/// not fetch, so its requests do not queue behind a fetch's long poll).
pub fn input_partitions<C: ClientContext>(
    config: &LiveConfig,
    admin: &Client<C>,
) -> anyhow::Result<Vec<InputPartition>> {
    let mut inputs = Vec::new();
    for (event_type, topic) in config.topics.inputs() {
        for partition in 0..kafka::partition_count(admin, topic)? {
            let tp = TopicPartition {
                topic: topic.to_string(),
                partition,
            };
            let (low, _) = admin
                .fetch_watermarks(topic, partition, REQUEST_TIMEOUT)
                .with_context(|| format!("cannot read the offsets of {tp}"))?;
            inputs.push((event_type, tp, low));
        }
    }
    Ok(inputs)
}

/// The sources of a run and the ledger of each (in the order of `inputs`).
pub type Sources = (
    Vec<Box<dyn pumpwatch_replay::Source>>,
    Vec<(TopicPartition, SharedLedger)>,
);

/// A source per input partition from `from` (its first offset when absent), up to `to` when
/// given; one consumer per topic.
pub fn sources(
    config: &LiveConfig,
    base: &ClientConfig,
    inputs: &[InputPartition],
    from: &BTreeMap<TopicPartition, i64>,
    to: Option<&BTreeMap<TopicPartition, i64>>,
    end: EndMode,
) -> anyhow::Result<Sources> {
    let idle_timeout = Duration::from_millis(config.stream.idle_timeout_ms);
    let start = |tp: &TopicPartition, low: i64| from.get(tp).copied().unwrap_or(low).max(low);
    let mut feeds: BTreeMap<&str, SharedFeed> = BTreeMap::new();
    for (_, topic) in config.topics.inputs() {
        let on_topic: Vec<_> = inputs
            .iter()
            .filter(|(_, tp, _)| tp.topic == topic)
            .collect();
        let consumer = kafka::consumer(
            base,
            &config.kafka.group_id,
            config.stream.fetch_wait_max_ms,
        )?;
        let mut assignment = TopicPartitionList::new();
        for (_, tp, low) in &on_topic {
            assignment.add_partition_offset(
                &tp.topic,
                tp.partition,
                Offset::Offset(start(tp, *low)),
            )?;
        }
        consumer.assign(&assignment)?;
        feeds.insert(
            topic,
            Arc::new(Mutex::new(TopicFeed::new(
                consumer,
                topic,
                on_topic.len(),
                config.stream.partition_buffer_max,
            ))),
        );
    }
    let mut sources: Vec<Box<dyn pumpwatch_replay::Source>> = Vec::new();
    let mut ledgers = Vec::new();
    for (event_type, tp, low) in inputs {
        let ledger: SharedLedger = Arc::new(Mutex::new(Ledger::starting_at(start(tp, *low))));
        let mut source = PartitionSource::new(
            feeds[tp.topic.as_str()].clone(),
            tp.clone(),
            *event_type,
            ledger.clone(),
            end,
            idle_timeout,
        );
        if let Some(to) = to {
            source = source.stopping_at(to.get(tp).copied().unwrap_or(*low));
        }
        sources.push(Box::new(source));
        ledgers.push((tp.clone(), ledger));
    }
    Ok((sources, ledgers))
}
