//! Pixlpay's external webhooks API (seed 003): `GET/POST /api/external/v1/webhooks`,
//! `GET/PUT/DELETE .../webhooks/{id}`, `POST .../webhooks/{id}/test`, with a Bearer key.
//! Every answer is the `{success, data, message}` envelope; ids are integers (each
//! endpoint's number in its tenant, never reused); events are dotted (`order.paid`);
//! input problems are 422 with each listed. Deliveries carry the dotted name and
//! `X-Pixlpay-Signature` (see `webhooks::dialect`).

use super::{Failure, answer, not_found};
use crate::language::Language;
use crate::t;
use crate::{
    ApiResult, AppState, Tenant, Timestamp,
    auth::{Read, Scoped, Write, groups},
    error::Violations,
    http::ApiJson,
    manage,
    routes::Routes,
    webhooks::{Dialect, Endpoint, LogStatus},
};
use axum::{
    extract::{Path, Request, State},
    http::StatusCode,
    middleware::Next,
    response::Response,
};
use serde::{Deserialize, Serialize};
use serde_json::json;

pub(crate) const BASE: &str = "/api/external/v1/webhooks";
const ONE: &str = "/api/external/v1/webhooks/{id}";
const DIALECT: Dialect = Dialect::Pixlpay;

/// Pixlpay's routes and their documentation.
pub fn routes() -> Routes {
    Routes::new("pixlpay")
        .errors_as::<PixlpayError>()
        .get(BASE, list, |op| {
            op.summary("List webhooks (Pixlpay)")
                .returns::<WebhookList>(200, "`{success, data}`: every webhook")
        })
        .post(BASE, create, |op| {
            op.summary("Create a webhook (Pixlpay)")
                .body_example::<WebhookInput>(serde_json::json!({
                    "url": "https://yourapp.com/webhooks/pixlpay",
                    "events": ["order.created", "order.paid", "order.completed"]
                }))
                .requiring(&["url"])
                .creates("/data/id")
                .returns::<WebhookAnswer>(201, "The webhook with its `secret`, shown this once")
        })
        .get(ONE, retrieve, |op| {
            op.summary("Retrieve a webhook (Pixlpay)")
                .returns::<WebhookAnswer>(200, "The webhook")
        })
        .put(ONE, update, |op| {
            op.summary("Update a webhook (Pixlpay)")
                .body::<WebhookInput>()
                .errors(&[422])
                .returns::<WebhookAnswer>(200, "The webhook")
        })
        .delete(ONE, destroy, |op| {
            op.summary("Delete a webhook (Pixlpay)")
                .returns::<Deleted>(200, "`{success, message}`")
        })
        .post("/api/external/v1/webhooks/{id}/test", test, |op| {
            op.summary("Send a test payload now (Pixlpay)")
                .returns::<TestAnswer>(200, "`{delivered, response_code, response_time_ms}`")
        })
}

/// Pixlpay's envelope around every answer: one type per kind of `data`, so the
/// OpenAPI document names each (a generic type would give them one name).
macro_rules! envelope {
    ($($name:ident($data:ty): $about:literal;)*) => {$(
        #[doc = $about]
        #[derive(Serialize, utoipa::ToSchema)]
        pub struct $name {
            success: bool,
            data: $data,
            #[serde(skip_serializing_if = "Option::is_none")]
            message: Option<String>,
        }

        impl $name {
            fn answer(status: StatusCode, data: $data, message: Option<String>) -> Response {
                answer(status, json!($name { success: true, data, message }))
            }
        }
    )*};
}

envelope! {
    WebhookList(Vec<WebhookView>): "Pixlpay's answer with every webhook.";
    WebhookAnswer(WebhookView): "Pixlpay's answer with one webhook.";
    TestAnswer(TestView): "Pixlpay's answer to a test.";
}

/// Pixlpay's errors.
#[derive(Serialize, utoipa::ToSchema)]
pub struct PixlpayError {
    /// Always `false`.
    success: bool,
    message: String,
    /// Every problem (input problems answer 422).
    errors: Vec<String>,
}

/// What a delete answers.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Deleted {
    success: bool,
    message: String,
}

/// A webhook as Pixlpay shows it.
#[derive(Serialize, utoipa::ToSchema)]
pub struct WebhookView {
    /// Its number among the store's webhooks.
    id: u64,
    url: String,
    /// Dotted event names, e.g. `order.paid`.
    events: Vec<String>,
    is_active: bool,
    /// Only in the create response.
    #[serde(skip_serializing_if = "Option::is_none")]
    secret: Option<String>,
    created_at: Timestamp,
}

/// What the test route reports.
#[derive(Serialize, utoipa::ToSchema)]
pub struct TestView {
    delivered: bool,
    response_code: u16,
    response_time_ms: u64,
}

/// The body of create and update (update: every field optional).
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct WebhookInput {
    /// An https URL.
    url: Option<String>,
    /// Dotted event names (see the mapping in docs/migrating.md); `["*"]` for every event.
    events: Option<Vec<String>>,
    is_active: Option<bool>,
}

impl WebhookInput {
    /// PushGuard's input, with every unknown event name listed.
    fn into_input(self) -> manage::EndpointInput {
        let mut errors = Violations::new();
        let events = self
            .events
            .as_deref()
            .and_then(|names| super::event_types(DIALECT, names, &mut errors));
        manage::EndpointInput {
            url: self.url,
            events_refused: self.events.is_some() && events.is_none(),
            events,
            enabled: self.is_active,
            problems: errors.into_messages(),
            ..Default::default()
        }
    }
}

fn view(endpoint: &Endpoint, secret: Option<String>) -> WebhookView {
    let mut events: Vec<String> = endpoint
        .events
        .iter()
        .map(|selector| match selector.to_string().as_str() {
            "*" => "*".to_string(),
            ours => DIALECT.event_name(ours),
        })
        .collect();
    events.dedup();
    WebhookView {
        id: endpoint.number.unwrap_or_default(),
        url: endpoint.url.masked(),
        events,
        is_active: endpoint.enabled,
        secret,
        created_at: endpoint.created_at,
    }
}

/// The tenant's Pixlpay endpoints, by number.
async fn all(state: &AppState, tenant: &Tenant) -> ApiResult<Vec<Endpoint>> {
    let mut endpoints = super::endpoints_of(state, tenant, DIALECT).await?;
    endpoints.sort_by_key(|e| e.number);
    Ok(endpoints)
}

/// The tenant's Pixlpay endpoint numbered `id`, or 404.
async fn find(state: &AppState, tenant: &Tenant, id: &str) -> ApiResult<Endpoint> {
    let number: u64 = id.parse().map_err(|_| not_found())?;
    all(state, tenant)
        .await?
        .into_iter()
        .find(|e| e.number == Some(number))
        .ok_or_else(not_found)
}

async fn list(
    State(state): State<AppState>,
    tenant: Scoped<Read<groups::Webhooks>>,
) -> ApiResult<Response> {
    let views: Vec<WebhookView> = all(&state, &tenant)
        .await?
        .iter()
        .map(|e| view(e, None))
        .collect();
    Ok(WebhookList::answer(StatusCode::OK, views, None))
}

async fn create(
    State(state): State<AppState>,
    tenant: Scoped<Write<groups::Webhooks>>,
    ApiJson(input): ApiJson<WebhookInput>,
) -> ApiResult<Response> {
    let (endpoint, secret) =
        manage::create_as(&state, &tenant, input.into_input(), DIALECT).await?;
    Ok(WebhookAnswer::answer(
        StatusCode::CREATED,
        view(&endpoint, Some(secret)),
        Some(t!("Webhook created successfully")),
    ))
}

async fn retrieve(
    State(state): State<AppState>,
    tenant: Scoped<Read<groups::Webhooks>>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let endpoint = find(&state, &tenant, &id).await?;
    Ok(WebhookAnswer::answer(
        StatusCode::OK,
        view(&endpoint, None),
        None,
    ))
}

async fn update(
    State(state): State<AppState>,
    tenant: Scoped<Write<groups::Webhooks>>,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<WebhookInput>,
) -> ApiResult<Response> {
    let endpoint = find(&state, &tenant, &id).await?;
    let input = input.into_input();
    let endpoint = match input.enabled {
        // Pixlpay's `is_active` is PushGuard's enable/disable (enabling clears the streak).
        Some(enabled) if enabled != endpoint.enabled => {
            let updated = manage::update(
                &state,
                &tenant,
                &endpoint.id,
                manage::EndpointInput {
                    enabled: None,
                    ..input
                },
            )
            .await?;
            manage::set_enabled(&state, &tenant, &updated.id, enabled).await?
        }
        _ => manage::update(&state, &tenant, &endpoint.id, input).await?,
    };
    Ok(WebhookAnswer::answer(
        StatusCode::OK,
        view(&endpoint, None),
        Some(t!("Webhook updated successfully")),
    ))
}

async fn destroy(
    State(state): State<AppState>,
    tenant: Scoped<Write<groups::Webhooks>>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let endpoint = find(&state, &tenant, &id).await?;
    manage::delete(&state, &tenant, &endpoint).await?;
    let deleted = Deleted {
        success: true,
        message: t!("Webhook deleted successfully"),
    };
    Ok(answer(StatusCode::OK, json!(deleted)))
}

async fn test(
    State(state): State<AppState>,
    tenant: Scoped<Write<groups::Webhooks>>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let endpoint = find(&state, &tenant, &id).await?;
    let log = manage::test(&state, &tenant, &endpoint.id).await?;
    let delivered = log.status == LogStatus::Succeeded;
    let message = if delivered {
        t!("Test webhook delivered successfully")
    } else {
        t!("Test webhook could not be delivered")
    };
    let data = TestView {
        delivered,
        response_code: log.response_code,
        response_time_ms: log.duration_ms,
    };
    Ok(TestAnswer::answer(StatusCode::OK, data, Some(message)))
}

/// Pixlpay's errors: `{success: false, message, errors}`, and input problems as 422
/// (the status its documents give an invalid URL or event list).
pub(crate) async fn edge(request: Request, next: Next) -> Response {
    let language = Language::of_request(request.headers(), Language::English);
    let failure = match Failure::of(next.run(request).await).await {
        Ok(failure) => failure,
        Err(response) => return response,
    };
    let status = match failure.status {
        StatusCode::BAD_REQUEST => StatusCode::UNPROCESSABLE_ENTITY,
        other => other,
    };
    let message = match failure.status {
        StatusCode::BAD_REQUEST => t!(language => "The given data was invalid."),
        StatusCode::UNAUTHORIZED => t!(language => "Unauthenticated."),
        StatusCode::FORBIDDEN => {
            t!(language => "This action is unauthorized: the token lacks the required scope.")
        }
        StatusCode::NOT_FOUND => t!(language => "Webhook not found."),
        _ => failure.message.clone(),
    };
    let errors = failure.problems().into_iter().map(String::from).collect();
    let body = json!(PixlpayError {
        success: false,
        message,
        errors,
    });
    failure.render(status, &body)
}
