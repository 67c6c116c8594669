//! Generates one day and prints the summary and wall time, for sizing runs:
//! `cargo run --release -p pumpwatch-sim --example bigday -- OUT_DIR [ACCOUNTS] [SYMBOLS] [SEED] [mixed]`

use std::time::Instant;

use pumpwatch_sim::{simulate, Layout, SimParams};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let out = args
        .first()
        .ok_or("usage: bigday OUT_DIR [ACCOUNTS] [SYMBOLS] [SEED] [mixed]")?;
    let params = SimParams {
        accounts: args.get(1).map_or(Ok(400_000), |s| s.parse())?,
        symbols: args.get(2).map_or(Ok(3_900), |s| s.parse())?,
        seed: args.get(3).map_or(Ok(1), |s| s.parse())?,
        layout: if args.get(4).is_some_and(|s| s == "mixed") {
            Layout::Mixed
        } else {
            Layout::PerType
        },
        ..SimParams::default()
    };
    let started = Instant::now();
    let summary = simulate(&params, std::path::Path::new(out))?;
    let secs = started.elapsed().as_secs_f64();
    for (ty, n) in &summary.events_by_type {
        println!("{ty:<12} {n:>12}");
    }
    println!("{:<12} {:>12}", "total", summary.events_total);
    println!(
        "campaigns {} victims {} lookalikes {} active accounts {} invalid {}",
        summary.campaigns,
        summary.victims,
        summary.lookalikes,
        summary.active_accounts,
        summary.invalid_injected
    );
    println!("wall time {secs:.2} s");
    Ok(())
}
