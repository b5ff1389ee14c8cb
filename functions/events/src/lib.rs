//! The event log: every change as an event, and publishing events directly.
//!
//! `GET /events` (filter `type`), `GET /events/{id}`, `POST /events/{id}/replay`,
//! `POST /events` (`{type, payload}`), and the registry of custom event types:
//! `GET/POST /event-types`, `DELETE /event-types/{name}`.

use axum::{
    Json, Router,
    extract::{OriginalUri, Path, Query, State},
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde::Deserialize;
use shared::t;
use shared::{
    ApiError, ApiResult, AppState,
    auth::{Read, Scoped, Write, groups},
    error::Violations,
    events::{Event, EventView, MAX_ORDERING_KEY},
    http::ApiJson,
    ids::{PathId, kinds},
    openapi::string,
    pagination::PageParams,
    routes::Routes,
    store::{
        event_types::{self, EventTypeRecord},
        events,
    },
    webhooks::{EventName, EventType, is_custom_name, is_event_name},
};

/// This function's routes and their documentation.
pub fn routes() -> Routes {
    Routes::new("events")
        .get("/api/v2/events", list, |op| {
            op.summary("List events")
                .returns_list::<EventView>("Events, newest first")
                .query("type", "Of this event type", string())
        })
        .post("/api/v2/events", publish, |op| {
            op.summary("Publish an event of a registered custom type")
                .body_example::<PublishInput>(serde_json::json!({
                    "type": "invoice:sent", "payload": { "id": "inv_42", "total": "99.00" }
                }))
                .requiring(&["type", "payload"])
                .creates("/id")
                .returns::<EventView>(202, "The event, pending dispatch")
        })
        .get("/api/v2/events/{id}", retrieve, |op| {
            op.summary("Retrieve an event")
                .returns::<EventView>(200, "The event")
        })
        .post("/api/v2/events/{id}/replay", replay, |op| {
            op.summary("Dispatch an event again")
                .returns::<EventView>(202, "The event, pending dispatch again")
        })
        .get("/api/v2/event-types", list_types, |op| {
            op.summary("List custom event types")
                .returns_list::<EventTypeRecord>("Registered types (cursors are names)")
        })
        .post("/api/v2/event-types", register_type, |op| {
            op.summary("Register a custom event type")
                .body::<TypeInput>()
                .requiring(&["name"])
                .creates("/name")
                .returns::<EventTypeRecord>(201, "The registered type")
        })
        .delete("/api/v2/event-types/{name}", delete_type, |op| {
            op.summary("Remove a custom event type")
        })
}

pub fn router(state: AppState) -> Router {
    shared::http::api(routes().router(), state)
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
    tenant: Scoped<Read<groups::Events>>,
    OriginalUri(uri): OriginalUri,
    Query(params): Query<ListParams>,
) -> ApiResult<Response> {
    let mut errors = Violations::new();
    let page = errors.absorbing(params.page.validate());
    if let Some(name) = params.event_type.as_deref()
        && !is_event_name(name)
    {
        errors.add(t!("Type {name:?} is not an event type", name));
    }
    let page = errors.finish_with(page)?;
    let page = events::list(
        &state.db,
        &tenant,
        params.event_type.as_deref(),
        page,
        state.config.retention_days,
    )
    .await?;
    Ok(page.respond(&uri, Event::view))
}

async fn retrieve(
    State(state): State<AppState>,
    tenant: Scoped<Read<groups::Events>>,
    PathId(id): PathId<kinds::Event>,
) -> ApiResult<Response> {
    let event = events::get(&state.db, &tenant, &id)
        .await?
        .ok_or(ApiError::NotFound("Event"))?;
    Ok(Json(event.view()).into_response())
}

/// Dispatches the event again: every current target gets a new delivery.
async fn replay(
    State(state): State<AppState>,
    tenant: Scoped<Write<groups::Events>>,
    PathId(id): PathId<kinds::Event>,
) -> ApiResult<Response> {
    state.outbound_permit(&tenant).await?;
    let event = events::start_replay(&state.db, &tenant, &id)
        .await?
        .ok_or(ApiError::NotFound("Event"))?;
    state.queues.dispatch(&tenant, &event).await;
    Ok((StatusCode::ACCEPTED, Json(event.view())).into_response())
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct PublishInput {
    /// A registered custom type, e.g. `invoice:sent` (catalogue types come from changes).
    #[serde(rename = "type")]
    event_type: Option<String>,
    /// Any JSON object.
    payload: Option<serde_json::Value>,
    /// What this event is ordered among for endpoints with `ordering: resource`
    /// (default: the payload's `id`). At most 256 bytes.
    ordering_key: Option<String>,
}

/// Whether a tenant may publish events of type `name`: a custom type it registered
/// (catalogue types come from changes only). `Err` says why not.
async fn publishable(
    state: &AppState,
    tenant: &shared::Tenant,
    name: &str,
) -> ApiResult<Result<EventName, String>> {
    Ok(match name.parse::<EventType>() {
        Ok(event_type) if !event_type.is_subscribable() => Err(t!(
            "Type {event_type} is sent only {where_to}",
            event_type,
            where_to = event_type.sent_only().unwrap_or_default()
        )),
        // A published order:paid would be a genuinely signed trigger of the merchant's
        // fulfilment: catalogue events come from changes only.
        Ok(event_type) => Err(t!(
            "Type {event_type} is emitted by PushGuard itself when your data changes; publish a custom type you registered",
            event_type = event_type.as_str()
        )),
        Err(_) if is_custom_name(name) => match event_types::get(&state.db, tenant, name).await? {
            Some(_) => Ok(EventName::Custom(name.to_string())),
            None => Err(t!(
                "Type {name:?} is not registered; register it with POST /event-types",
                name
            )),
        },
        Err(message) => Err(message),
    })
}

/// Publishes an event of a catalogue type; it is dispatched like any other.
async fn publish(
    State(state): State<AppState>,
    tenant: Scoped<Write<groups::Events>>,
    ApiJson(input): ApiJson<PublishInput>,
) -> ApiResult<Response> {
    let mut errors = Violations::new();
    let event_type = match input.event_type.as_deref() {
        None => errors.require("Type", None),
        Some(name) => errors.check(publishable(&state, &tenant, name).await?),
    };
    let payload = match input.payload {
        Some(payload @ serde_json::Value::Object(_)) => {
            errors.check(shared::validate::storable_json("Payload", &payload).map(|()| payload))
        }
        None => errors.require("Payload", None),
        Some(_) => errors.check(Err(t!("Payload must be a JSON object"))),
    };
    let ordering_key = input.ordering_key.map(|key| key.trim().to_string());
    match &ordering_key {
        Some(key) if key.is_empty() => errors.add(t!("Ordering key can't be blank")),
        Some(key) if key.len() > MAX_ORDERING_KEY => errors.add(t!(
            "Ordering key is too long (maximum is {max} bytes)",
            max = MAX_ORDERING_KEY
        )),
        Some(key) if key.chars().any(char::is_control) => {
            errors.add(t!("Ordering key must not contain control characters"))
        }
        _ => {}
    }
    let (event_type, payload) = errors.finish_with((event_type, payload))?;
    let mut event = Event::new(event_type, payload);
    event.ordering_key = ordering_key;
    events::create(&state.db, &tenant, &mut event, state.config.retention_days).await?;
    state.queues.dispatch(&tenant, &event).await;
    Ok((StatusCode::ACCEPTED, Json(event.view())).into_response())
}

async fn list_types(
    State(state): State<AppState>,
    tenant: Scoped<Read<groups::Events>>,
    OriginalUri(uri): OriginalUri,
    Query(params): Query<PageParams>,
) -> ApiResult<Response> {
    let page = event_types::list(&state.db, &tenant, params.validate()?).await?;
    Ok(page.respond(&uri, |record| record))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct TypeInput {
    /// `resource:action`, lower case; not a catalogue type.
    #[schema(pattern = "^[a-z][a-z0-9_]*:[a-z][a-z0-9_.]*$", max_length = 100)]
    name: Option<String>,
    description: Option<String>,
}

const MAX_TYPE_DESCRIPTION: usize = 512;

async fn register_type(
    State(state): State<AppState>,
    tenant: Scoped<Write<groups::Events>>,
    ApiJson(input): ApiJson<TypeInput>,
) -> ApiResult<Response> {
    let mut errors = Violations::new();
    let name = input.name.unwrap_or_default();
    if name.is_empty() {
        errors.add(t!("Name can't be blank"));
    } else if name.parse::<EventType>().is_ok() {
        errors.add(t!("Name {name:?} is a catalogue event type", name));
    } else if !is_custom_name(&name) {
        errors.add(t!(
            "Name {name:?} must look like resource:action (lower case, e.g. invoice:sent)",
            name
        ));
    }
    let description = input
        .description
        .map(|d| d.trim().to_string())
        .filter(|d| !d.is_empty());
    if description
        .as_ref()
        .is_some_and(|d| d.chars().count() > MAX_TYPE_DESCRIPTION)
    {
        errors.add(t!(
            "Description is too long (maximum is {max} characters)",
            max = MAX_TYPE_DESCRIPTION
        ));
    }
    errors.finish()?;
    let record = EventTypeRecord {
        name,
        description,
        created_at: shared::Timestamp::now(),
    };
    event_types::create(&state.db, &tenant, &record).await?;
    Ok((StatusCode::CREATED, Json(record)).into_response())
}

async fn delete_type(
    State(state): State<AppState>,
    tenant: Scoped<Write<groups::Events>>,
    Path(name): Path<String>,
) -> ApiResult<StatusCode> {
    if event_types::delete(&state.db, &tenant, &name).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound("Event type"))
    }
}
