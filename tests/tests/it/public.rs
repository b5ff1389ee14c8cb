//! The routes anyone may call without a key (the payment page, portal links, an
//! account's public keys): one caller cannot starve another, made-up tokens cost no
//! write, and no number a client sends breaks a request.

use harness::{TestStack, expect};
use reqwest::{Method, StatusCode};
use std::{collections::BTreeMap, net::IpAddr, sync::Arc};

/// A client that connects from `address` (any of 127/8 is this machine), so the stack
/// sees it as its own client.
fn client_from(address: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(address.parse::<IpAddr>().unwrap())
        .redirect(reqwest::redirect::Policy::none())
        .use_preconfigured_tls(shared::tls::delivery_config())
        .build()
        .unwrap()
}

async fn statuses(client: &reqwest::Client, url: &str, times: usize) -> BTreeMap<u16, usize> {
    let mut seen = BTreeMap::new();
    for _ in 0..times {
        let status = client.get(url).send().await.unwrap().status().as_u16();
        *seen.entry(status).or_default() += 1;
    }
    seen
}

/// DynamoDB writes in a snapshot of calls.
fn writes(calls: &BTreeMap<String, u64>) -> u64 {
    calls
        .iter()
        .filter(|(name, _)| {
            [
                "PutItem",
                "UpdateItem",
                "DeleteItem",
                "TransactWriteItems",
                "BatchWriteItem",
            ]
            .iter()
            .any(|op| name.as_str() == format!("DynamoDB.{op}"))
        })
        .map(|(_, n)| n)
        .sum()
}

fn since(before: &BTreeMap<String, u64>, after: &BTreeMap<String, u64>) -> BTreeMap<String, u64> {
    after
        .iter()
        .map(|(name, n)| (name.clone(), n - before.get(name).copied().unwrap_or(0)))
        .filter(|(_, n)| *n > 0)
        .collect()
}

/// A stack whose AWS calls are counted, each client allowed a burst of 5 at 1 a second.
async fn counted_stack() -> (TestStack, Arc<shared::aws::CallCounter>) {
    let counter = Arc::new(shared::aws::CallCounter::default());
    let settings = [
        ("CLIENT_RATE_LIMIT_PER_SECOND", "1"),
        ("CLIENT_RATE_LIMIT_BURST", "5"),
    ];
    let stack = TestStack::start_counted(&settings, Some(counter.clone()), 2).await;
    (stack, counter)
}

/// A new payment's hosted page, made with `key`.
async fn payment_page(stack: &TestStack, key: &str) -> String {
    let created = expect(
        stack
            .post(
                "/payments",
                key,
                serde_json::json!({
                    "title": "Sticker", "gateway": "Bitcoin", "value": 3.00,
                    "currency": "USD", "email": "buyer@example.com"
                }),
            )
            .await,
        201,
    )
    .await;
    created["url"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn one_caller_flooding_an_accounts_public_keys_does_not_starve_its_receivers() {
    let (stack, counter) = counted_stack().await;
    let acct = stack.account("public-keys-flood@example.com").await;
    let url = stack.url(&format!("/webhooks/public-keys/{}", acct.id));

    let before = counter.snapshot_of("WebhookEndpointsFunction");
    let flood = statuses(&client_from("127.0.0.2"), &url, 40).await;
    println!("one caller's 40 requests: {flood:?}");
    assert_eq!(flood.get(&200), Some(&5), "its own burst: {flood:?}");
    assert_eq!(flood.get(&429), Some(&35), "{flood:?}");

    // Before: one bucket per account, shared by every caller; the flood emptied it
    // and every receiver of the account got 429.
    let receiver = client_from("127.0.0.3");
    let answer = receiver.get(&url).send().await.unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    let cache = answer.headers()["cache-control"]
        .to_str()
        .unwrap()
        .to_string();
    assert_eq!(cache, "public, max-age=300");
    let keys: serde_json::Value = answer.json().await.unwrap();
    assert_eq!(keys["account_id"], acct.id.as_str());

    // 41 requests, one read of the account (the instance keeps it a minute), no write.
    let calls = since(&before, &counter.snapshot_of("WebhookEndpointsFunction"));
    println!("their AWS calls: {calls:?}");
    assert_eq!(calls.get("DynamoDB.GetItem"), Some(&1), "{calls:?}");
    assert_eq!(writes(&calls), 0, "{calls:?}");

    // An id that is no account's, or not an id: 404, the same for both.
    for path in ["acct_01JZZZZZZZZZZZZZZZZZZZZZZZ", "nobody"] {
        let url = stack.url(&format!("/webhooks/public-keys/{path}"));
        let response = client_from("127.0.0.4").get(&url).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
    }
}

#[tokio::test]
async fn made_up_payment_and_portal_tokens_cost_no_write_and_each_client_is_limited() {
    let (stack, counter) = counted_stack().await;
    let acct = stack.account("public-tokens@example.com").await;
    let base = stack.stack.base_url();
    let guessed_payment = format!("{base}/pay/{}", "x".repeat(43));
    let guessed_link = format!(
        "{base}/portal/pgps_{}_{}",
        shared::ids::PortalSessionId::new(),
        "y".repeat(43)
    );

    let before = counter.snapshot();
    let guesser = client_from("127.0.0.5");
    let pay = statuses(&guesser, &guessed_payment, 5).await;
    let portal = statuses(&guesser, &guessed_link, 5).await;
    println!("made-up tokens: /pay {pay:?}, /portal {portal:?}");
    assert_eq!(pay, BTreeMap::from([(404, 5)]));
    assert_eq!(portal, BTreeMap::from([(401, 5)]));
    let calls = since(&before, &counter.snapshot());
    println!("their AWS calls: {calls:?}");
    // Before: each made-up token had a rate-limit bucket made for it, one write each.
    assert_eq!(writes(&calls), 0, "{calls:?}");

    // Past its burst the guesser is refused before any read.
    let before = counter.snapshot();
    let refused = statuses(&guesser, &guessed_payment, 5).await;
    assert_eq!(refused, BTreeMap::from([(429, 5)]));
    let calls = since(&before, &counter.snapshot());
    assert_eq!(calls.get("DynamoDB.GetItem"), None, "{calls:?}");

    // A real payment's page still opens for another visitor.
    let page = &payment_page(&stack, &acct.test_key).await;
    let visitor = client_from("127.0.0.6");
    assert_eq!(visitor.get(page).send().await.unwrap().status(), 200);
    let status = visitor.get(format!("{page}/status")).send().await.unwrap();
    assert_eq!(status.status(), 200);
}

/// Every number a client sends in a header or a parameter, at its extremes: a clear
/// answer, never a 5xx or a dropped connection.
#[tokio::test]
async fn the_extremes_of_every_numeric_header_and_parameter_get_a_clear_answer() {
    let stack = TestStack::start().await;
    let acct = stack.account("extremes@example.com").await;
    let signing = stack
        .api(&acct.test_key)
        .account()
        .create_key(serde_json::json!({
            "name": "signs", "scopes": ["*"], "require_signed": true
        }))
        .await;
    let extremes = [
        "-9223372036854775808",
        "9223372036854775807",
        "-9223372036854775809",
        "18446744073709551616",
        "0",
        "-0",
        "-1",
        "1e400",
        "NaN",
        "",
    ];
    for value in extremes {
        // A signed request's timestamp (the finding: i64::MIN panicked here).
        let response = stack
            .request(Method::GET, "/account", &signing.key)
            .header("X-PushGuard-Timestamp", value)
            .header("X-PushGuard-Sign", "00")
            .send()
            .await
            .unwrap_or_else(|e| panic!("timestamp {value:?}: no answer: {e}"));
        assert_eq!(response.status(), 401, "timestamp {value:?}");
        for (path, query) in [
            ("/products", "page"),
            ("/products", "per_page"),
            ("/orders", "page"),
            ("/webhooks/logs", "per_page"),
            ("/webhooks/endpoints", "page"),
        ] {
            let path = format!("{path}?{query}={}", urlencoding(value));
            let response = stack.get(&path, &acct.test_key).await;
            let status = response.status().as_u16();
            assert!(
                status == 200 || status == 400,
                "{path}: {status} {}",
                response.text().await.unwrap()
            );
        }
        // Numbers in bodies, where a client's number becomes a duration, a rate or a
        // time: each a 400 or a success, never a 5xx.
        let number = if value.is_empty() { "null" } else { value };
        for (path, body) in [
            (
                "/portal/sessions",
                format!(r#"{{"scope":"read","expires_in":{number}}}"#),
            ),
            (
                "/account/webhook-secret/rotate",
                format!(r#"{{"grace_period_seconds":{number}}}"#),
            ),
            (
                "/webhooks/endpoints",
                format!(
                    r#"{{"url":"https://example.com/x{}","events":["*"],"rate_limit":{number}}}"#,
                    value.len()
                ),
            ),
        ] {
            let response = stack
                .request(Method::POST, path, &acct.test_key)
                .header("content-type", "application/json")
                .body(body.clone())
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            assert!(
                (200..300).contains(&status) || (400..500).contains(&status),
                "{path} {body}: {status}"
            );
        }
        // Conekta's `limit`, through its dialect.
        let response = stack
            .http
            .get(format!(
                "{}/webhooks?limit={}",
                stack.stack.base_url(),
                urlencoding(value)
            ))
            .bearer_auth(&acct.test_key)
            .send()
            .await
            .unwrap();
        assert!(response.status().as_u16() < 500, "limit {value:?}");
    }
    // Key/Sign's signed body carries its own timestamp: the extremes are only late.
    for timestamp in ["-9223372036854775808", "9223372036854775807"] {
        let body = format!(r#"{{"timestamp":{timestamp}}}"#);
        let response = stack
            .http
            .post(format!(
                "{}/api/v1/subscription/webhook",
                stack.stack.base_url()
            ))
            .header("Key", &signing.key)
            .header("Sign", "00")
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap_or_else(|e| panic!("Key/Sign timestamp {timestamp}: no answer: {e}"));
        assert!(
            response.status().as_u16() < 500,
            "Key/Sign timestamp {timestamp}: {}",
            response.status()
        );
    }
}

fn urlencoding(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// A test-mode payment page says so on the page, so it cannot pass for a real one; a
/// live one does not.
#[tokio::test]
async fn a_test_mode_payment_page_says_it_is_not_a_real_payment() {
    let stack = TestStack::start().await;
    let acct = stack.account("test-mode-page@example.com").await;
    for (key, shown) in [(&acct.test_key, true), (&acct.live_key, false)] {
        let page = client_from("127.0.0.7")
            .get(payment_page(&stack, key).await)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert_eq!(
            page.contains(r#"id="test-mode""#) && page.contains("not a real payment"),
            shown,
            "{page}"
        );
    }
}
