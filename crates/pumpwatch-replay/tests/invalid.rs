//! Bad records are counted by reason and quarantined with their original text; the valid
//! events around them all still arrive.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use common::*;
use pumpwatch_model::InvalidReason;
use pumpwatch_replay::{open, QuarantineWriter, Record};

fn labels(records: &[Record]) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for record in records {
        if let Record::Invalid(q) = record {
            *counts.entry(q.reason.reason.label()).or_default() += 1;
        }
    }
    counts
}

fn quarantine_all(records: &[Record], path: &Path) -> Vec<serde_json::Value> {
    let mut writer = QuarantineWriter::new(path);
    for record in records {
        if let Record::Invalid(q) = record {
            writer.write(q).unwrap();
        }
    }
    let written = writer.finish().unwrap();
    let text = fs::read_to_string(path).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len() as u64, written);
    lines
}

const TRADE: &str =
    r#"{"type":"trade","ts":"2025-03-17T13:00:00+09:00","symbol":"1","qty":1,"price":1}"#;

#[test]
fn every_kind_of_bad_line_is_counted_and_quarantined_with_its_text() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("day.ndjson");
    let mut bytes = Vec::new();
    let mut line = |text: &[u8]| {
        bytes.extend_from_slice(text);
        bytes.push(b'\n');
    };
    line(TRADE.as_bytes()); // 1
    line(br#"{"type":"trade","ts":"#); // 2: bad JSON
    line(br#"{"type":"trade","ts":"2025-03-17T13:00:00+09:00","symbol":"1","price":1}"#); // 3: no qty
    line(br#"{"type":"quote","ts":"2025-03-17T13:00:00+09:00"}"#); // 4: unknown type
    line(b""); // 5: blank
    line(br#"{"type":"trade","ts":"17/03/2025 13:00","symbol":"1","qty":1,"price":1}"#); // 6: bad ts
    line(b"   \t "); // 7: whitespace only
    line(b"\r"); // 8: a blank CRLF line
    line(b"{\"type\":\"trade\",\"ts\":\"2025-03-17T13:00:00+09:00\",\"symbol\":\"\xff\xfe\",\"qty\":1,\"price\":1}"); // 9: invalid UTF-8
    line(format!("{TRADE}\r").as_bytes()); // 10: CRLF line, valid
    line(br#"{"ts":"2025-03-17T13:00:00+09:00","symbol":"1","qty":1,"price":1}"#); // 11: no type
    line(br#"{"type":"order","ts":"2025-03-17T13:00:00+09:00","order_id":"O","account_id":"A","symbol":"1","side":"short","qty":1,"price":1}"#); // 12: bad side
    line(TRADE.as_bytes()); // 13
    bytes.extend_from_slice(br#"{"type":"trade","ts":"2025-03-17T13:00:00+09:00","sym"#); // 14: truncated, no newline
    fs::write(&path, &bytes).unwrap();

    let records = drain(&mut *open(&path).unwrap(), 4);
    assert_eq!(events(&records).len(), 3, "the three valid trades");
    let expected: BTreeMap<String, usize> = [
        ("malformed", 3),
        ("missing_field:qty", 1),
        ("unknown_type", 1),
        ("bad_field:ts", 1),
        ("missing_type", 1),
        ("bad_field:side", 1),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    assert_eq!(labels(&records), expected);

    let quarantined = quarantine_all(&records, &dir.path().join("q.ndjson"));
    let locations: Vec<&str> = quarantined
        .iter()
        .map(|q| q["location"].as_str().unwrap())
        .collect();
    assert_eq!(
        locations,
        [
            "day.ndjson:2",
            "day.ndjson:3",
            "day.ndjson:4",
            "day.ndjson:6",
            "day.ndjson:9",
            "day.ndjson:11",
            "day.ndjson:12",
            "day.ndjson:14"
        ]
    );
    assert_eq!(quarantined[0]["original"], r#"{"type":"trade","ts":"#);
    assert_eq!(quarantined[0]["label"], "malformed");
    assert_eq!(quarantined[1]["reason"], "missing required field `qty`");
    assert_eq!(quarantined[1]["type"], "trade");
    assert_eq!(quarantined[2]["type"], serde_json::Value::Null);
    assert_eq!(
        quarantined[4]["original"],
        "{\"type\":\"trade\",\"ts\":\"2025-03-17T13:00:00+09:00\",\"symbol\":\"\u{fffd}\u{fffd}\",\"qty\":1,\"price\":1}"
    );
    assert_eq!(
        quarantined[7]["original"],
        r#"{"type":"trade","ts":"2025-03-17T13:00:00+09:00","sym"#
    );
}

#[test]
fn a_truncated_valid_last_line_is_still_an_event() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("day.ndjson");
    fs::write(&path, format!("{TRADE}\n\n{TRADE}")).unwrap();
    let records = drain(&mut *open(&path).unwrap(), 10);
    assert_eq!(events(&records).len(), 2);
    assert_eq!(records.len(), 2);
}

#[test]
fn an_overlong_line_is_quarantined_and_reading_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("day.ndjson");
    let long = format!(r#"{{"type":"trade","pad":"{}"}}"#, "x".repeat(5000));
    fs::write(&path, format!("{TRADE}\n{long}\n{TRADE}\n")).unwrap();
    let options = pumpwatch_replay::SourceOptions {
        read_buffer_bytes: 64,
        line_bytes_max: 2048,
        ..Default::default()
    };
    let records = drain(
        &mut *pumpwatch_replay::open_with(&path, &options).unwrap(),
        10,
    );
    assert_eq!(events(&records).len(), 2);
    let Record::Invalid(q) = &records[1] else {
        panic!("expected the long line quarantined: {records:?}")
    };
    assert_eq!(q.location, "day.ndjson:2");
    assert_eq!(q.reason.reason.label(), "malformed");
    assert!(q.original.starts_with(r#"{"type":"trade","pad":"xxx"#));
}

#[test]
fn bad_csv_rows_are_counted_with_their_original_text() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("trades.csv");
    let mut text = String::from("ts,symbol,qty,price,aggressor\r\n");
    text.push_str("2025-03-17T13:00:00+09:00,7203,100,2512.5,buy\r\n"); // line 2
    text.push_str("2025-03-17T13:00:01+09:00,7203,100\r\n"); // 3: too few cells
    text.push_str("\r\n"); // 4: blank
    text.push_str("2025-03-17T13:00:02+09:00,7203,-5,2512.5,\r\n"); // 5: bad qty
    text.push_str("2025-03-17T13:00:03+09:00,\"72,03\",100,\"25\"\"12\",sell\r\n"); // 6: bad price
    text.push_str("2025-03-17T13:00:04+09:00,7203,,2512.5,sell,extra\r\n"); // 7: too many cells
    text.push_str("2025-03-17T13:00:05+09:00,7203,100,2512.5,\r\n"); // 8: valid, aggressor absent
    text.push_str("2025-03-17T13:00:06+09:00,7203,,2512.5,sell"); // 9: no qty, no newline
    fs::write(&path, text).unwrap();

    let records = drain(&mut *open(&path).unwrap(), 2);
    assert_eq!(events(&records).len(), 2);
    let expected: BTreeMap<String, usize> = [
        ("malformed", 2),
        ("bad_field:qty", 1),
        ("bad_field:price", 1),
        ("missing_field:qty", 1),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    assert_eq!(labels(&records), expected);

    let quarantined = quarantine_all(&records, &dir.path().join("q.ndjson"));
    let got: Vec<(&str, &str)> = quarantined
        .iter()
        .map(|q| {
            (
                q["location"].as_str().unwrap(),
                q["original"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("trades.csv:3", "2025-03-17T13:00:01+09:00,7203,100"),
            ("trades.csv:5", "2025-03-17T13:00:02+09:00,7203,-5,2512.5,"),
            (
                "trades.csv:6",
                "2025-03-17T13:00:03+09:00,\"72,03\",100,\"25\"\"12\",sell"
            ),
            (
                "trades.csv:7",
                "2025-03-17T13:00:04+09:00,7203,,2512.5,sell,extra"
            ),
            (
                "trades.csv:9",
                "2025-03-17T13:00:06+09:00,7203,,2512.5,sell"
            ),
        ]
    );
    assert_eq!(
        quarantined[0]["reason"],
        "malformed record: row has 3 cells, the header has 5"
    );
}

#[test]
fn a_csv_cell_that_is_not_utf8_is_malformed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("trades.csv");
    fs::write(
        &path,
        b"\xEF\xBB\xBFts,symbol,qty,price\n2025-03-17T13:00:00+09:00,72\xff3,1,1\n2025-03-17T13:00:00+09:00,7203,1,1\n",
    )
    .unwrap();
    let records = drain(&mut *open(&path).unwrap(), 10);
    assert_eq!(
        events(&records).len(),
        1,
        "the BOM does not hide the ts column"
    );
    assert_eq!(labels(&records).get("malformed"), Some(&1));
}

/// An invalid record has no reliable time: it goes out as soon as it is at the head of its
/// file, right after the event before it there, whatever the other files hold.
#[test]
fn invalid_records_in_a_directory_come_out_as_they_are_read() {
    let dir = tempfile::tempdir().unwrap();
    write_lines(
        &dir.path().join("trades.ndjson"),
        &[
            r#"{"ts":"2025-03-17T13:00:01+09:00","symbol":"1","qty":1,"price":1}"#,
            r#"{"ts":"2025-03-17T13:00:09+09:00","symbol":"1","qty":0,"price":1}"#,
            r#"{"ts":"2025-03-17T13:00:09+09:00","symbol":"1","qty":9,"price":1}"#,
        ],
    );
    write_lines(
        &dir.path().join("orders.ndjson"),
        &[
            r#"not json"#,
            r#"{"ts":"2025-03-17T13:00:05+09:00","order_id":"O","account_id":"A","symbol":"1","side":"buy","qty":1,"price":1}"#,
        ],
    );
    let records = drain(&mut *open(dir.path()).unwrap(), 3);
    let summary: Vec<String> = records
        .iter()
        .map(|r| match r {
            Record::Event(e) => format!(
                "{}@{}",
                e.event_type().as_str(),
                e.ts.utc_nanos / 1_000_000_000 % 60
            ),
            Record::Invalid(q) => q.location.clone(),
        })
        .collect();
    assert_eq!(
        summary,
        [
            "orders.ndjson:1",
            "trade@1",
            "trades.ndjson:2",
            "order@5",
            "trade@9"
        ]
    );
}

#[test]
fn the_quarantine_file_is_created_only_when_needed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("q.ndjson");
    let writer = QuarantineWriter::new(&path);
    assert_eq!(writer.finish().unwrap(), 0);
    assert!(!path.exists(), "a clean run leaves no empty file");

    let mut writer = QuarantineWriter::new(&path);
    let late = event(TRADE);
    writer
        .write_late(&late, &InvalidReason::Late { behind_ms: 1500 }, 41)
        .unwrap();
    assert_eq!(writer.finish().unwrap(), 1);
    let line: serde_json::Value =
        serde_json::from_str(fs::read_to_string(&path).unwrap().trim()).unwrap();
    assert_eq!(line["label"], "late");
    assert_eq!(line["type"], "trade");
    assert_eq!(line["reason"], "late event: 1500 ms behind the watermark");
    assert_eq!(line["location"], "input record 41");
    assert_eq!(event(line["original"].as_str().unwrap()), late);

    // A resumed run cuts the file back to its checkpoint and goes on after it.
    let mut writer = QuarantineWriter::new(&path);
    writer
        .write_late(&late, &InvalidReason::Late { behind_ms: 1 }, 1)
        .unwrap();
    let at_checkpoint = writer.flush().unwrap();
    writer
        .write_late(&late, &InvalidReason::Late { behind_ms: 2 }, 2)
        .unwrap();
    assert_eq!(writer.finish().unwrap(), 2);
    let mut writer = QuarantineWriter::resume(&path, at_checkpoint, 1).unwrap();
    writer
        .write_late(&late, &InvalidReason::Late { behind_ms: 3 }, 3)
        .unwrap();
    assert_eq!(writer.finish().unwrap(), 2);
    let text = fs::read_to_string(&path).unwrap();
    let locations: Vec<String> = text
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["location"].to_string())
        .collect();
    assert_eq!(locations, ["\"input record 1\"", "\"input record 3\""]);
}

#[test]
fn parquet_rows_that_break_the_contract_are_rendered_as_json() {
    use polars::prelude::*;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("trades.parquet");
    let mut df = DataFrame::new(
        3,
        vec![
            Column::new(
                "ts".into(),
                [
                    "2025-03-17T13:00:00+09:00",
                    "yesterday",
                    "2025-03-17T13:00:01+09:00",
                ],
            ),
            Column::new("symbol".into(), [Some("7203"), Some("7203"), None]),
            Column::new("qty".into(), [100i64, 100, 100]),
            Column::new("price".into(), [2512.5f64, 2512.5, 2512.5]),
        ],
    )
    .unwrap();
    ParquetWriter::new(fs::File::create(&path).unwrap())
        .finish(&mut df)
        .unwrap();
    let records = drain(&mut *open(&path).unwrap(), 10);
    assert_eq!(events(&records).len(), 1);
    let invalid: Vec<(String, String, String)> = records
        .iter()
        .filter_map(|r| match r {
            Record::Invalid(q) => Some((
                q.location.clone(),
                q.reason.reason.label(),
                q.original.clone(),
            )),
            Record::Event(_) => None,
        })
        .collect();
    assert_eq!(
        invalid,
        [
            (
                "trades.parquet:row 1".to_string(),
                "bad_field:ts".to_string(),
                r#"{"ts":"yesterday","symbol":"7203","qty":100,"price":2512.5}"#.to_string()
            ),
            (
                "trades.parquet:row 2".to_string(),
                "missing_field:symbol".to_string(),
                r#"{"ts":"2025-03-17T13:00:01+09:00","qty":100,"price":2512.5}"#.to_string()
            ),
        ]
    );
}
