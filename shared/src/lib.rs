//! The crate every PushGuard function shares: configuration, the one error type,
//! authentication, tenants, pagination, ids and time, HTTP conventions, and the
//! DynamoDB store (one module per table).

pub mod account;
pub mod auth;
pub mod aws;
pub mod commerce;
pub mod config;
pub mod crud;
pub mod error;
pub mod events;
pub mod http;
pub mod ids;
pub mod pagination;
pub mod rules;
pub mod secrets;
pub mod state;
pub mod store;
pub mod telemetry;
pub mod tenant;
pub mod time;
pub mod webhooks;

pub use config::Config;
pub use error::{ApiError, ApiResult};
pub use state::{AppState, Services};
pub use tenant::{Mode, Tenant};
pub use time::Timestamp;
