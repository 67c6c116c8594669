//! Innocent look-alikes: big sell-downs, small-cap enthusiasts and news-driven rallies.
//!
//! Each kind shares most of a takeover's features and misses one or two,
//! and the parameters are drawn close to where a reasonable detector would
//! draw its lines (sell-downs just under half the book, sizable buys of
//! new thin names, mid caps just above "thin"), so these are the alerts a
//! tuner has to learn to avoid.

use rand::Rng;

use crate::accounts::Account;
use crate::book::Book;
use crate::clock::{MINUTE_US, SECOND_US};
use crate::flows::{buy_amount, sell_down, Style};
use crate::ordinary::{login, maybe_logout};
use crate::plan::{LookalikeKind, LookalikePlan, Plan, RallyPlan};
use crate::rng::{chance, sub_rng, uniform, Stream};

/// Generates every look-alike account and every rally buyer.
pub(crate) fn generate(book: &mut Book, seed: u64, plan: &Plan, accts: &[Account]) {
    let reserved: Vec<u32> = plan
        .overlays
        .iter()
        .enumerate()
        .filter(|(_, o)| o.is_some())
        .map(|(i, _)| i as u32)
        .collect();
    // Mid caps just above the "thin" line on both measures the engine uses.
    let m = book.m;
    let boundary: Vec<u32> = m
        .mid
        .iter()
        .copied()
        .filter(|s| {
            let i = m.inst(*s);
            (5.0e7..2.0e8).contains(&i.turnover_yen()) && i.market_cap_yen() >= 5.0e9
        })
        .collect();
    for l in &plan.lookalikes {
        let mut rng = sub_rng(seed, Stream::Lookalike, u64::from(l.acct));
        let acct = &accts[l.acct as usize];
        match l.kind {
            LookalikeKind::SellAllKeepCash => sell_all(book, &mut rng, seed, l, acct, None),
            LookalikeKind::SellAllBuyLargeCaps => {
                sell_all(book, &mut rng, seed, l, acct, Some(&boundary))
            }
            LookalikeKind::SmallCapEnthusiast => {
                enthusiast(book, &mut rng, seed, l, acct, &reserved)
            }
            LookalikeKind::NewsRally => {}
        }
    }
    for (r, rally) in plan.rallies.iter().enumerate() {
        let mut rng = sub_rng(seed, Stream::Rally, r as u64);
        rally_buyers(book, &mut rng, seed, rally, accts);
    }
}

/// Sells the whole book within minutes to an hour; optionally buys liquid
/// names not held before with the proceeds.
fn sell_all<R: Rng>(
    book: &mut Book,
    rng: &mut R,
    seed: u64,
    l: &LookalikePlan,
    acct: &Account,
    buy_into: Option<&[u32]>,
) {
    let m = book.m;
    let start = rng.random_range(5 * MINUTE_US..260 * MINUTE_US);
    let (ctx, mut t) = login(book, rng, seed, l.acct, start, 0.2);
    let mut holdings = acct.holdings.clone();
    let style = Style {
        gap_us: (20 * SECOND_US, 8 * MINUTE_US),
        market_share: 0.5,
        children: (1, 2),
        margin: false,
    };
    let proceeds = sell_down(book, rng, l.acct, &mut holdings, 1.0, &mut t, ctx, style);
    if let Some(boundary) = buy_into {
        t += rng.random_range(MINUTE_US..40 * MINUTE_US);
        let k = rng.random_range(1..=3usize);
        let budget = proceeds * uniform(rng, 0.6, 1.0);
        let mut bought: Vec<u32> = Vec::new();
        for _ in 0..k {
            let pool = if !boundary.is_empty() && chance(rng, 0.3) {
                boundary
            } else {
                &m.large[..]
            };
            let fresh: Vec<u32> = pool
                .iter()
                .copied()
                .filter(|s| !acct.holds(*s) && !bought.contains(s))
                .collect();
            if fresh.is_empty() {
                continue;
            }
            let sym = fresh[rng.random_range(0..fresh.len())];
            bought.push(sym);
            let style = Style {
                market_share: 0.3,
                ..style
            };
            buy_amount(
                book,
                rng,
                l.acct,
                sym,
                budget / k as f64,
                t,
                ctx,
                style,
                (0.0, 0.004),
            );
            t += rng.random_range(30 * SECOND_US..20 * MINUTE_US);
        }
    }
    maybe_logout(book, rng, l.acct, t, ctx);
}

/// Trims a thin-heavy book by a minority and buys new thin names with cash.
fn enthusiast<R: Rng>(
    book: &mut Book,
    rng: &mut R,
    seed: u64,
    l: &LookalikePlan,
    acct: &Account,
    reserved: &[u32],
) {
    let m = book.m;
    let start = rng.random_range(0..270 * MINUTE_US);
    let (ctx, mut t) = login(book, rng, seed, l.acct, start, 0.02);
    let mut holdings = acct.holdings.clone();
    let style = Style {
        gap_us: (30 * SECOND_US, 10 * MINUTE_US),
        market_share: 0.3,
        children: (1, 2),
        margin: false,
    };
    let buy_first = chance(rng, 0.5);
    let fraction = uniform(rng, 0.1, 0.45);
    if !buy_first {
        sell_down(
            book,
            rng,
            l.acct,
            &mut holdings,
            fraction,
            &mut t,
            ctx,
            style,
        );
    }
    let k = rng.random_range(1..=2usize);
    for _ in 0..k {
        let Some(sym) = (0..200)
            .map(|_| m.small[rng.random_range(0..m.small.len())])
            .find(|s| !reserved.contains(s) && !acct.holds(*s))
        else {
            continue;
        };
        t += rng.random_range(style.gap_us.0..style.gap_us.1);
        buy_amount(
            book,
            rng,
            l.acct,
            sym,
            l.spend / k as f64,
            t,
            ctx,
            style,
            (0.0, 0.03),
        );
    }
    if buy_first {
        sell_down(
            book,
            rng,
            l.acct,
            &mut holdings,
            fraction,
            &mut t,
            ctx,
            style,
        );
    }
    maybe_logout(book, rng, l.acct, t, ctx);
}

/// Unrelated customers buying the same thin stock within an hour of news.
fn rally_buyers<R: Rng>(
    book: &mut Book,
    rng: &mut R,
    seed: u64,
    rally: &RallyPlan,
    accts: &[Account],
) {
    for b in &rally.buyers {
        // Most buyers react early; a tail arrives late in the hour.
        let delay = rng.random::<f64>().powf(1.5) * 60.0 - 5.0;
        let at = (rally.start + (delay * MINUTE_US as f64) as i64).max(0);
        let (ctx, mut t) = login(book, rng, seed, b.acct, at, 0.02);
        let style = Style {
            gap_us: (5 * SECOND_US, 60 * SECOND_US),
            market_share: 0.7,
            children: (1, 1),
            margin: false,
        };
        if b.sell_fraction > 0.0 {
            let mut holdings = accts[b.acct as usize].holdings.clone();
            sell_down(
                book,
                rng,
                b.acct,
                &mut holdings,
                b.sell_fraction,
                &mut t,
                ctx,
                style,
            );
        }
        let k = if chance(rng, 0.3) { 2 } else { 1 };
        for _ in 0..k {
            t += rng.random_range(10 * SECOND_US..10 * MINUTE_US);
            let style = Style {
                market_share: 0.3,
                ..style
            };
            buy_amount(
                book,
                rng,
                b.acct,
                rally.sym,
                b.spend / f64::from(k),
                t,
                ctx,
                style,
                (0.0, 0.05),
            );
        }
        maybe_logout(book, rng, b.acct, t, ctx);
    }
}
