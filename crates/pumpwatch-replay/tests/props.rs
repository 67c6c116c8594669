//! Arbitrary input never panics, and every non-blank line is exactly one record.

mod common;

use std::fs;

use common::*;
use proptest::prelude::*;
use pumpwatch_replay::{open, open_with, SourceOptions};

fn is_blank(line: &[u8]) -> bool {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    line.iter().all(u8::is_ascii_whitespace)
}

/// Lines of arbitrary bytes, biased towards JSON-looking ones.
fn line() -> impl Strategy<Value = Vec<u8>> {
    let valid = prop_oneof![
        Just(br#"{"type":"trade","ts":"2025-03-17T13:00:00+09:00","symbol":"1","qty":1,"price":1}"#.to_vec()),
        Just(br#"{"type":"order","ts":"2025-03-17T13:00:00+09:00","order_id":"O","account_id":"A","symbol":"1","side":"buy","qty":1,"price":"1.5"}"#.to_vec()),
    ];
    prop_oneof![
        proptest::collection::vec(
            any::<u8>().prop_filter("no newline", |b| *b != b'\n'),
            0..120
        ),
        valid.clone(),
        (valid, 0usize..140, any::<u8>()).prop_map(|(mut l, pos, byte)| {
            let pos = pos % l.len();
            l[pos] = if byte == b'\n' { b' ' } else { byte };
            l
        }),
        Just(b"   ".to_vec()),
        Just(b"\r".to_vec()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn ndjson_lines_become_one_record_each(
        lines in proptest::collection::vec(line(), 0..40),
        final_newline in any::<bool>(),
        buffer in 16usize..300,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.ndjson");
        let mut bytes = lines.join(&b'\n');
        if final_newline && !lines.is_empty() {
            bytes.push(b'\n');
        }
        fs::write(&path, &bytes).unwrap();
        // A BOM is only stripped at the start of the file; keep the count simple.
        prop_assume!(!bytes.starts_with(b"\xEF\xBB\xBF"));
        let options = SourceOptions { read_buffer_bytes: buffer, ..Default::default() };
        let records = drain(&mut *open_with(&path, &options).unwrap(), 7);
        let expected = lines.iter().filter(|l| !is_blank(l)).count();
        prop_assert_eq!(records.len(), expected);
    }

    #[test]
    fn csv_cells_never_panic(
        rows in proptest::collection::vec(proptest::collection::vec(".{0,12}", 5), 0..20),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("trades.csv");
        let mut writer = csv::Writer::from_path(&path).unwrap();
        writer.write_record(["ts", "symbol", "qty", "price", "aggressor"]).unwrap();
        for row in &rows {
            writer.write_record(row).unwrap();
        }
        writer.flush().unwrap();
        drop(writer);
        let records = drain(&mut *open(&path).unwrap(), 3);
        // csv writes a row of one empty cell as `""`, never as a blank line, so every row
        // is one record (five cells, never a lone blank cell).
        prop_assert_eq!(records.len(), rows.len());
    }

    #[test]
    fn csv_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("trades.csv");
        let mut text = b"ts,symbol,qty,price\n".to_vec();
        text.extend_from_slice(&bytes);
        fs::write(&path, &text).unwrap();
        let _ = drain(&mut *open(&path).unwrap(), 5);
    }
}

/// Per-type files, each in time order with many ties between and within files: the merge
/// gives the stable sort by `(ts, type)` whatever the batch sizes.
fn lane() -> impl Strategy<Value = Vec<u32>> {
    proptest::collection::vec(0u32..12, 0..30).prop_map(|mut secs| {
        secs.sort_unstable();
        secs
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn the_merge_is_the_stable_sort_by_time_and_type(
        orders in lane(),
        trades in lane(),
        auth in lane(),
        lane_batch in 1usize..6,
        batch in 1usize..9,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let ts = |s: u32| format!("2025-03-17T13:00:{s:02}+09:00");
        let order_lines: Vec<String> = orders.iter().enumerate().map(|(n, s)| format!(
            r#"{{"ts":"{}","order_id":"O{n}","account_id":"A","symbol":"1","side":"buy","qty":1,"price":1}}"#, ts(*s))).collect();
        let trade_lines: Vec<String> = trades.iter().enumerate().map(|(n, s)| format!(
            r#"{{"ts":"{}","symbol":"1","qty":{},"price":1}}"#, ts(*s), n + 1)).collect();
        let auth_lines: Vec<String> = auth.iter().enumerate().map(|(n, s)| format!(
            r#"{{"ts":"{}","account_id":"A{n}","action":"logout"}}"#, ts(*s))).collect();
        for (name, lines) in [("orders", &order_lines), ("trades", &trade_lines), ("auth", &auth_lines)] {
            let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
            fs::write(dir.path().join(format!("{name}.ndjson")), text).unwrap();
        }
        let options = SourceOptions { merge_batch_records: lane_batch, ..Default::default() };
        let got = events(&drain(&mut *open_with(dir.path(), &options).unwrap(), batch));

        // Type order is auth < order < trade; the sort is stable, so ties within a file keep
        // file order.
        let mut expected: Vec<pumpwatch_model::Event> = Vec::new();
        for (lines, event_type) in [
            (&auth_lines, pumpwatch_model::EventType::Auth),
            (&order_lines, pumpwatch_model::EventType::Order),
            (&trade_lines, pumpwatch_model::EventType::Trade),
        ] {
            for line in lines {
                expected.push(pumpwatch_model::decode_json_line(line.as_bytes(), Some(event_type)).unwrap());
            }
        }
        expected.sort_by_key(|e| (e.ts.utc_nanos, e.event_type()));
        prop_assert_eq!(got, expected);
    }
}
