//! The delivery engine, above the store: fan-out, attempts and their follow-up
//! (`dispatch`), ordered lanes (`lanes`), per-endpoint pacing (`pacing`) and the cached
//! delivery configurations (`configs`). It works through an [`Engine`]: the handles it
//! uses, not the function's whole state (svix-server's `WorkerContext` is the model),
//! and fails with a [`DeliveryError`] that keeps its cause.

pub mod children;
pub mod configs;
pub mod dispatch;
pub mod dynamic;
pub mod follow_up;
pub mod lanes;
pub mod pacing;

use crate::{
    ApiError,
    config::DeliveryConfig,
    keyring::{Keyring, KeyringError},
    queue::{QueueError, Queues},
    rules::RuleCache,
    store::{Db, StoreError},
    webhooks::outbound::Outbound,
};

/// What the engine works with. Built by `Services::engine`, or by anything else that
/// holds these handles (a test, another runtime).
#[derive(Clone, Copy)]
pub struct Engine<'a> {
    pub db: &'a Db,
    pub queues: &'a Queues,
    /// The HTTP client deliveries go through.
    pub outbound: &'a Outbound,
    /// Opens endpoints' and accounts' signing secrets.
    pub keyring: &'a Keyring,
    /// Each tenant's endpoints and account secrets, checked by version.
    pub configs: &'a configs::DeliveryConfigs,
    /// Paced endpoints' adapted rates, as this instance last saw them.
    pub rates: &'a pacing::Rates,
    /// Endpoint filters, parsed once.
    pub rules: &'a RuleCache,
    /// Timeouts, retries, disabling, slow receivers.
    pub settings: &'a DeliveryConfig,
    /// Days logs are kept.
    pub retention_days: u32,
}

/// Why the engine could not do something; it keeps the cause, and says whether trying
/// the same message again may work.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Queue(#[from] QueueError),
    #[error(transparent)]
    Keyring(#[from] KeyringError),
    /// Something the engine relies on is not there or not readable (an account gone,
    /// a stored URL that does not parse, an unreadable message).
    #[error("{0}")]
    Broken(String),
}

pub type DeliveryResult<T> = Result<T, DeliveryError>;

impl DeliveryError {
    pub fn broken(cause: impl std::fmt::Display) -> Self {
        DeliveryError::Broken(cause.to_string())
    }
}

/// What a route that drove the engine (a test ping, a manual retry) answers.
impl From<DeliveryError> for ApiError {
    fn from(error: DeliveryError) -> Self {
        match error {
            DeliveryError::Store(error) => error.into(),
            DeliveryError::Keyring(error) => error.into(),
            DeliveryError::Queue(error) => ApiError::internal(error),
            DeliveryError::Broken(cause) => ApiError::internal(cause),
        }
    }
}
