//! Categories: named groups of a merchant's products.

use crate::Timestamp;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Category {
    #[schema(value_type = String)]
    pub id: crate::ids::CategoryId,
    pub title: String,
    /// Products of the same tenant; checked to exist when saved.
    pub product_ids: Vec<String>,
    /// Its picture (an upload attached as `image`), served to anyone at its `url`.
    pub image: Option<super::media::StoredObject>,
    pub unlisted: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}
