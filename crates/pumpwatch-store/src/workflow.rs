//! The workflow an alert or a case goes through, the same for both:
//!
//! ```text
//! new ──assign──► assigned ──escalate──► escalated
//!  │                 │                      │
//!  └────────close────┴──────────close───────┘──► closed ──reopen (supervisor)──► assigned/new
//!        (an analyst closing a high or critical item: pending_approval ──approve──► closed
//!                                                                     └─reject──► assigned)
//! ```
//!
//! Roles: an analyst works items assigned to them or to nobody (and may take an unassigned
//! one); a supervisor may also reassign, reopen, approve or reject a pending close, and close
//! a high or critical item at once; an admin manages users and tokens and, like a
//! supervisor, may act on any item. Every change carries the version the client saw
//! (optimistic concurrency: a stale version is refused, never overwritten), bumps it, and
//! lands in the audit log with the item's state before and after, in one transaction.
//! Closing a case closes its open alerts with the same disposition.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sqlx::{AnyConnection, Row};
use utoipa::ToSchema;

use crate::audit::ChainHead;
use crate::users::{Role, User};
use crate::{Store, StoreError};

/// What a closed item turned out to be.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Disposition {
    FalsePositive,
    CustomerNotified,
    OrdersHeld,
    ReportedToRegulator,
}

impl Disposition {
    pub fn as_str(self) -> &'static str {
        match self {
            Disposition::FalsePositive => "false_positive",
            Disposition::CustomerNotified => "customer_notified",
            Disposition::OrdersHeld => "orders_held",
            Disposition::ReportedToRegulator => "reported_to_regulator",
        }
    }
}

/// The kind of item a change applies to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Entity {
    Alert,
    Case,
}

impl Entity {
    pub fn as_str(self) -> &'static str {
        match self {
            Entity::Alert => "alert",
            Entity::Case => "case",
        }
    }

    fn table(self) -> &'static str {
        match self {
            Entity::Alert => "alerts",
            Entity::Case => "cases",
        }
    }

    fn id_column(self) -> &'static str {
        match self {
            Entity::Alert => "alert_id",
            Entity::Case => "case_id",
        }
    }
}

/// A change asked of the workflow.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Change {
    /// Assign to a user (an analyst may only take an unassigned item for themselves).
    Assign {
        #[schema(pattern = r"^[A-Za-z0-9._@-]{1,64}$")]
        assignee: String,
    },
    /// Hand up to a supervisor, with why.
    Escalate {
        #[schema(min_length = 1, max_length = 4000, pattern = r"\S")]
        reason: String,
    },
    /// Close with a disposition and a mandatory reason.
    Close {
        disposition: Disposition,
        reason: String,
    },
    /// Approve a pending close (supervisor).
    Approve,
    /// Send a pending close back (supervisor), with why.
    Reject {
        #[schema(min_length = 1, max_length = 4000, pattern = r"\S")]
        reason: String,
    },
    /// Reopen a closed item (supervisor), with why.
    Reopen {
        #[schema(min_length = 1, max_length = 4000, pattern = r"\S")]
        reason: String,
    },
}

impl Change {
    fn name(&self) -> &'static str {
        match self {
            Change::Assign { .. } => "assign",
            Change::Escalate { .. } => "escalate",
            Change::Close { .. } => "close",
            Change::Approve => "approve",
            Change::Reject { .. } => "reject",
            Change::Reopen { .. } => "reopen",
        }
    }
}

/// An item's workflow fields.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, ToSchema)]
pub struct WorkState {
    pub state: String,
    pub assignee: Option<String>,
    pub disposition: Option<String>,
    pub pending_disposition: Option<String>,
    pub pending_reason: Option<String>,
    pub pending_by: Option<String>,
    pub severity: String,
    pub version: i64,
}

impl WorkState {
    fn audit_json(&self) -> Value {
        json!({
            "state": self.state,
            "assignee": self.assignee,
            "disposition": self.disposition,
            "pending_disposition": self.pending_disposition,
            "version": self.version,
        })
    }

    fn high_stakes(&self) -> bool {
        matches!(self.severity.as_str(), "high" | "critical")
    }
}

/// A comment on an item.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, ToSchema)]
pub struct Comment {
    pub comment_id: String,
    pub author: String,
    pub at: String,
    pub body: String,
}

fn forbidden(text: impl Into<String>) -> StoreError {
    StoreError::Forbidden(text.into())
}

fn invalid_transition(text: impl Into<String>) -> StoreError {
    StoreError::InvalidTransition(text.into())
}

fn need_reason(reason: &str, what: &str) -> Result<(), StoreError> {
    if reason.trim().is_empty() {
        return Err(StoreError::Invalid(format!("{what} needs a reason")));
    }
    if reason.len() > 4000 {
        return Err(StoreError::Invalid(
            "a reason may have at most 4000 bytes".into(),
        ));
    }
    Ok(())
}

fn is_supervisor(user: &User) -> bool {
    matches!(user.role, Role::Supervisor | Role::Admin)
}

/// What the change makes of the item, or why it may not be made. Pure: the rules of the
/// workflow in one place.
fn apply(current: &WorkState, change: &Change, user: &User) -> Result<WorkState, StoreError> {
    let mut next = current.clone();
    let open = current.state != "closed";
    let mine_or_free =
        current.assignee.is_none() || current.assignee.as_deref() == Some(&user.name);
    if !is_supervisor(user) && !mine_or_free {
        return Err(forbidden(format!(
            "assigned to {}: an analyst works only their own or unassigned items",
            current.assignee.as_deref().unwrap_or("")
        )));
    }
    match change {
        Change::Assign { assignee } => {
            if !open {
                return Err(invalid_transition(
                    "a closed item is reopened, not assigned",
                ));
            }
            if current.state == "pending_approval" {
                return Err(invalid_transition(
                    "a close awaits approval: approve or reject it first",
                ));
            }
            if !is_supervisor(user) && (assignee != &user.name || current.assignee.is_some()) {
                return Err(forbidden(
                    "an analyst may only take an unassigned item for themselves",
                ));
            }
            next.assignee = Some(assignee.clone());
            if current.state == "new" {
                next.state = "assigned".into();
            }
        }
        Change::Escalate { reason } => {
            need_reason(reason, "an escalation")?;
            if !matches!(current.state.as_str(), "new" | "assigned") {
                return Err(invalid_transition(format!(
                    "cannot escalate an item that is {}",
                    current.state
                )));
            }
            next.state = "escalated".into();
        }
        Change::Close {
            disposition,
            reason,
        } => {
            need_reason(reason, "closing")?;
            if !open || current.state == "pending_approval" {
                return Err(invalid_transition(format!(
                    "cannot close an item that is {}",
                    current.state
                )));
            }
            if current.high_stakes() && !is_supervisor(user) {
                next.state = "pending_approval".into();
                next.pending_disposition = Some(disposition.as_str().into());
                next.pending_reason = Some(reason.clone());
                next.pending_by = Some(user.name.clone());
            } else {
                next.state = "closed".into();
                next.disposition = Some(disposition.as_str().into());
            }
        }
        Change::Approve | Change::Reject { .. } => {
            if !is_supervisor(user) {
                return Err(forbidden("only a supervisor approves or rejects a close"));
            }
            if current.state != "pending_approval" {
                return Err(invalid_transition("nothing awaits approval"));
            }
            if let Change::Reject { reason } = change {
                need_reason(reason, "a rejection")?;
                next.state = if current.assignee.is_some() {
                    "assigned"
                } else {
                    "new"
                }
                .into();
            } else {
                next.state = "closed".into();
                next.disposition = current.pending_disposition.clone();
            }
            next.pending_disposition = None;
            next.pending_reason = None;
            next.pending_by = None;
        }
        Change::Reopen { reason } => {
            need_reason(reason, "reopening")?;
            if !is_supervisor(user) {
                return Err(forbidden("only a supervisor reopens a closed item"));
            }
            if open {
                return Err(invalid_transition("the item is not closed"));
            }
            next.state = if current.assignee.is_some() {
                "assigned"
            } else {
                "new"
            }
            .into();
            next.disposition = None;
        }
    }
    next.version = current.version + 1;
    Ok(next)
}

const WORK_COLUMNS: &str =
    "state, assignee, disposition, pending_disposition, pending_reason, pending_by, severity, version";

fn work_state_of(row: &sqlx::any::AnyRow) -> Result<WorkState, StoreError> {
    Ok(WorkState {
        state: row.try_get("state")?,
        assignee: row.try_get("assignee")?,
        disposition: row.try_get("disposition")?,
        pending_disposition: row.try_get("pending_disposition")?,
        pending_reason: row.try_get("pending_reason")?,
        pending_by: row.try_get("pending_by")?,
        severity: row.try_get("severity")?,
        version: row.try_get("version")?,
    })
}

async fn load(conn: &mut AnyConnection, entity: Entity, id: &str) -> Result<WorkState, StoreError> {
    let row = sqlx::query(&format!(
        "SELECT {WORK_COLUMNS} FROM {} WHERE {} = $1",
        entity.table(),
        entity.id_column()
    ))
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(|| StoreError::NotFound {
        what: entity.as_str(),
        id: id.to_string(),
    })?;
    work_state_of(&row)
}

/// Writes `next` over the row only if it is still at `expected` version.
async fn store(
    conn: &mut AnyConnection,
    entity: Entity,
    id: &str,
    expected: i64,
    next: &WorkState,
    at: &str,
) -> Result<(), StoreError> {
    let changed = sqlx::query(&format!(
        "UPDATE {} SET state = $1, assignee = $2, disposition = $3, pending_disposition = $4, \
         pending_reason = $5, pending_by = $6, version = $7, updated_at = $8 \
         WHERE {} = $9 AND version = $10",
        entity.table(),
        entity.id_column()
    ))
    .bind(&next.state)
    .bind(next.assignee.as_deref())
    .bind(next.disposition.as_deref())
    .bind(next.pending_disposition.as_deref())
    .bind(next.pending_reason.as_deref())
    .bind(next.pending_by.as_deref())
    .bind(next.version)
    .bind(at)
    .bind(id)
    .bind(expected)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if changed == 0 {
        let current = load(conn, entity, id).await?;
        return Err(StoreError::VersionConflict {
            what: entity.as_str(),
            id: id.to_string(),
            expected,
            current: current.version,
        });
    }
    Ok(())
}

fn reason_of(change: &Change) -> Option<&str> {
    match change {
        Change::Escalate { reason }
        | Change::Close { reason, .. }
        | Change::Reject { reason }
        | Change::Reopen { reason } => Some(reason),
        Change::Assign { .. } | Change::Approve => None,
    }
}

impl Store {
    /// Applies a change to an alert or case the client saw at `version`; returns its new
    /// workflow state.
    pub async fn change(
        &self,
        user: &User,
        entity: Entity,
        id: &str,
        version: i64,
        change: &Change,
    ) -> Result<WorkState, StoreError> {
        if let Change::Assign { assignee } = change {
            let target = self.user(assignee).await.map_err(|err| match err {
                StoreError::NotFound { .. } => StoreError::Invalid(format!("no user {assignee}")),
                other => other,
            })?;
            if target.disabled {
                return Err(StoreError::Invalid(format!("user {assignee} is disabled")));
            }
        }
        let mut tx = self.pool().begin().await?;
        let mut head = ChainHead::take(&mut tx).await?;
        let current = load(&mut tx, entity, id).await?;
        if current.version != version {
            return Err(StoreError::VersionConflict {
                what: entity.as_str(),
                id: id.to_string(),
                expected: version,
                current: current.version,
            });
        }
        let next = apply(&current, change, user)?;
        let at = head.at().to_string();
        store(&mut tx, entity, id, version, &next, &at).await?;
        let mut after = next.audit_json();
        if let Some(reason) = reason_of(change) {
            after["reason"] = json!(reason);
        }
        head.append(
            &mut tx,
            &user.name,
            (entity.as_str(), id),
            change.name(),
            &current.audit_json(),
            &after,
        )
        .await?;
        if entity == Entity::Case && next.state == "closed" {
            close_case_alerts(&mut tx, &mut head, user, id, &next, &at).await?;
        }
        head.finish(&mut tx).await?;
        tx.commit().await?;
        Ok(next)
    }

    /// Adds a comment to an alert or case.
    pub async fn comment(
        &self,
        user: &User,
        entity: Entity,
        id: &str,
        body: &str,
    ) -> Result<Comment, StoreError> {
        if body.trim().is_empty() {
            return Err(StoreError::Invalid("an empty comment".into()));
        }
        if body.len() > 16_000 {
            return Err(StoreError::Invalid(
                "a comment may have at most 16000 bytes".into(),
            ));
        }
        let mut tx = self.pool().begin().await?;
        let mut head = ChainHead::take(&mut tx).await?;
        load(&mut tx, entity, id).await?;
        let comment = Comment {
            comment_id: format!("{}-{}", entity.as_str(), crate::users::random_hex(8)),
            author: user.name.clone(),
            at: head.at().to_string(),
            body: body.to_string(),
        };
        sqlx::query(
            "INSERT INTO comments (comment_id, entity_type, entity_id, author, at, body) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&comment.comment_id)
        .bind(entity.as_str())
        .bind(id)
        .bind(&comment.author)
        .bind(&comment.at)
        .bind(&comment.body)
        .execute(&mut *tx)
        .await?;
        head.append(
            &mut tx,
            &user.name,
            (entity.as_str(), id),
            "comment",
            &json!(null),
            &json!({"comment_id": comment.comment_id, "body": body}),
        )
        .await?;
        head.finish(&mut tx).await?;
        tx.commit().await?;
        Ok(comment)
    }

    /// An item's comments, oldest first.
    pub async fn comments(&self, entity: Entity, id: &str) -> Result<Vec<Comment>, StoreError> {
        let rows = sqlx::query(
            "SELECT comment_id, author, at, body FROM comments WHERE entity_type = $1 AND entity_id = $2 \
             ORDER BY at, comment_id",
        )
        .bind(entity.as_str())
        .bind(id)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| {
                Ok(Comment {
                    comment_id: row.try_get("comment_id")?,
                    author: row.try_get("author")?,
                    at: row.try_get("at")?,
                    body: row.try_get("body")?,
                })
            })
            .collect()
    }

    /// An item's workflow state.
    pub async fn work_state(&self, entity: Entity, id: &str) -> Result<WorkState, StoreError> {
        let mut conn = self.pool().acquire().await?;
        load(&mut conn, entity, id).await
    }
}

/// Closes the open alerts of a closed case with the case's disposition.
async fn close_case_alerts(
    conn: &mut AnyConnection,
    head: &mut ChainHead,
    user: &User,
    case_id: &str,
    case: &WorkState,
    at: &str,
) -> Result<(), StoreError> {
    let rows = sqlx::query(
        "SELECT alert_id FROM alerts WHERE case_id = $1 AND state <> 'closed' ORDER BY alert_id",
    )
    .bind(case_id)
    .fetch_all(&mut *conn)
    .await?;
    for row in rows {
        let alert_id: String = row.try_get("alert_id")?;
        let current = load(conn, Entity::Alert, &alert_id).await?;
        if !is_supervisor(user) {
            // An analyst's close of a case reaches only alerts they could close themselves.
            if current.assignee.as_ref().is_some_and(|a| *a != user.name) {
                return Err(forbidden(format!(
                    "alert {alert_id} of the case is assigned to {}: a supervisor closes this case",
                    current.assignee.as_deref().unwrap_or("")
                )));
            }
            if current.state == "pending_approval" {
                return Err(forbidden(format!(
                    "alert {alert_id} of the case awaits a supervisor's approval to close"
                )));
            }
        }
        let mut next = current.clone();
        next.state = "closed".into();
        next.disposition = case.disposition.clone();
        next.pending_disposition = None;
        next.pending_reason = None;
        next.pending_by = None;
        next.version = current.version + 1;
        store(conn, Entity::Alert, &alert_id, current.version, &next, at).await?;
        let mut after = next.audit_json();
        after["reason"] = json!(format!("closed with case {case_id}"));
        head.append(
            conn,
            &user.name,
            ("alert", &alert_id),
            "close",
            &current.audit_json(),
            &after,
        )
        .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(name: &str, role: Role) -> User {
        User {
            name: name.into(),
            role,
            disabled: false,
            has_password: true,
            created_at: String::new(),
        }
    }

    fn state(state: &str, assignee: Option<&str>, severity: &str) -> WorkState {
        WorkState {
            state: state.into(),
            assignee: assignee.map(str::to_string),
            disposition: None,
            pending_disposition: None,
            pending_reason: None,
            pending_by: None,
            severity: severity.into(),
            version: 3,
        }
    }

    fn close() -> Change {
        Change::Close {
            disposition: Disposition::OrdersHeld,
            reason: "held the buys".into(),
        }
    }

    #[test]
    fn an_analyst_takes_free_items_only_for_themselves() {
        let ann = user("ann", Role::Analyst);
        let next = apply(
            &state("new", None, "low"),
            &Change::Assign {
                assignee: "ann".into(),
            },
            &ann,
        )
        .unwrap();
        assert_eq!(
            (next.state.as_str(), next.assignee.as_deref(), next.version),
            ("assigned", Some("ann"), 4)
        );
        let err = apply(
            &state("new", None, "low"),
            &Change::Assign {
                assignee: "bob".into(),
            },
            &ann,
        )
        .unwrap_err();
        assert!(matches!(err, StoreError::Forbidden(_)), "{err}");
        let err = apply(&state("assigned", Some("bob"), "low"), &close(), &ann).unwrap_err();
        assert!(matches!(err, StoreError::Forbidden(_)), "{err}");
        let sue = user("sue", Role::Supervisor);
        let next = apply(
            &state("assigned", Some("bob"), "low"),
            &Change::Assign {
                assignee: "ann".into(),
            },
            &sue,
        )
        .unwrap();
        assert_eq!(next.assignee.as_deref(), Some("ann"));
    }

    #[test]
    fn closing_a_high_item_needs_a_supervisor_and_a_reason() {
        let ann = user("ann", Role::Analyst);
        let sue = user("sue", Role::Supervisor);
        let low = apply(&state("assigned", Some("ann"), "low"), &close(), &ann).unwrap();
        assert_eq!(
            (low.state.as_str(), low.disposition.as_deref()),
            ("closed", Some("orders_held"))
        );
        let pending = apply(&state("assigned", Some("ann"), "critical"), &close(), &ann).unwrap();
        assert_eq!(pending.state, "pending_approval");
        assert_eq!(pending.disposition, None);
        let err = apply(&pending, &Change::Approve, &ann).unwrap_err();
        assert!(matches!(err, StoreError::Forbidden(_)), "{err}");
        let closed = apply(&pending, &Change::Approve, &sue).unwrap();
        assert_eq!(
            (closed.state.as_str(), closed.disposition.as_deref()),
            ("closed", Some("orders_held"))
        );
        let rejected = apply(
            &pending,
            &Change::Reject {
                reason: "check the fills".into(),
            },
            &sue,
        )
        .unwrap();
        assert_eq!(rejected.state, "assigned");
        let no_reason = Change::Close {
            disposition: Disposition::FalsePositive,
            reason: "  ".into(),
        };
        let err = apply(&state("assigned", Some("ann"), "low"), &no_reason, &ann).unwrap_err();
        assert!(matches!(err, StoreError::Invalid(_)), "{err}");
    }

    #[test]
    fn only_a_supervisor_reopens_and_only_closed_items() {
        let ann = user("ann", Role::Analyst);
        let sue = user("sue", Role::Supervisor);
        let mut closed = state("closed", Some("ann"), "high");
        closed.disposition = Some("false_positive".into());
        let reopen = Change::Reopen {
            reason: "new evidence".into(),
        };
        assert!(matches!(
            apply(&closed, &reopen, &ann),
            Err(StoreError::Forbidden(_))
        ));
        let next = apply(&closed, &reopen, &sue).unwrap();
        assert_eq!((next.state.as_str(), next.disposition), ("assigned", None));
        assert!(matches!(
            apply(&state("new", None, "low"), &reopen, &sue),
            Err(StoreError::InvalidTransition(_))
        ));
        assert!(matches!(
            apply(&closed, &Change::Escalate { reason: "x".into() }, &sue),
            Err(StoreError::InvalidTransition(_))
        ));
    }
}
