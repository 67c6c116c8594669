//! Exact decimal prices and money: parsing from JSON number text, strings and floats without
//! losing a yen or a sub-yen tick, and printing back.

use std::fmt::Write as _;

pub use rust_decimal::Decimal;

/// Parses a decimal from a JSON number literal or a numeric string (`"112.5"`, `-3`, `1.2e3`).
pub fn parse_decimal(text: &str) -> Option<Decimal> {
    let text = trim(text);
    if text.is_empty() || text.len() > 40 {
        return None;
    }
    if let Some(plain) = parse_plain(text.as_bytes()) {
        return Some(plain);
    }
    parse_decimal_general(text)
}

/// `str::trim`, skipping its Unicode scan when the text already starts and ends with a visible
/// ASCII byte (a whole char that is not whitespace), as nearly every price does.
#[inline]
fn trim(text: &str) -> &str {
    match text.as_bytes() {
        [first, .., last] if first.is_ascii_graphic() && last.is_ascii_graphic() => text,
        [only] if only.is_ascii_graphic() => text,
        _ => text.trim(),
    }
}

/// Most digits the fast path takes: any 18-digit mantissa fits an `i64` without overflow.
const PLAIN_MAX_DIGITS: usize = 18;

/// Fast path of [`parse_decimal`] for plain prices (`438`, `112.5`, `0.1`, `-3`): an optional
/// `-`, ASCII digits, then optionally one `.` and at least one digit, at most
/// [`PLAIN_MAX_DIGITS`] digits in all. Nearly every print's price has this form, and building
/// the mantissa and scale directly skips `rust_decimal`'s general parser, which showed up at
/// ~3% of a 10M-print replay. Returns `None` for anything else (`+`, `_`, exponents, a leading
/// or trailing `.`, more digits, ...), which [`parse_decimal_general`] then decides; for what it
/// accepts the result is bit-identical to that path's (normalized, so `-0` is `0`).
#[inline]
fn parse_plain(bytes: &[u8]) -> Option<Decimal> {
    let (negative, body) = match bytes {
        [b'-', rest @ ..] => (true, rest),
        _ => (false, bytes),
    };
    // With a `.` the body holds at most 18 digits; without one this admits 19 digits, which
    // still fit the `u64` below and are rejected after the loop.
    if body.is_empty() || body.len() > PLAIN_MAX_DIGITS + 1 {
        return None;
    }
    let mut mantissa: u64 = 0;
    let mut dot = None;
    for (at, &byte) in body.iter().enumerate() {
        match byte {
            b'0'..=b'9' => mantissa = mantissa * 10 + u64::from(byte - b'0'),
            b'.' if dot.is_none() && at > 0 => dot = Some(at),
            _ => return None,
        }
    }
    let scale = match dot {
        Some(at) if at + 1 == body.len() => return None,
        Some(at) => body.len() - at - 1,
        None if body.len() > PLAIN_MAX_DIGITS => return None,
        None => 0,
    };
    // Normalised here, on the `u64`: trailing zeros of the fraction go, and a zero has scale 0
    // (so `-0` is `0`). `Decimal::normalize` does the same with 96-bit divisions.
    let (mut mantissa, mut scale) = (mantissa, scale);
    while scale > 0 && mantissa % 10 == 0 {
        mantissa /= 10;
        scale -= 1;
    }
    // At most 18 digits: below 10^18 < i64::MAX, and the scale is at most 17.
    let magnitude = i64::try_from(mantissa).ok()?;
    let mantissa = if negative { -magnitude } else { magnitude };
    Some(Decimal::new(mantissa, u32::try_from(scale).ok()?))
}

/// The general parser behind [`parse_decimal`]'s fast path: `rust_decimal`'s exact parsing, with
/// scientific notation when the text has an exponent. Expects trimmed text of 1 to 40 bytes.
fn parse_decimal_general(text: &str) -> Option<Decimal> {
    let parsed = if text.bytes().any(|b| b == b'e' || b == b'E') {
        Decimal::from_scientific(text).ok()
    } else {
        Decimal::from_str_exact(text).ok()
    }?;
    Some(parsed.normalize())
}

/// Converts a float from a columnar source to the decimal it was written as: the shortest text
/// that round-trips the float, which recovers any literal of up to 15 significant digits.
pub fn decimal_from_f64(value: f64) -> Option<Decimal> {
    if !value.is_finite() {
        return None;
    }
    let mut text = String::with_capacity(32);
    write!(text, "{value}").ok()?;
    parse_decimal(&text)
}

/// The decimal as an `f64` when that float prints back to exactly the same decimal; `None`
/// when a JSON number would lose precision and the decimal must be written as a string.
pub fn exact_f64(value: Decimal) -> Option<f64> {
    use rust_decimal::prelude::ToPrimitive;
    let float = value.to_f64()?;
    (decimal_from_f64(float)? == value.normalize()).then_some(float)
}

/// Serde helpers writing a decimal as a JSON number when that is exact, else as a string.
pub mod serde_number {
    use super::*;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(value: &Decimal, serializer: S) -> Result<S::Ok, S::Error> {
        use rust_decimal::prelude::ToPrimitive;
        if value.fract().is_zero() {
            if let Some(int) = value.to_i64() {
                return serializer.serialize_i64(int);
            }
        }
        match exact_f64(*value) {
            Some(float) => serializer.serialize_f64(float),
            None => serializer.collect_str(value),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Decimal, D::Error> {
        let raw = <&serde_json::value::RawValue>::deserialize(deserializer)?;
        let text = raw.get().trim_matches('"');
        parse_decimal(text)
            .ok_or_else(|| serde::de::Error::custom(format!("not a decimal: {text}")))
    }

    /// The same for optional decimals.
    pub mod option {
        use super::*;

        pub fn serialize<S: Serializer>(
            value: &Option<Decimal>,
            serializer: S,
        ) -> Result<S::Ok, S::Error> {
            match value {
                Some(value) => super::serialize(value, serializer),
                None => serializer.serialize_none(),
            }
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(
            deserializer: D,
        ) -> Result<Option<Decimal>, D::Error> {
            let raw = <Option<&serde_json::value::RawValue>>::deserialize(deserializer)?;
            raw.map(|raw| {
                let text = raw.get().trim_matches('"');
                parse_decimal(text)
                    .ok_or_else(|| serde::de::Error::custom(format!("not a decimal: {text}")))
            })
            .transpose()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn keeps_sub_yen_ticks_exactly() {
        assert_eq!(parse_decimal("112.5").unwrap().to_string(), "112.5");
        assert_eq!(
            parse_decimal("0.1").unwrap() + parse_decimal("0.2").unwrap(),
            parse_decimal("0.3").unwrap()
        );
        assert_eq!(parse_decimal("1.125e2").unwrap().to_string(), "112.5");
        assert_eq!(
            parse_decimal("12345678901234.5678").unwrap().to_string(),
            "12345678901234.5678"
        );
        assert!(parse_decimal("abc").is_none());
        assert!(parse_decimal("").is_none());
    }

    #[test]
    fn floats_map_back_to_their_literal() {
        assert_eq!(decimal_from_f64(112.3).unwrap().to_string(), "112.3");
        assert_eq!(decimal_from_f64(0.1).unwrap().to_string(), "0.1");
        assert!(decimal_from_f64(f64::NAN).is_none());
        assert_eq!(
            exact_f64(parse_decimal("12345678901234.5678").unwrap()),
            None
        );
        assert_eq!(exact_f64(parse_decimal("112.5").unwrap()), Some(112.5));
    }

    /// Asserts the fast-path-first parser and the general one agree bit for bit, including the
    /// sign of zero and the scale, which `Decimal`'s `==` ignores.
    fn assert_same_as_general(text: &str) {
        let fast = parse_decimal(text);
        let trimmed = text.trim();
        let general = if trimmed.is_empty() || trimmed.len() > 40 {
            None
        } else {
            parse_decimal_general(trimmed)
        };
        match (fast, general) {
            (None, None) => {}
            (Some(fast), Some(general)) => {
                assert_eq!(fast.serialize(), general.serialize(), "bits of {text:?}");
                assert_eq!(fast.mantissa(), general.mantissa(), "mantissa of {text:?}");
                assert_eq!(fast.scale(), general.scale(), "scale of {text:?}");
                assert_eq!(
                    fast.is_sign_negative(),
                    general.is_sign_negative(),
                    "sign of {text:?}"
                );
                assert_eq!(fast.to_string(), general.to_string(), "text of {text:?}");
            }
            (fast, general) => panic!("{text:?}: fast path {fast:?}, general {general:?}"),
        }
    }

    #[test]
    fn fast_path_matches_general_on_edge_cases() {
        for text in [
            "0",
            "-0",
            "-0.0",
            "-0.00",
            "0.000",
            "000123.4500",
            "999999999999999999",
            "-999999999999999999",
            "0.99999999999999999",
            "9999999999999999999",
            "-9999999999999999999",
            "99999999999999999.99",
            "1.",
            ".5",
            "-.5",
            "1.2.3",
            "--1",
            "-",
            ".",
            "+1",
            "1_000",
            "1e3",
            "1 2",
            " 112.5 ",
            "\u{a0}112.5",
            "-3\u{2003}",
            "\u{b}7\u{85}",
            "\u{1c}7",
            "\t",
            "438",
            "5640",
            "112.5",
            "0.1",
            "-3",
        ] {
            assert_same_as_general(text);
        }
    }

    #[test]
    fn fast_path_takes_plain_prices_only() {
        for text in [
            "438",
            "5640",
            "112.5",
            "0.1",
            "-3",
            "-0",
            "999999999999999999",
        ] {
            assert!(parse_plain(text.as_bytes()).is_some(), "{text:?}");
        }
        for text in [
            "9999999999999999999",
            "1.",
            ".5",
            "1.2.3",
            "--1",
            "+1",
            "1_0",
            "1e3",
            "1 2",
            "-",
            "",
        ] {
            assert!(parse_plain(text.as_bytes()).is_none(), "{text:?}");
        }
        assert_eq!(parse_decimal("-0").unwrap().to_string(), "0");
        assert!(!parse_decimal("-0.00").unwrap().is_sign_negative());
        assert_eq!(parse_decimal("-0.00").unwrap().scale(), 0);
        assert_eq!(parse_decimal("000123.4500").unwrap().to_string(), "123.45");
        assert_eq!(
            parse_decimal("9999999999999999999").unwrap().to_string(),
            "9999999999999999999"
        );
    }

    /// Digit runs biased to the lengths around the fast path's 18-digit limit and to zeros.
    fn digit_run() -> impl Strategy<Value = String> {
        prop_oneof![
            4 => "[0-9]{0,6}",
            2 => "[0-9]{0,25}",
            2 => "[0-9]{16,20}",
            1 => "9{17,20}",
            2 => "0{0,3}[0-9]{0,4}0{0,3}",
        ]
    }

    /// Text close to the fast path's grammar: sign, digits, `.`, digits, exponent, spaces.
    fn near_plain_text() -> impl Strategy<Value = String> {
        (
            prop_oneof![Just(""), Just(" "), Just("  ")],
            prop_oneof![4 => Just(""), 3 => Just("-"), 1 => Just("+")],
            digit_run(),
            prop_oneof![3 => Just(""), 3 => Just(".")],
            digit_run(),
            prop_oneof![6 => Just(String::new()), 1 => "[eE][-+]?[0-9]{0,3}"],
            prop_oneof![Just(""), Just(" "), Just("\t")],
        )
            .prop_map(|(lead, sign, int, dot, frac, exp, trail)| {
                format!("{lead}{sign}{int}{dot}{frac}{exp}{trail}")
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(5000))]

        #[test]
        fn fast_path_matches_general_near_its_grammar(text in near_plain_text()) {
            assert_same_as_general(&text);
        }

        #[test]
        fn fast_path_matches_general_on_short_junk(text in "[0-9.+eE_ -]{0,14}") {
            assert_same_as_general(&text);
        }

        #[test]
        fn trimming_matches_str_trim(
            text in "[ \t\n\r\u{b}\u{c}\u{1c}\u{85}\u{a0}\u{2003}\u{3000}0-9.a-]{0,8}"
        ) {
            prop_assert_eq!(trim(&text), text.trim());
            assert_same_as_general(&text);
        }

        #[test]
        fn fast_path_matches_general_on_formatted_decimals(
            mantissa in prop_oneof![
                -1_000_000i128..1_000_000,
                any::<i64>().prop_map(i128::from),
                -(1i128 << 96) + 1..(1i128 << 96),
            ],
            scale in 0u32..=28,
        ) {
            let value = Decimal::from_i128_with_scale(mantissa, scale);
            assert_same_as_general(&value.to_string());
            assert_eq!(parse_decimal(&value.to_string()).unwrap(), value);
        }
    }

    proptest! {
        #[test]
        fn ticks_round_trip_through_text(units in 0i64..10_000_000_000, scale in 0u32..4) {
            let value = Decimal::new(units, scale);
            prop_assert_eq!(parse_decimal(&value.to_string()).unwrap(), value.normalize());
        }
    }
}
