//! The replay cache of signed requests: key `signature`, expired by TTL.

use super::{Db, StoreError, error::Sent, n, s};
use crate::Timestamp;

/// Records a request signature; `false` if it was seen before (a replay).
pub async fn claim(db: &Db, signature: &str, forget_after: Timestamp) -> Result<bool, StoreError> {
    let result = db
        .client
        .put_item()
        .table_name(&db.tables.request_nonces)
        .item("signature", s(signature))
        .item("expires_at_epoch", n(forget_after.as_epoch_seconds() + 1))
        .condition_expression("attribute_not_exists(signature)")
        .sent()
        .await;
    super::conditional(result)
}
