//! `make bench-delivery`: events published through the API and fanned out to 1, 5 and
//! 10 endpoints on a local receiver, through the whole local stack (HTTP API, outbox,
//! queues, dispatcher) on moto behind the strict layer. For each fan-out it prints
//! deliveries per second, latency from commit to receipt (p50/p99), the AWS calls per
//! first-attempt delivery of a warm dispatcher (and of the event source and the API),
//! and the CPU time the functions spent per delivery. Figures, not assertions.
//!
//! The functions (API server, pollers, dispatcher) run on a runtime of their own whose
//! thread is named [`FUNCTIONS_THREAD`], so their CPU time is told apart from the
//! strict layer's, the receiver's and this driver's (moto runs in its own process).
//!
//! Settings: BENCH_EVENTS (500), BENCH_ENDPOINTS (1,5,10), BENCH_STORED_LOGS (10000
//! logs stored before measuring, so the tables are not empty), BENCH_RECEIVER_DELAY_MS
//! (0), BENCH_POLLERS (4, per queue), BENCH_CONCURRENCY (16 publishers),
//! BENCH_FUNCTIONS_RUNTIME (`current`: one thread, as in Lambda; `multi` to compare).

use futures::{StreamExt, stream};
use harness::{Behaviour, Receiver, TestAccount, TestStack};
use serde_json::json;
use shared::aws::CallCounter;
use std::{
    collections::{BTreeMap, HashMap},
    sync::Arc,
    time::{Duration, Instant},
};

const FUNCTIONS_THREAD: &str = "pg-functions";
/// Events published and delivered before measuring, so the dispatcher is warm.
const WARM_UP_EVENTS: usize = 20;

fn setting(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_string())
}

fn number(name: &str, default: usize) -> usize {
    setting(name, &default.to_string())
        .parse()
        .unwrap_or(default)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1]
}

/// CPU time of this process's threads, by whether they run the functions: from
/// `/proc/self/task/*/schedstat` (nanoseconds on a CPU).
fn cpu_time() -> (Duration, Duration) {
    let (mut functions, mut rest) = (0u64, 0u64);
    for task in std::fs::read_dir("/proc/self/task").into_iter().flatten() {
        let Ok(task) = task else { continue };
        let comm = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
        let ran: u64 = std::fs::read_to_string(task.path().join("schedstat"))
            .ok()
            .and_then(|s| s.split_whitespace().next().and_then(|n| n.parse().ok()))
            .unwrap_or(0);
        if comm.trim() == FUNCTIONS_THREAD {
            functions += ran;
        } else {
            rest += ran;
        }
    }
    (Duration::from_nanos(functions), Duration::from_nanos(rest))
}

fn since(after: &BTreeMap<String, u64>, before: &BTreeMap<String, u64>) -> BTreeMap<String, u64> {
    after
        .iter()
        .map(|(name, n)| (name.clone(), n - before.get(name).copied().unwrap_or(0)))
        .filter(|(_, n)| *n > 0)
        .collect()
}

fn sum(calls: &BTreeMap<String, u64>, operations: &[&str]) -> u64 {
    calls
        .iter()
        .filter(|(name, _)| operations.contains(&name.as_str()))
        .map(|(_, n)| n)
        .sum()
}

const READS: &[&str] = &[
    "DynamoDB.GetItem",
    "DynamoDB.Query",
    "DynamoDB.BatchGetItem",
    "DynamoDB.Scan",
];
const WRITES: &[&str] = &[
    "DynamoDB.PutItem",
    "DynamoDB.UpdateItem",
    "DynamoDB.DeleteItem",
    "DynamoDB.TransactWriteItems",
    "DynamoDB.BatchWriteItem",
];

struct Publisher<'a> {
    stack: &'a TestStack,
    key: &'a str,
    concurrency: usize,
}

impl Publisher<'_> {
    /// Publishes `count` events: when each was committed (by event id, without `evt_`),
    /// and how long each request took.
    async fn publish(&self, count: usize) -> Published {
        let (committed, mut latencies): (HashMap<String, Instant>, Vec<Duration>) =
            stream::iter(0..count)
                .map(|n| async move {
                    let body = json!({ "type": "bench:tick", "payload": { "id": n } });
                    let sent = Instant::now();
                    let response = self.stack.post("/events", self.key, body).await;
                    let at = Instant::now();
                    assert_eq!(response.status(), 202);
                    let event: serde_json::Value = response.json().await.unwrap();
                    let id = event["id"].as_str().unwrap().trim_start_matches("evt_");
                    ((id.to_string(), at), at - sent)
                })
                .buffer_unordered(self.concurrency)
                .unzip()
                .await;
        latencies.sort();
        Published {
            committed,
            latencies,
        }
    }
}

/// What publishing a run's events took.
struct Published {
    committed: HashMap<String, Instant>,
    /// Each `POST /events`, from sending to the answer, shortest first.
    latencies: Vec<Duration>,
}

async fn wait_for(receiver: &Receiver, count: usize) {
    let deadline = Instant::now() + Duration::from_secs(600);
    while receiver.count() < count {
        assert!(
            Instant::now() < deadline,
            "only {} of {count} deliveries arrived",
            receiver.count()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Stores `count` delivered logs for the account, as earlier traffic would have left.
async fn store_logs(stack: &TestStack, account: &TestAccount, count: usize) {
    let tenant = account.tenant(shared::Mode::Test);
    let logs: Vec<shared::webhooks::WebhookLog> = (0..count)
        .map(|n| {
            let event_id = shared::ids::EventId::new();
            let mut log = shared::webhooks::WebhookLog::pending(
                shared::webhooks::log::delivery_id(&event_id, 0, "stored"),
                None,
                "https://receiver.example/stored".into(),
                "bench:tick",
                Some(event_id.clone()),
                json!({ "id": n, "padding": "x".repeat(200) }),
                0,
            );
            log.status = shared::webhooks::LogStatus::Succeeded;
            log
        })
        .collect();
    let chunks: Vec<_> = logs.chunks(90).collect();
    stream::iter(chunks)
        .for_each_concurrent(4, |chunk| {
            let tenant = &tenant;
            async move {
                let fan_out = shared::store::logs::FanOut {
                    tenant,
                    logs: chunk,
                    retention_days: 30,
                    sweep_at: None,
                    event: None,
                };
                shared::store::logs::create_all(&stack.stack.state.db, &fan_out)
                    .await
                    .expect("stored");
            }
        })
        .await;
}

async fn run(functions: tokio::runtime::Handle, endpoints: usize) {
    let events = number("BENCH_EVENTS", 500);
    let stored = number("BENCH_STORED_LOGS", 10_000);
    let delay = Duration::from_millis(number("BENCH_RECEIVER_DELAY_MS", 0) as u64);
    let pollers = number("BENCH_POLLERS", 4);
    let concurrency = number("BENCH_CONCURRENCY", 16);

    let counter = Arc::new(CallCounter::default());
    let max = endpoints.max(10).to_string();
    // Publishing is as fast as it goes: the rate limit has its own benchmark.
    let settings = [
        ("MAX_ENDPOINTS", max.as_str()),
        ("AUTH_CACHE_TTL_SECONDS", "300"),
        ("RATE_LIMIT_PER_SECOND", "0"),
    ];
    let stack = TestStack::start_options(&settings, |options| {
        options.call_counter = Some(counter.clone());
        options.pollers = pollers;
        options.runtime = Some(functions);
        // As `make run` runs it (every minute in AWS).
        options.scheduler_interval = Duration::from_secs(60);
    })
    .await;
    let receiver = Receiver::start().await;
    let account = stack.account("bench@example.com").await;
    store_logs(&stack, &account, stored).await;
    // Catalogue events come from changes only; the benchmark publishes a custom type.
    stack
        .register_event_type(&account.test_key, "bench:tick", "benchmark event")
        .await;
    for n in 0..endpoints {
        let path = format!("/bench/{n}");
        let behaviour = if delay.is_zero() {
            Behaviour::Accept
        } else {
            Behaviour::Hang(delay)
        };
        receiver.set(&path, behaviour);
        let body = json!({ "url": receiver.url(&path), "events": ["bench:tick"] });
        let created = stack
            .post("/webhooks/endpoints", &account.test_key, body)
            .await;
        assert_eq!(created.status(), 201);
    }
    let publisher = Publisher {
        stack: &stack,
        key: &account.test_key,
        concurrency,
    };
    publisher.publish(WARM_UP_EVENTS).await;
    let warm = WARM_UP_EVENTS * endpoints;
    wait_for(&receiver, warm).await;
    tokio::time::sleep(Duration::from_millis(500)).await;

    let dispatcher_before = counter.snapshot_of("DispatcherFunction");
    let source_before = counter.snapshot_of(pushguard::stack::EVENT_SOURCE);
    let api_before = counter.snapshot_of("EventsFunction");
    let (cpu_before, rest_before) = cpu_time();
    let emulator_before = harness::emulator_cpu_time();
    let started = Instant::now();
    let published = publisher.publish(events).await;
    let publishing = started.elapsed();
    let committed = &published.committed;
    let expected = events * endpoints;
    wait_for(&receiver, warm + expected).await;
    let received: Vec<_> = receiver.all().into_iter().skip(warm).collect();
    let elapsed = received.iter().map(|r| r.at).max().unwrap() - started;
    // Until every attempt is recorded (one UpdateItem each).
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let calls = since(
            &counter.snapshot_of("DispatcherFunction"),
            &dispatcher_before,
        );
        let recorded = calls.get("DynamoDB.UpdateItem").copied().unwrap_or(0);
        if recorded >= expected as u64 || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (cpu_after, rest_after) = cpu_time();
    let measured = started.elapsed();
    let emulator = harness::emulator_cpu_time()
        .zip(emulator_before)
        .map(|(after, before)| after - before);
    let dispatcher = since(
        &counter.snapshot_of("DispatcherFunction"),
        &dispatcher_before,
    );
    let source = since(
        &counter.snapshot_of(pushguard::stack::EVENT_SOURCE),
        &source_before,
    );
    let api = since(&counter.snapshot_of("EventsFunction"), &api_before);
    let mut latencies: Vec<Duration> = received
        .iter()
        .filter_map(|r| {
            let id = r.header("webhook-id").trim_start_matches("log_");
            let event = id.split('_').next()?;
            Some(r.at - *committed.get(event)?)
        })
        .collect();
    latencies.sort();
    let per = |n: u64| n as f64 / expected as f64;
    let cpu = cpu_after - cpu_before;

    println!(
        "bench-delivery: {events} events x {endpoints} endpoints = {expected} deliveries, {stored} logs stored before, receiver delay {delay:?}, {pollers} pollers per queue"
    );
    println!("  elapsed            {:.2} s", elapsed.as_secs_f64());
    println!(
        "  throughput         {:.1} deliveries/s",
        expected as f64 / elapsed.as_secs_f64()
    );
    println!(
        "  publishing         {:.2} s, {:.1} events/s ({concurrency} at a time), POST /events p50 {:.0} ms  p99 {:.0} ms",
        publishing.as_secs_f64(),
        events as f64 / publishing.as_secs_f64(),
        percentile(&published.latencies, 0.50).as_secs_f64() * 1e3,
        percentile(&published.latencies, 0.99).as_secs_f64() * 1e3,
    );
    println!(
        "  commit -> receipt  p50 {:.0} ms  p99 {:.0} ms  max {:.0} ms",
        percentile(&latencies, 0.50).as_secs_f64() * 1e3,
        percentile(&latencies, 0.99).as_secs_f64() * 1e3,
        latencies[latencies.len() - 1].as_secs_f64() * 1e3
    );
    println!(
        "  functions' CPU     {:.3} ms per delivery ({:.2} s; publishing included; strict layer, receiver and driver: {:.2} s)",
        cpu.as_secs_f64() * 1e3 / expected as f64,
        cpu.as_secs_f64(),
        (rest_after - rest_before).as_secs_f64()
    );
    if let Some(emulator) = emulator {
        println!(
            "  emulator's CPU     {:.3} ms per delivery ({:.2} s, {:.2} cores; moto, its own process)",
            emulator.as_secs_f64() * 1e3 / expected as f64,
            emulator.as_secs_f64(),
            emulator.as_secs_f64() / measured.as_secs_f64()
        );
    }
    println!(
        "  dispatcher         {:.2} DynamoDB reads, {:.2} writes, {:.3} other calls per delivery",
        per(sum(&dispatcher, READS)),
        per(sum(&dispatcher, WRITES)),
        per(dispatcher.values().sum::<u64>() - sum(&dispatcher, READS) - sum(&dispatcher, WRITES))
    );
    for (name, n) in &dispatcher {
        println!("    {name:<38} {n:>7}  ({:.3} per delivery)", per(*n));
    }
    println!("  event source (Lambda's SQS polling, not the function's)");
    for (name, n) in &source {
        println!("    {name:<38} {n:>7}  ({:.3} per delivery)", per(*n));
    }
    println!("  publishing (EventsFunction)");
    for (name, n) in &api {
        println!(
            "    {name:<38} {n:>7}  ({:.3} per event)",
            *n as f64 / events as f64
        );
    }
}

/// The runtime the functions run on: one thread, as each function's `main` runs in
/// Lambda (`BENCH_FUNCTIONS_RUNTIME=multi` for a multi-threaded one, to compare).
fn functions_runtime() -> (tokio::runtime::Handle, Option<tokio::runtime::Runtime>) {
    fn build(mut builder: tokio::runtime::Builder) -> tokio::runtime::Runtime {
        builder
            .thread_name(FUNCTIONS_THREAD)
            // Blocking threads that exit would take their CPU time with them.
            .thread_keep_alive(Duration::from_secs(3600))
            .enable_all()
            .build()
            .expect("the functions' runtime")
    }
    if setting("BENCH_FUNCTIONS_RUNTIME", "current") == "multi" {
        let runtime = build(tokio::runtime::Builder::new_multi_thread());
        return (runtime.handle().clone(), Some(runtime));
    }
    let (handle_tx, handle_rx) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name(FUNCTIONS_THREAD.into())
        .spawn(move || {
            let runtime = build(tokio::runtime::Builder::new_current_thread());
            handle_tx
                .send(runtime.handle().clone())
                .expect("main waits");
            // Drives every task spawned on it until the benchmark exits.
            runtime.block_on(std::future::pending::<()>());
        })
        .expect("the functions' thread");
    (handle_rx.recv().expect("the handle"), None)
}

fn main() {
    let (functions, _multi) = functions_runtime();
    let driver = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("the driver's runtime");
    driver.block_on(async {
        shared::telemetry::init();
        let fan_outs: Vec<usize> = setting("BENCH_ENDPOINTS", "1,5,10")
            .split(',')
            .filter_map(|n| n.trim().parse().ok())
            .collect();
        for endpoints in fan_outs {
            run(functions.clone(), endpoints).await;
        }
    });
}
