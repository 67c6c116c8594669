//! `pumpwatch replay` and `pumpwatch convert`: drive the engine over files, exactly as the
//! live feed would, and print what fired.

use std::io::{BufWriter, IsTerminal, Write};
use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context as _;
use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use pumpwatch_core::{Engine, Input, Output};
use pumpwatch_model::EventType;
use pumpwatch_replay::{Batch, OutputFormat, QuarantineWriter, Record, Run, Source};

use crate::summary::{self, RunCounts};

/// Records pulled from the source at a time.
const BATCH_RECORDS: usize = 4_096;
/// Inputs smaller than this finish too fast for a progress bar to help.
const PROGRESS_MIN_BYTES: u64 = 64 << 20;

#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// An event file (.ndjson/.jsonl/.json, optionally .gz/.zst; .csv; .parquet) or a directory
    /// of per-type files (orders.ndjson, trades.parquet, ...).
    pub input: PathBuf,
    /// Engine and rule configuration (TOML); without it the defaults of config/default.toml apply.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Where invalid and late events are written with their reason (created only if needed).
    #[arg(long, default_value = "pumpwatch-quarantine.ndjson")]
    pub quarantine: PathBuf,
    /// Never draw a progress bar (it is drawn only when standard error is a terminal).
    #[arg(long)]
    pub no_progress: bool,
}

pub fn run(args: ReplayArgs) -> anyhow::Result<()> {
    let config = crate::config::load(args.config.as_deref())?;
    let engine = Engine::new(config)?;
    drive(
        &args.input,
        &args.quarantine,
        args.no_progress,
        Some(engine),
    )
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// An event file or a directory of per-type files, as for `replay`.
    pub input: PathBuf,
    /// Where invalid events are written with their reason (created only if needed).
    #[arg(long, default_value = "pumpwatch-quarantine.ndjson")]
    pub quarantine: PathBuf,
    /// Never draw a progress bar.
    #[arg(long)]
    pub no_progress: bool,
}

/// Reads and validates an input without running the engine: the counts by type and by reason,
/// and the parse-only rate that bounds a replay.
pub fn check(args: CheckArgs) -> anyhow::Result<()> {
    drive(&args.input, &args.quarantine, args.no_progress, None)
}

/// Pulls every record of `input`; valid events go through the engine when there is one.
fn drive(
    input: &std::path::Path,
    quarantine_path: &std::path::Path,
    no_progress: bool,
    mut engine: Option<Engine>,
) -> anyhow::Result<()> {
    let mut source = pumpwatch_replay::open(input)?;
    for ignored in &source.info().ignored {
        tracing::info!(file = %ignored.display(), "ignoring a file that is not a per-type event file");
    }
    let progress = progress_bar(source.as_ref(), no_progress);
    let stdout = std::io::stdout();
    let mut alerts_out = BufWriter::with_capacity(1 << 16, stdout.lock());
    let mut quarantine = QuarantineWriter::new(quarantine_path);
    let mut counts = RunCounts::default();
    let started = Instant::now();

    let mut batch = Batch::default();
    let mut outputs = Vec::new();
    loop {
        let more = source.next_tape(&mut batch, BATCH_RECORDS)?;
        let symbols = source.tape_symbols();
        let mut records = batch.records.drain(..);
        let mut prints = batch.prints.iter().zip(&batch.extras);
        for run in &batch.runs {
            match *run {
                Run::Records(n) => {
                    for record in records.by_ref().take(n) {
                        take_record(
                            record,
                            &mut engine,
                            &mut counts,
                            &mut quarantine,
                            &mut outputs,
                        )?;
                    }
                }
                Run::Prints(n) => {
                    counts.read_by_type[EventType::Trade.index()] += n as u64;
                    if let Some(engine) = engine.as_mut() {
                        for (print, extras) in prints.by_ref().take(n) {
                            engine.step_print(print, symbols, extras, &mut outputs);
                        }
                    }
                }
            }
        }
        emit(&mut outputs, &mut alerts_out, &mut quarantine, &mut counts)?;
        if let Some(bar) = &progress {
            bar.set_position(source.progress().bytes_read);
        }
        if !more {
            break;
        }
    }
    if let Some(engine) = engine.as_mut() {
        engine.step(Input::Flush, &mut outputs);
    }
    emit(&mut outputs, &mut alerts_out, &mut quarantine, &mut counts)?;
    alerts_out
        .flush()
        .context("cannot write alerts to standard output")?;
    if let Some(bar) = progress {
        bar.finish_and_clear();
    }
    counts.quarantined = quarantine.finish()?;
    if counts.quarantined > 0 {
        counts.quarantine_path = Some(quarantine_path.display().to_string());
    }
    let stats = engine.as_ref().map(Engine::stats);
    eprint!(
        "{}",
        summary::render(&counts, stats.as_ref(), started.elapsed())
    );
    Ok(())
}

/// Counts a record; a valid event goes through the engine when there is one, an invalid
/// record to the quarantine.
fn take_record(
    record: Record,
    engine: &mut Option<Engine>,
    counts: &mut RunCounts,
    quarantine: &mut QuarantineWriter,
    outputs: &mut Vec<Output>,
) -> anyhow::Result<()> {
    match record {
        Record::Event(event) => {
            counts.read_by_type[event.event_type().index()] += 1;
            if let Some(engine) = engine.as_mut() {
                engine.step(Input::Event(event), outputs);
            }
        }
        Record::Invalid(invalid) => {
            *counts
                .invalid_by_label
                .entry(invalid.reason.reason.label())
                .or_default() += 1;
            quarantine.write(&invalid)?;
        }
    }
    Ok(())
}

/// Writes alerts in the order they fired; late events go to the quarantine with their reason.
fn emit(
    outputs: &mut Vec<Output>,
    alerts: &mut impl Write,
    quarantine: &mut QuarantineWriter,
    counts: &mut RunCounts,
) -> anyhow::Result<()> {
    for output in outputs.drain(..) {
        match output {
            Output::Alert(alert) => {
                writeln!(alerts, "{}", alert.to_json_line())
                    .context("cannot write alerts to standard output")?;
            }
            Output::Late { event, reason } => {
                *counts.invalid_by_label.entry(reason.label()).or_default() += 1;
                quarantine.write_late(&event, &reason)?;
            }
        }
    }
    Ok(())
}

fn progress_bar(source: &dyn Source, disabled: bool) -> Option<ProgressBar> {
    let total = source.progress().bytes_total;
    if disabled || !std::io::stderr().is_terminal() || total < PROGRESS_MIN_BYTES {
        return None;
    }
    let bar = ProgressBar::new(total);
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} ({bytes_per_sec}, eta {eta})")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    Some(bar)
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ConvertFormat {
    Ndjson,
    Csv,
    Parquet,
}

#[derive(Debug, Args)]
pub struct ConvertArgs {
    /// An event file or a directory of per-type files, as for `replay`.
    pub input: PathBuf,
    /// The directory to write per-type files to.
    #[arg(long)]
    pub out: PathBuf,
    #[arg(long, value_enum, default_value = "parquet")]
    pub format: ConvertFormat,
    /// Where invalid input records are written with their reason (created only if needed).
    #[arg(long, default_value = "pumpwatch-quarantine.ndjson")]
    pub quarantine: PathBuf,
}

pub fn convert(args: ConvertArgs) -> anyhow::Result<()> {
    let mut source = pumpwatch_replay::open(&args.input)?;
    let format = match args.format {
        ConvertFormat::Ndjson => OutputFormat::Ndjson,
        ConvertFormat::Csv => OutputFormat::Csv,
        ConvertFormat::Parquet => OutputFormat::Parquet,
    };
    let started = Instant::now();
    let mut quarantine = QuarantineWriter::new(&args.quarantine);
    let summary = pumpwatch_replay::write_per_type(
        source.as_mut(),
        &args.out,
        format,
        Some(&mut quarantine),
    )?;
    let quarantined = quarantine.finish()?;
    eprintln!(
        "converted in {:.2} s: {summary:?}; {quarantined} invalid records quarantined",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
