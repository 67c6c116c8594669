//! The run summary printed on standard error: what was read, what was rejected and why, what
//! fired, and how fast.

use std::fmt::Write as _;
use std::time::Duration;

use pumpwatch_core::EngineStats;
use pumpwatch_model::EventType;

pub use pumpwatch_driver::RunCounts;

/// How many records went to which quarantine file.
#[derive(Debug)]
pub struct Quarantine {
    pub records: u64,
    pub path: String,
}

/// The summary; `stats` is `None` for a parse-only `check`.
pub fn render(
    counts: &RunCounts,
    quarantine: Option<&Quarantine>,
    stats: Option<&EngineStats>,
    wall: Duration,
) -> String {
    let mut s = String::new();
    let secs = wall.as_secs_f64().max(1e-9);
    let records = counts.read_total() + counts.invalid_total();
    let _ = writeln!(
        s,
        "pumpwatch {} summary",
        if stats.is_some() { "replay" } else { "check" }
    );
    let by_type: Vec<String> = EventType::ALL
        .iter()
        .filter(|t| counts.read_by_type[t.index()] > 0)
        .map(|t| format!("{} {}", t.as_str(), counts.read_by_type[t.index()]))
        .collect();
    let _ = writeln!(
        s,
        "  events read    {} ({})",
        counts.read_total(),
        by_type.join(", ")
    );
    if counts.invalid_total() == 0 {
        let _ = writeln!(s, "  invalid        0");
    } else {
        let reasons: Vec<String> = counts
            .invalid_by_label
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect();
        let _ = writeln!(
            s,
            "  invalid        {} ({})",
            counts.invalid_total(),
            reasons.join(", ")
        );
    }
    if let Some(q) = quarantine {
        let _ = writeln!(s, "  quarantined    {} → {}", q.records, q.path);
    }
    if let Some(stats) = stats {
        engine_lines(&mut s, stats);
    }
    let _ = writeln!(
        s,
        "  wall time      {:.3} s, {:.0} events/s",
        secs,
        records as f64 / secs
    );
    s
}

fn engine_lines(s: &mut String, stats: &EngineStats) {
    let rules: Vec<String> = stats
        .alerts_by_rule
        .iter()
        .map(|(k, v)| format!("{k} {v}"))
        .collect();
    let _ = writeln!(
        s,
        "  alerts         {}{}",
        stats.alerts_total(),
        if rules.is_empty() {
            String::new()
        } else {
            format!(" ({})", rules.join(", "))
        }
    );
    let _ = writeln!(
        s,
        "  state          {} accounts, {} symbols, {} login IPs and devices",
        stats.accounts_tracked, stats.symbols_tracked, stats.shared_login_keys
    );
    let _ = writeln!(
        s,
        "  reorder        at most {} events waited at once for event time to pass them",
        stats.reorder_depth_max
    );
    let limits: Vec<String> = stats
        .limit_hits()
        .iter()
        .filter(|l| l.hits > 0)
        .map(|l| format!("{} {}", l.hits, l.what))
        .collect();
    if !limits.is_empty() {
        let _ = writeln!(s, "  limits hit     {}", limits.join(", "));
    }
}
