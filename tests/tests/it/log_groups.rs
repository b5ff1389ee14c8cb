//! A fan-out's first-attempt successes are written as one item (its group), not one
//! each; every way of reading logs shows them as before: by id, in lists (filtered,
//! counted, by page and by cursor, in both directions), and a delivery that gets
//! another attempt has its own log from then on. A redelivered message whose earlier
//! run grouped some deliveries takes their outcome from the group and sends nothing twice.

use harness::{Behaviour, Receiver, TestStack, dispatch_batch, expect, header};
use serde_json::{Value, json};
use shared::Mode;
use std::collections::BTreeSet;

const FAST: [(&str, &str); 4] = [
    ("RETRY_SCHEDULE", "1s,1s"),
    ("RETRY_JITTER", "0"),
    ("DELIVERY_TIMEOUT_SECONDS", "2"),
    ("PENDING_EVENT_GRACE_SECONDS", "1"),
];

const TYPE: &str = "invoice:sent";

/// The sort keys of the logs table's items of one kind: groups (`log_<event>_~`) or
/// deliveries' own logs.
async fn stored(stack: &TestStack, groups: bool) -> Vec<String> {
    stack
        .webhook_log_items()
        .await
        .iter()
        .filter_map(|item| item["sk"].as_s().ok().cloned())
        .filter(|sk| sk.starts_with("log_"))
        .filter(|sk| sk.contains("_~") == groups)
        .collect()
}

/// A list page's logs and its `Link` targets' cursors (`starting_after` of the next
/// page, `ending_before` of the previous one).
async fn page(
    stack: &TestStack,
    key: &str,
    query: &str,
) -> (Vec<Value>, Option<String>, Option<String>) {
    let response = stack.get(&format!("/webhooks/logs?{query}"), key).await;
    let link = header(&response, "link").unwrap_or_default();
    let cursor = |rel: &str, name: &str| {
        link.split(", ")
            .find(|part| part.ends_with(&format!("rel=\"{rel}\"")))
            .and_then(|part| part.split(&format!("{name}=")).nth(1))
            .map(|rest| rest.split(['&', '>']).next().unwrap().to_string())
    };
    let (next, prev) = (
        cursor("next", "starting_after"),
        cursor("prev", "ending_before"),
    );
    let body = expect(response, 200).await;
    (body.as_array().unwrap().clone(), next, prev)
}

fn ids(logs: &[Value]) -> Vec<String> {
    logs.iter()
        .map(|log| log["id"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn a_fan_outs_successes_are_one_item_and_every_read_shows_each_log() {
    let stack = TestStack::start_with(&FAST).await;
    let receiver = Receiver::start().await;
    receiver.set("/e", Behaviour::FailTimes(3, 500)); // each event's first attempt
    let key = stack.account("grouped@example.com").await.test_key;
    stack
        .register_event_type(&key, TYPE, "An invoice went out")
        .await;
    let api = stack.api(&key);
    let mut endpoints = Vec::new();
    for path in ["/a", "/b", "/c", "/d", "/e"] {
        endpoints.push(
            api.endpoints()
                .create_to(&receiver.url(path), &[TYPE])
                .await,
        );
    }
    for n in 0..3 {
        api.events()
            .publish(TYPE, json!({ "id": format!("inv_{n}"), "total": "10.00" }))
            .await;
    }
    receiver.wait_for("/e", 6).await; // each event's first attempt failed, then its retry
    for path in ["/a", "/b", "/c", "/d"] {
        receiver.wait_for(path, 3).await;
    }
    let all = harness::eventually("15 logs, all delivered", || async {
        let (logs, _, _) = page(&stack, &key, "per_page=100").await;
        let done = logs.len() == 15 && logs.iter().all(|log| log["status"] == "succeeded");
        done.then_some(logs)
    })
    .await;

    // Stored: one group per event (its four first-attempt successes), and the retried
    // deliveries' own logs.
    assert_eq!(stored(&stack, true).await.len(), 3, "a group per event");
    assert_eq!(
        stored(&stack, false).await.len(),
        3,
        "the retried ones alone"
    );

    // Read: newest first by id, each once, each as its own GET shows it.
    let listed = ids(&all);
    let mut sorted = listed.clone();
    sorted.sort();
    sorted.reverse();
    assert_eq!(listed, sorted, "newest first, by id");
    assert_eq!(
        listed.iter().collect::<BTreeSet<_>>().len(),
        15,
        "each once"
    );
    for log in &all {
        let id = log["id"].as_str().unwrap();
        let one = expect(stack.get(&format!("/webhooks/logs/{id}"), &key).await, 200).await;
        assert_eq!(&one, log, "GET and the list agree");
        assert_eq!(
            one["request_headers"]["webhook-id"], id,
            "sent under its own id"
        );
        assert_eq!(one["payload"]["total"], "10.00");
    }
    let retried: Vec<&Value> = all.iter().filter(|log| log["retries"] == 1).collect();
    assert_eq!(retried.len(), 3);
    assert!(
        retried
            .iter()
            .all(|log| log["endpoint_id"] == endpoints[4].id.as_str())
    );

    // Filtered and counted.
    let to_b = format!("endpoint_id={}", endpoints[1].id);
    assert_eq!(
        stack.total(&format!("/webhooks/logs?{to_b}"), &key).await,
        3
    );
    let (b_logs, _, _) = page(&stack, &key, &to_b).await;
    assert!(
        b_logs
            .iter()
            .all(|log| log["endpoint_id"] == endpoints[1].id.as_str())
    );
    assert_eq!(
        stack.total("/webhooks/logs?status=succeeded", &key).await,
        15
    );
    assert_eq!(stack.total("/webhooks/logs?status=failed", &key).await, 0);
    assert_eq!(stack.total("/webhooks/logs", &key).await, 15);

    // By page number, and by cursor both ways: the same order, pages cut inside groups.
    let (second, _, _) = page(&stack, &key, "per_page=4&page=2").await;
    assert_eq!(ids(&second), listed[4..8]);
    // A numbered page links to numbered pages: the walk by cursor starts after its end.
    let (first, _, _) = page(&stack, &key, "per_page=4").await;
    let mut walked = ids(&first);
    let mut next = walked.last().cloned();
    while let Some(id) = next {
        let (logs, older, _) = page(&stack, &key, &format!("per_page=4&starting_after={id}")).await;
        walked.extend(ids(&logs));
        next = older;
    }
    assert_eq!(walked, listed, "starting_after walks the whole list");
    let (mut back, mut before) = (Vec::new(), Some(listed[14].clone()));
    while let Some(id) = before {
        let (logs, _, newer) = page(&stack, &key, &format!("per_page=4&ending_before={id}")).await;
        let mut these = ids(&logs);
        these.extend(back);
        back = these;
        before = newer;
    }
    assert_eq!(back, listed[..14], "ending_before walks it back");

    // Another attempt of a grouped delivery gives it a log of its own: here one that
    // fails, so its own log (retrying) and its group entry (succeeded) disagree.
    let grouped = all
        .iter()
        .find(|log| log["endpoint_id"] == endpoints[0].id.as_str())
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    receiver.set("/a", Behaviour::FailTimes(100, 500));
    let again = api.logs().retry(&grouped).await;
    assert_eq!(again.retries, 1);
    assert_eq!(again.history.len(), 2, "the grouped attempt, and this one");
    assert_ne!(again.status, "succeeded");
    let one = expect(
        stack.get(&format!("/webhooks/logs/{grouped}"), &key).await,
        200,
    )
    .await;
    assert_eq!(one["retries"], 1);
    let (logs, _, _) = page(&stack, &key, "per_page=100").await;
    assert_eq!(ids(&logs), listed, "still each once, in place");
    let shown = logs
        .iter()
        .find(|log| log["id"] == grouped.as_str())
        .unwrap();
    assert_eq!(shown["retries"], 1, "its own log wins over its entry");
    // Once its retries have run out, filtered lists see its own log alone.
    let path = format!("/webhooks/logs/{grouped}");
    harness::eventually("the retried delivery failed for good", || async {
        let one = expect(stack.get(&path, &key).await, 200).await;
        (one["status"] == "failed").then_some(())
    })
    .await;
    let (succeeded, _, _) = page(&stack, &key, "per_page=100&status=succeeded").await;
    assert!(
        !ids(&succeeded).contains(&grouped),
        "its entry does not speak for it in a filtered list either"
    );
    assert_eq!(
        stack.total("/webhooks/logs?status=succeeded", &key).await,
        14
    );
    let (failed, _, _) = page(&stack, &key, "per_page=100&status=failed").await;
    assert_eq!(ids(&failed), vec![grouped]);
    assert_eq!(stored(&stack, false).await.len(), 4);
}

#[tokio::test]
async fn a_redelivered_message_takes_what_an_earlier_run_grouped_and_sends_it_once() {
    let stack = TestStack::start_with(&FAST).await;
    let receiver = Receiver::start().await;
    let acct = stack.account("regrouped@example.com").await;
    let key = &acct.test_key;
    let api = stack.api(key);
    let a = api
        .endpoints()
        .create_to(&receiver.url("/a"), &["order:created"])
        .await;
    api.endpoints()
        .create_to(&receiver.url("/b"), &["order:created"])
        .await;
    let tenant = acct.tenant(Mode::Test);
    let db = &stack.stack.state.db;
    let mut event = shared::events::Event::new("order:created", json!({ "id": "ord_1" }));
    shared::store::events::create(db, &tenant, &mut event, 30)
        .await
        .unwrap();

    // An earlier run delivered to /a, grouped it, and died before settling.
    let id = shared::webhooks::log::delivery_id(&event.id, 0, a.id.as_str());
    let mut made = shared::webhooks::WebhookLog::pending(
        id.clone(),
        Some(a.id.parse().unwrap()),
        receiver.url("/a"),
        "order:created",
        Some(event.id.clone()),
        json!({ "id": "ord_1" }),
        3,
    );
    made.status = shared::webhooks::LogStatus::Succeeded;
    made.attempts = 1;
    made.response_code = 200;
    made.response = Some("ok".into());
    made.remember(shared::webhooks::log::AttemptRecord {
        at: made.created_at,
        response_code: 200,
        duration_ms: 3,
        failure: None,
    });
    shared::store::logs::put_group(db, &tenant, &[&made], &event.payload, 30)
        .await
        .unwrap();
    assert_eq!(stored(&stack, true).await.len(), 1);

    // Its message comes back: /b is sent, /a is not, and both are counted once.
    let dispatcher = &stack.stack.functions["DispatcherFunction"].state;
    let batch = dispatch_batch(&tenant, &[(&event, 2)]);
    let response = dispatcher::handle(dispatcher, batch).await;
    assert!(response.batch_item_failures.is_empty());
    assert_eq!(receiver.received("/a").len(), 0, "not sent twice");
    assert_eq!(receiver.received("/b").len(), 1);
    assert_eq!(stack.total("/webhooks/logs", key).await, 2);
    let to_a = expect(stack.get(&format!("/webhooks/logs/{id}"), key).await, 200).await;
    assert_eq!(to_a["status"], "succeeded");
    assert_eq!(to_a["retries"], 0);
    assert_eq!(to_a["response"], "ok", "the outcome its group held");
}
