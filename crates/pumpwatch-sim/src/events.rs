//! Compact in-memory events, one vector per contract type, before sorting and writing.
//!
//! A full day holds well over ten million events, so they are kept as small
//! `Copy` structs of integers (symbol and account indices, prices in centi,
//! wall time in µs); names, ids and JSON text are produced only when writing.

/// Sentinel for "no such index" in optional u32 fields.
pub(crate) const NONE: u32 = u32::MAX;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Side {
    Buy,
    Sell,
}

impl Side {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Side::Buy => "buy",
            Side::Sell => "sell",
        }
    }

    pub(crate) fn opposite(self) -> Side {
        match self {
            Side::Buy => Side::Sell,
            Side::Sell => Side::Buy,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum OrderAction {
    New,
    Replace,
    Cancel,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AuthAction {
    LoginSuccess,
    LoginFailure,
    Logout,
    PasswordChange,
    EmailChange,
    PhoneChange,
    DeviceRegistered,
    WithdrawalAccountChange,
}

impl AuthAction {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            AuthAction::LoginSuccess => "login_success",
            AuthAction::LoginFailure => "login_failure",
            AuthAction::Logout => "logout",
            AuthAction::PasswordChange => "password_change",
            AuthAction::EmailChange => "email_change",
            AuthAction::PhoneChange => "phone_change",
            AuthAction::DeviceRegistered => "device_registered",
            AuthAction::WithdrawalAccountChange => "withdrawal_account_change",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mfa {
    None,
    Sms,
    Email,
    Totp,
    Push,
    Passkey,
}

impl Mfa {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Mfa::None => "none",
            Mfa::Sms => "sms",
            Mfa::Email => "email",
            Mfa::Totp => "totp",
            Mfa::Push => "push",
            Mfa::Passkey => "passkey",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Channel {
    Web,
    App,
    Api,
}

impl Channel {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Channel::Web => "web",
            Channel::App => "app",
            Channel::Api => "api",
        }
    }
}

/// Where a login or an order came from. Orders point at the context of the
/// session that sent them, so `session_id` and `ip` on orders match the
/// login — except for a stolen session, whose context no login ever had.
#[derive(Clone, Copy, Debug)]
pub(crate) struct NetCtx {
    pub ip: u32,
    /// 0 = not known.
    pub device: u64,
    pub country: [u8; 2],
    pub asn: u32,
    pub mfa: Mfa,
    pub channel: Channel,
    /// 0 = no session id.
    pub session: u64,
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct InstrumentEv {
    pub ts: i64,
    pub sym: u32,
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct PositionEv {
    pub ts: i64,
    pub acct: u32,
    pub sym: u32,
    pub qty: u32,
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct CashEv {
    pub ts: i64,
    pub acct: u32,
    pub amount: u64,
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct AuthEv {
    pub ts: i64,
    pub acct: u32,
    pub action: AuthAction,
    pub ctx: u32,
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct OrderEv {
    pub ts: i64,
    /// Generation-time id; renumbered in time order when written.
    pub id: u32,
    pub acct: u32,
    pub sym: u32,
    pub qty: u32,
    /// 0 for market orders and cancels.
    pub price: u32,
    pub side: Side,
    pub action: OrderAction,
    pub margin: bool,
    pub ctx: u32,
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct ExecEv {
    pub ts: i64,
    pub order: u32,
    pub acct: u32,
    pub sym: u32,
    pub qty: u32,
    pub price: u32,
    pub side: Side,
    /// Generation-time id of the tape print this fill belongs to.
    pub link: u32,
    /// Counterparty account shown on the fill, or `NONE`.
    pub cp: u32,
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct TradeEv {
    pub ts: i64,
    pub sym: u32,
    pub qty: u32,
    pub price: u32,
    /// Generation-time id shared with our executions, or 0 for anonymous prints.
    pub link: u32,
    pub aggressor: Side,
}

/// All events of the day, by type.
#[derive(Debug, Default)]
pub(crate) struct Events {
    pub instruments: Vec<InstrumentEv>,
    pub positions: Vec<PositionEv>,
    pub cash: Vec<CashEv>,
    pub auth: Vec<AuthEv>,
    pub orders: Vec<OrderEv>,
    pub execs: Vec<ExecEv>,
    pub trades: Vec<TradeEv>,
    pub ctxs: Vec<NetCtx>,
}

/// The seven contract types in their canonical order, which is also the
/// tie-break order of the mixed layout.
pub(crate) const TYPES: [&str; 7] = [
    "instrument",
    "position",
    "cash",
    "auth",
    "order",
    "execution",
    "trade",
];

/// File stem of each type in the per-type layout.
pub(crate) const FILES: [&str; 7] = [
    "instruments",
    "positions",
    "cash",
    "auth",
    "orders",
    "executions",
    "trades",
];

impl Events {
    pub(crate) fn counts(&self) -> [u64; 7] {
        [
            self.instruments.len() as u64,
            self.positions.len() as u64,
            self.cash.len() as u64,
            self.auth.len() as u64,
            self.orders.len() as u64,
            self.execs.len() as u64,
            self.trades.len() as u64,
        ]
    }

    /// Stable sort of every type by time; generation order breaks ties.
    pub(crate) fn sort(&mut self) {
        self.instruments.sort_by_key(|e| e.ts);
        self.positions.sort_by_key(|e| e.ts);
        self.cash.sort_by_key(|e| e.ts);
        self.auth.sort_by_key(|e| e.ts);
        self.orders.sort_by_key(|e| e.ts);
        self.execs.sort_by_key(|e| e.ts);
        self.trades.sort_by_key(|e| e.ts);
    }
}
