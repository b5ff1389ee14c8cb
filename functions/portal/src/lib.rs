//! The webhook portal: pages a merchant's own customers (or anyone the merchant sends a
//! link) use to see, and with a `manage` link act on, the tenant's webhooks, with no
//! API key.
//!
//! `POST /api/v2/portal/sessions` makes a link, `GET` lists the live ones (with
//! `webhooks:read`), `DELETE .../{id}` revokes one and `DELETE /api/v2/portal/sessions`
//! every one (with `webhooks:write`). A link lives only while the version of the API key
//! that made it does: revoking or rolling the key ends its links with it.
//! `GET /portal/{token}` trades the link's
//! token for a cookie that only `/portal` pages see, and sends the browser on to
//! `GET /portal`, so the token leaves the address bar and the browser's history.
//! Every page carries a strict Content-Security-Policy: nothing loads from another
//! origin, no script runs, the one stylesheet is inline and pinned by its hash.

mod pages;

use axum::{
    Json, Router,
    extract::{OriginalUri, Query, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};
use serde::Deserialize;
use shared::{
    ApiError, ApiResult, AppState, Timestamp,
    auth::{Auth, Read, Scoped, Write, groups},
    http::ApiJson,
    ids::{PathId, PortalSessionId, kinds},
    openapi::{Operation, string},
    pagination::PageParams,
    portal::{self, PortalScope, PortalSession, PortalSessionView, PortalToken},
    routes::Routes,
    store::portal as sessions,
};

/// The API's routes and their documentation.
pub fn routes() -> Routes {
    Routes::new("portal")
        .post("/api/v2/portal/sessions", create, |op| {
            op.summary("Make a portal link")
                .body_example::<SessionInput>(serde_json::json!({
                    "scope": "read", "expires_in": 3600
                }))
                .requiring(&["scope"])
                .creates("/id")
                .returns::<SessionCreated>(201, "The link, shown this once")
        })
        .get("/api/v2/portal/sessions", list, |op| {
            op.summary("List portal links").returns_list::<PortalSessionView>(
                "Links that have not expired, newest first; `active` is false once the key version that made one is gone",
            )
        })
        .delete("/api/v2/portal/sessions", revoke_all, |op| {
            op.summary("Revoke every portal link")
                .returns::<Revoked>(200, "How many links were revoked")
        })
        .delete("/api/v2/portal/sessions/{id}", revoke, |op| {
            op.summary("Revoke a portal link")
        })
}

/// The portal's pages: public, the session cookie (or the link's token) is the key.
pub fn page_routes() -> Routes {
    use pages::{
        ActionForm, catalogue, deliveries,
        deliveries::RecoverForm,
        endpoints::{self, EndpointForm},
    };
    Routes::new("portal")
        .get("/portal", endpoints::home, |op| {
            page(op, "The tenant's endpoints, each with its last 24 hours")
        })
        .get("/portal/{token}", pages::redeem, |op| {
            op.summary("Open a portal link (once)").html(
                "303 to /portal with the session cookie set; a page asking first when this browser holds another tenant's portal; or a page saying the link is not valid (opened already, expired or revoked)",
            )
        })
        .post("/portal/{token}", pages::switch, |op| {
            op.summary("Open a portal link, leaving another tenant's portal").html(
                "303 to /portal with the session cookie set, or a page saying the link is not valid",
            )
        })
        .post("/portal/endpoints", endpoints::create, |op| {
            action::<EndpointForm>(op, "Add an endpoint (shows its secret once)")
        })
        .get("/portal/endpoints/new", endpoints::new, |op| {
            page(op, "The form for a new endpoint")
        })
        .get("/portal/endpoints/{id}", endpoints::show, |op| {
            page(
                op,
                "One endpoint: attempts and latency per hour, its actions and edit form",
            )
            .query("period", "`24h` (default) or `7d`", string())
            .query("done", "What the last action did", string())
        })
        .post("/portal/endpoints/{id}", endpoints::update, |op| {
            action::<EndpointForm>(op, "Save an endpoint's edit form")
        })
        .post("/portal/endpoints/{id}/enable", endpoints::enable, |op| {
            action::<ActionForm>(op, "Enable an endpoint")
        })
        .post("/portal/endpoints/{id}/disable", endpoints::disable, |op| {
            action::<ActionForm>(op, "Disable an endpoint")
        })
        .post(
            "/portal/endpoints/{id}/rotate-secret",
            endpoints::rotate_secret,
            |op| action::<ActionForm>(op, "Rotate an endpoint's secret (shown once)"),
        )
        .post("/portal/endpoints/{id}/test", endpoints::test, |op| {
            action::<ActionForm>(op, "Send a test ping and show how it went")
        })
        .get("/portal/deliveries", deliveries::list, |op| {
            page(op, "Deliveries, newest first, filtered")
                .query("endpoint", "To this endpoint", string())
                .query(
                    "status",
                    "`pending`, `retrying`, `succeeded` or `failed`",
                    string(),
                )
                .query("event", "Of this event type", string())
                .query("after", "The last delivery of the previous page", string())
                .query("recovered", "How many a recovery queued", string())
        })
        .post("/portal/deliveries/recover", deliveries::recover, |op| {
            action::<RecoverForm>(op, "Re-send an endpoint's failed deliveries since a date")
        })
        .get("/portal/deliveries/{id}", deliveries::show, |op| {
            page(
                op,
                "One delivery: its attempts, the request as sent, the response",
            )
            .query("done", "What the last action did", string())
        })
        .post("/portal/deliveries/{id}/retry", deliveries::retry, |op| {
            action::<ActionForm>(op, "Deliver again now")
        })
        .get("/portal/events", catalogue::show, |op| {
            page(op, "The event catalogue and how to verify a signature")
        })
}

/// The pages as served: each session's bucket limits its requests.
pub fn pages(state: AppState) -> Router {
    let limited = page_routes()
        .router()
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            pages::limited,
        ));
    shared::http::public(limited, state)
}

/// A portal page: public (the session cookie is the key), HTML.
fn page(op: Operation, summary: &str) -> Operation {
    op.summary(summary)
        .html("The page (401 without a live session, 404 for another tenant's object)")
}

/// A portal form's action: a `manage` session's form `F` with its CSRF token.
fn action<F: utoipa::ToSchema>(op: Operation, summary: &str) -> Operation {
    op.summary(summary)
        .form::<F>()
        .html("The result, or 303 to the page it changed (401 without a live session, 403 for a read-only link or a form without the session's CSRF token)")
}

/// The deployed function: the API with its conventions, and the pages.
pub fn router(state: AppState) -> Router {
    shared::http::api(routes().router(), state.clone()).merge(pages(state))
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
    let lifetime = errors.check(portal::lifetime(input.expires_in));
    let scope = errors.require("Scope", input.scope);
    let (lifetime, scope) = errors.finish_with((lifetime, scope))?;
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
        key_hash: principal.key_hash.clone(),
        created_at: now,
        expires_at,
        token_hash: token.hash(),
        cookie_hash: None,
        opened_at: None,
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

async fn list(
    State(state): State<AppState>,
    tenant: Scoped<Read<groups::Webhooks>>,
    OriginalUri(uri): OriginalUri,
    Query(params): Query<PageParams>,
) -> ApiResult<Response> {
    let page = sessions::list(&state.db, &tenant, params.validate()?).await?;
    // A page's links come from a key or two: one read per key version, not per link.
    let mut live = std::collections::HashMap::new();
    for session in &page.items {
        if !live.contains_key(&session.key_hash) {
            let alive = pages::key_version_alive(&state, &tenant, &session.key_hash).await?;
            live.insert(session.key_hash.clone(), alive);
        }
    }
    Ok(page.respond(&uri, |session| {
        session.view(live.get(&session.key_hash).copied().unwrap_or(false))
    }))
}

/// How many links a revoke-all ended.
#[derive(serde::Serialize, utoipa::ToSchema)]
struct Revoked {
    revoked: usize,
}

async fn revoke_all(
    State(state): State<AppState>,
    tenant: Scoped<Write<groups::Webhooks>>,
) -> ApiResult<Json<Revoked>> {
    let revoked = sessions::revoke_all(&state.db, &tenant).await?;
    tracing::info!(revoked, "portal links revoked");
    Ok(Json(Revoked { revoked }))
}
