//! What can go wrong in the store, each kind its own variant so the API can answer with the
//! right status.

/// A store operation's failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("store URL {0}")]
    Url(String),
    #[error("cannot connect to the store {url}: {source}")]
    Connect {
        url: String,
        #[source]
        source: sqlx::Error,
    },
    #[error("store migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("store: {0}")]
    Db(#[from] sqlx::Error),
    #[error("{what} {id} not found")]
    NotFound { what: &'static str, id: String },
    #[error("{what} {id} changed since version {expected}: it is at version {current}; reload and retry")]
    VersionConflict {
        what: &'static str,
        id: String,
        expected: i64,
        current: i64,
    },
    #[error("{0}")]
    InvalidTransition(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    AlreadyExists(String),
    #[error("stored data is damaged: {0}")]
    Corrupt(String),
}
