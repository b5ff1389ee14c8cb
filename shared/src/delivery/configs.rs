//! What a warm dispatcher keeps between messages: each tenant's endpoints and its
//! opened account webhook secret, with the delivery configuration version they were
//! loaded at (`#config` in the endpoints table, moved by every change to either).
//!
//! A batch of messages checks each of its tenants once, with one small consistent read
//! of that version, and loads the endpoints again only when it moved. Every event of a
//! batch was committed before the batch arrived, so a check made after that sees every
//! endpoint change committed before the event: the event reaches the endpoints a fresh
//! query would have found. Entries are reloaded after [`MAX_AGE`] whatever the version
//! says, which bounds what the version does not track (an endpoint's failure streak
//! between its first failure and its reset, which move the version only as a hint).

use super::{DeliveryError, DeliveryResult};
use crate::webhooks::Endpoint;
use crate::{
    Tenant,
    keyring::Keyring,
    secrets::SigningSecrets,
    store::{self, Db},
};
use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};
use tokio::sync::{Mutex as AsyncMutex, OwnedMutexGuard};

/// How long loaded endpoints serve, however often the version is checked.
pub const MAX_AGE: Duration = Duration::from_secs(60);
/// Tenants kept at most; past it the cache starts again empty.
const MAX_TENANTS: usize = 10_000;

#[derive(Default)]
struct Entry {
    version: Option<u64>,
    /// When the check that confirmed `version` started.
    checked_at: Option<Instant>,
    loaded_at: Option<Instant>,
    endpoints: Arc<Vec<Endpoint>>,
    account_secrets: Option<SigningSecrets>,
    account_keys: Option<SigningSecrets>,
}

/// The tenants' delivery configurations this instance loaded.
#[derive(Default)]
pub struct DeliveryConfigs {
    tenants: Mutex<HashMap<Tenant, Arc<AsyncMutex<Entry>>>>,
    /// The receivers (endpoints' ids, `webhook_url`s) this instance found slow, and
    /// when: a batch's many cut attempts to one receiver write its mark once, and a slow
    /// `webhook_url`'s next deliveries go to the slow queue for a while.
    found_slow: Mutex<HashMap<(Tenant, String), Instant>>,
    /// Each account's holding account, if it has one: set when the account is made and
    /// never changed, so read once per instance (`delivery::children`).
    parents: Mutex<HashMap<crate::ids::AccountId, Option<crate::ids::AccountId>>>,
}

impl DeliveryConfigs {
    /// The holding account of `account`, if it is a child account.
    pub async fn parent_of(
        &self,
        db: &Db,
        account: &crate::ids::AccountId,
    ) -> DeliveryResult<Option<crate::ids::AccountId>> {
        if let Some(known) = self.parents.lock().expect("cache lock").get(account) {
            return Ok(known.clone());
        }
        let parent = crate::store::accounts::get(db, account)
            .await?
            .and_then(|a| a.parent_id);
        let mut parents = self.parents.lock().expect("cache lock");
        if parents.len() >= MAX_TENANTS {
            parents.clear();
        }
        parents.insert(account.clone(), parent.clone());
        Ok(parent)
    }

    fn slot(&self, tenant: &Tenant) -> Arc<AsyncMutex<Entry>> {
        let mut tenants = self.tenants.lock().expect("cache lock");
        if tenants.len() >= MAX_TENANTS && !tenants.contains_key(tenant) {
            tenants.clear();
        }
        tenants.entry(tenant.clone()).or_default().clone()
    }

    /// The tenant's entry, checked by a read that started no earlier than
    /// `fresh_since`. Concurrent callers for one tenant wait for a single check.
    async fn fresh(
        &self,
        db: &Db,
        tenant: &Tenant,
        fresh_since: Instant,
    ) -> DeliveryResult<OwnedMutexGuard<Entry>> {
        let mut entry = self.slot(tenant).lock_owned().await;
        if entry.checked_at.is_some_and(|at| at >= fresh_since) {
            return Ok(entry);
        }
        let started = Instant::now();
        let version = store::endpoints::config_version(db, tenant).await?;
        let aged = entry.loaded_at.is_none_or(|at| at.elapsed() > MAX_AGE);
        if aged || entry.version != Some(version) {
            // Loaded after the version was read: if it moved meanwhile, the next check
            // sees a newer version and loads again.
            entry.endpoints = Arc::new(store::endpoints::all(db, tenant).await?);
            entry.account_secrets = None;
            entry.account_keys = None;
            entry.version = Some(version);
            entry.loaded_at = Some(started);
        }
        entry.checked_at = Some(started);
        Ok(entry)
    }

    /// Notes that the receiver of target `key` (an endpoint's id, or a `webhook_url`)
    /// is slow: `true` when this instance had not noted it in the last [`MAX_AGE`]
    /// (for an endpoint, its mark is then to be written).
    pub fn found_slow(&self, tenant: &Tenant, key: &str) -> bool {
        let mut found = self.found_slow.lock().expect("cache lock");
        if found.len() >= MAX_TENANTS {
            found.clear();
        }
        let now = Instant::now();
        let key = (tenant.clone(), key.to_string());
        if found
            .get(&key)
            .is_some_and(|at| now.duration_since(*at) < MAX_AGE)
        {
            return false;
        }
        found.insert(key, now);
        true
    }

    /// Whether this instance noted target `key`'s receiver slow in the last [`MAX_AGE`]
    /// (what it knows of a `webhook_url`, which has no mark of its own).
    pub fn is_slow(&self, tenant: &Tenant, key: &str) -> bool {
        let found = self.found_slow.lock().expect("cache lock");
        let key = (tenant.clone(), key.to_string());
        found.get(&key).is_some_and(|at| at.elapsed() < MAX_AGE)
    }

    /// Forgets that target `key`'s receiver was found slow (its mark ended, or was not
    /// written).
    pub fn forget_slow(&self, tenant: &Tenant, key: &str) {
        let key = (tenant.clone(), key.to_string());
        self.found_slow.lock().expect("cache lock").remove(&key);
    }

    /// The tenant's endpoints as of no earlier than `fresh_since`.
    pub async fn endpoints(
        &self,
        db: &Db,
        tenant: &Tenant,
        fresh_since: Instant,
    ) -> DeliveryResult<Arc<Vec<Endpoint>>> {
        Ok(self.fresh(db, tenant, fresh_since).await?.endpoints.clone())
    }

    /// The account's webhook secrets for the tenant's mode, opened, as of no earlier
    /// than `fresh_since` (they sign deliveries to `webhook_url`s).
    pub async fn account_secrets(
        &self,
        db: &Db,
        keyring: &Keyring,
        tenant: &Tenant,
        fresh_since: Instant,
    ) -> DeliveryResult<SigningSecrets> {
        let mut entry = self.fresh(db, tenant, fresh_since).await?;
        if let Some(secrets) = &entry.account_secrets {
            return Ok(secrets.clone());
        }
        let secrets = open_account_secrets(db, keyring, tenant).await?;
        entry.account_secrets = Some(secrets.clone());
        Ok(secrets)
    }

    /// The account's ed25519 signing keys for the tenant's mode, opened, as of no
    /// earlier than `fresh_since` (a rotation moves the version).
    pub async fn account_keys(
        &self,
        db: &Db,
        keyring: &Keyring,
        tenant: &Tenant,
        fresh_since: Instant,
    ) -> DeliveryResult<SigningSecrets> {
        let mut entry = self.fresh(db, tenant, fresh_since).await?;
        if let Some(keys) = &entry.account_keys {
            return Ok(keys.clone());
        }
        let keys = account_of(db, tenant)
            .await?
            .open_signing_keys(keyring, tenant.mode())
            .await?
            .ok_or_else(|| {
                DeliveryError::broken(format!(
                    "account {} has no signing keys for a v1a endpoint",
                    tenant.account_id()
                ))
            })?;
        entry.account_keys = Some(keys.clone());
        Ok(keys)
    }
}

/// The account's webhook secrets for `tenant`'s mode, read and opened now.
pub async fn open_account_secrets(
    db: &Db,
    keyring: &Keyring,
    tenant: &Tenant,
) -> DeliveryResult<SigningSecrets> {
    let account = account_of(db, tenant).await?;
    Ok(account.open_webhook_secret(keyring, tenant.mode()).await?)
}

/// The tenant's account, which every delivery of it needs: gone is broken.
async fn account_of(db: &Db, tenant: &Tenant) -> DeliveryResult<crate::account::Account> {
    let account = store::accounts::get(db, tenant.account_id()).await?;
    account.ok_or_else(|| DeliveryError::broken(format!("account {} is gone", tenant.account_id())))
}
