//! A hand-written scanner for the common shape of an NDJSON event line, filling a [`RawRecord`].
//!
//! It accepts a strict subset of JSON: one flat object whose keys and string values have no
//! escapes and no control characters, whose values are strings, `true`, `false`, `null` or
//! numbers, and whose known keys appear at most once. Within that subset it fills the record
//! exactly as the serde path of [`crate::json`] would; anything else (nesting, escapes, bad
//! grammar, duplicates, trailing bytes) answers [`Scan::Fallback`] and the caller decodes the line
//! with serde, so errors and their messages never depend on this module.

use std::borrow::Cow;

use crate::raw::{Field, RawRecord};

/// What the scanner did with a line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Scan {
    /// The record holds exactly what the serde path would have put in it.
    Handled,
    /// The line leaves the subset; the record is partially filled and must be discarded.
    Fallback,
}

/// Fills `record` (which must start empty) from `text`, one JSON object.
pub(crate) fn scan_line<'a>(text: &'a str, record: &mut RawRecord<'a>) -> Scan {
    match scan_object(text, record) {
        Some(()) => Scan::Handled,
        None => Scan::Fallback,
    }
}

/// `None` means "leave it to serde", never "invalid".
fn scan_object<'a>(text: &'a str, record: &mut RawRecord<'a>) -> Option<()> {
    let b = text.as_bytes();
    let mut i = skip_ws(b, 0);
    if b.get(i) != Some(&b'{') {
        return None;
    }
    i = skip_ws(b, i + 1);
    if b.get(i) == Some(&b'}') {
        i += 1;
    } else {
        loop {
            if b.get(i) != Some(&b'"') {
                return None;
            }
            let key_end = scan_str(b, i + 1)?;
            // Both ends sit next to an ASCII quote, so they are char boundaries.
            let key = text.get(i + 1..key_end)?;
            i = skip_ws(b, key_end + 1);
            if b.get(i) != Some(&b':') {
                return None;
            }
            i = skip_ws(b, i + 1);
            i = match record.slot_and_kind_mut(key) {
                None => skip_value(b, i)?,
                Some((slot, exact_number)) => {
                    // serde rejects a repeated key whose slot is filled (a repeat after
                    // `null` is fine); its message is serde's.
                    if slot.is_some() {
                        return None;
                    }
                    let (value, end) = value(text, i, exact_number)?;
                    // The slot holds `None`: fill it without running drop glue on it.
                    std::mem::forget(std::mem::replace(slot, value));
                    end
                }
            };
            i = skip_ws(b, i);
            match b.get(i) {
                Some(b',') => i = skip_ws(b, i + 1),
                Some(b'}') => {
                    i += 1;
                    break;
                }
                _ => return None,
            }
        }
    }
    (skip_ws(b, i) == b.len()).then_some(())
}

/// JSON whitespace, as serde_json skips it.
#[inline]
fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while let Some(b' ' | b'\n' | b'\t' | b'\r') = b.get(i) {
        i += 1;
    }
    i
}

/// The index of the closing quote of a string whose content starts at `start`; `None` if the
/// string has an escape or a control character, or does not end.
#[inline(always)]
fn scan_str(b: &[u8], start: usize) -> Option<usize> {
    const ONES: u64 = u64::from_le_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_le_bytes([0x80; 8]);
    const QUOTES: u64 = u64::from_le_bytes([b'"'; 8]);
    const BACKSLASHES: u64 = u64::from_le_bytes([b'\\'; 8]);
    let mut i = start;
    // Eight bytes at a time: flag each byte that is a quote, a backslash or below 0x20 (the
    // "has zero byte" / "has less than" word tricks). A borrow only runs towards higher bytes
    // and only from a flagged byte, so the lowest flag is exactly the first such byte.
    while let Some(chunk) = b.get(i..i + 8) {
        let word = u64::from_le_bytes(chunk.try_into().ok()?);
        let quote = word ^ QUOTES;
        let backslash = word ^ BACKSLASHES;
        let special = ((quote.wrapping_sub(ONES) & !quote)
            | (backslash.wrapping_sub(ONES) & !backslash)
            | (word.wrapping_sub(ONES * 0x20) & !word))
            & HIGHS;
        if special != 0 {
            let at = i + (special.trailing_zeros() / 8) as usize;
            return (b[at] == b'"').then_some(at);
        }
        i += 8;
    }
    // The last few bytes of the line.
    loop {
        match *b.get(i)? {
            b'"' => return Some(i),
            b'\\' | 0x00..=0x1f => return None,
            _ => i += 1,
        }
    }
}

/// The end of a number starting at `start` under strict JSON grammar
/// (`-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`, as serde_json checks it), and whether
/// it is a plain integer (no fraction, no exponent).
#[inline(always)]
fn scan_number(b: &[u8], start: usize) -> Option<(usize, bool)> {
    let digits = |mut i: usize| {
        while let Some(b'0'..=b'9') = b.get(i) {
            i += 1;
        }
        i
    };
    let mut i = start;
    if b.get(i) == Some(&b'-') {
        i += 1;
    }
    match b.get(i) {
        Some(b'0') => {
            i += 1;
            if let Some(b'0'..=b'9') = b.get(i) {
                return None;
            }
        }
        Some(b'1'..=b'9') => i = digits(i + 1),
        _ => return None,
    }
    let mut integer = true;
    if b.get(i) == Some(&b'.') {
        integer = false;
        let end = digits(i + 1);
        if end == i + 1 {
            return None;
        }
        i = end;
    }
    if let Some(b'e' | b'E') = b.get(i) {
        integer = false;
        i += 1;
        if let Some(b'+' | b'-') = b.get(i) {
            i += 1;
        }
        let end = digits(i);
        if end == i {
            return None;
        }
        i = end;
    }
    Some((i, integer))
}

/// A literal `true`, `false` or `null` at `i`: its value and its end.
#[inline]
fn literal(b: &[u8], i: usize) -> Option<(Option<bool>, usize)> {
    let rest = b.get(i..)?;
    if rest.starts_with(b"true") {
        Some((Some(true), i + 4))
    } else if rest.starts_with(b"false") {
        Some((Some(false), i + 5))
    } else if rest.starts_with(b"null") {
        Some((None, i + 4))
    } else {
        None
    }
}

/// The value of a known field at `i` and where it ends, as serde's `AnySeed` (or `NumberSeed`
/// for a numeric field) would give it.
#[inline(always)]
fn value(text: &str, i: usize, numeric: bool) -> Option<(Option<Field<'_>>, usize)> {
    let b = text.as_bytes();
    match *b.get(i)? {
        b'"' => {
            let end = scan_str(b, i + 1)?;
            // Both ends sit next to an ASCII quote, so they are char boundaries.
            let text = text.get(i + 1..end)?;
            Some((Some(Field::Text(Cow::Borrowed(text))), end + 1))
        }
        b'-' | b'0'..=b'9' => {
            let (end, integer) = scan_number(b, i)?;
            let field = if numeric {
                // `RawValue` keeps the literal text, nothing more.
                Field::Number(text.get(i..end)?)
            } else if integer {
                small_int(&b[i..end])?
            } else {
                // serde's own float parsing decides the `f64`; leave it to serde.
                return None;
            };
            Some((Some(field), end))
        }
        _ => {
            let (flag, end) = literal(b, i)?;
            Some((flag.map(Field::Bool), end))
        }
    }
}

/// A JSON integer literal of at most 18 digits as serde gives it to `AnySeed`: `visit_u64`
/// (always within `i64`) or `visit_i64`. `-0` is a float to serde_json, so it is left to serde.
#[inline]
fn small_int(literal: &[u8]) -> Option<Field<'static>> {
    let (negative, digits) = match literal {
        [b'-', rest @ ..] => (true, rest),
        _ => (false, literal),
    };
    if digits.len() > 18 {
        return None;
    }
    let n = digits
        .iter()
        .fold(0i64, |n, d| n * 10 + i64::from(d - b'0'));
    match (negative, n) {
        (true, 0) => None,
        (true, n) => Some(Field::Int(-n)),
        (false, n) => Some(Field::Int(n)),
    }
}

/// Skips the value of an unknown key (serde's `IgnoredAny`), only if it is a simple one.
#[inline]
fn skip_value(b: &[u8], i: usize) -> Option<usize> {
    match *b.get(i)? {
        b'"' => Some(scan_str(b, i + 1)? + 1),
        b'-' | b'0'..=b'9' => Some(scan_number(b, i)?.0),
        _ => Some(literal(b, i)?.1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_stop_at_quotes_and_refuse_escapes_and_controls() {
        let cases: [(&[u8], Option<usize>); 9] = [
            (b"abc\"", Some(3)),
            (b"abcdefghijklmnop\"", Some(16)),
            (b"abcdefgh\"", Some(8)),
            (b"\"", Some(0)),
            (b"abcdefghij\\\"", None),
            (b"abcdefghij\x1f\"", None),
            (b"abcdefghij\x7f\xc3\xa9\"", Some(13)),
            (b"abcdefghijk", None),
            (b"", None),
        ];
        for (bytes, end) in cases {
            assert_eq!(
                scan_str(bytes, 0),
                end,
                "{}",
                String::from_utf8_lossy(bytes)
            );
        }
    }

    #[test]
    fn numbers_follow_strict_json_grammar() {
        // (input, where the number ends and whether it is an integer)
        type Case = (&'static [u8], Option<(usize, bool)>);
        let cases: [Case; 14] = [
            (b"0", Some((1, true))),
            (b"-0", Some((2, true))),
            (b"120,", Some((3, true))),
            (b"1.5}", Some((3, false))),
            (b"1e5", Some((3, false))),
            (b"1E+5", Some((4, false))),
            (b"-1.25e-7", Some((8, false))),
            (b"01", None),
            (b"-", None),
            (b"1.", None),
            (b".5", None),
            (b"1e", None),
            (b"1e+", None),
            (b"+1", None),
        ];
        for (bytes, expected) in cases {
            assert_eq!(
                scan_number(bytes, 0),
                expected,
                "{}",
                String::from_utf8_lossy(bytes)
            );
        }
    }
}
