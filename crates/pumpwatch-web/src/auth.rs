//! Who is calling: an API token (`Authorization: Bearer TOKEN`) for machine clients, or a
//! browser session cookie whose state-changing requests must carry the session's CSRF token
//! in `X-CSRF-Token`. Logins are rate-limited per client address and per user name.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::Method;
use pumpwatch_store::users::{Role, User};

use crate::error::ApiError;
use crate::AppState;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "pumpwatch_session";
/// The header a browser session's state-changing requests carry.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The authenticated caller of a request.
#[derive(Clone, Debug)]
pub struct Caller {
    pub user: User,
    /// Set for a browser session: the token its forms must send back.
    pub csrf_token: Option<String>,
}

impl Caller {
    /// Refuses callers below `role` (admin ≥ supervisor ≥ analyst).
    pub fn require(&self, role: Role) -> Result<(), ApiError> {
        let rank = |r: Role| match r {
            Role::Analyst => 0,
            Role::Supervisor => 1,
            Role::Admin => 2,
        };
        if rank(self.user.role) >= rank(role) {
            Ok(())
        } else {
            Err(ApiError::Forbidden(format!(
                "this needs the {} role; {} is {}",
                role.as_str(),
                self.user.name,
                self.user.role.as_str()
            )))
        }
    }
}

/// The value of one cookie in a request.
pub fn cookie<'a>(headers: &'a axum::http::HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Caller, ApiError> {
        if let Some(header) = parts.headers.get(axum::http::header::AUTHORIZATION) {
            let token = header
                .to_str()
                .ok()
                .and_then(|h| {
                    h.strip_prefix("Bearer ")
                        .or_else(|| h.strip_prefix("bearer "))
                })
                .map(str::trim)
                .ok_or_else(|| {
                    ApiError::Unauthorized("Authorization must be 'Bearer TOKEN'".into())
                })?;
            let user = state
                .store
                .user_by_token(token)
                .await?
                .ok_or_else(|| ApiError::Unauthorized("unknown or revoked API token".into()))?;
            return Ok(Caller {
                user,
                csrf_token: None,
            });
        }
        let Some(cookie) = cookie(&parts.headers, SESSION_COOKIE) else {
            return Err(ApiError::Unauthorized(
                "log in (POST /api/login) or send Authorization: Bearer TOKEN".into(),
            ));
        };
        let session =
            state.store.session(cookie).await?.ok_or_else(|| {
                ApiError::Unauthorized("the session has ended: log in again".into())
            })?;
        let safe = matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
        if !safe {
            let sent = parts.headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok());
            if !sent.is_some_and(|sent| same_secret(sent, &session.csrf_token)) {
                return Err(ApiError::Forbidden(
                    "a browser session's changes must carry its X-CSRF-Token".into(),
                ));
            }
        }
        Ok(Caller {
            user: session.user,
            csrf_token: Some(session.csrf_token),
        })
    }
}

/// Compares two secrets in time that depends on their length only.
fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// Failed logins remembered per key within a window; past the limit, logins from that key
/// are refused until the window has passed.
#[derive(Debug)]
pub struct LoginLimiter {
    window: Duration,
    max_failures: usize,
    failures: Mutex<HashMap<String, Vec<Instant>>>,
}

impl LoginLimiter {
    pub fn new(window: Duration, max_failures: usize) -> LoginLimiter {
        LoginLimiter {
            window,
            max_failures,
            failures: Mutex::new(HashMap::new()),
        }
    }

    fn keys(ip: Option<IpAddr>, name: &str) -> [String; 2] {
        [
            format!("ip:{}", ip.map(|ip| ip.to_string()).unwrap_or_default()),
            format!("user:{name}"),
        ]
    }

    /// Takes a login attempt: refused when its address or its name failed too often lately,
    /// else counted as a failure until [`LoginLimiter::succeeded`] says otherwise (so a burst
    /// of parallel attempts cannot pass the limit while their passwords are checked).
    pub fn attempt(&self, ip: Option<IpAddr>, name: &str, now: Instant) -> Result<(), ApiError> {
        self.check(ip, name, now)?;
        self.failed(ip, name, now);
        Ok(())
    }

    /// Refuses a login attempt when its address or its name failed too often lately.
    pub fn check(&self, ip: Option<IpAddr>, name: &str, now: Instant) -> Result<(), ApiError> {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        // Forget old failures, and keep the map bounded.
        failures.retain(|_, times| {
            times.retain(|t| now.duration_since(*t) < self.window);
            !times.is_empty()
        });
        for key in Self::keys(ip, name) {
            if let Some(times) = failures.get(&key) {
                if times.len() >= self.max_failures {
                    let oldest = times[0];
                    let wait = self.window.saturating_sub(now.duration_since(oldest));
                    return Err(ApiError::TooManyRequests {
                        message: "too many failed logins: wait and try again".into(),
                        retry_after_secs: wait.as_secs().max(1),
                    });
                }
            }
        }
        Ok(())
    }

    pub fn failed(&self, ip: Option<IpAddr>, name: &str, now: Instant) {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        if failures.len() > 100_000 {
            failures.clear();
        }
        for key in Self::keys(ip, name) {
            failures.entry(key).or_default().push(now);
        }
    }

    /// A login succeeded: the name's failures are forgotten, and the address's last attempt.
    pub fn succeeded(&self, ip: Option<IpAddr>, name: &str) {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        failures.remove(&format!("user:{name}"));
        let [ip_key, _] = Self::keys(ip, name);
        if let Some(times) = failures.get_mut(&ip_key) {
            times.pop();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_failures_lock_the_name_and_the_address_for_the_window() {
        let limiter = LoginLimiter::new(Duration::from_secs(60), 5);
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        let t0 = Instant::now();
        for _ in 0..5 {
            limiter.check(Some(ip), "ann", t0).unwrap();
            limiter.failed(Some(ip), "ann", t0);
        }
        assert!(matches!(
            limiter.check(Some(ip), "ann", t0),
            Err(ApiError::TooManyRequests { .. })
        ));
        // Another name from the same address, and the name from another address, wait too.
        assert!(limiter.check(Some(ip), "bob", t0).is_err());
        assert!(limiter
            .check(Some("127.0.0.2".parse().unwrap()), "ann", t0)
            .is_err());
        assert!(limiter
            .check(Some("127.0.0.2".parse().unwrap()), "bob", t0)
            .is_ok());
        assert!(limiter
            .check(Some(ip), "ann", t0 + Duration::from_secs(61))
            .is_ok());
    }
}
