//! Parse-only rate of the JSON decoder on an NDJSON file held in memory:
//! `cargo run --release -p pumpwatch-model --example decode_rate -- FILE`.

use std::time::Instant;

fn main() {
    let path = std::env::args().nth(1).expect("usage: decode_rate FILE");
    let text = std::fs::read(&path).expect("read the file");
    let lines: Vec<&[u8]> = text
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .collect();
    for round in 0..3 {
        let started = Instant::now();
        let mut valid = 0u64;
        for line in &lines {
            valid += u64::from(pumpwatch_model::decode_json_line(line, None).is_ok());
        }
        let secs = started.elapsed().as_secs_f64();
        println!(
            "round {round}: {} lines, {valid} valid, {:.0} lines/s",
            lines.len(),
            lines.len() as f64 / secs
        );
    }
}
