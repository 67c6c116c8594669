//! The ordinary customers' day: a login from the usual device, a few orders, fills, cancels and replaces.
//!
//! Ordinary behaviour is deliberately broad — new devices, trips abroad,
//! sessions carried over from earlier days with no login today, margin buys,
//! buying names the account never held, small thin-stock punts — so that no
//! single account-level feature separates a takeover from a normal customer.

use rand::Rng;

use crate::accounts::{holding_weights, Account};
use crate::book::{Book, Ord, LAST_FILL_US};
use crate::clock::{hm, wall, MINUTE_US, SECOND_US};
use crate::events::{AuthAction, Channel, Side};
use crate::market::{Class, Round};
use crate::net;
use crate::plan::Role;
use crate::rng::{chance, lognormal, sub_rng, uniform, weighted, Cumulative, Stream};

/// Share of ordinary accounts that place at least one order today.
const ACTIVE_SHARE: f64 = 0.30;

/// Generates the day of every ordinary account that is active today.
pub(crate) fn generate(book: &mut Book, seed: u64, accts: &[Account], roles: &[Role]) {
    let weights = holding_weights(book.m);
    for (a, acct) in accts.iter().enumerate() {
        if roles[a] != Role::Ordinary {
            continue;
        }
        let mut rng = sub_rng(seed, Stream::Ordinary, a as u64);
        if !chance(&mut rng, ACTIVE_SHARE) {
            continue;
        }
        day(book, &mut rng, seed, a as u32, acct, &weights);
    }
}

/// Logs in (usually: a tenth of customers keep a session from an earlier
/// day) and returns the session context and the session time of the first
/// order. `new_device_share` of logins come from a new device in Japan.
pub(crate) fn login<R: Rng>(
    book: &mut Book,
    rng: &mut R,
    seed: u64,
    a: u32,
    around: i64,
    new_device_share: f64,
) -> (u32, i64) {
    let mut ctx = net::home(seed, a);
    let mut new_device = false;
    if chance(rng, new_device_share) {
        // A new phone or a family member's PC: new device, home country.
        let (ip, asn) = net::residential_jp(rng);
        ctx.ip = ip;
        ctx.asn = asn;
        ctx.device = net::device_id(seed, u64::from(a), rng.random_range(1..1_000));
        new_device = true;
    } else if chance(rng, 0.004) {
        // A customer travelling abroad.
        let (ip, asn, cc) = net::foreign(rng);
        ctx.ip = ip;
        ctx.asn = asn;
        ctx.country = cc;
    }
    if chance(rng, 0.01) {
        ctx.channel = Channel::Api;
    }
    let sid = book.session(ctx);
    if chance(rng, 0.10) {
        // A session kept from an earlier day: orders with no login today.
        return (sid, around);
    }
    let login_wall = if around < 20 * MINUTE_US && chance(rng, 0.5) {
        rng.random_range(hm(8, 0)..hm(9, 0))
    } else {
        wall(around) - rng.random_range(5 * SECOND_US..180 * SECOND_US)
    };
    if chance(rng, 0.03) {
        book.auth(
            login_wall - rng.random_range(3 * SECOND_US..60 * SECOND_US),
            a,
            AuthAction::LoginFailure,
            sid,
        );
    }
    book.auth(login_wall, a, AuthAction::LoginSuccess, sid);
    if new_device && chance(rng, 0.5) {
        book.auth(
            login_wall + rng.random_range(SECOND_US..30 * SECOND_US),
            a,
            AuthAction::DeviceRegistered,
            sid,
        );
    }
    // Customers change credentials too; an account change alone is no alarm.
    let change = rng.random::<f64>();
    let action = if change < 0.004 {
        Some(AuthAction::PasswordChange)
    } else if change < 0.006 {
        Some(AuthAction::EmailChange)
    } else if change < 0.007 {
        Some(AuthAction::WithdrawalAccountChange)
    } else {
        None
    };
    if let Some(action) = action {
        let w = login_wall + rng.random_range(10 * SECOND_US..300 * SECOND_US);
        book.auth(w, a, action, sid);
    }
    (sid, around)
}

/// Logs out a while after `t`, sometimes.
pub(crate) fn maybe_logout<R: Rng>(book: &mut Book, rng: &mut R, a: u32, t: i64, ctx: u32) {
    if chance(rng, 0.35) {
        let w = wall(t) + rng.random_range(30 * SECOND_US..20 * MINUTE_US);
        book.auth(w.min(hm(15, 59)), a, AuthAction::Logout, ctx);
    }
}

fn day<R: Rng>(
    book: &mut Book,
    rng: &mut R,
    seed: u64,
    a: u32,
    acct: &Account,
    weights: &Cumulative,
) {
    let m = book.m;
    // Activity clusters at the open, otherwise spreads over the day.
    let start = if chance(rng, 0.3) {
        rng.random_range(0..20 * MINUTE_US)
    } else {
        rng.random_range(0..320 * MINUTE_US)
    };
    let (ctx, mut t) = login(book, rng, seed, a, start, 0.02);
    let mut holdings = acct.holdings.clone();
    let mut cash = acct.cash as f64;
    let n = 1 + weighted(rng, &[30.0, 25.0, 18.0, 12.0, 8.0, 7.0]);
    for k in 0..n {
        if k > 0 {
            t += (lognormal(rng, 4.0 * MINUTE_US as f64, 1.2) as i64)
                .clamp(10 * SECOND_US, 90 * MINUTE_US);
        }
        if t >= LAST_FILL_US - 5 * MINUTE_US {
            break;
        }
        let sell = !holdings.is_empty() && chance(rng, 0.42);
        let (sym, qty, margin) = if sell {
            let i = rng.random_range(0..holdings.len());
            let (sym, held) = holdings[i];
            let lot = m.inst(sym).lot;
            let qty = if chance(rng, 0.4) {
                held
            } else {
                ((f64::from(held / lot) * uniform(rng, 0.2, 0.8)).round() as u32).max(1) * lot
            };
            (sym, qty.min(held), false)
        } else {
            let thin_punt = chance(rng, 0.04);
            let sym = if thin_punt {
                m.small[rng.random_range(0..m.small.len())]
            } else if !holdings.is_empty() && chance(rng, 0.45) {
                holdings[rng.random_range(0..holdings.len())].0
            } else {
                weights.draw(rng) as u32
            };
            let yen = if thin_punt || m.inst(sym).class == Class::Small {
                lognormal(rng, 2.5e5, 0.6).clamp(3.0e4, 1.2e6)
            } else {
                lognormal(rng, 6.0e5, 0.9).clamp(5.0e4, 2.0e7)
            };
            let margin = chance(rng, 0.04);
            let px = m.raw_at(sym, t);
            let lot = f64::from(m.inst(sym).lot);
            let afford = if margin { yen } else { yen.min(cash) };
            let qty = ((afford / px / lot).floor() * lot) as u32;
            if qty == 0 {
                continue;
            }
            (sym, qty, margin)
        };
        let side = if sell { Side::Sell } else { Side::Buy };
        let filled = ordinary_order(book, rng, t, a, sym, side, qty, margin, ctx);
        for (q, value) in filled {
            if sell {
                cash += value;
                if let Some(h) = holdings.iter_mut().find(|h| h.0 == sym) {
                    h.1 -= q.min(h.1);
                }
                holdings.retain(|h| h.1 > 0);
            } else {
                if !margin {
                    cash -= value;
                }
                match holdings.iter_mut().find(|h| h.0 == sym) {
                    Some(h) => h.1 += q,
                    None => holdings.push((sym, q)),
                }
            }
        }
    }
    maybe_logout(book, rng, a, t, ctx);
}

/// One ordinary order with its fate: market or marketable (filled at once),
/// or resting (filled later, partly, cancelled, replaced or left to
/// expire). Returns the fills as `(qty, yen)`.
#[allow(clippy::too_many_arguments)]
fn ordinary_order<R: Rng>(
    book: &mut Book,
    rng: &mut R,
    t: i64,
    a: u32,
    sym: u32,
    side: Side,
    qty: u32,
    margin: bool,
    ctx: u32,
) -> Vec<(u32, f64)> {
    let m = book.m;
    let inst = m.inst(sym);
    let mid = m.raw_at(sym, t);
    let sign = if side == Side::Buy { 1.0 } else { -1.0 };
    let round = if side == Side::Buy {
        Round::Up
    } else {
        Round::Down
    };
    let mut fills = Vec::new();
    if chance(rng, 0.25) {
        let o = book.order(t, a, sym, side, qty, None, margin, ctx);
        let (q, v, _) = book.take(rng, t, &o, 3);
        fills.push((q, v as f64 / 100.0));
        return fills;
    }
    if chance(rng, 0.35) {
        let limit = inst.to_tick(mid * (1.0 + sign * uniform(rng, 0.0, 0.003)), round);
        let o = book.order(t, a, sym, side, qty, Some(limit), margin, ctx);
        let (q, v, _) = book.take(rng, t, &o, 3);
        fills.push((q, v as f64 / 100.0));
        return fills;
    }
    // A resting order away from the market.
    let passive = if side == Side::Buy {
        Round::Down
    } else {
        Round::Up
    };
    let limit = inst.to_tick(mid * (1.0 - sign * uniform(rng, 0.001, 0.015)), passive);
    let mut o = book.order(t, a, sym, side, qty, Some(limit), margin, ctx);
    let wait = (lognormal(rng, 5.0 * MINUTE_US as f64, 1.2) as i64).max(SECOND_US);
    let tf = t + wait;
    let lot = inst.lot;
    if chance(rng, 0.55) && tf < LAST_FILL_US {
        let lots = qty / lot;
        let partial = chance(rng, 0.2) && lots > 1;
        let fill_lots = if partial {
            ((f64::from(lots) * uniform(rng, 0.3, 0.9)) as u32).clamp(1, lots - 1)
        } else {
            lots
        };
        let pieces = if fill_lots > 1 && chance(rng, 0.3) {
            2
        } else {
            1
        };
        let first = if pieces == 2 {
            fill_lots / 2
        } else {
            fill_lots
        };
        let aggressor = side.opposite();
        book.fill(tf, &o, first * lot, limit, aggressor);
        fills.push((
            first * lot,
            f64::from(first * lot) * f64::from(limit) / 100.0,
        ));
        if pieces == 2 {
            let t2 = (tf + rng.random_range(SECOND_US..120 * SECOND_US)).min(LAST_FILL_US);
            let q2 = (fill_lots - first) * lot;
            book.fill(t2, &o, q2, limit, aggressor);
            fills.push((q2, f64::from(q2) * f64::from(limit) / 100.0));
        }
        if partial && chance(rng, 0.5) {
            let tc = tf + rng.random_range(10 * SECOND_US..30 * MINUTE_US);
            if tc < LAST_FILL_US {
                book.cancel(tc, &o);
            }
        }
        return fills;
    }
    let later = t + (lognormal(rng, 10.0 * MINUTE_US as f64, 1.0) as i64).max(5 * SECOND_US);
    if later >= LAST_FILL_US {
        return fills; // expires at the close, no event
    }
    if chance(rng, 0.4) {
        book.cancel(later, &o);
    } else if chance(rng, 0.35) {
        // Chase the market: replace at a marketable price and fill.
        let mid = m.raw_at(sym, later);
        let price = inst.to_tick(mid * (1.0 + sign * 0.002), round);
        book.replace(later, &mut o, qty, price);
        let filled = take_replaced(book, rng, later, &o);
        fills.push(filled);
    }
    fills
}

fn take_replaced<R: Rng>(book: &mut Book, rng: &mut R, t: i64, o: &Ord) -> (u32, f64) {
    let (q, v, _) = book.take(rng, t, o, 2);
    (q, v as f64 / 100.0)
}
