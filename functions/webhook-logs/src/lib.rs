//! Delivery logs and deliveries made on request.
//!
//! `GET /webhooks/logs` (filters `endpoint_id`, `event`, `status`), `GET /webhooks/logs/{id}`,
//! `POST /webhooks/logs/{id}/retry` (deliver again now), `POST /webhooks/simulate`
//! (send an event's sample payload to any URL now).

use axum::{
    Json, Router,
    extract::{OriginalUri, Query, State},
    response::{IntoResponse, Response},
};
use serde::Deserialize;
use shared::t;
use shared::{
    ApiError, ApiResult, AppState,
    auth::{Read, Scoped, Write, groups},
    delivery::dispatch::{self, TestResult},
    error::Violations,
    http::ApiJson,
    ids::{PathId, kinds},
    openapi::string,
    pagination::PageParams,
    routes::Routes,
    store::logs::{self, LogFilter},
    webhooks::{
        EventType, LogStatus, WebhookLog, WebhookLogView, WebhookUrl, is_event_name, samples,
    },
};

/// This function's routes and their documentation.
pub fn routes() -> Routes {
    Routes::new("webhook logs")
        .get("/api/v2/webhooks/logs", list, |op| {
            op.summary("List delivery logs")
                .returns_list::<WebhookLogView>("Deliveries, newest first")
                .query("endpoint_id", "To this endpoint", string())
                .query("event", "Of this event type", string())
                .query(
                    "status",
                    "`pending`, `succeeded`, `failed` or `retrying`",
                    string(),
                )
        })
        .get("/api/v2/webhooks/logs/{id}", retrieve, |op| {
            op.summary("Retrieve a delivery log")
                .returns::<WebhookLogView>(200, "The delivery, with request and response")
        })
        .post("/api/v2/webhooks/logs/{id}/retry", retry, |op| {
            op.summary("Deliver again now")
                .returns::<WebhookLogView>(200, "The delivery after this attempt")
        })
        .post("/api/v2/webhooks/simulate", simulate, |op| {
            op.summary("Send an event's sample payload to any URL now")
                .body::<SimulateInput>()
                .requiring(&["url", "event"])
                .returns::<TestResult>(200, "How the delivery went")
        })
}

pub fn router(state: AppState) -> Router {
    shared::http::api(routes().router(), state)
}

#[derive(Debug, Deserialize)]
struct ListParams {
    endpoint_id: Option<String>,
    event: Option<String>,
    status: Option<String>,
    #[serde(flatten)]
    page: PageParams,
}

async fn list(
    State(state): State<AppState>,
    tenant: Scoped<Read<groups::Webhooks>>,
    OriginalUri(uri): OriginalUri,
    Query(params): Query<ListParams>,
) -> ApiResult<Response> {
    let mut errors = Violations::new();
    let page = errors.absorbing(params.page.validate());
    let status = errors.parse::<LogStatus>(params.status.as_deref());
    if let Some(name) = params.event.as_deref()
        && !is_event_name(name)
    {
        errors.add(t!("Event {name:?} is not an event type", name));
    }
    let (page, status) = errors.finish_with((page, status))?;
    let filter = LogFilter {
        endpoint_id: params.endpoint_id.filter(|e| !e.is_empty()),
        event: params.event,
        status,
        since: None,
    };
    let page = logs::list(
        &state.db,
        &tenant,
        &filter,
        page,
        state.config.retention_days,
    )
    .await?;
    Ok(page.respond(&uri, WebhookLog::view))
}

async fn retrieve(
    State(state): State<AppState>,
    tenant: Scoped<Read<groups::Webhooks>>,
    PathId(id): PathId<kinds::Log>,
) -> ApiResult<Response> {
    let log = logs::get(&state.db, &tenant, &id)
        .await?
        .ok_or(ApiError::NotFound("Webhook log"))?;
    Ok(Json(log.view()).into_response())
}

/// Delivers again now, whatever the log's status; answers with the updated log.
async fn retry(
    State(state): State<AppState>,
    tenant: Scoped<Write<groups::Webhooks>>,
    PathId(id): PathId<kinds::Log>,
) -> ApiResult<Response> {
    let log = shared::manage::retry(&state, &tenant, &id).await?;
    Ok(Json(log.view()).into_response())
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct SimulateInput {
    /// Where to send it.
    url: Option<String>,
    /// A catalogue event type, e.g. `order:paid`.
    #[schema(value_type = Option<shared::webhooks::EventType>)]
    event: Option<String>,
}

/// Sends the sample payload of `event` to `url`, signed with the account's webhook secret.
/// Test mode only: a sample is signed as genuinely as a real event, so in live mode it
/// would be a live `order:paid` for an order that never was, which a receiver would
/// fulfil.
async fn simulate(
    State(state): State<AppState>,
    tenant: Scoped<Write<groups::Webhooks>>,
    ApiJson(input): ApiJson<SimulateInput>,
) -> ApiResult<Json<TestResult>> {
    if tenant.mode() == shared::Mode::Live {
        return Err(ApiError::invalid(t!(
            "Simulations send samples in test mode only: use a test key"
        )));
    }
    state.outbound_permit(&tenant).await?;
    let mut errors = Violations::new();
    let url = errors.check(WebhookUrl::parse(
        input.url.as_deref().unwrap_or_default(),
        state.config.allow_private_targets,
    ));
    let event = match input.event {
        Some(name) => errors.check(name.parse::<EventType>()),
        None => errors.require("Event", None),
    };
    let (url, event) = errors.finish_with((url, event))?;
    let target = dispatch::account_target(&state.engine(), &tenant, url.as_url().clone()).await?;
    let log = dispatch::deliver_once(
        &state.engine(),
        &tenant,
        &target,
        event.as_str(),
        samples::payload(event),
    )
    .await?;
    Ok(Json(TestResult::from(&log)))
}
