//! The anonymous public tape: every symbol's prints across the session, plus pump and rally volume.
//!
//! A realistic tape is stamped to the millisecond, as many venues stamp it, and comes in
//! bursts: each symbol's opening auctions (09:00 and 12:30) and closing auction (15:30)
//! print as many prints at one instant, and pump volume arrives in clusters of prints sharing
//! one millisecond. The spread shape gives every print its own microsecond.

use rand::Rng;

use crate::clock::{MINUTE_US, MORNING_US, SESSION_MINUTES, SESSION_US};
use crate::events::{Side, TradeEv};
use crate::market::{Class, Market};
use crate::plan::ExtraTape;
use crate::rng::{chance, lognormal, sub_rng, uniform, Cumulative, Stream};

/// Most prints one symbol gets from its normal day (a bound on work and
/// memory; the most liquid names reach it).
const PRINTS_PER_SYMBOL_MAX: f64 = 60_000.0;
/// Most prints one burst of extra volume is spread over.
const PRINTS_PER_BURST_MAX: f64 = 1_000.0;
/// The auctions of a session day, in session time: the two opens and the close.
const AUCTIONS: [i64; 3] = [0, MORNING_US, SESSION_US];
/// Prints of extra volume that share one millisecond, at most (realistic shape).
const CLUSTER_PRINTS_MAX: u64 = 60;

/// Intraday volume profile: busy at the open, before and after lunch and
/// into the close, quiet in between (the familiar U shape, twice).
fn profile() -> Cumulative {
    Cumulative::new((0..SESSION_MINUTES).map(|m| {
        let m = m as f64 + 0.5;
        let (since_open, to_close) = if m < 150.0 {
            (m, 150.0 - m)
        } else {
            (m - 150.0, SESSION_MINUTES as f64 - m)
        };
        let close_weight = if m < 150.0 { 1.0 } else { 2.5 };
        1.0 + 2.5 * (-since_open / 12.0).exp() + close_weight * (-to_close / 10.0).exp()
    }))
}

/// Lots per print: log-normal with the given mean.
fn lots<R: Rng>(rng: &mut R, mean: f64) -> u32 {
    // For a log-normal with σ = 1 the mean is e^0.5 times the median.
    lognormal(rng, mean / 1.648_721, 1.0).round().max(1.0) as u32
}

/// Prints of one auction of a symbol of this class (realistic shape): an auction matches many
/// orders at one price, and the tape shows one print per match.
fn auction_prints(class: Class) -> std::ops::Range<usize> {
    match class {
        Class::Large => 20..60,
        Class::Mid => 5..20,
        Class::Small | Class::Foreign => 1..5,
    }
}

/// Stamps every print of the tape to the millisecond, as many venues do (realistic shape):
/// the broker's own fills print there too, at their fill's millisecond.
pub(crate) fn stamp_to_milliseconds(trades: &mut [TradeEv]) {
    for t in trades {
        t.ts -= t.ts % 1_000;
    }
}

/// Appends the anonymous prints of the whole day.
pub(crate) fn generate(
    m: &Market,
    seed: u64,
    extra: &[ExtraTape],
    realistic: bool,
    out: &mut Vec<TradeEv>,
) {
    let shape = profile();
    for (sym, inst) in m.ins.iter().enumerate() {
        let sym = sym as u32;
        let mut rng = sub_rng(seed, Stream::Tape, u64::from(sym));
        let mean_lots: f64 = match inst.class {
            Class::Large => 10.0,
            Class::Mid => 5.0,
            Class::Small => 2.0,
            Class::Foreign => 3.0,
        };
        let lot = f64::from(inst.lot);
        let shares = inst.adv as f64 * lognormal(&mut rng, 1.0, 0.35);
        let n = (shares / (mean_lots * lot))
            .round()
            .min(PRINTS_PER_SYMBOL_MAX) as usize;
        out.reserve(n);
        // Realistic: the first prints of the day's count go to the auctions instead.
        let mut auctions = Vec::new();
        if realistic {
            for at in AUCTIONS {
                let k = rng.random_range(auction_prints(inst.class));
                auctions.extend(std::iter::repeat_n(at, k));
            }
        }
        for i in 0..n {
            if let Some(&at) = auctions.get(i) {
                let l = lots(&mut rng, mean_lots);
                let mut p = print(m, &mut rng, sym, at, l, Side::Buy);
                p.price = m.price_at(sym, at);
                out.push(p);
                continue;
            }
            let minute = shape.draw(&mut rng) as i64;
            let t = minute * MINUTE_US + rng.random_range(0..MINUTE_US);
            let side = if chance(&mut rng, 0.5) {
                Side::Buy
            } else {
                Side::Sell
            };
            let l = lots(&mut rng, mean_lots);
            out.push(print(m, &mut rng, sym, t, l, side));
        }
    }
    for (i, e) in extra.iter().enumerate() {
        let mut rng = sub_rng(seed, Stream::Tape, 1_000_000 + i as u64);
        let inst = m.inst(e.sym);
        let lot = f64::from(inst.lot);
        let mean_lots = (e.shares / lot / PRINTS_PER_BURST_MAX).max(3.0);
        let n = (e.shares / (mean_lots * lot)).round() as usize;
        if e.end <= e.start {
            continue;
        }
        // A pump's opening sweep puts a third to two thirds of its prints in the first minute.
        let front = if e.front_loaded {
            (n as f64 * uniform(&mut rng, 1.0 / 3.0, 2.0 / 3.0)).round() as usize
        } else {
            0
        };
        let front_end = (e.start + MINUTE_US).min(e.end);
        let mut cluster_left = 0;
        let mut cluster_t = e.start;
        for k in 0..n {
            // The buying starts with the signal (the news, the pump's call): the first prints
            // are at the start, the rest spread over the span (or its first minute).
            let end = if k < front { front_end } else { e.end };
            let t = if realistic {
                // Pump volume comes in clusters of prints at one instant.
                if cluster_left == 0 {
                    cluster_left = rng.random_range(1..=CLUSTER_PRINTS_MAX);
                    if k < front {
                        cluster_left = cluster_left.min((front - k) as u64);
                    }
                    cluster_t = if k == 0 {
                        e.start
                    } else {
                        rng.random_range(e.start..end)
                    };
                }
                cluster_left -= 1;
                cluster_t
            } else if k == 0 {
                e.start
            } else {
                rng.random_range(e.start..end)
            };
            let side = if chance(&mut rng, e.buy_share) {
                Side::Buy
            } else {
                Side::Sell
            };
            let l = lots(&mut rng, mean_lots);
            out.push(print(m, &mut rng, e.sym, t, l, side));
        }
    }
}

/// One anonymous print at `t`: the path price, a tick above for buyer-
/// initiated prints and a tick below for seller-initiated ones, sometimes.
fn print<R: Rng>(m: &Market, rng: &mut R, sym: u32, t: i64, lots: u32, side: Side) -> TradeEv {
    let inst = m.inst(sym);
    let mut price = m.price_at(sym, t);
    if chance(rng, 0.3) {
        let tick = inst.tick(price);
        price = match side {
            Side::Buy => price + tick,
            Side::Sell => price.saturating_sub(tick).max(tick),
        };
    }
    TradeEv {
        ts: crate::clock::wall(t),
        sym,
        qty: lots.saturating_mul(inst.lot),
        price,
        link: 0,
        aggressor: side,
    }
}
