//! The Kafka clients pumpwatch makes (librdkafka through rdkafka): their settings, topic
//! creation, partition counts, and reading a topic's messages between two offsets (how a
//! restart finds what it had already produced, and how the alert feed is read back).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::Client;
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext};
use rdkafka::error::KafkaError;
use rdkafka::message::{Headers, Message};
use rdkafka::{ClientContext, Offset, TopicPartitionList};

/// Time allowed for one metadata or offsets request.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// The consumer's context: logs through `tracing`.
#[derive(Debug, Default)]
pub struct LiveContext;

impl ClientContext for LiveContext {
    fn log(&self, level: rdkafka::config::RDKafkaLogLevel, fac: &str, log_message: &str) {
        use rdkafka::config::RDKafkaLogLevel as L;
        match level {
            L::Emerg | L::Alert | L::Critical | L::Error => {
                tracing::error!(target: "librdkafka", "{fac}: {log_message}")
            }
            L::Warning => tracing::warn!(target: "librdkafka", "{fac}: {log_message}"),
            _ => tracing::debug!(target: "librdkafka", "{fac}: {log_message}"),
        }
    }

    fn error(&self, error: KafkaError, reason: &str) {
        if matches!(
            error,
            KafkaError::PartitionEOF(_)
                | KafkaError::Global(rdkafka::types::RDKafkaErrorCode::PartitionEOF)
        ) {
            // The end of a partition is news for its queue, not an error.
            return;
        }
        tracing::warn!(target: "librdkafka", "{error}: {reason}");
    }
}

impl ConsumerContext for LiveContext {}

pub type LiveConsumer = BaseConsumer<LiveContext>;

/// The settings every client shares: the brokers and the user's extra properties.
pub fn client_config(
    brokers: &str,
    client_id: &str,
    extra: &BTreeMap<String, String>,
) -> ClientConfig {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", brokers)
        .set("client.id", client_id)
        .set("log_level", "4");
    for (key, value) in extra {
        config.set(key, value);
    }
    config
}

/// A consumer that reads assigned partitions (no group membership); offsets can still be
/// committed to `group_id`.
pub fn consumer(
    base: &ClientConfig,
    group_id: &str,
    fetch_wait_max_ms: u64,
) -> anyhow::Result<Arc<LiveConsumer>> {
    let mut config = base.clone();
    config
        .set("group.id", group_id)
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("enable.partition.eof", "true")
        .set("fetch.wait.max.ms", fetch_wait_max_ms.to_string());
    // Defaults the user's kafka.properties may override.
    for (key, value) in [
        ("auto.offset.reset", "earliest"),
        // Bounded read-ahead: what waits in the client's queue, in messages and in all.
        ("queued.min.messages", "100000"),
        ("queued.max.messages.kbytes", "32768"),
        // A full queue is looked at again soon (librdkafka's default waits a second, which
        // leaves a catching-up partition idle most of the time).
        ("fetch.queue.backoff.ms", "10"),
    ] {
        if config.get(key).is_none() {
            config.set(key, value);
        }
    }
    let consumer: LiveConsumer = config
        .create_with_context(LiveContext)
        .context("cannot create the Kafka consumer")?;
    Ok(Arc::new(consumer))
}

/// The number of partitions of `topic`, or an error naming the topic when it does not exist.
pub fn partition_count<C: ClientContext>(client: &Client<C>, topic: &str) -> anyhow::Result<i32> {
    let metadata = client
        .fetch_metadata(Some(topic), REQUEST_TIMEOUT)
        .with_context(|| format!("cannot read the metadata of topic {topic}"))?;
    let Some(found) = metadata.topics().iter().find(|t| t.name() == topic) else {
        bail!("topic {topic} does not exist");
    };
    if let Some(err) = found.error() {
        bail!(
            "topic {topic}: {:?} (create it with `pumpwatch topics create`)",
            err
        );
    }
    let count = found.partitions().len() as i32;
    if count == 0 {
        bail!("topic {topic} does not exist (create it with `pumpwatch topics create`)");
    }
    Ok(count)
}

/// Creates the topics that do not exist yet, each with `partitions` partitions; says which
/// ones already existed.
pub fn create_topics(
    base: &ClientConfig,
    names: &[&str],
    partitions: i32,
) -> anyhow::Result<Vec<String>> {
    let admin: AdminClient<DefaultClientContext> = base
        .create()
        .context("cannot create the Kafka admin client")?;
    let topics: Vec<NewTopic<'_>> = names
        .iter()
        .map(|name| NewTopic::new(name, partitions, TopicReplication::Fixed(1)))
        .collect();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let results = runtime.block_on(admin.create_topics(
        topics.iter(),
        &AdminOptions::new().request_timeout(Some(REQUEST_TIMEOUT)),
    ))?;
    let mut existed = Vec::new();
    for result in results {
        match result {
            Ok(_) => {}
            Err((name, rdkafka::types::RDKafkaErrorCode::TopicAlreadyExists)) => existed.push(name),
            Err((name, code)) => bail!("cannot create topic {name}: {code}"),
        }
    }
    Ok(existed)
}

/// One message read back from a topic.
#[derive(Clone, Debug)]
pub struct ReadMessage {
    pub partition: i32,
    pub offset: i64,
    pub key: Option<Vec<u8>>,
    pub value: Vec<u8>,
    pub headers: Vec<(String, Vec<u8>)>,
    /// The message's timestamp (ms since the epoch; the producer's clock unless the topic
    /// stamps append times).
    pub timestamp_ms: Option<i64>,
}

/// Reads every partition of `topic` from `from` (per partition; the partition's start when
/// absent) up to its end as it is now: the high watermark when the read starts.
pub fn read_to_end(
    base: &ClientConfig,
    topic: &str,
    from: &BTreeMap<i32, i64>,
    timeout: Duration,
) -> anyhow::Result<Vec<ReadMessage>> {
    // A short fetch wait: brokers that hold every fetch this long answer sooner.
    let consumer = consumer(base, "pumpwatch-reader", 10)?;
    let partitions = partition_count(consumer.client(), topic)?;
    let mut assignment = TopicPartitionList::new();
    let mut ends = BTreeMap::new();
    for partition in 0..partitions {
        let (low, high) = consumer
            .fetch_watermarks(topic, partition, REQUEST_TIMEOUT)
            .with_context(|| format!("cannot read the offsets of {topic}/{partition}"))?;
        let start = from.get(&partition).copied().unwrap_or(low).max(low);
        tracing::debug!(topic, partition, low, high, start, "reading to the end");
        if start < high {
            assignment.add_partition_offset(topic, partition, Offset::Offset(start))?;
            ends.insert(partition, high);
        }
    }
    let mut messages = Vec::new();
    if ends.is_empty() {
        return Ok(messages);
    }
    consumer.assign(&assignment)?;
    let deadline = Instant::now() + timeout;
    while !ends.is_empty() {
        if Instant::now() > deadline {
            bail!(
                "reading {topic} timed out with partitions {:?} unfinished",
                ends.keys()
            );
        }
        match consumer.poll(Duration::from_millis(200)) {
            None | Some(Err(KafkaError::PartitionEOF(_))) => {}
            Some(Err(err)) => tracing::warn!("reading {topic}: {err}"),
            Some(Ok(message)) => {
                let partition = message.partition();
                let Some(&end) = ends.get(&partition) else {
                    continue;
                };
                if message.offset() < end {
                    messages.push(ReadMessage {
                        partition,
                        offset: message.offset(),
                        key: message.key().map(<[u8]>::to_vec),
                        value: message.payload().unwrap_or_default().to_vec(),
                        headers: message
                            .headers()
                            .map(|headers| {
                                headers
                                    .iter()
                                    .map(|h| {
                                        (h.key.to_string(), h.value.unwrap_or_default().to_vec())
                                    })
                                    .collect()
                            })
                            .unwrap_or_default(),
                        timestamp_ms: message.timestamp().to_millis(),
                    });
                }
                if message.offset() + 1 >= end {
                    ends.remove(&partition);
                }
            }
        }
    }
    Ok(messages)
}

/// The end (high watermark) of every partition of `topic`. Asked through a client that does
/// not long-poll fetches (the producer's), so the answer does not wait behind them.
pub fn ends<C: ClientContext>(
    client: &Client<C>,
    topic: &str,
) -> anyhow::Result<BTreeMap<i32, i64>> {
    let partitions = partition_count(client, topic)?;
    (0..partitions)
        .map(|p| {
            let (_, high) = client
                .fetch_watermarks(topic, p, REQUEST_TIMEOUT)
                .with_context(|| format!("cannot read the offsets of {topic}/{p}"))?;
            Ok((p, high))
        })
        .collect()
}
