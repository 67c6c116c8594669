//! The API's handlers under `/api`, each documented for the OpenAPI document
//! ([`crate::openapi`]). Every handler takes a [`Caller`], so no path answers without
//! credentials but `POST /api/login`.

use std::net::SocketAddr;
use std::time::Instant;

use axum::extract::{ConnectInfo, FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use pumpwatch_store::alerts::{QueueFilter, QueueItem, QueuePage, StateCounts};
use pumpwatch_store::audit::{AuditEntry, AuditVerification};
use pumpwatch_store::cases::{CaseDetail, CaseItem};
use pumpwatch_store::context::{AccountHoldings, Bar, ExecutionLink};
use pumpwatch_store::users::{Role, User};
use pumpwatch_store::workflow::{Change, Comment, Entity, WorkState};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use crate::auth::{Caller, SESSION_COOKIE};
use crate::error::{ApiError, ErrorBody, Json, Path, Query};
use crate::{export, AppState};

type ApiResult<T> = Result<Json<T>, ApiError>;

/// The client's address, when the server knows it.
pub struct ClientIp(pub Option<std::net::IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<ClientIp, ApiError> {
        Ok(ClientIp(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|info| info.0.ip()),
        ))
    }
}

/// The server is up and its store answers.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    pub status: String,
}

#[utoipa::path(get, path = "/healthz", tag = "health", security(()),
    responses((status = 200, body = Health), (status = 500, body = ErrorBody)))]
pub async fn healthz(State(state): State<AppState>) -> ApiResult<Health> {
    state.store.ping().await?;
    Ok(Json(Health {
        status: "ok".into(),
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct LoginRequest {
    pub name: String,
    pub password: String,
}

/// Who is logged in, and the token a browser session's changes must carry.
#[derive(Debug, Serialize, ToSchema)]
pub struct Me {
    pub user: User,
    /// Send it back as `X-CSRF-Token` on every POST and DELETE of this session.
    pub csrf_token: Option<String>,
}

/// Logs in with a name and password; sets the session cookie.
#[utoipa::path(post, path = "/api/login", tag = "session", request_body = LoginRequest, security(()),
    responses((status = 200, body = Me), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn login(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Json(request): Json<LoginRequest>,
) -> Result<Response, ApiError> {
    state.limiter.attempt(ip, &request.name, Instant::now())?;
    // Password hashing is slow on purpose: a few at a time, whatever the load.
    let _slot = state
        .login_slots
        .acquire()
        .await
        .map_err(|_| ApiError::Internal("login slots closed".into()))?;
    let Some(user) = state
        .store
        .check_login(&request.name, &request.password)
        .await?
    else {
        return Err(ApiError::Unauthorized("wrong name or password".into()));
    };
    state.limiter.succeeded(ip, &request.name);
    let (cookie, session) = state.store.open_session(&user).await?;
    let secure = if state.secure_cookies { "; Secure" } else { "" };
    let set_cookie = format!(
        "{SESSION_COOKIE}={cookie}; Path=/; HttpOnly; SameSite=Strict; Max-Age=43200{secure}"
    );
    let mut response = Json(Me {
        user,
        csrf_token: Some(session.csrf_token),
    })
    .into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_str(&set_cookie).map_err(|e| ApiError::Internal(e.to_string()))?,
    );
    Ok(response)
}

/// Ends the browser session.
#[utoipa::path(post, path = "/api/logout", tag = "session",
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn logout(
    State(state): State<AppState>,
    caller: Caller,
    headers: axum::http::HeaderMap,
) -> Result<Response, ApiError> {
    if caller.csrf_token.is_some() {
        if let Some(cookie) = crate::auth::cookie(&headers, SESSION_COOKIE) {
            state.store.close_session(cookie).await?;
        }
    }
    let mut response = StatusCode::NO_CONTENT.into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static(
            "pumpwatch_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0",
        ),
    );
    Ok(response)
}

#[utoipa::path(get, path = "/api/me", tag = "session",
    responses((status = 200, body = Me), (status = 401, body = ErrorBody)))]
pub async fn me(caller: Caller) -> ApiResult<Me> {
    Ok(Json(Me {
        user: caller.user,
        csrf_token: caller.csrf_token,
    }))
}

/// The alert queue: filtered, sorted, paged.
#[utoipa::path(get, path = "/api/alerts", tag = "alerts", params(QueueFilter),
    responses((status = 200, body = QueuePage), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody)))]
pub async fn queue(
    State(state): State<AppState>,
    _caller: Caller,
    Query(filter): Query<QueueFilter>,
) -> ApiResult<QueuePage> {
    Ok(Json(state.store.queue(&filter).await?))
}

#[utoipa::path(get, path = "/api/alerts/counts", tag = "alerts",
    responses((status = 200, body = StateCounts), (status = 401, body = ErrorBody)))]
pub async fn counts(State(state): State<AppState>, _caller: Caller) -> ApiResult<StateCounts> {
    Ok(Json(state.store.state_counts().await?))
}

/// Everything an alert's page shows.
#[derive(Debug, Serialize, ToSchema)]
pub struct AlertPage {
    pub item: QueueItem,
    /// The alert exactly as the engine wrote it (the contract's JSON).
    #[schema(value_type = Object)]
    pub alert: Value,
    /// The named accounts' holdings at the start of the day and at the alert.
    pub holdings: Vec<AccountHoldings>,
    /// The named symbols' minute bars on the alert's day.
    pub bars: Vec<Bar>,
    /// Executions between the named accounts and others in the named symbols that day.
    pub links: Vec<ExecutionLink>,
    pub comments: Vec<Comment>,
    pub audit: Vec<AuditEntry>,
}

fn alert_day(item: &QueueItem) -> String {
    pumpwatch_model::Timestamp::parse(&item.ts)
        .map(|ts| pumpwatch_store::day_text(&ts))
        .unwrap_or_default()
}

#[utoipa::path(get, path = "/api/alerts/{alert_id}", tag = "alerts",
    params(("alert_id" = String, Path)),
    responses((status = 200, body = AlertPage), (status = 401, body = ErrorBody),
              (status = 404, body = ErrorBody)))]
pub async fn alert(
    State(state): State<AppState>,
    _caller: Caller,
    Path(alert_id): Path<String>,
) -> ApiResult<AlertPage> {
    let store = &state.store;
    let (item, alert) = store.alert(&alert_id).await?;
    let day = alert_day(&item);
    let mut bars = Vec::new();
    for symbol in &item.symbols {
        bars.extend(store.bars(symbol, &day).await?);
    }
    let links = store
        .links_of(&day, &item.account_ids, &item.symbols)
        .await?;
    Ok(Json(AlertPage {
        holdings: store.holdings(&alert_id).await?,
        comments: store.comments(Entity::Alert, &alert_id).await?,
        audit: store
            .audit_entries(Some(("alert", &alert_id)), 0, 1000)
            .await?,
        item,
        alert,
        bars,
        links,
    }))
}

/// A workflow change, made on the version the client saw.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ChangeRequest {
    /// The item's `version` as the client last read it; a newer one refuses the change (409).
    pub version: i64,
    pub change: Change,
}

#[utoipa::path(post, path = "/api/alerts/{alert_id}/workflow", tag = "alerts",
    params(("alert_id" = String, Path)), request_body = ChangeRequest,
    responses((status = 200, body = WorkState), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn alert_change(
    State(state): State<AppState>,
    caller: Caller,
    Path(alert_id): Path<String>,
    Json(request): Json<ChangeRequest>,
) -> ApiResult<WorkState> {
    let state = state
        .store
        .change(
            &caller.user,
            Entity::Alert,
            &alert_id,
            request.version,
            &request.change,
        )
        .await?;
    Ok(Json(state))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CommentRequest {
    #[schema(min_length = 1, max_length = 16000, pattern = r"\S")]
    pub body: String,
}

#[utoipa::path(post, path = "/api/alerts/{alert_id}/comments", tag = "alerts",
    params(("alert_id" = String, Path)), request_body = CommentRequest,
    responses((status = 200, body = Comment), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody)))]
pub async fn alert_comment(
    State(state): State<AppState>,
    caller: Caller,
    Path(alert_id): Path<String>,
    Json(request): Json<CommentRequest>,
) -> ApiResult<Comment> {
    Ok(Json(
        state
            .store
            .comment(&caller.user, Entity::Alert, &alert_id, &request.body)
            .await?,
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CaseFilter {
    /// Workflow state: new, assigned, escalated, pending_approval, closed.
    pub state: Option<String>,
    #[param(minimum = 1)]
    pub page: Option<i64>,
    #[param(minimum = 1, maximum = 500)]
    pub page_size: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CasePage {
    pub items: Vec<CaseItem>,
    pub total: i64,
    pub page: i64,
    pub page_size: i64,
}

#[utoipa::path(get, path = "/api/cases", tag = "cases", params(CaseFilter),
    responses((status = 200, body = CasePage), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody)))]
pub async fn cases(
    State(state): State<AppState>,
    _caller: Caller,
    Query(filter): Query<CaseFilter>,
) -> ApiResult<CasePage> {
    let page = filter.page.unwrap_or(1);
    let page_size = filter
        .page_size
        .unwrap_or(pumpwatch_store::alerts::DEFAULT_PAGE_SIZE);
    let (items, total) = state
        .store
        .cases(filter.state.as_deref(), page, page_size)
        .await?;
    Ok(Json(CasePage {
        items,
        total,
        page,
        page_size,
    }))
}

/// Everything a case's page shows.
#[derive(Debug, Serialize, ToSchema)]
pub struct CasePageBody {
    pub detail: CaseDetail,
    pub comments: Vec<Comment>,
    pub audit: Vec<AuditEntry>,
}

#[utoipa::path(get, path = "/api/cases/{case_id}", tag = "cases",
    params(("case_id" = String, Path)),
    responses((status = 200, body = CasePageBody), (status = 401, body = ErrorBody),
              (status = 404, body = ErrorBody)))]
pub async fn case(
    State(state): State<AppState>,
    _caller: Caller,
    Path(case_id): Path<String>,
) -> ApiResult<CasePageBody> {
    let detail = state.store.case(&case_id).await?;
    Ok(Json(CasePageBody {
        comments: state.store.comments(Entity::Case, &case_id).await?,
        audit: state
            .store
            .audit_entries(Some(("case", &case_id)), 0, 1000)
            .await?,
        detail,
    }))
}

#[utoipa::path(post, path = "/api/cases/{case_id}/workflow", tag = "cases",
    params(("case_id" = String, Path)), request_body = ChangeRequest,
    responses((status = 200, body = WorkState), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn case_change(
    State(state): State<AppState>,
    caller: Caller,
    Path(case_id): Path<String>,
    Json(request): Json<ChangeRequest>,
) -> ApiResult<WorkState> {
    let state = state
        .store
        .change(
            &caller.user,
            Entity::Case,
            &case_id,
            request.version,
            &request.change,
        )
        .await?;
    Ok(Json(state))
}

#[utoipa::path(post, path = "/api/cases/{case_id}/comments", tag = "cases",
    params(("case_id" = String, Path)), request_body = CommentRequest,
    responses((status = 200, body = Comment), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody)))]
pub async fn case_comment(
    State(state): State<AppState>,
    caller: Caller,
    Path(case_id): Path<String>,
    Json(request): Json<CommentRequest>,
) -> ApiResult<Comment> {
    Ok(Json(
        state
            .store
            .comment(&caller.user, Entity::Case, &case_id, &request.body)
            .await?,
    ))
}

/// A case's evidence bundle as JSON: the start of a suspicious-transaction report.
#[utoipa::path(get, path = "/api/cases/{case_id}/export", tag = "cases",
    params(("case_id" = String, Path)),
    responses((status = 200, body = export::EvidenceBundle), (status = 401, body = ErrorBody),
              (status = 404, body = ErrorBody)))]
pub async fn case_export(
    State(state): State<AppState>,
    caller: Caller,
    Path(case_id): Path<String>,
) -> ApiResult<export::EvidenceBundle> {
    Ok(Json(
        export::bundle(&state.store, &case_id, &caller.user.name).await?,
    ))
}

/// The same bundle as a printable HTML report.
#[utoipa::path(get, path = "/api/cases/{case_id}/report", tag = "cases",
    params(("case_id" = String, Path)),
    responses((status = 200, content_type = "text/html", body = String),
              (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn case_report(
    State(state): State<AppState>,
    caller: Caller,
    Path(case_id): Path<String>,
) -> Result<Response, ApiError> {
    let bundle = export::bundle(&state.store, &case_id, &caller.user.name).await?;
    let [a, b, c] = crate::ui::SECURITY_HEADERS;
    Ok((
        [(header::CONTENT_TYPE, "text/html; charset=utf-8"), a, b, c],
        export::report_html(&bundle),
    )
        .into_response())
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditFilter {
    /// `alert`, `case`, `user` or `ingest`; with `entity_id`.
    pub entity_type: Option<String>,
    pub entity_id: Option<String>,
    /// Entries after this sequence number.
    #[param(minimum = 0)]
    pub after_seq: Option<i64>,
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<i64>,
    /// The newest entries first (then `after_seq` is not taken).
    pub newest_first: Option<bool>,
}

#[utoipa::path(get, path = "/api/audit", tag = "audit", params(AuditFilter),
    responses((status = 200, body = Vec<AuditEntry>), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody)))]
pub async fn audit(
    State(state): State<AppState>,
    _caller: Caller,
    Query(filter): Query<AuditFilter>,
) -> ApiResult<Vec<AuditEntry>> {
    let limit = filter.limit.unwrap_or(200);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::BadRequest("limit: 1 to 1000".into()));
    }
    let after = filter.after_seq.unwrap_or(0);
    if after < 0 {
        return Err(ApiError::BadRequest("after_seq: 0 or more".into()));
    }
    let entity = match (&filter.entity_type, &filter.entity_id) {
        (Some(kind), Some(id)) => Some((kind.as_str(), id.as_str())),
        (None, None) => None,
        _ => {
            return Err(ApiError::BadRequest(
                "entity_type and entity_id go together".into(),
            ))
        }
    };
    if filter.newest_first == Some(true) {
        if filter.after_seq.is_some() {
            return Err(ApiError::BadRequest(
                "newest_first takes no after_seq".into(),
            ));
        }
        return Ok(Json(state.store.audit_latest(entity, limit).await?));
    }
    Ok(Json(state.store.audit_entries(entity, after, limit).await?))
}

#[utoipa::path(get, path = "/api/audit/verify", tag = "audit",
    responses((status = 200, body = AuditVerification), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody)))]
pub async fn audit_verify(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<AuditVerification> {
    caller.require(Role::Supervisor)?;
    Ok(Json(state.store.verify_audit().await?))
}

#[utoipa::path(get, path = "/api/users", tag = "users",
    responses((status = 200, body = Vec<User>), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody)))]
pub async fn users(State(state): State<AppState>, _caller: Caller) -> ApiResult<Vec<User>> {
    // Any user sees who items can be assigned to; only admins change users.
    Ok(Json(state.store.users().await?))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct NewUser {
    #[schema(pattern = r"^[A-Za-z0-9._@-]{1,64}$")]
    pub name: String,
    pub role: Role,
    /// Optional: a user without a password logs in with API tokens only.
    #[schema(min_length = 12, max_length = 1024)]
    pub password: Option<String>,
}

/// A new user or token: the token is shown only in this response.
#[derive(Debug, Serialize, ToSchema)]
pub struct IssuedToken {
    pub user: User,
    pub token: String,
}

#[utoipa::path(post, path = "/api/users", tag = "users", request_body = NewUser,
    responses((status = 200, body = IssuedToken), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 409, body = ErrorBody)))]
pub async fn add_user(
    State(state): State<AppState>,
    caller: Caller,
    Json(request): Json<NewUser>,
) -> ApiResult<IssuedToken> {
    caller.require(Role::Admin)?;
    let (user, token) = state
        .store
        .add_user(
            &caller.user.name,
            &request.name,
            request.role,
            request.password.as_deref(),
        )
        .await?;
    Ok(Json(IssuedToken { user, token }))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct TokenRequest {
    /// What the token is for (a label in the audit log).
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub label: String,
}

#[utoipa::path(post, path = "/api/users/{name}/tokens", tag = "users",
    params(("name" = String, Path)), request_body = TokenRequest,
    responses((status = 200, body = IssuedToken), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody)))]
pub async fn issue_token(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    Json(request): Json<TokenRequest>,
) -> ApiResult<IssuedToken> {
    caller.require(Role::Admin)?;
    if request.label.trim().is_empty() || request.label.len() > 200 {
        return Err(ApiError::BadRequest("label: 1 to 200 bytes".into()));
    }
    let token = state
        .store
        .issue_token(&caller.user.name, &name, &request.label)
        .await?;
    Ok(Json(IssuedToken {
        user: state.store.user(&name).await?,
        token,
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Revoked {
    pub revoked: u64,
}

#[utoipa::path(delete, path = "/api/users/{name}/tokens", tag = "users",
    params(("name" = String, Path)),
    responses((status = 200, body = Revoked), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn revoke_tokens(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> ApiResult<Revoked> {
    caller.require(Role::Admin)?;
    state.store.user(&name).await?;
    let revoked = state.store.revoke_tokens(&caller.user.name, &name).await?;
    Ok(Json(Revoked { revoked }))
}

#[utoipa::path(get, path = "/api/openapi.json", tag = "meta",
    responses((status = 200, description = "This document", body = Object),
              (status = 401, body = ErrorBody)))]
pub async fn openapi(_caller: Caller) -> Json<utoipa::openapi::OpenApi> {
    Json(crate::openapi::document())
}
