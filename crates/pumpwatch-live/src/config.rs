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
    /// The longest a fetch request waits for data (librdkafka's `fetch.wait.max.ms`). Kafka
    /// answers as soon as data is there, so this only bounds an idle feed's latency; some
    /// Kafka-compatible brokers (tansu 0.6) hold every fetch this long, and there it is the
    /// latency floor of every event.
    pub fetch_wait_max_ms: u64,
}

impl Default for StreamConfig {
    fn default() -> Self {
        StreamConfig {
            idle_bound_ms: 2_000,
            idle_timeout_ms: 5_000,
            batch_records: 4_096,
            partition_buffer_max: 20_000,
            fetch_wait_max_ms: 100,
        }
    }
}

/// Where checkpoints go and how often: a directory, or an object store.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckpointConfig {
    /// A directory (created when missing), relative to the live config file. Every instance
    /// of a group must see the same one (a shared volume).
    #[serde(default)]
    pub dir: Option<PathBuf>,
    /// An object store instead of a directory: `s3://BUCKET/PREFIX` (credentials and region
    /// from the usual `AWS_*` environment variables, or `options`), `file:///PATH`, or
    /// `memory:///` (one process only: tests).
    #[serde(default)]
    pub url: Option<String>,
    /// Settings of the object store's client, e.g. `endpoint`, `region`, `allow_http` for an
    /// S3-compatible service (the names of the `object_store` crate's config keys).
    #[serde(default)]
    pub options: BTreeMap<String, String>,
    /// Seconds (wall clock) between two checkpoints; fractions allowed.
    #[serde(default = "default_interval")]
    pub interval_secs: f64,
}

impl CheckpointConfig {
    /// The directory or URL, for messages.
    pub fn location(&self) -> String {
        match (&self.dir, &self.url) {
            (_, Some(url)) => url.clone(),
            (Some(dir), None) => dir.display().to_string(),
            (None, None) => "(no checkpoint store)".into(),
        }
    }
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
        if let Some(dir) = &mut config.checkpoint.dir {
            if dir.is_relative() {
                *dir = base.join(&*dir);
            }
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
                    | "fetch.wait.max.ms"
            ) {
                return Err(format!(
                    "kafka.properties: {key:?} is set by pumpwatch itself (use the fields of [kafka] and [stream])"
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
        if !(1..=60_000).contains(&s.fetch_wait_max_ms) {
            return Err("stream.fetch_wait_max_ms: must be 1..=60000".into());
        }
        if s.idle_timeout_ms == 0 {
            return Err("stream.idle_timeout_ms: must be positive".into());
        }
        if !(self.checkpoint.interval_secs >= 0.1 && self.checkpoint.interval_secs <= 86_400.0) {
            return Err("checkpoint.interval_secs: must be 0.1..=86400".into());
        }
        match (&self.checkpoint.dir, &self.checkpoint.url) {
            (Some(dir), None) if dir.as_os_str().is_empty() => {
                return Err("checkpoint.dir: empty".into());
            }
            (Some(_), None) => {
                if !self.checkpoint.options.is_empty() {
                    return Err(
                        "checkpoint.options: only for an object store (checkpoint.url)".into(),
                    );
                }
            }
            (None, Some(url)) => {
                let scheme = url.split_once("://").map(|(s, _)| s);
                if !scheme.is_some_and(|s| crate::object_checkpoints::SCHEMES.contains(&s)) {
                    return Err(format!(
                        "checkpoint.url: {url:?} is not s3://BUCKET/PREFIX, file:///PATH or memory:///"
                    ));
                }
            }
            (Some(_), Some(_)) => {
                return Err("checkpoint: give dir or url, not both".into());
            }
            (None, None) => {
                return Err("checkpoint: give dir (a directory) or url (an object store)".into());
            }
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
        assert!(config
            .checkpoint
            .dir
            .as_ref()
            .is_some_and(|d| d.starts_with("/etc/pumpwatch")));
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
        let bad = EXAMPLE.replace("fetch_wait_max_ms = 100", "fetch_wait_max_ms = 0");
        assert!(LiveConfig::from_toml(&bad, Path::new("."))
            .unwrap_err()
            .contains("stream.fetch_wait_max_ms"));
    }

    #[test]
    fn checkpoints_go_to_a_directory_or_an_object_store_not_both() {
        let store = |lines: &str| {
            let text = EXAMPLE.replace("dir = \"../var/checkpoints\"", lines);
            LiveConfig::from_toml(&text, Path::new("."))
        };
        let config = store(
            "url = \"s3://surveillance/pumpwatch\"\noptions = { region = \"ap-northeast-1\" }",
        )
        .unwrap();
        assert_eq!(
            config.checkpoint.url.as_deref(),
            Some("s3://surveillance/pumpwatch")
        );
        assert_eq!(config.checkpoint.dir, None);
        for (lines, named) in [
            ("dir = \"x\"\nurl = \"s3://b/p\"", "not both"),
            ("", "give dir"),
            ("url = \"ftp://host/p\"", "checkpoint.url"),
            (
                "dir = \"x\"\noptions = { region = \"r\" }",
                "checkpoint.options",
            ),
        ] {
            let err = store(lines).unwrap_err();
            assert!(err.contains(named), "{lines}: {err}");
        }
    }
}
