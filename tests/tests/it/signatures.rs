//! Asymmetric signatures and thin payloads: `v1a` deliveries signed with the account's
//! ed25519 key and verified by an independent implementation with the published
//! public key, rotation that signs with both keys, and bodies that name the resource
//! instead of carrying it.

use harness::{Received, Receiver, TestStack, expect, python_ed25519_verifies};
use serde_json::{Value, json};

/// The account's published keys of `mode` (no API key asked), current first.
async fn published(stack: &TestStack, account_id: &str, mode: &str) -> Vec<Value> {
    let response = reqwest::Client::builder()
        .use_preconfigured_tls(shared::tls::delivery_config())
        .build()
        .unwrap()
        .get(stack.url(&format!("/webhooks/public-keys/{account_id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["cache-control"],
        "public, max-age=300",
        "receivers may cache them"
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["account_id"], account_id);
    body["keys"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|k| k["mode"] == mode)
        .cloned()
        .collect()
}

fn entries<'a>(delivery: &'a Received, version: &str) -> Vec<&'a str> {
    delivery
        .header("webhook-signature")
        .split(' ')
        .filter(|e| e.starts_with(&format!("{version},")))
        .collect()
}

#[tokio::test]
async fn v1a_deliveries_verify_with_the_published_key_alone_and_a_rotation_signs_with_both_keys() {
    // Keys read afresh on every request: the test looks right after a rotation, which
    // a warm instance would otherwise show for up to a minute (as any cache may, 5).
    let stack = TestStack::start_with(&[("PUBLIC_KEYS_CACHE_SECONDS", "0")]).await;
    let receiver = Receiver::start().await;
    let acct = stack.account("v1a@example.com").await;
    let api = stack.api(&acct.test_key);
    let account_id = acct.tenant(shared::Mode::Test).account_id().to_string();
    let endpoint = api
        .endpoints()
        .create(json!({
            "url": receiver.url("/v1a"),
            "events": ["*"],
            "signature_scheme": "v1a",
        }))
        .await;
    assert_eq!(endpoint.signature_scheme, "v1a");
    let keys = published(&stack, &account_id, "test").await;
    assert_eq!(keys.len(), 1, "{keys:?}");
    assert_eq!(keys[0]["status"], "current");
    let first = keys[0]["key"].as_str().unwrap().to_string();
    assert!(first.starts_with("whpk_"), "{first}");
    let live = published(&stack, &account_id, "live").await;
    assert_ne!(live[0]["key"], keys[0]["key"], "one key per mode");

    assert!(api.endpoints().test(&endpoint.id).await.delivered);
    let ping = receiver.wait_for("/v1a", 1).await.remove(0);
    assert_eq!(
        entries(&ping, "v1a").len(),
        1,
        "{}",
        ping.header("webhook-signature")
    );
    assert!(entries(&ping, "v1").is_empty(), "v1a only");
    assert!(python_ed25519_verifies(&[&first], &ping));
    let mut tampered = ping.clone();
    tampered.body.push(b' ');
    assert!(
        !python_ed25519_verifies(&[&first], &tampered),
        "a changed body fails"
    );
    let other = published(&stack, &account_id, "live").await;
    let live_key = other[0]["key"].as_str().unwrap();
    assert!(
        !python_ed25519_verifies(&[live_key], &ping),
        "another key fails"
    );

    // The private key is sealed at rest: the account item holds no whsk_.
    let item = stack
        .stack
        .state
        .db
        .client()
        .get_item()
        .table_name(&stack.stack.state.db.tables.accounts)
        .key(
            "id",
            aws_sdk_dynamodb::types::AttributeValue::S(account_id.clone()),
        )
        .send()
        .await
        .unwrap()
        .item
        .unwrap();
    let stored = format!("{item:?}");
    assert!(
        stored.contains("kms2:") && !stored.contains("whsk_"),
        "sealed"
    );

    // Rotate: both keys sign for the grace period, and both are published.
    let rotated = expect(
        stack
            .post(
                "/account/webhook-keys/rotate",
                &acct.test_key,
                json!({ "grace_period_seconds": 3600 }),
            )
            .await,
        200,
    )
    .await;
    let second = rotated["public_key"].as_str().unwrap().to_string();
    assert_ne!(second, first);
    let keys = published(&stack, &account_id, "test").await;
    assert_eq!(
        keys.iter()
            .map(|k| (k["key"].as_str().unwrap(), k["status"].as_str().unwrap()))
            .collect::<Vec<_>>(),
        vec![(second.as_str(), "current"), (first.as_str(), "previous")]
    );
    assert!(keys[1]["expires_at"].is_string());
    // A published event, through the queue and the dispatcher.
    stack
        .register_event_type(&acct.test_key, "invoice:sent", "An invoice went out")
        .await;
    expect(
        stack
            .post(
                "/events",
                &acct.test_key,
                json!({ "type": "invoice:sent", "payload": { "id": "inv_1" } }),
            )
            .await,
        202,
    )
    .await;
    let delivery = receiver.wait_for("/v1a", 2).await.remove(1);
    assert_eq!(entries(&delivery, "v1a").len(), 2, "signed with both keys");
    assert!(
        python_ed25519_verifies(&[&second], &delivery),
        "the new key alone"
    );
    assert!(
        python_ed25519_verifies(&[&first], &delivery),
        "the old key alone"
    );

    // `both`: a v1 entry for the endpoint's secret, then the v1a ones.
    let both = api
        .endpoints()
        .update(&endpoint.id, json!({ "signature_scheme": "both" }))
        .await;
    assert_eq!(both.signature_scheme, "both");
    assert!(api.endpoints().test(&endpoint.id).await.delivered);
    let mixed = receiver.wait_for("/v1a", 3).await.remove(2);
    assert_eq!(entries(&mixed, "v1").len(), 1);
    assert_eq!(entries(&mixed, "v1a").len(), 2);
    harness::verify_standard(endpoint.secret.as_deref().unwrap(), &mixed).expect("v1 verifies");
    assert!(python_ed25519_verifies(&[&second], &mixed));

    let (status, _) = harness::status_and_json(
        stack
            .post(
                "/webhooks/endpoints",
                &acct.test_key,
                json!({ "url": receiver.url("/x"), "events": ["*"], "signature_scheme": "rsa" }),
            )
            .await,
    )
    .await;
    assert_eq!(status, 400, "an unknown scheme");
    let (status, _) = harness::status_and_json(
        stack
            .anonymous(reqwest::Method::GET, "/webhooks/public-keys/acct_nobody")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn a_thin_endpoint_gets_the_events_type_and_resource_id_and_the_log_keeps_what_was_sent() {
    let stack = TestStack::start().await;
    let receiver = Receiver::start().await;
    let acct = stack.account("thin@example.com").await;
    let api = stack.api(&acct.test_key);
    stack
        .register_event_type(&acct.test_key, "invoice:sent", "An invoice went out")
        .await;
    let thin = api
        .endpoints()
        .create(json!({ "url": receiver.url("/thin"), "events": ["*"], "payload": "thin" }))
        .await;
    assert_eq!(thin.payload, "thin");
    let full = api
        .endpoints()
        .create(json!({ "url": receiver.url("/full"), "events": ["*"] }))
        .await;
    assert_eq!(full.payload, "full", "the default");
    let event = expect(
        stack
            .post(
                "/events",
                &acct.test_key,
                json!({ "type": "invoice:sent", "payload": { "id": "inv_42", "total": "99.00", "email": "a@b.c" } }),
            )
            .await,
        202,
    )
    .await;
    let delivery = receiver.wait_for("/thin", 1).await.remove(0);
    assert_eq!(
        delivery.json(),
        json!({
            "id": event["id"],
            "type": "invoice:sent",
            "created_at": event["created_at"],
            "resource": { "type": "invoice", "id": "inv_42" },
        })
    );
    harness::verify_standard(thin.secret.as_deref().unwrap(), &delivery).expect("signed as sent");
    let whole = receiver.wait_for("/full", 1).await.remove(0);
    assert_eq!(
        whole.json()["total"],
        "99.00",
        "the other endpoint gets the object"
    );
    let log = api.logs().get(delivery.header("webhook-id")).await;
    assert_eq!(
        log.payload,
        delivery.json(),
        "the log keeps the body as sent"
    );

    assert!(api.endpoints().test(&thin.id).await.delivered);
    let ping = receiver.wait_for("/thin", 2).await.remove(1);
    assert_eq!(ping.json()["type"], "webhook:ping");
    assert_eq!(
        ping.json()["resource"],
        Value::Null,
        "a ping is about nothing"
    );
    let back = api
        .endpoints()
        .update(&thin.id, json!({ "payload": "full" }))
        .await;
    assert_eq!(back.payload, "full");
}

/// The seed's `X-PushGuard-Signature` covers the body alone, so anyone who saw one
/// delivery can replay it: an endpoint whose receiver checks `webhook-signature` turns
/// it off, and its deliveries no longer carry it.
#[tokio::test]
async fn an_endpoint_can_turn_the_replayable_legacy_signature_off() {
    let stack = TestStack::start().await;
    let receiver = Receiver::start().await;
    let acct = stack.account("legacy-off@example.com").await;
    let key = &acct.test_key;
    stack
        .register_event_type(key, "invoice:sent", "An invoice went out")
        .await;
    let create = |path: &str, extra: Value| {
        let mut body = json!({ "url": receiver.url(path), "events": ["invoice:sent"] });
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        let stack = &stack;
        async move { expect(stack.post("/webhooks/endpoints", key, body).await, 201).await }
    };
    let legacy = create("/legacy", json!({})).await;
    assert_eq!(legacy["legacy_signature"], true, "on by default");
    let modern = create("/modern", json!({ "legacy_signature": false })).await;
    assert_eq!(modern["legacy_signature"], false);
    let refused = stack
        .post(
            "/webhooks/endpoints",
            key,
            json!({ "url": receiver.url("/x"), "events": ["*"], "legacy_signature": "no" }),
        )
        .await;
    assert_eq!(refused.status(), 400);

    let publish = || async {
        expect(
            stack
                .post(
                    "/events",
                    key,
                    json!({ "type": "invoice:sent", "payload": { "id": "inv_1" } }),
                )
                .await,
            202,
        )
        .await
    };
    publish().await;
    let old = receiver.wait_for("/legacy", 1).await.remove(0);
    let new = receiver.wait_for("/modern", 1).await.remove(0);
    assert_eq!(
        old.header("x-pushguard-signature").len(),
        128,
        "hex SHA-512"
    );
    assert!(
        !new.headers.contains_key("x-pushguard-signature"),
        "{:?}",
        new.headers
    );
    let secret = modern["secret"].as_str().unwrap();
    harness::verify_standard(secret, &new).expect("still signed, with a timestamp");

    // Turned off later on the other one: its next delivery goes without it too.
    let id = legacy["id"].as_str().unwrap();
    let updated = expect(
        stack
            .put(
                &format!("/webhooks/endpoints/{id}"),
                key,
                json!({ "legacy_signature": false }),
            )
            .await,
        200,
    )
    .await;
    assert_eq!(updated["legacy_signature"], false);
    publish().await;
    let later = receiver.wait_for("/legacy", 2).await.remove(1);
    assert!(!later.headers.contains_key("x-pushguard-signature"));
}
