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
    pub event_type: crate::webhooks::EventName,
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
    /// What orders it among other events: a published event's own `ordering_key`.
    /// Without one, the payload's `id` (the resource it is about).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ordering_key: Option<String>,
    /// Its place among the events of its ordering key, given when it commits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sequence: Option<Sequence>,
    /// For an event of a child account forwarded to its holding account (for the
    /// endpoints there that receive `children`): the child it came from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_account: Option<crate::ids::AccountId>,
}

/// An event's place among the events of one ordering key, in commit order: numbered
/// from 1 without gaps, each knowing the one before it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sequence {
    pub number: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous: Option<EventId>,
}

/// The longest `ordering_key` (DynamoDB sort keys take 1 KB).
pub const MAX_ORDERING_KEY: usize = 256;

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
    /// The resource (or the published `ordering_key`) whose events it is ordered among.
    pub ordering_key: Option<&'a str>,
    /// Its number among them, in commit order.
    pub sequence: Option<u64>,
    /// For a child account's event forwarded to its holding account: the child's id.
    pub from_account: Option<&'a str>,
}

impl Event {
    /// A new pending event of `event_type` about `payload`.
    pub fn new(event_type: impl Into<crate::webhooks::EventName>, payload: Value) -> Self {
        Event {
            id: EventId::new(),
            event_type: event_type.into(),
            payload,
            status: EventStatus::Pending,
            webhook_urls: Vec::new(),
            replays: 0,
            created_at: Timestamp::now(),
            dispatched_at: None,
            ordering_key: None,
            sequence: None,
            from_account: None,
        }
    }

    /// The key its order is kept under: its own, else the id of the resource it is
    /// about. `None`: it is ordered among nothing.
    pub fn ordering_key(&self) -> Option<&str> {
        self.ordering_key
            .as_deref()
            .or_else(|| self.payload.get("id")?.as_str())
            .filter(|key| !key.is_empty() && key.len() <= MAX_ORDERING_KEY)
    }

    pub fn view(&self) -> EventView<'_> {
        EventView {
            id: &self.id,
            event_type: self.event_type.as_str(),
            payload: &self.payload,
            status: self.status,
            replays: self.replays,
            created_at: self.created_at,
            dispatched_at: self.dispatched_at,
            ordering_key: self.ordering_key(),
            sequence: self.sequence.as_ref().map(|s| s.number),
            from_account: self.from_account.as_ref().map(|a| a.as_str()),
        }
    }
}
