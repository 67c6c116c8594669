//! Decoding one JSON line of the contract into an [`Event`].
//!
//! serde walks the object once, filling the format-neutral [`RawRecord`] key by key: no
//! `serde_json::Value`, no allocation for strings without escapes, and numeric fields keep
//! their literal text so decimals stay exact.

use std::borrow::Cow;
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

use crate::event::{Event, EventType};
use crate::invalid::{InvalidEvent, InvalidReason};
use crate::raw::{Field, RawRecord};

/// Decodes one line (without its line break) of an NDJSON event stream.
/// `default_type` is the type implied by a per-type file, if any.
pub fn decode_json_line(
    line: &[u8],
    default_type: Option<EventType>,
) -> Result<Event, InvalidEvent> {
    let malformed = |why: String| InvalidEvent::new(InvalidReason::Malformed(why), default_type);
    let text = std::str::from_utf8(line).map_err(|e| malformed(format!("not UTF-8: {e}")))?;
    let mut deserializer = serde_json::Deserializer::from_str(text);
    // The field bag is large (one slot per contract field): fill it in place, never move it.
    let mut record = RawRecord::default();
    deserializer
        .deserialize_map(RecordVisitor {
            record: &mut record,
        })
        .map_err(|e| malformed(e.to_string()))?;
    deserializer.end().map_err(|e| malformed(e.to_string()))?;
    record.validate(default_type)
}

/// Fills a [`RawRecord`] straight from the JSON object, key by key: no intermediate struct,
/// strings without escapes borrowed from the line. Keys the contract does not name are skipped.
struct RecordVisitor<'r, 'de> {
    record: &'r mut RawRecord<'de>,
}

impl<'de> Visitor<'de> for RecordVisitor<'_, 'de> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let record = self.record;
        while let Some(key) = map.next_key::<Key<'de>>()? {
            let name = key.as_str();
            let Some(slot) = record.slot_mut(name) else {
                map.next_value::<IgnoredAny>()?;
                continue;
            };
            if slot.is_some() {
                return Err(serde::de::Error::custom(format!(
                    "duplicate field `{name}`"
                )));
            }
            *slot = if is_numeric(name) {
                map.next_value_seed(NumberSeed)?
            } else {
                map.next_value_seed(AnySeed)?
            };
        }
        Ok(())
    }
}

/// Fields whose JSON numbers must keep their literal text (exact decimals, big integers).
fn is_numeric(name: &str) -> bool {
    matches!(
        name,
        "qty"
            | "price"
            | "amount"
            | "prev_close"
            | "lot_size"
            | "shares_outstanding"
            | "adv_shares"
    )
}

/// An object key, borrowed unless it contained escapes.
enum Key<'de> {
    Borrowed(&'de str),
    Owned(String),
}

impl Key<'_> {
    fn as_str(&self) -> &str {
        match self {
            Key::Borrowed(s) => s,
            Key::Owned(s) => s,
        }
    }
}

impl<'de> serde::Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a field name")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key::Borrowed(v))
            }
            fn visit_str<E>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key::Owned(v.to_string()))
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

/// Any JSON value, typed as the carrier typed it; objects and arrays are skipped and named.
struct AnySeed;

impl<'de> DeserializeSeed<'de> for AnySeed {
    type Value = Option<Field<'de>>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for AnySeed {
    type Value = Option<Field<'de>>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Some(Field::Text(Cow::Borrowed(v))))
    }
    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Some(Field::Text(Cow::Owned(v.to_string()))))
    }
    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(Some(Field::Text(Cow::Owned(v))))
    }
    fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Some(Field::Bool(v)))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Some(Field::Int(v)))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Some(
            i64::try_from(v).map_or(Field::Other("number too large"), Field::Int),
        ))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
        Ok(Some(Field::Float(v)))
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_none<E>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Some(Field::Other("object")))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Some(Field::Other("array")))
    }
}

/// A value of a numeric field, keeping a JSON number's literal text so no precision is lost.
struct NumberSeed;

impl<'de> DeserializeSeed<'de> for NumberSeed {
    type Value = Option<Field<'de>>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        let raw = <&'de RawValue as serde::Deserialize>::deserialize(deserializer)?;
        let text = raw.get();
        Ok(match text.as_bytes().first() {
            Some(b'"') => {
                let inner = &text[1..text.len() - 1];
                if inner.contains('\\') {
                    let owned: String =
                        serde_json::from_str(text).map_err(serde::de::Error::custom)?;
                    Some(Field::Text(Cow::Owned(owned)))
                } else {
                    Some(Field::Text(Cow::Borrowed(inner)))
                }
            }
            Some(b't') => Some(Field::Bool(true)),
            Some(b'f') => Some(Field::Bool(false)),
            Some(b'n') => None,
            Some(b'{') => Some(Field::Other("object")),
            Some(b'[') => Some(Field::Other("array")),
            _ => Some(Field::Number(text)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::EventBody;
    use proptest::prelude::*;

    #[test]
    fn decodes_an_execution_with_string_price_and_extra_fields() {
        let line = br#"{"type":"execution","ts":"2025-03-17T13:05:00.5+09:00","exec_id":"E1","order_id":"O1","account_id":"A\u0031","symbol":"7992","side":"buy","qty":300,"price":"112.5","venue":"TSE","nested":{"a":[1,2]}}"#;
        let event = decode_json_line(line, None).unwrap();
        let EventBody::Execution(e) = &event.body else {
            panic!("not an execution")
        };
        assert_eq!(e.account_id, "A1");
        assert_eq!(e.price.to_string(), "112.5");
        assert_eq!(e.qty, 300);
    }

    #[test]
    fn syntax_errors_and_wrong_types_are_reasons_not_panics() {
        let cases: [(&[u8], &str); 6] = [
            (b"{", "malformed"),
            (b"[]", "malformed"),
            (b"\xff\xfe", "malformed"),
            (br#"{"ts":"2025-03-17T13:05:00+09:00"}"#, "missing_type"),
            (br#"{"type":"trade","ts":"2025-03-17T13:05:00+09:00","symbol":"1","qty":{"x":1},"price":1}"#, "bad_field"),
            (br#"{"type":"trade","ts":"yesterday","symbol":"1","qty":1,"price":1}"#, "bad_field"),
        ];
        for (line, code) in cases {
            let err = decode_json_line(line, None).unwrap_err();
            assert_eq!(err.reason.code(), code, "{}", String::from_utf8_lossy(line));
        }
    }

    #[test]
    fn duplicate_fields_escaped_keys_and_nested_values() {
        let dup = br#"{"type":"trade","type":"trade","ts":"2025-03-17T13:05:00+09:00","symbol":"1","qty":1,"price":1}"#;
        assert_eq!(
            decode_json_line(dup, None).unwrap_err().reason.code(),
            "malformed"
        );
        let escaped_key = br#"{"typ\u0065":"trade","ts":"2025-03-17T13:05:00+09:00","symbol":"1","qty":1,"price":"1.50"}"#;
        let EventBody::Trade(t) = decode_json_line(escaped_key, None).unwrap().body else {
            panic!("not a trade")
        };
        assert_eq!(t.price.to_string(), "1.5");
        let nested = br#"{"type":"trade","ts":"2025-03-17T13:05:00+09:00","symbol":["1"],"qty":1,"price":1}"#;
        assert_eq!(
            decode_json_line(nested, None).unwrap_err().reason.label(),
            "bad_field:symbol"
        );
        let trailing = br#"{"type":"trade","ts":"2025-03-17T13:05:00+09:00","symbol":"1","qty":1,"price":1} x"#;
        assert_eq!(
            decode_json_line(trailing, None).unwrap_err().reason.code(),
            "malformed"
        );
    }

    proptest! {
        /// Whatever bytes arrive, the decoder answers with an event or a reason.
        #[test]
        fn never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            let _ = decode_json_line(&bytes, None);
        }

        /// Mutating a valid line byte by byte never panics either (closer to real corruption).
        #[test]
        fn never_panics_on_corrupted_lines(pos in 0usize..140, byte in any::<u8>()) {
            let mut line = br#"{"type":"order","ts":"2025-03-17T13:05:00+09:00","order_id":"O1","account_id":"A1","symbol":"7992","side":"buy","qty":100,"price":112}"#.to_vec();
            let pos = pos % line.len();
            line[pos] = byte;
            let _ = decode_json_line(&line, None);
        }
    }
}
