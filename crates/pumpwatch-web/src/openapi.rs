//! The API's OpenAPI document, generated from the handlers' annotations and the types they
//! exchange, with the two ways to authenticate as security schemes.

use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::api;

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(
                crate::auth::SESSION_COOKIE,
            ))),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "pumpwatch alert queue",
        description = "Alerts, cases, their workflow and audit trail. Every path but /healthz \
                       and POST /api/login needs an API token (Authorization: Bearer TOKEN) or \
                       a browser session (cookie, with X-CSRF-Token on changes)."
    ),
    paths(
        api::healthz, api::login, api::logout, api::me,
        api::queue, api::counts, api::alert, api::alert_change, api::alert_comment,
        api::cases, api::case, api::case_change, api::case_comment, api::case_export, api::case_report,
        api::audit, api::audit_verify,
        api::users, api::add_user, api::issue_token, api::revoke_tokens,
        api::openapi,
    ),
    modifiers(&Security),
    security(("bearer" = []), ("session" = [])),
)]
struct ApiDoc;

/// The document served at `/api/openapi.json`.
pub fn document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}
