//! Authentication and authorization: API keys in `Authorization: Basic
//! base64(email:key)`, `Authorization: Bearer key` or `X-Api-Key: key`, optionally
//! signed (`X-PushGuard-Timestamp` + `X-PushGuard-Sign`), resolved to a [`Principal`]
//! whose scopes decide which [`Tenant`] operations it may perform.

use crate::{
    ApiError, ApiResult, Mode, Tenant, Timestamp,
    ids::{AccountId, ApiKeyId},
    limits::MAX_BODY_BYTES,
    secrets::{ApiKeySecret, RequestSigningSecret},
    store::{self, Db},
};

pub use crate::scopes::{Access, Group, InGroup, Level, Needs, Read, Scope, Write, groups};
use axum::{
    body::Body,
    extract::{FromRequestParts, Request},
    http::{HeaderMap, header, request::Parts},
};
use base64::{Engine, engine::general_purpose::STANDARD as BASE64};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use std::{
    collections::HashMap,
    marker::PhantomData,
    sync::Mutex,
    time::{Duration, Instant},
};

pub const TIMESTAMP_HEADER: &str = "x-pushguard-timestamp";
pub const SIGN_HEADER: &str = "x-pushguard-sign";

/// Who is calling: the account, the key used and what that key may do.
#[derive(Clone, Debug)]
pub struct Principal {
    pub account_id: AccountId,
    pub email: String,
    pub key_id: ApiKeyId,
    /// The hash of the key's version (a roll makes a new one under the same id): what
    /// a portal session is bound to. Never shown.
    pub key_hash: String,
    pub mode: Mode,
    pub scopes: Vec<Scope>,
    pub require_signed: bool,
    /// What its signed requests are signed with (keys that require signing have one).
    pub signing_secret: Option<RequestSigningSecret>,
    /// Set while a rolled key is in its grace period.
    pub expires_at: Option<Timestamp>,
    /// The child account the request acts for (`X-Child-Company-Id`, or a Key/Sign
    /// body's `account`): the tenant is the child's, in the key's mode, with the key's
    /// scopes. `account_id` stays the key's own, the holding account that acted.
    pub acting_for: Option<AccountId>,
}

/// The header a holding account's key names the child it acts for with (Conekta's).
pub const CHILD_HEADER: &str = "x-child-company-id";

impl Principal {
    /// The tenant to act on, if the key's scopes allow `access`; 403 otherwise.
    pub fn authorize(&self, access: Access) -> ApiResult<Tenant> {
        if self.scopes.iter().any(|s| s.allows(access)) {
            Ok(self.tenant())
        } else {
            Err(ApiError::Forbidden)
        }
    }

    /// The tenant the request acts on (the child's when it acts for one), for code
    /// that checked scopes itself.
    pub(crate) fn tenant(&self) -> Tenant {
        let account = self.acting_for.as_ref().unwrap_or(&self.account_id);
        Tenant::new(account.clone(), self.mode)
    }

    fn is_expired(&self, now: Timestamp) -> bool {
        self.expires_at.is_some_and(|at| at <= now)
    }
}

/// The tenant a handler acts on, given only when the caller's key allows what `N`
/// names: 401 without a key, 403 without the scope. Every route's scope is in its
/// handler's signature, checked in this one place. Derefs to [`Tenant`].
pub struct Scoped<N> {
    tenant: Tenant,
    needs: PhantomData<N>,
}

impl<N> std::ops::Deref for Scoped<N> {
    type Target = Tenant;

    fn deref(&self) -> &Tenant {
        &self.tenant
    }
}

impl<N> Scoped<N> {
    pub fn into_tenant(self) -> Tenant {
        self.tenant
    }
}

impl<N: Needs, S: Send + Sync> FromRequestParts<S> for Scoped<N> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let principal = parts
            .extensions
            .get::<Principal>()
            .ok_or(ApiError::Unauthenticated)?;
        Ok(Scoped {
            tenant: principal.authorize(N::ACCESS)?,
            needs: PhantomData,
        })
    }
}

/// The authenticated caller, as a handler argument; 401 when the request had no key.
pub struct Auth(pub Principal);

impl<S: Send + Sync> FromRequestParts<S> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Principal>()
            .cloned()
            .map(Auth)
            .ok_or(ApiError::Unauthenticated)
    }
}

/// Credentials as presented.
#[derive(Debug, PartialEq, Eq)]
enum Credentials {
    Basic { email: String, key: String },
    Key(String),
}

impl Credentials {
    fn key(&self) -> &str {
        match self {
            Credentials::Basic { key, .. } | Credentials::Key(key) => key,
        }
    }
}

/// Reads credentials from the headers; `None` when there are none, 401 when malformed.
fn credentials(headers: &HeaderMap) -> ApiResult<Option<Credentials>> {
    if let Some(value) = headers.get(header::AUTHORIZATION) {
        let value = value.to_str().map_err(|_| ApiError::Unauthenticated)?;
        let (scheme, rest) = value.split_once(' ').ok_or(ApiError::Unauthenticated)?;
        let rest = rest.trim();
        return if scheme.eq_ignore_ascii_case("basic") {
            let decoded = BASE64
                .decode(rest)
                .ok()
                .and_then(|bytes| String::from_utf8(bytes).ok())
                .ok_or(ApiError::Unauthenticated)?;
            let (email, key) = decoded.split_once(':').ok_or(ApiError::Unauthenticated)?;
            Ok(Some(Credentials::Basic {
                email: email.to_string(),
                key: key.to_string(),
            }))
        } else if scheme.eq_ignore_ascii_case("bearer") {
            Ok(Some(Credentials::Key(rest.to_string())))
        } else {
            Err(ApiError::Unauthenticated)
        };
    }
    match headers.get("x-api-key") {
        Some(value) => {
            let key = value.to_str().map_err(|_| ApiError::Unauthenticated)?;
            Ok(Some(Credentials::Key(key.trim().to_string())))
        }
        None => Ok(None),
    }
}

/// The [`CallerKey`](crate::secrets::CallerKey) of the API key a request presents.
pub fn caller_key(headers: &HeaderMap) -> Option<crate::secrets::SealingKey> {
    let credentials = credentials(headers).ok()??;
    let key = ApiKeySecret::parse(credentials.key())?;
    Some(crate::secrets::CallerKey::derive(&key))
}

const CACHE_CAPACITY: usize = 10_000;

/// Resolves keys to principals. A warm function caches what a key stands for (its
/// account, scopes, signing secret) for the TTL, but asks the keys table on every
/// request whether the key still exists (one strongly consistent read): a revoked key,
/// or a rolled one past its grace, fails on the very next request everywhere.
pub struct Authenticator {
    ttl: Duration,
    cache: Mutex<HashMap<String, (Instant, Principal)>>,
}

impl Authenticator {
    pub fn new(ttl: Duration) -> Self {
        Authenticator {
            ttl,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// The principal a key stands for; 401 for unknown, revoked or expired keys.
    pub async fn resolve(
        &self,
        db: &store::Db,
        keyring: &crate::keyring::Keyring,
        key: &ApiKeySecret,
    ) -> ApiResult<Principal> {
        let hash = key.hash();
        let now = Timestamp::now();
        if let Some(mut principal) = self.cached(&hash) {
            let Some(standing) = store::api_keys::standing(db, &hash).await? else {
                self.forget([&hash]);
                return Err(ApiError::Unauthenticated);
            };
            // A roll after the principal was cached gives the old version an end.
            principal.expires_at = standing.expires_at;
            return live(principal, now);
        }
        let stored = store::api_keys::find_by_hash(db, &hash)
            .await?
            .ok_or(ApiError::Unauthenticated)?;
        let account = store::accounts::get(db, &stored.account_id)
            .await?
            .filter(|account| account.closed_at.is_none())
            .ok_or(ApiError::Unauthenticated)?;
        // Sealed at rest; opened once per cached principal, only for keys that sign.
        let signing_secret = stored.open_signing_secret(keyring).await?;
        let principal = Principal {
            account_id: account.id,
            email: account.email,
            key_id: stored.id,
            key_hash: stored.key_hash,
            mode: stored.mode,
            scopes: stored.scopes,
            require_signed: stored.require_signed,
            signing_secret,
            expires_at: stored.expires_at,
            acting_for: None,
        };
        self.remember(hash, principal.clone());
        live(principal, now)
    }

    /// Drops cached entries for these key hashes (after a revoke or roll).
    pub fn forget<'a>(&self, hashes: impl IntoIterator<Item = &'a String>) {
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        for hash in hashes {
            cache.remove(hash);
        }
    }

    fn cached(&self, hash: &str) -> Option<Principal> {
        let cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        cache
            .get(hash)
            .filter(|(at, _)| at.elapsed() < self.ttl)
            .map(|(_, p)| p.clone())
    }

    fn remember(&self, hash: String, principal: Principal) {
        if self.ttl.is_zero() {
            return;
        }
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        if cache.len() >= CACHE_CAPACITY {
            let ttl = self.ttl;
            cache.retain(|_, (at, _)| at.elapsed() < ttl);
            if cache.len() >= CACHE_CAPACITY {
                cache.clear();
            }
        }
        cache.insert(hash, (Instant::now(), principal));
    }
}

fn live(principal: Principal, now: Timestamp) -> ApiResult<Principal> {
    if principal.is_expired(now) {
        Err(ApiError::Unauthenticated)
    } else {
        Ok(principal)
    }
}

/// Middleware: resolves credentials, when present, to a [`Principal`] in the request
/// extensions, verifying the request signature when one is sent or the key requires it.
/// Requests without credentials pass through; routes that need a key take [`Auth`].
pub async fn authenticate(
    keys: &Authenticator,
    db: &Db,
    keyring: &crate::keyring::Keyring,
    signed_request_tolerance: Duration,
    request: Request,
) -> Result<Request, ApiError> {
    let Some(credentials) = credentials(request.headers())? else {
        return Ok(request);
    };
    let key = ApiKeySecret::parse(credentials.key()).ok_or(ApiError::Unauthenticated)?;
    let principal = keys.resolve(db, keyring, &key).await?;
    if let Credentials::Basic { email, .. } = &credentials
        && !email.eq_ignore_ascii_case(&principal.email)
    {
        return Err(ApiError::Unauthenticated);
    }
    let mut request = request;
    let mut child = request
        .headers()
        .get(CHILD_HEADER)
        .map(|v| v.to_str().unwrap_or_default().trim().to_string());
    if request.extensions().get::<BodySigned>().is_some() {
        let secret = principal
            .signing_secret
            .as_ref()
            .ok_or(ApiError::Unauthenticated)?;
        let account;
        (request, account) =
            verify_body_signature(db, signed_request_tolerance, secret, request).await?;
        // The Key/Sign body names the account the request is for.
        child = child.or(account);
    } else if request.headers().contains_key(SIGN_HEADER) || principal.require_signed {
        // Only a key with a signing secret can sign; the key itself never does.
        let secret = principal
            .signing_secret
            .as_ref()
            .ok_or(ApiError::Unauthenticated)?;
        request = verify_signature(db, signed_request_tolerance, secret, request).await?;
    }
    let mut principal = principal;
    if let Some(child) = child.filter(|id| *id != principal.account_id.as_str()) {
        principal.acting_for = Some(child_of(db, &principal, &child).await?);
    }
    let span = tracing::Span::current();
    span.record("tenant", principal.tenant().partition());
    if principal.acting_for.is_some() {
        // Whose key acted, beside the tenant charged.
        span.record("acting_account", principal.account_id.as_str());
        crate::metrics::count("ChildAccountRequests", &[], 1);
    }
    request.extensions_mut().insert(principal);
    Ok(request)
}

/// The child account `text` names, if it is an open child of the principal's account;
/// 404 otherwise, the same for "not yours" as for "does not exist" (a sibling, the
/// parent from a child, another holding's child, an unknown or malformed id).
async fn child_of(db: &Db, principal: &Principal, text: &str) -> ApiResult<AccountId> {
    let id = AccountId::parse(text).map_err(|_| ApiError::NotFound("Account"))?;
    let child = store::accounts::get(db, &id).await?;
    match child {
        Some(child)
            if child.parent_id.as_ref() == Some(&principal.account_id)
                && child.closed_at.is_none() =>
        {
            Ok(child.id)
        }
        _ => Err(ApiError::NotFound("Account")),
    }
}

/// Whether a client's timestamp (epoch milliseconds, any `i64` it sent) is within
/// `tolerance` of `now`, either side. The distance is taken without overflow: a
/// timestamp of `i64::MIN` is simply far away.
fn on_time(sent_at: i64, now: Timestamp, tolerance: Duration) -> bool {
    u128::from(now.as_millis().abs_diff(sent_at)) <= tolerance.as_millis()
}

/// Checks `X-PushGuard-Sign` (see [`request_signature`]), the timestamp window, and
/// that the signature was never seen before.
async fn verify_signature(
    db: &Db,
    tolerance: Duration,
    secret: &RequestSigningSecret,
    request: Request,
) -> ApiResult<Request> {
    let timestamp = header_string(request.headers(), TIMESTAMP_HEADER)?;
    let signature = header_string(request.headers(), SIGN_HEADER)?;
    let sent_at: i64 = timestamp.parse().map_err(|_| ApiError::Unauthenticated)?;
    if !on_time(sent_at, Timestamp::now(), tolerance) {
        return Err(ApiError::Unauthenticated);
    }
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, MAX_BODY_BYTES)
        .await
        .map_err(|_| ApiError::PayloadTooLarge)?;
    let expected = request_signature(
        secret.expose(),
        &timestamp,
        parts.method.as_str(),
        parts.uri.path(),
        parts.uri.query().unwrap_or(""),
        &body,
    );
    let presented = hex::decode(signature.trim()).map_err(|_| ApiError::Unauthenticated)?;
    if !crate::secrets::constant_time_eq(&expected, &presented) {
        return Err(ApiError::Unauthenticated);
    }
    // A signature stays replayable for as long as its timestamp is acceptable.
    let forget_after = Timestamp::from_millis(sent_at.saturating_add(tolerance.as_millis() as i64));
    if !store::requests::claim_signature(db, &hex::encode(&expected), forget_after).await? {
        return Err(ApiError::Unauthenticated);
    }
    Ok(Request::from_parts(parts, Body::from(body)))
}

/// Marks a request signed the way the Key/Sign subscription API (seed 004) signs: the
/// key in `Key`, and in `Sign` the hex HMAC-SHA256 of the raw body under the key's
/// signing secret; the body's `timestamp` (unix milliseconds) says when. Only that
/// dialect's edge marks requests so (`crate::dialects::keysign`): no other route
/// accepts the scheme.
#[derive(Clone, Copy, Debug)]
pub struct BodySigned;

/// The header that carries a [`BodySigned`] request's signature.
pub const BODY_SIGN_HEADER: &str = "sign";

/// Checks a [`BodySigned`] request: its `Sign`, the body's `timestamp` within the
/// window, and that the signature was never seen before. Also gives the body's
/// `account`, the account the request is for.
async fn verify_body_signature(
    db: &Db,
    tolerance: Duration,
    secret: &RequestSigningSecret,
    request: Request,
) -> ApiResult<(Request, Option<String>)> {
    let signature = header_string(request.headers(), BODY_SIGN_HEADER)?;
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, MAX_BODY_BYTES)
        .await
        .map_err(|_| ApiError::PayloadTooLarge)?;
    let json = serde_json::from_slice::<serde_json::Value>(&body).ok();
    let sent_at = json
        .as_ref()
        .and_then(|body| body.get("timestamp").and_then(serde_json::Value::as_i64))
        .ok_or(ApiError::Unauthenticated)?;
    let account = json
        .as_ref()
        .and_then(|body| body.get("account")?.as_str().map(str::to_string));
    if !on_time(sent_at, Timestamp::now(), tolerance) {
        return Err(ApiError::Unauthenticated);
    }
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.expose().as_bytes())
        .expect("HMAC takes any key length");
    mac.update(&body);
    let expected = mac.finalize().into_bytes();
    let presented = hex::decode(signature.trim()).map_err(|_| ApiError::Unauthenticated)?;
    if !crate::secrets::constant_time_eq(&expected, &presented) {
        return Err(ApiError::Unauthenticated);
    }
    let forget_after = Timestamp::from_millis(sent_at.saturating_add(tolerance.as_millis() as i64));
    if !store::requests::claim_signature(db, &hex::encode(expected), forget_after).await? {
        return Err(ApiError::Unauthenticated);
    }
    Ok((Request::from_parts(parts, Body::from(body)), account))
}

fn header_string(headers: &HeaderMap, name: &str) -> ApiResult<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .ok_or(ApiError::Unauthenticated)
}

/// HMAC-SHA256 of a signed request, as raw bytes: keyed with the signing secret, over
/// `"{timestamp}\n{METHOD}\n{path}\n{query}\n{hex SHA-256 of the body}"`. Each part is a
/// line, so no two requests share a string to sign.
pub fn request_signature(
    signing_secret: &str,
    timestamp: &str,
    method: &str,
    path: &str,
    query: &str,
    body: &[u8],
) -> Vec<u8> {
    use sha2::Digest;
    let mut mac = Hmac::<Sha256>::new_from_slice(signing_secret.as_bytes())
        .expect("HMAC takes any key length");
    let body_hash = hex::encode(Sha256::digest(body));
    mac.update(format!("{timestamp}\n{method}\n{path}\n{query}\n{body_hash}").as_bytes());
    mac.finalize().into_bytes().to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(
                axum::http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        map
    }

    #[test]
    fn a_timestamp_is_on_time_within_the_tolerance_and_extremes_are_just_late() {
        let now = Timestamp::from_millis(1_700_000_000_000);
        let five = Duration::from_secs(300);
        assert!(on_time(now.as_millis(), now, five));
        assert!(on_time(now.as_millis() - 300_000, now, five));
        assert!(on_time(now.as_millis() + 300_000, now, five));
        assert!(!on_time(now.as_millis() - 300_001, now, five));
        assert!(!on_time(now.as_millis() + 300_001, now, five));
        for extreme in [i64::MIN, i64::MIN + 1, i64::MAX, 0, -1] {
            assert!(!on_time(extreme, now, five), "{extreme}");
        }
    }

    #[test]
    fn parses_the_three_credential_forms() {
        let basic = BASE64.encode("me@example.com:pg_test_abc");
        assert_eq!(
            credentials(&headers(&[("authorization", &format!("Basic {basic}"))])).unwrap(),
            Some(Credentials::Basic {
                email: "me@example.com".into(),
                key: "pg_test_abc".into()
            })
        );
        assert_eq!(
            credentials(&headers(&[("authorization", "Bearer pg_live_x")])).unwrap(),
            Some(Credentials::Key("pg_live_x".into()))
        );
        assert_eq!(
            credentials(&headers(&[("x-api-key", "pg_live_y")])).unwrap(),
            Some(Credentials::Key("pg_live_y".into()))
        );
        assert_eq!(credentials(&headers(&[])).unwrap(), None);
    }

    #[test]
    fn malformed_authorization_is_rejected() {
        for value in ["Basic !!!", "Digest abc", "Bearer", "Basic bm9jb2xvbg=="] {
            assert!(
                credentials(&headers(&[("authorization", value)])).is_err(),
                "{value}"
            );
        }
    }

    #[test]
    fn scopes_parse_display_and_imply_read_from_write() {
        let write: Scope = "webhooks:write".parse().unwrap();
        assert_eq!(write.to_string(), "webhooks:write");
        assert!(write.allows(Access::read(Group::Webhooks)));
        assert!(write.allows(Access::write(Group::Webhooks)));
        assert!(!write.allows(Access::read(Group::Account)));
        let read: Scope = "blacklist_rules:read".parse().unwrap();
        assert!(!read.allows(Access::write(Group::BlacklistRules)));
        assert!(Scope::All.allows(Access::write(Group::Orders)));
        for bad in ["", "webhooks", "webhooks:admin", "nope:read", "**"] {
            assert!(bad.parse::<Scope>().is_err(), "{bad}");
        }
    }

    #[test]
    fn a_key_cannot_grant_more_than_it_holds() {
        let held = ["webhooks:write".parse::<Scope>().unwrap()];
        assert!(
            "webhooks:read"
                .parse::<Scope>()
                .unwrap()
                .is_covered_by(&held)
        );
        assert!(
            !"account:read"
                .parse::<Scope>()
                .unwrap()
                .is_covered_by(&held)
        );
        assert!(!Scope::All.is_covered_by(&held));
        assert!(Scope::All.is_covered_by(&[Scope::All]));
    }

    #[test]
    fn request_signature_covers_every_part() {
        let base = request_signature("k", "1", "POST", "/a", "b=c", b"{}");
        assert_eq!(base.len(), 32);
        assert_ne!(
            base,
            request_signature("k2", "1", "POST", "/a", "b=c", b"{}")
        );
        assert_ne!(
            base,
            request_signature("k", "2", "POST", "/a", "b=c", b"{}")
        );
        assert_ne!(base, request_signature("k", "1", "PUT", "/a", "b=c", b"{}"));
        assert_ne!(
            base,
            request_signature("k", "1", "POST", "/a", "b=d", b"{}")
        );
        assert_ne!(
            base,
            request_signature("k", "1", "POST", "/a", "b=c", b"{ }")
        );
        // The old "{t}.{M}.{target}.{body}" form let parts slide into each other.
        assert_ne!(
            request_signature("k", "1", "POST", "/a", "", b"x"),
            request_signature("k", "1", "POST", "/a\n", "", b"x")
        );
        assert!(crate::secrets::constant_time_eq(&base, &base.clone()));
        assert!(!crate::secrets::constant_time_eq(&base, &base[..31]));
    }
}
