use super::{CustomHeaders, Dialect, EventSelector, WebhookUrl};
use crate::{Timestamp, ids::EndpointId, keyring::SealedSecrets};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// A merchant's webhook endpoint, as stored.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Endpoint {
    pub id: EndpointId,
    pub url: WebhookUrl,
    pub description: Option<String>,
    pub enabled: bool,
    pub events: Vec<EventSelector>,
    pub filter: Option<String>,
    pub headers: CustomHeaders,
    /// Sealed under the KMS key; the dispatcher opens them to sign.
    pub secrets: SealedSecrets,
    pub error_count: u32,
    // Absent rather than null when unset, so failure counting can use if_not_exists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_first_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_last_at: Option<Timestamp>,
    pub blocked_by_error_count: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// Bumped by every client change; guards read-modify-write updates.
    pub revision: u64,
    #[serde(default)]
    pub signature_scheme: SignatureScheme,
    /// Whether its deliveries carry the seed's `X-PushGuard-Signature` (HMAC-SHA512 of
    /// the body alone: no timestamp, so anyone who sees one delivery can replay it).
    /// On by default, for receivers written for the seed; off once the receiver checks
    /// `webhook-signature`.
    #[serde(default = "on")]
    pub legacy_signature: bool,
    #[serde(default)]
    pub payload: PayloadShape,
    /// At most this many deliveries per second; beyond it deliveries wait their turn.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<u32>,
    /// Set while the dispatcher paces the endpoint because its receiver pushed back
    /// (429, 503, timeouts): every dispatcher then paces it, at the rate its pace item
    /// holds (`delivery::pacing`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub throttled: Option<Throttled>,
    /// Since when its receiver is known to be slow (it left a delivery unanswered
    /// past `SLOW_RECEIVER_MS`): its deliveries go through the slow queue, so they never
    /// hold a dispatcher that other tenants' deliveries wait for (`delivery::dispatch`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slow_since: Option<Timestamp>,
    /// `resource`: the events of one resource reach it one at a time, in commit order.
    #[serde(default)]
    pub ordering: DeliveryOrder,
    /// With ordering, what a delivery that exhausts its retries does to the next one of
    /// its resource.
    #[serde(default)]
    pub on_exhausted: OnExhausted,
    /// The ordering keys held by a delivery that exhausted its retries (`block`): a
    /// string set the dispatcher adds to and removes from, never written whole.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub blocked_keys: BTreeSet<String>,
    /// The API it was created through, which decides how its deliveries look.
    #[serde(default)]
    pub dialect: Dialect,
    /// Its number among the tenant's endpoints, for dialects whose ids are integers
    /// (Pixlpay): given once, never reused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number: Option<u64>,
    /// Whose events it receives: its own account's (`self`, the default) and, for a
    /// holding account, its child accounts' (`children`).
    #[serde(default = "own_events")]
    pub events_from: Vec<EventSource>,
}

fn on() -> bool {
    true
}

pub fn own_events() -> Vec<EventSource> {
    vec![EventSource::Own]
}

/// An account whose events an endpoint receives.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema,
)]
pub enum EventSource {
    /// The endpoint's own account.
    #[serde(rename = "self")]
    Own,
    /// Its child accounts (`POST /account/children`); each delivery names the child in
    /// `X-PushGuard-Account`.
    #[serde(rename = "children")]
    Children,
}

/// Whether an endpoint receives the events of one resource in order.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryOrder {
    /// As they come, concurrently (the default: fastest).
    #[default]
    None,
    /// Per resource (the payload's `id`, or a published event's `ordering_key`): one at
    /// a time, in commit order; other resources are not held back.
    Resource,
}

/// What an ordered endpoint does when a delivery exhausts its retries.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum OnExhausted {
    /// The next event of that resource goes (the failed one stays failed, retryable).
    #[default]
    Skip,
    /// The resource waits until the delivery is retried successfully or unblocked.
    Block,
}

impl DeliveryOrder {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryOrder::None => "none",
            DeliveryOrder::Resource => "resource",
        }
    }
}

impl OnExhausted {
    pub fn as_str(self) -> &'static str {
        match self {
            OnExhausted::Skip => "skip",
            OnExhausted::Block => "block",
        }
    }
}

/// Why and since when the dispatcher paces an endpoint below its `rate_limit`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Throttled {
    /// `429`, `503` or `timeout`: what the receiver last did that slowed it down.
    pub reason: String,
    pub since: Timestamp,
}

/// How deliveries to an endpoint are signed (`webhook-signature`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum SignatureScheme {
    /// HMAC-SHA256 with the endpoint's secret (`v1,`): the receiver holds the secret.
    #[default]
    V1,
    /// ed25519 with the account's signing key (`v1a,`): the receiver holds only the
    /// account's public key.
    V1a,
    /// Both, `v1` entries first: for receivers moving from one to the other.
    Both,
}

impl SignatureScheme {
    pub fn hmac(self) -> bool {
        self != SignatureScheme::V1a
    }

    pub fn asymmetric(self) -> bool {
        self != SignatureScheme::V1
    }

    pub fn as_str(self) -> &'static str {
        match self {
            SignatureScheme::V1 => "v1",
            SignatureScheme::V1a => "v1a",
            SignatureScheme::Both => "both",
        }
    }
}

/// What a delivery's body carries.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum PayloadShape {
    /// The event's object, as it was when the event happened.
    #[default]
    Full,
    /// `{id, type, created_at, resource: {type, id}}`: the receiver fetches the object
    /// as it is now, with its own key.
    Thin,
}

impl PayloadShape {
    pub fn as_str(self) -> &'static str {
        match self {
            PayloadShape::Full => "full",
            PayloadShape::Thin => "thin",
        }
    }
}

/// An endpoint as the API shows it: credentials in the URL masked, the secret only
/// when the route hands it out (create).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EndpointView<'a> {
    pub id: &'a str,
    pub url: String,
    pub description: Option<&'a str>,
    pub enabled: bool,
    pub events: &'a [EventSelector],
    pub filter: Option<&'a str>,
    /// Names and `****` for every value (send `****` back to keep a value).
    pub headers: BTreeMap<&'a str, &'static str>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub error_count: u32,
    pub error_first_at: Option<Timestamp>,
    pub error_last_at: Option<Timestamp>,
    pub blocked_by_error_count: bool,
    /// `v1` (HMAC, default), `v1a` (ed25519) or `both`.
    pub signature_scheme: SignatureScheme,
    /// Whether deliveries also carry `X-PushGuard-Signature` (body only, replayable;
    /// default `true`, for receivers written for it).
    pub legacy_signature: bool,
    /// `full` (default) or `thin`.
    pub payload: PayloadShape,
    /// Deliveries per second at most (`null`: no limit of its own).
    pub rate_limit: Option<u32>,
    /// The rate the dispatcher sends at now, when it paces the endpoint (its
    /// `rate_limit`, or lower while the receiver pushes back), else `null`.
    pub current_rate: Option<f64>,
    /// Why it is below `rate_limit`: `429`, `503` or `timeout`; `null` when it is not.
    pub rate_reason: Option<&'a str>,
    /// Since when its receiver has been too slow for the shared dispatchers (it took
    /// longer than `SLOW_RECEIVER_MS` to answer): its deliveries go through the slow
    /// queue until it answers quickly again; `null` when it is not.
    pub slow_since: Option<Timestamp>,
    /// `none` (default) or `resource`: each resource's events one at a time, in order.
    pub ordering: DeliveryOrder,
    /// `skip` (default) or `block`: whether a delivery that exhausted its retries holds
    /// the next one of its resource.
    pub on_exhausted: OnExhausted,
    /// The resources (ordering keys) held by an exhausted delivery; release one with
    /// a successful retry or `POST .../unblock`.
    pub blocked_resources: Vec<&'a str>,
    /// The API it was created through, which decides how its deliveries look:
    /// `pushguard`, `conekta`, `paybyrd`, `pixlpay` or `keysign`.
    pub dialect: Dialect,
    /// Whose events it receives: `self` (its account's, the default) and `children`
    /// (its child accounts').
    pub events_from: &'a [EventSource],
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<&'a str>,
}

impl Endpoint {
    /// Whether this endpoint should receive an event of `event_type` about `payload`,
    /// committed by its own account or (`from_child`) a child of it. Filters come
    /// parsed from `rules`; one that no longer parses matches nothing.
    pub fn wants(
        &self,
        event_type: &str,
        payload: &serde_json::Value,
        from_child: bool,
        rules: &crate::rules::RuleCache,
    ) -> bool {
        let source = if from_child {
            EventSource::Children
        } else {
            EventSource::Own
        };
        self.enabled
            && self.events_from.contains(&source)
            && self
                .events
                .iter()
                .any(|selector| selector.matches_name(event_type))
            && self
                .filter
                .as_deref()
                .is_none_or(|text| rules.get(text).is_some_and(|rule| rule.evaluate(payload)))
    }

    /// The public view, without the secret.
    pub fn view(&self) -> EndpointView<'_> {
        EndpointView {
            id: &self.id,
            url: self.url.masked(),
            description: self.description.as_deref(),
            enabled: self.enabled,
            events: &self.events,
            filter: self.filter.as_deref(),
            headers: self.headers.masked(),
            created_at: self.created_at,
            updated_at: self.updated_at,
            error_count: self.error_count,
            error_first_at: self.error_first_at,
            error_last_at: self.error_last_at,
            blocked_by_error_count: self.blocked_by_error_count,
            signature_scheme: self.signature_scheme,
            legacy_signature: self.legacy_signature,
            payload: self.payload,
            rate_limit: self.rate_limit,
            current_rate: self.rate_limit.map(f64::from),
            rate_reason: self.throttled.as_ref().map(|t| t.reason.as_str()),
            slow_since: self.slow_since,
            ordering: self.ordering,
            on_exhausted: self.on_exhausted,
            blocked_resources: self.blocked_keys.iter().map(String::as_str).collect(),
            dialect: self.dialect,
            events_from: &self.events_from,
            secret: None,
        }
    }

    /// The view with its current secret: only for the create response, which made it.
    pub fn view_with_secret<'a>(&'a self, secret: &'a str) -> EndpointView<'a> {
        EndpointView {
            secret: Some(secret),
            ..self.view()
        }
    }
}
