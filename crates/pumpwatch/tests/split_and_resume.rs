//! `replay --threads N`, `replay --partition I/N` + `merge-alerts`, and `replay --out FILE
//! --checkpoint-dir DIR` killed with SIGKILL and run again: every one ends with the bytes of a
//! plain replay.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_pumpwatch")
}

fn pumpwatch(args: &[&str], cwd: &Path) -> Output {
    Command::new(bin())
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("run pumpwatch")
}

fn ok(output: Output) -> Output {
    assert!(
        output.status.success(),
        "pumpwatch failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn sample_day() -> PathBuf {
    std::path::PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap())
        .join("../../fixtures/sample-day")
}

fn plain_replay(input: &Path, cwd: &Path) -> Vec<u8> {
    let out = ok(pumpwatch(
        &["replay", input.to_str().unwrap(), "--no-progress"],
        cwd,
    ))
    .stdout;
    assert!(!out.is_empty(), "the day must raise alerts");
    out
}

#[test]
fn threads_give_the_bytes_of_one_engine() {
    let tmp = tempfile::tempdir().unwrap();
    let day = sample_day();
    let expected = plain_replay(&day, tmp.path());
    for threads in ["2", "3", "4"] {
        let got = ok(pumpwatch(
            &[
                "replay",
                day.to_str().unwrap(),
                "--threads",
                threads,
                "--no-progress",
            ],
            tmp.path(),
        ));
        assert_eq!(got.stdout, expected, "--threads {threads}");
        let stderr = String::from_utf8_lossy(&got.stderr);
        assert!(
            stderr.contains("1500 accounts"),
            "the summary adds the shares up: {stderr}"
        );
    }
}

#[test]
fn partitions_merge_into_the_bytes_of_one_run() {
    let tmp = tempfile::tempdir().unwrap();
    let day = sample_day();
    let expected = plain_replay(&day, tmp.path());
    let mut files = Vec::new();
    for i in 0..3 {
        let file = tmp.path().join(format!("alerts.part-{i}.ndjson"));
        ok(pumpwatch(
            &[
                "replay",
                day.to_str().unwrap(),
                "--partition",
                &format!("{i}/3"),
                "--out",
                file.to_str().unwrap(),
                "--no-progress",
            ],
            tmp.path(),
        ));
        files.push(file.to_str().unwrap().to_string());
    }
    let mut args = vec!["merge-alerts"];
    args.extend(files.iter().map(String::as_str));
    let merged = ok(pumpwatch(&args, tmp.path()));
    assert_eq!(merged.stdout, expected);

    // A share missing, or given twice, is refused with its name.
    let missing = pumpwatch(&["merge-alerts", &files[0], &files[2]], tmp.path());
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("1/3"));
    let twice = pumpwatch(
        &["merge-alerts", &files[0], &files[0], &files[1], &files[2]],
        tmp.path(),
    );
    assert!(!twice.status.success());
    // A plain alert file is not a share.
    std::fs::write(tmp.path().join("plain.ndjson"), &expected).unwrap();
    let plain = pumpwatch(&["merge-alerts", "plain.ndjson"], tmp.path());
    assert!(String::from_utf8_lossy(&plain.stderr).contains("not a partition's alert file"));
    // --partition with an account split of its own is refused.
    let both = pumpwatch(
        &[
            "replay",
            day.to_str().unwrap(),
            "--partition",
            "0/2",
            "--threads",
            "3",
        ],
        tmp.path(),
    );
    assert!(!both.status.success());
}

/// A day big enough for a debug build to take a few seconds, with checkpoints after every
/// batch: SIGKILL it at several moments, run the same command again each time, and the alert
/// file ends byte-identical to an uninterrupted run's.
#[test]
fn a_killed_replay_resumes_and_ends_as_an_uninterrupted_one() {
    let tmp = tempfile::tempdir().unwrap();
    let day = tmp.path().join("day");
    ok(pumpwatch(
        &[
            "simulate",
            "--seed",
            "9",
            "--accounts",
            "6000",
            "--symbols",
            "80",
            "--out",
            day.to_str().unwrap(),
        ],
        tmp.path(),
    ));
    let expected = plain_replay(&day, tmp.path());
    let out = tmp.path().join("alerts.ndjson");
    let ckpt = tmp.path().join("ckpt");
    let args = [
        "replay",
        day.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--checkpoint-dir",
        ckpt.to_str().unwrap(),
        "--checkpoint-secs",
        "0",
        "--no-progress",
    ];
    let mut kills = 0;
    let mut resumed = 0;
    for delay_ms in [400u64, 700, 1_100, 1_600, 2_200] {
        let mut child = Command::new(bin())
            .args(args)
            .current_dir(tmp.path())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap(); // SIGKILL
            kills += 1;
        }
        let output = child.wait_with_output().unwrap();
        if String::from_utf8_lossy(&output.stderr).contains("resuming from the checkpoint") {
            resumed += 1;
        }
    }
    let last = ok(pumpwatch(&args, tmp.path()));
    if String::from_utf8_lossy(&last.stderr).contains("resuming from the checkpoint") {
        resumed += 1;
    }
    assert!(kills >= 1, "the run must have been killed at least once");
    assert!(resumed >= 1, "a run must have resumed from a checkpoint");
    assert_eq!(
        std::fs::read(&out).unwrap(),
        expected,
        "{kills} kills, {resumed} resumes"
    );
    assert!(
        !ckpt.join("replay.checkpoint").exists(),
        "a finished run clears its checkpoint"
    );

    // A checkpoint of another run is refused, not silently restarted: start the run again,
    // kill it once it has written a checkpoint, and point another input at that directory.
    let mut child = Command::new(bin())
        .args(args)
        .current_dir(tmp.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let checkpoint = ckpt.join("replay.checkpoint");
    for _ in 0..600 {
        if checkpoint.exists() {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(checkpoint.exists(), "the run wrote a checkpoint");
    let other = pumpwatch(
        &[
            "replay",
            sample_day().to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--checkpoint-dir",
            ckpt.to_str().unwrap(),
        ],
        tmp.path(),
    );
    assert!(!other.status.success());
    assert!(String::from_utf8_lossy(&other.stderr).contains("belongs to another run"));
}
