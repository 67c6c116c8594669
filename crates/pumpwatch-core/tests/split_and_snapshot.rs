//! A simulated day (realistic shape: a one-instant snapshot, bursts of equal-time prints,
//! takeover campaigns and look-alikes) through one engine, through engines that split its
//! accounts, and through an engine snapshotted and restored at random points: the same
//! alerts, byte for byte, every time.

use std::sync::OnceLock;

use proptest::prelude::*;
use pumpwatch_core::partition::merge_in_firing_order;
use pumpwatch_core::{
    Engine, EngineConfig, FiringKey, Input, Output, Partition, RestoreError, SnapshotError,
};
use pumpwatch_model::{decode_json_line, Alert, Event};
use pumpwatch_sim::{simulate, Layout, Shape, SimParams};

/// The day's events in file order (one mixed file, as a producer wrote it).
fn day() -> &'static [Event] {
    static DAY: OnceLock<Vec<Event>> = OnceLock::new();
    DAY.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let params = SimParams {
            seed: 11,
            accounts: 2_000,
            symbols: 40,
            date: "2025-03-17".to_string(),
            layout: Layout::Mixed,
            campaigns: None,
            lookalikes: None,
            invalid_per_million: 0,
            shape: Shape::Realistic,
            auth_feed: true,
            bare_reference: false,
        };
        simulate(&params, dir.path()).unwrap();
        let text = std::fs::read_to_string(dir.path().join("events.ndjson")).unwrap();
        text.lines()
            .map(|line| decode_json_line(line.as_bytes(), None).unwrap())
            .collect()
    })
}

fn keyed(out: Vec<Output>) -> Vec<(FiringKey, Alert)> {
    out.into_iter()
        .filter_map(|o| match o {
            Output::Alert { alert, key } => Some((key, alert)),
            Output::Late { .. } => None,
        })
        .collect()
}

fn lines(alerts: &[(FiringKey, Alert)]) -> Vec<String> {
    alerts.iter().map(|(_, a)| a.to_json_line()).collect()
}

/// The day through one engine: its alerts with their keys.
fn reference() -> &'static [(FiringKey, Alert)] {
    static REFERENCE: OnceLock<Vec<(FiringKey, Alert)>> = OnceLock::new();
    REFERENCE.get_or_init(|| {
        let mut engine = Engine::new(EngineConfig::default()).unwrap();
        let mut out = Vec::new();
        for event in day() {
            engine.step(Input::Event(event.clone()), &mut out);
        }
        engine.step(Input::Flush, &mut out);
        keyed(out)
    })
}

#[test]
fn one_engine_gives_its_alerts_in_firing_order() {
    let alerts = reference();
    assert!(
        alerts.len() >= 10,
        "the day has campaigns: {} alerts",
        alerts.len()
    );
    assert!(alerts.windows(2).all(|w| w[0].0 < w[1].0));
}

#[test]
fn a_split_of_the_accounts_merges_into_the_same_alerts_and_counts() {
    let mut whole = Engine::new(EngineConfig::default()).unwrap();
    let mut out = Vec::new();
    for event in day() {
        whole.step(Input::Event(event.clone()), &mut out);
    }
    whole.step(Input::Flush, &mut out);
    let whole_stats = whole.stats();
    for rule in [
        "ato_liquidation_thin_buy",
        "coordinated_thin_buying",
        "pre_positioned_seller",
    ] {
        assert!(
            reference().iter().any(|(_, a)| a.rule == rule),
            "the day raises no {rule} alert to split"
        );
    }
    for count in [2, 3, 5] {
        let mut streams = Vec::new();
        let mut processed = 0;
        let mut alerts = 0;
        let mut accounts = 0;
        for index in 0..count {
            let partition = Partition::new(index, count).unwrap();
            let mut engine = Engine::for_partition(EngineConfig::default(), partition).unwrap();
            let mut out = Vec::new();
            for event in day() {
                engine.step(Input::Event(event.clone()), &mut out);
            }
            engine.step(Input::Flush, &mut out);
            let stats = engine.stats();
            processed += stats.processed_total();
            alerts += stats.alerts_total();
            accounts += stats.accounts_tracked;
            let own = keyed(out);
            // An engine alerts on its own accounts; the rules across accounts (campaigns and
            // their beneficiaries) alert from the market's engine alone.
            let across = |a: &Alert| {
                a.rule == "coordinated_thin_buying" || a.rule == "pre_positioned_seller"
            };
            assert!(
                own.iter().all(|(_, a)| if across(a) {
                    partition.reports_market()
                } else {
                    a.account_ids.iter().all(|id| partition.owns(id))
                }),
                "{partition} alerts only on its accounts"
            );
            streams.push(own);
        }
        let merged = merge_in_firing_order(streams);
        assert_eq!(lines(&merged), lines(reference()), "{count} partitions");
        assert_eq!(processed, whole_stats.processed_total());
        assert_eq!(alerts, whole_stats.alerts_total());
        assert_eq!(accounts, whole_stats.accounts_tracked);
    }
}

/// Runs the day, snapshotting and restoring into a fresh engine before each cut (given as
/// positions in the input); the alerts of every piece, in order.
fn run_with_restores(cuts: &[usize], partition: Partition) -> Vec<(FiringKey, Alert)> {
    let config = EngineConfig::default();
    let mut engine = Engine::for_partition(config.clone(), partition).unwrap();
    let mut out = Vec::new();
    for (i, event) in day().iter().enumerate() {
        if cuts.contains(&i) {
            let bytes = engine.snapshot();
            assert_eq!(
                bytes,
                engine.snapshot(),
                "the same state gives the same bytes"
            );
            engine = Engine::restore(config.clone(), partition, &bytes).unwrap();
            assert_eq!(
                bytes,
                engine.snapshot(),
                "a restored engine writes what it read"
            );
        }
        engine.step(Input::Event(event.clone()), &mut out);
    }
    engine.step(Input::Flush, &mut out);
    keyed(out)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 6, ..ProptestConfig::default() })]

    /// Cut anywhere (the snapshot of the morning, the busy open, mid-campaign), snapshot,
    /// restore into a fresh engine and go on: byte-identical alerts with identical keys.
    #[test]
    fn a_restored_engine_continues_exactly(
        cuts in proptest::collection::vec(0.0f64..1.0, 1..4),
    ) {
        let n = day().len();
        let cuts: Vec<usize> = cuts.iter().map(|c| (c * n as f64) as usize).collect();
        let got = run_with_restores(&cuts, Partition::WHOLE);
        prop_assert_eq!(lines(&got), lines(reference()));
        let keys: Vec<FiringKey> = got.iter().map(|(k, _)| *k).collect();
        let expected: Vec<FiringKey> = reference().iter().map(|(k, _)| *k).collect();
        prop_assert_eq!(keys, expected);
    }
}

#[test]
fn a_snapshot_restores_only_into_its_own_config_and_partition() {
    let mut engine = Engine::new(EngineConfig::default()).unwrap();
    let mut out = Vec::new();
    for event in &day()[..day().len() / 3] {
        engine.step(Input::Event(event.clone()), &mut out);
    }
    let bytes = engine.snapshot();

    let mut other = EngineConfig::default();
    other.rules.ato_liquidation_thin_buy.window_secs = 3_600;
    let err = Engine::restore(other, Partition::WHOLE, &bytes).unwrap_err();
    assert!(
        matches!(
            err,
            RestoreError::Snapshot(SnapshotError::ConfigVersion { .. })
        ),
        "{err}"
    );
    assert!(err.to_string().contains("config version"), "{err}");

    let half = Partition::new(0, 2).unwrap();
    let err = Engine::restore(EngineConfig::default(), half, &bytes).unwrap_err();
    assert!(
        matches!(err, RestoreError::Snapshot(SnapshotError::Partition { .. })),
        "{err}"
    );

    let err =
        Engine::restore(EngineConfig::default(), Partition::WHOLE, b"{\"not\": 1}").unwrap_err();
    assert!(
        matches!(err, RestoreError::Snapshot(SnapshotError::NotASnapshot)),
        "{err}"
    );

    let mut damaged = bytes.clone();
    let last = damaged.len() - 1;
    damaged[last] ^= 1;
    let err = Engine::restore(EngineConfig::default(), Partition::WHOLE, &damaged).unwrap_err();
    assert!(
        matches!(err, RestoreError::Snapshot(SnapshotError::Checksum)),
        "{err}"
    );

    let truncated = &bytes[..bytes.len() / 2];
    assert!(Engine::restore(EngineConfig::default(), Partition::WHOLE, truncated).is_err());
}
