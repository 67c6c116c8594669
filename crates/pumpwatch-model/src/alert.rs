//! Alerts as the contract defines them: what fired, when, how strongly, why (features with the
//! thresholds they crossed) and on what evidence.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::decimal::Decimal;
use crate::event::Side;
use crate::time::Timestamp;

#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    /// The severity band of a 0–100 score.
    pub fn from_score(score: u8) -> Self {
        match score {
            0..=39 => Severity::Low,
            40..=64 => Severity::Medium,
            65..=84 => Severity::High,
            _ => Severity::Critical,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

/// What the engine recommends the broker do.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    None,
    NotifyCustomer,
    StepUpAuth,
    HoldOrders,
}

/// One triggering event and its key numbers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Evidence {
    /// The event type (`order`, `execution`, `auth`, ...).
    #[serde(rename = "type")]
    pub kind: String,
    /// The event's id (`order_id`, `exec_id`; for auth events the session or device).
    pub id: String,
    pub ts: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub symbol: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub side: Option<Side>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qty: Option<u64>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::decimal::serde_number::option"
    )]
    #[schemars(with = "Option<f64>")]
    pub price: Option<Decimal>,
    /// qty × price in the instrument's currency.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::decimal::serde_number::option"
    )]
    #[schemars(with = "Option<f64>")]
    pub notional: Option<Decimal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub margin: Option<bool>,
    /// A short note: the auth action, "new device", "order type market", ...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// A named measurement and, when it is a condition of the rule, the threshold it was held to.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Feature {
    pub value: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold: Option<f64>,
    /// How value compares to threshold for the condition to hold: `>=` or `<=`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub op: Option<String>,
    /// Whether the condition held (absent for informational features).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crossed: Option<bool>,
}

impl Feature {
    /// An informational measurement with no threshold.
    pub fn info(value: f64) -> Self {
        Feature {
            value,
            threshold: None,
            op: None,
            crossed: None,
        }
    }

    /// A condition `value >= threshold`.
    pub fn at_least(value: f64, threshold: f64) -> Self {
        Feature {
            value,
            threshold: Some(threshold),
            op: Some(">=".into()),
            crossed: Some(value >= threshold),
        }
    }

    /// A condition `value <= threshold`.
    pub fn at_most(value: f64, threshold: f64) -> Self {
        Feature {
            value,
            threshold: Some(threshold),
            op: Some("<=".into()),
            crossed: Some(value <= threshold),
        }
    }
}

/// One alert, exactly the contract's fields.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Alert {
    /// Deterministic: the same input and config give the same ids, in replay and live.
    pub alert_id: String,
    /// The stable rule id, e.g. `ato_liquidation_thin_buy`.
    pub rule: String,
    /// The event time at which it fired.
    pub ts: Timestamp,
    /// 0–100.
    #[schemars(range(max = 100))]
    pub score: u8,
    pub severity: Severity,
    /// The accounts it names (empty for symbol-level alerts).
    pub account_ids: Vec<String>,
    /// The symbols it names.
    pub symbols: Vec<String>,
    /// One plain sentence an analyst can read.
    pub summary: String,
    /// The triggering events with their key numbers.
    pub evidence: Vec<Evidence>,
    /// Named measurements with the thresholds they were held to.
    pub features: BTreeMap<String, Feature>,
    /// The recommended action.
    pub action: Action,
    /// A hash of the rule configuration that produced it.
    pub config_version: String,
}

impl Alert {
    /// The JSON Schema (2020-12) of an alert, generated from these types: the alert feed's
    /// contract for its consumers (`crates/pumpwatch-model/alert.schema.json`).
    pub fn json_schema() -> serde_json::Value {
        serde_json::to_value(schemars::schema_for!(Alert)).unwrap_or_default()
    }
}

impl Alert {
    /// The alert as one NDJSON line (without the line break).
    pub fn to_json_line(&self) -> String {
        // Only strings, integers and finite floats: serializing cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }
}
