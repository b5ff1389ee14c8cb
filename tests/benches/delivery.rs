//! `make bench-delivery`: N events fanned out to M endpoints on a local receiver,
//! through the whole local stack (HTTP API, outbox, queues, dispatcher) on moto.
//! Prints deliveries per second, latency from commit to receipt (p50/p99), and the
//! DynamoDB and SQS calls per delivery. Figures, not assertions.
//!
//! Settings: BENCH_EVENTS (200), BENCH_ENDPOINTS (5), BENCH_RECEIVER_DELAY_MS (0),
//! BENCH_POLLERS (4, per queue), BENCH_CONCURRENCY (16 publishers).

use futures::{StreamExt, stream};
use harness::{Behaviour, Receiver, TestStack};
use serde_json::json;
use std::{
    collections::HashMap,
    sync::Arc,
    time::{Duration, Instant},
};

fn setting(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1]
}

#[tokio::main]
async fn main() {
    shared::telemetry::init();
    let events = setting("BENCH_EVENTS", 200);
    let endpoints = setting("BENCH_ENDPOINTS", 5);
    let delay = Duration::from_millis(setting("BENCH_RECEIVER_DELAY_MS", 0) as u64);
    let pollers = setting("BENCH_POLLERS", 4);
    let concurrency = setting("BENCH_CONCURRENCY", 16);

    let counter = Arc::new(shared::aws::CallCounter::default());
    let max = endpoints.max(10).to_string();
    let stack = TestStack::start_counted(
        // Publishing is as fast as it goes: the rate limit has its own benchmark.
        &[
            ("MAX_ENDPOINTS", &max),
            ("AUTH_CACHE_TTL_SECONDS", "300"),
            ("RATE_LIMIT_PER_SECOND", "0"),
        ],
        Some(counter.clone()),
        pollers,
    )
    .await;
    let receiver = Receiver::start().await;
    let account = stack.account("bench@example.com").await;
    // Catalogue events come from changes only; the benchmark publishes a custom type.
    stack
        .register_event_type(&account.test_key, "bench:tick", "benchmark event")
        .await;
    for n in 0..endpoints {
        let path = format!("/bench/{n}");
        receiver.set(
            &path,
            if delay.is_zero() {
                Behaviour::Accept
            } else {
                Behaviour::Hang(delay)
            },
        );
        let body = json!({ "url": receiver.url(&path), "events": ["bench:tick"] });
        assert_eq!(
            stack
                .post("/webhooks/endpoints", &account.test_key, body)
                .await
                .status(),
            201
        );
    }
    let before = counter.snapshot();

    let started = Instant::now();
    let committed: HashMap<String, Instant> = stream::iter(0..events)
        .map(|n| {
            let stack = &stack;
            let key = &account.test_key;
            async move {
                let response = stack
                    .post(
                        "/events",
                        key,
                        json!({ "type": "bench:tick", "payload": { "id": n } }),
                    )
                    .await;
                let at = Instant::now();
                assert_eq!(response.status(), 202);
                let event: serde_json::Value = response.json().await.unwrap();
                (
                    event["id"]
                        .as_str()
                        .unwrap()
                        .trim_start_matches("evt_")
                        .to_string(),
                    at,
                )
            }
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    let expected = events * endpoints;
    let deadline = Instant::now() + Duration::from_secs(600);
    while receiver.all().len() < expected {
        assert!(
            Instant::now() < deadline,
            "only {} of {expected} deliveries arrived",
            receiver.all().len()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let received = receiver.all();
    let elapsed = received.iter().map(|r| r.at).max().unwrap() - started;
    let mut latencies: Vec<Duration> = received
        .iter()
        .map(|r| {
            let event = r
                .header("webhook-id")
                .trim_start_matches("log_")
                .split('_')
                .next()
                .unwrap()
                .to_string();
            r.at - committed[&event]
        })
        .collect();
    latencies.sort();
    // Let the last results be recorded before counting calls.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = counter.snapshot();
    let calls: Vec<(String, u64)> = after
        .iter()
        .map(|(name, n)| (name.clone(), n - before.get(name).copied().unwrap_or(0)))
        .filter(|(_, n)| *n > 0)
        .collect();
    let per_delivery = |service: &str| {
        calls
            .iter()
            .filter(|(name, _)| name.starts_with(service))
            .map(|(_, n)| *n)
            .sum::<u64>() as f64
            / expected as f64
    };

    println!(
        "bench-delivery: {events} events x {endpoints} endpoints = {expected} deliveries, receiver delay {delay:?}, {pollers} pollers per queue"
    );
    println!("  elapsed            {:.2} s", elapsed.as_secs_f64());
    println!(
        "  throughput         {:.1} deliveries/s",
        expected as f64 / elapsed.as_secs_f64()
    );
    println!(
        "  commit -> receipt  p50 {:?}  p99 {:?}  max {:?}",
        percentile(&latencies, 0.50),
        percentile(&latencies, 0.99),
        latencies[latencies.len() - 1]
    );
    println!(
        "  DynamoDB calls     {:.2} per delivery",
        per_delivery("DynamoDB")
    );
    println!(
        "  SQS calls          {:.2} per delivery (including empty polls)",
        per_delivery("SQS")
    );
    for (name, n) in &calls {
        println!(
            "    {name:<40} {n:>7}  ({:.2} per delivery)",
            *n as f64 / expected as f64
        );
    }
}
