//! The live pipeline's configuration (`config/live.example.toml` documents every field): the
//! brokers, the topics, the consumer group, how event time is merged across partitions, the
//! checkpoint store and the metrics address. Unknown fields are refused by name; every value
//! is validated before anything connects.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;

use pumpwatch_model::EventType;
use serde::Deserialize;

/// See the module documentation.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LiveConfig {
    pub kafka: KafkaConfig,
    #[serde(default)]
    pub topics: Topics,
    #[serde(default)]
    pub stream: StreamConfig,
    pub checkpoint: CheckpointConfig,
    #[serde(default)]
    pub metrics: MetricsConfig,
    /// The engine's configuration file (rules and thresholds); the built-in defaults
    /// (`config/default.toml`) when absent. Relative to the live config file.
    #[serde(default)]
    pub engine_config: Option<PathBuf>,
}

#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KafkaConfig {
    /// `host:port[,host:port...]`.
    pub brokers: String,
    /// The consumer group: offsets are committed to it (for lag monitoring; the checkpoint
    /// holds the offsets a restart goes on from).
    pub group_id: String,
    /// Sent to the brokers to name this client in their logs.
    #[serde(default = "default_client_id")]
    pub client_id: String,
    /// Extra librdkafka properties (`security.protocol`, `sasl.mechanisms`, ...) for the
    /// consumer and the producers alike.
    #[serde(default)]
    pub properties: BTreeMap<String, String>,
}

fn default_client_id() -> String {
    "pumpwatch".to_string()
}

/// Topic names: one per event type, the alert feed and the dead-letter topic.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Topics {
    pub instruments: String,
    pub positions: String,
    pub cash: String,
    pub auth: String,
    pub orders: String,
    pub executions: String,
    pub trades: String,
    pub alerts: String,
    pub dead_letter: String,
}

impl Default for Topics {
    fn default() -> Self {
        Topics {
            instruments: "pumpwatch.instruments".into(),
            positions: "pumpwatch.positions".into(),
            cash: "pumpwatch.cash".into(),
            auth: "pumpwatch.auth".into(),
            orders: "pumpwatch.orders".into(),
            executions: "pumpwatch.executions".into(),
            trades: "pumpwatch.trades".into(),
            alerts: "pumpwatch.alerts".into(),
            dead_letter: "pumpwatch.dead-letter".into(),
        }
    }
}

impl Topics {
    /// The topic carrying events of `event_type`.
    pub fn for_type(&self, event_type: EventType) -> &str {
        match event_type {
            EventType::Instrument => &self.instruments,
            EventType::Position => &self.positions,
            EventType::Cash => &self.cash,
            EventType::Auth => &self.auth,
            EventType::Order => &self.orders,
            EventType::Execution => &self.executions,
            EventType::Trade => &self.trades,
        }
    }

    /// The input topics with their types, in the contract's type order.
    pub fn inputs(&self) -> Vec<(EventType, &str)> {
        EventType::ALL
            .iter()
            .map(|&t| (t, self.for_type(t)))
            .collect()
    }

    fn validate(&self) -> Result<(), String> {
        let mut names: Vec<&str> = self.inputs().into_iter().map(|(_, n)| n).collect();
        names.push(&self.alerts);
        names.push(&self.dead_letter);
        for name in &names {
            if name.is_empty()
                || name.len() > 249
                || !name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
            {
                return Err(format!(
                    "topics: {name:?} is not a Kafka topic name (1-249 of a-z A-Z 0-9 . _ -)"
                ));
            }
        }
        let mut sorted = names.clone();
        sorted.sort_unstable();
        if let Some(w) = sorted.windows(2).find(|w| w[0] == w[1]) {
            return Err(format!("topics: {:?} is named twice", w[0]));
        }
        Ok(())
    }
}

/// How the partitions' streams are merged and handed to the engines.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StreamConfig {
    /// How far (ms of event time) the other partitions may run ahead of one that has nothing
    /// to send before it stops holding them back; what it sends later may be late (the
    /// engine's `lateness_ms` decides).
    pub idle_bound_ms: u64,
    /// A partition that has sent nothing for this long (wall clock, ms) while others have
    /// data stops holding them back at all.
    pub idle_timeout_ms: u64,
    /// Records handed to the engines at a time, at most.
    pub batch_records: usize,
    /// Messages waiting per partition before that partition's fetching pauses (backpressure).
    pub partition_buffer_max: usize,
}

impl Default for StreamConfig {
    fn default() -> Self {
        StreamConfig {
            idle_bound_ms: 2_000,
            idle_timeout_ms: 5_000,
            batch_records: 4_096,
            partition_buffer_max: 20_000,
        }
    }
}

/// Where checkpoints go and how often.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckpointConfig {
    /// A directory (created when missing). Relative to the live config file.
    pub dir: PathBuf,
    /// Seconds (wall clock) between two checkpoints; fractions allowed.
    #[serde(default = "default_interval")]
    pub interval_secs: f64,
}

fn default_interval() -> f64 {
    10.0
}

/// The HTTP endpoint for `/metrics`, `/healthz` and `/readyz`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsConfig {
    /// `host:port`; an empty string turns the endpoint off.
    pub listen: String,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        MetricsConfig {
            listen: "127.0.0.1:9464".into(),
        }
    }
}

impl LiveConfig {
    /// Parses `text`; paths in it are taken relative to `base` (the config file's folder).
    pub fn from_toml(text: &str, base: &std::path::Path) -> Result<Self, String> {
        let mut config: LiveConfig = toml::from_str(text).map_err(|e| e.to_string())?;
        config.validate()?;
        if config.checkpoint.dir.is_relative() {
            config.checkpoint.dir = base.join(&config.checkpoint.dir);
        }
        if let Some(path) = &config.engine_config {
            if path.is_relative() {
                config.engine_config = Some(base.join(path));
            }
        }
        Ok(config)
    }

    pub fn validate(&self) -> Result<(), String> {
        if self.kafka.brokers.trim().is_empty() {
            return Err("kafka.brokers: empty".into());
        }
        for broker in self.kafka.brokers.split(',') {
            let broker = broker.trim();
            let port = broker.rsplit_once(':').map(|(_, p)| p);
            if port.and_then(|p| p.parse::<u16>().ok()).is_none() {
                return Err(format!("kafka.brokers: {broker:?} is not host:port"));
            }
        }
        if self.kafka.group_id.trim().is_empty() {
            return Err("kafka.group_id: empty".into());
        }
        for key in self.kafka.properties.keys() {
            if matches!(
                key.as_str(),
                "bootstrap.servers"
                    | "group.id"
                    | "enable.auto.commit"
                    | "enable.idempotence"
                    | "enable.partition.eof"
            ) {
                return Err(format!(
                    "kafka.properties: {key:?} is set by pumpwatch itself (use the fields above)"
                ));
            }
        }
        self.topics.validate()?;
        let s = &self.stream;
        if s.batch_records == 0 || s.batch_records > 1_000_000 {
            return Err("stream.batch_records: must be 1..=1000000".into());
        }
        if s.partition_buffer_max < 16 {
            return Err("stream.partition_buffer_max: must be at least 16".into());
        }
        if s.idle_timeout_ms == 0 {
            return Err("stream.idle_timeout_ms: must be positive".into());
        }
        if !(self.checkpoint.interval_secs >= 0.1 && self.checkpoint.interval_secs <= 86_400.0) {
            return Err("checkpoint.interval_secs: must be 0.1..=86400".into());
        }
        if self.checkpoint.dir.as_os_str().is_empty() {
            return Err("checkpoint.dir: empty".into());
        }
        if !self.metrics.listen.is_empty() && self.metrics.listen.parse::<SocketAddr>().is_err() {
            return Err(format!(
                "metrics.listen: {:?} is not host:port (an IP address)",
                self.metrics.listen
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    const EXAMPLE: &str = include_str!("../../../config/live.example.toml");

    #[test]
    fn the_example_parses_and_resolves_paths_against_its_folder() {
        let config = LiveConfig::from_toml(EXAMPLE, Path::new("/etc/pumpwatch")).unwrap();
        assert_eq!(config.topics, Topics::default());
        assert!(config.checkpoint.dir.starts_with("/etc/pumpwatch"));
    }

    #[test]
    fn mistakes_are_named() {
        let bad = EXAMPLE.replace("group_id = ", "group = ");
        let err = LiveConfig::from_toml(&bad, Path::new(".")).unwrap_err();
        assert!(err.contains("group"), "{err}");
        let bad = EXAMPLE.replace("interval_secs = 10", "interval_secs = 0");
        assert!(LiveConfig::from_toml(&bad, Path::new("."))
            .unwrap_err()
            .contains("checkpoint.interval_secs"));
        let bad = EXAMPLE.replace(
            "trades = \"pumpwatch.trades\"",
            "trades = \"pumpwatch.orders\"",
        );
        assert!(LiveConfig::from_toml(&bad, Path::new("."))
            .unwrap_err()
            .contains("named twice"));
        let bad = EXAMPLE.replace("127.0.0.1:9092", "nowhere");
        assert!(LiveConfig::from_toml(&bad, Path::new("."))
            .unwrap_err()
            .contains("kafka.brokers"));
    }
}
