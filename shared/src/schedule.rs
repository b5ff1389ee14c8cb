//! When a failed delivery is tried again: the schedule of delays (`RETRY_SCHEDULE`),
//! at the bottom, since the configuration reads it.

use std::time::Duration;

/// Delays after each failed attempt, with ± jitter; its length is the retry limit.
#[derive(Clone, Debug, PartialEq)]
pub struct RetrySchedule {
    delays: Vec<Duration>,
    jitter: f64,
}

/// The longest a receiver's `Retry-After` can postpone a retry.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(12 * 3600);

/// 5 s, 30 s, 2 min, 10 min, 30 min, 1 h, 2 h, 4 h, 8 h, 12 h.
pub const DEFAULT_SCHEDULE: &str = "5s,30s,2m,10m,30m,1h,2h,4h,8h,12h";

impl RetrySchedule {
    /// Parses `"5s,30s,2m,1h"` (units s, m, h; a bare number is seconds).
    pub fn parse(text: &str, jitter: f64) -> Result<Self, String> {
        let delays = text
            .split(',')
            .map(|part| {
                parse_duration(part.trim())
                    .ok_or_else(|| format!("invalid delay {part:?} in the retry schedule"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        if !(0.0..1.0).contains(&jitter) {
            return Err(format!(
                "retry jitter must be at least 0 and below 1, got {jitter}"
            ));
        }
        Ok(RetrySchedule { delays, jitter })
    }

    /// How many retries follow the first attempt.
    pub fn retry_limit(&self) -> u32 {
        self.delays.len() as u32
    }

    /// The delay before the next try after `failed_attempts` failures (1 = the first
    /// attempt failed), or `None` when retries are exhausted. `unit` is a random number
    /// in [0, 1) for the jitter; a receiver's `Retry-After` lengthens the delay, up to
    /// [`MAX_RETRY_AFTER`].
    pub fn next_delay(
        &self,
        failed_attempts: u32,
        unit: f64,
        retry_after: Option<Duration>,
    ) -> Option<Duration> {
        let base = *self.delays.get(failed_attempts.checked_sub(1)? as usize)?;
        let factor = 1.0 + self.jitter * (2.0 * unit.clamp(0.0, 1.0) - 1.0);
        let jittered = base.mul_f64(factor);
        Some(match retry_after {
            Some(wait) if wait > jittered => wait.min(MAX_RETRY_AFTER.max(jittered)),
            _ => jittered,
        })
    }
}

fn parse_duration(text: &str) -> Option<Duration> {
    let (number, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => text.split_at(i),
        None => (text, "s"),
    };
    let n: u64 = number.parse().ok()?;
    let seconds = match unit {
        "s" => n,
        "m" => n.checked_mul(60)?,
        "h" => n.checked_mul(3600)?,
        _ => return None,
    };
    Some(Duration::from_secs(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_schedule_is_the_contracts() {
        let schedule = RetrySchedule::parse(DEFAULT_SCHEDULE, 0.0).unwrap();
        assert_eq!(schedule.retry_limit(), 10);
        let delays: Vec<u64> = (1..=10)
            .map(|n| schedule.next_delay(n, 0.5, None).unwrap().as_secs())
            .collect();
        assert_eq!(
            delays,
            vec![5, 30, 120, 600, 1800, 3600, 7200, 14400, 28800, 43200]
        );
        assert_eq!(
            schedule.next_delay(11, 0.5, None),
            None,
            "exhausted after the retry limit"
        );
        assert_eq!(schedule.next_delay(0, 0.5, None), None);
    }

    #[test]
    fn jitter_stays_within_ten_percent() {
        let schedule = RetrySchedule::parse("100s", 0.1).unwrap();
        assert_eq!(
            schedule.next_delay(1, 0.0, None).unwrap(),
            Duration::from_secs(90)
        );
        assert_eq!(
            schedule.next_delay(1, 1.0, None).unwrap(),
            Duration::from_secs(110)
        );
        assert_eq!(
            schedule.next_delay(1, 0.5, None).unwrap(),
            Duration::from_secs(100)
        );
    }

    #[test]
    fn retry_after_lengthens_but_is_capped() {
        let schedule = RetrySchedule::parse("5s,1h", 0.0).unwrap();
        assert_eq!(
            schedule
                .next_delay(1, 0.5, Some(Duration::from_secs(60)))
                .unwrap(),
            Duration::from_secs(60)
        );
        assert_eq!(
            schedule
                .next_delay(1, 0.5, Some(Duration::from_secs(1)))
                .unwrap(),
            Duration::from_secs(5)
        );
        assert_eq!(
            schedule
                .next_delay(1, 0.5, Some(Duration::from_secs(86_400)))
                .unwrap(),
            MAX_RETRY_AFTER
        );
        let short = RetrySchedule::parse("1s", 0.0).unwrap();
        assert_eq!(
            short
                .next_delay(1, 0.5, Some(Duration::from_secs(7)))
                .unwrap(),
            Duration::from_secs(7),
            "not capped by a short schedule"
        );
    }

    #[test]
    fn malformed_schedules_are_rejected() {
        for text in ["", "5x", "5s,,1m", "-1", "1d"] {
            assert!(RetrySchedule::parse(text, 0.1).is_err(), "{text}");
        }
        assert!(RetrySchedule::parse("1,2,3", 1.5).is_err());
        assert_eq!(RetrySchedule::parse("1,2m", 0.0).unwrap().retry_limit(), 2);
    }
}
