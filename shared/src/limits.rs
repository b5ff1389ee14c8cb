//! Limits of the API that several layers enforce, and the shapes of the rate limits
//! that configuration sets and `ratelimit` enforces (at the bottom of the crate).

/// The largest request body accepted.
pub const MAX_BODY_BYTES: usize = 256 * 1024;

/// A token bucket's shape: refilled `per_second`, at most `burst` deep. A rate of 0
/// turns the limit off.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limit {
    pub per_second: u32,
    pub burst: u32,
}

impl Limit {
    pub(crate) fn interval_ms(&self) -> f64 {
        1000.0 / f64::from(self.per_second)
    }

    /// Tokens leased at once: a fifth of a second's refill, at most a tenth of the burst.
    pub(crate) fn batch(&self) -> u32 {
        (self.per_second / 5).min(self.burst / 10).max(1)
    }
}

/// The limits of each kind of bucket.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimits {
    pub api: Limit,
    pub outbound: Limit,
    pub page: Limit,
    /// Each portal session's pages and actions.
    pub portal: Limit,
    /// Each client (source address) on the public routes, counted in each function
    /// instance only: anonymous requests never write to the store for their limit.
    pub client: Limit,
}
