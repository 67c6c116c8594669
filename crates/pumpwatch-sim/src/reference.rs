//! Pre-open reference data: instruments, start-of-day positions and cash, 08:00–08:30.
//!
//! Realistic days stamp them as a broker's overnight batch does: the instrument master at
//! 08:00:00 and every position and cash row at the one snapshot instant 08:30:00. The spread
//! shape gives every row a distinct microsecond over 08:00–08:25.

use crate::accounts::Account;
use crate::clock::{hm, MINUTE_US};
use crate::events::{CashEv, Events, InstrumentEv, PositionEv};
use crate::market::Market;

/// Appends the reference events: the instrument master, then each account's positions
/// followed by its cash.
pub(crate) fn emit(ev: &mut Events, m: &Market, accts: &[Account], realistic: bool) {
    let start = hm(8, 0);
    ev.instruments
        .extend((0..m.ins.len()).map(|i| InstrumentEv {
            ts: if realistic {
                start
            } else {
                start + i as i64 * 1_000
            },
            sym: i as u32,
        }));
    if realistic {
        let snapshot = hm(8, 30);
        for (a, acct) in accts.iter().enumerate() {
            ev.positions
                .extend(acct.holdings.iter().map(|(sym, qty)| PositionEv {
                    ts: snapshot,
                    acct: a as u32,
                    sym: *sym,
                    qty: *qty,
                }));
            ev.cash.push(CashEv {
                ts: snapshot,
                acct: a as u32,
                amount: acct.cash,
            });
        }
        return;
    }
    let base = hm(8, 5);
    let span = 20 * MINUTE_US;
    let n = accts.len().max(1) as i64;
    for (a, acct) in accts.iter().enumerate() {
        let ts = base + span * a as i64 / n;
        for (j, (sym, qty)) in acct.holdings.iter().enumerate() {
            ev.positions.push(PositionEv {
                ts: ts + j as i64,
                acct: a as u32,
                sym: *sym,
                qty: *qty,
            });
        }
        ev.cash.push(CashEv {
            ts: ts + 20,
            acct: a as u32,
            amount: acct.cash,
        });
    }
}
