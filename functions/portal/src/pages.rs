//! The portal's HTML: rendered on the server, escaped everywhere, charts as inline SVG,
//! no script and nothing from another origin.

use axum::{
    extract::{Path, Query, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{Html, IntoResponse, Response},
};
use base64::{Engine, engine::general_purpose::STANDARD};
use sha2::{Digest, Sha256};
use shared::{
    ApiResult, AppState, Timestamp,
    http::escape_html as escape,
    ids::EndpointId,
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
.muted{color:#57606a}svg{display:block}a{color:#0969da}.chart{background:#fff;padding:.5rem;margin:.5rem 0 1rem;overflow-x:auto}\
.legend span{margin-right:1rem;font-size:.8rem}.ok{color:#1a7f37}.bad{color:#cf222e}.p50{color:#0969da}.p95{color:#9a6700}.p99{color:#8250df}\
dl{display:grid;grid-template-columns:auto 1fr;gap:.3rem 1rem;background:#fff;padding:.75rem}dt{color:#57606a}dd{margin:0;word-break:break-all}.empty{padding:2rem;text-align:center;background:#fff}\
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
    let state = state_of(&view);
    let summary = total.view();
    let rate = summary
        .success_rate
        .map_or("—".to_string(), |r| format!("{:.1}%", r * 100.0));
    let p95 = summary
        .latency_ms
        .p95
        .map_or("—".to_string(), |ms| format!("{ms:.0} ms"));
    format!(
        r#"<tr data-endpoint="{id}"><td class="url"><a href="/portal/endpoints/{id}">{url}</a></td><td data-label="Events">{events}</td><td data-label="State">{state}</td><td class="rate" data-label="Success, 24 h">{rate}</td><td class="p95" data-label="p95, 24 h">{p95}</td><td>{sparkline}</td></tr>"#,
        id = escape(view.id),
        url = escape(&view.url),
        events = events.join(", "),
        sparkline = sparkline(buckets),
    )
}

/// Enabled, disabled, or disabled by errors (and after how many).
fn state_of(view: &shared::webhooks::EndpointView<'_>) -> String {
    match (view.enabled, view.blocked_by_error_count) {
        (true, _) => r#"<span class="state-enabled">enabled</span>"#.to_string(),
        (false, true) => format!(
            r#"<span class="state-disabled">disabled by errors</span><br><span class="muted">{} failures in a row</span>"#,
            view.error_count
        ),
        (false, false) => r#"<span class="state-disabled">disabled</span>"#.to_string(),
    }
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

#[derive(serde::Deserialize)]
pub struct EndpointParams {
    period: Option<String>,
}

/// `GET /portal/endpoints/{id}?period=24h|7d`: one endpoint, its attempts per hour by
/// outcome and its latency percentiles per hour.
pub async fn endpoint(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(params): Query<EndpointParams>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let Some(session) = current(&state, &headers).await? else {
        return Ok(refused("Open the portal from its link."));
    };
    let tenant = &session.tenant;
    let found = match id.parse::<EndpointId>() {
        Ok(id) => endpoints::get(&state.db, tenant, &id).await?,
        Err(_) => None,
    };
    let Some(endpoint) = found else {
        let body = r#"<div class="empty" id="not-found"><h2>No such endpoint</h2><p><a href="/portal">All endpoints</a></p></div>"#;
        return Ok(page(
            StatusCode::NOT_FOUND,
            "Not found",
            Some(session.scope),
            body,
        ));
    };
    let period = match params.period.as_deref() {
        Some("7d") => Period::Week,
        _ => Period::Day,
    };
    let now = Timestamp::now();
    let from = hour_of(period.bucket_starts(now)[0]);
    let hours = stored_stats::hours(&state.db, tenant, &endpoint.id, &from, &hour_of(now)).await?;
    let (buckets, total) = period.series(now, &hours);
    let view = endpoint.view();
    let summary = total.view();
    let headers: Vec<String> = view.headers.iter().map(|(name, _)| escape(name)).collect();
    let switch = match period {
        Period::Day => format!(
            r#"24 hours · <a href="/portal/endpoints/{0}?period=7d">7 days</a>"#,
            escape(view.id)
        ),
        _ => format!(
            r#"<a href="/portal/endpoints/{0}?period=24h">24 hours</a> · 7 days"#,
            escape(view.id)
        ),
    };
    let percentile = |p: Option<f64>| p.map_or("—".to_string(), |ms| format!("{ms:.0} ms"));
    let body = format!(
        r#"<p><a href="/portal">All endpoints</a></p><h2 class="url">{url}</h2>
<dl id="endpoint"><dt>Events</dt><dd>{events}</dd><dt>State</dt><dd>{state}</dd><dt>Filter</dt><dd>{filter}</dd><dt>Headers</dt><dd>{headers}</dd>
<dt>Attempts</dt><dd id="attempts">{attempts} ({succeeded} succeeded, {failed} failed)</dd><dt>Latency</dt><dd>p50 {p50} · p95 {p95} · p99 {p99}</dd></dl>
<p id="period">{switch}</p>
<h3>Attempts per hour</h3><div class="chart">{outcomes}<div class="legend"><span class="ok">■ succeeded</span><span class="bad">■ failed</span></div></div>
<h3>Latency per hour</h3><div class="chart">{latency}<div class="legend"><span class="p50">— p50</span><span class="p95">— p95</span><span class="p99">— p99</span></div></div>"#,
        url = escape(&view.url),
        events = view
            .events
            .iter()
            .map(|e| escape(&e.to_string()))
            .collect::<Vec<_>>()
            .join(", "),
        state = state_of(&view),
        filter = view.filter.map_or("none".to_string(), escape),
        headers = if headers.is_empty() {
            "none".to_string()
        } else {
            headers.join(", ")
        },
        attempts = summary.attempts,
        succeeded = summary.succeeded,
        failed = summary.failed,
        p50 = percentile(summary.latency_ms.p50),
        p95 = percentile(summary.latency_ms.p95),
        p99 = percentile(summary.latency_ms.p99),
        outcomes = outcome_chart(&buckets),
        latency = latency_chart(&buckets),
    );
    Ok(page(StatusCode::OK, "Endpoint", Some(session.scope), &body))
}

const CHART_WIDTH: f64 = 720.0;
const CHART_HEIGHT: f64 = 120.0;

fn time_label(at: Timestamp) -> String {
    let text = at.to_string();
    format!("{} {}:00 UTC", &text[5..10], &text[11..13])
}

fn frame(
    id: &str,
    label: &str,
    top: String,
    inner: String,
    first: Timestamp,
    last: Timestamp,
) -> String {
    format!(
        r##"<svg id="{id}" viewBox="0 0 {w} {h}" width="100%" role="img" aria-label="{label}"><text x="0" y="10" font-size="10" fill="#57606a">{top}</text>{inner}<line x1="0" y1="{base}" x2="{w}" y2="{base}" stroke="#d0d7de"/><text x="0" y="{h}" font-size="10" fill="#57606a">{first}</text><text x="{w}" y="{h}" font-size="10" fill="#57606a" text-anchor="end">{last}</text></svg>"##,
        w = CHART_WIDTH,
        h = CHART_HEIGHT + 28.0,
        base = CHART_HEIGHT + 14.0,
        first = time_label(first),
        last = time_label(last),
    )
}

/// Succeeded and failed attempts per bucket, stacked bars.
fn outcome_chart(buckets: &[(Timestamp, Tally)]) -> String {
    let most = buckets
        .iter()
        .map(|(_, t)| t.attempts)
        .max()
        .unwrap_or(0)
        .max(1);
    let slot = CHART_WIDTH / buckets.len().max(1) as f64;
    let bar = (slot * 0.8).max(1.0);
    let scale = CHART_HEIGHT / most as f64;
    let mut inner = String::new();
    for (i, (_, tally)) in buckets.iter().enumerate() {
        let x = i as f64 * slot;
        let ok = tally.succeeded as f64 * scale;
        let bad = tally.failed() as f64 * scale;
        let base = CHART_HEIGHT + 14.0;
        if tally.succeeded > 0 {
            inner.push_str(&format!(
                r##"<rect class="succeeded" x="{x:.1}" y="{:.1}" width="{bar:.1}" height="{ok:.1}" fill="#2da44e"/>"##,
                base - ok
            ));
        }
        if tally.failed() > 0 {
            inner.push_str(&format!(
                r##"<rect class="failed" x="{x:.1}" y="{:.1}" width="{bar:.1}" height="{bad:.1}" fill="#cf222e"/>"##,
                base - ok - bad
            ));
        }
    }
    let first = buckets.first().map_or_else(Timestamp::now, |(at, _)| *at);
    let last = buckets.last().map_or_else(Timestamp::now, |(at, _)| *at);
    frame(
        "outcomes",
        "attempts per hour by outcome",
        format!("{most} per hour"),
        inner,
        first,
        last,
    )
}

/// p50, p95 and p99 per bucket, as lines over the buckets that had timed attempts.
fn latency_chart(buckets: &[(Timestamp, Tally)]) -> String {
    let series: Vec<[Option<f64>; 3]> = buckets
        .iter()
        .map(|(_, t)| [t.percentile(0.50), t.percentile(0.95), t.percentile(0.99)])
        .collect();
    let most = series
        .iter()
        .flatten()
        .flatten()
        .fold(1.0f64, |a, b| a.max(*b));
    let slot = CHART_WIDTH / buckets.len().max(1) as f64;
    let mut inner = String::new();
    for (k, colour) in [(0, "#0969da"), (1, "#9a6700"), (2, "#8250df")] {
        let points: Vec<String> = series
            .iter()
            .enumerate()
            .filter_map(|(i, p)| {
                let ms = p[k]?;
                let y = CHART_HEIGHT + 14.0 - ms / most * CHART_HEIGHT;
                Some(format!("{:.1},{y:.1}", i as f64 * slot + slot * 0.4))
            })
            .collect();
        if !points.is_empty() {
            inner.push_str(&format!(
                r#"<polyline class="p{}" fill="none" stroke="{colour}" stroke-width="1.5" points="{}"/>"#,
                [50, 95, 99][k],
                points.join(" ")
            ));
            for point in &points {
                let (x, y) = point.split_once(',').unwrap_or(("0", "0"));
                inner.push_str(&format!(
                    r#"<circle cx="{x}" cy="{y}" r="1.8" fill="{colour}"/>"#
                ));
            }
        }
    }
    let first = buckets.first().map_or_else(Timestamp::now, |(at, _)| *at);
    let last = buckets.last().map_or_else(Timestamp::now, |(at, _)| *at);
    frame(
        "latency",
        "latency percentiles per hour",
        format!("{most:.0} ms"),
        inner,
        first,
        last,
    )
}
