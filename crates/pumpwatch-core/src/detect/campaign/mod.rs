//! The symbol side of a takeover wave, across accounts: `coordinated_thin_buying` (several
//! takeover-like accounts buying one thin symbol in a window: the campaign, with its targets
//! and every account) and `pre_positioned_seller` (the beneficiaries: accounts that bought the
//! target before the campaign and sell it to the campaign's buyers).
//!
//! These rules read every account's orders and fills, whoever owns the account, through the
//! all-accounts hooks that only the market's engine of a split runs; so their state lives in
//! that engine alone and a split raises exactly the alerts one engine raises.
//!
//! State, all bounded: each account's recent sells (what makes a buyer takeover-like), and per
//! symbol that has them the takeover-like buyers of the window, the accounts that bought it
//! earlier in the day, and the recent fills of both sides waiting to be matched.

mod config;
mod state;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use pumpwatch_model::{
    Action, Alert, Auth, AuthAction, Evidence, Execution, Feature, Id, Order, OrderAction,
    OrderType, Severity, Side, Timestamp,
};
use rust_decimal::prelude::ToPrimitive;

pub use self::config::{BuyingConfig, SellersConfig};
use self::state::{Buyer, FillSeen, LoginSeen, Matched, Session, State, SymbolState};
use super::format::{duration, round4, signed_percent, yen};
use super::{alert_id, Rule, Shared};
use crate::account::{fingerprint, LoginOrigin};
use crate::snapshot::SnapshotError;

pub const CAMPAIGN_RULE: &str = "coordinated_thin_buying";
pub const SELLER_RULE: &str = "pre_positioned_seller";

const NANOS_PER_SEC: i64 = 1_000_000_000;
/// Intraday volume observed this long (s) stands in for a symbol's normal daily volume when
/// the reference data gives none.
const LEARNED_BASELINE_MIN_SECS: u64 = 1_800;
/// At most this many evidence items per alert.
const EVIDENCE_MAX: usize = 40;

/// Both rules and their shared state.
#[derive(Debug)]
pub struct Campaigns {
    buying: BuyingConfig,
    sellers: SellersConfig,
    state: State,
}

impl Campaigns {
    pub fn new(buying: BuyingConfig, sellers: SellersConfig) -> Self {
        Campaigns {
            buying,
            sellers,
            state: State::default(),
        }
    }

    fn window_nanos(&self) -> i64 {
        self.buying.window_secs as i64 * NANOS_PER_SEC
    }

    /// Thin by size, or running: the symbols a campaign buys.
    fn is_target(&self, shared: &Shared<'_>, symbol: u32, now: Timestamp) -> bool {
        let view = shared.market.get(symbol);
        let liquidity = view.liquidity(
            now,
            now.utc_nanos.saturating_sub(self.window_nanos()),
            LEARNED_BASELINE_MIN_SECS,
            shared.settings.session_secs,
        );
        let c = &self.buying;
        liquidity.is_thin(c.thin_adv_value_max, c.thin_market_cap_max, c.low_price_max)
            || view.is_running(&liquidity, c.running_change_min, 1.0)
    }
}

/// An order's value: its limit, or the symbol's mark for a market order.
fn order_value(shared: &Shared<'_>, order: &Order, symbol: u32) -> f64 {
    let price = order
        .price
        .filter(|_| order.order_type != OrderType::Market)
        .or_else(|| shared.market.get(symbol).mark())
        .and_then(|p| p.to_f64())
        .unwrap_or(0.0);
    price * order.qty.unwrap_or(0) as f64
}

impl Rule for Campaigns {
    fn name(&self) -> &'static str {
        CAMPAIGN_RULE
    }

    fn rule_ids(&self) -> &'static [&'static str] {
        &[CAMPAIGN_RULE, SELLER_RULE]
    }

    fn history_secs(&self) -> u64 {
        0
    }

    fn uses_all_accounts(&self) -> bool {
        true
    }

    fn save_state(&self) -> Vec<u8> {
        postcard::to_stdvec(&self.state).expect("the campaign state serializes")
    }

    fn restore_state(&mut self, bytes: &[u8]) -> Result<(), SnapshotError> {
        self.state = postcard::from_bytes(bytes)?;
        Ok(())
    }

    fn on_any_auth(
        &mut self,
        shared: &Shared<'_>,
        auth: &Auth,
        now: Timestamp,
        _alerts: &mut Vec<Alert>,
    ) {
        if auth.action != AuthAction::LoginSuccess {
            return;
        }
        let window = self.window_nanos();
        self.state.note_login(
            &auth.account_id,
            LoginSeen {
                ts: now.utc_nanos,
                clean: LoginOrigin::of(auth, shared.settings).is_clean(),
                ip: auth.ip.as_deref().map(fingerprint),
                session: auth.session_id.as_deref().map(fingerprint),
            },
            window,
        );
    }

    fn on_any_order(
        &mut self,
        shared: &Shared<'_>,
        order: &Order,
        symbol: u32,
        now: Timestamp,
        alerts: &mut Vec<Alert>,
    ) {
        let window = self.window_nanos();
        self.state.sweep_now_and_then(now.utc_nanos, window);
        let value = order_value(shared, order, symbol);
        match order.side {
            Side::Sell => self.state.note_sell(
                &order.account_id,
                &order.order_id,
                order.action,
                symbol,
                now.utc_nanos,
                value,
                window,
            ),
            Side::Buy if order.action == OrderAction::Cancel => {
                if let Some(campaign) = self.state.symbols.get_mut(&symbol) {
                    campaign.cancel_buy(&order.account_id, &order.order_id);
                }
            }
            Side::Buy => {
                // A symbol stays a target while its campaign lives: a learned volume baseline
                // that grows with the pump must not end it halfway.
                let live = self
                    .state
                    .symbols
                    .get(&symbol)
                    .is_some_and(|s| s.has_live_buyers(now.utc_nanos, window));
                if !live && !self.is_target(shared, symbol, now) {
                    return;
                }
                let sold = self.state.sold_since(
                    &order.account_id,
                    symbol,
                    now.utc_nanos.saturating_sub(window),
                );
                let c = &self.buying;
                let takeover_like = sold >= c.sold_value_min || order.margin;
                if !takeover_like {
                    return;
                }
                let session = self.state.session_of(
                    &order.account_id,
                    order.ip.as_deref().map(fingerprint),
                    order.session_id.as_deref().map(fingerprint),
                    now.utc_nanos.saturating_sub(window),
                );
                if session == Session::Clean {
                    // The owner's own usual session: not a campaign buyer.
                    return;
                }
                let campaign = self.state.symbol_mut(symbol);
                campaign.note_buyer(
                    &self.buying,
                    &order.account_id,
                    &order.order_id,
                    now.utc_nanos,
                    value,
                    sold,
                    order.margin,
                    session,
                );
                if self.buying.enabled {
                    if let Some(alert) = self.campaign_alert(shared, symbol, &order.order_id, now) {
                        alerts.push(alert);
                    }
                }
            }
        }
    }

    fn on_any_execution(
        &mut self,
        shared: &Shared<'_>,
        fill: &Execution,
        symbol: u32,
        now: Timestamp,
        alerts: &mut Vec<Alert>,
    ) {
        let tracked = self.state.symbols.contains_key(&symbol);
        // A sell matters only on a symbol already followed; a buy starts following a target.
        if !tracked && (fill.side == Side::Sell || !self.is_target(shared, symbol, now)) {
            return;
        }
        let price = fill.price.to_f64().unwrap_or(0.0);
        let seen = FillSeen {
            ts: now.utc_nanos,
            account: fill.account_id.clone(),
            exec_id: fill.exec_id.clone(),
            trade_id: fill.trade_id.clone(),
            counterparty: fill.counterparty_account_id.clone(),
            qty: fill.qty,
            price,
        };
        let match_nanos = self.sellers.match_window_ms as i64 * 1_000_000;
        let campaign = self.state.symbol_mut(symbol);
        let matched = match fill.side {
            Side::Buy => campaign.note_buy_fill(&self.buying, seen, match_nanos),
            Side::Sell => campaign.note_sell_fill(&self.buying, seen, match_nanos),
        };
        if !self.sellers.enabled {
            return;
        }
        if let Some(matched) = matched {
            if let Some(alert) = self.seller_alert(shared, symbol, &matched, now) {
                alerts.push(alert);
            }
        }
    }
}

impl Campaigns {
    /// The campaign alert on `symbol`, when its takeover-like buyers of the window reach
    /// `accounts_min` (or `update_every_accounts` more than at its last alert).
    fn campaign_alert(
        &mut self,
        shared: &Shared<'_>,
        symbol: u32,
        trigger_order: &Id,
        now: Timestamp,
    ) -> Option<Alert> {
        let c = &self.buying;
        let cutoff = now.utc_nanos.saturating_sub(self.window_nanos());
        let campaign = self.state.symbols.get(&symbol)?;
        let buyers: Vec<&Buyer> = campaign
            .buyers
            .iter()
            .filter(|b| b.last_ts >= cutoff && b.counts(c))
            .collect();
        let due = match campaign.alerted_accounts {
            0 => buyers.len() >= c.accounts_min,
            n => buyers.len() >= n + c.update_every_accounts,
        };
        if !due {
            return None;
        }
        let mut accounts: Vec<String> = buyers.iter().map(|b| b.account.to_string()).collect();
        accounts.sort();
        // The campaign's other targets: thin symbols two or more of its buyers also bought.
        let mut symbols = vec![shared.market.get(symbol).symbol().to_string()];
        for (other, state) in &self.state.symbols {
            if *other == symbol {
                continue;
            }
            let shared_buyers = state
                .buyers
                .iter()
                .filter(|b| b.last_ts >= cutoff && buyers.iter().any(|x| x.account == b.account))
                .count();
            if shared_buyers >= 2 {
                symbols.push(shared.market.get(*other).symbol().to_string());
            }
        }
        symbols.sort();
        let view = shared.market.get(symbol);
        let total: f64 = buyers.iter().map(|b| b.value()).sum();
        let sold: f64 = buyers.iter().map(|b| b.sold_before).sum();
        let margin = buyers.iter().filter(|b| b.margin).count();
        let first = buyers
            .iter()
            .map(|b| b.first_ts)
            .min()
            .unwrap_or(now.utc_nanos);
        let update = campaign.alerted_accounts > 0;

        let mut features = BTreeMap::new();
        features.insert(
            "takeover_like_buyers".into(),
            Feature::at_least(buyers.len() as f64, c.accounts_min as f64),
        );
        features.insert("buy_value".into(), Feature::info(total.round()));
        features.insert("buyers_sold_before".into(), Feature::info(sold.round()));
        features.insert("margin_buyers".into(), Feature::info(margin as f64));
        for (name, session) in [
            ("buyers_after_unusual_login", Session::Unusual),
            ("buyers_from_other_session", Session::OtherThanLogin),
            ("buyers_with_no_login", Session::NoLogin),
        ] {
            let n = buyers.iter().filter(|b| b.session == session).count();
            features.insert(name.into(), Feature::info(n as f64));
        }
        features.insert("window_secs".into(), Feature::info(c.window_secs as f64));
        features.insert(
            "campaign_secs".into(),
            Feature::info(((now.utc_nanos - first) / NANOS_PER_SEC) as f64),
        );
        features.insert("target_symbols".into(), Feature::info(symbols.len() as f64));
        if let Some(change) = view.change_vs_prev_close() {
            features.insert(
                "target_change_vs_prev_close".into(),
                Feature::info(round4(change)),
            );
        }
        if let Some(adv) = view.adv_shares().filter(|a| *a > 0) {
            features.insert(
                "target_day_volume_of_adv".into(),
                Feature::info(round4(view.day_volume() as f64 / adv as f64)),
            );
        }
        // 60 at the minimum count, more with every further account, the size of the buys and a
        // price already running.
        let extra_accounts = (buyers.len() - c.accounts_min.min(buyers.len())) as f64;
        let mut parts: Vec<(&str, f64)> = vec![
            ("base", 60.0),
            ("accounts", (extra_accounts * 4.0).min(20.0)),
        ];
        if total >= 10.0 * c.buy_value_min {
            parts.push(("buy_value", 5.0));
        }
        if view
            .change_vs_prev_close()
            .is_some_and(|ch| ch >= c.running_change_min)
        {
            parts.push(("price_running", 10.0));
        }
        for (factor, points) in &parts {
            features.insert(format!("score_{factor}"), Feature::info(*points));
        }
        let score = parts
            .iter()
            .map(|(_, p)| p)
            .sum::<f64>()
            .round()
            .clamp(0.0, 100.0) as u8;

        let evidence: Vec<Evidence> = buyers
            .iter()
            .take(EVIDENCE_MAX)
            .map(|b| Evidence {
                kind: "order".into(),
                id: b.first_order.to_string(),
                ts: Timestamp {
                    utc_nanos: b.first_ts,
                    offset_secs: now.offset_secs,
                },
                account_id: Some(b.account.to_string()),
                symbol: Some(view.symbol().to_string()),
                side: Some(Side::Buy),
                qty: None,
                price: None,
                notional: rust_decimal::Decimal::from_f64_retain(b.value().round()),
                margin: b.margin.then_some(true),
                note: Some(format!(
                    "first buy of {} ({} orders, {}) {}; sold {} of other holdings before",
                    view.symbol(),
                    b.orders.len(),
                    yen(b.value()),
                    b.session.describe(),
                    yen(b.sold_before)
                )),
            })
            .collect();
        let change = view
            .change_vs_prev_close()
            .map(|ch| format!(", {} on its previous close", signed_percent(ch)))
            .unwrap_or_default();
        let targets = format!(
            "the thin or running symbol{} {}",
            if symbols.len() > 1 { "s" } else { "" },
            symbols.join(", ")
        );
        let summary = format!(
            "{}{} accounts that sold other holdings (or bought on margin) bought {targets} within {}: {} of buy orders{change}.{} Accounts: {}.",
            if update { "Campaign grows: " } else { "" },
            buyers.len(),
            duration((now.utc_nanos - first) / NANOS_PER_SEC),
            yen(total),
            if symbols.len() > 1 {
                " The same accounts bought the other targets named."
            } else {
                ""
            },
            accounts.join(", "),
        );
        let alert = Alert {
            alert_id: alert_id(CAMPAIGN_RULE, view.symbol(), trigger_order, now.utc_nanos),
            rule: CAMPAIGN_RULE.to_string(),
            ts: now,
            score,
            severity: Severity::from_score(score),
            account_ids: accounts,
            symbols,
            summary,
            evidence,
            features,
            action: Action::HoldOrders,
            config_version: shared.config_version.to_string(),
        };
        let count = buyers.len();
        if let Some(campaign) = self.state.symbols.get_mut(&symbol) {
            campaign.alerted_accounts = count;
        }
        Some(alert)
    }

    /// The beneficiary alert for the seller of a fill just matched to a campaign buyer, once
    /// per seller and symbol, when the seller had bought before the campaign and has now sold
    /// to enough of its buyers.
    fn seller_alert(
        &mut self,
        shared: &Shared<'_>,
        symbol: u32,
        matched: &Matched,
        now: Timestamp,
    ) -> Option<Alert> {
        let c = &self.sellers;
        let campaign: &mut SymbolState = self.state.symbols.get_mut(&symbol)?;
        let start = campaign.campaign_start?;
        let seller = campaign.accumulator(&matched.seller)?;
        if seller.alerted
            || seller.pre_value < c.pre_position_value_min
            || seller.sold_into.len() < c.buyers_min
            || seller.sold_value < c.sold_value_min
        {
            return None;
        }
        let view = shared.market.get(symbol);
        let seller = campaign.accumulator_mut(&matched.seller)?;
        seller.alerted = true;
        let seller = seller.clone();
        let avg_buy = if seller.pre_qty > 0 {
            seller.pre_value / seller.pre_qty as f64
        } else {
            0.0
        };
        let avg_sell = if seller.sold_qty > 0 {
            seller.sold_value / seller.sold_qty as f64
        } else {
            0.0
        };
        let mut features = BTreeMap::new();
        features.insert(
            "pre_position_value".into(),
            Feature::at_least(seller.pre_value.round(), c.pre_position_value_min),
        );
        features.insert(
            "campaign_buyers_sold_to".into(),
            Feature::at_least(seller.sold_into.len() as f64, c.buyers_min as f64),
        );
        features.insert(
            "sold_to_campaign_value".into(),
            Feature::at_least(seller.sold_value.round(), c.sold_value_min),
        );
        features.insert(
            "pre_position_qty".into(),
            Feature::info(seller.pre_qty as f64),
        );
        features.insert(
            "accumulated_before_campaign_secs".into(),
            Feature::info(((start - seller.first_buy_ts) / NANOS_PER_SEC) as f64),
        );
        if avg_buy > 0.0 {
            features.insert(
                "sell_over_buy_price".into(),
                Feature::info(round4(avg_sell / avg_buy - 1.0)),
            );
        }
        for (how, n) in [
            ("matched_by_counterparty", seller.matched_by[0]),
            ("matched_by_trade_id", seller.matched_by[1]),
            ("matched_by_timing", seller.matched_by[2]),
        ] {
            features.insert(how.into(), Feature::info(f64::from(n)));
        }
        let gain = seller.sold_value - avg_buy * seller.sold_qty as f64;
        let mut parts: Vec<(&str, f64)> = vec![("base", 60.0)];
        parts.push((
            "buyers_sold_to",
            ((seller.sold_into.len().saturating_sub(c.buyers_min)) as f64 * 3.0).min(15.0),
        ));
        if avg_buy > 0.0 && avg_sell >= avg_buy * 1.1 {
            parts.push(("sold_above_accumulation", 10.0));
        }
        if seller.matched_by[2] == 0 {
            parts.push(("matched_executions", 5.0));
        }
        for (factor, points) in &parts {
            features.insert(format!("score_{factor}"), Feature::info(*points));
        }
        let score = parts
            .iter()
            .map(|(_, p)| p)
            .sum::<f64>()
            .round()
            .clamp(0.0, 100.0) as u8;
        let mut evidence: Vec<Evidence> = seller
            .matches
            .iter()
            .rev()
            .take(EVIDENCE_MAX)
            .map(|m| Evidence {
                kind: "execution".into(),
                id: m.exec_id.to_string(),
                ts: Timestamp {
                    utc_nanos: m.ts,
                    offset_secs: now.offset_secs,
                },
                account_id: Some(seller.account.to_string()),
                symbol: Some(view.symbol().to_string()),
                side: Some(Side::Sell),
                qty: Some(m.qty),
                price: rust_decimal::Decimal::from_f64_retain(m.price),
                notional: rust_decimal::Decimal::from_f64_retain((m.price * m.qty as f64).round()),
                margin: None,
                note: Some(format!(
                    "sold to campaign buyer {} (matched by {})",
                    m.buyer,
                    state::HOW[usize::from(m.how).min(2)]
                )),
            })
            .collect();
        evidence.reverse();
        let summary = format!(
            "Account {} bought {} shares of {} ({}, avg ¥{:.0}) starting {} before the takeover-like buying began, then sold {} shares ({}, avg ¥{:.0}{}) to {} of the campaign's buyers: {}. Estimated gain {}.",
            seller.account,
            seller.pre_qty,
            view.symbol(),
            yen(seller.pre_value),
            avg_buy,
            duration((start - seller.first_buy_ts) / NANOS_PER_SEC),
            seller.sold_qty,
            yen(seller.sold_value),
            avg_sell,
            if avg_buy > 0.0 {
                format!(", {} on its buys", signed_percent(avg_sell / avg_buy - 1.0))
            } else {
                String::new()
            },
            seller.sold_into.len(),
            seller
                .sold_into
                .iter()
                .map(|a| a.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            yen(gain),
        );
        Some(Alert {
            alert_id: alert_id(
                SELLER_RULE,
                &seller.account,
                &matched.exec_id,
                now.utc_nanos,
            ),
            rule: SELLER_RULE.to_string(),
            ts: now,
            score,
            severity: Severity::from_score(score),
            account_ids: vec![seller.account.to_string()],
            symbols: vec![view.symbol().to_string()],
            summary,
            evidence,
            features,
            action: Action::HoldOrders,
            config_version: shared.config_version.to_string(),
        })
    }
}
