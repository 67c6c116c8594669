//! Shared input of the benchmarks: the lines of a simulated day, from `PUMPWATCH_BENCH_DAY`
//! (a mixed `events.ndjson`) or, by default, a small day simulated on the spot.

use std::path::PathBuf;

use pumpwatch_model::{decode_json_line, Event};

/// Lines of a mixed NDJSON day, at most `max_lines` of them.
pub fn day_lines(max_lines: usize) -> Vec<String> {
    let path = match std::env::var_os("PUMPWATCH_BENCH_DAY") {
        Some(path) => PathBuf::from(path),
        None => simulate_small_day(),
    };
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .take(max_lines)
        .map(str::to_string)
        .collect()
}

/// The valid events among `lines`.
pub fn decode_all(lines: &[String]) -> Vec<Event> {
    lines
        .iter()
        .filter_map(|l| decode_json_line(l.as_bytes(), None).ok())
        .collect()
}

fn simulate_small_day() -> PathBuf {
    let dir = std::env::temp_dir().join("pumpwatch-bench-day");
    let path = dir.join("events.ndjson");
    if !path.exists() {
        let params = pumpwatch_sim::SimParams {
            seed: 7,
            accounts: 20_000,
            symbols: 800,
            date: "2025-03-17".to_string(),
            layout: pumpwatch_sim::Layout::Mixed,
            campaigns: None,
            lookalikes: None,
            invalid_per_million: 0,
            shape: pumpwatch_sim::Shape::Realistic,
            auth_feed: true,
            bare_reference: false,
        };
        pumpwatch_sim::simulate(&params, &dir).expect("simulate the benchmark day");
    }
    path
}
