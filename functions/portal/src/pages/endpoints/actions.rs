//! What a `manage` link does to an endpoint: create, save, enable, disable, rotate the
//! secret, send a test ping. Each goes through `shared::manage`, as the API does.

use super::form::{Fields, edit_form, event_choices, new_page, problems_of};
use super::views::{EndpointParams, endpoint_page, event_names, lookup};
use crate::pages::{Actor, PageResult, Section, Viewer, page, see_other, when};
use axum::{
    extract::{Path, State},
    http::StatusCode,
    response::Response,
};
use shared::t;
use shared::{
    ApiError, AppState, html,
    html::Html,
    manage,
    webhooks::{Endpoint, LogStatus, WebhookLog},
};

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
            let top = html!(
                r##"<p class="errors" id="not-saved">{not_saved} <a href="#edit">{see}</a>.</p>"##,
                not_saved = t!("Not saved:"),
                see = t!("see what to change"),
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

/// `GET /portal/endpoints/new`: the form for a new endpoint (a `manage` link only).
pub async fn new(State(state): State<AppState>, viewer: Viewer) -> PageResult {
    if !viewer.can_manage() {
        return Err(ApiError::Forbidden.into());
    }
    let choices = event_choices(&state, &viewer, &[]).await?;
    let fields = Fields::blank();
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
    let body = html!(
        r#"<h2>{title}</h2><p class="url">{url}</p><p>{once}</p>
<p class="secret" id="secret">{secret}</p><p><a href="/portal/endpoints/{id}" id="to-endpoint">{go}</a></p>"#,
        once = t!("Its signing secret, shown this once: copy it to the receiver now."),
        go = t!("Go to the endpoint"),
        title = title,
        url = endpoint.url.masked(),
        secret = secret,
        id = endpoint.id,
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
    let body = html!(
        r#"<p><a href="/portal/endpoints/{id}">{back}</a></p><h2>{title}</h2>{result}"#,
        back = t!("Back to the endpoint"),
        title = t!("Test ping"),
        id = endpoint.id,
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

fn test_result(log: &WebhookLog) -> Html {
    let (class, verdict) = if log.status == LogStatus::Succeeded {
        ("status-succeeded", t!("Delivered"))
    } else {
        ("status-failed", t!("Not delivered"))
    };
    html!(
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
        class = class,
        verdict = verdict,
        id = log.id,
    )
}
