//! The crate every PushGuard function shares: configuration, the one error type,
//! authentication, tenants, pagination, ids and time, HTTP conventions, and the
//! DynamoDB store (one module per table).

pub mod account;
pub mod auth;
pub mod aws;
pub mod commerce;
pub mod concurrency;
pub mod config;
pub mod crud;
pub mod dialects;
pub mod error;
pub mod events;
pub mod http;
pub mod idempotency;
pub mod ids;
pub mod keyring;
pub mod limits;
pub mod metrics;
pub mod openapi;
pub mod pagination;
pub mod portal;
pub mod queue;
pub mod ratelimit;
pub mod routes;
pub mod rules;
pub mod scopes;
pub mod secrets;
pub mod state;
pub mod store;
pub mod telemetry;
pub mod tenant;
pub mod time;
pub mod tls;
pub mod validate;
pub mod webhooks;

pub use config::Config;
pub use error::{ApiError, ApiResult};
pub use state::{AppState, Services};
pub use tenant::{Mode, Tenant};
pub use time::Timestamp;

/// Every binary that links this crate (the functions, the CLI, the tests and the
/// benchmark) allocates through mimalloc: with glibc's allocator, a third of the CPU
/// of a delivery went to malloc and free (BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[cfg(test)]
mod layers {
    /// The modules at the bottom of the crate, and what each may use of it.
    const BOTTOM: [(&str, &str, &[&str]); 7] = [
        ("ids", include_str!("ids.rs"), &[]),
        ("time", include_str!("time.rs"), &[]),
        ("limits", include_str!("limits.rs"), &[]),
        ("scopes", include_str!("scopes.rs"), &[]),
        ("validate", include_str!("validate.rs"), &[]),
        ("tenant", include_str!("tenant.rs"), &["ids"]),
        ("error", include_str!("error.rs"), &[]),
    ];

    /// The dialects (the seeds' other APIs) are adapters at the very top: they reach
    /// the endpoints through `webhooks::manage`'s use cases and the engine only through
    /// its format hooks (`webhooks::dialect`), never a table, a queue, a key or the
    /// engine's internals.
    #[test]
    fn dialects_call_use_cases_only() {
        const DIALECTS: [(&str, &str); 5] = [
            ("dialects", include_str!("dialects/mod.rs")),
            ("conekta", include_str!("dialects/conekta.rs")),
            ("paybyrd", include_str!("dialects/paybyrd.rs")),
            ("pixlpay", include_str!("dialects/pixlpay.rs")),
            ("keysign", include_str!("dialects/keysign.rs")),
        ];
        for (dialect, source) in DIALECTS {
            for below in [
                "store::",
                "queue::",
                "keyring::",
                "dispatch::",
                "lanes::",
                "pacing::",
                "configs::",
                "state.db",
                "state.keyring",
                "state.queues",
            ] {
                assert!(
                    !source.contains(below),
                    "{dialect} reaches {below} directly; go through webhooks::manage"
                );
            }
        }
    }

    /// The caches a function holds (the rate limiter, the delivery configurations, the
    /// endpoints' paces) take the handles they read through, never the whole state that
    /// holds them: else the state and its caches import each other.
    #[test]
    fn caches_take_the_handles_they_use_not_the_state() {
        const CACHES: [(&str, &str); 3] = [
            ("ratelimit", include_str!("ratelimit.rs")),
            ("webhooks::configs", include_str!("webhooks/configs.rs")),
            ("webhooks::pacing", include_str!("webhooks/pacing.rs")),
        ];
        for (cache, source) in CACHES {
            for state in ["Services", "AppState", "crate::state"] {
                assert!(
                    !source.contains(state),
                    "{cache} uses {state}: give it the handles it reads through (&Db, &Keyring, ...)"
                );
            }
        }
    }

    #[test]
    fn bottom_modules_import_nothing_above_them() {
        for (module, source, allowed) in BOTTOM {
            for (at, _) in source.match_indices("crate::") {
                let used: String = source[at + 7..]
                    .chars()
                    .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                    .collect();
                assert!(
                    used.is_empty() || allowed.contains(&used.as_str()),
                    "{module} uses crate::{used}, which is above it"
                );
            }
            assert!(
                !source.contains("use crate::{"),
                "{module} imports a group from the crate; name each module it may use"
            );
        }
    }
}
