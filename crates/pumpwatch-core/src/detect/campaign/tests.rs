//! `coordinated_thin_buying` and `pre_positioned_seller` through the whole engine: a campaign
//! of takeover-like buyers on a thin symbol with an early buyer selling to them (matched by
//! trade id, and by timing when the feed has no ids), and look-alikes that must stay quiet —
//! the same buying from the owners' usual logins, a rally bought with cash, a seller who
//! bought only once the buying had begun — with the accounts split across engines too.

use pumpwatch_model::{decode_json_line, Alert, Event};

use crate::config::EngineConfig;
use crate::engine::{Engine, Input, Output};
use crate::partition::{merge_in_firing_order, Partition};

/// `HH:MM:SS` after 09:00 JST on 2025-03-17.
fn ts(secs: u64) -> String {
    format!(
        "2025-03-17T{:02}:{:02}:{:02}+09:00",
        9 + secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

fn event(line: String) -> Event {
    decode_json_line(line.as_bytes(), None).unwrap_or_else(|e| panic!("{line}: {e:?}"))
}

fn instruments() -> Vec<Event> {
    [
        r#"{"type":"instrument","ts":"2025-03-17T08:00:00+09:00","symbol":"7203","prev_close":2800,"adv_shares":20000000,"shares_outstanding":16000000000}"#,
        r#"{"type":"instrument","ts":"2025-03-17T08:00:00+09:00","symbol":"130A","prev_close":150,"adv_shares":20000,"shares_outstanding":10000000}"#,
    ]
    .iter()
    .map(|l| event(l.to_string()))
    .collect()
}

fn login(secs: u64, account: &str, country: &str, mfa: &str) -> Event {
    event(format!(
        r#"{{"type":"auth","ts":"{}","account_id":"{account}","action":"login_success","ip":"ip-{account}","device_id":"d-{account}","country":"{country}","asn":"2516","mfa":"{mfa}","session_id":"s-{account}"}}"#,
        ts(secs)
    ))
}

fn order(
    secs: u64,
    id: &str,
    account: &str,
    symbol: &str,
    side: &str,
    qty: u64,
    price: u64,
) -> Event {
    event(format!(
        r#"{{"type":"order","ts":"{}","order_id":"{id}","account_id":"{account}","symbol":"{symbol}","side":"{side}","order_type":"limit","qty":{qty},"price":{price},"session_id":"s-{account}","ip":"ip-{account}"}}"#,
        ts(secs)
    ))
}

fn fill(
    secs: u64,
    id: &str,
    account: &str,
    side: &str,
    qty: u64,
    price: u64,
    trade: Option<&str>,
) -> Event {
    let trade = trade
        .map(|t| format!(r#","trade_id":"{t}""#))
        .unwrap_or_default();
    event(format!(
        r#"{{"type":"execution","ts":"{}","exec_id":"E-{id}","order_id":"O-{id}","account_id":"{account}","symbol":"130A","side":"{side}","qty":{qty},"price":{price}{trade}}}"#,
        ts(secs)
    ))
}

/// A takeover-like buyer: a login from `country` with `mfa` at `t`, a sell of ¥2.8M of a large
/// cap a minute later (`{victim}-s`), and a buy of `qty` of `symbol` at `price` a minute after
/// that (`{victim}-b`).
fn takeover_buy(
    events: &mut Vec<Event>,
    t: u64,
    victim: &str,
    (country, mfa): (&str, &str),
    (symbol, qty, price): (&str, u64, u64),
) {
    events.push(login(t, victim, country, mfa));
    let sell = format!("{victim}-s");
    events.push(order(t + 60, &sell, victim, "7203", "sell", 1_000, 2_800));
    let buy = format!("{victim}-b");
    events.push(order(t + 120, &buy, victim, symbol, "buy", qty, price));
}

/// A day on thin symbol `130A` (¥150, normal volume 20k shares): early buyer `P1` buys 20k
/// shares at ¥150 in the morning; from 10:00 three accounts log in (`country`, `mfa`), sell
/// ¥2.8M of a large cap each and buy ¥1.5M of `130A`, `P1` selling to each of them.
fn campaign_day(country: &str, mfa: &str, trade_ids: bool) -> Vec<Event> {
    let mut events = instruments();
    events.push(login(0, "P1", "JP", "totp"));
    events.push(order(60, "P1-1", "P1", "130A", "buy", 20_000, 150));
    events.push(fill(61, "P1-1", "P1", "buy", 20_000, 150, Some("T0")));
    for (i, victim) in ["V1", "V2", "V3"].iter().enumerate() {
        let t = 3_600 + 600 * i as u64;
        takeover_buy(&mut events, t, victim, (country, mfa), ("130A", 8_000, 190));
        let trade = format!("T{}", i + 1);
        let trade = trade_ids.then_some(trade.as_str());
        events.push(fill(
            t + 121,
            &format!("{victim}-b"),
            victim,
            "buy",
            8_000,
            185,
            trade,
        ));
        events.push(fill(
            t + 121,
            &format!("P1-s{i}"),
            "P1",
            "sell",
            8_000,
            185,
            trade,
        ));
    }
    events
}

fn run(events: &[Event], partition: Partition) -> Vec<(crate::engine::FiringKey, Alert)> {
    let mut engine = Engine::for_partition(EngineConfig::default(), partition).unwrap();
    let mut out = Vec::new();
    for e in events {
        engine.step(Input::Event(e.clone()), &mut out);
    }
    engine.step(Input::Flush, &mut out);
    out.into_iter()
        .filter_map(|o| match o {
            Output::Alert { alert, key } => Some((key, alert)),
            Output::Late { .. } => None,
        })
        .collect()
}

fn of_rule<'a>(alerts: &'a [(crate::engine::FiringKey, Alert)], rule: &str) -> Vec<&'a Alert> {
    alerts
        .iter()
        .map(|(_, a)| a)
        .filter(|a| a.rule == rule)
        .collect()
}

#[test]
fn a_campaign_and_its_early_seller_are_named_by_trade_id() {
    let alerts = run(&campaign_day("VN", "none", true), Partition::WHOLE);
    let campaign = of_rule(&alerts, "coordinated_thin_buying");
    assert_eq!(campaign.len(), 1, "{campaign:#?}");
    let c = campaign[0];
    assert_eq!(c.account_ids, vec!["V1", "V2", "V3"]);
    assert_eq!(c.symbols, vec!["130A"]);
    assert_eq!(c.features["takeover_like_buyers"].value, 3.0);
    assert_eq!(c.features["buyers_after_unusual_login"].value, 3.0);
    assert!(
        c.summary.contains("130A") && c.summary.contains("V3"),
        "{}",
        c.summary
    );
    // It fires at the third buyer's order, 10:20:120.
    assert_eq!(
        c.ts,
        event(format!(
            r#"{{"type":"trade","ts":"{}","symbol":"x","qty":1,"price":1}}"#,
            ts(4_920)
        ))
        .ts
    );

    let sellers = of_rule(&alerts, "pre_positioned_seller");
    assert_eq!(sellers.len(), 1, "{sellers:#?}");
    let s = sellers[0];
    assert_eq!(s.account_ids, vec!["P1"]);
    assert_eq!(s.features["campaign_buyers_sold_to"].value, 2.0);
    assert_eq!(s.features["matched_by_trade_id"].value, 2.0);
    assert_eq!(s.features["pre_position_value"].value, 3_000_000.0);
    assert!(s.summary.contains("V1, V2"), "{}", s.summary);
    assert!(s.features.values().all(|f| f.crossed != Some(false)));
}

#[test]
fn without_trade_ids_the_seller_is_matched_by_timing() {
    let alerts = run(&campaign_day("VN", "none", false), Partition::WHOLE);
    let sellers = of_rule(&alerts, "pre_positioned_seller");
    assert_eq!(sellers.len(), 1);
    assert_eq!(sellers[0].features["matched_by_timing"].value, 2.0);
}

#[test]
fn the_same_buying_from_the_owners_usual_logins_is_no_campaign() {
    let alerts = run(&campaign_day("JP", "totp", true), Partition::WHOLE);
    assert!(
        of_rule(&alerts, "coordinated_thin_buying").is_empty(),
        "{alerts:#?}"
    );
    assert!(of_rule(&alerts, "pre_positioned_seller").is_empty());
}

#[test]
fn a_rally_bought_with_cash_is_no_campaign() {
    // The same buyers and buys, without the sells before them.
    let events: Vec<Event> = campaign_day("VN", "none", true)
        .into_iter()
        .filter(|e| !matches!(&e.body, pumpwatch_model::EventBody::Order(o) if o.side == pumpwatch_model::Side::Sell))
        .collect();
    let alerts = run(&events, Partition::WHOLE);
    assert!(
        of_rule(&alerts, "coordinated_thin_buying").is_empty(),
        "{alerts:#?}"
    );
}

#[test]
fn a_seller_who_bought_once_the_buying_began_is_no_beneficiary() {
    // P1's accumulation moves to after the first takeover-like buy.
    let events: Vec<Event> = campaign_day("VN", "none", true)
        .into_iter()
        .map(|e| match &e.body {
            pumpwatch_model::EventBody::Order(o) if o.order_id == "P1-1" => {
                order(3_800, "P1-1", "P1", "130A", "buy", 20_000, 150)
            }
            pumpwatch_model::EventBody::Execution(x) if x.exec_id == "E-P1-1" => {
                fill(3_801, "P1-1", "P1", "buy", 20_000, 150, Some("T0"))
            }
            _ => e,
        })
        .collect();
    let mut sorted = events;
    sorted.sort_by_key(|e| e.ts);
    let alerts = run(&sorted, Partition::WHOLE);
    assert_eq!(of_rule(&alerts, "coordinated_thin_buying").len(), 1);
    assert!(
        of_rule(&alerts, "pre_positioned_seller").is_empty(),
        "{alerts:#?}"
    );
}

#[test]
fn a_split_of_the_accounts_raises_the_same_alerts_once() {
    let events = campaign_day("VN", "none", true);
    let whole = run(&events, Partition::WHOLE);
    let merged = merge_in_firing_order(
        (0..3)
            .map(|i| run(&events, Partition::new(i, 3).unwrap()))
            .collect(),
    );
    let lines = |a: &[(crate::engine::FiringKey, Alert)]| -> Vec<String> {
        a.iter().map(|(_, a)| a.to_json_line()).collect()
    };
    assert!(whole
        .iter()
        .any(|(_, a)| a.rule == "coordinated_thin_buying"));
    assert_eq!(lines(&merged), lines(&whole));
}

#[test]
fn cancelled_sells_do_not_make_a_buyer_takeover_like() {
    // Each buyer cancels its sell before buying: nothing was sold.
    let mut events = Vec::new();
    for e in campaign_day("VN", "none", true) {
        let cancel = match &e.body {
            pumpwatch_model::EventBody::Order(o) if o.side == pumpwatch_model::Side::Sell => {
                Some(event(format!(
                    r#"{{"type":"order","ts":"{}","order_id":"{}","account_id":"{}","symbol":"7203","side":"sell","action":"cancel"}}"#,
                    ts((e.ts.utc_nanos - events_origin()) as u64 / 1_000_000_000 + 30),
                    o.order_id,
                    o.account_id
                )))
            }
            _ => None,
        };
        events.push(e);
        events.extend(cancel);
    }
    events.sort_by_key(|e| e.ts);
    let alerts = run(&events, Partition::WHOLE);
    assert!(
        of_rule(&alerts, "coordinated_thin_buying").is_empty(),
        "{alerts:#?}"
    );
    assert!(of_rule(&alerts, "pre_positioned_seller").is_empty());
}

/// UTC nanos of 09:00 JST on the test day.
fn events_origin() -> i64 {
    event(format!(
        r#"{{"type":"trade","ts":"{}","symbol":"x","qty":1,"price":1}}"#,
        ts(0)
    ))
    .ts
    .utc_nanos
}

#[test]
fn a_campaign_over_for_a_window_starts_afresh() {
    // The same three buyers, then three others more than two hours later: two campaigns,
    // each alerted at its own third buyer.
    let mut events = campaign_day("VN", "none", true);
    for (i, buyer) in ["W1", "W2", "W3"].iter().enumerate() {
        let t = 3_600 + 3 * 3_600 + 600 * i as u64;
        events.push(login(t, buyer, "VN", "none"));
        events.push(order(
            t + 60,
            &format!("{buyer}-s"),
            buyer,
            "7203",
            "sell",
            1_000,
            2_800,
        ));
        events.push(order(
            t + 120,
            &format!("{buyer}-b"),
            buyer,
            "130A",
            "buy",
            8_000,
            190,
        ));
    }
    events.sort_by_key(|e| e.ts);
    let alerts = run(&events, Partition::WHOLE);
    let campaigns = of_rule(&alerts, "coordinated_thin_buying");
    assert_eq!(campaigns.len(), 2, "{campaigns:#?}");
    assert_eq!(campaigns[1].account_ids, vec!["W1", "W2", "W3"]);
    assert!(
        !campaigns[1].summary.starts_with("Campaign grows"),
        "{}",
        campaigns[1].summary
    );
}

/// A mid-sized symbol (not thin: its market cap is known and large) is a target while it runs
/// (+27% with no volume baseline yet). Once its campaign has a buyer, a dip below +20% does not
/// end the campaign; with no buyer before the dip, three buyers after it are no campaign.
#[test]
fn a_campaign_keeps_its_target_when_the_run_pauses() {
    let day = |first_buyer_before_dip: bool| {
        let mut events = instruments();
        events.push(event(
            r#"{"type":"instrument","ts":"2025-03-17T08:00:00+09:00","symbol":"6887","prev_close":474,"shares_outstanding":100000000}"#
                .to_string(),
        ));
        let print = |secs: u64, price: u64| {
            event(format!(
                r#"{{"type":"trade","ts":"{}","symbol":"6887","qty":500,"price":{price}}}"#,
                ts(secs)
            ))
        };
        events.push(print(1_800, 600));
        // The dip: +14% on the previous close.
        events.push(print(4_200, 540));
        let buyers: &[(&str, u64)] = if first_buyer_before_dip {
            &[("V1", 3_600), ("V2", 4_800), ("V3", 5_400)]
        } else {
            &[("V2", 4_800), ("V3", 5_400), ("V4", 6_000)]
        };
        for (victim, t) in buyers {
            takeover_buy(
                &mut events,
                *t,
                victim,
                ("VN", "none"),
                ("6887", 3_000, 600),
            );
        }
        events.sort_by_key(|e| e.ts.utc_nanos);
        events
    };
    let alerts = run(&day(true), Partition::WHOLE);
    let campaign = of_rule(&alerts, "coordinated_thin_buying");
    assert_eq!(campaign.len(), 1, "{alerts:#?}");
    assert_eq!(campaign[0].account_ids, vec!["V1", "V2", "V3"]);
    assert_eq!(campaign[0].symbols, vec!["6887"]);
    let alerts = run(&day(false), Partition::WHOLE);
    assert!(
        of_rule(&alerts, "coordinated_thin_buying").is_empty(),
        "{alerts:#?}"
    );
}
