//! Categories: named groups of a merchant's products.

use crate::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Category {
    #[schema(value_type = String)]
    pub id: crate::ids::CategoryId,
    pub title: String,
    /// Products of the same tenant; checked to exist when saved.
    pub product_ids: Vec<String>,
    /// Uploads are not part of this API; always null.
    pub image: Value,
    pub unlisted: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}
