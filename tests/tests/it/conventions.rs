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
    let body = stack
        .refuses(Method::GET, "/nope", &acct.test_key, None, 404)
        .await;
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
    assert_eq!(stack.total("/webhooks/endpoints", key).await, 1);

    // The same key with another body or path is another request: 422.
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
    // Keys belong to the API key that sent them: another key's request with the same
    // text is its own, neither a replay nor refused for the key (its URL exists: 409).
    assert_eq!(header(&by_another_key, "idempotent-replayed"), None);
    let refused = expect(by_another_key, 409).await;
    assert_eq!(
        refused["message"],
        "An endpoint with this URL already exists"
    );
    assert_eq!(stack.total("/webhooks/endpoints", key).await, 1);

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
    let items = stack.requests_items().await;
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
    assert_eq!(stack.total("/webhooks/endpoints", key).await, 0);

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

/// An `Idempotency-Key` belongs to the API key that sent it: another key of the same
/// tenant sending the same text makes a request of its own (before, it got 422 for 24
/// hours: one key could squat another's).
#[tokio::test]
async fn an_idempotency_key_belongs_to_the_api_key_that_sent_it() {
    let stack = TestStack::start().await;
    let acct = stack.account("idem-scope@example.com").await;
    let other = stack
        .api(&acct.test_key)
        .account()
        .create_key(json!({ "name": "second", "scopes": ["*"] }))
        .await;
    let post = |key: String, scope: &'static str| {
        let stack = &stack;
        async move {
            stack
                .request(Method::POST, "/portal/sessions", &key)
                .header("idempotency-key", "same-text")
                .json(&json!({ "scope": scope }))
                .send()
                .await
                .unwrap()
        }
    };
    let first = expect(post(acct.test_key.clone(), "read").await, 201).await;
    let second = expect(post(other.key.clone(), "manage").await, 201).await;
    assert_ne!(first["id"], second["id"]);
    let repeat = post(acct.test_key.clone(), "read").await;
    assert_eq!(
        header(&repeat, "idempotent-replayed").as_deref(),
        Some("true")
    );
    assert_eq!(expect(repeat, 201).await["id"], first["id"]);
}

/// Creating a portal link and replaying an event mark the request's Idempotency-Key in
/// the same write as their change: if the function died right after it, the key says
/// the change was made, and a repeat does not make it again.
#[tokio::test]
async fn a_portal_link_and_a_replay_mark_their_idempotency_key_in_the_same_write() {
    use shared::store::requests::{self, Claim, HeldKey, Progress};
    use std::time::Duration;
    let stack = TestStack::start().await;
    let acct = stack.account("idem-marked@example.com").await;
    let db = &stack.stack.state.db;
    let tenant = acct.tenant(shared::Mode::Test);
    stack
        .register_event_type(&acct.test_key, "shop:marked", "A test")
        .await;
    let event = expect(
        stack
            .post(
                "/events",
                &acct.test_key,
                json!({ "type": "shop:marked", "payload": { "id": "x" } }),
            )
            .await,
        202,
    )
    .await;
    let event_id: shared::ids::EventId = event["id"].as_str().unwrap().parse().unwrap();
    let link_id = shared::ids::PortalSessionId::new();
    let session = shared::portal::PortalSession {
        id: link_id.clone(),
        tenant: tenant.clone(),
        scope: shared::portal::PortalScope::Read,
        created_by: "key_x".into(),
        key_hash: "0".repeat(64),
        created_at: shared::Timestamp::now(),
        expires_at: shared::Timestamp::now().plus(Duration::from_secs(600)),
        token_hash: "1".repeat(64),
        cookie_hash: None,
        opened_at: None,
    };
    let claim = |id: String, token: &'static str, lease: Duration| async move {
        let keep = Duration::from_secs(3600);
        requests::claim_idempotency(db, &id, "fingerprint", token, lease, keep)
            .await
            .unwrap()
    };
    for name in ["portal-link", "replay"] {
        let id = format!("idem#{}#marked#{name}", tenant.partition());
        let claimed = claim(id.clone(), "token", Duration::from_millis(1)).await;
        assert!(matches!(claimed, Claim::Held));
        let held = HeldKey::new(id.clone(), "token".into());
        // The handler's change, and then the function "dies": no response is kept.
        match name {
            "portal-link" => held
                .clone()
                .hold(shared::store::portal::create(db, &session))
                .await
                .unwrap(),
            _ => {
                let replayed = held
                    .clone()
                    .hold(shared::store::events::start_replay(db, &tenant, &event_id))
                    .await
                    .unwrap();
                assert_eq!(replayed.unwrap().replays, 1);
            }
        }
        assert!(held.committed(), "{name}: marked by its own write");
        tokio::time::sleep(Duration::from_millis(5)).await;
        // Past the lease, a repeat finds the change made, not a key to take over.
        let repeat = claim(id.clone(), "another", Duration::from_secs(60)).await;
        assert!(
            matches!(&repeat, Claim::Taken(record) if record.progress == Progress::Committed),
            "{name}: {repeat:?}"
        );
    }
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
    assert_eq!(stack.total("/orders", key).await, 1);
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

/// Sends `count` requests, at most `concurrency` at once, each from `request(n)`; the
/// responses' statuses, `Retry-After`s and `RateLimit-Remaining`s.
/// Checks that of requests sent all at once, `size` (a full bucket) and at most a
/// refill's few more were allowed and the rest refused; gives how many were allowed.
fn assert_burst_admitted(seen: &[(u16, Option<u64>, Option<u64>)], size: usize) -> usize {
    let statuses: Vec<u16> = seen.iter().map(|(s, _, _)| *s).collect();
    let allowed = statuses.iter().filter(|s| **s == 200).count();
    assert!(
        (size..seen.len()).contains(&allowed),
        "the burst of {size} goes, not all: {statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| [200, 429].contains(s)),
        "{statuses:?}"
    );
    allowed
}

async fn burst(
    count: usize,
    concurrency: usize,
    request: impl Fn(usize) -> reqwest::RequestBuilder,
) -> Vec<(u16, Option<u64>, Option<u64>)> {
    use futures::StreamExt;
    futures::stream::iter((0..count).map(|n| {
        let request = request(n);
        async move {
            let response = request.send().await.unwrap();
            let number = |name: &str| header(&response, name).map(|v| v.parse().unwrap());
            let seen = (
                response.status().as_u16(),
                number("retry-after"),
                number("ratelimit-remaining"),
            );
            if seen.0 == 429 {
                let body = expect(response, 429).await;
                assert_eq!(body, json!({ "message": "Too many requests" }));
            }
            seen
        }
    }))
    .buffered(concurrency)
    .collect()
    .await
}

#[tokio::test]
async fn a_tenant_past_its_rate_limit_gets_429_with_retry_after_across_every_function() {
    let stack =
        TestStack::start_with(&[("RATE_LIMIT_PER_SECOND", "10"), ("RATE_LIMIT_BURST", "40")]).await;
    let acct = stack.account("limited@example.com").await;
    let key = &acct.test_key;

    // Every response says where the caller stands.
    let response = stack.get("/account", key).await;
    for name in [
        "ratelimit-limit",
        "ratelimit-remaining",
        "ratelimit-reset",
        "ratelimit-policy",
    ] {
        assert!(header(&response, name).is_some(), "{name} missing");
    }
    assert_eq!(header(&response, "ratelimit-limit").as_deref(), Some("40"));
    assert_eq!(
        header(&response, "ratelimit-policy").as_deref(),
        Some("40;w=4")
    );
    expect(response, 200).await;

    // One bucket for the tenant, whichever function (and so instance) answers.
    let paths = [
        "/webhooks/endpoints",
        "/events",
        "/products",
        "/orders",
        "/account",
    ];
    let started = std::time::Instant::now();
    let seen = burst(150, 8, |n| {
        stack.request(Method::GET, paths[n % paths.len()], key)
    })
    .await;
    let elapsed = started.elapsed().as_secs_f64();
    let allowed = seen.iter().filter(|(s, _, _)| *s == 200).count();
    let refused: Vec<_> = seen.iter().filter(|(s, _, _)| *s == 429).collect();
    // Each of the five functions may hold one unspent batch (2 tokens at 10/s).
    let most = 40.0 + 10.0 * elapsed + 5.0 * 2.0;
    println!(
        "150 requests over {} functions in {elapsed:.2} s: {allowed} allowed (at most {most:.0}), {} refused",
        paths.len(),
        refused.len()
    );
    assert_eq!(allowed + refused.len(), 150, "only 200 or 429: {seen:?}");
    assert!(
        allowed as f64 <= most,
        "{allowed} allowed, more than {most:.0}"
    );
    assert!(allowed >= 39 - 1, "the burst was admitted: {allowed}");
    assert!(!refused.is_empty());
    for (_, retry_after, remaining) in &refused {
        assert!(
            matches!(retry_after, Some(1..=4)),
            "Retry-After {retry_after:?}"
        );
        assert_eq!(*remaining, Some(0));
    }

    // Another tenant (the same account's live mode) has its own bucket.
    expect(stack.get("/account", &acct.live_key).await, 200).await;
    // After Retry-After, requests go through again.
    let wait = refused.iter().filter_map(|(_, r, _)| *r).max().unwrap();
    tokio::time::sleep(std::time::Duration::from_secs(wait)).await;
    expect(stack.get("/account", key).await, 200).await;
}

#[tokio::test]
async fn routes_that_send_webhooks_now_and_payment_pages_have_their_own_lower_limits() {
    let stack = TestStack::start_with(&[
        ("OUTBOUND_RATE_LIMIT_PER_SECOND", "1"),
        ("OUTBOUND_RATE_LIMIT_BURST", "3"),
        ("PAGE_RATE_LIMIT_PER_SECOND", "1"),
        ("PAGE_RATE_LIMIT_BURST", "4"),
    ])
    .await;
    let receiver = harness::Receiver::start().await;
    let acct = stack.account("outbound@example.com").await;
    let key = &acct.test_key;
    let endpoints = stack.api(key).endpoints();
    let endpoint = endpoints.create_to(&receiver.url("/ping"), &["*"]).await;
    let test = format!("/webhooks/endpoints/{}/test", endpoint.id);
    // All at once: one at a time, a loaded machine takes a second per test delivery and
    // the bucket refills between them.
    let seen = burst(6, 6, |_| stack.request(Method::POST, &test, key)).await;
    let allowed = assert_burst_admitted(&seen, 3);
    assert_eq!(
        receiver.received("/ping").len(),
        allowed,
        "a refused test sends nothing"
    );
    // The tenant's other routes are not held back by its outbound bucket.
    expect(stack.get("/webhooks/endpoints", key).await, 200).await;

    let order = expect(
        stack
            .post(
                "/payments",
                key,
                json!({ "title": "Page", "gateway": "paypal", "value": "5.00", "currency": "USD",
                        "email": "customer@example.com", "white_label": true }),
            )
            .await,
        201,
    )
    .await;
    let status_url = format!("{}/status", order["url"].as_str().unwrap());
    let seen = burst(7, 7, |_| stack.http.get(&status_url)).await;
    assert_burst_admitted(&seen, 4);
    assert!(
        seen.iter().any(|(s, _, left)| *s == 200 && left.is_some()),
        "the page says what is left too"
    );
}

/// The rate limiter fails open (it protects the store; it does not stand in for it),
/// except on the routes that make PushGuard send requests to third parties: with the
/// requests table gone, listing still works, a test ping is refused with 503 and sends
/// nothing, and both are counted.
#[tokio::test]
async fn when_the_rate_limit_cannot_be_checked_routes_that_send_webhooks_refuse() {
    let stack = TestStack::start().await;
    let receiver = harness::Receiver::start().await;
    let acct = stack.account("unchecked@example.com").await;
    let key = &acct.test_key;
    let endpoint = stack
        .api(key)
        .endpoints()
        .create_to(&receiver.url("/ping"), &["*"])
        .await;
    let before = unchecked_lines();
    stack
        .stack
        .state
        .db
        .client()
        .delete_table()
        .table_name(&stack.stack.state.config.tables.requests)
        .send()
        .await
        .unwrap();
    // A key the instances have not seen: its buckets must be asked for.
    let fresh = stack
        .api(key)
        .account()
        .create_key(json!({ "name": "fresh", "scopes": ["*"] }))
        .await;
    expect(stack.get("/webhooks/endpoints", &fresh.key).await, 200).await;
    let test = format!("/webhooks/endpoints/{}/test", endpoint.id);
    let refused = stack
        .request(Method::POST, &test, &fresh.key)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 503);
    assert!(receiver.received("/ping").is_empty(), "nothing sent");
    let after = unchecked_lines();
    for bucket in ["api", "outbound"] {
        let counted =
            |lines: &[serde_json::Value]| lines.iter().filter(|l| l["Bucket"] == bucket).count();
        assert!(
            counted(&after) > counted(&before),
            "{bucket} counted: {after:?}"
        );
    }
}

/// The `RateLimitUnchecked` metric lines written so far.
fn unchecked_lines() -> Vec<serde_json::Value> {
    shared::metrics::recent()
        .iter()
        .map(|line| serde_json::from_str::<serde_json::Value>(line).unwrap())
        .filter(|line| line.get("RateLimitUnchecked").is_some())
        .collect()
}

/// Any JSON value, nested up to four levels: what a careless or hostile client sends.
fn any_json() -> impl proptest::strategy::Strategy<Value = serde_json::Value> {
    use proptest::prelude::*;
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        any::<u64>().prop_map(serde_json::Value::from),
        any::<f64>()
            .prop_filter("JSON numbers are finite", |f| f.is_finite())
            .prop_map(serde_json::Value::from),
        ".{0,40}".prop_map(serde_json::Value::from),
        "[0-9]{1,40}(\\.[0-9]{1,10})?".prop_map(serde_json::Value::from),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(serde_json::Value::from),
            proptest::collection::btree_map(".{0,12}", inner, 0..6)
                .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A body for a route with these fields: each absent, good (the first plausible value),
/// another plausible one, or anything at all, plus now and then a field nobody expects.
fn body_for(
    fields: &'static [(&'static str, &'static [&'static str])],
) -> impl proptest::strategy::Strategy<Value = serde_json::Value> {
    use proptest::prelude::*;
    let per_field: Vec<_> = fields
        .iter()
        .map(|(name, plausible)| {
            let plausible: Vec<serde_json::Value> = plausible
                .iter()
                .map(|p| serde_json::from_str(p).unwrap_or_else(|_| serde_json::Value::from(*p)))
                .collect();
            let good = plausible[0].clone();
            prop_oneof![
                1 => Just(None),
                14 => Just(Some(good)),
                3 => proptest::sample::select(plausible).prop_map(Some),
                2 => any_json().prop_map(Some),
            ]
            .prop_map(move |value| value.map(|v| (name.to_string(), v)))
        })
        .collect();
    (
        per_field,
        proptest::option::weighted(0.1, (".{1,12}", any_json())),
    )
        .prop_map(|(values, extra)| {
            let mut body: serde_json::Map<String, serde_json::Value> =
                values.into_iter().flatten().collect();
            if let Some((name, value)) = extra {
                body.insert(name, value);
            }
            serde_json::Value::Object(body)
        })
}

type Fields = &'static [(&'static str, &'static [&'static str])];

/// Each create route, the list it adds to, and its fields with plausible values (JSON
/// text, or a bare string).
const CREATE_ROUTES: [(&str, &str, Fields); 10] = [
    (
        "/webhooks/endpoints",
        "/webhooks/endpoints",
        &[
            (
                "url",
                // Deliveries stay on this machine (nothing listens on port 9).
                &["http://127.0.0.1:9/hook", "http://127.0.0.1:9/x", "ftp://x"],
            ),
            (
                "events",
                &[r#"["*"]"#, r#"["order:paid"]"#, "[]", r#"["nope:nope"]"#],
            ),
            ("description", &["ERP", ""]),
            ("enabled", &["true", "false"]),
            ("headers", &[r#"{"x-team":"erp"}"#, r#"{"Host":"x"}"#]),
            ("filter", &[r#""status == 100""#, r#""status ==""#]),
        ],
    ),
    (
        "/products",
        "/products",
        &[
            ("title", &["Product", ""]),
            ("price", &[r#""9.99""#, "10", r#""-1""#]),
            ("currency", &["USD", "usd", "XXXX"]),
            ("gateways", &[r#"["paypal"]"#, "[]"]),
            ("stock", &["3", r#""∞""#, "-2"]),
            ("product_type", &["1", "2", "9"]),
            ("info", &["KEY-1,KEY-2"]),
            ("webhook_url", &["http://127.0.0.1:9/p"]),
        ],
    ),
    (
        "/categories",
        "/categories",
        &[
            ("title", &["Category"]),
            ("product_ids", &["[]", r#"["prd_x"]"#]),
            ("unlisted", &["true"]),
        ],
    ),
    (
        "/blacklists",
        "/blacklists",
        &[
            ("blacklist_type", &["1", "2", "3", "4"]),
            (
                "blocked_data",
                &["a@b.co", "10.0.0.0/8", "US", "::ffff:1.2.3.4"],
            ),
            ("note", &["fraud"]),
        ],
    ),
    (
        "/blacklist-rules",
        "/blacklist-rules",
        &[
            ("name", &["rule"]),
            ("rule", &[r#""country == \"US\"""#, r#""(((""#]),
            ("action_type", &["block", "allow", "flag", "other"]),
            ("priority", &["1", "0", "100000"]),
            ("enabled", &["true"]),
        ],
    ),
    (
        "/queries",
        "/queries",
        &[
            ("title", &["Where is my order"]),
            ("email", &["c@example.com", "nope"]),
            ("message", &["Hello"]),
        ],
    ),
    (
        "/event-types",
        "/event-types",
        &[
            ("name", &["invoice:sent", "order:paid", "Bad Name"]),
            ("description", &["An invoice went out"]),
        ],
    ),
    (
        "/payments",
        "/orders",
        &[
            ("title", &["Consulting"]),
            ("gateway", &["paypal", "bitcoin", "cash"]),
            ("value", &[r#""25.00""#, "25", r#""0""#]),
            ("currency", &["USD"]),
            ("email", &["c@example.com"]),
            ("white_label", &["true"]),
            ("quantity", &["1", "0"]),
            ("ip_address", &["1.2.3.4", "1.2.3"]),
        ],
    ),
    (
        "/events",
        "/events",
        &[
            ("type", &["invoice:sent", "order:paid"]),
            ("payload", &[r#"{"id":"inv_1"}"#, "[]"]),
        ],
    ),
    (
        "/account/keys",
        "/account/keys",
        &[
            ("name", &["ci"]),
            (
                "scopes",
                &[r#"["webhooks:read"]"#, r#"["*"]"#, r#"["nope"]"#],
            ),
            ("require_signed", &["true", "false"]),
        ],
    ),
];

#[tokio::test]
async fn any_json_body_gets_a_4xx_or_a_2xx_never_a_5xx_and_a_4xx_changes_nothing() {
    use futures::StreamExt;
    use proptest::strategy::{Strategy, ValueTree};
    const CASES: usize = 48;
    let stack =
        TestStack::start_with(&[("RATE_LIMIT_PER_SECOND", "0"), ("MAX_ENDPOINTS", "1000")]).await;
    let acct = stack.account("fuzz@example.com").await;
    let key = &acct.test_key;
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let mut summary = Vec::new();
    for (create, list, fields) in CREATE_ROUTES {
        let before = stack.total(list, key).await;
        let bodies: Vec<serde_json::Value> = (0..CASES)
            .map(|_| body_for(fields).new_tree(&mut runner).unwrap().current())
            .collect();
        let outcomes: Vec<(u16, serde_json::Value, serde_json::Value)> =
            futures::stream::iter(bodies)
                .map(|body| {
                    let stack = &stack;
                    async move {
                        let response = stack.post(create, key, body.clone()).await;
                        let (status, answer) = status_and_json(response).await;
                        (status, body, answer)
                    }
                })
                .buffered(8)
                .collect()
                .await;
        for (status, body, answer) in &outcomes {
            assert!(
                matches!(status, 200..=299 | 400 | 403 | 404 | 409 | 422),
                "POST {create} answered {status} {answer} to {body}"
            );
            if *status >= 400 {
                assert!(
                    answer["message"].is_string(),
                    "{status} without a message: {answer}"
                );
            }
        }
        let made = outcomes
            .iter()
            .filter(|(s, _, _)| (200..300).contains(s))
            .count();
        let after = stack.total(list, key).await;
        assert_eq!(
            after,
            before + made as u64,
            "POST {create}: {made} succeeded, but the list went from {before} to {after}"
        );
        summary.push(format!("{create} {made}/{CASES}"));
    }
    println!("accepted per route: {}", summary.join(", "));
}

#[tokio::test]
async fn the_openapi_document_is_generated_from_the_code_and_covers_every_route() {
    assert!(
        account::OPENAPI == pushguard::openapi::json(),
        "openapi.json differs from what the code generates: run `make openapi` and commit it"
    );
    let document: serde_json::Value = serde_json::from_str(account::OPENAPI).unwrap();
    assert_eq!(document["openapi"], "3.1.0");
    let paths = document["paths"].as_object().unwrap();
    let template = pushguard::template::Template::parse(pushguard::template::BUNDLED).unwrap();
    let routes = template.http_routes();
    for (function, method, path) in &routes {
        let operation = &paths
            .get(path)
            .unwrap_or_else(|| panic!("{function}'s {method} {path} is not documented"))
            [method.to_lowercase()];
        assert!(operation.is_object(), "{method} {path} is not documented");
        assert!(operation["responses"].is_object());
    }
    // And nothing documented that API Gateway does not route.
    let documented: usize = paths
        .values()
        .map(|item| item.as_object().unwrap().len())
        .sum();
    assert_eq!(
        documented,
        routes.len(),
        "every documented operation is a template route"
    );
    for scheme in ["basic", "bearer", "apiKey"] {
        assert!(document["components"]["securitySchemes"][scheme].is_object());
    }
    let create = &paths["/api/v2/webhooks/endpoints"]["post"];
    let parameters = create["parameters"].to_string();
    assert!(parameters.contains("Idempotency-Key"), "{parameters}");
    assert_eq!(
        create["responses"]["201"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/EndpointView"
    );
    assert_eq!(
        create["responses"]["422"]["$ref"],
        "#/components/responses/Unprocessable"
    );

    // Served without a key.
    let stack = TestStack::start().await;
    let response = stack
        .anonymous(Method::GET, "/openapi.json")
        .send()
        .await
        .unwrap();
    assert_eq!(
        header(&response, "content-type").as_deref(),
        Some("application/json")
    );
    assert_eq!(expect(response, 200).await, document);
}

#[tokio::test]
async fn an_id_of_another_kind_or_none_at_all_is_not_found_by_the_name_of_what_was_asked_for() {
    use shared::ids::{EndpointId, EventId, LogId, OrderId, ProductId};
    let stack = TestStack::start().await;
    let acct = stack.account("kinds@example.com").await;
    let key = &acct.test_key;
    let event = EventId::new();
    let endpoint = EndpointId::new();
    let cases = [
        (
            Method::GET,
            format!("/webhooks/endpoints/{event}"),
            "Endpoint",
        ),
        (
            Method::GET,
            format!("/webhooks/endpoints/{endpoint}"),
            "Endpoint",
        ),
        (
            Method::POST,
            format!("/webhooks/endpoints/{endpoint}x/enable"),
            "Endpoint",
        ),
        (
            Method::GET,
            format!("/webhooks/logs/{endpoint}"),
            "Webhook log",
        ),
        (
            Method::GET,
            format!("/webhooks/logs/{}", LogId::new()),
            "Webhook log",
        ),
        (
            Method::POST,
            "/webhooks/logs/log_..%2F..%2Fx/retry".to_string(),
            "Webhook log",
        ),
        (Method::GET, format!("/events/{}", OrderId::new()), "Event"),
        (
            Method::GET,
            format!("/products/{}", OrderId::new()),
            "Product",
        ),
        (
            Method::DELETE,
            format!("/products/{}", ProductId::new()),
            "Product",
        ),
        (Method::GET, "/orders/ord_".to_string(), "Order"),
        (
            Method::DELETE,
            format!("/account/keys/{}", acct.id),
            "API key",
        ),
    ];
    for (method, path, name) in cases {
        let (status, body) = status_and_json(
            stack
                .request(method.clone(), &path, key)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(
            (status, body),
            (404, json!({ "message": format!("{name} not found") })),
            "{method} {path}"
        );
    }
}
