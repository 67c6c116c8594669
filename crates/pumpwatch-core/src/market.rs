//! Per-symbol market state: reference data, last price, the day's volume and VWAP, distinct
//! buyers, and the daily-volume baseline — from `adv_shares`, or learned from the stream when
//! the reference data does not give one.

use pumpwatch_model::{Decimal, Id, Instrument, Timestamp};
use rust_decimal::prelude::ToPrimitive;
use rustc_hash::FxHashSet;

use crate::intern::Interner;
use crate::value_sum::ValueSum;

const NANOS_PER_SEC: i64 = 1_000_000_000;
/// Granularity of the intraday cumulative-volume curve used for learned baselines.
const BUCKET_SECS: i64 = 300;
/// At most this many distinct buyers are remembered per symbol and day (a limit on state).
const BUYERS_MAX: usize = 100_000;

/// Where a symbol's daily-volume baseline came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BaselineSource {
    /// `adv_shares` from the instrument reference data.
    Reference,
    /// The average of earlier days' volume seen in the stream.
    PriorDays,
    /// This day's volume before the window, scaled to a full session.
    Intraday,
    /// Nothing known.
    None,
}

impl BaselineSource {
    pub fn as_str(self) -> &'static str {
        match self {
            BaselineSource::Reference => "reference",
            BaselineSource::PriorDays => "learned_prior_days",
            BaselineSource::Intraday => "learned_intraday",
            BaselineSource::None => "none",
        }
    }
}

/// What the rules need to know about a symbol's liquidity at one moment.
#[derive(Clone, Copy, Debug)]
pub struct Liquidity {
    pub price: Option<f64>,
    pub adv_shares: Option<f64>,
    pub baseline: BaselineSource,
    pub adv_value: Option<f64>,
    pub market_cap: Option<f64>,
}

/// One symbol's state.
#[derive(Clone, Debug)]
pub struct SymbolState {
    pub symbol: Id,
    pub prev_close: Option<Decimal>,
    pub adv_shares: Option<u64>,
    pub shares_outstanding: Option<u64>,
    pub market: Option<Id>,
    pub last_price: Option<Decimal>,
    /// Local day number (days since epoch at the event's offset) the day counters belong to.
    day: i64,
    pub day_volume: u64,
    day_value: ValueSum,
    day_first_trade_nanos: Option<i64>,
    /// (bucket start, cumulative volume at the end of that bucket), one entry per active bucket.
    cumulative: Vec<(i64, u64)>,
    prior_days: u32,
    prior_days_volume_mean: f64,
    /// Whether any `trade` print was seen: then volume comes from the tape, else from fills.
    has_tape: bool,
    buyers: FxHashSet<u32>,
}

impl SymbolState {
    fn new(symbol: Id) -> Self {
        SymbolState {
            symbol,
            prev_close: None,
            adv_shares: None,
            shares_outstanding: None,
            market: None,
            last_price: None,
            day: i64::MIN,
            day_volume: 0,
            day_value: ValueSum::default(),
            day_first_trade_nanos: None,
            cumulative: Vec::new(),
            prior_days: 0,
            prior_days_volume_mean: 0.0,
            has_tape: false,
            buyers: FxHashSet::default(),
        }
    }

    /// The price to value a position at: the last trade, else the previous close.
    pub fn mark(&self) -> Option<Decimal> {
        self.last_price.or(self.prev_close)
    }

    pub fn vwap(&self) -> Option<Decimal> {
        self.day_value.divided_by(self.day_volume)
    }

    /// Last price against the previous close, as a fraction (+0.25 = up 25%).
    pub fn change_vs_prev_close(&self) -> Option<f64> {
        let last = self.last_price?.to_f64()?;
        let prev = self.prev_close?.to_f64()?;
        (prev > 0.0).then(|| last / prev - 1.0)
    }

    pub fn distinct_buyers_today(&self) -> usize {
        self.buyers.len()
    }

    fn roll_day(&mut self, day: i64) {
        if day == self.day {
            return;
        }
        if self.day != i64::MIN && self.day_volume > 0 {
            // A running mean of completed days: the learned baseline for the days that follow.
            self.prior_days += 1;
            self.prior_days_volume_mean +=
                (self.day_volume as f64 - self.prior_days_volume_mean) / f64::from(self.prior_days);
        }
        self.day = day;
        self.day_volume = 0;
        self.day_value = ValueSum::default();
        self.day_first_trade_nanos = None;
        self.cumulative.clear();
        self.buyers.clear();
    }

    fn add_volume(&mut self, ts: Timestamp, qty: u64, price: Decimal) {
        self.roll_day(local_day(ts));
        self.day_volume += qty;
        self.day_value.add(price, qty);
        self.day_first_trade_nanos.get_or_insert(ts.utc_nanos);
        let bucket = ts.utc_nanos.div_euclid(BUCKET_SECS * NANOS_PER_SEC);
        match self.cumulative.last_mut() {
            Some((b, cum)) if *b == bucket => *cum = self.day_volume,
            _ => self.cumulative.push((bucket, self.day_volume)),
        }
    }

    fn volume_before(&self, nanos: i64) -> u64 {
        // Whole buckets that ended before `nanos`: the baseline must not see the window itself.
        let bucket = nanos.div_euclid(BUCKET_SECS * NANOS_PER_SEC);
        let idx = self.cumulative.partition_point(|(b, _)| *b < bucket);
        if idx == 0 {
            0
        } else {
            self.cumulative[idx - 1].1
        }
    }

    /// The liquidity picture at `now`, with a baseline learned from volume seen before
    /// `baseline_before` when the reference data gives none.
    pub fn liquidity(
        &self,
        now: Timestamp,
        baseline_before: i64,
        min_observed_secs: u64,
        session_secs: u64,
    ) -> Liquidity {
        let price = self.mark().and_then(|p| p.to_f64());
        let (adv_shares, baseline) = if let Some(adv) = self.adv_shares {
            (Some(adv as f64), BaselineSource::Reference)
        } else if self.prior_days > 0 {
            (Some(self.prior_days_volume_mean), BaselineSource::PriorDays)
        } else {
            self.intraday_baseline(now, baseline_before, min_observed_secs, session_secs)
        };
        let reference_price = self.prev_close.and_then(|p| p.to_f64()).or(price);
        Liquidity {
            price,
            adv_shares,
            baseline,
            adv_value: adv_shares.zip(reference_price).map(|(a, p)| a * p),
            market_cap: self
                .shares_outstanding
                .zip(reference_price)
                .map(|(s, p)| s as f64 * p),
        }
    }

    fn intraday_baseline(
        &self,
        now: Timestamp,
        before: i64,
        min_observed_secs: u64,
        session_secs: u64,
    ) -> (Option<f64>, BaselineSource) {
        let Some(first) = self.day_first_trade_nanos else {
            return (None, BaselineSource::None);
        };
        if self.day != local_day(now) {
            return (None, BaselineSource::None);
        }
        let observed_secs = (before - first) / NANOS_PER_SEC;
        if observed_secs < min_observed_secs as i64 || observed_secs <= 0 {
            return (None, BaselineSource::None);
        }
        let volume = self.volume_before(before) as f64;
        let observed = (observed_secs as f64).min(session_secs as f64);
        (
            Some(volume * session_secs as f64 / observed),
            BaselineSource::Intraday,
        )
    }
}

/// Local day number of a timestamp at its own offset.
pub fn local_day(ts: Timestamp) -> i64 {
    (ts.utc_nanos + i64::from(ts.offset_secs) * NANOS_PER_SEC).div_euclid(86_400 * NANOS_PER_SEC)
}

/// All symbols, interned to dense handles.
#[derive(Debug)]
pub struct Market {
    interner: Interner,
    symbols: Vec<SymbolState>,
    limit: usize,
    /// Events skipped because `symbols_max` was reached.
    pub over_limit: u64,
}

impl Market {
    pub fn new(limit: usize) -> Self {
        Market {
            interner: Interner::default(),
            symbols: Vec::new(),
            limit,
            over_limit: 0,
        }
    }

    /// The handle of a symbol, creating its state if new; `None` once `symbols_max` is reached.
    pub fn handle(&mut self, symbol: &Id) -> Option<u32> {
        if let Some(handle) = self.interner.get(symbol) {
            return Some(handle);
        }
        if self.symbols.len() >= self.limit {
            self.over_limit += 1;
            return None;
        }
        let handle = self.interner.intern(symbol);
        self.symbols.push(SymbolState::new(symbol.clone()));
        Some(handle)
    }

    pub fn get(&self, handle: u32) -> &SymbolState {
        &self.symbols[handle as usize]
    }

    pub fn len(&self) -> usize {
        self.symbols.len()
    }

    pub fn is_empty(&self) -> bool {
        self.symbols.is_empty()
    }

    pub fn apply_instrument(&mut self, handle: u32, instrument: &Instrument) {
        let state = &mut self.symbols[handle as usize];
        state.prev_close = Some(instrument.prev_close);
        state.adv_shares = instrument.adv_shares;
        state.shares_outstanding = instrument.shares_outstanding;
        state.market.clone_from(&instrument.market);
    }

    /// A print on the public tape.
    pub fn apply_trade(&mut self, handle: u32, ts: Timestamp, qty: u64, price: Decimal) {
        let state = &mut self.symbols[handle as usize];
        if !state.has_tape {
            // From the first print on, volume comes from the tape alone; fills seen before it
            // were counted, and the tape will count later ones (they print there too).
            state.has_tape = true;
        }
        state.last_price = Some(price);
        state.add_volume(ts, qty, price);
    }

    /// A fill of one of the broker's accounts: a price, and volume only on a bare stream
    /// without a tape (else the same match is counted once, from the tape).
    pub fn apply_fill(&mut self, handle: u32, ts: Timestamp, qty: u64, price: Decimal) {
        let state = &mut self.symbols[handle as usize];
        state.last_price = Some(price);
        if !state.has_tape {
            state.add_volume(ts, qty, price);
        }
    }

    /// An account entered a buy order for the symbol.
    pub fn note_buyer(&mut self, handle: u32, ts: Timestamp, account: u32) {
        let state = &mut self.symbols[handle as usize];
        state.roll_day(local_day(ts));
        if state.buyers.len() < BUYERS_MAX {
            state.buyers.insert(account);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> Timestamp {
        // 2025-03-17 00:00 JST is 2025-03-16T15:00Z.
        Timestamp {
            utc_nanos: (1_742_137_200 + secs) * NANOS_PER_SEC,
            offset_secs: 9 * 3600,
        }
    }

    #[test]
    fn learns_an_intraday_baseline_only_from_volume_before_the_window() {
        let mut market = Market::new(10);
        let h = market.handle(&"7992".into()).unwrap();
        let open = 9 * 3600;
        // One hour of 1,000 shares a minute, then a burst of 1,000,000 in the window.
        for minute in 0..60 {
            market.apply_trade(h, at(open + minute * 60), 1_000, Decimal::from(100));
        }
        market.apply_trade(h, at(open + 3_700), 1_000_000, Decimal::from(130));
        let now = at(open + 3_700);
        let liquidity = market
            .get(h)
            .liquidity(now, at(open + 3_600).utc_nanos, 1_800, 18_000);
        assert_eq!(liquidity.baseline, BaselineSource::Intraday);
        let adv = liquidity.adv_shares.unwrap();
        assert!(
            (250_000.0..350_000.0).contains(&adv),
            "60k shares in ~1 h → ~300k a 5 h session, got {adv}"
        );
        // Too little history: no baseline.
        let early = market
            .get(h)
            .liquidity(now, at(open + 600).utc_nanos, 1_800, 18_000);
        assert_eq!(early.baseline, BaselineSource::None);
    }

    #[test]
    fn reference_data_wins_and_fills_do_not_double_count_the_tape() {
        let mut market = Market::new(10);
        let h = market.handle(&"7203".into()).unwrap();
        market.apply_fill(h, at(32_400), 100, Decimal::from(2_000));
        assert_eq!(market.get(h).day_volume, 100);
        market.apply_trade(h, at(32_401), 100, Decimal::from(2_001));
        market.apply_fill(h, at(32_401), 100, Decimal::from(2_001));
        assert_eq!(market.get(h).day_volume, 200);
        assert_eq!(market.get(h).last_price, Some(Decimal::from(2_001)));
        assert!(market.handle(&"X".into()).is_some());
        let mut small = Market::new(1);
        small.handle(&"A".into()).unwrap();
        assert!(small.handle(&"B".into()).is_none());
        assert_eq!(small.over_limit, 1);
    }

    #[test]
    fn a_new_day_turns_the_last_days_volume_into_the_baseline() {
        let mut market = Market::new(10);
        let h = market.handle(&"7992".into()).unwrap();
        market.apply_trade(h, at(36_000), 15_000, Decimal::from(105));
        market.apply_trade(h, at(86_400 + 36_000), 100, Decimal::from(106));
        let liquidity = market.get(h).liquidity(
            at(86_400 + 36_001),
            at(86_400 + 36_000).utc_nanos,
            1_800,
            18_000,
        );
        assert_eq!(liquidity.baseline, BaselineSource::PriorDays);
        assert_eq!(liquidity.adv_shares, Some(15_000.0));
    }
}
