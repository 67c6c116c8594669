//! The alert store: where alerts land for analysts to work them, on embedded SQLite
//! (`sqlite://FILE`, the default) or PostgreSQL (`postgres://...`) with one schema.
//!
//! - [`alerts`]: idempotent ingest keyed by `alert_id`, the queue (filters, sort, paging,
//!   counts per state) and an alert's record;
//! - [`cases`]: alerts of one campaign grouped into a case at ingest;
//! - [`context`]: what an alert page shows beside the alert (holdings, the symbol's day,
//!   executions between accounts);
//! - [`workflow`]: assign, comment, escalate, close, approve, reopen, with roles and
//!   optimistic concurrency;
//! - [`users`]: users, argon2 passwords, API tokens and browser sessions;
//! - [`audit`]: the append-only, hash-chained audit log and its verification.
//!
//! Both databases are reached through sqlx's `Any` driver with the same SQL (`$n`
//! placeholders, `ON CONFLICT`, `RETURNING`); only the migrations are per dialect, because
//! the triggers that make the audit log append-only are.

pub mod alerts;
pub mod audit;
pub mod cases;
mod clock;
pub mod context;
mod error;
mod url;
pub mod users;
pub mod workflow;

use std::sync::Once;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::migrate::Migrator;
use sqlx::{AnyPool, Executor};

pub use clock::{day_text, utc_text, utc_text_of_nanos};
pub use error::StoreError;
pub use url::{Backend, StoreUrl};

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("migrations/postgres");

/// A connection pool to one alert store, migrated to the current schema.
#[derive(Clone, Debug)]
pub struct Store {
    pool: AnyPool,
}

impl Store {
    /// Connects to the store at `url` (creating an SQLite file when missing) and applies the
    /// migrations it lacks.
    pub async fn open(url: &str) -> Result<Store, StoreError> {
        let url = StoreUrl::parse(url)?;
        static DRIVERS: Once = Once::new();
        DRIVERS.call_once(sqlx::any::install_default_drivers);
        let options: AnyConnectOptions = url
            .connect_url()
            .parse()
            .map_err(|err: sqlx::Error| StoreError::Url(format!("{}: {err}", url.shown())))?;
        let backend = url.backend();
        let pool = AnyPoolOptions::new()
            .max_connections(match backend {
                Backend::Sqlite => 4,
                Backend::Postgres => 8,
            })
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        conn.execute(
                            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                             PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 30000;",
                        )
                        .await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await
            .map_err(|err| StoreError::Connect {
                url: url.shown(),
                source: err,
            })?;
        let migrator = match backend {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        };
        // Two processes opening a new SQLite store at once both try the first migration; the
        // loser finds the schema made and, on a retry, the migration recorded. (PostgreSQL
        // migrations take an advisory lock and never race.)
        let mut attempt = 0;
        loop {
            match migrator.run(&pool).await {
                Ok(()) => break,
                Err(_) if backend == Backend::Sqlite && attempt < 5 => {
                    attempt += 1;
                    tokio::time::sleep(std::time::Duration::from_millis(100 * attempt)).await;
                }
                Err(err) => return Err(err.into()),
            }
        }
        Ok(Store { pool })
    }

    pub(crate) fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Whether the database answers.
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").fetch_one(&self.pool).await?;
        Ok(())
    }

    /// Closes the pool, waiting for connections to be returned.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}
