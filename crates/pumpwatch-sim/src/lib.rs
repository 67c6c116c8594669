//! Seeded synthetic TSE-like market days with labelled account-takeover pump-and-dump campaigns, and scoring of alert files against the labels.
//!
//! [`simulate`] writes one broker day in the event contract
//! (`shared/spec/events.md`) plus `labels.json`; [`eval::evaluate`] scores an
//! alert file against those labels. The same parameters always give
//! byte-identical files.
//!
//! The day is built in stages, each drawing from its own seeded stream:
//! universe (`market`) → start-of-day books (`accounts`) → the plan of
//! campaigns, look-alikes and rallies (`plan`, which also shapes the price
//! paths) → activity (`ordinary`, `campaign`, `lookalike`, all through
//! `book`) → the anonymous tape (`tape`) → sort → write (`writer`,
//! `labels`).
//!
//! Invariant: nothing here reads the clock, the environment or an unseeded
//! random source, and no output depends on hash-map iteration order.

mod accounts;
mod book;
mod campaign;
mod clock;
mod error;
pub mod eval;
mod events;
mod flows;
mod labels;
mod lookalike;
mod market;
mod net;
mod ordinary;
mod plan;
mod reference;
mod rng;
mod tape;
mod writer;

use std::path::{Path, PathBuf};

pub use error::SimError;
pub use labels::{AccountLabel, CampaignLabel, Labels, RallyLabel, TapePumpLabel};

use crate::clock::{wall, Day};
use crate::plan::{Counts, Role, LOOKALIKE_KINDS, VARIANTS};

/// Names of the campaign variants, in the order campaigns cycle through them.
pub fn campaign_variants() -> [&'static str; 6] {
    VARIANTS.map(|v| v.as_str())
}

/// Names of the look-alike kinds.
pub fn lookalike_kinds() -> [&'static str; 4] {
    LOOKALIKE_KINDS.map(|k| k.as_str())
}

/// What day to generate.
///
/// With the default campaign and look-alike counts a day needs roughly 300
/// accounts and 40 symbols at least (victims need ¥5M–¥50M books, targets
/// need distinct thin small caps); smaller requests fail with
/// [`SimError::Params`] naming what ran out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimParams {
    pub seed: u64,
    /// Accounts at the broker (about 30% trade on the day).
    pub accounts: u32,
    /// Listed symbols (10..=8000).
    pub symbols: u32,
    /// Trading date, `YYYY-MM-DD`.
    pub date: String,
    pub layout: Layout,
    /// Campaigns; `None` = one per 2,000 accounts, at least 6 so that every
    /// variant appears.
    pub campaigns: Option<u32>,
    /// Look-alike accounts of each kind; `None` = one per 1,000 accounts, at
    /// least 3. News-rally buyers come in rallies of 20–100, so there are at
    /// least this many of them and at least 20 when this is not 0.
    pub lookalikes: Option<u32>,
    /// Malformed lines injected per million events (0 = none).
    pub invalid_per_million: u32,
    /// How rough the feeds are: as real feeds by default.
    pub shape: Shape,
    /// Write the auth feed (a broker may send none).
    pub auth_feed: bool,
    /// Write instruments without `adv_shares` and `shares_outstanding` (bare reference data).
    pub bare_reference: bool,
}

/// How the day's feeds are stamped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Shape {
    /// As real feeds are: the instrument master and the start-of-day snapshot each stamped
    /// with one instant (a broker's overnight export), the tape stamped to the millisecond
    /// with bursts of prints in one millisecond at the opens, the close and in pumps, and
    /// some alphanumeric TSE codes (`130A`).
    #[default]
    Realistic,
    /// The earlier, tidier day: reference rows spread over 08:00–08:25 with distinct
    /// microseconds, the tape at distinct microseconds, four-digit codes only.
    Spread,
}

impl std::str::FromStr for Shape {
    type Err = SimError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "realistic" => Ok(Shape::Realistic),
            "spread" => Ok(Shape::Spread),
            _ => Err(SimError::Params(format!(
                "unknown shape {s:?}: expected realistic or spread"
            ))),
        }
    }
}

impl Default for SimParams {
    fn default() -> Self {
        SimParams {
            seed: 1,
            accounts: 20_000,
            symbols: 400,
            date: "2025-03-17".to_string(),
            layout: Layout::PerType,
            campaigns: None,
            lookalikes: None,
            invalid_per_million: 0,
            shape: Shape::Realistic,
            auth_feed: true,
            bare_reference: false,
        }
    }
}

/// How events are laid out in the output directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Layout {
    /// One file per type (`trades.ndjson`, ...), each sorted by `ts`.
    #[default]
    PerType,
    /// One `events.ndjson` with every type merged by `ts`.
    Mixed,
}

impl std::str::FromStr for Layout {
    type Err = SimError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "per-type" | "per_type" | "pertype" => Ok(Layout::PerType),
            "mixed" => Ok(Layout::Mixed),
            _ => Err(SimError::Params(format!(
                "unknown layout {s:?}: expected per-type or mixed"
            ))),
        }
    }
}

/// What [`simulate`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimSummary {
    /// Valid events per contract type, in contract order.
    pub events_by_type: Vec<(String, u64)>,
    /// Valid events in total (injected malformed lines not included).
    pub events_total: u64,
    /// Malformed lines injected on purpose.
    pub invalid_injected: u64,
    pub victims: u32,
    pub campaigns: u32,
    /// Look-alike accounts, all kinds (rally buyers included).
    pub lookalikes: u32,
    /// Accounts with at least one order.
    pub active_accounts: u32,
    /// Every file written, `labels.json` last.
    pub files: Vec<PathBuf>,
}

/// Generates one market day into `out_dir` (created if missing).
pub fn simulate(params: &SimParams, out_dir: &Path) -> Result<SimSummary, SimError> {
    let day = Day::parse(&params.date)?;
    if params.accounts == 0 {
        return Err(SimError::Params("accounts must be at least 1".into()));
    }
    std::fs::create_dir_all(out_dir).map_err(|e| SimError::io(out_dir, e))?;
    let seed = params.seed;
    let realistic = params.shape == Shape::Realistic;
    let mut market = market::Market::generate(seed, params.symbols, realistic)?;
    let mut accts = accounts::generate(seed, params.accounts, &market);
    let counts = Counts {
        campaigns: params
            .campaigns
            .unwrap_or((params.accounts / 2_000).max(VARIANTS.len() as u32)),
        lookalikes: params
            .lookalikes
            .unwrap_or((params.accounts / 1_000).max(3)),
    };
    let plan = plan::plan(seed, counts, &market, &mut accts)?;
    market.build_paths(seed, &plan.overlays);

    let mut book = book::Book::new(&market, seed);
    reference::emit(&mut book.ev, &market, &accts, realistic);
    ordinary::generate(&mut book, seed, &accts, &plan.roles);
    let victims = campaign::generate(&mut book, seed, &plan, &accts);
    lookalike::generate(&mut book, seed, &plan, &accts);
    let mut ev = book.ev;
    if !params.auth_feed {
        ev.auth.clear();
    }
    if params.bare_reference {
        for inst in &mut market.ins {
            inst.show_adv = false;
            inst.show_shares = false;
        }
    }
    tape::generate(&market, seed, &plan.extra, realistic, &mut ev.trades);
    if realistic {
        tape::stamp_to_milliseconds(&mut ev.trades);
    }
    ev.sort();

    let mut active = vec![false; accts.len()];
    for o in &ev.orders {
        active[o.acct as usize] = true;
    }
    let active_accounts = active.iter().filter(|a| **a).count() as u32;

    let written = writer::write(
        out_dir,
        params.layout == Layout::Mixed,
        &day,
        &market,
        &ev,
        seed,
        params.invalid_per_million,
    )?;
    let labels = build_labels(params, &day, &market, &plan, &victims, active_accounts);
    let labels_path = out_dir.join("labels.json");
    write_labels(&labels_path, &labels)?;

    let counts = ev.counts();
    let mut files = written.files;
    files.push(labels_path);
    Ok(SimSummary {
        events_by_type: events::TYPES
            .iter()
            .zip(counts)
            .map(|(t, n)| (t.to_string(), n))
            .collect(),
        events_total: counts.iter().sum(),
        invalid_injected: written.invalid,
        victims: victims.len() as u32,
        campaigns: plan.campaigns.len() as u32,
        lookalikes: plan
            .roles
            .iter()
            .filter(|r| matches!(r, Role::Lookalike(_)))
            .count() as u32,
        active_accounts,
        files,
    })
}

fn write_labels(path: &Path, labels: &Labels) -> Result<(), SimError> {
    let mut text = serde_json::to_vec_pretty(labels).map_err(|e| SimError::Json {
        path: path.to_path_buf(),
        source: e,
    })?;
    text.push(b'\n');
    std::fs::write(path, text).map_err(|e| SimError::io(path, e))
}

fn build_labels(
    params: &SimParams,
    day: &Day,
    m: &market::Market,
    plan: &plan::Plan,
    victims: &[campaign::VictimRecord],
    active_accounts: u32,
) -> Labels {
    use writer::account_id;
    let cid = |c: u32| format!("C{:03}", c + 1);
    let campaigns = plan
        .campaigns
        .iter()
        .map(|c| CampaignLabel {
            campaign_id: cid(c.id),
            variant: c.variant.as_str().to_string(),
            target_symbols: c.targets.iter().map(|s| m.inst(*s).code.clone()).collect(),
            perpetrator_accounts: c.perps.iter().map(|a| account_id(*a)).collect(),
            victims: c.victims.iter().map(|a| account_id(*a)).collect(),
            window_start: Some(day.rfc3339(wall(c.win_start))),
            window_end: Some(day.rfc3339(wall(c.win_end))),
        })
        .collect();
    let rallies = plan
        .rallies
        .iter()
        .map(|r| RallyLabel {
            symbol: m.inst(r.sym).code.clone(),
            start: day.rfc3339(wall(r.start)),
            buyers: r.buyers.len() as u32,
        })
        .collect();
    let tape_pumps = plan
        .tape_pumps
        .iter()
        .map(|p| labels::TapePumpLabel {
            symbol: m.inst(p.sym).code.clone(),
            start: day.rfc3339(wall(p.start)),
        })
        .collect();
    let by_acct: std::collections::BTreeMap<u32, &campaign::VictimRecord> =
        victims.iter().map(|v| (v.acct, v)).collect();
    let mut accounts = Vec::new();
    for (a, role) in plan.roles.iter().enumerate() {
        let a = a as u32;
        let label = |role: &str, campaign_id: Option<String>, variant: &str| AccountLabel {
            account_id: account_id(a),
            role: role.to_string(),
            campaign_id,
            variant: variant.to_string(),
            takeover_start: None,
            first_takeover_order: None,
            first_takeover_buy: None,
            last_takeover_buy: None,
        };
        match role {
            Role::Ordinary => {}
            Role::Victim(c) => {
                let mut l = label(
                    "victim",
                    Some(cid(*c)),
                    plan.campaigns[*c as usize].variant.as_str(),
                );
                if let Some(v) = by_acct.get(&a) {
                    l.takeover_start = Some(day.rfc3339(v.takeover_start));
                    l.first_takeover_order = v.first_order.map(|t| day.rfc3339(t));
                    l.first_takeover_buy = v.first_buy.map(|t| day.rfc3339(t));
                    l.last_takeover_buy = v.last_buy.map(|t| day.rfc3339(t));
                }
                accounts.push(l);
            }
            Role::Perpetrator(c) => accounts.push(label(
                "perpetrator",
                Some(cid(*c)),
                plan.campaigns[*c as usize].variant.as_str(),
            )),
            Role::Lookalike(k) => accounts.push(label("lookalike", None, k.as_str())),
        }
    }
    Labels {
        seed: params.seed,
        date: params.date.clone(),
        accounts_total: params.accounts,
        symbols: params.symbols,
        active_accounts,
        campaigns,
        rallies,
        tape_pumps,
        accounts,
    }
}
