//! The handler steps every resource route repeats: authorise, read or delete by id,
//! list a page, answer 201 with the created object.

use crate::{
    ApiResult, AppState, Tenant,
    auth::{Access, Group, Principal},
    pagination::PageParams,
    store::resources::{self, Change, ListFilter, Resource, Stored},
};
use axum::{
    Json,
    http::{StatusCode, Uri},
    response::{IntoResponse, Response},
};

/// `GET /<resources>`: one page, newest first, with the pagination headers.
pub async fn list<R: Resource>(
    state: &AppState,
    principal: &Principal,
    group: Group,
    uri: &Uri,
    page: &PageParams,
    filter: ListFilter,
) -> ApiResult<Response> {
    let tenant = principal.authorize(Access::read(group))?;
    let page = page.validate()?;
    let page = resources::list::<R>(&state.db, &tenant, filter, page).await?;
    Ok(page.respond(uri, |item| item))
}

/// `GET /<resources>/{id}`.
pub async fn retrieve<R: Resource>(
    state: &AppState,
    principal: &Principal,
    group: Group,
    id: &str,
) -> ApiResult<Response> {
    let tenant = principal.authorize(Access::read(group))?;
    let found = resources::find::<R>(&state.db, &tenant, id).await?;
    Ok(Json(found.value).into_response())
}

/// `DELETE /<resources>/{id}` for a resource whose deletion touches nothing else.
pub async fn destroy<R: Resource>(
    state: &AppState,
    principal: &Principal,
    group: Group,
    id: &str,
) -> ApiResult<StatusCode> {
    let tenant = principal.authorize(Access::write(group))?;
    let found: Stored<R> = resources::find(&state.db, &tenant, id).await?;
    Change::new(&state.db, &tenant)
        .delete(&found)?
        .commit(state)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The resource `id` of the tenant, or a 404 naming it.
pub async fn find<R: Resource>(
    state: &AppState,
    tenant: &Tenant,
    id: &str,
) -> ApiResult<Stored<R>> {
    resources::find(&state.db, tenant, id).await
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
