//! HTTP conventions shared by every route: content negotiation, body limits, JSON errors.

use harness::{TestStack, expect, header, status_and_json};
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn accept_headers_that_exclude_json_get_406() {
    let stack = TestStack::start().await;
    let acct = stack.account("accept@example.com").await;
    for accept in ["text/html", "application/xml", "application/json;q=0"] {
        let response = stack
            .request(Method::GET, "/account", &acct.test_key)
            .header("accept", accept)
            .send()
            .await
            .unwrap();
        let body = expect(response, 406).await;
        assert!(
            body["message"]
                .as_str()
                .unwrap()
                .contains("application/json")
        );
    }
    for accept in [
        "application/json",
        "*/*",
        "text/html, application/json;q=0.5",
    ] {
        let response = stack
            .request(Method::GET, "/account", &acct.test_key)
            .header("accept", accept)
            .send()
            .await
            .unwrap();
        expect(response, 200).await;
    }
}

#[tokio::test]
async fn bodies_must_be_json_and_small() {
    let stack = TestStack::start().await;
    let acct = stack.account("bodies@example.com").await;
    let form = stack
        .request(Method::POST, "/webhooks/endpoints", &acct.test_key)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("url=https://example.com&events=*")
        .send()
        .await
        .unwrap();
    expect(form, 415).await;
    let no_type = stack
        .request(Method::POST, "/webhooks/endpoints", &acct.test_key)
        .body("{}")
        .send()
        .await
        .unwrap();
    expect(no_type, 415).await;

    let broken = stack
        .request(Method::POST, "/webhooks/endpoints", &acct.test_key)
        .header("content-type", "application/json")
        .body("{\"url\": ")
        .send()
        .await
        .unwrap();
    let body = expect(broken, 400).await;
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .starts_with("Invalid JSON body")
    );

    let huge = json!({ "url": "https://example.com/big", "events": ["*"], "description": "x".repeat(300 * 1024) });
    let (status, body) = status_and_json(
        stack
            .post("/webhooks/endpoints", &acct.test_key, huge)
            .await,
    )
    .await;
    assert_eq!(
        (status, body["message"].as_str()),
        (413, Some("Request body is larger than 256 KiB"))
    );
    let listed = stack.get("/webhooks/endpoints", &acct.test_key).await;
    assert_eq!(
        header(&listed, "x-total-count").as_deref(),
        Some("0"),
        "refused bodies change nothing"
    );
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_in_json() {
    let stack = TestStack::start().await;
    let acct = stack.account("routes@example.com").await;
    let body = expect(stack.get("/nope", &acct.test_key).await, 404).await;
    assert_eq!(body, json!({ "message": "Route not found" }));
    let response = stack
        .request(Method::PATCH, "/webhooks/endpoints", &acct.test_key)
        .send()
        .await
        .unwrap();
    assert_eq!(
        header(&response, "content-type").as_deref(),
        Some("application/json")
    );
    let allow = header(&response, "allow").unwrap_or_default();
    assert!(allow.contains("GET") && allow.contains("POST"), "{allow}");
    expect(response, 405).await;
}

#[tokio::test]
async fn unauthenticated_responses_say_how_to_authenticate() {
    let stack = TestStack::start().await;
    let response = stack
        .anonymous(Method::GET, "/webhooks/endpoints")
        .send()
        .await
        .unwrap();
    assert!(
        header(&response, "www-authenticate")
            .unwrap()
            .starts_with("Basic")
    );
    expect(response, 401).await;
}

/// `POST` with an `Idempotency-Key` header.
fn idempotent(
    stack: &TestStack,
    path: &str,
    key: &str,
    idempotency_key: &str,
    body: serde_json::Value,
) -> reqwest::RequestBuilder {
    stack
        .request(Method::POST, path, key)
        .header("idempotency-key", idempotency_key)
        .json(&body)
}

async fn total(stack: &TestStack, path: &str, key: &str) -> u64 {
    let response = stack.get(path, key).await;
    let count = header(&response, "x-total-count").unwrap().parse().unwrap();
    expect(response, 200).await;
    count
}

#[tokio::test]
async fn a_repeated_post_with_an_idempotency_key_gets_the_first_response_and_changes_nothing() {
    let stack = TestStack::start().await;
    let acct = stack.account("idempotent@example.com").await;
    let key = &acct.test_key;
    let body = json!({ "url": "https://example.com/hooks", "events": ["*"] });

    let first = idempotent(
        &stack,
        "/webhooks/endpoints",
        key,
        "create-hooks-1",
        body.clone(),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(header(&first, "idempotent-replayed"), None);
    let created = expect(first, 201).await;
    let again = idempotent(
        &stack,
        "/webhooks/endpoints",
        key,
        "create-hooks-1",
        body.clone(),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(
        header(&again, "idempotent-replayed").as_deref(),
        Some("true")
    );
    assert_eq!(
        header(&again, "content-type").as_deref(),
        Some("application/json")
    );
    assert_eq!(
        expect(again, 201).await,
        created,
        "the first response, secret included"
    );
    assert_eq!(total(&stack, "/webhooks/endpoints", key).await, 1);

    // The same key with another body, path or API key is another request: 422.
    let other = json!({ "url": "https://example.com/other", "events": ["*"] });
    let reused = idempotent(&stack, "/webhooks/endpoints", key, "create-hooks-1", other)
        .send()
        .await
        .unwrap();
    let refused = expect(reused, 422).await;
    assert!(
        refused["message"]
            .as_str()
            .unwrap()
            .contains("Idempotency-Key")
    );
    let second_key = expect(
        stack
            .post(
                "/account/keys",
                key,
                json!({ "name": "second", "scopes": ["*"] }),
            )
            .await,
        201,
    )
    .await["key"]
        .as_str()
        .unwrap()
        .to_string();
    let by_another_key = idempotent(
        &stack,
        "/webhooks/endpoints",
        &second_key,
        "create-hooks-1",
        body.clone(),
    )
    .send()
    .await
    .unwrap();
    expect(by_another_key, 422).await;
    assert_eq!(total(&stack, "/webhooks/endpoints", key).await, 1);

    // Keys belong to a tenant: live mode has its own.
    let live = idempotent(
        &stack,
        "/webhooks/endpoints",
        &acct.live_key,
        "create-hooks-1",
        body,
    )
    .send()
    .await
    .unwrap();
    assert_eq!(header(&live, "idempotent-replayed"), None);
    expect(live, 201).await;

    // What is kept is sealed: the stored item holds neither the secret nor the id.
    let items = stack
        .stack
        .state
        .db
        .client()
        .scan()
        .table_name(&stack.stack.state.config.tables.requests)
        .send()
        .await
        .unwrap()
        .items
        .unwrap_or_default();
    let kept: Vec<_> = items
        .iter()
        .filter(|item| item["id"].as_s().unwrap().starts_with("idem#"))
        .collect();
    assert_eq!(kept.len(), 2, "one per tenant: {kept:?}");
    for item in kept {
        let stored = format!("{item:?}");
        assert!(
            !stored.contains("create-hooks-1"),
            "the key is stored hashed"
        );
        let response = item["sealed_response"].as_b().unwrap().as_ref();
        let secret = created["secret"].as_str().unwrap().as_bytes();
        let id = created["id"].as_str().unwrap().as_bytes();
        for clear in [secret, id] {
            assert!(!response.windows(clear.len()).any(|w| w == clear), "sealed");
        }
    }
}

#[tokio::test]
async fn idempotency_keys_must_be_printable_and_a_failed_request_frees_its_key() {
    let stack = TestStack::start().await;
    let acct = stack.account("idempotent-bad@example.com").await;
    let key = &acct.test_key;
    let body = json!({ "url": "https://example.com/hooks", "events": ["*"] });
    for bad in [String::new(), "k".repeat(256)] {
        let response = idempotent(&stack, "/webhooks/endpoints", key, &bad, body.clone())
            .send()
            .await
            .unwrap();
        let refused = expect(response, 400).await;
        assert!(
            refused["message"]
                .as_str()
                .unwrap()
                .contains("Idempotency-Key")
        );
    }
    assert_eq!(total(&stack, "/webhooks/endpoints", key).await, 0);

    // A request refused for what it sent kept nothing: fixed, it may use the key again.
    let invalid = json!({ "url": "not a url", "events": ["*"] });
    let response = idempotent(&stack, "/webhooks/endpoints", key, "fix-me", invalid)
        .send()
        .await
        .unwrap();
    expect(response, 400).await;
    let response = idempotent(&stack, "/webhooks/endpoints", key, "fix-me", body.clone())
        .send()
        .await
        .unwrap();
    expect(response, 201).await;
    // Other methods ignore the header.
    let response = stack
        .request(Method::GET, "/webhooks/endpoints", key)
        .header("idempotency-key", "fix-me")
        .send()
        .await
        .unwrap();
    assert_eq!(header(&response, "idempotent-replayed"), None);
    expect(response, 200).await;
}

#[tokio::test]
async fn concurrent_requests_with_one_idempotency_key_make_one_order_and_one_event() {
    let stack = TestStack::start().await;
    let acct = stack.account("idempotent-race@example.com").await;
    let key = &acct.test_key;
    let body = json!({
        "title": "Once", "gateway": "paypal", "value": "25.00", "currency": "USD",
        "email": "customer@example.com", "white_label": true
    });
    const SENT: usize = 12;
    let responses = futures::future::join_all((0..SENT).map(|_| async {
        let response = idempotent(&stack, "/payments", key, "pay-once", body.clone())
            .send()
            .await
            .unwrap();
        let replayed = header(&response, "idempotent-replayed").is_some();
        let (status, body) = status_and_json(response).await;
        (status, replayed, body)
    }))
    .await;
    let created: Vec<_> = responses.iter().filter(|(s, _, _)| *s == 201).collect();
    let in_progress = responses.iter().filter(|(s, _, _)| *s == 409).count();
    let replayed = created.iter().filter(|(_, r, _)| *r).count();
    println!(
        "{SENT} concurrent requests with one key: {} created, {replayed} of them replayed, {in_progress} in progress (409)",
        created.len()
    );
    assert_eq!(
        created.len() + in_progress,
        SENT,
        "only 201 or 409: {responses:?}"
    );
    assert_eq!(created.len() - replayed, 1, "exactly one request ran");
    let id = &created[0].2["id"];
    assert!(created.iter().all(|(_, _, body)| &body["id"] == id));
    assert_eq!(total(&stack, "/orders", key).await, 1);
    let events = expect(stack.get("/events?type=order:created", key).await, 200).await;
    assert_eq!(events.as_array().unwrap().len(), 1, "{events}");

    // Once it is done, every repeat is a replay of the one order.
    let response = idempotent(&stack, "/payments", key, "pay-once", body)
        .send()
        .await
        .unwrap();
    assert_eq!(
        header(&response, "idempotent-replayed").as_deref(),
        Some("true")
    );
    assert_eq!(&expect(response, 201).await["id"], id);
}
