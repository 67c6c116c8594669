//! A format-neutral bag of input fields and the one place that turns it into a valid [`Event`].
//!
//! Each carrier (JSON line, CSV row, Parquet row) only fills a [`RawRecord`] with what it read;
//! [`RawRecord::validate`] applies the contract: required fields, types, defaults, and the
//! rule that unknown fields are ignored.

use std::borrow::Cow;

use compact_str::CompactString;
use rust_decimal::Decimal;

use crate::decimal::{decimal_from_f64, parse_decimal};
use crate::event::*;
use crate::invalid::{InvalidEvent, InvalidReason};
use crate::time::Timestamp;

/// One input value, as the carrier format typed it.
#[derive(Clone, Debug, PartialEq)]
pub enum Field<'a> {
    /// A JSON string or a CSV cell.
    Text(Cow<'a, str>),
    /// A JSON number, as its literal text (so no precision is lost before validation).
    Number(&'a str),
    Int(i64),
    Float(f64),
    Bool(bool),
    Decimal(Decimal),
    /// A Parquet timestamp column, already in UTC nanoseconds.
    TimestampNanos(i64),
    /// A value of a type no field accepts (a JSON object or array); the name of that type.
    Other(&'static str),
}

/// Every field the contract names, each as read from the input (`None` = absent or null).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RawRecord<'a> {
    pub r#type: Option<Field<'a>>,
    pub ts: Option<Field<'a>>,
    pub account_id: Option<Field<'a>>,
    pub symbol: Option<Field<'a>>,
    pub order_id: Option<Field<'a>>,
    pub exec_id: Option<Field<'a>>,
    pub trade_id: Option<Field<'a>>,
    pub counterparty_account_id: Option<Field<'a>>,
    pub side: Option<Field<'a>>,
    pub action: Option<Field<'a>>,
    pub order_type: Option<Field<'a>>,
    pub qty: Option<Field<'a>>,
    pub price: Option<Field<'a>>,
    pub margin: Option<Field<'a>>,
    pub amount: Option<Field<'a>>,
    pub currency: Option<Field<'a>>,
    pub prev_close: Option<Field<'a>>,
    pub name: Option<Field<'a>>,
    pub market: Option<Field<'a>>,
    pub lot_size: Option<Field<'a>>,
    pub shares_outstanding: Option<Field<'a>>,
    pub adv_shares: Option<Field<'a>>,
    pub issuer_country: Option<Field<'a>>,
    pub ip: Option<Field<'a>>,
    pub device_id: Option<Field<'a>>,
    pub user_agent: Option<Field<'a>>,
    pub country: Option<Field<'a>>,
    pub asn: Option<Field<'a>>,
    pub mfa: Option<Field<'a>>,
    pub channel: Option<Field<'a>>,
    pub session_id: Option<Field<'a>>,
    pub aggressor: Option<Field<'a>>,
}

/// The field names of [`RawRecord`] in declaration order, for column-oriented readers.
pub const FIELD_NAMES: [&str; 32] = [
    "type",
    "ts",
    "account_id",
    "symbol",
    "order_id",
    "exec_id",
    "trade_id",
    "counterparty_account_id",
    "side",
    "action",
    "order_type",
    "qty",
    "price",
    "margin",
    "amount",
    "currency",
    "prev_close",
    "name",
    "market",
    "lot_size",
    "shares_outstanding",
    "adv_shares",
    "issuer_country",
    "ip",
    "device_id",
    "user_agent",
    "country",
    "asn",
    "mfa",
    "channel",
    "session_id",
    "aggressor",
];

impl<'a> RawRecord<'a> {
    /// The slot of a field by its contract name, for readers that see columns by name;
    /// `None` for names the contract does not know (those are ignored, never rejected).
    pub fn slot_mut(&mut self, name: &str) -> Option<&mut Option<Field<'a>>> {
        self.slot_and_kind_mut(name).map(|(slot, _)| slot)
    }

    /// [`RawRecord::slot_mut`], and whether the field holds an exact number (a decimal or a
    /// count) whose JSON literal must be kept as text so no precision is lost.
    pub fn slot_and_kind_mut(&mut self, name: &str) -> Option<(&mut Option<Field<'a>>, bool)> {
        Some(match name {
            "type" => (&mut self.r#type, false),
            "ts" => (&mut self.ts, false),
            "account_id" => (&mut self.account_id, false),
            "symbol" => (&mut self.symbol, false),
            "order_id" => (&mut self.order_id, false),
            "exec_id" => (&mut self.exec_id, false),
            "trade_id" => (&mut self.trade_id, false),
            "counterparty_account_id" => (&mut self.counterparty_account_id, false),
            "side" => (&mut self.side, false),
            "action" => (&mut self.action, false),
            "order_type" => (&mut self.order_type, false),
            "qty" => (&mut self.qty, true),
            "price" => (&mut self.price, true),
            "margin" => (&mut self.margin, false),
            "amount" => (&mut self.amount, true),
            "currency" => (&mut self.currency, false),
            "prev_close" => (&mut self.prev_close, true),
            "name" => (&mut self.name, false),
            "market" => (&mut self.market, false),
            "lot_size" => (&mut self.lot_size, true),
            "shares_outstanding" => (&mut self.shares_outstanding, true),
            "adv_shares" => (&mut self.adv_shares, true),
            "issuer_country" => (&mut self.issuer_country, false),
            "ip" => (&mut self.ip, false),
            "device_id" => (&mut self.device_id, false),
            "user_agent" => (&mut self.user_agent, false),
            "country" => (&mut self.country, false),
            "asn" => (&mut self.asn, false),
            "mfa" => (&mut self.mfa, false),
            "channel" => (&mut self.channel, false),
            "session_id" => (&mut self.session_id, false),
            "aggressor" => (&mut self.aggressor, false),
            _ => return None,
        })
    }

    /// Applies the contract. `default_type` is the type implied by the carrier (a per-type
    /// file), used when the record has no `type` field; a `type` field that disagrees wins.
    pub fn validate(&self, default_type: Option<EventType>) -> Result<Event, InvalidEvent> {
        let event_type = match &self.r#type {
            Some(field) => {
                let text = text(field, "type").map_err(|r| InvalidEvent::new(r, default_type))?;
                EventType::from_type_field(text).ok_or_else(|| {
                    InvalidEvent::new(
                        InvalidReason::UnknownType(text.chars().take(32).collect()),
                        None,
                    )
                })?
            }
            None => default_type.ok_or(InvalidEvent::new(InvalidReason::MissingType, None))?,
        };
        self.validate_as(event_type)
            .map_err(|reason| InvalidEvent::new(reason, Some(event_type)))
    }

    fn validate_as(&self, event_type: EventType) -> Result<Event, InvalidReason> {
        event_at(self.ts.as_ref(), || self.body_as(event_type))
    }

    fn body_as(&self, event_type: EventType) -> Result<EventBody, InvalidReason> {
        Ok(match event_type {
            EventType::Instrument => EventBody::Instrument(Box::new(Instrument {
                symbol: id(required(&self.symbol, "symbol")?, "symbol")?,
                prev_close: positive_decimal(
                    required(&self.prev_close, "prev_close")?,
                    "prev_close",
                )?,
                name: opt(&self.name, "name", |f, n| text(f, n).map(str::to_string))?,
                market: opt_id(&self.market, "market")?,
                currency: opt_id(&self.currency, "currency")?.unwrap_or_else(jpy),
                lot_size: match &self.lot_size {
                    Some(f) => u32::try_from(positive_int(f, "lot_size")?).map_err(|_| {
                        InvalidReason::BadField {
                            field: "lot_size",
                            why: "too large",
                        }
                    })?,
                    None => 100,
                },
                shares_outstanding: opt(
                    &self.shares_outstanding,
                    "shares_outstanding",
                    positive_int,
                )?,
                adv_shares: opt(&self.adv_shares, "adv_shares", non_negative_int)?,
                issuer_country: opt_id(&self.issuer_country, "issuer_country")?,
            })),
            EventType::Position => EventBody::Position(Position {
                account_id: id(required(&self.account_id, "account_id")?, "account_id")?,
                symbol: id(required(&self.symbol, "symbol")?, "symbol")?,
                qty: integer(required(&self.qty, "qty")?, "qty")?,
            }),
            EventType::Cash => EventBody::Cash(Cash {
                account_id: id(required(&self.account_id, "account_id")?, "account_id")?,
                amount: decimal(required(&self.amount, "amount")?, "amount")?,
                currency: opt_id(&self.currency, "currency")?.unwrap_or_else(jpy),
            }),
            EventType::Auth => EventBody::Auth(Box::new(Auth {
                account_id: id(required(&self.account_id, "account_id")?, "account_id")?,
                action: {
                    let f = required(&self.action, "action")?;
                    AuthAction::parse(text(f, "action")?).ok_or(InvalidReason::BadField {
                        field: "action",
                        why: "not an auth action of the contract",
                    })?
                },
                ip: opt_id(&self.ip, "ip")?,
                device_id: opt_id(&self.device_id, "device_id")?,
                user_agent: opt(&self.user_agent, "user_agent", |f, n| {
                    text(f, n).map(str::to_string)
                })?,
                country: opt_id(&self.country, "country")?,
                asn: opt(&self.asn, "asn", id_or_number)?,
                mfa: opt_id(&self.mfa, "mfa")?,
                channel: opt_id(&self.channel, "channel")?,
                session_id: opt_id(&self.session_id, "session_id")?,
            })),
            EventType::Order => {
                let action = match &self.action {
                    Some(f) => {
                        OrderAction::parse(text(f, "action")?).ok_or(InvalidReason::BadField {
                            field: "action",
                            why: "expected new, replace or cancel",
                        })?
                    }
                    None => OrderAction::New,
                };
                let order_type = match &self.order_type {
                    Some(f) => {
                        OrderType::parse(text(f, "order_type")?).ok_or(InvalidReason::BadField {
                            field: "order_type",
                            why: "expected limit or market",
                        })?
                    }
                    None => OrderType::Limit,
                };
                let entering = action != OrderAction::Cancel;
                let qty = match (&self.qty, entering) {
                    (Some(f), _) => Some(positive_int(f, "qty")?),
                    (None, true) => return Err(InvalidReason::MissingField("qty")),
                    (None, false) => None,
                };
                let price = match (&self.price, entering && order_type == OrderType::Limit) {
                    (Some(f), _) => Some(positive_decimal(f, "price")?),
                    (None, true) => return Err(InvalidReason::MissingField("price")),
                    (None, false) => None,
                };
                EventBody::Order(Box::new(Order {
                    order_id: id(required(&self.order_id, "order_id")?, "order_id")?,
                    account_id: id(required(&self.account_id, "account_id")?, "account_id")?,
                    symbol: id(required(&self.symbol, "symbol")?, "symbol")?,
                    side: side(required(&self.side, "side")?, "side")?,
                    action,
                    order_type,
                    qty,
                    price,
                    margin: opt(&self.margin, "margin", boolean)?.unwrap_or(false),
                    channel: opt_id(&self.channel, "channel")?,
                    session_id: opt_id(&self.session_id, "session_id")?,
                    ip: opt_id(&self.ip, "ip")?,
                }))
            }
            EventType::Execution => EventBody::Execution(Box::new(Execution {
                exec_id: id(required(&self.exec_id, "exec_id")?, "exec_id")?,
                order_id: id(required(&self.order_id, "order_id")?, "order_id")?,
                account_id: id(required(&self.account_id, "account_id")?, "account_id")?,
                symbol: id(required(&self.symbol, "symbol")?, "symbol")?,
                side: side(required(&self.side, "side")?, "side")?,
                qty: positive_int(required(&self.qty, "qty")?, "qty")?,
                price: positive_decimal(required(&self.price, "price")?, "price")?,
                trade_id: opt_id(&self.trade_id, "trade_id")?,
                counterparty_account_id: opt_id(
                    &self.counterparty_account_id,
                    "counterparty_account_id",
                )?,
            })),
            EventType::Trade => EventBody::Trade(Trade {
                symbol: id(required(&self.symbol, "symbol")?, "symbol")?,
                qty: positive_int(required(&self.qty, "qty")?, "qty")?,
                price: positive_decimal(required(&self.price, "price")?, "price")?,
                trade_id: opt_id(&self.trade_id, "trade_id")?,
                aggressor: opt(&self.aggressor, "aggressor", side)?,
            }),
        })
    }
}

/// The cells of a trade row whose columns already have the contract's types (a timestamp,
/// text ids, an integer quantity), as a columnar reader holds them: no [`Field`] per cell.
#[derive(Clone, Debug)]
pub struct TradeCells<'a> {
    pub ts_nanos: i64,
    pub symbol: &'a str,
    pub qty: i64,
    /// The price as any decimal field (text, a decimal, an integer).
    pub price: Field<'a>,
    pub trade_id: Option<&'a str>,
    pub aggressor: Option<&'a str>,
}

/// The cells of a position row (see [`TradeCells`]).
#[derive(Clone, Copy, Debug)]
pub struct PositionCells<'a> {
    pub ts_nanos: i64,
    pub account_id: &'a str,
    pub symbol: &'a str,
    pub qty: i64,
}

/// A `trade` event from typed cells: the same event [`RawRecord::validate`] builds from the
/// same values as fields, through the same checks. An error names the first check that failed
/// here; a reader that reports errors asks [`RawRecord::validate`], whose order of checks is
/// the contract's.
#[inline]
pub fn trade_from_cells(cells: TradeCells<'_>) -> Result<Event, InvalidReason> {
    Ok(Event {
        ts: Timestamp::from_utc_nanos(cells.ts_nanos),
        body: EventBody::Trade(Trade {
            symbol: id_text(cells.symbol, "symbol")?,
            qty: positive_count(cells.qty, "qty")?,
            price: positive_decimal(&cells.price, "price")?,
            trade_id: cells.trade_id.map(|v| id_text(v, "trade_id")).transpose()?,
            aggressor: cells
                .aggressor
                .map(|v| side_text(v, "aggressor"))
                .transpose()?,
        }),
    })
}

/// A `position` event from typed cells (see [`trade_from_cells`]).
#[inline]
pub fn position_from_cells(cells: PositionCells<'_>) -> Result<Event, InvalidReason> {
    Ok(Event {
        ts: Timestamp::from_utc_nanos(cells.ts_nanos),
        body: EventBody::Position(Position {
            account_id: id_text(cells.account_id, "account_id")?,
            symbol: id_text(cells.symbol, "symbol")?,
            qty: cells.qty,
        }),
    })
}

/// An event from its `ts` field and its body's builder, in the order every type is checked:
/// `ts` first.
fn event_at(
    ts: Option<&Field<'_>>,
    body: impl FnOnce() -> Result<EventBody, InvalidReason>,
) -> Result<Event, InvalidReason> {
    let ts = timestamp(present(ts, "ts")?)?;
    Ok(Event { ts, body: body()? })
}

fn present<'r, 'a>(
    field: Option<&'r Field<'a>>,
    name: &'static str,
) -> Result<&'r Field<'a>, InvalidReason> {
    field.ok_or(InvalidReason::MissingField(name))
}

fn jpy() -> Id {
    CompactString::const_new("JPY")
}

fn required<'r, 'a>(
    field: &'r Option<Field<'a>>,
    name: &'static str,
) -> Result<&'r Field<'a>, InvalidReason> {
    present(field.as_ref(), name)
}

fn opt<'a, T>(
    field: &Option<Field<'a>>,
    name: &'static str,
    parse: impl FnOnce(&Field<'a>, &'static str) -> Result<T, InvalidReason>,
) -> Result<Option<T>, InvalidReason> {
    field.as_ref().map(|f| parse(f, name)).transpose()
}

fn opt_id(field: &Option<Field<'_>>, name: &'static str) -> Result<Option<Id>, InvalidReason> {
    opt(field, name, id)
}

fn text<'r>(field: &'r Field<'_>, name: &'static str) -> Result<&'r str, InvalidReason> {
    match field {
        Field::Text(text) => Ok(text),
        _ => Err(InvalidReason::BadField {
            field: name,
            why: "expected a string",
        }),
    }
}

/// Ids are non-empty strings of at most 256 bytes (a limit on everything).
fn id(field: &Field<'_>, name: &'static str) -> Result<Id, InvalidReason> {
    id_text(text(field, name)?, name)
}

#[inline]
fn id_text(text: &str, name: &'static str) -> Result<Id, InvalidReason> {
    checked_id(text, name).map(CompactString::new)
}

/// The id's text, if it is a valid id.
fn checked_id<'t>(text: &'t str, name: &'static str) -> Result<&'t str, InvalidReason> {
    if text.is_empty() {
        return Err(InvalidReason::BadField {
            field: name,
            why: "empty",
        });
    }
    if text.len() > 256 {
        return Err(InvalidReason::BadField {
            field: name,
            why: "longer than 256 bytes",
        });
    }
    Ok(text)
}

/// `asn` is written both as `"AS2516"` and as `2516`.
fn id_or_number(field: &Field<'_>, name: &'static str) -> Result<Id, InvalidReason> {
    match field {
        Field::Number(n) => Ok(CompactString::new(n)),
        Field::Int(n) => Ok(compact_str::format_compact!("{n}")),
        _ => id(field, name),
    }
}

fn timestamp(field: &Field<'_>) -> Result<Timestamp, InvalidReason> {
    match field {
        Field::Text(text) => Timestamp::parse(text).map_err(|_| InvalidReason::BadField {
            field: "ts",
            why: "not RFC 3339 with an offset",
        }),
        Field::TimestampNanos(nanos) => Ok(Timestamp::from_utc_nanos(*nanos)),
        _ => Err(InvalidReason::BadField {
            field: "ts",
            why: "expected an RFC 3339 string",
        }),
    }
}

fn decimal(field: &Field<'_>, name: &'static str) -> Result<Decimal, InvalidReason> {
    let parsed = match field {
        Field::Number(text) => parse_decimal(text),
        Field::Text(text) => parse_decimal(text),
        Field::Int(n) => Some(Decimal::from(*n)),
        Field::Float(f) => decimal_from_f64(*f),
        Field::Decimal(d) => Some(d.normalize()),
        _ => None,
    };
    parsed.ok_or(InvalidReason::BadField {
        field: name,
        why: "expected a decimal number",
    })
}

fn positive_decimal(field: &Field<'_>, name: &'static str) -> Result<Decimal, InvalidReason> {
    let value = decimal(field, name)?;
    if value.is_sign_positive() && !value.is_zero() {
        Ok(value)
    } else {
        Err(InvalidReason::BadField {
            field: name,
            why: "must be greater than zero",
        })
    }
}

fn integer(field: &Field<'_>, name: &'static str) -> Result<i64, InvalidReason> {
    let bad = InvalidReason::BadField {
        field: name,
        why: "expected an integer",
    };
    match field {
        Field::Int(n) => Ok(*n),
        Field::Number(text) => text.parse::<i64>().map_err(|_| bad),
        Field::Text(text) => text.trim().parse::<i64>().map_err(|_| bad),
        Field::Float(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Ok(*f as i64),
        Field::Decimal(d) if d.fract().is_zero() => {
            use rust_decimal::prelude::ToPrimitive;
            d.to_i64().ok_or(bad)
        }
        _ => Err(bad),
    }
}

fn non_negative_int(field: &Field<'_>, name: &'static str) -> Result<u64, InvalidReason> {
    non_negative(integer(field, name)?, name)
}

fn non_negative(value: i64, name: &'static str) -> Result<u64, InvalidReason> {
    u64::try_from(value).map_err(|_| InvalidReason::BadField {
        field: name,
        why: "must not be negative",
    })
}

fn positive_int(field: &Field<'_>, name: &'static str) -> Result<u64, InvalidReason> {
    positive_count(integer(field, name)?, name)
}

fn positive_count(value: i64, name: &'static str) -> Result<u64, InvalidReason> {
    match non_negative(value, name)? {
        0 => Err(InvalidReason::BadField {
            field: name,
            why: "must be greater than zero",
        }),
        n => Ok(n),
    }
}

fn side(field: &Field<'_>, name: &'static str) -> Result<Side, InvalidReason> {
    side_text(text(field, name)?, name)
}

fn side_text(text: &str, name: &'static str) -> Result<Side, InvalidReason> {
    Side::parse(text).ok_or(InvalidReason::BadField {
        field: name,
        why: "expected buy or sell",
    })
}

fn boolean(field: &Field<'_>, name: &'static str) -> Result<bool, InvalidReason> {
    match field {
        Field::Bool(b) => Ok(*b),
        Field::Text(t) if t == "true" => Ok(true),
        Field::Text(t) if t == "false" || t.is_empty() => Ok(false),
        _ => Err(InvalidReason::BadField {
            field: name,
            why: "expected true or false",
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Option<Field<'_>> {
        Some(Field::Text(Cow::Borrowed(s)))
    }

    fn order<'a>() -> RawRecord<'a> {
        RawRecord {
            r#type: t("order"),
            ts: t("2025-03-17T13:05:00+09:00"),
            order_id: t("O1"),
            account_id: t("A1"),
            symbol: t("7992"),
            side: t("buy"),
            qty: Some(Field::Number("1000")),
            price: Some(Field::Number("112.5")),
            ..Default::default()
        }
    }

    #[test]
    fn a_limit_order_validates_with_defaults() {
        let event = order().validate(None).unwrap();
        let EventBody::Order(o) = event.body else {
            panic!("not an order")
        };
        assert_eq!(o.action, OrderAction::New);
        assert_eq!(o.order_type, OrderType::Limit);
        assert_eq!(o.qty, Some(1000));
        assert_eq!(o.price.unwrap().to_string(), "112.5");
        assert!(!o.margin);
    }

    #[test]
    fn each_missing_required_field_is_named() {
        for field in [
            "ts",
            "order_id",
            "account_id",
            "symbol",
            "side",
            "qty",
            "price",
        ] {
            let mut record = order();
            *record.slot_mut(field).unwrap() = None;
            let err = record.validate(None).unwrap_err();
            assert_eq!(err.reason, InvalidReason::MissingField(field), "{field}");
            assert_eq!(err.event_type, Some(EventType::Order));
        }
    }

    #[test]
    fn cancels_and_market_orders_need_no_price() {
        let mut cancel = order();
        cancel.action = t("cancel");
        cancel.qty = None;
        cancel.price = None;
        assert!(cancel.validate(None).is_ok());
        let mut market = order();
        market.order_type = t("market");
        market.price = None;
        assert!(market.validate(None).is_ok());
    }

    #[test]
    fn bad_values_are_rejected_with_the_field() {
        let mut record = order();
        record.qty = Some(Field::Number("-5"));
        assert_eq!(
            record.validate(None).unwrap_err().reason.label(),
            "bad_field:qty"
        );
        let mut record = order();
        record.side = t("short");
        assert_eq!(
            record.validate(None).unwrap_err().reason.label(),
            "bad_field:side"
        );
        let mut record = order();
        record.r#type = t("quote");
        assert_eq!(
            record.validate(None).unwrap_err().reason.code(),
            "unknown_type"
        );
        let mut record = order();
        record.account_id = Some(Field::Number("12"));
        assert_eq!(
            record.validate(None).unwrap_err().reason.label(),
            "bad_field:account_id"
        );
    }

    #[test]
    fn the_carrier_type_applies_when_type_is_absent() {
        let mut record = order();
        record.r#type = None;
        assert!(record.clone().validate(Some(EventType::Order)).is_ok());
        assert_eq!(
            record.validate(None).unwrap_err().reason,
            InvalidReason::MissingType
        );
    }
}
