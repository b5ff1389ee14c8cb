//! What may be done to a tenant's endpoints and deliveries, by an API key or by a
//! portal session: one implementation behind both, so the portal can never do what
//! the API would refuse, nor do it differently.

use crate::t;
use crate::webhooks::{
    CustomHeaders, DeliveryOrder, Dialect, Endpoint, EventSelector, EventSource, EventType,
    LogStatus, OnExhausted, PayloadShape, SignatureScheme, WebhookLog, WebhookUrl, own_events,
    samples,
};
use crate::{
    ApiError, ApiResult, AppState, Tenant, Timestamp,
    delivery::dispatch::{self, Target},
    error::Violations,
    http::nullable,
    ids::{EndpointId, LogId},
    keyring::SecretContext,
    rules::Rule,
    secrets::SigningSecrets,
    store::{
        endpoints as store,
        logs::{self, LogFilter},
    },
};
use serde::Deserialize;
use std::{collections::BTreeMap, time::Duration};

const MAX_DESCRIPTION_LENGTH: usize = 512;

/// The most failed deliveries one recovery re-sends; recover again for more.
pub const MAX_RECOVER: u32 = 1_000;

/// The body of create and update; every field optional so update can be partial.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EndpointInput {
    /// https URL (http and private hosts only where allowed); required on create.
    pub url: Option<String>,
    /// Event types, registered custom types, or `*`; required on create.
    pub events: Option<Vec<String>>,
    #[serde(default, deserialize_with = "nullable")]
    pub description: Option<Option<String>>,
    pub enabled: Option<bool>,
    #[serde(default, deserialize_with = "nullable")]
    pub headers: Option<Option<BTreeMap<String, String>>>,
    /// A rule the event's payload must match (the rule language).
    #[serde(default, deserialize_with = "nullable")]
    pub filter: Option<Option<String>>,
    /// `v1` (HMAC-SHA256, the default), `v1a` (ed25519 with the account's key) or `both`.
    pub signature_scheme: Option<SignatureScheme>,
    /// Whether deliveries also carry the seed's `X-PushGuard-Signature` (HMAC-SHA512 of
    /// the body alone, which anyone who sees a delivery can replay): `true` (the
    /// default, for receivers written for it) or `false` once yours checks
    /// `webhook-signature`.
    pub legacy_signature: Option<bool>,
    /// `full` (the event's object, the default) or `thin` (its type and id only).
    pub payload: Option<PayloadShape>,
    /// Deliveries per second at most, 1 to 1000 (`null`: none of its own).
    #[serde(default, deserialize_with = "nullable")]
    pub rate_limit: Option<Option<u32>>,
    /// `none` (the default) or `resource`: each resource's events one at a time, in
    /// commit order.
    pub ordering: Option<DeliveryOrder>,
    /// With ordering: `skip` (the default) lets the next event of a resource go when a
    /// delivery exhausts its retries; `block` holds it until released.
    pub on_exhausted: Option<OnExhausted>,
    /// Whose events it receives: `["self"]` (the default), `["self", "children"]` or
    /// `["children"]` (a holding account's child accounts).
    pub events_from: Option<Vec<EventSource>>,
    /// What the dialect that translated this input found wrong in what it was sent,
    /// reported with every other problem.
    #[serde(skip)]
    pub problems: Vec<String>,
    /// Whether the dialect refused every name in `events` (and said why in `problems`).
    #[serde(skip)]
    pub events_refused: bool,
}

/// The validated, client-editable part of an endpoint.
struct EndpointFields {
    url: WebhookUrl,
    events: Vec<EventSelector>,
    description: Option<String>,
    enabled: bool,
    headers: CustomHeaders,
    filter: Option<String>,
    signature_scheme: SignatureScheme,
    legacy_signature: bool,
    payload: PayloadShape,
    rate_limit: Option<u32>,
    ordering: DeliveryOrder,
    on_exhausted: OnExhausted,
    events_from: Vec<EventSource>,
}

/// The highest `rate_limit`, deliveries per second.
pub const MAX_RATE_LIMIT: u32 = 1_000;

impl EndpointInput {
    /// Validates this input applied over `current` (none when creating), listing
    /// every problem at once.
    /// `unregistered` lists the custom types the tenant has not registered.
    fn validate(
        self,
        current: Option<&Endpoint>,
        allow_private: bool,
        unregistered: &[String],
    ) -> ApiResult<EndpointFields> {
        let mut errors = Violations::new();
        self.problems.into_iter().for_each(|p| errors.add(p));
        let url = match (self.url, current) {
            (Some(text), _) => WebhookUrl::parse(&text, allow_private)
                .map_err(|e| errors.add(e))
                .ok(),
            (None, Some(current)) => Some(current.url.clone()),
            (None, None) => {
                errors.add(t!("Url can't be blank"));
                None
            }
        };
        let events = match (self.events, current) {
            (Some(names), _) => parse_events(names, unregistered, &mut errors),
            (None, Some(current)) => current.events.clone(),
            (None, None) => {
                // Unless the dialect that sent them already said what is wrong with them.
                if !self.events_refused {
                    errors.add(t!("Events can't be blank"));
                }
                Vec::new()
            }
        };
        let description = match self.description {
            Some(text) => crate::crud::text(text),
            None => current.and_then(|c| c.description.clone()),
        };
        if description
            .as_ref()
            .is_some_and(|d| d.chars().count() > MAX_DESCRIPTION_LENGTH)
        {
            errors.add(t!(
                "Description is too long (maximum is {max} characters)",
                max = MAX_DESCRIPTION_LENGTH
            ));
        }
        let headers = match self.headers {
            Some(raw) => {
                let mut problems = Vec::new();
                let raw = crate::webhooks::headers::unmask(
                    raw.unwrap_or_default(),
                    current.map(|c| &c.headers),
                    &mut problems,
                );
                let parsed = CustomHeaders::parse(raw).unwrap_or_else(|more| {
                    problems.extend(more);
                    CustomHeaders::default()
                });
                problems.into_iter().for_each(|p| errors.add(p));
                parsed
            }
            None => current.map(|c| c.headers.clone()).unwrap_or_default(),
        };
        let filter = match self.filter {
            Some(text) => text.filter(|t| !t.trim().is_empty()),
            None => current.and_then(|c| c.filter.clone()),
        };
        if let Some(Err(error)) = filter.as_deref().map(Rule::parse) {
            errors.add(t!("Filter is invalid: {error}", error));
        }
        let rate_limit = match self.rate_limit {
            Some(limit) => limit,
            None => current.and_then(|c| c.rate_limit),
        };
        if rate_limit.is_some_and(|r| !(1..=MAX_RATE_LIMIT).contains(&r)) {
            errors.add(t!(
                "Rate limit must be from 1 to {max} deliveries per second",
                max = MAX_RATE_LIMIT
            ));
        }
        let mut events_from = match self.events_from {
            Some(sources) => sources,
            None => current.map_or_else(own_events, |c| c.events_from.clone()),
        };
        events_from.sort();
        events_from.dedup();
        if events_from.is_empty() {
            errors.add(t!("Events from can't be blank: self, children, or both"));
        }
        errors.finish()?;
        Ok(EndpointFields {
            url: url.expect("a missing url was reported"),
            events,
            description,
            enabled: self.enabled.or(current.map(|c| c.enabled)).unwrap_or(true),
            headers,
            filter,
            signature_scheme: self
                .signature_scheme
                .or(current.map(|c| c.signature_scheme))
                .unwrap_or_default(),
            legacy_signature: self
                .legacy_signature
                .or(current.map(|c| c.legacy_signature))
                .unwrap_or(true),
            payload: self
                .payload
                .or(current.map(|c| c.payload))
                .unwrap_or_default(),
            rate_limit,
            ordering: self
                .ordering
                .or(current.map(|c| c.ordering))
                .unwrap_or_default(),
            on_exhausted: self
                .on_exhausted
                .or(current.map(|c| c.on_exhausted))
                .unwrap_or_default(),
            events_from,
        })
    }
}

fn parse_events(
    names: Vec<String>,
    unregistered: &[String],
    errors: &mut Violations,
) -> Vec<EventSelector> {
    if names.is_empty() {
        errors.add(t!("Events can't be blank"));
    }
    let mut events = Vec::with_capacity(names.len());
    let mut seen = std::collections::HashSet::new();
    for name in names {
        match name.parse::<EventSelector>() {
            // Each entry once, said once.
            Ok(event) if !seen.insert(event.clone()) => {}
            Ok(EventSelector::Custom(name)) if unregistered.contains(&name) => errors.add(t!(
                "Event {name:?} is not registered; register it with POST /event-types",
                name
            )),
            Ok(event) => events.push(event),
            Err(message) => errors.add(message),
        }
    }
    events
}

/// The most entries an endpoint's `events` may have (the catalogue and a tenant's
/// custom types fit many times over).
pub const MAX_EVENTS: usize = 100;

/// The custom event types in `input` that the tenant has not registered: each distinct
/// name checked once, all in one batch. A list longer than [`MAX_EVENTS`] is refused
/// before anything is read.
async fn unregistered(
    state: &AppState,
    tenant: &Tenant,
    input: &EndpointInput,
) -> ApiResult<Vec<String>> {
    let names = input.events.as_deref().unwrap_or_default();
    if names.len() > MAX_EVENTS {
        return Err(ApiError::invalid(t!(
            "Events can have at most {max} entries",
            max = MAX_EVENTS
        )));
    }
    let mut customs: Vec<String> = names
        .iter()
        .filter_map(|name| match name.parse::<EventSelector>() {
            Ok(EventSelector::Custom(custom)) => Some(custom),
            _ => None,
        })
        .collect();
    customs.sort();
    customs.dedup();
    if customs.is_empty() {
        return Ok(customs);
    }
    let registered = crate::store::event_types::registered(&state.db, tenant, &customs).await?;
    customs.retain(|name| !registered.contains(name));
    Ok(customs)
}

/// Gives the account its ed25519 signing key for the tenant's mode if it has none yet
/// (accounts made before `v1a` existed): before an endpoint is first set to sign with it.
async fn ensure_signing_keys(state: &AppState, tenant: &Tenant) -> ApiResult<()> {
    let account = crate::store::accounts::get(&state.db, tenant.account_id())
        .await?
        .ok_or(ApiError::NotFound("Account"))?;
    if account.signing_keys(tenant.mode()).is_some() {
        return Ok(());
    }
    let keys = SigningSecrets {
        current: crate::webhooks::signing::new_ed25519_key(),
        retired: Vec::new(),
    };
    let context = SecretContext::account_keys(tenant.account_id(), tenant.mode());
    let sealed = state.keyring.seal(&keys, &context).await?;
    let published = crate::account::published(&keys);
    // Another request may have made them meanwhile: theirs stand, and serve as well.
    match crate::store::accounts::set_signing_keys(
        &state.db,
        tenant.account_id(),
        tenant.mode(),
        None,
        &sealed,
        &published,
    )
    .await
    {
        Ok(()) | Err(crate::store::StoreError::Rejected(_)) => Ok(()),
        Err(error) => Err(error.into()),
    }
}

/// The tenant's endpoint `id`, or 404.
pub async fn find(state: &AppState, tenant: &Tenant, id: &EndpointId) -> ApiResult<Endpoint> {
    store::get(&state.db, tenant, id)
        .await?
        .ok_or(ApiError::NotFound("Endpoint"))
}

/// A new endpoint from `input`, and its signing secret (shown this once).
pub async fn create(
    state: &AppState,
    tenant: &Tenant,
    input: EndpointInput,
) -> ApiResult<(Endpoint, String)> {
    create_as(state, tenant, input, Dialect::PushGuard).await
}

/// A new endpoint from `input` created through `dialect`'s API, whose deliveries it
/// then speaks, and its signing secret (shown this once).
pub async fn create_as(
    state: &AppState,
    tenant: &Tenant,
    input: EndpointInput,
    dialect: Dialect,
) -> ApiResult<(Endpoint, String)> {
    let unregistered = unregistered(state, tenant, &input).await?;
    let fields = input.validate(None, state.config.allow_private_targets, &unregistered)?;
    let number = match dialect {
        Dialect::Pixlpay => Some(store::next_number(&state.db, tenant).await?),
        _ => None,
    };
    let now = Timestamp::now();
    let id = EndpointId::new();
    let secrets = SigningSecrets::generate();
    let sealed = state
        .keyring
        .seal(&secrets, &SecretContext::endpoint(tenant, &id))
        .await?;
    let endpoint = Endpoint {
        id,
        url: fields.url,
        description: fields.description,
        enabled: fields.enabled,
        events: fields.events,
        filter: fields.filter,
        headers: fields.headers,
        secrets: sealed,
        error_count: 0,
        error_first_at: None,
        error_last_at: None,
        blocked_by_error_count: false,
        created_at: now,
        updated_at: now,
        revision: 0,
        signature_scheme: fields.signature_scheme,
        legacy_signature: fields.legacy_signature,
        payload: fields.payload,
        rate_limit: fields.rate_limit,
        throttled: None,
        slow_since: None,
        ordering: fields.ordering,
        on_exhausted: fields.on_exhausted,
        events_from: fields.events_from,
        blocked_keys: Default::default(),
        dialect,
        number,
    };
    if endpoint.signature_scheme.asymmetric() {
        ensure_signing_keys(state, tenant).await?;
    }
    store::create(&state.db, tenant, &endpoint, state.config.max_endpoints).await?;
    Ok((endpoint, secrets.current))
}

/// Endpoint `id` with `input` applied over it.
pub async fn update(
    state: &AppState,
    tenant: &Tenant,
    id: &EndpointId,
    input: EndpointInput,
) -> ApiResult<Endpoint> {
    let before = find(state, tenant, id).await?;
    let unregistered = unregistered(state, tenant, &input).await?;
    let fields = input.validate(
        Some(&before),
        state.config.allow_private_targets,
        &unregistered,
    )?;
    let after = Endpoint {
        url: fields.url,
        events: fields.events,
        description: fields.description,
        enabled: fields.enabled,
        headers: fields.headers,
        filter: fields.filter,
        signature_scheme: fields.signature_scheme,
        legacy_signature: fields.legacy_signature,
        payload: fields.payload,
        rate_limit: fields.rate_limit,
        ordering: fields.ordering,
        on_exhausted: fields.on_exhausted,
        events_from: fields.events_from,
        updated_at: Timestamp::now(),
        revision: before.revision + 1,
        ..before.clone()
    };
    if after.signature_scheme.asymmetric() {
        ensure_signing_keys(state, tenant).await?;
    }
    store::update(&state.db, tenant, &before, &after).await?;
    Ok(after)
}

/// Enables (clearing its error streak) or disables endpoint `id`.
pub async fn set_enabled(
    state: &AppState,
    tenant: &Tenant,
    id: &EndpointId,
    enabled: bool,
) -> ApiResult<Endpoint> {
    store::set_enabled(&state.db, tenant, id, enabled, Timestamp::now())
        .await?
        .ok_or(ApiError::NotFound("Endpoint"))
}

/// Every endpoint of the tenant (its quota keeps them few).
pub async fn all(state: &AppState, tenant: &Tenant) -> ApiResult<Vec<Endpoint>> {
    Ok(store::all(&state.db, tenant).await?)
}

/// Deletes `endpoint`, if it is still as read (409 if it changed meanwhile).
pub async fn delete(state: &AppState, tenant: &Tenant, endpoint: &Endpoint) -> ApiResult<()> {
    Ok(store::delete(&state.db, tenant, endpoint).await?)
}

/// The secret that signs deliveries to `endpoint` now, opened: for the APIs whose
/// answers show it (the Key/Sign channel object).
pub async fn current_secret(
    state: &AppState,
    tenant: &Tenant,
    endpoint: &Endpoint,
) -> ApiResult<String> {
    let context = SecretContext::endpoint(tenant, &endpoint.id);
    Ok(state
        .keyring
        .open(&endpoint.secrets, &context)
        .await?
        .current)
}

/// A new signing secret for endpoint `id` (returned, shown once); the old one keeps
/// signing beside it for `grace`.
pub async fn rotate_secret(
    state: &AppState,
    tenant: &Tenant,
    id: &EndpointId,
    grace: Duration,
) -> ApiResult<String> {
    let endpoint = find(state, tenant, id).await?;
    let now = Timestamp::now();
    let context = SecretContext::endpoint(tenant, &endpoint.id);
    let mut secrets = state.keyring.open(&endpoint.secrets, &context).await?;
    secrets.rotate(now, grace);
    let sealed = state.keyring.seal(&secrets, &context).await?;
    store::set_secrets(&state.db, tenant, &endpoint, &sealed, now).await?;
    Ok(secrets.current)
}

/// Sends a `webhook:ping` to endpoint `id` now (enabled or not), logged like any
/// delivery, and answers with its log. Takes a token of the tenant's outbound bucket.
pub async fn test(state: &AppState, tenant: &Tenant, id: &EndpointId) -> ApiResult<WebhookLog> {
    state.outbound_permit(tenant).await?;
    let endpoint = find(state, tenant, id).await?;
    let pinged = dispatch::deliver_once(
        &state.engine(),
        tenant,
        &Target::Endpoint(Box::new(endpoint)),
        EventType::WebhookPing.as_str(),
        samples::payload(EventType::WebhookPing),
    )
    .await;
    Ok(pinged?)
}

/// `since` as a recovery accepts it: an RFC 3339 time, not in the future.
pub fn recovery_start(since: Option<&str>) -> ApiResult<Timestamp> {
    match since.map(Timestamp::parse) {
        Some(Some(since)) if since <= Timestamp::now() => Ok(since),
        Some(Some(_)) => Err(ApiError::invalid(t!("Since must not be in the future"))),
        Some(None) => Err(ApiError::invalid(t!("Since must be an RFC 3339 timestamp"))),
        None => Err(ApiError::invalid(t!("Since can't be blank"))),
    }
}

/// Re-sends, through the queue, every failed delivery to endpoint `id` created since
/// `since` (at most [`MAX_RECOVER`]); answers how many go out again.
pub async fn recover(
    state: &AppState,
    tenant: &Tenant,
    id: &EndpointId,
    since: Timestamp,
) -> ApiResult<u32> {
    state.outbound_permit(tenant).await?;
    let endpoint = find(state, tenant, id).await?;
    let filter = LogFilter {
        endpoint_id: Some(endpoint.id.to_string()),
        status: Some(LogStatus::Failed),
        since: Some(since),
        ..LogFilter::default()
    };
    let failed = logs::all(
        &state.db,
        tenant,
        &filter,
        state.config.retention_days,
        MAX_RECOVER,
    )
    .await?;
    let mut recovered = 0;
    for log in failed {
        let sweep_at = Timestamp::now().plus(state.config.delivery.retry_sweep_grace);
        if logs::requeue(&state.db, tenant, &log, sweep_at).await? {
            // A lost message is swept by the scheduler at sweep_at.
            if let Err(error) = state.queues.retry(tenant, &log.id, Duration::ZERO).await {
                tracing::warn!(log = %log.id, %error, "recovered delivery not queued; the scheduler will sweep it");
            }
            recovered += 1;
        }
    }
    Ok(recovered)
}

/// Delivers `id` again now, whatever its status; answers with the log after it.
pub async fn retry(state: &AppState, tenant: &Tenant, id: &LogId) -> ApiResult<WebhookLog> {
    state.outbound_permit(tenant).await?;
    let log = logs::get(&state.db, tenant, id)
        .await?
        .ok_or(ApiError::NotFound("Webhook log"))?;
    let stats = crate::webhooks::stats::Recorder::default();
    let how = dispatch::Attempting::now();
    let engine = state.engine();
    let log = dispatch::deliver_again(&engine, tenant, log, how, &stats).await;
    dispatch::write_stats(&engine, &stats).await;
    Ok(log?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn messages<T>(result: ApiResult<T>) -> Vec<String> {
        match result {
            Err(ApiError::Validation(errors)) => errors,
            Err(other) => panic!("expected validation errors, got {other:?}"),
            Ok(_) => panic!("expected validation errors, got success"),
        }
    }

    #[test]
    fn create_reports_every_missing_field_at_once() {
        let errors = messages(EndpointInput::default().validate(None, false, &[]));
        assert_eq!(errors, vec!["Url can't be blank", "Events can't be blank"]);
    }

    #[test]
    fn unknown_events_and_bad_headers_are_listed() {
        let input = EndpointInput {
            url: Some("http://example.com".into()),
            events: Some(vec![
                "order:paid".into(),
                "Order Shipped".into(),
                "invoice:sent".into(),
            ]),
            headers: Some(Some([("Content-Type".to_string(), "x".to_string())].into())),
            ..Default::default()
        };
        let errors = messages(input.validate(None, false, &["invoice:sent".to_string()]));
        assert_eq!(errors.len(), 4, "{errors:?}");
        assert!(errors[2].contains("not registered"), "{errors:?}");
        assert_eq!(errors[0], "Url must use https");
    }

    #[test]
    fn duplicate_events_are_kept_once_and_enabled_defaults_to_true() {
        let input = EndpointInput {
            url: Some("https://example.com/hook".into()),
            events: Some(vec!["order:paid".into(), "order:paid".into(), "*".into()]),
            ..Default::default()
        };
        let fields = input.validate(None, false, &[]).unwrap();
        assert_eq!(fields.events.len(), 2);
        assert!(fields.enabled);
    }

    #[test]
    fn a_recovery_starts_at_a_past_rfc3339_time() {
        assert!(recovery_start(Some("2026-01-01T00:00:00Z")).is_ok());
        for bad in [None, Some("yesterday"), Some("2999-01-01T00:00:00Z")] {
            assert_eq!(messages(recovery_start(bad)).len(), 1, "{bad:?}");
        }
    }
}
