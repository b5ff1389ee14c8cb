//! The event log: every change as an event, and publishing events directly.
//!
//! `GET /events` (filter `type`), `GET /events/{id}`, `POST /events/{id}/replay`,
//! `POST /events` (`{type, payload}`).

use axum::{
    Json, Router,
    extract::{OriginalUri, Path, Query, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::{get, post},
};
use serde::Deserialize;
use shared::{
    ApiError, ApiResult, AppState,
    auth::{Access, Auth, Group},
    error::Violations,
    events::{DispatchMessage, Event},
    http::ApiJson,
    pagination::PageParams,
    store::events,
    webhooks::EventType,
};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v2/events", get(list).post(publish))
        .route("/api/v2/events/{id}", get(retrieve))
        .route("/api/v2/events/{id}/replay", post(replay))
}

pub fn router(state: AppState) -> Router {
    shared::http::api(routes(), state)
}

#[derive(Debug, Deserialize)]
struct ListParams {
    #[serde(rename = "type")]
    event_type: Option<String>,
    #[serde(flatten)]
    page: PageParams,
}

async fn list(
    State(state): State<AppState>,
    Auth(principal): Auth,
    OriginalUri(uri): OriginalUri,
    Query(params): Query<ListParams>,
) -> ApiResult<Response> {
    let tenant = principal.authorize(Access::read(Group::Events))?;
    let mut errors = Violations::new();
    let page = params.page.validate().map_err(|e| errors.absorb(e)).ok();
    if let Some(Err(message)) = params.event_type.as_deref().map(str::parse::<EventType>) {
        errors.add(message);
    }
    errors.finish()?;
    let page = events::list(
        &state.db,
        &tenant,
        params.event_type.as_deref(),
        page.unwrap_or_default(),
        state.config.retention_days,
    )
    .await?;
    Ok(page.respond(&uri, Event::view))
}

async fn retrieve(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let tenant = principal.authorize(Access::read(Group::Events))?;
    let event = events::get(&state.db, &tenant, &id)
        .await?
        .ok_or(ApiError::NotFound("Event"))?;
    Ok(Json(event.view()).into_response())
}

/// Dispatches the event again: every current target gets a new delivery.
async fn replay(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let tenant = principal.authorize(Access::write(Group::Events))?;
    let event = events::start_replay(&state.db, &tenant, &id)
        .await?
        .ok_or(ApiError::NotFound("Event"))?;
    events::enqueue(
        &state.sqs,
        state.config.events_queue_url.as_deref(),
        &DispatchMessage::new(&tenant, &event),
    )
    .await;
    Ok((StatusCode::ACCEPTED, Json(event.view())).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PublishInput {
    #[serde(rename = "type")]
    event_type: Option<String>,
    payload: Option<serde_json::Value>,
}

/// Publishes an event of a catalogue type; it is dispatched like any other.
async fn publish(
    State(state): State<AppState>,
    Auth(principal): Auth,
    ApiJson(input): ApiJson<PublishInput>,
) -> ApiResult<Response> {
    let tenant = principal.authorize(Access::write(Group::Events))?;
    let mut errors = Violations::new();
    let event_type = match input.event_type.as_deref().map(str::parse::<EventType>) {
        None => {
            errors.add("Type can't be blank");
            None
        }
        Some(Ok(EventType::WebhookPing)) => {
            errors.add("Type webhook:ping is sent only by the test route");
            None
        }
        Some(Ok(event_type)) => Some(event_type),
        Some(Err(message)) => {
            errors.add(message);
            None
        }
    };
    match &input.payload {
        Some(serde_json::Value::Object(_)) => {}
        None => errors.add("Payload can't be blank"),
        Some(_) => errors.add("Payload must be a JSON object"),
    }
    errors.finish()?;
    let event = Event::new(
        event_type.expect("reported when missing").as_str(),
        input.payload.expect("checked above"),
    );
    events::create(&state.db, &tenant, &event, state.config.retention_days).await?;
    events::enqueue(
        &state.sqs,
        state.config.events_queue_url.as_deref(),
        &DispatchMessage::new(&tenant, &event),
    )
    .await;
    Ok((StatusCode::ACCEPTED, Json(event.view())).into_response())
}
