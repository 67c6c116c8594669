//! The driver on a simulated day with invalid lines and late events: any number of threads,
//! any batch size, and any checkpoint-and-resume give the sink exactly the same calls.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use pumpwatch_core::EngineConfig;
use pumpwatch_driver::{Collected, Driver, DriverOptions, READ_AHEAD_BATCHES};
use pumpwatch_replay::Source;
use pumpwatch_sim::{simulate, Layout, Shape, SimParams};

/// A day in one mixed file with a few invalid lines, and some events moved far from their
/// time so that a tight lateness makes them late.
fn day() -> &'static Path {
    static DAY: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    &DAY.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let params = SimParams {
            seed: 5,
            accounts: 1_500,
            symbols: 30,
            date: "2025-03-17".to_string(),
            layout: Layout::Mixed,
            campaigns: None,
            lookalikes: None,
            invalid_per_million: 2_000,
            shape: Shape::Realistic,
            auth_feed: true,
            bare_reference: false,
        };
        simulate(&params, dir.path()).unwrap();
        let path = dir.path().join("events.ndjson");
        let text = std::fs::read_to_string(&path).unwrap();
        let mut lines: Vec<&str> = text.lines().collect();
        // Every 997th line goes 500 lines later: behind the watermark when it arrives.
        let mut i = 997;
        while i + 500 < lines.len() {
            let moved = lines.remove(i);
            lines.insert(i + 500, moved);
            i += 997;
        }
        std::fs::write(&path, lines.join("\n") + "\n").unwrap();
        (dir, path)
    })
    .1
}

fn config() -> EngineConfig {
    let mut config = EngineConfig::default();
    config.engine.lateness_ms = 200;
    config
}

fn source() -> Vec<Box<dyn Source>> {
    vec![pumpwatch_replay::open(day()).unwrap()]
}

fn options(threads: u32, batch_records: usize) -> DriverOptions {
    DriverOptions {
        batch_records,
        threads,
        ..DriverOptions::default()
    }
}

/// What the sink saw, as comparable text.
fn seen(sink: &Collected) -> (Vec<String>, Vec<String>, Vec<String>) {
    (
        sink.alerts.iter().map(|(_, a)| a.to_json_line()).collect(),
        sink.invalid
            .iter()
            .map(|q| format!("{} {}", q.location, q.original))
            .collect(),
        sink.late
            .iter()
            .map(|(e, r, p)| format!("{p} {r} {}", e.to_json_line()))
            .collect(),
    )
}

fn uninterrupted(threads: u32, batch_records: usize) -> Collected {
    let mut sink = Collected::default();
    let mut driver = Driver::new(&config(), source(), &options(threads, batch_records)).unwrap();
    driver.run(&mut sink).unwrap();
    sink
}

#[test]
fn threads_and_batch_sizes_change_nothing() {
    let reference = uninterrupted(1, 4_096);
    let (alerts, invalid, late) = seen(&reference);
    assert!(alerts.len() >= 5, "{} alerts", alerts.len());
    assert!(!invalid.is_empty(), "the day has invalid lines");
    assert!(!late.is_empty(), "the day has late events");
    for (threads, batch) in [(1, 1_000), (2, 4_096), (3, 777), (4, 10_000)] {
        assert_eq!(
            seen(&uninterrupted(threads, batch)),
            (alerts.clone(), invalid.clone(), late.clone()),
            "{threads} threads, batches of {batch}"
        );
    }
}

/// The calls interleave (invalid records, late events and alerts share the quarantine file and
/// the alert stream's flushes) as one engine gives them: a batch's invalid records, then its
/// outputs, whatever the split and however far the reading runs ahead.
#[test]
fn the_sink_calls_interleave_the_same_for_any_thread_count() {
    for batch in [4_096, 300] {
        let reference = uninterrupted(1, batch).calls;
        assert!(reference.contains(&"invalid") && reference.contains(&"late"));
        for threads in [2, 3] {
            assert_eq!(
                uninterrupted(threads, batch).calls,
                reference,
                "{threads} threads, batches of {batch}"
            );
        }
    }
}

#[test]
fn a_resumed_run_hands_the_sink_what_the_uninterrupted_one_did() {
    let reference = seen(&uninterrupted(1, 4_096));
    let total = uninterrupted_counts();
    for (threads, stop_after) in [(1, 3), (2, 7), (1, 12), (3, 1)] {
        let opts = options(threads, 2_000);
        let mut sink = Collected::default();
        let mut driver = Driver::new(&config(), source(), &opts).unwrap();
        for _ in 0..stop_after {
            assert!(driver.step(&mut sink).unwrap());
        }
        let checkpoint = driver.checkpoint(&mut sink).unwrap();
        let at_checkpoint = (sink.alerts.len(), sink.invalid.len(), sink.late.len());
        // The run goes on a little, then dies: what it did after the checkpoint is cut off,
        // as a resumed replay cuts its files back to the checkpoint.
        driver.step(&mut sink).unwrap();
        drop(driver);
        sink.alerts.truncate(at_checkpoint.0);
        sink.invalid.truncate(at_checkpoint.1);
        sink.late.truncate(at_checkpoint.2);

        let checkpoint = pumpwatch_driver::Checkpoint::from_bytes(&checkpoint.to_bytes()).unwrap();
        let mut resumed = Driver::resume(&config(), source(), &opts, &checkpoint).unwrap();
        resumed.run(&mut sink).unwrap();
        assert_eq!(
            seen(&sink),
            reference,
            "{threads} threads, checkpoint after {stop_after} batches"
        );
        assert_eq!(resumed.counts().read_total(), total);
    }
}

#[test]
fn the_sink_gets_the_counters_after_every_batch() {
    let mut sink = Collected::default();
    let mut driver = Driver::new(&config(), source(), &options(2, 300)).unwrap();
    // The first batch is collected once the read-ahead is full.
    for _ in 0..READ_AHEAD_BATCHES {
        driver.step(&mut sink).unwrap();
    }
    assert!(
        sink.counters.is_none(),
        "nothing collected while reading ahead"
    );
    driver.step(&mut sink).unwrap();
    let first = sink
        .counters
        .clone()
        .expect("counters after the first batch");
    // The counts are of the batches collected: the first one only.
    assert!(first.read_total() > 0 && first.read_total() <= 300);
    driver.run(&mut sink).unwrap();
    assert_eq!(sink.counters.as_ref(), Some(driver.counts()));
    assert_eq!(driver.counts().read_total(), uninterrupted_counts());
    assert!(
        driver.counts().invalid_total() > 0,
        "the day's invalid and late records are counted"
    );
    assert!(sink.flushes > 1);
}

fn uninterrupted_counts() -> u64 {
    let mut sink = Collected::default();
    let mut driver = Driver::new(&config(), source(), &options(1, 4_096)).unwrap();
    driver.run(&mut sink).unwrap();
    driver.counts().read_total()
}

#[test]
fn a_checkpoint_of_another_input_is_refused() {
    let mut sink = Collected::default();
    let mut driver = Driver::new(&config(), source(), &options(1, 100)).unwrap();
    driver.step(&mut sink).unwrap();
    let checkpoint = driver.checkpoint(&mut sink).unwrap();
    let empty = tempfile::tempdir().unwrap();
    let path = empty.path().join("events.ndjson");
    std::fs::write(&path, "").unwrap();
    let other: Vec<Box<dyn Source>> = vec![pumpwatch_replay::open(&path).unwrap()];
    let err = Driver::resume(&config(), other, &options(1, 100), &checkpoint).unwrap_err();
    assert!(err.to_string().contains("not the same input"), "{err}");
}
