//! Limits of the API that several layers enforce (at the bottom of the crate).

/// The largest request body accepted.
pub const MAX_BODY_BYTES: usize = 256 * 1024;
