//! A typed client for the API, as a merchant's code would hold it: one call per
//! operation, answers as types, and the expected status checked (with the body shown
//! when it differs). Every call goes through the published Rust client
//! (`pushguard_client`, `clients/rust`): its authentication, URLs and JSON. Tests that are about a status or a raw body use `TestStack`'s
//! request helpers instead.
//!
//! The types are the client's own, read from the JSON a client receives: a field the
//! API stops sending fails here, whatever the server's types say.

use crate::TestStack;
use reqwest::Method;
use serde::{Deserialize, de::DeserializeOwned};
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// The API with one key.
#[derive(Clone, Copy)]
pub struct Api<'a> {
    stack: &'a TestStack,
    key: &'a str,
}

impl TestStack {
    /// The API as the holder of `key` calls it.
    pub fn api<'a>(&'a self, key: &'a str) -> Api<'a> {
        Api { stack: self, key }
    }
}

impl<'a> Api<'a> {
    /// `method path` with `body` through the published client (`clients/rust`, one try,
    /// no Idempotency-Key), asserting `status`; the answer's JSON (Null if empty).
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        status: u16,
    ) -> Value {
        let answer = self
            .stack
            .client(self.key)
            .send_raw(method.as_str(), path, body.as_ref())
            .await
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        assert_eq!(
            answer.status, status,
            "unexpected status; body: {}",
            answer.body
        );
        answer.body
    }

    async fn typed<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        status: u16,
    ) -> T {
        let answer = self.call(method, path, body, status).await;
        serde_json::from_value(answer.clone())
            .unwrap_or_else(|e| panic!("{path} answered what a client cannot read ({e}): {answer}"))
    }

    pub fn endpoints(&self) -> Collection<'a, Endpoint> {
        Collection::new(*self, "/webhooks/endpoints")
    }

    pub fn logs(&self) -> Collection<'a, Log> {
        Collection::new(*self, "/webhooks/logs")
    }

    pub fn account(&self) -> Account<'a> {
        Account(*self)
    }

    pub fn events(&self) -> Collection<'a, Event> {
        Collection::new(*self, "/events")
    }

    pub fn products(&self) -> Collection<'a, Product> {
        Collection::new(*self, "/products")
    }

    pub fn categories(&self) -> Collection<'a, Category> {
        Collection::new(*self, "/categories")
    }

    pub fn blacklists(&self) -> Collection<'a, Blacklist> {
        Collection::new(*self, "/blacklists")
    }

    pub fn blacklist_rules(&self) -> Collection<'a, BlacklistRule> {
        Collection::new(*self, "/blacklist-rules")
    }

    pub fn feedback(&self) -> Collection<'a, Feedback> {
        Collection::new(*self, "/feedback")
    }

    pub fn queries(&self) -> Collection<'a, Query> {
        Collection::new(*self, "/queries")
    }

    pub fn orders(&self) -> Collection<'a, Order> {
        Collection::new(*self, "/orders")
    }

    pub fn payments(&self) -> Payments<'a> {
        Payments(*self)
    }
}

/// An endpoint as the API shows it.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct Endpoint {
    pub id: String,
    pub url: String,
    pub description: Option<String>,
    pub enabled: bool,
    pub events: Vec<String>,
    pub filter: Option<String>,
    pub headers: BTreeMap<String, String>,
    pub error_count: u32,
    /// When the current streak of failures began, and its latest failure.
    pub error_first_at: Option<String>,
    pub error_last_at: Option<String>,
    pub blocked_by_error_count: bool,
    pub created_at: String,
    pub updated_at: String,
    pub signature_scheme: String,
    pub payload: String,
    pub rate_limit: Option<u32>,
    pub current_rate: Option<f64>,
    pub rate_reason: Option<String>,
    /// Since when its receiver is known to be slow (its deliveries use the slow queue).
    pub slow_since: Option<String>,
    pub ordering: String,
    pub on_exhausted: String,
    pub blocked_resources: Vec<String>,
    /// Shown when the endpoint is created, never after.
    pub secret: Option<String>,
}

impl Endpoint {
    /// The signing secret the create call showed.
    pub fn secret(&self) -> &str {
        self.secret
            .as_deref()
            .expect("the secret is shown once, on create")
    }
}

/// What `/test` and `/webhooks/simulate` answer.
#[derive(Clone, Debug, Deserialize)]
pub struct TestResult {
    pub delivered: bool,
    pub response_code: u16,
    pub response_time_ms: u64,
    pub log_id: String,
}

/// Attempts, outcomes and latency over a bucket or a period (`/stats`).
#[derive(Clone, Debug, Deserialize)]
pub struct Tally {
    pub attempts: u64,
    pub succeeded: u64,
    pub failed: u64,
    pub failures: BTreeMap<String, u64>,
    pub success_rate: Option<f64>,
    pub latency_ms: Latency,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Latency {
    pub p50: Option<f64>,
    pub p95: Option<f64>,
    pub p99: Option<f64>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct StatsBucket {
    pub start: String,
    #[serde(flatten)]
    pub tally: Tally,
}

/// `GET /webhooks/endpoints/{id}/stats`.
#[derive(Clone, Debug, Deserialize)]
pub struct Stats {
    pub endpoint_id: String,
    pub period: String,
    pub granularity: String,
    pub from: String,
    pub totals: Tally,
    pub buckets: Vec<StatsBucket>,
}

impl Collection<'_, Endpoint> {
    /// Its delivery statistics over `period` (`24h`, `7d`, `30d`).
    pub async fn stats(&self, id: &str, period: &str) -> Stats {
        let path = format!("{}/{id}/stats?period={period}", self.base);
        self.api.typed(Method::GET, &path, None, 200).await
    }

    /// An endpoint at `url` for `events`, nothing else set.
    pub async fn create_to(&self, url: &str, events: &[&str]) -> Endpoint {
        self.create(json!({ "url": url, "events": events })).await
    }

    pub async fn enable(&self, id: &str) -> Endpoint {
        let path = format!("{}/{id}/enable", self.base);
        self.api.typed(Method::POST, &path, None, 200).await
    }

    pub async fn disable(&self, id: &str) -> Endpoint {
        let path = format!("{}/{id}/disable", self.base);
        self.api.typed(Method::POST, &path, None, 200).await
    }

    /// A ping sent now.
    pub async fn test(&self, id: &str) -> TestResult {
        let path = format!("{}/{id}/test", self.base);
        self.api.typed(Method::POST, &path, None, 200).await
    }

    /// A new signing secret, the old one still signing for `grace_seconds` → the new one.
    pub async fn rotate_secret(&self, id: &str, grace_seconds: u64) -> String {
        let path = format!("{}/{id}/rotate-secret", self.base);
        let body = json!({ "grace_period_seconds": grace_seconds });
        let answer = self.api.call(Method::POST, &path, Some(body), 200).await;
        answer["secret"]
            .as_str()
            .expect("the new secret is shown")
            .to_string()
    }

    /// Lets the deliveries held behind `ordering_key`'s failed one go (that one stays
    /// failed) → the endpoint after that.
    pub async fn unblock(&self, id: &str, ordering_key: &str) -> Endpoint {
        let path = format!("{}/{id}/unblock", self.base);
        let body = json!({ "ordering_key": ordering_key });
        self.api.typed(Method::POST, &path, Some(body), 200).await
    }

    /// Re-sends its deliveries that failed since `since` → how many (202).
    pub async fn recover(&self, id: &str, since: &str) -> u64 {
        let path = format!("{}/{id}/recover", self.base);
        let body = json!({ "since": since });
        let answer = self.api.call(Method::POST, &path, Some(body), 202).await;
        answer["recovered"]
            .as_u64()
            .expect("how many were recovered")
    }
}

/// A delivery as `/webhooks/logs` shows it.
#[derive(Clone, Debug, Deserialize)]
pub struct Log {
    pub id: String,
    pub endpoint_id: Option<String>,
    pub url: String,
    pub event: String,
    pub event_id: Option<String>,
    pub payload: Value,
    pub status: String,
    pub response_code: u16,
    pub response: Option<String>,
    pub response_headers: BTreeMap<String, String>,
    pub duration_ms: u64,
    pub retries: u32,
    pub retry_limit: u32,
    pub next_retry_at: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    /// The latest attempt's headers as sent (the endpoint's own values masked).
    pub request_headers: BTreeMap<String, String>,
    pub history: Vec<LoggedAttempt>,
    /// For an endpoint with ordered delivery: the resource (or the published
    /// `ordering_key`) whose events it is ordered among, and its number among them.
    pub ordering_key: Option<String>,
    pub sequence: Option<u64>,
}

/// One attempt in a log's `history`.
#[derive(Clone, Debug, Deserialize)]
pub struct LoggedAttempt {
    pub at: String,
    pub response_code: u16,
    pub duration_ms: u64,
    pub failure: Option<String>,
}

impl Collection<'_, Log> {
    /// Delivers again now → the log after that attempt.
    pub async fn retry(&self, id: &str) -> Log {
        let path = format!("{}/{id}/retry", self.base);
        self.api.typed(Method::POST, &path, None, 200).await
    }
}

/// An event as `/events` shows it.
#[derive(Clone, Debug, Deserialize)]
pub struct Event {
    pub id: String,
    #[serde(rename = "type")]
    pub event_type: String,
    pub payload: Value,
    /// `pending` until every subscribed endpoint has its delivery, then `dispatched`.
    pub status: String,
    pub replays: u32,
    pub created_at: String,
    pub dispatched_at: Option<String>,
    pub ordering_key: Option<String>,
    pub sequence: Option<u64>,
}

impl Collection<'_, Event> {
    /// Publishes an event of a registered custom type → 202.
    pub async fn publish(&self, event_type: &str, payload: Value) -> Event {
        let body = json!({ "type": event_type, "payload": payload });
        self.api
            .typed(Method::POST, self.base, Some(body), 202)
            .await
    }

    /// Publishes one delivered in order among the events of `ordering_key` → 202.
    pub async fn publish_in_order(
        &self,
        event_type: &str,
        ordering_key: &str,
        payload: Value,
    ) -> Event {
        let body = json!({ "type": event_type, "ordering_key": ordering_key, "payload": payload });
        self.api
            .typed(Method::POST, self.base, Some(body), 202)
            .await
    }

    /// Dispatches it again to the endpoints subscribed now → 202.
    pub async fn replay(&self, id: &str) -> Event {
        let path = format!("{}/{id}/replay", self.base);
        let api = self.api;
        api.typed(Method::POST, &path, Some(json!({})), 202).await
    }
}

/// A collection of the API's: `POST base`, `GET base?query`, and `GET`, `PUT`,
/// `DELETE base/{id}` (a collection without one of these answers 405), plus what a
/// type's own `impl Collection<'_, T>` adds.
pub struct Collection<'a, T> {
    api: Api<'a>,
    base: &'static str,
    item: std::marker::PhantomData<fn() -> T>,
}

impl<T> Clone for Collection<'_, T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for Collection<'_, T> {}

impl<'a, T: DeserializeOwned> Collection<'a, T> {
    fn new(api: Api<'a>, base: &'static str) -> Self {
        Collection {
            api,
            base,
            item: std::marker::PhantomData,
        }
    }

    /// `POST` with `body` (any fields, checked by the API) → 201.
    pub async fn create(&self, body: Value) -> T {
        let api = self.api;
        api.typed(Method::POST, self.base, Some(body), 201).await
    }

    pub async fn get(&self, id: &str) -> T {
        let path = format!("{}/{id}", self.base);
        self.api.typed(Method::GET, &path, None, 200).await
    }

    /// `GET` of `id` → `None` if it is not there (404), as a delivery's log is until
    /// its first attempt is recorded.
    pub async fn find(&self, id: &str) -> Option<T> {
        let path = format!("{}/{id}", self.base);
        let answer = self
            .api
            .stack
            .client(self.api.key)
            .send_raw("GET", &path, None)
            .await
            .unwrap_or_else(|e| panic!("GET {path}: {e}"));
        match answer.status {
            404 => None,
            200 => Some(
                serde_json::from_value(answer.body.clone()).unwrap_or_else(|e| {
                    panic!(
                        "{path} answered what a client cannot read ({e}): {}",
                        answer.body
                    )
                }),
            ),
            other => panic!(
                "GET {path}: unexpected status {other}; body: {}",
                answer.body
            ),
        }
    }

    /// `PUT` with `changes` → the item after them.
    pub async fn update(&self, id: &str, changes: Value) -> T {
        let path = format!("{}/{id}", self.base);
        self.api.typed(Method::PUT, &path, Some(changes), 200).await
    }

    /// The first page of what `query` (`per_page=2&page=2`, or empty) keeps.
    pub async fn list(&self, query: &str) -> Vec<T> {
        let path = format!("{}?{query}", self.base);
        self.api.typed(Method::GET, &path, None, 200).await
    }

    pub async fn delete(&self, id: &str) {
        let path = format!("{}/{id}", self.base);
        self.api.call(Method::DELETE, &path, None, 204).await;
    }
}

/// A product as the API shows it (the fields a storefront reads).
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct Product {
    pub id: String,
    pub title: String,
    pub description: Option<String>,
    /// A decimal string, as entered (`"12.5"` stays `"12.5"`).
    pub price: String,
    pub currency: String,
    /// `None`: unlimited (`"∞"`).
    #[serde(deserialize_with = "stock")]
    pub stock: Option<u64>,
    /// 1 file, 2 serials (one per unit sold, from `info`), 3 service, 4 dynamic.
    pub product_type: u8,
    pub gateways: Vec<String>,
    pub info: Option<String>,
    pub webhook_url: Option<String>,
    pub custom: Value,
    pub created_at: String,
    pub updated_at: String,
}

fn stock<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<u64>, D::Error> {
    match Value::deserialize(deserializer)? {
        Value::String(s) if s == "∞" => Ok(None),
        other => serde_json::from_value(other)
            .map(Some)
            .map_err(serde::de::Error::custom),
    }
}

/// A category as the API shows it.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct Category {
    pub id: String,
    pub title: String,
    pub product_ids: Vec<String>,
    pub unlisted: bool,
    pub image: Value,
    pub created_at: String,
    pub updated_at: String,
}

/// A blacklist entry: `blacklist_type` 1 email, 2 IP or CIDR range, 3 country.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct Blacklist {
    pub id: String,
    pub blacklist_type: u8,
    /// As stored: emails lower-cased, countries upper-cased.
    pub blocked_data: String,
    pub note: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

/// A blacklist rule, evaluated by `priority` (lowest first).
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct BlacklistRule {
    pub id: String,
    pub name: String,
    pub rule: String,
    /// `block`, `allow` or `flag`.
    pub action_type: String,
    pub priority: u32,
    pub enabled: bool,
    pub created_at: String,
    pub updated_at: String,
}

/// A customer's feedback on an order (one per order).
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct Feedback {
    pub id: String,
    pub order_id: String,
    pub product_id: String,
    pub message: String,
    pub score: u8,
    /// `positive`, `neutral` or `negative`, from the score.
    pub feedback: String,
    pub reply: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

/// A customer's query and its thread.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct Query {
    pub id: String,
    pub title: String,
    /// Lower-cased.
    pub email: String,
    pub order_id: Option<String>,
    /// `pending`, `answered` or `closed`.
    pub status: String,
    pub messages: Vec<QueryMessage>,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct QueryMessage {
    /// `customer` or `merchant`.
    pub role: String,
    pub message: String,
    pub created_at: String,
}

impl Collection<'_, Query> {
    /// The merchant's reply → the query after it (`answered`).
    pub async fn reply(&self, id: &str, message: &str) -> Query {
        let path = format!("{}/{id}/reply", self.base);
        let body = json!({ "message": message });
        self.api.typed(Method::POST, &path, Some(body), 200).await
    }
}

/// An order as the API shows it (the fields a merchant's back office reads).
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct Order {
    pub id: String,
    pub title: String,
    /// The product's id, or `pay` for a payment without one.
    pub product_id: String,
    pub product_title: Option<String>,
    pub email: Option<String>,
    /// A decimal string: the unit price times the quantity.
    pub value: String,
    pub usd_value: Option<String>,
    pub quantity: u32,
    pub currency: String,
    pub gateway: String,
    /// 0 to 100 (`shared::commerce::risk`).
    pub risk_level: u32,
    /// 0 not paid, 100 paid, 56 refunded, ... (the seed's codes).
    pub status: u16,
    /// The serials sold, one per line, or what a dynamic product's `dynamic_url` answered.
    pub delivered: Option<String>,
    /// A dynamic product's call to its `dynamic_url` (a webhook log).
    pub delivery_log_id: Option<String>,
    pub custom: Value,
    pub white_label: bool,
    pub paid_at: Option<String>,
    pub cancelled_at: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    /// The hosted payment page (white-label payments show it with the order).
    pub url: Option<String>,
}

impl Collection<'_, Order> {
    /// Moves it to `status` (100 pays it) → the order after that.
    pub async fn set_status(&self, id: &str, status: u16) -> Order {
        self.update(id, json!({ "status": status })).await
    }
}

/// `/payments`.
#[derive(Clone, Copy)]
pub struct Payments<'a>(Api<'a>);

impl Payments<'_> {
    /// A white-label payment (`"white_label": true` in `body`) → its order (201).
    pub async fn create_white_label(&self, body: Value) -> Order {
        let api = self.0;
        api.typed(Method::POST, "/payments", Some(body), 201).await
    }

    /// Cancels the payment of an unpaid order (again: harmless) → 204.
    pub async fn cancel(&self, id: &str) {
        let path = format!("/payments/{id}");
        self.0.call(Method::DELETE, &path, None, 204).await;
    }
}

/// `/account`.
#[derive(Clone, Copy)]
pub struct Account<'a>(Api<'a>);

/// A key as created: the secret is shown this once.
#[derive(Clone, Debug, Deserialize)]
pub struct NewKey {
    pub id: String,
    pub key: String,
    pub name: String,
    pub mode: String,
    pub scopes: Vec<String>,
    pub require_signed: bool,
    /// Shown once, for a key that must sign its requests.
    pub signing_secret: Option<String>,
}

/// `GET /account`: whose key this is.
#[derive(Clone, Debug, Deserialize)]
pub struct AccountInfo {
    pub id: String,
    pub email: String,
    /// The mode of the key used: `live` or `test`.
    pub mode: String,
    pub key: KeyInfo,
}

/// The key a request was made with.
#[derive(Clone, Debug, Deserialize)]
pub struct KeyInfo {
    pub id: String,
    pub scopes: Vec<String>,
}

/// A key as `/account/keys` lists it: never its secret.
#[derive(Clone, Debug, Deserialize)]
pub struct Key {
    pub id: String,
    pub name: String,
    pub mode: String,
    pub scopes: Vec<String>,
    pub require_signed: bool,
    /// Enough of the key to recognise it (`pg_test_…abcd`).
    pub redacted: String,
    pub created_at: String,
}

impl Account<'_> {
    pub async fn get(&self) -> AccountInfo {
        self.0.typed(Method::GET, "/account", None, 200).await
    }

    /// The keys this key may manage (a test key sees test keys only).
    pub async fn keys(&self) -> Vec<Key> {
        self.0.typed(Method::GET, "/account/keys", None, 200).await
    }

    /// A new secret for key `id`; the current one keeps working for `expires_in`
    /// seconds (`None`: the API's default) → the key with its new secret.
    pub async fn roll_key(&self, id: &str, expires_in: Option<u64>) -> NewKey {
        let path = format!("/account/keys/{id}/roll");
        let body = match expires_in {
            Some(seconds) => json!({ "expires_in": seconds }),
            None => json!({}),
        };
        self.0.typed(Method::POST, &path, Some(body), 200).await
    }

    /// Revokes key `id`, every version of it → 204.
    pub async fn revoke_key(&self, id: &str) {
        let path = format!("/account/keys/{id}");
        self.0.call(Method::DELETE, &path, None, 204).await;
    }

    /// A new account webhook secret, the old one ending now → the new secret.
    pub async fn rotate_webhook_secret(&self) -> String {
        let body = json!({ "grace_period_seconds": 0 });
        let path = "/account/webhook-secret/rotate";
        let answer = self.0.call(Method::POST, path, Some(body), 200).await;
        answer["secret"]
            .as_str()
            .expect("the rotated secret is shown")
            .to_string()
    }

    /// A new API key (`name`, `scopes`, `mode`, ...) → 201.
    pub async fn create_key(&self, body: Value) -> NewKey {
        let api = self.0;
        api.typed(Method::POST, "/account/keys", Some(body), 201)
            .await
    }
}
