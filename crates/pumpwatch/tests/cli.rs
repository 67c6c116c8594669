//! End-to-end tests of the `pumpwatch` binary: the replay command's contract (stdout, stderr,
//! exit codes), the same alerts from every layout of the same input, quarantine, and a full
//! simulate → replay → eval loop.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn pumpwatch(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pumpwatch"))
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("run pumpwatch")
}

fn fixtures() -> PathBuf {
    std::path::PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap()).join("../../fixtures")
}

fn stdout(output: &Output) -> String {
    assert!(
        output.status.success(),
        "pumpwatch failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout.clone()).unwrap()
}

/// Splits a mixed NDJSON file into per-type files named after the type in the plural.
fn split_per_type(mixed: &Path, dir: &Path) {
    let mut files: std::collections::BTreeMap<String, String> = Default::default();
    for line in std::fs::read_to_string(mixed).unwrap().lines() {
        let value: serde_json::Value = serde_json::from_str(line).unwrap();
        let plural = match value["type"].as_str().unwrap() {
            "instrument" => "instruments",
            "position" => "positions",
            "cash" => "cash",
            "auth" => "auth",
            "order" => "orders",
            "execution" => "executions",
            "trade" => "trades",
            other => panic!("unexpected type {other}"),
        };
        let entry = files.entry(plural.to_string()).or_default();
        entry.push_str(line);
        entry.push('\n');
    }
    for (plural, text) in files {
        std::fs::write(dir.join(format!("{plural}.ndjson")), text).unwrap();
    }
}

#[test]
fn replay_prints_the_golden_alerts_and_a_summary() {
    let tmp = tempfile::tempdir().unwrap();
    let scenario = fixtures().join("scenarios/full_liquidation_thin_buy.ndjson");
    let output = pumpwatch(&["replay", scenario.to_str().unwrap()], tmp.path());
    let expected = std::fs::read_to_string(
        fixtures().join("scenarios/full_liquidation_thin_buy.expected.ndjson"),
    )
    .unwrap();
    assert_eq!(stdout(&output), expected);
    let stderr = String::from_utf8_lossy(&output.stderr);
    for needle in [
        "events read",
        "order 5",
        "invalid        0",
        "ato_liquidation_thin_buy 1",
        "events/s",
    ] {
        assert!(
            stderr.contains(needle),
            "summary lacks {needle:?}:\n{stderr}"
        );
    }
    assert!(
        !tmp.path().join("pumpwatch-quarantine.ndjson").exists(),
        "a clean run writes no quarantine file"
    );
}

#[test]
fn per_type_files_give_the_same_alerts_as_one_merged_file() {
    let tmp = tempfile::tempdir().unwrap();
    for name in [
        "full_liquidation_thin_buy",
        "margin_funded_thin_buy",
        "stolen_session_partial_liquidation",
    ] {
        let mixed = fixtures().join(format!("scenarios/{name}.ndjson"));
        let dir = tmp.path().join(name);
        std::fs::create_dir(&dir).unwrap();
        split_per_type(&mixed, &dir);
        let merged = stdout(&pumpwatch(&["replay", mixed.to_str().unwrap()], tmp.path()));
        let per_type = stdout(&pumpwatch(&["replay", dir.to_str().unwrap()], tmp.path()));
        assert!(!merged.is_empty(), "{name} must fire");
        assert_eq!(
            per_type, merged,
            "{name}: per-type directory differs from the merged file"
        );
    }
}

#[test]
fn invalid_lines_are_counted_and_quarantined_and_the_rest_still_fires() {
    let tmp = tempfile::tempdir().unwrap();
    let mut text =
        std::fs::read_to_string(fixtures().join("scenarios/full_liquidation_thin_buy.ndjson"))
            .unwrap();
    text.push_str("{not json\n");
    text.push_str(r#"{"type":"order","ts":"2025-03-17T15:00:00+09:00","account_id":"A1","symbol":"7992","side":"buy","qty":1,"price":1}"#);
    text.push('\n');
    text.push_str(r#"{"type":"quote","ts":"2025-03-17T15:00:00+09:00"}"#);
    text.push('\n');
    // Far behind the watermark: valid, but late.
    text.push_str(r#"{"type":"trade","ts":"2025-03-17T09:00:00+09:00","symbol":"7992","qty":100,"price":105}"#);
    text.push('\n');
    let input = tmp.path().join("day.ndjson");
    std::fs::write(&input, text).unwrap();
    let output = pumpwatch(
        &[
            "replay",
            input.to_str().unwrap(),
            "--quarantine",
            "q.ndjson",
        ],
        tmp.path(),
    );
    let golden = std::fs::read_to_string(
        fixtures().join("scenarios/full_liquidation_thin_buy.expected.ndjson"),
    )
    .unwrap();
    assert_eq!(
        stdout(&output),
        golden,
        "the takeover still fires, both its stages"
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    for needle in [
        "invalid        4",
        "malformed 1",
        "missing_field:order_id 1",
        "unknown_type 1",
        "late 1",
    ] {
        assert!(
            stderr.contains(needle),
            "summary lacks {needle:?}:\n{stderr}"
        );
    }
    let quarantine = std::fs::read_to_string(tmp.path().join("q.ndjson")).unwrap();
    assert_eq!(quarantine.lines().count(), 4);
    assert!(
        quarantine.contains("{not json"),
        "the original line is kept"
    );
}

#[test]
fn an_unreadable_input_fails_with_one_line() {
    let tmp = tempfile::tempdir().unwrap();
    let output = pumpwatch(&["replay", "no/such/day.ndjson"], tmp.path());
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("no/such/day.ndjson"), "{stderr}");
    let bad_config = tmp.path().join("bad.toml");
    std::fs::write(
        &bad_config,
        "[rules.ato_liquidation_thin_buy]\nwindow_sec = 5\n",
    )
    .unwrap();
    let scenario = fixtures().join("scenarios/sell_all_keep_cash.ndjson");
    let output = pumpwatch(
        &[
            "replay",
            scenario.to_str().unwrap(),
            "--config",
            bad_config.to_str().unwrap(),
        ],
        tmp.path(),
    );
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("window_sec"));
}

#[test]
fn the_committed_sample_day_replays_deterministically() {
    let tmp = tempfile::tempdir().unwrap();
    let day = fixtures().join("sample-day");
    let first = stdout(&pumpwatch(&["replay", day.to_str().unwrap()], tmp.path()));
    let second = stdout(&pumpwatch(&["replay", day.to_str().unwrap()], tmp.path()));
    assert!(
        first.lines().count() >= 3,
        "the sample day holds several takeovers"
    );
    assert_eq!(
        first, second,
        "the same input twice gives byte-identical alerts"
    );
}

#[test]
fn simulate_replay_eval_reaches_the_quality_bar() {
    let tmp = tempfile::tempdir().unwrap();
    let day = tmp.path().join("day");
    let out = pumpwatch(
        &[
            "simulate",
            "--seed",
            "11",
            "--accounts",
            "6000",
            "--symbols",
            "300",
            "--out",
            day.to_str().unwrap(),
        ],
        tmp.path(),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let alerts = stdout(&pumpwatch(&["replay", day.to_str().unwrap()], tmp.path()));

    // The same day as Parquet, whose tape is read as prints, gives the same alerts.
    let parquet = tmp.path().join("parquet");
    let converted = pumpwatch(
        &[
            "convert",
            day.to_str().unwrap(),
            "--out",
            parquet.to_str().unwrap(),
        ],
        tmp.path(),
    );
    assert!(converted.status.success());
    let parquet_alerts = stdout(&pumpwatch(
        &["replay", parquet.to_str().unwrap()],
        tmp.path(),
    ));
    assert_eq!(parquet_alerts, alerts, "Parquet and NDJSON alerts differ");

    let alerts_path = tmp.path().join("alerts.ndjson");
    std::fs::write(&alerts_path, alerts).unwrap();
    let report = stdout(&pumpwatch(
        &[
            "eval",
            "--alerts",
            alerts_path.to_str().unwrap(),
            "--labels",
            day.join("labels.json").to_str().unwrap(),
            "--json",
        ],
        tmp.path(),
    ));
    let report: serde_json::Value = serde_json::from_str(&report).unwrap();
    let recall = report["recall"].as_f64().unwrap();
    let precision = report["precision_named"].as_f64().unwrap();
    assert!(recall >= 0.9, "recall {recall}: {report:#}");
    assert!(precision >= 0.95, "precision {precision}: {report:#}");
}

/// `replay -` reads NDJSON from standard input and prints each alert when it fires: the
/// alert reaches the pipe while the input is still open.
#[test]
fn replay_from_a_pipe_prints_each_alert_as_it_fires() {
    use std::io::{BufRead, Write};
    let tmp = tempfile::tempdir().unwrap();
    let scenario = fixtures().join("scenarios/full_liquidation_thin_buy.ndjson");
    let expected = std::fs::read_to_string(
        fixtures().join("scenarios/full_liquidation_thin_buy.expected.ndjson"),
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_pumpwatch"))
        .args(["replay", "-"])
        .current_dir(tmp.path())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(&std::fs::read(&scenario).unwrap()).unwrap();
    // An event far later moves event time past the trigger, so the alert is due; stdin
    // stays open.
    stdin
        .write_all(
            br#"{"type":"trade","ts":"2025-03-17T15:29:00+09:00","symbol":"7992","qty":100,"price":120}"#,
        )
        .unwrap();
    stdin.write_all(b"\n").unwrap();
    stdin.flush().unwrap();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines
        .next()
        .expect("an alert before the input ends")
        .unwrap();
    assert_eq!(first, expected.lines().next().unwrap());
    drop(stdin);
    assert!(child.wait().unwrap().success());
}

/// A directory holding a file named like a type without being one is refused with its
/// name (its orders would otherwise be lost); with --ignore-misnamed it is left out and
/// named on stderr.
#[test]
fn a_misnamed_per_type_file_is_refused_or_named() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("day");
    std::fs::create_dir(&dir).unwrap();
    split_per_type(
        &fixtures().join("scenarios/full_liquidation_thin_buy.ndjson"),
        &dir,
    );
    std::fs::rename(
        dir.join("orders.ndjson"),
        dir.join("orders_20250317.ndjson"),
    )
    .unwrap();
    let refused = pumpwatch(&["replay", dir.to_str().unwrap()], tmp.path());
    assert_eq!(refused.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("orders_20250317.ndjson"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");

    let left_out = pumpwatch(
        &["replay", dir.to_str().unwrap(), "--ignore-misnamed"],
        tmp.path(),
    );
    assert!(stdout(&left_out).is_empty(), "no orders, no alert");
    let stderr = String::from_utf8_lossy(&left_out.stderr);
    assert!(
        stderr.contains("ignoring") && stderr.contains("orders_20250317.ndjson"),
        "{stderr}"
    );
}

/// An empty input is read (exit 0) and said to hold nothing; an earlier run's quarantine
/// file at the same path is removed, and that is said too.
#[test]
fn an_empty_input_is_said_and_a_stale_quarantine_removed() {
    let tmp = tempfile::tempdir().unwrap();
    let empty = tmp.path().join("empty.ndjson");
    std::fs::write(&empty, "").unwrap();
    let stale = tmp.path().join("pumpwatch-quarantine.ndjson");
    std::fs::write(&stale, "{\"reason\":\"from another run\"}\n").unwrap();
    let output = pumpwatch(&["replay", empty.to_str().unwrap()], tmp.path());
    assert!(stdout(&output).is_empty());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("holds no events"), "{stderr}");
    assert!(stderr.contains("earlier run's quarantine file"), "{stderr}");
    assert!(!stale.exists());
}

#[test]
fn ingest_from_a_pipe_stores_each_alert_as_it_comes() {
    use std::io::Write as _;
    let tmp = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", tmp.path().join("alerts.db").display());
    // Each scenario's last golden alert.
    let goldens: Vec<String> = ["full_liquidation_thin_buy", "margin_funded_thin_buy"]
        .iter()
        .map(|name| {
            std::fs::read_to_string(fixtures().join(format!("scenarios/{name}.expected.ndjson")))
                .unwrap()
                .trim()
                .lines()
                .last()
                .unwrap()
                .to_string()
        })
        .collect();
    let mut child = Command::new(env!("CARGO_BIN_EXE_pumpwatch"))
        .args(["ingest", "-", "--store", &url])
        .stdin(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    writeln!(stdin, "{}", goldens[0]).unwrap();
    writeln!(stdin, "not an alert").unwrap();
    stdin.flush().unwrap();
    // The first alert is in the store while the pipe is still open.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let total = || {
        runtime.block_on(async {
            let store = pumpwatch_store::Store::open(&url).await.unwrap();
            let n = store.state_counts().await.unwrap().total;
            store.close().await;
            n
        })
    };
    let mut seen = 0;
    for _ in 0..300 {
        seen = total();
        if seen == 1 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    if seen != 1 {
        let _ = child.kill();
        let output = child.wait_with_output().unwrap();
        panic!(
            "the first alert is not in the store while the input is open ({seen} alerts): {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    writeln!(stdin, "{}", goldens[1]).unwrap();
    writeln!(stdin, "{}", goldens[0]).unwrap();
    drop(stdin);
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.contains("line 2 skipped"), "{stderr}");
    assert!(
        stderr.contains("2 alerts stored, 1 already there, 1 lines skipped (not alerts)"),
        "{stderr}"
    );
    assert_eq!(total(), 2);
}

/// `tune` sweeps thresholds over a labelled day and chooses the setting with the best recall
/// at the required precision; what it writes is a config `replay` accepts.
#[test]
fn tune_sweeps_a_threshold_and_writes_the_chosen_config() {
    let tmp = tempfile::tempdir().unwrap();
    let day = tmp.path().join("day");
    stdout(&pumpwatch(
        &[
            "simulate",
            "--seed",
            "5",
            "--accounts",
            "2000",
            "--symbols",
            "60",
            "--out",
            day.to_str().unwrap(),
        ],
        tmp.path(),
    ));
    let out = tmp.path().join("tuned.toml");
    // Liquidations of at least 100% with strong logins needing 100 points: most takeovers
    // slip through; the defaults catch them.
    let table = stdout(&pumpwatch(
        &[
            "tune",
            "--day",
            day.to_str().unwrap(),
            "--rule",
            "ato_liquidation_thin_buy",
            "--param",
            "liquidation_fraction_min=1.0,0.5",
            "--param",
            "strong_login_points_min=100,16",
            "--precision-min",
            "0.5",
            "--out",
            out.to_str().unwrap(),
        ],
        tmp.path(),
    ));
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(
        lines.len(),
        6,
        "a header, four settings and the choice: {table}"
    );
    let recall = |line: &str| -> f64 {
        line.split_whitespace()
            .nth(2)
            .unwrap()
            .trim_end_matches('%')
            .parse()
            .unwrap()
    };
    let strict = recall(lines[1]);
    let defaults = recall(lines[4]);
    assert!(defaults > strict, "{table}");
    let best = lines[1..5].iter().map(|l| recall(l)).fold(0.0, f64::max);
    let chosen = lines[5];
    assert!(chosen.starts_with("chosen: "), "{table}");
    assert!(chosen.contains(&format!("recall {best:.1}%")), "{table}");
    let written = std::fs::read_to_string(&out).unwrap();
    assert!(
        written.starts_with("# Written by `pumpwatch tune`"),
        "{written}"
    );
    let config: toml::Table = toml::from_str(&written).unwrap();
    let section = &config["rules"]["ato_liquidation_thin_buy"];
    let pick = |name: &str| section[name].as_float().unwrap();
    assert!(
        chosen.contains(&format!(
            "liquidation_fraction_min={:?}",
            pick("liquidation_fraction_min")
        )) || chosen.contains(&format!(
            "liquidation_fraction_min={}",
            pick("liquidation_fraction_min")
        )),
        "{chosen} vs {written}"
    );
    // The written config runs.
    stdout(&pumpwatch(
        &[
            "replay",
            day.to_str().unwrap(),
            "--config",
            out.to_str().unwrap(),
        ],
        tmp.path(),
    ));
}
