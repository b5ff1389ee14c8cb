//! Configuration read once per cold start from the environment (or, locally, from
//! the environment that template.yaml declares, resolved by `pushguard serve`).

use std::{str::FromStr, time::Duration};

/// Physical DynamoDB table names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tables {
    pub accounts: String,
    pub api_keys: String,
    pub endpoints: String,
    pub requests: String,
    /// Portal sessions: only the portal function may read or write it.
    pub portal_sessions: String,
    pub events: String,
    pub webhook_logs: String,
    pub products: String,
    pub categories: String,
    /// Orders, and the tokens of their hosted payment pages.
    pub orders: String,
    pub blacklists: String,
    pub blacklist_rules: String,
    pub feedback: String,
    pub queries: String,
}

/// Everything a function needs to know about its surroundings.
#[derive(Clone, Debug)]
pub struct Config {
    pub tables: Tables,
    /// Queue that receives `{tenant, event_id}` after an event is committed (outbox).
    pub events_queue_url: Option<String>,
    /// Queue for delayed delivery retries.
    pub deliveries_queue_url: Option<String>,
    /// Queue for the deliveries of endpoints whose receivers are slow (`SLOW_QUEUE_URL`):
    /// they wait there, not in front of everyone else's.
    pub slow_queue_url: Option<String>,
    /// Webhook endpoints one tenant may have.
    pub max_endpoints: u32,
    /// Allow plain http and loopback/private webhook targets (local development only).
    pub allow_private_targets: bool,
    /// The operator's switch (`MAINTENANCE_MODE`): every API route and page answers 503
    /// "We're temporarily offline for maintenance", with `Retry-After` of this many
    /// seconds (`MAINTENANCE_RETRY_AFTER_SECONDS`); deliveries go on.
    pub maintenance: Option<u64>,
    /// How long what a resolved API key stands for stays cached in a warm function
    /// (whether the key still exists is read on every request).
    pub auth_cache_ttl: Duration,
    /// How long a function instance serves an account's public keys without reading
    /// them again (`PUBLIC_KEYS_CACHE_SECONDS`; 0: read every time).
    pub public_keys_cache: Duration,
    /// How far a signed request's timestamp may be from now.
    pub signed_request_tolerance: Duration,
    pub delivery: DeliveryConfig,
    /// Days that events and delivery logs are kept.
    pub retention_days: u32,
    /// An event still pending this long after its commit is re-sent by the scheduler.
    pub pending_event_grace: Duration,
    /// Where hosted payment pages are served (`https://pay.example.com`); when unset,
    /// the request's own host.
    pub public_url: Option<String>,
    pub rate_limits: crate::limits::RateLimits,
    /// Where metrics go in CloudWatch (`METRICS_NAMESPACE`, default `PushGuard`).
    pub metrics_namespace: String,
    /// The KMS key webhook signing secrets are sealed under (`SECRETS_KEY_ID`).
    pub secrets_key_id: Option<String>,
    /// The S3 bucket of images, files and uploads (`MEDIA_BUCKET`; the stack's
    /// `MediaBucket`). Unset: uploads answer 503.
    pub media_bucket: Option<String>,
}

/// How deliveries are made, retried, and when endpoints are disabled.
#[derive(Clone, Debug)]
pub struct DeliveryConfig {
    pub timeout: Duration,
    pub retry_schedule: crate::schedule::RetrySchedule,
    /// Consecutive failed attempts that disable an endpoint ...
    pub disable_after_failures: u32,
    /// ... provided they span at least this long.
    pub disable_after: Duration,
    /// Delays up to this wait on the deliveries queue (SQS's maximum is 15 minutes);
    /// longer ones wait in the logs table for the scheduler.
    pub max_queue_delay: Duration,
    /// A retry that should be on the deliveries queue but has not run this long after it
    /// was due (its message was lost, or ended in the dead-letter queue) is re-sent by the
    /// scheduler; parked retries are leased to a scheduler run for this long.
    pub retry_sweep_grace: Duration,
    /// A receiver that leaves a delivery from the shared queues unanswered this long is
    /// slow (`SLOW_RECEIVER_MS`): the attempt moves to the slow queue, and so do its
    /// endpoint's next deliveries. Zero: no endpoint is ever moved.
    pub slow_after: Duration,
}

/// A missing or malformed environment variable.
#[derive(Debug, thiserror::Error)]
#[error("configuration: {0}")]
pub struct ConfigError(String);

/// The settings read with a default (beside the tables and queues the stack names): what
/// `pushguard serve` takes from the developer's environment even when template.yaml
/// does not set them. A test keeps this list equal to what [`Config::from_lookup`] reads.
pub const SETTINGS: [&str; 34] = [
    "SLOW_RECEIVER_MS",
    "MAX_ENDPOINTS",
    "MAINTENANCE_MODE",
    "MAINTENANCE_RETRY_AFTER_SECONDS",
    "ALLOW_PRIVATE_TARGETS",
    "AUTH_CACHE_TTL_SECONDS",
    "PUBLIC_KEYS_CACHE_SECONDS",
    "SIGNED_REQUEST_TOLERANCE_SECONDS",
    "RETRY_SCHEDULE",
    "RETRY_JITTER",
    "DELIVERY_TIMEOUT_SECONDS",
    "DISABLE_AFTER_FAILURES",
    "DISABLE_AFTER_SECONDS",
    "MAX_QUEUE_DELAY_SECONDS",
    "RETENTION_DAYS",
    "PENDING_EVENT_GRACE_SECONDS",
    "RETRY_SWEEP_GRACE_SECONDS",
    "PUBLIC_URL",
    "SECRETS_KEY_ID",
    "MEDIA_BUCKET",
    "METRICS_NAMESPACE",
    "EVENTS_QUEUE_URL",
    "DELIVERIES_QUEUE_URL",
    "SLOW_QUEUE_URL",
    "RATE_LIMIT_PER_SECOND",
    "RATE_LIMIT_BURST",
    "OUTBOUND_RATE_LIMIT_PER_SECOND",
    "OUTBOUND_RATE_LIMIT_BURST",
    "PAGE_RATE_LIMIT_PER_SECOND",
    "PAGE_RATE_LIMIT_BURST",
    "PORTAL_RATE_LIMIT_PER_SECOND",
    "PORTAL_RATE_LIMIT_BURST",
    "CLIENT_RATE_LIMIT_PER_SECOND",
    "CLIENT_RATE_LIMIT_BURST",
];

impl Config {
    /// Reads the configuration from the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the configuration from any name → value lookup (used by `pushguard serve`).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let required = |name: &str| {
            lookup(name)
                .filter(|v| !v.is_empty())
                .ok_or_else(|| ConfigError(format!("{name} is not set")))
        };
        let parsed = |name: &str, default: &str| -> Result<String, ConfigError> {
            Ok(lookup(name)
                .filter(|v| !v.is_empty())
                .unwrap_or_else(|| default.to_string()))
        };
        Ok(Config {
            tables: Tables {
                accounts: required("ACCOUNTS_TABLE")?,
                api_keys: required("API_KEYS_TABLE")?,
                endpoints: required("ENDPOINTS_TABLE")?,
                requests: required("REQUESTS_TABLE")?,
                events: required("EVENTS_TABLE")?,
                webhook_logs: required("WEBHOOK_LOGS_TABLE")?,
                products: required("PRODUCTS_TABLE")?,
                categories: required("CATEGORIES_TABLE")?,
                orders: required("ORDERS_TABLE")?,
                blacklists: required("BLACKLISTS_TABLE")?,
                blacklist_rules: required("BLACKLIST_RULES_TABLE")?,
                feedback: required("FEEDBACK_TABLE")?,
                queries: required("QUERIES_TABLE")?,
                portal_sessions: required("PORTAL_SESSIONS_TABLE")?,
            },
            events_queue_url: lookup("EVENTS_QUEUE_URL").filter(|v| !v.is_empty()),
            deliveries_queue_url: lookup("DELIVERIES_QUEUE_URL").filter(|v| !v.is_empty()),
            slow_queue_url: lookup("SLOW_QUEUE_URL").filter(|v| !v.is_empty()),
            max_endpoints: number("MAX_ENDPOINTS", &parsed("MAX_ENDPOINTS", "10")?)?,
            maintenance: {
                let retry_after = number(
                    "MAINTENANCE_RETRY_AFTER_SECONDS",
                    &parsed("MAINTENANCE_RETRY_AFTER_SECONDS", "300")?,
                )?;
                flag("MAINTENANCE_MODE", &parsed("MAINTENANCE_MODE", "false")?)?
                    .then_some(retry_after)
            },
            allow_private_targets: flag(
                "ALLOW_PRIVATE_TARGETS",
                &parsed("ALLOW_PRIVATE_TARGETS", "false")?,
            )?,
            auth_cache_ttl: Duration::from_secs(number(
                "AUTH_CACHE_TTL_SECONDS",
                &parsed("AUTH_CACHE_TTL_SECONDS", "30")?,
            )?),
            public_keys_cache: Duration::from_secs(number(
                "PUBLIC_KEYS_CACHE_SECONDS",
                &parsed("PUBLIC_KEYS_CACHE_SECONDS", "60")?,
            )?),
            signed_request_tolerance: Duration::from_secs(number(
                "SIGNED_REQUEST_TOLERANCE_SECONDS",
                &parsed("SIGNED_REQUEST_TOLERANCE_SECONDS", "180")?,
            )?),
            delivery: DeliveryConfig {
                timeout: Duration::from_secs(number(
                    "DELIVERY_TIMEOUT_SECONDS",
                    &parsed("DELIVERY_TIMEOUT_SECONDS", "15")?,
                )?),
                retry_schedule: crate::schedule::RetrySchedule::parse(
                    &parsed("RETRY_SCHEDULE", crate::schedule::DEFAULT_SCHEDULE)?,
                    number("RETRY_JITTER", &parsed("RETRY_JITTER", "0.1")?)?,
                )
                .map_err(|e| ConfigError(format!("RETRY_SCHEDULE: {e}")))?,
                disable_after_failures: number(
                    "DISABLE_AFTER_FAILURES",
                    &parsed("DISABLE_AFTER_FAILURES", "15")?,
                )?,
                disable_after: Duration::from_secs(number(
                    "DISABLE_AFTER_SECONDS",
                    &parsed("DISABLE_AFTER_SECONDS", "86400")?,
                )?),
                max_queue_delay: Duration::from_secs(number(
                    "MAX_QUEUE_DELAY_SECONDS",
                    &parsed("MAX_QUEUE_DELAY_SECONDS", "900")?,
                )?)
                .min(Duration::from_secs(900)),
                retry_sweep_grace: Duration::from_secs(number(
                    "RETRY_SWEEP_GRACE_SECONDS",
                    &parsed("RETRY_SWEEP_GRACE_SECONDS", "300")?,
                )?),
                slow_after: Duration::from_millis(number(
                    "SLOW_RECEIVER_MS",
                    &parsed("SLOW_RECEIVER_MS", "1000")?,
                )?),
            },
            retention_days: number("RETENTION_DAYS", &parsed("RETENTION_DAYS", "30")?)?,
            pending_event_grace: Duration::from_secs(number(
                "PENDING_EVENT_GRACE_SECONDS",
                &parsed("PENDING_EVENT_GRACE_SECONDS", "60")?,
            )?),
            public_url: lookup("PUBLIC_URL")
                .map(|v| v.trim().trim_end_matches('/').to_string())
                .filter(|v| !v.is_empty()),
            secrets_key_id: lookup("SECRETS_KEY_ID").filter(|v| !v.is_empty()),
            media_bucket: lookup("MEDIA_BUCKET").filter(|v| !v.is_empty()),
            metrics_namespace: parsed("METRICS_NAMESPACE", "PushGuard")?,
            rate_limits: {
                let limit = |prefix: &str, per_second: &str, burst: &str| {
                    let rate = format!("{prefix}RATE_LIMIT_PER_SECOND");
                    let depth = format!("{prefix}RATE_LIMIT_BURST");
                    Ok::<_, ConfigError>(crate::limits::Limit {
                        per_second: number(&rate, &parsed(&rate, per_second)?)?,
                        burst: number(&depth, &parsed(&depth, burst)?)?,
                    })
                };
                crate::limits::RateLimits {
                    api: limit("", "100", "200")?,
                    outbound: limit("OUTBOUND_", "5", "20")?,
                    page: limit("PAGE_", "2", "20")?,
                    portal: limit("PORTAL_", "5", "60")?,
                    client: limit("CLIENT_", "20", "100")?,
                }
            },
        })
    }
}

fn number<T: FromStr>(name: &str, value: &str) -> Result<T, ConfigError> {
    value.trim().parse().map_err(|_| {
        ConfigError(format!(
            "{name} must be a non-negative integer, got {value:?}"
        ))
    })
}

fn flag(name: &str, value: &str) -> Result<bool, ConfigError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" => Ok(true),
        "0" | "false" | "no" => Ok(false),
        _ => Err(ConfigError(format!(
            "{name} must be true or false, got {value:?}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    const TABLES: [(&str, &str); 14] = [
        ("ACCOUNTS_TABLE", "a"),
        ("API_KEYS_TABLE", "k"),
        ("ENDPOINTS_TABLE", "e"),
        ("REQUESTS_TABLE", "n"),
        ("EVENTS_TABLE", "v"),
        ("WEBHOOK_LOGS_TABLE", "l"),
        ("PRODUCTS_TABLE", "p"),
        ("CATEGORIES_TABLE", "c"),
        ("ORDERS_TABLE", "o"),
        ("BLACKLISTS_TABLE", "b"),
        ("BLACKLIST_RULES_TABLE", "r"),
        ("FEEDBACK_TABLE", "f"),
        ("QUERIES_TABLE", "q"),
        ("PORTAL_SESSIONS_TABLE", "s"),
    ];

    #[test]
    fn defaults_apply_when_only_tables_are_set() {
        let config = Config::from_lookup(lookup(&TABLES)).unwrap();
        assert_eq!(config.max_endpoints, 10);
        assert!(!config.allow_private_targets);
        assert_eq!(config.auth_cache_ttl, Duration::from_secs(30));
        assert_eq!(config.tables.endpoints, "e");
        assert_eq!(config.delivery.retry_schedule.retry_limit(), 10);
        assert_eq!(config.delivery.disable_after_failures, 15);
        assert_eq!(config.delivery.timeout, Duration::from_secs(15));
        assert_eq!(config.retention_days, 30);
        assert_eq!(
            config.rate_limits.api,
            crate::limits::Limit {
                per_second: 100,
                burst: 200
            }
        );
        assert_eq!(config.rate_limits.outbound.per_second, 5);
        assert_eq!(config.rate_limits.page.burst, 20);
    }

    #[test]
    fn tests_can_shrink_the_schedule() {
        let mut pairs = TABLES.to_vec();
        pairs.extend([
            ("RETRY_SCHEDULE", "1s,2s"),
            ("RETRY_JITTER", "0"),
            ("MAX_QUEUE_DELAY_SECONDS", "5000"),
        ]);
        let config = Config::from_lookup(lookup(&pairs)).unwrap();
        assert_eq!(config.delivery.retry_schedule.retry_limit(), 2);
        assert_eq!(
            config.delivery.max_queue_delay,
            Duration::from_secs(900),
            "SQS cannot delay longer"
        );
        pairs.push(("RETRY_SCHEDULE", "soon"));
        assert!(Config::from_lookup(lookup(&pairs)).is_err());
    }

    /// Every name the configuration reads is a table it requires or one of [`SETTINGS`],
    /// and every one of those is read: what `pushguard serve` passes on is what counts.
    #[test]
    fn the_settings_list_is_what_the_configuration_reads() {
        let asked = std::sync::Mutex::new(std::collections::BTreeSet::new());
        let given = lookup(&TABLES);
        Config::from_lookup(|name| {
            asked.lock().unwrap().insert(name.to_string());
            given(name)
        })
        .unwrap();
        let tables: std::collections::BTreeSet<String> =
            TABLES.iter().map(|(name, _)| name.to_string()).collect();
        let mut read: Vec<String> = asked.into_inner().unwrap().into_iter().collect();
        read.retain(|name| !tables.contains(name));
        let mut listed: Vec<String> = SETTINGS.iter().map(|name| name.to_string()).collect();
        listed.sort();
        assert_eq!(read, listed);
    }

    #[test]
    fn maintenance_is_off_unless_switched_on_and_says_when_to_come_back() {
        assert_eq!(
            Config::from_lookup(lookup(&TABLES)).unwrap().maintenance,
            None
        );
        let mut pairs = TABLES.to_vec();
        pairs.push(("MAINTENANCE_MODE", "true"));
        assert_eq!(
            Config::from_lookup(lookup(&pairs)).unwrap().maintenance,
            Some(300)
        );
        pairs.push(("MAINTENANCE_RETRY_AFTER_SECONDS", "60"));
        assert_eq!(
            Config::from_lookup(lookup(&pairs)).unwrap().maintenance,
            Some(60)
        );
        pairs.push(("MAINTENANCE_MODE", "soon"));
        assert!(Config::from_lookup(lookup(&pairs)).is_err());
    }

    #[test]
    fn missing_table_is_an_error_naming_the_variable() {
        let err = Config::from_lookup(lookup(&TABLES[..5])).unwrap_err();
        assert!(err.to_string().contains("WEBHOOK_LOGS_TABLE"), "{err}");
    }

    #[test]
    fn malformed_numbers_and_flags_are_rejected() {
        let mut pairs = TABLES.to_vec();
        pairs.push(("MAX_ENDPOINTS", "ten"));
        assert!(Config::from_lookup(lookup(&pairs)).is_err());
        let mut pairs = TABLES.to_vec();
        pairs.push(("ALLOW_PRIVATE_TARGETS", "maybe"));
        assert!(Config::from_lookup(lookup(&pairs)).is_err());
    }
}
