//! `make bench-coldstart`: the cold start of every function's release binary beside a
//! hello-world `lambda_http` binary built with the same profile, each run as Lambda runs
//! `bootstrap` against a local Runtime API (cli/src/lambda.rs). Prints, per binary, the
//! median of BENCH_RUNS (5) starts: exec to the first Runtime API poll (its init), the
//! first invocation, and peak RSS. Figures, not assertions. Needs `cargo build --release
//! --bins` first (the Makefile target does it).

use harness::TestStack;
use pushguard::lambda::{Instance, binaries_dir};
use serde_json::Value;
use std::time::Duration;

const SAMPLE_KEY: &str = "pg_test_SampleEventsKey0000000000000";

fn event(file: &str) -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../events/").to_string() + file;
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

struct Start {
    init: Duration,
    first_invoke: Duration,
    rss_kib: u64,
}

fn median(mut values: Vec<Duration>) -> Duration {
    values.sort();
    values[values.len() / 2]
}

async fn measure(instance: &mut Instance, sample: Value) -> Start {
    let init = instance
        .init_duration(Duration::from_secs(30))
        .await
        .expect("the function polls the Runtime API");
    let started = std::time::Instant::now();
    instance.invoke(sample).await.expect("the function answers");
    let first_invoke = started.elapsed();
    Start {
        init,
        first_invoke,
        rss_kib: instance.peak_rss_kib().unwrap_or(0),
    }
}

fn report(name: &str, starts: Vec<Start>, reference: Option<Duration>) -> Duration {
    let rss = starts.iter().map(|s| s.rss_kib).max().unwrap_or(0);
    let init = median(starts.iter().map(|s| s.init).collect());
    let invoke = median(starts.iter().map(|s| s.first_invoke).collect());
    let ratio = reference.map_or(String::new(), |r| {
        format!("  {:.2} x hello", init.as_secs_f64() / r.as_secs_f64())
    });
    println!(
        "  {name:<24} init {:>7.2} ms{ratio:<14}  first invoke {:>7.2} ms  peak RSS {:>5.1} MB",
        init.as_secs_f64() * 1e3,
        invoke.as_secs_f64() * 1e3,
        rss as f64 / 1024.0
    );
    init
}

#[tokio::main]
async fn main() {
    shared::telemetry::init_for_tests();
    let runs: usize = std::env::var("BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let binaries = binaries_dir("release");
    let stack = TestStack::start_options(&[], |options| options.event_sources = false).await;
    let created = pushguard::accounts::create(
        &stack.stack.state.db,
        &stack.stack.state.keyring,
        "coldstart@example.com",
        shared::secrets::ApiKeySecret::parse(SAMPLE_KEY),
    )
    .await
    .unwrap();
    println!(
        "bench-coldstart: median of {runs} cold starts per release binary ({})",
        binaries.display()
    );
    let mut hello = Vec::new();
    for _ in 0..runs {
        let mut instance = Instance::start_bare(&binaries.join("hello-lambda"))
            .await
            .unwrap();
        hello.push(measure(&mut instance, event("account-health.json")).await);
    }
    let reference = report("hello-lambda (reference)", hello, None);
    let functions = [
        ("AccountFunction", "account-health.json"),
        ("WebhookEndpointsFunction", "webhook-endpoints-list.json"),
        ("WebhookLogsFunction", "webhook-logs-list.json"),
        ("EventsFunction", "events-list.json"),
        ("ProductsFunction", "products-create.json"),
        ("CategoriesFunction", "categories-list.json"),
        ("OrdersFunction", "orders-list.json"),
        ("PaymentsFunction", "payments-create.json"),
        ("BlacklistsFunction", "blacklists-create.json"),
        ("BlacklistRulesFunction", "blacklist-rules-create.json"),
        ("FeedbackFunction", "queries-create.json"),
        ("PortalFunction", "portal-sessions-create.json"),
        ("SchedulerFunction", "scheduler-schedule.json"),
        ("DispatcherFunction", "dispatcher-sqs.json"),
    ];
    // The dispatcher's sample names an account and an event (one that does not exist).
    let dispatch = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../events/dispatcher-sqs.json"
    ))
    .unwrap()
    .replace("ACCOUNT", &created.account.id)
    .replace("EVENT_ID", &shared::ids::EventId::new());
    let dispatch: Value = serde_json::from_str(&dispatch).unwrap();
    for (function, sample) in functions {
        let sample = if function == "DispatcherFunction" {
            dispatch.clone()
        } else {
            event(sample)
        };
        let mut starts = Vec::new();
        for _ in 0..runs {
            let mut instance = Instance::start(&stack.stack, function, &binaries)
                .await
                .unwrap_or_else(|e| panic!("{function}: {e}"));
            starts.push(measure(&mut instance, sample.clone()).await);
        }
        report(function, starts, Some(reference));
    }
}
