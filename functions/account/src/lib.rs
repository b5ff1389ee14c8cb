//! The account of the calling key, its API keys, and its webhook signing secret.
//!
//! `GET /health` (public), `GET /account`, `GET/POST /account/keys`,
//! `DELETE /account/keys/{id}`, `POST /account/keys/{id}/roll`,
//! `POST /account/webhook-secret/rotate`, and a holding account's child accounts
//! (`GET/POST /account/children`, `GET/DELETE /account/children/{id}`), which its keys
//! act for with `X-Child-Company-Id` (`shared::auth`).

use axum::{
    Json, Router,
    extract::{OriginalUri, Query, State},
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde::{Deserialize, Serialize};
use shared::t;
use shared::{
    ApiError, ApiResult, AppState, Mode, Timestamp,
    account::{ApiKey, ApiKeyView, KeySpec},
    auth::{Auth, Principal, Read, Scope, Scoped, Write, groups},
    crud::retrying,
    error::Violations,
    http::{ApiJson, OptionalJson},
    ids::ApiKeyId,
    ids::{PathId, kinds},
    keyring::SecretContext,
    pagination::PageParams,
    routes::Routes,
    secrets::{self, ApiKeySecret, NewSecret, RotateInput},
    store::{accounts, api_keys},
};
use std::time::Duration;

const MAX_NAME_LENGTH: usize = 100;

/// This function's routes and their documentation.
pub fn routes() -> Routes {
    children_routes(Routes::new("account"))
        .get(shared::http::HEALTH, health, |op| {
            op.summary("Whether the API is up, or offline for maintenance")
                .returns::<Health>(200, "Up")
        })
        .get("/api/v2/openapi.json", openapi, |op| {
            op.summary("This document (OpenAPI 3.1)")
                .returns::<serde_json::Value>(200, "The OpenAPI document")
        })
        .get("/api/v2/account", show, |op| {
            op.summary("The account and key making the call")
                .returns::<AccountInfo>(200, "The account")
        })
        .get("/api/v2/account/keys", list_keys, |op| {
            op.summary("List API keys")
                .returns_list::<ApiKeyView>("Keys, newest first (test keys list test keys only)")
        })
        .post("/api/v2/account/keys", create_key, |op| {
            op.summary("Create an API key")
                .body_example::<KeyInput>(serde_json::json!({
                    "name": "Catalogue reader", "scopes": ["products:read"]
                }))
                .requiring(&["name", "scopes"])
                .creates("/id")
                .returns::<ApiKeyView>(201, "The key, with `key` (and `signing_secret`) shown once")
        })
        .delete("/api/v2/account/keys/{id}", revoke_key, |op| {
            op.summary("Revoke an API key")
        })
        .post("/api/v2/account/keys/{id}/roll", roll_key, |op| {
            op.summary("Replace a key's secret")
                .optional_body::<RollInput>()
                .returns::<ApiKeyView>(200, "The rolled key, with the new `key` shown once")
        })
        .post(
            "/api/v2/account/webhook-secret/rotate",
            rotate_webhook_secret,
            |op| {
                op.summary("Rotate the secret that signs webhook_url deliveries")
                    .optional_body::<RotateInput>()
                    .returns::<NewSecret>(200, "The new secret, shown once")
            },
        )
        .post(
            "/api/v2/account/webhook-keys/rotate",
            rotate_webhook_keys,
            |op| {
                op.summary("Rotate the ed25519 key that signs v1a deliveries")
                    .optional_body::<RotateInput>()
                    .returns::<NewPublicKey>(
                        200,
                        "The new public key; the old key keeps signing beside it for the grace period",
                    )
            },
        )
}

pub fn router(state: AppState) -> Router {
    shared::http::api(routes().router(), state)
}

/// The routes of a holding account's children.
fn children_routes(routes: Routes) -> Routes {
    const ONE: &str = "/api/v2/account/children/{id}";
    routes
        .post("/api/v2/account/children", create_child, |op| {
            op.summary("Create a child account")
                .body_example::<ChildInput>(serde_json::json!({ "email": "shop-2@example.com" }))
                .requiring(&["email"])
                .creates("/id")
                .returns::<ChildAccount>(
                    201,
                    "The child account (its keys are its own: none are made here)",
                )
        })
        .get("/api/v2/account/children", list_children, |op| {
            op.summary("List child accounts")
                .returns_list::<ChildAccount>("Child accounts, newest first")
        })
        .get(ONE, show_child, |op| {
            op.summary("Retrieve a child account")
                .returns::<ChildAccount>(200, "The child account")
        })
        .delete(ONE, close_child, |op| {
            op.summary("Close a child account: no key acts for it any more")
        })
}

/// A child account as its holding account sees it.
#[derive(Serialize, utoipa::ToSchema)]
struct ChildAccount {
    id: String,
    email: String,
    parent_id: String,
    created_at: Timestamp,
    /// When it was closed; null while open.
    closed_at: Option<Timestamp>,
}

impl ChildAccount {
    fn of(account: shared::account::Account) -> Self {
        ChildAccount {
            id: account.id.into_string(),
            email: account.email,
            parent_id: account
                .parent_id
                .map(|p| p.into_string())
                .unwrap_or_default(),
            created_at: account.created_at,
            closed_at: account.closed_at,
        }
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct ChildInput {
    /// Its owner's email, unique among accounts.
    email: Option<String>,
}

/// `POST /account/children`: a full account (its own secrets, endpoints, quota and
/// portal) that knows its parent. Refused to a child itself.
async fn create_child(
    State(state): State<AppState>,
    tenant: Scoped<Write<groups::Account>>,
    ApiJson(input): ApiJson<ChildInput>,
) -> ApiResult<Response> {
    let email = input.email.as_deref().map(str::trim).unwrap_or_default();
    if email.is_empty() {
        return Err(ApiError::invalid(t!("Email can't be blank")));
    }
    if !shared::validate::is_valid_email(email) {
        return Err(ApiError::invalid(t!("Email is not a valid email address")));
    }
    let mut child = shared::account::Account::new(email, &state.keyring).await?;
    child.parent_id = Some(tenant.account_id().clone());
    accounts::create_child(&state.db, &child, shared::account::MAX_CHILD_ACCOUNTS).await?;
    Ok((StatusCode::CREATED, Json(ChildAccount::of(child))).into_response())
}

async fn list_children(
    State(state): State<AppState>,
    tenant: Scoped<Read<groups::Account>>,
    OriginalUri(uri): OriginalUri,
    Query(params): Query<PageParams>,
) -> ApiResult<Response> {
    let page = params.validate()?;
    let children = accounts::children(&state.db, tenant.account_id(), page).await?;
    Ok(children.respond(&uri, |child| ChildAccount::of(child.clone())))
}

/// The tenant's child `id`; 404 for any other account.
async fn find_child(
    state: &AppState,
    parent: &shared::ids::AccountId,
    id: &shared::ids::AccountId,
) -> ApiResult<shared::account::Account> {
    accounts::get(&state.db, id)
        .await?
        .filter(|child| child.parent_id.as_ref() == Some(parent))
        .ok_or(ApiError::NotFound("Account"))
}

async fn show_child(
    State(state): State<AppState>,
    tenant: Scoped<Read<groups::Account>>,
    PathId(id): PathId<kinds::Account>,
) -> ApiResult<Json<ChildAccount>> {
    let child = find_child(&state, tenant.account_id(), &id).await?;
    Ok(Json(ChildAccount::of(child)))
}

async fn close_child(
    State(state): State<AppState>,
    tenant: Scoped<Write<groups::Account>>,
    PathId(id): PathId<kinds::Account>,
) -> ApiResult<StatusCode> {
    let child = find_child(&state, tenant.account_id(), &id).await?;
    if child.closed_at.is_none() {
        accounts::close_child(&state.db, tenant.account_id(), &id, Timestamp::now()).await?;
    }
    Ok(StatusCode::NO_CONTENT)
}

/// API keys are their own account's: a request acting for a child account neither sees
/// nor makes nor changes keys (the child's never reach its parent).
fn own_keys_only(principal: &Principal) -> ApiResult<()> {
    match principal.acting_for {
        Some(_) => Err(ApiError::Refused(t!(
            "API keys belong to their own account: a request acting for a child account (X-Child-Company-Id) cannot list, create or change keys"
        ))),
        None => Ok(()),
    }
}

/// What a key rotation answers: the public half of the new key (the private half is
/// never shown).
#[derive(Serialize, utoipa::ToSchema)]
struct NewPublicKey {
    /// `whpk_...`: verifies `v1a` signatures from now on.
    public_key: String,
}

/// A new ed25519 signing key for the caller's mode; the old one keeps signing (both
/// `v1a` entries are sent) for the grace period. Receivers that cache the published
/// keys should refetch within it.
async fn rotate_webhook_keys(
    State(state): State<AppState>,
    tenant: Scoped<Write<groups::Account>>,
    OptionalJson(input): OptionalJson<RotateInput>,
) -> ApiResult<Json<NewPublicKey>> {
    let grace = secrets::grace_period(input.and_then(|i| i.grace_period_seconds))?;
    let mode = tenant.mode();
    let rotated = retrying(|| async {
        let account = accounts::get(&state.db, tenant.account_id())
            .await?
            .ok_or(ApiError::NotFound("Account"))?;
        let now = Timestamp::now();
        let next = shared::webhooks::signing::new_ed25519_key();
        let keys = match account.open_signing_keys(&state.keyring, mode).await? {
            Some(mut keys) => {
                keys.rotate_to(next, now, grace);
                keys
            }
            None => shared::secrets::SigningSecrets {
                current: next,
                retired: Vec::new(),
            },
        };
        let context = SecretContext::account_keys(&account.id, mode);
        let sealed = state.keyring.seal(&keys, &context).await?;
        let published = shared::account::published(&keys);
        accounts::set_signing_keys(
            &state.db,
            &account.id,
            mode,
            account.signing_keys(mode),
            &sealed,
            &published,
        )
        .await?;
        Ok(published.current)
    })
    .await?;
    Ok(Json(NewPublicKey {
        public_key: rotated,
    }))
}

#[derive(Serialize, utoipa::ToSchema)]
struct Health {
    /// `ok`, or `maintenance` (with 503) while the operator's switch is on.
    status: &'static str,
    /// While in maintenance: what every other route answers.
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<String>,
}

/// The OpenAPI document, generated from every function's operations by `pushguard
/// openapi` (a test keeps the file equal to what the code generates).
pub const OPENAPI: &str = include_str!("../../../openapi.json");

async fn openapi() -> Response {
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        OPENAPI,
    )
        .into_response()
}

async fn health(State(state): State<AppState>) -> Response {
    let Some(retry_after_seconds) = state.config.maintenance else {
        return Json(Health {
            status: "ok",
            message: None,
        })
        .into_response();
    };
    let refusal = ApiError::Maintenance {
        retry_after_seconds,
    };
    let health = Health {
        status: "maintenance",
        message: Some(refusal.to_string()),
    };
    let mut response = (refusal.status(), Json(health)).into_response();
    response.headers_mut().insert(
        axum::http::header::RETRY_AFTER,
        axum::http::HeaderValue::from(retry_after_seconds),
    );
    response
}

/// The account and the key that asks.
#[derive(Serialize, utoipa::ToSchema)]
struct AccountInfo {
    /// The account the request acts on: the key's own, or the child it acts for.
    id: String,
    email: String,
    mode: Mode,
    /// Its holding account, for a child account.
    parent_id: Option<String>,
    key: KeyInfo,
}

#[derive(Serialize, utoipa::ToSchema)]
struct KeyInfo {
    id: String,
    /// The key's own account (the holding account, when the request acts for a child).
    account_id: String,
    scopes: Vec<Scope>,
}

async fn show(
    State(state): State<AppState>,
    Auth(principal): Auth,
    tenant: Scoped<Read<groups::Account>>,
) -> ApiResult<Json<AccountInfo>> {
    let account = accounts::get(&state.db, tenant.account_id())
        .await?
        .ok_or(ApiError::NotFound("Account"))?;
    Ok(Json(AccountInfo {
        id: account.id.into_string(),
        email: account.email,
        mode: principal.mode,
        parent_id: account.parent_id.map(|p| p.into_string()),
        key: KeyInfo {
            id: principal.key_id.into_string(),
            account_id: principal.account_id.into_string(),
            scopes: principal.scopes,
        },
    }))
}

/// Test keys administer test keys only: a leaked test key must not reach live data.
fn manageable_modes(principal: &Principal) -> Option<Mode> {
    match principal.mode {
        Mode::Live => None,
        Mode::Test => Some(Mode::Test),
    }
}

async fn list_keys(
    State(state): State<AppState>,
    Auth(principal): Auth,
    _account: Scoped<Read<groups::Account>>,
    OriginalUri(uri): OriginalUri,
    Query(params): Query<PageParams>,
) -> ApiResult<Response> {
    own_keys_only(&principal)?;
    let page = params.validate()?;
    let keys = api_keys::list(
        &state.db,
        &principal.account_id,
        manageable_modes(&principal),
        page,
    )
    .await?;
    Ok(keys.respond(&uri, ApiKey::view))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct KeyInput {
    name: Option<String>,
    scopes: Option<Vec<String>>,
    mode: Option<String>,
    #[serde(default)]
    require_signed: bool,
}

async fn create_key(
    State(state): State<AppState>,
    Auth(principal): Auth,
    _account: Scoped<Write<groups::Account>>,
    ApiJson(input): ApiJson<KeyInput>,
) -> ApiResult<Response> {
    own_keys_only(&principal)?;
    let mut errors = Violations::new();
    let name = input.name.map(|n| n.trim().to_string()).unwrap_or_default();
    if name.is_empty() {
        errors.add(t!("Name can't be blank"));
    } else if name.chars().count() > MAX_NAME_LENGTH {
        errors.add(t!(
            "Name is too long (maximum is {max} characters)",
            max = MAX_NAME_LENGTH
        ));
    }
    let mut scopes = Vec::new();
    match input.scopes {
        None => errors.add(t!("Scopes can't be blank")),
        Some(list) if list.is_empty() => errors.add(t!("Scopes can't be blank")),
        Some(list) => {
            for text in list {
                match text.parse::<Scope>() {
                    Ok(scope) if !scopes.contains(&scope) => scopes.push(scope),
                    Ok(_) => {}
                    Err(message) => errors.add(message),
                }
            }
        }
    }
    let mode = errors.parse::<Mode>(input.mode.as_deref());
    let mode = errors.finish_with(mode)?.unwrap_or(principal.mode);
    let escalates = scopes.iter().any(|s| !s.is_covered_by(&principal.scopes));
    if escalates || manageable_modes(&principal).is_some_and(|m| m != mode) {
        return Err(ApiError::Forbidden);
    }
    let spec = KeySpec {
        name,
        scopes,
        require_signed: input.require_signed,
    };
    let (mut key, secret) = ApiKey::generate(&principal.account_id, mode, spec);
    key.seal_signing_secret(&state.keyring).await?;
    api_keys::create(&state.db, &key).await?;
    Ok((StatusCode::CREATED, Json(with_secret(&key, &secret))).into_response())
}

/// The create and roll responses: the key and, for a key that requires signed requests,
/// its signing secret, each shown this once.
fn with_secret<'a>(key: &'a ApiKey, secret: &'a ApiKeySecret) -> ApiKeyView<'a> {
    let mut view = key.view();
    view.key = Some(secret.expose());
    view.signing_secret = key.signing_secret.as_ref().map(|s| s.expose());
    view
}

/// Every stored version of a key the caller may manage: 404 for a key it cannot see,
/// 403 for one whose scopes its own do not cover (rolling a key hands over its power).
async fn manageable_key(
    state: &AppState,
    principal: &Principal,
    id: &ApiKeyId,
) -> ApiResult<Vec<ApiKey>> {
    let versions = api_keys::versions(&state.db, &principal.account_id, id).await?;
    let Some(key) = versions
        .first()
        .filter(|k| manageable_modes(principal).is_none_or(|m| m == k.mode))
    else {
        return Err(ApiError::NotFound("API key"));
    };
    if !key
        .scopes
        .iter()
        .all(|s| s.is_covered_by(&principal.scopes))
    {
        return Err(ApiError::Forbidden);
    }
    Ok(versions)
}

async fn revoke_key(
    State(state): State<AppState>,
    Auth(principal): Auth,
    _account: Scoped<Write<groups::Account>>,
    PathId(id): PathId<kinds::ApiKey>,
) -> ApiResult<StatusCode> {
    own_keys_only(&principal)?;
    let versions = manageable_key(&state, &principal, &id).await?;
    api_keys::revoke(&state.db, &versions).await?;
    state.auth.forget(versions.iter().map(|k| &k.key_hash));
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct RollInput {
    /// Seconds the old secret keeps working (0, the default, ends it now).
    expires_in: Option<u64>,
}

async fn roll_key(
    State(state): State<AppState>,
    Auth(principal): Auth,
    _account: Scoped<Write<groups::Account>>,
    PathId(id): PathId<kinds::ApiKey>,
    OptionalJson(input): OptionalJson<RollInput>,
) -> ApiResult<Response> {
    own_keys_only(&principal)?;
    let expires_in = input.and_then(|i| i.expires_in).unwrap_or(0);
    if expires_in > secrets::MAX_GRACE_SECONDS {
        return Err(ApiError::invalid(t!(
            "Expires in must be between 0 and {max} seconds",
            max = secrets::MAX_GRACE_SECONDS
        )));
    }
    let versions = manageable_key(&state, &principal, &id).await?;
    let current = versions
        .iter()
        .find(|k| !k.superseded)
        .ok_or(ApiError::NotFound("API key"))?;
    let secret = ApiKeySecret::generate(current.mode);
    let spec = KeySpec {
        name: current.name.clone(),
        scopes: current.scopes.clone(),
        require_signed: current.require_signed,
    };
    let mut rolled = ApiKey::for_secret(&principal.account_id, current.id.clone(), &secret, spec);
    rolled.seal_signing_secret(&state.keyring).await?;
    let expires_at =
        (expires_in > 0).then(|| Timestamp::now().plus(Duration::from_secs(expires_in)));
    api_keys::roll(&state.db, current, &rolled, expires_at).await?;
    state.auth.forget([&current.key_hash]);
    Ok(Json(with_secret(&rolled, &secret)).into_response())
}

async fn rotate_webhook_secret(
    State(state): State<AppState>,
    tenant: Scoped<Write<groups::Account>>,
    OptionalJson(input): OptionalJson<RotateInput>,
) -> ApiResult<Json<NewSecret>> {
    let grace = secrets::grace_period(input.and_then(|i| i.grace_period_seconds))?;
    // Read, rotate, write if nobody rotated meanwhile; else again from the new state.
    let rotated = retrying(|| async {
        let account = accounts::get(&state.db, tenant.account_id())
            .await?
            .ok_or(ApiError::NotFound("Account"))?;
        let mut secrets = account
            .open_webhook_secret(&state.keyring, tenant.mode())
            .await?;
        secrets.rotate(Timestamp::now(), grace);
        let context = SecretContext::account(&account.id, tenant.mode());
        let sealed = state.keyring.seal(&secrets, &context).await?;
        accounts::set_webhook_secret(
            &state.db,
            tenant.account_id(),
            tenant.mode(),
            account.webhook_secret(tenant.mode()),
            &sealed,
        )
        .await?;
        Ok(secrets.current)
    })
    .await?;
    Ok(Json(NewSecret { secret: rotated }))
}
