//! Per-symbol market state: reference data, last price, the day's volume, distinct
//! buyers, and the daily-volume baseline — from `adv_shares`, or learned from the stream when
//! the reference data does not give one.
//!
//! The state of a symbol is split in two vectors indexed by the same handle: `SymbolHot`,
//! what every trade print and fill reads and writes, packed into one 64-byte cache line; and
//! `SymbolCold`, the reference data, the closed part of the intraday volume curve, the learned
//! baseline and the buyers, read only when a rule asks or when a day or a 5-minute bucket turns
//! over.

use pumpwatch_model::{Decimal, Id, Instrument, Timestamp};
use rust_decimal::prelude::ToPrimitive;
use rustc_hash::FxHashSet;
use serde::{Deserialize, Serialize};

use crate::intern::Interner;
use crate::snapshot::codec;

const NANOS_PER_SEC: i64 = 1_000_000_000;
/// Granularity of the intraday cumulative-volume curve used for learned baselines.
const BUCKET_SECS: i64 = 300;
/// At most this many distinct buyers are remembered per symbol and day (a limit on state).
const BUYERS_MAX: usize = 100_000;
/// `SymbolHot::day` before the first event that sets it (no local day is this far out).
const NO_DAY: i32 = i32::MIN;
/// `SymbolHot::open_bucket` while the day has no volume event yet (no bucket is this far out).
const NO_BUCKET: i64 = i64::MIN;

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
    /// The share of a session elapsed since the symbol's first print today, at least
    /// [`DAY_FRACTION_MIN`] (1 with no print today): the normal daily volume pro-rated to the
    /// time of day.
    pub day_fraction: f64,
}

/// The smallest share of a session a day's volume is judged against (so a few prints at the
/// open are not "a day's volume" already).
pub const DAY_FRACTION_MIN: f64 = 0.1;

/// The share of a session of `session_secs` elapsed from `first` to `now` (UTC nanos), within
/// [`DAY_FRACTION_MIN`] and 1.
fn day_fraction(first: i64, now: i64, session_secs: u64) -> f64 {
    let elapsed = (now - first) as f64 / NANOS_PER_SEC as f64;
    (elapsed / session_secs.max(1) as f64).clamp(DAY_FRACTION_MIN, 1.0)
}

impl Liquidity {
    /// Thin: a small normal daily traded value or a small market cap; with neither known, a low
    /// price stands in.
    ///
    /// A baseline learned from this day's own tape does not rule out a low price: it includes
    /// whatever volume the manipulation itself put there (the perpetrators' accumulation in
    /// the morning), so only reference data or earlier days can say a cheap symbol is liquid.
    pub fn is_thin(&self, adv_value_max: f64, market_cap_max: f64, low_price_max: f64) -> bool {
        let by_value = self.adv_value.is_some_and(|v| v < adv_value_max);
        let by_cap = self.market_cap.is_some_and(|v| v < market_cap_max);
        let sized = self.market_cap.is_some()
            || (self.adv_value.is_some() && self.baseline != BaselineSource::Intraday);
        let by_price = !sized && self.price.is_some_and(|p| p <= low_price_max);
        by_value || by_cap || by_price
    }
}

/// The part of a symbol's state that a trade print or a fill touches, kept in its own vector.
///
/// Why: replaying a tape over thousands of symbols is bound by cache misses, one symbol's
/// state per print. Kept together with the cold part, a print touched four cache lines of
/// state plus the heap entry of the open 5-minute bucket; this struct is one cache line (64
/// bytes, aligned, so it never straddles two) and holds the open bucket itself, so a print
/// within the open bucket touches nothing else. Options are flags and sentinels here, to keep it
/// that small.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[repr(align(64))]
struct SymbolHot {
    /// The last trade or fill price; meaningful only when `has_last_price`.
    #[serde(with = "codec::decimal")]
    last_price: Decimal,
    day_volume: u64,
    /// When the day's first volume event happened; meaningful only with an open bucket.
    first_trade_nanos: i64,
    /// The 5-minute bucket (UTC nanos / bucket length) of the day's latest volume event, whose
    /// cumulative volume is `day_volume`; `NO_BUCKET` before the day's first one. Closed buckets
    /// go to `SymbolCold::cumulative` only when a volume event lands in another bucket.
    open_bucket: i64,
    /// Local day number (days since epoch at the event's offset) the day counters belong to,
    /// or `NO_DAY`.
    day: i32,
    has_last_price: bool,
    /// Whether any `trade` print was seen: then volume comes from the tape, else from fills.
    has_tape: bool,
}

/// The part of a symbol's state that is read when a rule evaluates or a day or a bucket turns
/// over, kept out of `SymbolHot`'s vector so it does not cost cache lines per print.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct SymbolCold {
    symbol: Id,
    #[serde(with = "codec::opt_decimal")]
    prev_close: Option<Decimal>,
    adv_shares: Option<u64>,
    shares_outstanding: Option<u64>,
    /// (bucket, cumulative volume at the end of that bucket) for the day's closed buckets, one
    /// entry per active bucket; the open bucket is `SymbolHot::open_bucket`.
    cumulative: Vec<(i64, u64)>,
    prior_days: u32,
    prior_days_volume_mean: f64,
    /// Fingerprints of the accounts that entered a buy order today (of their ids, so every
    /// engine of a partitioned run counts the same buyers).
    #[serde(with = "codec::sorted_set")]
    buyers: FxHashSet<u64>,
}

// The hot part is exactly one cache line; checked at compile time.
const _: () = assert!(std::mem::size_of::<SymbolHot>() == 64);

impl SymbolHot {
    fn new() -> Self {
        SymbolHot {
            last_price: Decimal::ZERO,
            day_volume: 0,
            first_trade_nanos: 0,
            open_bucket: NO_BUCKET,
            day: NO_DAY,
            has_last_price: false,
            has_tape: false,
        }
    }

    fn set_last_price(&mut self, price: Decimal) {
        self.last_price = price;
        self.has_last_price = true;
    }

    #[inline]
    fn roll_day(&mut self, cold: &mut SymbolCold, day: i32) {
        if day != self.day {
            self.start_day(cold, day);
        }
    }

    #[cold]
    fn start_day(&mut self, cold: &mut SymbolCold, day: i32) {
        if self.day != NO_DAY && self.day_volume > 0 {
            // A running mean of completed days: the learned baseline for the days that follow.
            cold.prior_days += 1;
            cold.prior_days_volume_mean +=
                (self.day_volume as f64 - cold.prior_days_volume_mean) / f64::from(cold.prior_days);
        }
        self.day = day;
        self.day_volume = 0;
        self.open_bucket = NO_BUCKET;
        cold.cumulative.clear();
        cold.buyers.clear();
    }

    fn add_volume(&mut self, cold: &mut SymbolCold, ts: Timestamp, qty: u64) {
        self.roll_day(cold, day_of(ts));
        let bucket = ts.utc_nanos.div_euclid(BUCKET_SECS * NANOS_PER_SEC);
        if bucket != self.open_bucket {
            if self.open_bucket == NO_BUCKET {
                self.first_trade_nanos = ts.utc_nanos;
            } else {
                // The open bucket closes at the volume seen before this event.
                cold.cumulative.push((self.open_bucket, self.day_volume));
            }
            self.open_bucket = bucket;
        }
        self.day_volume += qty;
    }
}

impl SymbolCold {
    fn new(symbol: Id) -> Self {
        SymbolCold {
            symbol,
            prev_close: None,
            adv_shares: None,
            shares_outstanding: None,
            cumulative: Vec::new(),
            prior_days: 0,
            prior_days_volume_mean: 0.0,
            buyers: FxHashSet::default(),
        }
    }
}

/// One symbol's state, as [`Market::get`] lends it: both halves behind one handle.
#[derive(Clone, Copy, Debug)]
pub struct SymbolView<'a> {
    hot: &'a SymbolHot,
    cold: &'a SymbolCold,
}

impl<'a> SymbolView<'a> {
    pub fn symbol(&self) -> &'a Id {
        &self.cold.symbol
    }

    pub fn prev_close(&self) -> Option<Decimal> {
        self.cold.prev_close
    }

    pub fn adv_shares(&self) -> Option<u64> {
        self.cold.adv_shares
    }

    pub fn shares_outstanding(&self) -> Option<u64> {
        self.cold.shares_outstanding
    }

    pub fn last_price(&self) -> Option<Decimal> {
        self.hot.has_last_price.then_some(self.hot.last_price)
    }

    pub fn day_volume(&self) -> u64 {
        self.hot.day_volume
    }

    /// The price to value a position at: the last trade, else the previous close.
    pub fn mark(&self) -> Option<Decimal> {
        self.last_price().or(self.cold.prev_close)
    }

    /// Last price against the previous close, as a fraction (+0.25 = up 25%).
    pub fn change_vs_prev_close(&self) -> Option<f64> {
        let last = self.last_price()?.to_f64()?;
        let prev = self.cold.prev_close?.to_f64()?;
        (prev > 0.0).then(|| last / prev - 1.0)
    }

    /// Running: up at least `change_min` on the previous close on a day volume already
    /// `volume_of_adv_min` times the normal volume of `liquidity` for the time of day (its
    /// daily volume pro-rated by [`Liquidity::day_fraction`]; 0: never running). With no
    /// volume baseline at all (no reference, no earlier day, too little of today's tape before
    /// the rule's window) the price move alone decides: a +20% day is rare enough.
    pub fn is_running(
        &self,
        liquidity: &Liquidity,
        change_min: f64,
        volume_of_adv_min: f64,
    ) -> bool {
        if volume_of_adv_min <= 0.0 {
            return false;
        }
        let up = self
            .change_vs_prev_close()
            .is_some_and(|change| change >= change_min);
        up && liquidity.adv_shares.is_none_or(|adv| {
            adv > 0.0
                && self.day_volume() as f64 >= adv * volume_of_adv_min * liquidity.day_fraction
        })
    }

    pub fn distinct_buyers_today(&self) -> usize {
        self.cold.buyers.len()
    }

    /// The day's volume in whole buckets before the bucket of `nanos`.
    ///
    /// The curve is the closed buckets followed by the open one; like a search of the whole
    /// curve, this relies on a day's volume events arriving in time order (the engine applies
    /// events in event-time order).
    fn volume_before(&self, nanos: i64) -> u64 {
        // Whole buckets that ended before `nanos`: the baseline must not see the window itself.
        let bucket = nanos.div_euclid(BUCKET_SECS * NANOS_PER_SEC);
        if self.hot.open_bucket != NO_BUCKET && self.hot.open_bucket < bucket {
            // Every closed bucket is before the open one, so the whole day is before `nanos`.
            return self.hot.day_volume;
        }
        let cumulative = &self.cold.cumulative;
        let idx = cumulative.partition_point(|(b, _)| *b < bucket);
        if idx == 0 {
            0
        } else {
            cumulative[idx - 1].1
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
        let cold = self.cold;
        let price = self.mark().and_then(|p| p.to_f64());
        let (adv_shares, baseline) = if let Some(adv) = cold.adv_shares {
            (Some(adv as f64), BaselineSource::Reference)
        } else if cold.prior_days > 0 {
            (Some(cold.prior_days_volume_mean), BaselineSource::PriorDays)
        } else {
            self.intraday_baseline(now, baseline_before, min_observed_secs, session_secs)
        };
        let reference_price = cold.prev_close.and_then(|p| p.to_f64()).or(price);
        let traded_today =
            self.hot.open_bucket != NO_BUCKET && i64::from(self.hot.day) == local_day(now);
        Liquidity {
            price,
            adv_shares,
            baseline,
            adv_value: adv_shares.zip(reference_price).map(|(a, p)| a * p),
            market_cap: cold
                .shares_outstanding
                .zip(reference_price)
                .map(|(s, p)| s as f64 * p),
            day_fraction: if traded_today {
                day_fraction(self.hot.first_trade_nanos, now.utc_nanos, session_secs)
            } else {
                1.0
            },
        }
    }

    fn intraday_baseline(
        &self,
        now: Timestamp,
        before: i64,
        min_observed_secs: u64,
        session_secs: u64,
    ) -> (Option<f64>, BaselineSource) {
        if self.hot.open_bucket == NO_BUCKET {
            return (None, BaselineSource::None);
        }
        let first = self.hot.first_trade_nanos;
        if i64::from(self.hot.day) != local_day(now) {
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

/// [`local_day`] as stored in `SymbolHot`: an `i64` of nanos over a day's nanos is within
/// ±106,752 days, so the narrowing is exact.
fn day_of(ts: Timestamp) -> i32 {
    local_day(ts) as i32
}

/// All symbols, interned to dense handles.
#[derive(Debug)]
pub struct Market {
    interner: Interner,
    /// What prints and fills touch, by handle; `cold` holds the rest, by the same handle.
    hot: Vec<SymbolHot>,
    cold: Vec<SymbolCold>,
    limit: usize,
    /// Events skipped because `symbols_max` was reached.
    pub over_limit: u64,
    /// Buy orders whose account was not remembered among a symbol's distinct buyers of the
    /// day because the set was full.
    pub buyers_dropped: u64,
}

impl Market {
    pub fn new(limit: usize) -> Self {
        Market {
            interner: Interner::default(),
            hot: Vec::new(),
            cold: Vec::new(),
            limit,
            over_limit: 0,
            buyers_dropped: 0,
        }
    }

    /// The handle of a symbol, creating its state if new; `None` once `symbols_max` is reached.
    pub fn handle(&mut self, symbol: &Id) -> Option<u32> {
        if let Some(handle) = self.interner.get(symbol) {
            return Some(handle);
        }
        if self.hot.len() >= self.limit {
            self.over_limit += 1;
            return None;
        }
        let handle = self.interner.intern(symbol);
        self.hot.push(SymbolHot::new());
        self.cold.push(SymbolCold::new(symbol.clone()));
        Some(handle)
    }

    pub fn get(&self, handle: u32) -> SymbolView<'_> {
        SymbolView {
            hot: &self.hot[handle as usize],
            cold: &self.cold[handle as usize],
        }
    }

    pub fn len(&self) -> usize {
        self.hot.len()
    }

    pub fn is_empty(&self) -> bool {
        self.hot.is_empty()
    }

    pub fn apply_instrument(&mut self, handle: u32, instrument: &Instrument) {
        let cold = &mut self.cold[handle as usize];
        cold.prev_close = Some(instrument.prev_close);
        cold.adv_shares = instrument.adv_shares;
        cold.shares_outstanding = instrument.shares_outstanding;
    }

    /// A print on the public tape.
    pub fn apply_trade(&mut self, handle: u32, ts: Timestamp, qty: u64, price: Decimal) {
        let hot = &mut self.hot[handle as usize];
        // From the first print on, volume comes from the tape alone; fills seen before it were
        // counted, and the tape will count later ones (they print there too).
        hot.has_tape = true;
        hot.set_last_price(price);
        hot.add_volume(&mut self.cold[handle as usize], ts, qty);
    }

    /// A fill of one of the broker's accounts: a price, and volume only on a bare stream
    /// without a tape (else the same match is counted once, from the tape).
    pub fn apply_fill(&mut self, handle: u32, ts: Timestamp, qty: u64, price: Decimal) {
        let hot = &mut self.hot[handle as usize];
        hot.set_last_price(price);
        if !hot.has_tape {
            hot.add_volume(&mut self.cold[handle as usize], ts, qty);
        }
    }

    /// An account (by the fingerprint of its id) entered a buy order for the symbol.
    pub fn note_buyer(&mut self, handle: u32, ts: Timestamp, account: u64) {
        let hot = &mut self.hot[handle as usize];
        let cold = &mut self.cold[handle as usize];
        hot.roll_day(cold, day_of(ts));
        if cold.buyers.len() < BUYERS_MAX {
            cold.buyers.insert(account);
        } else if !cold.buyers.contains(&account) {
            self.buyers_dropped += 1;
        }
    }
}

/// The market as a snapshot holds it: both halves of every symbol by handle, and the
/// counters. The interner is rebuilt (handles are the symbols' positions).
#[derive(Serialize, Deserialize)]
struct MarketImage<H, C> {
    hot: H,
    cold: C,
    over_limit: u64,
    buyers_dropped: u64,
}

impl Serialize for Market {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        MarketImage {
            hot: &self.hot,
            cold: &self.cold,
            over_limit: self.over_limit,
            buyers_dropped: self.buyers_dropped,
        }
        .serialize(s)
    }
}

impl Market {
    /// Reads a market written by its `Serialize`, under the current `symbols_max`.
    pub fn deserialize_with_limit<'de, D: serde::Deserializer<'de>>(
        d: D,
        limit: usize,
    ) -> Result<Self, D::Error> {
        let image = MarketImage::<Vec<SymbolHot>, Vec<SymbolCold>>::deserialize(d)?;
        if image.hot.len() != image.cold.len() {
            return Err(serde::de::Error::custom(
                "market image: hot and cold parts differ in length",
            ));
        }
        let mut interner = Interner::default();
        for cold in &image.cold {
            interner.intern(&cold.symbol);
        }
        if interner.len() != image.cold.len() {
            return Err(serde::de::Error::custom(
                "market image: a symbol appears twice",
            ));
        }
        Ok(Market {
            interner,
            hot: image.hot,
            cold: image.cold,
            limit,
            over_limit: image.over_limit,
            buyers_dropped: image.buyers_dropped,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A cheap symbol sized only by its own day's tape is still thin by price: that volume
    /// may be the manipulation's. Reference data (or earlier days) can size it liquid.
    #[test]
    fn a_learned_baseline_does_not_make_a_cheap_symbol_liquid() {
        let liquidity = |baseline| Liquidity {
            price: Some(200.0),
            adv_shares: Some(1_000_000.0),
            baseline,
            adv_value: Some(200_000_000.0),
            market_cap: None,
            day_fraction: 1.0,
        };
        assert!(liquidity(BaselineSource::Intraday).is_thin(50e6, 5e9, 500.0));
        assert!(!liquidity(BaselineSource::Reference).is_thin(50e6, 5e9, 500.0));
        assert!(!liquidity(BaselineSource::PriorDays).is_thin(50e6, 5e9, 500.0));
        let dear = Liquidity {
            price: Some(900.0),
            ..liquidity(BaselineSource::Intraday)
        };
        assert!(!dear.is_thin(50e6, 5e9, 500.0));
    }

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

    /// Running: +20% on a volume judged against the normal volume for the time of day, or on
    /// the price alone while no volume baseline exists.
    #[test]
    fn running_is_judged_against_the_volume_for_the_time_of_day() {
        let instrument = |adv_shares| Instrument {
            symbol: "2876".into(),
            prev_close: Decimal::from(100),
            name: None,
            market: None,
            currency: "JPY".into(),
            lot_size: 100,
            shares_outstanding: None,
            adv_shares,
            issuer_country: None,
        };
        let open = 9 * 3600;
        let session = 18_000;
        // An hour in (a fifth of the session), up 25% on 300k shares.
        let running = |adv_shares: Option<u64>, qty: u64| {
            let mut market = Market::new(10);
            let h = market.handle(&"2876".into()).unwrap();
            market.apply_instrument(h, &instrument(adv_shares));
            market.apply_trade(h, at(open), qty / 2, Decimal::from(110));
            market.apply_trade(h, at(open + 3_600), qty / 2, Decimal::from(125));
            let now = at(open + 3_600);
            let view = market.get(h);
            let liquidity =
                view.liquidity(now, now.utc_nanos - 7_200 * NANOS_PER_SEC, 1_800, session);
            assert!((liquidity.day_fraction - 0.2).abs() < 1e-9, "{liquidity:?}");
            view.is_running(&liquidity, 0.2, 1.0)
        };
        // A normal day of 1M: an hour's normal volume is 200k, so 300k is running, 100k not.
        assert!(running(Some(1_000_000), 300_000));
        assert!(!running(Some(1_000_000), 100_000));
        // No baseline at all (no reference, no earlier day, nothing before the window).
        assert!(running(None, 1_000));
        // Up less than 20%: never running.
        let mut market = Market::new(10);
        let h = market.handle(&"2876".into()).unwrap();
        market.apply_instrument(h, &instrument(None));
        market.apply_trade(h, at(open), 1_000_000, Decimal::from(115));
        let now = at(open + 60);
        let liquidity = market.get(h).liquidity(now, now.utc_nanos, 1_800, session);
        assert!(!market.get(h).is_running(&liquidity, 0.2, 1.0));
    }

    #[test]
    fn reference_data_wins_and_fills_do_not_double_count_the_tape() {
        let mut market = Market::new(10);
        let h = market.handle(&"7203".into()).unwrap();
        market.apply_fill(h, at(32_400), 100, Decimal::from(2_000));
        assert_eq!(market.get(h).day_volume(), 100);
        market.apply_trade(h, at(32_401), 100, Decimal::from(2_001));
        market.apply_fill(h, at(32_401), 100, Decimal::from(2_001));
        assert_eq!(market.get(h).day_volume(), 200);
        assert_eq!(market.get(h).last_price(), Some(Decimal::from(2_001)));
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

    #[test]
    fn the_open_bucket_counts_once_it_is_before_the_cutoff() {
        let mut market = Market::new(10);
        let h = market.handle(&"7992".into()).unwrap();
        let open = 9 * 3600;
        market.apply_trade(h, at(open + 10), 100, Decimal::from(100));
        market.apply_trade(h, at(open + 20), 50, Decimal::from(100));
        let view = market.get(h);
        assert_eq!(view.volume_before(at(open + 299).utc_nanos), 0);
        assert_eq!(view.volume_before(at(open + 300).utc_nanos), 150);
        market.apply_trade(h, at(open + 600), 7, Decimal::from(100));
        let view = market.get(h);
        assert_eq!(view.volume_before(at(open + 300).utc_nanos), 150);
        assert_eq!(view.volume_before(at(open + 899).utc_nanos), 150);
        assert_eq!(view.volume_before(at(open + 900).utc_nanos), 157);
        assert_eq!(view.volume_before(at(open).utc_nanos), 0);
    }

    /// One call on the market, at a time advanced from the previous one.
    #[derive(Clone, Debug)]
    enum Op {
        Trade {
            sym: usize,
            qty: u64,
            price: Decimal,
        },
        Fill {
            sym: usize,
            qty: u64,
            price: Decimal,
        },
        Buyer {
            sym: usize,
            account: u32,
        },
        Instrument {
            sym: usize,
            prev_close: Decimal,
            adv: Option<u64>,
            shares: Option<u64>,
        },
        /// Check the symbol's state against the model, `back` seconds of window before now.
        Query {
            sym: usize,
            back: i64,
            min_observed_secs: u64,
        },
    }

    const SYMBOLS: usize = 3;
    const SESSION_SECS: u64 = 18_000;

    /// Mostly ordinary prices; some with more decimals than the integer value sum holds.
    fn price() -> impl Strategy<Value = Decimal> {
        let scale = prop_oneof![4 => 0u32..4, 1 => 7u32..10];
        (1i64..10_000_000, scale).prop_map(|(m, scale)| Decimal::new(m, scale))
    }

    fn op() -> impl Strategy<Value = Op> {
        let sym = 0..SYMBOLS;
        let qty = prop_oneof![1 => Just(0u64), 9 => 1u64..50_000];
        prop_oneof![
            6 => (sym.clone(), qty.clone(), price()).prop_map(|(sym, qty, price)| Op::Trade { sym, qty, price }),
            2 => (sym.clone(), qty, price()).prop_map(|(sym, qty, price)| Op::Fill { sym, qty, price }),
            1 => (sym.clone(), 0u32..6).prop_map(|(sym, account)| Op::Buyer { sym, account }),
            1 => (sym.clone(), price(), proptest::option::of(0u64..1_000_000), proptest::option::of(1u64..100_000_000))
                .prop_map(|(sym, prev_close, adv, shares)| Op::Instrument { sym, prev_close, adv, shares }),
            3 => (sym, -600i64..7_200, prop_oneof![Just(0u64), 1u64..3_600])
                .prop_map(|(sym, back, min_observed_secs)| Op::Query { sym, back, min_observed_secs }),
        ]
    }

    /// Nanoseconds to the next op: mostly within a bucket or two, sometimes on a bucket
    /// boundary, sometimes hours (across a local day).
    fn step() -> impl Strategy<Value = i64> {
        prop_oneof![
            2 => Just(0i64),
            8 => 0i64..400 * NANOS_PER_SEC,
            2 => (0i64..3).prop_map(|k| k * BUCKET_SECS * NANOS_PER_SEC),
            1 => (3_600i64..50_000).prop_map(|s| s * NANOS_PER_SEC),
        ]
    }

    /// What the model keeps: every call, as made.
    #[derive(Clone, Debug)]
    struct Record {
        ts: Timestamp,
        op: Op,
    }

    /// A call that belongs to a local day: a volume event (ts, qty, price) or a buyer.
    #[derive(Clone, Copy, Debug)]
    struct Activity {
        day: i64,
        volume: Option<(i64, u64, Decimal)>,
        buyer: Option<u32>,
    }

    impl Activity {
        fn volume(ts: Timestamp, qty: u64, price: Decimal) -> Self {
            Activity {
                day: local_day(ts),
                volume: Some((ts.utc_nanos, qty, price)),
                buyer: None,
            }
        }
    }

    /// A symbol's state recomputed from scratch from every call made for it.
    #[derive(Debug, Default)]
    struct Model {
        last_price: Option<Decimal>,
        prev_close: Option<Decimal>,
        adv: Option<u64>,
        shares: Option<u64>,
        day: Option<i64>,
        /// Volume events (ts, qty, price) of the current day.
        today: Vec<(i64, u64, Decimal)>,
        /// Volume of each completed day.
        past_days: Vec<u64>,
        buyers: Vec<u32>,
    }

    impl Model {
        fn of(records: &[Record], sym: usize) -> Model {
            let mut m = Model::default();
            let mut has_tape = false;
            // Every call that belongs to a day (a volume event or a buyer), in call order.
            let mut days: Vec<Activity> = Vec::new();
            for r in records {
                match r.op {
                    Op::Trade { sym: s, qty, price } if s == sym => {
                        has_tape = true;
                        m.last_price = Some(price);
                        days.push(Activity::volume(r.ts, qty, price));
                    }
                    Op::Fill { sym: s, qty, price } if s == sym => {
                        m.last_price = Some(price);
                        if !has_tape {
                            days.push(Activity::volume(r.ts, qty, price));
                        }
                    }
                    Op::Buyer { sym: s, account } if s == sym => {
                        days.push(Activity {
                            day: local_day(r.ts),
                            volume: None,
                            buyer: Some(account),
                        });
                    }
                    Op::Instrument {
                        sym: s,
                        prev_close,
                        adv,
                        shares,
                    } if s == sym => {
                        m.prev_close = Some(prev_close);
                        m.adv = adv;
                        m.shares = shares;
                    }
                    _ => {}
                }
            }
            // Split into runs of the same day: the last run is today, the others are past days.
            let mut runs: Vec<Vec<Activity>> = Vec::new();
            for event in days {
                match runs.last_mut() {
                    Some(run) if run[0].day == event.day => run.push(event),
                    _ => runs.push(vec![event]),
                }
            }
            if let Some(today) = runs.pop() {
                m.day = Some(today[0].day);
                m.today = today.iter().filter_map(|e| e.volume).collect();
                m.buyers = today.iter().filter_map(|e| e.buyer).collect();
                m.buyers.sort_unstable();
                m.buyers.dedup();
            }
            m.past_days = runs
                .iter()
                .map(|run| run.iter().filter_map(|e| e.volume).map(|(_, q, _)| q).sum())
                .collect();
            m
        }

        fn day_volume(&self) -> u64 {
            self.today.iter().map(|(_, q, _)| q).sum()
        }

        fn volume_before(&self, nanos: i64) -> u64 {
            let bucket_nanos = BUCKET_SECS * NANOS_PER_SEC;
            self.today
                .iter()
                .filter(|(ts, _, _)| ts.div_euclid(bucket_nanos) < nanos.div_euclid(bucket_nanos))
                .map(|(_, q, _)| q)
                .sum()
        }

        fn liquidity(&self, now: Timestamp, before: i64, min_observed_secs: u64) -> Liquidity {
            let price = self.last_price.or(self.prev_close).and_then(|p| p.to_f64());
            let past: Vec<u64> = self.past_days.iter().copied().filter(|v| *v > 0).collect();
            let (adv_shares, baseline) = if let Some(adv) = self.adv {
                (Some(adv as f64), BaselineSource::Reference)
            } else if !past.is_empty() {
                let mean = past.iter().map(|v| *v as f64).sum::<f64>() / past.len() as f64;
                (Some(mean), BaselineSource::PriorDays)
            } else {
                match self.today.first() {
                    Some((first, _, _)) if self.day == Some(local_day(now)) => {
                        let observed_secs = (before - first) / NANOS_PER_SEC;
                        if observed_secs <= 0 || observed_secs < min_observed_secs as i64 {
                            (None, BaselineSource::None)
                        } else {
                            let observed = (observed_secs as f64).min(SESSION_SECS as f64);
                            let volume = self.volume_before(before) as f64;
                            (
                                Some(volume * SESSION_SECS as f64 / observed),
                                BaselineSource::Intraday,
                            )
                        }
                    }
                    _ => (None, BaselineSource::None),
                }
            };
            let reference_price = self.prev_close.and_then(|p| p.to_f64()).or(price);
            let day_fraction = match self.today.first() {
                Some((first, _, _)) if self.day == Some(local_day(now)) => {
                    day_fraction(*first, now.utc_nanos, SESSION_SECS)
                }
                _ => 1.0,
            };
            Liquidity {
                price,
                adv_shares,
                baseline,
                adv_value: adv_shares.zip(reference_price).map(|(a, p)| a * p),
                market_cap: self.shares.zip(reference_price).map(|(s, p)| s as f64 * p),
                day_fraction,
            }
        }
    }

    /// Equal, or (a running mean against a plain one) within a relative 1e-9.
    fn close(a: Option<f64>, b: Option<f64>) -> bool {
        match (a, b) {
            (Some(a), Some(b)) => a == b || (a - b).abs() <= 1e-9 * a.abs().max(b.abs()),
            (a, b) => a == b,
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// The split, lazily bucketed state answers like a plain list of every call.
        #[test]
        fn agrees_with_a_plain_list_of_every_call(
            start in 0i64..86_400,
            offset_secs in prop_oneof![Just(9 * 3600), Just(0), Just(-5 * 3600)],
            ops in proptest::collection::vec((step(), op(), 0i64..2 * BUCKET_SECS * NANOS_PER_SEC), 1..120),
        ) {
            let mut market = Market::new(SYMBOLS);
            let handles: Vec<u32> = (0..SYMBOLS)
                .map(|i| market.handle(&format!("S{i}").as_str().into()).unwrap())
                .collect();
            let mut records: Vec<Record> = Vec::new();
            let mut nanos = (1_742_137_200 + start) * NANOS_PER_SEC;
            for (dt, op, probe) in ops {
                nanos += dt;
                let ts = Timestamp { utc_nanos: nanos, offset_secs };
                match op {
                    Op::Trade { sym, qty, price } => market.apply_trade(handles[sym], ts, qty, price),
                    Op::Fill { sym, qty, price } => market.apply_fill(handles[sym], ts, qty, price),
                    Op::Buyer { sym, account } => market.note_buyer(handles[sym], ts, u64::from(account)),
                    Op::Instrument { sym, prev_close, adv, shares } => {
                        let instrument = Instrument {
                            symbol: format!("S{sym}").as_str().into(),
                            prev_close,
                            name: None,
                            market: None,
                            currency: "JPY".into(),
                            lot_size: 100,
                            shares_outstanding: shares,
                            adv_shares: adv,
                            issuer_country: None,
                        };
                        market.apply_instrument(handles[sym], &instrument);
                    }
                    Op::Query { sym, back, min_observed_secs } => {
                        let model = Model::of(&records, sym);
                        let view = market.get(handles[sym]);
                        prop_assert_eq!(view.day_volume(), model.day_volume());
                        prop_assert_eq!(view.last_price(), model.last_price);
                        prop_assert_eq!(view.mark(), model.last_price.or(model.prev_close));
                        prop_assert_eq!(view.distinct_buyers_today(), model.buyers.len());
                        prop_assert_eq!(view.prev_close(), model.prev_close);
                        prop_assert_eq!(view.adv_shares(), model.adv);
                        prop_assert_eq!(view.shares_outstanding(), model.shares);
                        prop_assert_eq!(view.symbol().as_str(), format!("S{sym}"));
                        // Probes from up to two hours before now (often before the day's first trade) to
                        // two buckets past it, on and off bucket boundaries.
                        for q in [nanos - back * NANOS_PER_SEC, nanos + probe - 3 * BUCKET_SECS * NANOS_PER_SEC, nanos + probe] {
                            prop_assert_eq!(view.volume_before(q), model.volume_before(q), "at {}", q);
                        }
                        let before = nanos - back * NANOS_PER_SEC;
                        let got = view.liquidity(ts, before, min_observed_secs, SESSION_SECS);
                        let want = model.liquidity(ts, before, min_observed_secs);
                        prop_assert_eq!(got.baseline, want.baseline);
                        prop_assert_eq!(got.price, want.price);
                        prop_assert!(close(got.adv_shares, want.adv_shares), "{:?} vs {:?}", got, want);
                        prop_assert!(close(got.adv_value, want.adv_value), "{:?} vs {:?}", got, want);
                        prop_assert!(close(Some(got.day_fraction), Some(want.day_fraction)), "{:?} vs {:?}", got, want);
                        prop_assert_eq!(got.market_cap, want.market_cap);
                    }
                }
                records.push(Record { ts, op });
            }
        }
    }
}
