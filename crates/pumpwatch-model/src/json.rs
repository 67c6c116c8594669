//! Decoding one JSON line of the contract into an [`Event`].
//!
//! serde reads the line into borrowed raw values (no `serde_json::Value`, no allocation for
//! strings without escapes), which keeps each number's literal text so decimals stay exact.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::event::{Event, EventType};
use crate::invalid::{InvalidEvent, InvalidReason};
use crate::raw::{Field, RawRecord};

/// The JSON object as serde sees it: every contract field as its raw JSON text.
/// Fields that are not in the contract are skipped by serde, as the contract requires.
#[derive(Deserialize)]
struct JsonRecord<'a> {
    #[serde(rename = "type", borrow)]
    kind: Option<&'a RawValue>,
    ts: Option<&'a RawValue>,
    account_id: Option<&'a RawValue>,
    symbol: Option<&'a RawValue>,
    order_id: Option<&'a RawValue>,
    exec_id: Option<&'a RawValue>,
    trade_id: Option<&'a RawValue>,
    counterparty_account_id: Option<&'a RawValue>,
    side: Option<&'a RawValue>,
    action: Option<&'a RawValue>,
    order_type: Option<&'a RawValue>,
    qty: Option<&'a RawValue>,
    price: Option<&'a RawValue>,
    margin: Option<&'a RawValue>,
    amount: Option<&'a RawValue>,
    currency: Option<&'a RawValue>,
    prev_close: Option<&'a RawValue>,
    name: Option<&'a RawValue>,
    market: Option<&'a RawValue>,
    lot_size: Option<&'a RawValue>,
    shares_outstanding: Option<&'a RawValue>,
    adv_shares: Option<&'a RawValue>,
    issuer_country: Option<&'a RawValue>,
    ip: Option<&'a RawValue>,
    device_id: Option<&'a RawValue>,
    user_agent: Option<&'a RawValue>,
    country: Option<&'a RawValue>,
    asn: Option<&'a RawValue>,
    mfa: Option<&'a RawValue>,
    channel: Option<&'a RawValue>,
    session_id: Option<&'a RawValue>,
    aggressor: Option<&'a RawValue>,
}

/// Classifies one raw JSON value. Strings without escapes are borrowed as they are.
fn field(raw: Option<&RawValue>) -> Result<Option<Field<'_>>, InvalidReason> {
    let Some(raw) = raw else { return Ok(None) };
    let text = raw.get();
    Ok(match text.as_bytes().first() {
        Some(b'"') => {
            let inner = &text[1..text.len() - 1];
            if inner.contains('\\') {
                let owned: String = serde_json::from_str(text)
                    .map_err(|e| InvalidReason::Malformed(e.to_string()))?;
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

/// Decodes one line (without its line break) of an NDJSON event stream.
/// `default_type` is the type implied by a per-type file, if any.
pub fn decode_json_line(
    line: &[u8],
    default_type: Option<EventType>,
) -> Result<Event, InvalidEvent> {
    let malformed = |why: String| InvalidEvent::new(InvalidReason::Malformed(why), default_type);
    let text = std::str::from_utf8(line).map_err(|e| malformed(format!("not UTF-8: {e}")))?;
    let json: JsonRecord<'_> = serde_json::from_str(text).map_err(|e| malformed(e.to_string()))?;
    let record = to_raw_record(&json).map_err(|reason| InvalidEvent::new(reason, default_type))?;
    record.validate(default_type)
}

fn to_raw_record<'a>(json: &JsonRecord<'a>) -> Result<RawRecord<'a>, InvalidReason> {
    Ok(RawRecord {
        r#type: field(json.kind)?,
        ts: field(json.ts)?,
        account_id: field(json.account_id)?,
        symbol: field(json.symbol)?,
        order_id: field(json.order_id)?,
        exec_id: field(json.exec_id)?,
        trade_id: field(json.trade_id)?,
        counterparty_account_id: field(json.counterparty_account_id)?,
        side: field(json.side)?,
        action: field(json.action)?,
        order_type: field(json.order_type)?,
        qty: field(json.qty)?,
        price: field(json.price)?,
        margin: field(json.margin)?,
        amount: field(json.amount)?,
        currency: field(json.currency)?,
        prev_close: field(json.prev_close)?,
        name: field(json.name)?,
        market: field(json.market)?,
        lot_size: field(json.lot_size)?,
        shares_outstanding: field(json.shares_outstanding)?,
        adv_shares: field(json.adv_shares)?,
        issuer_country: field(json.issuer_country)?,
        ip: field(json.ip)?,
        device_id: field(json.device_id)?,
        user_agent: field(json.user_agent)?,
        country: field(json.country)?,
        asn: field(json.asn)?,
        mfa: field(json.mfa)?,
        channel: field(json.channel)?,
        session_id: field(json.session_id)?,
        aggressor: field(json.aggressor)?,
    })
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
