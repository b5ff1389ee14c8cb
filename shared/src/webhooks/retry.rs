//! What follows an attempt: delivered, ended, or retried after how long.

pub use crate::schedule::{DEFAULT_SCHEDULE, MAX_RETRY_AFTER, RetrySchedule};
use std::time::Duration;

/// What an attempt leaves a delivery as.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Next {
    /// The receiver took it.
    Delivered,
    /// It ends failed: the receiver said it is gone (410), or the retries are spent.
    Ended,
    /// It is tried again after this long.
    Retry(Duration),
}

/// What follows an attempt that answered `outcome`, the `attempts`-th of a delivery
/// allowed `retry_limit` retries, on `schedule`; `unit` is a random number in [0, 1)
/// for the jitter. A delivery allowed more retries than the schedule has delays (a
/// dialect's own count) waits the last delay for each of the rest.
pub fn next(
    outcome: &super::outbound::Attempt,
    attempts: u32,
    retry_limit: u32,
    schedule: &RetrySchedule,
    unit: f64,
) -> Next {
    if outcome.succeeded() {
        Next::Delivered
    } else if outcome.gone() || attempts > retry_limit {
        Next::Ended
    } else {
        let step = attempts.min(schedule.retry_limit());
        match schedule.next_delay(step, unit, outcome.retry_after) {
            Some(delay) => Next::Retry(delay),
            None => Next::Ended,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::webhooks::outbound::{Attempt, Failure};

    fn answered(status: u16) -> Attempt {
        Attempt {
            status: Some(status),
            ..Attempt::default()
        }
    }

    #[test]
    fn what_follows_an_attempt_for_every_kind_of_answer() {
        let schedule = RetrySchedule::parse("5s,30s,2m", 0.0).unwrap();
        let after =
            |outcome: &Attempt, attempts, limit| next(outcome, attempts, limit, &schedule, 0.5);
        assert_eq!(after(&answered(200), 1, 3), Next::Delivered);
        assert_eq!(
            after(&answered(204), 4, 3),
            Next::Delivered,
            "a success late in the retries"
        );
        assert_eq!(after(&answered(410), 1, 3), Next::Ended, "gone: no retry");
        assert_eq!(
            after(&answered(500), 1, 3),
            Next::Retry(Duration::from_secs(5))
        );
        assert_eq!(
            after(&answered(500), 2, 3),
            Next::Retry(Duration::from_secs(30))
        );
        assert_eq!(
            after(&answered(500), 3, 3),
            Next::Retry(Duration::from_secs(120))
        );
        assert_eq!(
            after(&answered(500), 4, 3),
            Next::Ended,
            "the retries are spent"
        );
        let timed_out = Attempt {
            failure: Some(Failure::Timeout),
            ..Attempt::default()
        };
        assert_eq!(after(&timed_out, 1, 3), Next::Retry(Duration::from_secs(5)));
        let redirected = answered(302);
        assert_eq!(
            after(&redirected, 1, 3),
            Next::Retry(Duration::from_secs(5))
        );
        let unaccepted = Attempt {
            unaccepted: true,
            ..answered(204)
        };
        assert_eq!(
            after(&unaccepted, 1, 3),
            Next::Retry(Duration::from_secs(5)),
            "a 2xx the dialect does not count (Paybyrd's 204)"
        );
        let later = Attempt {
            retry_after: Some(Duration::from_secs(60)),
            ..answered(429)
        };
        assert_eq!(
            after(&later, 1, 3),
            Next::Retry(Duration::from_secs(60)),
            "Retry-After"
        );
        // More retries than delays (Paybyrd's 11 on a shorter schedule): the last again.
        assert_eq!(
            after(&answered(500), 5, 11),
            Next::Retry(Duration::from_secs(120))
        );
        assert_eq!(after(&answered(500), 12, 11), Next::Ended);
    }
}
