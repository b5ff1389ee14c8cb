//! Delivery end to end: the outbox, the queues, the dispatcher and scheduler as
//! `pushguard serve` runs them, a real receiver, and independent signature checks.
//!
//! Helpers shared by the modules below; each module is one concern.

mod dispatcher;
mod events;
mod manual;
mod metrics;
mod retries;

use harness::{
    Behaviour, Receiver, TestStack,
    client::{Endpoint, Event, Log},
    dispatch_batch, eventually, expect, python_hmac_sha512, ruby_seed_signature, verify_standard,
};
use reqwest::Method;
use serde_json::{Value, json};
use shared::{Mode, Tenant};

/// Retries every second, no jitter, short timeout: the schedule shrunk for tests.
const FAST: [(&str, &str); 4] = [
    ("RETRY_SCHEDULE", "1s,1s,1s"),
    ("RETRY_JITTER", "0"),
    ("DELIVERY_TIMEOUT_SECONDS", "2"),
    ("PENDING_EVENT_GRACE_SECONDS", "1"),
];

async fn fast_stack(extra: &[(&str, &str)]) -> TestStack {
    let mut settings = FAST.to_vec();
    settings.extend_from_slice(extra);
    TestStack::start_with(&settings).await
}

fn endpoints<'a>(stack: &'a TestStack, key: &'a str) -> harness::client::Collection<'a, Endpoint> {
    stack.api(key).endpoints()
}

async fn endpoint(stack: &TestStack, key: &str, url: &str, events: Value) -> Endpoint {
    let body = json!({ "url": url, "events": events });
    endpoints(stack, key).create(body).await
}

async fn publish(stack: &TestStack, key: &str, event_type: &str, payload: Value) -> Event {
    if event_type.parse::<shared::webhooks::EventType>().is_err() {
        // A registered custom type: published through the API.
        return stack.api(key).events().publish(event_type, payload).await;
    }
    // A catalogue event, as a change of the key's tenant commits it (the API refuses to
    // publish those): recorded, then handed to the dispatcher.
    let account = expect(stack.get("/account", key).await, 200).await;
    let mode = account["mode"].as_str().unwrap().parse().unwrap();
    let tenant = Tenant::new(account["id"].as_str().unwrap().parse().unwrap(), mode);
    let mut event = shared::events::Event::new(event_type, payload);
    shared::store::events::create(&stack.stack.state.db, &tenant, &mut event, 30)
        .await
        .unwrap();
    stack.stack.state.queues.dispatch(&tenant, &event).await;
    serde_json::from_value(serde_json::to_value(event.view()).unwrap()).unwrap()
}

/// Waits until the event is marked dispatched (every subscribed endpoint has its delivery).
async fn dispatched(stack: &TestStack, key: &str, event: &Event) {
    eventually("the event is marked dispatched", || async {
        let event = stack.api(key).events().get(&event.id).await;
        (event.status == "dispatched").then_some(())
    })
    .await;
}

async fn log(stack: &TestStack, key: &str, id: &str) -> Log {
    stack.api(key).logs().get(id).await
}

/// Waits until `path` received `count` deliveries and the last one's attempt is recorded.
async fn delivered(stack: &TestStack, key: &str, receiver: &Receiver, path: &str, count: usize) {
    let received = receiver.wait_for(path, count).await;
    let log_id = received[count - 1].header("webhook-id").to_string();
    eventually("the attempt is recorded", || async {
        let log = stack.api(key).logs().find(&log_id).await?;
        (log.status == "succeeded").then_some(())
    })
    .await;
}

/// JSON with every number as a float: DynamoDB keeps numbers, not their spelling.
fn numbers_as_f64(value: Value) -> Value {
    match value {
        Value::Number(n) => json!(n.as_f64().unwrap()),
        Value::Array(items) => Value::Array(items.into_iter().map(numbers_as_f64).collect()),
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| (k, numbers_as_f64(v)))
                .collect(),
        ),
        other => other,
    }
}
