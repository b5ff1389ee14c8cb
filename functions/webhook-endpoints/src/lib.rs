//! Webhook endpoints: where a merchant's events are delivered.
//!
//! `GET/POST /webhooks/endpoints`, `GET/PUT/DELETE /webhooks/endpoints/{id}`,
//! `POST .../{id}/enable`, `.../{id}/disable`, `.../{id}/rotate-secret`,
//! `.../{id}/test` (a ping, now), `.../{id}/recover` (re-send failed deliveries) and
//! `GET .../{id}/stats` (attempts, outcomes and latency per hour or day).

use axum::{
    Json, Router,
    extract::{OriginalUri, Query, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::{get, post},
};
use serde::Deserialize;
use shared::{
    ApiError, ApiResult, AppState, Tenant, Timestamp,
    auth::{Read, Scoped, Write, groups},
    error::Violations,
    http::{ApiJson, OptionalJson, nullable},
    ids::EndpointId,
    ids::{PathId, kinds},
    keyring::SecretContext,
    openapi::{Operation, string},
    pagination::PageParams,
    rules::Rule,
    secrets::{self, NewSecret, RotateInput, SigningSecrets},
    store::{
        endpoints::{self as store, EndpointFilter},
        logs::{self, LogFilter},
        stats as stored_stats,
    },
    webhooks::{
        CustomHeaders, Endpoint, EndpointView, EventSelector, EventType, LogStatus, WebhookUrl,
        dispatch::{self, Target, TestResult},
        samples,
        stats::{Period, TallyView, hour_of},
    },
};
use std::collections::BTreeMap;

const MAX_DESCRIPTION_LENGTH: usize = 512;

/// This function's routes, for `pushguard serve` to merge with the others.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v2/webhooks/endpoints", get(list).post(create))
        .route(
            "/api/v2/webhooks/endpoints/{id}",
            get(retrieve).put(update).delete(destroy),
        )
        .route("/api/v2/webhooks/endpoints/{id}/enable", post(enable))
        .route("/api/v2/webhooks/endpoints/{id}/disable", post(disable))
        .route(
            "/api/v2/webhooks/endpoints/{id}/rotate-secret",
            post(rotate_secret),
        )
        .route("/api/v2/webhooks/endpoints/{id}/test", post(test))
        .route("/api/v2/webhooks/endpoints/{id}/recover", post(recover))
        .route("/api/v2/webhooks/endpoints/{id}/stats", get(stats))
}

/// This function's operations, for the OpenAPI document.
pub fn operations() -> Vec<Operation> {
    const TAG: &str = "webhook endpoints";
    const BASE: &str = "/api/v2/webhooks/endpoints";
    const ONE: &str = "/api/v2/webhooks/endpoints/{id}";
    vec![
        Operation::get(BASE, TAG, "List endpoints")
            .scope("webhooks:read")
            .returns_list::<EndpointView>("Endpoints, newest first")
            .query(
                "url",
                "Part of the URL as shown (credentials masked)",
                string(),
            )
            .query("enabled", "`true` or `false`", string())
            .query("event", "Subscribed to this event type", string()),
        Operation::post(BASE, TAG, "Create an endpoint")
            .scope("webhooks:write")
            .body::<EndpointInput>()
            .returns::<EndpointView>(201, "The endpoint, with its `secret` shown this once"),
        Operation::get(ONE, TAG, "Retrieve an endpoint")
            .scope("webhooks:read")
            .returns::<EndpointView>(200, "The endpoint"),
        Operation::put(ONE, TAG, "Update an endpoint (any field)")
            .scope("webhooks:write")
            .body::<EndpointInput>()
            .returns::<EndpointView>(200, "The endpoint"),
        Operation::delete(ONE, TAG, "Delete an endpoint").scope("webhooks:write"),
        Operation::post(
            "/api/v2/webhooks/endpoints/{id}/enable",
            TAG,
            "Enable an endpoint",
        )
        .scope("webhooks:write")
        .returns::<EndpointView>(200, "The endpoint, its error counters cleared"),
        Operation::post(
            "/api/v2/webhooks/endpoints/{id}/disable",
            TAG,
            "Disable an endpoint",
        )
        .scope("webhooks:write")
        .returns::<EndpointView>(200, "The endpoint"),
        Operation::post(
            "/api/v2/webhooks/endpoints/{id}/rotate-secret",
            TAG,
            "Rotate an endpoint's signing secret",
        )
        .scope("webhooks:write")
        .optional_body::<RotateInput>()
        .returns::<NewSecret>(
            200,
            "The new secret, shown once; the old one signs for the grace period",
        ),
        Operation::post(
            "/api/v2/webhooks/endpoints/{id}/test",
            TAG,
            "Send a webhook:ping now",
        )
        .scope("webhooks:write")
        .returns::<TestResult>(200, "How the delivery went"),
        Operation::post(
            "/api/v2/webhooks/endpoints/{id}/recover",
            TAG,
            "Re-send every failed delivery since a time",
        )
        .scope("webhooks:write")
        .body::<RecoverInput>()
        .returns::<Recovered>(202, "How many deliveries go out again"),
        Operation::get(
            "/api/v2/webhooks/endpoints/{id}/stats",
            TAG,
            "Delivery statistics: attempts, failures by cause, latency percentiles",
        )
        .scope("webhooks:read")
        .query(
            "period",
            "`24h` (default) or `7d` by hour, `30d` by day",
            string(),
        )
        .returns::<EndpointStats>(200, "Buckets oldest first, and the period's totals"),
    ]
}

/// The deployed function: these routes with the API's conventions.
pub fn router(state: AppState) -> Router {
    shared::http::api(routes(), state)
}

#[derive(Debug, Deserialize)]
struct ListParams {
    url: Option<String>,
    enabled: Option<String>,
    event: Option<String>,
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
    let page = params.page.validate().map_err(|e| errors.absorb(e)).ok();
    let enabled = match params.enabled.as_deref() {
        None => None,
        Some("true") => Some(true),
        Some("false") => Some(false),
        Some(_) => {
            errors.add("Enabled must be true or false");
            None
        }
    };
    let event = errors.parse::<EventSelector>(params.event.as_deref());
    errors.finish()?;
    let filter = EndpointFilter {
        url: params.url.filter(|u| !u.is_empty()),
        enabled,
        event,
    };
    let page = store::list(&state.db, &tenant, &filter, page.unwrap_or_default()).await?;
    Ok(page.respond(&uri, Endpoint::view))
}

/// The body of create and update; every field optional so update can be partial.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct EndpointInput {
    /// https URL (http and private hosts only where allowed); required on create.
    url: Option<String>,
    /// Event types, registered custom types, or `*`; required on create.
    events: Option<Vec<String>>,
    #[serde(default, deserialize_with = "nullable")]
    description: Option<Option<String>>,
    enabled: Option<bool>,
    #[serde(default, deserialize_with = "nullable")]
    headers: Option<Option<BTreeMap<String, String>>>,
    /// A rule the event's payload must match (the rule language).
    #[serde(default, deserialize_with = "nullable")]
    filter: Option<Option<String>>,
}

/// The validated, client-editable part of an endpoint.
struct EndpointFields {
    url: WebhookUrl,
    events: Vec<EventSelector>,
    description: Option<String>,
    enabled: bool,
    headers: CustomHeaders,
    filter: Option<String>,
}

impl EndpointInput {
    /// Validates this input applied over `current` (none when creating), listing
    /// every problem at once.
    /// `unregistered` lists the custom types the tenant has not registered.
    fn validate(
        self,
        current: Option<&Endpoint>,
        allow_private: bool,
        unregistered: &[String],
    ) -> ApiResult<EndpointFields> {
        let mut errors = Violations::new();
        let url = match (self.url, current) {
            (Some(text), _) => WebhookUrl::parse(&text, allow_private)
                .map_err(|e| errors.add(e))
                .ok(),
            (None, Some(current)) => Some(current.url.clone()),
            (None, None) => {
                errors.add("Url can't be blank");
                None
            }
        };
        let events = match (self.events, current) {
            (Some(names), _) => parse_events(names, unregistered, &mut errors),
            (None, Some(current)) => current.events.clone(),
            (None, None) => {
                errors.add("Events can't be blank");
                Vec::new()
            }
        };
        let description = match self.description {
            Some(text) => shared::crud::text(text),
            None => current.and_then(|c| c.description.clone()),
        };
        if description
            .as_ref()
            .is_some_and(|d| d.chars().count() > MAX_DESCRIPTION_LENGTH)
        {
            errors.add(format!(
                "Description is too long (maximum is {MAX_DESCRIPTION_LENGTH} characters)"
            ));
        }
        let headers = match self.headers {
            Some(raw) => CustomHeaders::parse(raw.unwrap_or_default()).unwrap_or_else(|problems| {
                problems.into_iter().for_each(|p| errors.add(p));
                CustomHeaders::default()
            }),
            None => current.map(|c| c.headers.clone()).unwrap_or_default(),
        };
        let filter = match self.filter {
            Some(text) => text.filter(|t| !t.trim().is_empty()),
            None => current.and_then(|c| c.filter.clone()),
        };
        if let Some(Err(error)) = filter.as_deref().map(Rule::parse) {
            errors.add(format!("Filter is invalid: {error}"));
        }
        errors.finish()?;
        Ok(EndpointFields {
            url: url.expect("a missing url was reported"),
            events,
            description,
            enabled: self.enabled.or(current.map(|c| c.enabled)).unwrap_or(true),
            headers,
            filter,
        })
    }
}

fn parse_events(
    names: Vec<String>,
    unregistered: &[String],
    errors: &mut Violations,
) -> Vec<EventSelector> {
    if names.is_empty() {
        errors.add("Events can't be blank");
    }
    let mut events = Vec::with_capacity(names.len());
    for name in names {
        match name.parse::<EventSelector>() {
            Ok(EventSelector::Custom(name)) if unregistered.contains(&name) => errors.add(format!(
                "Event {name:?} is not registered; register it with POST /event-types"
            )),
            Ok(event) if !events.contains(&event) => events.push(event),
            Ok(_) => {}
            Err(message) => errors.add(message),
        }
    }
    events
}

async fn create(
    State(state): State<AppState>,
    tenant: Scoped<Write<groups::Webhooks>>,
    ApiJson(input): ApiJson<EndpointInput>,
) -> ApiResult<Response> {
    let unregistered = unregistered(&state, &tenant, &input).await?;
    let fields = input.validate(None, state.config.allow_private_targets, &unregistered)?;
    let now = Timestamp::now();
    let id = EndpointId::new();
    let secrets = SigningSecrets::generate();
    let sealed = state
        .keyring
        .seal(&secrets, &SecretContext::endpoint(&tenant, &id))
        .await?;
    let endpoint = Endpoint {
        id,
        url: fields.url,
        description: fields.description,
        enabled: fields.enabled,
        events: fields.events,
        filter: fields.filter,
        headers: fields.headers,
        secrets: sealed,
        error_count: 0,
        error_first_at: None,
        error_last_at: None,
        blocked_by_error_count: false,
        created_at: now,
        updated_at: now,
        revision: 0,
    };
    store::create(&state.db, &tenant, &endpoint, state.config.max_endpoints).await?;
    Ok((
        StatusCode::CREATED,
        Json(endpoint.view_with_secret(&secrets.current)),
    )
        .into_response())
}

/// The custom event types in `input` that the tenant has not registered.
async fn unregistered(
    state: &AppState,
    tenant: &Tenant,
    input: &EndpointInput,
) -> ApiResult<Vec<String>> {
    let mut missing = Vec::new();
    for name in input.events.iter().flatten() {
        if let Ok(EventSelector::Custom(custom)) = name.parse::<EventSelector>()
            && shared::store::event_types::get(&state.db, tenant, &custom)
                .await?
                .is_none()
        {
            missing.push(custom);
        }
    }
    Ok(missing)
}

async fn find(state: &AppState, tenant: &Tenant, id: &EndpointId) -> ApiResult<Endpoint> {
    store::get(&state.db, tenant, id)
        .await?
        .ok_or(ApiError::NotFound("Endpoint"))
}

async fn retrieve(
    State(state): State<AppState>,
    tenant: Scoped<Read<groups::Webhooks>>,
    PathId(id): PathId<kinds::Endpoint>,
) -> ApiResult<Response> {
    let endpoint = find(&state, &tenant, &id).await?;
    Ok(Json(endpoint.view()).into_response())
}

async fn update(
    State(state): State<AppState>,
    tenant: Scoped<Write<groups::Webhooks>>,
    PathId(id): PathId<kinds::Endpoint>,
    ApiJson(input): ApiJson<EndpointInput>,
) -> ApiResult<Response> {
    let before = find(&state, &tenant, &id).await?;
    let unregistered = unregistered(&state, &tenant, &input).await?;
    let fields = input.validate(
        Some(&before),
        state.config.allow_private_targets,
        &unregistered,
    )?;
    let after = Endpoint {
        url: fields.url,
        events: fields.events,
        description: fields.description,
        enabled: fields.enabled,
        headers: fields.headers,
        filter: fields.filter,
        updated_at: Timestamp::now(),
        revision: before.revision + 1,
        ..before.clone()
    };
    store::update(&state.db, &tenant, &before, &after).await?;
    Ok(Json(after.view()).into_response())
}

async fn destroy(
    State(state): State<AppState>,
    tenant: Scoped<Write<groups::Webhooks>>,
    PathId(id): PathId<kinds::Endpoint>,
) -> ApiResult<StatusCode> {
    let endpoint = find(&state, &tenant, &id).await?;
    store::delete(&state.db, &tenant, &endpoint).await?;
    Ok(StatusCode::NO_CONTENT)
}

type WebhooksWrite = Scoped<Write<groups::Webhooks>>;

async fn enable(
    state: State<AppState>,
    tenant: WebhooksWrite,
    id: PathId<kinds::Endpoint>,
) -> ApiResult<Response> {
    set_enabled(state, tenant, id, true).await
}

async fn disable(
    state: State<AppState>,
    tenant: WebhooksWrite,
    id: PathId<kinds::Endpoint>,
) -> ApiResult<Response> {
    set_enabled(state, tenant, id, false).await
}

async fn set_enabled(
    State(state): State<AppState>,
    tenant: WebhooksWrite,
    PathId(id): PathId<kinds::Endpoint>,
    enabled: bool,
) -> ApiResult<Response> {
    let endpoint = store::set_enabled(&state.db, &tenant, &id, enabled, Timestamp::now())
        .await?
        .ok_or(ApiError::NotFound("Endpoint"))?;
    Ok(Json(endpoint.view()).into_response())
}

async fn rotate_secret(
    State(state): State<AppState>,
    tenant: Scoped<Write<groups::Webhooks>>,
    PathId(id): PathId<kinds::Endpoint>,
    OptionalJson(input): OptionalJson<RotateInput>,
) -> ApiResult<Response> {
    let grace = secrets::grace_period(input.and_then(|i| i.grace_period_seconds))?;
    let endpoint = find(&state, &tenant, &id).await?;
    let now = Timestamp::now();
    let context = SecretContext::endpoint(&tenant, &endpoint.id);
    let mut secrets = state.keyring.open(&endpoint.secrets, &context).await?;
    secrets.rotate(now, grace);
    let sealed = state.keyring.seal(&secrets, &context).await?;
    store::set_secrets(&state.db, &tenant, &endpoint, &sealed, now).await?;
    Ok(Json(NewSecret {
        secret: secrets.current,
    })
    .into_response())
}

/// Sends a `webhook:ping` to the endpoint now (enabled or not) and reports how it went.
async fn test(
    State(state): State<AppState>,
    tenant: Scoped<Write<groups::Webhooks>>,
    PathId(id): PathId<kinds::Endpoint>,
) -> ApiResult<Json<TestResult>> {
    shared::ratelimit::outbound_permit(&state, &tenant).await?;
    let endpoint = find(&state, &tenant, &id).await?;
    let payload = samples::payload(EventType::WebhookPing);
    let log = dispatch::deliver_once(
        &state,
        &tenant,
        &Target::Endpoint(endpoint),
        EventType::WebhookPing.as_str(),
        payload,
    )
    .await?;
    Ok(Json(TestResult::from(&log)))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct RecoverInput {
    /// RFC 3339: failed deliveries created since then go out again.
    since: Option<String>,
}

/// What `/recover` did.
#[derive(serde::Serialize, utoipa::ToSchema)]
struct Recovered {
    /// Failed deliveries queued again (at most 1000 per call).
    recovered: u32,
}

/// The most failed deliveries one `/recover` call re-sends; call again for more.
const MAX_RECOVER: u32 = 1_000;

/// Re-sends every failed delivery to this endpoint since `since`, through the queue.
async fn recover(
    State(state): State<AppState>,
    tenant: Scoped<Write<groups::Webhooks>>,
    PathId(id): PathId<kinds::Endpoint>,
    ApiJson(input): ApiJson<RecoverInput>,
) -> ApiResult<Response> {
    shared::ratelimit::outbound_permit(&state, &tenant).await?;
    let since = match input.since.as_deref().map(Timestamp::parse) {
        Some(Some(since)) if since <= Timestamp::now() => since,
        Some(Some(_)) => return Err(ApiError::invalid("Since must not be in the future")),
        Some(None) => return Err(ApiError::invalid("Since must be an RFC 3339 timestamp")),
        None => return Err(ApiError::invalid("Since can't be blank")),
    };
    let endpoint = find(&state, &tenant, &id).await?;
    let filter = LogFilter {
        endpoint_id: Some(endpoint.id.to_string()),
        status: Some(LogStatus::Failed),
        since: Some(since),
        ..LogFilter::default()
    };
    let failed = logs::all(
        &state.db,
        &tenant,
        &filter,
        state.config.retention_days,
        MAX_RECOVER,
    )
    .await?;
    let mut recovered = 0;
    for log in failed {
        let sweep_at = Timestamp::now().plus(state.config.delivery.retry_sweep_grace);
        if logs::requeue(&state.db, &tenant, &log, sweep_at).await? {
            // A lost message is swept by the scheduler at sweep_at.
            if let Err(error) = state
                .queues
                .retry(&tenant, &log.id, std::time::Duration::ZERO)
                .await
            {
                tracing::warn!(log = %log.id, %error, "recovered delivery not queued; the scheduler will sweep it");
            }
            recovered += 1;
        }
    }
    Ok((StatusCode::ACCEPTED, Json(Recovered { recovered })).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn messages(result: ApiResult<EndpointFields>) -> Vec<String> {
        match result {
            Err(ApiError::Validation(errors)) => errors,
            Err(other) => panic!("expected validation errors, got {other:?}"),
            Ok(_) => panic!("expected validation errors, got success"),
        }
    }

    #[test]
    fn create_reports_every_missing_field_at_once() {
        let errors = messages(EndpointInput::default().validate(None, false, &[]));
        assert_eq!(errors, vec!["Url can't be blank", "Events can't be blank"]);
    }

    #[test]
    fn unknown_events_and_bad_headers_are_listed() {
        let input = EndpointInput {
            url: Some("http://example.com".into()),
            events: Some(vec![
                "order:paid".into(),
                "Order Shipped".into(),
                "invoice:sent".into(),
            ]),
            headers: Some(Some([("Content-Type".to_string(), "x".to_string())].into())),
            ..Default::default()
        };
        let errors = messages(input.validate(None, false, &["invoice:sent".to_string()]));
        assert_eq!(errors.len(), 4, "{errors:?}");
        assert!(errors[2].contains("not registered"), "{errors:?}");
        assert_eq!(errors[0], "Url must use https");
    }

    #[test]
    fn duplicate_events_are_kept_once_and_enabled_defaults_to_true() {
        let input = EndpointInput {
            url: Some("https://example.com/hook".into()),
            events: Some(vec!["order:paid".into(), "order:paid".into(), "*".into()]),
            ..Default::default()
        };
        let fields = input.validate(None, false, &[]).unwrap();
        assert_eq!(fields.events.len(), 2);
        assert!(fields.enabled);
    }
}

#[derive(Debug, Deserialize)]
struct StatsParams {
    period: Option<String>,
}

/// One bucket of [`EndpointStats`].
#[derive(serde::Serialize, utoipa::ToSchema)]
struct StatsBucket {
    /// Where the hour or day starts.
    start: Timestamp,
    #[serde(flatten)]
    tally: TallyView,
}

/// An endpoint's delivery statistics over a period.
#[derive(serde::Serialize, utoipa::ToSchema)]
struct EndpointStats {
    #[schema(value_type = String)]
    endpoint_id: EndpointId,
    /// `24h`, `7d` or `30d`.
    period: &'static str,
    /// `hour` or `day`: the width of each bucket.
    granularity: &'static str,
    /// The start of the first bucket.
    from: Timestamp,
    totals: TallyView,
    buckets: Vec<StatsBucket>,
}

/// Attempts, successes, failures by cause and latency percentiles per hour (or day),
/// from the hourly tallies the dispatcher adds to: one query of at most 720 small items.
async fn stats(
    State(state): State<AppState>,
    tenant: Scoped<Read<groups::Webhooks>>,
    PathId(id): PathId<kinds::Endpoint>,
    Query(params): Query<StatsParams>,
) -> ApiResult<Json<EndpointStats>> {
    let period: Period = params
        .period
        .as_deref()
        .unwrap_or("24h")
        .parse()
        .map_err(ApiError::invalid)?;
    let endpoint = find(&state, &tenant, &id).await?;
    let now = Timestamp::now();
    let starts = period.bucket_starts(now);
    let from = starts[0];
    let hours = stored_stats::hours(
        &state.db,
        &tenant,
        &endpoint.id,
        &hour_of(from),
        &hour_of(now),
    )
    .await?;
    let (buckets, totals) = period.series(now, &hours);
    Ok(Json(EndpointStats {
        endpoint_id: endpoint.id,
        period: period.as_str(),
        granularity: period.granularity(),
        from,
        totals: totals.view(),
        buckets: buckets
            .into_iter()
            .map(|(start, tally)| StatsBucket {
                start,
                tally: tally.view(),
            })
            .collect(),
    }))
}
