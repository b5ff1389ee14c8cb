//! The portal's HTML: rendered on the server, escaped everywhere, charts as inline SVG,
//! no script and nothing from another origin.
//!
//! Who is looking is a [`Viewer`] (the session the `pg_portal` cookie opens); who acts
//! is an [`Actor`]: a viewer with a `manage` link whose form carries the session's
//! CSRF token. Every action goes through [`shared::manage`], the code behind
//! the API's own routes, so the portal never does what the API would refuse.

pub mod catalogue;
mod charts;
pub mod deliveries;
pub mod endpoints;

use axum::{
    extract::{FromRequest, FromRequestParts, Path, Request, State},
    http::{HeaderMap, HeaderValue, StatusCode, header, request::Parts},
    middleware::Next,
    response::{IntoResponse, Response},
};
use base64::{Engine, engine::general_purpose::STANDARD};
use sha2::{Digest, Sha256};
use shared::{
    ApiError, AppState, Timestamp, html,
    html::Html,
    ids::ApiKeyId,
    portal::{PortalScope, PortalSession, PortalToken},
    store::{StoreError, api_keys, portal as sessions},
};
use shared::{language::Language, t};
use std::sync::{Arc, LazyLock};

/// The session cookie: only `/portal` pages see it, no script can read it, and other
/// sites' forms do not send it (`Lax`: a link from an email still opens the portal).
const COOKIE: &str = "pg_portal";

/// The largest form the portal accepts (an endpoint's edit form is well under).
const MAX_FORM_BYTES: usize = 64 * 1024;

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:0;color:#1b1f24;background:#f6f8fa}\
header{background:#24292f;color:#fff;padding:.75rem 1rem;display:flex;gap:1rem;align-items:baseline;flex-wrap:wrap}\
header h1{font-size:1.1rem;margin:0}header nav a{color:#fff;margin-right:.75rem}header nav a[aria-current]{font-weight:600;text-decoration:none}\
.badge{font-size:.75rem;padding:.1rem .45rem;border-radius:1rem;background:#57606a}\
main{max-width:60rem;margin:1rem auto;padding:0 1rem}table{width:100%;border-collapse:collapse;background:#fff}\
th,td{text-align:left;padding:.5rem;border-bottom:1px solid #d0d7de;vertical-align:top}th{font-size:.8rem;color:#57606a}\
.url{font-family:ui-monospace,monospace;word-break:break-all}.state-enabled,.status-succeeded{color:#1a7f37}.state-disabled,.status-failed{color:#cf222e}\
.status-retrying,.status-pending{color:#9a6700}.muted{color:#57606a}svg{display:block}a{color:#0969da}\
.chart{background:#fff;padding:.5rem;margin:.5rem 0 1rem;overflow-x:auto}\
.legend span{margin-right:1rem;font-size:.8rem}.ok{color:#1a7f37}.bad{color:#cf222e}.p50{color:#0969da}.p95{color:#9a6700}.p99{color:#8250df}\
dl{display:grid;grid-template-columns:auto 1fr;gap:.3rem 1rem;background:#fff;padding:.75rem}dt{color:#57606a}dd{margin:0;word-break:break-all}\
.empty{padding:2rem;text-align:center;background:#fff}\
pre{background:#fff;border:1px solid #d0d7de;padding:.75rem;overflow-x:auto;font-size:.85rem;white-space:pre-wrap;word-break:break-all}\
form.inline{display:inline}.actions{display:flex;gap:.5rem;flex-wrap:wrap;margin:.5rem 0 1rem}\
button{font:inherit;padding:.35rem .8rem;border:1px solid #d0d7de;border-radius:.4rem;background:#f6f8fa;cursor:pointer}\
button.primary{background:#1f883d;color:#fff;border-color:#1a7f37}button.danger{color:#cf222e}\
fieldset{border:1px solid #d0d7de;background:#fff;margin:0 0 1rem;padding:.75rem}legend{font-weight:600}\
label{display:block;margin:.5rem 0 .2rem}label.check{display:inline-block;margin:.2rem 1rem .2rem 0}\
input[type=text],input[type=url],input[type=date],textarea,select{font:inherit;padding:.3rem;border:1px solid #d0d7de;border-radius:.3rem;box-sizing:border-box}\
input[type=text],input[type=url],textarea{width:100%}textarea{font-family:ui-monospace,monospace}\
.notice{background:#dafbe1;border:1px solid #4ac26b;padding:.6rem .8rem;margin:.5rem 0}\
.errors{background:#ffebe9;border:1px solid #ff8182;padding:.6rem .8rem;margin:.5rem 0}.errors ul{margin:.3rem 0 0}\
.secret{font-family:ui-monospace,monospace;font-size:1rem;background:#fff8c5;padding:.5rem;border:1px solid #d4a72c;word-break:break-all}\
.filters{display:flex;gap:.75rem;flex-wrap:wrap;align-items:end;margin:.5rem 0}.filters label{margin:0}.filters input[type=text]{width:auto}\
@media (max-width:40rem){thead{display:none}td{display:block;border:0;padding:.2rem .5rem}tr{display:block;border-bottom:1px solid #d0d7de;padding:.5rem 0}\
td[data-label]::before{content:attr(data-label) \": \";color:#57606a}}";

/// Every page's Content-Security-Policy: its one inline stylesheet, forms to this
/// origin only, nothing else.
static CSP: LazyLock<HeaderValue> = LazyLock::new(|| {
    let hash = STANDARD.encode(Sha256::digest(STYLE.as_bytes()));
    HeaderValue::from_str(&format!(
        "default-src 'none'; style-src 'sha256-{hash}'; img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ))
    .expect("a valid header")
});

/// The portal's sections, for the navigation bar.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Endpoints,
    Deliveries,
    Events,
    None,
}

/// A whole page: `body` inside the portal's frame, marked as a page no one may frame,
/// cache or sniff.
pub fn page(
    status: StatusCode,
    title: &str,
    viewer: Option<&Viewer>,
    section: Section,
    body: &Html,
) -> Response {
    let scope = match viewer.map(|v| v.session.scope) {
        Some(PortalScope::Read) => Some(t!("read only")),
        Some(PortalScope::Manage) => Some(t!("manage")),
        None => None,
    };
    let scope = scope.map_or_else(Html::default, |scope| {
        html!(
            r#"<span class="badge" id="scope">{scope}</span>"#,
            scope = scope
        )
    });
    // Whose webhooks these are: a browser can hold only one portal at a time.
    let badge = match viewer {
        Some(viewer) => html!(
            r#"<span class="badge" id="account">{account}</span>{scope}"#,
            account = account_name(viewer.tenant()),
            scope = scope,
        ),
        None => Html::default(),
    };
    let nav = if viewer.is_some() {
        let link = |href: &'static str, name: String, this: Section| {
            let current = if this == section {
                Html::trusted(r#" aria-current="page""#)
            } else {
                Html::default()
            };
            html!(
                r#"<a href="{href}"{current}>{name}</a>"#,
                href = href,
                current = current,
                name = name
            )
        };
        html!(
            "<nav>{endpoints}{deliveries}{events}</nav>",
            endpoints = link("/portal", t!("Endpoints"), Section::Endpoints),
            deliveries = link("/portal/deliveries", t!("Deliveries"), Section::Deliveries),
            events = link("/portal/events", t!("Event types"), Section::Events),
        )
    } else {
        Html::default()
    };
    let document = html!(
        r#"<!doctype html>
<html lang="{lang}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="referrer" content="no-referrer"><title>{title} · {product}</title>
<style>{style}</style></head>
<body><header><h1>{product}</h1>{nav}{badge}</header>
<main>{body}</main></body></html>"#,
        lang = Language::current().tag(),
        title = title,
        product = t!("PushGuard webhooks"),
        style = Html::trusted(STYLE),
        nav = nav,
        badge = badge,
        body = body,
    );
    let mut response = (status, axum::response::Html(document.into_string())).into_response();
    shared::http::page_headers(&mut response, &CSP);
    response
}

/// A page that only says why the request was refused.
fn refusal(status: StatusCode, id: &str, message: &str, hint: &str) -> Response {
    let body = html!(
        r#"<div class="empty" id="{id}"><h2>{message}</h2><p class="muted">{hint}</p></div>"#,
        id = id,
        message = message,
        hint = hint,
    );
    page(status, &t!("Not allowed"), None, Section::None, &body)
}

fn refused(message: &str) -> Response {
    refusal(
        StatusCode::UNAUTHORIZED,
        "refused",
        message,
        &t!("Ask whoever sent you the link for a new one."),
    )
}

/// What a page handler answers when it cannot show its page: an HTML page with the
/// error's status (an unexpected error's cause goes to the log, never to the page).
pub struct PageError(Response);

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        self.0
    }
}

impl From<ApiError> for PageError {
    fn from(error: ApiError) -> Self {
        let status = error.status();
        let (title, detail) = match &error {
            ApiError::Internal(cause) => {
                tracing::error!(%cause, "portal page failed");
                (t!("Something went wrong"), String::new())
            }
            ApiError::Validation(messages) => (t!("That did not work"), messages.join("; ")),
            ApiError::TooManyRequests {
                retry_after_seconds,
            } => (
                error.message(Language::current()),
                t!("Try again in {retry_after_seconds} s.", retry_after_seconds),
            ),
            other => (other.message(Language::current()), String::new()),
        };
        let body = html!(
            r#"<div class="empty" id="error"><h2>{title}</h2><p>{detail}</p><p><a href="/portal">{back}</a></p></div>"#,
            title = title,
            detail = detail,
            back = t!("Back to the portal"),
        );
        let mut response = page(status, &title, None, Section::None, &body);
        if let ApiError::TooManyRequests {
            retry_after_seconds,
        } = error
            && let Ok(value) = HeaderValue::from_str(&retry_after_seconds.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        PageError(response)
    }
}

impl From<StoreError> for PageError {
    fn from(error: StoreError) -> Self {
        ApiError::from(error).into()
    }
}

/// What a page handler returns.
pub type PageResult = Result<Response, PageError>;

/// The portal token the request's cookie carries, if any.
fn cookie_token(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| pair.trim().strip_prefix(COOKIE)?.strip_prefix('='))
}

/// How a token comes: in a link (`/portal/{token}`), which opens its session once, or
/// in the cookie the link was traded for.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Presented {
    Link,
    Cookie,
}

/// The live session `token` opens, presented as `how`, if any.
async fn open(state: &AppState, token: &str, how: Presented) -> Result<Option<Viewer>, StoreError> {
    let Some((id, token)) = PortalToken::parse(token) else {
        return Ok(None);
    };
    let now = Timestamp::now();
    let session = sessions::get(&state.db, &id).await?;
    let Some(session) = session.filter(|session| match how {
        Presented::Link => session.opens_link(&token, now),
        Presented::Cookie => session.opens_cookie(&token, now),
    }) else {
        return Ok(None);
    };
    if !key_alive(state, &session).await? {
        return Ok(None);
    }
    Ok(Some(Viewer { session, token }))
}

/// Whether the version of the API key that made `session` still works: a link never
/// outlives it, revoked, or rolled and past its grace period.
async fn key_alive(state: &AppState, session: &PortalSession) -> Result<bool, StoreError> {
    let made_by_it = session.created_by.parse::<ApiKeyId>().ok();
    let key = api_keys::find_by_hash(&state.db, &session.key_hash).await?;
    Ok(key.is_some_and(|key| {
        Some(&key.id) == made_by_it.as_ref() && works_for(&key, &session.tenant)
    }))
}

/// Whether the key version `key_hash` still works for `tenant` (the session list's
/// `active`).
pub async fn key_version_alive(
    state: &AppState,
    tenant: &shared::Tenant,
    key_hash: &str,
) -> Result<bool, StoreError> {
    let key = api_keys::find_by_hash(&state.db, key_hash).await?;
    Ok(key.is_some_and(|key| works_for(&key, tenant)))
}

fn works_for(key: &shared::account::ApiKey, tenant: &shared::Tenant) -> bool {
    &key.account_id == tenant.account_id()
        && key.mode == tenant.mode()
        && key.expires_at.is_none_or(|end| Timestamp::now() < end)
}

/// Whoever holds a live portal session: the cookie's.
#[derive(Clone)]
pub struct Viewer {
    pub session: PortalSession,
    token: PortalToken,
}

impl Viewer {
    pub fn can_manage(&self) -> bool {
        self.session.scope == PortalScope::Manage
    }

    pub fn tenant(&self) -> &shared::Tenant {
        &self.session.tenant
    }

    /// The token every form of this session carries: derived from the session's
    /// secret, so another site can neither read it nor make it up.
    fn csrf(&self) -> String {
        let digest = Sha256::digest(format!("portal-csrf\n{}", self.token.expose()).as_bytes());
        hex::encode(&digest[..16])
    }

    /// A form posting to `action` with this session's CSRF token; `inner` is its fields
    /// and buttons.
    pub fn form(&self, action: &str, class: &str, inner: &Html) -> Html {
        html!(
            r#"<form method="post" action="{action}" class="{class}"><input type="hidden" name="csrf" value="{csrf}">{inner}</form>"#,
            action = action,
            class = class,
            csrf = self.csrf(),
            inner = inner,
        )
    }

    /// A one-button form (enable, retry, …).
    pub fn button(&self, action: &str, id: &str, label: &str, class: &str) -> Html {
        let button = html!(
            r#"<button type="submit" id="{id}" class="{class}">{label}</button>"#,
            id = id,
            class = class,
            label = label,
        );
        self.form(action, "inline", &button)
    }
}

/// The portal's session is its own key: to the API's documentation a page is public.
impl shared::routes::Requires for Viewer {}

impl FromRequestParts<AppState> for Viewer {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, PageError> {
        let viewer = match parts.extensions.remove::<Opened>() {
            Some(Opened(opened)) => opened.map(Arc::unwrap_or_clone),
            // Not through `limited` (a test's router): open it here.
            None => match cookie_token(&parts.headers) {
                Some(token) => open(state, token, Presented::Cookie).await?,
                None => None,
            },
        };
        viewer.ok_or_else(|| PageError(refused(&t!("Open the portal from its link."))))
    }
}

/// A `manage` session's submitted form, its CSRF token checked. A read-only link, a
/// form from anywhere else, or one without the token is refused with 403.
pub struct Actor {
    pub viewer: Viewer,
    pub form: Form,
}

impl shared::routes::Requires for Actor {}

impl FromRequest<AppState> for Actor {
    type Rejection = PageError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, PageError> {
        let (mut parts, body) = request.into_parts();
        let viewer = Viewer::from_request_parts(&mut parts, state).await?;
        if !viewer.can_manage() {
            return Err(PageError(refusal(
                StatusCode::FORBIDDEN,
                "read-only",
                &t!("This link is read only."),
                &t!("Ask for a link with the manage scope to change anything."),
            )));
        }
        let bytes = axum::body::to_bytes(body, MAX_FORM_BYTES)
            .await
            .map_err(|_| ApiError::PayloadTooLarge)?;
        let form = Form::parse(&bytes);
        let expected = viewer.csrf();
        let given = form.get("csrf").unwrap_or_default();
        if !shared::secrets::constant_time_eq(given.as_bytes(), expected.as_bytes()) {
            return Err(PageError(refusal(
                StatusCode::FORBIDDEN,
                "forged",
                &t!("This form did not come from this portal."),
                &t!("Reload the page and try again."),
            )));
        }
        Ok(Actor { viewer, form })
    }
}

/// A form that only acts (enable, disable, rotate, test, retry), for the OpenAPI
/// document: the session's CSRF token, which every form carries.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // describes the form; `Actor` reads it
pub struct ActionForm {
    /// The session's CSRF token, as the page's form carries it.
    csrf: String,
}

/// A submitted `application/x-www-form-urlencoded` body, repeated names kept.
pub struct Form(Vec<(String, String)>);

impl Form {
    pub fn parse(bytes: &[u8]) -> Self {
        Form(url::form_urlencoded::parse(bytes).into_owned().collect())
    }

    /// The first value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// Every value of `name`, in order.
    pub fn all(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(key, _)| key == name)
            .map(|(_, value)| value.clone())
            .collect()
    }
}

/// `303 See Other` to `to`: where a form's browser goes once its action is done.
pub fn see_other(to: &str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(value) = HeaderValue::from_str(to) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

/// `GET /portal/{token}`: the link. Trades it for the session cookie and moves on to
/// `/portal`; if this browser is already looking at another tenant's portal, asks first.
pub async fn redeem(
    State(state): State<AppState>,
    Path(token): Path<String>,
    headers: HeaderMap,
    opened: Option<axum::Extension<Opened>>,
) -> PageResult {
    let Some(viewer) = link_viewer(&state, &token, opened).await? else {
        return Ok(link_refused());
    };
    let current = match cookie_token(&headers) {
        Some(cookie) => open(&state, cookie, Presented::Cookie).await?,
        None => None,
    };
    if let Some(current) = current.filter(|c| c.tenant() != viewer.tenant()) {
        return Ok(confirm_switch(&current, &viewer, &token));
    }
    exchange(&state, viewer, &headers).await
}

/// `POST /portal/{token}`: the link, opened after the page that asked whether to leave
/// another tenant's portal.
pub async fn switch(
    State(state): State<AppState>,
    Path(token): Path<String>,
    headers: HeaderMap,
    opened: Option<axum::Extension<Opened>>,
) -> PageResult {
    let Some(viewer) = link_viewer(&state, &token, opened).await? else {
        return Ok(link_refused());
    };
    exchange(&state, viewer, &headers).await
}

/// The session the link `token` opens (as [`limited`] found it, or read now).
async fn link_viewer(
    state: &AppState,
    token: &str,
    opened: Option<axum::Extension<Opened>>,
) -> Result<Option<Viewer>, PageError> {
    Ok(match opened {
        Some(axum::Extension(Opened(opened))) => opened.map(Arc::unwrap_or_clone),
        None => open(state, token, Presented::Link).await?,
    })
}

fn link_refused() -> Response {
    refused(&t!(
        "This link is not valid: it was opened already, has expired or was revoked."
    ))
}

/// Asks before replacing the session of `current`'s tenant by `next`'s.
fn confirm_switch(current: &Viewer, next: &Viewer, token: &str) -> Response {
    let (current, next) = (account_name(current.tenant()), account_name(next.tenant()));
    // The sentence is translated around two names in bold: markup put together from
    // escaped names and the catalogue's own text.
    let explained = Html::from_escaped_parts(t!(
        "This browser is looking at the webhooks of {current}. The link opens those of {next}, and this browser then leaves the first.",
        current = html!(
            r#"<strong id="current-account">{name}</strong>"#,
            name = current
        )
        .into_string(),
        next = html!(r#"<strong id="next-account">{name}</strong>"#, name = next).into_string(),
    ));
    let body = html!(
        r#"<div class="empty" id="switch"><h2>{question}</h2>
<p>{explained}</p>
<form method="post" action="/portal/{token}" class="inline"><button type="submit" class="primary" id="switch-account">{open}</button></form>
<p><a href="/portal" id="stay">{stay}</a></p></div>"#,
        question = t!("Open another account's portal?"),
        explained = explained,
        open = t!("Open {next}", next),
        stay = t!("Stay with {current}", current),
        token = token,
    );
    let mut response = page(
        StatusCode::OK,
        &t!("Another account"),
        None,
        Section::None,
        &body,
    );
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// How a page names a tenant: its account and mode.
fn account_name(tenant: &shared::Tenant) -> String {
    format!("{} ({})", tenant.account_id(), tenant.mode())
}

/// Trades `viewer`'s link for a cookie of its own, once: sets the cookie and moves on.
async fn exchange(state: &AppState, viewer: Viewer, headers: &HeaderMap) -> PageResult {
    let cookie_token = PortalToken::generate(&viewer.session.id);
    let now = Timestamp::now();
    if !sessions::open_link(&state.db, &viewer.session.id, &cookie_token.hash(), now).await? {
        // Opened a moment ago by someone else (two tabs, or whoever else had the link).
        return Ok(link_refused());
    }
    let remaining = (viewer.session.expires_at.as_millis() - now.as_millis()) / 1000;
    let secure = !shared::http::served_on_loopback(&state.config, headers);
    let cookie = format!(
        "{COOKIE}={}; Path=/portal; Max-Age={}; HttpOnly; SameSite=Lax{}",
        cookie_token.expose(),
        remaining.max(1),
        if secure { "; Secure" } else { "" }
    );
    let mut response = see_other("/portal");
    let out = response.headers_mut();
    out.insert(
        header::SET_COOKIE,
        HeaderValue::from_str(&cookie).map_err(ApiError::internal)?,
    );
    out.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    out.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    Ok(response)
}

/// Every portal request passes here first. Its client takes from its own bucket in this
/// instance (no store); then the session it presents (the link's token on
/// `/portal/{token}`, else the cookie) is opened, one read; only a live session takes
/// from its bucket, which every page and action of the link shares. A made-up or dead
/// token costs that one read and no write. The opened session goes on to the page in
/// the request, so it is not read twice.
pub async fn limited(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let (mut parts, body) = request.into_parts();
    let client = shared::http::Client(shared::http::client_of(&parts.extensions));
    if let Some(refused) = client.refused(&state) {
        return too_many(refused);
    }
    let in_path = parts
        .uri
        .path()
        .strip_prefix("/portal/")
        .filter(|rest| PortalToken::parse(rest).is_some())
        .map(str::to_string);
    let presented = match in_path {
        Some(token) => Some((token, Presented::Link)),
        None => cookie_token(&parts.headers).map(|token| (token.to_string(), Presented::Cookie)),
    };
    let viewer = match presented {
        Some((token, how)) => match open(&state, &token, how).await {
            Ok(viewer) => viewer,
            Err(error) => return PageError::from(error).into_response(),
        },
        None => None,
    };
    if let Some(viewer) = &viewer {
        let limit = state.config.rate_limits.portal;
        let decision = state
            .limiter
            .portal(&state.db, limit, viewer.session.id.as_str())
            .await;
        if let Some(decision) = decision.filter(|d| !d.allowed) {
            return too_many(decision);
        }
    }
    parts.extensions.insert(Opened(viewer.map(Arc::new)));
    next.run(Request::from_parts(parts, body)).await
}

/// The page that answers a refused request, with its `Retry-After` and `RateLimit-*`.
fn too_many(decision: shared::ratelimit::Decision) -> Response {
    let mut response = PageError::from(decision.refusal()).into_response();
    decision.write_headers(response.headers_mut());
    response
}

/// The session [`limited`] opened for a request, if any.
#[derive(Clone)]
pub struct Opened(Option<Arc<Viewer>>);

/// A notice of what the last action did, from a `?done=` the action redirected with.
pub fn notice(done: Option<&str>) -> Html {
    let text = match done {
        Some("saved") => t!("Saved."),
        Some("enabled") => t!("Enabled: deliveries resume and its failure count is cleared."),
        Some("disabled") => t!("Disabled: no deliveries until it is enabled again."),
        Some("retried") => t!("Delivered again: the latest attempt is below."),
        _ => return Html::default(),
    };
    html!(r#"<p class="notice" id="notice">{text}</p>"#, text = text)
}

/// Validation messages as a list, for a form shown again.
pub fn errors(messages: &[String]) -> Html {
    if messages.is_empty() {
        return Html::default();
    }
    let items: Html = messages
        .iter()
        .map(|m| html!("<li>{message}</li>", message = m))
        .collect();
    html!(
        r#"<div class="errors" id="errors" role="alert"><strong>{title}</strong><ul>{items}</ul></div>"#,
        title = t!("Not saved:"),
        items = items,
    )
}

/// ` selected` for the chosen `<option>`.
pub fn chosen(is: bool) -> Html {
    Html::trusted(if is { " selected" } else { "" })
}

/// ` checked` for a ticked checkbox.
pub fn checked(is: bool) -> Html {
    Html::trusted(if is { " checked" } else { "" })
}

/// A time as the portal shows it: `2026-12-02 07:15:03 UTC`.
pub fn when(at: Timestamp) -> String {
    let text = at.to_string();
    format!("{} {} UTC", &text[..10], &text[11..19])
}
