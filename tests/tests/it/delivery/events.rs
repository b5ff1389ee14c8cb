//! Events end to end: published and caused by changes, matched to the endpoints that
//! subscribe, delivered signed to a real receiver and checked by independent verifiers.

use super::*;

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
    stack
        .refuses(
            Method::GET,
            &format!("/events/{}", first.id),
            &acct.live_key,
            None,
            404,
        )
        .await;
    stack
        .refuses(
            Method::POST,
            "/events/evt_01ARZ3NDEKTSV4RRFFQ69G5FAV/replay",
            key,
            json!({}),
            404,
        )
        .await;
    let invalid = stack
        .refuses(
            Method::POST,
            "/events",
            key,
            json!({ "type": "order:shipped", "payload": [1] }),
            400,
        )
        .await;
    assert_eq!(invalid["errors"].as_array().unwrap().len(), 2);
    let listed_before = stack.get("/events", key).await;
    let total_before = listed_before.headers()["x-total-count"].clone();
    let catalogue = stack
        .refuses(
            Method::POST,
            "/events",
            key,
            json!({ "type": "order:paid", "payload": { "id": "ord_fake", "status": 100 } }),
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
    stack
        .refuses(
            Method::POST,
            "/events",
            key,
            json!({ "type": "webhook:ping", "payload": {} }),
            400,
        )
        .await;
    stack
        .refuses(Method::GET, "/events?type=nope", key, None, 400)
        .await;
    let reader = stack
        .api(key)
        .account()
        .create_key(json!({ "name": "r", "scopes": ["events:read"] }))
        .await;
    let reader = reader.key.as_str();
    assert_eq!(stack.api(reader).events().list("").await.len(), 2);
    stack
        .refuses(
            Method::POST,
            "/events",
            reader,
            json!({ "type": "order:created", "payload": {} }),
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
    let unregistered = stack
        .refuses(
            Method::POST,
            "/webhooks/endpoints",
            key,
            json!({ "url": receiver.url("/custom"), "events": ["invoice:sent"] }),
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
    let refused = stack
        .refuses(
            Method::POST,
            "/events",
            key,
            json!({ "type": "invoice:sent", "payload": {} }),
            400,
        )
        .await;
    let not_registered =
        "Type \"invoice:sent\" is not registered; register it with POST /event-types";
    assert_eq!(refused["errors"], json!([not_registered]));
    // Refused for its payload too: every problem is listed, the type's first.
    let both = stack
        .refuses(
            Method::POST,
            "/events",
            key,
            json!({ "type": "invoice:sent", "payload": [] }),
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
    stack
        .refuses(
            Method::POST,
            "/event-types",
            key,
            json!({ "name": "invoice:sent" }),
            409,
        )
        .await;
    let invalid = stack
        .refuses(
            Method::POST,
            "/event-types",
            key,
            json!({ "name": "order:paid" }),
            400,
        )
        .await;
    assert!(invalid["errors"][0].as_str().unwrap().contains("catalogue"));
    stack
        .refuses(
            Method::POST,
            "/event-types",
            key,
            json!({ "name": "Invoice Sent" }),
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
    stack
        .refuses(Method::DELETE, "/event-types/invoice:sent", key, None, 404)
        .await;
    // The check is in the transaction that would commit the event: nothing is stored.
    let refused = stack
        .refuses(
            Method::POST,
            "/events",
            key,
            json!({ "type": "invoice:sent", "payload": {} }),
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
