//! Webhook endpoints: where a merchant's events are delivered.
//!
//! `GET/POST /webhooks/endpoints`, `GET/PUT/DELETE /webhooks/endpoints/{id}`,
//! `POST .../{id}/enable`, `.../{id}/disable`, `.../{id}/rotate-secret`,
//! `.../{id}/test` (a ping, now), `.../{id}/recover` (re-send failed deliveries),
//! `.../{id}/unblock` (release resources an exhausted ordered delivery holds) and
//! `GET .../{id}/stats` (attempts, outcomes and latency per hour or day); and the
//! Conekta, Paybyrd, Pixlpay and Key/Sign dialects' webhook routes (`shared::dialects`).

use axum::{
    Json, Router,
    extract::{OriginalUri, Query, State},
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde::Deserialize;
use shared::t;
use shared::{
    ApiError, ApiResult, AppState, Mode, Timestamp,
    auth::{Read, Scoped, Write, groups},
    delivery::dispatch::TestResult,
    error::Violations,
    http::{ApiJson, Client, OptionalJson},
    ids::{AccountId, EndpointId, PathId, kinds},
    manage::{self, EndpointInput},
    openapi::{one_of, string},
    pagination::PageParams,
    routes::Routes,
    secrets::{self, NewSecret, RotateInput},
    store::{
        endpoints::{self as store, EndpointFilter},
        stats as stored_stats,
    },
    webhooks::{
        Endpoint, EndpointView, EventSelector,
        stats::{Period, TallyView, hour_of},
    },
};
use std::{
    collections::HashMap,
    sync::{Arc, LazyLock, Mutex},
    time::{Duration, Instant},
};

const BASE: &str = "/api/v2/webhooks/endpoints";
const ONE: &str = "/api/v2/webhooks/endpoints/{id}";

/// This function's routes and their documentation.
pub fn routes() -> Routes {
    Routes::new("webhook endpoints")
        .get(BASE, list, |op| {
            op.summary("List endpoints")
                .returns_list::<EndpointView>("Endpoints, newest first")
                .query(
                    "url",
                    "Part of the URL as shown (credentials masked)",
                    string(),
                )
                .query("enabled", "`true` or `false`", one_of(&["true", "false"]))
                .query("event", "Subscribed to this event type", string())
        })
        .post(BASE, create, |op| {
            op.summary("Create an endpoint")
                .body_example::<EndpointInput>(serde_json::json!({
                    "url": "https://hooks.example.com/pushguard",
                    "events": ["order:paid", "order:created"]
                }))
                .requiring(&["url", "events"])
                .creates("/id")
                .returns::<EndpointView>(201, "The endpoint, with its `secret` shown this once")
        })
        .get(ONE, retrieve, |op| {
            op.summary("Retrieve an endpoint")
                .returns::<EndpointView>(200, "The endpoint")
        })
        .put(ONE, update, |op| {
            op.summary("Update an endpoint (any field)")
                .body::<EndpointInput>()
                .returns::<EndpointView>(200, "The endpoint")
        })
        .delete(ONE, destroy, |op| op.summary("Delete an endpoint"))
        .post("/api/v2/webhooks/endpoints/{id}/enable", enable, |op| {
            op.summary("Enable an endpoint")
                .returns::<EndpointView>(200, "The endpoint, its error counters cleared")
        })
        .post("/api/v2/webhooks/endpoints/{id}/disable", disable, |op| {
            op.summary("Disable an endpoint")
                .returns::<EndpointView>(200, "The endpoint")
        })
        .post(
            "/api/v2/webhooks/endpoints/{id}/rotate-secret",
            rotate_secret,
            |op| {
                op.summary("Rotate an endpoint's signing secret")
                    .optional_body::<RotateInput>()
                    .returns::<NewSecret>(
                        200,
                        "The new secret, shown once; the old one signs for the grace period",
                    )
            },
        )
        .post("/api/v2/webhooks/endpoints/{id}/test", test, |op| {
            op.summary("Send a webhook:ping now")
                .creates_under("/log_id", &["/api/v2/webhooks/logs"])
                .returns::<TestResult>(200, "How the delivery went")
        })
        .post("/api/v2/webhooks/endpoints/{id}/recover", recover, |op| {
            op.summary("Re-send every failed delivery since a time")
                .body_example::<RecoverInput>(serde_json::json!({
                    "since": "2026-01-01T00:00:00+00:00"
                }))
                .returns::<Recovered>(202, "How many deliveries go out again")
        })
        .post("/api/v2/webhooks/endpoints/{id}/unblock", unblock, |op| {
            op.summary("Release resources held by an exhausted ordered delivery")
                .optional_body::<UnblockInput>()
                .returns::<EndpointView>(
                    200,
                    "The endpoint; the next event of each released resource goes now",
                )
        })
        .get("/api/v2/webhooks/endpoints/{id}/stats", stats, |op| {
            op.summary("Delivery statistics: attempts, failures by cause, latency percentiles")
                .query(
                    "period",
                    "`24h` (default) or `7d` by hour, `30d` by day",
                    one_of(&["24h", "7d", "30d"]),
                )
                .returns::<EndpointStats>(200, "Buckets oldest first, and the period's totals")
        })
        .get(
            "/api/v2/webhooks/public-keys/{account_id}",
            public_keys,
            |op| {
                op.summary("An account's ed25519 public keys, which verify its v1a signatures")
                    .returns::<PublicKeys>(
                        200,
                        "Current and previous keys of both modes; cacheable for 5 minutes",
                    )
            },
        )
        // The seeds' other webhook APIs: adapters over the same endpoints.
        .merge(shared::dialects::routes())
}

/// One published key.
#[derive(serde::Serialize, utoipa::ToSchema)]
struct PublicKey {
    /// `whpk_` + base64 of the 32-byte ed25519 public key.
    key: String,
    /// `live` or `test`: the mode whose deliveries it signs.
    mode: Mode,
    /// `current`, or `previous` (rotated out, still signing until `expires_at`).
    status: &'static str,
    expires_at: Option<Timestamp>,
}

/// What `GET /webhooks/public-keys/{account_id}` answers.
#[derive(serde::Serialize, utoipa::ToSchema)]
struct PublicKeys {
    account_id: String,
    keys: Vec<PublicKey>,
}

/// How long receivers and caches may keep the published keys: rotate with a grace
/// period longer than this and no receiver ever holds only a retired key.
const PUBLIC_KEYS_MAX_AGE: u64 = 300;

/// The published keys each account had when last read (`None`: no such account), kept
/// by this instance for `PUBLIC_KEYS_CACHE_SECONDS` (a minute by default).
static PUBLIC_KEYS: LazyLock<Mutex<HashMap<AccountId, (Instant, Published)>>> =
    LazyLock::new(Mutex::default);

/// An account's published keys as last read; `None`: no such account.
type Published = Option<Arc<PublicKeys>>;

/// Accounts whose keys an instance keeps before it starts afresh.
const PUBLIC_KEYS_CACHED_ACCOUNTS: usize = 10_000;

/// The account's published keys: no API key (a receiver holds none). There is no
/// bucket an account's receivers share (one caller could keep it empty): each client is
/// limited in the instance, an instance reads an account's keys once a minute, and
/// anyone may cache the answer for five.
async fn public_keys(
    State(state): State<AppState>,
    client: Client,
    axum::extract::Path(account_id): axum::extract::Path<String>,
) -> ApiResult<Response> {
    if let Some(refused) = client.refused(&state) {
        return Err(refused.refusal());
    }
    let id = account_id
        .parse::<AccountId>()
        .map_err(|_| ApiError::NotFound("Account"))?;
    let keep = state.config.public_keys_cache;
    let published = match cached_public_keys(&id, keep) {
        Some(published) => published,
        None => {
            let read = shared::store::accounts::get(&state.db, &id)
                .await?
                .map(|account| Arc::new(published_keys(&account, Timestamp::now())));
            remember_public_keys(id, read.clone(), keep);
            read
        }
    };
    let published = published.ok_or(ApiError::NotFound("Account"))?;
    let mut response = Json(&*published).into_response();
    response.headers_mut().insert(
        axum::http::header::CACHE_CONTROL,
        axum::http::HeaderValue::from_str(&format!("public, max-age={PUBLIC_KEYS_MAX_AGE}"))
            .expect("a valid header"),
    );
    Ok(response)
}

fn cached_public_keys(id: &AccountId, keep: Duration) -> Option<Published> {
    let cache = PUBLIC_KEYS.lock().unwrap_or_else(|e| e.into_inner());
    cache
        .get(id)
        .filter(|(at, _)| at.elapsed() < keep)
        .map(|(_, published)| published.clone())
}

fn remember_public_keys(id: AccountId, published: Published, keep: Duration) {
    if keep.is_zero() {
        return;
    }
    let mut cache = PUBLIC_KEYS.lock().unwrap_or_else(|e| e.into_inner());
    if cache.len() >= PUBLIC_KEYS_CACHED_ACCOUNTS {
        cache.retain(|_, (at, _)| at.elapsed() < keep);
        if cache.len() >= PUBLIC_KEYS_CACHED_ACCOUNTS {
            cache.clear();
        }
    }
    cache.insert(id, (Instant::now(), published));
}

/// What the account publishes at `now`: each mode's current key and the retired ones
/// still in their grace period.
fn published_keys(account: &shared::account::Account, now: Timestamp) -> PublicKeys {
    let mut keys = Vec::new();
    for mode in [Mode::Live, Mode::Test] {
        let Some(published) = account.public_keys(mode) else {
            continue;
        };
        keys.push(PublicKey {
            key: published.current.clone(),
            mode,
            status: "current",
            expires_at: None,
        });
        keys.extend(
            published
                .retired
                .iter()
                .filter(|r| r.expires_at > now)
                .map(|r| PublicKey {
                    key: r.secret.clone(),
                    mode,
                    status: "previous",
                    expires_at: Some(r.expires_at),
                }),
        );
    }
    PublicKeys {
        account_id: account.id.to_string(),
        keys,
    }
}

/// The deployed function: these routes with the API's conventions.
pub fn router(state: AppState) -> Router {
    shared::http::api(routes().router(), state)
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
    let page = errors.absorbing(params.page.validate());
    let enabled = errors.check_given(params.enabled.as_deref(), |given| match given {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(t!("Enabled must be true or false")),
    });
    let event = errors.parse::<EventSelector>(params.event.as_deref());
    let (page, enabled, event) = errors.finish_with((page, enabled, event))?;
    let filter = EndpointFilter {
        url: params.url.filter(|u| !u.is_empty()),
        enabled,
        event,
    };
    let page = store::list(&state.db, &tenant, &filter, page).await?;
    Ok(page.respond(&uri, Endpoint::view))
}

async fn create(
    State(state): State<AppState>,
    tenant: Scoped<Write<groups::Webhooks>>,
    ApiJson(input): ApiJson<EndpointInput>,
) -> ApiResult<Response> {
    let (endpoint, secret) = manage::create(&state, &tenant, input).await?;
    Ok((
        StatusCode::CREATED,
        Json(endpoint.view_with_secret(&secret)),
    )
        .into_response())
}

async fn retrieve(
    State(state): State<AppState>,
    tenant: Scoped<Read<groups::Webhooks>>,
    PathId(id): PathId<kinds::Endpoint>,
) -> ApiResult<Response> {
    let endpoint = manage::find(&state, &tenant, &id).await?;
    let (rate, reason) = shared::delivery::pacing::current(&state.db, &tenant, &endpoint).await?;
    let mut view = endpoint.view();
    view.current_rate = rate;
    view.rate_reason = reason.as_deref();
    Ok(Json(view).into_response())
}

async fn update(
    State(state): State<AppState>,
    tenant: Scoped<Write<groups::Webhooks>>,
    PathId(id): PathId<kinds::Endpoint>,
    ApiJson(input): ApiJson<EndpointInput>,
) -> ApiResult<Response> {
    let endpoint = manage::update(&state, &tenant, &id, input).await?;
    Ok(Json(endpoint.view()).into_response())
}

async fn destroy(
    State(state): State<AppState>,
    tenant: Scoped<Write<groups::Webhooks>>,
    PathId(id): PathId<kinds::Endpoint>,
) -> ApiResult<StatusCode> {
    let endpoint = manage::find(&state, &tenant, &id).await?;
    manage::delete(&state, &tenant, &endpoint).await?;
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
    let endpoint = manage::set_enabled(&state, &tenant, &id, enabled).await?;
    Ok(Json(endpoint.view()).into_response())
}

async fn rotate_secret(
    State(state): State<AppState>,
    tenant: Scoped<Write<groups::Webhooks>>,
    PathId(id): PathId<kinds::Endpoint>,
    OptionalJson(input): OptionalJson<RotateInput>,
) -> ApiResult<Response> {
    let grace = secrets::grace_period(input.and_then(|i| i.grace_period_seconds))?;
    let secret = manage::rotate_secret(&state, &tenant, &id, grace).await?;
    Ok(Json(NewSecret { secret }).into_response())
}

/// Sends a `webhook:ping` to the endpoint now (enabled or not) and reports how it went.
async fn test(
    State(state): State<AppState>,
    tenant: Scoped<Write<groups::Webhooks>>,
    PathId(id): PathId<kinds::Endpoint>,
) -> ApiResult<Json<TestResult>> {
    let log = manage::test(&state, &tenant, &id).await?;
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
    /// Failed deliveries queued again (at most 1000 per call: call again for more).
    recovered: u32,
}

/// Re-sends every failed delivery to this endpoint since `since`, through the queue.
async fn recover(
    State(state): State<AppState>,
    tenant: Scoped<Write<groups::Webhooks>>,
    PathId(id): PathId<kinds::Endpoint>,
    ApiJson(input): ApiJson<RecoverInput>,
) -> ApiResult<Response> {
    let since = manage::recovery_start(input.since.as_deref())?;
    let recovered = manage::recover(&state, &tenant, &id, since).await?;
    Ok((StatusCode::ACCEPTED, Json(Recovered { recovered })).into_response())
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct UnblockInput {
    /// The resource to release (one of the endpoint's `blocked_resources`); all of
    /// them when absent.
    ordering_key: Option<String>,
}

/// Releases blocked resources: each one's failed delivery stays failed (retry it to
/// send it again) and the next event of that resource goes.
async fn unblock(
    State(state): State<AppState>,
    tenant: Scoped<Write<groups::Webhooks>>,
    PathId(id): PathId<kinds::Endpoint>,
    OptionalJson(input): OptionalJson<UnblockInput>,
) -> ApiResult<Response> {
    let endpoint = manage::find(&state, &tenant, &id).await?;
    let blocked: Vec<String> = endpoint.blocked_keys.iter().cloned().collect();
    let key = input.and_then(|i| i.ordering_key);
    shared::delivery::lanes::unblock(&state.engine(), &tenant, &id, &blocked, key.as_deref())
        .await?;
    let endpoint = manage::find(&state, &tenant, &id).await?;
    Ok(Json(endpoint.view()).into_response())
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
    let endpoint = manage::find(&state, &tenant, &id).await?;
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
