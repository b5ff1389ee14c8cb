//! What every handler can reach: configuration, the store, the queues, the key cache.
//! Built once per cold start and shared by reference.

use crate::{Config, auth::Authenticator, store::Db, webhooks::outbound::Outbound};
use aws_config::SdkConfig;
use std::sync::Arc;

/// Shared, cheaply cloned handle to the [`Services`].
pub type AppState = Arc<Services>;

pub struct Services {
    pub config: Config,
    pub db: Db,
    /// The events and deliveries queues (the only way to send to them).
    pub queues: crate::queue::Queues,
    pub auth: Authenticator,
    /// The HTTP client deliveries go through (SSRF guard unless private targets are allowed).
    pub outbound: Outbound,
    /// Endpoint filters, parsed once per warm function.
    pub rules: crate::rules::RuleCache,
    /// Seals and opens webhook signing secrets (KMS envelope encryption).
    pub keyring: crate::keyring::Keyring,
    /// This instance's share of the rate-limit buckets.
    pub limiter: crate::ratelimit::Limiter,
    /// The dispatcher's endpoints and account secrets per tenant, checked by version.
    pub delivery_configs: crate::delivery::configs::DeliveryConfigs,
    /// The adapted rates of paced endpoints, as this instance last saw them.
    pub pacing: crate::delivery::pacing::Rates,
    /// The bucket of images, files and uploads, when the function has one.
    pub media: Option<crate::store::media::Media>,
}

impl Services {
    pub fn new(config: Config, sdk: &SdkConfig) -> AppState {
        Self::counted(config, sdk, None)
    }

    /// Like [`Services::new`], with every AWS call counted by `counter` as the named
    /// caller's (benchmarks).
    pub fn counted(
        config: Config,
        sdk: &SdkConfig,
        counter: Option<(&Arc<crate::aws::CallCounter>, &str)>,
    ) -> AppState {
        let mut dynamo = aws_sdk_dynamodb::config::Builder::from(sdk);
        let mut sqs = aws_sdk_sqs::config::Builder::from(sdk);
        let mut kms = aws_sdk_kms::config::Builder::from(sdk);
        if let Some((counter, caller)) = counter {
            dynamo = dynamo.interceptor(counter.interceptor(caller));
            sqs = sqs.interceptor(counter.interceptor(caller));
            kms = kms.interceptor(counter.interceptor(caller));
        }
        Arc::new(Services {
            db: Db::new(
                aws_sdk_dynamodb::Client::from_conf(dynamo.build()),
                config.tables.clone(),
            ),
            queues: crate::queue::Queues::new(aws_sdk_sqs::Client::from_conf(sqs.build()), &config),
            auth: Authenticator::new(config.auth_cache_ttl),
            outbound: Outbound::new(config.delivery.timeout, config.allow_private_targets),
            rules: crate::rules::RuleCache::default(),
            limiter: crate::ratelimit::Limiter::default(),
            delivery_configs: Default::default(),
            pacing: Default::default(),
            keyring: crate::keyring::Keyring::new(kms.build(), config.secrets_key_id.clone()),
            media: config
                .media_bucket
                .as_deref()
                .map(|bucket| crate::store::media::Media::new(sdk, bucket)),
            config,
        })
    }

    /// For routes that send webhooks now, once the caller's scope is checked: a token
    /// from the tenant's `outbound` bucket, besides the `api` one; 429 when it is empty,
    /// 503 when it cannot be checked.
    pub async fn outbound_permit(&self, tenant: &crate::Tenant) -> crate::ApiResult<()> {
        let limit = self.config.rate_limits.outbound;
        match self.limiter.outbound(&self.db, limit, tenant).await? {
            Some(decision) if !decision.allowed => Err(decision.refusal()),
            _ => Ok(()),
        }
    }

    /// The delivery engine's handles.
    pub fn engine(&self) -> crate::delivery::Engine<'_> {
        crate::delivery::Engine {
            db: &self.db,
            queues: &self.queues,
            outbound: &self.outbound,
            keyring: &self.keyring,
            configs: &self.delivery_configs,
            rates: &self.pacing,
            rules: &self.rules,
            settings: &self.config.delivery,
            retention_days: self.config.retention_days,
        }
    }

    /// Where a [`Change`](crate::store::resources::Change) sends the events it commits.
    pub fn outbox(&self) -> crate::store::resources::Outbox<'_> {
        crate::store::resources::Outbox {
            queues: &self.queues,
            retention_days: self.config.retention_days,
        }
    }

    /// What a Lambda function's `main` calls: configuration and clients from the environment.
    pub async fn from_env() -> Result<AppState, crate::config::ConfigError> {
        let config = Config::from_env()?;
        let sdk = crate::aws::from_env().await;
        Ok(Self::new(config, &sdk))
    }
}
