//! A case's evidence bundle: its alerts (as the engine wrote them), one timeline of their
//! evidence, the accounts with their holdings, the executions between them, the comments and
//! the audit trail; as JSON and as a printable HTML report, the start of a
//! suspicious-transaction report.

use std::collections::BTreeMap;

use pumpwatch_store::audit::AuditEntry;
use pumpwatch_store::cases::CaseItem;
use pumpwatch_store::context::{AccountHoldings, ExecutionLink};
use pumpwatch_store::workflow::{Comment, Entity};
use pumpwatch_store::{Store, StoreError};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

/// One evidence item of any of the case's alerts, in time order.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TimelineEntry {
    pub ts: String,
    pub alert_id: String,
    #[schema(value_type = Object)]
    pub evidence: Value,
}

/// Everything a case rests on.
#[derive(Debug, Serialize, ToSchema)]
pub struct EvidenceBundle {
    pub case: CaseItem,
    /// Who exported it.
    pub exported_by: String,
    #[schema(value_type = Vec<Object>)]
    pub alerts: Vec<Value>,
    pub timeline: Vec<TimelineEntry>,
    pub accounts: Vec<String>,
    pub symbols: Vec<String>,
    pub holdings: Vec<AccountHoldings>,
    pub executions: Vec<ExecutionLink>,
    pub comments: Vec<Comment>,
    pub audit: Vec<AuditEntry>,
}

pub async fn bundle(
    store: &Store,
    case_id: &str,
    exported_by: &str,
) -> Result<EvidenceBundle, StoreError> {
    let detail = store.case(case_id).await?;
    let mut alerts = Vec::new();
    let mut timeline = Vec::new();
    let mut holdings: BTreeMap<String, AccountHoldings> = BTreeMap::new();
    let mut audit = store
        .audit_entries(Some(("case", case_id)), 0, 10_000)
        .await?;
    for item in &detail.alerts {
        let (_, body) = store.alert(&item.alert_id).await?;
        for evidence in body["evidence"].as_array().into_iter().flatten() {
            timeline.push(TimelineEntry {
                ts: evidence["ts"].as_str().unwrap_or_default().to_string(),
                alert_id: item.alert_id.clone(),
                evidence: evidence.clone(),
            });
        }
        for account in store.holdings(&item.alert_id).await? {
            holdings
                .entry(account.account_id.clone())
                .or_insert(account);
        }
        audit.extend(
            store
                .audit_entries(Some(("alert", &item.alert_id)), 0, 10_000)
                .await?,
        );
        alerts.push(body);
    }
    let instant = |text: &str| {
        pumpwatch_model::Timestamp::parse(text)
            .map(|t| t.utc_nanos)
            .unwrap_or(i64::MAX)
    };
    timeline.sort_by(|a, b| (instant(&a.ts), &a.alert_id).cmp(&(instant(&b.ts), &b.alert_id)));
    audit.sort_by_key(|entry| entry.seq);
    Ok(EvidenceBundle {
        case: detail.case,
        exported_by: exported_by.to_string(),
        alerts,
        timeline,
        accounts: detail.accounts,
        symbols: detail.symbols,
        holdings: holdings.into_values().collect(),
        executions: detail.links,
        comments: store.comments(Entity::Case, case_id).await?,
        audit,
    })
}

/// Escapes text for HTML.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn text(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The bundle as one printable page.
pub fn report_html(bundle: &EvidenceBundle) -> String {
    use std::fmt::Write as _;
    let case = &bundle.case;
    let mut html = String::new();
    let _ = write!(
        html,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Case {id}</title>\
         <style>body{{font:13px/1.45 system-ui,sans-serif;margin:2em;color:#111}}\
         table{{border-collapse:collapse;width:100%;margin:.5em 0 1.5em}}\
         th,td{{border:1px solid #bbb;padding:3px 6px;text-align:left;vertical-align:top}}\
         th{{background:#eee}}h1{{font-size:20px}}h2{{font-size:15px;margin-top:1.5em}}\
         @media print{{a{{color:inherit}}}}</style></head><body>\
         <h1>Case {id}: {title}</h1>\
         <p>Score {score}, severity {severity}; state {state}{disposition}; alerts {count}; \
         from {first} to {last} (UTC). Exported by {by}.</p>",
        id = escape(&case.case_id),
        title = escape(&case.title),
        score = case.score,
        severity = escape(&case.severity),
        state = escape(&case.state),
        disposition = case
            .disposition
            .as_deref()
            .map(|d| format!(", disposition {}", escape(d)))
            .unwrap_or_default(),
        count = case.alert_count,
        first = escape(&case.first_ts_utc),
        last = escape(&case.last_ts_utc),
        by = escape(&bundle.exported_by),
    );
    html.push_str("<h2>Alerts</h2><table><tr><th>alert</th><th>time</th><th>score</th><th>accounts</th><th>summary</th></tr>");
    for alert in &bundle.alerts {
        let _ = write!(
            html,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&text(&alert["alert_id"])),
            escape(&text(&alert["ts"])),
            escape(&text(&alert["score"])),
            escape(
                &alert["account_ids"]
                    .as_array()
                    .map(|a| a.iter().map(text).collect::<Vec<_>>().join(", "))
                    .unwrap_or_default()
            ),
            escape(&text(&alert["summary"])),
        );
    }
    html.push_str("</table><h2>Timeline</h2><table><tr><th>time</th><th>type</th><th>id</th><th>account</th><th>symbol</th><th>side</th><th>qty</th><th>price</th><th>note</th></tr>");
    for entry in &bundle.timeline {
        let e = &entry.evidence;
        let _ = write!(
            html,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&entry.ts),
            escape(&text(&e["type"])),
            escape(&text(&e["id"])),
            escape(&text(&e["account_id"])),
            escape(&text(&e["symbol"])),
            escape(&text(&e["side"])),
            escape(&text(&e["qty"])),
            escape(&text(&e["price"])),
            escape(&text(&e["note"])),
        );
    }
    html.push_str("</table><h2>Holdings</h2><table><tr><th>account</th><th>start of day</th><th>at the alert</th></tr>");
    for h in &bundle.holdings {
        let list = |items: &[pumpwatch_store::context::Holding]| {
            items
                .iter()
                .map(|i| format!("{} {}", i.symbol, i.qty))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let _ = write!(
            html,
            "<tr><td>{}</td><td>{} (cash {})</td><td>{} (cash {})</td></tr>",
            escape(&h.account_id),
            escape(&list(&h.start_of_day)),
            escape(h.cash_start_of_day.as_deref().unwrap_or("?")),
            escape(&list(&h.at_alert)),
            escape(h.cash_at_alert.as_deref().unwrap_or("?")),
        );
    }
    html.push_str("</table><h2>Executions between accounts</h2><table><tr><th>symbol</th><th>buyer</th><th>seller</th><th>qty</th><th>notional</th><th>fills</th><th>first</th><th>last</th></tr>");
    for l in &bundle.executions {
        let _ = write!(
            html,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&l.symbol),
            escape(&l.buyer),
            escape(&l.seller),
            l.qty,
            escape(&l.notional),
            l.fills,
            escape(&l.first_ts_utc),
            escape(&l.last_ts_utc),
        );
    }
    html.push_str(
        "</table><h2>Comments</h2><table><tr><th>when</th><th>who</th><th>comment</th></tr>",
    );
    for c in &bundle.comments {
        let _ = write!(
            html,
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&c.at),
            escape(&c.author),
            escape(&c.body)
        );
    }
    html.push_str("</table><h2>Audit trail</h2><table><tr><th>#</th><th>when</th><th>who</th><th>what</th><th>on</th><th>after</th></tr>");
    for a in &bundle.audit {
        let _ = write!(
            html,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{} {}</td><td>{}</td></tr>",
            a.seq,
            escape(&a.at),
            escape(&a.actor),
            escape(&a.action),
            escape(&a.entity_type),
            escape(&a.entity_id),
            escape(&a.after.to_string()),
        );
    }
    html.push_str("</table></body></html>\n");
    html
}
