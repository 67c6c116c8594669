//! `tape_pump`: an organised pump seen only on the public tape — a burst of prints and a price
//! jump in a symbol, far beyond what that symbol usually trades. For an exchange's
//! surveillance team, which sees the anonymous tape and no account.
//!
//! Each symbol's usual prints per minute and typical print size are learned from its own tape
//! (moving averages over its trading minutes; no reference volume is needed), so a thin stock
//! and a liquid one are each held to their own normal. The usual volume is the usual prints
//! times the typical (geometric mean) print size: one opening-auction block or a single large
//! cross does not inflate it for the rest of the day. Every print updates the symbol's last
//! `window_secs` (running sums over per-second buckets; the buckets of every symbol wait in one
//! queue in time order, `seconds.rs`, so the window is written and aged out in sequence) and is
//! checked against it, so an alert comes within the window of the pump's start. Prices are
//! compared as decimals of any scale (8-decimal crypto prices) and symbols are codes of any
//! shape.

mod config;
mod seconds;

use std::collections::BTreeMap;

use pumpwatch_model::{
    Action, Alert, Decimal, Evidence, Feature, Severity, Side, Timestamp, Trade,
};
use rust_decimal::prelude::ToPrimitive;
use serde::{Deserialize, Serialize};

pub use self::config::Config;
use self::seconds::{Print, Second, Seconds};
use super::format::{duration, percent};
use super::{alert_id, Rule, Shared};
use crate::snapshot::{codec, SnapshotError};

pub const RULE: &str = "tape_pump";

const NANOS_PER_SEC: i64 = 1_000_000_000;

/// The rule and its state: each symbol's tape, by symbol handle, and the seconds of their
/// windows.
#[derive(Clone, Debug)]
pub struct TapePump {
    config: Config,
    /// The per-minute decay of the moving averages.
    decay: f64,
    symbols: Vec<Option<SymbolTape>>,
    seconds: Seconds,
}

/// A symbol's window (its seconds are in the shared queue) and usual activity.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct SymbolTape {
    /// Its newest second in the window: UTC seconds and place in the queue (the time kept
    /// here too, so a print that opens a new second does not read the queue to learn it).
    newest: Option<(i64, u64)>,
    /// The sums of its seconds in the window.
    prints: u64,
    volume: u64,
    sided_volume: u64,
    buy_volume: u64,
    /// The last price before the window's oldest second, once a second has left it.
    #[serde(with = "codec::opt_decimal")]
    price_before: Option<Decimal>,
    /// The open minute (UTC minutes), its prints so far and the sum of their log sizes.
    minute: i64,
    minute_prints: u64,
    minute_log_qty: f64,
    /// Moving averages of prints and of the sum of log print sizes per trading minute, and the
    /// weight they carry (the averages are divided by it: no bias towards 0 while young).
    usual_prints: f64,
    usual_log_qty: f64,
    weight: f64,
    /// Trading minutes folded into the averages.
    minutes: u64,
    /// UTC nanos of the last alert.
    last_alert: Option<i64>,
}

impl SymbolTape {
    fn new(minute: i64) -> Self {
        SymbolTape {
            newest: None,
            prints: 0,
            volume: 0,
            sided_volume: 0,
            buy_volume: 0,
            price_before: None,
            minute,
            minute_prints: 0,
            minute_log_qty: 0.0,
            usual_prints: 0.0,
            usual_log_qty: 0.0,
            weight: 0.0,
            minutes: 0,
            last_alert: None,
        }
    }

    fn fold_minute(&mut self, prints: u64, log_qty: f64, decay: f64) {
        self.usual_prints = self.usual_prints * decay + (1.0 - decay) * prints as f64;
        self.usual_log_qty = self.usual_log_qty * decay + (1.0 - decay) * log_qty;
        self.weight = self.weight * decay + (1.0 - decay);
        self.minutes += 1;
    }

    /// Folds `n` minutes without a print at once: `n` folds of zero shrink the averages by
    /// `decay^n` and add `1 - decay^n` of weight.
    fn fold_quiet_minutes(&mut self, n: u64, decay: f64) {
        if n == 0 {
            return;
        }
        let shrink = decay.powi(i32::try_from(n).unwrap_or(i32::MAX));
        self.usual_prints *= shrink;
        self.usual_log_qty *= shrink;
        self.weight = self.weight * shrink + (1.0 - shrink);
        self.minutes += n;
    }

    /// Closes the open minute when `minute` is later, folding it and the quiet minutes since
    /// (a long gap counts as `gap_max` quiet minutes) into the averages.
    fn advance_minute(&mut self, minute: i64, gap_max: u64, decay: f64) {
        if minute <= self.minute {
            return;
        }
        self.fold_minute(self.minute_prints, self.minute_log_qty, decay);
        let quiet = ((minute - self.minute - 1) as u64).min(gap_max);
        self.fold_quiet_minutes(quiet, decay);
        self.minute = minute;
        self.minute_prints = 0;
        self.minute_log_qty = 0.0;
    }

    /// The usual prints per minute.
    fn usual_prints_per_minute(&self) -> f64 {
        if self.weight > 0.0 {
            self.usual_prints / self.weight
        } else {
            0.0
        }
    }

    /// The usual volume per minute: the usual prints at the typical (geometric mean) print size.
    fn usual_volume_per_minute(&self) -> f64 {
        if self.usual_prints > 0.0 {
            self.usual_prints_per_minute() * (self.usual_log_qty / self.usual_prints).exp()
        } else {
            0.0
        }
    }

    /// Adds a print to the window (the seconds that left it are already gone:
    /// [`SymbolTape::forget`]). `at` is the print's UTC second.
    fn add(&mut self, seconds: &mut Seconds, symbol: u32, trade: &Trade, ts: Timestamp, at: i64) {
        let (sided, buy) = match trade.aggressor {
            Some(Side::Buy) => (trade.qty, trade.qty),
            Some(Side::Sell) => (trade.qty, 0),
            None => (0, 0),
        };
        let open = self
            .newest
            .filter(|&(newest_at, _)| newest_at >= at)
            .and_then(|(_, place)| seconds.get_mut(place));
        match open {
            Some(second) => {
                second.prints += 1;
                second.volume += trade.qty;
                second.sided_volume += sided;
                second.buy_volume += buy;
                second.last_price = trade.price;
            }
            None => {
                let place = seconds.push(Second {
                    at,
                    symbol,
                    previous: self.newest.map(|(_, place)| place),
                    prints: 1,
                    volume: trade.qty,
                    sided_volume: sided,
                    buy_volume: buy,
                    first: Print::of(trade, ts),
                    last_price: trade.price,
                });
                self.newest = Some((at, place));
            }
        }
        self.prints += 1;
        self.volume += trade.qty;
        self.sided_volume += sided;
        self.buy_volume += buy;
        self.minute_prints += 1;
        self.minute_log_qty += (trade.qty.max(1) as f64).ln();
    }

    /// Takes out of the sums a second that left the window.
    fn forget(&mut self, place: u64, gone: &Second) {
        self.prints -= gone.prints;
        self.volume -= gone.volume;
        self.sided_volume -= gone.sided_volume;
        self.buy_volume -= gone.buy_volume;
        self.price_before = Some(gone.last_price);
        if self.newest.is_some_and(|(_, newest)| newest == place) {
            self.newest = None;
        }
    }

    /// The first print of the window's oldest second.
    fn first_print<'a>(&self, seconds: &'a Seconds) -> Option<&'a Print> {
        let (_, newest) = self.newest?;
        seconds.oldest_from(newest).map(|second| &second.first)
    }
}

/// What a window shows, against the symbol's usual activity.
#[derive(Clone, Debug)]
struct Burst {
    prints: u64,
    volume: u64,
    usual_prints: f64,
    usual_volume: f64,
    volume_multiple: f64,
    prints_multiple: f64,
    price_from: Decimal,
    price_to: Decimal,
    jump: f64,
    /// Buyer-initiated share of the volume whose aggressor is known, when most of it is.
    buy_share: Option<f64>,
}

impl TapePump {
    pub fn new(config: Config) -> Self {
        let decay = 0.5f64.powf(1.0 / config.baseline_half_life_minutes);
        TapePump {
            config,
            decay,
            symbols: Vec::new(),
            seconds: Seconds::default(),
        }
    }
}

/// The symbol's window against its usual activity, when it is a burst.
fn burst(c: &Config, tape: &SymbolTape, seconds: &Seconds, last_price: Decimal) -> Option<Burst> {
    if tape.minutes < c.baseline_min_minutes || tape.prints < c.prints_min {
        return None;
    }
    let window_minutes = c.window_secs as f64 / 60.0;
    let multiple = |now: u64, usual: f64| {
        if usual > 0.0 {
            now as f64 / (usual * window_minutes)
        } else {
            f64::INFINITY
        }
    };
    // Prints first: unlike the usual volume, they need no exponential.
    let usual_prints = tape.usual_prints_per_minute();
    let prints_multiple = multiple(tape.prints, usual_prints);
    if prints_multiple < c.prints_multiple_min {
        return None;
    }
    let usual_volume = tape.usual_volume_per_minute();
    let volume_multiple = multiple(tape.volume, usual_volume);
    if volume_multiple < c.volume_multiple_min {
        return None;
    }
    let price_from = tape
        .price_before
        .or_else(|| tape.first_print(seconds).map(|first| first.price))?;
    // Prices are positive (the decoder refuses others); `checked_div` keeps a zero harmless.
    let jump = (last_price - price_from)
        .checked_div(price_from)?
        .to_f64()?;
    if jump < c.price_jump_min {
        return None;
    }
    let buy_share = (tape.sided_volume * 2 >= tape.volume && tape.sided_volume > 0)
        .then(|| tape.buy_volume as f64 / tape.sided_volume as f64);
    if buy_share.is_some_and(|share| share < c.buy_share_min) {
        return None;
    }
    Some(Burst {
        prints: tape.prints,
        volume: tape.volume,
        usual_prints,
        usual_volume,
        volume_multiple,
        prints_multiple,
        price_from,
        price_to: last_price,
        jump,
        buy_share,
    })
}

impl Rule for TapePump {
    fn name(&self) -> &'static str {
        RULE
    }

    /// It reads no account window.
    fn history_secs(&self) -> u64 {
        0
    }

    fn uses_trades(&self) -> bool {
        true
    }

    fn on_trade(
        &mut self,
        shared: &Shared<'_>,
        trade: &Trade,
        symbol: u32,
        now: Timestamp,
        alerts: &mut Vec<Alert>,
    ) {
        let minute = now.utc_nanos.div_euclid(60 * NANOS_PER_SEC);
        let at = now.utc_nanos.div_euclid(NANOS_PER_SEC);
        let symbols = &mut self.symbols;
        self.seconds
            .age_out(at - self.config.window_secs as i64, |place, gone| {
                if let Some(Some(tape)) = symbols.get_mut(gone.symbol as usize) {
                    tape.forget(place, &gone);
                }
            });
        let slot = symbol as usize;
        if self.symbols.len() <= slot {
            self.symbols.resize(slot + 1, None);
        }
        let tape = self.symbols[slot].get_or_insert_with(|| SymbolTape::new(minute));
        tape.advance_minute(minute, self.config.quiet_gap_minutes_max, self.decay);
        tape.add(&mut self.seconds, symbol, trade, now, at);
        let realert = self.config.realert_secs as i64 * NANOS_PER_SEC;
        if tape.last_alert.is_some_and(|t| now.utc_nanos - t < realert) {
            return;
        }
        let Some(burst) = burst(&self.config, tape, &self.seconds, trade.price) else {
            return;
        };
        tape.last_alert = Some(now.utc_nanos);
        let first = tape.first_print(&self.seconds).cloned();
        alerts.push(explain(&self.config, shared, trade, now, &burst, first));
    }

    /// Each symbol's tape, by handle, then the queue of their seconds.
    fn save_state(&self) -> Vec<u8> {
        let tapes: Vec<(u32, &SymbolTape)> = self
            .symbols
            .iter()
            .enumerate()
            .filter_map(|(i, t)| t.as_ref().map(|t| (i as u32, t)))
            .collect();
        postcard::to_stdvec(&(tapes, &self.seconds)).expect("plain data serializes")
    }

    fn restore_state(&mut self, bytes: &[u8]) -> Result<(), SnapshotError> {
        let (tapes, seconds): (Vec<(u32, SymbolTape)>, Seconds) = postcard::from_bytes(bytes)?;
        self.symbols.clear();
        for (handle, tape) in tapes {
            let slot = handle as usize;
            if self.symbols.len() <= slot {
                self.symbols.resize(slot + 1, None);
            }
            self.symbols[slot] = Some(tape);
        }
        self.seconds = seconds;
        Ok(())
    }
}

/// The alert: the burst's numbers against the symbol's usual, the first print of the window
/// and the one that completed the pattern.
fn explain(
    config: &Config,
    shared: &Shared<'_>,
    trade: &Trade,
    now: Timestamp,
    burst: &Burst,
    first: Option<Print>,
) -> Alert {
    let symbol = trade.symbol.to_string();
    let volume_factor = (burst.volume_multiple / config.volume_multiple_min).max(1.0);
    let mut score = 55.0 + 10.0 * volume_factor.log10().min(2.0);
    score += 15.0 * (burst.jump / config.price_jump_min / 4.0).min(1.0);
    if burst.buy_share.is_some() {
        score += 5.0;
    }
    let score = score.round().clamp(0.0, 100.0) as u8;
    let usual = if burst.usual_volume > 0.0 {
        format!("{:.0}× its usual volume for as long", burst.volume_multiple)
    } else {
        "where it usually trades nothing".to_string()
    };
    let buyers = burst
        .buy_share
        .map(|share| format!(", {} of it buyer-initiated", percent(share)))
        .unwrap_or_default();
    let summary = format!(
        "{symbol}: {} prints, {} shares in the last {} ({usual}){buyers}; the price ran from {} to {} (+{}).",
        burst.prints,
        burst.volume,
        duration(config.window_secs as i64),
        burst.price_from.normalize(),
        burst.price_to.normalize(),
        percent(burst.jump),
    );
    let mut features = BTreeMap::new();
    features.insert(
        "volume_multiple".to_string(),
        Feature::at_least(finite(burst.volume_multiple), config.volume_multiple_min),
    );
    features.insert(
        "prints_multiple".to_string(),
        Feature::at_least(finite(burst.prints_multiple), config.prints_multiple_min),
    );
    features.insert(
        "window_prints".to_string(),
        Feature::at_least(burst.prints as f64, config.prints_min as f64),
    );
    features.insert(
        "price_jump".to_string(),
        Feature::at_least(burst.jump, config.price_jump_min),
    );
    features.insert(
        "window_volume".to_string(),
        Feature::info(burst.volume as f64),
    );
    features.insert(
        "usual_volume_per_minute".to_string(),
        Feature::info(burst.usual_volume),
    );
    features.insert(
        "usual_prints_per_minute".to_string(),
        Feature::info(burst.usual_prints),
    );
    if let Some(share) = burst.buy_share {
        features.insert(
            "buy_share".to_string(),
            Feature::at_least(share, config.buy_share_min),
        );
    }
    let evidence_of = |print: &Print, note: &str| Evidence {
        kind: "trade".into(),
        id: print.trade_id.as_deref().unwrap_or("").to_string(),
        ts: print.ts,
        account_id: None,
        symbol: Some(symbol.clone()),
        side: None,
        qty: Some(print.qty),
        price: Some(print.price),
        notional: None,
        margin: None,
        note: Some(note.to_string()),
    };
    let trigger = Print::of(trade, now);
    let mut evidence = Vec::new();
    if let Some(first) = first.filter(|f| *f != trigger) {
        evidence.push(evidence_of(&first, "first print of the window"));
    }
    evidence.push(Evidence {
        side: trade.aggressor,
        ..evidence_of(&trigger, "the print that completed the burst")
    });
    Alert {
        alert_id: alert_id(
            RULE,
            &symbol,
            trade.trade_id.as_deref().unwrap_or(""),
            now.utc_nanos,
        ),
        rule: RULE.to_string(),
        ts: now,
        score,
        severity: Severity::from_score(score),
        account_ids: Vec::new(),
        symbols: vec![symbol],
        summary,
        evidence,
        features,
        action: Action::None,
        config_version: shared.config_version.to_string(),
    }
}

/// JSON has no infinity: a multiple over a baseline of nothing is shown as a large number.
fn finite(value: f64) -> f64 {
    if value.is_finite() {
        value
    } else {
        1e9
    }
}

#[cfg(test)]
mod tests;
