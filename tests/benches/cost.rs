//! `make bench-cost`: what deliveries cost on AWS, in the units AWS bills. Events are
//! published through the API and fanned out to 1, 5 and 10 endpoints on a local
//! receiver, through the whole local stack with the strict layer's capacity meter on
//! (`cli/src/strict/meter.rs`). Per delivery it prints DynamoDB's write and read
//! request units by table and index and by function, the SQS and KMS requests AWS
//! bills, the API Gateway requests, Lambda invocations with their billed GB-seconds at
//! the template's memory sizes, the log bytes each function writes in Lambda's format
//! (counted line by line), the bytes stored and what keeping them over the retention
//! period costs, and the list-price dollars per million deliveries; then what one failed
//! first attempt, retried once, adds. The scheduler runs on a clock, not per delivery:
//! its cost is printed per month at one run a minute, apart from the deliveries'.
//!
//! Settings: BENCH_EVENTS (100), BENCH_ENDPOINTS (1,5,10), BENCH_RETRIED (20).

use futures::{StreamExt, stream};
use harness::{Behaviour, Receiver, TestStack};
use pushguard::strict::meter::{Invoked, Meter};
use serde_json::{Value, json};
use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

/// us-east-1 list prices, in dollars per million (BENCHMARKS.md says when they were read).
const WRU: f64 = 0.625;
const RRU: f64 = 0.125;
const SQS_REQUEST: f64 = 0.40;
const KMS_REQUEST: f64 = 3.00;
const API_REQUEST: f64 = 1.00;
const LAMBDA_REQUEST: f64 = 0.20;
/// Lambda on arm64, per million GB-seconds.
const LAMBDA_GB_SECOND: f64 = 13.3334;
/// CloudWatch Logs ingestion, per GB (and so per million KB-ish: see `dollars`).
const LOG_GB: f64 = 0.50;
/// DynamoDB standard storage, per GB-month.
const STORED_GB_MONTH: f64 = 0.25;
/// The template's default `RetentionDays`: how long a delivery's items are kept.
const RETENTION_DAYS: f64 = 30.0;
/// The function that runs on a clock (EventBridge, once a minute), not per delivery.
const SCHEDULER: &str = "SchedulerFunction";

fn number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// What the meter counted: units by (function, table), requests by (function, call),
/// invocations by function, bytes stored by table.
#[derive(Clone, Default)]
struct Spent {
    units: BTreeMap<(String, String), (f64, f64)>,
    requests: BTreeMap<(String, String), u64>,
    invocations: BTreeMap<String, Invoked>,
    stored: BTreeMap<String, (u64, u64)>,
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
            invocations: meter.invocations(),
            stored: meter.stored(),
        }
    }

    /// Without the scheduler's share (`clock`: only the scheduler's).
    fn split(&self, clock: bool) -> Spent {
        let ours = |function: &str| (function == SCHEDULER) == clock;
        Spent {
            units: self
                .units
                .iter()
                .filter(|((function, _), _)| ours(function))
                .map(|(k, v)| (k.clone(), *v))
                .collect(),
            requests: self
                .requests
                .iter()
                .filter(|((function, _), _)| ours(function))
                .map(|(k, v)| (k.clone(), *v))
                .collect(),
            invocations: self
                .invocations
                .iter()
                .filter(|(function, _)| ours(function))
                .map(|(k, v)| (k.clone(), *v))
                .collect(),
            stored: if clock {
                BTreeMap::new()
            } else {
                self.stored.clone()
            },
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
            invocations: self
                .invocations
                .iter()
                .map(|(function, now)| {
                    let was = before
                        .invocations
                        .get(function)
                        .copied()
                        .unwrap_or_default();
                    let since = Invoked {
                        count: now.count - was.count,
                        billed_ms: now.billed_ms - was.billed_ms,
                        gb_seconds: now.gb_seconds - was.gb_seconds,
                        log_bytes: now.log_bytes - was.log_bytes,
                    };
                    (function.clone(), since)
                })
                .filter(|(_, since)| since.count > 0 || since.log_bytes > 0)
                .collect(),
            stored: self
                .stored
                .iter()
                .map(|(table, (items, bytes))| {
                    let (was_items, was_bytes) =
                        before.stored.get(table).copied().unwrap_or_default();
                    (
                        table.clone(),
                        (
                            items.saturating_sub(was_items),
                            bytes.saturating_sub(was_bytes),
                        ),
                    )
                })
                .filter(|(_, (_, bytes))| *bytes > 0)
                .collect(),
        }
    }

    fn lambda_requests(&self) -> u64 {
        self.invocations.values().map(|i| i.count).sum()
    }

    fn gb_seconds(&self) -> f64 {
        self.invocations.values().map(|i| i.gb_seconds).sum()
    }

    /// The functions' log bytes (not the harness's own lines, outside any invocation).
    fn log_bytes(&self) -> u64 {
        self.invocations
            .iter()
            .filter(|(function, _)| !function.starts_with('('))
            .map(|(_, i)| i.log_bytes)
            .sum()
    }

    fn stored_bytes(&self) -> u64 {
        self.stored.values().map(|(_, bytes)| bytes).sum()
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

    /// SQS requests billed: those counted, and the receive that brought each of the
    /// dispatcher's batches (the layer's fair queues answer receives themselves).
    fn sqs_requests(&self) -> u64 {
        let batches = self
            .invocations
            .get("DispatcherFunction")
            .map_or(0, |i| i.count);
        self.requests_of("Sqs") + batches
    }
}

/// The meter of the stack being measured, which the log lines are counted on.
static METER: Mutex<Option<Arc<Meter>>> = Mutex::new(None);

/// Where the functions' log lines go (formatted as in Lambda): each is counted for the
/// function whose invocation wrote it, by the request id of the invocation's span.
struct LineCounter;

impl std::io::Write for LineCounter {
    fn write(&mut self, line: &[u8]) -> std::io::Result<usize> {
        if let Some(meter) = METER.lock().expect("the meter").as_ref() {
            let parsed: Value = serde_json::from_slice(line).unwrap_or_default();
            let request_id = parsed["spans"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|span| span["name"] == "Lambda runtime invoke")
                .and_then(|span| span["requestId"].as_str());
            meter.logged(request_id, line.len());
        }
        Ok(line.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
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
    let max = endpoints.max(10).to_string();
    // Every first attempt of the retry run fails before the first retry comes (5 s).
    let settings = [
        ("MAX_ENDPOINTS", max.as_str()),
        ("RATE_LIMIT_PER_SECOND", "0"),
        ("RETRY_SCHEDULE", "5s,5s"),
        ("RETRY_JITTER", "0"),
    ];
    let stack = TestStack::start_options(&settings, |options| {
        options.strictness.meter = true;
        options.scheduler_interval = Duration::from_secs(1);
    })
    .await;
    *METER.lock().expect("the meter") = stack.stack.strict.meter.clone();
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
    let all = Spent::now(&stack).since(&before);
    let spent = all.split(false);
    println!(
        "\nbench-cost: {events} events x {endpoints} endpoints = {deliveries} deliveries, every first attempt a success"
    );
    spent.print_breakdown(deliveries);
    let bill = Bill::of(&spent, deliveries, events);
    bill.print();
    clock_cost(&all.split(true));

    // One failed first attempt, retried once: what it adds. The first endpoint fails each
    // first attempt of the next events once; what the run spends beyond as many
    // first-attempt successes of the same fan-out is the retries'.
    if retried > 0 {
        receiver.set("/cost/0", Behaviour::FailTimes(retried as u32, 500));
        let before = Spent::now(&stack);
        publish(&stack, &key, retried).await;
        let received = 5 * endpoints + deliveries + retried * (endpoints + 1);
        settled(&stack, &receiver, received).await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        let spent = Spent::now(&stack).since(&before).split(false);
        let made = retried * endpoints;
        let run = Bill::of(&spent, made, retried);
        let extra =
            |of_run: f64, of_success: f64| (of_run - of_success) * made as f64 / retried as f64;
        let dollars = extra(run.total(), bill.total());
        println!(
            "  a first attempt that fails and is retried once (the receiver answers 500, then 200), beside a first-attempt \
             success: {:+.3} WRU, {:+.3} RRU, {:+.3} SQS requests, {:+.3} Lambda requests, ${dollars:+.2} per million \
             (GB-s apart); one in ten such adds ${:.2} per million deliveries",
            extra(run.wru, bill.wru),
            extra(run.rru, bill.rru),
            extra(run.sqs, bill.sqs),
            extra(run.lambda, bill.lambda),
            0.1 * dollars.max(0.0),
        );
    }
}

impl Spent {
    /// Units by table and by function, requests and invocations, each per delivery.
    fn print_breakdown(&self, deliveries: usize) {
        let per = |x: f64| x / deliveries as f64;
        println!("  request units per delivery, by table and index (read / write):");
        let mut by_table: BTreeMap<&str, (f64, f64)> = BTreeMap::new();
        for ((_, table), (read, write)) in &self.units {
            let sum = by_table.entry(short(table)).or_default();
            sum.0 += read;
            sum.1 += write;
        }
        for (table, (read, write)) in &by_table {
            println!("    {table:<32} {:>7.3} {:>7.3}", per(*read), per(*write));
        }
        println!("  by function (read / write):");
        let mut by_function: BTreeMap<&str, (f64, f64)> = BTreeMap::new();
        for ((function, _), (read, write)) in &self.units {
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
        for ((function, call), n) in &self.requests {
            println!("    {function:<24} {call:<32} {:>7.3}", per(*n as f64));
        }
        println!(
            "  Lambda per delivery, by function (invocations, billed ms, GB-seconds, log bytes):"
        );
        for (function, invoked) in &self.invocations {
            println!(
                "    {function:<32} {:>7.3} {:>8.2} {:>10.6} {:>8.0}",
                per(invoked.count as f64),
                per(invoked.billed_ms as f64),
                per(invoked.gb_seconds),
                per(invoked.log_bytes as f64),
            );
        }
        println!("  stored per delivery, by table and index (items, bytes):");
        for (table, (items, bytes)) in &self.stored {
            println!(
                "    {:<32} {:>7.3} {:>8.0}",
                short(table),
                per(*items as f64),
                per(*bytes as f64)
            );
        }
    }
}

/// What deliveries cost, per delivery, in what AWS bills.
struct Bill {
    wru: f64,
    rru: f64,
    sqs: f64,
    kms: f64,
    api: f64,
    lambda: f64,
    gb_seconds: f64,
    log_bytes: f64,
    stored_bytes: f64,
}

impl Bill {
    /// `published`: the events, each one API Gateway request.
    fn of(spent: &Spent, deliveries: usize, published: usize) -> Bill {
        let per = |x: f64| x / deliveries as f64;
        Bill {
            wru: per(spent.write_units()),
            rru: per(spent.read_units()),
            sqs: per(spent.sqs_requests() as f64),
            kms: per(spent.requests_of("Kms") as f64),
            api: per(published as f64),
            lambda: per(spent.lambda_requests() as f64),
            gb_seconds: per(spent.gb_seconds()),
            log_bytes: per(spent.log_bytes() as f64),
            stored_bytes: per(spent.stored_bytes() as f64),
        }
    }

    /// Dollars per million deliveries, by what AWS bills.
    fn dollars(&self) -> [(&'static str, f64); 9] {
        const GB: f64 = 1e9;
        [
            ("DynamoDB writes", self.wru * WRU),
            ("reads", self.rru * RRU),
            ("SQS", self.sqs * SQS_REQUEST),
            ("KMS", self.kms * KMS_REQUEST),
            ("API Gateway", self.api * API_REQUEST),
            ("Lambda requests", self.lambda * LAMBDA_REQUEST),
            ("Lambda GB-s", self.gb_seconds * LAMBDA_GB_SECOND),
            ("logs", self.log_bytes * 1e6 / GB * LOG_GB),
            (
                "storage",
                self.stored_bytes * 1e6 / GB * STORED_GB_MONTH * RETENTION_DAYS / 30.0,
            ),
        ]
    }

    /// Everything but the GB-seconds, whose local figure is the emulator's more than ours.
    fn total(&self) -> f64 {
        self.dollars()
            .iter()
            .filter(|(what, _)| *what != "Lambda GB-s")
            .map(|(_, d)| d)
            .sum()
    }

    fn print(&self) {
        println!(
            "  per delivery: {:.3} WRU, {:.3} RRU, {:.3} SQS requests, {:.4} KMS requests, {:.3} API Gateway requests, \
             {:.3} Lambda requests, {:.6} GB-s, {:.0} log bytes, {:.0} bytes stored",
            self.wru,
            self.rru,
            self.sqs,
            self.kms,
            self.api,
            self.lambda,
            self.gb_seconds,
            self.log_bytes,
            self.stored_bytes,
        );
        let parts: Vec<String> = self
            .dollars()
            .iter()
            .filter(|(what, _)| *what != "Lambda GB-s")
            .map(|(what, dollars)| format!("${dollars:.2} {what}"))
            .collect();
        println!(
            "  per million deliveries: {} = ${:.2} (storage: held {RETENTION_DAYS} days); Lambda GB-s as timed here \
             ${:.2} (an upper bound: the invocations wait on one moto process and the meter's own reads)",
            parts.join(", "),
            self.total(),
            self.gb_seconds * LAMBDA_GB_SECOND,
        );
    }
}

/// The scheduler's cost: what one run spends, times a run a minute for a month.
fn clock_cost(spent: &Spent) {
    let runs = spent.lambda_requests().max(1) as f64;
    let per_month = 30.0 * 24.0 * 60.0 / runs / 1e6;
    let dollars = spent.write_units() * per_month * WRU
        + spent.read_units() * per_month * RRU
        + spent.sqs_requests() as f64 * per_month * SQS_REQUEST
        + spent.lambda_requests() as f64 * per_month * LAMBDA_REQUEST
        + spent.gb_seconds() * per_month * LAMBDA_GB_SECOND
        + spent.log_bytes() as f64 * per_month * 1e6 / 1e9 * LOG_GB;
    println!(
        "  the scheduler (a run a minute, whatever the traffic): per run {:.2} RRU, {:.2} WRU, {:.1} ms billed, \
         {:.0} log bytes; ${dollars:.2} a month",
        spent.read_units() / runs,
        spent.write_units() / runs,
        spent.invocations.values().map(|i| i.billed_ms).sum::<u64>() as f64 / runs,
        spent.log_bytes() as f64 / runs,
    );
}

fn main() {
    let events = number("BENCH_EVENTS", 100);
    let retried = number("BENCH_RETRIED", 20);
    let fan_outs: Vec<usize> = std::env::var("BENCH_ENDPOINTS")
        .unwrap_or_else(|_| "1,5,10".into())
        .split(',')
        .filter_map(|n| n.trim().parse().ok())
        .collect();
    // The functions' lines as Lambda writes them, at the template's level (info).
    let lines =
        shared::telemetry::lambda_lines(tracing_subscriber::EnvFilter::new("info"), || LineCounter);
    tracing_subscriber::util::SubscriberInitExt::try_init(lines).expect("the only subscriber");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    for endpoints in fan_outs {
        runtime.block_on(run(endpoints, events, retried));
    }
}
