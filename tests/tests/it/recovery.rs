//! Nothing lost, nothing stuck: a retry whose queue message is lost is swept by the
//! scheduler, a receiver cannot push a log past DynamoDB's item limit, and a stack
//! killed in the middle of a fan-out delivers everything once restarted.

use harness::{
    Behaviour, FAULTS, Receiver, TestStack,
    client::{Endpoint, Log, Order},
    eventually,
};
use serde_json::json;
use std::{
    collections::{BTreeMap, BTreeSet},
    time::{Duration, Instant},
};

const FAST: [(&str, &str); 5] = [
    ("RETRY_SCHEDULE", "2s,2s"),
    ("RETRY_JITTER", "0"),
    ("PENDING_EVENT_GRACE_SECONDS", "1"),
    ("RETRY_SWEEP_GRACE_SECONDS", "1"),
    ("DISABLE_AFTER_FAILURES", "100"),
];

async fn subscribe(stack: &TestStack, key: &str, url: &str) -> Endpoint {
    let endpoints = stack.api(key).endpoints();
    endpoints.create_to(url, &["order:created"]).await
}

/// A white-label payment, whose order's `order:created` the endpoints receive.
async fn pay(stack: &TestStack, key: &str) -> Order {
    let body = json!({
        "title": "Consulting", "gateway": "paypal", "value": "25.00", "currency": "USD",
        "email": "customer@example.com", "white_label": true
    });
    stack.api(key).payments().create_white_label(body).await
}

/// Log `id` once it is written and `until` holds for it.
async fn log_once(stack: &TestStack, key: &str, id: &str, until: impl Fn(&Log) -> bool) -> Log {
    eventually("the log reaches the awaited status", || async {
        let log = stack.api(key).logs().find(id).await?;
        until(&log).then_some(log)
    })
    .await
}

/// The log of the first delivery `path` received, once its attempt is recorded.
async fn first_recorded(stack: &TestStack, key: &str, receiver: &Receiver, path: &str) -> Log {
    let log_id = receiver.wait_for(path, 1).await[0]
        .header("webhook-id")
        .to_string();
    log_once(stack, key, &log_id, |log| log.status != "pending").await
}

/// Messages in a queue: visible, delayed and in flight.
async fn queued(stack: &TestStack, queue_url: &str) -> u64 {
    let attributes = stack
        .stack
        .state
        .queues
        .client()
        .get_queue_attributes()
        .queue_url(queue_url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::All)
        .send()
        .await
        .unwrap()
        .attributes
        .unwrap_or_default();
    [
        aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages,
        aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessagesDelayed,
        aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessagesNotVisible,
    ]
    .iter()
    .map(|name| {
        attributes
            .get(name)
            .and_then(|n| n.parse::<u64>().ok())
            .unwrap_or(0)
    })
    .sum()
}

#[tokio::test]
async fn a_retry_whose_queue_message_is_lost_is_swept_by_the_scheduler() {
    let stack = TestStack::start_with(&FAST).await;
    let acct = stack.account("lost-retry@example.com").await;
    let key = &acct.test_key;
    let receiver = Receiver::start().await;
    receiver.set("/flaky", Behaviour::FailTimes(1, 500));
    subscribe(&stack, key, &receiver.url("/flaky")).await;
    pay(&stack, key).await;

    let first = receiver.wait_for("/flaky", 1).await.remove(0);
    let log_id = first.header("webhook-id").to_string();
    log_once(&stack, key, &log_id, |log| log.status == "retrying").await;
    // The retry's message is lost (as if the send had failed, or it had been dead-lettered).
    let deliveries = stack.stack.environment["DELIVERIES_QUEUE_URL"].clone();
    eventually("the retry is queued", || async {
        (queued(&stack, &deliveries).await > 0).then_some(())
    })
    .await;
    stack
        .stack
        .state
        .queues
        .client()
        .purge_queue()
        .queue_url(&deliveries)
        .send()
        .await
        .unwrap();
    assert_eq!(
        queued(&stack, &deliveries).await,
        0,
        "nothing is left to deliver it"
    );

    let retried = receiver.wait_for("/flaky", 2).await;
    assert_eq!(
        retried[1].header("webhook-id"),
        log_id,
        "the same delivery, swept"
    );
    let log = log_once(&stack, key, &log_id, |log| log.status == "succeeded").await;
    assert_eq!(log.retries, 1, "the swept retry succeeded");
}

#[tokio::test]
async fn a_receiver_answering_with_huge_headers_cannot_push_its_log_past_the_item_limit() {
    let stack = TestStack::start_with(&FAST).await;
    let acct = stack.account("huge-headers@example.com").await;
    let key = &acct.test_key;
    let receiver = Receiver::start().await;
    receiver.set("/chatty", Behaviour::HugeHeaders(60_000));
    subscribe(&stack, key, &receiver.url("/chatty")).await;
    // 300 KB of headers: the HTTP client refuses the head, a failed attempt like any other.
    receiver.set("/enormous", Behaviour::HugeHeaders(300_000));
    subscribe(&stack, key, &receiver.url("/enormous")).await;
    pay(&stack, key).await;

    let log = first_recorded(&stack, key, &receiver, "/enormous").await;
    assert_eq!(log.response_code, 0, "{log:?}");
    assert!(
        log.response
            .as_deref()
            .is_some_and(|r| r.contains("too large")),
        "{log:?}"
    );

    let log = first_recorded(&stack, key, &receiver, "/chatty").await;
    assert_eq!(log.status, "succeeded", "{log:?}");
    let headers = &log.response_headers;
    let bytes: usize = headers.iter().map(|(k, v)| k.len() + v.len()).sum();
    assert!(bytes <= 8 * 1024, "headers kept: {bytes} bytes");
    assert!(headers.len() <= 64);
    assert_eq!(
        receiver.received("/chatty").len(),
        1,
        "recorded once, not redelivered"
    );
}

#[tokio::test]
async fn a_stack_killed_mid_fan_out_delivers_every_event_to_every_endpoint_after_a_restart() {
    let prefix = format!("crash{}-", ulid::Ulid::new().to_string().to_lowercase());
    let short_visibility = |options: &mut pushguard::stack::StackOptions| {
        options.visibility_timeout = Duration::from_secs(2);
        options.strictness.faults = FAULTS;
    };
    let receiver = Receiver::start().await;
    let first = TestStack::start_on(&prefix, &FAST, short_visibility).await;
    let acct = first.account("crash@example.com").await;
    let key = acct.test_key.clone();
    let paths: Vec<String> = (0..4).map(|n| format!("/crash/{n}")).collect();
    for path in &paths {
        // Slow receivers keep deliveries in flight when the stack dies.
        receiver.set(path, Behaviour::Hang(Duration::from_millis(1_500)));
        subscribe(&first, &key, &receiver.url(path)).await;
    }
    let mut orders = BTreeSet::new();
    for _ in 0..5 {
        orders.insert(pay(&first, &key).await.id);
    }
    let started = Instant::now();
    while receiver.all().len() < 3 {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the fan-out never started"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let before_crash = receiver.all().len();
    drop(first); // every poller, delivery and scheduler run stops where it is

    for path in &paths {
        receiver.set(path, Behaviour::Accept);
    }
    let second = TestStack::start_on(&prefix, &FAST, short_visibility).await;
    let expected = orders.len() * paths.len();
    let mut ids: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(60) {
        ids.clear();
        for delivery in receiver.all() {
            let order = delivery.json()["id"].as_str().unwrap().to_string();
            ids.entry((order, delivery.path.clone()))
                .or_default()
                .insert(delivery.header("webhook-id").to_string());
        }
        if ids.len() == expected {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let received = receiver.all().len();
    println!(
        "crash mid-fan-out: sent {expected}, {before_crash} requests before the crash, {received} in all \
         ({} distinct, {} duplicated, {} lost); restarted stack: {} messages failed back, strict layer: {}",
        ids.len(),
        received - ids.len(),
        expected - ids.len(),
        second.stack.failed_messages(),
        second.stack.strict.tally
    );
    assert_eq!(
        ids.len(),
        expected,
        "every (event, endpoint) arrives at least once"
    );
    assert!(
        ids.values().all(|webhook_ids| webhook_ids.len() == 1),
        "a repeat carries the first attempt's webhook-id: {ids:?}"
    );
}

#[tokio::test]
async fn a_hostile_receiver_cannot_hold_a_delivery_or_bloat_its_log() {
    let stack = TestStack::start_with(&[
        ("RETRY_SCHEDULE", "30s"),
        ("RETRY_JITTER", "0"),
        ("DELIVERY_TIMEOUT_SECONDS", "2"),
    ])
    .await;
    let acct = stack.account("hostile@example.com").await;
    let key = &acct.test_key;
    let receiver = Receiver::start().await;
    // A 200, then a body dripped a byte at a time: the attempt ends at the delivery timeout.
    receiver.set("/drip", Behaviour::Drip(Duration::from_millis(300)));
    subscribe(&stack, key, &receiver.url("/drip")).await;
    // A 1 MB body: read up to what the log keeps, no more.
    receiver.set("/megabyte", Behaviour::Huge(1024 * 1024));
    subscribe(&stack, key, &receiver.url("/megabyte")).await;
    let started = Instant::now();
    pay(&stack, key).await;

    let dripped = first_recorded(&stack, key, &receiver, "/drip").await;
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "the drip did not hold the delivery: {:?}",
        started.elapsed()
    );
    // The 200 arrived in time, so the delivery succeeded; reading its body stopped at
    // the timeout, so the drip held the dispatcher no longer than any slow receiver.
    assert_eq!(dripped.status, "succeeded", "{dripped:?}");
    assert!((2_000..5_000).contains(&dripped.duration_ms), "{dripped:?}");
    let dripped_body = dripped.response.as_deref().unwrap_or_default();
    assert!(dripped_body.len() < 20, "{dripped:?}");
    let big = first_recorded(&stack, key, &receiver, "/megabyte").await;
    assert_eq!(big.status, "succeeded", "{big:?}");
    assert_eq!(
        big.response.as_deref().map(str::len),
        Some(8 * 1024),
        "the body is cut at 8 KiB"
    );
}

#[tokio::test]
async fn a_delivery_whose_fan_out_died_before_its_first_attempt_is_swept_by_the_scheduler() {
    let stack = TestStack::start_with(&FAST).await;
    let acct = stack.account("died@example.com").await;
    let key = &acct.test_key;
    let receiver = Receiver::start().await;
    let endpoint = subscribe(&stack, key, &receiver.url("/orphan")).await;
    let endpoint_id = endpoint.id.as_str();
    // What a redelivered fan-out leaves when its function dies again after creating the
    // logs and the message ends in the dead-letter queue: a pending delivery with no
    // attempt and no queue message, on the due index for a sweep.
    let tenant = acct.tenant(shared::Mode::Test);
    let event_id = shared::ids::EventId::new();
    let log = shared::webhooks::WebhookLog::pending(
        shared::webhooks::log::delivery_id(&event_id, 0, endpoint_id),
        Some(endpoint_id.parse().unwrap()),
        receiver.url("/orphan"),
        "order:created",
        Some(event_id.clone()),
        json!({ "id": "ord_orphan" }),
        3,
    );
    let fan_out = shared::store::logs::FanOut {
        tenant: &tenant,
        logs: std::slice::from_ref(&log),
        retention_days: 30,
        sweep_at: Some(shared::Timestamp::now()),
        event: None,
    };
    let created = shared::store::logs::create_all(&stack.stack.state.db, &fan_out)
        .await
        .unwrap();
    assert_eq!(created, shared::store::logs::Created::All);

    let delivery = receiver.wait_for("/orphan", 1).await.remove(0);
    assert_eq!(delivery.header("webhook-id"), log.id.as_str());
    assert_eq!(delivery.json()["id"], "ord_orphan");
    let recorded = first_recorded(&stack, key, &receiver, "/orphan").await;
    assert_eq!(recorded.status, "succeeded");
    assert_eq!(recorded.retries, 0, "its first attempt");
}

/// The operator's maintenance switch (the seed's 503): a stack restarted with
/// `MAINTENANCE_MODE=true`, which is what a stack update of that one parameter does,
/// answers every route and page 503 with the seed's message and `Retry-After`, before
/// reading any key; health says so; and a delivery accepted before goes out during it.
#[tokio::test]
async fn in_maintenance_every_route_answers_503_and_accepted_deliveries_go_on() {
    let prefix = format!("maint{}-", ulid::Ulid::new().to_string().to_lowercase());
    let receiver = Receiver::start().await;
    receiver.set("/maint", Behaviour::Always(500, None));
    let first = TestStack::start_on(&prefix, &FAST, |_| {}).await;
    let acct = first.account("maintenance@example.com").await;
    let key = acct.test_key.clone();
    subscribe(&first, &key, &receiver.url("/maint")).await;
    let order = pay(&first, &key).await;
    eventually("the first attempt failed", || async {
        (!receiver.received("/maint").is_empty()).then_some(())
    })
    .await;
    drop(first);
    let before = receiver.received("/maint").len();

    receiver.set("/maint", Behaviour::Accept);
    let mut settings = FAST.to_vec();
    settings.extend([
        ("MAINTENANCE_MODE", "true"),
        ("MAINTENANCE_RETRY_AFTER_SECONDS", "120"),
    ]);
    let second = TestStack::start_on(&prefix, &settings, |_| {}).await;
    let base = second.stack.base_url();
    let offline = "We're temporarily offline for maintenance. Please try again later.";
    let pay_page = order.url.clone().expect("a hosted page");
    let path_of = |url: &str| {
        url.split_once("//")
            .unwrap()
            .1
            .split_once('/')
            .unwrap()
            .1
            .to_string()
    };
    let requests = [
        (
            reqwest::Method::GET,
            "/api/v2/products".to_string(),
            key.as_str(),
        ),
        (
            reqwest::Method::POST,
            "/api/v2/payments".to_string(),
            key.as_str(),
        ),
        // Not a 401: nothing is read, not even the key.
        (
            reqwest::Method::GET,
            "/api/v2/account".to_string(),
            "pg_test_unknown",
        ),
        (
            reqwest::Method::GET,
            "/api/external/v1/webhooks".to_string(),
            key.as_str(),
        ),
        (reqwest::Method::GET, format!("/{}", path_of(&pay_page)), ""),
        (reqwest::Method::GET, "/portal".to_string(), ""),
    ];
    for (method, path, key) in &requests {
        let response = second
            .http
            .request(method.clone(), format!("{base}{path}"))
            .bearer_auth(key)
            .json(&json!({ "title": "During maintenance" }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 503, "{method} {path}");
        assert_eq!(
            harness::header(&response, "retry-after").as_deref(),
            Some("120")
        );
        let text = response.text().await.unwrap();
        assert!(
            text.contains(offline) || text.contains(&offline.replace('\'', "&#39;")),
            "{method} {path}: {text}"
        );
    }
    let health = second
        .http
        .get(format!("{base}/api/v2/health"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 503);
    assert_eq!(
        health.json::<serde_json::Value>().await.unwrap(),
        json!({ "status": "maintenance", "message": offline })
    );

    let attempts = eventually(
        "the accepted delivery went out during maintenance",
        || async {
            let attempts = receiver.received("/maint");
            (attempts.len() > before).then_some(attempts)
        },
    )
    .await;
    let ids: BTreeSet<&str> = attempts.iter().map(|a| a.header("webhook-id")).collect();
    assert_eq!(ids.len(), 1, "one delivery, retried: {ids:?}");
    assert_eq!(attempts[before].json()["id"], order.id.as_str());
    drop(second);
    // Switched off again, the API answers as before, and its log says delivered.
    let third = TestStack::start_on(&prefix, &FAST, |_| {}).await;
    let order_now = third.api(&key).orders().get(&order.id).await;
    // The stopped instance may have been recording the success (then this one sweeps
    // the delivery again, under the same id): the log says delivered soon either way.
    let logs = eventually("the log says delivered", || async {
        let logs = third.api(&key).logs().list("").await;
        logs.iter().any(|l| l.status == "succeeded").then_some(logs)
    })
    .await;
    let delivered = logs.iter().filter(|l| l.status == "succeeded").count();
    println!(
        "maintenance: {} routes and pages answered 503; deliveries: sent 1, attempts {} \
         ({before} before the switch), delivered {delivered}, duplicated {}, lost {}",
        requests.len() + 1,
        attempts.len(),
        ids.len() - 1,
        1 - delivered.min(1)
    );
    assert_eq!((logs.len(), delivered), (1, 1), "{logs:?}");
    assert_eq!(order_now.id, order.id);
}
