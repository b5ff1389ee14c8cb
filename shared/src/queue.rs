//! The queues and what they carry: the one place SQS messages are built and read.
//!
//! The events queue carries committed events to the dispatcher (the outbox hand-off);
//! the deliveries queue carries retries due within 15 minutes; the slow queue carries
//! the attempts of endpoints whose receivers are slow, so they wait behind each other
//! and not in front of everyone else. All three are read by the dispatcher, so a
//! message says which it is (`kind`) and whose it is (a typed tenant).

use crate::{Tenant, config::Config, events::Event, ids::EventId, ids::LogId};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// A message of either queue.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Message {
    /// Fan this event (this replay of it) out to its targets.
    Dispatch {
        tenant: Tenant,
        event_id: EventId,
        #[serde(default)]
        replay: u32,
        /// The event as committed, when it fits in a message: the dispatcher then
        /// does not read it back. The scheduler's re-sends go without it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        event: Option<Box<Event>>,
    },
    /// Make the next attempt of this delivery; `slot_at`: it holds its paced
    /// endpoint's slot at that time (Unix milliseconds), so it goes then without
    /// taking another.
    Retry {
        tenant: Tenant,
        log_id: LogId,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        slot_at: Option<i64>,
    },
    /// Make the next attempt of each of these deliveries, whose endpoints' receivers are
    /// slow (the slow queue): an event's first attempts travel together, so a batch of
    /// ten messages keeps as many receivers busy as a batch of the events queue.
    /// `slot_at` as for `Retry`.
    Slow {
        tenant: Tenant,
        log_ids: Vec<LogId>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        slot_at: Option<i64>,
    },
}

impl Message {
    /// Whose it is.
    pub fn tenant(&self) -> &Tenant {
        match self {
            Message::Dispatch { tenant, .. }
            | Message::Retry { tenant, .. }
            | Message::Slow { tenant, .. } => tenant,
        }
    }

    /// A message body as the dispatcher receives it.
    pub fn read(body: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(body)
    }

    fn body(&self) -> String {
        serde_json::to_string(self).expect("a message serialises")
    }
}

/// A message SQS did not take (after the SDK's own retries).
#[derive(Debug, thiserror::Error)]
#[error("sending to {queue}: {cause}")]
pub struct QueueError {
    queue: &'static str,
    cause: String,
}

/// The queues a function sends to, as its configuration names them.
#[derive(Clone, Debug)]
pub struct Queues {
    sqs: aws_sdk_sqs::Client,
    events: Option<String>,
    deliveries: Option<String>,
    slow: Option<String>,
}

/// Which queue a delivery's next attempt goes on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lane {
    /// The deliveries queue, shared by every endpoint.
    Shared,
    /// The slow queue: the endpoint's receiver is slow.
    Slow,
}

/// SQS's longest `DelaySeconds`.
const MAX_DELAY: Duration = Duration::from_secs(900);
/// The largest message that carries its event (SQS takes 256 KiB).
const MAX_CARRIED: usize = 200 * 1024;

impl Queues {
    pub fn new(sqs: aws_sdk_sqs::Client, config: &Config) -> Self {
        Queues {
            sqs,
            events: config.events_queue_url.clone(),
            deliveries: config.deliveries_queue_url.clone(),
            slow: config.slow_queue_url.clone(),
        }
    }

    /// Whether a slow queue is configured (`SLOW_QUEUE_URL`): without one, slow
    /// receivers' deliveries stay on the shared queues.
    pub fn has_slow_lane(&self) -> bool {
        self.slow.is_some()
    }

    /// The SQS client (what the local event source polls with).
    pub fn client(&self) -> &aws_sdk_sqs::Client {
        &self.sqs
    }

    /// Sends `message` with its tenant as message group: the queues are fair queues,
    /// so one tenant's backlog does not hold back another's messages.
    async fn send(
        &self,
        queue: &'static str,
        url: Option<&str>,
        message: &Message,
        delay: Duration,
    ) -> Result<(), QueueError> {
        let url = url.ok_or(QueueError {
            queue,
            cause: "its URL is not configured".into(),
        })?;
        self.sqs
            .send_message()
            .queue_url(url)
            .message_body(message.body())
            .message_group_id(message.tenant().partition())
            .delay_seconds(delay.min(MAX_DELAY).as_secs_f64().ceil() as i32)
            .send()
            .await
            .map_err(|e| QueueError {
                queue,
                cause: aws_sdk_sqs::error::DisplayErrorContext(e).to_string(),
            })?;
        Ok(())
    }

    /// Hands a committed event to the dispatcher, carried in the message when it fits.
    /// A lost message is not lost work: the scheduler re-sends events still pending
    /// after a grace period, so a failure is only logged.
    pub async fn dispatch(&self, tenant: &Tenant, event: &Event) {
        self.dispatch_after(tenant, event, Duration::ZERO).await
    }

    /// Hands an event to the dispatcher again after `delay`: one whose deliveries must
    /// wait for the event before it in its resource's order.
    pub async fn dispatch_after(&self, tenant: &Tenant, event: &Event, delay: Duration) {
        let mut message = Message::Dispatch {
            tenant: tenant.clone(),
            event_id: event.id.clone(),
            replay: event.replays,
            event: Some(Box::new(event.clone())),
        };
        if message.body().len() > MAX_CARRIED {
            message = Message::Dispatch {
                tenant: tenant.clone(),
                event_id: event.id.clone(),
                replay: event.replays,
                event: None,
            };
        }
        self.send_dispatch(&message, delay).await;
    }

    /// Hands the dispatcher an event by id (the scheduler's re-sends of pending events).
    pub async fn redispatch(&self, tenant: &Tenant, event_id: &EventId, replay: u32) {
        let message = Message::Dispatch {
            tenant: tenant.clone(),
            event_id: event_id.clone(),
            replay,
            event: None,
        };
        self.send_dispatch(&message, Duration::ZERO).await;
    }

    async fn send_dispatch(&self, message: &Message, delay: Duration) {
        let sent = self
            .send("the events queue", self.events.as_deref(), message, delay)
            .await;
        if let (Err(error), Message::Dispatch { event_id, .. }) = (sent, message) {
            tracing::warn!(%event_id, %error, "enqueue failed; the scheduler will re-send the event");
        }
    }

    /// The next attempt of a delivery, due after `delay` (SQS delays at most 15 minutes).
    pub async fn retry(
        &self,
        tenant: &Tenant,
        log_id: &LogId,
        delay: Duration,
    ) -> Result<(), QueueError> {
        self.retry_on(Lane::Shared, tenant, log_id, delay, None)
            .await
    }

    /// The next attempt of a delivery on `lane`, due after `delay`; `slot_at` when it
    /// holds its paced endpoint's slot.
    pub async fn retry_on(
        &self,
        lane: Lane,
        tenant: &Tenant,
        log_id: &LogId,
        delay: Duration,
        slot_at: Option<i64>,
    ) -> Result<(), QueueError> {
        match lane {
            Lane::Shared => {
                let message = Message::Retry {
                    tenant: tenant.clone(),
                    log_id: log_id.clone(),
                    slot_at,
                };
                let url = self.deliveries.as_deref();
                self.send("the deliveries queue", url, &message, delay)
                    .await
            }
            Lane::Slow => {
                let log_ids = std::slice::from_ref(log_id);
                self.send_slow(tenant, log_ids, delay, slot_at).await
            }
        }
    }

    /// The first attempts of one event's deliveries to slow receivers, in one message.
    pub async fn slow_attempts(
        &self,
        tenant: &Tenant,
        log_ids: &[LogId],
    ) -> Result<(), QueueError> {
        self.send_slow(tenant, log_ids, Duration::ZERO, None).await
    }

    async fn send_slow(
        &self,
        tenant: &Tenant,
        log_ids: &[LogId],
        delay: Duration,
        slot_at: Option<i64>,
    ) -> Result<(), QueueError> {
        let message = Message::Slow {
            tenant: tenant.clone(),
            log_ids: log_ids.to_vec(),
            slot_at,
        };
        self.send("the slow queue", self.slow.as_deref(), &message, delay)
            .await
    }

    /// A paced delivery, back for its slot at `slot_at` (Unix milliseconds). SQS delays
    /// by whole seconds: the message comes up to a second early, and the dispatcher
    /// waits out the rest, so slots a fraction of a second apart stay apart.
    pub async fn retry_in_slot(
        &self,
        lane: Lane,
        tenant: &Tenant,
        log_id: &LogId,
        slot_at: i64,
    ) -> Result<(), QueueError> {
        let wait = (slot_at - crate::Timestamp::now().as_millis()).max(0) as u64;
        let delay = Duration::from_secs(wait / 1000);
        self.retry_on(lane, tenant, log_id, delay, Some(slot_at))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Mode;

    #[test]
    fn messages_say_their_kind_and_carry_a_typed_tenant() {
        let tenant = Tenant::new(crate::ids::AccountId::new(), Mode::Test);
        let log_id = LogId::new();
        let retry = Message::Retry {
            tenant: tenant.clone(),
            log_id: log_id.clone(),
            slot_at: None,
        };
        assert_eq!(
            serde_json::to_value(&retry).unwrap(),
            serde_json::json!({ "kind": "retry", "tenant": tenant.partition(), "log_id": log_id })
        );
        assert_eq!(Message::read(&retry.body()).unwrap(), retry);
        let slow = Message::Slow {
            tenant: tenant.clone(),
            log_ids: vec![log_id.clone(), LogId::new()],
            slot_at: None,
        };
        assert_eq!(serde_json::to_value(&slow).unwrap()["kind"], "slow");
        assert_eq!(Message::read(&slow.body()).unwrap(), slow);
        let event_id = EventId::new();
        let body = format!(
            r#"{{"kind":"dispatch","tenant":"{}","event_id":"{event_id}"}}"#,
            tenant.partition()
        );
        let dispatch = Message::read(&body).unwrap();
        assert_eq!(
            dispatch,
            Message::Dispatch {
                tenant: tenant.clone(),
                event_id: event_id.clone(),
                replay: 0,
                event: None,
            }
        );
        assert!(Message::read(r#"{"kind":"dispatch","tenant":"nobody","event_id":"e"}"#).is_err());
        let untagged = format!(
            r#"{{"tenant":"{}","log_id":"{log_id}"}}"#,
            tenant.partition()
        );
        assert!(Message::read(&untagged).is_err(), "untagged");
        let other_kind = body.replace(&*event_id, &log_id);
        assert!(
            Message::read(&other_kind).is_err(),
            "a log id is no event id"
        );
    }
}
