//! The config section `[rules.tape_pump]`: its fields, defaults and validation.

use serde::{Deserialize, Serialize};

use crate::config::{check, fraction, ConfigError};

/// `tape_pump`: a burst of prints and a price jump in a symbol, seen on the public tape only,
/// against the symbol's own usual activity learned from the stream.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub enabled: bool,
    /// The burst window (s): the prints, volume and price move of the last this many seconds.
    pub window_secs: u64,
    /// The usual volume and prints per minute are moving averages over trading minutes with
    /// this half-life (minutes).
    pub baseline_half_life_minutes: f64,
    /// A symbol's baseline is trusted after this many trading minutes of its tape.
    pub baseline_min_minutes: u64,
    /// Up to this many silent minutes between two prints count as quiet trading minutes; a
    /// longer gap (a lunch break, the night) counts as this many.
    pub quiet_gap_minutes_max: u64,
    /// The window's volume must be at least this many times the usual volume of as long.
    pub volume_multiple_min: f64,
    /// The window's prints must be at least this many times the usual prints of as long...
    pub prints_multiple_min: f64,
    /// ...and at least this many.
    pub prints_min: u64,
    /// The last price must be at least this much above the price before the window (0.05:
    /// +5%).
    pub price_jump_min: f64,
    /// When the tape says who initiated the prints, buyers must have initiated at least this
    /// share of the window's volume.
    pub buy_share_min: f64,
    /// After an alert, the same symbol does not alert again for this long (s).
    pub realert_secs: u64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            enabled: true,
            window_secs: 60,
            baseline_half_life_minutes: 240.0,
            baseline_min_minutes: 15,
            quiet_gap_minutes_max: 30,
            volume_multiple_min: 20.0,
            prints_multiple_min: 10.0,
            prints_min: 15,
            price_jump_min: 0.03,
            buy_share_min: 0.6,
            realert_secs: 3_600,
        }
    }
}

impl Config {
    /// Checks every value; the first bad one is returned with its field path.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let r = self;
        check(
            (10..=3_600).contains(&r.window_secs),
            "rules.tape_pump.window_secs",
            "must be between 10 and 3600",
        )?;
        check(
            r.baseline_half_life_minutes >= 1.0 && r.baseline_half_life_minutes <= 100_000.0,
            "rules.tape_pump.baseline_half_life_minutes",
            "must be between 1 and 100000",
        )?;
        check(
            r.baseline_min_minutes <= 100_000,
            "rules.tape_pump.baseline_min_minutes",
            "must be at most 100000",
        )?;
        check(
            (1..=1_440).contains(&r.quiet_gap_minutes_max),
            "rules.tape_pump.quiet_gap_minutes_max",
            "must be between 1 and 1440",
        )?;
        for (value, name) in [
            (r.volume_multiple_min, "rules.tape_pump.volume_multiple_min"),
            (r.prints_multiple_min, "rules.tape_pump.prints_multiple_min"),
        ] {
            check(
                value >= 1.0 && value.is_finite(),
                name,
                "must be at least 1",
            )?;
        }
        check(
            r.price_jump_min > 0.0 && r.price_jump_min <= 10.0,
            "rules.tape_pump.price_jump_min",
            "must be in (0, 10]",
        )?;
        fraction(r.buy_share_min, "rules.tape_pump.buy_share_min")?;
        check(
            r.realert_secs <= 7 * 86_400,
            "rules.tape_pump.realert_secs",
            "must be at most a week (604800)",
        )?;
        Ok(())
    }
}
