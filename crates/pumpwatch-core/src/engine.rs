//! The engine: one `step` per input, alerts pushed into a buffer the caller owns.
//!
//! An engine owns every account, or one [`Partition`] of them (see [`crate::partition`]);
//! each alert carries its [`FiringKey`], the place in the processing order of what fired it,
//! so the alerts of partitioned engines merge into exactly one engine's sequence.

use pumpwatch_model::{
    Alert, Event, EventBody, EventType, InvalidReason, OrderAction, Side, Timestamp,
};
use serde::{Deserialize, Serialize};

use crate::account::{fingerprint, Accounts, AccountsImage};
use crate::config::{ConfigError, EngineConfig, EngineSettings};
use crate::crowd::SharedLogins;
use crate::detect::{RuleSet, Shared};
use crate::market::Market;
use crate::partition::Partition;
use crate::reorder::{self, Admission, Lateness, Released, ReorderBuffer, ReorderImage};
use crate::snapshot::{self, SnapshotError};
use crate::stats::EngineStats;

const NANOS_PER_SEC: i64 = 1_000_000_000;

/// One input to the engine.
#[derive(Debug)]
pub enum Input {
    Event(Event),
    /// A source's promise that no event with an earlier `ts` follows.
    Watermark(Timestamp),
    /// End of input: process everything still waiting.
    Flush,
}

/// One output of the engine.
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    Alert {
        alert: Alert,
        key: FiringKey,
    },
    /// A valid event that arrived too late to be processed in order; the caller quarantines it.
    Late {
        event: Event,
        reason: InvalidReason,
    },
}

/// Where an alert falls in the processing order: the order key `(ts, rank, tie, arrival)` of
/// the event that fired it and its place among that event's alerts, or, for an alert of a
/// watermark tick, the tick's second (ticks come before the events of their instant).
///
/// One engine's alerts come out in key order; the alerts of the engines of a split, merged
/// by `(key, alert_id)`, come out in the order one engine gives them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct FiringKey {
    pub ts_nanos: i64,
    /// 0 for a tick, 1 for an event.
    pub phase: u8,
    pub rank: u8,
    pub tie: u64,
    pub arrival: u64,
    /// The alert's place among the alerts of its event; for a tick, its rule's place.
    pub seq: u32,
}

/// The surveillance engine. A pure function of its config, its partition and the sequence of
/// inputs.
#[derive(Debug)]
pub struct Engine {
    config: EngineConfig,
    version: String,
    partition: Partition,
    reorder: ReorderBuffer,
    market: Market,
    accounts: Accounts,
    /// Every account's recent logins by IP and device (each engine of a split keeps them all).
    logins: SharedLogins,
    stats: EngineStats,
    rules: RuleSet,
    /// The second (UTC nanos) of the next watermark tick, `i64::MIN` before the first
    /// event; used only when a rule has an `on_watermark` hook.
    next_tick_nanos: i64,
    /// The length of the last snapshot, to size the next one's buffer (not state: it changes
    /// no output).
    snapshot_len: usize,
}

impl Engine {
    /// Validates the config and builds an empty engine that owns every account.
    pub fn new(config: EngineConfig) -> Result<Self, ConfigError> {
        Engine::for_partition(config, Partition::WHOLE)
    }

    /// Validates the config and builds an empty engine that owns the accounts of `partition`.
    pub fn for_partition(config: EngineConfig, partition: Partition) -> Result<Self, ConfigError> {
        config.validate()?;
        let e = &config.engine;
        Ok(Engine {
            version: config.version(),
            partition,
            reorder: ReorderBuffer::new(
                Lateness {
                    events_ms: e.lateness_ms,
                    snapshot_ms: e.snapshot_lateness_ms,
                },
                e.reorder_events_max,
            ),
            market: Market::new(e.symbols_max),
            accounts: Accounts::new(e.accounts_max, e.orders_per_account_max),
            logins: SharedLogins::new(e.shared_login_window_secs, e.shared_login_keys_max),
            stats: EngineStats::default(),
            rules: RuleSet::new(&config.rules),
            next_tick_nanos: i64::MIN,
            snapshot_len: 0,
            config,
        })
    }

    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// The hash of the config, stamped on every alert.
    pub fn config_version(&self) -> &str {
        &self.version
    }

    pub fn partition(&self) -> Partition {
        self.partition
    }

    /// The current counters. Of a split, each engine counts its own accounts' events and the
    /// first also the market's, so the engines' counters add up to one engine's (but the
    /// reorder depth and the tracked symbols, which each has).
    pub fn stats(&self) -> EngineStats {
        let mut stats = self.stats.clone();
        stats.reorder_forced = self.reorder.forced_releases;
        stats.reorder_depth_max = self.reorder.depth_max;
        stats.accounts_tracked = self.accounts.len();
        stats.accounts_evicted = self.accounts.evicted;
        stats.symbols_tracked = self.market.len();
        stats.shared_login_keys = self.logins.len();
        if self.partition.reports_market() {
            stats.symbols_over_limit = self.market.over_limit;
            stats.buyers_dropped = self.market.buyers_dropped;
            stats.shared_login_keys_dropped = self.logins.keys_dropped;
        }
        let dropped = self.accounts.dropped();
        stats.holdings_dropped = dropped.holdings;
        stats.window_items_dropped = dropped.window_items;
        stats
    }

    /// Feeds one input; whatever it makes ready is processed and its outputs appended to `out`.
    pub fn step(&mut self, input: Input, out: &mut Vec<Output>) {
        match input {
            Input::Event(event) => self.offer(event, out),
            Input::Watermark(ts) => self.reorder.advance_to(ts.utc_nanos),
            // End of input: the watermark jumps past every buffered event.
            Input::Flush => self.reorder.advance_to(i64::MAX),
        }
        self.release(out);
    }

    /// As `step(Input::Event(event.clone()))`, for an event every engine of a split is fed:
    /// it is cloned only when this engine keeps it.
    pub fn step_shared(&mut self, event: &Event, out: &mut Vec<Output>) {
        if self.only_observes(event) {
            self.reorder.observe(event.ts, event.event_type());
        } else {
            self.offer(event.clone(), out);
        }
        self.release(out);
    }

    /// Whether this engine only counts the event's time: it belongs to another engine's
    /// account and changes no shared state (a snapshot row or a login).
    fn only_observes(&self, event: &Event) -> bool {
        !matters_to_others(event.event_type())
            && event
                .account_id()
                .is_some_and(|account| !self.partition.owns(account))
    }

    /// Buffers an event, or only observes it (see [`Engine::only_observes`]); a late one is
    /// reported by the engine that owns it, or by the first for market events.
    fn offer(&mut self, event: Event, out: &mut Vec<Output>) {
        if self.only_observes(&event) {
            self.reorder.observe(event.ts, event.event_type());
            return;
        }
        let reports = match event.account_id() {
            Some(account) => self.partition.owns(account),
            None => self.partition.reports_market(),
        };
        let admission = self.reorder.push(event);
        if reports {
            self.admitted(admission, out);
        }
    }

    /// Reports an event the reorder buffer found too late.
    fn admitted(&mut self, admission: Admission, out: &mut Vec<Output>) {
        if let Admission::Late {
            event,
            behind_nanos,
        } = admission
        {
            self.stats.late += 1;
            out.push(Output::Late {
                event,
                reason: InvalidReason::Late {
                    behind_ms: behind_nanos / 1_000_000,
                },
            });
        }
    }

    /// Processes everything the reorder buffer releases, with the rules' watermark ticks
    /// between the seconds when a rule has that hook: from the second after the first event's,
    /// tick `T` comes after every event before `T` and before any at or after it, once the
    /// watermark has reached `T` and some event at or after `T` has been seen (the end of
    /// input is not time passing).
    fn release(&mut self, out: &mut Vec<Output>) {
        let (reorder, mut state) = self.split();
        if state.rules.has_watermark_hooks() {
            loop {
                let watermark = reorder.watermark_nanos();
                if *state.next_tick_nanos == i64::MIN {
                    // The first tick is the second after the first event's: a function of the
                    // input, not of when a driver sends watermarks.
                    let first = reorder.max_ts_nanos();
                    if first == i64::MIN {
                        break;
                    }
                    *state.next_tick_nanos = floor_second(first).saturating_add(NANOS_PER_SEC);
                }
                let tick = *state.next_tick_nanos;
                if watermark < tick || reorder.max_ts_nanos() < tick {
                    break;
                }
                reorder.release_ready_before(tick, |released| state.apply(released, out));
                state.tick(tick, reorder.last_offset_secs(), out);
                *state.next_tick_nanos = tick.saturating_add(NANOS_PER_SEC);
            }
        }
        reorder.release_ready(|released| state.apply(released, out));
    }

    /// The reorder buffer apart from the state its events are applied to.
    fn split(&mut self) -> (&mut ReorderBuffer, State<'_>) {
        let Engine {
            config,
            version,
            partition,
            reorder,
            market,
            accounts,
            logins,
            stats,
            rules,
            next_tick_nanos,
            snapshot_len: _,
        } = self;
        (
            reorder,
            State {
                config,
                version,
                partition: *partition,
                market,
                accounts,
                logins,
                stats,
                rules,
                next_tick_nanos,
            },
        )
    }
}

/// Whether another engine's account's event of this type changes shared state (a buy order's
/// distinct buyer, a fill's price, a login's IP and device), so every engine of a split must
/// apply it.
fn matters_to_others(event_type: EventType) -> bool {
    matches!(
        event_type,
        EventType::Order | EventType::Execution | EventType::Auth
    )
}

fn floor_second(nanos: i64) -> i64 {
    nanos - nanos.rem_euclid(NANOS_PER_SEC)
}

/// Snapshots: the engine's whole state as bytes (see [`crate::snapshot`]).
impl Engine {
    /// Writes the engine's state. Equal states give equal bytes.
    pub fn snapshot(&mut self) -> Vec<u8> {
        let reorder = self.reorder.image();
        let rules = self.rules.save_states();
        let logins = self.logins.image();
        let parts: [&dyn erased::Part; 7] = [
            &reorder,
            &self.market,
            &self.accounts,
            &logins,
            &rules,
            &self.stats,
            &self.next_tick_nanos,
        ];
        // Room for the last snapshot's length and an eighth more: a state that grew a little
        // since is not copied into a buffer twice its size.
        let room = self.snapshot_len + self.snapshot_len / 8;
        let bytes = snapshot::framed(&self.version, &self.partition.to_string(), room, |body| {
            for part in parts {
                part.append_to(body);
            }
        });
        self.snapshot_len = bytes.len();
        bytes
    }

    /// An engine holding the state of `bytes`, a snapshot written by an engine of the same
    /// config and partition.
    pub fn restore(
        config: EngineConfig,
        partition: Partition,
        bytes: &[u8],
    ) -> Result<Self, RestoreError> {
        let mut engine = Engine::for_partition(config, partition)?;
        let body = snapshot::unframe(bytes, &engine.version, &partition.to_string())?;
        let e = &engine.config.engine;
        let mut de = postcard::Deserializer::from_bytes(body);
        let reorder = ReorderImage::deserialize(&mut de).map_err(SnapshotError::from)?;
        engine.reorder =
            ReorderBuffer::from_image(reorder, engine.reorder.lateness(), e.reorder_events_max)
                .map_err(|bad| SnapshotError::Corrupt(bad.to_string()))?;
        engine.market =
            Market::deserialize_with_limit(&mut de, e.symbols_max).map_err(SnapshotError::from)?;
        let accounts = AccountsImage::deserialize(&mut de).map_err(SnapshotError::from)?;
        engine.accounts = Accounts::from_image(accounts, e.accounts_max, e.orders_per_account_max);
        engine
            .logins
            .restore(&mut de)
            .map_err(SnapshotError::from)?;
        let rules = Vec::<(String, Vec<u8>)>::deserialize(&mut de).map_err(SnapshotError::from)?;
        engine.rules.restore_states(&rules)?;
        engine.stats = EngineStats::deserialize(&mut de).map_err(SnapshotError::from)?;
        engine.next_tick_nanos = i64::deserialize(&mut de).map_err(SnapshotError::from)?;
        let rest = de.finalize().map_err(SnapshotError::from)?;
        if !rest.is_empty() {
            return Err(
                SnapshotError::Corrupt(format!("{} bytes after the state", rest.len())).into(),
            );
        }
        Ok(engine)
    }
}

/// Why [`Engine::restore`] failed: the config, or the snapshot.
#[derive(Debug, thiserror::Error)]
pub enum RestoreError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Snapshot(#[from] SnapshotError),
}

/// Appending one serializable part of a snapshot's body, whatever its type.
mod erased {
    pub trait Part {
        fn append_to(&self, out: &mut Vec<u8>);
    }

    impl<T: serde::Serialize + ?Sized> Part for T {
        fn append_to(&self, out: &mut Vec<u8>) {
            let taken = std::mem::take(out);
            // Plain data into a vector: postcard fails only on a sequence of unknown length,
            // which no part has, so a failure is a bug here, never an input's fault.
            *out = postcard::to_extend(self, taken).expect("engine state serializes");
        }
    }
}

/// What processing an event reads and changes: everything of the engine but its reorder buffer.
struct State<'e> {
    config: &'e EngineConfig,
    version: &'e str,
    partition: Partition,
    market: &'e mut Market,
    accounts: &'e mut Accounts,
    logins: &'e mut SharedLogins,
    stats: &'e mut EngineStats,
    rules: &'e mut RuleSet,
    next_tick_nanos: &'e mut i64,
}

/// Where the alerts of one event or tick go: counted, keyed in firing order, handed out.
struct Firing<'a> {
    stats: &'a mut EngineStats,
    out: &'a mut Vec<Output>,
    key: KeyOf<'a>,
    /// The `seq` of the first alert of an event.
    first_seq: u32,
}

/// The first `seq` of alerts that all-accounts hooks raise on an event: after the owner's
/// alerts of the same event, whichever engine of a split raises them, so a split merges into
/// one engine's order.
const ALL_ACCOUNTS_FIRST_SEQ: u32 = 1 << 16;

/// The firing key, or what it is computed from when an alert first fires: the content hash
/// of an event's tie is not worth computing for every event that fires nothing.
enum KeyOf<'a> {
    Known(FiringKey),
    Event { event: &'a Event, arrival: u64 },
}

impl Firing<'_> {
    fn fire(&mut self, rule: &'static str, alert: Alert) {
        *self
            .stats
            .alerts_by_rule
            .entry(rule.to_string())
            .or_default() += 1;
        let key = match self.key {
            KeyOf::Known(key) => key,
            KeyOf::Event { event, arrival } => {
                let (ts_nanos, rank, tie) = reorder::order_key(event);
                FiringKey {
                    ts_nanos,
                    phase: 1,
                    rank,
                    tie,
                    arrival,
                    seq: self.first_seq,
                }
            }
        };
        self.out.push(Output::Alert { alert, key });
        self.key = KeyOf::Known(FiringKey {
            seq: key.seq + 1,
            ..key
        });
    }
}

impl State<'_> {
    fn apply(&mut self, released: Released<'_>, out: &mut Vec<Output>) {
        self.process(released.event, released.arrival, out);
    }

    /// Runs the rules' `on_watermark` hooks for the second `tick`. Their alerts come in rule
    /// order, each rule's by alert id, so a split gives them in the same order.
    fn tick(&mut self, tick: i64, offset_secs: i32, out: &mut Vec<Output>) {
        let now = Timestamp {
            utc_nanos: tick,
            offset_secs,
        };
        let shared = shared(self.market, self.logins, &self.config.engine, self.version);
        let mut fired: Vec<(u32, &'static str, Alert)> = Vec::new();
        let mut names: Vec<&'static str> = Vec::new();
        self.rules.on_watermark(&shared, now, &mut |rule, alert| {
            let place = match names.iter().position(|n| *n == rule) {
                Some(place) => place,
                None => {
                    names.push(rule);
                    names.len() - 1
                }
            };
            fired.push((place as u32, rule, alert));
        });
        fired.sort_by(|a, b| (a.0, &a.2.alert_id).cmp(&(b.0, &b.2.alert_id)));
        for (place, rule, alert) in fired {
            let mut firing = Firing {
                stats: self.stats,
                out,
                key: KeyOf::Known(FiringKey {
                    ts_nanos: tick,
                    phase: 0,
                    rank: 0,
                    tie: 0,
                    arrival: 0,
                    seq: place,
                }),
                first_seq: 0,
            };
            firing.fire(rule, alert);
        }
    }

    /// The firing of an event; its key is computed if an alert fires.
    fn firing<'a>(
        stats: &'a mut EngineStats,
        out: &'a mut Vec<Output>,
        event: &'a Event,
        arrival: u64,
    ) -> Firing<'a> {
        Firing {
            stats,
            out,
            key: KeyOf::Event { event, arrival },
            first_seq: 0,
        }
    }

    /// Runs the all-accounts hooks on an order, a fill or a login of any account (`symbol` is
    /// the order's or fill's): in the market's engine only, after the owner's hooks.
    fn all_accounts(&mut self, event: &Event, arrival: u64, symbol: u32, out: &mut Vec<Output>) {
        if !self.partition.reports_market() || !self.rules.has_all_account_hooks() {
            return;
        }
        let shared = shared(self.market, self.logins, &self.config.engine, self.version);
        let mut firing = Self::firing(self.stats, out, event, arrival);
        firing.first_seq = ALL_ACCOUNTS_FIRST_SEQ;
        let fire = &mut |rule, alert| firing.fire(rule, alert);
        match &event.body {
            EventBody::Order(o) => self.rules.on_any_order(&shared, o, symbol, event.ts, fire),
            EventBody::Execution(e) => self
                .rules
                .on_any_execution(&shared, e, symbol, event.ts, fire),
            EventBody::Auth(a) => self.rules.on_any_auth(&shared, a, event.ts, fire),
            _ => {}
        }
    }

    /// Applies one event, in event-time order, to the state, then runs the rules' hooks. Of
    /// another engine's account, only what an order, a fill or a login does to shared state is
    /// applied (and the market's engine runs the all-accounts hooks on it).
    fn process(&mut self, event: &Event, arrival: u64, out: &mut Vec<Output>) {
        let ts = event.ts;
        let owned = event
            .account_id()
            .is_none_or(|account| self.partition.owns(account));
        let counted = match event.account_id() {
            Some(_) => owned,
            None => self.partition.reports_market(),
        };
        if counted {
            self.stats.processed_by_type[event.event_type().index()] += 1;
        }
        let settings = &self.config.engine;
        match &event.body {
            EventBody::Instrument(i) => {
                if let Some(h) = self.market.handle(&i.symbol) {
                    self.market.apply_instrument(h, i);
                }
            }
            EventBody::Position(p) => {
                if let Some(h) = self.market.handle(&p.symbol) {
                    self.accounts
                        .touch(&p.account_id, ts.utc_nanos)
                        .apply_position(ts, h, p.qty, settings.holdings_per_account_max);
                }
            }
            EventBody::Cash(c) => self
                .accounts
                .touch(&c.account_id, ts.utc_nanos)
                .apply_cash(ts, c.amount),
            EventBody::Auth(a) => {
                self.logins.note(ts, a);
                if owned {
                    let account = self.accounts.touch_active(
                        &a.account_id,
                        ts.utc_nanos,
                        self.rules.history_nanos(),
                    );
                    account.apply_auth(ts, a, settings);
                    let shared = shared(self.market, self.logins, settings, self.version);
                    let mut firing = Self::firing(self.stats, out, event, arrival);
                    self.rules
                        .on_auth(&shared, account, a, ts, &mut |rule, alert| {
                            firing.fire(rule, alert)
                        });
                }
                self.all_accounts(event, arrival, 0, out);
            }
            EventBody::Trade(t) => {
                if let Some(h) = self.market.handle(&t.symbol) {
                    self.market.apply_trade(h, ts, t.qty, t.price);
                    // The tape's rules run in the market's engine alone: the other engines of
                    // a split keep no state for them and spend nothing on them.
                    if self.rules.has_trade_hooks() && self.partition.reports_market() {
                        let shared = shared(self.market, self.logins, settings, self.version);
                        let mut firing = Self::firing(self.stats, out, event, arrival);
                        self.rules.on_trade(&shared, t, h, ts, &mut |rule, alert| {
                            firing.fire(rule, alert)
                        });
                    }
                }
            }
            EventBody::Execution(e) => {
                let Some(h) = self.market.handle(&e.symbol) else {
                    return;
                };
                self.market.apply_fill(h, ts, e.qty, e.price);
                if owned {
                    self.owned_fill(event, arrival, e, h, out);
                }
                self.all_accounts(event, arrival, h, out);
            }
            EventBody::Order(o) => {
                let Some(h) = self.market.handle(&o.symbol) else {
                    return;
                };
                // A buy order entered or replaced adds a distinct buyer, whoever owns it.
                if o.side == Side::Buy && o.action != OrderAction::Cancel {
                    self.market.note_buyer(h, ts, fingerprint(&o.account_id));
                }
                if owned {
                    self.owned_order(event, arrival, o, h, out);
                }
                self.all_accounts(event, arrival, h, out);
            }
        }
    }

    /// A fill of an account this engine owns: its state, then the rules' hooks.
    fn owned_fill(
        &mut self,
        event: &Event,
        arrival: u64,
        e: &pumpwatch_model::Execution,
        h: u32,
        out: &mut Vec<Output>,
    ) {
        let ts = event.ts;
        let settings = &self.config.engine;
        {
            let account =
                self.accounts
                    .touch_active(&e.account_id, ts.utc_nanos, self.rules.history_nanos());
            account.apply_fill(
                ts,
                &e.exec_id,
                &e.order_id,
                h,
                e.side,
                e.qty,
                e.price,
                settings.holdings_per_account_max,
            );
            let shared = shared(self.market, self.logins, settings, self.version);
            let mut firing = Self::firing(self.stats, out, event, arrival);
            self.rules
                .on_execution(&shared, account, e, h, ts, &mut |rule, alert| {
                    firing.fire(rule, alert)
                });
        }
    }

    /// An order of an account this engine owns: its window, then the rules' hooks.
    fn owned_order(
        &mut self,
        event: &Event,
        arrival: u64,
        o: &pumpwatch_model::Order,
        h: u32,
        out: &mut Vec<Output>,
    ) {
        let ts = event.ts;
        let settings = &self.config.engine;
        {
            let account =
                self.accounts
                    .touch_active(&o.account_id, ts.utc_nanos, self.rules.history_nanos());
            let Some(index) = account.apply_order(ts, o, h) else {
                return;
            };
            let shared = shared(self.market, self.logins, settings, self.version);
            let mut firing = Self::firing(self.stats, out, event, arrival);
            self.rules
                .on_order(&shared, account, index, ts, &mut |rule, alert| {
                    firing.fire(rule, alert)
                });
        }
    }
}

/// The shared state the rules' hooks read.
fn shared<'a>(
    market: &'a Market,
    logins: &'a SharedLogins,
    settings: &'a EngineSettings,
    version: &'a str,
) -> Shared<'a> {
    Shared {
        market,
        logins,
        settings,
        config_version: version,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pumpwatch_model::{Decimal, Trade};

    fn trade(secs: i64, trade_id: &str) -> Event {
        Event {
            ts: Timestamp::from_utc_nanos(1_742_184_000_000_000_000 + secs * 1_000_000_000),
            body: EventBody::Trade(Trade {
                symbol: "7992".into(),
                qty: 300,
                price: Decimal::new(1125, 1),
                trade_id: Some(trade_id.into()),
                aggressor: Some(Side::Sell),
            }),
        }
    }

    /// An event behind the watermark comes back whole, to be quarantined, and is counted once
    /// however the accounts are split: by the first partition when it is the market's.
    #[test]
    fn a_late_event_is_reported_whole_by_one_engine() {
        for partition in [
            Partition::WHOLE,
            Partition::new(0, 2).unwrap(),
            Partition::new(1, 2).unwrap(),
        ] {
            let mut engine = Engine::for_partition(EngineConfig::default(), partition).unwrap();
            let mut out = Vec::new();
            engine.step(Input::Event(trade(100, "T2")), &mut out);
            assert!(out.is_empty());
            engine.step(Input::Event(trade(1, "T1")), &mut out);
            let reported = partition.reports_market();
            match out.as_slice() {
                [Output::Late { event, .. }] => assert_eq!(*event, trade(1, "T1")),
                [] => assert!(!reported, "{partition} must report it"),
                other => panic!("expected one late event, got {other:?}"),
            }
            engine.step(Input::Flush, &mut out);
            let stats = engine.stats();
            assert_eq!(stats.late, u64::from(reported));
            assert_eq!(stats.processed(EventType::Trade), u64::from(reported));
        }
    }

    /// A rule that watches the clock: at each tick it says how many prints it saw before.
    #[derive(Debug, Default)]
    struct TickCounter {
        trades: u64,
    }

    impl crate::detect::Rule for TickCounter {
        fn name(&self) -> &'static str {
            "tick_counter"
        }
        fn history_secs(&self) -> u64 {
            60
        }
        fn save_state(&self) -> Vec<u8> {
            self.trades.to_le_bytes().to_vec()
        }
        fn restore_state(&mut self, bytes: &[u8]) -> Result<(), SnapshotError> {
            self.trades =
                u64::from_le_bytes(bytes.try_into().map_err(|_| SnapshotError::Checksum)?);
            Ok(())
        }
        fn uses_trades(&self) -> bool {
            true
        }
        fn uses_watermark(&self) -> bool {
            true
        }
        fn on_trade(
            &mut self,
            _: &Shared<'_>,
            _: &Trade,
            _: u32,
            _: Timestamp,
            _: &mut Vec<Alert>,
        ) {
            self.trades += 1;
        }
        fn on_watermark(&mut self, _: &Shared<'_>, now: Timestamp, alerts: &mut Vec<Alert>) {
            alerts.push(Alert {
                alert_id: format!("tick-{}", now.utc_nanos),
                rule: "tick_counter".into(),
                ts: now,
                score: 0,
                severity: pumpwatch_model::Severity::Low,
                account_ids: Vec::new(),
                symbols: Vec::new(),
                summary: format!("{} prints before", self.trades),
                evidence: Vec::new(),
                features: Default::default(),
                action: pumpwatch_model::Action::StepUpAuth,
                config_version: String::new(),
            });
        }
    }

    fn ticks(out: &[Output]) -> Vec<(i64, String)> {
        out.iter()
            .filter_map(|o| match o {
                Output::Alert { alert, key } => {
                    assert_eq!(key.phase, 0, "a tick's alert is keyed as a tick");
                    Some((
                        (alert.ts.utc_nanos - trade(0, "x").ts.utc_nanos) / NANOS_PER_SEC,
                        alert.summary.clone(),
                    ))
                }
                Output::Late { .. } => None,
            })
            .collect()
    }

    /// Watermark ticks come once per second of event time, after every event before the
    /// second and before any at or after it, whatever explicit watermarks the driver sends,
    /// and never past the last event seen (the end of input is not time passing).
    #[test]
    fn watermark_ticks_follow_event_time_only() {
        let engine = |explicit: bool| {
            let mut engine = Engine::new(EngineConfig::default()).unwrap();
            engine.rules = RuleSet::of(vec![Box::new(TickCounter::default())]);
            let mut out = Vec::new();
            for (secs, id) in [
                (0, "T0"),
                (0, "T1"),
                (1, "T2"),
                (4, "T3"),
                (4, "T4"),
                (6, "T5"),
            ] {
                engine.step(Input::Event(trade(secs, id)), &mut out);
                if explicit {
                    engine.step(Input::Watermark(trade(secs, id).ts), &mut out);
                }
            }
            engine.step(Input::Flush, &mut out);
            ticks(&out)
        };
        let expected: Vec<(i64, String)> = [(1, 2), (2, 3), (3, 3), (4, 3), (5, 5), (6, 5)]
            .into_iter()
            .map(|(s, n)| (s, format!("{n} prints before")))
            .collect();
        assert_eq!(engine(false), expected);
        assert_eq!(engine(true), expected);
    }

    /// A split's tape rules run in the market's engine alone: the other shares keep no state
    /// for them (their tick reports count no print).
    #[test]
    fn tape_rules_run_in_the_markets_engine_alone() {
        for (partition, prints) in [
            (Partition::WHOLE, 3),
            (Partition::new(0, 2).unwrap(), 3),
            (Partition::new(1, 2).unwrap(), 0),
        ] {
            let mut engine = Engine::for_partition(EngineConfig::default(), partition).unwrap();
            engine.rules = RuleSet::of(vec![Box::new(TickCounter::default())]);
            let mut out = Vec::new();
            for (secs, id) in [(0, "T0"), (0, "T1"), (1, "T2"), (2, "T3")] {
                engine.step(Input::Event(trade(secs, id)), &mut out);
            }
            engine.step(Input::Flush, &mut out);
            assert_eq!(
                ticks(&out).last(),
                Some(&(2, format!("{prints} prints before"))),
                "{partition}"
            );
        }
    }

    /// Logins spread over a day never fill the account's login window: the ones older than
    /// the rules' history leave it first, and nothing is counted as pushed out.
    #[test]
    fn logins_that_aged_out_are_not_counted_as_dropped() {
        let mut engine = Engine::new(EngineConfig::default()).unwrap();
        let mut out = Vec::new();
        for i in 0..12i64 {
            let login = Event {
                ts: Timestamp::from_utc_nanos(1_742_167_800_000_000_000 + i * 1_800_000_000_000),
                body: EventBody::Auth(Box::new(pumpwatch_model::Auth {
                    account_id: "A1".into(),
                    action: pumpwatch_model::AuthAction::LoginSuccess,
                    ip: Some("198.51.100.7".into()),
                    device_id: Some("d1".into()),
                    user_agent: None,
                    country: Some("JP".into()),
                    asn: None,
                    mfa: None,
                    channel: None,
                    session_id: None,
                })),
            };
            engine.step(Input::Event(login), &mut out);
        }
        engine.step(Input::Flush, &mut out);
        assert_eq!(engine.stats().window_items_dropped, 0);
    }

    /// Every limit on state that drops something is counted in the stats, evicted accounts'
    /// drops included.
    #[test]
    fn dropped_state_is_counted() {
        let mut config = EngineConfig::default();
        config.engine.holdings_per_account_max = 1;
        config.engine.accounts_max = 1;
        let mut engine = Engine::new(config).unwrap();
        let mut out = Vec::new();
        let position = |account: &str, symbol: &str| Event {
            ts: Timestamp::from_utc_nanos(1_742_167_800_000_000_000),
            body: EventBody::Position(pumpwatch_model::Position {
                account_id: account.into(),
                symbol: symbol.into(),
                qty: 100,
            }),
        };
        for event in [
            position("A1", "7992"),
            position("A1", "130A"),
            position("A2", "7992"),
        ] {
            engine.step(Input::Event(event), &mut out);
        }
        engine.step(Input::Flush, &mut out);
        let stats = engine.stats();
        assert_eq!(
            stats.holdings_dropped, 1,
            "A1's second holding, A1 since evicted"
        );
        assert_eq!(stats.accounts_evicted, 1);
        assert_eq!(stats.window_items_dropped, 0);
    }
}
