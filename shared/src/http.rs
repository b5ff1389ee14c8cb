//! HTTP conventions every function router shares: JSON bodies only (415), at most
//! 256 KiB (413), JSON responses only (406), JSON errors for unknown routes, and
//! authentication.

use crate::t;
use crate::{ApiError, AppState, auth};
use axum::{
    Router,
    body::Bytes,
    extract::{DefaultBodyLimit, FromRequest, Request, State},
    http::{HeaderValue, StatusCode, header},
    middleware::{self, Next},
    response::{IntoResponse, Response},
};
use serde::de::DeserializeOwned;

pub use crate::limits::MAX_BODY_BYTES;

/// A JSON request body, with errors in the API's shape.
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !is_json(request.headers().get(header::CONTENT_TYPE)) {
            return Err(ApiError::UnsupportedMediaType);
        }
        let bytes =
            Bytes::from_request(request, state)
                .await
                .map_err(|rejection| match rejection.status() {
                    StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge,
                    _ => ApiError::BadRequest(t!("Could not read the request body")),
                })?;
        let deserializer = &mut serde_json::Deserializer::from_slice(&bytes);
        serde_path_to_error::deserialize(deserializer)
            .map(ApiJson)
            .map_err(|e| match e.path().to_string().as_str() {
                "." => ApiError::BadRequest(t!("Invalid JSON body: {error}", error = e.inner())),
                path => ApiError::BadRequest(t!(
                    "Invalid JSON body at {path}: {error}",
                    path,
                    error = e.inner()
                )),
            })
    }
}

/// An optional JSON body: an empty body is `None` (e.g. `POST .../rotate-secret`).
pub struct OptionalJson<T>(pub Option<T>);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for OptionalJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let empty = request
            .headers()
            .get(header::CONTENT_LENGTH)
            .is_some_and(|v| v == "0")
            || (!request.headers().contains_key(header::CONTENT_TYPE)
                && !request.headers().contains_key(header::TRANSFER_ENCODING)
                && !request.headers().contains_key(header::CONTENT_LENGTH));
        if empty {
            return Ok(OptionalJson(None));
        }
        ApiJson::from_request(request, state)
            .await
            .map(|ApiJson(value)| OptionalJson(Some(value)))
    }
}

fn is_json(content_type: Option<&header::HeaderValue>) -> bool {
    let Some(value) = content_type.and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let essence = value
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// Whether an `Accept` header admits a JSON response.
pub fn accepts_json(accept: &str) -> bool {
    accept.split(',').any(|range| {
        let mut params = range.split(';');
        let media = params.next().unwrap_or("").trim().to_ascii_lowercase();
        let refused = params.any(|p| {
            p.trim()
                .strip_prefix("q=")
                .and_then(|q| q.trim().parse::<f32>().ok())
                .is_some_and(|q| q <= 0.0)
        });
        !refused && matches!(media.as_str(), "application/json" | "application/*" | "*/*")
    })
}

async fn negotiate(request: Request, next: Next) -> Result<Response, ApiError> {
    if let Some(accept) = request.headers().get(header::ACCEPT) {
        let accept = accept.to_str().map_err(|_| ApiError::NotAcceptable)?;
        if !accepts_json(accept) {
            return Err(ApiError::NotAcceptable);
        }
    }
    let declared_length = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared_length.is_some_and(|n| n > MAX_BODY_BYTES) {
        return Err(ApiError::PayloadTooLarge);
    }
    let response = next.run(request).await;
    // axum answers an unsupported method with an empty 405; give it the API's shape.
    if response.status() == StatusCode::METHOD_NOT_ALLOWED
        && !response.headers().contains_key(header::CONTENT_TYPE)
    {
        let allow = response.headers().get(header::ALLOW).cloned();
        let mut json = ApiError::MethodNotAllowed.into_response();
        if let Some(allow) = allow {
            json.headers_mut().insert(header::ALLOW, allow);
        }
        return Ok(json);
    }
    Ok(response)
}

async fn route_not_found() -> ApiError {
    ApiError::RouteNotFound
}

/// Resolves the request's credentials, if any, to the principal handlers authorize.
async fn authenticate(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let request = auth::authenticate(
        &state.auth,
        &state.db,
        &state.keyring,
        state.config.signed_request_tolerance,
        request,
    )
    .await?;
    Ok(next.run(request).await)
}

/// Where the health check is: it answers during maintenance too, and says so.
pub const HEALTH: &str = "/api/v2/health";

/// A `302` to `location` (a short-lived presigned URL), cached as `cache_control` says.
pub fn redirect(location: &str, cache_control: &'static str) -> Response {
    let mut response = axum::http::StatusCode::FOUND.into_response();
    let headers = response.headers_mut();
    if let Ok(location) = axum::http::HeaderValue::from_str(location) {
        headers.insert(axum::http::header::LOCATION, location);
    }
    headers.insert(
        axum::http::header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static(cache_control),
    );
    response
}

/// Public pages (the payment page, images' addresses, the portal) as served: outside
/// the API's conventions and authentication, behind the maintenance switch. Each
/// handler limits its own visitors.
pub fn public(pages: axum::Router<AppState>, state: AppState) -> axum::Router {
    pages
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            maintenance,
        ))
        // Whoever opens a page reads it in their browser's language.
        .layer(middleware::from_fn(speak))
        .with_state(state)
}

/// The operator's maintenance switch (`MAINTENANCE_MODE`): while it is on, every route
/// but the health check answers 503 "We're temporarily offline for maintenance" with
/// `Retry-After`, before authentication, so nothing reads or writes the store; the
/// public pages answer the same as a page. The delivery functions have no routes:
/// deliveries already accepted go on.
pub async fn maintenance(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let Some(retry_after_seconds) = state.config.maintenance else {
        return next.run(request).await;
    };
    let path = request.uri().path();
    if path == HEALTH {
        return next.run(request).await;
    }
    let refusal = ApiError::Maintenance {
        retry_after_seconds,
    };
    if !(path.starts_with("/pay/") || path == "/portal" || path.starts_with("/portal/")) {
        return refusal.into_response();
    }
    let language = crate::language::Language::current();
    let page = crate::html!(
        "<!doctype html><html lang=\"{lang}\"><head><meta charset=\"utf-8\"><title>{title}</title></head>\
         <body><h1>{title}</h1><p>{message}</p></body></html>",
        lang = language.tag(),
        title = t!("Offline for maintenance"),
        message = refusal.message(language),
    );
    let mut response = (
        refusal.status(),
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        page.into_string(),
    )
        .into_response();
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_seconds));
    response
}

/// Takes a token from the caller's `api` bucket (429 when it is empty) and tells the
/// caller what is left on every response.
async fn rate_limited(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let decision = match request.extensions().get::<auth::Principal>() {
        Some(principal) => {
            let limit = state.config.rate_limits.api;
            state
                .limiter
                .api(&state.db, limit, &principal.tenant())
                .await
        }
        None => None,
    };
    Ok(crate::ratelimit::guarded(decision, request, next).await)
}

/// One span and one log line per request (method, route, tenant, status, latency; never
/// a key, secret or signature), then the request's metrics are flushed.
async fn observe(State(state): State<AppState>, request: Request, next: Next) -> Response {
    use tracing::Instrument;
    let route = request
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string());
    let span = tracing::info_span!(
        "request",
        function = crate::telemetry::function_name(),
        method = %request.method(),
        route = %route,
        tenant = tracing::field::Empty,
        acting_account = tracing::field::Empty,
    );
    let started = std::time::Instant::now();
    let response = next.run(request).instrument(span.clone()).await;
    let status = response.status().as_u16();
    let latency_ms = started.elapsed().as_millis() as u64;
    span.in_scope(|| tracing::info!(status, latency_ms, "request"));
    if status >= 500 {
        crate::metrics::count("ServerErrors", &[], 1);
    }
    crate::metrics::flush(&state.config.metrics_namespace);
    response
}

/// A function's routes behind its authentication, served with its state: the caller
/// is authenticated, rate-limited, then idempotent `POST`s are answered or claimed.
pub fn authenticated(routes: Router<AppState>, state: AppState) -> Router {
    routes
        .layer(middleware::from_fn_with_state(
            state.clone(),
            crate::idempotency::idempotent,
        ))
        .layer(middleware::from_fn_with_state(state.clone(), rate_limited))
        .layer(middleware::from_fn_with_state(state.clone(), authenticate))
        .layer(middleware::from_fn_with_state(state.clone(), maintenance))
        .layer(middleware::from_fn_with_state(state.clone(), observe))
        .with_state(state)
}

/// The API's conventions around routes: a JSON 404 for unknown routes, content
/// negotiation, the body limit, and the dialects' edge (`crate::dialects`). The local server wraps every function's routes once.
pub fn conventions(routes: Router) -> Router {
    routes
        .fallback(route_not_found)
        .layer(middleware::from_fn(negotiate))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(middleware::from_fn(speak))
        // Outermost: a dialect's errors, even these layers' own, leave in its shape.
        .layer(middleware::from_fn(crate::dialects::edge))
}

/// Answers in the language `Accept-Language` prefers (English by default; see
/// `crate::language`), and says which in `Content-Language`.
pub async fn speak(request: Request, next: Next) -> Response {
    let language = crate::language::Language::of_request(request.headers(), Default::default());
    let mut response = language.scope(next.run(request)).await;
    response.headers_mut().insert(
        axum::http::header::CONTENT_LANGUAGE,
        axum::http::HeaderValue::from_static(language.tag()),
    );
    response
}

/// A function's router as deployed: its authenticated routes in the API's conventions.
pub fn api(routes: Router<AppState>, state: AppState) -> Router {
    conventions(authenticated(routes, state))
}

/// For partial updates: distinguishes a field that is absent (`None`) from one set
/// to null (`Some(None)`). Use with `#[serde(default, deserialize_with = "nullable")]`.
pub fn nullable<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    <Option<T> as serde::Deserialize>::deserialize(deserializer).map(Some)
}

/// Who sent a request, as far as the function can tell: the source address API Gateway
/// saw (its request context, which a client cannot forge, unlike `X-Forwarded-For`), or
/// the peer of a local connection; `unknown` when neither is there.
pub fn client_of(extensions: &axum::http::Extensions) -> String {
    use lambda_http::request::RequestContext;
    let from_gateway = match extensions.get::<RequestContext>() {
        Some(RequestContext::ApiGatewayV2(context)) => context.http.source_ip.clone(),
        Some(RequestContext::ApiGatewayV1(context)) => context.identity.source_ip.clone(),
        _ => None,
    };
    from_gateway
        .or_else(|| {
            extensions
                .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
                .map(|info| info.0.ip().to_string())
        })
        .unwrap_or_else(|| "unknown".into())
}

/// The request's client (see [`client_of`]), for the public routes' limit.
pub struct Client(pub String);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Client {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, Self::Rejection> {
        Ok(Client(client_of(&parts.extensions)))
    }
}

impl crate::routes::Requires for Client {}

impl Client {
    /// Takes one of this client's requests from its bucket in this instance (see
    /// [`crate::ratelimit::Limiter::client`]): the refusal when the bucket is empty.
    pub fn refused(&self, state: &AppState) -> Option<crate::ratelimit::Decision> {
        state
            .limiter
            .client(&self.0, state.config.rate_limits.client)
            .filter(|decision| !decision.allowed)
    }
}

/// Where the public pages are (the payment page, the portal): `PUBLIC_URL`, else the
/// host the request came to.
pub fn public_base(config: &crate::Config, headers: &axum::http::HeaderMap) -> String {
    if let Some(url) = &config.public_url {
        return url.clone();
    }
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let proto = header("x-forwarded-proto").unwrap_or("http");
    let host = header(axum::http::header::HOST.as_str()).unwrap_or("localhost");
    format!("{proto}://{host}")
}

/// Whether the public pages are served over plain http on this machine (`make run`,
/// the tests): the one case a cookie cannot be `Secure`. Anywhere else (in AWS the
/// host is API Gateway's or a custom domain's, always https) it must be, whatever a
/// header says.
pub fn served_on_loopback(config: &crate::Config, headers: &axum::http::HeaderMap) -> bool {
    let Ok(base) = url::Url::parse(&public_base(config, headers)) else {
        return false;
    };
    let loopback = match base.host() {
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    base.scheme() == "http" && loopback
}

/// Marks a public HTML page's response: its Content-Security-Policy, never cached,
/// never sniffed as another type, and no referrer sent from it (its URL may hold a token).
pub fn page_headers(response: &mut axum::response::Response, csp: &axum::http::HeaderValue) {
    use axum::http::{HeaderValue, header};
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_SECURITY_POLICY, csp.clone());
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_header_negotiation() {
        for ok in [
            "application/json",
            "*/*",
            "text/html, application/json;q=0.9",
            "application/*",
            "APPLICATION/JSON; charset=utf-8",
        ] {
            assert!(accepts_json(ok), "{ok}");
        }
        for refused in [
            "text/html",
            "application/xml",
            "application/json;q=0",
            "text/*",
        ] {
            assert!(!accepts_json(refused), "{refused}");
        }
    }

    #[test]
    fn json_content_types() {
        let value = |s: &'static str| header::HeaderValue::from_static(s);
        assert!(is_json(Some(&value("application/json"))));
        assert!(is_json(Some(&value("application/json; charset=utf-8"))));
        assert!(is_json(Some(&value("application/merge-patch+json"))));
        assert!(!is_json(Some(&value("text/plain"))));
        assert!(!is_json(Some(&value("application/x-www-form-urlencoded"))));
        assert!(!is_json(None));
    }
}
