//! S3 through the strict layer. S3 speaks REST (an object per path), not the JSON
//! protocol of the other services: the call is read from the method, the path and the
//! copy header; IAM is decided per action and object ARN from template.yaml, for the
//! role whose credentials signed the request (in the `Authorization` header, or in the
//! query of a presigned URL). A presigned URL is checked as S3 checks it: expired, or
//! sent with other values of the headers it signed (a bigger body, another type), it
//! is refused; the emulator checks neither.

use super::{LOCAL_SECRET, Layer, iam::Decision};
use aws_sigv4::http_request::{
    PercentEncodingMode, SignableBody, SignableRequest, SignatureLocation, SigningSettings,
    UriPathNormalizationMode, sign,
};
use axum::{
    body::Bytes,
    http::{HeaderMap, HeaderValue, Method, StatusCode, header, request::Parts},
    response::{IntoResponse, Response},
};
use std::{
    sync::atomic::Ordering,
    time::{Duration, SystemTime},
};

/// What a request to a bucket needs: `(action, resource)` pairs.
#[derive(Debug, PartialEq)]
pub struct S3Call {
    pub needs: Vec<(&'static str, String)>,
}

/// The bucket a request's path starts with, if it names one of `buckets`.
pub fn bucket_of<'a>(path: &str, buckets: &'a [String]) -> Option<&'a str> {
    let first = path.trim_start_matches('/').split('/').next()?;
    buckets
        .iter()
        .find(|b| b.as_str() == first)
        .map(String::as_str)
}

/// Reads the call: `GET`/`HEAD` an object is `s3:GetObject`, `PUT` one `s3:PutObject`
/// (a copy also `s3:GetObject` of its source), `DELETE` one `s3:DeleteObject`; on the
/// bucket itself, `s3:ListBucket` or `s3:CreateBucket`.
pub fn read(method: &Method, path: &str, headers: &HeaderMap) -> S3Call {
    let path = path.trim_start_matches('/');
    let (bucket, key) = path.split_once('/').unwrap_or((path, ""));
    let object = |key: &str| format!("arn:aws:s3:::{bucket}/{}", decode(key));
    let needs = if key.is_empty() {
        let action = match *method {
            Method::PUT => "s3:CreateBucket",
            Method::DELETE => "s3:DeleteBucket",
            _ => "s3:ListBucket",
        };
        vec![(action, format!("arn:aws:s3:::{bucket}"))]
    } else {
        match *method {
            Method::GET | Method::HEAD => vec![("s3:GetObject", object(key))],
            Method::DELETE => vec![("s3:DeleteObject", object(key))],
            _ => {
                let mut needs = vec![("s3:PutObject", object(key))];
                if let Some(source) = headers
                    .get("x-amz-copy-source")
                    .and_then(|v| v.to_str().ok())
                {
                    let source = decode(source.trim_start_matches('/'));
                    needs.insert(0, ("s3:GetObject", format!("arn:aws:s3:::{source}")));
                }
                needs
            }
        }
    };
    S3Call { needs }
}

fn decode(text: &str) -> String {
    url::form_urlencoded::parse(format!("k={}", text.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

/// An error as S3 writes it.
fn refuse(status: StatusCode, code: &str, message: &str) -> Response {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message></Error>"
    );
    let mut response = (status, body).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/xml"),
    );
    response
}

/// The query's parameters, decoded.
fn query_pairs(query: &str) -> Vec<(String, String)> {
    url::form_urlencoded::parse(query.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// The access key that signed the request: its `Authorization` header's, or its
/// presigned query's.
fn access_key(headers: &HeaderMap, query: &[(String, String)]) -> Option<String> {
    if let Some(key) = super::access_key(headers) {
        return Some(key.to_string());
    }
    let credential = query.iter().find(|(k, _)| k == "X-Amz-Credential")?;
    credential.1.split('/').next().map(str::to_string)
}

/// `20261206T210000Z` as a time.
fn amz_date(text: &str) -> Option<SystemTime> {
    let parsed = chrono::NaiveDateTime::parse_from_str(text, "%Y%m%dT%H%M%SZ").ok()?;
    let seconds = u64::try_from(parsed.and_utc().timestamp()).ok()?;
    Some(SystemTime::UNIX_EPOCH + Duration::from_secs(seconds))
}

/// Why a presigned request is refused (as S3 would), if it is: expired, or its
/// signature is not what its access key's secret gives for what it carries.
pub fn presigned_refusal(
    method: &Method,
    uri: &axum::http::Uri,
    headers: &HeaderMap,
    query: &[(String, String)],
    access_key: &str,
    now: SystemTime,
) -> Option<(&'static str, String)> {
    let param = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let given = param("X-Amz-Signature")?;
    let (Some(date), Some(expires), Some(signed), Some(credential)) = (
        param("X-Amz-Date").and_then(amz_date),
        param("X-Amz-Expires").and_then(|e| e.parse::<u64>().ok()),
        param("X-Amz-SignedHeaders"),
        param("X-Amz-Credential"),
    ) else {
        return Some((
            "AuthorizationQueryParametersError",
            "Query-string authentication requires X-Amz-Date, X-Amz-Expires, X-Amz-SignedHeaders and X-Amz-Credential".into(),
        ));
    };
    if now > date + Duration::from_secs(expires) {
        return Some(("AccessDenied", "Request has expired".into()));
    }
    let region = credential.split('/').nth(2).unwrap_or("us-east-1");
    let mut signed_headers = Vec::new();
    for name in signed.split(';') {
        let value = headers.get(name).and_then(|v| v.to_str().ok());
        let Some(value) = value else {
            return Some((
                "AccessDenied",
                format!(
                    "There were headers present in the request which were not signed: {name} is missing"
                ),
            ));
        };
        signed_headers.push((name.to_string(), value.to_string()));
    }
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let rest: Vec<(String, String)> = query
        .iter()
        .filter(|(k, _)| !k.starts_with("X-Amz-"))
        .cloned()
        .collect();
    let mut url = url::Url::parse(&format!("http://{host}{}", uri.path())).ok()?;
    if !rest.is_empty() {
        url.query_pairs_mut().extend_pairs(rest);
    }
    let identity = aws_sdk_dynamodb::config::Credentials::new(
        access_key,
        LOCAL_SECRET,
        None,
        None,
        "strict layer",
    )
    .into();
    let mut settings = SigningSettings::default();
    settings.percent_encoding_mode = PercentEncodingMode::Single;
    settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
    settings.signature_location = SignatureLocation::QueryParams;
    settings.expires_in = Some(Duration::from_secs(expires));
    let params = aws_sigv4::sign::v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name("s3")
        .time(date)
        .settings(settings)
        .build()
        .ok()?
        .into();
    let signable = SignableRequest::new(
        method.as_str(),
        url.as_str(),
        signed_headers
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_str())),
        SignableBody::UnsignedPayload,
    )
    .ok()?;
    let (instructions, _) = sign(signable, &params).ok()?.into_parts();
    let expected = instructions
        .params()
        .iter()
        .find(|(name, _)| *name == "X-Amz-Signature")
        .map(|(_, value)| value.to_string())?;
    (expected != given).then(|| {
        (
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided. Check your key and signing method.".into(),
        )
    })
}

/// Whether `role` may list the bucket `path` is in (`s3:ListBucket`).
fn may_list(role: &super::Role, path: &str) -> bool {
    let bucket = path
        .trim_start_matches('/')
        .split('/')
        .next()
        .unwrap_or_default();
    role.policy
        .decide("s3:ListBucket", &format!("arn:aws:s3:::{bucket}"), &[])
        == Decision::Allow
}

/// Handles a request to one of the buckets: IAM, then a presigned URL's checks, then
/// the emulator.
pub(super) async fn handle(layer: &Layer, parts: Parts, body: Bytes) -> Response {
    let query = query_pairs(parts.uri.query().unwrap_or_default());
    let Some(key) = access_key(&parts.headers, &query) else {
        return refuse(
            StatusCode::FORBIDDEN,
            "AccessDenied",
            "Anonymous access is not allowed",
        );
    };
    let Some(role) = layer.roles.get(&key) else {
        return refuse(
            StatusCode::FORBIDDEN,
            "InvalidAccessKeyId",
            "The AWS Access Key Id you provided does not exist in our records.",
        );
    };
    let call = read(&parts.method, parts.uri.path(), &parts.headers);
    for (action, resource) in &call.needs {
        if role.policy.decide(action, resource, &[]) != Decision::Allow {
            let message = super::denied(layer, role, action, resource);
            return refuse(StatusCode::FORBIDDEN, "AccessDenied", &message);
        }
    }
    let presigned = query.iter().any(|(k, _)| k == "X-Amz-Signature");
    let refusal = presigned_refusal(
        &parts.method,
        &parts.uri,
        &parts.headers,
        &query,
        &key,
        SystemTime::now(),
    );
    if let Some((code, message)) = refusal {
        layer.tally.denied.fetch_add(1, Ordering::Relaxed);
        return refuse(StatusCode::FORBIDDEN, code, &message);
    }
    match super::forward(layer, &parts, body).await {
        // As S3: a missing object is a 404 only to a role that may list the bucket. (The
        // emulator answers a presigned GET of a missing key 403 SignatureDoesNotMatch,
        // though the signature was checked above: that is a missing key too.)
        Ok(response)
            if matches!(parts.method, Method::GET | Method::HEAD)
                && (response.status() == StatusCode::NOT_FOUND
                    || response.status() == StatusCode::FORBIDDEN && presigned)
                && !may_list(role, parts.uri.path()) =>
        {
            refuse(StatusCode::FORBIDDEN, "AccessDenied", "Access Denied")
        }
        Ok(response) => response,
        Err(error) => (
            StatusCode::BAD_GATEWAY,
            format!("emulator unreachable: {error}"),
        )
            .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A presigned PUT as a function makes it, then sent as given, with another length,
    /// and too late.
    #[tokio::test]
    async fn presigned_urls_hold_their_sender_to_what_was_signed_and_expire() {
        let sdk = shared::aws::for_local_function(
            "http://127.0.0.1:4566",
            "ProductsFunction",
            LOCAL_SECRET,
        )
        .await;
        let media = shared::store::media::Media::new(&sdk, "media");
        let (url, headers) = media
            .presign_put(
                "uploads/a/test/image/upl_1",
                "image/png",
                100,
                "logo.png",
                Duration::from_secs(900),
            )
            .await
            .unwrap();
        let uri: axum::http::Uri = url.as_str().parse().unwrap();
        let query = query_pairs(uri.query().unwrap());
        let sent = |length: &str| {
            let mut map = HeaderMap::new();
            map.insert(header::HOST, "127.0.0.1:4566".parse().unwrap());
            for (name, value) in &headers {
                map.insert(
                    axum::http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                    value.parse().unwrap(),
                );
            }
            map.insert(header::CONTENT_LENGTH, length.parse().unwrap());
            map
        };
        let check = |headers: &HeaderMap, at: SystemTime| {
            presigned_refusal(&Method::PUT, &uri, headers, &query, "ProductsFunction", at)
                .map(|(code, _)| code)
        };
        let now = SystemTime::now();
        assert_eq!(check(&sent("100"), now), None, "as signed");
        assert_eq!(
            check(&sent("5000"), now),
            Some("SignatureDoesNotMatch"),
            "a bigger body"
        );
        assert_eq!(
            check(&sent("100"), now + Duration::from_secs(901)),
            Some("AccessDenied"),
            "expired"
        );
    }

    #[test]
    fn calls_are_read_from_the_method_path_and_copy_source() {
        let none = HeaderMap::new();
        assert_eq!(
            read(&Method::HEAD, "/media/uploads/a/b", &none).needs,
            [("s3:GetObject", "arn:aws:s3:::media/uploads/a/b".to_string())]
        );
        let mut copy = HeaderMap::new();
        copy.insert("x-amz-copy-source", "/media/uploads/x".parse().unwrap());
        assert_eq!(
            read(&Method::PUT, "/media/images/x", &copy).needs,
            [
                ("s3:GetObject", "arn:aws:s3:::media/uploads/x".to_string()),
                ("s3:PutObject", "arn:aws:s3:::media/images/x".to_string())
            ]
        );
        assert_eq!(
            read(&Method::PUT, "/media", &none).needs,
            [("s3:CreateBucket", "arn:aws:s3:::media".to_string())]
        );
    }
}
