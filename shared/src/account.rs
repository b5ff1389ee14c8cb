//! Accounts and their API keys.

use crate::{
    Mode, Timestamp,
    ids::{AccountId, ApiKeyId},
    keyring::{Keyring, KeyringError, SealedSecrets, SecretContext},
    scopes::Scope,
    secrets::{ApiKeySecret, RequestSigningSecret, SigningSecrets},
};
use serde::{Deserialize, Serialize};

/// A merchant account. Created by operators (`pushguard account create`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Account {
    pub id: AccountId,
    pub email: String,
    pub created_at: Timestamp,
    /// Signs per-product and per-payment `webhook_url` deliveries, one per mode;
    /// sealed under the KMS key.
    pub webhook_secret_live: SealedSecrets,
    pub webhook_secret_test: SealedSecrets,
    /// The ed25519 keys (`whsk_`) that sign `v1a` deliveries, one set per mode: the
    /// current key and those rotated out but still in their grace period; sealed.
    /// Absent on accounts made before `v1a`, until an endpoint first asks for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signing_keys_live: Option<SealedSecrets>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signing_keys_test: Option<SealedSecrets>,
    /// Their public halves (`whpk_`), in clear: what the account publishes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_keys_live: Option<SigningSecrets>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_keys_test: Option<SigningSecrets>,
    /// The holding account this one is a child of (`POST /account/children`): that
    /// account's keys may act for this one (`X-Child-Company-Id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_id: Option<AccountId>,
    /// When its parent closed it: no key acts for it any more.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closed_at: Option<Timestamp>,
}

/// The most child accounts one holding account may have.
pub const MAX_CHILD_ACCOUNTS: u32 = 1_000;

/// The public keys of `keys`, in the same order, with the same ends.
pub fn published(keys: &SigningSecrets) -> SigningSecrets {
    let public =
        |secret: &str| crate::webhooks::signing::ed25519_public_key(secret).unwrap_or_default();
    SigningSecrets {
        current: public(&keys.current),
        retired: keys
            .retired
            .iter()
            .map(|r| crate::secrets::RetiredSecret {
                secret: public(&r.secret),
                expires_at: r.expires_at,
            })
            .collect(),
    }
}

impl Account {
    /// A new account with fresh webhook secrets and ed25519 signing keys for both
    /// modes, sealed.
    pub async fn new(email: &str, keyring: &Keyring) -> Result<Self, KeyringError> {
        let id = AccountId::new();
        let seal = |mode| {
            let context = SecretContext::account(&id, mode);
            async move { keyring.seal(&SigningSecrets::generate(), &context).await }
        };
        let keys = || SigningSecrets {
            current: crate::webhooks::signing::new_ed25519_key(),
            retired: Vec::new(),
        };
        let (live, test) = (keys(), keys());
        Ok(Account {
            signing_keys_live: Some(
                keyring
                    .seal(&live, &SecretContext::account_keys(&id, Mode::Live))
                    .await?,
            ),
            signing_keys_test: Some(
                keyring
                    .seal(&test, &SecretContext::account_keys(&id, Mode::Test))
                    .await?,
            ),
            public_keys_live: Some(published(&live)),
            public_keys_test: Some(published(&test)),
            webhook_secret_live: seal(Mode::Live).await?,
            webhook_secret_test: seal(Mode::Test).await?,
            id: id.clone(),
            email: email.trim().to_string(),
            created_at: Timestamp::now(),
            parent_id: None,
            closed_at: None,
        })
    }

    /// The sealed webhook secrets of `mode`, as stored.
    pub fn webhook_secret(&self, mode: Mode) -> &SealedSecrets {
        match mode {
            Mode::Live => &self.webhook_secret_live,
            Mode::Test => &self.webhook_secret_test,
        }
    }

    /// The sealed ed25519 signing keys of `mode`, if the account has them.
    pub fn signing_keys(&self, mode: Mode) -> Option<&SealedSecrets> {
        match mode {
            Mode::Live => self.signing_keys_live.as_ref(),
            Mode::Test => self.signing_keys_test.as_ref(),
        }
    }

    /// The public keys of `mode` it publishes, current first.
    pub fn public_keys(&self, mode: Mode) -> Option<&SigningSecrets> {
        match mode {
            Mode::Live => self.public_keys_live.as_ref(),
            Mode::Test => self.public_keys_test.as_ref(),
        }
    }

    /// The ed25519 signing keys of `mode`, opened (needs `kms:Decrypt`).
    pub async fn open_signing_keys(
        &self,
        keyring: &Keyring,
        mode: Mode,
    ) -> Result<Option<SigningSecrets>, KeyringError> {
        let Some(sealed) = self.signing_keys(mode) else {
            return Ok(None);
        };
        let context = SecretContext::account_keys(&self.id, mode);
        keyring.open(sealed, &context).await.map(Some)
    }

    /// The webhook secrets of `mode`, opened (needs `kms:Decrypt`).
    pub async fn open_webhook_secret(
        &self,
        keyring: &Keyring,
        mode: Mode,
    ) -> Result<SigningSecrets, KeyringError> {
        let context = SecretContext::account(&self.id, mode);
        keyring.open(self.webhook_secret(mode), &context).await
    }
}

/// A stored API key: never the key itself, only its hash.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ApiKey {
    pub key_hash: String,
    pub id: ApiKeyId,
    pub account_id: AccountId,
    pub mode: Mode,
    pub name: String,
    pub scopes: Vec<Scope>,
    pub require_signed: bool,
    /// The first characters of the key, so people can tell keys apart.
    pub redacted: String,
    pub created_at: Timestamp,
    /// Set when the key was rolled with a grace period; the key stops working then.
    pub expires_at: Option<Timestamp>,
    /// The same instant in epoch seconds, for DynamoDB's TTL to clean up.
    pub expires_at_epoch: Option<i64>,
    /// A rolled key in its grace period: it still authenticates but lists show its successor.
    #[serde(default)]
    pub superseded: bool,
    /// What a key that requires signed requests signs them with, in clear: in memory
    /// while the key is made (to show it once) and read from keys stored before these
    /// secrets were sealed; never written.
    #[serde(default, skip_serializing)]
    pub signing_secret: Option<RequestSigningSecret>,
    /// The same secret as stored: sealed under a data key of the account whose purpose
    /// is request signing (see [`SecretContext::request_signing`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sealed_signing_secret: Option<SealedSecrets>,
}

/// A key as lists show it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ApiKeyView<'a> {
    pub id: &'a str,
    pub name: &'a str,
    pub mode: Mode,
    pub scopes: &'a [Scope],
    pub require_signed: bool,
    pub redacted: &'a str,
    pub created_at: Timestamp,
    /// Only in the create and roll responses: the key, shown once.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<&'a str>,
    /// Only in the create and roll responses of a key that requires signed requests:
    /// the secret that signs them, shown once.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signing_secret: Option<&'a str>,
}

impl ApiKey {
    pub fn view(&self) -> ApiKeyView<'_> {
        ApiKeyView {
            id: &self.id,
            name: &self.name,
            mode: self.mode,
            scopes: &self.scopes,
            require_signed: self.require_signed,
            redacted: &self.redacted,
            created_at: self.created_at,
            key: None,
            signing_secret: None,
        }
    }
}

/// What a new key needs besides its secret.
#[derive(Clone, Debug)]
pub struct KeySpec {
    pub name: String,
    pub scopes: Vec<Scope>,
    pub require_signed: bool,
}

impl ApiKey {
    /// The stored record of `secret`, a key of `account_id` in the secret's mode.
    pub fn for_secret(
        account_id: &AccountId,
        id: ApiKeyId,
        secret: &ApiKeySecret,
        spec: KeySpec,
    ) -> Self {
        ApiKey {
            key_hash: secret.hash(),
            id,
            account_id: account_id.clone(),
            mode: secret.mode(),
            name: spec.name,
            scopes: spec.scopes,
            require_signed: spec.require_signed,
            redacted: secret.redacted(),
            created_at: Timestamp::now(),
            expires_at: None,
            expires_at_epoch: None,
            superseded: false,
            signing_secret: spec
                .require_signed
                .then(|| RequestSigningSecret::generate(secret.mode())),
            sealed_signing_secret: None,
        }
    }

    /// Seals its signing secret, if it has one, for storage (before it is stored).
    pub async fn seal_signing_secret(&mut self, keyring: &Keyring) -> Result<(), KeyringError> {
        if let Some(secret) = &self.signing_secret {
            let context = SecretContext::request_signing(&self.account_id, &self.key_hash);
            self.sealed_signing_secret =
                Some(keyring.seal_request_signing(secret, &context).await?);
        }
        Ok(())
    }

    /// The secret its signed requests are signed with: opened from its seal, or as a
    /// key stored before seals kept it.
    pub async fn open_signing_secret(
        &self,
        keyring: &Keyring,
    ) -> Result<Option<RequestSigningSecret>, KeyringError> {
        match &self.sealed_signing_secret {
            Some(sealed) => {
                let context = SecretContext::request_signing(&self.account_id, &self.key_hash);
                keyring
                    .open_request_signing(sealed, &context)
                    .await
                    .map(Some)
            }
            None => Ok(self.signing_secret.clone()),
        }
    }

    /// A brand-new key: the record to store and the secret to show once.
    pub fn generate(account_id: &AccountId, mode: Mode, spec: KeySpec) -> (Self, ApiKeySecret) {
        let secret = ApiKeySecret::generate(mode);
        (
            Self::for_secret(account_id, ApiKeyId::new(), &secret, spec),
            secret,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_store_only_the_hash() {
        let spec = KeySpec {
            name: "ci".into(),
            scopes: vec![Scope::All],
            require_signed: false,
        };
        let (key, secret) = ApiKey::generate(&crate::ids::AccountId::new(), Mode::Test, spec);
        assert_eq!(key.key_hash, secret.hash());
        assert_eq!(key.mode, Mode::Test);
        let stored = serde_json::to_string(&key).unwrap();
        assert!(!stored.contains(secret.expose()));
    }
}
