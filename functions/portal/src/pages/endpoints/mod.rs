//! The endpoints pages: the list with each one's last 24 hours, one endpoint with its
//! charts (`views`), the form that makes and edits one (`form`), and (with a `manage`
//! link) what is done to one: creating, saving, enabling, disabling, rotating the
//! secret and sending a test ping (`actions`).

mod actions;
mod form;
mod views;

pub use actions::{create, disable, enable, new, rotate_secret, test, update};
pub use form::EndpointForm;
pub use views::{home, show};
