//! Typed, validated events: one struct per event type of the contract.
//!
//! Ids are [`Id`]s (strings of up to 24 bytes are stored inline, so building an event from a
//! typical line allocates nothing). Optional contract fields the engine does not use are still
//! kept, so a quarantined or converted event loses nothing that was valid.

use std::hash::{Hash, Hasher};

use compact_str::CompactString;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::time::Timestamp;

/// An identifier (account, order, symbol, ...) as the producer wrote it.
pub type Id = CompactString;

/// One valid event.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    pub ts: Timestamp,
    pub body: EventBody,
}

/// The typed payload of an event.
#[derive(Clone, Debug, PartialEq)]
pub enum EventBody {
    Instrument(Box<Instrument>),
    Position(Position),
    Cash(Cash),
    Auth(Box<Auth>),
    Order(Box<Order>),
    Execution(Box<Execution>),
    Trade(Trade),
}

/// The event types of the contract, in the order events with equal `ts` are processed:
/// reference data first, then identity, then orders before the fills and prints they cause.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventType {
    Instrument,
    Position,
    Cash,
    Auth,
    Order,
    Execution,
    Trade,
}

impl EventType {
    pub const ALL: [EventType; 7] = [
        EventType::Instrument,
        EventType::Position,
        EventType::Cash,
        EventType::Auth,
        EventType::Order,
        EventType::Execution,
        EventType::Trade,
    ];

    /// The `type` field's value.
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Instrument => "instrument",
            EventType::Position => "position",
            EventType::Cash => "cash",
            EventType::Auth => "auth",
            EventType::Order => "order",
            EventType::Execution => "execution",
            EventType::Trade => "trade",
        }
    }

    /// The file stem of a per-type file in a directory input (`orders.ndjson`).
    pub fn file_stem(self) -> &'static str {
        match self {
            EventType::Instrument => "instruments",
            EventType::Position => "positions",
            EventType::Cash => "cash",
            EventType::Auth => "auth",
            EventType::Order => "orders",
            EventType::Execution => "executions",
            EventType::Trade => "trades",
        }
    }

    pub fn from_type_field(text: &str) -> Option<Self> {
        EventType::ALL.into_iter().find(|t| t.as_str() == text)
    }

    pub fn from_file_stem(stem: &str) -> Option<Self> {
        EventType::ALL.into_iter().find(|t| t.file_stem() == stem)
    }

    /// A small dense index, for per-type counters.
    pub fn index(self) -> usize {
        self as usize
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    Buy,
    Sell,
}

impl Side {
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Buy => "buy",
            Side::Sell => "sell",
        }
    }
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "buy" => Some(Side::Buy),
            "sell" => Some(Side::Sell),
            _ => None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderAction {
    #[default]
    New,
    Replace,
    Cancel,
}

impl OrderAction {
    pub fn as_str(self) -> &'static str {
        match self {
            OrderAction::New => "new",
            OrderAction::Replace => "replace",
            OrderAction::Cancel => "cancel",
        }
    }
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "new" => Some(OrderAction::New),
            "replace" => Some(OrderAction::Replace),
            "cancel" => Some(OrderAction::Cancel),
            _ => None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderType {
    #[default]
    Limit,
    Market,
}

impl OrderType {
    pub fn as_str(self) -> &'static str {
        match self {
            OrderType::Limit => "limit",
            OrderType::Market => "market",
        }
    }
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "limit" => Some(OrderType::Limit),
            "market" => Some(OrderType::Market),
            _ => None,
        }
    }
}

/// The `action` of an `auth` event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthAction {
    LoginSuccess,
    LoginFailure,
    MfaSuccess,
    MfaFailure,
    Logout,
    PasswordChange,
    EmailChange,
    PhoneChange,
    DeviceRegistered,
    WithdrawalAccountChange,
}

impl AuthAction {
    const ALL: [AuthAction; 10] = [
        AuthAction::LoginSuccess,
        AuthAction::LoginFailure,
        AuthAction::MfaSuccess,
        AuthAction::MfaFailure,
        AuthAction::Logout,
        AuthAction::PasswordChange,
        AuthAction::EmailChange,
        AuthAction::PhoneChange,
        AuthAction::DeviceRegistered,
        AuthAction::WithdrawalAccountChange,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AuthAction::LoginSuccess => "login_success",
            AuthAction::LoginFailure => "login_failure",
            AuthAction::MfaSuccess => "mfa_success",
            AuthAction::MfaFailure => "mfa_failure",
            AuthAction::Logout => "logout",
            AuthAction::PasswordChange => "password_change",
            AuthAction::EmailChange => "email_change",
            AuthAction::PhoneChange => "phone_change",
            AuthAction::DeviceRegistered => "device_registered",
            AuthAction::WithdrawalAccountChange => "withdrawal_account_change",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        AuthAction::ALL.into_iter().find(|a| a.as_str() == text)
    }

    /// Changes to how the account is reached or paid out: typical right after a takeover.
    pub fn is_account_change(self) -> bool {
        matches!(
            self,
            AuthAction::PasswordChange
                | AuthAction::EmailChange
                | AuthAction::PhoneChange
                | AuthAction::DeviceRegistered
                | AuthAction::WithdrawalAccountChange
        )
    }
}

/// `instrument`: reference data for one symbol.
#[derive(Clone, Debug, PartialEq)]
pub struct Instrument {
    pub symbol: Id,
    pub prev_close: Decimal,
    pub name: Option<String>,
    pub market: Option<Id>,
    /// ISO 4217; `JPY` when the producer omitted it.
    pub currency: Id,
    /// Shares per trading unit; 100 when omitted.
    pub lot_size: u32,
    pub shares_outstanding: Option<u64>,
    /// Average daily volume in shares over the trailing 20 sessions.
    pub adv_shares: Option<u64>,
    pub issuer_country: Option<Id>,
}

/// `position`: a start-of-day holding. Negative quantities are short positions.
#[derive(Clone, Debug, PartialEq)]
pub struct Position {
    pub account_id: Id,
    pub symbol: Id,
    pub qty: i64,
}

/// `cash`: a start-of-day cash balance.
#[derive(Clone, Debug, PartialEq)]
pub struct Cash {
    pub account_id: Id,
    pub amount: Decimal,
    pub currency: Id,
}

/// `auth`: a login or account change from the broker's identity system.
#[derive(Clone, Debug, PartialEq)]
pub struct Auth {
    pub account_id: Id,
    pub action: AuthAction,
    pub ip: Option<Id>,
    pub device_id: Option<Id>,
    pub user_agent: Option<String>,
    pub country: Option<Id>,
    pub asn: Option<Id>,
    pub mfa: Option<Id>,
    pub channel: Option<Id>,
    pub session_id: Option<Id>,
}

/// `order`: order entry, replace or cancel.
#[derive(Clone, Debug, PartialEq)]
pub struct Order {
    pub order_id: Id,
    pub account_id: Id,
    pub symbol: Id,
    pub side: Side,
    pub action: OrderAction,
    pub order_type: OrderType,
    /// Required for `new` and `replace`; a cancel may omit it.
    pub qty: Option<u64>,
    /// Required for limit `new` and `replace`.
    pub price: Option<Decimal>,
    pub margin: bool,
    pub channel: Option<Id>,
    pub session_id: Option<Id>,
    pub ip: Option<Id>,
}

/// `execution`: a fill of one account's order.
#[derive(Clone, Debug, PartialEq)]
pub struct Execution {
    pub exec_id: Id,
    pub order_id: Id,
    pub account_id: Id,
    pub symbol: Id,
    pub side: Side,
    pub qty: u64,
    pub price: Decimal,
    pub trade_id: Option<Id>,
    pub counterparty_account_id: Option<Id>,
}

/// `trade`: an anonymous print on the public tape.
#[derive(Clone, Debug, PartialEq)]
pub struct Trade {
    pub symbol: Id,
    pub qty: u64,
    pub price: Decimal,
    pub trade_id: Option<Id>,
    pub aggressor: Option<Side>,
}

impl Event {
    pub fn event_type(&self) -> EventType {
        match &self.body {
            EventBody::Instrument(_) => EventType::Instrument,
            EventBody::Position(_) => EventType::Position,
            EventBody::Cash(_) => EventType::Cash,
            EventBody::Auth(_) => EventType::Auth,
            EventBody::Order(_) => EventType::Order,
            EventBody::Execution(_) => EventType::Execution,
            EventBody::Trade(_) => EventType::Trade,
        }
    }

    /// The account the event belongs to, for account-scoped types.
    pub fn account_id(&self) -> Option<&Id> {
        match &self.body {
            EventBody::Position(p) => Some(&p.account_id),
            EventBody::Cash(c) => Some(&c.account_id),
            EventBody::Auth(a) => Some(&a.account_id),
            EventBody::Order(o) => Some(&o.account_id),
            EventBody::Execution(e) => Some(&e.account_id),
            EventBody::Instrument(_) | EventBody::Trade(_) => None,
        }
    }

    /// The key a producer partitions by: `account_id`, or `symbol` for instruments and trades.
    pub fn partition_key(&self) -> &str {
        match &self.body {
            EventBody::Instrument(i) => &i.symbol,
            EventBody::Trade(t) => &t.symbol,
            _ => self.account_id().map(|a| a.as_str()).unwrap_or_default(),
        }
    }

    /// The event's own id where the contract gives it one (order, execution, trade).
    pub fn id(&self) -> Option<&Id> {
        match &self.body {
            EventBody::Order(o) => Some(&o.order_id),
            EventBody::Execution(e) => Some(&e.exec_id),
            EventBody::Trade(t) => t.trade_id.as_ref(),
            _ => None,
        }
    }

    /// A content hash that orders `auth`, `order` and `execution` events of one instant the
    /// same way whatever order they arrived in and whatever file format carried them (the
    /// other types keep their arrival order within an instant, and get 0). It reads only the
    /// fields the engine uses. Decimals are hashed by mantissa and scale: validation
    /// normalises every decimal (so `112.50` and `112.5` are the same value here).
    pub fn tie_key(&self) -> u64 {
        let mut h = rustc_hash::FxHasher::default();
        match &self.body {
            EventBody::Auth(a) => {
                a.account_id.as_str().hash(&mut h);
                a.action.hash(&mut h);
                a.device_id.as_deref().hash(&mut h);
                a.ip.as_deref().hash(&mut h);
                a.session_id.as_deref().hash(&mut h);
            }
            EventBody::Order(o) => {
                o.order_id.as_str().hash(&mut h);
                o.account_id.as_str().hash(&mut h);
                o.action.hash(&mut h);
                o.qty.hash(&mut h);
                if let Some(p) = o.price {
                    p.mantissa().hash(&mut h);
                    p.scale().hash(&mut h);
                }
            }
            EventBody::Execution(e) => {
                e.exec_id.as_str().hash(&mut h);
                e.account_id.as_str().hash(&mut h);
            }
            EventBody::Instrument(_)
            | EventBody::Position(_)
            | EventBody::Cash(_)
            | EventBody::Trade(_) => return 0,
        }
        h.finish()
    }
}
