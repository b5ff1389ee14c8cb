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
