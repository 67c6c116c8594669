//! What a day's feeds carry: tape-only pumps on the tape and in the labels, a day without an
//! auth feed, and bare reference data.

mod common;

use pumpwatch_sim::{Layout, SimParams};

#[test]
fn tape_pumps_are_labelled_and_burst_on_the_tape_at_their_start() {
    let (dir, _) = common::generate(&common::small_params(21, Layout::PerType));
    let labels = common::labels(dir.path());
    assert!(labels.tape_pumps.len() >= 2, "{:?}", labels.tape_pumps);
    let trades = common::events(dir.path(), "trades");
    let targets: Vec<&String> = labels
        .campaigns
        .iter()
        .flat_map(|c| &c.target_symbols)
        .collect();
    for pump in &labels.tape_pumps {
        assert!(
            !targets.contains(&&pump.symbol),
            "a tape pump has no broker account in it"
        );
        let start = common::micros(&pump.start);
        // The buying starts with the signal: prints within the first second.
        let first_second = trades
            .iter()
            .filter(|t| t["symbol"] == pump.symbol.as_str())
            .filter(|t| {
                let at = common::micros(t["ts"].as_str().unwrap()) - start;
                (-1_000..1_000_000).contains(&at)
            })
            .count();
        assert!(first_second > 0, "{}: no print at the start", pump.symbol);
    }
}

#[test]
fn a_day_without_auth_feed_or_with_bare_reference_data_leaves_them_out() {
    let params = SimParams {
        auth_feed: false,
        bare_reference: true,
        ..common::small_params(22, Layout::PerType)
    };
    let (dir, summary) = common::generate(&params);
    let auth = summary
        .events_by_type
        .iter()
        .find(|(t, _)| t == "auth")
        .map_or(0, |(_, n)| *n);
    assert_eq!(auth, 0);
    let instruments = common::events(dir.path(), "instruments");
    assert!(!instruments.is_empty());
    for i in &instruments {
        assert!(
            i.get("adv_shares").is_none() && i.get("shares_outstanding").is_none(),
            "{i}"
        );
        assert!(i.get("prev_close").is_some());
    }
    // The same plan: victims are still there to find.
    assert!(summary.victims > 0);
}
