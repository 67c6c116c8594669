//! A consumer that only decodes: every input partition read to its end through the live run's
//! own consumers and sources, with no merge, engine or output. Run beside `pumpwatch run` on
//! the same topics, it says how much of a run's time is the Kafka client and the decoding.

use std::collections::BTreeMap;
use std::time::Instant;

use pumpwatch_replay::Record;
use rdkafka::consumer::Consumer as _;

use crate::config::LiveConfig;
use crate::inputs;
use crate::kafka;
use crate::source::EndMode;

/// What a drain read.
#[derive(Clone, Debug, Default)]
pub struct DrainReport {
    /// Valid events decoded.
    pub events: u64,
    /// Records the decoder rejected.
    pub invalid: u64,
    /// Wall-clock seconds from the first request to the last partition's end.
    pub seconds: f64,
}

/// Reads every input partition from its first offset to its end, decoding each record.
pub fn decode_only(config: &LiveConfig) -> anyhow::Result<DrainReport> {
    let base = kafka::client_config(
        &config.kafka.brokers,
        &config.kafka.client_id,
        &config.kafka.properties,
    );
    let started = Instant::now();
    let admin = kafka::consumer(
        &base,
        &config.kafka.group_id,
        config.stream.fetch_wait_max_ms,
    )?;
    let partitions = inputs::input_partitions(config, admin.client())?;
    let (mut sources, _ledgers) = inputs::sources(
        config,
        &base,
        &partitions,
        &BTreeMap::new(),
        None,
        EndMode::AtEnd,
    )?;
    let mut report = DrainReport::default();
    let mut open: Vec<bool> = vec![true; sources.len()];
    let mut batch = Vec::new();
    while open.iter().any(|&o| o) {
        let mut read = 0;
        for (source, open) in sources.iter_mut().zip(open.iter_mut()) {
            if !*open {
                continue;
            }
            *open = source.next_batch(&mut batch, config.stream.batch_records)?;
            read += batch.len();
            for record in batch.drain(..) {
                match record {
                    Record::Event(_) => report.events += 1,
                    Record::Invalid(_) => report.invalid += 1,
                }
            }
        }
        if read == 0 {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
    }
    report.seconds = started.elapsed().as_secs_f64();
    Ok(report)
}
