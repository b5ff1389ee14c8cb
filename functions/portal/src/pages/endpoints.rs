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
        r#"<p class="actions"><a href="/portal/endpoints/new" id="add-endpoint">Add an endpoint</a></p>"#
    } else {
        ""
    };
    let body = if endpoints.is_empty() {
        format!(r#"<div class="empty" id="no-endpoints"><h2>No endpoints yet</h2>{add}</div>"#)
    } else {
        format!(
            r#"<h2>Endpoints</h2>{add}<table id="endpoints"><thead><tr><th>URL</th><th>Events</th><th>State</th><th>Success, 24 h</th><th>p95, 24 h</th><th>Attempts per hour</th></tr></thead><tbody>{rows}</tbody></table>"#
        )
    };
    Ok(page(
        StatusCode::OK,
        "Endpoints",
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
        r#"<tr data-endpoint="{id}"><td class="url"><a href="/portal/endpoints/{id}">{url}</a></td><td data-label="Events">{events}</td><td data-label="State">{state}</td><td class="rate" data-label="Success, 24 h">{rate}</td><td class="latency" data-label="p95, 24 h">{p95}</td><td>{sparkline}</td></tr>"#,
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
    let own = endpoint.rate_limit.map_or("no limit".to_string(), |limit| {
        format!("at most {limit} per second")
    });
    match (rate, reason) {
        (Some(rate), Some(reason)) => format!(
            r#"{own}; <span class="state-disabled">slowed to {rate:.1} per second</span> <span class="muted">(the receiver answered {})</span>"#,
            escape(&reason)
        ),
        _ => own,
    }
}

/// Whether each resource's events come in order, and which resources a failed delivery
/// holds.
fn ordering_of(endpoint: &Endpoint) -> String {
    if endpoint.ordering == shared::webhooks::DeliveryOrder::None {
        return "as they come".to_string();
    }
    let rule = match endpoint.on_exhausted {
        shared::webhooks::OnExhausted::Skip => "a failed delivery lets the next one go",
        shared::webhooks::OnExhausted::Block => "a failed delivery holds its resource",
    };
    let mut text = format!("each resource's events in order; {rule}");
    if !endpoint.blocked_keys.is_empty() {
        let keys: Vec<String> = endpoint
            .blocked_keys
            .iter()
            .map(|key| format!("<code>{}</code>", escape(key)))
            .collect();
        text.push_str(&format!(
            r#"<br><span class="state-disabled">held: {}</span> <span class="muted">(retry the failed delivery to release it)</span>"#,
            keys.join(", ")
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
        (true, _) => r#"<span class="state-enabled">enabled</span>"#.to_string(),
        (false, true) => format!(
            r#"<span class="state-disabled">disabled by errors</span><br><span class="muted">{} failures in a row</span>"#,
            view.error_count
        ),
        (false, false) => r#"<span class="state-disabled">disabled</span>"#.to_string(),
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
        let body = r#"<div class="empty" id="not-found"><h2>No such endpoint</h2><p><a href="/portal">All endpoints</a></p></div>"#;
        super::PageError(page(
            StatusCode::NOT_FOUND,
            "Not found",
            Some(viewer),
            Section::Endpoints,
            body,
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
        Period::Day => {
            format!(
                r#"24 hours · <a href="/portal/endpoints/{id}?period=7d" id="period-7d">7 days</a>"#
            )
        }
        _ => format!(
            r#"<a href="/portal/endpoints/{id}?period=24h" id="period-24h">24 hours</a> · 7 days"#
        ),
    };
    let actions = if viewer.can_manage() {
        let base = format!("/portal/endpoints/{}", view.id);
        let toggle = if view.enabled {
            viewer.button(&format!("{base}/disable"), "disable", "Disable", "danger")
        } else {
            viewer.button(&format!("{base}/enable"), "enable", "Enable", "primary")
        };
        format!(
            r#"<div class="actions" id="actions">{}{toggle}{}</div>"#,
            viewer.button(
                &format!("{base}/test"),
                "send-test",
                "Send a test ping",
                "primary"
            ),
            viewer.button(
                &format!("{base}/rotate-secret"),
                "rotate-secret",
                "Rotate the signing secret",
                ""
            ),
        )
    } else {
        String::new()
    };
    let body = format!(
        r#"<p><a href="/portal">All endpoints</a> · <a href="/portal/deliveries?endpoint={id}" id="endpoint-deliveries">Its deliveries</a></p>{notice}<h2 class="url" id="endpoint-url">{url}</h2>
{actions}
<dl id="endpoint"><dt>Events</dt><dd>{events}</dd><dt>State</dt><dd id="state">{state}</dd><dt>Filter</dt><dd>{filter}</dd><dt>Headers</dt><dd>{headers}</dd><dt>Signatures</dt><dd>{scheme}</dd><dt>Payload</dt><dd>{payload}</dd><dt>Made through</dt><dd id="dialect">{dialect}</dd><dt>Rate</dt><dd id="rate">{rate}</dd><dt>Order</dt><dd id="ordering">{ordering}</dd>
<dt>Attempts</dt><dd id="attempts">{attempts} ({succeeded} succeeded, {failed} failed)</dd><dt>Latency</dt><dd>p50 {p50} · p95 {p95} · p99 {p99}</dd></dl>
<p id="period">{switch}</p>
<h3>Attempts per hour</h3><div class="chart">{outcomes}<div class="legend"><span class="ok">■ succeeded</span><span class="bad">■ failed</span></div></div>
<h3>Latency per hour</h3><div class="chart">{latency}<div class="legend"><span class="p50">— p50</span><span class="p95">— p95</span><span class="p99">— p99</span></div></div>
{edit}"#,
        notice = top,
        url = escape(&view.url),
        events = events_of(&view),
        state = state_of(&view),
        filter = view.filter.map_or("none".to_string(), escape),
        headers = if header_names.is_empty() {
            "none".to_string()
        } else {
            header_names.join(", ")
        },
        rate = rate_of(endpoint, pace),
        ordering = ordering_of(endpoint),
        scheme = view.signature_scheme.as_str(),
        payload = view.payload.as_str(),
        dialect = dialect_of(view.dialect),
        attempts = summary.attempts,
        succeeded = summary.succeeded,
        failed = summary.failed,
        p50 = milliseconds(summary.latency_ms.p50),
        p95 = milliseconds(summary.latency_ms.p95),
        p99 = milliseconds(summary.latency_ms.p99),
        outcomes = charts::outcome_chart(&buckets),
        latency = charts::latency_chart(&buckets),
    );
    Ok(page(
        status,
        "Endpoint",
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
                _ => problems.push(format!(
                    "Headers line {} must be written as name: value",
                    n + 1
                )),
            }
        }
        let signature_scheme = choice(
            &self.signature_scheme,
            "Signature scheme must be v1, v1a or both",
            &mut problems,
        );
        let payload = choice(&self.payload, "Payload must be full or thin", &mut problems);
        let ordering = choice(
            &self.ordering,
            "Ordering must be none or resource",
            &mut problems,
        );
        let on_exhausted = choice(
            &self.on_exhausted,
            "On exhausted must be skip or block",
            &mut problems,
        );
        let rate_limit = match self.rate_limit.as_str() {
            "" => Some(None),
            text => match text.parse::<u32>() {
                Ok(limit) => Some(Some(limit)),
                Err(_) => {
                    problems
                        .push("Rate limit must be a whole number of deliveries per second".into());
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
        })
    }
}

/// The API an endpoint was made through, which shapes its deliveries.
fn dialect_of(dialect: shared::webhooks::Dialect) -> &'static str {
    use shared::webhooks::Dialect;
    match dialect {
        Dialect::PushGuard => "PushGuard's API",
        Dialect::Conekta => "Conekta's webhooks API (deliveries are Conekta events)",
        Dialect::Paybyrd => "Paybyrd's webhook settings (payment status notifications)",
        Dialect::Pixlpay => "Pixlpay's webhooks API (Pixlpay-signed deliveries)",
        Dialect::KeySign => "the Key/Sign subscription API (Key and Sign headers)",
    }
}

/// One of an option's values (`v1a`, `thin`), as the API names them; `problem` if the
/// form sent anything else.
fn choice<T: serde::de::DeserializeOwned>(
    value: &str,
    problem: &str,
    problems: &mut Vec<String>,
) -> Option<T> {
    let parsed = serde_json::from_value(serde_json::Value::String(value.to_string())).ok();
    if parsed.is_none() {
        problems.push(problem.to_string());
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
        r#"<h3 id="edit">Edit</h3>{}"#,
        fields_form(viewer, &action, "save", "Save", fields, choices, problems)
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
        r#"{errors}<fieldset><legend>Endpoint</legend>
<label for="url">URL</label><input type="text" id="url" name="url" value="{url}" required>
<label for="description">Description</label><input type="text" id="description" name="description" value="{description}">
<p>Events</p><div id="events">{checks}</div>
<label for="filter">Filter <span class="muted">(optional: a rule on the payload, e.g. <code>value &gt; 10 and currency == 'USD'</code>)</span></label>
<textarea id="filter" name="filter" rows="2">{filter}</textarea>{caret}
<label for="headers">Headers <span class="muted">(one <code>name: value</code> per line; a value shown as <code>****</code> is kept as it is)</span></label>
<textarea id="headers" name="headers" rows="3">{headers}</textarea>
<div class="filters"><label>Signatures <select name="signature_scheme" id="signature-scheme">{schemes}</select></label>
<label class="check"><input type="checkbox" name="legacy_signature" id="legacy-signature" value="on"{legacy}> Also send <code>X-PushGuard-Signature</code> <span class="muted">(body only, replayable: untick once your receiver checks <code>webhook-signature</code>)</span></label>
<label>Payload <select name="payload" id="payload">{payloads}</select></label>
<label>Rate limit <input type="text" name="rate_limit" id="rate-limit" value="{rate_limit}" size="6" inputmode="numeric" placeholder="none"> per second</label></div>
<div class="filters"><label>Order <select name="ordering" id="ordering">{orderings}</select></label>
<label>When a delivery exhausts its retries <select name="on_exhausted" id="on-exhausted">{exhausted}</select></label></div>
<p><button type="submit" class="primary" id="{button_id}">{button}</button></p></fieldset>"#,
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
                ("v1", "v1: HMAC with the endpoint's secret"),
                ("v1a", "v1a: ed25519, the account's public key verifies"),
                ("both", "both"),
            ],
            &fields.signature_scheme
        ),
        payloads = options(
            &[
                ("full", "full: the event's object"),
                ("thin", "thin: its type and id only"),
            ],
            &fields.payload
        ),
        orderings = options(
            &[
                ("none", "none: as they come"),
                ("resource", "resource: each resource's events in order"),
            ],
            &fields.ordering
        ),
        exhausted = options(
            &[
                ("skip", "skip: the next one of its resource goes"),
                ("block", "block: its resource waits"),
            ],
            &fields.on_exhausted
        ),
    );
    viewer.form(action, "", &inner)
}

/// `<option>`s of `choices` (value, label), `selected` chosen.
fn options(choices: &[(&str, &str)], selected: &str) -> String {
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
            let top = r##"<p class="errors" id="not-saved">Not saved: <a href="#edit">see what to change</a>.</p>"##;
            endpoint_page(
                &state,
                viewer,
                &endpoint,
                &params,
                StatusCode::UNPROCESSABLE_ENTITY,
                top,
                &edit,
            )
            .await
        }
        Err(Err(error)) => Err(error.into()),
    }
}

fn new_page(viewer: &Viewer, fields: &Fields, choices: &[String], problems: &[String]) -> String {
    format!(
        r#"<p><a href="/portal">All endpoints</a></p><h2>Add an endpoint</h2>{}"#,
        fields_form(
            viewer,
            "/portal/endpoints",
            "create",
            "Add the endpoint",
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
        "Add an endpoint",
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
            "Endpoint added",
            &secret,
            StatusCode::CREATED,
        )),
        Err(Ok(problems)) => {
            let choices = event_choices(&state, viewer, &[]).await?;
            let body = new_page(viewer, &fields, &choices, &problems);
            Ok(page(
                StatusCode::UNPROCESSABLE_ENTITY,
                "Add an endpoint",
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
        r#"<h2>{title}</h2><p class="url">{url}</p><p>Its signing secret, shown this once: copy it to the receiver now.</p>
<p class="secret" id="secret">{secret}</p><p><a href="/portal/endpoints/{id}" id="to-endpoint">Go to the endpoint</a></p>"#,
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
        "Signing secret rotated",
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
        r#"<p><a href="/portal/endpoints/{id}">Back to the endpoint</a></p><h2>Test ping</h2>{result}"#,
        id = escape(&endpoint.id),
        result = test_result(&log),
    );
    Ok(page(
        StatusCode::OK,
        "Test ping",
        Some(viewer),
        Section::Endpoints,
        &body,
    ))
}

fn test_result(log: &WebhookLog) -> String {
    let (class, verdict) = if log.status == LogStatus::Succeeded {
        ("status-succeeded", "Delivered")
    } else {
        ("status-failed", "Not delivered")
    };
    format!(
        r#"<dl id="test-result"><dt>Result</dt><dd class="{class}" id="test-verdict">{verdict}</dd><dt>Response</dt><dd>{code}</dd><dt>Took</dt><dd>{ms} ms</dd><dt>Sent</dt><dd>{at}</dd><dt>Delivery</dt><dd><a href="/portal/deliveries/{id}" id="test-delivery">{id}</a></dd></dl>"#,
        code = if log.response_code == 0 {
            "no response".to_string()
        } else {
            log.response_code.to_string()
        },
        ms = log.duration_ms,
        at = when(log.updated_at),
        id = escape(&log.id),
    )
}
