//! Scores an alert file against `labels.json`: recall, timeliness, precision and false alerts, with breakdowns a tuner can act on.
//!
//! Definitions (all over the labelled day):
//! - a victim is *alerted* when any alert names its account; its first alert
//!   is the earliest such alert by `ts`, whatever the rule;
//! - *delay* = first alert − the attacker's first order (`first_takeover_order`,
//!   or `takeover_start` in labels without it), in seconds (negative when an
//!   alert named the account before that order); *delay from takeover start*
//!   counts from `takeover_start` (the hijacked login, or the first order of a
//!   stolen session);
//! - *before last buy* = the first alert is strictly earlier than the
//!   victim's `last_takeover_buy` (the share is over all victims);
//! - *precision (named)* = named accounts that are victims or perpetrators /
//!   all distinct named accounts;
//! - a *false alert* names no victim or perpetrator; an alert naming no
//!   account at all is true when it names a campaign target symbol and is
//!   counted under `symbol_only` otherwise.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::io::BufRead;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::SimError;
use crate::labels::Labels;

/// The rules whose alerts are about a symbol: they name a campaign's targets.
const SYMBOL_RULES: [&str; 2] = ["coordinated_thin_buying", "tape_pump"];

/// How many account ids the report lists for inspection.
const LISTED_ACCOUNTS_MAX: usize = 20;

/// The evaluation result; serializes to JSON for dashboards and CI.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct EvalReport {
    /// Valid alert lines read.
    pub alerts: u64,
    /// Alert lines skipped: not JSON, or without a parseable `ts`.
    pub alert_lines_invalid: u64,
    pub victims: u32,
    pub victims_alerted: u32,
    /// victims_alerted / victims (0 when there are no victims).
    pub recall: f64,
    pub victims_alerted_before_last_buy: u32,
    /// victims_alerted_before_last_buy / victims.
    pub before_last_buy_share: f64,
    pub delay_secs_median: Option<f64>,
    /// Nearest-rank 90th percentile.
    pub delay_secs_p90: Option<f64>,
    /// The same from `takeover_start` (the login that began the takeover).
    pub delay_from_takeover_start_secs_median: Option<f64>,
    pub delay_from_takeover_start_secs_p90: Option<f64>,
    pub campaigns: u32,
    /// Campaigns with at least one alerted victim.
    pub campaigns_detected: u32,
    pub perpetrators: u32,
    pub perpetrators_named: u32,
    /// Tape-only pumps planted.
    pub tape_pumps: u32,
    /// Of those, named by a `tape_pump` alert within 60 s of the buying's start (up to 1 s
    /// before it: a tape stamped to the millisecond truncates the start).
    pub tape_pumps_found_within_60s: u32,
    /// `tape_pump` alerts on a symbol that is neither a tape pump nor a campaign target.
    pub tape_pump_false_alarms: u64,
    /// Those per 50 symbol-days of the labelled day.
    pub tape_pump_false_alarms_per_50_symbol_days: f64,
    /// The symbol-days of the labelled day (its symbols).
    pub symbol_days: u32,
    /// Campaign target symbols.
    pub targets: u32,
    /// Of those, named by a symbol-level alert (`coordinated_thin_buying`, `tape_pump`).
    pub targets_named: u32,
    /// Distinct accounts named by any alert.
    pub named_accounts: u32,
    /// Of those, victims and perpetrators.
    pub named_accounts_true: u32,
    pub precision_named: Option<f64>,
    pub false_alerts: u64,
    pub active_accounts: u32,
    pub false_alerts_per_100k_active: f64,
    pub recall_by_variant: Vec<VariantRecall>,
    /// False alerts per kind of account they name (an alert naming two
    /// kinds counts once for each).
    pub false_alerts_by_kind: Vec<KindCount>,
    pub alerts_by_rule: Vec<RuleCount>,
    /// Up to 20 missed victims, by account id.
    pub missed_victims: Vec<String>,
    pub missed_victims_total: u32,
    /// Up to 20 named accounts that are neither victim nor perpetrator.
    pub falsely_named_accounts: Vec<NamedAccount>,
    pub falsely_named_total: u32,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct VariantRecall {
    pub variant: String,
    pub victims: u32,
    pub alerted: u32,
    pub recall: f64,
    pub before_last_buy: u32,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct KindCount {
    /// A look-alike kind, `unlabelled` (ordinary accounts) or `symbol_only`.
    pub kind: String,
    pub false_alerts: u64,
    /// Distinct accounts of this kind named by any alert.
    pub accounts_named: u32,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RuleCount {
    pub rule: String,
    pub alerts: u64,
    pub false_alerts: u64,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct NamedAccount {
    pub account_id: String,
    /// Look-alike kind or `unlabelled`.
    pub kind: String,
}

/// The alert fields the evaluator uses; everything else is ignored.
#[derive(Debug, Deserialize)]
struct AlertIn {
    ts: String,
    #[serde(default)]
    rule: Option<String>,
    #[serde(default)]
    account_ids: Vec<String>,
    #[serde(default)]
    symbols: Vec<String>,
}

struct Alert {
    ts_us: i64,
    rule: String,
    accounts: Vec<String>,
    symbols: Vec<String>,
}

fn parse_ts(s: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.timestamp_micros())
}

fn read_alerts(path: &Path) -> Result<(Vec<Alert>, u64), SimError> {
    let file = std::fs::File::open(path).map_err(|e| SimError::io(path, e))?;
    let mut alerts = Vec::new();
    let mut invalid = 0;
    for line in std::io::BufReader::new(file).lines() {
        let line = line.map_err(|e| SimError::io(path, e))?;
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let parsed = serde_json::from_str::<AlertIn>(line)
            .ok()
            .and_then(|a| parse_ts(&a.ts).map(|ts| (a, ts)));
        match parsed {
            Some((a, ts_us)) => alerts.push(Alert {
                ts_us,
                rule: a.rule.unwrap_or_default(),
                accounts: a.account_ids,
                symbols: a.symbols,
            }),
            None => invalid += 1,
        }
    }
    Ok((alerts, invalid))
}

fn read_labels(path: &Path) -> Result<Labels, SimError> {
    let text = std::fs::read(path).map_err(|e| SimError::io(path, e))?;
    serde_json::from_slice(&text).map_err(|e| SimError::Json {
        path: path.to_path_buf(),
        source: e,
    })
}

struct VictimTruth {
    variant: String,
    campaign: String,
    takeover_start: i64,
    first_order: i64,
    last_buy: Option<i64>,
}

/// Median (mean of the middle two for an even count) of sorted values.
fn median(sorted: &[f64]) -> Option<f64> {
    let n = sorted.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(sorted[n / 2]),
        _ => Some((sorted[n / 2 - 1] + sorted[n / 2]) / 2.0),
    }
}

/// Nearest-rank percentile of sorted values.
fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (p * sorted.len() as f64).ceil().max(1.0) as usize;
    Some(sorted[rank.min(sorted.len()) - 1])
}

fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}

/// Scores the alerts in `alerts` (NDJSON) against `labels` (labels.json).
pub fn evaluate(alerts: &Path, labels: &Path) -> Result<EvalReport, SimError> {
    let lab = read_labels(labels)?;
    let (alerts, alert_lines_invalid) = read_alerts(alerts)?;
    let bad_time = |what: &str, acct: &str| SimError::Format {
        path: labels.to_path_buf(),
        message: format!("{what} of {acct} is not an RFC 3339 time"),
    };

    let mut victims: BTreeMap<String, VictimTruth> = BTreeMap::new();
    let mut perps: BTreeSet<String> = BTreeSet::new();
    let mut kinds: BTreeMap<String, String> = BTreeMap::new();
    for a in &lab.accounts {
        match a.role.as_str() {
            "victim" => {
                let start = a
                    .takeover_start
                    .as_deref()
                    .and_then(parse_ts)
                    .ok_or_else(|| bad_time("takeover_start", &a.account_id))?;
                let first_order = match a.first_takeover_order.as_deref() {
                    None => start,
                    Some(s) => parse_ts(s)
                        .ok_or_else(|| bad_time("first_takeover_order", &a.account_id))?,
                };
                let last_buy = match a.last_takeover_buy.as_deref() {
                    None => None,
                    Some(s) => Some(
                        parse_ts(s).ok_or_else(|| bad_time("last_takeover_buy", &a.account_id))?,
                    ),
                };
                victims.insert(
                    a.account_id.clone(),
                    VictimTruth {
                        variant: a.variant.clone(),
                        campaign: a.campaign_id.clone().unwrap_or_default(),
                        takeover_start: start,
                        first_order,
                        last_buy,
                    },
                );
            }
            "perpetrator" => {
                perps.insert(a.account_id.clone());
            }
            _ => {
                kinds.insert(a.account_id.clone(), a.variant.clone());
            }
        }
    }
    let targets: BTreeSet<&str> = lab
        .campaigns
        .iter()
        .flat_map(|c| c.target_symbols.iter().map(String::as_str))
        .collect();
    let kind_of = |acct: &str| -> String {
        kinds
            .get(acct)
            .cloned()
            .unwrap_or_else(|| "unlabelled".to_string())
    };

    let mut targets_named: BTreeSet<&str> = BTreeSet::new();
    for a in &alerts {
        if SYMBOL_RULES.contains(&a.rule.as_str()) {
            for s in &a.symbols {
                if let Some(t) = targets.get(s.as_str()) {
                    targets_named.insert(t);
                }
            }
        }
    }
    // Tape pumps: found when a tape_pump alert names the symbol within 60 s of the start.
    let mut pump_starts: BTreeMap<&str, i64> = BTreeMap::new();
    for p in &lab.tape_pumps {
        let start = parse_ts(&p.start).ok_or_else(|| bad_time("tape pump start", &p.symbol))?;
        pump_starts.insert(p.symbol.as_str(), start);
    }
    let mut pumps_found: BTreeSet<&str> = BTreeSet::new();
    let mut tape_false = 0u64;
    for a in alerts.iter().filter(|a| a.rule == "tape_pump") {
        for s in &a.symbols {
            match pump_starts.get_key_value(s.as_str()) {
                Some((sym, start)) => {
                    // A tape stamped to the millisecond may put the first print up to 1 ms
                    // before the planned start: a second of slack before it.
                    if (-1_000_000..=60_000_000).contains(&(a.ts_us - start)) {
                        pumps_found.insert(sym);
                    }
                }
                None if targets.contains(s.as_str()) => {}
                None => tape_false += 1,
            }
        }
    }
    let mut first_alert: BTreeMap<&str, i64> = BTreeMap::new();
    let mut false_by_kind: BTreeMap<String, u64> = BTreeMap::new();
    let mut by_rule: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
    let mut false_alerts = 0u64;
    for a in &alerts {
        for acct in &a.accounts {
            let e = first_alert.entry(acct.as_str()).or_insert(a.ts_us);
            *e = (*e).min(a.ts_us);
        }
        let names_truth = a
            .accounts
            .iter()
            .any(|x| victims.contains_key(x) || perps.contains(x));
        let truth = names_truth
            || (a.accounts.is_empty()
                && a.symbols
                    .iter()
                    .any(|s| targets.contains(s.as_str()) || pump_starts.contains_key(s.as_str())));
        let rule = by_rule.entry(a.rule.as_str()).or_default();
        rule.0 += 1;
        if !truth {
            rule.1 += 1;
            false_alerts += 1;
            let named: BTreeSet<String> = if a.accounts.is_empty() {
                BTreeSet::from(["symbol_only".to_string()])
            } else {
                a.accounts.iter().map(|x| kind_of(x)).collect()
            };
            for k in named {
                *false_by_kind.entry(k).or_default() += 1;
            }
        }
    }

    // Victims: recall, timeliness, per-variant breakdown.
    let mut delays = Vec::new();
    let mut delays_from_start = Vec::new();
    let mut alerted = 0u32;
    let mut before = 0u32;
    let mut missed = Vec::new();
    let mut per_variant: BTreeMap<&str, (u32, u32, u32)> = BTreeMap::new();
    let mut detected_campaigns: BTreeSet<&str> = BTreeSet::new();
    for (acct, v) in &victims {
        let row = per_variant.entry(v.variant.as_str()).or_default();
        row.0 += 1;
        match first_alert.get(acct.as_str()) {
            Some(&t) => {
                alerted += 1;
                row.1 += 1;
                detected_campaigns.insert(v.campaign.as_str());
                delays.push((t - v.first_order) as f64 / 1e6);
                delays_from_start.push((t - v.takeover_start) as f64 / 1e6);
                if v.last_buy.is_some_and(|lb| t < lb) {
                    before += 1;
                    row.2 += 1;
                }
            }
            None => missed.push(acct.clone()),
        }
    }
    delays.sort_by(f64::total_cmp);
    delays_from_start.sort_by(f64::total_cmp);

    let mut variants_order: Vec<String> = crate::campaign_variants()
        .iter()
        .map(|s| s.to_string())
        .collect();
    for v in per_variant.keys() {
        if !variants_order.iter().any(|x| x == v) {
            variants_order.push(v.to_string());
        }
    }
    let recall_by_variant = variants_order
        .iter()
        .filter_map(|v| {
            per_variant.get(v.as_str()).map(|(n, a, b)| VariantRecall {
                variant: v.clone(),
                victims: *n,
                alerted: *a,
                recall: ratio(u64::from(*a), u64::from(*n)),
                before_last_buy: *b,
            })
        })
        .collect();

    // Named accounts: precision and the false ones by kind.
    let mut named_true = 0u32;
    let mut falsely_named = Vec::new();
    let mut named_by_kind: BTreeMap<String, u32> = BTreeMap::new();
    for acct in first_alert.keys() {
        if victims.contains_key(*acct) || perps.contains(*acct) {
            named_true += 1;
        } else {
            let kind = kind_of(acct);
            *named_by_kind.entry(kind.clone()).or_default() += 1;
            falsely_named.push(NamedAccount {
                account_id: acct.to_string(),
                kind,
            });
        }
    }
    let named = first_alert.len() as u32;
    let mut kind_order: Vec<String> = crate::lookalike_kinds()
        .iter()
        .map(|s| s.to_string())
        .collect();
    kind_order.push("unlabelled".into());
    kind_order.push("symbol_only".into());
    for k in false_by_kind.keys().chain(named_by_kind.keys()) {
        if !kind_order.contains(k) {
            kind_order.push(k.clone());
        }
    }
    let false_alerts_by_kind = kind_order
        .into_iter()
        .map(|k| KindCount {
            false_alerts: false_by_kind.get(&k).copied().unwrap_or(0),
            accounts_named: named_by_kind.get(&k).copied().unwrap_or(0),
            kind: k,
        })
        .collect();

    let falsely_named_total = falsely_named.len() as u32;
    falsely_named.truncate(LISTED_ACCOUNTS_MAX);
    let missed_victims_total = missed.len() as u32;
    missed.truncate(LISTED_ACCOUNTS_MAX);
    let n_victims = victims.len() as u32;
    Ok(EvalReport {
        alerts: alerts.len() as u64,
        alert_lines_invalid,
        victims: n_victims,
        victims_alerted: alerted,
        recall: ratio(u64::from(alerted), u64::from(n_victims)),
        victims_alerted_before_last_buy: before,
        before_last_buy_share: ratio(u64::from(before), u64::from(n_victims)),
        delay_secs_median: median(&delays),
        delay_secs_p90: percentile(&delays, 0.9),
        delay_from_takeover_start_secs_median: median(&delays_from_start),
        delay_from_takeover_start_secs_p90: percentile(&delays_from_start, 0.9),
        campaigns: lab.campaigns.len() as u32,
        campaigns_detected: detected_campaigns.len() as u32,
        tape_pumps: pump_starts.len() as u32,
        tape_pumps_found_within_60s: pumps_found.len() as u32,
        tape_pump_false_alarms: tape_false,
        tape_pump_false_alarms_per_50_symbol_days: ratio(tape_false * 50, u64::from(lab.symbols)),
        symbol_days: lab.symbols,
        targets: targets.len() as u32,
        targets_named: targets_named.len() as u32,
        perpetrators: perps.len() as u32,
        perpetrators_named: perps
            .iter()
            .filter(|p| first_alert.contains_key(p.as_str()))
            .count() as u32,
        named_accounts: named,
        named_accounts_true: named_true,
        precision_named: (named > 0).then(|| ratio(u64::from(named_true), u64::from(named))),
        false_alerts,
        active_accounts: lab.active_accounts,
        false_alerts_per_100k_active: ratio(false_alerts * 100_000, u64::from(lab.active_accounts)),
        recall_by_variant,
        false_alerts_by_kind,
        alerts_by_rule: by_rule
            .into_iter()
            .map(|(rule, (alerts, false_alerts))| RuleCount {
                rule: if rule.is_empty() { "(none)" } else { rule }.to_string(),
                alerts,
                false_alerts,
            })
            .collect(),
        missed_victims: missed,
        missed_victims_total,
        falsely_named_accounts: falsely_named,
        falsely_named_total,
    })
}

fn pct(x: f64) -> String {
    format!("{:.1}%", x * 100.0)
}

fn secs(x: Option<f64>) -> String {
    x.map_or_else(|| "-".to_string(), |s| format!("{s:.0}s"))
}

impl EvalReport {
    /// A compact table for a terminal.
    pub fn to_text(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "alerts {} (invalid lines {}), campaigns {}, victims {}, active accounts {}",
            self.alerts,
            self.alert_lines_invalid,
            self.campaigns,
            self.victims,
            self.active_accounts
        );
        let _ = writeln!(
            s,
            "recall             {:>6}/{:<6} {}",
            self.victims_alerted,
            self.victims,
            pct(self.recall)
        );
        let _ = writeln!(
            s,
            "before last buy    {:>6}/{:<6} {}",
            self.victims_alerted_before_last_buy,
            self.victims,
            pct(self.before_last_buy_share)
        );
        let _ = writeln!(
            s,
            "delay              median {}  p90 {}  (from the first hijacked order)",
            secs(self.delay_secs_median),
            secs(self.delay_secs_p90)
        );
        let _ = writeln!(
            s,
            "                   median {}  p90 {}  (from the takeover's login)",
            secs(self.delay_from_takeover_start_secs_median),
            secs(self.delay_from_takeover_start_secs_p90)
        );
        let _ = writeln!(
            s,
            "precision (named)  {:>6}/{:<6} {}",
            self.named_accounts_true,
            self.named_accounts,
            self.precision_named.map_or_else(|| "-".to_string(), pct)
        );
        let _ = writeln!(
            s,
            "false alerts       {:>6}        {:.2} per 100k active accounts",
            self.false_alerts, self.false_alerts_per_100k_active
        );
        let _ = writeln!(
            s,
            "campaigns detected {:>6}/{:<6} perpetrators named {}/{}",
            self.campaigns_detected, self.campaigns, self.perpetrators_named, self.perpetrators
        );
        let _ = writeln!(
            s,
            "targets named      {:>6}/{:<6} (by a symbol-level alert)",
            self.targets_named, self.targets
        );
        let _ = writeln!(
            s,
            "tape pumps found   {:>6}/{:<6} within 60 s; {} false tape alarms ({:.2} per 50 symbol-days)",
            self.tape_pumps_found_within_60s,
            self.tape_pumps,
            self.tape_pump_false_alarms,
            self.tape_pump_false_alarms_per_50_symbol_days
        );
        let _ = writeln!(
            s,
            "\n{:<24} {:>8} {:>8} {:>8} {:>10}",
            "variant", "victims", "alerted", "recall", "before_buy"
        );
        for v in &self.recall_by_variant {
            let _ = writeln!(
                s,
                "{:<24} {:>8} {:>8} {:>8} {:>10}",
                v.variant,
                v.victims,
                v.alerted,
                pct(v.recall),
                v.before_last_buy
            );
        }
        let _ = writeln!(
            s,
            "\n{:<24} {:>12} {:>15}",
            "false alerts by kind", "alerts", "accounts named"
        );
        for k in &self.false_alerts_by_kind {
            let _ = writeln!(
                s,
                "{:<24} {:>12} {:>15}",
                k.kind, k.false_alerts, k.accounts_named
            );
        }
        if !self.alerts_by_rule.is_empty() {
            let _ = writeln!(s, "\n{:<32} {:>8} {:>8}", "rule", "alerts", "false");
            for r in &self.alerts_by_rule {
                let _ = writeln!(s, "{:<32} {:>8} {:>8}", r.rule, r.alerts, r.false_alerts);
            }
        }
        if self.missed_victims_total > 0 {
            let _ = writeln!(
                s,
                "\nmissed victims ({} of {}): {}",
                self.missed_victims.len(),
                self.missed_victims_total,
                self.missed_victims.join(" ")
            );
        }
        if self.falsely_named_total > 0 {
            let list: Vec<String> = self
                .falsely_named_accounts
                .iter()
                .map(|a| format!("{}({})", a.account_id, a.kind))
                .collect();
            let _ = writeln!(
                s,
                "falsely named ({} of {}): {}",
                self.falsely_named_accounts.len(),
                self.falsely_named_total,
                list.join(" ")
            );
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles() {
        let v = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(median(&v), Some(2.5));
        assert_eq!(percentile(&v, 0.9), Some(4.0));
        assert_eq!(percentile(&[5.0], 0.9), Some(5.0));
        assert_eq!(median(&[]), None);
    }
}
