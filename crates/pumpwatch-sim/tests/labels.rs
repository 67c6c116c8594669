//! The labels tell the truth: every variant and look-alike kind is present
//! in a small day, and each labelled account really did, in the generated
//! events, what its label says.

mod common;

use std::collections::BTreeSet;

use common::{micros, s, Day};
use pumpwatch_sim::{campaign_variants, lookalike_kinds, Labels, Layout};

fn day(seed: u64) -> (tempfile::TempDir, Labels, Day) {
    let (dir, _) = common::generate(&common::small_params(seed, Layout::PerType));
    let labels = common::labels(dir.path());
    let day = Day::load(dir.path());
    (dir, labels, day)
}

#[test]
fn every_variant_and_kind_is_present() {
    let (_dir, labels, day) = day(21);
    let variants: BTreeSet<&str> = labels
        .campaigns
        .iter()
        .map(|c| c.variant.as_str())
        .collect();
    for v in campaign_variants() {
        assert!(variants.contains(v), "no {v} campaign");
    }
    let kinds: BTreeSet<&str> = labels
        .accounts
        .iter()
        .filter(|a| a.role == "lookalike")
        .map(|a| a.variant.as_str())
        .collect();
    for k in lookalike_kinds() {
        assert!(kinds.contains(k), "no {k} look-alike");
    }
    let active: BTreeSet<&String> = day.orders.keys().collect();
    assert_eq!(labels.active_accounts as usize, active.len());
    for c in &labels.campaigns {
        assert!(
            (3..=15).contains(&c.victims.len()),
            "{} victims",
            c.victims.len()
        );
        assert!((1..=2).contains(&c.perpetrator_accounts.len()));
    }
}

#[test]
fn victims_did_what_their_variant_says() {
    let (_dir, labels, day) = day(22);
    for c in &labels.campaigns {
        for v in &c.victims {
            let l = labels
                .accounts
                .iter()
                .find(|a| &a.account_id == v)
                .expect("victim has an account label");
            assert_eq!(l.role, "victim");
            assert_eq!(l.variant, c.variant);
            let start = micros(l.takeover_start.as_deref().expect("takeover_start"));
            let first = micros(l.first_takeover_buy.as_deref().expect("first buy"));
            let last = micros(l.last_takeover_buy.as_deref().expect("last buy"));
            assert!(start <= first && first <= last, "{v}: times out of order");

            let value = day.sod_value(v);
            assert!((5.0e6..=5.0e7).contains(&value), "{v}: book worth {value}");
            let sold = day.sold_share(v);
            let bought = day.filled(v, "buy", Some(&c.target_symbols));
            assert!(
                bought >= 1.0e6,
                "{v}: bought only ¥{bought:.0} of the targets"
            );
            for sym in &c.target_symbols {
                assert!(
                    !day.holds(v, sym) || day.positions[v][sym] == 0,
                    "{v} held target {sym}"
                );
            }
            let orders = &day.orders[v];
            let attacker: Vec<_> = orders
                .iter()
                .filter(|o| micros(s(o, "ts")) >= start)
                .collect();
            match c.variant.as_str() {
                "full_liquidation" => assert!(sold >= 0.9, "{v}: sold {sold:.2}"),
                "partial_liquidation" => {
                    assert!((0.4..=0.9).contains(&sold), "{v}: sold {sold:.2}")
                }
                "slow_drip" => {
                    let times: Vec<i64> = attacker.iter().map(|o| micros(s(o, "ts"))).collect();
                    let span_min =
                        (times.iter().max().unwrap() - times.iter().min().unwrap()) / 60_000_000;
                    assert!(span_min >= 60, "{v}: slow drip over only {span_min} min");
                    assert!(attacker.len() >= 6, "{v}: only {} orders", attacker.len());
                    assert!(sold >= 0.6, "{v}: sold {sold:.2}");
                }
                "multi_target" => {
                    assert!(sold >= 0.9, "{v}: sold {sold:.2}");
                    let hit: BTreeSet<String> = day
                        .bought_symbols(v)
                        .into_iter()
                        .filter(|x| c.target_symbols.contains(x))
                        .collect();
                    assert!(hit.len() >= 2, "{v}: bought only {hit:?}");
                }
                "margin_funded" => {
                    assert!(sold <= 0.25, "{v}: sold {sold:.2}");
                    let margin_orders: BTreeSet<&str> = attacker
                        .iter()
                        .filter(|o| {
                            o["margin"] == serde_json::Value::Bool(true) && s(o, "side") == "buy"
                        })
                        .map(|o| s(o, "order_id"))
                        .collect();
                    let margin: f64 = day.execs[v]
                        .iter()
                        .filter(|x| margin_orders.contains(s(x, "order_id")))
                        .map(|x| x["qty"].as_f64().unwrap() * common::dec(&x["price"]).unwrap())
                        .sum();
                    assert!(
                        margin >= 0.4 * value,
                        "{v}: margin buys ¥{margin:.0} of ¥{value:.0}"
                    );
                }
                "stolen_session" => {
                    assert!(sold >= 0.6, "{v}: sold {sold:.2}");
                    let auth = day.auth.get(v).cloned().unwrap_or_default();
                    assert!(
                        auth.iter().all(|a| micros(s(a, "ts")) < start),
                        "{v}: auth event during a stolen session"
                    );
                    let sessions: BTreeSet<&str> =
                        auth.iter().map(|a| s(a, "session_id")).collect();
                    let ips: BTreeSet<&str> = auth.iter().map(|a| s(a, "ip")).collect();
                    for o in &attacker {
                        assert!(
                            !s(o, "session_id").is_empty(),
                            "{v}: order without session_id"
                        );
                        assert!(!sessions.contains(s(o, "session_id")), "{v}: known session");
                        assert!(!ips.contains(s(o, "ip")), "{v}: known ip");
                    }
                    assert_eq!(micros(s(attacker[0], "ts")), start);
                }
                other => panic!("unknown variant {other}"),
            }
            if c.variant != "stolen_session" {
                // The takeover starts with a login (or failures) from a device
                // the owner has not used today.
                let auth = &day.auth[v];
                let login = auth
                    .iter()
                    .find(|a| s(a, "action") == "login_success" && micros(s(a, "ts")) >= start)
                    .expect("attacker login");
                let owner: BTreeSet<&str> = auth
                    .iter()
                    .filter(|a| micros(s(a, "ts")) < start)
                    .map(|a| s(a, "device_id"))
                    .collect();
                assert!(!owner.contains(s(login, "device_id")));
                // From abroad, or from a Japanese hosting provider.
                let hosting = [16509, 9370, 20473, 7506, 63949];
                let asn = login["asn"].as_u64().expect("asn");
                assert!(
                    s(login, "country") != "JP" || hosting.contains(&asn),
                    "{v}: {login}"
                );
            }
        }
    }
}

#[test]
fn perpetrators_sell_into_victim_buys() {
    let (dir, labels, _) = day(23);
    let execs = common::events(dir.path(), "executions");
    for c in &labels.campaigns {
        let mut victim_buys: BTreeSet<&str> = BTreeSet::new();
        let mut perp_sells: BTreeSet<&str> = BTreeSet::new();
        for x in &execs {
            if !c.target_symbols.iter().any(|t| t == s(x, "symbol")) {
                continue;
            }
            let acct = s(x, "account_id").to_string();
            if s(x, "side") == "buy" && c.victims.contains(&acct) {
                victim_buys.insert(s(x, "trade_id"));
            }
            if s(x, "side") == "sell" && c.perpetrator_accounts.contains(&acct) {
                perp_sells.insert(s(x, "trade_id"));
            }
        }
        let matched = victim_buys.intersection(&perp_sells).count();
        assert!(
            matched * 3 >= victim_buys.len(),
            "{}: only {matched} of {} victim fills matched a perpetrator",
            c.campaign_id,
            victim_buys.len()
        );
    }
}

#[test]
fn lookalikes_did_what_their_kind_says() {
    let (_dir, labels, day) = day(24);
    let targets: BTreeSet<&str> = labels
        .campaigns
        .iter()
        .flat_map(|c| c.target_symbols.iter().map(String::as_str))
        .chain(labels.rallies.iter().map(|r| r.symbol.as_str()))
        .collect();
    let mut rally_buyers = 0;
    for a in labels.accounts.iter().filter(|a| a.role == "lookalike") {
        let id = a.account_id.as_str();
        assert!(a.campaign_id.is_none());
        let sold = day.sold_share(id);
        let new_buys: Vec<String> = day
            .bought_symbols(id)
            .into_iter()
            .filter(|x| !day.holds(id, x))
            .collect();
        match a.variant.as_str() {
            "sell_all_keep_cash" => {
                assert!(sold >= 0.9, "{id}: sold {sold:.2}");
                assert!(day.bought_symbols(id).is_empty(), "{id} bought something");
            }
            "sell_all_buy_large_caps" => {
                assert!(sold >= 0.9, "{id}: sold {sold:.2}");
                assert!(!new_buys.is_empty(), "{id} bought nothing new");
                for x in &new_buys {
                    assert!(!targets.contains(x.as_str()), "{id} bought a target");
                    assert!(
                        day.prev_close[x] >= 300.0,
                        "{id} bought a low-priced name {x}"
                    );
                }
            }
            "small_cap_enthusiast" => {
                assert!(sold < 0.5, "{id}: sold {sold:.2}");
                let spent = day.filled(id, "buy", Some(&new_buys));
                assert!(spent >= 0.9e6, "{id}: spent only ¥{spent:.0} on new names");
                let thin_held = day.positions[id]
                    .keys()
                    .filter(|x| day.prev_close[*x] <= 500.0)
                    .count();
                assert!(thin_held >= 2, "{id} holds {thin_held} small caps");
            }
            "news_rally" => {
                rally_buyers += 1;
                assert!(sold < 0.45, "{id}: sold {sold:.2}");
                let rally: Vec<String> = labels.rallies.iter().map(|r| r.symbol.clone()).collect();
                assert!(
                    new_buys.iter().any(|x| rally.contains(x)),
                    "{id} did not buy the rally stock"
                );
            }
            other => panic!("unknown kind {other}"),
        }
    }
    let expected: u32 = labels.rallies.iter().map(|r| r.buyers).sum();
    assert_eq!(rally_buyers, expected);
    for r in &labels.rallies {
        assert!((20..=100).contains(&r.buyers));
        if let Some(adv) = day.instruments[&r.symbol]
            .get("adv_shares")
            .and_then(|v| v.as_u64())
        {
            let vol = day.tape_volume[&r.symbol];
            assert!(
                vol >= 10 * adv,
                "rally {}: volume {vol} vs adv {adv}",
                r.symbol
            );
        }
    }
}
