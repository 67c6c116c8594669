//! Event time: an instant in UTC nanoseconds plus the producer's UTC offset, parsed from and
//! printed as RFC 3339.
//!
//! Parsing is on the hot path of every decoder, so the common shape
//! (`YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`) is parsed by hand; anything else RFC 3339
//! allows falls back to chrono.

use std::cell::Cell;
use std::cmp::Ordering;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

const NANOS_PER_SEC: i64 = 1_000_000_000;

/// An instant of event time. Ordered by the instant first; the offset only breaks ties so that
/// the order is total and agrees with `Eq`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Timestamp {
    /// Nanoseconds since 1970-01-01T00:00:00Z.
    pub utc_nanos: i64,
    /// The producer's offset from UTC in seconds (`+09:00` is 32400); used only for display.
    pub offset_secs: i32,
}

impl Ord for Timestamp {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.utc_nanos, self.offset_secs).cmp(&(other.utc_nanos, other.offset_secs))
    }
}

impl PartialOrd for Timestamp {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl schemars::JsonSchema for Timestamp {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Timestamp".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "format": "date-time",
            "description": "RFC 3339 with an explicit offset, as the producer wrote it (e.g. 2025-03-17T13:12:00+09:00)"
        })
    }
}

/// Why a timestamp text was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not an RFC 3339 timestamp with offset: {0:?}")]
pub struct TimestampError(pub String);

impl Timestamp {
    /// A UTC instant with a zero offset.
    pub fn from_utc_nanos(utc_nanos: i64) -> Self {
        Timestamp {
            utc_nanos,
            offset_secs: 0,
        }
    }

    /// The same instant shown with another offset.
    pub fn with_offset(self, offset_secs: i32) -> Self {
        Timestamp {
            offset_secs,
            ..self
        }
    }

    /// Parses RFC 3339 with a mandatory offset and up to nanosecond precision.
    pub fn parse(text: &str) -> Result<Self, TimestampError> {
        parse_fast(text.as_bytes())
            .or_else(|| parse_with_chrono(text))
            .ok_or_else(|| TimestampError(truncate_for_message(text)))
    }

    /// The local civil date (`YYYY-MM-DD`) of this instant at its own offset.
    pub fn local_date(&self) -> (i32, u32, u32) {
        let local = self.utc_nanos + i64::from(self.offset_secs) * NANOS_PER_SEC;
        civil_from_days(local.div_euclid(NANOS_PER_SEC * 86_400))
    }

    /// Seconds since local midnight at this timestamp's own offset.
    pub fn local_secs_of_day(&self) -> i64 {
        let local = self.utc_nanos + i64::from(self.offset_secs) * NANOS_PER_SEC;
        local.div_euclid(NANOS_PER_SEC).rem_euclid(86_400)
    }
}

fn truncate_for_message(text: &str) -> String {
    text.chars().take(64).collect()
}

fn digits(bytes: &[u8]) -> Option<i64> {
    let mut value = 0i64;
    for &b in bytes {
        if !b.is_ascii_digit() {
            return None;
        }
        value = value * 10 + i64::from(b - b'0');
    }
    Some(value)
}

fn parse_fast(b: &[u8]) -> Option<Timestamp> {
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let days = date_days(&b[0..10])?;
    let hour = digits(&b[11..13])?;
    let minute = digits(&b[14..16])?;
    let second = digits(&b[17..19])?;
    // A leap second (:60) is left to chrono, which folds it into the previous second.
    if hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let mut pos = 19;
    let mut nanos = 0i64;
    if b[pos] == b'.' {
        pos += 1;
        let start = pos;
        while pos < b.len() && b[pos].is_ascii_digit() {
            pos += 1;
        }
        let count = pos - start;
        if count == 0 || count > 9 {
            return None;
        }
        nanos = digits(&b[start..pos])? * 10i64.pow(9 - count as u32);
    }
    let offset_secs = match b.get(pos)? {
        b'Z' if pos + 1 == b.len() => 0,
        sign @ (b'+' | b'-') if pos + 6 == b.len() && b[pos + 3] == b':' => {
            let h = digits(&b[pos + 1..pos + 3])?;
            let m = digits(&b[pos + 4..pos + 6])?;
            if h > 23 || m > 59 {
                return None;
            }
            let secs = (h * 3600 + m * 60) as i32;
            if *sign == b'-' {
                -secs
            } else {
                secs
            }
        }
        _ => return None,
    };
    let local_secs = days * 86_400 + hour * 3600 + minute * 60 + second;
    let utc_secs = local_secs - i64::from(offset_secs);
    Some(Timestamp {
        utc_nanos: utc_secs.checked_mul(NANOS_PER_SEC)?.checked_add(nanos)?,
        offset_secs,
    })
}

/// The day count since 1970-01-01 of a checked `YYYY-MM-DD` (its dashes already checked). A
/// feed's timestamps share their date for a whole day, so the last date read on this thread is
/// remembered with its count.
fn date_days(date: &[u8]) -> Option<i64> {
    thread_local! {
        // No valid date's bytes are all zero, so the initial entry never matches.
        static LAST_DATE: Cell<(u64, u16, i64)> = const { Cell::new((0, 0, 0)) };
    }
    let head = u64::from_le_bytes(date.get(0..8)?.try_into().ok()?);
    let tail = u16::from_le_bytes(date.get(8..10)?.try_into().ok()?);
    let (last_head, last_tail, last_days) = LAST_DATE.get();
    if (head, tail) == (last_head, last_tail) {
        return Some(last_days);
    }
    let year = digits(&date[0..4])?;
    let month = digits(&date[5..7])?;
    let day = digits(&date[8..10])?;
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    let days = days_from_civil(year, month as u32, day as u32);
    LAST_DATE.set((head, tail, days));
    Some(days)
}

fn parse_with_chrono(text: &str) -> Option<Timestamp> {
    let parsed = chrono::DateTime::parse_from_rfc3339(text).ok()?;
    let utc_nanos = parsed.timestamp_nanos_opt()?;
    Some(Timestamp {
        utc_nanos,
        offset_secs: parsed.offset().local_minus_utc(),
    })
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if is_leap(year) => 29,
        _ => 28,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The proleptic Gregorian date of a day count since 1970-01-01.
pub fn civil_from_days(days: i64) -> (i32, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year as i32, month, day)
}

impl fmt::Display for Timestamp {
    /// RFC 3339 at the timestamp's own offset, with 0, 3, 6 or 9 fraction digits as needed.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let local = self.utc_nanos + i64::from(self.offset_secs) * NANOS_PER_SEC;
        let secs = local.div_euclid(NANOS_PER_SEC);
        let nanos = local.rem_euclid(NANOS_PER_SEC);
        let (year, month, day) = civil_from_days(secs.div_euclid(86_400));
        let sod = secs.rem_euclid(86_400);
        write!(
            f,
            "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}",
            sod / 3600,
            sod / 60 % 60,
            sod % 60
        )?;
        if nanos != 0 {
            if nanos % 1_000_000 == 0 {
                write!(f, ".{:03}", nanos / 1_000_000)?;
            } else if nanos % 1_000 == 0 {
                write!(f, ".{:06}", nanos / 1_000)?;
            } else {
                write!(f, ".{nanos:09}")?;
            }
        }
        if self.offset_secs == 0 {
            f.write_str("Z")
        } else {
            let sign = if self.offset_secs < 0 { '-' } else { '+' };
            let abs = self.offset_secs.unsigned_abs();
            write!(f, "{sign}{:02}:{:02}", abs / 3600, abs / 60 % 60)
        }
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Timestamp::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_jst_with_micros() {
        let ts = Timestamp::parse("2025-03-17T13:05:00.123456+09:00").unwrap();
        assert_eq!(ts.offset_secs, 9 * 3600);
        let utc = Timestamp::parse("2025-03-17T04:05:00.123456Z").unwrap();
        assert_eq!(ts.utc_nanos, utc.utc_nanos);
        assert_eq!(ts.to_string(), "2025-03-17T13:05:00.123456+09:00");
        assert_eq!(ts.local_secs_of_day(), 13 * 3600 + 5 * 60);
        assert_eq!(ts.local_date(), (2025, 3, 17));
    }

    #[test]
    fn agrees_with_chrono_on_forms_the_fast_path_skips() {
        let fast = Timestamp::parse("2025-03-17T13:05:00+09:00").unwrap();
        let slow = Timestamp::parse("2025-03-17t13:05:00+09:00").unwrap();
        assert_eq!(fast, slow);
    }

    #[test]
    fn rejects_malformed() {
        for bad in [
            "",
            "2025-03-17",
            "2025-13-01T00:00:00Z",
            "2025-02-30T00:00:00Z",
            "2025-03-17T13:05:00",
            "2025-03-17T25:00:00Z",
            "2025-03-17T13:05:00.+09:00",
            "x025-03-17T13:05:00Z",
        ] {
            assert!(Timestamp::parse(bad).is_err(), "{bad} should be rejected");
        }
    }

    proptest! {
        /// Instants a few days apart, in any order: the remembered date is reused when it is
        /// the same and replaced when it is not, and every instant agrees with chrono.
        #[test]
        fn instants_sharing_dates_parse_as_chrono_does(
            steps in prop::collection::vec((0i64..4 * 86_400_000, -600i32..600), 1..40)
        ) {
            let base = 1_709_164_800_000i64; // 2024-02-29T00:00:00Z, a leap day
            for (millis, offset_min) in steps {
                let ts = Timestamp {
                    utc_nanos: (base - 86_400_000 + millis) * 1_000_000,
                    offset_secs: offset_min * 60,
                };
                let text = ts.to_string();
                prop_assert_eq!(Timestamp::parse(&text).unwrap(), ts);
                let chrono_nanos = chrono::DateTime::parse_from_rfc3339(&text).unwrap().timestamp_nanos_opt().unwrap();
                prop_assert_eq!(chrono_nanos, ts.utc_nanos);
            }
        }

        #[test]
        fn display_then_parse_round_trips(utc_nanos in -2_000_000_000_000_000_000i64..4_000_000_000_000_000_000i64, offset_min in -1439i32..1439i32) {
            let ts = Timestamp { utc_nanos, offset_secs: offset_min * 60 };
            let text = ts.to_string();
            prop_assert_eq!(Timestamp::parse(&text).unwrap(), ts);
            let chrono_nanos = chrono::DateTime::parse_from_rfc3339(&text).unwrap().timestamp_nanos_opt().unwrap();
            prop_assert_eq!(chrono_nanos, utc_nanos);
        }
    }
}
