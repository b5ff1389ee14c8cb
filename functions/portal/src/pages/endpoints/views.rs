//! What the endpoints pages show: the list, and one endpoint with its charts.

use super::form::{Fields, edit_form, event_choices};
use crate::pages::{PageError, PageResult, Section, Viewer, charts, notice, page};
use axum::{
    extract::{Path, Query, State},
    http::StatusCode,
};
use serde::Deserialize;
use shared::t;
use shared::{
    ApiError, AppState, Timestamp, html,
    html::Html,
    ids::EndpointId,
    store::{endpoints, stats as stored_stats},
    webhooks::{
        Endpoint, EndpointView,
        stats::{Period, Tally, hour_of},
    },
};

/// `GET /portal`: the tenant's endpoints, each with its last 24 hours.
pub async fn home(State(state): State<AppState>, viewer: Viewer) -> PageResult {
    let tenant = viewer.tenant();
    let endpoints = endpoints::all(&state.db, tenant).await?;
    let now = Timestamp::now();
    let from = hour_of(Period::Day.bucket_starts(now)[0]);
    let to = hour_of(now);
    let days = shared::concurrency::join_all(endpoints.iter().map(|endpoint| {
        let (db, from, to) = (&state.db, &from, &to);
        async move {
            let hours = stored_stats::hours(db, tenant, &endpoint.id, from, to).await?;
            Ok::<_, shared::store::StoreError>(Period::Day.series(now, &hours))
        }
    }))
    .await;
    let mut rows = Html::default();
    for (endpoint, day) in endpoints.iter().zip(days) {
        let (buckets, total) = day?;
        rows.push(&row(endpoint, &buckets, &total));
    }
    let add = if viewer.can_manage() {
        html!(
            r#"<p class="actions"><a href="/portal/endpoints/new" id="add-endpoint">{add}</a></p>"#,
            add = t!("Add an endpoint")
        )
    } else {
        Html::default()
    };
    let body = if endpoints.is_empty() {
        html!(
            r#"<div class="empty" id="no-endpoints"><h2>{none}</h2>{add}</div>"#,
            none = t!("No endpoints yet"),
            add = add,
        )
    } else {
        html!(
            r#"<h2>{title}</h2>{add}<table id="endpoints"><thead><tr><th>URL</th><th>{events}</th><th>{state}</th><th>{success}</th><th>{p95}</th><th>{per_hour}</th></tr></thead><tbody>{rows}</tbody></table>"#,
            title = t!("Endpoints"),
            events = t!("Events"),
            state = t!("State"),
            success = t!("Success, 24 h"),
            p95 = t!("p95, 24 h"),
            per_hour = t!("Attempts per hour"),
            add = add,
            rows = rows,
        )
    };
    Ok(page(
        StatusCode::OK,
        &t!("Endpoints"),
        Some(&viewer),
        Section::Endpoints,
        &body,
    ))
}

fn row(endpoint: &Endpoint, buckets: &[(Timestamp, Tally)], total: &Tally) -> Html {
    let view = endpoint.view();
    let summary = total.view();
    let rate = summary
        .success_rate
        .map_or("—".to_string(), |r| format!("{:.1}%", r * 100.0));
    html!(
        r#"<tr data-endpoint="{id}"><td class="url"><a href="/portal/endpoints/{id}">{url}</a></td><td data-label="{events_}">{events}</td><td data-label="{state_}">{state}</td><td class="rate" data-label="{success_}">{rate}</td><td class="latency" data-label="{p95_}">{p95}</td><td>{sparkline}</td></tr>"#,
        events_ = t!("Events"),
        state_ = t!("State"),
        success_ = t!("Success, 24 h"),
        p95_ = t!("p95, 24 h"),
        id = view.id,
        url = view.url,
        events = events_of(&view),
        state = state_of(&view),
        rate = rate,
        p95 = milliseconds(summary.latency_ms.p95),
        sparkline = charts::sparkline(buckets),
    )
}

fn events_of(view: &EndpointView<'_>) -> String {
    let names: Vec<String> = view.events.iter().map(ToString::to_string).collect();
    names.join(", ")
}

fn milliseconds(value: Option<f64>) -> String {
    value.map_or("—".to_string(), |ms| format!("{ms:.0} ms"))
}

/// Its rate limit, and the pace the dispatcher holds it to while its receiver pushes back.
fn rate_of(endpoint: &Endpoint, (rate, reason): (Option<f64>, Option<String>)) -> Html {
    let own = endpoint.rate_limit.map_or(t!("no limit"), |limit| {
        t!("at most {limit} per second", limit)
    });
    match (rate, reason) {
        (Some(rate), Some(reason)) => html!(
            r#"{own}; <span class="state-disabled">{slowed}</span> <span class="muted">({answered})</span>"#,
            own = own,
            slowed = t!("slowed to {rate} per second", rate = format!("{rate:.1}")),
            answered = t!("the receiver answered {reason}", reason),
        ),
        _ => Html::text(&own),
    }
}

/// Whether each resource's events come in order, and which resources a failed delivery
/// holds.
fn ordering_of(endpoint: &Endpoint) -> Html {
    if endpoint.ordering == shared::webhooks::DeliveryOrder::None {
        return Html::text(&t!("as they come"));
    }
    let rule = match endpoint.on_exhausted {
        shared::webhooks::OnExhausted::Skip => t!("a failed delivery lets the next one go"),
        shared::webhooks::OnExhausted::Block => t!("a failed delivery holds its resource"),
    };
    let mut text = Html::text(&t!("each resource's events in order; {rule}", rule));
    if !endpoint.blocked_keys.is_empty() {
        let keys = Html::join(
            endpoint
                .blocked_keys
                .iter()
                .map(|key| html!("<code>{key}</code>", key = key)),
            ", ",
        );
        // Translated around the keys, which are markup of escaped keys.
        let held = Html::from_escaped_parts(t!("held: {keys}", keys = keys.as_str()));
        text.push(&html!(
            r#"<br><span class="state-disabled">{held}</span> <span class="muted">({release})</span>"#,
            held = held,
            release = t!("retry the failed delivery to release it"),
        ));
    }
    text
}

/// The endpoint's event types by name.
pub(super) fn event_names(endpoint: &Endpoint) -> Vec<String> {
    endpoint.events.iter().map(|e| e.to_string()).collect()
}

/// Enabled, disabled, or disabled by errors (and after how many).
fn state_of(view: &EndpointView<'_>) -> Html {
    match (view.enabled, view.blocked_by_error_count) {
        (true, _) => html!(
            r#"<span class="state-enabled">{enabled}</span>"#,
            enabled = t!("enabled")
        ),
        (false, true) => html!(
            r#"<span class="state-disabled">{disabled}</span><br><span class="muted">{why}</span>"#,
            disabled = t!("disabled by errors"),
            why = t!("{count} failures in a row", count = view.error_count),
        ),
        (false, false) => html!(
            r#"<span class="state-disabled">{disabled}</span>"#,
            disabled = t!("disabled")
        ),
    }
}

#[derive(Deserialize)]
pub struct EndpointParams {
    pub(super) period: Option<String>,
    pub(super) done: Option<String>,
}

/// The tenant's endpoint named by the path, or a 404 page.
pub(super) async fn lookup(
    state: &AppState,
    viewer: &Viewer,
    id: &str,
) -> Result<Endpoint, PageError> {
    let found = match id.parse::<EndpointId>() {
        Ok(id) => endpoints::get(&state.db, viewer.tenant(), &id).await?,
        Err(_) => None,
    };
    found.ok_or_else(|| {
        let body = html!(
            r#"<div class="empty" id="not-found"><h2>{none}</h2><p><a href="/portal">{all}</a></p></div>"#,
            none = t!("No such endpoint"),
            all = t!("All endpoints"),
        );
        PageError(page(
            StatusCode::NOT_FOUND,
            &t!("Not found"),
            Some(viewer),
            Section::Endpoints,
            &body,
        ))
    })
}

/// `GET /portal/endpoints/{id}?period=24h|7d`: one endpoint, its attempts per hour by
/// outcome and its latency percentiles per hour; with a `manage` link, its actions and
/// its edit form.
pub async fn show(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Query(params): Query<EndpointParams>,
) -> PageResult {
    let endpoint = lookup(&state, &viewer, &id).await?;
    let edit = if viewer.can_manage() {
        let choices = event_choices(&state, &viewer, &event_names(&endpoint)).await?;
        edit_form(&viewer, &endpoint, &Fields::of(&endpoint), &choices, &[])
    } else {
        Html::default()
    };
    let top = notice(params.done.as_deref());
    endpoint_page(
        &state,
        &viewer,
        &endpoint,
        &params,
        StatusCode::OK,
        &top,
        &edit,
    )
    .await
}

/// `top` is what the page says first: what the last action did, or why it did not.
pub(super) async fn endpoint_page(
    state: &AppState,
    viewer: &Viewer,
    endpoint: &Endpoint,
    params: &EndpointParams,
    status: StatusCode,
    top: &Html,
    edit: &Html,
) -> PageResult {
    let period = match params.period.as_deref() {
        Some("7d") => Period::Week,
        _ => Period::Day,
    };
    let now = Timestamp::now();
    let from = hour_of(period.bucket_starts(now)[0]);
    let hours = stored_stats::hours(
        &state.db,
        viewer.tenant(),
        &endpoint.id,
        &from,
        &hour_of(now),
    )
    .await?;
    let (buckets, total) = period.series(now, &hours);
    let pace = shared::delivery::pacing::current(&state.db, viewer.tenant(), endpoint).await;
    let pace = pace.map_err(ApiError::from)?;
    let view = endpoint.view();
    let summary = total.view();
    let header_names: Vec<&str> = view.headers.keys().copied().collect();
    let id = view.id;
    let switch = match period {
        Period::Day => html!(
            r#"{day} · <a href="/portal/endpoints/{id}?period=7d" id="period-7d">{week}</a>"#,
            id = id,
            day = t!("24 hours"),
            week = t!("7 days"),
        ),
        _ => html!(
            r#"<a href="/portal/endpoints/{id}?period=24h" id="period-24h">{day}</a> · {week}"#,
            id = id,
            day = t!("24 hours"),
            week = t!("7 days"),
        ),
    };
    let actions = if viewer.can_manage() {
        let base = format!("/portal/endpoints/{}", view.id);
        let toggle = if view.enabled {
            viewer.button(
                &format!("{base}/disable"),
                "disable",
                &t!("Disable"),
                "danger",
            )
        } else {
            viewer.button(
                &format!("{base}/enable"),
                "enable",
                &t!("Enable"),
                "primary",
            )
        };
        html!(
            r#"<div class="actions" id="actions">{test}{toggle}{rotate}</div>"#,
            toggle = toggle,
            test = viewer.button(
                &format!("{base}/test"),
                "send-test",
                &t!("Send a test ping"),
                "primary"
            ),
            rotate = viewer.button(
                &format!("{base}/rotate-secret"),
                "rotate-secret",
                &t!("Rotate the signing secret"),
                ""
            ),
        )
    } else {
        Html::default()
    };
    let body = html!(
        r#"<p><a href="/portal">{all}</a> · <a href="/portal/deliveries?endpoint={id}" id="endpoint-deliveries">{its_deliveries}</a></p>{notice}<h2 class="url" id="endpoint-url">{url}</h2>
{actions}
<dl id="endpoint"><dt>{events_}</dt><dd>{events}</dd><dt>{state_}</dt><dd id="state">{state}</dd><dt>{filter_}</dt><dd>{filter}</dd><dt>{headers_}</dt><dd>{headers}</dd><dt>{signatures_}</dt><dd>{scheme}</dd><dt>{payload_}</dt><dd>{payload}</dd><dt>{made_through_}</dt><dd id="dialect">{dialect}</dd><dt>{rate_}</dt><dd id="rate">{rate}</dd><dt>{order_}</dt><dd id="ordering">{ordering}</dd>
<dt>{attempts_}</dt><dd id="attempts">{attempts_count}</dd><dt>{latency_}</dt><dd>p50 {p50} · p95 {p95} · p99 {p99}</dd></dl>
<p id="period">{switch}</p>
<h3>{per_hour_}</h3><div class="chart">{outcomes}<div class="legend"><span class="ok">■ {succeeded_}</span><span class="bad">■ {failed_}</span></div></div>
<h3>{latency_per_hour_}</h3><div class="chart">{latency}<div class="legend"><span class="p50">— p50</span><span class="p95">— p95</span><span class="p99">— p99</span></div></div>
{edit}"#,
        all = t!("All endpoints"),
        its_deliveries = t!("Its deliveries"),
        events_ = t!("Events"),
        state_ = t!("State"),
        filter_ = t!("Filter"),
        headers_ = t!("Headers"),
        signatures_ = t!("Signatures"),
        payload_ = t!("Payload"),
        made_through_ = t!("Made through"),
        rate_ = t!("Rate"),
        order_ = t!("Delivery order"),
        attempts_ = t!("Attempts"),
        attempts_count = t!(
            "{attempts} ({succeeded} succeeded, {failed} failed)",
            attempts = summary.attempts,
            succeeded = summary.succeeded,
            failed = summary.failed,
        ),
        latency_ = t!("Latency"),
        per_hour_ = t!("Attempts per hour"),
        succeeded_ = t!("succeeded"),
        failed_ = t!("failed"),
        latency_per_hour_ = t!("Latency per hour"),
        notice = top,
        actions = actions,
        switch = switch,
        edit = edit,
        id = id,
        url = view.url,
        events = events_of(&view),
        state = state_of(&view),
        filter = view.filter.map_or(t!("none"), str::to_string),
        headers = if header_names.is_empty() {
            t!("none")
        } else {
            header_names.join(", ")
        },
        rate = rate_of(endpoint, pace),
        ordering = ordering_of(endpoint),
        scheme = view.signature_scheme.as_str(),
        payload = view.payload.as_str(),
        dialect = dialect_of(view.dialect),
        p50 = milliseconds(summary.latency_ms.p50),
        p95 = milliseconds(summary.latency_ms.p95),
        p99 = milliseconds(summary.latency_ms.p99),
        outcomes = charts::outcome_chart(&buckets),
        latency = charts::latency_chart(&buckets),
    );
    Ok(page(
        status,
        &t!("Endpoint"),
        Some(viewer),
        Section::Endpoints,
        &body,
    ))
}

/// The API an endpoint was made through, which shapes its deliveries.
fn dialect_of(dialect: shared::webhooks::Dialect) -> String {
    use shared::webhooks::Dialect;
    match dialect {
        Dialect::PushGuard => t!("PushGuard's API"),
        Dialect::Conekta => t!("Conekta's webhooks API (deliveries are Conekta events)"),
        Dialect::Paybyrd => t!("Paybyrd's webhook settings (payment status notifications)"),
        Dialect::Pixlpay => t!("Pixlpay's webhooks API (Pixlpay-signed deliveries)"),
        Dialect::KeySign => t!("the Key/Sign subscription API (Key and Sign headers)"),
    }
}
