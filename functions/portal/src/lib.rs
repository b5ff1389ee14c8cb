//! The webhook portal: pages a merchant's own customers (or anyone the merchant sends a
//! link) use to see, and with a `manage` link act on, the tenant's webhooks, with no
//! API key.
//!
//! `POST /api/v2/portal/sessions` makes a link and `DELETE .../{id}` revokes it (both
//! with an API key holding `webhooks:write`). `GET /portal/{token}` trades the link's
//! token for a cookie that only `/portal` pages see, and sends the browser on to
//! `GET /portal`, so the token leaves the address bar and the browser's history.
//! Every page carries a strict Content-Security-Policy: nothing loads from another
//! origin, no script runs, the one stylesheet is inline and pinned by its hash.

mod pages;

use axum::{
    Json, Router,
    extract::State,
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::{delete, get, post},
};
use serde::Deserialize;
use shared::{
    ApiError, ApiResult, AppState, Timestamp,
    auth::{Auth, Scoped, Write, groups},
    http::ApiJson,
    ids::{PathId, PortalSessionId, kinds},
    openapi::Operation,
    portal::{self, PortalScope, PortalSession, PortalToken},
    store::portal as sessions,
};

/// The API routes, for `pushguard serve` to merge with the other functions'.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v2/portal/sessions", post(create))
        .route("/api/v2/portal/sessions/{id}", delete(revoke))
}

/// The portal's pages: public, the session cookie (or the link's token) is the key,
/// and each session's bucket limits its requests.
pub fn pages(state: AppState) -> Router {
    use pages::{catalogue, deliveries, endpoints};
    Router::new()
        .route("/portal", get(endpoints::home))
        .route("/portal/{token}", get(pages::redeem))
        .route("/portal/endpoints", post(endpoints::create))
        .route("/portal/endpoints/new", get(endpoints::new))
        .route(
            "/portal/endpoints/{id}",
            get(endpoints::show).post(endpoints::update),
        )
        .route("/portal/endpoints/{id}/enable", post(endpoints::enable))
        .route("/portal/endpoints/{id}/disable", post(endpoints::disable))
        .route(
            "/portal/endpoints/{id}/rotate-secret",
            post(endpoints::rotate_secret),
        )
        .route("/portal/endpoints/{id}/test", post(endpoints::test))
        .route("/portal/deliveries", get(deliveries::list))
        .route("/portal/deliveries/recover", post(deliveries::recover))
        .route("/portal/deliveries/{id}", get(deliveries::show))
        .route("/portal/deliveries/{id}/retry", post(deliveries::retry))
        .route("/portal/events", get(catalogue::show))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            pages::limited,
        ))
        .with_state(state)
}

/// This function's operations, for the OpenAPI document.
pub fn operations() -> Vec<Operation> {
    const TAG: &str = "portal";
    vec![
        Operation::post("/api/v2/portal/sessions", TAG, "Make a portal link")
            .scope("webhooks:write")
            .body::<SessionInput>()
            .returns::<SessionCreated>(201, "The link, shown this once"),
        Operation::delete(
            "/api/v2/portal/sessions/{id}",
            TAG,
            "Revoke a portal link",
        )
        .scope("webhooks:write"),
        Operation::get("/portal/{token}", TAG, "Open a portal link")
            .public()
            .html("303 to /portal with the session cookie set, or a page saying the link is not valid"),
        page("/portal", "The tenant's endpoints, each with its last 24 hours"),
        page(
            "/portal/endpoints/{id}",
            "One endpoint: attempts and latency per hour, its actions and edit form",
        )
        .query("period", "`24h` (default) or `7d`", shared::openapi::string())
        .query("done", "What the last action did", shared::openapi::string()),
        page("/portal/endpoints/new", "The form for a new endpoint"),
        page("/portal/deliveries", "Deliveries, newest first, filtered")
            .query("endpoint", "To this endpoint", shared::openapi::string())
            .query(
                "status",
                "`pending`, `retrying`, `succeeded` or `failed`",
                shared::openapi::string(),
            )
            .query("event", "Of this event type", shared::openapi::string())
            .query(
                "after",
                "The last delivery of the previous page",
                shared::openapi::string(),
            )
            .query("recovered", "How many a recovery queued", shared::openapi::string()),
        page(
            "/portal/deliveries/{id}",
            "One delivery: its attempts, the request as sent, the response",
        )
        .query("done", "What the last action did", shared::openapi::string()),
        page(
            "/portal/events",
            "The event catalogue and how to verify a signature",
        ),
        action("/portal/endpoints", "Add an endpoint (shows its secret once)"),
        action("/portal/endpoints/{id}", "Save an endpoint's edit form"),
        action("/portal/endpoints/{id}/enable", "Enable an endpoint"),
        action("/portal/endpoints/{id}/disable", "Disable an endpoint"),
        action(
            "/portal/endpoints/{id}/rotate-secret",
            "Rotate an endpoint's secret (shown once)",
        ),
        action("/portal/endpoints/{id}/test", "Send a test ping and show how it went"),
        action(
            "/portal/deliveries/recover",
            "Re-send an endpoint's failed deliveries since a date",
        ),
        action("/portal/deliveries/{id}/retry", "Deliver again now"),
    ]
}

/// A portal page: public (the session cookie is the key), HTML.
fn page(path: &'static str, summary: &str) -> Operation {
    Operation::get(path, "portal", summary)
        .public()
        .html("The page (401 without a live session, 404 for another tenant's object)")
}

/// A portal form's action: a `manage` session's form with its CSRF token.
fn action(path: &'static str, summary: &str) -> Operation {
    Operation::post(path, "portal", summary)
        .public()
        .form()
        .html("The result, or 303 to the page it changed (401 without a live session, 403 for a read-only link or a form without the session's CSRF token)")
}

/// The deployed function: the API with its conventions, and the pages.
pub fn router(state: AppState) -> Router {
    shared::http::api(routes(), state.clone()).merge(pages(state))
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct SessionInput {
    /// Seconds the link works: 60 to 86400, default 3600.
    expires_in: Option<u64>,
    /// `read` (look only) or `manage` (look and act); required.
    scope: Option<PortalScope>,
}

/// A new portal link.
#[derive(serde::Serialize, utoipa::ToSchema)]
struct SessionCreated {
    #[schema(value_type = String)]
    id: PortalSessionId,
    /// Open it in a browser: no API key needed until `expires_at`.
    url: String,
    scope: PortalScope,
    expires_at: Timestamp,
}

async fn create(
    State(state): State<AppState>,
    tenant: Scoped<Write<groups::Webhooks>>,
    Auth(principal): Auth,
    headers: HeaderMap,
    ApiJson(input): ApiJson<SessionInput>,
) -> ApiResult<Response> {
    let mut errors = shared::error::Violations::new();
    let lifetime = portal::lifetime(input.expires_in)
        .map_err(|e| errors.add(e))
        .ok();
    if input.scope.is_none() {
        errors.add("Scope can't be blank");
    }
    errors.finish()?;
    let (Some(lifetime), Some(scope)) = (lifetime, input.scope) else {
        return Err(ApiError::internal("validated input is missing"));
    };
    let now = Timestamp::now();
    // A link never outlives the key that made it (a rolled key's grace period).
    let expires_at = match principal.expires_at {
        Some(key_ends) => now.plus(lifetime).min(key_ends),
        None => now.plus(lifetime),
    };
    let id = PortalSessionId::new();
    let token = PortalToken::generate(&id);
    let session = PortalSession {
        id: id.clone(),
        tenant: tenant.into_tenant(),
        scope,
        created_by: principal.key_id.to_string(),
        created_at: now,
        expires_at,
        token_hash: token.hash(),
    };
    sessions::create(&state.db, &session).await?;
    let url = format!(
        "{}/portal/{}",
        shared::http::public_base(&state.config, &headers),
        token.expose()
    );
    let created = SessionCreated {
        id,
        url,
        scope,
        expires_at,
    };
    Ok((StatusCode::CREATED, Json(created)).into_response())
}

async fn revoke(
    State(state): State<AppState>,
    tenant: Scoped<Write<groups::Webhooks>>,
    PathId(id): PathId<kinds::PortalSession>,
) -> ApiResult<StatusCode> {
    if sessions::revoke(&state.db, &tenant, &id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound("Portal session"))
    }
}
