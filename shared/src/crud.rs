//! The routes every resource repeats, as generic handlers: list, retrieve and destroy
//! for any [`Resource`], create and update for any [`Form`] (its validated input).
//! A function crate routes them, e.g. `get(crud::retrieve::<Blacklist>)`, and writes
//! by hand only what is particular to it.

use crate::{
    ApiError, ApiResult, AppState, Tenant, Timestamp,
    auth::{Read, Scoped, Write},
    http::ApiJson,
    ids::{Id, PathId},
    pagination::PageParams,
    store::resources::{self, Change, ListFilter, Resource, Stored},
};
use axum::{
    Json,
    extract::{OriginalUri, Query, State},
    http::{StatusCode, Uri},
    response::{IntoResponse, Response},
};
use serde::de::DeserializeOwned;

/// A resource's client-editable input: what create and update accept.
pub trait Form: DeserializeOwned + Send + 'static {
    type Resource: Resource;
    /// At most this many per tenant and mode.
    const MAX: Option<u64> = None;
    /// This input over `current` (none when creating), with every problem listed.
    fn apply(self, current: Option<&Self::Resource>, now: Timestamp) -> ApiResult<Self::Resource>;
}

/// One page of the resources `filter` keeps, newest first, with the pagination headers.
pub async fn list_filtered<R: Resource>(
    state: &AppState,
    tenant: &Tenant,
    uri: &Uri,
    page: &PageParams,
    filter: ListFilter,
) -> ApiResult<Response> {
    let page = page.validate()?;
    let page = resources::list::<R>(&state.db, tenant, filter, page).await?;
    Ok(page.respond(uri, |item| item))
}

/// `GET /<resources>`.
pub async fn list<R: Resource>(
    State(state): State<AppState>,
    tenant: Scoped<Read<R>>,
    OriginalUri(uri): OriginalUri,
    Query(page): Query<PageParams>,
) -> ApiResult<Response> {
    list_filtered::<R>(&state, &tenant, &uri, &page, ListFilter::default()).await
}

/// `GET /<resources>/{id}`.
pub async fn retrieve<R: Resource>(
    State(state): State<AppState>,
    tenant: Scoped<Read<R>>,
    PathId(id): PathId<R::Kind>,
) -> ApiResult<Response> {
    let found = find::<R>(&state, &tenant, &id).await?;
    Ok(Json(found.value).into_response())
}

/// `DELETE /<resources>/{id}`, for a resource whose deletion touches nothing else.
pub async fn destroy<R: Resource>(
    State(state): State<AppState>,
    tenant: Scoped<Write<R>>,
    PathId(id): PathId<R::Kind>,
) -> ApiResult<StatusCode> {
    let found = find::<R>(&state, &tenant, &id).await?;
    Change::new(&state.db, &tenant)
        .delete(&found)?
        .commit(state.outbox())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /<resources>` → 201 with the object.
pub async fn create<F: Form>(
    State(state): State<AppState>,
    tenant: Scoped<Write<F::Resource>>,
    ApiJson(input): ApiJson<F>,
) -> ApiResult<Response> {
    let created = input.apply(None, Timestamp::now())?;
    Change::new(&state.db, &tenant)
        .create(&created, F::MAX)?
        .commit(state.outbox())
        .await?;
    Ok(self::created(&created))
}

/// `PUT /<resources>/{id}`: a partial update, applied only to the version read.
pub async fn update<F: Form>(
    State(state): State<AppState>,
    tenant: Scoped<Write<F::Resource>>,
    PathId(id): PathId<<F::Resource as Resource>::Kind>,
    ApiJson(input): ApiJson<F>,
) -> ApiResult<Response> {
    let before = find::<F::Resource>(&state, &tenant, &id).await?;
    let after = input.apply(Some(&before.value), Timestamp::now())?;
    Change::new(&state.db, &tenant)
        .update(&before, &after)?
        .commit(state.outbox())
        .await?;
    Ok(Json(after).into_response())
}

/// The resource `id` of the tenant, or a 404 naming it.
pub async fn find<R: Resource>(
    state: &AppState,
    tenant: &Tenant,
    id: &Id<R::Kind>,
) -> ApiResult<Stored<R>> {
    Ok(resources::find(&state.db, tenant, id).await?)
}

/// 201 with the object.
pub fn created<R: Resource>(value: &R) -> Response {
    (StatusCode::CREATED, Json(value)).into_response()
}

/// Trimmed text, `None` when blank.
pub fn text(value: Option<String>) -> Option<String> {
    value
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
}

/// What a field holds after a write: the value given, else the current one (`None` when
/// creating and not given). A nullable field (`Option<Option<T>>` given, `Option<T>`
/// held) merges to `Option<Option<T>>`: flatten it.
pub fn merge<T: Clone>(given: Option<T>, current: Option<&T>) -> Option<T> {
    given.or_else(|| current.cloned())
}

// Where store errors become what a client sees: handlers are the only place they meet.
impl From<crate::store::StoreError> for ApiError {
    /// What a client sees of a store error: its rejection, 503 when DynamoDB was busy
    /// past every retry (never a 409 or 500 for a conflict or throttle it did not cause),
    /// else 500 with the cause logged.
    fn from(error: crate::store::StoreError) -> Self {
        use crate::store::{Rejection, StoreError};
        match error {
            StoreError::Rejected(Rejection::Conflict(message)) => ApiError::Conflict(message),
            StoreError::Rejected(Rejection::Invalid(message)) => {
                ApiError::Validation(vec![message])
            }
            StoreError::Rejected(Rejection::NotFound(name)) => ApiError::NotFound(name),
            StoreError::Rejected(Rejection::Changed(message)) => {
                ApiError::ConcurrentChange(message)
            }
            error @ StoreError::Transient { .. } => {
                tracing::warn!(%error, "DynamoDB stayed busy through every retry");
                ApiError::Unavailable
            }
            other => ApiError::internal(other),
        }
    }
}

/// Retries `attempt` while another request changed what it read (a few times, reading
/// again each time). Other conflicts, such as too little stock, are final.
pub async fn retrying<T, F, Fut>(mut attempt: F) -> Result<T, ApiError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, ApiError>>,
{
    const ATTEMPTS: u32 = 8;
    let mut tries = 0;
    loop {
        tries += 1;
        match attempt().await {
            Err(ApiError::ConcurrentChange(_)) if tries < ATTEMPTS => {
                let jitter = rand::random_range(0..=(5u64 << tries.min(5)));
                tokio::time::sleep(std::time::Duration::from_millis(jitter)).await;
            }
            other => return other,
        }
    }
}
