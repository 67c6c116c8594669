//! Writes a realistic mixed NDJSON trading day for measuring the readers, plus the same events
//! in every other input form (gzip, zstd, per-type NDJSON, CSV and Parquet directories).
//!
//! ```text
//! cargo run --release -p pumpwatch-replay --example gen_events -- /tmp/pw-bench 2000000
//! ```

use std::fmt::Write as _;
use std::io::{BufWriter, Write};
use std::path::Path;

use pumpwatch_replay::{open, write_ndjson_mixed, write_per_type, OutputFormat};

/// splitmix64: enough randomness for test data, and reproducible from the seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// `2025-03-17T<hh:mm:ss.micros>+09:00` for microseconds since local midnight.
fn ts(out: &mut String, micros: u64) {
    let secs = micros / 1_000_000;
    let _ = write!(
        out,
        "2025-03-17T{:02}:{:02}:{:02}.{:06}+09:00",
        secs / 3600,
        secs / 60 % 60,
        secs % 60,
        micros % 1_000_000
    );
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let dir = Path::new(args.get(1).map(String::as_str).unwrap_or("/tmp/pw-bench"));
    let lines: u64 = args
        .get(2)
        .map(|n| n.parse())
        .transpose()?
        .unwrap_or(2_000_000);
    std::fs::create_dir_all(dir)?;
    let mixed = dir.join("mixed.ndjson");
    let mut out = BufWriter::with_capacity(1 << 20, std::fs::File::create(&mixed)?);
    let mut rng = Rng(42);
    let symbols = 2_000u64;
    let accounts = 50_000u64;
    let mut line = String::with_capacity(512);
    let mut written = 0u64;
    let mut emit = |line: &str, out: &mut BufWriter<std::fs::File>| -> std::io::Result<()> {
        written += 1;
        out.write_all(line.as_bytes())?;
        out.write_all(b"\n")
    };

    // Reference data and the start-of-day snapshot, at 08:00.
    let open_micros = 8 * 3_600_000_000u64;
    let reference = (lines / 40).max(10);
    for i in 0..reference {
        line.clear();
        let kind = i % 4;
        line.push_str(match kind {
            0 => r#"{"type":"instrument","ts":""#,
            1 | 2 => r#"{"type":"position","ts":""#,
            _ => r#"{"type":"cash","ts":""#,
        });
        ts(&mut line, open_micros + i);
        line.push('"');
        match kind {
            0 => {
                let symbol = 1000 + i / 4 % symbols;
                let _ = write!(
                    line,
                    r#","symbol":"{symbol}","prev_close":{}.{},"name":"Issuer {symbol}","market":"TSE-Prime","lot_size":100,"shares_outstanding":{},"adv_shares":{}}}"#,
                    100 + rng.below(5000),
                    rng.below(10),
                    1_000_000 + rng.below(500_000_000),
                    rng.below(2_000_000)
                );
            }
            1 | 2 => {
                let _ = write!(
                    line,
                    r#","account_id":"A{:07}","symbol":"{}","qty":{}}}"#,
                    rng.below(accounts),
                    1000 + rng.below(symbols),
                    100 * (1 + rng.below(50))
                );
            }
            _ => {
                let _ = write!(
                    line,
                    r#","account_id":"A{:07}","amount":"{}.{:02}","currency":"JPY"}}"#,
                    rng.below(accounts),
                    rng.below(100_000_000),
                    rng.below(100)
                );
            }
        }
        emit(&line, &mut out)?;
    }

    // The session: orders, executions, trades and some logins, 09:00 to 15:30.
    let session_start = 9 * 3_600_000_000u64;
    let session_micros = 6 * 3_600_000_000u64 + 1_800_000_000;
    let remaining = lines.saturating_sub(reference);
    let step = session_micros / remaining.max(1);
    for i in 0..remaining {
        let micros = session_start + i * step + rng.below(step.max(1));
        let account = rng.below(accounts);
        let symbol = 1000 + rng.below(symbols);
        let price_yen = 100 + rng.below(5000);
        let tick = rng.below(10);
        let side = if rng.below(2) == 0 { "buy" } else { "sell" };
        let qty = 100 * (1 + rng.below(20));
        line.clear();
        match rng.below(100) {
            0..=47 => {
                line.push_str(r#"{"type":"order","ts":""#);
                ts(&mut line, micros);
                let _ = write!(
                    line,
                    r#"","order_id":"O{i:09}","account_id":"A{account:07}","symbol":"{symbol}","side":"{side}","qty":{qty},"price":{price_yen}.{tick}}}"#
                );
            }
            48..=72 => {
                line.push_str(r#"{"type":"execution","ts":""#);
                ts(&mut line, micros);
                let _ = write!(
                    line,
                    r#"","exec_id":"E{i:09}","order_id":"O{:09}","account_id":"A{account:07}","symbol":"{symbol}","side":"{side}","qty":{qty},"price":{price_yen}}}"#,
                    i.saturating_sub(rng.below(1000))
                );
            }
            73..=95 => {
                line.push_str(r#"{"type":"trade","ts":""#);
                ts(&mut line, micros);
                let _ = write!(
                    line,
                    r#"","symbol":"{symbol}","qty":{qty},"price":{price_yen}.{tick},"trade_id":"T{i:010}","aggressor":"{side}"}}"#
                );
            }
            _ => {
                line.push_str(r#"{"type":"auth","ts":""#);
                ts(&mut line, micros);
                let _ = write!(
                    line,
                    r#"","account_id":"A{account:07}","action":"login_success","ip":"203.0.{}.{}","device_id":"d-{:06}","mfa":"totp","channel":"web"}}"#,
                    rng.below(256),
                    rng.below(256),
                    rng.below(1_000_000)
                );
            }
        }
        emit(&line, &mut out)?;
    }
    out.into_inner()?;
    let bytes = std::fs::metadata(&mixed)?.len();
    eprintln!(
        "{}: {written} lines, {:.1} bytes/line",
        mixed.display(),
        bytes as f64 / written as f64
    );

    for name in ["mixed.ndjson.gz", "mixed.ndjson.zst"] {
        let summary = write_ndjson_mixed(&mut *open(&mixed)?, &dir.join(name), None)?;
        eprintln!("{name}: {} events", summary.events());
    }
    for (sub, format) in [
        ("ndjson", OutputFormat::Ndjson),
        ("csv", OutputFormat::Csv),
        ("parquet", OutputFormat::Parquet),
    ] {
        let summary = write_per_type(&mut *open(&mixed)?, &dir.join(sub), format, None)?;
        eprintln!(
            "{sub}/: {} events in {} files",
            summary.events(),
            summary.files.len()
        );
    }
    Ok(())
}
