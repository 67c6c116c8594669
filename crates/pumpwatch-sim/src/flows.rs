//! Reusable order flows shared by victims and look-alikes: selling down a book, buying a yen amount.

use rand::seq::SliceRandom;
use rand::Rng;

use crate::book::{Book, LAST_FILL_US};
use crate::events::Side;
use crate::market::Round;
use crate::rng::{chance, uniform};

/// How a flow places its orders.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Style {
    /// Gap between consecutive orders, µs.
    pub gap_us: (i64, i64),
    /// Share of orders sent as market orders (the rest are marketable limits).
    pub market_share: f64,
    /// Child orders per holding sold (1 = one order per holding).
    pub children: (u32, u32),
    pub margin: bool,
}

/// Sells holdings worth `fraction` of the book's current value (all of it
/// when `fraction` ≥ 1), advancing `t`. Returns the proceeds in yen.
#[allow(clippy::too_many_arguments)]
pub(crate) fn sell_down<R: Rng>(
    book: &mut Book,
    rng: &mut R,
    acct: u32,
    holdings: &mut Vec<(u32, u32)>,
    fraction: f64,
    t: &mut i64,
    ctx: u32,
    style: Style,
) -> f64 {
    let m = book.m;
    let value: f64 = holdings
        .iter()
        .map(|(s, q)| f64::from(*q) * m.raw_at(*s, *t))
        .sum();
    let goal = value * fraction;
    let mut sold_value = 0.0;
    let mut proceeds = 0.0;
    holdings.shuffle(rng);
    for h in holdings.iter_mut() {
        if fraction < 1.0 && sold_value >= goal {
            break;
        }
        let (sym, held) = *h;
        let lot = m.inst(sym).lot;
        let px = m.raw_at(sym, *t);
        let worth = f64::from(held) * px;
        let qty = if fraction >= 1.0 || sold_value + worth <= goal * 1.05 {
            held
        } else {
            // Round down so a "minority" sale stays one; a holding whose
            // single lot would overshoot is skipped.
            let need = ((goal - sold_value) / px / f64::from(lot)).floor() as u32;
            if need == 0 {
                continue;
            }
            (need * lot).min(held)
        };
        sold_value += f64::from(qty) * px;
        let children = rng
            .random_range(style.children.0..=style.children.1)
            .min(qty / lot)
            .max(1);
        let mut left = qty;
        for k in 0..children {
            let q = if k + 1 == children {
                left
            } else {
                (qty / children / lot).max(1) * lot
            }
            .min(left);
            if q == 0 {
                break;
            }
            *t += rng.random_range(style.gap_us.0..=style.gap_us.1);
            if *t >= LAST_FILL_US - 60_000_000 {
                return proceeds;
            }
            let limit = if chance(rng, style.market_share) {
                None
            } else {
                let p = m.raw_at(sym, *t) * (1.0 - uniform(rng, 0.001, 0.015));
                Some(m.inst(sym).to_tick(p, Round::Down))
            };
            let o = book.order(*t, acct, sym, Side::Sell, q, limit, false, ctx);
            let (filled, val, _) = book.take(rng, *t, &o, 3);
            left -= filled.min(left);
            h.1 -= filled.min(h.1);
            proceeds += val as f64 / 100.0;
            if filled < q {
                break;
            }
        }
    }
    holdings.retain(|(_, q)| *q > 0);
    proceeds
}

/// Buys about `yen` of `sym` with one order that takes liquidity at up to
/// `premium` above the market. Returns the yen spent.
#[allow(clippy::too_many_arguments)]
pub(crate) fn buy_amount<R: Rng>(
    book: &mut Book,
    rng: &mut R,
    acct: u32,
    sym: u32,
    yen: f64,
    t: i64,
    ctx: u32,
    style: Style,
    premium: (f64, f64),
) -> f64 {
    let m = book.m;
    if t >= LAST_FILL_US - 60_000_000 {
        return 0.0;
    }
    let inst = m.inst(sym);
    let lot = f64::from(inst.lot);
    let limit = inst.to_tick(
        m.raw_at(sym, t) * (1.0 + uniform(rng, premium.0, premium.1)),
        Round::Up,
    );
    let qty = ((yen / (f64::from(limit) / 100.0) / lot).floor() * lot) as u32;
    if qty == 0 {
        return 0.0;
    }
    let limit = if chance(rng, style.market_share) {
        None
    } else {
        Some(limit)
    };
    let o = book.order(t, acct, sym, Side::Buy, qty, limit, style.margin, ctx);
    let (_, val, _) = book.take(rng, t, &o, 3);
    val as f64 / 100.0
}
