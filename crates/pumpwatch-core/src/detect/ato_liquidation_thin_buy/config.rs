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
    /// Intraday volume must have been observed for this long (s) before it is trusted as a
    /// baseline when the instrument gives no `adv_shares`.
    pub learned_baseline_min_secs: u64,
    /// After an alert, the same account does not alert again for this long (s).
    pub realert_secs: u64,
    /// Alerts scoring at least this recommend `hold_orders`; below it `step_up_auth`.
    pub hold_orders_score_min: u8,
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
            learned_baseline_min_secs: 1_800,
            realert_secs: 10_800,
            hold_orders_score_min: 50,
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
            r.hold_orders_score_min <= 100,
            "rules.ato_liquidation_thin_buy.hold_orders_score_min",
            "must be at most 100",
        )?;
        check(
            (1..=1_000).contains(&r.evidence_max),
            "rules.ato_liquidation_thin_buy.evidence_max",
            "must be between 1 and 1000",
        )?;
        Ok(())
    }
}
