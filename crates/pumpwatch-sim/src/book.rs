//! Emits our broker's own activity: logins, orders, fills and the tape prints of those fills.
//!
//! Every fill of one of our accounts is also a public print with the same
//! trade id, and a match between two of our accounts (a victim buying from a
//! perpetrator) is one print shared by two executions — the link the
//! engine's symbol-level reasoning relies on.

use rand::Rng;

use crate::clock::{wall, SECOND_US, SESSION_US};
use crate::events::{
    AuthAction, AuthEv, Events, ExecEv, NetCtx, OrderAction, OrderEv, Side, TradeEv, NONE,
};
use crate::market::{Market, Round};
use crate::rng::{hash, uniform, Stream};

/// A live order as its sender knows it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Ord {
    pub id: u32,
    pub acct: u32,
    pub sym: u32,
    pub side: Side,
    pub qty: u32,
    /// Limit in centi; 0 for a market order.
    pub price: u32,
    pub margin: bool,
    pub ctx: u32,
}

/// Last instant at which a fill can happen.
pub(crate) const LAST_FILL_US: i64 = SESSION_US - SECOND_US;

/// The event sink plus id counters.
#[derive(Debug)]
pub(crate) struct Book<'m> {
    pub m: &'m Market,
    pub ev: Events,
    seed: u64,
    next_order: u32,
    next_link: u32,
    next_session: u64,
}

impl<'m> Book<'m> {
    pub(crate) fn new(m: &'m Market, seed: u64) -> Self {
        Book {
            m,
            ev: Events::default(),
            seed,
            next_order: 0,
            next_link: 1,
            next_session: 0,
        }
    }

    /// Stores a network context and returns its index for auth and orders.
    pub(crate) fn ctx(&mut self, ctx: NetCtx) -> u32 {
        self.ev.ctxs.push(ctx);
        (self.ev.ctxs.len() - 1) as u32
    }

    /// Like `ctx`, with a fresh session id.
    pub(crate) fn session(&mut self, mut ctx: NetCtx) -> u32 {
        self.next_session += 1;
        ctx.session = hash(self.seed, Stream::Net, self.next_session, 0x5E55) | 1;
        self.ctx(ctx)
    }

    /// An auth event at a wall time.
    pub(crate) fn auth(&mut self, wall_us: i64, acct: u32, action: AuthAction, ctx: u32) {
        self.ev.auth.push(AuthEv {
            ts: wall_us,
            acct,
            action,
            ctx,
        });
    }

    /// Enters a new order at session time `t`.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn order(
        &mut self,
        t: i64,
        acct: u32,
        sym: u32,
        side: Side,
        qty: u32,
        limit: Option<u32>,
        margin: bool,
        ctx: u32,
    ) -> Ord {
        let o = Ord {
            id: self.next_order,
            acct,
            sym,
            side,
            qty,
            price: limit.unwrap_or(0),
            margin,
            ctx,
        };
        self.next_order += 1;
        self.push_order(t, &o, OrderAction::New);
        o
    }

    fn push_order(&mut self, t: i64, o: &Ord, action: OrderAction) {
        let cancel = action == OrderAction::Cancel;
        self.ev.orders.push(OrderEv {
            ts: wall(t),
            id: o.id,
            acct: o.acct,
            sym: o.sym,
            qty: if cancel { 0 } else { o.qty },
            price: if cancel { 0 } else { o.price },
            side: o.side,
            action,
            margin: o.margin,
            ctx: o.ctx,
        });
    }

    /// Replaces an open order's quantity and limit.
    pub(crate) fn replace(&mut self, t: i64, o: &mut Ord, qty: u32, price: u32) {
        o.qty = qty;
        o.price = price;
        self.push_order(t, o, OrderAction::Replace);
    }

    pub(crate) fn cancel(&mut self, t: i64, o: &Ord) {
        self.push_order(t, o, OrderAction::Cancel);
    }

    fn link(&mut self) -> u32 {
        let l = self.next_link;
        self.next_link += 1;
        l
    }

    /// A fill against an anonymous counterparty: one execution, one print.
    pub(crate) fn fill(&mut self, t: i64, o: &Ord, qty: u32, price: u32, aggressor: Side) {
        let link = self.link();
        let ts = wall(t);
        self.ev.execs.push(ExecEv {
            ts,
            order: o.id,
            acct: o.acct,
            sym: o.sym,
            qty,
            price,
            side: o.side,
            link,
            cp: NONE,
        });
        self.ev.trades.push(TradeEv {
            ts,
            sym: o.sym,
            qty,
            price,
            link,
            aggressor,
        });
    }

    /// A match between two of our accounts: two executions, one print.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn cross(
        &mut self,
        t: i64,
        buy: &Ord,
        sell: &Ord,
        qty: u32,
        price: u32,
        aggressor: Side,
        show_counterparty: bool,
    ) {
        let link = self.link();
        let ts = wall(t);
        for (o, other) in [(buy, sell), (sell, buy)] {
            self.ev.execs.push(ExecEv {
                ts,
                order: o.id,
                acct: o.acct,
                sym: o.sym,
                qty,
                price,
                side: o.side,
                link,
                cp: if show_counterparty { other.acct } else { NONE },
            });
        }
        self.ev.trades.push(TradeEv {
            ts,
            sym: buy.sym,
            qty,
            price,
            link,
            aggressor,
        });
    }

    /// Fills an order that takes liquidity (a market order or a marketable
    /// limit) in one to `max_fills` pieces within a few seconds of `t`, each
    /// at the market price of its instant, never through the limit. Returns
    /// the quantity and value (centi) filled and the time of the last fill.
    pub(crate) fn take<R: Rng>(
        &mut self,
        rng: &mut R,
        t: i64,
        o: &Ord,
        max_fills: u32,
    ) -> (u32, u64, i64) {
        let lot = self.m.inst(o.sym).lot;
        let lots = o.qty / lot;
        let pieces = rng.random_range(1..=max_fills.max(1)).min(lots.max(1));
        let mut left = lots;
        let mut filled = 0u32;
        let mut value = 0u64;
        let mut tf = t;
        for k in 0..pieces {
            tf += rng.random_range(20_000..(if k == 0 { 900_000 } else { 2_500_000 }));
            if tf > LAST_FILL_US || left == 0 {
                break;
            }
            let take = if k + 1 == pieces {
                left
            } else {
                rng.random_range(1..=(left - (pieces - k - 1)).max(1))
            };
            left -= take;
            let price = self.taking_price(rng, o, tf);
            let q = take * lot;
            self.fill(tf, o, q, price, o.side);
            filled += q;
            value += u64::from(q) * u64::from(price);
        }
        (filled, value, tf)
    }

    /// The price a liquidity-taking order gets at `t`: the market, sometimes
    /// a tick or two worse, capped by its limit.
    pub(crate) fn taking_price<R: Rng>(&self, rng: &mut R, o: &Ord, t: i64) -> u32 {
        let inst = self.m.inst(o.sym);
        let mid = self.m.raw_at(o.sym, t);
        let slip = uniform(rng, 0.0, 0.002);
        let p = match o.side {
            Side::Buy => inst.to_tick(mid * (1.0 + slip), Round::Up),
            Side::Sell => inst.to_tick(mid * (1.0 - slip), Round::Down),
        };
        match (o.price, o.side) {
            (0, _) => p,
            (l, Side::Buy) => p.min(l),
            (l, Side::Sell) => p.max(l),
        }
    }
}
