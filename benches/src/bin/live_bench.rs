//! The live pipeline's figures beside `pumpwatch run` on the same topics (see `benches/live.sh`):
//!
//! ```sh
//! live_bench decode --config live.toml    # read and decode every input partition, no engine
//! live_bench latency --config live.toml   # publish-to-alert latency of the alerts on the topic
//! ```
//!
//! `latency` pairs each alert on the alert topic with the account event that fired it (an
//! order, execution or login of one of its accounts at its event time) and takes the
//! difference of the two messages' timestamps: the triggering event's, stamped by the
//! publisher when it sent it, and the alert's, stamped by `pumpwatch run` when it produced it.
//! That spans the broker's write, the fetch, the merge, the engine and the produce: more than
//! the run's own event-to-alert histogram, which starts when the event is consumed.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context as _};
use pumpwatch_live::{kafka, LiveConfig};
use pumpwatch_model::{decode_json_line, Alert, EventType};

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (command, config) = match args.as_slice() {
        [command, flag, path] if flag == "--config" => (command.as_str(), PathBuf::from(path)),
        _ => bail!("usage: live_bench decode|latency --config LIVE.toml"),
    };
    let text = std::fs::read_to_string(&config)
        .with_context(|| format!("cannot read {}", config.display()))?;
    let base_dir = config.parent().unwrap_or(std::path::Path::new("."));
    let config = LiveConfig::from_toml(&text, base_dir).map_err(anyhow::Error::msg)?;
    match command {
        "decode" => decode(&config),
        "latency" => latency(&config),
        other => bail!("unknown command {other}: decode or latency"),
    }
}

fn decode(config: &LiveConfig) -> anyhow::Result<()> {
    let report = pumpwatch_live::drain::decode_only(config)?;
    println!(
        "decode-only: {} events ({} invalid) in {:.2} s, {:.0} events/s",
        report.events,
        report.invalid,
        report.seconds,
        report.events as f64 / report.seconds
    );
    Ok(())
}

fn latency(config: &LiveConfig) -> anyhow::Result<()> {
    let base = kafka::client_config(
        &config.kafka.brokers,
        &config.kafka.client_id,
        &config.kafka.properties,
    );
    let timeout = Duration::from_secs(600);
    // When each account event was published: (account, event time) -> latest send time.
    let mut sent: HashMap<(String, i64), i64> = HashMap::new();
    for event_type in [EventType::Order, EventType::Execution, EventType::Auth] {
        let topic = config.topics.for_type(event_type);
        for message in kafka::read_to_end(&base, topic, &Default::default(), timeout)? {
            let (Ok(event), Some(stamp)) = (
                decode_json_line(&message.value, Some(event_type)),
                message.timestamp_ms,
            ) else {
                continue;
            };
            if let Some(account) = event.account_id() {
                let at = sent
                    .entry((account.to_string(), event.ts.utc_nanos))
                    .or_insert(stamp);
                *at = (*at).max(stamp);
            }
        }
    }
    let mut latencies_ms = Vec::new();
    let mut unpaired = 0;
    let alerts = kafka::read_to_end(&base, &config.topics.alerts, &Default::default(), timeout)?;
    for message in &alerts {
        let alert: Alert = serde_json::from_slice(&message.value).context("an alert")?;
        let trigger = alert
            .account_ids
            .iter()
            .filter_map(|a| sent.get(&(a.clone(), alert.ts.utc_nanos)))
            .max();
        match (trigger, message.timestamp_ms) {
            (Some(sent), Some(produced)) => latencies_ms.push(produced - sent),
            _ => unpaired += 1,
        }
    }
    if latencies_ms.is_empty() {
        bail!("no alert could be paired with its triggering event");
    }
    latencies_ms.sort_unstable();
    let at = |q: f64| latencies_ms[((latencies_ms.len() - 1) as f64 * q).round() as usize];
    println!(
        "publish-to-alert latency over {} alerts ({} without an account event at their time): p50 {} ms, p99 {} ms, p99.9 {} ms, max {} ms",
        latencies_ms.len(),
        unpaired,
        at(0.5),
        at(0.99),
        at(0.999),
        latencies_ms[latencies_ms.len() - 1]
    );
    Ok(())
}
