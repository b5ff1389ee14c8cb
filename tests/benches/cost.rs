//! `make bench-cost`: what deliveries cost on AWS, in the units AWS bills. Events are
//! published through the API and fanned out to 1, 5 and 10 endpoints on a local
//! receiver, through the whole local stack with the strict layer's capacity meter on
//! (`cli/src/strict/meter.rs`). Per delivery it prints DynamoDB's write and read
//! request units by table and index and by function, the SQS and KMS requests AWS
//! bills, the API Gateway and Lambda requests, and the list-price dollars per million
//! deliveries; then what one failed first attempt, retried once, adds.
//!
//! Not measured yet (issue 34): Lambda GB-seconds, log bytes, storage.
//!
//! Settings: BENCH_EVENTS (100), BENCH_ENDPOINTS (1,5,10), BENCH_RETRIED (20).

use futures::{StreamExt, stream};
use harness::{Behaviour, Receiver, TestStack};
use serde_json::json;
use std::{
    collections::BTreeMap,
    time::{Duration, Instant},
};

/// us-east-1 list prices, in dollars per million (BENCHMARKS.md says when they were read).
const WRU: f64 = 0.625;
const RRU: f64 = 0.125;
const SQS_REQUEST: f64 = 0.40;
const KMS_REQUEST: f64 = 3.00;
const API_REQUEST: f64 = 1.00;
const LAMBDA_REQUEST: f64 = 0.20;

fn number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// What the meter counted: units by (function, table), requests by (function, call).
#[derive(Clone, Default)]
struct Spent {
    units: BTreeMap<(String, String), (f64, f64)>,
    requests: BTreeMap<(String, String), u64>,
}

impl Spent {
    fn now(stack: &TestStack) -> Spent {
        let meter = stack.stack.strict.meter.as_ref().expect("metering");
        Spent {
            units: meter
                .charged_by_function()
                .into_iter()
                .map(|(name, u)| (name, (u.read, u.write)))
                .collect(),
            requests: meter.requests(),
        }
    }

    fn since(&self, before: &Spent) -> Spent {
        Spent {
            units: self
                .units
                .iter()
                .map(|(name, (read, write))| {
                    let (r, w) = before.units.get(name).copied().unwrap_or_default();
                    (name.clone(), (read - r, write - w))
                })
                .filter(|(_, (read, write))| *read > 0.0 || *write > 0.0)
                .collect(),
            requests: self
                .requests
                .iter()
                .map(|(name, n)| {
                    (
                        name.clone(),
                        n - before.requests.get(name).copied().unwrap_or(0),
                    )
                })
                .filter(|(_, n)| *n > 0)
                .collect(),
        }
    }

    fn write_units(&self) -> f64 {
        self.units.values().map(|(_, w)| w).sum()
    }

    fn read_units(&self) -> f64 {
        self.units.values().map(|(r, _)| r).sum()
    }

    fn requests_of(&self, service: &str) -> u64 {
        self.requests
            .iter()
            .filter(|((_, call), _)| call.starts_with(service))
            .map(|(_, n)| n)
            .sum()
    }

    /// Lambda invocations the dispatcher would get: one per batch of messages, each
    /// batch received once and deleted once (the layer's fair queues answer the receives
    /// themselves, so the deletes count the batches).
    fn dispatcher_batches(&self) -> u64 {
        self.requests
            .iter()
            .filter(|((function, call), _)| {
                function == "DispatcherFunction" && call == "Sqs.DeleteMessageBatch"
            })
            .map(|(_, n)| n)
            .sum()
    }

    /// SQS requests billed: those counted, and the receive of each batch.
    fn sqs_requests(&self) -> u64 {
        self.requests_of("Sqs") + self.dispatcher_batches()
    }
}

/// Without the stack's prefix: `WebhookLogsTable/due`.
fn short(name: &str) -> &str {
    name.split_once('-').map_or(name, |(_, rest)| rest)
}

async fn publish(stack: &TestStack, key: &str, count: usize) {
    stream::iter(0..count)
        .for_each_concurrent(8, |n| async move {
            let body = json!({ "type": "bench:tick", "payload": { "id": format!("tick_{n}"), "amount": "9.99" } });
            let response = stack.post("/events", key, body).await;
            assert_eq!(response.status(), 202);
        })
        .await;
}

/// Waits until the receiver has had `received` requests and the stack has gone quiet:
/// no write charged for a second (each outcome is written after its receipt).
async fn settled(stack: &TestStack, receiver: &Receiver, received: usize) {
    let deadline = Instant::now() + Duration::from_secs(300);
    while receiver.count() < received {
        assert!(
            Instant::now() < deadline,
            "{} of {received} requests received",
            receiver.count()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Writes only: the scheduler's sweeps read all the time.
    let total = || Spent::now(stack).write_units();
    let mut last = total();
    let mut quiet = 0;
    while quiet < 4 {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let now = total();
        quiet = if now == last { quiet + 1 } else { 0 };
        last = now;
        assert!(Instant::now() < deadline, "the stack never went quiet");
    }
}

async fn run(endpoints: usize, events: usize, retried: usize) {
    // One more for the retry run's endpoint.
    let max = (endpoints + 1).max(10).to_string();
    let settings = [
        ("MAX_ENDPOINTS", max.as_str()),
        ("RATE_LIMIT_PER_SECOND", "0"),
        ("RETRY_SCHEDULE", "1s,1s"),
        ("RETRY_JITTER", "0"),
    ];
    let stack = TestStack::start_options(&settings, |options| {
        options.strictness.meter = true;
        options.scheduler_interval = Duration::from_secs(1);
    })
    .await;
    let receiver = Receiver::start().await;
    let account = stack.account("cost@example.com").await;
    let key = account.test_key.clone();
    stack
        .register_event_type(&key, "bench:tick", "benchmark event")
        .await;
    for n in 0..endpoints {
        let path = format!("/cost/{n}");
        receiver.set(&path, Behaviour::Accept);
        let body = json!({ "url": receiver.url(&path), "events": ["bench:tick"] });
        assert_eq!(
            stack.post("/webhooks/endpoints", &key, body).await.status(),
            201
        );
    }
    // Warm: the caches filled, as a running platform's are.
    publish(&stack, &key, 5).await;
    settled(&stack, &receiver, 5 * endpoints).await;
    tokio::time::sleep(Duration::from_millis(500)).await;

    let before = Spent::now(&stack);
    publish(&stack, &key, events).await;
    let deliveries = events * endpoints;
    settled(&stack, &receiver, 5 * endpoints + deliveries).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let spent = Spent::now(&stack).since(&before);

    let per = |x: f64| x / deliveries as f64;
    println!(
        "\nbench-cost: {events} events x {endpoints} endpoints = {deliveries} deliveries, every first attempt a success"
    );
    println!("  request units per delivery, by table and index (read / write):");
    let mut by_table: BTreeMap<&str, (f64, f64)> = BTreeMap::new();
    for ((_, table), (read, write)) in &spent.units {
        let sum = by_table.entry(short(table)).or_default();
        sum.0 += read;
        sum.1 += write;
    }
    for (table, (read, write)) in &by_table {
        println!("    {table:<32} {:>7.3} {:>7.3}", per(*read), per(*write));
    }
    println!("  by function (read / write):");
    let mut by_function: BTreeMap<&str, (f64, f64)> = BTreeMap::new();
    for ((function, _), (read, write)) in &spent.units {
        let sum = by_function.entry(function.as_str()).or_default();
        sum.0 += read;
        sum.1 += write;
    }
    for (function, (read, write)) in &by_function {
        println!(
            "    {function:<32} {:>7.3} {:>7.3}",
            per(*read),
            per(*write)
        );
    }
    println!("  SQS and KMS requests billed per delivery, by caller:");
    for ((function, call), n) in &spent.requests {
        println!("    {function:<24} {call:<32} {:>7.3}", per(*n as f64));
    }
    let wru = per(spent.write_units());
    let rru = per(spent.read_units());
    let sqs = per(spent.sqs_requests() as f64);
    let kms = per(spent.requests_of("Kms") as f64);
    let api = 1.0 / endpoints as f64;
    let lambda = api + per(spent.dispatcher_batches() as f64);
    let dollars = wru * WRU
        + rru * RRU
        + sqs * SQS_REQUEST
        + kms * KMS_REQUEST
        + api * API_REQUEST
        + lambda * LAMBDA_REQUEST;
    println!(
        "  per delivery: {wru:.3} WRU, {rru:.3} RRU, {sqs:.3} SQS requests, {kms:.4} KMS requests, \
         {api:.3} API Gateway requests, {lambda:.3} Lambda requests"
    );
    println!(
        "  per million deliveries: ${:.2} DynamoDB writes, ${:.2} reads, ${:.2} SQS, ${:.2} KMS, \
         ${:.2} API Gateway, ${:.2} Lambda requests = ${dollars:.2} (Lambda GB-s and logs not counted yet)",
        wru * WRU,
        rru * RRU,
        sqs * SQS_REQUEST,
        kms * KMS_REQUEST,
        api * API_REQUEST,
        lambda * LAMBDA_REQUEST,
    );

    // One failed first attempt, retried once: what it adds.
    if retried > 0 {
        let path = "/cost/flaky".to_string();
        receiver.set(&path, Behaviour::FailTimes(retried as u32, 500));
        let body = json!({ "url": receiver.url(&path), "events": ["bench:retry"] });
        stack
            .register_event_type(&key, "bench:retry", "benchmark retry")
            .await;
        assert_eq!(
            stack.post("/webhooks/endpoints", &key, body).await.status(),
            201
        );
        let before = Spent::now(&stack);
        stream::iter(0..retried)
            .for_each_concurrent(8, |n| {
                let (stack, key) = (&stack, &key);
                async move {
                    let body =
                        json!({ "type": "bench:retry", "payload": { "id": format!("retry_{n}") } });
                    assert_eq!(stack.post("/events", key, body).await.status(), 202);
                }
            })
            .await;
        settled(&stack, &receiver, 5 * endpoints + deliveries + 2 * retried).await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        let spent = Spent::now(&stack).since(&before);
        let per = |x: f64| x / retried as f64;
        let (write, read, sqs_all) = (
            per(spent.write_units()),
            per(spent.read_units()),
            per(spent.sqs_requests() as f64),
        );
        let extra = (write - wru).max(0.0) * WRU
            + (read - rru).max(0.0) * RRU
            + (sqs_all - sqs).max(0.0) * SQS_REQUEST;
        println!(
            "  a delivery whose first attempt fails and is retried once: {write:.3} WRU, {read:.3} RRU, \
             {sqs_all:.3} SQS requests ({:+.3} WRU beside a first-attempt success); one in ten such adds \
             ${:.2} per million deliveries",
            write - wru,
            0.1 * extra,
        );
    }
}

fn main() {
    let events = number("BENCH_EVENTS", 100);
    let retried = number("BENCH_RETRIED", 20);
    let fan_outs: Vec<usize> = std::env::var("BENCH_ENDPOINTS")
        .unwrap_or_else(|_| "1,5,10".into())
        .split(',')
        .filter_map(|n| n.trim().parse().ok())
        .collect();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    for endpoints in fan_outs {
        runtime.block_on(run(endpoints, events, retried));
    }
}
