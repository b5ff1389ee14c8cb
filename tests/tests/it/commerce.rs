//! The commerce API over HTTP: products, categories, orders, payments, blacklists and
//! their rules, feedback and queries, and the events they cause, delivered to a real
//! receiver and checked with independent verifiers.

use harness::{
    Receiver, TestAccount, TestStack,
    client::{Blacklist, BlacklistRule, Order, Product},
    eventually, expect, header, python_hmac_sha512, status_and_json, verify_standard,
};
use reqwest::Method;
use serde_json::{Value, json};

/// Deliveries without waiting: the pending-event sweep runs every second.
pub(crate) const FAST: [(&str, &str); 3] = [
    ("RETRY_SCHEDULE", "1s,1s"),
    ("RETRY_JITTER", "0"),
    ("PENDING_EVENT_GRACE_SECONDS", "1"),
];

pub(crate) async fn stack() -> TestStack {
    TestStack::start_with(&FAST).await
}

pub(crate) async fn product(stack: &TestStack, key: &str, body: Value) -> Product {
    let mut fields = json!({
        "title": "Example product", "price": "9.99", "currency": "USD",
        "gateways": ["paypal", "bitcoin"]
    });
    fields
        .as_object_mut()
        .unwrap()
        .extend(body.as_object().unwrap().clone());
    stack.api(key).products().create(fields).await
}

/// A white-label payment: its order.
pub(crate) async fn pay(stack: &TestStack, key: &str, body: Value) -> Order {
    let mut fields = json!({
        "title": "Consulting", "gateway": "paypal", "value": "25.00", "currency": "USD",
        "email": "customer@example.com", "white_label": true
    });
    fields
        .as_object_mut()
        .unwrap()
        .extend(body.as_object().unwrap().clone());
    stack.api(key).payments().create_white_label(fields).await
}

/// An endpoint subscribed to everything, and its signing secret.
pub(crate) async fn subscribe(
    stack: &TestStack,
    key: &str,
    receiver: &Receiver,
    path: &str,
) -> String {
    let endpoints = stack.api(key).endpoints();
    let endpoint = endpoints.create_to(&receiver.url(path), &["*"]).await;
    endpoint.secret().to_string()
}

fn errors(body: &Value) -> Vec<String> {
    body["errors"]
        .as_array()
        .unwrap_or_else(|| panic!("no errors in {body}"))
        .iter()
        .map(|e| e.as_str().unwrap().to_string())
        .collect()
}

/// The types of the deliveries `path` received, in arrival order.
pub(crate) fn received_types(receiver: &Receiver, path: &str) -> Vec<String> {
    receiver
        .received(path)
        .iter()
        .map(|d| d.header("x-pushguard-event").to_string())
        .collect()
}

#[tokio::test]
async fn products_are_created_validated_listed_updated_and_destroyed() {
    let stack = stack().await;
    let acct = stack.account("products@example.com").await;
    let key = &acct.test_key;
    let created = product(
        &stack,
        key,
        json!({ "price": 12.5, "stock": 4, "custom": { "sku": "A1" } }),
    )
    .await;
    assert_eq!(created.price, "12.5", "a JSON number keeps its digits");
    assert_eq!((created.stock, created.currency.as_str()), (Some(4), "USD"));
    assert_eq!(created.gateways, ["paypal", "bitcoin"]);
    assert_eq!(created.custom["sku"], "A1");
    let id = created.id.as_str();
    let products = stack.api(key).products();

    let invalid = stack.refuses(Method::POST, "/products", key, json!({ "title": "x", "price": "1.2.3", "currency": "XXX", "gateways": ["cash"], "stock": -1 }), 400)
    .await;
    assert_eq!(invalid["message"], "Validation failed");
    assert_eq!(errors(&invalid).len(), 5, "{invalid}");
    assert_eq!(
        stack.total("/products", key).await,
        1,
        "the invalid product was not saved"
    );

    for n in 0..3 {
        product(&stack, key, json!({ "title": format!("Product {n}") })).await;
    }
    let response = stack.get("/products?per_page=2&page=2", key).await;
    assert_eq!(header(&response, "x-total-count").as_deref(), Some("4"));
    assert_eq!(header(&response, "x-total-pages").as_deref(), Some("2"));
    let page = expect(response, 200).await;
    assert_eq!(page.as_array().unwrap().len(), 2);
    assert_eq!(
        page[1]["id"], created.id,
        "newest first: the first product is last"
    );
    stack
        .refuses(Method::GET, "/products?per_page=0", key, None, 400)
        .await;

    let updated = products
        .update(id, json!({ "title": "Renamed", "stock": "∞" }))
        .await;
    assert_eq!(
        (
            updated.title.as_str(),
            updated.stock,
            updated.price.as_str()
        ),
        ("Renamed", None, "12.5"),
        "only what the update names changes"
    );
    assert_eq!(products.get(id).await, updated);

    let other = stack.account("other-products@example.com").await;
    stack
        .refuses(
            Method::GET,
            &format!("/products/{id}"),
            &other.test_key,
            None,
            404,
        )
        .await;
    stack
        .refuses(
            Method::GET,
            &format!("/products/{id}"),
            &acct.live_key,
            None,
            404,
        )
        .await;
    stack
        .refuses(
            Method::PUT,
            &format!("/products/{id}"),
            &other.test_key,
            json!({ "title": "Mine" }),
            404,
        )
        .await;
    stack
        .refuses(
            Method::DELETE,
            &format!("/products/{id}"),
            &other.test_key,
            None,
            404,
        )
        .await;

    products.delete(id).await;
    stack
        .refuses(Method::GET, &format!("/products/{id}"), key, None, 404)
        .await;
    assert_eq!(stack.total("/products", key).await, 3);
}

#[tokio::test]
async fn categories_accept_only_the_tenants_products_and_forget_deleted_ones() {
    let stack = stack().await;
    let acct = stack.account("categories@example.com").await;
    let key = &acct.test_key;
    let other = stack.account("categories-other@example.com").await;
    let mine = product(&stack, key, json!({})).await;
    let theirs = product(&stack, &other.test_key, json!({})).await;
    let (mine_id, theirs_id) = (mine.id.as_str(), theirs.id.as_str());

    let refused = stack
        .refuses(
            Method::POST,
            "/categories",
            key,
            json!({ "title": "Mixed", "product_ids": [mine_id, theirs_id, "prd_nope"] }),
            400,
        )
        .await;
    assert_eq!(
        errors(&refused),
        [
            format!("Product {theirs_id:?} does not exist"),
            "Product \"prd_nope\" does not exist".to_string()
        ]
    );
    assert_eq!(stack.total("/categories", key).await, 0);

    let categories = stack.api(key).categories();
    let category = categories
        .create(json!({ "title": "Demo category", "product_ids": [mine_id], "unlisted": true }))
        .await;
    assert_eq!((&category.image, category.unlisted), (&Value::Null, true));
    let path = format!("/categories/{}", category.id);
    let renamed = categories
        .update(&category.id, json!({ "title": "Updated title" }))
        .await;
    assert_eq!(
        (renamed.title.as_str(), renamed.product_ids),
        ("Updated title", vec![mine_id.to_string()]),
        "a rename keeps the products"
    );
    stack
        .refuses(Method::GET, &path, &other.test_key, None, 404)
        .await;

    stack.api(key).products().delete(mine_id).await;
    let after = categories.get(&category.id).await;
    assert!(
        after.product_ids.is_empty(),
        "a deleted product leaves its categories"
    );
    categories.delete(&category.id).await;
    stack.refuses(Method::GET, &path, key, None, 404).await;
}

#[tokio::test]
async fn a_payment_creates_an_order_with_a_live_hosted_page_and_order_created() {
    let stack = stack().await;
    let receiver = Receiver::start().await;
    let acct = stack.account("pay@example.com").await;
    let key = &acct.test_key;
    let secret = subscribe(&stack, key, &receiver, "/all").await;
    let account_secret = stack.api(key).account().rotate_webhook_secret().await;

    let created = expect(
        stack
            .post(
                "/payments",
                key,
                json!({ "title": "PushGuard <Pay> Example", "gateway": "Bitcoin", "value": 10.00, "currency": "USD",
                        "email": "buyer@example.com", "return_url": "https://website.com/return",
                        "webhook_url": receiver.url("/per-payment") }),
            )
            .await,
        201,
    )
    .await;
    let url = created["url"].as_str().unwrap();
    assert_eq!(
        created.as_object().unwrap().len(),
        1,
        "only the url: {created}"
    );
    assert!(
        url.starts_with(&stack.stack.base_url()) && url.contains("/pay/"),
        "{url}"
    );

    let page = stack
        .http
        .get(url)
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    assert!(
        header(&page, "content-security-policy")
            .unwrap()
            .contains("script-src 'sha256-")
    );
    let html = page.text().await.unwrap();
    for part in [
        "PushGuard &lt;Pay&gt; Example",
        "10.0 USD",
        "Bitcoin",
        "Not paid",
    ] {
        assert!(html.contains(part), "{part:?} missing from the page");
    }
    assert!(!html.contains("<Pay>"), "merchant text is escaped");
    let status = expect(
        stack
            .http
            .get(format!("{url}/status"))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(
        status,
        json!({ "status": 0, "status_text": "Not paid", "final": false })
    );
    let missing = stack
        .http
        .get(format!("{}/pay/{}", stack.stack.base_url(), "A".repeat(43)))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);

    let orders = expect(stack.get("/orders", key).await, 200).await;
    let order = &orders[0];
    assert_eq!(
        (
            order["status"].clone(),
            order["product_id"].clone(),
            order["gateway"].clone()
        ),
        (json!(0), json!("pay"), json!("Bitcoin"))
    );
    assert_eq!(
        (
            order["value"].clone(),
            order["usd_value"].clone(),
            order["email"].clone()
        ),
        (json!("10.0"), json!("10.0"), json!("buyer@example.com"))
    );

    let delivery = receiver.wait_for("/all", 1).await.remove(0);
    assert_eq!(delivery.header("x-pushguard-event"), "order:created");
    assert_eq!(
        delivery.json(),
        *order,
        "the body is the order as the API shows it"
    );
    verify_standard(&secret, &delivery).expect("standard webhooks signature");
    let per_payment = receiver.wait_for("/per-payment", 1).await.remove(0);
    assert_eq!(per_payment.json()["id"], order["id"]);
    verify_standard(&account_secret, &per_payment).expect("signed with the account secret");
    assert_eq!(
        per_payment.header("x-pushguard-signature"),
        python_hmac_sha512(&account_secret, &per_payment.body)
    );
}

#[tokio::test]
async fn white_label_payments_return_the_order_and_bad_payments_change_nothing() {
    let stack = stack().await;
    let acct = stack.account("white-label@example.com").await;
    let key = &acct.test_key;
    let order = pay(
        &stack,
        key,
        json!({ "quantity": 2, "custom": { "ref": "r-1" } }),
    )
    .await;
    assert!(order.id.starts_with("ord_"));
    assert!(
        order
            .url
            .as_deref()
            .is_some_and(|url| url.contains("/pay/"))
    );
    assert_eq!(
        (order.status, order.quantity, order.value.as_str()),
        (0, 2, "25.00")
    );
    assert_eq!(order.custom["ref"], "r-1");
    assert!(order.white_label);

    let refused = stack.refuses(Method::POST, "/payments", key, json!({ "gateway": "cash", "value": "-1", "currency": "usd", "email": "x", "ip_address": "1.2.3" }), 400)
    .await;
    assert_eq!(errors(&refused).len(), 5, "{refused}");
    stack
        .refuses(
            Method::POST,
            "/payments",
            key,
            json!({ "title": "T", "nonsense": 1 }),
            400,
        )
        .await;
    assert_eq!(stack.total("/orders", key).await, 1);
    assert_eq!(
        stack.total("/events", key).await,
        1,
        "only the first payment's order:created"
    );
}

#[tokio::test]
async fn paying_takes_stock_delivers_serials_and_emits_updated_paid_and_out_of_stock() {
    let stack = stack().await;
    let receiver = Receiver::start().await;
    let acct = stack.account("paid@example.com").await;
    let key = &acct.test_key;
    let secret = subscribe(&stack, key, &receiver, "/all").await;
    let account_secret = stack.api(key).account().rotate_webhook_secret().await;
    let keys = product(
        &stack,
        key,
        json!({ "title": "Licence keys", "price": "0.10", "product_type": 2, "info": "AAA,BBB,CCC", "webhook_url": receiver.url("/product") }),
    )
    .await;
    assert_eq!(keys.stock, Some(3), "one unit per serial");
    let product_id = keys.id.as_str();

    let refused = stack.refuses(Method::POST, "/payments", key, json!({ "product_id": product_id, "gateway": "stripe", "email": "a@example.com", "quantity": 4 }), 400).await;
    assert_eq!(
        errors(&refused),
        [
            "Gateway stripe is not accepted for this product",
            "Not enough stock for this quantity"
        ]
    );

    let order = pay(&stack, key, json!({ "product_id": product_id, "quantity": 3, "title": null, "value": null, "currency": null })).await;
    assert_eq!(
        (
            order.product_title.as_deref(),
            order.value.as_str(),
            order.title.as_str()
        ),
        (Some("Licence keys"), "0.30", "Licence keys"),
        "a product's order takes its title and price"
    );
    let path = format!("/orders/{}", order.id);

    let paid = expect(stack.put(&path, key, json!({ "status": 100 })).await, 200).await;
    assert_eq!(paid["status"], 100);
    assert_eq!(paid["delivered"], "AAA\nBBB\nCCC", "the serials sold");
    let after = stack.api(key).products().get(product_id).await;
    assert_eq!(
        (after.stock, after.info.as_deref()),
        (Some(0), Some("")),
        "the serials sold are gone"
    );

    let deliveries = receiver.wait_for("/all", 5).await;
    let mut types = received_types(&receiver, "/all");
    types.sort();
    assert_eq!(
        types,
        [
            "order:completed",
            "order:created",
            "order:paid",
            "order:updated",
            "product:out_of_stock"
        ],
        "the serials sold complete the order"
    );
    let paid_delivery = deliveries
        .iter()
        .find(|d| d.header("x-pushguard-event") == "order:paid")
        .unwrap();
    assert_eq!(paid_delivery.json(), paid);
    verify_standard(&secret, paid_delivery).expect("signed for the endpoint");
    assert_eq!(
        paid_delivery.header("x-pushguard-signature"),
        python_hmac_sha512(&secret, &paid_delivery.body)
    );
    let emptied = deliveries
        .iter()
        .find(|d| d.header("x-pushguard-event") == "product:out_of_stock")
        .unwrap();
    assert_eq!(emptied.json()["id"], keys.id);
    assert_eq!(emptied.json()["stock"], 0);

    // The product's webhook_url gets its order's events and its own, signed by the account.
    receiver.wait_for("/product", 5).await;
    let mut product_types = received_types(&receiver, "/product");
    product_types.sort();
    assert_eq!(
        product_types,
        [
            "order:completed",
            "order:created",
            "order:paid",
            "order:updated",
            "product:out_of_stock"
        ]
    );
    for delivery in receiver.received("/product") {
        verify_standard(&account_secret, &delivery).expect("signed with the account secret");
    }

    let again = expect(stack.put(&path, key, json!({ "status": 100 })).await, 200).await;
    assert_eq!(
        again["updated_at"], paid["updated_at"],
        "paying twice changes nothing"
    );
    let back = stack
        .refuses(Method::PUT, &path, key, json!({ "status": 0 }), 400)
        .await;
    assert!(errors(&back)[0].starts_with("Status cannot change from 100"));
    let refunded = stack.api(key).orders().set_status(&order.id, 56).await;
    assert_eq!(refunded.status, 56);
    eventually("the refund's order:updated", || async {
        (received_types(&receiver, "/all").len() == 6).then_some(())
    })
    .await;
    assert_eq!(stack.total("/events", key).await, 6);
}

#[tokio::test]
async fn stock_never_goes_negative_under_concurrent_paid_orders() {
    // DynamoDB's conflicts plus throttling, 500s and redeliveries.
    let stack = TestStack::start_with_faults(&FAST, harness::FAULTS).await;
    let acct = stack.account("race@example.com").await;
    let key = acct.test_key.clone();
    let item = product(&stack, &key, json!({ "title": "Last ones", "stock": 3 })).await;
    let product_id = item.id;
    let mut orders = Vec::new();
    for _ in 0..8 {
        let order = pay(
            &stack,
            &key,
            json!({ "product_id": product_id, "title": null, "value": null, "currency": null }),
        )
        .await;
        orders.push(order.id);
    }
    let stack = std::sync::Arc::new(stack);
    let attempts = orders.iter().map(|id| {
        let (stack, key, path) = (stack.clone(), key.clone(), format!("/orders/{id}"));
        tokio::spawn(async move {
            status_and_json(stack.put(&path, &key, json!({ "status": 100 })).await).await
        })
    });
    let results: Vec<(u16, Value)> = futures::future::join_all(attempts)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let paid = results.iter().filter(|(status, _)| *status == 200).count();
    let refused: Vec<&Value> = results
        .iter()
        .filter(|(status, _)| *status == 409)
        .map(|(_, body)| body)
        .collect();
    assert_eq!(paid, 3, "exactly the stock is sold: {results:?}");
    assert_eq!(refused.len(), 5, "{results:?}");
    assert!(
        refused.iter().all(|body| body["message"]
            .as_str()
            .unwrap()
            .starts_with("Not enough stock")),
        "{refused:?}"
    );
    println!(
        "8 concurrent payments of a stock of 3: {paid} paid, {} refused; strict layer: {}",
        refused.len(),
        stack.stack.strict.tally
    );
    let after = stack.api(&key).products().get(&product_id).await;
    assert_eq!(after.stock, Some(0));
    assert_eq!(stack.total("/orders?status=100", &key).await, 3);
    assert_eq!(stack.total("/orders?status=0", &key).await, 5);
    assert_eq!(
        stack.total("/events?type=product:out_of_stock", &key).await,
        1
    );
}

async fn blacklist(stack: &TestStack, key: &str, kind: u8, data: &str) -> Blacklist {
    let body = json!({ "blacklist_type": kind, "blocked_data": data, "note": "demo" });
    stack.api(key).blacklists().create(body).await
}

async fn rule(
    stack: &TestStack,
    key: &str,
    name: &str,
    text: &str,
    action: &str,
    priority: u32,
) -> BlacklistRule {
    let body = json!({ "name": name, "rule": text, "action_type": action, "priority": priority });
    stack.api(key).blacklist_rules().create(body).await
}

async fn refused_payment(stack: &TestStack, key: &str, body: Value) -> String {
    let mut fields = json!({ "title": "Blocked?", "gateway": "paypal", "value": "5", "currency": "EUR", "email": "someone@example.com" });
    fields
        .as_object_mut()
        .unwrap()
        .extend(body.as_object().unwrap().clone());
    let refused = stack
        .refuses(Method::POST, "/payments", key, fields, 403)
        .await;
    refused["message"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn blacklisted_customers_are_refused_before_any_order_exists() {
    let stack = stack().await;
    let receiver = Receiver::start().await;
    let acct = stack.account("blacklists@example.com").await;
    let key = &acct.test_key;
    subscribe(&stack, key, &receiver, "/all").await;
    let email = blacklist(&stack, key, 1, "Fraud@Example.com").await;
    assert_eq!(email.blocked_data, "fraud@example.com");
    blacklist(&stack, key, 2, "10.0.0.0/8").await;
    let country = blacklist(&stack, key, 3, "zw").await;
    assert_eq!(country.blocked_data, "ZW");

    let invalid = stack
        .refuses(
            Method::POST,
            "/blacklists",
            key,
            json!({ "blacklist_type": 2, "blocked_data": "10.0.0.0/40" }),
            400,
        )
        .await;
    assert_eq!(
        errors(&invalid),
        ["Blocked data \"10.0.0.0/40\" is not an IP address or CIDR range"]
    );
    stack
        .refuses(
            Method::POST,
            "/blacklists",
            key,
            json!({ "blacklist_type": 9, "blocked_data": "x" }),
            400,
        )
        .await;

    assert!(
        refused_payment(&stack, key, json!({ "email": "FRAUD@example.com" }))
            .await
            .contains("email address is blacklisted")
    );
    assert!(
        refused_payment(&stack, key, json!({ "ip_address": "10.1.2.3" }))
            .await
            .contains("IP address is blacklisted")
    );
    assert!(
        refused_payment(&stack, key, json!({ "country_code": "ZW" }))
            .await
            .contains("country is blacklisted")
    );
    assert_eq!(stack.total("/orders", key).await, 0, "no order");
    assert_eq!(stack.total("/events", key).await, 0, "no event");

    pay(
        &stack,
        key,
        json!({ "ip_address": "11.0.0.1", "country_code": "US" }),
    )
    .await;
    receiver.wait_for("/all", 1).await;
    assert_eq!(stack.total("/blacklists", key).await, 3);
    assert_eq!(stack.total("/blacklists?blacklist_type=2", key).await, 1);
    let blacklists = stack.api(key).blacklists();
    let updated = blacklists
        .update(&country.id, json!({ "blocked_data": "gr" }))
        .await;
    assert_eq!(
        (updated.blacklist_type, updated.blocked_data.as_str()),
        (3, "GR")
    );
    let other = stack.account("blacklists-other@example.com").await;
    let path = format!("/blacklists/{}", country.id);
    stack
        .refuses(Method::GET, &path, &other.test_key, None, 404)
        .await;
    blacklists.delete(&country.id).await;
    pay(&stack, key, json!({ "country_code": "ZW" })).await;
}

#[tokio::test]
async fn rules_block_allow_and_flag_in_priority_order() {
    let stack = stack().await;
    let acct = stack.account("rules@example.com").await;
    let key = &acct.test_key;
    let invalid = stack
        .refuses(
            Method::POST,
            "/blacklist-rules",
            key,
            json!({ "name": "broken", "rule": "customer.email contains", "action_type": "block" }),
            400,
        )
        .await;
    assert!(errors(&invalid)[0].ends_with("at position 24"), "{invalid}");

    let block = rule(
        &stack,
        key,
        "Block gmail customers if using \"+\" bypass",
        r#"customer.email_domain == "gmail.com" and customer.email contains "+""#,
        "block",
        2,
    )
    .await;
    let message = refused_payment(&stack, key, json!({ "email": "ann+1@gmail.com" })).await;
    assert!(message.contains("Block gmail customers"), "{message}");

    let allow = rule(
        &stack,
        key,
        "Trusted office",
        r#"customer.ip in_cidr "192.168.0.0/16""#,
        "allow",
        1,
    )
    .await;
    blacklist(&stack, key, 3, "FR").await;
    let allowed = pay(
        &stack,
        key,
        json!({ "email": "ann+2@gmail.com", "ip_address": "192.168.4.4", "country_code": "FR" }),
    )
    .await;
    assert_eq!(
        allowed.status, 0,
        "allow stops evaluation: later rules and the blacklists are skipped"
    );

    rule(&stack, key, "Big orders", "order.value >= 100", "flag", 3).await;
    let flagged = pay(&stack, key, json!({ "value": "150" })).await;
    assert_eq!(flagged.status, 52, "flagged orders are high risk");
    let small = pay(&stack, key, json!({ "value": "99.99" })).await;
    assert_eq!(small.status, 0);

    let rules = stack.api(key).blacklist_rules();
    let listed = rules.list("").await;
    let names: Vec<&str> = listed.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "Trusted office",
            "Block gmail customers if using \"+\" bypass",
            "Big orders"
        ]
    );

    let path = format!("/blacklist-rules/{}", block.id);
    let disabled = rules.update(&block.id, json!({ "enabled": false })).await;
    assert_eq!(
        (disabled.enabled, &disabled.rule),
        (false, &block.rule),
        "disabling keeps the rule"
    );
    pay(&stack, key, json!({ "email": "ann+3@gmail.com" })).await;
    stack
        .refuses(
            Method::PUT,
            &path,
            key,
            json!({ "rule": "order.value >" }),
            400,
        )
        .await;
    rules.delete(&allow.id).await;
    assert_eq!(stack.total("/blacklist-rules", key).await, 2);
}

#[tokio::test]
async fn a_cancelled_payment_stays_unpaid_and_says_so() {
    let stack = stack().await;
    let acct = stack.account("cancel@example.com").await;
    let key = &acct.test_key;
    let order = pay(&stack, key, json!({})).await;
    let id = order.id.as_str();
    let payments = stack.api(key).payments();
    payments.cancel(id).await;
    payments.cancel(id).await; // again: harmless
    let page = stack
        .http
        .get(order.url.as_deref().expect("the hosted page"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Cancelled"));
    let refused = stack
        .refuses(
            Method::PUT,
            &format!("/orders/{id}"),
            key,
            json!({ "status": 100 }),
            409,
        )
        .await;
    assert!(refused["message"].as_str().unwrap().contains("cancelled"));

    let paid = pay(&stack, key, json!({})).await;
    let paid_id = paid.id.as_str();
    let paid = stack.api(key).orders().set_status(paid_id, 100).await;
    assert!(paid.paid_at.is_some());
    stack
        .refuses(
            Method::DELETE,
            &format!("/payments/{paid_id}"),
            key,
            None,
            409,
        )
        .await;
    let other = stack.account("cancel-other@example.com").await;
    stack
        .refuses(
            Method::DELETE,
            &format!("/payments/{paid_id}"),
            &other.test_key,
            None,
            404,
        )
        .await;
    assert_eq!(
        stack.total("/events?type=order:updated", key).await,
        2,
        "the cancel and the payment"
    );
}

#[tokio::test]
async fn feedback_and_queries_emit_their_events() {
    let stack = stack().await;
    let receiver = Receiver::start().await;
    let acct = stack.account("support@example.com").await;
    let key = &acct.test_key;
    let order = pay(&stack, key, json!({})).await;
    subscribe(&stack, key, &receiver, "/all").await;

    let invalid = stack
        .refuses(
            Method::POST,
            "/feedback",
            key,
            json!({ "order_id": "ord_nope", "message": "", "score": 9 }),
            400,
        )
        .await;
    assert_eq!(errors(&invalid).len(), 3, "{invalid}");
    let api = stack.api(key);
    let feedback = api
        .feedback()
        .create(json!({ "order_id": order.id, "message": "Great!", "score": 5 }))
        .await;
    assert_eq!(
        (feedback.feedback.as_str(), feedback.reply.as_deref()),
        ("positive", None)
    );
    assert_eq!(feedback.order_id, order.id);
    stack
        .refuses(
            Method::POST,
            "/feedback",
            key,
            json!({ "order_id": order.id, "message": "Again", "score": 1 }),
            409,
        )
        .await;
    let replied = api
        .feedback()
        .update(&feedback.id, json!({ "reply": "Thanks" }))
        .await;
    assert_eq!(replied.reply.as_deref(), Some("Thanks"));

    let queries = api.queries();
    let query = queries.create(json!({ "title": "Where is my key?", "email": "Buyer@Example.com", "message": "Paid an hour ago", "order_id": order.id })).await;
    assert_eq!(
        (query.status.as_str(), query.email.as_str()),
        ("pending", "buyer@example.com")
    );
    let path = format!("/queries/{}", query.id);
    let answered = queries.reply(&query.id, "Sent again").await;
    let thread: Vec<_> = answered
        .messages
        .iter()
        .map(|m| (m.role.as_str(), m.message.as_str()))
        .collect();
    assert_eq!(answered.status, "answered");
    assert_eq!(
        thread,
        [("customer", "Paid an hour ago"), ("merchant", "Sent again")]
    );
    let closed = queries
        .update(&query.id, json!({ "status": "closed" }))
        .await;
    assert_eq!(closed.status, "closed");
    expect(
        stack
            .request(Method::POST, &format!("{path}/reply"), key)
            .json(&json!({ "message": "late" }))
            .send()
            .await
            .unwrap(),
        409,
    )
    .await;
    assert_eq!(stack.total("/queries?status=closed", key).await, 1);
    assert_eq!(stack.total("/feedback", key).await, 1);

    // The payment's order:created may be dispatched after the endpoint exists; skip it.
    let support_events = || {
        let mut types = received_types(&receiver, "/all");
        types.retain(|t| t != "order:created");
        types
    };
    eventually("five support events", || async {
        (support_events().len() >= 5).then_some(())
    })
    .await;
    let mut types = support_events();
    types.sort();
    assert_eq!(
        types,
        [
            "feedback:created",
            "feedback:updated",
            "query:created",
            "query:replied",
            "query:updated"
        ]
    );
    let reply = receiver
        .received("/all")
        .into_iter()
        .find(|d| d.header("x-pushguard-event") == "query:replied")
        .unwrap();
    assert_eq!(reply.json()["messages"][1]["message"], "Sent again");
}

#[tokio::test]
async fn commerce_routes_need_their_scopes() {
    let stack = stack().await;
    let acct: TestAccount = stack.account("scopes@example.com").await;
    let read_only = expect(
        stack
            .post(
                "/account/keys",
                &acct.test_key,
                json!({ "name": "catalogue reader", "scopes": ["products:read"], "mode": "test" }),
            )
            .await,
        201,
    )
    .await["key"]
        .as_str()
        .unwrap()
        .to_string();
    let item = product(&stack, &acct.test_key, json!({})).await;
    assert_eq!(stack.api(&read_only).products().get(&item.id).await, item);
    stack
        .refuses(Method::POST, "/products", &read_only, json!({}), 403)
        .await;
    stack
        .refuses(Method::GET, "/orders", &read_only, None, 403)
        .await;
    stack
        .refuses(Method::POST, "/payments", &read_only, json!({}), 403)
        .await;
    stack
        .refuses(Method::GET, "/blacklists", &read_only, None, 403)
        .await;
    expect(
        stack
            .anonymous(Method::GET, "/products")
            .send()
            .await
            .unwrap(),
        401,
    )
    .await;
}

/// Ids of a list response, and its `Link` header.
async fn ids_and_link(response: reqwest::Response) -> (Vec<String>, String) {
    let link = header(&response, "link").unwrap_or_default();
    let body = expect(response, 200).await;
    let ids = body
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["id"].as_str().unwrap().to_string())
        .collect();
    (ids, link)
}

#[tokio::test]
async fn large_lists_page_by_cursor_and_no_list_request_is_unbounded() {
    let stack = stack().await;
    let acct = stack.account("cursors@example.com").await;
    let key = &acct.test_key;
    let mut ids = Vec::new();
    for n in 0..7 {
        let created = product(&stack, key, json!({ "title": format!("Product {n}") })).await;
        ids.push(created.id);
    }
    ids.reverse(); // newest first, as lists are
    let (first, _) = ids_and_link(stack.get("/products?per_page=3", key).await).await;
    assert_eq!(first, ids[..3]);

    let response = stack
        .get(
            &format!("/products?per_page=3&starting_after={}", ids[2]),
            key,
        )
        .await;
    assert_eq!(
        header(&response, "x-total-count"),
        None,
        "cursors count nothing"
    );
    let (second, link) = ids_and_link(response).await;
    assert_eq!(second, ids[3..6]);
    assert!(
        link.contains(&format!(
            "starting_after={}&per_page=3>; rel=\"next\"",
            ids[5]
        )),
        "{link}"
    );
    assert!(
        link.contains(&format!(
            "ending_before={}&per_page=3>; rel=\"prev\"",
            ids[3]
        )),
        "{link}"
    );

    let (last, link) = ids_and_link(
        stack
            .get(
                &format!("/products?per_page=3&starting_after={}", ids[5]),
                key,
            )
            .await,
    )
    .await;
    assert_eq!(last, ids[6..]);
    assert!(!link.contains("rel=\"next\""), "nothing older: {link}");

    // Back again: ending_before gives the newer neighbours, still newest first.
    let (back, link) = ids_and_link(
        stack
            .get(
                &format!("/products?per_page=3&ending_before={}", ids[3]),
                key,
            )
            .await,
    )
    .await;
    assert_eq!(back, ids[..3]);
    assert!(!link.contains("rel=\"prev\""), "nothing newer: {link}");
    let (back, _) = ids_and_link(
        stack
            .get(
                &format!("/products?per_page=2&ending_before={}", ids[3]),
                key,
            )
            .await,
    )
    .await;
    assert_eq!(back, ids[1..3], "the two just newer than the cursor");

    // A deleted item is still a position.
    expect(
        stack.delete(&format!("/products/{}", ids[3]), key).await,
        204,
    )
    .await;
    let (after_deleted, _) = ids_and_link(
        stack
            .get(
                &format!("/products?per_page=2&starting_after={}", ids[3]),
                key,
            )
            .await,
    )
    .await;
    assert_eq!(after_deleted, ids[4..6]);

    for bad in [
        format!(
            "/products?starting_after={}&ending_before={}",
            ids[0], ids[1]
        ),
        format!("/products?page=2&starting_after={}", ids[0]),
        "/products?starting_after=".to_string(),
        "/products?page=101&per_page=100".to_string(),
    ] {
        let body = stack.refuses(Method::GET, &bad, key, None, 400).await;
        assert!(
            !body["errors"].as_array().unwrap().is_empty(),
            "{bad}: {body}"
        );
    }
    let deep = stack
        .refuses(
            Method::GET,
            "/products?page=101&per_page=100",
            key,
            None,
            400,
        )
        .await;
    assert!(deep.to_string().contains("starting_after"), "{deep}");
    // Blacklist rules (at most 100) list by page only.
    stack
        .refuses(
            Method::GET,
            "/blacklist-rules?starting_after=x",
            key,
            None,
            400,
        )
        .await;
}

/// Gives `email` on the payment page at `url`, as its form sends it.
async fn give_email(stack: &TestStack, url: &str, email: &str) -> reqwest::Response {
    let form = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("email", email)
        .finish();
    stack
        .http
        .post(url)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(form)
        .send()
        .await
        .unwrap()
}

/// The payment page at `url`, as its HTML.
pub(crate) async fn page_text(stack: &TestStack, url: &str) -> String {
    stack
        .http
        .get(url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// The seed's own example, `PushGuard::Pay.create(title: 'PushGuard Pay Example',
/// gateway: 'Bitcoin', value: 10.00, currency: 'USD', return_url: ...)`: no email. The
/// order waits for one and cannot be paid without it; the payment page asks the
/// customer; screening by email runs then (a blacklisted email cancels the payment);
/// the white-label form answers the seed's fields, null where PushGuard has nothing.
#[tokio::test]
async fn the_seeds_payment_example_works_as_written_and_its_page_asks_for_the_email() {
    let stack = stack().await;
    let receiver = Receiver::start().await;
    let acct = stack.account("seed-pay@example.com").await;
    let key = &acct.test_key;
    subscribe(&stack, key, &receiver, "/all").await;
    let seed = json!({
        "title": "PushGuard Pay Example", "gateway": "Bitcoin", "value": 10.00,
        "currency": "USD", "return_url": "https://website.com/return"
    });
    let created = expect(stack.post("/payments", key, seed.clone()).await, 201).await;
    let url = created["url"].as_str().unwrap().to_string();
    let order = stack.api(key).orders().list("").await.remove(0);
    assert_eq!(
        (order.email.as_deref(), order.gateway.as_str()),
        (None, "Bitcoin")
    );
    let page = stack.http.get(&url).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains(r#"id="email-form""#));

    let order_path = format!("/orders/{}", order.id);
    let pay_now = || stack.put(&order_path, key, json!({ "status": 100 }));
    let paid_too_soon = expect(pay_now().await, 409).await;
    assert!(paid_too_soon["message"].as_str().unwrap().contains("email"));
    let give = |email| give_email(&stack, &url, email);
    let bad = give("nobody").await;
    assert_eq!(bad.status(), 422);
    assert!(
        bad.text()
            .await
            .unwrap()
            .contains("Email is not a valid email address")
    );
    let given = give("Customer@Example.com").await;
    assert_eq!(given.status(), 303);
    assert_eq!(
        header(&given, "location").as_deref(),
        Some(url.trim_start_matches(&stack.stack.base_url()))
    );
    let order = stack.api(key).orders().get(&order.id).await;
    assert_eq!(order.email.as_deref(), Some("customer@example.com"));
    assert_eq!(give("other@example.com").await.status(), 409, "given once");
    let page = page_text(&stack, &url).await;
    assert!(!page.contains(r#"id="email-form""#));
    let updated = eventually("order:updated with the email", || async {
        receiver.received("/all").into_iter().find(|d| {
            d.header("x-pushguard-event") == "order:updated"
                && d.json()["email"] == "customer@example.com"
        })
    })
    .await;
    assert_eq!(updated.json()["id"], order.id.as_str());
    let paid = expect(pay_now().await, 200).await;
    assert_eq!(paid["status"], 100);

    // A blacklisted email, given on the page, cancels the payment: it was never screened.
    blacklist(&stack, key, 1, "fraud@example.com").await;
    let created = expect(stack.post("/payments", key, seed).await, 201).await;
    let url = created["url"].as_str().unwrap().to_string();
    let refused = give_email(&stack, &url, "fraud@example.com").await;
    assert_eq!(refused.status(), 303);
    let page = page_text(&stack, &url).await;
    assert!(page.contains("Cancelled"), "{page}");
    let orders = stack.api(key).orders().list("").await;
    let cancelled = orders
        .iter()
        .find(|o| o.email.as_deref() == Some("fraud@example.com"))
        .unwrap();
    assert!(cancelled.cancelled_at.is_some());
    assert_eq!(cancelled.status, 0);

    // The white-label form: the raw order with the seed's fields.
    let raw = expect(
        stack
            .post(
                "/payments",
                key,
                json!({ "title": "PushGuard Pay Example", "gateway": "Bitcoin", "value": 10.00, "currency": "USD", "white_label": true }),
            )
            .await,
        201,
    )
    .await;
    for field in [
        "confirmations_needed",
        "crypto_address",
        "crypto_value",
        "crypto_channel",
    ] {
        assert_eq!(
            raw[field],
            Value::Null,
            "{field}: PushGuard watches no blockchain"
        );
    }
    assert_eq!(
        (raw["usd_value"].clone(), raw["exchange_rate"].clone()),
        (raw["value"].clone(), json!("1.0"))
    );
    assert!(raw["url"].as_str().unwrap().contains("/pay/"));
    assert_eq!(
        (raw["product_id"].as_str(), raw["email"].clone()),
        (Some("pay"), Value::Null)
    );
}

/// `risk_level`, `max_risk_level` and `vpn_block` act: every order gets a risk level
/// from the signals PushGuard has, an order above its product's `max_risk_level` is high
/// risk (52), and a product with `vpn_block` refuses an IP in a hosting network,
/// creating nothing.
#[tokio::test]
async fn the_risk_level_is_computed_and_products_act_on_it() {
    let stack = stack().await;
    let acct = stack.account("risk@example.com").await;
    let key = &acct.test_key;
    let careful = product(&stack, key, json!({ "max_risk_level": 20 })).await;
    let lenient = product(&stack, key, json!({ "max_risk_level": 100 })).await;
    let strict = product(
        &stack,
        key,
        json!({ "vpn_block": true, "max_risk_level": 100 }),
    )
    .await;
    let stack = &stack;
    let buy = |product: &str, email: &str, ip: &str, country: &str| {
        let body = json!({
            "product_id": product, "email": email, "ip_address": ip, "country_code": country,
            "gateway": "paypal", "white_label": true
        });
        async move {
            let order = expect(stack.post("/payments", key, body).await, 201).await;
            (
                order["risk_level"].as_u64().unwrap(),
                order["status"].as_u64().unwrap(),
            )
        }
    };

    let ordinary = buy(&careful.id, "ann@example.com", "41.117.222.111", "US").await;
    assert_eq!(ordinary, (0, 0));
    let disposable = buy(&careful.id, "ann@mailinator.com", "41.117.222.111", "US").await;
    assert_eq!(disposable, (30, 52), "above 20: high risk");
    let hosted = buy(&lenient.id, "bob@example.com", "167.99.10.20", "DE").await;
    assert_eq!(hosted, (40, 0), "counted, not refused");
    let before = stack.total("/orders", key).await;
    let mut body = json!({
        "product_id": strict.id, "email": "bob@example.com", "ip_address": "167.99.10.20",
        "country_code": "DE", "gateway": "paypal", "white_label": true
    });
    let refused = stack
        .refuses(Method::POST, "/payments", key, body.clone(), 403)
        .await;
    assert!(
        refused["message"]
            .as_str()
            .unwrap()
            .contains("hosting or VPN"),
        "{refused}"
    );
    body["ip_address"] = json!("41.117.222.111");
    let allowed = expect(stack.post("/payments", key, body).await, 201).await;
    assert_eq!(
        (allowed["risk_level"].clone(), allowed["status"].clone()),
        (json!(0), json!(0))
    );
    assert_eq!(
        stack.total("/orders", key).await,
        before + 1,
        "the refusal made nothing"
    );

    // Live mode counts payments per IP address and email (test mode does not, so a
    // developer can pay from one address all day): the fourth within the hour counts 20
    // more. The count is per clock hour: start well inside one.
    let live = &acct.live_key;
    let anywhere = product(stack, live, json!({ "max_risk_level": 100 })).await;
    while shared::Timestamp::now().as_epoch_seconds() % 3600 > 3590 {
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    let mut levels = Vec::new();
    for n in 0..4 {
        let body = json!({
            "product_id": anywhere.id, "email": format!("buyer{n}@example.com"),
            "ip_address": "41.117.222.200", "country_code": "US", "gateway": "paypal",
            "white_label": true
        });
        let order = expect(stack.post("/payments", live, body).await, 201).await;
        levels.push(order["risk_level"].as_u64().unwrap());
    }
    assert_eq!(levels, [0, 0, 0, 20]);
}
