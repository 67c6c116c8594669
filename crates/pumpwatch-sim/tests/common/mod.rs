//! Shared helpers for the integration tests: generate a small day, read its files back.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::Path;

use pumpwatch_sim::{simulate, Labels, Layout, SimParams, SimSummary};
use serde_json::Value;

/// A small day that still has every campaign variant and look-alike kind.
pub fn small_params(seed: u64, layout: Layout) -> SimParams {
    SimParams {
        seed,
        accounts: 3_000,
        symbols: 60,
        date: "2025-03-17".to_string(),
        layout,
        campaigns: None,
        lookalikes: None,
        invalid_per_million: 0,
        shape: pumpwatch_sim::Shape::Realistic,
        auth_feed: true,
        bare_reference: false,
    }
}

pub fn generate(params: &SimParams) -> (tempfile::TempDir, SimSummary) {
    let dir = tempfile::tempdir().expect("tempdir");
    let summary = simulate(params, dir.path()).expect("simulate");
    (dir, summary)
}

pub fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .map(str::to_string)
        .collect()
}

pub fn events(dir: &Path, stem: &str) -> Vec<Value> {
    lines(&dir.join(format!("{stem}.ndjson")))
        .iter()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{stem}: {e}: {l}")))
        .collect()
}

pub fn labels(dir: &Path) -> Labels {
    serde_json::from_slice(&std::fs::read(dir.join("labels.json")).expect("labels"))
        .expect("labels json")
}

/// Microseconds since the epoch of an RFC 3339 time.
pub fn micros(ts: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(ts)
        .unwrap_or_else(|e| panic!("bad ts {ts}: {e}"))
        .timestamp_micros()
}

/// A decimal that may be a JSON number or a numeric string.
pub fn dec(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

pub fn s<'a>(e: &'a Value, k: &str) -> &'a str {
    e.get(k).and_then(Value::as_str).unwrap_or("")
}

/// Everything the label checks need, indexed by account.
pub struct Day {
    pub prev_close: BTreeMap<String, f64>,
    pub instruments: BTreeMap<String, Value>,
    pub positions: BTreeMap<String, BTreeMap<String, u64>>,
    pub orders: BTreeMap<String, Vec<Value>>,
    pub execs: BTreeMap<String, Vec<Value>>,
    pub auth: BTreeMap<String, Vec<Value>>,
    pub tape_volume: BTreeMap<String, u64>,
}

impl Day {
    pub fn load(dir: &Path) -> Day {
        let mut d = Day {
            prev_close: BTreeMap::new(),
            instruments: BTreeMap::new(),
            positions: BTreeMap::new(),
            orders: BTreeMap::new(),
            execs: BTreeMap::new(),
            auth: BTreeMap::new(),
            tape_volume: BTreeMap::new(),
        };
        for e in events(dir, "instruments") {
            let sym = s(&e, "symbol").to_string();
            d.prev_close
                .insert(sym.clone(), dec(&e["prev_close"]).expect("prev_close"));
            d.instruments.insert(sym, e);
        }
        for e in events(dir, "positions") {
            d.positions
                .entry(s(&e, "account_id").to_string())
                .or_default()
                .insert(s(&e, "symbol").to_string(), e["qty"].as_u64().expect("qty"));
        }
        for (stem, map) in [
            ("orders", &mut d.orders),
            ("executions", &mut d.execs),
            ("auth", &mut d.auth),
        ] {
            for e in events(dir, stem) {
                map.entry(s(&e, "account_id").to_string())
                    .or_default()
                    .push(e);
            }
        }
        for e in events(dir, "trades") {
            *d.tape_volume
                .entry(s(&e, "symbol").to_string())
                .or_default() += e["qty"].as_u64().expect("qty");
        }
        d
    }

    /// Start-of-day portfolio value at previous closes.
    pub fn sod_value(&self, acct: &str) -> f64 {
        self.positions.get(acct).map_or(0.0, |p| {
            p.iter()
                .map(|(sym, q)| *q as f64 * self.prev_close[sym])
                .sum()
        })
    }

    /// Value of fills on one side, optionally only for some symbols.
    pub fn filled(&self, acct: &str, side: &str, only: Option<&[String]>) -> f64 {
        self.execs.get(acct).map_or(0.0, |xs| {
            xs.iter()
                .filter(|x| s(x, "side") == side)
                .filter(|x| only.is_none_or(|o| o.iter().any(|sym| sym == s(x, "symbol"))))
                .map(|x| x["qty"].as_f64().unwrap_or(0.0) * dec(&x["price"]).unwrap_or(0.0))
                .sum()
        })
    }

    /// Sold value at previous closes, as a share of the start-of-day value.
    pub fn sold_share(&self, acct: &str) -> f64 {
        let sold: f64 = self.execs.get(acct).map_or(0.0, |xs| {
            xs.iter()
                .filter(|x| s(x, "side") == "sell")
                .map(|x| x["qty"].as_f64().unwrap_or(0.0) * self.prev_close[s(x, "symbol")])
                .sum()
        });
        sold / self.sod_value(acct).max(1.0)
    }

    pub fn bought_symbols(&self, acct: &str) -> Vec<String> {
        let mut v: Vec<String> = self.execs.get(acct).map_or(Vec::new(), |xs| {
            xs.iter()
                .filter(|x| s(x, "side") == "buy")
                .map(|x| s(x, "symbol").to_string())
                .collect()
        });
        v.sort();
        v.dedup();
        v
    }

    pub fn holds(&self, acct: &str, sym: &str) -> bool {
        self.positions
            .get(acct)
            .is_some_and(|p| p.contains_key(sym))
    }
}
