//! Failed deliveries: retried with one id on the schedule, parked beyond the queue
//! delay, honouring Retry-After, and endpoints disabled when they stay dead.

use super::*;

#[tokio::test]
async fn failed_deliveries_are_retried_with_one_id_until_they_succeed() {
    let stack = fast_stack(&[]).await;
    let receiver = Receiver::start().await;
    receiver.set("/flaky", Behaviour::FailTimes(2, 500));
    let acct = stack.account("retry@example.com").await;
    let created = endpoint(
        &stack,
        &acct.test_key,
        &receiver.url("/flaky"),
        json!(["order:paid"]),
    )
    .await;
    publish(&stack, &acct.test_key, "order:paid", json!({ "id": 1 })).await;

    let deliveries = receiver.wait_for("/flaky", 3).await;
    let ids: Vec<&str> = deliveries.iter().map(|d| d.header("webhook-id")).collect();
    assert!(
        ids.iter().all(|id| *id == ids[0]),
        "a retry keeps its webhook-id: {ids:?}"
    );
    let secret = created.secret();
    for delivery in &deliveries {
        verify_standard(secret, delivery).unwrap();
    }
    let logged = eventually("succeeded after two retries", || async {
        let logged = log(&stack, &acct.test_key, ids[0]).await;
        (logged.status == "succeeded").then_some(logged)
    })
    .await;
    assert_eq!((logged.retries, logged.response_code), (2, 200));
    // The streak is reset just after the log is recorded.
    let after = eventually("the streak is reset", || async {
        let endpoint = endpoints(&stack, &acct.test_key).get(&created.id).await;
        (endpoint.error_count == 0).then_some(endpoint)
    })
    .await;
    assert_eq!(
        (after.error_count, after.error_first_at),
        (0, None),
        "a success ends the streak"
    );
}

#[tokio::test]
async fn a_dead_endpoint_fails_its_deliveries_and_is_disabled() {
    let stack = fast_stack(&[
        ("DISABLE_AFTER_FAILURES", "4"),
        ("DISABLE_AFTER_SECONDS", "0"),
    ])
    .await;
    let receiver = Receiver::start().await;
    receiver.set("/dead", Behaviour::Always(503, None));
    let acct = stack.account("dead@example.com").await;
    let created = endpoint(&stack, &acct.test_key, &receiver.url("/dead"), json!(["*"])).await;
    publish(
        &stack,
        &acct.test_key,
        "query:created",
        json!({ "id": "q1" }),
    )
    .await;

    let deliveries = receiver.wait_for("/dead", 4).await;
    let log_id = deliveries[0].header("webhook-id").to_string();
    let logged = eventually("the log fails after its retries", || async {
        let logged = log(&stack, &acct.test_key, &log_id).await;
        (logged.status == "failed").then_some(logged)
    })
    .await;
    assert_eq!((logged.retries, logged.response_code), (3, 503));
    assert_eq!(logged.next_retry_at, None);
    let endpoint = eventually("the endpoint is disabled", || async {
        let endpoint = endpoints(&stack, &acct.test_key).get(&created.id).await;
        (!endpoint.enabled).then_some(endpoint)
    })
    .await;
    assert!(endpoint.blocked_by_error_count);
    assert_eq!(endpoint.error_count, 4);
    assert!(endpoint.error_first_at.is_some() && endpoint.error_last_at.is_some());
    // Disabled endpoints receive nothing more.
    publish(
        &stack,
        &acct.test_key,
        "query:created",
        json!({ "id": "q2" }),
    )
    .await;
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    assert_eq!(receiver.received("/dead").len(), 4);
    let enabled = endpoints(&stack, &acct.test_key).enable(&created.id).await;
    assert_eq!(
        (
            enabled.enabled,
            enabled.error_count,
            enabled.blocked_by_error_count
        ),
        (true, 0, false)
    );
}

#[tokio::test]
async fn gone_redirect_timeout_and_huge_bodies() {
    let stack = fast_stack(&[("RETRY_SCHEDULE", "30s")]).await;
    let receiver = Receiver::start().await;
    receiver.set("/gone", Behaviour::Always(410, None));
    receiver.set("/moved", Behaviour::Redirect);
    receiver.set("/slow", Behaviour::Hang(std::time::Duration::from_secs(5)));
    receiver.set("/huge", Behaviour::Huge(100 * 1024));
    let acct = stack.account("edges@example.com").await;
    let key = &acct.test_key;
    let mut ids = std::collections::HashMap::new();
    for path in ["/gone", "/moved", "/slow", "/huge"] {
        ids.insert(
            path,
            endpoint(&stack, key, &receiver.url(path), json!(["order:created"]))
                .await
                .id
                .to_string(),
        );
    }
    // The version a concurrent PUT would have read before the 410.
    let tenant = acct.tenant(Mode::Test);
    let read_before = shared::store::endpoints::get(
        &stack.stack.state.db,
        &tenant,
        &ids["/gone"].parse().unwrap(),
    )
    .await
    .unwrap()
    .unwrap();
    publish(&stack, key, "order:created", json!({ "id": "o1" })).await;
    let settled = |path: &'static str| {
        let stack = &stack;
        let receiver = &receiver;
        async move {
            let log_id = receiver.wait_for(path, 1).await[0]
                .header("webhook-id")
                .to_string();
            eventually(path, || async {
                let logged = stack.api(key).logs().find(&log_id).await?;
                (logged.status != "pending").then_some(logged)
            })
            .await
        }
    };
    let gone = settled("/gone").await;
    assert_eq!(
        (gone.status.as_str(), gone.response_code),
        ("failed", 410),
        "410 is final"
    );
    // The log is recorded before the endpoint's streak, so wait for the latter to settle.
    let endpoint = eventually("410 disables the endpoint at once", || async {
        let endpoint = endpoints(&stack, key).get(&ids["/gone"]).await;
        (!endpoint.enabled).then_some(endpoint)
    })
    .await;
    assert_eq!(endpoint.error_count, 1, "after its one delivery");
    let mut stale = read_before.clone();
    stale.enabled = true;
    let overwrite =
        shared::store::endpoints::update(&stack.stack.state.db, &tenant, &read_before, &stale)
            .await;
    assert!(
        matches!(
            overwrite,
            Err(shared::store::StoreError::Rejected(
                shared::store::Rejection::Changed(_)
            ))
        ),
        "a PUT of the version read before the 410 cannot re-enable it: {overwrite:?}"
    );
    assert_eq!(gone.retries, 0, "without a retry");

    let moved = settled("/moved").await;
    assert_eq!(
        (moved.status.as_str(), moved.response_code),
        ("retrying", 302),
        "3xx is a failure"
    );
    assert!(
        receiver.received("/redirected").is_empty(),
        "redirects are not followed"
    );

    let slow = settled("/slow").await;
    assert_eq!((slow.status.as_str(), slow.response_code), ("retrying", 0));
    assert!(
        slow.response.as_deref().unwrap().contains("timed out"),
        "{:?}",
        slow.response
    );

    let huge = settled("/huge").await;
    assert_eq!(huge.status, "succeeded");
    assert_eq!(
        huge.response.as_deref().unwrap().len(),
        8 * 1024,
        "bodies are cut at 8 KiB"
    );
}

#[tokio::test]
async fn retry_after_is_honoured() {
    let stack = fast_stack(&[]).await;
    let receiver = Receiver::start().await;
    receiver.set("/busy", Behaviour::Always(429, Some(7)));
    let acct = stack.account("busy@example.com").await;
    endpoint(&stack, &acct.test_key, &receiver.url("/busy"), json!(["*"])).await;
    publish(
        &stack,
        &acct.test_key,
        "order:updated",
        json!({ "id": "o" }),
    )
    .await;
    let log_id = receiver.wait_for("/busy", 1).await[0]
        .header("webhook-id")
        .to_string();
    let logged = eventually("retrying", || async {
        let logged = log(&stack, &acct.test_key, &log_id).await;
        (logged.status == "retrying").then_some(logged)
    })
    .await;
    let next = shared::Timestamp::parse(logged.next_retry_at.as_deref().unwrap()).unwrap();
    let at = shared::Timestamp::parse(&logged.updated_at).unwrap();
    assert!(
        next.as_millis() - at.as_millis() >= 6_900,
        "Retry-After: 7 beats the 1 s schedule: {logged:?}"
    );
}

#[tokio::test]
async fn retries_beyond_the_queue_delay_are_parked_and_released_by_the_scheduler() {
    let stack = fast_stack(&[("RETRY_SCHEDULE", "2s"), ("MAX_QUEUE_DELAY_SECONDS", "1")]).await;
    let receiver = Receiver::start().await;
    receiver.set("/parked", Behaviour::FailTimes(1, 500));
    let acct = stack.account("parked@example.com").await;
    endpoint(
        &stack,
        &acct.test_key,
        &receiver.url("/parked"),
        json!(["*"]),
    )
    .await;
    publish(
        &stack,
        &acct.test_key,
        "feedback:created",
        json!({ "id": "f" }),
    )
    .await;
    let deliveries = receiver.wait_for("/parked", 2).await;
    assert_eq!(
        deliveries[0].header("webhook-id"),
        deliveries[1].header("webhook-id")
    );
    let log_id = deliveries[0].header("webhook-id");
    eventually("succeeded", || async {
        (log(&stack, &acct.test_key, log_id).await.status == "succeeded").then_some(())
    })
    .await;
}
