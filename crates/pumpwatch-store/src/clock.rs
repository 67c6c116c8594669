//! Store time as text: RFC 3339 in UTC with exactly six fraction digits, so that text order
//! is time order in both databases. The store (not the engine) may read the wall clock: for
//! when a change was made.

use pumpwatch_model::time::civil_from_days;
use pumpwatch_model::Timestamp;

/// An event timestamp as store text (`2025-03-17T04:05:00.000000Z`).
pub fn utc_text(ts: &Timestamp) -> String {
    utc_text_of_nanos(ts.utc_nanos)
}

/// The trading day of an event time, in its own offset (`2025-03-17`): how alerts, bars and
/// execution links are grouped by day.
pub fn day_text(ts: &Timestamp) -> String {
    let (y, m, d) = ts.local_date();
    format!("{y:04}-{m:02}-{d:02}")
}

/// Nanoseconds since the epoch as store text, truncated to microseconds.
pub fn utc_text_of_nanos(nanos: i64) -> String {
    let secs = nanos.div_euclid(1_000_000_000);
    let micros = nanos.rem_euclid(1_000_000_000) / 1_000;
    let (year, month, day) = civil_from_days(secs.div_euclid(86_400));
    let sod = secs.rem_euclid(86_400);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{micros:06}Z",
        sod / 3600,
        sod / 60 % 60,
        sod % 60
    )
}

/// The wall clock now, as store text.
pub(crate) fn now() -> String {
    let now = chrono::Utc::now();
    utc_text_of_nanos(now.timestamp_nanos_opt().unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_time_is_fixed_width_utc() {
        let ts = Timestamp::parse("2025-03-17T13:05:00.123456789+09:00").unwrap();
        assert_eq!(utc_text(&ts), "2025-03-17T04:05:00.123456Z");
        let ts = Timestamp::parse("2025-03-17T13:05:00+09:00").unwrap();
        assert_eq!(utc_text(&ts), "2025-03-17T04:05:00.000000Z");
        assert_eq!(now().len(), "2025-03-17T04:05:00.000000Z".len());
    }
}
