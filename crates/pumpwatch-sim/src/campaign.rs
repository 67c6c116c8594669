//! Account-takeover campaigns: perpetrators accumulate a thin target, hijacked victims liquidate and buy it, perpetrators sell into the buys.

use rand::seq::SliceRandom;
use rand::Rng;

use crate::accounts::Account;
use crate::book::{Book, LAST_FILL_US};
use crate::clock::{wall, MINUTE_US, SECOND_US};
use crate::events::{AuthAction, Channel, Mfa, NetCtx, Side};
use crate::flows::{sell_down, Style};
use crate::market::Round;
use crate::net;
use crate::plan::{CampaignPlan, Plan, Variant};
use crate::rng::{chance, sub_rng, uniform, Stream};

/// What the labels need to know about one victim (wall times, µs).
#[derive(Debug, Clone)]
pub(crate) struct VictimRecord {
    pub acct: u32,
    pub takeover_start: i64,
    /// The attacker's first order in the account.
    pub first_order: Option<i64>,
    pub first_buy: Option<i64>,
    pub last_buy: Option<i64>,
}

/// A perpetrator account during the day.
struct Perp {
    acct: u32,
    ctx: u32,
    /// Shares held per target.
    inv: Vec<u32>,
}

/// Generates every campaign; returns one record per victim.
pub(crate) fn generate(
    book: &mut Book,
    seed: u64,
    plan: &Plan,
    accts: &[Account],
) -> Vec<VictimRecord> {
    let mut out = Vec::new();
    for c in &plan.campaigns {
        let mut rng = sub_rng(seed, Stream::Campaign, u64::from(c.id));
        campaign(book, &mut rng, seed, c, accts, &mut out);
    }
    out
}

fn campaign<R: Rng>(
    book: &mut Book,
    rng: &mut R,
    seed: u64,
    c: &CampaignPlan,
    accts: &[Account],
    out: &mut Vec<VictimRecord>,
) {
    let mut perps = Vec::with_capacity(c.perps.len());
    let mut first_ip: Option<(u32, u32)> = None;
    for &p in &c.perps {
        let mut ctx = net::home(seed, p);
        // Two perpetrator accounts often trade from the same office line.
        if let Some((ip, asn)) = first_ip {
            if chance(rng, 0.5) {
                ctx.ip = ip;
                ctx.asn = asn;
            }
        }
        first_ip = Some((ctx.ip, ctx.asn));
        let sid = book.session(ctx);
        let lw = wall(c.acc_start) - rng.random_range(MINUTE_US..20 * MINUTE_US);
        book.auth(lw, p, AuthAction::LoginSuccess, sid);
        let inv = c
            .targets
            .iter()
            .map(|s| {
                accts[p as usize]
                    .holdings
                    .iter()
                    .find(|h| h.0 == *s)
                    .map_or(0, |h| h.1)
            })
            .collect();
        perps.push(Perp {
            acct: p,
            ctx: sid,
            inv,
        });
    }
    for (pi, perp) in perps.iter_mut().enumerate() {
        for ti in 0..c.targets.len() {
            accumulate(book, rng, c, perp, ti, c.goals[pi][ti]);
        }
    }

    // Counterparty ids on fills: some brokers' feeds carry them, some never.
    let show_cp = if chance(rng, 0.3) {
        0.0
    } else {
        uniform(rng, 0.3, 1.0)
    };
    let n = c.victims.len() as f64;
    let win = c.win_end - c.win_start;
    for (i, &v) in c.victims.iter().enumerate() {
        let (t0, end) = if c.variant == Variant::SlowDrip {
            let span = ((uniform(rng, 90.0, 150.0) * MINUTE_US as f64) as i64).min(win);
            let lead = (win - span) as f64;
            let t0 = c.win_start + (lead * (i as f64 + rng.random::<f64>()) / n) as i64;
            (t0, t0 + span)
        } else {
            let stagger = win as f64 * 0.55;
            let t0 = c.win_start + (stagger * (i as f64 + rng.random::<f64>()) / n) as i64;
            (t0, c.win_end)
        };
        let rec = victim(
            book,
            rng,
            seed,
            c,
            &mut perps,
            v,
            &accts[v as usize],
            (t0, end),
            show_cp,
        );
        out.push(rec);
    }

    // Some groups dump what they still hold into the late market.
    for perp in &mut perps {
        for (ti, &sym) in c.targets.iter().enumerate() {
            let lot = book.m.inst(sym).lot;
            if perp.inv[ti] < lot || !chance(rng, 0.5) {
                continue;
            }
            let k = rng.random_range(2..=5u32);
            for _ in 0..k {
                let t = rng.random_range(c.win_end..LAST_FILL_US - 2 * MINUTE_US);
                let q = ((f64::from(perp.inv[ti]) * uniform(rng, 0.2, 0.6) / f64::from(k))
                    / f64::from(lot)) as u32
                    * lot;
                if q == 0 {
                    continue;
                }
                let o = book.order(t, perp.acct, sym, Side::Sell, q, None, false, perp.ctx);
                let (f, _, _) = book.take(rng, t, &o, 3);
                perp.inv[ti] -= f.min(perp.inv[ti]);
            }
        }
    }
}

/// The morning build-up: many marketable buys stepping up with the price
/// ("buying-up" orders) and a few low bids that support it.
fn accumulate<R: Rng>(
    book: &mut Book,
    rng: &mut R,
    c: &CampaignPlan,
    perp: &mut Perp,
    ti: usize,
    goal: u32,
) {
    let sym = c.targets[ti];
    let inst = book.m.inst(sym);
    let lot = inst.lot;
    if goal < lot {
        return;
    }
    let n = rng.random_range(15..=45u32).min(goal / lot).max(1);
    let mut times: Vec<i64> = (0..n)
        .map(|_| rng.random_range(c.acc_start..c.acc_end.max(c.acc_start + 1)))
        .collect();
    times.sort_unstable();
    let mut left = goal;
    for (k, &t) in times.iter().enumerate() {
        let q = if k + 1 == n as usize {
            left
        } else {
            ((f64::from(goal) / f64::from(n) * uniform(rng, 0.6, 1.4) / f64::from(lot)).round()
                as u32)
                .max(1)
                * lot
        }
        .min(left);
        if q == 0 {
            break;
        }
        left -= q;
        let limit = inst.to_tick(book.m.raw_at(sym, t) * uniform(rng, 1.003, 1.02), Round::Up);
        let o = book.order(
            t,
            perp.acct,
            sym,
            Side::Buy,
            q,
            Some(limit),
            false,
            perp.ctx,
        );
        let (filled, _, _) = book.take(rng, t, &o, 4);
        perp.inv[ti] += filled;
    }
    for _ in 0..rng.random_range(2..=6) {
        let t = rng.random_range(c.acc_start..c.win_start.max(c.acc_start + 1));
        let limit = inst.to_tick(
            book.m.raw_at(sym, t) * uniform(rng, 0.94, 0.98),
            Round::Down,
        );
        let q = rng.random_range(50..=300u32) * lot;
        let o = book.order(
            t,
            perp.acct,
            sym,
            Side::Buy,
            q,
            Some(limit),
            false,
            perp.ctx,
        );
        let tc = t + rng.random_range(10 * MINUTE_US..60 * MINUTE_US);
        if chance(rng, 0.7) && tc < LAST_FILL_US {
            book.cancel(tc, &o);
        }
    }
}

/// One hijacked account, from the attacker's login to the last buy.
#[allow(clippy::too_many_arguments)]
fn victim<R: Rng>(
    book: &mut Book,
    rng: &mut R,
    seed: u64,
    c: &CampaignPlan,
    perps: &mut [Perp],
    v: u32,
    acct: &Account,
    (t0, end): (i64, i64),
    show_cp: f64,
) -> VictimRecord {
    let m = book.m;
    let home = net::home(seed, v);

    // The real owner sometimes used the account earlier in the day.
    if t0 > 40 * MINUTE_US && chance(rng, 0.25) {
        let sid = book.session(home);
        let tl = rng.random_range(0..t0 - 30 * MINUTE_US);
        book.auth(wall(tl), v, AuthAction::LoginSuccess, sid);
        if chance(rng, 0.5) {
            let out = wall(tl) + rng.random_range(2 * MINUTE_US..20 * MINUTE_US);
            book.auth(out, v, AuthAction::Logout, sid);
        }
    }

    let (ip, asn, country) = if chance(rng, 0.6) {
        net::foreign(rng)
    } else {
        let (ip, asn) = net::hosting_jp(rng);
        (ip, asn, *b"JP")
    };
    let stolen = c.variant == Variant::StolenSession;
    let attacker = NetCtx {
        ip,
        device: if stolen {
            0
        } else {
            net::device_id(seed, u64::from(v), 10_000 + u64::from(c.id))
        },
        country,
        asn,
        // Relay phishing passes the one-time code through, so the usual
        // factor appears as often as a password-only path.
        mfa: if chance(rng, 0.5) {
            Mfa::None
        } else {
            home.mfa
        },
        channel: if chance(rng, 0.8) {
            Channel::Web
        } else {
            Channel::App
        },
        session: 0,
    };
    let sid = book.session(attacker);
    let first_order = book.ev.orders.len();
    let mut takeover_start = i64::MAX;
    let mut t = t0;
    if !stolen {
        let lw = wall(t0);
        takeover_start = lw;
        if chance(rng, 0.2) {
            for _ in 0..rng.random_range(1..=2) {
                let f = lw - rng.random_range(5 * SECOND_US..90 * SECOND_US);
                book.auth(f, v, AuthAction::LoginFailure, sid);
                takeover_start = takeover_start.min(f);
            }
        }
        book.auth(lw, v, AuthAction::LoginSuccess, sid);
        if chance(rng, 0.25) {
            let w = lw + rng.random_range(20 * SECOND_US..120 * SECOND_US);
            book.auth(w, v, AuthAction::EmailChange, sid);
        }
        if chance(rng, 0.15) {
            let w = lw + rng.random_range(30 * SECOND_US..180 * SECOND_US);
            book.auth(w, v, AuthAction::WithdrawalAccountChange, sid);
        }
        if chance(rng, 0.05) {
            let w = lw + rng.random_range(30 * SECOND_US..180 * SECOND_US);
            book.auth(w, v, AuthAction::PhoneChange, sid);
        }
        t += rng.random_range(30 * SECOND_US..180 * SECOND_US);
    } else {
        // The stolen cookie's first request is the first sell order.
        t -= 5 * SECOND_US;
    }

    let mut holdings = acct.holdings.clone();
    let value = acct.value(m);
    let cash = acct.cash as f64;
    let fast = Style {
        gap_us: (3 * SECOND_US, 40 * SECOND_US),
        market_share: 0.85,
        children: (1, 1),
        margin: false,
    };
    let mut buys: Vec<i64> = Vec::new();
    if c.variant == Variant::SlowDrip {
        slow_drip(
            book,
            rng,
            c,
            perps,
            v,
            sid,
            &mut holdings,
            cash,
            t,
            end,
            show_cp,
            &mut buys,
        );
    } else {
        let fraction = match c.variant {
            Variant::PartialLiquidation => uniform(rng, 0.5, 0.8),
            Variant::StolenSession => {
                let f = uniform(rng, 0.7, 1.0);
                if f > 0.95 {
                    1.0
                } else {
                    f
                }
            }
            Variant::MarginFunded => {
                if chance(rng, 0.5) {
                    0.0
                } else {
                    uniform(rng, 0.05, 0.2)
                }
            }
            _ => 1.0,
        };
        let proceeds = if fraction > 0.0 {
            sell_down(book, rng, v, &mut holdings, fraction, &mut t, sid, fast)
        } else {
            0.0
        };
        let margin = c.variant == Variant::MarginFunded;
        let budget = if margin {
            value * uniform(rng, 0.5, 1.5) + proceeds * uniform(rng, 0.5, 0.9)
        } else {
            (proceeds + cash * uniform(rng, 0.0, 0.6)) * uniform(rng, 0.8, 0.98)
        };
        let nb = rng.random_range(2..=10usize);
        let weights: Vec<f64> = (0..nb).map(|_| uniform(rng, 0.5, 1.5)).collect();
        let wsum: f64 = weights.iter().sum();
        let mut order: Vec<usize> = (0..nb).map(|j| j % c.targets.len()).collect();
        order.shuffle(rng);
        t += rng.random_range(20 * SECOND_US..180 * SECOND_US);
        for (j, w) in weights.iter().enumerate() {
            let ti = order[j];
            if let Some(ts) = victim_buy(
                book,
                rng,
                perps,
                (v, sid),
                ti,
                c.targets[ti],
                budget * w / wsum,
                t,
                margin,
                show_cp,
                c.win_start,
            ) {
                buys.push(ts);
            }
            t += rng.random_range(10 * SECOND_US..120 * SECOND_US);
        }
    }

    if stolen {
        takeover_start = book.ev.orders[first_order..]
            .iter()
            .filter(|o| o.acct == v)
            .map(|o| o.ts)
            .min()
            .unwrap_or(wall(t0));
    }
    let first_order = book.ev.orders[first_order..]
        .iter()
        .filter(|o| o.acct == v)
        .map(|o| o.ts)
        .min();
    VictimRecord {
        acct: v,
        takeover_start,
        first_order,
        first_buy: buys.iter().min().copied(),
        last_buy: buys.iter().max().copied(),
    }
}

/// Small sells and buys interleaved over one and a half to two and a half
/// hours, each buy spending most of what the sells so far raised.
#[allow(clippy::too_many_arguments)]
fn slow_drip<R: Rng>(
    book: &mut Book,
    rng: &mut R,
    c: &CampaignPlan,
    perps: &mut [Perp],
    v: u32,
    sid: u32,
    holdings: &mut [(u32, u32)],
    cash: f64,
    start: i64,
    end: i64,
    show_cp: f64,
    buys: &mut Vec<i64>,
) {
    let m = book.m;
    // Small child orders: each about ¥0.5M–¥1.5M.
    let mut sells: Vec<(u32, u32)> = Vec::new();
    holdings.shuffle(rng);
    for &(sym, qty) in holdings.iter() {
        let lot = m.inst(sym).lot;
        let worth = f64::from(qty) * m.raw_at(sym, start);
        let parts = ((worth / uniform(rng, 0.5e6, 1.5e6)).ceil() as u32)
            .clamp(2, 12)
            .min(qty / lot)
            .max(1);
        let mut left = qty;
        for k in 0..parts {
            let q = if k + 1 == parts {
                left
            } else {
                (qty / parts / lot).max(1) * lot
            };
            sells.push((sym, q.min(left)));
            left -= q.min(left);
        }
    }
    // Each sell is often followed by a buy with what it raised; the last
    // step is always a buy.
    let mut plan: Vec<bool> = (0..sells.len())
        .flat_map(|_| {
            if chance(rng, 0.6) {
                vec![true, false]
            } else {
                vec![true]
            }
        })
        .collect();
    if plan.last() != Some(&false) {
        plan.push(false);
    }
    let nb = plan.iter().filter(|s| !**s).count();
    let steps = plan.len() as f64;
    let step = (end - start) as f64 / steps;
    let mut unspent = cash * uniform(rng, 0.0, 0.3);
    let mut next_sell = 0;
    let mut buys_left = nb;
    for (k, is_sell) in plan.iter().enumerate() {
        let t = start + (step * (k as f64 + uniform(rng, 0.2, 0.8))) as i64;
        if t >= LAST_FILL_US - 2 * MINUTE_US {
            break;
        }
        if *is_sell {
            let Some(&(sym, q)) = sells.get(next_sell) else {
                continue;
            };
            next_sell += 1;
            let limit = if chance(rng, 0.6) {
                None
            } else {
                Some(m.inst(sym).to_tick(m.raw_at(sym, t) * 0.995, Round::Down))
            };
            let o = book.order(t, v, sym, Side::Sell, q, limit, false, sid);
            let (_, val, _) = book.take(rng, t, &o, 2);
            unspent += val as f64 / 100.0;
        } else {
            let share = if buys_left == 1 {
                0.95
            } else {
                uniform(rng, 0.6, 0.95)
            };
            buys_left -= 1;
            let ti = rng.random_range(0..c.targets.len());
            let yen = unspent * share;
            if let Some(ts) = victim_buy(
                book,
                rng,
                perps,
                (v, sid),
                ti,
                c.targets[ti],
                yen,
                t,
                false,
                show_cp,
                c.win_start,
            ) {
                buys.push(ts);
                unspent -= yen;
            }
        }
    }
}

/// One aggressive buy of a target: a limit well above the market (or a
/// market order), filled in a few pieces mostly against perpetrators'
/// offers. Returns the order's wall time if an order was sent.
#[allow(clippy::too_many_arguments)]
fn victim_buy<R: Rng>(
    book: &mut Book,
    rng: &mut R,
    perps: &mut [Perp],
    (v, sid): (u32, u32),
    ti: usize,
    sym: u32,
    yen: f64,
    t: i64,
    margin: bool,
    show_cp: f64,
    win_start: i64,
) -> Option<i64> {
    let m = book.m;
    if t >= LAST_FILL_US - 2 * MINUTE_US {
        return None;
    }
    let inst = m.inst(sym);
    let lot = inst.lot;
    let limit = inst.to_tick(m.raw_at(sym, t) * uniform(rng, 1.02, 1.12), Round::Up);
    let qty = (yen / (f64::from(limit) / 100.0) / f64::from(lot)) as u32 * lot;
    if qty == 0 {
        return None;
    }
    let market = chance(rng, 0.15);
    let o = book.order(
        t,
        v,
        sym,
        Side::Buy,
        qty,
        (!market).then_some(limit),
        margin,
        sid,
    );
    let lots = qty / lot;
    let pieces = rng.random_range(1..=4u32).min(lots);
    let mut left = lots;
    let mut tf = t;
    for k in 0..pieces {
        tf += rng.random_range(30_000..1_500_000);
        let piece = if k + 1 == pieces {
            left
        } else {
            rng.random_range(1..=(left - (pieces - k - 1)).max(1))
        };
        left -= piece;
        let q = piece * lot;
        let ask = inst.to_tick(m.raw_at(sym, tf) * uniform(rng, 1.0, 1.03), Round::Up);
        let price = if market { ask } else { ask.min(limit) };
        let seller = perps
            .iter_mut()
            .filter(|p| p.inv[ti] >= lot)
            .max_by_key(|p| p.inv[ti]);
        match seller {
            Some(p) if chance(rng, 0.8) => {
                let qp = q.min(p.inv[ti] / lot * lot);
                let ts = (tf - rng.random_range(500_000..60 * SECOND_US)).max(win_start.min(tf));
                let so = book.order(ts, p.acct, sym, Side::Sell, qp, Some(price), false, p.ctx);
                let shown = chance(rng, show_cp);
                book.cross(tf, &o, &so, qp, price, Side::Buy, shown);
                p.inv[ti] -= qp;
                if q > qp {
                    book.fill(tf, &o, q - qp, price, Side::Buy);
                }
            }
            _ => book.fill(tf, &o, q, price, Side::Buy),
        }
    }
    Some(wall(t))
}
