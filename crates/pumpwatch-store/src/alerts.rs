//! Alerts in the store: idempotent ingest (keyed by `alert_id`, loading twice changes
//! nothing), the analysts' queue and one alert's record.

use pumpwatch_model::{Alert, Severity};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sqlx::Row;
use utoipa::{IntoParams, ToSchema};

use crate::audit::{hex, ChainHead};
use crate::{cases, clock, Store, StoreError};

/// An alert as the engine wrote it: the parsed contract and its exact JSON text.
#[derive(Clone, Debug)]
pub struct IncomingAlert {
    pub alert: Alert,
    pub line: String,
}

impl IncomingAlert {
    /// Reads one NDJSON alert line.
    pub fn from_line(line: &str) -> Result<IncomingAlert, StoreError> {
        let line = line.trim_end_matches(['\n', '\r']);
        let alert: Alert = serde_json::from_str(line)
            .map_err(|err| StoreError::Invalid(format!("not an alert of the contract: {err}")))?;
        if alert.alert_id.is_empty() {
            return Err(StoreError::Invalid("an alert without alert_id".into()));
        }
        Ok(IncomingAlert {
            alert,
            line: line.to_string(),
        })
    }
}

/// What an ingest did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct IngestReport {
    pub received: u64,
    /// New alerts stored.
    pub stored: u64,
    /// Alerts the store already had (same `alert_id`): left as they were.
    pub already_stored: u64,
    /// Alerts that joined a case (a new alert, or an earlier one it opened a case with).
    pub grouped: u64,
}

/// The workflow states an alert or case goes through.
pub const STATES: [&str; 5] = ["new", "assigned", "escalated", "pending_approval", "closed"];

fn severity_rank(severity: Severity) -> i64 {
    match severity {
        Severity::Low => 0,
        Severity::Medium => 1,
        Severity::High => 2,
        Severity::Critical => 3,
    }
}

fn action_str(alert: &Alert) -> String {
    serde_json::to_value(alert.action)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// Alerts are written in transactions of this many.
const INGEST_BATCH: usize = 500;

impl Store {
    /// Stores alerts, skipping those already stored, and groups the new ones into cases.
    pub async fn ingest_alerts(
        &self,
        actor: &str,
        alerts: &[IncomingAlert],
        grouping: &cases::Grouping,
    ) -> Result<IngestReport, StoreError> {
        let mut report = IngestReport::default();
        for batch in alerts.chunks(INGEST_BATCH) {
            let mut tx = self.pool().begin().await?;
            let mut head = ChainHead::take(&mut tx).await?;
            let mut new_ids = Vec::new();
            for incoming in batch {
                report.received += 1;
                let alert = &incoming.alert;
                let day = clock::day_text(&alert.ts);
                let stored = sqlx::query(
                    "INSERT INTO alerts (alert_id, rule, ts, ts_utc, day, score, severity, \
                     severity_rank, action, summary, account_ids, symbols, config_version, body, \
                     ingested_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $15) \
                     ON CONFLICT (alert_id) DO NOTHING",
                )
                .bind(&alert.alert_id)
                .bind(&alert.rule)
                .bind(alert.ts.to_string())
                .bind(clock::utc_text(&alert.ts))
                .bind(&day)
                .bind(i64::from(alert.score))
                .bind(alert.severity.as_str())
                .bind(severity_rank(alert.severity))
                .bind(action_str(alert))
                .bind(&alert.summary)
                .bind(json!(alert.account_ids).to_string())
                .bind(json!(alert.symbols).to_string())
                .bind(&alert.config_version)
                .bind(&incoming.line)
                .bind(head.at())
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if stored == 0 {
                    report.already_stored += 1;
                    continue;
                }
                report.stored += 1;
                for account in &alert.account_ids {
                    sqlx::query(
                        "INSERT INTO alert_accounts (account_id, alert_id) VALUES ($1, $2) \
                         ON CONFLICT DO NOTHING",
                    )
                    .bind(account)
                    .bind(&alert.alert_id)
                    .execute(&mut *tx)
                    .await?;
                }
                for symbol in &alert.symbols {
                    sqlx::query(
                        "INSERT INTO alert_symbols (symbol, alert_id, day, ts_utc) \
                         VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                    )
                    .bind(symbol)
                    .bind(&alert.alert_id)
                    .bind(&day)
                    .bind(clock::utc_text(&alert.ts))
                    .execute(&mut *tx)
                    .await?;
                }
                new_ids.push(alert.alert_id.as_str());
            }
            if !new_ids.is_empty() {
                use sha2::{Digest, Sha256};
                let digest = Sha256::digest(new_ids.join("\n").as_bytes());
                let after = json!({
                    "stored": new_ids.len(),
                    "first": new_ids.first(),
                    "last": new_ids.last(),
                    "alert_ids_sha256": hex(&digest),
                });
                head.append(
                    &mut tx,
                    actor,
                    ("ingest", new_ids[0]),
                    "alerts.stored",
                    &json!(null),
                    &after,
                )
                .await?;
                for incoming in batch {
                    if new_ids.contains(&incoming.alert.alert_id.as_str()) {
                        report.grouped += cases::group_alert(
                            &mut tx,
                            &mut head,
                            actor,
                            &incoming.alert,
                            grouping,
                        )
                        .await?;
                    }
                }
            }
            head.finish(&mut tx).await?;
            tx.commit().await?;
        }
        Ok(report)
    }
}

/// How the queue is sorted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum QueueSort {
    /// Riskiest first (score, then newest).
    #[default]
    Score,
    /// Newest first.
    Time,
    /// Oldest first.
    TimeAsc,
}

/// Which alerts the queue shows.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, IntoParams, ToSchema)]
#[into_params(parameter_in = Query)]
pub struct QueueFilter {
    /// Workflow state: new, assigned, escalated, pending_approval, closed.
    pub state: Option<String>,
    pub rule: Option<String>,
    /// low, medium, high or critical.
    pub severity: Option<String>,
    pub symbol: Option<String>,
    pub account: Option<String>,
    pub assignee: Option<String>,
    pub case_id: Option<String>,
    /// Fired at or after this instant (RFC 3339).
    pub from: Option<String>,
    /// Fired before this instant (RFC 3339).
    pub to: Option<String>,
    #[param(inline)]
    pub sort: Option<QueueSort>,
    /// 1-based page number.
    #[param(minimum = 1)]
    pub page: Option<i64>,
    #[param(minimum = 1, maximum = 500)]
    pub page_size: Option<i64>,
}

/// One row of the queue.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct QueueItem {
    pub alert_id: String,
    pub rule: String,
    pub ts: String,
    pub score: i64,
    pub severity: String,
    pub action: String,
    pub summary: String,
    pub account_ids: Vec<String>,
    pub symbols: Vec<String>,
    pub state: String,
    pub assignee: Option<String>,
    pub disposition: Option<String>,
    pub case_id: Option<String>,
    pub version: i64,
}

/// A page of the queue.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct QueuePage {
    pub items: Vec<QueueItem>,
    /// Alerts matching the filter, over all pages.
    pub total: i64,
    pub page: i64,
    pub page_size: i64,
}

/// How many alerts are in each state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, ToSchema)]
pub struct StateCounts {
    pub new: i64,
    pub assigned: i64,
    pub escalated: i64,
    pub pending_approval: i64,
    pub closed: i64,
    pub total: i64,
}

/// Where-clause and binds built from a filter; every value is bound, none spliced.
struct Clause {
    sql: String,
    binds: Vec<String>,
}

impl Clause {
    fn push(&mut self, condition: &str, value: String) {
        self.binds.push(value);
        let placeholder = format!("${}", self.binds.len());
        self.sql.push_str(" AND ");
        self.sql.push_str(&condition.replace('?', &placeholder));
    }
}

fn instant(text: &str, name: &str) -> Result<String, StoreError> {
    pumpwatch_model::Timestamp::parse(text)
        .map(|ts| clock::utc_text(&ts))
        .map_err(|_| {
            StoreError::Invalid(format!(
                "{name}: not an RFC 3339 instant with offset: {text:?}"
            ))
        })
}

fn one_of(value: &str, name: &str, allowed: &[&str]) -> Result<String, StoreError> {
    if allowed.contains(&value) {
        Ok(value.to_string())
    } else {
        Err(StoreError::Invalid(format!(
            "{name} {value:?}: one of {}",
            allowed.join(", ")
        )))
    }
}

fn where_clause(filter: &QueueFilter) -> Result<Clause, StoreError> {
    let mut clause = Clause {
        sql: "WHERE 1 = 1".into(),
        binds: Vec::new(),
    };
    if let Some(state) = &filter.state {
        clause.push("a.state = ?", one_of(state, "state", &STATES)?);
    }
    if let Some(rule) = &filter.rule {
        clause.push("a.rule = ?", rule.clone());
    }
    if let Some(severity) = &filter.severity {
        let severity = one_of(severity, "severity", &["low", "medium", "high", "critical"])?;
        clause.push("a.severity = ?", severity);
    }
    if let Some(symbol) = &filter.symbol {
        clause.push(
            "a.alert_id IN (SELECT alert_id FROM alert_symbols WHERE symbol = ?)",
            symbol.clone(),
        );
    }
    if let Some(account) = &filter.account {
        clause.push(
            "a.alert_id IN (SELECT alert_id FROM alert_accounts WHERE account_id = ?)",
            account.clone(),
        );
    }
    if let Some(assignee) = &filter.assignee {
        clause.push("a.assignee = ?", assignee.clone());
    }
    if let Some(case_id) = &filter.case_id {
        clause.push("a.case_id = ?", case_id.clone());
    }
    if let Some(from) = &filter.from {
        clause.push("a.ts_utc >= ?", instant(from, "from")?);
    }
    if let Some(to) = &filter.to {
        clause.push("a.ts_utc < ?", instant(to, "to")?);
    }
    Ok(clause)
}

fn json_list(text: &str) -> Vec<String> {
    serde_json::from_str(text).unwrap_or_default()
}

pub(crate) const ITEM_COLUMNS: &str = "a.alert_id, a.rule, a.ts, a.score, a.severity, a.action, \
    a.summary, a.account_ids, a.symbols, a.state, a.assignee, a.disposition, a.case_id, a.version";

pub(crate) fn item_of(row: &sqlx::any::AnyRow) -> Result<QueueItem, StoreError> {
    Ok(QueueItem {
        alert_id: row.try_get("alert_id")?,
        rule: row.try_get("rule")?,
        ts: row.try_get("ts")?,
        score: row.try_get("score")?,
        severity: row.try_get("severity")?,
        action: row.try_get("action")?,
        summary: row.try_get("summary")?,
        account_ids: json_list(&row.try_get::<String, _>("account_ids")?),
        symbols: json_list(&row.try_get::<String, _>("symbols")?),
        state: row.try_get("state")?,
        assignee: row.try_get("assignee")?,
        disposition: row.try_get("disposition")?,
        case_id: row.try_get("case_id")?,
        version: row.try_get("version")?,
    })
}

/// The default and the largest page.
pub const DEFAULT_PAGE_SIZE: i64 = 50;
pub const MAX_PAGE_SIZE: i64 = 500;

impl Store {
    /// A page of the queue.
    pub async fn queue(&self, filter: &QueueFilter) -> Result<QueuePage, StoreError> {
        let page = filter.page.unwrap_or(1);
        let page_size = filter.page_size.unwrap_or(DEFAULT_PAGE_SIZE);
        if page < 1 {
            return Err(StoreError::Invalid("page starts at 1".into()));
        }
        if !(1..=MAX_PAGE_SIZE).contains(&page_size) {
            return Err(StoreError::Invalid(format!(
                "page_size: 1 to {MAX_PAGE_SIZE}"
            )));
        }
        let offset = (page - 1)
            .checked_mul(page_size)
            .ok_or_else(|| StoreError::Invalid("page is too large".into()))?;
        let clause = where_clause(filter)?;
        let order = match filter.sort.unwrap_or_default() {
            QueueSort::Score => "a.score DESC, a.ts_utc DESC, a.alert_id",
            QueueSort::Time => "a.ts_utc DESC, a.alert_id",
            QueueSort::TimeAsc => "a.ts_utc ASC, a.alert_id",
        };
        let sql = format!(
            "SELECT {ITEM_COLUMNS} FROM alerts a {} ORDER BY {order} LIMIT {page_size} OFFSET {offset}",
            clause.sql
        );
        let mut query = sqlx::query(&sql);
        for bind in &clause.binds {
            query = query.bind(bind);
        }
        let rows = query.fetch_all(self.pool()).await?;
        let items = rows.iter().map(item_of).collect::<Result<Vec<_>, _>>()?;
        let count_sql = format!("SELECT COUNT(*) AS n FROM alerts a {}", clause.sql);
        let mut count = sqlx::query(&count_sql);
        for bind in &clause.binds {
            count = count.bind(bind);
        }
        let total: i64 = count.fetch_one(self.pool()).await?.try_get("n")?;
        Ok(QueuePage {
            items,
            total,
            page,
            page_size,
        })
    }

    /// How many alerts are in each state.
    pub async fn state_counts(&self) -> Result<StateCounts, StoreError> {
        let rows = sqlx::query("SELECT state, COUNT(*) AS n FROM alerts GROUP BY state")
            .fetch_all(self.pool())
            .await?;
        let mut counts = StateCounts {
            new: 0,
            assigned: 0,
            escalated: 0,
            pending_approval: 0,
            closed: 0,
            total: 0,
        };
        for row in rows {
            let state: String = row.try_get("state")?;
            let n: i64 = row.try_get("n")?;
            counts.total += n;
            match state.as_str() {
                "new" => counts.new = n,
                "assigned" => counts.assigned = n,
                "escalated" => counts.escalated = n,
                "pending_approval" => counts.pending_approval = n,
                "closed" => counts.closed = n,
                other => return Err(StoreError::Corrupt(format!("alert state {other:?}"))),
            }
        }
        Ok(counts)
    }

    /// One alert: its queue row and the alert exactly as the engine wrote it.
    pub async fn alert(&self, alert_id: &str) -> Result<(QueueItem, Value), StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {ITEM_COLUMNS}, a.body FROM alerts a WHERE a.alert_id = $1"
        ))
        .bind(alert_id)
        .fetch_optional(self.pool())
        .await?
        .ok_or_else(|| StoreError::NotFound {
            what: "alert",
            id: alert_id.to_string(),
        })?;
        let body: String = row.try_get("body")?;
        let body = serde_json::from_str(&body)
            .map_err(|err| StoreError::Corrupt(format!("alert {alert_id} body: {err}")))?;
        Ok((item_of(&row)?, body))
    }
}
