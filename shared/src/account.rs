//! Accounts and their API keys.

use crate::{Mode, Timestamp, auth::Scope, secrets::SigningSecrets};
use serde::{Deserialize, Serialize};

/// A merchant account. Created by operators (`pushguard account create`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Account {
    pub id: String,
    pub email: String,
    pub created_at: Timestamp,
    /// Signs per-product and per-payment `webhook_url` deliveries, one per mode.
    pub webhook_secret_live: SigningSecrets,
    pub webhook_secret_test: SigningSecrets,
}

impl Account {
    pub fn webhook_secret(&self, mode: Mode) -> &SigningSecrets {
        match mode {
            Mode::Live => &self.webhook_secret_live,
            Mode::Test => &self.webhook_secret_test,
        }
    }

    pub fn webhook_secret_mut(&mut self, mode: Mode) -> &mut SigningSecrets {
        match mode {
            Mode::Live => &mut self.webhook_secret_live,
            Mode::Test => &mut self.webhook_secret_test,
        }
    }
}

/// A stored API key: never the key itself, only its hash.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ApiKey {
    pub key_hash: String,
    pub id: String,
    pub account_id: String,
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
}

/// A key as lists show it.
#[derive(Debug, Serialize)]
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
        }
    }
}
