//! Signatures on deliveries. Two schemes, both over the exact body bytes sent:
//!
//! - `X-PushGuard-Signature`: hex HMAC-SHA512 keyed with the secret's UTF-8 text
//!   (what the seed's Ruby snippet checks: `OpenSSL::HMAC.hexdigest('sha512', secret, body)`).
//! - Dialects' own (Pixlpay, Key/Sign): hex HMAC-SHA256 keyed with the secret's text.
//! - Standard Webhooks: `webhook-signature: v1,<base64 HMAC-SHA256>` of
//!   `"{webhook-id}.{webhook-timestamp}.{body}"`, keyed with the base64-decoded bytes
//!   after `whsec_`; one `v1,` entry per secret that is valid, space-separated.
//! - Standard Webhooks' asymmetric scheme: `v1a,<base64 ed25519 signature>` of the same
//!   `"{webhook-id}.{webhook-timestamp}.{body}"`, with the account's signing key
//!   (`whsk_`, never shown); receivers verify with its public key (`whpk_`), which the
//!   account publishes.

use base64::{Engine, engine::general_purpose::STANDARD as BASE64};
use hmac::{Hmac, KeyInit, Mac};
use ring::signature::{Ed25519KeyPair, KeyPair};
use sha2::{Sha256, Sha512};

/// `X-PushGuard-Signature` for `body` under the current secret.
pub fn pushguard_signature(secret: &str, body: &[u8]) -> String {
    let mut mac =
        Hmac::<Sha512>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

/// Hex HMAC-SHA256 of `body` keyed with the secret's UTF-8 text: the signature of
/// dialects whose receivers check it so (Pixlpay's `X-Pixlpay-Signature`, Key/Sign's
/// `Sign`).
pub fn hex_hmac_sha256(secret: &str, body: &[u8]) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

/// The key bytes of a `whsec_` secret (a secret without the prefix is used as is).
fn standard_key(secret: &str) -> Vec<u8> {
    let encoded = secret.strip_prefix("whsec_").unwrap_or(secret);
    BASE64
        .decode(encoded)
        .unwrap_or_else(|_| encoded.as_bytes().to_vec())
}

/// One Standard Webhooks signature entry, `v1,<base64>`.
pub fn standard_signature(secret: &str, id: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(&standard_key(secret)).expect("HMAC takes any key length");
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("v1,{}", BASE64.encode(mac.finalize().into_bytes()))
}

/// The `webhook-signature` header: one entry per secret, current first.
pub fn standard_signature_header<'a>(
    secrets: impl IntoIterator<Item = &'a str>,
    id: &str,
    timestamp: i64,
    body: &[u8],
) -> String {
    secrets
        .into_iter()
        .map(|secret| standard_signature(secret, id, timestamp, body))
        .collect::<Vec<_>>()
        .join(" ")
}

const ED25519_SECRET: &str = "whsk_";
const ED25519_PUBLIC: &str = "whpk_";

/// A new ed25519 signing key: `whsk_` + base64 of its 32-byte seed and its 32-byte
/// public key (the 64-byte secret key libsodium and the Standard Webhooks libraries use).
pub fn new_ed25519_key() -> String {
    let mut seed = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::rng(), &mut seed);
    let pair = Ed25519KeyPair::from_seed_unchecked(&seed).expect("any 32 bytes are a seed");
    let mut secret = seed.to_vec();
    secret.extend_from_slice(pair.public_key().as_ref());
    format!("{ED25519_SECRET}{}", BASE64.encode(secret))
}

/// The key pair of a `whsk_` key, checked against the public half it carries.
fn ed25519_pair(secret: &str) -> Option<Ed25519KeyPair> {
    let bytes = BASE64.decode(secret.strip_prefix(ED25519_SECRET)?).ok()?;
    let (seed, public) = (bytes.get(..32)?, bytes.get(32..)?);
    Ed25519KeyPair::from_seed_and_public_key(seed, public).ok()
}

/// The public key of a `whsk_` key, as receivers are given it: `whpk_` + base64.
pub fn ed25519_public_key(secret: &str) -> Option<String> {
    let pair = ed25519_pair(secret)?;
    Some(format!(
        "{ED25519_PUBLIC}{}",
        BASE64.encode(pair.public_key().as_ref())
    ))
}

/// One asymmetric signature entry, `v1a,<base64>`; `None` for a key that is not one.
pub fn asymmetric_signature(secret: &str, id: &str, timestamp: i64, body: &[u8]) -> Option<String> {
    let pair = ed25519_pair(secret)?;
    let mut message = Vec::with_capacity(id.len() + body.len() + 24);
    message.extend_from_slice(id.as_bytes());
    message.push(b'.');
    message.extend_from_slice(timestamp.to_string().as_bytes());
    message.push(b'.');
    message.extend_from_slice(body);
    Some(format!("v1a,{}", BASE64.encode(pair.sign(&message))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ed25519_signature_verifies_under_its_public_key_only() {
        use ring::signature::{ED25519, UnparsedPublicKey};
        let key = new_ed25519_key();
        assert!(key.starts_with("whsk_"));
        let public = ed25519_public_key(&key).unwrap();
        assert!(public.starts_with("whpk_"));
        let entry = asymmetric_signature(&key, "msg_1", 1_700_000_000, b"{}").unwrap();
        let signature = BASE64.decode(entry.strip_prefix("v1a,").unwrap()).unwrap();
        let raw = BASE64.decode(&public[5..]).unwrap();
        let verifier = UnparsedPublicKey::new(&ED25519, &raw);
        assert!(verifier.verify(b"msg_1.1700000000.{}", &signature).is_ok());
        assert!(
            verifier
                .verify(b"msg_1.1700000000.{ }", &signature)
                .is_err()
        );
        let other = ed25519_public_key(&new_ed25519_key()).unwrap();
        assert_ne!(other, public);
        assert!(
            asymmetric_signature("whsec_abc", "m", 1, b"").is_none(),
            "not a whsk_ key"
        );
        // A key whose halves do not belong together is refused, not used.
        let mut forged = BASE64.decode(&key[5..]).unwrap();
        forged[40] ^= 1;
        assert!(ed25519_public_key(&format!("whsk_{}", BASE64.encode(forged))).is_none());
    }

    // Known-answer vectors computed with Python's hmac module (an independent implementation).
    #[test]
    fn pushguard_signature_is_hex_hmac_sha512_of_the_body() {
        assert_eq!(
            pushguard_signature("your webhook secret", br#"{"id":"d73cf5fc"}"#),
            "0517adb10ea4ff4fd0d1c2c69295c043fb1c5e8c51e55fa9d833b6132220bb131f27e37e703138b87302be14e093404919f21aa95af74927a8281f30e90d617d"
        );
    }

    #[test]
    fn standard_signature_follows_the_specs_example() {
        // The example of the Standard Webhooks specification.
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let body = br#"{"test": 2432232314}"#;
        assert_eq!(
            standard_signature(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn every_valid_secret_signs_during_a_rotation() {
        let header = standard_signature_header(
            ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_AAAA"],
            "id",
            1,
            b"{}",
        );
        let entries: Vec<&str> = header.split(' ').collect();
        assert_eq!(entries.len(), 2);
        assert!(entries.iter().all(|e| e.starts_with("v1,")));
        assert_ne!(entries[0], entries[1]);
    }
}
