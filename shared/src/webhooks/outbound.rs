//! Outbound HTTP for deliveries: 15 s timeout, no redirects, response body cut at
//! 8 KiB, and an SSRF guard applied where the connection is made. Host names resolve
//! through a resolver that drops non-global addresses, so a name that resolves (or
//! re-resolves: DNS rebinding) to a private address is never connected to.

use super::net;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use std::{
    collections::BTreeMap,
    net::{IpAddr, SocketAddr},
    sync::Arc,
    time::{Duration, Instant},
};
use url::{Host, Url};

/// Response bodies are kept up to this size.
pub const MAX_RESPONSE_BYTES: usize = 8 * 1024;
/// Response headers kept on a log, at most this many ...
pub const MAX_RESPONSE_HEADERS: usize = 64;
/// ... and this many bytes of names and values: a receiver cannot push a log past
/// DynamoDB's 400 KB item limit.
pub const MAX_RESPONSE_HEADER_BYTES: usize = 8 * 1024;

/// What one HTTP attempt produced.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Attempt {
    /// The response status, or `None` when no response arrived.
    pub status: Option<u16>,
    pub headers: BTreeMap<String, String>,
    /// The response body (at most 8 KiB), or what went wrong.
    pub body: String,
    /// Whether the body went on past what was kept.
    pub body_cut: bool,
    /// Whether the body kept is not UTF-8 (`body` then holds it with replacements).
    pub body_binary: bool,
    pub duration_ms: u64,
    /// `Retry-After` of a 429 or 503, in seconds.
    pub retry_after: Option<Duration>,
    /// What stopped it when no response arrived.
    pub failure: Option<Failure>,
    /// A 2xx that the endpoint's dialect does not count as delivered (Paybyrd counts
    /// only 200, 201 and 202).
    pub unaccepted: bool,
}

/// Why an attempt got no response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failure {
    Timeout,
    /// No connection, or one that broke.
    Connection,
    /// The target is an address deliveries may not reach (the SSRF guard).
    Refused,
}

impl Attempt {
    pub fn succeeded(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s)) && !self.unaccepted
    }

    /// `410 Gone`: the receiver asks never to be called again.
    pub fn gone(&self) -> bool {
        self.status == Some(410)
    }

    fn failure(failure: Failure, message: String, started: Instant) -> Self {
        Attempt {
            failure: Some(failure),
            body: message,
            duration_ms: started.elapsed().as_millis() as u64,
            ..Attempt::default()
        }
    }
}

/// The client deliveries go through. Built once per cold start.
#[derive(Clone, Debug)]
pub struct Outbound {
    client: reqwest::Client,
    allow_private: bool,
}

#[derive(Debug)]
struct GlobalOnly;

/// A host that resolves only to addresses deliveries may not reach.
#[derive(Debug)]
struct RefusedTarget(String);

impl std::fmt::Display for RefusedTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} resolves only to private, loopback or otherwise non-global addresses",
            self.0
        )
    }
}

impl std::error::Error for RefusedTarget {}

impl Resolve for GlobalOnly {
    fn resolve(&self, name: Name) -> Resolving {
        Box::pin(async move {
            let host = name.as_str().to_string();
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let allowed: Vec<SocketAddr> = found
                .into_iter()
                .filter(|a| net::is_global(a.ip()))
                .collect();
            if allowed.is_empty() {
                return Err(Box::new(RefusedTarget(host)) as Box<_>);
            }
            Ok(Box::new(allowed.into_iter()) as Addrs)
        })
    }
}

impl Outbound {
    pub fn new(timeout: Duration, allow_private: bool) -> Self {
        let mut builder = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .pool_idle_timeout(Duration::from_secs(30))
            .use_preconfigured_tls(crate::tls::delivery_config());
        if !allow_private {
            builder = builder.dns_resolver(Arc::new(GlobalOnly));
        }
        Outbound {
            client: builder.build().expect("TLS backend initialises"),
            allow_private,
        }
    }

    /// POSTs `body` to `url` with `headers`; never fails, the outcome is in the attempt.
    pub async fn post(&self, url: &Url, headers: &[(String, String)], body: Vec<u8>) -> Attempt {
        let started = Instant::now();
        if !self.allow_private
            && let Some(ip) = literal_ip(url)
            && !net::is_global(ip)
        {
            return Attempt::failure(
                Failure::Refused,
                format!("refused: {ip} is a private, loopback or otherwise non-global address"),
                started,
            );
        }
        let mut request = self.client.post(url.clone()).body(body);
        for (name, value) in headers {
            request = request.header(name, value);
        }
        let mut response = match request.send().await {
            Ok(response) => response,
            Err(error) => return Attempt::failure(failure_of(&error), describe(&error), started),
        };
        let status = response.status().as_u16();
        let headers = kept_headers(response.headers());
        let retry_after = matches!(status, 429 | 503)
            .then(|| {
                headers
                    .get("retry-after")
                    .and_then(|v| v.trim().parse::<u64>().ok())
            })
            .flatten()
            .map(Duration::from_secs);
        let mut body = Vec::new();
        let mut body_cut = false;
        // Read only what is kept (and one chunk more, to know whether more followed): a
        // huge (or endless) body costs nothing more.
        while let Ok(Some(chunk)) = response.chunk().await {
            let room = MAX_RESPONSE_BYTES - body.len();
            body.extend_from_slice(&chunk[..chunk.len().min(room)]);
            if chunk.len() > room {
                body_cut = true;
                break;
            }
        }
        let body_binary = std::str::from_utf8(&body).is_err();
        Attempt {
            status: Some(status),
            headers,
            body: String::from_utf8_lossy(&body).into_owned(),
            body_cut,
            body_binary,
            duration_ms: started.elapsed().as_millis() as u64,
            retry_after,
            failure: None,
            unaccepted: false,
        }
    }
}

/// The response headers a log keeps: the first [`MAX_RESPONSE_HEADERS`], as long as
/// they fit in [`MAX_RESPONSE_HEADER_BYTES`] (a value that does not fit is cut).
fn kept_headers(headers: &reqwest::header::HeaderMap) -> BTreeMap<String, String> {
    let mut kept = BTreeMap::new();
    let mut room = MAX_RESPONSE_HEADER_BYTES;
    for (name, value) in headers.iter().take(MAX_RESPONSE_HEADERS) {
        let name = name.as_str();
        if name.len() >= room {
            break;
        }
        room -= name.len();
        let value = String::from_utf8_lossy(value.as_bytes());
        let mut cut = value.len().min(room);
        while !value.is_char_boundary(cut) {
            cut -= 1;
        }
        room -= cut;
        kept.insert(name.to_string(), value[..cut].to_string());
    }
    kept
}

fn literal_ip(url: &Url) -> Option<IpAddr> {
    match url.host()? {
        Host::Ipv4(ip) => Some(IpAddr::V4(ip)),
        Host::Ipv6(ip) => Some(IpAddr::V6(ip)),
        Host::Domain(_) => None,
    }
}

/// What stopped a request: the resolver's refusal of a non-global address shows as a
/// [`RefusedTarget`] somewhere in the error's causes.
fn failure_of(error: &reqwest::Error) -> Failure {
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        if cause.is::<RefusedTarget>() {
            return Failure::Refused;
        }
        source = cause.source();
    }
    if error.is_timeout() {
        Failure::Timeout
    } else {
        Failure::Connection
    }
}

fn describe(error: &reqwest::Error) -> String {
    let kind = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "could not connect"
    } else {
        "request failed"
    };
    let mut message = kind.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn response_headers_are_capped_in_count_and_bytes() {
        let mut many = reqwest::header::HeaderMap::new();
        for n in 0..200 {
            many.insert(
                reqwest::header::HeaderName::from_bytes(format!("x-h{n}").as_bytes()).unwrap(),
                "v".parse().unwrap(),
            );
        }
        assert_eq!(kept_headers(&many).len(), MAX_RESPONSE_HEADERS);
        let mut huge = reqwest::header::HeaderMap::new();
        for n in 0..5 {
            huge.insert(
                reqwest::header::HeaderName::from_bytes(format!("x-big{n}").as_bytes()).unwrap(),
                reqwest::header::HeaderValue::from_bytes("é".repeat(3_000).as_bytes()).unwrap(),
            );
        }
        let kept = kept_headers(&huge);
        let bytes: usize = kept.iter().map(|(k, v)| k.len() + v.len()).sum();
        assert!(bytes <= MAX_RESPONSE_HEADER_BYTES, "{bytes}");
        assert!(!kept.is_empty());
    }
}
