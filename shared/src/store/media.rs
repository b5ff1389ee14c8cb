//! The media bucket (S3): product and category images, product files, and the uploads
//! that become them. Nothing but presigned URLs ever carries an object's bytes: a
//! client uploads with a presigned `PUT`, a browser fetches an image or a paying
//! customer a file with a presigned `GET`. The functions only look at objects (`HEAD`,
//! the first bytes), copy and delete them.
//!
//! Signed here with `aws-sigv4` (the SDK's own signer) over `reqwest`, rather than
//! through `aws-sdk-s3`: six small calls do not need the largest SDK crate.
//!
//! Keys: `uploads/{account}/{mode}/{purpose}/{id}` until attached (the bucket's
//! lifecycle forgets them after a day), then `images/{id}` (served by id, to anyone) or
//! `files/{account}/{mode}/{id}` (to paying customers only).

use super::StoreError;
use aws_sdk_dynamodb::config::{ProvideCredentials, SharedCredentialsProvider};
use aws_sigv4::http_request::{
    PayloadChecksumKind, PercentEncodingMode, SignableBody, SignableRequest, SignatureLocation,
    SigningSettings, UriPathNormalizationMode, sign,
};
use aws_smithy_runtime_api::client::identity::Identity;
use std::time::{Duration, SystemTime};
use url::Url;

/// The media bucket: where it answers and the credentials that sign for it.
#[derive(Clone, Debug)]
pub struct Media {
    /// Built by the first call: most functions never make one, and a TLS configuration
    /// is a cold start's work (`tls`).
    http: std::sync::Arc<std::sync::OnceLock<reqwest::Client>>,
    bucket: String,
    /// The bucket's base URL, ending in `/`: path style on an emulator
    /// (`{endpoint}/{bucket}/`), virtual-hosted in AWS.
    base: Url,
    region: String,
    credentials: Option<SharedCredentialsProvider>,
}

/// What `HEAD` tells of an object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectInfo {
    pub size: u64,
    pub content_type: Option<String>,
    /// The `x-amz-meta-filename` it was uploaded with, percent-decoded.
    pub filename: Option<String>,
}

/// The metadata header an upload carries its file name in (percent-encoded: header
/// values are ASCII).
pub const FILENAME_HEADER: &str = "x-amz-meta-filename";

fn failed(operation: &'static str, cause: impl std::fmt::Display) -> StoreError {
    StoreError::Failed {
        operation,
        code: None,
        cause: cause.to_string(),
    }
}

/// An S3 answer that is neither success nor "not found": server errors and throttling
/// may pass (the caller's client retries); anything else is ours to mend.
fn answer_error(operation: &'static str, status: reqwest::StatusCode, body: &str) -> StoreError {
    let code = body
        .split("<Code>")
        .nth(1)
        .and_then(|rest| rest.split("</Code>").next())
        .map(str::to_string);
    let cause = format!("S3 answered {status}: {}", code.as_deref().unwrap_or(body));
    if status.is_server_error() || code.as_deref() == Some("SlowDown") {
        StoreError::Transient {
            operation,
            code,
            cause,
        }
    } else {
        StoreError::Failed {
            operation,
            code,
            cause,
        }
    }
}

impl Media {
    /// The bucket `bucket`, reached as `sdk` says (its endpoint, region and credentials).
    pub fn new(sdk: &aws_config::SdkConfig, bucket: &str) -> Self {
        let region = sdk
            .region()
            .map_or_else(|| "us-east-1".to_string(), |r| r.to_string());
        let base = match sdk.endpoint_url() {
            Some(endpoint) => format!("{}/{bucket}/", endpoint.trim_end_matches('/')),
            None => format!("https://{bucket}.s3.{region}.amazonaws.com/"),
        };
        Media {
            http: Default::default(),
            bucket: bucket.to_string(),
            base: Url::parse(&base).expect("a bucket URL"),
            region,
            credentials: sdk.credentials_provider(),
        }
    }

    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    fn http(&self) -> &reqwest::Client {
        self.http.get_or_init(|| {
            reqwest::Client::builder()
                .use_preconfigured_tls(crate::tls::aws_config())
                .no_proxy()
                .redirect(reqwest::redirect::Policy::none())
                .connect_timeout(Duration::from_secs(3))
                // A copy of the largest file takes seconds; nothing else comes near.
                .timeout(Duration::from_secs(60))
                .build()
                .expect("TLS backend initialises")
        })
    }

    fn url(&self, key: &str) -> Url {
        self.base.join(key).expect("keys are relative paths")
    }

    async fn identity(&self) -> Result<Identity, StoreError> {
        let provider = self
            .credentials
            .as_ref()
            .ok_or_else(|| failed("S3 credentials", "the configuration has no credentials"))?;
        let credentials = provider
            .provide_credentials()
            .await
            .map_err(|e| failed("S3 credentials", e))?;
        Ok(credentials.into())
    }

    /// Signs `method url` with `headers` (names lower-case), in the headers or, with
    /// `expires`, in the query (a presigned URL). Returns the URL and headers to send.
    async fn sign(
        &self,
        method: &str,
        mut url: Url,
        headers: &[(&str, &str)],
        expires: Option<Duration>,
    ) -> Result<(Url, Vec<(String, String)>), StoreError> {
        let identity = self.identity().await?;
        let mut settings = SigningSettings::default();
        settings.percent_encoding_mode = PercentEncodingMode::Single;
        settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
        match expires {
            Some(expires) => {
                settings.signature_location = SignatureLocation::QueryParams;
                settings.expires_in = Some(expires);
            }
            None => settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256,
        }
        let params = aws_sigv4::sign::v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name("s3")
            .time(SystemTime::now())
            .settings(settings)
            .build()
            .map_err(|e| failed("S3 signing", e))?
            .into();
        let host = url_host(&url);
        let all: Vec<(&str, &str)> = std::iter::once(("host", host.as_str()))
            .chain(headers.iter().copied())
            .collect();
        let signable = SignableRequest::new(
            method,
            url.as_str(),
            all.into_iter(),
            SignableBody::UnsignedPayload,
        )
        .map_err(|e| failed("S3 signing", e))?;
        let (instructions, _) = sign(signable, &params)
            .map_err(|e| failed("S3 signing", e))?
            .into_parts();
        let mut sent: Vec<(String, String)> = headers
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect();
        sent.extend(
            instructions
                .headers()
                .map(|(name, value)| (name.to_string(), value.to_string())),
        );
        {
            let mut query = url.query_pairs_mut();
            for (name, value) in instructions.params() {
                query.append_pair(name, value);
            }
        }
        if url.query() == Some("") {
            url.set_query(None);
        }
        Ok((url, sent))
    }

    async fn send(
        &self,
        operation: &'static str,
        method: reqwest::Method,
        key: &str,
        headers: &[(&str, &str)],
    ) -> Result<reqwest::Response, StoreError> {
        let (url, headers) = self
            .sign(method.as_str(), self.url(key), headers, None)
            .await?;
        let mut request = self.http().request(method, url);
        for (name, value) in headers {
            request = request.header(name, value);
        }
        request.send().await.map_err(|e| StoreError::Transient {
            operation,
            code: None,
            cause: e.to_string(),
        })
    }

    /// A URL that lets whoever holds it `PUT` one object at `key` within `expires`:
    /// of exactly `size` bytes and `content_type`, with its file name. These are signed:
    /// S3 refuses a request whose headers differ.
    pub async fn presign_put(
        &self,
        key: &str,
        content_type: &str,
        size: u64,
        filename: &str,
        expires: Duration,
    ) -> Result<(Url, Vec<(String, String)>), StoreError> {
        let size = size.to_string();
        let filename = encode_filename(filename);
        let headers = [
            ("content-length", size.as_str()),
            ("content-type", content_type),
            (FILENAME_HEADER, filename.as_str()),
        ];
        let (url, _) = self
            .sign("PUT", self.url(key), &headers, Some(expires))
            .await?;
        let to_send = headers
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect();
        Ok((url, to_send))
    }

    /// A URL that lets whoever holds it `GET` the object at `key` within `expires`;
    /// with `download`, as an attachment of that file name.
    pub async fn presign_get(
        &self,
        key: &str,
        expires: Duration,
        download: Option<&str>,
    ) -> Result<Url, StoreError> {
        let mut url = self.url(key);
        if let Some(name) = download {
            let ascii: String = name
                .chars()
                .map(|c| {
                    if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                        c
                    } else {
                        '_'
                    }
                })
                .collect();
            let disposition = format!(
                "attachment; filename=\"{ascii}\"; filename*=UTF-8''{}",
                encode_filename(name)
            );
            url.query_pairs_mut()
                .append_pair("response-content-disposition", &disposition);
        }
        Ok(self.sign("GET", url, &[], Some(expires)).await?.0)
    }

    /// What S3 knows of the object at `key`, if there is one.
    pub async fn head(&self, key: &str) -> Result<Option<ObjectInfo>, StoreError> {
        let response = self
            .send("S3 HeadObject", reqwest::Method::HEAD, key, &[])
            .await?;
        let status = response.status();
        // S3 answers 403 rather than 404 to a role that may not list the bucket (ours
        // may not): for a key the role may read, either means there is no object.
        if matches!(
            status,
            reqwest::StatusCode::NOT_FOUND | reqwest::StatusCode::FORBIDDEN
        ) {
            return Ok(None);
        }
        if !status.is_success() {
            return Err(answer_error("S3 HeadObject", status, ""));
        }
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        Ok(Some(ObjectInfo {
            size: header("content-length")
                .and_then(|v| v.parse().ok())
                .unwrap_or(0),
            content_type: header("content-type"),
            filename: header(FILENAME_HEADER).map(|v| percent_encoding_decode(&v)),
        }))
    }

    /// The first `count` bytes of the object at `key` (fewer if it is shorter).
    pub async fn first_bytes(&self, key: &str, count: usize) -> Result<Vec<u8>, StoreError> {
        let range = format!("bytes=0-{}", count.saturating_sub(1));
        let response = self
            .send(
                "S3 GetObject",
                reqwest::Method::GET,
                key,
                &[("range", &range)],
            )
            .await?;
        let status = response.status();
        if !status.is_success() {
            let body = response.text().await.unwrap_or_default();
            return Err(answer_error("S3 GetObject", status, &body));
        }
        let bytes = response.bytes().await.map_err(|e| StoreError::Transient {
            operation: "S3 GetObject",
            code: None,
            cause: e.to_string(),
        })?;
        Ok(bytes[..bytes.len().min(count)].to_vec())
    }

    /// Copies the object at `from` to `to` (in the bucket, by S3 itself).
    pub async fn copy(&self, from: &str, to: &str) -> Result<(), StoreError> {
        let source = format!("/{}/{from}", self.bucket);
        let response = self
            .send(
                "S3 CopyObject",
                reqwest::Method::PUT,
                to,
                &[("x-amz-copy-source", &source)],
            )
            .await?;
        let status = response.status();
        let body = response.text().await.unwrap_or_default();
        // A copy can fail after its 200: the error is then the body.
        if !status.is_success() || body.contains("<Error>") {
            return Err(answer_error("S3 CopyObject", status, &body));
        }
        Ok(())
    }

    /// Deletes the object at `key` (nothing if there is none).
    pub async fn delete(&self, key: &str) -> Result<(), StoreError> {
        let response = self
            .send("S3 DeleteObject", reqwest::Method::DELETE, key, &[])
            .await?;
        let status = response.status();
        if !status.is_success() && status != reqwest::StatusCode::NOT_FOUND {
            let body = response.text().await.unwrap_or_default();
            return Err(answer_error("S3 DeleteObject", status, &body));
        }
        Ok(())
    }

    /// Deletes each of `keys`, logging what fails: for objects a committed change no
    /// longer refers to (an orphan costs storage, never correctness).
    pub async fn forget(&self, keys: &[String]) {
        for key in keys {
            if let Err(error) = self.delete(key).await {
                tracing::warn!(%key, %error, "an object no longer used was not deleted");
            }
        }
    }

    /// Creates the bucket (locally: what the template declares).
    pub async fn create_bucket(&self) -> Result<(), StoreError> {
        let (url, headers) = self.sign("PUT", self.base.clone(), &[], None).await?;
        let mut request = self.http().put(url);
        for (name, value) in headers {
            request = request.header(name, value);
        }
        let response = request
            .send()
            .await
            .map_err(|e| failed("S3 CreateBucket", e))?;
        let status = response.status();
        let body = response.text().await.unwrap_or_default();
        if status.is_success() || body.contains("BucketAlreadyOwnedByYou") {
            Ok(())
        } else {
            Err(answer_error("S3 CreateBucket", status, &body))
        }
    }
}

fn url_host(url: &Url) -> String {
    match url.port() {
        Some(port) => format!("{}:{port}", url.host_str().unwrap_or_default()),
        None => url.host_str().unwrap_or_default().to_string(),
    }
}

/// RFC 3986 unreserved characters stay; every other byte is `%XX`.
pub fn encode_filename(name: &str) -> String {
    name.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn percent_encoding_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(byte) = text
                .get(i + 1..i + 3)
                .and_then(|hex| u8::from_str_radix(hex, 16).ok())
        {
            out.push(byte);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_survive_the_metadata_header() {
        for name in ["logo.png", "my product.zip", "résumé (final).pdf", "a%b"] {
            let encoded = encode_filename(name);
            assert!(encoded.is_ascii(), "{encoded}");
            assert_eq!(percent_encoding_decode(&encoded), name);
        }
    }
}
