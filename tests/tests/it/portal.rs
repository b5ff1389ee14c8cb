//! The webhook portal: links made with an API key, opened without one, one tenant's
//! only, revocable, expiring, and pages that load nothing from another origin.

use harness::{TestStack, expect, status_and_json};
use reqwest::{StatusCode, header};
use serde_json::json;

/// A browser that does not follow redirects, so the link's answer can be read.
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .use_preconfigured_tls(shared::tls::delivery_config())
        .build()
        .unwrap()
}

/// Opens `url` (a portal link): the cookie it sets.
async fn open_link(url: &str) -> String {
    let response = browser().get(url).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()[header::LOCATION], "/portal");
    let cookie = response.headers()[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .to_string();
    for attribute in ["Path=/portal", "HttpOnly", "SameSite=Lax", "Max-Age="] {
        assert!(cookie.contains(attribute), "{attribute} in {cookie}");
    }
    cookie.split(';').next().unwrap().to_string()
}

async fn portal_page(stack: &TestStack, cookie: Option<&str>) -> (StatusCode, String, String) {
    let mut request = browser().get(format!("{}/portal", stack.stack.base_url()));
    if let Some(cookie) = cookie {
        request = request.header(header::COOKIE, cookie);
    }
    let response = request.send().await.unwrap();
    let csp = response
        .headers()
        .get(header::CONTENT_SECURITY_POLICY)
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (response.status(), csp, response.text().await.unwrap())
}

#[tokio::test]
async fn a_portal_link_shows_its_tenants_endpoints_without_an_api_key_until_revoked() {
    let stack = TestStack::start().await;
    let receiver = harness::Receiver::start().await;
    let mine = stack.account("portal-mine@example.com").await;
    let theirs = stack.account("portal-theirs@example.com").await;
    let endpoint = stack
        .api(&mine.test_key)
        .endpoints()
        .create_to(&receiver.url("/mine"), &["order:paid"])
        .await;
    let other = stack
        .api(&theirs.test_key)
        .endpoints()
        .create_to(&receiver.url("/theirs"), &["order:paid"])
        .await;
    // One attempt for the statistics the page shows.
    assert!(
        stack
            .api(&mine.test_key)
            .endpoints()
            .test(endpoint.id.as_str())
            .await
            .delivered
    );

    let created = expect(
        stack
            .post(
                "/portal/sessions",
                &mine.test_key,
                json!({ "scope": "read" }),
            )
            .await,
        201,
    )
    .await;
    let url = created["url"].as_str().unwrap();
    assert!(
        url.starts_with(&format!("{}/portal/pgps_", stack.stack.base_url())),
        "{url}"
    );
    assert_eq!(created["scope"], "read");
    let id = created["id"].as_str().unwrap();
    assert!(id.starts_with("ps_"), "{id}");
    let expires = shared::Timestamp::parse(created["expires_at"].as_str().unwrap()).unwrap();
    let hour = expires.as_millis() - shared::Timestamp::now().as_millis();
    assert!(
        (3_590_000..=3_600_000).contains(&hour),
        "an hour by default: {hour} ms"
    );

    // The token is stored hashed: the link's secret is nowhere in the requests table.
    let token = url.rsplit('/').next().unwrap();
    let text = format!("{:?}", stack.requests_items().await);
    assert!(
        text.contains(id) && !text.contains(token),
        "hashed, kept under its id"
    );

    let cookie = open_link(url).await;
    let (status, csp, html) = portal_page(&stack, Some(&cookie)).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(
        html.contains(endpoint.id.as_str()),
        "its endpoint is listed"
    );
    assert!(html.contains("100.0%"), "the test ping succeeded: {html}");
    assert!(html.contains(r#"id="scope">read only<"#));
    assert!(html.contains("<svg class=\"sparkline\""));
    assert!(
        !html.contains(other.id.as_str()),
        "another tenant's endpoint is not"
    );
    assert!(!html.contains("/theirs"));
    assert!(csp.contains("default-src 'none'"), "{csp}");
    assert!(csp.contains("style-src 'sha256-"), "{csp}");
    assert!(!csp.contains("http"), "no other origin: {csp}");
    assert!(!html.contains("<script"), "no script at all");
    assert!(
        !html.contains("src="),
        "nothing loaded, from here or elsewhere"
    );

    // The endpoint's page: both charts, drawn from the same statistics.
    let base = stack.stack.base_url();
    let page = |path: String| {
        let (cookie, base) = (cookie.clone(), base.clone());
        async move {
            let response = browser()
                .get(format!("{base}{path}"))
                .header(header::COOKIE, cookie)
                .send()
                .await
                .unwrap();
            (response.status(), response.text().await.unwrap())
        }
    };
    let (status, html) = page(format!("/portal/endpoints/{}", endpoint.id)).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains(r#"<svg id="outcomes""#) && html.contains(r#"<svg id="latency""#));
    assert!(html.contains(r#"class="succeeded""#), "the ping's bar");
    assert!(
        html.contains(r#"id="attempts">1 (1 succeeded, 0 failed)"#),
        "{html}"
    );
    let (status, html) = page(format!("/portal/endpoints/{}?period=7d", endpoint.id)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("24 hours</a> · 7 days"));
    let (status, _) = page(format!("/portal/endpoints/{}", other.id)).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "another tenant's endpoint");
    let (status, _) = page("/portal/endpoints/not-an-id".to_string()).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let (status, _, _) = portal_page(&stack, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "no cookie, no portal");
    let (status, _, _) = portal_page(&stack, Some("pg_portal=pgps_forged")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // Only its tenant may revoke it; then neither the cookie nor the link works.
    let path = format!("/portal/sessions/{id}");
    let (status, _) = status_and_json(stack.delete(&path, &theirs.test_key).await).await;
    assert_eq!(status, 404);
    let (status, _) = status_and_json(stack.delete(&path, &mine.live_key).await).await;
    assert_eq!(status, 404, "live and test are two tenants");
    let response = stack.delete(&path, &mine.test_key).await;
    assert_eq!(response.status(), 204);
    let (status, _, html) = portal_page(&stack, Some(&cookie)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{html}");
    let response = browser().get(url).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(response.headers().get(header::SET_COOKIE).is_none());
    let (status, _) = status_and_json(stack.delete(&path, &mine.test_key).await).await;
    assert_eq!(status, 404, "revoked once");
}

#[tokio::test]
async fn portal_sessions_are_validated_scoped_and_expire() {
    let stack = TestStack::start().await;
    let acct = stack.account("portal-rules@example.com").await;
    let key = &acct.test_key;
    for (body, error) in [
        (json!({}), "Scope can't be blank"),
        (
            json!({ "scope": "read", "expires_in": 59 }),
            "Expires in must be from 60 to 86400 seconds",
        ),
        (
            json!({ "scope": "read", "expires_in": 86_401 }),
            "Expires in must be from 60 to 86400 seconds",
        ),
    ] {
        let (status, answer) =
            status_and_json(stack.post("/portal/sessions", key, body).await).await;
        assert_eq!(status, 400, "{answer}");
        assert_eq!(answer["errors"], json!([error]));
    }
    let (status, _) = status_and_json(
        stack
            .post("/portal/sessions", key, json!({ "scope": "admin" }))
            .await,
    )
    .await;
    assert_eq!(status, 400);

    let reader = stack
        .api(key)
        .account()
        .create_key(json!({ "name": "reader", "scopes": ["webhooks:read"] }))
        .await;
    let (status, _) = status_and_json(
        stack
            .post("/portal/sessions", &reader.key, json!({ "scope": "read" }))
            .await,
    )
    .await;
    assert_eq!(status, 403, "a link needs webhooks:write");

    let day = expect(
        stack
            .post(
                "/portal/sessions",
                key,
                json!({ "scope": "manage", "expires_in": 86_400 }),
            )
            .await,
        201,
    )
    .await;
    assert_eq!(day["scope"], "manage");

    // A session past its end (DynamoDB's TTL deletes it only later) opens nothing.
    let id = shared::ids::PortalSessionId::new();
    let token = shared::portal::PortalToken::generate(&id);
    let now = shared::Timestamp::now();
    let expired = shared::portal::PortalSession {
        id,
        tenant: acct.tenant(shared::Mode::Test),
        scope: shared::portal::PortalScope::Manage,
        created_by: "key_test".into(),
        created_at: shared::Timestamp::from_millis(now.as_millis() - 7_200_000),
        expires_at: shared::Timestamp::from_millis(now.as_millis() - 1_000),
        token_hash: token.hash(),
    };
    shared::store::portal::create(&stack.stack.state.db, &expired)
        .await
        .unwrap();
    let link = format!("{}/portal/{}", stack.stack.base_url(), token.expose());
    let response = browser().get(&link).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let html = response.text().await.unwrap();
    assert!(html.contains("expired or was revoked"), "{html}");
    let cookie = format!("pg_portal={}", token.expose());
    let (status, _, _) = portal_page(&stack, Some(&cookie)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "nor does its cookie");
}
