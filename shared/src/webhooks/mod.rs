//! The webhook domain: event types, endpoint URLs and headers, endpoints.

pub mod body;
pub mod dialect;
mod endpoint;
mod event_type;
pub mod headers;
pub mod log;
pub mod net;
pub mod outbound;
pub mod retry;
pub mod samples;
pub mod signing;
pub mod stats;
mod url;

pub use dialect::Dialect;
pub use endpoint::{
    DeliveryOrder, Endpoint, EndpointView, EventSource, OnExhausted, PayloadShape, SignatureScheme,
    Throttled, own_events,
};
pub use event_type::{EventName, EventSelector, EventType, is_custom_name, is_event_name};
pub use headers::CustomHeaders;
pub use log::{LogStatus, WebhookLog, WebhookLogView};
pub use url::WebhookUrl;
