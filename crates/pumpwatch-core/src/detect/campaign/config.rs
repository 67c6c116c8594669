//! The config sections `[rules.coordinated_thin_buying]` and `[rules.pre_positioned_seller]`:
//! their fields, defaults and validation.

use serde::{Deserialize, Serialize};

use crate::config::{check, ConfigError};

/// `coordinated_thin_buying`: several takeover-like accounts buying the same thin symbol in one
/// window — a symbol campaign. One alert when the campaign is found, naming its target symbols
/// and every account; another each time `update_every_accounts` more accounts join it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BuyingConfig {
    pub enabled: bool,
    /// The window (s) in which the buyers' sells and buys must fall.
    pub window_secs: u64,
    /// Distinct takeover-like buyers of one symbol in the window that make a campaign.
    pub accounts_min: usize,
    /// A buyer counts when its buy orders of the symbol in the window are worth at least this
    /// (yen)...
    pub buy_value_min: f64,
    /// ...and it sold at least this much (yen) of other symbols in the window before — or its
    /// buys are on margin. That is what makes a buyer takeover-like.
    pub sold_value_min: f64,
    /// ...and its buys of the symbol are worth at least this share of what it sold (the
    /// proceeds go into the target; margin buyers excepted).
    pub spend_of_sold_min: f64,
    /// After the first alert, another when this many more accounts have joined.
    pub update_every_accounts: usize,
    /// Thin: a normal daily traded value below this (yen)...
    pub thin_adv_value_max: f64,
    /// ...or a market capitalisation below this (yen)...
    pub thin_market_cap_max: f64,
    /// ...or, with neither known, a price at or below this.
    pub low_price_max: f64,
    /// A symbol not thin by size still counts while it runs: up this much on its previous
    /// close, on a day volume already its normal daily volume.
    pub running_change_min: f64,
}

impl Default for BuyingConfig {
    fn default() -> Self {
        BuyingConfig {
            enabled: true,
            window_secs: 7_200,
            accounts_min: 3,
            buy_value_min: 300_000.0,
            sold_value_min: 1_000_000.0,
            spend_of_sold_min: 0.3,
            update_every_accounts: 5,
            thin_adv_value_max: 50_000_000.0,
            thin_market_cap_max: 5_000_000_000.0,
            low_price_max: 500.0,
            running_change_min: 0.2,
        }
    }
}

/// `pre_positioned_seller`: a beneficiary — an account that bought a campaign's target before
/// the campaign began and sells it to the campaign's buyers, found through matched executions
/// (`counterparty_account_id`, a shared `trade_id`) or, when a feed has neither, through fills
/// at the same price and quantity within `match_window_ms`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SellersConfig {
    pub enabled: bool,
    /// The seller bought at least this much (yen) of the symbol before the campaign's first
    /// takeover-like buy...
    pub pre_position_value_min: f64,
    /// ...and sold to at least this many distinct campaign buyers...
    pub buyers_min: usize,
    /// ...at least this much (yen) in all.
    pub sold_value_min: f64,
    /// Fills without a trade id or counterparty are matched when their times are this close
    /// (ms) and their price and quantity equal.
    pub match_window_ms: u64,
}

impl Default for SellersConfig {
    fn default() -> Self {
        SellersConfig {
            enabled: true,
            pre_position_value_min: 1_000_000.0,
            buyers_min: 2,
            sold_value_min: 500_000.0,
            match_window_ms: 1_000,
        }
    }
}

fn amount(value: f64, field: &'static str) -> Result<(), ConfigError> {
    check(
        value >= 0.0 && value.is_finite(),
        field,
        "must be a non-negative amount",
    )
}

impl BuyingConfig {
    pub fn validate(&self) -> Result<(), ConfigError> {
        let r = self;
        check(
            (60..=86_400).contains(&r.window_secs),
            "rules.coordinated_thin_buying.window_secs",
            "must be between 60 and 86400",
        )?;
        check(
            (2..=1_000).contains(&r.accounts_min),
            "rules.coordinated_thin_buying.accounts_min",
            "must be between 2 and 1000",
        )?;
        amount(
            r.buy_value_min,
            "rules.coordinated_thin_buying.buy_value_min",
        )?;
        amount(
            r.sold_value_min,
            "rules.coordinated_thin_buying.sold_value_min",
        )?;
        check(
            (0.0..=10.0).contains(&r.spend_of_sold_min),
            "rules.coordinated_thin_buying.spend_of_sold_min",
            "must be between 0 and 10",
        )?;
        check(
            (1..=1_000).contains(&r.update_every_accounts),
            "rules.coordinated_thin_buying.update_every_accounts",
            "must be between 1 and 1000",
        )?;
        check(
            r.thin_adv_value_max > 0.0,
            "rules.coordinated_thin_buying.thin_adv_value_max",
            "must be positive",
        )?;
        check(
            r.thin_market_cap_max > 0.0,
            "rules.coordinated_thin_buying.thin_market_cap_max",
            "must be positive",
        )?;
        amount(
            r.low_price_max,
            "rules.coordinated_thin_buying.low_price_max",
        )?;
        check(
            r.running_change_min > 0.0 && r.running_change_min.is_finite(),
            "rules.coordinated_thin_buying.running_change_min",
            "must be a positive fraction",
        )
    }
}

impl SellersConfig {
    pub fn validate(&self) -> Result<(), ConfigError> {
        let r = self;
        amount(
            r.pre_position_value_min,
            "rules.pre_positioned_seller.pre_position_value_min",
        )?;
        check(
            (1..=1_000).contains(&r.buyers_min),
            "rules.pre_positioned_seller.buyers_min",
            "must be between 1 and 1000",
        )?;
        amount(
            r.sold_value_min,
            "rules.pre_positioned_seller.sold_value_min",
        )?;
        check(
            r.match_window_ms <= 60_000,
            "rules.pre_positioned_seller.match_window_ms",
            "must be at most 60000",
        )
    }
}
