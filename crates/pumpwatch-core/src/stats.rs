//! Counters the engine keeps about itself, read by the CLI summary and by metrics exporters.
//! Labels are bounded: event types and rule ids, never an account or symbol.

use std::collections::BTreeMap;

use pumpwatch_model::EventType;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EngineStats {
    /// Events processed, by type (indexed by `EventType::index`).
    pub processed_by_type: [u64; 7],
    /// Events rejected as later than the lateness bound.
    pub late: u64,
    /// Alerts raised, by rule id.
    pub alerts_by_rule: BTreeMap<String, u64>,
    /// Events released from the reorder buffer before their time because it was full.
    pub reorder_forced: u64,
    /// The most events that waited in the reorder buffer at once.
    pub reorder_depth_max: usize,
    pub accounts_tracked: usize,
    pub accounts_evicted: u64,
    pub symbols_tracked: usize,
    /// Events skipped because `symbols_max` was reached.
    pub symbols_over_limit: u64,
    /// Holdings not kept because an account reached `holdings_per_account_max`.
    pub holdings_dropped: u64,
    /// Orders, fills and login notes pushed out of a full per-account window.
    pub window_items_dropped: u64,
    /// Buyers not remembered because a symbol's distinct-buyer set of the day was full.
    pub buyers_dropped: u64,
    /// IPs and devices remembered for linking accounts' logins (each engine of a split holds
    /// them all).
    pub shared_login_keys: usize,
    /// IPs and devices forgotten over `shared_login_keys_max` while still in the window.
    pub shared_login_keys_dropped: u64,
}

/// What one limit on state turned away (see [`EngineStats::limit_hits`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LimitHits {
    /// The limit, a fixed label (its `engine.*` setting where it has one).
    pub limit: &'static str,
    /// What it turned away, for a sentence: "{hits} {what}".
    pub what: &'static str,
    pub hits: u64,
}

impl EngineStats {
    /// Every limit on state with what it turned away, in a fixed order: the summary's
    /// `limits hit` and the live `pumpwatch_limit_hits` read this one list.
    pub fn limit_hits(&self) -> [LimitHits; 7] {
        let hit = |limit, what, hits| LimitHits { limit, what, hits };
        [
            hit(
                "reorder_events_max",
                "events released before their time (engine.reorder_events_max)",
                self.reorder_forced,
            ),
            hit(
                "accounts_max",
                "accounts evicted (engine.accounts_max)",
                self.accounts_evicted,
            ),
            hit(
                "symbols_max",
                "events skipped over engine.symbols_max",
                self.symbols_over_limit,
            ),
            hit(
                "holdings_per_account_max",
                "holdings not kept (engine.holdings_per_account_max)",
                self.holdings_dropped,
            ),
            hit(
                "account_window",
                "orders, fills or logins pushed out of a full account window",
                self.window_items_dropped,
            ),
            hit(
                "buyers_per_symbol",
                "buyers not remembered over a symbol's distinct-buyer limit",
                self.buyers_dropped,
            ),
            hit(
                "shared_login_keys_max",
                "login IPs or devices forgotten (engine.shared_login_keys_max)",
                self.shared_login_keys_dropped,
            ),
        ]
    }

    pub fn processed(&self, event_type: EventType) -> u64 {
        self.processed_by_type[event_type.index()]
    }

    pub fn processed_total(&self) -> u64 {
        self.processed_by_type.iter().sum()
    }

    pub fn alerts_total(&self) -> u64 {
        self.alerts_by_rule.values().sum()
    }
}
