use crate::t;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::{fmt, str::FromStr};

/// The catalogue of events PushGuard emits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EventType {
    OrderCreated,
    OrderUpdated,
    OrderPaid,
    /// The order is fulfilled: its `delivered` is set (serials sold, or by `PUT`).
    OrderCompleted,
    ProductOutOfStock,
    /// A dynamic product's order was paid: sent only to the product's `dynamic_url`,
    /// whose answer becomes the order's `delivered`.
    ProductDynamic,
    FeedbackCreated,
    FeedbackUpdated,
    QueryCreated,
    QueryUpdated,
    QueryReplied,
    /// Sent only by `POST /webhooks/endpoints/{id}/test`.
    WebhookPing,
}

impl EventType {
    pub const ALL: [EventType; 12] = [
        EventType::OrderCreated,
        EventType::OrderUpdated,
        EventType::OrderPaid,
        EventType::OrderCompleted,
        EventType::ProductOutOfStock,
        EventType::ProductDynamic,
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
            EventType::OrderCompleted => "order:completed",
            EventType::ProductOutOfStock => "product:out_of_stock",
            EventType::ProductDynamic => "product:dynamic",
            EventType::FeedbackCreated => "feedback:created",
            EventType::FeedbackUpdated => "feedback:updated",
            EventType::QueryCreated => "query:created",
            EventType::QueryUpdated => "query:updated",
            EventType::QueryReplied => "query:replied",
            EventType::WebhookPing => "webhook:ping",
        }
    }

    /// Whether an endpoint may list this type in `events`.
    pub fn is_subscribable(&self) -> bool {
        self.sent_only().is_none()
    }

    /// Where a type no endpoint may subscribe to goes instead: pings to whoever is
    /// tested, a dynamic product's call to its `dynamic_url` (whose answer is the
    /// customer's).
    pub fn sent_only(&self) -> Option<String> {
        match self {
            EventType::WebhookPing => Some(t!("by the test route")),
            EventType::ProductDynamic => Some(t!("to a dynamic product's dynamic_url")),
            _ => None,
        }
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
            .ok_or_else(|| t!("Event {s:?} is not a known event type", s))
    }
}

/// An event's type as an event carries it: a catalogue type, or the name of a custom
/// type a tenant registered (`invoice:sent`). Stored and shown as its name; the API
/// checks a custom name's shape and registration where it enters (`POST /events`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum EventName {
    Catalogue(EventType),
    Custom(String),
}

impl EventName {
    pub fn as_str(&self) -> &str {
        match self {
            EventName::Catalogue(event_type) => event_type.as_str(),
            EventName::Custom(name) => name,
        }
    }

    /// The catalogue type, for an event PushGuard emitted.
    pub fn catalogue(&self) -> Option<EventType> {
        match self {
            EventName::Catalogue(event_type) => Some(*event_type),
            EventName::Custom(_) => None,
        }
    }
}

impl From<EventType> for EventName {
    fn from(event_type: EventType) -> Self {
        EventName::Catalogue(event_type)
    }
}

/// A stored or checked name: a catalogue type's name is that type.
impl From<&str> for EventName {
    fn from(name: &str) -> Self {
        name.parse::<EventType>().map_or_else(
            |_| EventName::Custom(name.to_string()),
            EventName::Catalogue,
        )
    }
}

impl From<String> for EventName {
    fn from(name: String) -> Self {
        match name.parse::<EventType>() {
            Ok(event_type) => EventName::Catalogue(event_type),
            Err(_) => EventName::Custom(name),
        }
    }
}

impl PartialEq<str> for EventName {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for EventName {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl fmt::Display for EventName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for EventName {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for EventName {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(EventName::from)
    }
}

/// Whether `name` has the shape of a custom event type: `^[a-z][a-z0-9_]*:[a-z][a-z0-9_.]*$`.
pub fn is_custom_name(name: &str) -> bool {
    let Some((resource, action)) = name.split_once(':') else {
        return false;
    };
    let starts_lower = |s: &str| s.chars().next().is_some_and(|c| c.is_ascii_lowercase());
    let body = |s: &str, extra: &[char]| {
        s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || extra.contains(&c))
    };
    name.len() <= 100
        && starts_lower(resource)
        && starts_lower(action)
        && body(resource, &[])
        && body(action, &['.'])
}

/// Whether `name` can be an event's type: a catalogue type or a custom type's name.
pub fn is_event_name(name: &str) -> bool {
    name.parse::<EventType>().is_ok() || is_custom_name(name)
}

/// One entry of an endpoint's `events`: `*` (every type), a catalogue type, or a custom
/// type the tenant registered (checked against the registry when the endpoint is saved).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EventSelector {
    All,
    Only(EventType),
    Custom(String),
}

impl EventSelector {
    pub fn matches(&self, event: EventType) -> bool {
        self.matches_name(event.as_str())
    }

    /// Matches an event by its type name (published events carry names).
    pub fn matches_name(&self, name: &str) -> bool {
        match self {
            EventSelector::All => name
                .parse::<EventType>()
                .map_or(true, |event| event.is_subscribable()),
            EventSelector::Only(t) => t.as_str() == name,
            EventSelector::Custom(custom) => custom == name,
        }
    }

    /// The custom type this selects, if it is one.
    pub fn custom(&self) -> Option<&str> {
        match self {
            EventSelector::Custom(name) => Some(name),
            _ => None,
        }
    }
}

impl fmt::Display for EventSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EventSelector::All => f.write_str("*"),
            EventSelector::Only(t) => t.fmt(f),
            EventSelector::Custom(name) => f.write_str(name),
        }
    }
}

impl FromStr for EventSelector {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s == "*" {
            return Ok(EventSelector::All);
        }
        match s.parse::<EventType>() {
            Ok(event) if event.is_subscribable() => Ok(EventSelector::Only(event)),
            Ok(event) => Err(t!(
                "Event {s:?} cannot be subscribed to; it is sent only {where_to}",
                s,
                where_to = event.sent_only().unwrap_or_default()
            )),
            Err(_) if is_custom_name(s) => Ok(EventSelector::Custom(s.to_string())),
            Err(message) => Err(message),
        }
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

/// In the OpenAPI document: a string, one of the catalogue's names.
impl utoipa::PartialSchema for EventType {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, SchemaType, Type};
        ObjectBuilder::new()
            .schema_type(SchemaType::new(Type::String))
            .description(Some("An event type of the catalogue"))
            .enum_values(Some(EventType::ALL.iter().map(EventType::as_str)))
            .into()
    }
}

impl utoipa::ToSchema for EventType {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_events_name_is_its_catalogue_type_or_a_custom_name_and_reads_back_as_written() {
        let paid = EventName::from("order:paid");
        assert_eq!(paid, EventName::Catalogue(EventType::OrderPaid));
        assert_eq!(paid.catalogue(), Some(EventType::OrderPaid));
        let sent = EventName::from("invoice:sent".to_string());
        assert_eq!(sent, EventName::Custom("invoice:sent".into()));
        assert_eq!(sent.catalogue(), None);
        for name in [paid, sent] {
            let json = serde_json::to_value(&name).unwrap();
            assert_eq!(json, serde_json::json!(name.as_str()));
            assert_eq!(serde_json::from_value::<EventName>(json).unwrap(), name);
        }
    }

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
        assert!(!EventSelector::All.matches(EventType::ProductDynamic));
        let only: EventSelector = "order:paid".parse().unwrap();
        assert!(only.matches(EventType::OrderPaid));
        assert!(!only.matches(EventType::OrderCreated));
    }

    #[test]
    fn pings_and_dynamic_product_calls_are_not_subscribable() {
        assert!("webhook:ping".parse::<EventSelector>().is_err());
        assert_eq!(
            "product:dynamic".parse::<EventSelector>(),
            Err("Event \"product:dynamic\" cannot be subscribed to; it is sent only to a dynamic product's dynamic_url".into())
        );
    }

    #[test]
    fn custom_names_follow_the_pattern() {
        for ok in ["invoice:sent", "a1_b:c.d_2", "shipment:label.printed"] {
            assert!(is_custom_name(ok), "{ok}");
            assert_eq!(
                ok.parse::<EventSelector>().unwrap(),
                EventSelector::Custom(ok.into())
            );
        }
        for bad in [
            "invoice",
            "Invoice:sent",
            "1a:b",
            "a:",
            ":b",
            "a:B",
            "a:b:c",
            "a-b:c",
            "a:.b",
        ] {
            assert!(!is_custom_name(bad), "{bad}");
            assert!(bad.parse::<EventSelector>().is_err(), "{bad}");
        }
        assert!(EventSelector::Custom("invoice:sent".into()).matches_name("invoice:sent"));
        assert!(!EventSelector::Custom("invoice:sent".into()).matches_name("invoice:paid"));
        assert!(
            EventSelector::All.matches_name("invoice:sent"),
            "* includes custom types"
        );
    }
}
