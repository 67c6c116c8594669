//! Typed row readers for the bulk per-type Parquet files (the tape, start-of-day positions).
//!
//! When a batch's columns have the types the converter writes (a timestamp `ts`, text ids,
//! integer quantities, a text or decimal price), each row's cells are read straight from the
//! Arrow arrays, with the null check dropped for columns that have no nulls, and handed to the
//! model's typed builders, which apply the same checks as every other reader. Anything else
//! (a null, another column type, a value the checks reject) gives `None`, and the row is read
//! cell by cell, which reports it exactly as before.

use std::borrow::Cow;

use polars::prelude::*;
use pumpwatch_model::raw::{position_from_cells, trade_from_cells, PositionCells, TradeCells};
use pumpwatch_model::{Decimal, Event, Field};

use crate::parquet_source::{Col, Direct, I128Array, I64Array, StrArray};

/// One typed column of a batch; the per-row null check is skipped when it has no nulls.
struct Cells<'a, A> {
    array: &'a A,
    has_nulls: bool,
}

// Copied by hand: a derive would require the array type itself to be `Copy`.
impl<A> Clone for Cells<'_, A> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<A> Copy for Cells<'_, A> {}

type Texts<'a> = Cells<'a, StrArray>;
type Ints<'a> = Cells<'a, I64Array>;

impl<'a, A: StaticArray> Cells<'a, A> {
    #[inline]
    fn get(&self, row: usize) -> Option<A::ValueT<'a>> {
        if self.has_nulls {
            self.array.get(row)
        } else {
            Some(self.array.value(row))
        }
    }
}

/// The `ts` column: a timestamp column and the factor to nanoseconds.
#[derive(Clone, Copy)]
struct Stamps<'a> {
    ints: Ints<'a>,
    factor: i64,
}

impl Stamps<'_> {
    #[inline]
    fn nanos(&self, row: usize) -> Option<i64> {
        self.ints.get(row)?.checked_mul(self.factor)
    }
}

/// A price column: text or a decimal.
#[derive(Clone, Copy)]
enum Prices<'a> {
    Text(Texts<'a>),
    Decimal(&'a I128Array, u32),
}

impl<'a> Prices<'a> {
    #[inline]
    fn get(&self, row: usize) -> Option<Field<'a>> {
        match self {
            Prices::Text(texts) => Some(Field::Text(Cow::Borrowed(texts.get(row)?))),
            Prices::Decimal(array, scale) => {
                Decimal::try_from_i128_with_scale(array.get(row)?, *scale)
                    .ok()
                    .map(Field::Decimal)
            }
        }
    }
}

/// A batch's columns and, for each, whether it holds a null.
#[derive(Clone, Copy)]
pub(crate) struct Columns<'c, 'a> {
    pub cols: &'c [Col<'a>],
    pub has_nulls: &'c [bool],
}

impl<'a> Columns<'_, 'a> {
    /// The column at `position` as cells of `array`, if `array` accepts its type.
    fn cells<A>(
        &self,
        position: Option<usize>,
        array: fn(&Col<'a>) -> Option<&'a A>,
    ) -> Option<Cells<'a, A>> {
        let p = position?;
        Some(Cells {
            array: array(&self.cols[p])?,
            has_nulls: self.has_nulls[p],
        })
    }

    fn texts(&self, position: Option<usize>) -> Option<Texts<'a>> {
        self.cells(position, |col| match col {
            Col::Str(array) => Some(*array),
            _ => None,
        })
    }

    /// An optional text column: `Some(None)` when absent, `None` when of another type.
    fn optional_texts(&self, position: Option<usize>) -> Option<Option<Texts<'a>>> {
        match position {
            None => Some(None),
            Some(_) => self.texts(position).map(Some),
        }
    }

    fn ints(&self, position: Option<usize>) -> Option<Ints<'a>> {
        self.cells(position, |col| match col {
            Col::I64(array) => Some(*array),
            _ => None,
        })
    }

    fn stamps(&self, position: Option<usize>) -> Option<Stamps<'a>> {
        let Col::Timestamp(_, factor) = self.cols[position?] else {
            return None;
        };
        let ints = self.cells(position, |col| match col {
            Col::Timestamp(array, _) => Some(*array),
            _ => None,
        })?;
        Some(Stamps { ints, factor })
    }

    fn prices(&self, position: Option<usize>) -> Option<Prices<'a>> {
        match self.cols[position?] {
            Col::Decimal(array, scale) => Some(Prices::Decimal(array, scale)),
            _ => self.texts(position).map(Prices::Text),
        }
    }
}

/// The typed columns of one batch of a bulk file.
pub(crate) struct TypedRows<'a>(Rows<'a>);

enum Rows<'a> {
    Trade {
        ts: Stamps<'a>,
        symbol: Texts<'a>,
        qty: Ints<'a>,
        price: Prices<'a>,
        trade_id: Option<Texts<'a>>,
        aggressor: Option<Texts<'a>>,
    },
    Position {
        ts: Stamps<'a>,
        account_id: Texts<'a>,
        symbol: Texts<'a>,
        qty: Ints<'a>,
    },
}

impl<'a> TypedRows<'a> {
    /// The typed reading of a batch read the `direct` way, if its columns have the types.
    pub(crate) fn of(direct: &Direct, c: Columns<'_, 'a>) -> Option<Self> {
        Some(TypedRows(match *direct {
            Direct::Trade {
                ts,
                symbol,
                qty,
                price,
                trade_id,
                aggressor,
            } => Rows::Trade {
                ts: c.stamps(ts)?,
                symbol: c.texts(symbol)?,
                qty: c.ints(qty)?,
                price: c.prices(price)?,
                trade_id: c.optional_texts(trade_id)?,
                aggressor: c.optional_texts(aggressor)?,
            },
            Direct::Position {
                ts,
                account_id,
                symbol,
                qty,
            } => Rows::Position {
                ts: c.stamps(ts)?,
                account_id: c.texts(account_id)?,
                symbol: c.texts(symbol)?,
                qty: c.ints(qty)?,
            },
        }))
    }

    /// Hands the cells of trade row `row` to `build`, if the rows are trades and the row has
    /// every required cell. The cells are built in place as `build`'s argument: a helper that
    /// returned them instead cost the Parquet replay about 7% (seven interleaved runs; most
    /// likely the returned cells were copied and read back before the copy retired, the
    /// store-forwarding stall the typed builders are inlined to avoid).
    #[inline(always)]
    fn with_trade_cells<R>(
        &self,
        row: usize,
        build: impl FnOnce(TradeCells<'a>) -> R,
    ) -> Option<R> {
        let Rows::Trade {
            ts,
            symbol,
            qty,
            price,
            trade_id,
            aggressor,
        } = &self.0
        else {
            return None;
        };
        Some(build(TradeCells {
            ts_nanos: ts.nanos(row)?,
            symbol: symbol.get(row)?,
            qty: qty.get(row)?,
            price: price.get(row)?,
            trade_id: trade_id.and_then(|t| t.get(row)),
            aggressor: aggressor.and_then(|a| a.get(row)),
        }))
    }

    /// The row's event, or `None` when the row must be read cell by cell.
    #[inline]
    pub(crate) fn event(&self, row: usize) -> Option<Event> {
        match &self.0 {
            Rows::Trade { .. } => self.with_trade_cells(row, trade_from_cells)?.ok(),
            Rows::Position {
                ts,
                account_id,
                symbol,
                qty,
            } => position_from_cells(PositionCells {
                ts_nanos: ts.nanos(row)?,
                account_id: account_id.get(row)?,
                symbol: symbol.get(row)?,
                qty: qty.get(row)?,
            })
            .ok(),
        }
    }
}
