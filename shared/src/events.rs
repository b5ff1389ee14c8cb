//! Events: every change becomes one, committed with the change (the outbox), then
//! handed to the dispatcher through the events queue.

use crate::{Timestamp, ids::EventId};
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
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
    pub id: EventId,
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
#[derive(Debug, Serialize, utoipa::ToSchema)]
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
            id: EventId::new(),
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
