//! The trading day's clock: session time, wall time in JST, and RFC 3339 text.
//!
//! Planning happens in *session time*: microseconds of trading since the
//! 09:00 open, 0..330 minutes, with the 11:30–12:30 lunch break squeezed
//! out. A window that starts at 11:00 and lasts an hour therefore ends at
//! 13:00 wall time, as it would on the TSE. Events carry *wall time*:
//! microseconds since local midnight, printed with a fixed `+09:00` offset
//! (Japan has no daylight saving time).

use crate::error::SimError;

/// One minute in microseconds.
pub(crate) const MINUTE_US: i64 = 60_000_000;
/// One second in microseconds.
pub(crate) const SECOND_US: i64 = 1_000_000;
/// Trading minutes in the day: 150 in the morning, 180 in the afternoon.
pub(crate) const SESSION_MINUTES: i64 = 330;
/// Length of the trading day in session microseconds.
pub(crate) const SESSION_US: i64 = SESSION_MINUTES * MINUTE_US;
/// The morning session's length; session time past this is afternoon.
pub(crate) const MORNING_US: i64 = 150 * MINUTE_US;

/// Wall time (µs since midnight) of `h:m`.
pub(crate) const fn hm(h: i64, m: i64) -> i64 {
    (h * 60 + m) * MINUTE_US
}

const OPEN_AM: i64 = hm(9, 0);
const OPEN_PM: i64 = hm(12, 30);

/// Wall time of a session instant; out-of-range input is clamped to the day.
pub(crate) fn wall(session_us: i64) -> i64 {
    let s = session_us.clamp(0, SESSION_US);
    if s < MORNING_US {
        OPEN_AM + s
    } else {
        OPEN_PM + (s - MORNING_US)
    }
}

/// The calendar date of the generated day and its RFC 3339 formatting.
#[derive(Debug, Clone)]
pub(crate) struct Day {
    /// `YYYY-MM-DDT`, the constant head of every timestamp.
    prefix: [u8; 11],
}

impl Day {
    /// Parses and validates `YYYY-MM-DD`.
    pub(crate) fn parse(date: &str) -> Result<Day, SimError> {
        let bad = || SimError::BadDate(date.to_string());
        if date.len() != 10 {
            return Err(bad());
        }
        chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d").map_err(|_| bad())?;
        let mut prefix = [b'T'; 11];
        prefix[..10].copy_from_slice(date.as_bytes());
        Ok(Day { prefix })
    }

    /// Appends `YYYY-MM-DDTHH:MM:SS.ffffff+09:00` for a wall time.
    pub(crate) fn write_ts(&self, buf: &mut Vec<u8>, wall_us: i64) {
        let us = wall_us.clamp(0, 24 * 3600 * SECOND_US - 1);
        let secs = us / SECOND_US;
        let frac = us % SECOND_US;
        buf.extend_from_slice(&self.prefix);
        two(buf, secs / 3600);
        buf.push(b':');
        two(buf, (secs / 60) % 60);
        buf.push(b':');
        two(buf, secs % 60);
        buf.push(b'.');
        let mut digits = [b'0'; 6];
        let mut f = frac;
        for d in digits.iter_mut().rev() {
            *d = b'0' + (f % 10) as u8;
            f /= 10;
        }
        buf.extend_from_slice(&digits);
        buf.extend_from_slice(b"+09:00");
    }

    /// The same timestamp as an owned string (labels, tests).
    pub(crate) fn rfc3339(&self, wall_us: i64) -> String {
        let mut buf = Vec::with_capacity(32);
        self.write_ts(&mut buf, wall_us);
        String::from_utf8_lossy(&buf).into_owned()
    }
}

fn two(buf: &mut Vec<u8>, v: i64) {
    buf.push(b'0' + (v / 10) as u8);
    buf.push(b'0' + (v % 10) as u8);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_time_skips_lunch() {
        assert_eq!(wall(0), hm(9, 0));
        assert_eq!(wall(150 * MINUTE_US - 1), hm(11, 30) - 1);
        assert_eq!(wall(150 * MINUTE_US), hm(12, 30));
        assert_eq!(wall(SESSION_US), hm(15, 30));
    }

    #[test]
    fn formats_rfc3339_with_jst_offset() {
        let d = Day::parse("2025-03-17").unwrap();
        assert_eq!(
            d.rfc3339(hm(13, 5) + 123_456),
            "2025-03-17T13:05:00.123456+09:00"
        );
    }

    #[test]
    fn rejects_impossible_dates() {
        assert!(Day::parse("2025-02-30").is_err());
        assert!(Day::parse("2025-3-17").is_err());
        assert!(Day::parse("17/03/2025").is_err());
    }
}
