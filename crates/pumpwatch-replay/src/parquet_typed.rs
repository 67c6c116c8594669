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

/// A text column.
#[derive(Clone, Copy)]
struct Texts<'a> {
    array: &'a StrArray,
    has_nulls: bool,
}

impl<'a> Texts<'a> {
    fn of(columns: Columns<'_, 'a>, position: Option<usize>) -> Option<Self> {
        let p = position?;
        match columns.cols[p] {
            Col::Str(array) => Some(Texts {
                array,
                has_nulls: columns.has_nulls[p],
            }),
            _ => None,
        }
    }

    /// An optional column: `Some(None)` when absent, `None` when of another type.
    fn of_optional(columns: Columns<'_, 'a>, position: Option<usize>) -> Option<Option<Self>> {
        match position {
            None => Some(None),
            Some(_) => Texts::of(columns, position).map(Some),
        }
    }

    #[inline]
    fn get(&self, row: usize) -> Option<&'a str> {
        if self.has_nulls {
            self.array.get(row)
        } else {
            Some(self.array.value(row))
        }
    }
}

/// A 64-bit integer column (quantities, and the values of a timestamp column).
#[derive(Clone, Copy)]
struct Ints<'a> {
    array: &'a I64Array,
    has_nulls: bool,
}

impl<'a> Ints<'a> {
    fn of(columns: Columns<'_, 'a>, position: Option<usize>) -> Option<Self> {
        let p = position?;
        match columns.cols[p] {
            Col::I64(array) => Some(Ints {
                array,
                has_nulls: columns.has_nulls[p],
            }),
            _ => None,
        }
    }

    #[inline]
    fn get(&self, row: usize) -> Option<i64> {
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

impl<'a> Stamps<'a> {
    fn of(columns: Columns<'_, 'a>, position: Option<usize>) -> Option<Self> {
        let p = position?;
        match columns.cols[p] {
            Col::Timestamp(array, factor) => Some(Stamps {
                ints: Ints {
                    array,
                    has_nulls: columns.has_nulls[p],
                },
                factor,
            }),
            _ => None,
        }
    }

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
    fn of(columns: Columns<'_, 'a>, position: Option<usize>) -> Option<Self> {
        match columns.cols[position?] {
            Col::Str(_) => Texts::of(columns, position).map(Prices::Text),
            Col::Decimal(array, scale) => Some(Prices::Decimal(array, scale)),
            _ => None,
        }
    }

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
                ts: Stamps::of(c, ts)?,
                symbol: Texts::of(c, symbol)?,
                qty: Ints::of(c, qty)?,
                price: Prices::of(c, price)?,
                trade_id: Texts::of_optional(c, trade_id)?,
                aggressor: Texts::of_optional(c, aggressor)?,
            },
            Direct::Position {
                ts,
                account_id,
                symbol,
                qty,
            } => Rows::Position {
                ts: Stamps::of(c, ts)?,
                account_id: Texts::of(c, account_id)?,
                symbol: Texts::of(c, symbol)?,
                qty: Ints::of(c, qty)?,
            },
        }))
    }

    /// The row's event, or `None` when the row must be read cell by cell.
    #[inline]
    pub(crate) fn event(&self, row: usize) -> Option<Event> {
        match &self.0 {
            Rows::Trade {
                ts,
                symbol,
                qty,
                price,
                trade_id,
                aggressor,
            } => trade_from_cells(TradeCells {
                ts_nanos: ts.nanos(row)?,
                symbol: symbol.get(row)?,
                qty: qty.get(row)?,
                price: price.get(row)?,
                trade_id: trade_id.and_then(|t| t.get(row)),
                aggressor: aggressor.and_then(|a| a.get(row)),
            })
            .ok(),
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
