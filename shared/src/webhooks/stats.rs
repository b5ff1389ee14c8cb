//! Delivery statistics: per endpoint and hour, attempts by outcome and a latency
//! histogram with fixed log-scale buckets, so counts from many dispatchers add up
//! (DynamoDB `ADD`) and percentiles come from the sum without keeping any sample.
//!
//! A bucket `k >= 1` holds latencies in `[2^((k-1)/4), 2^(k/4))` milliseconds, bucket 0
//! those under 1 ms: four buckets per doubling, so a percentile read from the histogram
//! is within one bucket's width (about 19% of the value) of the exact one.

use super::outbound::{Attempt, Failure};
use crate::t;
use crate::{Tenant, Timestamp, ids::EndpointId};
use serde::Serialize;
use std::{
    collections::{BTreeMap, HashMap},
    sync::Mutex,
};

/// Buckets of the latency histogram: up to 2^(63/4) ms, about 55 s; the last bucket
/// also holds anything slower.
pub const LATENCY_BUCKETS: usize = 64;

/// Why an attempt failed, as statistics count it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Cause {
    Timeout,
    Connection,
    /// A 3xx (redirects are not followed).
    Redirect,
    /// A 4xx.
    Client,
    /// A 5xx, or any other status that is not a success.
    Server,
    /// The target resolved to an address deliveries may not reach.
    Refused,
}

impl Cause {
    pub const ALL: [Cause; 6] = [
        Cause::Timeout,
        Cause::Connection,
        Cause::Redirect,
        Cause::Client,
        Cause::Server,
        Cause::Refused,
    ];

    /// Its name in the API and in stored items.
    pub fn as_str(self) -> &'static str {
        match self {
            Cause::Timeout => "timeout",
            Cause::Connection => "connection",
            Cause::Redirect => "3xx",
            Cause::Client => "4xx",
            Cause::Server => "5xx",
            Cause::Refused => "refused",
        }
    }

    /// Why `attempt` failed, `None` if it succeeded.
    pub fn of(attempt: &Attempt) -> Option<Cause> {
        match (attempt.status, attempt.failure) {
            // A 2xx its dialect does not accept is the receiver's answer refused.
            (Some(200..=299), _) if attempt.unaccepted => Some(Cause::Client),
            (Some(status), _) => match status {
                200..=299 => None,
                300..=399 => Some(Cause::Redirect),
                400..=499 => Some(Cause::Client),
                _ => Some(Cause::Server),
            },
            (None, Some(Failure::Timeout)) => Some(Cause::Timeout),
            (None, Some(Failure::Refused)) => Some(Cause::Refused),
            (None, Some(Failure::Connection) | None) => Some(Cause::Connection),
        }
    }
}

/// The histogram bucket of a latency of `ms` milliseconds.
pub fn bucket_of(ms: u64) -> usize {
    if ms == 0 {
        return 0;
    }
    // floor(4 * log2(ms)) + 1, in exact arithmetic: ms >= 2^((k-1)/4) <=> ms^4 >= 2^(k-1).
    let fourth = (ms as u128).saturating_pow(4);
    let k = (u128::BITS - fourth.leading_zeros()) as usize; // floor(log2(ms^4)) + 1
    k.min(LATENCY_BUCKETS - 1)
}

/// The latencies bucket `k` holds, in milliseconds: `[low, high)`.
pub fn bucket_bounds(k: usize) -> (f64, f64) {
    if k == 0 {
        (0.0, 1.0)
    } else {
        let high = if k == LATENCY_BUCKETS - 1 {
            f64::INFINITY
        } else {
            2f64.powf(k as f64 / 4.0)
        };
        (2f64.powf((k - 1) as f64 / 4.0), high)
    }
}

/// What a bucket reports for a latency inside it: its middle (its lower bound for the
/// open-ended last one), rounded to 0.1 ms.
fn representative(k: usize) -> f64 {
    let (low, high) = bucket_bounds(k);
    let value = if high.is_finite() {
        (low + high) / 2.0
    } else {
        low
    };
    (value * 10.0).round() / 10.0
}

/// Attempts of one endpoint over some time: what one stored item holds (an hour), or
/// the sum of several.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    pub attempts: u64,
    pub succeeded: u64,
    pub failures: BTreeMap<Cause, u64>,
    /// Latency of the attempts that got a response, by bucket (sparse).
    pub latency: BTreeMap<usize, u64>,
}

impl Tally {
    /// Counts one attempt.
    pub fn add(&mut self, attempt: &Attempt) {
        self.attempts += 1;
        match Cause::of(attempt) {
            None => self.succeeded += 1,
            Some(cause) => *self.failures.entry(cause).or_default() += 1,
        }
        if attempt.status.is_some() {
            *self
                .latency
                .entry(bucket_of(attempt.duration_ms))
                .or_default() += 1;
        }
    }

    /// Adds `other` to this one.
    pub fn merge(&mut self, other: &Tally) {
        self.attempts += other.attempts;
        self.succeeded += other.succeeded;
        for (cause, n) in &other.failures {
            *self.failures.entry(*cause).or_default() += n;
        }
        for (bucket, n) in &other.latency {
            *self.latency.entry(*bucket).or_default() += n;
        }
    }

    pub fn failed(&self) -> u64 {
        self.failures.values().sum()
    }

    /// The latency at or under which a fraction `p` (0 < p <= 1) of the timed attempts
    /// fall, by nearest rank, as its bucket reports it; `None` with no timed attempt.
    pub fn percentile(&self, p: f64) -> Option<f64> {
        let timed: u64 = self.latency.values().sum();
        if timed == 0 {
            return None;
        }
        let rank = ((p * timed as f64).ceil() as u64).clamp(1, timed);
        let mut seen = 0;
        for (bucket, n) in &self.latency {
            seen += n;
            if seen >= rank {
                return Some(representative(*bucket));
            }
        }
        None
    }

    /// What the API shows of it.
    pub fn view(&self) -> TallyView {
        TallyView {
            attempts: self.attempts,
            succeeded: self.succeeded,
            failed: self.failed(),
            failures: Cause::ALL
                .iter()
                .map(|c| (c.as_str(), self.failures.get(c).copied().unwrap_or(0)))
                .collect(),
            success_rate: (self.attempts > 0)
                .then(|| (self.succeeded as f64 / self.attempts as f64 * 1e4).round() / 1e4),
            latency_ms: Latency {
                p50: self.percentile(0.50),
                p95: self.percentile(0.95),
                p99: self.percentile(0.99),
            },
        }
    }
}

/// The hour `at` falls in, `YYYY-MM-DDTHH` (UTC): what one stored tally covers.
pub fn hour_of(at: Timestamp) -> String {
    at.to_string()[..13].to_string()
}

/// Where a tally is kept: an endpoint's hour.
pub type TallyKey = (Tenant, EndpointId, String);

/// The attempts of one dispatcher batch (or one API call), by endpoint and hour, to be
/// written once each when it ends instead of once per attempt.
#[derive(Debug, Default)]
pub struct Recorder {
    tallies: Mutex<HashMap<TallyKey, Tally>>,
}

impl Recorder {
    /// Counts an attempt made at `at` to `endpoint`.
    pub fn record(&self, tenant: &Tenant, endpoint: &EndpointId, at: Timestamp, attempt: &Attempt) {
        let key = (tenant.clone(), endpoint.clone(), hour_of(at));
        let mut tallies = self.tallies.lock().unwrap_or_else(|e| e.into_inner());
        tallies.entry(key).or_default().add(attempt);
    }

    /// What was counted since the last call.
    pub fn take(&self) -> Vec<(TallyKey, Tally)> {
        let mut tallies = self.tallies.lock().unwrap_or_else(|e| e.into_inner());
        tallies.drain().collect()
    }
}

/// How far back statistics look, and how they are bucketed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Period {
    /// The last 24 hours, by hour.
    Day,
    /// The last 7 days, by hour.
    Week,
    /// The last 30 days, by day.
    Month,
}

impl std::str::FromStr for Period {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "24h" => Ok(Period::Day),
            "7d" => Ok(Period::Week),
            "30d" => Ok(Period::Month),
            _ => Err(t!("Period must be one of 24h, 7d, 30d")),
        }
    }
}

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;

impl Period {
    pub fn as_str(self) -> &'static str {
        match self {
            Period::Day => "24h",
            Period::Week => "7d",
            Period::Month => "30d",
        }
    }

    /// `hour` or `day`.
    pub fn granularity(self) -> &'static str {
        match self {
            Period::Month => "day",
            Period::Day | Period::Week => "hour",
        }
    }

    /// The starts of its buckets as of `now`, oldest first; the last holds `now`.
    pub fn bucket_starts(self, now: Timestamp) -> Vec<Timestamp> {
        let (count, width) = match self {
            Period::Day => (24, HOUR_MS),
            Period::Week => (7 * 24, HOUR_MS),
            Period::Month => (30, DAY_MS),
        };
        let last = now.as_millis().div_euclid(width) * width;
        (0..count)
            .rev()
            .map(|back| Timestamp::from_millis(last - back * width))
            .collect()
    }

    /// Sums the stored hours (by [`hour_of`]) into its buckets as of `now`, and the
    /// whole period's total.
    pub fn series(
        self,
        now: Timestamp,
        hours: &HashMap<String, Tally>,
    ) -> (Vec<(Timestamp, Tally)>, Tally) {
        let starts = self.bucket_starts(now);
        let mut buckets: Vec<(Timestamp, Tally)> =
            starts.iter().map(|s| (*s, Tally::default())).collect();
        let mut total = Tally::default();
        for (hour, tally) in hours {
            let Some(at) = Timestamp::parse(&format!("{hour}:00:00Z")) else {
                continue;
            };
            // The bucket that starts last at or before the hour.
            let index = starts.partition_point(|start| *start <= at);
            if index == 0 {
                continue; // before the period
            }
            buckets[index - 1].1.merge(tally);
            total.merge(tally);
        }
        (buckets, total)
    }
}

/// Latency percentiles in milliseconds (`null` without a timed attempt).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Latency {
    pub p50: Option<f64>,
    pub p95: Option<f64>,
    pub p99: Option<f64>,
}

/// Attempts, outcomes and latency over a bucket or a period.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TallyView {
    pub attempts: u64,
    pub succeeded: u64,
    pub failed: u64,
    /// Failed attempts by cause: `timeout`, `connection`, `3xx`, `4xx`, `5xx`, `refused`.
    #[schema(value_type = BTreeMap<String, u64>)]
    pub failures: BTreeMap<&'static str, u64>,
    /// Succeeded over attempts, `null` without attempts.
    pub success_rate: Option<f64>,
    /// Of the attempts that got a response.
    pub latency_ms: Latency,
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn answered(status: u16, ms: u64) -> Attempt {
        Attempt {
            status: Some(status),
            duration_ms: ms,
            ..Attempt::default()
        }
    }

    #[test]
    fn buckets_are_log_scale_with_four_per_doubling() {
        assert_eq!(bucket_of(0), 0);
        assert_eq!(bucket_of(1), 1);
        assert_eq!(bucket_of(2), 5);
        assert_eq!(bucket_of(4), 9);
        assert_eq!(bucket_of(1024), 41);
        assert_eq!(bucket_of(u64::MAX), LATENCY_BUCKETS - 1);
        for ms in 0..100_000 {
            let (low, high) = bucket_bounds(bucket_of(ms));
            assert!(
                (ms as f64) >= low && (ms as f64) < high,
                "{ms} in [{low}, {high})"
            );
        }
    }

    #[test]
    fn causes_follow_the_status_or_what_stopped_the_request() {
        let failed = |failure| Attempt {
            failure: Some(failure),
            ..Attempt::default()
        };
        assert_eq!(Cause::of(&answered(204, 1)), None);
        assert_eq!(Cause::of(&answered(302, 1)), Some(Cause::Redirect));
        assert_eq!(Cause::of(&answered(429, 1)), Some(Cause::Client));
        assert_eq!(Cause::of(&answered(503, 1)), Some(Cause::Server));
        assert_eq!(Cause::of(&failed(Failure::Timeout)), Some(Cause::Timeout));
        assert_eq!(
            Cause::of(&failed(Failure::Connection)),
            Some(Cause::Connection)
        );
        assert_eq!(Cause::of(&failed(Failure::Refused)), Some(Cause::Refused));
    }

    #[test]
    fn a_tally_counts_outcomes_and_times_only_answered_attempts() {
        let mut tally = Tally::default();
        tally.add(&answered(200, 12));
        tally.add(&answered(500, 30));
        tally.add(&Attempt {
            failure: Some(Failure::Timeout),
            duration_ms: 15_000,
            ..Attempt::default()
        });
        let view = tally.view();
        assert_eq!((view.attempts, view.succeeded, view.failed), (3, 1, 2));
        assert_eq!(view.failures["5xx"], 1);
        assert_eq!(view.failures["timeout"], 1);
        assert_eq!(view.failures["4xx"], 0);
        assert_eq!(view.success_rate, Some(0.3333));
        assert_eq!(tally.latency.values().sum::<u64>(), 2);
        assert!(Tally::default().view().latency_ms.p50.is_none());
    }

    #[test]
    fn periods_bucket_stored_hours_and_leave_out_older_ones() {
        let now = Timestamp::parse("2026-12-02T03:25:00Z").unwrap();
        let day = Period::Day.bucket_starts(now);
        assert_eq!(day.len(), 24);
        assert_eq!(day[23], Timestamp::parse("2026-12-02T03:00:00Z").unwrap());
        assert_eq!(day[0], Timestamp::parse("2026-12-01T04:00:00Z").unwrap());
        let month = Period::Month.bucket_starts(now);
        assert_eq!(month.len(), 30);
        assert_eq!(month[29], Timestamp::parse("2026-12-02T00:00:00Z").unwrap());
        assert_eq!(Period::Week.bucket_starts(now).len(), 168);

        let one = |ms| {
            let mut tally = Tally::default();
            tally.add(&answered(200, ms));
            tally
        };
        let hours: HashMap<String, Tally> = [
            ("2026-12-02T03".to_string(), one(5)),
            ("2026-12-02T01".to_string(), one(7)),
            ("2026-12-01T03".to_string(), one(9)), // 24 h ago: outside the last 24 hours
        ]
        .into();
        let (buckets, total) = Period::Day.series(now, &hours);
        assert_eq!(total.attempts, 2);
        assert_eq!(buckets[23].1.attempts, 1);
        assert_eq!(buckets[21].1.attempts, 1);
        let (days, total) = Period::Month.series(now, &hours);
        assert_eq!(total.attempts, 3);
        assert_eq!(days[29].1.attempts, 2);
        assert_eq!(days[28].1.attempts, 1);
        assert_eq!("7d".parse::<Period>(), Ok(Period::Week));
        assert!("1h".parse::<Period>().is_err());
    }

    fn exact_percentile(sorted: &[u64], p: f64) -> u64 {
        let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
        sorted[rank - 1]
    }

    proptest! {
        #[test]
        fn percentiles_are_within_one_bucket_of_the_exact_value(
            samples in prop::collection::vec(
                prop_oneof![0u64..20, 20u64..2_000, 2_000u64..60_000],
                1..400,
            ),
            split in 0usize..400,
        ) {
            // Two dispatchers' tallies, merged as the stored items add up.
            let (first, second) = samples.split_at(split.min(samples.len()));
            let (mut a, mut b) = (Tally::default(), Tally::default());
            first.iter().for_each(|ms| a.add(&answered(200, *ms)));
            second.iter().for_each(|ms| b.add(&answered(200, *ms)));
            a.merge(&b);
            let mut sorted = samples.clone();
            sorted.sort();
            for p in [0.5, 0.9, 0.95, 0.99, 1.0] {
                let exact = exact_percentile(&sorted, p);
                let estimate = a.percentile(p).unwrap();
                let (low, high) = bucket_bounds(bucket_of(exact));
                let width = if high.is_finite() { high - low } else { low };
                prop_assert!(
                    (estimate - exact as f64).abs() <= width + 0.05,
                    "p{p}: estimate {estimate}, exact {exact}, bucket width {width}"
                );
            }
        }
    }
}
