//! `pumpwatch simulate`: writes a seeded, labelled market day.

use std::path::PathBuf;
use std::time::Instant;

use clap::{Args, ValueEnum};
use pumpwatch_sim::{Layout, Shape, SimParams};

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LayoutArg {
    /// One file per event type (instruments.ndjson, orders.ndjson, ...).
    PerType,
    /// One events.ndjson with every type merged by event time.
    Mixed,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ShapeArg {
    /// As real feeds: the snapshot at one instant, the tape to the millisecond in bursts.
    Realistic,
    /// The tidier earlier day: every reference row and print at its own microsecond.
    Spread,
}

#[derive(Debug, Args)]
pub struct SimulateArgs {
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    #[arg(long, default_value_t = 10_000)]
    pub accounts: u32,
    #[arg(long, default_value_t = 400)]
    pub symbols: u32,
    /// The directory to write the day and its labels.json to.
    #[arg(long)]
    pub out: PathBuf,
    /// The trading date (YYYY-MM-DD).
    #[arg(long, default_value = "2025-03-17")]
    pub date: String,
    #[arg(long, value_enum, default_value = "per-type")]
    pub layout: LayoutArg,
    /// Takeover campaigns to inject (default: scales with accounts).
    #[arg(long)]
    pub campaigns: Option<u32>,
    /// Innocent look-alikes of each kind (default: scales with accounts).
    #[arg(long)]
    pub lookalikes: Option<u32>,
    /// Deliberately malformed lines per million, to exercise quarantine.
    #[arg(long, default_value_t = 0)]
    pub invalid_per_million: u32,
    /// How the feeds are stamped.
    #[arg(long, value_enum, default_value = "realistic")]
    pub shape: ShapeArg,
    /// Leave out the auth feed (a broker that sends none): detection without login context.
    #[arg(long)]
    pub without_auth: bool,
    /// Write instruments without adv_shares and shares_outstanding: detection on bare
    /// reference data.
    #[arg(long)]
    pub bare_reference: bool,
}

pub fn run(args: SimulateArgs) -> anyhow::Result<()> {
    let params = SimParams {
        seed: args.seed,
        accounts: args.accounts,
        symbols: args.symbols,
        date: args.date,
        layout: match args.layout {
            LayoutArg::PerType => Layout::PerType,
            LayoutArg::Mixed => Layout::Mixed,
        },
        campaigns: args.campaigns,
        lookalikes: args.lookalikes,
        invalid_per_million: args.invalid_per_million,
        shape: match args.shape {
            ShapeArg::Realistic => Shape::Realistic,
            ShapeArg::Spread => Shape::Spread,
        },
        auth_feed: !args.without_auth,
        bare_reference: args.bare_reference,
    };
    let started = Instant::now();
    let summary = pumpwatch_sim::simulate(&params, &args.out)?;
    eprintln!(
        "simulated {} events ({} campaigns, {} victims, {} active accounts) into {} in {:.1} s",
        summary.events_total,
        summary.campaigns,
        summary.victims,
        summary.active_accounts,
        args.out.display(),
        started.elapsed().as_secs_f64()
    );
    for (kind, count) in &summary.events_by_type {
        eprintln!("  {kind:<12} {count}");
    }
    Ok(())
}
