//! Webhook endpoints over HTTP: every route and error, tenant isolation, pagination.

use harness::{TestStack, client::Endpoint, expect, header, status_and_json};
use reqwest::Method;
use serde_json::json;
use shared::{Mode, Timestamp, store::endpoints as store};

async fn create(stack: &TestStack, key: &str, url: &str) -> Endpoint {
    stack
        .api(key)
        .endpoints()
        .create_to(url, &["order:paid"])
        .await
}

fn id(endpoint: &Endpoint) -> &str {
    &endpoint.id
}

#[tokio::test]
async fn create_returns_the_endpoint_with_its_secret_once() {
    let stack = TestStack::start().await;
    let acct = stack.account("create@example.com").await;
    let body = json!({
        "url": "https://hooks.example.com/pushguard",
        "events": ["order:paid", "order:created"],
        "description": "orders to the ERP",
        "headers": { "X-Team": "erp" },
    });
    let endpoints = stack.api(&acct.test_key).endpoints();
    let created = endpoints.create(body).await;
    assert!(id(&created).starts_with("ep_"));
    assert_eq!(created.url, "https://hooks.example.com/pushguard");
    assert_eq!(created.events, ["order:paid", "order:created"]);
    assert_eq!(created.description.as_deref(), Some("orders to the ERP"));
    assert!(created.enabled);
    assert_eq!(
        created.headers,
        [("x-team".into(), "****".into())].into(),
        "values masked"
    );
    assert_eq!(created.error_count, 0);
    assert!(!created.blocked_by_error_count);
    assert_eq!(created.created_at, created.updated_at);
    assert!(Timestamp::parse(&created.created_at).is_some());
    assert!(created.created_at.ends_with("+00:00"));
    let secret = created.secret();
    assert!(secret.starts_with("whsec_"));

    let fetched = endpoints.get(&created.id).await;
    assert_eq!(fetched.secret, None, "the secret is shown on create only");
    let listed = expect(stack.get("/webhooks/endpoints", &acct.test_key).await, 200).await;
    assert!(!listed.to_string().contains(secret));
    let without_secret = Endpoint {
        secret: None,
        ..created.clone()
    };
    assert_eq!(fetched, without_secret);
}

#[tokio::test]
async fn credentials_in_urls_are_masked_everywhere() {
    let stack = TestStack::start().await;
    let acct = stack.account("mask@example.com").await;
    let created = create(
        &stack,
        &acct.test_key,
        "https://user:hunter2@example.com/hook",
    )
    .await;
    assert_eq!(created.url, "https://****:****@example.com/hook");
    let path = format!("/webhooks/endpoints/{}", id(&created));
    for body in [
        expect(stack.get(&path, &acct.test_key).await, 200).await,
        expect(stack.get("/webhooks/endpoints", &acct.test_key).await, 200).await,
        expect(
            stack
                .put(&path, &acct.test_key, json!({ "description": "x" }))
                .await,
            200,
        )
        .await,
        expect(
            stack
                .post(&format!("{path}/disable"), &acct.test_key, json!({}))
                .await,
            200,
        )
        .await,
    ] {
        let text = body.to_string();
        assert!(
            !text.contains("hunter2") && !text.contains("user:"),
            "{text}"
        );
    }
}

#[tokio::test]
async fn validation_lists_every_error_and_changes_nothing() {
    let stack = TestStack::start().await;
    let acct = stack.account("validate@example.com").await;
    let body = stack
        .refuses(
            Method::POST,
            "/webhooks/endpoints",
            &acct.test_key,
            json!({}),
            400,
        )
        .await;
    assert_eq!(
        body,
        json!({ "message": "Validation failed", "errors": ["Url can't be blank", "Events can't be blank"] })
    );

    let body = stack
        .refuses(
            Method::POST,
            "/webhooks/endpoints",
            &acct.test_key,
            json!({
                "url": "ftp://example.com",
                "events": ["order:paid", "order:shipped", "webhook:ping"],
                "description": "d".repeat(513),
                "headers": { "Content-Type": "text/plain", "X-PushGuard-Event": "x" },
            }),
            400,
        )
        .await;
    let errors: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap())
        .collect();
    assert_eq!(errors.len(), 6, "{errors:?}");
    assert_eq!(errors[0], "Url must use https");
    assert!(errors[1].contains("order:shipped"));
    assert!(errors[2].contains("webhook:ping"));
    assert!(errors[3].starts_with("Description is too long"));

    let empty = stack
        .refuses(
            Method::POST,
            "/webhooks/endpoints",
            &acct.test_key,
            json!({ "url": "https://a.example.com", "events": [] }),
            400,
        )
        .await;
    assert_eq!(empty["errors"], json!(["Events can't be blank"]));
    let unknown_field = stack
        .refuses(
            Method::POST,
            "/webhooks/endpoints",
            &acct.test_key,
            json!({ "url": "https://a.example.com", "events": ["*"], "evnts": [] }),
            400,
        )
        .await;
    assert!(unknown_field["message"].as_str().unwrap().contains("evnts"));
    let wrong_type = stack
        .refuses(
            Method::POST,
            "/webhooks/endpoints",
            &acct.test_key,
            json!({ "url": 5, "events": ["*"] }),
            400,
        )
        .await;
    assert!(
        wrong_type["message"]
            .as_str()
            .unwrap()
            .contains("invalid type")
    );

    let listed = stack.get("/webhooks/endpoints", &acct.test_key).await;
    assert_eq!(header(&listed, "x-total-count").as_deref(), Some("0"));
}

#[tokio::test]
async fn only_https_and_public_hosts_when_private_targets_are_not_allowed() {
    let stack = TestStack::start_with(&[("ALLOW_PRIVATE_TARGETS", "false")]).await;
    let acct = stack.account("https@example.com").await;
    for url in [
        "http://example.com/hook",
        "https://127.0.0.1/hook",
        "https://localhost/hook",
        "https://169.254.169.254/latest",
        "https://[::1]/x",
        "https://10.0.0.8/x",
    ] {
        let body = stack
            .refuses(
                Method::POST,
                "/webhooks/endpoints",
                &acct.test_key,
                json!({ "url": url, "events": ["*"] }),
                400,
            )
            .await;
        assert_eq!(body["errors"].as_array().unwrap().len(), 1, "{url}: {body}");
    }
    create(&stack, &acct.test_key, "https://example.com/hook").await;
}

#[tokio::test]
async fn locally_plain_http_and_loopback_targets_are_allowed() {
    let stack = TestStack::start().await;
    let acct = stack.account("local@example.com").await;
    create(&stack, &acct.test_key, "http://127.0.0.1:9999/hook").await;
}

#[tokio::test]
async fn urls_are_unique_per_tenant() {
    let stack = TestStack::start().await;
    let acct = stack.account("unique@example.com").await;
    let other = stack.account("unique-other@example.com").await;
    let first = create(&stack, &acct.test_key, "https://example.com/hook").await;
    let body = stack
        .refuses(
            Method::POST,
            "/webhooks/endpoints",
            &acct.test_key,
            json!({ "url": "https://EXAMPLE.com:443/hook", "events": ["*"] }),
            409,
        )
        .await;
    assert_eq!(body["message"], "An endpoint with this URL already exists");
    // Other tenants (another account, or this account's live mode) may use it.
    create(&stack, &other.test_key, "https://example.com/hook").await;
    create(&stack, &acct.live_key, "https://example.com/hook").await;
    // Moving another endpoint onto the URL conflicts too; deleting frees it.
    let second = create(&stack, &acct.test_key, "https://example.com/second").await;
    let path = format!("/webhooks/endpoints/{}", id(&second));
    stack
        .refuses(
            Method::PUT,
            &path,
            &acct.test_key,
            json!({ "url": "https://example.com/hook" }),
            409,
        )
        .await;
    assert_eq!(
        expect(stack.get(&path, &acct.test_key).await, 200).await["url"],
        "https://example.com/second"
    );
    expect(
        stack
            .delete(
                &format!("/webhooks/endpoints/{}", id(&first)),
                &acct.test_key,
            )
            .await,
        204,
    )
    .await;
    expect(
        stack
            .put(
                &path,
                &acct.test_key,
                json!({ "url": "https://example.com/hook" }),
            )
            .await,
        200,
    )
    .await;
    // The old URL of the moved endpoint is free again.
    create(&stack, &acct.test_key, "https://example.com/second").await;
}

#[tokio::test]
async fn the_endpoint_quota_is_enforced_and_freed_by_deletes() {
    let stack = TestStack::start_with(&[("MAX_ENDPOINTS", "3")]).await;
    let acct = stack.account("quota@example.com").await;
    let mut ids = Vec::new();
    for n in 0..3 {
        ids.push(
            id(&create(&stack, &acct.test_key, &format!("https://example.com/{n}")).await)
                .to_string(),
        );
    }
    let body = stack
        .refuses(
            Method::POST,
            "/webhooks/endpoints",
            &acct.test_key,
            json!({ "url": "https://example.com/4", "events": ["*"] }),
            400,
        )
        .await;
    assert!(
        body["errors"][0].as_str().unwrap().contains("maximum is 3"),
        "{body}"
    );
    // The quota is per tenant: live mode has its own.
    create(&stack, &acct.live_key, "https://example.com/live").await;
    expect(
        stack
            .delete(&format!("/webhooks/endpoints/{}", ids[0]), &acct.test_key)
            .await,
        204,
    )
    .await;
    create(&stack, &acct.test_key, "https://example.com/4").await;
}

#[tokio::test]
async fn update_is_partial_and_validated() {
    let stack = TestStack::start().await;
    let acct = stack.account("update@example.com").await;
    let created = stack.api(&acct.test_key).endpoints().create(json!({ "url": "https://example.com/a", "events": ["order:paid"], "description": "first", "headers": { "x-a": "1" } })).await;
    let path = format!("/webhooks/endpoints/{}", id(&created));
    let endpoints = stack.api(&acct.test_key).endpoints();
    let changes = json!({ "events": ["order:created", "query:replied"] });
    let updated = endpoints.update(&created.id, changes).await;
    assert_eq!(updated.events, ["order:created", "query:replied"]);
    assert_eq!(updated.url, "https://example.com/a");
    assert_eq!(updated.description.as_deref(), Some("first"));
    assert_eq!(
        updated.headers,
        [("x-a".to_string(), "****".to_string())].into(),
        "kept (shown masked)"
    );
    assert_eq!(updated.created_at, created.created_at);
    assert!(updated.updated_at >= created.updated_at);
    assert_eq!(updated.secret, None, "the secret is shown on create only");

    let changes = json!({ "description": null, "headers": null, "enabled": false });
    let cleared = endpoints.update(&created.id, changes).await;
    assert_eq!(
        (
            cleared.description.as_deref(),
            cleared.headers.len(),
            cleared.enabled
        ),
        (None, 0, false)
    );

    let invalid = stack
        .refuses(
            Method::PUT,
            &path,
            &acct.test_key,
            json!({ "url": "https://", "events": [] }),
            400,
        )
        .await;
    assert_eq!(invalid["errors"].as_array().unwrap().len(), 2, "{invalid}");
    assert_eq!(
        endpoints.get(&created.id).await,
        cleared,
        "a refused update changes nothing"
    );
}

#[tokio::test]
async fn filters_are_parsed_when_saved_and_errors_give_the_position() {
    let stack = TestStack::start().await;
    let acct = stack.account("filter@example.com").await;
    let body = stack
        .refuses(
            Method::POST,
            "/webhooks/endpoints",
            &acct.test_key,
            json!({ "url": "https://example.com/f", "events": ["*"], "filter": "value > " }),
            400,
        )
        .await;
    assert_eq!(
        body["errors"],
        json!([
            "Filter is invalid: expected a value to compare with, found the end of the rule at position 9"
        ])
    );
    let filter = r#"value >= 10 and customer.email ends_with "@example.com""#;
    let created = stack
        .api(&acct.test_key)
        .endpoints()
        .create(json!({ "url": "https://example.com/f", "events": ["*"], "filter": filter }))
        .await;
    assert_eq!(created.filter.as_deref(), Some(filter));
    let path = format!("/webhooks/endpoints/{}", id(&created));
    stack
        .refuses(
            Method::PUT,
            &path,
            &acct.test_key,
            json!({ "filter": "value matches '['" }),
            400,
        )
        .await;
    let endpoints = stack.api(&acct.test_key).endpoints();
    assert_eq!(
        endpoints.get(&created.id).await.filter.as_deref(),
        Some(filter),
        "a refused filter changes nothing"
    );
    let cleared = endpoints
        .update(&created.id, json!({ "filter": null }))
        .await;
    assert_eq!(cleared.filter, None);
}

#[tokio::test]
async fn destroy_removes_the_endpoint() {
    let stack = TestStack::start().await;
    let acct = stack.account("destroy@example.com").await;
    let created = create(&stack, &acct.test_key, "https://example.com/gone").await;
    let path = format!("/webhooks/endpoints/{}", id(&created));
    let response = stack.delete(&path, &acct.test_key).await;
    assert_eq!(response.status(), 204);
    assert!(response.bytes().await.unwrap().is_empty());
    stack
        .refuses(Method::GET, &path, &acct.test_key, None, 404)
        .await;
    stack
        .refuses(Method::DELETE, &path, &acct.test_key, None, 404)
        .await;
    let listed = stack.get("/webhooks/endpoints", &acct.test_key).await;
    assert_eq!(header(&listed, "x-total-count").as_deref(), Some("0"));
}

#[tokio::test]
async fn another_tenants_endpoint_is_indistinguishable_from_a_missing_one() {
    let stack = TestStack::start().await;
    let owner = stack.account("owner@example.com").await;
    let intruder = stack.account("intruder@example.com").await;
    let created = create(&stack, &owner.test_key, "https://example.com/private").await;
    let path = format!("/webhooks/endpoints/{}", id(&created));
    let missing = "/webhooks/endpoints/ep_01ARZ3NDEKTSV4RRFFQ69G5FAV";
    for key in [&intruder.test_key, &intruder.live_key, &owner.live_key] {
        for base in [path.as_str(), missing] {
            let attempts = [
                stack.get(base, key).await,
                stack
                    .put(base, key, json!({ "description": "mine now" }))
                    .await,
                stack.delete(base, key).await,
                stack.post(&format!("{base}/enable"), key, json!({})).await,
                stack.post(&format!("{base}/disable"), key, json!({})).await,
                stack
                    .post(&format!("{base}/rotate-secret"), key, json!({}))
                    .await,
            ];
            for response in attempts {
                let (status, body) = status_and_json(response).await;
                assert_eq!(
                    (status, body),
                    (404, json!({ "message": "Endpoint not found" }))
                );
            }
        }
        let listed = expect(stack.get("/webhooks/endpoints", key).await, 200).await;
        assert_eq!(listed, json!([]));
    }
    let untouched = stack
        .api(&owner.test_key)
        .endpoints()
        .get(&created.id)
        .await;
    assert_eq!((untouched.enabled, untouched.description), (true, None));
    stack
        .refuses(
            Method::GET,
            "/webhooks/endpoints/not-an-id",
            &owner.test_key,
            None,
            404,
        )
        .await;
}

#[tokio::test]
async fn live_and_test_data_never_mix() {
    let stack = TestStack::start().await;
    let acct = stack.account("modes@example.com").await;
    let live = create(&stack, &acct.live_key, "https://example.com/live").await;
    let test = create(&stack, &acct.test_key, "https://example.com/test").await;
    let stack = &stack;
    let listed = |key| async move {
        let endpoints = stack.api(key).endpoints().list("").await;
        endpoints.into_iter().map(|e| e.id).collect::<Vec<_>>()
    };
    assert_eq!(listed(&acct.live_key).await, [live.id]);
    assert_eq!(listed(&acct.test_key).await, [test.id]);
}

#[tokio::test]
async fn enabling_clears_error_counters_and_disabling_keeps_them() {
    let stack = TestStack::start().await;
    let acct = stack.account("toggle@example.com").await;
    let created = create(&stack, &acct.test_key, "https://example.com/flaky").await;
    // What the dispatcher records after failures (written the way it will be: on the item).
    let tenant = acct.tenant(Mode::Test);
    let db = &stack.stack.state.db;
    db.client()
        .update_item()
        .table_name(&db.tables.endpoints)
        .key("pk", aws_sdk_dynamodb::types::AttributeValue::S(tenant.partition()))
        .key("sk", aws_sdk_dynamodb::types::AttributeValue::S(id(&created).to_string()))
        .update_expression("SET error_count = :n, error_first_at = :t, error_last_at = :t, blocked_by_error_count = :b, enabled = :f")
        .expression_attribute_values(":n", aws_sdk_dynamodb::types::AttributeValue::N("15".into()))
        .expression_attribute_values(":t", aws_sdk_dynamodb::types::AttributeValue::S(Timestamp::now().to_string()))
        .expression_attribute_values(":b", aws_sdk_dynamodb::types::AttributeValue::Bool(true))
        .expression_attribute_values(":f", aws_sdk_dynamodb::types::AttributeValue::Bool(false))
        .send()
        .await
        .unwrap();
    let endpoints = stack.api(&acct.test_key).endpoints();
    let blocked = endpoints.get(&created.id).await;
    assert_eq!(
        (blocked.error_count, blocked.blocked_by_error_count),
        (15, true)
    );

    let disabled = endpoints.disable(&created.id).await;
    assert_eq!((disabled.enabled, disabled.error_count), (false, 15));
    // Enabling takes no body.
    let enabled = endpoints.enable(&created.id).await;
    assert_eq!(
        (
            enabled.enabled,
            enabled.error_count,
            enabled.error_first_at,
            enabled.error_last_at,
            enabled.blocked_by_error_count
        ),
        (true, 0, None, None, false)
    );
    // A client update made before the counters changed does not overwrite them.
    let after = endpoints
        .update(&created.id, json!({ "description": "still fine" }))
        .await;
    assert_eq!(after.error_count, 0);
}

#[tokio::test]
async fn rotating_the_secret_keeps_the_old_one_for_the_grace_period() {
    let stack = TestStack::start().await;
    let acct = stack.account("rotate@example.com").await;
    let created = create(&stack, &acct.test_key, "https://example.com/rotate").await;
    let original = created.secret().to_string();
    let path = format!("/webhooks/endpoints/{}", id(&created));
    let rotated = expect(
        stack
            .post(
                &format!("{path}/rotate-secret"),
                &acct.test_key,
                json!({ "grace_period_seconds": 3600 }),
            )
            .await,
        200,
    )
    .await;
    let current = rotated["secret"].as_str().unwrap().to_string();
    assert!(current.starts_with("whsec_") && current != original);
    assert_eq!(
        rotated.as_object().unwrap().len(),
        1,
        "only the secret: {rotated}"
    );

    let tenant = acct.tenant(Mode::Test);
    let stored = store::get(&stack.stack.state.db, &tenant, &created.id.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    let context = shared::keyring::SecretContext::endpoint(&tenant, &stored.id);
    let opened = stack
        .stack
        .state
        .keyring
        .open(&stored.secrets, &context)
        .await
        .unwrap();
    let now = Timestamp::now();
    assert_eq!(
        opened.signing_at(now).collect::<Vec<_>>(),
        vec![current.as_str(), original.as_str()]
    );
    let later = now.plus(std::time::Duration::from_secs(3601));
    assert_eq!(
        opened.signing_at(later).collect::<Vec<_>>(),
        vec![current.as_str()]
    );

    let immediate = expect(
        stack
            .request(
                Method::POST,
                &format!("{path}/rotate-secret"),
                &acct.test_key,
            )
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_ne!(immediate["secret"], rotated["secret"]);
    stack
        .refuses(
            Method::POST,
            &format!("{path}/rotate-secret"),
            &acct.test_key,
            json!({ "grace_period_seconds": 604801 }),
            400,
        )
        .await;
    let body = stack
        .refuses(
            Method::POST,
            &format!("{path}/rotate-secret"),
            &acct.test_key,
            json!({ "grace_period_seconds": -1 }),
            400,
        )
        .await;
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("grace_period_seconds")
    );
}

#[tokio::test]
async fn lists_filter_by_url_enabled_and_event() {
    let stack = TestStack::start().await;
    let acct = stack.account("filters@example.com").await;
    let key = &acct.test_key;
    let paid = create(&stack, key, "https://shop.example.com/paid").await;
    let all = stack
        .api(key)
        .endpoints()
        .create(json!({ "url": "https://erp.example.com/all", "events": ["*"] }))
        .await;
    let off = stack.api(key).endpoints().create(json!({ "url": "https://shop.example.com/off", "events": ["query:created"], "enabled": false })).await;

    let endpoints = stack.api(key).endpoints();
    let ids = |query: &'static str| async move {
        let listed = endpoints.list(query).await;
        listed.into_iter().map(|e| e.id).collect::<Vec<_>>()
    };
    assert_eq!(
        ids("url=shop.example").await,
        [id(&off), id(&paid)],
        "newest first"
    );
    // The filter searches the URL as responses show it: a password cannot be probed.
    let secret = stack
        .api(key)
        .endpoints()
        .create(json!({ "url": "https://hooks:s3cret@vault.example.com/in", "events": ["*"] }))
        .await;
    for probe in ["url=s3cret", "url=hooks:s3", "url=s3cret@vault"] {
        assert!(ids(probe).await.is_empty(), "{probe} finds nothing");
    }
    assert_eq!(ids("url=vault.example").await, [id(&secret)]);
    let moved = json!({ "url": "https://other:pw@moved.example.com/in" });
    endpoints.update(&secret.id, moved).await;
    assert_eq!(
        ids("url=moved").await,
        [id(&secret)],
        "an update moves what the filter sees"
    );
    endpoints.delete(&secret.id).await;
    let disabled = stack.get("/webhooks/endpoints?enabled=false", key).await;
    assert_eq!(header(&disabled, "x-total-count").as_deref(), Some("1"));
    assert_eq!(ids("enabled=false").await, [id(&off)]);
    assert_eq!(ids("event=order:paid").await, [id(&all), id(&paid)]);
    assert_eq!(ids("event=query:created&enabled=true").await, [id(&all)]);

    let bad = stack
        .refuses(
            Method::GET,
            "/webhooks/endpoints?enabled=maybe&event=nope&page=0",
            key,
            None,
            400,
        )
        .await;
    assert_eq!(bad["errors"].as_array().unwrap().len(), 3, "{bad}");
}

fn links(response: &reqwest::Response) -> Vec<(String, String)> {
    header(response, "link")
        .unwrap_or_default()
        .split(", ")
        .map(|part| {
            let (target, rel) = part.split_once("; rel=").unwrap();
            (
                rel.trim_matches('"').to_string(),
                target.trim_matches(['<', '>']).to_string(),
            )
        })
        .collect()
}

fn link<'a>(links: &'a [(String, String)], rel: &str) -> Option<&'a str> {
    links
        .iter()
        .find(|(r, _)| r == rel)
        .map(|(_, t)| t.as_str())
}

#[tokio::test]
async fn pagination_totals_and_links_are_exact_across_pages() {
    let stack = TestStack::start().await;
    let acct = stack.account("pages@example.com").await;
    let mut created = Vec::new();
    for n in 0..7 {
        let body = json!({ "url": format!("https://example.com/{n}"), "events": ["*"], "enabled": n % 2 == 0 });
        created.push(
            expect(
                stack
                    .post("/webhooks/endpoints", &acct.test_key, body)
                    .await,
                201,
            )
            .await["id"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    created.reverse(); // newest first

    let mut seen = Vec::new();
    for page in 1..=3 {
        let response = stack
            .get(
                &format!("/webhooks/endpoints?per_page=3&page={page}"),
                &acct.test_key,
            )
            .await;
        assert_eq!(header(&response, "x-total-count").as_deref(), Some("7"));
        assert_eq!(header(&response, "x-total-pages").as_deref(), Some("3"));
        let links = links(&response);
        assert_eq!(
            link(&links, "first"),
            Some("/api/v2/webhooks/endpoints?page=1&per_page=3")
        );
        assert_eq!(
            link(&links, "last"),
            Some("/api/v2/webhooks/endpoints?page=3&per_page=3")
        );
        assert_eq!(link(&links, "next").is_some(), page < 3);
        assert_eq!(link(&links, "prev").is_some(), page > 1);
        if page == 2 {
            assert_eq!(
                link(&links, "next"),
                Some("/api/v2/webhooks/endpoints?page=3&per_page=3")
            );
            assert_eq!(
                link(&links, "prev"),
                Some("/api/v2/webhooks/endpoints?page=1&per_page=3")
            );
        }
        let body = expect(response, 200).await;
        seen.extend(
            body.as_array()
                .unwrap()
                .iter()
                .map(|e| e["id"].as_str().unwrap().to_string()),
        );
    }
    assert_eq!(seen, created, "every endpoint exactly once, newest first");

    let beyond = stack
        .get("/webhooks/endpoints?per_page=3&page=4", &acct.test_key)
        .await;
    assert_eq!(header(&beyond, "x-total-count").as_deref(), Some("7"));
    assert_eq!(expect(beyond, 200).await, json!([]));

    // Filtered lists page over the matches only (4 enabled of 7), keeping the filter in links.
    let first = stack
        .get(
            "/webhooks/endpoints?enabled=true&per_page=3",
            &acct.test_key,
        )
        .await;
    assert_eq!(header(&first, "x-total-count").as_deref(), Some("4"));
    assert_eq!(header(&first, "x-total-pages").as_deref(), Some("2"));
    let next = link(&links(&first), "next").unwrap().to_string();
    assert_eq!(
        next,
        "/api/v2/webhooks/endpoints?enabled=true&page=2&per_page=3"
    );
    let first_ids: Vec<String> = expect(first, 200)
        .await
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_string())
        .collect();
    let second = stack
        .http
        .get(format!("{}{next}", stack.stack.base_url()))
        .bearer_auth(&acct.test_key)
        .send()
        .await
        .unwrap();
    let second_ids: Vec<String> = expect(second, 200)
        .await
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_string())
        .collect();
    let enabled: Vec<String> = created
        .iter()
        .enumerate()
        .filter(|(i, _)| (6 - i) % 2 == 0)
        .map(|(_, id)| id.clone())
        .collect();
    assert_eq!([first_ids, second_ids].concat(), enabled);

    for bad in ["page=0", "per_page=0", "per_page=101", "page=abc"] {
        stack
            .refuses(
                Method::GET,
                &format!("/webhooks/endpoints?{bad}"),
                &acct.test_key,
                None,
                400,
            )
            .await;
    }
    let default = stack.get("/webhooks/endpoints", &acct.test_key).await;
    assert_eq!(header(&default, "x-total-pages").as_deref(), Some("1"));
}

/// Every item of a table, as DynamoDB holds it.
async fn raw_items(stack: &TestStack, table: &str) -> Vec<String> {
    stack
        .stack
        .state
        .db
        .client()
        .scan()
        .table_name(table)
        .send()
        .await
        .unwrap()
        .items
        .unwrap_or_default()
        .iter()
        .map(|item| format!("{item:?}"))
        .collect()
}

#[tokio::test]
async fn signing_secrets_are_sealed_at_rest_and_only_signing_functions_open_them() {
    let stack = TestStack::start().await;
    let acct = stack.account("sealed@example.com").await;
    let created = create(&stack, &acct.test_key, "https://example.com/sealed").await;
    let secret = created.secret();
    let rotated = expect(
        stack
            .post(
                &format!("/webhooks/endpoints/{}/rotate-secret", id(&created)),
                &acct.test_key,
                json!({}),
            )
            .await,
        200,
    )
    .await;
    let account_secret = expect(
        stack
            .post("/account/webhook-secret/rotate", &acct.test_key, json!({}))
            .await,
        200,
    )
    .await;
    let tables = &stack.stack.state.config.tables;
    for table in [&tables.endpoints, &tables.accounts] {
        for item in raw_items(&stack, table).await {
            assert!(
                !item.contains("whsec_"),
                "a secret in clear in {table}: {item}"
            );
        }
    }
    for shown in [
        secret,
        rotated["secret"].as_str().unwrap(),
        account_secret["secret"].as_str().unwrap(),
    ] {
        let encoded = shown.trim_start_matches("whsec_");
        for table in [&tables.endpoints, &tables.accounts] {
            assert!(
                raw_items(&stack, table)
                    .await
                    .iter()
                    .all(|item| !item.contains(encoded))
            );
        }
    }

    // The dispatcher's role may open them; a function that never signs may not.
    let tenant = acct.tenant(Mode::Test);
    let stored = store::get(&stack.stack.state.db, &tenant, &created.id.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    let context = shared::keyring::SecretContext::endpoint(&tenant, &stored.id);
    let dispatcher = stack.stack.function("DispatcherFunction");
    let opened = dispatcher
        .keyring
        .open(&stored.secrets, &context)
        .await
        .unwrap();
    assert_eq!(opened.current, rotated["secret"].as_str().unwrap());
    assert_eq!(
        opened.retired[0].secret, secret,
        "the old one, in its grace period"
    );
    for function in [
        "ProductsFunction",
        "PaymentsFunction",
        "EventsFunction",
        "OrdersFunction",
    ] {
        let refused = stack
            .stack
            .function(function)
            .keyring
            .open(&stored.secrets, &context)
            .await;
        assert!(
            matches!(&refused, Err(shared::keyring::KeyringError::Failed { cause, .. }) if cause.contains("AccessDenied")),
            "{function} opened a webhook secret: {refused:?}"
        );
    }
    // A seal is bound to its item: copied to another endpoint, it does not open.
    let elsewhere = shared::keyring::SecretContext::endpoint(&tenant, "ep_other");
    assert!(matches!(
        dispatcher.keyring.open(&stored.secrets, &elsewhere).await,
        Err(shared::keyring::KeyringError::Corrupt(_))
    ));
    // Its data key is the account's: KMS itself refuses it for another account (the
    // account is in the encryption context, so CloudTrail names it too).
    let neighbour = stack.account("sealed-neighbour@example.com").await;
    let theirs =
        shared::keyring::SecretContext::endpoint(&neighbour.tenant(Mode::Test), &stored.id);
    let refused = stack
        .stack
        .function("WebhookLogsFunction")
        .keyring
        .open(&stored.secrets, &theirs)
        .await;
    assert!(
        matches!(&refused, Err(shared::keyring::KeyringError::Failed { operation: "Decrypt", cause }) if cause.contains("InvalidCiphertext")),
        "{refused:?}"
    );
}

/// Secrets sealed before data keys were per account (`kms1:`, a context naming only
/// the purpose) still open, so no stored secret is lost by the change.
#[tokio::test]
async fn secrets_sealed_under_the_shared_data_key_still_open() {
    use base64::{Engine, engine::general_purpose::STANDARD};
    let stack = TestStack::start().await;
    let acct = stack.account("kms1@example.com").await;
    let tenant = acct.tenant(Mode::Test);
    let sdk = shared::aws::for_emulator(harness::moto_endpoint()).await;
    let kms = aws_sdk_kms::Client::new(&sdk);
    let generated = kms
        .generate_data_key()
        .key_id(stack.stack.state.config.secrets_key_id.clone().unwrap())
        .key_spec(aws_sdk_kms::types::DataKeySpec::Aes256)
        .encryption_context("purpose", "pushguard-webhook-signing-secrets")
        .send()
        .await
        .unwrap();
    let key =
        shared::secrets::SealingKey::from_bytes(generated.plaintext.unwrap().as_ref()).unwrap();
    let secrets = json!({ "current": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "retired": [] });
    let item = format!("endpoint/{}/ep_legacy", tenant.partition());
    let boxed = key.seal(&item, secrets.to_string().as_bytes());
    let sealed: shared::keyring::SealedSecrets = serde_json::from_value(json!(format!(
        "kms1:{}:{}",
        STANDARD.encode(generated.ciphertext_blob.unwrap().as_ref()),
        STANDARD.encode(boxed)
    )))
    .unwrap();
    let context = shared::keyring::SecretContext::endpoint(&tenant, "ep_legacy");
    let opened = stack
        .stack
        .function("DispatcherFunction")
        .keyring
        .open(&sealed, &context)
        .await
        .unwrap();
    assert_eq!(opened.current, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
}

/// An endpoint's `events` is capped (100 entries), kept once each, and its custom types
/// are checked in one batch read, however often they repeat (before: no cap, and one
/// read per entry).
#[tokio::test]
async fn an_endpoints_events_are_capped_deduplicated_and_checked_in_one_batch() {
    let counter = std::sync::Arc::new(shared::aws::CallCounter::default());
    let stack = TestStack::start_counted(&[], Some(counter.clone()), 2).await;
    let acct = stack.account("events-cap@example.com").await;
    let key = &acct.test_key;
    for name in ["shop:a", "shop:b"] {
        stack.register_event_type(key, name, "A test").await;
    }
    let url = "https://example.com/capped";
    let too_many: Vec<String> = (0..101).map(|n| format!("shop:t{n}")).collect();
    let (status, body) = status_and_json(
        stack
            .post(
                "/webhooks/endpoints",
                key,
                json!({ "url": url, "events": too_many }),
            )
            .await,
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(
        body["errors"],
        json!(["Events can have at most 100 entries"])
    );

    let mut events = vec!["shop:a"; 50];
    events.extend(vec!["shop:b"; 49]);
    events.push("order:paid");
    let before = counter.snapshot_of("WebhookEndpointsFunction");
    let created = expect(
        stack
            .post(
                "/webhooks/endpoints",
                key,
                json!({ "url": url, "events": events }),
            )
            .await,
        201,
    )
    .await;
    assert_eq!(created["events"], json!(["shop:a", "shop:b", "order:paid"]));
    let after = counter.snapshot_of("WebhookEndpointsFunction");
    let batches = after.get("DynamoDB.BatchGetItem").copied().unwrap_or(0)
        - before.get("DynamoDB.BatchGetItem").copied().unwrap_or(0);
    assert_eq!(batches, 1, "{after:?}");

    let unknown = vec!["shop:zzz"; 30];
    let (status, body) = status_and_json(
        stack
            .post(
                "/webhooks/endpoints",
                key,
                json!({ "url": "https://example.com/unknown", "events": unknown }),
            )
            .await,
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(
        body["errors"].as_array().unwrap().len(),
        1,
        "said once: {body}"
    );
}

/// Custom header values often carry the receiver's credentials: the API shows them as
/// `****`, and `****` sent back (a view written back, the portal's form) keeps the value,
/// while deliveries carry the real one.
#[tokio::test]
async fn custom_header_values_are_shown_masked_and_kept_when_sent_back_masked() {
    let stack = TestStack::start().await;
    let receiver = harness::Receiver::start().await;
    let acct = stack.account("masked-headers@example.com").await;
    let key = &acct.test_key;
    let created = expect(
        stack
            .post(
                "/webhooks/endpoints",
                key,
                json!({ "url": receiver.url("/h"), "events": ["*"],
                        "headers": { "Authorization": "Bearer receiver-secret", "X-Team": "erp" } }),
            )
            .await,
        201,
    )
    .await;
    assert_eq!(
        created["headers"],
        json!({ "authorization": "****", "x-team": "****" })
    );
    assert!(!created.to_string().contains("receiver-secret"));
    let id = created["id"].as_str().unwrap();
    let path = format!("/webhooks/endpoints/{id}");
    let listed = expect(stack.get("/webhooks/endpoints", key).await, 200).await;
    assert!(!listed.to_string().contains("receiver-secret"));

    // The view written back: the masked value is kept, the new one set.
    let updated = expect(
        stack
            .put(
                &path,
                key,
                json!({ "headers": { "authorization": "****", "x-team": "payments" } }),
            )
            .await,
        200,
    )
    .await;
    assert_eq!(updated["headers"]["authorization"], "****");
    let test = expect(
        stack.post(&format!("{path}/test"), key, json!({})).await,
        200,
    )
    .await;
    assert_eq!(test["delivered"], true, "{test}");
    let ping = receiver.wait_for("/h", 1).await.remove(0);
    assert_eq!(ping.header("authorization"), "Bearer receiver-secret");
    assert_eq!(ping.header("x-team"), "payments");

    // A masked value for a header that has none stands for nothing: 400, nothing saved.
    let (status, body) = status_and_json(
        stack
            .put(&path, key, json!({ "headers": { "x-new": "****" } }))
            .await,
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(
        body["errors"],
        json!(["Header \"x-new\" is masked (****); send its value"])
    );
}
