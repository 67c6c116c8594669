//! Writing an [`Event`] back in the contract's JSON form (for quarantined late events,
//! format conversion and the simulator's tests). Decimals are JSON numbers when that is exact,
//! strings otherwise; optional fields that are absent are left out.

use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;

use crate::decimal::Decimal;
use crate::event::{Event, EventBody};

struct Num(Decimal);

impl Serialize for Num {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        crate::decimal::serde_number::serialize(&self.0, serializer)
    }
}

impl Serialize for Event {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("type", self.event_type().as_str())?;
        map.serialize_entry("ts", &self.ts)?;
        macro_rules! opt {
            ($key:literal, $value:expr) => {
                if let Some(value) = &$value {
                    map.serialize_entry($key, value)?;
                }
            };
        }
        match &self.body {
            EventBody::Instrument(i) => {
                map.serialize_entry("symbol", &i.symbol)?;
                map.serialize_entry("prev_close", &Num(i.prev_close))?;
                opt!("name", i.name);
                opt!("market", i.market);
                map.serialize_entry("currency", &i.currency)?;
                map.serialize_entry("lot_size", &i.lot_size)?;
                opt!("shares_outstanding", i.shares_outstanding);
                opt!("adv_shares", i.adv_shares);
                opt!("issuer_country", i.issuer_country);
            }
            EventBody::Position(p) => {
                map.serialize_entry("account_id", &p.account_id)?;
                map.serialize_entry("symbol", &p.symbol)?;
                map.serialize_entry("qty", &p.qty)?;
            }
            EventBody::Cash(c) => {
                map.serialize_entry("account_id", &c.account_id)?;
                map.serialize_entry("amount", &Num(c.amount))?;
                map.serialize_entry("currency", &c.currency)?;
            }
            EventBody::Auth(a) => {
                map.serialize_entry("account_id", &a.account_id)?;
                map.serialize_entry("action", a.action.as_str())?;
                opt!("ip", a.ip);
                opt!("device_id", a.device_id);
                opt!("user_agent", a.user_agent);
                opt!("country", a.country);
                opt!("asn", a.asn);
                opt!("mfa", a.mfa);
                opt!("channel", a.channel);
                opt!("session_id", a.session_id);
            }
            EventBody::Order(o) => {
                map.serialize_entry("order_id", &o.order_id)?;
                map.serialize_entry("account_id", &o.account_id)?;
                map.serialize_entry("symbol", &o.symbol)?;
                map.serialize_entry("side", o.side.as_str())?;
                map.serialize_entry("action", o.action.as_str())?;
                map.serialize_entry("order_type", o.order_type.as_str())?;
                opt!("qty", o.qty);
                opt!("price", o.price.map(Num));
                if o.margin {
                    map.serialize_entry("margin", &true)?;
                }
                opt!("channel", o.channel);
                opt!("session_id", o.session_id);
                opt!("ip", o.ip);
            }
            EventBody::Execution(e) => {
                map.serialize_entry("exec_id", &e.exec_id)?;
                map.serialize_entry("order_id", &e.order_id)?;
                map.serialize_entry("account_id", &e.account_id)?;
                map.serialize_entry("symbol", &e.symbol)?;
                map.serialize_entry("side", e.side.as_str())?;
                map.serialize_entry("qty", &e.qty)?;
                map.serialize_entry("price", &Num(e.price))?;
                opt!("trade_id", e.trade_id);
                opt!("counterparty_account_id", e.counterparty_account_id);
            }
            EventBody::Trade(t) => {
                map.serialize_entry("symbol", &t.symbol)?;
                map.serialize_entry("qty", &t.qty)?;
                map.serialize_entry("price", &Num(t.price))?;
                opt!("trade_id", t.trade_id);
                opt!("aggressor", t.aggressor.map(|s| s.as_str()));
            }
        }
        map.end()
    }
}

impl Event {
    /// The event as one contract JSON line (without the line break).
    pub fn to_json_line(&self) -> String {
        // Serializing plain strings, integers and finite floats into a String cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use crate::json::decode_json_line;

    #[test]
    fn every_type_round_trips_through_its_json_line() {
        let lines = [
            r#"{"type":"instrument","ts":"2025-03-17T08:00:00+09:00","symbol":"7992","prev_close":105,"name":"Sailor Pen","market":"TSE-Standard","currency":"JPY","lot_size":100,"shares_outstanding":20000000,"adv_shares":15000,"issuer_country":"JP"}"#,
            r#"{"type":"position","ts":"2025-03-17T08:00:00+09:00","account_id":"A1","symbol":"7203","qty":500}"#,
            r#"{"type":"cash","ts":"2025-03-17T08:00:00+09:00","account_id":"A1","amount":"12345678901234.5678","currency":"JPY"}"#,
            r#"{"type":"auth","ts":"2025-03-17T13:00:00+09:00","account_id":"A1","action":"login_success","ip":"203.0.113.9","device_id":"d-9","country":"VN","asn":"AS4134","mfa":"none","channel":"web","session_id":"s1"}"#,
            r#"{"type":"order","ts":"2025-03-17T13:05:00.123456+09:00","order_id":"O1","account_id":"A1","symbol":"7992","side":"buy","action":"new","order_type":"limit","qty":1000,"price":112.5,"margin":true,"session_id":"s1"}"#,
            r#"{"type":"execution","ts":"2025-03-17T13:05:01+09:00","exec_id":"E1","order_id":"O1","account_id":"A1","symbol":"7992","side":"buy","qty":1000,"price":112,"trade_id":"T1","counterparty_account_id":"P1"}"#,
            r#"{"type":"trade","ts":"2025-03-17T13:05:01+09:00","symbol":"7992","qty":1000,"price":112,"trade_id":"T1","aggressor":"buy"}"#,
        ];
        for line in lines {
            let event = decode_json_line(line.as_bytes(), None).unwrap();
            let written = event.to_json_line();
            assert_eq!(written, line, "written form differs");
            assert_eq!(decode_json_line(written.as_bytes(), None).unwrap(), event);
        }
    }
}
