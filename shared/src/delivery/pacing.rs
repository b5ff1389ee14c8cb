//! Per-endpoint pacing: an endpoint's own `rate_limit`, and a rate the dispatcher
//! adapts to what the receiver says, by additive increase and multiplicative decrease.
//!
//! A paced endpoint's deliveries each take a slot from its pace item (one shared
//! schedule for every dispatcher, `store::pacing`): one that has to wait is put back
//! on the deliveries queue with the delay of its slot, unattempted, so waiting is
//! never a failure and never drops anything. A receiver that answers `429` or `503`,
//! or times out, halves the rate (at most once a second, holding every delivery until
//! its `Retry-After`), or drops it to what the receiver accepted in the last second
//! if that is lower (as far as this instance saw: a first push-back says more about
//! the receiver's limit than a halving from where the endpoint was); each second of
//! good answers after that adds one delivery per second, until the rate is back at the
//! endpoint's own limit and the adaptation ends.
//!
//! Which endpoints are paced is part of the delivery configuration (`rate_limit`, and
//! the `throttled` mark the first push-back sets), so an endpoint nobody limits costs
//! nothing here.

use super::DeliveryResult;
use crate::webhooks::{Endpoint, Throttled, outbound::Attempt, outbound::Failure};
use crate::{
    Tenant, Timestamp,
    ids::EndpointId,
    metrics,
    store::{self, Db},
};
use std::{collections::HashMap, sync::Mutex, time::Duration};

/// The slowest the dispatcher goes: one delivery every 5 seconds.
pub const MIN_RATE: f64 = 0.2;
/// Where an endpoint without a `rate_limit` of its own is back to normal.
pub const OPEN_RATE: f64 = 50.0;
/// What each second of good answers adds, in deliveries per second.
pub const STEP: f64 = 1.0;
/// How long a change of rate stands before the next: one per burst, not per answer.
pub const SETTLE: Duration = Duration::from_secs(1);

/// Why a receiver's answer slows its endpoint down, if it does.
pub fn push_back(attempt: &Attempt) -> Option<&'static str> {
    match (attempt.status, attempt.failure) {
        (Some(429), _) => Some("429"),
        (Some(503), _) => Some("503"),
        (None, Some(Failure::Timeout)) => Some("timeout"),
        _ => None,
    }
}

/// The endpoint's own ceiling: its `rate_limit`, or [`OPEN_RATE`].
pub fn ceiling(endpoint: &Endpoint) -> f64 {
    endpoint.rate_limit.map_or(OPEN_RATE, f64::from)
}

/// The rate after a push-back at `current`.
pub fn slower(current: f64) -> f64 {
    (current / 2.0).max(MIN_RATE)
}

/// The rate after a second of good answers at `current`; `None` once it reaches
/// `ceiling` (the adaptation is over).
pub fn faster(current: f64, ceiling: f64) -> Option<f64> {
    let next = current + STEP;
    (next < ceiling).then_some(next)
}

/// How late after its slot a delivery may still go: later, it takes a new slot.
pub const LATE_MS: i64 = 100;

/// The longest a delivery waits for its slot where it is (its message comes up to a
/// second early, since SQS delays by whole seconds; a late one's new slot may be near).
pub const WAIT_IN_PLACE: Duration = Duration::from_millis(1_500);

/// Milliseconds between the slots of deliveries at `rate` per second: a second and
/// [`LATE_MS`] over `rate`, so that deliveries that each go at most [`LATE_MS`] after
/// their slot are never more than `rate` in any second.
pub fn interval_ms(rate: f64) -> i64 {
    ((1000 + LATE_MS) as f64 / rate.max(MIN_RATE)).ceil() as i64
}

/// Whether a delivery holding the slot at `slot_ms` may still go at `now_ms`.
pub fn on_time(slot_ms: i64, now_ms: i64) -> bool {
    now_ms <= slot_ms + LATE_MS
}

/// Whether deliveries to `endpoint` take a slot first.
pub fn is_paced(endpoint: &Endpoint) -> bool {
    endpoint.rate_limit.is_some() || endpoint.throttled.is_some()
}

/// What this instance knows of each endpoint's pace: the adapted rate its pace item
/// last said (what the next slot is spaced by), and when its receiver last accepted
/// deliveries (for a first estimate of its limit).
#[derive(Default)]
pub struct Rates(Mutex<HashMap<(Tenant, EndpointId), Known>>);

#[derive(Default)]
struct Known {
    rate: Option<f64>,
    /// The successes of about the last second, oldest first.
    accepted: std::collections::VecDeque<std::time::Instant>,
}

const MAX_KNOWN: usize = 10_000;

impl Rates {
    fn with<T>(
        &self,
        tenant: &Tenant,
        endpoint: &EndpointId,
        f: impl FnOnce(&mut Known) -> T,
    ) -> T {
        let mut known = self.0.lock().expect("rates lock");
        if known.len() > MAX_KNOWN {
            known.clear();
        }
        f(known.entry((tenant.clone(), endpoint.clone())).or_default())
    }

    fn get(&self, tenant: &Tenant, endpoint: &EndpointId) -> Option<f64> {
        self.with(tenant, endpoint, |known| known.rate)
    }

    fn set(&self, tenant: &Tenant, endpoint: &EndpointId, rate: Option<f64>) {
        self.with(tenant, endpoint, |known| known.rate = rate);
    }

    /// Notes a delivery the endpoint's receiver accepted; how many it accepted in the
    /// last second, this one included.
    fn accepted(&self, tenant: &Tenant, endpoint: &EndpointId, add: bool) -> usize {
        let now = std::time::Instant::now();
        self.with(tenant, endpoint, |known| {
            if add {
                known.accepted.push_back(now);
            }
            while known
                .accepted
                .front()
                .is_some_and(|at| now.duration_since(*at) >= Duration::from_secs(1))
            {
                known.accepted.pop_front();
            }
            known.accepted.len()
        })
    }

    /// The rate deliveries to `endpoint` are spaced by now.
    fn current(&self, tenant: &Tenant, endpoint: &Endpoint) -> f64 {
        let own = ceiling(endpoint);
        self.get(tenant, &endpoint.id)
            .map_or(own, |adapted| adapted.min(own))
    }
}

/// A slot of a paced endpoint, taken.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Slot {
    /// When it is (Unix milliseconds).
    pub at: i64,
    /// How long its delivery has to wait for it (zero: go now).
    pub wait: Duration,
}

/// Takes the endpoint's next slot.
pub async fn reserve(
    db: &Db,
    rates: &Rates,
    tenant: &Tenant,
    endpoint: &Endpoint,
) -> DeliveryResult<Slot> {
    let now = Timestamp::now().as_millis();
    let interval = interval_ms(rates.current(tenant, endpoint));
    let (slot, pace) = store::pacing::reserve(db, tenant, &endpoint.id, interval, now).await?;
    rates.set(tenant, &endpoint.id, pace.rate);
    Ok(Slot {
        at: slot,
        wait: Duration::from_millis((slot - now).max(0) as u64),
    })
}

/// Lets a delivery that holds the slot at `slot_ms` but came late go now, when no
/// other delivery took a slot after it: its slot, and the next, move to now. `false`:
/// it takes a new slot instead.
pub async fn go_late(
    db: &Db,
    tenant: &Tenant,
    endpoint: &Endpoint,
    slot_ms: i64,
) -> DeliveryResult<bool> {
    let now = Timestamp::now().as_millis();
    Ok(store::pacing::slide(db, tenant, &endpoint.id, slot_ms, now).await?)
}

/// Adapts the endpoint's rate to what its receiver answered.
pub async fn adapt(
    db: &Db,
    rates: &Rates,
    tenant: &Tenant,
    endpoint: &Endpoint,
    attempt: &Attempt,
) -> DeliveryResult<()> {
    let now = Timestamp::now();
    let settle = SETTLE.as_millis() as i64;
    if attempt.succeeded() {
        rates.accepted(tenant, &endpoint.id, true);
    }
    if let Some(reason) = push_back(attempt) {
        let accepted = rates.accepted(tenant, &endpoint.id, false) as f64;
        let rate = slower(rates.current(tenant, endpoint)).min(accepted.max(MIN_RATE));
        if let Some(wait) = attempt.retry_after {
            let resume = now.as_millis() + wait.as_millis() as i64;
            store::pacing::hold_until(db, tenant, &endpoint.id, resume, now.as_millis()).await?;
        }
        let slowed = store::pacing::slow_down(
            db,
            tenant,
            &endpoint.id,
            rate,
            reason,
            now.as_millis(),
            settle,
        )
        .await?;
        if slowed {
            rates.set(tenant, &endpoint.id, Some(rate));
            metrics::count("EndpointsSlowed", &[("Reason", reason)], 1);
            tracing::info!(endpoint = %endpoint.id, rate, reason, "receiver pushed back: slower");
        }
        if endpoint.throttled.is_none() {
            let mark = Throttled {
                reason: reason.to_string(),
                since: now,
            };
            store::endpoints::set_throttled(db, tenant, &endpoint.id, Some(&mark)).await?;
        }
    } else if attempt.succeeded()
        && endpoint.throttled.is_some()
        && let Some(current) = rates.get(tenant, &endpoint.id)
    {
        let next = faster(current, ceiling(endpoint));
        let raised = store::pacing::speed_up(
            db,
            tenant,
            &endpoint.id,
            current,
            next,
            now.as_millis(),
            settle,
        )
        .await?;
        if raised {
            rates.set(tenant, &endpoint.id, next);
            if next.is_none() {
                tracing::info!(endpoint = %endpoint.id, "receiver recovered: back to its own rate");
                store::endpoints::set_throttled(db, tenant, &endpoint.id, None).await?;
            }
        }
    }
    Ok(())
}

/// The rate an endpoint is sent at now, and why it is below its own, as its pace
/// item holds them (for the endpoint object).
pub async fn current(
    db: &Db,
    tenant: &Tenant,
    endpoint: &Endpoint,
) -> DeliveryResult<(Option<f64>, Option<String>)> {
    if !is_paced(endpoint) {
        return Ok((None, None));
    }
    let pace = store::pacing::get(db, tenant, &endpoint.id).await?;
    let own = ceiling(endpoint);
    let adapted = pace.as_ref().and_then(|p| p.rate);
    let rate = adapted.map_or(own, |r| r.min(own));
    let reason = adapted.and(pace.and_then(|p| p.reason));
    Ok((Some(rate), reason))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_backs_halve_the_rate_and_good_seconds_add_one_until_the_ceiling() {
        assert_eq!(slower(20.0), 10.0);
        assert_eq!(slower(0.3), MIN_RATE, "never below one every 5 s");
        assert_eq!(faster(3.0, 10.0), Some(4.0));
        assert_eq!(faster(9.0, 10.0), None, "back at the endpoint's own rate");
        // From the open rate, a receiver that allows 5 a second is reached in 3
        // halvings, and each climb back above it takes a few seconds.
        let mut rate = OPEN_RATE;
        let mut halvings = 0;
        while rate > 5.0 {
            rate = slower(rate);
            halvings += 1;
        }
        assert_eq!((halvings, rate), (4, 3.125));
        assert_eq!(interval_ms(5.0), 220);
        assert_eq!(interval_ms(20.0), 55);
        assert_eq!(interval_ms(0.0), 5500, "at least MIN_RATE");
    }

    #[test]
    fn only_429_503_and_timeouts_push_back() {
        let answered = |status| Attempt {
            status: Some(status),
            ..Attempt::default()
        };
        assert_eq!(push_back(&answered(429)), Some("429"));
        assert_eq!(push_back(&answered(503)), Some("503"));
        assert_eq!(push_back(&answered(500)), None);
        assert_eq!(push_back(&answered(200)), None);
        let timed_out = Attempt {
            failure: Some(Failure::Timeout),
            ..Attempt::default()
        };
        assert_eq!(push_back(&timed_out), Some("timeout"));
    }
}
