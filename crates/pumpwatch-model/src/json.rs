//! Decoding one JSON line of the contract into an [`Event`].
//!
//! serde walks the object once, filling the format-neutral [`RawRecord`] key by key: no
//! `serde_json::Value`, no allocation for strings without escapes, and numeric fields keep
//! their literal text so decimals stay exact. Lines of the common flat shape skip serde: a
//! hand-written scanner (`json_scan`) fills the same record the same way, and hands
//! every other line back to serde.

use std::borrow::Cow;
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

use crate::event::{Event, EventType};
use crate::invalid::{InvalidEvent, InvalidReason};
use crate::json_scan::{scan_line, Scan};
use crate::raw::{Field, RawRecord};

/// Decodes one line (without its line break) of an NDJSON event stream.
/// `default_type` is the type implied by a per-type file, if any.
///
/// Lines of the common flat shape are scanned by hand (`json_scan`); any other line
/// goes through serde, which alone decides errors and their messages.
pub fn decode_json_line(
    line: &[u8],
    default_type: Option<EventType>,
) -> Result<Event, InvalidEvent> {
    let text = utf8(line, default_type)?;
    // The field bag is large (one slot per contract field): fill it in place, never move it.
    let mut record = RawRecord::default();
    match scan_line(text, &mut record) {
        Scan::Handled => {
            let event = record.validate(default_type);
            // A scanned record owns nothing (its strings are borrowed from the line, which the
            // tests check), so dropping it would only walk every slot to find no heap to free.
            std::mem::forget(record);
            event
        }
        Scan::Fallback => decode_with_serde(text, default_type),
    }
}

fn utf8(line: &[u8], default_type: Option<EventType>) -> Result<&str, InvalidEvent> {
    std::str::from_utf8(line).map_err(|e| malformed(format!("not UTF-8: {e}"), default_type))
}

fn malformed(why: String, default_type: Option<EventType>) -> InvalidEvent {
    InvalidEvent::new(InvalidReason::Malformed(why), default_type)
}

/// The general path: serde_json over any JSON text.
fn decode_with_serde(text: &str, default_type: Option<EventType>) -> Result<Event, InvalidEvent> {
    let mut record = RawRecord::default();
    fill_with_serde(text, &mut record).map_err(|e| malformed(e.to_string(), default_type))?;
    record.validate(default_type)
}

/// Fills `record` from one JSON object with nothing but whitespace after it.
fn fill_with_serde<'a>(text: &'a str, record: &mut RawRecord<'a>) -> serde_json::Result<()> {
    let mut deserializer = serde_json::Deserializer::from_str(text);
    deserializer.deserialize_map(RecordVisitor { record })?;
    deserializer.end()
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
            let Some((slot, exact_number)) = record.slot_and_kind_mut(name) else {
                map.next_value::<IgnoredAny>()?;
                continue;
            };
            if slot.is_some() {
                return Err(serde::de::Error::custom(format!(
                    "duplicate field `{name}`"
                )));
            }
            *slot = if exact_number {
                map.next_value_seed(NumberSeed)?
            } else {
                map.next_value_seed(AnySeed)?
            };
        }
        Ok(())
    }
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

    /// A line that is not UTF-8 is reported with where it breaks; valid multi-byte text passes.
    #[test]
    fn invalid_utf8_names_where_it_breaks() {
        for line in [
            &b"\xff\xfe"[..],
            b"{\"symbol\":\"72\xe3\x81\"}",
            b"{\"a\":1}\xc0",
        ] {
            let err = decode_json_line(line, None).unwrap_err();
            let expected = std::str::from_utf8(line).unwrap_err();
            assert_eq!(
                err.reason,
                InvalidReason::Malformed(format!("not UTF-8: {expected}"))
            );
        }
        let valid = "{\"type\":\"trade\",\"ts\":\"2025-03-17T13:05:00+09:00\",\"symbol\":\"\u{30c8}\u{30e8}\u{30bf}\",\"qty\":1,\"price\":1}";
        assert!(decode_json_line(valid.as_bytes(), None).is_ok());
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

    // The hand-written fast path against the serde path: same record, same result, always.

    use crate::json_scan::{scan_line, Scan};
    use crate::raw::FIELD_NAMES;
    use proptest::sample::select;
    use proptest::test_runner::{Config, TestRunner};

    /// Whether a contract field keeps its JSON number's literal text.
    fn is_numeric(name: &str) -> bool {
        RawRecord::default()
            .slot_and_kind_mut(name)
            .is_some_and(|(_, exact_number)| exact_number)
    }

    /// The decoder as it was before the fast path: UTF-8 check, then serde only.
    fn decode_serde_only(
        line: &[u8],
        default_type: Option<EventType>,
    ) -> Result<Event, InvalidEvent> {
        decode_with_serde(utf8(line, default_type)?, default_type)
    }

    /// What the fast path did with a line (`Fallback` for lines that are not UTF-8).
    fn fast_path(line: &[u8]) -> Scan {
        match std::str::from_utf8(line) {
            Ok(text) => scan_line(text, &mut RawRecord::default()),
            Err(_) => Scan::Fallback,
        }
    }

    /// The property: the public decoder answers exactly as serde alone, and whenever the
    /// scanner claims a line, serde accepts it and fills the very same record.
    fn assert_same_as_serde(line: &[u8]) -> Result<(), TestCaseError> {
        let shown = String::from_utf8_lossy(line);
        for default_type in [None, Some(EventType::Trade), Some(EventType::Order)] {
            prop_assert_eq!(
                decode_json_line(line, default_type),
                decode_serde_only(line, default_type),
                "{}",
                shown
            );
        }
        if let Ok(text) = std::str::from_utf8(line) {
            let mut scanned = RawRecord::default();
            if scan_line(text, &mut scanned) == Scan::Handled {
                let mut filled = RawRecord::default();
                let serde = fill_with_serde(text, &mut filled);
                prop_assert!(serde.is_ok(), "serde rejects {}: {:?}", shown, serde);
                prop_assert_eq!(&scanned, &filled, "{}", shown);
                // Same variant too, not just equal text: the fast path never allocates.
                for name in FIELD_NAMES {
                    if let Some(Some(Field::Text(text))) = scanned.slot_mut(name) {
                        prop_assert!(matches!(text, Cow::Borrowed(_)), "{}", shown);
                    }
                }
            }
        }
        Ok(())
    }

    const TRADE: &str = r#"{"type":"trade","ts":"2025-03-17T09:00:00.001858+09:00","symbol":"5438","qty":300,"price":"438","trade_id":"T000000001","aggressor":"buy"}"#;
    const ORDER: &str = r#"{"type":"order","ts":"2025-03-17T09:00:01.5+09:00","order_id":"O1","account_id":"A0001234","symbol":"7992","side":"buy","action":"new","order_type":"limit","qty":100,"price":112.5,"margin":false,"channel":"web"}"#;

    /// Real lines of every type, as (key, JSON value) pairs, for the generators to reshape.
    const TEMPLATES: [&[(&str, &str)]; 8] = [
        &[
            ("type", r#""trade""#),
            ("ts", r#""2025-03-17T09:00:00.001858+09:00""#),
            ("symbol", r#""5438""#),
            ("qty", "300"),
            ("price", r#""438""#),
            ("trade_id", r#""T000000001""#),
            ("aggressor", r#""buy""#),
        ],
        &[
            ("type", r#""order""#),
            ("ts", r#""2025-03-17T09:00:01.5+09:00""#),
            ("order_id", r#""O1""#),
            ("account_id", r#""A0001234""#),
            ("symbol", r#""7992""#),
            ("side", r#""buy""#),
            ("action", r#""new""#),
            ("order_type", r#""limit""#),
            ("qty", "100"),
            ("price", "112.5"),
            ("margin", "false"),
            ("channel", r#""web""#),
        ],
        &[
            ("type", r#""execution""#),
            ("ts", r#""2025-03-17T10:55:34.943806+09:00""#),
            ("exec_id", r#""E000196152""#),
            ("order_id", r#""O00149672""#),
            ("account_id", r#""A0282371""#),
            ("symbol", r#""9093""#),
            ("side", r#""sell""#),
            ("qty", "100"),
            ("price", "5120"),
            ("trade_id", r#""T003388408""#),
            ("counterparty_account_id", r#""A0000007""#),
        ],
        &[
            ("type", r#""auth""#),
            ("ts", r#""2025-03-17T07:59:19.976022+09:00""#),
            ("account_id", r#""A0311246""#),
            ("action", r#""login_failure""#),
            ("ip", r#""49.249.21.199""#),
            ("device_id", r#""dv-d1340ccab87b""#),
            ("country", r#""JP""#),
            ("asn", "2516"),
            ("channel", r#""web""#),
            ("mfa", r#""totp""#),
            ("user_agent", r#""Mozilla/5.0 (X11) 日本""#),
            ("session_id", r#""s1""#),
        ],
        &[
            ("type", r#""cash""#),
            ("ts", r#""2025-03-17T08:05:00.000020+09:00""#),
            ("account_id", r#""A0000001""#),
            ("amount", "1783007"),
            ("currency", r#""JPY""#),
        ],
        &[
            ("type", r#""instrument""#),
            ("ts", r#""2025-03-17T08:00:00.000000+09:00""#),
            ("symbol", r#""1301""#),
            ("name", r#""Kita Paper Holdings""#),
            ("market", r#""TSE-Standard""#),
            ("lot_size", "100"),
            ("prev_close", "162"),
            ("shares_outstanding", "8110000"),
            ("adv_shares", "3500"),
            ("issuer_country", r#""JP""#),
        ],
        &[
            ("type", r#""position""#),
            ("ts", r#""2025-03-17T08:05:00.000000+09:00""#),
            ("account_id", r#""A0000001""#),
            ("symbol", r#""5316""#),
            ("qty", "3000"),
        ],
        &[
            ("type", r#""order""#),
            ("ts", r#""2025-03-17T09:00:02+09:00""#),
            ("order_id", r#""O2""#),
            ("account_id", r#""A1""#),
            ("symbol", r#""7992""#),
            ("side", r#""sell""#),
            ("action", r#""cancel""#),
            ("src_seq", "17"),
            ("margin", r#""true""#),
        ],
    ];

    /// JSON whitespace mostly, now and then a byte that is not JSON whitespace.
    fn ws() -> impl Strategy<Value = &'static str> {
        prop_oneof![
            45 => Just(""),
            15 => select(vec![" ", "\t", "\n", "\r", "  ", " \r\n\t"]),
            1 => select(vec!["\x0c", "\u{a0}", "\x00", "\x0b"]),
        ]
    }

    fn key() -> impl Strategy<Value = String> {
        prop_oneof![
            16 => select(FIELD_NAMES.to_vec()).prop_map(String::from),
            4 => select(vec!["src_seq", "x", "", "nested", "Type", "qty ", "日本", "price_"])
                .prop_map(String::from),
            1 => select(vec![r"typ\u0065", r"q\ty", r#"\""#, r"a\\b", "tab\there", r"\x"])
                .prop_map(String::from),
        ]
        .prop_map(|k| format!("\"{k}\""))
    }

    fn string_value() -> impl Strategy<Value = String> {
        prop_oneof![
            16 => select(vec![
                "trade", "order", "execution", "position", "cash", "instrument", "auth", "quote",
                "buy", "sell", "new", "cancel", "replace", "limit", "market", "login_success",
                "2025-03-17T09:00:00.001858+09:00", "2025-03-17T09:00:01.5+09:00", "yesterday",
                "", "7992", "A0001234", "JPY", "true", "false", "112.5", "300", " 300", "1e3",
                "-5", "0", "web", "日本語", "abcdefghijklmnopqrstuvwxyz0123456789", "\u{7f}",
            ]).prop_map(String::from),
            2 => select(vec![
                r"a\u0031", r"\n", r#"x\"y"#, r"bad\x", "ctl\u{1}", "tab\t", r"\ud800", r"\",
                r"\\", "line\nbreak", r"12\u0033",
            ]).prop_map(String::from),
            2 => "[ -~]{0,24}",
        ]
        .prop_map(|s| format!("\"{s}\""))
    }

    /// Numbers of every shape, valid JSON or not, small and huge.
    fn number() -> impl Strategy<Value = String> {
        prop_oneof![
            8 => r"-?(0|[1-9][0-9]{0,4}|[1-9][0-9]{16,21})(\.[0-9]{1,3})?([eE][+-]?[0-9]{1,3})?",
            2 => r"-?(0|[1-9][0-9]{0,4}|[1-9][0-9]{16,21}|0[0-9]{1,3})(\.[0-9]{0,3})?([eE][+-]?[0-9]{0,3})?",
            1 => select(vec![
                "0", "-0", "-0.0", "1.5e400", "-1e-400", "9223372036854775807",
                "9223372036854775808", "-9223372036854775808", "-9223372036854775809",
                "18446744073709551615", "18446744073709551616", "999999999999999999",
                "-999999999999999999", "1000000000000000000", "-", ".5", "+1", "NaN",
                "Infinity", "1.", "1e", "0x10", "1_000", "00", "-01",
            ]).prop_map(String::from),
        ]
    }

    fn value() -> impl Strategy<Value = String> {
        prop_oneof![
            10 => string_value(),
            10 => number(),
            4 => select(vec!["true", "false", "null"]).prop_map(String::from),
            1 => select(vec!["tru", "nul", "True", "falsey", "nulll", "n"]).prop_map(String::from),
            1 => select(vec![
                "[]", "{}", "[1,2]", r#"{"a":[1,{"b":null}]}"#, r#"["x"]"#, r#"{"qty":1}"#,
                "[", r#"{"a"}"#, "[1,]", r#"{"a":1,}"#,
            ]).prop_map(String::from),
        ]
    }

    /// `"key":value` with whitespace around every token.
    fn member(
        key: impl Strategy<Value = String>,
        value: impl Strategy<Value = String>,
    ) -> impl Strategy<Value = String> {
        (ws(), key, ws(), ws(), value, ws())
            .prop_map(|(w1, k, w2, w3, v, w4)| format!("{w1}{k}{w2}:{w3}{v}{w4}"))
    }

    /// Members joined into an object, with now and then a broken frame, trailing bytes or a
    /// truncated end.
    fn object(members: impl Strategy<Value = Vec<String>>) -> impl Strategy<Value = Vec<u8>> {
        (
            members,
            prop_oneof![40 => Just(","), 1 => select(vec![",,", "", ";", ":"])],
            prop_oneof![40 => Just("{"), 1 => select(vec!["[", "", "{{", "\u{feff}{"])],
            prop_oneof![40 => Just("}"), 1 => select(vec!["", "}}", "]", ",}"])],
            prop_oneof![
                20 => Just(""),
                1 => select(vec![" ", "\n", "\r\n", " x", "{}", "\x00", "}"]),
            ],
            ws(),
            ws(),
            prop_oneof![15 => Just(None), 1 => any::<prop::sample::Index>().prop_map(Some)],
        )
            .prop_map(|(members, sep, open, close, trailing, w1, w2, cut)| {
                let mut line =
                    format!("{w1}{open}{}{close}{w2}{trailing}", members.join(sep)).into_bytes();
                if let Some(cut) = cut {
                    line.truncate(cut.index(line.len() + 1));
                }
                line
            })
    }

    /// Any mix of keys and values.
    fn grammar_line() -> impl Strategy<Value = Vec<u8>> {
        object(prop::collection::vec(member(key(), value()), 0..10))
    }

    /// A real line reshaped: members shuffled, dropped, duplicated, values swapped for others.
    fn template_line() -> impl Strategy<Value = Vec<u8>> {
        select(TEMPLATES.to_vec())
            .prop_flat_map(|pairs| {
                let n = pairs.len();
                (
                    Just(pairs.to_vec()).prop_shuffle(),
                    prop::collection::vec(
                        prop_oneof![20 => Just(None), 1 => value().prop_map(Some)],
                        n,
                    ),
                    prop::collection::vec(
                        prop_oneof![60 => Just(0usize), 1 => Just(1), 1 => Just(2)],
                        n,
                    ),
                    prop::collection::vec((ws_json(), ws_json(), ws_json(), ws_json()), n * 3),
                )
            })
            .prop_map(|(pairs, swaps, copies, spaces)| {
                let mut members = Vec::new();
                let mut spaces = spaces.into_iter();
                for (((k, v), swap), copies) in pairs.into_iter().zip(swaps).zip(copies) {
                    let v = swap.unwrap_or_else(|| v.to_string());
                    // Mostly once; rarely dropped, or twice (a duplicate key).
                    let times = match copies {
                        0 => 1,
                        1 => 0,
                        _ => 2,
                    };
                    for _ in 0..times {
                        let (w1, w2, w3, w4) = spaces.next().unwrap_or_default();
                        members.push(format!("{w1}\"{k}\"{w2}:{w3}{v}{w4}"));
                    }
                }
                members
            })
            .prop_flat_map(|members| object(Just(members)))
    }

    /// Lines inside the subset the scanner promises to take: flat, no escapes, no control
    /// characters, strict numbers, known keys at most once (unknown ones may repeat).
    fn subset_line() -> impl Strategy<Value = String> {
        fn clean_string() -> BoxedStrategy<String> {
            "[^\"\\\\\x00-\x1f]{0,30}"
                .prop_map(|s| format!("\"{s}\""))
                .boxed()
        }
        fn literal() -> BoxedStrategy<String> {
            select(vec!["true", "false", "null"])
                .prop_map(String::from)
                .boxed()
        }
        const ANY_NUMBER: &str = r"-?(0|[1-9][0-9]{0,25})(\.[0-9]{1,5})?([eE][+-]?[0-9]{1,4})?";
        fn known_value(numeric: bool) -> BoxedStrategy<String> {
            let number = if numeric {
                ANY_NUMBER.boxed()
            } else {
                // Other known fields: integers serde hands over as i64.
                r"0|-?[1-9][0-9]{0,17}".boxed()
            };
            prop_oneof![clean_string(), number, literal()].boxed()
        }
        let known = prop::sample::subsequence(FIELD_NAMES.to_vec(), 0..=FIELD_NAMES.len())
            .prop_flat_map(|names| {
                names
                    .into_iter()
                    .map(|name| (Just(name), known_value(is_numeric(name))))
                    .collect::<Vec<_>>()
            })
            .prop_map(|pairs| {
                pairs
                    .into_iter()
                    .map(|(k, v)| format!("\"{k}\":{v}"))
                    .collect::<Vec<_>>()
            });
        let unknown_value = prop_oneof![clean_string(), ANY_NUMBER.boxed(), literal()];
        let unknown = prop::collection::vec(
            (
                select(vec!["src_seq", "x", "", "日本", "Qty"]),
                unknown_value,
            )
                .prop_map(|(k, v)| format!("\"{k}\":{v}")),
            0..4,
        );
        (known, unknown, prop::collection::vec(ws_json(), 8))
            .prop_flat_map(|(mut known, unknown, _)| {
                known.extend(unknown);
                Just(known).prop_shuffle()
            })
            .prop_flat_map(|members| {
                let n = members.len();
                (Just(members), prop::collection::vec(ws_json(), 2 * n + 3))
            })
            .prop_map(|(members, spaces)| {
                let mut line = format!("{}{{", spaces[0]);
                for (i, m) in members.iter().enumerate() {
                    if i > 0 {
                        line.push(',');
                    }
                    line.push_str(spaces[2 * i + 1]);
                    line.push_str(m);
                    line.push_str(spaces[2 * i + 2]);
                }
                line.push('}');
                line.push_str(spaces[2 * members.len() + 1]);
                line
            })
    }

    /// JSON whitespace only.
    fn ws_json() -> impl Strategy<Value = &'static str> {
        prop_oneof![8 => Just(""), 1 => select(vec![" ", "\t", "\n", "\r", " \r\n\t"])]
    }

    #[test]
    fn the_fast_path_takes_the_typical_lines() {
        for line in [TRADE, ORDER] {
            assert_eq!(fast_path(line.as_bytes()), Scan::Handled, "{line}");
            assert!(decode_json_line(line.as_bytes(), None).is_ok());
        }
        for pairs in TEMPLATES {
            let members: Vec<String> = pairs.iter().map(|(k, v)| format!("\"{k}\":{v}")).collect();
            let line = format!("{{{}}}", members.join(","));
            assert_eq!(fast_path(line.as_bytes()), Scan::Handled, "{line}");
            assert_eq!(
                decode_json_line(line.as_bytes(), None),
                decode_serde_only(line.as_bytes(), None)
            );
        }
        let spaced = " {\t\"type\" : \"trade\" ,\r\n\"qty\":-1.5E+3, \"asn\":-17, \"x\":[] }\n";
        assert_eq!(fast_path(spaced.as_bytes()), Scan::Fallback);
        let spaced = spaced.replace("[]", "null");
        assert_eq!(fast_path(spaced.as_bytes()), Scan::Handled);
        assert_same_as_serde(spaced.as_bytes()).unwrap();
    }

    #[test]
    fn a_null_then_a_repeat_is_no_duplicate_but_a_value_then_a_repeat_is() {
        let after_null = br#"{"type":null,"type":"trade","ts":"2025-03-17T13:05:00+09:00","symbol":"1","qty":1,"price":1}"#;
        assert_eq!(fast_path(after_null), Scan::Handled);
        assert!(decode_json_line(after_null, None).is_ok());
        assert_same_as_serde(after_null).unwrap();
        let twice = br#"{"type":"trade","ts":"2025-03-17T13:05:00+09:00","symbol":"1","qty":1,"qty":null,"price":1}"#;
        assert_eq!(fast_path(twice), Scan::Fallback);
        let err = decode_json_line(twice, None).unwrap_err();
        assert_eq!(err, decode_serde_only(twice, None).unwrap_err());
        assert!(err.to_string().contains("duplicate field `qty`"), "{err}");
    }

    #[test]
    fn the_generators_reach_both_paths() {
        // A differential test is only as good as its inputs: both generators must produce
        // plenty of lines the scanner takes and plenty it leaves to serde, and the template
        // lines must mostly be valid events.
        let mut runner = TestRunner::deterministic();
        for (name, strategy, min_valid) in [
            ("grammar", grammar_line().boxed(), 0),
            ("template", template_line().boxed(), 300),
        ] {
            let (mut handled, mut valid) = (0, 0);
            for _ in 0..1000 {
                let line = strategy.new_tree(&mut runner).unwrap().current();
                handled += usize::from(fast_path(&line) == Scan::Handled);
                valid += usize::from(decode_json_line(&line, None).is_ok());
            }
            eprintln!("{name}: {handled} of 1000 handled, {valid} valid");
            assert!(
                (150..=850).contains(&handled),
                "{name}: {handled} of 1000 handled"
            );
            assert!(valid >= min_valid, "{name}: {valid} of 1000 valid");
        }
    }

    proptest! {
        #![proptest_config(Config::with_cases(4000))]

        /// Any mix of keys, values, whitespace and breakage: same answer as serde alone.
        #[test]
        fn fast_path_matches_serde_on_grammar_lines(line in grammar_line()) {
            assert_same_as_serde(&line)?;
        }

        /// Real lines reshaped: same answer as serde alone (mostly valid events here).
        #[test]
        fn fast_path_matches_serde_on_reshaped_real_lines(line in template_line()) {
            assert_same_as_serde(&line)?;
        }

        /// Every line of the promised subset is taken by the scanner, and taken right.
        #[test]
        fn fast_path_takes_every_subset_line(line in subset_line()) {
            prop_assert_eq!(fast_path(line.as_bytes()), Scan::Handled, "{}", line);
            assert_same_as_serde(line.as_bytes())?;
        }

        /// Byte-level corruption of a real line: same answer as serde alone.
        #[test]
        fn fast_path_matches_serde_on_corrupted_lines(
            template in select(vec![TRADE, ORDER]),
            edits in prop::collection::vec(
                (any::<prop::sample::Index>(), any::<u8>(), 0u8..3),
                1..4,
            ),
        ) {
            let mut line = template.as_bytes().to_vec();
            for (at, byte, op) in edits {
                let at = at.index(line.len());
                match op {
                    0 => line[at] = byte,
                    1 => line.insert(at, byte),
                    _ => { line.remove(at); }
                }
            }
            assert_same_as_serde(&line)?;
        }
    }
}
