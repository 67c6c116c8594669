//! Users and how they prove who they are: argon2 password hashes for the browser, API tokens
//! for machine clients (only their SHA-256 is stored), and browser sessions with a CSRF token.
//! There is no default user and no default password.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};
use sqlx::Row;
use utoipa::ToSchema;

use crate::audit::{hex, ChainHead};
use crate::{clock, Store, StoreError};

/// What a user may do.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Works alerts and cases: their own and unassigned ones.
    Analyst,
    /// Also reassigns, reopens and approves the closing of high and critical items.
    Supervisor,
    /// Manages users and tokens.
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Analyst => "analyst",
            Role::Supervisor => "supervisor",
            Role::Admin => "admin",
        }
    }

    pub fn parse(text: &str) -> Result<Role, StoreError> {
        match text {
            "analyst" => Ok(Role::Analyst),
            "supervisor" => Ok(Role::Supervisor),
            "admin" => Ok(Role::Admin),
            other => Err(StoreError::Invalid(format!(
                "unknown role {other:?}: one of analyst, supervisor, admin"
            ))),
        }
    }
}

/// A user as others see it (never the password hash).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, ToSchema)]
pub struct User {
    pub name: String,
    pub role: Role,
    pub disabled: bool,
    pub has_password: bool,
    pub created_at: String,
}

/// A browser session: the user and the CSRF token its state-changing requests must carry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    pub user: User,
    pub csrf_token: String,
}

/// How long a browser session lasts.
const SESSION_HOURS: i64 = 12;

pub(crate) fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buf);
    hex(&buf)
}

fn sha256_hex(text: &str) -> String {
    hex(&Sha256::digest(text.as_bytes()))
}

/// A name users are known by: 1–64 of letters, digits, `.`, `_`, `-`, `@`.
fn check_name(name: &str) -> Result<(), StoreError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'));
    if ok {
        Ok(())
    } else {
        Err(StoreError::Invalid(format!(
            "user name {name:?}: 1-64 letters, digits, '.', '_', '-' or '@'"
        )))
    }
}

/// The rules a password must meet.
pub fn check_password(password: &str) -> Result<(), StoreError> {
    if password.chars().count() < 12 {
        return Err(StoreError::Invalid(
            "a password needs at least 12 characters".into(),
        ));
    }
    if password.len() > 1024 {
        return Err(StoreError::Invalid(
            "a password may have at most 1024 bytes".into(),
        ));
    }
    Ok(())
}

fn hash_password(password: &str) -> Result<String, StoreError> {
    check_password(password)?;
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|err| StoreError::Invalid(format!("cannot hash the password: {err}")))
}

fn user_of(row: &sqlx::any::AnyRow) -> Result<User, StoreError> {
    let role: String = row.try_get("role")?;
    let hash: Option<String> = row.try_get("password_hash")?;
    Ok(User {
        name: row.try_get("name")?,
        role: Role::parse(&role).map_err(|_| StoreError::Corrupt(format!("role {role:?}")))?,
        disabled: row.try_get::<i64, _>("disabled")? != 0,
        has_password: hash.is_some(),
        created_at: row.try_get("created_at")?,
    })
}

const USER_COLUMNS: &str = "name, role, password_hash, disabled, created_at";

impl Store {
    /// Creates a user with a first API token, which is returned (and shown only this once).
    pub async fn add_user(
        &self,
        actor: &str,
        name: &str,
        role: Role,
        password: Option<&str>,
    ) -> Result<(User, String), StoreError> {
        check_name(name)?;
        let password_hash = password.map(hash_password).transpose()?;
        let token = format!("pwt_{}", random_hex(24));
        let mut tx = self.pool().begin().await?;
        let mut head = ChainHead::take(&mut tx).await?;
        let inserted = sqlx::query(
            "INSERT INTO users (name, role, password_hash, disabled, created_at) \
             VALUES ($1, $2, $3, 0, $4) ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(role.as_str())
        .bind(password_hash.as_deref())
        .bind(head.at())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if inserted == 0 {
            return Err(StoreError::AlreadyExists(format!(
                "user {name} already exists"
            )));
        }
        sqlx::query(
            "INSERT INTO api_tokens (token_hash, user_name, label, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(sha256_hex(&token))
        .bind(name)
        .bind("first token")
        .bind(head.at())
        .execute(&mut *tx)
        .await?;
        let after = json!({"name": name, "role": role.as_str(), "password": password.is_some()});
        head.append(
            &mut tx,
            actor,
            ("user", name),
            "user.created",
            &json!(null),
            &after,
        )
        .await?;
        head.finish(&mut tx).await?;
        tx.commit().await?;
        let user = self.user(name).await?;
        Ok((user, token))
    }

    pub async fn user(&self, name: &str) -> Result<User, StoreError> {
        let row = sqlx::query(&format!("SELECT {USER_COLUMNS} FROM users WHERE name = $1"))
            .bind(name)
            .fetch_optional(self.pool())
            .await?
            .ok_or_else(|| StoreError::NotFound {
                what: "user",
                id: name.to_string(),
            })?;
        user_of(&row)
    }

    pub async fn users(&self) -> Result<Vec<User>, StoreError> {
        let rows = sqlx::query(&format!("SELECT {USER_COLUMNS} FROM users ORDER BY name"))
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(user_of).collect()
    }

    /// Sets (or replaces) a user's password.
    pub async fn set_password(
        &self,
        actor: &str,
        name: &str,
        password: &str,
    ) -> Result<(), StoreError> {
        let hash = hash_password(password)?;
        let mut tx = self.pool().begin().await?;
        let mut head = ChainHead::take(&mut tx).await?;
        let changed = sqlx::query("UPDATE users SET password_hash = $1 WHERE name = $2")
            .bind(&hash)
            .bind(name)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if changed == 0 {
            return Err(StoreError::NotFound {
                what: "user",
                id: name.to_string(),
            });
        }
        // Sessions opened with the old password end.
        sqlx::query("DELETE FROM sessions WHERE user_name = $1")
            .bind(name)
            .execute(&mut *tx)
            .await?;
        head.append(
            &mut tx,
            actor,
            ("user", name),
            "password.set",
            &json!(null),
            &json!(null),
        )
        .await?;
        head.finish(&mut tx).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Issues another API token for a user; returns it (shown only this once).
    pub async fn issue_token(
        &self,
        actor: &str,
        name: &str,
        label: &str,
    ) -> Result<String, StoreError> {
        let user = self.user(name).await?;
        let token = format!("pwt_{}", random_hex(24));
        let mut tx = self.pool().begin().await?;
        let mut head = ChainHead::take(&mut tx).await?;
        sqlx::query(
            "INSERT INTO api_tokens (token_hash, user_name, label, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(sha256_hex(&token))
        .bind(&user.name)
        .bind(label)
        .bind(head.at())
        .execute(&mut *tx)
        .await?;
        let after = json!({"label": label, "token_sha256_prefix": &sha256_hex(&token)[..12]});
        head.append(
            &mut tx,
            actor,
            ("user", name),
            "token.issued",
            &json!(null),
            &after,
        )
        .await?;
        head.finish(&mut tx).await?;
        tx.commit().await?;
        Ok(token)
    }

    /// Revokes every token of a user and ends their browser sessions.
    pub async fn revoke_tokens(&self, actor: &str, name: &str) -> Result<u64, StoreError> {
        let mut tx = self.pool().begin().await?;
        let mut head = ChainHead::take(&mut tx).await?;
        // Browser sessions end with the tokens: revoking is how a user is locked out.
        sqlx::query("DELETE FROM sessions WHERE user_name = $1")
            .bind(name)
            .execute(&mut *tx)
            .await?;
        let revoked = sqlx::query(
            "UPDATE api_tokens SET revoked_at = $1 WHERE user_name = $2 AND revoked_at IS NULL",
        )
        .bind(head.at().to_string())
        .bind(name)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        head.append(
            &mut tx,
            actor,
            ("user", name),
            "tokens.revoked",
            &json!(null),
            &json!({"revoked": revoked}),
        )
        .await?;
        head.finish(&mut tx).await?;
        tx.commit().await?;
        Ok(revoked)
    }

    /// The user an API token belongs to, if the token is valid, not revoked and its user enabled.
    pub async fn user_by_token(&self, token: &str) -> Result<Option<User>, StoreError> {
        let row = sqlx::query(
            "SELECT u.name, u.role, u.password_hash, u.disabled, u.created_at FROM api_tokens t \
             JOIN users u ON u.name = t.user_name WHERE t.token_hash = $1 AND t.revoked_at IS NULL",
        )
        .bind(sha256_hex(token))
        .fetch_optional(self.pool())
        .await?;
        let user = row.as_ref().map(user_of).transpose()?;
        Ok(user.filter(|user| !user.disabled))
    }

    /// Checks a name and password; `None` when either is wrong (the same answer for both).
    pub async fn check_login(
        &self,
        name: &str,
        password: &str,
    ) -> Result<Option<User>, StoreError> {
        let row = sqlx::query(&format!("SELECT {USER_COLUMNS} FROM users WHERE name = $1"))
            .bind(name)
            .fetch_optional(self.pool())
            .await?;
        let user = row.as_ref().map(user_of).transpose()?;
        let stored: Option<String> = match &row {
            Some(row) => row.try_get("password_hash")?,
            None => None,
        };
        // An unknown name or a token-only user costs the same work as a real check, so timing
        // does not tell them apart; the work runs off the async threads.
        let password = password.to_string();
        let name = name.to_string();
        let verified = tokio::task::spawn_blocking(move || -> Result<bool, StoreError> {
            let Some(stored) = stored else {
                let _ = hash_password("a-password-nobody-has-0000");
                return Ok(false);
            };
            let parsed = PasswordHash::new(&stored)
                .map_err(|err| StoreError::Corrupt(format!("password hash of {name}: {err}")))?;
            Ok(Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok())
        })
        .await
        .map_err(|err| StoreError::Invalid(format!("password check stopped: {err}")))??;
        Ok(user.filter(|user| verified && !user.disabled))
    }

    /// Opens a browser session; returns the cookie value and the session.
    pub async fn open_session(&self, user: &User) -> Result<(String, Session), StoreError> {
        let cookie = random_hex(32);
        let csrf_token = random_hex(24);
        let now = chrono::Utc::now();
        let expires = now + chrono::Duration::hours(SESSION_HOURS);
        sqlx::query(
            "INSERT INTO sessions (session_hash, user_name, csrf_token, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(sha256_hex(&cookie))
        .bind(&user.name)
        .bind(&csrf_token)
        .bind(clock::utc_text_of_nanos(
            now.timestamp_nanos_opt().unwrap_or(0),
        ))
        .bind(clock::utc_text_of_nanos(
            expires.timestamp_nanos_opt().unwrap_or(0),
        ))
        .execute(self.pool())
        .await?;
        Ok((
            cookie,
            Session {
                user: user.clone(),
                csrf_token,
            },
        ))
    }

    /// The live session a cookie value names.
    pub async fn session(&self, cookie: &str) -> Result<Option<Session>, StoreError> {
        let row = sqlx::query(
            "SELECT u.name, u.role, u.password_hash, u.disabled, u.created_at, s.csrf_token \
             FROM sessions s JOIN users u ON u.name = s.user_name \
             WHERE s.session_hash = $1 AND s.expires_at > $2",
        )
        .bind(sha256_hex(cookie))
        .bind(clock::now())
        .fetch_optional(self.pool())
        .await?;
        let Some(row) = row else { return Ok(None) };
        let user = user_of(&row)?;
        if user.disabled {
            return Ok(None);
        }
        Ok(Some(Session {
            user,
            csrf_token: row.try_get("csrf_token")?,
        }))
    }

    pub async fn close_session(&self, cookie: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM sessions WHERE session_hash = $1")
            .bind(sha256_hex(cookie))
            .execute(self.pool())
            .await?;
        Ok(())
    }
}
