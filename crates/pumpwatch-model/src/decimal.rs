//! Exact decimal prices and money: parsing from JSON number text, strings and floats without
//! losing a yen or a sub-yen tick, and printing back.

use std::fmt::Write as _;

pub use rust_decimal::Decimal;

/// Parses a decimal from a JSON number literal or a numeric string (`"112.5"`, `-3`, `1.2e3`).
pub fn parse_decimal(text: &str) -> Option<Decimal> {
    let text = text.trim();
    if text.is_empty() || text.len() > 40 {
        return None;
    }
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

    proptest! {
        #[test]
        fn ticks_round_trip_through_text(units in 0i64..10_000_000_000, scale in 0u32..4) {
            let value = Decimal::new(units, scale);
            prop_assert_eq!(parse_decimal(&value.to_string()).unwrap(), value.normalize());
        }
    }
}
