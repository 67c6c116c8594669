//! The same events through every carrier give the same event sequence, in the same order.

mod common;

use std::fs;
use std::io::Write;
use std::path::Path;

use common::*;
use polars::prelude::*;
use pumpwatch_model::EventType;
use pumpwatch_replay::{
    open, open_with, write_ndjson_mixed, write_per_type, OutputFormat, SourceOptions,
};

/// Every input form of the sample day, written from one mixed NDJSON file.
fn all_forms(root: &Path) -> Vec<std::path::PathBuf> {
    let mixed = root.join("mixed.ndjson");
    write_lines(&mixed, &day_lines());
    let mut forms = vec![mixed.clone()];
    // A directory holding one file of every type, as `simulate --layout mixed` writes it.
    let mixed_dir = root.join("mixed-dir");
    fs::create_dir(&mixed_dir).unwrap();
    write_lines(&mixed_dir.join("events.ndjson"), &day_lines());
    fs::write(mixed_dir.join("labels.json"), "{}").unwrap();
    forms.push(mixed_dir);
    for name in ["mixed.ndjson.gz", "mixed.jsonl.zst"] {
        write_ndjson_mixed(&mut *open(&mixed).unwrap(), &root.join(name), None).unwrap();
        forms.push(root.join(name));
    }
    for (dir, format) in [
        ("ndjson", OutputFormat::Ndjson),
        ("csv", OutputFormat::Csv),
        ("parquet", OutputFormat::Parquet),
    ] {
        let summary =
            write_per_type(&mut *open(&mixed).unwrap(), &root.join(dir), format, None).unwrap();
        assert_eq!(summary.events(), day_lines().len() as u64);
        assert_eq!(summary.files.len(), 7, "one file per type");
        forms.push(root.join(dir));
    }
    // Per-type files compressed: gzip for some types, zstd for the others.
    let packed = root.join("packed");
    fs::create_dir(&packed).unwrap();
    for entry in fs::read_dir(root.join("ndjson")).unwrap() {
        let path = entry.unwrap().path();
        let data = fs::read(&path).unwrap();
        let name = path.file_name().unwrap().to_str().unwrap();
        if name.starts_with('o') || name.starts_with('t') {
            let mut gz = flate2::write::GzEncoder::new(
                fs::File::create(packed.join(format!("{name}.gz"))).unwrap(),
                flate2::Compression::default(),
            );
            gz.write_all(&data).unwrap();
            gz.finish().unwrap();
        } else {
            let packed_data = zstd::encode_all(&data[..], 3).unwrap();
            fs::write(packed.join(format!("{name}.zst")), packed_data).unwrap();
        }
    }
    forms.push(packed);
    forms
}

#[test]
fn every_form_gives_the_same_events_in_the_same_order() {
    let dir = tempfile::tempdir().unwrap();
    let expected = day_events();
    for form in all_forms(dir.path()) {
        assert_eq!(read_events(&form), expected, "{}", form.display());
    }
}

#[test]
fn tiny_buffers_and_batches_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let expected = day_events();
    let options = SourceOptions {
        read_buffer_bytes: 16,
        line_bytes_max: 1024,
        merge_batch_records: 1,
        parquet_batch_rows: 1,
        ..SourceOptions::default()
    };
    for form in all_forms(dir.path()) {
        for batch in [1, 3] {
            let mut source = open_with(&form, &options).unwrap();
            let records = drain(&mut *source, batch);
            assert_eq!(events(&records), expected, "{} by {batch}", form.display());
        }
    }
}

#[test]
fn progress_reaches_the_total() {
    let dir = tempfile::tempdir().unwrap();
    for form in all_forms(dir.path()) {
        let mut source = open(&form).unwrap();
        let before = source.progress();
        assert!(before.bytes_total > 0);
        drain(&mut *source, 4);
        let after = source.progress();
        assert_eq!(after.bytes_read, after.bytes_total, "{}", form.display());
    }
}

#[test]
fn a_directory_reports_the_files_it_ignores() {
    let dir = tempfile::tempdir().unwrap();
    write_lines(&dir.path().join("orders.ndjson"), &day_lines()[7..10]);
    fs::write(dir.path().join("README.md"), "notes").unwrap();
    fs::write(dir.path().join("quotes.ndjson"), "{}\n").unwrap();
    fs::create_dir(dir.path().join("old")).unwrap();
    let source = open(dir.path()).unwrap();
    let ignored: Vec<String> = source
        .info()
        .ignored
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(ignored, ["README.md", "old", "quotes.ndjson"]);
    assert_eq!(source.info().files.len(), 1);
    assert_eq!(source.info().files[0].default_type, Some(EventType::Order));
}

#[test]
fn per_type_files_merge_by_time_and_type() {
    // Three files whose events interleave in time; ties go to the earlier type.
    let dir = tempfile::tempdir().unwrap();
    write_lines(
        &dir.path().join("trades.ndjson"),
        &[
            r#"{"ts":"2025-03-17T13:00:01+09:00","symbol":"1","qty":1,"price":1}"#,
            r#"{"ts":"2025-03-17T13:00:03+09:00","symbol":"1","qty":3,"price":1}"#,
        ],
    );
    write_lines(
        &dir.path().join("orders.ndjson"),
        &[
            r#"{"ts":"2025-03-17T13:00:00+09:00","order_id":"O1","account_id":"A","symbol":"1","side":"buy","qty":1,"price":1}"#,
            r#"{"ts":"2025-03-17T13:00:03+09:00","order_id":"O3","account_id":"A","symbol":"1","side":"buy","qty":1,"price":1}"#,
        ],
    );
    write_lines(
        &dir.path().join("auth.ndjson"),
        &[r#"{"ts":"2025-03-17T04:00:02Z","account_id":"A","action":"logout"}"#],
    );
    let got: Vec<(EventType, i64)> = read_events(dir.path())
        .iter()
        .map(|e| (e.event_type(), e.ts.utc_nanos / 1_000_000_000 % 60))
        .collect();
    assert_eq!(
        got,
        [
            (EventType::Order, 0),
            (EventType::Trade, 1),
            (EventType::Auth, 2),
            (EventType::Order, 3),
            (EventType::Trade, 3),
        ]
    );
}

#[test]
fn a_per_type_file_out_of_order_is_emitted_in_read_order() {
    let dir = tempfile::tempdir().unwrap();
    write_lines(
        &dir.path().join("trades.ndjson"),
        &[
            r#"{"ts":"2025-03-17T13:00:05+09:00","symbol":"1","qty":5,"price":1}"#,
            r#"{"ts":"2025-03-17T13:00:01+09:00","symbol":"1","qty":1,"price":1}"#,
        ],
    );
    write_lines(
        &dir.path().join("auth.ndjson"),
        &[r#"{"ts":"2025-03-17T13:00:03+09:00","account_id":"A","action":"logout"}"#],
    );
    let got: Vec<i64> = read_events(dir.path())
        .iter()
        .map(|e| e.ts.utc_nanos / 1_000_000_000 % 60)
        .collect();
    assert_eq!(got, [3, 5, 1]);
}

#[test]
fn a_type_field_that_disagrees_with_the_file_name_wins() {
    let dir = tempfile::tempdir().unwrap();
    write_lines(
        &dir.path().join("orders.ndjson"),
        &[r#"{"type":"trade","ts":"2025-03-17T13:00:05+09:00","symbol":"1","qty":5,"price":1}"#],
    );
    let events = read_events(dir.path());
    assert_eq!(events[0].event_type(), EventType::Trade);
}

#[test]
fn unknown_fields_and_columns_are_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let expected = event(
        r#"{"type":"trade","ts":"2025-03-17T13:00:05+09:00","symbol":"7203","qty":5,"price":"2512.5"}"#,
    );
    let json = dir.path().join("a.ndjson");
    write_lines(
        &json,
        &[
            r#"{"venue":"TSE","type":"trade","nested":{"a":[1,{"b":null}]},"ts":"2025-03-17T13:00:05+09:00","symbol":"7203","qty":5,"price":"2512.5","seq":12}"#,
        ],
    );
    assert_eq!(read_events(&json), std::slice::from_ref(&expected));

    let csv = dir.path().join("trades.csv");
    fs::write(
        &csv,
        "venue,ts,symbol,extra,qty,price\nTSE,2025-03-17T13:00:05+09:00,7203,,5,2512.5\n",
    )
    .unwrap();
    assert_eq!(read_events(&csv), std::slice::from_ref(&expected));

    let parquet = dir.path().join("trades.parquet");
    let mut df = DataFrame::new(
        1,
        vec![
            Column::new("venue".into(), ["TSE"]),
            Column::new("ts".into(), ["2025-03-17T13:00:05+09:00"]),
            Column::new("symbol".into(), ["7203"]),
            Column::new("qty".into(), [5i64]),
            Column::new("price".into(), ["2512.5"]),
            Column::new("seq".into(), [12.5f64]),
        ],
    )
    .unwrap();
    ParquetWriter::new(fs::File::create(&parquet).unwrap())
        .finish(&mut df)
        .unwrap();
    assert_eq!(read_events(&parquet), [expected]);
}

/// Parquet from other producers: timestamps in any unit, with or without a zone, small
/// integer types, floats, decimals, categoricals and string timestamps are all accepted.
#[test]
fn parquet_column_types_from_other_producers() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("executions.parquet");
    let ts_ms = Int64Chunked::from_slice("ts".into(), &[1_742_184_302_000, 1_742_184_303_500])
        .into_datetime(TimeUnit::Milliseconds, None)
        .into_column();
    let qty = Column::new("qty".into(), [300i32, 100]);
    let price = Column::new("price".into(), [112.5f64, 380.2]);
    let side = Column::new("side".into(), ["sell", "buy"])
        .cast(&DataType::from_categories(Categories::global()))
        .unwrap();
    let ids = |name: &str, values: [&str; 2]| Column::new(name.into(), values);
    let mut df = DataFrame::new(
        2,
        vec![
            ts_ms,
            ids("exec_id", ["E1", "E2"]),
            ids("order_id", ["O2", "O9"]),
            ids("account_id", ["A2", "A3"]),
            ids("symbol", ["7992", "0700"]),
            side,
            qty,
            price,
        ],
    )
    .unwrap();
    ParquetWriter::new(fs::File::create(&path).unwrap())
        .finish(&mut df)
        .unwrap();
    let expected = [
        event(
            r#"{"type":"execution","ts":"2025-03-17T04:05:02Z","exec_id":"E1","order_id":"O2","account_id":"A2","symbol":"7992","side":"sell","qty":300,"price":112.5}"#,
        ),
        event(
            r#"{"type":"execution","ts":"2025-03-17T04:05:03.5Z","exec_id":"E2","order_id":"O9","account_id":"A3","symbol":"0700","side":"buy","qty":100,"price":380.2}"#,
        ),
    ];
    assert_eq!(read_events(&path), expected);

    // The same with microsecond UTC timestamps, Int16 quantities, Float32 and Decimal prices.
    let path = dir.path().join("trades.parquet");
    let ts_us = Int64Chunked::from_slice("ts".into(), &[1_742_184_302_000_000])
        .into_datetime(TimeUnit::Microseconds, Some(TimeZone::UTC))
        .into_column();
    let price = Column::new("price".into(), [112.3f32]);
    let mut df = DataFrame::new(
        1,
        vec![
            ts_us.clone(),
            Column::new("symbol".into(), ["7992"]),
            Column::new("qty".into(), [300i16]),
            price,
        ],
    )
    .unwrap();
    ParquetWriter::new(fs::File::create(&path).unwrap())
        .finish(&mut df)
        .unwrap();
    let expected = event(
        r#"{"type":"trade","ts":"2025-03-17T04:05:02Z","symbol":"7992","qty":300,"price":"112.3"}"#,
    );
    assert_eq!(read_events(&path), std::slice::from_ref(&expected));

    let decimal = Column::new("price".into(), ["112.30"])
        .cast(&DataType::Decimal(10, 2))
        .unwrap();
    let mut df = DataFrame::new(
        1,
        vec![
            ts_us,
            Column::new("symbol".into(), ["7992"]),
            Column::new("qty".into(), [300u32]),
            decimal,
        ],
    )
    .unwrap();
    ParquetWriter::new(fs::File::create(&path).unwrap())
        .finish(&mut df)
        .unwrap();
    assert_eq!(read_events(&path), [expected]);
}

#[test]
fn parquet_round_trip_keeps_offsets_and_decimals_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let mixed = dir.path().join("mixed.ndjson");
    write_lines(&mixed, &day_lines());
    write_per_type(
        &mut *open(&mixed).unwrap(),
        &dir.path().join("pq"),
        OutputFormat::Parquet,
        None,
    )
    .unwrap();
    let events = read_events(&dir.path().join("pq"));
    assert_eq!(events, day_events());
    // Offsets survive, not only instants: +09:00, Z and -04:00 are all in the sample.
    let offsets: std::collections::BTreeSet<i32> =
        events.iter().map(|e| e.ts.offset_secs).collect();
    assert_eq!(
        offsets.into_iter().collect::<Vec<_>>(),
        [-4 * 3600, 0, 9 * 3600]
    );
}

#[test]
fn concatenated_gzip_members_are_one_stream() {
    // `cat a.gz b.gz > day.gz` (and pigz, and log rotation) produce multi-member gzip files.
    let dir = tempfile::tempdir().unwrap();
    let lines = day_lines();
    let (first, second) = lines.split_at(5);
    let mut bytes = Vec::new();
    for part in [first, second] {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(part.join("\n").as_bytes()).unwrap();
        gz.write_all(b"\n").unwrap();
        bytes.extend(gz.finish().unwrap());
    }
    let path = dir.path().join("day.ndjson.gz");
    fs::write(&path, bytes).unwrap();
    assert_eq!(read_events(&path), day_events());
}

/// A file of many row groups (as Spark, pyarrow or DuckDB write them) is read whole and in
/// order, whatever the slice size: slices inside a group, across groups, one row at a time.
#[test]
fn parquet_with_many_row_groups_reads_every_row_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("trades.parquet");
    let rows = 1_000usize;
    let base_ms = 1_742_184_302_000i64;
    let ts = Int64Chunked::from_iter_values("ts".into(), (0..rows as i64).map(|i| base_ms + i))
        .into_datetime(TimeUnit::Milliseconds, Some(TimeZone::UTC));
    let symbols: Vec<String> = (0..rows).map(|i| format!("{}", 1000 + i % 7)).collect();
    let trade_ids: Vec<String> = (0..rows).map(|i| format!("T{i:06}")).collect();
    let mut df = DataFrame::new(
        rows,
        vec![
            ts.into_column(),
            Column::new("symbol".into(), symbols),
            Column::new("qty".into(), vec![100i64; rows]),
            Column::new("price".into(), vec!["112.5"; rows]),
            Column::new("trade_id".into(), trade_ids),
        ],
    )
    .unwrap();
    ParquetWriter::new(fs::File::create(&path).unwrap())
        .with_row_group_size(Some(64))
        .finish(&mut df)
        .unwrap();
    let groups = ParquetReader::new(fs::File::open(&path).unwrap())
        .get_metadata()
        .unwrap()
        .row_groups
        .len();
    assert!(groups >= 10, "the file has {groups} row groups");
    for batch_rows in [1, 10, 64, 100, 64 * 1024] {
        let options = SourceOptions {
            parquet_batch_rows: batch_rows,
            ..SourceOptions::default()
        };
        let mut source = open_with(&path, &options).unwrap();
        let records = drain(&mut *source, 37);
        let events = events(&records);
        assert_eq!(events.len(), rows, "slices of {batch_rows}");
        for (i, read) in events.iter().enumerate() {
            let expected = event(&format!(
                r#"{{"type":"trade","ts":"{}","symbol":"{}","qty":100,"price":"112.5","trade_id":"T{i:06}"}}"#,
                pumpwatch_model::Timestamp::from_utc_nanos((base_ms + i as i64) * 1_000_000),
                1000 + i % 7,
            ));
            assert_eq!(read, &expected, "row {i}, slices of {batch_rows}");
        }
    }
}
