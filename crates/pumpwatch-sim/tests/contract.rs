//! Every generated line follows the event contract (crates/pumpwatch-model/events.md):
//! field names and types, sorted files, `+09:00` timestamps, both price
//! encodings, consistent ids; injected malformed lines are exactly those
//! reported.

mod common;

use std::collections::BTreeSet;

use common::{dec, micros, s};
use pumpwatch_sim::Layout;
use serde_json::Value;

const STEMS: [(&str, &str); 7] = [
    ("instruments", "instrument"),
    ("positions", "position"),
    ("cash", "cash"),
    ("auth", "auth"),
    ("orders", "order"),
    ("executions", "execution"),
    ("trades", "trade"),
];

const AUTH_ACTIONS: [&str; 10] = [
    "login_success",
    "login_failure",
    "mfa_success",
    "mfa_failure",
    "logout",
    "password_change",
    "email_change",
    "phone_change",
    "device_registered",
    "withdrawal_account_change",
];

fn text(e: &Value, k: &str) -> Result<(), String> {
    match e.get(k) {
        Some(Value::String(v)) if !v.is_empty() => Ok(()),
        _ => Err(format!("{k} missing or not a non-empty string")),
    }
}

fn decimal(e: &Value, k: &str) -> Result<f64, String> {
    let v = e.get(k).ok_or(format!("{k} missing"))?;
    let x = dec(v).ok_or(format!("{k} not a decimal"))?;
    if x <= 0.0 {
        return Err(format!("{k} not positive"));
    }
    Ok(x)
}

fn qty(e: &Value) -> Result<u64, String> {
    match e.get("qty").and_then(Value::as_u64) {
        Some(q) if q > 0 => Ok(q),
        _ => Err("qty missing or not a positive integer".into()),
    }
}

fn side(e: &Value) -> Result<(), String> {
    match s(e, "side") {
        "buy" | "sell" => Ok(()),
        other => Err(format!("bad side {other:?}")),
    }
}

/// Checks one line against the contract; returns its type and time.
fn validate(line: &str) -> Result<(String, i64), String> {
    let e: Value = serde_json::from_str(line).map_err(|e| format!("not JSON: {e}"))?;
    let ty = s(&e, "type").to_string();
    let ts = e.get("ts").and_then(Value::as_str).ok_or("ts missing")?;
    if !ts.ends_with("+09:00") {
        return Err(format!("ts {ts} not in +09:00"));
    }
    let frac = ts.split('.').nth(1).ok_or("ts without fraction")?;
    if !(frac.len() == 9 || frac.len() == 12) {
        return Err(format!("ts {ts}: fraction should be ms or µs"));
    }
    let t = chrono::DateTime::parse_from_rfc3339(ts)
        .map_err(|e| format!("ts {ts}: {e}"))?
        .timestamp_micros();
    let account = |e: &Value| -> Result<(), String> {
        let a = s(e, "account_id");
        if a.len() == 8 && a.starts_with('A') && a[1..].bytes().all(|b| b.is_ascii_digit()) {
            Ok(())
        } else {
            Err(format!("bad account_id {a:?}"))
        }
    };
    match ty.as_str() {
        "instrument" => {
            text(&e, "symbol")?;
            decimal(&e, "prev_close")?;
            if s(&e, "market").starts_with("TSE") {
                let sym = s(&e, "symbol");
                // Four digits, or since 2024 three digits and a letter (`130A`).
                let b = sym.as_bytes();
                let tse_code = b.len() == 4
                    && b[..3].iter().all(u8::is_ascii_digit)
                    && (b[3].is_ascii_digit() || b[3].is_ascii_uppercase());
                if !tse_code {
                    return Err(format!("TSE symbol {sym:?} is not a TSE code"));
                }
            }
        }
        "position" => {
            account(&e)?;
            text(&e, "symbol")?;
            qty(&e)?;
        }
        "cash" => {
            account(&e)?;
            e.get("amount").and_then(dec).ok_or("amount missing")?;
        }
        "auth" => {
            account(&e)?;
            if !AUTH_ACTIONS.contains(&s(&e, "action")) {
                return Err("bad auth action".into());
            }
        }
        "order" => {
            text(&e, "order_id")?;
            account(&e)?;
            text(&e, "symbol")?;
            side(&e)?;
            let action = e.get("action").and_then(Value::as_str).unwrap_or("new");
            match action {
                "new" | "replace" => {
                    let q = qty(&e)?;
                    if q % 100 != 0 {
                        return Err(format!("order qty {q} not a multiple of the lot"));
                    }
                    match e
                        .get("order_type")
                        .and_then(Value::as_str)
                        .unwrap_or("limit")
                    {
                        "limit" => {
                            decimal(&e, "price")?;
                        }
                        "market" => {}
                        other => return Err(format!("bad order_type {other}")),
                    }
                }
                "cancel" => {}
                other => return Err(format!("bad order action {other}")),
            }
        }
        "execution" => {
            text(&e, "exec_id")?;
            text(&e, "order_id")?;
            account(&e)?;
            text(&e, "symbol")?;
            side(&e)?;
            qty(&e)?;
            decimal(&e, "price")?;
        }
        "trade" => {
            text(&e, "symbol")?;
            qty(&e)?;
            decimal(&e, "price")?;
        }
        other => return Err(format!("unknown type {other:?}")),
    }
    Ok((ty, t))
}

#[test]
fn per_type_files_follow_the_contract() {
    let (dir, summary) = common::generate(&common::small_params(7, Layout::PerType));
    let mut total = 0u64;
    let mut known_fields: BTreeSet<String> = BTreeSet::new();
    let mut price_strings = 0;
    let mut price_numbers = 0;
    let mut extra_fields = 0;
    for (stem, ty) in STEMS {
        let lines = common::lines(&dir.path().join(format!("{stem}.ndjson")));
        assert!(!lines.is_empty(), "{stem} is empty");
        let mut last = i64::MIN;
        for line in &lines {
            let (t, ts) = validate(line).unwrap_or_else(|e| panic!("{stem}: {e}: {line}"));
            assert_eq!(t, ty, "{stem} holds a {t}");
            assert!(ts >= last, "{stem} not sorted by ts at {line}");
            last = ts;
            let e: Value = serde_json::from_str(line).unwrap();
            match e.get("price") {
                Some(Value::String(_)) => price_strings += 1,
                Some(Value::Number(_)) => price_numbers += 1,
                _ => {}
            }
            if e.get("src_seq").is_some() {
                extra_fields += 1;
            }
            known_fields.extend(e.as_object().unwrap().keys().cloned());
        }
        total += lines.len() as u64;
        let counted = summary
            .events_by_type
            .iter()
            .find(|(t, _)| t == ty)
            .map(|(_, n)| *n);
        assert_eq!(counted, Some(lines.len() as u64), "{stem} count");
    }
    assert_eq!(total, summary.events_total);
    assert!(price_strings > 0 && price_numbers > 50 * price_strings / 2);
    assert!(extra_fields > 0, "no event carries an extra field");
    for f in [
        "counterparty_account_id",
        "margin",
        "session_id",
        "adv_shares",
        "aggressor",
    ] {
        assert!(known_fields.contains(f), "no event has {f}");
    }
}

#[test]
fn ids_link_up() {
    let (dir, _) = common::generate(&common::small_params(8, Layout::PerType));
    let orders = common::events(dir.path(), "orders");
    let execs = common::events(dir.path(), "executions");
    let trades = common::events(dir.path(), "trades");
    let order_ids: BTreeSet<&str> = orders.iter().map(|o| s(o, "order_id")).collect();
    let trade_ids: BTreeSet<&str> = trades.iter().map(|t| s(t, "trade_id")).collect();
    assert_eq!(trade_ids.len(), trades.len(), "trade ids are not unique");
    let mut by_trade: std::collections::BTreeMap<&str, Vec<&Value>> = Default::default();
    for x in &execs {
        assert!(
            order_ids.contains(s(x, "order_id")),
            "execution of unknown order: {x}"
        );
        assert!(
            trade_ids.contains(s(x, "trade_id")),
            "execution without a print: {x}"
        );
        by_trade.entry(s(x, "trade_id")).or_default().push(x);
    }
    // Crossed executions: one buy, one sell, same qty and price, two accounts.
    let crossed: Vec<_> = by_trade.values().filter(|v| v.len() == 2).collect();
    assert!(!crossed.is_empty(), "no match between two of our accounts");
    for pair in crossed {
        assert_ne!(s(pair[0], "side"), s(pair[1], "side"));
        assert_ne!(s(pair[0], "account_id"), s(pair[1], "account_id"));
        assert_eq!(pair[0]["qty"], pair[1]["qty"]);
        assert_eq!(dec(&pair[0]["price"]), dec(&pair[1]["price"]));
    }
    assert!(by_trade.values().all(|v| v.len() <= 2));
}

#[test]
fn mixed_layout_holds_the_same_events_merged_by_time() {
    let params = common::small_params(9, Layout::PerType);
    let (per_type, summary) = common::generate(&params);
    let (mixed, msummary) = common::generate(&pumpwatch_sim::SimParams {
        layout: Layout::Mixed,
        ..params
    });
    assert_eq!(summary.events_by_type, msummary.events_by_type);
    let mixed_lines = common::lines(&mixed.path().join("events.ndjson"));
    let rank = |t: &str| STEMS.iter().position(|(_, ty)| *ty == t).unwrap();
    let mut last = (i64::MIN, 0);
    for line in &mixed_lines {
        let (ty, ts) = validate(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        let key = (ts, rank(&ty));
        assert!(key >= last, "mixed file out of order at {line}");
        last = key;
    }
    let mut a: Vec<String> = STEMS
        .iter()
        .flat_map(|(stem, _)| common::lines(&per_type.path().join(format!("{stem}.ndjson"))))
        .collect();
    let mut b = mixed_lines;
    a.sort();
    b.sort();
    assert!(a == b, "mixed and per-type layouts hold different lines");
}

#[test]
fn injected_invalid_lines_are_exactly_the_reported_ones() {
    let params = pumpwatch_sim::SimParams {
        invalid_per_million: 20_000,
        ..common::small_params(10, Layout::PerType)
    };
    let (dir, summary) = common::generate(&params);
    assert!(summary.invalid_injected > 100);
    let mut invalid = 0u64;
    let mut valid = 0u64;
    for (stem, _) in STEMS {
        for line in common::lines(&dir.path().join(format!("{stem}.ndjson"))) {
            match validate(&line) {
                Ok(_) => valid += 1,
                Err(_) => invalid += 1,
            }
        }
    }
    assert_eq!(invalid, summary.invalid_injected);
    assert_eq!(valid, summary.events_total);
}

#[test]
fn timestamps_stay_in_the_trading_day() {
    let (dir, _) = common::generate(&common::small_params(11, Layout::PerType));
    let day = micros("2025-03-17T00:00:00+09:00");
    let at = |h: i64, m: i64| day + (h * 60 + m) * 60_000_000;
    for e in common::events(dir.path(), "trades") {
        let t = micros(s(&e, "ts"));
        let in_session =
            (at(9, 0)..=at(11, 30)).contains(&t) || (at(12, 30)..=at(15, 30)).contains(&t);
        assert!(in_session, "print outside the sessions: {e}");
    }
    for stem in ["instruments", "positions", "cash"] {
        for e in common::events(dir.path(), stem) {
            let t = micros(s(&e, "ts"));
            assert!(
                (at(8, 0)..=at(8, 30)).contains(&t),
                "{stem} outside 08:00-08:30: {e}"
            );
        }
    }
}

/// The realistic shape stamps feeds as real ones are: the instrument master and the whole
/// snapshot each at one instant, the tape to the millisecond with bursts of many prints in one
/// millisecond; the spread shape gives reference rows distinct times.
#[test]
fn realistic_feeds_share_instants_and_spread_ones_do_not() {
    let (dir, _) = common::generate(&common::small_params(12, Layout::PerType));
    let instants = |stem: &str| -> BTreeSet<i64> {
        common::events(dir.path(), stem)
            .iter()
            .map(|e| micros(s(e, "ts")))
            .collect()
    };
    assert_eq!(instants("instruments").len(), 1);
    let snapshot = instants("positions");
    assert_eq!(snapshot.len(), 1, "every position at one instant");
    assert_eq!(instants("cash"), snapshot, "cash at the snapshot instant");
    let mut per_instant = std::collections::BTreeMap::<i64, u32>::new();
    for e in common::events(dir.path(), "trades") {
        let t = micros(s(&e, "ts"));
        assert_eq!(t % 1_000, 0, "a print stamped below the millisecond: {e}");
        *per_instant.entry(t).or_default() += 1;
    }
    let open = micros("2025-03-17T09:00:00+09:00");
    assert!(
        per_instant[&open] >= 60,
        "the opening auction prints {} prints at 09:00:00.000",
        per_instant[&open]
    );
    let bursts = per_instant.values().filter(|n| **n >= 10).count();
    assert!(bursts >= 3, "{bursts} instants with ten prints or more");
    assert!(
        common::events(dir.path(), "instruments")
            .iter()
            .any(|e| s(e, "symbol").ends_with(|c: char| c.is_ascii_uppercase())),
        "some codes are alphanumeric"
    );

    let spread = pumpwatch_sim::SimParams {
        shape: pumpwatch_sim::Shape::Spread,
        ..common::small_params(12, Layout::PerType)
    };
    let (dir, _) = common::generate(&spread);
    let positions = common::events(dir.path(), "positions");
    let distinct: BTreeSet<i64> = positions.iter().map(|e| micros(s(e, "ts"))).collect();
    assert_eq!(
        distinct.len(),
        positions.len(),
        "spread rows have their own times"
    );
}
