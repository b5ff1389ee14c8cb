//! What follows an attempt, decided once its answer is in and before anything is
//! written: a pure function of what the attempt knows, the answer and the settings.
//! The engine then carries it out (the log's outcome, the retry's message or its place
//! on the due index, the lane, the endpoint's streak and slow mark).

use crate::{
    Timestamp,
    config::DeliveryConfig,
    webhooks::{
        outbound::Attempt,
        retry::{self, Next},
    },
};
use std::time::Duration;

/// What is known of a delivery and its endpoint when its attempt is answered.
#[derive(Clone, Copy, Debug)]
pub struct Facts {
    /// The delivery's attempts, this one included.
    pub attempts: u32,
    /// The retries it is allowed.
    pub retry_limit: u32,
    /// Whether it counts for its endpoint (not test pings, nor a `webhook_url`).
    pub counts: bool,
    /// Whether the endpoint's failure streak had begun before this attempt.
    pub failing: bool,
    /// The endpoint's slow mark, when the attempt ran on the slow queue.
    pub slow_since: Option<Timestamp>,
    /// When the answer came.
    pub now: Timestamp,
}

/// What follows the attempt.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FollowUp {
    pub next: Next,
    /// Where its retry waits, when it has one.
    pub wait: Option<Wait>,
    pub streak: Streak,
    /// Whether the endpoint's slow mark ends (it answered quickly on the slow queue).
    pub end_slow_mark: bool,
}

/// Where a retry waits for its time.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Wait {
    /// On a queue, with this delay (the queue's longest at most).
    Queued(Duration),
    /// On the due index, for the scheduler (beyond the queue's longest delay).
    Parked(Duration),
}

/// What the attempt does to its endpoint's failure streak.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Streak {
    Untouched,
    /// A success ends the streak that had begun.
    Reset,
    /// A failure adds to it (`gone`: a `410`, which disables the endpoint at once).
    Failed {
        gone: bool,
    },
}

impl FollowUp {
    /// Whether the delivery ends here (delivered, or failed for good).
    pub fn ends(&self) -> bool {
        !matches!(self.next, Next::Retry(_))
    }

    /// When the retry is due, and when the due index should next look at the log:
    /// a parked retry at its time, a queued one a sweep grace later (if its message
    /// is lost).
    pub fn due(&self, now: Timestamp, sweep_grace: Duration) -> Option<(Timestamp, Timestamp)> {
        match self.wait? {
            Wait::Queued(delay) => Some((now.plus(delay), now.plus(delay).plus(sweep_grace))),
            Wait::Parked(delay) => Some((now.plus(delay), now.plus(delay))),
        }
    }
}

/// Decides what follows an attempt answered with `outcome`; `unit` is a random number
/// in [0, 1) for the retry's jitter.
pub fn plan(outcome: &Attempt, facts: &Facts, settings: &DeliveryConfig, unit: f64) -> FollowUp {
    let schedule = &settings.retry_schedule;
    let next = retry::next(outcome, facts.attempts, facts.retry_limit, schedule, unit);
    let wait = match next {
        Next::Retry(delay) if delay > settings.max_queue_delay => Some(Wait::Parked(delay)),
        Next::Retry(delay) => Some(Wait::Queued(delay)),
        Next::Delivered | Next::Ended => None,
    };
    let streak = match (facts.counts, outcome.succeeded()) {
        (false, _) => Streak::Untouched,
        (true, true) if facts.failing => Streak::Reset,
        (true, true) => Streak::Untouched,
        (true, false) => Streak::Failed {
            gone: outcome.gone(),
        },
    };
    let end_slow_mark = match (facts.counts, facts.slow_since, outcome.status) {
        (true, Some(since), Some(_)) => super::dispatch::ends_slow_mark(
            since,
            facts.now,
            Duration::from_millis(outcome.duration_ms),
            settings.slow_after,
        ),
        _ => false,
    };
    FollowUp {
        next,
        wait,
        streak,
        end_slow_mark,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        config::Config,
        webhooks::outbound::{Attempt, Failure},
    };

    fn settings() -> DeliveryConfig {
        let env = [
            ("RETRY_SCHEDULE", "5s,30m,2h"),
            ("RETRY_JITTER", "0"),
            ("MAX_QUEUE_DELAY_SECONDS", "900"),
            ("SLOW_RECEIVER_MS", "1000"),
        ];
        let lookup = |name: &str| {
            env.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.to_string())
                .or_else(|| name.ends_with("_TABLE").then(|| "t".to_string()))
        };
        Config::from_lookup(lookup).unwrap().delivery
    }

    fn facts(attempts: u32) -> Facts {
        Facts {
            attempts,
            retry_limit: 3,
            counts: true,
            failing: false,
            slow_since: None,
            now: Timestamp::now(),
        }
    }

    fn answered(status: u16, duration_ms: u64) -> Attempt {
        Attempt {
            status: Some(status),
            duration_ms,
            ..Attempt::default()
        }
    }

    #[test]
    fn a_success_ends_the_delivery_and_the_streak_that_had_begun() {
        let settings = settings();
        let ok = answered(200, 20);
        let quiet = plan(&ok, &facts(1), &settings, 0.5);
        assert_eq!(quiet.next, Next::Delivered);
        assert!(quiet.ends() && quiet.wait.is_none());
        assert_eq!(
            quiet.streak,
            Streak::Untouched,
            "no streak: nothing to write"
        );
        let failing = Facts {
            failing: true,
            ..facts(2)
        };
        assert_eq!(plan(&ok, &failing, &settings, 0.5).streak, Streak::Reset);
    }

    #[test]
    fn a_failure_waits_on_the_queue_or_parks_beyond_its_longest_delay() {
        let settings = settings();
        let failed = answered(500, 20);
        let first = plan(&failed, &facts(1), &settings, 0.5);
        assert_eq!(first.wait, Some(Wait::Queued(Duration::from_secs(5))));
        assert_eq!(first.streak, Streak::Failed { gone: false });
        assert!(!first.ends());
        let second = plan(&failed, &facts(2), &settings, 0.5);
        assert_eq!(second.wait, Some(Wait::Parked(Duration::from_secs(1800))));
        let now = Timestamp::now();
        let grace = Duration::from_secs(300);
        let (due, look) = first.due(now, grace).unwrap();
        assert_eq!(
            (due, look),
            (
                now.plus(Duration::from_secs(5)),
                now.plus(Duration::from_secs(305))
            )
        );
        let (due, look) = second.due(now, grace).unwrap();
        assert_eq!(due, look, "the scheduler takes a parked retry at its time");
    }

    #[test]
    fn spent_retries_and_gone_receivers_end_it_failed() {
        let settings = settings();
        let spent = plan(&answered(500, 20), &facts(4), &settings, 0.5);
        assert_eq!((spent.next, spent.wait), (Next::Ended, None));
        let gone = plan(&answered(410, 20), &facts(1), &settings, 0.5);
        assert_eq!(gone.next, Next::Ended);
        assert_eq!(gone.streak, Streak::Failed { gone: true });
        let timeout = Attempt {
            failure: Some(Failure::Timeout),
            ..Attempt::default()
        };
        let timed_out = plan(&timeout, &facts(1), &settings, 0.5);
        assert_eq!(timed_out.streak, Streak::Failed { gone: false });
        assert!(!timed_out.end_slow_mark, "no answer ends no mark");
    }

    #[test]
    fn a_test_ping_leaves_the_endpoint_alone() {
        let settings = settings();
        let ping = Facts {
            counts: false,
            failing: true,
            slow_since: Some(Timestamp::from_millis(0)),
            ..facts(1)
        };
        let answered_ok = plan(&answered(200, 5), &ping, &settings, 0.5);
        assert_eq!(answered_ok.streak, Streak::Untouched);
        assert!(!answered_ok.end_slow_mark);
        assert_eq!(
            plan(&answered(500, 5), &ping, &settings, 0.5).streak,
            Streak::Untouched
        );
    }

    #[test]
    fn a_quick_answer_on_the_slow_queue_ends_an_old_enough_mark() {
        let settings = settings();
        let now = Timestamp::now();
        let marked = |ago_ms: i64| Facts {
            slow_since: Some(Timestamp::from_millis(now.as_millis() - ago_ms)),
            now,
            ..facts(1)
        };
        assert!(plan(&answered(200, 100), &marked(120_000), &settings, 0.5).end_slow_mark);
        assert!(
            plan(&answered(500, 100), &marked(120_000), &settings, 0.5).end_slow_mark,
            "a quick failure is quick too: the receiver is not slow"
        );
        assert!(!plan(&answered(200, 100), &marked(1_000), &settings, 0.5).end_slow_mark);
        assert!(!plan(&answered(200, 900), &marked(120_000), &settings, 0.5).end_slow_mark);
    }
}
