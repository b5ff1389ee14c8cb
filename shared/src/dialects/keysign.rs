//! The Key/Sign subscription webhook API (seed 004): one webhook channel per account
//! and mode, managed by
//! `POST /api/v1/subscription/webhook` (list), `POST .../webhook/create`,
//! `POST .../webhook/change`, `DELETE .../webhook` and
//! `DELETE .../webhook/api-keys/regenerate`.
//!
//! Every call is signed: header `Key` is a PushGuard API key that has a signing secret
//! (made with `require_signed: true`), header `Sign` the lowercase hex HMAC-SHA256 of
//! the exact body bytes under that secret, and the body's `timestamp` (unix
//! milliseconds) within 3 minutes of now; a wrong, stale or replayed signature is a
//! 401 (`auth::BodySigned`). The body's `account` must be the key's own account, or a
//! child account it acts for (`auth` reads it, as it reads `X-Child-Company-Id`).
//!
//! Answers are the seed's channel object. Its `publicKey` and `secretKey` are the
//! channel's own pair, which deliveries carry the same way: `Key: <publicKey>` and
//! `Sign: hex HMAC-SHA256(secretKey, body)`; `api-keys/regenerate` replaces the pair.

use super::{answer, not_found};
use crate::t;
use crate::{
    ApiError, ApiResult, AppState, Tenant, Timestamp,
    auth::{BodySigned, Read, Scoped, Write, groups},
    error::Violations,
    http::ApiJson,
    ids::EndpointId,
    manage,
    routes::Routes,
    webhooks::{Dialect, Endpoint, dialect::keysign_public_key},
};
use axum::{
    extract::{Request, State},
    http::{HeaderName, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::time::Duration;

pub(crate) const BASE: &str = "/api/v1/subscription/webhook";
const DIALECT: Dialect = Dialect::KeySign;

/// The Key/Sign API's routes and their documentation.
pub fn routes() -> Routes {
    Routes::new("keysign")
        .post(BASE, list, |op| {
            op.summary("Get list of Webhook Subscriptions (Key/Sign)")
                .body::<ChannelRequest>()
                .returns::<Channels>(200, "The account's channel, if it has one")
        })
        .delete(BASE, destroy, |op| {
            op.summary("Delete Webhook (Key/Sign)")
                .body::<ChannelRequest>()
                .empty(200, "Deleted; no content")
        })
        .post("/api/v1/subscription/webhook/create", create, |op| {
            op.summary("Create Webhook (Key/Sign)")
                .body::<ChannelRequest>()
                .returns::<Channel>(200, "Webhook channel information")
        })
        .post("/api/v1/subscription/webhook/change", change, |op| {
            op.summary("Change Webhook (Key/Sign)")
                .body::<ChannelRequest>()
                .returns::<Channel>(200, "Webhook channel information")
        })
        .delete(
            "/api/v1/subscription/webhook/api-keys/regenerate",
            regenerate,
            |op| {
                op.summary("Regenerate Webhook Api keys (Key/Sign)")
                    .body::<ChannelRequest>()
                    .returns::<Channel>(200, "The channel with its new publicKey and secretKey")
            },
        )
}

/// Every call's body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChannelRequest {
    /// The merchant account the request is for: the key's own, or a child account of it.
    account: Option<String>,
    /// Unix milliseconds, within 3 minutes of now (checked with the signature).
    #[allow(dead_code)] // read by the signature check (`auth::BodySigned`)
    timestamp: i64,
    /// Where deliveries go: required to create, optional to change.
    url: Option<String>,
    /// Change only: enable or disable the channel.
    enabled: Option<bool>,
}

impl ChannelRequest {
    /// Refused unless `account` names the tenant the request acts on (required unless
    /// `optional`): authentication already acted for the child it names, if any.
    fn check_account(&self, tenant: &Tenant, optional: bool) -> ApiResult<()> {
        match self.account.as_deref() {
            None if optional => Ok(()),
            None => Err(ApiError::invalid(t!("Account can't be blank"))),
            Some(account) if account == tenant.account_id().as_str() => Ok(()),
            Some(_) => Err(ApiError::Refused(t!(
                "The account is not the key's: a key acts for its own account only"
            ))),
        }
    }
}

/// The seed's webhook channel information.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Channel {
    /// The channel's id as a UUID (the request that created it).
    request_id: String,
    url: String,
    /// Names the channel on every delivery (`Key`).
    public_key: String,
    /// Signs every delivery (`Sign`).
    secret_key: String,
    created_date: Timestamp,
    enabled: bool,
    blocked_by_error_count: bool,
    error_count: u32,
    error_first_date: Option<Timestamp>,
    error_last_date: Option<Timestamp>,
}

/// What the list answers.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Channels {
    webhooks: Vec<Channel>,
}

/// The channel's id as the seed shows ids: the ULID's 128 bits as a UUID.
fn uuid_of(id: &EndpointId) -> String {
    let bits = ulid::Ulid::from_string(id.unprefixed())
        .map(u128::from)
        .unwrap_or_default();
    let hex = format!("{bits:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

fn channel(endpoint: &Endpoint, secret: String) -> Channel {
    Channel {
        request_id: uuid_of(&endpoint.id),
        url: endpoint.url.masked(),
        public_key: keysign_public_key(&secret),
        secret_key: secret,
        created_date: endpoint.created_at,
        enabled: endpoint.enabled,
        blocked_by_error_count: endpoint.blocked_by_error_count,
        error_count: endpoint.error_count,
        error_first_date: endpoint.error_first_at,
        error_last_date: endpoint.error_last_at,
    }
}

/// The channel with its secret key opened (the seed's answers always carry it).
async fn opened(state: &AppState, tenant: &Tenant, endpoint: &Endpoint) -> ApiResult<Channel> {
    let secret = manage::current_secret(state, tenant, endpoint).await?;
    Ok(channel(endpoint, secret))
}

/// The tenant's channel, if it has one.
async fn current(state: &AppState, tenant: &Tenant) -> ApiResult<Option<Endpoint>> {
    Ok(super::endpoints_of(state, tenant, DIALECT)
        .await?
        .into_iter()
        .next())
}

async fn list(
    State(state): State<AppState>,
    tenant: Scoped<Read<groups::Webhooks>>,
    ApiJson(input): ApiJson<ChannelRequest>,
) -> ApiResult<Response> {
    input.check_account(&tenant, false)?;
    let mut webhooks = Vec::new();
    if let Some(endpoint) = current(&state, &tenant).await? {
        webhooks.push(opened(&state, &tenant, &endpoint).await?);
    }
    Ok(answer(StatusCode::OK, json!(Channels { webhooks })))
}

async fn create(
    State(state): State<AppState>,
    tenant: Scoped<Write<groups::Webhooks>>,
    ApiJson(input): ApiJson<ChannelRequest>,
) -> ApiResult<Response> {
    input.check_account(&tenant, false)?;
    if current(&state, &tenant).await?.is_some() {
        return Err(ApiError::Conflict(t!(
            "The account has a webhook channel already: change it with /webhook/change"
        )));
    }
    let mut problems = Violations::new();
    if input.enabled.is_some() {
        problems.add(t!("Enabled is set with /webhook/change"));
    }
    let input = manage::EndpointInput {
        url: input.url,
        events: Some(vec!["*".to_string()]),
        problems: problems.into_messages(),
        ..Default::default()
    };
    let (endpoint, secret) = manage::create_as(&state, &tenant, input, DIALECT).await?;
    Ok(answer(StatusCode::OK, json!(channel(&endpoint, secret))))
}

async fn change(
    State(state): State<AppState>,
    tenant: Scoped<Write<groups::Webhooks>>,
    ApiJson(input): ApiJson<ChannelRequest>,
) -> ApiResult<Response> {
    input.check_account(&tenant, false)?;
    let endpoint = current(&state, &tenant).await?.ok_or_else(not_found)?;
    let mut endpoint = manage::update(
        &state,
        &tenant,
        &endpoint.id,
        manage::EndpointInput {
            url: input.url,
            ..Default::default()
        },
    )
    .await?;
    if let Some(enabled) = input.enabled.filter(|e| *e != endpoint.enabled) {
        endpoint = manage::set_enabled(&state, &tenant, &endpoint.id, enabled).await?;
    }
    Ok(answer(
        StatusCode::OK,
        json!(opened(&state, &tenant, &endpoint).await?),
    ))
}

async fn destroy(
    State(state): State<AppState>,
    tenant: Scoped<Write<groups::Webhooks>>,
    ApiJson(input): ApiJson<ChannelRequest>,
) -> ApiResult<Response> {
    input.check_account(&tenant, false)?;
    let endpoint = current(&state, &tenant).await?.ok_or_else(not_found)?;
    manage::delete(&state, &tenant, &endpoint).await?;
    Ok(StatusCode::OK.into_response())
}

async fn regenerate(
    State(state): State<AppState>,
    tenant: Scoped<Write<groups::Webhooks>>,
    ApiJson(input): ApiJson<ChannelRequest>,
) -> ApiResult<Response> {
    input.check_account(&tenant, true)?;
    let endpoint = current(&state, &tenant).await?.ok_or_else(not_found)?;
    // The old pair stops at once: that is what regenerating keys is for.
    let secret = manage::rotate_secret(&state, &tenant, &endpoint.id, Duration::ZERO).await?;
    let endpoint = manage::find(&state, &tenant, &endpoint.id).await?;
    Ok(answer(StatusCode::OK, json!(channel(&endpoint, secret))))
}

/// The Key/Sign edge: `Key` is the API key, and the request is marked as signed the
/// Key/Sign way so that authentication checks `Sign` over the body (`auth::BodySigned`).
pub(crate) async fn edge(mut request: Request, next: Next) -> Response {
    let headers = request.headers_mut();
    headers.remove(axum::http::header::AUTHORIZATION);
    headers.remove("x-api-key");
    // Without a key the route's scope check answers 401.
    if let Some(key) = headers.remove("key") {
        headers.insert(HeaderName::from_static("x-api-key"), key);
        request.extensions_mut().insert(BodySigned);
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_channel_id_is_its_ulid_written_as_a_uuid() {
        let id: crate::ids::EndpointId = "ep_01ARZ3NDEKTSV4RRFFQ69G5FAV".parse().unwrap();
        let bits = u128::from(ulid::Ulid::from_string("01ARZ3NDEKTSV4RRFFQ69G5FAV").unwrap());
        let uuid = uuid_of(&id);
        assert_eq!(uuid.len(), 36);
        assert_eq!(uuid.replace('-', ""), format!("{bits:032x}"));
    }
}
