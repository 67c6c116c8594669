//! The evaluator on hand-built alert and label files with known answers.

use std::path::Path;

use pumpwatch_sim::eval::evaluate;

const LABELS: &str = r#"{
  "seed": 1, "date": "2025-03-17", "accounts_total": 5000, "symbols": 100,
  "active_accounts": 1000,
  "campaigns": [
    {"campaign_id": "C001", "variant": "full_liquidation", "target_symbols": ["7992"],
     "perpetrator_accounts": ["A0000009"], "victims": ["A0000001", "A0000002"]},
    {"campaign_id": "C002", "variant": "stolen_session", "target_symbols": ["5016"],
     "perpetrator_accounts": ["A0000010"], "victims": ["A0000003"]}
  ],
  "accounts": [
    {"account_id": "A0000001", "role": "victim", "campaign_id": "C001", "variant": "full_liquidation",
     "takeover_start": "2025-03-17T13:00:00.000+09:00",
     "first_takeover_order": "2025-03-17T13:01:00.000+09:00",
     "first_takeover_buy": "2025-03-17T13:05:00.000+09:00",
     "last_takeover_buy": "2025-03-17T13:10:00.000+09:00"},
    {"account_id": "A0000002", "role": "victim", "campaign_id": "C001", "variant": "full_liquidation",
     "takeover_start": "2025-03-17T13:05:00.000000+09:00",
     "first_takeover_buy": "2025-03-17T13:12:00.000000+09:00",
     "last_takeover_buy": "2025-03-17T13:20:00.000000+09:00"},
    {"account_id": "A0000003", "role": "victim", "campaign_id": "C002", "variant": "stolen_session",
     "takeover_start": "2025-03-17T10:00:00+09:00",
     "first_takeover_buy": "2025-03-17T10:10:00+09:00",
     "last_takeover_buy": "2025-03-17T10:30:00+09:00"},
    {"account_id": "A0000009", "role": "perpetrator", "campaign_id": "C001", "variant": "full_liquidation"},
    {"account_id": "A0000010", "role": "perpetrator", "campaign_id": "C002", "variant": "stolen_session"},
    {"account_id": "A0000020", "role": "lookalike", "campaign_id": null, "variant": "sell_all_keep_cash"},
    {"account_id": "A0000021", "role": "lookalike", "campaign_id": null, "variant": "news_rally"}
  ]
}"#;

/// One alert per line; two lines are deliberately unusable.
const ALERTS: &[&str] = &[
    // 13:02 JST written in UTC: V1 alerted 120 s after takeover, before its last buy.
    r#"{"alert_id":"a1","rule":"ato_liquidation_thin_buy","ts":"2025-03-17T04:02:00Z","account_ids":["A0000001"],"symbols":["7992"],"score":90,"severity":"high","extra":{"x":1}}"#,
    // V2 alerted 1200 s after takeover, after its last buy; also names an ordinary account.
    r#"{"alert_id":"a2","rule":"ato_liquidation_thin_buy","ts":"2025-03-17T13:25:00+09:00","account_ids":["A0000002","A0000100"],"symbols":["7992"],"score":80,"severity":"high"}"#,
    // A later alert on V1 does not change its first alert.
    r#"{"alert_id":"a3","rule":"ato_liquidation_thin_buy","ts":"2025-03-17T13:30:00+09:00","account_ids":["A0000001"],"symbols":[],"score":70,"severity":"medium"}"#,
    // False: a look-alike.
    r#"{"alert_id":"a4","rule":"ato_liquidation_thin_buy","ts":"2025-03-17T11:00:00+09:00","account_ids":["A0000020"],"symbols":[],"score":60,"severity":"medium"}"#,
    // False: an ordinary account.
    r#"{"alert_id":"a5","rule":"new_device_login","ts":"2025-03-17T11:05:00+09:00","account_ids":["A0000101"],"symbols":[],"score":40,"severity":"low"}"#,
    // True: symbol-level alert on a campaign target.
    r#"{"alert_id":"a6","rule":"tape_pump","ts":"2025-03-17T13:40:00+09:00","account_ids":[],"symbols":["7992"],"score":75,"severity":"high"}"#,
    // False: symbol-level alert on an unrelated symbol.
    r#"{"alert_id":"a7","rule":"symbol_pump","ts":"2025-03-17T14:00:00+09:00","account_ids":[],"symbols":["1111"],"score":50,"severity":"medium"}"#,
    // True: names a perpetrator.
    r#"{"alert_id":"a8","rule":"symbol_pump","ts":"2025-03-17T13:41:00+09:00","account_ids":["A0000009"],"symbols":["7992"],"score":75,"severity":"high"}"#,
    "not json at all",
    r#"{"alert_id":"a9","rule":"x","ts":"yesterday","account_ids":["A0000003"]}"#,
    "",
];

fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write");
    p
}

#[test]
fn known_answers() {
    let dir = tempfile::tempdir().expect("tempdir");
    let labels = write(dir.path(), "labels.json", LABELS);
    let alerts = write(dir.path(), "alerts.ndjson", &ALERTS.join("\n"));
    let r = evaluate(&alerts, &labels).expect("evaluate");

    assert_eq!(r.alerts, 8);
    assert_eq!(r.alert_lines_invalid, 2);
    assert_eq!((r.victims, r.victims_alerted), (3, 2));
    assert!((r.recall - 2.0 / 3.0).abs() < 1e-12);
    assert_eq!(r.victims_alerted_before_last_buy, 1);
    assert!((r.before_last_buy_share - 1.0 / 3.0).abs() < 1e-12);
    // From the first hijacked order: V1's is 13:01 (60 s), V2 has none and counts from its
    // takeover start (1200 s).
    assert_eq!(r.delay_secs_median, Some(630.0));
    assert_eq!(r.delay_secs_p90, Some(1200.0));
    assert_eq!(r.delay_from_takeover_start_secs_median, Some(660.0));
    // Named: A1, A2, A9 (true) and A20, A100, A101 (false).
    assert_eq!((r.named_accounts, r.named_accounts_true), (6, 3));
    assert_eq!(r.precision_named, Some(0.5));
    assert_eq!(r.false_alerts, 3);
    assert!((r.false_alerts_per_100k_active - 300.0).abs() < 1e-9);
    assert_eq!((r.campaigns, r.campaigns_detected), (2, 1));
    assert_eq!((r.perpetrators, r.perpetrators_named), (2, 1));
    // 7992 is named by a symbol-level rule's alert (a6); 5016 by none.
    assert_eq!((r.targets, r.targets_named), (2, 1));

    let variant = |v: &str| r.recall_by_variant.iter().find(|x| x.variant == v).unwrap();
    assert_eq!(
        (
            variant("full_liquidation").victims,
            variant("full_liquidation").alerted
        ),
        (2, 2)
    );
    assert_eq!(variant("full_liquidation").before_last_buy, 1);
    assert_eq!(
        (
            variant("stolen_session").victims,
            variant("stolen_session").alerted
        ),
        (1, 0)
    );
    assert!(r.recall_by_variant.iter().all(|x| x.variant != "slow_drip"));

    let kind = |k: &str| {
        r.false_alerts_by_kind
            .iter()
            .find(|x| x.kind == k)
            .unwrap()
            .false_alerts
    };
    assert_eq!(kind("sell_all_keep_cash"), 1);
    assert_eq!(kind("news_rally"), 0);
    assert_eq!(kind("unlabelled"), 1);
    assert_eq!(kind("symbol_only"), 1);

    let rule = |name: &str| r.alerts_by_rule.iter().find(|x| x.rule == name).unwrap();
    assert_eq!(
        (
            rule("ato_liquidation_thin_buy").alerts,
            rule("ato_liquidation_thin_buy").false_alerts
        ),
        (4, 1)
    );
    assert_eq!(
        (rule("symbol_pump").alerts, rule("symbol_pump").false_alerts),
        (2, 1)
    );
    assert_eq!(
        (rule("tape_pump").alerts, rule("tape_pump").false_alerts),
        (1, 0)
    );

    assert_eq!(r.missed_victims, vec!["A0000003".to_string()]);
    let named: Vec<(&str, &str)> = r
        .falsely_named_accounts
        .iter()
        .map(|a| (a.account_id.as_str(), a.kind.as_str()))
        .collect();
    assert_eq!(
        named,
        vec![
            ("A0000020", "sell_all_keep_cash"),
            ("A0000100", "unlabelled"),
            ("A0000101", "unlabelled")
        ]
    );

    let text = r.to_text();
    assert!(text.contains("recall") && text.contains("2/3"), "{text}");
    assert!(text.contains("stolen_session"), "{text}");
    assert!(text.contains("A0000003"), "{text}");
    let json = serde_json::to_value(&r).expect("serialize");
    assert_eq!(json["victims_alerted"], 2);
    assert_eq!(json["precision_named"], 0.5);
}

#[test]
fn no_alerts_means_no_recall_and_no_precision() {
    let dir = tempfile::tempdir().expect("tempdir");
    let labels = write(dir.path(), "labels.json", LABELS);
    let alerts = write(dir.path(), "alerts.ndjson", "");
    let r = evaluate(&alerts, &labels).expect("evaluate");
    assert_eq!(r.victims_alerted, 0);
    assert_eq!(r.recall, 0.0);
    assert_eq!(r.precision_named, None);
    assert_eq!(r.delay_secs_median, None);
    assert_eq!(r.missed_victims_total, 3);
}

#[test]
fn missing_files_are_errors_not_panics() {
    let dir = tempfile::tempdir().expect("tempdir");
    let labels = write(dir.path(), "labels.json", LABELS);
    assert!(evaluate(&dir.path().join("nope.ndjson"), &labels).is_err());
    let alerts = write(dir.path(), "alerts.ndjson", "");
    let bad = write(dir.path(), "bad.json", "{\"seed\": 1}");
    assert!(evaluate(&alerts, &bad).is_err());
}

#[test]
fn generated_labels_round_trip_through_the_evaluator() {
    let dir = tempfile::tempdir().expect("tempdir");
    let params = pumpwatch_sim::SimParams {
        accounts: 2_000,
        symbols: 40,
        ..pumpwatch_sim::SimParams::default()
    };
    let summary = pumpwatch_sim::simulate(&params, dir.path()).expect("simulate");
    // An oracle that names every victim at its takeover start.
    let labels: pumpwatch_sim::Labels =
        serde_json::from_slice(&std::fs::read(dir.path().join("labels.json")).unwrap()).unwrap();
    let oracle: Vec<String> = labels
        .accounts
        .iter()
        .filter(|a| a.role == "victim")
        .map(|a| {
            serde_json::json!({
                "alert_id": a.account_id, "rule": "oracle",
                "ts": a.takeover_start, "account_ids": [a.account_id], "symbols": []
            })
            .to_string()
        })
        .collect();
    let alerts = write(dir.path(), "alerts.ndjson", &oracle.join("\n"));
    let r = evaluate(&alerts, &dir.path().join("labels.json")).expect("evaluate");
    assert_eq!(r.victims, summary.victims);
    assert_eq!(r.recall, 1.0);
    assert_eq!(r.before_last_buy_share, 1.0);
    assert_eq!(r.delay_secs_p90, Some(0.0));
    assert_eq!(r.precision_named, Some(1.0));
    assert_eq!(r.false_alerts, 0);
    assert_eq!(r.active_accounts, summary.active_accounts);
}
