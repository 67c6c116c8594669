//! What an alert page shows beside the alert, gathered from the day's events:
//! - the named accounts' holdings at the start of the day and at the alert;
//! - the named symbols' day as minute bars (price and volume) from the tape, or from the
//!   executions where there is no tape;
//! - the executions between accounts in those symbols (from `counterparty_account_id`, or
//!   both sides of one `trade_id`), which link victims to beneficiaries.
//!
//! [`ContextBuilder`] is a pure function of the alerts and the events it is shown; the
//! command line feeds it a day, the store keeps what it built.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use pumpwatch_model::{Alert, Decimal, Event, EventBody, Side, Timestamp};
use serde::{Deserialize, Serialize};
use sqlx::Row;
use utoipa::ToSchema;

use crate::{clock, Store, StoreError};

/// One holding.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Holding {
    pub symbol: String,
    pub qty: i64,
}

/// An account's holdings at two moments.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AccountHoldings {
    pub account_id: String,
    pub start_of_day: Vec<Holding>,
    /// Cash at the start of the day (decimal text), when the day has a cash snapshot.
    pub cash_start_of_day: Option<String>,
    /// After every fill up to and including the alert's time.
    pub at_alert: Vec<Holding>,
    /// Start-of-day cash plus sales minus purchases up to the alert.
    pub cash_at_alert: Option<String>,
}

/// One minute of a symbol's day.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Bar {
    pub symbol: String,
    pub day: String,
    /// The minute's start (UTC).
    pub minute_utc: String,
    pub open: String,
    pub high: String,
    pub low: String,
    pub close: String,
    pub volume: i64,
    pub prints: i64,
}

/// Fills between one buyer and one seller in one symbol on one day.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ExecutionLink {
    pub symbol: String,
    pub day: String,
    pub buyer: String,
    pub seller: String,
    pub qty: i64,
    /// Sum of qty × price (decimal text).
    pub notional: String,
    pub fills: i64,
    pub first_ts_utc: String,
    pub last_ts_utc: String,
}

/// What the builder made of a day.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DayContext {
    /// Per alert, the holdings of each account it names.
    pub holdings: BTreeMap<String, Vec<AccountHoldings>>,
    pub bars: Vec<Bar>,
    pub links: Vec<ExecutionLink>,
}

#[derive(Default)]
struct BarAcc {
    open: Decimal,
    high: Decimal,
    low: Decimal,
    close: Decimal,
    volume: i64,
    prints: i64,
}

impl BarAcc {
    fn add(&mut self, price: Decimal, qty: u64) {
        if self.prints == 0 {
            self.open = price;
            self.high = price;
            self.low = price;
        }
        self.high = self.high.max(price);
        self.low = self.low.min(price);
        self.close = price;
        self.volume = self
            .volume
            .saturating_add(i64::try_from(qty).unwrap_or(i64::MAX));
        self.prints += 1;
    }
}

#[derive(Default)]
struct LinkAcc {
    qty: i64,
    notional: Decimal,
    fills: i64,
    first: Option<Timestamp>,
    last: Option<Timestamp>,
}

/// A fill of a watched account, kept to replay onto its holdings.
struct Fill {
    ts: Timestamp,
    symbol: String,
    side: Side,
    qty: i64,
    value: Decimal,
}

/// Builds the context of a set of alerts from a day's events, in any order of arrival that
/// keeps each account's and each symbol's events in time order.
pub struct ContextBuilder {
    alerts: Vec<(String, Timestamp, Vec<String>)>,
    accounts: BTreeSet<String>,
    symbols: BTreeSet<String>,
    positions: HashMap<String, BTreeMap<String, i64>>,
    cash: HashMap<String, Decimal>,
    fills: HashMap<String, Vec<Fill>>,
    tape_bars: BTreeMap<(String, String, i64), BarAcc>,
    fill_bars: BTreeMap<(String, String, i64), BarAcc>,
    links: BTreeMap<(String, String, String, String), LinkAcc>,
    /// One side of a `trade_id` match seen, waiting for the other.
    open_matches: HashMap<(String, String), (String, Side)>,
}

impl ContextBuilder {
    pub fn new(alerts: &[Alert]) -> ContextBuilder {
        let mut accounts = BTreeSet::new();
        let mut symbols = BTreeSet::new();
        for alert in alerts {
            accounts.extend(alert.account_ids.iter().cloned());
            symbols.extend(alert.symbols.iter().cloned());
        }
        ContextBuilder {
            alerts: alerts
                .iter()
                .map(|a| (a.alert_id.clone(), a.ts, a.account_ids.clone()))
                .collect(),
            accounts,
            symbols,
            positions: HashMap::new(),
            cash: HashMap::new(),
            fills: HashMap::new(),
            tape_bars: BTreeMap::new(),
            fill_bars: BTreeMap::new(),
            links: BTreeMap::new(),
            open_matches: HashMap::new(),
        }
    }

    pub fn observe(&mut self, event: &Event) {
        match &event.body {
            EventBody::Position(p) if self.accounts.contains(p.account_id.as_str()) => {
                *self
                    .positions
                    .entry(p.account_id.to_string())
                    .or_default()
                    .entry(p.symbol.to_string())
                    .or_default() += p.qty;
            }
            EventBody::Cash(c) if self.accounts.contains(c.account_id.as_str()) => {
                *self.cash.entry(c.account_id.to_string()).or_default() += c.amount;
            }
            EventBody::Trade(t) if self.symbols.contains(t.symbol.as_str()) => {
                let minute = event.ts.utc_nanos.div_euclid(60_000_000_000);
                self.tape_bars
                    .entry((t.symbol.to_string(), clock::day_text(&event.ts), minute))
                    .or_default()
                    .add(t.price, t.qty);
            }
            EventBody::Execution(x) => {
                let qty = i64::try_from(x.qty).unwrap_or(i64::MAX);
                if self.accounts.contains(x.account_id.as_str()) {
                    self.fills
                        .entry(x.account_id.to_string())
                        .or_default()
                        .push(Fill {
                            ts: event.ts,
                            symbol: x.symbol.to_string(),
                            side: x.side,
                            qty,
                            value: x.price * Decimal::from(x.qty),
                        });
                }
                if !self.symbols.contains(x.symbol.as_str()) {
                    return;
                }
                if x.side == Side::Buy {
                    let minute = event.ts.utc_nanos.div_euclid(60_000_000_000);
                    self.fill_bars
                        .entry((x.symbol.to_string(), clock::day_text(&event.ts), minute))
                        .or_default()
                        .add(x.price, x.qty);
                }
                let other = match (&x.counterparty_account_id, &x.trade_id) {
                    (Some(cp), _) => Some(cp.to_string()),
                    (None, Some(trade_id)) => {
                        let key = (x.symbol.to_string(), trade_id.to_string());
                        match self.open_matches.remove(&key) {
                            Some((account, side)) if side != x.side => Some(account),
                            _ => {
                                self.open_matches
                                    .insert(key, (x.account_id.to_string(), x.side));
                                None
                            }
                        }
                    }
                    (None, None) => None,
                };
                let Some(other) = other else { return };
                // With a counterparty on both sides' executions, count the match once: from the buy.
                if x.counterparty_account_id.is_some() && x.side == Side::Sell {
                    return;
                }
                let (buyer, seller) = match x.side {
                    Side::Buy => (x.account_id.to_string(), other),
                    Side::Sell => (other, x.account_id.to_string()),
                };
                let link = self
                    .links
                    .entry((
                        x.symbol.to_string(),
                        clock::day_text(&event.ts),
                        buyer,
                        seller,
                    ))
                    .or_default();
                link.qty = link.qty.saturating_add(qty);
                link.notional += x.price * Decimal::from(x.qty);
                link.fills += 1;
                link.first = Some(link.first.map_or(event.ts, |t| t.min(event.ts)));
                link.last = Some(link.last.map_or(event.ts, |t| t.max(event.ts)));
            }
            _ => {}
        }
    }

    pub fn finish(self) -> DayContext {
        let mut holdings = BTreeMap::new();
        for (alert_id, ts, accounts) in &self.alerts {
            let mut per_account = Vec::new();
            for account in accounts {
                let start = self.positions.get(account).cloned().unwrap_or_default();
                let mut now = start.clone();
                let cash_start = self.cash.get(account).copied();
                let mut cash = cash_start;
                for fill in self.fills.get(account).into_iter().flatten() {
                    if fill.ts > *ts {
                        continue;
                    }
                    let held = now.entry(fill.symbol.clone()).or_default();
                    match fill.side {
                        Side::Buy => {
                            *held += fill.qty;
                            cash = cash.map(|c| c - fill.value);
                        }
                        Side::Sell => {
                            *held -= fill.qty;
                            cash = cash.map(|c| c + fill.value);
                        }
                    }
                }
                let list = |map: &BTreeMap<String, i64>| {
                    map.iter()
                        .filter(|(_, qty)| **qty != 0)
                        .map(|(symbol, qty)| Holding {
                            symbol: symbol.clone(),
                            qty: *qty,
                        })
                        .collect()
                };
                per_account.push(AccountHoldings {
                    account_id: account.clone(),
                    start_of_day: list(&start),
                    cash_start_of_day: cash_start.map(|c| c.normalize().to_string()),
                    at_alert: list(&now),
                    cash_at_alert: cash.map(|c| c.normalize().to_string()),
                });
            }
            holdings.insert(alert_id.clone(), per_account);
        }
        let tape_symbols: BTreeSet<&str> = self
            .tape_bars
            .keys()
            .map(|(symbol, _, _)| symbol.as_str())
            .collect();
        let mut bars = Vec::new();
        let bar_of = |(symbol, day, minute): &(String, String, i64), acc: &BarAcc| Bar {
            symbol: symbol.clone(),
            day: day.clone(),
            minute_utc: clock::utc_text_of_nanos(minute * 60_000_000_000),
            open: acc.open.normalize().to_string(),
            high: acc.high.normalize().to_string(),
            low: acc.low.normalize().to_string(),
            close: acc.close.normalize().to_string(),
            volume: acc.volume,
            prints: acc.prints,
        };
        for (key, acc) in &self.tape_bars {
            bars.push(bar_of(key, acc));
        }
        for (key, acc) in &self.fill_bars {
            if !tape_symbols.contains(key.0.as_str()) {
                bars.push(bar_of(key, acc));
            }
        }
        let links = self
            .links
            .into_iter()
            .map(|((symbol, day, buyer, seller), acc)| ExecutionLink {
                symbol,
                day,
                buyer,
                seller,
                qty: acc.qty,
                notional: acc.notional.normalize().to_string(),
                fills: acc.fills,
                first_ts_utc: acc.first.map(|t| clock::utc_text(&t)).unwrap_or_default(),
                last_ts_utc: acc.last.map(|t| clock::utc_text(&t)).unwrap_or_default(),
            })
            .collect();
        DayContext {
            holdings,
            bars,
            links,
        }
    }
}

impl Store {
    /// Stores the market side of a day's context (bars and execution links); stored again,
    /// the same day replaces its rows.
    pub async fn put_market_context(&self, context: &DayContext) -> Result<(), StoreError> {
        let mut tx = self.pool().begin().await?;
        for bar in &context.bars {
            sqlx::query(
                "INSERT INTO symbol_bars (symbol, day, minute_utc, open, high, low, close, volume, prints) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
                 ON CONFLICT (symbol, day, minute_utc) DO UPDATE SET open = excluded.open, \
                 high = excluded.high, low = excluded.low, close = excluded.close, \
                 volume = excluded.volume, prints = excluded.prints",
            )
            .bind(&bar.symbol)
            .bind(&bar.day)
            .bind(&bar.minute_utc)
            .bind(&bar.open)
            .bind(&bar.high)
            .bind(&bar.low)
            .bind(&bar.close)
            .bind(bar.volume)
            .bind(bar.prints)
            .execute(&mut *tx)
            .await?;
        }
        for link in &context.links {
            sqlx::query(
                "INSERT INTO execution_links (symbol, day, buyer, seller, qty, notional, fills, \
                 first_ts_utc, last_ts_utc) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
                 ON CONFLICT (symbol, day, buyer, seller) DO UPDATE SET qty = excluded.qty, \
                 notional = excluded.notional, fills = excluded.fills, \
                 first_ts_utc = excluded.first_ts_utc, last_ts_utc = excluded.last_ts_utc",
            )
            .bind(&link.symbol)
            .bind(&link.day)
            .bind(&link.buyer)
            .bind(&link.seller)
            .bind(link.qty)
            .bind(&link.notional)
            .bind(link.fills)
            .bind(&link.first_ts_utc)
            .bind(&link.last_ts_utc)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Stores the holdings of stored alerts (after [`Store::ingest_alerts`]).
    pub async fn put_holdings(&self, context: &DayContext) -> Result<(), StoreError> {
        let mut tx = self.pool().begin().await?;
        for (alert_id, holdings) in &context.holdings {
            let text = serde_json::to_string(holdings)
                .map_err(|err| StoreError::Invalid(format!("holdings: {err}")))?;
            sqlx::query(
                "INSERT INTO alert_context (alert_id, holdings) VALUES ($1, $2) \
                 ON CONFLICT (alert_id) DO UPDATE SET holdings = excluded.holdings",
            )
            .bind(alert_id)
            .bind(text)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The holdings stored for an alert (empty when its day's context was not loaded).
    pub async fn holdings(&self, alert_id: &str) -> Result<Vec<AccountHoldings>, StoreError> {
        let row = sqlx::query("SELECT holdings FROM alert_context WHERE alert_id = $1")
            .bind(alert_id)
            .fetch_optional(self.pool())
            .await?;
        match row {
            None => Ok(Vec::new()),
            Some(row) => {
                let text: String = row.try_get("holdings")?;
                serde_json::from_str(&text)
                    .map_err(|err| StoreError::Corrupt(format!("holdings of {alert_id}: {err}")))
            }
        }
    }

    /// A symbol's minute bars on one day, in time order.
    pub async fn bars(&self, symbol: &str, day: &str) -> Result<Vec<Bar>, StoreError> {
        let rows = sqlx::query(
            "SELECT symbol, day, minute_utc, open, high, low, close, volume, prints FROM symbol_bars \
             WHERE symbol = $1 AND day = $2 ORDER BY minute_utc",
        )
        .bind(symbol)
        .bind(day)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| {
                Ok(Bar {
                    symbol: row.try_get("symbol")?,
                    day: row.try_get("day")?,
                    minute_utc: row.try_get("minute_utc")?,
                    open: row.try_get("open")?,
                    high: row.try_get("high")?,
                    low: row.try_get("low")?,
                    close: row.try_get("close")?,
                    volume: row.try_get("volume")?,
                    prints: row.try_get("prints")?,
                })
            })
            .collect()
    }

    /// Execution links on a day that touch any of `accounts`, in the given symbols.
    pub async fn links_of(
        &self,
        day: &str,
        accounts: &[String],
        symbols: &[String],
    ) -> Result<Vec<ExecutionLink>, StoreError> {
        let mut links = Vec::new();
        for symbol in symbols {
            let rows = sqlx::query(
                "SELECT symbol, day, buyer, seller, qty, notional, fills, first_ts_utc, last_ts_utc \
                 FROM execution_links WHERE symbol = $1 AND day = $2 ORDER BY buyer, seller",
            )
            .bind(symbol)
            .bind(day)
            .fetch_all(self.pool())
            .await?;
            for row in rows {
                let link = ExecutionLink {
                    symbol: row.try_get("symbol")?,
                    day: row.try_get("day")?,
                    buyer: row.try_get("buyer")?,
                    seller: row.try_get("seller")?,
                    qty: row.try_get("qty")?,
                    notional: row.try_get("notional")?,
                    fills: row.try_get("fills")?,
                    first_ts_utc: row.try_get("first_ts_utc")?,
                    last_ts_utc: row.try_get("last_ts_utc")?,
                };
                if accounts.contains(&link.buyer) || accounts.contains(&link.seller) {
                    links.push(link);
                }
            }
        }
        Ok(links)
    }
}
