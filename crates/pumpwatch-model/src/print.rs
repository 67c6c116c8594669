//! A print of the tape in compact form: what the engine reads of a trade, with the symbol as
//! a code into the tape's symbol table. Bulk tape files are read into prints so the tape, most
//! of a day's events, skips building a full [`Event`] per row.

use crate::decimal::Decimal;
use crate::event::{Event, EventBody, Id, Side, Trade};
use crate::time::Timestamp;

/// A valid `trade` event as the engine reads it. Fixed-size and `Copy`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Print {
    pub ts: Timestamp,
    /// The symbol's code in the symbol table of the source that read it (see [`TapeSymbols`]).
    pub symbol: u32,
    pub qty: u64,
    pub price: Decimal,
}

/// What the engine never reads of a print, kept beside it so the full event can be rebuilt (to
/// quarantine it when it arrives late).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PrintExtras {
    pub trade_id: Option<Id>,
    pub aggressor: Option<Side>,
}

/// A source's symbol table: code `i` is the `i`-th distinct symbol it read. Append-only, so
/// a code never changes meaning.
#[derive(Clone, Debug, Default)]
pub struct TapeSymbols {
    symbols: Vec<Id>,
    codes: rustc_hash::FxHashMap<Id, u32>,
}

impl TapeSymbols {
    /// The code of `symbol`, given one if it has none yet.
    #[inline]
    pub fn code(&mut self, symbol: &str) -> u32 {
        if let Some(&code) = self.codes.get(symbol) {
            return code;
        }
        let code = self.symbols.len() as u32;
        let id = Id::new(symbol);
        self.symbols.push(id.clone());
        self.codes.insert(id, code);
        code
    }

    /// Every symbol, in code order.
    pub fn as_slice(&self) -> &[Id] {
        &self.symbols
    }
}

impl Print {
    /// The print of a trade at `ts` and its extras, the symbol given a code by `symbols`: what
    /// a tape reader makes of the trade's row.
    pub fn from_trade(
        ts: Timestamp,
        trade: &Trade,
        symbols: &mut TapeSymbols,
    ) -> (Print, PrintExtras) {
        let print = Print {
            ts,
            symbol: symbols.code(&trade.symbol),
            qty: trade.qty,
            price: trade.price,
        };
        let extras = PrintExtras {
            trade_id: trade.trade_id.clone(),
            aggressor: trade.aggressor,
        };
        (print, extras)
    }

    /// The full event the print and its extras stand for; `symbol` is the print's symbol.
    pub fn to_event(&self, symbol: &Id, extras: &PrintExtras) -> Event {
        Event {
            ts: self.ts,
            body: EventBody::Trade(Trade {
                symbol: symbol.clone(),
                qty: self.qty,
                price: self.price,
                trade_id: extras.trade_id.clone(),
                aggressor: extras.aggressor,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A print and its arrival number fit one cache line in the reorder queue.
    #[test]
    fn a_print_is_48_bytes() {
        assert_eq!(std::mem::size_of::<Print>(), 48);
    }

    #[test]
    fn codes_are_dense_and_stable() {
        let mut symbols = TapeSymbols::default();
        assert_eq!(symbols.code("7992"), 0);
        assert_eq!(symbols.code("3350"), 1);
        assert_eq!(symbols.code("7992"), 0);
        assert_eq!(symbols.as_slice(), ["7992", "3350"]);
    }

    /// A trade's print turns back into the same event.
    #[test]
    fn a_print_is_its_trade() {
        let trade = Trade {
            symbol: "7992".into(),
            qty: 300,
            price: Decimal::new(1125, 1),
            trade_id: Some("T1".into()),
            aggressor: Some(Side::Buy),
        };
        let event = Event {
            ts: Timestamp::from_utc_nanos(1),
            body: EventBody::Trade(trade.clone()),
        };
        let mut symbols = TapeSymbols::default();
        symbols.code("3350");
        let (print, extras) = Print::from_trade(event.ts, &trade, &mut symbols);
        assert_eq!(print.symbol, 1);
        assert_eq!(print.to_event(&symbols.as_slice()[1], &extras), event);
    }
}
