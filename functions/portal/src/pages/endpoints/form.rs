//! The endpoint form: its fields as shown and as sent, and the API input they make.

use super::views::event_names;
use crate::pages::{Form, PageError, Viewer, checked, chosen, errors};
use shared::t;
use shared::{
    ApiError, AppState, html,
    html::Html,
    manage::EndpointInput,
    pagination::PageRequest,
    rules::Rule,
    store::event_types,
    webhooks::{Endpoint, EventType},
};
use std::collections::BTreeMap;

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
pub(super) struct Fields {
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
    /// A new endpoint's form: every event, the defaults of the API.
    pub(super) fn blank() -> Self {
        Fields {
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
        }
    }

    pub(super) fn of(endpoint: &Endpoint) -> Self {
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

    pub(super) fn submitted(form: &Form) -> Self {
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
    pub(super) fn input(&self, current: Option<&Endpoint>) -> Result<EndpointInput, Vec<String>> {
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
pub(super) async fn event_choices(
    state: &AppState,
    viewer: &Viewer,
    current: &[String],
) -> Result<Vec<String>, PageError> {
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
fn filter_caret(filter: &str) -> Html {
    if filter.trim().is_empty() {
        return Html::default(); // no filter
    }
    let Err(error) = Rule::parse(filter) else {
        return Html::default();
    };
    let mut seen = 0;
    for line in filter.split('\n') {
        let length = line.chars().count();
        if error.position <= seen + length + 1 {
            let column = error.position - seen - 1;
            return html!(
                r#"<pre id="filter-error">{line}
{indent}^ {error}</pre>"#,
                line = line,
                indent = " ".repeat(column),
                error = error,
            );
        }
        seen += length + 1;
    }
    Html::default()
}

pub(super) fn edit_form(
    viewer: &Viewer,
    endpoint: &Endpoint,
    fields: &Fields,
    choices: &[String],
    problems: &[String],
) -> Html {
    let action = format!("/portal/endpoints/{}", endpoint.id);
    html!(
        r#"<h3 id="edit">{edit}</h3>{form}"#,
        edit = t!("Edit"),
        form = fields_form(
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
) -> Html {
    let checks: Html = choices
        .iter()
        .map(|name| {
            html!(
                r#"<label class="check"><input type="checkbox" name="events" value="{name}"{checked}> {name}</label>"#,
                name = name,
                checked = checked(fields.events.contains(name)),
            )
        })
        .collect();
    // Hints translated around literal code spans.
    let hint = Html::from_escaped_parts;
    let inner = html!(
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
        filter_hint = hint(t!(
            "optional: a rule on the payload, e.g. {example}",
            example = "<code>value &gt; 10 and currency == 'USD'</code>"
        )),
        headers_ = t!("Headers"),
        headers_hint = hint(t!(
            "one {line} per line; a value shown as {masked} is kept as it is",
            line = "<code>name: value</code>",
            masked = "<code>****</code>"
        )),
        signatures_ = t!("Signatures"),
        legacy_label = hint(t!(
            "Also send {header}",
            header = "<code>X-PushGuard-Signature</code>"
        )),
        legacy_hint = hint(t!(
            "body only, replayable: untick once your receiver checks {header}",
            header = "<code>webhook-signature</code>"
        )),
        payload_ = t!("Payload"),
        rate_limit_ = t!("Rate limit"),
        none_ = t!("none"),
        per_second_ = t!("per second"),
        order_ = t!("Delivery order"),
        exhausted_ = t!("When a delivery exhausts its retries"),
        errors = errors(problems),
        checks = checks,
        caret = filter_caret(&fields.filter),
        button_id = button_id,
        button = button,
        url = fields.url,
        description = fields.description,
        filter = fields.filter,
        headers = fields.headers,
        rate_limit = fields.rate_limit,
        legacy = checked(fields.legacy_signature),
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
fn options(choices: &[(&str, String)], selected: &str) -> Html {
    choices
        .iter()
        .map(|(value, label)| {
            html!(
                r#"<option value="{value}"{chosen}>{label}</option>"#,
                value = value,
                chosen = chosen(*value == selected),
                label = label,
            )
        })
        .collect()
}

/// The messages of a rejected input, or the error when it was not a validation.
pub(super) fn problems_of(error: ApiError) -> Result<Vec<String>, ApiError> {
    match error {
        ApiError::Validation(messages) => Ok(messages),
        ApiError::Conflict(message) => Ok(vec![message]),
        other => Err(other),
    }
}

pub(super) fn new_page(
    viewer: &Viewer,
    fields: &Fields,
    choices: &[String],
    problems: &[String],
) -> Html {
    html!(
        r#"<p><a href="/portal">{all}</a></p><h2>{add}</h2>{form}"#,
        all = t!("All endpoints"),
        add = t!("Add an endpoint"),
        form = fields_form(
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
