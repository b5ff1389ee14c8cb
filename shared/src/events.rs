//! Events: every change becomes one, committed with the change (the outbox), then
//! handed to the dispatcher through the events queue.

use crate::{Tenant, Timestamp, ids};
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EventStatus {
    /// Committed; its deliveries are not all created yet.
    Pending,
    /// Every delivery exists (each with its own log and retries).
    Dispatched,
}

/// An event as stored (the outbox item) and shown by `/events`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub id: String,
    #[serde(rename = "type")]
    pub event_type: String,
    /// The resource object the deliveries carry as their body.
    pub payload: Value,
    pub status: EventStatus,
    /// The per-payment and per-product `webhook_url`s that also receive this event,
    /// signed with the account's webhook secret.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub webhook_urls: Vec<String>,
    /// Incremented by each replay; a replay's deliveries are new ones.
    #[serde(default)]
    pub replays: u32,
    pub created_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dispatched_at: Option<Timestamp>,
}

/// An event as the API shows it.
#[derive(Debug, Serialize)]
pub struct EventView<'a> {
    pub id: &'a str,
    #[serde(rename = "type")]
    pub event_type: &'a str,
    pub payload: &'a Value,
    pub status: EventStatus,
    pub replays: u32,
    pub created_at: Timestamp,
    pub dispatched_at: Option<Timestamp>,
}

impl Event {
    /// A new pending event of `event_type` about `payload`.
    pub fn new(event_type: impl Into<String>, payload: Value) -> Self {
        Event {
            id: ids::new_id("evt"),
            event_type: event_type.into(),
            payload,
            status: EventStatus::Pending,
            webhook_urls: Vec::new(),
            replays: 0,
            created_at: Timestamp::now(),
            dispatched_at: None,
        }
    }

    pub fn view(&self) -> EventView<'_> {
        EventView {
            id: &self.id,
            event_type: &self.event_type,
            payload: &self.payload,
            status: self.status,
            replays: self.replays,
            created_at: self.created_at,
            dispatched_at: self.dispatched_at,
        }
    }
}

/// What the events queue carries: which event (and which replay of it) to dispatch.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DispatchMessage {
    pub tenant: String,
    pub event_id: String,
    #[serde(default)]
    pub replay: u32,
}

/// What the deliveries queue carries: a delivery whose retry is due.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetryMessage {
    pub tenant: String,
    pub log_id: String,
}

/// Either message, as the dispatcher reads them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum QueueMessage {
    Retry(RetryMessage),
    Dispatch(DispatchMessage),
}

impl DispatchMessage {
    pub fn new(tenant: &Tenant, event: &Event) -> Self {
        DispatchMessage {
            tenant: tenant.partition(),
            event_id: event.id.clone(),
            replay: event.replays,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_messages_are_told_apart_by_shape() {
        let retry: QueueMessage =
            serde_json::from_str(r#"{"tenant":"t","log_id":"log_1"}"#).unwrap();
        assert!(matches!(retry, QueueMessage::Retry(_)));
        let dispatch: QueueMessage =
            serde_json::from_str(r#"{"tenant":"t","event_id":"evt_1"}"#).unwrap();
        assert_eq!(
            dispatch,
            QueueMessage::Dispatch(DispatchMessage {
                tenant: "t".into(),
                event_id: "evt_1".into(),
                replay: 0
            })
        );
    }
}
