//! The deliveries pages: every delivery of the tenant, filtered by endpoint, status and
//! event type; one delivery as it was sent and answered, attempt by attempt; and (with
//! a `manage` link) retrying one, or recovering every failed one since a date.

use super::{Actor, PageResult, Section, Viewer, chosen, notice, page, see_other, when};
use axum::{
    extract::{Path, Query, State},
    http::StatusCode,
};
use serde::Deserialize;
use shared::t;
use shared::{
    ApiError, AppState, Timestamp,
    error::Violations,
    html,
    html::Html,
    ids::{EndpointId, LogId},
    manage,
    pagination::{Cursor, PageRequest},
    store::{
        endpoints,
        logs::{self, LogFilter},
    },
    webhooks::{Endpoint, LogStatus, WebhookLog, body::delivery_body, is_event_name},
};
use std::collections::BTreeMap;

/// Deliveries per page.
const PER_PAGE: u32 = 25;

#[derive(Deserialize)]
pub struct ListParams {
    endpoint: Option<String>,
    status: Option<String>,
    event: Option<String>,
    /// The id of the last delivery of the previous page (older ones follow).
    after: Option<String>,
    /// How many a recovery just queued again.
    recovered: Option<u32>,
}

/// Empty query values (a form's "any") count as absent.
fn given(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

/// `GET /portal/deliveries`: newest first, 25 a page.
pub async fn list(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(params): Query<ListParams>,
) -> PageResult {
    let tenant = viewer.tenant();
    let mut errors = Violations::new();
    let status = errors.parse::<LogStatus>(given(&params.status));
    let event = given(&params.event);
    if let Some(name) = event
        && !is_event_name(name)
    {
        errors.add(t!("Event {name:?} is not an event type", name));
    }
    let endpoint = given(&params.endpoint);
    if let Some(id) = endpoint
        && id.parse::<EndpointId>().is_err()
    {
        errors.add(t!("Endpoint {id:?} is not an endpoint id", id));
    }
    let after = given(&params.after);
    if let Some(id) = after
        && id.parse::<LogId>().is_err()
    {
        errors.add(t!("After must be a delivery id"));
    }
    let status = errors.finish_with(status)?;
    let filter = LogFilter {
        endpoint_id: endpoint.map(str::to_string),
        event: event.map(str::to_string),
        status,
        since: None,
    };
    let request = PageRequest {
        page: 1,
        per_page: PER_PAGE,
        cursor: after.map(|id| Cursor::StartingAfter(id.to_string())),
    };
    let (page_of_logs, all_endpoints) = futures::future::join(
        logs::list(
            &state.db,
            tenant,
            &filter,
            request,
            state.config.retention_days,
        ),
        endpoints::all(&state.db, tenant),
    )
    .await;
    let (page_of_logs, all_endpoints) = (page_of_logs?, all_endpoints?);
    let urls: BTreeMap<&str, String> = all_endpoints
        .iter()
        .map(|e| (e.id.as_str(), e.url.masked()))
        .collect();
    let rows: Html = page_of_logs
        .items
        .iter()
        .map(|log| row(log, &urls))
        .collect();
    let table = if rows.is_empty() {
        html!(
            r#"<div class="empty" id="no-deliveries"><h3>{nothing}</h3></div>"#,
            nothing = t!("No deliveries match")
        )
    } else {
        html!(
            r#"<table id="deliveries"><thead><tr><th>{created}</th><th>{event}</th><th>{endpoint}</th><th>{status}</th><th>{response}</th><th>{attempts}</th></tr></thead><tbody>{rows}</tbody></table>"#,
            created = t!("Created"),
            event = t!("Event"),
            endpoint = t!("Endpoint"),
            status = t!("Status"),
            response = t!("Response"),
            attempts = t!("Attempts"),
            rows = rows,
        )
    };
    let older = match page_of_logs.cursors.and_then(|c| c.older) {
        Some(last) => {
            let mut query = url::form_urlencoded::Serializer::new(String::new());
            for (name, value) in [
                ("endpoint", endpoint),
                ("status", given(&params.status)),
                ("event", event),
            ] {
                if let Some(value) = value {
                    query.append_pair(name, value);
                }
            }
            query.append_pair("after", &last);
            html!(
                r#"<p><a href="/portal/deliveries?{query}" id="older">{older}</a></p>"#,
                query = query.finish(),
                older = t!("Older deliveries")
            )
        }
        None => Html::default(),
    };
    let recovered = params.recovered.map_or_else(Html::default, |n| {
        let text = if n == 1 {
            t!("1 failed delivery queued to go out again.")
        } else {
            t!("{n} failed deliveries queued to go out again.", n)
        };
        html!(r#"<p class="notice" id="notice">{text}</p>"#, text = text)
    });
    let recover = if viewer.can_manage() {
        recover_form(&viewer, &all_endpoints, endpoint)
    } else {
        Html::default()
    };
    let body = html!(
        r#"<h2>{title}</h2>{recovered}{filters}{table}{older}{recover}"#,
        title = t!("Deliveries"),
        recovered = recovered,
        filters = filter_form(&all_endpoints, endpoint, status, event),
        table = table,
        older = older,
        recover = recover,
    );
    Ok(page(
        StatusCode::OK,
        &t!("Deliveries"),
        Some(&viewer),
        Section::Deliveries,
        &body,
    ))
}

fn endpoint_options(all: &[Endpoint], selected: Option<&str>, any: Option<&str>) -> Html {
    let mut options = any.map_or_else(Html::default, |label| {
        html!(r#"<option value="">{label}</option>"#, label = label)
    });
    for endpoint in all {
        options.push(&html!(
            r#"<option value="{id}"{chosen}>{url}</option>"#,
            id = endpoint.id,
            chosen = chosen(selected == Some(endpoint.id.as_str())),
            url = endpoint.url.masked(),
        ));
    }
    options
}

fn filter_form(
    all: &[Endpoint],
    endpoint: Option<&str>,
    status: Option<LogStatus>,
    event: Option<&str>,
) -> Html {
    let statuses: Html = [
        ("", t!("any status")),
        ("succeeded", t!("succeeded")),
        ("failed", t!("failed")),
        ("retrying", t!("retrying")),
        ("pending", t!("pending")),
    ]
    .iter()
    .map(|(value, label)| {
        let selected = match status {
            Some(s) => status_name(s) == *value,
            None => value.is_empty(),
        };
        html!(
            r#"<option value="{value}"{chosen}>{label}</option>"#,
            value = value,
            chosen = chosen(selected),
            label = label,
        )
    })
    .collect();
    html!(
        r#"<form method="get" action="/portal/deliveries" class="filters" id="filters">
<label>{endpoint_} <select name="endpoint" id="filter-endpoint">{endpoints}</select></label>
<label>{status_} <select name="status" id="filter-status">{statuses}</select></label>
<label>{event_type_} <input type="text" name="event" id="filter-event" value="{event}" placeholder="order:paid" size="16"></label>
<button type="submit" id="apply-filters">{show}</button></form>"#,
        endpoint_ = t!("Endpoint"),
        status_ = t!("Status"),
        event_type_ = t!("Event type"),
        show = t!("Show"),
        endpoints = endpoint_options(all, endpoint, Some(&t!("any endpoint"))),
        statuses = statuses,
        event = event.unwrap_or_default(),
    )
}

fn recover_form(viewer: &Viewer, all: &[Endpoint], endpoint: Option<&str>) -> Html {
    if all.is_empty() {
        return Html::default();
    }
    let week_ago = Timestamp::now().minus(std::time::Duration::from_secs(7 * 86_400));
    let inner = html!(
        r#"<fieldset><legend>{legend}</legend><p class="muted">{explained}</p>
<div class="filters"><label>{endpoint_} <select name="endpoint" id="recover-endpoint" required>{endpoints}</select></label>
<label>{since_} <input type="date" name="since" id="recover-since" value="{since}" required></label>
<button type="submit" id="recover">{recover}</button></div></fieldset>"#,
        legend = t!("Recover failed deliveries"),
        explained = t!(
            "Every failed delivery to the endpoint created since the date goes out again (up to {max} at a time).",
            max = manage::MAX_RECOVER
        ),
        endpoint_ = t!("Endpoint"),
        since_ = t!("Since"),
        recover = t!("Recover"),
        endpoints = endpoint_options(all, endpoint, None),
        since = week_ago.to_string()[..10],
    );
    viewer.form("/portal/deliveries/recover", "", &inner)
}

fn status_name(status: LogStatus) -> &'static str {
    match status {
        LogStatus::Pending => "pending",
        LogStatus::Retrying => "retrying",
        LogStatus::Succeeded => "succeeded",
        LogStatus::Failed => "failed",
    }
}

/// A status as people read it (the API's name in English).
fn status_label(status: LogStatus) -> String {
    match status {
        LogStatus::Pending => t!("pending"),
        LogStatus::Retrying => t!("retrying"),
        LogStatus::Succeeded => t!("succeeded"),
        LogStatus::Failed => t!("failed"),
    }
}

fn status_cell(status: LogStatus) -> Html {
    html!(
        r#"<span class="status-{name}">{label}</span>"#,
        name = status_name(status),
        label = status_label(status)
    )
}

fn response_of(log: &WebhookLog) -> String {
    match (log.response_code, log.attempts) {
        (_, 0) => "—".to_string(),
        (0, _) => t!("no response"),
        (code, _) => t!("{code} in {ms} ms", code, ms = log.duration_ms),
    }
}

fn row(log: &WebhookLog, urls: &BTreeMap<&str, String>) -> Html {
    let view = log.view();
    let target = log
        .endpoint_id
        .as_ref()
        .and_then(|id| urls.get(id.as_str()).cloned())
        .unwrap_or(view.url);
    html!(
        r#"<tr data-delivery="{id}" data-status="{status}"><td><a href="/portal/deliveries/{id}">{created}</a></td><td data-label="{event_}">{event}</td><td class="url" data-label="{endpoint_}">{target}</td><td data-label="{status_}">{status_cell}</td><td data-label="{response_}">{response}</td><td data-label="{attempts_}">{attempts}</td></tr>"#,
        event_ = t!("Event"),
        endpoint_ = t!("Endpoint"),
        status_ = t!("Status"),
        response_ = t!("Response"),
        attempts_ = t!("Attempts"),
        id = log.id,
        status = status_name(log.status),
        created = when(log.created_at),
        event = log.event,
        target = target,
        status_cell = status_cell(log.status),
        response = response_of(log),
        attempts = log.attempts,
    )
}

#[derive(Deserialize)]
pub struct OneParams {
    done: Option<String>,
}

/// The tenant's delivery named by the path, or a 404 page.
async fn lookup(
    state: &AppState,
    viewer: &Viewer,
    id: &str,
) -> Result<WebhookLog, super::PageError> {
    let found = match id.parse::<LogId>() {
        Ok(id) => logs::get(&state.db, viewer.tenant(), &id).await?,
        Err(_) => None,
    };
    found.ok_or_else(|| {
        let body = html!(
            r#"<div class="empty" id="not-found"><h2>{nothing}</h2><p><a href="/portal/deliveries">{all}</a></p></div>"#,
            nothing = t!("No such delivery"),
            all = t!("All deliveries"),
        );
        super::PageError(page(
            StatusCode::NOT_FOUND,
            &t!("Not found"),
            Some(viewer),
            Section::Deliveries,
            &body,
        ))
    })
}

fn header_rows(headers: &BTreeMap<String, String>) -> Html {
    if headers.is_empty() {
        return html!(
            r#"<tr><td colspan="2" class="muted">{none}</td></tr>"#,
            none = t!("none recorded")
        );
    }
    headers
        .iter()
        .map(|(name, value)| {
            html!(
                r#"<tr><td>{name}</td><td class="url">{value}</td></tr>"#,
                name = name,
                value = value
            )
        })
        .collect()
}

/// `GET /portal/deliveries/{id}`: the request as sent, the response as received, and
/// each attempt's time and outcome.
pub async fn show(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Query(params): Query<OneParams>,
) -> PageResult {
    let log = lookup(&state, &viewer, &id).await?;
    let view = log.view();
    let attempts: Html = log
        .history
        .iter()
        .enumerate()
        .map(|(n, attempt)| {
            let outcome = match &attempt.failure {
                None => html!(
                    r#"<span class="status-succeeded">{succeeded}</span>"#,
                    succeeded = t!("succeeded")
                ),
                Some(cause) => {
                    html!(r#"<span class="status-failed">{cause}</span>"#, cause = cause)
                }
            };
            let code = if attempt.response_code == 0 {
                t!("no response")
            } else {
                attempt.response_code.to_string()
            };
            html!(
                r#"<tr><td>{n}</td><td data-label="{sent_}">{at}</td><td data-label="{response_}">{code}</td><td data-label="{took_}">{ms} ms</td><td data-label="{outcome_}">{outcome}</td></tr>"#,
                sent_ = t!("Sent"),
                response_ = t!("Response"),
                took_ = t!("Took"),
                outcome_ = t!("Outcome"),
                n = n + 1 + (log.attempts as usize).saturating_sub(log.history.len()),
                at = when(attempt.at),
                code = code,
                ms = attempt.duration_ms,
                outcome = outcome,
            )
        })
        .collect();
    let attempts = if attempts.is_empty() {
        html!(
            r#"<p class="muted" id="attempts">{none}</p>"#,
            none = t!("No attempt yet.")
        )
    } else {
        html!(
            r#"<table id="attempts"><thead><tr><th>#</th><th>{sent}</th><th>{response}</th><th>{took}</th><th>{outcome}</th></tr></thead><tbody>{attempts}</tbody></table>"#,
            sent = t!("Sent"),
            response = t!("Response"),
            took = t!("Took"),
            outcome = t!("Outcome"),
            attempts = attempts,
        )
    };
    let retry = if viewer.can_manage() {
        html!(
            r#"<div class="actions">{button}</div>"#,
            button = viewer.button(
                &format!("/portal/deliveries/{}/retry", log.id),
                "retry",
                &t!("Deliver again now"),
                "primary"
            )
        )
    } else {
        Html::default()
    };
    let next = log.next_retry_at.map_or_else(Html::default, |at| {
        html!(
            "<dt>{next}</dt><dd>{at}</dd>",
            next = t!("Next attempt"),
            at = when(at)
        )
    });
    let endpoint_link = log.endpoint_id.as_ref().map_or_else(Html::default, |id| {
        html!(
            r#" · <a href="/portal/endpoints/{id}">{its}</a>"#,
            id = id,
            its = t!("Its endpoint")
        )
    });
    let body = html!(
        r#"<p><a href="/portal/deliveries">{all}</a>{endpoint_link}</p>{notice}<h2>{event} <span class="muted">{id}</span></h2>{retry}
<dl id="delivery"><dt>{status_}</dt><dd id="delivery-status">{status}</dd><dt>{to_}</dt><dd class="url">{url}</dd><dt>{created_}</dt><dd>{created}</dd><dt>{attempts_}</dt><dd>{count}</dd>{next}</dl>
<h3>{attempts_}</h3>{attempts}
<h3>{request_}</h3><p class="muted">{as_sent}</p>
<table id="request-headers"><tbody>{request_headers}</tbody></table><pre id="request-body">{body}</pre>
<h3>{response_}</h3><dl><dt>{status_}</dt><dd id="response-code">{code}</dd></dl>
<table id="response-headers"><tbody>{response_headers}</tbody></table><pre id="response-body">{response}</pre>"#,
        all = t!("All deliveries"),
        status_ = t!("Status"),
        to_ = t!("To"),
        created_ = t!("Created"),
        attempts_ = t!("Attempts"),
        request_ = t!("Request"),
        response_ = t!("Response"),
        as_sent = t!("The latest attempt's headers and the body, byte for byte as sent."),
        endpoint_link = endpoint_link,
        notice = notice(params.done.as_deref()),
        retry = retry,
        next = next,
        attempts = attempts,
        event = log.event,
        id = log.id,
        status = status_cell(log.status),
        url = view.url,
        created = when(log.created_at),
        count = if log.retry_limit == 1 {
            t!("{count} (1 automatic retry allowed)", count = log.attempts)
        } else {
            t!(
                "{count} ({limit} automatic retries allowed)",
                count = log.attempts,
                limit = log.retry_limit
            )
        },
        request_headers = header_rows(&log.request_headers),
        body = String::from_utf8_lossy(&delivery_body(&log.payload)),
        code = response_of(&log),
        response_headers = header_rows(&log.response_headers),
        response = log.response.as_deref().unwrap_or_default(),
    );
    Ok(page(
        StatusCode::OK,
        &t!("Delivery"),
        Some(&viewer),
        Section::Deliveries,
        &body,
    ))
}

/// `POST /portal/deliveries/{id}/retry`: delivers again now, then shows the delivery.
pub async fn retry(
    State(state): State<AppState>,
    Path(id): Path<String>,
    actor: Actor,
) -> PageResult {
    let log = lookup(&state, &actor.viewer, &id).await?;
    manage::retry(&state, actor.viewer.tenant(), &log.id).await?;
    Ok(see_other(&format!(
        "/portal/deliveries/{}?done=retried",
        log.id
    )))
}

/// `since` as the recovery form sends it: a date (`2026-12-01`, from midnight UTC) or
/// an RFC 3339 time.
fn since_of(text: Option<&str>) -> Result<Timestamp, ApiError> {
    let text = text.map(str::trim).filter(|t| !t.is_empty());
    let full = text.map(|t| {
        if t.len() == 10 {
            format!("{t}T00:00:00Z")
        } else {
            t.to_string()
        }
    });
    manage::recovery_start(full.as_deref())
}

/// The recovery form as it is sent, for the OpenAPI document.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // describes the form; `recover` reads it
pub struct RecoverForm {
    /// The session's CSRF token, as the page's form carries it.
    csrf: String,
    /// The endpoint's id.
    endpoint: String,
    /// A date (from midnight UTC) or an RFC 3339 time, within the logs' retention.
    #[schema(format = Date)]
    since: String,
}

/// `POST /portal/deliveries/recover`: every failed delivery to the endpoint since the
/// date goes out again; back to its failed deliveries, saying how many.
pub async fn recover(State(state): State<AppState>, actor: Actor) -> PageResult {
    let since = since_of(actor.form.get("since"))?;
    let id = actor
        .form
        .get("endpoint")
        .and_then(|id| id.parse::<EndpointId>().ok())
        .ok_or(ApiError::NotFound("Endpoint"))?;
    let recovered = manage::recover(&state, actor.viewer.tenant(), &id, since).await?;
    Ok(see_other(&format!(
        "/portal/deliveries?endpoint={id}&recovered={recovered}"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_recovery_date_starts_at_midnight_utc() {
        let since = since_of(Some("2026-01-02")).unwrap();
        assert_eq!(since.to_string()[..19], *"2026-01-02T00:00:00");
        assert!(since_of(Some("2026-01-02T10:00:00Z")).is_ok());
        assert!(since_of(Some("")).is_err());
        assert!(since_of(Some("02/01/2026")).is_err());
    }
}
