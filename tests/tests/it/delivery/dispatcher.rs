//! The dispatcher and scheduler themselves: redelivered and lost queue messages,
//! batches, what a warm run reads, and counting each fan-out's logs once.

use super::*;

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
    let response = ::dispatcher::handle(&stack.stack.function("DispatcherFunction"), batch).await;
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
        ::dispatcher::handle(dispatcher, dispatch_batch(&tenant, &[(&events[0], 1)])).await;
    assert!(response.batch_item_failures.is_empty());
    // The same event again (an SQS redelivery) in a batch with two new ones.
    let again = dispatch_batch(
        &tenant,
        &[(&events[1], 1), (&events[0], 2), (&events[2], 1)],
    );
    let response = ::dispatcher::handle(dispatcher, again).await;
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
    let response = ::dispatcher::handle(dispatcher, fresh).await;
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
            let response = ::dispatcher::handle(dispatcher, batch).await;
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
