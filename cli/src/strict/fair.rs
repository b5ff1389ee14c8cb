//! SQS fair queues, as the local stack models them. On AWS, a standard queue whose
//! producers give each message a `MessageGroupId` (the tenant) is fair: when one
//! group has more messages in flight than the others, ReceiveMessage returns the other
//! groups' messages first, so a quiet tenant's messages do not wait behind a noisy
//! one's backlog. moto keeps a group id on a standard queue's messages but hands them
//! out oldest first; this model sits in the strict layer, between the consumers (the
//! local event source) and moto:
//!
//! - It looks ahead: it receives up to [`LOOK_AHEAD`] messages from moto (invisible
//!   there for [`HOLD`]) and hands out at most what the caller asked for.
//! - Each message handed out is the oldest of the group with the fewest messages in
//!   flight (handed out, not yet deleted nor released, nor past its visibility), and
//!   its visibility becomes the caller's from then, as if SQS had just returned it.
//! - A queue none of whose messages carried a group id is passed through as it is.

use super::Layer;
use axum::{
    body::Body,
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde_json::{Value, json};
use std::{
    collections::{HashMap, VecDeque},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

/// The most messages the model holds per queue, received but not handed out.
const LOOK_AHEAD: usize = 100;
/// How long a held message stays invisible in moto: handed out long before that.
const HOLD: Duration = Duration::from_secs(600);

#[derive(Default)]
pub struct FairQueues {
    queues: Mutex<HashMap<String, Arc<tokio::sync::Mutex<Queue>>>>,
    /// The layer stopped: what a receive still in progress holds goes back at once.
    closed: std::sync::atomic::AtomicBool,
}

#[derive(Default)]
struct Queue {
    /// Whether any of its messages carried a group id.
    fair: bool,
    /// Received from moto, not handed out, oldest first.
    held: VecDeque<Value>,
    /// Handed out: group and visible-again time, by receipt handle.
    in_flight: HashMap<String, (Option<String>, Instant)>,
}

fn group_of(message: &Value) -> Option<String> {
    message
        .pointer("/Attributes/MessageGroupId")
        .and_then(Value::as_str)
        .map(str::to_string)
}

fn receipt(message: &Value) -> Option<String> {
    message
        .get("ReceiptHandle")
        .and_then(Value::as_str)
        .map(str::to_string)
}

impl Queue {
    /// The index of the held message to hand out next: the oldest of the group with the
    /// fewest in flight.
    fn next(&self, now: Instant) -> Option<usize> {
        let mut counts: HashMap<Option<String>, usize> = HashMap::new();
        for (group, until) in self.in_flight.values() {
            if *until > now {
                *counts.entry(group.clone()).or_default() += 1;
            }
        }
        let mut best: Option<(usize, usize)> = None;
        for (index, message) in self.held.iter().enumerate() {
            let load = counts.get(&group_of(message)).copied().unwrap_or(0);
            if best.is_none_or(|(least, _)| load < least) {
                best = Some((load, index));
            }
        }
        best.map(|(_, index)| index)
    }
}

impl FairQueues {
    fn queue(&self, url: &str) -> Arc<tokio::sync::Mutex<Queue>> {
        let mut queues = self.queues.lock().expect("fair queues lock");
        queues.entry(url.to_string()).or_default().clone()
    }

    /// Forgets the messages a consumer deleted or released (`DeleteMessage`,
    /// `ChangeMessageVisibility` and their batches).
    pub async fn settled(&self, request: &Value) {
        let Some(url) = request.get("QueueUrl").and_then(Value::as_str) else {
            return;
        };
        let queue = self.queue(url);
        let mut queue = queue.lock().await;
        let single = request.get("ReceiptHandle").into_iter();
        let batch = request
            .get("Entries")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|entry| entry.get("ReceiptHandle"));
        for handle in single.chain(batch).filter_map(Value::as_str) {
            queue.in_flight.remove(handle);
        }
    }

    /// Stops: the messages held and not handed out, by queue URL (their receipt
    /// handles), for [`release`]; a receive in progress at this instant releases what
    /// it holds itself when it ends.
    pub fn close(&self) -> Vec<(String, Vec<String>)> {
        self.closed.store(true, std::sync::atomic::Ordering::SeqCst);
        let queues = self.queues.lock().expect("fair queues lock");
        queues
            .iter()
            .filter_map(|(url, queue)| {
                let queue = queue.try_lock().ok()?;
                let receipts: Vec<String> = queue.held.iter().filter_map(receipt).collect();
                (!receipts.is_empty()).then(|| (url.clone(), receipts))
            })
            .collect()
    }

    /// Answers a `ReceiveMessage` fairly across the queue's message groups, in a task
    /// of its own: a consumer that goes away mid-receive (its stack dropped) does not
    /// cut it between moto's answer and the model's note of what it holds.
    pub async fn receive(layer: Arc<Layer>, headers: HeaderMap, request: Value) -> Response {
        let receiving = tokio::spawn(async move {
            let response = layer.fair.receive_here(&layer, &headers, &request).await;
            if layer.fair.closed.load(std::sync::atomic::Ordering::SeqCst) {
                release(&layer, layer.fair.close()).await;
            }
            response
        });
        match receiving.await {
            Ok(response) => response,
            Err(error) => (StatusCode::INTERNAL_SERVER_ERROR, error.to_string()).into_response(),
        }
    }

    async fn receive_here(&self, layer: &Layer, headers: &HeaderMap, request: &Value) -> Response {
        let Some(url) = request.get("QueueUrl").and_then(Value::as_str) else {
            return StatusCode::BAD_REQUEST.into_response();
        };
        let wanted = request
            .get("MaxNumberOfMessages")
            .and_then(Value::as_u64)
            .unwrap_or(1)
            .clamp(1, 10) as usize;
        let visibility = request
            .get("VisibilityTimeout")
            .and_then(Value::as_u64)
            .unwrap_or(30);
        let mut wait = request
            .get("WaitTimeSeconds")
            .and_then(Value::as_u64)
            .unwrap_or(0);
        let queue = self.queue(url);
        let mut queue = queue.lock().await;
        let now = Instant::now();
        queue.in_flight.retain(|_, (_, until)| *until > now);
        if !queue.fair {
            // Not known to be fair: the caller's request as it is, group ids shown.
            let mut upstream = request.clone();
            upstream["MessageSystemAttributeNames"] = json!(["All"]);
            let answer = match call(layer, headers, "ReceiveMessage", &upstream).await {
                Ok(answer) => answer,
                Err(response) => return response,
            };
            let messages = answer.get("Messages").and_then(Value::as_array);
            if !messages
                .into_iter()
                .flatten()
                .any(|m| group_of(m).is_some())
            {
                return json_response(&answer);
            }
            queue.fair = true;
            queue.held.extend(messages.into_iter().flatten().cloned());
            wait = 0;
        }
        while queue.held.len() < LOOK_AHEAD {
            let mut upstream = request.clone();
            upstream["MaxNumberOfMessages"] = json!(10);
            upstream["WaitTimeSeconds"] = json!(if queue.held.is_empty() { wait } else { 0 });
            upstream["VisibilityTimeout"] = json!(HOLD.as_secs());
            upstream["MessageSystemAttributeNames"] = json!(["All"]);
            let answer = match call(layer, headers, "ReceiveMessage", &upstream).await {
                Ok(answer) => answer,
                Err(response) => return response,
            };
            let messages = answer
                .get("Messages")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let full = messages.len() == 10;
            for message in messages {
                let id = message.get("MessageId").cloned();
                queue
                    .held
                    .retain(|held| held.get("MessageId") != id.as_ref());
                queue.held.push_back(message);
            }
            if !full {
                break;
            }
        }
        let mut chosen = Vec::new();
        while chosen.len() < wanted {
            let Some(index) = queue.next(now) else { break };
            let message = queue.held.remove(index).expect("a held message");
            let until = Instant::now() + Duration::from_secs(visibility);
            if let Some(handle) = receipt(&message) {
                queue.in_flight.insert(handle, (group_of(&message), until));
            }
            chosen.push(message);
        }
        if !chosen.is_empty() {
            let entries: Vec<Value> = chosen
                .iter()
                .enumerate()
                .map(|(n, message)| {
                    json!({
                        "Id": n.to_string(),
                        "ReceiptHandle": message.get("ReceiptHandle"),
                        "VisibilityTimeout": visibility,
                    })
                })
                .collect();
            let visible = json!({ "QueueUrl": url, "Entries": entries });
            if let Err(response) =
                call(layer, headers, "ChangeMessageVisibilityBatch", &visible).await
            {
                return response;
            }
        }
        json_response(&json!({ "Messages": chosen }))
    }
}

fn json_response(body: &Value) -> Response {
    let mut response = Response::new(Body::from(body.to_string()));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        "application/x-amz-json-1.0"
            .parse()
            .expect("a content type"),
    );
    response
}

/// One SQS call to moto with the consumer's credentials: its answer, or the response
/// to hand back when it failed.
async fn call(
    layer: &Layer,
    headers: &HeaderMap,
    operation: &str,
    body: &Value,
) -> Result<Value, Response> {
    let mut request = layer
        .client
        .post(format!("{}/", layer.upstream))
        .header("x-amz-target", format!("AmazonSQS.{operation}"))
        .header(header::CONTENT_TYPE, "application/x-amz-json-1.0")
        .body(body.to_string());
    if let Some(authorization) = headers.get(header::AUTHORIZATION) {
        request = request.header(header::AUTHORIZATION, authorization);
    }
    let answer = request
        .send()
        .await
        .map_err(|error| (StatusCode::BAD_GATEWAY, error.to_string()).into_response())?;
    let status = answer.status();
    let bytes = answer
        .bytes()
        .await
        .map_err(|error| (StatusCode::BAD_GATEWAY, error.to_string()).into_response())?;
    if !status.is_success() {
        let mut response = Response::new(Body::from(bytes));
        *response.status_mut() = status;
        return Err(response);
    }
    Ok(serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

/// Makes `held` messages visible again at once in the emulator: what the model held
/// for no consumer is, on AWS, still in the queue, so a model that stops (its stack
/// dropped, as a crash test does) must not keep it hidden for [`HOLD`].
pub(super) async fn release(layer: &Layer, held: Vec<(String, Vec<String>)>) {
    for (url, receipts) in held {
        for chunk in receipts.chunks(10) {
            let entries: Vec<Value> = chunk
                .iter()
                .enumerate()
                .map(|(n, handle)| json!({ "Id": n.to_string(), "ReceiptHandle": handle, "VisibilityTimeout": 0 }))
                .collect();
            let body = json!({ "QueueUrl": url, "Entries": entries });
            let released = call(
                layer,
                &HeaderMap::new(),
                "ChangeMessageVisibilityBatch",
                &body,
            )
            .await;
            if released.is_err() {
                tracing::warn!("releasing held messages of {url} failed");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(n: usize, group: &str) -> Value {
        json!({
            "MessageId": format!("m{n}"),
            "ReceiptHandle": format!("r{n}"),
            "Attributes": { "MessageGroupId": group },
        })
    }

    #[test]
    fn the_group_with_the_fewest_in_flight_goes_first_oldest_first_within_it() {
        let now = Instant::now();
        let later = now + Duration::from_secs(60);
        let mut queue = Queue {
            fair: true,
            held: (0..5).map(|n| message(n, "noisy")).collect(),
            in_flight: HashMap::new(),
        };
        queue.held.push_back(message(5, "quiet"));
        assert_eq!(queue.next(now), Some(0), "nothing in flight: the oldest");
        queue
            .in_flight
            .insert("r9".into(), (Some("noisy".into()), later));
        assert_eq!(
            queue.next(now),
            Some(5),
            "the quiet group's message passes the backlog"
        );
        queue
            .in_flight
            .insert("r8".into(), (Some("quiet".into()), later));
        assert_eq!(
            queue.next(now),
            Some(0),
            "one each in flight: the oldest again"
        );
        let past = now - Duration::from_secs(1);
        queue
            .in_flight
            .insert("r9".into(), (Some("noisy".into()), past));
        assert_eq!(
            queue.next(now),
            Some(0),
            "a message past its visibility is not in flight"
        );
    }
}
