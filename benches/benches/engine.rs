//! The hot path, measured: decoding a JSON line, and one engine step per event, over the same
//! simulated day. The ratio says how close a replay runs to the parse-only ceiling.

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use pumpwatch_benches::{day_lines, decode_all};
use pumpwatch_core::{Engine, EngineConfig, Input};
use pumpwatch_model::{decode_json_line, Event, EventBody, Print, PrintExtras, TapeSymbols};

/// One input as a Parquet replay feeds the engine: an event, or a print of the tape.
#[derive(Clone)]
enum Fed {
    Event(Event),
    Print(Print, PrintExtras),
}

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

    // The same day with its tape as prints, as a Parquet replay feeds it.
    let mut symbols = TapeSymbols::default();
    let fed: Vec<Fed> = events
        .iter()
        .map(|event| match &event.body {
            EventBody::Trade(t) => {
                let (print, extras) = Print::from_trade(event.ts, t, &mut symbols);
                Fed::Print(print, extras)
            }
            _ => Fed::Event(event.clone()),
        })
        .collect();
    group.bench_function("engine_step_tape_as_prints", |b| {
        b.iter_batched(
            || fed.clone(),
            |fed| {
                let mut engine = Engine::new(EngineConfig::default()).expect("default config");
                let mut out = Vec::new();
                for item in fed {
                    match item {
                        Fed::Event(event) => engine.step(Input::Event(event), &mut out),
                        Fed::Print(print, extras) => {
                            engine.step_print(&print, symbols.as_slice(), &extras, &mut out)
                        }
                    }
                    out.clear();
                }
                engine.step(Input::Flush, &mut out);
                engine.stats().processed_total()
            },
            BatchSize::PerIteration,
        )
    });

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
