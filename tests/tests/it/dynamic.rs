//! Dynamic products: paying an order of one calls the product's `dynamic_url` with the
//! order (signed, logged, retried), and its answer is what the customer gets: on the
//! order as `delivered`, on the payment page, in `order:updated` and `order:completed`.

use super::commerce::{page_text, pay, product, received_types, stack, subscribe};
use harness::{
    Behaviour, Receiver, TestStack,
    client::{Order, Product},
    eventually, python_hmac_sha512, status_and_json, verify_standard,
};
use reqwest::Method;
use serde_json::{Value, json};

/// A dynamic product whose `dynamic_url` is `receiver`'s `/licence`.
async fn game_licence(stack: &TestStack, key: &str, receiver: &Receiver) -> Product {
    let fields = json!({ "title": "Game licence", "product_type": 4, "dynamic_url": receiver.url("/licence") });
    product(stack, key, fields).await
}

/// A white-label payment for one unit of `product`: its order.
async fn order_of(stack: &TestStack, key: &str, product: &Product) -> Order {
    let fields =
        json!({ "product_id": product.id, "title": null, "value": null, "currency": null });
    pay(stack, key, fields).await
}

/// What the payment page at `page` polls.
async fn page_status(stack: &TestStack, page: &str) -> Value {
    let response = stack
        .http
        .get(format!("{page}/status"))
        .send()
        .await
        .unwrap();
    let (code, status) = status_and_json(response).await;
    assert_eq!(code, 200, "{status}");
    status
}

const LICENCE: &str = "LIC-7F3A-99QX <b>pro</b>";

#[tokio::test]
async fn a_paid_dynamic_products_answer_is_what_the_customer_gets() {
    let stack = stack().await;
    let receiver = Receiver::start().await;
    let acct = stack.account("dynamic@example.com").await;
    let key = &acct.test_key;
    subscribe(&stack, key, &receiver, "/all").await;
    let account_secret = stack.api(key).account().rotate_webhook_secret().await;
    // Whitespace around the answer is not part of what the customer gets.
    let answer = format!("  {LICENCE}\n").into_bytes();
    receiver.set("/licence", Behaviour::Answer(200, answer));
    let game = game_licence(&stack, key, &receiver).await;
    let order = order_of(&stack, key, &game).await;
    assert_eq!(
        order.delivery_log_id, None,
        "nothing is called before payment"
    );
    let page = order.url.clone().expect("the payment page");

    let paid = stack.api(key).orders().set_status(&order.id, 100).await;
    let log_id = paid
        .delivery_log_id
        .clone()
        .expect("paying names the call's log");
    assert_eq!(paid.delivered, None, "the answer comes after the payment");

    let delivered = eventually("the dynamic product's answer on the order", || async {
        let now = stack.api(key).orders().get(&order.id).await;
        now.delivered.is_some().then_some(now)
    })
    .await;
    assert_eq!(delivered.delivered.as_deref(), Some(LICENCE));
    assert_eq!(delivered.status, 100);

    // The call: the paid order, its own event, signed with the account's secret, and
    // named by the log the order points to.
    let calls = receiver.received("/licence");
    assert_eq!(calls.len(), 1, "one call for one payment");
    let call = &calls[0];
    assert_eq!(call.header("x-pushguard-event"), "product:dynamic");
    assert_eq!(call.header("x-pushguard-webhook"), log_id);
    assert_eq!(call.json()["id"], json!(order.id));
    assert_eq!(call.json()["status"], 100);
    assert_eq!(call.json()["delivery_log_id"], json!(log_id));
    verify_standard(&account_secret, call).expect("signed with the account secret");
    assert_eq!(
        call.header("x-pushguard-signature"),
        python_hmac_sha512(&account_secret, &call.body)
    );
    let log = stack.api(key).logs().get(&log_id).await;
    assert_eq!(
        (log.event.as_str(), log.status.as_str(), log.endpoint_id),
        ("product:dynamic", "succeeded", None)
    );

    // Endpoints hear of it as the order completing; the call itself is the product's.
    eventually("order:completed at the endpoint", || async {
        received_types(&receiver, "/all")
            .contains(&"order:completed".to_string())
            .then_some(())
    })
    .await;
    let mut types = received_types(&receiver, "/all");
    types.sort();
    assert_eq!(
        types,
        [
            "order:completed",
            "order:created",
            "order:paid",
            "order:updated",
            "order:updated"
        ]
    );
    let completed = receiver
        .received("/all")
        .into_iter()
        .find(|d| d.header("x-pushguard-event") == "order:completed")
        .unwrap();
    assert_eq!(completed.json()["delivered"], LICENCE);

    // The customer's page shows it, escaped, and stops polling.
    let html = page_text(&stack, &page).await;
    assert!(
        html.contains("LIC-7F3A-99QX &lt;b&gt;pro&lt;/b&gt;"),
        "the answer on the page, as text: {html}"
    );
    assert_eq!(page_status(&stack, &page).await["final"], true);

    // Paying again calls nothing again.
    let again = stack.api(key).orders().set_status(&order.id, 100).await;
    assert_eq!(again.delivery_log_id.as_deref(), Some(log_id.as_str()));
    assert_eq!(receiver.received("/licence").len(), 1);
}

#[tokio::test]
async fn an_answer_a_customer_cannot_get_leaves_the_order_paid_undelivered_and_retryable() {
    let stack = stack().await;
    let receiver = Receiver::start().await;
    let acct = stack.account("dynamic-bad@example.com").await;
    let key = &acct.test_key;
    // Past the 8 KiB an answer may have: refused, retried (1 s, 1 s), then failed.
    receiver.set("/licence", Behaviour::Huge(9_000));
    let game = game_licence(&stack, key, &receiver).await;
    let order = order_of(&stack, key, &game).await;
    let page = order.url.clone().unwrap();
    let paid = stack.api(key).orders().set_status(&order.id, 100).await;
    let log_id = paid.delivery_log_id.clone().unwrap();
    let logs = stack.api(key).logs();
    eventually("the call to fail for good", || async {
        // 404 until the dispatcher has made the delivery.
        let response = stack.get(&format!("/webhooks/logs/{log_id}"), key).await;
        let (_, log) = status_and_json(response).await;
        (log["status"] == "failed").then_some(())
    })
    .await;
    let failed = logs.get(&log_id).await;
    assert_eq!(failed.history.len(), 3, "the first attempt and two retries");
    assert_eq!(receiver.received("/licence").len(), 3);
    assert!(
        failed
            .response
            .as_deref()
            .unwrap()
            .starts_with("The answer is longer than 8192 bytes"),
        "the log says why: {:?}",
        failed.response
    );

    // Paid, undelivered, and saying so.
    let now = stack.api(key).orders().get(&order.id).await;
    assert_eq!((now.status, now.delivered.as_deref()), (100, None));
    let html = page_text(&stack, &page).await;
    assert!(
        html.contains("Paid: your purchase is being prepared"),
        "{html}"
    );
    assert!(!html.contains(r#"id="delivered""#));
    assert_eq!(
        page_status(&stack, &page).await["final"],
        false,
        "the page waits for the purchase"
    );

    // Not text: refused too.
    receiver.set("/licence", Behaviour::Answer(200, vec![0xff, 0xfe, 0x00]));
    let retried = logs.retry(&log_id).await;
    assert_eq!(
        retried.response.as_deref(),
        Some("The answer is not UTF-8 text")
    );
    let now = stack.api(key).orders().get(&order.id).await;
    assert_eq!(now.delivered, None);

    // The receiver mended, a retry delivers; a later call's answer is not the customer's.
    receiver.set("/licence", Behaviour::Answer(200, b"KEY-2".to_vec()));
    let delivered = logs.retry(&log_id).await;
    assert_eq!(delivered.status, "succeeded");
    let now = stack.api(key).orders().get(&order.id).await;
    assert_eq!(now.delivered.as_deref(), Some("KEY-2"));
    receiver.set("/licence", Behaviour::Answer(200, b"KEY-3".to_vec()));
    logs.retry(&log_id).await;
    let after = stack.api(key).orders().get(&order.id).await;
    assert_eq!(
        (after.delivered.as_deref(), after.updated_at.as_str()),
        (Some("KEY-2"), now.updated_at.as_str()),
        "what the customer got stays"
    );
    assert!(page_text(&stack, &page).await.contains("KEY-2"));

    // A merchant who delivered by hand first keeps what they gave.
    receiver.set("/licence", Behaviour::Always(500, None));
    let second = order_of(&stack, key, &game).await;
    let second = stack.api(key).orders().set_status(&second.id, 100).await;
    let by_hand = stack
        .api(key)
        .orders()
        .update(&second.id, json!({ "delivered": "MANUAL-1" }))
        .await;
    receiver.set("/licence", Behaviour::Answer(200, b"KEY-4".to_vec()));
    let second_log = second.delivery_log_id.unwrap();
    eventually("the second order's call to be made", || async {
        let response = stack
            .get(&format!("/webhooks/logs/{second_log}"), key)
            .await;
        (response.status() == 200).then_some(())
    })
    .await;
    assert_eq!(logs.retry(&second_log).await.status, "succeeded");
    let kept = stack.api(key).orders().get(&second.id).await;
    assert_eq!(
        (kept.delivered.as_deref(), kept.updated_at),
        (Some("MANUAL-1"), by_hand.updated_at)
    );

    // Nobody subscribes to the call itself.
    let refused = stack
        .refuses(
            Method::POST,
            "/webhooks/endpoints",
            key,
            json!({ "url": receiver.url("/sneaky"), "events": ["product:dynamic"] }),
            400,
        )
        .await;
    assert!(
        refused
            .to_string()
            .contains("sent only to a dynamic product's dynamic_url"),
        "{refused}"
    );
}
