//! Helpers shared by the integration tests: a small day of valid events covering every type
//! and field shape, and draining a source into a list.

#![allow(dead_code)]

use std::path::Path;

use pumpwatch_model::{decode_json_line, Event};
use pumpwatch_replay::{Record, Source};

/// Valid events of every type, in `(ts, type)` order, which is the order a directory merge
/// produces. They vary offsets, fraction digits, decimal forms, escapes and optional fields.
pub fn day_lines() -> Vec<&'static str> {
    let lines = vec![
        r#"{"type":"instrument","ts":"2025-03-17T08:00:00+09:00","symbol":"7992","prev_close":105,"name":"Sailor Pen, \"the\" 万年筆","market":"TSE-Standard","currency":"JPY","lot_size":100,"shares_outstanding":20000000,"adv_shares":15000,"issuer_country":"JP"}"#,
        r#"{"type":"instrument","ts":"2025-03-17T08:00:00+09:00","symbol":"0700","prev_close":"380.2","market":"HKEX","currency":"HKD","lot_size":100}"#,
        r#"{"type":"position","ts":"2025-03-17T08:00:00+09:00","account_id":"A1","symbol":"7203","qty":500}"#,
        r#"{"type":"position","ts":"2025-03-17T08:00:00+09:00","account_id":"A2","symbol":"7992","qty":-300}"#,
        r#"{"type":"cash","ts":"2025-03-17T08:00:00+09:00","account_id":"A1","amount":"12345678901234.5678","currency":"JPY"}"#,
        r#"{"type":"auth","ts":"2025-03-17T04:00:00Z","account_id":"A1","action":"login_success","ip":"203.0.113.9","device_id":"d-9","user_agent":"Mozilla/5.0 (\"x\"),\nnext","country":"VN","asn":4134,"mfa":"none","channel":"web","session_id":"s1"}"#,
        r#"{"type":"auth","ts":"2025-03-17T13:00:00.5+09:00","account_id":"A1","action":"withdrawal_account_change"}"#,
        r#"{"type":"order","ts":"2025-03-17T13:05:00.123456+09:00","order_id":"O1","account_id":"A1","symbol":"7992","side":"buy","action":"new","order_type":"limit","qty":1000,"price":112.5,"margin":true,"session_id":"s1"}"#,
        r#"{"type":"order","ts":"2025-03-17T13:05:00.123456789+09:00","order_id":"O2","account_id":"A2","symbol":"7992","side":"sell","order_type":"market","qty":300}"#,
        r#"{"type":"order","ts":"2025-03-17T04:05:01Z","order_id":"O1","account_id":"A1","symbol":"7992","side":"buy","action":"cancel"}"#,
        r#"{"type":"execution","ts":"2025-03-17T13:05:02+09:00","exec_id":"E1","order_id":"O2","account_id":"A2","symbol":"7992","side":"sell","qty":300,"price":"112.50","trade_id":"T1","counterparty_account_id":"P1"}"#,
        r#"{"type":"trade","ts":"2025-03-17T13:05:02+09:00","symbol":"7992","qty":300,"price":112.5,"trade_id":"T1","aggressor":"sell"}"#,
        r#"{"type":"trade","ts":"2025-03-17T00:05:03-04:00","symbol":"7992","qty":100,"price":0.1}"#,
        r#"{"type":"execution","ts":"2025-03-17T13:05:03.000001+09:00","exec_id":"E2","order_id":"O9","account_id":"A3","symbol":"0700","side":"buy","qty":100,"price":380.2}"#,
    ];
    let events: Vec<Event> = lines.iter().map(|l| event(l)).collect();
    for pair in events.windows(2) {
        let key = |e: &Event| (e.ts.utc_nanos, e.event_type());
        assert!(
            key(&pair[0]) <= key(&pair[1]),
            "test data out of order: {pair:?}"
        );
    }
    lines
}

pub fn event(line: &str) -> Event {
    decode_json_line(line.as_bytes(), None).unwrap_or_else(|e| panic!("{e}: {line}"))
}

pub fn day_events() -> Vec<Event> {
    day_lines().iter().map(|l| event(l)).collect()
}

/// Writes lines joined by `\n` with a final line break.
pub fn write_lines(path: &Path, lines: &[&str]) {
    let mut text = lines.join("\n");
    text.push('\n');
    std::fs::write(path, text).unwrap();
}

/// Every record of a source, reading in batches of `batch`.
pub fn drain(source: &mut dyn Source, batch: usize) -> Vec<Record> {
    let mut all = Vec::new();
    let mut buf = Vec::new();
    loop {
        let more = source.next_batch(&mut buf, batch).unwrap();
        assert!(buf.len() <= batch.max(1), "batch larger than asked");
        all.append(&mut buf);
        if !more {
            // Once exhausted, a source stays exhausted.
            assert!(!source.next_batch(&mut buf, batch).unwrap());
            assert!(buf.is_empty());
            return all;
        }
    }
}

pub fn events(records: &[Record]) -> Vec<Event> {
    records
        .iter()
        .filter_map(|r| match r {
            Record::Event(e) => Some(e.clone()),
            Record::Invalid(_) => None,
        })
        .collect()
}

/// Every record of `path`.
pub fn read_records(path: &Path, batch: usize) -> Vec<Record> {
    let mut source = pumpwatch_replay::open(path).unwrap_or_else(|e| panic!("{e}"));
    drain(&mut *source, batch)
}

pub fn read_events(path: &Path) -> Vec<Event> {
    let records = read_records(path, 5);
    let invalid: Vec<_> = records
        .iter()
        .filter(|r| matches!(r, Record::Invalid(_)))
        .collect();
    assert!(invalid.is_empty(), "{}: {invalid:?}", path.display());
    events(&records)
}
