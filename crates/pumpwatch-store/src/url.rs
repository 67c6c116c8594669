//! Store URLs: `sqlite://FILE` (created when missing) or `postgres://USER@HOST:PORT/DB`.

use crate::StoreError;

/// The database behind a store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A parsed store URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoreUrl {
    backend: Backend,
    url: String,
}

impl StoreUrl {
    pub fn parse(text: &str) -> Result<StoreUrl, StoreError> {
        let text = text.trim();
        if let Some(rest) = text
            .strip_prefix("sqlite://")
            .or_else(|| text.strip_prefix("sqlite:"))
        {
            if rest.is_empty() || rest.starts_with('?') {
                return Err(StoreError::Url(format!(
                    "{text}: an SQLite store needs a file, as in sqlite://alerts.db"
                )));
            }
            let url = if rest.contains('?') {
                format!("sqlite://{rest}")
            } else {
                format!("sqlite://{rest}?mode=rwc")
            };
            return Ok(StoreUrl {
                backend: Backend::Sqlite,
                url,
            });
        }
        if text.starts_with("postgres://") || text.starts_with("postgresql://") {
            return Ok(StoreUrl {
                backend: Backend::Postgres,
                url: text.to_string(),
            });
        }
        Err(StoreError::Url(format!(
            "{}: not a store URL; use sqlite://FILE or postgres://USER@HOST:PORT/DB",
            redact(text)
        )))
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub(crate) fn connect_url(&self) -> &str {
        &self.url
    }

    /// The URL as it may be printed: without a password.
    pub fn shown(&self) -> String {
        redact(&self.url)
    }
}

/// `scheme://user:secret@host` → `scheme://user:***@host`.
fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let Some((userinfo, host)) = rest.split_once('@') else {
        return url.to_string();
    };
    match userinfo.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_urls_get_create_mode_and_postgres_passwords_are_not_shown() {
        let url = StoreUrl::parse("sqlite://alerts.db").unwrap();
        assert_eq!(url.backend(), Backend::Sqlite);
        assert_eq!(url.connect_url(), "sqlite://alerts.db?mode=rwc");
        let url = StoreUrl::parse("postgres://pw:hunter2@127.0.0.1:5432/alerts").unwrap();
        assert_eq!(url.backend(), Backend::Postgres);
        assert_eq!(url.shown(), "postgres://pw:***@127.0.0.1:5432/alerts");
        assert!(StoreUrl::parse("sqlite://").is_err());
        let err = StoreUrl::parse("mysql://u:secret@h/db")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("sqlite://FILE") && !err.contains("secret"),
            "{err}"
        );
    }
}
