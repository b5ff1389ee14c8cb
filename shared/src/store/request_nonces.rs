//! The replay cache of signed requests: key `signature`, expired by TTL.

use super::{Db, n, s};
use crate::{ApiError, Timestamp};

/// Records a request signature; `false` if it was seen before (a replay).
pub async fn claim(db: &Db, signature: &str, forget_after: Timestamp) -> Result<bool, ApiError> {
    let result = db
        .client
        .put_item()
        .table_name(&db.tables.request_nonces)
        .item("signature", s(signature))
        .item("expires_at_epoch", n(forget_after.as_epoch_seconds() + 1))
        .condition_expression("attribute_not_exists(signature)")
        .send()
        .await;
    super::conditional(result)
}
