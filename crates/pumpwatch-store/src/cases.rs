//! Cases: the alerts of one campaign, worked as one item. At ingest a new alert joins the
//! open case of its trading day that shares one of its symbols and whose alerts reach within
//! `window_secs` of it, or one that shares an account with it through a matched execution
//! in that symbol (a victim's buy against a beneficiary's sale); when no case fits but an
//! ungrouped alert of that day does, the two open a case together. A lone alert stays
//! without a case.
//!
//! Grouping runs in the ingest's transaction, in the order alerts arrive, and is recorded in
//! the audit log like any change.

use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::{AnyConnection, Row};
use utoipa::ToSchema;

use crate::alerts::{item_of, QueueItem, ITEM_COLUMNS};
use crate::audit::ChainHead;
use crate::context::ExecutionLink;
use crate::{clock, Store, StoreError};
use pumpwatch_model::Alert;

/// How alerts are grouped into cases.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grouping {
    /// Alerts on one symbol within this many seconds of each other belong to one case.
    pub window_secs: i64,
}

impl Default for Grouping {
    fn default() -> Self {
        Grouping {
            window_secs: 3 * 3600,
        }
    }
}

/// A case as the queue lists it.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct CaseItem {
    pub case_id: String,
    pub title: String,
    pub score: i64,
    pub severity: String,
    pub first_ts_utc: String,
    pub last_ts_utc: String,
    pub state: String,
    pub assignee: Option<String>,
    pub disposition: Option<String>,
    pub version: i64,
    pub alert_count: i64,
}

/// A case with what its page shows: its alerts, accounts, symbols and the executions between
/// its accounts (the graph's edges).
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct CaseDetail {
    pub case: CaseItem,
    pub alerts: Vec<QueueItem>,
    pub accounts: Vec<String>,
    pub symbols: Vec<String>,
    pub links: Vec<ExecutionLink>,
}

/// An alert that a new alert might join: its case, if any, and that case's state.
struct Candidate {
    alert_id: String,
    case_id: Option<String>,
    case_state: Option<String>,
}

impl Candidate {
    fn of(row: &sqlx::any::AnyRow) -> Result<Candidate, StoreError> {
        Ok(Candidate {
            alert_id: row.try_get("alert_id")?,
            case_id: row.try_get("case_id")?,
            case_state: row.try_get("state")?,
        })
    }

    /// Every row of a candidates query (`alert_id`, `case_id`, `state`), in its order.
    fn all(rows: &[sqlx::any::AnyRow]) -> Result<Vec<Candidate>, StoreError> {
        rows.iter().map(Candidate::of).collect()
    }
}

/// The other alerts of an alert's day within the grouping window around it: what a
/// candidates query binds after its key (`$2` the day, `$3`..`$4` the window, `$5` the alert).
struct Window<'a> {
    day: &'a str,
    from: &'a str,
    to: &'a str,
    alert_id: &'a str,
}

impl Window<'_> {
    /// The candidates `sql` finds for `key` (`$1`) in this window, in its order.
    async fn candidates(
        &self,
        conn: &mut AnyConnection,
        sql: &str,
        key: &str,
    ) -> Result<Vec<Candidate>, StoreError> {
        let rows = sqlx::query(sql)
            .bind(key)
            .bind(self.day)
            .bind(self.from)
            .bind(self.to)
            .bind(self.alert_id)
            .fetch_all(conn)
            .await?;
        Candidate::all(&rows)
    }
}

/// A case's id: named after the alert that opened it, through a hash, so any alert id (of
/// any length or alphabet) gives a short, distinct one.
fn case_id_of(alert_id: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(alert_id.as_bytes());
    format!("C-{}", &crate::audit::hex(&digest)[..16])
}

/// Puts a just-stored alert into a case when one fits; how many alerts joined a case (2 when
/// it opened one with a partner, 1 when it joined one, 0 when none fits or it already has one).
pub(crate) async fn group_alert(
    conn: &mut AnyConnection,
    head: &mut ChainHead,
    actor: &str,
    alert: &Alert,
    grouping: &Grouping,
) -> Result<u64, StoreError> {
    let grouped: Option<String> = sqlx::query("SELECT case_id FROM alerts WHERE alert_id = $1")
        .bind(&alert.alert_id)
        .fetch_one(&mut *conn)
        .await?
        .try_get("case_id")?;
    if grouped.is_some() {
        return Ok(0);
    }
    let day = clock::day_text(&alert.ts);
    let window_nanos = grouping.window_secs.saturating_mul(1_000_000_000);
    let from = clock::utc_text_of_nanos(alert.ts.utc_nanos.saturating_sub(window_nanos));
    let to = clock::utc_text_of_nanos(alert.ts.utc_nanos.saturating_add(window_nanos));
    let window = Window {
        day: &day,
        from: &from,
        to: &to,
        alert_id: &alert.alert_id,
    };

    // Alerts of the day on one of its symbols: those within the window, then those whose
    // accounts traded with its accounts in that symbol, earliest first.
    let mut candidates: Vec<Candidate> = Vec::new();
    for symbol in &alert.symbols {
        candidates.extend(
            window
                .candidates(
                    conn,
                    "SELECT s.alert_id, a.case_id, c.state FROM alert_symbols s \
                     JOIN alerts a ON a.alert_id = s.alert_id \
                     LEFT JOIN cases c ON c.case_id = a.case_id \
                     WHERE s.symbol = $1 AND s.day = $2 AND s.ts_utc >= $3 AND s.ts_utc <= $4 \
                     AND s.alert_id <> $5 ORDER BY s.ts_utc, s.alert_id",
                    symbol,
                )
                .await?,
        );
        for account in &alert.account_ids {
            let rows = sqlx::query(
                "SELECT s.alert_id, a.case_id, c.state FROM execution_links l \
                 JOIN alert_accounts aa ON aa.account_id = \
                      CASE WHEN l.buyer = $3 THEN l.seller ELSE l.buyer END \
                 JOIN alert_symbols s ON s.alert_id = aa.alert_id AND s.symbol = $1 AND s.day = $2 \
                 JOIN alerts a ON a.alert_id = s.alert_id LEFT JOIN cases c ON c.case_id = a.case_id \
                 WHERE l.symbol = $1 AND l.day = $2 AND (l.buyer = $3 OR l.seller = $3) \
                 AND s.alert_id <> $4 ORDER BY s.ts_utc, s.alert_id",
            )
            .bind(symbol)
            .bind(&day)
            .bind(account)
            .bind(&alert.alert_id)
            .fetch_all(&mut *conn)
            .await?;
            candidates.extend(Candidate::all(&rows)?);
        }
    }
    // Then the alerts of the day, within the window, on the accounts its login evidence links
    // it to (another account logged in from the same IP or device: shared infrastructure).
    let symbol_candidates = candidates.len();
    let mut linked: Vec<&str> = alert
        .evidence
        .iter()
        .filter(|e| e.kind == "linked_account")
        .filter_map(|e| e.account_id.as_deref())
        .collect();
    linked.sort_unstable();
    linked.dedup();
    for account in linked {
        candidates.extend(
            window
                .candidates(
                    conn,
                    "SELECT a.alert_id, a.case_id, c.state FROM alert_accounts aa \
                     JOIN alerts a ON a.alert_id = aa.alert_id \
                     LEFT JOIN cases c ON c.case_id = a.case_id \
                     WHERE aa.account_id = $1 AND a.day = $2 AND a.ts_utc >= $3 \
                     AND a.ts_utc <= $4 AND a.alert_id <> $5 ORDER BY a.ts_utc, a.alert_id",
                    account,
                )
                .await?,
        );
    }
    // A case being closed (or closed) takes no new alert: its close was decided without it.
    let case_found = candidates
        .iter()
        .find(|c| {
            c.case_id.is_some()
                && matches!(
                    c.case_state.as_deref(),
                    Some("new" | "assigned" | "escalated")
                )
        })
        .and_then(|c| c.case_id.clone());
    let partner = candidates
        .iter()
        .enumerate()
        .find(|(_, c)| c.case_id.is_none())
        .map(|(i, c)| (c.alert_id.clone(), i >= symbol_candidates));

    if let Some(case_id) = case_found {
        join_case(conn, head, actor, &case_id, &alert.alert_id).await?;
        return Ok(1);
    }
    let Some((partner, by_login)) = partner else {
        return Ok(0);
    };
    let case_id = case_id_of(&alert.alert_id);
    let title = if by_login {
        format!(
            "Shared login infrastructure: {} on {day}",
            alert.account_ids.join(", ")
        )
    } else {
        // Found through a shared symbol, so the alert names one.
        format!("Campaign in {} on {day}", alert.symbols.join(", "))
    };
    sqlx::query(
        "INSERT INTO cases (case_id, title, score, severity, severity_rank, first_ts_utc, \
         last_ts_utc, created_at, updated_at) VALUES ($1, $2, 0, 'low', 0, $3, $3, $4, $4)",
    )
    .bind(&case_id)
    .bind(&title)
    .bind(clock::utc_text(&alert.ts))
    .bind(head.at())
    .execute(&mut *conn)
    .await?;
    head.append(
        conn,
        actor,
        ("case", &case_id),
        "case.created",
        &json!(null),
        &json!({"title": title, "alerts": [partner, alert.alert_id]}),
    )
    .await?;
    join_case(conn, head, actor, &case_id, &partner).await?;
    join_case(conn, head, actor, &case_id, &alert.alert_id).await?;
    Ok(2)
}

/// Adds an alert to a case and raises the case's score, severity and time span to cover it.
/// Both versions move: a client that read the case (or the alert) before cannot close it
/// without seeing the newcomer.
async fn join_case(
    conn: &mut AnyConnection,
    head: &mut ChainHead,
    actor: &str,
    case_id: &str,
    alert_id: &str,
) -> Result<(), StoreError> {
    let row = sqlx::query(
        "SELECT score, severity, severity_rank, ts_utc FROM alerts WHERE alert_id = $1",
    )
    .bind(alert_id)
    .fetch_one(&mut *conn)
    .await?;
    let score: i64 = row.try_get("score")?;
    let severity: String = row.try_get("severity")?;
    let severity_rank: i64 = row.try_get("severity_rank")?;
    let ts_utc: String = row.try_get("ts_utc")?;
    sqlx::query("UPDATE alerts SET case_id = $1, version = version + 1 WHERE alert_id = $2")
        .bind(case_id)
        .bind(alert_id)
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "UPDATE cases SET \
         severity = CASE WHEN severity_rank < $2 THEN $3 ELSE severity END, \
         severity_rank = CASE WHEN severity_rank < $2 THEN $2 ELSE severity_rank END, \
         score = CASE WHEN score < $4 THEN $4 ELSE score END, \
         first_ts_utc = CASE WHEN first_ts_utc > $5 THEN $5 ELSE first_ts_utc END, \
         last_ts_utc = CASE WHEN last_ts_utc < $5 THEN $5 ELSE last_ts_utc END, \
         version = version + 1, updated_at = $6 WHERE case_id = $1",
    )
    .bind(case_id)
    .bind(severity_rank)
    .bind(&severity)
    .bind(score)
    .bind(&ts_utc)
    .bind(head.at())
    .execute(&mut *conn)
    .await?;
    head.append(
        conn,
        actor,
        ("case", case_id),
        "case.alert_added",
        &json!(null),
        &json!({"alert_id": alert_id}),
    )
    .await?;
    Ok(())
}

const CASE_COLUMNS: &str = "c.case_id, c.title, c.score, c.severity, c.first_ts_utc, \
    c.last_ts_utc, c.state, c.assignee, c.disposition, c.version, \
    (SELECT COUNT(*) FROM alerts a WHERE a.case_id = c.case_id) AS alert_count";

fn case_of(row: &sqlx::any::AnyRow) -> Result<CaseItem, StoreError> {
    Ok(CaseItem {
        case_id: row.try_get("case_id")?,
        title: row.try_get("title")?,
        score: row.try_get("score")?,
        severity: row.try_get("severity")?,
        first_ts_utc: row.try_get("first_ts_utc")?,
        last_ts_utc: row.try_get("last_ts_utc")?,
        state: row.try_get("state")?,
        assignee: row.try_get("assignee")?,
        disposition: row.try_get("disposition")?,
        version: row.try_get("version")?,
        alert_count: row.try_get("alert_count")?,
    })
}

impl Store {
    /// Cases, riskiest first, optionally in one state.
    pub async fn cases(
        &self,
        state: Option<&str>,
        page: i64,
        page_size: i64,
    ) -> Result<(Vec<CaseItem>, i64), StoreError> {
        if page < 1 || !(1..=crate::alerts::MAX_PAGE_SIZE).contains(&page_size) {
            return Err(StoreError::Invalid(format!(
                "page starts at 1, page_size is 1 to {}",
                crate::alerts::MAX_PAGE_SIZE
            )));
        }
        if let Some(state) = state {
            if !crate::alerts::STATES.contains(&state) {
                return Err(StoreError::Invalid(format!(
                    "state {state:?}: one of {}",
                    crate::alerts::STATES.join(", ")
                )));
            }
        }
        let offset = (page - 1).saturating_mul(page_size);
        let filter = if state.is_some() {
            "WHERE c.state = $1"
        } else {
            ""
        };
        let sql = format!(
            "SELECT {CASE_COLUMNS} FROM cases c {filter} \
             ORDER BY c.score DESC, c.last_ts_utc DESC, c.case_id LIMIT {page_size} OFFSET {offset}"
        );
        let mut query = sqlx::query(&sql);
        let count_sql = format!("SELECT COUNT(*) AS n FROM cases c {filter}");
        let mut count = sqlx::query(&count_sql);
        if let Some(state) = state {
            query = query.bind(state);
            count = count.bind(state);
        }
        let rows = query.fetch_all(self.pool()).await?;
        let items = rows.iter().map(case_of).collect::<Result<Vec<_>, _>>()?;
        let total: i64 = count.fetch_one(self.pool()).await?.try_get("n")?;
        Ok((items, total))
    }

    /// One case with its alerts, accounts, symbols and the executions between its accounts.
    pub async fn case(&self, case_id: &str) -> Result<CaseDetail, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {CASE_COLUMNS} FROM cases c WHERE c.case_id = $1"
        ))
        .bind(case_id)
        .fetch_optional(self.pool())
        .await?
        .ok_or_else(|| StoreError::NotFound {
            what: "case",
            id: case_id.to_string(),
        })?;
        let case = case_of(&row)?;
        let rows = sqlx::query(&format!(
            "SELECT {ITEM_COLUMNS} FROM alerts a WHERE a.case_id = $1 ORDER BY a.ts_utc, a.alert_id"
        ))
        .bind(case_id)
        .fetch_all(self.pool())
        .await?;
        let alerts = rows.iter().map(item_of).collect::<Result<Vec<_>, _>>()?;
        let mut accounts: Vec<String> = alerts.iter().flat_map(|a| a.account_ids.clone()).collect();
        accounts.sort();
        accounts.dedup();
        let mut symbols: Vec<String> = alerts.iter().flat_map(|a| a.symbols.clone()).collect();
        symbols.sort();
        symbols.dedup();
        let mut days: Vec<String> = Vec::new();
        for item in &alerts {
            if let Ok(ts) = pumpwatch_model::Timestamp::parse(&item.ts) {
                days.push(clock::day_text(&ts));
            }
        }
        days.sort();
        days.dedup();
        let mut links = Vec::new();
        for day in &days {
            links.extend(self.links_of(day, &accounts, &symbols).await?);
        }
        Ok(CaseDetail {
            case,
            alerts,
            accounts,
            symbols,
            links,
        })
    }
}
