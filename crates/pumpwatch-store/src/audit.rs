//! The audit log: every change (who, when, what, before and after) as an append-only row,
//! each chained to the one before by SHA-256, so that an edited, removed or inserted entry
//! breaks the chain and [`Store::verify_audit`] finds it.
//!
//! The database refuses UPDATE and DELETE on `audit_log` (triggers in the migrations). A
//! writer first takes the chain's head row (`audit_head`) with a write, which serializes
//! appenders in both databases, appends its entries and moves the head in the same
//! transaction.

use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use sqlx::{AnyConnection, Row};
use utoipa::ToSchema;

use crate::{clock, Store, StoreError};

/// One entry of the audit log.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct AuditEntry {
    /// Position in the chain, from 1, without gaps.
    pub seq: i64,
    /// When the change was made (UTC).
    pub at: String,
    /// The user (or `system:NAME` for the store's own changes) who made it.
    pub actor: String,
    /// `alert`, `case`, `user`, `token` or `ingest`.
    pub entity_type: String,
    pub entity_id: String,
    /// What was done, e.g. `assign`, `close`, `case.created`.
    pub action: String,
    /// The item's fields before the change (any JSON; null when it was created).
    pub before: Value,
    /// The item's fields after the change (any JSON).
    pub after: Value,
    pub prev_hash: String,
    pub hash: String,
}

/// The chain's head, held for the rest of a transaction: entries appended through it get
/// consecutive sequence numbers.
#[derive(Debug)]
pub(crate) struct ChainHead {
    seq: i64,
    hash: String,
    at: String,
}

/// The SHA-256 of an entry's fields, as the chain links them: its sequence number, then
/// `[at, actor, entity_type, entity_id, action, before, after, prev_hash]`.
fn entry_hash(seq: i64, fields: [&str; 8]) -> String {
    let [at, actor, entity_type, entity_id, action, before, after, prev_hash] = fields;
    let canonical = serde_json::json!([
        seq,
        at,
        actor,
        entity_type,
        entity_id,
        action,
        before,
        after,
        prev_hash
    ]);
    let digest = Sha256::digest(canonical.to_string().as_bytes());
    hex(&digest)
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}

impl ChainHead {
    /// Takes the head with a write (the first statement of the transaction, so SQLite takes
    /// its write lock at once and waits on a busy store rather than failing).
    pub(crate) async fn take(conn: &mut AnyConnection) -> Result<ChainHead, StoreError> {
        let row = sqlx::query("UPDATE audit_head SET seq = seq WHERE id = 1 RETURNING seq, hash")
            .fetch_one(&mut *conn)
            .await?;
        Ok(ChainHead {
            seq: row.try_get("seq")?,
            hash: row.try_get("hash")?,
            at: clock::now(),
        })
    }

    /// When the changes of this transaction are recorded as made.
    pub(crate) fn at(&self) -> &str {
        &self.at
    }

    /// Appends one entry.
    pub(crate) async fn append(
        &mut self,
        conn: &mut AnyConnection,
        actor: &str,
        entity: (&str, &str),
        action: &str,
        before: &Value,
        after: &Value,
    ) -> Result<AuditEntry, StoreError> {
        let seq = self.seq + 1;
        let before_text = before.to_string();
        let after_text = after.to_string();
        let hash = entry_hash(
            seq,
            [
                &self.at,
                actor,
                entity.0,
                entity.1,
                action,
                &before_text,
                &after_text,
                &self.hash,
            ],
        );
        sqlx::query(
            "INSERT INTO audit_log (seq, at, actor, entity_type, entity_id, action, before, after, \
             prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(seq)
        .bind(&self.at)
        .bind(actor)
        .bind(entity.0)
        .bind(entity.1)
        .bind(action)
        .bind(&before_text)
        .bind(&after_text)
        .bind(&self.hash)
        .bind(&hash)
        .execute(&mut *conn)
        .await?;
        let entry = AuditEntry {
            seq,
            at: self.at.clone(),
            actor: actor.to_string(),
            entity_type: entity.0.to_string(),
            entity_id: entity.1.to_string(),
            action: action.to_string(),
            before: before.clone(),
            after: after.clone(),
            prev_hash: std::mem::replace(&mut self.hash, hash.clone()),
            hash,
        };
        self.seq = seq;
        Ok(entry)
    }

    /// Moves the stored head to the last appended entry.
    pub(crate) async fn finish(self, conn: &mut AnyConnection) -> Result<(), StoreError> {
        sqlx::query("UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1")
            .bind(self.seq)
            .bind(&self.hash)
            .execute(&mut *conn)
            .await?;
        Ok(())
    }
}

/// The outcome of checking the whole chain.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct AuditVerification {
    /// Entries checked.
    pub entries: i64,
    /// Whether every entry links to the one before and hashes to its stored hash.
    pub intact: bool,
    /// The first entry where the chain breaks, and why.
    pub broken_at: Option<i64>,
    pub problem: Option<String>,
}

fn entry_of(row: &sqlx::any::AnyRow) -> Result<(AuditEntry, String, String), StoreError> {
    let before: String = row.try_get("before")?;
    let after: String = row.try_get("after")?;
    let entry = AuditEntry {
        seq: row.try_get("seq")?,
        at: row.try_get("at")?,
        actor: row.try_get("actor")?,
        entity_type: row.try_get("entity_type")?,
        entity_id: row.try_get("entity_id")?,
        action: row.try_get("action")?,
        before: serde_json::from_str(&before).unwrap_or(Value::String(before.clone())),
        after: serde_json::from_str(&after).unwrap_or(Value::String(after.clone())),
        prev_hash: row.try_get("prev_hash")?,
        hash: row.try_get("hash")?,
    };
    Ok((entry, before, after))
}

const ENTRY_COLUMNS: &str =
    "seq, at, actor, entity_type, entity_id, action, before, after, prev_hash, hash";

impl Store {
    /// Entries about one entity (or all with `entity` `None`), oldest first, after `after_seq`.
    pub async fn audit_entries(
        &self,
        entity: Option<(&str, &str)>,
        after_seq: i64,
        limit: i64,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        self.audit_page(entity, after_seq, limit, "ASC").await
    }

    /// The newest `limit` entries (about one entity, or all), newest first.
    pub async fn audit_latest(
        &self,
        entity: Option<(&str, &str)>,
        limit: i64,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        self.audit_page(entity, 0, limit, "DESC").await
    }

    /// Entries after `after_seq`, about one entity or all, in sequence order `ASC` or `DESC`.
    async fn audit_page(
        &self,
        entity: Option<(&str, &str)>,
        after_seq: i64,
        limit: i64,
        order: &'static str,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let (kind, id) = entity.unwrap_or_default();
        let about = if entity.is_some() {
            "entity_type = $3 AND entity_id = $4"
        } else {
            "$3 = $4"
        };
        let rows = sqlx::query(&format!(
            "SELECT {ENTRY_COLUMNS} FROM audit_log WHERE seq > $1 AND {about} \
             ORDER BY seq {order} LIMIT $2"
        ))
        .bind(after_seq)
        .bind(limit)
        .bind(kind)
        .bind(id)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(|row| entry_of(row).map(|e| e.0)).collect()
    }

    /// Walks the whole chain: sequence without gaps, each entry's `prev_hash` the hash before,
    /// each hash recomputed from the fields, and the head at the last entry. The head is read
    /// first and the chain checked up to it, so changes committed while it runs (entries past
    /// that head) are left to the next check rather than taken for tampering.
    pub async fn verify_audit(&self) -> Result<AuditVerification, StoreError> {
        const PAGE: i64 = 5_000;
        let head = sqlx::query("SELECT seq, hash FROM audit_head WHERE id = 1")
            .fetch_one(self.pool())
            .await?;
        let head_seq: i64 = head.try_get("seq")?;
        let head_hash: String = head.try_get("hash")?;
        let mut expected_prev = "0".repeat(64);
        let mut last_seq = 0i64;
        let broken = |seq: i64, problem: String, entries: i64| AuditVerification {
            entries,
            intact: false,
            broken_at: Some(seq),
            problem: Some(problem),
        };
        loop {
            let rows = sqlx::query(&format!(
                "SELECT {ENTRY_COLUMNS} FROM audit_log WHERE seq > $1 AND seq <= $2 \
                 ORDER BY seq LIMIT $3"
            ))
            .bind(last_seq)
            .bind(head_seq)
            .bind(PAGE)
            .fetch_all(self.pool())
            .await?;
            for row in &rows {
                let (entry, before, after) = entry_of(row)?;
                if entry.seq != last_seq + 1 {
                    return Ok(broken(
                        last_seq + 1,
                        format!("entry {} is missing (next is {})", last_seq + 1, entry.seq),
                        last_seq,
                    ));
                }
                if entry.prev_hash != expected_prev {
                    return Ok(broken(
                        entry.seq,
                        format!("entry {} does not link to the entry before it", entry.seq),
                        last_seq,
                    ));
                }
                let recomputed = entry_hash(
                    entry.seq,
                    [
                        &entry.at,
                        &entry.actor,
                        &entry.entity_type,
                        &entry.entity_id,
                        &entry.action,
                        &before,
                        &after,
                        &entry.prev_hash,
                    ],
                );
                if recomputed != entry.hash {
                    return Ok(broken(
                        entry.seq,
                        format!(
                            "entry {} was altered: its content does not give its hash",
                            entry.seq
                        ),
                        last_seq,
                    ));
                }
                expected_prev = entry.hash;
                last_seq = entry.seq;
            }
            if (rows.len() as i64) < PAGE {
                break;
            }
        }
        if head_seq != last_seq || head_hash != expected_prev {
            return Ok(broken(
                last_seq + 1,
                format!(
                    "the chain's head says {head_seq} entries but the log ends at {last_seq}: \
                     entries were removed from the end"
                ),
                last_seq,
            ));
        }
        Ok(AuditVerification {
            entries: last_seq,
            intact: true,
            broken_at: None,
            problem: None,
        })
    }
}
