//! Envelope encryption of webhook signing secrets under the template's KMS key.
//!
//! A secret set is sealed with AES-256-GCM under a data key that KMS generated under
//! `SECRETS_KEY_ID`; the stored form carries the data key as KMS encrypted it, so only a
//! function allowed `kms:Decrypt` on that key can open it, and the tables alone reveal
//! nothing. Each data key belongs to one account: the account's id is in its KMS
//! encryption context, so KMS opens it only for that account, and CloudTrail names the
//! account of every decrypt. Each seal is also bound to where it is stored (an endpoint
//! of a tenant, an account's mode) as authenticated data, so a sealed secret copied to
//! another item does not open.
//!
//! Data keys are cached as the AWS Encryption SDK caches them: an instance seals with
//! one data key per account for at most [`SEALING_KEY_LIFETIME`] and
//! [`SEALING_KEY_USES`] seals, and keeps a data key it decrypted for
//! [`OPENED_KEY_LIFETIME`], so a warm dispatcher calls KMS about once per account's
//! data key in use, not once per delivery.
//!
//! Seals made before data keys were per account (`kms1:`, a context naming only the
//! purpose) still open; every new seal, a rotation's included, is `kms2:`.

use crate::{
    ApiError, Mode, Tenant,
    secrets::{RequestSigningSecret, SealingKey, SigningSecrets},
};
use aws_sdk_kms::{error::ProvideErrorMetadata, primitives::Blob, types::DataKeySpec};
use base64::{Engine, engine::general_purpose::STANDARD as BASE64};
use serde::{Deserialize, Serialize};
use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

pub const SEALING_KEY_LIFETIME: Duration = Duration::from_secs(300);
pub const SEALING_KEY_USES: u32 = 10_000;
pub const OPENED_KEY_LIFETIME: Duration = Duration::from_secs(300);
const OPENED_KEYS: usize = 1_000;
/// Accounts an instance keeps a sealing data key for.
const SEALING_KEYS: usize = 1_000;
/// The context entry saying what a data key is for (the key policy asks for it).
const PURPOSE: &str = "purpose";
/// Webhook signing secrets: only the functions that sign or rotate may open them.
const WEBHOOK_SECRETS: &str = "pushguard-webhook-signing-secrets";
/// API keys' request-signing secrets: every function that authenticates opens them.
const REQUEST_SIGNING_SECRETS: &str = "pushguard-request-signing-secrets";
/// The context entry naming the account a data key belongs to.
const ACCOUNT: &str = "account";
/// Seals under a data key of the account (the current form).
const VERSION: &str = "kms2";
/// Seals under a data key shared by every account (still opened).
const SHARED_KEY_VERSION: &str = "kms1";

/// Webhook signing secrets as stored: `kms2:<encrypted data key>:<nonce, ciphertext
/// and tag>`, both base64.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SealedSecrets(String);

impl SealedSecrets {
    /// The stored text (conditions compare it to tell one rotation from another).
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for SealedSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SealedSecrets(..)")
    }
}

/// Where sealed secrets are stored: the authenticated data they are bound to, the
/// account whose data key seals them, and what that data key is for.
pub struct SecretContext {
    item: String,
    account: String,
    purpose: &'static str,
}

impl SecretContext {
    pub fn endpoint(tenant: &Tenant, endpoint_id: &str) -> Self {
        SecretContext {
            item: format!("endpoint/{}/{endpoint_id}", tenant.partition()),
            account: tenant.account_id().to_string(),
            purpose: WEBHOOK_SECRETS,
        }
    }

    pub fn account(account_id: &str, mode: Mode) -> Self {
        SecretContext {
            item: format!("account/{account_id}/{mode}"),
            account: account_id.to_string(),
            purpose: WEBHOOK_SECRETS,
        }
    }

    /// The account's ed25519 signing keys of `mode` (sealed apart from its HMAC secret,
    /// so neither can be passed off as the other).
    pub fn account_keys(account_id: &str, mode: Mode) -> Self {
        SecretContext {
            item: format!("account-keys/{account_id}/{mode}"),
            account: account_id.to_string(),
            purpose: WEBHOOK_SECRETS,
        }
    }

    /// The request-signing secret of the API key stored under `key_hash`. Its data
    /// keys have a purpose of their own, which every function that authenticates may
    /// open, and no webhook secret shares.
    pub fn request_signing(account_id: &str, key_hash: &str) -> Self {
        SecretContext {
            item: format!("api-key/{account_id}/{key_hash}"),
            account: account_id.to_string(),
            purpose: REQUEST_SIGNING_SECRETS,
        }
    }

    /// Where data keys of this context are cached: one purpose of one account.
    fn owner(&self) -> String {
        format!("{}/{}", self.purpose, self.account)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum KeyringError {
    #[error("SECRETS_KEY_ID is not set: webhook secrets cannot be sealed or opened")]
    NoKey,
    /// KMS throttled or failed; trying again may work.
    #[error("KMS {operation} (retryable): {cause}")]
    Transient {
        operation: &'static str,
        cause: String,
    },
    #[error("KMS {operation}: {cause}")]
    Failed {
        operation: &'static str,
        cause: String,
    },
    /// The stored value is not a seal of this context.
    #[error("sealed secrets do not open: {0}")]
    Corrupt(&'static str),
}

impl From<KeyringError> for ApiError {
    fn from(error: KeyringError) -> Self {
        match error {
            KeyringError::Transient { .. } => {
                tracing::warn!(%error, "KMS unavailable");
                ApiError::Unavailable
            }
            other => ApiError::internal(other),
        }
    }
}

struct CurrentDataKey {
    encrypted: String,
    key: Arc<SealingKey>,
    created: Instant,
    uses: u32,
}

/// This instance's KMS client and data keys.
pub struct Keyring {
    /// Built on first use: most functions never seal or open a secret, and building
    /// an SDK client is a sixth of a cold start's work.
    kms: KmsClient,
    key_id: Option<String>,
    /// Each account's data key this instance seals with.
    sealing: Mutex<HashMap<String, CurrentDataKey>>,
    /// Data keys decrypted, by account and encrypted form.
    opened: Mutex<HashMap<OpenedKey, (Instant, Arc<SealingKey>)>>,
}

/// A decrypted data key's purpose and account (empty for a key shared by every
/// account) and its encrypted form.
type OpenedKey = (String, String);

/// A KMS client made from its configuration when first needed.
#[derive(Debug)]
struct KmsClient {
    config: aws_sdk_kms::Config,
    client: std::sync::OnceLock<aws_sdk_kms::Client>,
}

impl std::ops::Deref for KmsClient {
    type Target = aws_sdk_kms::Client;
    fn deref(&self) -> &aws_sdk_kms::Client {
        self.client
            .get_or_init(|| aws_sdk_kms::Client::from_conf(self.config.clone()))
    }
}

impl Keyring {
    pub fn new(kms: aws_sdk_kms::Config, key_id: Option<String>) -> Self {
        Keyring {
            kms: KmsClient {
                config: kms,
                client: std::sync::OnceLock::new(),
            },
            key_id,
            sealing: Mutex::new(HashMap::new()),
            opened: Mutex::new(HashMap::new()),
        }
    }

    /// Seals `secrets` for storage at `context`.
    pub async fn seal(
        &self,
        secrets: &SigningSecrets,
        context: &SecretContext,
    ) -> Result<SealedSecrets, KeyringError> {
        self.seal_value(secrets, context).await
    }

    /// Opens what [`Keyring::seal`] sealed for `context`.
    pub async fn open(
        &self,
        sealed: &SealedSecrets,
        context: &SecretContext,
    ) -> Result<SigningSecrets, KeyringError> {
        self.open_value(sealed, context).await
    }

    /// Seals an API key's request-signing secret (see [`SecretContext::request_signing`]).
    pub async fn seal_request_signing(
        &self,
        secret: &RequestSigningSecret,
        context: &SecretContext,
    ) -> Result<SealedSecrets, KeyringError> {
        self.seal_value(secret, context).await
    }

    /// Opens what [`Keyring::seal_request_signing`] sealed.
    pub async fn open_request_signing(
        &self,
        sealed: &SealedSecrets,
        context: &SecretContext,
    ) -> Result<RequestSigningSecret, KeyringError> {
        self.open_value(sealed, context).await
    }

    async fn seal_value<T: Serialize>(
        &self,
        value: &T,
        context: &SecretContext,
    ) -> Result<SealedSecrets, KeyringError> {
        let (encrypted, key) = self.sealing_key(context).await?;
        let plaintext = serde_json::to_vec(value).expect("secrets serialise");
        let boxed = key.seal(&context.item, &plaintext);
        Ok(SealedSecrets(format!(
            "{VERSION}:{encrypted}:{}",
            BASE64.encode(boxed)
        )))
    }

    async fn open_value<T: serde::de::DeserializeOwned>(
        &self,
        sealed: &SealedSecrets,
        context: &SecretContext,
    ) -> Result<T, KeyringError> {
        let mut parts = sealed.0.split(':');
        let (Some(version), Some(encrypted), Some(boxed), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(KeyringError::Corrupt("not a kms seal"));
        };
        let owner = match version {
            VERSION => Some(context),
            SHARED_KEY_VERSION if context.purpose == WEBHOOK_SECRETS => None,
            _ => return Err(KeyringError::Corrupt("not a kms seal")),
        };
        let boxed = BASE64
            .decode(boxed)
            .map_err(|_| KeyringError::Corrupt("not base64"))?;
        let key = self.opened_key(owner, encrypted).await?;
        let plaintext = key
            .open(&context.item, &boxed)
            .ok_or(KeyringError::Corrupt("altered, or sealed for another item"))?;
        serde_json::from_slice(&plaintext).map_err(|_| KeyringError::Corrupt("not secrets"))
    }

    /// The data key this instance seals `context`'s secrets with (one per purpose and
    /// account), generated by KMS when the last one has served its time or its uses.
    async fn sealing_key(
        &self,
        context: &SecretContext,
    ) -> Result<(String, Arc<SealingKey>), KeyringError> {
        let owner = context.owner();
        {
            let mut sealing = self.sealing.lock().expect("keyring lock");
            if let Some(current) = sealing.get_mut(&owner)
                && current.created.elapsed() < SEALING_KEY_LIFETIME
                && current.uses < SEALING_KEY_USES
            {
                current.uses += 1;
                return Ok((current.encrypted.clone(), current.key.clone()));
            }
        }
        let key_id = self.key_id.as_deref().ok_or(KeyringError::NoKey)?;
        let generated = self
            .kms
            .generate_data_key()
            .key_id(key_id)
            .key_spec(DataKeySpec::Aes256)
            .encryption_context(PURPOSE, context.purpose)
            .encryption_context(ACCOUNT, &context.account)
            .send()
            .await
            .map_err(|e| classify("GenerateDataKey", e))?;
        let (Some(plaintext), Some(encrypted)) = (generated.plaintext, generated.ciphertext_blob)
        else {
            return Err(KeyringError::Failed {
                operation: "GenerateDataKey",
                cause: "no key in the answer".into(),
            });
        };
        let key = Arc::new(aead_key(plaintext.as_ref())?);
        let encrypted = BASE64.encode(encrypted.as_ref());
        // Its own seals open without asking KMS again.
        self.remember(&owner, &encrypted, key.clone());
        let mut sealing = self.sealing.lock().expect("keyring lock");
        if sealing.len() >= SEALING_KEYS {
            sealing.retain(|_, current| current.created.elapsed() < SEALING_KEY_LIFETIME);
            if sealing.len() >= SEALING_KEYS {
                sealing.clear();
            }
        }
        sealing.insert(
            owner,
            CurrentDataKey {
                encrypted: encrypted.clone(),
                key: key.clone(),
                created: Instant::now(),
                uses: 1,
            },
        );
        Ok((encrypted, key))
    }

    /// The data key `encrypted` stands for, of `owner`'s purpose and account (`None`: a
    /// webhook secrets' data key shared by every account, from before they were per
    /// account), decrypted by KMS unless cached. KMS refuses it for any other account
    /// or purpose.
    async fn opened_key(
        &self,
        owner: Option<&SecretContext>,
        encrypted: &str,
    ) -> Result<Arc<SealingKey>, KeyringError> {
        let name = owner.map(SecretContext::owner).unwrap_or_default();
        let cached = (name.clone(), encrypted.to_string());
        if let Some((at, key)) = self.opened.lock().expect("keyring lock").get(&cached)
            && at.elapsed() < OPENED_KEY_LIFETIME
        {
            return Ok(key.clone());
        }
        let blob = BASE64
            .decode(encrypted)
            .map_err(|_| KeyringError::Corrupt("data key not base64"))?;
        let mut decrypt = self.kms.decrypt().ciphertext_blob(Blob::new(blob));
        decrypt = match owner {
            Some(context) => decrypt
                .encryption_context(PURPOSE, context.purpose)
                .encryption_context(ACCOUNT, &context.account),
            None => decrypt.encryption_context(PURPOSE, WEBHOOK_SECRETS),
        };
        let decrypted = decrypt.send().await.map_err(|e| classify("Decrypt", e))?;
        let plaintext = decrypted.plaintext.ok_or(KeyringError::Failed {
            operation: "Decrypt",
            cause: "no plaintext in the answer".into(),
        })?;
        let key = Arc::new(aead_key(plaintext.as_ref())?);
        self.remember(&name, encrypted, key.clone());
        Ok(key)
    }

    fn remember(&self, owner: &str, encrypted: &str, key: Arc<SealingKey>) {
        let mut opened = self.opened.lock().expect("keyring lock");
        if opened.len() >= OPENED_KEYS {
            opened.retain(|_, (at, _)| at.elapsed() < OPENED_KEY_LIFETIME);
            if opened.len() >= OPENED_KEYS {
                opened.clear();
            }
        }
        opened.insert(
            (owner.to_string(), encrypted.to_string()),
            (Instant::now(), key),
        );
    }
}

fn aead_key(bytes: &[u8]) -> Result<SealingKey, KeyringError> {
    SealingKey::from_bytes(bytes).ok_or(KeyringError::Corrupt("data key is not 256 bits"))
}

fn classify<E>(
    operation: &'static str,
    error: aws_sdk_kms::error::SdkError<
        E,
        aws_smithy_runtime_api::client::orchestrator::HttpResponse,
    >,
) -> KeyringError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let retryable = matches!(
        error.code(),
        Some(
            "ThrottlingException"
                | "KMSInternalException"
                | "DependencyTimeoutException"
                | "KeyUnavailableException"
        )
    ) || error
        .raw_response()
        .is_some_and(|r| r.status().is_server_error())
        || matches!(
            error,
            aws_sdk_kms::error::SdkError::TimeoutError(_)
                | aws_sdk_kms::error::SdkError::DispatchFailure(_)
        );
    let cause = aws_sdk_kms::error::DisplayErrorContext(&error).to_string();
    if retryable {
        KeyringError::Transient { operation, cause }
    } else {
        KeyringError::Failed { operation, cause }
    }
}
