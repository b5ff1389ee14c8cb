//! Checking a delivery before trusting it, in each of the three ways PushGuard signs.
//!
//! - [`valid_signature`]: the original API's `X-PushGuard-Signature`, hex HMAC-SHA512 of
//!   the body keyed with the endpoint's secret. Sign the raw bytes you received, never
//!   the payload serialised again: JSON written again may differ (spacing, key order,
//!   escapes, numbers), so a genuine delivery fails, or two bodies that parse alike
//!   verify alike. It has no timestamp, so a captured delivery verifies again: prefer
//!   [`verify`].
//! - [`verify`]: Standard Webhooks `v1` (`webhook-id`, `webhook-timestamp`,
//!   `webhook-signature`), HMAC-SHA256 of `id.timestamp.body`, refusing a timestamp more
//!   than 5 minutes off.
//! - [`verify_v1a`]: the same message signed with the account's ed25519 key, checked with
//!   its published public keys ([`published_keys`], kept 5 minutes).

use crate::{Client, Error};
use base64::{Engine, engine::general_purpose::STANDARD};
use serde::de::DeserializeOwned;
use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

/// How far a timestamp may be from now.
pub const TOLERANCE: Duration = Duration::from_secs(300);
const PUBLIC_KEYS_TTL: Duration = Duration::from_secs(300);

/// The original API's check: `signature` is `X-PushGuard-Signature`, `secret` the
/// endpoint's (`whsec_...`). Compared in constant time.
pub fn valid_signature(raw_body: &[u8], signature: &str, secret: &str) -> bool {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA512, secret.as_bytes());
    match hex::decode(signature) {
        Ok(given) => ring::hmac::verify(&key, raw_body, &given).is_ok(),
        Err(_) => false,
    }
}

/// A delivery's headers as the receiver has them: `(name, value)` pairs, any case.
pub trait Headers {
    fn get_header(&self, name: &str) -> Option<String>;
}

impl<K: AsRef<str>, V: AsRef<str>> Headers for [(K, V)] {
    fn get_header(&self, name: &str) -> Option<String> {
        self.iter()
            .find(|(key, _)| key.as_ref().eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_ref().to_string())
    }
}

impl<K: AsRef<str>, V: AsRef<str>> Headers for Vec<(K, V)> {
    fn get_header(&self, name: &str) -> Option<String> {
        self.as_slice().get_header(name)
    }
}

impl Headers for HashMap<String, String> {
    fn get_header(&self, name: &str) -> Option<String> {
        self.iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.clone())
    }
}

struct Parts {
    id: String,
    timestamp: String,
    signatures: Vec<String>,
}

fn parts(headers: &(impl Headers + ?Sized), now: SystemTime) -> Result<Parts, Error> {
    let (Some(id), Some(timestamp), Some(signatures)) = (
        headers.get_header("webhook-id"),
        headers.get_header("webhook-timestamp"),
        headers.get_header("webhook-signature"),
    ) else {
        return Err(Error::Signature(
            "missing webhook-id, webhook-timestamp or webhook-signature".into(),
        ));
    };
    let at: u64 = timestamp
        .parse()
        .map_err(|_| Error::Signature("webhook-timestamp is not a number".into()))?;
    let now = now.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
    if now.abs_diff(at) > TOLERANCE.as_secs() {
        return Err(Error::Signature(
            "webhook-timestamp is too old or in the future: a replay?".into(),
        ));
    }
    Ok(Parts {
        id,
        timestamp,
        signatures: signatures.split(' ').map(str::to_string).collect(),
    })
}

fn signed(parts: &Parts, raw_body: &[u8]) -> Vec<u8> {
    let mut message = format!("{}.{}.", parts.id, parts.timestamp).into_bytes();
    message.extend_from_slice(raw_body);
    message
}

/// Standard Webhooks `v1` at `now` (`SystemTime::now()` in a receiver): the parsed event.
pub fn verify<T: DeserializeOwned>(
    raw_body: &[u8],
    headers: &(impl Headers + ?Sized),
    secret: &str,
    now: SystemTime,
) -> Result<T, Error> {
    let parts = parts(headers, now)?;
    let key = STANDARD
        .decode(secret.trim_start_matches("whsec_"))
        .map_err(|_| Error::Signature("the secret is not whsec_ and base64".into()))?;
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &key);
    let message = signed(&parts, raw_body);
    let valid = parts.signatures.iter().any(|entry| {
        entry
            .strip_prefix("v1,")
            .and_then(|given| STANDARD.decode(given).ok())
            .is_some_and(|given| ring::hmac::verify(&key, &message, &given).is_ok())
    });
    if !valid {
        return Err(Error::Signature(
            "no v1 signature matches the secret".into(),
        ));
    }
    serde_json::from_slice(raw_body).map_err(|e| Error::Decode(e.to_string()))
}

/// `v1a` (ed25519) at `now`, with `public_keys` (`whpk_...`): the parsed event.
pub fn verify_v1a<T: DeserializeOwned>(
    raw_body: &[u8],
    headers: &(impl Headers + ?Sized),
    public_keys: &[String],
    now: SystemTime,
) -> Result<T, Error> {
    let parts = parts(headers, now)?;
    let message = signed(&parts, raw_body);
    let keys: Vec<Vec<u8>> = public_keys
        .iter()
        .filter_map(|key| STANDARD.decode(key.trim_start_matches("whpk_")).ok())
        .collect();
    let valid = parts.signatures.iter().any(|entry| {
        entry
            .strip_prefix("v1a,")
            .and_then(|given| STANDARD.decode(given).ok())
            .is_some_and(|given| {
                keys.iter().any(|key| {
                    ring::signature::UnparsedPublicKey::new(&ring::signature::ED25519, key)
                        .verify(&message, &given)
                        .is_ok()
                })
            })
    });
    if !valid {
        return Err(Error::Signature(
            "no v1a signature matches the account's public keys".into(),
        ));
    }
    serde_json::from_slice(raw_body).map_err(|e| Error::Decode(e.to_string()))
}

type Cached = (Instant, Vec<(String, String)>);
static PUBLISHED: Mutex<Option<HashMap<String, Cached>>> = Mutex::new(None);

/// The account's published public keys (`whpk_...`), of one mode if given, kept 5 minutes.
pub async fn published_keys(
    client: &Client,
    account_id: &str,
    mode: Option<&str>,
) -> Result<Vec<String>, Error> {
    let cached = PUBLISHED
        .lock()
        .expect("the keys' cache")
        .get_or_insert_with(HashMap::new)
        .get(account_id)
        .filter(|(until, _)| *until > Instant::now())
        .map(|(_, keys)| keys.clone());
    let keys = match cached {
        Some(keys) => keys,
        None => {
            let answer = client
                .webhooks()
                .public_keys()
                .retrieve(account_id, &serde_json::json!({}))
                .await?;
            let keys: Vec<(String, String)> = answer
                .keys
                .iter()
                .map(|key| (key.key.clone(), key.mode.to_string()))
                .collect();
            PUBLISHED
                .lock()
                .expect("the keys' cache")
                .get_or_insert_with(HashMap::new)
                .insert(
                    account_id.to_string(),
                    (Instant::now() + PUBLIC_KEYS_TTL, keys.clone()),
                );
            keys
        }
    };
    Ok(keys
        .into_iter()
        .filter(|(_, key_mode)| mode.is_none_or(|mode| key_mode == mode))
        .map(|(key, _)| key)
        .collect())
}

/// A thin delivery's object as it is now, read with `client`'s key (`None` when the
/// event names none, as a ping).
pub async fn fetch_resource(
    client: &Client,
    event: &serde_json::Value,
) -> Result<Option<serde_json::Value>, Error> {
    let resource = &event["resource"];
    let (Some(kind), Some(id)) = (resource["type"].as_str(), resource["id"].as_str()) else {
        return Ok(None);
    };
    let operation = match kind {
        "order" => "getOrdersById",
        "product" => "getProductsById",
        "category" => "getCategoriesById",
        "feedback" => "getFeedbackById",
        "query" => "getQueriesById",
        "blacklist" => "getBlacklistsById",
        other => return Err(Error::Usage(format!("no resource reads {other}"))),
    };
    let answer = client
        .call(operation, &[id], &serde_json::json!({}))
        .await?;
    Ok(Some(answer))
}
