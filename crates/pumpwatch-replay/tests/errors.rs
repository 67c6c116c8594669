//! Inputs that cannot be read at all give a one-line error naming the path, never a panic.

mod common;

use std::fs;

use common::*;
use pumpwatch_replay::{open, ReplayError};

fn error_of(path: &std::path::Path) -> ReplayError {
    match open(path) {
        Ok(_) => panic!("{} opened", path.display()),
        Err(e) => e,
    }
}

fn assert_one_line_naming(error: &ReplayError, path: &std::path::Path, words: &str) {
    let message = error.to_string();
    assert!(!message.contains('\n'), "{message}");
    assert!(message.contains(&path.display().to_string()), "{message}");
    assert!(message.contains(words), "{message}");
}

#[test]
fn a_missing_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nope.ndjson");
    let error = error_of(&path);
    assert!(matches!(error, ReplayError::NotFound { .. }));
    assert_one_line_naming(&error, &path, "no such file");
}

#[test]
fn an_unknown_extension() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["day.txt", "day", "day.parquet.gz", "day.gz"] {
        let path = dir.path().join(name);
        fs::write(&path, "{}\n").unwrap();
        let error = error_of(&path);
        assert!(
            matches!(error, ReplayError::UnknownExtension { .. }),
            "{name}: {error}"
        );
        assert_one_line_naming(&error, &path, "unknown file type");
    }
}

#[test]
fn a_garbage_parquet_file() {
    let dir = tempfile::tempdir().unwrap();
    for (name, bytes) in [
        ("empty.parquet", Vec::new()),
        (
            "text.parquet",
            b"this is not parquet at all, just some text".to_vec(),
        ),
        (
            "magic.parquet",
            b"PAR1\x00\x01\x02\x03\x04\x05\x06\x07\x08\x10\x00\x00\x00PAR1".to_vec(),
        ),
    ] {
        let path = dir.path().join(name);
        fs::write(&path, bytes).unwrap();
        let error = error_of(&path);
        assert!(
            matches!(error, ReplayError::Parquet { .. }),
            "{name}: {error}"
        );
        assert_one_line_naming(&error, &path, "cannot read Parquet");
    }
}

#[test]
fn a_damaged_parquet_file() {
    let dir = tempfile::tempdir().unwrap();
    let mixed = dir.path().join("mixed.ndjson");
    write_lines(&mixed, &day_lines());
    let out = dir.path().join("pq");
    pumpwatch_replay::write_per_type(
        &mut *open(&mixed).unwrap(),
        &out,
        pumpwatch_replay::OutputFormat::Parquet,
        None,
    )
    .unwrap();
    let path = out.join("orders.parquet");
    let good = fs::read(&path).unwrap();

    // Cut short: the footer is gone, so the file cannot be opened.
    fs::write(&path, &good[..good.len() - 100]).unwrap();
    assert_one_line_naming(&error_of(&path), &path, "cannot read Parquet");

    // Pages overwritten, footer intact (in a file this small the footer is most of it):
    // reading the pages fails cleanly.
    let mut bytes = good.clone();
    let len = bytes.len();
    for b in &mut bytes[4..len / 5] {
        *b = 0xAB;
    }
    fs::write(&path, &bytes).unwrap();
    let read_all = || -> Result<(), ReplayError> {
        let mut source = open(&path)?;
        let mut batch = Vec::new();
        while source.next_batch(&mut batch, 100)? {}
        Ok(())
    };
    let error = read_all().expect_err("damaged pages read as if fine");
    assert_one_line_naming(&error, &path, "cannot read Parquet");
}

#[test]
fn a_directory_without_per_type_files() {
    let dir = tempfile::tempdir().unwrap();
    let error = error_of(dir.path());
    assert!(matches!(error, ReplayError::NoTypeFiles { .. }));
    fs::write(dir.path().join("notes.txt"), "x").unwrap();
    fs::write(dir.path().join("quotes.ndjson"), "x").unwrap();
    let error = error_of(dir.path());
    assert_one_line_naming(&error, dir.path(), "no per-type event files");
}

/// A file whose name resembles a type's is refused (its events would be lost without a word),
/// unless the caller asks to leave it out; then it is listed as ignored.
#[test]
fn a_misnamed_type_file_is_refused_unless_left_out() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("trades.ndjson"), "").unwrap();
    fs::write(dir.path().join("notes.txt"), "x").unwrap();
    let misnamed = dir.path().join("orders_20250317.ndjson");
    fs::write(&misnamed, "").unwrap();
    let error = error_of(dir.path());
    assert!(matches!(
        error,
        ReplayError::MisnamedTypeFile {
            event_type: "order",
            ..
        }
    ));
    assert_one_line_naming(&error, &misnamed, "named orders.EXT");
    let options = pumpwatch_replay::SourceOptions {
        ignore_misnamed: true,
        ..Default::default()
    };
    let source = pumpwatch_replay::open_with(dir.path(), &options).unwrap();
    assert_eq!(source.info().ignored.len(), 2);
    assert!(source.info().ignored.contains(&misnamed));
}

#[test]
fn two_files_for_one_type() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("orders.ndjson"), "").unwrap();
    fs::write(dir.path().join("orders.parquet"), "").unwrap();
    let error = error_of(dir.path());
    assert!(matches!(error, ReplayError::DuplicateType { .. }));
    assert_one_line_naming(&error, dir.path(), "two files for `order` events");
    assert!(error.to_string().contains("orders.ndjson"));
    assert!(error.to_string().contains("orders.parquet"));
}

#[test]
fn a_corrupt_gzip_stream_ends_in_an_error_after_the_good_lines() {
    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("day.ndjson");
    write_lines(&plain, &day_lines());
    let gz = dir.path().join("day.ndjson.gz");
    pumpwatch_replay::write_ndjson_mixed(&mut *open(&plain).unwrap(), &gz, None).unwrap();
    let bytes = fs::read(&gz).unwrap();
    fs::write(&gz, &bytes[..bytes.len() - 12]).unwrap();
    let mut source = open(&gz).unwrap();
    let mut batch = Vec::new();
    let mut seen = 0;
    let error = loop {
        match source.next_batch(&mut batch, 3) {
            Ok(true) => seen += batch.len(),
            Ok(false) => panic!("a truncated gzip stream read as complete"),
            Err(error) => break error,
        }
    };
    assert!(
        seen >= day_lines().len() - 1,
        "lines before the damage are delivered: {seen}"
    );
    assert_one_line_naming(&error, &gz, &format!("unreadable after line {seen} ("));
    // The I/O error's text comes once, whether printed alone or as a chain of causes.
    let text = error.to_string();
    let chain = format!("{:#}", anyhow::Error::new(error));
    assert_eq!(chain, text, "the message repeats a cause");
}

#[test]
fn an_unclosed_csv_quote_ends_the_file_with_an_error_not_unbounded_memory() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("trades.csv");
    let mut text = String::from("ts,symbol,qty,price\n2025-03-17T13:00:00+09:00,7203,1,1\n");
    text.push_str("2025-03-17T13:00:00+09:00,\"7203,1,1\n");
    for _ in 0..2000 {
        text.push_str("2025-03-17T13:00:00+09:00,7203,1,1\n");
    }
    fs::write(&path, text).unwrap();
    let options = pumpwatch_replay::SourceOptions {
        read_buffer_bytes: 1024,
        line_bytes_max: 4096,
        ..Default::default()
    };
    let mut source = pumpwatch_replay::open_with(&path, &options).unwrap();
    let mut batch = Vec::new();
    assert!(
        source.next_batch(&mut batch, 1).unwrap(),
        "the first row is fine"
    );
    assert_eq!(events(&batch).len(), 1);
    let error = source.next_batch(&mut batch, 10).unwrap_err();
    assert_one_line_naming(&error, &path, "unclosed quote");
}

/// A directory's file of every type (`events.ndjson`) beside per-type files, or two of them:
/// which is meant cannot be guessed.
#[test]
fn a_file_of_every_type_beside_others() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("events.ndjson"), "").unwrap();
    fs::write(dir.path().join("orders.ndjson"), "").unwrap();
    let error = error_of(dir.path());
    assert!(matches!(error, ReplayError::MixedBesideTypeFiles { .. }));
    assert_one_line_naming(&error, &dir.path().join("events.ndjson"), "orders.ndjson");

    fs::remove_file(dir.path().join("orders.ndjson")).unwrap();
    fs::write(dir.path().join("events.parquet"), "").unwrap();
    let error = error_of(dir.path());
    assert!(matches!(error, ReplayError::DuplicateType { .. }));
    assert_one_line_naming(&error, dir.path(), "two files for events of every type");
    assert!(error.to_string().contains("events.ndjson"), "{error}");
    assert!(error.to_string().contains("events.parquet"), "{error}");
}

/// A file named nearly like the file of every type (`Events.ndjson`) would not be read: an
/// error, unless the caller asks to leave it out.
#[test]
fn a_misnamed_file_of_every_type_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let misnamed = dir.path().join("Events_20250317.ndjson.gz");
    fs::write(&misnamed, "").unwrap();
    let error = error_of(dir.path());
    assert!(matches!(
        error,
        ReplayError::MisnamedTypeFile {
            event_type: "every type",
            ..
        }
    ));
    assert_one_line_naming(
        &error,
        &misnamed,
        "events of every type but is not named events.EXT",
    );
}
