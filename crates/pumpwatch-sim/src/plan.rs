//! Who does what today: campaigns with their targets, victims and perpetrators, look-alikes and news rallies.
//!
//! Planning runs before any event is generated because the price paths must
//! already carry the pumps and rallies, and the start-of-day books must
//! already hold what the perpetrators accumulated on earlier days.

use rand::seq::SliceRandom;
use rand::Rng;

use crate::accounts::{fill_portfolio, holding_weights, Account};
use crate::clock::{MINUTE_US, SESSION_MINUTES};
use crate::error::SimError;
use crate::market::{Market, Overlay};
use crate::rng::{chance, lognormal, sub_rng, uniform, Stream};

/// Campaign variants, spread evenly over the campaigns of a day.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Variant {
    FullLiquidation,
    PartialLiquidation,
    SlowDrip,
    MultiTarget,
    MarginFunded,
    StolenSession,
}

pub(crate) const VARIANTS: [Variant; 6] = [
    Variant::FullLiquidation,
    Variant::PartialLiquidation,
    Variant::SlowDrip,
    Variant::MultiTarget,
    Variant::MarginFunded,
    Variant::StolenSession,
];

impl Variant {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Variant::FullLiquidation => "full_liquidation",
            Variant::PartialLiquidation => "partial_liquidation",
            Variant::SlowDrip => "slow_drip",
            Variant::MultiTarget => "multi_target",
            Variant::MarginFunded => "margin_funded",
            Variant::StolenSession => "stolen_session",
        }
    }

    /// Rough share of the portfolio value a victim ends up spending; used
    /// only to size the perpetrators' accumulation and the pump's volume.
    fn spend_fraction(self) -> f64 {
        match self {
            Variant::FullLiquidation | Variant::MultiTarget => 0.9,
            Variant::PartialLiquidation => 0.55,
            Variant::SlowDrip => 0.8,
            Variant::MarginFunded => 1.0,
            Variant::StolenSession => 0.8,
        }
    }
}

/// Innocent behaviours that share some of a takeover's features.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum LookalikeKind {
    SellAllKeepCash,
    SellAllBuyLargeCaps,
    SmallCapEnthusiast,
    NewsRally,
}

pub(crate) const LOOKALIKE_KINDS: [LookalikeKind; 4] = [
    LookalikeKind::SellAllKeepCash,
    LookalikeKind::SellAllBuyLargeCaps,
    LookalikeKind::SmallCapEnthusiast,
    LookalikeKind::NewsRally,
];

impl LookalikeKind {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            LookalikeKind::SellAllKeepCash => "sell_all_keep_cash",
            LookalikeKind::SellAllBuyLargeCaps => "sell_all_buy_large_caps",
            LookalikeKind::SmallCapEnthusiast => "small_cap_enthusiast",
            LookalikeKind::NewsRally => "news_rally",
        }
    }
}

/// What an account does today.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Role {
    Ordinary,
    Victim(u32),
    Perpetrator(u32),
    Lookalike(LookalikeKind),
}

/// One campaign. Times are session µs.
#[derive(Debug, Clone)]
pub(crate) struct CampaignPlan {
    pub id: u32,
    pub variant: Variant,
    pub targets: Vec<u32>,
    pub perps: Vec<u32>,
    pub victims: Vec<u32>,
    pub acc_start: i64,
    pub acc_end: i64,
    pub win_start: i64,
    pub win_end: i64,
    /// Shares each perpetrator buys today, per target: `[perp][target]`.
    pub goals: Vec<Vec<u32>>,
}

#[derive(Debug, Clone)]
pub(crate) struct RallyBuyer {
    pub acct: u32,
    pub spend: f64,
    /// Share of the portfolio value sold to fund the buy (0 = pays cash).
    pub sell_fraction: f64,
}

/// A genuine news-driven rally in one thin stock.
#[derive(Debug, Clone)]
pub(crate) struct RallyPlan {
    pub sym: u32,
    pub start: i64,
    pub buyers: Vec<RallyBuyer>,
}

#[derive(Debug, Clone)]
pub(crate) struct LookalikePlan {
    pub acct: u32,
    pub kind: LookalikeKind,
    /// Yen to spend (small-cap enthusiasts only).
    pub spend: f64,
}

/// An organised pump seen on the tape alone (announced in advance, run within minutes): no
/// account of the broker takes part.
#[derive(Debug, Clone)]
pub(crate) struct TapePumpPlan {
    pub sym: u32,
    pub start: i64,
}

/// Anonymous tape volume on top of a symbol's normal day.
#[derive(Debug, Clone)]
pub(crate) struct ExtraTape {
    pub sym: u32,
    pub start: i64,
    pub end: i64,
    pub shares: f64,
    /// Share of prints where the buyer was the aggressor.
    pub buy_share: f64,
    /// A pump's opening sweep: a third to two thirds of the prints fall in the first minute,
    /// as the buyers answer the signal (the rest spread over the span).
    pub front_loaded: bool,
}

#[derive(Debug)]
pub(crate) struct Plan {
    pub campaigns: Vec<CampaignPlan>,
    pub rallies: Vec<RallyPlan>,
    pub tape_pumps: Vec<TapePumpPlan>,
    pub lookalikes: Vec<LookalikePlan>,
    pub roles: Vec<Role>,
    pub overlays: Vec<Option<Overlay>>,
    pub extra: Vec<ExtraTape>,
}

/// How many of each thing to plan.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Counts {
    pub campaigns: u32,
    /// Look-alike accounts of each kind (rally buyers: the least in total).
    pub lookalikes: u32,
}

/// Picks accounts for roles from one shuffled order of all accounts.
struct Picker {
    order: Vec<u32>,
    roles: Vec<Role>,
}

impl Picker {
    fn pick(
        &mut self,
        k: usize,
        what: &str,
        role: impl Fn(usize) -> Role,
        ok: impl Fn(u32) -> bool,
    ) -> Result<Vec<u32>, SimError> {
        let mut out = Vec::with_capacity(k);
        for &a in &self.order {
            if out.len() == k {
                break;
            }
            if self.roles[a as usize] == Role::Ordinary && ok(a) {
                out.push(a);
            }
        }
        if out.len() < k {
            return Err(SimError::Params(format!(
                "not enough accounts for {what}: needed {k}, found {}; raise accounts or lower campaigns/lookalikes",
                out.len()
            )));
        }
        for (i, a) in out.iter().enumerate() {
            self.roles[*a as usize] = role(i);
        }
        Ok(out)
    }
}

/// Thin symbols for targets, cheap ones (≤ ¥300, where the 2025 wave
/// concentrated) preferred but not exclusively.
struct Targets {
    cheap: Vec<u32>,
    other: Vec<u32>,
}

impl Targets {
    /// Takes a target for which `ok` holds (a campaign never targets a
    /// stock its own victims already hold).
    fn take<R: Rng>(&mut self, rng: &mut R, ok: impl Fn(u32) -> bool) -> Result<u32, SimError> {
        let from_cheap = !self.cheap.is_empty() && (self.other.is_empty() || chance(rng, 0.8));
        let (first, second) = if from_cheap {
            (&mut self.cheap, &mut self.other)
        } else {
            (&mut self.other, &mut self.cheap)
        };
        for list in [first, second] {
            if let Some(i) = list.iter().rposition(|s| ok(*s)) {
                return Ok(list.remove(i));
            }
        }
        Err(SimError::Params(
            "not enough thin small caps for every campaign target and rally; raise symbols or lower campaigns".into(),
        ))
    }
}

/// The trading day in minutes (session time).
const DAY_MIN: f64 = SESSION_MINUTES as f64;

fn minutes(m: f64) -> i64 {
    (m * MINUTE_US as f64) as i64
}

/// Plans the day and adjusts start-of-day books to match (perpetrators'
/// earlier accumulation, enough cash for cash-funded buyers).
pub(crate) fn plan(
    seed: u64,
    counts: Counts,
    m: &Market,
    accts: &mut [Account],
) -> Result<Plan, SimError> {
    let mut rng = sub_rng(seed, Stream::Roles, 0);
    let values: Vec<f64> = accts.iter().map(|a| a.value(m)).collect();
    let mut order: Vec<u32> = (0..accts.len() as u32).collect();
    order.shuffle(&mut rng);
    let mut picker = Picker {
        order,
        roles: vec![Role::Ordinary; accts.len()],
    };
    let mut overlays: Vec<Option<Overlay>> = vec![None; m.ins.len()];
    let mut extra = Vec::new();

    let mut small = m.small.clone();
    small.shuffle(&mut rng);
    let (cheap, other): (Vec<u32>, Vec<u32>) = small
        .into_iter()
        .partition(|s| m.inst(*s).prev_close <= 30_000);
    let mut targets = Targets { cheap, other };

    // Victims first: they are the most constrained (¥5M–¥50M books).
    let sizes: Vec<usize> = (0..counts.campaigns)
        .map(|_| rng.random_range(3..=15))
        .collect();
    let all_victims = picker.pick(
        sizes.iter().sum(),
        "campaign victims (portfolio ¥5M–¥50M)",
        |_| Role::Ordinary,
        |a| (5.0e6..=5.0e7).contains(&values[a as usize]),
    )?;
    let mut campaigns = Vec::new();
    let mut next_victim = 0;
    for (c, &size) in sizes.iter().enumerate() {
        let c = c as u32;
        let variant = VARIANTS[c as usize % VARIANTS.len()];
        let victims = all_victims[next_victim..next_victim + size].to_vec();
        next_victim += size;
        for v in &victims {
            picker.roles[*v as usize] = Role::Victim(c);
        }
        let n_perps = if chance(&mut rng, 0.7) { 1 } else { 2 };
        let perps = picker.pick(n_perps, "perpetrators", |_| Role::Perpetrator(c), |_| true)?;
        let n_targets = if variant == Variant::MultiTarget {
            rng.random_range(2..=3)
        } else {
            1
        };
        let accts_ro: &[Account] = accts;
        let tg = (0..n_targets)
            .map(|_| {
                targets.take(&mut rng, |s| {
                    !victims.iter().any(|v| accts_ro[*v as usize].holds(s))
                })
            })
            .collect::<Result<Vec<u32>, _>>()?;

        // The takeover window: mostly afternoon, like the 17 March case.
        let len = match variant {
            Variant::SlowDrip => uniform(&mut rng, 90.0, 150.0) + uniform(&mut rng, 20.0, 40.0),
            _ => uniform(&mut rng, 60.0, 120.0),
        };
        let hi = DAY_MIN - len - 5.0;
        let lo = 50.0;
        let start = if hi >= 160.0 && chance(&mut rng, 0.7) {
            uniform(&mut rng, 160.0, hi)
        } else {
            uniform(&mut rng, lo, hi.max(lo))
        };
        let acc_start = uniform(&mut rng, 0.0, 10.0);
        let acc_end = (start - uniform(&mut rng, 15.0, 40.0)).max(acc_start + 20.0);

        let victim_value: f64 = victims.iter().map(|v| values[*v as usize]).sum();
        let spend_per_target = victim_value * variant.spend_fraction() / n_targets as f64;
        let mut goals = vec![vec![0u32; tg.len()]; perps.len()];
        for (ti, &sym) in tg.iter().enumerate() {
            let inst = m.inst(sym);
            let p0 = inst.prev_close_yen();
            let g1 = uniform(&mut rng, 0.10, 0.35);
            let g2 = uniform(&mut rng, 0.05, 0.30);
            let peak = (1.0 + g1) * (1.0 + g2);
            let fade = uniform(&mut rng, 30.0, 90.0);
            let mut o = vec![
                (acc_start, 1.0),
                (acc_end, 1.0 + g1),
                (start, 1.0 + g1),
                (start + 0.8 * len, peak),
            ];
            let after = (start + len + fade).min(DAY_MIN - 1.0);
            if after > start + 0.8 * len {
                o.push((after, peak * uniform(&mut rng, 0.72, 0.92)));
            }
            overlays[sym as usize] = Some(o);

            let victim_shares = spend_per_target / (p0 * (1.0 + g1) * (1.0 + 0.5 * g2));
            let lot = f64::from(inst.lot);
            let total = victim_shares * uniform(&mut rng, 0.6, 1.0);
            let split = if perps.len() == 2 {
                uniform(&mut rng, 0.3, 0.7)
            } else {
                1.0
            };
            for (pi, &p) in perps.iter().enumerate() {
                let mine = if pi == 0 {
                    total * split
                } else {
                    total * (1.0 - split)
                };
                // Part of the stake was bought on earlier days.
                let earlier = (mine * uniform(&mut rng, 0.2, 0.7) / lot).round() * lot;
                let today = ((mine - earlier) / lot).round().max(10.0) * lot;
                if earlier >= lot {
                    accts[p as usize].add(sym, earlier as u32);
                }
                goals[pi][ti] = today as u32;
                let cost = today * p0 * (1.0 + g1) * 1.25;
                accts[p as usize].cash += (cost + lognormal(&mut rng, 5.0e6, 0.8)) as u64;
            }
            extra.push(ExtraTape {
                sym,
                start: minutes(acc_start),
                end: minutes(acc_end),
                shares: inst.adv as f64 * uniform(&mut rng, 1.0, 3.0),
                buy_share: 0.55,
                front_loaded: false,
            });
            extra.push(ExtraTape {
                sym,
                start: minutes(start),
                end: minutes(start + len),
                shares: victim_shares * uniform(&mut rng, 0.5, 2.0),
                buy_share: 0.65,
                front_loaded: false,
            });
            extra.push(ExtraTape {
                sym,
                start: minutes(start + len),
                end: minutes(DAY_MIN - 1.0),
                shares: victim_shares * uniform(&mut rng, 0.3, 1.0),
                buy_share: 0.35,
                front_loaded: false,
            });
        }
        campaigns.push(CampaignPlan {
            id: c,
            variant,
            targets: tg,
            perps,
            victims,
            acc_start: minutes(acc_start),
            acc_end: minutes(acc_end),
            win_start: minutes(start),
            win_end: minutes(start + len),
            goals,
        });
    }

    let mut lookalikes = Vec::new();
    let n_l = counts.lookalikes as usize;
    let reserved: Vec<u32> = overlays
        .iter()
        .enumerate()
        .filter(|(_, o)| o.is_some())
        .map(|(i, _)| i as u32)
        .collect();
    for (kind, lo, hi) in [
        (LookalikeKind::SellAllKeepCash, 2.0e6, 6.0e7),
        (LookalikeKind::SellAllBuyLargeCaps, 3.0e6, 6.0e7),
        (LookalikeKind::SmallCapEnthusiast, 2.0e6, 3.0e7),
    ] {
        let picked = picker.pick(
            n_l,
            kind.as_str(),
            |_| Role::Lookalike(kind),
            |a| (lo..=hi).contains(&values[a as usize]),
        )?;
        for a in picked {
            let mut spend = 0.0;
            if kind == LookalikeKind::SmallCapEnthusiast {
                enthusiast_book(
                    &mut rng,
                    m,
                    &reserved,
                    values[a as usize],
                    &mut accts[a as usize],
                );
                spend = uniform(&mut rng, 1.0e6, 5.0e6);
                let acct = &mut accts[a as usize];
                acct.cash = acct.cash.max((spend * uniform(&mut rng, 1.05, 1.6)) as u64);
            }
            lookalikes.push(LookalikePlan {
                acct: a,
                kind,
                spend,
            });
        }
    }

    // News rallies: enough of them for at least `n_l` buyers in total.
    let mut rallies = Vec::new();
    let mut buyers_total = 0;
    while buyers_total < n_l {
        let sym = targets.take(&mut rng, |_| true)?;
        let inst = m.inst(sym);
        let start = uniform(&mut rng, 15.0, DAY_MIN - 70.0);
        let g = uniform(&mut rng, 0.2, 0.4);
        let peak_at = start + uniform(&mut rng, 35.0, 60.0);
        let settle = (start + 60.0 + uniform(&mut rng, 30.0, 120.0)).min(DAY_MIN - 1.0);
        overlays[sym as usize] = Some(vec![
            (start, 1.0),
            (peak_at, 1.0 + g),
            (
                settle.max(peak_at + 1.0),
                1.0 + g * uniform(&mut rng, 0.3, 0.7),
            ),
        ]);
        let k = rng.random_range(20..=100usize);
        let accts_ro: &[Account] = accts;
        let picked = picker.pick(
            k,
            "news-rally buyers",
            |_| Role::Lookalike(LookalikeKind::NewsRally),
            |a| !accts_ro[a as usize].holds(sym),
        )?;
        let mut buyers = Vec::with_capacity(k);
        for a in picked {
            let acct = &mut accts[a as usize];
            let mut spend = lognormal(&mut rng, 9.0e5, 0.7).clamp(2.0e5, 5.0e6);
            let mut sell_fraction = 0.0;
            if chance(&mut rng, 0.15) {
                // A minority of the book is sold to fund the buy.
                sell_fraction = uniform(&mut rng, 0.1, 0.39);
                spend =
                    (values[a as usize] * sell_fraction * uniform(&mut rng, 0.7, 1.0)).max(2.0e5);
            } else {
                acct.cash = acct.cash.max((spend * uniform(&mut rng, 1.05, 2.0)) as u64);
            }
            buyers.push(RallyBuyer {
                acct: a,
                spend,
                sell_fraction,
            });
        }
        buyers_total += k;
        extra.push(ExtraTape {
            sym,
            start: minutes(start),
            end: minutes(start + 60.0),
            shares: inst.adv as f64 * uniform(&mut rng, 10.0, 50.0),
            buy_share: 0.62,
            front_loaded: false,
        });
        extra.push(ExtraTape {
            sym,
            start: minutes(start + 60.0),
            end: minutes(DAY_MIN - 1.0),
            shares: inst.adv as f64 * uniform(&mut rng, 2.0, 6.0),
            buy_share: 0.45,
            front_loaded: false,
        });
        rallies.push(RallyPlan {
            sym,
            start: minutes(start),
            buyers,
        });
    }

    // Tape-only pumps: one per 200 symbols, at least 2, on thin names nothing else touches.
    // Buyers sweep the book at the signal (most of the rise in the first minute), push on for
    // a few minutes (+15-40% in all), then it fades.
    let mut tape_pumps = Vec::new();
    for _ in 0..(m.ins.len() / 200).max(2) {
        let Ok(sym) = targets.take(&mut rng, |_| true) else {
            break;
        };
        let inst = m.inst(sym);
        let start = uniform(&mut rng, 20.0, DAY_MIN - 60.0);
        let run = uniform(&mut rng, 2.0, 6.0);
        let g = uniform(&mut rng, 0.15, 0.4);
        let fade = start + run + uniform(&mut rng, 20.0, 40.0);
        overlays[sym as usize] = Some(vec![
            (start, 1.0),
            (start + 1.0, 1.0 + g * uniform(&mut rng, 0.4, 0.7)),
            (start + run, 1.0 + g),
            (
                fade.min(DAY_MIN - 1.0),
                1.0 + g * uniform(&mut rng, 0.0, 0.3),
            ),
        ]);
        extra.push(ExtraTape {
            sym,
            start: minutes(start),
            end: minutes(start + run),
            shares: inst.adv as f64 * uniform(&mut rng, 1.0, 4.0),
            buy_share: 0.8,
            front_loaded: true,
        });
        extra.push(ExtraTape {
            sym,
            start: minutes(start + run),
            end: minutes(fade.min(DAY_MIN - 1.0)),
            shares: inst.adv as f64 * uniform(&mut rng, 0.5, 2.0),
            buy_share: 0.35,
            front_loaded: false,
        });
        tape_pumps.push(TapePumpPlan {
            sym,
            start: minutes(start),
        });
    }

    Ok(Plan {
        campaigns,
        rallies,
        tape_pumps,
        lookalikes,
        roles: picker.roles,
        overlays,
        extra,
    })
}

/// Rebuilds an enthusiast's book: mostly thin small caps, the rest liquid.
fn enthusiast_book<R: Rng>(
    rng: &mut R,
    m: &Market,
    reserved: &[u32],
    value: f64,
    acct: &mut Account,
) {
    let k = rng.random_range(3..=7usize);
    let thin = ((k as f64) * uniform(rng, 0.5, 0.8)).ceil() as usize;
    let thin_value = value * uniform(rng, 0.4, 0.8);
    acct.holdings.clear();
    let mut placed = 0;
    let mut guard = 0;
    while placed < thin && guard < 100 {
        guard += 1;
        let sym = m.small[rng.random_range(0..m.small.len())];
        if reserved.contains(&sym) || acct.holds(sym) {
            continue;
        }
        let inst = m.inst(sym);
        let qty = ((thin_value / thin as f64 / inst.prev_close_yen() / 100.0)
            .round()
            .max(1.0)
            * 100.0) as u32;
        acct.add(sym, qty);
        placed += 1;
    }
    let weights = holding_weights(m);
    fill_portfolio(
        rng,
        m,
        &weights,
        value - thin_value,
        k - placed.min(k),
        acct,
    );
}
