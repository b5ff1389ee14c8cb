//! Fairness between tenants: one tenant's slow receivers never hold the shared
//! dispatchers that another tenant's deliveries wait for. A receiver that leaves a
//! delivery unanswered past `SLOW_RECEIVER_MS` is marked slow; that attempt is cut and
//! moved to the slow queue, and so are its endpoint's next deliveries.

use futures::StreamExt;
use harness::{Behaviour, Receiver, TestStack, eventually};
use serde_json::json;
use std::{
    collections::BTreeMap,
    time::{Duration, Instant},
};

/// Receivers are slow past 300 ms; the slow queue gives them 5 s.
const SETTINGS: [(&str, &str); 3] = [
    ("SLOW_RECEIVER_MS", "300"),
    ("DELIVERY_TIMEOUT_SECONDS", "5"),
    ("RATE_LIMIT_PER_SECOND", "0"),
];

/// How long tenant A's receivers take to answer.
const HANG: Duration = Duration::from_millis(2_500);

/// How many deliveries of each event `paths` received: `(distinct, duplicates)`.
fn tally(receiver: &Receiver, paths: &[String]) -> (usize, usize) {
    let mut seen: BTreeMap<(String, u64), usize> = BTreeMap::new();
    for path in paths {
        for delivery in receiver.received(path) {
            let id = delivery.json()["id"].as_u64().expect("the event's id");
            *seen.entry((path.clone(), id)).or_default() += 1;
        }
    }
    let duplicates = seen.values().map(|n| n - 1).sum();
    (seen.len(), duplicates)
}

#[tokio::test]
async fn a_tenants_slow_receivers_move_to_the_slow_queue_and_hold_no_other_tenant() {
    let stack = TestStack::start_with(&SETTINGS).await;
    let receiver = Receiver::start().await;
    let a = stack.account("slow-tenant@example.com").await;
    let b = stack.account("quick-tenant@example.com").await;
    for account in [&a, &b] {
        stack
            .register_event_type(&account.test_key, "fair:tick", "fairness test")
            .await;
    }
    receiver.set("/b", Behaviour::Accept);
    stack
        .api(&b.test_key)
        .endpoints()
        .create_to(&receiver.url("/b"), &["fair:tick"])
        .await;
    let a_paths: Vec<String> = (0..3).map(|n| format!("/a/{n}")).collect();
    let mut a_endpoints = Vec::new();
    for path in &a_paths {
        receiver.set(path, Behaviour::Hang(HANG));
        let endpoint = stack
            .api(&a.test_key)
            .endpoints()
            .create_to(&receiver.url(path), &["fair:tick"])
            .await;
        assert_eq!(endpoint.slow_since, None, "a new endpoint is not slow");
        a_endpoints.push(endpoint.id);
    }
    let publish = |key: &str, n: u64| {
        let body = json!({ "type": "fair:tick", "payload": { "id": n } });
        let key = key.to_string();
        let stack = &stack;
        async move {
            assert_eq!(stack.post("/events", &key, body).await.status(), 202);
        }
    };

    // A's events take both dispatchers of the events queue, then B publishes one.
    for n in 0..6 {
        publish(&a.test_key, n).await;
        tokio::time::sleep(Duration::from_millis(40)).await;
    }
    let a_first = receiver.wait_for(&a_paths[0], 1).await[0].at;
    publish(&b.test_key, 100).await;
    let b_at = receiver.wait_for("/b", 1).await[0].at;
    // Before the slow queue, B's delivery waited for A's receivers to answer.
    assert!(
        b_at < a_first + HANG,
        "B's delivery came {:?} after A's first request, not while A's receivers still hung",
        b_at - a_first
    );

    // A's endpoints are marked slow; every delivery of A's arrives, recorded once.
    for id in &a_endpoints {
        let endpoint = stack.api(&a.test_key).endpoints().get(id).await;
        assert!(endpoint.slow_since.is_some(), "{id} is marked slow");
    }
    let (first_round, first_duplicates) = eventually("A's first six events", || async {
        let (distinct, duplicates) = tally(&receiver, &a_paths);
        (distinct == 6 * a_paths.len()).then_some((distinct, duplicates))
    })
    .await;

    // Marked, A's next events go straight to the slow queue: none is cut, none repeated.
    for n in 6..12 {
        publish(&a.test_key, n).await;
    }
    let b_published = Instant::now();
    publish(&b.test_key, 101).await;
    let b_second = receiver.wait_for("/b", 2).await[1].at;
    assert!(
        b_second < b_published + HANG,
        "B waited behind A's marked endpoints"
    );
    let (all, duplicates) = eventually("A's twelve events", || async {
        let tallied = tally(&receiver, &a_paths);
        (tallied.0 == 12 * a_paths.len()).then_some(tallied)
    })
    .await;
    let logs = eventually("A's logs, all delivered", || async {
        let logs = stack.api(&a.test_key).logs().list("per_page=100").await;
        let done =
            logs.len() == 12 * a_paths.len() && logs.iter().all(|log| log.status == "succeeded");
        done.then_some(logs)
    })
    .await;
    println!(
        "fairness: A sent {} deliveries, received {all} distinct ({first_round} in the first \
         round), {duplicates} duplicated ({first_duplicates} while its receivers were being \
         found slow), 0 lost; B waited {:?} and {:?}",
        logs.len(),
        b_at - a_first,
        b_second - b_published,
    );
    assert_eq!(
        duplicates, first_duplicates,
        "a marked endpoint's deliveries are never cut"
    );
    assert!(
        logs.iter().all(|log| log.history.len() == 1),
        "a cut attempt is not recorded: each log has its one attempt"
    );
}

#[tokio::test]
async fn an_endpoint_that_answers_in_time_stays_on_the_shared_queues() {
    let stack = TestStack::start_with(&SETTINGS).await;
    let receiver = Receiver::start().await;
    receiver.set("/prompt", Behaviour::Hang(Duration::from_millis(50)));
    let acct = stack.account("prompt@example.com").await;
    let key = &acct.test_key;
    stack
        .register_event_type(key, "fair:tick", "fairness test")
        .await;
    let endpoint = stack
        .api(key)
        .endpoints()
        .create_to(&receiver.url("/prompt"), &["fair:tick"])
        .await;
    for n in 0..3 {
        let body = json!({ "type": "fair:tick", "payload": { "id": n } });
        assert_eq!(stack.post("/events", key, body).await.status(), 202);
    }
    receiver.wait_for("/prompt", 3).await;
    let endpoint = stack.api(key).endpoints().get(&endpoint.id).await;
    assert_eq!(endpoint.slow_since, None);
    assert_eq!(tally(&receiver, &["/prompt".to_string()]), (3, 0));
}

/// Publishes event `n` of type `fair:tick` with `key`.
async fn tick(stack: &TestStack, key: &str, n: u64) {
    let body = json!({ "type": "fair:tick", "payload": { "id": n } });
    assert_eq!(stack.post("/events", key, body).await.status(), 202);
}

#[tokio::test]
async fn a_tenants_backlog_on_the_slow_queue_does_not_hold_back_another_tenants() {
    let stack = TestStack::start_with(&SETTINGS).await;
    let receiver = Receiver::start().await;
    let a = stack.account("backlog@example.com").await;
    let c = stack.account("one-slow@example.com").await;
    let hang = Duration::from_millis(3_000);
    let mut paths = BTreeMap::new();
    for (account, name, count) in [(&a, "a", 2), (&c, "c", 1)] {
        stack
            .register_event_type(&account.test_key, "fair:tick", "fairness test")
            .await;
        let mut own = Vec::new();
        for n in 0..count {
            let path = format!("/{name}/{n}");
            receiver.set(&path, Behaviour::Hang(hang));
            stack
                .api(&account.test_key)
                .endpoints()
                .create_to(&receiver.url(&path), &["fair:tick"])
                .await;
            own.push(path);
        }
        paths.insert(name, own);
    }
    // Each tenant's receivers are found slow first: from then on, the slow queue.
    tick(&stack, &a.test_key, 0).await;
    tick(&stack, &c.test_key, 0).await;
    for account in [&a, &c] {
        let endpoints = stack.api(&account.test_key).endpoints();
        eventually("the tenant's receivers found slow", || async {
            let all = endpoints.list("").await;
            all.iter().all(|e| e.slow_since.is_some()).then_some(())
        })
        .await;
    }
    let (_, warm_up_repeats) = tally(&receiver, &paths["a"]);

    // A's backlog: 60 events, three rounds of both slow-queue dispatchers at least.
    let backlog = 60;
    futures::stream::iter(1..=backlog)
        .for_each_concurrent(16, |n| tick(&stack, &a.test_key, n))
        .await;
    let published = Instant::now();
    tick(&stack, &c.test_key, 1).await;
    let c_at = eventually("C's second delivery", || async {
        receiver
            .received(&paths["c"][0])
            .iter()
            .find(|r| r.json()["id"] == 1)
            .map(|r| r.at)
    })
    .await;
    let a_last = eventually("A's backlog, delivered", || async {
        let (got, _) = tally(&receiver, &paths["a"]);
        let last = paths["a"]
            .iter()
            .flat_map(|path| receiver.received(path))
            .map(|r| r.at)
            .max();
        (got == 2 * (backlog as usize + 1))
            .then_some(last)
            .flatten()
    })
    .await;
    let (a_distinct, a_repeated) = tally(&receiver, &paths["a"]);
    println!(
        "slow queue: C's delivery {:?} after it was published, A's backlog of {backlog} \
         events drained {:?} after ({a_distinct} deliveries, {a_repeated} repeated)",
        c_at - published,
        a_last - published
    );
    assert!(
        a_repeated <= warm_up_repeats + 2,
        "marked endpoints are not cut: the backlog went through the slow queue"
    );
    // Fair: C's message is handed out at the next free dispatcher, ahead of most of
    // A's backlog (oldest first, it came after all of it).
    let after_c = paths["a"]
        .iter()
        .flat_map(|path| receiver.received(path))
        .filter(|r| r.at > c_at)
        .count();
    println!(
        "slow queue: {after_c} of A's {} deliveries came after C's",
        2 * backlog
    );
    assert!(
        after_c > backlog as usize,
        "C's delivery waited behind most of A's backlog: only {after_c} of A's came after it"
    );
}

#[tokio::test]
async fn a_slow_webhook_url_is_moved_too_and_its_next_deliveries_go_straight_to_the_slow_queue() {
    let stack = TestStack::start_with(&SETTINGS).await;
    let receiver = Receiver::start().await;
    receiver.set("/per-payment", Behaviour::Hang(HANG));
    let acct = stack.account("slow-url@example.com").await;
    let tenant = acct.tenant(shared::Mode::Test);
    // What a payment with `webhook_url` commits (the commerce functions produce these).
    for n in 0..2u64 {
        let mut event = shared::events::Event::new("order:paid", json!({ "id": n, "status": 100 }));
        event.webhook_urls = vec![receiver.url("/per-payment")];
        shared::store::events::create(&stack.stack.state.db, &tenant, &mut event, 30)
            .await
            .unwrap();
        stack.stack.state.queues.dispatch(&tenant, &event).await;
        if n == 0 {
            // The first is cut on the shared dispatcher, and made on the slow queue.
            let requests = receiver.wait_for("/per-payment", 2).await;
            assert!(requests.iter().all(|r| r.json()["id"] == 0));
        }
    }
    let logs = eventually("both deliveries made", || async {
        let logs = stack.api(&acct.test_key).logs().list("").await;
        let done = logs.len() == 2 && logs.iter().all(|log| log.status == "succeeded");
        done.then_some(logs)
    })
    .await;
    assert!(
        logs.iter().all(|log| log.history.len() == 1),
        "one recorded attempt each"
    );
    let second: Vec<_> = receiver
        .received("/per-payment")
        .into_iter()
        .filter(|r| r.json()["id"] == 1)
        .collect();
    assert_eq!(
        second.len(),
        1,
        "the next delivery is not cut: it went to the slow queue"
    );
}
