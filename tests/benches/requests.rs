//! `make bench-requests`: what the rate limiter costs. Read-only requests of one tenant
//! go to five functions (five instances, one bucket) through the local stack; every
//! DynamoDB write they cause is a rate-limit lease, so writes per request is the
//! limiter's cost. Figures, not assertions.
//!
//! Two runs at the default limit (100/s, burst 200): paced just under the limit
//! (BENCH_RATE per second, default 90, for BENCH_SECONDS, default 10), and a flood
//! (BENCH_FLOOD requests, default 2000, 16 at a time).

use futures::{StreamExt, stream};
use harness::TestStack;
use reqwest::Method;
use std::{
    sync::Arc,
    time::{Duration, Instant},
};

fn setting(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

const PATHS: [&str; 5] = [
    "/webhooks/endpoints",
    "/events",
    "/products",
    "/orders",
    "/account",
];

struct Run {
    sent: usize,
    allowed: usize,
    refused: usize,
    elapsed: Duration,
    calls: Vec<(String, u64)>,
}

async fn run(
    stack: &TestStack,
    counter: &shared::aws::CallCounter,
    key: &str,
    count: usize,
    concurrency: usize,
    pace: Option<Duration>,
) -> Run {
    let before = counter.snapshot();
    let started = Instant::now();
    let statuses: Vec<u16> = stream::iter(0..count)
        .map(|n| async move {
            if let Some(pace) = pace {
                tokio::time::sleep_until((started + pace * n as u32).into()).await;
            }
            let path = PATHS[n % PATHS.len()];
            let response = stack.request(Method::GET, path, key).send().await.unwrap();
            response.status().as_u16()
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    let elapsed = started.elapsed();
    let after = counter.snapshot();
    let calls = after
        .iter()
        .map(|(name, n)| (name.clone(), n - before.get(name).copied().unwrap_or(0)))
        .filter(|(_, n)| *n > 0)
        .collect();
    Run {
        sent: count,
        allowed: statuses.iter().filter(|s| **s == 200).count(),
        refused: statuses.iter().filter(|s| **s == 429).count(),
        elapsed,
        calls,
    }
}

fn report(title: &str, run: &Run) {
    let writes: u64 = run
        .calls
        .iter()
        .filter(|(name, _)| {
            ["PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems"]
                .iter()
                .any(|op| name.ends_with(op))
        })
        .map(|(_, n)| n)
        .sum();
    println!("{title}");
    println!(
        "  {} requests in {:.2} s ({:.0}/s): {} allowed, {} refused (429), {} other",
        run.sent,
        run.elapsed.as_secs_f64(),
        run.sent as f64 / run.elapsed.as_secs_f64(),
        run.allowed,
        run.refused,
        run.sent - run.allowed - run.refused
    );
    println!(
        "  DynamoDB writes    {writes} = {:.3} per request",
        writes as f64 / run.sent as f64
    );
    for (name, n) in &run.calls {
        println!(
            "    {name:<40} {n:>7}  ({:.3} per request)",
            *n as f64 / run.sent as f64
        );
    }
}

#[tokio::main]
async fn main() {
    shared::telemetry::init();
    let rate = setting("BENCH_RATE", 90);
    let seconds = setting("BENCH_SECONDS", 10);
    let flood = setting("BENCH_FLOOD", 2000) as usize;

    let counter = Arc::new(shared::aws::CallCounter::default());
    // Keys stay cached, so what is left is the limiter's own cost.
    let stack = TestStack::start_counted(
        &[("AUTH_CACHE_TTL_SECONDS", "300")],
        Some(counter.clone()),
        1,
    )
    .await;
    let account = stack.account("bench-requests@example.com").await;
    let key = &account.test_key;
    // Warm every function's key cache.
    for path in PATHS {
        stack.get(path, key).await;
    }
    tokio::time::sleep(Duration::from_secs(3)).await;

    let count = (rate * seconds) as usize;
    let paced = run(
        &stack,
        &counter,
        key,
        count,
        64,
        Some(Duration::from_secs_f64(1.0 / rate as f64)),
    )
    .await;
    report(
        &format!(
            "bench-requests: paced at {rate}/s for {seconds} s across {} functions (limit 100/s, burst 200)",
            PATHS.len()
        ),
        &paced,
    );
    // A full bucket again before the flood.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let flooded = run(&stack, &counter, key, flood, 16, None).await;
    report(
        &format!("bench-requests: a flood of {flood}, 16 at a time"),
        &flooded,
    );
}
