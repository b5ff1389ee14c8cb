//! Ordered delivery per resource: with `ordering: resource` an endpoint receives the
//! events of one resource in commit order, one at a time, while other resources go on;
//! a delivery that exhausts its retries holds only its own resource (`block`), until a
//! successful retry or `/unblock` releases it; and the order survives a crash.

use harness::{Behaviour, Receiver, TestStack, expect};
use serde_json::json;
use std::{
    collections::BTreeMap,
    time::{Duration, Instant},
};

/// Two quick retries, no jitter; waiting deliveries swept soon after a crash.
const FAST: [(&str, &str); 6] = [
    ("RETRY_SCHEDULE", "1s,1s"),
    ("RETRY_JITTER", "0"),
    ("DELIVERY_TIMEOUT_SECONDS", "3"),
    ("PENDING_EVENT_GRACE_SECONDS", "1"),
    ("RETRY_SWEEP_GRACE_SECONDS", "3"),
    ("RATE_LIMIT_PER_SECOND", "0"),
];

const TYPE: &str = "shipment:moved";

async fn publish(stack: &TestStack, key: &str, order: &str, step: usize) {
    let payload = json!({ "order": order, "step": step });
    let event = stack
        .api(key)
        .events()
        .publish_in_order(TYPE, order, payload)
        .await;
    assert_eq!(
        (event.ordering_key.as_deref(), event.sequence),
        (Some(order), Some(step as u64 + 1)),
        "numbered in commit order"
    );
}

/// An account that may publish [`TYPE`], with an ordered endpoint at `url` (and
/// `on_exhausted`): its test key and the endpoint.
async fn ordered_endpoint(
    stack: &TestStack,
    email: &str,
    url: &str,
    on_exhausted: &str,
) -> (String, harness::client::Endpoint) {
    let key = stack.account(email).await.test_key;
    stack
        .register_event_type(&key, TYPE, "A shipment moved")
        .await;
    let endpoint = stack
        .api(&key)
        .endpoints()
        .create(json!({
            "url": url,
            "events": [TYPE],
            "ordering": "resource",
            "on_exhausted": on_exhausted,
        }))
        .await;
    (key, endpoint)
}

/// The steps each order's deliveries arrived with, in arrival order (retries included).
fn arrivals(receiver: &Receiver, path: &str) -> BTreeMap<String, Vec<u64>> {
    let mut steps: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for request in receiver.received(path) {
        let body = request.json();
        let order = body["order"].as_str().unwrap().to_string();
        steps
            .entry(order)
            .or_default()
            .push(body["step"].as_u64().unwrap());
    }
    steps
}

/// Whether `steps` came in order: never a step before one already seen (a retry
/// repeats the step it retries), and every step of `0..count`.
fn in_order(steps: &[u64], count: u64) -> bool {
    let mut distinct = steps.to_vec();
    distinct.dedup();
    steps.windows(2).all(|w| w[0] <= w[1]) && distinct == (0..count).collect::<Vec<_>>()
}

/// The portal's page of endpoint `id`, through a manage link made with `key`.
async fn portal_endpoint_page(stack: &TestStack, key: &str, id: &str) -> String {
    let client = &stack.http; // follows no redirect
    let link = stack.portal_link(key, "manage").await;
    let opened = client.get(&link).send().await.unwrap();
    let cookie = opened.headers()[reqwest::header::SET_COOKIE]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let url = format!("{}/portal/endpoints/{id}", stack.stack.base_url());
    let page = client
        .get(url)
        .header(reqwest::header::COOKIE, cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    page.text().await.unwrap()
}

async fn wait_until(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < limit, "never happened: {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn an_order_whose_first_event_fails_once_still_reaches_the_receiver_in_commit_order() {
    let stack = TestStack::start_with(&FAST).await;
    let receiver = Receiver::start().await;
    receiver.set("/orders", Behaviour::FailTimes(1, 500));
    let acct = stack.account("ordered-orders@example.com").await;
    let key = &acct.test_key;
    let api = stack.api(key);
    let endpoint = api
        .endpoints()
        .create(json!({
            "url": receiver.url("/orders"),
            "events": ["order:created", "order:updated", "order:paid"],
            "ordering": "resource",
        }))
        .await;
    assert_eq!(endpoint.ordering, "resource");
    assert_eq!(endpoint.on_exhausted, "skip");
    let body = json!({
        "title": "Consulting", "gateway": "paypal", "value": "25.00", "currency": "USD",
        "email": "customer@example.com", "white_label": true
    });
    let payment = expect(stack.post("/payments", key, body).await, 201).await;
    let order_id = payment["order_id"]
        .as_str()
        .or(payment["id"].as_str())
        .unwrap()
        .to_string();
    // order:created is answered 500; the order changes while its retry waits.
    receiver.wait_for("/orders", 1).await;
    let paid = stack
        .put(
            &format!("/orders/{order_id}"),
            key,
            json!({ "status": 100 }),
        )
        .await;
    assert_eq!(paid.status(), 200);
    let requests = receiver.wait_for("/orders", 4).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let requests = if receiver.received("/orders").len() > requests.len() {
        receiver.received("/orders")
    } else {
        requests
    };
    let types: Vec<&str> = requests
        .iter()
        .map(|r| r.header("x-pushguard-event"))
        .collect();
    println!("ordered order events: {types:?}");
    assert_eq!(
        types,
        [
            "order:created",
            "order:created",
            "order:updated",
            "order:paid"
        ],
        "the failed order:created is retried before the events after it go"
    );
    let logs = stack.api(key).logs();
    let logs = logs.list(&format!("endpoint_id={}", endpoint.id)).await;
    let mut sequences: Vec<u64> = logs
        .iter()
        .map(|log| {
            assert_eq!(log.ordering_key.as_deref(), Some(order_id.as_str()));
            log.sequence.expect("an ordered delivery has its number")
        })
        .collect();
    sequences.sort();
    assert_eq!(
        sequences,
        [1, 2, 3],
        "the order's events, numbered as committed"
    );
}

#[tokio::test]
async fn fifty_events_of_five_orders_arrive_in_order_while_a_stuck_order_holds_only_itself() {
    let stack = TestStack::start_with(&FAST).await;
    let receiver = Receiver::start().await;
    receiver.set(
        "/lanes",
        Behaviour::FailWhen("stuck-".into(), u32::MAX, 500),
    );
    let (key, endpoint) = ordered_endpoint(
        &stack,
        "ordered-lanes@example.com",
        &receiver.url("/lanes"),
        "block",
    )
    .await;
    let api = stack.api(&key);
    assert_eq!(endpoint.on_exhausted, "block");

    // Two stuck orders first: their first event exhausts its retries (3 attempts).
    for order in ["stuck-retried", "stuck-unblocked"] {
        for step in 0..3 {
            publish(&stack, &key, order, step).await;
        }
    }
    let started = Instant::now();
    let orders: Vec<String> = (0..5).map(|n| format!("order-{n}")).collect();
    let publishers = orders.iter().map(|order| {
        let (stack, key) = (&stack, &key);
        async move {
            for step in 0..10 {
                publish(stack, key, order, step).await;
            }
        }
    });
    futures::future::join_all(publishers).await;
    let published = started.elapsed();
    wait_until(
        "the five orders' 50 events arrive",
        Duration::from_secs(60),
        || {
            let arrived = arrivals(&receiver, "/lanes");
            orders
                .iter()
                .all(|o| arrived.get(o).is_some_and(|steps| steps.contains(&9)))
        },
    )
    .await;
    let took = started.elapsed();
    // The stuck ones end blocked: their first event failed three times, the rest wait.
    let blocked = {
        let started = Instant::now();
        loop {
            let now = api.endpoints().get(&endpoint.id).await;
            if now.blocked_resources.len() == 2 || started.elapsed() > Duration::from_secs(30) {
                break now.blocked_resources;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    };
    let arrived = arrivals(&receiver, "/lanes");
    let stuck = &arrived["stuck-retried"];
    println!(
        "ordered lanes: 50 events of 5 orders published in {:.1} s, delivered in {:.1} s; arrivals {:?}; stuck: {stuck:?}; blocked {blocked:?}",
        published.as_secs_f64(),
        took.as_secs_f64(),
        orders.iter().map(|o| arrived[o].len()).collect::<Vec<_>>(),
    );
    for order in &orders {
        // Never failed, so each step once: one worker per attempt even when two are
        // woken for it (its own first run, and the message the step before queued).
        let once: Vec<u64> = (0..10).collect();
        assert_eq!(arrived[order], once, "{order}: in order, each once");
    }
    assert_eq!(blocked, ["stuck-retried", "stuck-unblocked"]);
    let page = portal_endpoint_page(&stack, &key, &endpoint.id).await;
    assert!(
        page.contains("held: <code>stuck-retried</code>, <code>stuck-unblocked</code>"),
        "the portal shows what is held: {page}"
    );
    for order in ["stuck-retried", "stuck-unblocked"] {
        assert_eq!(arrived[order], [0, 0, 0], "only the first event, 3 times");
    }
    let failed = api.logs().list("status=failed").await;
    assert_eq!(failed.len(), 2, "the two exhausted deliveries");

    // The receiver recovers. A successful retry releases one order: its first event,
    // then the two behind it, in order.
    receiver.set("/lanes", Behaviour::Accept);
    let retried = failed
        .iter()
        .find(|log| log.ordering_key.as_deref() == Some("stuck-retried"))
        .unwrap();
    let log = api.logs().retry(&retried.id).await;
    assert_eq!(log.status, "succeeded");
    wait_until(
        "the retried order's later events",
        Duration::from_secs(30),
        || arrivals(&receiver, "/lanes")["stuck-retried"].len() >= 6,
    )
    .await;
    assert_eq!(
        arrivals(&receiver, "/lanes")["stuck-retried"],
        [0, 0, 0, 0, 1, 2]
    );
    // `/unblock` skips the other's failed event: the next ones go, the failed one
    // stays failed.
    let unknown = stack
        .post(
            &format!("/webhooks/endpoints/{}/unblock", endpoint.id),
            &key,
            json!({ "ordering_key": "order-1" }),
        )
        .await;
    assert_eq!(unknown.status(), 404, "order-1 is not blocked");
    let released = api
        .endpoints()
        .unblock(&endpoint.id, "stuck-unblocked")
        .await;
    assert!(released.blocked_resources.is_empty());
    wait_until(
        "the unblocked order's later events",
        Duration::from_secs(30),
        || arrivals(&receiver, "/lanes")["stuck-unblocked"].len() >= 5,
    )
    .await;
    assert_eq!(
        arrivals(&receiver, "/lanes")["stuck-unblocked"],
        [0, 0, 0, 1, 2]
    );
    let still_failed = api.logs().list("status=failed").await;
    let keys: Vec<_> = still_failed
        .iter()
        .map(|log| log.ordering_key.as_deref())
        .collect();
    assert_eq!(keys, [Some("stuck-unblocked")]);
}

#[tokio::test]
async fn the_order_of_each_resource_survives_a_crash_of_the_stack() {
    let prefix = format!("order{}-", ulid::Ulid::new().to_string().to_lowercase());
    let short_visibility = |options: &mut pushguard::stack::StackOptions| {
        options.visibility_timeout = Duration::from_secs(2);
    };
    let receiver = Receiver::start().await;
    // A slow receiver keeps deliveries in flight when the stack dies.
    receiver.set("/crash", Behaviour::Hang(Duration::from_millis(700)));
    let first = TestStack::start_on(&prefix, &FAST, short_visibility).await;
    let url = receiver.url("/crash");
    let (key, _) = ordered_endpoint(&first, "ordered-crash@example.com", &url, "skip").await;
    let orders: Vec<String> = (0..3).map(|n| format!("crash-{n}")).collect();
    for step in 0..4 {
        for order in &orders {
            publish(&first, &key, order, step).await;
        }
    }
    wait_until("deliveries start", Duration::from_secs(30), || {
        receiver.count() >= 2
    })
    .await;
    let before_crash = receiver.count();
    drop(first); // every poller, delivery and scheduler run stops where it is

    receiver.set("/crash", Behaviour::Accept);
    let second = TestStack::start_on(&prefix, &FAST, short_visibility).await;
    wait_until(
        "every event arrives after the restart",
        Duration::from_secs(90),
        || {
            let arrived = arrivals(&receiver, "/crash");
            orders.iter().all(|o| {
                arrived.get(o).is_some_and(|steps| {
                    let mut distinct = steps.clone();
                    distinct.dedup();
                    distinct.len() >= 4
                })
            })
        },
    )
    .await;
    let arrived = arrivals(&receiver, "/crash");
    let received = receiver.count();
    println!(
        "ordered crash: 12 events of 3 orders, {before_crash} requests before the crash, {received} in all; \
         arrivals {arrived:?}; restarted stack: {} messages failed back, strict layer: {}",
        second.stack.failed_messages(),
        second.stack.strict.tally
    );
    for order in &orders {
        assert!(
            in_order(&arrived[order], 4),
            "{order}: {:?}",
            arrived[order]
        );
    }
}

#[tokio::test]
async fn under_conflicts_throttling_and_redeliveries_each_order_still_arrives_in_order() {
    let stack = TestStack::start_with_faults(&FAST, harness::FAULTS).await;
    let receiver = Receiver::start().await;
    // Every order's first event fails once: retries interleave with new events.
    receiver.set("/faults", Behaviour::FailWhen("\"step\":0".into(), 5, 500));
    let url = receiver.url("/faults");
    let (key, _) = ordered_endpoint(&stack, "ordered-faults@example.com", &url, "skip").await;
    let orders: Vec<String> = (0..5).map(|n| format!("fault-{n}")).collect();
    let steps = 8;
    let publishers = orders.iter().map(|order| {
        let (stack, key) = (&stack, &key);
        async move {
            for step in 0..steps {
                publish(stack, key, order, step).await;
            }
        }
    });
    let started = Instant::now();
    futures::future::join_all(publishers).await;
    wait_until(
        "every order's events arrive",
        Duration::from_secs(90),
        || {
            let arrived = arrivals(&receiver, "/faults");
            orders.iter().all(|o| {
                arrived
                    .get(o)
                    .is_some_and(|seen| seen.contains(&(steps as u64 - 1)))
            })
        },
    )
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let arrived = arrivals(&receiver, "/faults");
    let requests: usize = arrived.values().map(Vec::len).sum();
    let sent = orders.len() * steps;
    let distinct: usize = arrived
        .values()
        .map(|seen| {
            let mut seen = seen.clone();
            seen.sort();
            seen.dedup();
            seen.len()
        })
        .sum();
    println!(
        "ordered under faults: sent {sent}, received {requests} requests in {:.1} s ({distinct} distinct, \
         5 first attempts answered 500 and retried, {} repeated otherwise, {} lost); strict layer: {}",
        started.elapsed().as_secs_f64(),
        requests.saturating_sub(distinct + 5),
        sent - distinct,
        stack.stack.strict.tally
    );
    for order in &orders {
        assert!(
            in_order(&arrived[order], steps as u64),
            "{order}: {:?}",
            arrived[order]
        );
    }
    assert_eq!(distinct, sent, "none lost");
}

/// A sequence costs each event a read and two write units that only ordered delivery
/// needs: events are numbered while the tenant has an ordered endpoint, from its
/// create or its change to `resource`, and no longer once none is left.
#[tokio::test]
async fn events_are_numbered_only_while_an_endpoint_delivers_in_order() {
    let stack = TestStack::start_with(&FAST).await;
    let receiver = Receiver::start().await;
    let key = stack.account("numbered@example.com").await.test_key;
    stack
        .register_event_type(&key, TYPE, "A shipment moved")
        .await;
    let api = stack.api(&key);
    let sequence = async || {
        let event = api
            .events()
            .publish_in_order(TYPE, "shp_1", json!({ "at": "Lyon" }))
            .await;
        assert_eq!(event.ordering_key.as_deref(), Some("shp_1"));
        event.sequence
    };
    assert_eq!(sequence().await, None, "no endpoint");
    let plain = api
        .endpoints()
        .create_to(&receiver.url("/plain"), &[TYPE])
        .await;
    assert_eq!(sequence().await, None, "an endpoint that does not order");

    let ordered =
        json!({ "url": receiver.url("/plain"), "events": [TYPE], "ordering": "resource" });
    api.endpoints().update(&plain.id, ordered).await;
    assert_eq!(sequence().await, Some(1), "numbered from its change on");
    let second = api
        .endpoints()
        .create(json!({ "url": receiver.url("/second"), "events": [TYPE], "ordering": "resource" }))
        .await;
    let unordered = json!({ "url": receiver.url("/plain"), "events": [TYPE], "ordering": "none" });
    api.endpoints().update(&plain.id, unordered).await;
    assert_eq!(sequence().await, Some(2), "one ordered endpoint is left");
    api.endpoints().delete(&second.id).await;
    assert_eq!(sequence().await, None, "none is left");

    let again = json!({ "url": receiver.url("/plain"), "events": [TYPE], "ordering": "resource" });
    api.endpoints().update(&plain.id, again).await;
    assert_eq!(
        sequence().await,
        Some(3),
        "the key's sequence goes on where it stopped"
    );
    // Numbered or not, every event published while it existed reaches it: five.
    let received = receiver.wait_for("/plain", 5).await;
    assert_eq!(received.len(), 5, "each once");
}

#[test]
fn in_order_accepts_retries_and_refuses_a_step_out_of_turn() {
    assert!(in_order(&[0, 0, 1, 2], 3));
    assert!(!in_order(&[0, 2, 1], 3));
    assert!(
        !in_order(&[0, 1, 0], 2),
        "a step repeated after the next one"
    );
    assert!(!in_order(&[0, 2], 3), "a step missing");
}
