//! The sample events in events/ go through each function's deployed router, as
//! `sam local invoke` would hand them over (no Docker needed).

use harness::TestStack;
use serde_json::Value;
use std::path::PathBuf;
use tower::ServiceExt;

const SAMPLE_KEY: &str = "pg_test_SampleEventsKey0000000000000";

fn events_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../events"))
}

/// Runs one event file through a router; returns the status and JSON body.
async fn invoke(router: axum::Router, file: &str) -> (u16, Value) {
    let text = std::fs::read_to_string(events_dir().join(file)).unwrap();
    let request = lambda_http::request::from_str(&text)
        .unwrap_or_else(|e| panic!("{file} is not a valid API Gateway event: {e}"));
    let response = router.oneshot(request).await.unwrap();
    let status = response.status().as_u16();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

#[tokio::test]
async fn every_sample_event_is_handled_by_its_function() {
    let stack = TestStack::start().await;
    let created = pushguard::accounts::create(
        &stack.stack.state.db,
        &stack.stack.state.keyring,
        "events@example.com",
        shared::secrets::ApiKeySecret::parse(SAMPLE_KEY),
    )
    .await
    .unwrap();
    assert_eq!(created.test_key.expose(), SAMPLE_KEY);

    let state = |function: &str| stack.stack.function(function);
    let (status, body) = invoke(
        account::router(state("AccountFunction")),
        "account-health.json",
    )
    .await;
    assert_eq!((status, body["status"].as_str()), (200, Some("ok")));
    let (status, body) = invoke(
        account::router(state("AccountFunction")),
        "account-show.json",
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["email"], "events@example.com");
    let (status, body) = invoke(
        account::router(state("AccountFunction")),
        "account-create-key.json",
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["scopes"], serde_json::json!(["webhooks:read"]));

    let (status, body) = invoke(
        webhook_endpoints::router(state("WebhookEndpointsFunction")),
        "webhook-endpoints-create.json",
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["url"], "https://example.com/pushguard");
    let (status, body) = invoke(
        webhook_endpoints::router(state("WebhookEndpointsFunction")),
        "webhook-endpoints-list.json",
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body.as_array().map(Vec::len), Some(1));

    // The dialects' routes, as API Gateway hands them to the same function.
    let (status, body) = invoke(
        webhook_endpoints::router(state("WebhookEndpointsFunction")),
        "conekta-list-webhooks.json",
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (body["object"].clone(), body["data"].clone()),
        ("list".into(), serde_json::json!([])),
        "PushGuard's own endpoint is not Conekta's"
    );
    let (status, body) = invoke(
        webhook_endpoints::router(state("WebhookEndpointsFunction")),
        "pixlpay-create-webhook.json",
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(
        (body["success"].clone(), body["data"]["id"].clone()),
        (true.into(), 1.into())
    );

    // A function answers only its own routes, as API Gateway routes them.
    let (status, _) = invoke(
        account::router(state("AccountFunction")),
        "webhook-endpoints-list.json",
    )
    .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn the_commerce_sample_events_go_through_their_functions() {
    let stack = TestStack::start().await;
    pushguard::accounts::create(
        &stack.stack.state.db,
        &stack.stack.state.keyring,
        "commerce-events@example.com",
        shared::secrets::ApiKeySecret::parse(SAMPLE_KEY),
    )
    .await
    .unwrap();
    let state = |function: &str| stack.stack.function(function);

    let (status, body) = invoke(
        products::router(state("ProductsFunction")),
        "products-create.json",
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(
        (body["stock"].clone(), body["product_type"].clone()),
        (3.into(), 2.into())
    );
    let (status, body) = invoke(
        categories::router(state("CategoriesFunction")),
        "categories-list.json",
    )
    .await;
    assert_eq!((status, body), (200, serde_json::json!([])));
    let (status, body) = invoke(
        payments::router(state("PaymentsFunction")),
        "payments-create.json",
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let url = body["url"].as_str().unwrap();
    assert!(
        url.starts_with("https://abc123.execute-api.us-east-1.amazonaws.com/pay/"),
        "{url}"
    );
    let (status, body) = invoke(events::router(state("EventsFunction")), "events-list.json").await;
    assert_eq!(
        (status, body[0]["type"].clone()),
        (200, "order:created".into())
    );
    let (status, body) = invoke(
        webhook_logs::router(state("WebhookLogsFunction")),
        "webhook-logs-list.json",
    )
    .await;
    assert_eq!((status, body), (200, serde_json::json!([])));
    let (status, body) = invoke(orders::router(state("OrdersFunction")), "orders-list.json").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (body[0]["value"].clone(), body[0]["gateway"].clone()),
        ("10.0".into(), "Bitcoin".into())
    );
    let (status, body) = invoke(
        blacklists::router(state("BlacklistsFunction")),
        "blacklists-create.json",
    )
    .await;
    assert_eq!((status, body["blocked_data"].clone()), (201, "ZW".into()));
    let (status, body) = invoke(
        blacklist_rules::router(state("BlacklistRulesFunction")),
        "blacklist-rules-create.json",
    )
    .await;
    assert_eq!((status, body["action_type"].clone()), (201, "block".into()));
    let (status, body) = invoke(
        feedback::router(state("FeedbackFunction")),
        "queries-create.json",
    )
    .await;
    assert_eq!((status, body["status"].clone()), (201, "pending".into()));
    let (status, body) = invoke(
        portal::router(state("PortalFunction")),
        "portal-sessions-create.json",
    )
    .await;
    assert_eq!((status, body["scope"].clone()), (201, "read".into()));
    let url = body["url"].as_str().unwrap_or_default();
    assert!(
        url.starts_with("https://abc123.execute-api.us-east-1.amazonaws.com/portal/pgps_"),
        "the link is on the host the request came to: {url}"
    );
}

#[tokio::test]
async fn the_dispatcher_and_scheduler_take_their_sample_events() {
    let stack = TestStack::start().await;
    let operator = stack.stack.state.clone();
    let created = pushguard::accounts::create(
        &operator.db,
        &operator.keyring,
        "queue-events@example.com",
        None,
    )
    .await
    .unwrap();
    let tenant = shared::Tenant::new(created.account.id.clone(), shared::Mode::Test);
    let mut event = shared::events::Event::new("order:paid", serde_json::json!({ "id": "o" }));
    shared::store::events::create(&operator.db, &tenant, &mut event, 30)
        .await
        .unwrap();
    let dispatcher_state = stack.stack.function("DispatcherFunction");

    let text = std::fs::read_to_string(events_dir().join("dispatcher-sqs.json"))
        .unwrap()
        .replace("ACCOUNT", &created.account.id)
        .replace("EVENT_ID", &event.id);
    let batch: aws_lambda_events::event::sqs::SqsEvent =
        serde_json::from_str(&text).expect("a valid SQS event");
    let response = dispatcher::handle(&dispatcher_state, batch).await;
    assert!(response.batch_item_failures.is_empty());
    let dispatched = shared::store::events::get(&operator.db, &tenant, &event.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(dispatched.status, shared::events::EventStatus::Dispatched);

    let text = std::fs::read_to_string(events_dir().join("scheduler-schedule.json")).unwrap();
    let _: serde_json::Value = serde_json::from_str(&text).expect("a valid scheduled event");
    scheduler::run(&stack.stack.function("SchedulerFunction"))
        .await
        .expect("the scheduler runs");

    // A message nobody can read is reported, so SQS retries it and then dead-letters it.
    let mut record = aws_lambda_events::event::sqs::SqsMessage::default();
    record.message_id = Some("poison".into());
    record.body = Some("not json".into());
    let mut poison = aws_lambda_events::event::sqs::SqsEvent::default();
    poison.records.push(record);
    let response = dispatcher::handle(&dispatcher_state, poison).await;
    assert_eq!(response.batch_item_failures.len(), 1);
    assert_eq!(response.batch_item_failures[0].item_identifier, "poison");
}

/// Each route template.yaml gives a function reaches a handler of that function.
#[tokio::test]
async fn every_template_route_is_served_by_its_function() {
    let stack = TestStack::start().await;
    let state = |function: &str| stack.stack.function(function);
    let template = pushguard::template::Template::parse(pushguard::template::BUNDLED).unwrap();
    let routes = template.http_routes();
    assert!(routes.len() > 40, "{routes:?}");
    for (function, method, path) in routes {
        let router = match function.as_str() {
            "AccountFunction" => account::router(state("AccountFunction")),
            "WebhookEndpointsFunction" => {
                webhook_endpoints::router(state("WebhookEndpointsFunction"))
            }
            "WebhookLogsFunction" => webhook_logs::router(state(&function)),
            "EventsFunction" => events::router(state(&function)),
            "ProductsFunction" => products::router(state("ProductsFunction")),
            "CategoriesFunction" => categories::router(state("CategoriesFunction")),
            "OrdersFunction" => orders::router(state("OrdersFunction")),
            "PaymentsFunction" => payments::router(state("PaymentsFunction")),
            "BlacklistsFunction" => blacklists::router(state("BlacklistsFunction")),
            "BlacklistRulesFunction" => blacklist_rules::router(state("BlacklistRulesFunction")),
            "FeedbackFunction" => feedback::router(state("FeedbackFunction")),
            "PortalFunction" => portal::router(state("PortalFunction")),
            other => panic!("{other} has HTTP routes but no router here"),
        };
        let uri = path
            .replace("{id}", "x")
            .replace("{token}", "x")
            .replace("{name}", "x");
        let request = axum::http::Request::builder()
            .method(method.as_str())
            .uri(&uri)
            .body(axum::body::Body::empty())
            .unwrap();
        let response = router.oneshot(request).await.unwrap();
        let status = response.status().as_u16();
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        let body = String::from_utf8_lossy(&body);
        assert!(
            status != 405 && !body.contains("Route not found"),
            "{function} does not serve {method} {path}: {status} {body}"
        );
    }
}

#[test]
fn every_event_file_is_covered_above() {
    let mut files: Vec<String> = std::fs::read_dir(events_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|name| name.ends_with(".json"))
        .collect();
    files.sort();
    let source = include_str!("lambda_events.rs");
    for file in files {
        assert!(
            source.contains(&format!("\"{file}\"")),
            "{file} is not exercised by a test"
        );
    }
}
