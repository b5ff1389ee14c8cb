//! Delivery statistics: the dispatcher's hourly tallies per endpoint, read back through
//! `GET /webhooks/endpoints/{id}/stats` by hour and by day.

use harness::{Behaviour, Receiver, TestStack, client::Stats, eventually, status_and_json};
use serde_json::json;
use std::time::Duration;

/// One retry a second later; attempts time out after a second.
const SETTINGS: [(&str, &str); 4] = [
    ("RETRY_SCHEDULE", "1s"),
    ("RETRY_JITTER", "0"),
    ("DELIVERY_TIMEOUT_SECONDS", "1"),
    ("PENDING_EVENT_GRACE_SECONDS", "1"),
];

#[tokio::test]
async fn stats_count_each_attempt_by_outcome_and_cause_with_latency_percentiles() {
    let stack = TestStack::start_with(&SETTINGS).await;
    let receiver = Receiver::start().await;
    receiver.set("/flaky", Behaviour::FailTimes(1, 500));
    receiver.set("/slow", Behaviour::Hang(Duration::from_millis(150)));
    receiver.set("/hangs", Behaviour::Hang(Duration::from_secs(3)));
    receiver.set("/missing", Behaviour::Always(404, None));
    let acct = stack.account("stats@example.com").await;
    let key = &acct.test_key;
    stack
        .register_event_type(key, "bench:stats", "statistics test")
        .await;
    let endpoints = stack.api(key).endpoints();
    let mut ids = std::collections::HashMap::new();
    for path in ["/flaky", "/slow", "/hangs", "/missing"] {
        let created = endpoints
            .create_to(&receiver.url(path), &["bench:stats"])
            .await;
        ids.insert(path, created.id.to_string());
    }
    for n in 0..2 {
        let body = json!({ "type": "bench:stats", "payload": { "id": n } });
        assert_eq!(stack.post("/events", key, body).await.status(), 202);
    }

    // Every delivery's attempts: a first one and, for those that failed, one retry.
    let settled = |path: &'static str, attempts: u64| {
        let endpoints = &endpoints;
        let id = ids[path].clone();
        async move {
            eventually(path, || async {
                let stats = endpoints.stats(&id, "24h").await;
                (stats.totals.attempts >= attempts).then_some(stats)
            })
            .await
        }
    };
    let flaky = settled("/flaky", 3).await;
    let slow = settled("/slow", 2).await;
    let hangs = settled("/hangs", 4).await;
    let missing = settled("/missing", 4).await;
    // Nothing more arrives: one second's retry was the last.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let flaky_after = endpoints.stats(&ids["/flaky"], "24h").await;
    assert_eq!(flaky_after.totals.attempts, flaky.totals.attempts);

    let t = &flaky.totals;
    assert_eq!((t.attempts, t.succeeded, t.failed), (3, 2, 1));
    assert_eq!(t.failures["5xx"], 1);
    assert_eq!(t.success_rate, Some(0.6667));
    assert!(t.latency_ms.p50.is_some(), "{t:?}");

    let t = &slow.totals;
    assert_eq!((t.attempts, t.succeeded, t.failed), (2, 2, 0));
    // Within a bucket (log scale, about 19 % wide) of what the attempts took as their
    // logs recorded them: at least the receiver's 150 ms, and more on a busy machine.
    let logs = stack.api(key).logs();
    let logs = logs.list(&format!("endpoint_id={}", ids["/slow"])).await;
    let took: Vec<f64> = logs.iter().map(|log| log.duration_ms as f64).collect();
    let (fastest, slowest) = took
        .iter()
        .fold((f64::MAX, 0.0_f64), |(lo, hi), &d| (lo.min(d), hi.max(d)));
    for p in [t.latency_ms.p50, t.latency_ms.p95, t.latency_ms.p99] {
        let p = p.expect("timed attempts");
        assert!(
            p >= 128.0 && p >= fastest / 1.2 && p <= slowest * 1.2,
            "{p} ms for a 150 ms receiver whose attempts took {took:?} ms"
        );
    }

    let t = &hangs.totals;
    assert_eq!((t.attempts, t.succeeded), (4, 0));
    assert_eq!(t.failures["timeout"], 4);
    assert_eq!(t.latency_ms.p50, None, "a timeout got no response to time");

    let t = &missing.totals;
    assert_eq!((t.attempts, t.failures["4xx"]), (4, 4));
    let causes: Vec<&String> = t.failures.keys().collect();
    assert_eq!(
        causes,
        ["3xx", "4xx", "5xx", "connection", "refused", "timeout"],
        "every cause is listed, zero or not"
    );

    // The same attempts by hour over 24 hours and 7 days, by day over 30 days.
    let check = |stats: &Stats, period: &str, granularity: &str, buckets: usize| {
        assert_eq!(stats.endpoint_id, ids["/flaky"]);
        assert_eq!(
            (stats.period.as_str(), stats.granularity.as_str()),
            (period, granularity)
        );
        assert_eq!(stats.buckets.len(), buckets);
        assert_eq!(stats.from, stats.buckets[0].start);
        let last = &stats.buckets[buckets - 1].tally;
        assert_eq!(
            (last.attempts, last.succeeded),
            (3, 2),
            "{period}: now is in the last bucket"
        );
        let counted: u64 = stats.buckets.iter().map(|b| b.tally.attempts).sum();
        assert_eq!(counted, stats.totals.attempts);
        let empty = &stats.buckets[0].tally;
        assert_eq!((empty.attempts, empty.success_rate), (0, None));
    };
    check(&flaky_after, "24h", "hour", 24);
    check(
        &endpoints.stats(&ids["/flaky"], "7d").await,
        "7d",
        "hour",
        168,
    );
    check(
        &endpoints.stats(&ids["/flaky"], "30d").await,
        "30d",
        "day",
        30,
    );
}

#[tokio::test]
async fn stats_refuse_an_unknown_period_and_another_tenants_endpoint() {
    let stack = TestStack::start().await;
    let receiver = Receiver::start().await;
    let mine = stack.account("stats-mine@example.com").await;
    let theirs = stack.account("stats-theirs@example.com").await;
    let endpoint = stack
        .api(&mine.test_key)
        .endpoints()
        .create_to(&receiver.url("/x"), &["order:paid"])
        .await;
    let path = format!("/webhooks/endpoints/{}/stats", endpoint.id);

    let (status, body) = status_and_json(
        stack
            .get(&format!("{path}?period=1h"), &mine.test_key)
            .await,
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(
        body["errors"],
        json!(["Period must be one of 24h, 7d, 30d"])
    );

    let (status, _) = status_and_json(stack.get(&path, &theirs.test_key).await).await;
    assert_eq!(status, 404, "another tenant's endpoint is not found");
    let (status, _) = status_and_json(stack.get(&path, &mine.live_key).await).await;
    assert_eq!(status, 404, "live and test data never mix");

    // A new endpoint: 24 empty hours by default.
    let (status, stats) = status_and_json(stack.get(&path, &mine.test_key).await).await;
    assert_eq!((status, stats["period"].as_str()), (200, Some("24h")));
    assert_eq!(stats["buckets"].as_array().map(Vec::len), Some(24));
    assert_eq!(stats["totals"]["attempts"], 0);
    assert_eq!(
        stats["totals"]["latency_ms"]["p99"],
        serde_json::Value::Null
    );
}
