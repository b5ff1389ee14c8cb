//! The seeds' other webhook APIs, served at their own paths so a merchant moving from
//! Conekta, Paybyrd, Pixlpay or the Key/Sign subscription API keeps its client and its
//! receiver and changes only the host and the credential. Each dialect is an adapter at
//! the edge (an anti-corruption layer): it translates its requests to the use cases of
//! `manage` and their results to its own answers, owns no table, and reaches
//! the delivery engine only through the format hooks of `webhooks::dialect`. An
//! endpoint made through a dialect is an ordinary endpoint (`dialect` says which),
//! counted in the tenant's quota and listed by `/api/v2/webhooks/endpoints`; a dialect's
//! own routes see only the endpoints made through it.
//!
//! Requests pass the API's layers as any other (keys and scopes, rate limits,
//! idempotency, signed requests); [`edge`] wraps them all, so even an error raised
//! before a handler runs (401, 429, 413, ...) reaches the client in the dialect's shape.

pub mod conekta;
pub mod keysign;
pub mod paybyrd;
pub mod pixlpay;

use crate::t;
use crate::{
    ApiError, ApiResult, AppState, Tenant, manage,
    routes::Routes,
    webhooks::{Dialect, Endpoint},
};
use axum::{
    body::Body,
    extract::{MatchedPath, Request},
    http::{HeaderValue, StatusCode, header, response::Parts},
    middleware::Next,
    response::{IntoResponse, Response},
};

/// Every dialect's routes (the webhook endpoints function serves them).
pub fn routes() -> Routes {
    conekta::routes()
        .merge(keysign::routes())
        .merge(paybyrd::routes())
        .merge(pixlpay::routes())
}

/// The dialect whose route `route` (a matched path) is, if any.
pub fn of_route(route: &str) -> Option<Dialect> {
    if route == conekta::BASE || route.starts_with(conekta::ONE) {
        Some(Dialect::Conekta)
    } else if route.starts_with(pixlpay::BASE) {
        Some(Dialect::Pixlpay)
    } else if route == paybyrd::BASE || route.starts_with(paybyrd::ONE) {
        Some(Dialect::Paybyrd)
    } else if route.starts_with(keysign::BASE) {
        Some(Dialect::KeySign)
    } else {
        None
    }
}

/// Around every route: a dialect's route gets its requests translated before the API's
/// layers and its errors rendered in its shape after them; other routes pass as they are.
pub async fn edge(request: Request, next: Next) -> Response {
    let dialect = request
        .extensions()
        .get::<MatchedPath>()
        .and_then(|path| of_route(path.as_str()));
    match dialect {
        Some(Dialect::Conekta) => conekta::edge(request, next).await,
        Some(Dialect::Pixlpay) => pixlpay::edge(request, next).await,
        Some(Dialect::KeySign) => keysign::edge(request, next).await,
        // Paybyrd and Key/Sign document no error shape of their own: PushGuard's stands.
        _ => next.run(request).await,
    }
}

/// An error response as the API rendered it: `{"message": ..., "errors": [...]}`.
pub(crate) struct Failure {
    pub status: StatusCode,
    pub message: String,
    /// Each validation problem, when there are several (else empty).
    pub errors: Vec<String>,
    /// Its headers (`Retry-After`, `Allow`, the rate-limit headers), kept.
    parts: Parts,
}

impl Failure {
    /// `error` as the API renders it, with `message` in place of its own.
    pub fn new(error: ApiError, message: String) -> Failure {
        let status = error.status();
        let (parts, _) = error.into_response().into_parts();
        Failure {
            status,
            message,
            errors: Vec::new(),
            parts,
        }
    }

    /// The error `response` carries, or the response itself when it is not one.
    pub async fn of(response: Response) -> Result<Failure, Response> {
        let is_json_error = response.status().as_u16() >= 400
            && response
                .headers()
                .get(header::CONTENT_TYPE)
                .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
        if !is_json_error {
            return Err(response);
        }
        let (parts, body) = response.into_parts();
        // The API's errors are small; anything past this limit is not one of them.
        let bytes = axum::body::to_bytes(body, 64 * 1024)
            .await
            .unwrap_or_default();
        let rendered: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
        let message = rendered["message"].as_str().unwrap_or("Error").to_string();
        let errors = rendered["errors"]
            .as_array()
            .map(|list| {
                list.iter()
                    .filter_map(|e| e.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default();
        Ok(Failure {
            status: parts.status,
            message,
            errors,
            parts,
        })
    }

    /// Every problem: the validation messages, else the message.
    pub fn problems(&self) -> Vec<&str> {
        if self.errors.is_empty() {
            vec![self.message.as_str()]
        } else {
            self.errors.iter().map(String::as_str).collect()
        }
    }

    /// `body` with `status` in place of the API's, keeping the API's headers.
    pub fn render(self, status: StatusCode, body: &serde_json::Value) -> Response {
        let mut parts = self.parts;
        parts.status = status;
        parts.headers.remove(header::CONTENT_LENGTH);
        parts.headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        Response::from_parts(parts, Body::from(body.to_string()))
    }
}

/// The field a validation message is about: its first word (`Url can't be blank`).
pub(crate) fn subject(message: &str) -> String {
    message
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase()
}

/// `names` in `dialect`'s spelling as PushGuard's event types (`*` as it is), each
/// unknown name a problem. `None` when every name was unknown: the problem is said.
pub(crate) fn event_types(
    dialect: Dialect,
    names: &[String],
    problems: &mut crate::error::Violations,
) -> Option<Vec<String>> {
    let known: Vec<String> = names
        .iter()
        .filter_map(|name| match (name.as_str(), dialect.event_type(name)) {
            ("*", _) => Some("*".to_string()),
            (_, Some(ours)) => Some(ours.to_string()),
            (_, None) => {
                problems.add(t!(
                    "Events contains {name:?}, which is not an event: use {names}",
                    name,
                    names = dialect.event_names().join(", ")
                ));
                None
            }
        })
        .collect();
    (known.len() == names.len() || !known.is_empty()).then_some(known)
}

/// A dialect's answer that is not an error: JSON with `status`.
pub(crate) fn answer(status: StatusCode, body: serde_json::Value) -> Response {
    (status, axum::Json(body)).into_response()
}

/// What an endpoint id in a dialect's path that names none of its endpoints answers.
pub(crate) fn not_found() -> ApiError {
    ApiError::NotFound("Webhook")
}

/// The tenant's endpoints made through `dialect`, newest first.
pub(crate) async fn endpoints_of(
    state: &AppState,
    tenant: &Tenant,
    dialect: Dialect,
) -> ApiResult<Vec<Endpoint>> {
    let mut endpoints: Vec<Endpoint> = manage::all(state, tenant)
        .await?
        .into_iter()
        .filter(|e| e.dialect == dialect)
        .collect();
    endpoints.sort_by(|a, b| b.id.as_str().cmp(a.id.as_str()));
    Ok(endpoints)
}

/// The tenant's endpoint `id` made through `dialect`, or 404: another dialect's is not
/// found here either.
pub(crate) async fn endpoint_of(
    state: &AppState,
    tenant: &Tenant,
    dialect: Dialect,
    id: &str,
) -> ApiResult<Endpoint> {
    let id = id.parse().map_err(|_| not_found())?;
    match manage::find(state, tenant, &id).await {
        Ok(endpoint) if endpoint.dialect == dialect => Ok(endpoint),
        Ok(_) | Err(ApiError::NotFound(_)) => Err(not_found()),
        Err(error) => Err(error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_dialect_route_is_known_as_its_dialect_and_no_other_route_is() {
        for (dialect, routes) in [
            (Dialect::Conekta, conekta::routes()),
            (Dialect::Pixlpay, pixlpay::routes()),
            (Dialect::Paybyrd, paybyrd::routes()),
            (Dialect::KeySign, keysign::routes()),
        ] {
            for (_, path) in routes.paths() {
                assert_eq!(of_route(path), Some(dialect), "{path}");
            }
        }
        for path in [
            "/api/v2/webhooks/endpoints",
            "/api/v2/webhooks/endpoints/{id}",
            "/api/v2/webhooks/logs",
            "/api/v2/webhooks/simulate",
            "/api/v2/webhooks/logs/{id}",
            "/api/v2/webhooks/public-keys/{account_id}",
            "/api/v2/products",
            "/portal/endpoints",
        ] {
            assert_eq!(of_route(path), None, "{path}");
        }
    }

    #[test]
    fn a_validation_message_is_about_its_first_word() {
        assert_eq!(subject("Url can't be blank"), "url");
        assert_eq!(subject("Events can't be blank"), "events");
    }
}
