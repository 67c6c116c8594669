//! The analysts' alert queue over HTTP: the API under `/api` (its OpenAPI document at
//! `/api/openapi.json`), the web UI at `/`, and `/healthz`.
//!
//! - [`api`]: the handlers; [`openapi`]: the document generated from them;
//! - [`auth`]: API tokens, browser sessions with CSRF tokens, the login rate limit;
//! - [`error`]: every failure as a status and a JSON body;
//! - [`export`]: a case's evidence bundle as JSON and as a printable report;
//! - [`ui`]: the single-page UI, compiled into the binary.

pub mod api;
pub mod auth;
pub mod error;
pub mod export;
pub mod openapi;
pub mod ui;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::routing::{get, post};
use axum::Router;
use pumpwatch_store::Store;

/// What every handler shares.
#[derive(Clone, Debug)]
pub struct AppState {
    pub store: Store,
    pub limiter: Arc<auth::LoginLimiter>,
    /// Password checks (argon2: memory and time on purpose) run a few at a time.
    pub login_slots: Arc<tokio::sync::Semaphore>,
    /// Mark the session cookie `Secure` (behind TLS).
    pub secure_cookies: bool,
}

impl AppState {
    pub fn new(store: Store) -> AppState {
        AppState {
            store,
            limiter: Arc::new(auth::LoginLimiter::new(Duration::from_secs(300), 5)),
            login_slots: Arc::new(tokio::sync::Semaphore::new(4)),
            secure_cookies: false,
        }
    }
}

/// Request bodies larger than this are refused (413).
const MAX_BODY_BYTES: usize = 256 * 1024;

/// The whole application.
pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .route("/login", post(api::login))
        .route("/logout", post(api::logout))
        .route("/me", get(api::me))
        .route("/alerts", get(api::queue))
        .route("/alerts/counts", get(api::counts))
        .route("/alerts/{alert_id}", get(api::alert))
        .route("/alerts/{alert_id}/workflow", post(api::alert_change))
        .route("/alerts/{alert_id}/comments", post(api::alert_comment))
        .route("/cases", get(api::cases))
        .route("/cases/{case_id}", get(api::case))
        .route("/cases/{case_id}/workflow", post(api::case_change))
        .route("/cases/{case_id}/comments", post(api::case_comment))
        .route("/cases/{case_id}/export", get(api::case_export))
        .route("/cases/{case_id}/report", get(api::case_report))
        .route("/audit", get(api::audit))
        .route("/audit/verify", get(api::audit_verify))
        .route("/users", get(api::users).post(api::add_user))
        .route(
            "/users/{name}/tokens",
            post(api::issue_token).delete(api::revoke_tokens),
        )
        .route("/openapi.json", get(api::openapi))
        .fallback(|| async { error::ApiError::NotFound("no such API path".into()) });
    Router::new()
        .nest("/api", api)
        .route("/healthz", get(api::healthz))
        .merge(ui::routes())
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state)
}

/// Serves until `shutdown` resolves.
pub async fn serve(
    state: AppState,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(
        listener,
        router(state).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}
