//! The campaign rules' state: every account's recent sells, and per symbol its takeover-like
//! buyers, the accounts that bought it earlier (the possible beneficiaries) and the fills of
//! both sides waiting for their match. Every collection is bounded; sorted maps, and hash maps
//! written in key order, keep a snapshot's bytes a function of the state alone.

use std::collections::{BTreeMap, VecDeque};

use pumpwatch_model::{Id, OrderAction};
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use super::config::BuyingConfig;
use crate::snapshot::codec;

/// Sells remembered per account.
const SELLS_PER_ACCOUNT_MAX: usize = 64;
/// Takeover-like buyers remembered per symbol.
const BUYERS_PER_SYMBOL_MAX: usize = 512;
/// Earlier buyers (possible beneficiaries) remembered per symbol.
const ACCUMULATORS_PER_SYMBOL_MAX: usize = 256;
/// Unmatched fills remembered per symbol and side.
const FILLS_PER_SYMBOL_MAX: usize = 1_024;
/// Matched fills kept per beneficiary, for evidence.
const MATCHES_PER_SELLER_MAX: usize = 64;
/// Campaign buyers a beneficiary's sells are matched to, at most.
const SOLD_INTO_MAX: usize = 256;
/// Buy orders remembered per campaign buyer and symbol.
const ORDERS_PER_BUYER_MAX: usize = 64;
/// Orders between two sweeps of expired state.
const SWEEP_EVERY: u64 = 8_192;
/// An earlier buyer is forgotten after this long without a fill (ns): a day.
const ACCUMULATOR_IDLE_NANOS: i64 = 86_400 * 1_000_000_000;

#[derive(Debug, Default, Serialize, Deserialize)]
pub(super) struct State {
    /// Account → its recent sell orders, oldest first. (Looked up by account only: a hash
    /// map, written sorted.)
    #[serde(with = "codec::sorted_map")]
    sells: FxHashMap<Id, Vec<SellNote>>,
    pub symbols: BTreeMap<u32, SymbolState>,
    /// Account → its latest successful login in the window.
    #[serde(with = "codec::sorted_map")]
    logins: FxHashMap<Id, LoginSeen>,
    orders: u64,
    logins_seen: u64,
}

/// A sell order as the campaign rules count it: its latest value (a replace overwrites it, a
/// cancel removes it).
#[derive(Clone, Debug, Serialize, Deserialize)]
struct SellNote {
    ts: i64,
    order_id: Id,
    symbol: u32,
    value: f64,
}

/// An account's latest login, as the campaign rules judge it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(super) struct LoginSeen {
    pub ts: i64,
    /// From a home country, not a hosting network, with a second factor.
    pub clean: bool,
    pub ip: Option<u64>,
    pub session: Option<u64>,
}

/// The session a buy order came from, as the campaign rules judge it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(super) enum Session {
    /// A clean login and the order from its IP and session: the owner, most likely.
    Clean,
    /// A login from abroad, a hosting network or without a second factor.
    Unusual,
    /// The order came from an IP or session other than the login's (a stolen cookie).
    OtherThanLogin,
    /// No login in the window (or no auth feed at all).
    NoLogin,
}

impl Session {
    pub fn describe(self) -> &'static str {
        match self {
            Session::Clean => "from a usual login",
            Session::Unusual => "after a login from abroad, a hosting network or without MFA",
            Session::OtherThanLogin => "from an IP or session other than its login's",
            Session::NoLogin => "with no login seen",
        }
    }
}

/// A takeover-like buyer of a symbol.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(super) struct Buyer {
    pub account: Id,
    pub first_order: Id,
    pub first_ts: i64,
    pub last_ts: i64,
    pub session: Session,
    /// Its live buy orders of the symbol and their values (yen): a replace overwrites an
    /// order's value, a cancel removes it.
    pub orders: Vec<(Id, f64)>,
    /// What it had sold of other symbols in the window before buying.
    pub sold_before: f64,
    pub margin: bool,
}

impl Buyer {
    /// Its live buy orders' value (yen).
    pub fn value(&self) -> f64 {
        self.orders.iter().map(|(_, v)| v).sum()
    }

    /// Whether the buyer counts toward a campaign: not from a clean login of its own, buys big
    /// enough, and most of what it sold (or margin) behind them.
    pub fn counts(&self, c: &BuyingConfig) -> bool {
        let value = self.value();
        self.session != Session::Clean
            && value >= c.buy_value_min
            && (self.margin || value >= c.spend_of_sold_min * self.sold_before)
    }
}

/// An account that bought the symbol (not as a campaign buyer): a possible beneficiary.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(super) struct Accumulator {
    pub account: Id,
    pub bought_qty: u64,
    pub bought_value: f64,
    pub first_buy_ts: i64,
    pub last_ts: i64,
    /// What it still held of its buys when the campaign began (its earlier sells taken off).
    pub pre_qty: u64,
    pub pre_value: f64,
    /// The campaign buyers it sold to, sorted.
    pub sold_into: Vec<Id>,
    pub sold_qty: u64,
    pub sold_value: f64,
    /// Matches by counterparty, by trade id, by timing.
    pub matched_by: [u32; 3],
    pub matches: Vec<MatchNote>,
    pub alerted: bool,
}

/// One of a beneficiary's sells matched to a campaign buyer's buy.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(super) struct MatchNote {
    pub ts: i64,
    pub exec_id: Id,
    pub buyer: Id,
    pub qty: u64,
    pub price: f64,
    /// An index into [`HOW`].
    pub how: u8,
}

/// A fill as the matching keeps it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(super) struct FillSeen {
    pub ts: i64,
    pub account: Id,
    pub exec_id: Id,
    pub trade_id: Option<Id>,
    pub counterparty: Option<Id>,
    pub qty: u64,
    pub price: f64,
}

/// A beneficiary's sell just matched: whose, and which execution.
#[derive(Clone, Debug)]
pub(super) struct Matched {
    pub seller: Id,
    pub exec_id: Id,
}

/// One symbol's campaign state.
#[derive(Debug, Default, Serialize, Deserialize)]
pub(super) struct SymbolState {
    pub buyers: Vec<Buyer>,
    /// Buyers counted at the last campaign alert (0: none yet).
    pub alerted_accounts: usize,
    /// The first takeover-like buy of the running campaign.
    pub campaign_start: Option<i64>,
    accumulators: Vec<Accumulator>,
    /// Buy fills of campaign buyers not matched yet, oldest first.
    buyer_fills: VecDeque<FillSeen>,
    /// Sell fills of earlier buyers not matched yet, oldest first.
    seller_fills: VecDeque<FillSeen>,
}

impl State {
    /// Drops what expired, every [`SWEEP_EVERY`] orders (a count, so every run sweeps alike).
    pub fn sweep_now_and_then(&mut self, now: i64, window: i64) {
        self.orders += 1;
        if self.orders % SWEEP_EVERY != 0 {
            return;
        }
        let cutoff = now - window;
        self.sells.retain(|_, sells| {
            sells.retain(|sell| sell.ts >= cutoff);
            !sells.is_empty()
        });
        self.logins.retain(|_, login| login.ts >= cutoff);
        self.symbols.retain(|_, s| s.sweep(now, window));
    }

    /// A sell order entered, replaced or cancelled.
    #[allow(clippy::too_many_arguments)]
    pub fn note_sell(
        &mut self,
        account: &Id,
        order_id: &Id,
        action: OrderAction,
        symbol: u32,
        ts: i64,
        value: f64,
        window: i64,
    ) {
        if action == OrderAction::Cancel {
            if let Some(sells) = self.sells.get_mut(account) {
                sells.retain(|sell| sell.order_id != *order_id);
            }
            return;
        }
        let sells = self.sells.entry(account.clone()).or_default();
        sells.retain(|sell| sell.ts >= ts.saturating_sub(window));
        if let Some(sell) = sells.iter_mut().find(|sell| sell.order_id == *order_id) {
            sell.value = value;
            return;
        }
        if sells.len() == SELLS_PER_ACCOUNT_MAX {
            sells.remove(0);
        }
        sells.push(SellNote {
            ts,
            order_id: order_id.clone(),
            symbol,
            value,
        });
    }

    /// What the account sold of symbols other than `symbol` since `cutoff`.
    pub fn sold_since(&self, account: &Id, symbol: u32, cutoff: i64) -> f64 {
        self.sells.get(account).map_or(0.0, |sells| {
            sells
                .iter()
                .filter(|sell| sell.ts >= cutoff && sell.symbol != symbol)
                .map(|sell| sell.value)
                .sum()
        })
    }

    /// An account's successful login; logins older than the window are swept every
    /// [`SWEEP_EVERY`] logins.
    pub fn note_login(&mut self, account: &Id, login: LoginSeen, window: i64) {
        let now = login.ts;
        self.logins.insert(account.clone(), login);
        self.logins_seen += 1;
        if self.logins_seen % SWEEP_EVERY == 0 {
            let cutoff = now.saturating_sub(window);
            self.logins.retain(|_, login| login.ts >= cutoff);
        }
    }

    /// How the account's order from `ip` and `session` relates to its latest login since
    /// `cutoff`.
    pub fn session_of(
        &self,
        account: &Id,
        ip: Option<u64>,
        session: Option<u64>,
        cutoff: i64,
    ) -> Session {
        let Some(login) = self.logins.get(account).filter(|l| l.ts >= cutoff) else {
            return Session::NoLogin;
        };
        let differs = |order: Option<u64>, login: Option<u64>| matches!((order, login), (Some(o), Some(l)) if o != l);
        if !login.clean {
            Session::Unusual
        } else if differs(ip, login.ip) || differs(session, login.session) {
            Session::OtherThanLogin
        } else {
            Session::Clean
        }
    }

    pub fn symbol_mut(&mut self, symbol: u32) -> &mut SymbolState {
        self.symbols.entry(symbol).or_default()
    }
}

/// How a sell and a buy fill are the two sides of one trade: 0 by a counterparty id, 1 by a
/// shared trade id, 2 by time, price and quantity when neither side has a trade id. Ids that
/// contradict (a counterparty naming someone else, two different trade ids) rule a match out.
fn how_matched(sell: &FillSeen, buy: &FillSeen, match_nanos: i64) -> Option<usize> {
    if sell.account == buy.account {
        return None;
    }
    let names_other =
        |counterparty: &Option<Id>, other: &Id| counterparty.as_ref().is_some_and(|c| c != other);
    if names_other(&sell.counterparty, &buy.account)
        || names_other(&buy.counterparty, &sell.account)
    {
        return None;
    }
    if let (Some(a), Some(b)) = (&sell.trade_id, &buy.trade_id) {
        if a != b {
            return None;
        }
    }
    if sell.counterparty.is_some() || buy.counterparty.is_some() {
        return Some(0);
    }
    match (&sell.trade_id, &buy.trade_id) {
        (Some(_), Some(_)) => Some(1),
        (None, None) => ((sell.ts - buy.ts).abs() <= match_nanos
            && sell.qty == buy.qty
            && sell.price == buy.price)
            .then_some(2),
        _ => None,
    }
}

/// Takes the first fill waiting on the other side that `matches` the new `fill` (called as
/// `matches(waiting, fill)`) and returns both with how they matched; with none, `fill` waits
/// on its own side (the oldest dropped when full).
fn take_match(
    other: &mut VecDeque<FillSeen>,
    own: &mut VecDeque<FillSeen>,
    fill: FillSeen,
    matches: impl Fn(&FillSeen, &FillSeen) -> Option<usize>,
) -> Option<(FillSeen, FillSeen, usize)> {
    let found = other
        .iter()
        .enumerate()
        .find_map(|(i, waiting)| matches(waiting, &fill).map(|how| (i, how)));
    match found {
        Some((i, how)) => Some((other.remove(i)?, fill, how)),
        None => {
            if own.len() == FILLS_PER_SYMBOL_MAX {
                own.pop_front();
            }
            own.push_back(fill);
            None
        }
    }
}

/// How a match was made, by [`MatchNote::how`].
pub(super) const HOW: [&str; 3] = ["counterparty", "trade id", "timing"];

impl SymbolState {
    /// Keeps the state of the window; false when nothing is left to keep.
    fn sweep(&mut self, now: i64, window: i64) -> bool {
        self.expire(now, window);
        self.accumulators
            .retain(|a| a.last_ts >= now.saturating_sub(ACCUMULATOR_IDLE_NANOS));
        !(self.buyers.is_empty() && self.accumulators.is_empty())
    }

    /// Drops the buyers and waiting fills the window left behind; a campaign with no buyer
    /// left is over (the next takeover-like buyer starts a new one).
    fn expire(&mut self, now: i64, window: i64) {
        let cutoff = now.saturating_sub(window);
        self.buyers.retain(|b| b.last_ts >= cutoff);
        if self.buyers.is_empty() {
            self.alerted_accounts = 0;
            self.campaign_start = None;
        }
        self.buyer_fills.retain(|f| f.ts >= cutoff);
        self.seller_fills.retain(|f| f.ts >= cutoff);
    }

    /// Whether a takeover-like buyer bought within the window before `now`.
    pub fn has_live_buyers(&self, now: i64, window: i64) -> bool {
        let cutoff = now.saturating_sub(window);
        self.buyers.iter().any(|b| b.last_ts >= cutoff)
    }

    fn buyer(&self, account: &Id) -> Option<&Buyer> {
        self.buyers.iter().find(|b| b.account == *account)
    }

    pub fn accumulator(&self, account: &Id) -> Option<&Accumulator> {
        self.accumulators.iter().find(|a| a.account == *account)
    }

    pub fn accumulator_mut(&mut self, account: &Id) -> Option<&mut Accumulator> {
        self.accumulators.iter_mut().find(|a| a.account == *account)
    }

    /// A takeover-like buy order of the symbol entered or replaced. The first buyer that
    /// counts starts the campaign and fixes what each earlier buyer held before it.
    #[allow(clippy::too_many_arguments)]
    pub fn note_buyer(
        &mut self,
        c: &BuyingConfig,
        account: &Id,
        order_id: &Id,
        ts: i64,
        value: f64,
        sold_before: f64,
        margin: bool,
        session: Session,
    ) {
        self.expire(ts, c.window_secs as i64 * 1_000_000_000);
        match self.buyers.iter_mut().find(|b| b.account == *account) {
            Some(b) => {
                let full = b.orders.len() >= ORDERS_PER_BUYER_MAX;
                match b.orders.iter_mut().find(|(id, _)| id == order_id) {
                    Some((_, v)) => *v = value,
                    None if !full => b.orders.push((order_id.clone(), value)),
                    None => {}
                }
                b.last_ts = ts;
                b.sold_before = b.sold_before.max(sold_before);
                b.margin |= margin;
                if session != Session::Clean {
                    b.session = session;
                }
            }
            None => {
                if self.buyers.len() == BUYERS_PER_SYMBOL_MAX {
                    self.buyers.remove(0);
                }
                self.buyers.push(Buyer {
                    account: account.clone(),
                    first_order: order_id.clone(),
                    first_ts: ts,
                    last_ts: ts,
                    session,
                    orders: vec![(order_id.clone(), value)],
                    sold_before,
                    margin,
                });
            }
        }
        let counts = self.buyer(account).is_some_and(|b| b.counts(c));
        if self.campaign_start.is_none() && counts {
            self.campaign_start = Some(ts);
            for a in &mut self.accumulators {
                a.pre_qty = a.bought_qty;
                a.pre_value = a.bought_value;
            }
        }
    }

    /// A campaign buyer's buy order cancelled: it no longer counts toward its value.
    pub fn cancel_buy(&mut self, account: &Id, order_id: &Id) {
        if let Some(b) = self.buyers.iter_mut().find(|b| b.account == *account) {
            b.orders.retain(|(id, _)| id != order_id);
        }
    }

    /// A buy fill: a campaign buyer's is matched to an earlier buyer's waiting sell (or waits
    /// itself); anyone else's makes them an earlier buyer.
    pub fn note_buy_fill(
        &mut self,
        c: &BuyingConfig,
        fill: FillSeen,
        match_nanos: i64,
    ) -> Option<Matched> {
        self.expire(fill.ts, c.window_secs as i64 * 1_000_000_000);
        match self.buyer(&fill.account) {
            None => {
                self.accumulate(&fill);
                return None;
            }
            Some(b) if !b.counts(c) => return None,
            Some(_) => {}
        }
        let (sell, buy, how) = take_match(
            &mut self.seller_fills,
            &mut self.buyer_fills,
            fill,
            |sell, buy| how_matched(sell, buy, match_nanos),
        )?;
        self.record(&sell, &buy.account, how)
    }

    /// A sell fill of an earlier buyer while a campaign runs: matched to a campaign buyer's
    /// waiting buy (or waits itself).
    pub fn note_sell_fill(
        &mut self,
        c: &BuyingConfig,
        fill: FillSeen,
        match_nanos: i64,
    ) -> Option<Matched> {
        self.expire(fill.ts, c.window_secs as i64 * 1_000_000_000);
        let before_campaign = self.campaign_start.is_none();
        let seller = self.accumulator_mut(&fill.account)?;
        if before_campaign {
            // Sold before the campaign: no longer held when it begins.
            let qty = fill.qty.min(seller.bought_qty);
            if seller.bought_qty > 0 {
                seller.bought_value -= seller.bought_value * qty as f64 / seller.bought_qty as f64;
            }
            seller.bought_qty -= qty;
            seller.last_ts = fill.ts;
            return None;
        }
        let (buy, sell, how) = take_match(
            &mut self.buyer_fills,
            &mut self.seller_fills,
            fill,
            |buy, sell| how_matched(sell, buy, match_nanos),
        )?;
        self.record(&sell, &buy.account, how)
    }

    fn accumulate(&mut self, fill: &FillSeen) {
        let value = fill.price * fill.qty as f64;
        if let Some(a) = self.accumulator_mut(&fill.account) {
            a.bought_qty = a.bought_qty.saturating_add(fill.qty);
            a.bought_value += value;
            a.last_ts = fill.ts;
            return;
        }
        if self.accumulators.len() == ACCUMULATORS_PER_SYMBOL_MAX {
            // Full: the smallest earlier buyer makes room for a larger one.
            let smallest = self
                .accumulators
                .iter()
                .enumerate()
                .filter(|(_, a)| a.sold_into.is_empty())
                .min_by(|(_, a), (_, b)| {
                    a.bought_value
                        .total_cmp(&b.bought_value)
                        .then_with(|| a.account.cmp(&b.account))
                })
                .map(|(i, a)| (i, a.bought_value));
            match smallest {
                Some((i, v)) if v < value => {
                    self.accumulators.remove(i);
                }
                _ => return,
            }
        }
        self.accumulators.push(Accumulator {
            account: fill.account.clone(),
            bought_qty: fill.qty,
            bought_value: value,
            first_buy_ts: fill.ts,
            last_ts: fill.ts,
            pre_qty: 0,
            pre_value: 0.0,
            sold_into: Vec::new(),
            sold_qty: 0,
            sold_value: 0.0,
            matched_by: [0; 3],
            matches: Vec::new(),
            alerted: false,
        });
    }

    /// Counts a sell matched to a campaign buyer against its seller.
    fn record(&mut self, sell: &FillSeen, buyer: &Id, how: usize) -> Option<Matched> {
        let seller = self.accumulator_mut(&sell.account)?;
        if let Err(at) = seller.sold_into.binary_search(buyer) {
            if seller.sold_into.len() < SOLD_INTO_MAX {
                seller.sold_into.insert(at, buyer.clone());
            }
        }
        seller.sold_qty = seller.sold_qty.saturating_add(sell.qty);
        seller.sold_value += sell.price * sell.qty as f64;
        seller.matched_by[how] += 1;
        seller.last_ts = sell.ts;
        if seller.matches.len() == MATCHES_PER_SELLER_MAX {
            seller.matches.remove(0);
        }
        seller.matches.push(MatchNote {
            ts: sell.ts,
            exec_id: sell.exec_id.clone(),
            buyer: buyer.clone(),
            qty: sell.qty,
            price: sell.price,
            how: how as u8,
        });
        Some(Matched {
            seller: sell.account.clone(),
            exec_id: sell.exec_id.clone(),
        })
    }
}
