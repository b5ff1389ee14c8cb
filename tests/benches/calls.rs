//! `make bench-calls`: the CPU time one DynamoDB call costs the caller, through the AWS
//! SDK against the same request signed and sent by hand, so the SDK's share of a
//! delivery's CPU can be read without the emulator in the way.
//!
//! The call is an attempt's outcome write (the `UpdateItem` of `store::logs::record`,
//! the one call every delivery makes): eleven values, a condition, a few hundred bytes.
//! It goes to a stub on 127.0.0.1 that answers `{}` at once, on a thread of its own;
//! the caller runs on one current-thread runtime, as a function does in Lambda, and its
//! thread's CPU time is what is measured. The reference signs with `aws-sigv4` (the
//! crate the SDK signs with) and sends with `reqwest` (the client deliveries use).
//! At one call at a time every answer wakes the thread; at sixteen, wake-ups are shared.
//!
//! Settings: BENCH_CALLS (5000 per arm and concurrency), BENCH_CONCURRENCY (1,16).

use aws_sdk_dynamodb::types::AttributeValue;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_smithy_runtime_api::client::identity::Identity;
use futures::StreamExt;
use serde_json::{Map, Value, json};
use std::{
    collections::HashMap,
    time::{Duration, Instant, SystemTime},
};

const CALLER_THREAD: &str = "pg-caller";
const TABLE: &str = "webhook-logs";
const UPDATE: &str = "REMOVE due_shard, due_at SET #status = :status, response_code = :code, \
    #response = :response, response_headers = :headers, duration_ms = :duration, \
    attempts = :attempts, next_retry_at = :next, updated_at = :updated, \
    request_headers = :sent, history = :history";
const CONDITION: &str = "attribute_exists(pk) AND attempts = :before";

fn number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// CPU time of the caller's thread so far (`/proc/self/task/*/schedstat`).
fn caller_cpu() -> Duration {
    let ran = std::fs::read_dir("/proc/self/task")
        .into_iter()
        .flatten()
        .flatten()
        .filter(|task| {
            std::fs::read_to_string(task.path().join("comm"))
                .is_ok_and(|comm| comm.trim() == CALLER_THREAD)
        })
        .filter_map(|task| {
            let stat = std::fs::read_to_string(task.path().join("schedstat")).ok()?;
            stat.split_whitespace().next()?.parse::<u64>().ok()
        })
        .sum();
    Duration::from_nanos(ran)
}

fn s(value: &str) -> AttributeValue {
    AttributeValue::S(value.to_string())
}

fn n(value: u64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

fn map(entries: &[(&str, AttributeValue)]) -> AttributeValue {
    AttributeValue::M(
        entries
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect::<HashMap<_, _>>(),
    )
}

/// What a first attempt that succeeded records: status, response, headers, history.
fn outcome() -> Vec<(&'static str, AttributeValue)> {
    let at = s("2026-12-04T01:00:00.123Z");
    let headers = map(&[
        ("content-type", s("text/plain; charset=utf-8")),
        ("date", s("Fri, 04 Dec 2026 01:00:00 GMT")),
    ]);
    let sent = map(&[
        ("webhook-id", s("log_01KBM6ZQ4Y8W2V3X5N7P9R1T3V_0_ep")),
        ("webhook-timestamp", s("1796346000")),
        ("webhook-signature", s("v1,<masked>")),
        ("content-type", s("application/json")),
    ]);
    let attempt = map(&[
        ("at", at.clone()),
        ("response_code", n(200)),
        ("duration_ms", n(3)),
    ]);
    vec![
        (":status", s("succeeded")),
        (":code", n(200)),
        (":response", s("ok")),
        (":headers", headers),
        (":duration", n(3)),
        (":attempts", n(1)),
        (":next", AttributeValue::Null(true)),
        (":updated", at),
        (":sent", sent),
        (":history", AttributeValue::L(vec![attempt])),
        (":before", n(0)),
    ]
}

fn key(call: usize) -> [(&'static str, AttributeValue); 2] {
    [
        ("pk", s("acct_01KBM6ZQ4Y8W2V3X5N7P9R1T3V#test")),
        ("sk", s(&format!("log_01KBM6ZQ4Y8W2V3X5N{call:08}_0_ep"))),
    ]
}

/// The outcome write through the SDK, as `store::logs::record` makes it.
async fn through_sdk(client: &aws_sdk_dynamodb::Client, call: usize) {
    let mut request = client
        .update_item()
        .table_name(TABLE)
        .update_expression(UPDATE)
        .condition_expression(CONDITION)
        .expression_attribute_names("#status", "status")
        .expression_attribute_names("#response", "response");
    for (name, value) in key(call) {
        request = request.key(name, value);
    }
    for (name, value) in outcome() {
        request = request.expression_attribute_values(name, value);
    }
    request.send().await.expect("the stub answers");
}

/// DynamoDB's JSON for an attribute value (the types `outcome` uses).
fn wire(value: &AttributeValue) -> Value {
    match value {
        AttributeValue::S(s) => json!({ "S": s }),
        AttributeValue::N(n) => json!({ "N": n }),
        AttributeValue::Null(is_null) => json!({ "NULL": is_null }),
        AttributeValue::L(list) => json!({ "L": list.iter().map(wire).collect::<Vec<_>>() }),
        AttributeValue::M(map) => {
            let map: Map<String, Value> = map.iter().map(|(k, v)| (k.clone(), wire(v))).collect();
            json!({ "M": map })
        }
        other => unreachable!("outcome() has no {other:?}"),
    }
}

/// The same request, signed with SigV4 and sent with reqwest.
struct ByHand {
    http: reqwest::Client,
    url: String,
    host: String,
    identity: Identity,
}

impl ByHand {
    async fn send(&self, call: usize) {
        let named = |values: Vec<(&str, AttributeValue)>| -> Map<String, Value> {
            values
                .iter()
                .map(|(name, value)| (name.to_string(), wire(value)))
                .collect()
        };
        let body = json!({
            "TableName": TABLE,
            "Key": named(key(call).into()),
            "UpdateExpression": UPDATE,
            "ConditionExpression": CONDITION,
            "ExpressionAttributeNames": { "#status": "status", "#response": "response" },
            "ExpressionAttributeValues": named(outcome()),
        });
        let body = serde_json::to_vec(&body).expect("JSON");
        let headers = [
            ("host", self.host.as_str()),
            ("content-type", "application/x-amz-json-1.0"),
            ("x-amz-target", "DynamoDB_20120810.UpdateItem"),
        ];
        let params = aws_sigv4::sign::v4::SigningParams::builder()
            .identity(&self.identity)
            .region("us-east-1")
            .name("dynamodb")
            .time(SystemTime::now())
            .settings(SigningSettings::default())
            .build()
            .expect("signing parameters")
            .into();
        let signable = SignableRequest::new(
            "POST",
            &self.url,
            headers.iter().copied(),
            SignableBody::Bytes(&body),
        )
        .expect("a signable request");
        let (signature, _) = sign(signable, &params).expect("signed").into_parts();
        let mut request = self.http.post(&self.url).body(body);
        for (name, value) in headers.iter().skip(1).copied().chain(signature.headers()) {
            request = request.header(name, value);
        }
        let response = request.send().await.expect("the stub answers");
        assert!(response.status().is_success());
        response.bytes().await.expect("the answer's body");
    }
}

/// CPU per call and calls per second of `calls` calls, `concurrency` at a time, after
/// a warm-up (connections open, credentials resolved).
async fn measure<F, Fut>(calls: usize, concurrency: usize, call: F) -> (Duration, f64)
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    futures::stream::iter(0..200)
        .for_each_concurrent(concurrency, &call)
        .await;
    let (cpu, started) = (caller_cpu(), Instant::now());
    futures::stream::iter(0..calls)
        .for_each_concurrent(concurrency, &call)
        .await;
    let elapsed = started.elapsed();
    (
        (caller_cpu() - cpu) / calls as u32,
        calls as f64 / elapsed.as_secs_f64(),
    )
}

fn main() {
    let stub = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("the stub's runtime");
    let listener = stub
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("a port");
    let addr = listener.local_addr().expect("its address");
    stub.spawn(async move {
        let answer = || async { ([("content-type", "application/x-amz-json-1.0")], "{}") };
        axum::serve(listener, axum::Router::new().fallback(answer))
            .await
            .expect("the stub serves");
    });

    let calls = number("BENCH_CALLS", 5000);
    let concurrencies: Vec<usize> = std::env::var("BENCH_CONCURRENCY")
        .unwrap_or_else(|_| "1,16".into())
        .split(',')
        .filter_map(|n| n.trim().parse().ok())
        .collect();
    let caller = std::thread::Builder::new()
        .name(CALLER_THREAD.into())
        .spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("the caller's runtime");
            runtime.block_on(async move {
                let url = format!("http://{addr}/");
                let sdk = shared::aws::for_local_function(&url, "DispatcherFunction", "secret").await;
                let client = aws_sdk_dynamodb::Client::new(&sdk);
                let by_hand = ByHand {
                    http: reqwest::Client::builder()
                        .use_preconfigured_tls(shared::tls::delivery_config())
                        .build()
                        .expect("a client"),
                    host: addr.to_string(),
                    url,
                    identity: aws_sdk_dynamodb::config::Credentials::new(
                        "DispatcherFunction", "secret", None, None, "bench",
                    )
                    .into(),
                };
                println!("bench-calls: {calls} outcome writes (UpdateItem) per line, to a stub answering at once");
                for concurrency in concurrencies {
                    let (sdk_cpu, sdk_rate) =
                        measure(calls, concurrency, |call| through_sdk(&client, call)).await;
                    let (hand_cpu, hand_rate) =
                        measure(calls, concurrency, |call| by_hand.send(call)).await;
                    let micros = |d: Duration| d.as_secs_f64() * 1e6;
                    println!(
                        "  {concurrency:>2} at a time  AWS SDK {:>6.1} us CPU per call ({sdk_rate:>6.0}/s)   signed by hand {:>6.1} us ({hand_rate:>6.0}/s)   SDK = {:.2} x by hand",
                        micros(sdk_cpu),
                        micros(hand_cpu),
                        sdk_cpu.as_secs_f64() / hand_cpu.as_secs_f64()
                    );
                }
            });
        })
        .expect("the caller's thread");
    caller.join().expect("the caller finishes");
}
