//! The alert queue's figures: alerts stored per second, then the latency of the queue page and
//! of the alert page through the real HTTP server with that many alerts in the store.
//!
//! ```sh
//! cargo run --release -p pumpwatch-benches --bin queue_bench -- --store sqlite:///tmp/q.db --alerts 100000
//! cargo run --release -p pumpwatch-benches --bin queue_bench -- --store postgres://postgres@127.0.0.1:55432/bench
//! ```
//!
//! The alerts are synthetic but shaped like a month of real ones: 20 trading days, 400
//! symbols of which a few dozen draw most alerts, 50k accounts, each alert with its evidence
//! and features (about 2 KB of JSON). The store must be empty (a fresh file or database).

use std::time::{Duration, Instant};

use pumpwatch_store::alerts::IncomingAlert;
use pumpwatch_store::cases::Grouping;
use pumpwatch_store::users::Role;
use pumpwatch_store::Store;
use serde_json::json;

struct Args {
    store: String,
    alerts: usize,
    requests: usize,
}

fn args() -> Args {
    let mut args = Args {
        store: String::new(),
        alerts: 100_000,
        requests: 300,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().unwrap_or_default();
        match flag.as_str() {
            "--store" => args.store = value,
            "--alerts" => args.alerts = value.parse().expect("--alerts N"),
            "--requests" => args.requests = value.parse().expect("--requests N"),
            other => panic!("unknown flag {other}"),
        }
    }
    assert!(!args.store.is_empty(), "--store URL");
    args
}

/// A deterministic stream of numbers (splitmix64), so every run stores the same alerts.
struct Mix(u64);

impl Mix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn symbol(mix: &mut Mix) -> String {
    // Two alerts in three hit one of 40 targets; the rest spread over 400 codes.
    let n = if mix.below(3) < 2 {
        mix.below(40)
    } else {
        mix.below(400)
    };
    if n % 37 == 5 {
        format!("{}{}A", 130 + n / 37, n % 10)
    } else {
        format!("{}", 2000 + n * 13)
    }
}

/// Alert `i` of `total`, the total spread over 20 trading days in March 2025.
fn alert_line(i: usize, total: usize, mix: &mut Mix) -> String {
    let day = 3 + i * 20 / total.max(1);
    let second = 9 * 3600 + mix.below(6 * 3600 + 1800);
    let ts = format!(
        "2025-03-{:02}T{:02}:{:02}:{:02}+09:00",
        day,
        second / 3600,
        second / 60 % 60,
        second % 60
    );
    let account = format!("A{:07}", mix.below(50_000));
    let sym = symbol(mix);
    let score = 40 + mix.below(61);
    let severity = pumpwatch_model::Severity::from_score(score as u8).as_str();
    let price = 100 + mix.below(900);
    let evidence: Vec<_> = (0..5)
        .map(|k| {
            json!({"type": if k == 0 { "auth" } else { "order" }, "id": format!("O{i}-{k}"), "ts": ts,
                   "account_id": account, "symbol": if k == 0 { None } else { Some(&sym) },
                   "side": if k < 3 { "sell" } else { "buy" }, "qty": 100 * (k + 1), "price": price,
                   "notional": price * 100 * (k + 1), "note": "new device or ip, foreign country, no mfa"})
        })
        .collect();
    json!({
        "alert_id": format!("{:032x}", (u128::from(mix.next()) << 64) | i as u128),
        "rule": "ato_liquidation_thin_buy", "ts": ts, "score": score, "severity": severity,
        "account_ids": [account], "symbols": [sym],
        "summary": format!("Account {account} sold 100% of its ¥8.8M portfolio (2 sell orders) within 10 min, then ordered ¥5.8M (66% of the proceeds) of thin symbol {sym} at about ¥{price} that it did not hold."),
        "evidence": evidence,
        "features": {
            "liquidated_fraction": {"value": 1.0, "threshold": 0.5, "op": ">=", "crossed": true},
            "proceeds_into_thin": {"value": 0.66, "threshold": 0.3, "op": ">=", "crossed": true},
            "thin_adv_multiple": {"value": 3.3, "threshold": 1.0, "op": ">=", "crossed": true},
            "minutes_sell_to_buy": {"value": 10.0, "threshold": 60.0, "op": "<=", "crossed": true},
            "foreign_login": {"value": 1.0}, "new_device": {"value": 1.0}
        },
        "action": "hold_orders", "config_version": "bench-1"
    })
    .to_string()
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx].as_secs_f64() * 1000.0
}

async fn measure(client: &reqwest::Client, token: &str, urls: &[String]) -> (f64, f64, f64) {
    let mut times = Vec::with_capacity(urls.len());
    for url in urls {
        let started = Instant::now();
        let response = client.get(url).bearer_auth(token).send().await.unwrap();
        assert!(
            response.status().is_success(),
            "{url}: {}",
            response.status()
        );
        let _ = response.bytes().await.unwrap();
        times.push(started.elapsed());
    }
    times.sort();
    (
        percentile(&times, 0.5),
        percentile(&times, 0.99),
        times.last().unwrap().as_secs_f64() * 1000.0,
    )
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args = args();
    let store = Store::open(&args.store).await.unwrap();
    let mut mix = Mix(7);
    let lines: Vec<String> = (0..args.alerts)
        .map(|i| alert_line(i, args.alerts, &mut mix))
        .collect();
    let bytes: usize = lines.iter().map(String::len).sum();
    let alerts: Vec<_> = lines
        .iter()
        .map(|l| IncomingAlert::from_line(l).unwrap())
        .collect();

    let started = Instant::now();
    let mut report = pumpwatch_store::alerts::IngestReport::default();
    for chunk in alerts.chunks(2_000) {
        let r = store
            .ingest_alerts("system:bench", chunk, &Grouping::default())
            .await
            .unwrap();
        report.stored += r.stored;
        report.grouped += r.grouped;
    }
    let took = started.elapsed().as_secs_f64();
    println!(
        "ingest: {} alerts ({:.1} MB of JSON) stored in {:.2} s: {:.0} alerts/s; {} in cases",
        report.stored,
        bytes as f64 / 1e6,
        took,
        report.stored as f64 / took,
        report.grouped
    );
    let started = Instant::now();
    let again = store
        .ingest_alerts(
            "system:bench",
            &alerts[..10_000.min(alerts.len())],
            &Grouping::default(),
        )
        .await
        .unwrap();
    println!(
        "ingest again: {} alerts already stored, checked in {:.2} s",
        again.already_stored,
        started.elapsed().as_secs_f64()
    );

    let (_, token) = store
        .add_user("system:bench", "bench", Role::Supervisor, None)
        .await
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(pumpwatch_web::serve(
        pumpwatch_web::AppState::new(store.clone()),
        listener,
        std::future::pending(),
    ));
    let client = reqwest::Client::new();
    let n = args.requests;
    let mut m = Mix(11);
    let sample_ids: Vec<String> = (0..n)
        .map(|_| {
            alerts[m.below(alerts.len() as u64) as usize]
                .alert
                .alert_id
                .clone()
        })
        .collect();
    let sample_symbols: Vec<String> = (0..n)
        .map(|_| alerts[m.below(alerts.len() as u64) as usize].alert.symbols[0].clone())
        .collect();
    let sample_accounts: Vec<String> = (0..n)
        .map(|_| {
            alerts[m.below(alerts.len() as u64) as usize]
                .alert
                .account_ids[0]
                .clone()
        })
        .collect();
    // Warm up the connection and the database's caches.
    measure(&client, &token, &vec![format!("{base}/api/alerts"); 20]).await;

    let cases: Vec<(&str, Vec<String>)> = vec![
        ("queue: new, riskiest first, page 1", vec![format!("{base}/api/alerts?state=new"); n]),
        ("queue: all, newest first, page 20", vec![format!("{base}/api/alerts?sort=time&page=20"); n]),
        ("queue: one symbol", sample_symbols.iter().map(|s| format!("{base}/api/alerts?symbol={s}")).collect()),
        ("queue: one account", sample_accounts.iter().map(|a| format!("{base}/api/alerts?account={a}")).collect()),
        (
            "queue: critical, one day",
            vec![format!("{base}/api/alerts?severity=critical&from=2025-03-10T00:00:00%2B09:00&to=2025-03-11T00:00:00%2B09:00"); n],
        ),
        ("counts per state", vec![format!("{base}/api/alerts/counts"); n]),
        ("alert page", sample_ids.iter().map(|id| format!("{base}/api/alerts/{id}")).collect()),
    ];
    println!(
        "latency over {n} requests each, {} alerts in the store (ms):",
        report.stored
    );
    for (name, urls) in cases {
        let (p50, p99, max) = measure(&client, &token, &urls).await;
        println!("  {name:38} p50 {p50:7.2}  p99 {p99:7.2}  max {max:7.2}");
    }
}
