//! `pumpwatch replay`, `check` and `convert`: drive the engines over files through the
//! driver, exactly as a live feed would, and print what fired.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context as _};
use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use pumpwatch_core::{Engine, EngineStats, Partition};
use pumpwatch_driver::{Checkpoint, Driver, DriverOptions};
use pumpwatch_model::EventType;
use pumpwatch_replay::{OutputFormat, QuarantineWriter, Record, Source, SourceOptions};

use crate::output::{AlertsOut, PartitionHeader, ReplaySink};
use crate::resume;
use crate::summary::{self, Quarantine, RunCounts};

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
            "pumpwatch: ignoring {}: not an event file (per-type, or events.* of every type)",
            ignored.display()
        );
    }
    Ok(source)
}

#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// An event file (.ndjson/.jsonl/.json, optionally .gz/.zst; .csv; .parquet), a directory
    /// of per-type files (orders.ndjson, trades.parquet, ...) or holding one file of every type
    /// (events.ndjson, ...), or - for NDJSON on standard input.
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
    /// Threads to use: 2 reads on one while the engine runs on the other; N > 2 splits the
    /// accounts across N - 1 engines, each on a thread of its own. The same alerts, in the
    /// same order, as one thread.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=256))]
    pub threads: u32,
    /// Run one share I of N of the accounts (0 <= I < N), for a run split across machines:
    /// the alerts go out with their firing keys, for `pumpwatch merge-alerts`.
    #[arg(long, value_name = "I/N")]
    pub partition: Option<Partition>,
    /// Write the alerts to this file instead of standard output.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Keep a checkpoint in this directory; the same command after a crash goes on from it
    /// and --out ends as an uninterrupted run's. Needs --out.
    #[arg(long, requires = "out")]
    pub checkpoint_dir: Option<PathBuf>,
    /// Seconds of wall time between two checkpoints (0: after every batch).
    #[arg(long, default_value_t = 30)]
    pub checkpoint_secs: u64,
    /// Also load the alerts, with the day's holdings, price bars and executions, into this
    /// alert store: sqlite://FILE (created when missing) or postgres://USER@HOST:PORT/DB.
    /// Alerts already stored (same alert_id) are left as they are.
    #[arg(long, value_name = "URL")]
    pub store: Option<String>,
    /// With --store: alerts on one symbol within this many seconds join one case.
    #[arg(long, default_value_t = 3 * 3600)]
    pub case_window_secs: i64,
}

pub fn run(args: ReplayArgs) -> anyhow::Result<()> {
    let config = crate::config::load(args.config.as_deref())?;
    if args.partition.is_some() && args.threads > 2 {
        bail!("--partition runs one share on one engine: use --threads 1 or 2");
    }
    if args.store.is_some() && args.checkpoint_dir.is_some() && args.out.is_none() {
        bail!("--store with --checkpoint-dir needs --out: after a resume the file has every alert");
    }
    if args.partition.is_some() && args.store.is_some() {
        bail!("--store takes a whole run's alerts: load the merged file with pumpwatch ingest");
    }
    let started = Instant::now();
    let source = open_input(&args.input, &args.open)?;
    let progress = progress_bar(source.as_ref(), args.no_progress);
    let options = DriverOptions {
        batch_records: BATCH_RECORDS,
        threads: args.threads,
        // A pipe's read waits for input: the alerts before it must be out first.
        read_ahead: args.input != Path::new("-"),
        ..DriverOptions::default()
    };
    let identity = resume::RunIdentity {
        input: args.input.display().to_string(),
        out: args
            .out
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_default(),
        config_version: config.version(),
        split: match args.partition {
            Some(p) => format!("partition {p}"),
            None => format!("threads {}", args.threads),
        },
    };
    let resumed = match &args.checkpoint_dir {
        Some(dir) => resume::load(dir, &identity)?,
        None => None,
    };
    let alerts = match &args.out {
        Some(path) => AlertsOut::file(path, resumed.as_ref().map(|r| r.alerts_bytes))?,
        None => AlertsOut::stdout(),
    };
    let quarantine = match &resumed {
        Some(r) => {
            QuarantineWriter::resume(&args.quarantine, r.quarantine_bytes, r.quarantine_records)?
        }
        None => QuarantineWriter::new(&args.quarantine),
    };
    let mut sink = ReplaySink::new(alerts, quarantine, args.partition);
    if args.store.is_some() && args.out.is_none() {
        sink.kept = Some(Vec::new());
    }
    let mut driver = match &resumed {
        Some(r) => {
            let checkpoint = Checkpoint::from_bytes(&r.driver).map_err(anyhow::Error::msg)?;
            eprintln!(
                "pumpwatch: resuming from the checkpoint in {} ({} records already read)",
                args.checkpoint_dir
                    .as_deref()
                    .unwrap_or(Path::new("."))
                    .display(),
                checkpoint.records_taken.iter().sum::<u64>()
            );
            Driver::resume(&config, vec![source], &options, &checkpoint)?
        }
        None => {
            let engines = match args.partition {
                Some(p) => vec![Engine::for_partition(config.clone(), p)?],
                None => pumpwatch_driver::engines::shares(
                    &config,
                    args.threads.saturating_sub(1).max(1),
                )?,
            };
            if let Some(p) = args.partition {
                sink.write_header(&PartitionHeader {
                    partition: p.to_string(),
                    config_version: config.version(),
                })?;
            }
            Driver::from_engines(engines, vec![source], &options)?
        }
    };
    let mut last_checkpoint = Instant::now();
    let mut checkpoints = CheckpointStats::default();
    while driver.step(&mut sink)? {
        if let Some(bar) = &progress {
            bar.set_position(driver.sources().map(|s| s.progress().bytes_read).sum());
        }
        if let Some(dir) = &args.checkpoint_dir {
            if last_checkpoint.elapsed().as_secs() >= args.checkpoint_secs {
                let started = Instant::now();
                let bytes = write_checkpoint(dir, &identity, &mut driver, &mut sink, &args)?;
                checkpoints.note(bytes, started.elapsed());
                last_checkpoint = Instant::now();
            }
        }
    }
    sink.alerts.flush()?;
    if let Some(bar) = progress {
        bar.finish_and_clear();
    }
    let stats = driver.engine_stats()?;
    let counts = driver.counts().clone();
    if let Some(dir) = &args.checkpoint_dir {
        resume::clear(dir)?;
    }
    let ReplaySink {
        quarantine, kept, ..
    } = sink;
    finish_run(
        quarantine,
        &args.quarantine,
        &args.input,
        &counts,
        Some(&stats),
        started,
    )?;
    if let Some(url) = &args.store {
        // A resumed run wrote part of its alerts before the crash: the file has them all.
        let lines = match (&args.out, kept) {
            (Some(out), _) => std::fs::read_to_string(out)
                .with_context(|| format!("cannot read back {}", out.display()))?
                .lines()
                .map(str::to_string)
                .collect(),
            (None, kept) => kept.unwrap_or_default(),
        };
        let day = (args.input != Path::new("-")).then_some(args.input.as_path());
        if day.is_none() {
            eprintln!("pumpwatch: standard input cannot be read twice: the alerts are stored without their day's context");
        }
        crate::store_cmd::load_alerts(url, &lines, day, args.case_window_secs)?;
    }
    if checkpoints.written > 0 {
        eprintln!(
            "  checkpoints    {} written, the last {:.1} MiB, the longest took {:.3} s",
            checkpoints.written,
            checkpoints.last_bytes as f64 / (1 << 20) as f64,
            checkpoints.longest.as_secs_f64()
        );
    }
    Ok(())
}

/// What the checkpoints of a run cost.
#[derive(Debug, Default)]
struct CheckpointStats {
    written: u64,
    last_bytes: u64,
    longest: std::time::Duration,
}

impl CheckpointStats {
    fn note(&mut self, bytes: u64, took: std::time::Duration) {
        self.written += 1;
        self.last_bytes = bytes;
        self.longest = self.longest.max(took);
    }
}

/// Takes the driver's checkpoint with both output files synced to it, and saves it.
fn write_checkpoint(
    dir: &Path,
    identity: &resume::RunIdentity,
    driver: &mut Driver,
    sink: &mut ReplaySink,
    args: &ReplayArgs,
) -> anyhow::Result<u64> {
    let checkpoint = driver.checkpoint(sink)?;
    let alerts_bytes = sink.alerts.flush()?;
    let quarantine_bytes = sink.quarantine.flush()?;
    if let Some(out) = &args.out {
        resume::sync(out)?;
    }
    resume::sync(&args.quarantine)?;
    let driver_bytes = checkpoint.to_bytes();
    let size = driver_bytes.len() as u64;
    resume::save(
        dir,
        &resume::RunCheckpoint {
            run: identity.clone(),
            alerts_bytes,
            quarantine_bytes,
            quarantine_records: sink.quarantine.written(),
            driver: driver_bytes,
        },
    )?;
    Ok(size)
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
    let started = Instant::now();
    let mut source = open_input(&args.input, &args.open)?;
    let progress = progress_bar(source.as_ref(), args.no_progress);
    let mut quarantine = QuarantineWriter::new(&args.quarantine);
    let mut counts = RunCounts::default();
    let mut batch = Vec::with_capacity(BATCH_RECORDS);
    loop {
        let more = source.next_batch(&mut batch, BATCH_RECORDS)?;
        for record in batch.drain(..) {
            match record {
                Record::Event(event) => counts.count_event(event.event_type()),
                Record::Invalid(invalid) => {
                    counts.count_invalid(invalid.reason.reason.label());
                    quarantine.write(&invalid)?;
                }
            }
        }
        if let Some(bar) = &progress {
            bar.set_position(source.progress().bytes_read);
        }
        if !more {
            break;
        }
    }
    if let Some(bar) = progress {
        bar.finish_and_clear();
    }
    finish_run(
        quarantine,
        &args.quarantine,
        &args.input,
        &counts,
        None,
        started,
    )
}

/// The end of a `replay` or `check`: the quarantine file closed (an earlier run's removed when
/// this one quarantined nothing), an empty input said, the summary printed.
fn finish_run(
    quarantine: QuarantineWriter,
    quarantine_path: &Path,
    input: &Path,
    counts: &RunCounts,
    stats: Option<&EngineStats>,
    started: Instant,
) -> anyhow::Result<()> {
    let quarantined = quarantine.finish()?;
    if quarantined == 0 {
        remove_stale_quarantine(quarantine_path)?;
    }
    if counts.read_total() + counts.invalid_total() == 0 {
        eprintln!("pumpwatch: warning: {} holds no events", input.display());
    }
    let quarantine = (quarantined > 0).then(|| Quarantine {
        records: quarantined,
        path: quarantine_path.display().to_string(),
    });
    eprint!(
        "{}",
        summary::render(counts, quarantine.as_ref(), stats, started.elapsed())
    );
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
