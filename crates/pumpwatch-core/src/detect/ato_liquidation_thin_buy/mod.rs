//! `ato_liquidation_thin_buy`: the account-takeover pump pattern of 2025 — an account sells
//! most of its portfolio within a window and spends the proceeds (or margin buying power) on thin
//! symbols it did not hold. Evaluated at the entry of each buy order, so the alert arrives while
//! the rest of the attacker's orders can still be held.
//!
//! Its own state is the time of each account's last alert (no account alerts twice within
//! `realert_secs`); everything else it reads is the engine's shared account and symbol state.

mod config;
mod explain;

use std::collections::BTreeMap;

use pumpwatch_model::{Action, Alert, Decimal, Feature, Severity, Side, Timestamp};
use rust_decimal::prelude::ToPrimitive;
use rustc_hash::FxHashMap;

pub use self::config::Config;
use super::{alert_id, Rule, Shared};
use crate::account::{AccountState, OrderLeg};
use crate::market::{Liquidity, Market};
use crate::snapshot::SnapshotError;

pub const RULE: &str = "ato_liquidation_thin_buy";

const NANOS_PER_SEC: i64 = 1_000_000_000;
/// The last-alert map is pruned of entries past `realert_secs` when it grows past this.
const LAST_ALERTS_PRUNE_AT: usize = 4_096;

/// The rule and its state.
#[derive(Clone, Debug)]
pub struct AtoLiquidationThinBuy {
    config: Config,
    /// Account number → event time (UTC nanos) of its last alert.
    last_alert: FxHashMap<u32, i64>,
}

impl AtoLiquidationThinBuy {
    pub fn new(config: Config) -> Self {
        AtoLiquidationThinBuy {
            config,
            last_alert: FxHashMap::default(),
        }
    }

    fn alerted_recently(&self, account: u32, now_nanos: i64) -> bool {
        self.last_alert
            .get(&account)
            .is_some_and(|t| now_nanos - t < self.config.realert_secs as i64 * NANOS_PER_SEC)
    }

    fn note_alert(&mut self, account: u32, now_nanos: i64) {
        if self.last_alert.len() >= LAST_ALERTS_PRUNE_AT {
            let realert = self.config.realert_secs as i64 * NANOS_PER_SEC;
            self.last_alert.retain(|_, t| now_nanos - *t < realert);
        }
        self.last_alert.insert(account, now_nanos);
    }
}

impl Rule for AtoLiquidationThinBuy {
    fn name(&self) -> &'static str {
        RULE
    }

    fn history_secs(&self) -> u64 {
        self.config.window_secs
    }

    /// The last-alert map as its entries sorted by account.
    fn save_state(&self) -> Vec<u8> {
        let mut last_alert: Vec<(u32, i64)> =
            self.last_alert.iter().map(|(a, t)| (*a, *t)).collect();
        last_alert.sort_unstable();
        postcard::to_stdvec(&last_alert).expect("a list of integers serializes")
    }

    fn restore_state(&mut self, bytes: &[u8]) -> Result<(), SnapshotError> {
        let last_alert: Vec<(u32, i64)> = postcard::from_bytes(bytes)?;
        self.last_alert = last_alert.into_iter().collect();
        Ok(())
    }

    fn on_order(
        &mut self,
        shared: &Shared<'_>,
        account: &AccountState,
        index: usize,
        now: Timestamp,
        alerts: &mut Vec<Alert>,
    ) {
        if self.alerted_recently(account.number, now.utc_nanos) {
            return;
        }
        let ctx = Context {
            config: &self.config,
            session_secs: shared.settings.session_secs,
            config_version: shared.config_version,
        };
        if let Some(alert) = evaluate(&ctx, account, shared.market, index, now) {
            self.note_alert(account.number, now.utc_nanos);
            alerts.push(alert);
        }
    }
}

/// What the evaluation needs besides the account and the market.
#[derive(Clone, Copy, Debug)]
struct Context<'a> {
    config: &'a Config,
    session_secs: u64,
    config_version: &'a str,
}

/// A thin symbol the account bought in the window without having held it.
#[derive(Clone, Debug)]
pub(super) struct Target {
    symbol: u32,
    qty: u64,
    value: Decimal,
    liquidity: Liquidity,
    /// The lowest and highest limit price of its buy orders (none when all were market orders).
    limits: Option<(Decimal, Decimal)>,
    /// Whether any of its buy orders was a market order.
    market_orders: bool,
}

impl Target {
    /// Counts one buy order's limit price (`None`: a market order).
    fn note_limit(&mut self, limit: Option<Decimal>) {
        match (limit, self.limits) {
            (None, _) => self.market_orders = true,
            (Some(p), None) => self.limits = Some((p, p)),
            (Some(p), Some((low, high))) => self.limits = Some((low.min(p), high.max(p))),
        }
    }
}

/// The measurements of the pattern at one moment.
#[derive(Debug, Default)]
pub(super) struct Measures {
    portfolio_value: Decimal,
    sold_value: Decimal,
    sell_orders: usize,
    first_sell_nanos: Option<i64>,
    thin_buy_value: Decimal,
    margin_thin_buy_value: Decimal,
    thin_buy_orders: usize,
    targets: Vec<Target>,
    aggressive_buys: usize,
    unseen_session: bool,
}

pub(super) fn to_f64(value: Decimal) -> f64 {
    value.to_f64().unwrap_or(0.0)
}

impl Context<'_> {
    fn window_nanos(&self) -> i64 {
        self.config.window_secs as i64 * NANOS_PER_SEC
    }

    fn liquidity(&self, market: &Market, symbol: u32, now: Timestamp) -> Liquidity {
        let cutoff = now.utc_nanos - self.window_nanos();
        market.get(symbol).liquidity(
            now,
            cutoff,
            self.config.learned_baseline_min_secs,
            self.session_secs,
        )
    }

    /// Thin: a small normal daily traded value or a small market cap; with neither known, a low
    /// price stands in.
    fn is_thin(&self, liquidity: &Liquidity) -> bool {
        let c = self.config;
        let by_value = liquidity
            .adv_value
            .is_some_and(|v| v < c.thin_adv_value_max);
        let by_cap = liquidity
            .market_cap
            .is_some_and(|v| v < c.thin_market_cap_max);
        let by_price = liquidity.adv_value.is_none()
            && liquidity.market_cap.is_none()
            && liquidity.price.is_some_and(|p| p <= c.low_price_max);
        by_value || by_cap || by_price
    }
}

/// The value an order leg stands for: its limit price, or the symbol's mark for market orders.
pub(super) fn leg_value(leg: &OrderLeg, qty: u64, market: &Market) -> Decimal {
    let price = leg
        .price
        .filter(|_| !leg.market_order)
        .or_else(|| market.get(leg.symbol).mark())
        .unwrap_or(Decimal::ZERO);
    price * Decimal::from(qty)
}

fn measure(ctx: &Context<'_>, account: &AccountState, market: &Market, now: Timestamp) -> Measures {
    let cutoff = now.utc_nanos - ctx.window_nanos();
    let mut m = Measures::default();
    for h in account.holdings.iter().filter(|h| h.sod_qty > 0) {
        if let Some(mark) = market.get(h.symbol).mark() {
            m.portfolio_value += mark * Decimal::from(h.sod_qty);
        }
    }
    // Sells count up to what was held at the start of the day, symbol by symbol.
    let mut sold_qty: Vec<(u32, i64)> = Vec::new();
    for (ts, leg) in account.orders().iter().filter(|(ts, _)| *ts >= cutoff) {
        let qty = leg.live_qty();
        if qty == 0 {
            continue;
        }
        let sod_qty = account.holding(leg.symbol).map_or(0, |h| h.sod_qty);
        match leg.side {
            Side::Sell if sod_qty > 0 => {
                let sold = match sold_qty.iter_mut().find(|(s, _)| *s == leg.symbol) {
                    Some((_, sold)) => sold,
                    None => {
                        sold_qty.push((leg.symbol, 0));
                        &mut sold_qty.last_mut().expect("just pushed").1
                    }
                };
                let take = (qty as i64).min(sod_qty - *sold).max(0);
                *sold += take;
                if take > 0 {
                    m.sold_value += leg_value(leg, take as u64, market);
                    m.sell_orders += 1;
                    m.first_sell_nanos.get_or_insert(*ts);
                }
            }
            Side::Buy if sod_qty <= 0 => {
                let liquidity = match m.targets.iter().find(|t| t.symbol == leg.symbol) {
                    Some(t) => t.liquidity,
                    None => ctx.liquidity(market, leg.symbol, now),
                };
                if !ctx.is_thin(&liquidity) {
                    continue;
                }
                let value = leg_value(leg, qty, market);
                m.thin_buy_value += value;
                m.thin_buy_orders += 1;
                if leg.margin {
                    m.margin_thin_buy_value += value;
                }
                m.unseen_session |= leg.unseen_session;
                let last = market.get(leg.symbol).last_price();
                if let (Some(limit), Some(last), false) = (leg.price, last, leg.market_order) {
                    if limit > last {
                        m.aggressive_buys += 1;
                    }
                }
                let limit = leg.price.filter(|_| !leg.market_order);
                match m.targets.iter_mut().find(|t| t.symbol == leg.symbol) {
                    Some(t) => {
                        t.qty += qty;
                        t.value += value;
                        t.note_limit(limit);
                    }
                    None => {
                        let mut target = Target {
                            symbol: leg.symbol,
                            qty,
                            value,
                            liquidity,
                            limits: None,
                            market_orders: false,
                        };
                        target.note_limit(limit);
                        m.targets.push(target);
                    }
                }
            }
            _ => {}
        }
    }
    m
}

/// Evaluates the rule at the entry of the order at `trigger_index` in the account's window.
fn evaluate(
    ctx: &Context<'_>,
    account: &AccountState,
    market: &Market,
    trigger_index: usize,
    now: Timestamp,
) -> Option<Alert> {
    let c = ctx.config;
    let (_, trigger) = account.orders().iter().nth(trigger_index)?;
    if trigger.side != Side::Buy || trigger.cancelled {
        return None;
    }
    // Cheap rejections first: most buys are of liquid names or names already held.
    if account
        .holding(trigger.symbol)
        .is_some_and(|h| h.sod_qty > 0)
    {
        return None;
    }
    if !ctx.is_thin(&ctx.liquidity(market, trigger.symbol, now)) {
        return None;
    }
    // The account's window may reach back further than this rule's (another rule's history).
    let cutoff = now.utc_nanos - ctx.window_nanos();
    let has_sells_or_margin = account
        .orders()
        .iter()
        .any(|(ts, l)| *ts >= cutoff && (l.side == Side::Sell || l.margin));
    if !has_sells_or_margin {
        return None;
    }

    let m = measure(ctx, account, market, now);
    let portfolio = to_f64(m.portfolio_value);
    let sold = to_f64(m.sold_value);
    let thin_buys = to_f64(m.thin_buy_value);
    let margin_buys = to_f64(m.margin_thin_buy_value);
    let base_for_margin = portfolio + to_f64(account.sod_cash).max(0.0);
    let liquidated = if portfolio > 0.0 {
        sold / portfolio
    } else {
        0.0
    };
    let spend_of_proceeds = if sold > 0.0 { thin_buys / sold } else { 0.0 };
    let margin_share = if base_for_margin > 0.0 {
        margin_buys / base_for_margin
    } else {
        0.0
    };
    let adv_share = m
        .targets
        .iter()
        .filter_map(|t| {
            t.liquidity
                .adv_shares
                .filter(|a| *a > 0.0)
                .map(|a| t.qty as f64 / a)
        })
        .fold(0.0, f64::max);

    let funded_by_sales =
        liquidated >= c.liquidation_fraction_min && spend_of_proceeds >= c.spend_of_proceeds_min;
    let funded_by_margin =
        margin_share >= c.margin_spend_of_portfolio_min && adv_share >= c.margin_adv_share_min;
    if !(funded_by_sales || funded_by_margin) || thin_buys < c.buy_value_min {
        return None;
    }

    let identity = Identity::read(
        account,
        now.utc_nanos - ctx.window_nanos(),
        m.unseen_session,
    );
    let (score, score_parts) = score(
        c,
        &m,
        liquidated,
        spend_of_proceeds,
        margin_share,
        adv_share,
        funded_by_sales,
        &identity,
    );
    let mut targets = m.targets.clone();
    targets.sort_by(|a, b| {
        b.value.cmp(&a.value).then_with(|| {
            market
                .get(a.symbol)
                .symbol()
                .cmp(market.get(b.symbol).symbol())
        })
    });
    let main = &targets[0];
    let main_symbol = market.get(main.symbol);

    // The conditions of the funding path that fired are shown against their thresholds; the
    // other path's measures are information, so no condition shows as not met.
    let condition = |on_path: bool, value: f64, threshold: f64| {
        if on_path {
            Feature::at_least(value, threshold)
        } else {
            Feature::info(value)
        }
    };
    let mut features = BTreeMap::new();
    features.insert(
        "liquidated_fraction".into(),
        condition(
            funded_by_sales,
            round4(liquidated),
            c.liquidation_fraction_min,
        ),
    );
    features.insert(
        "spend_of_proceeds".into(),
        condition(
            funded_by_sales,
            round4(spend_of_proceeds),
            c.spend_of_proceeds_min,
        ),
    );
    features.insert(
        "margin_spend_of_portfolio".into(),
        condition(
            !funded_by_sales,
            round4(margin_share),
            c.margin_spend_of_portfolio_min,
        ),
    );
    features.insert(
        "thin_buy_value".into(),
        Feature::at_least(thin_buys.round(), c.buy_value_min),
    );
    features.insert(
        "thin_buy_adv_share".into(),
        condition(!funded_by_sales, round4(adv_share), c.margin_adv_share_min),
    );
    features.insert(
        "funded_by_sales".into(),
        Feature::info(f64::from(u8::from(funded_by_sales))),
    );
    // The score's breakdown: its points by factor, which add up to it before rounding and the
    // cap at 100.
    for (factor, points) in &score_parts {
        features.insert(format!("score_{factor}"), Feature::info(round4(*points)));
    }
    // How far the highest limit on the main target sits above its last price.
    if let (Some((_, high)), Some(last)) = (main.limits, main_symbol.last_price()) {
        if let Some(ratio) = high.checked_div(last).filter(|_| last > Decimal::ZERO) {
            features.insert(
                "target_limit_over_market".into(),
                Feature::info(round4(to_f64(ratio) - 1.0)),
            );
        }
    }
    features.insert("portfolio_value".into(), Feature::info(portfolio.round()));
    features.insert("sold_value".into(), Feature::info(sold.round()));
    features.insert("sell_orders".into(), Feature::info(m.sell_orders as f64));
    features.insert(
        "thin_buy_orders".into(),
        Feature::info(m.thin_buy_orders as f64),
    );
    features.insert(
        "aggressive_buy_orders".into(),
        Feature::info(m.aggressive_buys as f64),
    );
    features.insert("window_secs".into(), Feature::info(c.window_secs as f64));
    // Thin is any one of: a small traded value, a small market cap, or (with neither known) a
    // low price. The measures that made it thin are shown as conditions, the rest as
    // information.
    let thin_by = |value: f64, max: f64| {
        if value < max {
            Feature::at_most(value, max)
        } else {
            Feature::info(value)
        }
    };
    if let Some(v) = main.liquidity.adv_value {
        features.insert(
            "target_adv_value".into(),
            thin_by(v.round(), c.thin_adv_value_max),
        );
    }
    if let Some(v) = main.liquidity.market_cap {
        features.insert(
            "target_market_cap".into(),
            thin_by(v.round(), c.thin_market_cap_max),
        );
    }
    if let Some(p) = main.liquidity.price {
        let by_price = main.liquidity.adv_value.is_none() && main.liquidity.market_cap.is_none();
        features.insert(
            "target_price".into(),
            if by_price {
                Feature::at_most(p, c.low_price_max)
            } else {
                Feature::info(p)
            },
        );
    }
    if let Some(change) = main_symbol.change_vs_prev_close() {
        features.insert(
            "target_change_vs_prev_close".into(),
            Feature::info(round4(change)),
        );
    }
    features.insert(
        "target_distinct_buyers_today".into(),
        Feature::info(main_symbol.distinct_buyers_today() as f64),
    );
    features.insert(
        "new_device_login".into(),
        Feature::info(f64::from(u8::from(identity.new_device))),
    );
    features.insert(
        "foreign_login".into(),
        Feature::info(f64::from(u8::from(identity.foreign))),
    );
    features.insert(
        "login_without_mfa".into(),
        Feature::info(f64::from(u8::from(identity.mfa_none))),
    );
    features.insert(
        "account_change".into(),
        Feature::info(f64::from(u8::from(identity.account_change))),
    );
    features.insert(
        "unseen_session".into(),
        Feature::info(f64::from(u8::from(identity.unseen_session))),
    );

    let account_id = account.id.to_string();
    let mut symbols: Vec<String> = targets
        .iter()
        .map(|t| market.get(t.symbol).symbol().to_string())
        .collect();
    symbols.sort();
    let summary = explain::summary(
        &account_id,
        &m,
        &targets,
        market,
        liquidated,
        spend_of_proceeds,
        margin_share,
        adv_share,
        funded_by_sales,
        trigger,
        now,
    );
    let severity = Severity::from_score(score);
    let action = if score >= c.hold_orders_score_min {
        Action::HoldOrders
    } else {
        Action::StepUpAuth
    };
    Some(Alert {
        alert_id: alert_id(RULE, &account_id, &trigger.order_id, now.utc_nanos),
        rule: RULE.to_string(),
        ts: now,
        score,
        severity,
        account_ids: vec![account_id],
        symbols,
        summary,
        evidence: explain::evidence(ctx, account, market, &targets, trigger, now),
        features,
        action,
        config_version: ctx.config_version.to_string(),
    })
}

fn round4(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
}

/// Identity signals in the window: how the account was reached.
#[derive(Debug, Default)]
struct Identity {
    new_device: bool,
    foreign: bool,
    mfa_none: bool,
    account_change: bool,
    unseen_session: bool,
}

impl Identity {
    fn read(account: &AccountState, cutoff: i64, unseen_session: bool) -> Self {
        let mut identity = Identity {
            unseen_session,
            ..Identity::default()
        };
        for (_, note) in account.auth().iter().filter(|(ts, _)| *ts >= cutoff) {
            identity.new_device |= note.new_device;
            identity.foreign |= note.foreign_country;
            identity.mfa_none |= note.mfa_none;
            identity.account_change |= note.action.is_account_change();
        }
        identity
    }
}

/// 0–100: a base for the pattern itself, more the further past each threshold, more for the
/// identity signals that usually come with a takeover.
#[allow(clippy::too_many_arguments)]
fn score(
    c: &Config,
    m: &Measures,
    liquidated: f64,
    spend_of_proceeds: f64,
    margin_share: f64,
    adv_share: f64,
    funded_by_sales: bool,
    identity: &Identity,
) -> (u8, Vec<(&'static str, f64)>) {
    let unit = |x: f64| x.clamp(0.0, 1.0);
    let mut parts: Vec<(&'static str, f64)> = vec![("base", 40.0)];
    if funded_by_sales {
        parts.push((
            "liquidation",
            15.0 * unit(
                (liquidated - c.liquidation_fraction_min)
                    / (1.0 - c.liquidation_fraction_min).max(1e-9),
            ),
        ));
        parts.push(("spend_of_proceeds", 10.0 * unit(spend_of_proceeds)));
    } else {
        parts.push(("margin_spend", 25.0 * unit(margin_share)));
    }
    parts.push(("volume_vs_normal", 10.0 * unit(adv_share)));
    if m.targets
        .iter()
        .any(|t| t.liquidity.price.is_some_and(|p| p <= c.low_price_max))
    {
        parts.push(("low_price_target", 5.0));
    }
    if m.aggressive_buys > 0 {
        parts.push(("limits_above_market", 3.0));
    }
    for (signal, name, points) in [
        (identity.new_device, "new_device", 8.0),
        (identity.foreign, "foreign_login", 5.0),
        (identity.mfa_none, "no_mfa", 5.0),
        (identity.account_change, "account_change", 5.0),
        (identity.unseen_session, "unseen_session", 4.0),
    ] {
        if signal {
            parts.push((name, points));
        }
    }
    let total: f64 = parts.iter().map(|(_, points)| points).sum();
    (total.round().clamp(0.0, 100.0) as u8, parts)
}
