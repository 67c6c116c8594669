//! `pumpwatch merge-alerts`: the alert files of the partitions of a split run into the alerts
//! one run gives, byte for byte, in its order.

use std::io::{BufWriter, Write};
use std::path::PathBuf;

use anyhow::{bail, Context as _};
use clap::Args;
use pumpwatch_core::{FiringKey, Partition};
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::output::PartitionHeader;

#[derive(Debug, Args)]
pub struct MergeArgs {
    /// The alert file of every partition of the run (`replay --partition I/N --out FILE`).
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Write the merged alerts here instead of standard output.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

#[derive(Deserialize)]
struct KeyedLine<'a> {
    firing: FiringKey,
    #[serde(borrow)]
    alert: &'a RawValue,
}

#[derive(Deserialize)]
struct AlertId {
    alert_id: String,
}

pub fn run(args: MergeArgs) -> anyhow::Result<()> {
    let texts: Vec<(PathBuf, String)> = args
        .files
        .iter()
        .map(|path| {
            std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))
                .map(|text| (path.clone(), text))
        })
        .collect::<Result<_, _>>()?;
    let mut count = None;
    let mut seen: Vec<u32> = Vec::new();
    let mut config_version: Option<String> = None;
    let mut alerts: Vec<(FiringKey, String, &str)> = Vec::new();
    for (path, text) in &texts {
        let mut lines = text.lines().enumerate();
        let not_a_share = || {
            format!(
                "{} is not a partition's alert file (written by replay --partition I/N --out FILE)",
                path.display()
            )
        };
        let (_, first) = lines.next().with_context(not_a_share)?;
        let header: PartitionHeader = serde_json::from_str(first).with_context(not_a_share)?;
        let partition: Partition = header.partition.parse().with_context(not_a_share)?;
        if *count.get_or_insert(partition.count()) != partition.count() {
            bail!(
                "{} is partition {partition}, another file is of a split into {}",
                path.display(),
                count.unwrap_or_default()
            );
        }
        if seen.contains(&partition.index()) {
            bail!("partition {partition} is given twice ({})", path.display());
        }
        seen.push(partition.index());
        match &config_version {
            Some(v) if *v != header.config_version => bail!(
                "{} was run with config version {}, another partition with {v}",
                path.display(),
                header.config_version
            ),
            _ => config_version = Some(header.config_version.clone()),
        }
        for (n, line) in lines {
            let keyed: KeyedLine<'_> = serde_json::from_str(line)
                .with_context(|| format!("{}:{}: not a keyed alert line", path.display(), n + 1))?;
            let id: AlertId = serde_json::from_str(keyed.alert.get()).with_context(|| {
                format!("{}:{}: the alert has no alert_id", path.display(), n + 1)
            })?;
            alerts.push((keyed.firing, id.alert_id, keyed.alert.get()));
        }
    }
    let count = count.unwrap_or_default();
    if seen.len() as u32 != count {
        let missing: Vec<String> = (0..count)
            .filter(|i| !seen.contains(i))
            .map(|i| format!("{i}/{count}"))
            .collect();
        bail!("partitions {} are missing", missing.join(", "));
    }
    alerts.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
    let mut out: Box<dyn Write> = match &args.out {
        Some(path) => Box::new(BufWriter::new(
            std::fs::File::create(path)
                .with_context(|| format!("cannot write {}", path.display()))?,
        )),
        None => Box::new(BufWriter::new(std::io::stdout().lock())),
    };
    for (_, _, alert) in &alerts {
        writeln!(out, "{alert}").context("cannot write the merged alerts")?;
    }
    out.flush().context("cannot write the merged alerts")?;
    eprintln!("merged {} alerts of {count} partitions", alerts.len());
    Ok(())
}
