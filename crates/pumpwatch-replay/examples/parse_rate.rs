//! Parse-only rate of each input: drains the source (decode + validate, nothing downstream)
//! and prints events per second. Pin it to one core with `taskset -c 0`.
//!
//! ```text
//! taskset -c 0 target/release/examples/parse_rate /tmp/pw-bench/mixed.ndjson /tmp/pw-bench/parquet
//! ```

use std::path::Path;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    for input in std::env::args().skip(1) {
        let counts = pumpwatch_replay::count_records(Path::new(&input))?;
        let secs = counts.elapsed.as_secs_f64();
        println!(
            "{input}: {} events, {} invalid, {:.3} s, {:.2} M events/s",
            counts.events,
            counts.invalid,
            secs,
            counts.events as f64 / secs / 1e6
        );
    }
    Ok(())
}
