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

/// Reads names from a lookup, each name written once where it is read: a setting with
/// its default (`setting("MAX_ENDPOINTS", 10)`), a table the stack must name. It also
/// keeps the settings it was asked for, so [`Config::settings`] is what is read.
struct Reader<'a> {
    lookup: &'a dyn Fn(&str) -> Option<String>,
    /// Listing the settings: a missing table is a placeholder, not an error.
    listing: bool,
    asked: std::cell::RefCell<Vec<String>>,
}

impl Reader<'_> {
    /// A name's value, `None` when unset or empty.
    fn optional(&self, name: &str) -> Option<String> {
        self.asked.borrow_mut().push(name.to_string());
        (self.lookup)(name).filter(|v| !v.is_empty())
    }

    /// A value the stack must give (a table's name).
    fn required(&self, name: &str) -> Result<String, ConfigError> {
        match (self.lookup)(name).filter(|v| !v.is_empty()) {
            Some(value) => Ok(value),
            None if self.listing => Ok(String::new()),
            None => Err(ConfigError(format!("{name} is not set"))),
        }
    }

    /// A number, `default` when unset.
    fn setting<T: FromStr>(&self, name: &str, default: T) -> Result<T, ConfigError> {
        match self.optional(name) {
            None => Ok(default),
            Some(value) => value.trim().parse().map_err(|_| {
                ConfigError(format!(
                    "{name} must be a non-negative integer, got {value:?}"
                ))
            }),
        }
    }

    fn seconds(&self, name: &str, default: u64) -> Result<Duration, ConfigError> {
        self.setting(name, default).map(Duration::from_secs)
    }

    fn flag(&self, name: &str, default: bool) -> Result<bool, ConfigError> {
        let Some(value) = self.optional(name) else {
            return Ok(default);
        };
        match value.trim().to_ascii_lowercase().as_str() {
            "1" | "true" | "yes" => Ok(true),
            "0" | "false" | "no" => Ok(false),
            _ => Err(ConfigError(format!(
                "{name} must be true or false, got {value:?}"
            ))),
        }
    }
}

impl Config {
    /// Reads the configuration from the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the configuration from any name → value lookup (used by `pushguard serve`).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        Self::read(&Reader {
            lookup: &lookup,
            listing: false,
            asked: Default::default(),
        })
    }

    /// The settings read with a default, beside the tables the stack names: what
    /// `pushguard serve` takes from the developer's environment even when template.yaml
    /// does not set them.
    pub fn settings() -> Vec<String> {
        let reader = Reader {
            lookup: &|_| None,
            listing: true,
            asked: Default::default(),
        };
        Self::read(&reader).expect("every setting has a valid default");
        reader.asked.into_inner()
    }

    fn read(env: &Reader<'_>) -> Result<Self, ConfigError> {
        Ok(Config {
            tables: Tables {
                accounts: env.required("ACCOUNTS_TABLE")?,
                api_keys: env.required("API_KEYS_TABLE")?,
                endpoints: env.required("ENDPOINTS_TABLE")?,
                requests: env.required("REQUESTS_TABLE")?,
                events: env.required("EVENTS_TABLE")?,
                webhook_logs: env.required("WEBHOOK_LOGS_TABLE")?,
                products: env.required("PRODUCTS_TABLE")?,
                categories: env.required("CATEGORIES_TABLE")?,
                orders: env.required("ORDERS_TABLE")?,
                blacklists: env.required("BLACKLISTS_TABLE")?,
                blacklist_rules: env.required("BLACKLIST_RULES_TABLE")?,
                feedback: env.required("FEEDBACK_TABLE")?,
                queries: env.required("QUERIES_TABLE")?,
                portal_sessions: env.required("PORTAL_SESSIONS_TABLE")?,
            },
            events_queue_url: env.optional("EVENTS_QUEUE_URL"),
            deliveries_queue_url: env.optional("DELIVERIES_QUEUE_URL"),
            slow_queue_url: env.optional("SLOW_QUEUE_URL"),
            max_endpoints: env.setting("MAX_ENDPOINTS", 10)?,
            maintenance: {
                let retry_after = env.setting("MAINTENANCE_RETRY_AFTER_SECONDS", 300)?;
                env.flag("MAINTENANCE_MODE", false)?.then_some(retry_after)
            },
            allow_private_targets: env.flag("ALLOW_PRIVATE_TARGETS", false)?,
            auth_cache_ttl: env.seconds("AUTH_CACHE_TTL_SECONDS", 30)?,
            public_keys_cache: env.seconds("PUBLIC_KEYS_CACHE_SECONDS", 60)?,
            signed_request_tolerance: env.seconds("SIGNED_REQUEST_TOLERANCE_SECONDS", 180)?,
            delivery: DeliveryConfig {
                timeout: env.seconds("DELIVERY_TIMEOUT_SECONDS", 15)?,
                retry_schedule: crate::schedule::RetrySchedule::parse(
                    &env.optional("RETRY_SCHEDULE")
                        .unwrap_or_else(|| crate::schedule::DEFAULT_SCHEDULE.to_string()),
                    env.setting("RETRY_JITTER", 0.1)?,
                )
                .map_err(|e| ConfigError(format!("RETRY_SCHEDULE: {e}")))?,
                disable_after_failures: env.setting("DISABLE_AFTER_FAILURES", 15)?,
                disable_after: env.seconds("DISABLE_AFTER_SECONDS", 86400)?,
                max_queue_delay: env
                    .seconds("MAX_QUEUE_DELAY_SECONDS", 900)?
                    .min(Duration::from_secs(900)),
                retry_sweep_grace: env.seconds("RETRY_SWEEP_GRACE_SECONDS", 300)?,
                slow_after: Duration::from_millis(env.setting("SLOW_RECEIVER_MS", 1000)?),
            },
            retention_days: env.setting("RETENTION_DAYS", 30)?,
            pending_event_grace: env.seconds("PENDING_EVENT_GRACE_SECONDS", 60)?,
            public_url: env
                .optional("PUBLIC_URL")
                .map(|v| v.trim().trim_end_matches('/').to_string())
                .filter(|v| !v.is_empty()),
            secrets_key_id: env.optional("SECRETS_KEY_ID"),
            media_bucket: env.optional("MEDIA_BUCKET"),
            metrics_namespace: env
                .optional("METRICS_NAMESPACE")
                .unwrap_or_else(|| "PushGuard".into()),
            rate_limits: {
                let limit = |prefix: &str, per_second: u32, burst: u32| {
                    Ok::<_, ConfigError>(crate::limits::Limit {
                        per_second: env
                            .setting(&format!("{prefix}RATE_LIMIT_PER_SECOND"), per_second)?,
                        burst: env.setting(&format!("{prefix}RATE_LIMIT_BURST"), burst)?,
                    })
                };
                crate::limits::RateLimits {
                    api: limit("", 100, 200)?,
                    outbound: limit("OUTBOUND_", 5, 20)?,
                    page: limit("PAGE_", 2, 20)?,
                    portal: limit("PORTAL_", 5, 60)?,
                    client: limit("CLIENT_", 20, 100)?,
                }
            },
        })
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

    /// Every name the configuration reads is a table it requires or one of
    /// [`Config::settings`]: what `pushguard serve` passes on is what counts.
    #[test]
    fn the_settings_are_every_name_read_but_the_tables() {
        let asked = std::sync::Mutex::new(std::collections::BTreeSet::new());
        let given = lookup(&TABLES);
        Config::from_lookup(|name| {
            asked.lock().unwrap().insert(name.to_string());
            given(name)
        })
        .unwrap();
        let mut read: Vec<String> = asked.into_inner().unwrap().into_iter().collect();
        read.retain(|name| !TABLES.iter().any(|(table, _)| table == name));
        let mut settings = Config::settings();
        settings.sort();
        assert_eq!(read, settings);
        assert_eq!(settings.len(), 34);
        assert!(settings.contains(&"PORTAL_RATE_LIMIT_BURST".to_string()));
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
