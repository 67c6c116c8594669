//! The listed universe: reference data for every symbol and its intraday price path.
//!
//! A symbol's price at any session instant comes from one per-minute path:
//! a random walk times an optional *overlay* (a pump, a news rally) that the
//! planner sets before the paths are built. Orders, fills and the anonymous
//! tape all read the same path, so a pump shows up consistently in every
//! event type.

use rand::seq::SliceRandom;
use rand::Rng;

use crate::clock::{MINUTE_US, SESSION_MINUTES};
use crate::error::SimError;
use crate::rng::{chance, log_uniform, normal, sub_rng, uniform, Stream};

/// Size class, which sets the ranges every other property is drawn from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Class {
    /// Liquid TSE-Prime names.
    Large,
    /// Mid caps; some sit just above the "thin" line, which look-alikes use.
    Mid,
    /// Thin, low-priced TSE-Standard/Growth names: campaign and rally targets.
    Small,
    /// Foreign small caps (HKEX, NASDAQ) quoted in their own currency.
    Foreign,
}

/// Reference data for one symbol. Prices are in hundredths of the currency
/// unit ("centi") so sub-yen and sub-dollar ticks stay exact integers.
#[derive(Debug, Clone)]
pub(crate) struct Instrument {
    pub code: String,
    pub name: String,
    pub market: &'static str,
    pub class: Class,
    pub currency: Option<&'static str>,
    pub lot: u32,
    pub prev_close: u32,
    pub adv: u64,
    pub shares_out: u64,
    /// Whether the instrument event carries `adv_shares` (10% do not, so the
    /// engine must learn baselines from the stream).
    pub show_adv: bool,
    pub show_shares: bool,
    pub issuer_country: &'static str,
    /// Daily volatility of the random walk.
    pub vol_day: f64,
}

/// How to bring an arbitrary price onto the tick grid.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Round {
    Nearest,
    Up,
    Down,
}

impl Instrument {
    pub(crate) fn is_tse(&self) -> bool {
        self.class != Class::Foreign
    }

    pub(crate) fn prev_close_yen(&self) -> f64 {
        f64::from(self.prev_close) / 100.0
    }

    /// Traded value of an average day at the previous close.
    pub(crate) fn turnover_yen(&self) -> f64 {
        self.adv as f64 * self.prev_close_yen()
    }

    pub(crate) fn market_cap_yen(&self) -> f64 {
        self.shares_out as f64 * self.prev_close_yen()
    }

    /// Tick size in centi at a price level: the TSE table for ordinary
    /// stocks (¥1 up to ¥3,000, then ¥5, ¥10, ...), one cent abroad.
    pub(crate) fn tick(&self, centi: u32) -> u32 {
        if !self.is_tse() {
            return 1;
        }
        match centi {
            0..=300_000 => 100,
            300_001..=500_000 => 500,
            500_001..=3_000_000 => 1_000,
            3_000_001..=5_000_000 => 5_000,
            _ => 10_000,
        }
    }

    /// A price in currency units brought onto the tick grid, never below one tick.
    pub(crate) fn to_tick(&self, price: f64, mode: Round) -> u32 {
        let raw = (price * 100.0).clamp(1.0, 4.0e9);
        let tick = f64::from(self.tick(raw as u32));
        let steps = raw / tick;
        let steps = match mode {
            Round::Nearest => steps.round(),
            Round::Up => steps.ceil(),
            Round::Down => steps.floor(),
        };
        (steps.max(1.0) * tick) as u32
    }
}

/// The universe plus the per-minute price paths.
#[derive(Debug)]
pub(crate) struct Market {
    pub ins: Vec<Instrument>,
    /// `SESSION_MINUTES + 1` prices per symbol, in currency units.
    paths: Vec<Vec<f64>>,
    pub large: Vec<u32>,
    pub mid: Vec<u32>,
    pub small: Vec<u32>,
}

/// Multiplicative price factor over the day as `(session minute, factor)`
/// keyframes, interpolated in log space.
pub(crate) type Overlay = Vec<(f64, f64)>;

const PREFIXES: [&str; 24] = [
    "Sakura", "Fuji", "Nippon", "Tokai", "Kanto", "Hokuriku", "Daiichi", "Asahi", "Yamato",
    "Kyowa", "Toyo", "Chuo", "Meiji", "Taisei", "Sanko", "Hinode", "Shinwa", "Kita", "Minami",
    "Nishi", "Higashi", "Ozora", "Mirai", "Tsubasa",
];
const SECTORS: [&str; 20] = [
    "Electric",
    "Chemical",
    "Pen",
    "Trading",
    "Foods",
    "Logistics",
    "Systems",
    "Pharma",
    "Steel",
    "Bank",
    "Robotics",
    "Textile",
    "Construction",
    "Software",
    "Retail",
    "Motors",
    "Precision",
    "Paper",
    "Gas",
    "Securities",
];
const SUFFIXES: [&str; 4] = ["Co.", "Holdings", "Corp.", "Industries"];

impl Market {
    /// Draws the reference data of `n` symbols.
    /// `alphanumeric`: some codes take the post-2024 TSE form (`130A`).
    pub(crate) fn generate(seed: u64, n: u32, alphanumeric: bool) -> Result<Market, SimError> {
        if !(10..=8_000).contains(&n) {
            return Err(SimError::Params(format!(
                "symbols must be between 10 and 8000, got {n}"
            )));
        }
        let mut rng = sub_rng(seed, Stream::Universe, 0);
        let n = n as usize;
        let n_foreign = if n >= 40 { (n / 100).max(1) } else { 0 };
        let n_tse = n - n_foreign;
        let n_large = (n_tse as f64 * 0.25).round() as usize;
        let n_mid = (n_tse as f64 * 0.35).round() as usize;

        // Distinct four-digit TSE codes, listed in code order like a real
        // instrument master; the size class is independent of the code.
        let mut codes: Vec<u32> = (1301..=9999).collect();
        codes.shuffle(&mut rng);
        codes.truncate(n_tse);
        codes.sort_unstable();
        let mut classes: Vec<Class> = (0..n_tse)
            .map(|i| {
                if i < n_large {
                    Class::Large
                } else if i < n_large + n_mid {
                    Class::Mid
                } else {
                    Class::Small
                }
            })
            .collect();
        classes.shuffle(&mut rng);

        let mut ins = Vec::with_capacity(n);
        for (code, class) in codes.iter().zip(classes) {
            ins.push(tse_instrument(
                &mut rng,
                tse_code(*code, alphanumeric),
                class,
            ));
        }
        let mut foreign_codes = std::collections::BTreeSet::new();
        for i in 0..n_foreign {
            let hk = i % 2 == 0;
            let code = loop {
                let c = if hk {
                    format!("0{}", rng.random_range(100..1000))
                } else {
                    (0..4)
                        .map(|_| char::from(b'A' + rng.random_range(0..26u8)))
                        .collect()
                };
                if foreign_codes.insert(c.clone()) {
                    break c;
                }
            };
            ins.push(foreign_instrument(&mut rng, code, hk));
        }

        let mut market = Market {
            ins,
            paths: Vec::new(),
            large: Vec::new(),
            mid: Vec::new(),
            small: Vec::new(),
        };
        for (i, inst) in market.ins.iter().enumerate() {
            let list = match inst.class {
                Class::Large => &mut market.large,
                Class::Mid => &mut market.mid,
                Class::Small => &mut market.small,
                Class::Foreign => continue,
            };
            list.push(i as u32);
        }
        Ok(market)
    }

    /// Builds every symbol's path: a random walk with an opening gap, times
    /// the symbol's overlay if the planner set one.
    pub(crate) fn build_paths(&mut self, seed: u64, overlays: &[Option<Overlay>]) {
        let steps = SESSION_MINUTES as usize;
        self.paths = self
            .ins
            .iter()
            .enumerate()
            .map(|(i, inst)| {
                let mut rng = sub_rng(seed, Stream::Paths, i as u64);
                let sigma = inst.vol_day / (SESSION_MINUTES as f64).sqrt();
                let mut logp = inst.prev_close_yen().ln() + 0.4 * inst.vol_day * normal(&mut rng);
                let overlay = overlays.get(i).and_then(|o| o.as_ref());
                (0..=steps)
                    .map(|m| {
                        if m > 0 {
                            logp += sigma * normal(&mut rng);
                        }
                        let f = overlay.map_or(1.0, |o| overlay_factor(o, m as f64));
                        logp.exp() * f
                    })
                    .collect()
            })
            .collect();
    }

    /// The unrounded price at a session instant.
    pub(crate) fn raw_at(&self, sym: u32, session_us: i64) -> f64 {
        let path = &self.paths[sym as usize];
        let x = (session_us.max(0) as f64 / MINUTE_US as f64).min(SESSION_MINUTES as f64);
        let m = (x.floor() as usize).min(path.len() - 2);
        let frac = x - m as f64;
        (path[m].ln() * (1.0 - frac) + path[m + 1].ln() * frac).exp()
    }

    /// The market price at a session instant, on the tick grid.
    pub(crate) fn price_at(&self, sym: u32, session_us: i64) -> u32 {
        self.ins[sym as usize].to_tick(self.raw_at(sym, session_us), Round::Nearest)
    }

    pub(crate) fn inst(&self, sym: u32) -> &Instrument {
        &self.ins[sym as usize]
    }
}

/// Interpolates an overlay at a session minute.
pub(crate) fn overlay_factor(o: &[(f64, f64)], minute: f64) -> f64 {
    match o.iter().position(|(m, _)| *m > minute) {
        None => o.last().map_or(1.0, |k| k.1),
        Some(0) => o[0].1,
        Some(j) => {
            let (m0, f0) = o[j - 1];
            let (m1, f1) = o[j];
            let w = if m1 > m0 {
                (minute - m0) / (m1 - m0)
            } else {
                1.0
            };
            (f0.ln() * (1.0 - w) + f1.ln() * w).exp()
        }
    }
}

fn company_name<R: Rng>(rng: &mut R) -> String {
    format!(
        "{} {} {}",
        PREFIXES[rng.random_range(0..PREFIXES.len())],
        SECTORS[rng.random_range(0..SECTORS.len())],
        SUFFIXES[rng.random_range(0..SUFFIXES.len())]
    )
}

/// The code text of TSE code number `n` (1301..=9999): four digits, or, for about one code
/// in 37 when `alphanumeric`, the form new listings get since 2024: three digits and a letter
/// (`1332` → `133C`). Distinct numbers give distinct codes, in either form.
fn tse_code(n: u32, alphanumeric: bool) -> String {
    if alphanumeric && n % 37 == 0 {
        format!("{:03}{}", n / 10, char::from(b'A' + (n % 10) as u8))
    } else {
        format!("{n:04}")
    }
}

fn tse_instrument<R: Rng>(rng: &mut R, code: String, class: Class) -> Instrument {
    let (price, adv, shares, market, vol) = match class {
        Class::Large => (
            log_uniform(rng, 500.0, 10_000.0),
            log_uniform(rng, 1.0e6, 2.0e7),
            log_uniform(rng, 1.0e8, 5.0e9),
            "TSE-Prime",
            uniform(rng, 0.012, 0.025),
        ),
        Class::Mid => (
            log_uniform(rng, 300.0, 4_000.0),
            log_uniform(rng, 1.0e5, 1.5e6),
            log_uniform(rng, 2.0e7, 4.0e8),
            if chance(rng, 0.55) {
                "TSE-Prime"
            } else {
                "TSE-Standard"
            },
            uniform(rng, 0.015, 0.03),
        ),
        _ => (
            log_uniform(rng, 80.0, 500.0),
            log_uniform(rng, 3.0e3, 1.5e5),
            log_uniform(rng, 3.0e6, 4.0e7),
            if chance(rng, 0.65) {
                "TSE-Standard"
            } else {
                "TSE-Growth"
            },
            uniform(rng, 0.02, 0.05),
        ),
    };
    let mut inst = Instrument {
        code,
        name: company_name(rng),
        market,
        class,
        currency: None,
        lot: 100,
        prev_close: 0,
        adv: round_to(adv, 100.0),
        shares_out: round_to(shares, 1_000.0),
        show_adv: true,
        show_shares: true,
        issuer_country: "JP",
        vol_day: vol,
    };
    inst.prev_close = inst.to_tick(price, Round::Nearest);
    hide_some_reference(rng, &mut inst);
    inst
}

fn foreign_instrument<R: Rng>(rng: &mut R, code: String, hk: bool) -> Instrument {
    let (price, adv, shares, lot) = if hk {
        (
            log_uniform(rng, 0.25, 8.0),
            log_uniform(rng, 1.0e6, 5.0e7),
            log_uniform(rng, 5.0e8, 5.0e9),
            if chance(rng, 0.5) { 1_000 } else { 2_000 },
        )
    } else {
        (
            log_uniform(rng, 0.5, 20.0),
            log_uniform(rng, 5.0e4, 5.0e6),
            log_uniform(rng, 5.0e6, 1.0e8),
            1,
        )
    };
    let mut inst = Instrument {
        code,
        name: format!(
            "{} Group Ltd",
            PREFIXES[rng.random_range(0..PREFIXES.len())]
        ),
        market: if hk { "HKEX" } else { "NASDAQ" },
        class: Class::Foreign,
        currency: Some(if hk { "HKD" } else { "USD" }),
        lot,
        prev_close: 0,
        adv: round_to(adv, f64::from(lot)),
        shares_out: round_to(shares, 1_000.0),
        show_adv: true,
        show_shares: true,
        issuer_country: if hk || chance(rng, 0.6) { "CN" } else { "US" },
        vol_day: uniform(rng, 0.02, 0.06),
    };
    inst.prev_close = inst.to_tick(price, Round::Nearest);
    hide_some_reference(rng, &mut inst);
    inst
}

/// About one instrument in ten omits ADV and/or shares outstanding, as
/// reference feeds do for new listings and foreign names.
fn hide_some_reference<R: Rng>(rng: &mut R, inst: &mut Instrument) {
    if chance(rng, 0.10) {
        match rng.random_range(0..3) {
            0 => inst.show_adv = false,
            1 => inst.show_shares = false,
            _ => {
                inst.show_adv = false;
                inst.show_shares = false;
            }
        }
    }
}

fn round_to(x: f64, unit: f64) -> u64 {
    ((x / unit).round().max(1.0) * unit) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tse_tick_table() {
        let m = Market::generate(1, 100, false).unwrap();
        let inst = m.inst(m.large[0]);
        assert_eq!(inst.tick(300_000), 100);
        assert_eq!(inst.tick(300_100), 500);
        assert_eq!(inst.to_tick(3_001.0, Round::Up), 300_500);
        assert_eq!(inst.to_tick(112.4, Round::Nearest), 11_200);
        assert_eq!(inst.to_tick(112.4, Round::Up), 11_300);
    }

    #[test]
    fn overlay_interpolates_and_clamps() {
        let o = vec![(10.0, 1.0), (20.0, 2.0)];
        assert_eq!(overlay_factor(&o, 0.0), 1.0);
        assert_eq!(overlay_factor(&o, 30.0), 2.0);
        let mid = overlay_factor(&o, 15.0);
        assert!((mid - 2f64.sqrt()).abs() < 1e-9);
    }

    #[test]
    fn class_mix_is_realistic() {
        let m = Market::generate(3, 1000, true).unwrap();
        assert_eq!(m.ins.len(), 1000);
        assert!(m.small.len() > 350 && m.small.len() < 420);
        assert!(m.ins.iter().any(|i| i.class == Class::Foreign));
        assert!(m.ins.iter().any(|i| !i.show_adv || !i.show_shares));
        let mut codes: Vec<&str> = m.ins.iter().map(|i| i.code.as_str()).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), 1000);
        let alphanumeric = m
            .ins
            .iter()
            .filter(|i| i.code.len() == 4 && i.code.as_bytes()[3].is_ascii_uppercase())
            .filter(|i| i.code.as_bytes()[..3].iter().all(u8::is_ascii_digit))
            .count();
        assert!(
            (10..60).contains(&alphanumeric),
            "{alphanumeric} codes like 130A"
        );
    }

    #[test]
    fn alphanumeric_codes_are_distinct_and_look_like_tse_ones() {
        assert_eq!(tse_code(1332, true), "133C");
        assert_eq!(tse_code(1332, false), "1332");
        assert_eq!(tse_code(1333, true), "1333");
        let codes: std::collections::BTreeSet<String> =
            (1301..=9999).map(|n| tse_code(n, true)).collect();
        assert_eq!(codes.len(), 9999 - 1301 + 1);
    }
}
