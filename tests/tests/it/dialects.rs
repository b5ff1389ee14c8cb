//! The seeds' other webhook APIs, replayed as their documents write them (paths,
//! headers, bodies; the host is the local stack's), and receivers written the way each
//! vendor tells a merchant to write one, getting real deliveries caused through the
//! canonical API.

use harness::{Receiver, TestStack, eventually, expect, status_and_json, verify_standard};
use reqwest::{Method, RequestBuilder};
use serde_json::{Value, json};

const FAST: [(&str, &str); 3] = [
    ("RETRY_SCHEDULE", "1s,1s,1s"),
    ("RETRY_JITTER", "0"),
    ("PENDING_EVENT_GRACE_SECONDS", "1"),
];

/// A request to `path` as the vendor's client sends it: the local stack as the host.
pub(crate) fn call(stack: &TestStack, method: Method, path: &str, key: &str) -> RequestBuilder {
    stack
        .http
        .request(method, format!("{}{path}", stack.stack.base_url()))
        .bearer_auth(key)
}

/// Sends `request` and asserts its status: its JSON body.
async fn answer(request: RequestBuilder, status: u16) -> Value {
    expect(request.send().await.unwrap(), status).await
}

/// Sends `request`: its status and JSON body.
async fn status_of(request: RequestBuilder) -> (u16, Value) {
    status_and_json(request.send().await.unwrap()).await
}

/// A key of the account with only `scopes`.
pub(crate) async fn key_with(stack: &TestStack, key: &str, scopes: &[&str]) -> String {
    let body = json!({ "name": "narrow", "scopes": scopes, "mode": "test" });
    let created = expect(stack.post("/account/keys", key, body).await, 201).await;
    created["key"].as_str().unwrap().to_string()
}

/// A white-label payment's order, then paid through the canonical API: the order's
/// `order:created`, `order:updated` and `order:paid` events.
async fn paid_order(stack: &TestStack, key: &str) -> Value {
    let order = expect(
        stack
            .post(
                "/payments",
                key,
                json!({
                    "title": "Licence", "gateway": "paypal", "value": "25.00", "currency": "USD",
                    "email": "customer@example.com", "white_label": true
                }),
            )
            .await,
        201,
    )
    .await;
    let id = order["id"].as_str().unwrap();
    expect(
        stack
            .put(&format!("/orders/{id}"), key, json!({ "status": 100 }))
            .await,
        200,
    )
    .await
}

/// Python's hmac module over the raw body: the check Pixlpay's documents give.
fn python_hmac_sha256(secret: &str, body: &[u8]) -> String {
    use std::io::Write;
    let mut child = std::process::Command::new("python3")
        .args(["-c", "import hmac,hashlib,sys; print(hmac.new(sys.argv[1].encode(), sys.stdin.buffer.read(), hashlib.sha256).hexdigest())", secret])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python3 runs");
    child.stdin.take().unwrap().write_all(body).unwrap();
    let output = child.wait_with_output().unwrap();
    String::from_utf8(output.stdout).unwrap().trim().to_string()
}

fn keys(object: &Value) -> Vec<&str> {
    let mut keys: Vec<&str> = object
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort();
    keys
}

#[tokio::test]
async fn pixlpays_documented_calls_answer_as_its_documents_show() {
    let stack = TestStack::start().await;
    let acct = stack.account("pixlpay@example.com").await;
    let key = &acct.test_key;
    let api = |method, path: &str| call(&stack, method, path, key);

    // List Webhooks: the envelope, empty.
    let listed = answer(
        api(Method::GET, "/api/external/v1/webhooks").header("Accept", "application/json"),
        200,
    )
    .await;
    assert_eq!(listed, json!({ "success": true, "data": [] }));

    // Create Webhook, the seed's body verbatim.
    let seed_body = json!({
        "url": "https://yourapp.com/webhooks/pixlpay",
        "events": ["order.created", "order.paid", "order.completed"]
    });
    let created = answer(
        api(Method::POST, "/api/external/v1/webhooks").json(&seed_body),
        201,
    )
    .await;
    assert_eq!(keys(&created), ["data", "message", "success"]);
    assert_eq!(created["success"], true);
    assert_eq!(created["message"], "Webhook created successfully");
    let webhook = &created["data"];
    assert_eq!(
        keys(webhook),
        ["created_at", "events", "id", "is_active", "secret", "url"]
    );
    assert_eq!(webhook["id"], 1, "integer ids, from 1");
    assert_eq!(webhook["url"], "https://yourapp.com/webhooks/pixlpay");
    assert_eq!(
        webhook["events"],
        json!(["order.created", "order.paid", "order.completed"])
    );
    assert_eq!(webhook["is_active"], true);
    assert!(webhook["secret"].as_str().unwrap().starts_with("whsec_"));

    // The same endpoint through PushGuard's own API, which says where it came from.
    let canonical = expect(stack.get("/webhooks/endpoints", key).await, 200).await;
    assert_eq!(canonical.as_array().unwrap().len(), 1);
    assert_eq!(canonical[0]["dialect"], "pixlpay");
    assert_eq!(
        canonical[0]["events"],
        json!(["order:created", "order:paid", "order:completed"])
    );

    // The same portal: the endpoint's page says which API made it.
    let link = stack.portal_link(key, "read").await;
    let opened = stack.http.get(&link).send().await.unwrap();
    let cookie = opened.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let id = canonical[0]["id"].as_str().unwrap();
    let page = stack
        .http
        .get(format!("{}/portal/endpoints/{id}", stack.stack.base_url()))
        .header("Cookie", cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    // As a browser reads it: the page escapes every apostrophe of its text.
    assert!(
        harness::unescape_html(&page).contains(r#"<dd id="dialect">Pixlpay's webhooks API"#),
        "{page}"
    );

    // Get Single Webhook: no secret again.
    let one = answer(api(Method::GET, "/api/external/v1/webhooks/1"), 200).await;
    assert_eq!(one["data"]["id"], 1);
    assert!(
        one["data"].get("secret").is_none(),
        "the secret is shown once"
    );

    // Update Webhook, the seed's body verbatim.
    let updated = answer(
        api(Method::PUT, "/api/external/v1/webhooks/1").json(&json!({
            "url": "https://newurl.com/webhooks",
            "events": ["order.created"],
            "is_active": false
        })),
        200,
    )
    .await;
    assert_eq!(updated["success"], true);
    assert_eq!(updated["data"]["url"], "https://newurl.com/webhooks");
    assert_eq!(updated["data"]["events"], json!(["order.created"]));
    assert_eq!(updated["data"]["is_active"], false);

    // 422 for an invalid URL or events, every problem listed, nothing changed.
    let (status, refused) = status_of(
        api(Method::PUT, "/api/external/v1/webhooks/1")
            .json(&json!({ "url": "ftp://nowhere", "events": ["order.shipped"] })),
    )
    .await;
    assert_eq!(status, 422, "{refused}");
    assert_eq!(refused["success"], false);
    let errors = refused["errors"].to_string();
    assert!(
        errors.contains("order.shipped") && errors.contains("Url"),
        "{errors}"
    );
    let unchanged = answer(api(Method::GET, "/api/external/v1/webhooks/1"), 200).await;
    assert_eq!(unchanged["data"], updated["data"]);
    let (status, _) = status_of(
        api(Method::POST, "/api/external/v1/webhooks")
            .json(&json!({ "url": "https://yourapp.com/other" })),
    )
    .await;
    assert_eq!(status, 422, "events are required");

    // 401 without a token, 403 for a token without the scope, 404 for no such webhook
    // (another tenant's number included).
    let anonymous = stack
        .http
        .get(format!(
            "{}/api/external/v1/webhooks",
            stack.stack.base_url()
        ))
        .send()
        .await
        .unwrap();
    let (status, body) = status_and_json(anonymous).await;
    assert_eq!((status, body["success"].clone()), (401, json!(false)));
    let reader = key_with(&stack, key, &["webhooks:read"]).await;
    let (status, body) = status_of(
        call(&stack, Method::POST, "/api/external/v1/webhooks", &reader).json(&seed_body),
    )
    .await;
    assert_eq!((status, body["success"].clone()), (403, json!(false)));
    let other = stack.account("pixlpay-other@example.com").await;
    for path in ["/api/external/v1/webhooks/1", "/api/external/v1/webhooks/x"] {
        let (status, body) = status_of(call(&stack, Method::GET, path, &other.test_key)).await;
        assert_eq!(
            (status, body["success"].clone()),
            (404, json!(false)),
            "{path}"
        );
    }

    // An Idempotency-Key holds here as on every POST: the first answer again, nothing new.
    let idempotent = || {
        api(Method::POST, "/api/external/v1/webhooks")
            .header("Idempotency-Key", "pixlpay-create-1")
            .json(&json!({ "url": "https://yourapp.com/idempotent", "events": ["order.paid"] }))
    };
    let first = answer(idempotent(), 201).await;
    let again = idempotent().send().await.unwrap();
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(expect(again, 201).await, first);
    let listed = answer(api(Method::GET, "/api/external/v1/webhooks"), 200).await;
    assert_eq!(listed["data"].as_array().unwrap().len(), 2);
    answer(
        api(
            Method::DELETE,
            &format!("/api/external/v1/webhooks/{}", first["data"]["id"]),
        ),
        200,
    )
    .await;

    // Delete Webhook; numbers are never reused.
    let deleted = answer(api(Method::DELETE, "/api/external/v1/webhooks/1"), 200).await;
    assert_eq!(
        deleted,
        json!({ "success": true, "message": "Webhook deleted successfully" })
    );
    let again = answer(
        api(Method::POST, "/api/external/v1/webhooks").json(&seed_body),
        201,
    )
    .await;
    assert_eq!(again["data"]["id"], 3, "1 and 2 were taken");
    let (status, _) = status_of(api(Method::GET, "/api/external/v1/webhooks/1")).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn a_pixlpay_receiver_verifies_its_deliveries_and_the_test_route_reports() {
    let stack = TestStack::start_with(&FAST).await;
    let receiver = Receiver::start().await;
    let acct = stack.account("pixlpay-receiver@example.com").await;
    let key = &acct.test_key;
    let created = answer(
        call(&stack, Method::POST, "/api/external/v1/webhooks", key)
            .json(&json!({ "url": receiver.url("/pixlpay"), "events": ["order.paid"] })),
        201,
    )
    .await;
    let secret = created["data"]["secret"].as_str().unwrap().to_string();

    let tested = answer(
        call(
            &stack,
            Method::POST,
            "/api/external/v1/webhooks/1/test",
            key,
        ),
        200,
    )
    .await;
    assert_eq!(tested["success"], true);
    assert_eq!(tested["message"], "Test webhook delivered successfully");
    assert_eq!(
        keys(&tested["data"]),
        ["delivered", "response_code", "response_time_ms"]
    );
    assert_eq!(tested["data"]["delivered"], true);
    assert_eq!(tested["data"]["response_code"], 200);
    let ping = receiver.wait_for("/pixlpay", 1).await.remove(0);
    assert_eq!(ping.json()["event_type"], "webhook.ping");

    let order = paid_order(&stack, key).await;
    let delivery = receiver.wait_for("/pixlpay", 2).await.remove(1);
    // The receiver Pixlpay's documents describe: HMAC-SHA256 of the raw body with the
    // secret, in X-Pixlpay-Signature (X-Webhook-Signature too), compared in constant time.
    let expected = python_hmac_sha256(&secret, &delivery.body);
    assert_eq!(delivery.header("x-pixlpay-signature"), expected);
    assert_eq!(delivery.header("x-webhook-signature"), expected);
    assert_ne!(python_hmac_sha256("whsec_other", &delivery.body), expected);
    assert_eq!(delivery.header("x-webhook-event"), "order.paid");
    verify_standard(&secret, &delivery).expect("the Standard Webhooks headers verify too");
    let body = delivery.json();
    assert_eq!(keys(&body), ["created_at", "data", "event_type", "id"]);
    assert_eq!(body["event_type"], "order.paid");
    assert_eq!(body["id"], delivery.header("x-webhook-id"));
    assert_eq!(body["data"]["id"], order["id"]);
    assert_eq!(body["data"]["status"], 100);
    // The log shows the request as sent, but not its body-only signatures, which
    // whoever reads the log could otherwise replay.
    let logged = eventually("the delivery is logged", || async {
        let logs = expect(
            stack
                .get("/webhooks/logs?event=order:paid&status=succeeded", key)
                .await,
            200,
        )
        .await;
        logs.as_array().unwrap().first().cloned()
    })
    .await;
    let sent = &logged["request_headers"];
    assert_eq!(sent["x-pixlpay-signature"], "****", "{sent}");
    assert_eq!(sent["x-webhook-signature"], "****");
    assert_eq!(sent["x-webhook-event"], "order.paid");
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(
        receiver.received("/pixlpay").len(),
        2,
        "subscribed to order.paid only: the order's created and updated events are not sent"
    );
}

const CONEKTA: &str = "application/vnd.conekta-v2.1.0+json";

/// A request as Conekta's generated clients send it.
pub(crate) fn conekta(stack: &TestStack, method: Method, path: &str, key: &str) -> RequestBuilder {
    call(stack, method, path, key)
        .header("Accept", CONEKTA)
        .header("Accept-Language", "es")
}

#[tokio::test]
async fn conektas_documented_calls_answer_as_its_client_reads_them() {
    let stack = TestStack::start_with(&FAST).await;
    let receiver = Receiver::start().await;
    let acct = stack.account("conekta@example.com").await;
    let key = &acct.test_key;
    let api = |method, path: &str| conekta(&stack, method, path, key);

    // create_webhook, the seed's request verbatim but for the receiver.
    let created = answer(
        api(Method::POST, "/webhooks")
            .json(&json!({ "url": receiver.url("/conekta"), "synchronous": false })),
        200,
    )
    .await;
    assert_eq!(
        keys(&created),
        [
            "deleted",
            "development_enabled",
            "id",
            "livemode",
            "object",
            "production_enabled",
            "status",
            "subscribed_events",
            "synchronous",
            "url"
        ]
    );
    assert_eq!(created["object"], "webhook");
    assert_eq!(created["status"], "listening");
    assert_eq!(created["livemode"], false, "a test key's webhook");
    assert_eq!(
        (
            created["development_enabled"].clone(),
            created["production_enabled"].clone()
        ),
        (json!(true), json!(false))
    );
    assert_eq!(created["synchronous"], false);
    assert_eq!(created["deleted"], false);
    let events = created["subscribed_events"].as_array().unwrap();
    assert!(
        events.contains(&json!("order.paid")),
        "every event without subscribed_events"
    );
    let id = created["id"].as_str().unwrap().to_string();
    let canonical = expect(
        stack.get(&format!("/webhooks/endpoints/{id}"), key).await,
        200,
    )
    .await;
    assert_eq!(canonical["dialect"], "conekta");
    assert_eq!(canonical["events"], json!(["*"]));

    // get_webhook, update_webhook (the seed's WebhookUpdateRequest), test_webhook.
    let got = answer(api(Method::GET, &format!("/webhooks/{id}")), 200).await;
    assert_eq!(got, created);
    let updated = answer(
        api(Method::PUT, &format!("/webhooks/{id}"))
            .header("X-Child-Company-Id", acct.id.to_string())
            .json(&json!({ "url": receiver.url("/conekta-2"), "events": ["order.paid"] })),
        200,
    )
    .await;
    assert_eq!(updated["url"], receiver.url("/conekta-2"));
    assert_eq!(updated["subscribed_events"], json!(["order.paid"]));
    let tested = answer(api(Method::POST, &format!("/webhooks/{id}/test")), 200).await;
    assert_eq!(tested["id"], id.as_str());
    let ping = receiver.wait_for("/conekta-2", 1).await.remove(0);
    let ping = ping.json();
    assert_eq!(
        (ping["object"].clone(), ping["type"].clone()),
        (json!("event"), json!("webhook.ping"))
    );

    // A receiver as Conekta's documents have merchants write one: it reads the event's
    // type and the object under data.object.
    let order = paid_order(&stack, key).await;
    let delivery = receiver.wait_for("/conekta-2", 2).await.remove(1);
    let event = delivery.json();
    assert_eq!(event["object"], "event");
    assert_eq!(event["type"], "order.paid");
    assert_eq!(event["livemode"], false);
    assert!(event["created_at"].is_i64(), "unix seconds");
    assert_eq!(event["data"]["object"]["id"], order["id"]);
    let logged = eventually("the delivery is logged as Conekta's event", || async {
        let logs = expect(
            stack
                .get(
                    &format!("/webhooks/logs?endpoint_id={id}&event=order:paid"),
                    key,
                )
                .await,
            200,
        )
        .await;
        logs.as_array().unwrap().first().cloned()
    })
    .await;
    assert_eq!(logged["payload"]["type"], "order.paid");

    // delete_webhook answers the deleted webhook.
    let deleted = answer(api(Method::DELETE, &format!("/webhooks/{id}")), 200).await;
    assert_eq!(deleted["deleted"], true);
    assert_eq!(deleted["id"], id.as_str());
    let (status, missing) = status_of(api(Method::GET, &format!("/webhooks/{id}"))).await;
    assert_eq!(status, 404);
    assert_eq!(missing["object"], "error");
    assert_eq!(missing["type"], "resource_not_found_error");
    assert_eq!(
        missing["details"][0]["message"],
        "El recurso no ha sido encontrado."
    );
}

#[tokio::test]
async fn conekta_lists_page_by_cursor_and_its_errors_are_conektas_in_the_callers_language() {
    let stack = TestStack::start().await;
    let acct = stack.account("conekta-list@example.com").await;
    let key = &acct.test_key;
    let api = |method, path: &str| conekta(&stack, method, path, key);
    let mut ids = Vec::new();
    for n in 0..3 {
        let created = answer(api(Method::POST, "/webhooks")
                .json(&json!({ "url": format!("https://hooks.example.com/{n}"), "synchronous": false, "subscribed_events": ["order.paid"] })), 200).await;
        ids.push(created["id"].as_str().unwrap().to_string());
    }
    ids.reverse(); // newest first

    let first = answer(api(Method::GET, "/webhooks?limit=2"), 200).await;
    assert_eq!(first["object"], "list");
    assert_eq!(first["has_more"], true);
    let page: Vec<&str> = first["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["id"].as_str().unwrap())
        .collect();
    assert_eq!(page, [ids[0].as_str(), ids[1].as_str()]);
    assert_eq!(first["previous_page_url"], Value::Null);
    let next = first["next_page_url"].as_str().unwrap();
    assert!(
        next.ends_with(&format!("/webhooks?limit=2&next={}", ids[1])),
        "{next}"
    );
    let path = &next[next.find("/webhooks").unwrap()..];
    let second = answer(api(Method::GET, path), 200).await;
    assert_eq!(second["has_more"], false);
    assert_eq!(second["data"][0]["id"], ids[2].as_str());
    assert_eq!(second["next_page_url"], Value::Null);
    let previous = second["previous_page_url"].as_str().unwrap();
    let path = &previous[previous.find("/webhooks").unwrap()..];
    let back = answer(api(Method::GET, path), 200).await;
    assert_eq!(back["data"], first["data"]);
    let filtered = answer(api(Method::GET, "/webhooks?url=example.com/1"), 200).await;
    assert_eq!(filtered["data"].as_array().unwrap().len(), 1);
    let searched = answer(
        api(Method::GET, &format!("/webhooks?search={}", ids[2])),
        200,
    )
    .await;
    assert_eq!(searched["data"][0]["id"], ids[2].as_str());

    // Bad input: Conekta's error object, Spanish by default, English when asked, and
    // nothing created.
    let (status, error) = status_of(api(Method::POST, "/webhooks").json(
        &json!({ "url": "not a url", "synchronous": true, "subscribed_events": ["charge.paid"] }),
    ))
    .await;
    assert_eq!(status, 400, "{error}");
    assert_eq!(error["object"], "error");
    assert_eq!(error["type"], "parameter_validation_error");
    let details = error["details"].as_array().unwrap();
    assert_eq!(details.len(), 3, "{error}");
    let params: Vec<&str> = details
        .iter()
        .map(|d| d["param"].as_str().unwrap())
        .collect();
    assert!(
        params.contains(&"url")
            && params.contains(&"synchronous")
            && params.contains(&"subscribed_events"),
        "{params:?}"
    );
    assert_eq!(details[0]["message"], "Los datos enviados no son válidos.");
    assert!(
        details
            .iter()
            .any(|d| d["debug_message"].as_str().unwrap().contains("charge.paid"))
    );
    let listed = answer(api(Method::GET, "/webhooks"), 200).await;
    assert_eq!(
        listed["data"].as_array().unwrap().len(),
        3,
        "nothing was created"
    );
    let (status, error) = status_and_json(
        call(&stack, Method::GET, "/webhooks?limit=251", key)
            .header("Accept", CONEKTA)
            .header("Accept-Language", "en-US,en;q=0.9")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(
        error["details"][0]["message"],
        "The data sent is not valid."
    );

    // Another version of Conekta's API: 406 naming the one served.
    let (status, error) = status_of(
        call(&stack, Method::GET, "/webhooks", key)
            .header("Accept", "application/vnd.conekta-v2.0.0+json"),
    )
    .await;
    assert_eq!(status, 406);
    assert!(
        error["details"][0]["debug_message"]
            .as_str()
            .unwrap()
            .contains(CONEKTA),
        "{error}"
    );

    // A bad key, and a company that is not the caller's.
    let (status, error) =
        status_of(conekta(&stack, Method::GET, "/webhooks", "pg_test_nope")).await;
    assert_eq!(
        (status, error["type"].clone()),
        (401, json!("authentication_error"))
    );
    assert_eq!(error["details"][0]["message"], "Acceso no autorizado.");
    let other = stack.account("conekta-other@example.com").await;
    let (status, error) =
        status_of(api(Method::GET, "/webhooks").header("X-Child-Company-Id", other.id.to_string()))
            .await;
    // An account that is not the key's child: as if it did not exist (`holding`).
    assert_eq!(status, 404, "{error}");
    assert_eq!(error["type"], "resource_not_found_error");
    // Another tenant's webhook is not found, as one that does not exist.
    let (status, _) = status_of(conekta(
        &stack,
        Method::GET,
        &format!("/webhooks/{}", ids[0]),
        &other.test_key,
    ))
    .await;
    assert_eq!(status, 404);
    // A Conekta route never shows a PushGuard endpoint, nor PushGuard's dialect-less ones.
    let native = expect(
        stack
            .post(
                "/webhooks/endpoints",
                key,
                json!({ "url": "https://native.example.com/", "events": ["*"] }),
            )
            .await,
        201,
    )
    .await;
    let (status, _) = status_of(api(
        Method::GET,
        &format!("/webhooks/{}", native["id"].as_str().unwrap()),
    ))
    .await;
    assert_eq!(status, 404);
}

/// A request as Paybyrd's documents write it: `X-Api-Key`.
fn paybyrd(stack: &TestStack, method: Method, path: &str, key: &str) -> RequestBuilder {
    stack
        .http
        .request(method, format!("{}{path}", stack.stack.base_url()))
        .header("X-Api-Key", key)
}

#[tokio::test]
async fn paybyrds_documented_calls_answer_beside_pushguards_own_webhook_routes() {
    let stack = TestStack::start().await;
    let acct = stack.account("paybyrd@example.com").await;
    let key = &acct.test_key;
    let api = |method, path: &str| paybyrd(&stack, method, path, key);

    // Set up a Webhook setting: the seed's request verbatim (a url and nothing else).
    let created = answer(
        api(Method::POST, "/api/v2/webhooks")
            .header("Content-Type", "application/json")
            .body(
                r#"{
    "url": "https://test-url.com/webhook"
}"#,
            ),
        201,
    )
    .await;
    assert_eq!(created["url"], "https://test-url.com/webhook");
    assert_eq!(created["isActive"], true);
    assert_eq!(created["events"], json!(["event:paymentStatusChanged"]));
    assert_eq!(
        (created["username"].clone(), created["password"].clone()),
        (Value::Null, Value::Null)
    );
    let id = created["webhookId"].as_str().unwrap().to_string();

    // Different URLs only; user and password are masked wherever they are given.
    let (status, _) = status_of(
        api(Method::POST, "/api/v2/webhooks")
            .json(&json!({ "url": "https://test-url.com/webhook" })),
    )
    .await;
    assert_eq!(status, 409, "one setting per URL");
    let with_credentials = answer(api(Method::POST, "/api/v2/webhooks")
            .json(&json!({ "url": "https://test-url.com/other", "username": "merchant", "password": "s3cret" })), 201).await;
    assert_eq!(
        with_credentials["url"],
        "https://****:****@test-url.com/other"
    );
    assert_eq!(
        (
            with_credentials["username"].clone(),
            with_credentials["password"].clone()
        ),
        (json!("****"), json!("****"))
    );
    assert!(!with_credentials.to_string().contains("s3cret"));
    let (status, _) = status_of(
        api(Method::POST, "/api/v2/webhooks")
            .json(&json!({ "url": "https://test-url.com/third", "is_active": true })),
    )
    .await;
    assert_eq!(status, 400, "an unknown field is refused");

    // Retrieve data about Webhook settings, then one by its id.
    let listed = answer(api(Method::GET, "/api/v2/webhooks"), 200).await;
    assert_eq!(listed.as_array().unwrap().len(), 2);
    let one = answer(api(Method::GET, &format!("/api/v2/webhooks/{id}")), 200).await;
    assert_eq!(one, created);

    // Disabling and enabling; no removal.
    let disabled = answer(
        api(Method::POST, &format!("/api/v2/webhooks/{id}/disable")),
        200,
    )
    .await;
    assert_eq!(disabled["isActive"], false);
    let enabled = answer(
        api(Method::POST, &format!("/api/v2/webhooks/{id}/enable")),
        200,
    )
    .await;
    assert_eq!(enabled["isActive"], true);
    let (status, _) = status_of(api(Method::DELETE, &format!("/api/v2/webhooks/{id}"))).await;
    assert_eq!(status, 405, "a setting cannot be removed");

    // PushGuard's own routes under /api/v2/webhooks still answer as themselves.
    let endpoints = expect(stack.get("/webhooks/endpoints", key).await, 200).await;
    assert_eq!(endpoints.as_array().unwrap().len(), 2);
    assert!(
        endpoints
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["dialect"] == "paybyrd")
    );
    assert_eq!(
        expect(stack.get("/webhooks/logs", key).await, 200).await,
        json!([])
    );
    let (status, _) = status_of(api(Method::GET, "/api/v2/webhooks/simulate")).await;
    assert_eq!(status, 405, "simulate is PushGuard's, and POST only");
    let other = stack.account("paybyrd-other@example.com").await;
    let (status, _) = status_of(paybyrd(
        &stack,
        Method::GET,
        &format!("/api/v2/webhooks/{id}"),
        &other.test_key,
    ))
    .await;
    assert_eq!(status, 404, "another subscription's setting");
    let reader = key_with(&stack, key, &["webhooks:read"]).await;
    let (status, _) = status_of(paybyrd(
        &stack,
        Method::POST,
        &format!("/api/v2/webhooks/{id}/disable"),
        &reader,
    ))
    .await;
    assert_eq!(status, 403);
}

#[tokio::test]
async fn a_paybyrd_receiver_hears_of_status_changes_and_only_200_201_or_202_delivers() {
    let stack = TestStack::start_with(&FAST).await;
    let receiver = Receiver::start().await;
    // The first answer is a 2xx Paybyrd does not count: the delivery is tried again.
    receiver.set("/paybyrd", harness::Behaviour::FailTimes(1, 204));
    let acct = stack.account("paybyrd-receiver@example.com").await;
    let key = &acct.test_key;
    let created = answer(
        paybyrd(&stack, Method::POST, "/api/v2/webhooks", key)
            .json(&json!({ "url": receiver.url("/paybyrd") })),
        201,
    )
    .await;
    let order = paid_order(&stack, key).await;

    let deliveries = receiver.wait_for("/paybyrd", 2).await;
    assert_eq!(
        deliveries[0].body, deliveries[1].body,
        "the same notification, again"
    );
    let hook = deliveries[1].json();
    assert_eq!(
        hook,
        json!({
            "webhookId": created["webhookId"],
            "contextType": "event:paymentStatusChanged",
            "paymentId": order["id"],
            "transactionId": order["id"],
            "orderId": order["id"],
        })
    );
    // The receiver Paybyrd's documents describe: it queries the payment for its status.
    let queried = answer(
        paybyrd(
            &stack,
            Method::GET,
            &format!("/api/v2/orders/{}", hook["paymentId"].as_str().unwrap()),
            key,
        ),
        200,
    )
    .await;
    assert_eq!(queried["status"], 100);
    let log = eventually("the delivery succeeds on its second attempt", || async {
        let logs = expect(
            stack
                .get(
                    &format!(
                        "/webhooks/logs?endpoint_id={}",
                        created["webhookId"].as_str().unwrap()
                    ),
                    key,
                )
                .await,
            200,
        )
        .await;
        logs.as_array()
            .unwrap()
            .first()
            .filter(|l| l["status"] == "succeeded")
            .cloned()
    })
    .await;
    assert_eq!(log["event"], "order:updated");
    assert_eq!(
        (log["retries"].clone(), log["retry_limit"].clone()),
        (json!(1), json!(11)),
        "12 attempts in all"
    );
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(
        receiver.received("/paybyrd").len(),
        2,
        "one status change, one notification (order:paid is not sent beside it)"
    );
}

/// A key that can sign (`require_signed`), and its signing secret.
pub(crate) async fn signing_key(stack: &TestStack, key: &str) -> (String, String) {
    let body = json!({ "name": "keysign", "scopes": ["webhooks:write"], "mode": "test", "require_signed": true });
    let created = expect(stack.post("/account/keys", key, body).await, 201).await;
    (
        created["key"].as_str().unwrap().to_string(),
        created["signing_secret"].as_str().unwrap().to_string(),
    )
}

pub(crate) fn now_ms() -> i64 {
    shared::Timestamp::now().as_millis()
}

/// A Key/Sign call: the body's exact bytes signed by Python's hmac (not PushGuard's).
pub(crate) async fn keysign(
    stack: &TestStack,
    method: Method,
    path: &str,
    (key, secret): &(String, String),
    body: Value,
) -> (u16, Value) {
    let bytes = body.to_string();
    let sign = python_hmac_sha256(secret, bytes.as_bytes());
    let response = stack
        .http
        .request(method, format!("{}{path}", stack.stack.base_url()))
        .header("Key", key)
        .header("Sign", sign)
        .header("Content-Type", "application/json")
        .body(bytes)
        .send()
        .await
        .unwrap();
    status_and_json(response).await
}

#[tokio::test]
async fn the_keysign_api_manages_one_channel_per_account_and_refuses_what_is_not_signed() {
    let stack = TestStack::start().await;
    let acct = stack.account("keysign@example.com").await;
    let signer = signing_key(&stack, &acct.test_key).await;
    let account = acct.id.to_string();
    let call = |method, path: &'static str, body: Value| {
        let signer = signer.clone();
        let stack = &stack;
        async move { keysign(stack, method, path, &signer, body).await }
    };

    let (status, listed) = call(
        Method::POST,
        "/api/v1/subscription/webhook",
        json!({ "account": account, "timestamp": now_ms() }),
    )
    .await;
    assert_eq!((status, listed), (200, json!({ "webhooks": [] })));
    let (status, created) = call(
        Method::POST,
        "/api/v1/subscription/webhook/create",
        json!({ "account": account, "timestamp": now_ms(), "url": "https://merchant.example.com/hooks" }),
    )
    .await;
    assert_eq!(status, 200, "{created}");
    assert_eq!(
        keys(&created),
        [
            "blockedByErrorCount",
            "createdDate",
            "enabled",
            "errorCount",
            "errorFirstDate",
            "errorLastDate",
            "publicKey",
            "requestId",
            "secretKey",
            "url"
        ]
    );
    assert_eq!(created["requestId"].as_str().unwrap().len(), 36, "a UUID");
    assert_eq!(created["url"], "https://merchant.example.com/hooks");
    assert!(created["secretKey"].as_str().unwrap().starts_with("whsec_"));
    assert!(created["publicKey"].as_str().unwrap().starts_with("pk_"));
    assert_eq!(
        (created["enabled"].clone(), created["errorCount"].clone()),
        (json!(true), json!(0))
    );
    let (status, listed) = call(
        Method::POST,
        "/api/v1/subscription/webhook",
        json!({ "account": account, "timestamp": now_ms() }),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(listed["webhooks"], json!([created]));
    let (status, _) = call(
        Method::POST,
        "/api/v1/subscription/webhook/create",
        json!({ "account": account, "timestamp": now_ms(), "url": "https://merchant.example.com/other" }),
    )
    .await;
    assert_eq!(status, 409, "one channel per account");

    let (status, changed) = call(
        Method::POST,
        "/api/v1/subscription/webhook/change",
        json!({ "account": account, "timestamp": now_ms(), "url": "https://merchant.example.com/v2", "enabled": false }),
    )
    .await;
    assert_eq!(status, 200, "{changed}");
    assert_eq!(
        (changed["url"].clone(), changed["enabled"].clone()),
        (json!("https://merchant.example.com/v2"), json!(false))
    );
    assert_eq!(
        changed["secretKey"], created["secretKey"],
        "the pair stays until regenerated"
    );
    let (status, regenerated) = call(
        Method::DELETE,
        "/api/v1/subscription/webhook/api-keys/regenerate",
        json!({ "timestamp": now_ms() }),
    )
    .await;
    assert_eq!(status, 200, "{regenerated}");
    assert_ne!(regenerated["secretKey"], created["secretKey"]);
    assert_ne!(regenerated["publicKey"], created["publicKey"]);
    assert_eq!(regenerated["requestId"], created["requestId"]);

    // Refused, each with nothing changed: a wrong, a stale and a replayed signature; a key
    // that cannot sign; another account; no account.
    let body =
        json!({ "account": account, "timestamp": now_ms(), "url": "https://evil.example.com/" });
    let forged = stack
        .http
        .post(format!(
            "{}/api/v1/subscription/webhook/change",
            stack.stack.base_url()
        ))
        .header("Key", &signer.0)
        .header(
            "Sign",
            python_hmac_sha256("pgsk_test_wrong", body.to_string().as_bytes()),
        )
        .header("Content-Type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 401);
    let (status, _) = call(
        Method::POST,
        "/api/v1/subscription/webhook/change",
        json!({ "account": account, "timestamp": now_ms() - 200_000, "url": "https://evil.example.com/" }),
    )
    .await;
    assert_eq!(status, 401, "a timestamp more than 3 minutes old");
    let replayed = json!({ "account": account, "timestamp": now_ms(), "enabled": true });
    let (status, _) = call(
        Method::POST,
        "/api/v1/subscription/webhook/change",
        replayed.clone(),
    )
    .await;
    assert_eq!(status, 200);
    let (status, _) = call(
        Method::POST,
        "/api/v1/subscription/webhook/change",
        replayed,
    )
    .await;
    assert_eq!(status, 401, "the same signed request again");
    let unsigned = (acct.test_key.clone(), "pgsk_test_none".to_string());
    let (status, _) = keysign(
        &stack,
        Method::POST,
        "/api/v1/subscription/webhook",
        &unsigned,
        json!({ "account": account, "timestamp": now_ms() }),
    )
    .await;
    assert_eq!(status, 401, "a key without a signing secret cannot sign");
    let (status, _) = stack
        .http
        .post(format!(
            "{}/api/v1/subscription/webhook",
            stack.stack.base_url()
        ))
        .bearer_auth(&signer.0)
        .json(&json!({ "account": account, "timestamp": now_ms() }))
        .send()
        .await
        .map(|r| (r.status().as_u16(), ()))
        .unwrap();
    assert_eq!(status, 401, "every Key/Sign call is signed");
    let other = stack.account("keysign-other@example.com").await;
    let (status, _) = call(
        Method::POST,
        "/api/v1/subscription/webhook",
        json!({ "account": other.id.to_string(), "timestamp": now_ms() }),
    )
    .await;
    assert_eq!(
        status, 404,
        "a key acts for its own account and its children only"
    );
    let (status, _) = call(
        Method::POST,
        "/api/v1/subscription/webhook",
        json!({ "timestamp": now_ms() }),
    )
    .await;
    assert_eq!(status, 400, "the account is required");
    let (_, listed) = call(
        Method::POST,
        "/api/v1/subscription/webhook",
        json!({ "account": account, "timestamp": now_ms() }),
    )
    .await;
    assert_eq!(
        listed["webhooks"][0]["url"],
        "https://merchant.example.com/v2"
    );
    assert_eq!(listed["webhooks"][0]["secretKey"], regenerated["secretKey"]);

    let endpoints = expect(stack.get("/webhooks/endpoints", &acct.test_key).await, 200).await;
    assert_eq!(endpoints[0]["dialect"], "keysign");
    let (status, deleted) = call(
        Method::DELETE,
        "/api/v1/subscription/webhook",
        json!({ "account": account, "timestamp": now_ms() }),
    )
    .await;
    assert_eq!((status, deleted), (200, Value::Null));
    let (_, listed) = call(
        Method::POST,
        "/api/v1/subscription/webhook",
        json!({ "account": account, "timestamp": now_ms() }),
    )
    .await;
    assert_eq!(listed, json!({ "webhooks": [] }));
}

#[tokio::test]
async fn a_keysign_receiver_verifies_deliveries_with_the_pair_create_returned_until_it_is_regenerated()
 {
    let stack = TestStack::start_with(&FAST).await;
    let receiver = Receiver::start().await;
    let acct = stack.account("keysign-receiver@example.com").await;
    let signer = signing_key(&stack, &acct.test_key).await;
    let account = acct.id.to_string();
    let (status, channel) = keysign(
        &stack,
        Method::POST,
        "/api/v1/subscription/webhook/create",
        &signer,
        json!({ "account": account, "timestamp": now_ms(), "url": receiver.url("/keysign") }),
    )
    .await;
    assert_eq!(status, 200, "{channel}");
    let order = paid_order(&stack, &acct.test_key).await;
    // Every event of the account: the order's created, updated and paid.
    let deliveries = receiver.wait_for("/keysign", 3).await;
    for delivery in &deliveries {
        // The receiver the seed implies: the channel's public key names it, and the
        // signature is HMAC-SHA256 of the body with its secret key.
        assert_eq!(
            delivery.header("key"),
            channel["publicKey"].as_str().unwrap()
        );
        assert_eq!(
            delivery.header("sign"),
            python_hmac_sha256(channel["secretKey"].as_str().unwrap(), &delivery.body)
        );
        let body = delivery.json();
        assert_eq!(body["account"], account.as_str());
        assert_eq!(body["data"]["id"], order["id"]);
    }
    let sent = eventually("an attempt is recorded on its log", || async {
        let logs = expect(
            stack
                .get("/webhooks/logs?status=succeeded", &acct.test_key)
                .await,
            200,
        )
        .await;
        logs.as_array()
            .unwrap()
            .first()
            .map(|log| log["request_headers"].clone())
    })
    .await;
    assert_eq!(
        sent["sign"], "****",
        "the log keeps no replayable signature: {sent}"
    );
    assert_eq!(sent["key"], channel["publicKey"]);
    let events: Vec<Value> = deliveries
        .iter()
        .map(|d| d.json()["event"].clone())
        .collect();
    assert!(events.contains(&json!("order:paid")), "{events:?}");

    let (status, regenerated) = keysign(
        &stack,
        Method::DELETE,
        "/api/v1/subscription/webhook/api-keys/regenerate",
        &signer,
        json!({ "timestamp": now_ms() }),
    )
    .await;
    assert_eq!(status, 200);
    paid_order(&stack, &acct.test_key).await;
    let after = receiver.wait_for("/keysign", 6).await.remove(5);
    assert_eq!(
        after.header("key"),
        regenerated["publicKey"].as_str().unwrap()
    );
    let new_secret = regenerated["secretKey"].as_str().unwrap();
    assert_eq!(
        after.header("sign"),
        python_hmac_sha256(new_secret, &after.body)
    );
    assert_ne!(
        after.header("sign"),
        python_hmac_sha256(channel["secretKey"].as_str().unwrap(), &after.body),
        "the old pair signs no more"
    );
}
