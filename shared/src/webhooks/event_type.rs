use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::{fmt, str::FromStr};

/// The catalogue of events PushGuard emits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EventType {
    OrderCreated,
    OrderUpdated,
    OrderPaid,
    ProductOutOfStock,
    FeedbackCreated,
    FeedbackUpdated,
    QueryCreated,
    QueryUpdated,
    QueryReplied,
    /// Sent only by `POST /webhooks/endpoints/{id}/test`.
    WebhookPing,
}

impl EventType {
    pub const ALL: [EventType; 10] = [
        EventType::OrderCreated,
        EventType::OrderUpdated,
        EventType::OrderPaid,
        EventType::ProductOutOfStock,
        EventType::FeedbackCreated,
        EventType::FeedbackUpdated,
        EventType::QueryCreated,
        EventType::QueryUpdated,
        EventType::QueryReplied,
        EventType::WebhookPing,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            EventType::OrderCreated => "order:created",
            EventType::OrderUpdated => "order:updated",
            EventType::OrderPaid => "order:paid",
            EventType::ProductOutOfStock => "product:out_of_stock",
            EventType::FeedbackCreated => "feedback:created",
            EventType::FeedbackUpdated => "feedback:updated",
            EventType::QueryCreated => "query:created",
            EventType::QueryUpdated => "query:updated",
            EventType::QueryReplied => "query:replied",
            EventType::WebhookPing => "webhook:ping",
        }
    }

    /// Whether an endpoint may list this type in `events` (pings go to whoever is tested).
    pub fn is_subscribable(&self) -> bool {
        *self != EventType::WebhookPing
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for EventType {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        EventType::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| format!("Event {s:?} is not a known event type"))
    }
}

/// One entry of an endpoint's `events`: a type, or `*` for every type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EventSelector {
    All,
    Only(EventType),
}

impl EventSelector {
    pub fn matches(&self, event: EventType) -> bool {
        match self {
            EventSelector::All => event.is_subscribable(),
            EventSelector::Only(t) => *t == event,
        }
    }
}

impl EventSelector {
    /// Matches an event by its type name (published events carry names).
    pub fn matches_name(&self, name: &str) -> bool {
        name.parse::<EventType>()
            .is_ok_and(|event| self.matches(event))
    }
}

impl fmt::Display for EventSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EventSelector::All => f.write_str("*"),
            EventSelector::Only(t) => t.fmt(f),
        }
    }
}

impl FromStr for EventSelector {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s == "*" {
            return Ok(EventSelector::All);
        }
        let event: EventType = s.parse()?;
        if !event.is_subscribable() {
            return Err(format!(
                "Event {s:?} cannot be subscribed to; it is sent only by the test route"
            ));
        }
        Ok(EventSelector::Only(event))
    }
}

impl Serialize for EventSelector {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for EventSelector {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_round_trips_through_its_name() {
        for t in EventType::ALL {
            assert_eq!(t.as_str().parse::<EventType>().unwrap(), t);
        }
        assert!("order:shipped".parse::<EventType>().is_err());
    }

    #[test]
    fn star_selects_every_subscribable_type() {
        assert!(EventSelector::All.matches(EventType::OrderPaid));
        assert!(!EventSelector::All.matches(EventType::WebhookPing));
        let only: EventSelector = "order:paid".parse().unwrap();
        assert!(only.matches(EventType::OrderPaid));
        assert!(!only.matches(EventType::OrderCreated));
    }

    #[test]
    fn ping_is_not_subscribable() {
        assert!("webhook:ping".parse::<EventSelector>().is_err());
    }
}
