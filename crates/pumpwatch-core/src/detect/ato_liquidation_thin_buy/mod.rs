//! `ato_liquidation_thin_buy`: the account-takeover pump pattern of 2025 — an account sells
//! most of its portfolio within a window and spends the proceeds (or margin buying power) on thin
//! symbols it did not hold. Evaluated at the entry of each buy order, so the alert arrives while
//! the rest of the attacker's orders can still be held.
//!
//! With a strong login context (see [`identity`]) it also raises `ato_session_liquidation`
//! at the sell orders, before any buy, and takes a smaller liquidation and a first thin buy as
//! enough.
//!
//! Its own state is the time of each account's last alert of each of its two rule ids (no
//! account alerts twice under one within `realert_secs`); everything else it reads is the
//! engine's shared account, symbol and login state.

mod config;
mod explain;
mod identity;
mod session;

use std::collections::BTreeMap;

use pumpwatch_model::{Action, Alert, Decimal, Feature, Severity, Side, Timestamp};
use rust_decimal::prelude::ToPrimitive;
use rustc_hash::FxHashMap;

pub use self::config::Config;
use self::identity::Identity;
use super::format::round4;
use super::{alert_id, Rule, Shared};
use crate::account::{AccountState, OrderLeg};
use crate::market::{Liquidity, Market};
use crate::snapshot::SnapshotError;

pub const RULE: &str = "ato_liquidation_thin_buy";
/// The alert of a liquidation under a suspicious login, before any buy.
pub const SESSION_RULE: &str = "ato_session_liquidation";

const NANOS_PER_SEC: i64 = 1_000_000_000;
/// The last-alert map is pruned of entries past `realert_secs` when it grows past this.
const LAST_ALERTS_PRUNE_AT: usize = 4_096;

/// The rule and its state.
#[derive(Clone, Debug)]
pub struct AtoLiquidationThinBuy {
    config: Config,
    /// Account number → event time (UTC nanos) of its last alert.
    last_alert: FxHashMap<u32, i64>,
    /// The same for `ato_session_liquidation`.
    last_session_alert: FxHashMap<u32, i64>,
}

impl AtoLiquidationThinBuy {
    pub fn new(config: Config) -> Self {
        AtoLiquidationThinBuy {
            config,
            last_alert: FxHashMap::default(),
            last_session_alert: FxHashMap::default(),
        }
    }
}

fn alerted_recently(last: &FxHashMap<u32, i64>, realert_secs: u64, account: u32, now: i64) -> bool {
    last.get(&account)
        .is_some_and(|t| now - t < realert_secs as i64 * NANOS_PER_SEC)
}

fn note_alert(last: &mut FxHashMap<u32, i64>, realert_secs: u64, account: u32, now: i64) {
    if last.len() >= LAST_ALERTS_PRUNE_AT {
        let realert = realert_secs as i64 * NANOS_PER_SEC;
        last.retain(|_, t| now - *t < realert);
    }
    last.insert(account, now);
}

/// A last-alert map as a snapshot stores it: (account number, UTC nanos), sorted.
type LastAlerts = Vec<(u32, i64)>;

fn sorted_entries(map: &FxHashMap<u32, i64>) -> LastAlerts {
    let mut entries: Vec<(u32, i64)> = map.iter().map(|(a, t)| (*a, *t)).collect();
    entries.sort_unstable();
    entries
}

impl Rule for AtoLiquidationThinBuy {
    fn name(&self) -> &'static str {
        RULE
    }

    fn rule_ids(&self) -> &'static [&'static str] {
        &[RULE, SESSION_RULE]
    }

    fn history_secs(&self) -> u64 {
        self.config.window_secs
    }

    /// The last-alert maps as their entries sorted by account.
    fn save_state(&self) -> Vec<u8> {
        let state = (
            sorted_entries(&self.last_alert),
            sorted_entries(&self.last_session_alert),
        );
        postcard::to_stdvec(&state).expect("lists of integers serialize")
    }

    fn restore_state(&mut self, bytes: &[u8]) -> Result<(), SnapshotError> {
        let (last_alert, last_session_alert): (LastAlerts, LastAlerts) =
            postcard::from_bytes(bytes)?;
        self.last_alert = last_alert.into_iter().collect();
        self.last_session_alert = last_session_alert.into_iter().collect();
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
        let Some((_, leg)) = account.orders().iter().nth(index) else {
            return;
        };
        let realert = self.config.realert_secs;
        let (last, stage): (_, StageFn) = match leg.side {
            Side::Buy => (&mut self.last_alert, evaluate),
            Side::Sell if self.config.session_liquidation_fraction_min > 0.0 => {
                (&mut self.last_session_alert, session::evaluate)
            }
            Side::Sell => return,
        };
        if alerted_recently(last, realert, account.number, now.utc_nanos) {
            return;
        }
        let ctx = Context {
            config: &self.config,
            session_secs: shared.settings.session_secs,
            config_version: shared.config_version,
        };
        if let Some(alert) = stage(&ctx, account, shared, index, now) {
            note_alert(last, realert, account.number, now.utc_nanos);
            alerts.push(alert);
        }
    }
}

/// One stage's evaluation at the entry of the order at an index of the account's window.
type StageFn = fn(&Context<'_>, &AccountState, &Shared<'_>, usize, Timestamp) -> Option<Alert>;

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
    /// Not thin by size: a target because it is running (see [`Context::is_running`]).
    running: bool,
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

    /// A target: thin, or running (see [`Context::is_running`]).
    fn is_target(&self, market: &Market, symbol: u32, liquidity: &Liquidity) -> bool {
        self.is_thin(liquidity) || self.is_running(market, symbol, liquidity)
    }

    /// Running: up `running_change_min` on the previous close on a day volume already
    /// `running_volume_of_adv_min` times the normal daily volume — a pump under way, whatever
    /// the symbol's size.
    fn is_running(&self, market: &Market, symbol: u32, liquidity: &Liquidity) -> bool {
        let c = self.config;
        market
            .get(symbol)
            .is_running(liquidity, c.running_change_min, c.running_volume_of_adv_min)
    }

    /// Thin: a small normal daily traded value or a small market cap; with neither known, a low
    /// price stands in.
    fn is_thin(&self, liquidity: &Liquidity) -> bool {
        let c = self.config;
        liquidity.is_thin(c.thin_adv_value_max, c.thin_market_cap_max, c.low_price_max)
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
                if !ctx.is_target(market, leg.symbol, &liquidity) {
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
                            running: !ctx.is_thin(&liquidity),
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
    shared: &Shared<'_>,
    trigger_index: usize,
    now: Timestamp,
) -> Option<Alert> {
    let c = ctx.config;
    let market = shared.market;
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
    if !ctx.is_target(
        market,
        trigger.symbol,
        &ctx.liquidity(market, trigger.symbol, now),
    ) {
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

    let identity = Identity::read(
        account,
        shared.logins,
        cutoff,
        now.utc_nanos,
        m.unseen_session,
    );
    let thresholds = Thresholds::of(c, identity.strong(c.strong_login_points_min));
    let funded_by_sales = liquidated >= thresholds.liquidation_fraction_min
        && spend_of_proceeds >= thresholds.spend_of_proceeds_min;
    let funded_by_margin = margin_share >= thresholds.margin_spend_of_portfolio_min
        && adv_share >= thresholds.margin_adv_share_min;
    if !(funded_by_sales || funded_by_margin) || thin_buys < thresholds.buy_value_min {
        return None;
    }
    // From the owner's own ordinary login the pattern is a customer's choice, unless the buys
    // alone are big enough to move the symbol.
    let ordinary_login = identity.usual_only || identity.clean_only;
    if ordinary_login && adv_share < c.ordinary_login_adv_share_min {
        return None;
    }

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
            thresholds.liquidation_fraction_min,
        ),
    );
    features.insert(
        "spend_of_proceeds".into(),
        condition(
            funded_by_sales,
            round4(spend_of_proceeds),
            thresholds.spend_of_proceeds_min,
        ),
    );
    features.insert(
        "margin_spend_of_portfolio".into(),
        condition(
            !funded_by_sales,
            round4(margin_share),
            thresholds.margin_spend_of_portfolio_min,
        ),
    );
    features.insert(
        "thin_buy_value".into(),
        Feature::at_least(thin_buys.round(), thresholds.buy_value_min),
    );
    let adv_share_feature = if ordinary_login {
        Feature::at_least(round4(adv_share), c.ordinary_login_adv_share_min)
    } else {
        condition(
            !funded_by_sales,
            round4(adv_share),
            thresholds.margin_adv_share_min,
        )
    };
    features.insert("thin_buy_adv_share".into(), adv_share_feature);
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
        // Thin by price: what `Liquidity::is_thin` says when nothing else sizes the symbol.
        let by_price = main.liquidity.is_thin(0.0, 0.0, c.low_price_max);
        features.insert(
            "target_price".into(),
            if by_price {
                Feature::at_most(p, c.low_price_max)
            } else {
                Feature::info(p)
            },
        );
    }
    // A target that is not thin by size was taken as running: its rise and its day volume
    // are then the conditions.
    let running_only = !ctx.is_thin(&main.liquidity);
    if let Some(change) = main_symbol.change_vs_prev_close() {
        features.insert(
            "target_change_vs_prev_close".into(),
            if running_only {
                Feature::at_least(round4(change), c.running_change_min)
            } else {
                Feature::info(round4(change))
            },
        );
    }
    if let Some(adv) = main.liquidity.adv_shares.filter(|a| *a > 0.0) {
        let multiple = round4(main_symbol.day_volume() as f64 / adv);
        features.insert(
            "target_day_volume_of_adv".into(),
            if running_only {
                Feature::at_least(multiple, c.running_volume_of_adv_min)
            } else {
                Feature::info(multiple)
            },
        );
    }
    features.insert(
        "target_distinct_buyers_today".into(),
        Feature::info(main_symbol.distinct_buyers_today() as f64),
    );
    identity_features(&identity, &mut features);
    features.insert(
        "strong_login_context".into(),
        Feature::info(f64::from(u8::from(thresholds.strong_login))),
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
    let summary = format!("{summary}{}", explain::login_sentence(&identity));
    let severity = Severity::from_score(score);
    let action = action_for(c, score);
    let mut evidence = explain::evidence(ctx, account, market, &targets, trigger, now);
    evidence.extend(explain::linked_accounts(
        &identity,
        now,
        ctx.config.evidence_max,
    ));
    evidence.truncate(ctx.config.evidence_max);
    Some(Alert {
        alert_id: alert_id(RULE, &account_id, &trigger.order_id, now.utc_nanos),
        rule: RULE.to_string(),
        ts: now,
        score,
        severity,
        account_ids: vec![account_id],
        symbols,
        summary,
        evidence,
        features,
        action,
        config_version: ctx.config_version.to_string(),
    })
}

/// The funding thresholds in force: the configured ones, or the lower ones of a strong login
/// context.
#[derive(Clone, Copy, Debug)]
struct Thresholds {
    strong_login: bool,
    liquidation_fraction_min: f64,
    spend_of_proceeds_min: f64,
    buy_value_min: f64,
    margin_spend_of_portfolio_min: f64,
    margin_adv_share_min: f64,
}

impl Thresholds {
    fn of(c: &Config, strong_login: bool) -> Self {
        if strong_login {
            Thresholds {
                strong_login,
                liquidation_fraction_min: c.strong_login_liquidation_fraction_min,
                spend_of_proceeds_min: c.strong_login_spend_of_proceeds_min,
                buy_value_min: c.strong_login_buy_value_min,
                // Margin buys from such a session need no size against the symbol's volume.
                margin_spend_of_portfolio_min: c.strong_login_spend_of_proceeds_min,
                margin_adv_share_min: 0.0,
            }
        } else {
            Thresholds {
                strong_login,
                liquidation_fraction_min: c.liquidation_fraction_min,
                spend_of_proceeds_min: c.spend_of_proceeds_min,
                buy_value_min: c.buy_value_min,
                margin_spend_of_portfolio_min: c.margin_spend_of_portfolio_min,
                margin_adv_share_min: c.margin_adv_share_min,
            }
        }
    }
}

/// The recommended action of a score: hold the orders, ask for a second factor, or ask the
/// owner.
fn action_for(c: &Config, score: u8) -> Action {
    if score >= c.hold_orders_score_min {
        Action::HoldOrders
    } else if score >= c.step_up_auth_score_min {
        Action::StepUpAuth
    } else {
        Action::NotifyCustomer
    }
}

/// Each identity signal as a 0/1 feature, and how many accounts share the login's IP or device.
fn identity_features(identity: &Identity, features: &mut BTreeMap<String, Feature>) {
    let flag = |on: bool| Feature::info(f64::from(u8::from(on)));
    for (name, on) in [
        ("new_device_login", identity.new_device),
        ("new_network_login", identity.new_network),
        ("hosting_network_login", identity.hosting_network),
        ("foreign_login", identity.foreign),
        ("login_without_mfa", identity.mfa_none),
        ("failed_logins_before", identity.failed_logins),
        ("account_change", identity.account_change),
        ("unseen_session", identity.unseen_session),
        ("usual_login", identity.usual_only),
        ("clean_login", identity.clean_only),
        ("auth_seen", identity.any_auth),
    ] {
        features.insert(name.into(), flag(on));
    }
    features.insert(
        "shared_login_accounts".into(),
        Feature::info(identity.shared_with.len() as f64),
    );
}

/// 0–100: points for the pattern, more the further past each threshold, and the identity
/// signals' points (see [`identity`]); an ordinary login takes points off. With the default
/// thresholds the pattern's points are at most 56, so the pattern from the owner's usual
/// login (−17) stays low (notify the customer), the pattern with no login seen is medium at
/// most (step up authentication), and the pattern from a suspicious session reaches high or
/// critical (hold the orders).
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
    let mut parts: Vec<(&'static str, f64)> = vec![("base", 20.0)];
    if funded_by_sales {
        parts.push(("liquidation", 10.0 * unit(liquidated)));
        parts.push(("spend_of_proceeds", 8.0 * unit(spend_of_proceeds)));
    } else {
        parts.push(("margin_spend", 18.0 * unit(margin_share)));
    }
    parts.push(("volume_vs_normal", 8.0 * unit(adv_share)));
    if m.targets
        .iter()
        .any(|t| t.liquidity.price.is_some_and(|p| p <= c.low_price_max))
    {
        parts.push(("low_price_target", 3.0));
    }
    if m.targets.iter().any(|t| t.running) {
        parts.push(("running_target", 3.0));
    }
    if m.aggressive_buys > 0 {
        parts.push(("limits_above_market", 4.0));
    }
    parts.extend(identity.points());
    let total: f64 = parts.iter().map(|(_, points)| points).sum();
    (total.round().clamp(0.0, 100.0) as u8, parts)
}
