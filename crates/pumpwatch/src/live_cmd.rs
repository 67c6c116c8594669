//! `pumpwatch publish`, `run`, `alerts` and `topics`: the live pipeline on Kafka.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;
use clap::{Args, Subcommand};
use pumpwatch_live::{kafka, LiveConfig, RunOptions, Topics};

use crate::config;

/// Where the brokers and topic names come from: a live config, or a broker address with the
/// default topic names.
#[derive(Debug, Args)]
pub struct Connection {
    /// The live config (config/live.example.toml): brokers, topic names, client settings.
    #[arg(long, conflicts_with = "brokers")]
    config: Option<PathBuf>,
    /// Bootstrap brokers (host:port[,...]), with the default topic names.
    #[arg(long, env = "PUMPWATCH_BROKERS")]
    brokers: Option<String>,
}

impl Connection {
    fn resolve(&self) -> anyhow::Result<(rdkafka::ClientConfig, Topics)> {
        match (&self.config, &self.brokers) {
            (Some(path), _) => {
                let live = load_live(path)?;
                Ok((
                    kafka::client_config(
                        &live.kafka.brokers,
                        &live.kafka.client_id,
                        &live.kafka.properties,
                    ),
                    live.topics,
                ))
            }
            (None, Some(brokers)) => Ok((
                kafka::client_config(brokers, "pumpwatch", &Default::default()),
                Topics::default(),
            )),
            (None, None) => {
                anyhow::bail!("say where the brokers are: --brokers ADDR or --config FILE")
            }
        }
    }
}

fn load_live(path: &Path) -> anyhow::Result<LiveConfig> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read config {}", path.display()))?;
    let base = path.parent().unwrap_or(Path::new("."));
    LiveConfig::from_toml(&text, base)
        .map_err(|e| anyhow::anyhow!("invalid config {}: {e}", path.display()))
}

#[derive(Debug, Args)]
pub struct PublishArgs {
    /// Any replay input: an event file, a directory of per-type files (or of one file of every
    /// type, events.*), or - for standard input.
    pub input: PathBuf,
    #[command(flatten)]
    connection: Connection,
    /// Events per second at most (default: as fast as the brokers take them).
    #[arg(long)]
    rate: Option<f64>,
}

pub fn publish(args: PublishArgs) -> anyhow::Result<()> {
    if args.rate.is_some_and(|r| !(r > 0.0 && r.is_finite())) {
        anyhow::bail!("--rate must be a positive number of events per second");
    }
    let (base, topics) = args.connection.resolve()?;
    let source = if args.input == Path::new("-") {
        pumpwatch_replay::open_stdin(&Default::default())
    } else {
        pumpwatch_replay::open_with(&args.input, &Default::default())?
    };
    let report = pumpwatch_live::publish::publish(&base, &topics, source, args.rate)?;
    eprintln!(
        "pumpwatch: published {} events and {} invalid records as written{}",
        report.events,
        report.invalid_published,
        if report.invalid_unroutable > 0 {
            format!(
                "; {} invalid records claim no type and were not published",
                report.invalid_unroutable
            )
        } else {
            String::new()
        }
    );
    Ok(())
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The live config (see config/live.example.toml). The environment variable
    /// PUMPWATCH_BROKERS, when set, replaces its kafka.brokers.
    #[arg(long)]
    config: PathBuf,
    /// Stop once every input partition is consumed to its end, flushing the engines as a
    /// replay does at the end of its input.
    #[arg(long)]
    until_end: bool,
    /// Serve the metrics here instead of the config's metrics.listen ("" for none).
    #[arg(long)]
    metrics_listen: Option<String>,
}

pub fn run(args: RunArgs) -> anyhow::Result<()> {
    let mut live = load_live(&args.config)?;
    // The brokers may come from the environment (a ConfigMap shared by clusters).
    if let Some(brokers) = std::env::var("PUMPWATCH_BROKERS")
        .ok()
        .filter(|b| !b.is_empty())
    {
        live.kafka.brokers = brokers;
        live.validate()
            .map_err(|e| anyhow::anyhow!("PUMPWATCH_BROKERS: {e}"))?;
    }
    if let Some(listen) = args.metrics_listen {
        live.metrics.listen = listen;
        live.validate()
            .map_err(|e| anyhow::anyhow!("--metrics-listen: {e}"))?;
    }
    let engine_config = config::load(live.engine_config.as_deref())?;
    let report = pumpwatch_live::run(
        &live,
        &engine_config,
        &RunOptions {
            until_end: args.until_end,
        },
    )?;
    if report.already_finished && report.records == 0 {
        eprintln!("pumpwatch: the checkpoint is of a finished run: nothing to do");
    } else {
        eprintln!(
            "pumpwatch: {} records, {} alerts produced{}{}, {} checkpoints, {} assignments",
            report.records,
            report.alerts,
            if report.resumed {
                " (resumed from the checkpoint)"
            } else {
                ""
            },
            if report.alerts_already_produced > 0 {
                format!(
                    ", {} found on the alert topic already",
                    report.alerts_already_produced
                )
            } else {
                String::new()
            },
            report.checkpoints,
            report.generations
        );
    }
    Ok(())
}

#[derive(Debug, Args)]
pub struct AlertsArgs {
    #[command(flatten)]
    connection: Connection,
    /// The alert topic (default: the config's, or pumpwatch.alerts).
    #[arg(long)]
    topic: Option<String>,
    /// Print in firing order (the order replay prints), not partition by partition.
    #[arg(long)]
    firing_order: bool,
}

/// Prints everything on the alert topic now, one alert per line.
pub fn alerts(args: AlertsArgs) -> anyhow::Result<()> {
    let (base, topics) = args.connection.resolve()?;
    let topic = args.topic.unwrap_or(topics.alerts);
    let alerts = pumpwatch_live::feed::read_alerts(
        &base,
        &topic,
        args.firing_order,
        Duration::from_secs(300),
    )?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for alert in alerts {
        writeln!(out, "{}", alert.line)?;
    }
    out.flush()?;
    Ok(())
}

#[derive(Debug, Args)]
pub struct TopicsArgs {
    #[command(subcommand)]
    command: TopicsCommand,
}

#[derive(Debug, Subcommand)]
enum TopicsCommand {
    /// Create the input, alert and dead-letter topics that do not exist yet.
    Create {
        #[command(flatten)]
        connection: Connection,
        /// Partitions per topic. The accounts are split into as many shares as the orders
        /// topic has partitions.
        #[arg(long, default_value_t = 3)]
        partitions: i32,
    },
}

pub fn topics(args: TopicsArgs) -> anyhow::Result<()> {
    match args.command {
        TopicsCommand::Create {
            connection,
            partitions,
        } => {
            if !(1..=10_000).contains(&partitions) {
                anyhow::bail!("--partitions must be 1..=10000");
            }
            let (base, topics) = connection.resolve()?;
            let mut names: Vec<&str> = topics.inputs().into_iter().map(|(_, n)| n).collect();
            names.push(&topics.alerts);
            names.push(&topics.dead_letter);
            let existed = kafka::create_topics(&base, &names, partitions)?;
            for name in &names {
                let state = if existed.iter().any(|e| e == name) {
                    "exists"
                } else {
                    "created"
                };
                eprintln!("pumpwatch: topic {name}: {state}");
            }
            Ok(())
        }
    }
}
