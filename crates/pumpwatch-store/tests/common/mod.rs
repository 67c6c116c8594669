//! Stores for tests: a fresh SQLite file, and a fresh PostgreSQL database on the server that
//! `PUMPWATCH_TEST_POSTGRES` names (an admin URL, e.g. `postgres://postgres@127.0.0.1:5432/postgres`;
//! the test command starts one). Without it the PostgreSQL half is skipped with a word on
//! stderr, except under CI, where it fails.

#![allow(dead_code)]

use pumpwatch_store::Store;
use sqlx::{Connection, Executor};

/// A store and what keeps it alive.
pub struct TestStore {
    pub store: Store,
    pub url: String,
    _dir: Option<tempfile::TempDir>,
}

pub async fn sqlite() -> TestStore {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("alerts.db").display());
    let store = Store::open(&url).await.unwrap();
    TestStore {
        store,
        url,
        _dir: Some(dir),
    }
}

/// A fresh database on the test PostgreSQL server, or `None` when there is none.
pub async fn postgres() -> Option<TestStore> {
    let admin = match std::env::var("PUMPWATCH_TEST_POSTGRES") {
        Ok(url) if !url.is_empty() => url,
        _ => {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI runs the PostgreSQL tests: set PUMPWATCH_TEST_POSTGRES (scripts/test.sh does)"
            );
            eprintln!(
                "PUMPWATCH_TEST_POSTGRES is not set: the PostgreSQL half of this test is skipped"
            );
            return None;
        }
    };
    let name = format!("pumpwatch_test_{:016x}", rand::random::<u64>());
    let mut conn = sqlx::PgConnection::connect(&admin).await.unwrap();
    conn.execute(format!("CREATE DATABASE {name}").as_str())
        .await
        .unwrap();
    conn.close().await.unwrap();
    let (base, _) = admin.rsplit_once('/').unwrap();
    let url = format!("{base}/{name}");
    let store = Store::open(&url).await.unwrap();
    Some(TestStore {
        store,
        url,
        _dir: None,
    })
}

/// The stores a test runs on: SQLite always, PostgreSQL when there is a server.
pub async fn each_backend() -> Vec<TestStore> {
    let mut stores = vec![sqlite().await];
    stores.extend(postgres().await);
    stores
}

/// An alert line of the contract.
pub fn alert_line(id: &str, ts: &str, score: u8, account: &str, symbol: &str) -> String {
    let severity = pumpwatch_model::Severity::from_score(score).as_str();
    serde_json::json!({
        "alert_id": id,
        "rule": "ato_liquidation_thin_buy",
        "ts": ts,
        "score": score,
        "severity": severity,
        "account_ids": [account],
        "symbols": [symbol],
        "summary": format!("Account {account} sold its portfolio and bought thin {symbol}"),
        "evidence": [{"type": "order", "id": format!("O-{id}"), "ts": ts, "account_id": account,
                      "symbol": symbol, "side": "buy", "qty": 1000, "price": 112.5}],
        "features": {"liquidated_fraction": {"value": 1.0, "threshold": 0.5, "op": ">=", "crossed": true}},
        "action": "hold_orders",
        "config_version": "test-1"
    })
    .to_string()
}

/// The scenario days' golden alerts, stored with their days' context (holdings, bars,
/// executions): real alerts for the API and UI tests. Returns the alert ids.
pub async fn seed_scenarios(store: &Store) -> Vec<String> {
    use pumpwatch_store::alerts::IncomingAlert;
    use pumpwatch_store::context::ContextBuilder;
    let dir = std::path::PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap())
        .join("../../fixtures/scenarios");
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".expected.ndjson"))
        .collect();
    names.sort();
    let mut ids = Vec::new();
    for name in names {
        let alerts: Vec<IncomingAlert> = std::fs::read_to_string(dir.join(&name))
            .unwrap()
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| IncomingAlert::from_line(l).unwrap())
            .collect();
        if alerts.is_empty() {
            continue;
        }
        let day =
            std::fs::read_to_string(dir.join(name.replace(".expected.ndjson", ".ndjson"))).unwrap();
        let parsed: Vec<_> = alerts.iter().map(|a| a.alert.clone()).collect();
        let mut builder = ContextBuilder::new(&parsed);
        for line in day.lines().filter(|l| !l.trim().is_empty()) {
            builder.observe(&pumpwatch_model::decode_json_line(line.as_bytes(), None).unwrap());
        }
        let context = builder.finish();
        store.put_market_context(&context).await.unwrap();
        store
            .ingest_alerts(
                "system:test",
                &alerts,
                &pumpwatch_store::cases::Grouping::default(),
            )
            .await
            .unwrap();
        store.put_holdings(&context).await.unwrap();
        ids.extend(alerts.iter().map(|a| a.alert.alert_id.clone()));
    }
    ids
}
