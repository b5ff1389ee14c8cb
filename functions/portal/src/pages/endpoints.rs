//! The endpoints pages: the list with each one's last 24 hours, one endpoint with its
//! charts, and (with a `manage` link) creating, editing, enabling, disabling, rotating
//! the secret and sending a test ping.

use super::{Actor, PageResult, Section, Viewer, charts, errors, notice, page, see_other, when};
use axum::{
    extract::{Path, Query, State},
    http::StatusCode,
    response::Response,
};
use serde::Deserialize;
use shared::t;
use shared::{
    ApiError, AppState, Timestamp,
    http::escape_html as escape,
    ids::EndpointId,
    manage::{self, EndpointInput},
    pagination::PageRequest,
    rules::Rule,
    store::{endpoints, event_types, stats as stored_stats},
    webhooks::{
        Endpoint, EndpointView, EventType, LogStatus, WebhookLog,
        stats::{Period, Tally, hour_of},
    },
};
use std::collections::BTreeMap;

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
    let mut rows = String::new();
    for (endpoint, day) in endpoints.iter().zip(days) {
        let (buckets, total) = day?;
        rows.push_str(&row(endpoint, &buckets, &total));
    }
    let add = if viewer.can_manage() {
        format!(
            r#"<p class="actions"><a href="/portal/endpoints/new" id="add-endpoint">{}</a></p>"#,
            t!("Add an endpoint")
        )
    } else {
        String::new()
    };
    let body = if endpoints.is_empty() {
        format!(
            r#"<div class="empty" id="no-endpoints"><h2>{}</h2>{add}</div>"#,
            t!("No endpoints yet")
        )
    } else {
        format!(
            r#"<h2>{title}</h2>{add}<table id="endpoints"><thead><tr><th>URL</th><th>{events}</th><th>{state}</th><th>{success}</th><th>{p95}</th><th>{per_hour}</th></tr></thead><tbody>{rows}</tbody></table>"#,
            title = t!("Endpoints"),
            events = t!("Events"),
            state = t!("State"),
            success = t!("Success, 24 h"),
            p95 = t!("p95, 24 h"),
            per_hour = t!("Attempts per hour"),
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

fn row(endpoint: &Endpoint, buckets: &[(Timestamp, Tally)], total: &Tally) -> String {
    let view = endpoint.view();
    let summary = total.view();
    let rate = summary
        .success_rate
        .map_or("—".to_string(), |r| format!("{:.1}%", r * 100.0));
    format!(
        r#"<tr data-endpoint="{id}"><td class="url"><a href="/portal/endpoints/{id}">{url}</a></td><td data-label="{events_}">{events}</td><td data-label="{state_}">{state}</td><td class="rate" data-label="{success_}">{rate}</td><td class="latency" data-label="{p95_}">{p95}</td><td>{sparkline}</td></tr>"#,
        events_ = t!("Events"),
        state_ = t!("State"),
        success_ = t!("Success, 24 h"),
        p95_ = t!("p95, 24 h"),
        id = escape(view.id),
        url = escape(&view.url),
        events = events_of(&view),
        state = state_of(&view),
        p95 = milliseconds(summary.latency_ms.p95),
        sparkline = charts::sparkline(buckets),
    )
}

fn events_of(view: &EndpointView<'_>) -> String {
    let names: Vec<String> = view.events.iter().map(|e| escape(&e.to_string())).collect();
    names.join(", ")
}

fn milliseconds(value: Option<f64>) -> String {
    value.map_or("—".to_string(), |ms| format!("{ms:.0} ms"))
}

/// Its rate limit, and the pace the dispatcher holds it to while its receiver pushes back.
fn rate_of(endpoint: &Endpoint, (rate, reason): (Option<f64>, Option<String>)) -> String {
    let own = endpoint.rate_limit.map_or(t!("no limit"), |limit| {
        t!("at most {limit} per second", limit)
    });
    match (rate, reason) {
        (Some(rate), Some(reason)) => format!(
            r#"{own}; <span class="state-disabled">{slowed}</span> <span class="muted">({answered})</span>"#,
            slowed = t!("slowed to {rate} per second", rate = format!("{rate:.1}")),
            answered = t!("the receiver answered {reason}", reason = escape(&reason)),
        ),
        _ => own,
    }
}

/// Whether each resource's events come in order, and which resources a failed delivery
/// holds.
fn ordering_of(endpoint: &Endpoint) -> String {
    if endpoint.ordering == shared::webhooks::DeliveryOrder::None {
        return t!("as they come");
    }
    let rule = match endpoint.on_exhausted {
        shared::webhooks::OnExhausted::Skip => t!("a failed delivery lets the next one go"),
        shared::webhooks::OnExhausted::Block => t!("a failed delivery holds its resource"),
    };
    let mut text = t!("each resource's events in order; {rule}", rule);
    if !endpoint.blocked_keys.is_empty() {
        let keys: Vec<String> = endpoint
            .blocked_keys
            .iter()
            .map(|key| format!("<code>{}</code>", escape(key)))
            .collect();
        text.push_str(&format!(
            r#"<br><span class="state-disabled">{}</span> <span class="muted">({})</span>"#,
            t!("held: {keys}", keys = keys.join(", ")),
            t!("retry the failed delivery to release it"),
        ));
    }
    text
}

/// The endpoint's event types by name.
fn event_names(endpoint: &Endpoint) -> Vec<String> {
    endpoint.events.iter().map(|e| e.to_string()).collect()
}

/// Enabled, disabled, or disabled by errors (and after how many).
fn state_of(view: &EndpointView<'_>) -> String {
    match (view.enabled, view.blocked_by_error_count) {
        (true, _) => format!(r#"<span class="state-enabled">{}</span>"#, t!("enabled")),
        (false, true) => format!(
            r#"<span class="state-disabled">{}</span><br><span class="muted">{}</span>"#,
            t!("disabled by errors"),
            t!("{count} failures in a row", count = view.error_count),
        ),
        (false, false) => format!(r#"<span class="state-disabled">{}</span>"#, t!("disabled")),
    }
}

#[derive(Deserialize)]
pub struct EndpointParams {
    period: Option<String>,
    done: Option<String>,
}

/// The tenant's endpoint named by the path, or a 404 page.
async fn lookup(state: &AppState, viewer: &Viewer, id: &str) -> Result<Endpoint, super::PageError> {
    let found = match id.parse::<EndpointId>() {
        Ok(id) => endpoints::get(&state.db, viewer.tenant(), &id).await?,
        Err(_) => None,
    };
    found.ok_or_else(|| {
        let body = format!(
            r#"<div class="empty" id="not-found"><h2>{}</h2><p><a href="/portal">{}</a></p></div>"#,
            t!("No such endpoint"),
            t!("All endpoints"),
        );
        super::PageError(page(
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
        String::new()
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
async fn endpoint_page(
    state: &AppState,
    viewer: &Viewer,
    endpoint: &Endpoint,
    params: &EndpointParams,
    status: StatusCode,
    top: &str,
    edit: &str,
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
    let header_names: Vec<String> = view.headers.keys().map(|name| escape(name)).collect();
    let id = escape(view.id);
    let switch = match period {
        Period::Day => format!(
            r#"{day} · <a href="/portal/endpoints/{id}?period=7d" id="period-7d">{week}</a>"#,
            day = t!("24 hours"),
            week = t!("7 days"),
        ),
        _ => format!(
            r#"<a href="/portal/endpoints/{id}?period=24h" id="period-24h">{day}</a> · {week}"#,
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
        format!(
            r#"<div class="actions" id="actions">{}{toggle}{}</div>"#,
            viewer.button(
                &format!("{base}/test"),
                "send-test",
                &t!("Send a test ping"),
                "primary"
            ),
            viewer.button(
                &format!("{base}/rotate-secret"),
                "rotate-secret",
                &t!("Rotate the signing secret"),
                ""
            ),
        )
    } else {
        String::new()
    };
    let body = format!(
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
        url = escape(&view.url),
        events = events_of(&view),
        state = state_of(&view),
        filter = view.filter.map_or(t!("none"), escape),
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

/// The endpoint form as a browser sends it (new and edit: every field, the checkbox when
/// ticked), for the OpenAPI document: the fields `Fields::submitted` reads.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // describes the form; `Fields::submitted` reads it
pub struct EndpointForm {
    /// The session's CSRF token, as the page's form carries it.
    csrf: String,
    /// Where deliveries go (an edit may send the masked URL back unchanged).
    #[schema(format = "uri")]
    url: String,
    description: String,
    /// One value per ticked box: catalogue types (as here), `*`, or the tenant's
    /// registered custom types.
    #[schema(min_items = 1)]
    events: Vec<shared::webhooks::EventType>,
    /// A rule the event's payload must match; empty for none.
    filter: String,
    /// One `name: value` per line; empty for none.
    headers: String,
    signature_scheme: shared::webhooks::SignatureScheme,
    /// A checkbox: present (any value) when ticked.
    legacy_signature: Option<String>,
    payload: shared::webhooks::PayloadShape,
    /// Deliveries per second; empty for no limit.
    #[schema(pattern = "^[0-9]{0,9}$")]
    rate_limit: String,
    ordering: shared::webhooks::DeliveryOrder,
    on_exhausted: shared::webhooks::OnExhausted,
}

/// An endpoint's editable fields as a form shows them.
struct Fields {
    url: String,
    description: String,
    events: Vec<String>,
    filter: String,
    /// One `name: value` per line.
    headers: String,
    signature_scheme: String,
    /// Whether deliveries carry the body-only `X-PushGuard-Signature`.
    legacy_signature: bool,
    payload: String,
    /// Deliveries per second, empty for none.
    rate_limit: String,
    ordering: String,
    on_exhausted: String,
}

impl Fields {
    fn of(endpoint: &Endpoint) -> Self {
        Fields {
            // Credentials stay masked; a URL sent back unchanged keeps them (input()).
            url: endpoint.url.masked(),
            description: endpoint.description.clone().unwrap_or_default(),
            events: event_names(endpoint),
            filter: endpoint.filter.clone().unwrap_or_default(),
            // Values stay masked; a line sent back unchanged keeps its value.
            headers: endpoint
                .headers
                .masked()
                .into_iter()
                .map(|(name, value)| format!("{name}: {value}\n"))
                .collect(),
            signature_scheme: endpoint.signature_scheme.as_str().to_string(),
            legacy_signature: endpoint.legacy_signature,
            payload: endpoint.payload.as_str().to_string(),
            rate_limit: endpoint.rate_limit.map_or(String::new(), |r| r.to_string()),
            ordering: endpoint.ordering.as_str().to_string(),
            on_exhausted: endpoint.on_exhausted.as_str().to_string(),
        }
    }

    fn submitted(form: &super::Form) -> Self {
        Fields {
            url: form.get("url").unwrap_or_default().trim().to_string(),
            description: form.get("description").unwrap_or_default().to_string(),
            events: form.all("events"),
            filter: form.get("filter").unwrap_or_default().to_string(),
            headers: form.get("headers").unwrap_or_default().to_string(),
            signature_scheme: form.get("signature_scheme").unwrap_or("v1").to_string(),
            // A checkbox: sent only when ticked.
            legacy_signature: form.get("legacy_signature").is_some(),
            payload: form.get("payload").unwrap_or("full").to_string(),
            rate_limit: form
                .get("rate_limit")
                .unwrap_or_default()
                .trim()
                .to_string(),
            ordering: form.get("ordering").unwrap_or("none").to_string(),
            on_exhausted: form.get("on_exhausted").unwrap_or("skip").to_string(),
        }
    }

    /// As the API's input over `current` (a URL sent back as shown, masked, is left
    /// as it is), or the problems of the headers' lines.
    fn input(&self, current: Option<&Endpoint>) -> Result<EndpointInput, Vec<String>> {
        let mut headers = BTreeMap::new();
        let mut problems = Vec::new();
        for (n, line) in self.headers.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            match line.split_once(':') {
                Some((name, value)) if !name.trim().is_empty() => {
                    headers.insert(name.trim().to_string(), value.trim().to_string());
                }
                _ => problems.push(t!(
                    "Headers line {line} must be written as name: value",
                    line = n + 1
                )),
            }
        }
        let signature_scheme = choice(&self.signature_scheme, &mut problems, || {
            t!("Signature scheme must be v1, v1a or both")
        });
        let payload = choice(&self.payload, &mut problems, || {
            t!("Payload must be full or thin")
        });
        let ordering = choice(&self.ordering, &mut problems, || {
            t!("Ordering must be none or resource")
        });
        let on_exhausted = choice(&self.on_exhausted, &mut problems, || {
            t!("On exhausted must be skip or block")
        });
        let rate_limit = match self.rate_limit.as_str() {
            "" => Some(None),
            text => match text.parse::<u32>() {
                Ok(limit) => Some(Some(limit)),
                Err(_) => {
                    problems.push(t!(
                        "Rate limit must be a whole number of deliveries per second"
                    ));
                    None
                }
            },
        };
        if !problems.is_empty() {
            return Err(problems);
        }
        let unchanged = current.is_some_and(|c| c.url.masked() == self.url);
        Ok(EndpointInput {
            url: (!unchanged).then(|| self.url.clone()),
            events: Some(self.events.clone()),
            description: Some(Some(self.description.clone())),
            enabled: None,
            headers: Some(Some(headers)),
            filter: Some(Some(self.filter.clone())),
            signature_scheme,
            legacy_signature: Some(self.legacy_signature),
            payload,
            rate_limit,
            ordering,
            on_exhausted,
            // Not on the form: an endpoint keeps whose events it receives.
            events_from: None,
            problems: Vec::new(),
            events_refused: false,
        })
    }
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

/// One of an option's values (`v1a`, `thin`), as the API names them; `problem` if the
/// form sent anything else.
fn choice<T: serde::de::DeserializeOwned>(
    value: &str,
    problems: &mut Vec<String>,
    problem: impl FnOnce() -> String,
) -> Option<T> {
    let parsed = serde_json::from_value(serde_json::Value::String(value.to_string())).ok();
    if parsed.is_none() {
        problems.push(problem());
    }
    parsed
}

/// Every event type an endpoint may subscribe to: `*`, the catalogue's, the tenant's
/// registered ones and any the endpoint already has.
async fn event_choices(
    state: &AppState,
    viewer: &Viewer,
    current: &[String],
) -> Result<Vec<String>, super::PageError> {
    let mut names = vec!["*".to_string()];
    names.extend(
        EventType::ALL
            .iter()
            .filter(|t| t.is_subscribable())
            .map(|t| t.as_str().to_string()),
    );
    let custom = event_types::list(&state.db, viewer.tenant(), PageRequest::first(100)).await?;
    let mut extra: Vec<String> = custom.items.into_iter().map(|t| t.name).collect();
    extra.extend(current.iter().cloned());
    extra.sort();
    for name in extra {
        if !names.contains(&name) {
            names.push(name);
        }
    }
    Ok(names)
}

/// Where a filter stopped parsing, drawn under it: the line and a caret at the column.
fn filter_caret(filter: &str) -> String {
    if filter.trim().is_empty() {
        return String::new(); // no filter
    }
    let Err(error) = Rule::parse(filter) else {
        return String::new();
    };
    let mut seen = 0;
    for line in filter.split('\n') {
        let length = line.chars().count();
        if error.position <= seen + length + 1 {
            let column = error.position - seen - 1;
            return format!(
                r#"<pre id="filter-error">{}
{}^ {}</pre>"#,
                escape(line),
                " ".repeat(column),
                escape(&error.to_string())
            );
        }
        seen += length + 1;
    }
    String::new()
}

fn edit_form(
    viewer: &Viewer,
    endpoint: &Endpoint,
    fields: &Fields,
    choices: &[String],
    problems: &[String],
) -> String {
    let action = format!("/portal/endpoints/{}", endpoint.id);
    format!(
        r#"<h3 id="edit">{}</h3>{}"#,
        t!("Edit"),
        fields_form(
            viewer,
            &action,
            "save",
            &t!("Save"),
            fields,
            choices,
            problems
        )
    )
}

fn fields_form(
    viewer: &Viewer,
    action: &str,
    button_id: &str,
    button: &str,
    fields: &Fields,
    choices: &[String],
    problems: &[String],
) -> String {
    let checks: String = choices
        .iter()
        .map(|name| {
            let checked = if fields.events.contains(name) {
                " checked"
            } else {
                ""
            };
            format!(
                r#"<label class="check"><input type="checkbox" name="events" value="{0}"{checked}> {0}</label>"#,
                escape(name)
            )
        })
        .collect();
    let caret = filter_caret(&fields.filter);
    let inner = format!(
        r#"{errors}<fieldset><legend>{endpoint_}</legend>
<label for="url">URL</label><input type="text" id="url" name="url" value="{url}" required>
<label for="description">{description_}</label><input type="text" id="description" name="description" value="{description}">
<p>{events_}</p><div id="events">{checks}</div>
<label for="filter">{filter_} <span class="muted">({filter_hint})</span></label>
<textarea id="filter" name="filter" rows="2">{filter}</textarea>{caret}
<label for="headers">{headers_} <span class="muted">({headers_hint})</span></label>
<textarea id="headers" name="headers" rows="3">{headers}</textarea>
<div class="filters"><label>{signatures_} <select name="signature_scheme" id="signature-scheme">{schemes}</select></label>
<label class="check"><input type="checkbox" name="legacy_signature" id="legacy-signature" value="on"{legacy}> {legacy_label} <span class="muted">({legacy_hint})</span></label>
<label>{payload_} <select name="payload" id="payload">{payloads}</select></label>
<label>{rate_limit_} <input type="text" name="rate_limit" id="rate-limit" value="{rate_limit}" size="6" inputmode="numeric" placeholder="{none_}"> {per_second_}</label></div>
<div class="filters"><label>{order_} <select name="ordering" id="ordering">{orderings}</select></label>
<label>{exhausted_} <select name="on_exhausted" id="on-exhausted">{exhausted}</select></label></div>
<p><button type="submit" class="primary" id="{button_id}">{button}</button></p></fieldset>"#,
        endpoint_ = t!("Endpoint"),
        description_ = t!("Description"),
        events_ = t!("Events"),
        filter_ = t!("Filter"),
        filter_hint = t!(
            "optional: a rule on the payload, e.g. {example}",
            example = "<code>value &gt; 10 and currency == 'USD'</code>"
        ),
        headers_ = t!("Headers"),
        headers_hint = t!(
            "one {line} per line; a value shown as {masked} is kept as it is",
            line = "<code>name: value</code>",
            masked = "<code>****</code>"
        ),
        signatures_ = t!("Signatures"),
        legacy_label = t!(
            "Also send {header}",
            header = "<code>X-PushGuard-Signature</code>"
        ),
        legacy_hint = t!(
            "body only, replayable: untick once your receiver checks {header}",
            header = "<code>webhook-signature</code>"
        ),
        payload_ = t!("Payload"),
        rate_limit_ = t!("Rate limit"),
        none_ = t!("none"),
        per_second_ = t!("per second"),
        order_ = t!("Delivery order"),
        exhausted_ = t!("When a delivery exhausts its retries"),
        errors = errors(problems),
        url = escape(&fields.url),
        description = escape(&fields.description),
        filter = escape(&fields.filter),
        headers = escape(&fields.headers),
        rate_limit = escape(&fields.rate_limit),
        legacy = if fields.legacy_signature {
            " checked"
        } else {
            ""
        },
        schemes = options(
            &[
                ("v1", t!("v1: HMAC with the endpoint's secret")),
                ("v1a", t!("v1a: ed25519, the account's public key verifies")),
                ("both", t!("both")),
            ],
            &fields.signature_scheme
        ),
        payloads = options(
            &[
                ("full", t!("full: the event's object")),
                ("thin", t!("thin: its type and id only")),
            ],
            &fields.payload
        ),
        orderings = options(
            &[
                ("none", t!("none: as they come")),
                ("resource", t!("resource: each resource's events in order")),
            ],
            &fields.ordering
        ),
        exhausted = options(
            &[
                ("skip", t!("skip: the next one of its resource goes")),
                ("block", t!("block: its resource waits")),
            ],
            &fields.on_exhausted
        ),
    );
    viewer.form(action, "", &inner)
}

/// `<option>`s of `choices` (value, label), `selected` chosen.
fn options(choices: &[(&str, String)], selected: &str) -> String {
    choices
        .iter()
        .map(|(value, label)| {
            let chosen = if *value == selected { " selected" } else { "" };
            format!(
                r#"<option value="{value}"{chosen}>{}</option>"#,
                escape(label)
            )
        })
        .collect()
}

/// The messages of a rejected input, or the error when it was not a validation.
fn problems_of(error: ApiError) -> Result<Vec<String>, ApiError> {
    match error {
        ApiError::Validation(messages) => Ok(messages),
        ApiError::Conflict(message) => Ok(vec![message]),
        other => Err(other),
    }
}

/// `POST /portal/endpoints/{id}`: the edit form. Saved: back to the endpoint; not
/// valid: the form again with every problem (a filter's drawn at its position), 422.
pub async fn update(
    State(state): State<AppState>,
    Path(id): Path<String>,
    actor: Actor,
) -> PageResult {
    let viewer = &actor.viewer;
    let endpoint = lookup(&state, viewer, &id).await?;
    let fields = Fields::submitted(&actor.form);
    let outcome = match fields.input(Some(&endpoint)) {
        Ok(input) => manage::update(&state, viewer.tenant(), &endpoint.id, input)
            .await
            .map_err(problems_of),
        Err(problems) => Err(Ok(problems)),
    };
    match outcome {
        Ok(saved) => Ok(see_other(&format!(
            "/portal/endpoints/{}?done=saved",
            saved.id
        ))),
        Err(Ok(problems)) => {
            let choices = event_choices(&state, viewer, &event_names(&endpoint)).await?;
            let edit = edit_form(viewer, &endpoint, &fields, &choices, &problems);
            let params = EndpointParams {
                period: None,
                done: None,
            };
            let top = format!(
                r##"<p class="errors" id="not-saved">{} <a href="#edit">{}</a>.</p>"##,
                t!("Not saved:"),
                t!("see what to change"),
            );
            endpoint_page(
                &state,
                viewer,
                &endpoint,
                &params,
                StatusCode::UNPROCESSABLE_ENTITY,
                &top,
                &edit,
            )
            .await
        }
        Err(Err(error)) => Err(error.into()),
    }
}

fn new_page(viewer: &Viewer, fields: &Fields, choices: &[String], problems: &[String]) -> String {
    format!(
        r#"<p><a href="/portal">{}</a></p><h2>{}</h2>{}"#,
        t!("All endpoints"),
        t!("Add an endpoint"),
        fields_form(
            viewer,
            "/portal/endpoints",
            "create",
            &t!("Add the endpoint"),
            fields,
            choices,
            problems
        )
    )
}

/// `GET /portal/endpoints/new`: the form for a new endpoint (a `manage` link only).
pub async fn new(State(state): State<AppState>, viewer: Viewer) -> PageResult {
    if !viewer.can_manage() {
        return Err(ApiError::Forbidden.into());
    }
    let choices = event_choices(&state, &viewer, &[]).await?;
    let fields = Fields {
        url: String::new(),
        description: String::new(),
        events: vec!["*".to_string()],
        filter: String::new(),
        headers: String::new(),
        signature_scheme: "v1".to_string(),
        legacy_signature: true,
        payload: "full".to_string(),
        rate_limit: String::new(),
        ordering: "none".to_string(),
        on_exhausted: "skip".to_string(),
    };
    let body = new_page(&viewer, &fields, &choices, &[]);
    Ok(page(
        StatusCode::OK,
        &t!("Add an endpoint"),
        Some(&viewer),
        Section::Endpoints,
        &body,
    ))
}

/// `POST /portal/endpoints`: creates the endpoint and shows its secret, this once.
pub async fn create(State(state): State<AppState>, actor: Actor) -> PageResult {
    let viewer = &actor.viewer;
    let fields = Fields::submitted(&actor.form);
    let outcome = match fields.input(None) {
        Ok(input) => manage::create(&state, viewer.tenant(), input)
            .await
            .map_err(problems_of),
        Err(problems) => Err(Ok(problems)),
    };
    match outcome {
        Ok((endpoint, secret)) => Ok(secret_page(
            viewer,
            &endpoint,
            &t!("Endpoint added"),
            &secret,
            StatusCode::CREATED,
        )),
        Err(Ok(problems)) => {
            let choices = event_choices(&state, viewer, &[]).await?;
            let body = new_page(viewer, &fields, &choices, &problems);
            Ok(page(
                StatusCode::UNPROCESSABLE_ENTITY,
                &t!("Add an endpoint"),
                Some(viewer),
                Section::Endpoints,
                &body,
            ))
        }
        Err(Err(error)) => Err(error.into()),
    }
}

/// A page that shows a signing secret once: after creating an endpoint, or rotating.
fn secret_page(
    viewer: &Viewer,
    endpoint: &Endpoint,
    title: &str,
    secret: &str,
    status: StatusCode,
) -> Response {
    let body = format!(
        r#"<h2>{title}</h2><p class="url">{url}</p><p>{once}</p>
<p class="secret" id="secret">{secret}</p><p><a href="/portal/endpoints/{id}" id="to-endpoint">{go}</a></p>"#,
        once = t!("Its signing secret, shown this once: copy it to the receiver now."),
        go = t!("Go to the endpoint"),
        title = escape(title),
        url = escape(&endpoint.url.masked()),
        secret = escape(secret),
        id = escape(&endpoint.id),
    );
    page(status, title, Some(viewer), Section::Endpoints, &body)
}

/// `POST /portal/endpoints/{id}/enable`.
pub async fn enable(state: State<AppState>, id: Path<String>, actor: Actor) -> PageResult {
    set_enabled(state, id, actor, true).await
}

/// `POST /portal/endpoints/{id}/disable`.
pub async fn disable(state: State<AppState>, id: Path<String>, actor: Actor) -> PageResult {
    set_enabled(state, id, actor, false).await
}

async fn set_enabled(
    State(state): State<AppState>,
    Path(id): Path<String>,
    actor: Actor,
    enabled: bool,
) -> PageResult {
    let endpoint = lookup(&state, &actor.viewer, &id).await?;
    manage::set_enabled(&state, actor.viewer.tenant(), &endpoint.id, enabled).await?;
    let done = if enabled { "enabled" } else { "disabled" };
    Ok(see_other(&format!(
        "/portal/endpoints/{}?done={done}",
        endpoint.id
    )))
}

/// `POST /portal/endpoints/{id}/rotate-secret`: a new secret, shown once; the old one
/// keeps signing for a day.
pub async fn rotate_secret(
    State(state): State<AppState>,
    Path(id): Path<String>,
    actor: Actor,
) -> PageResult {
    let viewer = &actor.viewer;
    let endpoint = lookup(&state, viewer, &id).await?;
    let grace = shared::secrets::grace_period(None)?;
    let secret = manage::rotate_secret(&state, viewer.tenant(), &endpoint.id, grace).await?;
    Ok(secret_page(
        viewer,
        &endpoint,
        &t!("Signing secret rotated"),
        &secret,
        StatusCode::OK,
    ))
}

/// `POST /portal/endpoints/{id}/test`: sends a `webhook:ping` now and shows how it went.
pub async fn test(
    State(state): State<AppState>,
    Path(id): Path<String>,
    actor: Actor,
) -> PageResult {
    let viewer = &actor.viewer;
    let endpoint = lookup(&state, viewer, &id).await?;
    let log = manage::test(&state, viewer.tenant(), &endpoint.id).await?;
    let body = format!(
        r#"<p><a href="/portal/endpoints/{id}">{back}</a></p><h2>{title}</h2>{result}"#,
        back = t!("Back to the endpoint"),
        title = t!("Test ping"),
        id = escape(&endpoint.id),
        result = test_result(&log),
    );
    Ok(page(
        StatusCode::OK,
        &t!("Test ping"),
        Some(viewer),
        Section::Endpoints,
        &body,
    ))
}

fn test_result(log: &WebhookLog) -> String {
    let (class, verdict) = if log.status == LogStatus::Succeeded {
        ("status-succeeded", t!("Delivered"))
    } else {
        ("status-failed", t!("Not delivered"))
    };
    format!(
        r#"<dl id="test-result"><dt>{result_}</dt><dd class="{class}" id="test-verdict">{verdict}</dd><dt>{response_}</dt><dd>{code}</dd><dt>{took_}</dt><dd>{ms} ms</dd><dt>{sent_}</dt><dd>{at}</dd><dt>{delivery_}</dt><dd><a href="/portal/deliveries/{id}" id="test-delivery">{id}</a></dd></dl>"#,
        result_ = t!("Result"),
        response_ = t!("Response"),
        took_ = t!("Took"),
        sent_ = t!("Sent"),
        delivery_ = t!("Delivery"),
        code = if log.response_code == 0 {
            t!("no response")
        } else {
            log.response_code.to_string()
        },
        ms = log.duration_ms,
        at = when(log.updated_at),
        id = escape(&log.id),
    )
}
