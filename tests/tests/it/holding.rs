//! Holding companies: an account makes child accounts, and its keys act for them with
//! `X-Child-Company-Id` (Conekta's header; in the Key/Sign dialect, the body's
//! `account`), as the child's tenant with the key's scopes; never for anyone else's.

use super::dialects::{call, conekta, key_with, keysign, now_ms, signing_key};
use harness::{Receiver, TestStack, expect, status_and_json};
use reqwest::Method;
use serde_json::{Value, json};

const CHILD: &str = "X-Child-Company-Id";

/// `POST /account/children` with `key` → the child's id.
async fn child(stack: &TestStack, key: &str, email: &str) -> String {
    let made = expect(
        stack
            .post("/account/children", key, json!({ "email": email }))
            .await,
        201,
    )
    .await;
    made["id"].as_str().unwrap().to_string()
}

/// `method path` with `key` acting for `child` → status and body.
async fn as_child(
    stack: &TestStack,
    key: &str,
    child: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = call(stack, method, &format!("/api/v2{path}"), key).header(CHILD, child);
    if let Some(body) = body {
        request = request.json(&body);
    }
    status_and_json(request.send().await.unwrap()).await
}

/// The ids of a list answer.
fn ids(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap_or_else(|| panic!("not a list: {list}"))
        .iter()
        .map(|item| item["id"].as_str().unwrap().to_string())
        .collect()
}

const PRODUCT: fn() -> Value = || json!({ "title": "Shop product", "price": "5.00", "currency": "USD", "gateways": ["paypal"] });

#[tokio::test]
async fn a_holding_account_acts_for_its_children_and_for_no_one_else() {
    // Keys are read again on every request: a closed child's own key fails at once.
    let stack = TestStack::start_with(&[("AUTH_CACHE_TTL_SECONDS", "0")]).await;
    let holding = stack.account("holding@example.com").await;
    let other = stack.account("other-holding@example.com").await;
    let key = &holding.test_key;
    let shop_a = child(&stack, key, "shop-a@example.com").await;
    let shop_b = child(&stack, key, "shop-b@example.com").await;
    let theirs = child(&stack, &other.test_key, "their-shop@example.com").await;
    let listed = expect(stack.get("/account/children", key).await, 200).await;
    let mut listed = ids(&listed);
    listed.sort();
    let mut mine = vec![shop_a.clone(), shop_b.clone()];
    mine.sort();
    assert_eq!(listed, mine, "its children, not another holding's");

    // Acting for shop A: its tenant, not the parent's, not a sibling's.
    let (status, made) = as_child(
        &stack,
        key,
        &shop_a,
        Method::POST,
        "/products",
        Some(PRODUCT()),
    )
    .await;
    assert_eq!(status, 201, "{made}");
    let (_, in_a) = as_child(&stack, key, &shop_a, Method::GET, "/products", None).await;
    assert_eq!(ids(&in_a), [made["id"].as_str().unwrap()]);
    let (_, in_b) = as_child(&stack, key, &shop_b, Method::GET, "/products", None).await;
    assert_eq!(
        ids(&in_b),
        Vec::<String>::new(),
        "a sibling sees nothing of it"
    );
    let own = expect(stack.get("/products", key).await, 200).await;
    assert_eq!(
        ids(&own),
        Vec::<String>::new(),
        "nor does the parent itself"
    );
    let (_, me) = as_child(&stack, key, &shop_a, Method::GET, "/account", None).await;
    assert_eq!(
        (
            me["id"].as_str(),
            me["parent_id"].as_str(),
            me["key"]["account_id"].as_str()
        ),
        (
            Some(shop_a.as_str()),
            Some(holding.id.as_str()),
            Some(holding.id.as_str())
        ),
        "the tenant is the child's; the key is the parent's"
    );

    // Anyone else's account, or none: one answer, and nothing changes.
    for (who, target) in [
        (&other.test_key, shop_a.as_str()),
        (key, theirs.as_str()),
        (key, "acct_01J00000000000000000000000"),
        (key, "not-an-account"),
    ] {
        let (status, body) = as_child(
            &stack,
            who,
            target,
            Method::POST,
            "/products",
            Some(PRODUCT()),
        )
        .await;
        assert_eq!(
            (status, body["message"].as_str()),
            (404, Some("Account not found")),
            "{target}"
        );
    }
    let (_, in_a) = as_child(&stack, key, &shop_a, Method::GET, "/products", None).await;
    assert_eq!(ids(&in_a).len(), 1, "nothing was made in shop A");

    // The child's own keys (from the operator) see its data, and act for no one else.
    let db = &stack.stack.state.db;
    let (_, a_key) = pushguard::accounts::new_keys(db, &shop_a).await.unwrap();
    let (_, b_key) = pushguard::accounts::new_keys(db, &shop_b).await.unwrap();
    let (a_key, b_key) = (a_key.expose().to_string(), b_key.expose().to_string());
    let seen = expect(stack.get("/products", &a_key).await, 200).await;
    assert_eq!(ids(&seen), ids(&in_a), "what the parent made for it");
    for target in [holding.id.as_str(), shop_b.as_str()] {
        let (status, _) = as_child(&stack, &a_key, target, Method::GET, "/products", None).await;
        assert_eq!(
            status, 404,
            "a child acts for neither its parent nor a sibling"
        );
    }

    // The key's scopes go with it.
    let reader = key_with(&stack, key, &["products:read"]).await;
    let (status, _) = as_child(
        &stack,
        &reader,
        &shop_a,
        Method::POST,
        "/products",
        Some(PRODUCT()),
    )
    .await;
    assert_eq!(status, 403);
    let (status, _) = as_child(&stack, &reader, &shop_a, Method::GET, "/products", None).await;
    assert_eq!(status, 200);

    // A child's keys are its own: a request acting for it cannot see or make keys, and
    // a child has no children.
    for method in [Method::GET, Method::POST] {
        let body = (method == Method::POST).then(|| json!({ "name": "mine now", "scopes": ["*"] }));
        let (status, answer) = as_child(&stack, key, &shop_a, method, "/account/keys", body).await;
        assert_eq!(status, 403, "{answer}");
    }
    let (status, answer) = as_child(
        &stack,
        key,
        &shop_a,
        Method::POST,
        "/account/children",
        Some(json!({ "email": "grandchild@example.com" })),
    )
    .await;
    assert_eq!(status, 400, "{answer}");

    // What the child's tenant is charged: its own idempotency keys.
    let retried = |who: &'static str| {
        let stack = &stack;
        let shop_a = shop_a.clone();
        async move {
            let mut request = call(stack, Method::POST, "/api/v2/products", key)
                .header("Idempotency-Key", "same-key")
                .json(&json!({ "title": who, "price": "1.00", "currency": "USD", "gateways": ["paypal"] }));
            if who == "child" {
                request = request.header(CHILD, &shop_a);
            }
            status_and_json(request.send().await.unwrap()).await.0
        }
    };
    assert_eq!(
        (retried("parent").await, retried("child").await),
        (201, 201)
    );

    // Closed: no key acts for it any more.
    expect(
        stack
            .delete(&format!("/account/children/{shop_b}"), key)
            .await,
        204,
    )
    .await;
    let (status, _) = as_child(&stack, key, &shop_b, Method::GET, "/products", None).await;
    assert_eq!(status, 404);
    let (status, _) = status_and_json(stack.get("/products", &b_key).await).await;
    assert_eq!(status, 401, "its own keys end with it");
    let shown = expect(
        stack.get(&format!("/account/children/{shop_b}"), key).await,
        200,
    )
    .await;
    assert!(shown["closed_at"].is_string(), "{shown}");
    let (status, _) =
        status_and_json(stack.get(&format!("/account/children/{theirs}"), key).await).await;
    assert_eq!(status, 404, "another holding's child is not found");
}

#[tokio::test]
async fn the_dialects_act_for_a_child_by_header_and_by_the_key_sign_account() {
    let stack = TestStack::start().await;
    let holding = stack.account("dialect-holding@example.com").await;
    let key = &holding.test_key;
    let shop = child(&stack, key, "dialect-shop@example.com").await;

    // Conekta's own header, on Conekta's route.
    let created = conekta(&stack, Method::POST, "/webhooks", key)
        .header(CHILD, &shop)
        .json(&json!({ "url": "https://shop.example.com/conekta", "synchronous": false }))
        .send()
        .await
        .unwrap();
    let (status, body) = status_and_json(created).await;
    assert_eq!(status, 200, "{body}");
    let (_, in_shop) = as_child(&stack, key, &shop, Method::GET, "/webhooks/endpoints", None).await;
    assert_eq!(in_shop.as_array().unwrap().len(), 1, "{in_shop}");
    let own = expect(stack.get("/webhooks/endpoints", key).await, 200).await;
    assert_eq!(
        own.as_array().unwrap().len(),
        0,
        "the holding's own stay empty"
    );

    // Key/Sign: the signed body's account is the child.
    let signer = signing_key(&stack, key).await;
    let body = json!({ "account": shop, "timestamp": now_ms(), "url": "https://shop.example.com/keysign" });
    let (status, channel) = keysign(
        &stack,
        Method::POST,
        "/api/v1/subscription/webhook/create",
        &signer,
        body,
    )
    .await;
    assert_eq!(status, 200, "{channel}");
    let (_, in_shop) = as_child(&stack, key, &shop, Method::GET, "/webhooks/endpoints", None).await;
    assert_eq!(in_shop.as_array().unwrap().len(), 2);
    let stranger = stack.account("keysign-stranger@example.com").await;
    let body =
        json!({ "account": stranger.id, "timestamp": now_ms(), "url": "https://x.example.com/k" });
    let (status, _) = keysign(
        &stack,
        Method::POST,
        "/api/v1/subscription/webhook/create",
        &signer,
        body,
    )
    .await;
    assert_eq!(status, 404, "not a child of the key's account");
}

#[tokio::test]
async fn a_holding_endpoint_receives_its_childrens_events_when_it_asks_for_them() {
    let stack = TestStack::start_with(&super::commerce::FAST).await;
    let receiver = Receiver::start().await;
    let holding = stack.account("events-holding@example.com").await;
    let key = &holding.test_key;
    let shop = child(&stack, key, "events-shop@example.com").await;
    let sibling = child(&stack, key, "events-sibling@example.com").await;
    let endpoint = |path: &str, from: Value| json!({ "url": receiver.url(path), "events": ["order:paid"], "events_from": from });
    let both = expect(
        stack
            .post(
                "/webhooks/endpoints",
                key,
                endpoint("/both", json!(["self", "children"])),
            )
            .await,
        201,
    )
    .await;
    assert_eq!(both["events_from"], json!(["self", "children"]));
    let own = expect(
        stack
            .post("/webhooks/endpoints", key, endpoint("/own", json!(null)))
            .await,
        201,
    )
    .await;
    assert_eq!(own["events_from"], json!(["self"]), "the default");
    let (status, bad) = status_and_json(
        stack
            .post("/webhooks/endpoints", key, endpoint("/none", json!([])))
            .await,
    )
    .await;
    assert_eq!(status, 400, "{bad}");
    let (status, _) = as_child(
        &stack,
        key,
        &sibling,
        Method::POST,
        "/webhooks/endpoints",
        Some(endpoint("/sibling", json!(["self"]))),
    )
    .await;
    assert_eq!(status, 201);

    // The shop's order is paid: the holding endpoint that asked hears of it, naming the shop.
    let payment = json!({ "title": "Shop order", "gateway": "paypal", "value": "9.00", "currency": "USD",
                          "email": "buyer@example.com", "white_label": true });
    let (_, order) = as_child(
        &stack,
        key,
        &shop,
        Method::POST,
        "/payments",
        Some(payment.clone()),
    )
    .await;
    let path = format!("/orders/{}", order["id"].as_str().unwrap());
    let (status, _) = as_child(
        &stack,
        key,
        &shop,
        Method::PUT,
        &path,
        Some(json!({ "status": 100 })),
    )
    .await;
    assert_eq!(status, 200);
    let delivered = receiver.wait_for("/both", 1).await;
    assert_eq!(delivered[0].header("x-pushguard-event"), "order:paid");
    assert_eq!(delivered[0].header("x-pushguard-account"), shop);
    assert_eq!(delivered[0].json()["id"], order["id"]);

    // The holding's own order reaches both of its endpoints, without the header.
    let mine = expect(stack.post("/payments", key, payment).await, 201).await;
    expect(
        stack
            .put(
                &format!("/orders/{}", mine["id"].as_str().unwrap()),
                key,
                json!({ "status": 100 }),
            )
            .await,
        200,
    )
    .await;
    let both_now = receiver.wait_for("/both", 2).await;
    let own_now = receiver.wait_for("/own", 1).await;
    assert_eq!(both_now[1].header("x-pushguard-account"), "");
    assert_eq!(own_now[0].json()["id"], mine["id"]);
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(
        receiver.received("/own").len(),
        1,
        "self only: not the shop's"
    );
    assert_eq!(
        receiver.received("/sibling").len(),
        0,
        "a sibling hears nothing of it"
    );

    // The holding's log and event name the shop; the shop's own event is untouched.
    let logs = expect(stack.get("/webhooks/logs?event=order:paid", key).await, 200).await;
    let forwarded: Vec<&Value> = logs
        .as_array()
        .unwrap()
        .iter()
        .filter(|log| log["account"] == json!(shop))
        .collect();
    assert_eq!(forwarded.len(), 1, "{logs}");
    let event_id = forwarded[0]["event_id"].as_str().unwrap();
    let event = expect(stack.get(&format!("/events/{event_id}"), key).await, 200).await;
    assert_eq!(event["from_account"], json!(shop));
    let (_, in_shop) = as_child(
        &stack,
        key,
        &shop,
        Method::GET,
        &format!("/events/{event_id}"),
        None,
    )
    .await;
    assert_eq!(
        in_shop["from_account"],
        Value::Null,
        "the shop's event is its own"
    );
}

#[tokio::test]
async fn a_child_is_charged_for_what_is_done_for_it() {
    // A small bucket: three requests, then one a second.
    let stack =
        TestStack::start_with(&[("RATE_LIMIT_PER_SECOND", "1"), ("RATE_LIMIT_BURST", "3")]).await;
    let holding = stack.account("charged-holding@example.com").await;
    let key = &holding.test_key;
    let shop = child(&stack, key, "charged-shop@example.com").await;
    let mut own = Vec::new();
    for _ in 0..4 {
        own.push(status_and_json(stack.get("/products", key).await).await.0);
    }
    assert_eq!(
        own.last(),
        Some(&429),
        "the holding's own bucket is empty: {own:?}"
    );
    let (status, _) = as_child(&stack, key, &shop, Method::GET, "/products", None).await;
    assert_eq!(
        status, 200,
        "acting for the shop draws on the shop's bucket"
    );
}
