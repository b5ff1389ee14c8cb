//! Delivery end to end: the outbox, the queues, the dispatcher and scheduler as
//! `pushguard serve` runs them, a real receiver, and independent signature checks.

use harness::{
    Behaviour, Receiver, TestStack,
    client::{Endpoint, Event, Log},
    dispatch_batch, eventually, expect, python_hmac_sha512, ruby_seed_signature, verify_standard,
};
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

#[tokio::test]
async fn an_event_reaches_its_endpoint_signed_both_ways_and_logged() {
    let stack = fast_stack(&[]).await;
    let receiver = Receiver::start().await;
    let acct = stack.account("signed@example.com").await;
    let created = endpoints(&stack, &acct.test_key)
        .create(json!({ "url": receiver.url("/hook"), "events": ["order:paid"], "headers": { "X-Team": "erp" } }))
        .await;
    let secret = created.secret();
    let payload = json!({ "id": "ord_1", "status": 100, "value": "10.00", "note": "ünïcode" });
    let event = publish(&stack, &acct.test_key, "order:paid", payload.clone()).await;
    assert_eq!(event.status, "pending");

    let delivery = receiver.wait_for("/hook", 1).await.remove(0);
    assert_eq!(
        delivery.json(),
        payload,
        "the body is the event's resource object"
    );
    assert_eq!(delivery.header("content-type"), "application/json");
    assert!(
        delivery
            .header("user-agent")
            .starts_with("PushGuard-Webhooks/")
    );
    assert_eq!(delivery.header("x-pushguard-event"), "order:paid");
    assert_eq!(delivery.header("x-team"), "erp");
    let log_id = delivery.header("x-pushguard-webhook").to_string();
    assert_eq!(delivery.header("webhook-id"), log_id);
    let sent_at: i64 = delivery.header("webhook-timestamp").parse().unwrap();
    assert!((sent_at - shared::Timestamp::now().as_epoch_seconds()).abs() < 60);
    verify_standard(secret, &delivery).expect("standardwebhooks verifies the delivery");
    assert_eq!(
        delivery.header("x-pushguard-signature"),
        python_hmac_sha512(secret, &delivery.body)
    );
    assert!(
        verify_standard("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", &delivery).is_err(),
        "another secret does not verify"
    );

    let logged = eventually("the log records the success", || async {
        let logged = log(&stack, &acct.test_key, &log_id).await;
        (logged.status == "succeeded").then_some(logged)
    })
    .await;
    assert_eq!(logged.response_code, 200);
    assert_eq!(logged.response.as_deref(), Some("{\"received\":true}"));
    assert_eq!(logged.event, "order:paid");
    assert_eq!(logged.endpoint_id, Some(created.id.clone()));
    assert_eq!(logged.payload, payload);
    assert_eq!((logged.retries, logged.retry_limit), (0, 3));
    assert_eq!(logged.next_retry_at, None);
    dispatched(&stack, &acct.test_key, &event).await;
}

#[tokio::test]
async fn only_enabled_subscribed_endpoints_whose_filter_matches_receive_it() {
    let stack = fast_stack(&[]).await;
    let receiver = Receiver::start().await;
    let acct = stack.account("fanout@example.com").await;
    let key = &acct.test_key;
    endpoint(
        &stack,
        key,
        &receiver.url("/subscribed"),
        json!(["order:paid"]),
    )
    .await;
    endpoint(&stack, key, &receiver.url("/everything"), json!(["*"])).await;
    endpoint(
        &stack,
        key,
        &receiver.url("/other-event"),
        json!(["order:created"]),
    )
    .await;
    let disabled = endpoint(
        &stack,
        key,
        &receiver.url("/disabled"),
        json!(["order:paid"]),
    )
    .await;
    assert!(!endpoints(&stack, key).disable(&disabled.id).await.enabled);
    let filtered = json!({ "url": receiver.url("/filtered-out"), "events": ["order:paid"], "filter": "value > 100" });
    endpoints(&stack, key).create(filtered).await;
    let matching = json!({ "url": receiver.url("/filtered-in"), "events": ["order:paid"], "filter": "value <= 100 and customer.email ends_with '@example.com'" });
    endpoints(&stack, key).create(matching).await;
    // Another tenant's endpoint for the same event type.
    endpoint(
        &stack,
        &acct.live_key,
        &receiver.url("/live-mode"),
        json!(["*"]),
    )
    .await;

    let event = publish(
        &stack,
        key,
        "order:paid",
        json!({ "value": 10, "customer": { "email": "a@example.com" } }),
    )
    .await;
    for path in ["/subscribed", "/everything", "/filtered-in"] {
        receiver.wait_for(path, 1).await;
    }
    dispatched(&stack, key, &event).await;
    for path in ["/other-event", "/disabled", "/filtered-out", "/live-mode"] {
        assert!(
            receiver.received(path).is_empty(),
            "{path} must receive nothing"
        );
    }
    let logs = stack.api(key).logs().list("").await;
    let urls: Vec<&str> = logs.iter().map(|log| log.url.as_str()).collect();
    assert_eq!(urls.len(), 3, "one log per delivery: {urls:?}");
}

#[tokio::test]
async fn failed_deliveries_are_retried_with_one_id_until_they_succeed() {
    let stack = fast_stack(&[]).await;
    let receiver = Receiver::start().await;
    receiver.set("/flaky", Behaviour::FailTimes(2, 500));
    let acct = stack.account("retry@example.com").await;
    let created = endpoint(
        &stack,
        &acct.test_key,
        &receiver.url("/flaky"),
        json!(["order:paid"]),
    )
    .await;
    publish(&stack, &acct.test_key, "order:paid", json!({ "id": 1 })).await;

    let deliveries = receiver.wait_for("/flaky", 3).await;
    let ids: Vec<&str> = deliveries.iter().map(|d| d.header("webhook-id")).collect();
    assert!(
        ids.iter().all(|id| *id == ids[0]),
        "a retry keeps its webhook-id: {ids:?}"
    );
    let secret = created.secret();
    for delivery in &deliveries {
        verify_standard(secret, delivery).unwrap();
    }
    let logged = eventually("succeeded after two retries", || async {
        let logged = log(&stack, &acct.test_key, ids[0]).await;
        (logged.status == "succeeded").then_some(logged)
    })
    .await;
    assert_eq!((logged.retries, logged.response_code), (2, 200));
    // The streak is reset just after the log is recorded.
    let after = eventually("the streak is reset", || async {
        let endpoint = endpoints(&stack, &acct.test_key).get(&created.id).await;
        (endpoint.error_count == 0).then_some(endpoint)
    })
    .await;
    assert_eq!(
        (after.error_count, after.error_first_at),
        (0, None),
        "a success ends the streak"
    );
}

#[tokio::test]
async fn a_dead_endpoint_fails_its_deliveries_and_is_disabled() {
    let stack = fast_stack(&[
        ("DISABLE_AFTER_FAILURES", "4"),
        ("DISABLE_AFTER_SECONDS", "0"),
    ])
    .await;
    let receiver = Receiver::start().await;
    receiver.set("/dead", Behaviour::Always(503, None));
    let acct = stack.account("dead@example.com").await;
    let created = endpoint(&stack, &acct.test_key, &receiver.url("/dead"), json!(["*"])).await;
    publish(
        &stack,
        &acct.test_key,
        "query:created",
        json!({ "id": "q1" }),
    )
    .await;

    let deliveries = receiver.wait_for("/dead", 4).await;
    let log_id = deliveries[0].header("webhook-id").to_string();
    let logged = eventually("the log fails after its retries", || async {
        let logged = log(&stack, &acct.test_key, &log_id).await;
        (logged.status == "failed").then_some(logged)
    })
    .await;
    assert_eq!((logged.retries, logged.response_code), (3, 503));
    assert_eq!(logged.next_retry_at, None);
    let endpoint = eventually("the endpoint is disabled", || async {
        let endpoint = endpoints(&stack, &acct.test_key).get(&created.id).await;
        (!endpoint.enabled).then_some(endpoint)
    })
    .await;
    assert!(endpoint.blocked_by_error_count);
    assert_eq!(endpoint.error_count, 4);
    assert!(endpoint.error_first_at.is_some() && endpoint.error_last_at.is_some());
    // Disabled endpoints receive nothing more.
    publish(
        &stack,
        &acct.test_key,
        "query:created",
        json!({ "id": "q2" }),
    )
    .await;
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    assert_eq!(receiver.received("/dead").len(), 4);
    let enabled = endpoints(&stack, &acct.test_key).enable(&created.id).await;
    assert_eq!(
        (
            enabled.enabled,
            enabled.error_count,
            enabled.blocked_by_error_count
        ),
        (true, 0, false)
    );
}

#[tokio::test]
async fn gone_redirect_timeout_and_huge_bodies() {
    let stack = fast_stack(&[("RETRY_SCHEDULE", "30s")]).await;
    let receiver = Receiver::start().await;
    receiver.set("/gone", Behaviour::Always(410, None));
    receiver.set("/moved", Behaviour::Redirect);
    receiver.set("/slow", Behaviour::Hang(std::time::Duration::from_secs(5)));
    receiver.set("/huge", Behaviour::Huge(100 * 1024));
    let acct = stack.account("edges@example.com").await;
    let key = &acct.test_key;
    let mut ids = std::collections::HashMap::new();
    for path in ["/gone", "/moved", "/slow", "/huge"] {
        ids.insert(
            path,
            endpoint(&stack, key, &receiver.url(path), json!(["order:created"]))
                .await
                .id
                .to_string(),
        );
    }
    // The version a concurrent PUT would have read before the 410.
    let tenant = acct.tenant(Mode::Test);
    let read_before = shared::store::endpoints::get(
        &stack.stack.state.db,
        &tenant,
        &ids["/gone"].parse().unwrap(),
    )
    .await
    .unwrap()
    .unwrap();
    publish(&stack, key, "order:created", json!({ "id": "o1" })).await;
    let settled = |path: &'static str| {
        let stack = &stack;
        let receiver = &receiver;
        async move {
            let log_id = receiver.wait_for(path, 1).await[0]
                .header("webhook-id")
                .to_string();
            eventually(path, || async {
                let logged = stack.api(key).logs().find(&log_id).await?;
                (logged.status != "pending").then_some(logged)
            })
            .await
        }
    };
    let gone = settled("/gone").await;
    assert_eq!(
        (gone.status.as_str(), gone.response_code),
        ("failed", 410),
        "410 is final"
    );
    // The log is recorded before the endpoint's streak, so wait for the latter to settle.
    let endpoint = eventually("410 disables the endpoint at once", || async {
        let endpoint = endpoints(&stack, key).get(&ids["/gone"]).await;
        (!endpoint.enabled).then_some(endpoint)
    })
    .await;
    assert_eq!(endpoint.error_count, 1, "after its one delivery");
    let mut stale = read_before.clone();
    stale.enabled = true;
    let overwrite =
        shared::store::endpoints::update(&stack.stack.state.db, &tenant, &read_before, &stale)
            .await;
    assert!(
        matches!(
            overwrite,
            Err(shared::store::StoreError::Rejected(
                shared::store::Rejection::Changed(_)
            ))
        ),
        "a PUT of the version read before the 410 cannot re-enable it: {overwrite:?}"
    );
    assert_eq!(gone.retries, 0, "without a retry");

    let moved = settled("/moved").await;
    assert_eq!(
        (moved.status.as_str(), moved.response_code),
        ("retrying", 302),
        "3xx is a failure"
    );
    assert!(
        receiver.received("/redirected").is_empty(),
        "redirects are not followed"
    );

    let slow = settled("/slow").await;
    assert_eq!((slow.status.as_str(), slow.response_code), ("retrying", 0));
    assert!(
        slow.response.as_deref().unwrap().contains("timed out"),
        "{:?}",
        slow.response
    );

    let huge = settled("/huge").await;
    assert_eq!(huge.status, "succeeded");
    assert_eq!(
        huge.response.as_deref().unwrap().len(),
        8 * 1024,
        "bodies are cut at 8 KiB"
    );
}

#[tokio::test]
async fn retry_after_is_honoured() {
    let stack = fast_stack(&[]).await;
    let receiver = Receiver::start().await;
    receiver.set("/busy", Behaviour::Always(429, Some(7)));
    let acct = stack.account("busy@example.com").await;
    endpoint(&stack, &acct.test_key, &receiver.url("/busy"), json!(["*"])).await;
    publish(
        &stack,
        &acct.test_key,
        "order:updated",
        json!({ "id": "o" }),
    )
    .await;
    let log_id = receiver.wait_for("/busy", 1).await[0]
        .header("webhook-id")
        .to_string();
    let logged = eventually("retrying", || async {
        let logged = log(&stack, &acct.test_key, &log_id).await;
        (logged.status == "retrying").then_some(logged)
    })
    .await;
    let next = shared::Timestamp::parse(logged.next_retry_at.as_deref().unwrap()).unwrap();
    let at = shared::Timestamp::parse(&logged.updated_at).unwrap();
    assert!(
        next.as_millis() - at.as_millis() >= 6_900,
        "Retry-After: 7 beats the 1 s schedule: {logged:?}"
    );
}

#[tokio::test]
async fn retries_beyond_the_queue_delay_are_parked_and_released_by_the_scheduler() {
    let stack = fast_stack(&[("RETRY_SCHEDULE", "2s"), ("MAX_QUEUE_DELAY_SECONDS", "1")]).await;
    let receiver = Receiver::start().await;
    receiver.set("/parked", Behaviour::FailTimes(1, 500));
    let acct = stack.account("parked@example.com").await;
    endpoint(
        &stack,
        &acct.test_key,
        &receiver.url("/parked"),
        json!(["*"]),
    )
    .await;
    publish(
        &stack,
        &acct.test_key,
        "feedback:created",
        json!({ "id": "f" }),
    )
    .await;
    let deliveries = receiver.wait_for("/parked", 2).await;
    assert_eq!(
        deliveries[0].header("webhook-id"),
        deliveries[1].header("webhook-id")
    );
    let log_id = deliveries[0].header("webhook-id");
    eventually("succeeded", || async {
        (log(&stack, &acct.test_key, log_id).await.status == "succeeded").then_some(())
    })
    .await;
}

#[tokio::test]
async fn a_redelivered_queue_message_sends_nothing_twice_and_a_replay_sends_again() {
    let stack = fast_stack(&[]).await;
    let receiver = Receiver::start().await;
    let acct = stack.account("dedupe@example.com").await;
    endpoint(&stack, &acct.test_key, &receiver.url("/once"), json!(["*"])).await;
    let event = publish(&stack, &acct.test_key, "order:paid", json!({ "id": "o" })).await;
    let first = receiver.wait_for("/once", 1).await.remove(0);
    let event_id = event.id.as_str();
    // SQS hands a message out again only once the run that had it is over (its
    // visibility timeout outlasts the function's): here, once the event is settled.
    eventually("the first run settled", || async {
        let shown = stack.api(&acct.test_key).events().get(event_id).await;
        (shown.status == "dispatched").then_some(())
    })
    .await;

    // The same message again, twice in one batch, as an SQS redelivery would bring it.
    let message =
        json!({ "kind": "dispatch", "tenant": acct.tenant(Mode::Test).partition(), "event_id": event_id })
            .to_string();
    let mut batch = aws_lambda_events::event::sqs::SqsEvent::default();
    for n in 0..2 {
        let mut record = aws_lambda_events::event::sqs::SqsMessage::default();
        record.message_id = Some(format!("m{n}"));
        record.body = Some(message.clone());
        batch.records.push(record);
    }
    let response = dispatcher::handle(&stack.stack.function("DispatcherFunction"), batch).await;
    assert!(response.batch_item_failures.is_empty());
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    assert_eq!(receiver.received("/once").len(), 1, "no duplicate delivery");

    let replayed = stack.api(&acct.test_key).events().replay(event_id).await;
    assert_eq!(replayed.replays, 1);
    let deliveries = receiver.wait_for("/once", 2).await;
    assert_ne!(
        deliveries[1].header("webhook-id"),
        first.header("webhook-id"),
        "a replay is a new delivery"
    );
    assert_eq!(stack.api(&acct.test_key).logs().list("").await.len(), 2);
}

#[tokio::test]
async fn an_event_whose_enqueue_was_lost_is_delivered_by_the_scheduler() {
    let stack = fast_stack(&[]).await;
    let receiver = Receiver::start().await;
    let acct = stack.account("lost@example.com").await;
    endpoint(
        &stack,
        &acct.test_key,
        &receiver.url("/recovered"),
        json!(["order:created"]),
    )
    .await;
    // Committed to the outbox, but the process "crashed" before sending to the queue.
    let mut event = shared::events::Event::new("order:created", json!({ "id": "o-lost" }));
    let tenant = acct.tenant(Mode::Test);
    shared::store::events::create(&stack.stack.state.db, &tenant, &mut event, 30)
        .await
        .unwrap();
    let delivery = receiver.wait_for("/recovered", 1).await.remove(0);
    assert_eq!(delivery.json(), json!({ "id": "o-lost" }));
}

#[tokio::test]
async fn rotated_secrets_sign_alongside_the_new_one_during_the_grace_period() {
    let stack = fast_stack(&[]).await;
    let receiver = Receiver::start().await;
    let acct = stack.account("rotation@example.com").await;
    let created = endpoint(
        &stack,
        &acct.test_key,
        &receiver.url("/rotating"),
        json!(["*"]),
    )
    .await;
    let old = created.secret().to_string();
    let new = endpoints(&stack, &acct.test_key)
        .rotate_secret(&created.id, 600)
        .await;
    publish(&stack, &acct.test_key, "order:paid", json!({ "id": "r" })).await;
    let delivery = receiver.wait_for("/rotating", 1).await.remove(0);
    assert_eq!(delivery.header("webhook-signature").split(' ').count(), 2);
    verify_standard(&new, &delivery).expect("the new secret verifies");
    verify_standard(&old, &delivery).expect("the old secret still verifies");
    assert_eq!(
        delivery.header("x-pushguard-signature"),
        python_hmac_sha512(&new, &delivery.body)
    );
}

#[tokio::test]
async fn test_route_pings_now_and_reports() {
    let stack = fast_stack(&[]).await;
    let receiver = Receiver::start().await;
    receiver.set("/down", Behaviour::Always(500, None));
    let acct = stack.account("ping@example.com").await;
    let up = endpoint(
        &stack,
        &acct.test_key,
        &receiver.url("/up"),
        json!(["order:paid"]),
    )
    .await;
    let result = endpoints(&stack, &acct.test_key).test(&up.id).await;
    assert_eq!((result.delivered, result.response_code), (true, 200));
    let delivery = receiver.received("/up").remove(0);
    assert_eq!(delivery.header("x-pushguard-event"), "webhook:ping");
    assert_eq!(delivery.header("webhook-id"), result.log_id);
    verify_standard(up.secret(), &delivery).unwrap();
    let logged = log(&stack, &acct.test_key, &result.log_id).await;
    assert_eq!(logged.duration_ms, result.response_time_ms);
    assert_eq!(
        (logged.event.as_str(), logged.status.as_str()),
        ("webhook:ping", "succeeded")
    );

    let down = endpoint(
        &stack,
        &acct.test_key,
        &receiver.url("/down"),
        json!(["order:paid"]),
    )
    .await;
    let result = endpoints(&stack, &acct.test_key).test(&down.id).await;
    assert_eq!((result.delivered, result.response_code), (false, 500));
    let logged = log(&stack, &acct.test_key, &result.log_id).await;
    assert_eq!(logged.status, "failed", "a ping is not retried");
    assert_eq!(
        endpoints(&stack, &acct.test_key)
            .get(&down.id)
            .await
            .error_count,
        0,
        "pings do not count toward disabling"
    );
    expect(
        stack
            .post(
                "/webhooks/endpoints/ep_01ARZ3NDEKTSV4RRFFQ69G5FAV/test",
                &acct.test_key,
                json!({}),
            )
            .await,
        404,
    )
    .await;
}

#[tokio::test]
async fn recover_resends_failed_deliveries_and_manual_retry_delivers_now() {
    let stack = fast_stack(&[("RETRY_SCHEDULE", "1s")]).await;
    let receiver = Receiver::start().await;
    receiver.set("/broken", Behaviour::Always(500, None));
    let acct = stack.account("recover@example.com").await;
    let created = endpoint(
        &stack,
        &acct.test_key,
        &receiver.url("/broken"),
        json!(["*"]),
    )
    .await;
    let since = shared::Timestamp::now().to_string();
    publish(&stack, &acct.test_key, "order:paid", json!({ "n": 1 })).await;
    publish(&stack, &acct.test_key, "order:paid", json!({ "n": 2 })).await;
    let logs = stack.api(&acct.test_key).logs();
    let failed = eventually("both deliveries fail", || async {
        let failed = logs.list("status=failed").await;
        (failed.len() == 2).then_some(failed)
    })
    .await;

    receiver.set("/broken", Behaviour::Accept);
    let retried = logs.retry(&failed[0].id).await;
    assert_eq!((retried.status.as_str(), retried.retries), ("succeeded", 2));

    let path = format!("/webhooks/endpoints/{}/recover", created.id.as_str());
    expect(stack.post(&path, &acct.test_key, json!({})).await, 400).await;
    expect(
        stack
            .post(&path, &acct.test_key, json!({ "since": "yesterday" }))
            .await,
        400,
    )
    .await;
    let recovered = endpoints(&stack, &acct.test_key)
        .recover(&created.id, &since)
        .await;
    assert_eq!(recovered, 1, "only the still-failed delivery");
    eventually("the recovered delivery succeeds", || async {
        (logs.list("status=succeeded").await.len() == 2).then_some(())
    })
    .await;
}

#[tokio::test]
async fn logs_list_filters_and_are_private_to_their_tenant() {
    let stack = fast_stack(&[]).await;
    let receiver = Receiver::start().await;
    receiver.set("/no", Behaviour::Always(500, None));
    let acct = stack.account("logs@example.com").await;
    let other = stack.account("logs-other@example.com").await;
    let yes = endpoint(&stack, &acct.test_key, &receiver.url("/yes"), json!(["*"])).await;
    endpoint(
        &stack,
        &acct.test_key,
        &receiver.url("/no"),
        json!(["order:paid"]),
    )
    .await;
    publish(&stack, &acct.test_key, "order:paid", json!({})).await;
    publish(&stack, &acct.test_key, "query:replied", json!({})).await;
    receiver.wait_for("/yes", 2).await;
    let key = &acct.test_key;
    let all = eventually("three logs", || async {
        let response = stack.get("/webhooks/logs", key).await;
        let total = harness::header(&response, "x-total-count");
        let body = expect(response, 200).await;
        (total.as_deref() == Some("3")).then_some(body)
    })
    .await;
    assert_eq!(all.as_array().unwrap().len(), 3);
    let logs = stack.api(key).logs();
    let by_endpoint = logs.list(&format!("endpoint_id={}", yes.id)).await;
    assert_eq!(by_endpoint.len(), 2);
    assert!(
        by_endpoint
            .iter()
            .all(|log| log.endpoint_id.as_deref() == Some(yes.id.as_str()))
    );
    let by_event = logs.list("event=query:replied").await;
    assert_eq!(
        by_event
            .iter()
            .map(|log| log.event.as_str())
            .collect::<Vec<_>>(),
        ["query:replied"]
    );
    expect(
        stack
            .get("/webhooks/logs?status=lost&event=nope", key)
            .await,
        400,
    )
    .await;
    let paged = stack.get("/webhooks/logs?per_page=2&page=2", key).await;
    assert_eq!(
        harness::header(&paged, "x-total-pages").as_deref(),
        Some("2")
    );
    assert_eq!(expect(paged, 200).await.as_array().unwrap().len(), 1);

    let id = all[0]["id"].as_str().unwrap();
    expect(
        stack
            .get(&format!("/webhooks/logs/{id}"), &other.test_key)
            .await,
        404,
    )
    .await;
    expect(
        stack
            .get(&format!("/webhooks/logs/{id}"), &acct.live_key)
            .await,
        404,
    )
    .await;
    expect(
        stack
            .post(
                &format!("/webhooks/logs/{id}/retry"),
                &other.test_key,
                json!({}),
            )
            .await,
        404,
    )
    .await;
    assert!(stack.api(&other.test_key).logs().list("").await.is_empty());
}

#[tokio::test]
async fn simulate_sends_a_sample_signed_with_the_account_secret() {
    let stack = fast_stack(&[]).await;
    let receiver = Receiver::start().await;
    let acct = stack.account("simulate@example.com").await;
    let secret = stack
        .api(&acct.test_key)
        .account()
        .rotate_webhook_secret()
        .await;
    let result = expect(
        stack
            .post(
                "/webhooks/simulate",
                &acct.test_key,
                json!({ "url": receiver.url("/sim"), "event": "order:paid" }),
            )
            .await,
        200,
    )
    .await;
    assert_eq!(result["delivered"], true);
    let delivery = receiver.received("/sim").remove(0);
    assert_eq!(
        delivery.json()["status"],
        100,
        "the order:paid sample is a paid order"
    );
    assert_eq!(delivery.header("x-pushguard-event"), "order:paid");
    verify_standard(&secret, &delivery).unwrap();
    let invalid = expect(
        stack
            .post(
                "/webhooks/simulate",
                &acct.test_key,
                json!({ "url": "ftp://x", "event": "order:shipped" }),
            )
            .await,
        400,
    )
    .await;
    assert_eq!(invalid["errors"].as_array().unwrap().len(), 2);

    // A live sample would be a genuinely signed live order:paid that never was.
    let live = expect(
        stack
            .post(
                "/webhooks/simulate",
                &acct.live_key,
                json!({ "url": receiver.url("/live"), "event": "order:paid" }),
            )
            .await,
        400,
    )
    .await;
    assert_eq!(
        live["errors"],
        json!(["Simulations send samples in test mode only: use a test key"])
    );
    assert!(receiver.received("/live").is_empty());
}

#[tokio::test]
async fn events_are_listed_retrieved_and_validated() {
    let stack = fast_stack(&[]).await;
    let acct = stack.account("events@example.com").await;
    let key = &acct.test_key;
    let first = publish(&stack, key, "order:created", json!({ "id": 1 })).await;
    let second = publish(&stack, key, "query:created", json!({ "id": 2 })).await;
    let listed = stack.get("/events", key).await;
    assert_eq!(
        harness::header(&listed, "x-total-count").as_deref(),
        Some("2")
    );
    let events = stack.api(key).events();
    let ids = |listed: Vec<Event>| listed.into_iter().map(|e| e.id).collect::<Vec<_>>();
    assert_eq!(
        ids(events.list("").await),
        [second.id.as_str(), first.id.as_str()],
        "newest first"
    );
    assert_eq!(
        ids(events.list("type=order:created").await),
        [first.id.as_str()]
    );
    let fetched = events.get(&first.id).await;
    assert_eq!(
        (fetched.event_type.as_str(), fetched.payload),
        ("order:created", json!({ "id": 1 }))
    );
    expect(
        stack
            .get(&format!("/events/{}", first.id), &acct.live_key)
            .await,
        404,
    )
    .await;
    expect(
        stack
            .post(
                "/events/evt_01ARZ3NDEKTSV4RRFFQ69G5FAV/replay",
                key,
                json!({}),
            )
            .await,
        404,
    )
    .await;
    let invalid = expect(
        stack
            .post(
                "/events",
                key,
                json!({ "type": "order:shipped", "payload": [1] }),
            )
            .await,
        400,
    )
    .await;
    assert_eq!(invalid["errors"].as_array().unwrap().len(), 2);
    let listed_before = stack.get("/events", key).await;
    let total_before = listed_before.headers()["x-total-count"].clone();
    let catalogue = expect(
        stack
            .post(
                "/events",
                key,
                json!({ "type": "order:paid", "payload": { "id": "ord_fake", "status": 100 } }),
            )
            .await,
        400,
    )
    .await;
    assert!(
        catalogue["errors"][0]
            .as_str()
            .unwrap()
            .contains("emitted by PushGuard itself"),
        "{catalogue}"
    );
    let listed_after = stack.get("/events", key).await;
    assert_eq!(
        listed_after.headers()["x-total-count"],
        total_before,
        "a refused publish records nothing"
    );
    expect(
        stack
            .post(
                "/events",
                key,
                json!({ "type": "webhook:ping", "payload": {} }),
            )
            .await,
        400,
    )
    .await;
    expect(stack.get("/events?type=nope", key).await, 400).await;
    let reader = stack
        .api(key)
        .account()
        .create_key(json!({ "name": "r", "scopes": ["events:read"] }))
        .await;
    let reader = reader.key.as_str();
    assert_eq!(stack.api(reader).events().list("").await.len(), 2);
    expect(
        stack
            .post(
                "/events",
                reader,
                json!({ "type": "order:created", "payload": {} }),
            )
            .await,
        403,
    )
    .await;
}

#[tokio::test]
async fn custom_event_types_are_registered_subscribed_to_and_delivered() {
    let stack = fast_stack(&[]).await;
    let receiver = Receiver::start().await;
    let acct = stack.account("types@example.com").await;
    let key = &acct.test_key;
    // Unregistered custom types can be neither subscribed to nor published.
    let unregistered = expect(
        stack
            .post(
                "/webhooks/endpoints",
                key,
                json!({ "url": receiver.url("/custom"), "events": ["invoice:sent"] }),
            )
            .await,
        400,
    )
    .await;
    assert!(
        unregistered["errors"][0]
            .as_str()
            .unwrap()
            .contains("not registered"),
        "{unregistered}"
    );
    let refused = expect(
        stack
            .post(
                "/events",
                key,
                json!({ "type": "invoice:sent", "payload": {} }),
            )
            .await,
        400,
    )
    .await;
    let not_registered =
        "Type \"invoice:sent\" is not registered; register it with POST /event-types";
    assert_eq!(refused["errors"], json!([not_registered]));
    // Refused for its payload too: every problem is listed, the type's first.
    let both = expect(
        stack
            .post(
                "/events",
                key,
                json!({ "type": "invoice:sent", "payload": [] }),
            )
            .await,
        400,
    )
    .await;
    assert_eq!(
        both["errors"],
        json!([not_registered, "Payload must be a JSON object"])
    );

    let created = stack
        .register_event_type(key, "invoice:sent", "An invoice was emailed")
        .await;
    assert_eq!(created["name"], "invoice:sent");
    expect(
        stack
            .post("/event-types", key, json!({ "name": "invoice:sent" }))
            .await,
        409,
    )
    .await;
    let invalid = expect(
        stack
            .post("/event-types", key, json!({ "name": "order:paid" }))
            .await,
        400,
    )
    .await;
    assert!(invalid["errors"][0].as_str().unwrap().contains("catalogue"));
    expect(
        stack
            .post("/event-types", key, json!({ "name": "Invoice Sent" }))
            .await,
        400,
    )
    .await;
    let listed = expect(stack.get("/event-types", key).await, 200).await;
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(
        expect(stack.get("/event-types", &acct.live_key).await, 200).await,
        json!([]),
        "registries are per tenant"
    );

    endpoint(
        &stack,
        key,
        &receiver.url("/custom"),
        json!(["invoice:sent"]),
    )
    .await;
    endpoint(&stack, key, &receiver.url("/star"), json!(["*"])).await;
    endpoint(&stack, key, &receiver.url("/orders"), json!(["order:paid"])).await;
    publish(&stack, key, "invoice:sent", json!({ "invoice": "inv_1" })).await;
    let delivery = receiver.wait_for("/custom", 1).await.remove(0);
    assert_eq!(delivery.header("x-pushguard-event"), "invoice:sent");
    receiver.wait_for("/star", 1).await;
    let logs = expect(
        stack.get("/webhooks/logs?event=invoice:sent", key).await,
        200,
    )
    .await;
    assert_eq!(logs.as_array().unwrap().len(), 2);
    assert!(receiver.received("/orders").is_empty());

    expect(stack.delete("/event-types/invoice:sent", key).await, 204).await;
    expect(stack.delete("/event-types/invoice:sent", key).await, 404).await;
    // The check is in the transaction that would commit the event: nothing is stored.
    let refused = expect(
        stack
            .post(
                "/events",
                key,
                json!({ "type": "invoice:sent", "payload": {} }),
            )
            .await,
        400,
    )
    .await;
    assert_eq!(refused["errors"], json!([not_registered]));
    let published = stack.total("/events?type=invoice:sent", key).await;
    assert_eq!(
        published, 1,
        "only the event published while it was registered"
    );
}

#[tokio::test]
async fn an_events_webhook_url_receives_it_signed_with_the_account_secret() {
    let stack = fast_stack(&[]).await;
    let receiver = Receiver::start().await;
    let acct = stack.account("webhook-url@example.com").await;
    let secret = stack
        .api(&acct.test_key)
        .account()
        .rotate_webhook_secret()
        .await;
    endpoint(
        &stack,
        &acct.test_key,
        &receiver.url("/endpoint"),
        json!(["order:paid"]),
    )
    .await;
    // What a payment with `webhook_url` commits (the commerce functions produce these).
    let mut event =
        shared::events::Event::new("order:paid", json!({ "id": "ord_9", "status": 100 }));
    event.webhook_urls = vec![receiver.url("/per-payment")];
    let tenant = acct.tenant(Mode::Test);
    shared::store::events::create(&stack.stack.state.db, &tenant, &mut event, 30)
        .await
        .unwrap();
    stack.stack.state.queues.dispatch(&tenant, &event).await;
    let delivery = receiver.wait_for("/per-payment", 1).await.remove(0);
    assert_eq!(delivery.json()["id"], "ord_9");
    verify_standard(&secret, &delivery).expect("signed with the account's webhook secret");
    assert_eq!(
        delivery.header("x-pushguard-signature"),
        python_hmac_sha512(&secret, &delivery.body)
    );
    receiver.wait_for("/endpoint", 1).await;
    let logged = log(&stack, &acct.test_key, delivery.header("webhook-id")).await;
    assert_eq!(logged.endpoint_id, None);
    // Logs never hand out a signature someone who reads them could replay.
    let sent = &logged.request_headers;
    assert_eq!(sent["x-pushguard-signature"], "****");
    assert_eq!(sent["webhook-signature"], "v1,****");
    assert_eq!(sent["webhook-id"], delivery.header("webhook-id"));
}

#[tokio::test]
async fn the_seeds_own_ruby_snippet_accepts_every_delivery() {
    let stack = fast_stack(&[]).await;
    let receiver = Receiver::start().await;
    let acct = stack.account("ruby@example.com").await;
    let key = &acct.test_key;
    stack.register_event_type(key, "note:posted", "x").await;
    let created = endpoint(&stack, key, &receiver.url("/ruby"), json!(["note:posted"])).await;
    let secret = created.secret();
    let payloads = [
        json!({ "title": "Tom & Jerry", "html": "<b>bold</b> > x", "line": "a\u{2028}b\u{2029}c" }),
        json!({ "text": "Zoë, naïve, 東京, 😀", "tab": "a\tb\nc", "control": "\u{1}" }),
        json!({ "price": 1.5, "big": 1e20, "small": 0.00001, "fixed": 100.0, "ratio": 0.1,
                "int": 9007199254740993u64, "neg": -42, "huge": 18446744073709551615u64 }),
        json!({ "nested": { "list": [1, 2.25, "x&y", { "deep": [null, true] }] }, "empty": {} }),
    ];
    for payload in &payloads {
        publish(&stack, key, "note:posted", payload.clone()).await;
    }
    let deliveries = receiver.wait_for("/ruby", payloads.len()).await;
    for delivery in &deliveries {
        let signature = delivery.header("x-pushguard-signature");
        assert_eq!(
            ruby_seed_signature(secret, &delivery.body),
            signature,
            "the seed's snippet (payload.to_json in Ruby) accepts {}",
            String::from_utf8_lossy(&delivery.body)
        );
        assert_eq!(
            python_hmac_sha512(secret, &delivery.body),
            signature,
            "and the raw body"
        );
        verify_standard(secret, delivery).expect("and Standard Webhooks");
        // DynamoDB keeps numbers, not their spelling: 100.0 comes back as 100.
        let arrived = numbers_as_f64(delivery.json());
        assert!(
            payloads
                .iter()
                .any(|p| numbers_as_f64(p.clone()) == arrived),
            "the same JSON value arrives: {arrived}"
        );
    }
}

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

#[tokio::test]
async fn deliveries_write_embedded_metric_format_lines_cloudwatch_reads() {
    let stack = fast_stack(&[("METRICS_NAMESPACE", "PushGuard/emf-test")]).await;
    let receiver = Receiver::start().await;
    receiver.set("/metered", Behaviour::FailTimes(1, 503));
    let acct = stack.account("metrics@example.com").await;
    endpoint(
        &stack,
        &acct.test_key,
        &receiver.url("/metered"),
        json!(["order:paid"]),
    )
    .await;
    publish(&stack, &acct.test_key, "order:paid", json!({ "id": 1 })).await;
    receiver.wait_for("/metered", 2).await;

    // Lines are flushed per SQS batch; other tests' stacks write theirs too.
    let wanted = [
        ("Deliveries", "Count", vec!["Outcome"]),
        ("DeliveryDuration", "Milliseconds", vec![]),
        ("DeliveryLag", "Milliseconds", vec![]),
        ("RetriesScheduled", "Count", vec![]),
    ];
    let lines = eventually("the delivery's metrics are written", || async {
        let lines: Vec<Value> = shared::metrics::recent()
            .iter()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect();
        let has = |name: &str, outcome: Option<&str>| {
            lines
                .iter()
                .any(|l| l.get(name).is_some() && outcome.is_none_or(|o| l["Outcome"] == o))
        };
        (has("Deliveries", Some("retrying"))
            && has("Deliveries", Some("succeeded"))
            && wanted.iter().all(|(name, _, _)| has(name, None))
            && lines
                .iter()
                .any(|l| l["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "PushGuard/emf-test"))
        .then_some(lines)
    })
    .await;
    for (name, unit, dimensions) in wanted {
        for line in lines.iter().filter(|l| l.get(name).is_some()) {
            let directive = &line["_aws"]["CloudWatchMetrics"][0];
            assert!(line["_aws"]["Timestamp"].as_i64().unwrap() > 1_700_000_000_000);
            assert!(
                directive["Namespace"]
                    .as_str()
                    .unwrap()
                    .starts_with("PushGuard")
            );
            assert_eq!(
                directive["Metrics"],
                json!([{ "Name": name, "Unit": unit }]),
                "{line}"
            );
            assert_eq!(directive["Dimensions"], json!([dimensions]), "{line}");
            for dimension in &dimensions {
                assert!(line[dimension].is_string(), "{line}");
            }
            match unit {
                "Count" => assert!(line[name].as_f64().unwrap() >= 1.0, "{line}"),
                _ => assert!(
                    line[name].as_array().is_some_and(|v| !v.is_empty()),
                    "{line}"
                ),
            }
        }
    }
    // Nothing secret rides along: only the directive, dimensions and the value.
    for line in &lines {
        let text = line.to_string();
        assert!(
            !text.contains("whsec_") && !text.contains("pg_test_"),
            "{text}"
        );
    }
}

/// The dispatcher's AWS calls since `before`, by `Service.Operation`.
fn dispatcher_calls_since(
    counter: &shared::aws::CallCounter,
    before: &std::collections::BTreeMap<String, u64>,
) -> std::collections::BTreeMap<String, u64> {
    counter
        .snapshot_of("DispatcherFunction")
        .into_iter()
        .map(|(name, n)| {
            let earlier = before.get(&name).copied().unwrap_or(0);
            (name, n - earlier)
        })
        .filter(|(_, n)| *n > 0)
        .collect()
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

#[tokio::test]
async fn a_warm_dispatcher_reads_only_the_configuration_version_and_sees_each_endpoint_change_at_once()
 {
    let counter = std::sync::Arc::new(shared::aws::CallCounter::default());
    // One poller per queue: one event published is one batch.
    let stack = TestStack::start_counted(&FAST, Some(counter.clone()), 1).await;
    let acct = stack.account("warm@example.com").await;
    let key = &acct.test_key;
    stack.register_event_type(key, "shop:ping", "A ping").await;
    let receiver = Receiver::start().await;
    let a = endpoint(&stack, key, &receiver.url("/a"), json!(["shop:ping"])).await;
    publish(&stack, key, "shop:ping", json!({ "n": 1 })).await;
    delivered(&stack, key, &receiver, "/a", 1).await;

    // Warm: the message carries the event, the endpoints are cached.
    let before = counter.snapshot_of("DispatcherFunction");
    let event = publish(&stack, key, "shop:ping", json!({ "n": 2 })).await;
    delivered(&stack, key, &receiver, "/a", 2).await;
    dispatched(&stack, key, &event).await;
    let calls = dispatcher_calls_since(&counter, &before);
    println!("a warm first-attempt delivery: {calls:?}");
    let expected: std::collections::BTreeMap<String, u64> = [
        ("DynamoDB.GetItem", 1), // the configuration version, once per batch
        ("DynamoDB.PutItem", 1), // the log, written once with the attempt's outcome
        // The event marked dispatched and the batch's logs counted.
        ("DynamoDB.TransactWriteItems", 1),
        // The batch's one addition to the endpoint's hourly statistics.
        ("DynamoDB.UpdateItem", 1),
    ]
    .into_iter()
    .map(|(name, n)| (name.to_string(), n))
    .collect();
    assert_eq!(calls, expected);

    // A new endpoint gets the very next event.
    endpoint(&stack, key, &receiver.url("/b"), json!(["shop:ping"])).await;
    let before = counter.snapshot_of("DispatcherFunction");
    publish(&stack, key, "shop:ping", json!({ "n": 3 })).await;
    delivered(&stack, key, &receiver, "/b", 1).await;
    delivered(&stack, key, &receiver, "/a", 3).await;
    let calls = dispatcher_calls_since(&counter, &before);
    assert_eq!(calls.get("DynamoDB.Query"), Some(&1), "reloaded: {calls:?}");

    // A disabled one does not.
    let a_id = a.id.as_str();
    endpoints(&stack, key).disable(a_id).await;
    let event = publish(&stack, key, "shop:ping", json!({ "n": 4 })).await;
    delivered(&stack, key, &receiver, "/b", 2).await;
    // Settled: every log of the event's fan-out is written.
    dispatched(&stack, key, &event).await;
    let logs_to_a = stack
        .total(&format!("/webhooks/logs?endpoint_id={a_id}"), key)
        .await;
    assert_eq!(logs_to_a, 3, "no delivery to the disabled endpoint");
    assert_eq!(receiver.received("/a").len(), 3);
}

#[tokio::test]
async fn a_dispatcher_that_loaded_an_endpoint_before_its_failures_still_ends_the_streak() {
    // Retries far away: the success that ends the streak is a first attempt.
    let stack = fast_stack(&[("RETRY_SCHEDULE", "1h")]).await;
    let acct = stack.account("streak@example.com").await;
    let key = &acct.test_key;
    stack.register_event_type(key, "shop:ping", "A ping").await;
    let receiver = Receiver::start().await;
    let created = endpoint(&stack, key, &receiver.url("/s"), json!(["shop:ping"])).await;
    let error_count = || async { endpoints(&stack, key).get(&created.id).await.error_count };
    publish(&stack, key, "shop:ping", json!({ "n": 1 })).await;
    delivered(&stack, key, &receiver, "/s", 1).await; // loaded with no streak

    receiver.set("/s", Behaviour::FailTimes(1, 500));
    publish(&stack, key, "shop:ping", json!({ "n": 2 })).await;
    eventually("the failure is counted", || async {
        (error_count().await == 1).then_some(())
    })
    .await;
    publish(&stack, key, "shop:ping", json!({ "n": 3 })).await;
    receiver.wait_for("/s", 3).await;
    eventually("the success ends the streak", || async {
        (error_count().await == 0).then_some(())
    })
    .await;
}

#[tokio::test]
async fn a_batch_creates_its_fan_outs_in_one_transaction_and_a_redelivered_event_among_them_is_not_sent_twice()
 {
    let counter = std::sync::Arc::new(shared::aws::CallCounter::default());
    let stack = TestStack::start_counted(&FAST, Some(counter.clone()), 1).await;
    let acct = stack.account("batch@example.com").await;
    let key = &acct.test_key;
    let receiver = Receiver::start().await;
    endpoint(
        &stack,
        key,
        &receiver.url("/batch"),
        json!(["order:created"]),
    )
    .await;
    let tenant = acct.tenant(Mode::Test);
    let db = &stack.stack.state.db;
    let mut events = Vec::new();
    for n in 0..6 {
        // Committed, but handed to the dispatcher only by this test.
        let mut event =
            shared::events::Event::new("order:created", json!({ "id": format!("ord_{n}") }));
        shared::store::events::create(db, &tenant, &mut event, 30)
            .await
            .unwrap();
        events.push(event);
    }
    let dispatcher = &stack.stack.functions["DispatcherFunction"].state;

    let response =
        dispatcher::handle(dispatcher, dispatch_batch(&tenant, &[(&events[0], 1)])).await;
    assert!(response.batch_item_failures.is_empty());
    // The same event again (an SQS redelivery) in a batch with two new ones.
    let again = dispatch_batch(
        &tenant,
        &[(&events[1], 1), (&events[0], 2), (&events[2], 1)],
    );
    let response = dispatcher::handle(dispatcher, again).await;
    assert!(response.batch_item_failures.is_empty());
    let received = receiver.wait_for("/batch", 3).await;
    let orders: std::collections::BTreeSet<String> = received
        .iter()
        .map(|r| r.json()["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(orders.len(), 3, "each event once: {orders:?}");

    let before = counter.snapshot_of("DispatcherFunction");
    let fresh = dispatch_batch(
        &tenant,
        &[(&events[3], 1), (&events[4], 1), (&events[5], 1)],
    );
    let response = dispatcher::handle(dispatcher, fresh).await;
    assert!(response.batch_item_failures.is_empty());
    receiver.wait_for("/batch", 6).await;
    let calls = dispatcher_calls_since(&counter, &before);
    assert_eq!(
        calls.get("DynamoDB.TransactWriteItems"),
        Some(&1),
        "three fan-outs settled in one write: {calls:?}"
    );
    assert_eq!(
        calls.get("DynamoDB.PutItem"),
        Some(&3),
        "each log written once, with its attempt: {calls:?}"
    );
    assert_eq!(
        calls.get("DynamoDB.UpdateItem"),
        Some(&1),
        "one statistics write for the endpoint's hour: {calls:?}"
    );
    for event in &events {
        let stored = shared::store::events::get(db, &tenant, &event.id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(stored.status, shared::events::EventStatus::Dispatched);
    }
    assert_eq!(receiver.received("/batch").len(), 6);
}

/// An event committed by this test and handed to the dispatcher only by it.
async fn committed(stack: &TestStack, tenant: &Tenant, id: &str) -> shared::events::Event {
    let mut event = shared::events::Event::new("order:created", json!({ "id": id }));
    shared::store::events::create(&stack.stack.state.db, tenant, &mut event, 30)
        .await
        .unwrap();
    event
}

/// An event's logs are counted once (the lists' `X-Total-Count`), whichever run counts
/// them: the first, which writes each log with its attempt and then settles the fan-out,
/// or a later one that finds logs an earlier run wrote and never settled (it died
/// first) and counts them all; a run that finds them counted only marks the event; and
/// a run overtaken by a replay of its event counts what it made without marking it.
#[tokio::test]
async fn an_events_logs_are_counted_once_whichever_run_settles_them() {
    let stack = TestStack::start_with(&FAST).await;
    let acct = stack.account("counted@example.com").await;
    let key = &acct.test_key;
    let receiver = Receiver::start().await;
    let a = endpoint(&stack, key, &receiver.url("/a"), json!(["order:created"])).await;
    endpoint(&stack, key, &receiver.url("/b"), json!(["order:created"])).await;
    let tenant = acct.tenant(Mode::Test);
    let dispatcher = &stack.stack.functions["DispatcherFunction"].state;
    let run = |event: &shared::events::Event, receive_count: u32| {
        let batch = dispatch_batch(&tenant, &[(event, receive_count)]);
        async move {
            let response = dispatcher::handle(dispatcher, batch).await;
            assert!(response.batch_item_failures.is_empty());
        }
    };

    let first = committed(&stack, &tenant, "ord_first").await;
    run(&first, 1).await;
    assert_eq!(
        stack.total("/webhooks/logs", key).await,
        2,
        "a first run's two"
    );

    // A run that wrote the log to /a and died before settling: there, not counted.
    let second = committed(&stack, &tenant, "ord_second").await;
    let to_a = shared::webhooks::WebhookLog::pending(
        shared::webhooks::log::delivery_id(&second.id, 0, a.id.as_str()),
        Some(a.id.parse().unwrap()),
        receiver.url("/a"),
        "order:created",
        Some(second.id.clone()),
        json!({ "id": "ord_second" }),
        3,
    );
    let db = &stack.stack.state.db;
    assert!(
        shared::store::logs::put_new(db, &tenant, &to_a, 30, None)
            .await
            .unwrap()
    );
    assert_eq!(
        stack.total("/webhooks/logs", key).await,
        2,
        "not counted yet"
    );
    // Its message comes back: the run finds that log, attempts it, makes the other,
    // and counts both.
    run(&second, 2).await;
    assert_eq!(stack.total("/webhooks/logs", key).await, 4);
    // And once more: counted already, so only marked; nothing sent again.
    run(&second, 3).await;
    assert_eq!(stack.total("/webhooks/logs", key).await, 4);
    assert_eq!(receiver.received("/a").len(), 2);
    assert_eq!(receiver.received("/b").len(), 2);
    let stored = shared::store::events::get(db, &tenant, &second.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.status, shared::events::EventStatus::Dispatched);

    // An event replayed while a run of its first dispatch is under way: that run's
    // deliveries are made and their logs counted, though the event is not marked.
    let third = committed(&stack, &tenant, "ord_third").await;
    let replayed = shared::store::events::start_replay(db, &tenant, &third.id)
        .await
        .unwrap()
        .unwrap();
    run(&third, 1).await;
    assert_eq!(stack.total("/webhooks/logs", key).await, 6);
    let stored = shared::store::events::get(db, &tenant, &third.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        stored.status,
        shared::events::EventStatus::Pending,
        "the replay's own run marks it"
    );
    run(&replayed, 1).await;
    assert_eq!(stack.total("/webhooks/logs", key).await, 8);
    assert_eq!(receiver.received("/a").len(), 4);
}
