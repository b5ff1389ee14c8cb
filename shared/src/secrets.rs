//! Secrets: API keys (shown once, stored as SHA-256 hashes) and webhook signing
//! secrets (`whsec_` + base64 of 32 random bytes, kept so deliveries can be signed).

use crate::t;
use crate::{Mode, Timestamp};
use base64::{Engine, engine::general_purpose::STANDARD as BASE64};
use rand::{Rng, RngCore, distr::Alphanumeric};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::time::Duration;

const KEY_RANDOM_CHARS: usize = 32;

/// Compares in time independent of where the inputs differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A plaintext API key, `pg_live_...` or `pg_test_...`. Exists only while a request is
/// authenticated or a key is created; only its hash is stored.
#[derive(Clone)]
pub struct ApiKeySecret(String);

impl ApiKeySecret {
    /// A new random key of the given mode (32 alphanumerics: about 190 bits).
    pub fn generate(mode: Mode) -> Self {
        let random: String = rand::rng()
            .sample_iter(&Alphanumeric)
            .take(KEY_RANDOM_CHARS)
            .map(char::from)
            .collect();
        ApiKeySecret(format!("pg_{mode}_{random}"))
    }

    /// Accepts a key presented by a client or an operator, if it has a valid shape.
    pub fn parse(text: &str) -> Option<Self> {
        let rest = text
            .strip_prefix("pg_live_")
            .or_else(|| text.strip_prefix("pg_test_"))?;
        let valid = (16..=128).contains(&rest.len())
            && rest.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        valid.then(|| ApiKeySecret(text.to_string()))
    }

    /// The mode the key's prefix selects.
    pub fn mode(&self) -> Mode {
        if self.0.starts_with("pg_live_") {
            Mode::Live
        } else {
            Mode::Test
        }
    }

    /// The stored form: lowercase hex SHA-256.
    pub fn hash(&self) -> String {
        hex::encode(Sha256::digest(self.0.as_bytes()))
    }

    /// What lists show so a person can tell keys apart: the prefix and four characters.
    pub fn redacted(&self) -> String {
        format!("{}...", &self.0[..12])
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for ApiKeySecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ApiKeySecret({})", self.redacted())
    }
}

/// An AES-256-GCM key that seals what PushGuard keeps: `nonce ‖ ciphertext ‖ tag`, with
/// a random nonce, bound to a context (where it is stored) as authenticated data. The
/// KMS data keys of [`crate::keyring`] and the [`CallerKey`] are both one.
pub struct SealingKey(ring::aead::LessSafeKey);

impl SealingKey {
    const NONCE_LEN: usize = ring::aead::NONCE_LEN;

    /// A key from 32 bytes; `None` for any other length.
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        ring::aead::UnboundKey::new(&ring::aead::AES_256_GCM, bytes)
            .ok()
            .map(|key| SealingKey(ring::aead::LessSafeKey::new(key)))
    }

    /// `plaintext` sealed for `context`.
    pub fn seal(&self, context: &str, plaintext: &[u8]) -> Vec<u8> {
        let nonce_bytes: [u8; Self::NONCE_LEN] = rand::random();
        let nonce = ring::aead::Nonce::assume_unique_for_key(nonce_bytes);
        let mut sealed = plaintext.to_vec();
        self.0
            .seal_in_place_append_tag(
                nonce,
                ring::aead::Aad::from(context.as_bytes()),
                &mut sealed,
            )
            .expect("a plaintext under 64 GiB seals");
        let mut out = nonce_bytes.to_vec();
        out.append(&mut sealed);
        out
    }

    /// What [`SealingKey::seal`] sealed for the same `context`; `None` if it was sealed
    /// with another key, for another context, or altered.
    pub fn open(&self, context: &str, sealed: &[u8]) -> Option<Vec<u8>> {
        if sealed.len() < Self::NONCE_LEN {
            return None;
        }
        let (nonce, ciphertext) = sealed.split_at(Self::NONCE_LEN);
        let nonce = ring::aead::Nonce::try_assume_unique_for_key(nonce).ok()?;
        let mut buffer = ciphertext.to_vec();
        let plaintext = self
            .0
            .open_in_place(
                nonce,
                ring::aead::Aad::from(context.as_bytes()),
                &mut buffer,
            )
            .ok()?;
        Some(plaintext.to_vec())
    }
}

impl std::fmt::Debug for SealingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SealingKey(****)")
    }
}

/// A key only the holder of an API key can rebuild: HMAC-SHA256 of the API key over a
/// fixed label. What PushGuard keeps for a caller to read back later (the response of an
/// idempotent request) is sealed with it, so the stored copy is unreadable without the
/// API key, which is never stored.
pub struct CallerKey;

impl CallerKey {
    const LABEL: &'static [u8] = b"pushguard/caller-key/v1";

    pub fn derive(key: &ApiKeySecret) -> SealingKey {
        use hmac::{Hmac, KeyInit, Mac};
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key.expose().as_bytes())
            .expect("HMAC takes keys of any length");
        mac.update(Self::LABEL);
        SealingKey::from_bytes(&mac.finalize().into_bytes()).expect("HMAC-SHA256 is 32 bytes")
    }
}

/// A webhook signing secret just made (by a rotation), shown this once.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct NewSecret {
    /// `whsec_...`: the current secret from now on.
    pub secret: String,
}

/// The body of a secret rotation.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RotateInput {
    /// How long the previous secret keeps signing too (default 86400, at most 604800).
    pub grace_period_seconds: Option<u64>,
}

/// A new webhook signing secret: `whsec_` + base64 of 32 random bytes.
pub fn new_signing_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("whsec_{}", BASE64.encode(bytes))
}

/// The secret a key that requires signed requests signs them with (`pgsk_test_...`):
/// shown once, when the key is created or rolled, and never sent again, so seeing a
/// request (which carries the key) does not let anyone sign another.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RequestSigningSecret(String);

impl RequestSigningSecret {
    pub fn generate(mode: crate::Mode) -> Self {
        let random: String = rand::rng()
            .sample_iter(&Alphanumeric)
            .take(KEY_RANDOM_CHARS)
            .map(char::from)
            .collect();
        RequestSigningSecret(format!("pgsk_{mode}_{random}"))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for RequestSigningSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RequestSigningSecret(****)")
    }
}

/// A secret that was rotated out and still signs until `expires_at`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetiredSecret {
    pub secret: String,
    pub expires_at: Timestamp,
}

/// The secrets that sign deliveries: the current one, and the ones rotated out that
/// are still inside their grace period (receivers may not have switched yet).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SigningSecrets {
    pub current: String,
    #[serde(default)]
    pub retired: Vec<RetiredSecret>,
}

impl SigningSecrets {
    pub fn generate() -> Self {
        SigningSecrets {
            current: new_signing_secret(),
            retired: Vec::new(),
        }
    }

    /// Replaces the current secret; the old one keeps signing for `grace`.
    /// Secrets whose grace has ended are dropped.
    pub fn rotate(&mut self, now: Timestamp, grace: Duration) {
        self.rotate_to(new_signing_secret(), now, grace);
    }

    /// Makes `next` the current secret; the old one keeps signing for `grace`. At most
    /// [`MAX_RETIRED`] rotated-out secrets keep signing: rotating again and again
    /// within a grace period drops the oldest, so a delivery's `webhook-signature`
    /// stays a few entries long (receivers' header limits are often 8 KiB).
    pub fn rotate_to(&mut self, next: String, now: Timestamp, grace: Duration) {
        let old = std::mem::replace(&mut self.current, next);
        self.retired.retain(|r| r.expires_at > now);
        if !grace.is_zero() {
            self.retired.push(RetiredSecret {
                secret: old,
                expires_at: now.plus(grace),
            });
        }
        if self.retired.len() > MAX_RETIRED {
            self.retired
                .sort_by_key(|r| std::cmp::Reverse(r.expires_at));
            self.retired.truncate(MAX_RETIRED);
        }
    }

    /// Every secret that should sign a delivery made at `now`, current first.
    pub fn signing_at(&self, now: Timestamp) -> impl Iterator<Item = &str> {
        std::iter::once(self.current.as_str()).chain(
            self.retired
                .iter()
                .filter(move |r| r.expires_at > now)
                .map(|r| r.secret.as_str()),
        )
    }
}

/// Rotated-out secrets that may still sign at once: enough that concurrent rotations
/// lose none of the secrets they handed out, few enough that `webhook-signature` stays
/// under 600 bytes (eleven entries), far below receivers' 8 KiB header limits.
pub const MAX_RETIRED: usize = 10;

const DEFAULT_GRACE_SECONDS: u64 = 86_400;
/// The longest a rotated-out secret or rolled key keeps working.
pub const MAX_GRACE_SECONDS: u64 = 7 * 86_400;

/// A client's grace period for a rotation: default one day, at most seven.
pub fn grace_period(seconds: Option<u64>) -> crate::ApiResult<Duration> {
    let seconds = seconds.unwrap_or(DEFAULT_GRACE_SECONDS);
    if seconds > MAX_GRACE_SECONDS {
        return Err(crate::ApiError::invalid(t!(
            "Grace period seconds must be between 0 and {max}",
            max = MAX_GRACE_SECONDS
        )));
    }
    Ok(Duration::from_secs(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_caller_key_opens_only_what_it_sealed_for_the_same_context() {
        let key = ApiKeySecret::generate(Mode::Test);
        let sealed = CallerKey::derive(&key).seal("idem#a", b"{\"secret\":\"whsec_x\"}");
        assert!(
            !sealed.windows(5).any(|w| w == b"whsec"),
            "sealed, not clear"
        );
        let again = CallerKey::derive(&key);
        assert_eq!(
            again.open("idem#a", &sealed).as_deref(),
            Some(&b"{\"secret\":\"whsec_x\"}"[..])
        );
        assert_eq!(again.open("idem#b", &sealed), None, "bound to its context");
        let other = CallerKey::derive(&ApiKeySecret::generate(Mode::Test));
        assert_eq!(
            other.open("idem#a", &sealed),
            None,
            "another key cannot open it"
        );
        let mut altered = sealed.clone();
        *altered.last_mut().unwrap() ^= 1;
        assert_eq!(
            again.open("idem#a", &altered),
            None,
            "tampering is detected"
        );
        assert_eq!(again.open("idem#a", &sealed[..5]), None);
    }

    #[test]
    fn rotating_again_and_again_keeps_at_most_ten_old_secrets_the_newest() {
        let mut secrets = SigningSecrets::generate();
        let start = Timestamp::from_millis(1_700_000_000_000);
        let mut currents = vec![secrets.current.clone()];
        for n in 0..30u64 {
            let at = start.plus(Duration::from_secs(n));
            secrets.rotate(at, Duration::from_secs(86_400));
            currents.push(secrets.current.clone());
        }
        assert_eq!(secrets.retired.len(), MAX_RETIRED);
        let signing: Vec<&str> = secrets
            .signing_at(start.plus(Duration::from_secs(40)))
            .collect();
        // The current one, then the ten it replaced most recently.
        let newest: Vec<&str> = currents.iter().rev().take(11).map(String::as_str).collect();
        assert_eq!(signing, newest);
        let header: usize = signing.iter().map(|s| s.len() + 4).sum();
        assert!(header < 600, "{header} bytes of webhook-signature at most");
        // No grace: nothing kept.
        secrets.rotate(start.plus(Duration::from_secs(50)), Duration::ZERO);
        assert_eq!(
            secrets.retired.len(),
            MAX_RETIRED,
            "the earlier ones still in grace"
        );
    }

    #[test]
    fn grace_period_is_bounded() {
        assert_eq!(grace_period(None).unwrap(), Duration::from_secs(86_400));
        assert_eq!(grace_period(Some(0)).unwrap(), Duration::ZERO);
        assert!(grace_period(Some(MAX_GRACE_SECONDS)).is_ok());
        assert!(grace_period(Some(MAX_GRACE_SECONDS + 1)).is_err());
    }

    #[test]
    fn generated_keys_carry_their_mode_and_parse_back() {
        for mode in [Mode::Live, Mode::Test] {
            let key = ApiKeySecret::generate(mode);
            let parsed = ApiKeySecret::parse(key.expose()).expect("valid key");
            assert_eq!(parsed.mode(), mode);
            assert_eq!(parsed.hash(), key.hash());
            assert_eq!(key.hash().len(), 64);
        }
    }

    #[test]
    fn malformed_keys_do_not_parse() {
        for text in [
            "",
            "pg_live_",
            "sk_live_abcdefghijklmnopqrstu",
            "pg_test_short",
            "pg_test_has space in it!!",
        ] {
            assert!(ApiKeySecret::parse(text).is_none(), "{text:?}");
        }
    }

    #[test]
    fn debug_output_never_shows_the_key() {
        let key = ApiKeySecret::generate(Mode::Live);
        let debug = format!("{key:?}");
        assert!(!debug.contains(&key.expose()[12..]), "{debug}");
    }

    #[test]
    fn signing_secrets_are_whsec_and_32_bytes() {
        let secret = new_signing_secret();
        let raw = BASE64
            .decode(secret.strip_prefix("whsec_").unwrap())
            .unwrap();
        assert_eq!(raw.len(), 32);
    }

    #[test]
    fn rotation_keeps_the_old_secret_for_the_grace_period_only() {
        let now = Timestamp::from_millis(1_000_000);
        let mut secrets = SigningSecrets::generate();
        let old = secrets.current.clone();
        secrets.rotate(now, Duration::from_secs(60));
        assert_ne!(secrets.current, old);
        let during: Vec<_> = secrets
            .signing_at(now.plus(Duration::from_secs(59)))
            .collect();
        assert_eq!(during, vec![secrets.current.as_str(), old.as_str()]);
        let after: Vec<_> = secrets
            .signing_at(now.plus(Duration::from_secs(60)))
            .collect();
        assert_eq!(after, vec![secrets.current.as_str()]);
    }

    #[test]
    fn rotation_without_grace_retires_nothing_and_drops_expired() {
        let now = Timestamp::from_millis(1_000_000);
        let mut secrets = SigningSecrets::generate();
        secrets.rotate(now, Duration::from_secs(10));
        secrets.rotate(now.plus(Duration::from_secs(11)), Duration::ZERO);
        assert!(secrets.retired.is_empty());
    }
}
