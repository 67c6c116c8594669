//! Start-of-day books of every account: holdings and cash.

use rand::Rng;

use crate::market::{Class, Market};
use crate::rng::{lognormal, sub_rng, weighted, Cumulative, Stream};

/// One account's start-of-day state. Quantities are shares; cash is yen.
#[derive(Debug, Clone, Default)]
pub(crate) struct Account {
    pub holdings: Vec<(u32, u32)>,
    pub cash: u64,
}

impl Account {
    /// Portfolio value at previous closes, in yen (holdings only, no cash).
    pub(crate) fn value(&self, m: &Market) -> f64 {
        self.holdings
            .iter()
            .map(|(s, q)| f64::from(*q) * m.inst(*s).prev_close_yen())
            .sum()
    }

    pub(crate) fn holds(&self, sym: u32) -> bool {
        self.holdings.iter().any(|(s, _)| *s == sym)
    }

    pub(crate) fn add(&mut self, sym: u32, qty: u32) {
        match self.holdings.iter_mut().find(|(s, _)| *s == sym) {
            Some(h) => h.1 += qty,
            None => self.holdings.push((sym, qty)),
        }
    }
}

/// Weights for picking what ordinary customers hold: mostly liquid and mid
/// names, a little of the thin small caps, no foreign listings.
pub(crate) fn holding_weights(m: &Market) -> Cumulative {
    Cumulative::new(m.ins.iter().map(|i| match i.class {
        Class::Large => 3.0,
        Class::Mid => 1.0,
        Class::Small => 0.12,
        Class::Foreign => 0.0,
    }))
}

/// Draws every account's holdings and cash. Portfolio values are log-normal
/// with a ¥5M median and a tail past ¥50M.
pub(crate) fn generate(seed: u64, n: u32, m: &Market) -> Vec<Account> {
    let weights = holding_weights(m);
    (0..n)
        .map(|a| {
            let mut rng = sub_rng(seed, Stream::Accounts, u64::from(a));
            let value = lognormal(&mut rng, 5.0e6, 1.0).clamp(2.0e5, 5.0e8);
            let k = 1 + weighted(
                &mut rng,
                &[16.0, 15.0, 14.0, 12.0, 10.0, 9.0, 8.0, 6.0, 5.0, 5.0],
            );
            let mut acct = Account {
                holdings: Vec::with_capacity(k),
                cash: 0,
            };
            fill_portfolio(&mut rng, m, &weights, value, k, &mut acct);
            acct.cash = if rng.random_bool(0.05) {
                rng.random_range(0..10_000)
            } else {
                lognormal(&mut rng, 1.0e6, 1.3).clamp(1.0e4, 2.0e8) as u64
            };
            acct
        })
        .collect()
}

/// Spreads `value` over `k` draws from `weights` (exponential shares), one
/// lot at least per holding.
pub(crate) fn fill_portfolio<R: Rng>(
    rng: &mut R,
    m: &Market,
    weights: &Cumulative,
    value: f64,
    k: usize,
    acct: &mut Account,
) {
    let shares: Vec<f64> = (0..k).map(|_| -(1.0 - rng.random::<f64>()).ln()).collect();
    let total: f64 = shares.iter().sum();
    for s in shares {
        let sym = weights.draw(rng) as u32;
        let inst = m.inst(sym);
        let lot = f64::from(inst.lot);
        let qty = ((value * s / total / inst.prev_close_yen() / lot)
            .round()
            .max(1.0)
            * lot) as u32;
        acct.add(sym, qty);
    }
}
