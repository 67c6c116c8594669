//! `pumpwatch eval`: scores alerts against a simulated day's labels.

use std::path::PathBuf;

use clap::Args;

#[derive(Debug, Args)]
pub struct EvalArgs {
    /// The alerts (NDJSON, as `replay` prints them).
    #[arg(long)]
    pub alerts: PathBuf,
    /// The labels file `simulate` wrote (labels.json).
    #[arg(long)]
    pub labels: PathBuf,
    /// Print the report as JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: EvalArgs) -> anyhow::Result<()> {
    let report = pumpwatch_sim::eval::evaluate(&args.alerts, &args.labels)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", report.to_text());
    }
    Ok(())
}
