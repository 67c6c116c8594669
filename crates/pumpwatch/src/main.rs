//! The `pumpwatch` command line: parses flags, sets up logging, and hands over to the command.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod allocator;
mod config;
mod eval_cmd;
mod live_cmd;
mod merge_cmd;
mod output;
mod replay_cmd;
mod resume;
mod simulate_cmd;
mod store_cmd;
mod summary;
mod tune_cmd;

/// pumpwatch — catches account-takeover pump-and-dump manipulation while it is happening.
#[derive(Debug, Parser)]
#[command(name = "pumpwatch", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Replay a historical day: alerts as NDJSON on stdout, a summary on stderr.
    Replay(replay_cmd::ReplayArgs),
    /// Generate a seeded, labelled TSE-like market day with takeover campaigns and look-alikes.
    Simulate(simulate_cmd::SimulateArgs),
    /// Score an alert file against a simulated day's labels.
    Eval(eval_cmd::EvalArgs),
    /// Sweep a rule's thresholds over labelled days: the precision/recall trade-off, and the
    /// chosen thresholds written to a config file.
    Tune(tune_cmd::TuneArgs),
    /// Read and validate an input without running the engine (counts, quarantine, parse rate).
    Check(replay_cmd::CheckArgs),
    /// Convert an input (file or directory) to per-type NDJSON, CSV or Parquet files.
    Convert(replay_cmd::ConvertArgs),
    /// Merge the alert files of the partitions of a split run (replay --partition I/N) into
    /// the alerts one run gives, in its order.
    MergeAlerts(merge_cmd::MergeArgs),
    /// Load an alert file into the alert store (with its day's context when given).
    Ingest(store_cmd::IngestArgs),
    /// Manage the alert store's users and their API tokens.
    Users(store_cmd::UsersArgs),
    /// Check the alert store's audit log.
    Audit(store_cmd::AuditArgs),
    /// Serve the analysts' alert queue: the API under /api and the web UI at /.
    Serve(store_cmd::ServeArgs),
    /// Publish a day (any replay input) to the contract's Kafka topics.
    Publish(live_cmd::PublishArgs),
    /// Run the live pipeline: consume the Kafka topics, produce alerts and dead letters.
    Run(live_cmd::RunArgs),
    /// Print the alert topic, one alert per line (in firing order with --firing-order).
    Alerts(live_cmd::AlertsArgs),
    /// Create the pipeline's Kafka topics.
    Topics(live_cmd::TopicsArgs),
    /// Print the JSON Schema of an alert (the alert feed's contract).
    Schema {
        #[arg(value_enum)]
        what: SchemaKind,
    },
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
enum SchemaKind {
    Alert,
}

fn main() -> ExitCode {
    allocator::keep_freed_memory();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("PUMPWATCH_LOG")
                .unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Replay(args) => replay_cmd::run(args),
        Command::Simulate(args) => simulate_cmd::run(args),
        Command::Eval(args) => eval_cmd::run(args),
        Command::Tune(args) => tune_cmd::run(args),
        Command::Check(args) => replay_cmd::check(args),
        Command::Convert(args) => replay_cmd::convert(args),
        Command::MergeAlerts(args) => merge_cmd::run(args),
        Command::Ingest(args) => store_cmd::ingest(args),
        Command::Users(args) => store_cmd::users(args),
        Command::Audit(args) => match store_cmd::audit(args) {
            Ok(true) => Ok(()),
            Ok(false) => return ExitCode::from(1),
            Err(err) => Err(err),
        },
        Command::Serve(args) => store_cmd::serve(args),
        Command::Publish(args) => live_cmd::publish(args),
        Command::Run(args) => live_cmd::run(args),
        Command::Alerts(args) => live_cmd::alerts(args),
        Command::Topics(args) => live_cmd::topics(args),
        Command::Schema {
            what: SchemaKind::Alert,
        } => serde_json::to_string_pretty(&pumpwatch_model::Alert::json_schema())
            .map(|text| println!("{text}"))
            .map_err(anyhow::Error::from),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("pumpwatch: error: {}", one_line_reason(&err));
            ExitCode::from(2)
        }
    }
}

/// One line a scheduler can log: the error and each cause it does not already say.
fn one_line_reason(err: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in err.chain() {
        let text = cause.to_string().replace('\n', " ");
        if line.contains(&text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    line
}
