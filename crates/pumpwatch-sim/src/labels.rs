//! The ground truth written next to the events (`labels.json`) and read back by the evaluator.

use serde::{Deserialize, Serialize};

/// The whole `labels.json` document.
///
/// The account count is `accounts_total` because `accounts` is the list of
/// labelled accounts (one JSON object cannot have both under one name).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Labels {
    pub seed: u64,
    pub date: String,
    pub accounts_total: u32,
    pub symbols: u32,
    /// Accounts with at least one order that day.
    pub active_accounts: u32,
    pub campaigns: Vec<CampaignLabel>,
    /// Genuine news-driven rallies (their buyers are look-alikes).
    #[serde(default)]
    pub rallies: Vec<RallyLabel>,
    /// Organised pumps on the public tape alone (no account of the broker takes part).
    #[serde(default)]
    pub tape_pumps: Vec<TapePumpLabel>,
    /// Victims, perpetrators and look-alikes; every other account is ordinary.
    pub accounts: Vec<AccountLabel>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CampaignLabel {
    pub campaign_id: String,
    pub variant: String,
    pub target_symbols: Vec<String>,
    pub perpetrator_accounts: Vec<String>,
    pub victims: Vec<String>,
    /// Planned takeover window (RFC 3339).
    #[serde(default)]
    pub window_start: Option<String>,
    #[serde(default)]
    pub window_end: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TapePumpLabel {
    pub symbol: String,
    /// When the buying begins (RFC 3339).
    pub start: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RallyLabel {
    pub symbol: String,
    pub start: String,
    pub buyers: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AccountLabel {
    pub account_id: String,
    /// `victim`, `perpetrator` or `lookalike`.
    pub role: String,
    pub campaign_id: Option<String>,
    /// The campaign variant, or the look-alike kind.
    pub variant: String,
    /// First attacker event in the account (victims only).
    #[serde(default)]
    pub takeover_start: Option<String>,
    /// The attacker's first order in the account (victims only): where detection delay
    /// starts.
    #[serde(default)]
    pub first_takeover_order: Option<String>,
    #[serde(default)]
    pub first_takeover_buy: Option<String>,
    #[serde(default)]
    pub last_takeover_buy: Option<String>,
}
