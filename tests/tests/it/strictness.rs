//! The local stack is as strict as AWS: each function may do only what its role in
//! template.yaml allows, and concurrent writes of one tenant meet DynamoDB's transaction
//! conflicts (plus, in the fault mode, throttling, 500s and redeliveries) and still
//! all succeed, exactly once, with exact totals.

use harness::{FAULTS, Receiver, TestStack, expect, status_and_json};
use serde_json::{Value, json};
use std::{
    collections::{BTreeMap, BTreeSet},
    sync::Arc,
    time::{Duration, Instant},
};

fn payment() -> Value {
    json!({
        "title": "Consulting", "gateway": "paypal", "value": "25.00", "currency": "USD",
        "email": "customer@example.com", "white_label": true
    })
}

#[tokio::test]
async fn a_permission_removed_from_the_template_fails_the_route_that_needs_it() {
    // PaymentsFunction's right to count the orders it creates, and nothing else, removed.
    let anchor = "            # UpdateItem: creating an order also counts it (a shard of the orders total).\n            - Sid: ManageOrders\n              Effect: Allow\n              Action:\n                - dynamodb:GetItem\n                - dynamodb:PutItem\n                - dynamodb:UpdateItem\n";
    let bundled = pushguard::template::BUNDLED;
    assert!(
        bundled.contains(anchor),
        "the template changed; update this test"
    );
    let narrowed = bundled.replace(
        anchor,
        &anchor.replace("                - dynamodb:UpdateItem\n", ""),
    );
    let stack = TestStack::start_options(&[], |options| options.template_source = narrowed).await;
    let acct = stack.account("narrowed@example.com").await;
    let key = &acct.test_key;

    let (status, body) = status_and_json(stack.post("/payments", key, payment()).await).await;
    assert_eq!(status, 500, "{body}");
    assert_eq!(
        body,
        json!({ "message": "Internal server error" }),
        "no internals shown"
    );
    assert!(
        harness::Tally::get(&stack.stack.strict.tally.denied) >= 1,
        "{}",
        stack.stack.strict.tally
    );
    assert_eq!(
        stack.total("/orders", key).await,
        0,
        "the refused write changed nothing"
    );
    // Routes whose functions keep their permissions are unaffected.
    expect(stack.get("/products", key).await, 200).await;

    let full = TestStack::start().await;
    let acct = full.account("full@example.com").await;
    expect(full.post("/payments", &acct.test_key, payment()).await, 201).await;
    assert_eq!(harness::Tally::get(&full.stack.strict.tally.denied), 0);
}

/// The secrets key's own policy is enforced too: a function whose IAM policy allows
/// `kms:GenerateDataKey` but whose role the key policy names only as one that opens
/// secrets cannot seal a new one (in AWS a key use needs both policies).
#[tokio::test]
async fn a_role_the_key_policy_does_not_name_for_sealing_cannot_make_a_secret() {
    let anchor = "Binary: webhook-endpoints\n    Properties:\n      # The key policy of SecretsKey names this path.\n      RolePath: !Sub \"/pushguard/${AWS::StackName}/seal/\"\n";
    let bundled = pushguard::template::BUNDLED;
    assert!(
        bundled.contains(anchor),
        "the template changed; update this test"
    );
    let narrowed = bundled.replace(anchor, &anchor.replace("/seal/", "/open/"));
    let stack = TestStack::start_options(&[], |options| options.template_source = narrowed).await;
    let acct = stack.account("unsealed@example.com").await;
    let (status, body) = status_and_json(
        stack
            .post(
                "/webhooks/endpoints",
                &acct.test_key,
                json!({ "url": "http://127.0.0.1:9/hook", "events": ["*"] }),
            )
            .await,
    )
    .await;
    assert_eq!(status, 500, "{body}");
    assert!(
        harness::Tally::get(&stack.stack.strict.tally.denied) >= 1,
        "{}",
        stack.stack.strict.tally
    );
    assert_eq!(stack.total("/webhooks/endpoints", &acct.test_key).await, 0);
}

/// The requests table holds several kinds of short-lived state; each function's role
/// reaches only its own kinds, by the partition key's prefix (`dynamodb:LeadingKeys`):
/// no function but the portal's touches a session, none but those that deliver touches
/// a pace or a lane, and the dispatcher touches nothing else.
#[tokio::test]
async fn each_function_reaches_only_its_own_kinds_of_item_in_the_requests_table() {
    use aws_sdk_dynamodb::types::AttributeValue;
    let stack = TestStack::start().await;
    let table = stack.stack.state.config.tables.requests.clone();
    let tries = [
        ("ProductsFunction", "rate#api#x", true),
        ("ProductsFunction", "idem#x", true),
        ("ProductsFunction", "pace#x", false),
        ("ProductsFunction", "lane#x", false),
        ("ProductsFunction", "portal#x", false),
        ("WebhookEndpointsFunction", "pace#x", true),
        ("DispatcherFunction", "pace#x", true),
        ("DispatcherFunction", "lane#x", true),
        ("DispatcherFunction", "rate#api#x", false),
        ("DispatcherFunction", "idem#x", false),
    ];
    for (function, id, allowed) in tries {
        let state = stack.stack.function(function);
        let db = &state.db;
        let result = db
            .client()
            .update_item()
            .table_name(&table)
            .key("id", AttributeValue::S(id.into()))
            .update_expression("SET touched = :t")
            .expression_attribute_values(":t", AttributeValue::Bool(true))
            .send()
            .await;
        let denied = result.as_ref().err().and_then(|e| {
            use aws_sdk_dynamodb::error::ProvideErrorMetadata;
            e.code().map(|c| c == "AccessDeniedException")
        });
        match allowed {
            true => assert!(result.is_ok(), "{function} on {id}: {result:?}"),
            false => assert_eq!(denied, Some(true), "{function} on {id}: {result:?}"),
        }
    }
}

#[tokio::test]
async fn twenty_concurrent_payments_of_one_tenant_all_succeed_and_are_counted_exactly() {
    let stack = Arc::new(TestStack::start_with_faults(&[], FAULTS).await);
    let acct = stack.account("busy-merchant@example.com").await;
    let key = acct.test_key.clone();
    let before = stack.total("/orders", &key).await;
    let payments = (0..20).map(|_| {
        let (stack, key) = (stack.clone(), key.clone());
        tokio::spawn(async move {
            status_and_json(stack.post("/payments", &key, payment()).await).await
        })
    });
    let results: Vec<(u16, Value)> = futures::future::join_all(payments)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let created = results.iter().filter(|(status, _)| *status == 201).count();
    println!(
        "20 concurrent payments: {created} created; strict layer: {}",
        stack.stack.strict.tally
    );
    assert_eq!(created, 20, "{results:?}");
    assert_eq!(stack.total("/orders", &key).await, before + 20);
    assert_eq!(stack.total("/events?type=order:created", &key).await, 20);
    assert_eq!(
        stack.total("/events", &key).await,
        20,
        "the events' day counts are exact too"
    );
}

/// One custom type published by many clients at once is the common case: nothing a
/// publish writes or checks in its transaction may be the same item for every publish
/// of the type (a check on the type's registration inside the transaction made it one,
/// and every retry met a conflict).
#[tokio::test]
async fn twenty_concurrent_publishes_of_one_custom_type_all_succeed_and_are_counted_exactly() {
    let stack = Arc::new(TestStack::start_with_faults(&[], FAULTS).await);
    let acct = stack.account("busy-publisher@example.com").await;
    let key = acct.test_key.clone();
    stack
        .register_event_type(&key, "invoice:sent", "An invoice was emailed")
        .await;
    let publishes = (0..20).map(|n| {
        let (stack, key) = (stack.clone(), key.clone());
        tokio::spawn(async move {
            let body = json!({ "type": "invoice:sent", "payload": { "invoice": n } });
            status_and_json(stack.post("/events", &key, body).await).await
        })
    });
    let results: Vec<(u16, Value)> = futures::future::join_all(publishes)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let accepted = results.iter().filter(|(status, _)| *status == 202).count();
    println!(
        "20 concurrent publishes of one type: {accepted} accepted; strict layer: {}",
        stack.stack.strict.tally
    );
    assert_eq!(accepted, 20, "{results:?}");
    // Publishes meet only on a day count's shard (one in 64), and move off it when
    // they do; with an item common to all of them, they met 53 times in 20.
    let conflicts = harness::Tally::get(&stack.stack.strict.tally.transactions_cancelled);
    assert!(
        conflicts < 10,
        "{conflicts} transactions of 20 publishes were cancelled by conflicts"
    );
    assert_eq!(stack.total("/events?type=invoice:sent", &key).await, 20);
    assert_eq!(stack.total("/events", &key).await, 20);
}

#[tokio::test]
async fn fourteen_concurrent_endpoint_creates_against_a_quota_of_ten_make_exactly_ten() {
    let stack = Arc::new(TestStack::start_with_faults(&[("MAX_ENDPOINTS", "10")], FAULTS).await);
    let acct = stack.account("quota@example.com").await;
    let key = acct.test_key.clone();
    let creates = (0..14).map(|n| {
        let (stack, key) = (stack.clone(), key.clone());
        tokio::spawn(async move {
            let body = json!({ "url": format!("https://example.com/hook/{n}"), "events": ["*"] });
            status_and_json(stack.post("/webhooks/endpoints", &key, body).await).await
        })
    });
    let results: Vec<(u16, Value)> = futures::future::join_all(creates)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let created = results.iter().filter(|(s, _)| *s == 201).count();
    let refused: Vec<&Value> = results
        .iter()
        .filter(|(s, _)| *s == 400)
        .map(|(_, b)| b)
        .collect();
    println!(
        "14 concurrent endpoint creates, quota 10: {created} created, {} refused; strict layer: {}",
        refused.len(),
        stack.stack.strict.tally
    );
    assert_eq!(created, 10, "{results:?}");
    assert_eq!(refused.len(), 4, "{results:?}");
    assert!(
        refused.iter().all(|body| body["errors"][0]
            .as_str()
            .unwrap()
            .starts_with("Endpoints limit reached")),
        "{refused:?}"
    );
    assert_eq!(stack.total("/webhooks/endpoints", &key).await, 10);
}

#[tokio::test]
async fn ten_events_fanned_out_to_ten_endpoints_all_arrive_without_waiting_for_a_redelivery() {
    // A message failed back to SQS would only come back after this: the test must not need it.
    let visibility = Duration::from_secs(120);
    let stack = Arc::new(
        TestStack::start_options(&[("MAX_ENDPOINTS", "10")], |options| {
            options.strictness.faults = FAULTS;
            options.visibility_timeout = visibility;
        })
        .await,
    );
    let acct = stack.account("fan-out@example.com").await;
    let key = acct.test_key.clone();
    let receiver = Receiver::start().await;
    for n in 0..10 {
        let body =
            json!({ "url": receiver.url(&format!("/endpoint/{n}")), "events": ["order:created"] });
        expect(stack.post("/webhooks/endpoints", &key, body).await, 201).await;
    }
    let started = Instant::now();
    let payments = (0..10).map(|_| {
        let (stack, key) = (stack.clone(), key.clone());
        tokio::spawn(
            async move { expect(stack.post("/payments", &key, payment()).await, 201).await },
        )
    });
    let orders: BTreeSet<String> = futures::future::join_all(payments)
        .await
        .into_iter()
        .map(|order| order.unwrap()["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(orders.len(), 10);

    // Every (order, endpoint) once at least, each repeat under the same webhook-id.
    let mut ids: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
    let mut received = 0;
    while started.elapsed() < visibility / 2 {
        ids.clear();
        let all = receiver.all();
        received = all.len();
        for delivery in &all {
            let order = delivery.json()["id"].as_str().unwrap().to_string();
            ids.entry((order, delivery.path.clone()))
                .or_default()
                .insert(delivery.header("webhook-id").to_string());
        }
        if ids.len() == 100 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let duplicates = received - ids.len();
    println!(
        "fan-out of 10 events to 10 endpoints: sent 100, received {received} in {:?} \
         ({} distinct, {duplicates} duplicated, {} lost), {} messages failed back to SQS; strict layer: {}",
        started.elapsed(),
        ids.len(),
        100 - ids.len(),
        stack.stack.failed_messages(),
        stack.stack.strict.tally
    );
    assert_eq!(
        ids.len(),
        100,
        "every delivery arrived before any redelivery could"
    );
    assert!(
        ids.values().all(|webhook_ids| webhook_ids.len() == 1),
        "every repeat of a delivery carries its webhook-id: {ids:?}"
    );
    assert!(ids.keys().all(|(order, _)| orders.contains(order)));
}

#[tokio::test]
async fn json_dynamodb_cannot_store_is_a_400_that_changes_nothing_never_a_500() {
    let stack = TestStack::start().await;
    let acct = stack.account("limits@example.com").await;
    let key = &acct.test_key;
    stack.register_event_type(key, "deep:thing", "x").await;
    let mut deep = json!(1);
    for _ in 0..40 {
        deep = json!({ "k": deep });
    }
    let (status, body) = status_and_json(
        stack
            .post(
                "/events",
                key,
                json!({ "type": "deep:thing", "payload": deep }),
            )
            .await,
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["errors"][0]
            .as_str()
            .unwrap()
            .contains("nested deeper"),
        "{body}"
    );
    let mut huge_number = payment();
    huge_number["custom"] = json!({ "n": 1e200 });
    let (status, body) = status_and_json(stack.post("/payments", key, huge_number).await).await;
    assert_eq!(status, 400, "{body}");
    let product = json!({
        "title": "x", "price": "1.00", "currency": "USD", "gateways": ["paypal"],
        "custom": { "": "empty key" }
    });
    let (status, body) = status_and_json(stack.post("/products", key, product).await).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(stack.total("/orders", key).await, 0);
    assert_eq!(stack.total("/events", key).await, 0);
    assert_eq!(stack.total("/products", key).await, 0);
}

#[tokio::test]
async fn the_meter_charges_each_table_and_index_what_dynamodb_would_for_one_delivery() {
    let stack = TestStack::start_options(&[], |options| options.strictness.meter = true).await;
    let meter = stack.stack.strict.meter.clone().expect("metering");
    let acct = stack.account("meter@example.com").await;
    let receiver = Receiver::start().await;
    let body = json!({ "url": receiver.url("/metered"), "events": ["order:created"] });
    expect(
        stack
            .post("/webhooks/endpoints", &acct.test_key, body)
            .await,
        201,
    )
    .await;
    let before = meter.charged();

    let order = expect(
        stack.post("/payments", &acct.test_key, payment()).await,
        201,
    )
    .await;
    harness::eventually("the log says delivered", || async {
        let logs = stack.api(&acct.test_key).logs().list("").await;
        logs.iter()
            .any(|log| log.status == "succeeded")
            .then_some(())
    })
    .await;
    let after = meter.charged();
    let spent: BTreeMap<String, (f64, f64)> = after
        .iter()
        .map(|(name, units)| {
            let was = before.get(name).copied().unwrap_or_default();
            (
                name.clone(),
                (units.read - was.read, units.write - was.write),
            )
        })
        .filter(|(_, (read, write))| *read > 0.0 || *write > 0.0)
        .collect();
    let tables = &stack.stack.state.config.tables;
    // Without the stack's prefix: `WebhookLogsTable/due`.
    let short = |name: &str| {
        name.split_once('-')
            .map_or(name, |(_, rest)| rest)
            .to_string()
    };
    println!("one payment, its order:created delivered once (request units, read / write):");
    for (name, (read, write)) in &spent {
        println!("  {:<40} {read:>6.1} {write:>6.1}", short(name));
    }
    let (reads, writes) = spent
        .values()
        .fold((0.0, 0.0), |(r, w), (read, write)| (r + read, w + write));
    println!("  total {reads:.1} read, {writes:.1} write (the order's page reads included)");

    let units = |name: &str| spent.get(name).copied().unwrap_or_default();
    // The log is written when it is made and when it is settled; a first run's
    // delivery never touches the `due` index (its message is its safety net).
    assert!(units(&tables.webhook_logs).1 >= 2.0, "{spent:?}");
    assert_eq!(
        units(&format!("{}/due", tables.webhook_logs)).1,
        0.0,
        "{spent:?}"
    );
    // The order and its event are written in one transaction: every item twice.
    let orders = units(&tables.orders).1;
    assert!(orders >= 2.0 && orders % 2.0 == 0.0, "{spent:?}");
    assert!(units(&tables.events).1 >= 2.0, "{spent:?}");
    assert!(
        reads > 0.0,
        "the dispatcher reads what it delivers: {spent:?}"
    );
    assert!(order["id"].is_string());
}

/// A first run's deliveries stay off the scheduler's `due` index: their message brings
/// them back if the run stops. A message SQS hands out again (an earlier run died or
/// failed it) puts its deliveries on the index before attempting them, so they are
/// swept even if that message then ends in the dead-letter queue: the index entry is
/// put (1 unit, keys only) and taken off with the success (1 more).
#[tokio::test]
async fn only_a_redelivered_fan_out_puts_its_deliveries_on_the_due_index() {
    let stack = TestStack::start_options(&[], |options| options.strictness.meter = true).await;
    let meter = stack.stack.strict.meter.clone().expect("metering");
    let acct = stack.account("redelivered@example.com").await;
    let receiver = Receiver::start().await;
    for path in ["/first", "/second"] {
        let body = json!({ "url": receiver.url(path), "events": ["order:created"] });
        let made = stack.post("/webhooks/endpoints", &acct.test_key, body);
        expect(made.await, 201).await;
    }
    let tenant = acct.tenant(shared::Mode::Test);
    let db = &stack.stack.state.db;
    let due = format!("{}/due", stack.stack.state.config.tables.webhook_logs);
    let dispatcher = &stack.stack.functions["DispatcherFunction"].state;
    let mut figures = Vec::new();
    for (n, receive_count) in [(0, 1), (1, 2), (2, 3)] {
        // Committed, but handed to the dispatcher only by this test.
        let mut event =
            shared::events::Event::new("order:created", json!({ "id": format!("ord_{n}") }));
        shared::store::events::create(db, &tenant, &mut event, 30)
            .await
            .unwrap();
        let before = meter.charged().get(&due).copied().unwrap_or_default();
        let batch = harness::dispatch_batch(&tenant, &[(&event, receive_count)]);
        let response = dispatcher::handle(dispatcher, batch).await;
        assert!(response.batch_item_failures.is_empty());
        let after = meter.charged().get(&due).copied().unwrap_or_default();
        figures.push((receive_count, after.write - before.write));
    }
    println!("due index write units per fan-out of 2 deliveries, by receive count: {figures:?}");
    assert_eq!(figures, vec![(1, 0.0), (2, 4.0), (3, 4.0)]);
    assert_eq!(receiver.received("/first").len(), 3);
    assert_eq!(receiver.received("/second").len(), 3);
}

/// DynamoDB's `ReturnConsumedCapacity`, as the metering layer answers it: a put is
/// charged by its size and by the index it enters, and a query for every item it read,
/// also those its filter dropped (the answer does not carry them; DynamoDB charges them).
#[tokio::test]
async fn a_metered_call_reports_its_consumed_capacity_and_a_filtered_query_pays_for_what_it_read() {
    use aws_sdk_dynamodb::types::{AttributeValue, ReturnConsumedCapacity};
    let stack = TestStack::start_options(&[], |options| options.strictness.meter = true).await;
    // A role that may put and query logs.
    let sdk = shared::aws::for_local_function(
        &stack.stack.strict.url,
        "WebhookEndpointsFunction",
        pushguard::strict::LOCAL_SECRET,
    )
    .await;
    let dynamodb = aws_sdk_dynamodb::Client::new(&sdk);
    let table = &stack.stack.state.config.tables.webhook_logs;
    let s = |v: &str| AttributeValue::S(v.to_string());
    let mut puts = Vec::new();
    for n in 0..3 {
        // Just under 3 KB each (2,975 bytes), on the `due` index (keys only).
        let put = dynamodb
            .put_item()
            .table_name(table)
            .item("pk", s("ACCOUNT#acc_consumed#test"))
            .item("sk", s(&format!("log_{n}")))
            .item("body", s(&"x".repeat(2_900)))
            .item("due_shard", s("d1"))
            .item("due_at", s("2026-12-07T00:00:00Z"))
            .return_consumed_capacity(ReturnConsumedCapacity::Indexes)
            .send()
            .await
            .unwrap();
        puts.push(put.consumed_capacity.expect("asked for"));
    }
    let put = &puts[0];
    println!("a 3 KB put on the due index: {put:?}");
    assert_eq!(put.table_name(), Some(table.as_str()));
    assert_eq!(
        put.capacity_units(),
        Some(4.0),
        "3 for the item, 1 for the index"
    );
    assert_eq!(put.table().and_then(|t| t.capacity_units()), Some(3.0));
    let due = put.global_secondary_indexes().and_then(|i| i.get("due"));
    assert_eq!(due.and_then(|d| d.capacity_units()), Some(1.0));

    let query = dynamodb
        .query()
        .table_name(table)
        .key_condition_expression("pk = :pk")
        .filter_expression("attribute_exists(#nothing)")
        .expression_attribute_names("#nothing", "nothing")
        .expression_attribute_values(":pk", s("ACCOUNT#acc_consumed#test"))
        .consistent_read(true)
        .return_consumed_capacity(ReturnConsumedCapacity::Total)
        .send()
        .await
        .unwrap();
    assert!(query.items().is_empty(), "the filter drops every item");
    let read = query.consumed_capacity.expect("asked for");
    println!("a consistent query of 3 such items, all filtered out: {read:?}");
    assert_eq!(
        read.capacity_units(),
        Some(3.0),
        "about 9 KB read: 3 units by 4 KB, though nothing came back"
    );
    let metered = stack
        .stack
        .strict
        .meter
        .as_ref()
        .expect("metering")
        .charged();
    assert_eq!(metered.get(table.as_str()).map(|u| u.read), Some(3.0));
}
