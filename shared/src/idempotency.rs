//! `Idempotency-Key` on `POST`, as Stripe and the IETF draft define it.
//!
//! A key (1 to 255 printable ASCII characters) belongs to the API key that sent it
//! (all versions of a rolled key alike) for 24 hours: another API key of the same
//! tenant may use the same text for requests of its own. The first request with it claims it with a conditional write; while it runs,
//! every transaction it commits also marks the key committed (in the same write), and
//! when it ends its response is kept, sealed with a key only the caller's API key can
//! rebuild ([`CallerKey`](crate::secrets::CallerKey)). A repeat of the same request (same API key, method, path,
//! query and body) gets that response with `Idempotent-Replayed: true`; another request
//! with the key is `422`; a repeat while the first still runs is `409`.
//!
//! A request that failed without changing anything (a validation error, a conflict, a
//! store that was unavailable) releases the key, so it can be sent again as it is.

use crate::t;
use crate::{
    ApiError, AppState,
    auth::{self, Principal},
    limits::MAX_BODY_BYTES,
    secrets::SealingKey,
    store::requests::{self, Claim, HeldKey, IdempotencyRecord, Progress},
};
use axum::{
    body::{Body, Bytes},
    extract::{Request, State},
    http::{HeaderName, HeaderValue, Method, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use base64::{Engine, engine::general_purpose::STANDARD as BASE64};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::time::Duration;

pub const KEY_HEADER: &str = "idempotency-key";
pub const REPLAYED_HEADER: &str = "idempotent-replayed";

/// How long a key and its response are kept.
const KEEP: Duration = Duration::from_secs(24 * 3600);
/// How long a request may hold a key before another with the same body may take it
/// over: longer than any function runs (29 s), so only a crashed request loses it.
const LEASE: Duration = Duration::from_secs(60);
const MAX_KEY_LENGTH: usize = 255;
/// A response larger than this is not kept (an item holds at most 400 KB).
const MAX_KEPT_RESPONSE: usize = 300 * 1024;

/// Middleware for authenticated routes: see the module documentation.
pub async fn idempotent(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let Some(key) = request.headers().get(KEY_HEADER) else {
        return Ok(next.run(request).await);
    };
    if request.method() != Method::POST {
        return Ok(next.run(request).await);
    }
    let key = parse_key(key)?;
    // Without a key the route answers 401 itself.
    let (Some(principal), Some(caller)) = (
        request.extensions().get::<Principal>().cloned(),
        auth::caller_key(request.headers()),
    ) else {
        return Ok(next.run(request).await);
    };
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, MAX_BODY_BYTES)
        .await
        .map_err(|_| ApiError::PayloadTooLarge)?;
    let fingerprint = fingerprint(
        &principal.key_id,
        &parts.method,
        parts.uri.path(),
        parts.uri.query().unwrap_or(""),
        &body,
    );
    let id = format!(
        "idem#{}#{}#{}",
        principal.tenant().partition(),
        principal.key_id,
        hex::encode(Sha256::digest(key.as_bytes()))
    );
    let token = hex::encode(rand::random::<[u8; 16]>());
    match requests::claim_idempotency(&state.db, &id, &fingerprint, &token, LEASE, KEEP).await? {
        Claim::Held => {}
        Claim::Taken(record) => return answer_repeat(&id, &record, &fingerprint, &caller),
    }
    let held = HeldKey::new(id, token);
    let request = Request::from_parts(parts, Body::from(body));
    let response = held.clone().hold(next.run(request)).await;
    Ok(finish(&state, &held, &caller, response).await)
}

/// The key as sent, if it is 1 to 255 printable ASCII characters.
fn parse_key(value: &HeaderValue) -> Result<String, ApiError> {
    value
        .to_str()
        .ok()
        .filter(|key| {
            (1..=MAX_KEY_LENGTH).contains(&key.len())
                && key.bytes().all(|b| (0x20..0x7f).contains(&b))
        })
        .map(str::to_string)
        .ok_or_else(|| {
            ApiError::BadRequest(t!(
                "Idempotency-Key must be 1 to 255 printable ASCII characters"
            ))
        })
}

/// What makes two requests the same: the API key, method, path, query and body.
fn fingerprint(key_id: &str, method: &Method, path: &str, query: &str, body: &[u8]) -> String {
    let mut digest = Sha256::new();
    for part in [
        key_id.as_bytes(),
        method.as_str().as_bytes(),
        path.as_bytes(),
        query.as_bytes(),
    ] {
        digest.update((part.len() as u64).to_be_bytes());
        digest.update(part);
    }
    digest.update(Sha256::digest(body));
    hex::encode(digest.finalize())
}

/// The answer to a request whose key another request holds or held.
fn answer_repeat(
    id: &str,
    record: &IdempotencyRecord,
    fingerprint: &str,
    caller: &SealingKey,
) -> Result<Response, ApiError> {
    if record.fingerprint != fingerprint {
        return Err(ApiError::Unprocessable(t!(
            "This Idempotency-Key was used with a different request (another API key, \
             method, path or body); use a new key for a new request"
        )));
    }
    match (record.progress, &record.response) {
        (Progress::Complete, Some(sealed)) => caller
            .open(id, sealed)
            .and_then(|plain| serde_json::from_slice::<KeptResponse>(&plain).ok())
            .and_then(KeptResponse::into_response)
            .ok_or_else(|| {
                ApiError::Conflict(t!(
                    "The response to this Idempotency-Key was kept for an earlier secret of \
                     this API key and cannot be replayed"
                ))
            }),
        (Progress::Committed, _) if record.lease_until < crate::Timestamp::now() => {
            Err(ApiError::Conflict(t!(
                "The request with this Idempotency-Key made its change, but its response was \
                 lost; retrieve the object instead of sending the request again"
            )))
        }
        _ => Err(ApiError::Conflict(t!(
            "A request with this Idempotency-Key is still in progress; try again when it \
             has finished"
        ))),
    }
}

/// After the request ran: keep its response when it changed something or succeeded,
/// else free the key.
async fn finish(
    state: &AppState,
    held: &HeldKey,
    caller: &SealingKey,
    response: Response,
) -> Response {
    let (parts, body) = response.into_parts();
    let body = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(body) => body,
        Err(error) => {
            tracing::error!(%error, "could not read a response to keep it");
            return ApiError::internal("unreadable response").into_response();
        }
    };
    let keep = held.committed() || parts.status.is_success();
    let outcome = if keep {
        let kept = KeptResponse::of(parts.status, &parts.headers, &body);
        let plain = serde_json::to_vec(&kept).expect("a kept response serialises");
        if plain.len() > MAX_KEPT_RESPONSE {
            tracing::warn!(
                bytes = plain.len(),
                "response too large to keep for its Idempotency-Key"
            );
            Ok(false)
        } else {
            let sealed = caller.seal(held.id(), &plain);
            requests::complete_idempotency(&state.db, held.id(), held.token(), sealed).await
        }
    } else {
        requests::release_idempotency(&state.db, held.id(), held.token()).await
    };
    match outcome {
        Ok(true) => {}
        Ok(false) => tracing::warn!(
            keep,
            "the Idempotency-Key was no longer held when the request ended"
        ),
        Err(error) => {
            tracing::warn!(%error, keep, "could not record the end of an idempotent request")
        }
    }
    Response::from_parts(parts, Body::from(body))
}

/// A response as kept for replay.
#[derive(Serialize, Deserialize)]
struct KeptResponse {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl KeptResponse {
    /// Headers that describe this response (not the moment or the connection).
    fn of(status: StatusCode, headers: &axum::http::HeaderMap, body: &Bytes) -> Self {
        let headers = headers
            .iter()
            .filter(|(name, _)| {
                ![header::DATE, header::CONTENT_LENGTH, header::CONNECTION].contains(name)
            })
            .filter_map(|(name, value)| Some((name.to_string(), value.to_str().ok()?.to_string())))
            .collect();
        KeptResponse {
            status: status.as_u16(),
            headers,
            body: BASE64.encode(body),
        }
    }

    fn into_response(self) -> Option<Response> {
        let mut response = Response::new(Body::from(BASE64.decode(self.body).ok()?));
        *response.status_mut() = StatusCode::from_u16(self.status).ok()?;
        for (name, value) in self.headers {
            response.headers_mut().append(
                HeaderName::try_from(name).ok()?,
                HeaderValue::try_from(value).ok()?,
            );
        }
        response
            .headers_mut()
            .insert(REPLAYED_HEADER, HeaderValue::from_static("true"));
        Some(response)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_one_to_255_printable_ascii_characters() {
        for ok in ["a", "order-42 retry", &"k".repeat(255), "~!@#$%^&*()"] {
            assert_eq!(parse_key(&HeaderValue::from_str(ok).unwrap()).unwrap(), ok);
        }
        for bad in [String::new(), "k".repeat(256), "tab\there".into()] {
            let value = HeaderValue::from_str(&bad).unwrap();
            assert!(
                matches!(parse_key(&value), Err(ApiError::BadRequest(_))),
                "{bad:?}"
            );
        }
        let non_ascii = HeaderValue::from_bytes("clé".as_bytes()).unwrap();
        assert!(parse_key(&non_ascii).is_err());
    }

    #[test]
    fn fingerprints_tell_every_part_of_a_request_apart() {
        let base = fingerprint("key_1", &Method::POST, "/api/v2/orders", "", b"{}");
        assert_eq!(
            base,
            fingerprint("key_1", &Method::POST, "/api/v2/orders", "", b"{}")
        );
        for other in [
            fingerprint("key_2", &Method::POST, "/api/v2/orders", "", b"{}"),
            fingerprint("key_1", &Method::PUT, "/api/v2/orders", "", b"{}"),
            fingerprint("key_1", &Method::POST, "/api/v2/orders/x", "", b"{}"),
            fingerprint("key_1", &Method::POST, "/api/v2/orders", "a=1", b"{}"),
            fingerprint("key_1", &Method::POST, "/api/v2/orders", "", b"{ }"),
            // Parts cannot run into each other.
            fingerprint("key_1P", &Method::POST, "OST/api/v2/orders", "", b"{}"),
        ] {
            assert_ne!(base, other);
        }
    }

    #[tokio::test]
    async fn a_kept_response_replays_its_status_headers_and_body() {
        let mut headers = axum::http::HeaderMap::new();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        headers.insert(
            header::DATE,
            HeaderValue::from_static("Sun, 22 Nov 2026 06:00:00 GMT"),
        );
        let body = Bytes::from_static(b"{\"id\":\"ord_1\"}");
        let kept = KeptResponse::of(StatusCode::CREATED, &headers, &body);
        let response = kept.into_response().unwrap();
        assert_eq!(response.status(), StatusCode::CREATED);
        assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json");
        assert_eq!(response.headers()[REPLAYED_HEADER], "true");
        assert!(!response.headers().contains_key(header::DATE));
        let replayed = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        assert_eq!(replayed, body);
    }
}
