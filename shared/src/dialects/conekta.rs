//! Conekta's webhooks API (seed 001): `POST/GET /webhooks`, `GET/PUT/DELETE
//! /webhooks/{id}`, `POST /webhooks/{id}/test`, with a Bearer key and
//! `Accept: application/vnd.conekta-v2.1.0+json`. Answers are Conekta's
//! `WebhookResponse` and `GetWebhooksResponse`; errors its error object
//! (`object: "error"`, `type`, `details[]`), in Spanish unless `Accept-Language` asks
//! for English. Deliveries are Conekta's event object (see `webhooks::dialect`).

use super::{Failure, answer, subject};
use crate::t;
use crate::{
    ApiError, ApiResult, AppState, Mode, Tenant,
    auth::{Read, Scoped, Write, groups},
    error::Violations,
    http::ApiJson,
    language::Language,
    manage,
    routes::Routes,
    webhooks::{Dialect, Endpoint},
};
use axum::{
    extract::{OriginalUri, Path, Query, Request, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    middleware::Next,
    response::Response,
};
use serde::{Deserialize, Serialize};
use serde_json::json;

pub(crate) const BASE: &str = "/webhooks";
pub(crate) const ONE: &str = "/webhooks/{id}";
const DIALECT: Dialect = Dialect::Conekta;
/// The version of Conekta's API these routes speak.
pub const MEDIA_TYPE: &str = "application/vnd.conekta-v2.1.0+json";
const DEFAULT_LIMIT: usize = 20;
const MAX_LIMIT: usize = 250;

/// Conekta's routes and their documentation.
pub fn routes() -> Routes {
    Routes::new("conekta")
        .errors_as::<ConektaError>()
        .post(BASE, create, |op| {
            op.summary("Create Webhook (Conekta)")
                .body::<WebhookRequest>()
                .requiring(&["url"])
                .creates("/id")
                .returns::<WebhookResponse>(200, "The webhook")
        })
        .get(BASE, list, |op| {
            op.summary("Get List of Webhooks (Conekta)")
                .query("limit", "1 to 250 (default 20)", crate::openapi::string())
                .query(
                    "search",
                    "Part of the URL, id or an event name",
                    crate::openapi::string(),
                )
                .query("url", "Part of the URL", crate::openapi::string())
                .query(
                    "next",
                    "The page after this webhook id",
                    crate::openapi::string(),
                )
                .query(
                    "previous",
                    "The page before this webhook id",
                    crate::openapi::string(),
                )
                .returns::<GetWebhooksResponse>(200, "One page of webhooks, newest first")
        })
        .get(ONE, retrieve, |op| {
            op.summary("Get Webhook (Conekta)")
                .returns::<WebhookResponse>(200, "The webhook")
        })
        .put(ONE, update, |op| {
            op.summary("Update Webhook (Conekta)")
                .body::<WebhookRequest>()
                .returns::<WebhookResponse>(200, "The webhook")
        })
        .delete(ONE, destroy, |op| {
            op.summary("Delete Webhook (Conekta)")
                .returns::<WebhookResponse>(200, "The deleted webhook (`deleted: true`)")
        })
        .post("/webhooks/{id}/test", test, |op| {
            op.summary("Test Webhook (Conekta): send a webhook.ping")
                .returns::<WebhookResponse>(200, "The webhook")
        })
}

/// Conekta's `WebhookRequest` and `WebhookUpdateRequest`.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct WebhookRequest {
    /// An https URL.
    url: Option<String>,
    /// Only `false`: PushGuard delivers asynchronously.
    synchronous: Option<bool>,
    /// Conekta's event names (e.g. `order.paid`); every event when absent on create.
    subscribed_events: Option<Vec<String>>,
    /// `WebhookUpdateRequest`'s name for `subscribed_events`.
    events: Option<Vec<String>>,
}

/// Conekta's `WebhookResponse`.
#[derive(Serialize, utoipa::ToSchema)]
pub struct WebhookResponse {
    id: String,
    /// Always `webhook`.
    object: &'static str,
    url: String,
    /// `listening`, or `disabled` (by the API or after failing deliveries).
    status: &'static str,
    subscribed_events: Vec<String>,
    synchronous: bool,
    livemode: bool,
    production_enabled: bool,
    development_enabled: bool,
    deleted: bool,
}

/// Conekta's error object.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ConektaError {
    /// Always `error`.
    object: &'static str,
    /// `parameter_validation_error`, `authentication_error`, `authorization_error`,
    /// `resource_not_found_error`, `conflict_error`, `rate_limit_error` or `api_error`.
    #[serde(rename = "type")]
    kind: &'static str,
    log_id: String,
    /// One per problem.
    details: Vec<ConektaErrorDetail>,
}

/// One problem of a [`ConektaError`].
#[derive(Serialize, utoipa::ToSchema)]
pub struct ConektaErrorDetail {
    /// `conekta.errors.<kind>[.<param>]`.
    code: String,
    /// The field at fault, for validation errors.
    param: Option<String>,
    /// For people: Spanish, or English with `Accept-Language: en`.
    message: String,
    /// PushGuard's own words, for the developer.
    debug_message: String,
}

/// Conekta's `GetWebhooksResponse`.
#[derive(Serialize, utoipa::ToSchema)]
pub struct GetWebhooksResponse {
    /// Always `list`.
    object: &'static str,
    has_more: bool,
    next_page_url: Option<String>,
    previous_page_url: Option<String>,
    data: Vec<WebhookResponse>,
}

fn response(endpoint: &Endpoint, mode: Mode, deleted: bool) -> WebhookResponse {
    let livemode = mode == Mode::Live;
    let subscribed_events = endpoint
        .events
        .iter()
        .flat_map(|selector| match selector.to_string().as_str() {
            "*" => DIALECT.event_names(),
            ours => vec![DIALECT.event_name(ours)],
        })
        .collect();
    WebhookResponse {
        id: endpoint.id.to_string(),
        object: "webhook",
        url: endpoint.url.masked(),
        status: if endpoint.enabled {
            "listening"
        } else {
            "disabled"
        },
        subscribed_events,
        synchronous: false,
        livemode,
        production_enabled: livemode && endpoint.enabled,
        development_enabled: !livemode && endpoint.enabled,
        deleted,
    }
}

impl WebhookRequest {
    /// PushGuard's input (on create, every event unless some are named), with every
    /// problem listed.
    fn into_input(self, creating: bool) -> manage::EndpointInput {
        let mut errors = Violations::new();
        if self.synchronous == Some(true) {
            errors.add(t!("Synchronous webhooks are not offered: PushGuard delivers every event asynchronously, with retries; send synchronous: false"));
        }
        let names = self.subscribed_events.or(self.events);
        let events = match &names {
            None if creating => Some(vec!["*".to_string()]),
            None => None,
            Some(names) => super::event_types(DIALECT, names, &mut errors),
        };
        manage::EndpointInput {
            url: self.url,
            events_refused: names.is_some() && events.is_none(),
            events,
            problems: errors.into_messages(),
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

fn ok(body: impl Serialize) -> Response {
    answer(StatusCode::OK, json!(body))
}

async fn create(
    State(state): State<AppState>,
    tenant: Scoped<Write<groups::Webhooks>>,
    ApiJson(input): ApiJson<WebhookRequest>,
) -> ApiResult<Response> {
    let (endpoint, _secret) =
        manage::create_as(&state, &tenant, input.into_input(true), DIALECT).await?;
    Ok(ok(response(&endpoint, tenant.mode(), false)))
}

#[derive(Debug, Deserialize)]
struct ListParams {
    limit: Option<String>,
    search: Option<String>,
    url: Option<String>,
    next: Option<String>,
    previous: Option<String>,
}

async fn list(
    State(state): State<AppState>,
    tenant: Scoped<Read<groups::Webhooks>>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    Query(params): Query<ListParams>,
) -> ApiResult<Response> {
    let limit = match params.limit.as_deref() {
        None => DEFAULT_LIMIT,
        Some(text) => text
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=MAX_LIMIT).contains(n))
            .ok_or_else(|| {
                ApiError::invalid(t!(
                    "Limit must be a number from 1 to {max}",
                    max = MAX_LIMIT
                ))
            })?,
    };
    let mode = tenant.mode();
    let matching: Vec<Endpoint> = all(&state, &tenant)
        .await?
        .into_iter()
        .filter(|e| {
            let shown = e.url.masked();
            params.url.as_deref().is_none_or(|u| shown.contains(u))
                && params.search.as_deref().is_none_or(|s| {
                    shown.contains(s)
                        || e.id.as_ref().contains(s)
                        || response(e, mode, false)
                            .subscribed_events
                            .iter()
                            .any(|n| n.contains(s))
                })
        })
        .collect();
    let position = |id: &str| matching.iter().position(|e| e.id.as_ref() == id);
    let (start, end) = match (&params.next, &params.previous) {
        (Some(after), _) => {
            let start = position(after).map_or(matching.len(), |i| i + 1);
            (start, (start + limit).min(matching.len()))
        }
        (None, Some(before)) => {
            let end = position(before).unwrap_or(0);
            (end.saturating_sub(limit), end)
        }
        (None, None) => (0, limit.min(matching.len())),
    };
    let page = &matching[start..end];
    let base = format!(
        "{}{}",
        crate::http::public_base(&state.config, &headers),
        uri.path()
    );
    let link = |cursor: &str, id: &str| {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        query.append_pair("limit", &limit.to_string());
        for (name, value) in [("url", &params.url), ("search", &params.search)] {
            if let Some(value) = value {
                query.append_pair(name, value);
            }
        }
        query.append_pair(cursor, id);
        format!("{base}?{}", query.finish())
    };
    let has_more = end < matching.len();
    Ok(ok(GetWebhooksResponse {
        object: "list",
        has_more,
        next_page_url: page
            .last()
            .filter(|_| has_more)
            .map(|e| link("next", e.id.as_ref())),
        previous_page_url: page
            .first()
            .filter(|_| start > 0)
            .map(|e| link("previous", e.id.as_ref())),
        data: page.iter().map(|e| response(e, mode, false)).collect(),
    }))
}

async fn retrieve(
    State(state): State<AppState>,
    tenant: Scoped<Read<groups::Webhooks>>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let endpoint = find(&state, &tenant, &id).await?;
    Ok(ok(response(&endpoint, tenant.mode(), false)))
}

async fn update(
    State(state): State<AppState>,
    tenant: Scoped<Write<groups::Webhooks>>,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<WebhookRequest>,
) -> ApiResult<Response> {
    let endpoint = find(&state, &tenant, &id).await?;
    let endpoint = manage::update(&state, &tenant, &endpoint.id, input.into_input(false)).await?;
    Ok(ok(response(&endpoint, tenant.mode(), false)))
}

async fn destroy(
    State(state): State<AppState>,
    tenant: Scoped<Write<groups::Webhooks>>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let endpoint = find(&state, &tenant, &id).await?;
    manage::delete(&state, &tenant, &endpoint).await?;
    Ok(ok(response(&endpoint, tenant.mode(), true)))
}

async fn test(
    State(state): State<AppState>,
    tenant: Scoped<Write<groups::Webhooks>>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let endpoint = find(&state, &tenant, &id).await?;
    manage::test(&state, &tenant, &endpoint.id).await?;
    Ok(ok(response(&endpoint, tenant.mode(), false)))
}

/// The language the caller prefers (`Accept-Language`, quality values honoured);
/// Conekta's default is Spanish.
fn language(headers: &HeaderMap) -> Language {
    Language::of_request(headers, Language::Spanish)
}

/// The Conekta version an `Accept` header asks for, if it names one.
fn requested_version(accept: &str) -> Option<&str> {
    accept.split(',').find_map(|range| {
        range
            .split(';')
            .next()?
            .trim()
            .strip_prefix("application/vnd.conekta-v")?
            .strip_suffix("+json")
    })
}

/// Conekta's edge: `Accept: application/vnd.conekta-v2.1.0+json` is JSON (another
/// version is a 406 naming this one), and every error is Conekta's error object in the
/// caller's language.
pub(crate) async fn edge(mut request: Request, next: Next) -> Response {
    let language = language(request.headers());
    // PushGuard's own words go in `debug_message`, in English as Conekta's are (each
    // detail's `param` is read from them); `message` speaks the caller's language.
    request
        .headers_mut()
        .insert(header::ACCEPT_LANGUAGE, HeaderValue::from_static("en"));
    let accept = request
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let response = match accept.as_deref().and_then(requested_version) {
        Some("2.1.0") => {
            request
                .headers_mut()
                .insert(header::ACCEPT, HeaderValue::from_static("application/json"));
            next.run(request).await
        }
        Some(other) => {
            let message =
                format!("API version {other} is not supported: send Accept: {MEDIA_TYPE}");
            return render(Failure::new(ApiError::NotAcceptable, message), language);
        }
        None => next.run(request).await,
    };
    let mut response = match Failure::of(response).await {
        Ok(failure) => render(failure, language),
        Err(response) => response,
    };
    // Conekta speaks Spanish unless asked for English, whatever the API's default.
    response.headers_mut().insert(
        header::CONTENT_LANGUAGE,
        HeaderValue::from_static(language.tag()),
    );
    response
}

/// `failure` as Conekta's error object: a `type`, and one detail per problem with its
/// `param`, a `code`, a `message` for people (Spanish unless English was asked for) and
/// PushGuard's own words as `debug_message`.
fn render(failure: Failure, language: Language) -> Response {
    let (kind, code, message) = match failure.status.as_u16() {
        400 | 413 | 415 | 422 => (
            "parameter_validation_error",
            "conekta.errors.parameter_validation",
            t!(language => "The data sent is not valid."),
        ),
        401 => (
            "authentication_error",
            "conekta.errors.authentication.missing_key",
            t!(language => "Unauthorized access."),
        ),
        403 => (
            "authorization_error",
            "conekta.errors.authorization.forbidden",
            t!(language => "You are not allowed to perform this action."),
        ),
        404 => (
            "resource_not_found_error",
            "conekta.errors.resource_not_found.entity",
            t!(language => "The resource was not found."),
        ),
        406 => (
            "parameter_validation_error",
            "conekta.errors.parameter_validation.accept_header",
            t!(language => "The requested API version is not supported."),
        ),
        409 => (
            "conflict_error",
            "conekta.errors.conflict",
            t!(language => "The request conflicts with the resource's current state."),
        ),
        429 => (
            "rate_limit_error",
            "conekta.errors.rate_limit",
            t!(language => "Too many requests; try again later."),
        ),
        405 => (
            "parameter_validation_error",
            "conekta.errors.method_not_allowed",
            t!(language => "Method not allowed."),
        ),
        _ => (
            "api_error",
            "conekta.errors.api",
            t!(language => "Something went wrong; try again later."),
        ),
    };
    let problems: Vec<String> = failure.problems().into_iter().map(String::from).collect();
    let validation = kind == "parameter_validation_error" && failure.status.as_u16() != 406;
    let details = problems
        .into_iter()
        .map(|problem| {
            let param = validation.then(|| match subject(&problem).as_str() {
                "events" | "subscribed_events" => "subscribed_events".to_string(),
                other => other.to_string(),
            });
            ConektaErrorDetail {
                code: match &param {
                    Some(param) => format!("{code}.{param}"),
                    None => code.to_string(),
                },
                param,
                message: message.clone(),
                debug_message: problem,
            }
        })
        .collect();
    let body = json!(ConektaError {
        object: "error",
        kind,
        log_id: crate::ids::LogId::new().to_string(),
        details,
    });
    let status = failure.status;
    failure.render(status, &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_accept_header_names_a_conekta_version_or_none() {
        assert_eq!(requested_version(MEDIA_TYPE), Some("2.1.0"));
        assert_eq!(
            requested_version("application/vnd.conekta-v2.0.0+json; charset=utf-8"),
            Some("2.0.0")
        );
        assert_eq!(requested_version("application/json"), None);
        assert_eq!(requested_version("*/*"), None);
    }

    #[test]
    fn spanish_unless_english_comes_first() {
        let with = |value: &'static str| {
            let mut headers = HeaderMap::new();
            headers.insert(header::ACCEPT_LANGUAGE, HeaderValue::from_static(value));
            headers
        };
        let spanish = Language::Spanish;
        assert_eq!(language(&HeaderMap::new()), spanish);
        assert_eq!(language(&with("es")), spanish);
        assert_eq!(language(&with("en-US,en;q=0.9")), Language::English);
        assert_eq!(language(&with("es-MX, en;q=0.5")), spanish);
        assert_eq!(
            language(&with("es;q=0.2, en;q=0.8")),
            Language::English,
            "the higher quality"
        );
        assert_eq!(language(&with("fr")), spanish, "neither: Conekta's Spanish");
    }
}
