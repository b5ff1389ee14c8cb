//! Paybyrd's webhook settings (seed 002): `POST/GET /api/v2/webhooks`,
//! `GET /api/v2/webhooks/{id}`, `POST /api/v2/webhooks/{id}/disable` and `/enable`, with
//! `X-Api-Key`. No delete, as Paybyrd has none ("for security purposes"): a setting is
//! disabled instead. A setting made with only `{"url": ...}` hears of every change of
//! an order's (a payment's) status; its URL, user and password are shown masked. The
//! paths share `/api/v2/webhooks` with PushGuard's own `/api/v2/webhooks/endpoints`,
//! `/logs`, `/simulate` and `/public-keys/...`: a fixed segment wins over `{id}`, in
//! API Gateway as in the router. Deliveries are Paybyrd's
//! `{webhookId, contextType, paymentId, transactionId, orderId}`, delivered only on
//! 200, 201 or 202, in 12 attempts (see `webhooks::dialect`).

use super::answer;
use crate::t;
use crate::{
    ApiResult, AppState, Tenant, Timestamp,
    auth::{Read, Scoped, Write, groups},
    http::ApiJson,
    manage,
    routes::Routes,
    webhooks::{Dialect, Endpoint, EventType},
};
use axum::{
    extract::{Path, State},
    http::StatusCode,
    response::Response,
};
use serde::{Deserialize, Serialize};
use serde_json::json;

pub(crate) const BASE: &str = "/api/v2/webhooks";
pub(crate) const ONE: &str = "/api/v2/webhooks/{id}";
const DIALECT: Dialect = Dialect::Paybyrd;
/// What a Paybyrd setting hears of: every change of an order, its status included.
const STATUS_CHANGES: EventType = EventType::OrderUpdated;
/// The one context Paybyrd's settings are notified of.
const CONTEXT: &str = "event:paymentStatusChanged";
const MASK: &str = "****";

/// Paybyrd's routes and their documentation.
pub fn routes() -> Routes {
    Routes::new("paybyrd")
        .post(BASE, create, |op| {
            op.summary("Set up a webhook setting (Paybyrd)")
                .body::<SettingInput>()
                .requiring(&["url"])
                .creates("/webhookId")
                .returns::<Setting>(201, "The setting, its URL, user and password masked")
        })
        .get(BASE, list, |op| {
            op.summary("Retrieve the webhook settings (Paybyrd)")
                .returns::<Vec<Setting>>(200, "Every setting, newest first")
        })
        .get(ONE, retrieve, |op| {
            op.summary("Retrieve a webhook setting (Paybyrd)")
                .returns::<Setting>(200, "The setting")
        })
        .post("/api/v2/webhooks/{id}/disable", disable, |op| {
            op.summary("Disable a webhook setting (Paybyrd)")
                .returns::<Setting>(200, "The setting, no longer called")
        })
        .post("/api/v2/webhooks/{id}/enable", enable, |op| {
            op.summary("Enable a webhook setting (Paybyrd)")
                .returns::<Setting>(200, "The setting, called again")
        })
}

/// What a setting is made from: the receiver's URL, and optionally the user and
/// password it wants (sent as HTTP Basic authentication, kept in the URL).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SettingInput {
    /// An https URL, different from the subscription's other settings'.
    url: Option<String>,
    username: Option<String>,
    password: Option<String>,
}

/// A webhook setting as Paybyrd shows it.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Setting {
    webhook_id: String,
    /// The URL, credentials masked.
    url: String,
    /// `****` when the URL carries a user, else null.
    username: Option<&'static str>,
    /// `****` when the URL carries a password, else null.
    password: Option<&'static str>,
    is_active: bool,
    /// Set after deliveries kept failing (enable it again to clear).
    blocked_by_error_count: bool,
    /// What it hears of: `event:paymentStatusChanged`.
    events: Vec<&'static str>,
    created_date: Timestamp,
}

fn setting(endpoint: &Endpoint) -> Setting {
    let url = endpoint.url.as_url();
    let masked = |present: bool| present.then_some(MASK);
    Setting {
        webhook_id: endpoint.id.to_string(),
        url: endpoint.url.masked(),
        username: masked(!url.username().is_empty()),
        password: masked(url.password().is_some()),
        is_active: endpoint.enabled,
        blocked_by_error_count: endpoint.blocked_by_error_count,
        events: vec![CONTEXT],
        created_date: endpoint.created_at,
    }
}

impl SettingInput {
    /// PushGuard's input: the URL with its credentials in it, and the status changes.
    fn into_input(self) -> manage::EndpointInput {
        let mut problems = Vec::new();
        let url = match (self.url, self.username, self.password) {
            (Some(text), user, password) if user.is_some() || password.is_some() => {
                match url::Url::parse(&text) {
                    Ok(mut url) => {
                        let set = url
                            .set_username(user.as_deref().unwrap_or_default())
                            .and_then(|()| url.set_password(password.as_deref()));
                        if set.is_err() {
                            problems.push(t!("Url cannot carry a user and password"));
                        }
                        Some(url.to_string())
                    }
                    // PushGuard's validation says what is wrong with it.
                    Err(_) => Some(text),
                }
            }
            (url, _, _) => url,
        };
        manage::EndpointInput {
            url,
            events: Some(vec![STATUS_CHANGES.as_str().to_string()]),
            problems,
            ..Default::default()
        }
    }
}

async fn all(state: &AppState, tenant: &Tenant) -> ApiResult<Vec<Endpoint>> {
    super::endpoints_of(state, tenant, DIALECT).await
}

async fn find(state: &AppState, tenant: &Tenant, id: &str) -> ApiResult<Endpoint> {
    super::endpoint_of(state, tenant, DIALECT, id).await
}

async fn create(
    State(state): State<AppState>,
    tenant: Scoped<Write<groups::Webhooks>>,
    ApiJson(input): ApiJson<SettingInput>,
) -> ApiResult<Response> {
    let (endpoint, _secret) =
        manage::create_as(&state, &tenant, input.into_input(), DIALECT).await?;
    Ok(answer(StatusCode::CREATED, json!(setting(&endpoint))))
}

async fn list(
    State(state): State<AppState>,
    tenant: Scoped<Read<groups::Webhooks>>,
) -> ApiResult<Response> {
    let settings: Vec<Setting> = all(&state, &tenant).await?.iter().map(setting).collect();
    Ok(answer(StatusCode::OK, json!(settings)))
}

async fn retrieve(
    State(state): State<AppState>,
    tenant: Scoped<Read<groups::Webhooks>>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let endpoint = find(&state, &tenant, &id).await?;
    Ok(answer(StatusCode::OK, json!(setting(&endpoint))))
}

async fn disable(
    state: State<AppState>,
    tenant: Scoped<Write<groups::Webhooks>>,
    id: Path<String>,
) -> ApiResult<Response> {
    set_enabled(state, tenant, id, false).await
}

async fn enable(
    state: State<AppState>,
    tenant: Scoped<Write<groups::Webhooks>>,
    id: Path<String>,
) -> ApiResult<Response> {
    set_enabled(state, tenant, id, true).await
}

async fn set_enabled(
    State(state): State<AppState>,
    tenant: Scoped<Write<groups::Webhooks>>,
    Path(id): Path<String>,
    enabled: bool,
) -> ApiResult<Response> {
    let endpoint = find(&state, &tenant, &id).await?;
    let endpoint = manage::set_enabled(&state, &tenant, &endpoint.id, enabled).await?;
    Ok(answer(StatusCode::OK, json!(setting(&endpoint))))
}
