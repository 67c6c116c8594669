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
