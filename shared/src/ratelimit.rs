//! Rate limits: token buckets that hold across every instance of every function.
//!
//! Each bucket lives in the requests table as one number, its GCRA arrival time (see
//! [`requests::lease_tokens`]). An instance does not write for every request: it
//! leases tokens in batches and spends them locally, so a busy tenant costs one
//! conditional write per batch. A new instance leases one token, and each lease spent in
//! full doubles the next, up to a fifth of a second's refill or a tenth of the burst
//! (see `Local::next_lease`): the many instances a burst starts do not each take a
//! batch. Tokens an instance leased and did not spend within [`LEASE_LIFETIME`] are
//! dropped, so what instances hold is bounded by one batch each. An instance refused
//! asks again only when a whole batch fits: a request may be refused while a few
//! tokens (less than a batch) are left, for the few milliseconds they take to refill.
//!
//! Buckets: `api` per tenant (every authenticated request), `outbound` per tenant (the
//! routes that send webhooks now: `/test`, `/webhooks/simulate`, `/replay`, `/recover`,
//! log retries), `page` per payment token (the public payment page) and `portal` per
//! portal session, each taken only once the token or session is known to exist.
//!
//! Anonymous requests (the public routes, before anything is known of them) are counted
//! per client in the instance only ([`Limiter::client`]): a flood of made-up tokens
//! costs no write, and no one client can empty a bucket others share. What all clients
//! together may send is bounded before any function runs, by the route throttles of
//! `template.yaml`.

pub use crate::limits::{Limit, RateLimits};
use crate::{
    ApiError, Tenant, Timestamp,
    store::{
        Db,
        requests::{self, Lease},
    },
};
use axum::http::{HeaderMap, HeaderValue};
use sha2::{Digest, Sha256};
use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

/// How long leased tokens stay spendable in the instance that leased them.
pub const LEASE_LIFETIME: Duration = Duration::from_secs(2);
/// Distinct buckets an instance remembers before it starts afresh.
const MAX_BUCKETS: usize = 10_000;

/// What a bucket said about one request, and the headers that tell the client.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decision {
    pub allowed: bool,
    pub limit: u32,
    pub remaining: u32,
    /// Seconds until the bucket is full again.
    pub reset_seconds: u64,
    /// When refused: seconds until one request fits.
    pub retry_after_seconds: u64,
    per_second: u32,
}

impl Decision {
    /// `RateLimit-Limit`, `RateLimit-Remaining`, `RateLimit-Reset` and `RateLimit-Policy`
    /// (the IETF draft's names): a burst of `limit`, refilled over `w` seconds.
    pub fn write_headers(&self, headers: &mut HeaderMap) {
        headers.insert("ratelimit-limit", HeaderValue::from(self.limit));
        headers.insert("ratelimit-remaining", HeaderValue::from(self.remaining));
        headers.insert("ratelimit-reset", HeaderValue::from(self.reset_seconds));
        let window = self.limit.div_ceil(self.per_second.max(1));
        if let Ok(policy) = HeaderValue::from_str(&format!("{};w={window}", self.limit)) {
            headers.insert("ratelimit-policy", policy);
        }
    }

    /// The error a refused request gets.
    pub fn refusal(&self) -> ApiError {
        ApiError::TooManyRequests {
            retry_after_seconds: self.retry_after_seconds,
        }
    }
}

/// What this instance knows of one bucket.
#[derive(Default)]
struct Local {
    /// Tokens leased and not yet spent ...
    leased: u32,
    /// ... until then.
    spendable_until: Option<Instant>,
    /// The bucket's arrival time when last seen (ms).
    tat: i64,
    /// No token fits before then (ms): refuse without asking DynamoDB.
    refused_until: i64,
    /// How many tokens the last lease took.
    last_lease: u32,
}

impl Local {
    /// The next lease's size: 1 for a new instance, doubled while leases are spent
    /// in full, cut back to what was spent when they are not, never above `most`. A
    /// busy instance leases whole batches; the many instances a burst starts, each
    /// serving a few requests, do not each take a batch from the shared bucket.
    fn next_lease(&self, most: u32) -> u32 {
        let spent = self.last_lease.saturating_sub(self.leased);
        let size = if self.last_lease == 0 {
            1
        } else if spent >= self.last_lease {
            self.last_lease.saturating_mul(2)
        } else {
            spent
        };
        size.clamp(1, most.max(1))
    }
}

/// The buckets of one instance. Cheap to share: a map of small locks.
#[derive(Default)]
pub struct Limiter {
    buckets: Mutex<HashMap<String, Arc<tokio::sync::Mutex<Local>>>>,
    /// Each client's arrival time (ms), for [`Limiter::client`].
    clients: Mutex<HashMap<String, f64>>,
}

impl Limiter {
    /// One request of an anonymous `client` (its source address), counted in this
    /// instance only: no store, so it costs nothing and cannot fail open. `None` when
    /// the limit is off.
    pub fn client(&self, client: &str, limit: Limit) -> Option<Decision> {
        if limit.per_second == 0 || limit.burst == 0 {
            return None;
        }
        let now = Timestamp::now().as_millis();
        let mut clients = self.clients.lock().unwrap_or_else(|e| e.into_inner());
        if clients.len() >= MAX_BUCKETS && !clients.contains_key(client) {
            // Full buckets carry no information: forget them first.
            clients.retain(|_, tat| *tat > now as f64);
            if clients.len() >= MAX_BUCKETS {
                clients.clear();
            }
        }
        let tat = clients.entry(client.to_string()).or_insert(0.0);
        let (allowed, next) = gcra(*tat, now, limit);
        if allowed {
            *tat = next;
        }
        let local = Local {
            tat: tat.ceil() as i64,
            refused_until: if allowed {
                0
            } else {
                (*tat - f64::from(limit.burst - 1) * limit.interval_ms()).ceil() as i64
            },
            ..Local::default()
        };
        counted(Some(decision(&local, limit, now, allowed)), "client")
    }

    /// Takes one token from `bucket` (`kind` names it in metrics). A store that cannot
    /// be reached lets the request through: the limiter protects the store, it does not
    /// replace it. Each such request is counted (`RateLimitUnchecked`, alarmed on).
    pub async fn take(&self, db: &Db, bucket: &str, limit: Limit, kind: &str) -> Option<Decision> {
        match self.lease(db, bucket, limit).await {
            Ok(decision) => counted(decision, kind),
            Err(error) => {
                unchecked(&error, bucket, kind);
                None
            }
        }
    }

    /// Takes one token from `bucket`; `Err` when the store could not be asked.
    async fn lease(
        &self,
        db: &Db,
        bucket: &str,
        limit: Limit,
    ) -> Result<Option<Decision>, crate::store::StoreError> {
        if limit.per_second == 0 || limit.burst == 0 {
            return Ok(None);
        }
        let local = {
            let mut buckets = self.buckets.lock().expect("limiter lock");
            if buckets.len() >= MAX_BUCKETS && !buckets.contains_key(bucket) {
                buckets.clear();
            }
            buckets.entry(bucket.to_string()).or_default().clone()
        };
        // One lease at a time per bucket: concurrent requests wait for it, then share it.
        let mut local = local.lock().await;
        let now = Timestamp::now().as_millis();
        let spendable = local.spendable_until.is_some_and(|at| Instant::now() < at);
        if local.leased > 0 && spendable {
            local.leased -= 1;
            return Ok(Some(decision(&local, limit, now, true)));
        }
        if now < local.refused_until {
            return Ok(Some(decision(&local, limit, now, false)));
        }
        let interval = limit.interval_ms();
        let batch = local.next_lease(limit.batch());
        match requests::lease_tokens(db, bucket, now, batch, interval, limit.burst).await {
            Ok(Lease::Granted { tokens, tat }) => {
                local.last_lease = tokens;
                local.leased = tokens - 1;
                local.spendable_until = Some(Instant::now() + LEASE_LIFETIME);
                local.tat = tat;
                Ok(Some(decision(&local, limit, now, true)))
            }
            Ok(Lease::Refused { tat }) => {
                // Ask again only when a whole batch fits: a bucket near empty costs one
                // write per batch, not one per request (a failed condition is a write).
                local.tat = tat;
                local.leased = 0;
                local.refused_until =
                    tat - (f64::from(limit.burst - batch) * interval).floor() as i64;
                Ok(Some(decision(&local, limit, now, false)))
            }
            Err(error) => Err(error),
        }
    }

    /// The `api` bucket of a tenant.
    pub async fn api(&self, db: &Db, limit: Limit, tenant: &Tenant) -> Option<Decision> {
        let bucket = format!("rate#api#{}", tenant.partition());
        self.take(db, &bucket, limit, "api").await
    }

    /// The `outbound` bucket of a tenant. It fails closed: these routes make PushGuard
    /// send requests to third parties, so when the bucket cannot be checked the request
    /// is refused (503, counted) rather than let through unlimited.
    pub async fn outbound(
        &self,
        db: &Db,
        limit: Limit,
        tenant: &Tenant,
    ) -> Result<Option<Decision>, ApiError> {
        let bucket = format!("rate#outbound#{}", tenant.partition());
        match self.lease(db, &bucket, limit).await {
            Ok(decision) => Ok(counted(decision, "outbound")),
            Err(error) => {
                unchecked(&error, &bucket, "outbound");
                Err(ApiError::Unavailable)
            }
        }
    }

    /// The bucket of a public payment page, by its token (stored hashed, as orders
    /// store it).
    pub async fn page(&self, db: &Db, limit: Limit, token: &str) -> Option<Decision> {
        let bucket = format!(
            "rate#page#{}",
            hex::encode(Sha256::digest(token.as_bytes()))
        );
        self.take(db, &bucket, limit, "page").await
    }

    /// The bucket of one portal session, by its id (every page and action of a link).
    pub async fn portal(&self, db: &Db, limit: Limit, session: &str) -> Option<Decision> {
        let bucket = format!("rate#portal#{session}");
        self.take(db, &bucket, limit, "portal").await
    }
}

/// Logs and counts (`RateLimitUnchecked`) a request whose bucket the store could not
/// check.
fn unchecked(error: &crate::store::StoreError, bucket: &str, kind: &str) {
    tracing::warn!(%error, bucket, "rate limit not checked: the store failed");
    crate::metrics::count("RateLimitUnchecked", &[("Bucket", kind)], 1);
}

/// Counts a refusal in the `RateLimited` metric.
fn counted(decision: Option<Decision>, bucket: &str) -> Option<Decision> {
    if decision.is_some_and(|d| !d.allowed) {
        crate::metrics::count("RateLimited", &[("Bucket", bucket)], 1);
    }
    decision
}

/// The generic cell rate algorithm for one request at `now`: whether it fits a bucket
/// whose theoretical arrival time is `tat`, and the arrival time after it.
fn gcra(tat: f64, now: i64, limit: Limit) -> (bool, f64) {
    let interval = limit.interval_ms();
    let next = tat.max(now as f64) + interval;
    let allowed = next - now as f64 <= f64::from(limit.burst) * interval;
    (allowed, next)
}

/// Whole tokens the bucket holds at `now`, given its arrival time.
fn available(tat: i64, now: i64, limit: Limit) -> u32 {
    let room = (now as f64 + f64::from(limit.burst) * limit.interval_ms() - tat as f64)
        / limit.interval_ms();
    room.floor().clamp(0.0, f64::from(limit.burst)) as u32
}

fn decision(local: &Local, limit: Limit, now: i64, allowed: bool) -> Decision {
    let remaining = if allowed {
        (available(local.tat, now, limit) + local.leased).min(limit.burst)
    } else {
        0
    };
    let seconds = |ms: i64| (ms.max(0) as u64).div_ceil(1000);
    Decision {
        allowed,
        limit: limit.burst,
        remaining,
        reset_seconds: seconds(local.tat - now),
        retry_after_seconds: seconds(local.refused_until - now).max(1),
        per_second: limit.per_second,
    }
}

/// Runs `request` if `decision` allows it (or there is none: the limit is off, or the
/// store failed), else answers 429; either way with the `RateLimit-*` headers.
pub async fn guarded(
    decision: Option<Decision>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let Some(decision) = decision else {
        return next.run(request).await;
    };
    let mut response = if decision.allowed {
        next.run(request).await
    } else {
        decision.refusal().into_response()
    };
    decision.write_headers(response.headers_mut());
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    const API: Limit = Limit {
        per_second: 100,
        burst: 200,
    };

    #[test]
    fn batches_are_a_fifth_of_a_second_and_a_tenth_of_the_burst() {
        assert_eq!(API.batch(), 20, "0.05 writes per request at most");
        let outbound = Limit {
            per_second: 5,
            burst: 20,
        };
        assert_eq!(outbound.batch(), 1);
        let wide = Limit {
            per_second: 1000,
            burst: 100,
        };
        assert_eq!(wide.batch(), 10);
    }

    #[test]
    fn a_bucket_refills_at_its_rate_up_to_its_burst() {
        let now = 1_000_000;
        assert_eq!(available(0, now, API), 200, "long idle: full");
        assert_eq!(available(now + 2_000, now, API), 0, "just emptied");
        assert_eq!(available(now + 1_000, now, API), 100, "half a window on");
        assert_eq!(available(now + 1_995, now, API), 0, "not a whole token yet");
        assert_eq!(available(now + 1_990, now, API), 1);
    }

    #[test]
    fn leases_start_at_one_token_and_grow_while_they_are_spent() {
        let mut local = Local::default();
        assert_eq!(local.next_lease(20), 1, "a new instance takes one token");
        let mut sizes = Vec::new();
        for _ in 0..7 {
            local.last_lease = local.next_lease(20);
            local.leased = 0; // spent in full
            sizes.push(local.last_lease);
        }
        assert_eq!(sizes, [1, 2, 4, 8, 16, 20, 20]);
        local.leased = 17; // only 3 of 20 spent before the lease ran out
        assert_eq!(local.next_lease(20), 3);
        local.last_lease = 3;
        local.leased = 3; // none spent
        assert_eq!(local.next_lease(20), 1);
        assert_eq!(local.next_lease(1), 1);
    }

    #[test]
    fn decisions_say_what_is_left_and_when_it_is_full() {
        let now = 1_000_000;
        let local = Local {
            leased: 19,
            spendable_until: None,
            tat: now + 1_500,
            refused_until: 0,
            last_lease: 20,
        };
        let allowed = decision(&local, API, now, true);
        assert_eq!(allowed.remaining, 50 + 19);
        assert_eq!(allowed.reset_seconds, 2);
        let refused = Local {
            leased: 0,
            spendable_until: None,
            tat: now + 2_000,
            refused_until: now + 10,
            last_lease: 1,
        };
        let refused = decision(&refused, API, now, false);
        assert_eq!((refused.remaining, refused.retry_after_seconds), (0, 1));
        let mut headers = HeaderMap::new();
        refused.write_headers(&mut headers);
        assert_eq!(headers["ratelimit-limit"], "200");
        assert_eq!(headers["ratelimit-remaining"], "0");
        assert_eq!(headers["ratelimit-reset"], "2");
        assert_eq!(headers["ratelimit-policy"], "200;w=2");
    }

    #[test]
    fn each_client_has_its_own_bucket_in_the_instance() {
        let limiter = Limiter::default();
        let limit = Limit {
            per_second: 1,
            burst: 3,
        };
        let allowed: Vec<bool> = (0..4)
            .map(|_| limiter.client("203.0.113.7", limit).unwrap().allowed)
            .collect();
        assert_eq!(allowed, [true, true, true, false]);
        let refused = limiter.client("203.0.113.7", limit).unwrap();
        assert!(!refused.allowed);
        assert_eq!(refused.retry_after_seconds, 1);
        assert!(
            limiter.client("198.51.100.1", limit).unwrap().allowed,
            "another client"
        );
        let off = Limit {
            per_second: 0,
            burst: 3,
        };
        assert!(limiter.client("203.0.113.7", off).is_none());
    }
}
