//! The config section `[rules.ato_liquidation_thin_buy]`: its fields, defaults and validation.

use serde::{Deserialize, Serialize};

use crate::config::{check, fraction, ConfigError};

/// `ato_liquidation_thin_buy`: an account sells most of its portfolio within a window and spends
/// the proceeds (or margin buying power) on thin symbols it did not hold. Fires at the entry of
/// the buy order that completes the pattern.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub enabled: bool,
    /// The sliding window (s) in which the sells and the buys must fall.
    pub window_secs: u64,
    /// Sell orders in the window worth at least this share of the start-of-day portfolio
    /// (valued at last prices) make a liquidation. 0 < x ≤ 1.
    pub liquidation_fraction_min: f64,
    /// Buys of thin symbols new to the account worth at least this share of the sale proceeds.
    pub spend_of_proceeds_min: f64,
    /// Or: margin buys of thin new symbols worth at least this share of the portfolio value
    /// (the margin-funded variant, where little is sold).
    pub margin_spend_of_portfolio_min: f64,
    /// Margin-funded case only: the thin buys must also be at least this share of the symbol's
    /// normal daily volume (an order far from anything a customer normally places).
    pub margin_adv_share_min: f64,
    /// The thin buys must be worth at least this much (yen), whatever the ratios.
    pub buy_value_min: f64,
    /// A symbol is thin when its normal daily traded value (yen) is below this...
    pub thin_adv_value_max: f64,
    /// ...or its market capitalisation (yen) is below this.
    pub thin_market_cap_max: f64,
    /// With no volume baseline and no market cap known, a symbol priced at or below this is
    /// treated as thin. Also a score booster: the 2025 targets were priced ¥100–200.
    pub low_price_max: f64,
    /// A symbol that is not thin by size still counts as a target while it is running: up at
    /// least this fraction on its previous close (0.2 = +20%)...
    pub running_change_min: f64,
    /// ...on a day volume already at least this multiple of its normal volume for the time of
    /// day (the normal daily volume pro-rated to the share of the session since the symbol's
    /// first print). A pump can lift a mid-sized name out of the thin range; 0 turns the
    /// running test off.
    pub running_volume_of_adv_min: f64,
    /// Intraday volume must have been observed for this long (s) before it is trusted as a
    /// baseline when the instrument gives no `adv_shares`.
    pub learned_baseline_min_secs: u64,
    /// Identity points (new device 10, new network 6, hosting network 8, abroad 8 — the three
    /// network signals together at most 12 —, no MFA 8, failed logins 5, account change 8,
    /// unseen session 10, shared infrastructure 10) that make a login context strong, one of
    /// the signals about where the session came from.
    pub strong_login_points_min: f64,
    /// With a strong login context a smaller liquidation is enough (the partial liquidation)...
    pub strong_login_liquidation_fraction_min: f64,
    /// ...a smaller share of the proceeds spent (so the first thin buy is caught; also the
    /// share of portfolio and cash that margin buys must reach, with no size against the
    /// symbol's volume)...
    pub strong_login_spend_of_proceeds_min: f64,
    /// ...and a smaller buy value (yen).
    pub strong_login_buy_value_min: f64,
    /// From an ordinary login (the owner's usual device and network, or a clean first login,
    /// with nothing suspicious) the pattern is a customer's own choice: it alerts (low) only
    /// when the buys are at least this multiple of the symbol's normal daily volume, big
    /// enough to move the price on their own. An unknown volume never reaches it.
    pub ordinary_login_adv_share_min: f64,
    /// `ato_session_liquidation`: with a strong login context, sells worth this share of the
    /// start-of-day portfolio raise an alert before any buy (0 turns it off)...
    pub session_liquidation_fraction_min: f64,
    /// ...when they are worth at least this (yen).
    pub session_sold_value_min: f64,
    /// `ato_session_liquidation` recommends more than `notify_customer` only from this many
    /// identity points: at the bare strong minimum (a trip abroad without a second factor
    /// looks the same) the customer is asked first, and a thin buy escalates.
    pub session_step_up_login_points_min: f64,
    /// After an alert, the same account does not alert again under the same rule for this
    /// long (s).
    pub realert_secs: u64,
    /// Alerts scoring at least this recommend `hold_orders`...
    pub hold_orders_score_min: u8,
    /// ...at least this `step_up_auth`; below it `notify_customer` (ask the owner).
    pub step_up_auth_score_min: u8,
    /// At most this many evidence entries per alert (the trigger is always included).
    pub evidence_max: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            enabled: true,
            window_secs: 10_800,
            liquidation_fraction_min: 0.5,
            spend_of_proceeds_min: 0.3,
            margin_spend_of_portfolio_min: 0.3,
            margin_adv_share_min: 0.2,
            buy_value_min: 1_000_000.0,
            thin_adv_value_max: 50_000_000.0,
            thin_market_cap_max: 5_000_000_000.0,
            low_price_max: 500.0,
            running_change_min: 0.2,
            running_volume_of_adv_min: 1.0,
            learned_baseline_min_secs: 1_800,
            strong_login_points_min: 16.0,
            strong_login_liquidation_fraction_min: 0.1,
            strong_login_spend_of_proceeds_min: 0.05,
            strong_login_buy_value_min: 300_000.0,
            ordinary_login_adv_share_min: 1.0,
            session_liquidation_fraction_min: 0.1,
            session_sold_value_min: 500_000.0,
            session_step_up_login_points_min: 20.0,
            realert_secs: 10_800,
            hold_orders_score_min: 65,
            step_up_auth_score_min: 40,
            evidence_max: 40,
        }
    }
}

impl Config {
    /// Checks every value; the first bad one is returned with its field path.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let r = self;
        check(
            (60..=86_400).contains(&r.window_secs),
            "rules.ato_liquidation_thin_buy.window_secs",
            "must be between 60 and 86400",
        )?;
        fraction(
            r.liquidation_fraction_min,
            "rules.ato_liquidation_thin_buy.liquidation_fraction_min",
        )?;
        check(
            r.spend_of_proceeds_min > 0.0 && r.spend_of_proceeds_min <= 10.0,
            "rules.ato_liquidation_thin_buy.spend_of_proceeds_min",
            "must be in (0, 10]",
        )?;
        check(
            r.margin_spend_of_portfolio_min > 0.0 && r.margin_spend_of_portfolio_min <= 10.0,
            "rules.ato_liquidation_thin_buy.margin_spend_of_portfolio_min",
            "must be in (0, 10]",
        )?;
        check(
            r.margin_adv_share_min >= 0.0,
            "rules.ato_liquidation_thin_buy.margin_adv_share_min",
            "must not be negative",
        )?;
        check(
            r.buy_value_min >= 0.0 && r.buy_value_min.is_finite(),
            "rules.ato_liquidation_thin_buy.buy_value_min",
            "must be a non-negative amount",
        )?;
        check(
            r.thin_adv_value_max > 0.0,
            "rules.ato_liquidation_thin_buy.thin_adv_value_max",
            "must be positive",
        )?;
        check(
            r.thin_market_cap_max > 0.0,
            "rules.ato_liquidation_thin_buy.thin_market_cap_max",
            "must be positive",
        )?;
        check(
            r.low_price_max >= 0.0,
            "rules.ato_liquidation_thin_buy.low_price_max",
            "must not be negative",
        )?;
        check(
            r.running_change_min > 0.0 && r.running_change_min.is_finite(),
            "rules.ato_liquidation_thin_buy.running_change_min",
            "must be a positive fraction",
        )?;
        check(
            r.running_volume_of_adv_min >= 0.0 && r.running_volume_of_adv_min.is_finite(),
            "rules.ato_liquidation_thin_buy.running_volume_of_adv_min",
            "must not be negative (0 turns the running test off)",
        )?;
        check(
            r.learned_baseline_min_secs <= 86_400,
            "rules.ato_liquidation_thin_buy.learned_baseline_min_secs",
            "must be at most 86400",
        )?;
        check(
            r.realert_secs <= 7 * 86_400,
            "rules.ato_liquidation_thin_buy.realert_secs",
            "must be at most a week (604800)",
        )?;
        check(
            r.strong_login_points_min > 0.0 && r.strong_login_points_min <= 100.0,
            "rules.ato_liquidation_thin_buy.strong_login_points_min",
            "must be in (0, 100]",
        )?;
        fraction(
            r.strong_login_liquidation_fraction_min,
            "rules.ato_liquidation_thin_buy.strong_login_liquidation_fraction_min",
        )?;
        check(
            r.strong_login_spend_of_proceeds_min > 0.0
                && r.strong_login_spend_of_proceeds_min <= 10.0,
            "rules.ato_liquidation_thin_buy.strong_login_spend_of_proceeds_min",
            "must be in (0, 10]",
        )?;
        check(
            r.strong_login_buy_value_min >= 0.0 && r.strong_login_buy_value_min.is_finite(),
            "rules.ato_liquidation_thin_buy.strong_login_buy_value_min",
            "must be a non-negative amount",
        )?;
        check(
            r.ordinary_login_adv_share_min >= 0.0 && r.ordinary_login_adv_share_min.is_finite(),
            "rules.ato_liquidation_thin_buy.ordinary_login_adv_share_min",
            "must not be negative",
        )?;
        check(
            r.session_step_up_login_points_min >= 0.0
                && r.session_step_up_login_points_min <= 100.0,
            "rules.ato_liquidation_thin_buy.session_step_up_login_points_min",
            "must be between 0 and 100 (at or below strong_login_points_min: never capped)",
        )?;
        check(
            (0.0..=1.0).contains(&r.session_liquidation_fraction_min),
            "rules.ato_liquidation_thin_buy.session_liquidation_fraction_min",
            "must be between 0 (off) and 1",
        )?;
        check(
            r.session_sold_value_min >= 0.0 && r.session_sold_value_min.is_finite(),
            "rules.ato_liquidation_thin_buy.session_sold_value_min",
            "must be a non-negative amount",
        )?;
        check(
            r.hold_orders_score_min <= 100,
            "rules.ato_liquidation_thin_buy.hold_orders_score_min",
            "must be at most 100",
        )?;
        check(
            r.step_up_auth_score_min <= r.hold_orders_score_min,
            "rules.ato_liquidation_thin_buy.step_up_auth_score_min",
            "must be at most hold_orders_score_min",
        )?;
        check(
            (1..=1_000).contains(&r.evidence_max),
            "rules.ato_liquidation_thin_buy.evidence_max",
            "must be between 1 and 1000",
        )?;
        Ok(())
    }
}
