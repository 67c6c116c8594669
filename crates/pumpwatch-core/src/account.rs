//! Per-account state: the start-of-day portfolio and cash, holdings updated by fills, a window
//! of recent orders and fills, and the identity context (logins, devices, sessions, changes).

use std::hash::{Hash, Hasher};

use pumpwatch_model::{
    Auth, AuthAction, Decimal, Id, Order, OrderAction, OrderType, Side, Timestamp,
};
use rustc_hash::FxHasher;
use serde::{Deserialize, Serialize};

use crate::chunked::ChunkedVec;
use crate::config::EngineSettings;
use crate::intern::IdMap;
use crate::market::local_day;
use crate::snapshot::codec;
use crate::window::TimeWindow;

/// Devices, IPs and sessions remembered per account (a limit on state).
const IDENTITIES_MAX: usize = 8;
/// Auth events kept per account for evidence.
const AUTH_NOTES_MAX: usize = 8;
/// Recent failed logins remembered per account.
const FAILURES_MAX: usize = 8;
/// Failed logins this long (ns) before a successful one count against it.
const FAILURES_BEFORE_NANOS: i64 = 15 * 60 * 1_000_000_000;

/// One holding: what was held at the start of the day and what is held now.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holding {
    pub symbol: u32,
    pub sod_qty: i64,
    pub qty: i64,
}

/// An order as the account's window sees it, after any replace or cancel.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct OrderLeg {
    #[serde(with = "codec::ts")]
    pub ts: Timestamp,
    pub order_id: Id,
    pub symbol: u32,
    pub side: Side,
    /// Quantity ordered (after replaces); for a cancelled order, what had filled.
    pub qty: u64,
    pub filled: u64,
    #[serde(with = "codec::opt_decimal")]
    pub price: Option<Decimal>,
    pub market_order: bool,
    pub margin: bool,
    pub cancelled: bool,
    /// The order came from a session or IP the account's logins never showed.
    pub unseen_session: bool,
}

impl OrderLeg {
    /// The quantity that still counts: all of a live order, the filled part of a cancelled one.
    pub fn live_qty(&self) -> u64 {
        if self.cancelled {
            self.filled
        } else {
            self.qty.max(self.filled)
        }
    }
}

/// A fill, kept for evidence.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct FillNote {
    #[serde(with = "codec::ts")]
    pub ts: Timestamp,
    pub exec_id: Id,
    pub order_id: Id,
    pub symbol: u32,
    pub side: Side,
    pub qty: u64,
    #[serde(with = "codec::decimal")]
    pub price: Decimal,
}

/// An auth event, kept for evidence and scoring.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AuthNote {
    #[serde(with = "codec::ts")]
    pub ts: Timestamp,
    pub action: AuthAction,
    pub id: Id,
    /// A device or IP this account had not shown before (and it had shown another).
    pub new_device: bool,
    /// A network (ASN) this account had not logged in from before (and it had from another).
    pub new_network: bool,
    /// From a hosting, VPS or proxy network (`engine.hosting_asns`): no retail customer's
    /// home line.
    pub hosting_network: bool,
    pub foreign_country: bool,
    pub mfa_none: bool,
    /// Failed logins of the account in the 15 minutes before this one.
    pub failed_before: u8,
    /// An ordinary login: from a home country, with a second factor, not from a new network,
    /// and on a known device or IP (or a new device — a new phone — on a network the account
    /// had logged in from before, when the broker sends ASNs). Evidence that the account's
    /// owner is at the keyboard.
    pub usual: bool,
    /// A clean login: from a home country, not a hosting network, with a second factor —
    /// whatever the account's history (weaker evidence than `usual`, which knows the network).
    pub clean: bool,
    /// Where it came from, as the broker sent it, for the evidence an analyst reads.
    pub ip: Option<Id>,
    pub country: Option<Id>,
    pub asn: Option<Id>,
    pub device_id: Option<Id>,
}

/// Everything the engine remembers about one account.
///
/// Most accounts of a day only hold a portfolio; what an active account adds (its order, fill
/// and login windows and the identities it showed) lives in a box made on its first order,
/// fill or login, so memory grows with the active accounts.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AccountState {
    pub id: Id,
    /// Local day of the start-of-day snapshot the holdings come from.
    sod_day: i64,
    pub holdings: Vec<Holding>,
    #[serde(with = "codec::decimal")]
    pub sod_cash: Decimal,
    activity: Option<Box<Activity>>,
    pub last_active_nanos: i64,
    pub holdings_dropped: u64,
    /// A number for per-symbol distinct-buyer sets, unique among the accounts seen.
    pub number: u32,
    /// The order window's capacity, for when the activity is made.
    orders_max: u32,
}

/// What an account that trades or logs in adds to its state.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Activity {
    pub orders: TimeWindow<OrderLeg>,
    pub fills: TimeWindow<FillNote>,
    pub auth: TimeWindow<AuthNote>,
    devices: Vec<u64>,
    ips: Vec<u64>,
    sessions: Vec<u64>,
    networks: Vec<u64>,
    /// Times (UTC nanos) of the latest failed logins, oldest first.
    failures: Vec<i64>,
}

/// Read in place of the activity of an account that has shown none.
static NO_ACTIVITY: Activity = Activity {
    orders: TimeWindow::empty(),
    fills: TimeWindow::empty(),
    auth: TimeWindow::empty(),
    devices: Vec::new(),
    ips: Vec::new(),
    sessions: Vec::new(),
    networks: Vec::new(),
    failures: Vec::new(),
};

impl Activity {
    fn new(orders_max: usize) -> Self {
        Activity {
            orders: TimeWindow::new(orders_max),
            // As many fills as orders: an active trader's partial fills within the window
            // (up to 238 in three hours on the sample day) must not push out the evidence.
            fills: TimeWindow::new(orders_max),
            auth: TimeWindow::new(AUTH_NOTES_MAX),
            devices: Vec::new(),
            ips: Vec::new(),
            sessions: Vec::new(),
            networks: Vec::new(),
            failures: Vec::new(),
        }
    }

    /// Whether an order's session or IP is one no login of this account showed.
    fn is_unseen_session(&self, order: &Order) -> bool {
        let session_unseen = order
            .session_id
            .as_deref()
            .is_some_and(|s| !self.sessions.contains(&fingerprint(s)));
        let ip_unseen = order
            .ip
            .as_deref()
            .is_some_and(|ip| !self.ips.contains(&fingerprint(ip)));
        session_unseen || ip_unseen
    }
}

/// Where a login came from, against the broker's settings: what any account's login says
/// without the account's history.
#[derive(Clone, Copy, Debug)]
pub struct LoginOrigin {
    pub foreign_country: bool,
    /// From a hosting, VPS or proxy network (`engine.hosting_asns`).
    pub hosting_network: bool,
    /// The login says it used no second factor.
    pub mfa_none: bool,
    /// The login names a second factor it used.
    pub mfa_passed: bool,
}

impl LoginOrigin {
    pub fn of(auth: &Auth, settings: &EngineSettings) -> Self {
        let mfa_none = auth.mfa.as_deref() == Some("none");
        LoginOrigin {
            foreign_country: auth
                .country
                .as_deref()
                .is_some_and(|c| !settings.home_countries.iter().any(|h| h == c)),
            hosting_network: auth
                .asn
                .as_deref()
                .and_then(parse_asn)
                .is_some_and(|asn| settings.hosting_asns.contains(&asn)),
            mfa_none,
            mfa_passed: auth.mfa.is_some() && !mfa_none,
        }
    }

    /// From a home country, not a hosting network, with a second factor.
    pub fn is_clean(self) -> bool {
        !self.foreign_country && !self.hosting_network && self.mfa_passed
    }
}

/// An ASN as brokers send it: `4837`, `AS4837` or `as4837`.
pub fn parse_asn(text: &str) -> Option<u32> {
    let digits = text
        .strip_prefix("AS")
        .or_else(|| text.strip_prefix("as"))
        .unwrap_or(text);
    digits.parse().ok()
}

/// A 64-bit hash of an id, for sets of ids kept small (devices, sessions, a symbol's buyers).
pub fn fingerprint(text: &str) -> u64 {
    let mut h = FxHasher::default();
    text.hash(&mut h);
    h.finish()
}

/// Remembers a fingerprint in a small set; returns whether it was new.
fn remember(set: &mut Vec<u64>, value: u64) -> bool {
    if set.contains(&value) {
        return false;
    }
    if set.len() == IDENTITIES_MAX {
        set.remove(0);
    }
    set.push(value);
    true
}

impl AccountState {
    pub fn new(id: Id, orders_max: usize) -> Self {
        AccountState {
            id,
            sod_day: i64::MIN,
            holdings: Vec::new(),
            sod_cash: Decimal::ZERO,
            activity: None,
            last_active_nanos: i64::MIN,
            holdings_dropped: 0,
            number: 0,
            orders_max: u32::try_from(orders_max).unwrap_or(u32::MAX),
        }
    }

    /// The account's windows and identities (empty for an account that has shown none).
    pub fn activity(&self) -> &Activity {
        self.activity.as_deref().unwrap_or(&NO_ACTIVITY)
    }

    /// The recent orders.
    pub fn orders(&self) -> &TimeWindow<OrderLeg> {
        &self.activity().orders
    }

    /// The recent fills.
    pub fn fills(&self) -> &TimeWindow<FillNote> {
        &self.activity().fills
    }

    /// The recent logins and account changes.
    pub fn auth(&self) -> &TimeWindow<AuthNote> {
        &self.activity().auth
    }

    fn activity_mut(&mut self) -> &mut Activity {
        let orders_max = self.orders_max as usize;
        self.activity
            .get_or_insert_with(|| Box::new(Activity::new(orders_max)))
    }

    /// A start-of-day snapshot for a later day replaces the previous day's portfolio.
    fn start_day(&mut self, ts: Timestamp) {
        let day = local_day(ts);
        if day > self.sod_day {
            self.sod_day = day;
            self.holdings.clear();
            self.sod_cash = Decimal::ZERO;
        }
    }

    pub fn holding(&self, symbol: u32) -> Option<&Holding> {
        self.holdings.iter().find(|h| h.symbol == symbol)
    }

    fn holding_mut(&mut self, symbol: u32, holdings_max: usize) -> Option<&mut Holding> {
        if let Some(i) = self.holdings.iter().position(|h| h.symbol == symbol) {
            return Some(&mut self.holdings[i]);
        }
        if self.holdings.len() >= holdings_max {
            self.holdings_dropped += 1;
            return None;
        }
        self.holdings.push(Holding {
            symbol,
            sod_qty: 0,
            qty: 0,
        });
        self.holdings.last_mut()
    }

    pub fn apply_position(&mut self, ts: Timestamp, symbol: u32, qty: i64, holdings_max: usize) {
        self.start_day(ts);
        if let Some(h) = self.holding_mut(symbol, holdings_max) {
            h.sod_qty = qty;
            h.qty = qty;
        }
    }

    pub fn apply_cash(&mut self, ts: Timestamp, amount: Decimal) {
        self.start_day(ts);
        self.sod_cash = amount;
    }

    /// Applies a login, logout, failed login or account change. Devices, IPs, networks and
    /// sessions are learned from successful logins only (a failed attempt does not make the
    /// attacker's device known); failed logins are remembered for the next success.
    pub fn apply_auth(&mut self, ts: Timestamp, auth: &Auth, settings: &EngineSettings) {
        let activity = self.activity_mut();
        let is_login = auth.action == AuthAction::LoginSuccess;
        if auth.action == AuthAction::LoginFailure {
            if activity.failures.len() == FAILURES_MAX {
                activity.failures.remove(0);
            }
            activity.failures.push(ts.utc_nanos);
            return;
        }
        let had_history = !activity.devices.is_empty() || !activity.ips.is_empty();
        let had_networks = !activity.networks.is_empty();
        let (mut new_device, mut new_ip, mut new_network) = (false, false, false);
        if is_login {
            new_device = auth
                .device_id
                .as_deref()
                .is_some_and(|d| remember(&mut activity.devices, fingerprint(d)));
            new_ip = auth
                .ip
                .as_deref()
                .is_some_and(|ip| remember(&mut activity.ips, fingerprint(ip)));
            new_network = auth
                .asn
                .as_deref()
                .is_some_and(|asn| remember(&mut activity.networks, fingerprint(asn)));
        }
        if let Some(session) = auth.session_id.as_deref() {
            remember(&mut activity.sessions, fingerprint(session));
        }
        if !is_login && !auth.action.is_account_change() {
            return;
        }
        let since = ts.utc_nanos - FAILURES_BEFORE_NANOS;
        let failed_before = if is_login {
            let n = activity
                .failures
                .iter()
                .filter(|t| **t >= since && **t <= ts.utc_nanos)
                .count();
            activity.failures.clear();
            u8::try_from(n).unwrap_or(u8::MAX)
        } else {
            0
        };
        let origin = LoginOrigin::of(auth, settings);
        let LoginOrigin {
            foreign_country,
            hosting_network,
            mfa_none,
            ..
        } = origin;
        let new_device = is_login && had_history && (new_device || new_ip);
        let new_network = is_login && had_networks && new_network;
        let clean = is_login && origin.is_clean();
        let known_network = had_networks && !new_network && auth.asn.is_some();
        let usual = clean && had_history && (!new_device || known_network) && !new_network;
        let id = auth
            .session_id
            .clone()
            .or_else(|| auth.device_id.clone())
            .or_else(|| auth.ip.clone())
            .unwrap_or_else(|| auth.action.as_str().into());
        activity.auth.push(
            ts.utc_nanos,
            AuthNote {
                ts,
                action: auth.action,
                id,
                new_device,
                new_network,
                hosting_network,
                foreign_country,
                mfa_none,
                failed_before,
                usual,
                clean,
                ip: auth.ip.clone(),
                country: auth.country.clone(),
                asn: auth.asn.clone(),
                device_id: auth.device_id.clone(),
            },
        );
    }

    /// Applies an order event to the window. Returns the index of the leg it created or
    /// changed, when that leg is live (a cancel returns `None`).
    pub fn apply_order(&mut self, ts: Timestamp, order: &Order, symbol: u32) -> Option<usize> {
        let unseen_session = self.activity().is_unseen_session(order);
        let activity = self.activity_mut();
        let existing = activity
            .orders
            .iter()
            .rposition(|(_, leg)| leg.order_id == order.order_id);
        match (order.action, existing) {
            (OrderAction::Cancel, Some(i)) => {
                if let Some((_, leg)) = activity.orders.iter_mut().nth(i) {
                    leg.cancelled = true;
                }
                None
            }
            (OrderAction::Cancel, None) => None,
            (OrderAction::Replace, Some(i)) => {
                let (_, leg) = activity.orders.iter_mut().nth(i)?;
                if let Some(qty) = order.qty {
                    leg.qty = qty;
                }
                leg.price = order.price.or(leg.price);
                leg.ts = ts;
                Some(i)
            }
            (OrderAction::New | OrderAction::Replace, _) => {
                activity.orders.push(
                    ts.utc_nanos,
                    OrderLeg {
                        ts,
                        order_id: order.order_id.clone(),
                        symbol,
                        side: order.side,
                        qty: order.qty.unwrap_or(0),
                        filled: 0,
                        price: order.price,
                        market_order: order.order_type == OrderType::Market,
                        margin: order.margin,
                        cancelled: false,
                        unseen_session,
                    },
                );
                Some(activity.orders.len() - 1)
            }
        }
    }

    /// Applies a fill: holdings move and the order's filled quantity grows.
    #[allow(clippy::too_many_arguments)]
    pub fn apply_fill(
        &mut self,
        ts: Timestamp,
        exec_id: &Id,
        order_id: &Id,
        symbol: u32,
        side: Side,
        qty: u64,
        price: Decimal,
        holdings_max: usize,
    ) {
        let signed = match side {
            Side::Buy => qty as i64,
            Side::Sell => -(qty as i64),
        };
        if let Some(h) = self.holding_mut(symbol, holdings_max) {
            h.qty += signed;
        }
        let activity = self.activity_mut();
        if let Some((_, leg)) = activity
            .orders
            .iter_mut()
            .rev()
            .find(|(_, leg)| leg.order_id == *order_id)
        {
            leg.filled += qty;
        }
        activity.fills.push(
            ts.utc_nanos,
            FillNote {
                ts,
                exec_id: exec_id.clone(),
                order_id: order_id.clone(),
                symbol,
                side,
                qty,
                price,
            },
        );
    }

    /// Drops window entries older than `cutoff_nanos`.
    pub fn evict_before(&mut self, cutoff_nanos: i64) {
        if let Some(activity) = self.activity.as_deref_mut() {
            activity.orders.evict_before(cutoff_nanos);
            activity.fills.evict_before(cutoff_nanos);
            activity.auth.evict_before(cutoff_nanos);
        }
    }
}

/// All accounts, bounded: past `accounts_max` the least recently active are evicted.
///
/// States live in a slab indexed through an [`IdMap`]; a slot freed by eviction is reused.
#[derive(Debug)]
pub struct Accounts {
    index: IdMap,
    /// Account states by slot; chunked, so adding accounts never copies the existing ones.
    slots: ChunkedVec<Option<AccountState>>,
    free: Vec<u32>,
    /// The next account number for per-symbol distinct-buyer sets (never reused).
    next_number: u32,
    limit: usize,
    orders_max: usize,
    /// The slot of the account touched last.
    last_touched: u32,
    pub evicted: u64,
    /// What evicted accounts had dropped over their limits.
    evicted_dropped: Dropped,
}

/// Items accounts dropped because a limit on their state was reached.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dropped {
    /// Holdings past `holdings_per_account_max`.
    pub holdings: u64,
    /// Orders, fills and login notes pushed out of a full window (oldest first).
    pub window_items: u64,
}

impl Dropped {
    fn of(state: &AccountState) -> Self {
        let activity = state.activity();
        Dropped {
            holdings: state.holdings_dropped,
            window_items: activity.orders.overflowed
                + activity.fills.overflowed
                + activity.auth.overflowed,
        }
    }

    fn add(&mut self, other: Dropped) {
        self.holdings += other.holdings;
        self.window_items += other.window_items;
    }
}

impl Accounts {
    pub fn new(limit: usize, orders_max: usize) -> Self {
        Accounts {
            index: IdMap::default(),
            slots: ChunkedVec::default(),
            free: Vec::new(),
            next_number: 0,
            limit,
            orders_max,
            last_touched: 0,
            evicted: 0,
            evicted_dropped: Dropped::default(),
        }
    }

    /// What every account, tracked or evicted, dropped over its limits. Walks the accounts:
    /// for summaries and metrics, not per event.
    pub fn dropped(&self) -> Dropped {
        let mut total = self.evicted_dropped;
        for state in self.slots.iter().flatten() {
            total.add(Dropped::of(state));
        }
        total
    }

    pub fn len(&self) -> usize {
        self.index.len()
    }

    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    pub fn get(&self, id: &str) -> Option<&AccountState> {
        let slot = self.index.get(id)?;
        self.slots[slot as usize].as_ref()
    }

    /// The account's state, created if new, marked active at `now`.
    pub fn touch(&mut self, id: &Id, now_nanos: i64) -> &mut AccountState {
        // An account's events often come in a row (its start-of-day positions and cash):
        // the last slot touched is checked before the index.
        let last = self.last_touched as usize;
        let slot = if last < self.slots.len()
            && self.slots[last]
                .as_ref()
                .is_some_and(|state| state.id == *id)
        {
            self.last_touched
        } else {
            match self.index.get(id) {
                Some(slot) => slot,
                None => self.create(id),
            }
        };
        self.last_touched = slot;
        let state = self.slots[slot as usize]
            .as_mut()
            .expect("an indexed slot holds an account");
        state.last_active_nanos = state.last_active_nanos.max(now_nanos);
        state
    }

    /// As [`Accounts::touch`], for an order, a fill or a login: the account's windows first
    /// drop what is older than `history_nanos` before `now_nanos` (the longest any rule reads),
    /// so a new item never pushes out one that had aged out anyway.
    pub fn touch_active(
        &mut self,
        id: &Id,
        now_nanos: i64,
        history_nanos: i64,
    ) -> &mut AccountState {
        let state = self.touch(id, now_nanos);
        state.evict_before(now_nanos.saturating_sub(history_nanos));
        state
    }

    fn create(&mut self, id: &Id) -> u32 {
        if self.index.len() >= self.limit {
            self.evict_least_recent();
        }
        let mut state = AccountState::new(id.clone(), self.orders_max);
        state.number = self.next_number;
        self.next_number = self.next_number.wrapping_add(1);
        let slot = match self.free.pop() {
            Some(slot) => {
                self.slots[slot as usize] = Some(state);
                slot
            }
            None => self.slots.push(Some(state)) as u32,
        };
        self.index.insert(id, slot);
        slot
    }

    /// Drops the least recently active tenth of the accounts (ties by id, so it is
    /// deterministic), amortising the O(n) selection over many insertions.
    fn evict_least_recent(&mut self) {
        let count = (self.limit / 10).max(1);
        let mut by_age: Vec<(i64, &str, u32)> = self
            .slots
            .iter()
            .enumerate()
            .filter_map(|(slot, s)| {
                s.as_ref()
                    .map(|s| (s.last_active_nanos, s.id.as_str(), slot as u32))
            })
            .collect();
        by_age.sort_unstable();
        let victims: Vec<u32> = by_age
            .into_iter()
            .take(count)
            .map(|(_, _, slot)| slot)
            .collect();
        for slot in victims {
            if let Some(state) = self.slots[slot as usize].take() {
                self.evicted_dropped.add(Dropped::of(&state));
                self.index.remove(&state.id);
                self.free.push(slot);
                self.evicted += 1;
            }
        }
    }
}

/// The accounts as a snapshot holds them: every slot in order, the free list and counters.
/// The id index and the last-touched slot are rebuilt (a cache, not state).
#[derive(Deserialize)]
pub struct AccountsImage {
    slots: Vec<Option<AccountState>>,
    free: Vec<u32>,
    next_number: u32,
    evicted: u64,
    evicted_dropped: Dropped,
}

/// Writes [`AccountsImage`]'s fields from the live accounts without copying them.
impl Serialize for Accounts {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{SerializeSeq, SerializeStruct};

        struct Slots<'a>(&'a ChunkedVec<Option<AccountState>>);
        impl Serialize for Slots<'_> {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let mut seq = s.serialize_seq(Some(self.0.len()))?;
                for slot in self.0.iter() {
                    seq.serialize_element(slot)?;
                }
                seq.end()
            }
        }

        let mut image = s.serialize_struct("AccountsImage", 5)?;
        image.serialize_field("slots", &Slots(&self.slots))?;
        image.serialize_field("free", &self.free)?;
        image.serialize_field("next_number", &self.next_number)?;
        image.serialize_field("evicted", &self.evicted)?;
        image.serialize_field("evicted_dropped", &self.evicted_dropped)?;
        image.end()
    }
}

impl Accounts {
    /// The accounts of a snapshot, under the limits of the current config.
    pub fn from_image(image: AccountsImage, limit: usize, orders_max: usize) -> Self {
        let mut accounts = Accounts::new(limit, orders_max);
        for (slot, state) in image.slots.into_iter().enumerate() {
            if let Some(state) = &state {
                accounts.index.insert(&state.id, slot as u32);
            }
            accounts.slots.push(state);
        }
        accounts.free = image.free;
        accounts.next_number = image.next_number;
        accounts.evicted = image.evicted;
        accounts.evicted_dropped = image.evicted_dropped;
        accounts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(secs: i64) -> Timestamp {
        Timestamp {
            utc_nanos: (1_742_137_200 + secs) * 1_000_000_000,
            offset_secs: 9 * 3600,
        }
    }

    /// An account that only holds a portfolio has no activity box; its first order makes one.
    #[test]
    fn activity_is_made_on_the_first_order() {
        let mut account = AccountState::new("A1".into(), 16);
        account.apply_position(ts(0), 3, 500, 64);
        account.apply_cash(ts(0), Decimal::from(1_000_000));
        assert!(account.activity.is_none());
        assert!(account.orders().is_empty());
        account.apply_order(ts(10), &order("O1", OrderAction::New, Some(100)), 3);
        assert!(account.activity.is_some());
        assert_eq!(account.orders().len(), 1);
    }

    /// An active trader's partial fills: the window keeps as many fills as orders, and counts
    /// the ones a full window pushes out.
    #[test]
    fn the_fill_window_holds_as_many_fills_as_orders() {
        let mut account = AccountState::new("A1".into(), 200);
        let fill = |account: &mut AccountState, i: i64| {
            account.apply_fill(
                ts(i),
                &format!("E{i}").into(),
                &format!("O{}", i / 3).into(),
                3,
                Side::Buy,
                100,
                Decimal::from(110),
                64,
            )
        };
        for i in 0..200 {
            fill(&mut account, i);
        }
        assert_eq!(account.fills().len(), 200);
        assert_eq!(Dropped::of(&account).window_items, 0);
        for i in 200..205 {
            fill(&mut account, i);
        }
        assert_eq!(account.fills().len(), 200);
        assert_eq!(Dropped::of(&account).window_items, 5);
        assert_eq!(account.fills().iter().next().unwrap().1.exec_id, "E5");
    }

    fn order(id: &str, action: OrderAction, qty: Option<u64>) -> Order {
        Order {
            order_id: id.into(),
            account_id: "A1".into(),
            symbol: "7992".into(),
            side: Side::Buy,
            action,
            order_type: OrderType::Limit,
            qty,
            price: Some(Decimal::from(110)),
            margin: false,
            channel: None,
            session_id: None,
            ip: None,
        }
    }

    #[test]
    fn replaces_and_cancels_change_the_live_quantity() {
        let mut account = AccountState::new("A1".into(), 16);
        account.apply_order(ts(0), &order("O1", OrderAction::New, Some(1_000)), 0);
        account.apply_order(ts(1), &order("O1", OrderAction::Replace, Some(3_000)), 0);
        assert_eq!(account.orders().iter().next().unwrap().1.live_qty(), 3_000);
        account.apply_fill(
            ts(2),
            &"E1".into(),
            &"O1".into(),
            0,
            Side::Buy,
            500,
            Decimal::from(110),
            8,
        );
        assert!(account
            .apply_order(ts(3), &order("O1", OrderAction::Cancel, None), 0)
            .is_none());
        assert_eq!(account.orders().iter().next().unwrap().1.live_qty(), 500);
        assert_eq!(account.holding(0).unwrap().qty, 500);
        assert_eq!(account.holding(0).unwrap().sod_qty, 0);
    }

    #[test]
    fn a_later_days_snapshot_replaces_the_portfolio() {
        let mut account = AccountState::new("A1".into(), 16);
        account.apply_position(ts(0), 1, 100, 8);
        account.apply_position(ts(1), 2, 200, 8);
        assert_eq!(account.holdings.len(), 2);
        account.apply_position(ts(86_400), 3, 300, 8);
        assert_eq!(
            account.holdings,
            vec![Holding {
                symbol: 3,
                sod_qty: 300,
                qty: 300
            }]
        );
    }

    #[test]
    fn a_login_from_a_second_device_is_new_but_the_first_is_not() {
        let mut account = AccountState::new("A1".into(), 16);
        let login = |device: &str, country: &str| Auth {
            account_id: "A1".into(),
            action: AuthAction::LoginSuccess,
            ip: None,
            device_id: Some(device.into()),
            user_agent: None,
            country: Some(country.into()),
            asn: None,
            mfa: Some("none".into()),
            channel: None,
            session_id: None,
        };
        let home = EngineSettings::default();
        account.apply_auth(ts(0), &login("d1", "JP"), &home);
        account.apply_auth(ts(10), &login("d1", "JP"), &home);
        account.apply_auth(ts(20), &login("d2", "VN"), &home);
        let notes: Vec<(bool, bool)> = account
            .auth()
            .iter()
            .map(|(_, n)| (n.new_device, n.foreign_country))
            .collect();
        assert_eq!(notes, vec![(false, false), (false, false), (true, true)]);
    }

    #[test]
    fn a_login_reads_its_network_its_failures_and_whether_it_is_usual() {
        let mut account = AccountState::new("A1".into(), 16);
        let auth = |action: AuthAction, device: &str, asn: &str, mfa: &str| Auth {
            account_id: "A1".into(),
            action,
            ip: Some(format!("ip-{device}").into()),
            device_id: Some(device.into()),
            user_agent: None,
            country: Some("JP".into()),
            asn: Some(asn.into()),
            mfa: Some(mfa.into()),
            channel: None,
            session_id: None,
        };
        let settings = EngineSettings::default();
        let home_asn = "2516";
        account.apply_auth(
            ts(0),
            &auth(AuthAction::LoginSuccess, "d1", home_asn, "sms"),
            &settings,
        );
        account.apply_auth(
            ts(60),
            &auth(AuthAction::LoginSuccess, "d1", home_asn, "sms"),
            &settings,
        );
        // Two failures from the attacker's VPS, then its success: the failures do not make
        // its device known.
        for t in [100, 110] {
            account.apply_auth(
                ts(t),
                &auth(AuthAction::LoginFailure, "dx", "AS16509", "none"),
                &settings,
            );
        }
        account.apply_auth(
            ts(120),
            &auth(AuthAction::LoginSuccess, "dx", "AS16509", "none"),
            &settings,
        );
        let notes: Vec<(bool, bool, bool, u8, bool)> = account
            .auth()
            .iter()
            .map(|(_, n)| {
                (
                    n.new_device,
                    n.new_network,
                    n.hosting_network,
                    n.failed_before,
                    n.usual,
                )
            })
            .collect();
        assert_eq!(
            notes,
            vec![
                // The first login has no history to be usual or new against.
                (false, false, false, 0, false),
                (false, false, false, 0, true),
                (true, true, true, 2, false),
            ]
        );
        assert_eq!(parse_asn("AS4837"), Some(4837));
        assert_eq!(parse_asn("4837"), Some(4837));
        assert_eq!(parse_asn("cloud"), None);
    }

    #[test]
    fn accounts_past_the_limit_evict_the_least_recent() {
        let mut accounts = Accounts::new(10, 8);
        for i in 0..25 {
            accounts.touch(&format!("A{i:02}").into(), i);
        }
        assert!(accounts.len() <= 10);
        assert!(accounts.get("A24").is_some());
        assert!(accounts.get("A00").is_none());
        assert_eq!(accounts.evicted as usize + accounts.len(), 25);
    }
}
