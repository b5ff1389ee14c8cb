//! The merchant's domain: products, categories, orders, blacklists and their rules,
//! feedback and queries. Each type is both what is stored and what the API shows,
//! with the seed's field names.

pub mod blacklist;
pub mod category;
pub mod media;
pub mod money;
pub mod order;
pub mod product;
pub mod risk;
pub mod support;

pub use blacklist::{Blacklist, BlacklistRule, BlacklistType, Customer, RuleAction, Verdict};
pub use category::Category;
pub use money::{Amount, Currency, Gateway};
pub use order::{Order, OrderStatus};
pub use product::{Product, ProductType, Stock};
pub use support::{Feedback, Query, QueryStatus};

use crate::{events::Event, webhooks::EventType};

/// An event about `resource`, carrying it as the payload.
pub fn event<T: serde::Serialize>(event_type: EventType, resource: &T) -> Event {
    Event::new(
        event_type,
        serde_json::to_value(resource).unwrap_or_default(),
    )
}

/// An event about a product; the product's `webhook_url` receives it too.
pub fn product_event(event_type: EventType, product: &Product) -> Event {
    let mut event = event(event_type, product);
    event.webhook_urls = product.webhook_url.iter().cloned().collect();
    event
}

/// An event about an order; the payment's and the product's `webhook_url`s receive it too.
pub fn order_event(event_type: EventType, order: &Order, product: Option<&Product>) -> Event {
    let mut event = event(event_type, order);
    event.webhook_urls = order
        .webhook_url
        .iter()
        .chain(product.and_then(|p| p.webhook_url.as_ref()))
        .cloned()
        .collect();
    event
}
