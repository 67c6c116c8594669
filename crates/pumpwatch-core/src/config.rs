//! Engine and rule configuration: every field documented here is the user documentation of
//! `config/default.toml`; unknown fields are rejected and values are validated at start-up.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub use crate::detect::RulesConfig;

/// Everything that changes which alerts the engine raises.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EngineConfig {
    #[serde(default)]
    pub engine: EngineSettings,
    #[serde(default)]
    pub rules: RulesConfig,
}

/// Event-time handling and the limits on state.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EngineSettings {
    /// How far (ms) an event may arrive behind the newest event time seen and still be processed
    /// in order. Later events are counted and quarantined as late.
    pub lateness_ms: u64,
    /// The same for start-of-day `position` and `cash` rows. A broker's overnight export
    /// stamps every row with one snapshot instant and nothing earlier follows it, so 0 lets a
    /// snapshot of any size stream through as it is read; an event earlier than a snapshot row
    /// that came before it is late.
    pub snapshot_lateness_ms: u64,
    /// At most this many events wait in the reorder buffer; past it the oldest are released
    /// early (counted as `reorder_forced` and reported), which bounds memory on a stalled
    /// watermark; an event that then arrives behind a forced one is late.
    pub reorder_events_max: usize,
    /// At most this many accounts are tracked; past it the least recently active are evicted.
    pub accounts_max: usize,
    /// At most this many symbols are tracked; events for further symbols are counted and skipped.
    pub symbols_max: usize,
    /// Orders kept per account (newest first) for the sliding windows and evidence, and as
    /// many fills.
    pub orders_per_account_max: usize,
    /// Holdings kept per account (start-of-day plus bought intraday).
    pub holdings_per_account_max: usize,
    /// Length of one trading session day in seconds (TSE: 09:00–11:30 and 12:30–15:30 = 5 h),
    /// used to turn intraday volume into a daily-volume baseline.
    pub session_secs: u64,
    /// Countries (ISO 3166 alpha-2) the broker's customers normally log in from.
    pub home_countries: Vec<String>,
    /// Autonomous systems of hosting, VPS, cloud and proxy providers: a login from one is no
    /// customer's home or mobile line. The default lists large providers; a broker would load
    /// its threat-intelligence vendor's list here.
    pub hosting_asns: Vec<u32>,
    /// Logins from one IP or device are linked across accounts within this window (s): shared
    /// attacker infrastructure.
    pub shared_login_window_secs: u64,
    /// At most this many IPs and devices are remembered for those links; past it the least
    /// recently used are forgotten (counted as `shared_login_keys_dropped` and reported).
    pub shared_login_keys_max: usize,
}

/// Well-known hosting and cloud networks (AWS, Google Cloud, Microsoft, DigitalOcean, OVH,
/// Hetzner, Linode, Vultr, Sakura Internet, GMO, Alibaba, Tencent, Oracle, Contabo, M247,
/// Leaseweb).
pub const DEFAULT_HOSTING_ASNS: [u32; 21] = [
    16509, 14618, 396982, 8075, 14061, 16276, 24940, 63949, 20473, 9370, 7684, 7506, 45102, 37963,
    132203, 45090, 31898, 51167, 9009, 60781, 28753,
];

impl Default for EngineSettings {
    fn default() -> Self {
        EngineSettings {
            lateness_ms: 2_000,
            snapshot_lateness_ms: 0,
            reorder_events_max: 1_000_000,
            accounts_max: 20_000_000,
            symbols_max: 200_000,
            orders_per_account_max: 256,
            holdings_per_account_max: 256,
            session_secs: 18_000,
            home_countries: vec!["JP".to_string()],
            hosting_asns: DEFAULT_HOSTING_ASNS.to_vec(),
            shared_login_window_secs: 7_200,
            shared_login_keys_max: 2_000_000,
        }
    }
}

/// A configuration value that cannot work, named by its path in the TOML file.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("config field `{field}`: {why}")]
pub struct ConfigError {
    pub field: &'static str,
    pub why: String,
}

/// `Ok` when `ok`, else the error `why` for `field`.
pub(crate) fn check(ok: bool, field: &'static str, why: &str) -> Result<(), ConfigError> {
    if ok {
        Ok(())
    } else {
        Err(ConfigError {
            field,
            why: why.to_string(),
        })
    }
}

/// A share in (0, 1].
pub(crate) fn fraction(value: f64, field: &'static str) -> Result<(), ConfigError> {
    check(value > 0.0 && value <= 1.0, field, "must be in (0, 1]")
}

impl EngineConfig {
    /// Checks every value; the first bad one is returned with its field path.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let e = &self.engine;
        check(
            e.lateness_ms <= 3_600_000,
            "engine.lateness_ms",
            "must be at most one hour (3600000)",
        )?;
        check(
            e.snapshot_lateness_ms <= 3_600_000,
            "engine.snapshot_lateness_ms",
            "must be at most one hour (3600000)",
        )?;
        check(
            e.reorder_events_max >= 1,
            "engine.reorder_events_max",
            "must be at least 1",
        )?;
        check(
            e.accounts_max >= 1,
            "engine.accounts_max",
            "must be at least 1",
        )?;
        check(
            e.symbols_max >= 1,
            "engine.symbols_max",
            "must be at least 1",
        )?;
        check(
            e.orders_per_account_max >= 8,
            "engine.orders_per_account_max",
            "must be at least 8",
        )?;
        check(
            e.holdings_per_account_max >= 1,
            "engine.holdings_per_account_max",
            "must be at least 1",
        )?;
        check(
            (3_600..=86_400).contains(&e.session_secs),
            "engine.session_secs",
            "must be between 3600 and 86400",
        )?;
        check(
            e.home_countries
                .iter()
                .all(|c| c.len() == 2 && c.bytes().all(|b| b.is_ascii_uppercase())),
            "engine.home_countries",
            "must be ISO 3166 alpha-2 codes such as \"JP\"",
        )?;
        check(
            (60..=7 * 86_400).contains(&e.shared_login_window_secs),
            "engine.shared_login_window_secs",
            "must be between 60 and 604800",
        )?;
        check(
            e.shared_login_keys_max >= 1,
            "engine.shared_login_keys_max",
            "must be at least 1",
        )?;
        self.rules.validate()
    }

    /// A short hash of everything that shapes alerts: equal configs give equal versions, so an
    /// alert names the exact configuration that produced it.
    pub fn version(&self) -> String {
        let canonical = serde_json_canonical(self);
        let digest = Sha256::digest(canonical.as_bytes());
        digest.iter().take(8).map(|b| format!("{b:02x}")).collect()
    }
}

/// The config in a stable textual form: JSON in the structs' field order.
fn serde_json_canonical(config: &EngineConfig) -> String {
    serde_json::to_string(config).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_versioned() {
        let config = EngineConfig::default();
        config.validate().unwrap();
        assert_eq!(config.version().len(), 16);
        let mut other = config.clone();
        other.rules.ato_liquidation_thin_buy.window_secs = 3_600;
        assert_ne!(config.version(), other.version());
    }

    #[test]
    fn a_bad_value_is_named_by_its_path() {
        let mut config = EngineConfig::default();
        config
            .rules
            .ato_liquidation_thin_buy
            .liquidation_fraction_min = 1.5;
        let err = config.validate().unwrap_err();
        assert_eq!(
            err.field,
            "rules.ato_liquidation_thin_buy.liquidation_fraction_min"
        );
    }

    #[test]
    fn a_typo_fails_to_parse_with_the_field_name() {
        let err =
            toml::from_str::<EngineConfig>("[rules.ato_liquidation_thin_buy]\nwindow_sec = 60\n")
                .unwrap_err();
        assert!(err.to_string().contains("window_sec"), "{err}");
    }
}
