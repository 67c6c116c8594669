//! The hot path, measured: decoding a JSON line, and one engine step per event, over the same
//! simulated day (the ratio says how close a replay runs to the parse-only ceiling); and the
//! engine's state after that day written as a snapshot and restored.

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use pumpwatch_benches::{day_lines, decode_all};
use pumpwatch_core::{Engine, EngineConfig, Input, Partition};
use pumpwatch_model::decode_json_line;

const LINES: usize = 300_000;

fn benches(c: &mut Criterion) {
    let lines = day_lines(LINES);
    let events = decode_all(&lines);
    let mut group = c.benchmark_group("day");
    group.sample_size(10);

    group.throughput(Throughput::Elements(lines.len() as u64));
    group.bench_function("decode_json_line", |b| {
        b.iter(|| {
            let mut valid = 0u64;
            for line in &lines {
                valid += u64::from(decode_json_line(line.as_bytes(), None).is_ok());
            }
            valid
        })
    });

    group.throughput(Throughput::Elements(events.len() as u64));
    group.bench_function("engine_step", |b| {
        b.iter_batched(
            || events.clone(),
            |events| {
                let mut engine = Engine::new(EngineConfig::default()).expect("default config");
                let mut out = Vec::new();
                for event in events {
                    engine.step(Input::Event(event), &mut out);
                    out.clear();
                }
                engine.step(Input::Flush, &mut out);
                engine.stats().processed_total()
            },
            BatchSize::PerIteration,
        )
    });

    // The engine's state after the day, written as a snapshot and restored.
    let mut engine = Engine::new(EngineConfig::default()).expect("default config");
    let mut out = Vec::new();
    for event in events.iter().cloned() {
        engine.step(Input::Event(event), &mut out);
        out.clear();
    }
    let bytes = engine.snapshot();
    eprintln!(
        "snapshot of {} accounts and {} symbols after {} events: {} bytes",
        engine.stats().accounts_tracked,
        engine.stats().symbols_tracked,
        events.len(),
        bytes.len()
    );
    group.throughput(Throughput::Bytes(bytes.len() as u64));
    group.bench_function("snapshot_write", |b| b.iter(|| engine.snapshot().len()));
    group.bench_function("snapshot_restore", |b| {
        b.iter(|| {
            Engine::restore(EngineConfig::default(), Partition::WHOLE, &bytes)
                .expect("restores")
                .stats()
                .accounts_tracked
        })
    });
    group.throughput(Throughput::Elements(lines.len() as u64));

    group.bench_function("decode_and_step", |b| {
        b.iter(|| {
            let mut engine = Engine::new(EngineConfig::default()).expect("default config");
            let mut out = Vec::new();
            for line in &lines {
                if let Ok(event) = decode_json_line(line.as_bytes(), None) {
                    engine.step(Input::Event(event), &mut out);
                    out.clear();
                }
            }
            engine.step(Input::Flush, &mut out);
            engine.stats().processed_total()
        })
    });
    group.finish();
}

criterion_group!(engine, benches);
criterion_main!(engine);
