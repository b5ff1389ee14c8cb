//! What a merchant does by hand: test pings, recovery and retries of failed
//! deliveries, simulations, and the delivery logs they read.

use super::*;

#[tokio::test]
async fn test_route_pings_now_and_reports() {
    let stack = fast_stack(&[]).await;
    let receiver = Receiver::start().await;
    receiver.set("/down", Behaviour::Always(500, None));
    let acct = stack.account("ping@example.com").await;
    let up = endpoint(
        &stack,
        &acct.test_key,
        &receiver.url("/up"),
        json!(["order:paid"]),
    )
    .await;
    let result = endpoints(&stack, &acct.test_key).test(&up.id).await;
    assert_eq!((result.delivered, result.response_code), (true, 200));
    let delivery = receiver.received("/up").remove(0);
    assert_eq!(delivery.header("x-pushguard-event"), "webhook:ping");
    assert_eq!(delivery.header("webhook-id"), result.log_id);
    verify_standard(up.secret(), &delivery).unwrap();
    let logged = log(&stack, &acct.test_key, &result.log_id).await;
    assert_eq!(logged.duration_ms, result.response_time_ms);
    assert_eq!(
        (logged.event.as_str(), logged.status.as_str()),
        ("webhook:ping", "succeeded")
    );

    let down = endpoint(
        &stack,
        &acct.test_key,
        &receiver.url("/down"),
        json!(["order:paid"]),
    )
    .await;
    let result = endpoints(&stack, &acct.test_key).test(&down.id).await;
    assert_eq!((result.delivered, result.response_code), (false, 500));
    let logged = log(&stack, &acct.test_key, &result.log_id).await;
    assert_eq!(logged.status, "failed", "a ping is not retried");
    assert_eq!(
        endpoints(&stack, &acct.test_key)
            .get(&down.id)
            .await
            .error_count,
        0,
        "pings do not count toward disabling"
    );
    stack
        .refuses(
            Method::POST,
            "/webhooks/endpoints/ep_01ARZ3NDEKTSV4RRFFQ69G5FAV/test",
            &acct.test_key,
            json!({}),
            404,
        )
        .await;
}

#[tokio::test]
async fn recover_resends_failed_deliveries_and_manual_retry_delivers_now() {
    let stack = fast_stack(&[("RETRY_SCHEDULE", "1s")]).await;
    let receiver = Receiver::start().await;
    receiver.set("/broken", Behaviour::Always(500, None));
    let acct = stack.account("recover@example.com").await;
    let created = endpoint(
        &stack,
        &acct.test_key,
        &receiver.url("/broken"),
        json!(["*"]),
    )
    .await;
    let since = shared::Timestamp::now().to_string();
    publish(&stack, &acct.test_key, "order:paid", json!({ "n": 1 })).await;
    publish(&stack, &acct.test_key, "order:paid", json!({ "n": 2 })).await;
    let logs = stack.api(&acct.test_key).logs();
    let failed = eventually("both deliveries fail", || async {
        let failed = logs.list("status=failed").await;
        (failed.len() == 2).then_some(failed)
    })
    .await;

    receiver.set("/broken", Behaviour::Accept);
    let retried = logs.retry(&failed[0].id).await;
    assert_eq!((retried.status.as_str(), retried.retries), ("succeeded", 2));

    let path = format!("/webhooks/endpoints/{}/recover", created.id.as_str());
    stack
        .refuses(Method::POST, &path, &acct.test_key, json!({}), 400)
        .await;
    stack
        .refuses(
            Method::POST,
            &path,
            &acct.test_key,
            json!({ "since": "yesterday" }),
            400,
        )
        .await;
    let recovered = endpoints(&stack, &acct.test_key)
        .recover(&created.id, &since)
        .await;
    assert_eq!(recovered, 1, "only the still-failed delivery");
    eventually("the recovered delivery succeeds", || async {
        (logs.list("status=succeeded").await.len() == 2).then_some(())
    })
    .await;
}

#[tokio::test]
async fn logs_list_filters_and_are_private_to_their_tenant() {
    let stack = fast_stack(&[]).await;
    let receiver = Receiver::start().await;
    receiver.set("/no", Behaviour::Always(500, None));
    let acct = stack.account("logs@example.com").await;
    let other = stack.account("logs-other@example.com").await;
    let yes = endpoint(&stack, &acct.test_key, &receiver.url("/yes"), json!(["*"])).await;
    endpoint(
        &stack,
        &acct.test_key,
        &receiver.url("/no"),
        json!(["order:paid"]),
    )
    .await;
    publish(&stack, &acct.test_key, "order:paid", json!({})).await;
    publish(&stack, &acct.test_key, "query:replied", json!({})).await;
    receiver.wait_for("/yes", 2).await;
    let key = &acct.test_key;
    let all = eventually("three logs", || async {
        let response = stack.get("/webhooks/logs", key).await;
        let total = harness::header(&response, "x-total-count");
        let body = expect(response, 200).await;
        (total.as_deref() == Some("3")).then_some(body)
    })
    .await;
    assert_eq!(all.as_array().unwrap().len(), 3);
    let logs = stack.api(key).logs();
    let by_endpoint = logs.list(&format!("endpoint_id={}", yes.id)).await;
    assert_eq!(by_endpoint.len(), 2);
    assert!(
        by_endpoint
            .iter()
            .all(|log| log.endpoint_id.as_deref() == Some(yes.id.as_str()))
    );
    let by_event = logs.list("event=query:replied").await;
    assert_eq!(
        by_event
            .iter()
            .map(|log| log.event.as_str())
            .collect::<Vec<_>>(),
        ["query:replied"]
    );
    stack
        .refuses(
            Method::GET,
            "/webhooks/logs?status=lost&event=nope",
            key,
            None,
            400,
        )
        .await;
    let paged = stack.get("/webhooks/logs?per_page=2&page=2", key).await;
    assert_eq!(
        harness::header(&paged, "x-total-pages").as_deref(),
        Some("2")
    );
    assert_eq!(expect(paged, 200).await.as_array().unwrap().len(), 1);

    let id = all[0]["id"].as_str().unwrap();
    stack
        .refuses(
            Method::GET,
            &format!("/webhooks/logs/{id}"),
            &other.test_key,
            None,
            404,
        )
        .await;
    stack
        .refuses(
            Method::GET,
            &format!("/webhooks/logs/{id}"),
            &acct.live_key,
            None,
            404,
        )
        .await;
    stack
        .refuses(
            Method::POST,
            &format!("/webhooks/logs/{id}/retry"),
            &other.test_key,
            json!({}),
            404,
        )
        .await;
    assert!(stack.api(&other.test_key).logs().list("").await.is_empty());
}

#[tokio::test]
async fn simulate_sends_a_sample_signed_with_the_account_secret() {
    let stack = fast_stack(&[]).await;
    let receiver = Receiver::start().await;
    let acct = stack.account("simulate@example.com").await;
    let secret = stack
        .api(&acct.test_key)
        .account()
        .rotate_webhook_secret()
        .await;
    let result = expect(
        stack
            .post(
                "/webhooks/simulate",
                &acct.test_key,
                json!({ "url": receiver.url("/sim"), "event": "order:paid" }),
            )
            .await,
        200,
    )
    .await;
    assert_eq!(result["delivered"], true);
    let delivery = receiver.received("/sim").remove(0);
    assert_eq!(
        delivery.json()["status"],
        100,
        "the order:paid sample is a paid order"
    );
    assert_eq!(delivery.header("x-pushguard-event"), "order:paid");
    verify_standard(&secret, &delivery).unwrap();
    let invalid = stack
        .refuses(
            Method::POST,
            "/webhooks/simulate",
            &acct.test_key,
            json!({ "url": "ftp://x", "event": "order:shipped" }),
            400,
        )
        .await;
    assert_eq!(invalid["errors"].as_array().unwrap().len(), 2);

    // A live sample would be a genuinely signed live order:paid that never was.
    let live = stack
        .refuses(
            Method::POST,
            "/webhooks/simulate",
            &acct.live_key,
            json!({ "url": receiver.url("/live"), "event": "order:paid" }),
            400,
        )
        .await;
    assert_eq!(
        live["errors"],
        json!(["Simulations send samples in test mode only: use a test key"])
    );
    assert!(receiver.received("/live").is_empty());
}
