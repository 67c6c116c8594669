//! `pumpwatch replay` and `pumpwatch convert`: drive the engine over files, exactly as the
//! live feed would, and print what fired.

use std::io::{BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context as _;
use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use pumpwatch_core::{Engine, Input, Output};
use pumpwatch_model::EventType;
use pumpwatch_replay::{Batch, OutputFormat, QuarantineWriter, Record, Run, Source, SourceOptions};

use crate::summary::{self, RunCounts};

/// Records pulled from the source at a time.
const BATCH_RECORDS: usize = 4_096;
/// Inputs smaller than this finish too fast for a progress bar to help.
const PROGRESS_MIN_BYTES: u64 = 64 << 20;

/// How an input is opened: the flags `replay`, `check` and `convert` share.
#[derive(Debug, Args)]
pub struct InputArgs {
    /// In a directory, leave out files named like a per-type file without being one
    /// (orders_20250317.ndjson, execution.csv) instead of refusing the input.
    #[arg(long)]
    pub ignore_misnamed: bool,
}

/// Opens `input` (`-`: standard input, plain NDJSON) and names on stderr every file of a
/// directory that will not be read.
fn open_input(input: &Path, args: &InputArgs) -> anyhow::Result<Box<dyn Source>> {
    let options = SourceOptions {
        ignore_misnamed: args.ignore_misnamed,
        ..SourceOptions::default()
    };
    let source = if input == Path::new("-") {
        pumpwatch_replay::open_stdin(&options)
    } else {
        pumpwatch_replay::open_with(input, &options)?
    };
    for ignored in &source.info().ignored {
        eprintln!(
            "pumpwatch: ignoring {}: not a per-type event file",
            ignored.display()
        );
    }
    Ok(source)
}

#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// An event file (.ndjson/.jsonl/.json, optionally .gz/.zst; .csv; .parquet), a directory
    /// of per-type files (orders.ndjson, trades.parquet, ...), or - for NDJSON on standard
    /// input.
    pub input: PathBuf,
    #[command(flatten)]
    pub open: InputArgs,
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
        &args.open,
        &args.quarantine,
        args.no_progress,
        Some(engine),
    )
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// An event file or a directory of per-type files, as for `replay`.
    pub input: PathBuf,
    #[command(flatten)]
    pub open: InputArgs,
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
    drive(
        &args.input,
        &args.open,
        &args.quarantine,
        args.no_progress,
        None,
    )
}

/// Pulls every record of `input`; valid events go through the engine when there is one.
fn drive(
    input: &Path,
    open: &InputArgs,
    quarantine_path: &Path,
    no_progress: bool,
    mut engine: Option<Engine>,
) -> anyhow::Result<()> {
    let mut source = open_input(input, open)?;
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
        if emit(&mut outputs, &mut alerts_out, &mut quarantine, &mut counts)? {
            // Each alert reaches a pipe when it fires, not when the buffer fills.
            alerts_out
                .flush()
                .context("cannot write alerts to standard output")?;
        }
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
    } else {
        remove_stale_quarantine(quarantine_path)?;
    }
    if counts.read_total() + counts.invalid_total() == 0 {
        eprintln!("pumpwatch: warning: {} holds no events", input.display());
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

/// A run that quarantined nothing leaves no quarantine file: one left by an earlier run at
/// the same path would be read as this run's, so it is removed, and that is said.
fn remove_stale_quarantine(path: &Path) -> anyhow::Result<()> {
    if path.is_file() {
        std::fs::remove_file(path).with_context(|| {
            format!(
                "{}: cannot remove an earlier run's quarantine file",
                path.display()
            )
        })?;
        eprintln!(
            "pumpwatch: removed {}, an earlier run's quarantine file (this run quarantined nothing)",
            path.display()
        );
    }
    Ok(())
}

/// Writes alerts in the order they fired; late events go to the quarantine with their reason.
/// Whether any alert was written.
fn emit(
    outputs: &mut Vec<Output>,
    alerts: &mut impl Write,
    quarantine: &mut QuarantineWriter,
    counts: &mut RunCounts,
) -> anyhow::Result<bool> {
    let mut alerted = false;
    for output in outputs.drain(..) {
        match output {
            Output::Alert(alert) => {
                writeln!(alerts, "{}", alert.to_json_line())
                    .context("cannot write alerts to standard output")?;
                alerted = true;
            }
            Output::Late { event, reason } => {
                *counts.invalid_by_label.entry(reason.label()).or_default() += 1;
                quarantine.write_late(&event, &reason)?;
            }
        }
    }
    Ok(alerted)
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
    #[command(flatten)]
    pub open: InputArgs,
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
    let mut source = open_input(&args.input, &args.open)?;
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
    if quarantined == 0 {
        remove_stale_quarantine(&args.quarantine)?;
    }
    let by_type: Vec<String> = EventType::ALL
        .iter()
        .filter(|t| summary.events_by_type[t.index()] > 0)
        .map(|t| format!("{} {}", t.as_str(), summary.events_by_type[t.index()]))
        .collect();
    eprintln!(
        "converted {} events ({}) in {:.2} s into {}",
        summary.events(),
        by_type.join(", "),
        started.elapsed().as_secs_f64(),
        args.out.display()
    );
    for file in &summary.files {
        eprintln!("  {}", file.display());
    }
    if quarantined > 0 {
        eprintln!(
            "  {quarantined} invalid records quarantined → {}",
            args.quarantine.display()
        );
    }
    Ok(())
}
