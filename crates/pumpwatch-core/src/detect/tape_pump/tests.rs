//! `tape_pump` on tapes where it must fire (thin-stock pumps, on a TSE code and on a crypto
//! pair with 8-decimal prices) and on look-alikes where it must stay quiet (a liquid stock's
//! busy day, thin trading with an odd block, a burst that does not move the price, a rally
//! sold into), through the whole engine, with the tape alone.

use pumpwatch_model::{decode_json_line, Alert, Event, EventType};

use crate::config::EngineConfig;
use crate::engine::{Engine, Input, Output};
use crate::partition::Partition;

/// 09:00 JST on 2025-03-17, in seconds from it.
fn ts(secs: f64) -> String {
    let base = chrono_like(secs);
    format!("2025-03-17T{base}+09:00")
}

/// `HH:MM:SS.mmm` after 09:00:00.
fn chrono_like(secs: f64) -> String {
    let millis = (secs * 1000.0).round() as i64;
    let (h, rest) = (9 + millis / 3_600_000, millis % 3_600_000);
    format!(
        "{h:02}:{:02}:{:02}.{:03}",
        rest / 60_000,
        rest / 1000 % 60,
        rest % 1000
    )
}

fn print(secs: f64, symbol: &str, qty: u64, price: &str, aggressor: Option<&str>) -> Event {
    let aggressor = aggressor
        .map(|a| format!(",\"aggressor\":\"{a}\""))
        .unwrap_or_default();
    let line = format!(
        "{{\"type\":\"trade\",\"ts\":\"{}\",\"symbol\":\"{symbol}\",\"qty\":{qty},\"price\":\"{price}\",\"trade_id\":\"T{}\"{aggressor}}}",
        ts(secs),
        (secs * 1000.0) as i64
    );
    decode_json_line(line.as_bytes(), Some(EventType::Trade)).unwrap()
}

/// A quiet symbol: one small print every `every` seconds for `minutes`, around `price`.
fn quiet_tape(
    symbol: &str,
    minutes: u64,
    every: f64,
    qty: u64,
    price: f64,
    decimals: usize,
) -> Vec<Event> {
    let mut events = Vec::new();
    let mut t = 0.0;
    let mut i = 0u64;
    while t < minutes as f64 * 60.0 {
        // A tick up and down around the price.
        let up = i % 2 == 0;
        let p = price * (1.0 + if up { 0.002 } else { -0.002 });
        let side = if up { "buy" } else { "sell" };
        events.push(print(
            t,
            symbol,
            qty,
            &format!("{p:.decimals$}"),
            Some(side),
        ));
        t += every;
        i += 1;
    }
    events
}

/// A pump from `start` s: `n` buyer-initiated prints over `secs` seconds, each `qty`, the
/// price climbing linearly by `rise` (0.3: +30%).
#[allow(clippy::too_many_arguments)]
fn pump(
    symbol: &str,
    start: f64,
    secs: f64,
    n: u64,
    qty: u64,
    price: f64,
    rise: f64,
    decimals: usize,
) -> Vec<Event> {
    prints_by(symbol, start, secs, n, qty, price, rise, decimals, "buy")
}

/// `n` prints initiated by `aggressor` over `secs` seconds, the price moving by `rise`.
#[allow(clippy::too_many_arguments)]
fn prints_by(
    symbol: &str,
    start: f64,
    secs: f64,
    n: u64,
    qty: u64,
    price: f64,
    rise: f64,
    decimals: usize,
    aggressor: &str,
) -> Vec<Event> {
    (0..n)
        .map(|i| {
            let f = i as f64 / n as f64;
            let p = price * (1.0 + rise * f);
            print(
                start + secs * f,
                symbol,
                qty,
                &format!("{p:.decimals$}"),
                Some(aggressor),
            )
        })
        .collect()
}

fn run(mut events: Vec<Event>, partition: Partition) -> Vec<Alert> {
    events.sort_by_key(|e| e.ts.utc_nanos);
    let mut engine = Engine::for_partition(EngineConfig::default(), partition).unwrap();
    let mut out = Vec::new();
    for event in events {
        engine.step(Input::Event(event), &mut out);
    }
    engine.step(Input::Flush, &mut out);
    out.into_iter()
        .filter_map(|o| match o {
            Output::Alert { alert, .. } if alert.rule == super::RULE => Some(alert),
            _ => None,
        })
        .collect()
}

fn alerts(events: Vec<Event>) -> Vec<Alert> {
    run(events, Partition::WHOLE)
}

#[test]
fn a_thin_stocks_pump_is_caught_within_the_minute() {
    // 90 quiet minutes (a print every 2 min), then 200 buy prints in 60 s, +30%.
    let mut events = quiet_tape("130A", 90, 120.0, 100, 216.0, 0);
    let start = 90.0 * 60.0;
    events.extend(pump("130A", start, 60.0, 200, 500, 216.0, 0.30, 0));
    let found = alerts(events);
    assert_eq!(found.len(), 1, "one alert per pump: {found:#?}");
    let alert = &found[0];
    assert_eq!(alert.symbols, vec!["130A".to_string()]);
    assert!(alert.account_ids.is_empty());
    let fired_after = (alert.ts.utc_nanos - found_ts(start)) as f64 / 1e9;
    assert!(fired_after <= 60.0, "fired {fired_after} s after the start");
    assert!(alert.features["volume_multiple"].crossed == Some(true));
    assert_eq!(alert.features["price_jump"].crossed, Some(true));
    assert_eq!(alert.features["buy_share"].value, 1.0);
    assert!(alert.summary.contains("130A"), "{}", alert.summary);
    assert_eq!(alert.evidence.last().unwrap().kind, "trade");
}

fn found_ts(secs: f64) -> i64 {
    print(secs, "X", 1, "1", None).ts.utc_nanos
}

#[test]
fn a_crypto_pair_with_eight_decimal_prices_is_caught_too() {
    let mut events = quiet_tape("ABC-BTC", 120, 60.0, 3, 0.000_012_34, 8);
    events.extend(pump(
        "ABC-BTC",
        120.0 * 60.0,
        45.0,
        150,
        40,
        0.000_012_34,
        0.5,
        8,
    ));
    let found = alerts(events);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert!(
        found[0].summary.contains("0.0000123"),
        "{}",
        found[0].summary
    );
}

#[test]
fn a_liquid_stocks_busy_hour_is_not_a_pump() {
    // A print a second for 90 minutes, then three times as busy and +3%: an ordinary news day.
    let mut events = quiet_tape("7203", 90, 1.0, 200, 2_800.0, 1);
    events.extend(pump(
        "7203",
        90.0 * 60.0,
        600.0,
        1_800,
        200,
        2_800.0,
        0.03,
        1,
    ));
    assert!(alerts(events).is_empty());
}

#[test]
fn thin_trading_with_an_odd_block_is_not_a_pump() {
    // A thin stock over a day: a print every 5 minutes, one 50 000-share block at +8%.
    let mut events = quiet_tape("4395", 300, 300.0, 100, 150.0, 0);
    events.push(print(
        200.0 * 60.0 + 7.0,
        "4395",
        50_000,
        "162",
        Some("buy"),
    ));
    assert!(alerts(events).is_empty());
}

#[test]
fn a_burst_that_does_not_move_the_price_or_is_sold_into_is_not_a_pump() {
    let start = 90.0 * 60.0;
    // Flat: many prints, no jump.
    let mut flat = quiet_tape("130A", 90, 120.0, 100, 216.0, 0);
    flat.extend(pump("130A", start, 60.0, 200, 500, 216.0, 0.0, 0));
    assert!(alerts(flat).is_empty());
    // Up, but sellers initiated the prints.
    let mut sold = quiet_tape("130A", 90, 120.0, 100, 216.0, 0);
    sold.extend(prints_by(
        "130A", start, 60.0, 200, 500, 216.0, 0.3, 0, "sell",
    ));
    assert!(alerts(sold).is_empty());
}

#[test]
fn a_big_opening_auction_does_not_hide_a_later_pump() {
    // A 200 000-share opening cross, 90 quiet minutes of 100-share prints, then 40 buy prints
    // of 300 in a minute, +10%: the cross must not make the pump's volume look ordinary.
    let mut events = vec![print(0.0, "3480", 200_000, "213", None)];
    events.extend(quiet_tape("3480", 90, 120.0, 100, 213.0, 0));
    events.extend(pump("3480", 90.0 * 60.0, 60.0, 40, 300, 213.0, 0.10, 0));
    let found = alerts(events);
    assert_eq!(found.len(), 1, "{found:#?}");
    let usual = found[0].features["usual_volume_per_minute"].value;
    assert!(usual < 200.0, "usual volume {usual} per minute");
}

#[test]
fn without_a_learned_baseline_nothing_fires() {
    // The pump is the symbol's first half hour on the tape.
    let events = pump("130A", 0.0, 60.0, 200, 500, 216.0, 0.3, 0);
    assert!(alerts(events).is_empty());
}

#[test]
fn split_engines_report_a_pump_once() {
    let mut events = quiet_tape("130A", 90, 120.0, 100, 216.0, 0);
    events.extend(pump("130A", 90.0 * 60.0, 60.0, 200, 500, 216.0, 0.30, 0));
    let whole = alerts(events.clone());
    let mut split: Vec<Alert> = (0..3)
        .flat_map(|i| run(events.clone(), Partition::new(i, 3).unwrap()))
        .collect();
    split.sort_by(|a, b| a.alert_id.cmp(&b.alert_id));
    assert_eq!(whole.len(), 1);
    assert_eq!(split, whole);
}

#[test]
fn a_snapshot_mid_tape_restores_the_same_alerts() {
    let mut events = quiet_tape("130A", 90, 120.0, 100, 216.0, 0);
    events.extend(pump("130A", 90.0 * 60.0, 60.0, 200, 500, 216.0, 0.30, 0));
    events.sort_by_key(|e| e.ts.utc_nanos);
    let expected = alerts(events.clone());
    for cut in [10, events.len() / 2, events.len() - 20] {
        let mut first = Engine::for_partition(EngineConfig::default(), Partition::WHOLE).unwrap();
        let mut out = Vec::new();
        for event in &events[..cut] {
            first.step(Input::Event(event.clone()), &mut out);
        }
        let bytes = first.snapshot();
        let mut second =
            Engine::restore(EngineConfig::default(), Partition::WHOLE, &bytes).unwrap();
        for event in &events[cut..] {
            second.step(Input::Event(event.clone()), &mut out);
        }
        second.step(Input::Flush, &mut out);
        let got: Vec<Alert> = out
            .into_iter()
            .filter_map(|o| match o {
                Output::Alert { alert, .. } if alert.rule == super::RULE => Some(alert),
                _ => None,
            })
            .collect();
        assert_eq!(got, expected, "cut at {cut}");
    }
}

/// Folding quiet minutes at once gives what folding them one by one gives.
#[test]
fn quiet_minutes_fold_at_once_as_one_by_one() {
    let decay = 0.5f64.powf(1.0 / 240.0);
    let mut one_by_one = super::SymbolTape::new(0);
    let mut at_once = super::SymbolTape::new(0);
    for tape in [&mut one_by_one, &mut at_once] {
        tape.fold_minute(12, 81.5, decay);
        tape.fold_minute(3, 17.2, decay);
    }
    for _ in 0..17 {
        one_by_one.fold_minute(0, 0.0, decay);
    }
    at_once.fold_quiet_minutes(17, decay);
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-12 * a.abs().max(1.0);
    assert_eq!(one_by_one.minutes, at_once.minutes);
    assert!(close(one_by_one.weight, at_once.weight));
    assert!(close(one_by_one.usual_prints, at_once.usual_prints));
    assert!(close(one_by_one.usual_log_qty, at_once.usual_log_qty));
    at_once.fold_quiet_minutes(0, decay);
    assert_eq!(at_once.minutes, one_by_one.minutes);
}
