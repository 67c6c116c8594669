//! The columns of a per-type output file and each event's cells in that order, shared by the
//! CSV and Parquet writers. Column names are the contract's field names.

use pumpwatch_model::{Decimal, Event, EventBody, EventType, Timestamp};

/// One value of an output row.
#[derive(Clone, Debug, PartialEq)]
pub enum Cell<'a> {
    Null,
    Str(&'a str),
    Decimal(Decimal),
    Int(i64),
    Bool(bool),
    Ts(Timestamp),
}

/// How a column is stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Str,
    /// Exact decimal text (Parquet decimal columns need one scale for a whole file; prices
    /// do not share one).
    Decimal,
    Int,
    Bool,
    Ts,
}

/// The columns of the per-type file of `event_type`, in contract order, `ts` first.
pub fn columns(event_type: EventType) -> &'static [&'static str] {
    match event_type {
        EventType::Instrument => &[
            "ts",
            "symbol",
            "prev_close",
            "name",
            "market",
            "currency",
            "lot_size",
            "shares_outstanding",
            "adv_shares",
            "issuer_country",
        ],
        EventType::Position => &["ts", "account_id", "symbol", "qty"],
        EventType::Cash => &["ts", "account_id", "amount", "currency"],
        EventType::Auth => &[
            "ts",
            "account_id",
            "action",
            "ip",
            "device_id",
            "user_agent",
            "country",
            "asn",
            "mfa",
            "channel",
            "session_id",
        ],
        EventType::Order => &[
            "ts",
            "order_id",
            "account_id",
            "symbol",
            "side",
            "action",
            "order_type",
            "qty",
            "price",
            "margin",
            "channel",
            "session_id",
            "ip",
        ],
        EventType::Execution => &[
            "ts",
            "exec_id",
            "order_id",
            "account_id",
            "symbol",
            "side",
            "qty",
            "price",
            "trade_id",
            "counterparty_account_id",
        ],
        EventType::Trade => &["ts", "symbol", "qty", "price", "trade_id", "aggressor"],
    }
}

/// How the column `name` is stored.
pub fn kind(name: &str) -> Kind {
    match name {
        "ts" => Kind::Ts,
        "qty" | "lot_size" | "shares_outstanding" | "adv_shares" => Kind::Int,
        "margin" => Kind::Bool,
        "price" | "amount" | "prev_close" => Kind::Decimal,
        _ => Kind::Str,
    }
}

fn opt_str(value: &Option<impl AsRef<str>>) -> Cell<'_> {
    value.as_ref().map_or(Cell::Null, |v| Cell::Str(v.as_ref()))
}

fn int(value: u64) -> Cell<'static> {
    // Validated quantities come from an i64, so they always fit.
    Cell::Int(i64::try_from(value).unwrap_or(i64::MAX))
}

fn opt_int(value: Option<u64>) -> Cell<'static> {
    value.map_or(Cell::Null, int)
}

/// Replaces `out` with the event's cells, in the order of [`columns`] for its type.
pub fn cells<'e>(event: &'e Event, out: &mut Vec<Cell<'e>>) {
    out.clear();
    out.push(Cell::Ts(event.ts));
    match &event.body {
        EventBody::Instrument(i) => out.extend([
            Cell::Str(&i.symbol),
            Cell::Decimal(i.prev_close),
            opt_str(&i.name),
            opt_str(&i.market),
            Cell::Str(&i.currency),
            Cell::Int(i64::from(i.lot_size)),
            opt_int(i.shares_outstanding),
            opt_int(i.adv_shares),
            opt_str(&i.issuer_country),
        ]),
        EventBody::Position(p) => out.extend([
            Cell::Str(&p.account_id),
            Cell::Str(&p.symbol),
            Cell::Int(p.qty),
        ]),
        EventBody::Cash(c) => out.extend([
            Cell::Str(&c.account_id),
            Cell::Decimal(c.amount),
            Cell::Str(&c.currency),
        ]),
        EventBody::Auth(a) => out.extend([
            Cell::Str(&a.account_id),
            Cell::Str(a.action.as_str()),
            opt_str(&a.ip),
            opt_str(&a.device_id),
            opt_str(&a.user_agent),
            opt_str(&a.country),
            opt_str(&a.asn),
            opt_str(&a.mfa),
            opt_str(&a.channel),
            opt_str(&a.session_id),
        ]),
        EventBody::Order(o) => out.extend([
            Cell::Str(&o.order_id),
            Cell::Str(&o.account_id),
            Cell::Str(&o.symbol),
            Cell::Str(o.side.as_str()),
            Cell::Str(o.action.as_str()),
            Cell::Str(o.order_type.as_str()),
            opt_int(o.qty),
            o.price.map_or(Cell::Null, Cell::Decimal),
            Cell::Bool(o.margin),
            opt_str(&o.channel),
            opt_str(&o.session_id),
            opt_str(&o.ip),
        ]),
        EventBody::Execution(e) => out.extend([
            Cell::Str(&e.exec_id),
            Cell::Str(&e.order_id),
            Cell::Str(&e.account_id),
            Cell::Str(&e.symbol),
            Cell::Str(e.side.as_str()),
            int(e.qty),
            Cell::Decimal(e.price),
            opt_str(&e.trade_id),
            opt_str(&e.counterparty_account_id),
        ]),
        EventBody::Trade(t) => out.extend([
            Cell::Str(&t.symbol),
            int(t.qty),
            Cell::Decimal(t.price),
            opt_str(&t.trade_id),
            t.aggressor.map_or(Cell::Null, |s| Cell::Str(s.as_str())),
        ]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pumpwatch_model::decode_json_line;

    /// Every cell's variant fits its column's kind, and there is one cell per column.
    #[test]
    fn cells_line_up_with_columns() {
        let lines = [
            r#"{"type":"instrument","ts":"2025-03-17T08:00:00+09:00","symbol":"7992","prev_close":105,"name":"Sailor Pen","shares_outstanding":20000000}"#,
            r#"{"type":"position","ts":"2025-03-17T08:00:00+09:00","account_id":"A1","symbol":"7203","qty":-500}"#,
            r#"{"type":"cash","ts":"2025-03-17T08:00:00+09:00","account_id":"A1","amount":"12345678901234.5678"}"#,
            r#"{"type":"auth","ts":"2025-03-17T13:00:00+09:00","account_id":"A1","action":"login_success","asn":4134}"#,
            r#"{"type":"order","ts":"2025-03-17T13:05:00.123456+09:00","order_id":"O1","account_id":"A1","symbol":"7992","side":"buy","qty":1000,"price":112.5,"margin":true}"#,
            r#"{"type":"execution","ts":"2025-03-17T13:05:01+09:00","exec_id":"E1","order_id":"O1","account_id":"A1","symbol":"7992","side":"buy","qty":1000,"price":112}"#,
            r#"{"type":"trade","ts":"2025-03-17T13:05:01+09:00","symbol":"7992","qty":1000,"price":112,"aggressor":"sell"}"#,
        ];
        for line in lines {
            let event = decode_json_line(line.as_bytes(), None).unwrap();
            let mut out = Vec::new();
            cells(&event, &mut out);
            let names = columns(event.event_type());
            assert_eq!(out.len(), names.len(), "{line}");
            for (cell, name) in out.iter().zip(names) {
                let fits = matches!(
                    (kind(name), cell),
                    (_, Cell::Null)
                        | (Kind::Str, Cell::Str(_))
                        | (Kind::Decimal, Cell::Decimal(_))
                        | (Kind::Int, Cell::Int(_))
                        | (Kind::Bool, Cell::Bool(_))
                        | (Kind::Ts, Cell::Ts(_))
                );
                assert!(fits, "{name}: {cell:?}");
            }
        }
    }
}
