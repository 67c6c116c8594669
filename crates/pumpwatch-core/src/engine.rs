//! The engine: one `step` per input, alerts pushed into a buffer the caller owns.

use pumpwatch_model::{
    Alert, Event, EventBody, EventType, Id, InvalidReason, Print, PrintExtras, Side, Timestamp,
};

use crate::account::Accounts;
use crate::config::{ConfigError, EngineConfig};
use crate::detect::ato_liquidation_thin_buy::{self, Context};
use crate::market::Market;
use crate::reorder::{Admission, Lateness, Released, ReorderBuffer};
use crate::stats::EngineStats;

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
    Alert(Alert),
    /// A valid event that arrived too late to be processed in order; the caller quarantines it.
    Late {
        event: Event,
        reason: InvalidReason,
    },
}

/// The surveillance engine. A pure function of its config and the sequence of inputs.
#[derive(Debug)]
pub struct Engine {
    config: EngineConfig,
    version: String,
    reorder: ReorderBuffer,
    market: Market,
    accounts: Accounts,
    stats: EngineStats,
    /// The symbols of the prints' codes, and their market handle once one was given.
    tape_symbols: Vec<TapeSymbol>,
}

/// A symbol of the tape's symbol table, and its market handle once it has one.
#[derive(Debug)]
struct TapeSymbol {
    symbol: Id,
    handle: Option<u32>,
}

impl Engine {
    /// Validates the config and builds an empty engine.
    pub fn new(config: EngineConfig) -> Result<Self, ConfigError> {
        config.validate()?;
        let e = &config.engine;
        Ok(Engine {
            version: config.version(),
            reorder: ReorderBuffer::new(
                Lateness {
                    events_ms: e.lateness_ms,
                    snapshot_ms: e.snapshot_lateness_ms,
                },
                e.reorder_events_max,
            ),
            market: Market::new(e.symbols_max),
            accounts: Accounts::new(e.accounts_max, e.orders_per_account_max),
            stats: EngineStats::default(),
            tape_symbols: Vec::new(),
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

    /// The current counters.
    pub fn stats(&self) -> EngineStats {
        let mut stats = self.stats.clone();
        stats.reorder_forced = self.reorder.forced_releases;
        stats.reorder_depth_max = self.reorder.depth_max;
        stats.accounts_tracked = self.accounts.len();
        stats.accounts_evicted = self.accounts.evicted;
        stats.symbols_tracked = self.market.len();
        stats.symbols_over_limit = self.market.over_limit;
        stats.buyers_dropped = self.market.buyers_dropped;
        let dropped = self.accounts.dropped();
        stats.holdings_dropped = dropped.holdings;
        stats.window_items_dropped = dropped.window_items;
        stats
    }

    /// Feeds one input; whatever it makes ready is processed and its outputs appended to `out`.
    pub fn step(&mut self, input: Input, out: &mut Vec<Output>) {
        match input {
            Input::Event(event) => {
                let admission = self.reorder.push(event);
                self.admitted(admission, out);
            }
            Input::Watermark(ts) => self.reorder.advance_to(ts.utc_nanos),
            // End of input: the watermark jumps past every buffered event.
            Input::Flush => self.reorder.advance_to(i64::MAX),
        }
        self.release(out);
    }

    /// Feeds one print of the tape: the same as feeding its trade event, without building it.
    /// `symbols` is the symbol table of the source that read the print (it must hold the
    /// print's code; codes never change meaning); `extras` the print's other fields, used
    /// only if the print is late or out of order. All prints fed to one engine come from one
    /// symbol table.
    ///
    /// # Panics
    ///
    /// If `symbols` does not hold the print's code: a caller's error, never an input's (a
    /// source gives a symbol its code before it hands out a print of it).
    pub fn step_print(
        &mut self,
        print: &Print,
        symbols: &[Id],
        extras: &PrintExtras,
        out: &mut Vec<Output>,
    ) {
        let code = print.symbol as usize;
        assert!(
            code < symbols.len(),
            "print symbol code {code} is not in its source's table"
        );
        if code >= self.tape_symbols.len() {
            let known = self.tape_symbols.len();
            self.tape_symbols
                .extend(symbols[known..].iter().map(|symbol| TapeSymbol {
                    symbol: symbol.clone(),
                    handle: None,
                }));
        }
        let admission = self
            .reorder
            .push_print(print, || print.to_event(&symbols[code], extras));
        self.admitted(admission, out);
        self.release(out);
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

    /// Processes everything the reorder buffer releases.
    fn release(&mut self, out: &mut Vec<Output>) {
        let (reorder, mut state) = self.split();
        reorder.release_ready(|released| match released {
            Released::Event(event) => state.process(event, out),
            Released::Print(print) => state.process_print(print),
        });
    }

    /// The reorder buffer apart from the state its events are applied to.
    fn split(&mut self) -> (&mut ReorderBuffer, State<'_>) {
        let Engine {
            config,
            version,
            reorder,
            market,
            accounts,
            stats,
            tape_symbols,
        } = self;
        (
            reorder,
            State {
                config,
                version,
                market,
                accounts,
                stats,
                tape_symbols,
            },
        )
    }
}

/// What processing an event reads and changes: everything of the engine but its reorder buffer.
struct State<'e> {
    config: &'e EngineConfig,
    version: &'e str,
    market: &'e mut Market,
    accounts: &'e mut Accounts,
    stats: &'e mut EngineStats,
    tape_symbols: &'e mut [TapeSymbol],
}

impl State<'_> {
    /// Applies one print: what [`State::process`] does with its trade event.
    fn process_print(&mut self, print: &Print) {
        self.stats.processed_by_type[EventType::Trade.index()] += 1;
        let tape_symbol = &mut self.tape_symbols[print.symbol as usize];
        let handle = match tape_symbol.handle {
            Some(handle) => Some(handle),
            // Symbols are never evicted, so a handle once given stays the symbol's.
            None => {
                tape_symbol.handle = self.market.handle(&tape_symbol.symbol);
                tape_symbol.handle
            }
        };
        if let Some(h) = handle {
            self.market.apply_trade(h, print.ts, print.qty, print.price);
        }
    }

    /// Applies one event, in event-time order, to the state, then runs the rules it can trigger.
    fn process(&mut self, event: &Event, out: &mut Vec<Output>) {
        self.stats.processed_by_type[event.event_type().index()] += 1;
        let ts = event.ts;
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
            EventBody::Auth(a) => self.accounts.touch(&a.account_id, ts.utc_nanos).apply_auth(
                ts,
                a,
                &settings.home_countries,
            ),
            EventBody::Trade(t) => {
                if let Some(h) = self.market.handle(&t.symbol) {
                    self.market.apply_trade(h, ts, t.qty, t.price);
                }
            }
            EventBody::Execution(e) => {
                if let Some(h) = self.market.handle(&e.symbol) {
                    self.market.apply_fill(h, ts, e.qty, e.price);
                    let account = self.accounts.touch(&e.account_id, ts.utc_nanos);
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
                }
            }
            EventBody::Order(o) => {
                let Some(h) = self.market.handle(&o.symbol) else {
                    return;
                };
                let rule = &self.config.rules.ato_liquidation_thin_buy;
                let account = self.accounts.touch(&o.account_id, ts.utc_nanos);
                let buyer = (o.side == Side::Buy).then_some(account.number);
                account.evict_before(ts.utc_nanos - rule.window_secs as i64 * 1_000_000_000);
                let Some(index) = account.apply_order(ts, o, h) else {
                    return;
                };
                if let Some(number) = buyer {
                    self.market.note_buyer(h, ts, number);
                    if rule.enabled {
                        let ctx = Context {
                            config: rule,
                            session_secs: settings.session_secs,
                            config_version: self.version,
                        };
                        if let Some(alert) = ato_liquidation_thin_buy::evaluate(
                            &ctx,
                            account,
                            self.market,
                            index,
                            ts,
                        ) {
                            account.last_alert_nanos = Some(ts.utc_nanos);
                            *self
                                .stats
                                .alerts_by_rule
                                .entry(ato_liquidation_thin_buy::RULE)
                                .or_default() += 1;
                            out.push(Output::Alert(alert));
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pumpwatch_model::{Decimal, Trade};

    /// A print behind the watermark comes back as its full trade event, to be quarantined.
    #[test]
    fn a_late_print_is_reported_as_its_whole_event() {
        let mut engine = Engine::new(EngineConfig::default()).unwrap();
        let mut out = Vec::new();
        let symbols: Vec<Id> = vec!["7992".into()];
        let at =
            |secs: i64| Timestamp::from_utc_nanos(1_742_184_000_000_000_000 + secs * 1_000_000_000);
        let print = |secs: i64| Print {
            ts: at(secs),
            symbol: 0,
            qty: 300,
            price: Decimal::new(1125, 1),
        };
        let extras = PrintExtras {
            trade_id: Some("T1".into()),
            aggressor: Some(Side::Sell),
        };
        engine.step_print(&print(100), &symbols, &extras, &mut out);
        assert!(out.is_empty());
        engine.step_print(&print(1), &symbols, &extras, &mut out);
        let expected = Event {
            ts: at(1),
            body: EventBody::Trade(Trade {
                symbol: "7992".into(),
                qty: 300,
                price: Decimal::new(1125, 1),
                trade_id: Some("T1".into()),
                aggressor: Some(Side::Sell),
            }),
        };
        match out.as_slice() {
            [Output::Late { event, .. }] => assert_eq!(*event, expected),
            other => panic!("expected one late event, got {other:?}"),
        }
        engine.step(Input::Flush, &mut out);
        assert_eq!(engine.stats().late, 1);
        assert_eq!(
            engine.stats().processed_by_type[EventType::Trade.index()],
            1
        );
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
