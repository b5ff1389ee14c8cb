//! Smoke test of the real artifacts' code: every function's binary, built for the host,
//! started the way Lambda starts `bootstrap` (a Runtime API on loopback, the environment
//! template.yaml gives it, credentials naming its role, the strict layer as its AWS),
//! and handed the sample events of events/. So every `main.rs`, its configuration and
//! its client set-up run as in Lambda. Needs `cargo build --bins` first (`make test`).

use harness::TestStack;
use pushguard::lambda::{Instance, Outcome, binaries_dir};
use serde_json::{Value, json};
use std::collections::BTreeSet;

const SAMPLE_KEY: &str = "pg_test_SampleEventsKey0000000000000";

fn event(file: &str) -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../events/").to_string() + file;
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

/// The status and JSON body of an API Gateway (payload 2.0) response.
fn http(outcome: Outcome) -> (u16, Value) {
    let Outcome::Response(response) = outcome else {
        panic!("the function failed: {outcome:?}")
    };
    let status = response["statusCode"].as_u64().unwrap() as u16;
    let body = response["body"]
        .as_str()
        .map(|b| serde_json::from_str(b).unwrap_or(Value::String(b.into())))
        .unwrap_or(Value::Null);
    (status, body)
}

#[tokio::test]
async fn every_function_binary_answers_its_sample_events_as_in_lambda() {
    let stack = TestStack::start_options(&[], |options| options.event_sources = false).await;
    let created = pushguard::accounts::create(
        &stack.stack.state.db,
        &stack.stack.state.keyring,
        "binaries@example.com",
        shared::secrets::ApiKeySecret::parse(SAMPLE_KEY),
    )
    .await
    .unwrap();
    let binaries = binaries_dir("debug");
    let mut covered = BTreeSet::new();
    // Each function is one instance (one cold start), invoked once per sample event.
    let http_events: [(&str, &[(&str, u16)]); 12] = [
        (
            "AccountFunction",
            &[
                ("account-health.json", 200),
                ("account-show.json", 200),
                ("account-create-key.json", 201),
            ],
        ),
        (
            "WebhookEndpointsFunction",
            &[
                ("webhook-endpoints-create.json", 201),
                ("webhook-endpoints-list.json", 200),
                ("conekta-list-webhooks.json", 200),
            ],
        ),
        ("ProductsFunction", &[("products-create.json", 201)]),
        ("CategoriesFunction", &[("categories-list.json", 200)]),
        ("PaymentsFunction", &[("payments-create.json", 201)]),
        ("OrdersFunction", &[("orders-list.json", 200)]),
        ("EventsFunction", &[("events-list.json", 200)]),
        ("WebhookLogsFunction", &[("webhook-logs-list.json", 200)]),
        ("BlacklistsFunction", &[("blacklists-create.json", 201)]),
        (
            "BlacklistRulesFunction",
            &[("blacklist-rules-create.json", 201)],
        ),
        ("FeedbackFunction", &[("queries-create.json", 201)]),
        ("PortalFunction", &[("portal-sessions-create.json", 201)]),
    ];
    for (function, events) in http_events {
        let mut instance = Instance::start(&stack.stack, function, &binaries)
            .await
            .unwrap_or_else(|e| panic!("{function}: {e}"));
        for (file, expected) in events {
            let (status, body) = http(instance.invoke(event(file)).await.unwrap());
            assert_eq!(status, *expected, "{function} on {file}: {body}");
        }
        covered.insert(function);
    }
    let orders = stack.get("/orders", SAMPLE_KEY).await;
    let orders: Value = orders.json().await.unwrap();
    assert_eq!(
        orders[0]["gateway"], "Bitcoin",
        "the payments binary wrote through its role"
    );

    // The dispatcher takes an events-queue batch naming the order:created just committed.
    let tenant = shared::Tenant::new(created.account.id.clone(), shared::Mode::Test);
    let events = shared::store::events::list(
        &stack.stack.state.db,
        &tenant,
        Some("order:created"),
        shared::pagination::PageRequest::first(1),
        30,
    )
    .await
    .unwrap();
    let text = serde_json::to_string(&event("dispatcher-sqs.json"))
        .unwrap()
        .replace("ACCOUNT", &created.account.id)
        .replace("EVENT_ID", &events.items[0].id);
    let mut dispatcher = Instance::start(&stack.stack, "DispatcherFunction", &binaries)
        .await
        .unwrap();
    let Outcome::Response(answer) = dispatcher
        .invoke(serde_json::from_str(&text).unwrap())
        .await
        .unwrap()
    else {
        panic!("the dispatcher failed")
    };
    assert_eq!(answer, json!({ "batchItemFailures": [] }));
    let dispatched =
        shared::store::events::get(&stack.stack.state.db, &tenant, &events.items[0].id)
            .await
            .unwrap()
            .unwrap();
    assert_eq!(dispatched.status, shared::events::EventStatus::Dispatched);
    covered.insert("DispatcherFunction");

    let mut scheduler = Instance::start(&stack.stack, "SchedulerFunction", &binaries)
        .await
        .unwrap();
    let Outcome::Response(summary) = scheduler
        .invoke(event("scheduler-schedule.json"))
        .await
        .unwrap()
    else {
        panic!("the scheduler failed")
    };
    assert_eq!(
        summary,
        json!({ "retries_enqueued": 0, "events_resent": 0 })
    );
    covered.insert("SchedulerFunction");

    let declared: BTreeSet<&str> = stack.stack.functions.keys().map(String::as_str).collect();
    assert_eq!(
        covered, declared,
        "every function of template.yaml is started"
    );
    assert_eq!(
        harness::Tally::get(&stack.stack.strict.tally.denied),
        0,
        "{}",
        stack.stack.strict.tally
    );
}

#[tokio::test]
async fn a_function_whose_configuration_is_incomplete_fails_at_start_up() {
    let mut stack = TestStack::start_options(&[], |options| options.event_sources = false).await;
    let function = stack.stack.functions.get_mut("AccountFunction").unwrap();
    function.environment.remove("ACCOUNTS_TABLE");
    let mut instance = Instance::start(&stack.stack, "AccountFunction", &binaries_dir("debug"))
        .await
        .unwrap();
    let error = instance
        .invoke(event("account-health.json"))
        .await
        .unwrap_err();
    assert!(error.to_string().contains("exited"), "{error}");
}
