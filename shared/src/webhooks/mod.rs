//! The webhook domain: event types, endpoint URLs and headers, endpoints.

mod endpoint;
mod event_type;
mod headers;
pub mod net;
mod url;

pub use endpoint::{Endpoint, EndpointView};
pub use event_type::{EventSelector, EventType};
pub use headers::CustomHeaders;
pub use url::WebhookUrl;
