//! `pumpwatch tune`: a threshold sweep over labelled history. Every combination of the given
//! values of one rule's thresholds is replayed over each labelled day (a `replay` of this
//! binary, so exactly what a user would run) and scored against the day's labels; the table
//! shows the precision/recall trade-off, and the setting with the best recall at the required
//! precision is written out as a config file a compliance team can back-test and deploy.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{bail, Context as _};
use clap::Args;
use pumpwatch_core::EngineConfig;
use pumpwatch_sim::eval::{evaluate, EvalReport};

use crate::config::DEFAULT_TOML;

#[derive(Debug, Args)]
pub struct TuneArgs {
    /// A labelled day: a directory `simulate` wrote (its events and labels.json). Repeat to
    /// tune over several days and seeds.
    #[arg(long = "day", required = true)]
    pub days: Vec<PathBuf>,
    /// The config to start from (default: the built-in defaults).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// The rule whose thresholds are swept: the `NAME` of its `[rules.NAME]` section.
    #[arg(long)]
    pub rule: String,
    /// A threshold and the values to try, `spend_of_proceeds_min=0.1,0.2,0.3`. Repeat to sweep
    /// a grid of several thresholds.
    #[arg(long = "param", required = true)]
    pub params: Vec<String>,
    /// The chosen setting has the highest victim recall among those with at least this
    /// precision over named accounts.
    #[arg(long, default_value_t = 0.97)]
    pub precision_min: f64,
    /// For `tape_pump`: the chosen setting finds the most tape pumps within 60 s among those
    /// with fewer false tape alarms per 50 symbol-days than this.
    #[arg(long, default_value_t = 1.0)]
    pub tape_false_max: f64,
    /// Write the chosen config here: the starting config with the chosen values.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// One threshold and its values.
#[derive(Debug, Clone)]
struct Param {
    name: String,
    values: Vec<toml::Value>,
}

fn parse_param(text: &str) -> anyhow::Result<Param> {
    let (name, values) = text
        .split_once('=')
        .with_context(|| format!("--param {text}: expected NAME=V1,V2,..."))?;
    let values = values
        .split(',')
        .map(|v| parse_value(v.trim()))
        .collect::<anyhow::Result<Vec<_>>>()?;
    if name.trim().is_empty() || values.is_empty() {
        bail!("--param {text}: expected NAME=V1,V2,...");
    }
    Ok(Param {
        name: name.trim().to_string(),
        values,
    })
}

/// A value as TOML reads it: an integer, a float, a boolean, else a string.
fn parse_value(text: &str) -> anyhow::Result<toml::Value> {
    if text.is_empty() {
        bail!("an empty value");
    }
    Ok(if let Ok(i) = text.parse::<i64>() {
        toml::Value::Integer(i)
    } else if let Ok(f) = text.parse::<f64>() {
        toml::Value::Float(f)
    } else if let Ok(b) = text.parse::<bool>() {
        toml::Value::Boolean(b)
    } else {
        toml::Value::String(text.to_string())
    })
}

/// Every combination of the params' values, in order (the last param varies fastest).
fn grid(params: &[Param]) -> Vec<Vec<toml::Value>> {
    let mut combos: Vec<Vec<toml::Value>> = vec![Vec::new()];
    for p in params {
        combos = combos
            .into_iter()
            .flat_map(|c| {
                p.values.iter().map(move |v| {
                    let mut c = c.clone();
                    c.push(v.clone());
                    c
                })
            })
            .collect();
    }
    combos
}

/// The base config with `rule`'s thresholds set to `values`; checked like any config.
fn with_values(
    base: &toml::Table,
    rule: &str,
    params: &[Param],
    values: &[toml::Value],
) -> anyhow::Result<String> {
    let mut table = base.clone();
    let rules = table
        .entry("rules")
        .or_insert_with(|| toml::Value::Table(toml::Table::new()))
        .as_table_mut()
        .context("`rules` is not a table")?;
    let section = rules
        .entry(rule)
        .or_insert_with(|| toml::Value::Table(toml::Table::new()))
        .as_table_mut()
        .with_context(|| format!("`rules.{rule}` is not a table"))?;
    for (p, v) in params.iter().zip(values) {
        // A float threshold given as an integer (`buy_value_min=300000`) stays a float.
        let v = match (section.get(&p.name), v) {
            (Some(toml::Value::Float(_)), toml::Value::Integer(i)) => toml::Value::Float(*i as f64),
            _ => v.clone(),
        };
        section.insert(p.name.clone(), v);
    }
    let text = toml::to_string(&table)?;
    let config: EngineConfig = toml::from_str(&text)
        .with_context(|| format!("rules.{rule}: {}", describe(params, values)))?;
    config
        .validate()
        .with_context(|| format!("rules.{rule}: {}", describe(params, values)))?;
    Ok(text)
}

fn describe(params: &[Param], values: &[toml::Value]) -> String {
    params
        .iter()
        .zip(values)
        .map(|(p, v)| format!("{}={v}", p.name))
        .collect::<Vec<_>>()
        .join(" ")
}

/// One setting's scores, added up over the days.
#[derive(Debug, Default, Clone)]
struct Scores {
    victims: u64,
    alerted: u64,
    before_last_buy: u64,
    named: u64,
    named_true: u64,
    false_alerts: u64,
    active: u64,
    perpetrators: u64,
    perpetrators_named: u64,
    rule_alerts: u64,
    rule_false: u64,
    tape_pumps: u64,
    tape_found: u64,
    tape_false: u64,
    symbol_days: u64,
}

impl Scores {
    fn add(&mut self, r: &EvalReport, rules: &[&str]) {
        self.victims += u64::from(r.victims);
        self.alerted += u64::from(r.victims_alerted);
        self.before_last_buy += u64::from(r.victims_alerted_before_last_buy);
        self.named += u64::from(r.named_accounts);
        self.named_true += u64::from(r.named_accounts_true);
        self.false_alerts += r.false_alerts;
        self.active += u64::from(r.active_accounts);
        self.perpetrators += u64::from(r.perpetrators);
        self.perpetrators_named += u64::from(r.perpetrators_named);
        self.tape_pumps += u64::from(r.tape_pumps);
        self.tape_found += u64::from(r.tape_pumps_found_within_60s);
        self.tape_false += r.tape_pump_false_alarms;
        self.symbol_days += u64::from(r.symbol_days);
        for rc in &r.alerts_by_rule {
            if rules.contains(&rc.rule.as_str()) {
                self.rule_alerts += rc.alerts;
                self.rule_false += rc.false_alerts;
            }
        }
    }

    fn recall(&self) -> f64 {
        ratio(self.alerted, self.victims)
    }

    fn precision(&self) -> f64 {
        ratio(self.named_true, self.named)
    }

    fn tape_false_per_50_symbol_days(&self) -> f64 {
        ratio(self.tape_false * 50, self.symbol_days)
    }
}

fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}

/// Replays `day` under the config at `config` with this very binary; the alerts go to
/// `alerts`.
fn replay(day: &Path, config: &Path, alerts: &Path) -> anyhow::Result<()> {
    // Invalid lines go next to the alerts, never into the user's directory.
    let quarantine = alerts.with_extension("quarantine.ndjson");
    let exe = std::env::current_exe().context("cannot find the pumpwatch binary")?;
    let out = std::fs::File::create(alerts)
        .with_context(|| format!("cannot write {}", alerts.display()))?;
    let status = Command::new(exe)
        .arg("replay")
        .arg(day)
        .arg("--config")
        .arg(config)
        .arg("--quarantine")
        .arg(&quarantine)
        .stdout(out)
        .stderr(Stdio::null())
        .status()
        .context("cannot run replay")?;
    if !status.success() {
        bail!("replay of {} failed ({status})", day.display());
    }
    Ok(())
}

pub fn run(args: TuneArgs) -> anyhow::Result<()> {
    let base_text = match &args.config {
        Some(path) => std::fs::read_to_string(path)
            .with_context(|| format!("cannot read config {}", path.display()))?,
        None => DEFAULT_TOML.to_string(),
    };
    let base: toml::Table = toml::from_str(&base_text).context("invalid base config")?;
    let params = args
        .params
        .iter()
        .map(|p| parse_param(p))
        .collect::<anyhow::Result<Vec<_>>>()?;
    for day in &args.days {
        if !day.join("labels.json").is_file() {
            bail!(
                "{}: no labels.json (a day `pumpwatch simulate` wrote)",
                day.display()
            );
        }
    }
    // The rule ids whose alerts the table counts: the section's rule and its stages.
    let rule_ids: Vec<&str> = match args.rule.as_str() {
        "ato_liquidation_thin_buy" => vec!["ato_liquidation_thin_buy", "ato_session_liquidation"],
        other => vec![other],
    };
    let work = tempfile::tempdir()?;
    let combos = grid(&params);
    eprintln!(
        "tune: {} settings of rules.{} over {} day(s)",
        combos.len(),
        args.rule,
        args.days.len()
    );
    let mut results: Vec<(Vec<toml::Value>, String, Scores)> = Vec::new();
    for (n, values) in combos.iter().enumerate() {
        let text = with_values(&base, &args.rule, &params, values)?;
        let config = work.path().join(format!("config-{n}.toml"));
        std::fs::write(&config, &text)?;
        let mut scores = Scores::default();
        for (d, day) in args.days.iter().enumerate() {
            let alerts = work.path().join(format!("alerts-{n}-{d}.ndjson"));
            replay(day, &config, &alerts)?;
            let report = evaluate(&alerts, &day.join("labels.json"))?;
            scores.add(&report, &rule_ids);
        }
        results.push((values.clone(), text, scores));
    }

    let header: Vec<String> = params.iter().map(|p| p.name.clone()).collect();
    println!(
        "{:<40} {:>8} {:>10} {:>10} {:>12} {:>8} {:>10} {:>16}",
        header.join(" "),
        "recall",
        "before_buy",
        "precision",
        "false/100k",
        "perps",
        "tape<=60s",
        format!("{} alerts", rule_ids[0].split('_').next().unwrap_or("rule")),
    );
    for (values, _, s) in &results {
        let shown: Vec<String> = values.iter().map(|v| v.to_string()).collect();
        println!(
            "{:<40} {:>7.1}% {:>9.1}% {:>9.1}% {:>12.1} {:>8} {:>10} {:>6} ({} false)",
            shown.join(" "),
            100.0 * s.recall(),
            100.0 * ratio(s.before_last_buy, s.victims),
            100.0 * s.precision(),
            ratio(s.false_alerts * 100_000, s.active),
            format!("{}/{}", s.perpetrators_named, s.perpetrators),
            format!("{}/{}", s.tape_found, s.tape_pumps),
            s.rule_alerts,
            s.rule_false,
        );
    }
    // The tape rule serves the exchange: the most pumps found within a minute, with under
    // `tape_false_max` false alarms per 50 symbol-days. Every other rule: the best victim
    // recall at `precision_min`.
    let tape = args.rule == "tape_pump";
    let chosen = results
        .iter()
        .filter(|(_, _, s)| {
            if tape {
                s.tape_false_per_50_symbol_days() < args.tape_false_max
            } else {
                s.precision() >= args.precision_min
            }
        })
        .max_by(|a, b| {
            if tape {
                a.2.tape_found
                    .cmp(&b.2.tape_found)
                    .then(b.2.tape_false.cmp(&a.2.tape_false))
            } else {
                a.2.recall()
                    .total_cmp(&b.2.recall())
                    .then(a.2.precision().total_cmp(&b.2.precision()))
            }
        });
    let Some((values, text, scores)) = chosen else {
        if tape {
            bail!(
                "no setting stays under {} false tape alarms per 50 symbol-days: widen the sweep",
                args.tape_false_max
            );
        }
        bail!(
            "no setting reaches precision {:.1}%: widen the sweep or lower --precision-min",
            100.0 * args.precision_min
        );
    };
    let summary = describe(&params, values);
    let figures = if tape {
        format!(
            "tape pumps within 60 s {}/{}, {:.2} false per 50 symbol-days",
            scores.tape_found,
            scores.tape_pumps,
            scores.tape_false_per_50_symbol_days()
        )
    } else {
        format!(
            "recall {:.1}%, precision {:.1}%",
            100.0 * scores.recall(),
            100.0 * scores.precision()
        )
    };
    println!("chosen: {summary} ({figures})");
    if let Some(out) = &args.out {
        let days: Vec<String> = args.days.iter().map(|d| d.display().to_string()).collect();
        let body = format!(
            "# Written by `pumpwatch tune`: rules.{} {summary} ({figures}) over {}.\n{text}",
            args.rule,
            days.join(", ")
        );
        std::fs::write(out, body).with_context(|| format!("cannot write {}", out.display()))?;
        eprintln!("tune: wrote {}", out.display());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_parse_into_a_grid() {
        let a = parse_param("x=0.1,0.2").unwrap();
        let b = parse_param("n=3,5").unwrap();
        assert_eq!(
            a.values,
            vec![toml::Value::Float(0.1), toml::Value::Float(0.2)]
        );
        let g = grid(&[a, b]);
        assert_eq!(g.len(), 4);
        assert_eq!(g[1], vec![toml::Value::Float(0.1), toml::Value::Integer(5)]);
        assert!(parse_param("nothing").is_err());
        assert!(parse_param("x=").is_err());
    }

    #[test]
    fn a_setting_is_checked_like_any_config() {
        let base: toml::Table = toml::from_str(DEFAULT_TOML).unwrap();
        let p = vec![parse_param("buy_value_min=300000").unwrap()];
        let text = with_values(&base, "ato_liquidation_thin_buy", &p, &p[0].values).unwrap();
        let config: EngineConfig = toml::from_str(&text).unwrap();
        assert_eq!(
            config.rules.ato_liquidation_thin_buy.buy_value_min,
            300_000.0
        );
        let bad = vec![parse_param("liquidation_fraction_min=2.0").unwrap()];
        let err = with_values(&base, "ato_liquidation_thin_buy", &bad, &bad[0].values).unwrap_err();
        assert!(
            format!("{err:#}").contains("liquidation_fraction_min"),
            "{err:#}"
        );
        let typo = vec![parse_param("no_such_threshold=1").unwrap()];
        assert!(with_values(&base, "ato_liquidation_thin_buy", &typo, &typo[0].values).is_err());
    }
}
