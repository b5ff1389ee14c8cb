//! The portal's HTML: rendered on the server, escaped everywhere, charts as inline SVG,
//! no script and nothing from another origin.

use axum::{
    extract::{Path, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{Html, IntoResponse, Response},
};
use base64::{Engine, engine::general_purpose::STANDARD};
use sha2::{Digest, Sha256};
use shared::{
    ApiResult, AppState, Timestamp,
    http::escape_html as escape,
    portal::{PortalScope, PortalSession, PortalToken},
    store::{endpoints, portal as sessions, stats as stored_stats},
    webhooks::{
        Endpoint,
        stats::{Period, Tally, hour_of},
    },
};
use std::sync::LazyLock;

/// The session cookie: only `/portal` pages see it, no script can read it, and other
/// sites' forms do not send it (`Lax`: a link from an email still opens the portal).
const COOKIE: &str = "pg_portal";

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:0;color:#1b1f24;background:#f6f8fa}\
header{background:#24292f;color:#fff;padding:.75rem 1rem;display:flex;gap:1rem;align-items:baseline;flex-wrap:wrap}\
header h1{font-size:1.1rem;margin:0}.badge{font-size:.75rem;padding:.1rem .45rem;border-radius:1rem;background:#57606a}\
main{max-width:60rem;margin:1rem auto;padding:0 1rem}table{width:100%;border-collapse:collapse;background:#fff}\
th,td{text-align:left;padding:.5rem;border-bottom:1px solid #d0d7de;vertical-align:top}th{font-size:.8rem;color:#57606a}\
.url{font-family:ui-monospace,monospace;word-break:break-all}.state-enabled{color:#1a7f37}.state-disabled{color:#cf222e}\
.muted{color:#57606a}svg{display:block}.empty{padding:2rem;text-align:center;background:#fff}\
@media (max-width:40rem){thead{display:none}td{display:block;border:0;padding:.2rem .5rem}tr{display:block;border-bottom:1px solid #d0d7de;padding:.5rem 0}\
td[data-label]::before{content:attr(data-label) \": \";color:#57606a}}";

/// Every page's Content-Security-Policy: its one inline stylesheet, nothing else.
static CSP: LazyLock<HeaderValue> = LazyLock::new(|| {
    let hash = STANDARD.encode(Sha256::digest(STYLE.as_bytes()));
    HeaderValue::from_str(&format!(
        "default-src 'none'; style-src 'sha256-{hash}'; img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ))
    .expect("a valid header")
});

fn page(status: StatusCode, title: &str, scope: Option<PortalScope>, body: &str) -> Response {
    let badge = match scope {
        Some(PortalScope::Read) => r#"<span class="badge" id="scope">read only</span>"#,
        Some(PortalScope::Manage) => r#"<span class="badge" id="scope">manage</span>"#,
        None => "",
    };
    let html = format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="referrer" content="no-referrer"><title>{title} · PushGuard webhooks</title>
<style>{STYLE}</style></head>
<body><header><h1>PushGuard webhooks</h1>{badge}</header>
<main>{body}</main></body></html>"#,
        title = escape(title)
    );
    let mut response = (status, Html(html)).into_response();
    shared::http::page_headers(&mut response, &CSP);
    response
}

fn refused(message: &str) -> Response {
    let body = format!(
        r#"<div class="empty" id="refused"><h2>{}</h2><p class="muted">Ask whoever sent you the link for a new one.</p></div>"#,
        escape(message)
    );
    page(StatusCode::UNAUTHORIZED, "Link not valid", None, &body)
}

/// The live session `token` opens, if any.
async fn open(state: &AppState, token: &str) -> ApiResult<Option<(PortalSession, PortalToken)>> {
    let Some((id, token)) = PortalToken::parse(token) else {
        return Ok(None);
    };
    let session = sessions::get(&state.db, &id).await?;
    Ok(session
        .filter(|session| session.opens(&token, Timestamp::now()))
        .map(|session| (session, token)))
}

/// The session the request's cookie opens, if any.
async fn current(state: &AppState, headers: &HeaderMap) -> ApiResult<Option<PortalSession>> {
    let token = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| pair.trim().strip_prefix(COOKIE)?.strip_prefix('='));
    match token {
        Some(token) => Ok(open(state, token).await?.map(|(session, _)| session)),
        None => Ok(None),
    }
}

/// `GET /portal/{token}`: the link. Sets the session cookie and moves on to `/portal`.
pub async fn redeem(
    State(state): State<AppState>,
    Path(token): Path<String>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let Some((session, token)) = open(&state, &token).await? else {
        return Ok(refused(
            "This link is not valid: it has expired or was revoked.",
        ));
    };
    let remaining = (session.expires_at.as_millis() - Timestamp::now().as_millis()) / 1000;
    let secure = shared::http::public_base(&state.config, &headers).starts_with("https://");
    let cookie = format!(
        "{COOKIE}={}; Path=/portal; Max-Age={}; HttpOnly; SameSite=Lax{}",
        token.expose(),
        remaining.max(1),
        if secure { "; Secure" } else { "" }
    );
    let mut response = StatusCode::SEE_OTHER.into_response();
    let out = response.headers_mut();
    out.insert(header::LOCATION, HeaderValue::from_static("/portal"));
    out.insert(
        header::SET_COOKIE,
        HeaderValue::from_str(&cookie).map_err(shared::ApiError::internal)?,
    );
    out.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    out.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    Ok(response)
}

/// `GET /portal`: the tenant's endpoints, each with its last 24 hours.
pub async fn home(State(state): State<AppState>, headers: HeaderMap) -> ApiResult<Response> {
    let Some(session) = current(&state, &headers).await? else {
        return Ok(refused("Open the portal from its link."));
    };
    let tenant = &session.tenant;
    let endpoints = endpoints::all(&state.db, tenant).await?;
    let now = Timestamp::now();
    let from = hour_of(Period::Day.bucket_starts(now)[0]);
    let to = hour_of(now);
    let days = futures::future::join_all(endpoints.iter().map(|endpoint| {
        let (db, from, to) = (&state.db, &from, &to);
        async move {
            let hours = stored_stats::hours(db, tenant, &endpoint.id, from, to).await?;
            Ok::<_, shared::store::StoreError>(Period::Day.series(now, &hours))
        }
    }))
    .await;
    let mut rows = String::new();
    for (endpoint, day) in endpoints.iter().zip(days) {
        let (buckets, total) = day?;
        rows.push_str(&row(endpoint, &buckets, &total));
    }
    let body = if endpoints.is_empty() {
        r#"<div class="empty" id="no-endpoints"><h2>No endpoints yet</h2></div>"#.to_string()
    } else {
        format!(
            r#"<h2>Endpoints</h2><table id="endpoints"><thead><tr><th>URL</th><th>Events</th><th>State</th><th>Success, 24 h</th><th>p95, 24 h</th><th>Attempts per hour</th></tr></thead><tbody>{rows}</tbody></table>"#
        )
    };
    Ok(page(
        StatusCode::OK,
        "Endpoints",
        Some(session.scope),
        &body,
    ))
}

fn row(endpoint: &Endpoint, buckets: &[(Timestamp, Tally)], total: &Tally) -> String {
    let view = endpoint.view();
    let events: Vec<String> = view.events.iter().map(|e| escape(&e.to_string())).collect();
    let state = match (view.enabled, view.blocked_by_error_count) {
        (true, _) => r#"<span class="state-enabled">enabled</span>"#.to_string(),
        (false, true) => format!(
            r#"<span class="state-disabled">disabled by errors</span><br><span class="muted">{} failures in a row</span>"#,
            view.error_count
        ),
        (false, false) => r#"<span class="state-disabled">disabled</span>"#.to_string(),
    };
    let summary = total.view();
    let rate = summary
        .success_rate
        .map_or("—".to_string(), |r| format!("{:.1}%", r * 100.0));
    let p95 = summary
        .latency_ms
        .p95
        .map_or("—".to_string(), |ms| format!("{ms:.0} ms"));
    format!(
        r#"<tr data-endpoint="{id}"><td class="url">{url}</td><td data-label="Events">{events}</td><td data-label="State">{state}</td><td class="rate" data-label="Success, 24 h">{rate}</td><td class="p95" data-label="p95, 24 h">{p95}</td><td>{sparkline}</td></tr>"#,
        id = escape(view.id),
        url = escape(&view.url),
        events = events.join(", "),
        sparkline = sparkline(buckets),
    )
}

/// Attempts per hour as a line, failures as a second one, in a 120 × 28 SVG.
fn sparkline(buckets: &[(Timestamp, Tally)]) -> String {
    let (width, height) = (120.0, 28.0);
    let most = buckets
        .iter()
        .map(|(_, t)| t.attempts)
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let step = width / (buckets.len().max(2) - 1) as f64;
    let line = |value: &dyn Fn(&Tally) -> u64| -> String {
        buckets
            .iter()
            .enumerate()
            .map(|(i, (_, t))| {
                let y = height - 2.0 - (value(t) as f64 / most) * (height - 4.0);
                format!("{:.1},{:.1}", i as f64 * step, y)
            })
            .collect::<Vec<_>>()
            .join(" ")
    };
    let attempts: u64 = buckets.iter().map(|(_, t)| t.attempts).sum();
    format!(
        r##"<svg class="sparkline" width="120" height="28" viewBox="0 0 120 28" role="img" aria-label="{attempts} attempts in 24 hours"><polyline fill="none" stroke="#0969da" stroke-width="1.5" points="{}"/><polyline fill="none" stroke="#cf222e" stroke-width="1" points="{}"/></svg>"##,
        line(&|t| t.attempts),
        line(&|t| t.failed()),
    )
}
