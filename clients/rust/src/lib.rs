//! PushGuard's API from Rust.
//!
//! ```no_run
//! # async fn example() -> Result<(), pushguard_client::Error> {
//! use pushguard_client::{Client, ClientOptions};
//! use serde_json::json;
//!
//! let client = Client::new(ClientOptions::new("api key").email("you@example.com"))?;
//! let orders = client.orders().list(&json!({ "page": 10, "per_page": 50 })).await?;
//! for order in &orders {
//!     println!("{} {:?}", order.id, order.status);
//! }
//! client
//!     .webhooks()
//!     .endpoints()
//!     .create(&json!({ "url": "https://example.com/hooks", "events": ["order:paid"] }))
//!     .await?;
//! # Ok(()) }
//! ```
//!
//! Every operation of the API is a method of its resource, its answer typed (`generated.rs`,
//! generated from the OpenAPI document by `pushguard clients`; a test fails when the two
//! differ). Each call retries 429, 502-504 and connection failures (honouring
//! `Retry-After`), sends an `Idempotency-Key` with every POST (the same on its retries),
//! and answers the API's errors as [`Error::Api`]. [`webhooks`] checks deliveries.

#[rustfmt::skip] // as `pushguard clients` writes it; a test compares the two
mod generated;
pub mod webhooks;

pub use generated::*;

use serde::{Serialize, de::DeserializeOwned};
use std::{sync::Arc, time::Duration};

/// The default API.
pub const DEFAULT_API_BASE: &str = "https://pushguard.net/api/v2";
const VERSION: &str = env!("CARGO_PKG_VERSION");
/// The longest wait between tries, whatever `Retry-After` says.
const MAX_WAIT: Duration = Duration::from_secs(60);

/// How a [`Client`] calls: the credentials and the settings.
#[derive(Clone, Debug)]
pub struct ClientOptions {
    api_key: String,
    api_email: Option<String>,
    api_base: String,
    signing_secret: Option<String>,
    timeout: Duration,
    max_retries: u32,
    language: Option<String>,
    child_company_id: Option<String>,
}

impl ClientOptions {
    /// An API key, against `https://pushguard.net/api/v2`: 30 s per try, 3 retries.
    pub fn new(api_key: impl Into<String>) -> Self {
        ClientOptions {
            api_key: api_key.into(),
            api_email: None,
            api_base: DEFAULT_API_BASE.to_string(),
            signing_secret: None,
            timeout: Duration::from_secs(30),
            max_retries: 3,
            language: None,
            child_company_id: None,
        }
    }

    /// The account's email: Basic authentication, as the original API (else Bearer).
    pub fn email(mut self, email: impl Into<String>) -> Self {
        self.api_email = Some(email.into());
        self
    }

    /// Where the API is.
    pub fn base(mut self, base: impl Into<String>) -> Self {
        self.api_base = base.into().trim_end_matches('/').to_string();
        self
    }

    /// A key made with `require_signed`: its signing secret signs every request.
    pub fn signing_secret(mut self, secret: impl Into<String>) -> Self {
        self.signing_secret = Some(secret.into());
        self
    }

    /// How long one try may take.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Tries after the first on 429, 502-504 and connection failures.
    pub fn max_retries(mut self, retries: u32) -> Self {
        self.max_retries = retries;
        self
    }

    /// The API's messages' language: `en` or `es`.
    pub fn language(mut self, language: impl Into<String>) -> Self {
        self.language = Some(language.into());
        self
    }

    /// Act for one of the account's child accounts (`X-Child-Company-Id`).
    pub fn child_company(mut self, id: impl Into<String>) -> Self {
        self.child_company_id = Some(id.into());
        self
    }
}

/// What can go wrong with a call.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The API answered 400 to 599 (on every try, for 429 and 5xx).
    #[error("{status} {message}")]
    Api {
        status: u16,
        /// The API's `message`.
        message: String,
        /// Each problem, for validation errors.
        errors: Vec<String>,
        /// `Retry-After`, when the API gave one.
        retry_after: Option<u64>,
        body: serde_json::Value,
    },
    /// No answer: the connection failed or timed out, on every try.
    #[error("no answer: {0}")]
    Connection(String),
    /// An answer this crate could not read as the type the document names.
    #[error("unreadable answer: {0}")]
    Decode(String),
    /// A call this crate refused before sending (a missing id, bad options).
    #[error("{0}")]
    Usage(String),
    /// A webhook whose signature does not verify, or is too old.
    #[error("webhook not verified: {0}")]
    Signature(String),
}

impl Error {
    /// The HTTP status of an API error.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Api { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// One set of credentials and settings: `client.webhooks().endpoints().list(&json!({}))`.
#[derive(Clone)]
pub struct Client {
    options: Arc<ClientOptions>,
    http: reqwest::Client,
}

impl Client {
    pub fn new(options: ClientOptions) -> Result<Client, Error> {
        if options.api_key.is_empty() {
            return Err(Error::Usage("an API key is needed".into()));
        }
        let mut roots = rustls::RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Usage(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
        let http = reqwest::Client::builder()
            .use_preconfigured_tls(tls)
            .timeout(options.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(format!("pushguard-rust/{VERSION}"))
            .build()
            .map_err(|e| Error::Usage(e.to_string()))?;
        Ok(Client {
            options: Arc::new(options),
            http,
        })
    }

    /// Calls the operation `id` with its path's `ids` and `params` (the JSON body, or
    /// the query of a GET or DELETE), reading the answer as `T`.
    pub async fn call<T: DeserializeOwned>(
        &self,
        id: &str,
        ids: &[&str],
        params: &impl Serialize,
    ) -> Result<T, Error> {
        let (answer, _) = self.send(id, ids, params).await?;
        decode(answer)
    }

    /// Like [`Client::call`], for an operation that answers a list.
    pub async fn list<T: DeserializeOwned>(
        &self,
        id: &str,
        ids: &[&str],
        params: &impl Serialize,
    ) -> Result<Page<T>, Error> {
        let (answer, headers) = self.send(id, ids, params).await?;
        Page::new(decode(answer)?, &headers, self.clone())
    }

    async fn send(
        &self,
        id: &str,
        ids: &[&str],
        params: &impl Serialize,
    ) -> Result<(serde_json::Value, reqwest::header::HeaderMap), Error> {
        let &(_, method, path, names, body, _) = OPERATIONS
            .iter()
            .find(|operation| operation.0 == id)
            .ok_or_else(|| Error::Usage(format!("no operation {id}")))?;
        if ids.len() != names.len() {
            return Err(Error::Usage(format!("{id} takes {}", names.join(", "))));
        }
        let mut path = path.to_string();
        for (name, value) in names.iter().zip(ids) {
            let encoded: String = url::form_urlencoded::byte_serialize(value.as_bytes()).collect();
            path = path.replace(&format!("{{{name}}}"), &encoded);
        }
        let params = serde_json::to_value(params).map_err(|e| Error::Usage(e.to_string()))?;
        if body {
            self.request(method, &path, None, Some(params)).await
        } else {
            self.request(method, &path, Some(params), None).await
        }
    }

    /// The URL of `path`: below the API's base (`/orders`), or from the host's root
    /// when it is the API's own (`/api/v2/...`, as a `Link` gives it).
    fn url_for(&self, path: &str) -> Result<url::Url, Error> {
        let url = if path.starts_with("/api/") {
            url::Url::parse(&self.options.api_base).and_then(|base| base.join(path))
        } else {
            url::Url::parse(&format!("{}{path}", self.options.api_base))
        };
        url.map_err(|e| Error::Usage(e.to_string()))
    }

    /// One try of `method` on `path` (below the API's base: `/orders/ord_1`) with
    /// `body`: no retry and no `Idempotency-Key`, and the status, headers and body as they
    /// came, whatever the status. For what the typed methods do not cover, and for tests.
    pub async fn send_raw(
        &self,
        method: &str,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<RawResponse, Error> {
        let url = self.url_for(path)?;
        let method = reqwest::Method::from_bytes(method.as_bytes())
            .map_err(|e| Error::Usage(e.to_string()))?;
        let text = body.map(serde_json::Value::to_string);
        let response = self
            .send_once(&method, &url, text.as_deref(), None)
            .await
            .map_err(|e| Error::Connection(e.to_string()))?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let bytes = response
            .bytes()
            .await
            .map_err(|e| Error::Connection(e.to_string()))?;
        Ok(RawResponse {
            status,
            headers,
            body: parse(&bytes),
        })
    }

    /// `method` on `path` (`/api/v2/...`, as a `Link` gives it): the answer and its headers.
    pub async fn request(
        &self,
        method: &str,
        path: &str,
        query: Option<serde_json::Value>,
        body: Option<serde_json::Value>,
    ) -> Result<(serde_json::Value, reqwest::header::HeaderMap), Error> {
        let mut url = self.url_for(path)?;
        if let Some(serde_json::Value::Object(query)) = query {
            let mut pairs = url.query_pairs_mut();
            for (name, value) in query {
                match value {
                    serde_json::Value::Null => {}
                    serde_json::Value::String(text) => {
                        pairs.append_pair(&name, &text);
                    }
                    other => {
                        pairs.append_pair(&name, &other.to_string());
                    }
                }
            }
        }
        if url.query() == Some("") {
            url.set_query(None);
        }
        let text = body.map(|body| body.to_string());
        let method = reqwest::Method::from_bytes(method.as_bytes())
            .map_err(|e| Error::Usage(e.to_string()))?;
        let idempotency_key =
            (method == reqwest::Method::POST).then(|| hex::encode(rand::random::<[u8; 16]>()));
        let mut tries = 0;
        loop {
            tries += 1;
            let response = match self
                .send_once(&method, &url, text.as_deref(), idempotency_key.as_deref())
                .await
            {
                Ok(response) => response,
                Err(error) if tries > self.options.max_retries => {
                    return Err(Error::Connection(format!(
                        "{method} {}: {error}",
                        url.path()
                    )));
                }
                Err(_) => {
                    tokio::time::sleep(backoff(tries)).await;
                    continue;
                }
            };
            let status = response.status().as_u16();
            if matches!(status, 429 | 502..=504) && tries <= self.options.max_retries {
                let wait = retry_after(response.headers())
                    .map_or(backoff(tries), |s| Duration::from_secs(s).min(MAX_WAIT));
                tokio::time::sleep(wait).await;
                continue;
            }
            return answer(response).await;
        }
    }

    async fn send_once(
        &self,
        method: &reqwest::Method,
        url: &url::Url,
        text: Option<&str>,
        idempotency_key: Option<&str>,
    ) -> Result<reqwest::Response, reqwest::Error> {
        let options = &self.options;
        let mut request = self
            .http
            .request(method.clone(), url.clone())
            .header("Accept", "application/json");
        request = match &options.api_email {
            Some(email) => request.basic_auth(email, Some(&options.api_key)),
            None => request.bearer_auth(&options.api_key),
        };
        if let Some(language) = &options.language {
            request = request.header("Accept-Language", language);
        }
        if let Some(child) = &options.child_company_id {
            request = request.header("X-Child-Company-Id", child);
        }
        if let Some(key) = idempotency_key {
            request = request.header("Idempotency-Key", key);
        }
        if let Some(secret) = &options.signing_secret {
            let timestamp = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default()
                .as_millis()
                .to_string();
            let digest = hex::encode(ring::digest::digest(
                &ring::digest::SHA256,
                text.unwrap_or_default().as_bytes(),
            ));
            let signed = [
                timestamp.as_str(),
                method.as_str(),
                url.path(),
                url.query().unwrap_or_default(),
                &digest,
            ]
            .join("\n");
            let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret.as_bytes());
            let sign = hex::encode(ring::hmac::sign(&key, signed.as_bytes()));
            request = request
                .header("X-PushGuard-Timestamp", timestamp)
                .header("X-PushGuard-Sign", sign);
        }
        if let Some(text) = text {
            request = request
                .header("Content-Type", "application/json")
                .body(text.to_string());
        }
        request.send().await
    }
}

fn backoff(tries: u32) -> Duration {
    let base = Duration::from_millis(500 * 2u64.pow(tries.saturating_sub(1).min(7))).min(MAX_WAIT);
    base.mul_f64(0.8 + rand::random::<f64>() * 0.4)
}

fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<u64> {
    headers.get("retry-after")?.to_str().ok()?.parse().ok()
}

async fn answer(
    response: reqwest::Response,
) -> Result<(serde_json::Value, reqwest::header::HeaderMap), Error> {
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let bytes = response
        .bytes()
        .await
        .map_err(|e| Error::Connection(e.to_string()))?;
    let parsed = parse(&bytes);
    if status < 400 {
        return Ok((parsed, headers));
    }
    Err(Error::Api {
        status,
        message: parsed["message"]
            .as_str()
            .map_or_else(|| format!("HTTP {status}"), str::to_string),
        errors: parsed["errors"]
            .as_array()
            .map(|errors| {
                errors
                    .iter()
                    .filter_map(|e| e.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default(),
        retry_after: retry_after(&headers),
        body: parsed,
    })
}

/// An answer's body: JSON, the text when it is not, null when empty.
fn parse(bytes: &[u8]) -> serde_json::Value {
    if bytes.is_empty() {
        serde_json::Value::Null
    } else {
        serde_json::from_slice(bytes)
            .unwrap_or_else(|_| serde_json::Value::String(String::from_utf8_lossy(bytes).into()))
    }
}

/// An answer as it came ([`Client::send_raw`]).
#[derive(Clone, Debug)]
pub struct RawResponse {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: serde_json::Value,
}

fn decode<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, Error> {
    serde_json::from_value(value).map_err(|e| Error::Decode(e.to_string()))
}

/// One page of a list: its items, how many there are in all (`total_count`,
/// `total_pages`: page-numbered lists), and the next page, by number or by cursor as
/// the API's `Link` header says.
pub struct Page<T> {
    pub data: Vec<T>,
    pub total_count: Option<u64>,
    pub total_pages: Option<u64>,
    next: Option<String>,
    client: Client,
}

impl<T: DeserializeOwned> Page<T> {
    fn new(
        data: Vec<T>,
        headers: &reqwest::header::HeaderMap,
        client: Client,
    ) -> Result<Self, Error> {
        let number = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse().ok())
        };
        let link = headers
            .get("link")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        Ok(Page {
            data,
            total_count: number("x-total-count"),
            total_pages: number("x-total-pages"),
            next: link_to(link, "next"),
            client,
        })
    }

    pub fn has_next(&self) -> bool {
        self.next.is_some()
    }

    /// The next page, or `None` after the last.
    pub async fn next_page(&self) -> Result<Option<Page<T>>, Error> {
        let Some(next) = &self.next else {
            return Ok(None);
        };
        let (answer, headers) = self.client.request("GET", next, None, None).await?;
        Page::new(decode(answer)?, &headers, self.client.clone()).map(Some)
    }

    /// Every item of this page and of each page after it.
    pub async fn all(self) -> Result<Vec<T>, Error> {
        let mut items = Vec::new();
        let mut page = Some(self);
        while let Some(current) = page {
            page = current.next_page().await?;
            items.extend(current.data);
        }
        Ok(items)
    }
}

impl<'a, T> IntoIterator for &'a Page<T> {
    type Item = &'a T;
    type IntoIter = std::slice::Iter<'a, T>;

    fn into_iter(self) -> Self::IntoIter {
        self.data.iter()
    }
}

/// The target of `rel` in a `Link` header.
pub fn link_to(header: &str, rel: &str) -> Option<String> {
    header.split(',').find_map(|part| {
        let mut pieces = part.split(';').map(str::trim);
        let target = pieces.next()?;
        pieces
            .any(|attribute| attribute == format!("rel=\"{rel}\""))
            .then(|| {
                target
                    .trim_start_matches('<')
                    .trim_end_matches('>')
                    .to_string()
            })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_names_the_next_page() {
        let header = r#"</api/v2/orders?page=2&per_page=1>; rel="next", </api/v2/orders?page=1&per_page=1>; rel="first""#;
        assert_eq!(
            link_to(header, "next").as_deref(),
            Some("/api/v2/orders?page=2&per_page=1")
        );
        assert_eq!(link_to(header, "prev"), None);
        assert_eq!(link_to("", "next"), None);
    }

    #[test]
    fn every_operation_is_a_method_and_a_call_without_its_ids_is_refused() {
        assert!(OPERATIONS.len() > 60);
        let client =
            Client::new(ClientOptions::new("pg_test_x").base("http://127.0.0.1:9/api/v2")).unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let refused = runtime.block_on(client.call::<serde_json::Value>("getOrdersById", &[], &()));
        assert!(matches!(refused, Err(Error::Usage(_))), "{refused:?}");
    }
}
